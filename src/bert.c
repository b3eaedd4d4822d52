/*
 * bert.c - the BERT encoder forward pass over packed sequences.
 *
 * All sequences of a batch are packed back to back into one
 * [n_tokens, hidden] matrix (no padding, so no wasted FLOPs). Each dense layer
 * runs over it as (sequence, 128-column panel) SGEMM tasks, so a sequence's
 * numbers never depend on its neighbours; attention runs per (sequence,
 * head): each query token attends to the tokens of its own sequence, which
 * is exactly what HF computes with an all-ones attention mask.
 *
 * Layout: activations are row-major [n_tokens, features]; linear weights are
 * PyTorch's [out, in] (y = x W^T + b), so SGEMM reads them with CblasTrans.
 * Threads: exactly n_threads OpenMP threads do everything; the SGEMMs they
 * call are single-threaded OpenBLAS (its own pool stays idle).
 */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "bert.h"
#include "common.h"

/* Nothing here reads floating-point exception flags; without this promise
 * GCC will not if-convert the float compares in exp/erfc/softmax, and those
 * loops stay scalar (softmax and GELU then cost more than attention's SGEMMs). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

/* OpenBLAS's own thread-count calls (declared in its cblas.h, but not in
 * every cblas.h on earth). */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);

/* ------------------------------------------------------------------------ */
/* Scratch buffers                                                           */

void sv_bert_workspace_free(sv_bert_workspace *ws) {
    if (!ws) return;
    free(ws->x); free(ws->q); free(ws->k); free(ws->v);
    free(ws->ctx); free(ws->tmp); free(ws->ffn);
    free(ws->tok_seq); free(ws->row_start); free(ws->scores);
    memset(ws, 0, sizeof *ws);
}

static int grow(void **buf, size_t n_bytes) {
    void *bigger = realloc(*buf, n_bytes ? n_bytes : 1);
    if (!bigger) return SCIVEC_ENOMEM;
    *buf = bigger;
    return SCIVEC_OK;
}

/* Makes every buffer big enough for n_tokens tokens, sequences up to max_len
 * long and n_threads threads. Grow only: a smaller batch reuses them. */
static int workspace_reserve(sv_bert_workspace *ws, const sv_bert_config *cfg,
                             int64_t n_tokens, int max_len, int n_threads) {
    if (n_tokens > ws->cap_tokens) {
        size_t rows = (size_t)n_tokens;
        size_t hidden_bytes = rows * (size_t)cfg->hidden * sizeof(float);
        size_t ffn_bytes = rows * (size_t)cfg->intermediate * sizeof(float);
        if (grow((void **)&ws->x, hidden_bytes) || grow((void **)&ws->q, hidden_bytes) ||
            grow((void **)&ws->k, hidden_bytes) || grow((void **)&ws->v, hidden_bytes) ||
            grow((void **)&ws->ctx, hidden_bytes) || grow((void **)&ws->tmp, hidden_bytes) ||
            grow((void **)&ws->ffn, ffn_bytes) ||
            grow((void **)&ws->tok_seq, rows * sizeof(int)) ||
            grow((void **)&ws->row_start, (rows + 1) * sizeof(int)))
            return sv_error(SCIVEC_ENOMEM, "forward: out of memory for %lld tokens",
                            (long long)n_tokens);
        ws->cap_tokens = n_tokens;
    }
    int64_t n_scores = (int64_t)n_threads * max_len * max_len;
    if (n_scores > ws->cap_scores) {
        if (grow((void **)&ws->scores, (size_t)n_scores * sizeof(float)))
            return sv_error(SCIVEC_ENOMEM, "forward: out of memory for attention scores");
        ws->cap_scores = n_scores;
    }
    return SCIVEC_OK;
}

/* ------------------------------------------------------------------------ */
/* Layers                                                                    */

/* Output columns per SGEMM task: a multiple of the kernels' 16-column width.
 * Measured single-threaded on BERT-base shapes with 230-row sequences
 * (bench/bench_panels, thread CPU time): 128 columns ran 4-6% below one
 * batch-wide SGEMM (each call packs the sequence's rows again), 384 within
 * 1-3% of it, while still giving 2 (hidden) or 8 (intermediate) tasks per
 * sequence to balance the threads. */
#define SV_PANEL 384

/* out[n_tokens, n_out] = inp[n_tokens, n_in] @ weight[n_out, n_in]^T
 * (bias is added by the fused pass that follows, so it costs no extra sweep).
 * One task per (sequence, 128-column panel), each a single-threaded OpenBLAS
 * SGEMM on views of the packed matrices, spread over the OpenMP threads.
 * Every output element is then computed by a call of the same shape
 * whatever the batch and the thread count, so a text's vector is bitwise
 * the same in any batch (one big SGEMM over the batch is not: OpenBLAS rounds
 * a row differently depending on how many rows come with it). */
static void matmul_forward(float *out, const float *inp, const float *weight,
                           int n_seqs, const int *seq_start, int n_in, int n_out,
                           int n_threads) {
    int n_panels = (n_out + SV_PANEL - 1) / SV_PANEL;
    int n_tasks = n_seqs * n_panels;
    #pragma omp parallel for num_threads(n_threads) schedule(dynamic, 1)
    for (int task = 0; task < n_tasks; task++) {
        int seq = task / n_panels, panel = task % n_panels;
        int row0 = seq_start[seq], n_rows = seq_start[seq + 1] - row0;
        int col0 = panel * SV_PANEL;
        int n_cols = n_out - col0 < SV_PANEL ? n_out - col0 : SV_PANEL;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n_rows, n_cols, n_in, 1.0f,
                    inp + (size_t)row0 * n_in, n_in, weight + (size_t)col0 * n_in, n_in,
                    0.0f, out + (size_t)row0 * n_out + col0, n_out);
    }
}

/* out[n] = LayerNorm(inp[n]) * gamma + beta, one row; out may alias inp.
 * Mean and variance are accumulated in double so the result does not depend
 * on how rows are grouped. Shared with adapter.c, whose two LayerNorms must
 * round exactly like the stock one. */
void sv_layernorm_row(float *out, const float *inp, const float *gamma,
                          const float *beta, int n, float eps) {
    double sum = 0.0;
    for (int i = 0; i < n; i++) sum += inp[i];
    double mean = sum / n;
    double var = 0.0;
    for (int i = 0; i < n; i++) {
        double d = inp[i] - mean;
        var += d * d;
    }
    var /= n;
    float rstd = (float)(1.0 / sqrt(var + eps));
    float fmean = (float)mean;
    for (int i = 0; i < n; i++)
        out[i] = (inp[i] - fmean) * rstd * gamma[i] + beta[i];
}

/* x[t] = LayerNorm(word_emb[id] + type_emb[type] + pos_emb[position]):
 * position counts from 0 at the start of each packed sequence. */
static void embeddings_forward(float *x, const sv_bert_config *cfg,
                               const sv_bert_weights *w, const int32_t *ids,
                               const int32_t *type_ids, const int *tok_seq,
                               const int *seq_start, int n_tokens, int n_threads) {
    int hidden = cfg->hidden;
    #pragma omp parallel for num_threads(n_threads) schedule(static)
    for (int t = 0; t < n_tokens; t++) {
        int position = t - seq_start[tok_seq[t]];
        const float *word = w->word_emb + (size_t)ids[t] * hidden;
        const float *type = w->type_emb + (size_t)type_ids[t] * hidden;
        const float *pos = w->pos_emb + (size_t)position * hidden;
        float *row = x + (size_t)t * hidden;
        // the same summation order as HF: (word + type) + position
        for (int i = 0; i < hidden; i++) row[i] = (word[i] + type[i]) + pos[i];
        sv_layernorm_row(row, row, w->emb_ln_g, w->emb_ln_b, hidden, cfg->layer_norm_eps);
    }
}

/* q, k, v [n_tokens, hidden] += their biases, in one sweep. */
static void add_qkv_bias(float *q, float *k, float *v, const sv_bert_layer *l,
                         int n_tokens, int hidden, int n_threads) {
    #pragma omp parallel for num_threads(n_threads) schedule(static)
    for (int t = 0; t < n_tokens; t++) {
        float *qt = q + (size_t)t * hidden, *kt = k + (size_t)t * hidden,
              *vt = v + (size_t)t * hidden;
        for (int i = 0; i < hidden; i++) {
            qt[i] += l->q_b[i];
            kt[i] += l->k_b[i];
            vt[i] += l->v_b[i];
        }
    }
}

/* exp(x) for x <= 0 (scores minus their max), written so that the compiler
 * vectorises it (libm's expf is a scalar call, and the softmax spends more
 * time in it than in the products): Cody-Waite range reduction
 * x = n ln2 + r, |r| <= ln2/2, and Cephes' degree-6 polynomial for exp(r),
 * within 2 ulp of expf. Below -87 the result would be subnormal; it is
 * clamped to exp(-87) ~ 1.6e-38, which no softmax sum can notice. */
static float pow2_neg[127]; /* pow2_neg[i] = 2^-i, filled once by sv_bert_forward */

static void init_pow2_neg(void) {
    if (pow2_neg[0] == 1.0f) return;
    for (int i = 126; i >= 0; i--) pow2_neg[i] = ldexpf(1.0f, -i); // [0] last: the flag
}

static inline float exp_nonpositive(float x) {
    x = x < -87.0f ? -87.0f : x;
    float n = floorf(x * 1.44269504088896341f + 0.5f);
    float r = x - n * 0.693359375f;       // ln2 high part, exact in n * it
    r = r - n * -2.12194440e-4f;          // ln2 low part
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    // 2^n for n in [-126, 0] from a table (a gather the compiler vectorises,
    // where bit-casting through the exponent field would block it)
    return p * pow2_neg[-(int)n];
}

/* att[len] = softmax(att / scale_div) in place. HF divides the scores (not
 * the query) by sqrt(head_dim), so the same here. */
static void softmax_row(float *att, int len, float scale_div) {
    #pragma omp simd
    for (int s = 0; s < len; s++) att[s] /= scale_div;
    float max_score = -INFINITY;
    for (int s = 0; s < len; s++) max_score = att[s] > max_score ? att[s] : max_score;
    float sum = 0.0f;
    #pragma omp simd reduction(+ : sum)
    for (int s = 0; s < len; s++) {
        att[s] = exp_nonpositive(att[s] - max_score);
        sum += att[s];
    }
    float inv_sum = 1.0f / sum;
    #pragma omp simd
    for (int s = 0; s < len; s++) att[s] *= inv_sum;
}

/* ctx[t, head] = softmax(q[t, head] . k[s, head]^T / sqrt(head_dim)) @ v[s, head]
 * over the tokens s of t's own sequence. One task per (sequence, head), each
 * two single-threaded SGEMMs on strided views of the packed q/k/v (leading
 * dimension hidden) around a softmax: scores [len, len] = q_h k_h^T, then
 * ctx_h [len, head_dim] = softmax(scores) v_h. A task is computed by the same
 * calls whichever batch or thread it lands in, so a sequence's vectors depend
 * on neither. scratch holds max_len * max_len floats per thread. */
static void attention_forward(float *ctx, const float *q, const float *k,
                              const float *v, float *scratch, int max_len,
                              const int *seq_start, int n_seqs, int hidden,
                              int n_heads, int n_threads) {
    int head_dim = hidden / n_heads;
    float scale_div = sqrtf((float)head_dim);
    int n_tasks = n_seqs * n_heads;
    // dynamic: sequences differ in length, and the cost grows with its square
    #pragma omp parallel for num_threads(n_threads) schedule(dynamic, 1)
    for (int task = 0; task < n_tasks; task++) {
        int seq = task / n_heads, h = task % n_heads;
        int start = seq_start[seq], len = seq_start[seq + 1] - start;
        float *scores = scratch + (size_t)omp_get_thread_num() * max_len * max_len;
        const float *q_h = q + (size_t)start * hidden + h * head_dim;
        const float *k_h = k + (size_t)start * hidden + h * head_dim;
        const float *v_h = v + (size_t)start * hidden + h * head_dim;
        float *ctx_h = ctx + (size_t)start * hidden + h * head_dim;

        // scores [len, len] = q_h [len, head_dim] @ k_h^T
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, len, len, head_dim, 1.0f,
                    q_h, hidden, k_h, hidden, 0.0f, scores, len);
        for (int t = 0; t < len; t++) softmax_row(scores + (size_t)t * len, len, scale_div);
        // ctx_h [len, head_dim] = probabilities [len, len] @ v_h [len, head_dim]
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, len, head_dim, len, 1.0f,
                    scores, len, v_h, hidden, 0.0f, ctx_h, hidden);
    }
}

/* x[t] = LayerNorm(x[t] + dense[t] + bias): the residual connection, the
 * dense layer's bias and the LayerNorm in one sweep over the rows. */
static void residual_layernorm(float *x, const float *dense, const float *bias,
                               const float *gamma, const float *beta, int n_tokens,
                               int hidden, float eps, int n_threads) {
    #pragma omp parallel for num_threads(n_threads) schedule(static)
    for (int t = 0; t < n_tokens; t++) {
        float *row = x + (size_t)t * hidden;
        const float *d = dense + (size_t)t * hidden;
        // HF: LayerNorm((dense + bias) + residual)
        for (int i = 0; i < hidden; i++) row[i] = (d[i] + bias[i]) + row[i];
        sv_layernorm_row(row, row, gamma, beta, hidden, eps);
    }
}

/* erfc(z) for z >= 0 to 1.2e-7 relative (Numerical Recipes' Chebyshev fit
 * erfcc), built on the vectorisable exp above so the GELU loop vectorises:
 * libm's erff is a scalar call and was 5% of a BERT-base forward. */
static inline float erfc_nonneg(float z) {
    float t = 1.0f / (1.0f + 0.5f * z);
    float poly = -0.82215223f + t * 0.17087277f;
    poly = 1.48851587f + t * poly;
    poly = -1.13520398f + t * poly;
    poly = 0.27886807f + t * poly;
    poly = -0.18628806f + t * poly;
    poly = 0.09678418f + t * poly;
    poly = 0.37409196f + t * poly;
    poly = 1.00002368f + t * poly;
    float e = -z * z - 1.26551223f + t * poly;
    e = e < 0.0f ? e : 0.0f; // +3e-8 at z = 0 from the fit's rounding
    return t * exp_nonpositive(e);
}

/* HF "gelu": x * 0.5 * (1 + erf(x / sqrt(2))). Written with erfc so the
 * negative tail does not lose digits to 1 - (almost 1): within 3.9e-7
 * absolute of the exact value everywhere, as close as erff's form gets. */
static inline float gelu_erf(float x) {
    float c = erfc_nonneg(fabsf(x) / 1.41421356237309505f);
    return 0.5f * x * (x >= 0.0f ? 2.0f - c : c);
}

static inline float gelu_tanh(float x) {
    const float k = 0.7978845608028654f; // sqrt(2 / pi)
    return 0.5f * x * (1.0f + tanhf(k * (x + 0.044715f * x * x * x)));
}

/* row[n] = act(row + bias), one loop per activation so each vectorises. */
static void bias_gelu_row(float *restrict row, const float *restrict bias, int n) {
    #pragma omp simd
    for (int i = 0; i < n; i++) row[i] = gelu_erf(row[i] + bias[i]);
}

static void bias_gelu_tanh_row(float *restrict row, const float *restrict bias, int n) {
    for (int i = 0; i < n; i++) row[i] = gelu_tanh(row[i] + bias[i]);
}

static void bias_relu_row(float *restrict row, const float *restrict bias, int n) {
    for (int i = 0; i < n; i++) {
        float y = row[i] + bias[i];
        row[i] = y > 0.0f ? y : 0.0f;
    }
}

/* h[n_tokens, n] = act(h + bias) in place. */
static void bias_activation(float *h, const float *bias, int n_tokens, int n,
                            sv_activation act, int n_threads) {
    #pragma omp parallel for num_threads(n_threads) schedule(static)
    for (int t = 0; t < n_tokens; t++) {
        float *row = h + (size_t)t * n;
        if (act == SV_ACT_GELU) bias_gelu_row(row, bias, n);
        else if (act == SV_ACT_GELU_TANH) bias_gelu_tanh_row(row, bias, n);
        else bias_relu_row(row, bias, n);
    }
}

/* One encoder layer over the packed batch; x [n_tokens, hidden] in and out. */
static void layer_forward(sv_bert_workspace *ws, const sv_bert_config *cfg,
                          const sv_bert_layer *l, const sv_adapter *adapter, int layer,
                          const int *seq_start, int n_seqs,
                          int n_tokens, int max_len, int n_threads) {
    int hidden = cfg->hidden, inter = cfg->intermediate;
    float eps = cfg->layer_norm_eps;

    // self-attention: q/k/v [n_tokens, hidden] = x @ W^T + b
    matmul_forward(ws->q, ws->x, l->q_w, n_seqs, seq_start, hidden, hidden, n_threads);
    matmul_forward(ws->k, ws->x, l->k_w, n_seqs, seq_start, hidden, hidden, n_threads);
    matmul_forward(ws->v, ws->x, l->v_w, n_seqs, seq_start, hidden, hidden, n_threads);
    add_qkv_bias(ws->q, ws->k, ws->v, l, n_tokens, hidden, n_threads);
    attention_forward(ws->ctx, ws->q, ws->k, ws->v, ws->scores, max_len, seq_start,
                      n_seqs, hidden, cfg->n_heads, n_threads);

    // attention output: x = LN(x + ctx @ Wo^T + bo)
    matmul_forward(ws->tmp, ws->ctx, l->attn_out_w, n_seqs, seq_start, hidden, hidden, n_threads);
    residual_layernorm(ws->x, ws->tmp, l->attn_out_b, l->attn_ln_g, l->attn_ln_b,
                       n_tokens, hidden, eps, n_threads);

    // feed-forward: ffn [n_tokens, inter] = act(x @ W1^T + b1); x = LN(x + ffn @ W2^T + b2)
    matmul_forward(ws->ffn, ws->x, l->ffn_in_w, n_seqs, seq_start, hidden, inter, n_threads);
    bias_activation(ws->ffn, l->ffn_in_b, n_tokens, inter, cfg->act, n_threads);
    matmul_forward(ws->tmp, ws->ffn, l->ffn_out_w, n_seqs, seq_start, inter, hidden, n_threads);
    if (adapter) {
        // bottleneck adapter (adapter.c); q/k/v are free again, so they are its scratch
        sv_adapter_ffn_output(adapter, layer, ws->x, ws->tmp, l->ffn_out_b, l->ffn_ln_g,
                              l->ffn_ln_b, eps, ws->q, ws->k, ws->v, n_seqs, seq_start,
                              hidden, n_threads);
        return;
    }
    residual_layernorm(ws->x, ws->tmp, l->ffn_out_b, l->ffn_ln_g, l->ffn_ln_b,
                       n_tokens, hidden, eps, n_threads);
}

/* ------------------------------------------------------------------------ */
/* The last layer for the [CLS] rows only (cls and pooler pooling)           */

/* out[n_rows, n_out] = inp[n_rows, n_in] @ weight[n_out, n_in]^T as one
 * single-threaded SGEMV per row: every row is computed by a call of the same
 * shape whatever the batch, as matmul_forward does for whole sequences. */
static void matvec_rows(float *out, const float *inp, const float *weight, int n_rows,
                        int n_in, int n_out, int n_threads) {
    #pragma omp parallel for num_threads(n_threads) schedule(dynamic, 1)
    for (int r = 0; r < n_rows; r++)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, n_out, n_in, 1.0f, weight, n_in,
                    inp + (size_t)r * n_in, 1, 0.0f, out + (size_t)r * n_out, 1);
}

/* rows[n_rows, n] += bias */
static void add_bias_rows(float *rows, const float *bias, int n_rows, int n, int n_threads) {
    #pragma omp parallel for num_threads(n_threads) schedule(static)
    for (int r = 0; r < n_rows; r++) {
        float *row = rows + (size_t)r * n;
        for (int i = 0; i < n; i++) row[i] += bias[i];
    }
}

/* ctx_first[s, head] = softmax(q_first[s, head] . k[t, head]^T / sqrt(head_dim))
 * @ v[t, head] over the tokens t of sequence s: attention_forward for the
 * first row of each sequence only (q_first and ctx_first are [n_seqs, hidden]).
 * One task per (sequence, head): two single-threaded SGEMVs around the softmax. */
static void attention_first_row(float *ctx_first, const float *q_first, const float *k,
                                const float *v, float *scratch, int max_len,
                                const int *seq_start, int n_seqs, int hidden,
                                int n_heads, int n_threads) {
    int head_dim = hidden / n_heads;
    float scale_div = sqrtf((float)head_dim);
    int n_tasks = n_seqs * n_heads;
    #pragma omp parallel for num_threads(n_threads) schedule(dynamic, 1)
    for (int task = 0; task < n_tasks; task++) {
        int seq = task / n_heads, h = task % n_heads;
        int start = seq_start[seq], len = seq_start[seq + 1] - start;
        float *scores = scratch + (size_t)omp_get_thread_num() * max_len * max_len;
        const float *k_h = k + (size_t)start * hidden + h * head_dim;
        const float *v_h = v + (size_t)start * hidden + h * head_dim;
        // scores [len] = k_h [len, head_dim] @ q
        cblas_sgemv(CblasRowMajor, CblasNoTrans, len, head_dim, 1.0f, k_h, hidden,
                    q_first + (size_t)seq * hidden + h * head_dim, 1, 0.0f, scores, 1);
        softmax_row(scores, len, scale_div);
        // ctx [head_dim] = v_h^T [head_dim, len] @ probabilities
        cblas_sgemv(CblasRowMajor, CblasTrans, len, head_dim, 1.0f, v_h, hidden, scores, 1,
                    0.0f, ctx_first + (size_t)seq * hidden + h * head_dim, 1);
    }
}

/* The last encoder layer when only the [CLS] rows will be read: keys and
 * values for every token (the [CLS] query attends to all of them), then the
 * query, attention, attention output and feed-forward for the n_seqs first
 * rows, gathered into compact [n_seqs, *] buffers. Saves 10 of the layer's
 * 12 hidden^2-sized products per non-[CLS] token. */
static void last_layer_first_rows(sv_bert_workspace *ws, const sv_bert_config *cfg,
                                  const sv_bert_layer *l, const sv_adapter *adapter,
                                  int layer, const int *seq_start, int n_seqs,
                                  int n_tokens, int max_len, int n_threads) {
    int hidden = cfg->hidden, inter = cfg->intermediate;
    float eps = cfg->layer_norm_eps;
    // compact buffers; q is never needed in full here, ctx and tmp only n_seqs rows
    float *x_first = ws->q, *q_first = ws->ctx, *ctx_first = ws->tmp;
    float *dense_first = ws->ctx, *ffn_first = ws->ffn;
    int *row_start = ws->row_start; // every compact row is its own "sequence"
    for (int s = 0; s <= n_seqs; s++) row_start[s] = s;

    matmul_forward(ws->k, ws->x, l->k_w, n_seqs, seq_start, hidden, hidden, n_threads);
    matmul_forward(ws->v, ws->x, l->v_w, n_seqs, seq_start, hidden, hidden, n_threads);
    add_bias_rows(ws->k, l->k_b, n_tokens, hidden, n_threads);
    add_bias_rows(ws->v, l->v_b, n_tokens, hidden, n_threads);
    for (int s = 0; s < n_seqs; s++)
        memcpy(x_first + (size_t)s * hidden, ws->x + (size_t)seq_start[s] * hidden,
               (size_t)hidden * sizeof(float));

    matvec_rows(q_first, x_first, l->q_w, n_seqs, hidden, hidden, n_threads);
    add_bias_rows(q_first, l->q_b, n_seqs, hidden, n_threads);
    attention_first_row(ctx_first, q_first, ws->k, ws->v, ws->scores, max_len, seq_start,
                        n_seqs, hidden, cfg->n_heads, n_threads);

    matvec_rows(dense_first, ctx_first, l->attn_out_w, n_seqs, hidden, hidden, n_threads);
    residual_layernorm(x_first, dense_first, l->attn_out_b, l->attn_ln_g, l->attn_ln_b,
                       n_seqs, hidden, eps, n_threads);

    matvec_rows(ffn_first, x_first, l->ffn_in_w, n_seqs, hidden, inter, n_threads);
    bias_activation(ffn_first, l->ffn_in_b, n_seqs, inter, cfg->act, n_threads);
    matvec_rows(ws->tmp, ffn_first, l->ffn_out_w, n_seqs, inter, hidden, n_threads);
    if (adapter)
        // ctx, k and v are free again: the adapter's scratch
        sv_adapter_ffn_output(adapter, layer, x_first, ws->tmp, l->ffn_out_b, l->ffn_ln_g,
                              l->ffn_ln_b, eps, ws->ctx, ws->k, ws->v, n_seqs, row_start,
                              hidden, n_threads);
    else
        residual_layernorm(x_first, ws->tmp, l->ffn_out_b, l->ffn_ln_g, l->ffn_ln_b,
                           n_seqs, hidden, eps, n_threads);
    for (int s = 0; s < n_seqs; s++)
        memcpy(ws->x + (size_t)seq_start[s] * hidden, x_first + (size_t)s * hidden,
               (size_t)hidden * sizeof(float));
}

/* ------------------------------------------------------------------------ */
/* Entry point                                                               */

/* Every index the forward will use to address a weight row is checked here,
 * before any work, so bad ids are an error and never a wild read. */
static int check_inputs(const sv_bert_config *cfg, int n_seqs, const int *seq_start,
                        const int32_t *ids, const int32_t *type_ids, int *max_len) {
    if (n_seqs < 1 || !seq_start || seq_start[0] != 0)
        return sv_error(SCIVEC_EINVAL, "forward: need at least one sequence starting at token 0");
    *max_len = 0;
    for (int s = 0; s < n_seqs; s++) {
        int len = seq_start[s + 1] - seq_start[s];
        if (len < 1)
            return sv_error(SCIVEC_EINVAL, "forward: sequence %d is empty", s);
        if (len > cfg->max_position)
            return sv_error(SCIVEC_ETOOLONG,
                            "forward: sequence %d has %d tokens, more than "
                            "max_position_embeddings %d", s, len, cfg->max_position);
        if (seq_start[s + 1] > INT32_MAX - len)
            return sv_error(SCIVEC_EINVAL, "forward: too many tokens in one batch");
        if (len > *max_len) *max_len = len;
        for (int t = seq_start[s]; t < seq_start[s + 1]; t++) {
            if (ids[t] < 0 || ids[t] >= cfg->vocab_size)
                return sv_error(SCIVEC_EINVAL,
                                "forward: sequence %d token %d: id %d outside the "
                                "vocabulary (vocab_size %d)", s, t - seq_start[s],
                                (int)ids[t], cfg->vocab_size);
            int type = type_ids ? type_ids[t] : 0;
            if (type < 0 || type >= cfg->type_vocab_size)
                return sv_error(SCIVEC_EINVAL,
                                "forward: sequence %d token %d: token type %d outside "
                                "type_vocab_size %d", s, t - seq_start[s], type,
                                cfg->type_vocab_size);
        }
    }
    return SCIVEC_OK;
}

static int forward(const sv_bert_config *cfg, const sv_bert_weights *w,
                   const sv_adapter *adapter, sv_bert_workspace *ws, int n_threads,
                   int n_seqs, const int *seq_start, const int32_t *ids,
                   const int32_t *type_ids, int first_rows_only);

int sv_bert_forward(const sv_bert_config *cfg, const sv_bert_weights *w,
                    sv_bert_workspace *ws, int n_threads, int n_seqs,
                    const int *seq_start, const int32_t *ids,
                    const int32_t *type_ids) {
    return forward(cfg, w, NULL, ws, n_threads, n_seqs, seq_start, ids, type_ids, 0);
}

int sv_bert_forward_adapter(const sv_bert_config *cfg, const sv_bert_weights *w,
                            const sv_adapter *adapter, sv_bert_workspace *ws,
                            int n_threads, int n_seqs, const int *seq_start,
                            const int32_t *ids, const int32_t *type_ids) {
    return forward(cfg, w, adapter, ws, n_threads, n_seqs, seq_start, ids, type_ids, 0);
}

int sv_bert_forward_cls(const sv_bert_config *cfg, const sv_bert_weights *w,
                        const sv_adapter *adapter, sv_bert_workspace *ws,
                        int n_threads, int n_seqs, const int *seq_start,
                        const int32_t *ids, const int32_t *type_ids) {
    return forward(cfg, w, adapter, ws, n_threads, n_seqs, seq_start, ids, type_ids, 1);
}

/* The forward; first_rows_only: the last layer for the [CLS] rows only. */
static int forward(const sv_bert_config *cfg, const sv_bert_weights *w,
                   const sv_adapter *adapter, sv_bert_workspace *ws, int n_threads,
                   int n_seqs, const int *seq_start, const int32_t *ids,
                   const int32_t *type_ids, int first_rows_only) {
    if (!cfg || !w || !ws || !ids || n_threads < 1)
        return sv_error(SCIVEC_EINVAL, "forward: bad arguments");
    if (cfg->hidden < 1 || cfg->n_heads < 1 || cfg->hidden % cfg->n_heads != 0)
        return sv_error(SCIVEC_EINVAL, "forward: hidden_size %d is not a multiple of "
                        "num_attention_heads %d", cfg->hidden, cfg->n_heads);
    int max_len = 0;
    int status = check_inputs(cfg, n_seqs, seq_start, ids, type_ids, &max_len);
    if (status) return status;
    int n_tokens = seq_start[n_seqs];
    status = workspace_reserve(ws, cfg, n_tokens, max_len, n_threads);
    if (status) return status;

    // a missing type_ids means all zeros; keep one code path by pointing at a
    // zero-filled buffer (tok_seq is rebuilt just below, so borrow ctx)
    const int32_t *types = type_ids;
    if (!types) {
        memset(ws->ctx, 0, (size_t)n_tokens * sizeof(int32_t));
        types = (const int32_t *)ws->ctx;
    }
    for (int s = 0; s < n_seqs; s++)
        for (int t = seq_start[s]; t < seq_start[s + 1]; t++) ws->tok_seq[t] = s;

    // every SGEMM runs single-threaded on an OpenMP thread (see matmul_forward);
    // the setting is process-wide, so give others (FAISS) theirs back after
    int blas_threads = openblas_get_num_threads();
    openblas_set_num_threads(1);
    init_pow2_neg();
    embeddings_forward(ws->x, cfg, w, ids, types, ws->tok_seq, seq_start, n_tokens,
                       n_threads);
    for (int l = 0; l < cfg->n_layers; l++) {
        if (first_rows_only && l == cfg->n_layers - 1)
            last_layer_first_rows(ws, cfg, &w->layers[l], adapter, l, seq_start, n_seqs,
                                  n_tokens, max_len, n_threads);
        else
            layer_forward(ws, cfg, &w->layers[l], adapter, l, seq_start, n_seqs, n_tokens,
                          max_len, n_threads);
    }
    openblas_set_num_threads(blas_threads);
    return SCIVEC_OK;
}
