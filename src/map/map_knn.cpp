/*
 * map_knn.cpp - the k nearest neighbours a map is built from (map.h), by
 * FAISS: exact (IndexFlatL2, BLAS products) or an HNSW graph for large n.
 * umap-learn computes them exactly below 4096 rows and with NN-descent
 * above; an exact search costs n^2 dim, which is seconds up to ~50k rows
 * of a small model, and HNSW keeps larger corpora near n log n.
 */
#include <cmath>
#include <cstring>
#include <memory>
#include <new>

#include <omp.h>

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/impl/FaissException.h>

extern "C" {
#include "core/error.h"
#include "nn/gemm.h"
}

#include "map/map_knn.h"
#include "map/map_knn_ivf.h"

/* HNSW: 32 links per node and a search beam well above k keep recall of the
 * 15 nearest near 0.99 on embedding-like data (docs/MAP.md). */
#define SV_MAP_HNSW_M               32
#define SV_MAP_HNSW_EF_CONSTRUCTION 80

extern "C" int sv_map_knn(const float *base, int64_t n, int dim, const float *queries, int64_t nq,
                          int k, scivec_map_knn method, int n_threads, int32_t *idx, float *dist,
                          const char **used) {
    if (n <= 0 || dim <= 0 || k <= 0 || nq < 0)
        return sv_error(SCIVEC_EINVAL, "map: bad neighbour search (%lld rows, dim %d, k %d)",
                        (long long)n, dim, k);
    int own = queries == base && nq == n; /* a map's rows, not new rows */
    if (own && n >= SV_MAP_IVF_FLOOR_ROWS &&
        (method == SCIVEC_MAP_KNN_IVF ||
         (method == SCIVEC_MAP_KNN_AUTO && n > SV_MAP_IVF_MIN_ROWS))) {
        if (used) *used = "ivf";
        return sv_map_knn_ivf(base, n, dim, k, n_threads, idx, dist);
    }
    if (method == SCIVEC_MAP_KNN_IVF) method = SCIVEC_MAP_KNN_EXACT; /* new rows, or too few */
    int hnsw = method == SCIVEC_MAP_KNN_HNSW ||
               (method == SCIVEC_MAP_KNN_AUTO && n > SV_MAP_EXACT_MAX_ROWS);
    if (used) *used = hnsw ? "hnsw" : "exact";
    int64_t *labels = nullptr;
    int saved_threads = omp_get_max_threads();
    int threads = n_threads > 0 ? n_threads : saved_threads;
    int rc = SCIVEC_OK;
    try {
        labels = new int64_t[(size_t)nq * (size_t)k];
        std::unique_ptr<faiss::Index> index;
        if (hnsw) {
            auto *h = new faiss::IndexHNSWFlat(dim, SV_MAP_HNSW_M);
            index.reset(h);
            h->hnsw.efConstruction = SV_MAP_HNSW_EF_CONSTRUCTION;
            h->hnsw.efSearch = 2 * k + 16;
            /* One thread: FAISS's parallel insertion links nodes in the
             * order threads reach them, so the graph would vary run to run. */
            omp_set_num_threads(1);
            index->add(n, base);
        } else {
            index.reset(new faiss::IndexFlatL2(dim));
            index->add(n, base);
        }
        omp_set_num_threads(threads);
        sv_gemm_set_blas_threads(1); // FAISS's sgemm_ is BLIS's; FAISS splits queries itself
        index->search(nq, queries, k, dist, labels);
        for (int64_t i = 0; i < nq * k; i++) {
            idx[i] = labels[i] < 0 ? -1 : (int32_t)labels[i];
            /* squared L2 from ||x||^2 + ||y||^2 - 2xy can round below 0 */
            dist[i] = labels[i] < 0 ? INFINITY : std::sqrt(dist[i] > 0 ? dist[i] : 0.0f);
        }
    } catch (const std::bad_alloc &) {
        rc = sv_error(SCIVEC_ENOMEM, "map: out of memory searching neighbours of %lld rows",
                      (long long)n);
    } catch (const std::exception &e) {
        rc = sv_error(SCIVEC_EINVAL, "map: neighbour search failed: %s", e.what());
    } catch (...) { rc = sv_error(SCIVEC_EINVAL, "map: neighbour search failed"); }
    omp_set_num_threads(saved_threads);
    delete[] labels;
    return rc;
}
