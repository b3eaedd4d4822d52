/*
 * bench_sgemm.c - this machine's SGEMM peak with the GEMM library scivec's
 * forward uses (BLIS through src/gemm.c), on the shapes of a BERT-base dense
 * layer: [n_tokens, 768] x [3072, 768]^T. n_threads OpenMP threads each run
 * one single-threaded product over their share of the rows, as the forward
 * does. For comparison it also times OpenBLAS (numpy's and PyTorch's BLAS
 * here, scivec's GEMM library before), loaded with dlopen so its cblas
 * symbols cannot be confused with BLIS's.
 *
 *     bench_sgemm [n_threads] [n_tokens]
 * Prints one JSON line.
 */
#include <dlfcn.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "gemm.h"

static double clock_seconds(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}
static double now_seconds(void) { return clock_seconds(CLOCK_MONOTONIC); }
/* CPU time of the whole process: on a machine shared with other busy
 * processes, FLOPs per CPU-second still show what one core does */
static double cpu_seconds(void) { return clock_seconds(CLOCK_PROCESS_CPUTIME_ID); }

typedef void (*cblas_sgemm_fn)(int, int, int, int, int, int, float, const float *, int,
                               const float *, int, float, float *, int);
enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 }; /* CBLAS's enum values */

typedef struct problem {
    int n_tokens, in, out, n_threads;
    const float *x, *w;
    float *y;
    cblas_sgemm_fn openblas; /* NULL: BLIS via sv_gemm_nt */
} problem;

static void run_once(const problem *p) {
    if (p->openblas) { /* OpenBLAS threads itself */
        p->openblas(ROW_MAJOR, NO_TRANS, TRANS, p->n_tokens, p->out, p->in, 1.0f, p->x, p->in,
                    p->w, p->in, 0.0f, p->y, p->out);
        return;
    }
    #pragma omp parallel num_threads(p->n_threads)
    {
        int t = omp_get_thread_num(), n = omp_get_num_threads();
        int row0 = p->n_tokens * t / n, row1 = p->n_tokens * (t + 1) / n;
        sv_gemm_nt(row1 - row0, p->out, p->in, 1.0f, p->x + (size_t)row0 * p->in, p->in, p->w,
                   p->in, p->y + (size_t)row0 * p->out, p->out);
    }
}

/* Best wall-clock and best CPU-time GFLOP/s over >= 2 s of repeats. */
static void measure(const problem *p, double *gflops, double *gflops_per_cpu_s) {
    double best = 1e30, best_cpu = 1e30;
    double flops = 2.0 * p->n_tokens * p->in * p->out;
    double t_end = now_seconds() + 2.0;
    for (int rep = 0; rep < 3 || now_seconds() < t_end; rep++) {
        double t0 = now_seconds(), c0 = cpu_seconds();
        run_once(p);
        double dt = now_seconds() - t0, dc = cpu_seconds() - c0;
        if (rep > 0 && dt < best) best = dt;
        if (rep > 0 && dc < best_cpu) best_cpu = dc;
    }
    *gflops = flops / best * 1e-9;
    *gflops_per_cpu_s = flops / best_cpu * 1e-9;
}

int main(int argc, char **argv) {
    int n_threads = argc > 1 ? atoi(argv[1]) : 1;
    int n_tokens = argc > 2 ? atoi(argv[2]) : 2048;
    problem p = {n_tokens, 768, 3072, n_threads, NULL, NULL, NULL, NULL};
    float *x = malloc(sizeof(float) * n_tokens * p.in);
    float *w = malloc(sizeof(float) * p.out * p.in);
    float *y = malloc(sizeof(float) * n_tokens * p.out);
    if (!x || !w || !y) return 1;
    for (long i = 0; i < (long)n_tokens * p.in; i++) x[i] = (float)(i % 13) * 0.01f;
    for (long i = 0; i < (long)p.out * p.in; i++) w[i] = (float)(i % 7) * 0.01f;
    p.x = x, p.w = w, p.y = y;

    double gflops, per_cpu, ob_gflops = 0.0, ob_per_cpu = 0.0;
    measure(&p, &gflops, &per_cpu);
    void *openblas = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    if (openblas) {
        void (*set_threads)(int) = (void (*)(int))dlsym(openblas, "openblas_set_num_threads");
        p.openblas = (cblas_sgemm_fn)dlsym(openblas, "cblas_sgemm");
        if (set_threads && p.openblas) {
            set_threads(n_threads);
            measure(&p, &ob_gflops, &ob_per_cpu);
        }
    }
    /* gflops: wall clock, best run; gflops_per_cpu_s: FLOPs per CPU-second of
     * all threads, best run (n_threads x this = the peak on idle cores) */
    printf("{\"library\": \"BLIS %s\", \"threads\": %d, \"n_tokens\": %d, \"gflops\": %.2f, "
           "\"gflops_per_cpu_s\": %.2f, \"openblas_gflops\": %.2f, "
           "\"openblas_gflops_per_cpu_s\": %.2f}\n",
           sv_gemm_arch(), n_threads, n_tokens, gflops, per_cpu, ob_gflops, ob_per_cpu);
    free(x); free(w); free(y);
    return 0;
}
