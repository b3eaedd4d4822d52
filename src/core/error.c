/*
 * error.c - the thread-local "last error" behind scivec_last_error().
 *
 * The library never prints from deep inside: a failing function records what
 * went wrong (naming the file, line or tensor) and returns a status; the
 * front end decides how to show it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

static _Thread_local char last_error[1024];

const char *scivec_last_error(void) { return last_error; }

const char *scivec_version(void) { return SCIVEC_VERSION; }

const char *scivec_status_string(int status) {
    switch (status) {
        case SCIVEC_OK: return "ok";
        case SCIVEC_EINVAL: return "invalid argument";
        case SCIVEC_EIO: return "input/output error";
        case SCIVEC_EFORMAT: return "malformed file";
        case SCIVEC_ENOMEM: return "out of memory";
        case SCIVEC_EUNSUPPORTED: return "unsupported";
        case SCIVEC_ENOTFOUND: return "not found";
        case SCIVEC_ETOOLONG: return "input too long";
        default: return "unknown error";
    }
}

int sv_error(int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}

int sv_error_prefix(int status, const char *fmt, ...) {
    char prefix[512], rest[sizeof last_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(rest, last_error, sizeof rest);
    /* Built by hand: the message is cut at the buffer's end on purpose. */
    size_t n_prefix = strlen(prefix), n_rest = strlen(rest), cap = sizeof last_error - 1;
    size_t at = n_prefix < cap ? n_prefix : cap;
    memcpy(last_error, prefix, at);
    if (at + 2 <= cap) {
        memcpy(last_error + at, ": ", 2);
        at += 2;
    }
    size_t n_copy = n_rest < cap - at ? n_rest : cap - at;
    memcpy(last_error + at, rest, n_copy);
    last_error[at + n_copy] = '\0';
    return status;
}

void sv_clear_error(void) { last_error[0] = '\0'; }
