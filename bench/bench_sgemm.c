/*
 * bench_sgemm.c - this machine's SGEMM peak with the GEMM library scivec's
 * forward uses (BLIS through src/gemm.c), on the shapes of a BERT-base dense
 * layer: [n_tokens, 768] x [3072, 768]^T. n_threads OpenMP threads each run
 * one single-threaded product over their share of the rows, as the forward
 * does. For comparison it also times OpenBLAS (numpy's and PyTorch's BLAS
 * here, scivec's GEMM library before) and oneDNN's dnnl_sgemm (PyTorch's
 * other CPU library, held to AVX2 like the rest), both loaded with dlopen so
 * their symbols cannot be confused with BLIS's.
 *
 *     bench_sgemm [n_threads] [n_tokens]
 * Prints one JSON line.
 */
#include <dlfcn.h>
#include <omp.h>
#include <stdint.h>
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
/* dnnl_sgemm: row-major, dnnl_dim_t = int64_t, returns a dnnl_status_t */
typedef int (*dnnl_sgemm_fn)(char, char, int64_t, int64_t, int64_t, float, const float *,
                             int64_t, const float *, int64_t, float, float *, int64_t);

typedef struct problem {
    int n_tokens, in, out, n_threads;
    const float *x, *w;
    float *y;
    cblas_sgemm_fn openblas; /* set: OpenBLAS, threading itself */
    dnnl_sgemm_fn onednn;    /* set: oneDNN, one call per thread as for BLIS */
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
        const float *x = p->x + (size_t)row0 * p->in;
        float *y = p->y + (size_t)row0 * p->out;
        if (p->onednn) {
            omp_set_num_threads(1); /* this thread's ICV: oneDNN would open a team of its own */
            p->onednn('N', 'T', row1 - row0, p->out, p->in, 1.0f, x, p->in, p->w, p->in, 0.0f,
                      y, p->out);
        } else
            sv_gemm_nt(row1 - row0, p->out, p->in, 1.0f, x, p->in, p->w, p->in, y, p->out);
    }
}

/* GFLOP/s over >= 2 s of repeats: best is the best run's wall-clock rate (the
 * peak), per_cpu_s the best run's FLOPs per CPU-second of all threads (the
 * per-core rate even when other processes share the cores; n_threads x it
 * is the peak on idle cores), sustained all runs' FLOPs over all their wall
 * time (the rate SGEMM keeps up for seconds). The first run, which also
 * faults in the buffers, is not counted. */
typedef struct rates {
    double best, per_cpu_s, sustained;
} rates;

static rates measure(const problem *p) {
    double best = 1e30, best_cpu = 1e30, total = 0.0;
    int n_timed = 0;
    double flop = 2.0 * p->n_tokens * p->in * p->out;
    double t_end = now_seconds() + 2.0;
    for (int rep = 0; rep < 3 || now_seconds() < t_end; rep++) {
        double t0 = now_seconds(), c0 = cpu_seconds();
        run_once(p);
        double dt = now_seconds() - t0, dc = cpu_seconds() - c0;
        if (rep == 0) continue;
        if (dt < best) best = dt;
        if (dc < best_cpu) best_cpu = dc;
        total += dt, n_timed++;
    }
    return (rates){flop / best * 1e-9, flop / best_cpu * 1e-9, flop * n_timed / total * 1e-9};
}

int main(int argc, char **argv) {
    int n_threads = argc > 1 ? atoi(argv[1]) : 1;
    int n_tokens = argc > 2 ? atoi(argv[2]) : 2048;
    problem p = {n_tokens, 768, 3072, n_threads, NULL, NULL, NULL, NULL, NULL};
    float *x = malloc(sizeof(float) * n_tokens * p.in);
    float *w = malloc(sizeof(float) * p.out * p.in);
    float *y = malloc(sizeof(float) * n_tokens * p.out);
    if (!x || !w || !y) return 1;
    for (long i = 0; i < (long)n_tokens * p.in; i++) x[i] = (float)(i % 13) * 0.01f;
    for (long i = 0; i < (long)p.out * p.in; i++) w[i] = (float)(i % 7) * 0.01f;
    p.x = x, p.w = w, p.y = y;

    rates blis = measure(&p), openblas = {0}, onednn = {0};
    void *openblas_lib = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    if (openblas_lib) {
        void (*set_threads)(int) = (void (*)(int))dlsym(openblas_lib, "openblas_set_num_threads");
        p.openblas = (cblas_sgemm_fn)dlsym(openblas_lib, "cblas_sgemm");
        if (set_threads && p.openblas) {
            set_threads(n_threads);
            openblas = measure(&p);
        }
        p.openblas = NULL;
    }
    /* oneDNN would pick its AVX-512 kernels where the CPU has them; the
     * variable, read at its first call, holds it to AVX2 like BLIS's zen3
     * kernels and the environment's OpenBLAS (unless the caller set it) */
    setenv("ONEDNN_MAX_CPU_ISA", "AVX2", 0);
    void *onednn_lib = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL);
    if (onednn_lib && (p.onednn = (dnnl_sgemm_fn)dlsym(onednn_lib, "dnnl_sgemm")))
        onednn = measure(&p);
    /* a library that is not installed reads 0 */
    printf("{\"library\": \"BLIS %s\", \"threads\": %d, \"n_tokens\": %d, \"gflops\": %.2f, "
           "\"gflops_per_cpu_s\": %.2f, \"sustained_gflops\": %.2f, \"openblas_gflops\": %.2f, "
           "\"openblas_gflops_per_cpu_s\": %.2f, \"openblas_sustained_gflops\": %.2f, "
           "\"onednn_gflops\": %.2f, \"onednn_gflops_per_cpu_s\": %.2f, "
           "\"onednn_sustained_gflops\": %.2f}\n",
           sv_gemm_arch(), n_threads, n_tokens, blis.best, blis.per_cpu_s, blis.sustained,
           openblas.best, openblas.per_cpu_s, openblas.sustained, onednn.best, onednn.per_cpu_s,
           onednn.sustained);
    free(x); free(w); free(y);
    return 0;
}
