/*
 * index_build.c - papers.index from embeddings.npy (index_build.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/error.h"
#include "core/l2norm.h"
#include "outputs/index_build.h"
#include "outputs/metadata.h"
#include "outputs/npy.h"

int sv_index_check(const char *factory, int dim, int64_t n_vectors, const char *source,
                   int64_t *min_train) {
    int rc = sv_faiss_check_factory(factory, dim, min_train);
    if (rc || n_vectors < 0 || n_vectors >= *min_train) return rc;
    return sv_error(SCIVEC_EINVAL,
                    "--index '%s': training it needs at least %lld vectors (what it "
                    "learns: IVF lists, PQ codes, PCA dimensions) but %s has %lld; choose fewer "
                    "lists or bits, or Flat or HNSW32, which need no training",
                    factory, (long long)*min_train, source, (long long)n_vectors);
}

int sv_index_build_from_npy(const char *npy_path, int64_t n_rows, int dim,
                            const sv_index_build_params *params, const char *index_path,
                            sv_index_built *built) {
    memset(built, 0, sizeof *built);
    const char *factory = params->factory ? params->factory : "Flat";
    int64_t min_train;
    int rc = sv_index_check(factory, dim, n_rows, params->source ? params->source : npy_path,
                            &min_train);
    if (rc) return rc;
    /* Mapped, not read: the index is the build's one copy of the vectors. */
    sv_npy_map npy;
    rc = sv_npy_map_open(npy_path, &npy);
    if (rc) return rc;
    if (npy.n_rows != n_rows || npy.n_cols != dim)
        rc = sv_error(SCIVEC_EFORMAT, "%s: holds (%lld, %lld), expected (%lld, %d)", npy_path,
                      (long long)npy.n_rows, (long long)npy.n_cols, (long long)n_rows, dim);
    /* The index always ranks by cosine: normalised rows stay as they are
     * (renormalising would change their last bits), raw ones get normalised,
     * in a copy. */
    float *normalized = NULL;
    size_t n_values = (size_t)n_rows * (size_t)dim;
    if (!rc && !params->normalized) {
        if (!(normalized = malloc((n_values ? n_values : 1) * sizeof *normalized)))
            rc = sv_error(SCIVEC_ENOMEM, "%s: out of memory", npy_path);
        else {
            memcpy(normalized, npy.rows, n_values * sizeof *normalized);
            for (int64_t i = 0; i < n_rows; i++) sv_l2_normalize(normalized + i * dim, dim);
        }
    }
    if (!rc)
        rc = sv_faiss_build_and_write_progress(
            factory, normalized ? normalized : npy.rows, n_rows, dim, params->n_threads, index_path,
            built->type, sizeof built->type, params->progress, params->user, &built->search);
    free(normalized);
    sv_npy_map_close(&npy);
    return rc;
}

int sv_index_record(cJSON *metadata, const char *factory, const sv_index_built *built,
                    int64_t ntotal) {
    cJSON *index = cJSON_CreateObject();
    if (!index) return sv_error(SCIVEC_ENOMEM, "out of memory");
    cJSON_AddStringToObject(index, "factory", factory);
    cJSON_AddStringToObject(index, "type", built->type);
    cJSON_AddStringToObject(index, "metric", "inner_product");
    cJSON_AddBoolToObject(index, "normalized", 1);
    cJSON_AddNumberToObject(index, "ntotal", (double)ntotal);
    sv_metadata_add_index_search(index, built->search.param, built->search.value,
                                 built->search.recall_at_10, built->search.n_sample);
    if (cJSON_GetObjectItemCaseSensitive(metadata, "index"))
        cJSON_ReplaceItemInObjectCaseSensitive(metadata, "index", index);
    else
        cJSON_AddItemToObject(metadata, "index", index);
    return SCIVEC_OK;
}
