/*
 * test_serve_batcher.c - the embedding queue of `scivec serve`
 * (server/batcher.c): many threads get exactly the vectors
 * scivec_model_encode_texts gives for their texts, requests that arrive
 * while the model is busy run together in one call, a full queue refuses at
 * once, a timed-out request comes back in time and the batcher goes on.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batcher.h"
#include "check.h"
#include "scivec.h"

#define TINY      SV_FIXTURES "/models/tiny-scibert"
#define N_THREADS 8
#define BIG       64 /* texts of the request that keeps the worker busy */

static const char *texts[N_THREADS] = {
    "Attention is all you need",
    "Quantum entanglement of photons in optical lattices",
    "A fully differential calculation in perturbative quantum chromodynamics",
    "Graph neural networks for molecule property prediction",
    "𝒪(n log n) sorting networks",
    "Café société: naïve résumé",
    "x",
    "The Higgs boson and the LHC at 13 TeV: a review of measurements",
};

static char *big_text;
static const char *big_texts[BIG];

typedef struct client {
    sv_batcher *b;
    int which; /* -1: the big request */
    int normalize;
    int timeout_ms;
    int status;
    float *out;
} client;

static void *run_client(void *arg) {
    client *c = arg;
    if (c->which < 0)
        c->status = sv_batcher_embed(c->b, BIG, big_texts, NULL, 0, c->timeout_ms, c->out, NULL);
    else
        c->status = sv_batcher_embed(c->b, 1, &texts[c->which], NULL, c->normalize, c->timeout_ms,
                                     c->out, NULL);
    return NULL;
}

static float max_diff(const float *a, const float *b, int n) {
    float worst = 0;
    for (int i = 0; i < n; i++) worst = fmaxf(worst, fabsf(a[i] - b[i]));
    return worst;
}

int main(void) {
    scivec_model_params mp = scivec_model_default_params();
    mp.n_threads = 1;
    scivec_model *model;
    int rc = scivec_model_load(TINY, &mp, &model);
    CHECK(rc == SCIVEC_OK, "load: %s", scivec_last_error());
    if (rc) return check_report();
    int dim = scivec_model_hidden_size(model);
    scivec_encode_params ep = scivec_encode_default_params();
    ep.pooling = SCIVEC_POOL_MEAN;
    ep.max_length = 512;

    /* The reference: each text alone through the model, raw and normalised. */
    float want[N_THREADS][64], want_unit[N_THREADS][64];
    CHECK(dim == 64, "tiny-scibert is 64 wide (got %d)", dim);
    for (int i = 0; i < N_THREADS; i++) {
        scivec_encode_params unit = ep;
        unit.normalize = 1;
        CHECK(scivec_model_encode_texts(model, &ep, 1, &texts[i], NULL, want[i], NULL) == SCIVEC_OK,
              "encode %d", i);
        CHECK(scivec_model_encode_texts(model, &unit, 1, &texts[i], NULL, want_unit[i], NULL) ==
                  SCIVEC_OK,
              "encode unit %d", i);
    }
    size_t big_len = 1500;
    big_text = malloc(big_len + 1);
    for (size_t i = 0; i < big_len; i++) big_text[i] = "abcdefgh ijklmnop qrstuvwxyz "[i % 29];
    big_text[big_len] = '\0';
    for (int i = 0; i < BIG; i++) big_texts[i] = big_text;
    float *big_out = malloc((size_t)BIG * dim * sizeof(float));

    /* 1. Concurrent clients, one worker: each gets its own text's vector,
     *    and requests that queued behind a busy model share a call. */
    sv_batcher_params bp = {.max_batch_tokens = 8192, .max_queue = 64};
    sv_batcher *b;
    CHECK(sv_batcher_start(model, &ep, &bp, &b) == SCIVEC_OK, "start: %s", scivec_last_error());
    int coalesced = 0;
    for (int round = 0; round < 3 && !coalesced; round++) {
        sv_batcher_stats before, after;
        sv_batcher_get_stats(b, &before);
        client big = {b, -1, 0, 60000, 0, big_out};
        client clients[N_THREADS];
        float outs[N_THREADS][64];
        pthread_t big_thread, threads[N_THREADS];
        pthread_create(&big_thread, NULL, run_client, &big);
        for (int i = 0; i < N_THREADS; i++) {
            clients[i] = (client){b, i, i % 2, 60000, -99, outs[i]};
            pthread_create(&threads[i], NULL, run_client, &clients[i]);
        }
        pthread_join(big_thread, NULL);
        CHECK(big.status == SCIVEC_OK, "big request: %d", big.status);
        for (int i = 0; i < N_THREADS; i++) {
            pthread_join(threads[i], NULL);
            CHECK(clients[i].status == SCIVEC_OK, "client %d: %d %s", i, clients[i].status,
                  scivec_last_error());
            float d = max_diff(outs[i], i % 2 ? want_unit[i] : want[i], dim);
            CHECK(d <= 1e-6f, "client %d (normalize %d): differs from encode_texts by %g", i, i % 2,
                  d);
        }
        sv_batcher_get_stats(b, &after);
        int64_t requests = after.n_requests - before.n_requests,
                batches = after.n_batches - before.n_batches;
        CHECK(requests == N_THREADS + 1, "round %d: %lld requests", round, (long long)requests);
        coalesced = batches < requests;
        printf("round %d: %lld requests in %lld model calls\n", round, (long long)requests,
               (long long)batches);
    }
    CHECK(coalesced, "requests queued behind a busy model never ran together");
    /* The big request runs alone (above the budget); histograms add up. */
    sv_batcher_stats s;
    sv_batcher_get_stats(b, &s);
    int64_t total = 0;
    for (int i = 0; i < 10; i++) total += s.texts_hist[i];
    CHECK(total == s.n_batches && s.queue_depth == 0, "histogram %lld of %lld batches",
          (long long)total, (long long)s.n_batches);
    sv_batcher_stop(b);

    /* 2. A queue of one: while the model is busy with one request and one
     *    waits, a third is refused at once. (Threads start in any order and
     *    a loaded machine may run them far apart: up to 5 rounds.) */
    bp.max_queue = 1;
    CHECK(sv_batcher_start(model, &ep, &bp, &b) == SCIVEC_OK, "start: %s", scivec_last_error());
    {
        float *outs = malloc((size_t)3 * BIG * dim * sizeof(float));
        int64_t n_full_total = 0, refused_round = -1;
        for (int round = 0; round < 5 && refused_round < 0; round++) {
            client clients[3];
            pthread_t threads[3];
            for (int i = 0; i < 3; i++) {
                clients[i] = (client){b, -1, 0, 60000, -99, outs + (size_t)i * BIG * dim};
                pthread_create(&threads[i], NULL, run_client, &clients[i]);
            }
            int n_ok = 0, n_full = 0;
            for (int i = 0; i < 3; i++) {
                pthread_join(threads[i], NULL);
                n_ok += clients[i].status == SCIVEC_OK;
                n_full += clients[i].status == SV_EQUEUE_FULL;
            }
            CHECK(n_ok >= 1 && n_ok + n_full == 3, "queue of 1: %d ok, %d refused, others failed",
                  n_ok, n_full);
            n_full_total += n_full;
            if (n_full) refused_round = round;
        }
        CHECK(refused_round >= 0, "a queue of one never refused a third concurrent request");
        sv_batcher_get_stats(b, &s);
        CHECK(s.n_rejected_full == n_full_total, "rejected count %lld, want %lld",
              (long long)s.n_rejected_full, (long long)n_full_total);
        free(outs);
    }
    sv_batcher_stop(b);

    /* 3. A 1 ms timeout on a long request: SV_ETIMEOUT, and the next one works. */
    bp.max_queue = 8;
    CHECK(sv_batcher_start(model, &ep, &bp, &b) == SCIVEC_OK, "start: %s", scivec_last_error());
    rc = sv_batcher_embed(b, BIG, big_texts, NULL, 0, 1, big_out, NULL);
    CHECK(rc == SV_ETIMEOUT, "1 ms timeout: %d %s", rc, scivec_last_error());
    float one[64];
    int64_t n_tokens = 0;
    rc = sv_batcher_embed(b, 1, &texts[0], NULL, 0, 60000, one, &n_tokens);
    CHECK(rc == SCIVEC_OK && max_diff(one, want[0], dim) <= 1e-6f, "after a timeout: %d", rc);
    CHECK(n_tokens == 7, "'%s' is 7 tokens with [CLS] and [SEP] (got %lld)", texts[0],
          (long long)n_tokens);
    sv_batcher_get_stats(b, &s);
    CHECK(s.n_timed_out == 1, "timed out count %lld", (long long)s.n_timed_out);
    sv_batcher_stop(b);

    free(big_out);
    free(big_text);
    scivec_model_free(model);
    return check_report();
}
