/*
 * query.c - opening an embed output directory, checking that its four files
 * agree, and top-k queries over it (see query.h).
 *
 * Why so much checking: the files are written by one run but live on as
 * plain files that anyone can copy, truncate or regenerate one at a time. A
 * query answered from an index whose row 17 is not the db's row 17 names the
 * wrong papers without any sign of trouble, so every reader cross-checks:
 * counts and dimensions always, the vectors themselves for a few rows on
 * every query (the query row and every row returned) and for all rows in
 * `scivec info`.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/files.h"
#include "core/json.h"
#include "core/lines.h"
#include "outputs/npy.h"
#include "outputs/outdir.h"
#include "outputs/query.h"
#include "text/normalize.h"

/* The npy, the db BLOBs (when it keeps them) and the index hold the same float32 values; a
 * difference beyond rounding noise means rows were shifted or replaced. */
#define SV_VECTOR_TOLERANCE 1e-5f
/* How much of a flat index an open compares with embeddings.npy (check_rows). */
#define SV_OPEN_COMPARE_BYTES (256.0 * 1024 * 1024)
#define SV_OPEN_COMPARE_ROWS  4096
/* Rows of a normalised output must have unit length (float32 rounding aside). */
#define SV_NORM_TOLERANCE 1e-3

/* ------------------------------------------------------------------------ */
/* Problems: one line each, kept for `scivec info`                           */

#define add_problem(od, ...) sv_lines_addf(&(od)->problems, &(od)->n_problems, __VA_ARGS__)

/* ------------------------------------------------------------------------ */
/* metadata.json                                                             */

/* A member that must be an integer in [lo, hi]: 1 found, 0 absent, -1 bad. */
static int get_int(const cJSON *obj, const char *key, double lo, double hi, int64_t *out) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!item || cJSON_IsNull(item)) return 0;
    if (!cJSON_IsNumber(item)) return -1;
    double v = item->valuedouble;
    if (!(v >= lo && v <= hi) || v != floor(v)) return -1;
    *out = (int64_t)v;
    return 1;
}

static int load_metadata(sv_outdir *od, const char *path) {
    if (!sv_file_exists(path)) return add_problem(od, "metadata.json is missing");
    char *text;
    size_t size;
    int rc = sv_read_file(path, &text, &size);
    if (rc == SCIVEC_ENOMEM) return rc;
    if (rc) return add_problem(od, "metadata.json: %s", scivec_last_error());
    const char *end = NULL;
    /* Nothing but whitespace may follow the object: the length includes the
     * terminating NUL so that cJSON's end check can see it. */
    od->metadata = cJSON_ParseWithLengthOpts(text, size + 1, &end, 1);
    if (!od->metadata) {
        rc = add_problem(od, "metadata.json is not valid JSON (near byte %td)",
                         end ? end - text : (ptrdiff_t)0);
        free(text);
        return rc;
    }
    free(text);
    const cJSON *meta = od->metadata;
    if (!cJSON_IsObject(meta)) return add_problem(od, "metadata.json is not a JSON object");

    int64_t v;
    int got = get_int(meta, "n_papers", 0, 9e15, &v);
    if (got == 1)
        od->n_papers = v;
    else if ((rc = add_problem(od, "metadata.json: n_papers is %s",
                               got == 0 ? "missing" : "not a non-negative integer")))
        return rc;
    got = get_int(meta, "embedding_dim", 1, 1 << 20, &v);
    if (got == 1)
        od->dim = (int)v;
    else if ((rc = add_problem(od, "metadata.json: embedding_dim is %s",
                               got == 0 ? "missing" : "not a positive integer")))
        return rc;
    got = get_int(meta, "max_length", 0, 1 << 30, &v);
    if (got == 1)
        od->max_length = (int)v;
    else if (got < 0 && (rc = add_problem(od, "metadata.json: max_length is not an integer")))
        return rc;

    /* Folders from before the choice hold the BLOBs. */
    const cJSON *db_vectors = cJSON_GetObjectItemCaseSensitive(meta, "db_vectors");
    od->db_vectors = !cJSON_IsBool(db_vectors) || cJSON_IsTrue(db_vectors);

    const cJSON *normalize = cJSON_GetObjectItemCaseSensitive(meta, "normalize");
    if (cJSON_IsBool(normalize))
        od->normalize = cJSON_IsTrue(normalize);
    else if ((rc = add_problem(od, "metadata.json: normalize is %s",
                               normalize ? "not true/false" : "missing")))
        return rc;

    od->model_name = sv_json_name(meta, "model");
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(meta, "model");
    if (cJSON_IsObject(model)) {
        od->model_path = sv_json_string(model, "path");
        od->model_sha256 = sv_json_string(model, "sha256");
    }
    if (!od->model_name && (rc = add_problem(od, "metadata.json: model.name is missing")))
        return rc;
    od->pooling = sv_json_name(meta, "pooling");
    if (!od->pooling && (rc = add_problem(od, "metadata.json: pooling is missing"))) return rc;
    od->recipe = sv_json_name(meta, "recipe");
    if (!od->recipe) od->recipe = sv_json_name(meta, "text");
    return SCIVEC_OK;
}

/* ------------------------------------------------------------------------ */
/* embeddings.npy                                                            */

static int load_vectors(sv_outdir *od, const char *path) {
    int rc = sv_npy_map_open(path, &od->npy);
    if (rc == SCIVEC_ENOTFOUND) return add_problem(od, "embeddings.npy is missing");
    if (rc) return add_problem(od, "%s", scivec_last_error());
    /* Queries read a few scattered rows: no read-ahead around each (it read
     * ~260 MB of a 666 MB file for the 4,096 rows check_rows compares). */
    madvise(od->npy.base, od->npy.size, MADV_RANDOM);
    od->vectors = od->npy.rows;
    od->n_rows = od->npy.n_rows;
    od->n_cols = od->npy.n_cols;
    return SCIVEC_OK;
}

/* Finite values, and unit length when the output says it is normalised:
 * NULL if fine, else what is wrong (static buffer). */
static const char *check_vector(const sv_outdir *od, const float *v, int64_t dim) {
    static _Thread_local char why[128];
    double norm2 = 0;
    for (int64_t j = 0; j < dim; j++) {
        if (!isfinite(v[j])) return "holds a NaN or infinity";
        norm2 += (double)v[j] * v[j];
    }
    if (od->normalize && fabs(sqrt(norm2) - 1.0) > SV_NORM_TOLERANCE) {
        snprintf(why, sizeof why, "has length %.6g though metadata.json says normalize: true",
                 sqrt(norm2));
        return why;
    }
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* papers.db                                                                 */

/* Runs a query returning one row of integers; 1 on success. */
static int sql_ints(sqlite3 *db, const char *sql, int n, int64_t *out, int *is_null) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return 0;
    int ok = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_count(st) >= n;
    for (int i = 0; ok && i < n; i++) {
        if (is_null) is_null[i] = sqlite3_column_type(st, i) == SQLITE_NULL;
        out[i] = sqlite3_column_int64(st, i);
    }
    sqlite3_finalize(st);
    return ok;
}

static int load_db(sv_outdir *od, const char *path) {
    if (!sv_file_exists(path)) return add_problem(od, "papers.db is missing");
    if (sqlite3_open_v2(path, &od->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        int rc = add_problem(od, "papers.db cannot be opened: %s",
                             od->db ? sqlite3_errmsg(od->db) : "out of memory");
        sqlite3_close(od->db);
        od->db = NULL;
        return rc;
    }
    sqlite3_stmt *st;
    /* Every column the queries read must be there. */
    if (sqlite3_prepare_v2(od->db,
                           "SELECT row, paper_id, title, categories, year, embedding "
                           "FROM papers LIMIT 0",
                           -1, &st, NULL) != SQLITE_OK) {
        int rc = add_problem(od, "papers.db: table papers is not as embed writes it: %s",
                             sqlite3_errmsg(od->db));
        sqlite3_close(od->db);
        od->db = NULL;
        return rc;
    }
    sqlite3_finalize(st);
    int rc;
    if (sqlite3_prepare_v2(od->db, "SELECT row, name, value FROM paper_columns LIMIT 0", -1, &st,
                           NULL) != SQLITE_OK) {
        if ((rc = add_problem(od, "papers.db: table paper_columns is missing or incomplete: %s",
                              sqlite3_errmsg(od->db))))
            return rc;
    } else {
        sqlite3_finalize(st);
    }
    int64_t v[3];
    int null[3];
    /* Three subqueries, not one SELECT: alone, count(*) reads the smallest
     * index and min/max one b-tree path each; together they scan the table
     * (0.6 s instead of 0.02 s at 2.6 M papers, warm). */
    if (!sql_ints(od->db,
                  "SELECT (SELECT count(*) FROM papers), (SELECT min(row) FROM papers), "
                  "(SELECT max(row) FROM papers)",
                  3, v, null))
        return add_problem(od, "papers.db: cannot count papers: %s", sqlite3_errmsg(od->db));
    od->n_db_rows = v[0];
    /* Rows must be exactly 0..n-1: they are the npy row and the FAISS id. */
    if (v[0] > 0 && (null[1] || v[1] != 0 || v[2] != v[0] - 1))
        return add_problem(od,
                           "papers.db: its %lld papers have rows %lld..%lld, so %s (rows "
                           "must be 0..%lld: the npy row and FAISS id of each paper)",
                           (long long)v[0], (long long)v[1], (long long)v[2],
                           v[2] - v[1] + 1 > v[0] ? "some rows are missing"
                                                  : "the rows are shifted",
                           (long long)v[0] - 1);
    return SCIVEC_OK;
}

/* A BLOB from papers.db against npy row `row`: NULL if equal, else why. */
static const char *compare_blob(const sv_outdir *od, int64_t row, const void *blob, int n_bytes) {
    static _Thread_local char why[160];
    if ((int64_t)n_bytes != od->n_cols * 4 || (n_bytes > 0 && !blob)) {
        snprintf(why, sizeof why, "has a %d-byte embedding in papers.db (expected %lld)", n_bytes,
                 (long long)od->n_cols * 4);
        return why;
    }
    const float *v = od->vectors + row * od->n_cols;
    for (int64_t j = 0; j < od->n_cols; j++) {
        float b;
        memcpy(&b, (const char *)blob + 4 * j, 4); /* BLOBs need not be aligned */
        if (!(fabsf(b - v[j]) <= SV_VECTOR_TOLERANCE))
            return "differs between papers.db and embeddings.npy";
    }
    return NULL;
}

/* The db's BLOB of one row against the npy row: NULL if equal, else why. */
static const char *check_blob(const sv_outdir *od, int64_t row) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(od->db, "SELECT embedding FROM papers WHERE row = ?", -1, &st, NULL) !=
        SQLITE_OK)
        return "cannot be read from papers.db";
    sqlite3_bind_int64(st, 1, row);
    const char *result =
        sqlite3_step(st) != SQLITE_ROW
            ? "is missing from papers.db"
            : compare_blob(od, row, sqlite3_column_blob(st, 0), sqlite3_column_bytes(st, 0));
    sqlite3_finalize(st);
    return result;
}

/* Every BLOB against its npy row in one pass over the table (a statement per
 * row would cost more than the comparison). The first difference is recorded. */
static int check_all_blobs(sv_outdir *od) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(od->db, "SELECT row, embedding FROM papers ORDER BY row", -1, &st,
                           NULL) != SQLITE_OK)
        return add_problem(od, "papers.db: cannot read the embeddings: %s", sqlite3_errmsg(od->db));
    int step, rc = SCIVEC_OK;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t row = sqlite3_column_int64(st, 0);
        if (row < 0 || row >= od->n_rows) continue; /* the row count check names these */
        const char *why =
            compare_blob(od, row, sqlite3_column_blob(st, 1), sqlite3_column_bytes(st, 1));
        if (why) {
            rc = add_problem(od, "the embedding of row %lld %s", (long long)row, why);
            break;
        }
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        rc =
            add_problem(od, "papers.db: reading the embeddings failed: %s", sqlite3_errmsg(od->db));
    sqlite3_finalize(st);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* papers.index                                                              */

static int load_index(sv_outdir *od, const char *path) {
    if (!sv_file_exists(path)) return add_problem(od, "papers.index is missing");
    int rc = sv_fq_read(path, &od->index);
    if (rc == SCIVEC_ENOMEM) return rc;
    if (rc) {
        /* "DIR/papers.index: why" -> "papers.index: why": the caller names DIR. */
        const char *msg = scivec_last_error();
        size_t n = strlen(path);
        if (!strncmp(msg, path, n) && !strncmp(msg + n, ": ", 2)) msg += n + 2;
        return add_problem(od, "papers.index: %s", msg);
    }
    if (!sv_fq_metric_is_ip(od->index))
        return add_problem(od,
                           "papers.index (%s) does not rank by inner product, so its scores "
                           "are not cosine similarities",
                           sv_fq_type_name(od->index));
    return SCIVEC_OK;
}

/* Row `row` of the npy at unit length, into out[dim]: what the index holds.
 * (embed always indexes normalised vectors, so that inner product = cosine,
 * even when the npy keeps raw ones: docs/OUTPUTS.md.) */
static void unit_row(const sv_outdir *od, int64_t row, float *out) {
    const float *v = od->vectors + row * od->n_cols;
    memcpy(out, v, (size_t)od->n_cols * sizeof *out);
    if (od->normalize) return;
    double norm2 = 0;
    for (int64_t j = 0; j < od->n_cols; j++) norm2 += (double)v[j] * v[j];
    if (norm2 > 0)
        for (int64_t j = 0; j < od->n_cols; j++) out[j] = (float)(v[j] / sqrt(norm2));
}

/* The index's vector of row against the npy row: NULL if equal (or the index
 * cannot give vectors back), else why. scratch holds 2 * dim floats. */
static const char *check_index_row(const sv_outdir *od, int64_t row, float *scratch) {
    float *stored = scratch, *want = scratch + od->n_cols;
    if (sv_fq_reconstruct(od->index, row, stored) != SCIVEC_OK) return NULL;
    unit_row(od, row, want);
    for (int64_t j = 0; j < od->n_cols; j++)
        if (!(fabsf(stored[j] - want[j]) <= SV_VECTOR_TOLERANCE))
            return "differs between papers.index and embeddings.npy";
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Cross-checks                                                              */

static int check_counts(sv_outdir *od) {
    int rc = SCIVEC_OK;
    /* metadata.json is the reference; without it, the npy is. */
    int64_t n = od->n_papers >= 0 ? od->n_papers : od->vectors ? od->n_rows : -1;
    const char *n_from = od->n_papers >= 0 ? "metadata.json says n_papers =" : "embeddings.npy has";
    int64_t dim = od->dim > 0 ? od->dim : od->vectors ? od->n_cols : -1;
    const char *dim_from =
        od->dim > 0 ? "metadata.json says embedding_dim =" : "embeddings.npy rows have";
    if (n < 0) return rc;
    if (od->vectors && od->n_rows != n && od->n_papers >= 0)
        rc = add_problem(od, "embeddings.npy has %lld rows but %s %lld", (long long)od->n_rows,
                         n_from, (long long)n);
    if (!rc && od->vectors && dim > 0 && od->n_cols != dim && od->dim > 0)
        rc = add_problem(od, "embeddings.npy rows have %lld values but %s %lld",
                         (long long)od->n_cols, dim_from, (long long)dim);
    if (!rc && od->index && sv_fq_ntotal(od->index) != n)
        rc = add_problem(od, "papers.index holds %lld vectors but %s %lld",
                         (long long)sv_fq_ntotal(od->index), n_from, (long long)n);
    if (!rc && od->index && dim > 0 && sv_fq_dim(od->index) != dim)
        rc = add_problem(od, "papers.index has dimension %d but %s %lld", sv_fq_dim(od->index),
                         dim_from, (long long)dim);
    const cJSON *index_meta =
        od->metadata ? cJSON_GetObjectItemCaseSensitive(od->metadata, "index") : NULL;
    int64_t ntotal;
    if (!rc && cJSON_IsObject(index_meta) && get_int(index_meta, "ntotal", 0, 9e15, &ntotal) == 1 &&
        ntotal != n)
        rc = add_problem(od, "metadata.json says index.ntotal = %lld but %s %lld",
                         (long long)ntotal, n_from, (long long)n);
    if (!rc && od->db && od->n_db_rows >= 0 && od->n_db_rows != n)
        rc = add_problem(od, "papers.db has %lld papers but %s %lld", (long long)od->n_db_rows,
                         n_from, (long long)n);
    return rc;
}

/* Whether the files hold the same vectors in the same rows. */
/* The one consistency check of a folder's rows, for `info` (full: every row)
 * and the queries (rows 0, n/2, n-1): the same checks in the same order, so
 * both name the same file pair. Each file is compared with embeddings.npy,
 * papers.db first, then papers.index; each pair that disagrees is one
 * problem naming its first differing row. */
static int check_rows(sv_outdir *od, int full) {
    if (!od->vectors || od->n_problems) return SCIVEC_OK; /* counts already disagree */
    int64_t n = od->n_rows;
    float *scratch = malloc((size_t)(od->n_cols > 0 ? 2 * od->n_cols : 1) * sizeof(float));
    if (!scratch) return SCIVEC_ENOMEM;
    int64_t sample[3] = {0, n / 2, n - 1};
    int64_t n_check = full ? n : (n < 3 ? n : 3);
    int rc = SCIVEC_OK;
    for (int64_t i = 0; i < n_check && !rc; i++) {
        int64_t row = full ? i : sample[i];
        const char *why = check_vector(od, od->vectors + row * od->n_cols, od->n_cols);
        if (why) rc = add_problem(od, "embeddings.npy row %lld %s", (long long)row, why);
    }
    if (!od->n_problems && od->db && od->db_vectors) {
        if (full) {
            rc = check_all_blobs(od);
        } else {
            for (int64_t i = 0; i < n_check && !rc; i++) {
                const char *why = check_blob(od, sample[i]);
                if (why)
                    rc = add_problem(od, "the embedding of row %lld %s", (long long)sample[i], why);
            }
        }
    }
    int db_problems = od->n_problems;
    for (int64_t i = 0; i < n_check && !rc && od->index && !(od->n_problems > db_problems); i++) {
        int64_t row = full ? i : sample[i];
        const char *why = check_index_row(od, row, scratch);
        if (why) rc = add_problem(od, "the vector of row %lld %s", (long long)row, why);
    }
    free(scratch);
    if (rc || od->n_problems > db_problems) return rc; /* one row named per pair is enough */

    /* A flat index holds every vector in one array: comparing it with the npy
     * whole costs one pass over memory, done on every open of a folder of
     * up to SV_OPEN_COMPARE_BYTES of vectors. Past that a query would read
     * all of a file of GBs: an open compares SV_OPEN_COMPARE_ROWS rows
     * spread over it, and `scivec info` all of them. */
    const float *stored = od->index ? sv_fq_flat_vectors(od->index) : NULL;
    float *want = stored ? malloc((size_t)od->n_cols * sizeof *want) : NULL;
    if (stored && !want) return SCIVEC_ENOMEM;
    int all = full || n <= SV_OPEN_COMPARE_ROWS ||
              (double)n * (double)od->n_cols * sizeof(float) <= SV_OPEN_COMPARE_BYTES;
    int64_t n_compare = all ? n : SV_OPEN_COMPARE_ROWS;
    int64_t differs = -1; /* the first row that does */
    for (int64_t i = 0; stored && i < n_compare && differs < 0; i++) {
        int64_t row = all ? i : i * (n - 1) / (n_compare - 1);
        unit_row(od, row, want);
        for (int64_t j = 0; j < od->n_cols && differs < 0; j++)
            if (!(fabsf(stored[row * od->n_cols + j] - want[j]) <= SV_VECTOR_TOLERANCE))
                differs = row;
    }
    free(want);
    if (differs >= 0)
        return add_problem(od,
                           "the vector of row %lld differs between papers.index and "
                           "embeddings.npy",
                           (long long)differs);
    if (!full || !od->db || od->n_problems) return rc;

    /* The db's own promises: unique non-empty ids, every row's input columns kept. */
    int64_t v[2];
    if (sql_ints(od->db,
                 "SELECT count(DISTINCT paper_id), "
                 "sum(paper_id IS NULL OR paper_id = '') FROM papers",
                 2, v, NULL)) {
        if (v[1] > 0)
            rc = add_problem(od, "papers.db: %lld papers have an empty paper_id", (long long)v[1]);
        else if (v[0] != od->n_db_rows)
            rc = add_problem(
                od, "papers.db: paper_id is not unique (%lld distinct ids for %lld papers)",
                (long long)v[0], (long long)od->n_db_rows);
    }
    if (!rc && sql_ints(od->db,
                        "SELECT count(DISTINCT row), sum(row < 0 OR row >= "
                        "(SELECT count(*) FROM papers)) FROM paper_columns",
                        2, v, NULL)) {
        if (v[0] != od->n_db_rows || v[1] > 0)
            rc = add_problem(od,
                             "papers.db: paper_columns covers %lld of %lld papers "
                             "(%lld entries name rows that do not exist)",
                             (long long)v[0], (long long)od->n_db_rows, (long long)v[1]);
    }
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Opening and closing                                                       */

int sv_outdir_load(const char *dir, int check, sv_outdir **out) {
    *out = NULL;
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return sv_error(SCIVEC_ENOTFOUND, "%s: no such directory", dir);
    /* A change (add, remove) killed in its commit is finished first. */
    sv_dir_recover(dir);
    sv_outdir *od = calloc(1, sizeof *od);
    if (!od || !(od->dir = strdup(dir))) {
        free(od);
        return sv_error(SCIVEC_ENOMEM, "%s: out of memory", dir);
    }
    od->n_papers = -1;
    od->dim = -1;
    od->n_db_rows = -1;
    od->db_vectors = 1;

    static const char *names[4] = {"metadata.json", "embeddings.npy", "papers.db", "papers.index"};
    int (*const loaders[4])(sv_outdir *, const char *) = {load_metadata, load_vectors, load_db,
                                                          load_index};
    int rc = SCIVEC_OK;
    for (int i = 0; i < 4 && !rc; i++) {
        char *path = sv_path_join(dir, names[i]);
        rc = path ? loaders[i](od, path) : SCIVEC_ENOMEM;
        free(path);
    }
    if (!rc) rc = check_counts(od);
    if (!rc) rc = check_rows(od, check == SV_CHECK_FULL);
    if (rc) {
        sv_outdir_close(od);
        return sv_error(SCIVEC_ENOMEM, "%s: out of memory", dir);
    }
    *out = od;
    return SCIVEC_OK;
}

int sv_outdir_open(const char *dir, sv_outdir **out) {
    int rc = sv_outdir_load(dir, SV_CHECK_SAMPLE, out);
    if (rc) return rc;
    sv_outdir *od = *out;
    if (od->n_problems) {
        rc = sv_error(SCIVEC_EFORMAT, "%s: %s (see `scivec info %s`)", dir, od->problems[0], dir);
        sv_outdir_close(od);
        *out = NULL;
    }
    return rc;
}

void sv_outdir_close(sv_outdir *od) {
    if (!od) return;
    cJSON_Delete(od->metadata);
    sv_npy_map_close(&od->npy);
    sqlite3_close(od->db);
    sv_fq_free(od->index);
    sv_lines_free(&od->problems, &od->n_problems);
    free(od->dir);
    free(od);
}

/* ------------------------------------------------------------------------ */
/* Papers                                                                    */

/* Cross-checks one row before it is used in an answer. */
static int verify_row(const sv_outdir *od, int64_t row) {
    const char *why = od->db_vectors ? check_blob(od, row) : NULL;
    float *scratch = why ? NULL : malloc((size_t)od->n_cols * 2 * sizeof(float));
    if (!why && !scratch) return sv_error(SCIVEC_ENOMEM, "%s: out of memory", od->dir);
    if (!why) why = check_index_row(od, row, scratch);
    free(scratch);
    if (why)
        return sv_error(SCIVEC_EFORMAT, "%s: the embedding of row %lld %s (see `scivec info %s`)",
                        od->dir, (long long)row, why, od->dir);
    return SCIVEC_OK;
}

int sv_outdir_find_paper(const sv_outdir *od, const char *paper_id, int64_t *row) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(od->db, "SELECT row FROM papers WHERE paper_id = ?", -1, &st, NULL) !=
        SQLITE_OK)
        return sv_error(SCIVEC_EIO, "%s/papers.db: %s", od->dir, sqlite3_errmsg(od->db));
    sqlite3_bind_text(st, 1, paper_id, -1, SQLITE_TRANSIENT);
    int step = sqlite3_step(st);
    int64_t found = step == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    if (step != SQLITE_ROW)
        return sv_error(SCIVEC_ENOTFOUND, "paper '%s' is not in %s/papers.db", paper_id, od->dir);
    if (found < 0 || found >= od->n_rows)
        return sv_error(SCIVEC_EFORMAT, "%s/papers.db: paper '%s' has row %lld outside 0..%lld",
                        od->dir, paper_id, (long long)found, (long long)od->n_rows - 1);
    *row = found;
    return verify_row(od, found);
}

static char *dup_column(sqlite3_stmt *st, int i, int *oom) {
    const unsigned char *text = sqlite3_column_text(st, i);
    if (!text) return NULL;
    char *copy = strdup((const char *)text);
    if (!copy) *oom = 1;
    return copy;
}

int sv_outdir_paper(const sv_outdir *od, int64_t row, sv_paper *out) {
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(od->db,
                           "SELECT paper_id, title, categories, year FROM papers "
                           "WHERE row = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return sv_error(SCIVEC_EIO, "%s/papers.db: %s", od->dir, sqlite3_errmsg(od->db));
    sqlite3_bind_int64(st, 1, row);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return sv_error(SCIVEC_EFORMAT, "%s/papers.db: row %lld is missing", od->dir,
                        (long long)row);
    }
    int oom = 0;
    out->paper_id = dup_column(st, 0, &oom);
    out->title = dup_column(st, 1, &oom);
    out->categories = dup_column(st, 2, &oom);
    out->has_year = sqlite3_column_type(st, 3) != SQLITE_NULL;
    out->year = out->has_year ? sqlite3_column_int(st, 3) : 0;
    sqlite3_finalize(st);
    if (oom) {
        sv_paper_clear(out);
        return sv_error(SCIVEC_ENOMEM, "%s: out of memory", od->dir);
    }
    return SCIVEC_OK;
}

void sv_paper_clear(sv_paper *p) {
    free(p->paper_id);
    free(p->title);
    free(p->categories);
    memset(p, 0, sizeof *p);
}

int sv_query_text_check(const char *text, size_t len) {
    for (size_t pos = 0; text && pos < len;) {
        int invalid;
        uint32_t cp = sv_utf8_decode(text, len, &pos, &invalid);
        if (!invalid && cp && !sv_is_whitespace(cp) && !sv_is_control(cp)) return SCIVEC_OK;
    }
    return sv_error(SCIVEC_EINVAL,
                    "the query is empty (nothing but whitespace or control characters): "
                    "give some words to search for");
}

/* ------------------------------------------------------------------------ */
/* Filters                                                                   */

/* A year: 1 to 4 digits (sscanf's %d would overflow silently on long ones). */
static const char *parse_year(const char *s, int *year) {
    int v = 0, n = 0;
    while (*s >= '0' && *s <= '9' && n < 5) v = v * 10 + (*s++ - '0'), n++;
    if (n == 0 || n > 4) return NULL;
    *year = v;
    return s;
}

int sv_filter_parse_year(const char *text, sv_filter *f) {
    int a, b;
    const char *end = parse_year(text, &a);
    if (end && *end == '-')
        end = parse_year(end + 1, &b);
    else
        b = a;
    if (!end || *end != '\0')
        return sv_error(SCIVEC_EINVAL,
                        "--year '%s': expected YEAR or FROM-TO (e.g. 2024, 2020-2024)", text);
    if (b < a) return sv_error(SCIVEC_EINVAL, "--year '%s': the range is empty", text);
    f->has_year = 1;
    f->year_min = a;
    f->year_max = b;
    return SCIVEC_OK;
}

static int category_matches(const char *wanted, const char *listed, size_t listed_len) {
    size_t n = strlen(wanted);
    if (listed_len == n && !memcmp(wanted, listed, n)) return 1;
    /* "cs" stands for the whole archive: cs.CL, cs.CV, ... */
    return !strchr(wanted, '.') && listed_len > n && !memcmp(wanted, listed, n) && listed[n] == '.';
}

int sv_filter_match(const sv_filter *f, const char *categories, int has_year, int year) {
    if (!f) return 1;
    if (f->has_year && (!has_year || year < f->year_min || year > f->year_max)) return 0;
    if (f->n_categories == 0) return 1;
    if (!categories) return 0;
    for (const char *s = categories; *s;) {
        while (*s == ' ') s++;
        size_t len = strcspn(s, " ");
        for (int i = 0; len && i < f->n_categories; i++)
            if (category_matches(f->categories[i], s, len)) return 1;
        s += len;
    }
    return 0;
}

static int filter_active(const sv_filter *f) { return f && (f->has_year || f->n_categories > 0); }

/* Bitmap over rows (bit i of byte i/8) of the papers that pass f. */
static int filter_rows(const sv_outdir *od, const sv_filter *f, uint8_t **bitmap) {
    int64_t n = od->n_rows;
    uint8_t *bits = calloc((size_t)(n / 8 + 1), 1);
    if (!bits) return sv_error(SCIVEC_ENOMEM, "%s: out of memory", od->dir);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(od->db, "SELECT row, categories, year FROM papers", -1, &st, NULL) !=
        SQLITE_OK) {
        free(bits);
        return sv_error(SCIVEC_EIO, "%s/papers.db: %s", od->dir, sqlite3_errmsg(od->db));
    }
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t row = sqlite3_column_int64(st, 0);
        if (row < 0 || row >= n) continue;
        const char *categories = (const char *)sqlite3_column_text(st, 1);
        int has_year = sqlite3_column_type(st, 2) != SQLITE_NULL;
        if (sv_filter_match(f, categories, has_year, sqlite3_column_int(st, 2)))
            bits[row >> 3] |= (uint8_t)(1u << (row & 7));
    }
    sqlite3_finalize(st);
    if (step != SQLITE_DONE) {
        free(bits);
        return sv_error(SCIVEC_EIO, "%s/papers.db: %s", od->dir, sqlite3_errmsg(od->db));
    }
    *bitmap = bits;
    return SCIVEC_OK;
}

/* ------------------------------------------------------------------------ */
/* Top-k                                                                     */

/* Exact cosine scan (query at unit length) over the rows set in allowed
 * (NULL = all): what an approximate index cannot do for a filtered search.
 * Keeps hits[0..*n_hits) sorted, best first. */
static void exact_top_k(const sv_outdir *od, const float *query, int64_t k, const uint8_t *allowed,
                        sv_hit *hits, int64_t *n_hits) {
    int64_t dim = od->n_cols, n_found = 0;
    for (int64_t row = 0; row < od->n_rows; row++) {
        if (allowed && !(allowed[row >> 3] >> (row & 7) & 1)) continue;
        const float *v = od->vectors + row * dim;
        double dot = 0, norm = 0;
        for (int64_t j = 0; j < dim; j++) {
            dot += (double)query[j] * v[j];
            norm += (double)v[j] * v[j];
        }
        double denom = od->normalize ? 1.0 : sqrt(norm);
        float score = denom > 0 ? (float)(dot / denom) : 0.0f;
        if (n_found == k && score <= hits[k - 1].score) continue;
        int64_t i = n_found < k ? n_found++ : k - 1;
        while (i > 0 && hits[i - 1].score < score) {
            hits[i] = hits[i - 1];
            i--;
        }
        hits[i] = (sv_hit){row, score};
    }
    *n_hits = n_found;
}

int sv_outdir_top_k(const sv_outdir *od, const float *query, int64_t k, int64_t exclude_row,
                    const sv_filter *filter, sv_hit *hits, int64_t *n_hits) {
    return sv_outdir_top_k_with(od, query, k, exclude_row, filter, NULL, hits, n_hits);
}

int sv_outdir_top_k_with(const sv_outdir *od, const float *query, int64_t k, int64_t exclude_row,
                         const sv_filter *filter, const sv_search_params *sp, sv_hit *hits,
                         int64_t *n_hits) {
    *n_hits = 0;
    if (k <= 0) return sv_error(SCIVEC_EINVAL, "k must be positive (got %lld)", (long long)k);
    int nprobe = sp ? sp->nprobe : 0, ef_search = sp ? sp->ef_search : 0;
    int rc_params = sv_fq_check_search_params(od->index, nprobe, ef_search);
    if (rc_params) return rc_params;
    int64_t n = od->n_rows;
    if (k > n) k = n;
    if (k == 0) return SCIVEC_OK;

    /* The index holds unit vectors; so must the query for its inner
     * products to be cosines. A normalised output's rows are unit already and
     * are searched as they are, exactly as a Python client would. */
    float *query_unit = NULL;
    if (!od->normalize) {
        double norm2 = 0;
        for (int64_t j = 0; j < od->n_cols; j++) norm2 += (double)query[j] * query[j];
        if (!(query_unit = malloc((size_t)od->n_cols * sizeof *query_unit)))
            return sv_error(SCIVEC_ENOMEM, "out of memory");
        for (int64_t j = 0; j < od->n_cols; j++)
            query_unit[j] = norm2 > 0 ? (float)(query[j] / sqrt(norm2)) : 0.0f;
        query = query_unit;
    }

    uint8_t *allowed = NULL;
    int rc;
    if (filter_active(filter)) {
        if ((rc = filter_rows(od, filter, &allowed))) {
            free(query_unit);
            return rc;
        }
        if (exclude_row >= 0 && exclude_row < n)
            allowed[exclude_row >> 3] &= (uint8_t) ~(1u << (exclude_row & 7));
    }

    if (allowed && !sv_fq_is_flat(od->index)) {
        /* An approximate index would return fewer than k of the rows that
         * pass: scan them exactly. */
        exact_top_k(od, query, k, allowed, hits, n_hits);
    } else {
        /* FAISS's own answer. Without a filter, ask for one more and drop the
         * excluded row, exactly as a Python client would. */
        int64_t k_ask = k + (!allowed && exclude_row >= 0);
        if (k_ask > n) k_ask = n;
        float *scores = malloc((size_t)k_ask * sizeof *scores);
        int64_t *ids = malloc((size_t)k_ask * sizeof *ids);
        rc = scores && ids ? sv_fq_search_with(od->index, query, k_ask, allowed, nprobe, ef_search,
                                               scores, ids)
                           : sv_error(SCIVEC_ENOMEM, "out of memory for k = %lld", (long long)k);
        for (int64_t i = 0; !rc && i < k_ask && *n_hits < k; i++) {
            if (ids[i] < 0 || ids[i] == exclude_row) continue;
            if (ids[i] >= n) {
                rc = sv_error(SCIVEC_EFORMAT, "%s/papers.index returned id %lld outside 0..%lld",
                              od->dir, (long long)ids[i], (long long)n - 1);
                break;
            }
            hits[(*n_hits)++] = (sv_hit){ids[i], scores[i]};
        }
        free(scores);
        free(ids);
        if (rc) {
            free(allowed);
            free(query_unit);
            *n_hits = 0;
            return rc;
        }
    }
    free(allowed);
    free(query_unit);
    /* Every row named in an answer is cross-checked first. */
    for (int64_t i = 0; i < *n_hits; i++)
        if ((rc = verify_row(od, hits[i].row))) {
            *n_hits = 0;
            return rc;
        }
    return SCIVEC_OK;
}
