/*
 * embed.h - the `scivec embed` pipeline as a library call: papers (CSV or
 * JSON Lines) -> embeddings.npy, papers.index, papers.db, metadata.json in an
 * output directory (docs/OUTPUTS.md). The CLI only parses flags and prints.
 *
 * Crash safety: rows stream into DIR/.scivec-work/embeddings.npy.partial,
 * flushed after every batch together with a checkpoint (rows done + the
 * options). Nothing appears under a final name until everything succeeded.
 * An interrupted run continues with resume = 1 and ends byte-identical to an
 * uninterrupted one (batches are cut at the same papers). One run at a time
 * writes into a DIR: it holds an flock on the directory itself.
 */
#ifndef SV_EMBED_H
#define SV_EMBED_H

#include <signal.h>
#include <stdint.h>

#include "nn/precision_check.h"
#include "scivec.h"

typedef enum sv_recipe {
    SV_RECIPE_ABSTRACT,       /* the abstract                              */
    SV_RECIPE_TITLE_ABSTRACT, /* title + " " + abstract, one sequence       */
    SV_RECIPE_SPECTER2,       /* title + "[SEP]" + abstract; CLS; 512 tokens */
} sv_recipe;


typedef struct sv_embed_params {
    const char *input; /* CSV or JSONL path                        */
    const char *model; /* directory or ORG/NAME in the HF cache    */
    const char *out_dir;
    sv_recipe recipe;
    scivec_pooling pooling;    /* DEFAULT: the recipe's, else the model's  */
    int normalize;             /* L2-normalise rows (default 1)            */
    int max_length;            /* <= 0: the recipe's / model's             */
    int truncate_error;        /* refuse over-long texts instead of cutting */
    const char *id_column;     /* NULL: paper_id, else id                  */
    const char *text_column;   /* NULL: abstract                           */
    const char *title_column;  /* NULL: title                              */
    const char *index_factory; /* NULL: "Flat" (exact inner product)       */
    int batch_tokens;          /* papers per batch ~ this many tokens; <= 0: 8192 */
    int n_threads;             /* 0: all cores                             */
    int strict;                /* a skipped row is an error                */
    int resume;                /* continue DIR/.scivec-work                */
    int restart;               /* discard DIR/.scivec-work and start over  */
    int count_total;           /* pre-count records for progress totals    */
    /* Dense layers in bf16 / int8 (docs/MODEL.md, "Precision"): first the
     * first SV_PRECISION_SAMPLE kept papers are embedded in fp32 and in it;
     * below min_cosine (mean and min) or min_overlap (top-10 neighbours) the
     * run stops with the figures, unless force_precision. */
    scivec_precision precision;
    int force_precision;
    double precision_min_cosine;  /* default SV_PRECISION_MIN_COSINE   */
    double precision_min_overlap; /* default SV_PRECISION_MIN_OVERLAP  */
    /* --shard K/N: only the papers whose id hashes to shard K of N
     * (src/shard.h); shard_n 0 = all. Recorded in metadata.json for merge. */
    int shard_k, shard_n;
    /* papers.db keeps a copy of each vector (BLOB) too; 0: NULL there, the
     * vectors are in embeddings.npy only. Recorded as "db_vectors". */
    int db_vectors;
    /* For `scivec add` (src/add.c): a paper that skip_id says is there
     * (returns 1; it sees the text the recipe made) is skipped as a duplicate
     * of it; record_base is added to each paper's record number (its place
     * in the input); a run whose fingerprint differs from expect_fingerprint
     * is refused before any embedding, the message starting with
     * expect_context. */
    int (*skip_id)(const char *paper_id, const char *text, void *skip_user);
    void *skip_user;
    int64_t record_base;
    const struct cJSON *expect_fingerprint;
    const char *expect_context;
    /* AdapterHub bottleneck adapters (folder or ORG/NAME; docs/ADAPTERS.md).
     * adapter: the papers go through it. NULL with recipe specter2 and a
     * base model of the family table (family.h): the family's papers
     * adapter (allenai/specter2, proximity), downloaded when missing;
     * "none" = no adapter. query_adapter: checked and recorded in
     * metadata.json for `scivec search`; NULL with the family's papers
     * adapter: the family's queries adapter (allenai/specter2_adhoc_query). */
    const char *adapter;
    const char *query_adapter;
    /* sentence-transformers prompts (config_sentence_transformers.json) put
     * before each paper's text / recorded for queries: NULL = the model's
     * default prompt (query_prompt: prompt's), "" = none. */
    const char *prompt;
    const char *query_prompt;
    /* When non-NULL and nonzero (a signal handler sets it), the run stops at
     * the next batch boundary, after its checkpoint: result.interrupted is
     * set and --resume continues it. */
    const volatile sig_atomic_t *stop;

    /* Called with records read so far (skipped ones included) and the total
     * (<= 0 when unknown), after every batch and at the end. */
    void (*progress)(int64_t done, int64_t total, void *user);
    /* Called while the FAISS index is built: stage "training" (0 of n, then
     * n of n) or "adding" (rows added so far of n). NULL = not called. */
    void (*index_progress)(const char *stage, int64_t done, int64_t total, void *user);
    /* Called once per skipped record, with a one-line reason. */
    void (*warn)(const char *message, void *user);
    void *user;
} sv_embed_params;

sv_embed_params sv_embed_default_params(void);

typedef struct sv_embed_result {
    int64_t rows_read;
    int64_t n_papers; /* kept = rows in every output              */
    int64_t skipped_empty_text, skipped_malformed, skipped_duplicate_id;
    int64_t skipped_wrong_type; /* JSONL: a used value not a string         */
    int64_t n_utf8_repaired;    /* papers stored with invalid UTF-8 or NULs
                                   repaired (U+FFFD, NULs dropped) in papers.db */
    int64_t n_truncated;
    int64_t n_invalid_utf8; /* texts with invalid UTF-8 (replaced by U+FFFD,
                                   as Python's errors="replace"); this run only */
    int64_t resumed_rows;   /* rows already done by the interrupted run */
    int dim;
    int max_length;
    char pooling[16];
    char pooling_reason[128];
    char index_type[64];
    char index_search[256];  /* the search parameter chosen and its recall, "" = none */
    char adapter[128];       /* the papers' adapter name, "" = none       */
    char adapter_note[256];  /* why that adapter (or none) was used      */
    char query_adapter[128]; /* recorded for queries, "" = none           */
    int interrupted;         /* stopped by params.stop; resumable        */
    sv_precision_quality precision_quality; /* n = 0: fp32, not measured    */
} sv_embed_result;

int sv_embed_run(const sv_embed_params *params, sv_embed_result *result);


#endif /* SV_EMBED_H */
