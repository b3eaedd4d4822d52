/*
 * serve_run.c - `scivec serve DIR` once its options are parsed: loads DIR
 * and its model once, starts the embedding worker and the HTTP daemon,
 * prints where it listens and runs until SIGINT or SIGTERM; SIGHUP reloads
 * DIR (serve_readers.c).
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "serve.h"

/* The model the papers were embedded with (as `scivec search` picks it), and
 * the encode parameters that put texts in their space. */
static int load_model(serve_ctx *ctx, const serve_options *o, scivec_encode_params *ep) {
    const scivec_outdir *od = ctx->data->od;
    const char *model_name = scivec_outdir_model_name(od), *pooling = scivec_outdir_pooling(od);
    if (!pooling || !model_name) {
        fprintf(stderr,
                "scivec serve: %s/metadata.json does not say which model and pooling "
                "made the embeddings\n",
                o->dir);
        return 1;
    }
    /* Queries (and /v1/embeddings, /embed) land in the papers' space only
     * with the model, pooling and adapter the papers were embedded with:
     * the library reads them from metadata.json as `scivec search` does. */
    char note[1024];
    if (scivec_query_model_load_as(o->dir, o->model, (int)o->threads, o->precision,
                                   o->force_precision, &ctx->model, ep, note,
                                   sizeof note) != SCIVEC_OK) {
        fprintf(stderr, "scivec serve: %s\n", scivec_last_error());
        return 1;
    }
    if (note[0]) fprintf(stderr, "scivec serve: %s\n", note);
    if (scivec_model_precision(ctx->model) != SCIVEC_PRECISION_FP32)
        fprintf(stderr, "scivec serve: queries and /v1/embeddings in %s\n",
                scivec_precision_name(scivec_model_precision(ctx->model)));
    int dim = scivec_model_dim(ctx->model);
    ctx->dim = dim;
    ctx->normalize = scivec_outdir_normalize(od);
    /* (copies: a reload closes the metadata they came from) */
    ctx->model_name = strdup(model_name);
    ctx->pooling = strdup(pooling);
    ctx->max_length = scivec_outdir_max_length(od);
    snprintf(ctx->precision, sizeof ctx->precision, "%s", scivec_outdir_precision(od));
    if (!ctx->model_name || !ctx->pooling) {
        fprintf(stderr, "scivec serve: out of memory\n");
        return 1;
    }
    return 0;
}

/* Why a freshly opened directory cannot replace the served one (the model
 * stays loaded: the vectors must be in its space), or NULL. */
static const char *reload_mismatch(const serve_ctx *ctx, const scivec_outdir *od, char *why,
                                   size_t size) {
    const char *model_name = scivec_outdir_model_name(od), *pooling = scivec_outdir_pooling(od);
    int normalize = scivec_outdir_normalize(od), max_length = scivec_outdir_max_length(od);
    if (!model_name || strcmp(model_name, ctx->model_name))
        snprintf(why, size, "its model is %s, not %s", model_name ? model_name : "unknown",
                 ctx->model_name);
    else if (!pooling || strcmp(pooling, ctx->pooling))
        snprintf(why, size, "its pooling is %s, not %s", pooling ? pooling : "unknown",
                 ctx->pooling);
    else if (scivec_outdir_dim(od) != ctx->dim)
        snprintf(why, size, "its vectors have %lld dimensions, not %d",
                 (long long)scivec_outdir_dim(od), ctx->dim);
    else if (normalize != ctx->normalize)
        snprintf(why, size, "its vectors are %snormalised, the served ones %s",
                 normalize ? "" : "not ", ctx->normalize ? "are" : "are not");
    else if (max_length != ctx->max_length)
        snprintf(why, size, "its max_length is %d, not %d", max_length, ctx->max_length);
    else if (strcmp(scivec_outdir_precision(od), ctx->precision))
        snprintf(why, size, "its papers were embedded in %s, not %s", scivec_outdir_precision(od),
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
        fprintf(stderr,
                "scivec serve: SIGHUP: %s not reloaded (%s); still serving the previous data\n",
                dir, why);
        return;
    }
    if (reload_mismatch(ctx, fresh->od, mismatch, sizeof mismatch)) {
        fprintf(stderr,
                "scivec serve: SIGHUP: %s not reloaded: %s (restart the server for another "
                "model); still serving the previous data\n",
                dir, mismatch);
        serve_data_close(fresh);
        return;
    }
    long long n = (long long)scivec_outdir_n_papers(fresh->od);
    serve_data_swap(ctx, fresh);
    fprintf(stderr, "scivec serve: SIGHUP: reloaded %s: %lld papers\n", dir, n);
}

int serve_run(const serve_options *opts) {
    const serve_options o = *opts;
    serve_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.limits = sv_http_default_limits();
    ctx.limits.max_k = (int)o.max_k;
    ctx.limits.max_inputs = (int)o.max_inputs;
    ctx.limits.max_text_bytes = (size_t)o.max_text_bytes;
    ctx.max_body_bytes = (size_t)o.max_body_bytes;
    ctx.timeout_ms = (int)o.timeout_ms;
    serve_daemon *daemon = NULL;
    int status = 1;

    /* The signals go to this thread only (sigwait below): block them before
     * any other thread starts (the model's OpenMP threads, the batcher), so
     * that every thread inherits the mask. A thread that did not would take
     * a SIGHUP arriving while this one is not in sigwait, and die of it. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGHUP); /* reload DIR */
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);

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
    sv_batcher_params bp = {.max_batch_tokens = (int)o.max_batch_tokens,
                            .max_queue = (int)o.max_queue};
    if (sv_batcher_start(ctx.model, &ep, &bp, &ctx.batcher) != SCIVEC_OK) {
        fprintf(stderr, "scivec serve: %s\n", sv_batcher_error());
        goto done;
    }
    if (!(ctx.metrics = serve_metrics_new()) || !(ctx.log = serve_log_new(20))) {
        fprintf(stderr, "scivec serve: out of memory\n");
        goto done;
    }

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
           (long long)scivec_outdir_n_papers(ctx.data->od), o.dir, ctx.model_name, ctx.pooling,
           host, port);
    fflush(stdout);

    int sig = 0;
    while (sigwait(&stop_signals, &sig) == 0 && sig == SIGHUP) reload(&ctx, o.dir, n_readers);
    fprintf(stderr, "scivec serve: %s, stopping\n", sig == SIGINT ? "interrupted" : "terminated");
    status = 0;
done:
    serve_http_stop(daemon); /* joins the request threads first */
    serve_guard_stop(ctx.guard);
    sv_batcher_stop(ctx.batcher);
    serve_metrics_free(ctx.metrics);
    serve_log_free(ctx.log);
    free(ctx.api_key);
    scivec_model_free(ctx.model);
    if (ctx.data) serve_data_release(&ctx, ctx.data); /* no request is left on it */
    pthread_mutex_destroy(&ctx.data_lock);
    free(ctx.model_name);
    free(ctx.pooling);
    return status;
}
