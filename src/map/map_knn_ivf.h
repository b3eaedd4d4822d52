/*
 * map_knn_ivf.h - approximate k nearest neighbours of the rows themselves: k-means
 * cells and a local join (map_knn_ivf.cpp).
 */
#ifndef SV_MAP_KNN_IVF_H
#define SV_MAP_KNN_IVF_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The k nearest rows of every row of x [n, dim] among them (itself
 * included), approximately: k-means cells of about sqrt(n) rows, each
 * compared with the rows of its nearest cells by matrix products. Same
 * output as sv_map_knn (Euclidean, nearest first, -1 / inf where fewer than
 * k rows were compared). The same answer for any n_threads. */
int sv_map_knn_ivf(const float *x, int64_t n, int dim, int k, int n_threads, int32_t *idx,
                   float *dist);

#ifdef __cplusplus
}
#endif

#endif /* SV_MAP_KNN_IVF_H */
