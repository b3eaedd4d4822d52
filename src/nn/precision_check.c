/*
 * precision_check.c - fp32 vs bf16 / int8 on a sample of texts (see
 * precision_check.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/l2norm.h"
#include "nn/precision_check.h"

/* Rows of v[n, dim] scaled to unit length (zero rows stay zero). */
static void normalize_rows(float *v, int n, int dim) {
    for (int i = 0; i < n; i++) sv_l2_normalize(v + (size_t)i * dim, dim);
}

static double dot(const float *a, const float *b, int dim) {
    double sum = 0.0;
    for (int d = 0; d < dim; d++) sum += (double)a[d] * b[d];
    return sum;
}

/* top[k]: the k rows of unit vectors v most similar to row i (i excluded),
 * ties to the lower index. */
static void top_k(const float *v, int n, int dim, int i, int k, int *top) {
    double best[SV_PRECISION_TOP_K];
    int found = 0;
    for (int j = 0; j < n; j++) {
        if (j == i) continue;
        double s = dot(v + (size_t)i * dim, v + (size_t)j * dim, dim);
        int at = found < k ? found : k;
        while (at > 0 && best[at - 1] < s) at--;
        if (at >= k) continue;
        int last = found < k ? found : k - 1;
        for (int m = last; m > at; m--) {
            best[m] = best[m - 1];
            top[m] = top[m - 1];
        }
        best[at] = s;
        top[at] = j;
        if (found < k) found++;
    }
}

static double overlap(const float *a, const float *b, int n, int dim) {
    int k = SV_PRECISION_TOP_K;
    if (n <= k) return 1.0;
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        int top_a[SV_PRECISION_TOP_K], top_b[SV_PRECISION_TOP_K], same = 0;
        top_k(a, n, dim, i, k, top_a);
        top_k(b, n, dim, i, k, top_b);
        for (int x = 0; x < k; x++)
            for (int y = 0; y < k; y++) same += top_a[x] == top_b[y];
        sum += (double)same / k;
    }
    return sum / n;
}

int sv_precision_compare(scivec_model *fp32_model, int fp32_adapter, scivec_model *reduced_model,
                         int reduced_adapter, const scivec_encode_params *ep, int n,
                         const char *const *texts, sv_precision_quality *out) {
    memset(out, 0, sizeof *out);
    if (n < 1) return sv_error(SCIVEC_EINVAL, "precision check: no texts to compare");
    int dim = scivec_model_hidden_size(fp32_model);
    float *a = malloc((size_t)n * dim * sizeof *a), *b = malloc((size_t)n * dim * sizeof *b);
    int status = a && b ? SCIVEC_OK : sv_error(SCIVEC_ENOMEM, "out of memory");
    scivec_encode_params p = *ep;
    p.adapter_id = fp32_adapter;
    if (!status) status = scivec_model_encode_texts(fp32_model, &p, n, texts, NULL, a, NULL);
    p.adapter_id = reduced_adapter;
    if (!status) status = scivec_model_encode_texts(reduced_model, &p, n, texts, NULL, b, NULL);
    if (!status) {
        normalize_rows(a, n, dim);
        normalize_rows(b, n, dim);
        out->n = n;
        out->min_cosine = 1.0;
        for (int i = 0; i < n; i++) {
            double c = dot(a + (size_t)i * dim, b + (size_t)i * dim, dim);
            out->mean_cosine += c / n;
            if (c < out->min_cosine) out->min_cosine = c;
        }
        out->top_k_overlap = overlap(a, b, n, dim);
    }
    free(a);
    free(b);
    return status;
}
