/*
 * test_precision.c - bf16 and int8 dense layers (lowp.h) through the public
 * API, on the tiny fixture model and the golden texts:
 *   - where the CPU runs them fast: vectors close to fp32's (cosine bounds)
 *     but not equal to them (the reduced path really ran), and the same
 *     vector for a text whatever the batch, the batch budget and the thread
 *     count: int8 bitwise, bf16 within a bound (docs/MODEL.md, "Precision");
 *   - where it does not: scivec_model_load refuses (SCIVEC_EUNSUPPORTED)
 *     with the reason;
 *   - always: an unknown precision is SCIVEC_EINVAL, names parse and print.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "corpus/jsonl.h"
#include "nn/lowp.h"
#include "nn/model.h"
#include "scivec.h"

#define TINY      SV_FIXTURES "/models/tiny-scibert"
#define MAX_TEXTS 400

static int load_texts(char **texts) {
    sv_jsonl *r;
    if (sv_jsonl_open(SV_FIXTURES "/golden/tokens.jsonl", &r)) return 0;
    cJSON *obj;
    int n = 0;
    while (n < MAX_TEXTS && sv_jsonl_next(r, &obj) == 1) {
        texts[n++] = strdup(cJSON_GetObjectItem(obj, "text")->valuestring);
        cJSON_Delete(obj);
    }
    sv_jsonl_close(r);
    return n;
}

static scivec_model *load(scivec_precision precision, int n_threads) {
    scivec_model_params mp = scivec_model_default_params();
    mp.n_threads = n_threads;
    mp.precision = precision;
    scivec_model *model = NULL;
    int status = scivec_model_load(TINY, &mp, &model);
    CHECK(status == SCIVEC_OK, "load %s: %s", scivec_precision_name(precision),
          scivec_last_error());
    return model;
}

/* out[n, hidden]: the texts in one call with a token budget, or one by one. */
static int encode(scivec_model *model, int n, char **texts, int one_by_one, int budget,
                  float *out) {
    scivec_encode_params ep = scivec_encode_default_params();
    ep.pooling = SCIVEC_POOL_CLS;
    sv_model_set_batch_tokens(model, budget);
    int hidden = scivec_model_hidden_size(model);
    if (!one_by_one)
        return scivec_model_encode_texts(model, &ep, n, (const char *const *)texts, NULL, out,
                                         NULL);
    for (int i = 0; i < n; i++) {
        int status = scivec_model_encode_texts(model, &ep, 1, (const char *const *)&texts[i], NULL,
                                               out + (size_t)i * hidden, NULL);
        if (status) return status;
    }
    return SCIVEC_OK;
}

static void check_precision(scivec_precision precision, int n, char **texts, const float *fp32,
                            double min_cos_bound, double invariance_bound) {
    const char *name = scivec_precision_name(precision);
    const char *why = sv_lowp_unsupported(precision);
    if (why) {
        scivec_model_params mp = scivec_model_default_params();
        mp.precision = precision;
        scivec_model *model = NULL;
        int status = scivec_model_load(TINY, &mp, &model);
        CHECK(status == SCIVEC_EUNSUPPORTED && !model, "%s on a CPU without it: status %d", name,
              status);
        CHECK(strstr(scivec_last_error(), "lacks") != NULL, "%s: reason: %s", name,
              scivec_last_error());
        printf("%s refused here: %s\n", name, scivec_last_error());
        scivec_model_free(model);
        return;
    }
    scivec_model *one = load(precision, 1), *two = load(precision, 2);
    if (!one || !two) {
        scivec_model_free(one);
        scivec_model_free(two);
        return;
    }
    CHECK(scivec_model_precision(one) == precision, "%s: scivec_model_precision", name);
    int hidden = scivec_model_hidden_size(one);
    size_t count = (size_t)n * hidden;
    float *ref = malloc(count * sizeof *ref), *got = malloc(count * sizeof *got);
    CHECK(encode(one, n, texts, 0, SV_BATCH_TOKENS, ref) == SCIVEC_OK, "%s: %s", name,
          scivec_last_error());
    // close to fp32, but not fp32
    double min_cos = 1.0, sum_cos = 0.0, max_diff = 0.0;
    for (int i = 0; i < n; i++) {
        const float *a = fp32 + (size_t)i * hidden, *b = ref + (size_t)i * hidden;
        double dot = 0, na = 0, nb = 0;
        for (int d = 0; d < hidden; d++) {
            dot += (double)a[d] * b[d];
            na += (double)a[d] * a[d];
            nb += (double)b[d] * b[d];
            if (fabs(a[d] - b[d]) > max_diff) max_diff = fabs(a[d] - b[d]);
        }
        double cos = dot / sqrt(na * nb);
        sum_cos += cos;
        if (cos < min_cos) min_cos = cos;
    }
    printf("%s vs fp32 (%d texts): cosine mean %.7f min %.7f, max abs diff %.3g\n", name, n,
           sum_cos / n, min_cos, max_diff);
    CHECK(min_cos >= min_cos_bound, "%s: min cosine %.7f < %.4f", name, min_cos, min_cos_bound);
    CHECK(max_diff > 1e-5, "%s: vectors equal fp32's (%.3g): the reduced path did not run", name,
          max_diff);
    // the same vector whatever the batch, budget and threads: bitwise
    struct {
        scivec_model *model;
        int one_by_one, budget;
        const char *what;
    } runs[] = {
        {one, 1, SV_BATCH_TOKENS, "one by one, 1 thread"},
        {two, 0, SV_BATCH_TOKENS, "one call, 2 threads"},
        {two, 0, 300, "budget 300, 2 threads"},
        {one, 0, 77, "budget 77, 1 thread"},
    };
    for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
        CHECK(encode(runs[r].model, n, texts, runs[r].one_by_one, runs[r].budget, got) == SCIVEC_OK,
              "%s %s: %s", name, runs[r].what, scivec_last_error());
        double diff = 0.0;
        for (size_t i = 0; i < count; i++)
            if (fabs(got[i] - ref[i]) > diff) diff = fabs(got[i] - ref[i]);
        printf("%s %-22s vs one call, 1 thread: max abs diff %.3g\n", name, runs[r].what, diff);
        CHECK(diff <= invariance_bound,
              "%s: %s differs from one call with 1 thread by %.3g "
              "(bound %.3g)",
              name, runs[r].what, diff, invariance_bound);
    }
    free(ref);
    free(got);
    scivec_model_free(one);
    scivec_model_free(two);
}

int main(void) {
    scivec_precision p;
    CHECK(scivec_precision_parse("int8", &p) == SCIVEC_OK && p == SCIVEC_PRECISION_INT8,
          "parse int8");
    CHECK(scivec_precision_parse("fp16", &p) == SCIVEC_EINVAL &&
              strstr(scivec_last_error(), "fp16"),
          "fp16 refused: %s", scivec_last_error());
    scivec_model_params mp = scivec_model_default_params();
    CHECK(mp.precision == SCIVEC_PRECISION_FP32, "default precision");
    mp.precision = (scivec_precision)7;
    scivec_model *bad = NULL;
    CHECK(scivec_model_load(TINY, &mp, &bad) == SCIVEC_EINVAL && !bad, "precision 7 refused");

    char *texts[MAX_TEXTS];
    int n = load_texts(texts);
    CHECK(n >= 100, "%d golden texts", n);
    scivec_model *fp32_model = load(SCIVEC_PRECISION_FP32, 1);
    if (fp32_model && n > 0) {
        CHECK(scivec_model_precision(fp32_model) == SCIVEC_PRECISION_FP32, "fp32 precision");
        float *fp32 = malloc((size_t)n * scivec_model_hidden_size(fp32_model) * sizeof *fp32);
        CHECK(encode(fp32_model, n, texts, 0, SV_BATCH_TOKENS, fp32) == SCIVEC_OK, "fp32");
        // bounds: about 50x below what this model reaches (docs/MODEL.md)
        // invariance: int8 bitwise (integer sums are exact, scales per row and
        // channel); bf16 within a bound (oneDNN's bf16 kernel rounds a row
        // differently depending on where it falls in the call)
        check_precision(SCIVEC_PRECISION_BF16, n, texts, fp32, 0.9999, 1e-5);
        check_precision(SCIVEC_PRECISION_INT8, n, texts, fp32, 0.999, 0.0);
        free(fp32);
    }
    scivec_model_free(fp32_model);
    for (int i = 0; i < n; i++) free(texts[i]);
    return check_report();
}
