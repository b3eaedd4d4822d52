/*
 * serve_metrics.c - Prometheus counters of `scivec serve`: requests by
 * endpoint and status, latency histograms by endpoint, the batcher's batch
 * sizes and queue depth, and what model serves.
 */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

#define N_STATUS_SLOTS   16
#define N_LATENCY_BOUNDS 14

static const double latency_bounds[N_LATENCY_BOUNDS] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, INFINITY,
};

struct serve_metrics {
    pthread_mutex_t lock;
    /* statuses seen per endpoint: status[e][i] with count[e][i] */
    int status[SV_EP_COUNT][N_STATUS_SLOTS];
    int64_t count[SV_EP_COUNT][N_STATUS_SLOTS];
    int64_t latency_hist[SV_EP_COUNT][N_LATENCY_BOUNDS];
    double latency_sum[SV_EP_COUNT];
    int64_t latency_count[SV_EP_COUNT];
};

serve_metrics *serve_metrics_new(void) {
    serve_metrics *m = calloc(1, sizeof *m);
    if (m) pthread_mutex_init(&m->lock, NULL);
    return m;
}

void serve_metrics_free(serve_metrics *m) {
    if (!m) return;
    pthread_mutex_destroy(&m->lock);
    free(m);
}

void serve_metrics_record(serve_metrics *m, sv_endpoint ep, int status, double seconds) {
    if (!m || ep < 0 || ep >= SV_EP_COUNT) return;
    pthread_mutex_lock(&m->lock);
    for (int i = 0; i < N_STATUS_SLOTS; i++) {
        if (m->status[ep][i] == status || m->status[ep][i] == 0) {
            m->status[ep][i] = status;
            m->count[ep][i]++;
            break;
        }
        /* (more than 16 distinct statuses on one endpoint: not counted) */
    }
    for (int i = 0; i < N_LATENCY_BOUNDS; i++)
        if (seconds <= latency_bounds[i]) {
            m->latency_hist[ep][i]++;
            break;
        }
    m->latency_sum[ep] += seconds;
    m->latency_count[ep]++;
    pthread_mutex_unlock(&m->lock);
}

/* A growing text buffer; on OOM it stays NULL and rendering fails. */
typedef struct text {
    char *data;
    size_t len, cap;
    int failed;
} text;

static void emit(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void emit(text *t, const char *fmt, ...) {
    if (t->failed) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n =
            vsnprintf(t->data ? t->data + t->len : NULL, t->data ? t->cap - t->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = 1;
            return;
        }
        if (t->data && t->len + (size_t)n < t->cap) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = (t->cap ? t->cap * 2 : 8192) + (size_t)n;
        char *bigger = realloc(t->data, cap);
        if (!bigger) {
            t->failed = 1;
            return;
        }
        t->data = bigger;
        t->cap = cap;
    }
}

static void emit_bound(text *t, double bound) {
    if (isinf(bound))
        emit(t, "+Inf");
    else
        emit(t, "%g", bound);
}

/* A label value with \, " and newlines escaped, as the format wants. */
static void emit_label(text *t, const char *s) {
    for (; s && *s; s++) {
        if (*s == '\\' || *s == '"')
            emit(t, "\\%c", *s);
        else if (*s == '\n')
            emit(t, "\\n");
        else
            emit(t, "%c", *s);
    }
}

char *serve_metrics_render(serve_metrics *m, const serve_ctx *ctx, size_t *len) {
    text t = {0};
    emit(&t, "# HELP scivec_model_info The model and vectors served (value 1).\n"
             "# TYPE scivec_model_info gauge\nscivec_model_info{model=\"");
    emit_label(&t, ctx->model_name);
    emit(&t, "\",pooling=\"");
    emit_label(&t, ctx->pooling);
    serve_data *data = serve_data_acquire((serve_ctx *)ctx);
    long long n_papers = (long long)scivec_outdir_n_papers(data->od);
    serve_data_release((serve_ctx *)ctx, data);
    emit(&t, "\",dim=\"%d\",papers=\"%lld\",version=\"%s\"} 1\n", ctx->dim, n_papers,
         scivec_version());

    pthread_mutex_lock(&m->lock);
    emit(&t, "# HELP scivec_http_requests_total HTTP requests answered, by endpoint and status.\n"
             "# TYPE scivec_http_requests_total counter\n");
    for (int e = 0; e < SV_EP_COUNT; e++)
        for (int i = 0; i < N_STATUS_SLOTS && m->status[e][i]; i++)
            emit(&t, "scivec_http_requests_total{endpoint=\"%s\",status=\"%d\"} %lld\n",
                 sv_endpoint_name(e), m->status[e][i], (long long)m->count[e][i]);
    emit(&t,
         "# HELP scivec_http_request_duration_seconds Time from request to answer, by endpoint.\n"
         "# TYPE scivec_http_request_duration_seconds histogram\n");
    for (int e = 0; e < SV_EP_COUNT; e++) {
        if (!m->latency_count[e]) continue;
        int64_t cumulative = 0;
        for (int i = 0; i < N_LATENCY_BOUNDS; i++) {
            cumulative += m->latency_hist[e][i];
            emit(&t, "scivec_http_request_duration_seconds_bucket{endpoint=\"%s\",le=\"",
                 sv_endpoint_name(e));
            emit_bound(&t, latency_bounds[i]);
            emit(&t, "\"} %lld\n", (long long)cumulative);
        }
        emit(&t,
             "scivec_http_request_duration_seconds_sum{endpoint=\"%s\"} %.6f\n"
             "scivec_http_request_duration_seconds_count{endpoint=\"%s\"} %lld\n",
             sv_endpoint_name(e), m->latency_sum[e], sv_endpoint_name(e),
             (long long)m->latency_count[e]);
    }
    pthread_mutex_unlock(&m->lock);

    sv_batcher_stats s;
    sv_batcher_get_stats(ctx->batcher, &s);
    emit(&t,
         "# HELP scivec_queue_depth Embedding requests waiting for the model.\n"
         "# TYPE scivec_queue_depth gauge\nscivec_queue_depth %d\n"
         "# HELP scivec_queue_capacity Embedding requests that may wait (--max-queue).\n"
         "# TYPE scivec_queue_capacity gauge\nscivec_queue_capacity %d\n",
         s.queue_depth, s.max_queue);
    emit(&t,
         "# HELP scivec_embed_rejected_total Embedding requests refused: queue full or timed out.\n"
         "# TYPE scivec_embed_rejected_total counter\n"
         "scivec_embed_rejected_total{reason=\"queue_full\"} %lld\n"
         "scivec_embed_rejected_total{reason=\"timeout\"} %lld\n",
         (long long)s.n_rejected_full, (long long)s.n_timed_out);
    emit(&t,
         "# HELP scivec_embed_requests_total Embedding requests run (search queries included).\n"
         "# TYPE scivec_embed_requests_total counter\nscivec_embed_requests_total %lld\n"
         "# HELP scivec_embed_texts_total Texts embedded.\n"
         "# TYPE scivec_embed_texts_total counter\nscivec_embed_texts_total %lld\n"
         "# HELP scivec_embed_tokens_total Tokens run through the model.\n"
         "# TYPE scivec_embed_tokens_total counter\nscivec_embed_tokens_total %lld\n"
         "# HELP scivec_model_busy_seconds_total Time the model spent computing.\n"
         "# TYPE scivec_model_busy_seconds_total counter\nscivec_model_busy_seconds_total %.6f\n",
         (long long)s.n_requests, (long long)s.n_texts, (long long)s.n_tokens, s.seconds_busy);
    const struct {
        const char *name, *help;
        const int64_t *hist;
        const double *bounds;
        int64_t sum;
    } hists[2] = {
        {"scivec_batch_texts", "Texts per model call (requests batched together).", s.texts_hist,
         sv_batcher_text_bounds, s.n_batch_texts},
        {"scivec_batch_tokens", "Tokens per model call.", s.tokens_hist, sv_batcher_token_bounds,
         s.n_batch_tokens},
    };
    for (int h = 0; h < 2; h++) {
        emit(&t, "# HELP %s %s\n# TYPE %s histogram\n", hists[h].name, hists[h].help,
             hists[h].name);
        int64_t cumulative = 0;
        for (int i = 0; i < 10; i++) {
            cumulative += hists[h].hist[i];
            emit(&t, "%s_bucket{le=\"", hists[h].name);
            emit_bound(&t, hists[h].bounds[i]);
            emit(&t, "\"} %lld\n", (long long)cumulative);
        }
        emit(&t, "%s_sum %lld\n%s_count %lld\n", hists[h].name, (long long)hists[h].sum,
             hists[h].name, (long long)s.n_batches);
    }
    emit(&t,
         "# HELP scivec_http_deadline_closed_total Connections closed because the client did "
         "not send its request, or read its answer, within --request-timeout-s.\n"
         "# TYPE scivec_http_deadline_closed_total counter\nscivec_http_deadline_closed_total "
         "%lld\n",
         ctx->guard ? serve_guard_closed(ctx->guard) : 0LL);
    if (t.failed) {
        free(t.data);
        return NULL;
    }
    *len = t.len;
    return t.data;
}
