/*
 * npy.c - float32 .npy files: a streaming writer and a validating reader.
 *
 * Format (numpy/lib/format.py): "\x93NUMPY", major, minor, a little-endian
 * header length (2 bytes for version 1, 4 bytes for 2 and 3), then a Python
 * dict literal padded with spaces and ending in '\n', then the raw data.
 * We always write version 1.0 with the header padded to a 128-byte total,
 * which is what numpy.save writes for such shapes, and enough room for any
 * int64 row count, so the header can be rewritten in place as rows arrive.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "outputs/npy.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npy.c writes floats as they are in memory: little-endian hosts only"
#endif

enum { NPY_HEADER_TOTAL = 128, NPY_MAX_HEADER = 1 << 20 };
static const char npy_magic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

/* ------------------------------------------------------------------------ */
/* Header                                                                    */

static void format_header(char out[NPY_HEADER_TOTAL], int64_t n_rows, int64_t n_cols) {
    char dict[NPY_HEADER_TOTAL];
    int n =
        snprintf(dict, sizeof dict,
                 "{'descr': '<f4', 'fortran_order': False, 'shape': (%" PRId64 ", %" PRId64 "), }",
                 n_rows, n_cols);
    size_t dict_room = NPY_HEADER_TOTAL - 10; /* after magic, version, length */
    memcpy(out, npy_magic, 6);
    out[6] = 1;
    out[7] = 0;
    out[8] = (char)(dict_room & 0xff);
    out[9] = (char)(dict_room >> 8);
    memset(out + 10, ' ', dict_room);
    memcpy(out + 10, dict, (size_t)n); /* two int64 always fit: n <= 105 */
    out[NPY_HEADER_TOTAL - 1] = '\n';
}

/* A cursor over the dict literal. */
typedef struct {
    const char *s, *end;
} cursor;

static void skip_space(cursor *c) {
    while (c->s < c->end && (*c->s == ' ' || *c->s == '\t')) c->s++;
}

static int eat(cursor *c, char ch) {
    skip_space(c);
    if (c->s < c->end && *c->s == ch) {
        c->s++;
        return 1;
    }
    return 0;
}

/* A quoted Python string; writes at most cap-1 chars to out. */
static int parse_string(cursor *c, char *out, size_t cap) {
    skip_space(c);
    if (c->s >= c->end || (*c->s != '\'' && *c->s != '"')) return 0;
    char quote = *c->s++;
    size_t n = 0;
    while (c->s < c->end && *c->s != quote) {
        if (n + 1 >= cap) return 0;
        out[n++] = *c->s++;
    }
    if (c->s >= c->end) return 0;
    c->s++;
    out[n] = '\0';
    return 1;
}

static int parse_int(cursor *c, int64_t *out) {
    skip_space(c);
    int64_t v = 0;
    int digits = 0;
    while (c->s < c->end && isdigit((unsigned char)*c->s)) {
        if (v > (INT64_MAX - 9) / 10) return 0;
        v = v * 10 + (*c->s++ - '0');
        digits++;
    }
    if (c->s < c->end && *c->s == 'L') c->s++; /* Python 2 longs */
    *out = v;
    return digits > 0;
}

/* "(a,)" or "(a, b)" (a trailing comma allowed); ndim 1..2 only. */
static int parse_shape(cursor *c, int64_t dims[2], int *ndim) {
    if (!eat(c, '(')) return 0;
    *ndim = 0;
    for (;;) {
        if (eat(c, ')')) return 1;
        if (*ndim == 2) return 0;
        if (!parse_int(c, &dims[*ndim])) return 0;
        (*ndim)++;
        if (eat(c, ',')) continue;
        return eat(c, ')');
    }
}

/* The header's dict: {'descr': ..., 'fortran_order': ..., 'shape': (...), }
 * and nothing but padding after it. 0 when malformed (c->s where). */
typedef struct {
    char descr[32];
    int have_descr, have_order, have_shape, fortran, ndim;
    int64_t dims[2];
} header_dict;

static int parse_dict(cursor *c, header_dict *h) {
    char key[32];
    if (!eat(c, '{')) return 0;
    while (!eat(c, '}')) {
        if (!parse_string(c, key, sizeof key) || !eat(c, ':')) return 0;
        if (!strcmp(key, "descr")) {
            if (!parse_string(c, h->descr, sizeof h->descr)) return 0;
            h->have_descr = 1;
        } else if (!strcmp(key, "fortran_order")) {
            skip_space(c);
            size_t left = (size_t)(c->end - c->s);
            if (left >= 4 && !memcmp(c->s, "True", 4)) {
                h->fortran = 1;
                c->s += 4;
            } else if (left >= 5 && !memcmp(c->s, "False", 5)) {
                h->fortran = 0;
                c->s += 5;
            } else
                return 0;
            h->have_order = 1;
        } else if (!strcmp(key, "shape")) {
            if (!parse_shape(c, h->dims, &h->ndim)) return 0;
            h->have_shape = 1;
        } else {
            return 0;
        }
        if (!eat(c, ',')) {
            if (!eat(c, '}')) return 0;
            break;
        }
    }
    /* Only padding may follow the dict. */
    while (c->s < c->end && isspace((unsigned char)*c->s)) c->s++;
    return c->s == c->end;
}

int sv_npy_parse_header(const void *buf, size_t size, const char *name, int64_t *n_rows,
                        int64_t *n_cols, size_t *data_offset) {
    const unsigned char *b = buf;
    if (size < 10 || memcmp(b, npy_magic, 6) != 0)
        return sv_error(SCIVEC_EFORMAT, "%s: not a .npy file (bad magic)", name);
    int major = b[6];
    size_t header_len, preamble;
    if (major == 1) {
        header_len = (size_t)b[8] | (size_t)b[9] << 8;
        preamble = 10;
    } else if (major == 2 || major == 3) {
        if (size < 12) return sv_error(SCIVEC_EFORMAT, "%s: truncated .npy header", name);
        header_len = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        preamble = 12;
    } else {
        return sv_error(SCIVEC_EUNSUPPORTED, "%s: .npy format version %d.%d not supported", name,
                        major, b[7]);
    }
    if (header_len > NPY_MAX_HEADER || header_len > size - preamble)
        return sv_error(SCIVEC_EFORMAT, "%s: .npy header length %zu runs past the file (%zu bytes)",
                        name, header_len, size);

    cursor c = {(const char *)b + preamble, (const char *)b + preamble + header_len};
    header_dict h = {.descr = ""};
    if (!parse_dict(&c, &h))
        return sv_error(SCIVEC_EFORMAT, "%s: malformed .npy header near offset %zu", name,
                        (size_t)(c.s - (const char *)b));
    int ndim = h.ndim;
    int64_t *dims = h.dims;
    if (!h.have_descr || !h.have_order || !h.have_shape)
        return sv_error(SCIVEC_EFORMAT, "%s: .npy header lacks descr, fortran_order or shape",
                        name);
    if (strcmp(h.descr, "<f4") != 0)
        return sv_error(SCIVEC_EUNSUPPORTED, "%s: .npy dtype '%s' (expected float32 '<f4')", name,
                        h.descr);
    if (ndim == 0)
        return sv_error(SCIVEC_EFORMAT, "%s: .npy array has no dimensions (scalar)", name);
    if (ndim == 1) dims[1] = 1;
    if (h.fortran && ndim == 2 && dims[0] > 1 && dims[1] > 1)
        return sv_error(SCIVEC_EUNSUPPORTED, "%s: Fortran-order .npy arrays are not supported",
                        name);
    if (dims[1] != 0 && dims[0] > INT64_MAX / 4 / dims[1])
        return sv_error(SCIVEC_EFORMAT, "%s: .npy shape (%" PRId64 ", %" PRId64 ") is too large",
                        name, dims[0], dims[1]);
    *n_rows = dims[0];
    *n_cols = dims[1];
    *data_offset = preamble + header_len;
    return SCIVEC_OK;
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                   */

static int check_data_size(const char *name, int64_t n_rows, int64_t n_cols, size_t data_offset,
                           uint64_t file_size) {
    uint64_t want = (uint64_t)data_offset + (uint64_t)n_rows * (uint64_t)n_cols * 4;
    if (file_size != want)
        return sv_error(SCIVEC_EFORMAT,
                        "%s: .npy shape (%" PRId64 ", %" PRId64 ") needs %" PRIu64
                        " bytes but the file has %" PRIu64,
                        name, n_rows, n_cols, want, file_size);
    return SCIVEC_OK;
}

int sv_npy_parse(const void *buf, size_t size, const char *name, float **data, int64_t *n_rows,
                 int64_t *n_cols) {
    *data = NULL;
    size_t offset;
    int64_t rows, cols;
    int rc = sv_npy_parse_header(buf, size, name, &rows, &cols, &offset);
    if (rc) return rc;
    rc = check_data_size(name, rows, cols, offset, size);
    if (rc) return rc;
    size_t n_bytes = size - offset;
    float *out = malloc(n_bytes ? n_bytes : 1);
    if (!out) return sv_error(SCIVEC_ENOMEM, "%s: out of memory for %zu bytes", name, n_bytes);
    memcpy(out, (const char *)buf + offset, n_bytes);
    *data = out;
    *n_rows = rows;
    *n_cols = cols;
    return SCIVEC_OK;
}

int sv_npy_read(const char *path, float **data, int64_t *n_rows, int64_t *n_cols) {
    *data = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return sv_error(errno == ENOENT ? SCIVEC_ENOTFOUND : SCIVEC_EIO, "%s: %s", path,
                        strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return sv_error(SCIVEC_EIO, "%s: not a regular file", path);
    }
    uint64_t file_size = (uint64_t)st.st_size;
    /* The header first: it tells how much data must follow. */
    size_t head_cap = file_size < NPY_MAX_HEADER + 12 ? (size_t)file_size : NPY_MAX_HEADER + 12;
    char *head = malloc(head_cap ? head_cap : 1);
    if (!head) {
        fclose(f);
        return sv_error(SCIVEC_ENOMEM, "%s: out of memory", path);
    }
    size_t got = fread(head, 1, head_cap, f);
    size_t offset;
    int64_t rows, cols;
    int rc = got == head_cap ? sv_npy_parse_header(head, got, path, &rows, &cols, &offset)
                             : sv_error(SCIVEC_EIO, "%s: read error", path);
    free(head);
    if (!rc) rc = check_data_size(path, rows, cols, offset, file_size);
    if (rc) {
        fclose(f);
        return rc;
    }

    size_t n_bytes = (size_t)(file_size - offset);
    float *out = malloc(n_bytes ? n_bytes : 1);
    if (!out) {
        fclose(f);
        return sv_error(SCIVEC_ENOMEM, "%s: out of memory for %zu bytes", path, n_bytes);
    }
    if (fseek(f, (long)offset, SEEK_SET) != 0 || fread(out, 1, n_bytes, f) != n_bytes) {
        free(out);
        fclose(f);
        return sv_error(SCIVEC_EIO, "%s: short read of .npy data", path);
    }
    fclose(f);
    *data = out;
    *n_rows = rows;
    *n_cols = cols;
    return SCIVEC_OK;
}

int sv_npy_map_open(const char *path, sv_npy_map *map) {
    memset(map, 0, sizeof *map);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sv_error(errno == ENOENT ? SCIVEC_ENOTFOUND : SCIVEC_EIO, "%s: %s", path,
                        strerror(errno));
    struct stat st;
    int rc = SCIVEC_OK;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
        rc = sv_error(SCIVEC_EFORMAT, "%s: empty or not a regular file", path);
    if (!rc) {
        map->base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map->base == MAP_FAILED) {
            map->base = NULL;
            rc = sv_error(SCIVEC_EIO, "%s: mmap: %s", path, strerror(errno));
        } else
            map->size = (size_t)st.st_size;
    }
    close(fd);
    size_t offset = 0;
    if (!rc)
        rc = sv_npy_parse_header(map->base, map->size, path, &map->n_rows, &map->n_cols, &offset);
    if (!rc) rc = check_data_size(path, map->n_rows, map->n_cols, offset, map->size);
    /* Version 1 headers pad the data to 16 bytes (scivec's to 128); a file
     * whose floats are not 4-byte aligned is copied rather than misread. */
    if (!rc && offset % sizeof(float) == 0)
        map->rows = (const float *)((const char *)map->base + offset);
    else if (!rc) {
        size_t n_bytes = map->size - offset;
        if (!(map->copy = malloc(n_bytes ? n_bytes : 1)))
            rc = sv_error(SCIVEC_ENOMEM, "%s: out of memory for %zu bytes", path, n_bytes);
        else {
            memcpy(map->copy, (const char *)map->base + offset, n_bytes);
            map->rows = map->copy;
        }
    }
    if (rc) sv_npy_map_close(map);
    return rc;
}

void sv_npy_map_close(sv_npy_map *map) {
    if (map->base) munmap(map->base, map->size);
    free(map->copy);
    memset(map, 0, sizeof *map);
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                   */

struct sv_npy_writer {
    FILE *file;
    char *path;
    int64_t n_cols;
    int64_t n_rows;
    int failed;       /* a write failed: close must report it */
    int failed_errno; /* and why, for every later report */
};

static int writer_new(const char *path, const char *mode, int64_t n_cols, sv_npy_writer **out) {
    *out = NULL;
    if (n_cols <= 0) return sv_error(SCIVEC_EINVAL, "%s: .npy row width must be positive", path);
    sv_npy_writer *w = calloc(1, sizeof *w);
    char *path_copy = strdup(path);
    if (!w || !path_copy) {
        free(w);
        free(path_copy);
        return sv_error(SCIVEC_ENOMEM, "%s: out of memory", path);
    }
    w->file = fopen(path, mode);
    if (!w->file) {
        int rc = sv_error(errno == ENOENT ? SCIVEC_ENOTFOUND : SCIVEC_EIO, "%s: %s", path,
                          strerror(errno));
        free(path_copy);
        free(w);
        return rc;
    }
    w->path = path_copy;
    w->n_cols = n_cols;
    *out = w;
    return SCIVEC_OK;
}

static void writer_free(sv_npy_writer *w) {
    if (w->file) fclose(w->file);
    free(w->path);
    free(w);
}

/* Rewrites the header with the current row count, leaving the position at the end. */
static int write_header(sv_npy_writer *w) {
    char header[NPY_HEADER_TOTAL];
    format_header(header, w->n_rows, w->n_cols);
    if (fseek(w->file, 0, SEEK_SET) != 0 ||
        fwrite(header, 1, sizeof header, w->file) != sizeof header ||
        fseek(w->file, 0, SEEK_END) != 0) {
        w->failed = 1;
        w->failed_errno = errno;
        return sv_error(SCIVEC_EIO, "%s: writing .npy header: %s", w->path, strerror(errno));
    }
    return SCIVEC_OK;
}

int sv_npy_writer_open(const char *path, int64_t n_cols, sv_npy_writer **out) {
    sv_npy_writer *w;
    int rc = writer_new(path, "wb", n_cols, &w);
    if (rc) return rc;
    rc = write_header(w);
    if (rc) {
        writer_free(w);
        return rc;
    }
    *out = w;
    return SCIVEC_OK;
}

int sv_npy_writer_open_append(const char *path, int64_t n_cols, int64_t keep_rows,
                              sv_npy_writer **out) {
    sv_npy_writer *w;
    int rc = writer_new(path, "r+b", n_cols, &w);
    if (rc) return rc;
    char head[NPY_HEADER_TOTAL];
    struct stat st;
    size_t offset = 0;
    int64_t rows, cols;
    if (fstat(fileno(w->file), &st) != 0 || fread(head, 1, sizeof head, w->file) != sizeof head) {
        rc = sv_error(SCIVEC_EFORMAT, "%s: too short to be a partial .npy file", path);
    } else {
        rc = sv_npy_parse_header(head, sizeof head, path, &rows, &cols, &offset);
    }
    if (!rc && (offset != NPY_HEADER_TOTAL || cols != n_cols))
        rc = sv_error(SCIVEC_EFORMAT, "%s: not a partial [*, %" PRId64 "] array written by scivec",
                      path, n_cols);
    uint64_t want = (uint64_t)NPY_HEADER_TOTAL + (uint64_t)keep_rows * (uint64_t)n_cols * 4;
    if (!rc && (keep_rows < 0 || (uint64_t)st.st_size < want))
        rc = sv_error(SCIVEC_EFORMAT,
                      "%s: holds %" PRIu64 " bytes, fewer than the %" PRId64
                      " rows recorded as done",
                      path, (uint64_t)st.st_size, keep_rows);
    if (!rc && ftruncate(fileno(w->file), (off_t)want) != 0)
        rc = sv_error(SCIVEC_EIO, "%s: truncating: %s", path, strerror(errno));
    if (!rc) {
        w->n_rows = keep_rows;
        rc = write_header(w);
    }
    if (rc) {
        writer_free(w);
        return rc;
    }
    *out = w;
    return SCIVEC_OK;
}

static int earlier_failure(const sv_npy_writer *w) {
    return sv_error(SCIVEC_EIO, "%s: an earlier write failed: %s", w->path,
                    w->failed_errno ? strerror(w->failed_errno) : "unknown error");
}

int sv_npy_writer_append(sv_npy_writer *w, const float *rows, int64_t n_rows) {
    if (w->failed) return earlier_failure(w);
    if (n_rows < 0) return sv_error(SCIVEC_EINVAL, "%s: negative row count", w->path);
    size_t n_floats = (size_t)n_rows * (size_t)w->n_cols;
    if (n_floats && fwrite(rows, sizeof(float), n_floats, w->file) != n_floats) {
        w->failed = 1;
        w->failed_errno = errno;
        return sv_error(SCIVEC_EIO, "%s: write failed: %s", w->path, strerror(errno));
    }
    w->n_rows += n_rows;
    return SCIVEC_OK;
}

static int sync_file(sv_npy_writer *w) {
    if (fflush(w->file) != 0 || fsync(fileno(w->file)) != 0) {
        w->failed = 1;
        w->failed_errno = errno;
        return sv_error(SCIVEC_EIO, "%s: flushing to disk: %s", w->path, strerror(errno));
    }
    return SCIVEC_OK;
}

int sv_npy_writer_flush(sv_npy_writer *w) {
    if (w->failed) return earlier_failure(w);
    /* Data first, then the header that claims it. */
    int rc = sync_file(w);
    if (!rc) rc = write_header(w);
    if (!rc) rc = sync_file(w);
    return rc;
}

int64_t sv_npy_writer_rows(const sv_npy_writer *w) { return w->n_rows; }

int sv_npy_writer_close(sv_npy_writer *w) {
    if (!w) return SCIVEC_OK;
    int rc = w->failed ? earlier_failure(w) : SCIVEC_OK;
    if (!rc) rc = write_header(w);
    if (!rc) rc = sync_file(w);
    FILE *f = w->file;
    w->file = NULL;
    if (fclose(f) != 0 && !rc)
        rc = sv_error(SCIVEC_EIO, "%s: close failed: %s", w->path, strerror(errno));
    writer_free(w);
    return rc;
}

void sv_npy_writer_abort(sv_npy_writer *w) {
    if (w) writer_free(w);
}

int sv_npy_write(const char *path, const float *data, int64_t n_rows, int64_t n_cols) {
    sv_npy_writer *w;
    int rc = sv_npy_writer_open(path, n_cols, &w);
    if (rc) return rc;
    return sv_npy_writer_finish(w, sv_npy_writer_append(w, data, n_rows));
}

int sv_npy_writer_finish(sv_npy_writer *w, int status) {
    if (!w) return status;
    if (status) {
        sv_npy_writer_abort(w);
        return status;
    }
    return sv_npy_writer_close(w);
}
