/*
 * serve.h - what the parts of `scivec serve` share: the loaded output
 * directory and model, the limits, the metrics. serve_run.c loads and
 * starts, serve_http.c speaks HTTP (libmicrohttpd), serve_handlers.c answers
 * each endpoint, serve_metrics.c counts. The server uses libscivec through
 * its public API (include/scivec.h) only.
 */
#ifndef SCIVEC_SERVE_H
#define SCIVEC_SERVE_H

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "batcher.h"
#include "scivec.h"
#include "scivec_server.h"
#include "server_request.h"

typedef struct serve_metrics serve_metrics;
typedef struct serve_log serve_log;
typedef struct serve_guard serve_guard;

/* An opened output directory and its readers (scivec_outdir_open_reader):
 * handles on od that share its vectors, index and metadata but each have
 * their own read-only SQLite connection (a connection may be used by one
 * thread at a time) and search parameters. A paper query takes one for its
 * duration; FAISS searches on the shared index are const and thread-safe.
 * SIGHUP replaces it (serve_readers.c). */
typedef struct serve_data {
    scivec_outdir *od; /* opened and checked; reader 0 */
    scivec_outdir **readers;
    int n_readers;
    scivec_outdir **idle; /* the readers not in use: idle[0..n_idle) */
    int n_idle;
    pthread_mutex_t lock;
    pthread_cond_t reader_freed;
    int refs;       /* the server's + requests'; under ctx->data_lock */
    int generation; /* 0 at start, +1 per reload */
} serve_data;

typedef struct serve_ctx {
    serve_data *data; /* the current one (ctx->data_lock) */
    pthread_mutex_t data_lock;
    scivec_model *model;
    sv_batcher *batcher;
    char *model_name; /* as metadata.json names it */
    char *pooling;
    int dim;
    int normalize;     /* the papers' normalisation, for embedding */
    int max_length;    /* the papers' max_length (a reload must keep it) */
    char precision[8]; /* the papers' precision (a reload must keep it) */
    sv_http_limits limits;
    size_t max_body_bytes;
    int timeout_ms;
    serve_metrics *metrics;
    serve_log *log;
    serve_guard *guard; /* the whole-request deadline */
    char *api_key;      /* --api-key-file, or NULL: no authentication */
    size_t api_key_len;
} serve_ctx;

/* One answer: status, content type and body (owned unless is_static). */
typedef struct serve_reply {
    int status;
    const char *content_type;
    char *body;
    size_t body_len;
    int is_static;
    const char *allow; /* 405 */
    int retry_after;   /* 503: seconds, 0 = none */
    int close;         /* Connection: close (the framing is in doubt) */
    char message[160]; /* errors: the message, for the log */
} serve_reply;

struct MHD_Connection;

/* Opens dir with n_readers readers (0, else 1 with why filled); closes
 * one. */
int serve_data_open(const char *dir, int n_readers, serve_data **out, char *why, size_t why_size);
void serve_data_close(serve_data *d);
/* Takes a reference to the current data; gives it back (the last one of a
 * replaced data closes it). */
serve_data *serve_data_acquire(serve_ctx *ctx);
void serve_data_release(serve_ctx *ctx, serve_data *d);
/* Installs fresh as the current data; the old one is closed when the
 * requests still on it are done. */
void serve_data_swap(serve_ctx *ctx, serve_data *fresh);
/* Waits for an idle reader of the current data and takes it (with a
 * reference to its data); gives it back. */
typedef struct serve_reader {
    serve_data *data;
    scivec_outdir *od; /* this request's alone until released */
} serve_reader;
serve_reader serve_reader_acquire(serve_ctx *ctx);
void serve_reader_release(serve_ctx *ctx, serve_reader reader);

/* Answers a parsed request (status 200 from sv_http_parse). */
void serve_handle(serve_ctx *ctx, const sv_http_request *req, serve_reply *reply);
/* An error answer {"error": {"code", "type", "message"}}. */
void serve_error(serve_reply *reply, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* --api-key-file: reads the key into ctx (0, else prints why and returns
 * the exit status). serve_authorized: whether a request may go on (always
 * for /health and the page's files). */
int serve_read_api_key(serve_ctx *ctx, const char *path);
int serve_authorized(serve_ctx *ctx, struct MHD_Connection *conn, const char *url);

/* GET /map: map.npy and the papers' ids, titles, categories (serve_map.c). */
void serve_handle_map(serve_ctx *ctx, serve_reply *r);

/* HTTP: starts the daemon on host:port (port 0 = any free one; the port
 * taken goes to *bound_port). */
typedef struct serve_daemon serve_daemon;
typedef struct serve_net_limits {
    int max_connections;   /* in all */
    int max_per_client;    /* from one client address */
    int request_timeout_s; /* the whole-request deadline (serve_guard.c) */
} serve_net_limits;
int serve_http_start(serve_ctx *ctx, const char *host, int port, const serve_net_limits *net,
                     serve_daemon **out, int *bound_port);
void serve_http_stop(serve_daemon *d);

/* The log of refused requests (serve_log.c): one line each on stderr, at
 * most per_second lines a second; the rest are counted and the count is
 * logged with the next line that gets through. */
serve_log *serve_log_new(int per_second);
void serve_log_free(serve_log *log);
void serve_log_refusal(serve_log *log, const char *method, const char *target,
                       const serve_reply *reply);
/* libmicrohttpd's own messages (MHD_OPTION_EXTERNAL_LOGGER), through the
 * same limit, on one line without its HTML. */
void serve_log_http(void *log, const char *fmt, va_list ap);
/* s as one printable line into out (control bytes and non-ASCII as \xHH,
 * cut with "..." to fit). */
void serve_log_printable(char *out, size_t size, const char *s);

/* The whole-request deadline (serve_guard.c): a thread that shuts down
 * connections whose client took longer than deadline_seconds to send a
 * request or read an answer. serve_guard_notify is the daemon's
 * MHD_OPTION_NOTIFY_CONNECTION; serve_guard_busy marks a connection whose
 * answer is being computed (busy = 1: not counted) or sent (0: the clock
 * restarts). serve_guard_closed: connections shut so far. */
struct MHD_Connection;
enum MHD_ConnectionNotificationCode;
serve_guard *serve_guard_start(double deadline_seconds);
void serve_guard_stop(serve_guard *g);
void serve_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                        enum MHD_ConnectionNotificationCode code);
void serve_guard_busy(serve_guard *g, struct MHD_Connection *conn, int busy);
long long serve_guard_closed(serve_guard *g);

/* Metrics */
serve_metrics *serve_metrics_new(void);
void serve_metrics_free(serve_metrics *m);
void serve_metrics_record(serve_metrics *m, sv_endpoint ep, int status, double seconds);
/* The Prometheus text exposition (malloc'ed). */
char *serve_metrics_render(serve_metrics *m, const serve_ctx *ctx, size_t *len);

/* The embedded web page (web_assets.c, generated at build time). */
extern const struct {
    const char *name;
    const unsigned char *data;
    size_t size;
} serve_web_assets[];

#endif /* SCIVEC_SERVE_H */
