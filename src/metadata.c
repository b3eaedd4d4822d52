/*
 * metadata.c - categories and years from paper fields, SHA-256 of the weight
 * file, and metadata.json.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "common.h"
#include "metadata.h"

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
                size_t start = ++i;
                while (i < len && text[i] != c) i += text[i] == '\\' ? 2 : 1;
                size_t end = i < len ? i : len;
                /* Items may themselves hold spaces ("cs.AI cs.CL"). */
                for (size_t j = start; j < end;) {
                    while (j < end && is_space(text[j])) j++;
                    size_t w = j;
                    while (j < end && !is_space(text[j])) j++;
                    append_word(result, &n, text + w, j - w);
                }
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
/* SHA-256 (FIPS 180-4): no hashing library is linked, and it is short.      */

typedef struct {
    uint32_t state[8];
    uint64_t n_bytes;
    uint8_t  block[64];
    size_t   block_len;
} sha256_ctx;

static const uint32_t sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void sha256_block(uint32_t state[8], const uint8_t *p) {
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + sha256_k[i] + w[i];
        uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g; g = f; f = e; e = d + t1;
        d = c; c = b; b = a; a = t1 + t2;
    }
    state[0] += a; state[1] += b; state[2] += c; state[3] += d;
    state[4] += e; state[5] += f; state[6] += g; state[7] += h;
}

static void sha256_init(sha256_ctx *ctx) {
    static const uint32_t init[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(ctx->state, init, sizeof init);
    ctx->n_bytes = 0;
    ctx->block_len = 0;
}

static void sha256_update(sha256_ctx *ctx, const uint8_t *p, size_t n) {
    ctx->n_bytes += n;
    while (n) {
        if (ctx->block_len == 0 && n >= 64) {
            sha256_block(ctx->state, p);
            p += 64;
            n -= 64;
            continue;
        }
        size_t take = 64 - ctx->block_len < n ? 64 - ctx->block_len : n;
        memcpy(ctx->block + ctx->block_len, p, take);
        ctx->block_len += take;
        p += take;
        n -= take;
        if (ctx->block_len == 64) {
            sha256_block(ctx->state, ctx->block);
            ctx->block_len = 0;
        }
    }
}

static void sha256_final(sha256_ctx *ctx, uint8_t digest[32]) {
    uint64_t bits = ctx->n_bytes * 8;
    uint8_t pad[72] = {0x80};
    size_t pad_len = (ctx->block_len < 56 ? 56 : 120) - ctx->block_len;
    for (int i = 0; i < 8; i++) pad[pad_len + i] = (uint8_t)(bits >> (56 - 8 * i));
    sha256_update(ctx, pad, pad_len + 8);
    for (int i = 0; i < 8; i++) {
        digest[4 * i] = (uint8_t)(ctx->state[i] >> 24);
        digest[4 * i + 1] = (uint8_t)(ctx->state[i] >> 16);
        digest[4 * i + 2] = (uint8_t)(ctx->state[i] >> 8);
        digest[4 * i + 3] = (uint8_t)ctx->state[i];
    }
}

void sv_sha256(const void *data, size_t len, uint8_t digest[32]) {
    sha256_ctx ctx;
    sha256_init(&ctx);
    sha256_update(&ctx, data, len);
    sha256_final(&ctx, digest);
}

int sv_sha256_file(const char *path, char hex[65]) {
    hex[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (!f) return sv_error(errno == ENOENT ? SCIVEC_ENOTFOUND : SCIVEC_EIO, "%s: %s", path, strerror(errno));
    enum { CHUNK = 1 << 20 };
    uint8_t *buf = malloc(CHUNK);
    if (!buf) { fclose(f); return sv_error(SCIVEC_ENOMEM, "out of memory"); }
    sha256_ctx ctx;
    sha256_init(&ctx);
    size_t got;
    while ((got = fread(buf, 1, CHUNK, f)) > 0) sha256_update(&ctx, buf, got);
    int failed = ferror(f);
    free(buf);
    fclose(f);
    if (failed) return sv_error(SCIVEC_EIO, "%s: read error", path);
    uint8_t digest[32];
    sha256_final(&ctx, digest);
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    return SCIVEC_OK;
}

/* ------------------------------------------------------------------------ */
/* metadata.json                                                             */

static cJSON *string_or_null(const char *s) { return s ? cJSON_CreateString(s) : cJSON_CreateNull(); }

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
    cJSON_AddBoolToObject(root, "normalize", m->normalize);
    cJSON_AddNumberToObject(root, "max_length", m->max_length);
    cJSON_AddStringToObject(root, "truncate", m->truncate_error ? "error" : "cut");
    cJSON_AddNumberToObject(root, "n_truncated", (double)m->n_truncated);
    cJSON_AddNumberToObject(root, "rows_read", (double)m->rows_read);
    cJSON_AddNumberToObject(root, "n_skipped",
                            (double)(m->skipped_empty_text + m->skipped_malformed + m->skipped_duplicate_id));
    cJSON_AddNumberToObject(skipped, "empty_text", (double)m->skipped_empty_text);
    cJSON_AddNumberToObject(skipped, "malformed", (double)m->skipped_malformed);
    cJSON_AddNumberToObject(skipped, "duplicate_id", (double)m->skipped_duplicate_id);
    cJSON_AddItemToObject(root, "skipped", skipped);

    cJSON_AddItemToObject(index, "factory", string_or_null(m->index_factory));
    cJSON_AddItemToObject(index, "type", string_or_null(m->index_type));
    cJSON_AddStringToObject(index, "metric", "inner_product");
    cJSON_AddBoolToObject(index, "normalized", 1);
    cJSON_AddNumberToObject(index, "ntotal", (double)m->index_ntotal);
    cJSON_AddItemToObject(root, "index", index);

    cJSON_AddStringToObject(files, "embeddings", "embeddings.npy");
    cJSON_AddStringToObject(files, "index", "papers.index");
    cJSON_AddStringToObject(files, "db", "papers.db");
    cJSON_AddItemToObject(root, "files", files);
    if (m->shard_n) {
        cJSON *shard = cJSON_AddObjectToObject(root, "shard");
        if (!shard) { cJSON_Delete(root); return NULL; }
        cJSON_AddNumberToObject(shard, "k", m->shard_k);
        cJSON_AddNumberToObject(shard, "n", m->shard_n);
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
