/*
 * map_layout.c - the stochastic gradient layout of umap-learn
 * (layouts.py: optimize_layout_euclidean and its single epoch, as umap-learn
 * runs it when random_state is set: one thread, edges in order). Each edge
 * is sampled about once every epochs_per_sample[e] epochs (weight-
 * proportional); a sample pulls its two ends together and pushes the head
 * away from negative_sample_rate random rows. Same RNG (tau_rand_int) and
 * the same edge order as umap-learn, in float32 like its arrays; two
 * differences, for speed: the gradient coefficients come from tables
 * (coef_lookup; umap-learn's numba calls libm's pow and divides), and one
 * sample's repulsions are computed together from the same head position
 * (NEG_BATCH below).
 */
#include <math.h>
#include <stdlib.h>

#include "core/error.h"
#include "map/map_graph.h"
#include "map/map_layout.h"

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

/* The two gradient coefficients as functions of the squared distance d,
 *   attraction  -2ab d^(b-1) / (1 + a d^b)
 *   repulsion   2 gamma b / ((0.001 + d) (1 + a d^b)),
 * by table: d's float bits above the low 16 (exponent and 7 mantissa bits)
 * index entries computed in double, and the low 16 bits interpolate
 * linearly between two (relative error about 1e-5: the functions are smooth
 * in log d and a segment spans 1/128 of an octave). Two lookups replace a
 * power and a division, which were on the SGD's critical path (the power
 * by libm's powf: a third of its time before the tables). Outside
 * [2^-20, 2^20], rare, the formula itself. */
#define COEF_EXP_LO     (127 - 20)
#define COEF_EXP_HI     (127 + 20)
#define COEF_TABLE_SIZE ((uint32_t)((COEF_EXP_HI - COEF_EXP_LO) << 7) + 1)

typedef struct coef_tables {
    double a, b, gamma;
    float attract[COEF_TABLE_SIZE], repel[COEF_TABLE_SIZE];
} coef_tables;

static float attract_exact(const coef_tables *t, double d) {
    return (float)(-2.0 * t->a * t->b * pow(d, t->b - 1.0) / (t->a * pow(d, t->b) + 1.0));
}

static float repel_exact(const coef_tables *t, double d) {
    return (float)(2.0 * t->gamma * t->b / ((0.001 + d) * (t->a * pow(d, t->b) + 1.0)));
}

static void coef_tables_fill(coef_tables *t, double a, double b, double gamma) {
    t->a = a;
    t->b = b;
    t->gamma = gamma;
    for (uint32_t i = 0; i < COEF_TABLE_SIZE; i++) {
        union {
            uint32_t u;
            float f;
        } x = {((uint32_t)COEF_EXP_LO << 23) + (i << 16)};
        t->attract[i] = attract_exact(t, x.f);
        t->repel[i] = repel_exact(t, x.f);
    }
}

/* d > 0 */
static inline float coef_lookup(const coef_tables *t, const float *table, int repel, float d) {
    union {
        float f;
        uint32_t u;
    } v = {d};
    uint32_t i = (v.u >> 16) - ((uint32_t)COEF_EXP_LO << 7);
    if (i >= COEF_TABLE_SIZE - 1) return repel ? repel_exact(t, d) : attract_exact(t, d);
    float lo = table[i], hi = table[i + 1];
    return lo + (hi - lo) * (float)(v.u & 0xFFFFu) * (1.0f / 65536.0f);
}

static inline float clip4(float v) { return v > 4.0f ? 4.0f : v < -4.0f ? -4.0f : v; }

/* Python's % (never negative) of an int32 by n_rows, without a division:
 * Lemire's fastmod (exact for every 32-bit operand) on x, or on -(x + 1)
 * for a negative x, whose result n - 1 - r is then r's bitwise complement
 * plus n. The divide was a good part of each negative sample's cost. */
typedef struct row_mod {
    uint32_t n;
    uint64_t m; /* 2^64 / n rounded up */
} row_mod;

static inline int32_t draw_row(sv_map_rng *rng, const row_mod *mod) {
    int32_t x = sv_map_rng_next(rng);
    uint32_t neg = (uint32_t)(x >> 31); /* all ones when negative */
    uint32_t u = (uint32_t)x ^ neg;
    uint64_t low = mod->m * u;
    uint32_t r = (uint32_t)(((unsigned __int128)low * mod->n) >> 64);
    return (int32_t)((r ^ neg) + (neg & mod->n));
}

/* Negative samples are drawn ROWS_AHEAD draws before they are used, and
 * their rows prefetched then: the draws do not depend on the layout, and
 * at 100k rows the loads of random rows' positions, missing the caches,
 * were a third of the SGD's time. The rows come out in the order drawn, as
 * without the queue. Likewise the two ends of the edge PREFETCH_EDGES on. */
#define ROWS_AHEAD     64
#define PREFETCH_EDGES 8

typedef struct rows_ahead {
    int32_t row[ROWS_AHEAD];
    unsigned next; /* the oldest, next to be used */
} rows_ahead;

static inline int32_t next_row(rows_ahead *q, const float *tail_emb, sv_map_rng *rng,
                               const row_mod *mod) {
    unsigned at = q->next;
    int32_t row = q->row[at];
    q->row[at] = draw_row(rng, mod);
    __builtin_prefetch(tail_emb + (size_t)q->row[at] * 2);
    q->next = (at + 1) % ROWS_AHEAD;
    return row;
}

/* The repulsion of negative sample k on the head j at (cx, cy): umap-learn's
 * clipped gradient; 4 when the coefficient is 0 (k at j's place, or
 * underflow), nothing when k is j itself. */
static inline void repel(const float *tail_emb, int32_t j, int32_t k, float cx, float cy,
                         const coef_tables *coef, float *gx, float *gy) {
    const float *other = tail_emb + (size_t)k * 2;
    float dx = cx - other[0], dy = cy - other[1];
    float dist_squared = dx * dx + dy * dy;
    if (dist_squared <= 0 && j == k) {
        *gx = *gy = 0;
        return;
    }
    float grad_coeff = dist_squared > 0 ? coef_lookup(coef, coef->repel, 1, dist_squared) : 0;
    *gx = grad_coeff > 0 ? clip4(grad_coeff * dx) : 4.0f;
    *gy = grad_coeff > 0 ? clip4(grad_coeff * dy) : 4.0f;
}

/* Negative samples handled together: their gradients are all taken at the
 * head's position after the attraction and applied as one sum (umap-learn
 * applies each before computing the next). The repulsions of one sample
 * are then independent of each other, so the CPU overlaps them rather than
 * waiting on a ~50-cycle chain per sample: this was most of the SGD's time.
 * The figures of docs/MAP.md are unchanged by it. */
#define NEG_BATCH 8

/* The edges in the order the SGD visits them: the first edge of every head,
 * then the second of every head, and so on (umap-learn visits a head's
 * edges one after another). Consecutive samples then move different heads,
 * so the CPU overlaps them instead of waiting on one position's chain of
 * updates, and the heads are swept in memory order. g is sorted by head:
 * an edge's rank is its place in its head's run. Returns nonzero when out
 * of memory. */
static int interleave_edges(const sv_map_graph *g, int32_t *head, int32_t *tail, float *weight) {
    int64_t n_edges = g->n_edges;
    int32_t *rank = malloc((size_t)(n_edges ? n_edges : 1) * sizeof *rank);
    int64_t *start = NULL;
    int32_t max_rank = 0;
    if (!rank) return 1;
    for (int64_t e = 0; e < n_edges; e++) {
        rank[e] = e > 0 && g->head[e] == g->head[e - 1] ? rank[e - 1] + 1 : 0;
        if (rank[e] > max_rank) max_rank = rank[e];
    }
    start = calloc((size_t)max_rank + 2, sizeof *start);
    if (!start) {
        free(rank);
        return 1;
    }
    for (int64_t e = 0; e < n_edges; e++) start[rank[e] + 1]++;
    for (int32_t r = 0; r <= max_rank; r++) start[r + 1] += start[r];
    for (int64_t e = 0; e < n_edges; e++) { /* stable: heads ascending within a rank */
        int64_t to = start[rank[e]]++;
        head[to] = g->head[e];
        tail[to] = g->tail[e];
        weight[to] = g->weight[e];
    }
    free(rank);
    free(start);
    return 0;
}

int sv_map_optimize(float *head_emb, float *tail_emb, int64_t n_tail, const sv_map_graph *g,
                    const sv_map_sgd *sgd) {
    int64_t n_edges = g->n_edges;
    size_t n_alloc = (size_t)(n_edges ? n_edges : 1);
    /* float32 schedule: next_sample alone is read for every edge every
     * epoch, so it is its own array (4 bytes an edge a pass) */
    float *epochs_per_sample = malloc(n_alloc * sizeof(float));
    float *next_sample = malloc(n_alloc * sizeof(float));
    float *per_negative = malloc(n_alloc * sizeof(float));
    float *next_negative = malloc(n_alloc * sizeof(float));
    coef_tables *coef = malloc(sizeof *coef);
    int32_t *head = malloc(n_alloc * sizeof *head), *tail = malloc(n_alloc * sizeof *tail);
    float *weight = malloc(n_alloc * sizeof *weight);
    int64_t *due = malloc(n_alloc * sizeof *due);
    int rc = SCIVEC_OK;
    if (!epochs_per_sample || !next_sample || !per_negative || !next_negative || !coef || !head ||
        !tail || !weight || !due || interleave_edges(g, head, tail, weight)) {
        rc = sv_error(SCIVEC_ENOMEM, "map: out of memory for %lld edges", (long long)n_edges);
        goto done;
    }
    /* make_epochs_per_sample: the heaviest edge every epoch */
    float w_max = 0;
    for (int64_t e = 0; e < n_edges; e++)
        if (weight[e] > w_max) w_max = weight[e];
    for (int64_t e = 0; e < n_edges; e++) {
        double n_samples = (double)sgd->n_epochs * (weight[e] / w_max);
        double every = n_samples > 0 ? (double)sgd->n_epochs / n_samples : -1.0;
        epochs_per_sample[e] = (float)every;
        /* never sampled: an edge of weight 0 (pruned before, kept safe) */
        next_sample[e] = every > 0 ? (float)every : INFINITY;
        per_negative[e] = (float)(every / sgd->negative_sample_rate);
        next_negative[e] = per_negative[e];
    }

    coef_tables_fill(coef, sgd->a, sgd->b, sgd->gamma);
    const int32_t n_rows = (int32_t)n_tail; /* < 2^31 (scivec_map_compute): 32-bit % */
    const int move_other = sgd->move_other;
    sv_map_rng rng;
    sv_map_rng_init(&rng, sgd->rng_state);
    const row_mod mod = {(uint32_t)n_rows, UINT64_MAX / (uint32_t)n_rows + 1};
    rows_ahead ahead = {{0}, 0};
    for (int p = 0; p < ROWS_AHEAD; p++) {
        ahead.row[p] = draw_row(&rng, &mod);
        __builtin_prefetch(tail_emb + (size_t)ahead.row[p] * 2);
    }
    float alpha = (float)sgd->alpha;
    for (int epoch = 0; epoch < sgd->n_epochs; epoch++) {
        const float now = (float)epoch;
        /* the edges due this epoch, listed without a branch: which are due
         * follows no pattern the CPU could predict */
        int64_t n_due = 0;
        for (int64_t e = 0; e < n_edges; e++) {
            due[n_due] = e;
            n_due += next_sample[e] <= now;
        }
        for (int64_t d = 0; d < n_due; d++) {
            int64_t e = due[d];
            if (d + PREFETCH_EDGES < n_due) {
                int64_t later = due[d + PREFETCH_EDGES];
                __builtin_prefetch(head_emb + (size_t)head[later] * 2);
                __builtin_prefetch(tail_emb + (size_t)tail[later] * 2);
            }
            int32_t j = head[e], k = tail[e];
            float *current = head_emb + (size_t)j * 2, *other = tail_emb + (size_t)k * 2;
            float dx = current[0] - other[0], dy = current[1] - other[1];
            float dist_squared = dx * dx + dy * dy;
            float grad_coeff = 0;
            if (dist_squared > 0) grad_coeff = coef_lookup(coef, coef->attract, 0, dist_squared);
            float gx = clip4(grad_coeff * dx), gy = clip4(grad_coeff * dy);
            float cx = current[0] + gx * alpha, cy = current[1] + gy * alpha;
            if (move_other) {
                other[0] -= gx * alpha;
                other[1] -= gy * alpha;
            }
            current[0] = cx; /* the head may be drawn as its own negative sample */
            current[1] = cy;
            next_sample[e] += epochs_per_sample[e];

            int n_neg = (int)((now - next_negative[e]) / per_negative[e]);
            for (int done_neg = 0; done_neg < n_neg;) {
                int batch = n_neg - done_neg < NEG_BATCH ? n_neg - done_neg : NEG_BATCH;
                int32_t rows[NEG_BATCH];
                for (int p = 0; p < batch; p++) rows[p] = next_row(&ahead, tail_emb, &rng, &mod);
                float sx = 0, sy = 0;
                for (int p = 0; p < batch; p++) {
                    float rx, ry;
                    repel(tail_emb, j, rows[p], cx, cy, coef, &rx, &ry);
                    sx += rx;
                    sy += ry;
                }
                cx += sx * alpha;
                cy += sy * alpha;
                current[0] = cx;
                current[1] = cy;
                done_neg += batch;
            }
            next_negative[e] += n_neg * per_negative[e];
        }
        alpha = (float)(sgd->alpha * (1.0 - (double)epoch / (double)sgd->n_epochs));
        if (sgd->progress) sgd->progress("layout", epoch + 1, sgd->n_epochs, sgd->progress_user);
    }
done:
    free(epochs_per_sample);
    free(next_sample);
    free(per_negative);
    free(next_negative);
    free(coef);
    free(head);
    free(tail);
    free(weight);
    free(due);
    return rc;
}
