/*
 * api_embed.c - the public embed pipeline (scivec_embed, include/scivec.h)
 * over the internal one (sv_embed_run, src/embed.c): copies the parameters
 * and the result across, and turns a progress callback's "stop" into the
 * stop flag the pipeline checks at every batch boundary.
 */
#include <string.h>

#include "core/error.h"
#include "corpus/shard.h"
#include "outputs/embed.h"
#include "outputs/recipe.h"
#include "scivec.h"

const char *scivec_recipe_name(scivec_recipe recipe) { return sv_recipe_name((sv_recipe)recipe); }

int scivec_recipe_parse(const char *name, scivec_recipe *out) {
    sv_recipe recipe;
    int rc = sv_recipe_parse(name, &recipe);
    if (rc == SCIVEC_OK) *out = (scivec_recipe)recipe;
    return rc;
}

int scivec_shard_parse(const char *spec, int *k, int *n) { return sv_shard_parse(spec, k, n); }

scivec_embed_params scivec_embed_default_params(void) {
    sv_embed_params d = sv_embed_default_params();
    scivec_embed_params p;
    memset(&p, 0, sizeof p);
    p.recipe = (scivec_recipe)d.recipe;
    p.pooling = d.pooling;
    p.normalize = d.normalize;
    p.batch_tokens = d.batch_tokens;
    p.precision = d.precision;
    p.precision_min_cosine = d.precision_min_cosine;
    p.precision_min_overlap = d.precision_min_overlap;
    return p;
}

/* What the internal callbacks need to reach the caller's. */
typedef struct bridge {
    const scivec_embed_params *params;
    volatile sig_atomic_t *stop;
} bridge;

static void bridge_progress(int64_t done, int64_t total, void *user) {
    bridge *b = user;
    if (b->params->progress && b->params->progress(done, total, b->params->user)) *b->stop = 1;
}

static void bridge_index_progress(const char *stage, int64_t done, int64_t total, void *user) {
    bridge *b = user;
    b->params->index_progress(stage, done, total, b->params->user);
}

static void bridge_warn(const char *message, void *user) {
    bridge *b = user;
    if (b->params->warn) b->params->warn(message, b->params->user);
}

static void copy_result(const sv_embed_result *r, scivec_embed_result *out) {
    out->rows_read = r->rows_read;
    out->n_papers = r->n_papers;
    out->skipped_empty_text = r->skipped_empty_text;
    out->skipped_malformed = r->skipped_malformed;
    out->skipped_duplicate_id = r->skipped_duplicate_id;
    out->skipped_wrong_type = r->skipped_wrong_type;
    out->n_utf8_repaired = r->n_utf8_repaired;
    out->n_truncated = r->n_truncated;
    out->n_invalid_utf8 = r->n_invalid_utf8;
    out->resumed_rows = r->resumed_rows;
    out->dim = r->dim;
    out->max_length = r->max_length;
    _Static_assert(sizeof out->pooling == sizeof r->pooling, "pooling");
    _Static_assert(sizeof out->pooling_reason == sizeof r->pooling_reason, "pooling_reason");
    _Static_assert(sizeof out->index_type == sizeof r->index_type, "index_type");
    _Static_assert(sizeof out->adapter == sizeof r->adapter, "adapter");
    _Static_assert(sizeof out->adapter_note == sizeof r->adapter_note, "adapter_note");
    _Static_assert(sizeof out->query_adapter == sizeof r->query_adapter, "query_adapter");
    memcpy(out->pooling, r->pooling, sizeof out->pooling);
    memcpy(out->pooling_reason, r->pooling_reason, sizeof out->pooling_reason);
    memcpy(out->index_type, r->index_type, sizeof out->index_type);
    memcpy(out->adapter, r->adapter, sizeof out->adapter);
    memcpy(out->adapter_note, r->adapter_note, sizeof out->adapter_note);
    memcpy(out->query_adapter, r->query_adapter, sizeof out->query_adapter);
    _Static_assert(sizeof out->index_search == sizeof r->index_search, "index_search");
    memcpy(out->index_search, r->index_search, sizeof out->index_search);
    out->interrupted = r->interrupted;
    out->precision_quality.n = r->precision_quality.n;
    out->precision_quality.top_k = SV_PRECISION_TOP_K;
    out->precision_quality.mean_cosine = r->precision_quality.mean_cosine;
    out->precision_quality.min_cosine = r->precision_quality.min_cosine;
    out->precision_quality.top_k_overlap = r->precision_quality.top_k_overlap;
}

int scivec_embed(const scivec_embed_params *params, scivec_embed_result *result) {
    if (!params || !result)
        return sv_error(SCIVEC_EINVAL, "scivec_embed: params and result are required");
    volatile sig_atomic_t own_stop = 0;
    bridge b = {params, params->stop ? params->stop : &own_stop};

    sv_embed_params p = sv_embed_default_params();
    p.input = params->input;
    p.model = params->model;
    p.out_dir = params->out_dir;
    p.recipe = (sv_recipe)params->recipe;
    p.pooling = params->pooling;
    p.normalize = params->normalize;
    p.max_length = params->max_length;
    p.truncate_error = params->truncate_error;
    p.id_column = params->id_column;
    p.text_column = params->text_column;
    p.title_column = params->title_column;
    p.index_factory = params->index_factory;
    p.batch_tokens = params->batch_tokens;
    p.n_threads = params->n_threads;
    p.strict = params->strict;
    p.resume = params->resume;
    p.restart = params->restart;
    p.count_total = params->count_total;
    p.adapter = params->adapter;
    p.query_adapter = params->query_adapter;
    p.prompt = params->prompt;
    p.shard_k = params->shard_k;
    p.shard_n = params->shard_n;
    p.db_vectors = params->db_vectors;
    p.precision = params->precision;
    p.force_precision = params->force_precision;
    p.precision_min_cosine = params->precision_min_cosine;
    p.precision_min_overlap = params->precision_min_overlap;
    p.query_prompt = params->query_prompt;
    p.stop = b.stop;
    p.progress = bridge_progress;
    p.warn = bridge_warn;
    p.index_progress = params->index_progress ? bridge_index_progress : NULL;
    p.user = &b;

    sv_embed_result r;
    memset(&r, 0, sizeof r);
    int rc = sv_embed_run(&p, &r);
    memset(result, 0, sizeof *result);
    copy_result(&r, result);
    return rc;
}
