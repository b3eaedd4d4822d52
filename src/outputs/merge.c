/*
 * merge.c - `scivec merge OUT DIR...`: the folders of `scivec embed --shard
 * K/N` joined into the folder one `scivec embed` of the whole input writes.
 *
 *   check   every shard's metadata.json: its K/N, all N shards there once,
 *           the same options
 *   db      each shard's papers.db attached in turn; its rows renumbered in
 *           input order (paper_source.record is the record's place in the
 *           input, so sorting by it gives a single run's rows)
 *   npy     rows copied in that order from the shards' mapped npy files
 *   index   built once from the merged rows by sv_index_build_from_npy, as
 *           embed builds it (FAISS trains IVF on a sample: k-means keeps at
 *           most 256 points per centroid; nprobe/efSearch tuned, recorded)
 *   commit  rename into OUT, metadata.json last
 *
 * Memory: the row order (a temporary SQLite table), one mapped npy per
 * shard, and the index being built.
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
#include "outputs/fingerprint.h"
#include "outputs/index_build.h"
#include "outputs/metadata.h"
#include "outputs/npy.h"
#include "outputs/outdir.h"
#include "outputs/paper_db.h"

#define WORK_DIR_NAME ".scivec-work"

typedef struct {
    const char *dir;
    cJSON *meta;
    int k;
    int64_t n_papers;
    sv_npy_map npy; /* embeddings.npy */
} shard;

typedef struct {
    char *work, *npy, *db, *index, *metadata; /* in the work dir */
    char *npy_final, *db_final, *index_final, *metadata_final;
} merge_paths;

/* ------------------------------------------------------------------------ */
/* Reading and checking the shards                                           */

/* metadata.json's value at a dotted path ("model.sha256"), NULL if absent. */
static const cJSON *get_path(const cJSON *obj, const char *path) {
    char key[64];
    while (obj && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof key) return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        obj = cJSON_GetObjectItemCaseSensitive(obj, key);
        path += n + (path[n] == '.');
    }
    return obj;
}

static int64_t get_count(const cJSON *meta, const char *path) {
    const cJSON *v = get_path(meta, path);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

static int read_shard(shard *s, const char *dir) {
    memset(s, 0, sizeof *s);
    s->dir = dir;
    char *path = sv_path_join(dir, "metadata.json");
    if (!path) return sv_error(SCIVEC_ENOMEM, "out of memory");
    int rc = sv_json_read_object(path, &s->meta);
    free(path);
    if (rc) return rc;
    const cJSON *k = get_path(s->meta, "shard.k"), *n = get_path(s->meta, "shard.n");
    const cJSON *papers = get_path(s->meta, "n_papers");
    if (!cJSON_IsNumber(k) || !cJSON_IsNumber(n))
        return sv_error(SCIVEC_EINVAL,
                        "%s was not made by `scivec embed --shard K/N` (its metadata.json "
                        "has no shard)",
                        dir);
    if (!cJSON_IsNumber(papers) || papers->valuedouble < 0)
        return sv_error(SCIVEC_EFORMAT, "%s/metadata.json: n_papers is missing", dir);
    s->k = (int)k->valuedouble;
    s->n_papers = (int64_t)papers->valuedouble;
    return SCIVEC_OK;
}

/* Every shard 0..N-1 exactly once. */
static int check_shard_set(const shard *shards, int n_shards) {
    const cJSON *n0 = get_path(shards[0].meta, "shard.n");
    int n = (int)n0->valuedouble;
    for (int i = 0; i < n_shards; i++) {
        int ni = (int)get_path(shards[i].meta, "shard.n")->valuedouble;
        if (ni != n)
            return sv_error(SCIVEC_EINVAL,
                            "%s is shard %d/%d but %s is shard %d/%d: all shards of one "
                            "split are needed",
                            shards[i].dir, shards[i].k, ni, shards[0].dir, shards[0].k, n);
        if (shards[i].k < 0 || shards[i].k >= n)
            return sv_error(SCIVEC_EFORMAT, "%s: shard %d/%d is out of range", shards[i].dir,
                            shards[i].k, n);
        for (int j = 0; j < i; j++)
            if (shards[j].k == shards[i].k)
                return sv_error(SCIVEC_EINVAL, "%s and %s are both shard %d/%d", shards[j].dir,
                                shards[i].dir, shards[i].k, n);
    }
    if (n_shards != n) {
        /* the first missing K */
        for (int k = 0; k < n; k++) {
            int found = 0;
            for (int i = 0; i < n_shards && !found; i++) found = shards[i].k == k;
            if (!found)
                return sv_error(SCIVEC_EINVAL,
                                "shard %d/%d is missing (%d of %d shard folders given)", k, n,
                                n_shards, n);
        }
    }
    return SCIVEC_OK;
}

/* What decides the vectors and the rows: the same in every shard. */
static const char *const same_in_every_shard[] = {
    "embedding_dim",      "model.sha256",         "recipe",
    "pooling.name",       "adapters.papers.name", "adapters.queries.name",
    "normalize",          "max_length",           "truncate",
    "input.format",       "input.id_column",      "input.text_column",
    "input.title_column", "index.factory",        "db_vectors",
};

static int check_same_options(const shard *shards, int n_shards) {
    for (int i = 1; i < n_shards; i++) {
        /* The fingerprint names what differs (a model file, the precision...). */
        const cJSON *fp0 = get_path(shards[0].meta, "fingerprint"),
                    *fpi = get_path(shards[i].meta, "fingerprint");
        if (fp0 || fpi) {
            char context[1024];
            snprintf(context, sizeof context, "%s and %s were embedded differently", shards[0].dir,
                     shards[i].dir);
            if (!fp0 || !fpi)
                return sv_error(SCIVEC_EINVAL,
                                "%s: only one has a fingerprint (made by different scivec "
                                "versions?)",
                                context);
            int rc = sv_fingerprint_check(fp0, fpi, context);
            if (rc) return rc;
        }
        for (size_t f = 0; f < SV_ARRAY_LEN(same_in_every_shard); f++) {
            const char *key = same_in_every_shard[f];
            const cJSON *a = get_path(shards[0].meta, key), *b = get_path(shards[i].meta, key);
            if (!a && !b) continue;
            char *ta = a ? cJSON_PrintUnformatted(a) : NULL,
                 *tb = b ? cJSON_PrintUnformatted(b) : NULL;
            int same = ta && tb && !strcmp(ta, tb);
            int rc = same ? SCIVEC_OK
                          : sv_error(SCIVEC_EINVAL,
                                     "%s differs between the shards: %s in %s, %s in %s "
                                     "(every shard needs the same options)",
                                     key, ta ? ta : "absent", shards[0].dir, tb ? tb : "absent",
                                     shards[i].dir);
            cJSON_free(ta);
            cJSON_free(tb);
            if (rc) return rc;
        }
    }
    return SCIVEC_OK;
}

static int map_shard_npy(shard *s, int dim) {
    char *path = sv_path_join(s->dir, "embeddings.npy");
    if (!path) return sv_error(SCIVEC_ENOMEM, "out of memory");
    int rc = sv_npy_map_open(path, &s->npy);
    if (!rc && (s->npy.n_rows != s->n_papers || s->npy.n_cols != dim))
        rc = sv_error(
            SCIVEC_EFORMAT, "%s holds (%lld, %lld) but metadata.json says %lld papers of dim %d",
            path, (long long)s->npy.n_rows, (long long)s->npy.n_cols, (long long)s->n_papers, dim);
    free(path);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* papers.db                                                                 */

static int sql_fail(sqlite3 *db, const char *path, const char *what) {
    return sv_error(SCIVEC_EIO, "%s: %s: %s", path, what, sqlite3_errmsg(db));
}

static int attach(sqlite3 *db, const char *shard_db) {
    sqlite3_stmt *st = NULL;
    int ok = sqlite3_prepare_v2(db, "ATTACH DATABASE ? AS shard", -1, &st, NULL) == SQLITE_OK &&
             sqlite3_bind_text(st, 1, shard_db, -1, SQLITE_STATIC) == SQLITE_OK &&
             sqlite3_step(st) == SQLITE_DONE;
    sqlite3_finalize(st);
    return ok ? SCIVEC_OK : sql_fail(db, shard_db, "cannot attach");
}

/* Runs sql with ?1 = k (one statement). */
static int exec_for_shard(sqlite3 *db, const char *sql, int k, const char *shard_db) {
    sqlite3_stmt *st = NULL;
    int ok = sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
             sqlite3_bind_int(st, 1, k) == SQLITE_OK && sqlite3_step(st) == SQLITE_DONE;
    int rc = ok ? SCIVEC_OK : sql_fail(db, shard_db, "copying its papers");
    sqlite3_finalize(st);
    return rc;
}

/* temp.map: (shard index, row there, record in the input, paper id). */
static int collect_rows(sqlite3 *db, const shard *shards, int n_shards) {
    if (sqlite3_exec(db,
                     "CREATE TEMP TABLE map (shard INTEGER, old_row INTEGER, record INTEGER, "
                     "paper_id TEXT)",
                     NULL, NULL, NULL) != SQLITE_OK)
        return sql_fail(db, "papers.db", "temporary table");
    int rc = SCIVEC_OK;
    for (int i = 0; i < n_shards && !rc; i++) {
        char *path = sv_path_join(shards[i].dir, "papers.db");
        if (!path) return sv_error(SCIVEC_ENOMEM, "out of memory");
        if (!sv_file_exists(path)) rc = sv_error(SCIVEC_ENOTFOUND, "%s is missing", path);
        if (!rc) rc = attach(db, path);
        if (!rc && sqlite3_exec(db, "SELECT 1 FROM shard.paper_source LIMIT 0", NULL, NULL, NULL) !=
                       SQLITE_OK)
            rc = sv_error(SCIVEC_EFORMAT,
                          "%s has no paper_source table (made by an older scivec?): "
                          "embed the shard again",
                          path);
        if (!rc)
            rc = exec_for_shard(db,
                                "INSERT INTO temp.map SELECT ?1, p.row, s.record, p.paper_id "
                                "FROM shard.papers p JOIN shard.paper_source s ON s.row = p.row",
                                i, path);
        sqlite3_exec(db, "DETACH DATABASE shard", NULL, NULL, NULL);
        free(path);
    }
    return rc;
}

static int first_text(sqlite3 *db, const char *sql, char *out, size_t cap, int64_t *n) {
    sqlite3_stmt *st = NULL;
    int found = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
        if (n) *n = sqlite3_column_int64(st, 1);
        found = 1;
    }
    sqlite3_finalize(st);
    return found;
}

/* The merged row order: by record, that is, input order. */
static int order_rows(sqlite3 *db, const shard *shards, int n_shards) {
    char what[512];
    int64_t n = 0;
    if (first_text(
            db,
            "SELECT paper_id, count(*) FROM temp.map GROUP BY paper_id HAVING count(*) > 1 LIMIT 1",
            what, sizeof what, &n))
        return sv_error(SCIVEC_EINVAL,
                        "paper id %s is in %lld shards: shards must come from one split of "
                        "one input",
                        what, (long long)n);
    if (first_text(
            db, "SELECT record, count(*) FROM temp.map GROUP BY record HAVING count(*) > 1 LIMIT 1",
            what, sizeof what, &n))
        return sv_error(SCIVEC_EINVAL,
                        "input record %s is in %lld shards: the shards were made from "
                        "different inputs",
                        what, (long long)n);
    for (int i = 0; i < n_shards; i++) {
        char sql[128];
        snprintf(sql, sizeof sql, "SELECT 'x', count(*) FROM temp.map WHERE shard = %d", i);
        if (first_text(db, sql, what, sizeof what, &n) && n != shards[i].n_papers)
            return sv_error(SCIVEC_EFORMAT,
                            "%s: papers.db holds %lld papers but metadata.json says %lld",
                            shards[i].dir, (long long)n, (long long)shards[i].n_papers);
    }
    if (sqlite3_exec(
            db,
            "CREATE TEMP TABLE ord AS SELECT row_number() OVER (ORDER BY record) - 1 AS new_row, "
            "shard, old_row FROM temp.map;"
            "CREATE INDEX temp.ord_source ON ord(shard, old_row);"
            "CREATE INDEX temp.ord_new ON ord(new_row);",
            NULL, NULL, NULL) != SQLITE_OK)
        return sql_fail(db, "papers.db", "ordering the rows");
    return SCIVEC_OK;
}

static int copy_papers(sqlite3 *db, const shard *shards, int n_shards) {
    static const char *const copies[] = {
        "INSERT INTO main.papers(row, paper_id, title, categories, year, embedding) "
        "SELECT o.new_row, p.paper_id, p.title, p.categories, p.year, p.embedding "
        "FROM shard.papers p JOIN temp.ord o ON o.shard = ?1 AND o.old_row = p.row",
        "INSERT INTO main.paper_columns(row, name, value) SELECT o.new_row, c.name, c.value "
        "FROM shard.paper_columns c JOIN temp.ord o ON o.shard = ?1 AND o.old_row = c.row",
        "INSERT INTO main.paper_source(row, record, text_sha256) SELECT o.new_row, s.record, "
        "s.text_sha256 "
        "FROM shard.paper_source s JOIN temp.ord o ON o.shard = ?1 AND o.old_row = s.row",
    };
    int rc = SCIVEC_OK;
    for (int i = 0; i < n_shards && !rc; i++) {
        char *path = sv_path_join(shards[i].dir, "papers.db");
        if (!path) return sv_error(SCIVEC_ENOMEM, "out of memory");
        rc = attach(db, path);
        if (!rc && sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
            rc = sql_fail(db, path, "begin");
        for (size_t c = 0; c < SV_ARRAY_LEN(copies) && !rc; c++)
            rc = exec_for_shard(db, copies[c], i, path);
        if (!rc && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            rc = sql_fail(db, path, "commit");
        if (rc) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_exec(db, "DETACH DATABASE shard", NULL, NULL, NULL);
        free(path);
    }
    return rc;
}

/* The rows of every shard in merged order into the work dir's npy. */
static int write_npy(sqlite3 *db, const shard *shards, int dim, const char *path) {
    sv_npy_writer *w = NULL;
    sqlite3_stmt *st = NULL;
    int rc = sv_npy_writer_open(path, dim, &w);
    if (!rc && sqlite3_prepare_v2(db, "SELECT shard, old_row FROM temp.ord ORDER BY new_row", -1,
                                  &st, NULL) != SQLITE_OK)
        rc = sql_fail(db, "papers.db", "reading the row order");
    int step;
    while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
        const shard *s = &shards[sqlite3_column_int(st, 0)];
        int64_t row = sqlite3_column_int64(st, 1);
        rc = sv_npy_writer_append(w, s->npy.rows + row * dim, 1);
    }
    if (!rc && step != SQLITE_DONE) rc = sql_fail(db, "papers.db", "reading the row order");
    sqlite3_finalize(st);
    return sv_npy_writer_finish(w, rc);
}

static int merge_db_and_npy(const shard *shards, int n_shards, int dim, const merge_paths *p) {
    /* The schema comes from paper_db.c: an empty database, filled here. */
    sv_paper_db *empty = NULL;
    int rc = sv_paper_db_create(p->db, &empty);
    if (!rc) rc = sv_paper_db_finish(empty);
    if (rc) return rc;
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(p->db, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        rc = sql_fail(db, p->db, "cannot open");
    if (!rc) rc = collect_rows(db, shards, n_shards);
    if (!rc) rc = order_rows(db, shards, n_shards);
    if (!rc) rc = copy_papers(db, shards, n_shards);
    if (!rc) rc = write_npy(db, shards, dim, p->npy);
    if (sqlite3_close(db) != SQLITE_OK && !rc) rc = sql_fail(db, p->db, "closing");
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Index, metadata, commit                                                   */

/* The one index builder (index_build.h): the factory checked against the
 * merged count, IVF's nprobe / HNSW's efSearch tuned as embed tunes them. */
static int build_index(const char *factory, const shard *shards, int n_shards, int dim,
                       int n_threads, const merge_paths *p, sv_index_built *built) {
    int64_t n = 0;
    for (int i = 0; i < n_shards; i++) n += shards[i].n_papers;
    char source[128];
    snprintf(source, sizeof source, "the merge of %d shards", n_shards);
    sv_index_build_params bp = {
        .factory = factory,
        .n_threads = n_threads,
        .normalized = cJSON_IsTrue(get_path(shards[0].meta, "normalize")),
        .source = source,
    };
    return sv_index_build_from_npy(p->npy, n, dim, &bp, p->index, built);
}

/* Shard 0's metadata with the counts of all shards and the new index. */
static int write_metadata(const shard *shards, int n_shards, const char *factory,
                          const sv_index_built *built, const char *path) {
    cJSON *m = cJSON_Duplicate(shards[0].meta, 1);
    if (!m) return sv_error(SCIVEC_ENOMEM, "out of memory");
    static const char *const top[] = {"n_papers", "rows_read", "n_skipped", "n_truncated"};
    for (size_t f = 0; f < SV_ARRAY_LEN(top); f++) {
        int64_t sum = 0;
        for (int i = 0; i < n_shards; i++) sum += get_count(shards[i].meta, top[f]);
        sv_json_set_number(m, top[f], (double)sum);
    }
    cJSON *skipped = cJSON_GetObjectItemCaseSensitive(m, "skipped");
    static const char *const reasons[] = {"empty_text", "malformed", "duplicate_id"};
    for (size_t f = 0; skipped && f < SV_ARRAY_LEN(reasons); f++) {
        char key[64];
        snprintf(key, sizeof key, "skipped.%s", reasons[f]);
        int64_t sum = 0;
        for (int i = 0; i < n_shards; i++) sum += get_count(shards[i].meta, key);
        sv_json_set_number(skipped, reasons[f], (double)sum);
    }
    int rc = sv_index_record(m, factory, built, get_count(m, "n_papers"));
    char date[32];
    time_t now = time(NULL);
    struct tm utc;
    gmtime_r(&now, &utc);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &utc);
    sv_json_set_string(m, "date_generated", date);
    cJSON_DeleteItemFromObjectCaseSensitive(m, "shard");
    cJSON *merged = cJSON_AddObjectToObject(m, "merged");
    if (merged) cJSON_AddNumberToObject(merged, "n_shards", n_shards);
    if (!rc)
        rc = merged ? sv_metadata_write_json(path, m) : sv_error(SCIVEC_ENOMEM, "out of memory");
    cJSON_Delete(m);
    return rc;
}

static int paths_init(merge_paths *p, const char *out_dir) {
    memset(p, 0, sizeof *p);
    if (!(p->work = sv_path_join(out_dir, WORK_DIR_NAME))) return SCIVEC_ENOMEM;
    p->npy = sv_path_join(p->work, "embeddings.npy");
    p->db = sv_path_join(p->work, "papers.db");
    p->index = sv_path_join(p->work, "papers.index");
    p->metadata = sv_path_join(p->work, "metadata.json");
    p->npy_final = sv_path_join(out_dir, "embeddings.npy");
    p->db_final = sv_path_join(out_dir, "papers.db");
    p->index_final = sv_path_join(out_dir, "papers.index");
    p->metadata_final = sv_path_join(out_dir, "metadata.json");
    if (!p->npy || !p->db || !p->index || !p->metadata || !p->npy_final || !p->db_final ||
        !p->index_final || !p->metadata_final)
        return SCIVEC_ENOMEM;
    return SCIVEC_OK;
}

static void paths_free(merge_paths *p) {
    char **all[] = {&p->work,      &p->npy,      &p->db,          &p->index,         &p->metadata,
                    &p->npy_final, &p->db_final, &p->index_final, &p->metadata_final};
    for (size_t i = 0; i < SV_ARRAY_LEN(all); i++) {
        free(*all[i]);
        *all[i] = NULL;
    }
}

/* Nothing in a merge's work dir is worth keeping: a merge starts over. */
static void clear_work_dir(const merge_paths *p) {
    const char *files[] = {p->npy, p->db, p->index, p->metadata};
    for (size_t i = 0; i < SV_ARRAY_LEN(files); i++) unlink(files[i]);
    char *journal = sv_path_join(p->work, "papers.db-journal");
    if (journal) {
        unlink(journal);
        free(journal);
    }
    rmdir(p->work);
}

static int commit(const merge_paths *p, const char *out_dir) {
    const char *from[] = {p->npy, p->index, p->db, p->metadata};
    const char *to[] = {p->npy_final, p->index_final, p->db_final, p->metadata_final};
    for (size_t i = 0; i < SV_ARRAY_LEN(from); i++)
        if (rename(from[i], to[i]) != 0)
            return sv_error(SCIVEC_EIO, "renaming %s to %s: %s", from[i], to[i], strerror(errno));
    return sv_dir_sync(out_dir);
}

int scivec_merge(const char *out_dir, const char *const *shard_dirs, int n_shards,
                 const scivec_merge_params *params) {
    if (!out_dir || !shard_dirs || n_shards < 1)
        return sv_error(SCIVEC_EINVAL,
                        "merge needs an output folder and at least one shard folder");
    shard *shards = calloc((size_t)n_shards, sizeof *shards);
    merge_paths p;
    memset(&p, 0, sizeof p);
    int lock_fd = -1, made_work_dir = 0;
    int rc = shards ? SCIVEC_OK : sv_error(SCIVEC_ENOMEM, "out of memory");
    if (!rc && paths_init(&p, out_dir)) rc = sv_error(SCIVEC_ENOMEM, "out of memory");

    for (int i = 0; i < n_shards && !rc; i++) rc = read_shard(&shards[i], shard_dirs[i]);
    if (!rc) rc = check_shard_set(shards, n_shards);
    if (!rc) rc = check_same_options(shards, n_shards);
    int dim = rc ? 0 : (int)get_count(shards[0].meta, "embedding_dim");
    for (int i = 0; i < n_shards && !rc; i++) rc = map_shard_npy(&shards[i], dim);

    if (!rc) rc = sv_dir_make(out_dir, NULL);
    if (!rc) rc = sv_dir_lock(out_dir, "merge", &lock_fd);
    if (!rc && sv_file_exists(p.metadata_final))
        rc = sv_error(SCIVEC_EINVAL,
                      "%s already holds an output (metadata.json): merge into a new folder",
                      out_dir);
    if (!rc) {
        clear_work_dir(&p);
        if (mkdir(p.work, 0777) != 0)
            rc = sv_error(SCIVEC_EIO, "%s: %s", p.work, strerror(errno));
        else
            made_work_dir = 1;
    }
    if (!rc) rc = merge_db_and_npy(shards, n_shards, dim, &p);

    const cJSON *recorded = rc ? NULL : get_path(shards[0].meta, "index.factory");
    const char *factory = params && params->index_factory ? params->index_factory
                          : cJSON_IsString(recorded)      ? recorded->valuestring
                                                          : "Flat";
    sv_index_built built;
    memset(&built, 0, sizeof built);
    if (!rc)
        rc =
            build_index(factory, shards, n_shards, dim, params ? params->n_threads : 0, &p, &built);
    if (!rc) rc = write_metadata(shards, n_shards, factory, &built, p.metadata);
    if (!rc) rc = commit(&p, out_dir);
    if (made_work_dir) clear_work_dir(&p);

    if (lock_fd >= 0) close(lock_fd);
    for (int i = 0; shards && i < n_shards; i++) {
        cJSON_Delete(shards[i].meta);
        sv_npy_map_close(&shards[i].npy);
    }
    free(shards);
    paths_free(&p);
    return rc;
}
