/*
 * map_graph.h - umap-learn's fuzzy simplicial set: smooth-knn sigma/rho,
 * membership strengths, fuzzy union (map_graph.c).
 */
#ifndef SV_MAP_GRAPH_H
#define SV_MAP_GRAPH_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A sparse graph as umap-learn's scipy COO after sum_duplicates: edges
 * sorted by (head, tail). */
typedef struct sv_map_graph {
    int64_t n_edges;
    int32_t *head, *tail;
    float *weight;
} sv_map_graph;

void sv_map_graph_free(sv_map_graph *g);

/* umap-learn's smooth_knn_dist for one row of k distances (nearest first):
 * the rho and sigma that make sum exp(-(d - rho) / sigma) = log2(k).
 * mean_all is the mean of every row's distances (the fallback scale). */
void sv_map_smooth_knn(const float *dist, int k, double local_connectivity, double mean_all,
                       float *rho, float *sigma);

/* fuzzy_simplicial_set: memberships from the kNN rows (self edges 0), then
 * the fuzzy union A + A^T - A o A^T, zeros dropped. */
int sv_map_fuzzy_graph(int64_t n, int k, const int32_t *idx, const float *dist, sv_map_graph *out);

#ifdef __cplusplus
}
#endif

#endif /* SV_MAP_GRAPH_H */
