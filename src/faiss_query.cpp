/*
 * faiss_query.cpp - extern "C" over the read-and-search half of FAISS's C++
 * API (see faiss_query.h). FAISS reports errors by throwing; nothing may
 * escape into C, so every entry point catches and turns what it caught into
 * a status with a message.
 */
#include <cstring>
#include <cxxabi.h>
#include <new>
#include <typeinfo>

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/index_io.h>

extern "C" {
#include "common.h"
}
#include "faiss_query.h"

struct sv_fq_index {
    faiss::Index *index;
    char *path;
    char *type_name;   /* the index class, e.g. "IndexFlatIP" (NULL if unknown) */
};

int sv_fq_read(const char *path, sv_fq_index **out) {
    *out = nullptr;
    if (!sv_file_exists(path))
        return sv_error(SCIVEC_ENOTFOUND, "%s: no such file", path);
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
    if (fq->index->d <= 0 || fq->index->ntotal < 0) {
        int rc = sv_error(SCIVEC_EFORMAT, "%s: FAISS index has dimension %d and %lld vectors",
                          path, fq->index->d, (long long)fq->index->ntotal);
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

int sv_fq_search(const sv_fq_index *fq, const float *query, int64_t k,
                 const uint8_t *allowed, float *scores, int64_t *ids) {
    if (k <= 0) return sv_error(SCIVEC_EINVAL, "k must be positive (got %lld)", (long long)k);
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
        return sv_error(SCIVEC_EINVAL, "%s: id %lld is outside the index (%lld vectors)",
                        fq->path, (long long)id, (long long)fq->index->ntotal);
    try {
        fq->index->reconstruct(id, out);
    } catch (const std::exception &e) {
        return sv_error(SCIVEC_EUNSUPPORTED, "%s: %s cannot give vectors back", fq->path,
                        sv_fq_type_name(fq));
    }
    return SCIVEC_OK;
}
