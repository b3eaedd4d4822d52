/*
 * add.c - `scivec add DIR INPUT`: embeds the papers of INPUT whose id is not
 * in DIR yet, with DIR's model and options, and appends them to DIR's four
 * files, all or nothing.
 *
 *   check   DIR's fingerprint against the model and options now (before any
 *           embedding: embed refuses when they differ, naming what)
 *   embed   the new papers, into DIR/.scivec-update/new (sv_embed_run, told
 *           to skip the ids DIR holds and to number records after DIR's)
 *   build   DIR's files + the new rows, beside them in DIR/.scivec-update:
 *           npy copied and appended, papers.db copied and inserted into, the
 *           index read, added to (IVF: no retraining) and written, metadata
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

#include "common.h"
#include "embed.h"
#include "faiss_add.h"
#include "metadata.h"
#include "npy.h"
#include "outdir.h"

typedef struct {
    char *work, *new_dir;
    char *npy, *db, *index, *metadata;                    /* built in work     */
    char *npy_dir, *db_dir, *index_dir, *metadata_dir;    /* DIR's             */
    char *npy_new, *db_new;                               /* the new papers'   */
} add_paths;

static int paths_init(add_paths *p, const char *dir) {
    memset(p, 0, sizeof *p);
    if (!(p->work = sv_path_join(dir, SV_UPDATE_DIR)) || !(p->new_dir = sv_path_join(p->work, "new")))
        return SCIVEC_ENOMEM;
    p->npy = sv_path_join(p->work, "embeddings.npy");
    p->db = sv_path_join(p->work, "papers.db");
    p->index = sv_path_join(p->work, "papers.index");
    p->metadata = sv_path_join(p->work, "metadata.json");
    p->npy_dir = sv_path_join(dir, "embeddings.npy");
    p->db_dir = sv_path_join(dir, "papers.db");
    p->index_dir = sv_path_join(dir, "papers.index");
    p->metadata_dir = sv_path_join(dir, "metadata.json");
    p->npy_new = sv_path_join(p->new_dir, "embeddings.npy");
    p->db_new = sv_path_join(p->new_dir, "papers.db");
    if (!p->npy || !p->db || !p->index || !p->metadata || !p->npy_dir || !p->db_dir || !p->index_dir ||
        !p->metadata_dir || !p->npy_new || !p->db_new)
        return SCIVEC_ENOMEM;
    return SCIVEC_OK;
}

static void paths_free(add_paths *p) {
    char **all[] = {&p->work, &p->new_dir, &p->npy, &p->db, &p->index, &p->metadata, &p->npy_dir,
                    &p->db_dir, &p->index_dir, &p->metadata_dir, &p->npy_new, &p->db_new};
    for (size_t i = 0; i < SV_ARRAY_LEN(all); i++) { free(*all[i]); *all[i] = NULL; }
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
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(meta, "adapters"), role);
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
        return sv_error(SCIVEC_EFORMAT, "%s/metadata.json lacks model.path, recipe or pooling.name", dir);
    if (!cJSON_IsObject(fingerprint))
        return sv_error(SCIVEC_EINVAL, "%s/metadata.json has no fingerprint (made by an older scivec): "
                        "papers cannot be added to it without knowing what made its vectors; embed it again",
                        dir);
    ep->model = model;
    if (sv_recipe_parse(recipe, &ep->recipe) || scivec_pooling_parse(pooling, &ep->pooling))
        return sv_error(SCIVEC_EFORMAT, "%s/metadata.json: unknown recipe '%s' or pooling '%s'", dir, recipe,
                        pooling);
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
    ep->index_factory = "Flat";
    ep->record_base = meta_count(meta, "rows_read", NULL);
    ep->expect_fingerprint = fingerprint;
    return SCIVEC_OK;
}

/* ------------------------------------------------------------------------ */
/* The ids DIR holds: looked up in its papers.db (indexed), not loaded       */

typedef struct {
    sqlite3      *db;
    sqlite3_stmt *find;
} id_lookup;

static int has_id(const char *paper_id, void *user) {
    id_lookup *l = user;
    sqlite3_bind_text(l->find, 1, paper_id, -1, SQLITE_STATIC);
    int found = sqlite3_step(l->find) == SQLITE_ROW;
    sqlite3_reset(l->find);
    return found;
}

static int open_lookup(id_lookup *l, const char *db_path) {
    memset(l, 0, sizeof *l);
    if (sqlite3_open_v2(db_path, &l->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(l->db, "SELECT 1 FROM papers WHERE paper_id = ?", -1, &l->find, NULL) != SQLITE_OK)
        return sv_error(SCIVEC_EIO, "%s: %s", db_path, sqlite3_errmsg(l->db));
    return SCIVEC_OK;
}

static void close_lookup(id_lookup *l) {
    sqlite3_finalize(l->find);
    sqlite3_close(l->db);
    memset(l, 0, sizeof *l);
}

/* ------------------------------------------------------------------------ */
/* Building the new files beside DIR's                                       */

static int copy_file(const char *from, const char *to) {
    int in = open(from, O_RDONLY | O_CLOEXEC);
    int out = in < 0 ? -1 : open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    int rc = in < 0 || out < 0 ? sv_error(SCIVEC_EIO, "copying %s to %s: %s", from, to, strerror(errno))
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

static int append_rows(const add_paths *p, int64_t old_n, const float *rows, int64_t n, int dim) {
    sv_npy_writer *w = NULL;
    int rc = copy_file(p->npy_dir, p->npy);
    if (!rc) rc = sv_npy_writer_open_append(p->npy, dim, old_n, &w);
    if (!rc) rc = sv_npy_writer_append(w, rows, n);
    if (w) {
        if (rc) sv_npy_writer_abort(w);
        else rc = sv_npy_writer_close(w);
    }
    return rc;
}

static int sql(sqlite3 *db, const char *path, const char *statement) {
    if (sqlite3_exec(db, statement, NULL, NULL, NULL) == SQLITE_OK) return SCIVEC_OK;
    return sv_error(SCIVEC_EIO, "%s: %s", path, sqlite3_errmsg(db));
}

static int append_papers(const add_paths *p, int64_t old_n) {
    int rc = copy_file(p->db_dir, p->db);
    sqlite3 *db = NULL;
    if (!rc && sqlite3_open_v2(p->db, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        rc = sv_error(SCIVEC_EIO, "%s: %s", p->db, sqlite3_errmsg(db));
    sqlite3_stmt *st = NULL;
    if (!rc && (sqlite3_prepare_v2(db, "ATTACH DATABASE ? AS new", -1, &st, NULL) != SQLITE_OK ||
                sqlite3_bind_text(st, 1, p->db_new, -1, SQLITE_STATIC) != SQLITE_OK ||
                sqlite3_step(st) != SQLITE_DONE))
        rc = sv_error(SCIVEC_EIO, "%s: %s", p->db_new, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    /* Folders written before paper_source existed get their new rows' sources only. */
    int has_source = !rc && sqlite3_exec(db, "SELECT 1 FROM main.paper_source LIMIT 0", NULL, NULL, NULL) == SQLITE_OK;
    char statement[1024];
    if (!rc) rc = sql(db, p->db, "BEGIN");
    snprintf(statement, sizeof statement,
             "INSERT INTO main.papers(row, paper_id, title, categories, year, embedding) "
             "SELECT row + %lld, paper_id, title, categories, year, embedding FROM new.papers;"
             "INSERT INTO main.paper_columns(row, name, value) "
             "SELECT row + %lld, name, value FROM new.paper_columns;",
             (long long)old_n, (long long)old_n);
    if (!rc) rc = sql(db, p->db, statement);
    snprintf(statement, sizeof statement,
             "INSERT INTO main.paper_source(row, record, text_sha256) "
             "SELECT row + %lld, record, text_sha256 FROM new.paper_source;", (long long)old_n);
    if (!rc && has_source) rc = sql(db, p->db, statement);
    if (!rc) rc = sql(db, p->db, "COMMIT");
    if (db) {
        sqlite3_exec(db, "DETACH DATABASE new", NULL, NULL, NULL);
        if (sqlite3_close(db) != SQLITE_OK && !rc) rc = sv_error(SCIVEC_EIO, "%s: closing", p->db);
    }
    return rc;
}

static void l2_normalize_rows(float *x, int64_t n, int dim) {
    for (int64_t i = 0; i < n; i++) {
        float *row = x + i * dim;
        double sum = 0;
        for (int j = 0; j < dim; j++) sum += (double)row[j] * row[j];
        if (sum <= 0) continue;
        float inv = (float)(1.0 / sqrt(sum));
        for (int j = 0; j < dim; j++) row[j] *= inv;
    }
}

static void set_number(cJSON *obj, const char *key, double value) {
    cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (cJSON_IsNumber(item)) cJSON_SetNumberValue(item, value);
    else cJSON_AddNumberToObject(obj, key, value);
}

/* DIR's metadata with the new papers counted in. */
static int write_metadata(const cJSON *meta, const sv_embed_result *r, const char *path) {
    cJSON *m = cJSON_Duplicate(meta, 1);
    if (!m) return sv_error(SCIVEC_ENOMEM, "out of memory");
    int64_t skipped = r->skipped_empty_text + r->skipped_malformed + r->skipped_duplicate_id;
    int64_t n = meta_count(m, "n_papers", NULL) + r->n_papers;
    set_number(m, "n_papers", (double)n);
    set_number(m, "rows_read", (double)(meta_count(m, "rows_read", NULL) + r->rows_read));
    set_number(m, "n_skipped", (double)(meta_count(m, "n_skipped", NULL) + skipped));
    set_number(m, "n_truncated", (double)(meta_count(m, "n_truncated", NULL) + r->n_truncated));
    cJSON *s = cJSON_GetObjectItemCaseSensitive(m, "skipped");
    if (s) {
        set_number(s, "empty_text", (double)(meta_count(meta, "skipped", "empty_text") + r->skipped_empty_text));
        set_number(s, "malformed", (double)(meta_count(meta, "skipped", "malformed") + r->skipped_malformed));
        set_number(s, "duplicate_id",
                   (double)(meta_count(meta, "skipped", "duplicate_id") + r->skipped_duplicate_id));
    }
    cJSON *index = cJSON_GetObjectItemCaseSensitive(m, "index");
    if (index) set_number(index, "ntotal", (double)n);
    char date[32];
    time_t now = time(NULL);
    struct tm utc;
    gmtime_r(&now, &utc);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &utc);
    cJSON_DeleteItemFromObjectCaseSensitive(m, "date_generated");
    cJSON_AddStringToObject(m, "date_generated", date);
    int rc = sv_metadata_write_json(path, m);
    cJSON_Delete(m);
    return rc;
}

/* The folder embed wrote the new papers into: not part of the commit. */
static void remove_new_dir(const add_paths *p) {
    static const char *const names[] = {"embeddings.npy", "papers.index", "papers.db", "metadata.json"};
    for (size_t i = 0; i < SV_ARRAY_LEN(names); i++) {
        char *path = sv_path_join(p->new_dir, names[i]);
        if (path) unlink(path);
        free(path);
    }
    rmdir(p->new_dir);
}

static int build_and_commit(const char *dir, const cJSON *meta, const add_paths *p,
                            const sv_embed_result *r, int n_threads) {
    float *rows = NULL;
    int64_t n = 0, dim = 0;
    int64_t old_n = meta_count(meta, "n_papers", NULL);
    int rc = sv_npy_read(p->npy_new, &rows, &n, &dim);
    if (!rc) rc = append_rows(p, old_n, rows, n, (int)dim);
    if (!rc) rc = append_papers(p, old_n);
    /* The index ranks by cosine: raw rows (--no-normalize) get normalised. */
    if (!rc && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(meta, "normalize")))
        l2_normalize_rows(rows, n, (int)dim);
    if (!rc) rc = sv_faiss_add_and_write(p->index_dir, old_n, rows, n, (int)dim, n_threads, p->index);
    if (!rc) rc = write_metadata(meta, r, p->metadata);
    free(rows);
    remove_new_dir(p);
    if (!rc) rc = sv_dir_commit_update(dir);
    return rc;
}

int scivec_add(const char *dir, const char *input, const scivec_add_params *params, scivec_add_result *result) {
    scivec_add_result res = {0};
    if (result) *result = res;
    if (!dir || !input) return sv_error(SCIVEC_EINVAL, "add needs a folder and an input");
    add_paths p;
    cJSON *meta = NULL;
    id_lookup ids = {0};
    int lock_fd = -1, made_work = 0;
    char *text = NULL, context[1024];
    int rc = paths_init(&p, dir) ? sv_error(SCIVEC_ENOMEM, "out of memory") : SCIVEC_OK;

    if (!rc) rc = sv_dir_lock(dir, "add", &lock_fd);
    if (!rc) rc = sv_dir_recover_locked(dir);
    if (!rc) rc = sv_read_file(p.metadata_dir, &text, NULL);
    if (!rc && !(meta = cJSON_Parse(text))) rc = sv_error(SCIVEC_EFORMAT, "%s: not valid JSON", p.metadata_dir);
    if (!rc && cJSON_GetObjectItemCaseSensitive(meta, "shard"))
        rc = sv_error(SCIVEC_EINVAL, "%s is one shard of a split: merge the shards, then add to the merged "
                      "folder", dir);
    sv_embed_params ep = sv_embed_default_params();
    if (!rc) rc = params_from_metadata(meta, dir, &ep);
    if (!rc) rc = open_lookup(&ids, p.db_dir);
    if (!rc) {
        if (mkdir(p.work, 0777) != 0) rc = sv_error(SCIVEC_EIO, "%s: %s", p.work, strerror(errno));
        else made_work = 1;
    }
    sv_embed_result er;
    memset(&er, 0, sizeof er);
    if (!rc) {
        snprintf(context, sizeof context, "cannot add to %s: its papers were embedded differently", dir);
        ep.input = input;
        ep.out_dir = p.new_dir;
        ep.n_threads = params ? params->n_threads : 0;
        ep.skip_id = has_id;
        ep.skip_user = &ids;
        ep.expect_context = context;
        rc = sv_embed_run(&ep, &er);
    }
    close_lookup(&ids);
    res.n_added = er.n_papers;
    res.rows_read = er.rows_read;
    res.n_skipped = er.skipped_empty_text + er.skipped_malformed + er.skipped_duplicate_id;
    /* Nothing new: DIR stays as it is. */
    if (!rc && er.n_papers > 0) rc = build_and_commit(dir, meta, &p, &er, ep.n_threads);
    if (made_work) sv_dir_recover_locked(dir);   /* drops what is left of a failed add */
    if (lock_fd >= 0) close(lock_fd);
    if (result) *result = res;
    cJSON_Delete(meta);
    free(text);
    paths_free(&p);
    return rc;
}
