/*
 * map_update.h - DIR/map.npy through add and remove (map_update.c).
 */
#ifndef SV_MAP_UPDATE_H
#define SV_MAP_UPDATE_H

#include <stddef.h>
#include <stdint.h>

struct cJSON;

/* When DIR has a map of its n_papers rows (metadata "map".n_rows): writes
 * out_path = the old layout without the rows in drop (sorted), then n_new
 * points placed for new_rows [n_new, dim] by scivec_map_transform (old points
 * unmoved); new_meta's "map" gets n_rows and "placed" updated; *updated = 1.
 * No map, or one that does not match: nothing written, *updated = 0. DIR's
 * files must not have changed yet. */
int sv_map_update(const char *dir, const struct cJSON *meta, const int64_t *drop, size_t n_drop,
                  const float *new_rows, int64_t n_new, int n_threads, const char *out_path,
                  struct cJSON *new_meta, int *updated);

#endif /* SV_MAP_UPDATE_H */
