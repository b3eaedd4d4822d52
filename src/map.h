/*
 * map.h - the pieces of the 2-D map (scivec_map_*, docs/MAP.md), one file
 * each, following umap-learn 0.5's umap_.py and layouts.py step by step:
 *
 *   map_knn.cpp     k nearest neighbours (FAISS)
 *   map_knn_ivf.cpp approximate k nearest neighbours of the rows themselves
 *   map_graph.c     smooth-knn sigma/rho, membership strengths, fuzzy union
 *   map_ab.c        a, b of 1 / (1 + a d^2b) from min_dist and spread
 *   map_init.c      the starting layout (PCA, scaled as umap-learn does)
 *   map_layout.c    the SGD with negative sampling (optimize_layout_euclidean)
 *   map_umap.c      scivec_map_compute / scivec_map_transform
 *   map_quality.c   trustworthiness and k-NN preservation
 *   map_dir.c       scivec_map_dir: map.npy and metadata.json
 */
#ifndef SV_MAP_H
#define SV_MAP_H

#include <stdint.h>

#include "scivec.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Above this many rows SCIVEC_MAP_KNN_AUTO finds the rows' own neighbours
 * (a map's, not new rows') by sv_map_knn_ivf: the exact search costs n^2
 * dim (0.6 CPU-s at 12k rows of dim 64, 45 at 100k) and is exact. */
#define SV_MAP_IVF_MIN_ROWS 20000
/* Fewer rows than this cannot make sqrt(n) k-means cells of FAISS's 39
 * training rows each: exact instead, even when asked for ivf. */
#define SV_MAP_IVF_FLOOR_ROWS 4096

/* New rows' neighbours among more base rows than this (transform): an HNSW graph. At
 * 100k rows of dim 64 the exact search and building + searching HNSW cost
 * the same CPU time (about 50 s on the benchmark machine), and exact is exact. */
#define SV_MAP_EXACT_MAX_ROWS 100000

/* The k nearest base rows of each query row, nearest first, by Euclidean
 * distance (not squared): idx[nq * k], dist[nq * k]; slots FAISS could not
 * fill get idx -1. The HNSW graph is built on one thread so that it, and so
 * every answer, does not depend on how threads interleave. *used names the
 * search run ("exact" | "hnsw" | "ivf"). The rows' own neighbours
 * (queries == base) go to sv_map_knn_ivf as method and n say. */
int sv_map_knn(const float *base, int64_t n, int dim, const float *queries,
               int64_t nq, int k, scivec_map_knn method, int n_threads,
               int32_t *idx, float *dist, const char **used);

/* The k nearest rows of every row of x [n, dim] among them (itself
 * included), approximately: k-means cells of about sqrt(n) rows, each
 * compared with the rows of its nearest cells by matrix products. Same
 * output as sv_map_knn (Euclidean, nearest first, -1 / inf where fewer than
 * k rows were compared). The same answer for any n_threads. */
int sv_map_knn_ivf(const float *x, int64_t n, int dim, int k, int n_threads,
                   int32_t *idx, float *dist);

/* A sparse graph as umap-learn's scipy COO after sum_duplicates: edges
 * sorted by (head, tail). */
typedef struct sv_map_graph {
    int64_t  n_edges;
    int32_t *head, *tail;
    float   *weight;
} sv_map_graph;

void sv_map_graph_free(sv_map_graph *g);

/* umap-learn's smooth_knn_dist for one row of k distances (nearest first):
 * the rho and sigma that make sum exp(-(d - rho) / sigma) = log2(k).
 * mean_all is the mean of every row's distances (the fallback scale). */
void sv_map_smooth_knn(const float *dist, int k, double local_connectivity,
                       double mean_all, float *rho, float *sigma);

/* fuzzy_simplicial_set: memberships from the kNN rows (self edges 0), then
 * the fuzzy union A + A^T - A o A^T, zeros dropped. */
int sv_map_fuzzy_graph(int64_t n, int k, const int32_t *idx, const float *dist,
                       sv_map_graph *out);

/* umap-learn's find_ab_params: least squares fit of 1 / (1 + a x^2b) to 1
 * below min_dist and exp(-(x - min_dist) / spread) above, on 300 points of
 * [0, 3 spread]. */
int sv_map_find_ab(double spread, double min_dist, double *a, double *b);

/* umap-learn's init="pca": the first two principal components, then scaled
 * into [0, 10] per axis (simplicial_set_embedding's rescale). */
int sv_map_pca_init(const float *vectors, int64_t n, int dim, float *layout);

/* make_epochs_per_sample, then optimize_layout_euclidean over the edges:
 * head rows of head_emb move; with move_other tail rows (of tail_emb, which
 * is then head_emb) move too. n_tail: rows negative samples are drawn from.
 * rng_state: umap-learn's three tau_rand_int words. */
typedef struct sv_map_sgd {
    double a, b, gamma, alpha;
    int    n_epochs, negative_sample_rate, move_other;
    int64_t rng_state[3];
    scivec_map_progress_fn progress;
    void  *progress_user;
} sv_map_sgd;

int sv_map_optimize(float *head_emb, float *tail_emb, int64_t n_tail,
                    const sv_map_graph *g, const sv_map_sgd *sgd);

/* umap-learn's tau_rand_int on a 3-word state. */
int32_t sv_map_tau_rand_int(int64_t state[3]);

/* The same generator in 32-bit words, for the SGD's inner loop: a state
 * word whose upper 32 bits are all 0 or all 1 (an int32 seed, as
 * umap-learn's) keeps them so, and those bits enter the low 32 only through
 * the arithmetic right shift, as a fill of ones. sv_map_rng_init takes such
 * a state; sv_map_rng_next then draws what sv_map_tau_rand_int would
 * (test_map.c compares them). */
typedef struct sv_map_rng {
    uint32_t word[3], fill[3];
} sv_map_rng;

static inline void sv_map_rng_init(sv_map_rng *r, const int64_t state[3]) {
    const uint32_t fill[3] = {0xFFFFE000u, 0xFFFFFF80u, 0xFFE00000u};   /* >> 19, 25, 11 */
    for (int i = 0; i < 3; i++) {
        r->word[i] = (uint32_t)state[i];
        r->fill[i] = state[i] < 0 ? fill[i] : 0;
    }
}

static inline int32_t sv_map_rng_next(sv_map_rng *r) {
    uint32_t a = r->word[0], b = r->word[1], c = r->word[2];
    a = ((a & 0xFFFFFFFEu) << 12) ^ ((((a << 13) ^ a) >> 19) | r->fill[0]);
    b = ((b & 0xFFFFFFF8u) << 4) ^ ((((b << 2) ^ b) >> 25) | r->fill[1]);
    c = ((c & 0xFFFFFFF0u) << 17) ^ ((((c << 3) ^ c) >> 11) | r->fill[2]);
    r->word[0] = a;
    r->word[1] = b;
    r->word[2] = c;
    return (int32_t)(a ^ b ^ c);
}

#ifdef __cplusplus
}
#endif

#endif /* SV_MAP_H */
