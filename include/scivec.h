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

#include <signal.h>
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
/* Embed pipeline: papers (CSV with a header row, or JSON Lines) -> an       */
/* output folder (embeddings.npy, papers.index, papers.db, metadata.json;    */
/* docs/OUTPUTS.md). What `scivec embed` runs.                               */

typedef enum scivec_recipe {
    SCIVEC_RECIPE_ABSTRACT = 0,     /* the abstract                           */
    SCIVEC_RECIPE_TITLE_ABSTRACT,   /* title + " " + abstract, one sequence    */
    SCIVEC_RECIPE_SPECTER2,         /* title + "[SEP]" + abstract; CLS; 512    */
} scivec_recipe;

const char *scivec_recipe_name(scivec_recipe recipe);
/* Parses "abstract" | "title+abstract" | "specter2" (SCIVEC_EINVAL otherwise). */
int scivec_recipe_parse(const char *name, scivec_recipe *out);

/* Called after every batch and at the end with the records read so far
 * (skipped ones included) and the total (<= 0 when unknown). Return 0 to go
 * on, non-zero to stop: the run stops at that batch boundary with its
 * checkpoint written, returns SCIVEC_EIO with result.interrupted = 1, and a
 * run with resume = 1 continues from the papers already computed. */
typedef int (*scivec_progress_fn)(int64_t done, int64_t total, void *user);
/* Called once per skipped record with a one-line reason (valid during the call). */
typedef void (*scivec_warn_fn)(const char *message, void *user);

typedef struct scivec_embed_params {
    const char *input;          /* CSV or JSONL path (required)             */
    const char *model;          /* directory or ORG/NAME (required)         */
    const char *out_dir;        /* created if needed (required)             */
    scivec_recipe  recipe;
    scivec_pooling pooling;     /* DEFAULT: the recipe's, else the model's  */
    int         normalize;      /* L2-normalise rows (default 1)            */
    int         max_length;     /* <= 0: the recipe's / model's             */
    int         truncate_error; /* refuse over-long texts instead of cutting */
    const char *id_column;      /* NULL: paper_id, else id                  */
    const char *text_column;    /* NULL: abstract                           */
    const char *title_column;   /* NULL: title                              */
    const char *index_factory;  /* NULL: "Flat" (exact inner product)       */
    int         batch_tokens;   /* papers per batch ~ this many tokens      */
    int         n_threads;      /* 0: all cores                             */
    int         strict;         /* a skipped row is an error                */
    int         resume;         /* continue DIR/.scivec-work                */
    int         count_total;    /* pre-count records for progress totals    */
    const char *adapter;        /* the papers' adapter (docs/ADAPTERS.md)   */
    const char *query_adapter;  /* recorded for queries                     */
    /* Optional stop flag, e.g. set by a signal handler: non-zero stops the
     * run as a progress callback's non-zero return does. scivec sets it to
     * 1 itself when the callback asks to stop. NULL: an internal flag. */
    volatile sig_atomic_t *stop;
    scivec_progress_fn progress;   /* may be NULL */
    scivec_warn_fn     warn;       /* may be NULL */
    void              *user;       /* passed to both */
} scivec_embed_params;

scivec_embed_params scivec_embed_default_params(void);

typedef struct scivec_embed_result {
    int64_t rows_read;
    int64_t n_papers;           /* kept = rows in every output              */
    int64_t skipped_empty_text, skipped_malformed, skipped_duplicate_id;
    int64_t n_truncated;
    int64_t n_invalid_utf8;     /* texts with invalid UTF-8 (this run)      */
    int64_t resumed_rows;       /* rows already done by an interrupted run  */
    int     dim;
    int     max_length;
    char    pooling[16];
    char    pooling_reason[128];
    char    index_type[64];
    char    adapter[128];       /* the papers' adapter name, "" = none      */
    char    adapter_note[256];  /* why that adapter (or none) was used      */
    char    query_adapter[128]; /* recorded for queries, "" = none          */
    int     interrupted;        /* stopped early; resume = 1 continues      */
} scivec_embed_result;

/* Runs the pipeline; *result (caller-owned) is filled on success and on
 * failure (counts so far). Crash-safe: nothing appears under a final name
 * until everything succeeded. */
int scivec_embed(const scivec_embed_params *params, scivec_embed_result *result);

/* ------------------------------------------------------------------------ */
/* Output folders: query what scivec_embed wrote.                             */
/*                                                                          */
/* A scivec_outdir is read-only once open and may be shared by threads for   */
/* every call except scivec_outdir_search, which loads and runs the query   */
/* model it keeps (one thread at a time, as a scivec_model). Rows are        */
/* numbered 0..n_papers-1 in embeddings.npy order. Results go into arrays    */
/* the caller owns; strings the library returns are owned by the outdir      */
/* (valid until scivec_outdir_free) unless said otherwise.                  */

typedef struct scivec_outdir scivec_outdir;

/* Opens dir and cross-checks a sample of rows across its four files;
 * SCIVEC_EFORMAT naming the first disagreement, so no query is answered
 * from inconsistent files. */
int  scivec_outdir_open(const char *dir, scivec_outdir **out);
/* Reads what it can and lists every disagreement (scivec_outdir_problem)
 * instead of failing: what `scivec info` shows. full_check: compare every
 * row, not a sample. Fails only when dir is missing or memory runs out. */
int  scivec_outdir_check(const char *dir, int full_check, scivec_outdir **out);
void scivec_outdir_free(scivec_outdir *od);

const char *scivec_outdir_path(const scivec_outdir *od);
int         scivec_outdir_n_problems(const scivec_outdir *od);
const char *scivec_outdir_problem(const scivec_outdir *od, int i);
/* metadata.json as the text of one JSON object, or NULL when unreadable. */
const char *scivec_outdir_metadata_json(const scivec_outdir *od);
/* Papers (rows) and dimension; -1 when unknown (only after _check). */
int64_t     scivec_outdir_n_papers(const scivec_outdir *od);
int         scivec_outdir_dim(const scivec_outdir *od);
/* The memory-mapped embeddings.npy: row-major float32 [*n_rows, *n_cols],
 * owned by the outdir; NULL when it could not be read. */
const float *scivec_outdir_vectors(const scivec_outdir *od, int64_t *n_rows, int64_t *n_cols);
/* papers.index: FAISS type name (NULL when unreadable), vector count,
 * dimension, and whether it keeps exact vectors. */
const char *scivec_outdir_index_type(const scivec_outdir *od);
int64_t     scivec_outdir_index_ntotal(const scivec_outdir *od);
int         scivec_outdir_index_dim(const scivec_outdir *od);
int         scivec_outdir_index_exact(const scivec_outdir *od);
/* papers.db: number of papers, -1 when unreadable. */
int64_t     scivec_outdir_db_rows(const scivec_outdir *od);

/* One paper as papers.db holds it. The strings are the caller's; release
 * them with scivec_paper_clear. */
typedef struct scivec_paper {
    char *paper_id, *title, *categories;  /* categories: space-separated  */
    int   has_year, year;
} scivec_paper;

/* The row of paper_id (SCIVEC_ENOTFOUND when there is none). */
int  scivec_outdir_find(const scivec_outdir *od, const char *paper_id, int64_t *row);
int  scivec_outdir_paper(const scivec_outdir *od, int64_t row, scivec_paper *out);
void scivec_paper_clear(scivec_paper *paper);

/* Which papers a query may return; all zero = no filter. */
typedef struct scivec_filter {
    const char *const *categories; /* any of them; "cs" matches "cs.CL"    */
    int  n_categories;
    int  has_year;                 /* year_min <= year <= year_max         */
    int  year_min, year_max;
} scivec_filter;

/* Parses "2024" or "2020-2024" into f's year range (SCIVEC_EINVAL otherwise). */
int scivec_filter_parse_year(const char *text, scivec_filter *f);

typedef struct scivec_hit {
    int64_t row;      /* scivec_outdir_paper(row) says which paper          */
    float   score;    /* cosine similarity                                  */
} scivec_hit;

/* Every query below writes up to k hits, best first, into the caller's
 * hits[k] and their number into *n_hits (< k only when fewer papers pass
 * filter, which may be NULL). */

/* The k papers most similar to paper_id (its own vector is the query; the
 * paper itself is left out). */
int scivec_outdir_similar(const scivec_outdir *od, const char *paper_id, int64_t k,
                          const scivec_filter *filter, scivec_hit *hits, int64_t *n_hits);
/* The k papers closest to any query vector of scivec_outdir_dim floats,
 * exclude_row (-1: none) left out. */
int scivec_outdir_nearest(const scivec_outdir *od, const float *query, int64_t k,
                          int64_t exclude_row, const scivec_filter *filter,
                          scivec_hit *hits, int64_t *n_hits);
/* Papers like the positives and unlike the negatives (paper ids):
 * unit(mean(unit positives) - mean(unit negatives)), inputs left out. */
int scivec_outdir_recommend(const scivec_outdir *od,
                            const char *const *positive, int n_positive,
                            const char *const *negative, int n_negative, int64_t k,
                            const scivec_filter *filter, scivec_hit *hits, int64_t *n_hits);

/* How free-text queries are embedded: the model, pooling, normalisation,
 * length and query adapter that metadata.json records. */
typedef struct scivec_search_params {
    const char *model;      /* NULL: the one metadata.json records          */
    int         n_threads;  /* 0: all cores                                 */
    int         verify_model; /* refuse unless the weights' sha256 matches   */
} scivec_search_params;

scivec_search_params scivec_search_default_params(void);

/* Embeds text as metadata.json says into query[scivec_outdir_dim]. The
 * first call loads the model (params may be NULL: defaults) and keeps it
 * in od for later calls; params of later calls are ignored. */
int scivec_outdir_embed_query(scivec_outdir *od, const scivec_search_params *params,
                              const char *text, float *query);
/* scivec_outdir_embed_query, then the k closest papers. */
int scivec_outdir_search(scivec_outdir *od, const scivec_search_params *params,
                         const char *text, int64_t k, const scivec_filter *filter,
                         scivec_hit *hits, int64_t *n_hits);
/* Notes from loading the query model ("query adapter: ...", a warning that
 * the weights differ from the ones recorded), one line each; i from 0. */
int         scivec_outdir_n_notes(const scivec_outdir *od);
const char *scivec_outdir_note(const scivec_outdir *od, int i);

#ifdef __cplusplus
}
#endif

#endif /* SCIVEC_H */
