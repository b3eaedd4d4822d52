/*
 * seen_ids.c - the ids seen so far, in a temporary SQLite database.
 *
 * SQLite's "" file name makes a private database in a temporary file that
 * is deleted when it is closed. Nothing here has to survive a crash (a
 * resumed run reads its input again from the start), so there is no
 * journal and no sync, and one transaction stays open for the set's whole
 * life: pages past the cache spill to the file, and memory stays at the
 * cache's size.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "outputs/seen_ids.h"

enum { CACHE_KIB = 4096 };

struct sv_seen_ids {
    sqlite3 *db;
    sqlite3_stmt *insert;
};

int sv_seen_ids_open(sv_seen_ids **out) {
    *out = NULL;
    sv_seen_ids *seen = calloc(1, sizeof *seen);
    if (!seen) return sv_error(SCIVEC_ENOMEM, "out of memory");
    char setup[256];
    snprintf(setup, sizeof setup,
             "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -%d;"
             "CREATE TABLE seen (id TEXT PRIMARY KEY) WITHOUT ROWID; BEGIN;",
             CACHE_KIB);
    int rc = SCIVEC_OK;
    if (sqlite3_open_v2("", &seen->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(seen->db, setup, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(seen->db, "INSERT OR IGNORE INTO seen VALUES (?)", -1, &seen->insert,
                           NULL) != SQLITE_OK)
        rc = sv_error(SCIVEC_EIO, "the temporary set of paper ids: %s",
                      seen->db ? sqlite3_errmsg(seen->db) : "out of memory");
    if (rc) {
        sv_seen_ids_close(seen);
        return rc;
    }
    *out = seen;
    return SCIVEC_OK;
}

int sv_seen_ids_add(sv_seen_ids *seen, const char *id) {
    sqlite3_bind_text(seen->insert, 1, id, -1, SQLITE_STATIC);
    int step = sqlite3_step(seen->insert);
    sqlite3_reset(seen->insert);
    if (step != SQLITE_DONE)
        return sv_error(SCIVEC_EIO,
                        "the temporary set of paper ids (in SQLite's temporary folder, "
                        "TMPDIR): %s",
                        sqlite3_errmsg(seen->db));
    return sqlite3_changes(seen->db) == 1;
}

void sv_seen_ids_close(sv_seen_ids *seen) {
    if (!seen) return;
    sqlite3_finalize(seen->insert);
    sqlite3_close(seen->db);
    free(seen);
}
