/*
 * cmd_remove.c - `scivec remove DIR ID...`: deletes papers from an output
 * folder (src/add.c).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "scivec.h"

static const char usage[] =
    "usage: scivec remove DIR ID... [--threads N]\n"
    "  deletes the papers with these ids from DIR (all or nothing; an unknown id\n"
    "  removes none); the rows after them move up and the index is built again\n"
    "  --threads N          threads for building the index (default: all cores)\n";

int cmd_remove(int argc, char **argv) {
    const char *dir = NULL;
    const char **ids = calloc((size_t)argc, sizeof *ids);
    int n_ids = 0, n_threads = 0;
    if (!ids) { fprintf(stderr, "scivec remove: out of memory\n"); return 1; }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            free(ids);
            return 0;
        } else if (!strcmp(a, "--threads") && i + 1 < argc) {
            char *end;
            errno = 0;
            long v = strtol(argv[++i], &end, 10);
            if (errno || *end || end == argv[i] || v < 0 || v > INT_MAX) {
                fprintf(stderr, "scivec remove: --threads wants a whole number >= 0, got '%s'\n", argv[i]);
                free(ids);
                return 2;
            }
            n_threads = (int)v;
        } else if (!strcmp(a, "--")) {
            for (i++; i < argc; i++) ids[n_ids++] = argv[i];
        } else if (a[0] == '-' && a[1] != '\0' && !dir) {
            fprintf(stderr, "scivec remove: unknown option or missing value: '%s'\n%s", a, usage);
            free(ids);
            return 2;
        } else if (!dir) {
            dir = a;
        } else {
            ids[n_ids++] = a;
        }
    }
    if (!dir || n_ids == 0) {
        fprintf(stderr, "scivec remove: DIR and at least one paper id are required\n%s", usage);
        free(ids);
        return 2;
    }
    int rc = scivec_remove(dir, ids, n_ids, n_threads);
    free(ids);
    if (rc) return cli_fail("remove");
    fprintf(stderr, "scivec remove: %d papers removed from %s\n", n_ids, dir);
    return 0;
}
