/*
 * test_activation.c - activation.h's exp, erf and GELUs against libm in
 * double precision, each to the error its comment states, over every float
 * step of 1e-4 in the range BERT's activations reach (and past it).
 */
#include <math.h>

#include "check.h"
#include "nn/activation.h"

static double exact_gelu(double x) { return 0.5 * x * erfc(-x / sqrt(2.0)); }

static double exact_gelu_tanh(double x) {
    return 0.5 * x * (1.0 + tanh(sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
}

int main(void) {
    double worst_exp = 0.0, worst_erf = 0.0, worst_gelu = 0.0, worst_tanh = 0.0;
    for (double xd = -100.0; xd <= 0.0; xd += 1e-4) {
        float x = (float)xd;
        double exact = exp((double)x);
        if (x < -87.0f) exact = exp(-87.0); // the documented clamp
        double rel = fabs(sv_exp_nonpositive(x) - exact) / exact;
        if (rel > worst_exp) worst_exp = rel;
    }
    for (double xd = -12.0; xd <= 12.0; xd += 1e-4) {
        float x = (float)xd;
        double e = fabs(sv_erf(x) - erf((double)x));
        if (e > worst_erf) worst_erf = e;
        e = fabs(sv_gelu_erf(x) - exact_gelu((double)x));
        if (e > worst_gelu) worst_gelu = e;
        e = fabs(sv_gelu_tanh(x) - exact_gelu_tanh((double)x));
        if (e > worst_tanh) worst_tanh = e;
    }
    CHECK(worst_exp <= 2.5 * 0x1p-24, "exp: worst relative error %.3g (> 2 ulp)", worst_exp);
    CHECK(worst_erf <= 4.1e-7, "erf: worst absolute error %.3g", worst_erf);
    CHECK(worst_gelu <= 1e-6, "gelu: worst absolute error %.3g", worst_gelu);
    CHECK(worst_tanh <= 1e-6, "gelu_tanh: worst absolute error %.3g", worst_tanh);
    printf("worst errors: exp %.3g relative, erf %.3g, gelu %.3g, gelu_tanh %.3g absolute\n",
           worst_exp, worst_erf, worst_gelu, worst_tanh);

    // exact points and the special values a broken input brings
    CHECK(sv_gelu_erf(0.0f) == 0.0f, "gelu(0) = %g", sv_gelu_erf(0.0f));
    // erf reaches +-1 exactly at the clamp, so far tails cannot blow up to -x * 3e-8
    CHECK(sv_erf(4.0f) == 1.0f && sv_erf(-4.0f) == -1.0f, "erf(+-4) = %.9g, %.9g", sv_erf(4.0f),
          sv_erf(-4.0f));
    CHECK(sv_gelu_erf(-1e30f) == 0.0f, "gelu(-1e30) = %g", sv_gelu_erf(-1e30f));
    CHECK(sv_gelu_erf(1e30f) == 1e30f, "gelu(1e30) = %g", sv_gelu_erf(1e30f));
    CHECK(isnan(sv_gelu_erf(NAN)), "gelu(NaN) must stay NaN");
    CHECK(sv_exp_nonpositive(0.0f) == 1.0f, "exp(0) = %g", sv_exp_nonpositive(0.0f));
    return check_report();
}
