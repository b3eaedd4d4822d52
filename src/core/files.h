/*
 * files.h - whole-file reads and path helpers (files.c). Internal.
 */
#ifndef SV_FILES_H
#define SV_FILES_H

#include <stddef.h>

/* Reads a whole file into a NUL-terminated buffer owned by the caller. */
int sv_read_file(const char *path, char **data, size_t *size);

/* Joins dir and name with one '/' into a new string (NULL on OOM). */
char *sv_path_join(const char *dir, const char *name);

int sv_file_exists(const char *path);

#endif /* SV_FILES_H */
