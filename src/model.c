/*
 * model.c - the public scivec_model_* API: a model directory's config,
 * tokenizer and weights tied to the forward pass (bert.c) and pooling
 * (pooling.c).
 *
 * Batches: callers may hand over any number of sequences; they are packed
 * into forwards of at most batch_tokens tokens (SV_BATCH_TOKENS unless set;
 * one longer sequence goes alone), so memory is bounded by the budget, not by
 * the input.
 */
#include <cjson/cJSON.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "bert.h"
#include "common.h"
#include "cpu.h"
#include "lowp.h"

struct scivec_model {
    char *dir;
    sv_bert_config cfg;
    scivec_tokenizer *tok;
    sv_weights *weights;
    const sv_bert_weights *w;
    scivec_precision precision;
    sv_lowp_bert *lowp;             /* bf16 / int8 dense layers; NULL: fp32  */
    int n_threads;
    int batch_tokens;               /* token budget of one packed forward    */
    int max_length;                 /* min(tokenizer, max_position_embeddings) */
    scivec_pooling default_pooling; /* DEFAULT when the ST config is unusable */
    char default_reason[512];       /* why; the error when unusable          */
    sv_bert_workspace ws;
    /* one packed batch: ids, type ids, sequence starts (grow only) */
    int32_t *ids, *type_ids;
    int64_t cap_ids;
    int *seq_start;
    int cap_seqs;
    /* bottleneck adapters sharing the base weights; adapter_id i is adapters[i - 1] */
    sv_adapter **adapters;
    int n_adapters;
};

scivec_model_params scivec_model_default_params(void) {
    scivec_model_params p = {.n_threads = 0, .precision = SCIVEC_PRECISION_FP32};
    return p;
}

scivec_encode_params scivec_encode_default_params(void) {
    scivec_encode_params p = {
        .pooling = SCIVEC_POOL_DEFAULT,
        .normalize = 0,
        .max_length = 0,
        .truncate_error = 0,
        .adapter_id = 0,
    };
    return p;
}

/* ------------------------------------------------------------------------ */
/* Default pooling: sentence-transformers' choice for this folder            */

/* Reads path as JSON into *out (the caller frees it with cJSON_Delete).
 * Unparsable text is SCIVEC_EFORMAT naming the file. */
static int read_json_file(const char *path, cJSON **out) {
    char *text = NULL;
    *out = NULL;
    int status = sv_read_file(path, &text, NULL);
    if (status) return status;
    *out = cJSON_Parse(text);
    free(text);
    if (!*out) return sv_error(SCIVEC_EFORMAT, "%s: not valid JSON", path);
    return SCIVEC_OK;
}

/* Reads the Pooling module's config.json named by modules.json. Returns 1 and
 * sets *pooling when the folder is a sentence-transformers model, 0 when it is
 * not (plain HF folder), or an error status. */
static int read_st_pooling(const char *dir, scivec_pooling *pooling, char *reason,
                           size_t reason_size) {
    char *modules_path = sv_path_join(dir, "modules.json");
    if (!modules_path) return sv_error(SCIVEC_ENOMEM, "out of memory");
    if (!sv_file_exists(modules_path)) {
        free(modules_path);
        return 0;
    }
    cJSON *modules;
    int status = read_json_file(modules_path, &modules);
    if (!status && !cJSON_IsArray(modules)) {
        cJSON_Delete(modules);
        status = sv_error(SCIVEC_EFORMAT, "%s: not a JSON array of modules", modules_path);
    }
    if (status) { free(modules_path); return status; }
    // the module whose type is sentence_transformers.models.Pooling
    const char *pooling_dir = NULL;
    const cJSON *m;
    cJSON_ArrayForEach(m, modules) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(m, "type");
        const cJSON *path = cJSON_GetObjectItemCaseSensitive(m, "path");
        if (cJSON_IsString(type) && cJSON_IsString(path) &&
            strstr(type->valuestring, "Pooling"))
            pooling_dir = path->valuestring;
    }
    if (!pooling_dir) {
        // no Pooling module: sentence-transformers would not pool at all;
        // the plain default is the closest honest answer
        cJSON_Delete(modules);
        free(modules_path);
        return 0;
    }
    if (strstr(pooling_dir, "..")) {
        status = sv_error(SCIVEC_EFORMAT, "%s: Pooling path '%s' leaves the model folder",
                          modules_path, pooling_dir);
        cJSON_Delete(modules);
        free(modules_path);
        return status;
    }
    char rel[256];
    snprintf(rel, sizeof rel, "%s/config.json", pooling_dir);
    cJSON_Delete(modules);
    free(modules_path);

    char *config_path = sv_path_join(dir, rel);
    if (!config_path) return sv_error(SCIVEC_ENOMEM, "out of memory");
    cJSON *config;
    status = read_json_file(config_path, &config);
    if (!status && !cJSON_IsObject(config)) {
        cJSON_Delete(config);
        status = sv_error(SCIVEC_EFORMAT, "%s: not a JSON object", config_path);
    }
    if (status) { free(config_path); return status; }
    static const struct { const char *key; scivec_pooling pooling; } modes[] = {
        {"pooling_mode_cls_token", SCIVEC_POOL_CLS},
        {"pooling_mode_mean_tokens", SCIVEC_POOL_MEAN},
        {"pooling_mode_max_tokens", SCIVEC_POOL_MAX},
        {"pooling_mode_mean_sqrt_len_tokens", SCIVEC_POOL_DEFAULT},
        {"pooling_mode_weightedmean_tokens", SCIVEC_POOL_DEFAULT},
        {"pooling_mode_lasttoken", SCIVEC_POOL_DEFAULT},
    };
    int n_on = 0;
    const char *unsupported = NULL;
    *pooling = SCIVEC_POOL_DEFAULT;
    for (size_t i = 0; i < SV_ARRAY_LEN(modes); i++) {
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(config, modes[i].key))) continue;
        n_on++;
        if (modes[i].pooling == SCIVEC_POOL_DEFAULT) unsupported = modes[i].key;
        else *pooling = modes[i].pooling;
    }
    cJSON_Delete(config);
    if (unsupported || n_on != 1) {
        // several modes concatenated, or one scivec does not implement: the
        // model still loads (an explicit pooling works), the default refuses
        snprintf(reason, reason_size,
                 "%s: %s; pick --pooling explicitly", rel,
                 unsupported ? "unsupported pooling mode" : "needs exactly one of "
                 "pooling_mode_cls_token / mean_tokens / max_tokens");
        if (unsupported) {
            size_t len = strlen(reason);
            snprintf(reason + len, reason_size - len, " (%s)", unsupported);
        }
        *pooling = SCIVEC_POOL_DEFAULT;
    } else {
        snprintf(reason, reason_size, "%s", rel);
    }
    free(config_path);
    return 1;
}

/* ------------------------------------------------------------------------ */
/* Loading                                                                   */

static int resolve_threads(int n_threads) {
    if (n_threads > 0) return n_threads;
    int n = omp_get_num_procs();
    return n > 0 ? n : 1;
}

int scivec_model_load(const char *model, const scivec_model_params *params,
                      scivec_model **out) {
    if (!model || !out) return sv_error(SCIVEC_EINVAL, "model_load: model is NULL");
    *out = NULL;
    if (sv_cpu_check()) return SCIVEC_EUNSUPPORTED;
    if (params && (params->precision < SCIVEC_PRECISION_FP32 ||
                   params->precision > SCIVEC_PRECISION_INT8))
        return sv_error(SCIVEC_EINVAL, "model_load: precision %d is not one of fp32, bf16, "
                        "int8", (int)params->precision);
    if (params && params->n_threads < 0)
        return sv_error(SCIVEC_EINVAL, "model_load: n_threads %d is negative",
                        params->n_threads);
    scivec_model *m = calloc(1, sizeof *m);
    if (!m) return sv_error(SCIVEC_ENOMEM, "out of memory");
    m->n_threads = resolve_threads(params ? params->n_threads : 0);
    m->batch_tokens = SV_BATCH_TOKENS;

    int status = sv_resolve_model_dir(model, &m->dir);
    if (status) goto fail;
    char *config_path = sv_path_join(m->dir, "config.json");
    if (!config_path) { status = sv_error(SCIVEC_ENOMEM, "out of memory"); goto fail; }
    status = sv_config_load(config_path, &m->cfg);
    free(config_path);
    if (status) goto fail;
    status = scivec_tokenizer_load(m->dir, &m->tok);
    if (status) goto fail;
    status = sv_weights_load(m->dir, &m->cfg, &m->weights);
    if (status) goto fail;
    m->w = sv_weights_bert(m->weights);
    m->precision = params ? params->precision : SCIVEC_PRECISION_FP32;
    if (m->precision != SCIVEC_PRECISION_FP32) {
        status = sv_lowp_bert_create(m->precision, m->n_threads, &m->cfg, m->w, &m->lowp);
        if (status) goto fail;
        m->w = sv_lowp_bert_weights(m->lowp);
    }

    // a token id the embedding matrix has no row for would be a wild read
    int vocab = scivec_tokenizer_vocab_size(m->tok);
    if (vocab > m->cfg.vocab_size) {
        status = sv_error(SCIVEC_EFORMAT,
                          "%s: the tokenizer has %d tokens but the word embeddings "
                          "have only %d rows (config vocab_size); ids %d..%d would "
                          "have no embedding", m->dir, vocab, m->cfg.vocab_size,
                          m->cfg.vocab_size, vocab - 1);
        goto fail;
    }
    int tok_max = scivec_tokenizer_model_max_length(m->tok);
    m->max_length = tok_max < m->cfg.max_position ? tok_max : m->cfg.max_position;

    int is_st = read_st_pooling(m->dir, &m->default_pooling, m->default_reason,
                                sizeof m->default_reason);
    if (is_st < 0) { status = is_st; goto fail; }
    if (!is_st) {
        m->default_pooling = SCIVEC_POOL_MEAN;
        snprintf(m->default_reason, sizeof m->default_reason,
                 "sentence-transformers default");
    }
    *out = m;
    return SCIVEC_OK;

fail:
    scivec_model_free(m);
    return status;
}

void scivec_model_free(scivec_model *m) {
    if (!m) return;
    for (int i = 0; i < m->n_adapters; i++) sv_adapter_free(m->adapters[i]);
    free(m->adapters);
    sv_lowp_bert_free(m->lowp);
    sv_weights_free(m->weights);
    scivec_tokenizer_free(m->tok);
    sv_bert_workspace_free(&m->ws);
    free(m->ids);
    free(m->type_ids);
    free(m->seq_start);
    free(m->dir);
    free(m);
}

int scivec_model_hidden_size(const scivec_model *m) { return m->cfg.hidden; }
scivec_precision scivec_model_precision(const scivec_model *m) { return m->precision; }
int scivec_model_max_length(const scivec_model *m) { return m->max_length; }
const scivec_tokenizer *scivec_model_tokenizer(const scivec_model *m) { return m->tok; }
const char *scivec_model_dir(const scivec_model *m) { return m->dir; }
const char *scivec_model_weights_path(const scivec_model *m) {
    return sv_weights_path(m->weights);
}

const char *scivec_model_warning(const scivec_model *m) {
    const char *w = sv_weights_warning(m->weights);
    return w ? w : scivec_tokenizer_warning(m->tok);
}

scivec_pooling scivec_model_default_pooling(const scivec_model *m, const char **reason) {
    if (reason) *reason = m->default_reason;
    return m->default_pooling;
}

/* ------------------------------------------------------------------------ */
/* Adapters                                                                  */

int scivec_model_add_adapter(scivec_model *m, const char *adapter, int *adapter_id) {
    if (adapter_id) *adapter_id = 0;
    if (!m || !adapter || !*adapter)
        return sv_error(SCIVEC_EINVAL, "add_adapter: no adapter given");
    char *dir = NULL;
    int status = sv_resolve_model_dir(adapter, &dir);
    if (status) return sv_error_prefix(status, "adapter %s", adapter);
    sv_adapter **bigger = realloc(m->adapters, (size_t)(m->n_adapters + 1) * sizeof *bigger);
    if (!bigger) {
        free(dir);
        return sv_error(SCIVEC_ENOMEM, "add_adapter: out of memory");
    }
    m->adapters = bigger;
    sv_adapter *ad = NULL;
    status = sv_adapter_load(dir, &m->cfg, &ad);
    free(dir);
    if (status) return status;
    m->adapters[m->n_adapters++] = ad;
    if (adapter_id) *adapter_id = m->n_adapters;
    return SCIVEC_OK;
}

int scivec_model_n_adapters(const scivec_model *m) { return m->n_adapters; }

const char *scivec_model_adapter_name(const scivec_model *m, int adapter_id) {
    if (!m || adapter_id < 1 || adapter_id > m->n_adapters) return NULL;
    return sv_adapter_name(m->adapters[adapter_id - 1]);
}

const char *scivec_model_adapter_dir(const scivec_model *m, int adapter_id) {
    if (!m || adapter_id < 1 || adapter_id > m->n_adapters) return NULL;
    return sv_adapter_dir(m->adapters[adapter_id - 1]);
}

/* The adapter an encode_params.adapter_id names: NULL for 0 (none). */
static int find_adapter(const scivec_model *m, int adapter_id, const sv_adapter **adapter) {
    *adapter = NULL;
    if (adapter_id == 0) return SCIVEC_OK;
    if (adapter_id < 0 || adapter_id > m->n_adapters)
        return sv_error(SCIVEC_EINVAL, "adapter_id %d: the model has %d adapter%s (ids 1..%d, "
                        "0 = none)", adapter_id, m->n_adapters, m->n_adapters == 1 ? "" : "s",
                        m->n_adapters);
    *adapter = m->adapters[adapter_id - 1];
    return SCIVEC_OK;
}

/* ------------------------------------------------------------------------ */
/* Encoding                                                                  */

static int resolve_pooling(const scivec_model *m, scivec_pooling requested,
                           scivec_pooling *pooling) {
    if (requested == SCIVEC_POOL_DEFAULT) {
        if (m->default_pooling == SCIVEC_POOL_DEFAULT)
            return sv_error(SCIVEC_EUNSUPPORTED, "%s: %s", m->dir, m->default_reason);
        *pooling = m->default_pooling;
        return SCIVEC_OK;
    }
    if (requested < SCIVEC_POOL_CLS || requested > SCIVEC_POOL_POOLER)
        return sv_error(SCIVEC_EINVAL, "unknown pooling %d", (int)requested);
    if (requested == SCIVEC_POOL_POOLER && !m->w->pooler_w)
        return sv_error(SCIVEC_ENOTFOUND,
                        "%s: pooling pooler: the checkpoint has no pooler (tensor "
                        "pooler.dense.weight is missing); use cls or mean",
                        sv_weights_path(m->weights));
    *pooling = requested;
    return SCIVEC_OK;
}

/* Copies seqs[0..n) into the model's packed batch arrays. */
static int pack_batch(scivec_model *m, int n, const scivec_encoding *seqs,
                      int64_t n_tokens) {
    if (n_tokens > m->cap_ids) {
        int32_t *ids = realloc(m->ids, (size_t)n_tokens * sizeof *ids);
        if (ids) m->ids = ids;
        int32_t *types = ids ? realloc(m->type_ids, (size_t)n_tokens * sizeof *types) : NULL;
        if (types) m->type_ids = types;
        if (!ids || !types) return sv_error(SCIVEC_ENOMEM, "encode: out of memory");
        m->cap_ids = n_tokens;
    }
    if (n + 1 > m->cap_seqs) {
        int *starts = realloc(m->seq_start, (size_t)(n + 1) * sizeof *starts);
        if (!starts) return sv_error(SCIVEC_ENOMEM, "encode: out of memory");
        m->seq_start = starts;
        m->cap_seqs = n + 1;
    }
    int64_t pos = 0;
    for (int i = 0; i < n; i++) {
        m->seq_start[i] = (int)pos;
        memcpy(m->ids + pos, seqs[i].input_ids, (size_t)seqs[i].n_tokens * sizeof(int32_t));
        if (seqs[i].token_type_ids)
            memcpy(m->type_ids + pos, seqs[i].token_type_ids,
                   (size_t)seqs[i].n_tokens * sizeof(int32_t));
        else
            memset(m->type_ids + pos, 0, (size_t)seqs[i].n_tokens * sizeof(int32_t));
        pos += seqs[i].n_tokens;
    }
    m->seq_start[n] = (int)pos;
    return SCIVEC_OK;
}

static int check_sequence(const scivec_model *m, int index, const scivec_encoding *seq) {
    if (!seq->input_ids || seq->n_tokens < 1)
        return sv_error(SCIVEC_EINVAL, "encode: sequence %d is empty", index);
    if (seq->n_tokens > m->cfg.max_position)
        return sv_error(SCIVEC_ETOOLONG,
                        "encode: sequence %d has %d tokens, more than the model's "
                        "max_position_embeddings %d", index, seq->n_tokens,
                        m->cfg.max_position);
    return SCIVEC_OK;
}

/* Forward + pooling of seqs[0..n) as one packed batch into out[n, hidden]. */
static int encode_batch(scivec_model *m, const sv_adapter *adapter, scivec_pooling pooling,
                        int normalize, int n, const scivec_encoding *seqs, int64_t n_tokens,
                        float *out) {
    int status = pack_batch(m, n, seqs, n_tokens);
    if (status) return status;
    // cls and pooler read only the [CLS] rows: the last layer computes just those
    int first_rows = pooling == SCIVEC_POOL_CLS || pooling == SCIVEC_POOL_POOLER;
    status = (first_rows ? sv_bert_forward_cls : sv_bert_forward_adapter)(
        &m->cfg, m->w, adapter, &m->ws, m->n_threads, n, m->seq_start, m->ids, m->type_ids);
    if (status) return status;
    return sv_bert_pool(&m->cfg, m->w, pooling, normalize, m->ws.x, n, m->seq_start, out);
}

int scivec_model_encode_tokens(scivec_model *m, const scivec_encode_params *params,
                               int n, const scivec_encoding *seqs, float *out) {
    if (!m || !params || n < 0 || (n > 0 && (!seqs || !out)))
        return sv_error(SCIVEC_EINVAL, "encode_tokens: bad arguments");
    scivec_pooling pooling = SCIVEC_POOL_MEAN;
    int status = resolve_pooling(m, params->pooling, &pooling);
    if (status) return status;
    const sv_adapter *adapter = NULL;
    status = find_adapter(m, params->adapter_id, &adapter);
    if (status) return status;
    int hidden = m->cfg.hidden;
    int first = 0;
    int64_t n_tokens = 0;
    for (int i = 0; i < n; i++) {
        status = check_sequence(m, i, &seqs[i]);
        if (status) return status;
        // close the batch before it would pass the budget (never empty)
        if (i > first && n_tokens + seqs[i].n_tokens > m->batch_tokens) {
            status = encode_batch(m, adapter, pooling, params->normalize, i - first, seqs + first,
                                  n_tokens, out + (size_t)first * hidden);
            if (status) return sv_error_prefix(status, "sequences %d..%d", first, i - 1);
            first = i;
            n_tokens = 0;
        }
        n_tokens += seqs[i].n_tokens;
    }
    if (n > first) {
        status = encode_batch(m, adapter, pooling, params->normalize, n - first, seqs + first,
                              n_tokens, out + (size_t)first * hidden);
        if (status) return sv_error_prefix(status, "sequences %d..%d", first, n - 1);
    }
    return SCIVEC_OK;
}

/* The max_length texts are tokenized to: the caller's, else the model's,
 * never above max_position_embeddings (there is no embedding past it). */
static int effective_max_length(const scivec_model *m, int requested) {
    int max_length = requested > 0 ? requested : m->max_length;
    if (max_length > m->cfg.max_position) max_length = m->cfg.max_position;
    return max_length;
}

/* Runs the n tokenized inputs encs[0..n) (inputs first .. first + n - 1)
 * and clears them. */
static int flush_texts(scivec_model *m, const scivec_encode_params *params,
                       scivec_encoding *encs, int n, int first, int64_t n_tokens,
                       float *out, scivec_encode_stats *stats) {
    int status = scivec_model_encode_tokens(m, params, n, encs,
                                            out + (size_t)first * m->cfg.hidden);
    if (status) status = sv_error_prefix(status, "inputs %d..%d", first, first + n - 1);
    else if (stats) stats->n_tokens += n_tokens;
    for (int j = 0; j < n; j++) scivec_encoding_clear(&encs[j]);
    return status;
}

int scivec_model_encode_texts(scivec_model *m, const scivec_encode_params *params,
                              int n, const char *const *texts,
                              const char *const *pairs, float *out,
                              scivec_encode_stats *stats) {
    if (!m || !params || n < 0 || (n > 0 && (!texts || !out)))
        return sv_error(SCIVEC_EINVAL, "encode_texts: bad arguments");
    scivec_pooling pooling = SCIVEC_POOL_MEAN;
    int status = resolve_pooling(m, params->pooling, &pooling);
    if (status) return status;
    const sv_adapter *adapter = NULL;
    status = find_adapter(m, params->adapter_id, &adapter);
    if (status) return status;
    scivec_encode_params batch_params = *params;
    batch_params.pooling = pooling;
    int max_length = effective_max_length(m, params->max_length);

    // tokenize up to a budget's worth of texts, encode them, reuse the slots
    scivec_encoding *encs = NULL;
    int cap = 0, n_in_batch = 0, first = 0;
    int64_t n_tokens = 0;
    for (int i = 0; i < n; i++) {
        if (n_in_batch == cap) {
            int new_cap = cap ? 2 * cap : 64;
            scivec_encoding *bigger = realloc(encs, (size_t)new_cap * sizeof *encs);
            if (!bigger) { status = sv_error(SCIVEC_ENOMEM, "encode: out of memory"); break; }
            memset(bigger + cap, 0, (size_t)(new_cap - cap) * sizeof *bigger);
            encs = bigger;
            cap = new_cap;
        }
        scivec_encoding enc = {0};
        const char *text = texts[i] ? texts[i] : "";
        const char *pair = pairs ? pairs[i] : NULL;
        status = scivec_tokenize(m->tok, text, strlen(text), pair, pair ? strlen(pair) : 0,
                                 max_length, &enc);
        if (status) { status = sv_error_prefix(status, "input %d", i); break; }
        int truncated = enc.n_tokens_untruncated > enc.n_tokens;
        if (truncated && params->truncate_error) {
            status = sv_error(SCIVEC_ETOOLONG, "input %d: %d tokens, more than max_length %d",
                              i, enc.n_tokens_untruncated, max_length);
            scivec_encoding_clear(&enc);
            break;
        }
        if (stats) {
            stats->n_truncated += truncated;
            stats->n_invalid_utf8 += enc.n_invalid_utf8 > 0;
        }
        // this one would overflow the budget: run the batch so far first
        if (n_in_batch > 0 && n_tokens + enc.n_tokens > m->batch_tokens) {
            status = flush_texts(m, &batch_params, encs, n_in_batch, first, n_tokens, out, stats);
            first += n_in_batch;
            n_in_batch = 0;
            n_tokens = 0;
            if (status) { scivec_encoding_clear(&enc); break; }
        }
        encs[n_in_batch++] = enc;
        n_tokens += enc.n_tokens;
    }
    if (!status && n_in_batch > 0) {
        status = flush_texts(m, &batch_params, encs, n_in_batch, first, n_tokens, out, stats);
        n_in_batch = 0;
    }
    for (int j = 0; j < n_in_batch; j++) scivec_encoding_clear(&encs[j]);
    free(encs);
    return status;
}

int sv_model_set_batch_tokens(scivec_model *m, int n_tokens) {
    if (n_tokens < 1)
        return sv_error(SCIVEC_EINVAL, "batch tokens must be at least 1, got %d", n_tokens);
    m->batch_tokens = n_tokens;
    return SCIVEC_OK;
}

int sv_model_last_hidden_state(scivec_model *m, const scivec_encoding *seq,
                               const float **hidden) {
    return sv_model_last_hidden_state_adapter(m, 0, seq, hidden);
}

int sv_model_last_hidden_state_adapter(scivec_model *m, int adapter_id,
                                       const scivec_encoding *seq, const float **hidden) {
    if (!m || !seq || !hidden) return sv_error(SCIVEC_EINVAL, "last_hidden_state: bad arguments");
    const sv_adapter *adapter = NULL;
    int status = find_adapter(m, adapter_id, &adapter);
    if (status) return status;
    status = check_sequence(m, 0, seq);
    if (status) return status;
    status = pack_batch(m, 1, seq, seq->n_tokens);
    if (status) return status;
    status = sv_bert_forward_adapter(&m->cfg, m->w, adapter, &m->ws, m->n_threads, 1,
                                     m->seq_start, m->ids, m->type_ids);
    if (status) return status;
    *hidden = m->ws.x;
    return SCIVEC_OK;
}
