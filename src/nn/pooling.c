/*
 * pooling.c - one vector per sequence from the last hidden state, as
 * sentence-transformers' Pooling module and BertModel.pooler_output do it.
 *
 *   cls     h[0]
 *   mean    sum_t h[t] / n_tokens over ALL tokens, [CLS] and [SEP] included
 *           (scivec never pads, so the attention mask is all ones)
 *   max     max_t h[t] per feature
 *   pooler  tanh(W h[0] + b)  (BertModel's pooler; needs pooler.dense.*)
 *   mean_sqrt_len_tokens  sum_t h[t] / sqrt(n_tokens)
 *   weightedmean          sum_t (t+1) h[t] / sum_t (t+1)   (positions from 1)
 *   lasttoken             h[n_tokens - 1]
 * (the last three as sentence-transformers' models/Pooling.py computes them
 * with an all-ones attention mask).
 *
 * Each sequence is pooled on its own, in a fixed order, so a vector does not
 * depend on the batch it came in.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/l2norm.h"
#include "nn/config.h"
#include "nn/pooling.h"
#include "nn/weights.h"

const char *scivec_pooling_name(scivec_pooling pooling) {
    switch (pooling) {
        case SCIVEC_POOL_DEFAULT: return "default";
        case SCIVEC_POOL_CLS: return "cls";
        case SCIVEC_POOL_MEAN: return "mean";
        case SCIVEC_POOL_MAX: return "max";
        case SCIVEC_POOL_POOLER: return "pooler";
        case SCIVEC_POOL_MEAN_SQRT_LEN: return "mean_sqrt_len_tokens";
        case SCIVEC_POOL_WEIGHTEDMEAN: return "weightedmean";
        case SCIVEC_POOL_LASTTOKEN: return "lasttoken";
    }
    return "unknown";
}

int scivec_pooling_parse(const char *name, scivec_pooling *out) {
    static const scivec_pooling all[] = {SCIVEC_POOL_CLS,           SCIVEC_POOL_MEAN,
                                         SCIVEC_POOL_MAX,           SCIVEC_POOL_POOLER,
                                         SCIVEC_POOL_MEAN_SQRT_LEN, SCIVEC_POOL_WEIGHTEDMEAN,
                                         SCIVEC_POOL_LASTTOKEN};
    for (size_t i = 0; name && i < SV_ARRAY_LEN(all); i++)
        if (!strcmp(name, scivec_pooling_name(all[i]))) {
            *out = all[i];
            return SCIVEC_OK;
        }
    return sv_error(SCIVEC_EINVAL,
                    "unknown pooling '%s' (expected cls, mean, max, pooler, "
                    "mean_sqrt_len_tokens, weightedmean or lasttoken)",
                    name ? name : "(null)");
}

/* out[hidden] = mean over the n rows of h [n, hidden]; double sums so that
 * long sequences lose nothing to float rounding. */
static void mean_rows(float *out, const float *h, int n, int hidden) {
    for (int i = 0; i < hidden; i++) {
        double sum = 0.0;
        for (int t = 0; t < n; t++) sum += h[(size_t)t * hidden + i];
        out[i] = (float)(sum / n);
    }
}

/* The sum over the rows divided by sqrt(n), as mean_sqrt_len_tokens. */
static void mean_sqrt_len_rows(float *out, const float *h, int n, int hidden) {
    double denom = sqrt((double)n);
    for (int i = 0; i < hidden; i++) {
        double sum = 0.0;
        for (int t = 0; t < n; t++) sum += h[(size_t)t * hidden + i];
        out[i] = (float)(sum / denom);
    }
}

/* Row t weighted by its position t + 1, divided by the sum of the weights. */
static void weightedmean_rows(float *out, const float *h, int n, int hidden) {
    double weights = 0.5 * (double)n * (n + 1);
    for (int i = 0; i < hidden; i++) {
        double sum = 0.0;
        for (int t = 0; t < n; t++) sum += (double)(t + 1) * h[(size_t)t * hidden + i];
        out[i] = (float)(sum / weights);
    }
}

static void max_rows(float *out, const float *h, int n, int hidden) {
    memcpy(out, h, (size_t)hidden * sizeof(float));
    for (int t = 1; t < n; t++) {
        const float *row = h + (size_t)t * hidden;
        for (int i = 0; i < hidden; i++)
            if (row[i] > out[i]) out[i] = row[i];
    }
}

/* out[hidden] = tanh(W[hidden, hidden] @ cls + b), double dot products so
 * the result is the same whichever batch the sequence is in. */
static void pooler_row(float *out, const float *cls, const float *w, const float *b, int hidden) {
    for (int o = 0; o < hidden; o++) {
        const float *w_row = w + (size_t)o * hidden;
        double dot = 0.0;
        for (int i = 0; i < hidden; i++) dot += (double)w_row[i] * cls[i];
        out[o] = tanhf((float)dot + b[o]);
    }
}

int sv_bert_pool(const sv_bert_config *cfg, const sv_bert_weights *w, scivec_pooling pooling,
                 int normalize, const float *hidden_states, int n_seqs, const int *seq_start,
                 float *out) {
    int hidden = cfg->hidden;
    if (pooling == SCIVEC_POOL_POOLER && (!w->pooler_w || !w->pooler_b))
        return sv_error(SCIVEC_ENOTFOUND,
                        "pooling pooler: the checkpoint has no pooler (tensor "
                        "pooler.dense.%s is missing); use cls or mean",
                        w->pooler_w ? "bias" : "weight");
    for (int s = 0; s < n_seqs; s++) {
        const float *h = hidden_states + (size_t)seq_start[s] * hidden;
        int n = seq_start[s + 1] - seq_start[s];
        float *vec = out + (size_t)s * hidden;
        switch (pooling) {
            case SCIVEC_POOL_CLS: memcpy(vec, h, (size_t)hidden * sizeof(float)); break;
            case SCIVEC_POOL_MEAN: mean_rows(vec, h, n, hidden); break;
            case SCIVEC_POOL_MAX: max_rows(vec, h, n, hidden); break;
            case SCIVEC_POOL_POOLER: pooler_row(vec, h, w->pooler_w, w->pooler_b, hidden); break;
            case SCIVEC_POOL_MEAN_SQRT_LEN: mean_sqrt_len_rows(vec, h, n, hidden); break;
            case SCIVEC_POOL_WEIGHTEDMEAN: weightedmean_rows(vec, h, n, hidden); break;
            case SCIVEC_POOL_LASTTOKEN:
                memcpy(vec, h + (size_t)(n - 1) * hidden, (size_t)hidden * sizeof(float));
                break;
            default: return sv_error(SCIVEC_EINVAL, "pooling: unknown pooling %d", (int)pooling);
        }
        if (normalize) sv_l2_normalize(vec, hidden);
    }
    return SCIVEC_OK;
}
