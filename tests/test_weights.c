/* test_weights.c - every fixture checkpoint, in every format, loads to the
 * same float values as the F32 safetensors file; HF-produced checkpoints
 * load or are refused with a reason; hostile pytorch_model.bin files fail
 * cleanly. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "check.h"
#include "core/error.h"
#include "core/files.h"
#include "nn/config.h"
#include "nn/weights.h"
#include "weights/checkpoint.h"
#include "weights/checkpoint_open.h"

static int error_has(const char *needle) { return strstr(scivec_last_error(), needle) != NULL; }

static sv_bert_config tiny_cfg;

/* Compares two tensors' floats element for element; returns mismatches. */
static long compare(const float *a, const float *b, long n) {
    long bad = 0;
    for (long i = 0; i < n; i++)
        if (a[i] != b[i]) bad++;
    return bad;
}

/* Every view of b equals the one of a exactly. */
static void compare_all(const char *what, const sv_bert_weights *a, const sv_bert_weights *b,
                        const sv_bert_config *c) {
    long h = c->hidden, ffn = c->intermediate, bad = 0;
    bad += compare(a->word_emb, b->word_emb, (long)c->vocab_size * h);
    bad += compare(a->pos_emb, b->pos_emb, (long)c->max_position * h);
    bad += compare(a->type_emb, b->type_emb, (long)c->type_vocab_size * h);
    bad += compare(a->emb_ln_g, b->emb_ln_g, h) + compare(a->emb_ln_b, b->emb_ln_b, h);
    for (int l = 0; l < c->n_layers; l++) {
        const sv_bert_layer *x = &a->layers[l], *y = &b->layers[l];
        bad += compare(x->q_w, y->q_w, h * h) + compare(x->q_b, y->q_b, h);
        bad += compare(x->k_w, y->k_w, h * h) + compare(x->k_b, y->k_b, h);
        bad += compare(x->v_w, y->v_w, h * h) + compare(x->v_b, y->v_b, h);
        bad +=
            compare(x->attn_out_w, y->attn_out_w, h * h) + compare(x->attn_out_b, y->attn_out_b, h);
        bad += compare(x->attn_ln_g, y->attn_ln_g, h) + compare(x->attn_ln_b, y->attn_ln_b, h);
        bad += compare(x->ffn_in_w, y->ffn_in_w, ffn * h) + compare(x->ffn_in_b, y->ffn_in_b, ffn);
        bad +=
            compare(x->ffn_out_w, y->ffn_out_w, h * ffn) + compare(x->ffn_out_b, y->ffn_out_b, h);
        bad += compare(x->ffn_ln_g, y->ffn_ln_g, h) + compare(x->ffn_ln_b, y->ffn_ln_b, h);
    }
    CHECK((a->pooler_w != NULL) == (b->pooler_w != NULL), "%s: pooler presence differs", what);
    if (a->pooler_w && b->pooler_w)
        bad += compare(a->pooler_w, b->pooler_w, h * h) + compare(a->pooler_b, b->pooler_b, h);
    CHECK(bad == 0, "%s: %ld values differ from the safetensors F32 ones", what, bad);
}

static sv_weights *load_file(const char *path, const sv_bert_config *cfg) {
    sv_weights *w = NULL;
    int rc = sv_weights_load_file(path, cfg, &w);
    CHECK(rc == SCIVEC_OK, "%s: %s", path, scivec_last_error());
    return w;
}

static void test_tiny_formats(void) {
    sv_weights *st = load_file(SV_FIXTURES "/models/tiny-scibert/model.safetensors", &tiny_cfg);
    if (!st) return;
    const sv_bert_weights *ref = sv_weights_bert(st);

    /* zip pytorch_model.bin next to the safetensors (loaded explicitly). */
    sv_weights *zip = load_file(SV_FIXTURES "/models/tiny-scibert/pytorch_model.bin", &tiny_cfg);
    if (zip) compare_all("tiny-scibert zip .bin", ref, sv_weights_bert(zip), &tiny_cfg);
    sv_weights_free(zip);

    /* Directory lookup picks safetensors first. */
    sv_weights *w = NULL;
    CHECK(sv_weights_load(SV_FIXTURES "/models/tiny-scibert", &tiny_cfg, &w) == 0 &&
              strstr(sv_weights_path(w), "model.safetensors"),
          "dir prefers safetensors");
    sv_weights_free(w);

    /* bert. prefix, LayerNorm gamma/beta, cls.* head, position_ids buffer. */
    w = NULL;
    int rc = sv_weights_load(SV_FIXTURES "/models/tiny-scibert-prefixed", &tiny_cfg, &w);
    CHECK(rc == SCIVEC_OK && strstr(sv_weights_path(w), "pytorch_model.bin"), "prefixed: %s",
          scivec_last_error());
    if (rc == 0) compare_all("tiny-scibert-prefixed", ref, sv_weights_bert(w), &tiny_cfg);
    sv_weights_free(w);

    /* Legacy (pre-1.6) pickle format. */
    w = NULL;
    rc = sv_weights_load(SV_FIXTURES "/models/tiny-scibert-legacy", &tiny_cfg, &w);
    CHECK(rc == SCIVEC_OK, "legacy: %s", scivec_last_error());
    if (rc == 0) compare_all("tiny-scibert-legacy", ref, sv_weights_bert(w), &tiny_cfg);
    sv_weights_free(w);

    sv_weights_free(st);
}

/* The prefixed checkpoint really uses the variant names (so the test above
 * exercises the mapping), and its decoder shares the word embeddings. */
static void test_prefixed_names(void) {
    sv_checkpoint *ck = NULL;
    int rc = sv_checkpoint_open(SV_FIXTURES "/models/tiny-scibert-prefixed/pytorch_model.bin", &ck);
    CHECK(rc == 0, "open prefixed: %s", scivec_last_error());
    if (rc) return;
    CHECK(sv_checkpoint_find(ck, "bert.embeddings.LayerNorm.gamma") != NULL, "gamma name present");
    CHECK(sv_checkpoint_find(ck, "bert.embeddings.position_ids") != NULL, "position_ids present");
    CHECK(sv_checkpoint_find(ck, "embeddings.LayerNorm.weight") == NULL, "no plain names");
    const sv_tensor *dec = sv_checkpoint_find(ck, "cls.predictions.decoder.weight");
    const sv_tensor *word = sv_checkpoint_find(ck, "bert.embeddings.word_embeddings.weight");
    if (dec && word) {
        CHECK(dec->storage == word->storage, "decoder weight shares the word embedding storage");
        const float *a, *b;
        CHECK(sv_checkpoint_f32(ck, word, &a) == 0 && sv_checkpoint_f32(ck, dec, &b) == 0 &&
                  compare(a, b, 31090L * 64) == 0,
              "shared storage values");
    }
    /* position_ids is int64: asking for floats is refused, naming it. */
    const float *p;
    rc = sv_checkpoint_f32(ck, sv_checkpoint_find(ck, "bert.embeddings.position_ids"), &p);
    CHECK(rc == SCIVEC_EFORMAT && error_has("position_ids") && error_has("I64"),
          "int tensor as float: %s", scivec_last_error());
    sv_checkpoint_free(ck);
}

static void test_hf_produced(void) {
    static const struct {
        const char *dir;
        int has_pooler;
    } ok[] = {
        {"coldfire-tiny-bert-st", 0},
        {"jammi-tiny-bert", 0},
        {"camphr-ner-bert-tf4.8.2", 0},
        {"camphr-bert-ja-legacy-torch", 1},
    };
    for (size_t i = 0; i < SV_ARRAY_LEN(ok); i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/hf-produced/%s/config.json", SV_FIXTURES, ok[i].dir);
        sv_bert_config cfg;
        int rc = sv_config_load(path, &cfg);
        CHECK(rc == 0, "%s config: %s", ok[i].dir, scivec_last_error());
        if (rc) continue;
        snprintf(path, sizeof path, "%s/hf-produced/%s", SV_FIXTURES, ok[i].dir);
        sv_weights *w = NULL;
        rc = sv_weights_load(path, &cfg, &w);
        CHECK(rc == 0, "%s: %s", ok[i].dir, scivec_last_error());
        if (rc) continue;
        const sv_bert_weights *b = sv_weights_bert(w);
        CHECK((b->pooler_w != NULL) == ok[i].has_pooler, "%s: pooler", ok[i].dir);
        CHECK(b->word_emb && b->layers[cfg.n_layers - 1].ffn_ln_g, "%s: views", ok[i].dir);
        float sum = 0;
        for (long j = 0; j < (long)cfg.vocab_size * cfg.hidden; j++) sum += fabsf(b->word_emb[j]);
        CHECK(sum > 0 && isfinite(sum), "%s: word embeddings look empty/non-finite", ok[i].dir);
        sv_weights_free(w);
    }
    /* camphr's zip: the word embeddings equal the raw bytes of their archive
     * entry (storage "1", read here with libzip directly). */
    sv_bert_config cfg;
    sv_weights *w = NULL;
    if (sv_config_load(SV_FIXTURES "/hf-produced/camphr-ner-bert-tf4.8.2/config.json", &cfg) == 0 &&
        sv_weights_load(SV_FIXTURES "/hf-produced/camphr-ner-bert-tf4.8.2", &cfg, &w) == 0) {
        zip_t *z = zip_open(SV_FIXTURES "/hf-produced/camphr-ner-bert-tf4.8.2/pytorch_model.bin",
                            ZIP_RDONLY, NULL);
        zip_file_t *f = z ? zip_fopen(z, "archive/data/1", 0) : NULL;
        static float raw[402 * 16];
        zip_int64_t got = f ? zip_fread(f, raw, sizeof raw) : -1;
        CHECK(got == (zip_int64_t)sizeof raw, "read archive/data/1");
        CHECK(memcmp(raw, sv_weights_bert(w)->word_emb, sizeof raw) == 0,
              "camphr word embeddings != entry bytes");
        if (f) zip_fclose(f);
        if (z) zip_discard(z);
    }
    sv_weights_free(w);
    int rc = sv_config_load(SV_FIXTURES "/hf-produced/coldfire-tiny-nomic-bert/config.json", &cfg);
    CHECK(rc == SCIVEC_EUNSUPPORTED && error_has("model_type \"nomic_bert\" is not supported"),
          "nomic: %s", scivec_last_error());
}

/* ---- hostile pytorch_model.bin ----------------------------------------- */

static char tmp_dir[] = "/tmp/sv_test_weights_XXXXXX";

static const char *write_tmp(const char *name, const void *data, size_t size) {
    static char path[600];
    snprintf(path, sizeof path, "%s/%s", tmp_dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(2);
    }
    fwrite(data, 1, size, f);
    fclose(f);
    return path;
}

static void test_hostile_bin(void) {
    char *legacy;
    size_t legacy_size;
    if (sv_read_file(SV_FIXTURES "/models/tiny-scibert-legacy/pytorch_model.bin", &legacy,
                     &legacy_size))
        exit(2);
    sv_weights *w = NULL;

    /* Truncated legacy file: the storages run past the end. */
    const char *path = write_tmp("legacy-truncated.bin", legacy, legacy_size - 5000);
    int rc = sv_weights_load_file(path, &tiny_cfg, &w);
    CHECK(rc == SCIVEC_EFORMAT && error_has("legacy-truncated.bin") && error_has("storage") &&
              error_has("past the end"),
          "legacy truncated: %s", scivec_last_error());

    /* Truncated inside the state-dict pickle. */
    path = write_tmp("legacy-cut.bin", legacy, 600);
    rc = sv_weights_load_file(path, &tiny_cfg, &w);
    CHECK(rc == SCIVEC_EFORMAT && error_has("legacy-cut.bin") && error_has("pickle"),
          "legacy cut: %s", scivec_last_error());
    free(legacy);

    /* Truncated zip. */
    char *zip;
    size_t zip_size;
    if (sv_read_file(SV_FIXTURES "/models/tiny-scibert/pytorch_model.bin", &zip, &zip_size))
        exit(2);
    path = write_tmp("zip-truncated.bin", zip, zip_size / 2);
    rc = sv_weights_load_file(path, &tiny_cfg, &w);
    CHECK(rc == SCIVEC_EFORMAT && error_has("zip-truncated.bin"), "zip truncated: %s",
          scivec_last_error());
    free(zip);

    path = write_tmp("empty.bin", "", 0);
    rc = sv_weights_load_file(path, &tiny_cfg, &w);
    CHECK(rc == SCIVEC_EFORMAT && error_has("empty"), "empty bin: %s", scivec_last_error());

    path = write_tmp("text.bin", "hello world", 11);
    rc = sv_weights_load_file(path, &tiny_cfg, &w);
    CHECK(rc == SCIVEC_EFORMAT && error_has("not a PyTorch checkpoint"), "text bin: %s",
          scivec_last_error());

    /* A "checkpoint" whose pickle calls os.system: refused by name, never run. */
    static const uint8_t evil[] =
        "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.\x80\x02M\xe9\x03."
        "\x80\x02}X\x0d\x00\x00\x00little_endian\x88s."
        "\x80\x02"
        "cos\nsystem\nX\x1a\x00\x00\x00touch /tmp/sv_pwned_legacy\x85R.";
    remove("/tmp/sv_pwned_legacy");
    path = write_tmp("evil-legacy.bin", evil, sizeof evil - 1);
    rc = sv_weights_load_file(path, &tiny_cfg, &w);
    CHECK(rc == SCIVEC_EUNSUPPORTED && error_has("refusing global 'os.system'") &&
              error_has("evil-legacy.bin"),
          "evil legacy: %s", scivec_last_error());
    CHECK(!sv_file_exists("/tmp/sv_pwned_legacy"), "os.system was executed!");
}

int main(void) {
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 2;
    }
    if (sv_config_load(SV_FIXTURES "/models/tiny-scibert/config.json", &tiny_cfg)) return 2;
    test_tiny_formats();
    test_prefixed_names();
    test_hf_produced();
    test_hostile_bin();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_dir);
    return check_report();
}
