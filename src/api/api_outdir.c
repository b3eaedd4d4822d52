/*
 * api_outdir.c - the public output-folder API (scivec_outdir_*,
 * include/scivec.h) over the internal reader and queries (query.c,
 * recommend.c): open/check, accessors, paper lookup, similar, nearest and
 * recommend. Free-text search, which needs a model, is api_search.c.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api_outdir.h"
#include "api/api_reader.h"
#include "core/error.h"
#include "core/lines.h"
#include "outputs/recommend.h"

/* The public handle around an opened (or checked) folder; takes inner. */
static int wrap(sv_outdir *inner, scivec_outdir **out) {
    scivec_outdir *od = calloc(1, sizeof *od);
    if (!od) {
        sv_outdir_close(inner);
        return sv_error(SCIVEC_ENOMEM, "out of memory");
    }
    od->od = inner;
    /* Printed here, not on first use, so that a shared outdir stays read-only. */
    if (inner->metadata && !(od->metadata_text = cJSON_Print(inner->metadata))) {
        scivec_outdir_free(od);
        return sv_error(SCIVEC_ENOMEM, "out of memory");
    }
    *out = od;
    return SCIVEC_OK;
}

int scivec_outdir_open(const char *dir, scivec_outdir **out) {
    if (!dir || !out)
        return sv_error(SCIVEC_EINVAL, "scivec_outdir_open: dir and out are required");
    sv_outdir *inner;
    int rc = sv_outdir_open(dir, &inner);
    return rc != SCIVEC_OK ? rc : wrap(inner, out);
}

int scivec_outdir_check(const char *dir, int full_check, scivec_outdir **out) {
    if (!dir || !out)
        return sv_error(SCIVEC_EINVAL, "scivec_outdir_check: dir and out are required");
    sv_outdir *inner;
    int rc = sv_outdir_load(dir, full_check ? SV_CHECK_FULL : SV_CHECK_SAMPLE, &inner);
    return rc != SCIVEC_OK ? rc : wrap(inner, out);
}

void scivec_outdir_free(scivec_outdir *od) {
    if (!od) return;
    scivec_model_free(od->query_model);
    free(od->query_model_asked);
    sv_lines_free(&od->notes, &od->n_notes);
    if (od->is_reader) {
        sv_api_reader_close(od->od); /* the parent owns the rest, metadata_text too */
    } else {
        free(od->metadata_text);
        sv_outdir_close(od->od);
    }
    free(od);
}

const char *scivec_outdir_path(const scivec_outdir *od) { return od->od->dir; }
int scivec_outdir_n_problems(const scivec_outdir *od) { return od->od->n_problems; }

const char *scivec_outdir_problem(const scivec_outdir *od, int i) {
    return i >= 0 && i < od->od->n_problems ? od->od->problems[i] : NULL;
}

const char *scivec_outdir_metadata_json(const scivec_outdir *od) { return od->metadata_text; }

int64_t scivec_outdir_n_papers(const scivec_outdir *od) {
    return od->od->vectors ? od->od->n_rows : od->od->n_papers;
}

int scivec_outdir_dim(const scivec_outdir *od) {
    return od->od->vectors ? (int)od->od->n_cols : od->od->dim;
}

const float *scivec_outdir_vectors(const scivec_outdir *od, int64_t *n_rows, int64_t *n_cols) {
    if (n_rows) *n_rows = od->od->vectors ? od->od->n_rows : 0;
    if (n_cols) *n_cols = od->od->vectors ? od->od->n_cols : 0;
    return od->od->vectors;
}

const char *scivec_outdir_index_type(const scivec_outdir *od) {
    return od->od->index ? sv_fq_type_name(od->od->index) : NULL;
}
int64_t scivec_outdir_index_ntotal(const scivec_outdir *od) {
    return od->od->index ? sv_fq_ntotal(od->od->index) : -1;
}
int scivec_outdir_index_dim(const scivec_outdir *od) {
    return od->od->index ? sv_fq_dim(od->od->index) : -1;
}
int scivec_outdir_index_exact(const scivec_outdir *od) {
    return od->od->index ? sv_fq_exact_vectors(od->od->index) : 0;
}
int64_t scivec_outdir_db_rows(const scivec_outdir *od) {
    return od->od->db ? od->od->n_db_rows : -1;
}

int scivec_outdir_find(const scivec_outdir *od, const char *paper_id, int64_t *row) {
    if (!paper_id || !row)
        return sv_error(SCIVEC_EINVAL, "scivec_outdir_find: paper_id and row are required");
    return sv_outdir_find_paper(od->od, paper_id, row);
}

int scivec_outdir_paper(const scivec_outdir *od, int64_t row, scivec_paper *out) {
    if (!out) return sv_error(SCIVEC_EINVAL, "scivec_outdir_paper: out is required");
    if (!od->od->db) return sv_error(SCIVEC_EIO, "%s: papers.db could not be read", od->od->dir);
    if (row < 0 || (od->od->n_db_rows >= 0 && row >= od->od->n_db_rows))
        return sv_error(SCIVEC_ENOTFOUND, "%s: no paper in row %lld (rows 0..%lld)", od->od->dir,
                        (long long)row, (long long)od->od->n_db_rows - 1);
    sv_paper p;
    int rc = sv_outdir_paper(od->od, row, &p);
    if (rc != SCIVEC_OK) return rc;
    out->paper_id = p.paper_id;
    out->title = p.title;
    out->categories = p.categories;
    out->has_year = p.has_year;
    out->year = p.year;
    return SCIVEC_OK;
}

void scivec_paper_clear(scivec_paper *paper) {
    if (!paper) return;
    free(paper->paper_id);
    free(paper->title);
    free(paper->categories);
    memset(paper, 0, sizeof *paper);
}

int scivec_filter_parse_year(const char *text, scivec_filter *f) {
    if (!text || !f)
        return sv_error(SCIVEC_EINVAL, "scivec_filter_parse_year: text and f are required");
    sv_filter inner;
    memset(&inner, 0, sizeof inner);
    int rc = sv_filter_parse_year(text, &inner);
    if (rc != SCIVEC_OK) return rc;
    f->has_year = inner.has_year;
    f->year_min = inner.year_min;
    f->year_max = inner.year_max;
    return SCIVEC_OK;
}

/* The internal filter of a public one; NULL stays NULL (no filter). */
const sv_filter *sv_api_filter(const scivec_filter *f, sv_filter *inner) {
    if (!f) return NULL;
    inner->categories = f->categories;
    inner->n_categories = f->n_categories;
    inner->has_year = f->has_year;
    inner->year_min = f->year_min;
    inner->year_max = f->year_max;
    return inner;
}

/* sv_hit and scivec_hit are one layout; the queries write scivec_hits directly. */
_Static_assert(sizeof(sv_hit) == sizeof(scivec_hit) &&
                   offsetof(sv_hit, row) == offsetof(scivec_hit, row) &&
                   offsetof(sv_hit, score) == offsetof(scivec_hit, score),
               "sv_hit = scivec_hit");

/* Queries need a folder whose files agree: always so after _open, not
 * necessarily after _check (a file may be missing altogether). */
static int check_query_args(const scivec_outdir *od, const char *fn, int64_t k,
                            const scivec_hit *hits, const int64_t *n_hits) {
    if (!od || k < 1 || !hits || !n_hits)
        return sv_error(SCIVEC_EINVAL,
                        "%s: k must be >= 1 (got %lld) and od, hits and n_hits given", fn,
                        (long long)k);
    if (od->od->n_problems > 0)
        return sv_error(SCIVEC_EFORMAT, "%s: %s", od->od->dir, od->od->problems[0]);
    return SCIVEC_OK;
}

int scivec_outdir_set_search(scivec_outdir *od, int nprobe, int ef_search) {
    if (!od || nprobe < 0 || ef_search < 0)
        return sv_error(SCIVEC_EINVAL, "scivec_outdir_set_search: od is required, nprobe and "
                                       "ef_search must not be negative");
    od->search.nprobe = nprobe;
    od->search.ef_search = ef_search;
    return SCIVEC_OK;
}

int scivec_outdir_nearest(const scivec_outdir *od, const float *query, int64_t k,
                          int64_t exclude_row, const scivec_filter *filter, scivec_hit *hits,
                          int64_t *n_hits) {
    int rc = check_query_args(od, "scivec_outdir_nearest", k, hits, n_hits);
    if (rc != SCIVEC_OK) return rc;
    if (!query) return sv_error(SCIVEC_EINVAL, "scivec_outdir_nearest: query is required");
    sv_filter inner;
    return sv_outdir_top_k_with(od->od, query, k, exclude_row, sv_api_filter(filter, &inner),
                                &od->search, (sv_hit *)hits, n_hits);
}

int scivec_outdir_similar(const scivec_outdir *od, const char *paper_id, int64_t k,
                          const scivec_filter *filter, scivec_hit *hits, int64_t *n_hits) {
    int rc = check_query_args(od, "scivec_outdir_similar", k, hits, n_hits);
    if (rc != SCIVEC_OK) return rc;
    int64_t row;
    if ((rc = scivec_outdir_find(od, paper_id, &row)) != SCIVEC_OK) return rc;
    /* The paper's own row vector is the query, as a Python client would do. */
    return scivec_outdir_nearest(od, od->od->vectors + row * od->od->n_cols, k, row, filter, hits,
                                 n_hits);
}

static int find_rows(const scivec_outdir *od, const char *const *ids, int n, int64_t *rows) {
    for (int i = 0; i < n; i++) {
        if (!ids[i])
            return sv_error(SCIVEC_EINVAL, "scivec_outdir_recommend: paper id %d is NULL", i);
        int rc = scivec_outdir_find(od, ids[i], &rows[i]);
        if (rc != SCIVEC_OK) return rc;
    }
    return SCIVEC_OK;
}

int scivec_outdir_recommend(const scivec_outdir *od, const char *const *positive, int n_positive,
                            const char *const *negative, int n_negative, int64_t k,
                            const scivec_filter *filter, scivec_hit *hits, int64_t *n_hits) {
    int rc = check_query_args(od, "scivec_outdir_recommend", k, hits, n_hits);
    if (rc != SCIVEC_OK) return rc;
    if (n_positive < 1 || !positive || n_negative < 0 || (n_negative > 0 && !negative))
        return sv_error(SCIVEC_EINVAL, "scivec_outdir_recommend: at least one positive paper id is "
                                       "required");
    int n_rows = n_positive + n_negative;
    int64_t *rows = malloc((size_t)n_rows * sizeof *rows);
    float *query = malloc((size_t)od->od->n_cols * sizeof *query);
    sv_filter inner;
    if (!rows || !query) {
        rc = sv_error(SCIVEC_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = find_rows(od, positive, n_positive, rows)) != SCIVEC_OK) goto done;
    if ((rc = find_rows(od, negative, n_negative, rows + n_positive)) != SCIVEC_OK) goto done;
    rc = sv_recommend_query(od->od, rows, n_positive, rows + n_positive, n_negative, query);
    if (rc != SCIVEC_OK) goto done;
    rc = sv_recommend_top_k(od->od, query, k, rows, n_rows, sv_api_filter(filter, &inner),
                            (sv_hit *)hits, n_hits);
done:
    free(rows);
    free(query);
    return rc;
}
