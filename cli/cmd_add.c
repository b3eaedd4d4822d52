/*
 * cmd_add.c - `scivec add DIR INPUT`: appends INPUT's new papers to an
 * output folder (src/add.c).
 */
#include <stdio.h>

#include "commands.h"
#include "options.h"
#include "scivec.h"

static const char usage[] =
    "usage: scivec add DIR INPUT [--update] [--threads N]\n"
    "  embeds the papers of INPUT whose id is not in DIR yet, with DIR's model and\n"
    "  options, and appends them to DIR (all or nothing; docs/SCALE.md)\n"
    "  --update             also re-embed the papers whose text changed (they move\n"
    "                       to the end: their row numbers change)\n"
    "  --threads N          threads for the model (default: all cores)\n";

enum { OPT_UPDATE = 256, OPT_THREADS };

static const struct option options[] = {
    {"help", no_argument, NULL, 'h'},
    {"update", no_argument, NULL, OPT_UPDATE},
    {"threads", required_argument, NULL, OPT_THREADS},
    {NULL, 0, NULL, 0},
};

int cmd_add(int argc, char **argv) {
    scivec_add_params params = {0};
    const char *dir = NULL, *input = NULL;
    int c;
    cli_getopt_begin();
    while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
            case 'h': fputs(usage, stdout); return 0;
            case OPT_UPDATE: params.update = 1; break;
            case OPT_THREADS:
                if (!cli_int_option("add", "--threads", optarg, 0, &params.n_threads)) return 2;
                break;
            default:
                fprintf(stderr, "scivec add: unknown option or missing value: '%s'\n%s",
                        cli_bad_option(argv), usage);
                return 2;
        }
    }
    for (int i = optind; i < argc; i++) {
        if (!dir) {
            dir = argv[i];
        } else if (!input) {
            input = argv[i];
        } else {
            fprintf(stderr, "scivec add: unexpected argument '%s'\n%s", argv[i], usage);
            return 2;
        }
    }
    if (!dir || !input) {
        fprintf(stderr, "scivec add: DIR and INPUT are required\n%s", usage);
        return 2;
    }
    scivec_add_result res;
    if (scivec_add(dir, input, &params, &res)) return cli_fail("add");
    fprintf(stderr,
            "scivec add: %lld papers added to %s, %lld updated; %lld records read, %lld skipped "
            "(already there, duplicate, empty or malformed)\n",
            (long long)res.n_added, dir, (long long)res.n_updated, (long long)res.rows_read,
            (long long)res.n_skipped);
    return 0;
}
