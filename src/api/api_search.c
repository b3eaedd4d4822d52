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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "api/api_outdir.h"
#include "core/error.h"
#include "core/lines.h"
#include "core/sha256.h"
#include "outputs/query.h"

scivec_search_params scivec_search_default_params(void) {
    scivec_search_params p;
    memset(&p, 0, sizeof p);
    return p;
}

int scivec_outdir_n_notes(const scivec_outdir *od) { return od->n_notes; }

const char *scivec_outdir_note(const scivec_outdir *od, int i) {
    return i >= 0 && i < od->n_notes ? od->notes[i] : NULL;
}

#define add_note(od, ...) sv_lines_addf(&(od)->notes, &(od)->n_notes, __VA_ARGS__)

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
            return sv_error(SCIVEC_EINVAL,
                            "--verify-model: %s/metadata.json records no model.sha256", o->dir);
        int rc = sv_sha256_file(used, hex);
        if (rc != SCIVEC_OK) return rc;
        if (strcmp(hex, o->model_sha256) != 0)
            return sv_error(SCIVEC_EINVAL,
                            "--verify-model: %s has sha256 %s but %s was embedded "
                            "with weights of sha256 %s",
                            used, hex, o->dir, o->model_sha256);
    } else if (cJSON_IsString(recorded) && used && !same_file(recorded->valuestring, used)) {
        return add_note(od, "warning: the query is embedded with %s but %s was embedded with %s",
                        used, o->dir, recorded->valuestring);
    }
    return SCIVEC_OK;
}

/* Loads the query model and its encode parameters into od. */
static int load_query_model(scivec_outdir *od, const scivec_search_params *params) {
    scivec_model *model = NULL;
    scivec_encode_params ep;
    char note[1024];
    int rc =
        scivec_query_model_load_as(od->od->dir, params->model, params->n_threads, params->precision,
                                   params->force_precision, &model, &ep, note, sizeof note);
    if (rc == SCIVEC_OK && note[0]) rc = add_note(od, "%s", note);
    if (rc == SCIVEC_OK) rc = check_weights(od, model, params->verify_model);
    if (rc != SCIVEC_OK) {
        scivec_model_free(model);
        return rc;
    }
    if (params->model && !(od->query_model_asked = strdup(params->model))) {
        scivec_model_free(model);
        return sv_error(SCIVEC_ENOMEM, "out of memory");
    }
    od->query_model = model;
    od->query_params = ep;
    od->query_threads = params->n_threads;
    od->query_verify = params->verify_model;
    return SCIVEC_OK;
}

/* The query model is loaded once: a later search that asks for another one
 * (model, threads, precision, verify_model; an unset field asks for
 * nothing) is refused rather than answered with the first one. */
static int refuse_other_query_model(const scivec_outdir *od, const scivec_search_params *params) {
    static const char *again = "by its first search; open the folder again for another";
    scivec_precision asked, kept = scivec_model_precision(od->query_model);
    int rc = params->precision ? scivec_precision_parse(params->precision, &asked) : SCIVEC_OK;
    if (rc != SCIVEC_OK) return rc;
    if (params->precision && asked != kept)
        return sv_error(SCIVEC_EINVAL,
                        "precision %s asked for, but this folder's query model was loaded in %s "
                        "%s precision",
                        scivec_precision_name(asked), scivec_precision_name(kept), again);
    const char *kept_model = od->query_model_asked ? od->query_model_asked : "(metadata.json's)";
    if (params->model && strcmp(params->model, kept_model) != 0)
        return sv_error(SCIVEC_EINVAL,
                        "search(model=%s), but this folder's query model was loaded with "
                        "model=%s %s model",
                        params->model, kept_model, again);
    if (params->n_threads && params->n_threads != od->query_threads)
        return sv_error(SCIVEC_EINVAL,
                        "search(threads=%d), but this folder's query model was loaded with "
                        "threads=%d %s threads",
                        params->n_threads, od->query_threads, again);
    if (params->verify_model && !od->query_verify)
        return sv_error(SCIVEC_EINVAL,
                        "search(verify_model=1), but this folder's query model was loaded "
                        "without verify_model %s verify_model",
                        again);
    return SCIVEC_OK;
}

int scivec_outdir_embed_query(scivec_outdir *od, const scivec_search_params *params,
                              const char *text, float *query) {
    if (!od || !text || !query)
        return sv_error(SCIVEC_EINVAL,
                        "scivec_outdir_embed_query: od, text and query are required");
    int rc = sv_query_text_check(text, strlen(text));
    if (rc != SCIVEC_OK) return rc;
    scivec_search_params defaults = scivec_search_default_params();
    if (!params) params = &defaults;
    rc = od->query_model ? refuse_other_query_model(od, params) : load_query_model(od, params);
    if (rc != SCIVEC_OK) return rc;
    const char *texts[1] = {text};
    scivec_encode_stats stats = {0};
    rc = scivec_model_encode_texts(od->query_model, &od->query_params, 1, texts, NULL, query,
                                   &stats);
    if (rc == SCIVEC_OK && stats.n_truncated) {
        int limit = od->query_params.max_length > 0 ? od->query_params.max_length
                                                    : scivec_model_max_length(od->query_model);
        rc = add_note(od,
                      "the query is longer than %d tokens, the limit the papers of %s were "
                      "embedded with: only its first %d tokens were used",
                      limit, od->od->dir, limit);
    }
    return rc;
}

int scivec_outdir_search(scivec_outdir *od, const scivec_search_params *params, const char *text,
                         int64_t k, const scivec_filter *filter, scivec_hit *hits,
                         int64_t *n_hits) {
    if (!od) return sv_error(SCIVEC_EINVAL, "scivec_outdir_search: od is required");
    float *query = malloc((size_t)(od->od->n_cols > 0 ? od->od->n_cols : 1) * sizeof *query);
    if (!query) return sv_error(SCIVEC_ENOMEM, "out of memory");
    int rc = scivec_outdir_embed_query(od, params, text, query);
    if (rc == SCIVEC_OK) rc = scivec_outdir_nearest(od, query, k, -1, filter, hits, n_hits);
    free(query);
    return rc;
}
