/* test_safetensors.c - safetensors loading: the fixtures (F32 zero copy,
 * F16, HF-tool-written files) and hostile files written into a temp dir,
 * each with the error it must give. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "core/error.h"
#include "core/files.h"
#include "nn/config.h"
#include "nn/weights.h"
#include "weights/checkpoint.h"
#include "weights/checkpoint_open.h"
#include "weights/safetensors.h"

static char tmp_dir[] = "/tmp/sv_test_safetensors_XXXXXX";

static int error_has(const char *needle) { return strstr(scivec_last_error(), needle) != NULL; }

static void write_file(const char *path, const void *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(2);
    }
    fwrite(data, 1, size, f);
    fclose(f);
}

/* A model dir in tmp_dir/<name>: tiny-scibert's config.json plus the given
 * safetensors bytes. Returns the dir (static buffer). */
static const char *make_model_dir(const char *name, const void *st, size_t st_size) {
    static char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", tmp_dir, name);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp '%s' '%s/config.json'", dir,
             SV_FIXTURES "/models/tiny-scibert/config.json", dir);
    if (system(cmd) != 0) exit(2);
    char path[600];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    write_file(path, st, st_size);
    return dir;
}

/* Serialises header + data as a safetensors file (malloc'd, caller frees). */
static uint8_t *build_st(cJSON *header, const uint8_t *data, size_t data_size, size_t *size) {
    char *json = cJSON_PrintUnformatted(header);
    size_t n = strlen(json);
    *size = 8 + n + data_size;
    uint8_t *buf = malloc(*size);
    for (int i = 0; i < 8; i++) buf[i] = (uint8_t)((uint64_t)n >> (8 * i));
    memcpy(buf + 8, json, n);
    if (data_size) memcpy(buf + 8 + n, data, data_size);
    free(json);
    return buf;
}

/* The tiny-scibert file split into its parsed header and its data. */
static cJSON *original_header;
static uint8_t *original_data;
static size_t original_data_size;

static void read_original(void) {
    char *file;
    size_t size;
    if (sv_read_file(SV_FIXTURES "/models/tiny-scibert/model.safetensors", &file, &size) != 0)
        exit(2);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | (uint8_t)file[i];
    original_header = cJSON_ParseWithLength(file + 8, n);
    original_data_size = size - 8 - n;
    original_data = malloc(original_data_size);
    memcpy(original_data, file + 8 + n, original_data_size);
    free(file);
}

/* Loads tiny-scibert with a header edited by edit(); returns the status. */
static int load_edited(const char *name, void (*edit)(cJSON *header), size_t truncate_data_to) {
    cJSON *header = cJSON_Duplicate(original_header, 1);
    edit(header);
    size_t size;
    size_t data_size = truncate_data_to ? truncate_data_to : original_data_size;
    uint8_t *buf = build_st(header, original_data, data_size, &size);
    const char *dir = make_model_dir(name, buf, size);
    free(buf);
    cJSON_Delete(header);
    sv_bert_config cfg;
    if (sv_config_load(SV_FIXTURES "/models/tiny-scibert/config.json", &cfg) != 0) exit(2);
    sv_weights *w = NULL;
    int rc = sv_weights_load(dir, &cfg, &w);
    sv_weights_free(w);
    return rc;
}

static void edit_nothing(cJSON *h) { (void)h; }
static void edit_drop_query(cJSON *h) {
    cJSON_DeleteItemFromObject(h, "encoder.layer.1.attention.self.query.weight");
}
static void edit_wrong_shape(cJSON *h) {
    /* Same byte count, transposed-looking shape: only the shape check catches it. */
    cJSON *e = cJSON_GetObjectItem(h, "encoder.layer.0.intermediate.dense.weight");
    cJSON_ReplaceItemInObject(e, "shape", cJSON_Parse("[64, 128]"));
}
static void edit_unknown_dtype(cJSON *h) {
    cJSON *e = cJSON_GetObjectItem(h, "embeddings.LayerNorm.bias");
    cJSON_ReplaceItemInObject(e, "dtype", cJSON_CreateString("F8_E9M9"));
}
static void edit_overlap(cJSON *h) {
    /* LayerNorm.weight moved onto LayerNorm.bias's bytes [0, 256). */
    cJSON *e = cJSON_GetObjectItem(h, "embeddings.LayerNorm.weight");
    cJSON_ReplaceItemInObject(e, "data_offsets", cJSON_Parse("[0, 256]"));
}
static void edit_past_end(cJSON *h) {
    cJSON *e = cJSON_GetObjectItem(h, "pooler.dense.bias");
    cJSON_ReplaceItemInObject(e, "data_offsets", cJSON_Parse("[99999999000, 99999999256]"));
}
static void edit_size_mismatch(cJSON *h) {
    cJSON *e = cJSON_GetObjectItem(h, "embeddings.LayerNorm.bias");
    cJSON_ReplaceItemInObject(e, "shape", cJSON_Parse("[65]"));
}
static void edit_i64_weight(cJSON *h) {
    /* A float tensor stored as I64 (same bytes: 32 x 8 = 256). */
    cJSON *e = cJSON_GetObjectItem(h, "embeddings.LayerNorm.bias");
    cJSON_ReplaceItemInObject(e, "dtype", cJSON_CreateString("I64"));
    cJSON_ReplaceItemInObject(e, "shape", cJSON_Parse("[32]"));
}
static void edit_bf16(cJSON *h) {
    /* LayerNorm.bias as BF16 [128] reinterprets the same 256 bytes. Only
     * used to exercise conversion; shape check then rejects 128 != 64. */
    cJSON *e = cJSON_GetObjectItem(h, "embeddings.LayerNorm.bias");
    cJSON_ReplaceItemInObject(e, "dtype", cJSON_CreateString("BF16"));
    cJSON_ReplaceItemInObject(e, "shape", cJSON_Parse("[128]"));
}

static float f16_bits_to_float_ref(uint16_t h) {
    /* Independent reference: ldexp-based decoding. */
    int sign = h >> 15, exp = (h >> 10) & 31, mant = h & 1023;
    double v = exp == 0 ? ldexp(mant, -24) : ldexp(1024 + mant, exp - 25);
    return (float)(sign ? -v : v);
}

/* Whether x lies on the half-precision grid (11 significant bits, range). */
static int representable_in_f16(float x) {
    double ax = fabs((double)x);
    if (ax == 0) return 1;
    if (ax > 65504) return 0;
    if (ax < ldexp(1, -14))
        return ax * ldexp(1, 24) == floor(ax * ldexp(1, 24)); /* subnormal grid */
    int e;
    double m = frexp(ax, &e); /* ax = m * 2^e, m in [0.5, 1) */
    return m * 2048 == floor(m * 2048);
}

static void test_fixture_f32(void) {
    sv_bert_config cfg;
    CHECK(sv_config_load(SV_FIXTURES "/models/tiny-scibert/config.json", &cfg) == 0, "config");
    sv_weights *w = NULL;
    int rc = sv_weights_load(SV_FIXTURES "/models/tiny-scibert", &cfg, &w);
    CHECK(rc == SCIVEC_OK, "tiny-scibert: %s", scivec_last_error());
    if (rc) return;
    CHECK(strstr(sv_weights_path(w), "model.safetensors") != NULL, "path %s", sv_weights_path(w));
    const sv_bert_weights *b = sv_weights_bert(w);
    CHECK(b->pooler_w && b->pooler_b, "pooler present");
    CHECK(b->layers[1].ffn_out_w && b->layers[0].q_b, "layer views");
    /* Values equal the raw little-endian floats at the header's offsets. */
    const cJSON *e = cJSON_GetObjectItem(original_header, "embeddings.word_embeddings.weight");
    int begin = cJSON_GetArrayItem(cJSON_GetObjectItem(e, "data_offsets"), 0)->valueint;
    int mismatches = 0;
    for (int i = 0; i < 31090 * 64; i += 997) {
        float expect;
        memcpy(&expect, original_data + begin + 4 * i, 4);
        if (b->word_emb[i] != expect) mismatches++;
    }
    CHECK(mismatches == 0, "word embedding values differ from file bytes (%d)", mismatches);
    e = cJSON_GetObjectItem(original_header, "encoder.layer.1.output.dense.weight");
    begin = cJSON_GetArrayItem(cJSON_GetObjectItem(e, "data_offsets"), 0)->valueint;
    CHECK(memcmp(b->layers[1].ffn_out_w, original_data + begin, 64 * 128 * 4) == 0,
          "ffn_out_w bytes");
    sv_weights_free(w);

    /* Zero copy: the F32 tensor pointer lies inside the file mapping. */
    sv_checkpoint *ck;
    rc = sv_checkpoint_open(SV_FIXTURES "/models/tiny-scibert/model.safetensors", &ck);
    CHECK(rc == 0 && ck->n_maps == 1, "open checkpoint: %s", scivec_last_error());
    if (rc) return;
    const sv_tensor *t = sv_checkpoint_find(ck, "embeddings.word_embeddings.weight");
    const float *p = NULL;
    CHECK(t && sv_checkpoint_f32(ck, t, &p) == 0, "f32 view");
    const char *map = ck->maps[0].addr;
    CHECK((const char *)p > map && (const char *)p < map + ck->maps[0].size,
          "F32 view is not zero-copy");
    CHECK(ck->n_buffers == 0, "F32 load made %d copies", ck->n_buffers);
    sv_checkpoint_free(ck);
}

static void test_fixture_f16(void) {
    sv_bert_config cfg;
    CHECK(sv_config_load(SV_FIXTURES "/models/tiny-scibert-f16/config.json", &cfg) == 0, "config");
    sv_weights *w16 = NULL, *w32 = NULL;
    int rc = sv_weights_load(SV_FIXTURES "/models/tiny-scibert-f16", &cfg, &w16);
    CHECK(rc == SCIVEC_OK, "tiny-scibert-f16: %s", scivec_last_error());
    rc |= sv_weights_load(SV_FIXTURES "/models/tiny-scibert", &cfg, &w32);
    if (rc) {
        sv_weights_free(w16);
        sv_weights_free(w32);
        return;
    }
    const sv_bert_weights *a = sv_weights_bert(w16), *b = sv_weights_bert(w32);
    /* The F16 file is the F32 one rounded: within half precision's error and
     * every value exactly representable in f16. */
    int far = 0, not_half = 0;
    for (int i = 0; i < 31090 * 64; i++) {
        if (fabsf(a->word_emb[i] - b->word_emb[i]) > 5e-4f) far++;
        if (!representable_in_f16(a->word_emb[i])) not_half++;
    }
    CHECK(far == 0 && not_half == 0, "f16 word embeddings: %d far, %d not f16", far, not_half);
    far = 0;
    for (int i = 0; i < 128 * 64; i++)
        if (fabsf(a->layers[1].ffn_in_w[i] - b->layers[1].ffn_in_w[i]) > 5e-4f) far++;
    CHECK(far == 0, "f16 ffn_in_w: %d far", far);
    /* Spot check the converter against an ldexp-based decoding of the raw bits. */
    char *file;
    size_t size;
    sv_read_file(SV_FIXTURES "/models/tiny-scibert-f16/model.safetensors", &file, &size);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | (uint8_t)file[i];
    cJSON *h = cJSON_ParseWithLength(file + 8, n);
    const cJSON *e = cJSON_GetObjectItem(h, "embeddings.position_embeddings.weight");
    int begin = cJSON_GetArrayItem(cJSON_GetObjectItem(e, "data_offsets"), 0)->valueint;
    int wrong = 0;
    for (int i = 0; i < 512 * 64; i++) {
        uint16_t bits;
        memcpy(&bits, file + 8 + n + begin + 2 * i, 2);
        if (a->pos_emb[i] != f16_bits_to_float_ref(bits)) wrong++;
    }
    CHECK(wrong == 0, "f16 decoding differs from reference in %d values", wrong);
    cJSON_Delete(h);
    free(file);
    sv_weights_free(w16);
    sv_weights_free(w32);
}

static void test_hf_produced(void) {
    static const char *const dirs[] = {"coldfire-tiny-bert-st", "jammi-tiny-bert"};
    for (size_t i = 0; i < 2; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/hf-produced/%s/config.json", SV_FIXTURES, dirs[i]);
        sv_bert_config cfg;
        CHECK(sv_config_load(path, &cfg) == 0, "%s config: %s", dirs[i], scivec_last_error());
        snprintf(path, sizeof path, "%s/hf-produced/%s", SV_FIXTURES, dirs[i]);
        sv_weights *w = NULL;
        int rc = sv_weights_load(path, &cfg, &w);
        CHECK(rc == SCIVEC_OK, "%s: %s", dirs[i], scivec_last_error());
        if (rc == 0) {
            const sv_bert_weights *b = sv_weights_bert(w);
            /* Neither file has a pooler: tolerated as NULL. */
            CHECK(b->pooler_w == NULL && b->pooler_b == NULL, "%s: no pooler expected", dirs[i]);
            CHECK(b->word_emb && b->layers[cfg.n_layers - 1].ffn_ln_b, "%s views", dirs[i]);
        }
        sv_weights_free(w);
    }
    /* NomicBERT: refused at config.json, naming the architecture. */
    sv_bert_config cfg;
    int rc = sv_config_load(SV_FIXTURES "/hf-produced/coldfire-tiny-nomic-bert/config.json", &cfg);
    CHECK(rc == SCIVEC_EUNSUPPORTED && error_has("nomic_bert"), "nomic: %s", scivec_last_error());
}

static void test_hostile(void) {
    int rc;
    CHECK(load_edited("unchanged", edit_nothing, 0) == SCIVEC_OK, "rebuilt original: %s",
          scivec_last_error());

    /* Zero-length file. */
    make_model_dir("empty", "", 0);
    sv_bert_config cfg;
    sv_config_load(SV_FIXTURES "/models/tiny-scibert/config.json", &cfg);
    sv_weights *w = NULL;
    char dir[600];
    snprintf(dir, sizeof dir, "%s/empty", tmp_dir);
    rc = sv_weights_load(dir, &cfg, &w);
    CHECK(rc == SCIVEC_EFORMAT && error_has("empty file") && error_has("model.safetensors"),
          "empty: %d %s", rc, scivec_last_error());

    /* Shorter than the length prefix. */
    make_model_dir("tiny", "\x10\x00\x00", 3);
    snprintf(dir, sizeof dir, "%s/tiny", tmp_dir);
    rc = sv_weights_load(dir, &cfg, &w);
    CHECK(rc == SCIVEC_EFORMAT && error_has("truncated"), "3 bytes: %s", scivec_last_error());

    /* Header length larger than the file. */
    uint8_t big[16] = {0xff, 0xff, 0, 0, 0, 0, 0, 0, '{', '}'};
    make_model_dir("header-too-long", big, sizeof big);
    snprintf(dir, sizeof dir, "%s/header-too-long", tmp_dir);
    rc = sv_weights_load(dir, &cfg, &w);
    CHECK(rc == SCIVEC_EFORMAT && error_has("header length 65535 is larger than the file"),
          "header > file: %s", scivec_last_error());

    /* Header that is not JSON. */
    uint8_t junk[12] = {4, 0, 0, 0, 0, 0, 0, 0, '{', 'x', 'y', 'z'};
    make_model_dir("junk", junk, sizeof junk);
    snprintf(dir, sizeof dir, "%s/junk", tmp_dir);
    rc = sv_weights_load(dir, &cfg, &w);
    CHECK(rc == SCIVEC_EFORMAT && error_has("not a JSON object"), "junk: %s", scivec_last_error());

    /* Truncated data: the last tensors point past the end. */
    rc = load_edited("truncated", edit_nothing, original_data_size - 1000);
    CHECK(rc == SCIVEC_EFORMAT && error_has("point past the end of the file") &&
              error_has("tensor "),
          "truncated: %s", scivec_last_error());

    rc = load_edited("past-end", edit_past_end, 0);
    CHECK(rc == SCIVEC_EFORMAT && error_has("tensor pooler.dense.bias: data_offsets") &&
              error_has("past the end"),
          "past end: %s", scivec_last_error());

    rc = load_edited("overlap", edit_overlap, 0);
    CHECK(rc == SCIVEC_EFORMAT && error_has("overlaps") && error_has("embeddings.LayerNorm"),
          "overlap: %s", scivec_last_error());

    rc = load_edited("missing", edit_drop_query, 0);
    CHECK(rc == SCIVEC_ENOTFOUND &&
              error_has("tensor encoder.layer.1.attention.self.query.weight is missing") &&
              error_has("model.safetensors"),
          "missing: %s", scivec_last_error());

    rc = load_edited("wrong-shape", edit_wrong_shape, 0);
    CHECK(rc == SCIVEC_EFORMAT &&
              error_has("tensor encoder.layer.0.intermediate.dense.weight has shape [64, 128] but "
                        "config.json implies [128, 64]"),
          "wrong shape: %s", scivec_last_error());

    rc = load_edited("unknown-dtype", edit_unknown_dtype, 0);
    CHECK(rc == SCIVEC_EFORMAT &&
              error_has("tensor embeddings.LayerNorm.bias: unknown dtype \"F8_E9M9\""),
          "dtype: %s", scivec_last_error());

    rc = load_edited("size-mismatch", edit_size_mismatch, 0);
    CHECK(rc == SCIVEC_EFORMAT && error_has("embeddings.LayerNorm.bias") && error_has("needs 260"),
          "size mismatch: %s", scivec_last_error());

    rc = load_edited("i64", edit_i64_weight, 0);
    CHECK(rc == SCIVEC_EFORMAT && error_has("embeddings.LayerNorm.bias") && error_has("[32]"),
          "i64 shape: %s", scivec_last_error());

    rc = load_edited("bf16", edit_bf16, 0);
    CHECK(rc == SCIVEC_EFORMAT && error_has("embeddings.LayerNorm.bias has shape [128]"),
          "bf16: %s", scivec_last_error());

    /* vocab_size disagreeing with the embedding rows. */
    sv_bert_config wrong_vocab = cfg;
    wrong_vocab.vocab_size = 31000;
    rc = sv_weights_load(SV_FIXTURES "/models/tiny-scibert", &wrong_vocab, &w);
    CHECK(rc == SCIVEC_EFORMAT && error_has("31090 rows but config.json says vocab_size 31000"),
          "vocab: %s", scivec_last_error());
    /* Fewer layers in config than in the file. */
    sv_bert_config fewer = cfg;
    fewer.n_layers = 1;
    rc = sv_weights_load(SV_FIXTURES "/models/tiny-scibert", &fewer, &w);
    CHECK(rc == SCIVEC_EFORMAT && error_has("encoder.layer.1"), "layers: %s", scivec_last_error());

    /* No weights at all. */
    snprintf(dir, sizeof dir, "%s/none", tmp_dir);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
    if (system(cmd) != 0) exit(2);
    rc = sv_weights_load(dir, &cfg, &w);
    CHECK(rc == SCIVEC_ENOTFOUND && error_has("no weights found"), "none: %s", scivec_last_error());
    /* Only a TensorFlow file: refused, naming it. */
    snprintf(cmd, sizeof cmd, "touch '%s/tf_model.h5'", dir);
    if (system(cmd) != 0) exit(2);
    rc = sv_weights_load(dir, &cfg, &w);
    CHECK(rc == SCIVEC_EUNSUPPORTED && error_has("only tf_model.h5 found"), "tf only: %s",
          scivec_last_error());
}

/* Sharded: tiny-scibert split in two shards + model.safetensors.index.json
 * loads to exactly the same values; a bad index is refused. */
static void write_shard(const char *dir, const char *file, int want_first_half, cJSON *weight_map) {
    cJSON *h = cJSON_CreateObject();
    size_t cap = original_data_size, used = 0;
    uint8_t *data = malloc(cap);
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, original_header) {
        if (strcmp(e->string, "__metadata__") == 0) continue;
        if ((i++ < 20) != want_first_half) continue;
        const cJSON *off = cJSON_GetObjectItem(e, "data_offsets");
        size_t begin = (size_t)cJSON_GetArrayItem(off, 0)->valuedouble;
        size_t end = (size_t)cJSON_GetArrayItem(off, 1)->valuedouble;
        memcpy(data + used, original_data + begin, end - begin);
        cJSON *entry = cJSON_Duplicate(e, 1);
        char offsets[64];
        snprintf(offsets, sizeof offsets, "[%zu, %zu]", used, used + end - begin);
        cJSON_ReplaceItemInObject(entry, "data_offsets", cJSON_Parse(offsets));
        cJSON_AddItemToObject(h, e->string, entry);
        cJSON_AddStringToObject(weight_map, e->string, file);
        used += end - begin;
    }
    size_t size;
    uint8_t *buf = build_st(h, data, used, &size);
    char path[700];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    write_file(path, buf, size);
    free(buf);
    free(data);
    cJSON_Delete(h);
}

static void test_sharded(void) {
    const char *dir = make_model_dir("sharded", "", 0);
    char path[700];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    remove(path);
    cJSON *index = cJSON_CreateObject();
    cJSON_AddItemToObject(index, "metadata", cJSON_Parse("{\"total_size\": 8375552}"));
    cJSON *weight_map = cJSON_AddObjectToObject(index, "weight_map");
    write_shard(dir, "model-00001-of-00002.safetensors", 1, weight_map);
    write_shard(dir, "model-00002-of-00002.safetensors", 0, weight_map);
    char *json = cJSON_Print(index);
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
    write_file(path, json, strlen(json));
    free(json);

    sv_bert_config cfg;
    sv_config_load(SV_FIXTURES "/models/tiny-scibert/config.json", &cfg);
    sv_weights *sharded = NULL, *single = NULL;
    int rc = sv_weights_load(dir, &cfg, &sharded);
    CHECK(rc == SCIVEC_OK && strstr(sv_weights_path(sharded), "index.json"), "sharded: %s",
          scivec_last_error());
    sv_weights_load(SV_FIXTURES "/models/tiny-scibert", &cfg, &single);
    if (rc == 0 && single) {
        const sv_bert_weights *a = sv_weights_bert(sharded), *b = sv_weights_bert(single);
        CHECK(memcmp(a->word_emb, b->word_emb, 31090 * 64 * 4) == 0, "sharded word embeddings");
        CHECK(memcmp(a->layers[1].ffn_out_w, b->layers[1].ffn_out_w, 64 * 128 * 4) == 0 &&
                  memcmp(a->pooler_w, b->pooler_w, 64 * 64 * 4) == 0,
              "sharded layer 1 / pooler");
    }
    sv_weights_free(sharded);
    sv_weights_free(single);

    /* An index naming a tensor no shard has, and one escaping the folder. */
    cJSON_AddStringToObject(weight_map, "encoder.layer.9.output.dense.bias",
                            "model-00001-of-00002.safetensors");
    json = cJSON_Print(index);
    write_file(path, json, strlen(json));
    free(json);
    rc = sv_weights_load(dir, &cfg, &sharded);
    CHECK(rc == SCIVEC_EFORMAT &&
              error_has("tensor encoder.layer.9.output.dense.bias: listed in the index"),
          "index extra: %s", scivec_last_error());
    cJSON_DeleteItemFromObject(weight_map, "encoder.layer.9.output.dense.bias");
    cJSON_AddStringToObject(weight_map, "x", "../../etc/passwd");
    json = cJSON_Print(index);
    write_file(path, json, strlen(json));
    free(json);
    rc = sv_weights_load(dir, &cfg, &sharded);
    CHECK(rc == SCIVEC_EFORMAT &&
              error_has("tensor x: shard must be a file name in the same folder"),
          "index escape: %s", scivec_last_error());
    write_file(path, "{\"weight_map\": 3}", 17);
    rc = sv_weights_load(dir, &cfg, &sharded);
    CHECK(rc == SCIVEC_EFORMAT && error_has("weight_map"), "index junk: %s", scivec_last_error());
    cJSON_Delete(index);
}

/* Conversion paths from memory: BF16 and F64 and strided views. */
static void test_conversions(void) {
    /* bf16 1.0 = 0x3f80, -2.0 = 0xc000; f64 0.5 */
    uint8_t data[8 + 4 + 8];
    uint16_t bf[2] = {0x3f80, 0xc000};
    memcpy(data + 8, bf, 4);
    double half = 0.5;
    memcpy(data + 12, &half, 8);
    cJSON *h = cJSON_Parse("{\"a\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]},"
                           "\"b\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[4,12]}}");
    size_t size;
    uint8_t *buf = build_st(h, data + 8, 12, &size);
    cJSON_Delete(h);
    sv_checkpoint *ck = sv_checkpoint_new("mem.safetensors");
    int rc = sv_safetensors_parse(buf, size, ck);
    CHECK(rc == 0, "parse: %s", scivec_last_error());
    const float *p;
    const sv_tensor *a = sv_checkpoint_find(ck, "a"), *b = sv_checkpoint_find(ck, "b");
    CHECK(a && sv_checkpoint_f32(ck, a, &p) == 0 && p[0] == 1.0f && p[1] == -2.0f, "bf16 values");
    CHECK(b && sv_checkpoint_f32(ck, b, &p) == 0 && p[0] == 0.5f, "f64 values");
    /* A transposed view (strides 1, 2) of a 2x2 storage is copied in C order. */
    float m[4] = {1, 2, 3, 4};
    int s = sv_checkpoint_add_storage(ck, "m", SV_DT_F32, 16, (const uint8_t *)m);
    int64_t shape[2] = {2, 2}, stride[2] = {1, 2};
    CHECK(sv_checkpoint_add_tensor(ck, "mt", SV_DT_F32, 2, shape, stride, 0, s) == 0, "add");
    CHECK(sv_checkpoint_f32(ck, sv_checkpoint_find(ck, "mt"), &p) == 0 && p[0] == 1 && p[1] == 3 &&
              p[2] == 2 && p[3] == 4,
          "transpose");
    /* A view reaching past its storage is refused. */
    int64_t shape3[1] = {3};
    CHECK(sv_checkpoint_add_tensor(ck, "off", SV_DT_F32, 1, shape3, NULL, 2, s) == 0, "add off");
    rc = sv_checkpoint_f32(ck, sv_checkpoint_find(ck, "off"), &p);
    CHECK(rc == SCIVEC_EFORMAT && error_has("tensor off") && error_has("outside"),
          "out of storage: %s", scivec_last_error());
    sv_checkpoint_free(ck);
    free(buf);
}

int main(void) {
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 2;
    }
    read_original();
    test_fixture_f32();
    test_fixture_f16();
    test_hf_produced();
    test_hostile();
    test_sharded();
    test_conversions();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_dir);
    cJSON_Delete(original_header);
    free(original_data);
    return check_report();
}
