/*
 * faiss_shim.h - building and writing a FAISS index from C, for `scivec
 * embed`. A small extern "C" layer over FAISS's C++ API (Debian ships no
 * compiled FAISS C API): every C++ exception becomes a status and a message.
 * (Reading and searching an index is faiss_query.h.)
 */
#ifndef SV_FAISS_SHIM_H
#define SV_FAISS_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Builds faiss::index_factory(dim, factory, METRIC_INNER_PRODUCT) ("Flat" =
 * exact IndexFlatIP), trains it on the vectors when it needs training, adds
 * the n vectors [n, dim] in order (ids = row numbers) and writes it with
 * faiss::write_index to path. type_name receives the index class
 * ("IndexFlatIP", "IndexHNSWFlat", ...). n_threads > 0 caps FAISS's OpenMP
 * threads. PQ codes skip polysemous training, "np" suffix or not. */
int sv_faiss_build_and_write(const char *factory, const float *vectors, int64_t n, int dim,
                             int n_threads, const char *path, char *type_name, size_t type_cap);

/* Progress of a build: stage is "training" (done 0 of total, then total of
 * total once trained: FAISS's training cannot report steps) or "adding"
 * (rows added so far). */
typedef void (*sv_faiss_progress_fn)(const char *stage, int64_t done, int64_t total, void *user);

/* The search parameter chosen at build time for an approximate index: the
 * smallest nprobe (IVF) or efSearch (HNSW) whose recall@10 against exact
 * search reaches SV_FAISS_RECALL_TARGET on a sample of the vectors used as
 * queries (the best one when none does). It is set in the written index, so
 * faiss.read_index gets it too. param "" = nothing to choose (Flat, ...). */
#define SV_FAISS_RECALL_TARGET 0.95
typedef struct sv_faiss_tuning {
    char param[16]; /* "nprobe", "efSearch" or ""                */
    int value;
    double recall_at_10; /* measured with value                       */
    int64_t n_sample;    /* queries it was measured on                */
    int target_met;
} sv_faiss_tuning;

/* sv_faiss_build_and_write with progress (NULL = none) and tuning (NULL =
 * FAISS's defaults are kept). */
int sv_faiss_build_and_write_progress(const char *factory, const float *vectors, int64_t n, int dim,
                                      int n_threads, const char *path, char *type_name,
                                      size_t type_cap, sv_faiss_progress_fn progress, void *user,
                                      sv_faiss_tuning *tuning);

/* Checks a factory string before any vector exists: builds the empty index
 * for dim (a typo, an unsupported string, PQ m not dividing dim are refused
 * here, SCIVEC_EINVAL "--index 'F': reason") and sets *min_train to the
 * vectors its training needs (0: no training; else the most centroids one
 * k-means must find: IVF lists, 2^nbits PQ codes). */
int sv_faiss_check_factory(const char *factory, int dim, int64_t *min_train);

#ifdef __cplusplus
}
#endif

#endif /* SV_FAISS_SHIM_H */
