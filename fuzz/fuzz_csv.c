/*
 * fuzz_csv.c - arbitrary bytes as a papers file through sv_papers (CSV via
 * libcsv, or JSON Lines when the first byte selects it), every field then
 * through the metadata parsers embed applies (categories, years). The first
 * byte picks the file name: .csv, .jsonl, or no extension (sniffed). Checks:
 * records come with n_columns fields, NUL-terminated at their length, line
 * numbers never go back, errors name the file, the count agrees.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "corpus/paper_fields.h"
#include "corpus/papers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char paths[3][64];
    if (!paths[0][0]) {
        snprintf(paths[0], sizeof paths[0], "/tmp/fuzz_csv-%d.csv", (int)getpid());
        snprintf(paths[1], sizeof paths[1], "/tmp/fuzz_csv-%d.jsonl", (int)getpid());
        snprintf(paths[2], sizeof paths[2], "/tmp/fuzz_csv-%d", (int)getpid());
    }
    if (size == 0) return 0;
    const char *path = paths[data[0] % 3 == 1 ? 1 : data[0] % 3 == 2 ? 2 : 0];
    data++;
    size--;
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);

    sv_papers *p;
    if (sv_papers_open(path, &p) != SCIVEC_OK) {
        if (!strstr(scivec_last_error(), path)) abort();
        return 0;
    }
    long last_line = 0;
    int64_t n_records = 0;
    for (;;) {
        const char *const *fields;
        const size_t *lens;
        int rc = sv_papers_next(p, &fields, &lens);
        if (rc == 0) break;
        n_records++;
        long line = sv_papers_record_line(p);
        if (line < last_line && sv_papers_get_format(p) == SV_PAPERS_JSONL) abort();
        if (line < last_line && sv_papers_get_format(p) == SV_PAPERS_CSV) abort();
        last_line = line;
        if (rc == SCIVEC_EFORMAT) {
            if (!strstr(scivec_last_error(), path)) abort();
            continue;
        }
        if (rc != 1) abort(); /* a file we wrote cannot fail to read */
        for (int i = 0; i < sv_papers_n_columns(p); i++) {
            if (fields[i][lens[i]] != '\0') abort();
            char *categories = NULL;
            if (sv_normalize_categories(fields[i], lens[i], &categories)) abort();
            if (categories && strlen(categories) > lens[i]) abort();
            free(categories);
            int year = sv_year_in_text(fields[i], lens[i]);
            if (year && (year < 1000 || year > 2999)) abort();
            (void)sv_year_from_versions(fields[i], lens[i]);
            year = sv_year_from_arxiv_id(fields[i], lens[i]);
            if (year && (year < 1991 || year > 2099)) abort();
        }
    }
    if (sv_papers_records_read(p) != n_records) abort();
    sv_papers_close(p);
    int64_t counted = -1;
    if (sv_papers_count(path, &counted) == SCIVEC_OK && path == paths[0] && counted != n_records)
        abort();
    return 0;
}
