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
#include <stdio.h>
#include <stdlib.h>

#include "sgemm_rate.h"

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

    rates blis = measure(&p, 2.0), openblas = {0}, onednn = {0};
    void *openblas_lib = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    if (openblas_lib) {
        void (*set_threads)(int) = (void (*)(int))dlsym(openblas_lib, "openblas_set_num_threads");
        p.openblas = (cblas_sgemm_fn)dlsym(openblas_lib, "cblas_sgemm");
        if (set_threads && p.openblas) {
            set_threads(n_threads);
            openblas = measure(&p, 2.0);
        }
        p.openblas = NULL;
    }
    /* oneDNN would pick its AVX-512 kernels where the CPU has them; the
     * variable, read at its first call, holds it to AVX2 like BLIS's zen3
     * kernels and the environment's OpenBLAS (unless the caller set it) */
    setenv("ONEDNN_MAX_CPU_ISA", "AVX2", 0);
    void *onednn_lib = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL);
    if (onednn_lib && (p.onednn = (dnnl_sgemm_fn)dlsym(onednn_lib, "dnnl_sgemm")))
        onednn = measure(&p, 2.0);
    /* a library that is not installed reads 0 */
    printf("{\"library\": \"BLIS %s\", \"threads\": %d, \"n_tokens\": %d, \"gflops\": %.2f, "
           "\"gflops_per_cpu_s\": %.2f, \"sustained_gflops\": %.2f, \"openblas_gflops\": %.2f, "
           "\"openblas_gflops_per_cpu_s\": %.2f, \"openblas_sustained_gflops\": %.2f, "
           "\"onednn_gflops\": %.2f, \"onednn_gflops_per_cpu_s\": %.2f, "
           "\"onednn_sustained_gflops\": %.2f}\n",
           sv_gemm_arch(), n_threads, n_tokens, blis.best, blis.per_cpu_s, blis.sustained,
           openblas.best, openblas.per_cpu_s, openblas.sustained, onednn.best, onednn.per_cpu_s,
           onednn.sustained);
    free(x);
    free(w);
    free(y);
    return 0;
}
