/*
 * recommend.c - a query vector from positive and negative papers, and the
 * top k without them (see recommend.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "outputs/recommend.h"

/* sum += scale * unit(row) */
static void add_unit_row(const sv_outdir *od, int64_t row, double scale, double *sum) {
    const float *v = od->vectors + row * od->n_cols;
    double norm2 = 0;
    for (int64_t j = 0; j < od->n_cols; j++) norm2 += (double)v[j] * v[j];
    if (norm2 <= 0) return;
    double s = scale / sqrt(norm2);
    for (int64_t j = 0; j < od->n_cols; j++) sum[j] += s * v[j];
}

int sv_recommend_query(const sv_outdir *od, const int64_t *positive, int n_positive,
                       const int64_t *negative, int n_negative, float *query) {
    if (n_positive < 1)
        return sv_error(SCIVEC_EINVAL, "recommend needs at least one positive paper");
    for (int i = 0; i < n_positive + n_negative; i++) {
        int64_t row = i < n_positive ? positive[i] : negative[i - n_positive];
        if (row < 0 || row >= od->n_rows)
            return sv_error(SCIVEC_EINVAL, "recommend: row %lld is not a paper", (long long)row);
    }
    double *sum = calloc((size_t)od->n_cols, sizeof *sum);
    if (!sum) return sv_error(SCIVEC_ENOMEM, "out of memory");
    for (int i = 0; i < n_positive; i++) add_unit_row(od, positive[i], 1.0 / n_positive, sum);
    for (int i = 0; i < n_negative; i++) add_unit_row(od, negative[i], -1.0 / n_negative, sum);
    double norm2 = 0;
    for (int64_t j = 0; j < od->n_cols; j++) norm2 += sum[j] * sum[j];
    /* Below this the direction is rounding noise: the same papers on both sides. */
    if (!(norm2 > 1e-12)) {
        free(sum);
        return sv_error(SCIVEC_EINVAL, "the positive and negative papers cancel out "
                                       "(their mean vectors are equal)");
    }
    for (int64_t j = 0; j < od->n_cols; j++) query[j] = (float)(sum[j] / sqrt(norm2));
    free(sum);
    return SCIVEC_OK;
}

static int is_excluded(int64_t row, const int64_t *exclude, int n_exclude) {
    for (int i = 0; i < n_exclude; i++)
        if (exclude[i] == row) return 1;
    return 0;
}

int sv_recommend_top_k(const sv_outdir *od, const float *query, int64_t k, const int64_t *exclude,
                       int n_exclude, const sv_filter *filter, sv_hit *hits, int64_t *n_hits) {
    *n_hits = 0;
    if (k <= 0) return sv_error(SCIVEC_EINVAL, "k must be positive (got %lld)", (long long)k);
    /* Ask for enough that k remain once the inputs are dropped. */
    int64_t want = k + n_exclude;
    if (want > od->n_rows) want = od->n_rows;
    if (want == 0) return SCIVEC_OK;
    sv_hit *all = malloc((size_t)want * sizeof *all);
    if (!all) return sv_error(SCIVEC_ENOMEM, "out of memory");
    int64_t n_all = 0;
    int rc = sv_outdir_top_k(od, query, want, -1, filter, all, &n_all);
    for (int64_t i = 0; !rc && i < n_all && *n_hits < k; i++)
        if (!is_excluded(all[i].row, exclude, n_exclude)) hits[(*n_hits)++] = all[i];
    free(all);
    return rc;
}
