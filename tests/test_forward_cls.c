/*
 * test_forward_cls.c - sv_bert_forward_cls, the forward whose last layer
 * computes only the [CLS] rows (what cls and pooler pooling read): its [CLS]
 * and pooler vectors against HuggingFace's golden ones (<= 1e-4), against the
 * full forward's (<= 1e-5: same math, different call shapes), and the same
 * whatever the batch and thread count (<= 1e-6).
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "core/error.h"
#include "corpus/jsonl.h"
#include "nn/pooling.h"
#include "outputs/npy.h"

#include "forward_util.h"


/* out[p][set->n, hidden]: cls (p = 0) and pooler (p = 1) vectors of every
 * sequence, batch_size sequences per forward. */
static int encode_first(net *m, const seqset *set, int batch_size, int n_threads, int cls_only,
                        float **out) {
    int *starts = malloc((batch_size + 1) * sizeof *starts);
    int status = 0;
    static const scivec_pooling poolings[2] = {SCIVEC_POOL_CLS, SCIVEC_POOL_POOLER};
    for (int first = 0; first < set->n && !status; first += batch_size) {
        int n = set->n - first < batch_size ? set->n - first : batch_size;
        status = run_packed(m, set, first, n, n_threads, starts, cls_only);
        for (int p = 0; p < 2 && !status; p++)
            status = sv_bert_pool(&m->cfg, m->w, poolings[p], 0, m->ws.x, n, starts,
                                  out[p] + (size_t)first * m->cfg.hidden);
    }
    free(starts);
    return status;
}

static void check_golden(const float *vecs, int n, int hidden, const char *path,
                         const char *label) {
    float *golden = NULL;
    int64_t rows = 0, cols = 0;
    int status = sv_npy_read(path, &golden, &rows, &cols);
    CHECK(status == 0, "%s: %s", label, scivec_last_error());
    if (status) return;
    CHECK(rows == n && cols == hidden, "%s: %s is [%lld, %lld]", label, path, (long long)rows,
          (long long)cols);
    if (rows == n && cols == hidden) {
        double diff = max_abs_diff(vecs, golden, (size_t)n * hidden);
        CHECK(diff <= 1e-4, "%s: max abs diff %.3g from %s", label, diff, path);
        printf("  %-40s vs HF golden: max abs diff %.2e (%d rows)\n", label, diff, n);
    }
    free(golden);
}

static void check_set(net *m, const seqset *set, const char *golden_prefix, int has_pooler,
                      const char *label) {
    size_t n_floats = (size_t)set->n * m->cfg.hidden;
    float *full[2], *ref[2], *out[2];
    for (int p = 0; p < 2; p++) {
        full[p] = malloc(n_floats * sizeof(float));
        ref[p] = malloc(n_floats * sizeof(float));
        out[p] = malloc(n_floats * sizeof(float));
    }
    int status = encode_first(m, set, 32, 2, 0, full);
    CHECK(status == 0, "%s full: %s", label, scivec_last_error());
    status = encode_first(m, set, 1, 1, 1, ref);
    CHECK(status == 0, "%s cls-only: %s", label, scivec_last_error());
    if (!status) {
        char path[1024], name[256];
        snprintf(path, sizeof path, "%s_cls.npy", golden_prefix);
        snprintf(name, sizeof name, "%s cls", label);
        check_golden(ref[0], set->n, m->cfg.hidden, path, name);
        if (has_pooler) {
            snprintf(path, sizeof path, "%s_pooler.npy", golden_prefix);
            snprintf(name, sizeof name, "%s pooler", label);
            check_golden(ref[1], set->n, m->cfg.hidden, path, name);
        }
        for (int p = 0; p < 1 + has_pooler; p++) {
            double diff = max_abs_diff(full[p], ref[p], n_floats);
            CHECK(diff <= 1e-5, "%s: cls-only vs full last layer (%s): %.3g", label,
                  p ? "pooler" : "cls", diff);
            printf("  %-40s vs full last layer (%s): max abs diff %.2e\n", label,
                   p ? "pooler" : "cls", diff);
        }
    }
    static const struct {
        int batch, threads;
    } runs[] = {{1, 2}, {7, 1}, {7, 2}, {32, 2}, {661, 1}, {661, 2}};
    for (size_t r = 0; r < SV_ARRAY_LEN(runs) && !status; r++) {
        status = encode_first(m, set, runs[r].batch, runs[r].threads, 1, out);
        CHECK(status == 0, "%s: %s", label, scivec_last_error());
        for (int p = 0; p < 1 + has_pooler && !status; p++) {
            double diff = max_abs_diff(ref[p], out[p], n_floats);
            CHECK(diff <= 1e-6, "%s %s: batch %d threads %d vs batch 1 threads 1: %.3g", label,
                  p ? "pooler" : "cls", runs[r].batch, runs[r].threads, diff);
            printf("  %-14s %-6s batch %3d threads %d vs batch 1 threads 1: max abs diff %.2e\n",
                   label, p ? "pooler" : "cls", runs[r].batch, runs[r].threads, diff);
        }
    }
    for (int p = 0; p < 2; p++) {
        free(full[p]);
        free(ref[p]);
        free(out[p]);
    }
}

int main(void) {
    seqset texts, pairs;
    CHECK(load_seqs(GOLDEN "/tokens.jsonl", NULL, &texts) == 0 && texts.n == 661,
          "tokens.jsonl: %d rows", texts.n);
    CHECK(load_seqs(GOLDEN "/tokens_pair.jsonl", "pair", &pairs) == 0 && pairs.n == 306,
          "tokens_pair.jsonl pair: %d rows", pairs.n);
    if (check_failed) return check_report();
    static const struct {
        const char *model, *golden, *label;
    } models[] = {
        {MODELS "/tiny-scibert", GOLDEN "/tiny-scibert", "F32"},
        {MODELS "/tiny-scibert-f16", GOLDEN "/tiny-scibert-f16", "F16"},
    };
    for (size_t i = 0; i < SV_ARRAY_LEN(models); i++) {
        net m;
        int status = load_net(models[i].model, &m);
        CHECK(status == 0, "loading %s: %s", models[i].model, scivec_last_error());
        if (!status) {
            char prefix[1024], label[64];
            snprintf(prefix, sizeof prefix, "%s/embeddings", models[i].golden);
            snprintf(label, sizeof label, "%s texts", models[i].label);
            check_set(&m, &texts, prefix, 1, label);
            snprintf(prefix, sizeof prefix, "%s/pairs_pair_embeddings", models[i].golden);
            snprintf(label, sizeof label, "%s pairs", models[i].label);
            check_set(&m, &pairs, prefix, 0, label);
        }
        free_net(&m);
    }
    free_seqs(&texts);
    free_seqs(&pairs);
    return check_report();
}
