/*
 * map_dir.c - scivec_map_dir: the map of an embed output directory, stored
 * beside it as map.npy (float32 [n, 2], row i = papers.db row i) and a "map"
 * member of metadata.json. Both are written under temporary names and
 * renamed into place, map.npy first: a reader that finds the "map" member
 * finds the map.npy it describes (n_rows says which).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <omp.h>

#include "core/error.h"
#include "core/files.h"
#include "outputs/npy.h"
#include "outputs/query.h"

static int write_map_npy(const char *dir, const float *layout, int64_t n) {
    char *path = sv_path_join(dir, "map.npy"), *tmp = sv_path_join(dir, "map.npy.tmp");
    int rc = SCIVEC_OK;
    if (!path || !tmp) {
        rc = sv_error(SCIVEC_ENOMEM, "map: out of memory");
        goto done;
    }
    if ((rc = sv_npy_write(tmp, layout, n, 2))) {
        unlink(tmp);
        goto done;
    }
    if (rename(tmp, path) != 0) {
        rc = sv_error(SCIVEC_EIO, "%s: renaming into place: %s", path, strerror(errno));
        unlink(tmp);
    }
done:
    free(path);
    free(tmp);
    return rc;
}

static cJSON *map_record(const scivec_map_params *p, const scivec_map_stats *s, int64_t n) {
    cJSON *m = cJSON_CreateObject(), *q, *t;
    if (!m) return NULL;
    int threads = p->n_threads > 0 ? p->n_threads : omp_get_max_threads();
    int ok = cJSON_AddStringToObject(m, "file", "map.npy") &&
             cJSON_AddStringToObject(m, "method", "umap") &&
             cJSON_AddNumberToObject(m, "n_rows", (double)n) &&
             cJSON_AddStringToObject(m, "metric", "euclidean") &&
             cJSON_AddNumberToObject(m, "n_neighbors", p->n_neighbors) &&
             cJSON_AddNumberToObject(m, "min_dist", p->min_dist) &&
             cJSON_AddNumberToObject(m, "spread", p->spread) &&
             cJSON_AddNumberToObject(m, "n_epochs", s->n_epochs) &&
             cJSON_AddNumberToObject(m, "learning_rate", p->learning_rate) &&
             cJSON_AddNumberToObject(m, "repulsion_strength", p->repulsion_strength) &&
             cJSON_AddNumberToObject(m, "negative_sample_rate", p->negative_sample_rate) &&
             cJSON_AddNumberToObject(m, "seed", (double)p->seed) &&
             cJSON_AddNumberToObject(m, "threads", threads) &&
             cJSON_AddStringToObject(m, "knn", s->knn ? s->knn : "exact") &&
             cJSON_AddStringToObject(m, "init", "pca") && cJSON_AddNumberToObject(m, "a", s->a) &&
             cJSON_AddNumberToObject(m, "b", s->b) &&
             cJSON_AddNumberToObject(m, "n_edges", (double)s->n_edges) &&
             (q = cJSON_AddObjectToObject(m, "quality")) && cJSON_AddNumberToObject(q, "k", 10) &&
             cJSON_AddNumberToObject(q, "sample", (double)s->quality_rows) &&
             (s->trustworthiness < 0
                  ? cJSON_AddNullToObject(q, "trustworthiness") != NULL
                  : cJSON_AddNumberToObject(q, "trustworthiness", s->trustworthiness) != NULL) &&
             (s->knn_preservation < 0
                  ? cJSON_AddNullToObject(q, "knn_preservation") != NULL
                  : cJSON_AddNumberToObject(q, "knn_preservation", s->knn_preservation) != NULL) &&
             (t = cJSON_AddObjectToObject(m, "seconds")) &&
             cJSON_AddNumberToObject(t, "knn", s->seconds_knn) &&
             cJSON_AddNumberToObject(t, "graph", s->seconds_graph) &&
             cJSON_AddNumberToObject(t, "layout", s->seconds_layout) &&
             cJSON_AddNumberToObject(t, "quality", s->seconds_quality);
    if (!ok) {
        cJSON_Delete(m);
        return NULL;
    }
    return m;
}

/* metadata.json with its "map" member replaced, everything else kept */
static int write_metadata(const char *dir, cJSON *metadata, cJSON *record) {
    char *path = sv_path_join(dir, "metadata.json"), *tmp = sv_path_join(dir, "metadata.json.tmp");
    char *text = NULL;
    int rc = SCIVEC_OK;
    if (!path || !tmp) {
        cJSON_Delete(record);
        rc = sv_error(SCIVEC_ENOMEM, "map: out of memory");
        goto done;
    }
    if (cJSON_GetObjectItemCaseSensitive(metadata, "map"))
        cJSON_ReplaceItemInObjectCaseSensitive(metadata, "map", record);
    else
        cJSON_AddItemToObject(metadata, "map", record);
    if (!(text = cJSON_Print(metadata))) {
        rc = sv_error(SCIVEC_ENOMEM, "map: out of memory");
        goto done;
    }
    FILE *f = fopen(tmp, "wb");
    int ok = f && fputs(text, f) != EOF && fputc('\n', f) != EOF && fflush(f) == 0 &&
             fsync(fileno(f)) == 0;
    if (f && fclose(f) != 0) ok = 0;
    if (!ok) {
        rc = sv_error(SCIVEC_EIO, "%s: writing: %s", tmp, strerror(errno));
        unlink(tmp);
    } else if (rename(tmp, path) != 0) {
        rc = sv_error(SCIVEC_EIO, "%s: renaming into place: %s", path, strerror(errno));
        unlink(tmp);
    }
done:
    free(path);
    free(tmp);
    free(text);
    return rc;
}

/* the renames reach the disk with the directory */
static void sync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    fsync(fd);
    close(fd);
}

int scivec_map_dir(const char *dir, const scivec_map_params *params, scivec_map_stats *stats) {
    scivec_map_stats local;
    if (!stats) stats = &local;
    sv_outdir *od;
    int rc = sv_outdir_open(dir, &od);
    if (rc) return rc;
    float *layout = malloc((size_t)(od->n_rows > 0 ? od->n_rows : 1) * 2 * sizeof *layout);
    if (!layout) {
        rc = sv_error(SCIVEC_ENOMEM, "map: out of memory for %lld rows", (long long)od->n_rows);
        goto done;
    }
    if ((rc =
             scivec_map_compute(od->vectors, od->n_rows, (int)od->n_cols, params, layout, stats))) {
        sv_error_prefix(rc, "%s", dir);
        goto done;
    }
    if ((rc = write_map_npy(dir, layout, od->n_rows))) goto done;
    cJSON *record = map_record(params, stats, od->n_rows);
    if (!record) {
        rc = sv_error(SCIVEC_ENOMEM, "map: out of memory");
        goto done;
    }
    rc = write_metadata(dir, od->metadata, record);
    sync_dir(dir);
done:
    free(layout);
    sv_outdir_close(od);
    return rc;
}
