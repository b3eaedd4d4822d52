/*
 * add.c - `scivec add DIR INPUT [--update]` and `scivec remove DIR ID...`:
 * changes to a finished folder's four files, all or nothing.
 *
 * add embeds the papers of INPUT whose id is not in DIR yet, with DIR's
 * model and options, and appends them; --update also re-embeds the papers
 * whose text (its SHA-256 in paper_source) changed: they are dropped from
 * their rows and appended like new ones. remove drops rows.
 *
 *   check   DIR's fingerprint against the model and options now (before any
 *           embedding: embed refuses when they differ, naming what)
 *   embed   the new papers, into DIR/.scivec-update/new (sv_embed_run, told
 *           to skip the ids DIR holds and to number records after DIR's)
 *   build   beside DIR's files in DIR/.scivec-update: the index read, added
 *           to (IVF: no retraining) and written, or built again by
 *           sv_index_build_from_npy when rows were dropped; metadata; the
 *           map (map_update.h). Rows only appended: DIR's npy and papers.db
 *           grow in place under an UNDO record (update_undo.h); rows dropped:
 *           both are written aside too
 *   commit  sv_dir_commit_update (outdir.h): a kill -9 at any moment leaves
 *           DIR as it was or as it is after
 *
 * The result equals one `scivec embed` of DIR's input followed by INPUT (the
 * papers of INPUT already in DIR count as duplicates, as they would there).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sqlite3.h>

#include "core/error.h"
#include "core/files.h"
#include "core/json.h"
#include "core/l2norm.h"
#include "core/sha256.h"
#include "outputs/embed.h"
#include "outputs/faiss_add.h"
#include "outputs/faiss_shim.h"
#include "outputs/index_build.h"
#include "outputs/map_update.h"
#include "outputs/metadata.h"
#include "outputs/npy.h"
#include "outputs/outdir.h"
#include "outputs/paper_db.h"
#include "outputs/recipe.h"
#include "outputs/update_undo.h"

typedef struct {
    char *work, *new_dir;
    char *npy, *db, *index, *metadata, *map;           /* built in work     */
    char *npy_dir, *db_dir, *index_dir, *metadata_dir; /* DIR's             */
    char *npy_new, *db_new;                            /* the new papers'   */
} add_paths;

static int paths_init(add_paths *p, const char *dir) {
    memset(p, 0, sizeof *p);
    if (!(p->work = sv_path_join(dir, SV_UPDATE_DIR)) ||
        !(p->new_dir = sv_path_join(p->work, "new")))
        return SCIVEC_ENOMEM;
    p->npy = sv_path_join(p->work, "embeddings.npy");
    p->db = sv_path_join(p->work, "papers.db");
    p->index = sv_path_join(p->work, "papers.index");
    p->metadata = sv_path_join(p->work, "metadata.json");
    p->map = sv_path_join(p->work, "map.npy");
    p->npy_dir = sv_path_join(dir, "embeddings.npy");
    p->db_dir = sv_path_join(dir, "papers.db");
    p->index_dir = sv_path_join(dir, "papers.index");
    p->metadata_dir = sv_path_join(dir, "metadata.json");
    p->npy_new = sv_path_join(p->new_dir, "embeddings.npy");
    p->db_new = sv_path_join(p->new_dir, "papers.db");
    if (!p->npy || !p->db || !p->index || !p->metadata || !p->map || !p->npy_dir || !p->db_dir ||
        !p->index_dir || !p->metadata_dir || !p->npy_new || !p->db_new)
        return SCIVEC_ENOMEM;
    return SCIVEC_OK;
}

static void paths_free(add_paths *p) {
    char **all[] = {&p->work,         &p->new_dir, &p->npy,     &p->db,     &p->index,
                    &p->metadata,     &p->map,     &p->npy_dir, &p->db_dir, &p->index_dir,
                    &p->metadata_dir, &p->npy_new, &p->db_new};
    for (size_t i = 0; i < SV_ARRAY_LEN(all); i++) {
        free(*all[i]);
        *all[i] = NULL;
    }
}

/* ------------------------------------------------------------------------ */
/* DIR's metadata -> the embed options                                       */

static const char *meta_string(const cJSON *meta, const char *a, const char *b) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, a);
    if (b) v = cJSON_GetObjectItemCaseSensitive(v, b);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int64_t meta_count(const cJSON *meta, const char *a, const char *b) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, a);
    if (b) v = cJSON_GetObjectItemCaseSensitive(v, b);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

static const char *adapter_path(const cJSON *meta, const char *role) {
    const cJSON *a =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(meta, "adapters"), role);
    const cJSON *path = cJSON_GetObjectItemCaseSensitive(a, "path");
    return cJSON_IsString(path) ? path->valuestring : NULL;
}

/* The options DIR's papers were embedded with, as embed parameters. */
static int params_from_metadata(const cJSON *meta, const char *dir, sv_embed_params *ep) {
    const char *model = meta_string(meta, "model", "path");
    const char *recipe = meta_string(meta, "recipe", NULL);
    const char *pooling = meta_string(meta, "pooling", "name");
    const cJSON *fingerprint = cJSON_GetObjectItemCaseSensitive(meta, "fingerprint");
    if (!model || !recipe || !pooling)
        return sv_error(SCIVEC_EFORMAT, "%s/metadata.json lacks model.path, recipe or pooling.name",
                        dir);
    if (!cJSON_IsObject(fingerprint))
        return sv_error(
            SCIVEC_EINVAL,
            "%s/metadata.json has no fingerprint (made by an older scivec): "
            "papers cannot be added to it without knowing what made its vectors; embed it again",
            dir);
    ep->model = model;
    if (sv_recipe_parse(recipe, &ep->recipe) || scivec_pooling_parse(pooling, &ep->pooling))
        return sv_error(SCIVEC_EFORMAT, "%s/metadata.json: unknown recipe '%s' or pooling '%s'",
                        dir, recipe, pooling);
    ep->normalize = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(meta, "normalize"));
    ep->max_length = (int)meta_count(meta, "max_length", NULL);
    const char *truncate = meta_string(meta, "truncate", NULL);
    ep->truncate_error = truncate && !strcmp(truncate, "error");
    ep->id_column = meta_string(meta, "input", "id_column");
    ep->text_column = meta_string(meta, "input", "text_column");
    ep->title_column = meta_string(meta, "input", "title_column");
    const char *adapter = adapter_path(meta, "papers");
    ep->adapter = adapter ? adapter : "none";
    ep->query_adapter = adapter_path(meta, "queries");
    /* the prompts and precision the papers went through ("" = no prompt;
     * metadata.json's prompts.papers is null when there was none) */
    const char *prompt =
        meta_string(cJSON_GetObjectItemCaseSensitive(meta, "prompts"), "papers", "name");
    const char *query_prompt =
        meta_string(cJSON_GetObjectItemCaseSensitive(meta, "prompts"), "queries", "name");
    ep->prompt = prompt ? prompt : "";
    ep->query_prompt = query_prompt ? query_prompt : "";
    const char *precision = meta_string(meta, "precision", NULL);
    if (precision && scivec_precision_parse(precision, &ep->precision) != SCIVEC_OK)
        return sv_error_prefix(SCIVEC_EFORMAT, "%s/metadata.json", dir);
    /* the quality of that precision was measured (or forced) when DIR was
     * embedded; its fingerprint still has to match */
    ep->force_precision = 1;
    ep->index_factory = "Flat";
    /* the new rows' BLOBs as DIR's (absent: a folder from before the choice, BLOBs) */
    const cJSON *db_vectors = cJSON_GetObjectItemCaseSensitive(meta, "db_vectors");
    ep->db_vectors = !cJSON_IsBool(db_vectors) || cJSON_IsTrue(db_vectors);
    ep->record_base = meta_count(meta, "rows_read", NULL);
    ep->expect_fingerprint = fingerprint;
    return SCIVEC_OK;
}

/* ------------------------------------------------------------------------ */
/* Rows to drop                                                              */

typedef struct {
    int64_t *rows;
    size_t n, cap;
    int failed; /* out of memory while collecting */
} row_list;

static void rows_push(row_list *l, int64_t row) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        int64_t *rows = realloc(l->rows, cap * sizeof *rows);
        if (!rows) {
            l->failed = 1;
            return;
        }
        l->rows = rows;
        l->cap = cap;
    }
    l->rows[l->n++] = row;
}

static int cmp_row(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Sorted, each once. */
static void rows_sort_unique(row_list *l) {
    if (!l->n) return;
    qsort(l->rows, l->n, sizeof *l->rows, cmp_row);
    size_t kept = 1;
    for (size_t i = 1; i < l->n; i++)
        if (l->rows[i] != l->rows[kept - 1]) l->rows[kept++] = l->rows[i];
    l->n = kept;
}

/* ------------------------------------------------------------------------ */
/* The papers DIR holds: looked up in its papers.db (indexed), not loaded    */

typedef struct {
    sqlite3 *db;
    sqlite3_stmt *find;
    int update;        /* a paper whose text changed is not skipped */
    row_list *changed; /* --update: the rows of those papers        */
} id_lookup;

static int has_paper(const char *paper_id, const char *text, void *user) {
    id_lookup *l = user;
    sqlite3_bind_text(l->find, 1, paper_id, -1, SQLITE_STATIC);
    int found = sqlite3_step(l->find) == SQLITE_ROW;
    if (found && l->update && sqlite3_column_type(l->find, 1) == SQLITE_TEXT) {
        uint8_t digest[32];
        char hex[65];
        sv_sha256(text, strlen(text), digest);
        for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", digest[i]);
        if (strcmp(hex, (const char *)sqlite3_column_text(l->find, 1)) != 0) {
            /* embed reads the input twice: the row goes in once (sorted out later) */
            rows_push(l->changed, sqlite3_column_int64(l->find, 0));
            found = 0;
        }
    }
    sqlite3_reset(l->find);
    return found;
}

static int open_lookup(id_lookup *l, const char *db_path) {
    /* Folders from before paper_source: no text hashes, so no paper counts as changed. */
    static const char *const finds[] = {
        "SELECT p.row, s.text_sha256 FROM papers p LEFT JOIN paper_source s ON s.row = p.row WHERE "
        "p.paper_id = ?",
        "SELECT row, NULL FROM papers WHERE paper_id = ?",
    };
    if (sqlite3_open_v2(db_path, &l->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return sv_error(SCIVEC_EIO, "%s: %s", db_path, sqlite3_errmsg(l->db));
    for (size_t i = 0; i < SV_ARRAY_LEN(finds) && !l->find; i++)
        sqlite3_prepare_v2(l->db, finds[i], -1, &l->find, NULL);
    if (!l->find) return sv_error(SCIVEC_EIO, "%s: %s", db_path, sqlite3_errmsg(l->db));
    return SCIVEC_OK;
}

static void close_lookup(id_lookup *l) {
    sqlite3_finalize(l->find);
    sqlite3_close(l->db);
    l->find = NULL;
    l->db = NULL;
}

/* ------------------------------------------------------------------------ */
/* Building the new files beside DIR's                                       */

static int copy_file(const char *from, const char *to) {
    int in = open(from, O_RDONLY | O_CLOEXEC);
    int out = in < 0 ? -1 : open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    int rc = in < 0 || out < 0
                 ? sv_error(SCIVEC_EIO, "copying %s to %s: %s", from, to, strerror(errno))
                 : SCIVEC_OK;
    static char buf[1 << 20];
    ssize_t got;
    while (!rc && (got = read(in, buf, sizeof buf)) != 0) {
        if (got < 0 || write(out, buf, (size_t)got) != got)
            rc = sv_error(SCIVEC_EIO, "copying %s to %s: %s", from, to, strerror(errno));
    }
    if (!rc && fsync(out) != 0) rc = sv_error(SCIVEC_EIO, "%s: fsync: %s", to, strerror(errno));
    if (in >= 0) close(in);
    if (out >= 0) close(out);
    return rc;
}

/* What a change does: drop some rows (sorted), append some (new_rows). */
typedef struct {
    const row_list *drop;
    const float *new_rows;
    const char *new_db; /* the new papers' papers.db; NULL: none */
    int64_t n_new;
    int dim;
    int64_t old_n;
} change;

/* DIR's rows but the dropped ones, streamed, then the new ones (without
 * drops, the rows are appended in place instead: update_undo.h). */
static int write_rows(const add_paths *p, const change *c) {
    sv_npy_writer *w = NULL;
    int rc = sv_npy_writer_open(p->npy, c->dim, &w);
    FILE *in = rc ? NULL : fopen(p->npy_dir, "rb");
    float *row = malloc((size_t)c->dim * sizeof *row);
    char header[4096];
    size_t got = in ? fread(header, 1, sizeof header, in) : 0;
    int64_t rows = 0, cols = 0;
    size_t offset = 0;
    if (!rc && (!in || !row)) rc = sv_error(SCIVEC_EIO, "%s: cannot read it", p->npy_dir);
    if (!rc) rc = sv_npy_parse_header(header, got, p->npy_dir, &rows, &cols, &offset);
    if (!rc && (rows != c->old_n || cols != c->dim))
        rc = sv_error(SCIVEC_EFORMAT, "%s holds (%lld, %lld), metadata.json says (%lld, %d)",
                      p->npy_dir, (long long)rows, (long long)cols, (long long)c->old_n, c->dim);
    if (!rc && fseek(in, (long)offset, SEEK_SET) != 0)
        rc = sv_error(SCIVEC_EIO, "%s: %s", p->npy_dir, strerror(errno));
    size_t next_drop = 0;
    for (int64_t i = 0; i < c->old_n && !rc; i++) {
        if (fread(row, sizeof *row, (size_t)c->dim, in) != (size_t)c->dim) {
            rc = sv_error(SCIVEC_EIO, "%s: short read at row %lld", p->npy_dir, (long long)i);
            break;
        }
        if (next_drop < c->drop->n && c->drop->rows[next_drop] == i) {
            next_drop++;
            continue;
        }
        rc = sv_npy_writer_append(w, row, 1);
    }
    free(row);
    if (in) fclose(in);
    if (!rc) rc = sv_npy_writer_append(w, c->new_rows, c->n_new);
    return sv_npy_writer_finish(w, rc);
}

/* Drops the rows in temp.dropped and numbers the rest 0.. again, in order.
 * (Two steps through negative numbers: row is a key, and SQLite updates in
 * no set order.) */
static int renumber(sqlite3 *db, const char *path, int has_source) {
    static const char *const tables[] = {"papers", "paper_columns", "paper_source"};
    char statement[1024];
    int rc = SCIVEC_OK;
    for (size_t t = 0; t < SV_ARRAY_LEN(tables) && !rc; t++) {
        if (t == 2 && !has_source) break;
        snprintf(statement, sizeof statement,
                 "DELETE FROM main.%s WHERE row IN (SELECT row FROM temp.dropped);"
                 "UPDATE main.%s SET row = -1 - (row - (SELECT count(*) FROM temp.dropped d WHERE "
                 "d.row < %s.row));"
                 "UPDATE main.%s SET row = -1 - row;",
                 tables[t], tables[t], tables[t], tables[t]);
        rc = sv_db_exec(db, path, statement);
    }
    return rc;
}

/* Into a copy of DIR's papers.db in the work dir when rows are dropped;
 * into DIR's own otherwise (in_place: one SQLite transaction, undone by
 * recovery until the change commits, update_undo.h). */
static int write_papers(const add_paths *p, const change *c, int in_place) {
    int64_t old_n = c->old_n - (int64_t)c->drop->n; /* where the new rows start */
    const char *path = in_place ? p->db_dir : p->db;
    int rc = in_place ? SCIVEC_OK : copy_file(p->db_dir, p->db);
    sqlite3 *db = NULL;
    if (!rc && sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        rc = sv_error(SCIVEC_EIO, "%s: %s", path, sqlite3_errmsg(db));
    /* readers (serve) hold shared locks for a query at a time */
    if (!rc) sqlite3_busy_timeout(db, 10000);
    sqlite3_stmt *st = NULL;
    if (!rc && c->new_db &&
        (sqlite3_prepare_v2(db, "ATTACH DATABASE ? AS new", -1, &st, NULL) != SQLITE_OK ||
         sqlite3_bind_text(st, 1, c->new_db, -1, SQLITE_STATIC) != SQLITE_OK ||
         sqlite3_step(st) != SQLITE_DONE))
        rc = sv_error(SCIVEC_EIO, "%s: %s", c->new_db, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    /* Folders written before paper_source existed get their new rows' sources only. */
    int has_source = !rc && sqlite3_exec(db, "SELECT 1 FROM main.paper_source LIMIT 0", NULL, NULL,
                                         NULL) == SQLITE_OK;
    char statement[1024];
    if (!rc) rc = sv_db_exec(db, path, "BEGIN");
    if (!rc && c->drop->n) {
        rc = sv_db_exec(db, path, "CREATE TEMP TABLE dropped (row INTEGER PRIMARY KEY)");
        sqlite3_stmt *ins = NULL;
        if (!rc && sqlite3_prepare_v2(db, "INSERT INTO temp.dropped VALUES (?)", -1, &ins, NULL) !=
                       SQLITE_OK)
            rc = sv_error(SCIVEC_EIO, "%s: %s", path, sqlite3_errmsg(db));
        for (size_t i = 0; i < c->drop->n && !rc; i++) {
            sqlite3_bind_int64(ins, 1, c->drop->rows[i]);
            if (sqlite3_step(ins) != SQLITE_DONE)
                rc = sv_error(SCIVEC_EIO, "%s: %s", path, sqlite3_errmsg(db));
            sqlite3_reset(ins);
        }
        sqlite3_finalize(ins);
        if (!rc) rc = renumber(db, path, has_source);
    }
    snprintf(statement, sizeof statement,
             "INSERT INTO main.papers(row, paper_id, title, categories, year, embedding) "
             "SELECT row + %lld, paper_id, title, categories, year, embedding FROM new.papers;"
             "INSERT INTO main.paper_columns(row, name, value) "
             "SELECT row + %lld, name, value FROM new.paper_columns;",
             (long long)old_n, (long long)old_n);
    if (!rc && c->new_db) rc = sv_db_exec(db, path, statement);
    snprintf(statement, sizeof statement,
             "INSERT INTO main.paper_source(row, record, text_sha256) "
             "SELECT row + %lld, record, text_sha256 FROM new.paper_source;",
             (long long)old_n);
    if (!rc && has_source && c->new_db) rc = sv_db_exec(db, path, statement);
    if (!rc) rc = sv_db_exec(db, path, "COMMIT");
    if (db) {
        if (c->new_db) sqlite3_exec(db, "DETACH DATABASE new", NULL, NULL, NULL);
        if (sqlite3_close(db) != SQLITE_OK && !rc) rc = sv_error(SCIVEC_EIO, "%s: closing", path);
    }
    return rc;
}

/* The index ranks by cosine: raw rows (--no-normalize) are normalised as
 * embed's index build does it (l2norm.h), so add gives embed's bits. */
static void l2_normalize_rows(float *x, int64_t n, int dim) {
    for (int64_t i = 0; i < n; i++) sv_l2_normalize(x + i * dim, dim);
}

/* Without drops the new vectors are added to DIR's index (IVF: into its
 * trained lists; *rebuilt = 0). Rows dropped renumber the rest, which FAISS's
 * ids cannot follow in every index type: the index is built again from the
 * rows by the one builder (index_build.h), its search parameter tuned again. */
static int write_index(const add_paths *p, const cJSON *meta, const change *c, int n_threads,
                       sv_index_built *built, int *rebuilt) {
    int normalize = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(meta, "normalize"));
    *rebuilt = c->drop->n > 0;
    if (!*rebuilt) {
        float *rows = malloc((size_t)(c->n_new ? c->n_new : 1) * (size_t)c->dim * sizeof *rows);
        if (!rows) return sv_error(SCIVEC_ENOMEM, "out of memory");
        memcpy(rows, c->new_rows, (size_t)c->n_new * (size_t)c->dim * sizeof *rows);
        if (!normalize) l2_normalize_rows(rows, c->n_new, c->dim);
        int rc = sv_faiss_add_and_write(p->index_dir, c->old_n, rows, c->n_new, c->dim, n_threads,
                                        p->index);
        free(rows);
        return rc;
    }
    int64_t n = c->old_n - (int64_t)c->drop->n + c->n_new;
    sv_index_build_params bp = {.factory = meta_string(meta, "index", "factory"),
                                .n_threads = n_threads,
                                .normalized = normalize,
                                .source = "the folder after the change"};
    return sv_index_build_from_npy(p->npy, n, c->dim, &bp, p->index, built);
}

/* DIR's metadata with the change counted in: the new input's records (r,
 * NULL for remove) and the rows dropped. n_removed keeps rows_read =
 * n_papers + n_skipped + n_removed. */
static int write_metadata(const char *dir, const add_paths *p, const cJSON *meta, const change *c,
                          const sv_embed_result *r, const sv_index_built *built, int n_threads) {
    cJSON *m = cJSON_Duplicate(meta, 1);
    if (!m) return sv_error(SCIVEC_ENOMEM, "out of memory");
    sv_embed_result none;
    memset(&none, 0, sizeof none);
    if (!r) r = &none;
    int64_t skipped = r->skipped_empty_text + r->skipped_malformed + r->skipped_duplicate_id;
    int64_t n = c->old_n - (int64_t)c->drop->n + c->n_new;
    sv_json_set_number(m, "n_papers", (double)n);
    sv_json_set_number(m, "rows_read", (double)(meta_count(m, "rows_read", NULL) + r->rows_read));
    sv_json_set_number(m, "n_skipped", (double)(meta_count(m, "n_skipped", NULL) + skipped));
    sv_json_set_number(m, "n_truncated",
                       (double)(meta_count(m, "n_truncated", NULL) + r->n_truncated));
    if (c->drop->n)
        sv_json_set_number(m, "n_removed",
                           (double)(meta_count(m, "n_removed", NULL) + (int64_t)c->drop->n));
    cJSON *s = cJSON_GetObjectItemCaseSensitive(m, "skipped");
    if (s) {
        sv_json_set_number(
            s, "empty_text",
            (double)(meta_count(meta, "skipped", "empty_text") + r->skipped_empty_text));
        sv_json_set_number(
            s, "malformed",
            (double)(meta_count(meta, "skipped", "malformed") + r->skipped_malformed));
        sv_json_set_number(
            s, "duplicate_id",
            (double)(meta_count(meta, "skipped", "duplicate_id") + r->skipped_duplicate_id));
    }
    cJSON *index = cJSON_GetObjectItemCaseSensitive(m, "index");
    const char *factory = meta_string(meta, "index", "factory");
    int rc = SCIVEC_OK;
    if (built)
        rc = sv_index_record(m, factory ? factory : "Flat", built, n);
    else if (index)
        sv_json_set_number(index, "ntotal", (double)n);
    char date[32];
    time_t now = time(NULL);
    struct tm utc;
    gmtime_r(&now, &utc);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &utc);
    cJSON_DeleteItemFromObjectCaseSensitive(m, "date_generated");
    cJSON_AddStringToObject(m, "date_generated", date);
    /* DIR's map (if any) keeps its points; new papers are placed on it */
    int map_updated = 0;
    if (!rc)
        rc = sv_map_update(dir, meta, c->drop->rows, c->drop->n, c->new_rows, c->n_new, n_threads,
                           p->map, m, &map_updated);
    if (!rc) rc = sv_metadata_write_json(p->metadata, m);
    cJSON_Delete(m);
    return rc;
}

/* The folder embed wrote the new papers into: not part of the commit. */
static void remove_new_dir(const add_paths *p) {
    static const char *const names[] = {"embeddings.npy", "papers.index", "papers.db",
                                        "metadata.json"};
    for (size_t i = 0; i < SV_ARRAY_LEN(names); i++) {
        char *path = sv_path_join(p->new_dir, names[i]);
        if (path) unlink(path);
        free(path);
    }
    rmdir(p->new_dir);
}

static int build_and_commit(const char *dir, const cJSON *meta, const add_paths *p, change *c,
                            const sv_embed_result *r, int n_threads) {
    sv_index_built built;
    memset(&built, 0, sizeof built);
    int rebuilt = 0, in_place = !c->drop->n;
    /* Rows only appended: DIR's npy and papers.db grow in place, after the
     * index and metadata are built aside (update_undo.h); rows dropped
     * renumber the rest: every file is written aside. */
    int rc = in_place ? SCIVEC_OK : write_rows(p, c);
    if (!rc && !in_place) rc = write_papers(p, c, 0);
    if (!rc) rc = write_index(p, meta, c, n_threads, &built, &rebuilt);
    if (!rc) rc = write_metadata(dir, p, meta, c, r, rebuilt ? &built : NULL, n_threads);
    if (!rc && in_place) rc = sv_undo_begin(dir, c->old_n, c->dim);
    if (!rc && in_place)
        rc = sv_undo_append_rows(p->npy_dir, c->dim, c->old_n, c->new_rows, c->n_new);
    if (!rc && in_place) rc = write_papers(p, c, 1);
    remove_new_dir(p);
    if (!rc) rc = sv_dir_commit_update(dir);
    return rc;
}

/* Lock, finish or drop an interrupted change, read metadata.json. */
static int open_folder(const char *dir, const char *command, const add_paths *p, int *lock_fd,
                       cJSON **meta) {
    int rc = sv_dir_lock(dir, command, lock_fd);
    if (!rc) rc = sv_dir_recover_locked(dir);
    if (!rc) rc = sv_json_read_object(p->metadata_dir, meta);
    if (!rc && cJSON_GetObjectItemCaseSensitive(*meta, "shard"))
        rc = sv_error(SCIVEC_EINVAL,
                      "%s is one shard of a split: merge the shards, then %s in the merged "
                      "folder",
                      dir, command);
    int64_t n = rc ? 0 : meta_count(*meta, "n_papers", NULL);
    if (!rc && (n < 0 || meta_count(*meta, "embedding_dim", NULL) <= 0))
        rc = sv_error(SCIVEC_EFORMAT, "%s: n_papers or embedding_dim is missing", p->metadata_dir);
    return rc;
}

int scivec_add(const char *dir, const char *input, const scivec_add_params *params,
               scivec_add_result *result) {
    scivec_add_result res = {0};
    if (result) *result = res;
    if (!dir || !input) return sv_error(SCIVEC_EINVAL, "add needs a folder and an input");
    add_paths p;
    cJSON *meta = NULL;
    row_list changed = {0};
    id_lookup ids = {0};
    ids.update = params && params->update;
    ids.changed = &changed;
    int lock_fd = -1, made_work = 0;
    char context[1024];
    float *new_rows = NULL;
    int rc = paths_init(&p, dir) ? sv_error(SCIVEC_ENOMEM, "out of memory") : SCIVEC_OK;

    if (!rc) rc = open_folder(dir, "add", &p, &lock_fd, &meta);
    sv_embed_params ep = sv_embed_default_params();
    if (!rc) rc = params_from_metadata(meta, dir, &ep);
    if (!rc) rc = open_lookup(&ids, p.db_dir);
    if (!rc) {
        if (mkdir(p.work, 0777) != 0)
            rc = sv_error(SCIVEC_EIO, "%s: %s", p.work, strerror(errno));
        else
            made_work = 1;
    }
    sv_embed_result er;
    memset(&er, 0, sizeof er);
    if (!rc) {
        snprintf(context, sizeof context, "cannot add to %s: its papers were embedded differently",
                 dir);
        ep.input = input;
        ep.out_dir = p.new_dir;
        ep.n_threads = params ? params->n_threads : 0;
        ep.skip_id = has_paper;
        ep.skip_user = &ids;
        ep.expect_context = context;
        rc = sv_embed_run(&ep, &er);
    }
    close_lookup(&ids);
    if (!rc && changed.failed) rc = sv_error(SCIVEC_ENOMEM, "out of memory");
    rows_sort_unique(&changed);
    int64_t n_new = 0, dim = 0;
    if (!rc && er.n_papers > 0) rc = sv_npy_read(p.npy_new, &new_rows, &n_new, &dim);
    /* Nothing new: DIR stays as it is. */
    if (!rc && er.n_papers > 0) {
        change c = {.drop = &changed,
                    .new_rows = new_rows,
                    .new_db = p.db_new,
                    .n_new = n_new,
                    .dim = (int)dim,
                    .old_n = meta_count(meta, "n_papers", NULL)};
        rc = build_and_commit(dir, meta, &p, &c, &er, ep.n_threads);
    }
    res.n_added = er.n_papers - (int64_t)changed.n;
    res.n_updated = (int64_t)changed.n;
    res.rows_read = er.rows_read;
    res.n_skipped = er.skipped_empty_text + er.skipped_malformed + er.skipped_duplicate_id;
    if (made_work) sv_dir_recover_locked(dir); /* drops what is left of a failed add */
    if (lock_fd >= 0) close(lock_fd);
    if (result) *result = res;
    free(new_rows);
    free(changed.rows);
    cJSON_Delete(meta);
    paths_free(&p);
    return rc;
}

int scivec_remove(const char *dir, const char *const *paper_ids, int n_ids, int n_threads) {
    if (!dir || (n_ids > 0 && !paper_ids) || n_ids < 0)
        return sv_error(SCIVEC_EINVAL, "remove needs a folder and paper ids");
    add_paths p;
    cJSON *meta = NULL;
    row_list drop = {0};
    id_lookup ids = {0};
    int lock_fd = -1;
    int rc = paths_init(&p, dir) ? sv_error(SCIVEC_ENOMEM, "out of memory") : SCIVEC_OK;
    if (!rc) rc = open_folder(dir, "remove", &p, &lock_fd, &meta);
    if (!rc) rc = open_lookup(&ids, p.db_dir);
    /* Every id must be there: a typo removes nothing. */
    for (int i = 0; i < n_ids && !rc; i++) {
        sqlite3_bind_text(ids.find, 1, paper_ids[i], -1, SQLITE_STATIC);
        if (sqlite3_step(ids.find) == SQLITE_ROW)
            rows_push(&drop, sqlite3_column_int64(ids.find, 0));
        else
            rc = sv_error(SCIVEC_ENOTFOUND, "%s: no paper '%s' (nothing was removed)", dir,
                          paper_ids[i]);
        sqlite3_reset(ids.find);
    }
    close_lookup(&ids);
    if (!rc && drop.failed) rc = sv_error(SCIVEC_ENOMEM, "out of memory");
    rows_sort_unique(&drop);
    if (!rc && drop.n) {
        if (mkdir(p.work, 0777) != 0) rc = sv_error(SCIVEC_EIO, "%s: %s", p.work, strerror(errno));
        change c = {.drop = &drop,
                    .dim = (int)meta_count(meta, "embedding_dim", NULL),
                    .old_n = meta_count(meta, "n_papers", NULL)};
        if (!rc) rc = build_and_commit(dir, meta, &p, &c, NULL, n_threads);
        sv_dir_recover_locked(dir);
    }
    if (lock_fd >= 0) close(lock_fd);
    free(drop.rows);
    cJSON_Delete(meta);
    paths_free(&p);
    return rc;
}
