/*
 * cmd_add.c - `scivec add DIR INPUT`: appends INPUT's new papers to an
 * output folder (src/add.c).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "scivec.h"

static const char usage[] =
    "usage: scivec add DIR INPUT [--update] [--threads N]\n"
    "  embeds the papers of INPUT whose id is not in DIR yet, with DIR's model and\n"
    "  options, and appends them to DIR (all or nothing; docs/SCALE.md)\n"
    "  --update             also re-embed the papers whose text changed (they move\n"
    "                       to the end: their row numbers change)\n"
    "  --threads N          threads for the model (default: all cores)\n";

int cmd_add(int argc, char **argv) {
    scivec_add_params params = {0};
    const char *dir = NULL, *input = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            return 0;
        } else if (!strcmp(a, "--update")) {
            params.update = 1;
        } else if (!strcmp(a, "--threads") && i + 1 < argc) {
            char *end;
            errno = 0;
            long v = strtol(argv[++i], &end, 10);
            if (errno || *end || end == argv[i] || v < 0 || v > INT_MAX) {
                fprintf(stderr, "scivec add: --threads wants a whole number >= 0, got '%s'\n", argv[i]);
                return 2;
            }
            params.n_threads = (int)v;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "scivec add: unknown option or missing value: '%s'\n%s", a, usage);
            return 2;
        } else if (!dir) {
            dir = a;
        } else if (!input) {
            input = a;
        } else {
            fprintf(stderr, "scivec add: unexpected argument '%s'\n%s", a, usage);
            return 2;
        }
    }
    if (!dir || !input) {
        fprintf(stderr, "scivec add: DIR and INPUT are required\n%s", usage);
        return 2;
    }
    scivec_add_result res;
    if (scivec_add(dir, input, &params, &res)) return cli_fail("add");
    fprintf(stderr, "scivec add: %lld papers added to %s, %lld updated; %lld records read, %lld skipped "
            "(already there, duplicate, empty or malformed)\n", (long long)res.n_added, dir,
            (long long)res.n_updated, (long long)res.rows_read, (long long)res.n_skipped);
    return 0;
}
