/*
 * common.h - what every file of libscivec shares: error reporting and a few
 * small helpers. Internal; not installed.
 */
#ifndef SV_COMMON_H
#define SV_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "scivec.h"

/* Records a one-line message for scivec_last_error() on this thread and
 * returns status, so that failures read as
 *     return sv_error(SCIVEC_EFORMAT, "%s: tensor %s: ...", path, name);     */
int sv_error(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prefixes the current message with "prefix: " (to add the file or row an
 * inner call did not know about) and returns status unchanged. */
int sv_error_prefix(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void sv_clear_error(void);

/* Reads a whole file into a NUL-terminated buffer owned by the caller. */
int sv_read_file(const char *path, char **data, size_t *size);

/* Joins dir and name with one '/' into a new string (NULL on OOM). */
char *sv_path_join(const char *dir, const char *name);

int sv_file_exists(const char *path);

#define SV_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif /* SV_COMMON_H */
