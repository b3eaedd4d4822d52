/*
 * reindex.c - scivec_reindex (scivec.h): a new papers.index from
 * embeddings.npy, swapped in by rename together with metadata.json's
 * "index" member, under the folder's one-writer lock.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/error.h"
#include "core/files.h"
#include "core/json.h"
#include "outputs/embed.h"
#include "outputs/index_build.h"
#include "outputs/outdir.h"

/* Writes root to path (fsynced), for a rename into place. */
static int write_json(const char *path, const cJSON *root) {
    char *text = cJSON_Print(root);
    if (!text) return sv_error(SCIVEC_ENOMEM, "%s: out of memory", path);
    FILE *f = fopen(path, "wb");
    int ok = f && fputs(text, f) != EOF && fputc('\n', f) != EOF && fflush(f) == 0 &&
             fsync(fileno(f)) == 0;
    if (f && fclose(f) != 0) ok = 0;
    cJSON_free(text);
    return ok ? SCIVEC_OK : sv_error(SCIVEC_EIO, "%s: write failed: %s", path, strerror(errno));
}

static int64_t json_int(const cJSON *obj, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : -1;
}

int scivec_reindex(const char *dir, const char *factory, int n_threads,
                   void (*progress)(const char *stage, int64_t done, int64_t total, void *user),
                   void *user) {
    if (!dir || !factory || !*factory)
        return sv_error(SCIVEC_EINVAL, "reindex needs a folder and an index factory string");
    char *metadata_path = sv_path_join(dir, "metadata.json"),
         *npy_path = sv_path_join(dir, "embeddings.npy");
    char *index_path = sv_path_join(dir, "papers.index"),
         *index_tmp = sv_path_join(dir, ".papers.index.reindex");
    char *metadata_tmp = sv_path_join(dir, ".metadata.json.reindex");
    cJSON *metadata = NULL;
    int lock_fd = -1, rc = SCIVEC_OK;
    if (!metadata_path || !npy_path || !index_path || !index_tmp || !metadata_tmp) {
        rc = sv_error(SCIVEC_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = sv_dir_lock(dir, "reindex", &lock_fd))) goto done;
    if ((rc = sv_json_read_object(metadata_path, &metadata))) goto done;
    int64_t n = json_int(metadata, "n_papers"), dim = json_int(metadata, "embedding_dim");
    if (!cJSON_IsObject(metadata) || n < 0 || dim <= 0 || dim > 1 << 20) {
        rc = sv_error(SCIVEC_EFORMAT,
                      "%s: not the metadata.json of a scivec embed output "
                      "(n_papers and embedding_dim needed)",
                      metadata_path);
        goto done;
    }
    char source[600];
    snprintf(source, sizeof source, "%s (papers in embeddings.npy)", dir);
    const cJSON *normalize = cJSON_GetObjectItemCaseSensitive(metadata, "normalize");
    sv_index_build_params bp = {
        .factory = factory,
        .n_threads = n_threads,
        .normalized = cJSON_IsTrue(normalize),
        .progress = progress,
        .user = user,
        .source = source,
    };
    sv_index_built built;
    if ((rc = sv_index_build_from_npy(npy_path, n, (int)dim, &bp, index_tmp, &built))) goto done;
    if ((rc = sv_index_record(metadata, factory, &built, n))) goto done;
    if ((rc = write_json(metadata_tmp, metadata))) goto done;
    /* The index first: metadata.json, renamed last, describes it once both are in. */
    if (rename(index_tmp, index_path) != 0 || rename(metadata_tmp, metadata_path) != 0) {
        rc = sv_error(SCIVEC_EIO, "%s: swapping in the new index: %s", dir, strerror(errno));
        goto done;
    }
done:
    if (rc && index_tmp) unlink(index_tmp);
    if (rc && metadata_tmp) unlink(metadata_tmp);
    if (lock_fd >= 0) close(lock_fd);
    cJSON_Delete(metadata);
    free(metadata_path);
    free(npy_path);
    free(index_path);
    free(index_tmp);
    free(metadata_tmp);
    return rc;
}
