/*
 * precision_check.h - how much a reduced precision (bf16, int8) changes a
 * user's own vectors: a sample of texts embedded in fp32 and in the chosen
 * precision, compared as the queries will see them (docs/MODEL.md,
 * "Precision": what is measured, the thresholds and why).
 */
#ifndef SV_PRECISION_CHECK_H
#define SV_PRECISION_CHECK_H

#include "scivec.h"

/* Papers sampled by embed (the first kept ones, in input order). */
#define SV_PRECISION_SAMPLE 256
/* Neighbours compared per sampled paper. */
#define SV_PRECISION_TOP_K 10
/* Default thresholds below which embed stops (unless forced). */
#define SV_PRECISION_MIN_COSINE  0.99
#define SV_PRECISION_MIN_OVERLAP 0.90

typedef struct sv_precision_quality {
    int n;              /* texts compared                                */
    double mean_cosine; /* cosine of each text's two vectors, mean / min */
    double min_cosine;
    double top_k_overlap; /* mean fraction of a text's top-k neighbours in
                               the sample (itself excluded) that both agree on;
                               1 when n <= k (nothing to rank)               */
} sv_precision_quality;

/* Encodes texts[n] with both models (same encode params; each model's own
 * adapter id in fp32_adapter / reduced_adapter) and compares them. */
int sv_precision_compare(scivec_model *fp32_model, int fp32_adapter, scivec_model *reduced_model,
                         int reduced_adapter, const scivec_encode_params *ep, int n,
                         const char *const *texts, sv_precision_quality *out);

#endif
