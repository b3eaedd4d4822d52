/*
 * serve_readers.c - the output directory `scivec serve` answers from, as a
 * pool of read handles, and its replacement on SIGHUP (see serve.h).
 *
 * A reader is a scivec_outdir_open_reader handle on the opened folder, with
 * its own SQLite connection: the vectors (one mmap), the FAISS index and
 * metadata.json are read-only once opened and are shared. Reader 0 is
 * data->od itself; the others are freed before it.
 *
 * Reloading opens the directory again as a new serve_data and swaps the
 * pointer under ctx->data_lock. Each request holds a reference to the data
 * it started on, so it finishes on it; the old data is closed when its last
 * reference goes (embed replaces files by rename, so the old mapping and
 * index stay valid until then).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

static int fail(char *why, size_t why_size, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_size, fmt, ap);
    va_end(ap);
    return 1;
}

void serve_data_close(serve_data *d) {
    if (!d) return;
    for (int i = 1; i < d->n_readers; i++) scivec_outdir_free(d->readers[i]);
    free(d->readers);
    free(d->idle);
    scivec_outdir_free(d->od);
    pthread_mutex_destroy(&d->lock);
    pthread_cond_destroy(&d->reader_freed);
    free(d);
}

int serve_data_open(const char *dir, int n_readers, serve_data **out, char *why, size_t why_size) {
    *out = NULL;
    if (n_readers < 1) n_readers = 1;
    serve_data *d = calloc(1, sizeof *d);
    if (!d) return fail(why, why_size, "out of memory");
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->reader_freed, NULL);
    int status = 1;
    if (scivec_outdir_open(dir, &d->od) != SCIVEC_OK) {
        fail(why, why_size, "%s", scivec_last_error());
        goto done;
    }
    d->readers = calloc((size_t)n_readers, sizeof *d->readers);
    d->idle = calloc((size_t)n_readers, sizeof *d->idle);
    if (!d->readers || !d->idle) {
        fail(why, why_size, "out of memory");
        goto done;
    }
    d->readers[0] = d->od;
    d->n_readers = 1;
    for (int i = 1; i < n_readers; i++) {
        if (scivec_outdir_open_reader(d->od, &d->readers[i]) != SCIVEC_OK) {
            fail(why, why_size, "%s", scivec_last_error());
            goto done;
        }
        d->n_readers++;
    }
    for (int i = 0; i < d->n_readers; i++) d->idle[i] = d->readers[i];
    d->n_idle = d->n_readers;
    d->refs = 1; /* the server's own */
    *out = d;
    d = NULL;
    status = 0;
done:
    serve_data_close(d);
    return status;
}

serve_data *serve_data_acquire(serve_ctx *ctx) {
    pthread_mutex_lock(&ctx->data_lock);
    serve_data *d = ctx->data;
    d->refs++;
    pthread_mutex_unlock(&ctx->data_lock);
    return d;
}

void serve_data_release(serve_ctx *ctx, serve_data *d) {
    pthread_mutex_lock(&ctx->data_lock);
    int last = --d->refs == 0;
    pthread_mutex_unlock(&ctx->data_lock);
    if (last) serve_data_close(d);
}

void serve_data_swap(serve_ctx *ctx, serve_data *fresh) {
    pthread_mutex_lock(&ctx->data_lock);
    serve_data *old = ctx->data;
    if (old) fresh->generation = old->generation + 1;
    ctx->data = fresh;
    pthread_mutex_unlock(&ctx->data_lock);
    if (old) serve_data_release(ctx, old); /* closed now, or by its last request */
}

serve_reader serve_reader_acquire(serve_ctx *ctx) {
    serve_data *d = serve_data_acquire(ctx);
    pthread_mutex_lock(&d->lock);
    while (d->n_idle == 0) pthread_cond_wait(&d->reader_freed, &d->lock);
    scivec_outdir *reader = d->idle[--d->n_idle];
    pthread_mutex_unlock(&d->lock);
    return (serve_reader){.data = d, .od = reader};
}

void serve_reader_release(serve_ctx *ctx, serve_reader r) {
    serve_data *d = r.data;
    pthread_mutex_lock(&d->lock);
    d->idle[d->n_idle++] = r.od;
    pthread_cond_signal(&d->reader_freed);
    pthread_mutex_unlock(&d->lock);
    serve_data_release(ctx, d);
}
