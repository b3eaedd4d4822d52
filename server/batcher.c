/*
 * batcher.c - a queue of embedding requests and the one worker thread that
 * runs them through the shared model (see batcher.h).
 *
 * A job belongs to the thread that submitted it, except while the worker
 * runs it: a submitter whose timeout passes while its job is queued takes
 * it out of the queue and frees it; while it is running, it only marks it
 * abandoned and the worker frees it when the model returns. All job state
 * changes happen under the one mutex.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batcher.h"

const double sv_batcher_text_bounds[10] = {1, 2, 4, 8, 16, 32, 64, 128, 256, INFINITY};
const double sv_batcher_token_bounds[10] = {16,   64,   128,  256,  512,
                                            1024, 2048, 4096, 8192, INFINITY};

enum { JOB_QUEUED, JOB_RUNNING, JOB_DONE };

/* The message of the last failed call on this thread (sv_batcher_error):
 * the worker's failures travel to the submitter in job.error. */
static _Thread_local char last_error[512];

const char *sv_batcher_error(void) { return last_error; }

static int fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}

/* A library call's failure, its message kept as the batcher's. */
static int library_fail(int status) { return fail(status, "%s", scivec_last_error()); }

typedef struct job {
    int n;
    scivec_encoding *seqs;
    int64_t n_tokens;
    int normalize;
    float *out; /* [n * hidden], the submitter's buffer or owned when abandoned */
    int state;
    int abandoned;
    int status;
    char error[512];
    struct job *next;
} job;

struct sv_batcher {
    scivec_model *model;
    scivec_encode_params params;
    sv_batcher_params bp;
    int hidden;

    pthread_mutex_t lock;
    pthread_cond_t work; /* the worker waits for jobs          */
    pthread_cond_t done; /* submitters wait for their job      */
    job *head, *tail;
    int queue_depth;
    int stopping;
    pthread_t thread;

    sv_batcher_stats stats;
};

static void job_free(job *j) {
    if (!j) return;
    for (int i = 0; i < j->n; i++) scivec_encoding_clear(&j->seqs[i]);
    free(j->seqs);
    free(j);
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void count_in(int64_t *hist, const double *bounds, double value) {
    for (int i = 0; i < 10; i++)
        if (value <= bounds[i]) {
            hist[i]++;
            return;
        }
}

/* Takes whole jobs from the head of the queue while they fit the token
 * budget (the first one always: a job above the budget runs alone). */
static job *take_batch(sv_batcher *b, int *n_seqs, int64_t *n_tokens) {
    job *first = b->head, *last = NULL;
    *n_seqs = 0;
    *n_tokens = 0;
    for (job *j = b->head; j; j = j->next) {
        if (last && *n_tokens + j->n_tokens > b->bp.max_batch_tokens) break;
        *n_seqs += j->n;
        *n_tokens += j->n_tokens;
        j->state = JOB_RUNNING;
        b->queue_depth--;
        last = j;
    }
    b->head = last->next;
    if (!b->head) b->tail = NULL;
    last->next = NULL;
    return first;
}

/* Runs the jobs of one batch through the model, unlocked. */
static int run_batch(sv_batcher *b, job *batch, int n_seqs, float **scratch, size_t *scratch_cap) {
    scivec_encoding *seqs = malloc((size_t)n_seqs * sizeof *seqs);
    size_t need = (size_t)n_seqs * (size_t)b->hidden;
    if (need > *scratch_cap) {
        float *bigger = realloc(*scratch, need * sizeof **scratch);
        if (bigger) {
            *scratch = bigger;
            *scratch_cap = need;
        }
    }
    if (!seqs || need > *scratch_cap) {
        free(seqs);
        return fail(SCIVEC_ENOMEM, "batcher: out of memory for %d texts", n_seqs);
    }
    int at = 0;
    for (job *j = batch; j; j = j->next) {
        memcpy(seqs + at, j->seqs, (size_t)j->n * sizeof *seqs);
        at += j->n;
    }
    scivec_encode_params ep = b->params;
    ep.normalize = 0; /* per job, below */
    int rc = scivec_model_encode_tokens(b->model, &ep, n_seqs, seqs, *scratch);
    free(seqs);
    return rc ? library_fail(rc) : SCIVEC_OK;
}

static void *worker(void *arg) {
    sv_batcher *b = arg;
    float *scratch = NULL;
    size_t scratch_cap = 0;
    pthread_mutex_lock(&b->lock);
    for (;;) {
        while (!b->stopping && !b->head) pthread_cond_wait(&b->work, &b->lock);
        if (b->stopping) break;
        int n_seqs;
        int64_t n_tokens;
        job *batch = take_batch(b, &n_seqs, &n_tokens);
        pthread_mutex_unlock(&b->lock);

        double t0 = now_seconds();
        int rc = run_batch(b, batch, n_seqs, &scratch, &scratch_cap);
        double busy = now_seconds() - t0;
        const char *message = rc ? sv_batcher_error() : NULL;

        pthread_mutex_lock(&b->lock);
        b->stats.n_batches++;
        b->stats.seconds_busy += busy;
        b->stats.n_batch_texts += n_seqs;
        b->stats.n_batch_tokens += n_tokens;
        count_in(b->stats.texts_hist, sv_batcher_text_bounds, n_seqs);
        count_in(b->stats.tokens_hist, sv_batcher_token_bounds, (double)n_tokens);
        size_t at = 0;
        for (job *j = batch, *next; j; j = next) {
            next = j->next;
            j->status = rc;
            if (rc) {
                snprintf(j->error, sizeof j->error, "%s", message);
            } else if (!j->abandoned) {
                memcpy(j->out, scratch + at * b->hidden, (size_t)j->n * b->hidden * sizeof(float));
                if (j->normalize)
                    for (int i = 0; i < j->n; i++)
                        scivec_l2_normalize(j->out + (size_t)i * b->hidden, b->hidden);
                b->stats.n_requests++;
                b->stats.n_texts += j->n;
                b->stats.n_tokens += j->n_tokens;
            }
            at += (size_t)j->n;
            j->state = JOB_DONE;
            j->next = NULL;
            if (j->abandoned) job_free(j);
        }
        pthread_cond_broadcast(&b->done);
    }
    pthread_mutex_unlock(&b->lock);
    free(scratch);
    return NULL;
}

int sv_batcher_start(scivec_model *model, const scivec_encode_params *params,
                     const sv_batcher_params *bp, sv_batcher **out) {
    *out = NULL;
    if (!model || !params || !bp || bp->max_batch_tokens < 1 || bp->max_queue < 1)
        return fail(SCIVEC_EINVAL, "batcher: bad arguments");
    sv_batcher *b = calloc(1, sizeof *b);
    if (!b) return fail(SCIVEC_ENOMEM, "batcher: out of memory");
    b->model = model;
    b->params = *params;
    b->bp = *bp;
    b->hidden = scivec_model_dim(model);
    b->stats.max_queue = bp->max_queue;
    int rc = scivec_model_set_batch_tokens(model, bp->max_batch_tokens);
    if (rc) {
        free(b);
        return library_fail(rc);
    }
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_mutex_init(&b->lock, NULL);
    pthread_cond_init(&b->work, NULL);
    pthread_cond_init(&b->done, &attr);
    pthread_condattr_destroy(&attr);
    if (pthread_create(&b->thread, NULL, worker, b) != 0) {
        pthread_mutex_destroy(&b->lock);
        pthread_cond_destroy(&b->work);
        pthread_cond_destroy(&b->done);
        free(b);
        return fail(SCIVEC_ENOMEM, "batcher: cannot start the worker thread");
    }
    *out = b;
    return SCIVEC_OK;
}

void sv_batcher_stop(sv_batcher *b) {
    if (!b) return;
    pthread_mutex_lock(&b->lock);
    b->stopping = 1;
    pthread_cond_broadcast(&b->work);
    pthread_cond_broadcast(&b->done);
    pthread_mutex_unlock(&b->lock);
    pthread_join(b->thread, NULL);
    /* No submitter may still wait here: the caller stops the HTTP daemon
     * (which joins its request threads) before the batcher. */
    pthread_mutex_destroy(&b->lock);
    pthread_cond_destroy(&b->work);
    pthread_cond_destroy(&b->done);
    free(b);
}

/* Removes j from the queue (it is there: state QUEUED). */
static void unlink_job(sv_batcher *b, job *j) {
    job *prev = NULL;
    for (job *q = b->head; q; prev = q, q = q->next)
        if (q == j) {
            if (prev)
                prev->next = j->next;
            else
                b->head = j->next;
            if (b->tail == j) b->tail = prev;
            b->queue_depth--;
            return;
        }
}

int sv_batcher_embed(sv_batcher *b, int n, const char *const *texts, const size_t *lens,
                     int normalize, int timeout_ms, float *out, int64_t *n_tokens_out) {
    if (n_tokens_out) *n_tokens_out = 0;
    if (n <= 0) return SCIVEC_OK;
    job *j = calloc(1, sizeof *j);
    if (!j || !(j->seqs = calloc((size_t)n, sizeof *j->seqs))) {
        free(j);
        return fail(SCIVEC_ENOMEM, "out of memory");
    }
    /* Tokenizing here spreads it over the request threads (the tokenizer is
     * shared read-only) and gives the token count the budget needs. */
    for (int i = 0; i < n; i++) {
        /* as scivec_model_encode_texts: the params' prompt and max_length */
        int rc = scivec_model_tokenize(b->model, &b->params, texts[i],
                                       lens ? lens[i] : strlen(texts[i]), &j->seqs[i]);
        if (rc) {
            job_free(j);
            return fail(rc, "text %d: %s", i, scivec_last_error());
        }
        j->n++;
        j->n_tokens += j->seqs[i].n_tokens;
    }
    j->normalize = normalize;
    j->out = out;
    if (n_tokens_out) *n_tokens_out = j->n_tokens;

    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }

    pthread_mutex_lock(&b->lock);
    if (b->stopping || b->queue_depth >= b->bp.max_queue) {
        b->stats.n_rejected_full++;
        int depth = b->queue_depth;
        pthread_mutex_unlock(&b->lock);
        job_free(j);
        return fail(SV_EQUEUE_FULL,
                    "the embedding queue is full (%d requests waiting); retry later", depth);
    }
    if (b->tail)
        b->tail->next = j;
    else
        b->head = j;
    b->tail = j;
    b->queue_depth++;
    pthread_cond_signal(&b->work);
    int timed_out = 0;
    while (j->state != JOB_DONE && !b->stopping) {
        if (pthread_cond_timedwait(&b->done, &b->lock, &deadline) == ETIMEDOUT) {
            timed_out = j->state != JOB_DONE;
            break;
        }
    }
    if (j->state != JOB_DONE) {
        b->stats.n_timed_out++;
        if (j->state == JOB_QUEUED) {
            unlink_job(b, j);
            pthread_mutex_unlock(&b->lock);
            job_free(j);
        } else {
            /* The worker has it: let it free the job, into its own buffer. */
            j->abandoned = 1;
            pthread_mutex_unlock(&b->lock);
        }
        return fail(SV_ETIMEOUT,
                    timed_out ? "embedding did not finish within %d ms"
                              : "the server is stopping (%d ms)",
                    timeout_ms);
    }
    pthread_mutex_unlock(&b->lock);
    int rc = j->status;
    if (rc) fail(rc, "%s", j->error);
    job_free(j);
    return rc;
}

void sv_batcher_get_stats(sv_batcher *b, sv_batcher_stats *out) {
    pthread_mutex_lock(&b->lock);
    *out = b->stats;
    out->queue_depth = b->queue_depth;
    pthread_mutex_unlock(&b->lock);
}
