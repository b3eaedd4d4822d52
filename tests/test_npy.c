/* test_npy.c - .npy reading and writing: round trips, the streaming writer
 * (flush, resume by truncating), numpy's own files from the golden fixtures,
 * and malformed headers that must be refused with a message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "core/error.h"
#include "core/files.h"
#include "outputs/npy.h"

static char tmp_dir[] = "/tmp/test_npy_XXXXXX";

static char *tmp_path(const char *name) { return sv_path_join(tmp_dir, name); }

static void write_bytes(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(data, 1, n, f);
        fclose(f);
    }
}

/* A v1 .npy with the given dict text and n_data bytes of zeros after it. */
static size_t make_npy(char *buf, size_t cap, const char *dict, size_t n_data) {
    size_t dict_len = strlen(dict);
    size_t total_head = 10 + dict_len + 1;
    size_t pad = (64 - total_head % 64) % 64;
    size_t header_len = dict_len + pad + 1;
    if (10 + header_len + n_data > cap) return 0;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (char)(header_len & 0xff);
    buf[9] = (char)(header_len >> 8);
    memcpy(buf + 10, dict, dict_len);
    memset(buf + 10 + dict_len, ' ', pad);
    buf[10 + header_len - 1] = '\n';
    memset(buf + 10 + header_len, 0, n_data);
    return 10 + header_len + n_data;
}

static void test_round_trip(void) {
    char *path = tmp_path("rt.npy");
    float data[3 * 5];
    for (int i = 0; i < 15; i++) data[i] = (float)i * 0.25f - 1.0f;
    CHECK(sv_npy_write(path, data, 3, 5) == SCIVEC_OK, "write: %s", scivec_last_error());
    float *back = NULL;
    int64_t rows = -1, cols = -1;
    CHECK(sv_npy_read(path, &back, &rows, &cols) == SCIVEC_OK, "read: %s", scivec_last_error());
    CHECK(rows == 3 && cols == 5, "shape (%lld, %lld)", (long long)rows, (long long)cols);
    CHECK(back && memcmp(back, data, sizeof data) == 0, "data differs after round trip");
    free(back);

    /* Zero rows is a valid array (an embed of nothing). */
    CHECK(sv_npy_write(path, data, 0, 5) == SCIVEC_OK, "write empty: %s", scivec_last_error());
    CHECK(sv_npy_read(path, &back, &rows, &cols) == SCIVEC_OK, "read empty: %s",
          scivec_last_error());
    CHECK(rows == 0 && cols == 5, "empty shape (%lld, %lld)", (long long)rows, (long long)cols);
    free(back);
    free(path);
}

static void test_streaming_writer(void) {
    char *path = tmp_path("stream.npy");
    enum { COLS = 4, ROWS = 10 };
    float data[ROWS * COLS];
    for (int i = 0; i < ROWS * COLS; i++) data[i] = (float)i;

    sv_npy_writer *w = NULL;
    CHECK(sv_npy_writer_open(path, COLS, &w) == SCIVEC_OK, "open: %s", scivec_last_error());
    if (!w) return;
    CHECK(sv_npy_writer_append(w, data, 3) == SCIVEC_OK, "append");
    CHECK(sv_npy_writer_append(w, data + 3 * COLS, 4) == SCIVEC_OK, "append");
    CHECK(sv_npy_writer_flush(w) == SCIVEC_OK, "flush: %s", scivec_last_error());
    /* A flushed file is a valid array of the rows so far. */
    float *back = NULL;
    int64_t rows, cols;
    CHECK(sv_npy_read(path, &back, &rows, &cols) == SCIVEC_OK, "read flushed: %s",
          scivec_last_error());
    CHECK(rows == 7 && cols == COLS, "flushed shape (%lld, %lld)", (long long)rows,
          (long long)cols);
    free(back);
    /* Rows after the flush that a crash would leave behind, half a row included. */
    CHECK(sv_npy_writer_append(w, data + 7 * COLS, 2) == SCIVEC_OK, "append");
    sv_npy_writer_abort(w);
    FILE *f = fopen(path, "ab");
    if (f) {
        fwrite(data, 1, 6, f);
        fclose(f);
    }

    /* Resume from the 7 rows the checkpoint knows about. */
    CHECK(sv_npy_writer_open_append(path, COLS, 7, &w) == SCIVEC_OK, "reopen: %s",
          scivec_last_error());
    if (!w) return;
    CHECK(sv_npy_writer_rows(w) == 7, "rows after reopen %lld", (long long)sv_npy_writer_rows(w));
    CHECK(sv_npy_writer_append(w, data + 7 * COLS, 3) == SCIVEC_OK, "append");
    CHECK(sv_npy_writer_close(w) == SCIVEC_OK, "close: %s", scivec_last_error());

    /* The result is byte-identical to writing all rows at once. */
    char *whole = tmp_path("whole.npy");
    CHECK(sv_npy_write(whole, data, ROWS, COLS) == SCIVEC_OK, "write whole");
    char *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    sv_read_file(path, &a, &na);
    sv_read_file(whole, &b, &nb);
    CHECK(a && b && na == nb && memcmp(a, b, na) == 0, "resumed file differs (%zu vs %zu bytes)",
          na, nb);
    free(a);
    free(b);

    /* Reopening with a different width or more rows than present fails. */
    CHECK(sv_npy_writer_open_append(path, COLS + 1, 2, &w) == SCIVEC_EFORMAT,
          "width mismatch accepted");
    CHECK(sv_npy_writer_open_append(path, COLS, ROWS + 1, &w) == SCIVEC_EFORMAT,
          "too many rows accepted");
    CHECK(strstr(scivec_last_error(), "stream.npy") != NULL, "message names the file: %s",
          scivec_last_error());
    free(whole);
    free(path);
}

/* numpy.save's own files: we read them, and writing the same array back gives
 * the same bytes (header included). */
static void test_golden(void) {
    static const char *names[] = {"embeddings_cls.npy", "embeddings_mean.npy",
                                  "last_hidden_state_edge-ascii-simple.npy",
                                  "pairs_single_sep_embeddings_cls.npy"};
    static const int64_t want_rows[] = {661, 661, 13, 306};
    for (size_t i = 0; i < SV_ARRAY_LEN(names); i++) {
        char *path = sv_path_join(SV_FIXTURES "/golden/tiny-scibert", names[i]);
        float *data = NULL;
        int64_t rows = 0, cols = 0;
        CHECK(sv_npy_read(path, &data, &rows, &cols) == SCIVEC_OK, "%s: %s", names[i],
              scivec_last_error());
        CHECK(rows == want_rows[i] && cols == 64, "%s: shape (%lld, %lld)", names[i],
              (long long)rows, (long long)cols);
        int finite = 1, nonzero = 0;
        for (int64_t k = 0; data && k < rows * cols; k++) {
            if (!(data[k] == data[k]) || data[k] > 1e6f || data[k] < -1e6f) finite = 0;
            if (data[k] != 0.0f) nonzero++;
        }
        CHECK(finite && nonzero > rows, "%s: values look wrong", names[i]);

        char *copy = tmp_path("copy.npy");
        CHECK(sv_npy_write(copy, data, rows, cols) == SCIVEC_OK, "rewrite %s", names[i]);
        char *a = NULL, *b = NULL;
        size_t na = 0, nb = 0;
        sv_read_file(path, &a, &na);
        sv_read_file(copy, &b, &nb);
        CHECK(a && b && na == nb && memcmp(a, b, na) == 0, "%s: our bytes differ from numpy's",
              names[i]);
        free(a);
        free(b);
        free(copy);
        free(data);
        free(path);
    }
}

static void expect_refused(const char *what, const void *buf, size_t n) {
    char *path = tmp_path("bad.npy");
    write_bytes(path, buf, n);
    float *data = (float *)1;
    int64_t rows, cols;
    int rc = sv_npy_read(path, &data, &rows, &cols);
    CHECK(rc != SCIVEC_OK, "%s: accepted", what);
    CHECK(data == NULL, "%s: data not NULL on failure", what);
    CHECK(strstr(scivec_last_error(), "bad.npy") != NULL, "%s: message lacks the path: %s", what,
          scivec_last_error());
    float *data2 = NULL;
    CHECK(sv_npy_parse(buf, n, "buf", &data2, &rows, &cols) != SCIVEC_OK, "%s: parse accepted",
          what);
    sv_npy_map map;
    CHECK(sv_npy_map_open(path, &map) != SCIVEC_OK, "%s: mapping accepted", what);
    CHECK(map.rows == NULL && map.base == NULL, "%s: mapping left open on failure", what);
    CHECK(strstr(scivec_last_error(), "bad.npy") != NULL, "%s: map message lacks the path: %s",
          what, scivec_last_error());
    free(path);
}

static void test_malformed(void) {
    char buf[512];
    size_t n;
    expect_refused("empty file", "", 0);
    expect_refused("bad magic", "\x93NUMPX\x01\x00\x10\x00{}              \n", 26);
    n = make_npy(buf, sizeof buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                 24);
    CHECK(n > 0, "make_npy");
    /* Sanity: the helper makes a valid file, so the refusals below are about the one change. */
    float *ok = NULL;
    int64_t rows, cols;
    CHECK(sv_npy_parse(buf, n, "ok", &ok, &rows, &cols) == SCIVEC_OK && rows == 2 && cols == 3,
          "valid file refused: %s", scivec_last_error());
    free(ok);
    expect_refused("data too short", buf, n - 1);
    memcpy(buf + n, "xxxx", 4);
    expect_refused("trailing data", buf, n + 4);
    expect_refused("truncated header", buf, 40);
    n = make_npy(buf, sizeof buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                 24);
    buf[6] = 9;
    expect_refused("version 9", buf, n);
    n = make_npy(buf, sizeof buf, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }",
                 48);
    expect_refused("float64", buf, n);
    n = make_npy(buf, sizeof buf, "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }",
                 24);
    expect_refused("big-endian", buf, n);
    n = make_npy(buf, sizeof buf, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", 24);
    expect_refused("fortran order", buf, n);
    n = make_npy(buf, sizeof buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4), }",
                 96);
    expect_refused("3-D", buf, n);
    n = make_npy(buf, sizeof buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 4);
    expect_refused("scalar", buf, n);
    n = make_npy(buf, sizeof buf, "{'descr': '<f4', 'fortran_order': False, }", 24);
    expect_refused("no shape", buf, n);
    n = make_npy(buf, sizeof buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }",
                 24);
    expect_refused("negative dim", buf, n);
    n = make_npy(buf, sizeof buf,
                 "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999, 3), }",
                 24);
    expect_refused("huge dim", buf, n);
    n = make_npy(buf, sizeof buf,
                 "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, "
                 "4611686018427387904), }",
                 24);
    expect_refused("overflowing shape", buf, n);
    n = make_npy(buf, sizeof buf,
                 "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } junk", 24);
    expect_refused("junk after dict", buf, n);
    n = make_npy(buf, sizeof buf,
                 "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}", 24);
    expect_refused("unknown key", buf, n);
    n = make_npy(buf, sizeof buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)", 24);
    expect_refused("unterminated dict", buf, n);
    /* Header length pointing past the end of the file. */
    n = make_npy(buf, sizeof buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                 24);
    buf[9] = 0x7f;
    expect_refused("header length past end", buf, n);

    /* Accepted variants: 1-D arrays read as [n, 1], key order, version 2. */
    n = make_npy(buf, sizeof buf, "{'shape': (6,), 'fortran_order': False, 'descr': '<f4'}", 24);
    float *data = NULL;
    CHECK(sv_npy_parse(buf, n, "1d", &data, &rows, &cols) == SCIVEC_OK && rows == 6 && cols == 1,
          "1-D refused: %s", scivec_last_error());
    free(data);
    char v2[512];
    n = make_npy(buf, sizeof buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                 24);
    size_t header_len = (size_t)(unsigned char)buf[8] | (size_t)(unsigned char)buf[9] << 8;
    memcpy(v2, "\x93NUMPY\x02\x00", 8);
    v2[8] = buf[8];
    v2[9] = buf[9];
    v2[10] = 0;
    v2[11] = 0;
    memcpy(v2 + 12, buf + 10, n - 10);
    CHECK(sv_npy_parse(v2, n + 2, "v2", &data, &rows, &cols) == SCIVEC_OK && rows == 2 && cols == 3,
          "version 2 refused: %s (header %zu)", scivec_last_error(), header_len);
    free(data);
}

/* The mapping reads what the writer wrote; data that is not 4-byte aligned
 * in the file (a hand-made header) is copied, not misread. */
static void test_map(void) {
    char *path = tmp_path("map.npy");
    float data[4 * 3];
    for (int i = 0; i < 12; i++) data[i] = (float)i / 3.0f;
    CHECK(sv_npy_write(path, data, 4, 3) == SCIVEC_OK, "write: %s", scivec_last_error());
    sv_npy_map map;
    CHECK(sv_npy_map_open(path, &map) == SCIVEC_OK, "map: %s", scivec_last_error());
    CHECK(map.n_rows == 4 && map.n_cols == 3, "mapped shape (%lld, %lld)", (long long)map.n_rows,
          (long long)map.n_cols);
    CHECK(map.rows && memcmp(map.rows, data, sizeof data) == 0, "mapped rows differ");
    CHECK(map.copy == NULL, "an aligned file was copied");
    sv_npy_map_close(&map);

    const char dict[] = "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 3), }";
    char buf[256];
    size_t header_len = sizeof dict; /* the dict, then '\n': 10 + 62 is not a multiple of 4 */
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (char)header_len;
    buf[9] = 0;
    memcpy(buf + 10, dict, sizeof dict - 1);
    buf[10 + header_len - 1] = '\n';
    memcpy(buf + 10 + header_len, data, sizeof data);
    CHECK((10 + header_len) % 4 != 0, "test header is aligned after all");
    write_bytes(path, buf, 10 + header_len + sizeof data);
    CHECK(sv_npy_map_open(path, &map) == SCIVEC_OK, "map unaligned: %s", scivec_last_error());
    CHECK(map.copy != NULL && map.rows == map.copy, "unaligned data not copied");
    CHECK(map.rows && memcmp(map.rows, data, sizeof data) == 0, "unaligned rows differ");
    sv_npy_map_close(&map);

    CHECK(sv_npy_map_open("/nonexistent/x.npy", &map) == SCIVEC_ENOTFOUND,
          "a missing file is not ENOTFOUND");
    free(path);
}

int main(void) {
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_round_trip();
    test_streaming_writer();
    test_golden();
    test_malformed();
    test_map();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_dir);
    return check_report();
}
