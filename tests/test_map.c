/*
 * test_map.c - the 2-D map (src/map_*.c): umap-learn's pieces against
 * values umap-learn 0.5.3 computes (find_ab_params, smooth_knn_dist,
 * tau_rand_int; printed by the snippet in docs/MAP.md), determinism,
 * well-separated clusters landing apart (silhouette), transform placing new
 * rows in their cluster without moving old ones, the approximate (ivf)
 * neighbour search against the exact one, and bad input refused.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/error.h"
#include "map/map_ab.h"
#include "map/map_graph.h"
#include "map/map_knn.h"
#include "map/map_layout.h"
#include "scivec.h"

#define N_CLUSTERS  6
#define PER_CLUSTER 200
#define HELD_OUT    20 /* per cluster, placed by transform */
#define DIM         32

static uint64_t rng_state = 0x1234567;
static double uniform(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}
static double gaussian(void) {
    double u = uniform() + 1e-12, v = uniform();
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* mean over rows of (b - a) / max(a, b): a = mean distance to its own
 * cluster, b = to the nearest other cluster (sklearn.metrics.silhouette_score) */
static double silhouette(const float *y, const int *label, int n) {
    double total = 0;
    for (int i = 0; i < n; i++) {
        double sum[N_CLUSTERS] = {0};
        int count[N_CLUSTERS] = {0};
        for (int j = 0; j < n; j++) {
            if (j == i) continue;
            sum[label[j]] += hypot(y[i * 2] - y[j * 2], y[i * 2 + 1] - y[j * 2 + 1]);
            count[label[j]]++;
        }
        double a = sum[label[i]] / count[label[i]], b = INFINITY;
        for (int c = 0; c < N_CLUSTERS; c++)
            if (c != label[i] && sum[c] / count[c] < b) b = sum[c] / count[c];
        total += (b - a) / (a > b ? a : b);
    }
    return total / n;
}

static void test_umap_pieces(void) {
    /* umap.umap_.find_ab_params(spread, min_dist) */
    const double cases[][4] = {
        {1.0, 0.1, 1.5769434601962196, 0.8950608779914887},
        {1.0, 0.5, 0.583030020479462, 1.3341669929263487},
        {2.0, 0.0, 0.646046672809973, 0.7904944901548902},
        {1.5, 0.3, 0.5595493472471997, 1.0030053863528146},
    };
    for (size_t c = 0; c < SV_ARRAY_LEN(cases); c++) {
        double a = 0, b = 0;
        CHECK(sv_map_find_ab(cases[c][0], cases[c][1], &a, &b) == SCIVEC_OK, "find_ab");
        CHECK(fabs(a - cases[c][2]) < 1e-4 * cases[c][2] &&
                  fabs(b - cases[c][3]) < 1e-4 * cases[c][3],
              "spread %g min_dist %g: a %.9g b %.9g, umap-learn %.9g %.9g", cases[c][0],
              cases[c][1], a, b, cases[c][2], cases[c][3]);
    }
    double a, b;
    CHECK(sv_map_find_ab(1.0, 2.0, &a, &b) == SCIVEC_EINVAL, "min_dist > spread refused");

    /* umap.umap_.smooth_knn_dist(d, 6.0, local_connectivity=1.0 and 0.0) */
    const float d[3][6] = {
        {0, 0.5f, 0.6f, 0.9f, 1.3f, 2.0f}, {0, 0, 0.1f, 0.4f, 0.45f, 3.0f}, {0, 1, 1, 1, 1, 1}};
    double mean_all = 0;
    for (int i = 0; i < 18; i++) mean_all += d[i / 6][i % 6];
    mean_all /= 18;
    const float sigma1[3] = {0.5335388f, 0.26339722f, 0.00083333f}, rho1[3] = {0.5f, 0.1f, 1.0f};
    const float sigma0[3] = {1.46698f, 0.45194244f, 1.5157776f};
    for (int i = 0; i < 3; i++) {
        float rho, sigma;
        sv_map_smooth_knn(d[i], 6, 1.0, mean_all, &rho, &sigma);
        CHECK(fabsf(rho - rho1[i]) < 1e-6f && fabsf(sigma - sigma1[i]) < 1e-4f * sigma1[i],
              "row %d: rho %g sigma %g, umap-learn %g %g", i, rho, sigma, rho1[i], sigma1[i]);
        sv_map_smooth_knn(d[i], 6, 0.0, mean_all, &rho, &sigma);
        CHECK(rho == 0 && fabsf(sigma - sigma0[i]) < 1e-4f * sigma0[i],
              "row %d, local_connectivity 0: rho %g sigma %g, umap-learn 0 %g", i, rho, sigma,
              sigma0[i]);
    }

    /* umap.utils.tau_rand_int from state [12345, -678, 99999] */
    int64_t state[3] = {12345, -678, 99999};
    const int32_t want[6] = {237218678, -996289054, -925945428, -1677392863, 348776906, 1206340328};
    for (int i = 0; i < 6; i++) {
        int32_t got = sv_map_tau_rand_int(state);
        CHECK(got == want[i], "tau_rand_int #%d: %d, umap-learn %d", i, got, want[i]);
    }
    /* the SGD's 32-bit form draws the same, from words of either sign */
    const int64_t seeds[3][3] = {
        {12345, -678, 99999}, {-1, -2147483648LL, 2147483647}, {-5, 7, -9}};
    for (int s = 0; s < 3; s++) {
        int64_t wide[3] = {seeds[s][0], seeds[s][1], seeds[s][2]};
        sv_map_rng narrow;
        sv_map_rng_init(&narrow, wide);
        int same = 1;
        for (int i = 0; i < 100000; i++)
            same &= sv_map_tau_rand_int(wide) == sv_map_rng_next(&narrow);
        CHECK(same, "sv_map_rng_next departs from tau_rand_int (seed set %d)", s);
    }
}

/* sv_map_knn_ivf on clustered rows finds at least 90% of the exact 15
 * nearest neighbours, the same for 1 and 2 threads. 5 broad Gaussian
 * clusters over ~95 k-means cells: each cluster spans ~19 cells, more than
 * a cell's 12 probes reach, so the cells alone find 82% here and the
 * neighbour-of-neighbour round must do the rest (93%; it fails without). */
static void test_ivf_recall(void) {
    enum { N = 9000, D = 32, C = 5, K = 15 };
    float *centre = malloc(sizeof(float) * C * D), *x = malloc(sizeof(float) * N * D);
    float *d_exact = malloc(sizeof(float) * N * K), *d_ivf = malloc(sizeof(float) * N * K);
    int32_t *i_exact = malloc(sizeof(int32_t) * N * K), *i_ivf = malloc(sizeof(int32_t) * N * K);
    int32_t *i_ivf2 = malloc(sizeof(int32_t) * N * K);
    float spread[C];
    for (int c = 0; c < C; c++) {
        for (int j = 0; j < D; j++) centre[c * D + j] = (float)gaussian();
        spread[c] = (float)(0.4 + 0.4 * uniform());
    }
    for (int i = 0; i < N; i++) {
        int c = (int)(uniform() * C) % C;
        for (int j = 0; j < D; j++)
            x[i * D + j] = centre[c * D + j] + spread[c] * (float)gaussian();
    }
    const char *used = NULL;
    CHECK(sv_map_knn(x, N, D, x, N, K, SCIVEC_MAP_KNN_EXACT, 1, i_exact, d_exact, NULL) ==
                  SCIVEC_OK &&
              sv_map_knn(x, N, D, x, N, K, SCIVEC_MAP_KNN_IVF, 1, i_ivf, d_ivf, &used) == SCIVEC_OK,
          "knn: %s", scivec_last_error());
    CHECK(used && !strcmp(used, "ivf"), "ivf asked, %s run", used ? used : "nothing");
    int64_t found = 0, sorted = 1;
    for (int i = 0; i < N; i++)
        for (int a = 0; a < K; a++) {
            for (int b = 0; b < K; b++)
                if (i_ivf[i * K + a] == i_exact[i * K + b]) {
                    found++;
                    break;
                }
            if (a && d_ivf[i * K + a] < d_ivf[i * K + a - 1]) sorted = 0;
        }
    double recall = (double)found / (N * K);
    printf("ivf recall %.4f of the exact %d nearest (%d rows)\n", recall, K, N);
    CHECK(recall >= 0.9, "ivf recall %.3f of the exact %d nearest, want >= 0.9", recall, K);
    CHECK(sorted, "ivf neighbours not nearest first");
    CHECK(sv_map_knn(x, N, D, x, N, K, SCIVEC_MAP_KNN_IVF, 2, i_ivf2, d_ivf, NULL) == SCIVEC_OK &&
              memcmp(i_ivf, i_ivf2, sizeof(int32_t) * N * K) == 0,
          "ivf differs between 1 and 2 threads");
    free(centre);
    free(x);
    free(d_exact);
    free(d_ivf);
    free(i_exact);
    free(i_ivf);
    free(i_ivf2);
}

int main(void) {
    test_umap_pieces();
    test_ivf_recall();

    /* clusters: centres 10 apart on average, unit spread */
    const int n_all = N_CLUSTERS * PER_CLUSTER;
    float *x = malloc(sizeof(float) * n_all * DIM), centre[N_CLUSTERS][DIM];
    int *label = malloc(sizeof(int) * n_all);
    for (int c = 0; c < N_CLUSTERS; c++)
        for (int j = 0; j < DIM; j++) centre[c][j] = (float)(gaussian() * 2.0);
    /* rows: first the fitted ones (cluster by cluster), then the held-out */
    int n_fit = N_CLUSTERS * (PER_CLUSTER - HELD_OUT), n_new = N_CLUSTERS * HELD_OUT;
    for (int i = 0; i < n_all; i++) {
        int c = i < n_fit ? i / (PER_CLUSTER - HELD_OUT) : (i - n_fit) / HELD_OUT;
        label[i] = c;
        for (int j = 0; j < DIM; j++) x[i * DIM + j] = centre[c][j] + (float)gaussian() * 0.35f;
    }

    scivec_map_params p = scivec_map_default_params();
    p.seed = 7;
    p.n_threads = 2;
    p.quality_sample = 500;
    float *y = malloc(sizeof(float) * n_fit * 2), *y2 = malloc(sizeof(float) * n_fit * 2);
    scivec_map_stats st;
    int rc = scivec_map_compute(x, n_fit, DIM, &p, y, &st);
    CHECK(rc == SCIVEC_OK, "compute: %s", scivec_last_error());
    CHECK(scivec_map_compute(x, n_fit, DIM, &p, y2, NULL) == SCIVEC_OK, "compute again");
    CHECK(memcmp(y, y2, sizeof(float) * n_fit * 2) == 0, "the same seed gives a different layout");
    p.seed = 8;
    CHECK(scivec_map_compute(x, n_fit, DIM, &p, y2, NULL) == SCIVEC_OK, "compute, other seed");
    CHECK(memcmp(y, y2, sizeof(float) * n_fit * 2) != 0, "the seed changes nothing");
    p.seed = 7;

    double s = silhouette(y, label, n_fit);
    CHECK(s > 0.6, "well-separated clusters overlap on the map: silhouette %.3f", s);
    /* the same measure fails a layout that ignores the clusters */
    int *shuffled = malloc(sizeof(int) * n_fit);
    for (int i = 0; i < n_fit; i++) shuffled[i] = label[(i * 7919) % n_fit];
    double s_shuffled = silhouette(y, shuffled, n_fit);
    CHECK(s_shuffled < 0.1, "silhouette of shuffled labels %.3f", s_shuffled);
    CHECK(st.trustworthiness > 0.9 && st.knn_preservation > 0.1,
          "trustworthiness %.3f, 10-NN preservation %.3f", st.trustworthiness, st.knn_preservation);
    printf(
        "silhouette %.3f (shuffled labels %.3f), trustworthiness %.4f, 10-NN preservation %.4f\n",
        s, s_shuffled, st.trustworthiness, st.knn_preservation);

    /* transform: held-out rows land nearest their own cluster's centroid */
    double cx[N_CLUSTERS] = {0}, cy[N_CLUSTERS] = {0};
    for (int i = 0; i < n_fit; i++) {
        cx[label[i]] += y[i * 2] / (PER_CLUSTER - HELD_OUT);
        cy[label[i]] += y[i * 2 + 1] / (PER_CLUSTER - HELD_OUT);
    }
    memcpy(y2, y, sizeof(float) * n_fit * 2);
    float *placed = malloc(sizeof(float) * n_new * 2);
    rc = scivec_map_transform(x, n_fit, DIM, y, x + (size_t)n_fit * DIM, n_new, &p, placed);
    CHECK(rc == SCIVEC_OK, "transform: %s", scivec_last_error());
    CHECK(memcmp(y, y2, sizeof(float) * n_fit * 2) == 0, "transform moved the old layout");
    int right = 0;
    for (int i = 0; i < n_new; i++) {
        int best = 0;
        double best_d = INFINITY;
        for (int c = 0; c < N_CLUSTERS; c++) {
            double dd = hypot(placed[i * 2] - cx[c], placed[i * 2 + 1] - cy[c]);
            if (dd < best_d) best_d = dd, best = c;
        }
        right += best == label[n_fit + i];
    }
    CHECK(right >= n_new * 95 / 100, "transform put %d of %d rows in their cluster", right, n_new);
    float *placed2 = malloc(sizeof(float) * n_new * 2);
    CHECK(scivec_map_transform(x, n_fit, DIM, y, x + (size_t)n_fit * DIM, n_new, &p, placed2) ==
                  SCIVEC_OK &&
              memcmp(placed, placed2, sizeof(float) * n_new * 2) == 0,
          "transform is not deterministic");

    /* bad input */
    x[5 * DIM + 3] = NAN;
    CHECK(scivec_map_compute(x, n_fit, DIM, &p, y, NULL) == SCIVEC_EINVAL &&
              strstr(scivec_last_error(), "row 5"),
          "NaN: %s", scivec_last_error());
    x[5 * DIM + 3] = 0;
    p.n_neighbors = 1;
    CHECK(scivec_map_compute(x, n_fit, DIM, &p, y, NULL) == SCIVEC_EINVAL &&
              strstr(scivec_last_error(), "n_neighbors"),
          "n_neighbors 1: %s", scivec_last_error());
    p = scivec_map_default_params();
    CHECK(scivec_map_compute(x, 2, DIM, &p, y, NULL) == SCIVEC_EINVAL, "2 rows accepted");

    free(x);
    free(label);
    free(y);
    free(y2);
    free(shuffled);
    free(placed);
    free(placed2);
    return check_report();
}
