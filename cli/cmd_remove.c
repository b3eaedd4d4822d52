/*
 * cmd_remove.c - `scivec remove DIR ID...`: deletes papers from an output
 * folder (src/add.c).
 */
#include <stdio.h>

#include "commands.h"
#include "options.h"
#include "scivec.h"

static const char usage[] =
    "usage: scivec remove DIR ID... [--threads N]\n"
    "  deletes the papers with these ids from DIR (all or nothing; an unknown id\n"
    "  removes none); the rows after them move up and the index is built again\n"
    "  --threads N          threads for building the index (default: all cores)\n";

enum { OPT_THREADS = 256 };

static const struct option options[] = {
    {"help", no_argument, NULL, 'h'},
    {"threads", required_argument, NULL, OPT_THREADS},
    {NULL, 0, NULL, 0},
};

int cmd_remove(int argc, char **argv) {
    const char *dir = NULL;
    int n_threads = 0, c;
    cli_getopt_begin();
    while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
            case 'h': fputs(usage, stdout); return 0;
            case OPT_THREADS:
                if (!cli_int_option("remove", "--threads", optarg, 0, &n_threads)) return 2;
                break;
            default:
                fprintf(stderr, "scivec remove: unknown option or missing value: '%s'\n%s",
                        cli_bad_option(argv), usage);
                return 2;
        }
    }
    /* DIR, then the ids ("--" before ids that start with '-') */
    if (optind < argc) dir = argv[optind++];
    const char *const *ids = (const char *const *)(argv + optind);
    int n_ids = argc - optind;
    if (!dir || n_ids == 0) {
        fprintf(stderr, "scivec remove: DIR and at least one paper id are required\n%s", usage);
        return 2;
    }
    if (scivec_remove(dir, ids, n_ids, n_threads)) return cli_fail("remove");
    fprintf(stderr, "scivec remove: %d papers removed from %s\n", n_ids, dir);
    return 0;
}
