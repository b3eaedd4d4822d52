/*
 * outdir.h - what every command that writes an output folder needs: mkdir -p,
 * one writer at a time (an flock on the folder), fsync of the folder after
 * renames.
 */
#ifndef SV_OUTDIR_H
#define SV_OUTDIR_H

/* mkdir -p: dir and any missing parents. *first_created (NULL: not
 * wanted) is the outermost directory this call made (NULL: none), so that
 * a failed run can remove what it created and nothing else. */
int sv_dir_make(const char *dir, char **first_created);
/* Removes dir and its parents up to first_created, while they are empty. */
void sv_dir_remove_created(const char *dir, const char *first_created);
/* An flock on the folder itself, released by the kernel however the process
 * ends; *fd receives the descriptor to close. command names the writer in
 * the message ("merge", "add"). */
int sv_dir_lock(const char *dir, const char *command, int *fd);
int sv_dir_sync(const char *dir);
int sv_dir_is_dir(const char *path);

/* A change to a finished folder's four files (add, remove) is built in
 * DIR/.scivec-update/ under the final names, then committed: an empty
 * COMMIT file there (fsynced), the files renamed into DIR (metadata.json
 * last), the work dir removed. A kill -9 before COMMIT leaves DIR as it was;
 * after it, sv_dir_recover finishes the renames. So DIR is always as it was
 * before the change or as it is after, once recovered. */
#define SV_UPDATE_DIR ".scivec-update"
/* Finishes (after COMMIT) or drops (before) an interrupted change. Takes the
 * folder's lock; when another process holds it (a change running), does
 * nothing. Readers call it before loading a folder. */
int sv_dir_recover(const char *dir);
/* The same for a caller that holds the lock already. */
int sv_dir_recover_locked(const char *dir);
/* Commits the change built in DIR/.scivec-update (the caller holds the lock). */
int sv_dir_commit_update(const char *dir);

#endif /* SV_OUTDIR_H */
