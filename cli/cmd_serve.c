/*
 * cmd_serve.c - `scivec serve DIR`: an HTTP API and a web page over an embed
 * output (docs/SERVER.md). Loads DIR and its model once, starts the
 * embedding worker and the HTTP daemon, prints where it listens and runs
 * until SIGINT or SIGTERM.
 */
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "commands.h"
#include "query_common.h"
#include "serve.h"

static const char usage[] =
    "usage: scivec serve DIR [--host 127.0.0.1] [--port 8080] [--model M] [--threads N]\n"
    "                        [--max-batch-tokens N] [--max-queue N] [--timeout-ms N]\n"
    "                        [--max-body-bytes N] [--max-inputs N] [--max-text-bytes N]\n"
    "                        [--max-k N] [--max-connections N] [--readers N]\n"
    "                        [--api-key-file FILE] [--precision P [--force-precision]]\n"
    "  DIR                  output directory of `scivec embed`\n"
    "  --host H             address or host name to listen on (default 127.0.0.1: this\n"
    "                       machine only)\n"
    "  --api-key-file FILE  every request but /health and the page needs\n"
    "                       `Authorization: Bearer KEY`, KEY being FILE's one line\n"
    "  --port P             TCP port (default 8080; 0 = any free port, printed on stdout)\n"
    "  --model M            model for queries and /v1/embeddings (default: metadata.json's;\n"
    "                       it must be the model the papers were embedded with)\n"
    "  --threads N          threads of the model (default: all cores)\n"
    "  --precision P        dense layers of the query model in fp32, bf16 or int8; default\n"
    "                       and required: the folder's (metadata.json \"precision\"), so that\n"
    "                       queries land where the papers are. --force-precision allows\n"
    "                       another (e.g. fp32 on a CPU without VNNI for an int8 folder)\n"
    "  --max-batch-tokens N tokens per model call; requests are batched up to it (default 8192)\n"
    "  --max-queue N        embedding requests that may wait; beyond, 503 (default 256)\n"
    "  --timeout-ms N       an embedding request not done by then gets 503 (default 30000)\n"
    "  --max-body-bytes N   request bodies above it get 413 (default 2097152)\n"
    "  --max-inputs N       texts per embedding request, above: 413 (default 256)\n"
    "  --max-text-bytes N   bytes per text or query, above: 413 (default 65536)\n"
    "  --max-k N            largest k (default 1000)\n"
    "  --max-connections N  simultaneous connections (default 1024)\n"
    "  --max-connections-per-client N\n"
    "                       simultaneous connections from one client address (default 128)\n"
    "  --request-timeout-s N  a client must send a whole request, and read its answer,\n"
    "                       within N seconds; idle connections close after N (default 30)\n"
    "  --readers N          paper queries that run at once, each on its own SQLite\n"
    "                       connection (default: the number of cores, at most 8)\n";

typedef struct serve_options {
    const char *dir, *host, *model, *api_key_file, *precision;
    int force_precision;
    long long port, threads, max_batch_tokens, max_queue, timeout_ms, max_body_bytes;
    long long max_inputs, max_text_bytes, max_k, max_connections, readers;
    long long max_per_client, request_timeout_s;
} serve_options;

static int parse_number(const char *text, long long lo, long long hi, long long *out) {
    char *end;
    long long v = strtoll(text, &end, 10);
    if (end == text || *end || v < lo || v > hi) return 0;
    *out = v;
    return 1;
}

/* -1: go on; else the exit status. */
static int parse_args(int argc, char **argv, serve_options *o) {
    *o = (serve_options){.host = "127.0.0.1", .port = 8080, .max_batch_tokens = 8192,
                         .max_queue = 256, .timeout_ms = 30000, .max_body_bytes = 2 << 20,
                         .max_inputs = 256, .max_text_bytes = 64 << 10, .max_k = 1000,
                         .max_connections = 1024, .readers = 0, .max_per_client = 128,
                         .request_timeout_s = 30};
    static const struct { const char *name; size_t offset; long long lo, hi; } numbers[] = {
        {"--port", offsetof(serve_options, port), 0, 65535},
        {"--threads", offsetof(serve_options, threads), 0, 4096},
        {"--max-batch-tokens", offsetof(serve_options, max_batch_tokens), 1, 1 << 24},
        {"--max-queue", offsetof(serve_options, max_queue), 1, 1 << 20},
        {"--timeout-ms", offsetof(serve_options, timeout_ms), 1, 3600 * 1000},
        {"--max-body-bytes", offsetof(serve_options, max_body_bytes), 1, 1LL << 30},
        {"--max-inputs", offsetof(serve_options, max_inputs), 1, 1 << 20},
        {"--max-text-bytes", offsetof(serve_options, max_text_bytes), 1, 1 << 30},
        {"--max-k", offsetof(serve_options, max_k), 1, 1000000},
        {"--max-connections", offsetof(serve_options, max_connections), 1, 65536},
        {"--readers", offsetof(serve_options, readers), 1, 256},
        {"--max-connections-per-client", offsetof(serve_options, max_per_client), 1, 65536},
        {"--request-timeout-s", offsetof(serve_options, request_timeout_s), 1, 3600},
    };
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *eq = strchr(arg, '='), *value = NULL;
        size_t name_len = eq && arg[0] == '-' ? (size_t)(eq - arg) : strlen(arg);
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) { fputs(usage, stdout); return 0; }
        if (!strcmp(arg, "--force-precision")) { o->force_precision = 1; continue; }
        if (arg[0] != '-') {
            if (o->dir) {
                fprintf(stderr, "scivec serve: unexpected argument '%s'\n%s", arg, usage);
                return 2;
            }
            o->dir = arg;
            continue;
        }
        if (eq) value = eq + 1;
        else if (i + 1 < argc) value = argv[++i];
        else {
            fprintf(stderr, "scivec serve: %s needs a value\n%s", arg, usage);
            return 2;
        }
        int known = 0;
        if (name_len == 6 && !strncmp(arg, "--host", 6)) { o->host = value; known = 1; }
        else if (name_len == 7 && !strncmp(arg, "--model", 7)) { o->model = value; known = 1; }
        else if (name_len == 14 && !strncmp(arg, "--api-key-file", 14)) { o->api_key_file = value; known = 1; }
        else if (name_len == 11 && !strncmp(arg, "--precision", 11)) {
            scivec_precision unused;
            if (cli_precision_option("serve", value, &unused)) return 2;
            o->precision = value;
            known = 1;
        }
        for (size_t j = 0; !known && j < sizeof numbers / sizeof numbers[0]; j++) {
            if (strlen(numbers[j].name) != name_len || strncmp(arg, numbers[j].name, name_len)) continue;
            known = 1;
            long long *field = (long long *)((char *)o + numbers[j].offset);
            if (!parse_number(value, numbers[j].lo, numbers[j].hi, field)) {
                fprintf(stderr, "scivec serve: %.*s '%s': expected a whole number from %lld to %lld\n",
                        (int)name_len, arg, value, numbers[j].lo, numbers[j].hi);
                return 2;
            }
        }
        if (!known) {
            fprintf(stderr, "scivec serve: unknown option '%.*s'\n%s", (int)name_len, arg, usage);
            return 2;
        }
    }
    if (!o->dir) {
        fprintf(stderr, "scivec serve: expected DIR\n%s", usage);
        return 2;
    }
    return -1;
}

/* metadata.json's "precision" (fp32 when absent, as older folders were). */
static const char *recorded_precision(const sv_outdir *od) {
    const cJSON *precision = cJSON_GetObjectItemCaseSensitive(od->metadata, "precision");
    return cJSON_IsString(precision) ? precision->valuestring : "fp32";
}

/* The model the papers were embedded with (as `scivec search` picks it), and
 * the encode parameters that put texts in their space. */
static int load_model(serve_ctx *ctx, const serve_options *o, scivec_encode_params *ep) {
    const sv_outdir *od = ctx->data->od;
    if (!od->pooling || !od->model_name) {
        fprintf(stderr, "scivec serve: %s/metadata.json does not say which model and pooling "
                "made the embeddings\n", o->dir);
        return 1;
    }
    /* Queries (and /v1/embeddings, /embed) land in the papers' space only
     * with the model, pooling and adapter the papers were embedded with:
     * the library reads them from metadata.json as `scivec search` does. */
    char note[1024];
    if (scivec_query_model_load_as(o->dir, o->model, (int)o->threads, o->precision,
                                   o->force_precision, &ctx->model, ep, note,
                                   sizeof note) != SCIVEC_OK)
        return cli_fail("serve");
    if (note[0]) fprintf(stderr, "scivec serve: %s\n", note);
    if (scivec_model_precision(ctx->model) != SCIVEC_PRECISION_FP32)
        fprintf(stderr, "scivec serve: queries and /v1/embeddings in %s\n",
                scivec_precision_name(scivec_model_precision(ctx->model)));
    int dim = scivec_model_dim(ctx->model);
    ctx->dim = dim;
    ctx->normalize = od->normalize;
    /* (copies: a reload closes the metadata they came from) */
    ctx->model_name = strdup(od->model_name);
    ctx->pooling = strdup(od->pooling);
    ctx->max_length = od->max_length;
    snprintf(ctx->precision, sizeof ctx->precision, "%s", recorded_precision(od));
    if (!ctx->model_name || !ctx->pooling) {
        fprintf(stderr, "scivec serve: out of memory\n");
        return 1;
    }
    return 0;
}

/* Why a freshly opened directory cannot replace the served one (the model
 * stays loaded: the vectors must be in its space), or NULL. */
static const char *reload_mismatch(const serve_ctx *ctx, const sv_outdir *od, char *why, size_t size) {
    if (!od->model_name || strcmp(od->model_name, ctx->model_name))
        snprintf(why, size, "its model is %s, not %s", od->model_name ? od->model_name : "unknown",
                 ctx->model_name);
    else if (!od->pooling || strcmp(od->pooling, ctx->pooling))
        snprintf(why, size, "its pooling is %s, not %s", od->pooling ? od->pooling : "unknown", ctx->pooling);
    else if (od->n_cols != ctx->dim)
        snprintf(why, size, "its vectors have %lld dimensions, not %d", (long long)od->n_cols, ctx->dim);
    else if (od->normalize != ctx->normalize)
        snprintf(why, size, "its vectors are %snormalised, the served ones %s",
                 od->normalize ? "" : "not ", ctx->normalize ? "are" : "are not");
    else if (od->max_length != ctx->max_length)
        snprintf(why, size, "its max_length is %d, not %d", od->max_length, ctx->max_length);
    else if (strcmp(recorded_precision(od), ctx->precision))
        snprintf(why, size, "its papers were embedded in %s, not %s", recorded_precision(od),
                 ctx->precision);
    else
        return NULL;
    return why;
}

/* SIGHUP: opens dir again and swaps it in; requests in flight finish on
 * the old data. On any problem the old data stays and the log says why. */
static void reload(serve_ctx *ctx, const char *dir, int n_readers) {
    char why[600], mismatch[300];
    serve_data *fresh = NULL;
    if (serve_data_open(dir, n_readers, &fresh, why, sizeof why)) {
        fprintf(stderr, "scivec serve: SIGHUP: %s not reloaded (%s); still serving the previous data\n",
                dir, why);
        return;
    }
    if (reload_mismatch(ctx, fresh->od, mismatch, sizeof mismatch)) {
        fprintf(stderr, "scivec serve: SIGHUP: %s not reloaded: %s (restart the server for another "
                "model); still serving the previous data\n", dir, mismatch);
        serve_data_close(fresh);
        return;
    }
    long long n = (long long)fresh->od->n_rows;
    serve_data_swap(ctx, fresh);
    fprintf(stderr, "scivec serve: SIGHUP: reloaded %s: %lld papers\n", dir, n);
}

int cmd_serve(int argc, char **argv) {
    serve_options o;
    int status = parse_args(argc, argv, &o);
    if (status >= 0) return status;

    serve_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.limits = sv_http_default_limits();
    ctx.limits.max_k = (int)o.max_k;
    ctx.limits.max_inputs = (int)o.max_inputs;
    ctx.limits.max_text_bytes = (size_t)o.max_text_bytes;
    ctx.max_body_bytes = (size_t)o.max_body_bytes;
    ctx.timeout_ms = (int)o.timeout_ms;
    serve_daemon *daemon = NULL;
    status = 1;

    pthread_mutex_init(&ctx.data_lock, NULL);
    if (o.api_key_file && (status = serve_read_api_key(&ctx, o.api_key_file))) goto done;
    status = 1;
    int n_readers = (int)o.readers;
    if (n_readers == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        n_readers = cores < 1 ? 1 : cores > 8 ? 8 : (int)cores;
    }
    char why[600];
    if (serve_data_open(o.dir, n_readers, &ctx.data, why, sizeof why)) {
        fprintf(stderr, "scivec serve: %s\n", why);
        goto done;
    }

    scivec_encode_params ep;
    if (load_model(&ctx, &o, &ep)) goto done;
    sv_batcher_params bp = {.max_batch_tokens = (int)o.max_batch_tokens, .max_queue = (int)o.max_queue};
    if (sv_batcher_start(ctx.model, &ep, &bp, &ctx.batcher) != SCIVEC_OK) { cli_fail("serve"); goto done; }
    if (!(ctx.metrics = serve_metrics_new()) || !(ctx.log = serve_log_new(20))) { fprintf(stderr, "scivec serve: out of memory\n"); goto done; }

    /* The signals go to this thread only (sigwait below): block them before
     * any other thread starts, so that every thread inherits the mask. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGHUP);    /* reload DIR */
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* A descriptor per connection: let the process have as many as it may. */
    struct rlimit files;
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max;
        setrlimit(RLIMIT_NOFILE, &files);
    }
    if (!(ctx.guard = serve_guard_start((double)o.request_timeout_s))) {
        fprintf(stderr, "scivec serve: cannot start a thread\n");
        goto done;
    }
    serve_net_limits net = {.max_connections = (int)o.max_connections,
                            .max_per_client = (int)o.max_per_client,
                            .request_timeout_s = (int)o.request_timeout_s};
    int port = 0;
    if ((status = serve_http_start(&ctx, o.host, (int)o.port, &net, &daemon, &port))) {
        status = status == 2 ? 2 : 1;
        goto done;
    }
    const char *shown_host = strchr(o.host, ':') ? "[%s]" : "%s";
    char host[80];
    snprintf(host, sizeof host, shown_host, o.host);
    printf("scivec serve: %lld papers from %s, model %s (%s pooling), listening on http://%s:%d/\n",
           (long long)ctx.data->od->n_rows, o.dir, ctx.model_name, ctx.pooling, host, port);
    fflush(stdout);

    int sig = 0;
    while (sigwait(&stop_signals, &sig) == 0 && sig == SIGHUP) reload(&ctx, o.dir, n_readers);
    fprintf(stderr, "scivec serve: %s, stopping\n", sig == SIGINT ? "interrupted" : "terminated");
    status = 0;
done:
    serve_http_stop(daemon);        /* joins the request threads first */
    serve_guard_stop(ctx.guard);
    sv_batcher_stop(ctx.batcher);
    serve_metrics_free(ctx.metrics);
    serve_log_free(ctx.log);
    free(ctx.api_key);
    scivec_model_free(ctx.model);
    if (ctx.data) serve_data_release(&ctx, ctx.data);   /* no request is left on it */
    pthread_mutex_destroy(&ctx.data_lock);
    free(ctx.model_name);
    free(ctx.pooling);
    return status;
}
