/*
 * gemm.c - BLIS behind sv_gemm_*: single-threaded calls with the
 * small-matrix path off, so a row's numbers never depend on its neighbours
 * (see gemm.h).
 */
#include <blis.h>
#include <stdio.h>
#include <stdlib.h>

#include "gemm.h"

/* BLIS 0.9 (Debian 12) picks its kernels from the CPU model and knows AMD
 * only up to Zen 3 (family 0x19): on a newer AMD CPU it falls back to its
 * portable reference kernels, about 3x slower (43 vs 130 GFLOP/s measured
 * on a Zen 5). There, unless the user chose a BLIS_ARCH_TYPE, ask for the
 * Zen 3 configuration: AVX2 + FMA kernels, which every such CPU has. BLIS
 * reads the variable once, at its first call, so this runs before main. */
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

__attribute__((constructor)) static void choose_blis_arch(void) {
    if (getenv("BLIS_ARCH_TYPE")) return;
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx)) return;
    int amd = ebx == 0x68747541 && edx == 0x69746e65 && ecx == 0x444d4163; /* AuthenticAMD */
    if (!amd || !__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return;
    unsigned family = ((eax >> 8) & 0xf) + ((eax >> 20) & 0xff);
    if (family <= 0x19 || !__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
        return;
    char id[16];
    snprintf(id, sizeof id, "%d", (int)BLIS_ARCH_ZEN3);
    setenv("BLIS_ARCH_TYPE", id, 0);
}
#endif

/* One thread, no small-matrix path: the row-invariant packed algorithm. */
static void single_thread_packed(rntm_t *rntm) {
    bli_rntm_init(rntm);
    bli_rntm_set_num_threads(1, rntm);
    bli_rntm_disable_l3_sup(rntm);
}

void sv_gemm_nt(int m, int n, int k, float alpha, const float *a, int lda,
                const float *w, int ldw, float *c, int ldc) {
    rntm_t rntm;
    single_thread_packed(&rntm);
    float beta = 0.0f;
    bli_sgemm_ex(BLIS_NO_TRANSPOSE, BLIS_TRANSPOSE, m, n, k, &alpha, (float *)a, lda, 1,
                 (float *)w, ldw, 1, &beta, c, ldc, 1, NULL, &rntm);
}

void sv_gemm_nn(int m, int n, int k, const float *a, int lda, const float *b,
                int ldb, float *c, int ldc) {
    rntm_t rntm;
    single_thread_packed(&rntm);
    float one = 1.0f, zero = 0.0f;
    bli_sgemm_ex(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, m, n, k, &one, (float *)a, lda, 1,
                 (float *)b, ldb, 1, &zero, c, ldc, 1, NULL, &rntm);
}

void sv_gemm_set_blas_threads(int n_threads) {
    bli_thread_set_num_threads(n_threads);
}

const char *sv_gemm_arch(void) {
    return bli_arch_string(bli_arch_query_id());
}
