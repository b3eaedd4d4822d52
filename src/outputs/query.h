/*
 * query.h - answering "which papers are like this one?" from the output
 * directory of `scivec embed` (see docs/OUTPUTS.md):
 *
 *   embeddings.npy  float32 [n, dim]; row i = i-th kept paper
 *   papers.index    FAISS index over the same rows, ids = row numbers
 *   papers.db       SQLite: papers(row, paper_id, title, categories, year,
 *                   embedding), paper_columns(row, name, value); the
 *                   embedding BLOBs only with `embed --db-vectors`
 *   metadata.json   n_papers, embedding_dim, model, pooling, normalize, ...
 *
 * The four files must agree (same n, same dim, same vectors in the same
 * rows). sv_outdir_load reads what it can and lists every disagreement it
 * finds (for `scivec info`); sv_outdir_open refuses a directory with any, so
 * that no query is ever answered from inconsistent files.
 */
#ifndef SV_QUERY_H
#define SV_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <sqlite3.h>

#include "outputs/faiss_query.h"
#include "outputs/npy.h"
#include "scivec.h"

typedef struct sv_outdir {
    char *dir;

    /* metadata.json (NULL fields: absent) */
    cJSON *metadata;
    int64_t n_papers;         /* -1 when unknown */
    int dim;                  /* embedding_dim; -1 when unknown */
    int normalize;            /* rows are L2-normalised: inner product = cosine */
    int max_length;           /* 0 when absent */
    const char *model_name;   /* as given to embed */
    const char *model_path;   /* the directory it resolved to */
    const char *model_sha256; /* of the weight file */
    const char *pooling;      /* "cls" | "mean" | "max" | "pooler" */
    const char *recipe;       /* text recipe ("abstract", "specter2", ...) */

    /* embeddings.npy, memory-mapped (vectors = NULL when unreadable) */
    const float *vectors; /* [n_rows, n_cols] */
    int64_t n_rows, n_cols;
    sv_npy_map npy;

    /* papers.db (db = NULL when unreadable) */
    sqlite3 *db;
    int64_t n_db_rows; /* -1 when unknown */
    int db_vectors;    /* its papers.embedding BLOBs hold the vectors
                                  (metadata.json db_vectors; absent: 1) */

    /* papers.index (index = NULL when unreadable) */
    sv_fq_index *index;

    /* every disagreement found, one line each */
    char **problems;
    int n_problems;
} sv_outdir;

enum {
    SV_CHECK_SAMPLE = 0, /* cross-check a few rows across the files (queries) */
    SV_CHECK_FULL = 1,   /* cross-check every row (scivec info) */
};

/* Reads the four files of dir and cross-checks them; disagreements and
 * unreadable files are listed in (*out)->problems, not returned as errors.
 * Fails only when dir is missing (SCIVEC_ENOTFOUND) or memory runs out. */
int sv_outdir_load(const char *dir, int check, sv_outdir **out);
/* sv_outdir_load, then SCIVEC_EFORMAT naming the first problem if any. */
int sv_outdir_open(const char *dir, sv_outdir **out);
void sv_outdir_close(sv_outdir *od);

/* The row of paper_id; SCIVEC_ENOTFOUND when the db has no such paper. */
int sv_outdir_find_paper(const sv_outdir *od, const char *paper_id, int64_t *row);

/* Which papers a query may return. */
typedef struct sv_filter {
    const char *const *categories; /* any of them matches; n_categories = 0: no filter */
    int n_categories;
    int has_year; /* year_min <= year <= year_max (NULL years never match) */
    int year_min, year_max;
} sv_filter;

/* Parses "2024" or "2020-2024" into f (SCIVEC_EINVAL otherwise). */
int sv_filter_parse_year(const char *text, sv_filter *f);
/* Whether a paper with these categories (space-separated, may be NULL) and
 * year (has_year = 0: unknown) passes f. A filter category matches a listed
 * category equal to it, or, written without a dot, its archive ("cs" matches
 * "cs.CL"). */
int sv_filter_match(const sv_filter *f, const char *categories, int has_year, int year);

typedef struct sv_hit {
    int64_t row;
    float score; /* cosine similarity */
} sv_hit;

/* The k rows most similar to query[dim] by cosine similarity, best first,
 * skipping exclude_row (-1: none) and rows that fail filter (NULL: none).
 * *n_hits < k only when fewer rows pass. Without a filter this is the FAISS
 * index's own answer; with one, an exact search over the rows that pass. */
int sv_outdir_top_k(const sv_outdir *od, const float *query, int64_t k, int64_t exclude_row,
                    const sv_filter *filter, sv_hit *hits, int64_t *n_hits);

/* Search-time parameters of an approximate index for one query; 0 = the one
 * recorded when the index was built (metadata.json index.search_params). */
typedef struct sv_search_params {
    int nprobe;    /* IVF: lists visited                                  */
    int ef_search; /* HNSW: candidate list size                           */
} sv_search_params;

/* sv_outdir_top_k with sp (NULL = none given). A parameter the index does
 * not have is SCIVEC_EINVAL, even when a filter makes the search exact. */
int sv_outdir_top_k_with(const sv_outdir *od, const float *query, int64_t k, int64_t exclude_row,
                         const sv_filter *filter, const sv_search_params *sp, sv_hit *hits,
                         int64_t *n_hits);

/* The one rule for a free-text query, shared by `scivec search` and the
 * server's /search: it must hold a character the tokenizer keeps, not only
 * whitespace, control or format characters (which BERT's cleanup drops) or
 * invalid bytes. SCIVEC_EINVAL "the query is empty ..." otherwise. */
int sv_query_text_check(const char *text, size_t len);

/* What the db holds about one row. Strings are owned by the struct. */
typedef struct sv_paper {
    char *paper_id, *title, *categories;
    int has_year, year;
} sv_paper;

int sv_outdir_paper(const sv_outdir *od, int64_t row, sv_paper *out);
void sv_paper_clear(sv_paper *p);

#endif /* SV_QUERY_H */
