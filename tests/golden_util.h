/*
 * golden_util.h - what the tests that compare against HuggingFace's golden
 * outputs share: token ids read from JSON, and the max-abs-difference
 * measure. Static, included by each test that needs it (like check.h).
 */
#ifndef SV_GOLDEN_UTIL_H
#define SV_GOLDEN_UTIL_H

#include <cjson/cJSON.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* malloc'd copy of arr's numbers; *n gets their count. */
static int32_t *int_array(const cJSON *arr, int *n) {
    *n = cJSON_GetArraySize(arr);
    int32_t *out = malloc((size_t)(*n ? *n : 1) * sizeof *out);
    int i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, arr) out[i++] = (int32_t)item->valuedouble;
    return out;
}

/* max |a - b| over n floats; a NaN anywhere counts as the worst. */
static double max_abs_diff(const float *a, const float *b, size_t n) {
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= worst)) worst = d;
    }
    return worst;
}

#endif
