/*
 * map_init.c - where the layout starts: the projection on the first two
 * principal components (umap-learn's init="pca"), rescaled to [0, 10] per
 * axis as simplicial_set_embedding rescales every initialisation. PCA, not
 * umap-learn's default spectral init: it is deterministic, one pass over
 * the vectors, and the SGD that follows sets the local structure the
 * quality figures measure (docs/MAP.md has the comparison).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "map/map_init.h"
#include "nn/gemm.h"

/* LAPACK (linked for FAISS): eigenvalues ascending, vectors in columns. */
extern void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
                   double *w, double *work, const int *lwork, int *info);

#define COV_BLOCK 256

/* covariance (unnormalised) of the centred rows into cov[dim * dim] */
static int covariance(const float *vectors, int64_t n, int dim, const double *mean, double *cov) {
    float *block_t = malloc((size_t)dim * COV_BLOCK * sizeof *block_t);
    float *product = malloc((size_t)dim * dim * sizeof *product);
    int rc = SCIVEC_OK;
    if (!block_t || !product) {
        rc = sv_error(SCIVEC_ENOMEM, "map: out of memory for the PCA of dim %d", dim);
        goto done;
    }
    memset(cov, 0, (size_t)dim * dim * sizeof *cov);
    for (int64_t start = 0; start < n; start += COV_BLOCK) {
        int rows = (int)(n - start < COV_BLOCK ? n - start : COV_BLOCK);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < dim; c++)
                block_t[(size_t)c * rows + r] = (float)(vectors[(start + r) * dim + c] - mean[c]);
        /* block^T block = block_t @ block_t^T */
        sv_gemm_nt(dim, dim, rows, 1.0f, block_t, rows, block_t, rows, product, dim);
        for (size_t e = 0; e < (size_t)dim * dim; e++) cov[e] += product[e];
    }
done:
    free(block_t);
    free(product);
    return rc;
}

int sv_map_pca_init(const float *vectors, int64_t n, int dim, float *layout) {
    double *mean = calloc((size_t)dim, sizeof *mean);
    double *cov = malloc((size_t)dim * dim * sizeof *cov);
    double *eigval = malloc((size_t)dim * sizeof *eigval);
    double *work = NULL;
    int rc = SCIVEC_OK;
    if (!mean || !cov || !eigval) {
        rc = sv_error(SCIVEC_ENOMEM, "map: out of memory for the PCA of dim %d", dim);
        goto done;
    }
    for (int64_t i = 0; i < n; i++)
        for (int c = 0; c < dim; c++) mean[c] += vectors[i * dim + c];
    for (int c = 0; c < dim; c++) mean[c] /= (double)n;
    if ((rc = covariance(vectors, n, dim, mean, cov))) goto done;

    int lwork = -1, info = 0;
    double query;
    dsyev_("V", "U", &dim, cov, &dim, eigval, &query, &lwork, &info);
    lwork = info == 0 && query >= 1 ? (int)query : 3 * dim;
    if (!(work = malloc((size_t)lwork * sizeof *work))) {
        rc = sv_error(SCIVEC_ENOMEM, "map: out of memory for the PCA of dim %d", dim);
        goto done;
    }
    dsyev_("V", "U", &dim, cov, &dim, eigval, work, &lwork, &info);
    if (info != 0) {
        rc = sv_error(SCIVEC_EINVAL,
                      "map: the PCA of the vectors did not converge (LAPACK dsyev info %d)", info);
        goto done;
    }
    /* the two largest are the last two columns; each sign fixed so that its
     * largest coefficient is positive (sklearn's svd_flip does the like) */
    const double *axis[2];
    for (int a = 0; a < 2; a++) {
        double *v = cov + (size_t)(dim - 1 - a) * dim; /* dim >= 2 (scivec_map_compute) */
        int biggest = 0;
        for (int c = 1; c < dim; c++)
            if (fabs(v[c]) > fabs(v[biggest])) biggest = c;
        if (v[biggest] < 0)
            for (int c = 0; c < dim; c++) v[c] = -v[c];
        axis[a] = v;
    }
    double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
    for (int64_t i = 0; i < n; i++) {
        for (int a = 0; a < 2; a++) {
            double s = 0;
            for (int c = 0; c < dim; c++) s += (vectors[i * dim + c] - mean[c]) * axis[a][c];
            layout[i * 2 + a] = (float)s;
            if (s < lo[a]) lo[a] = s;
            if (s > hi[a]) hi[a] = s;
        }
    }
    for (int64_t i = 0; i < n; i++)
        for (int a = 0; a < 2; a++) {
            double range = hi[a] - lo[a];
            layout[i * 2 + a] =
                range > 0 ? (float)(10.0 * (layout[i * 2 + a] - lo[a]) / range) : 5.0f;
        }
done:
    free(mean);
    free(cov);
    free(eigval);
    free(work);
    return rc;
}
