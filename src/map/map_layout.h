/*
 * map_layout.h - the SGD with negative sampling, umap-learn's
 * optimize_layout_euclidean (map_layout.c), and its random numbers.
 */
#ifndef SV_MAP_LAYOUT_H
#define SV_MAP_LAYOUT_H

#include <stdint.h>

#include "scivec.h"

#include "map/map_graph.h"

#ifdef __cplusplus
extern "C" {
#endif

/* make_epochs_per_sample, then optimize_layout_euclidean over the edges:
 * head rows of head_emb move; with move_other tail rows (of tail_emb, which
 * is then head_emb) move too. n_tail: rows negative samples are drawn from.
 * rng_state: umap-learn's three tau_rand_int words. */
typedef struct sv_map_sgd {
    double a, b, gamma, alpha;
    int n_epochs, negative_sample_rate, move_other;
    int64_t rng_state[3];
    scivec_map_progress_fn progress;
    void *progress_user;
} sv_map_sgd;

int sv_map_optimize(float *head_emb, float *tail_emb, int64_t n_tail, const sv_map_graph *g,
                    const sv_map_sgd *sgd);

/* umap-learn's tau_rand_int on a 3-word state. */
int32_t sv_map_tau_rand_int(int64_t state[3]);

/* The same generator in 32-bit words, for the SGD's inner loop: a state
 * word whose upper 32 bits are all 0 or all 1 (an int32 seed, as
 * umap-learn's) keeps them so, and those bits enter the low 32 only through
 * the arithmetic right shift, as a fill of ones. sv_map_rng_init takes such
 * a state; sv_map_rng_next then draws what sv_map_tau_rand_int would
 * (test_map.c compares them). */
typedef struct sv_map_rng {
    uint32_t word[3], fill[3];
} sv_map_rng;

static inline void sv_map_rng_init(sv_map_rng *r, const int64_t state[3]) {
    const uint32_t fill[3] = {0xFFFFE000u, 0xFFFFFF80u, 0xFFE00000u}; /* >> 19, 25, 11 */
    for (int i = 0; i < 3; i++) {
        r->word[i] = (uint32_t)state[i];
        r->fill[i] = state[i] < 0 ? fill[i] : 0;
    }
}

static inline int32_t sv_map_rng_next(sv_map_rng *r) {
    uint32_t a = r->word[0], b = r->word[1], c = r->word[2];
    a = ((a & 0xFFFFFFFEu) << 12) ^ ((((a << 13) ^ a) >> 19) | r->fill[0]);
    b = ((b & 0xFFFFFFF8u) << 4) ^ ((((b << 2) ^ b) >> 25) | r->fill[1]);
    c = ((c & 0xFFFFFFF0u) << 17) ^ ((((c << 3) ^ c) >> 11) | r->fill[2]);
    r->word[0] = a;
    r->word[1] = b;
    r->word[2] = c;
    return (int32_t)(a ^ b ^ c);
}

#ifdef __cplusplus
}
#endif

#endif /* SV_MAP_LAYOUT_H */
