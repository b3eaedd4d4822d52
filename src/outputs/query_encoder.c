/*
 * query_encoder.c - scivec_query_model_load: the model and encode parameters
 * that put a query text in the space of an output folder's papers, read from
 * its metadata.json. `scivec search` and the server's /search both use it, so
 * a query is embedded the same way whichever asks.
 *
 * What metadata.json decides: the model (model.path when it still exists,
 * else model.name, unless the caller names one), pooling, normalize,
 * max_length, the sentence-transformers prompt recorded for queries
 * (prompts.queries.name), and the adapter queries go through: adapters.queries, else
 * adapters.papers (SPECTER2's authors pair adhoc_query queries with
 * proximity papers; a folder without a query adapter gets its papers'). The
 * text recipe shapes paper texts only; a query is just its text.
 *
 * The dense layers run in the precision the papers were embedded with
 * (metadata.json "precision"; fp32 when absent): an int8 folder's query in
 * fp32 would sit as far from its papers as the quality check measured. A
 * caller may ask for another precision only with force (a folder made with
 * int8 served on a CPU without VNNI, say); a different one without force is
 * refused, naming both.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/files.h"
#include "core/json.h"
#include "nn/model.h"
#include "outputs/outdir.h"

/* Adds the recorded query adapter (else the papers') to model. */
static int add_recorded_adapter(const char *meta_path, const cJSON *meta, scivec_model *model,
                                int *adapter_id, char *note, size_t note_size) {
    const cJSON *adapters = cJSON_GetObjectItemCaseSensitive(meta, "adapters");
    const char *role = "queries";
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(adapters, role);
    if (!cJSON_IsObject(a)) {
        role = "papers";
        a = cJSON_GetObjectItemCaseSensitive(adapters, role);
    }
    if (!cJSON_IsObject(a)) return SCIVEC_OK;
    const char *path = sv_json_string(a, "path"), *ref = sv_json_string(a, "ref");
    const char *recorded_name = sv_json_string(a, "name");
    const char *source = path && sv_dir_is_dir(path) ? path : ref;
    if (!source)
        return sv_error(SCIVEC_EFORMAT, "%s: adapters.%s has neither an existing path nor a ref",
                        meta_path, role);
    int rc = scivec_model_add_adapter(model, source, adapter_id);
    if (rc) return sv_error_prefix(rc, "%s: adapters.%s", meta_path, role);
    const char *loaded = scivec_model_adapter_name(model, *adapter_id);
    if (recorded_name && strcmp(recorded_name, loaded))
        snprintf(note, note_size, "warning: %s holds adapter '%s' but %s recorded '%s'", source,
                 loaded, meta_path, recorded_name);
    else
        snprintf(note, note_size, "query adapter: %s (%s, as recorded for the %s)", loaded, source,
                 role);
    return SCIVEC_OK;
}

/* The precision to load the query model in: the folder's, or requested
 * (NULL: the folder's) when it matches or force is set. */
static int query_precision(const char *meta_path, const cJSON *meta, const char *requested,
                           int force, scivec_precision *out) {
    const cJSON *recorded_json = cJSON_GetObjectItemCaseSensitive(meta, "precision");
    const char *recorded = cJSON_IsString(recorded_json) ? recorded_json->valuestring : "fp32";
    scivec_precision folder;
    if (scivec_precision_parse(recorded, &folder) != SCIVEC_OK)
        return sv_error(SCIVEC_EFORMAT, "%s: precision '%s' is not fp32, bf16 or int8", meta_path,
                        recorded);
    *out = folder;
    if (!requested) return SCIVEC_OK;
    scivec_precision asked;
    int rc = scivec_precision_parse(requested, &asked);
    if (rc) return rc;
    if (asked != folder && !force)
        return sv_error(SCIVEC_EINVAL,
                        "precision %s asked for, but the papers were embedded in %s "
                        "(%s): queries would not land where their papers are; leave the precision "
                        "out to use %s, or force it (--force-precision)",
                        requested, recorded, meta_path, recorded);
    *out = asked;
    return SCIVEC_OK;
}

int scivec_query_model_load(const char *out_dir, const char *model_ref, int n_threads,
                            scivec_model **out, scivec_encode_params *params, char *note,
                            size_t note_size) {
    return scivec_query_model_load_as(out_dir, model_ref, n_threads, NULL, 0, out, params, note,
                                      note_size);
}

int scivec_query_model_load_as(const char *out_dir, const char *model_ref, int n_threads,
                               const char *precision, int force_precision, scivec_model **out,
                               scivec_encode_params *params, char *note, size_t note_size) {
    if (!out_dir || !out || !params)
        return sv_error(SCIVEC_EINVAL, "query_model_load: bad arguments");
    *out = NULL;
    char scratch[8];
    if (!note || note_size == 0) {
        note = scratch;
        note_size = sizeof scratch;
    }
    note[0] = '\0';
    scivec_model *model = NULL;
    cJSON *meta = NULL;
    char *meta_path = sv_path_join(out_dir, "metadata.json");
    int rc = meta_path ? sv_json_read_object(meta_path, &meta)
                       : sv_error(SCIVEC_ENOMEM, "out of memory");
    if (rc) goto done;
    const char *model_name = sv_json_name(meta, "model");
    const char *model_path =
        sv_json_string(cJSON_GetObjectItemCaseSensitive(meta, "model"), "path");
    const char *pooling = sv_json_name(meta, "pooling");
    const cJSON *normalize = cJSON_GetObjectItemCaseSensitive(meta, "normalize");
    const cJSON *max_length = cJSON_GetObjectItemCaseSensitive(meta, "max_length");
    const cJSON *dim = cJSON_GetObjectItemCaseSensitive(meta, "embedding_dim");
    if (!model_name || !pooling) {
        rc = sv_error(SCIVEC_EFORMAT,
                      "%s does not say which model and pooling made the "
                      "embeddings",
                      meta_path);
        goto done;
    }
    if (!model_ref) model_ref = model_path && sv_dir_is_dir(model_path) ? model_path : model_name;

    *params = scivec_encode_default_params();
    if ((rc = scivec_pooling_parse(pooling, &params->pooling))) goto done;
    params->normalize = cJSON_IsTrue(normalize);
    params->max_length = cJSON_IsNumber(max_length) ? max_length->valueint : 0;
    // the prompt recorded for queries ("" = none); an older folder without
    // "prompts" leaves it to the model's default, as its embed did
    const cJSON *prompts = cJSON_GetObjectItemCaseSensitive(meta, "prompts");
    const char *query_prompt = !cJSON_IsObject(prompts)           ? NULL
                               : sv_json_name(prompts, "queries") ? sv_json_name(prompts, "queries")
                                                                  : "";

    scivec_model_params mp = scivec_model_default_params();
    mp.n_threads = n_threads;
    if ((rc = query_precision(meta_path, meta, precision, force_precision, &mp.precision)))
        goto done;
    if ((rc = scivec_model_load(model_ref, &mp, &model))) {
        if (rc == SCIVEC_EUNSUPPORTED && mp.precision != SCIVEC_PRECISION_FP32)
            rc = sv_error_prefix(rc,
                                 "%s was embedded in %s; its queries can be embedded in fp32 "
                                 "only if forced (--precision fp32 --force-precision)",
                                 out_dir, scivec_precision_name(mp.precision));
        goto done;
    }
    int hidden = scivec_model_dim(model);
    if (cJSON_IsNumber(dim) && dim->valuedouble != hidden) {
        rc = sv_error(SCIVEC_EINVAL,
                      "model %s gives %d-dimensional vectors but %s holds %g "
                      "(pass the model the papers were embedded with: --model)",
                      model_ref, hidden, out_dir, dim->valuedouble);
        goto done;
    }
    // the model's own copy of the name: metadata.json's is freed below
    const char *prompt_text, *prompt_name;
    rc = sv_model_prompt(model, query_prompt, &prompt_text, &prompt_name);
    if (rc) {
        rc = sv_error_prefix(rc, "%s: prompts.queries", meta_path);
        goto done;
    }
    params->prompt_name = prompt_name ? prompt_name : "";
    rc = add_recorded_adapter(meta_path, meta, model, &params->adapter_id, note, note_size);

done:
    if (rc)
        scivec_model_free(model);
    else
        *out = model;
    cJSON_Delete(meta);
    free(meta_path);
    return rc;
}
