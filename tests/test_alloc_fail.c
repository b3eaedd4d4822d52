/*
 * test_alloc_fail.c - every allocation failure is an error, never a crash.
 *
 * This file defines malloc/calloc/realloc: the executable's definitions take
 * the place of the C library's for the whole process (libscivec and the
 * shared libraries it calls: cJSON, utf8proc, libzip, ...). They forward to
 * the next definition (the C library's, or the sanitizer's under ASan, so
 * free() stays consistent) and fail the Nth call when asked. For each
 * operation we count its allocations once, then fail call N for N = 1, 2, ...
 * (every N up to FULL_SWEEP, then evenly spread N up to the last): each
 * failing run must return a negative status and, under ASan, leak nothing.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/error.h"
#include "corpus/papers.h"
#include "nn/config.h"
#include "nn/weights.h"
#include "outputs/npy.h"
#include "scivec.h"

enum { FULL_SWEEP = 300, SPREAD = 300 };

/* ------------------------------------------------------------------------ */
/* The failing allocator                                                     */

static void *(*next_malloc)(size_t);
static void *(*next_calloc)(size_t, size_t);
static void *(*next_realloc)(void *, size_t);

static long n_calls; /* allocation calls since arm()            */
static long fail_at; /* fail this call (1-based); 0: never      */
static int injected; /* a failure was injected                  */
static int resolving;

/* dlsym may itself call calloc before next_calloc is known: serve it from a
 * small static arena (never freed: free() of it would be wrong, and it is
 * not called for dlsym's buffers). */
static char bootstrap[4096];
static size_t bootstrap_used;

static void resolve(void) {
    if (next_malloc || resolving) return;
    resolving = 1;
    next_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
    next_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
    next_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
    resolving = 0;
}

static int should_fail(void) {
    if (!fail_at) return 0;
    if (++n_calls != fail_at) return 0;
    injected = 1;
    errno = ENOMEM; /* as the C library's allocator does */
    return 1;
}

void *malloc(size_t n) {
    resolve();
    if (!next_malloc) return NULL;
    if (should_fail()) return NULL;
    return next_malloc(n);
}

void *calloc(size_t n, size_t size) {
    if (!next_calloc) {
        if (resolving) { /* dlsym's own allocation, before we know calloc */
            size_t bytes = (n * size + 15) & ~(size_t)15;
            if (bytes > sizeof bootstrap - bootstrap_used) return NULL;
            void *p = bootstrap + bootstrap_used;
            bootstrap_used += bytes;
            return p; /* static storage is zeroed */
        }
        resolve();
        if (!next_calloc) return NULL;
    }
    if (should_fail()) return NULL;
    return next_calloc(n, size);
}

void *realloc(void *p, size_t n) {
    resolve();
    if (!next_realloc) return NULL;
    if (should_fail()) return NULL;
    return next_realloc(p, n);
}

/* Counting mode: fail_at = LONG_MAX counts calls without failing. */
static void arm(long at) {
    n_calls = 0;
    injected = 0;
    fail_at = at;
}
static long disarm(void) {
    long n = n_calls;
    fail_at = 0;
    return n;
}

/* ------------------------------------------------------------------------ */
/* Operations: each returns a status and frees all it made.                  */

#define MODEL_DIR SV_FIXTURES "/models/tiny-scibert"

static int op_tokenizer(void) {
    scivec_tokenizer *tok = NULL;
    int rc = scivec_tokenizer_load(MODEL_DIR, &tok);
    if (rc) return rc;
    static const char text[] =
        "Graph neural networks (GNNs) for naïve molecule \xff property prediction";
    scivec_encoding enc = {0};
    rc = scivec_tokenize(tok, text, sizeof text - 1, "and a pair", 10, 32, &enc);
    if (!rc && enc.n_tokens < 5) rc = SCIVEC_EINVAL; /* success must be a real encoding */
    scivec_encoding_clear(&enc);
    scivec_tokenizer_free(tok);
    return rc;
}

static int op_config(void) {
    sv_bert_config cfg;
    int rc = sv_config_load(MODEL_DIR "/config.json", &cfg);
    if (!rc && cfg.hidden != 64) rc = SCIVEC_EINVAL;
    return rc;
}

static sv_bert_config tiny_cfg;

static int op_weights_safetensors(void) {
    sv_weights *w = NULL;
    int rc = sv_weights_load(MODEL_DIR, &tiny_cfg, &w);
    if (!rc && !sv_weights_bert(w)->word_emb) rc = SCIVEC_EINVAL;
    sv_weights_free(w);
    return rc;
}

static int op_weights_pickle(void) {
    sv_weights *w = NULL;
    int rc = sv_weights_load(SV_FIXTURES "/models/tiny-scibert-legacy", &tiny_cfg, &w);
    if (!rc && !sv_weights_bert(w)->word_emb) rc = SCIVEC_EINVAL;
    sv_weights_free(w);
    return rc;
}

static int op_npy(void) {
    float *data = NULL;
    int64_t rows = 0, cols = 0;
    int rc =
        sv_npy_read(SV_FIXTURES "/golden/tiny-scibert/embeddings_cls.npy", &data, &rows, &cols);
    if (!rc && (rows <= 0 || cols != 64)) rc = SCIVEC_EINVAL;
    free(data);
    return rc;
}

static int op_papers(void) {
    sv_papers *p = NULL;
    int rc = sv_papers_open(SV_FIXTURES "/data/arxiv-metadata-oai-snapshot.sample.jsonl", &p);
    if (rc) return rc;
    const char *const *fields;
    const size_t *lens;
    int n = 0;
    while ((rc = sv_papers_next(p, &fields, &lens)) == 1 || rc == SCIVEC_EFORMAT)
        if (++n == 20) {
            rc = 0;
            break;
        }
    sv_papers_close(p);
    return rc;
}

/* ------------------------------------------------------------------------ */

static void sweep(const char *name, int (*op)(void)) {
    arm(LONG_MAX);
    int rc = op();
    long total = disarm();
    CHECK(rc == SCIVEC_OK, "%s: fails without injected failures: %s", name, scivec_last_error());
    if (rc) return;
    long tried = 0, not_enomem = 0, ok_despite = 0;
    long step = total > FULL_SWEEP ? (total - FULL_SWEEP) / SPREAD + 1 : 1;
    for (long at = 1; at <= total; at += at < FULL_SWEEP ? 1 : step) {
        arm(at);
        rc = op();
        disarm();
        tried++;
        if (!injected) continue;
        /* Some allocations have a fallback (a cache, a size hint): success
         * is fine then, as long as it is a real success (ops check that). */
        if (rc == SCIVEC_OK) {
            ok_despite++;
            continue;
        }
        CHECK(rc < 0, "%s: allocation %ld failed: status %d", name, at, rc);
        if (rc != SCIVEC_ENOMEM) {
            if (not_enomem++ < 3)
                printf("  %s: allocation %ld failed -> %s: %s\n", name, at,
                       scivec_status_string(rc), scivec_last_error());
        }
        CHECK(scivec_last_error()[0] != '\0', "%s: allocation %ld failed without a message", name,
              at);
    }
    printf("%s: %ld allocations; failed %ld of them one at a time: %ld gave an error "
           "(%ld not ENOMEM), %ld recovered\n",
           name, total, tried, tried - ok_despite, not_enomem, ok_despite);
}

int main(void) {
    resolve();
    CHECK(sv_config_load(MODEL_DIR "/config.json", &tiny_cfg) == 0, "config: %s",
          scivec_last_error());
    sweep("tokenizer load + tokenize", op_tokenizer);
    sweep("config.json", op_config);
    sweep("safetensors weights", op_weights_safetensors);
    sweep("legacy pickle weights", op_weights_pickle);
    sweep("npy read", op_npy);
    sweep("papers (JSON Lines)", op_papers);
    return check_report();
}
