/*
 * cmd_encode.c - `scivec encode --model M --out FILE.npy`: JSON Lines texts on
 * stdin ({"text": ...}, optionally "text_pair") to a float32 .npy
 * [n_texts, hidden], row i = input line i (blank lines skipped).
 *
 * Rows are streamed to FILE.npy.tmp, chunk by chunk, so memory is bounded by
 * one chunk whatever the input size; the file is renamed to FILE.npy only
 * when everything succeeded, so a failed run never leaves a half-written
 * output behind. stderr says which pooling was used and why, and how many
 * inputs were truncated.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "../src/nn/bert.h"
#include "../src/nn/model.h"
#include "../src/core/error.h"
#include "../src/nn/gemm.h"
#include "../src/corpus/jsonl.h"
#include "../src/outputs/npy.h"
#include "scivec.h"

static const char usage[] =
    "usage: scivec encode --model M --out FILE.npy [options] < texts.jsonl\n"
    "  reads JSON Lines on stdin: {\"text\": ...} or {\"text\": ..., \"text_pair\": ...}\n"
    "  writes a float32 .npy [n_texts, hidden] (row i = input i)\n"
    "  --model M            model directory, or ORG/NAME in the HF cache\n"
    "  --out FILE.npy       output file (written only if every input succeeds)\n"
    "  --pooling P          cls | mean | max | pooler | mean_sqrt_len_tokens |\n"
    "                       weightedmean | lasttoken (default: the model folder's\n"
    "                       sentence-transformers pooling, else mean)\n"
    "  --prompt NAME        put the folder's prompt NAME (config_sentence_transformers.json)\n"
    "                       before each text (default: its default_prompt_name; \"\" = none)\n"
    "  --normalize          L2-normalise every vector\n"
    "  --max-length N       truncate to N tokens incl. [CLS]/[SEP] (default: the\n"
    "                       model's maximum; never above max_position_embeddings)\n"
    "  --threads N          threads for the forward (default 0 = all cores)\n"
    "  --precision P        dense layers in fp32 (default), bf16 or int8 (docs/MODEL.md)\n"
    "  --batch-tokens N     tokens packed into one forward (default 8192)\n"
    "  --adapter A          run through an AdapterHub bottleneck adapter (a folder with\n"
    "                       adapter_config.json, or ORG/NAME), e.g. SPECTER2's\n"
    "                       allenai/specter2 (proximity); see docs/ADAPTERS.md\n";

/* Texts handed to the library per call: enough to fill several forwards. */
#define CHUNK_TEXTS 512

static int parse_int(const char *option, const char *s, int min, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > INT_MAX) {
        fprintf(stderr, "scivec encode: %s wants a whole number >= %d, got '%s'\n", option,
                min, s);
        return -1;
    }
    *out = (int)v;
    return 0;
}

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
static int read_chunk(sv_jsonl *in, chunk *c) {
    chunk_clear(c);
    while (c->n < CHUNK_TEXTS) {
        cJSON *obj = NULL;
        int got = sv_jsonl_next(in, &obj);
        if (got == 0) break;
        if (got < 0) return got;
        const char *text = NULL, *pair = NULL;
        int status = sv_json_get_string(obj, "text", &text);
        if (!status) status = sv_json_get_string(obj, "text_pair", &pair);
        if (!status && !text) status = sv_error(SCIVEC_EFORMAT, "no \"text\" string");
        if (!status) {
            c->text[c->n] = strdup(text);
            c->pair[c->n] = pair ? strdup(pair) : NULL;
            if (!c->text[c->n] || (pair && !c->pair[c->n])) {
                free(c->text[c->n]);
                free(c->pair[c->n]);
                status = sv_error(SCIVEC_ENOMEM, "out of memory");
            }
        }
        cJSON_Delete(obj);
        if (status)
            return sv_error_prefix(status, "%s:%ld", sv_jsonl_path(in), sv_jsonl_line(in));
        c->line[c->n++] = sv_jsonl_line(in);
    }
    return c->n;
}

static double seconds_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Reads stdin and streams the vectors to w; returns a status. */
static int encode_stream(scivec_model *model, const scivec_encode_params *ep,
                         sv_npy_writer *w, int64_t *n_rows, scivec_encode_stats *stats) {
    sv_jsonl *in = NULL;
    int status = sv_jsonl_open(NULL, &in);
    if (status) return status;
    int hidden = scivec_model_dim(model);
    chunk *c = calloc(1, sizeof *c);
    float *vecs = malloc((size_t)CHUNK_TEXTS * hidden * sizeof *vecs);
    if (!c || !vecs) status = sv_error(SCIVEC_ENOMEM, "out of memory");
    while (!status) {
        int got = read_chunk(in, c);
        if (got <= 0) { status = got; break; }
        status = scivec_model_encode_texts(model, ep, c->n, (const char *const *)c->text,
                                           (const char *const *)c->pair, vecs, stats);
        if (status) {
            // "inputs i..j: input k: ..." -> name the first line of the chunk too
            sv_error_prefix(status, "%s: lines %ld..%ld", sv_jsonl_path(in), c->line[0],
                            c->line[c->n - 1]);
            break;
        }
        status = sv_npy_writer_append(w, vecs, c->n);
        *n_rows += c->n;
    }
    if (c) chunk_clear(c);
    free(c);
    free(vecs);
    sv_jsonl_close(in);
    return status;
}

int cmd_encode(int argc, char **argv) {
    const char *model_name = NULL, *out_path = NULL, *pooling_name = NULL;
    const char *adapter_name = NULL;
    scivec_model_params mp = scivec_model_default_params();
    scivec_encode_params ep = scivec_encode_default_params();
    int batch_tokens = SV_BATCH_TOKENS;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        int has_value = i + 1 < argc;
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            fputs(usage, stdout);
            return 0;
        } else if (!strcmp(arg, "--model") && has_value) {
            model_name = argv[++i];
        } else if (!strcmp(arg, "--out") && has_value) {
            out_path = argv[++i];
        } else if (!strcmp(arg, "--adapter") && has_value) {
            adapter_name = argv[++i];
        } else if (!strcmp(arg, "--pooling") && has_value) {
            pooling_name = argv[++i];
            if (scivec_pooling_parse(pooling_name, &ep.pooling)) {
                fprintf(stderr, "scivec encode: %s\n", scivec_last_error());
                return 2;
            }
        } else if (!strcmp(arg, "--prompt") && has_value) {
            ep.prompt_name = argv[++i];
        } else if (!strcmp(arg, "--normalize")) {
            ep.normalize = 1;
        } else if (!strcmp(arg, "--max-length") && has_value) {
            if (parse_int(arg, argv[++i], 0, &ep.max_length)) return 2;
        } else if (!strcmp(arg, "--threads") && has_value) {
            if (parse_int(arg, argv[++i], 0, &mp.n_threads)) return 2;
        } else if (!strcmp(arg, "--batch-tokens") && has_value) {
            if (parse_int(arg, argv[++i], 1, &batch_tokens)) return 2;
        } else if (!strcmp(arg, "--precision") && has_value) {
            if (cli_precision_option("encode", argv[++i], &mp.precision)) return 2;
        } else {
            fprintf(stderr, "scivec encode: unexpected argument '%s' (see --help)\n", arg);
            return 2;
        }
    }
    if (!model_name || !out_path) {
        fprintf(stderr, "scivec encode: --model and --out are required (see --help)\n");
        return 2;
    }

    scivec_model *model = NULL;
    if (scivec_model_load(model_name, &mp, &model)) return cli_fail("encode");
    sv_model_set_batch_tokens(model, batch_tokens);
    if (scivec_model_warning(model))
        fprintf(stderr, "scivec encode: warning: %s\n", scivec_model_warning(model));
    if (adapter_name && scivec_model_add_adapter(model, adapter_name, &ep.adapter_id)) {
        scivec_model_free(model);
        return cli_fail("encode");
    }

    // say which pooling runs and why, before any work
    const char *reason = "--pooling";
    scivec_pooling pooling = ep.pooling;
    if (pooling == SCIVEC_POOL_DEFAULT) pooling = scivec_model_default_pooling(model, &reason);
    if (pooling == SCIVEC_POOL_DEFAULT) {
        fprintf(stderr, "scivec encode: %s: %s\n", scivec_model_dir(model), reason);
        scivec_model_free(model);
        return 1;
    }
    int max_length = ep.max_length > 0 ? ep.max_length : scivec_model_max_length(model);
    fprintf(stderr, "scivec encode: pooling: %s (%s)%s, max length %d\n",
            scivec_pooling_name(pooling), reason, ep.normalize ? ", normalized" : "",
            max_length);
    fprintf(stderr, "scivec encode: kernels: %s, BLIS %s (%s), precision %s\n",
            sv_bert_kernels(), sv_gemm_arch(), sv_gemm_arch_reason(),
            scivec_precision_name(scivec_model_precision(model)));
    if (ep.adapter_id)
        fprintf(stderr, "scivec encode: adapter: %s (%s)\n",
                scivec_model_adapter_name(model, ep.adapter_id),
                scivec_model_adapter_dir(model, ep.adapter_id));

    size_t n_path = strlen(out_path);
    char *tmp_path = malloc(n_path + 5);
    if (!tmp_path) {
        scivec_model_free(model);
        fprintf(stderr, "scivec encode: out of memory\n");
        return 1;
    }
    memcpy(tmp_path, out_path, n_path);
    memcpy(tmp_path + n_path, ".tmp", 5);

    sv_npy_writer *w = NULL;
    int status = sv_npy_writer_open(tmp_path, scivec_model_dim(model), &w);
    int64_t n_rows = 0;
    scivec_encode_stats stats = {0};
    double t0 = seconds_now();
    if (!status) status = encode_stream(model, &ep, w, &n_rows, &stats);
    if (w) {
        if (status) sv_npy_writer_abort(w);
        else status = sv_npy_writer_close(w);
    }
    if (!status && rename(tmp_path, out_path))
        status = sv_error(SCIVEC_EIO, "%s: cannot rename to %s: %s", tmp_path, out_path,
                          strerror(errno));
    double seconds = seconds_now() - t0;
    scivec_model_free(model);
    if (status) {
        remove(tmp_path);
        free(tmp_path);
        return cli_fail("encode");
    }
    free(tmp_path);
    fprintf(stderr, "scivec encode: %lld texts, %lld tokens in %.2f s; truncated: %d "
            "(to %d tokens)%s\n", (long long)n_rows, (long long)stats.n_tokens, seconds,
            stats.n_truncated, max_length,
            stats.n_invalid_utf8 ? "; some inputs held invalid UTF-8 (replaced)" : "");
    return 0;
}
