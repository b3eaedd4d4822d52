/*
 * fuzz_http.c - routing and validation of `scivec serve` requests
 * (sv_http_parse, server/server_request.c) on hostile methods, paths, query
 * arguments and JSON bodies.
 *
 * Input layout: byte 0 picks the method; then the path up to '\n'; then
 * query arguments one per line as key=value up to an empty line; the rest
 * is the body. Beyond "no crash, no leak, no UB", every answer must be one
 * of the documented statuses, and a 200 must carry what its endpoint needs
 * within the limits. sv_utf8_invalid_at is checked against utf8proc.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "server_request.h"

static const char *const methods[] = {"GET",    "POST",    "HEAD", "PUT",
                                      "DELETE", "OPTIONS", "",     "G\xffT"};

#define MAX_ARGS 16

/* An invariant broken: say which, then crash for libFuzzer. */
#define require(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_http.c:%d: %s\n", __LINE__, #cond);                              \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static int utf8proc_valid(const char *s, size_t len) {
    utf8proc_ssize_t i = 0;
    while ((size_t)i < len) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n =
            utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)len - i, &cp);
        if (n <= 0 || cp < 0) return 0;
        i += n;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const char *method = methods[data[0] % (sizeof methods / sizeof methods[0])];
    char *text = malloc(size);
    if (!text) return 0;
    memcpy(text, data + 1, size - 1);
    size_t len = size - 1;

    require((sv_utf8_invalid_at(text, len) < 0) == utf8proc_valid(text, len));

    /* path */
    char *nl = memchr(text, '\n', len);
    size_t path_len = nl ? (size_t)(nl - text) : len;
    char *path = strndup(text, path_len); /* (cut at a NUL, as a C string is) */
    size_t at = nl ? path_len + 1 : len;
    /* arguments */
    char *keys[MAX_ARGS] = {0}, *values[MAX_ARGS] = {0};
    int n_args = 0;
    while (at < len && n_args < MAX_ARGS) {
        char *end = memchr(text + at, '\n', len - at);
        size_t line_len = end ? (size_t)(end - (text + at)) : len - at;
        if (line_len == 0) {
            at++;
            break;
        }
        char *line = text + at;
        char *eq = memchr(line, '=', line_len);
        size_t key_len = eq ? (size_t)(eq - line) : line_len;
        keys[n_args] = strndup(line, key_len);
        values[n_args] = eq ? strndup(eq + 1, line_len - key_len - 1) : strdup("");
        n_args++;
        at += line_len + (end ? 1 : 0);
    }
    const char *body = at < len ? text + at : NULL;
    size_t body_len = at < len ? len - at : 0;

    /* Small limits so that the 413 and 422 paths are reachable. */
    sv_http_limits limits = {.max_k = 50, .max_inputs = 4, .max_text_bytes = 64, .max_ids = 5};
    for (int pass = 0; pass < 2; pass++) {
        sv_http_request req;
        int status = sv_http_parse(pass ? NULL : &limits, method, path ? path : "/", n_args,
                                   (const char *const *)keys, (const char *const *)values, body,
                                   body_len, &req);
        const sv_http_limits lim = pass ? sv_http_default_limits() : limits;
        require(status == req.status);
        require(status == 200 || status == 400 || status == 404 || status == 405 || status == 413 ||
                status == 414 || status == 422 || status == 500);
        require(memchr(req.message, '\0', sizeof req.message) != NULL);
        require(status != 405 || req.allow);
        if (status == 200) {
            require(req.endpoint > SV_EP_NONE && req.endpoint < SV_EP_COUNT);
            require(req.k >= 1 && req.k <= lim.max_k);
            switch (req.endpoint) {
                case SV_EP_ASSET: require(req.asset != NULL); break;
                case SV_EP_PAPER:
                case SV_EP_SIMILAR:
                    require(req.paper_id && *req.paper_id &&
                            sv_utf8_invalid_at(req.paper_id, strlen(req.paper_id)) < 0);
                    break;
                case SV_EP_SEARCH:
                    require(req.text && strlen(req.text) <= lim.max_text_bytes);
                    require(sv_utf8_invalid_at(req.text, strlen(req.text)) < 0);
                    break;
                case SV_EP_RECOMMEND:
                    require(req.n_positive >= 1 && req.n_positive + req.n_negative <= lim.max_ids);
                    for (int i = 0; i < req.n_positive; i++)
                        require(req.positive[i] && *req.positive[i]);
                    for (int i = 0; i < req.n_negative; i++)
                        require(req.negative[i] && *req.negative[i]);
                    break;
                case SV_EP_EMBEDDINGS:
                case SV_EP_EMBED:
                    require(req.n_inputs >= 1 && req.n_inputs <= lim.max_inputs);
                    for (int i = 0; i < req.n_inputs; i++)
                        require(req.inputs[i] && req.input_lens[i] >= 1 &&
                                req.input_lens[i] <= lim.max_text_bytes &&
                                strlen(req.inputs[i]) == req.input_lens[i]);
                    break;
                default: break;
            }
            for (int i = 0; i < req.filter.n_categories; i++)
                require(req.categories[i] && *req.categories[i] &&
                        req.filter.categories[i] == req.categories[i]);
            require(!req.filter.has_year || req.filter.year_min <= req.filter.year_max);
            /* years have 1 to 4 digits: never negative (year=-5 is refused) */
            require(!req.filter.has_year ||
                    (req.filter.year_min >= 0 && req.filter.year_max <= 9999));
            /* /health and /metrics refuse arguments like every route */
            require(
                !((req.endpoint == SV_EP_HEALTH || req.endpoint == SV_EP_METRICS) && n_args > 0));
        }
        sv_http_request_clear(&req);
    }
    for (int i = 0; i < n_args; i++) {
        free(keys[i]);
        free(values[i]);
    }
    free(path);
    free(text);
    return 0;
}
