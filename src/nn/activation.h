/*
 * activation.h - the forward's elementwise math, written so GCC vectorises
 * it: exp for the softmax, the two GELUs. libm's expf and erff are scalar
 * calls; in a BERT-base forward they cost more than attention's products.
 * Static inline so that bert.c's row loops inline and vectorise them;
 * tests/test_activation.c holds each to its stated error against libm in
 * double precision.
 */
#ifndef SV_ACTIVATION_H
#define SV_ACTIVATION_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* Nothing here reads floating-point exception flags; without this promise
 * GCC will not if-convert the float compares (the clamps), and the loops
 * that call these stay scalar. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("no-trapping-math")
#endif

/* 2^n for an integer n in [-126, 127], built in the exponent field (the
 * memcpy is how C spells a bit cast; GCC vectorises it). */
static inline float sv_exp2_int(float n) {
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return scale;
}

/* exp(x) for x <= 0 (scores minus their max): Cody-Waite range reduction
 * x = n ln2 + r, |r| <= ln2/2, and Cephes' degree-6 polynomial for exp(r),
 * within 2 ulp of expf. Below -87 the result would be subnormal; it is
 * clamped to exp(-87) ~ 1.6e-38, which no softmax sum can notice. */
static inline float sv_exp_nonpositive(float x) {
    x = x < -87.0f ? -87.0f : x;
    float n = floorf(x * 1.44269504088896341f + 0.5f);
    float r = x - n * 0.693359375f; // ln2 high part, exact in n * it
    r = r - n * -2.12194440e-4f;    // ln2 low part
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    return p * sv_exp2_int(n); // n >= -125 after the clamp: a normal number
}

/* erf(x) as x P(x^2) / Q(x^2) on [-4, 4] and +-1 outside (erff rounds to
 * +-1 from 3.92 on): the rational fit Eigen and XLA use for float, within
 * 4.1e-7 absolute. One division and eleven multiply-adds; the erfc-with-exp
 * form it replaced cost three times as much per element. */
static inline float sv_erf(float x) {
    x = x < -4.0f ? -4.0f : (x > 4.0f ? 4.0f : x);
    float x2 = x * x;
    float p = -2.72614225801306e-10f;
    p = p * x2 + 2.77068142495902e-08f;
    p = p * x2 + -2.10102402082508e-06f;
    p = p * x2 + -5.69250639462346e-05f;
    p = p * x2 + -7.34990630326855e-04f;
    p = p * x2 + -2.95459980854025e-03f;
    p = p * x2 + -1.60960333262415e-02f;
    float q = -1.45660718464996e-05f;
    q = q * x2 + -2.13374055278905e-04f;
    q = q * x2 + -1.68282697438203e-03f;
    q = q * x2 + -7.37332916720468e-03f;
    q = q * x2 + -1.42647390514189e-02f;
    return x * p / q;
}

/* HF "gelu": x * 0.5 * (1 + erf(x / sqrt(2))), within 1e-6 absolute of the
 * exact value (PyTorch's own float erf is an approximation of the same
 * order). * 1/sqrt(2) instead of / sqrt(2): no division. */
static inline float sv_gelu_erf(float x) {
    return 0.5f * x * (1.0f + sv_erf(x * 0.70710678118654752f));
}

/* HF "gelu_new" / "gelu_pytorch_tanh". */
static inline float sv_gelu_tanh(float x) {
    const float k = 0.7978845608028654f; // sqrt(2 / pi)
    return 0.5f * x * (1.0f + tanhf(k * (x + 0.044715f * x * x * x)));
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

#endif
