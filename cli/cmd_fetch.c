/*
 * cmd_fetch.c - `scivec fetch ORG/NAME[@REV]`: downloads what scivec needs of
 * a model (or adapter) repo from the HuggingFace hub into the HF cache and
 * prints the snapshot folder; nothing is run.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "options.h"
#include "scivec.h"

static const char usage[] =
    "usage: scivec fetch ORG/NAME[@REVISION] [--offline] [--quiet]\n"
    "  downloads config, tokenizer, weights (model.safetensors preferred, else sharded\n"
    "  safetensors, else pytorch_model.bin) and adapter files of a hub repo into the\n"
    "  HuggingFace cache (the one Python uses) and prints the snapshot folder.\n"
    "  Always asks the hub for the revision's current commit; --offline (or\n"
    "  HF_HUB_OFFLINE=1) only looks in the cache.\n"
    "  env: HF_HUB_CACHE, HF_HOME, HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE, https_proxy\n"
    "  --quiet  no progress bar (it is drawn only when stderr is a terminal)\n";

typedef struct bar_state {
    char file[256];
    double start, last_draw;
    int64_t first_done;
    int finished;            /* the file's last line is drawn */
} bar_state;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void human_bytes(char *buf, size_t cap, double n) {
    const char *unit[] = {"B", "kB", "MB", "GB", "TB"};
    int u = 0;
    while (n >= 1000.0 && u < 4) { n /= 1000.0; u++; }
    snprintf(buf, cap, u ? "%.1f %s" : "%.0f %s", n, unit[u]);
}

/* "model.safetensors   120.4 MB / 420.0 MB  28% | 35.1 MB/s", redrawn in place. */
static void draw_bar(void *user, const char *file, int64_t done, int64_t total) {
    bar_state *bar = user;
    double t = now_s();
    if (strcmp(bar->file, file)) {
        snprintf(bar->file, sizeof bar->file, "%s", file);
        bar->start = t;
        bar->last_draw = 0;
        bar->first_done = done;
        bar->finished = 0;
    }
    int finished = total >= 0 && done >= total;
    if (bar->finished || (!finished && t - bar->last_draw < 0.1)) return;
    bar->last_draw = t;
    bar->finished = finished;
    double elapsed = t - bar->start;
    char got[32], size[32], rate[32];
    human_bytes(got, sizeof got, (double)done);
    human_bytes(size, sizeof size, (double)total);
    human_bytes(rate, sizeof rate, elapsed > 0 ? (double)(done - bar->first_done) / elapsed : 0);
    if (total > 0)
        fprintf(stderr, "\r  %-28s %10s / %-10s %3d%% | %s/s   ", file, got, size,
                (int)(100.0 * (double)done / (double)total), rate);
    else
        fprintf(stderr, "\r  %-28s %10s | %s/s   ", file, got, rate);
    if (finished) fputc('\n', stderr);
    fflush(stderr);
}

static bar_state bar;

void cli_hub_progress_install(void) {
    if (isatty(STDERR_FILENO)) scivec_hub_set_progress(draw_bar, &bar);
}

int cmd_fetch(int argc, char **argv) {
    const char *model = NULL;
    int offline = 0, quiet = 0;
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},
        {"offline", no_argument, NULL, 'o'},
        {"quiet", no_argument, NULL, 'q'},
        {NULL, 0, NULL, 0},
    };
    int c;
    cli_getopt_begin();
    while ((c = getopt_long(argc, argv, ":hq", options, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(usage, stdout); return 0;
        case 'o': offline = 1; break;
        case 'q': quiet = 1; break;
        default:
            fprintf(stderr, "scivec fetch: unexpected argument '%s'\n%s", cli_bad_option(argv), usage);
            return 2;
        }
    }
    for (int i = optind; i < argc; i++) {
        if (model) {
            fprintf(stderr, "scivec fetch: unexpected argument '%s'\n%s", argv[i], usage);
            return 2;
        }
        model = argv[i];
    }
    if (!model) { fprintf(stderr, "scivec fetch: expected ORG/NAME[@REVISION]\n%s", usage); return 2; }
    if (offline) setenv("HF_HUB_OFFLINE", "1", 1);
    if (!quiet) cli_hub_progress_install();

    char *dir = NULL;
    if (scivec_model_resolve(model, 1, &dir) != SCIVEC_OK) return cli_fail("fetch");
    printf("%s\n", dir);
    scivec_free(dir);
    return 0;
}
