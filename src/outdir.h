/*
 * outdir.h - what every command that writes an output folder needs: mkdir -p,
 * one writer at a time (an flock on the folder), fsync of the folder after
 * renames. (embed.c has its own copies of these, kept until embed is moved
 * onto these.)
 */
#ifndef SV_OUTDIR_H
#define SV_OUTDIR_H

/* mkdir -p. */
int sv_outdir_make(const char *dir);
/* An flock on the folder itself, released by the kernel however the process
 * ends; *fd receives the descriptor to close. command names the writer in
 * the message ("merge", "add"). */
int sv_outdir_lock(const char *dir, const char *command, int *fd);
int sv_outdir_sync(const char *dir);
int sv_outdir_is_dir(const char *path);

#endif /* SV_OUTDIR_H */
