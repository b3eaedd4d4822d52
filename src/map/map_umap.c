/*
 * map_umap.c - scivec_map_compute and scivec_map_transform: umap-learn's
 * UMAP.fit (fuzzy_simplicial_set + simplicial_set_embedding) and
 * UMAP.transform, from its pieces, one file each, following umap-learn 0.5's
 * umap_.py and layouts.py step by step:
 *
 *   map_knn.cpp     k nearest neighbours (FAISS)
 *   map_knn_ivf.cpp approximate k nearest neighbours of the rows themselves
 *   map_graph.c     smooth-knn sigma/rho, membership strengths, fuzzy union
 *   map_ab.c        a, b of 1 / (1 + a d^2b) from min_dist and spread
 *   map_init.c      the starting layout (PCA, scaled as umap-learn does)
 *   map_layout.c    the SGD with negative sampling (optimize_layout_euclidean)
 *   map_umap.c      scivec_map_compute / scivec_map_transform
 *   map_quality.c   trustworthiness and k-NN preservation
 *   (outputs/map_dir.c: scivec_map_dir, map.npy and metadata.json)
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "map/map_ab.h"
#include "map/map_graph.h"
#include "map/map_init.h"
#include "map/map_knn.h"
#include "map/map_layout.h"

scivec_map_params scivec_map_default_params(void) {
    scivec_map_params p;
    memset(&p, 0, sizeof p);
    p.n_neighbors = 15;
    p.min_dist = 0.1f;
    p.spread = 1.0f;
    p.learning_rate = 1.0f;
    p.repulsion_strength = 1.0f;
    p.negative_sample_rate = 5;
    p.seed = 42;
    p.knn = SCIVEC_MAP_KNN_AUTO;
    p.quality_sample = 1000;
    return p;
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void report(const scivec_map_params *p, const char *stage, int64_t done, int64_t total) {
    if (p->progress) p->progress(stage, done, total, p->progress_user);
}

/* splitmix64: three int32 words of umap-learn's rng_state from the seed
 * (umap-learn draws them with random_state.randint(INT32_MIN, INT32_MAX)) */
static void seed_rng(uint64_t seed, uint64_t stream, int64_t state[3]) {
    uint64_t x = seed ^ (stream * 0xD1B54A32D192ED03ULL);
    for (int i = 0; i < 3; i++) {
        uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        z ^= z >> 31;
        state[i] = (int32_t)(uint32_t)z;
        if (state[i] == 0) state[i] = 1; /* a zero word of a xorshift stays zero */
    }
}

static int check_params(const scivec_map_params *p) {
    if (p->n_neighbors < 2 || p->n_neighbors > 1000)
        return sv_error(SCIVEC_EINVAL, "map: n_neighbors must be 2..1000, got %d", p->n_neighbors);
    if (p->n_epochs < 0 || p->n_epochs > 100000)
        return sv_error(SCIVEC_EINVAL, "map: n_epochs must be 0 (auto)..100000, got %d",
                        p->n_epochs);
    if (!(p->learning_rate > 0) || !isfinite(p->learning_rate))
        return sv_error(SCIVEC_EINVAL, "map: learning_rate must be > 0, got %g", p->learning_rate);
    if (!(p->repulsion_strength >= 0) || !isfinite(p->repulsion_strength))
        return sv_error(SCIVEC_EINVAL, "map: repulsion_strength must be >= 0, got %g",
                        p->repulsion_strength);
    if (p->negative_sample_rate < 0 || p->negative_sample_rate > 1000)
        return sv_error(SCIVEC_EINVAL, "map: negative_sample_rate must be 0..1000, got %d",
                        p->negative_sample_rate);
    if (p->quality_sample < 0)
        return sv_error(SCIVEC_EINVAL, "map: quality_sample must be >= 0, got %d",
                        p->quality_sample);
    if ((unsigned)p->knn > SCIVEC_MAP_KNN_IVF)
        return sv_error(SCIVEC_EINVAL, "map: unknown neighbour search %d", (int)p->knn);
    return SCIVEC_OK;
}

static int check_vectors(const char *what, const float *v, int64_t n, int dim) {
    for (int64_t i = 0; i < n * dim; i++)
        if (!isfinite(v[i]))
            return sv_error(SCIVEC_EINVAL, "map: %s row %lld holds a NaN or infinity", what,
                            (long long)(i / dim));
    return SCIVEC_OK;
}

/* umap-learn's kNN of the fitted rows lists each row first at distance 0;
 * FAISS may rank an exact duplicate first or round the self distance above
 * 0 (which smooth_knn would take for rho), so put self there explicitly. */
static void self_first(int64_t n, int k, int32_t *idx, float *dist) {
    for (int64_t i = 0; i < n; i++) {
        int32_t *row = idx + i * k;
        float *d = dist + i * k;
        int at = k - 1; /* not found: self displaces the farthest */
        for (int j = 0; j < k; j++)
            if (row[j] == i) {
                at = j;
                break;
            }
        for (int j = at; j > 0; j--) {
            row[j] = row[j - 1];
            d[j] = d[j - 1];
        }
        row[0] = (int32_t)i;
        d[0] = 0;
    }
}

/* simplicial_set_embedding drops edges too light to be sampled once */
static void prune_light_edges(sv_map_graph *g, int n_epochs) {
    float w_max = 0;
    for (int64_t e = 0; e < g->n_edges; e++)
        if (g->weight[e] > w_max) w_max = g->weight[e];
    float cut = w_max / (float)n_epochs;
    int64_t kept = 0;
    for (int64_t e = 0; e < g->n_edges; e++) {
        if (g->weight[e] <= 0 || g->weight[e] < cut) continue;
        g->head[kept] = g->head[e];
        g->tail[kept] = g->tail[e];
        g->weight[kept] = g->weight[e];
        kept++;
    }
    g->n_edges = kept;
}

int scivec_map_compute(const float *vectors, int64_t n, int dim, const scivec_map_params *params,
                       float *layout, scivec_map_stats *stats) {
    scivec_map_stats local;
    if (!stats) stats = &local;
    memset(stats, 0, sizeof *stats);
    stats->trustworthiness = stats->knn_preservation = -1;
    int rc = check_params(params);
    if (rc) return rc;
    if (n < 3 || dim < 2)
        return sv_error(SCIVEC_EINVAL,
                        "map: needs at least 3 rows of dim >= 2 (got %lld of dim %d)", (long long)n,
                        dim);
    if (n > INT32_MAX) return sv_error(SCIVEC_EINVAL, "map: more than 2^31 rows");
    if ((rc = check_vectors("vector", vectors, n, dim))) return rc;

    int k = params->n_neighbors < n ? params->n_neighbors : (int)n;
    int32_t *idx = malloc((size_t)n * k * sizeof *idx);
    float *dist = malloc((size_t)n * k * sizeof *dist);
    sv_map_graph graph = {0};
    if (!idx || !dist) {
        rc = sv_error(SCIVEC_ENOMEM, "map: out of memory for the neighbours of %lld rows",
                      (long long)n);
        goto done;
    }
    double t0 = now_seconds();
    report(params, "neighbours", 0, 1);
    if ((rc = sv_map_knn(vectors, n, dim, vectors, n, k, params->knn, params->n_threads, idx, dist,
                         &stats->knn)))
        goto done;
    self_first(n, k, idx, dist);
    report(params, "neighbours", 1, 1);
    double t1 = now_seconds();

    report(params, "graph", 0, 1);
    if ((rc = sv_map_fuzzy_graph(n, k, idx, dist, &graph))) goto done;
    int n_epochs = params->n_epochs ? params->n_epochs : n <= 10000 ? 500 : 200;
    prune_light_edges(&graph, n_epochs);
    if ((rc = sv_map_find_ab(params->spread, params->min_dist, &stats->a, &stats->b))) goto done;
    if ((rc = sv_map_pca_init(vectors, n, dim, layout))) goto done;
    report(params, "graph", 1, 1);
    double t2 = now_seconds();

    sv_map_sgd sgd = {
        .a = stats->a,
        .b = stats->b,
        .gamma = params->repulsion_strength,
        .alpha = params->learning_rate,
        .n_epochs = n_epochs,
        .negative_sample_rate = params->negative_sample_rate,
        .move_other = 1,
        .progress = params->progress,
        .progress_user = params->progress_user,
    };
    seed_rng(params->seed, 0, sgd.rng_state);
    if ((rc = sv_map_optimize(layout, layout, n, &graph, &sgd))) goto done;
    double t3 = now_seconds();
    stats->n_epochs = n_epochs;
    stats->n_edges = graph.n_edges;

    if (params->quality_sample > 0) {
        report(params, "quality", 0, 1);
        if ((rc = scivec_map_quality(vectors, n, dim, layout, 10, params->quality_sample,
                                     params->seed, params->n_threads, &stats->trustworthiness,
                                     &stats->knn_preservation)))
            goto done;
        stats->quality_rows = params->quality_sample < n ? params->quality_sample : n;
        report(params, "quality", 1, 1);
    }
    stats->seconds_knn = t1 - t0;
    stats->seconds_graph = t2 - t1;
    stats->seconds_layout = t3 - t2;
    stats->seconds_quality = now_seconds() - t3;
done:
    free(idx);
    free(dist);
    sv_map_graph_free(&graph);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* transform: new rows onto a fixed layout                                   */

/* umap-learn's init_graph_transform: the membership-weighted mean of the
 * neighbours' positions, or the position of an identical old row. */
static void place_at_neighbours(int64_t n_new, int k, const int32_t *idx, const float *w,
                                const float *layout, float *out) {
    for (int64_t i = 0; i < n_new; i++) {
        double sum = 0, x = 0, y = 0;
        int exact = -1;
        for (int j = 0; j < k; j++) {
            if (idx[i * k + j] < 0) continue;
            if (w[i * k + j] == 1.0f && exact < 0) exact = j;
            sum += w[i * k + j];
        }
        for (int j = 0; j < k && exact < 0; j++) {
            int32_t t = idx[i * k + j];
            if (t < 0 || sum <= 0) continue;
            x += w[i * k + j] / sum * layout[(size_t)t * 2];
            y += w[i * k + j] / sum * layout[(size_t)t * 2 + 1];
        }
        if (exact >= 0) {
            x = layout[(size_t)idx[i * k + exact] * 2];
            y = layout[(size_t)idx[i * k + exact] * 2 + 1];
        }
        out[i * 2] = (float)x;
        out[i * 2 + 1] = (float)y;
    }
}

int scivec_map_transform(const float *vectors, int64_t n, int dim, const float *layout,
                         const float *new_vectors, int64_t n_new, const scivec_map_params *params,
                         float *layout_new) {
    int rc = check_params(params);
    if (rc) return rc;
    if (n < 1 || dim < 1 || n_new < 0 || n > INT32_MAX)
        return sv_error(SCIVEC_EINVAL, "map: bad transform shape (%lld old rows, %lld new, dim %d)",
                        (long long)n, (long long)n_new, dim);
    if (n_new == 0) return SCIVEC_OK;
    if ((rc = check_vectors("new vector", new_vectors, n_new, dim))) return rc;
    if ((rc = check_vectors("layout", layout, n, 2))) return rc;

    int k = params->n_neighbors < n ? params->n_neighbors : (int)n;
    int32_t *idx = malloc((size_t)n_new * k * sizeof *idx);
    float *dist = malloc((size_t)n_new * k * sizeof *dist);
    float *fixed = malloc((size_t)n * 2 * sizeof *fixed);
    sv_map_graph graph = {0};
    graph.head = malloc((size_t)n_new * k * sizeof *graph.head);
    graph.tail = malloc((size_t)n_new * k * sizeof *graph.tail);
    graph.weight = malloc((size_t)n_new * k * sizeof *graph.weight);
    if (!idx || !dist || !fixed || !graph.head || !graph.tail || !graph.weight) {
        rc = sv_error(SCIVEC_ENOMEM, "map: out of memory placing %lld rows", (long long)n_new);
        goto done;
    }
    report(params, "neighbours", 0, 1);
    if ((rc = sv_map_knn(vectors, n, dim, new_vectors, n_new, k, params->knn, params->n_threads,
                         idx, dist, NULL)))
        goto done;
    report(params, "neighbours", 1, 1);

    /* memberships with local_connectivity - 1 = 0 (rho 0), no self edges:
     * the new rows are not among the old ones (bipartite) */
    double mean_all = 0;
    for (int64_t i = 0; i < n_new * k; i++) mean_all += isfinite(dist[i]) ? dist[i] : 0;
    mean_all /= (double)(n_new * k);
    for (int64_t i = 0; i < n_new; i++) {
        float rho, sigma;
        sv_map_smooth_knn(dist + i * k, k, 0.0, mean_all, &rho, &sigma);
        for (int j = 0; j < k; j++) {
            double d = dist[i * k + j] - rho;
            float w = idx[i * k + j] < 0     ? 0.0f
                      : d <= 0 || sigma == 0 ? 1.0f
                                             : (float)exp(-(d / sigma));
            graph.head[graph.n_edges] = (int32_t)i;
            graph.tail[graph.n_edges] = idx[i * k + j];
            graph.weight[graph.n_edges++] = w; /* zeros go with the pruning */
        }
    }
    place_at_neighbours(n_new, k, idx, graph.weight, layout, layout_new);

    int n_epochs = params->n_epochs ? params->n_epochs / 3 : n_new <= 10000 ? 100 : 30;
    if (n_epochs < 1) n_epochs = 1;
    prune_light_edges(&graph, n_epochs);
    double a, b;
    if ((rc = sv_map_find_ab(params->spread, params->min_dist, &a, &b))) goto done;
    /* negative samples come from the old rows, which must not move: a copy */
    memcpy(fixed, layout, (size_t)n * 2 * sizeof *fixed);
    sv_map_sgd sgd = {
        .a = a,
        .b = b,
        .gamma = params->repulsion_strength,
        .alpha = params->learning_rate / 4.0,
        .n_epochs = n_epochs,
        .negative_sample_rate = params->negative_sample_rate,
        .move_other = 0,
        .progress = NULL,
    };
    seed_rng(params->seed, 1, sgd.rng_state);
    rc = sv_map_optimize(layout_new, fixed, n, &graph, &sgd);
    report(params, "place", 1, 1);
done:
    free(idx);
    free(dist);
    free(fixed);
    sv_map_graph_free(&graph);
    return rc;
}
