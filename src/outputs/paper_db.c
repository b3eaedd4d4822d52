/*
 * paper_db.c - writes papers.db with SQLite: one transaction, two prepared
 * inserts reused for every paper.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/error.h"
#include "core/files.h"
#include "outputs/paper_db.h"
#include "text/normalize.h"

struct sv_paper_db {
    sqlite3 *db;
    sqlite3_stmt *insert_paper, *insert_column, *insert_source;
    char *path;
    int64_t n_repaired; /* papers with a text made valid UTF-8 */
};

static const char *schema = "PRAGMA journal_mode = DELETE;"
                            "CREATE TABLE papers ("
                            "  row INTEGER PRIMARY KEY,"
                            "  paper_id TEXT NOT NULL UNIQUE,"
                            "  title TEXT,"
                            "  categories TEXT,"
                            "  year INTEGER,"
                            "  embedding BLOB);"
                            "CREATE TABLE paper_columns ("
                            "  row INTEGER,"
                            "  name TEXT,"
                            "  value TEXT,"
                            "  PRIMARY KEY (row, name));"
                            "CREATE TABLE paper_source ("
                            "  row INTEGER PRIMARY KEY,"
                            "  record INTEGER NOT NULL,"
                            "  text_sha256 TEXT);"
                            "BEGIN;";

static int db_fail(sv_paper_db *db, const char *what) {
    return sv_error(SCIVEC_EIO, "%s: %s: %s", db->path, what, sqlite3_errmsg(db->db));
}

static void db_free(sv_paper_db *db) {
    sqlite3_finalize(db->insert_paper);
    sqlite3_finalize(db->insert_column);
    sqlite3_finalize(db->insert_source);
    sqlite3_close(db->db);
    free(db->path);
    free(db);
}

int sv_paper_db_create(const char *path, sv_paper_db **out) {
    *out = NULL;
    sv_paper_db *db = calloc(1, sizeof *db);
    if (!db || !(db->path = strdup(path))) {
        free(db);
        return sv_error(SCIVEC_ENOMEM, "out of memory");
    }
    if (unlink(path) != 0 && sv_file_exists(path)) {
        db_free(db);
        return sv_error(SCIVEC_EIO, "%s: cannot replace the existing file", path);
    }
    /* A run killed mid-write leaves a hot journal: SQLite would "roll it
     * back" into the new file. */
    char *journal = malloc(strlen(path) + sizeof "-journal");
    if (!journal) {
        db_free(db);
        return sv_error(SCIVEC_ENOMEM, "out of memory");
    }
    strcpy(journal, path);
    strcat(journal, "-journal");
    int journal_gone = unlink(journal) == 0 || !sv_file_exists(journal);
    free(journal);
    if (!journal_gone) {
        db_free(db);
        return sv_error(SCIVEC_EIO, "%s: cannot remove the stale journal %s-journal", path, path);
    }
    int rc;
    if (sqlite3_open_v2(path, &db->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK)
        rc = db_fail(db, "cannot create");
    else if (sqlite3_exec(db->db, schema, NULL, NULL, NULL) != SQLITE_OK)
        rc = db_fail(db, "creating tables");
    else if (sqlite3_prepare_v2(
                 db->db,
                 "INSERT INTO papers(row, paper_id, title, categories, year, embedding) "
                 "VALUES (?, ?, ?, ?, ?, ?)",
                 -1, &db->insert_paper, NULL) != SQLITE_OK ||
             sqlite3_prepare_v2(db->db,
                                "INSERT INTO paper_columns(row, name, value) VALUES (?, ?, ?)", -1,
                                &db->insert_column, NULL) != SQLITE_OK ||
             sqlite3_prepare_v2(
                 db->db, "INSERT INTO paper_source(row, record, text_sha256) VALUES (?, ?, ?)", -1,
                 &db->insert_source, NULL) != SQLITE_OK)
        rc = db_fail(db, "preparing inserts");
    else
        rc = SCIVEC_OK;
    if (rc) {
        db_free(db);
        return rc;
    }
    *out = db;
    return SCIVEC_OK;
}

static int step_done(sv_paper_db *db, sqlite3_stmt *stmt, const char *what) {
    int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    if (rc != SQLITE_DONE) return db_fail(db, what);
    return SCIVEC_OK;
}

/* Binds text as valid UTF-8 without NULs (Python's sqlite3 raises on
 * invalid UTF-8 rows): a repaired copy when it is not (*repaired = 1). */
static int bind_valid_text(sqlite3_stmt *s, int i, const char *text, size_t len, int *repaired) {
    char *fixed = NULL;
    size_t fixed_len = 0;
    int rc = sv_utf8_repair(text, len, &fixed, &fixed_len);
    if (rc < 0) return sv_error(SCIVEC_ENOMEM, "out of memory");
    if (rc == 0) {
        sqlite3_bind_text(s, i, text, (int)len, SQLITE_STATIC);
        return SCIVEC_OK;
    }
    *repaired = 1;
    sqlite3_bind_text(s, i, fixed, (int)fixed_len, SQLITE_TRANSIENT);
    free(fixed);
    return SCIVEC_OK;
}

int64_t sv_paper_db_n_repaired(const sv_paper_db *db) { return db ? db->n_repaired : 0; }

int sv_paper_db_add(sv_paper_db *db, const sv_paper_row *p) {
    sqlite3_stmt *s = db->insert_paper;
    int repaired = 0;
    sqlite3_bind_int64(s, 1, p->row);
    int rc = bind_valid_text(s, 2, p->paper_id, strlen(p->paper_id), &repaired);
    if (!rc && p->title)
        rc = bind_valid_text(s, 3, p->title, p->title_len ? p->title_len : strlen(p->title),
                             &repaired);
    if (!rc && p->categories)
        rc = bind_valid_text(s, 4, p->categories, strlen(p->categories), &repaired);
    if (rc) {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        return rc;
    }
    if (p->year) sqlite3_bind_int(s, 5, p->year);
    /* float32 as the machine holds it: little-endian on every host we build for
     * (npy.c refuses to compile elsewhere). */
    if (p->embedding)
        sqlite3_bind_blob(s, 6, p->embedding, p->dim * (int)sizeof(float), SQLITE_STATIC);
    rc = step_done(db, s, "inserting a paper");
    if (rc) return sv_error_prefix(rc, "paper %s (row %lld)", p->paper_id, (long long)p->row);

    s = db->insert_source;
    sqlite3_bind_int64(s, 1, p->row);
    sqlite3_bind_int64(s, 2, p->record);
    if (p->text_sha256) sqlite3_bind_text(s, 3, p->text_sha256, -1, SQLITE_STATIC);
    rc = step_done(db, s, "inserting a paper's source");
    if (rc) return sv_error_prefix(rc, "paper %s (row %lld)", p->paper_id, (long long)p->row);

    s = db->insert_column;
    for (int i = 0; i < p->n_columns; i++) {
        sqlite3_bind_int64(s, 1, p->row);
        rc = bind_valid_text(s, 2, p->column_names[i], strlen(p->column_names[i]), &repaired);
        if (!rc) rc = bind_valid_text(s, 3, p->values[i], p->value_lens[i], &repaired);
        if (rc) {
            sqlite3_reset(s);
            sqlite3_clear_bindings(s);
            return rc;
        }
        rc = step_done(db, s, "inserting a column");
        /* Input headers may repeat a name: the first value is kept. */
        if (rc && sqlite3_extended_errcode(db->db) == SQLITE_CONSTRAINT_PRIMARYKEY) continue;
        if (rc) return sv_error_prefix(rc, "paper %s column %s", p->paper_id, p->column_names[i]);
    }
    db->n_repaired += repaired;
    return SCIVEC_OK;
}

int sv_paper_db_finish(sv_paper_db *db) {
    int rc = SCIVEC_OK;
    sqlite3_finalize(db->insert_paper);
    sqlite3_finalize(db->insert_column);
    sqlite3_finalize(db->insert_source);
    db->insert_paper = db->insert_column = db->insert_source = NULL;
    if (sqlite3_exec(db->db,
                     "CREATE INDEX papers_paper_id ON papers(paper_id);"
                     "CREATE INDEX papers_year ON papers(year);"
                     "COMMIT;",
                     NULL, NULL, NULL) != SQLITE_OK)
        rc = db_fail(db, "committing");
    if (sqlite3_close(db->db) != SQLITE_OK && !rc) rc = db_fail(db, "closing");
    db->db = NULL;
    db_free(db);
    return rc;
}

void sv_paper_db_abort(sv_paper_db *db) {
    if (db) db_free(db);
}

int sv_db_exec(sqlite3 *db, const char *path, const char *sql) {
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK) return SCIVEC_OK;
    return sv_error(SCIVEC_EIO, "%s: %s", path, sqlite3_errmsg(db));
}
