/*
 * map_knn_ivf.cpp - approximate k nearest neighbours of every row among
 * the rows themselves, for maps of many rows (map.h: sv_map_knn_ivf).
 *
 * An inverted-file search done a cell at a time: k-means (FAISS) splits the
 * rows into about sqrt(n) cells; each cell's rows are compared, by one
 * matrix product, with every row of the SV_MAP_IVF_PROBE cells whose
 * centres lie nearest its own centre, and keep the k nearest. A search per
 * row (FAISS's IndexIVFFlat) picks its cells better but compares one row
 * at a time; here the comparisons are BLAS products over blocks of rows.
 * Where a cluster spans more cells than are probed, its rows' neighbours
 * lie partly in cells not compared: one round of NN-descent's local join
 * (refine) then finds most of them among the neighbours' neighbours. At
 * 100k clustered rows of dim 64: ~4 CPU-s against the exact search's ~45,
 * recall of the exact 15 neighbours 0.9998 (docs/MAP.md; tests/test_map.c
 * holds it at 0.9 on a harder set).
 *
 * Deterministic: k-means is seeded and trained on one thread, and every
 * cell is searched on its own, so the answer does not depend on n_threads.
 */
#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>
#include <vector>

#include <omp.h>

#include <faiss/Clustering.h>
#include <faiss/IndexFlat.h>

extern "C" {
#include "core/error.h"
#include "nn/gemm.h"
}

#include "map/map_knn_ivf.h"

/* Cells compared with each cell's rows, its own included: enough for the
 * recall above on clustered data (the table of docs/MAP.md). */
#define SV_MAP_IVF_PROBE 12
/* Rounds of refine() after the cells */
#define SV_MAP_IVF_ROUNDS 1
/* Query rows per matrix product: bounds the distance block to
 * SV_MAP_IVF_BLOCK x (probe cells' rows) floats. */
#define SV_MAP_IVF_BLOCK 256

namespace {

/* keeps the k smallest (distance, id), sorted ascending */
inline void keep_nearest(float *best_d, int32_t *best_i, int k, float d, int32_t id) {
    if (d >= best_d[k - 1]) return;
    int at = k - 1;
    while (at > 0 && best_d[at - 1] > d) {
        best_d[at] = best_d[at - 1];
        best_i[at] = best_i[at - 1];
        at--;
    }
    best_d[at] = d;
    best_i[at] = id;
}

struct cells {
    int n_cells;
    std::vector<float> centroids; /* [n_cells, dim] */
    std::vector<int64_t> start;   /* rows of cell c: members[start[c] .. start[c + 1]) */
    std::vector<int32_t> members;
};

/* k-means on one thread (seeded: the same cells for any thread count),
 * then every row to its nearest centre */
void build_cells(const float *x, int64_t n, int dim, int n_threads, cells *out) {
    int n_cells = (int)std::lround(std::sqrt((double)n));
    faiss::ClusteringParameters cp;
    cp.niter = 10;
    cp.max_points_per_centroid = 64; /* a seeded sample of 64 rows a cell trains */
    cp.seed = 1234;
    cp.verbose = false;
    faiss::Clustering km(dim, n_cells, cp);
    faiss::IndexFlatL2 assign(dim);
    omp_set_num_threads(1);
    sv_gemm_set_blas_threads(1);
    km.train(n, x, assign);

    omp_set_num_threads(n_threads);
    std::vector<float> d(n);
    std::vector<faiss::Index::idx_t> label(n);
    assign.search(n, x, 1, d.data(), label.data());

    out->n_cells = n_cells;
    out->centroids = km.centroids;
    out->start.assign(n_cells + 1, 0);
    for (int64_t i = 0; i < n; i++) out->start[label[i] + 1]++;
    for (int c = 0; c < n_cells; c++) out->start[c + 1] += out->start[c];
    std::vector<int64_t> fill(out->start.begin(), out->start.end() - 1);
    out->members.resize(n);
    for (int64_t i = 0; i < n; i++) out->members[fill[label[i]]++] = (int32_t)i;
}

/* the probe cells of every cell: its nearest centres, itself first */
std::vector<int32_t> probe_cells(const cells &c, int dim, int probe) {
    std::vector<faiss::Index::idx_t> id((size_t)c.n_cells * probe);
    std::vector<float> dist((size_t)c.n_cells * probe);
    faiss::IndexFlatL2 centres(dim);
    centres.add(c.n_cells, c.centroids.data());
    centres.search(c.n_cells, c.centroids.data(), probe, dist.data(), id.data());
    return std::vector<int32_t>(id.begin(), id.end());
}

/* the k nearest of cell c's rows among its probe cells' rows (squared
 * distances) */
void search_cell(const float *x, int dim, int k, const cells &cl, const int32_t *probes, int probe,
                 int c, const float *sq_norm, int32_t *idx, float *dist) {
    std::vector<int32_t> cand;
    for (int p = 0; p < probe; p++) {
        int32_t pc = probes[p];
        if (pc < 0) continue;
        cand.insert(cand.end(), cl.members.begin() + cl.start[pc],
                    cl.members.begin() + cl.start[pc + 1]);
    }
    int64_t n_cand = (int64_t)cand.size();
    std::vector<float> cand_x((size_t)n_cand * dim);
    for (int64_t j = 0; j < n_cand; j++)
        std::memcpy(&cand_x[(size_t)j * dim], x + (size_t)cand[j] * dim,
                    (size_t)dim * sizeof(float));
    const int32_t *rows = cl.members.data() + cl.start[c];
    int64_t n_rows = cl.start[c + 1] - cl.start[c];
    std::vector<float> q((size_t)SV_MAP_IVF_BLOCK * dim);
    std::vector<float> dot((size_t)SV_MAP_IVF_BLOCK * n_cand);
    for (int64_t r0 = 0; r0 < n_rows; r0 += SV_MAP_IVF_BLOCK) {
        int m = (int)std::min<int64_t>(SV_MAP_IVF_BLOCK, n_rows - r0);
        for (int r = 0; r < m; r++)
            std::memcpy(&q[(size_t)r * dim], x + (size_t)rows[r0 + r] * dim,
                        (size_t)dim * sizeof(float));
        sv_gemm_nt(m, (int)n_cand, dim, 1.0f, q.data(), dim, cand_x.data(), dim, dot.data(),
                   (int)n_cand);
        for (int r = 0; r < m; r++) {
            int32_t row = rows[r0 + r];
            float *best_d = dist + (size_t)row * k;
            int32_t *best_i = idx + (size_t)row * k;
            std::fill(best_d, best_d + k, INFINITY);
            std::fill(best_i, best_i + k, -1);
            const float *dr = &dot[(size_t)r * n_cand];
            for (int64_t j = 0; j < n_cand; j++) {
                /* as FAISS's exact search: ||x||^2 + ||y||^2 - 2xy */
                float d2 = sq_norm[row] + sq_norm[cand[j]] - 2.0f * dr[j];
                keep_nearest(best_d, best_i, k, d2, cand[j]);
            }
        }
    }
}

inline float l2_squared(const float *a, const float *b, int dim) {
    float s = 0;
    for (int j = 0; j < dim; j++) s += (a[j] - b[j]) * (a[j] - b[j]);
    return s;
}

/* The rows that list row j among their neighbours, up to k of them (the
 * first in row order): NN-descent's reverse neighbours. rev[j * k ..], -1
 * past the end. */
void reverse_neighbours(int64_t n, int k, const int32_t *idx, int32_t *rev) {
    std::vector<int32_t> count((size_t)n, 0);
    std::fill(rev, rev + (size_t)n * k, -1);
    for (int64_t i = 0; i < n; i++)
        for (int a = 0; a < k; a++) {
            int32_t j = idx[(size_t)i * k + a];
            if (j >= 0 && j != i && count[j] < k) rev[(size_t)j * k + count[j]++] = (int32_t)i;
        }
}

/* One round of NN-descent's local join, unsampled: a neighbour's neighbour
 * is likely a neighbour, so every row compares itself with its neighbours
 * and reverse neighbours and their neighbours (not theirs too: half the
 * time for a point less of recall), and keeps the nearest k (Euclidean,
 * nearest first). Mends what the cells miss where a cluster spans many
 * cells and its neighbours lie in cells not probed (test_map.c's 5 broad
 * clusters: recall 0.82 -> 0.93). Rows read idx_in and rev and write
 * idx_out: the same answer for any thread count. */
void refine(const float *x, int64_t n, int dim, int k, int n_threads, const int32_t *idx_in,
            const int32_t *rev, int32_t *idx_out, float *dist_out) {
    int failed = 0;
#pragma omp parallel num_threads(n_threads)
    {
        std::vector<int32_t> seen;
        try {
            seen.assign((size_t)n, -1);
        } catch (...) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 256)
        for (int64_t i = 0; i < n; i++) {
            if (seen.empty()) continue;
            const float *xi = x + (size_t)i * dim;
            float *best_d = dist_out + (size_t)i * k;
            int32_t *best_i = idx_out + (size_t)i * k;
            std::fill(best_d, best_d + k, INFINITY);
            std::fill(best_i, best_i + k, -1);
            auto consider = [&](int32_t c) {
                if (c < 0 || seen[c] == (int32_t)i) return;
                seen[c] = (int32_t)i;
                keep_nearest(best_d, best_i, k, l2_squared(xi, x + (size_t)c * dim, dim), c);
            };
            for (int a = 0; a < 2 * k; a++) {
                int32_t j = a < k ? idx_in[(size_t)i * k + a] : rev[(size_t)i * k + a - k];
                if (j < 0) continue;
                consider(j);
                for (int b = 0; b < k; b++) { consider(idx_in[(size_t)j * k + b]); }
            }
        }
    }
    if (failed) throw std::bad_alloc();
}

/* The refine() rounds on the rows renumbered cell by cell: a row's
 * neighbours and theirs then lie mostly in a few cells' rows, close in
 * memory, rather than anywhere in x (the rounds are loads of rows, and
 * scattered they missed the caches: 3x the time). */
void refine_rounds(const float *x, int64_t n, int dim, int k, int n_threads, const cells &cl,
                   int32_t *idx, float *dist) {
    const std::vector<int32_t> &row_at = cl.members; /* position -> row */
    std::vector<int32_t> at_row((size_t)n);
    for (int64_t p = 0; p < n; p++) at_row[row_at[p]] = (int32_t)p;
    std::vector<float> xs((size_t)n * dim);
    for (int64_t p = 0; p < n; p++)
        std::memcpy(&xs[(size_t)p * dim], x + (size_t)row_at[p] * dim, (size_t)dim * sizeof(float));
    std::vector<int32_t> now((size_t)n * k), before((size_t)n * k), rev((size_t)n * k);
    std::vector<float> d((size_t)n * k);
    for (int64_t p = 0; p < n; p++)
        for (int a = 0; a < k; a++) {
            int32_t j = idx[(size_t)row_at[p] * k + a];
            now[(size_t)p * k + a] = j < 0 ? -1 : at_row[j];
        }
    for (int round = 0; round < SV_MAP_IVF_ROUNDS; round++) {
        before.swap(now);
        reverse_neighbours(n, k, before.data(), rev.data());
        refine(xs.data(), n, dim, k, n_threads, before.data(), rev.data(), now.data(), d.data());
    }
    for (int64_t p = 0; p < n; p++)
        for (int a = 0; a < k; a++) {
            int32_t q = now[(size_t)p * k + a];
            idx[(size_t)row_at[p] * k + a] = q < 0 ? -1 : row_at[q];
            dist[(size_t)row_at[p] * k + a] = d[(size_t)p * k + a];
        }
}

} // namespace

extern "C" int sv_map_knn_ivf(const float *x, int64_t n, int dim, int k, int n_threads,
                              int32_t *idx, float *dist) {
    if (n <= 0 || dim <= 0 || k <= 0 || n > INT32_MAX)
        return sv_error(SCIVEC_EINVAL, "map: bad neighbour search (%lld rows, dim %d, k %d)",
                        (long long)n, dim, k);
    int saved_threads = omp_get_max_threads();
    int threads = n_threads > 0 ? n_threads : saved_threads;
    int rc = SCIVEC_OK;
    try {
        cells cl;
        build_cells(x, n, dim, threads, &cl);
        int probe = std::min(SV_MAP_IVF_PROBE, cl.n_cells);
        std::vector<int32_t> probes = probe_cells(cl, dim, probe);
        std::vector<float> sq_norm(n);
        for (int64_t i = 0; i < n; i++) {
            float s = 0;
            for (int j = 0; j < dim; j++) s += x[(size_t)i * dim + j] * x[(size_t)i * dim + j];
            sq_norm[i] = s;
        }
        sv_gemm_set_blas_threads(1); /* one product per cell, the cells over threads */
        int failed = 0;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
        for (int c = 0; c < cl.n_cells; c++) {
            try {
                search_cell(x, dim, k, cl, &probes[(size_t)c * probe], probe, c, sq_norm.data(),
                            idx, dist);
            } catch (...) {
#pragma omp atomic write
                failed = 1;
            }
        }
        if (failed) throw std::bad_alloc();
        if (SV_MAP_IVF_ROUNDS > 0) refine_rounds(x, n, dim, k, threads, cl, idx, dist);
        for (int64_t i = 0; i < n * k; i++) dist[i] = idx[i] < 0 ? INFINITY : std::sqrt(dist[i]);
    } catch (const std::bad_alloc &) {
        rc = sv_error(SCIVEC_ENOMEM, "map: out of memory searching neighbours of %lld rows",
                      (long long)n);
    } catch (const std::exception &e) {
        rc = sv_error(SCIVEC_EINVAL, "map: neighbour search failed: %s", e.what());
    } catch (...) { rc = sv_error(SCIVEC_EINVAL, "map: neighbour search failed"); }
    omp_set_num_threads(saved_threads);
    return rc;
}
