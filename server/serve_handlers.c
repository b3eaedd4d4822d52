/*
 * serve_handlers.c - the answer of each `scivec serve` endpoint to a parsed
 * request (see docs/SERVER.md for the formats). Paper queries run on a
 * reader taken from ctx's pool (its own SQLite connection); embedding goes
 * through the batcher (which owns the model).
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "serve.h"

/* ------------------------------------------------------------------------ */
/* Replies                                                                   */

static const char *error_type(int status) {
    switch (status) {
        case 400: return "bad_request";
        case 401: return "unauthorized";
        case 404: return "not_found";
        case 405: return "method_not_allowed";
        case 413: return "payload_too_large";
        case 414: return "uri_too_long";
        case 422: return "validation";
        case 431: return "headers_too_large";
        case 503: return "overloaded";
        default: return status >= 500 ? "internal" : "bad_request";
    }
}

/* Fallback when even the error cannot be built. */
static char oom_body[] =
    "{\"error\":{\"code\":500,\"type\":\"internal\",\"message\":\"out of memory\"}}";

static void reply_static(serve_reply *r, int status, char *body, size_t len, const char *type) {
    free(r->body);
    r->status = status;
    r->body = body;
    r->body_len = len;
    r->is_static = 1;
    r->content_type = type;
}

static void reply_json(serve_reply *r, int status, cJSON *json) {
    char *text = json ? cJSON_PrintUnformatted(json) : NULL;
    cJSON_Delete(json);
    if (!text) {
        reply_static(r, 500, oom_body, sizeof oom_body - 1, "application/json");
        return;
    }
    r->status = status;
    r->body = text;
    r->body_len = strlen(text);
    r->is_static = 0;
    r->content_type = "application/json";
}

void serve_error(serve_reply *r, int status, const char *fmt, ...) {
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    size_t shown = strlen(message) < sizeof r->message ? strlen(message) : sizeof r->message - 1;
    memcpy(r->message, message, shown);
    r->message[shown] = '\0';
    cJSON *json = cJSON_CreateObject();
    cJSON *error = cJSON_AddObjectToObject(json, "error");
    if (error) {
        cJSON_AddNumberToObject(error, "code", status);
        cJSON_AddStringToObject(error, "type", error_type(status));
        cJSON_AddStringToObject(error, "message", message);
    }
    if (!error) {
        cJSON_Delete(json);
        json = NULL;
    }
    reply_json(r, status, json);
}

/* A library failure while answering: not the client's fault. */
static void library_error(serve_reply *r) { serve_error(r, 500, "%s", scivec_last_error()); }

/* A search that failed: a nprobe / ef_search the index does not take is the
 * client's (422), anything else the server's. */
static void search_error(serve_reply *r, int rc) {
    if (rc == SCIVEC_EINVAL)
        serve_error(r, 422, "%s", scivec_last_error());
    else
        library_error(r);
}

/* ------------------------------------------------------------------------ */
/* Papers as JSON                                                            */

/* "cs.CL cs.AI" -> ["cs.CL", "cs.AI"] */
static cJSON *split_words(const char *s) {
    cJSON *array = cJSON_CreateArray();
    while (array && s && *s) {
        while (*s == ' ') s++;
        size_t len = strcspn(s, " ");
        if (len) {
            char *word = strndup(s, len);
            cJSON *item = word ? cJSON_CreateString(word) : NULL;
            free(word);
            if (!item) {
                cJSON_Delete(array);
                return NULL;
            }
            cJSON_AddItemToArray(array, item);
        }
        s += len;
    }
    return array;
}

/* Authors as the input had them: a Python list literal ("['A. B', 'C. D']",
 * the arXiv CSV export), a JSON array, or one string ("A and B", arXiv's
 * JSON), which is returned as a one-element list. */
static cJSON *parse_authors(const char *s) {
    if (!s) return cJSON_CreateArray();
    const char *p = s;
    while (isspace((unsigned char)*p)) p++;
    if (*p == '[') {
        cJSON *json = cJSON_Parse(p);
        if (cJSON_IsArray(json)) return json;
        cJSON_Delete(json);
        /* Python literal: quoted items, either quote, backslash escapes. */
        cJSON *array = cJSON_CreateArray();
        char *item = malloc(strlen(p) + 1);
        for (p++; array && item && *p && *p != ']';) {
            while (*p == ' ' || *p == ',' || *p == '\n') p++;
            char quote = *p;
            if (quote != '\'' && quote != '"') break;
            size_t n = 0;
            for (p++; *p && *p != quote; p++) {
                if (*p == '\\' && p[1]) p++;
                item[n++] = *p;
            }
            item[n] = '\0';
            if (*p) p++;
            cJSON *one = cJSON_CreateString(item);
            if (!one) {
                cJSON_Delete(array);
                array = NULL;
                break;
            }
            cJSON_AddItemToArray(array, one);
        }
        free(item);
        return array;
    }
    cJSON *array = cJSON_CreateArray();
    if (array && *p) cJSON_AddItemToArray(array, cJSON_CreateString(s));
    return array;
}

/* arXiv ids: new style 0704.0001 / 2401.12345 (vN), old style hep-th/9901001. */
static int looks_like_arxiv_id(const char *id) {
    size_t n = strlen(id), i = 0;
    if (n == 0 || n > 40) return 0;
    const char *slash = strchr(id, '/');
    if (slash) {
        for (const char *c = id; c < slash; c++)
            if (!(islower((unsigned char)*c) || *c == '-' || *c == '.')) return 0;
        for (const char *c = slash + 1; *c; c++)
            if (!isdigit((unsigned char)*c)) return 0;
        return strlen(slash + 1) == 7;
    }
    while (i < n && isdigit((unsigned char)id[i])) i++;
    if (i != 4 || id[i] != '.') return 0;
    size_t j = ++i;
    while (i < n && isdigit((unsigned char)id[i])) i++;
    if (i - j < 4 || i - j > 5) return 0;
    if (i < n && id[i] == 'v') {
        i++;
        while (i < n && isdigit((unsigned char)id[i])) i++;
    }
    return i == n;
}

/* One column of paper_columns, or NULL (release with scivec_free). */
static char *paper_column(const scivec_outdir *od, int64_t row, const char *name) {
    char *value = NULL;
    scivec_outdir_paper_column(od, row, name, &value);
    return value;
}

static void add_column(const char *name, const char *value, void *columns) {
    cJSON_AddStringToObject(columns, name, value);
}

/* The start of a text for a result list: whitespace runs as one space, cut
 * at a word boundary near SNIPPET_BYTES (never inside a UTF-8 sequence),
 * "..." when cut (malloc'ed). */
#define SNIPPET_BYTES 300
static char *snippet(const char *text) {
    char *out = malloc(SNIPPET_BYTES + 4);
    if (!out) return NULL;
    size_t n = 0, last_space = 0;
    const unsigned char *s = (const unsigned char *)text;
    while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r') s++;
    for (; *s && n < SNIPPET_BYTES; s++) {
        int space = *s == ' ' || *s == '\n' || *s == '\t' || *s == '\r';
        if (space && n && out[n - 1] == ' ') continue;
        if (space) last_space = n;
        out[n++] = space ? ' ' : (char)*s;
    }
    if (*s) {
        if (last_space > SNIPPET_BYTES / 2) n = last_space;
        while (n && ((unsigned char)out[n] & 0xC0) == 0x80)
            n--; /* (a continuation byte: step back) */
        while (n && out[n - 1] == ' ') n--;
        memcpy(out + n, "...", 3);
        n += 3;
    } else {
        while (n && out[n - 1] == ' ') n--;
    }
    out[n] = '\0';
    return out;
}

/* {"paper_id","title","authors","categories","year","url"} + "snippet" (the
 * abstract's start) in a list; + "abstract" and every input column when
 * full. od is the caller's reader. */
static cJSON *paper_json(const serve_ctx *ctx, const scivec_outdir *od, int64_t row, int full) {
    scivec_paper p;
    if (scivec_outdir_paper(od, row, &p) != SCIVEC_OK) return NULL;
    cJSON *json = cJSON_CreateObject();
    char *authors = paper_column(od, row, "authors");
    cJSON *authors_json = parse_authors(authors);
    cJSON *cats = split_words(p.categories);
    scivec_free(authors);
    if (!json || !authors_json || !cats) {
        cJSON_Delete(json);
        cJSON_Delete(authors_json);
        cJSON_Delete(cats);
        scivec_paper_clear(&p);
        return NULL;
    }
    const char *id = p.paper_id ? p.paper_id : "";
    cJSON_AddStringToObject(json, "paper_id", id);
    if (p.title)
        cJSON_AddStringToObject(json, "title", p.title);
    else
        cJSON_AddNullToObject(json, "title");
    cJSON_AddItemToObject(json, "authors", authors_json);
    cJSON_AddItemToObject(json, "categories", cats);
    if (p.has_year)
        cJSON_AddNumberToObject(json, "year", p.year);
    else
        cJSON_AddNullToObject(json, "year");
    if (looks_like_arxiv_id(id)) {
        char url[96];
        snprintf(url, sizeof url, "https://arxiv.org/abs/%s", id);
        cJSON_AddStringToObject(json, "url", url);
    } else {
        cJSON_AddNullToObject(json, "url");
    }
    if (!full) {
        char *abstract = paper_column(od, row, scivec_outdir_text_column(od));
        char *start = abstract ? snippet(abstract) : NULL;
        if (start)
            cJSON_AddStringToObject(json, "snippet", start);
        else
            cJSON_AddNullToObject(json, "snippet");
        free(start);
        scivec_free(abstract);
    }
    if (full) {
        char *abstract = paper_column(od, row, scivec_outdir_text_column(od));
        if (abstract)
            cJSON_AddStringToObject(json, "abstract", abstract);
        else
            cJSON_AddNullToObject(json, "abstract");
        scivec_free(abstract);
        cJSON *columns = cJSON_AddObjectToObject(json, "columns");
        if (columns) scivec_outdir_paper_columns(od, row, add_column, columns);
    }
    scivec_paper_clear(&p);
    return json;
}

/* [{"rank","score", ...paper}] ; od is the caller's reader. */
static cJSON *hits_json(const serve_ctx *ctx, const scivec_outdir *od, const scivec_hit *hits,
                        int64_t n_hits) {
    cJSON *array = cJSON_CreateArray();
    for (int64_t i = 0; array && i < n_hits; i++) {
        cJSON *hit = paper_json(ctx, od, hits[i].row, 0);
        if (!hit) {
            cJSON_Delete(array);
            return NULL;
        }
        cJSON_AddNumberToObject(hit, "rank", (double)(i + 1));
        cJSON_AddNumberToObject(hit, "score", hits[i].score);
        cJSON_AddItemToArray(array, hit);
    }
    return array;
}

/* Adds the filters the query ran with, so a client sees what it asked. */
static void add_filter_json(cJSON *json, const sv_http_request *req) {
    cJSON *filter = cJSON_AddObjectToObject(json, "filter");
    if (!filter) return;
    cJSON *cats = cJSON_AddArrayToObject(filter, "category");
    for (int i = 0; cats && i < req->filter.n_categories; i++)
        cJSON_AddItemToArray(cats, cJSON_CreateString(req->categories[i]));
    if (req->filter.has_year) {
        cJSON *year = cJSON_AddArrayToObject(filter, "year");
        if (year) {
            cJSON_AddItemToArray(year, cJSON_CreateNumber(req->filter.year_min));
            cJSON_AddItemToArray(year, cJSON_CreateNumber(req->filter.year_max));
        }
    } else {
        cJSON_AddNullToObject(filter, "year");
    }
}

/* ------------------------------------------------------------------------ */
/* Endpoints over the papers                                                 */

/* The row of an id, or a 404/500 reply. od is the caller's reader. */
static int find_row(const scivec_outdir *od, const char *paper_id, int64_t *row, serve_reply *r) {
    int rc = scivec_outdir_find(od, paper_id, row);
    if (rc == SCIVEC_ENOTFOUND) {
        serve_error(r, 404, "unknown paper id '%s'", paper_id);
        return 0;
    }
    if (rc) {
        library_error(r);
        return 0;
    }
    return 1;
}

static void handle_paper(serve_ctx *ctx, const sv_http_request *req, serve_reply *r) {
    serve_reader reader = serve_reader_acquire(ctx);
    const scivec_outdir *od = reader.od;
    int64_t row;
    if (find_row(od, req->paper_id, &row, r)) {
        cJSON *json = paper_json(ctx, od, row, 1);
        if (json)
            reply_json(r, 200, json);
        else
            library_error(r);
    }
    serve_reader_release(ctx, reader);
}

/* {"query": ..., "k", "filter", "results": [...]} around hits. */
static void reply_hits(serve_ctx *ctx, const scivec_outdir *od, const sv_http_request *req,
                       serve_reply *r, cJSON *json, const scivec_hit *hits, int64_t n_hits) {
    cJSON *results = hits_json(ctx, od, hits, n_hits);
    if (!json || !results) {
        cJSON_Delete(json);
        cJSON_Delete(results);
        library_error(r);
        return;
    }
    cJSON_AddNumberToObject(json, "k", (double)req->k);
    add_filter_json(json, req);
    cJSON_AddItemToObject(json, "results", results);
    reply_json(r, 200, json);
}

static void handle_similar(serve_ctx *ctx, const sv_http_request *req, serve_reply *r) {
    scivec_hit *hits = malloc((size_t)req->k * sizeof *hits);
    if (!hits) {
        serve_error(r, 500, "out of memory");
        return;
    }
    serve_reader reader = serve_reader_acquire(ctx);
    scivec_outdir *od = reader.od;
    int64_t row, n_hits = 0, n_cols;
    if (find_row(od, req->paper_id, &row, r)) {
        const float *query = scivec_outdir_vectors(od, NULL, &n_cols) + row * n_cols;
        int rc = scivec_outdir_set_search(od, req->search.nprobe, req->search.ef_search);
        if (rc == SCIVEC_OK)
            rc = scivec_outdir_nearest(od, query, req->k, row, &req->filter, hits, &n_hits);
        if (rc != SCIVEC_OK) {
            search_error(r, rc);
        } else {
            cJSON *json = cJSON_CreateObject();
            cJSON *paper = paper_json(ctx, od, row, 0);
            if (json && paper)
                cJSON_AddItemToObject(json, "paper", paper);
            else
                cJSON_Delete(paper);
            reply_hits(ctx, od, req, r, json, hits, n_hits);
        }
    }
    serve_reader_release(ctx, reader);
    free(hits);
}

/* Embeds texts through the batcher; on failure fills r and returns 0. */
static int embed(serve_ctx *ctx, int n, const char *const *texts, const size_t *lens, int normalize,
                 float *out, int64_t *n_tokens, serve_reply *r) {
    int rc =
        sv_batcher_embed(ctx->batcher, n, texts, lens, normalize, ctx->timeout_ms, out, n_tokens);
    if (rc == SCIVEC_OK) return 1;
    if (rc == SV_EQUEUE_FULL || rc == SV_ETIMEOUT) {
        serve_error(r, 503, "%s", sv_batcher_error());
        r->retry_after = 1;
    } else if (rc == SCIVEC_ETOOLONG) {
        serve_error(r, 413, "%s", sv_batcher_error());
    } else {
        serve_error(r, 500, "%s", sv_batcher_error());
    }
    return 0;
}

static void handle_search(serve_ctx *ctx, const sv_http_request *req, serve_reply *r) {
    if (scivec_query_text_check(req->text, strlen(req->text)) !=
        SCIVEC_OK) { /* the CLI's rule too */
        serve_error(r, 422, "%s", scivec_last_error());
        return;
    }
    float *query = malloc((size_t)ctx->dim * sizeof *query);
    scivec_hit *hits = malloc((size_t)req->k * sizeof *hits);
    const char *texts[1] = {req->text};
    if (!query || !hits) {
        serve_error(r, 500, "out of memory");
    } else if (embed(ctx, 1, texts, NULL, ctx->normalize, query, NULL, r)) {
        serve_reader reader = serve_reader_acquire(ctx);
        scivec_outdir *od = reader.od;
        int64_t n_hits = 0;
        int rc = scivec_outdir_set_search(od, req->search.nprobe, req->search.ef_search);
        if (rc == SCIVEC_OK)
            rc = scivec_outdir_nearest(od, query, req->k, -1, &req->filter, hits, &n_hits);
        if (rc != SCIVEC_OK) {
            search_error(r, rc);
        } else {
            cJSON *json = cJSON_CreateObject();
            cJSON_AddStringToObject(json, "query", req->text);
            reply_hits(ctx, od, req, r, json, hits, n_hits);
        }
        serve_reader_release(ctx, reader);
    }
    free(query);
    free(hits);
}

static void handle_recommend(serve_ctx *ctx, const sv_http_request *req, serve_reply *r) {
    int n_ids = req->n_positive + req->n_negative;
    scivec_hit *hits = malloc((size_t)req->k * sizeof *hits);
    if (!hits) {
        serve_error(r, 500, "out of memory");
        return;
    }
    serve_reader reader = serve_reader_acquire(ctx);
    const scivec_outdir *od = reader.od;
    int64_t row;
    int ok = 1;
    /* an unknown id is the client's 404, before the library says the same */
    for (int i = 0; ok && i < n_ids; i++)
        ok = find_row(od,
                      i < req->n_positive ? req->positive[i] : req->negative[i - req->n_positive],
                      &row, r);
    if (ok) {
        int64_t n_hits = 0;
        int rc = scivec_outdir_recommend(od, (const char *const *)req->positive, req->n_positive,
                                         (const char *const *)req->negative, req->n_negative,
                                         req->k, &req->filter, hits, &n_hits);
        if (rc == SCIVEC_EINVAL) { /* the vectors cancel out */
            serve_error(r, 422, "%s", scivec_last_error());
        } else if (rc) {
            library_error(r);
        } else {
            cJSON *json = cJSON_CreateObject();
            cJSON *pos = cJSON_AddArrayToObject(json, "positive");
            cJSON *neg = cJSON_AddArrayToObject(json, "negative");
            for (int i = 0; pos && i < req->n_positive; i++)
                cJSON_AddItemToArray(pos, cJSON_CreateString(req->positive[i]));
            for (int i = 0; neg && i < req->n_negative; i++)
                cJSON_AddItemToArray(neg, cJSON_CreateString(req->negative[i]));
            cJSON_AddStringToObject(json, "rule",
                                    "unit(mean(unit(positive)) - mean(unit(negative)))");
            reply_hits(ctx, od, req, r, json, hits, n_hits);
        }
    }
    serve_reader_release(ctx, reader);
    free(hits);
}

/* ------------------------------------------------------------------------ */
/* Embedding endpoints                                                       */

static const char b64_digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* float32 little-endian bytes as base64, as OpenAI's encoding_format does. */
static char *base64_floats(const float *v, int n) {
    size_t n_bytes = (size_t)n * 4, len = (n_bytes + 2) / 3 * 4;
    char *out = malloc(len + 1);
    if (!out) return NULL;
    const unsigned char *b = (const unsigned char *)v; /* x86-64: little-endian */
    size_t o = 0;
    for (size_t i = 0; i < n_bytes; i += 3) {
        uint32_t x = (uint32_t)b[i] << 16;
        if (i + 1 < n_bytes) x |= (uint32_t)b[i + 1] << 8;
        if (i + 2 < n_bytes) x |= b[i + 2];
        out[o++] = b64_digits[x >> 18 & 63];
        out[o++] = b64_digits[x >> 12 & 63];
        out[o++] = i + 1 < n_bytes ? b64_digits[x >> 6 & 63] : '=';
        out[o++] = i + 2 < n_bytes ? b64_digits[x & 63] : '=';
    }
    out[o] = '\0';
    return out;
}

/* Float arrays are printed by hand: cJSON would build one node per value
 * and print 17 digits; 9 significant digits round-trip a float32. */
static int append_floats(char **buf, size_t *len, size_t *cap, const float *v, int n) {
    size_t need = *len + (size_t)n * 18 + 4;
    if (need > *cap) {
        size_t new_cap = need * 2;
        char *bigger = realloc(*buf, new_cap);
        if (!bigger) return 0;
        *buf = bigger;
        *cap = new_cap;
    }
    char *p = *buf + *len;
    *p++ = '[';
    for (int i = 0; i < n; i++) {
        if (i) *p++ = ',';
        float x = isfinite(v[i]) ? v[i] : 0.0f;
        p += snprintf(p, 17, "%.9g", x);
    }
    *p++ = ']';
    *len = (size_t)(p - *buf);
    (*buf)[*len] = '\0';
    return 1;
}

static int append_text(char **buf, size_t *len, size_t *cap, const char *s) {
    size_t n = strlen(s);
    if (*len + n + 1 > *cap) {
        size_t new_cap = (*len + n + 1) * 2;
        char *bigger = realloc(*buf, new_cap);
        if (!bigger) return 0;
        *buf = bigger;
        *cap = new_cap;
    }
    memcpy(*buf + *len, s, n + 1);
    *len += n;
    return 1;
}

static void handle_embeddings(serve_ctx *ctx, const sv_http_request *req, serve_reply *r) {
    int n = req->n_inputs, dim = ctx->dim;
    float *vectors = malloc((size_t)n * dim * sizeof *vectors);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int64_t n_tokens = 0;
    int ok = 1;
    if (!vectors) {
        serve_error(r, 500, "out of memory");
        goto done;
    }
    /* The vectors of the papers' space: the output's pooling and normalisation. */
    int normalize = req->endpoint == SV_EP_EMBED ? req->normalize : ctx->normalize;
    if (!embed(ctx, n, (const char *const *)req->inputs, req->input_lens, normalize, vectors,
               &n_tokens, r))
        goto done;
    if (req->endpoint == SV_EP_EMBED) {
        /* TEI: [[...], [...]] */
        ok = append_text(&buf, &len, &cap, "[");
        for (int i = 0; ok && i < n; i++)
            ok = (i == 0 || append_text(&buf, &len, &cap, ",")) &&
                 append_floats(&buf, &len, &cap, vectors + (size_t)i * dim, dim);
        ok = ok && append_text(&buf, &len, &cap, "]");
    } else {
        ok = append_text(&buf, &len, &cap, "{\"object\":\"list\",\"data\":[");
        for (int i = 0; ok && i < n; i++) {
            char head[96];
            snprintf(head, sizeof head,
                     "%s{\"object\":\"embedding\",\"index\":%d,\"embedding\":", i ? "," : "", i);
            ok = append_text(&buf, &len, &cap, head);
            if (ok && req->base64) {
                char *b64 = base64_floats(vectors + (size_t)i * dim, dim);
                ok = b64 && append_text(&buf, &len, &cap, "\"") &&
                     append_text(&buf, &len, &cap, b64) && append_text(&buf, &len, &cap, "\"");
                free(b64);
            } else if (ok) {
                ok = append_floats(&buf, &len, &cap, vectors + (size_t)i * dim, dim);
            }
            ok = ok && append_text(&buf, &len, &cap, "}");
        }
        /* The model name is JSON-escaped by cJSON. */
        cJSON *name = cJSON_CreateString(ctx->model_name ? ctx->model_name : "");
        char *name_text = name ? cJSON_PrintUnformatted(name) : NULL;
        cJSON_Delete(name);
        char tail[128];
        snprintf(tail, sizeof tail, ",\"usage\":{\"prompt_tokens\":%lld,\"total_tokens\":%lld}}",
                 (long long)n_tokens, (long long)n_tokens);
        ok = ok && name_text && append_text(&buf, &len, &cap, "],\"model\":") &&
             append_text(&buf, &len, &cap, name_text) && append_text(&buf, &len, &cap, tail);
        free(name_text);
    }
    if (!ok) {
        serve_error(r, 500, "out of memory");
        goto done;
    }
    r->status = 200;
    r->body = buf;
    r->body_len = len;
    r->content_type = "application/json";
    buf = NULL; /* the reply's now */
done:
    free(buf);
    free(vectors);
}

/* ------------------------------------------------------------------------ */
/* Health, metrics, page                                                     */

static void handle_health(serve_ctx *ctx, serve_reply *r) {
    sv_batcher_stats s;
    sv_batcher_get_stats(ctx->batcher, &s);
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "status", "ok");
    serve_data *data = serve_data_acquire(ctx);
    cJSON_AddNumberToObject(json, "papers", (double)scivec_outdir_n_papers(data->od));
    cJSON_AddNumberToObject(json, "reloads", data->generation);
    serve_data_release(ctx, data);
    cJSON_AddNumberToObject(json, "dim", ctx->dim);
    cJSON_AddStringToObject(json, "model", ctx->model_name ? ctx->model_name : "");
    cJSON_AddStringToObject(json, "pooling", ctx->pooling ? ctx->pooling : "");
    cJSON_AddBoolToObject(json, "normalize", ctx->normalize);
    cJSON_AddNumberToObject(json, "queue_depth", s.queue_depth);
    cJSON_AddStringToObject(json, "version", scivec_version());
    reply_json(r, 200, json);
}

static void handle_metrics(serve_ctx *ctx, serve_reply *r) {
    size_t len;
    char *text = serve_metrics_render(ctx->metrics, ctx, &len);
    if (!text) {
        serve_error(r, 500, "out of memory");
        return;
    }
    r->status = 200;
    r->body = text;
    r->body_len = len;
    r->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

static void handle_asset(const sv_http_request *req, serve_reply *r) {
    for (int i = 0; serve_web_assets[i].name; i++) {
        if (strcmp(serve_web_assets[i].name, req->asset)) continue;
        const char *ext = strrchr(req->asset, '.');
        const char *type = !strcmp(ext, ".html") ? "text/html; charset=utf-8"
                           : !strcmp(ext, ".js") ? "text/javascript; charset=utf-8"
                                                 : "text/css; charset=utf-8";
        reply_static(r, 200, (char *)serve_web_assets[i].data, serve_web_assets[i].size, type);
        return;
    }
    serve_error(r, 404, "no such page: %s", req->asset);
}

void serve_handle(serve_ctx *ctx, const sv_http_request *req, serve_reply *r) {
    switch (req->endpoint) {
        case SV_EP_ASSET: handle_asset(req, r); break;
        case SV_EP_HEALTH: handle_health(ctx, r); break;
        case SV_EP_METRICS: handle_metrics(ctx, r); break;
        case SV_EP_PAPER: handle_paper(ctx, req, r); break;
        case SV_EP_SIMILAR: handle_similar(ctx, req, r); break;
        case SV_EP_SEARCH: handle_search(ctx, req, r); break;
        case SV_EP_RECOMMEND: handle_recommend(ctx, req, r); break;
        case SV_EP_EMBEDDINGS:
        case SV_EP_EMBED: handle_embeddings(ctx, req, r); break;
        case SV_EP_MAP: serve_handle_map(ctx, r); break;
        default: serve_error(r, 404, "no such endpoint"); break;
    }
}
