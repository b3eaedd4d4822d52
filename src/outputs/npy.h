/*
 * npy.h - float32 2-D arrays in NumPy's .npy format (what numpy.load reads).
 *
 * The writer streams rows to disk so that memory is bounded by one batch,
 * not by the corpus: it writes a header padded to a fixed size first and
 * rewrites it with the final row count when the array is closed (and on every
 * flush, so that a flushed file is always a valid .npy of the rows so far).
 */
#ifndef SV_NPY_H
#define SV_NPY_H

#include <stddef.h>
#include <stdint.h>

typedef struct sv_npy_writer sv_npy_writer;

/* Creates path (truncating) for a float32 C-order [n_rows, n_cols] array whose
 * n_rows grows as rows are appended; the header is padded so it can be rewritten. */
int sv_npy_writer_open(const char *path, int64_t n_cols, sv_npy_writer **out);
/* Reopens a file written by sv_npy_writer (an interrupted run) to continue
 * it: checks it holds [*, n_cols] float32 with at least keep_rows complete
 * rows, cuts it to exactly keep_rows rows and appends after them. */
int sv_npy_writer_open_append(const char *path, int64_t n_cols, int64_t keep_rows,
                              sv_npy_writer **out);
int sv_npy_writer_append(sv_npy_writer *w, const float *rows, int64_t n_rows);
/* Pushes the rows so far to disk (header updated, fdatasync) so that a crash
 * after it returns loses none of them. */
int sv_npy_writer_flush(sv_npy_writer *w);
int64_t sv_npy_writer_rows(const sv_npy_writer *w);
/* Final header, fsync, frees w; an error if a write failed. */
int sv_npy_writer_close(sv_npy_writer *w);
/* Frees w without finishing the file (after an error; the file is left as is). */
void sv_npy_writer_abort(sv_npy_writer *w);
/* Ends w (NULL: nothing to end) as status says: closes it when status is
 * SCIVEC_OK and returns what closing returns, else aborts it and returns
 * status. The one ending of every writer loop. */
int sv_npy_writer_finish(sv_npy_writer *w, int status);

/* Whole array at once. */
int sv_npy_write(const char *path, const float *data, int64_t n_rows, int64_t n_cols);

/* Reads a float32 (little-endian '<f4') C-order array of 1 or 2 dims ([n] read
 * as [n,1]); caller frees *data. Validates the header and size. */
int sv_npy_read(const char *path, float **data, int64_t *n_rows, int64_t *n_cols);
/* The same from a buffer holding a whole .npy file; name is used in messages. */
int sv_npy_parse(const void *buf, size_t size, const char *name, float **data, int64_t *n_rows,
                 int64_t *n_cols);
/* A .npy file of float32 rows mapped read-only, not read: a query touches a
 * few rows of a file that may be GBs, and an index build reads it once
 * (pages the kernel can drop, not a second copy of the vectors). */
typedef struct sv_npy_map {
    const float *rows; /* n_rows x n_cols */
    int64_t n_rows, n_cols;
    void *base; /* the mapping, size bytes */
    size_t size;
    float *copy; /* the data, when the file's is not 4-byte aligned */
} sv_npy_map;

/* Maps path and checks its header and size (errors name path). */
int sv_npy_map_open(const char *path, sv_npy_map *map);
void sv_npy_map_close(sv_npy_map *map);

/* Parses only the header: shape and where the data starts. */
int sv_npy_parse_header(const void *buf, size_t size, const char *name, int64_t *n_rows,
                        int64_t *n_cols, size_t *data_offset);

#endif /* SV_NPY_H */
