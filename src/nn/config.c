/*
 * config.c - config.json -> sv_bert_config, as transformers' BertConfig reads
 * it: missing keys take BertConfig's defaults, and anything that would make
 * the checkpoint something other than a plain absolute-position BERT encoder
 * is refused rather than silently computed wrong.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/files.h"
#include "nn/config.h"

/* Reads an integer key into *out if present, checking lo <= value <= hi. */
static int get_int(const cJSON *root, const char *name, const char *key, int lo, int hi, int *out) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!item || cJSON_IsNull(item)) return SCIVEC_OK;
    if (!cJSON_IsNumber(item) || item->valuedouble != floor(item->valuedouble))
        return sv_error(SCIVEC_EFORMAT, "%s: \"%s\" must be an integer", name, key);
    if (!(item->valuedouble >= lo && item->valuedouble <= hi))
        return sv_error(SCIVEC_EFORMAT, "%s: \"%s\" is %.0f, outside the accepted range %d..%d",
                        name, key, item->valuedouble, lo, hi);
    *out = (int)item->valuedouble;
    return SCIVEC_OK;
}

/* A string key, NULL when absent or null; an error when it is something else. */
static int get_string(const cJSON *root, const char *name, const char *key, const char **out) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, key);
    *out = NULL;
    if (!item || cJSON_IsNull(item)) return SCIVEC_OK;
    if (!cJSON_IsString(item))
        return sv_error(SCIVEC_EFORMAT, "%s: \"%s\" must be a string", name, key);
    *out = item->valuestring;
    return SCIVEC_OK;
}

static int is_true(const cJSON *root, const char *key) {
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, key));
}

/* model_type absent (old configs, SciBERT's) is BERT unless the
 * architectures list names something else. */
static int check_architecture(const cJSON *root, const char *name) {
    const char *model_type;
    int rc = get_string(root, name, "model_type", &model_type);
    if (rc < 0) return rc;
    if (model_type && strcmp(model_type, "bert") != 0)
        return sv_error(SCIVEC_EUNSUPPORTED,
                        "%s: model_type \"%.60s\" is not supported: scivec runs BERT models "
                        "(model_type \"bert\") only",
                        name, model_type);
    const cJSON *architectures = cJSON_GetObjectItemCaseSensitive(root, "architectures");
    if (!model_type && cJSON_IsArray(architectures) && cJSON_GetArraySize(architectures) > 0) {
        const cJSON *arch;
        int any_bert = 0;
        cJSON_ArrayForEach(arch, architectures) if (cJSON_IsString(arch) &&
                                                    strncmp(arch->valuestring, "Bert", 4) == 0)
            any_bert = 1;
        if (!any_bert) {
            const cJSON *first = cJSON_GetArrayItem(architectures, 0);
            return sv_error(
                SCIVEC_EUNSUPPORTED,
                "%s: architecture \"%.60s\" is not supported: scivec runs BERT models only", name,
                cJSON_IsString(first) ? first->valuestring : "?");
        }
    }
    const char *position_type;
    rc = get_string(root, name, "position_embedding_type", &position_type);
    if (rc < 0) return rc;
    if (position_type && strcmp(position_type, "absolute") != 0)
        return sv_error(
            SCIVEC_EUNSUPPORTED,
            "%s: position_embedding_type \"%.60s\" is not supported (only \"absolute\")", name,
            position_type);
    if (is_true(root, "is_decoder") || is_true(root, "add_cross_attention"))
        return sv_error(SCIVEC_EUNSUPPORTED,
                        "%s: decoder / cross-attention BERT is not supported (encoder only)", name);
    return SCIVEC_OK;
}

static int parse_activation(const cJSON *root, const char *name, sv_activation *act) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, "hidden_act");
    if (!item || cJSON_IsNull(item)) {
        *act = SV_ACT_GELU;
        return SCIVEC_OK;
    }
    if (!cJSON_IsString(item))
        return sv_error(SCIVEC_EUNSUPPORTED, "%s: \"hidden_act\" must be an activation name", name);
    const char *s = item->valuestring;
    if (strcmp(s, "gelu") == 0)
        *act = SV_ACT_GELU;
    else if (strcmp(s, "gelu_new") == 0 || strcmp(s, "gelu_pytorch_tanh") == 0 ||
             strcmp(s, "gelu_fast") == 0)
        *act = SV_ACT_GELU_TANH;
    else if (strcmp(s, "relu") == 0)
        *act = SV_ACT_RELU;
    else
        return sv_error(SCIVEC_EUNSUPPORTED,
                        "%s: hidden_act \"%.60s\" is not supported (gelu, gelu_new, "
                        "gelu_pytorch_tanh, gelu_fast, relu)",
                        name, s);
    return SCIVEC_OK;
}

int sv_config_parse(const char *json, size_t len, const char *name, sv_bert_config *cfg) {
    if (!name) name = "config.json";
    /* transformers.BertConfig defaults. */
    sv_bert_config c = {
        .vocab_size = 30522,
        .hidden = 768,
        .n_layers = 12,
        .n_heads = 12,
        .intermediate = 3072,
        .max_position = 512,
        .type_vocab_size = 2,
        .layer_norm_eps = 1e-12f,
        .act = SV_ACT_GELU,
    };
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root) return sv_error(SCIVEC_EFORMAT, "%s: not valid JSON", name);
    int rc = SCIVEC_OK;
    if (!cJSON_IsObject(root)) {
        rc = sv_error(SCIVEC_EFORMAT, "%s: not a JSON object", name);
        goto done;
    }
    /* Upper bounds are far above any real BERT, low enough that products
     * like vocab x hidden cannot overflow later. */
    if ((rc = check_architecture(root, name)) < 0 ||
        (rc = get_int(root, name, "vocab_size", 1, 1 << 24, &c.vocab_size)) < 0 ||
        (rc = get_int(root, name, "hidden_size", 1, 1 << 16, &c.hidden)) < 0 ||
        (rc = get_int(root, name, "num_hidden_layers", 1, 1024, &c.n_layers)) < 0 ||
        (rc = get_int(root, name, "num_attention_heads", 1, 1 << 16, &c.n_heads)) < 0 ||
        (rc = get_int(root, name, "intermediate_size", 1, 1 << 18, &c.intermediate)) < 0 ||
        (rc = get_int(root, name, "max_position_embeddings", 1, 1 << 20, &c.max_position)) < 0 ||
        (rc = get_int(root, name, "type_vocab_size", 1, 1 << 16, &c.type_vocab_size)) < 0 ||
        (rc = parse_activation(root, name, &c.act)) < 0)
        goto done;
    const cJSON *eps = cJSON_GetObjectItemCaseSensitive(root, "layer_norm_eps");
    if (eps && !cJSON_IsNull(eps)) {
        /* Checked as the float the forward uses: 1e-51 would round to 0. */
        if (!cJSON_IsNumber(eps) || !((float)eps->valuedouble > 0 && eps->valuedouble < 1)) {
            rc = sv_error(SCIVEC_EFORMAT,
                          "%s: \"layer_norm_eps\" must be a number in (0, 1) that a float can hold",
                          name);
            goto done;
        }
        c.layer_norm_eps = (float)eps->valuedouble;
    }
    if (c.hidden % c.n_heads != 0) {
        rc = sv_error(SCIVEC_EFORMAT,
                      "%s: hidden_size %d is not a multiple of num_attention_heads %d", name,
                      c.hidden, c.n_heads);
        goto done;
    }
    *cfg = c;
done:
    cJSON_Delete(root);
    return rc;
}

int sv_config_load(const char *config_path, sv_bert_config *cfg) {
    char *text;
    size_t len;
    int rc = sv_read_file(config_path, &text, &len);
    if (rc < 0) return rc;
    rc = sv_config_parse(text, len, config_path, cfg);
    free(text);
    return rc;
}
