/*
 * faiss_add.h - appending vectors to an existing FAISS index file, for
 * `scivec add`: Flat and HNSW add them, IVF assigns them to its trained
 * centroids (no retraining, so the existing lists stay as they are).
 */
#ifndef SV_FAISS_ADD_H
#define SV_FAISS_ADD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Reads in_path, checks it holds expect_ntotal vectors of dimension dim,
 * adds the n vectors [n, dim] (ids continue from ntotal) and writes the
 * result to out_path. */
int sv_faiss_add_and_write(const char *in_path, int64_t expect_ntotal, const float *vectors,
                           int64_t n, int dim, int n_threads, const char *out_path);

#ifdef __cplusplus
}
#endif

#endif /* SV_FAISS_ADD_H */
