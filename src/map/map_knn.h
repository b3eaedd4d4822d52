/*
 * map_knn.h - k nearest neighbours by FAISS, exact or HNSW (map_knn.cpp); the
 * steps of the map are listed in map_umap.c.
 */
#ifndef SV_MAP_KNN_H
#define SV_MAP_KNN_H

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
int sv_map_knn(const float *base, int64_t n, int dim, const float *queries, int64_t nq, int k,
               scivec_map_knn method, int n_threads, int32_t *idx, float *dist, const char **used);

#ifdef __cplusplus
}
#endif

#endif /* SV_MAP_KNN_H */
