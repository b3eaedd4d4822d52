/*
 * faiss_add.cpp - sv_faiss_add_and_write: read an index, add, write it
 * aside. Every C++ exception becomes a status and a message.
 */
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>

#include <omp.h>

#include <faiss/Index.h>
#include <faiss/impl/FaissException.h>
#include <faiss/index_io.h>

extern "C" {
#include "core/error.h"
}
#include "outputs/faiss_add.h"

extern "C" int sv_faiss_add_and_write(const char *in_path, int64_t expect_ntotal,
                                      const float *vectors, int64_t n, int dim, int n_threads,
                                      const char *out_path) {
    int saved_threads = omp_get_max_threads();
    if (n_threads > 0) omp_set_num_threads(n_threads);
    int rc = SCIVEC_OK;
    const char *stage = "reading";
    try {
        std::unique_ptr<faiss::Index> index(faiss::read_index(in_path));
        if (index->d != dim || index->ntotal != expect_ntotal) {
            rc = sv_error(SCIVEC_EFORMAT,
                          "%s holds %lld vectors of dimension %d, expected %lld of %d", in_path,
                          (long long)index->ntotal, (int)index->d, (long long)expect_ntotal, dim);
        } else {
            stage = "adding vectors to";
            if (n) index->add(n, vectors);
            stage = "writing";
            faiss::write_index(index.get(), out_path);
        }
    } catch (const std::bad_alloc &) {
        rc = sv_error(SCIVEC_ENOMEM, "%s: out of memory %s the FAISS index", in_path, stage);
    } catch (const std::exception &e) {
        rc = sv_error(SCIVEC_EIO, "%s: %s the FAISS index: %s", in_path, stage, e.what());
    } catch (...) { rc = sv_error(SCIVEC_EIO, "%s: %s the FAISS index failed", in_path, stage); }
    if (n_threads > 0) omp_set_num_threads(saved_threads);
    return rc;
}
