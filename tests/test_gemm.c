/*
 * test_gemm.c - the property the forward's row chunks rest on (gemm.h): a
 * row of sv_gemm_nt's result is bitwise the same whatever rows come with it
 * in the call and wherever it falls, on BERT-base shapes. OpenBLAS fails
 * this (up to hundreds of rows differ in a 512-row call); a library swap
 * that breaks it must fail here, not as a drifting vector in a batch.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn/gemm.h"

static void fill(float *a, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        a[i] = (float)(seed >> 8) / (float)(1u << 24) - 0.5f;
    }
}

/* Rows start .. start+len-1 of x @ w^T, computed alone, against the same
 * rows of one call over all n_rows rows. Returns how many rows differ. */
static int rows_differing(const float *x, const float *w, const float *all, float *part, int start,
                          int len, int n_in, int n_out) {
    sv_gemm_nt(len, n_out, n_in, 1.0f, x + (size_t)start * n_in, n_in, w, n_in, part, n_out);
    int n_bad = 0;
    for (int r = 0; r < len; r++)
        n_bad += memcmp(part + (size_t)r * n_out, all + (size_t)(start + r) * n_out,
                        (size_t)n_out * sizeof(float)) != 0;
    return n_bad;
}

int main(void) {
    const int shapes[2][2] = {{768, 768}, {3072, 768}}; /* n_in, n_out */
    const int n_rows = 600;
    const int starts[] = {0, 1, 7, 16, 100, 333};
    const int lens[] = {1, 2, 5, 17, 24, 64, 236, 256};
    for (int s = 0; s < 2; s++) {
        int n_in = shapes[s][0], n_out = shapes[s][1];
        float *x = malloc(sizeof(float) * n_rows * n_in);
        float *w = malloc(sizeof(float) * n_out * n_in);
        float *all = malloc(sizeof(float) * n_rows * n_out);
        float *part = malloc(sizeof(float) * n_rows * n_out);
        CHECK(x && w && all && part, "out of memory");
        if (!x || !w || !all || !part) return check_report();
        fill(x, (size_t)n_rows * n_in, 1u + s);
        fill(w, (size_t)n_out * n_in, 7u + s);
        sv_gemm_nt(n_rows, n_out, n_in, 1.0f, x, n_in, w, n_in, all, n_out);
        for (size_t i = 0; i < sizeof starts / sizeof *starts; i++)
            for (size_t j = 0; j < sizeof lens / sizeof *lens; j++) {
                int n_bad = rows_differing(x, w, all, part, starts[i], lens[j], n_in, n_out);
                CHECK(n_bad == 0,
                      "in %d out %d: rows %d..%d alone: %d of %d rows differ from "
                      "the %d-row call",
                      n_in, n_out, starts[i], starts[i] + lens[j] - 1, n_bad, lens[j], n_rows);
            }
        free(x);
        free(w);
        free(all);
        free(part);
    }
    return check_report();
}
