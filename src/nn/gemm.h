/*
 * gemm.h - the matrix products of the forward, on BLIS.
 *
 * Why BLIS and why this wrapper: a text's vector must not depend on the batch
 * it lands in. OpenBLAS computes a row of C with different micro-kernels
 * (and so different roundings) depending on where the row falls in the call
 * and how many rows come with it; BLIS's packed algorithm computes every
 * element with the same micro-kernel on zero-padded panels, so a row's
 * result depends only on its own row of A. With BLIS's small-matrix ("sup")
 * path switched off, which has no such guarantee, the forward can therefore
 * run its dense layers over any row range of the packed batch
 * (tests/test_gemm.c holds it to that).
 *
 * Every call is single-threaded; callers spread calls over their own OpenMP
 * threads, so exactly n_threads threads ever compute.
 */
#ifndef SV_GEMM_H
#define SV_GEMM_H

/* C[m, n] = alpha * A[m, k] @ W[n, k]^T: a linear layer with PyTorch's
 * [out, in] weight layout. Row-major, leading dims. */
void sv_gemm_nt(int m, int n, int k, float alpha, const float *a, int lda, const float *w, int ldw,
                float *c, int ldc);

/* C[m, n] = A[m, k] @ B[k, n]. Row-major, leading dims. */
void sv_gemm_nn(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c,
                int ldc);

/* Threads for the BLAS calls others make through the sgemm_ / cblas_sgemm
 * that BLIS provides (FAISS's k-means when an index is trained): n_threads,
 * not whatever BLIS_NUM_THREADS or OMP_NUM_THREADS say. */
void sv_gemm_set_blas_threads(int n_threads);

/* The BLIS configuration in use ("zen3", "haswell", ...), for reports. */
const char *sv_gemm_arch(void);
/* Why that one: "BLIS_ARCH_TYPE" (the user's), a row of cpu.c's table, or
 * "BLIS's own detection". */
const char *sv_gemm_arch_reason(void);

#endif
