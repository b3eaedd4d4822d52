/*
 * faiss_query.h - reading a FAISS index and searching it, for the query
 * commands (similar, search, info). A C view over FAISS's C++ API: Debian
 * ships no compiled FAISS C API, so this is a small extern "C" shim; every
 * C++ exception becomes a status and a message.
 *
 * (Building and writing indexes is the pipeline's faiss_shim.h; this file
 * only reads.)
 */
#ifndef SV_FAISS_QUERY_H
#define SV_FAISS_QUERY_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sv_fq_index sv_fq_index;

/* Reads an index written by faiss::write_index (faiss::read_index). */
int sv_fq_read(const char *path, sv_fq_index **out);
void sv_fq_free(sv_fq_index *index);

int64_t sv_fq_ntotal(const sv_fq_index *index);
int sv_fq_dim(const sv_fq_index *index);
/* 1 when the index ranks by inner product (METRIC_INNER_PRODUCT). */
int sv_fq_metric_is_ip(const sv_fq_index *index);
/* 1 when the index is a plain IndexFlat: exact search, and it can restrict a
 * search to a subset of ids. */
int sv_fq_is_flat(const sv_fq_index *index);
/* A flat index's stored vectors [ntotal, dim] (owned by the index), NULL
 * for other index types. */
const float *sv_fq_flat_vectors(const sv_fq_index *index);
/* 1 when the index keeps the added vectors themselves (Flat, HNSW over Flat,
 * IVFFlat), 0 for lossy codes (PQ, SQ8, ...) whose vectors are approximate. */
int sv_fq_exact_vectors(const sv_fq_index *index);
/* A short description of the index class ("IndexFlatIP", "IndexHNSWFlat", ...). */
const char *sv_fq_type_name(const sv_fq_index *index);

/* k nearest neighbours of one query vector [dim]: scores[k] and ids[k], best
 * first, as faiss::Index::search returns them (unused slots: id -1).
 * allowed (NULL = every id) is a bitmap over ids (bit i of byte i/8, lowest
 * bit first) restricting the search; only flat indexes take one
 * (SCIVEC_EUNSUPPORTED otherwise). */
int sv_fq_search(const sv_fq_index *index, const float *query, int64_t k, const uint8_t *allowed,
                 float *scores, int64_t *ids);

/* Search-time parameters of one call; 0 = the one stored in the index
 * (chosen when it was built, docs/OUTPUTS.md). nprobe applies to IVF
 * indexes (1..nlist), ef_search to HNSW (>= 1); giving one the index does
 * not have is SCIVEC_EINVAL naming the index type. */
int sv_fq_search_with(const sv_fq_index *index, const float *query, int64_t k,
                      const uint8_t *allowed, int nprobe, int ef_search, float *scores,
                      int64_t *ids);
/* Checks nprobe / ef_search (0 = not given) against the index, as above. */
int sv_fq_check_search_params(const sv_fq_index *index, int nprobe, int ef_search);

/* The stored vector of id into out[dim], exactly as it was added;
 * SCIVEC_EUNSUPPORTED when the index cannot give it back (lossy codes such as
 * PQ or SQ8, or an IVF index without a direct map). */
int sv_fq_reconstruct(const sv_fq_index *index, int64_t id, float *out);

#ifdef __cplusplus
}
#endif

#endif /* SV_FAISS_QUERY_H */
