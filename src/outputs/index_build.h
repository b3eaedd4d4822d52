/*
 * index_build.h - papers.index from embeddings.npy, for `scivec embed` and
 * `scivec reindex`: one place that checks a factory string against the
 * vectors, normalises when needed, builds with progress and writes.
 */
#ifndef SV_INDEX_BUILD_H
#define SV_INDEX_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "outputs/faiss_shim.h"

/* Refuses a factory FAISS cannot create for dim, or whose training needs
 * more vectors than n_vectors (n_vectors < 0: not known yet, only the
 * string is checked); *min_train as sv_faiss_check_factory. source names the
 * vectors in the message ("papers.csv has 5 papers to embed"). */
int sv_index_check(const char *factory, int dim, int64_t n_vectors, const char *source,
                   int64_t *min_train);

/* What was built. */
typedef struct sv_index_built {
    char type[64];          /* "IndexFlatIP", "IndexIVFFlat", ...        */
    sv_faiss_tuning search; /* nprobe / efSearch chosen (param "": none) */
} sv_index_built;

typedef struct sv_index_build_params {
    const char *factory; /* NULL: "Flat"                              */
    int n_threads;
    int normalized; /* the rows are L2-normalised already        */
    sv_faiss_progress_fn progress;
    void *user;
    const char *source; /* names the rows in a refusal; NULL: npy_path */
} sv_index_build_params;

/* Checks the factory against the n_rows rows (sv_index_check), reads
 * npy_path (must hold n_rows x dim), builds the index over the
 * L2-normalised rows (cosine by inner product) and writes it to index_path. */
int sv_index_build_from_npy(const char *npy_path, int64_t n_rows, int dim,
                            const sv_index_build_params *params, const char *index_path,
                            sv_index_built *built);

/* metadata.json's "index" member replaced with what was built: factory,
 * type, ntotal and the search parameter tuned (embed, reindex, merge, and
 * add/remove when they build the index again). */
struct cJSON;
int sv_index_record(struct cJSON *metadata, const char *factory, const sv_index_built *built,
                    int64_t ntotal);

#endif /* SV_INDEX_BUILD_H */
