/*
 * lowp.h - the dense layers in reduced precision (bf16, int8) on oneDNN's
 * matmul primitive (Debian's libdnnl 2.6, C API).
 *
 * What changes: only the six dense layers of each encoder layer (Q, K, V,
 * attention output, FFN in and out). Attention scores, softmax, LayerNorm,
 * GELU, biases, pooling and adapters stay fp32 (docs/MODEL.md, "Precision").
 *
 *   int8: weights quantised symmetrically per output channel when loaded
 *         (scale = max|W[n,:]| / 127); activations per token (row) on the fly
 *         (scale = max|x[m,:]| / 127, round to nearest); s8 x s8 -> s32 on
 *         VNNI, times the weight scale in the kernel (output scales), times
 *         the token's scale by bert.c; bias in fp32.
 *   bf16: weights rounded to bf16 when loaded, activations per chunk; bf16
 *         products, fp32 accumulation and output.
 *
 * One primitive per weight shape, created at load with the row count M a
 * run-time dimension, so any chunk of rows reuses it. Weights stay in
 * PyTorch's [out, in] layout. Each of the model's threads has its own
 * stream, scratchpad and activation buffer, and calls the primitive
 * single-threaded from inside bert.c's parallel region: exactly n_threads
 * threads compute, as in fp32.
 */
#ifndef SV_LOWP_H
#define SV_LOWP_H

#include <stdint.h>

#include "scivec.h"

typedef struct sv_lowp sv_lowp;

/* One dense layer's weights in the model's precision. */
typedef struct sv_lowp_weight {
    int n_out, n_in;
    void *data;      /* int8_t or uint16_t (bf16) [n_out, n_in]          */
    float *scale;    /* int8: [n_out] per-channel scales; bf16: NULL      */
    void *primitive; /* the shape's matmul primitive (owned by sv_lowp)   */
    sv_lowp *owner;  /* the engine, its threads' streams and buffers      */
} sv_lowp_weight;

/* Why precision cannot run fast on this CPU (a one-line reason), or NULL
 * when it can. fp32 always can. */
const char *sv_lowp_unsupported(scivec_precision precision);

/* An engine for precision (bf16 or int8) used by n_threads threads. */
int sv_lowp_create(scivec_precision precision, int n_threads, sv_lowp **out);
void sv_lowp_free(sv_lowp *lp);
scivec_precision sv_lowp_precision(const sv_lowp *lp);

/* Converts / quantises w[n_out, n_in] into *out (freed with
 * sv_lowp_weight_free). name is for messages. */
int sv_lowp_weight_prepare(sv_lowp *lp, const float *w, int n_out, int n_in, const char *name,
                           sv_lowp_weight *out);
void sv_lowp_weight_free(sv_lowp_weight *w);

/* Makes every thread's activation buffer hold rows x n_in values. Call
 * before a forward, outside its parallel region. */
int sv_lowp_reserve(sv_lowp *lp, int rows, int n_in);

/* Thread thread's activation buffer (int8_t or bf16) and its [rows] token
 * scales (int8), filled by the caller (bert.c) before sv_lowp_matmul. */
void *sv_lowp_act(sv_lowp *lp, int thread, float **row_scale);

/* c[m, n_out] (leading dimension ldc) = act[m, n_in] @ w^T, with int8's
 * per-channel weight scale applied (the caller applies the token scales).
 * Runs on the calling thread only. Returns a status; on failure the error
 * is also remembered for sv_lowp_failed (calls come from parallel regions). */
int sv_lowp_matmul(sv_lowp *lp, int thread, const sv_lowp_weight *w, int m, float *c, int ldc);
/* SCIVEC_OK, or the error of a failed sv_lowp_matmul (then cleared). */
int sv_lowp_failed(sv_lowp *lp);

#endif
