/*
 * weights.c - from a checkpoint's tensor table to the float views of
 * sv_bert_weights, accepting the names HuggingFace accepts: an optional
 * "bert." prefix (BertFor* heads), LayerNorm.gamma/beta (old TF ports) for
 * LayerNorm.weight/bias; extra heads (cls.*, classifier.*) and buffers
 * (embeddings.position_ids) are ignored; the pooler may be missing.
 * Every tensor's shape is checked against config.json.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/files.h"
#include "nn/config.h"
#include "nn/weights.h"
#include "weights/checkpoint.h"
#include "weights/checkpoint_open.h"

struct sv_weights {
    sv_checkpoint *ck;
    sv_bert_weights bert;
    sv_bert_layer *layers;
    char *path;
    char warning[512]; /* NaN/Inf found in the weights, or "" */
};

/* The tensor for an HF parameter name, trying the variants HF accepts. */
static const sv_tensor *find_variant(const sv_checkpoint *ck, const char *name) {
    char alt[256];
    static const char *const prefixes[] = {"", "bert."};
    for (size_t p = 0; p < SV_ARRAY_LEN(prefixes); p++) {
        snprintf(alt, sizeof alt, "%s%s", prefixes[p], name);
        const sv_tensor *t = sv_checkpoint_find(ck, alt);
        if (t) return t;
        /* LayerNorm.weight -> LayerNorm.gamma, LayerNorm.bias -> LayerNorm.beta */
        size_t n = strlen(alt);
        const char *ln_w = "LayerNorm.weight", *ln_b = "LayerNorm.bias";
        if (n > strlen(ln_w) && strcmp(alt + n - strlen(ln_w), ln_w) == 0)
            strcpy(alt + n - strlen("weight"), "gamma");
        else if (n > strlen(ln_b) && strcmp(alt + n - strlen(ln_b), ln_b) == 0)
            strcpy(alt + n - strlen("bias"), "beta");
        else
            continue;
        t = sv_checkpoint_find(ck, alt);
        if (t) return t;
    }
    return NULL;
}

static void format_shape(char *buf, size_t size, int n_dims, const int64_t *shape) {
    size_t used = (size_t)snprintf(buf, size, "[");
    for (int d = 0; d < n_dims && used < size; d++)
        used +=
            (size_t)snprintf(buf + used, size - used, "%s%lld", d ? ", " : "", (long long)shape[d]);
    if (used < size) snprintf(buf + used, size - used, "]");
}

/* Float view of tensor `name`, which must have shape [rows] (cols == 0) or
 * [rows, cols]. optional: a missing tensor gives *out = NULL, not an error. */
static int get_tensor(sv_checkpoint *ck, const char *name, int64_t rows, int64_t cols, int optional,
                      const float **out) {
    *out = NULL;
    const sv_tensor *t = find_variant(ck, name);
    if (!t) {
        if (optional) return SCIVEC_OK;
        return sv_error(SCIVEC_ENOTFOUND, "%s: tensor %s is missing (also looked for bert.%s)",
                        ck->path, name, name);
    }
    int64_t want[2] = {rows, cols};
    int want_dims = cols ? 2 : 1;
    int ok = t->n_dims == want_dims;
    for (int d = 0; ok && d < want_dims; d++) ok = t->shape[d] == want[d];
    if (!ok) {
        char have_s[128], want_s[64];
        format_shape(have_s, sizeof have_s, t->n_dims, t->shape);
        format_shape(want_s, sizeof want_s, want_dims, want);
        return sv_error(SCIVEC_EFORMAT, "%s: tensor %s has shape %s but config.json implies %s",
                        ck->path, t->name, have_s, want_s);
    }
    return sv_checkpoint_f32(ck, t, out);
}

static int load_layer(sv_checkpoint *ck, const sv_bert_config *cfg, int i, sv_bert_layer *L) {
    int64_t h = cfg->hidden, ffn = cfg->intermediate;
    char name[160];
    int rc;
#define GET(field, suffix, rows, cols)                                                             \
    do {                                                                                           \
        snprintf(name, sizeof name, "encoder.layer.%d.%s", i, suffix);                             \
        if ((rc = get_tensor(ck, name, rows, cols, 0, &L->field)) < 0) return rc;                  \
    } while (0)
    GET(q_w, "attention.self.query.weight", h, h);
    GET(q_b, "attention.self.query.bias", h, 0);
    GET(k_w, "attention.self.key.weight", h, h);
    GET(k_b, "attention.self.key.bias", h, 0);
    GET(v_w, "attention.self.value.weight", h, h);
    GET(v_b, "attention.self.value.bias", h, 0);
    GET(attn_out_w, "attention.output.dense.weight", h, h);
    GET(attn_out_b, "attention.output.dense.bias", h, 0);
    GET(attn_ln_g, "attention.output.LayerNorm.weight", h, 0);
    GET(attn_ln_b, "attention.output.LayerNorm.bias", h, 0);
    GET(ffn_in_w, "intermediate.dense.weight", ffn, h);
    GET(ffn_in_b, "intermediate.dense.bias", ffn, 0);
    GET(ffn_out_w, "output.dense.weight", h, ffn);
    GET(ffn_out_b, "output.dense.bias", h, 0);
    GET(ffn_ln_g, "output.LayerNorm.weight", h, 0);
    GET(ffn_ln_b, "output.LayerNorm.bias", h, 0);
#undef GET
    return SCIVEC_OK;
}

static int load_bert(sv_weights *w, const sv_bert_config *cfg) {
    sv_checkpoint *ck = w->ck;
    sv_bert_weights *b = &w->bert;
    int64_t h = cfg->hidden;
    int rc;
    /* The word embeddings decide how many token ids are valid: say so
     * clearly when config.json and the checkpoint disagree. */
    const sv_tensor *word = find_variant(ck, "embeddings.word_embeddings.weight");
    if (word && word->n_dims == 2 && word->shape[1] == h && word->shape[0] != cfg->vocab_size)
        return sv_error(SCIVEC_EFORMAT,
                        "%s: tensor %s has %lld rows but config.json says vocab_size %d", ck->path,
                        word->name, (long long)word->shape[0], cfg->vocab_size);
    if ((rc = get_tensor(ck, "embeddings.word_embeddings.weight", cfg->vocab_size, h, 0,
                         &b->word_emb)) < 0 ||
        (rc = get_tensor(ck, "embeddings.position_embeddings.weight", cfg->max_position, h, 0,
                         &b->pos_emb)) < 0 ||
        (rc = get_tensor(ck, "embeddings.token_type_embeddings.weight", cfg->type_vocab_size, h, 0,
                         &b->type_emb)) < 0 ||
        (rc = get_tensor(ck, "embeddings.LayerNorm.weight", h, 0, 0, &b->emb_ln_g)) < 0 ||
        (rc = get_tensor(ck, "embeddings.LayerNorm.bias", h, 0, 0, &b->emb_ln_b)) < 0)
        return rc;
    w->layers = calloc((size_t)cfg->n_layers, sizeof *w->layers);
    if (!w->layers) return sv_error(SCIVEC_ENOMEM, "%s: out of memory", ck->path);
    b->layers = w->layers;
    for (int i = 0; i < cfg->n_layers; i++)
        if ((rc = load_layer(ck, cfg, i, &w->layers[i])) < 0) return rc;
    /* A layer beyond num_hidden_layers means config.json and weights disagree. */
    char extra[64];
    snprintf(extra, sizeof extra, "encoder.layer.%d.attention.self.query.weight", cfg->n_layers);
    if (find_variant(ck, extra))
        return sv_error(SCIVEC_EFORMAT,
                        "%s: tensor %s exists but config.json says num_hidden_layers %d", ck->path,
                        extra, cfg->n_layers);
    if ((rc = get_tensor(ck, "pooler.dense.weight", h, h, 1, &b->pooler_w)) < 0 ||
        (rc = get_tensor(ck, "pooler.dense.bias", h, 0, 1, &b->pooler_b)) < 0)
        return rc;
    if (!b->pooler_w != !b->pooler_b)
        return sv_error(
            SCIVEC_ENOTFOUND,
            "%s: tensor pooler.dense.%s is missing (the other pooler tensor is present)", ck->path,
            b->pooler_w ? "bias" : "weight");
    return SCIVEC_OK;
}

/* NaN or Inf in the exponent bits: all ones. Integer test, so it vectorises
 * and -ffast-math could not fold it away. */
static int64_t count_nonfinite(const float *x, int64_t n) {
    int64_t bad = 0;
    for (int64_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &x[i], sizeof bits);
        bad += (bits & 0x7f800000u) == 0x7f800000u;
    }
    return bad;
}

/* A checkpoint with NaN/Inf values loads (a half-trained or overflowed
 * model is still a model) but says so: its embeddings may be NaN. */
static void find_nonfinite(sv_weights *w, const sv_bert_config *cfg) {
    const sv_bert_weights *b = &w->bert;
    int64_t h = cfg->hidden, ffn = cfg->intermediate;
    struct {
        const char *name;
        const float *x;
        int64_t n;
    } top[] = {
        {"embeddings.word_embeddings.weight", b->word_emb, (int64_t)cfg->vocab_size * h},
        {"embeddings.position_embeddings.weight", b->pos_emb, (int64_t)cfg->max_position * h},
        {"embeddings.token_type_embeddings.weight", b->type_emb, (int64_t)cfg->type_vocab_size * h},
        {"embeddings.LayerNorm.weight", b->emb_ln_g, h},
        {"embeddings.LayerNorm.bias", b->emb_ln_b, h},
        {"pooler.dense.weight", b->pooler_w, h * h},
        {"pooler.dense.bias", b->pooler_b, h},
    };
    static const struct {
        const char *name;
        size_t offset;
        int rows_ffn, cols;
    } per_layer[] = {
#define F(field, name, rows_ffn, cols) {name, offsetof(sv_bert_layer, field), rows_ffn, cols}
        F(q_w, "attention.self.query.weight", 0, 1),
        F(q_b, "attention.self.query.bias", 0, 0),
        F(k_w, "attention.self.key.weight", 0, 1),
        F(k_b, "attention.self.key.bias", 0, 0),
        F(v_w, "attention.self.value.weight", 0, 1),
        F(v_b, "attention.self.value.bias", 0, 0),
        F(attn_out_w, "attention.output.dense.weight", 0, 1),
        F(attn_out_b, "attention.output.dense.bias", 0, 0),
        F(attn_ln_g, "attention.output.LayerNorm.weight", 0, 0),
        F(attn_ln_b, "attention.output.LayerNorm.bias", 0, 0),
        F(ffn_in_w, "intermediate.dense.weight", 1, 1),
        F(ffn_in_b, "intermediate.dense.bias", 1, 0),
        F(ffn_out_w, "output.dense.weight", 0, 2),
        F(ffn_out_b, "output.dense.bias", 0, 0),
        F(ffn_ln_g, "output.LayerNorm.weight", 0, 0),
        F(ffn_ln_b, "output.LayerNorm.bias", 0, 0),
#undef F
    };
    int64_t n_bad = 0;
    int n_tensors = 0;
    char first[160] = "";
    for (size_t i = 0; i < SV_ARRAY_LEN(top); i++) {
        int64_t bad = top[i].x ? count_nonfinite(top[i].x, top[i].n) : 0;
        if (!bad) continue;
        if (!n_tensors++) snprintf(first, sizeof first, "%s", top[i].name);
        n_bad += bad;
    }
    for (int l = 0; l < cfg->n_layers; l++) {
        for (size_t i = 0; i < SV_ARRAY_LEN(per_layer); i++) {
            const float *x =
                *(const float *const *)((const char *)&b->layers[l] + per_layer[i].offset);
            int64_t rows = per_layer[i].rows_ffn ? ffn : h;
            int64_t cols = per_layer[i].cols == 0 ? 1 : per_layer[i].cols == 1 ? h : ffn;
            int64_t bad = count_nonfinite(x, rows * cols);
            if (!bad) continue;
            if (!n_tensors++)
                snprintf(first, sizeof first, "encoder.layer.%d.%s", l, per_layer[i].name);
            n_bad += bad;
        }
    }
    if (n_bad)
        snprintf(w->warning, sizeof w->warning,
                 "%s: %lld NaN/Inf weight values in %d tensor%s (first: %s); embeddings may be NaN",
                 w->path, (long long)n_bad, n_tensors, n_tensors == 1 ? "" : "s", first);
}

int sv_weights_load_file(const char *weights_path, const sv_bert_config *cfg, sv_weights **out) {
    *out = NULL;
    sv_weights *w = calloc(1, sizeof *w);
    if (!w || !(w->path = strdup(weights_path))) {
        free(w);
        return sv_error(SCIVEC_ENOMEM, "%s: out of memory", weights_path);
    }
    int rc = sv_checkpoint_open(weights_path, &w->ck);
    if (rc == SCIVEC_OK) rc = load_bert(w, cfg);
    if (rc < 0) {
        sv_weights_free(w);
        return rc;
    }
    find_nonfinite(w, cfg);
    *out = w;
    return SCIVEC_OK;
}

int sv_weights_load(const char *model_dir, const sv_bert_config *cfg, sv_weights **out) {
    *out = NULL;
    /* transformers' preference order. */
    static const char *const candidates[] = {
        "model.safetensors",
        "model.safetensors.index.json",
        "pytorch_model.bin",
    };
    for (size_t i = 0; i < SV_ARRAY_LEN(candidates); i++) {
        char *path = sv_path_join(model_dir, candidates[i]);
        if (!path) return sv_error(SCIVEC_ENOMEM, "%s: out of memory", model_dir);
        if (sv_file_exists(path)) {
            int rc = sv_weights_load_file(path, cfg, out);
            free(path);
            return rc;
        }
        free(path);
    }
    /* Weights scivec cannot read: say what was found rather than "nothing". */
    static const char *const unsupported[] = {
        "pytorch_model.bin.index.json",
        "tf_model.h5",
        "flax_model.msgpack",
        "model.ckpt.index",
    };
    for (size_t i = 0; i < SV_ARRAY_LEN(unsupported); i++) {
        char *path = sv_path_join(model_dir, unsupported[i]);
        if (!path) return sv_error(SCIVEC_ENOMEM, "%s: out of memory", model_dir);
        int found = sv_file_exists(path);
        free(path);
        if (found)
            return sv_error(
                SCIVEC_EUNSUPPORTED,
                "%s: only %s found, which scivec cannot read; it reads model.safetensors "
                "(also sharded) and single-file pytorch_model.bin (convert with "
                "transformers' save_pretrained(..., safe_serialization=True))",
                model_dir, unsupported[i]);
    }
    return sv_error(SCIVEC_ENOTFOUND,
                    "%s: no weights found (looked for model.safetensors, "
                    "model.safetensors.index.json, pytorch_model.bin)",
                    model_dir);
}

void sv_weights_free(sv_weights *w) {
    if (!w) return;
    sv_checkpoint_free(w->ck);
    free(w->layers);
    free(w->path);
    free(w);
}

const sv_bert_weights *sv_weights_bert(const sv_weights *w) { return &w->bert; }

const char *sv_weights_path(const sv_weights *w) { return w->path; }

const char *sv_weights_warning(const sv_weights *w) { return w->warning[0] ? w->warning : NULL; }
