/*
 * bench_sgemm.c - this machine's SGEMM peak with the GEMM library scivec
 * links (OpenBLAS), on the shapes of a BERT-base dense layer:
 * [n_tokens, 768] x [768, 3072]^T. Prints GFLOP/s for the thread count given.
 *
 *     bench_sgemm [n_threads] [n_tokens]
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double clock_seconds(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}
static double now_seconds(void) { return clock_seconds(CLOCK_MONOTONIC); }
/* CPU time of the whole process: on a machine shared with other busy
 * processes, FLOPs per CPU-second still show what one core does */
static double cpu_seconds(void) { return clock_seconds(CLOCK_PROCESS_CPUTIME_ID); }

int main(int argc, char **argv) {
    int n_threads = argc > 1 ? atoi(argv[1]) : 1;
    int n_tokens = argc > 2 ? atoi(argv[2]) : 2048;
    const int in = 768, out = 3072;
    openblas_set_num_threads(n_threads);

    float *x = malloc(sizeof(float) * n_tokens * in);
    float *w = malloc(sizeof(float) * out * in);
    float *y = malloc(sizeof(float) * n_tokens * out);
    if (!x || !w || !y) return 1;
    for (long i = 0; i < (long)n_tokens * in; i++) x[i] = (float)(i % 13) * 0.01f;
    for (long i = 0; i < (long)out * in; i++) w[i] = (float)(i % 7) * 0.01f;

    /* warm up, then repeat for at least ~2 s and keep the best run */
    double best = 1e30, best_cpu = 1e30;
    double flops = 2.0 * n_tokens * in * out;
    double t_end = now_seconds() + 2.0;
    for (int rep = 0; rep < 3 || now_seconds() < t_end; rep++) {
        double t0 = now_seconds(), c0 = cpu_seconds();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n_tokens, out, in,
                    1.0f, x, in, w, in, 0.0f, y, out);
        double dt = now_seconds() - t0, dc = cpu_seconds() - c0;
        if (rep > 0 && dt < best) best = dt;
        if (rep > 0 && dc < best_cpu) best_cpu = dc;
    }
    /* gflops: wall clock, best run; gflops_per_cpu_s: FLOPs per CPU-second of
     * all threads, best run (n_threads x this = the peak on idle cores) */
    printf("{\"threads\": %d, \"n_tokens\": %d, \"gflops\": %.2f, \"gflops_per_cpu_s\": %.2f}\n",
           n_threads, n_tokens, flops / best * 1e-9, flops / best_cpu * 1e-9);
    free(x); free(w); free(y);
    return 0;
}
