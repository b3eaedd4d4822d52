/*
 * map_graph.c - the fuzzy simplicial set of umap-learn's
 * fuzzy_simplicial_set (umap_.py): per-row rho and sigma by binary search
 * (smooth_knn_dist), directed memberships exp(-(d - rho) / sigma)
 * (compute_membership_strengths), and their fuzzy union.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "map/map_graph.h"

/* umap-learn's constants of the same names */
#define SMOOTH_K_TOLERANCE  1e-5
#define MIN_K_DIST_SCALE    1e-3
#define SMOOTH_K_ITERATIONS 64

void sv_map_graph_free(sv_map_graph *g) {
    free(g->head);
    free(g->tail);
    free(g->weight);
    memset(g, 0, sizeof *g);
}

void sv_map_smooth_knn(const float *dist, int k, double local_connectivity, double mean_all,
                       float *rho_out, float *sigma_out) {
    double target = log2((double)k); /* bandwidth 1 */
    double rho = 0, lo = 0, hi = INFINITY, mid = 1.0;

    /* rho: the distance to the local_connectivity-th nonzero neighbour */
    int n_nonzero = 0;
    float nonzero[k > 0 ? k : 1];
    for (int j = 0; j < k; j++)
        if (dist[j] > 0) nonzero[n_nonzero++] = dist[j];
    if (n_nonzero >= local_connectivity) {
        int index = (int)floor(local_connectivity);
        double interpolation = local_connectivity - index;
        if (index > 0) {
            rho = nonzero[index - 1];
            if (interpolation > SMOOTH_K_TOLERANCE)
                rho += interpolation * (nonzero[index] - nonzero[index - 1]);
        } else {
            rho = interpolation * (n_nonzero ? nonzero[0] : 0);
        }
    } else if (n_nonzero > 0) {
        rho = nonzero[n_nonzero - 1];
    }

    /* sigma: bisection (doubling while unbounded) on sum over j >= 1 */
    for (int it = 0; it < SMOOTH_K_ITERATIONS; it++) {
        double psum = 0;
        for (int j = 1; j < k; j++) {
            double d = dist[j] - rho;
            psum += d > 0 ? exp(-(d / mid)) : 1.0;
        }
        if (fabs(psum - target) < SMOOTH_K_TOLERANCE) break;
        if (psum > target) {
            hi = mid;
            mid = (lo + hi) / 2.0;
        } else {
            lo = mid;
            mid = isinf(hi) ? mid * 2 : (lo + hi) / 2.0;
        }
    }
    double mean_row = 0; /* over the slots found (an HNSW search may leave some empty: inf) */
    int n_found = 0;
    for (int j = 0; j < k; j++)
        if (isfinite(dist[j])) mean_row += dist[j], n_found++;
    mean_row /= n_found ? n_found : 1;
    double floor_scale = MIN_K_DIST_SCALE * (rho > 0 ? mean_row : mean_all);
    if (mid < floor_scale) mid = floor_scale;
    *rho_out = (float)rho;
    *sigma_out = (float)mid;
}

/* (head, tail) order, as scipy's canonical COO */
typedef struct edge {
    int32_t head, tail;
    float weight;
} edge;

static int cmp_edge(const void *pa, const void *pb) {
    const edge *a = pa, *b = pb;
    if (a->head != b->head) return a->head < b->head ? -1 : 1;
    if (a->tail != b->tail) return a->tail < b->tail ? -1 : 1;
    return 0;
}

/* edges[0 .. n_edges) into (head, tail) order: counted into place by head
 * (heads are 0 .. n - 1), then each head's few edges (about 2k) sorted by
 * tail by insertion. qsort of the ~2nk edges was most of the graph's time. */
static int sort_edges(edge *edges, int64_t n_edges, int64_t n) {
    int64_t *start = calloc((size_t)n + 1, sizeof *start);
    edge *sorted = malloc((size_t)(n_edges ? n_edges : 1) * sizeof *sorted);
    if (!start || !sorted) {
        free(start);
        free(sorted);
        return SCIVEC_ENOMEM;
    }
    for (int64_t e = 0; e < n_edges; e++) start[edges[e].head + 1]++;
    for (int64_t i = 0; i < n; i++) start[i + 1] += start[i];
    for (int64_t e = 0; e < n_edges; e++) sorted[start[edges[e].head]++] = edges[e];
    for (int64_t i = n; i > 0; i--) start[i] = start[i - 1]; /* back to each head's first */
    start[0] = 0;
    for (int64_t i = 0; i < n; i++) {
        edge *run = sorted + start[i];
        int64_t len = start[i + 1] - start[i];
        for (int64_t a = 1; a < len; a++) {
            edge moving = run[a];
            int64_t b = a;
            for (; b > 0 && cmp_edge(&run[b - 1], &moving) > 0; b--) run[b] = run[b - 1];
            run[b] = moving;
        }
    }
    memcpy(edges, sorted, (size_t)n_edges * sizeof *edges);
    free(start);
    free(sorted);
    return SCIVEC_OK;
}

int sv_map_fuzzy_graph(int64_t n, int k, const int32_t *idx, const float *dist, sv_map_graph *out) {
    memset(out, 0, sizeof *out);
    int rc = SCIVEC_OK;
    float *rho = malloc((size_t)n * sizeof *rho), *sigma = malloc((size_t)n * sizeof *sigma);
    /* every directed edge twice: as (i, j) and as its transpose (j, i) */
    edge *edges = malloc((size_t)n * (size_t)k * 2 * sizeof *edges);
    if (!rho || !sigma || !edges) {
        rc = sv_error(SCIVEC_ENOMEM, "map: out of memory building the graph of %lld rows",
                      (long long)n);
        goto done;
    }
    double mean_all = 0;
    for (int64_t i = 0; i < n * k; i++) mean_all += isfinite(dist[i]) ? dist[i] : 0;
    mean_all /= (double)(n * k);
    for (int64_t i = 0; i < n; i++)
        sv_map_smooth_knn(dist + i * k, k, 1.0, mean_all, &rho[i], &sigma[i]);

    int64_t n_directed = 0;
    for (int64_t i = 0; i < n; i++) {
        for (int j = 0; j < k; j++) {
            int32_t t = idx[i * k + j];
            if (t < 0 || t == i) continue; /* self: membership 0, dropped */
            double d = dist[i * k + j] - rho[i];
            float w = d <= 0 || sigma[i] == 0 ? 1.0f : (float)exp(-(d / sigma[i]));
            if (w == 0) continue;
            edges[n_directed++] = (edge){(int32_t)i, t, w};
        }
    }
    /* A + A^T - A o A^T: with the transposes appended and sorted, a pair
     * (i, j) present in both directions is adjacent, and combines as
     * w + w' - w w'; one present once keeps its weight. */
    for (int64_t e = 0; e < n_directed; e++)
        edges[n_directed + e] = (edge){edges[e].tail, edges[e].head, edges[e].weight};
    if (sort_edges(edges, 2 * n_directed, n)) {
        rc = sv_error(SCIVEC_ENOMEM, "map: out of memory building the graph of %lld rows",
                      (long long)n);
        goto done;
    }

    int64_t n_edges = 0;
    for (int64_t e = 0; e < 2 * n_directed;) {
        /* at most two entries per (head, tail): A_ij and A^T_ij = A_ji; a
         * duplicate neighbour in one row cannot happen (FAISS ids differ) */
        float w = edges[e].weight;
        int64_t next = e + 1;
        if (next < 2 * n_directed && !cmp_edge(&edges[e], &edges[next])) {
            w = w + edges[next].weight - w * edges[next].weight;
            next++;
        }
        if (w > 0) edges[n_edges++] = (edge){edges[e].head, edges[e].tail, w};
        e = next;
    }
    out->head = malloc((size_t)(n_edges ? n_edges : 1) * sizeof *out->head);
    out->tail = malloc((size_t)(n_edges ? n_edges : 1) * sizeof *out->tail);
    out->weight = malloc((size_t)(n_edges ? n_edges : 1) * sizeof *out->weight);
    if (!out->head || !out->tail || !out->weight) {
        sv_map_graph_free(out);
        rc = sv_error(SCIVEC_ENOMEM, "map: out of memory building the graph of %lld rows",
                      (long long)n);
        goto done;
    }
    for (int64_t e = 0; e < n_edges; e++) {
        out->head[e] = edges[e].head;
        out->tail[e] = edges[e].tail;
        out->weight[e] = edges[e].weight;
    }
    out->n_edges = n_edges;
done:
    free(rho);
    free(sigma);
    free(edges);
    return rc;
}
