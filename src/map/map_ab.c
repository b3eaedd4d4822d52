/*
 * map_ab.c - umap-learn's find_ab_params: the a, b of the layout's
 * similarity curve 1 / (1 + a d^2b), fitted by least squares (scipy's
 * curve_fit, Levenberg-Marquardt from a = b = 1) to the curve min_dist and
 * spread describe. Here Levenberg-Marquardt with the exact Jacobian.
 */
#include <math.h>

#include "core/error.h"
#include "map/map_ab.h"

#define AB_POINTS         300
#define AB_MAX_ITERATIONS 200

/* Sum of squared residuals at (a, b); grad/JtJ filled when given. */
static double residuals(const double *x, const double *y, double a, double b, double grad[2],
                        double jtj[3]) {
    double sse = 0;
    if (grad) grad[0] = grad[1] = jtj[0] = jtj[1] = jtj[2] = 0;
    for (int i = 0; i < AB_POINTS; i++) {
        double p = x[i] > 0 ? pow(x[i], 2 * b) : 0;
        double f = 1.0 / (1.0 + a * p);
        double r = f - y[i];
        sse += r * r;
        if (!grad) continue;
        double d_a = -p * f * f;
        double d_b = x[i] > 0 ? -a * p * 2 * log(x[i]) * f * f : 0;
        grad[0] += d_a * r;
        grad[1] += d_b * r;
        jtj[0] += d_a * d_a;
        jtj[1] += d_a * d_b;
        jtj[2] += d_b * d_b;
    }
    return sse;
}

int sv_map_find_ab(double spread, double min_dist, double *a_out, double *b_out) {
    if (!(spread > 0) || !(min_dist >= 0) || min_dist > spread)
        return sv_error(SCIVEC_EINVAL,
                        "map: min_dist must be in [0, spread] and spread > 0 "
                        "(got min_dist %g, spread %g)",
                        min_dist, spread);
    double x[AB_POINTS], y[AB_POINTS];
    for (int i = 0; i < AB_POINTS; i++) {
        x[i] = spread * 3 * i / (AB_POINTS - 1); /* np.linspace(0, spread * 3, 300) */
        y[i] = x[i] < min_dist ? 1.0 : exp(-(x[i] - min_dist) / spread);
    }
    double a = 1, b = 1, lambda = 1e-3;
    double grad[2], jtj[3];
    double sse = residuals(x, y, a, b, grad, jtj);
    for (int it = 0; it < AB_MAX_ITERATIONS; it++) {
        /* solve (JtJ + lambda diag(JtJ)) step = -grad */
        double m00 = jtj[0] * (1 + lambda), m11 = jtj[2] * (1 + lambda), m01 = jtj[1];
        double det = m00 * m11 - m01 * m01;
        if (!(fabs(det) > 0)) break;
        double da = -(m11 * grad[0] - m01 * grad[1]) / det;
        double db = -(m00 * grad[1] - m01 * grad[0]) / det;
        double trial = residuals(x, y, a + da, b + db, NULL, NULL);
        if (trial < sse) {
            a += da;
            b += db;
            double improvement = sse - trial;
            sse = residuals(x, y, a, b, grad, jtj);
            lambda /= 10;
            if (improvement < 1e-15 * (sse + 1e-30) && fabs(da) < 1e-12 && fabs(db) < 1e-12) break;
        } else {
            lambda *= 10;
            if (lambda > 1e12) break;
        }
    }
    if (!isfinite(a) || !isfinite(b))
        return sv_error(SCIVEC_EINVAL, "map: no curve fits min_dist %g, spread %g", min_dist,
                        spread);
    *a_out = a;
    *b_out = b;
    return SCIVEC_OK;
}
