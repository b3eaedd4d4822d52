/*
 * batcher.h - one model, many clients: embedding requests from any number of
 * threads are queued and run together by one worker thread that owns the
 * model, in batches of whole requests under a token budget. The model packs
 * the sequences of a batch without padding (scivec_model_encode_tokens), so
 * batching only saves per-call overhead and keeps the cores busy; it never
 * changes a vector (the same text gives the same vector in any batch).
 *
 * Overload is refused, not absorbed: a full queue answers SV_EQUEUE_FULL at
 * once, and a request not done within its timeout answers SV_ETIMEOUT (its
 * work is dropped, or discarded when it is already running).
 */
#ifndef SV_BATCHER_H
#define SV_BATCHER_H

#include <stddef.h>
#include <stdint.h>

#include "scivec.h"

/* The batcher's own statuses, besides the library's SCIVEC_E* ones. */
enum {
    SV_EQUEUE_FULL = -20, /* the queue holds max_queue requests already */
    SV_ETIMEOUT = -21,    /* not done within the request's timeout       */
};

/* The message of the last failed sv_batcher_* call on this thread (the
 * library's own message when a library call failed); "" if none. The
 * server library cannot set scivec_last_error, so the batcher keeps its own. */
const char *sv_batcher_error(void);

typedef struct sv_batcher sv_batcher;

typedef struct sv_batcher_params {
    int max_batch_tokens; /* tokens per model call (a larger request runs alone) */
    int max_queue;        /* requests waiting at most                  */
} sv_batcher_params;

/* Starts the worker. The model must outlive the batcher and is used by its
 * worker only; params->pooling and max_length apply to every request (they
 * define the vector space), normalize is chosen per request. */
int sv_batcher_start(scivec_model *model, const scivec_encode_params *params,
                     const sv_batcher_params *bp, sv_batcher **out);
/* Stops the worker (requests still queued get SV_ETIMEOUT) and frees. */
void sv_batcher_stop(sv_batcher *b);

/* Embeds n texts into out[n * hidden], waiting at most timeout_ms.
 * Tokenizes in the calling thread. n_tokens (may be NULL) receives the
 * tokens the texts took. */
int sv_batcher_embed(sv_batcher *b, int n, const char *const *texts, const size_t *lens,
                     int normalize, int timeout_ms, float *out, int64_t *n_tokens);

typedef struct sv_batcher_stats {
    int queue_depth; /* requests waiting now                    */
    int max_queue;
    int64_t n_batches;                     /* model calls                             */
    int64_t n_requests;                    /* requests embedded                       */
    int64_t n_texts, n_tokens;             /* of the requests answered          */
    int64_t n_batch_texts, n_batch_tokens; /* run through the model       */
    int64_t n_rejected_full, n_timed_out;
    /* histograms of texts and tokens per model call; bucket i counts
     * batches with value <= text_bounds[i] (the last bound is "+Inf") */
    int64_t texts_hist[10], tokens_hist[10];
    double seconds_busy; /* time spent in the model                 */
} sv_batcher_stats;

extern const double sv_batcher_text_bounds[10]; /* last = INFINITY */
extern const double sv_batcher_token_bounds[10];

void sv_batcher_get_stats(sv_batcher *b, sv_batcher_stats *out);

#endif /* SV_BATCHER_H */
