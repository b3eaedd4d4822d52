/*
 * metadata.h - the metadata.json that `scivec embed` writes (metadata.c;
 * docs/OUTPUTS.md).
 */
#ifndef SV_METADATA_H
#define SV_METADATA_H

#include <stddef.h>
#include <stdint.h>

/* Everything metadata.json records. Strings may be NULL (written as null). */
typedef struct sv_metadata {
    const char *input_path, *input_format;
    const char *id_column, *text_column, *title_column;
    int64_t n_papers;
    int embedding_dim;
    const char *model_name, *model_path, *weights_path;
    const char *weights_sha256;
    const char *recipe;
    const char *pooling, *pooling_reason;
    int normalize;
    int max_length;
    int truncate_error;
    int64_t n_truncated;
    int64_t rows_read;
    int64_t skipped_empty_text, skipped_malformed, skipped_duplicate_id;
    int64_t skipped_wrong_type;
    int64_t n_utf8_repaired; /* papers whose texts papers.db holds repaired */
    const char *index_factory, *index_type;
    /* the search parameter chosen at build time ("nprobe" / "efSearch";
     * NULL or "": none) and the recall@10 it reached on index_recall_sample queries */
    const char *index_search_param;
    int index_search_value;
    double index_recall_at_10;
    int64_t index_recall_sample;
    /* bottleneck adapters: as given (ref), resolved folder, name in the
     * weights; NULL = none. search applies the query one, else the papers'. */
    const char *paper_adapter_ref, *paper_adapter_path, *paper_adapter_name;
    const char *query_adapter_ref, *query_adapter_path, *query_adapter_name;
    const char *adapter_choice; /* why those adapters (or none), e.g. "none (--adapter none)" */
    /* sentence-transformers prompts (name, text), NULL = none */
    const char *paper_prompt, *paper_prompt_text, *query_prompt, *query_prompt_text;
    int64_t index_ntotal;
    int shard_k, shard_n; /* --shard K/N; shard_n 0: not a shard */
    int db_vectors;       /* papers.db holds the vectors too (BLOBs) */
    /* what decides a vector (fingerprint.h); NULL = not written */
    const struct cJSON *fingerprint;
    /* the dense layers' precision; for bf16 / int8 the quality check on the
     * user's papers (NULL: not measured) and its thresholds */
    const char *precision;
    const struct sv_precision_quality *precision_quality;
    double precision_min_cosine, precision_min_overlap;
    int precision_forced;
} sv_metadata;

/* Adds "search_params" ({"nprobe": 8}, {} for none) and, when a parameter
 * was chosen, "recall_at_10", "recall_sample", "recall_target" to an
 * "index" object (shared by embed and reindex). */
struct cJSON;
void sv_metadata_add_index_search(struct cJSON *index, const char *param, int value,
                                  double recall_at_10, int64_t n_sample);

/* Writes metadata.json to path (with date_generated = now, UTC), fsynced. */
int sv_metadata_write(const char *path, const sv_metadata *m);
/* Writes a metadata.json built elsewhere (merge, add), fsynced. */
int sv_metadata_write_json(const char *path, const struct cJSON *root);

#endif /* SV_METADATA_H */
