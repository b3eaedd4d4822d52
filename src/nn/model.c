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

#include "core/cpu.h"
#include "core/error.h"
#include "core/files.h"
#include "core/l2norm.h"
#include "hub/family.h"
#include "hub/model_dir.h"
#include "nn/adapter.h"
#include "nn/bert.h"
#include "nn/config.h"
#include "nn/lowp.h"
#include "nn/lowp_bert.h"
#include "nn/model.h"
#include "nn/pooling.h"
#include "nn/st_modules.h"
#include "nn/weights.h"
#include "text/tokenizer.h"

struct scivec_model {
    char *dir;
    char repo_id[256]; /* what the model stands for (family.h), "" unknown */
    sv_bert_config cfg;
    scivec_tokenizer *tok;
    sv_weights *weights;
    const sv_bert_weights *w;
    scivec_precision precision;
    sv_lowp_bert *lowp; /* bf16 / int8 dense layers; NULL: fp32  */
    int n_threads;
    int batch_tokens;               /* token budget of one packed forward    */
    int max_length;                 /* min(tokenizer, max_position_embeddings) */
    scivec_pooling default_pooling; /* DEFAULT when the ST config is unusable */
    char default_reason[512];       /* why; the error when unusable          */
    sv_st_modules st;               /* sentence-transformers modules, prompts */
    int dim;                        /* vector width: the last Dense's, else hidden */
    float *pooled, *dense_scratch;  /* one batch's pooled rows before Dense (grow only) */
    int cap_pooled;
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
        .prompt_name = NULL,
    };
    return p;
}

/* ------------------------------------------------------------------------ */
/* Default pooling: sentence-transformers' choice for this folder            */

/* ------------------------------------------------------------------------ */
/* Loading                                                                   */

static int resolve_threads(int n_threads) {
    if (n_threads > 0) return n_threads;
    int n = omp_get_num_procs();
    return n > 0 ? n : 1;
}

int scivec_model_load(const char *model, const scivec_model_params *params, scivec_model **out) {
    if (!model || !out) return sv_error(SCIVEC_EINVAL, "model_load: model is NULL");
    *out = NULL;
    if (sv_cpu_check()) return SCIVEC_EUNSUPPORTED;
    if (params &&
        (params->precision < SCIVEC_PRECISION_FP32 || params->precision > SCIVEC_PRECISION_INT8))
        return sv_error(SCIVEC_EINVAL,
                        "model_load: precision %d is not one of fp32, bf16, "
                        "int8",
                        (int)params->precision);
    if (params && params->n_threads < 0)
        return sv_error(SCIVEC_EINVAL, "model_load: n_threads %d is negative", params->n_threads);
    scivec_model *m = calloc(1, sizeof *m);
    if (!m) return sv_error(SCIVEC_ENOMEM, "out of memory");
    m->n_threads = resolve_threads(params ? params->n_threads : 0);
    m->batch_tokens = SV_BATCH_TOKENS;

    int status = sv_resolve_model_dir(model, &m->dir);
    if (status) goto done;
    char *config_path = sv_path_join(m->dir, "config.json");
    if (!config_path) {
        status = sv_error(SCIVEC_ENOMEM, "out of memory");
        goto done;
    }
    status = sv_config_load(config_path, &m->cfg);
    free(config_path);
    if (status) goto done;
    sv_model_identity(model, m->dir, m->repo_id, sizeof m->repo_id);
    status = scivec_tokenizer_load(m->dir, &m->tok);
    if (status) goto done;
    status = sv_weights_load(m->dir, &m->cfg, &m->weights);
    if (status) goto done;
    m->w = sv_weights_bert(m->weights);
    m->precision = params ? params->precision : SCIVEC_PRECISION_FP32;
    if (m->precision != SCIVEC_PRECISION_FP32) {
        status = sv_lowp_bert_create(m->precision, m->n_threads, &m->cfg, m->w, &m->lowp);
        if (status) goto done;
        m->w = sv_lowp_bert_weights(m->lowp);
    }

    // a token id the embedding matrix has no row for would be a wild read
    int vocab = scivec_tokenizer_vocab_size(m->tok);
    if (vocab > m->cfg.vocab_size) {
        status = sv_error(SCIVEC_EFORMAT,
                          "%s: the tokenizer has %d tokens but the word embeddings "
                          "have only %d rows (config vocab_size); ids %d..%d would "
                          "have no embedding",
                          m->dir, vocab, m->cfg.vocab_size, m->cfg.vocab_size, vocab - 1);
        goto done;
    }
    int tok_max = scivec_tokenizer_model_max_length(m->tok);
    m->max_length = tok_max < m->cfg.max_position ? tok_max : m->cfg.max_position;

    status = sv_st_modules_load(m->dir, m->cfg.hidden, &m->st);
    if (status) goto done;
    m->dim = sv_st_output_dim(&m->st, m->cfg.hidden);
    if (!m->st.is_st) {
        m->default_pooling = SCIVEC_POOL_MEAN;
        snprintf(m->default_reason, sizeof m->default_reason, "sentence-transformers default");
    } else {
        m->default_pooling = m->st.pooling;
        snprintf(m->default_reason, sizeof m->default_reason, "%s", m->st.reason);
    }
    // sentence-transformers truncates at max_seq_length when the folder sets it
    if (m->st.max_seq_length > 0)
        m->max_length =
            m->st.max_seq_length < m->cfg.max_position ? m->st.max_seq_length : m->cfg.max_position;
    // do_lower_case lower-cases each text first: the same as a lower-casing
    // tokenizer does, anything else scivec does not implement
    if (m->st.do_lower_case && !m->tok->lowercase) {
        status = sv_error(SCIVEC_EUNSUPPORTED,
                          "%s/sentence_bert_config.json: do_lower_case "
                          "true with a tokenizer that keeps case is not supported",
                          m->dir);
        goto done;
    }

done:
    if (status) {
        scivec_model_free(m);
        m = NULL;
    }
    *out = m;
    return status;
}

void scivec_model_free(scivec_model *m) {
    if (!m) return;
    for (int i = 0; i < m->n_adapters; i++) sv_adapter_free(m->adapters[i]);
    free(m->adapters);
    sv_st_modules_free(&m->st);
    free(m->pooled);
    free(m->dense_scratch);
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
int scivec_model_dim(const scivec_model *m) { return m->dim; }
int sv_model_st_normalize(const scivec_model *m) { return m->st.normalize; }
int sv_model_prompt(const scivec_model *m, const char *name, const char **text,
                    const char **resolved) {
    return sv_st_prompt(&m->st, m->dir, name, text, resolved);
}
scivec_precision scivec_model_precision(const scivec_model *m) { return m->precision; }
int scivec_model_max_length(const scivec_model *m) { return m->max_length; }
const scivec_tokenizer *scivec_model_tokenizer(const scivec_model *m) { return m->tok; }
const char *scivec_model_dir(const scivec_model *m) { return m->dir; }
const char *sv_model_repo_id(const scivec_model *m) { return m->repo_id; }
const char *scivec_model_weights_path(const scivec_model *m) { return sv_weights_path(m->weights); }

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
    // a table adapter of one family on a base of another: refused before any download
    const sv_family *adapter_family = sv_family_of_adapter(adapter);
    const sv_family *model_family = sv_family_of_base(m->repo_id);
    if (adapter_family && model_family && adapter_family != model_family)
        return sv_error(SCIVEC_EINVAL,
                        "adapter %s belongs to %s but the model is %s (use %s "
                        "and %s with it)",
                        adapter, adapter_family->base, m->repo_id, model_family->papers,
                        model_family->queries);
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
    status = sv_adapter_load(dir, &m->cfg, m->repo_id, &ad);
    free(dir);
    if (status) return sv_error_prefix(status, "adapter %s", adapter);
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
        return sv_error(SCIVEC_EINVAL,
                        "adapter_id %d: the model has %d adapter%s (ids 1..%d, "
                        "0 = none)",
                        adapter_id, m->n_adapters, m->n_adapters == 1 ? "" : "s", m->n_adapters);
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
    if (requested < SCIVEC_POOL_CLS || requested > SCIVEC_POOL_LASTTOKEN)
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
static int pack_batch(scivec_model *m, int n, const scivec_encoding *seqs, int64_t n_tokens) {
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
                        "max_position_embeddings %d",
                        index, seq->n_tokens, m->cfg.max_position);
    return SCIVEC_OK;
}

/* Room for n pooled rows and the Dense chain's two scratch halves. */
static int grow_pooled(scivec_model *m, int n) {
    if (n <= m->cap_pooled) return SCIVEC_OK;
    int widest = m->cfg.hidden;
    for (int l = 0; l < m->st.n_dense; l++)
        if (m->st.dense[l].out > widest) widest = m->st.dense[l].out;
    float *pooled = realloc(m->pooled, (size_t)n * m->cfg.hidden * sizeof *pooled);
    if (pooled) m->pooled = pooled;
    float *scratch =
        pooled ? realloc(m->dense_scratch, (size_t)2 * n * widest * sizeof *scratch) : NULL;
    if (scratch) m->dense_scratch = scratch;
    if (!pooled || !scratch) return sv_error(SCIVEC_ENOMEM, "encode: out of memory");
    m->cap_pooled = n;
    return SCIVEC_OK;
}

/* Forward + pooling (+ Dense, Normalize) of seqs[0..n) as one packed batch
 * into out[n, dim]. */
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
    normalize = normalize || m->st.normalize; // a Normalize module always runs
    if (!m->st.n_dense)
        return sv_bert_pool(&m->cfg, m->w, pooling, normalize, m->ws.x, n, m->seq_start, out);
    // Pooling -> Dense... -> Normalize, as the modules run in sentence-transformers
    status = grow_pooled(m, n);
    if (status) return status;
    status = sv_bert_pool(&m->cfg, m->w, pooling, 0, m->ws.x, n, m->seq_start, m->pooled);
    if (status) return status;
    sv_st_dense_forward(&m->st, n, m->pooled, out, m->dense_scratch);
    if (normalize)
        for (int i = 0; i < n; i++) sv_l2_normalize(out + (size_t)i * m->dim, m->dim);
    return SCIVEC_OK;
}

/* The pooling and adapter params ask for, checked against the model: both
 * encode calls refuse bad parameters before any work. */
static int resolve_encode_params(const scivec_model *m, const scivec_encode_params *params,
                                 scivec_pooling *pooling, const sv_adapter **adapter) {
    int status = resolve_pooling(m, params->pooling, pooling);
    if (status) return status;
    return find_adapter(m, params->adapter_id, adapter);
}

int scivec_model_encode_tokens(scivec_model *m, const scivec_encode_params *params, int n,
                               const scivec_encoding *seqs, float *out) {
    if (!m || !params || n < 0 || (n > 0 && (!seqs || !out)))
        return sv_error(SCIVEC_EINVAL, "encode_tokens: bad arguments");
    scivec_pooling pooling = SCIVEC_POOL_MEAN;
    const sv_adapter *adapter = NULL;
    int status = resolve_encode_params(m, params, &pooling, &adapter);
    if (status) return status;
    int hidden = m->dim; // the width of an output row
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

/* The prompt params ask for (NULL = none), refused when the Pooling module
 * would leave its tokens out (include_prompt false: not implemented). */
static int prompt_for(const scivec_model *m, const scivec_encode_params *params,
                      const char **prompt) {
    int status = sv_st_prompt(&m->st, m->dir, params->prompt_name, prompt, NULL);
    if (status) return status;
    if (*prompt && !**prompt) *prompt = NULL;
    if (*prompt && !m->st.include_prompt)
        return sv_error(SCIVEC_EUNSUPPORTED,
                        "%s: the Pooling module's include_prompt is false "
                        "(pooling without the prompt's tokens is not supported); pass an "
                        "empty prompt to run without one",
                        m->dir);
    return SCIVEC_OK;
}

/* prompt + text tokenized together, as SentenceTransformer.encode joins
 * them: the prompt's tokens count against max_length. */
static int tokenize_prompted(const scivec_model *m, const char *prompt, const char *text,
                             size_t text_len, const char *pair, int max_length,
                             scivec_encoding *enc) {
    if (!prompt)
        return scivec_tokenize(m->tok, text, text_len, pair, pair ? strlen(pair) : 0, max_length,
                               enc);
    size_t prompt_len = strlen(prompt);
    char *joined = malloc(prompt_len + text_len + 1);
    if (!joined) return sv_error(SCIVEC_ENOMEM, "encode: out of memory");
    memcpy(joined, prompt, prompt_len);
    memcpy(joined + prompt_len, text, text_len);
    joined[prompt_len + text_len] = '\0';
    int status = scivec_tokenize(m->tok, joined, prompt_len + text_len, pair,
                                 pair ? strlen(pair) : 0, max_length, enc);
    free(joined);
    return status;
}

int sv_model_tokenize(const scivec_model *m, const scivec_encode_params *params, const char *text,
                      size_t text_len, scivec_encoding *enc) {
    const char *prompt = NULL;
    int status = prompt_for(m, params, &prompt);
    if (status) return status;
    return tokenize_prompted(m, prompt, text, text_len, NULL,
                             effective_max_length(m, params->max_length), enc);
}

/* Texts tokenized at a time by encode_texts: bounds the memory of the
 * encodings, and decides nothing else. Forward batches are cut in one place,
 * scivec_model_encode_tokens, by the model's token budget; a row does not
 * depend on its batch, so where a chunk ends changes no output. */
enum { TEXTS_PER_CHUNK = 1024 };

/* Tokenizes texts [first, first + n) into encs (cleared by the caller),
 * counting truncations and invalid UTF-8 into stats. */
static int tokenize_chunk(const scivec_model *m, const scivec_encode_params *params,
                          const char *prompt, int max_length, const char *const *texts,
                          const char *const *pairs, int first, int n, scivec_encoding *encs,
                          scivec_encode_stats *stats) {
    for (int i = first; i < first + n; i++) {
        scivec_encoding *enc = &encs[i - first];
        const char *text = texts[i] ? texts[i] : "";
        const char *pair = pairs ? pairs[i] : NULL;
        int status = tokenize_prompted(m, prompt, text, strlen(text), pair, max_length, enc);
        if (status) return sv_error_prefix(status, "input %d", i);
        int truncated = enc->n_tokens_untruncated > enc->n_tokens;
        if (truncated && params->truncate_error)
            return sv_error(SCIVEC_ETOOLONG, "input %d: %d tokens, more than max_length %d", i,
                            enc->n_tokens_untruncated, max_length);
        if (stats) {
            stats->n_truncated += truncated;
            stats->n_invalid_utf8 += enc->n_invalid_utf8 > 0;
            stats->n_tokens += enc->n_tokens;
        }
    }
    return SCIVEC_OK;
}

int scivec_model_encode_texts(scivec_model *m, const scivec_encode_params *params, int n,
                              const char *const *texts, const char *const *pairs, float *out,
                              scivec_encode_stats *stats) {
    if (!m || !params || n < 0 || (n > 0 && (!texts || !out)))
        return sv_error(SCIVEC_EINVAL, "encode_texts: bad arguments");
    scivec_pooling pooling = SCIVEC_POOL_MEAN;
    const sv_adapter *adapter = NULL;
    int status = resolve_encode_params(m, params, &pooling, &adapter);
    if (status) return status;
    int max_length = effective_max_length(m, params->max_length);
    const char *prompt = NULL;
    status = prompt_for(m, params, &prompt);
    if (status) return status;

    int chunk = n < TEXTS_PER_CHUNK ? n : TEXTS_PER_CHUNK;
    scivec_encoding *encs = chunk ? calloc((size_t)chunk, sizeof *encs) : NULL;
    if (chunk && !encs) return sv_error(SCIVEC_ENOMEM, "encode: out of memory");
    for (int first = 0; first < n && !status; first += chunk) {
        int n_chunk = n - first < chunk ? n - first : chunk;
        status = tokenize_chunk(m, params, prompt, max_length, texts, pairs, first, n_chunk, encs,
                                stats);
        if (!status) {
            status =
                scivec_model_encode_tokens(m, params, n_chunk, encs, out + (size_t)first * m->dim);
            if (status)
                status = sv_error_prefix(status, "inputs %d..%d", first, first + n_chunk - 1);
        }
        for (int j = 0; j < n_chunk; j++) scivec_encoding_clear(&encs[j]);
    }
    free(encs);
    return status;
}

int sv_model_set_batch_tokens(scivec_model *m, int n_tokens) {
    if (n_tokens < 1)
        return sv_error(SCIVEC_EINVAL, "batch tokens must be at least 1, got %d", n_tokens);
    m->batch_tokens = n_tokens;
    return SCIVEC_OK;
}

int sv_model_last_hidden_state(scivec_model *m, const scivec_encoding *seq, const float **hidden) {
    return sv_model_last_hidden_state_adapter(m, 0, seq, hidden);
}

int sv_model_last_hidden_state_adapter(scivec_model *m, int adapter_id, const scivec_encoding *seq,
                                       const float **hidden) {
    if (!m || !seq || !hidden) return sv_error(SCIVEC_EINVAL, "last_hidden_state: bad arguments");
    const sv_adapter *adapter = NULL;
    int status = find_adapter(m, adapter_id, &adapter);
    if (status) return status;
    status = check_sequence(m, 0, seq);
    if (status) return status;
    status = pack_batch(m, 1, seq, seq->n_tokens);
    if (status) return status;
    status = sv_bert_forward_adapter(&m->cfg, m->w, adapter, &m->ws, m->n_threads, 1, m->seq_start,
                                     m->ids, m->type_ids);
    if (status) return status;
    *hidden = m->ws.x;
    return SCIVEC_OK;
}
