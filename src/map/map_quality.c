/*
 * map_quality.c - how well a layout keeps neighbourhoods, measured on a
 * sample of rows against all rows (an n x n pass would cost minutes at
 * 100k): trustworthiness (Venna & Kaski 2001; sklearn.manifold's formula,
 * its normaliser taken over the sampled rows) and k-NN preservation.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "core/error.h"

/* The k smallest of d[0..n) other than skip, ascending: out[k]. */
static void k_smallest(const float *d, int64_t n, int64_t skip, int k, int32_t *out) {
    float best[k];
    int filled = 0;
    for (int64_t j = 0; j < n; j++) {
        if (j == skip) continue;
        if (filled == k && d[j] >= best[k - 1]) continue;
        int at = filled < k ? filled++ : k - 1;
        while (at > 0 && best[at - 1] > d[j]) {
            best[at] = best[at - 1];
            out[at] = out[at - 1];
            at--;
        }
        best[at] = d[j];
        out[at] = (int32_t)j;
    }
}

/* one sampled row: its sum of (rank - k) over intruders, and shared neighbours */
static void measure_row(const float *vectors, int64_t n, int dim, const float *layout, int k,
                        int64_t i, float *d_high, float *d_low, double *penalty, int *kept) {
    const float *x = vectors + i * dim;
    for (int64_t j = 0; j < n; j++) {
        const float *y = vectors + j * dim;
        float s = 0;
        for (int c = 0; c < dim; c++) s += (x[c] - y[c]) * (x[c] - y[c]);
        d_high[j] = s;
        float dx = layout[i * 2] - layout[j * 2], dy = layout[i * 2 + 1] - layout[j * 2 + 1];
        d_low[j] = dx * dx + dy * dy;
    }
    int32_t high[k], low[k];
    k_smallest(d_high, n, i, k, high);
    k_smallest(d_low, n, i, k, low);
    *penalty = 0;
    *kept = 0;
    for (int a = 0; a < k; a++) {
        int shared = 0;
        for (int b = 0; b < k; b++)
            if (low[a] == high[b]) shared = 1;
        if (shared) {
            (*kept)++;
            continue;
        }
        /* rank in the original space, 1 = nearest (self excluded) */
        float dj = d_high[low[a]];
        int64_t rank = 1;
        for (int64_t j = 0; j < n; j++)
            if (j != i && (d_high[j] < dj || (d_high[j] == dj && j < low[a]))) rank++;
        *penalty += (double)(rank - k);
    }
}

int scivec_map_quality(const float *vectors, int64_t n, int dim, const float *layout, int k,
                       int sample, uint64_t seed, int n_threads, double *trustworthiness,
                       double *knn_preservation) {
    if (k < 1 || 2 * n - 3 * (int64_t)k - 1 <= 0 || dim < 1 || sample < 1)
        return sv_error(SCIVEC_EINVAL,
                        "map: quality needs k >= 1 and n > 1.5 k + 0.5 (k %d, n %lld)", k,
                        (long long)n);
    int64_t m = sample < n ? sample : n;
    int64_t *rows = malloc((size_t)n * sizeof *rows);
    double *penalty = malloc((size_t)m * sizeof *penalty);
    int *kept = malloc((size_t)m * sizeof *kept);
    float *scratch = NULL;
    int rc = SCIVEC_OK;
    if (!rows || !penalty || !kept) {
        rc = sv_error(SCIVEC_ENOMEM, "map: out of memory for the quality sample");
        goto done;
    }
    /* the sample: the first m of a seeded Fisher-Yates shuffle (splitmix64) */
    for (int64_t i = 0; i < n; i++) rows[i] = i;
    uint64_t state = seed ^ 0x5DEECE66DULL;
    for (int64_t i = 0; i < m; i++) {
        uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        z ^= z >> 31;
        int64_t j = i + (int64_t)(z % (uint64_t)(n - i));
        int64_t t = rows[i];
        rows[i] = rows[j];
        rows[j] = t;
    }
    int threads = n_threads > 0 ? n_threads : omp_get_max_threads();
    /* each thread's distances from its row to every row, both spaces */
    if (!(scratch = malloc((size_t)threads * 2 * (size_t)n * sizeof *scratch))) {
        rc = sv_error(SCIVEC_ENOMEM, "map: out of memory for the quality sample");
        goto done;
    }
#pragma omp parallel for num_threads(threads) schedule(dynamic, 4)
    for (int64_t s = 0; s < m; s++) {
        float *d_high = scratch + (size_t)omp_get_thread_num() * 2 * (size_t)n;
        measure_row(vectors, n, dim, layout, k, rows[s], d_high, d_high + n, &penalty[s], &kept[s]);
    }
    /* summed in row order, so the figures do not depend on the threads */
    double total_penalty = 0, total_kept = 0;
    for (int64_t s = 0; s < m; s++) {
        total_penalty += penalty[s];
        total_kept += kept[s];
    }
    *trustworthiness = 1.0 - total_penalty * (2.0 / ((double)m * k * (2.0 * n - 3.0 * k - 1.0)));
    *knn_preservation = total_kept / ((double)m * k);
done:
    free(rows);
    free(penalty);
    free(kept);
    free(scratch);
    return rc;
}
