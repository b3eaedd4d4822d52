/*
 * map_update.c - a folder's map (map.npy of `scivec map`, docs/MAP.md) kept
 * through `scivec add` and `scivec remove`: the old points stay where they
 * are, new papers are placed among them by scivec_map_transform (umap-learn's
 * transform, with the parameters the map was made with), removed papers'
 * rows are dropped. A map that no longer matches the folder (n_rows differs)
 * is left alone: `scivec map` makes a new one.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/error.h"
#include "core/files.h"
#include "outputs/map_update.h"
#include "outputs/npy.h"
#include "outputs/outdir.h"
#include "outputs/query.h"

static double number(const cJSON *obj, const char *key, double fallback) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(v) ? v->valuedouble : fallback;
}

/* The parameters the map was made with (metadata.json "map"); the
 * transform's epochs are its own default (n_epochs 0). */
static scivec_map_params params_of(const cJSON *record, int n_threads) {
    scivec_map_params p = scivec_map_default_params();
    p.n_neighbors = (int)number(record, "n_neighbors", p.n_neighbors);
    p.min_dist = (float)number(record, "min_dist", p.min_dist);
    p.spread = (float)number(record, "spread", p.spread);
    p.learning_rate = (float)number(record, "learning_rate", p.learning_rate);
    p.repulsion_strength = (float)number(record, "repulsion_strength", p.repulsion_strength);
    p.negative_sample_rate = (int)number(record, "negative_sample_rate", p.negative_sample_rate);
    p.seed = (uint64_t)number(record, "seed", (double)p.seed);
    p.n_epochs = 0;
    p.n_threads = n_threads;
    p.quality_sample = 0;
    return p;
}

int sv_map_update(const char *dir, const cJSON *meta, const int64_t *drop, size_t n_drop,
                  const float *new_rows, int64_t n_new, int n_threads, const char *out_path,
                  cJSON *new_meta, int *updated) {
    *updated = 0;
    const cJSON *record = cJSON_GetObjectItemCaseSensitive(meta, "map");
    int64_t old_n = (int64_t)number(meta, "n_papers", -1);
    char *map_path = sv_path_join(dir, "map.npy");
    if (!map_path) return sv_error(SCIVEC_ENOMEM, "out of memory");
    if (!cJSON_IsObject(record) || (int64_t)number(record, "n_rows", -1) != old_n ||
        !sv_file_exists(map_path)) {
        free(map_path);
        return SCIVEC_OK;
    }
    float *layout = NULL, *placed = NULL, *out = NULL;
    int64_t rows = 0, cols = 0;
    sv_outdir *od = NULL;
    int rc = sv_npy_read(map_path, &layout, &rows, &cols);
    if (!rc && (rows != old_n || cols != 2))
        rc = sv_error(SCIVEC_EFORMAT, "%s holds (%lld, %lld), expected (%lld, 2)", map_path,
                      (long long)rows, (long long)cols, (long long)old_n);
    /* the old vectors, memory-mapped (the folder is not changed yet) */
    if (!rc && n_new > 0) rc = sv_outdir_open(dir, &od);
    if (!rc && n_new > 0 && !(placed = malloc((size_t)n_new * 2 * sizeof *placed)))
        rc = sv_error(SCIVEC_ENOMEM, "out of memory");
    if (!rc && n_new > 0) {
        scivec_map_params p = params_of(record, n_threads);
        rc = scivec_map_transform(od->vectors, od->n_rows, (int)od->n_cols, layout, new_rows, n_new,
                                  &p, placed);
        if (rc) sv_error_prefix(rc, "%s: placing the new papers on its map", dir);
    }
    int64_t n = old_n - (int64_t)n_drop + n_new, kept = 0;
    if (!rc && !(out = malloc((size_t)(n > 0 ? n : 1) * 2 * sizeof *out)))
        rc = sv_error(SCIVEC_ENOMEM, "out of memory");
    size_t next_drop = 0;
    for (int64_t i = 0; !rc && i < old_n; i++) {
        if (next_drop < n_drop && drop[next_drop] == i) {
            next_drop++;
            continue;
        }
        out[2 * kept] = layout[2 * i];
        out[2 * kept + 1] = layout[2 * i + 1];
        kept++;
    }
    if (!rc && n_new > 0) memcpy(out + 2 * kept, placed, (size_t)n_new * 2 * sizeof *out);
    if (!rc) rc = sv_npy_write(out_path, out, n, 2);
    cJSON *m = cJSON_GetObjectItemCaseSensitive(new_meta, "map");
    if (!rc && cJSON_IsObject(m)) {
        /* n_rows says which map.npy the record describes; placed counts the
         * papers laid out by transform rather than by the map's own run */
        cJSON_ReplaceItemInObjectCaseSensitive(m, "n_rows", cJSON_CreateNumber((double)n));
        double before = number(m, "placed", 0);
        cJSON_DeleteItemFromObjectCaseSensitive(m, "placed");
        cJSON_AddNumberToObject(m, "placed", before + (double)n_new);
        *updated = 1;
    }
    sv_outdir_close(od);
    free(layout);
    free(placed);
    free(out);
    free(map_path);
    return rc;
}
