/*
 * serve_http.c - the HTTP side of `scivec serve` on libmicrohttpd: one
 * thread per connection (a request waiting for the model blocks only its
 * own connection), with per-client and total connection limits and a
 * whole-request deadline (serve_guard.c). The head is checked first (a NUL
 * in the target, ambiguous body framing, header size, the API key), bodies
 * are collected up to --max-body-bytes (413 beyond), then sv_http_parse
 * routes and validates and serve_handle answers. Refusals are logged, one
 * rate-limited line each (serve_log.c).
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "serve.h"

#define MAX_QUERY_ARGS 64
/* Header fields (not the request line) above this: 431. */
#define SERVE_MAX_HEADER_BYTES (64 * 1024)

struct serve_daemon {
    struct MHD_Daemon *mhd;
};

/* What one request has received so far. */
typedef struct request_state {
    double t0;
    /* The request line's target as received (libmicrohttpd decodes %00 into
     * a NUL that ends the C string: the path or argument would be cut).
     * raw_uri is only compared with the version's address in check_head,
     * never read after on_uri: libmicrohttpd rewrites that buffer. */
    const char *raw_uri;
    size_t raw_uri_len;
    int nul_in_uri;      /* "%00", or a raw NUL byte, in the path or query */
    int checked;         /* the head was checked (first call of on_request) */
    int close;           /* answer with Connection: close (framing in doubt) */
    char shown_uri[128]; /* the target as logged: printable, cut */
    char *body;
    size_t len, cap;
    int too_large;
    size_t discarded; /* bytes dropped after too_large */
    int answered;
} request_state;

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static enum MHD_Result send_reply(struct MHD_Connection *conn, const serve_reply *r) {
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        r->body_len, r->body, r->is_static ? MHD_RESPMEM_PERSISTENT : MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        if (!r->is_static) free(r->body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    /* The page loads only its own script and style: nothing injected runs. */
    if (!strncmp(r->content_type, "text/html", 9))
        MHD_add_response_header(resp, "Content-Security-Policy",
                                "default-src 'self'; frame-ancestors 'none'; base-uri 'none'");
    if (r->allow) MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
    if (r->close) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    if (r->status == 401) MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if (r->retry_after > 0) {
        char seconds[16];
        snprintf(seconds, sizeof seconds, "%d", r->retry_after);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, seconds);
    }
    enum MHD_Result ok = MHD_queue_response(conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ok;
}

typedef struct query_args {
    int n, overflow;
    const char *keys[MAX_QUERY_ARGS], *values[MAX_QUERY_ARGS];
} query_args;

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value) {
    query_args *a = cls;
    if (a->n == MAX_QUERY_ARGS) {
        a->overflow = 1;
        return MHD_NO;
    }
    a->keys[a->n] = key ? key : "";
    a->values[a->n] = value ? value : "";
    a->n++;
    return MHD_YES;
}

/* Counts, logs (refusals, rate-limited) and sends an answer. */
static enum MHD_Result finish(serve_ctx *ctx, struct MHD_Connection *conn, request_state *rs,
                              const char *method, sv_endpoint endpoint, serve_reply *reply) {
    serve_metrics_record(ctx->metrics, endpoint, reply->status, now_seconds() - rs->t0);
    if (reply->status >= 400) serve_log_refusal(ctx->log, method, rs->shown_uri, reply);
    rs->answered = 1;
    enum MHD_Result ok = send_reply(conn, reply);
    serve_guard_busy(ctx->guard, conn, 0); /* the client reads it: counted again */
    return ok;
}

/* MHD_OPTION_URI_LOG_CALLBACK: sees the request target before it is
 * decoded; what it returns is the request's *con_cls. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn) {
    (void)cls;
    (void)conn;
    request_state *rs = calloc(1, sizeof *rs);
    if (!rs) return NULL;
    rs->t0 = now_seconds();
    rs->raw_uri = uri;
    rs->raw_uri_len = uri ? strlen(uri) : 0;
    rs->nul_in_uri = uri && strstr(uri, "%00") != NULL;
    serve_log_printable(rs->shown_uri, sizeof rs->shown_uri, uri ? uri : "");
    return rs;
}

typedef struct framing {
    int n_content_length, lengths_differ, transfer_encoding;
    const char *first_length;
    size_t header_bytes;
} framing;

static enum MHD_Result collect_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                       const char *value) {
    framing *f = cls;
    (void)kind;
    key = key ? key : "";
    value = value ? value : "";
    f->header_bytes += strlen(key) + strlen(value) + 4; /* ": " and CRLF */
    if (!strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH)) {
        if (f->n_content_length++ == 0)
            f->first_length = value;
        else if (strcmp(f->first_length, value))
            f->lengths_differ = 1;
    } else if (!strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING)) {
        f->transfer_encoding = 1;
    }
    return MHD_YES;
}

/* What must be refused before anything else is read: a NUL in the target
 * and ambiguous framing (RFC 9112 section 6.3: several different
 * Content-Length values, or Content-Length with Transfer-Encoding, are
 * errors; a server that guessed could read a smuggled request). Returns 0,
 * or an error status with reply filled. */
static int check_head(serve_ctx *ctx, struct MHD_Connection *conn, request_state *rs,
                      const char *url, const char *version, serve_reply *reply) {
    /* libmicrohttpd ends the target at the space before the version and
     * puts the version right after it: a raw NUL byte in the target shows
     * as a gap between the end of the C string and the version. */
    if (rs->raw_uri && version && *version && version != rs->raw_uri + rs->raw_uri_len + 1)
        rs->nul_in_uri = 1;
    if (rs->nul_in_uri) {
        serve_error(reply, 400, "the path or a query argument holds a NUL byte (%%00)");
        return 400;
    }
    framing f = {0};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_framing, &f);
    if (f.lengths_differ) {
        rs->close = 1;
        serve_error(reply, 400, "the request has Content-Length headers with different values");
        return 400;
    }
    if (f.n_content_length && f.transfer_encoding) {
        rs->close = 1;
        serve_error(reply, 400, "the request has both Content-Length and Transfer-Encoding");
        return 400;
    }
    if (f.header_bytes > SERVE_MAX_HEADER_BYTES) {
        rs->close = 1;
        serve_error(reply, 431, "the request headers are %zu bytes long (at most %d)",
                    f.header_bytes, SERVE_MAX_HEADER_BYTES);
        return 431;
    }
    if (ctx->api_key && !serve_authorized(ctx, conn, url)) {
        rs->close = 1; /* (a body it sent is not read) */
        serve_error(reply, 401, "this server needs Authorization: Bearer KEY (--api-key-file)");
        return 401;
    }
    return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls) {
    serve_ctx *ctx = cls;
    request_state *rs = *con_cls;
    if (!rs) return MHD_NO; /* (out of memory in on_uri) */
    if (!rs->checked) {
        rs->checked = 1;
        serve_reply reply = {0};
        if (check_head(ctx, conn, rs, url, version, &reply)) {
            reply.close = rs->close;
            return finish(ctx, conn, rs, method, SV_EP_NONE, &reply);
        }
        /* A declared body over the limit is refused before it is read. */
        const char *declared =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (declared && strtoull(declared, NULL, 10) > ctx->max_body_bytes) {
            rs->too_large = 1;
        } else {
            return MHD_YES;
        }
    }
    if (rs->answered) {
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size > 0 && rs->too_large) {
        /* A chunked body that went over: MHD cannot answer mid-upload, so
         * the rest is read and dropped, up to a point, then the
         * connection is closed without an answer. */
        rs->discarded += *upload_size;
        *upload_size = 0;
        return rs->discarded > 16 * ctx->max_body_bytes ? MHD_NO : MHD_YES;
    }
    if (*upload_size > 0) {
        if (rs->len + *upload_size > ctx->max_body_bytes) {
            rs->too_large = 1;
            free(rs->body);
            rs->body = NULL;
            rs->len = 0;
            rs->discarded = *upload_size;
            *upload_size = 0;
            return MHD_YES;
        } else {
            if (rs->len + *upload_size > rs->cap) {
                size_t cap = (rs->len + *upload_size) * 2;
                if (cap > ctx->max_body_bytes) cap = ctx->max_body_bytes;
                char *bigger = realloc(rs->body, cap);
                if (!bigger) return MHD_NO;
                rs->body = bigger;
                rs->cap = cap;
            }
            memcpy(rs->body + rs->len, upload_data, *upload_size);
            rs->len += *upload_size;
            *upload_size = 0;
            return MHD_YES;
        }
    }
    serve_guard_busy(ctx->guard, conn, 1); /* received: computing is not the client's time */
    serve_reply reply = {0};
    sv_http_request req;
    memset(&req, 0, sizeof req);
    if (rs->too_large) {
        /* (A declared length over the limit is answered before its body is
         * read; MHD then closes the connection.) */
        serve_error(&reply, 413, "the request body is over %zu bytes (--max-body-bytes)",
                    ctx->max_body_bytes);
        req.endpoint = SV_EP_NONE;
    } else {
        query_args args = {0};
        MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, &args);
        if (args.overflow) {
            serve_error(&reply, 400, "more than %d query arguments", MAX_QUERY_ARGS);
        } else {
            int status = sv_http_parse(&ctx->limits, method, url, args.n, args.keys, args.values,
                                       rs->body, rs->len, &req);
            if (status == 200) {
                serve_handle(ctx, &req, &reply);
            } else {
                serve_error(&reply, status, "%s", req.message);
                reply.allow = req.allow;
            }
        }
    }
    sv_endpoint endpoint = req.endpoint;
    sv_http_request_clear(&req);
    return finish(ctx, conn, rs, method, endpoint, &reply);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    serve_ctx *ctx = cls;
    serve_guard_busy(ctx->guard, conn, 0); /* the next request's clock starts */
    request_state *rs = *con_cls;
    if (!rs) return;
    free(rs->body);
    free(rs);
    *con_cls = NULL;
}

static int is_loopback(const struct sockaddr_storage *addr) {
    if (addr->ss_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)addr;
        return (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
    }
    const struct in6_addr *a6 = &((const struct sockaddr_in6 *)addr)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(a6) || (IN6_IS_ADDR_V4MAPPED(a6) && a6->s6_addr[12] == 127);
}

int serve_http_start(serve_ctx *ctx, const char *host, int port, const serve_net_limits *net,
                     serve_daemon **out, int *bound_port) {
    *out = NULL;
    struct sockaddr_storage addr;
    memset(&addr, 0, sizeof addr);
    /* One thread per connection: a handler blocks while the model embeds its
     * texts, and that must not stall other connections. poll(), not
     * select(): descriptors above 1023 are fine. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_POLL | MHD_USE_ERROR_LOG;
    /* libmicrohttpd answers a head that does not fit a connection's memory
     * itself (414/431 with an HTML body): make room for the longest query
     * scivec accepts, percent-encoded, plus the headers, so that scivec sees
     * the request and answers with its JSON 413/414/431. */
    size_t head_room = 3 * ctx->limits.max_text_bytes + 2 * SERVE_MAX_HEADER_BYTES;
    if (head_room < 256 * 1024) head_room = 256 * 1024;
    if (head_room > 4 * 1024 * 1024) head_room = 4 * 1024 * 1024;
    /* A literal address or a host name (localhost): the first address
     * getaddrinfo gives. */
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *found = NULL;
    int gai = getaddrinfo(host, NULL, &hints, &found);
    if (gai != 0 || !found) {
        fprintf(stderr, "scivec serve: --host '%s': %s\n", host,
                gai ? gai_strerror(gai) : "no address");
        if (found) freeaddrinfo(found);
        return 2;
    }
    memcpy(&addr, found->ai_addr, found->ai_addrlen);
    freeaddrinfo(found);
    if (addr.ss_family == AF_INET6) {
        ((struct sockaddr_in6 *)&addr)->sin6_port = htons((uint16_t)port);
        flags |= MHD_USE_IPv6;
    } else {
        ((struct sockaddr_in *)&addr)->sin_port = htons((uint16_t)port);
    }
    if (!ctx->api_key && !is_loopback(&addr))
        fprintf(stderr,
                "scivec serve: warning: --host %s reaches beyond this machine and there is "
                "no --api-key-file: anyone who can connect can search and embed\n",
                host);
    serve_daemon *d = calloc(1, sizeof *d);
    if (!d) return 1;
    d->mhd = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, ctx,
                              /* first, so that no message goes to MHD's own stderr logger */
                              MHD_OPTION_EXTERNAL_LOGGER, serve_log_http, (void *)ctx->log,
                              MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                              MHD_OPTION_NOTIFY_COMPLETED, on_completed, ctx,
                              MHD_OPTION_NOTIFY_CONNECTION, serve_guard_notify, (void *)ctx->guard,
                              MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
                              MHD_OPTION_CONNECTION_LIMIT, (unsigned)net->max_connections,
                              MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)net->max_per_client,
                              /* idle connections go after the deadline too */
                              MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)net->request_timeout_s,
                              MHD_OPTION_CONNECTION_MEMORY_LIMIT, head_room, MHD_OPTION_END);
    if (!d->mhd) {
        fprintf(stderr,
                "scivec serve: cannot listen on %s port %d (in use, or not an address "
                "of this machine?)\n",
                host, port);
        free(d);
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d->mhd, MHD_DAEMON_INFO_BIND_PORT);
    *bound_port = info ? info->port : port;
    *out = d;
    return 0;
}

void serve_http_stop(serve_daemon *d) {
    if (!d) return;
    MHD_stop_daemon(d->mhd);
    free(d);
}
