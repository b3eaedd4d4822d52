/*
 * cmd_reindex.c - `scivec reindex DIR --index FACTORY`: a new FAISS index
 * from DIR/embeddings.npy, swapped in atomically (scivec_reindex).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "progress.h"
#include "scivec.h"

static const char usage[] =
    "usage: scivec reindex DIR --index FACTORY [--threads N] [--progress]\n"
    "  builds a new FAISS index (index_factory string; Flat = exact cosine) from\n"
    "  DIR/embeddings.npy and swaps it in atomically with metadata.json's index entry;\n"
    "  nothing is embedded again\n";

typedef struct {
    int         show;
    const char *factory;
    sv_progress bar;
    int         bar_started;
} reindex_state;

static void on_progress(const char *stage, int64_t done, int64_t total, void *user) {
    reindex_state *s = user;
    if (!s->show) return;
    if (!strcmp(stage, "tuning")) {
        fprintf(stderr, "scivec reindex: choosing the search parameter for recall@10 >= 0.95 on a sample...\n");
        return;
    }
    if (!strcmp(stage, "training")) {
        if (done == 0)
            fprintf(stderr, "scivec reindex: training the index '%s' on %lld vectors...\n", s->factory,
                    (long long)total);
        return;
    }
    if (!s->bar_started) {
        sv_progress_start(&s->bar, stderr, "vectors indexed", total);
        s->bar_started = 1;
    }
    if (done == total) sv_progress_finish(&s->bar, done);
    else sv_progress_update(&s->bar, done);
}

int cmd_reindex(int argc, char **argv) {
    const char *dir = NULL, *factory = NULL;
    int n_threads = 0, progress_flag = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { fputs(usage, stdout); return 0; }
        if (!strcmp(a, "--index") && i + 1 < argc) { factory = argv[++i]; continue; }
        if (!strcmp(a, "--threads") && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || end == argv[i] || v < 0 || v > 4096) {
                fprintf(stderr, "scivec reindex: --threads wants a whole number >= 0, got '%s'\n", argv[i]);
                return 2;
            }
            n_threads = (int)v;
            continue;
        }
        if (!strcmp(a, "--progress")) { progress_flag = 1; continue; }
        if (a[0] == '-' || dir) {
            fprintf(stderr, "scivec reindex: unexpected argument '%s'\n%s", a, usage);
            return 2;
        }
        dir = a;
    }
    if (!dir || !factory) { fprintf(stderr, "scivec reindex: DIR and --index are required\n%s", usage); return 2; }
    reindex_state state = {.show = progress_flag || isatty(STDERR_FILENO), .factory = factory};
    if (scivec_reindex(dir, factory, n_threads, on_progress, &state)) return cli_fail("reindex");
    fprintf(stderr, "scivec reindex: %s/papers.index is now '%s'\n", dir, factory);
    return 0;
}
