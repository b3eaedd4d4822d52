/*
 * server_request.h - what a `scivec serve` request asks for, parsed from its
 * method, path, query arguments and body, as one pure function (no sockets,
 * no model, no index): routing and validation in one place, fuzzed by
 * fuzz/fuzz_http.c. The HTTP layer (server/serve_*.c) feeds it what
 * libmicrohttpd decoded and answers with the status it returns.
 *
 * Statuses follow TEI / OpenAI conventions: 400 for what is not syntactically
 * a request (bad JSON, invalid UTF-8, a k that is not a number, path tricks),
 * 404 for unknown paths, 405 for a wrong method, 413 for too much (too many
 * inputs, too long a text), 422 for well-formed but unacceptable values
 * (k = 0, k = 10^9, empty input, unknown encoding_format).
 */
#ifndef SV_SERVER_REQUEST_H
#define SV_SERVER_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "scivec.h"

#define SV_HTTP_MAX_CATEGORIES 32

typedef enum sv_endpoint {
    SV_EP_NONE = 0,   /* not routed (an error) */
    SV_EP_ASSET,      /* GET /, /index.html, /app.js, /style.css */
    SV_EP_HEALTH,     /* GET /health */
    SV_EP_METRICS,    /* GET /metrics */
    SV_EP_PAPER,      /* GET /papers/{id} */
    SV_EP_SIMILAR,    /* GET /similar/{id}?k=&category=&year= */
    SV_EP_SEARCH,     /* GET /search?q=&k=&category=&year= */
    SV_EP_RECOMMEND,  /* POST /recommend */
    SV_EP_EMBEDDINGS, /* POST /v1/embeddings (OpenAI) */
    SV_EP_EMBED,      /* POST /embed (TEI) */
    SV_EP_MAP,        /* GET /map (binary, server/serve_map.c) */
    SV_EP_COUNT
} sv_endpoint;

/* Metric label of an endpoint ("search", "v1_embeddings", ...). */
const char *sv_endpoint_name(sv_endpoint ep);

typedef struct sv_http_limits {
    int max_k;             /* largest k accepted (default 1000) */
    int max_inputs;        /* texts per embedding request (default 256) */
    size_t max_text_bytes; /* bytes per text, search query included (default 64 KiB) */
    int max_ids;           /* positive + negative ids of /recommend (default 100) */
} sv_http_limits;

sv_http_limits sv_http_default_limits(void);

/* ?nprobe= / ?ef_search= of one query (scivec_outdir_set_search; 0: as built). */
typedef struct sv_http_search {
    int nprobe, ef_search;
} sv_http_search;

typedef struct sv_http_request {
    sv_endpoint endpoint;
    const char *asset;     /* SV_EP_ASSET: "index.html" | "app.js" | "style.css" */
    char *paper_id;        /* PAPER, SIMILAR */
    char *text;            /* SEARCH: the query */
    int64_t k;             /* SIMILAR, SEARCH, RECOMMEND */
    scivec_filter filter;  /* SIMILAR, SEARCH, RECOMMEND */
    sv_http_search search; /* SIMILAR, SEARCH */
    char *categories[SV_HTTP_MAX_CATEGORIES];
    char **positive, **negative; /* RECOMMEND */
    int n_positive, n_negative;
    char **inputs;      /* EMBEDDINGS, EMBED */
    size_t *input_lens; /* (texts may hold NUL: JSON "\u0000") */
    int n_inputs;
    int base64;    /* EMBEDDINGS: encoding_format "base64" */
    int normalize; /* EMBED: "normalize" (default true) */
    /* The answer when parsing fails: an HTTP status and why. */
    int status;
    const char *allow; /* 405: the method the path takes */
    char message[320];
} sv_http_request;

/* Parses one request. args are the decoded query arguments (repeats
 * allowed: category=cs.CL&category=cs.CV). body may be NULL when empty and
 * need not be NUL-terminated. Returns 200 with *out filled, or an HTTP error
 * status (also in out->status) with out->message saying what is wrong. Either
 * way the caller releases out with sv_http_request_clear. Never fails on
 * input; only memory exhaustion gives 500. */
int sv_http_parse(const sv_http_limits *limits, const char *method, const char *path, int n_args,
                  const char *const *keys, const char *const *values, const char *body,
                  size_t body_len, sv_http_request *out);
void sv_http_request_clear(sv_http_request *req);

/* Byte offset of the first invalid UTF-8 sequence in s[0..len) (overlong
 * forms, surrogates and code points above U+10FFFF are invalid), or -1. */
long sv_utf8_invalid_at(const char *s, size_t len);

#endif /* SV_SERVER_REQUEST_H */
