/*
 * metadata.c - categories and years from paper fields, SHA-256 of a file
 * (OpenSSL), and metadata.json.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "common.h"
#include "metadata.h"
#include "precision_check.h"

/* ------------------------------------------------------------------------ */
/* Categories                                                                */

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

/* Appends s[0..n) to out (separated by one space). out has room: the result
 * is never longer than the input. */
static void append_word(char *out, size_t *out_len, const char *s, size_t n) {
    if (!n) return;
    if (*out_len) out[(*out_len)++] = ' ';
    memcpy(out + *out_len, s, n);
    *out_len += n;
}

int sv_normalize_categories(const char *text, size_t len, char **out) {
    *out = NULL;
    char *result = malloc(len + 1);
    if (!result) return sv_error(SCIVEC_ENOMEM, "out of memory");
    size_t n = 0, i = 0;
    while (i < len && is_space(text[i])) i++;
    if (i < len && text[i] == '[') {
        /* ['a', "b"]: the quoted items; a category never holds a quote, so
         * an escaped quote only needs skipping. Unquoted items are words. */
        i++;
        while (i < len && text[i] != ']') {
            char c = text[i];
            if (c == '\'' || c == '"') {
                /* The item as Python reads it: a repr() writes a line break
                 * inside an item as the two characters \n (arXiv's long ACM
                 * class lists), which separates words like a space. */
                size_t item_len = 0;
                size_t start = ++i;
                while (i < len && text[i] != c) i += text[i] == '\\' ? 2 : 1;
                size_t end = i < len ? i : len;
                char *decoded = malloc(end - start + 1);
                if (!decoded) { free(result); return sv_error(SCIVEC_ENOMEM, "out of memory"); }
                for (size_t j = start; j < end; j++) {
                    char ch = text[j];
                    if (ch == '\\' && j + 1 < end) {
                        char e = text[++j];
                        ch = e == 'n' || e == 't' || e == 'r' || e == 'f' || e == 'v' ? ' ' : e;
                    }
                    decoded[item_len++] = ch;
                }
                /* Items may themselves hold spaces ("cs.AI cs.CL"). */
                for (size_t j = 0; j < item_len;) {
                    while (j < item_len && is_space(decoded[j])) j++;
                    size_t w = j;
                    while (j < item_len && !is_space(decoded[j])) j++;
                    append_word(result, &n, decoded + w, j - w);
                }
                free(decoded);
                i++;
            } else if (c == ',' || is_space(c)) {
                i++;
            } else {
                size_t start = i;
                while (i < len && text[i] != ',' && text[i] != ']' && !is_space(text[i])) i++;
                append_word(result, &n, text + start, i - start);
            }
        }
    } else {
        while (i < len) {
            while (i < len && is_space(text[i])) i++;
            size_t start = i;
            while (i < len && !is_space(text[i])) i++;
            append_word(result, &n, text + start, i - start);
        }
    }
    if (n == 0) { free(result); return SCIVEC_OK; }
    result[n] = '\0';
    *out = result;
    return SCIVEC_OK;
}

/* ------------------------------------------------------------------------ */
/* Years                                                                     */

static int is_digit(char c) { return c >= '0' && c <= '9'; }

int sv_year_in_text(const char *text, size_t len) {
    for (size_t i = 0; i < len;) {
        if (!is_digit(text[i])) { i++; continue; }
        size_t start = i;
        while (i < len && is_digit(text[i])) i++;
        if (i - start == 4) {
            int year = (text[start] - '0') * 1000 + (text[start + 1] - '0') * 100 +
                       (text[start + 2] - '0') * 10 + (text[start + 3] - '0');
            if (year >= 1000 && year <= 2999) return year;
        }
    }
    return 0;
}

int sv_year_from_versions(const char *json, size_t len) {
    cJSON *versions = cJSON_ParseWithLength(json, len);
    int year = 0;
    const cJSON *first = cJSON_IsArray(versions) ? cJSON_GetArrayItem(versions, 0) : NULL;
    const cJSON *created = cJSON_IsObject(first) ? cJSON_GetObjectItemCaseSensitive(first, "created") : NULL;
    if (cJSON_IsString(created) && created->valuestring)
        year = sv_year_in_text(created->valuestring, strlen(created->valuestring));
    cJSON_Delete(versions);
    return year;
}

static int two_digits(const char *s) { return (s[0] - '0') * 10 + (s[1] - '0'); }

static int all_digits(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!is_digit(s[i])) return 0;
    return 1;
}

int sv_year_from_arxiv_id(const char *id, size_t len) {
    if (len >= 6 && !strncmp(id, "arXiv:", 6)) { id += 6; len -= 6; }
    /* Drop a version suffix "v12". */
    size_t end = len;
    while (end > 0 && is_digit(id[end - 1])) end--;
    if (end > 0 && end < len && id[end - 1] == 'v') len = end - 1;
    /* New style: YYMM.NNNN (2007-2014) or YYMM.NNNNN (2015 on). */
    if ((len == 9 || len == 10) && id[4] == '.' && all_digits(id, 4) && all_digits(id + 5, len - 5)) {
        int yy = two_digits(id), mm = two_digits(id + 2);
        if (yy >= 7 && mm >= 1 && mm <= 12) return 2000 + yy;
        return 0;
    }
    /* Old style: archive[.SUB]/YYMMNNN. */
    const char *slash = memchr(id, '/', len);
    if (slash && slash > id && id + len - (slash + 1) == 7 && all_digits(slash + 1, 7)) {
        int yy = two_digits(slash + 1), mm = two_digits(slash + 3);
        if (mm < 1 || mm > 12) return 0;
        return yy >= 91 ? 1900 + yy : 2000 + yy;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* SHA-256: OpenSSL's, which runs the CPU's SHA extensions (a 440 MB weight  */
/* file hashes in well under a second).                                      */

void sv_sha256(const void *data, size_t len, uint8_t digest[32]) {
    unsigned int n = 32;
    if (!EVP_Digest(data, len, digest, &n, EVP_sha256(), NULL)) memset(digest, 0, 32);
}

int sv_sha256_file(const char *path, char hex[65]) {
    hex[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (!f) return sv_error(errno == ENOENT ? SCIVEC_ENOTFOUND : SCIVEC_EIO, "%s: %s", path, strerror(errno));
    enum { CHUNK = 1 << 20 };
    uint8_t *buf = malloc(CHUNK);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int rc = SCIVEC_OK;
    if (!buf || !ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
        rc = sv_error(SCIVEC_ENOMEM, "%s: cannot start a SHA-256 (out of memory)", path);
        goto done;
    }
    size_t got;
    while ((got = fread(buf, 1, CHUNK, f)) > 0)
        if (!EVP_DigestUpdate(ctx, buf, got)) { rc = sv_error(SCIVEC_EIO, "%s: SHA-256 failed", path); goto done; }
    if (ferror(f)) { rc = sv_error(SCIVEC_EIO, "%s: read error", path); goto done; }
    uint8_t digest[32];
    unsigned int n = 0;
    if (!EVP_DigestFinal_ex(ctx, digest, &n) || n != 32) { rc = sv_error(SCIVEC_EIO, "%s: SHA-256 failed", path); goto done; }
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", digest[i]);
done:
    EVP_MD_CTX_free(ctx);
    free(buf);
    fclose(f);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* metadata.json                                                             */

static cJSON *string_or_null(const char *s) { return s ? cJSON_CreateString(s) : cJSON_CreateNull(); }

void sv_metadata_add_index_search(cJSON *index, const char *param, int value,
                                  double recall_at_10, int64_t n_sample) {
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
    cJSON *input = cJSON_CreateObject(), *model = cJSON_CreateObject(), *pooling = cJSON_CreateObject();
    cJSON *skipped = cJSON_CreateObject(), *index = cJSON_CreateObject(), *files = cJSON_CreateObject();
    if (!root || !input || !model || !pooling || !skipped || !index || !files) {
        cJSON_Delete(root); cJSON_Delete(input); cJSON_Delete(model);
        cJSON_Delete(pooling); cJSON_Delete(skipped); cJSON_Delete(index); cJSON_Delete(files);
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
    if (!adapters) { cJSON_Delete(root); return NULL; }
    const char *refs[2] = {m->paper_adapter_ref, m->query_adapter_ref};
    const char *paths[2] = {m->paper_adapter_path, m->query_adapter_path};
    const char *names[2] = {m->paper_adapter_name, m->query_adapter_name};
    const char *roles[2] = {"papers", "queries"};
    for (int i = 0; i < 2; i++) {
        cJSON *a = paths[i] ? cJSON_CreateObject() : cJSON_CreateNull();
        if (!a) { cJSON_Delete(root); return NULL; }
        if (paths[i]) {
            cJSON_AddItemToObject(a, "ref", string_or_null(refs[i]));
            cJSON_AddItemToObject(a, "path", string_or_null(paths[i]));
            cJSON_AddItemToObject(a, "name", string_or_null(names[i]));
        }
        cJSON_AddItemToObject(adapters, roles[i], a);
    }
    cJSON_AddItemToObject(adapters, "choice", string_or_null(m->adapter_choice));
    cJSON *prompts = cJSON_AddObjectToObject(root, "prompts");
    if (!prompts) { cJSON_Delete(root); return NULL; }
    const char *prompt_names[2] = {m->paper_prompt, m->query_prompt};
    const char *prompt_texts[2] = {m->paper_prompt_text, m->query_prompt_text};
    for (int i = 0; i < 2; i++) {
        cJSON *pr = prompt_names[i] ? cJSON_CreateObject() : cJSON_CreateNull();
        if (!pr) { cJSON_Delete(root); return NULL; }
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
                            (double)(m->skipped_empty_text + m->skipped_malformed + m->skipped_duplicate_id +
                                     m->skipped_wrong_type));
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
        if (!shard) { cJSON_Delete(root); return NULL; }
        cJSON_AddNumberToObject(shard, "k", m->shard_k);
        cJSON_AddNumberToObject(shard, "n", m->shard_n);
    }
    if (m->fingerprint) {
        cJSON *fingerprint = cJSON_Duplicate(m->fingerprint, 1);
        if (!fingerprint) { cJSON_Delete(root); return NULL; }
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

const char *sv_json_string(const cJSON *obj, const char *key) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

const char *sv_json_name(const cJSON *obj, const char *key) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (cJSON_IsObject(item)) item = cJSON_GetObjectItemCaseSensitive(item, "name");
    return cJSON_IsString(item) ? item->valuestring : NULL;
}
