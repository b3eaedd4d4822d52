/*
 * test_forward.c - the BERT forward pass and pooling against HuggingFace's
 * golden outputs, for every fixture checkpoint format, without the
 * tokenizer: token ids come from golden/tokens.jsonl and tokens_pair.jsonl.
 *
 * Also: the same sequence gives the same vector (<= 1e-6) whatever batch it
 * is packed into and whatever the thread count, and bad ids are refused.
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
#include "nn/bert.h"
#include "nn/pooling.h"
#include "outputs/npy.h"


#include "forward_util.h"

/* outs[p][set->n, hidden] for each of the n_poolings poolings: every
 * sequence, batch_size sequences per forward. */
static int encode_multi(net *m, const seqset *set, int batch_size, int n_threads, int n_poolings,
                        const scivec_pooling *poolings, int normalize, float **outs) {
    int *starts = malloc((batch_size + 1) * sizeof *starts);
    int status = 0;
    for (int first = 0; first < set->n && !status; first += batch_size) {
        int n = set->n - first < batch_size ? set->n - first : batch_size;
        status = run_packed(m, set, first, n, n_threads, starts, 0);
        for (int p = 0; p < n_poolings && !status; p++)
            status = sv_bert_pool(&m->cfg, m->w, poolings[p], normalize, m->ws.x, n, starts,
                                  outs[p] + (size_t)first * m->cfg.hidden);
    }
    free(starts);
    return status;
}

static int encode_all(net *m, const seqset *set, int batch_size, int n_threads,
                      scivec_pooling pooling, int normalize, float *out) {
    return encode_multi(m, set, batch_size, n_threads, 1, &pooling, normalize, &out);
}

/* Compares the set's vectors for each pooling (one forward for all of
 * them) against <golden_dir>/<prefix>_<pooling>.npy. */
static void check_against(net *m, const seqset *set, int n_poolings, const scivec_pooling *poolings,
                          const char *golden_dir, const char *prefix, const char *label) {
    size_t n_floats = (size_t)set->n * m->cfg.hidden;
    float *outs[4];
    for (int p = 0; p < n_poolings; p++) outs[p] = malloc(n_floats * sizeof(float));
    int status = encode_multi(m, set, 32, 2, n_poolings, poolings, 0, outs);
    CHECK(status == 0, "%s %s: %s", label, prefix, scivec_last_error());
    for (int p = 0; p < n_poolings && !status; p++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s_%s.npy", golden_dir, prefix,
                 scivec_pooling_name(poolings[p]));
        float *golden = NULL;
        int64_t rows = 0, cols = 0;
        int read = sv_npy_read(path, &golden, &rows, &cols);
        CHECK(read == 0, "%s: reading %s: %s", label, path, scivec_last_error());
        if (read) continue;
        CHECK(rows == set->n && cols == m->cfg.hidden, "%s: %s has shape [%lld, %lld]", label, path,
              (long long)rows, (long long)cols);
        if (rows == set->n && cols == m->cfg.hidden) {
            double diff = max_abs_diff(outs[p], golden, n_floats);
            CHECK(diff <= 1e-4, "%s: max abs diff %.3g from %s", label, diff, path);
            printf("  %-36s %-7s max abs diff %.2e (%d rows)\n", prefix,
                   scivec_pooling_name(poolings[p]), diff, set->n);
        }
        free(golden);
    }
    for (int p = 0; p < n_poolings; p++) free(outs[p]);
}

/* The full last layer of one text against last_hidden_state_<id>.npy. */
static void check_last_hidden(net *m, const seqset *set, const char *golden_dir,
                              const char *text_id, const char *label) {
    int i = 0;
    while (i < set->n && strcmp(set->id[i], text_id)) i++;
    CHECK(i < set->n, "%s: text %s not in tokens.jsonl", label, text_id);
    if (i == set->n) return;
    char path[1024];
    snprintf(path, sizeof path, "%s/last_hidden_state_%s.npy", golden_dir, text_id);
    float *golden = NULL;
    int64_t rows = 0, cols = 0;
    int status = sv_npy_read(path, &golden, &rows, &cols);
    CHECK(status == 0, "%s: %s", label, scivec_last_error());
    if (status) return;
    int starts[2];
    status = run_packed(m, set, i, 1, 2, starts, 0);
    CHECK(status == 0, "%s: %s", label, scivec_last_error());
    CHECK(rows == set->len[i] && cols == m->cfg.hidden, "%s: shape [%lld, %lld] vs %d tokens",
          label, (long long)rows, (long long)cols, set->len[i]);
    if (!status && rows == set->len[i] && cols == m->cfg.hidden) {
        double diff = max_abs_diff(m->ws.x, golden, (size_t)rows * cols);
        CHECK(diff <= 1e-4, "%s %s: last hidden state max abs diff %.3g", label, text_id, diff);
        printf("  %-48s max abs diff %.2e (%lld x %lld)\n", text_id, diff, (long long)rows,
               (long long)cols);
    }
    free(golden);
}

/* Every golden file of one model directory against one checkpoint. */
static void check_model(const char *model_dir, const char *golden_dir, const char *label,
                        const seqset *texts, const seqset *pairs, const seqset *single_sep) {
    printf("%s (%s)\n", label, model_dir);
    net m;
    int status = load_net(model_dir, &m);
    CHECK(status == 0, "%s: loading %s: %s", label, model_dir, scivec_last_error());
    if (status) {
        free_net(&m);
        return;
    }
    static const scivec_pooling poolings[] = {SCIVEC_POOL_CLS, SCIVEC_POOL_MEAN,
                                              SCIVEC_POOL_POOLER};
    check_against(&m, texts, 3, poolings, golden_dir, "embeddings", label);
    check_against(&m, pairs, 2, poolings, golden_dir, "pairs_pair_embeddings", label);
    check_against(&m, single_sep, 2, poolings, golden_dir, "pairs_single_sep_embeddings", label);
    static const char *hidden_ids[] = {"abs-0704.0001", "edge-ascii-simple", "edge-special-sep",
                                       "edge-very-long-text"};
    for (size_t i = 0; i < SV_ARRAY_LEN(hidden_ids); i++)
        check_last_hidden(&m, texts, golden_dir, hidden_ids[i], label);
    free_net(&m);
}

/* ------------------------------------------------------------------------ */
/* Invariance: batch composition and thread count do not change a vector     */

static void check_invariance(const seqset *texts) {
    printf("batch and thread invariance\n");
    net m;
    int status = load_net(MODELS "/tiny-scibert", &m);
    CHECK(status == 0, "invariance: %s", scivec_last_error());
    if (status) {
        free_net(&m);
        return;
    }
    size_t n_floats = (size_t)texts->n * m.cfg.hidden;
    static const scivec_pooling poolings[] = {SCIVEC_POOL_CLS, SCIVEC_POOL_MEAN, SCIVEC_POOL_MAX,
                                              SCIVEC_POOL_POOLER};
    float *ref[4], *outs[4];
    for (int p = 0; p < 4; p++) {
        ref[p] = malloc(n_floats * sizeof(float));
        outs[p] = malloc(n_floats * sizeof(float));
    }
    status = encode_multi(&m, texts, 1, 1, 4, poolings, 0, ref);
    CHECK(status == 0, "invariance: %s", scivec_last_error());
    static const struct {
        int batch, threads;
    } runs[] = {{1, 2}, {7, 1}, {7, 2}, {32, 1}, {32, 2}, {661, 2}};
    for (size_t r = 0; r < SV_ARRAY_LEN(runs); r++) {
        status = encode_multi(&m, texts, runs[r].batch, runs[r].threads, 4, poolings, 0, outs);
        CHECK(status == 0, "invariance: %s", scivec_last_error());
        for (int p = 0; p < 4; p++) {
            double diff = max_abs_diff(ref[p], outs[p], n_floats);
            CHECK(diff <= 1e-6, "%s: batch %d threads %d vs batch 1 threads 1: %.3g",
                  scivec_pooling_name(poolings[p]), runs[r].batch, runs[r].threads, diff);
            printf("  %-6s batch %3d threads %d vs batch 1 threads 1: max abs diff %.2e\n",
                   scivec_pooling_name(poolings[p]), runs[r].batch, runs[r].threads, diff);
        }
    }
    for (int p = 0; p < 4; p++) free(ref[p]);
    float *out = outs[0];
    for (int p = 1; p < 4; p++) free(outs[p]);
    // normalize: unit vectors
    status = encode_all(&m, texts, 32, 2, SCIVEC_POOL_MEAN, 1, out);
    CHECK(status == 0, "normalize: %s", scivec_last_error());
    double worst = 0.0;
    for (int i = 0; i < texts->n; i++) {
        double sq = 0.0;
        for (int j = 0; j < m.cfg.hidden; j++)
            sq += (double)out[i * m.cfg.hidden + j] * out[i * m.cfg.hidden + j];
        if (fabs(sqrt(sq) - 1.0) > worst) worst = fabs(sqrt(sq) - 1.0);
    }
    CHECK(worst < 1e-5, "normalize: norm off by %.3g", worst);
    free(out);
    free_net(&m);
}

/* Bad inputs are errors that name what is wrong, never crashes. */
static void check_bad_inputs(void) {
    net m;
    int status = load_net(MODELS "/tiny-scibert", &m);
    CHECK(status == 0, "bad inputs: %s", scivec_last_error());
    if (status) {
        free_net(&m);
        return;
    }
    int32_t ids[3] = {102, 31090, 103}, types[3] = {0, 0, 0};
    int starts[2] = {0, 3};
    status = sv_bert_forward(&m.cfg, m.w, &m.ws, 1, 1, starts, ids, types);
    CHECK(status == SCIVEC_EINVAL && strstr(scivec_last_error(), "31090"), "id out of range: %d %s",
          status, scivec_last_error());
    ids[1] = -1;
    status = sv_bert_forward(&m.cfg, m.w, &m.ws, 1, 1, starts, ids, types);
    CHECK(status == SCIVEC_EINVAL, "negative id: %d", status);
    ids[1] = 1000;
    types[1] = 2;
    status = sv_bert_forward(&m.cfg, m.w, &m.ws, 1, 1, starts, ids, types);
    CHECK(status == SCIVEC_EINVAL && strstr(scivec_last_error(), "type"),
          "type id out of range: %d %s", status, scivec_last_error());
    types[1] = 0;
    int empty[3] = {0, 0, 3};
    status = sv_bert_forward(&m.cfg, m.w, &m.ws, 1, 2, empty, ids, types);
    CHECK(status == SCIVEC_EINVAL, "empty sequence: %d", status);
    // longer than max_position_embeddings (512)
    int32_t *long_ids = calloc(513, sizeof *long_ids);
    int long_starts[2] = {0, 513};
    status = sv_bert_forward(&m.cfg, m.w, &m.ws, 1, 1, long_starts, long_ids, NULL);
    CHECK(status == SCIVEC_ETOOLONG && strstr(scivec_last_error(), "512"), "too long: %d %s",
          status, scivec_last_error());
    long_starts[1] = 512;
    status = sv_bert_forward(&m.cfg, m.w, &m.ws, 1, 1, long_starts, long_ids, NULL);
    CHECK(status == 0, "512 tokens, no type ids: %s", scivec_last_error());
    free(long_ids);
    status = sv_bert_forward(&m.cfg, m.w, &m.ws, 1, 1, starts, ids, types);
    CHECK(status == 0, "valid after errors: %s", scivec_last_error());
    float vec[64];
    status = sv_bert_pool(&m.cfg, m.w, SCIVEC_POOL_DEFAULT, 0, m.ws.x, 1, starts, vec);
    CHECK(status == SCIVEC_EINVAL, "pooling DEFAULT is for the model layer: %d", status);
    free_net(&m);
}

/* A directory holding the given files of src_dir, as symlinks. */
static int make_link_dir(char *tmpl, const char *src_dir, const char *const *files, int n) {
    if (!mkdtemp(tmpl)) return -1;
    for (int i = 0; i < n; i++) {
        char src[1024], dst[1024];
        snprintf(src, sizeof src, "%s/%s", src_dir, files[i]);
        snprintf(dst, sizeof dst, "%s/%s", tmpl, files[i]);
        if (symlink(src, dst)) return -1;
    }
    return 0;
}

static void remove_link_dir(const char *dir, const char *const *files, int n) {
    for (int i = 0; i < n; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

int main(void) {
    seqset texts, pairs, single_sep;
    CHECK(load_seqs(GOLDEN "/tokens.jsonl", NULL, &texts) == 0 && texts.n == 661,
          "tokens.jsonl: %d rows", texts.n);
    CHECK(load_seqs(GOLDEN "/tokens_pair.jsonl", "pair", &pairs) == 0 && pairs.n == 306,
          "tokens_pair.jsonl pair: %d rows", pairs.n);
    CHECK(load_seqs(GOLDEN "/tokens_pair.jsonl", "single_sep", &single_sep) == 0 &&
              single_sep.n == 306,
          "tokens_pair.jsonl single_sep: %d rows", single_sep.n);
    if (check_failed) return check_report();

    check_model(MODELS "/tiny-scibert", GOLDEN "/tiny-scibert", "safetensors F32", &texts, &pairs,
                &single_sep);

    // the zip pytorch_model.bin of the same folder, alone in a directory so
    // the loader cannot prefer model.safetensors
    const char *bin_files[] = {"config.json", "vocab.txt", "pytorch_model.bin"};
    char bin_dir[] = "/tmp/sv_fwd_bin_XXXXXX";
    CHECK(make_link_dir(bin_dir, MODELS "/tiny-scibert", bin_files, 3) == 0, "making %s", bin_dir);
    check_model(bin_dir, GOLDEN "/tiny-scibert", "pytorch_model.bin (zip)", &texts, &pairs,
                &single_sep);
    remove_link_dir(bin_dir, bin_files, 3);

    check_model(MODELS "/tiny-scibert-prefixed", GOLDEN "/tiny-scibert",
                "prefixed bert. + gamma/beta (zip)", &texts, &pairs, &single_sep);
    check_model(MODELS "/tiny-scibert-legacy", GOLDEN "/tiny-scibert", "legacy pickle .bin", &texts,
                &pairs, &single_sep);
    check_model(MODELS "/tiny-scibert-f16", GOLDEN "/tiny-scibert-f16", "safetensors F16", &texts,
                &pairs, &single_sep);

    check_invariance(&texts);
    check_bad_inputs();

    free_seqs(&texts);
    free_seqs(&pairs);
    free_seqs(&single_sep);
    return check_report();
}
