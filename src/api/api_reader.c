/*
 * api_reader.c - the parts of the public output-folder API that a server
 * and a map page need: more handles on one open folder for more threads
 * (each with its own SQLite connection, since a connection serves one
 * thread at a time), what metadata.json records, the input columns kept
 * in papers.db, all papers in row order, and the map of `scivec map`.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "api/api_outdir.h"
#include "api/api_reader.h"
#include "core/error.h"
#include "core/files.h"
#include "outputs/npy.h"

int scivec_outdir_open_reader(const scivec_outdir *od, scivec_outdir **out) {
    if (!od || !out)
        return sv_error(SCIVEC_EINVAL, "scivec_outdir_open_reader: od and out are required");
    *out = NULL;
    const sv_outdir *inner = od->od;
    char *db_path = sv_path_join(inner->dir, "papers.db");
    scivec_outdir *reader = calloc(1, sizeof *reader);
    sv_outdir *copy = malloc(sizeof *copy);
    int rc = SCIVEC_OK;
    if (!db_path || !reader || !copy) {
        rc = sv_error(SCIVEC_ENOMEM, "out of memory");
        goto done;
    }
    /* The vectors (one mmap), the FAISS index and metadata.json are
     * read-only once opened: shared. Only the connection is the reader's. */
    *copy = *inner;
    copy->db = NULL;
    if (sqlite3_open_v2(db_path, &copy->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        rc = sv_error(SCIVEC_EIO, "%s: cannot open another connection: %s", db_path,
                      copy->db ? sqlite3_errmsg(copy->db) : "out of memory");
        goto done;
    }
    reader->od = copy;
    reader->metadata_text = od->metadata_text;
    reader->is_reader = 1;
    *out = reader;
    reader = NULL;
    copy = NULL;
done:
    if (copy) sqlite3_close(copy->db);
    free(copy);
    free(reader);
    free(db_path);
    return rc;
}

void sv_api_reader_close(sv_outdir *copy) {
    sqlite3_close(copy->db);
    free(copy);
}

const char *scivec_outdir_model_name(const scivec_outdir *od) { return od->od->model_name; }
const char *scivec_outdir_pooling(const scivec_outdir *od) { return od->od->pooling; }
int scivec_outdir_normalize(const scivec_outdir *od) { return od->od->normalize; }
int scivec_outdir_max_length(const scivec_outdir *od) { return od->od->max_length; }

const char *scivec_outdir_precision(const scivec_outdir *od) {
    const cJSON *precision = cJSON_GetObjectItemCaseSensitive(od->od->metadata, "precision");
    return cJSON_IsString(precision) ? precision->valuestring : "fp32";
}

const char *scivec_outdir_text_column(const scivec_outdir *od) {
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(od->od->metadata, "input");
    const cJSON *column = cJSON_GetObjectItemCaseSensitive(input, "text_column");
    return cJSON_IsString(column) ? column->valuestring : "abstract";
}

static int db_error(const scivec_outdir *od) {
    return sv_error(SCIVEC_EIO, "%s/papers.db: %s", od->od->dir,
                    od->od->db ? sqlite3_errmsg(od->od->db) : "could not be read");
}

int scivec_outdir_paper_column(const scivec_outdir *od, int64_t row, const char *name,
                               char **value) {
    if (!od || !name || !value)
        return sv_error(SCIVEC_EINVAL,
                        "scivec_outdir_paper_column: od, name and value are required");
    *value = NULL;
    sqlite3_stmt *st;
    if (!od->od->db || sqlite3_prepare_v2(od->od->db,
                                          "SELECT value FROM paper_columns "
                                          "WHERE row = ? AND name = ?",
                                          -1, &st, NULL) != SQLITE_OK)
        return db_error(od);
    sqlite3_bind_int64(st, 1, row);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    int rc = SCIVEC_OK;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) &&
        !(*value = strdup((const char *)sqlite3_column_text(st, 0))))
        rc = sv_error(SCIVEC_ENOMEM, "out of memory");
    sqlite3_finalize(st);
    return rc;
}

int scivec_outdir_paper_columns(const scivec_outdir *od, int64_t row,
                                void (*fn)(const char *name, const char *value, void *user),
                                void *user) {
    if (!od || !fn)
        return sv_error(SCIVEC_EINVAL, "scivec_outdir_paper_columns: od and fn are required");
    sqlite3_stmt *st;
    if (!od->od->db || sqlite3_prepare_v2(od->od->db,
                                          "SELECT name, value FROM paper_columns "
                                          "WHERE row = ? ORDER BY name",
                                          -1, &st, NULL) != SQLITE_OK)
        return db_error(od);
    sqlite3_bind_int64(st, 1, row);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        const char *value = (const char *)sqlite3_column_text(st, 1);
        if (name) fn(name, value ? value : "", user);
    }
    sqlite3_finalize(st);
    return SCIVEC_OK;
}

int scivec_outdir_each_paper(const scivec_outdir *od,
                             int (*fn)(int64_t row, const scivec_paper *paper, void *user),
                             void *user) {
    if (!od || !fn)
        return sv_error(SCIVEC_EINVAL, "scivec_outdir_each_paper: od and fn are required");
    sqlite3_stmt *st;
    if (!od->od->db || sqlite3_prepare_v2(od->od->db,
                                          "SELECT row, paper_id, title, categories, "
                                          "year FROM papers ORDER BY row",
                                          -1, &st, NULL) != SQLITE_OK)
        return db_error(od);
    int rc = SCIVEC_OK;
    for (int64_t expect = 0; rc == SCIVEC_OK && sqlite3_step(st) == SQLITE_ROW; expect++) {
        int64_t row = sqlite3_column_int64(st, 0);
        if (row != expect) {
            rc = sv_error(SCIVEC_EFORMAT, "%s/papers.db: row %lld is missing", od->od->dir,
                          (long long)expect);
            break;
        }
        /* (the strings stay the statement's: valid during the call) */
        scivec_paper p = {
            .paper_id = (char *)sqlite3_column_text(st, 1),
            .title = (char *)sqlite3_column_text(st, 2),
            .categories = (char *)sqlite3_column_text(st, 3),
            .has_year = sqlite3_column_type(st, 4) != SQLITE_NULL,
            .year = sqlite3_column_type(st, 4) != SQLITE_NULL ? sqlite3_column_int(st, 4) : 0,
        };
        rc = fn(row, &p, user);
    }
    sqlite3_finalize(st);
    return rc;
}

int scivec_map_read(const char *dir, float **xy, int64_t *n_rows, int64_t *n_cols) {
    if (!dir || !xy || !n_rows || !n_cols)
        return sv_error(SCIVEC_EINVAL, "scivec_map_read: dir, xy, n_rows and n_cols are required");
    *xy = NULL;
    char *path = sv_path_join(dir, "map.npy");
    if (!path) return sv_error(SCIVEC_ENOMEM, "out of memory");
    int rc = sv_npy_read(path, xy, n_rows, n_cols);
    free(path);
    return rc;
}

int scivec_map_record(const char *dir, char **json) {
    if (!dir || !json)
        return sv_error(SCIVEC_EINVAL, "scivec_map_record: dir and json are required");
    *json = NULL;
    char *path = sv_path_join(dir, "metadata.json"), *text = NULL;
    size_t size;
    cJSON *meta = NULL;
    if (path && sv_read_file(path, &text, &size) == SCIVEC_OK)
        meta = cJSON_ParseWithLength(text, size);
    const cJSON *record = cJSON_GetObjectItemCaseSensitive(meta, "map");
    *json = record ? cJSON_PrintUnformatted(record) : strdup("null");
    cJSON_Delete(meta);
    free(path);
    free(text);
    return *json ? SCIVEC_OK : sv_error(SCIVEC_ENOMEM, "out of memory");
}
