/*
 * bert.c - the BERT encoder forward pass over packed sequences.
 *
 * All sequences of a batch are packed back to back into one
 * [n_tokens, hidden] matrix (no padding, so no wasted FLOPs). Each dense layer
 * runs over it in row chunks, one single-threaded SGEMM per chunk with the
 * chunk's elementwise work (bias, GELU, residual + LayerNorm) right after it,
 * while the rows are still in cache; the feed-forward's two products share a
 * chunk, so its [rows, intermediate] activations never leave it. Chunks cut
 * across sequences: gemm.c's products compute a row the same way wherever it
 * falls, so a sequence's numbers never depend on its neighbours. Attention
 * runs per (sequence, head): each query token attends to the tokens of its
 * own sequence, which is exactly what HF computes with an all-ones mask.
 *
 * Layout: activations are row-major [n_tokens, features]; linear weights are
 * PyTorch's [out, in] (y = x W^T + b).
 * Threads: exactly n_threads OpenMP threads do everything, one parallel
 * region per layer; every product they call is single-threaded.
 * Instruction sets: this file is compiled once per variant (generic, AVX2 +
 * FMA, AVX-512; kernel_variant.h) and bert_dispatch.c picks one at run time.
 */
#include "nn/kernel_variant.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "nn/activation.h"
#include "nn/adapter.h"
#include "nn/bert.h"
#include "nn/config.h"
#include "nn/gemm.h"
#include "nn/lowp.h"
#include "nn/weights.h"

/* Nothing here reads floating-point exception flags; without this promise
 * GCC will not if-convert the float compares in the softmax and GELU loops,
 * and they stay scalar (activation.h says why that matters). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

/* ------------------------------------------------------------------------ */
/* Scratch buffers                                                           */

void sv_bert_workspace_free(sv_bert_workspace *ws) {
    if (!ws) return;
    free(ws->x);
    free(ws->q);
    free(ws->k);
    free(ws->v);
    free(ws->ctx);
    free(ws->tmp);
    free(ws->ffn);
    free(ws->tok_seq);
    free(ws->row_start);
    free(ws->scores);
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
static int workspace_reserve(sv_bert_workspace *ws, const sv_bert_config *cfg, int64_t n_tokens,
                             int max_len, int n_threads) {
    if (n_tokens > ws->cap_tokens) {
        size_t rows = (size_t)n_tokens;
        size_t hidden_bytes = rows * (size_t)cfg->hidden * sizeof(float);
        size_t ffn_bytes = rows * (size_t)cfg->intermediate * sizeof(float);
        if (grow((void **)&ws->x, hidden_bytes) || grow((void **)&ws->q, hidden_bytes) ||
            grow((void **)&ws->k, hidden_bytes) || grow((void **)&ws->v, hidden_bytes) ||
            grow((void **)&ws->ctx, hidden_bytes) || grow((void **)&ws->tmp, hidden_bytes) ||
            grow((void **)&ws->ffn, ffn_bytes) || grow((void **)&ws->tok_seq, rows * sizeof(int)) ||
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
/* Row-wise pieces                                                           */

/* Rows per dense-layer task. Each product call packs its weights again, so
 * the fewer calls the better: in bench/bench_forward (BERT-base, 32 x 236
 * tokens, 1 thread) 512-row chunks ran at 88-89% of the SGEMM peak, 1024 at
 * 91%, 2048-8192 at 91-95%, although their feed-forward activations no
 * longer fit in the L3 cache. A batch of the default 8192 tokens thus runs
 * as one chunk per thread (or two on one thread). */
#define SV_CHUNK_ROWS 4096

/* A matrix of n_rows rows cut into n_chunks row ranges of nearly equal size:
 * at least one per thread (while rows last), at most ~SV_CHUNK_ROWS each. */
typedef struct row_chunks {
    int n_rows, n_chunks;
} row_chunks;

static row_chunks make_chunks(int n_rows, int n_threads) {
    int n_chunks = (n_rows + SV_CHUNK_ROWS - 1) / SV_CHUNK_ROWS;
    int at_least = n_threads < n_rows ? n_threads : n_rows;
    if (n_chunks < at_least) n_chunks = at_least;
    return (row_chunks){n_rows, n_chunks};
}

/* First row of chunk c (chunk n_chunks starts at n_rows). */
static int chunk_start(row_chunks chunks, int c) {
    return (int)((int64_t)chunks.n_rows * c / chunks.n_chunks);
}

/* m[rows, cols] += bias[cols], rows of stride ld. */
static void add_bias_block(float *m, int ld, int n_rows, const float *bias, int n_cols) {
    for (int r = 0; r < n_rows; r++) {
        float *row = m + (size_t)r * ld;
        for (int i = 0; i < n_cols; i++) row[i] += bias[i];
    }
}

/* A dense layer's weight: fp32 [n_out, n_in] for BLIS, or its bf16 / int8
 * form (lowp.h) when the model was loaded in that precision. */
typedef struct dense_weight {
    const float *w;
    const sv_lowp_weight *lp;
} dense_weight;

#define DENSE(layer, name) ((dense_weight){(layer)->name##_w, (layer)->name##_lp})

/* q[rows, n] = x rounded to int8, one scale per row: max|x| / 127 (1 for an
 * all-zero row), round to nearest. */
static void quantize_rows_s8(int8_t *restrict q, float *restrict scale, const float *restrict x,
                             int n_rows, int n) {
    for (int r = 0; r < n_rows; r++) {
        const float *row = x + (size_t)r * n;
        // compares, not fmaxf: GCC calls libm's fmaxf (NaN rules) instead of vmaxps
        float max_abs = 0.0f;
#pragma omp simd reduction(max : max_abs)
        for (int i = 0; i < n; i++) {
            float a = row[i] < 0.0f ? -row[i] : row[i];
            max_abs = a > max_abs ? a : max_abs;
        }
        float inv = max_abs > 0.0f ? 127.0f / max_abs : 1.0f;
        scale[r] = max_abs > 0.0f ? max_abs / 127.0f : 1.0f;
        int8_t *q_row = q + (size_t)r * n;
#pragma omp simd
        for (int i = 0; i < n; i++) q_row[i] = (int8_t)(int)rintf(row[i] * inv);
    }
}

/* b[count] = x rounded to bf16 (nearest even; inputs are finite). */
static void convert_bf16(uint16_t *restrict b, const float *restrict x, size_t count) {
#pragma omp simd
    for (size_t i = 0; i < count; i++) {
        uint32_t u;
        memcpy(&u, &x[i], sizeof u);
        b[i] = (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
    }
}

/* out[n_rows, n_out] = inp[n_rows, n_in] @ lp^T on oneDNN: the rows go to
 * this thread's bf16 / int8 buffer first; int8 results are then scaled by
 * each row's own scale (the weights' are applied by the matmul). */
static void linear_rows_lowp(float *out, const float *inp, const sv_lowp_weight *lp, int n_rows,
                             int n_in, int n_out) {
    int thread = omp_get_thread_num();
    float *row_scale;
    void *act = sv_lowp_act(lp->owner, thread, &row_scale);
    int int8 = lp->scale != NULL;
    if (int8)
        quantize_rows_s8(act, row_scale, inp, n_rows, n_in);
    else
        convert_bf16(act, inp, (size_t)n_rows * n_in);
    if (sv_lowp_matmul(lp->owner, thread, lp, n_rows, out, n_out)) return;
    if (!int8) return;
    for (int r = 0; r < n_rows; r++) {
        float *row = out + (size_t)r * n_out;
        float s = row_scale[r];
#pragma omp simd
        for (int i = 0; i < n_out; i++) row[i] *= s;
    }
}

/* out[rows] = inp[rows] @ weight[n_out, n_in]^T (+ bias) for rows
 * row0 .. row0+n_rows-1 of the [*, n_in] and [*, n_out] matrices. bias NULL:
 * the caller adds it later, fused with other work on the same rows. */
static void linear_rows(float *out, const float *inp, dense_weight weight, const float *bias,
                        int row0, int n_rows, int n_in, int n_out) {
    if (weight.lp)
        linear_rows_lowp(out + (size_t)row0 * n_out, inp + (size_t)row0 * n_in, weight.lp, n_rows,
                         n_in, n_out);
    else
        sv_gemm_nt(n_rows, n_out, n_in, 1.0f, inp + (size_t)row0 * n_in, n_in, weight.w, n_in,
                   out + (size_t)row0 * n_out, n_out);
    if (bias) add_bias_block(out + (size_t)row0 * n_out, n_out, n_rows, bias, n_out);
}

/* out[n] = LayerNorm(inp[n]) * gamma + beta, one row; out may alias inp.
 * Mean and variance are accumulated in double (in SIMD lanes, a fixed order
 * for a given build), so 768 terms lose nothing to float rounding. Shared
 * with adapter.c, whose two LayerNorms must round exactly like the stock one. */
void sv_layernorm_row(float *out, const float *inp, const float *gamma, const float *beta, int n,
                      float eps) {
    double sum = 0.0;
#pragma omp simd reduction(+ : sum)
    for (int i = 0; i < n; i++) sum += inp[i];
    double mean = sum / n;
    double var = 0.0;
#pragma omp simd reduction(+ : var)
    for (int i = 0; i < n; i++) {
        double d = inp[i] - mean;
        var += d * d;
    }
    var /= n;
    float rstd = (float)(1.0 / sqrt(var + eps));
    float fmean = (float)mean;
    for (int i = 0; i < n; i++) out[i] = (inp[i] - fmean) * rstd * gamma[i] + beta[i];
}

/* x[t] = LayerNorm(word_emb[id] + type_emb[type] + pos_emb[position]):
 * position counts from 0 at the start of each packed sequence. */
static void embeddings_forward(float *x, const sv_bert_config *cfg, const sv_bert_weights *w,
                               const int32_t *ids, const int32_t *type_ids, const int *tok_seq,
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

/* x[t] = LayerNorm(x[t] + dense[t] + bias) for rows row0 .. row0+n_rows-1:
 * the residual connection, the dense layer's bias and the LayerNorm in one
 * sweep. */
static void residual_layernorm_rows(float *x, const float *dense, const float *bias,
                                    const float *gamma, const float *beta, int row0, int n_rows,
                                    int hidden, float eps) {
    for (int t = row0; t < row0 + n_rows; t++) {
        float *row = x + (size_t)t * hidden;
        const float *d = dense + (size_t)t * hidden;
        // HF: LayerNorm((dense + bias) + residual)
        for (int i = 0; i < hidden; i++) row[i] = (d[i] + bias[i]) + row[i];
        sv_layernorm_row(row, row, gamma, beta, hidden, eps);
    }
}

/* row[n] = act(row + bias), one loop per activation so each vectorises. */
static void bias_gelu_row(float *restrict row, const float *restrict bias, int n) {
#pragma omp simd
    for (int i = 0; i < n; i++) row[i] = sv_gelu_erf(row[i] + bias[i]);
}

static void bias_gelu_tanh_row(float *restrict row, const float *restrict bias, int n) {
    for (int i = 0; i < n; i++) row[i] = sv_gelu_tanh(row[i] + bias[i]);
}

static void bias_relu_row(float *restrict row, const float *restrict bias, int n) {
    for (int i = 0; i < n; i++) {
        float y = row[i] + bias[i];
        row[i] = y > 0.0f ? y : 0.0f;
    }
}

/* h[rows] = act(h + bias) in place, rows row0 .. row0+n_rows-1 of [*, n]. */
static void bias_activation_rows(float *h, const float *bias, int row0, int n_rows, int n,
                                 sv_activation act) {
    for (int t = row0; t < row0 + n_rows; t++) {
        float *row = h + (size_t)t * n;
        if (act == SV_ACT_GELU)
            bias_gelu_row(row, bias, n);
        else if (act == SV_ACT_GELU_TANH)
            bias_gelu_tanh_row(row, bias, n);
        else
            bias_relu_row(row, bias, n);
    }
}

/* ------------------------------------------------------------------------ */
/* Attention                                                                 */

/* att[len] = softmax(att / scale_div) in place. HF divides the scores (not
 * the query) by sqrt(head_dim); scale_div 1 means the caller already did. */
static void softmax_row(float *att, int len, float scale_div) {
    if (scale_div != 1.0f) {
#pragma omp simd
        for (int s = 0; s < len; s++) att[s] /= scale_div;
    }
    float max_score = -INFINITY;
#pragma omp simd reduction(max : max_score)
    for (int s = 0; s < len; s++) max_score = att[s] > max_score ? att[s] : max_score;
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int s = 0; s < len; s++) {
        att[s] = sv_exp_nonpositive(att[s] - max_score);
        sum += att[s];
    }
    float inv_sum = 1.0f / sum;
#pragma omp simd
    for (int s = 0; s < len; s++) att[s] *= inv_sum;
}

/* How the scores get divided by sqrt(head_dim): when that is a power of two
 * (8 for BERT's 64-wide heads) dividing is the same as multiplying the
 * product by its inverse, exactly, so the scores SGEMM does it for free
 * (alpha); otherwise the softmax divides, as HF does. */
typedef struct score_scale {
    float alpha, divide_by;
} score_scale;

static score_scale make_score_scale(int head_dim) {
    float div = sqrtf((float)head_dim);
    int exponent;
    if (frexpf(div, &exponent) == 0.5f) return (score_scale){1.0f / div, 1.0f};
    return (score_scale){1.0f, div};
}

/* The q/k/v projections' biases, added per (sequence, head) right before that
 * block's products rather than in a pass of their own over the whole
 * [n_tokens, hidden] matrices: the same additions, but on rows already in
 * cache. */
typedef struct qkv_bias {
    const float *q, *k, *v;
} qkv_bias;

/* ctx[t, head] = softmax(q[t, head] . k[s, head]^T / sqrt(head_dim)) @ v[s, head]
 * over the tokens s of one sequence (rows start .. start+len-1): scores
 * [len, len] = q_h k_h^T, then ctx_h [len, head_dim] = softmax(scores) v_h,
 * two single-threaded SGEMMs on strided views of the packed q/k/v (leading
 * dimension hidden). q/k/v come without their biases, which this adds to the
 * head's block first. scores holds len * len floats. */
static void attention_head(float *ctx, float *q, float *k, float *v, qkv_bias bias, float *scores,
                           int start, int len, int head, int hidden, int head_dim,
                           score_scale scale) {
    size_t offset = (size_t)start * hidden + (size_t)head * head_dim;
    size_t bias_offset = (size_t)head * head_dim;
    add_bias_block(q + offset, hidden, len, bias.q + bias_offset, head_dim);
    add_bias_block(k + offset, hidden, len, bias.k + bias_offset, head_dim);
    add_bias_block(v + offset, hidden, len, bias.v + bias_offset, head_dim);
    sv_gemm_nt(len, len, head_dim, scale.alpha, q + offset, hidden, k + offset, hidden, scores,
               len);
    for (int t = 0; t < len; t++) softmax_row(scores + (size_t)t * len, len, scale.divide_by);
    sv_gemm_nn(len, head_dim, len, scores, len, v + offset, hidden, ctx + offset, hidden);
}

/* ctx_first[s, head] = attention_head for the first row of sequence s only
 * (q_first and ctx_first are [n_seqs, hidden]): a dot product per key, the
 * softmax, a weighted sum of the values. */
static void attention_head_first_row(float *ctx_first, const float *q_first, const float *k,
                                     const float *v, float *scores, int seq, int start, int len,
                                     int head, int hidden, int head_dim, score_scale scale) {
    const float *q_h = q_first + (size_t)seq * hidden + (size_t)head * head_dim;
    float *ctx_h = ctx_first + (size_t)seq * hidden + (size_t)head * head_dim;
    for (int t = 0; t < len; t++) {
        const float *k_t = k + (size_t)(start + t) * hidden + (size_t)head * head_dim;
        float dot = 0.0f;
        for (int d = 0; d < head_dim; d++) dot += q_h[d] * k_t[d];
        scores[t] = dot * scale.alpha;
    }
    softmax_row(scores, len, scale.divide_by);
    for (int d = 0; d < head_dim; d++) ctx_h[d] = 0.0f;
    for (int t = 0; t < len; t++) {
        const float *v_t = v + (size_t)(start + t) * hidden + (size_t)head * head_dim;
        for (int d = 0; d < head_dim; d++) ctx_h[d] += scores[t] * v_t[d];
    }
}

/* ------------------------------------------------------------------------ */
/* Layers                                                                    */

/* One encoder layer over the packed batch; x [n_tokens, hidden] in and out.
 * One parallel region; the implicit barrier after each loop orders the steps. */
static void layer_forward(sv_bert_workspace *ws, const sv_bert_config *cfg, const sv_bert_layer *l,
                          const sv_adapter *adapter, int layer, const int *seq_start, int n_seqs,
                          int n_tokens, int max_len, int n_threads) {
    int hidden = cfg->hidden, inter = cfg->intermediate, n_heads = cfg->n_heads;
    int head_dim = hidden / n_heads;
    float eps = cfg->layer_norm_eps;
    row_chunks chunks = make_chunks(n_tokens, n_threads);
    score_scale scale = make_score_scale(head_dim);
    qkv_bias bias = {l->q_b, l->k_b, l->v_b};

#pragma omp parallel num_threads(n_threads)
    {
// self-attention: q/k/v [n_tokens, hidden] = x @ W^T (+ b, in attention_head)
#pragma omp for schedule(dynamic, 1)
        for (int c = 0; c < chunks.n_chunks; c++) {
            int row0 = chunk_start(chunks, c), n_rows = chunk_start(chunks, c + 1) - row0;
            linear_rows(ws->q, ws->x, DENSE(l, q), NULL, row0, n_rows, hidden, hidden);
            linear_rows(ws->k, ws->x, DENSE(l, k), NULL, row0, n_rows, hidden, hidden);
            linear_rows(ws->v, ws->x, DENSE(l, v), NULL, row0, n_rows, hidden, hidden);
        }
        // per (sequence, head); dynamic: the cost grows with the length squared
        float *scores = ws->scores + (size_t)omp_get_thread_num() * max_len * max_len;
#pragma omp for schedule(dynamic, 1)
        for (int task = 0; task < n_seqs * n_heads; task++) {
            int seq = task / n_heads, head = task % n_heads;
            attention_head(ws->ctx, ws->q, ws->k, ws->v, bias, scores, seq_start[seq],
                           seq_start[seq + 1] - seq_start[seq], head, hidden, head_dim, scale);
        }
// attention output: x = LN(x + ctx @ Wo^T + bo)
#pragma omp for schedule(dynamic, 1)
        for (int c = 0; c < chunks.n_chunks; c++) {
            int row0 = chunk_start(chunks, c), n_rows = chunk_start(chunks, c + 1) - row0;
            linear_rows(ws->tmp, ws->ctx, DENSE(l, attn_out), NULL, row0, n_rows, hidden, hidden);
            residual_layernorm_rows(ws->x, ws->tmp, l->attn_out_b, l->attn_ln_g, l->attn_ln_b, row0,
                                    n_rows, hidden, eps);
        }
// feed-forward, both products per chunk: ffn = act(x @ W1^T + b1);
// x = LN(x + ffn @ W2^T + b2) (or the adapter's output, below)
#pragma omp for schedule(dynamic, 1)
        for (int c = 0; c < chunks.n_chunks; c++) {
            int row0 = chunk_start(chunks, c), n_rows = chunk_start(chunks, c + 1) - row0;
            linear_rows(ws->ffn, ws->x, DENSE(l, ffn_in), NULL, row0, n_rows, hidden, inter);
            bias_activation_rows(ws->ffn, l->ffn_in_b, row0, n_rows, inter, cfg->act);
            linear_rows(ws->tmp, ws->ffn, DENSE(l, ffn_out), NULL, row0, n_rows, inter, hidden);
            if (!adapter)
                residual_layernorm_rows(ws->x, ws->tmp, l->ffn_out_b, l->ffn_ln_g, l->ffn_ln_b,
                                        row0, n_rows, hidden, eps);
        }
    }
    if (adapter)
        // bottleneck adapter (adapter.c); q/k/v are free again, so they are its scratch
        sv_adapter_ffn_output(adapter, layer, ws->x, ws->tmp, l->ffn_out_b, l->ffn_ln_g,
                              l->ffn_ln_b, eps, ws->q, ws->k, ws->v, n_seqs, seq_start, hidden,
                              n_threads);
}

/* The last encoder layer when only the [CLS] rows will be read: keys and
 * values for every token (the [CLS] query attends to all of them), then the
 * query, attention, attention output and feed-forward for the n_seqs first
 * rows, gathered into compact [n_seqs, *] buffers. Saves 10 of the layer's
 * 12 hidden^2-sized products per non-[CLS] token. */
static void last_layer_first_rows(sv_bert_workspace *ws, const sv_bert_config *cfg,
                                  const sv_bert_layer *l, const sv_adapter *adapter, int layer,
                                  const int *seq_start, int n_seqs, int n_tokens, int max_len,
                                  int n_threads) {
    int hidden = cfg->hidden, inter = cfg->intermediate, n_heads = cfg->n_heads;
    int head_dim = hidden / n_heads;
    float eps = cfg->layer_norm_eps;
    row_chunks chunks = make_chunks(n_tokens, n_threads);
    row_chunks first_chunks = make_chunks(n_seqs, n_threads);
    score_scale scale = make_score_scale(head_dim);
    // compact buffers; q is never needed in full here, ctx and tmp only n_seqs rows
    float *x_first = ws->q, *q_first = ws->ctx, *ctx_first = ws->tmp;
    float *dense_first = ws->ctx, *ffn_first = ws->ffn;
    int *row_start = ws->row_start; // every compact row is its own "sequence"
    for (int s = 0; s <= n_seqs; s++) row_start[s] = s;

#pragma omp parallel num_threads(n_threads)
    {
#pragma omp for schedule(dynamic, 1)
        for (int c = 0; c < chunks.n_chunks; c++) {
            int row0 = chunk_start(chunks, c), n_rows = chunk_start(chunks, c + 1) - row0;
            linear_rows(ws->k, ws->x, DENSE(l, k), l->k_b, row0, n_rows, hidden, hidden);
            linear_rows(ws->v, ws->x, DENSE(l, v), l->v_b, row0, n_rows, hidden, hidden);
        }
#pragma omp for schedule(dynamic, 1)
        for (int c = 0; c < first_chunks.n_chunks; c++) {
            int row0 = chunk_start(first_chunks, c);
            int n_rows = chunk_start(first_chunks, c + 1) - row0;
            for (int s = row0; s < row0 + n_rows; s++)
                memcpy(x_first + (size_t)s * hidden, ws->x + (size_t)seq_start[s] * hidden,
                       (size_t)hidden * sizeof(float));
            linear_rows(q_first, x_first, DENSE(l, q), l->q_b, row0, n_rows, hidden, hidden);
        }
        float *scores = ws->scores + (size_t)omp_get_thread_num() * max_len * max_len;
#pragma omp for schedule(dynamic, 1)
        for (int task = 0; task < n_seqs * n_heads; task++) {
            int seq = task / n_heads, head = task % n_heads;
            attention_head_first_row(ctx_first, q_first, ws->k, ws->v, scores, seq, seq_start[seq],
                                     seq_start[seq + 1] - seq_start[seq], head, hidden, head_dim,
                                     scale);
        }
#pragma omp for schedule(dynamic, 1)
        for (int c = 0; c < first_chunks.n_chunks; c++) {
            int row0 = chunk_start(first_chunks, c);
            int n_rows = chunk_start(first_chunks, c + 1) - row0;
            linear_rows(dense_first, ctx_first, DENSE(l, attn_out), NULL, row0, n_rows, hidden,
                        hidden);
            residual_layernorm_rows(x_first, dense_first, l->attn_out_b, l->attn_ln_g, l->attn_ln_b,
                                    row0, n_rows, hidden, eps);
            linear_rows(ffn_first, x_first, DENSE(l, ffn_in), NULL, row0, n_rows, hidden, inter);
            bias_activation_rows(ffn_first, l->ffn_in_b, row0, n_rows, inter, cfg->act);
            linear_rows(ws->tmp, ffn_first, DENSE(l, ffn_out), NULL, row0, n_rows, inter, hidden);
            if (!adapter)
                residual_layernorm_rows(x_first, ws->tmp, l->ffn_out_b, l->ffn_ln_g, l->ffn_ln_b,
                                        row0, n_rows, hidden, eps);
        }
    }
    if (adapter)
        // ctx, k and v are free again: the adapter's scratch
        sv_adapter_ffn_output(adapter, layer, x_first, ws->tmp, l->ffn_out_b, l->ffn_ln_g,
                              l->ffn_ln_b, eps, ws->ctx, ws->k, ws->v, n_seqs, row_start, hidden,
                              n_threads);
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
        if (len < 1) return sv_error(SCIVEC_EINVAL, "forward: sequence %d is empty", s);
        if (len > cfg->max_position)
            return sv_error(SCIVEC_ETOOLONG,
                            "forward: sequence %d has %d tokens, more than "
                            "max_position_embeddings %d",
                            s, len, cfg->max_position);
        if (seq_start[s + 1] > INT32_MAX - len)
            return sv_error(SCIVEC_EINVAL, "forward: too many tokens in one batch");
        if (len > *max_len) *max_len = len;
        for (int t = seq_start[s]; t < seq_start[s + 1]; t++) {
            if (ids[t] < 0 || ids[t] >= cfg->vocab_size)
                return sv_error(SCIVEC_EINVAL,
                                "forward: sequence %d token %d: id %d outside the "
                                "vocabulary (vocab_size %d)",
                                s, t - seq_start[s], (int)ids[t], cfg->vocab_size);
            int type = type_ids ? type_ids[t] : 0;
            if (type < 0 || type >= cfg->type_vocab_size)
                return sv_error(SCIVEC_EINVAL,
                                "forward: sequence %d token %d: token type %d outside "
                                "type_vocab_size %d",
                                s, t - seq_start[s], type, cfg->type_vocab_size);
        }
    }
    return SCIVEC_OK;
}

static int forward(const sv_bert_config *cfg, const sv_bert_weights *w, const sv_adapter *adapter,
                   sv_bert_workspace *ws, int n_threads, int n_seqs, const int *seq_start,
                   const int32_t *ids, const int32_t *type_ids, int first_rows_only);

int sv_bert_forward(const sv_bert_config *cfg, const sv_bert_weights *w, sv_bert_workspace *ws,
                    int n_threads, int n_seqs, const int *seq_start, const int32_t *ids,
                    const int32_t *type_ids) {
    return forward(cfg, w, NULL, ws, n_threads, n_seqs, seq_start, ids, type_ids, 0);
}

int sv_bert_forward_adapter(const sv_bert_config *cfg, const sv_bert_weights *w,
                            const sv_adapter *adapter, sv_bert_workspace *ws, int n_threads,
                            int n_seqs, const int *seq_start, const int32_t *ids,
                            const int32_t *type_ids) {
    return forward(cfg, w, adapter, ws, n_threads, n_seqs, seq_start, ids, type_ids, 0);
}

int sv_bert_forward_cls(const sv_bert_config *cfg, const sv_bert_weights *w,
                        const sv_adapter *adapter, sv_bert_workspace *ws, int n_threads, int n_seqs,
                        const int *seq_start, const int32_t *ids, const int32_t *type_ids) {
    return forward(cfg, w, adapter, ws, n_threads, n_seqs, seq_start, ids, type_ids, 1);
}

/* The forward; first_rows_only: the last layer for the [CLS] rows only. */
static int forward(const sv_bert_config *cfg, const sv_bert_weights *w, const sv_adapter *adapter,
                   sv_bert_workspace *ws, int n_threads, int n_seqs, const int *seq_start,
                   const int32_t *ids, const int32_t *type_ids, int first_rows_only) {
    if (!cfg || !w || !ws || !ids || n_threads < 1)
        return sv_error(SCIVEC_EINVAL, "forward: bad arguments");
    if (cfg->hidden < 1 || cfg->n_heads < 1 || cfg->hidden % cfg->n_heads != 0)
        return sv_error(SCIVEC_EINVAL,
                        "forward: hidden_size %d is not a multiple of "
                        "num_attention_heads %d",
                        cfg->hidden, cfg->n_heads);
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

    // bf16 / int8 dense layers: each thread's activation buffer holds a chunk
    // (at most SV_CHUNK_ROWS rows, make_chunks) of the widest input
    sv_lowp *lowp = cfg->n_layers > 0 && w->layers[0].q_lp ? w->layers[0].q_lp->owner : NULL;
    if (lowp) {
        int widest = cfg->intermediate > cfg->hidden ? cfg->intermediate : cfg->hidden;
        status = sv_lowp_reserve(lowp, n_tokens < SV_CHUNK_ROWS ? n_tokens : SV_CHUNK_ROWS, widest);
        if (status) return status;
    }

    embeddings_forward(ws->x, cfg, w, ids, types, ws->tok_seq, seq_start, n_tokens, n_threads);
    for (int l = 0; l < cfg->n_layers; l++) {
        if (first_rows_only && l == cfg->n_layers - 1)
            last_layer_first_rows(ws, cfg, &w->layers[l], adapter, l, seq_start, n_seqs, n_tokens,
                                  max_len, n_threads);
        else
            layer_forward(ws, cfg, &w->layers[l], adapter, l, seq_start, n_seqs, n_tokens, max_len,
                          n_threads);
        if (lowp && (status = sv_lowp_failed(lowp))) return status;
    }
    return SCIVEC_OK;
}
