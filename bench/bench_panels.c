/*
 * bench_panels.c - how fast (in thread CPU time, so other
 * processes on a shared machine disturb it less) the forward's (sequence, column panel) SGEMM
 * tasks run, against one SGEMM over the whole packed batch, single-threaded,
 * on BERT-base's dense-layer shapes. Picks SV_PANEL in bert.c by measurement.
 *
 *     bench_panels [seq_len=230] [n_seqs=32] [seconds per point=1]
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* CPU time: the machine is shared */
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* out[rows, n_out] = inp[rows, n_in] @ w[n_out, n_in]^T as per-(sequence,
 * panel) calls; panel 0 = one call over every row and column. */
static void run(float *out, const float *inp, const float *w, int seq_len,
                int n_seqs, int n_in, int n_out, int panel) {
    if (panel == 0) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, seq_len * n_seqs, n_out, n_in,
                    1.0f, inp, n_in, w, n_in, 0.0f, out, n_out);
        return;
    }
    for (int s = 0; s < n_seqs; s++)
        for (int col0 = 0; col0 < n_out; col0 += panel) {
            int n_cols = n_out - col0 < panel ? n_out - col0 : panel;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, seq_len, n_cols, n_in, 1.0f,
                        inp + (size_t)s * seq_len * n_in, n_in, w + (size_t)col0 * n_in, n_in,
                        0.0f, out + (size_t)s * seq_len * n_out + col0, n_out);
        }
}

int main(int argc, char **argv) {
    int seq_len = argc > 1 ? atoi(argv[1]) : 230;
    int n_seqs = argc > 2 ? atoi(argv[2]) : 32;
    double seconds = argc > 3 ? atof(argv[3]) : 1.0;
    openblas_set_num_threads(1);
    const int shapes[3][2] = {{768, 768}, {768, 3072}, {3072, 768}};
    const int panels[] = {0, 64, 128, 256, 384, 768, 3072};
    size_t rows = (size_t)seq_len * n_seqs;
    float *inp = malloc(sizeof(float) * rows * 3072);
    float *w = malloc(sizeof(float) * 3072 * 3072);
    float *out = malloc(sizeof(float) * rows * 3072);
    if (!inp || !w || !out) return 1;
    for (size_t i = 0; i < rows * 3072; i++) inp[i] = (float)(i % 13) * 0.01f;
    for (size_t i = 0; i < 3072u * 3072u; i++) w[i] = (float)(i % 7) * 0.01f;
    const char *core = getenv("OPENBLAS_CORETYPE");
    printf("seq_len %d, %d sequences, 1 thread, OPENBLAS_CORETYPE=%s: GFLOP/s (panel 0 = one "
           "SGEMM over the batch)\n", seq_len, n_seqs, core ? core : "(unset)");
    for (int sh = 0; sh < 3; sh++) {
        int n_in = shapes[sh][0], n_out = shapes[sh][1];
        printf("in %4d out %4d:", n_in, n_out);
        for (size_t p = 0; p < sizeof panels / sizeof *panels; p++) {
            if (panels[p] > n_out) continue;
            double flop = 2.0 * rows * n_in * n_out, best = 1e30;
            double t_end = now_seconds() + seconds;
            for (int rep = 0; rep < 2 || now_seconds() < t_end; rep++) {
                double t0 = now_seconds();
                run(out, inp, w, seq_len, n_seqs, n_in, n_out, panels[p]);
                double dt = now_seconds() - t0;
                if (rep > 0 && dt < best) best = dt;
            }
            printf("  p%d %.1f", panels[p], flop / best * 1e-9);
        }
        printf("\n");
    }
    free(inp); free(w); free(out);
    return 0;
}
