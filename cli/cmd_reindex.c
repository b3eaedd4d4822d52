/*
 * cmd_reindex.c - `scivec reindex DIR --index FACTORY`: a new FAISS index
 * from DIR/embeddings.npy, swapped in atomically (scivec_reindex).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "options.h"
#include "progress.h"
#include "scivec.h"

static const char usage[] =
    "usage: scivec reindex DIR --index FACTORY [--threads N] [--progress]\n"
    "  builds a new FAISS index (index_factory string; Flat = exact cosine) from\n"
    "  DIR/embeddings.npy and swaps it in atomically with metadata.json's index entry;\n"
    "  nothing is embedded again\n";

typedef struct {
    int show;
    const char *factory;
    sv_progress bar;
    int bar_started;
} reindex_state;

static void on_progress(const char *stage, int64_t done, int64_t total, void *user) {
    reindex_state *s = user;
    if (!s->show) return;
    if (!strcmp(stage, "tuning")) {
        fprintf(
            stderr,
            "scivec reindex: choosing the search parameter for recall@10 >= 0.95 on a sample...\n");
        return;
    }
    if (!strcmp(stage, "training")) {
        if (done == 0)
            fprintf(stderr, "scivec reindex: training the index '%s' on %lld vectors...\n",
                    s->factory, (long long)total);
        return;
    }
    if (!s->bar_started) {
        sv_progress_start(&s->bar, stderr, "vectors indexed", total);
        s->bar_started = 1;
    }
    if (done == total)
        sv_progress_finish(&s->bar, done);
    else
        sv_progress_update(&s->bar, done);
}

enum { OPT_INDEX = 256, OPT_THREADS, OPT_PROGRESS };

static const struct option options[] = {
    {"help", no_argument, NULL, 'h'},
    {"index", required_argument, NULL, OPT_INDEX},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"progress", no_argument, NULL, OPT_PROGRESS},
    {NULL, 0, NULL, 0},
};

int cmd_reindex(int argc, char **argv) {
    const char *dir = NULL, *factory = NULL;
    int n_threads = 0, progress_flag = 0, c;
    long long v;
    cli_getopt_begin();
    while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
            case 'h': fputs(usage, stdout); return 0;
            case OPT_INDEX: factory = optarg; break;
            case OPT_THREADS:
                if (!cli_parse_ll(optarg, 0, 4096, &v)) {
                    fprintf(stderr,
                            "scivec reindex: --threads wants a whole number >= 0, got '%s'\n",
                            optarg);
                    return 2;
                }
                n_threads = (int)v;
                break;
            case OPT_PROGRESS: progress_flag = 1; break;
            default:
                fprintf(stderr, "scivec reindex: unexpected argument '%s'\n%s",
                        cli_bad_option(argv), usage);
                return 2;
        }
    }
    for (int i = optind; i < argc; i++) {
        if (dir) {
            fprintf(stderr, "scivec reindex: unexpected argument '%s'\n%s", argv[i], usage);
            return 2;
        }
        dir = argv[i];
    }
    if (!dir || !factory) {
        fprintf(stderr, "scivec reindex: DIR and --index are required\n%s", usage);
        return 2;
    }
    reindex_state state = {.show = progress_flag || isatty(STDERR_FILENO), .factory = factory};
    if (scivec_reindex(dir, factory, n_threads, on_progress, &state)) return cli_fail("reindex");
    fprintf(stderr, "scivec reindex: %s/papers.index is now '%s'\n", dir, factory);
    return 0;
}
