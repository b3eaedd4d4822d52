/*
 * cmd_merge.c - `scivec merge OUT DIR...`: joins the folders of `scivec embed
 * --shard K/N` (src/merge.c).
 */
#include <stdio.h>

#include "commands.h"
#include "options.h"
#include "scivec.h"

static const char usage[] =
    "usage: scivec merge OUT DIR... [--index FACTORY] [--threads N]\n"
    "  joins the folders written by `scivec embed --shard K/N` (all N of them, made\n"
    "  with the same options) into OUT, as one `scivec embed` of the whole input\n"
    "  writes it: papers in input order, the index built once (docs/SCALE.md)\n"
    "  --index FACTORY      FAISS index_factory string (default: the shards')\n"
    "  --threads N          threads for building the index (default: all cores)\n";

enum { OPT_INDEX = 256, OPT_THREADS };

static const struct option options[] = {
    {"help", no_argument, NULL, 'h'},
    {"index", required_argument, NULL, OPT_INDEX},
    {"threads", required_argument, NULL, OPT_THREADS},
    {NULL, 0, NULL, 0},
};

int cmd_merge(int argc, char **argv) {
    scivec_merge_params params = {0};
    int c;
    cli_getopt_begin();
    while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
            case 'h': fputs(usage, stdout); return 0;
            case OPT_INDEX: params.index_factory = optarg; break;
            case OPT_THREADS:
                if (!cli_int_option("merge", "--threads", optarg, 0, &params.n_threads)) return 2;
                break;
            default:
                fprintf(stderr, "scivec merge: unknown option or missing value: '%s'\n%s",
                        cli_bad_option(argv), usage);
                return 2;
        }
    }
    /* OUT, then the shard folders */
    const char *out = optind < argc ? argv[optind++] : NULL;
    const char *const *dirs = (const char *const *)(argv + optind);
    int n_dirs = argc - optind;
    if (!out || n_dirs == 0) {
        fprintf(stderr, "scivec merge: OUT and at least one shard folder are required\n%s", usage);
        return 2;
    }
    if (scivec_merge(out, dirs, n_dirs, &params)) return cli_fail("merge");
    fprintf(stderr, "scivec merge: %d shards merged into %s\n", n_dirs, out);
    return 0;
}
