/*
 * bench_forward.c - the forward alone (no start-up, tokenization or output),
 * against the SGEMM peak measured in the same process, interleaved: where
 * bench/run.sh times whole `scivec encode` runs, this shows how close the
 * forward itself gets to the GEMM library's limit, and tunes bert.c.
 *
 *     bench_forward MODEL_DIR [n_threads=1] [seq_len=236] [n_seqs=32] [rounds=5]
 *
 * Each round: the SGEMM peak ([2048, 768] x [3072, 768]^T, one product per
 * thread over its share of the rows, repeated for ~1 s), then one forward
 * of n_seqs random-token sequences of seq_len tokens, full and [CLS]-only.
 * Prints the best of the rounds, and the forward's rate as a share of the
 * peak (the best single product) and of the sustained SGEMM rate (the best
 * round's FLOPs over time, like-for-like with a forward of seconds). FLOPs
 * counted are the useful ones, as bench/run.sh counts them.
 */
#include <stdio.h>
#include <stdlib.h>

#include "nn/bert.h"
#include "nn/config.h"
#include "nn/weights.h"
#include "scivec.h"
#include "sgemm_rate.h"

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_forward MODEL_DIR [n_threads] [seq_len] [n_seqs] [rounds]\n");
        return 2;
    }
    const char *dir = argv[1];
    int n_threads = argc > 2 ? atoi(argv[2]) : 1;
    int seq_len = argc > 3 ? atoi(argv[3]) : 236;
    int n_seqs = argc > 4 ? atoi(argv[4]) : 32;
    int rounds = argc > 5 ? atoi(argv[5]) : 5;

    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    sv_bert_config cfg;
    sv_weights *weights;
    if (sv_config_load(path, &cfg) || sv_weights_load(dir, &cfg, &weights)) {
        fprintf(stderr, "bench_forward: %s\n", scivec_last_error());
        return 1;
    }
    int n_tokens = seq_len * n_seqs;
    int *seq_start = malloc(sizeof(int) * (n_seqs + 1));
    int32_t *ids = malloc(sizeof(int32_t) * n_tokens);
    unsigned seed = 12345;
    for (int s = 0; s <= n_seqs; s++) seq_start[s] = s * seq_len;
    for (int t = 0; t < n_tokens; t++) {
        seed = seed * 1664525u + 1013904223u;
        ids[t] = (int32_t)(1000 + (seed >> 8) % (unsigned)(cfg.vocab_size - 1000));
    }
    float *x = malloc(sizeof(float) * 2048 * 768), *w = malloc(sizeof(float) * 3072 * 768);
    float *y = malloc(sizeof(float) * 2048 * 3072);
    for (int i = 0; i < 2048 * 768; i++) x[i] = (float)(i % 13) * 0.01f;
    for (int i = 0; i < 3072 * 768; i++) w[i] = (float)(i % 7) * 0.01f;
    problem sgemm = {2048, 768, 3072, n_threads, x, w, y, NULL, NULL}; /* BLIS */

    double H = cfg.hidden, I = cfg.intermediate, n = seq_len;
    double gflop = cfg.n_layers * n_seqs * (n * (8 * H * H + 4 * H * I) + 4 * n * n * H) * 1e-9;
    sv_bert_workspace ws = {0};
    double best_peak = 0, best_sustained = 0, best_full = 1e30, best_cls = 1e30;
    for (int r = 0; r < rounds; r++) {
        rates peak = measure(&sgemm, 1.0);
        if (peak.best > best_peak) best_peak = peak.best;
        if (peak.sustained > best_sustained) best_sustained = peak.sustained;
        double t0 = now_seconds();
        if (sv_bert_forward(&cfg, sv_weights_bert(weights), &ws, n_threads, n_seqs, seq_start, ids,
                            NULL)) {
            fprintf(stderr, "bench_forward: %s\n", scivec_last_error());
            return 1;
        }
        double t1 = now_seconds();
        sv_bert_forward_cls(&cfg, sv_weights_bert(weights), NULL, &ws, n_threads, n_seqs, seq_start,
                            ids, NULL);
        double t2 = now_seconds();
        if (r > 0 || rounds == 1) { /* round 0 also pays the first touch of every page */
            if (t1 - t0 < best_full) best_full = t1 - t0;
            if (t2 - t1 < best_cls) best_cls = t2 - t1;
        }
    }
    printf(
        "{\"blis\": \"%s\", \"threads\": %d, \"seq_len\": %d, \"n_seqs\": %d, "
        "\"sgemm_peak_gflops\": %.1f, \"sgemm_sustained_gflops\": %.1f, \"forward_gflops\": %.1f, "
        "\"forward_pct_peak\": %.1f, \"forward_pct_sustained\": %.1f, "
        "\"cls_seconds_vs_full\": %.3f, \"cls_pct_peak_full_flops\": %.1f}\n",
        sv_gemm_arch(), n_threads, seq_len, n_seqs, best_peak, best_sustained, gflop / best_full,
        100 * gflop / best_full / best_peak, 100 * gflop / best_full / best_sustained,
        best_cls / best_full, 100 * gflop / best_cls / best_peak);
    sv_bert_workspace_free(&ws);
    sv_weights_free(weights);
    free(seq_start);
    free(ids);
    free(x);
    free(w);
    free(y);
    return 0;
}
