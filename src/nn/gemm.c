/*
 * gemm.c - BLIS behind sv_gemm_*: single-threaded calls with the
 * small-matrix path off, so a row's numbers never depend on its neighbours
 * (see gemm.h).
 */
#include <blis.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/cpu.h"
#include "nn/gemm.h"

/* BLIS 0.9 (Debian 12) picks its kernels from the CPU model and knows AMD
 * only up to Zen 3 (family 0x19): on a newer AMD CPU it falls back to its
 * portable reference kernels, about 3x slower (43 vs 130 GFLOP/s measured
 * on a Zen 5), and it does not use AVX-512 where that is faster. So unless
 * the user chose a BLIS_ARCH_TYPE, the table in cpu.c (sv_cpu_blis_arch)
 * picks the configuration. BLIS reads the variable once, at its first call,
 * so this runs before main. */
static const char *blis_arch_reason = "BLIS's own detection";

__attribute__((constructor)) static void choose_blis_arch(void) {
    if (getenv("BLIS_ARCH_TYPE")) {
        blis_arch_reason = "BLIS_ARCH_TYPE";
        return;
    }
    int arch = sv_cpu_blis_arch(&blis_arch_reason);
    if (arch < 0) return;
    char id[16];
    snprintf(id, sizeof id, "%d", arch);
    setenv("BLIS_ARCH_TYPE", id, 0);
}

/* One thread, no small-matrix path: the row-invariant packed algorithm. */
static void single_thread_packed(rntm_t *rntm) {
    bli_rntm_init(rntm);
    bli_rntm_set_num_threads(1, rntm);
    bli_rntm_disable_l3_sup(rntm);
}

void sv_gemm_nt(int m, int n, int k, float alpha, const float *a, int lda, const float *w, int ldw,
                float *c, int ldc) {
    rntm_t rntm;
    single_thread_packed(&rntm);
    float beta = 0.0f;
    bli_sgemm_ex(BLIS_NO_TRANSPOSE, BLIS_TRANSPOSE, m, n, k, &alpha, (float *)a, lda, 1, (float *)w,
                 ldw, 1, &beta, c, ldc, 1, NULL, &rntm);
}

void sv_gemm_nn(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c,
                int ldc) {
    rntm_t rntm;
    single_thread_packed(&rntm);
    float one = 1.0f, zero = 0.0f;
    bli_sgemm_ex(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, m, n, k, &one, (float *)a, lda, 1,
                 (float *)b, ldb, 1, &zero, c, ldc, 1, NULL, &rntm);
}

void sv_gemm_set_blas_threads(int n_threads) { bli_thread_set_num_threads(n_threads); }

const char *sv_gemm_arch(void) {
    // BLIS 0.9 aborts when BLIS_ARCH_TYPE is set and the configuration is
    // queried before BLIS initialised its kernel structure
    bli_init();
    return bli_arch_string(bli_arch_query_id());
}

const char *sv_gemm_arch_reason(void) { return blis_arch_reason; }
