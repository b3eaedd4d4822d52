/*
 * faiss_shim.cpp - extern "C" over the build-and-write half of FAISS's C++
 * API (see faiss_shim.h). FAISS reports errors by throwing; nothing may
 * escape into C.
 */
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cxxabi.h>
#include <memory>
#include <new>
#include <string>
#include <typeinfo>
#include <vector>

#include <omp.h>

#include <faiss/IVFlib.h>
#include <faiss/Index.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/IndexIVFPQFastScan.h>
#include <faiss/IndexNSG.h>
#include <faiss/IndexPQ.h>
#include <faiss/IndexPQFastScan.h>
#include <faiss/IndexPreTransform.h>
#include <faiss/IndexRefine.h>
#include <faiss/VectorTransform.h>
#include <faiss/impl/FaissException.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>
#include <faiss/utils/distances.h>

extern "C" {
#include "core/error.h"
#include "nn/gemm.h"
}
#include "outputs/faiss_shim.h"

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

/* FAISS messages read "Error in <C++ signature> at <file>:<line>: [Error: ]
 * '<condition>' failed[: <explanation>]": keep what a user can act on, the
 * explanation, else the condition FAISS requires, on one line. */
static std::string faiss_reason(const char *what) {
    std::string s = what;
    size_t at = s.find(" at ");
    size_t colon = at == std::string::npos ? std::string::npos : s.find(": ", at);
    if (s.rfind("Error in ", 0) == 0 && colon != std::string::npos) s = s.substr(colon + 2);
    if (s.rfind("Error: ", 0) == 0) s = s.substr(7);
    size_t failed = s.find("' failed");
    if (!s.empty() && s[0] == '\'' && failed != std::string::npos) {
        std::string condition = s.substr(1, failed - 1), rest = s.substr(failed + 8);
        s = rest.rfind(": ", 0) == 0 ? rest.substr(2) : "FAISS requires " + condition;
    }
    for (char &c : s)
        if (c == '\n' || c == '\r') c = ' ';
    return s;
}

/* The most centroids one k-means of the index's training must find. */
static int64_t training_need(const faiss::Index *index) {
    if (index->is_trained) return 0;
    if (auto *pre = dynamic_cast<const faiss::IndexPreTransform *>(index)) {
        int64_t need = training_need(pre->index);
        for (const faiss::VectorTransform *vt : pre->chain)
            if (dynamic_cast<const faiss::OPQMatrix *>(vt))
                need = std::max<int64_t>(need, 256); // OPQ trains an 8-bit PQ inside
            else if (auto *pca = dynamic_cast<const faiss::PCAMatrix *>(vt))
                need = std::max<int64_t>(need,
                                         (int64_t)pca->d_out + 1); // n points span n-1 dimensions
        return need > 0 ? need : 1;
    }
    int64_t need = 1;
    if (auto *ivf = dynamic_cast<const faiss::IndexIVF *>(index))
        need = std::max<int64_t>(need, (int64_t)ivf->nlist);
    if (auto *ivfpq = dynamic_cast<const faiss::IndexIVFPQ *>(index))
        need = std::max<int64_t>(need, (int64_t)ivfpq->pq.ksub);
    if (auto *fs = dynamic_cast<const faiss::IndexIVFPQFastScan *>(index))
        need = std::max<int64_t>(need, (int64_t)fs->pq.ksub);
    if (auto *pq = dynamic_cast<const faiss::IndexPQ *>(index))
        need = std::max<int64_t>(need, (int64_t)pq->pq.ksub);
    if (auto *pqfs = dynamic_cast<const faiss::IndexPQFastScan *>(index))
        need = std::max<int64_t>(need, (int64_t)pqfs->pq.ksub);
    return need;
}

extern "C" int sv_faiss_check_factory(const char *factory, int dim, int64_t *min_train) {
    *min_train = 0;
    try {
        std::unique_ptr<faiss::Index> index(
            faiss::index_factory(dim, factory, faiss::METRIC_INNER_PRODUCT));
        *min_train = training_need(index.get());
    } catch (const std::bad_alloc &) {
        return sv_error(SCIVEC_ENOMEM, "--index '%s': out of memory creating the index", factory);
    } catch (const faiss::FaissException &e) {
        return sv_error(SCIVEC_EINVAL, "--index '%s': %s (vectors of dimension %d)", factory,
                        faiss_reason(e.what()).c_str(), dim);
    } catch (const std::exception &e) {
        return sv_error(SCIVEC_EINVAL, "--index '%s': %s", factory, e.what());
    } catch (...) {
        return sv_error(SCIVEC_EINVAL, "--index '%s': FAISS cannot create it", factory);
    }
    return SCIVEC_OK;
}

extern "C" int sv_faiss_build_and_write(const char *factory, const float *vectors, int64_t n,
                                        int dim, int n_threads, const char *path, char *type_name,
                                        size_t type_cap) {
    return sv_faiss_build_and_write_progress(factory, vectors, n, dim, n_threads, path, type_name,
                                             type_cap, nullptr, nullptr, nullptr);
}

/* A flat index's codes grow by doubling as slices are added: reserved once,
 * a build holds the index's size, not up to twice it while a copy moves
 * (measured on 2.6 M x 64 rows: 885 MB of heap for a 666 MB index). */
static void reserve_codes(faiss::Index *index, int64_t n) {
    if (auto *hnsw = dynamic_cast<faiss::IndexHNSW *>(index)) index = hnsw->storage;
    if (auto *flat = dynamic_cast<faiss::IndexFlatCodes *>(index))
        flat->codes.reserve((size_t)n * flat->code_size);
}

/* index_factory turns polysemous training on for PQ codes ("PQ16",
 * "IVF1024,PQ16", "HNSW32_PQ16"; the "np" suffix turns it off): it reorders
 * each sub-quantizer's centroids so that Hamming distances between codes
 * follow the distances between centroids, for polysemous filtering
 * (polysemous_ht), which scivec's searches never turn on. It was most of an
 * IVF-PQ's training time (docs/SCALE.md: 4.7x), and the codes search the
 * same without it, so every PQ index scivec builds skips it. */
static void skip_polysemous_training(faiss::Index *index) {
    if (auto *pre = dynamic_cast<faiss::IndexPreTransform *>(index))
        return skip_polysemous_training(pre->index);
    if (auto *refine = dynamic_cast<faiss::IndexRefine *>(index))
        return skip_polysemous_training(refine->base_index);
    if (auto *hnsw = dynamic_cast<faiss::IndexHNSW *>(index))
        return skip_polysemous_training(hnsw->storage);
    if (auto *nsg = dynamic_cast<faiss::IndexNSG *>(index))
        return skip_polysemous_training(nsg->storage);
    if (auto *ivfpq = dynamic_cast<faiss::IndexIVFPQ *>(index))
        ivfpq->do_polysemous_training = false;
    if (auto *pq = dynamic_cast<faiss::IndexPQ *>(index)) pq->do_polysemous_training = false;
}

/* Recall@k of the index's answers for the sample queries against exact
 * top-k (exact_scores[i*k + k-1] is the k-th best): an answer counts when its
 * true cosine reaches the k-th exact one, so ties are not misses. */
static double recall_at(faiss::Index *index, const float *vectors, int dim, const float *queries,
                        int64_t n_queries, int64_t k, const float *exact_scores) {
    std::vector<float> scores((size_t)(n_queries * k));
    std::vector<faiss::Index::idx_t> ids((size_t)(n_queries * k));
    index->search(n_queries, queries, k, scores.data(), ids.data());
    int64_t found = 0;
    for (int64_t q = 0; q < n_queries; q++) {
        float kth = exact_scores[q * k + k - 1];
        for (int64_t j = 0; j < k; j++) {
            faiss::Index::idx_t id = ids[(size_t)(q * k + j)];
            if (id < 0) continue;
            double dot = 0;
            for (int c = 0; c < dim; c++)
                dot += (double)queries[q * dim + c] * vectors[id * dim + c];
            if (dot >= (double)kth - 1e-5) found++;
        }
    }
    return (double)found / (double)(n_queries * k);
}

/* Chooses nprobe / efSearch (faiss_shim.h, sv_faiss_tuning) and leaves it set. */
static void tune_search(faiss::Index *index, const float *vectors, int64_t n, int dim,
                        sv_faiss_tuning *t, sv_faiss_progress_fn progress, void *user) {
    std::memset(t, 0, sizeof *t);
    faiss::IndexIVF *ivf = faiss::ivflib::try_extract_index_ivf(index);
    faiss::IndexHNSW *hnsw = dynamic_cast<faiss::IndexHNSW *>(index);
    if ((!ivf && !hnsw) || n == 0) return;
    if (progress) progress("tuning", 0, n, user);
    /* Up to 200 rows spread over the folder, as queries. */
    int64_t n_queries = std::min<int64_t>(n, 200), k = std::min<int64_t>(n, 10);
    std::vector<float> queries((size_t)(n_queries * dim));
    for (int64_t q = 0; q < n_queries; q++)
        std::memcpy(&queries[(size_t)(q * dim)], vectors + (q * n / n_queries) * dim,
                    (size_t)dim * sizeof(float));
    /* Exact top-k straight from the vectors (an IndexFlatIP would copy them all). */
    std::vector<float> exact_scores((size_t)(n_queries * k));
    std::vector<int64_t> exact_ids((size_t)(n_queries * k));
    faiss::knn_inner_product(queries.data(), vectors, (size_t)dim, (size_t)n_queries, (size_t)n,
                             (size_t)k, exact_scores.data(), exact_ids.data());

    int64_t limit = ivf ? (int64_t)ivf->nlist : std::max<int64_t>(1024, k);
    int best = 0;
    double best_recall = -1;
    for (int64_t value = ivf ? 1 : 16;; value = std::min(value * 2, limit)) {
        if (ivf)
            ivf->nprobe = (size_t)value;
        else
            hnsw->hnsw.efSearch = (int)value;
        double recall =
            recall_at(index, vectors, dim, queries.data(), n_queries, k, exact_scores.data());
        if (recall > best_recall + 1e-9) {
            best = (int)value;
            best_recall = recall;
        }
        if (recall >= SV_FAISS_RECALL_TARGET || value >= limit) break;
    }
    if (ivf)
        ivf->nprobe = (size_t)best;
    else
        hnsw->hnsw.efSearch = best;
    std::snprintf(t->param, sizeof t->param, "%s", ivf ? "nprobe" : "efSearch");
    t->value = best;
    t->recall_at_10 = best_recall;
    t->n_sample = n_queries;
    t->target_met = best_recall >= SV_FAISS_RECALL_TARGET;
}

extern "C" int sv_faiss_build_and_write_progress(const char *factory, const float *vectors,
                                                 int64_t n, int dim, int n_threads,
                                                 const char *path, char *type_name, size_t type_cap,
                                                 sv_faiss_progress_fn progress, void *user,
                                                 sv_faiss_tuning *tuning) {
    if (tuning) std::memset(tuning, 0, sizeof *tuning);
    if (type_name && type_cap) type_name[0] = '\0';
    if (dim <= 0 || n < 0)
        return sv_error(SCIVEC_EINVAL, "%s: bad index shape (%lld, %d)", path, (long long)n, dim);
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
        skip_polysemous_training(index.get());
        if (!index->is_trained) {
            stage = "training";
            if (n == 0) throw faiss::FaissException("no vectors to train on");
            if (progress) progress("training", 0, n, user);
            index->train(n, vectors);
            if (progress) progress("training", n, n, user);
        }
        stage = "adding vectors to";
        reserve_codes(index.get(), n);
        /* In slices, to report progress: ids stay the row numbers. */
        const int64_t slice = 4096;
        for (int64_t done = 0; done < n;) {
            int64_t take = std::min(slice, n - done);
            index->add(take, vectors + done * (int64_t)dim);
            done += take;
            if (progress) progress("adding", done, n, user);
        }
        if (index->ntotal != n)
            throw faiss::FaissException("index holds a different number of vectors");
        stage = "tuning the search parameters of";
        if (tuning) tune_search(index.get(), vectors, n, dim, tuning, progress, user);
        stage = "writing";
        faiss::write_index(index.get(), path);
        if (type_name && type_cap)
            std::snprintf(type_name, type_cap, "%s", index_type_name(index.get()).c_str());
    } catch (const std::bad_alloc &) {
        rc = sv_error(SCIVEC_ENOMEM, "%s: out of memory %s the FAISS index", path, stage);
    } catch (const faiss::FaissException &e) {
        rc = sv_error(!std::strcmp(stage, "creating")  ? SCIVEC_EINVAL
                      : !std::strcmp(stage, "writing") ? SCIVEC_EIO
                                                       : SCIVEC_EFORMAT,
                      "%s: %s the FAISS index '%s': %s", path, stage, factory,
                      faiss_reason(e.what()).c_str());
    } catch (const std::exception &e) {
        rc =
            sv_error(SCIVEC_EIO, "%s: %s the FAISS index '%s': %s", path, stage, factory, e.what());
    } catch (...) {
        rc = sv_error(SCIVEC_EIO, "%s: %s the FAISS index '%s' failed", path, stage, factory);
    }
    if (n_threads > 0) omp_set_num_threads(saved_threads);
    return rc;
}
