/*
 * serve.h - what the parts of `scivec serve` share: the loaded output
 * directory and model, the limits, the metrics. cmd_serve.c loads and
 * starts, serve_http.c speaks HTTP (libmicrohttpd), serve_handlers.c answers
 * each endpoint, serve_metrics.c counts.
 */
#ifndef SCIVEC_SERVE_H
#define SCIVEC_SERVE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "../src/batcher.h"
#include "../src/query.h"
#include "../src/server_request.h"
#include "scivec.h"

typedef struct serve_metrics serve_metrics;

typedef struct serve_ctx {
    sv_outdir      *od;            /* opened and checked once; reader 0 */
    /* Readers: views of od that share its vectors, index and metadata but
     * each have their own read-only SQLite connection (a connection may be
     * used by one thread at a time). A paper query takes one for its
     * duration; FAISS searches on the shared index are const and
     * thread-safe. */
    sv_outdir     **readers;
    int             n_readers;
    sv_outdir     **idle;          /* the readers not in use: idle[0..n_idle) */
    int             n_idle;
    pthread_mutex_t readers_lock;
    pthread_cond_t  reader_freed;
    scivec_model   *model;
    sv_batcher     *batcher;
    const char     *model_name;    /* as metadata.json names it */
    const char     *pooling;
    int             dim;
    const char     *text_column;   /* the abstract column of paper_columns */
    sv_http_limits  limits;
    size_t          max_body_bytes;
    int             timeout_ms;
    serve_metrics  *metrics;
} serve_ctx;

/* One answer: status, content type and body (owned unless is_static). */
typedef struct serve_reply {
    int          status;
    const char  *content_type;
    char        *body;
    size_t       body_len;
    int          is_static;
    const char  *allow;          /* 405 */
    int          retry_after;    /* 503: seconds, 0 = none */
} serve_reply;

/* Opens n_readers readers over ctx->od (0 on success, else prints why and
 * returns 1); closes them (not ctx->od). */
int  serve_readers_open(serve_ctx *ctx, const char *dir, int n_readers);
void serve_readers_close(serve_ctx *ctx);
/* Waits for an idle reader and takes it; gives it back. */
const sv_outdir *serve_reader_acquire(serve_ctx *ctx);
void serve_reader_release(serve_ctx *ctx, const sv_outdir *reader);

/* Answers a parsed request (status 200 from sv_http_parse). */
void serve_handle(serve_ctx *ctx, const sv_http_request *req, serve_reply *reply);
/* An error answer {"error": {"code", "type", "message"}}. */
void serve_error(serve_reply *reply, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* HTTP: starts the daemon on host:port (port 0 = any free one; the port
 * taken goes to *bound_port). */
typedef struct serve_daemon serve_daemon;
int  serve_http_start(serve_ctx *ctx, const char *host, int port, int max_connections,
                      serve_daemon **out, int *bound_port);
void serve_http_stop(serve_daemon *d);

/* Metrics */
serve_metrics *serve_metrics_new(void);
void serve_metrics_free(serve_metrics *m);
void serve_metrics_record(serve_metrics *m, sv_endpoint ep, int status, double seconds);
/* The Prometheus text exposition (malloc'ed). */
char *serve_metrics_render(serve_metrics *m, const serve_ctx *ctx, size_t *len);

/* The embedded web page (web_assets.c, generated at build time). */
extern const struct { const char *name; const unsigned char *data; size_t size; } serve_web_assets[];

/* Adds to model the adapter DIR/metadata.json records for queries, else the
 * papers' one (SPECTER2 pairs adhoc_query queries with proximity papers):
 * *adapter_id, 0 when none is recorded. Returns 0 or the exit status, having
 * printed why as "scivec <command>: ..." (serve_adapter.c). */
int query_add_recorded_adapter(const char *command, const sv_outdir *od, scivec_model *model,
                               int *adapter_id);

#endif /* SCIVEC_SERVE_H */
