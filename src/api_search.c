/*
 * api_search.c - free-text queries over an output folder: the text is
 * embedded with the model, pooling, normalisation, length limit and query
 * adapter that metadata.json records, so that it lands in the papers'
 * space. The text recipe (abstract, title+abstract, specter2's
 * title[SEP]abstract) shapes paper texts only; a query is just its text, as
 * SPECTER2's authors embed queries. What is worth telling the user (the
 * adapter used, weights that differ from the recorded ones) is kept as
 * notes, since the library does not print.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "api_outdir.h"
#include "common.h"
#include "metadata.h"

scivec_search_params scivec_search_default_params(void) {
    scivec_search_params p;
    memset(&p, 0, sizeof p);
    return p;
}

int scivec_outdir_n_notes(const scivec_outdir *od) { return od->n_notes; }

const char *scivec_outdir_note(const scivec_outdir *od, int i) {
    return i >= 0 && i < od->n_notes ? od->notes[i] : NULL;
}

static int add_note(scivec_outdir *od, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int add_note(scivec_outdir *od, const char *fmt, ...) {
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    char **grown = realloc(od->notes, (size_t)(od->n_notes + 1) * sizeof *grown);
    if (!grown) return sv_error(SCIVEC_ENOMEM, "out of memory");
    od->notes = grown;
    if (!(od->notes[od->n_notes] = strdup(line))) return sv_error(SCIVEC_ENOMEM, "out of memory");
    od->n_notes++;
    return SCIVEC_OK;
}

static int is_dir(const char *path) {
    struct stat st;
    return path && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Same file by device and inode (paths may differ by symlinks, ../). */
static int same_file(const char *a, const char *b) {
    struct stat sa, sb;
    if (stat(a, &sa) != 0 || stat(b, &sb) != 0) return strcmp(a, b) == 0;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Only a different weight file is noticed unless verify is asked for
 * (hashing GBs per query would cost more than the search). */
static int check_weights(scivec_outdir *od, scivec_model *model, int verify) {
    const sv_outdir *o = od->od;
    const cJSON *recorded = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(o->metadata, "model"), "weights");
    const char *used = scivec_model_weights_path(model);
    if (verify) {
        char hex[65];
        if (!o->model_sha256 || !used)
            return sv_error(SCIVEC_EINVAL, "--verify-model: %s/metadata.json records no model.sha256", o->dir);
        int rc = sv_sha256_file(used, hex);
        if (rc != SCIVEC_OK) return rc;
        if (strcmp(hex, o->model_sha256) != 0)
            return sv_error(SCIVEC_EINVAL, "--verify-model: %s has sha256 %s but %s was embedded "
                            "with weights of sha256 %s", used, hex, o->dir, o->model_sha256);
    } else if (cJSON_IsString(recorded) && used && !same_file(recorded->valuestring, used)) {
        return add_note(od, "warning: the query is embedded with %s but %s was embedded with %s",
                        used, o->dir, recorded->valuestring);
    }
    return SCIVEC_OK;
}

/* The adapter metadata.json records for queries, else the papers' one
 * (SPECTER2 pairs adhoc_query queries with proximity papers). */
static int add_recorded_adapter(scivec_outdir *od, scivec_model *model, int *adapter_id) {
    const sv_outdir *o = od->od;
    *adapter_id = 0;
    const cJSON *adapters = cJSON_GetObjectItemCaseSensitive(o->metadata, "adapters");
    const char *role = "queries";
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(adapters, role);
    if (!cJSON_IsObject(a)) {
        role = "papers";
        a = cJSON_GetObjectItemCaseSensitive(adapters, role);
    }
    if (!cJSON_IsObject(a)) return SCIVEC_OK;
    const cJSON *path = cJSON_GetObjectItemCaseSensitive(a, "path");
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(a, "ref");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(a, "name");
    const char *source = cJSON_IsString(path) && is_dir(path->valuestring) ? path->valuestring
                       : cJSON_IsString(ref) ? ref->valuestring : NULL;
    if (!source)
        return sv_error(SCIVEC_EFORMAT, "%s/metadata.json: adapters.%s has neither an existing "
                        "path nor a ref", o->dir, role);
    int rc = scivec_model_add_adapter(model, source, adapter_id);
    if (rc != SCIVEC_OK) return rc;
    const char *loaded = scivec_model_adapter_name(model, *adapter_id);
    if (cJSON_IsString(name) && strcmp(name->valuestring, loaded) != 0 &&
        (rc = add_note(od, "warning: %s holds adapter '%s' but %s/metadata.json recorded '%s'",
                       source, loaded, o->dir, name->valuestring)) != SCIVEC_OK)
        return rc;
    return add_note(od, "query adapter: %s (%s, as recorded for the %s)", loaded, source, role);
}

/* Loads the query model and its encode parameters into od. */
static int load_query_model(scivec_outdir *od, const scivec_search_params *params) {
    const sv_outdir *o = od->od;
    if (!o->pooling || !o->model_name)
        return sv_error(SCIVEC_EFORMAT, "%s/metadata.json does not say which model and pooling "
                        "made the embeddings", o->dir);
    const char *model_ref = params->model ? params->model
                          : is_dir(o->model_path) ? o->model_path : o->model_name;
    scivec_model_params mp = scivec_model_default_params();
    mp.n_threads = params->n_threads;
    scivec_model *model = NULL;
    scivec_encode_params ep = scivec_encode_default_params();
    int rc = scivec_model_load(model_ref, &mp, &model);
    if (rc != SCIVEC_OK) goto done;
    int dim = scivec_model_hidden_size(model);
    if (dim != o->n_cols) {
        rc = sv_error(SCIVEC_EINVAL, "model %s gives %d-dimensional vectors but %s holds %lld "
                      "(pass the model the papers were embedded with: --model)",
                      model_ref, dim, o->dir, (long long)o->n_cols);
        goto done;
    }
    if ((rc = check_weights(od, model, params->verify_model)) != SCIVEC_OK) goto done;
    if (scivec_pooling_parse(o->pooling, &ep.pooling) != SCIVEC_OK) {
        rc = sv_error(SCIVEC_EFORMAT, "%s/metadata.json: pooling '%s' is not one scivec knows",
                      o->dir, o->pooling);
        goto done;
    }
    ep.normalize = o->normalize;
    ep.max_length = o->max_length;
    if ((rc = add_recorded_adapter(od, model, &ep.adapter_id)) != SCIVEC_OK) goto done;
    od->query_model = model;
    od->query_params = ep;
    model = NULL;
done:
    scivec_model_free(model);
    return rc;
}

int scivec_outdir_embed_query(scivec_outdir *od, const scivec_search_params *params,
                              const char *text, float *query) {
    if (!od || !text || !query)
        return sv_error(SCIVEC_EINVAL, "scivec_outdir_embed_query: od, text and query are required");
    if (!od->query_model) {
        scivec_search_params defaults = scivec_search_default_params();
        int rc = load_query_model(od, params ? params : &defaults);
        if (rc != SCIVEC_OK) return rc;
    }
    const char *texts[1] = {text};
    return scivec_model_encode_texts(od->query_model, &od->query_params, 1, texts, NULL, query, NULL);
}

int scivec_outdir_search(scivec_outdir *od, const scivec_search_params *params,
                         const char *text, int64_t k, const scivec_filter *filter,
                         scivec_hit *hits, int64_t *n_hits) {
    if (!od) return sv_error(SCIVEC_EINVAL, "scivec_outdir_search: od is required");
    float *query = malloc((size_t)(od->od->n_cols > 0 ? od->od->n_cols : 1) * sizeof *query);
    if (!query) return sv_error(SCIVEC_ENOMEM, "out of memory");
    int rc = scivec_outdir_embed_query(od, params, text, query);
    if (rc == SCIVEC_OK) rc = scivec_outdir_nearest(od, query, k, -1, filter, hits, n_hits);
    free(query);
    return rc;
}
