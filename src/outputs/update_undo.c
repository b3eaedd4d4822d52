/*
 * update_undo.c - `scivec add` appends its rows to a folder's
 * embeddings.npy and papers.db in place instead of copying them (a copy
 * costs ~1 s per GB of folder), with an undo journal that makes the change
 * all or nothing as the rename commit does (outdir.h):
 *
 *   1. DIR/.scivec-update/UNDO = the row count before (fsynced): from here
 *      on, a recovery without COMMIT truncates the npy back to that many
 *      rows and deletes the papers.db rows from there on
 *   2. the rows appended to DIR/embeddings.npy (its header rewritten, fsynced)
 *   3. the papers inserted into DIR/papers.db in one SQLite transaction
 *      (SQLite's own journal covers a kill inside it)
 *   4. COMMIT, the index and metadata.json renamed in; UNDO is removed
 *      before COMMIT, so a finished change is never undone.
 *
 * The index and metadata.json are built beside DIR's (they change whole)
 * before step 2, so DIR's files disagree only for the milliseconds of
 * steps 2-4 while the writer holds the folder's lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/error.h"
#include "core/files.h"
#include "outputs/npy.h"
#include "outputs/outdir.h"
#include "outputs/paper_db.h"
#include "outputs/update_undo.h"

static char *undo_path(const char *dir) {
    char *work = sv_path_join(dir, SV_UPDATE_DIR);
    char *path = work ? sv_path_join(work, SV_UNDO_FILE) : NULL;
    free(work);
    return path;
}

int sv_undo_begin(const char *dir, int64_t old_n, int dim) {
    char *path = undo_path(dir), *work = sv_path_join(dir, SV_UPDATE_DIR);
    int rc = path && work ? SCIVEC_OK : sv_error(SCIVEC_ENOMEM, "out of memory");
    char line[64];
    int len = snprintf(line, sizeof line, "%" PRId64 " %d\n", old_n, dim);
    int fd = rc ? -1 : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (!rc && (fd < 0 || write(fd, line, (size_t)len) != len || fsync(fd) != 0))
        rc = sv_error(SCIVEC_EIO, "%s: %s", path, strerror(errno));
    if (fd >= 0) close(fd);
    if (!rc) rc = sv_dir_sync(work);
    free(path);
    free(work);
    return rc;
}

int sv_undo_append_rows(const char *npy_path, int dim, int64_t old_n, const float *rows,
                        int64_t n_new) {
    sv_npy_writer *w = NULL;
    int rc = sv_npy_writer_open_append(npy_path, dim, old_n, &w);
    if (!rc && n_new > 0) rc = sv_npy_writer_append(w, rows, n_new);
    return sv_npy_writer_finish(w, rc);
}

/* Deletes the rows >= old_n of every table keyed by row. Opening the
 * database read-write first rolls back a transaction a kill interrupted. */
static int drop_db_rows(const char *db_path, int64_t old_n) {
    sqlite3 *db = NULL;
    int rc = SCIVEC_OK;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        rc = sv_error(SCIVEC_EIO, "%s: %s", db_path, db ? sqlite3_errmsg(db) : "out of memory");
    if (!rc) sqlite3_busy_timeout(db, 10000);
    char sql[512];
    snprintf(sql, sizeof sql,
             "BEGIN;"
             "DELETE FROM papers WHERE row >= %" PRId64 ";"
             "DELETE FROM paper_columns WHERE row >= %" PRId64 ";",
             old_n, old_n);
    if (!rc) rc = sv_db_exec(db, db_path, sql);
    /* folders from before paper_source have none */
    snprintf(sql, sizeof sql, "DELETE FROM paper_source WHERE row >= %" PRId64, old_n);
    if (!rc &&
        sqlite3_exec(db, "SELECT 1 FROM paper_source LIMIT 0", NULL, NULL, NULL) == SQLITE_OK)
        rc = sv_db_exec(db, db_path, sql);
    if (!rc)
        rc = sv_db_exec(db, db_path, "COMMIT");
    else if (db)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}

int sv_undo_rollback(const char *dir) {
    char *path = undo_path(dir);
    if (!path) return sv_error(SCIVEC_ENOMEM, "out of memory");
    if (!sv_file_exists(path)) {
        free(path);
        return SCIVEC_OK;
    }
    char *text = NULL;
    int64_t old_n = -1;
    int dim = 0;
    int rc = sv_read_file(path, &text, NULL);
    if (!rc && (sscanf(text, "%" SCNd64 " %d", &old_n, &dim) != 2 || old_n < 0 || dim <= 0))
        rc = sv_error(SCIVEC_EFORMAT, "%s: not an undo record", path);
    char *npy = sv_path_join(dir, "embeddings.npy"), *db = sv_path_join(dir, "papers.db");
    if (!rc && (!npy || !db)) rc = sv_error(SCIVEC_ENOMEM, "out of memory");
    /* Truncating to old_n rows and rewriting the header is what opening for
     * an append does; nothing is appended. */
    if (!rc) rc = sv_undo_append_rows(npy, dim, old_n, NULL, 0);
    if (!rc) rc = drop_db_rows(db, old_n);
    /* Only once both are undone: a failure leaves the record for the next try. */
    if (!rc && unlink(path) != 0) rc = sv_error(SCIVEC_EIO, "%s: %s", path, strerror(errno));
    free(npy);
    free(db);
    free(text);
    free(path);
    return rc;
}

int sv_undo_forget(const char *dir) {
    char *path = undo_path(dir);
    if (!path) return sv_error(SCIVEC_ENOMEM, "out of memory");
    int rc = unlink(path) == 0 || errno == ENOENT
                 ? SCIVEC_OK
                 : sv_error(SCIVEC_EIO, "%s: %s", path, strerror(errno));
    free(path);
    return rc;
}
