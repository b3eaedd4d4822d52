/*
 * fuzz_npy.c - arbitrary bytes as a .npy file through sv_npy_parse (the
 * buffer form of sv_npy_read), and every 16th input through sv_npy_read and
 * the resume path (sv_npy_writer_open_append) from a temp file. Checks: an
 * accepted array's size matches its shape exactly, and reading it back after
 * writing gives the same floats.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "outputs/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    float *values = NULL;
    int64_t rows = -1, cols = -1;
    int rc = sv_npy_parse(data, size, "fuzz.npy", &values, &rows, &cols);
    if (rc == SCIVEC_OK) {
        size_t offset;
        int64_t r2, c2;
        if (sv_npy_parse_header(data, size, "fuzz.npy", &r2, &c2, &offset) != SCIVEC_OK) abort();
        if (r2 != rows || c2 != cols || rows < 0 || cols < 0) abort();
        if ((uint64_t)offset + (uint64_t)rows * (uint64_t)cols * 4 != size) abort();
        if (rows * cols && memcmp(values, data + offset, (size_t)(rows * cols) * 4) != 0) abort();
    } else if (values) {
        abort();
    }

    if (size % 16 == 0) {
        static char path[64];
        if (!path[0]) snprintf(path, sizeof path, "/tmp/fuzz_npy-%d.npy", (int)getpid());
        FILE *f = fopen(path, "wb");
        if (!f) abort();
        if (size && fwrite(data, 1, size, f) != size) abort();
        fclose(f);
        float *again = NULL;
        int64_t r3, c3;
        int rc2 = sv_npy_read(path, &again, &r3, &c3);
        if ((rc2 == SCIVEC_OK) != (rc == SCIVEC_OK)) abort(); /* file and buffer agree */
        if (rc2 == SCIVEC_OK && (r3 != rows || c3 != cols)) abort();
        free(again);
        /* Resume a "partial" file: keep half the rows it claims, add one. */
        sv_npy_writer *w;
        if (sv_npy_writer_open_append(path, cols > 0 && cols < 4096 ? cols : 4,
                                      rows > 0 ? rows / 2 : 0, &w) == SCIVEC_OK) {
            float row[4096] = {0};
            if (sv_npy_writer_append(w, row, 1) != SCIVEC_OK) abort();
            if (sv_npy_writer_close(w) != SCIVEC_OK) abort();
            if (sv_npy_read(path, &again, &r3, &c3) != SCIVEC_OK) abort();
            free(again);
        }
    }
    free(values);
    return 0;
}
