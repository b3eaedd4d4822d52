/*
 * error.h - how every file of libscivec reports a failure: a status code and
 * a one-line message for scivec_last_error(). Internal; not installed.
 */
#ifndef SV_ERROR_H
#define SV_ERROR_H

#include <stddef.h>
#include <stdint.h>

#include "scivec.h"

/* Records a one-line message for scivec_last_error() on this thread and
 * returns status, so that failures read as
 *     return sv_error(SCIVEC_EFORMAT, "%s: tensor %s: ...", path, name);     */
int sv_error(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefixes the current message with "prefix: " (to add the file or row an
 * inner call did not know about) and returns status unchanged. */
int sv_error_prefix(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void sv_clear_error(void);

#define SV_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif /* SV_ERROR_H */
