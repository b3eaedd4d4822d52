/*
 * progress.h - a tqdm-like progress line ("  1234/12421 papers  10% |###   |
 * [00:12<01:48, 98.2 papers/s]"), redrawn in place on a stream the caller
 * gives (the CLI passes stderr; the library itself never prints).
 */
#ifndef SV_PROGRESS_H
#define SV_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

typedef struct sv_progress {
    FILE *out;
    const char *unit; /* "papers" */
    int64_t total;    /* <= 0: unknown */
    double start, last_draw;
    int drawn;
} sv_progress;

void sv_progress_start(sv_progress *p, FILE *out, const char *unit, int64_t total);
/* Redraws at most ~10 times a second, and always when done == total. */
void sv_progress_update(sv_progress *p, int64_t done);
/* Draws the final state and ends the line. */
void sv_progress_finish(sv_progress *p, int64_t done);

/* The line itself (no '\r'), for tests: elapsed in seconds. */
void sv_progress_format(char *buf, size_t cap, const char *unit, int64_t done, int64_t total,
                        double elapsed);

#endif /* SV_PROGRESS_H */
