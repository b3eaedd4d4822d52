/*
 * faiss_query.cpp - extern "C" over the read-and-search half of FAISS's C++
 * API (see faiss_query.h). FAISS reports errors by throwing; nothing may
 * escape into C, so every entry point catches and turns what it caught into
 * a status with a message.
 */
#include <cstdio>
#include <cstring>
#include <cxxabi.h>
#include <new>
#include <typeinfo>

#include <faiss/IVFlib.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/IndexPQ.h>
#include <faiss/IndexPreTransform.h>
#include <faiss/IndexScalarQuantizer.h>
#include <faiss/VectorTransform.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/index_io.h>
#include <faiss/invlists/InvertedLists.h>

extern "C" {
#include "core/error.h"
#include "core/files.h"
}
#include "outputs/faiss_query.h"

struct sv_fq_index {
    faiss::Index *index;
    char *path;
    char *type_name; /* the index class, e.g. "IndexFlatIP" (NULL if unknown) */
};

/* ------------------------------------------------------------------------ */
/* Validation                                                                */

/* faiss::read_index checks the file's framing but not what the structures
 * say: a corrupted HNSW graph names neighbours that do not exist, a code
 * array can be shorter than ntotal codes, and searching such an index reads
 * out of bounds. So every index is checked here before it is used, and index
 * types this file does not know how to check are refused. Each check writes
 * what is wrong into why and returns false. */

static bool fail(char *why, size_t cap, const char *fmt, long long a = 0, long long b = 0) {
    snprintf(why, cap, fmt, a, b);
    return false;
}

static bool valid_pq(const faiss::ProductQuantizer &pq, int d, char *why, size_t cap) {
    if (pq.d != (size_t)d || pq.M == 0 || pq.d % pq.M != 0 || pq.dsub != pq.d / pq.M ||
        pq.nbits == 0 || pq.nbits > 16 || pq.ksub != ((size_t)1 << pq.nbits) ||
        pq.code_size != (pq.nbits * pq.M + 7) / 8)
        return fail(why, cap, "product quantizer shape is inconsistent (M %lld, nbits %lld)",
                    (long long)pq.M, (long long)pq.nbits);
    if (pq.centroids.size() != pq.d * pq.ksub)
        return fail(why, cap, "product quantizer has %lld centroid values, expected %lld",
                    (long long)pq.centroids.size(), (long long)(pq.d * pq.ksub));
    return true;
}

static bool valid_sq(const faiss::ScalarQuantizer &sq, int d, char *why, size_t cap) {
    using SQ = faiss::ScalarQuantizer;
    size_t want_trained, want_code;
    switch (sq.qtype) {
        case SQ::QT_8bit:
            want_trained = 2 * (size_t)d;
            want_code = d;
            break;
        case SQ::QT_4bit:
            want_trained = 2 * (size_t)d;
            want_code = (d + 1) / 2;
            break;
        case SQ::QT_6bit:
            want_trained = 2 * (size_t)d;
            want_code = (d * 6 + 7) / 8;
            break;
        case SQ::QT_8bit_uniform:
            want_trained = 2;
            want_code = d;
            break;
        case SQ::QT_4bit_uniform:
            want_trained = 2;
            want_code = (d + 1) / 2;
            break;
        case SQ::QT_fp16:
            want_trained = 0;
            want_code = 2 * (size_t)d;
            break;
        case SQ::QT_8bit_direct:
            want_trained = 0;
            want_code = d;
            break;
        default:
            return fail(why, cap, "scalar quantizer type %lld is unknown", (long long)sq.qtype);
    }
    if (sq.d != (size_t)d || sq.code_size != want_code || sq.trained.size() < want_trained)
        return fail(why, cap,
                    "scalar quantizer shape is inconsistent (code size %lld, %lld trained values)",
                    (long long)sq.code_size, (long long)sq.trained.size());
    return true;
}

static bool valid_index(const faiss::Index *ix, char *why, size_t cap);

/* Every code of a flat-codes index is there: codes = ntotal * code_size. */
static bool valid_flat_codes(const faiss::IndexFlatCodes *fc, char *why, size_t cap) {
    if (const faiss::IndexFlat *flat = dynamic_cast<const faiss::IndexFlat *>(fc)) {
        if (flat->code_size != sizeof(float) * (size_t)flat->d)
            return fail(why, cap, "flat index code size %lld for dimension %lld",
                        (long long)flat->code_size, (long long)flat->d);
    } else if (const faiss::IndexPQ *pq = dynamic_cast<const faiss::IndexPQ *>(fc)) {
        if (!valid_pq(pq->pq, pq->d, why, cap)) return false;
        if (pq->code_size != pq->pq.code_size)
            return fail(why, cap, "PQ index code size %lld, its quantizer's %lld",
                        (long long)pq->code_size, (long long)pq->pq.code_size);
    } else if (const faiss::IndexScalarQuantizer *sq =
                   dynamic_cast<const faiss::IndexScalarQuantizer *>(fc)) {
        if (!valid_sq(sq->sq, sq->d, why, cap)) return false;
        if (sq->code_size != sq->sq.code_size)
            return fail(why, cap, "SQ index code size %lld, its quantizer's %lld",
                        (long long)sq->code_size, (long long)sq->sq.code_size);
    } else {
        return fail(why, cap, "unsupported flat-codes index type");
    }
    if (fc->code_size == 0 || fc->codes.size() != (size_t)fc->ntotal * fc->code_size)
        return fail(why, cap, "holds %lld bytes of codes for %lld vectors",
                    (long long)fc->codes.size(), (long long)fc->ntotal);
    return true;
}

/* The graph only links existing nodes, at levels they are on. */
static bool valid_hnsw(const faiss::IndexHNSW *ix, char *why, size_t cap) {
    const faiss::HNSW &g = ix->hnsw;
    size_t n = (size_t)ix->ntotal;
    if (!ix->storage || ix->storage->ntotal != ix->ntotal || ix->storage->d != ix->d)
        return fail(why, cap, "HNSW storage does not hold the index's %lld vectors", ix->ntotal);
    if (!valid_index(ix->storage, why, cap)) return false;
    const std::vector<int> &cum = g.cum_nneighbor_per_level;
    if (cum.empty() || cum[0] != 0) return fail(why, cap, "HNSW level table is malformed");
    for (size_t l = 1; l < cum.size(); l++)
        if (cum[l] < cum[l - 1]) return fail(why, cap, "HNSW level table is not increasing");
    if (g.levels.size() != n || g.offsets.size() != n + 1 || g.offsets[0] != 0)
        return fail(why, cap, "HNSW graph has %lld levels and %lld offsets for %lld vectors",
                    (long long)g.levels.size(), (long long)g.offsets.size());
    for (size_t i = 0; i < n; i++) {
        int level = g.levels[i];
        if (level < 1 || (size_t)level >= cum.size())
            return fail(why, cap, "HNSW node %lld has level %lld", (long long)i, level);
        if (g.offsets[i + 1] < g.offsets[i] ||
            g.offsets[i + 1] - g.offsets[i] != (size_t)cum[level])
            return fail(why, cap, "HNSW node %lld has a neighbour list of the wrong size",
                        (long long)i);
    }
    if (g.offsets[n] != g.neighbors.size())
        return fail(why, cap, "HNSW graph has %lld neighbour slots, its offsets say %lld",
                    (long long)g.neighbors.size(), (long long)g.offsets[n]);
    for (size_t i = 0; i < n; i++)
        for (int level = 0; level < g.levels[i]; level++)
            for (size_t j = g.offsets[i] + cum[level]; j < g.offsets[i] + cum[level + 1]; j++) {
                int nb = g.neighbors[j];
                if (nb < -1 || nb >= (int)n || (nb >= 0 && g.levels[nb] <= level))
                    return fail(why, cap,
                                "HNSW node %lld links to node %lld, which is not on its level",
                                (long long)i, nb);
            }
    if (n > 0 && (g.entry_point < 0 || (size_t)g.entry_point >= n ||
                  g.max_level != g.levels[g.entry_point] - 1))
        return fail(why, cap, "HNSW entry point %lld (max level %lld) is not a node of the graph",
                    g.entry_point, g.max_level);
    if (g.efSearch <= 0 || g.efSearch > (1 << 20))
        return fail(why, cap, "HNSW efSearch %lld", g.efSearch);
    return true;
}

/* The coarse quantizer has one centroid per list; every list's codes and ids
 * agree, ids are rows, and the lists hold ntotal vectors together. */
static bool valid_ivf(const faiss::IndexIVF *ix, char *why, size_t cap) {
    if (!ix->quantizer || ix->quantizer->d != ix->d ||
        ix->quantizer->ntotal != (faiss::Index::idx_t)ix->nlist)
        return fail(why, cap, "IVF coarse quantizer does not hold its %lld centroids",
                    (long long)ix->nlist);
    if (!valid_index(ix->quantizer, why, cap)) return false;
    if (const faiss::IndexIVFFlat *flat = dynamic_cast<const faiss::IndexIVFFlat *>(ix)) {
        if (flat->code_size != sizeof(float) * (size_t)ix->d)
            return fail(why, cap, "IVFFlat code size %lld for dimension %lld",
                        (long long)flat->code_size, (long long)ix->d);
    } else if (const faiss::IndexIVFPQ *pq = dynamic_cast<const faiss::IndexIVFPQ *>(ix)) {
        if (!valid_pq(pq->pq, ix->d, why, cap)) return false;
        if (pq->code_size != pq->pq.code_size) return fail(why, cap, "IVFPQ code size mismatch");
    } else if (const faiss::IndexIVFScalarQuantizer *sq =
                   dynamic_cast<const faiss::IndexIVFScalarQuantizer *>(ix)) {
        if (!valid_sq(sq->sq, ix->d, why, cap)) return false;
        if (sq->code_size != sq->sq.code_size) return fail(why, cap, "IVFSQ code size mismatch");
    } else {
        return fail(why, cap, "unsupported IVF index type");
    }
    const faiss::ArrayInvertedLists *lists =
        dynamic_cast<const faiss::ArrayInvertedLists *>(ix->invlists);
    if (!lists || lists->nlist != ix->nlist || lists->code_size != ix->code_size ||
        lists->codes.size() != ix->nlist || lists->ids.size() != ix->nlist)
        return fail(why, cap, "IVF inverted lists do not match its %lld lists",
                    (long long)ix->nlist);
    size_t total = 0;
    for (size_t l = 0; l < ix->nlist; l++) {
        if (lists->codes[l].size() != lists->ids[l].size() * ix->code_size)
            return fail(why, cap, "IVF list %lld has codes for a different number of ids",
                        (long long)l);
        for (faiss::Index::idx_t id : lists->ids[l])
            if (id < 0 || id >= ix->ntotal)
                return fail(why, cap, "IVF list %lld holds id %lld, not a row", (long long)l,
                            (long long)id);
        total += lists->ids[l].size();
    }
    if (total != (size_t)ix->ntotal)
        return fail(why, cap, "IVF lists hold %lld vectors, the index says %lld", (long long)total,
                    (long long)ix->ntotal);
    return true;
}

/* A chain of linear transforms (PCA, OPQ, random rotation) whose matrix
 * sizes match their dimensions, feeding a valid index of the last one. */
static bool valid_pretransform(const faiss::IndexPreTransform *ix, char *why, size_t cap) {
    int d = ix->d;
    for (const faiss::VectorTransform *vt : ix->chain) {
        const faiss::LinearTransform *lt = dynamic_cast<const faiss::LinearTransform *>(vt);
        if (!lt) return fail(why, cap, "pre-transform of a type scivec cannot check");
        if (lt->d_in != d || lt->d_out <= 0 || !lt->is_trained ||
            lt->A.size() != (size_t)lt->d_in * lt->d_out ||
            (lt->have_bias ? lt->b.size() != (size_t)lt->d_out : false))
            return fail(why, cap, "pre-transform %lld -> %lld has matrices of the wrong size",
                        lt->d_in, lt->d_out);
        d = lt->d_out;
    }
    if (!ix->index || ix->index->d != d || ix->index->ntotal != ix->ntotal)
        return fail(why, cap, "pre-transform output (dimension %lld) does not fit its index", d);
    return valid_index(ix->index, why, cap);
}

static bool valid_index(const faiss::Index *ix, char *why, size_t cap) {
    if (ix->d <= 0 || ix->ntotal < 0)
        return fail(why, cap, "dimension %lld and %lld vectors", ix->d, (long long)ix->ntotal);
    if (ix->metric_type != faiss::METRIC_INNER_PRODUCT && ix->metric_type != faiss::METRIC_L2)
        return fail(why, cap, "metric %lld is not inner product or L2", (long long)ix->metric_type);
    if (const faiss::IndexFlatCodes *fc = dynamic_cast<const faiss::IndexFlatCodes *>(ix))
        return valid_flat_codes(fc, why, cap);
    if (const faiss::IndexHNSW *hnsw = dynamic_cast<const faiss::IndexHNSW *>(ix))
        return valid_hnsw(hnsw, why, cap);
    if (const faiss::IndexIVF *ivf = dynamic_cast<const faiss::IndexIVF *>(ix))
        return valid_ivf(ivf, why, cap);
    if (const faiss::IndexPreTransform *pt = dynamic_cast<const faiss::IndexPreTransform *>(ix))
        return valid_pretransform(pt, why, cap);
    return fail(why, cap,
                "this index type cannot be checked, so it is not used (scivec "
                "reads Flat, PQ, SQ, HNSW and IVF indexes, with PCA/OPQ/rotation pre-transforms)");
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                   */

int sv_fq_read(const char *path, sv_fq_index **out) {
    *out = nullptr;
    if (!sv_file_exists(path)) return sv_error(SCIVEC_ENOTFOUND, "%s: no such file", path);
    sv_fq_index *fq = (sv_fq_index *)calloc(1, sizeof *fq);
    if (!fq || !(fq->path = strdup(path))) {
        free(fq);
        return sv_error(SCIVEC_ENOMEM, "%s: out of memory", path);
    }
    try {
        fq->index = faiss::read_index(path);
    } catch (const std::bad_alloc &) {
        sv_fq_free(fq);
        return sv_error(SCIVEC_ENOMEM, "%s: out of memory reading the FAISS index", path);
    } catch (const faiss::FaissException &e) {
        sv_fq_free(fq);
        /* FAISS messages span lines ("Error in ... at file:line: Error: ..."); keep the last part. */
        const char *msg = e.what();
        const char *tail = strstr(msg, "Error: ");
        return sv_error(SCIVEC_EFORMAT, "%s: not a readable FAISS index: %s", path,
                        tail ? tail + 7 : msg);
    } catch (const std::exception &e) {
        sv_fq_free(fq);
        return sv_error(SCIVEC_EFORMAT, "%s: not a readable FAISS index: %s", path, e.what());
    } catch (...) {
        sv_fq_free(fq);
        return sv_error(SCIVEC_EFORMAT, "%s: not a readable FAISS index", path);
    }
    char why[256];
    if (!valid_index(fq->index, why, sizeof why)) {
        int rc = sv_error(SCIVEC_EFORMAT, "%s: %s", path, why);
        sv_fq_free(fq);
        return rc;
    }
    /* IVF indexes give vectors back only through a direct map (id -> list
     * slot), which write_index does not always keep; the checks need it. */
    if (faiss::IndexIVF *ivf = dynamic_cast<faiss::IndexIVF *>(fq->index)) {
        try {
            if (ivf->direct_map.type == faiss::DirectMap::NoMap) ivf->make_direct_map(true);
        } catch (const std::exception &) {
            /* ids the map cannot hold: reconstruct will say it cannot help */
        }
    }
    /* The index class by its C++ name: "faiss::IndexHNSWFlat" -> "IndexHNSWFlat". */
    int status = 0;
    char *name = abi::__cxa_demangle(typeid(*fq->index).name(), nullptr, nullptr, &status);
    if (name && status == 0)
        fq->type_name = strdup(strncmp(name, "faiss::", 7) == 0 ? name + 7 : name);
    free(name);
    *out = fq;
    return SCIVEC_OK;
}

void sv_fq_free(sv_fq_index *fq) {
    if (!fq) return;
    delete fq->index;
    free(fq->path);
    free(fq->type_name);
    free(fq);
}

int64_t sv_fq_ntotal(const sv_fq_index *fq) { return fq->index->ntotal; }
int sv_fq_dim(const sv_fq_index *fq) { return fq->index->d; }

int sv_fq_metric_is_ip(const sv_fq_index *fq) {
    return fq->index->metric_type == faiss::METRIC_INNER_PRODUCT;
}

int sv_fq_is_flat(const sv_fq_index *fq) {
    return dynamic_cast<const faiss::IndexFlat *>(fq->index) != nullptr;
}

const float *sv_fq_flat_vectors(const sv_fq_index *fq) {
    const faiss::IndexFlat *flat = dynamic_cast<const faiss::IndexFlat *>(fq->index);
    return flat ? flat->get_xb() : nullptr;
}

const char *sv_fq_type_name(const sv_fq_index *fq) {
    return fq->type_name ? fq->type_name : "FAISS index";
}

int sv_fq_check_search_params(const sv_fq_index *fq, int nprobe, int ef_search) {
    const faiss::IndexIVF *ivf = faiss::ivflib::try_extract_index_ivf(fq->index);
    const faiss::IndexHNSW *hnsw = dynamic_cast<const faiss::IndexHNSW *>(fq->index);
    if (nprobe && !ivf)
        return sv_error(SCIVEC_EINVAL, "nprobe applies to IVF indexes; %s is %s", fq->path,
                        sv_fq_type_name(fq));
    if (ef_search && !hnsw)
        return sv_error(SCIVEC_EINVAL, "ef_search applies to HNSW indexes; %s is %s", fq->path,
                        sv_fq_type_name(fq));
    if (nprobe < 0 || (ivf && (size_t)nprobe > ivf->nlist))
        return sv_error(SCIVEC_EINVAL, "nprobe must be from 1 to the %zu lists of %s (got %d)",
                        ivf ? ivf->nlist : (size_t)0, fq->path, nprobe);
    if (ef_search < 0 || ef_search > 1 << 20)
        return sv_error(SCIVEC_EINVAL, "ef_search must be from 1 to %d (got %d)", 1 << 20,
                        ef_search);
    return SCIVEC_OK;
}

int sv_fq_search(const sv_fq_index *fq, const float *query, int64_t k, const uint8_t *allowed,
                 float *scores, int64_t *ids) {
    return sv_fq_search_with(fq, query, k, allowed, 0, 0, scores, ids);
}

int sv_fq_search_with(const sv_fq_index *fq, const float *query, int64_t k, const uint8_t *allowed,
                      int nprobe, int ef_search, float *scores, int64_t *ids) {
    if (k <= 0) return sv_error(SCIVEC_EINVAL, "k must be positive (got %lld)", (long long)k);
    int rc = sv_fq_check_search_params(fq, nprobe, ef_search);
    if (rc) return rc;
    const faiss::Index *ix = fq->index;
    if (allowed && !sv_fq_is_flat(fq))
        return sv_error(SCIVEC_EUNSUPPORTED, "%s: %s cannot restrict a search to a subset",
                        fq->path, sv_fq_type_name(fq));
    try {
        static_assert(sizeof(faiss::Index::idx_t) == sizeof(int64_t), "FAISS ids are 64-bit");
        faiss::Index::idx_t *labels = reinterpret_cast<faiss::Index::idx_t *>(ids);
        if (allowed) {
            faiss::IDSelectorBitmap selector((size_t)((ix->ntotal + 7) / 8), allowed);
            faiss::SearchParameters params;
            params.sel = &selector;
            ix->search(1, query, k, scores, labels, &params);
        } else if (nprobe) {
            /* per call, not set on the index: the server searches it from many threads */
            faiss::SearchParametersIVF params;
            params.nprobe = (size_t)nprobe;
            ix->search(1, query, k, scores, labels, &params);
        } else if (ef_search) {
            faiss::SearchParametersHNSW params;
            params.efSearch = ef_search;
            ix->search(1, query, k, scores, labels, &params);
        } else {
            ix->search(1, query, k, scores, labels);
        }
    } catch (const std::bad_alloc &) {
        return sv_error(SCIVEC_ENOMEM, "%s: out of memory searching", fq->path);
    } catch (const std::exception &e) {
        return sv_error(SCIVEC_EFORMAT, "%s: FAISS search failed: %s", fq->path, e.what());
    }
    return SCIVEC_OK;
}

/* Whether the index keeps the vectors themselves (not lossy codes such as
 * PQ or SQ8), so that reconstruct gives back exactly what was added. */
static bool stores_exact_vectors(const faiss::Index *ix);

int sv_fq_exact_vectors(const sv_fq_index *fq) { return stores_exact_vectors(fq->index); }

static bool stores_exact_vectors(const faiss::Index *ix) {
    if (dynamic_cast<const faiss::IndexFlat *>(ix)) return true;
    if (const faiss::IndexHNSW *hnsw = dynamic_cast<const faiss::IndexHNSW *>(ix))
        return hnsw->storage && stores_exact_vectors(hnsw->storage);
    return dynamic_cast<const faiss::IndexIVFFlat *>(ix) != nullptr;
}

int sv_fq_reconstruct(const sv_fq_index *fq, int64_t id, float *out) {
    if (!stores_exact_vectors(fq->index))
        return sv_error(SCIVEC_EUNSUPPORTED, "%s: %s keeps approximate codes, not the vectors",
                        fq->path, sv_fq_type_name(fq));
    if (id < 0 || id >= fq->index->ntotal)
        return sv_error(SCIVEC_EINVAL, "%s: id %lld is outside the index (%lld vectors)", fq->path,
                        (long long)id, (long long)fq->index->ntotal);
    try {
        fq->index->reconstruct(id, out);
    } catch (const std::exception &e) {
        return sv_error(SCIVEC_EUNSUPPORTED, "%s: %s cannot give vectors back", fq->path,
                        sv_fq_type_name(fq));
    }
    return SCIVEC_OK;
}
