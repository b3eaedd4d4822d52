/*
 * l2norm.c - sv_l2_normalize (l2norm.h says why there is only one).
 */
#include <math.h>

#include "core/l2norm.h"

void sv_l2_normalize(float *x, int n) {
    double sq = 0.0;
    for (int i = 0; i < n; i++) sq += (double)x[i] * x[i];
    double norm = sqrt(sq);
    if (norm < 1e-12) norm = 1e-12; // F.normalize's eps: a zero vector stays zero
    for (int i = 0; i < n; i++) x[i] = (float)(x[i] / norm);
}
