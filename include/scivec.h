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
    SCIVEC_OK = 0,
    SCIVEC_EINVAL = -1,       /* bad argument or option                     */
    SCIVEC_EIO = -2,          /* a file could not be read or written        */
    SCIVEC_EFORMAT = -3,      /* a file is malformed / not what it claims   */
    SCIVEC_ENOMEM = -4,       /* an allocation failed                       */
    SCIVEC_EUNSUPPORTED = -5, /* valid input we do not implement (e.g. arch) */
    SCIVEC_ENOTFOUND = -6,    /* a file, tensor, model or paper is missing   */
    SCIVEC_ETOOLONG = -7,     /* input longer than allowed (truncate=error)  */
};

/* Message of the last failed call on this thread ("" if none). The pointer
 * stays valid until the next failing call on the same thread. */
const char *scivec_last_error(void);
/* Short name of a status code ("ok", "invalid argument", ...). */
const char *scivec_status_string(int status);
const char *scivec_version(void);
/* SCIVEC_OK when this CPU can run scivec's kernels (AVX2 + FMA), else
 * SCIVEC_EUNSUPPORTED and a one-line message. scivec_model_load checks it too;
 * front ends call it first so they fail with that message, never SIGILL. */
int scivec_cpu_check(void);

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
    int n_tokens;             /* after truncation                      */
    int n_tokens_untruncated; /* what it would be without truncation   */
    int n_invalid_utf8;       /* invalid byte sequences replaced (U+FFFD) */
} scivec_encoding;

/* Loads the tokenizer of a model directory. Missing tokenizer_config.json
 * means HF defaults (lowercase); see scivec_tokenizer_warning. */
int scivec_tokenizer_load(const char *model_dir, scivec_tokenizer **out);
void scivec_tokenizer_free(scivec_tokenizer *tok);
/* A warning found while loading (e.g. "vocab looks cased but lowercasing is
 * on"), or NULL. Owned by the tokenizer. */
const char *scivec_tokenizer_warning(const scivec_tokenizer *tok);
int scivec_tokenizer_vocab_size(const scivec_tokenizer *tok);
/* model_max_length from tokenizer_config.json (INT32_MAX when absent/huge). */
int scivec_tokenizer_model_max_length(const scivec_tokenizer *tok);
/* Token string of an id, or NULL when out of range. */
const char *scivec_tokenizer_id_to_token(const scivec_tokenizer *tok, int32_t id);

/* Encodes text (and text_pair when pair != NULL) truncated to max_length
 * tokens including specials (HF longest_first for pairs; max_length <= 0
 * means no truncation). Bytes need not be valid UTF-8. */
int scivec_tokenize(const scivec_tokenizer *tok, const char *text, size_t text_len,
                    const char *pair, size_t pair_len, int max_length, scivec_encoding *out);
void scivec_encoding_clear(scivec_encoding *enc);

/* ------------------------------------------------------------------------ */
/* Model: a BERT checkpoint in HuggingFace layout plus its tokenizer.        */

typedef struct scivec_model scivec_model;

typedef enum scivec_pooling {
    SCIVEC_POOL_DEFAULT = 0, /* the model folder's sentence-transformers
                                pooling, else mean (as sentence-transformers) */
    SCIVEC_POOL_CLS,
    SCIVEC_POOL_MEAN, /* mask-weighted mean over all tokens incl. specials */
    SCIVEC_POOL_MAX,
    SCIVEC_POOL_POOLER,        /* tanh(W h_cls + b), needs the pooler weights */
    SCIVEC_POOL_MEAN_SQRT_LEN, /* sum over all tokens / sqrt(n_tokens)      */
    SCIVEC_POOL_WEIGHTEDMEAN,  /* sum_t (t+1) h[t] / sum_t (t+1)            */
    SCIVEC_POOL_LASTTOKEN,     /* the last token's state ([SEP] for BERT)  */
} scivec_pooling;

/* The precision of the dense layers (docs/MODEL.md, "Precision"). bf16
 * needs AVX512_BF16 (or AMX), int8 AVX512_VNNI (or AMX): elsewhere
 * scivec_model_load refuses them (SCIVEC_EUNSUPPORTED) with the reason. */
typedef enum scivec_precision {
    SCIVEC_PRECISION_FP32 = 0,
    SCIVEC_PRECISION_BF16,
    SCIVEC_PRECISION_INT8,
} scivec_precision;

typedef struct scivec_model_params {
    int n_threads;              /* threads used for the forward; 0 = all cores */
    scivec_precision precision; /* default SCIVEC_PRECISION_FP32            */
} scivec_model_params;

scivec_model_params scivec_model_default_params(void);
/* "fp32" | "bf16" | "int8". */
const char *scivec_precision_name(scivec_precision precision);
/* Parses those names; SCIVEC_EINVAL (naming the value) otherwise. */
int scivec_precision_parse(const char *name, scivec_precision *out);

/* model: a directory, or a HuggingFace repo id (ORG/NAME[@REVISION]) looked up
 * in the local HF cache ($HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub)
 * and otherwise downloaded into it from the hub ($HF_ENDPOINT, $HF_TOKEN;
 * never when $HF_HUB_OFFLINE=1). See docs/HUB.md. */
int scivec_model_load(const char *model, const scivec_model_params *params, scivec_model **out);
void scivec_model_free(scivec_model *model);

int scivec_model_hidden_size(const scivec_model *model);
/* The width of the vectors scivec_model_encode_* writes: a
 * sentence-transformers folder's last Dense out_features, else hidden size. */
int scivec_model_dim(const scivec_model *model);
/* The precision the model was loaded in. */
scivec_precision scivec_model_precision(const scivec_model *model);
/* min(tokenizer model_max_length, max_position_embeddings). */
int scivec_model_max_length(const scivec_model *model);
const scivec_tokenizer *scivec_model_tokenizer(const scivec_model *model);
/* The directory the model was resolved to, and its weight file. */
const char *scivec_model_dir(const scivec_model *model);
const char *scivec_model_weights_path(const scivec_model *model);
/* A warning found while loading (NaN/Inf values in the weights, else the
 * tokenizer's warning), or NULL. The model still works. */
const char *scivec_model_warning(const scivec_model *model);
/* The pooling SCIVEC_POOL_DEFAULT stands for, and why ("1_Pooling/config.json"
 * or "sentence-transformers default"). */
scivec_pooling scivec_model_default_pooling(const scivec_model *model, const char **reason);
const char *scivec_pooling_name(scivec_pooling pooling);
/* Parses "cls" | "mean" | "max" | "pooler" | "mean_sqrt_len_tokens" |
 * "weightedmean" | "lasttoken" (sentence-transformers' names); returns
 * SCIVEC_EINVAL otherwise. */
int scivec_pooling_parse(const char *name, scivec_pooling *out);

typedef struct scivec_encode_params {
    scivec_pooling pooling;
    int normalize;           /* L2-normalise each vector                   */
    int max_length;          /* <= 0: scivec_model_max_length             */
    int truncate_error;      /* refuse (SCIVEC_ETOOLONG) instead of truncating */
    int adapter_id;          /* 0 = none (the base model), else an id from
                                scivec_model_add_adapter                  */
    const char *prompt_name; /* a prompt of the folder's config_sentence_
                                transformers.json, put before each text (its
                                tokens count against max_length); NULL = the
                                folder's default_prompt_name, if any; "" = none.
                                scivec_model_encode_texts only.          */
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
    int64_t n_tokens;   /* tokens run through the model               */
    int n_truncated;    /* inputs cut to max_length                   */
    int n_invalid_utf8; /* inputs that held invalid UTF-8             */
} scivec_encode_stats;

/* Encodes n texts (with optional pairs[i], NULL entries allowed) into
 * out[n * hidden]. The same text gives the same vector whatever the batch.
 * stats may be NULL; when given, it is added to. */
int scivec_model_encode_texts(scivec_model *model, const scivec_encode_params *params, int n,
                              const char *const *texts, const char *const *pairs, float *out,
                              scivec_encode_stats *stats);

/* Encodes already tokenized sequences (from scivec_tokenize). */
int scivec_model_encode_tokens(scivec_model *model, const scivec_encode_params *params, int n,
                               const scivec_encoding *seqs, float *out);

/* ------------------------------------------------------------------------ */
/* Embed pipeline: papers (CSV with a header row, or JSON Lines) -> an       */
/* output folder (embeddings.npy, papers.index, papers.db, metadata.json;    */
/* docs/OUTPUTS.md). What `scivec embed` runs.                               */

typedef enum scivec_recipe {
    SCIVEC_RECIPE_ABSTRACT = 0,   /* the abstract                           */
    SCIVEC_RECIPE_TITLE_ABSTRACT, /* title + " " + abstract, one sequence    */
    SCIVEC_RECIPE_SPECTER2,       /* title + "[SEP]" + abstract; CLS; 512    */
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
    const char *input;   /* CSV or JSONL path (required)             */
    const char *model;   /* directory or ORG/NAME (required)         */
    const char *out_dir; /* created if needed (required)             */
    scivec_recipe recipe;
    scivec_pooling pooling;    /* DEFAULT: the recipe's, else the model's  */
    int normalize;             /* L2-normalise rows (default 1)            */
    int max_length;            /* <= 0: the recipe's / model's             */
    int truncate_error;        /* refuse over-long texts instead of cutting */
    const char *id_column;     /* NULL: paper_id, else id                  */
    const char *text_column;   /* NULL: abstract                           */
    const char *title_column;  /* NULL: title                              */
    const char *index_factory; /* NULL: "Flat" (exact inner product)       */
    int batch_tokens;          /* papers per batch ~ this many tokens      */
    int n_threads;             /* 0: all cores                             */
    int strict;                /* a skipped row is an error                */
    int resume;                /* continue DIR/.scivec-work                */
    int restart;               /* discard DIR/.scivec-work and start over  */
    int count_total;           /* pre-count records for progress totals    */
    const char *adapter;       /* the papers' adapter (docs/ADAPTERS.md); "none" = none */
    const char *query_adapter; /* recorded for queries                     */
    /* sentence-transformers prompts put before each paper's text / recorded
     * for queries: NULL = the model's default prompt, "" = none. */
    const char *prompt;
    const char *query_prompt;
    /* The dense layers' precision. bf16 / int8 first embed a sample of the
     * papers in fp32 too and stop (SCIVEC_EINVAL, the figures named) when the
     * mean cosine or the top-10 neighbour overlap falls below these
     * thresholds, unless force_precision (docs/MODEL.md, "Precision"). */
    scivec_precision precision;
    int force_precision;
    double precision_min_cosine;  /* default 0.99 */
    double precision_min_overlap; /* default 0.90 */
    /* Only the papers whose id hashes to shard shard_k of shard_n (0 = all),
     * recorded for scivec_merge (docs/SCALE.md). */
    int shard_k, shard_n;
    /* Optional stop flag, e.g. set by a signal handler: non-zero stops the
     * run as a progress callback's non-zero return does. scivec sets it to
     * 1 itself when the callback asks to stop. NULL: an internal flag. */
    volatile sig_atomic_t *stop;
    scivec_progress_fn progress; /* may be NULL */
    scivec_warn_fn warn;         /* may be NULL */
    /* Called while the FAISS index is built: stage "training" (0 of n, then
     * n of n) or "adding" (rows added so far of n). May be NULL. */
    void (*index_progress)(const char *stage, int64_t done, int64_t total, void *user);
    void *user; /* passed to all three */
    /* Also store each vector in papers.db (papers.embedding BLOB), as
     * scivec before 0.2 did: 4 x dim bytes more a paper. 0 (default): the
     * vectors live in embeddings.npy only; recorded as metadata.json
     * "db_vectors", which add and merge keep. */
    int db_vectors;
} scivec_embed_params;

scivec_embed_params scivec_embed_default_params(void);

/* The quality check of a bf16 / int8 embed against fp32. */
typedef struct scivec_precision_quality {
    int n;                          /* papers compared; 0 = not measured (fp32)    */
    int top_k;                      /* neighbours compared per paper               */
    double mean_cosine, min_cosine; /* of each paper's two vectors       */
    double top_k_overlap;           /* mean share of the top_k both agree on       */
} scivec_precision_quality;

typedef struct scivec_embed_result {
    int64_t rows_read;
    int64_t n_papers; /* kept = rows in every output              */
    int64_t skipped_empty_text, skipped_malformed, skipped_duplicate_id;
    int64_t skipped_wrong_type; /* JSONL: a used value not a string         */
    int64_t n_utf8_repaired;    /* papers stored with invalid UTF-8 or NULs
                                   repaired (U+FFFD, NULs dropped) in papers.db */
    int64_t n_truncated;
    int64_t n_invalid_utf8; /* texts with invalid UTF-8 (this run)      */
    int64_t resumed_rows;   /* rows already done by an interrupted run  */
    int dim;
    int max_length;
    char pooling[16];
    char pooling_reason[128];
    char index_type[64];
    char adapter[128];       /* the papers' adapter name, "" = none      */
    char adapter_note[256];  /* why that adapter (or none) was used      */
    char query_adapter[128]; /* recorded for queries, "" = none          */
    int interrupted;         /* stopped early; resume = 1 continues      */
    char index_search[256];  /* the search parameter chosen and its recall, "" = none */
    scivec_precision_quality precision_quality;
} scivec_embed_result;

/* Runs the pipeline; *result (caller-owned) is filled on success and on
 * failure (counts so far). Crash-safe: nothing appears under a final name
 * until everything succeeded. */
int scivec_embed(const scivec_embed_params *params, scivec_embed_result *result);

/* Parses "K/N" (0 <= K < N; K counts from 0 as SLURM_ARRAY_TASK_ID does)
 * for scivec_embed_params.shard_k / shard_n. */
int scivec_shard_parse(const char *spec, int *k, int *n);

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
int scivec_outdir_open(const char *dir, scivec_outdir **out);
/* Reads what it can and lists every disagreement (scivec_outdir_problem)
 * instead of failing: what `scivec info` shows. full_check: compare every
 * row, not a sample. Fails only when dir is missing or memory runs out. */
int scivec_outdir_check(const char *dir, int full_check, scivec_outdir **out);
void scivec_outdir_free(scivec_outdir *od);

const char *scivec_outdir_path(const scivec_outdir *od);
int scivec_outdir_n_problems(const scivec_outdir *od);
const char *scivec_outdir_problem(const scivec_outdir *od, int i);
/* metadata.json as the text of one JSON object, or NULL when unreadable. */
const char *scivec_outdir_metadata_json(const scivec_outdir *od);
/* Papers (rows) and dimension; -1 when unknown (only after _check). */
int64_t scivec_outdir_n_papers(const scivec_outdir *od);
int scivec_outdir_dim(const scivec_outdir *od);
/* The memory-mapped embeddings.npy: row-major float32 [*n_rows, *n_cols],
 * owned by the outdir; NULL when it could not be read. */
const float *scivec_outdir_vectors(const scivec_outdir *od, int64_t *n_rows, int64_t *n_cols);
/* papers.index: FAISS type name (NULL when unreadable), vector count,
 * dimension, and whether it keeps exact vectors. */
const char *scivec_outdir_index_type(const scivec_outdir *od);
int64_t scivec_outdir_index_ntotal(const scivec_outdir *od);
int scivec_outdir_index_dim(const scivec_outdir *od);
int scivec_outdir_index_exact(const scivec_outdir *od);
/* papers.db: number of papers, -1 when unreadable. */
int64_t scivec_outdir_db_rows(const scivec_outdir *od);

/* One paper as papers.db holds it. The strings are the caller's; release
 * them with scivec_paper_clear. */
typedef struct scivec_paper {
    char *paper_id, *title, *categories; /* categories: space-separated  */
    int has_year, year;
} scivec_paper;

/* The row of paper_id (SCIVEC_ENOTFOUND when there is none). */
int scivec_outdir_find(const scivec_outdir *od, const char *paper_id, int64_t *row);
int scivec_outdir_paper(const scivec_outdir *od, int64_t row, scivec_paper *out);
void scivec_paper_clear(scivec_paper *paper);

/* Which papers a query may return; all zero = no filter. */
typedef struct scivec_filter {
    const char *const *categories; /* any of them; "cs" matches "cs.CL"    */
    int n_categories;
    int has_year; /* year_min <= year <= year_max         */
    int year_min, year_max;
} scivec_filter;

/* Parses "2024" or "2020-2024" into f's year range (SCIVEC_EINVAL otherwise). */
int scivec_filter_parse_year(const char *text, scivec_filter *f);

typedef struct scivec_hit {
    int64_t row; /* scivec_outdir_paper(row) says which paper          */
    float score; /* cosine similarity                                  */
} scivec_hit;

/* Every query below writes up to k hits, best first, into the caller's
 * hits[k] and their number into *n_hits (< k only when fewer papers pass
 * filter, which may be NULL). */

/* The k papers most similar to paper_id (its own vector is the query; the
 * paper itself is left out). */
int scivec_outdir_similar(const scivec_outdir *od, const char *paper_id, int64_t k,
                          const scivec_filter *filter, scivec_hit *hits, int64_t *n_hits);
/* How an approximate index (IVF, HNSW) is searched by the queries that
 * follow on od: nprobe lists visited, ef_search candidates kept; 0 = what
 * metadata.json recorded when the index was built (chosen then to reach
 * recall@10 >= 0.95 against exact search). Exact indexes ignore both. Set
 * it before sharing od between threads. */
int scivec_outdir_set_search(scivec_outdir *od, int nprobe, int ef_search);
/* The k papers closest to any query vector of scivec_outdir_dim floats,
 * exclude_row (-1: none) left out. */
int scivec_outdir_nearest(const scivec_outdir *od, const float *query, int64_t k,
                          int64_t exclude_row, const scivec_filter *filter, scivec_hit *hits,
                          int64_t *n_hits);
/* Papers like the positives and unlike the negatives (paper ids):
 * unit(mean(unit positives) - mean(unit negatives)), inputs left out. */
int scivec_outdir_recommend(const scivec_outdir *od, const char *const *positive, int n_positive,
                            const char *const *negative, int n_negative, int64_t k,
                            const scivec_filter *filter, scivec_hit *hits, int64_t *n_hits);

/* How free-text queries are embedded: the model, pooling, normalisation,
 * length and query adapter that metadata.json records. */
typedef struct scivec_search_params {
    const char *model;     /* NULL: the one metadata.json records          */
    int n_threads;         /* 0: all cores                                 */
    int verify_model;      /* refuse unless the weights' sha256 matches   */
    const char *precision; /* NULL: metadata.json's; another one needs    */
    int force_precision;   /* force_precision (scivec_query_model_load_as) */
} scivec_search_params;

scivec_search_params scivec_search_default_params(void);

/* Embeds text as metadata.json says into query[scivec_outdir_dim]. The
 * first call loads the model (params may be NULL: defaults) and keeps it
 * in od for later calls; a later call whose params ask for another model,
 * n_threads, precision or verify_model (fields left unset ask for nothing)
 * is refused with SCIVEC_EINVAL: open the folder again for those. */
int scivec_outdir_embed_query(scivec_outdir *od, const scivec_search_params *params,
                              const char *text, float *query);
/* scivec_outdir_embed_query, then the k closest papers. */
int scivec_outdir_search(scivec_outdir *od, const scivec_search_params *params, const char *text,
                         int64_t k, const scivec_filter *filter, scivec_hit *hits, int64_t *n_hits);
/* Notes from loading the query model ("query adapter: ...", a warning that
 * the weights differ from the ones recorded), one line each; i from 0. */
int scivec_outdir_n_notes(const scivec_outdir *od);
const char *scivec_outdir_note(const scivec_outdir *od, int i);

/* ------------------------------------------------------------------------ */
/* Queries against an output folder of `scivec embed`                         */

/* Loads the model out_dir/metadata.json records (model.path when it exists,
 * else model.name; model_ref overrides it) with n_threads threads, adds the
 * adapter it records for queries (else the papers' one), and fills *params
 * with its pooling, normalize and max_length: a text encoded with
 * scivec_model_encode_texts(*out, params, ...) lands in the papers' space.
 * note (may be NULL) gets one line on the adapter used ("" when none). A
 * model whose hidden size differs from embedding_dim is SCIVEC_EINVAL. */
int scivec_query_model_load(const char *out_dir, const char *model_ref, int n_threads,
                            scivec_model **out, scivec_encode_params *params, char *note,
                            size_t note_size);
/* The model's dense layers run in the precision metadata.json records
 * ("precision", fp32 when absent), so that queries land where the papers
 * are. scivec_query_model_load_as takes another precision ("fp32", "bf16",
 * "int8"; NULL = the folder's) only with force_precision: without it a
 * mismatch is SCIVEC_EINVAL naming both. */
int scivec_query_model_load_as(const char *out_dir, const char *model_ref, int n_threads,
                               const char *precision, int force_precision, scivec_model **out,
                               scivec_encode_params *params, char *note, size_t note_size);

/* ------------------------------------------------------------------------ */
/* Output folders: rebuilding the index (`scivec reindex`, docs/OUTPUTS.md)  */

/* Builds a new FAISS index with factory (index_factory string, "Flat" =
 * exact) from DIR/embeddings.npy and swaps it in atomically: DIR/papers.index
 * and metadata.json's "index" are replaced by rename, so a reader sees the
 * old index or the new one, never half of one. The factory is checked first
 * (a typo, or training that needs more vectors than DIR has, leaves DIR
 * untouched). n_threads > 0 caps FAISS's threads. progress (NULL = none) is
 * called with stage "training" (0 of n, then n of n) or "adding". */
int scivec_reindex(const char *dir, const char *factory, int n_threads,
                   void (*progress)(const char *stage, int64_t done, int64_t total, void *user),
                   void *user);

/* ------------------------------------------------------------------------ */
/* Output folders that grow and split: merge shards (docs/SCALE.md)         */

typedef struct scivec_merge_params {
    const char *index_factory; /* NULL: the shards' index.factory           */
    int n_threads;             /* FAISS threads; 0: all cores               */
} scivec_merge_params;

/* Joins the folders written by `scivec embed --shard K/N` (one per K, all N
 * of them, same options) into out_dir, as one `scivec embed` of the whole
 * input writes it: papers in input order, index built once. Refuses a
 * missing, duplicated or mismatched shard and a paper id found in two. */
int scivec_merge(const char *out_dir, const char *const *shard_dirs, int n_shards,
                 const scivec_merge_params *params);

typedef struct scivec_add_params {
    int n_threads; /* 0: all cores                              */
    int update;    /* also re-embed papers whose text changed   */
} scivec_add_params;

typedef struct scivec_add_result {
    int64_t n_added;   /* papers appended                           */
    int64_t n_updated; /* update: papers re-embedded (moved to the end) */
    int64_t rows_read; /* records of the input                      */
    int64_t n_skipped; /* already in the folder, duplicate, empty, malformed */
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

/* ------------------------------------------------------------------------ */
/* Map: a 2-D layout of an embed output's papers (UMAP, docs/MAP.md).        */

typedef enum scivec_map_knn {
    SCIVEC_MAP_KNN_AUTO = 0, /* map: exact up to 20,000 rows, else IVF;
                                 placing new rows: exact up to 100,000 base rows, else HNSW */
    SCIVEC_MAP_KNN_EXACT,    /* FAISS IndexFlatL2                           */
    SCIVEC_MAP_KNN_HNSW,     /* FAISS IndexHNSWFlat (M 32, efSearch 2k+16)  */
    SCIVEC_MAP_KNN_IVF,      /* k-means cells searched a cell at a time (a map's
                                 own rows, 4096 and more; else exact)        */
} scivec_map_knn;

/* Called as the work goes on: stage is "neighbours", "graph", "layout",
 * "quality" or "place"; done/total count its steps. */
typedef void (*scivec_map_progress_fn)(const char *stage, int64_t done, int64_t total, void *user);

typedef struct scivec_map_params {
    int n_neighbors;          /* 15, as umap-learn                           */
    float min_dist;           /* 0.1                                         */
    float spread;             /* 1.0                                         */
    int n_epochs;             /* 0: umap-learn's default (500, 200 above 10,000 rows) */
    float learning_rate;      /* 1.0                                         */
    float repulsion_strength; /* 1.0 (umap-learn's gamma)                 */
    int negative_sample_rate; /* 5                                       */
    uint64_t seed;            /* 42; the layout is a function of (vectors, params, n_threads) */
    int n_threads;            /* 0 = all cores; only the neighbour search and
                                  the quality figures use more than one     */
    scivec_map_knn knn;
    int quality_sample;              /* rows the quality figures are measured on (1000); 0: none */
    scivec_map_progress_fn progress; /* may be NULL */
    void *progress_user;
} scivec_map_params;

scivec_map_params scivec_map_default_params(void);

typedef struct scivec_map_stats {
    double a, b;             /* the curve 1 / (1 + a d^2b) fitted to min_dist, spread */
    int n_epochs;            /* epochs run                                  */
    int64_t n_edges;         /* edges of the fuzzy graph the layout samples */
    const char *knn;         /* "exact" | "hnsw" | "ivf" (static string)    */
    double trustworthiness;  /* at k = 10 over quality_sample rows; -1 if not measured */
    double knn_preservation; /* mean share of the 10 nearest neighbours kept in 2-D; -1 if not */
    int64_t quality_rows;    /* rows the two figures were measured on (0: none) */
    double seconds_knn, seconds_graph, seconds_layout, seconds_quality;
} scivec_map_stats;

/* Lays out n vectors [n, dim] (row-major float32) in 2-D: layout[n * 2].
 * Euclidean distances, as umap-learn's default metric (on L2-normalised rows
 * that ranks as cosine). stats may be NULL. */
int scivec_map_compute(const float *vectors, int64_t n, int dim, const scivec_map_params *params,
                       float *layout, scivec_map_stats *stats);

/* Places n_new extra vectors on an existing layout without moving it
 * (umap-learn's transform): each starts at the membership-weighted mean of
 * its n_neighbors nearest old rows, then n_epochs / 3 epochs (umap-learn's
 * 100, or 30 above 10,000 new rows, when n_epochs is 0) move only the new
 * points, at a quarter of the learning rate. layout_new[n_new * 2]. */
int scivec_map_transform(const float *vectors, int64_t n, int dim, const float *layout,
                         const float *new_vectors, int64_t n_new, const scivec_map_params *params,
                         float *layout_new);

/* Trustworthiness (Venna & Kaski, as sklearn.manifold.trustworthiness) and
 * the mean share of each row's k nearest neighbours that are also its k
 * nearest in the layout, over sample rows picked by seed (sample >= n: all). */
int scivec_map_quality(const float *vectors, int64_t n, int dim, const float *layout, int k,
                       int sample, uint64_t seed, int n_threads, double *trustworthiness,
                       double *knn_preservation);

/* `scivec map DIR`: reads DIR/embeddings.npy, lays it out, writes
 * DIR/map.npy (float32 [n, 2]) and adds a "map" member (the parameters, the
 * figures) to DIR/metadata.json, both under temporary names renamed into
 * place, the rest of metadata.json kept as it was. */
int scivec_map_dir(const char *dir, const scivec_map_params *params, scivec_map_stats *stats);


/* ------------------------------------------------------------------------ */
/* What the front ends (cli/, server/) need besides the calls above          */

/* Releases memory the library handed over with "release with scivec_free"
 * (strings, arrays). NULL is fine. */
void scivec_free(void *p);

/* Resolves model (a directory, or ORG/NAME[@REVISION]) to a local folder as
 * scivec_model_load does, into *dir (release with scivec_free). refresh = 1
 * asks the hub for the revision's current commit even when the cache holds
 * a snapshot (`scivec fetch`); $HF_HUB_OFFLINE=1 still only looks in the
 * cache. See docs/HUB.md. */
int scivec_model_resolve(const char *model, int refresh, char **dir);

/* Called while the hub downloads a file: bytes done of total (-1: unknown). */
typedef void (*scivec_hub_progress_fn)(void *user, const char *file, int64_t done, int64_t total);
/* Installs fn (NULL: none) for every later download of the process. Not
 * thread-safe: call it before loading models. */
void scivec_hub_set_progress(scivec_hub_progress_fn fn, void *user);

/* The forward's kernels ("avx512", "avx2", ...) and the BLIS
 * configuration its products run with, and why that one (reason may be
 * NULL). Static strings. */
const char *scivec_forward_kernels(void);
const char *scivec_blas_arch(const char **reason);

/* Tokens packed into one forward (default SCIVEC_DEFAULT_BATCH_TOKENS); a
 * longer sequence still runs, alone. SCIVEC_EINVAL when n_tokens < 1. */
#define SCIVEC_DEFAULT_BATCH_TOKENS 8192
int scivec_model_set_batch_tokens(scivec_model *model, int n_tokens);

/* Tokenizes text as scivec_model_encode_texts would with params (its
 * prompt, max_length and truncate_error), into *out (release with
 * scivec_encoding_clear). For callers that batch token sequences
 * themselves (scivec_model_encode_tokens). */
int scivec_model_tokenize(const scivec_model *model, const scivec_encode_params *params,
                          const char *text, size_t text_len, scivec_encoding *out);

/* x / max(||x||, 1e-12) in place, the norm summed in double (as
 * torch.nn.functional.normalize): the one normalisation every vector of
 * scivec gets. */
void scivec_l2_normalize(float *x, int n);

/* The rule for a free-text query: SCIVEC_EINVAL ("the query is empty ...")
 * unless text holds a character the tokenizer keeps. */
int scivec_query_text_check(const char *text, size_t len);

/* JSON Lines of texts, {"text": ...} or {"text": ..., "text_pair": ...}
 * (what `scivec tokenize` and `scivec encode` read). Blank lines are
 * skipped. */
typedef struct scivec_text_reader scivec_text_reader;
/* path NULL or "-": standard input. */
int scivec_text_reader_open(const char *path, scivec_text_reader **out);
/* 1 with *text (and *pair, NULL when absent) valid until the next call, 0
 * at the end, or a negative status whose message names the file and line. */
int scivec_text_reader_next(scivec_text_reader *r, const char **text, const char **pair);
/* The line of the last record read (from 1), and the path shown in
 * messages ("<stdin>" for standard input). */
long scivec_text_reader_line(const scivec_text_reader *r);
const char *scivec_text_reader_path(const scivec_text_reader *r);
void scivec_text_reader_free(scivec_text_reader *r);

/* Encodes every text of the JSON Lines file input (NULL: standard input)
 * into out_path, a float32 .npy [n, scivec_model_dim]: row i = record i.
 * Memory is bounded by one chunk of texts whatever the input size. The rows
 * go to out_path.tmp, renamed to out_path only when everything succeeded
 * (removed otherwise). *n_rows gets the rows written, stats (may be NULL)
 * is added to. Errors name the input's lines. */
int scivec_model_encode_jsonl(scivec_model *model, const scivec_encode_params *params,
                              const char *input, const char *out_path, int64_t *n_rows,
                              scivec_encode_stats *stats);

/* A second handle on an open folder for another thread: it shares od's
 * vectors, index and metadata (read-only) and has its own papers.db
 * connection and its own scivec_outdir_set_search. Free it with
 * scivec_outdir_free before od. */
int scivec_outdir_open_reader(const scivec_outdir *od, scivec_outdir **out);

/* What metadata.json records: the model as given to embed, its pooling
 * name, whether rows are L2-normalised, the max_length (0: absent) and the
 * input column the papers' text came from ("abstract" when absent). NULL
 * for a string metadata.json lacks; owned by od. */
const char *scivec_outdir_model_name(const scivec_outdir *od);
const char *scivec_outdir_pooling(const scivec_outdir *od);
int scivec_outdir_normalize(const scivec_outdir *od);
int scivec_outdir_max_length(const scivec_outdir *od);
const char *scivec_outdir_text_column(const scivec_outdir *od);
/* The precision the papers were embedded in ("fp32", "bf16", "int8"; "fp32"
 * for folders made before it was recorded); owned by od. */
const char *scivec_outdir_precision(const scivec_outdir *od);

/* One input column kept for the paper of row (papers.db paper_columns)
 * into *value (release with scivec_free), NULL when the paper has none. */
int scivec_outdir_paper_column(const scivec_outdir *od, int64_t row, const char *name,
                               char **value);
/* Calls fn for every kept column of row's paper, by name; the strings are
 * valid during the call. */
int scivec_outdir_paper_columns(const scivec_outdir *od, int64_t row,
                                void (*fn)(const char *name, const char *value, void *user),
                                void *user);
/* Calls fn for every paper in row order (rows 0, 1, ... without a gap,
 * else SCIVEC_EFORMAT); the paper's strings are valid during the call. A
 * non-zero return of fn stops and is returned. */
int scivec_outdir_each_paper(const scivec_outdir *od,
                             int (*fn)(int64_t row, const scivec_paper *paper, void *user),
                             void *user);

/* DIR/map.npy (scivec_map_dir) as float32 [*n_rows, *n_cols] into *xy
 * (release with scivec_free); SCIVEC_ENOTFOUND when there is none. */
int scivec_map_read(const char *dir, float **xy, int64_t *n_rows, int64_t *n_cols);
/* DIR/metadata.json's "map" member as the file holds it now, printed
 * compactly into *json (release with scivec_free); "null" when absent. */
int scivec_map_record(const char *dir, char **json);

#ifdef __cplusplus
}
#endif

#endif /* SCIVEC_H */
