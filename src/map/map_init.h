/*
 * map_init.h - the starting layout: PCA, scaled as umap-learn does (map_init.c).
 */
#ifndef SV_MAP_INIT_H
#define SV_MAP_INIT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* umap-learn's init="pca": the first two principal components, then scaled
 * into [0, 10] per axis (simplicial_set_embedding's rescale). */
int sv_map_pca_init(const float *vectors, int64_t n, int dim, float *layout);

#ifdef __cplusplus
}
#endif

#endif /* SV_MAP_INIT_H */
