/*
 * cmd_map.c - `scivec map DIR`: a 2-D map of an embed output (UMAP), written
 * to DIR/map.npy with its parameters and quality in DIR/metadata.json. The
 * work is scivec_map_dir's; this file parses flags and draws progress.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "options.h"
#include "progress.h"
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
    int show;
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
    long long v;
    if (!cli_parse_ll(s, min, max, &v)) {
        fprintf(stderr, "scivec map: %s wants a whole number in %ld..%ld, got '%s'\n", flag, min,
                max, s);
        return -1;
    }
    *out = (long)v;
    return 0;
}

static int parse_float(const char *flag, const char *s, float *out) {
    double v;
    if (!cli_parse_double(s, &v) || !(v >= 0) || (float)v == INFINITY) {
        fprintf(stderr, "scivec map: %s wants a number >= 0, got '%s'\n", flag, s);
        return -1;
    }
    *out = (float)v;
    return 0;
}

enum {
    OPT_SEED = 256,
    OPT_THREADS,
    OPT_NEIGHBORS,
    OPT_EPOCHS,
    OPT_QUALITY_SAMPLE,
    OPT_MIN_DIST,
    OPT_SPREAD,
    OPT_KNN,
    OPT_PROGRESS,
};

static const struct option options[] = {
    {"help", no_argument, NULL, 'h'},
    {"seed", required_argument, NULL, OPT_SEED},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"neighbors", required_argument, NULL, OPT_NEIGHBORS},
    {"epochs", required_argument, NULL, OPT_EPOCHS},
    {"quality-sample", required_argument, NULL, OPT_QUALITY_SAMPLE},
    {"min-dist", required_argument, NULL, OPT_MIN_DIST},
    {"spread", required_argument, NULL, OPT_SPREAD},
    {"knn", required_argument, NULL, OPT_KNN},
    {"progress", no_argument, NULL, OPT_PROGRESS},
    {NULL, 0, NULL, 0},
};

int cmd_map(int argc, char **argv) {
    scivec_map_params params = scivec_map_default_params();
    const char *dir = NULL;
    int progress_flag = 0, c;
    long v;
    cli_getopt_begin();
    while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
            case 'h': fputs(usage, stdout); return 0;
            case OPT_SEED:
                if (parse_long("--seed", optarg, 0, LONG_MAX, &v)) return 2;
                params.seed = (uint64_t)v;
                break;
            case OPT_THREADS:
                if (parse_long("--threads", optarg, 0, 1024, &v)) return 2;
                params.n_threads = (int)v;
                break;
            case OPT_NEIGHBORS:
                if (parse_long("--neighbors", optarg, 2, 1000, &v)) return 2;
                params.n_neighbors = (int)v;
                break;
            case OPT_EPOCHS:
                if (parse_long("--epochs", optarg, 1, 100000, &v)) return 2;
                params.n_epochs = (int)v;
                break;
            case OPT_QUALITY_SAMPLE:
                if (parse_long("--quality-sample", optarg, 0, INT_MAX, &v)) return 2;
                params.quality_sample = (int)v;
                break;
            case OPT_MIN_DIST:
                if (parse_float("--min-dist", optarg, &params.min_dist)) return 2;
                break;
            case OPT_SPREAD:
                if (parse_float("--spread", optarg, &params.spread)) return 2;
                break;
            case OPT_KNN:
                if (!strcmp(optarg, "auto"))
                    params.knn = SCIVEC_MAP_KNN_AUTO;
                else if (!strcmp(optarg, "exact"))
                    params.knn = SCIVEC_MAP_KNN_EXACT;
                else if (!strcmp(optarg, "hnsw"))
                    params.knn = SCIVEC_MAP_KNN_HNSW;
                else if (!strcmp(optarg, "ivf"))
                    params.knn = SCIVEC_MAP_KNN_IVF;
                else {
                    fprintf(stderr, "scivec map: --knn wants auto, exact, hnsw or ivf, got '%s'\n",
                            optarg);
                    return 2;
                }
                break;
            case OPT_PROGRESS: progress_flag = 1; break;
            default:
                fprintf(stderr, "scivec map: unknown option or missing value: '%s'\n%s",
                        cli_bad_option(argv), usage);
                return 2;
        }
    }
    for (int i = optind; i < argc; i++) {
        if (dir) {
            fprintf(stderr, "scivec map: unexpected argument '%s'\n%s", argv[i], usage);
            return 2;
        }
        dir = argv[i];
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
    fprintf(stderr,
            "scivec map: %s/map.npy: %d epochs over %lld edges (%s neighbours, a %.4f, b %.4f); "
            "%.1f s neighbours, %.1f s graph, %.1f s layout\n",
            dir, stats.n_epochs, (long long)stats.n_edges, stats.knn, stats.a, stats.b,
            stats.seconds_knn, stats.seconds_graph, stats.seconds_layout);
    if (stats.trustworthiness >= 0)
        fprintf(
            stderr,
            "scivec map: trustworthiness %.4f, 10-NN preservation %.4f (sample of %lld papers)\n",
            stats.trustworthiness, stats.knn_preservation, (long long)stats.quality_rows);
    return 0;
}
