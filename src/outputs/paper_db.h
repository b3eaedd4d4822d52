/*
 * paper_db.h - papers.db, the SQLite table of the papers `scivec embed` kept
 * (schema in docs/OUTPUTS.md): one `papers` row per kept paper with its
 * embedding, and every input column in `paper_columns`.
 */
#ifndef SV_PAPER_DB_H
#define SV_PAPER_DB_H

#include <stddef.h>
#include <stdint.h>

typedef struct sv_paper_db sv_paper_db;

/* Creates path (replacing any file there) with the schema, inside one
 * transaction that sv_paper_db_finish commits. */
int sv_paper_db_create(const char *path, sv_paper_db **out);

typedef struct sv_paper_row {
    int64_t row;
    const char *paper_id;
    const char *title;      /* NULL: no title column */
    size_t title_len;       /* bytes of title (it may hold NULs); 0: strlen */
    const char *categories; /* normalised, NULL when none */
    int year;               /* 0: unknown (NULL) */
    const float *embedding; /* [dim]; NULL: the BLOB is NULL (vectors in the npy only) */
    int dim;
    /* every input column, verbatim */
    int n_columns;
    const char *const *column_names;
    const char *const *values;
    const size_t *value_lens;
    /* where it came from (table paper_source): the record's 0-based place in
     * the input, and the SHA-256 of the text that was embedded */
    int64_t record;
    const char *text_sha256;
} sv_paper_row;

/* Texts are stored as valid UTF-8 without NULs: invalid sequences become
 * U+FFFD, NULs are dropped (papers counted by sv_paper_db_n_repaired). */
int sv_paper_db_add(sv_paper_db *db, const sv_paper_row *paper);
int64_t sv_paper_db_n_repaired(const sv_paper_db *db);
/* Commits, builds the indexes, closes and frees db. */
int sv_paper_db_finish(sv_paper_db *db);
/* Closes without committing (the file is left; remove it). */
void sv_paper_db_abort(sv_paper_db *db);

/* Runs SQL on db; on failure "PATH: SQLite's message" (SCIVEC_EIO). */
struct sqlite3;
int sv_db_exec(struct sqlite3 *db, const char *path, const char *sql);

#endif /* SV_PAPER_DB_H */
