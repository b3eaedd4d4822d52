/*
 * map_layout.c - the stochastic gradient layout of umap-learn
 * (layouts.py: optimize_layout_euclidean and its single epoch, as umap-learn
 * runs it when random_state is set: one thread, edges in order). Each edge
 * is sampled about once every epochs_per_sample[e] epochs (weight-
 * proportional); a sample pulls its two ends together and pushes the head
 * away from negative_sample_rate random rows. Same arithmetic, same RNG
 * (tau_rand_int) and the same order as umap-learn, in float32 like its
 * arrays (umap-learn's numba computes the powers with libm in double; here
 * they come from a float32 table, pow_lookup: the one difference, for speed).
 */
#include <math.h>
#include <stdlib.h>

#include "core/error.h"
#include "map/map.h"

/* Python's << and >> on int64: shifts without C's undefined (negative
 * left operand) and implementation-defined (negative right shift) cases */
static inline int64_t shl(int64_t v, int n) { return (int64_t)((uint64_t)v << n); }
static inline int64_t sar(int64_t v, int n) { return v < 0 ? ~(~v >> n) : v >> n; }

int32_t sv_map_tau_rand_int(int64_t state[3]) {
    state[0] = (shl(state[0] & 4294967294LL, 12) & 0xFFFFFFFFLL) ^
               sar((shl(state[0], 13) & 0xFFFFFFFFLL) ^ state[0], 19);
    state[1] = (shl(state[1] & 4294967288LL, 4) & 0xFFFFFFFFLL) ^
               sar((shl(state[1], 2) & 0xFFFFFFFFLL) ^ state[1], 25);
    state[2] = (shl(state[2] & 4294967280LL, 17) & 0xFFFFFFFFLL) ^
               sar((shl(state[2], 3) & 0xFFFFFFFFLL) ^ state[2], 11);
    return (int32_t)(uint32_t)(state[0] ^ state[1] ^ state[2]);
}

/* x^b by table: x's float bits above the low 16 index a table of
 * powf(2^e (1 + m/128), b) over every exponent e and 7-bit mantissa m, and
 * the low 16 bits interpolate linearly between two entries (relative error
 * below 1e-6, float32 rounding's order). libm's powf was a third of the
 * SGD's time; a lookup is a few cycles on the loop's critical path. */
#define POW_TABLE_SIZE ((255u << 7) + 1)

static void pow_table_fill(float *table, float b) {
    for (uint32_t i = 0; i < POW_TABLE_SIZE; i++) {
        union { uint32_t u; float f; } x = {i << 16};
        table[i] = i >> 7 >= 255 ? INFINITY : powf(x.f, b);
    }
}

static inline float pow_lookup(const float *table, float x) {
    union { float f; uint32_t u; } v = {x};
    uint32_t i = v.u >> 16;   /* x > 0 and finite: i < 255 << 7 */
    float lo = table[i], hi = table[i + 1];
    return lo + (hi - lo) * (float)(v.u & 0xFFFFu) * (1.0f / 65536.0f);
}

static inline float clip4(float v) {
    return v > 4.0f ? 4.0f : v < -4.0f ? -4.0f : v;
}

int sv_map_optimize(float *head_emb, float *tail_emb, int64_t n_tail,
                    const sv_map_graph *g, const sv_map_sgd *sgd) {
    int64_t n_edges = g->n_edges;
    double *epochs_per_sample = malloc((size_t)(n_edges ? n_edges : 1) * sizeof(double));
    double *next_sample = malloc((size_t)(n_edges ? n_edges : 1) * sizeof(double));
    double *per_negative = malloc((size_t)(n_edges ? n_edges : 1) * sizeof(double));
    double *next_negative = malloc((size_t)(n_edges ? n_edges : 1) * sizeof(double));
    float *pow_b = malloc(POW_TABLE_SIZE * sizeof *pow_b);
    int rc = SCIVEC_OK;
    if (!epochs_per_sample || !next_sample || !per_negative || !next_negative || !pow_b) {
        rc = sv_error(SCIVEC_ENOMEM, "map: out of memory for %lld edges", (long long)n_edges);
        goto done;
    }
    /* make_epochs_per_sample: the heaviest edge every epoch */
    float w_max = 0;
    for (int64_t e = 0; e < n_edges; e++) if (g->weight[e] > w_max) w_max = g->weight[e];
    for (int64_t e = 0; e < n_edges; e++) {
        double n_samples = (double)sgd->n_epochs * (g->weight[e] / w_max);
        epochs_per_sample[e] = n_samples > 0 ? (double)sgd->n_epochs / n_samples : -1.0;
        next_sample[e] = epochs_per_sample[e];
        per_negative[e] = epochs_per_sample[e] / sgd->negative_sample_rate;
        next_negative[e] = per_negative[e];
    }

    const float a = (float)sgd->a, b = (float)sgd->b;
    pow_table_fill(pow_b, b);
    const int32_t n_rows = (int32_t)n_tail;   /* < 2^31 (scivec_map_compute): 32-bit % */
    const double gamma = sgd->gamma;
    int64_t rng[3] = {sgd->rng_state[0], sgd->rng_state[1], sgd->rng_state[2]};
    double alpha = sgd->alpha;
    for (int epoch = 0; epoch < sgd->n_epochs; epoch++) {
        for (int64_t e = 0; e < n_edges; e++) {
            if (next_sample[e] > epoch) continue;
            int32_t j = g->head[e], k = g->tail[e];
            float *current = head_emb + (size_t)j * 2, *other = tail_emb + (size_t)k * 2;
            float dx = current[0] - other[0], dy = current[1] - other[1];
            float dist_squared = dx * dx + dy * dy;
            float grad_coeff = 0;
            if (dist_squared > 0) {
                /* d^(b-1) as d^b / d: one power per sample (the hot loop) */
                float d_b = isfinite(dist_squared) ? pow_lookup(pow_b, dist_squared) : powf(dist_squared, b);
                grad_coeff = -2.0f * a * b * (d_b / dist_squared) / (a * d_b + 1.0f);
            }
            float gx = clip4(grad_coeff * dx), gy = clip4(grad_coeff * dy);
            current[0] += (float)(gx * alpha);
            if (sgd->move_other) other[0] += (float)(-gx * alpha);
            current[1] += (float)(gy * alpha);
            if (sgd->move_other) other[1] += (float)(-gy * alpha);
            next_sample[e] += epochs_per_sample[e];

            int n_neg = (int)((epoch - next_negative[e]) / per_negative[e]);
            for (int p = 0; p < n_neg; p++) {
                /* Python's % on a possibly negative int32 is never negative */
                int32_t r = sv_map_tau_rand_int(rng) % n_rows;
                if (r < 0) r += n_rows;
                k = (int32_t)r;
                other = tail_emb + (size_t)k * 2;
                dx = current[0] - other[0];
                dy = current[1] - other[1];
                dist_squared = dx * dx + dy * dy;
                if (dist_squared > 0) {
                    grad_coeff = (float)(2.0 * gamma) * b /
                                 ((0.001f + dist_squared) * (a * (isfinite(dist_squared) ? pow_lookup(pow_b, dist_squared) : powf(dist_squared, b)) + 1.0f));
                } else if (j == k) {
                    continue;
                } else {
                    grad_coeff = 0;
                }
                gx = grad_coeff > 0 ? clip4(grad_coeff * dx) : 4.0f;
                gy = grad_coeff > 0 ? clip4(grad_coeff * dy) : 4.0f;
                current[0] += (float)(gx * alpha);
                current[1] += (float)(gy * alpha);
            }
            next_negative[e] += n_neg * per_negative[e];
        }
        alpha = sgd->alpha * (1.0 - (double)epoch / (double)sgd->n_epochs);
        if (sgd->progress) sgd->progress("layout", epoch + 1, sgd->n_epochs, sgd->progress_user);
    }
done:
    free(epochs_per_sample);
    free(next_sample);
    free(per_negative);
    free(next_negative);
    free(pow_b);
    return rc;
}
