/*
 * faiss_shim.cpp - extern "C" over the build-and-write half of FAISS's C++
 * API (see faiss_shim.h). FAISS reports errors by throwing; nothing may
 * escape into C.
 */
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <cxxabi.h>
#include <memory>
#include <new>
#include <string>
#include <typeinfo>

#include <omp.h>

#include <faiss/Index.h>
#include <faiss/IndexFlat.h>
#include <faiss/impl/FaissException.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>

extern "C" {
#include "common.h"
#include "gemm.h"
}
#include "faiss_shim.h"

/* "faiss::IndexHNSWFlat" -> "IndexHNSWFlat"; a flat index says its metric. */
static std::string index_type_name(const faiss::Index *index) {
    if (auto *flat = dynamic_cast<const faiss::IndexFlat *>(index))
        return flat->metric_type == faiss::METRIC_INNER_PRODUCT ? "IndexFlatIP" : "IndexFlatL2";
    const char *mangled = typeid(*index).name();
    int status = 0;
    char *demangled = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
    std::string name = status == 0 && demangled ? demangled : mangled;
    std::free(demangled);
    if (name.rfind("faiss::", 0) == 0) name = name.substr(7);
    return name;
}

/* FAISS messages span lines ("Error in ... at file:line: Error: ..."); keep the last part. */
static const char *faiss_reason(const char *what) {
    const char *tail = std::strstr(what, "Error: ");
    return tail ? tail + 7 : what;
}

extern "C" int sv_faiss_build_and_write(const char *factory, const float *vectors,
                                        int64_t n, int dim, int n_threads,
                                        const char *path, char *type_name, size_t type_cap) {
    if (type_name && type_cap) type_name[0] = '\0';
    if (dim <= 0 || n < 0) return sv_error(SCIVEC_EINVAL, "%s: bad index shape (%lld, %d)", path, (long long)n, dim);
    int saved_threads = omp_get_max_threads();
    if (n_threads > 0) {
        omp_set_num_threads(n_threads);
        sv_gemm_set_blas_threads(n_threads); // FAISS's sgemm_ is BLIS's (gemm.h)
    }
    int rc = SCIVEC_OK;
    const char *stage = "creating";
    try {
        std::unique_ptr<faiss::Index> index(
            faiss::index_factory(dim, factory, faiss::METRIC_INNER_PRODUCT));
        if (!index->is_trained) {
            stage = "training";
            if (n == 0) throw faiss::FaissException("no vectors to train on");
            index->train(n, vectors);
        }
        stage = "adding vectors to";
        if (n) index->add(n, vectors);
        if (index->ntotal != n) throw faiss::FaissException("index holds a different number of vectors");
        stage = "writing";
        faiss::write_index(index.get(), path);
        if (type_name && type_cap) std::snprintf(type_name, type_cap, "%s", index_type_name(index.get()).c_str());
    } catch (const std::bad_alloc &) {
        rc = sv_error(SCIVEC_ENOMEM, "%s: out of memory %s the FAISS index", path, stage);
    } catch (const faiss::FaissException &e) {
        rc = sv_error(!std::strcmp(stage, "creating") ? SCIVEC_EINVAL
                      : !std::strcmp(stage, "writing") ? SCIVEC_EIO : SCIVEC_EFORMAT,
                      "%s: %s the FAISS index '%s': %s", path, stage, factory, faiss_reason(e.what()));
    } catch (const std::exception &e) {
        rc = sv_error(SCIVEC_EIO, "%s: %s the FAISS index '%s': %s", path, stage, factory, e.what());
    } catch (...) {
        rc = sv_error(SCIVEC_EIO, "%s: %s the FAISS index '%s' failed", path, stage, factory);
    }
    if (n_threads > 0) omp_set_num_threads(saved_threads);
    return rc;
}
