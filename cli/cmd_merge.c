/*
 * cmd_merge.c - `scivec merge OUT DIR...`: joins the folders of `scivec embed
 * --shard K/N` (src/merge.c).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "scivec.h"

static const char usage[] =
    "usage: scivec merge OUT DIR... [--index FACTORY] [--threads N]\n"
    "  joins the folders written by `scivec embed --shard K/N` (all N of them, made\n"
    "  with the same options) into OUT, as one `scivec embed` of the whole input\n"
    "  writes it: papers in input order, the index built once (docs/SCALE.md)\n"
    "  --index FACTORY      FAISS index_factory string (default: the shards')\n"
    "  --threads N          threads for building the index (default: all cores)\n";

int cmd_merge(int argc, char **argv) {
    scivec_merge_params params = {0};
    const char *out = NULL;
    const char **dirs = calloc((size_t)argc, sizeof *dirs);
    int n_dirs = 0;
    if (!dirs) { fprintf(stderr, "scivec merge: out of memory\n"); return 1; }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            free(dirs);
            return 0;
        } else if (!strcmp(a, "--index") && i + 1 < argc) {
            params.index_factory = argv[++i];
        } else if (!strcmp(a, "--threads") && i + 1 < argc) {
            char *end;
            errno = 0;
            long v = strtol(argv[++i], &end, 10);
            if (errno || *end || end == argv[i] || v < 0 || v > INT_MAX) {
                fprintf(stderr, "scivec merge: --threads wants a whole number >= 0, got '%s'\n", argv[i]);
                free(dirs);
                return 2;
            }
            params.n_threads = (int)v;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "scivec merge: unknown option or missing value: '%s'\n%s", a, usage);
            free(dirs);
            return 2;
        } else if (!out) {
            out = a;
        } else {
            dirs[n_dirs++] = a;
        }
    }
    if (!out || n_dirs == 0) {
        fprintf(stderr, "scivec merge: OUT and at least one shard folder are required\n%s", usage);
        free(dirs);
        return 2;
    }
    int rc = scivec_merge(out, dirs, n_dirs, &params);
    free(dirs);
    if (rc) return cli_fail("merge");
    fprintf(stderr, "scivec merge: %d shards merged into %s\n", n_dirs, out);
    return 0;
}
