/*
 * test_adapter.c - SPECTER2-style bottleneck adapters (seq_bn) against the
 * golden outputs of the real AdapterHub library
 * (golden/tiny-scibert-adapters/README.md), through the public API:
 *   - proximity, adhoc_query, bottleneck8 and prx-noprefix ("[PRX]", no
 *     "bert." prefix; must give proximity's outputs) on one model, CLS and
 *     mean pooling, all 661 texts and 306 single-string pairs, plus the last
 *     hidden states; adapter_id 0 still gives the base model's golden;
 *   - the same adapter from an adapter.safetensors;
 *   - refusals: config values it does not implement (naming the key), a
 *     missing, a leftover and a misshapen tensor (naming it), two adapter
 *     names in one file, unknown adapter ids.
 * Token ids come from golden/tokens.jsonl and tokens_pair.jsonl.
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
#include "core/files.h"
#include "corpus/jsonl.h"
#include "golden_util.h"
#include "nn/model.h"
#include "outputs/npy.h"
#include "weights/checkpoint.h"
#include "weights/checkpoint_open.h"

#define GOLDEN   SV_FIXTURES "/golden"
#define MODELS   SV_FIXTURES "/models"
#define ADAPTERS MODELS "/tiny-scibert-adapters"

/* ------------------------------------------------------------------------ */
/* Golden token ids                                                          */

typedef struct seqset {
    int n;
    char **id;
    scivec_encoding *enc;
} seqset;

/* sub = NULL for tokens.jsonl, "single_sep" for tokens_pair.jsonl. */
static int load_seqs(const char *path, const char *sub, seqset *set) {
    memset(set, 0, sizeof *set);
    sv_jsonl *r;
    if (sv_jsonl_open(path, &r)) return -1;
    cJSON *obj;
    int cap = 0;
    while (sv_jsonl_next(r, &obj) == 1) {
        if (set->n == cap) {
            cap = cap ? 2 * cap : 256;
            set->id = realloc(set->id, cap * sizeof *set->id);
            set->enc = realloc(set->enc, cap * sizeof *set->enc);
        }
        const cJSON *src = sub ? cJSON_GetObjectItem(obj, sub) : obj;
        scivec_encoding *e = &set->enc[set->n];
        memset(e, 0, sizeof *e);
        int n_types;
        set->id[set->n] = strdup(cJSON_GetObjectItem(obj, "id")->valuestring);
        e->input_ids = int_array(cJSON_GetObjectItem(src, "input_ids"), &e->n_tokens);
        e->token_type_ids = int_array(cJSON_GetObjectItem(src, "token_type_ids"), &n_types);
        e->n_tokens_untruncated = e->n_tokens;
        set->n++;
        cJSON_Delete(obj);
        if (n_types != e->n_tokens) {
            sv_jsonl_close(r);
            return -1;
        }
    }
    sv_jsonl_close(r);
    return 0;
}

static void free_seqs(seqset *set) {
    for (int i = 0; i < set->n; i++) {
        free(set->id[i]);
        scivec_encoding_clear(&set->enc[i]);
    }
    free(set->id);
    free(set->enc);
}

/* ------------------------------------------------------------------------ */
/* Comparisons                                                               */

/* Encodes every sequence of set with adapter_id and pooling and compares with
 * golden_dir/file; returns the max |diff| (or 1e9 when something failed). */
static double compare_embeddings(scivec_model *m, int adapter_id, scivec_pooling pooling,
                                 const seqset *set, const char *golden_dir, const char *file) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", golden_dir, file);
    float *golden = NULL;
    int64_t rows = 0, cols = 0;
    int status = sv_npy_read(path, &golden, &rows, &cols);
    CHECK(status == 0, "read %s: %s", path, scivec_last_error());
    if (status) return 1e9;
    int hidden = scivec_model_hidden_size(m);
    CHECK(rows == set->n && cols == hidden, "%s: shape [%lld, %lld]", path, (long long)rows,
          (long long)cols);
    double diff = 1e9;
    float *out = malloc((size_t)set->n * hidden * sizeof *out);
    scivec_encode_params ep = scivec_encode_default_params();
    ep.pooling = pooling;
    ep.adapter_id = adapter_id;
    status = scivec_model_encode_tokens(m, &ep, set->n, set->enc, out);
    CHECK(status == 0, "encode adapter %d: %s", adapter_id, scivec_last_error());
    if (!status && rows == set->n && cols == hidden)
        diff = max_abs_diff(out, golden, (size_t)set->n * hidden);
    free(out);
    free(golden);
    return diff;
}

static int find_seq(const seqset *set, const char *id) {
    for (int i = 0; i < set->n; i++)
        if (strcmp(set->id[i], id) == 0) return i;
    return -1;
}

static double compare_hidden(scivec_model *m, int adapter_id, const seqset *set,
                             const char *golden_dir, const char *text_id) {
    char path[1024];
    snprintf(path, sizeof path, "%s/last_hidden_state_%s.npy", golden_dir, text_id);
    float *golden = NULL;
    int64_t rows = 0, cols = 0;
    int status = sv_npy_read(path, &golden, &rows, &cols);
    CHECK(status == 0, "read %s: %s", path, scivec_last_error());
    int i = find_seq(set, text_id);
    CHECK(i >= 0, "no text %s in tokens.jsonl", text_id);
    if (status || i < 0) {
        free(golden);
        return 1e9;
    }
    CHECK(rows == set->enc[i].n_tokens && cols == scivec_model_hidden_size(m), "%s: shape", path);
    const float *hidden = NULL;
    status = sv_model_last_hidden_state_adapter(m, adapter_id, &set->enc[i], &hidden);
    CHECK(status == 0, "last hidden state: %s", scivec_last_error());
    double diff = status || rows != set->enc[i].n_tokens
                      ? 1e9
                      : max_abs_diff(hidden, golden, (size_t)rows * cols);
    free(golden);
    return diff;
}

/* ------------------------------------------------------------------------ */
/* Writing modified adapter folders                                          */

static char tmp_root[] = "/tmp/test_adapter_XXXXXX";

static void copy_file(const char *from, const char *to) {
    char *data = NULL;
    size_t size = 0;
    if (sv_read_file(from, &data, &size)) {
        CHECK(0, "read %s", from);
        return;
    }
    FILE *f = fopen(to, "wb");
    CHECK(f && fwrite(data, 1, size, f) == size, "write %s", to);
    if (f) fclose(f);
    free(data);
}

/* A new folder under tmp_root holding proximity's config with `key` set to
 * the JSON `value` (key NULL: unchanged) and its pytorch_adapter.bin. */
static char *make_config_variant(const char *folder, const char *key, const char *value) {
    static char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", tmp_root, folder);
    mkdir(dir, 0700);
    char *text = NULL;
    sv_read_file(ADAPTERS "/proximity/adapter_config.json", &text, NULL);
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (key) {
        cJSON *config = cJSON_GetObjectItem(root, "config");
        cJSON_DeleteItemFromObject(config, key);
        cJSON_AddItemToObject(config, key, cJSON_Parse(value));
    }
    char path[600];
    snprintf(path, sizeof path, "%s/adapter_config.json", dir);
    char *json = cJSON_Print(root);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL, "write %s", path);
    if (f) {
        fputs(json, f);
        fclose(f);
    }
    free(json);
    cJSON_Delete(root);
    snprintf(path, sizeof path, "%s/pytorch_adapter.bin", dir);
    copy_file(ADAPTERS "/proximity/pytorch_adapter.bin", path);
    return dir;
}

/* Writes the tensors of src_bin into dir/adapter.safetensors (float32),
 * leaving out the tensor named `drop`, renaming `rename_from` to `rename_to`,
 * adding `extra` (a copy of the first tensor under that name) and giving the
 * tensor named `reshape` a flat 1-D shape. */
static void write_safetensors(const char *src_bin, const char *dir, const char *drop,
                              const char *rename_from, const char *rename_to, const char *extra,
                              const char *reshape) {
    sv_checkpoint *ck = NULL;
    int status = sv_checkpoint_open(src_bin, &ck);
    CHECK(status == 0, "open %s: %s", src_bin, scivec_last_error());
    if (status) return;
    cJSON *header = cJSON_CreateObject();
    size_t total = 0, cap = 1 << 16;
    unsigned char *data = malloc(cap);
    int n_out = ck->n_tensors + (extra ? 1 : 0);
    for (int k = 0; k < n_out; k++) {
        const sv_tensor *t = &ck->tensors[k < ck->n_tensors ? k : 0];
        const char *name = k < ck->n_tensors ? t->name : extra;
        if (drop && strcmp(name, drop) == 0) continue;
        if (rename_from && strcmp(name, rename_from) == 0) name = rename_to;
        const float *f32 = NULL;
        CHECK(sv_checkpoint_f32(ck, t, &f32) == 0, "f32 %s", t->name);
        size_t n_bytes = (size_t)sv_tensor_numel(t) * sizeof(float);
        while (total + n_bytes > cap) data = realloc(data, cap *= 2);
        memcpy(data + total, f32, n_bytes);
        cJSON *entry = cJSON_CreateObject();
        cJSON_AddStringToObject(entry, "dtype", "F32");
        cJSON *shape = cJSON_AddArrayToObject(entry, "shape");
        if (reshape && strcmp(name, reshape) == 0) {
            cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)sv_tensor_numel(t)));
        } else {
            for (int d = 0; d < t->n_dims; d++)
                cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->shape[d]));
        }
        cJSON *offsets = cJSON_AddArrayToObject(entry, "data_offsets");
        cJSON_AddItemToArray(offsets, cJSON_CreateNumber((double)total));
        cJSON_AddItemToArray(offsets, cJSON_CreateNumber((double)(total + n_bytes)));
        cJSON_AddItemToObject(header, name, entry);
        total += n_bytes;
    }
    char *json = cJSON_PrintUnformatted(header);
    size_t json_len = strlen(json);
    size_t padded = (json_len + 7) / 8 * 8;
    char path[600];
    snprintf(path, sizeof path, "%s/adapter.safetensors", dir);
    FILE *f = fopen(path, "wb");
    uint64_t header_len = padded;
    unsigned char le[8];
    for (int i = 0; i < 8; i++) le[i] = (unsigned char)(header_len >> (8 * i));
    CHECK(f != NULL, "write %s", path);
    if (f) {
        fwrite(le, 1, 8, f);
        fwrite(json, 1, json_len, f);
        for (size_t i = json_len; i < padded; i++) fputc(' ', f);
        fwrite(data, 1, total, f);
        fclose(f);
    }
    free(json);
    free(data);
    cJSON_Delete(header);
    sv_checkpoint_free(ck);
}

/* Expects add_adapter(dir) to fail with status and a message holding every
 * one of the needles. */
static void expect_refused(scivec_model *m, const char *dir, int status_wanted, const char *needle1,
                           const char *needle2) {
    int id = -1;
    int n_before = scivec_model_n_adapters(m);
    int status = scivec_model_add_adapter(m, dir, &id);
    const char *msg = scivec_last_error();
    CHECK(status == status_wanted, "%s: status %d (%s), wanted %d", dir, status, msg,
          status_wanted);
    CHECK(id == 0, "%s: id %d on failure", dir, id);
    CHECK(scivec_model_n_adapters(m) == n_before, "a refused adapter was added");
    CHECK(strstr(msg, needle1) != NULL, "message '%s' does not name '%s'", msg, needle1);
    if (needle2)
        CHECK(strstr(msg, needle2) != NULL, "message '%s' does not name '%s'", msg, needle2);
    printf("  refused as expected: %s\n", msg);
}

/* ------------------------------------------------------------------------ */

int main(void) {
    seqset texts, pairs;
    CHECK(load_seqs(GOLDEN "/tokens.jsonl", NULL, &texts) == 0, "tokens.jsonl");
    CHECK(load_seqs(GOLDEN "/tokens_pair.jsonl", "single_sep", &pairs) == 0, "tokens_pair.jsonl");
    CHECK(texts.n == 661 && pairs.n == 306, "%d texts, %d pairs", texts.n, pairs.n);

    scivec_model_params mp = scivec_model_default_params();
    mp.n_threads = 2;
    scivec_model *m = NULL;
    int status = scivec_model_load(MODELS "/tiny-scibert", &mp, &m);
    CHECK(status == 0, "load: %s", scivec_last_error());
    if (status) return check_report();

    static const char *names[] = {"proximity", "adhoc_query", "bottleneck8", "prx-noprefix"};
    static const char *tensor_names[] = {"proximity", "adhoc_query", "bottleneck8", "[PRX]"};
    static const char *golden_of[] = {"proximity", "adhoc_query", "bottleneck8", "proximity"};
    int ids[4];
    for (int a = 0; a < 4; a++) {
        char dir[512];
        snprintf(dir, sizeof dir, "%s/%s", ADAPTERS, names[a]);
        status = scivec_model_add_adapter(m, dir, &ids[a]);
        CHECK(status == 0, "add %s: %s", names[a], scivec_last_error());
        CHECK(ids[a] == a + 1, "%s got id %d", names[a], ids[a]);
        const char *name = scivec_model_adapter_name(m, ids[a]);
        CHECK(name && strcmp(name, tensor_names[a]) == 0, "%s named %s", names[a],
              name ? name : "(null)");
    }
    CHECK(scivec_model_adapter_name(m, 0) == NULL && scivec_model_adapter_name(m, 5) == NULL,
          "names of ids 0 / 5");
    if (status) return check_report();

    // every adapter against its golden, CLS and mean, texts and pairs, hidden states
    for (int a = 0; a < 4; a++) {
        char golden_dir[512];
        snprintf(golden_dir, sizeof golden_dir, "%s/tiny-scibert-adapters/%s", GOLDEN,
                 golden_of[a]);
        double d_cls = compare_embeddings(m, ids[a], SCIVEC_POOL_CLS, &texts, golden_dir,
                                          "embeddings_cls.npy");
        double d_mean = compare_embeddings(m, ids[a], SCIVEC_POOL_MEAN, &texts, golden_dir,
                                           "embeddings_mean.npy");
        double p_cls = compare_embeddings(m, ids[a], SCIVEC_POOL_CLS, &pairs, golden_dir,
                                          "pairs_single_sep_embeddings_cls.npy");
        double p_mean = compare_embeddings(m, ids[a], SCIVEC_POOL_MEAN, &pairs, golden_dir,
                                           "pairs_single_sep_embeddings_mean.npy");
        double h1 = compare_hidden(m, ids[a], &texts, golden_dir, "abs-0704.0001");
        double h2 = compare_hidden(m, ids[a], &texts, golden_dir, "edge-ascii-simple");
        printf("%-13s max|diff|: texts cls %.2e mean %.2e, pairs cls %.2e mean %.2e, "
               "hidden %.2e %.2e\n",
               names[a], d_cls, d_mean, p_cls, p_mean, h1, h2);
        CHECK(d_cls <= 1e-4 && d_mean <= 1e-4, "%s texts: cls %g mean %g", names[a], d_cls, d_mean);
        CHECK(p_cls <= 1e-4 && p_mean <= 1e-4, "%s pairs: cls %g mean %g", names[a], p_cls, p_mean);
        CHECK(h1 <= 1e-4 && h2 <= 1e-4, "%s hidden states: %g %g", names[a], h1, h2);
    }

    // adapter_id 0 is the base model, untouched by the adapters added
    const char *base = GOLDEN "/tiny-scibert";
    double b_cls = compare_embeddings(m, 0, SCIVEC_POOL_CLS, &texts, base, "embeddings_cls.npy");
    double b_mean = compare_embeddings(m, 0, SCIVEC_POOL_MEAN, &texts, base, "embeddings_mean.npy");
    printf("base (adapter_id 0) max|diff|: cls %.2e mean %.2e\n", b_cls, b_mean);
    CHECK(b_cls <= 1e-4 && b_mean <= 1e-4, "base: cls %g mean %g", b_cls, b_mean);
    // and an adapter really changes the vectors (the golden says by 1.5-3.2)
    double moved =
        compare_embeddings(m, ids[0], SCIVEC_POOL_CLS, &texts, base, "embeddings_cls.npy");
    CHECK(moved > 0.5, "proximity vs base: only %g apart", moved);

    // the texts path honours adapter_id too, and refuses unknown ids
    {
        const char *one[] = {"Attention is all you need"};
        float v0[64], v1[64], v1b[64];
        scivec_encode_params ep = scivec_encode_default_params();
        ep.pooling = SCIVEC_POOL_CLS;
        CHECK(scivec_model_encode_texts(m, &ep, 1, one, NULL, v0, NULL) == 0, "texts base");
        ep.adapter_id = ids[0];
        CHECK(scivec_model_encode_texts(m, &ep, 1, one, NULL, v1, NULL) == 0, "texts prx");
        ep.adapter_id = ids[3];
        CHECK(scivec_model_encode_texts(m, &ep, 1, one, NULL, v1b, NULL) == 0, "texts [PRX]");
        CHECK(max_abs_diff(v0, v1, 64) > 0.1, "texts path ignored the adapter");
        CHECK(max_abs_diff(v1, v1b, 64) == 0.0, "proximity and [PRX] differ");
        ep.adapter_id = 5;
        status = scivec_model_encode_texts(m, &ep, 1, one, NULL, v1, NULL);
        CHECK(status == SCIVEC_EINVAL && strstr(scivec_last_error(), "adapter_id 5"), "id 5: %d %s",
              status, scivec_last_error());
        ep.adapter_id = -1;
        status = scivec_model_encode_tokens(m, &ep, 1, texts.enc, v1);
        CHECK(status == SCIVEC_EINVAL, "id -1: %d", status);
    }

    // ---- modified copies in a temp dir ----
    CHECK(mkdtemp(tmp_root) != NULL, "mkdtemp");
    const char *prefix = "bert.encoder.layer.1.output.adapters.proximity.";
    char name[256];

    // adapter.safetensors instead of pytorch_adapter.bin: same vectors
    {
        char *dir = make_config_variant("safetensors", NULL, NULL);
        char bin[600];
        snprintf(bin, sizeof bin, "%s/pytorch_adapter.bin", dir);
        write_safetensors(ADAPTERS "/proximity/pytorch_adapter.bin", dir, NULL, NULL, NULL, NULL,
                          NULL);
        unlink(bin);
        int id = 0;
        status = scivec_model_add_adapter(m, dir, &id);
        CHECK(status == 0 && id == 5, "safetensors adapter: %d %s", status, scivec_last_error());
        if (!status) {
            double d =
                compare_embeddings(m, id, SCIVEC_POOL_CLS, &texts,
                                   GOLDEN "/tiny-scibert-adapters/proximity", "embeddings_cls.npy");
            printf("proximity from adapter.safetensors: cls max|diff| %.2e\n", d);
            CHECK(d <= 1e-4, "safetensors proximity: %g", d);
        }
    }
    // config values it does not implement, named
    expect_refused(m, make_config_variant("mh", "mh_adapter", "true"), SCIVEC_EUNSUPPORTED,
                   "mh_adapter", NULL);
    expect_refused(m, make_config_variant("gelu", "non_linearity", "\"gelu\""), SCIVEC_EUNSUPPORTED,
                   "non_linearity", "gelu");
    expect_refused(m, make_config_variant("gating", "use_gating", "true"), SCIVEC_EUNSUPPORTED,
                   "use_gating", NULL);
    expect_refused(m, make_config_variant("scaling", "scaling", "\"learned\""), SCIVEC_EUNSUPPORTED,
                   "scaling", NULL);
    expect_refused(m, make_config_variant("leave", "leave_out", "[0]"), SCIVEC_EUNSUPPORTED,
                   "leave_out", NULL);
    expect_refused(m, make_config_variant("unknown", "shiny_new_switch", "true"),
                   SCIVEC_EUNSUPPORTED, "shiny_new_switch", NULL);
    expect_refused(m, make_config_variant("rf", "reduction_factor", "8"), SCIVEC_EFORMAT,
                   "reduction_factor", NULL);

    // a tensor removed, one left over, one misshapen, two names in one file
    {
        char *dir = make_config_variant("missing", NULL, NULL);
        char bin[600];
        snprintf(bin, sizeof bin, "%s/pytorch_adapter.bin", dir);
        snprintf(name, sizeof name, "%sadapter_up.bias", prefix);
        write_safetensors(bin, dir, name, NULL, NULL, NULL, NULL);
        expect_refused(m, dir, SCIVEC_EFORMAT, "missing tensor",
                       "encoder.layer.1.output.adapters.proximity.adapter_up.bias");

        dir = make_config_variant("leftover", NULL, NULL);
        snprintf(bin, sizeof bin, "%s/pytorch_adapter.bin", dir);
        write_safetensors(bin, dir, NULL, NULL, NULL,
                          "bert.encoder.layer.0.attention.output."
                          "adapters.proximity.adapter_up.bias",
                          NULL);
        expect_refused(m, dir, SCIVEC_EFORMAT,
                       "bert.encoder.layer.0.attention.output.adapters.proximity.adapter_up.bias",
                       NULL);

        dir = make_config_variant("shape", NULL, NULL);
        snprintf(bin, sizeof bin, "%s/pytorch_adapter.bin", dir);
        snprintf(name, sizeof name, "%sadapter_up.weight", prefix);
        write_safetensors(bin, dir, NULL, NULL, NULL, NULL, name);
        expect_refused(m, dir, SCIVEC_EFORMAT, name, "shape");

        dir = make_config_variant("twonames", NULL, NULL);
        snprintf(bin, sizeof bin, "%s/pytorch_adapter.bin", dir);
        snprintf(name, sizeof name, "%sadapter_up.bias", prefix);
        write_safetensors(bin, dir, NULL, name,
                          "bert.encoder.layer.1.output.adapters.other.adapter_up.bias", NULL, NULL);
        expect_refused(m, dir, SCIVEC_EFORMAT, "\"other\"", "one adapter per file");

        // the legacy container name is read like "adapters"
        dir = make_config_variant("legacy", NULL, NULL);
        snprintf(bin, sizeof bin, "%s/pytorch_adapter.bin", dir);
        write_safetensors(bin, dir, NULL, name,
                          "bert.encoder.layer.1.output.layer_text_task_adapters.proximity."
                          "adapter_up.bias",
                          NULL, NULL);
        int id = 0;
        status = scivec_model_add_adapter(m, dir, &id);
        CHECK(status == 0, "legacy container name: %s", scivec_last_error());
    }
    expect_refused(m, tmp_root, SCIVEC_ENOTFOUND, "adapter_config.json", NULL);
    expect_refused(m, MODELS "/tiny-scibert", SCIVEC_ENOTFOUND, "adapter_config.json", NULL);

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
    CHECK(system(cmd) == 0, "cleanup");
    scivec_model_free(m);
    free_seqs(&texts);
    free_seqs(&pairs);
    return check_report();
}
