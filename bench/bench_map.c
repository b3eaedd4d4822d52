/*
 * bench_map.c - times scivec_map_compute on a float32 .npy (any vectors, not
 * only an embed output: bench/map_vs_umap.py feeds it synthetic ones too) and
 * writes the layout as .npy.
 *
 *   bench_map VECTORS.npy OUT.npy THREADS [SEED] [auto|exact|hnsw|ivf] [QUALITY_SAMPLE]
 *
 * Prints one JSON line: seconds (total and per stage, wall and CPU) and the quality
 * figures over a QUALITY_SAMPLE-row sample (default 1000; 0: not measured).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "outputs/npy.h"
#include "scivec.h"

/* CPU seconds of the process at the start of each stage, from the progress
 * calls: the library's stage seconds are wall time, which on a shared
 * machine says more about the other jobs than about the stage. */
enum { ST_NEIGHBOURS, ST_GRAPH, ST_LAYOUT, ST_QUALITY, ST_END, N_STAGES };
static double stage_cpu[N_STAGES];

static double cpu_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void on_progress(const char *stage, int64_t done, int64_t total, void *user) {
    (void)total;
    (void)user;
    if (!strcmp(stage, "neighbours") && done == 0) stage_cpu[ST_NEIGHBOURS] = cpu_seconds();
    if (!strcmp(stage, "graph") && done == 0) stage_cpu[ST_GRAPH] = cpu_seconds();
    if (!strcmp(stage, "graph") && done == 1) stage_cpu[ST_LAYOUT] = cpu_seconds();
    if (!strcmp(stage, "layout") && done == total) stage_cpu[ST_QUALITY] = cpu_seconds();
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: bench_map VECTORS.npy OUT.npy THREADS [SEED] [auto|exact|hnsw|ivf] "
                        "[QUALITY_SAMPLE]\n");
        return 2;
    }
    float *x;
    int64_t n, dim;
    if (sv_npy_read(argv[1], &x, &n, &dim)) {
        fprintf(stderr, "bench_map: %s\n", scivec_last_error());
        return 1;
    }
    scivec_map_params p = scivec_map_default_params();
    p.n_threads = atoi(argv[3]);
    if (argc > 4) p.seed = strtoull(argv[4], NULL, 10);
    if (argc > 5)
        p.knn = !strcmp(argv[5], "hnsw")    ? SCIVEC_MAP_KNN_HNSW
                : !strcmp(argv[5], "ivf")   ? SCIVEC_MAP_KNN_IVF
                : !strcmp(argv[5], "exact") ? SCIVEC_MAP_KNN_EXACT
                                            : SCIVEC_MAP_KNN_AUTO;
    if (argc > 6) p.quality_sample = atoi(argv[6]);
    p.progress = on_progress;
    float *y = malloc((size_t)n * 2 * sizeof *y);
    scivec_map_stats st;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = scivec_map_compute(x, n, (int)dim, &p, y, &st);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    stage_cpu[ST_END] = cpu_seconds();
    if (rc || sv_npy_write(argv[2], y, n, 2)) {
        fprintf(stderr, "bench_map: %s\n", scivec_last_error());
        return 1;
    }
    printf(
        "{\"n\": %lld, \"dim\": %lld, \"threads\": %d, \"knn\": \"%s\", \"seconds\": %.3f, "
        "\"seconds_knn\": %.3f, \"seconds_graph\": %.3f, \"seconds_layout\": %.3f, "
        "\"seconds_quality\": %.3f, \"cpu_knn\": %.3f, \"cpu_graph\": %.3f, \"cpu_layout\": %.3f, "
        "\"cpu_quality\": %.3f, \"trustworthiness\": %.4f, \"knn_preservation\": %.4f}\n",
        (long long)n, (long long)dim, p.n_threads, st.knn,
        (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9, st.seconds_knn,
        st.seconds_graph, st.seconds_layout, st.seconds_quality,
        stage_cpu[ST_GRAPH] - stage_cpu[ST_NEIGHBOURS], stage_cpu[ST_LAYOUT] - stage_cpu[ST_GRAPH],
        stage_cpu[ST_QUALITY] - stage_cpu[ST_LAYOUT], stage_cpu[ST_END] - stage_cpu[ST_QUALITY],
        st.trustworthiness, st.knn_preservation);
    free(x);
    free(y);
    return 0;
}
