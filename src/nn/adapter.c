/*
 * adapter.c - AdapterHub bottleneck adapters (seq_bn / pfeiffer): reading an
 * adapter folder, and the bottleneck at each layer's feed-forward output.
 *
 * An adapter folder, as AdapterHub's save_adapter writes it:
 *   adapter_config.json   {"config": {...SeqBnConfig...}, "name", "hidden_size", ...}
 *   pytorch_adapter.bin   torch.save zip of a dict  (or adapter.safetensors)
 * with four tensors per layer i:
 *   [prefix.]encoder.layer.{i}.output.adapters.{NAME}.adapter_down.0.weight [r, H]
 *                                                  ...adapter_down.0.bias   [r]
 *                                                  ...adapter_up.weight     [H, r]
 *                                                  ...adapter_up.bias       [H]
 * AdapterHub trusts config.name to find the tensors and silently leaves the
 * adapter out when it does not match them; we match by suffix instead, take
 * the one NAME the tensors use, and fail on anything missing or left over.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"
#include "core/files.h"
#include "core/json.h"
#include "nn/adapter.h"
#include "nn/gemm.h"
#include "weights/checkpoint.h"
#include "weights/checkpoint_open.h"

typedef struct sv_adapter_layer {
    int bottleneck;               /* r                                    */
    const float *down_w, *down_b; /* [r, hidden], [r]                     */
    const float *up_w, *up_b;     /* [hidden, r], [hidden]                */
} sv_adapter_layer;

struct sv_adapter {
    char *dir;
    char *weights_path;
    char *name;        /* NAME as the tensor keys spell it     */
    char *config_name; /* adapter_config.json "name" (label)   */
    int n_layers, hidden;
    sv_adapter_layer *layers;
    sv_checkpoint *ck; /* owns the float data                  */
};

/* ------------------------------------------------------------------------ */
/* Forward                                                                   */

void sv_adapter_ffn_output(const sv_adapter *ad, int layer, float *x, const float *dense,
                           const float *bias, const float *gamma, const float *beta, float eps,
                           float *t, float *u, float *down, int n_seqs, const int *seq_start,
                           int hidden, int n_threads) {
    const sv_adapter_layer *al = &ad->layers[layer];
    int r = al->bottleneck;
#pragma omp parallel for num_threads(n_threads) schedule(dynamic, 1)
    for (int s = 0; s < n_seqs; s++) {
        int row0 = seq_start[s], n_rows = seq_start[s + 1] - row0;
        float *xs = x + (size_t)row0 * hidden; // a in, y out
        float *ts = t + (size_t)row0 * hidden;
        float *hs = u + (size_t)row0 * hidden; // h, kept for the residual
        float *ds = down + (size_t)row0 * r;
        const float *dense_s = dense + (size_t)row0 * hidden;

        // h = W_o·ffn + b_o;  t = LN(h + a)   (original_ln_before)
        for (int i = 0; i < n_rows; i++) {
            float *h_row = hs + (size_t)i * hidden, *t_row = ts + (size_t)i * hidden;
            const float *a_row = xs + (size_t)i * hidden, *d_row = dense_s + (size_t)i * hidden;
            for (int j = 0; j < hidden; j++) {
                h_row[j] = d_row[j] + bias[j];
                t_row[j] = h_row[j] + a_row[j];
            }
            sv_layernorm_row(t_row, t_row, gamma, beta, hidden, eps);
        }
        // down = relu(t W_down^T + b_down)   [n_rows, r]
        sv_gemm_nt(n_rows, r, hidden, 1.0f, ts, hidden, al->down_w, hidden, ds, r);
        for (int i = 0; i < n_rows; i++) {
            float *d_row = ds + (size_t)i * r;
            for (int j = 0; j < r; j++) {
                float v = d_row[j] + al->down_b[j];
                d_row[j] = v > 0.0f ? v : 0.0f;
            }
        }
        // up = down W_up^T (into t, no longer needed)   [n_rows, hidden]
        sv_gemm_nt(n_rows, hidden, r, 1.0f, ds, r, al->up_w, r, ts, hidden);
        // y = LN(((up + b_up) + h) + a): the adapter's residual is h, not t
        for (int i = 0; i < n_rows; i++) {
            float *x_row = xs + (size_t)i * hidden;
            const float *up_row = ts + (size_t)i * hidden, *h_row = hs + (size_t)i * hidden;
            for (int j = 0; j < hidden; j++)
                x_row[j] = ((up_row[j] + al->up_b[j]) + h_row[j]) + x_row[j];
            sv_layernorm_row(x_row, x_row, gamma, beta, hidden, eps);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* adapter_config.json                                                       */

/* What the math above assumes, key by key, as SeqBnConfig's defaults give it. */
typedef enum {
    WANT_FALSE,
    WANT_TRUE,
    WANT_NULL,
    WANT_EMPTY_LIST,
    WANT_ONE,
    WANT_RELU,
    WANT_BOTTLENECK,
    WANT_ANY
} want_kind;

static const struct {
    const char *key;
    want_kind want;
    const char *expected;
} config_keys[] = {
    {"mh_adapter", WANT_FALSE, "false"},
    {"output_adapter", WANT_TRUE, "true"},
    {"original_ln_before", WANT_TRUE, "true"},
    {"original_ln_after", WANT_TRUE, "true"},
    {"residual_before_ln", WANT_TRUE, "true"},
    {"adapter_residual_before_ln", WANT_FALSE, "false"},
    {"ln_before", WANT_FALSE, "false"},
    {"ln_after", WANT_FALSE, "false"},
    {"non_linearity", WANT_RELU, "\"relu\""},
    {"scaling", WANT_ONE, "1.0"},
    {"use_gating", WANT_FALSE, "false"},
    {"is_parallel", WANT_FALSE, "false"},
    {"phm_layer", WANT_FALSE, "false"},
    {"inv_adapter", WANT_NULL, "null"},
    {"leave_out", WANT_EMPTY_LIST, "[]"},
    {"cross_adapter", WANT_FALSE, "false"},
    {"architecture", WANT_BOTTLENECK, "\"bottleneck\""},
    // training-only or unused while the switches above are off
    {"reduction_factor", WANT_ANY, NULL}, // checked against the shapes
    {"dropout", WANT_ANY, NULL},
    {"stochastic_depth", WANT_ANY, NULL},
    {"init_weights", WANT_ANY, NULL},
    {"inv_adapter_reduction_factor", WANT_ANY, NULL},
    {"phm_dim", WANT_ANY, NULL},
    {"phm_rank", WANT_ANY, NULL},
    {"phm_bias", WANT_ANY, NULL},
    {"phm_c_init", WANT_ANY, NULL},
    {"phm_init_range", WANT_ANY, NULL},
    {"learn_phm", WANT_ANY, NULL},
    {"shared_W_phm", WANT_ANY, NULL},
    {"shared_phm_rule", WANT_ANY, NULL},
    {"factorized_phm_W", WANT_ANY, NULL},
    {"factorized_phm_rule", WANT_ANY, NULL},
    {"hypercomplex_nonlinearity", WANT_ANY, NULL},
};

static int value_ok(const cJSON *v, want_kind want) {
    switch (want) {
        case WANT_FALSE: return cJSON_IsFalse(v);
        case WANT_TRUE: return cJSON_IsTrue(v);
        case WANT_NULL: return cJSON_IsNull(v);
        case WANT_EMPTY_LIST: return cJSON_IsArray(v) && cJSON_GetArraySize(v) == 0;
        case WANT_ONE: return cJSON_IsNumber(v) && v->valuedouble == 1.0;
        case WANT_RELU: return cJSON_IsString(v) && strcasecmp(v->valuestring, "relu") == 0;
        case WANT_BOTTLENECK: return cJSON_IsString(v) && strcmp(v->valuestring, "bottleneck") == 0;
        case WANT_ANY: return 1;
    }
    return 0;
}

/* The reduction factor that applies to `layer`: a number, or a mapping
 * {"default": f, "<layer>": f}. 0 when absent (the default 16 is then
 * implied, but the tensor shapes decide anyway). */
static double reduction_factor_for(const cJSON *rf, int layer) {
    if (cJSON_IsNumber(rf)) return rf->valuedouble;
    if (cJSON_IsObject(rf)) {
        char key[16];
        snprintf(key, sizeof key, "%d", layer);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(rf, key);
        if (!cJSON_IsNumber(v)) v = cJSON_GetObjectItemCaseSensitive(rf, "default");
        if (cJSON_IsNumber(v)) return v->valuedouble;
    }
    return 0.0;
}

/* Checks adapter_config.json; sets *config_name and returns the "config"
 * object inside root (or NULL for a config given by name) in *bn. */
static int check_config(const char *path, const cJSON *root, const sv_bert_config *cfg,
                        const char *model_id, const cJSON **bn, const char **config_name) {
    *bn = NULL;
    *config_name = NULL;
    if (!cJSON_IsObject(root)) return sv_error(SCIVEC_EFORMAT, "%s: not a JSON object", path);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(root, "name");
    if (cJSON_IsString(name)) *config_name = name->valuestring;
    const cJSON *model_type = cJSON_GetObjectItemCaseSensitive(root, "model_type");
    if (model_type && !(cJSON_IsString(model_type) && strcmp(model_type->valuestring, "bert") == 0))
        return sv_error(SCIVEC_EUNSUPPORTED,
                        "%s: model_type %s: only adapters for \"bert\" "
                        "models are supported",
                        path,
                        cJSON_IsString(model_type) ? model_type->valuestring : "(not a string)");
    // which base model the adapter was trained on: AdapterHub records the
    // model's name_or_path as "model_name"; absent, or a local path (which
    // names no hub model), only the sizes are checked
    const cJSON *base = cJSON_GetObjectItemCaseSensitive(root, "model_name");
    const char *base_name = cJSON_IsString(base) ? base->valuestring : "(not recorded)";
    const char *model_name = model_id && *model_id ? model_id : "(name not known)";
    int base_is_path =
        cJSON_IsString(base) && strchr("/.~", base->valuestring[0]) && base->valuestring[0];
    if (cJSON_IsString(base) && !base_is_path && model_id && *model_id &&
        strcmp(base->valuestring, model_id))
        return sv_error(SCIVEC_EINVAL,
                        "%s: the adapter was trained for model %s "
                        "(model_name) but the model is %s",
                        path, base->valuestring, model_id);
    const cJSON *hidden = cJSON_GetObjectItemCaseSensitive(root, "hidden_size");
    if (hidden && !(cJSON_IsNumber(hidden) && hidden->valuedouble == cfg->hidden))
        return sv_error(SCIVEC_EINVAL,
                        "%s: hidden_size %g of the adapter's model %s does not "
                        "match hidden_size %d of the model %s",
                        path, cJSON_IsNumber(hidden) ? hidden->valuedouble : -1.0, base_name,
                        cfg->hidden, model_name);

    const cJSON *config = cJSON_GetObjectItemCaseSensitive(root, "config");
    if (cJSON_IsString(config)) {
        // a config given by name: only the two names of SeqBnConfig()
        if (strcmp(config->valuestring, "seq_bn") && strcmp(config->valuestring, "pfeiffer"))
            return sv_error(SCIVEC_EUNSUPPORTED,
                            "%s: config \"%s\" is not supported "
                            "(only \"seq_bn\"/\"pfeiffer\" bottleneck adapters)",
                            path, config->valuestring);
        return SCIVEC_OK;
    }
    if (!cJSON_IsObject(config)) return sv_error(SCIVEC_EFORMAT, "%s: no \"config\" object", path);
    for (const cJSON *item = config->child; item; item = item->next) {
        size_t k = 0;
        while (k < SV_ARRAY_LEN(config_keys) && strcmp(config_keys[k].key, item->string)) k++;
        if (k == SV_ARRAY_LEN(config_keys))
            return sv_error(SCIVEC_EUNSUPPORTED,
                            "%s: config key \"%s\" is not supported "
                            "(scivec implements seq_bn/pfeiffer bottleneck adapters; see "
                            "docs/ADAPTERS.md)",
                            path, item->string);
        if (!value_ok(item, config_keys[k].want)) {
            char *shown = cJSON_PrintUnformatted(item);
            int status = sv_error(SCIVEC_EUNSUPPORTED,
                                  "%s: config %s = %s is not supported "
                                  "(scivec implements %s = %s only)",
                                  path, item->string, shown ? shown : "?", item->string,
                                  config_keys[k].expected);
            free(shown);
            return status;
        }
    }
    *bn = config;
    return SCIVEC_OK;
}

/* ------------------------------------------------------------------------ */
/* Tensors                                                                   */

enum { PART_DOWN_W, PART_DOWN_B, PART_UP_W, PART_UP_B, N_PARTS };
static const char *const part_suffix[N_PARTS] = {
    "adapter_down.0.weight",
    "adapter_down.0.bias",
    "adapter_up.weight",
    "adapter_up.bias",
};
static const char *const container_names[] = {
    "adapters",
    "layer_text_task_adapters",
    "layer_text_lang_adapters",
};

/* Parses "[prefix.]encoder.layer.{i}.output.<container>.{NAME}.<part>".
 * Returns 1 with *layer, *part and NAME (name, name_len) on a match, else 0. */
static int parse_key(const char *key, long *layer, int *part, const char **name, size_t *name_len) {
    const char *p = NULL;
    for (const char *s = strstr(key, "encoder.layer."); s; s = strstr(s + 1, "encoder.layer.")) {
        if (s == key || s[-1] == '.') {
            p = s;
            break;
        }
    }
    if (!p) return 0;
    p += strlen("encoder.layer.");
    if (*p < '0' || *p > '9') return 0;
    char *end;
    long i = strtol(p, &end, 10);
    if (i < 0 || i > 1000000 || strncmp(end, ".output.", 8)) return 0;
    p = end + 8;
    size_t c = 0;
    for (; c < SV_ARRAY_LEN(container_names); c++) {
        size_t n = strlen(container_names[c]);
        if (strncmp(p, container_names[c], n) == 0 && p[n] == '.') {
            p += n + 1;
            break;
        }
    }
    if (c == SV_ARRAY_LEN(container_names)) return 0;
    const char *dot = strchr(p, '.');
    if (!dot || dot == p) return 0;
    for (int k = 0; k < N_PARTS; k++) {
        if (strcmp(dot + 1, part_suffix[k]) == 0) {
            *layer = i;
            *part = k;
            *name = p;
            *name_len = (size_t)(dot - p);
            return 1;
        }
    }
    return 0;
}

/* Finds the four tensors of every layer, checks their names and shapes and
 * points the layers at their float data. */
static int bind_tensors(sv_adapter *ad, const cJSON *bn) {
    sv_checkpoint *ck = ad->ck;
    const char *path = ad->weights_path;
    int n_layers = ad->n_layers, hidden = ad->hidden;
    const sv_tensor **found = calloc((size_t)n_layers * N_PARTS, sizeof *found);
    if (!found) return sv_error(SCIVEC_ENOMEM, "%s: out of memory", path);
    int status = SCIVEC_OK;
    for (int k = 0; k < ck->n_tensors && !status; k++) {
        const sv_tensor *t = &ck->tensors[k];
        long layer = 0;
        int part = 0;
        const char *name;
        size_t name_len;
        if (!parse_key(t->name, &layer, &part, &name, &name_len)) {
            status = sv_error(SCIVEC_EFORMAT,
                              "%s: tensor %s is not a seq_bn adapter tensor "
                              "(expected ...encoder.layer.N.output.adapters.NAME.%s etc.)",
                              path, t->name, part_suffix[0]);
        } else if (!ad->name) {
            ad->name = strndup(name, name_len);
            if (!ad->name) status = sv_error(SCIVEC_ENOMEM, "%s: out of memory", path);
        } else if (strlen(ad->name) != name_len || strncmp(ad->name, name, name_len)) {
            status = sv_error(SCIVEC_EFORMAT,
                              "%s: tensor %s belongs to adapter \"%.*s\" but "
                              "the file already holds adapter \"%s\" (one adapter per file)",
                              path, t->name, (int)name_len, name, ad->name);
        }
        if (status) break;
        if (layer >= n_layers) {
            status = sv_error(SCIVEC_EFORMAT,
                              "%s: tensor %s: layer %ld, but the model has "
                              "%d layers",
                              path, t->name, layer, n_layers);
        } else if (found[layer * N_PARTS + part]) {
            status = sv_error(SCIVEC_EFORMAT,
                              "%s: tensor %s: layer %ld's %s is already given "
                              "by %s",
                              path, t->name, layer, part_suffix[part],
                              found[layer * N_PARTS + part]->name);
        } else {
            found[layer * N_PARTS + part] = t;
        }
    }
    if (!status && !ad->name) status = sv_error(SCIVEC_EFORMAT, "%s: no adapter tensors", path);

    for (int l = 0; l < n_layers && !status; l++) {
        for (int part = 0; part < N_PARTS && !status; part++)
            if (!found[l * N_PARTS + part])
                status = sv_error(SCIVEC_EFORMAT,
                                  "%s: missing tensor "
                                  "encoder.layer.%d.output.adapters.%s.%s",
                                  path, l, ad->name, part_suffix[part]);
        if (status) break;
        const sv_tensor *dw = found[l * N_PARTS + PART_DOWN_W];
        int64_t r = dw->n_dims == 2 ? dw->shape[0] : -1;
        int64_t want[N_PARTS][2] = {{r, hidden}, {r, -1}, {hidden, r}, {hidden, -1}};
        if (r < 1 || r > hidden)
            status = sv_error(SCIVEC_EFORMAT,
                              "%s: tensor %s: shape must be [r, %d] with "
                              "1 <= r <= %d",
                              path, dw->name, hidden, hidden);
        for (int part = 0; part < N_PARTS && !status; part++) {
            const sv_tensor *t = found[l * N_PARTS + part];
            int n_dims = want[part][1] < 0 ? 1 : 2;
            if (t->n_dims != n_dims || t->shape[0] != want[part][0] ||
                (n_dims == 2 && t->shape[1] != want[part][1])) {
                char shape[96] = "", want_shape[48];
                size_t len = 0;
                for (int d = 0; d < t->n_dims && len < sizeof shape - 24; d++)
                    len += (size_t)snprintf(shape + len, sizeof shape - len, "%s%lld",
                                            d ? ", " : "", (long long)t->shape[d]);
                if (n_dims == 2)
                    snprintf(want_shape, sizeof want_shape, "%lld, %lld", (long long)want[part][0],
                             (long long)want[part][1]);
                else
                    snprintf(want_shape, sizeof want_shape, "%lld", (long long)want[part][0]);
                status = sv_error(SCIVEC_EFORMAT,
                                  "%s: tensor %s: shape [%s], expected [%s] "
                                  "(bottleneck %lld from %s, hidden_size %d)",
                                  path, t->name, shape, want_shape, (long long)r, dw->name, hidden);
            }
        }
        if (status) break;
        // the config's reduction factor must agree with the shapes we use
        const cJSON *rf = bn ? cJSON_GetObjectItemCaseSensitive(bn, "reduction_factor") : NULL;
        double factor = reduction_factor_for(rf, l);
        if (rf && factor > 0 && (int64_t)floor(hidden / factor) != r)
            status = sv_error(SCIVEC_EFORMAT,
                              "%s: tensor %s: bottleneck %lld, but config "
                              "reduction_factor %g gives %lld for hidden_size %d",
                              path, dw->name, (long long)r, factor,
                              (long long)floor(hidden / factor), hidden);
        if (status) break;
        sv_adapter_layer *al = &ad->layers[l];
        al->bottleneck = (int)r;
        const float **dst[N_PARTS] = {&al->down_w, &al->down_b, &al->up_w, &al->up_b};
        for (int part = 0; part < N_PARTS && !status; part++)
            status = sv_checkpoint_f32(ck, found[l * N_PARTS + part], dst[part]);
    }
    free(found);
    return status;
}

/* ------------------------------------------------------------------------ */
/* Loading                                                                   */

int sv_adapter_load(const char *adapter_dir, const sv_bert_config *cfg, const char *model_id,
                    sv_adapter **out) {
    *out = NULL;
    if (!adapter_dir || !cfg || cfg->n_layers < 1 || cfg->hidden < 1)
        return sv_error(SCIVEC_EINVAL, "adapter: bad arguments");
    sv_adapter *ad = calloc(1, sizeof *ad);
    char *config_path = sv_path_join(adapter_dir, "adapter_config.json");
    char *st_path = sv_path_join(adapter_dir, "adapter.safetensors");
    char *bin_path = sv_path_join(adapter_dir, "pytorch_adapter.bin");
    cJSON *root = NULL;
    int status = SCIVEC_OK;
    if (!ad || !config_path || !st_path || !bin_path || !(ad->dir = strdup(adapter_dir)) ||
        !(ad->layers = calloc((size_t)cfg->n_layers, sizeof *ad->layers))) {
        status = sv_error(SCIVEC_ENOMEM, "%s: out of memory", adapter_dir);
        goto done;
    }
    ad->n_layers = cfg->n_layers;
    ad->hidden = cfg->hidden;

    if (!sv_file_exists(config_path)) {
        status = sv_error(SCIVEC_ENOTFOUND,
                          "%s: no adapter_config.json (not an AdapterHub "
                          "adapter folder)",
                          adapter_dir);
        goto done;
    }
    status = sv_json_read(config_path, &root);
    if (status) goto done;
    const cJSON *bn;
    const char *config_name;
    status = check_config(config_path, root, cfg, model_id, &bn, &config_name);
    if (status) goto done;
    if (config_name && !(ad->config_name = strdup(config_name))) {
        status = sv_error(SCIVEC_ENOMEM, "out of memory");
        goto done;
    }

    if (sv_file_exists(st_path)) {
        ad->weights_path = st_path;
        st_path = NULL;
    } else if (sv_file_exists(bin_path)) {
        ad->weights_path = bin_path;
        bin_path = NULL;
    } else {
        status = sv_error(SCIVEC_ENOTFOUND,
                          "%s: neither adapter.safetensors nor "
                          "pytorch_adapter.bin",
                          adapter_dir);
        goto done;
    }
    status = sv_checkpoint_open(ad->weights_path, &ad->ck);
    if (status) goto done;
    status = bind_tensors(ad, bn);

done:
    cJSON_Delete(root);
    free(config_path);
    free(st_path);
    free(bin_path);
    if (status) {
        sv_adapter_free(ad);
        return status;
    }
    *out = ad;
    return SCIVEC_OK;
}

void sv_adapter_free(sv_adapter *ad) {
    if (!ad) return;
    sv_checkpoint_free(ad->ck);
    free(ad->layers);
    free(ad->dir);
    free(ad->weights_path);
    free(ad->name);
    free(ad->config_name);
    free(ad);
}

const char *sv_adapter_name(const sv_adapter *ad) { return ad->name; }
const char *sv_adapter_config_name(const sv_adapter *ad) { return ad->config_name; }
const char *sv_adapter_dir(const sv_adapter *ad) { return ad->dir; }
const char *sv_adapter_weights_path(const sv_adapter *ad) { return ad->weights_path; }
int sv_adapter_bottleneck(const sv_adapter *ad) { return ad->layers[0].bottleneck; }
