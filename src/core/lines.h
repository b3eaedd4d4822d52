/*
 * lines.h - a growing list of formatted one-line messages (lines.c): what a
 * folder's checks found, what a search wants to tell its user. The library
 * does not print; its callers read the lines.
 */
#ifndef SV_LINES_H
#define SV_LINES_H

/* Appends the formatted line (cut at 1023 bytes) to *lines[*n]; SCIVEC_OK
 * or SCIVEC_ENOMEM (with the error set). */
int sv_lines_addf(char ***lines, int *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Frees the lines and the list, and sets both to empty. */
void sv_lines_free(char ***lines, int *n);

#endif /* SV_LINES_H */
