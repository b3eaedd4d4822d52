/*
 * st_modules.c - sentence-transformers folders (st_modules.h). The semantics
 * follow sentence-transformers' own source: models/Pooling.py (modes, and
 * include_prompt), models/Dense.py (activation(linear(x)), the activation
 * saved by its class's full name), models/Normalize.py (F.normalize), and
 * SentenceTransformer.encode (prompt + text, tokenized together, so prompt
 * tokens count against max_seq_length).
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/files.h"
#include "core/json.h"
#include "nn/st_modules.h"
#include "weights/checkpoint_open.h"

#define ST_PREFIX "sentence_transformers.models."

/* Reads dir/name (a JSON object) into *out; *out = NULL when absent. */
static int read_optional_object(const char *dir, const char *name, cJSON **out) {
    *out = NULL;
    char *path = sv_path_join(dir, name);
    if (!path) return sv_error(SCIVEC_ENOMEM, "out of memory");
    int status = SCIVEC_OK;
    if (sv_file_exists(path)) {
        status = sv_json_read(path, out);
        if (!status && !cJSON_IsObject(*out)) {
            cJSON_Delete(*out);
            *out = NULL;
            status = sv_error(SCIVEC_EFORMAT, "%s: not a JSON object", path);
        }
    }
    free(path);
    return status;
}

/* ------------------------------------------------------------------------ */
/* Pooling                                                                   */

static int read_pooling(const char *dir, const char *rel, int hidden, sv_st_modules *st) {
    cJSON *config;
    int status = read_optional_object(dir, rel, &config);
    if (status) return status;
    if (!config)
        return sv_error(SCIVEC_ENOTFOUND,
                        "%s/%s: missing (the Pooling module's "
                        "config)",
                        dir, rel);
    static const struct {
        const char *key;
        scivec_pooling pooling;
    } modes[] = {
        {"pooling_mode_cls_token", SCIVEC_POOL_CLS},
        {"pooling_mode_mean_tokens", SCIVEC_POOL_MEAN},
        {"pooling_mode_max_tokens", SCIVEC_POOL_MAX},
        {"pooling_mode_mean_sqrt_len_tokens", SCIVEC_POOL_MEAN_SQRT_LEN},
        {"pooling_mode_weightedmean_tokens", SCIVEC_POOL_WEIGHTEDMEAN},
        {"pooling_mode_lasttoken", SCIVEC_POOL_LASTTOKEN},
    };
    const cJSON *dim = cJSON_GetObjectItemCaseSensitive(config, "word_embedding_dimension");
    if (cJSON_IsNumber(dim) && dim->valuedouble != hidden) {
        status = sv_error(SCIVEC_EFORMAT,
                          "%s/%s: word_embedding_dimension %g, but the "
                          "transformer's hidden_size is %d",
                          dir, rel, dim->valuedouble, hidden);
        cJSON_Delete(config);
        return status;
    }
    const cJSON *include = cJSON_GetObjectItemCaseSensitive(config, "include_prompt");
    st->include_prompt = !cJSON_IsFalse(include);
    int n_on = 0;
    char on[256] = "";
    st->pooling = SCIVEC_POOL_DEFAULT;
    for (size_t i = 0; i < SV_ARRAY_LEN(modes); i++) {
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(config, modes[i].key))) continue;
        n_on++;
        st->pooling = modes[i].pooling;
        size_t len = strlen(on);
        snprintf(on + len, sizeof on - len, "%s%s", len ? " + " : "", modes[i].key);
    }
    cJSON_Delete(config);
    if (n_on != 1) {
        // sentence-transformers concatenates several modes into one wider
        // vector; scivec's vectors are one pooling wide, so the default
        // refuses (an explicit pooling still works)
        snprintf(st->reason, sizeof st->reason,
                 "%s: %s; scivec runs exactly one pooling mode, "
                 "pick --pooling explicitly",
                 rel, n_on ? on : "no pooling mode is on");
        st->pooling = SCIVEC_POOL_DEFAULT;
    } else {
        snprintf(st->reason, sizeof st->reason, "%s", rel);
    }
    return SCIVEC_OK;
}

/* ------------------------------------------------------------------------ */
/* Dense                                                                     */

static int parse_activation(const char *path, const cJSON *v, sv_dense_activation *act) {
    static const struct {
        const char *name;
        sv_dense_activation act;
    } known[] = {
        {"Identity", SV_DENSE_IDENTITY}, {"Tanh", SV_DENSE_TANH}, {"ReLU", SV_DENSE_RELU},
        {"Sigmoid", SV_DENSE_SIGMOID},   {"GELU", SV_DENSE_GELU},
    };
    // Dense.py's default is torch.nn.Tanh; the file names the class in full
    const char *full = cJSON_IsString(v) ? v->valuestring : "torch.nn.modules.activation.Tanh";
    const char *cls = strrchr(full, '.');
    cls = cls ? cls + 1 : full;
    for (size_t i = 0; i < SV_ARRAY_LEN(known); i++)
        if (!strcmp(cls, known[i].name)) {
            *act = known[i].act;
            return SCIVEC_OK;
        }
    return sv_error(SCIVEC_EUNSUPPORTED,
                    "%s: activation_function %s is not supported "
                    "(scivec runs Identity, Tanh, ReLU, Sigmoid and GELU)",
                    path, full);
}

/* Points dense at "linear.weight" / "linear.bias" of the module's weights. */
static int bind_dense(sv_st_dense *dense, const char *module_dir, int has_bias) {
    char *st_path = sv_path_join(module_dir, "model.safetensors");
    char *bin_path = sv_path_join(module_dir, "pytorch_model.bin");
    int status = SCIVEC_OK;
    const char *path = NULL;
    if (!st_path || !bin_path)
        status = sv_error(SCIVEC_ENOMEM, "out of memory");
    else if (sv_file_exists(st_path))
        path = st_path;
    else if (sv_file_exists(bin_path))
        path = bin_path;
    else
        status = sv_error(SCIVEC_ENOTFOUND,
                          "%s: Dense module without model.safetensors or "
                          "pytorch_model.bin",
                          module_dir);
    if (!status) status = sv_checkpoint_open(path, &dense->ck);
    const char *names[2] = {"linear.weight", "linear.bias"};
    const float **dst[2] = {&dense->w, &dense->b};
    int64_t want[2][2] = {{dense->out, dense->in}, {dense->out, 0}};
    for (int k = 0; k < 1 + has_bias && !status; k++) {
        const sv_tensor *t = sv_checkpoint_find(dense->ck, names[k]);
        int want_dims = k == 0 ? 2 : 1;
        if (!t) {
            status = sv_error(SCIVEC_ENOTFOUND, "%s: no tensor %s", path, names[k]);
        } else if (t->n_dims != want_dims || t->shape[0] != want[k][0] ||
                   (want_dims == 2 && t->shape[1] != want[k][1])) {
            status = sv_error(SCIVEC_EFORMAT,
                              "%s: tensor %s does not have the shape "
                              "config.json's in_features %d / out_features %d give",
                              path, names[k], dense->in, dense->out);
        } else {
            status = sv_checkpoint_f32(dense->ck, t, dst[k]);
        }
    }
    free(st_path);
    free(bin_path);
    return status;
}

static int read_dense(const char *dir, const char *module_path, int in_dim, sv_st_modules *st) {
    sv_st_dense *bigger = realloc(st->dense, (size_t)(st->n_dense + 1) * sizeof *bigger);
    if (!bigger) return sv_error(SCIVEC_ENOMEM, "out of memory");
    st->dense = bigger;
    sv_st_dense *dense = &st->dense[st->n_dense++];
    memset(dense, 0, sizeof *dense);
    char *module_dir = sv_path_join(dir, module_path);
    char *config_path = module_dir ? sv_path_join(module_dir, "config.json") : NULL;
    cJSON *config = NULL;
    int status =
        config_path ? sv_json_read(config_path, &config) : sv_error(SCIVEC_ENOMEM, "out of memory");
    if (status) goto done;
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(config, "in_features");
    const cJSON *out = cJSON_GetObjectItemCaseSensitive(config, "out_features");
    if (!cJSON_IsNumber(in) || !cJSON_IsNumber(out) || out->valuedouble < 1 ||
        out->valuedouble > 1 << 20) {
        status = sv_error(SCIVEC_EFORMAT,
                          "%s: in_features / out_features missing or out of "
                          "range",
                          config_path);
        goto done;
    }
    if (in->valuedouble != in_dim) {
        status = sv_error(SCIVEC_EFORMAT,
                          "%s: in_features %g, but the vectors reaching it are "
                          "%d wide",
                          config_path, in->valuedouble, in_dim);
        goto done;
    }
    dense->in = in_dim;
    dense->out = out->valueint;
    status = parse_activation(config_path,
                              cJSON_GetObjectItemCaseSensitive(config, "activation_function"),
                              &dense->activation);
    if (status) goto done;
    status = bind_dense(dense, module_dir,
                        !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(config, "bias")));
done:
    cJSON_Delete(config);
    free(config_path);
    free(module_dir);
    return status;
}

static float activate(sv_dense_activation act, double x) {
    switch (act) {
        case SV_DENSE_IDENTITY: return (float)x;
        case SV_DENSE_TANH: return (float)tanh(x);
        case SV_DENSE_RELU: return (float)(x > 0 ? x : 0);
        case SV_DENSE_SIGMOID: return (float)(1.0 / (1.0 + exp(-x)));
        case SV_DENSE_GELU: return (float)(0.5 * x * (1.0 + erf(x / sqrt(2.0))));
    }
    return (float)x;
}

void sv_st_dense_forward(const sv_st_modules *st, int n, const float *in, float *out,
                         float *scratch) {
    int widest = 0;
    for (int l = 0; l < st->n_dense; l++)
        if (st->dense[l].out > widest) widest = st->dense[l].out;
    const float *src = in;
    for (int l = 0; l < st->n_dense; l++) {
        const sv_st_dense *d = &st->dense[l];
        // the last layer writes out; the ones before alternate between the
        // two halves of scratch
        float *dst = l == st->n_dense - 1 ? out : scratch + (size_t)(l % 2) * n * widest;
        for (int r = 0; r < n; r++) {
            const float *x = src + (size_t)r * d->in;
            float *y = dst + (size_t)r * d->out;
            for (int o = 0; o < d->out; o++) {
                const float *w = d->w + (size_t)o * d->in;
                double dot = d->b ? d->b[o] : 0.0;
                for (int i = 0; i < d->in; i++) dot += (double)w[i] * x[i];
                y[o] = activate(d->activation, dot);
            }
        }
        src = dst;
    }
}

int sv_st_output_dim(const sv_st_modules *st, int hidden) {
    return st->n_dense ? st->dense[st->n_dense - 1].out : hidden;
}

/* ------------------------------------------------------------------------ */
/* sentence_bert_config.json, config_sentence_transformers.json              */

static int read_bert_config(const char *dir, sv_st_modules *st) {
    cJSON *config;
    int status = read_optional_object(dir, "sentence_bert_config.json", &config);
    if (status || !config) return status;
    const cJSON *max_len = cJSON_GetObjectItemCaseSensitive(config, "max_seq_length");
    if (cJSON_IsNumber(max_len) && max_len->valuedouble >= 1 && max_len->valuedouble < 1 << 30)
        st->max_seq_length = max_len->valueint;
    st->do_lower_case = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(config, "do_lower_case"));
    cJSON_Delete(config);
    return SCIVEC_OK;
}

static int read_prompts(const char *dir, sv_st_modules *st) {
    st->default_prompt = -1;
    cJSON *config;
    int status = read_optional_object(dir, "config_sentence_transformers.json", &config);
    if (status || !config) return status;
    const cJSON *prompts = cJSON_GetObjectItemCaseSensitive(config, "prompts");
    const cJSON *default_name = cJSON_GetObjectItemCaseSensitive(config, "default_prompt_name");
    int n = cJSON_IsObject(prompts) ? cJSON_GetArraySize(prompts) : 0;
    if (n > 0 && !(st->prompts = calloc((size_t)n, sizeof *st->prompts)))
        status = sv_error(SCIVEC_ENOMEM, "out of memory");
    const cJSON *p;
    if (!status) cJSON_ArrayForEach(p, prompts) {
            if (!cJSON_IsString(p)) {
                status = sv_error(SCIVEC_EFORMAT,
                                  "%s/config_sentence_transformers.json: prompt "
                                  "'%s' is not a string",
                                  dir, p->string);
                break;
            }
            sv_st_prompt_entry *dst = &st->prompts[st->n_prompts];
            if (!(dst->name = strdup(p->string)) || !(dst->text = strdup(p->valuestring))) {
                free(dst->name);
                status = sv_error(SCIVEC_ENOMEM, "out of memory");
                break;
            }
            if (cJSON_IsString(default_name) && !strcmp(p->string, default_name->valuestring))
                st->default_prompt = st->n_prompts;
            st->n_prompts++;
        }
    if (!status && cJSON_IsString(default_name) && st->default_prompt < 0)
        status = sv_error(SCIVEC_EFORMAT,
                          "%s/config_sentence_transformers.json: "
                          "default_prompt_name '%s' is not one of its prompts",
                          dir, default_name->valuestring);
    cJSON_Delete(config);
    return status;
}

int sv_st_prompt(const sv_st_modules *st, const char *dir, const char *name, const char **text,
                 const char **resolved) {
    const char *unused;
    if (!resolved) resolved = &unused;
    *text = *resolved = NULL;
    if (!name) {
        if (st->default_prompt >= 0) {
            *text = st->prompts[st->default_prompt].text;
            *resolved = st->prompts[st->default_prompt].name;
        }
        return SCIVEC_OK;
    }
    if (!*name) return SCIVEC_OK;
    for (int i = 0; i < st->n_prompts; i++)
        if (!strcmp(st->prompts[i].name, name)) {
            *text = st->prompts[i].text;
            *resolved = st->prompts[i].name;
            return SCIVEC_OK;
        }
    char known[512] = "";
    for (int i = 0; i < st->n_prompts; i++) {
        size_t len = strlen(known);
        snprintf(known + len, sizeof known - len, "%s%s", i ? ", " : "", st->prompts[i].name);
    }
    return sv_error(SCIVEC_EINVAL, "prompt '%s': %s/config_sentence_transformers.json has %s%s",
                    name, dir, st->n_prompts ? "only " : "no prompts", known);
}

/* ------------------------------------------------------------------------ */
/* modules.json                                                              */

int sv_st_modules_load(const char *dir, int hidden, sv_st_modules *st) {
    memset(st, 0, sizeof *st);
    st->default_prompt = -1;
    st->include_prompt = 1;
    char *modules_path = sv_path_join(dir, "modules.json");
    if (!modules_path) return sv_error(SCIVEC_ENOMEM, "out of memory");
    cJSON *modules = NULL;
    int status = SCIVEC_OK;
    if (!sv_file_exists(modules_path)) goto done;
    st->is_st = 1;
    status = sv_json_read(modules_path, &modules);
    if (!status && !cJSON_IsArray(modules))
        status = sv_error(SCIVEC_EFORMAT, "%s: not a JSON array of modules", modules_path);
    // the order sentence-transformers runs them in, and the one scivec can
    enum { AT_TRANSFORMER, AT_POOLING, AT_DENSE, AT_NORMALIZE } at = AT_TRANSFORMER;
    int index = 0, have_pooling = 0;
    const cJSON *m;
    if (!status) cJSON_ArrayForEach(m, modules) {
            const cJSON *type = cJSON_GetObjectItemCaseSensitive(m, "type");
            const cJSON *path = cJSON_GetObjectItemCaseSensitive(m, "path");
            const char *type_s = cJSON_IsString(type) ? type->valuestring : "(no type)";
            const char *path_s = cJSON_IsString(path) ? path->valuestring : "";
            const char *cls =
                strncmp(type_s, ST_PREFIX, strlen(ST_PREFIX)) ? "" : type_s + strlen(ST_PREFIX);
            if (strstr(path_s, "..") || path_s[0] == '/') {
                status = sv_error(SCIVEC_EFORMAT, "%s: module %d path '%s' leaves the model folder",
                                  modules_path, index, path_s);
            } else if (!strcmp(cls, "Transformer") && index == 0) {
                at = AT_TRANSFORMER;
            } else if (!strcmp(cls, "Pooling") && at == AT_TRANSFORMER && index == 1) {
                char rel[300];
                snprintf(rel, sizeof rel, "%s/config.json", path_s);
                status = read_pooling(dir, rel, hidden, st);
                at = AT_POOLING;
                have_pooling = 1;
            } else if (!strcmp(cls, "Dense") && (at == AT_POOLING || at == AT_DENSE)) {
                status = read_dense(dir, path_s, sv_st_output_dim(st, hidden), st);
                at = AT_DENSE;
            } else if (!strcmp(cls, "Normalize") && at != AT_TRANSFORMER && at != AT_NORMALIZE) {
                st->normalize = 1;
                at = AT_NORMALIZE;
            } else {
                status = sv_error(SCIVEC_EUNSUPPORTED,
                                  "%s: module %d '%s' (%s) is not one scivec "
                                  "runs there (it runs Transformer, Pooling, Dense..., Normalize, "
                                  "in that order)",
                                  modules_path, index, path_s, type_s);
            }
            if (status) break;
            index++;
        }
    if (!status && !have_pooling)
        snprintf(st->reason, sizeof st->reason,
                 "modules.json has no Pooling module; pick "
                 "--pooling explicitly");
    if (!status) status = read_bert_config(dir, st);
    if (!status) status = read_prompts(dir, st);
done:
    cJSON_Delete(modules);
    free(modules_path);
    if (status) sv_st_modules_free(st);
    return status;
}

void sv_st_modules_free(sv_st_modules *st) {
    for (int i = 0; i < st->n_dense; i++) sv_checkpoint_free(st->dense[i].ck);
    free(st->dense);
    for (int i = 0; i < st->n_prompts; i++) {
        free(st->prompts[i].name);
        free(st->prompts[i].text);
    }
    free(st->prompts);
    memset(st, 0, sizeof *st);
    st->default_prompt = -1;
}
