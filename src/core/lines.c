/*
 * lines.c - a growing list of formatted one-line messages (lines.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/lines.h"

int sv_lines_addf(char ***lines, int *n, const char *fmt, ...) {
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    char **grown = realloc(*lines, (size_t)(*n + 1) * sizeof *grown);
    if (!grown) return sv_error(SCIVEC_ENOMEM, "out of memory");
    *lines = grown;
    if (!(grown[*n] = strdup(line))) return sv_error(SCIVEC_ENOMEM, "out of memory");
    (*n)++;
    return SCIVEC_OK;
}

void sv_lines_free(char ***lines, int *n) {
    for (int i = 0; i < *n; i++) free((*lines)[i]);
    free(*lines);
    *lines = NULL;
    *n = 0;
}
