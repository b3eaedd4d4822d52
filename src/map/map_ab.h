/*
 * map_ab.h - a, b of 1 / (1 + a d^2b) from min_dist and spread (map_ab.c).
 */
#ifndef SV_MAP_AB_H
#define SV_MAP_AB_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* umap-learn's find_ab_params: least squares fit of 1 / (1 + a x^2b) to 1
 * below min_dist and exp(-(x - min_dist) / spread) above, on 300 points of
 * [0, 3 spread]. */
int sv_map_find_ab(double spread, double min_dist, double *a, double *b);

#ifdef __cplusplus
}
#endif

#endif /* SV_MAP_AB_H */
