/*
 * server_request.c - routing and validating a `scivec serve` request (see
 * server_request.h). Everything here works on bytes a client chose, so every
 * string is length-checked and UTF-8-checked before it is kept, and every
 * failure becomes a status and a sentence, never a crash.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "server_request.h"

static const char *const endpoint_names[SV_EP_COUNT] = {
    "none",   "page",      "health",        "metrics", "papers", "similar",
    "search", "recommend", "v1_embeddings", "embed",   "map",
};

const char *sv_endpoint_name(sv_endpoint ep) {
    return ep >= 0 && ep < SV_EP_COUNT ? endpoint_names[ep] : "none";
}

sv_http_limits sv_http_default_limits(void) {
    sv_http_limits l = {
        .max_k = 1000, .max_inputs = 256, .max_text_bytes = 64 << 10, .max_ids = 100};
    return l;
}

/* Records why the request is refused; returns status. */
static int refuse(sv_http_request *req, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int refuse(sv_http_request *req, int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(req->message, sizeof req->message, fmt, ap);
    va_end(ap);
    req->status = status;
    return status;
}

static int out_of_memory(sv_http_request *req) { return refuse(req, 500, "out of memory"); }

long sv_utf8_invalid_at(const char *text, size_t len) {
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        int n;
        uint32_t cp, min;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
            min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
            min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
            min = 0x10000;
        } else
            return (long)i;
        if (len - i <= (size_t)n) return (long)i;
        for (int j = 1; j <= n; j++) {
            if ((s[i + j] & 0xC0) != 0x80) return (long)i;
            cp = cp << 6 | (s[i + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return (long)i;
        i += (size_t)n + 1;
    }
    return -1;
}

/* A client string that will be echoed in messages or looked up: valid
 * UTF-8, no control characters (a paper id or category never has them). */
static int check_word(sv_http_request *req, const char *what, const char *s, size_t len,
                      size_t max_len) {
    if (len == 0) return refuse(req, 422, "%s is empty", what);
    if (len > max_len)
        return refuse(req, 413, "%s is %zu bytes long (at most %zu)", what, len, max_len);
    long bad = sv_utf8_invalid_at(s, len);
    if (bad >= 0) return refuse(req, 400, "%s is not valid UTF-8 (byte %ld)", what, bad);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7F)
            return refuse(req, 400, "%s holds a control character (byte %zu)", what, i);
    return 200;
}

/* ------------------------------------------------------------------------ */
/* Query arguments                                                           */

/* "10" -> 10; a number outside 1..max_k is 422, anything else 400. */
static int parse_k_text(sv_http_request *req, const sv_http_limits *lim, const char *text) {
    const char *s = text;
    while (*s == ' ') s++;
    if (!(*s >= '0' && *s <= '9') && !(*s == '-' && s[1] >= '0' && s[1] <= '9'))
        return refuse(req, 400, "k must be a whole number (got '%.40s')", text);
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*end) return refuse(req, 400, "k must be a whole number (got '%.40s')", text);
    if (errno == ERANGE || v < 1 || v > lim->max_k)
        return refuse(req, 422, "k must be from 1 to %d (got %.40s)", lim->max_k, text);
    req->k = v;
    return 200;
}

/* nprobe / ef_search: a whole number; outside 1..2^20 is 422, anything else
 * 400 (whether the index has the parameter is the handler's to check). */
static int parse_search_param(sv_http_request *req, const char *key, const char *text) {
    char *end;
    errno = 0;
    long long v = *text >= '0' && *text <= '9' ? strtoll(text, &end, 10) : -1;
    if (v < 0 || *end)
        return refuse(req, 400, "%s must be a whole number (got '%.40s')", key, text);
    if (errno == ERANGE || v < 1 || v > 1 << 20)
        return refuse(req, 422, "%s must be from 1 to %d (got %.40s)", key, 1 << 20, text);
    if (!strcmp(key, "nprobe"))
        req->search.nprobe = (int)v;
    else
        req->search.ef_search = (int)v;
    return 200;
}

static int add_category(sv_http_request *req, const char *s, size_t len) {
    int st = check_word(req, "category", s, len, 64);
    if (st != 200) return st;
    if (req->filter.n_categories == SV_HTTP_MAX_CATEGORIES)
        return refuse(req, 422, "at most %d categories", SV_HTTP_MAX_CATEGORIES);
    char *copy = strndup(s, len);
    if (!copy) return out_of_memory(req);
    req->categories[req->filter.n_categories++] = copy;
    req->filter.categories = (const char *const *)req->categories;
    return 200;
}

/* "cs.CL" or "cs.CL,cs.CV" (also as repeated arguments). */
static int parse_categories(sv_http_request *req, const char *text) {
    if (!*text) return 200; /* category= : no filter, as an empty form field sends */
    for (const char *s = text; *s;) {
        size_t len = strcspn(s, ",");
        if (len) {
            int st = add_category(req, s, len);
            if (st != 200) return st;
        }
        s += len;
        if (*s == ',') s++;
    }
    return 200;
}

/* A year: 1 to 4 digits. Returns the characters used (0: none). */
static int scan_year(const char *s, int *year) {
    int n = 0, v = 0;
    while (n < 4 && s[n] >= '0' && s[n] <= '9') v = v * 10 + (s[n++] - '0');
    *year = v;
    return n;
}

/* "2024" or "2020-2024". */
static int parse_year(sv_http_request *req, const char *text) {
    if (!*text) return 200;
    if (text[0] == '-' && text[1] >= '0' && text[1] <= '9')
        return refuse(req, 400,
                      "year must not be negative (got '%.40s'): give YEAR or FROM-TO, "
                      "e.g. 2024 or 2020-2024",
                      text);
    int a, b, used = scan_year(text, &a);
    if (used && text[used] == '\0') {
        b = a;
    } else {
        int used_b = used && text[used] == '-' ? scan_year(text + used + 1, &b) : 0;
        if (!used_b || text[used + 1 + used_b] != '\0')
            return refuse(req, 400,
                          "year must be YEAR or FROM-TO with years of 1 to 4 digits, "
                          "e.g. 2024 or 2020-2024 (got '%.40s')",
                          text);
    }
    if (b < a) return refuse(req, 422, "year range '%.40s' is empty (FROM is after TO)", text);
    req->filter.has_year = 1;
    req->filter.year_min = a;
    req->filter.year_max = b;
    return 200;
}

/* The arguments a query endpoint takes; others are refused so that a typo
 * (?catgory=) does not silently drop a filter. */
static int parse_query_args(sv_http_request *req, const sv_http_limits *lim, int n_args,
                            const char *const *keys, const char *const *values, int takes_q) {
    int seen_q = 0;
    for (int i = 0; i < n_args; i++) {
        const char *key = keys[i] ? keys[i] : "", *value = values[i] ? values[i] : "";
        if (sv_utf8_invalid_at(key, strlen(key)) >= 0)
            return refuse(req, 400, "a query argument's name is not valid UTF-8");
        long bad = sv_utf8_invalid_at(value, strlen(value));
        if (bad >= 0)
            return refuse(req, 400, "query argument '%.40s' is not valid UTF-8 (byte %ld)", key,
                          bad);
        int st = 200;
        if (!strcmp(key, "k"))
            st = parse_k_text(req, lim, value);
        else if (!strcmp(key, "category"))
            st = parse_categories(req, value);
        else if (!strcmp(key, "year"))
            st = parse_year(req, value);
        else if (!strcmp(key, "nprobe") || !strcmp(key, "ef_search"))
            st = parse_search_param(req, key, value);
        else if (takes_q && !strcmp(key, "q")) {
            if (seen_q++) return refuse(req, 400, "q is given twice");
            size_t len = strlen(value);
            if (len > lim->max_text_bytes)
                return refuse(req, 413, "q is %zu bytes long (at most %zu)", len,
                              lim->max_text_bytes);
            free(req->text);
            if (!(req->text = strdup(value))) return out_of_memory(req);
        } else {
            return refuse(req, 400, "unknown query argument '%.40s' (this endpoint takes %s)", key,
                          takes_q ? "q, k, category, year, nprobe, ef_search"
                                  : "k, category, year, nprobe, ef_search");
        }
        if (st != 200) return st;
    }
    if (takes_q) {
        if (!req->text) return refuse(req, 400, "search needs q: /search?q=your+text");
        const char *s = req->text;
        while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') s++;
        if (!*s) return refuse(req, 422, "q is empty");
    }
    return 200;
}

/* ------------------------------------------------------------------------ */
/* JSON bodies                                                               */

static int parse_body(sv_http_request *req, const char *body, size_t len, cJSON **out) {
    *out = NULL;
    if (!body || len == 0) return refuse(req, 400, "the request needs a JSON object body");
    long bad = sv_utf8_invalid_at(body, len);
    if (bad >= 0) return refuse(req, 400, "the body is not valid UTF-8 (byte %ld)", bad);
    const char *end = NULL;
    cJSON *json = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    if (!json) {
        long at = end ? (long)(end - body) : 0;
        if (at < 0 || (size_t)at > len) at = (long)len;
        return refuse(req, 400, "the body is not valid JSON (near byte %ld)", at);
    }
    for (const char *s = end; s && s < body + len; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r') {
            cJSON_Delete(json);
            return refuse(req, 400, "the body has data after its JSON value (byte %ld)",
                          (long)(s - body));
        }
    if (!cJSON_IsObject(json)) {
        cJSON_Delete(json);
        return refuse(req, 400, "the body must be a JSON object");
    }
    *out = json;
    return 200;
}

/* A JSON integer in 1..max_k. */
static int json_k(sv_http_request *req, const sv_http_limits *lim, const cJSON *item) {
    if (!cJSON_IsNumber(item) || item->valuedouble != floor(item->valuedouble))
        return refuse(req, 422, "k must be a whole number");
    if (!(item->valuedouble >= 1 && item->valuedouble <= lim->max_k))
        return refuse(req, 422, "k must be from 1 to %d (got %.0f)", lim->max_k, item->valuedouble);
    req->k = (int64_t)item->valuedouble;
    return 200;
}

/* An array of paper ids (strings). */
static int json_ids(sv_http_request *req, const sv_http_limits *lim, const cJSON *array,
                    const char *what, char ***ids, int *n_ids) {
    if (!array || cJSON_IsNull(array)) return 200;
    if (!cJSON_IsArray(array)) return refuse(req, 422, "%s must be an array of paper ids", what);
    int n = cJSON_GetArraySize(array);
    if (n + req->n_positive + req->n_negative > lim->max_ids)
        return refuse(req, 413, "at most %d positive and negative ids together", lim->max_ids);
    if (n == 0) return 200;
    if (!(*ids = calloc((size_t)n, sizeof **ids))) return out_of_memory(req);
    const cJSON *item;
    cJSON_ArrayForEach(item, array) {
        if (!cJSON_IsString(item))
            return refuse(req, 422, "%s[%d] is not a string (paper ids are strings)", what, *n_ids);
        char label[48];
        snprintf(label, sizeof label, "%s[%d]", what, *n_ids);
        int st = check_word(req, label, item->valuestring, strlen(item->valuestring), 256);
        if (st != 200) return st;
        if (!((*ids)[*n_ids] = strdup(item->valuestring))) return out_of_memory(req);
        (*n_ids)++;
    }
    return 200;
}

/* category / year members of a body: a string or an array of strings. */
static int json_filters(sv_http_request *req, const cJSON *body) {
    const cJSON *cat = cJSON_GetObjectItemCaseSensitive(body, "category");
    if (!cat) cat = cJSON_GetObjectItemCaseSensitive(body, "categories");
    int st = 200;
    if (cJSON_IsString(cat)) {
        st = parse_categories(req, cat->valuestring);
    } else if (cJSON_IsArray(cat)) {
        const cJSON *item;
        cJSON_ArrayForEach(item, cat) {
            if (!cJSON_IsString(item)) return refuse(req, 422, "category must hold strings");
            if ((st = add_category(req, item->valuestring, strlen(item->valuestring))) != 200)
                return st;
        }
    } else if (cat && !cJSON_IsNull(cat)) {
        return refuse(req, 422, "category must be a string or an array of strings");
    }
    if (st != 200) return st;
    const cJSON *year = cJSON_GetObjectItemCaseSensitive(body, "year");
    if (cJSON_IsString(year)) {
        st = parse_year(req, year->valuestring);
    } else if (cJSON_IsNumber(year)) {
        char text[32];
        snprintf(text, sizeof text, "%.0f",
                 fabs(year->valuedouble) < 1e6 ? year->valuedouble : -1.0);
        st = parse_year(req, text);
    } else if (year && !cJSON_IsNull(year)) {
        return refuse(req, 422, "year must be a number or a string such as \"2020-2024\"");
    }
    return st;
}

static int parse_recommend(sv_http_request *req, const sv_http_limits *lim, const cJSON *body) {
    /* Semantic Scholar's names are accepted too. */
    const cJSON *pos = cJSON_GetObjectItemCaseSensitive(body, "positive");
    if (!pos) pos = cJSON_GetObjectItemCaseSensitive(body, "positivePaperIds");
    const cJSON *neg = cJSON_GetObjectItemCaseSensitive(body, "negative");
    if (!neg) neg = cJSON_GetObjectItemCaseSensitive(body, "negativePaperIds");
    int st = json_ids(req, lim, pos, "positive", &req->positive, &req->n_positive);
    if (st == 200) st = json_ids(req, lim, neg, "negative", &req->negative, &req->n_negative);
    if (st != 200) return st;
    if (req->n_positive == 0)
        return refuse(req, 422, "recommend needs at least one positive paper id");
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(body, "k");
    if (!k) k = cJSON_GetObjectItemCaseSensitive(body, "limit");
    if (k && (st = json_k(req, lim, k)) != 200) return st;
    return json_filters(req, body);
}

/* "input" / "inputs": a string or an array of strings. */
static int parse_inputs(sv_http_request *req, const sv_http_limits *lim, const cJSON *input,
                        const char *name) {
    if (!input)
        return refuse(req, 422, "the body needs \"%s\": a string or an array of strings", name);
    int n = cJSON_IsString(input) ? 1 : cJSON_IsArray(input) ? cJSON_GetArraySize(input) : -1;
    if (n < 0) return refuse(req, 422, "\"%s\" must be a string or an array of strings", name);
    if (n == 0) return refuse(req, 422, "\"%s\" is an empty array", name);
    if (n > lim->max_inputs)
        return refuse(req, 413, "\"%s\" holds %d texts (at most %d per request)", name, n,
                      lim->max_inputs);
    req->inputs = calloc((size_t)n, sizeof *req->inputs);
    req->input_lens = calloc((size_t)n, sizeof *req->input_lens);
    if (!req->inputs || !req->input_lens) return out_of_memory(req);
    const cJSON *one = cJSON_IsString(input) ? input : input->child;
    for (int i = 0; i < n && one; i++, one = one->next) {
        if (!cJSON_IsString(one))
            return refuse(req, 422, "\"%s\"[%d] is not a string (token arrays are not supported)",
                          name, i);
        /* cJSON strings end at the first NUL; "\u0000" inside a text is cut there. */
        size_t len = strlen(one->valuestring);
        if (len == 0) return refuse(req, 422, "\"%s\"[%d] is an empty string", name, i);
        if (len > lim->max_text_bytes)
            return refuse(req, 413, "\"%s\"[%d] is %zu bytes long (at most %zu)", name, i, len,
                          lim->max_text_bytes);
        if (!(req->inputs[i] = strdup(one->valuestring))) return out_of_memory(req);
        req->input_lens[i] = len;
        req->n_inputs++;
        if (cJSON_IsString(input)) break;
    }
    return 200;
}

static int parse_embeddings(sv_http_request *req, const sv_http_limits *lim, const cJSON *body) {
    int st = parse_inputs(req, lim, cJSON_GetObjectItemCaseSensitive(body, "input"), "input");
    if (st != 200) return st;
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(body, "model");
    if (model && !cJSON_IsString(model) && !cJSON_IsNull(model))
        return refuse(req, 422, "\"model\" must be a string");
    const cJSON *format = cJSON_GetObjectItemCaseSensitive(body, "encoding_format");
    if (format && !cJSON_IsNull(format)) {
        if (!cJSON_IsString(format))
            return refuse(req, 422, "\"encoding_format\" must be \"float\" or \"base64\"");
        if (!strcmp(format->valuestring, "base64"))
            req->base64 = 1;
        else if (strcmp(format->valuestring, "float"))
            return refuse(req, 422,
                          "\"encoding_format\" must be \"float\" or \"base64\" (got \"%.40s\")",
                          format->valuestring);
    }
    if (cJSON_GetObjectItemCaseSensitive(body, "dimensions"))
        return refuse(req, 422,
                      "\"dimensions\" is not supported: the vectors have the model's width");
    return 200;
}

static int parse_embed(sv_http_request *req, const sv_http_limits *lim, const cJSON *body) {
    int st = parse_inputs(req, lim, cJSON_GetObjectItemCaseSensitive(body, "inputs"), "inputs");
    if (st != 200) return st;
    const cJSON *normalize = cJSON_GetObjectItemCaseSensitive(body, "normalize");
    req->normalize = 1;
    if (normalize && !cJSON_IsNull(normalize)) {
        if (!cJSON_IsBool(normalize))
            return refuse(req, 422, "\"normalize\" must be true or false");
        req->normalize = cJSON_IsTrue(normalize);
    }
    return 200;
}

/* ------------------------------------------------------------------------ */
/* Routing                                                                   */

/* A path whose segments include "." or "..", or empty ones ("//"), is a
 * trick, not a resource: no route has them. */
static int check_path(sv_http_request *req, const char *path) {
    size_t len = strlen(path);
    if (path[0] != '/') return refuse(req, 400, "the path must start with '/'");
    if (len > 2048) return refuse(req, 414, "the path is %zu bytes long (at most 2048)", len);
    long bad = sv_utf8_invalid_at(path, len);
    if (bad >= 0) return refuse(req, 400, "the path is not valid UTF-8 (byte %ld)", bad);
    for (const char *s = path; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7F)
            return refuse(req, 400, "the path holds a control character (byte %td)", s - path);
    for (const char *seg = path + 1;;) {
        size_t n = strcspn(seg, "/");
        if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
            return refuse(req, 400, "the path may not hold '.' or '..' segments");
        if (n == 0 && seg[0] == '/')
            return refuse(req, 400, "the path may not hold empty segments ('//')");
        if (!seg[n]) break;
        seg += n + 1;
    }
    return 200;
}

static int is_get(const char *method) { return !strcmp(method, "GET") || !strcmp(method, "HEAD"); }

static int wrong_method(sv_http_request *req, const char *method, const char *allow,
                        const char *path) {
    req->allow = allow;
    return refuse(req, 405, "%s takes %s, not %.16s", path, allow, method);
}

/* The rest of the path after a prefix like "/papers/" is a paper id, slashes
 * included: old arXiv ids are "hep-th/9901001". */
static int take_id(sv_http_request *req, const char *id) {
    int st = check_word(req, "the paper id", id, strlen(id), 256);
    if (st != 200) return st;
    if (!(req->paper_id = strdup(id))) return out_of_memory(req);
    return 200;
}

int sv_http_parse(const sv_http_limits *limits, const char *method, const char *path, int n_args,
                  const char *const *keys, const char *const *values, const char *body,
                  size_t body_len, sv_http_request *req) {
    memset(req, 0, sizeof *req);
    req->status = 200;
    sv_http_limits lim = limits ? *limits : sv_http_default_limits();
    if (lim.max_k < 1) lim.max_k = 1;
    req->k = 10;
    if (!method || !path) return refuse(req, 400, "no method or path");
    int st = check_path(req, path);
    if (st != 200) return st;

    static const struct {
        const char *path, *asset;
    } assets[] = {
        {"/", "index.html"},   {"/index.html", "index.html"}, {"/auth.js", "auth.js"},
        {"/app.js", "app.js"}, {"/style.css", "style.css"},   {"/map.html", "map.html"},
        {"/map.js", "map.js"},
    };
    for (size_t i = 0; i < sizeof assets / sizeof assets[0]; i++)
        if (!strcmp(path, assets[i].path)) {
            req->endpoint = SV_EP_ASSET;
            req->asset = assets[i].asset;
            return is_get(method) ? 200 : wrong_method(req, method, "GET", path);
        }

    int takes_body = 0, get = 1;
    const char *rest = NULL;
    if (!strcmp(path, "/health"))
        req->endpoint = SV_EP_HEALTH;
    else if (!strcmp(path, "/metrics"))
        req->endpoint = SV_EP_METRICS;
    else if (!strcmp(path, "/search"))
        req->endpoint = SV_EP_SEARCH;
    else if (!strncmp(path, "/papers/", 8)) {
        req->endpoint = SV_EP_PAPER;
        rest = path + 8;
    } else if (!strncmp(path, "/similar/", 9)) {
        req->endpoint = SV_EP_SIMILAR;
        rest = path + 9;
    } else if (!strcmp(path, "/recommend")) {
        req->endpoint = SV_EP_RECOMMEND;
        takes_body = 1;
        get = 0;
    } else if (!strcmp(path, "/v1/embeddings")) {
        req->endpoint = SV_EP_EMBEDDINGS;
        takes_body = 1;
        get = 0;
    } else if (!strcmp(path, "/embed")) {
        req->endpoint = SV_EP_EMBED;
        takes_body = 1;
        get = 0;
    } else if (!strcmp(path, "/map"))
        req->endpoint = SV_EP_MAP;
    else
        return refuse(req, 404,
                      "no such endpoint: %.200s (see /health, /search, /similar/ID, "
                      "/papers/ID, /recommend, /v1/embeddings, /embed, /metrics)",
                      path);

    if (get && !is_get(method)) return wrong_method(req, method, "GET", path);
    if (!get && strcmp(method, "POST")) return wrong_method(req, method, "POST", path);

    switch (req->endpoint) {
        case SV_EP_HEALTH:
        case SV_EP_METRICS:
            if (n_args > 0) return refuse(req, 400, "%s takes no query arguments", path);
            return 200;
        case SV_EP_MAP:
            if (n_args > 0) return refuse(req, 400, "/map takes no query arguments");
            return 200;
        case SV_EP_PAPER:
            if (n_args > 0) return refuse(req, 400, "/papers/ID takes no query arguments");
            return take_id(req, rest);
        case SV_EP_SIMILAR:
            if ((st = take_id(req, rest)) != 200) return st;
            return parse_query_args(req, &lim, n_args, keys, values, 0);
        case SV_EP_SEARCH: return parse_query_args(req, &lim, n_args, keys, values, 1);
        default: break;
    }
    if (!takes_body) return refuse(req, 500, "unrouted endpoint");
    if (n_args > 0)
        return refuse(req, 400, "%s takes its arguments in the JSON body, not the query string",
                      path);
    cJSON *json;
    if ((st = parse_body(req, body, body_len, &json)) != 200) return st;
    if (req->endpoint == SV_EP_RECOMMEND)
        st = parse_recommend(req, &lim, json);
    else if (req->endpoint == SV_EP_EMBEDDINGS)
        st = parse_embeddings(req, &lim, json);
    else
        st = parse_embed(req, &lim, json);
    cJSON_Delete(json);
    return st;
}

static void free_strings(char **list, int n) {
    for (int i = 0; list && i < n; i++) free(list[i]);
    free(list);
}

void sv_http_request_clear(sv_http_request *req) {
    if (!req) return;
    free(req->paper_id);
    free(req->text);
    for (int i = 0; i < req->filter.n_categories; i++) free(req->categories[i]);
    free_strings(req->positive, req->n_positive);
    free_strings(req->negative, req->n_negative);
    free_strings(req->inputs, req->n_inputs);
    free(req->input_lens);
    memset(req, 0, sizeof *req);
}
