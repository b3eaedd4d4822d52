/*
 * api_text.c - texts in JSON Lines ({"text": ..., "text_pair": ...}) for the
 * public API: a reader (what `scivec tokenize` reads) and the streaming
 * encode of a whole file into a .npy (what `scivec encode` runs).
 *
 * The encode streams rows to OUT.tmp chunk by chunk, so memory is bounded
 * by one chunk whatever the input size, and renames the file to OUT only
 * when everything succeeded: a failed run never leaves a half-written
 * output behind.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "corpus/jsonl.h"
#include "outputs/npy.h"
#include "scivec.h"

struct scivec_text_reader {
    sv_jsonl *in;
    cJSON *obj; /* the record the last strings point into */
};

int scivec_text_reader_open(const char *path, scivec_text_reader **out) {
    if (!out) return sv_error(SCIVEC_EINVAL, "scivec_text_reader_open: out is required");
    *out = NULL;
    scivec_text_reader *r = calloc(1, sizeof *r);
    if (!r) return sv_error(SCIVEC_ENOMEM, "out of memory");
    int status = sv_jsonl_open(path, &r->in);
    if (status) {
        free(r);
        return status;
    }
    *out = r;
    return SCIVEC_OK;
}

int scivec_text_reader_next(scivec_text_reader *r, const char **text, const char **pair) {
    cJSON_Delete(r->obj);
    r->obj = NULL;
    *text = NULL;
    if (pair) *pair = NULL;
    int got = sv_jsonl_next(r->in, &r->obj);
    if (got <= 0) return got;
    const char *t = NULL, *p = NULL;
    int status = sv_json_get_string(r->obj, "text", &t);
    if (!status) status = sv_json_get_string(r->obj, "text_pair", &p);
    if (!status && !t) status = sv_error(SCIVEC_EFORMAT, "no \"text\" string");
    if (status)
        return sv_error_prefix(status, "%s:%ld", sv_jsonl_path(r->in), sv_jsonl_line(r->in));
    *text = t;
    if (pair) *pair = p;
    return 1;
}

long scivec_text_reader_line(const scivec_text_reader *r) { return sv_jsonl_line(r->in); }
const char *scivec_text_reader_path(const scivec_text_reader *r) { return sv_jsonl_path(r->in); }

void scivec_text_reader_free(scivec_text_reader *r) {
    if (!r) return;
    cJSON_Delete(r->obj);
    sv_jsonl_close(r->in);
    free(r);
}

/* Texts handed to the model per call: enough to fill several forwards. */
#define CHUNK_TEXTS 512

typedef struct chunk {
    int n;
    char *text[CHUNK_TEXTS], *pair[CHUNK_TEXTS];
    long line[CHUNK_TEXTS];
} chunk;

static void chunk_clear(chunk *c) {
    for (int i = 0; i < c->n; i++) {
        free(c->text[i]);
        free(c->pair[i]);
    }
    c->n = 0;
}

/* Reads up to CHUNK_TEXTS inputs into c; returns the number read (0 at the
 * end) or a negative status, the message naming the line. */
static int read_chunk(scivec_text_reader *in, chunk *c) {
    chunk_clear(c);
    while (c->n < CHUNK_TEXTS) {
        const char *text, *pair;
        int got = scivec_text_reader_next(in, &text, &pair);
        if (got <= 0) return got < 0 ? got : c->n;
        c->text[c->n] = strdup(text);
        c->pair[c->n] = pair ? strdup(pair) : NULL;
        if (!c->text[c->n] || (pair && !c->pair[c->n])) {
            free(c->text[c->n]);
            free(c->pair[c->n]);
            return sv_error(SCIVEC_ENOMEM, "%s:%ld: out of memory", scivec_text_reader_path(in),
                            scivec_text_reader_line(in));
        }
        c->line[c->n++] = scivec_text_reader_line(in);
    }
    return c->n;
}

/* Reads the input and streams the vectors to w; returns a status. */
static int encode_stream(scivec_model *model, const scivec_encode_params *ep,
                         scivec_text_reader *in, sv_npy_writer *w, int64_t *n_rows,
                         scivec_encode_stats *stats) {
    int status = SCIVEC_OK;
    int dim = scivec_model_dim(model);
    chunk *c = calloc(1, sizeof *c);
    float *vecs = malloc((size_t)CHUNK_TEXTS * dim * sizeof *vecs);
    if (!c || !vecs) {
        status = sv_error(SCIVEC_ENOMEM, "out of memory");
        goto done;
    }
    for (;;) {
        int got = read_chunk(in, c);
        if (got <= 0) {
            status = got;
            break;
        }
        status = scivec_model_encode_texts(model, ep, c->n, (const char *const *)c->text,
                                           (const char *const *)c->pair, vecs, stats);
        if (status) {
            // "inputs i..j: input k: ..." -> name the first line of the chunk too
            sv_error_prefix(status, "%s: lines %ld..%ld", scivec_text_reader_path(in), c->line[0],
                            c->line[c->n - 1]);
            break;
        }
        if ((status = sv_npy_writer_append(w, vecs, c->n))) break;
        *n_rows += c->n;
    }
done:
    if (c) chunk_clear(c);
    free(c);
    free(vecs);
    return status;
}

int scivec_model_encode_jsonl(scivec_model *model, const scivec_encode_params *params,
                              const char *input, const char *out_path, int64_t *n_rows,
                              scivec_encode_stats *stats) {
    if (!model || !params || !out_path || !n_rows)
        return sv_error(SCIVEC_EINVAL, "scivec_model_encode_jsonl: model, params, out_path and "
                                       "n_rows are required");
    *n_rows = 0;
    scivec_text_reader *in = NULL;
    sv_npy_writer *w = NULL;
    char *tmp_path = malloc(strlen(out_path) + sizeof ".tmp");
    int status;
    if (!tmp_path) {
        status = sv_error(SCIVEC_ENOMEM, "out of memory");
        goto done;
    }
    strcpy(tmp_path, out_path);
    strcat(tmp_path, ".tmp");
    if ((status = scivec_text_reader_open(input, &in))) goto done;
    if ((status = sv_npy_writer_open(tmp_path, scivec_model_dim(model), &w))) goto done;
    status = sv_npy_writer_finish(w, encode_stream(model, params, in, w, n_rows, stats));
    w = NULL;
    if (!status && rename(tmp_path, out_path))
        status = sv_error(SCIVEC_EIO, "%s: cannot rename to %s: %s", tmp_path, out_path,
                          strerror(errno));
done:
    if (w) sv_npy_writer_abort(w);
    if (status && tmp_path) remove(tmp_path);
    scivec_text_reader_free(in);
    free(tmp_path);
    return status;
}
