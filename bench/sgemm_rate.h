/*
 * sgemm_rate.h - the SGEMM measurement that bench_sgemm reports and
 * bench_forward holds the forward against: the [n_tokens, in] x [out, in]^T
 * product repeated for a few seconds, n_threads OpenMP threads each running
 * one single-threaded call over their share of the rows, as the forward
 * does (or OpenBLAS / oneDNN, for comparison). Static functions: each
 * benchmark is one file plus this header.
 */
#ifndef SV_BENCH_SGEMM_RATE_H
#define SV_BENCH_SGEMM_RATE_H

#include <omp.h>
#include <stdint.h>
#include <time.h>

#include "nn/gemm.h"

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
typedef int (*dnnl_sgemm_fn)(char, char, int64_t, int64_t, int64_t, float, const float *, int64_t,
                             const float *, int64_t, float, float *, int64_t);

typedef struct problem {
    int n_tokens, in, out, n_threads;
    const float *x, *w;
    float *y;
    cblas_sgemm_fn openblas; /* set: OpenBLAS, threading itself */
    dnnl_sgemm_fn onednn;    /* set: oneDNN, one call per thread as for BLIS */
} problem;

static void run_once(const problem *p) {
    if (p->openblas) { /* OpenBLAS threads itself */
        p->openblas(ROW_MAJOR, NO_TRANS, TRANS, p->n_tokens, p->out, p->in, 1.0f, p->x, p->in, p->w,
                    p->in, 0.0f, p->y, p->out);
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
            p->onednn('N', 'T', row1 - row0, p->out, p->in, 1.0f, x, p->in, p->w, p->in, 0.0f, y,
                      p->out);
        } else
            sv_gemm_nt(row1 - row0, p->out, p->in, 1.0f, x, p->in, p->w, p->in, y, p->out);
    }
}

/* GFLOP/s over >= seconds of repeats: best is the best run's wall-clock rate (the
 * peak), per_cpu_s the best run's FLOPs per CPU-second of all threads (the
 * per-core rate even when other processes share the cores; n_threads x it
 * is the peak on idle cores), sustained all runs' FLOPs over all their wall
 * time (the rate SGEMM keeps up for seconds). The first run, which also
 * faults in the buffers, is not counted. */
typedef struct rates {
    double best, per_cpu_s, sustained;
} rates;

static rates measure(const problem *p, double seconds) {
    double best = 1e30, best_cpu = 1e30, total = 0.0;
    int n_timed = 0;
    double flop = 2.0 * p->n_tokens * p->in * p->out;
    double t_end = now_seconds() + seconds;
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

#endif
