/*
 * options.c - getopt_long's set-up for the commands and the number parsers
 * they share (see options.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "options.h"

void cli_getopt_begin(void) {
    optind = 0; /* 0, not 1: glibc then also forgets a half-read "-abc" */
    opterr = 0;
}

const char *cli_bad_option(char **argv) {
    /* A long option always takes its whole word (optind moved past it); a
     * short one may sit inside a cluster ("-xk"): name it alone. */
    static _Thread_local char short_option[3];
    const char *word = argv[optind - 1];
    if (optopt > 0 && optopt < 128 && !(word[0] == '-' && word[1] == '-')) {
        snprintf(short_option, sizeof short_option, "-%c", optopt);
        return short_option;
    }
    return word;
}

int cli_parse_ll(const char *text, long long lo, long long hi, long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v < lo || v > hi) return 0;
    *out = v;
    return 1;
}

int cli_int_option(const char *command, const char *flag, const char *text, int min, int *out) {
    long long v;
    if (!cli_parse_ll(text, min, INT_MAX, &v)) {
        fprintf(stderr, "scivec %s: %s wants a whole number >= %d, got '%s'\n", command, flag, min,
                text);
        return 0;
    }
    *out = (int)v;
    return 1;
}

int cli_parse_double(const char *text, double *out) {
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end) return 0;
    *out = v;
    return 1;
}
