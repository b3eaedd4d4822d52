/*
 * metadata.c - writes metadata.json: what an output folder holds and how it
 * was made.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/error.h"
#include "nn/precision_check.h"
#include "outputs/metadata.h"

/* ------------------------------------------------------------------------ */
/* metadata.json                                                             */

static cJSON *string_or_null(const char *s) {
    return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

void sv_metadata_add_index_search(cJSON *index, const char *param, int value, double recall_at_10,
                                  int64_t n_sample) {
    cJSON *search = cJSON_AddObjectToObject(index, "search_params");
    if (!search || !param || !*param) return;
    cJSON_AddNumberToObject(search, param, value);
    /* three decimals: what was measured, not float noise */
    cJSON_AddNumberToObject(index, "recall_at_10", floor(recall_at_10 * 1000 + 0.5) / 1000);
    cJSON_AddNumberToObject(index, "recall_sample", (double)n_sample);
    cJSON_AddNumberToObject(index, "recall_target", 0.95);
}

static cJSON *build_metadata(const sv_metadata *m) {
    char date[32];
    time_t now = time(NULL);
    struct tm utc;
    gmtime_r(&now, &utc);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &utc);

    cJSON *root = cJSON_CreateObject();
    cJSON *input = cJSON_CreateObject(), *model = cJSON_CreateObject(),
          *pooling = cJSON_CreateObject();
    cJSON *skipped = cJSON_CreateObject(), *index = cJSON_CreateObject(),
          *files = cJSON_CreateObject();
    if (!root || !input || !model || !pooling || !skipped || !index || !files) {
        cJSON_Delete(root);
        cJSON_Delete(input);
        cJSON_Delete(model);
        cJSON_Delete(pooling);
        cJSON_Delete(skipped);
        cJSON_Delete(index);
        cJSON_Delete(files);
        return NULL;
    }
    cJSON_AddNumberToObject(root, "format_version", 1);
    cJSON_AddStringToObject(root, "scivec_version", SCIVEC_VERSION);
    cJSON_AddStringToObject(root, "date_generated", date);

    cJSON_AddItemToObject(input, "path", string_or_null(m->input_path));
    cJSON_AddItemToObject(input, "format", string_or_null(m->input_format));
    cJSON_AddItemToObject(input, "id_column", string_or_null(m->id_column));
    cJSON_AddItemToObject(input, "text_column", string_or_null(m->text_column));
    cJSON_AddItemToObject(input, "title_column", string_or_null(m->title_column));
    cJSON_AddItemToObject(root, "input", input);

    cJSON_AddNumberToObject(root, "n_papers", (double)m->n_papers);
    cJSON_AddNumberToObject(root, "embedding_dim", m->embedding_dim);

    cJSON_AddItemToObject(model, "name", string_or_null(m->model_name));
    cJSON_AddItemToObject(model, "path", string_or_null(m->model_path));
    cJSON_AddItemToObject(model, "weights", string_or_null(m->weights_path));
    cJSON_AddItemToObject(model, "sha256", string_or_null(m->weights_sha256));
    cJSON_AddItemToObject(root, "model", model);

    cJSON_AddItemToObject(root, "recipe", string_or_null(m->recipe));
    cJSON_AddItemToObject(root, "text", string_or_null(m->recipe));
    cJSON_AddItemToObject(pooling, "name", string_or_null(m->pooling));
    cJSON_AddItemToObject(pooling, "reason", string_or_null(m->pooling_reason));
    cJSON_AddItemToObject(root, "pooling", pooling);
    cJSON *adapters = cJSON_AddObjectToObject(root, "adapters");
    if (!adapters) {
        cJSON_Delete(root);
        return NULL;
    }
    const char *refs[2] = {m->paper_adapter_ref, m->query_adapter_ref};
    const char *paths[2] = {m->paper_adapter_path, m->query_adapter_path};
    const char *names[2] = {m->paper_adapter_name, m->query_adapter_name};
    const char *roles[2] = {"papers", "queries"};
    for (int i = 0; i < 2; i++) {
        cJSON *a = paths[i] ? cJSON_CreateObject() : cJSON_CreateNull();
        if (!a) {
            cJSON_Delete(root);
            return NULL;
        }
        if (paths[i]) {
            cJSON_AddItemToObject(a, "ref", string_or_null(refs[i]));
            cJSON_AddItemToObject(a, "path", string_or_null(paths[i]));
            cJSON_AddItemToObject(a, "name", string_or_null(names[i]));
        }
        cJSON_AddItemToObject(adapters, roles[i], a);
    }
    cJSON_AddItemToObject(adapters, "choice", string_or_null(m->adapter_choice));
    cJSON *prompts = cJSON_AddObjectToObject(root, "prompts");
    if (!prompts) {
        cJSON_Delete(root);
        return NULL;
    }
    const char *prompt_names[2] = {m->paper_prompt, m->query_prompt};
    const char *prompt_texts[2] = {m->paper_prompt_text, m->query_prompt_text};
    for (int i = 0; i < 2; i++) {
        cJSON *pr = prompt_names[i] ? cJSON_CreateObject() : cJSON_CreateNull();
        if (!pr) {
            cJSON_Delete(root);
            return NULL;
        }
        if (prompt_names[i]) {
            cJSON_AddItemToObject(pr, "name", string_or_null(prompt_names[i]));
            cJSON_AddItemToObject(pr, "text", string_or_null(prompt_texts[i]));
        }
        cJSON_AddItemToObject(prompts, roles[i], pr);
    }
    cJSON_AddBoolToObject(root, "normalize", m->normalize);
    cJSON_AddNumberToObject(root, "max_length", m->max_length);
    cJSON_AddStringToObject(root, "truncate", m->truncate_error ? "error" : "cut");
    cJSON_AddNumberToObject(root, "n_truncated", (double)m->n_truncated);
    cJSON_AddNumberToObject(root, "rows_read", (double)m->rows_read);
    cJSON_AddNumberToObject(root, "n_skipped",
                            (double)(m->skipped_empty_text + m->skipped_malformed +
                                     m->skipped_duplicate_id + m->skipped_wrong_type));
    cJSON_AddNumberToObject(skipped, "empty_text", (double)m->skipped_empty_text);
    cJSON_AddNumberToObject(skipped, "malformed", (double)m->skipped_malformed);
    cJSON_AddNumberToObject(skipped, "duplicate_id", (double)m->skipped_duplicate_id);
    cJSON_AddNumberToObject(skipped, "wrong_type", (double)m->skipped_wrong_type);
    cJSON_AddNumberToObject(root, "n_utf8_repaired", (double)m->n_utf8_repaired);
    cJSON_AddItemToObject(root, "skipped", skipped);

    cJSON_AddItemToObject(index, "factory", string_or_null(m->index_factory));
    cJSON_AddItemToObject(index, "type", string_or_null(m->index_type));
    cJSON_AddStringToObject(index, "metric", "inner_product");
    cJSON_AddBoolToObject(index, "normalized", 1);
    cJSON_AddNumberToObject(index, "ntotal", (double)m->index_ntotal);
    sv_metadata_add_index_search(index, m->index_search_param, m->index_search_value,
                                 m->index_recall_at_10, m->index_recall_sample);
    cJSON_AddItemToObject(root, "index", index);
    cJSON_AddItemToObject(root, "precision", string_or_null(m->precision ? m->precision : "fp32"));
    if (m->precision_quality) {
        /* fp32 vs this precision on the first papers (docs/MODEL.md) */
        const sv_precision_quality *q = m->precision_quality;
        cJSON *check = cJSON_AddObjectToObject(root, "precision_check");
        cJSON_AddNumberToObject(check, "n_papers", q->n);
        cJSON_AddNumberToObject(check, "mean_cosine", q->mean_cosine);
        cJSON_AddNumberToObject(check, "min_cosine", q->min_cosine);
        cJSON_AddNumberToObject(check, "top_k", SV_PRECISION_TOP_K);
        cJSON_AddNumberToObject(check, "top_k_overlap", q->top_k_overlap);
        cJSON_AddNumberToObject(check, "min_cosine_threshold", m->precision_min_cosine);
        cJSON_AddNumberToObject(check, "min_overlap_threshold", m->precision_min_overlap);
        cJSON_AddBoolToObject(check, "forced", m->precision_forced);
    }

    cJSON_AddStringToObject(files, "embeddings", "embeddings.npy");
    cJSON_AddStringToObject(files, "index", "papers.index");
    cJSON_AddStringToObject(files, "db", "papers.db");
    cJSON_AddBoolToObject(root, "db_vectors", m->db_vectors);
    cJSON_AddItemToObject(root, "files", files);
    if (m->shard_n) {
        cJSON *shard = cJSON_AddObjectToObject(root, "shard");
        if (!shard) {
            cJSON_Delete(root);
            return NULL;
        }
        cJSON_AddNumberToObject(shard, "k", m->shard_k);
        cJSON_AddNumberToObject(shard, "n", m->shard_n);
    }
    if (m->fingerprint) {
        cJSON *fingerprint = cJSON_Duplicate(m->fingerprint, 1);
        if (!fingerprint) {
            cJSON_Delete(root);
            return NULL;
        }
        cJSON_AddItemToObject(root, "fingerprint", fingerprint);
    }
    return root;
}

int sv_metadata_write(const char *path, const sv_metadata *m) {
    cJSON *root = build_metadata(m);
    if (!root) return sv_error(SCIVEC_ENOMEM, "%s: out of memory", path);
    int rc = sv_metadata_write_json(path, root);
    cJSON_Delete(root);
    return rc;
}

int sv_metadata_write_json(const char *path, const cJSON *root) {
    char *text = cJSON_Print(root);
    if (!text) return sv_error(SCIVEC_ENOMEM, "%s: out of memory", path);
    FILE *f = fopen(path, "wb");
    if (!f) {
        cJSON_free(text);
        return sv_error(SCIVEC_EIO, "%s: %s", path, strerror(errno));
    }
    size_t len = strlen(text);
    int ok = fwrite(text, 1, len, f) == len && fputc('\n', f) != EOF && fflush(f) == 0 &&
             fsync(fileno(f)) == 0;
    ok = (fclose(f) == 0) && ok;
    cJSON_free(text);
    if (!ok) return sv_error(SCIVEC_EIO, "%s: write failed: %s", path, strerror(errno));
    return SCIVEC_OK;
}
