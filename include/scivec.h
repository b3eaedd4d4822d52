/*
 * scivec.h - turn scientific papers into dense vectors with BERT-family models.
 *
 * The public API of libscivec. Every handle is opaque; whoever receives one
 * from a _load or _open call owns it and releases it with the matching *_free.
 *
 * Errors: every call that can fail returns an int status (SCIVEC_OK = 0, a
 * negative SCIVEC_E* code otherwise) and leaves a one-line message for the
 * calling thread in scivec_last_error(). The library never prints to stdout,
 * never exits and never aborts; it reports.
 *
 * Threads: a scivec_tokenizer may be shared by any number of threads once
 * loaded (it is read-only). A scivec_model may be used by one thread at a
 * time (it owns scratch buffers); it uses params.n_threads threads inside.
 *
 * Basic usage:
 *
 *     scivec_model_params mp = scivec_model_default_params();
 *     scivec_model *model;
 *     if (scivec_model_load("allenai/specter2_base", &mp, &model) != SCIVEC_OK) {
 *         fprintf(stderr, "scivec: %s\n", scivec_last_error());
 *         return 1;
 *     }
 *     scivec_encode_params ep = scivec_encode_default_params();
 *     ep.pooling = SCIVEC_POOL_CLS;
 *     const char *texts[] = { "Attention is all you need" };
 *     float vec[768];
 *     scivec_model_encode_texts(model, &ep, 1, texts, NULL, vec, NULL);
 *     scivec_model_free(model);
 */
#ifndef SCIVEC_H
#define SCIVEC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SCIVEC_VERSION "0.1.0"

/* ------------------------------------------------------------------------ */
/* Status codes and errors                                                   */

enum {
    SCIVEC_OK           =  0,
    SCIVEC_EINVAL       = -1, /* bad argument or option                     */
    SCIVEC_EIO          = -2, /* a file could not be read or written        */
    SCIVEC_EFORMAT      = -3, /* a file is malformed / not what it claims   */
    SCIVEC_ENOMEM       = -4, /* an allocation failed                       */
    SCIVEC_EUNSUPPORTED = -5, /* valid input we do not implement (e.g. arch) */
    SCIVEC_ENOTFOUND    = -6, /* a file, tensor, model or paper is missing   */
    SCIVEC_ETOOLONG     = -7, /* input longer than allowed (truncate=error)  */
};

/* Message of the last failed call on this thread ("" if none). The pointer
 * stays valid until the next failing call on the same thread. */
const char *scivec_last_error(void);
/* Short name of a status code ("ok", "invalid argument", ...). */
const char *scivec_status_string(int status);
const char *scivec_version(void);

/* ------------------------------------------------------------------------ */
/* Tokenizer: HuggingFace BertTokenizer(Fast) behaviour, read from a model    */
/* directory (vocab.txt, tokenizer_config.json, tokenizer.json).             */

typedef struct scivec_tokenizer scivec_tokenizer;

/* One encoded sequence: [CLS] a [SEP] (b [SEP]). The attention mask is all
 * ones (scivec never pads), so it is not stored. Owned by the caller; release
 * the arrays with scivec_encoding_clear. */
typedef struct scivec_encoding {
    int32_t *input_ids;
    int32_t *token_type_ids;
    int      n_tokens;             /* after truncation                      */
    int      n_tokens_untruncated; /* what it would be without truncation   */
    int      n_invalid_utf8;       /* invalid byte sequences replaced (U+FFFD) */
} scivec_encoding;

/* Loads the tokenizer of a model directory. Missing tokenizer_config.json
 * means HF defaults (lowercase); see scivec_tokenizer_warning. */
int  scivec_tokenizer_load(const char *model_dir, scivec_tokenizer **out);
void scivec_tokenizer_free(scivec_tokenizer *tok);
/* A warning found while loading (e.g. "vocab looks cased but lowercasing is
 * on"), or NULL. Owned by the tokenizer. */
const char *scivec_tokenizer_warning(const scivec_tokenizer *tok);
int  scivec_tokenizer_vocab_size(const scivec_tokenizer *tok);
/* model_max_length from tokenizer_config.json (INT32_MAX when absent/huge). */
int  scivec_tokenizer_model_max_length(const scivec_tokenizer *tok);
/* Token string of an id, or NULL when out of range. */
const char *scivec_tokenizer_id_to_token(const scivec_tokenizer *tok, int32_t id);

/* Encodes text (and text_pair when pair != NULL) truncated to max_length
 * tokens including specials (HF longest_first for pairs; max_length <= 0
 * means no truncation). Bytes need not be valid UTF-8. */
int  scivec_tokenize(const scivec_tokenizer *tok,
                     const char *text, size_t text_len,
                     const char *pair, size_t pair_len,
                     int max_length, scivec_encoding *out);
void scivec_encoding_clear(scivec_encoding *enc);

/* ------------------------------------------------------------------------ */
/* Model: a BERT checkpoint in HuggingFace layout plus its tokenizer.        */

typedef struct scivec_model scivec_model;

typedef enum scivec_pooling {
    SCIVEC_POOL_DEFAULT = 0, /* the model folder's sentence-transformers
                                pooling, else mean (as sentence-transformers) */
    SCIVEC_POOL_CLS,
    SCIVEC_POOL_MEAN,        /* mask-weighted mean over all tokens incl. specials */
    SCIVEC_POOL_MAX,
    SCIVEC_POOL_POOLER,      /* tanh(W h_cls + b), needs the pooler weights */
} scivec_pooling;

typedef struct scivec_model_params {
    int n_threads;           /* threads used for the forward; 0 = all cores */
} scivec_model_params;

scivec_model_params scivec_model_default_params(void);

/* model: a directory, or a HuggingFace repo id (ORG/NAME[@REVISION]) looked up
 * in the local HF cache ($HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub)
 * and otherwise downloaded into it from the hub ($HF_ENDPOINT, $HF_TOKEN;
 * never when $HF_HUB_OFFLINE=1). See docs/HUB.md. */
int  scivec_model_load(const char *model, const scivec_model_params *params,
                       scivec_model **out);
void scivec_model_free(scivec_model *model);

int  scivec_model_hidden_size(const scivec_model *model);
/* min(tokenizer model_max_length, max_position_embeddings). */
int  scivec_model_max_length(const scivec_model *model);
const scivec_tokenizer *scivec_model_tokenizer(const scivec_model *model);
/* The directory the model was resolved to, and its weight file. */
const char *scivec_model_dir(const scivec_model *model);
const char *scivec_model_weights_path(const scivec_model *model);
/* A warning found while loading (NaN/Inf values in the weights, else the
 * tokenizer's warning), or NULL. The model still works. */
const char *scivec_model_warning(const scivec_model *model);
/* The pooling SCIVEC_POOL_DEFAULT stands for, and why ("1_Pooling/config.json"
 * or "sentence-transformers default"). */
scivec_pooling scivec_model_default_pooling(const scivec_model *model,
                                            const char **reason);
const char *scivec_pooling_name(scivec_pooling pooling);
/* Parses "cls" | "mean" | "max" | "pooler"; returns SCIVEC_EINVAL otherwise. */
int  scivec_pooling_parse(const char *name, scivec_pooling *out);

typedef struct scivec_encode_params {
    scivec_pooling pooling;
    int normalize;           /* L2-normalise each vector                   */
    int max_length;          /* <= 0: scivec_model_max_length             */
    int truncate_error;      /* refuse (SCIVEC_ETOOLONG) instead of truncating */
    int adapter_id;          /* 0 = none (the base model), else an id from
                                scivec_model_add_adapter                  */
} scivec_encode_params;

scivec_encode_params scivec_encode_default_params(void);

/* Adapters: AdapterHub bottleneck adapters (seq_bn / pfeiffer, e.g.
 * SPECTER2's proximity and adhoc_query) sharing the model's base weights.
 * adapter: a folder holding adapter_config.json and pytorch_adapter.bin or
 * adapter.safetensors, or a HuggingFace repo id resolved as in
 * scivec_model_load. Any number may be added; each gets the next id (1, 2,
 * ...) in *adapter_id, which scivec_encode_params.adapter_id selects.
 * Config values scivec does not implement are refused (SCIVEC_EUNSUPPORTED),
 * naming them. See docs/ADAPTERS.md. */
int scivec_model_add_adapter(scivec_model *model, const char *adapter, int *adapter_id);
int scivec_model_n_adapters(const scivec_model *model);
/* The adapter's name as its weight file spells it ("proximity", "[PRX]",
 * ...), or NULL for an unknown id. */
const char *scivec_model_adapter_name(const scivec_model *model, int adapter_id);
/* The folder the adapter was read from (the HF cache snapshot for a repo id). */
const char *scivec_model_adapter_dir(const scivec_model *model, int adapter_id);

typedef struct scivec_encode_stats {
    int64_t n_tokens;        /* tokens run through the model               */
    int     n_truncated;     /* inputs cut to max_length                   */
    int     n_invalid_utf8;  /* inputs that held invalid UTF-8             */
} scivec_encode_stats;

/* Encodes n texts (with optional pairs[i], NULL entries allowed) into
 * out[n * hidden]. The same text gives the same vector whatever the batch.
 * stats may be NULL; when given, it is added to. */
int scivec_model_encode_texts(scivec_model *model,
                              const scivec_encode_params *params, int n,
                              const char *const *texts,
                              const char *const *pairs, float *out,
                              scivec_encode_stats *stats);

/* Encodes already tokenized sequences (from scivec_tokenize). */
int scivec_model_encode_tokens(scivec_model *model,
                               const scivec_encode_params *params, int n,
                               const scivec_encoding *seqs, float *out);

/* ------------------------------------------------------------------------ */
/* Output folders that grow and split: merge shards (docs/SCALE.md)         */

typedef struct scivec_merge_params {
    const char *index_factory;  /* NULL: the shards' index.factory           */
    int         n_threads;      /* FAISS threads; 0: all cores               */
} scivec_merge_params;

/* Joins the folders written by `scivec embed --shard K/N` (one per K, all N
 * of them, same options) into out_dir, as one `scivec embed` of the whole
 * input writes it: papers in input order, index built once. Refuses a
 * missing, duplicated or mismatched shard and a paper id found in two. */
int scivec_merge(const char *out_dir, const char *const *shard_dirs, int n_shards,
                 const scivec_merge_params *params);

typedef struct scivec_add_params {
    int n_threads;              /* 0: all cores                              */
    int update;                 /* also re-embed papers whose text changed   */
} scivec_add_params;

typedef struct scivec_add_result {
    int64_t n_added;            /* papers appended                           */
    int64_t n_updated;          /* update: papers re-embedded (moved to the end) */
    int64_t rows_read;          /* records of the input                      */
    int64_t n_skipped;          /* already in the folder, duplicate, empty, malformed */
} scivec_add_result;

/* Embeds the papers of input whose id is not in dir yet, with dir's model
 * and options (refused, naming what differs, when the model files or options
 * changed), and appends them to dir's four files: all or nothing, even
 * under kill -9. Equals one embed of dir's input followed by input. */
int scivec_add(const char *dir, const char *input, const scivec_add_params *params,
               scivec_add_result *result);

/* Deletes papers from dir (every id must be there, else nothing changes);
 * the rows after them move up, and the index is built again. */
int scivec_remove(const char *dir, const char *const *paper_ids, int n_ids, int n_threads);

#ifdef __cplusplus
}
#endif

#endif /* SCIVEC_H */
