/*
 * test_model.c - the public scivec_model_* API: loading (and refusing) model
 * folders, the default pooling and its reason, max_length, encode_tokens and
 * encode_texts against HuggingFace's golden vectors, batch and thread
 * invariance through the public calls, truncation and its errors.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "core/error.h"
#include "corpus/jsonl.h"
#include "golden_util.h"
#include "nn/model.h"
#include "outputs/npy.h"
#include "scivec.h"

#define GOLDEN SV_FIXTURES "/golden"
#define TINY   SV_FIXTURES "/models/tiny-scibert"
#define HF     SV_FIXTURES "/hf-produced"

typedef struct golden_texts {
    int n;
    char **text, **id;
    scivec_encoding *enc; /* the golden token ids */
    int *n_untruncated;
} golden_texts;

static int load_golden(golden_texts *g) {
    memset(g, 0, sizeof *g);
    sv_jsonl *r;
    if (sv_jsonl_open(GOLDEN "/tokens.jsonl", &r)) return -1;
    cJSON *obj;
    int cap = 0;
    while (sv_jsonl_next(r, &obj) == 1) {
        if (g->n == cap) {
            cap = cap ? 2 * cap : 256;
            g->text = realloc(g->text, cap * sizeof *g->text);
            g->id = realloc(g->id, cap * sizeof *g->id);
            g->enc = realloc(g->enc, cap * sizeof *g->enc);
        }
        scivec_encoding *e = &g->enc[g->n];
        memset(e, 0, sizeof *e);
        int n_types;
        g->text[g->n] = strdup(cJSON_GetObjectItem(obj, "text")->valuestring);
        g->id[g->n] = strdup(cJSON_GetObjectItem(obj, "id")->valuestring);
        e->input_ids = int_array(cJSON_GetObjectItem(obj, "input_ids"), &e->n_tokens);
        e->token_type_ids = int_array(cJSON_GetObjectItem(obj, "token_type_ids"), &n_types);
        e->n_tokens_untruncated =
            (int)cJSON_GetObjectItem(obj, "n_tokens_untruncated")->valuedouble;
        g->n++;
        cJSON_Delete(obj);
    }
    sv_jsonl_close(r);
    return 0;
}

static float *read_golden(const char *name, int64_t rows, int64_t cols) {
    char path[1024];
    snprintf(path, sizeof path, GOLDEN "/tiny-scibert/%s", name);
    float *data = NULL;
    int64_t r = 0, c = 0;
    int status = sv_npy_read(path, &data, &r, &c);
    CHECK(status == 0 && r == rows && c == cols, "%s: %s [%lld, %lld]", path, scivec_last_error(),
          (long long)r, (long long)c);
    if (status || r != rows || c != cols) {
        free(data);
        return NULL;
    }
    return data;
}

/* ------------------------------------------------------------------------ */

static void test_load_and_info(void) {
    scivec_model_params mp = scivec_model_default_params();
    CHECK(mp.n_threads == 0, "default n_threads %d", mp.n_threads);
    scivec_model *m;
    int status = scivec_model_load(TINY, &mp, &m);
    CHECK(status == 0, "load: %s", scivec_last_error());
    if (status) return;
    CHECK(scivec_model_hidden_size(m) == 64, "hidden %d", scivec_model_hidden_size(m));
    CHECK(scivec_model_max_length(m) == 512, "max_length %d", scivec_model_max_length(m));
    CHECK(scivec_model_tokenizer(m) != NULL, "tokenizer");
    CHECK(strstr(scivec_model_dir(m), "tiny-scibert") != NULL, "dir %s", scivec_model_dir(m));
    CHECK(strstr(scivec_model_weights_path(m), "model.safetensors") != NULL, "weights %s",
          scivec_model_weights_path(m));
    const char *reason = NULL;
    scivec_pooling def = scivec_model_default_pooling(m, &reason);
    CHECK(def == SCIVEC_POOL_MEAN, "default pooling %s", scivec_pooling_name(def));
    CHECK(reason && !strcmp(reason, "sentence-transformers default"), "reason %s", reason);
    scivec_model_free(m);

    // the vocab.txt has 405 tokens but the embedding only 402 rows
    status = scivec_model_load(HF "/camphr-ner-bert-tf4.8.2", &mp, &m);
    CHECK(status == SCIVEC_EFORMAT && strstr(scivec_last_error(), "405") &&
              strstr(scivec_last_error(), "402"),
          "camphr: %d %s", status, scivec_last_error());

    status = scivec_model_load(SV_FIXTURES "/no-such-model", &mp, &m);
    CHECK(status != 0 && m == NULL, "missing model: %d", status);
    status = scivec_model_load(HF "/coldfire-tiny-nomic-bert", &mp, &m);
    CHECK(status != 0, "nomic_bert must be refused: %d", status);
    mp.n_threads = -1;
    status = scivec_model_load(TINY, &mp, &m);
    CHECK(status == SCIVEC_EINVAL, "negative threads: %d", status);
}

static void test_pooling_names(void) {
    scivec_pooling p;
    CHECK(scivec_pooling_parse("cls", &p) == 0 && p == SCIVEC_POOL_CLS, "cls");
    CHECK(scivec_pooling_parse("mean", &p) == 0 && p == SCIVEC_POOL_MEAN, "mean");
    CHECK(scivec_pooling_parse("max", &p) == 0 && p == SCIVEC_POOL_MAX, "max");
    CHECK(scivec_pooling_parse("pooler", &p) == 0 && p == SCIVEC_POOL_POOLER, "pooler");
    CHECK(scivec_pooling_parse("CLS", &p) == SCIVEC_EINVAL, "case matters");
    CHECK(scivec_pooling_parse("", &p) == SCIVEC_EINVAL, "empty");
    CHECK(scivec_pooling_parse(NULL, &p) == SCIVEC_EINVAL, "NULL");
    CHECK(!strcmp(scivec_pooling_name(SCIVEC_POOL_MEAN), "mean"), "name");
    scivec_encode_params ep = scivec_encode_default_params();
    CHECK(ep.pooling == SCIVEC_POOL_DEFAULT && !ep.normalize && ep.max_length == 0 &&
              !ep.truncate_error,
          "encode defaults");
}

/* A folder with sentence-transformers files: modules.json + 1_Pooling. */
static void test_st_default_pooling(void) {
    char dir[] = "/tmp/sv_model_st_XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    static const char *files[] = {"config.json", "model.safetensors", "vocab.txt",
                                  "tokenizer_config.json", "special_tokens_map.json"};
    char src[1024], dst[1024];
    for (size_t i = 0; i < SV_ARRAY_LEN(files); i++) {
        snprintf(src, sizeof src, HF "/coldfire-tiny-bert-st/%s", files[i]);
        snprintf(dst, sizeof dst, "%s/%s", dir, files[i]);
        CHECK(symlink(src, dst) == 0, "symlink %s", dst);
    }
    scivec_model_params mp = scivec_model_default_params();
    scivec_model *m;
    // coldfire has 1_Pooling but no modules.json: sentence-transformers
    // ignores 1_Pooling then, and so do we
    int status = scivec_model_load(HF "/coldfire-tiny-bert-st", &mp, &m);
    CHECK(status == 0, "coldfire: %s", scivec_last_error());
    const char *reason;
    if (!status) {
        CHECK(scivec_model_default_pooling(m, &reason) == SCIVEC_POOL_MEAN &&
                  !strcmp(reason, "sentence-transformers default"),
              "coldfire: %s", reason);
        // no pooler tensors: asking for pooler names the missing tensor
        scivec_encode_params ep = scivec_encode_default_params();
        ep.pooling = SCIVEC_POOL_POOLER;
        float vec[32];
        const char *text = "hello";
        status = scivec_model_encode_texts(m, &ep, 1, &text, NULL, vec, NULL);
        CHECK(status == SCIVEC_ENOTFOUND && strstr(scivec_last_error(), "pooler.dense.weight"),
              "pooler missing: %d %s", status, scivec_last_error());
        scivec_model_free(m);
    }

    snprintf(dst, sizeof dst, "%s/modules.json", dir);
    FILE *f = fopen(dst, "w");
    fputs("[{\"idx\": 0, \"name\": \"0\", \"path\": \"\", \"type\": "
          "\"sentence_transformers.models.Transformer\"},\n {\"idx\": 1, \"name\": \"1\", "
          "\"path\": \"1_Pooling\", \"type\": \"sentence_transformers.models.Pooling\"}]\n",
          f);
    fclose(f);
    snprintf(dst, sizeof dst, "%s/1_Pooling", dir);
    mkdir(dst, 0755);
    snprintf(dst, sizeof dst, "%s/1_Pooling/config.json", dir);
    f = fopen(dst, "w");
    fputs("{\"word_embedding_dimension\": 32, \"pooling_mode_cls_token\": true, "
          "\"pooling_mode_mean_tokens\": false, \"pooling_mode_max_tokens\": false, "
          "\"pooling_mode_mean_sqrt_len_tokens\": false}\n",
          f);
    fclose(f);
    status = scivec_model_load(dir, &mp, &m);
    CHECK(status == 0, "st cls: %s", scivec_last_error());
    if (!status) {
        scivec_pooling def = scivec_model_default_pooling(m, &reason);
        CHECK(def == SCIVEC_POOL_CLS && strstr(reason, "1_Pooling/config.json"), "st cls: %s (%s)",
              scivec_pooling_name(def), reason);
        // DEFAULT encodes exactly as CLS
        scivec_encode_params ep = scivec_encode_default_params();
        const char *text = "hello world";
        float a[32], b[32];
        CHECK(scivec_model_encode_texts(m, &ep, 1, &text, NULL, a, NULL) == 0, "default");
        ep.pooling = SCIVEC_POOL_CLS;
        CHECK(scivec_model_encode_texts(m, &ep, 1, &text, NULL, b, NULL) == 0, "cls");
        CHECK(max_abs_diff(a, b, 32) == 0.0, "default != cls");
        scivec_model_free(m);
    }

    // two modes at once (concatenation) is not something we do: explicit
    // poolings still work, the default refuses with the reason
    f = fopen(dst, "w");
    fputs("{\"pooling_mode_cls_token\": true, \"pooling_mode_mean_tokens\": true}\n", f);
    fclose(f);
    status = scivec_model_load(dir, &mp, &m);
    CHECK(status == 0, "st two modes: %s", scivec_last_error());
    if (!status) {
        scivec_encode_params ep = scivec_encode_default_params();
        const char *text = "hello";
        float a[32];
        status = scivec_model_encode_texts(m, &ep, 1, &text, NULL, a, NULL);
        CHECK(status == SCIVEC_EUNSUPPORTED && strstr(scivec_last_error(), "1_Pooling"),
              "two modes default: %d %s", status, scivec_last_error());
        ep.pooling = SCIVEC_POOL_MEAN;
        CHECK(scivec_model_encode_texts(m, &ep, 1, &text, NULL, a, NULL) == 0, "explicit mean: %s",
              scivec_last_error());
        scivec_model_free(m);
    }
    unlink(dst);
    snprintf(dst, sizeof dst, "%s/1_Pooling", dir);
    rmdir(dst);
    snprintf(dst, sizeof dst, "%s/modules.json", dir);
    unlink(dst);
    for (size_t i = 0; i < SV_ARRAY_LEN(files); i++) {
        snprintf(dst, sizeof dst, "%s/%s", dir, files[i]);
        unlink(dst);
    }
    rmdir(dir);
}

/* encode_tokens with the golden ids, through the public API. */
static void test_encode_tokens(scivec_model *m, const golden_texts *g) {
    size_t n_floats = (size_t)g->n * 64;
    float *out = malloc(n_floats * sizeof *out);
    static const struct {
        scivec_pooling pooling;
        const char *file;
    } cases[] = {
        {SCIVEC_POOL_CLS, "embeddings_cls.npy"},
        {SCIVEC_POOL_MEAN, "embeddings_mean.npy"},
        {SCIVEC_POOL_POOLER, "embeddings_pooler.npy"},
        {SCIVEC_POOL_DEFAULT, "embeddings_mean.npy"},
    };
    for (size_t c = 0; c < SV_ARRAY_LEN(cases); c++) {
        float *golden = read_golden(cases[c].file, g->n, 64);
        if (!golden) continue;
        scivec_encode_params ep = scivec_encode_default_params();
        ep.pooling = cases[c].pooling;
        int status = scivec_model_encode_tokens(m, &ep, g->n, g->enc, out);
        CHECK(status == 0, "encode_tokens: %s", scivec_last_error());
        double diff = max_abs_diff(out, golden, n_floats);
        CHECK(diff <= 1e-4, "encode_tokens %s: %.3g", scivec_pooling_name(cases[c].pooling), diff);
        printf("encode_tokens %-7s vs %s: max abs diff %.2e\n",
               scivec_pooling_name(cases[c].pooling), cases[c].file, diff);
        free(golden);
    }
    // the last hidden state of one sequence
    float *golden = read_golden("last_hidden_state_abs-0704.0001.npy", 203, 64);
    int i = 0;
    while (i < g->n && strcmp(g->id[i], "abs-0704.0001")) i++;
    const float *hidden;
    if (golden && i < g->n && g->enc[i].n_tokens == 203) {
        CHECK(sv_model_last_hidden_state(m, &g->enc[i], &hidden) == 0, "%s", scivec_last_error());
        double diff = max_abs_diff(hidden, golden, 203 * 64);
        CHECK(diff <= 1e-4, "last hidden state: %.3g", diff);
    }
    free(golden);

    // bad sequences are errors naming the sequence
    scivec_encoding bad = g->enc[3];
    int32_t ids[3] = {102, 31090, 103};
    bad.input_ids = ids;
    bad.n_tokens = 3;
    scivec_encoding two[2] = {g->enc[3], bad};
    scivec_encode_params ep = scivec_encode_default_params();
    int status = scivec_model_encode_tokens(m, &ep, 2, two, out);
    CHECK(status == SCIVEC_EINVAL && strstr(scivec_last_error(), "31090"), "bad id: %d %s", status,
          scivec_last_error());
    bad.n_tokens = 0;
    two[1] = bad;
    status = scivec_model_encode_tokens(m, &ep, 2, two, out);
    CHECK(status == SCIVEC_EINVAL && strstr(scivec_last_error(), "sequence 1"), "empty: %d %s",
          status, scivec_last_error());
    CHECK(scivec_model_encode_tokens(m, &ep, 0, NULL, NULL) == 0, "zero sequences");
    free(out);
}

/* encode_texts: the tokenizer + forward + pooling end to end vs golden rows,
 * whatever the batch or thread count. */
static void test_encode_texts(const golden_texts *g) {
    scivec_model_params mp = scivec_model_default_params();
    scivec_model *m1, *m2;
    mp.n_threads = 1;
    int status = scivec_model_load(TINY, &mp, &m1);
    CHECK(status == 0, "load 1 thread: %s", scivec_last_error());
    mp.n_threads = 2;
    status |= scivec_model_load(TINY, &mp, &m2);
    CHECK(status == 0, "load 2 threads: %s", scivec_last_error());
    if (status) return;
    size_t n_floats = (size_t)g->n * 64;
    float *golden = read_golden("embeddings_cls.npy", g->n, 64);
    float *ref = malloc(n_floats * sizeof *ref), *out = malloc(n_floats * sizeof *out);
    scivec_encode_params ep = scivec_encode_default_params();
    ep.pooling = SCIVEC_POOL_CLS;
    ep.max_length = 512;
    scivec_encode_stats stats = {0};
    const char *const *texts = (const char *const *)g->text;
    status = scivec_model_encode_texts(m2, &ep, g->n, texts, NULL, ref, &stats);
    CHECK(status == 0, "encode_texts: %s", scivec_last_error());
    if (golden && !status) {
        // rows whose golden ids our tokenizer reproduces must match to 1e-4;
        // a tokenizer mismatch is the tokenizer tests' business, counted here
        int n_same = 0;
        double worst = 0.0;
        for (int i = 0; i < g->n; i++) {
            scivec_encoding enc = {0};
            if (scivec_tokenize(scivec_model_tokenizer(m2), g->text[i], strlen(g->text[i]), NULL, 0,
                                512, &enc))
                continue;
            int same = enc.n_tokens == g->enc[i].n_tokens &&
                       !memcmp(enc.input_ids, g->enc[i].input_ids, enc.n_tokens * sizeof(int32_t));
            scivec_encoding_clear(&enc);
            if (!same) continue;
            n_same++;
            double d = max_abs_diff(ref + (size_t)i * 64, golden + (size_t)i * 64, 64);
            if (d > worst) worst = d;
        }
        CHECK(worst <= 1e-4, "encode_texts vs golden: %.3g", worst);
        CHECK(n_same >= g->n - 10, "tokenizer reproduces only %d of %d golden rows", n_same, g->n);
        printf("encode_texts cls vs golden: max abs diff %.2e over %d/%d rows with golden ids\n",
               worst, n_same, g->n);
        int64_t golden_tokens = 0;
        int golden_truncated = 0;
        for (int i = 0; i < g->n; i++) {
            golden_tokens += g->enc[i].n_tokens;
            golden_truncated += g->enc[i].n_tokens_untruncated > g->enc[i].n_tokens;
        }
        CHECK(stats.n_truncated == golden_truncated, "truncated %d, golden %d", stats.n_truncated,
              golden_truncated);
        CHECK(golden_truncated > 0, "golden has truncated texts");
        CHECK(stats.n_tokens > 0 && llabs(stats.n_tokens - golden_tokens) < 200,
              "tokens %lld, golden %lld", (long long)stats.n_tokens, (long long)golden_tokens);
    }
    // the same text, the same vector: batches of 1, 7, 32 and 1 vs 2 threads
    int n_check = 96; // edge cases incl. the 512-token ones, and abstracts
    static const struct {
        int batch, threads;
    } runs[] = {{1, 1}, {7, 1}, {32, 1}, {1, 2}, {7, 2}, {32, 2}};
    for (size_t r = 0; r < SV_ARRAY_LEN(runs); r++) {
        scivec_model *m = runs[r].threads == 1 ? m1 : m2;
        status = 0;
        for (int first = 0; first < n_check && !status; first += runs[r].batch) {
            int n = n_check - first < runs[r].batch ? n_check - first : runs[r].batch;
            status = scivec_model_encode_texts(m, &ep, n, texts + first, NULL,
                                               out + (size_t)first * 64, NULL);
        }
        CHECK(status == 0, "batch %d: %s", runs[r].batch, scivec_last_error());
        double diff = max_abs_diff(out, ref, (size_t)n_check * 64);
        CHECK(diff <= 1e-6, "batch %d threads %d vs one call of 661 with 2 threads: %.3g",
              runs[r].batch, runs[r].threads, diff);
        printf("encode_texts batch %2d threads %d vs all 661 at once: max abs diff %.2e\n",
               runs[r].batch, runs[r].threads, diff);
    }

    // a small token budget splits the same inputs into many forwards
    CHECK(sv_model_set_batch_tokens(m2, 0) == SCIVEC_EINVAL, "batch tokens 0");
    CHECK(sv_model_set_batch_tokens(m2, 100) == 0, "batch tokens 100");
    status = scivec_model_encode_texts(m2, &ep, n_check, texts, NULL, out, NULL);
    CHECK(status == 0, "budget 100: %s", scivec_last_error());
    CHECK(max_abs_diff(out, ref, (size_t)n_check * 64) <= 1e-6, "budget 100 changes vectors");
    status = scivec_model_encode_tokens(m2, &ep, n_check, g->enc, out);
    CHECK(status == 0, "budget 100 tokens: %s", scivec_last_error());
    sv_model_set_batch_tokens(m2, SV_BATCH_TOKENS);

    // truncation: max_length 16 cuts long texts; truncate_error refuses
    int long_i = 0;
    while (long_i < g->n && g->enc[long_i].n_tokens < 100) long_i++;
    ep.max_length = 16;
    stats = (scivec_encode_stats){0};
    const char *two[2] = {"short", g->text[long_i]};
    status = scivec_model_encode_texts(m1, &ep, 2, two, NULL, out, &stats);
    CHECK(status == 0 && stats.n_truncated == 1 && stats.n_tokens == 3 + 16,
          "max_length 16: %d truncated %d tokens %lld", status, stats.n_truncated,
          (long long)stats.n_tokens);
    ep.truncate_error = 1;
    status = scivec_model_encode_texts(m1, &ep, 2, two, NULL, out, NULL);
    CHECK(status == SCIVEC_ETOOLONG && strstr(scivec_last_error(), "input 1"),
          "truncate_error: %d %s", status, scivec_last_error());
    // max_length above max_position_embeddings is capped, not an error
    ep.truncate_error = 0;
    ep.max_length = 100000;
    const char *very_long = NULL;
    for (int i = 0; i < g->n; i++)
        if (g->enc[i].n_tokens_untruncated > 512) very_long = g->text[i];
    CHECK(very_long != NULL, "a text over 512 tokens");
    if (very_long) {
        stats = (scivec_encode_stats){0};
        status = scivec_model_encode_texts(m1, &ep, 1, &very_long, NULL, out, &stats);
        CHECK(status == 0 && stats.n_tokens == 512 && stats.n_truncated == 1,
              "capped at 512: %d %s %lld", status, scivec_last_error(), (long long)stats.n_tokens);
    }
    // pairs: [CLS] a [SEP] b [SEP] with token types 0/1
    ep.max_length = 0;
    const char *a = "a title", *b = "an abstract";
    float pair_vec[64], single_vec[64];
    CHECK(scivec_model_encode_texts(m1, &ep, 1, &a, &b, pair_vec, NULL) == 0, "pair");
    CHECK(scivec_model_encode_texts(m1, &ep, 1, &a, NULL, single_vec, NULL) == 0, "single");
    CHECK(max_abs_diff(pair_vec, single_vec, 64) > 1e-3, "the pair changes the vector");
    const char *pairs[2] = {NULL, "an abstract"};
    const char *firsts[2] = {"a title", "a title"};
    float both[128];
    CHECK(scivec_model_encode_texts(m1, &ep, 2, firsts, pairs, both, NULL) == 0, "NULL pair entry");
    CHECK(max_abs_diff(both, single_vec, 64) == 0.0 && max_abs_diff(both + 64, pair_vec, 64) == 0.0,
          "NULL pair entries are single texts");

    free(golden);
    free(ref);
    free(out);
    scivec_model_free(m1);
    scivec_model_free(m2);
}

int main(void) {
    golden_texts g;
    CHECK(load_golden(&g) == 0 && g.n == 661, "tokens.jsonl: %d", g.n);
    test_pooling_names();
    test_load_and_info();
    test_st_default_pooling();
    scivec_model_params mp = scivec_model_default_params();
    mp.n_threads = 2;
    scivec_model *m;
    int status = scivec_model_load(TINY, &mp, &m);
    CHECK(status == 0, "load: %s", scivec_last_error());
    if (!status) {
        test_encode_tokens(m, &g);
        scivec_model_free(m);
    }
    test_encode_texts(&g);
    for (int i = 0; i < g.n; i++) {
        free(g.text[i]);
        free(g.id[i]);
        free(g.enc[i].input_ids);
        free(g.enc[i].token_type_ids);
    }
    free(g.text);
    free(g.id);
    free(g.enc);
    return check_report();
}
