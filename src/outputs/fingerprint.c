/*
 * fingerprint.c - the run's fingerprint (fingerprint.h): sha256 of the model
 * and adapter files, the options that change a vector, and the comparison
 * that names what changed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/files.h"
#include "core/sha256.h"
#include "outputs/fingerprint.h"

/* Files of a model folder that can decide a vector, when present: the BERT
 * config, every tokenizer file scivec or transformers reads, and the
 * sentence-transformers configs (the module list, max_seq_length). */
static const char *const model_files[] = {
    "config.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "tokenizer.json",
    "vocab.txt",
    "added_tokens.json",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
};

static const char *const adapter_files[] = {
    "adapter_config.json",
    "adapter.safetensors",
    "pytorch_adapter.bin",
};

/* Adds files[name] = sha256 of dir/name, when that file exists. */
static int hash_into(cJSON *files, const char *dir, const char *name) {
    char *path = sv_path_join(dir, name);
    if (!path) return sv_error(SCIVEC_ENOMEM, "out of memory");
    int rc = SCIVEC_OK;
    if (sv_file_exists(path) && !cJSON_GetObjectItemCaseSensitive(files, name)) {
        char hex[65];
        rc = sv_sha256_file(path, hex);
        if (!rc && !cJSON_AddStringToObject(files, name, hex))
            rc = sv_error(SCIVEC_ENOMEM, "out of memory");
    }
    free(path);
    return rc;
}

/* The config.json of every sentence-transformers module modules.json lists
 * and a Dense module's weights (the Pooling module's config decides the
 * pooling, a Normalize or Dense module the vector itself). Unreadable JSON is left to the model loader to report. */
static int hash_st_modules(cJSON *files, const char *model_dir) {
    char *path = sv_path_join(model_dir, "modules.json"), *text = NULL;
    if (!path) return sv_error(SCIVEC_ENOMEM, "out of memory");
    int rc = SCIVEC_OK;
    if (sv_file_exists(path) && sv_read_file(path, &text, NULL) == SCIVEC_OK) {
        cJSON *modules = cJSON_Parse(text);
        const cJSON *list = cJSON_IsArray(modules) ? modules : NULL, *m;
        cJSON_ArrayForEach(m, list) {
            const cJSON *dir = cJSON_GetObjectItemCaseSensitive(m, "path");
            if (!cJSON_IsString(dir) || !dir->valuestring[0] || strstr(dir->valuestring, ".."))
                continue;
            /* a Dense module's weights sit in its folder beside its config */
            static const char *const module_files[] = {"config.json", "model.safetensors",
                                                       "pytorch_model.bin"};
            for (size_t i = 0; i < SV_ARRAY_LEN(module_files) && !rc; i++) {
                char rel[512];
                snprintf(rel, sizeof rel, "%s/%s", dir->valuestring, module_files[i]);
                rc = hash_into(files, model_dir, rel);
            }
            if (rc) break;
        }
        cJSON_Delete(modules);
    }
    sv_clear_error(); /* a missing modules.json is no error here */
    free(text);
    free(path);
    return rc;
}

/* The weight file, and for a sharded checkpoint every shard its index names. */
static int hash_weights(cJSON *files, const char *model_dir, const char *weights_path) {
    const char *slash = strrchr(weights_path, '/');
    const char *name = slash ? slash + 1 : weights_path;
    int rc = hash_into(files, model_dir, name);
    size_t len = strlen(name);
    if (rc || len < 11 || strcmp(name + len - 11, ".index.json") != 0) return rc;
    char *text = NULL;
    if ((rc = sv_read_file(weights_path, &text, NULL))) return rc;
    cJSON *index = cJSON_Parse(text);
    free(text);
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(index, "weight_map"), *shard;
    if (!cJSON_IsObject(map)) map = NULL;
    cJSON_ArrayForEach(shard, map) {
        if (!cJSON_IsString(shard) || strchr(shard->valuestring, '/')) continue;
        if ((rc = hash_into(files, model_dir, shard->valuestring))) break;
    }
    cJSON_Delete(index);
    return rc;
}

static cJSON *string_or_null(const char *s) {
    return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

int sv_fingerprint_make(const sv_fingerprint_inputs *in, cJSON **out) {
    *out = NULL;
    cJSON *fp = cJSON_CreateObject();
    cJSON *files = cJSON_CreateObject();
    cJSON *adapter = in->adapter_dir ? cJSON_CreateObject() : cJSON_CreateNull();
    cJSON *adapter_hashes = in->adapter_dir ? cJSON_CreateObject() : NULL;
    int rc = SCIVEC_OK;
    if (!fp || !files || !adapter || (in->adapter_dir && !adapter_hashes)) {
        cJSON_Delete(files);
        cJSON_Delete(adapter);
        cJSON_Delete(adapter_hashes);
        rc = sv_error(SCIVEC_ENOMEM, "out of memory");
        goto done;
    }
    cJSON_AddItemToObject(fp, "model_files", files);
    cJSON_AddItemToObject(fp, "adapter", adapter);
    if (in->adapter_dir) {
        cJSON_AddItemToObject(adapter, "name", string_or_null(in->adapter_name));
        cJSON_AddItemToObject(adapter, "files", adapter_hashes);
    }
    for (size_t i = 0; i < SV_ARRAY_LEN(model_files) && !rc; i++)
        rc = hash_into(files, in->model_dir, model_files[i]);
    if (!rc) rc = hash_st_modules(files, in->model_dir);
    if (!rc) rc = hash_weights(files, in->model_dir, in->weights_path);
    if (!rc && in->adapter_dir) {
        for (size_t i = 0; i < SV_ARRAY_LEN(adapter_files) && !rc; i++)
            rc = hash_into(adapter_hashes, in->adapter_dir, adapter_files[i]);
    }
    if (rc) goto done;
    cJSON_AddStringToObject(fp, "recipe", in->recipe);
    cJSON_AddItemToObject(fp, "id_column", string_or_null(in->id_column));
    cJSON_AddItemToObject(fp, "text_column", string_or_null(in->text_column));
    cJSON_AddItemToObject(fp, "title_column", string_or_null(in->title_column));
    cJSON_AddStringToObject(fp, "pooling", in->pooling);
    cJSON_AddBoolToObject(fp, "normalize", in->normalize);
    cJSON_AddNumberToObject(fp, "max_length", in->max_length);
    cJSON_AddItemToObject(fp, "prompt", string_or_null(in->prompt));
    /* the dense layers: fp32, bf16 or int8 (scivec_model_params.precision) */
    cJSON_AddStringToObject(fp, "precision", in->precision ? in->precision : "fp32");
    cJSON_AddNumberToObject(fp, "numerics_version", SV_NUMERICS_VERSION);
    if (!cJSON_GetObjectItemCaseSensitive(fp, "numerics_version"))
        rc = sv_error(SCIVEC_ENOMEM, "out of memory");
done:
    if (rc) {
        cJSON_Delete(fp);
        return rc;
    }
    *out = fp;
    return SCIVEC_OK;
}

/* ------------------------------------------------------------------------ */
/* Comparing                                                                 */

typedef struct {
    char text[900];
    size_t len;
    int n_differences;
} difference_list;

/* A value as the message shows it: a sha256 by its first 12 digits. */
static void show_value(const cJSON *v, char *buf, size_t cap) {
    if (!v) {
        snprintf(buf, cap, "absent");
        return;
    }
    if (cJSON_IsString(v) && strlen(v->valuestring) == 64) {
        snprintf(buf, cap, "sha256 %.12s", v->valuestring);
        return;
    }
    char *printed = cJSON_PrintUnformatted(v);
    snprintf(buf, cap, "%s", printed ? printed : "?");
    cJSON_free(printed);
}

static void note_difference(difference_list *d, const char *field, const cJSON *old,
                            const cJSON *now) {
    char was[96], is[96];
    show_value(old, was, sizeof was);
    show_value(now, is, sizeof is);
    if (d->len < sizeof d->text) {
        int n = snprintf(d->text + d->len, sizeof d->text - d->len, "%s%s was %s, now %s",
                         d->n_differences ? "; " : "", field, was, is);
        if (n > 0) d->len += (size_t)n;
    }
    d->n_differences++;
}

static int values_equal(const cJSON *a, const cJSON *b) { return a && b && cJSON_Compare(a, b, 1); }

/* Compares two objects key by key (both ways), descending into objects so
 * that a model file is named by itself ("model file config.json"). */
static void compare_objects(const cJSON *old, const cJSON *now, const char *prefix,
                            difference_list *d) {
    const cJSON *sides[2] = {now, old};
    for (int side = 0; side < 2; side++) {
        const cJSON *object = cJSON_IsObject(sides[side]) ? sides[side] : NULL, *item;
        cJSON_ArrayForEach(item, object) {
            const cJSON *other = cJSON_GetObjectItemCaseSensitive(sides[1 - side], item->string);
            if (side == 1 && other) continue; /* seen from the other side */
            char field[256];
            snprintf(field, sizeof field, "%s%s", prefix, item->string);
            const cJSON *o = side == 0 ? other : item, *n = side == 0 ? item : other;
            if (cJSON_IsObject(o) && cJSON_IsObject(n)) {
                char nested[256];
                snprintf(nested, sizeof nested, "%s%s", prefix,
                         !strcmp(item->string, "model_files") ? "model file "
                         : !strcmp(item->string, "files")     ? "file "
                                                              : item->string);
                if (strcmp(item->string, "model_files") && strcmp(item->string, "files"))
                    strncat(nested, ".", sizeof nested - strlen(nested) - 1);
                compare_objects(o, n, nested, d);
            } else if (!values_equal(o, n)) {
                note_difference(d, field, o, n);
            }
        }
    }
}

int sv_fingerprint_check(const cJSON *recorded, const cJSON *current, const char *context) {
    if (!cJSON_IsObject(recorded))
        return sv_error(SCIVEC_EINVAL,
                        "%s: no fingerprint recorded (made by an older scivec?), "
                        "so what decided its vectors is unknown",
                        context);
    difference_list d = {.len = 0, .n_differences = 0};
    d.text[0] = '\0';
    compare_objects(recorded, current, "", &d);
    if (!d.n_differences) return SCIVEC_OK;
    return sv_error(SCIVEC_EINVAL, "%s: what decides a vector changed: %s", context, d.text);
}
