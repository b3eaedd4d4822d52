/*
 * cmd_map.c - `scivec map DIR`: a 2-D map of an embed output (UMAP), written
 * to DIR/map.npy with its parameters and quality in DIR/metadata.json. The
 * work is scivec_map_dir's; this file parses flags and draws progress.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/progress.h"
#include "commands.h"
#include "scivec.h"

static const char usage[] =
    "usage: scivec map DIR [--seed 42] [--threads N] [--neighbors 15] [--min-dist 0.1]\n"
    "                      [--spread 1.0] [--epochs N] [--knn auto|exact|hnsw|ivf]\n"
    "                      [--quality-sample 1000] [--progress]\n"
    "  DIR               output directory of `scivec embed`; map.npy is written there\n"
    "  --seed S          the layout is a function of the vectors, the options and S\n"
    "  --threads N       threads of the neighbour search and the quality figures\n"
    "                    (default: all cores); the layout itself is one thread\n"
    "  --neighbors K     neighbours per paper in the graph (umap-learn's n_neighbors)\n"
    "  --min-dist D      how tightly neighbours may pack (umap-learn's min_dist)\n"
    "  --spread S        the scale of the layout (umap-learn's spread)\n"
    "  --epochs N        SGD epochs (default 500, 200 above 10,000 papers)\n"
    "  --knn M           neighbour search: exact (FAISS flat), hnsw, ivf (k-means\n"
    "                    cells, approximate), or auto (exact up to 20,000 papers, ivf above)\n"
    "  --quality-sample N  papers trustworthiness and 10-NN preservation are measured\n"
    "                    on (0: skip)\n"
    "  --progress        show progress even when stderr is not a terminal\n";

typedef struct cli_progress {
    int         show;
    const char *stage;
    sv_progress bar;
} cli_progress;

static void on_progress(const char *stage, int64_t done, int64_t total, void *user) {
    cli_progress *p = user;
    if (!p->show) return;
    if (!p->stage || strcmp(p->stage, stage)) {
        if (p->stage) sv_progress_finish(&p->bar, p->bar.total);
        p->stage = stage;
        sv_progress_start(&p->bar, stderr, strcmp(stage, "layout") ? stage : "epochs", total);
    }
    sv_progress_update(&p->bar, done);
}

static int parse_long(const char *flag, const char *s, long min, long max, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) {
        fprintf(stderr, "scivec map: %s wants a whole number in %ld..%ld, got '%s'\n", flag, min, max, s);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_float(const char *flag, const char *s, float *out) {
    char *end;
    errno = 0;
    float v = strtof(s, &end);
    if (errno || end == s || *end || !(v >= 0)) {
        fprintf(stderr, "scivec map: %s wants a number >= 0, got '%s'\n", flag, s);
        return -1;
    }
    *out = v;
    return 0;
}

int cmd_map(int argc, char **argv) {
    scivec_map_params params = scivec_map_default_params();
    const char *dir = NULL;
    int progress_flag = 0;
    long v;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            return 0;
        } else if (!strcmp(a, "--seed") && has_value) {
            if (parse_long(a, argv[++i], 0, LONG_MAX, &v)) return 2;
            params.seed = (uint64_t)v;
        } else if (!strcmp(a, "--threads") && has_value) {
            if (parse_long(a, argv[++i], 0, 1024, &v)) return 2;
            params.n_threads = (int)v;
        } else if (!strcmp(a, "--neighbors") && has_value) {
            if (parse_long(a, argv[++i], 2, 1000, &v)) return 2;
            params.n_neighbors = (int)v;
        } else if (!strcmp(a, "--epochs") && has_value) {
            if (parse_long(a, argv[++i], 1, 100000, &v)) return 2;
            params.n_epochs = (int)v;
        } else if (!strcmp(a, "--quality-sample") && has_value) {
            if (parse_long(a, argv[++i], 0, INT_MAX, &v)) return 2;
            params.quality_sample = (int)v;
        } else if (!strcmp(a, "--min-dist") && has_value) {
            if (parse_float(a, argv[++i], &params.min_dist)) return 2;
        } else if (!strcmp(a, "--spread") && has_value) {
            if (parse_float(a, argv[++i], &params.spread)) return 2;
        } else if (!strcmp(a, "--knn") && has_value) {
            const char *m = argv[++i];
            if (!strcmp(m, "auto")) params.knn = SCIVEC_MAP_KNN_AUTO;
            else if (!strcmp(m, "exact")) params.knn = SCIVEC_MAP_KNN_EXACT;
            else if (!strcmp(m, "hnsw")) params.knn = SCIVEC_MAP_KNN_HNSW;
            else if (!strcmp(m, "ivf")) params.knn = SCIVEC_MAP_KNN_IVF;
            else {
                fprintf(stderr, "scivec map: --knn wants auto, exact, hnsw or ivf, got '%s'\n", m);
                return 2;
            }
        } else if (!strcmp(a, "--progress")) {
            progress_flag = 1;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "scivec map: unknown option or missing value: '%s'\n%s", a, usage);
            return 2;
        } else if (!dir) {
            dir = a;
        } else {
            fprintf(stderr, "scivec map: unexpected argument '%s'\n%s", a, usage);
            return 2;
        }
    }
    if (!dir) {
        fprintf(stderr, "scivec map: DIR is required\n%s", usage);
        return 2;
    }
    cli_progress progress = {.show = progress_flag || isatty(STDERR_FILENO)};
    params.progress = on_progress;
    params.progress_user = &progress;

    scivec_map_stats stats;
    int rc = scivec_map_dir(dir, &params, &stats);
    if (progress.stage) sv_progress_finish(&progress.bar, progress.bar.total);
    if (rc) return cli_fail("map");
    fprintf(stderr, "scivec map: %s/map.npy: %d epochs over %lld edges (%s neighbours, a %.4f, b %.4f); "
            "%.1f s neighbours, %.1f s graph, %.1f s layout\n",
            dir, stats.n_epochs, (long long)stats.n_edges, stats.knn, stats.a, stats.b,
            stats.seconds_knn, stats.seconds_graph, stats.seconds_layout);
    if (stats.trustworthiness >= 0)
        fprintf(stderr, "scivec map: trustworthiness %.4f, 10-NN preservation %.4f (sample of %lld papers)\n",
                stats.trustworthiness, stats.knn_preservation, (long long)stats.quality_rows);
    return 0;
}
