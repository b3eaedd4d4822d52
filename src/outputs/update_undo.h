/*
 * update_undo.h - appending to a folder's embeddings.npy and papers.db in
 * place, undone by recovery unless the change committed (update_undo.c).
 */
#ifndef SV_UPDATE_UNDO_H
#define SV_UPDATE_UNDO_H

#include <stdint.h>

#define SV_UNDO_FILE "UNDO"

/* Records DIR's row count before the change in DIR/.scivec-update/UNDO
 * (fsynced): call before touching DIR's files. */
int sv_undo_begin(const char *dir, int64_t old_n, int dim);
/* Appends n_new rows to npy_path, which holds old_n rows of dim (a file
 * scivec wrote); rows may be NULL when n_new is 0. Fsynced. */
int sv_undo_append_rows(const char *npy_path, int dim, int64_t old_n, const float *rows,
                        int64_t n_new);
/* Recovery of a change that did not commit: DIR's npy back to the recorded
 * rows, papers.db's later rows deleted, UNDO removed. No UNDO: nothing. */
int sv_undo_rollback(const char *dir);
/* Removes UNDO once the change committed (before COMMIT is removed). */
int sv_undo_forget(const char *dir);

#endif /* SV_UPDATE_UNDO_H */
