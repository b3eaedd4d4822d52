/* test_papers.c - reading papers from CSV (libcsv) and JSON Lines: quoting,
 * line endings, BOM, malformed records (reported with path:line, reading
 * goes on), the arXiv JSONL sample and the full arXiv CSV fixture. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/error.h"
#include "core/files.h"
#include "corpus/papers.h"

static char tmp_dir[] = "/tmp/test_papers_XXXXXX";

static char *write_tmp(const char *name, const char *text) {
    char *path = sv_path_join(tmp_dir, name);
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(text, 1, strlen(text), f);
        fclose(f);
    }
    return path;
}

static int field_is(const char *const *fields, const size_t *lens, int i, const char *want) {
    return lens[i] == strlen(want) && memcmp(fields[i], want, lens[i]) == 0 &&
           fields[i][lens[i]] == '\0';
}

/* The same table in LF, CRLF and BOM+CRLF forms must read identically,
 * except that line breaks inside quoted fields are kept verbatim. */
static void test_csv_quoting(const char *name, const char *text, const char *nl) {
    char *path = write_tmp(name, text);
    sv_papers *p = NULL;
    CHECK(sv_papers_open(path, &p) == SCIVEC_OK, "%s: open: %s", name, scivec_last_error());
    if (!p) {
        free(path);
        return;
    }
    CHECK(sv_papers_get_format(p) == SV_PAPERS_CSV, "%s: format", name);
    CHECK(sv_papers_n_columns(p) == 3, "%s: %d columns", name, sv_papers_n_columns(p));
    CHECK(sv_papers_column_index(p, "paper_id") == 0, "%s: paper_id column (BOM not stripped?)",
          name);
    CHECK(sv_papers_column_index(p, "abstract") == 2, "%s: abstract column", name);
    CHECK(sv_papers_column_index(p, "nope") == -1, "%s: absent column", name);
    CHECK(sv_papers_column_name(p, 1) && !strcmp(sv_papers_column_name(p, 1), "title"),
          "%s: column name", name);
    CHECK(sv_papers_column_name(p, 3) == NULL, "%s: column name out of range", name);

    const char *const *f;
    const size_t *l;
    char want[256];
    CHECK(sv_papers_next(p, &f, &l) == 1, "%s: record 1: %s", name, scivec_last_error());
    CHECK(field_is(f, l, 0, "1") && field_is(f, l, 1, "Commas, in a title") &&
              field_is(f, l, 2, "plain"),
          "%s: record 1 fields", name);
    CHECK(sv_papers_record_line(p) == 2, "%s: record 1 line %ld", name, sv_papers_record_line(p));

    CHECK(sv_papers_next(p, &f, &l) == 1, "%s: record 2: %s", name, scivec_last_error());
    snprintf(want, sizeof want, "line one%sline \"two\", with comma%s%sthird", nl, nl, nl);
    CHECK(field_is(f, l, 0, "2") && field_is(f, l, 1, "He said \"hi\"") && field_is(f, l, 2, want),
          "%s: record 2 fields: [%s] [%s]", name, f[1], f[2]);
    CHECK(sv_papers_record_line(p) == 3, "%s: record 2 line %ld", name, sv_papers_record_line(p));

    CHECK(sv_papers_next(p, &f, &l) == 1, "%s: record 3: %s", name, scivec_last_error());
    CHECK(field_is(f, l, 0, "3") && field_is(f, l, 1, "  spaces kept  ") && field_is(f, l, 2, ""),
          "%s: record 3 fields: [%s] [%s]", name, f[1], f[2]);
    CHECK(sv_papers_record_line(p) == 7, "%s: record 3 line %ld", name, sv_papers_record_line(p));

    /* Wrong field count: malformed, named by path and line, and reading goes on. */
    CHECK(sv_papers_next(p, &f, &l) == SCIVEC_EFORMAT, "%s: short record accepted", name);
    CHECK(strstr(scivec_last_error(), name) && strstr(scivec_last_error(), ":8:"),
          "%s: message: %s", name, scivec_last_error());
    CHECK(sv_papers_next(p, &f, &l) == 1, "%s: record after malformed: %s", name,
          scivec_last_error());
    CHECK(field_is(f, l, 0, "5") && field_is(f, l, 1, "") && field_is(f, l, 2, "no final newline"),
          "%s: last record fields", name);
    CHECK(sv_papers_record_line(p) == 10, "%s: last record line %ld (blank line skipped)", name,
          sv_papers_record_line(p));
    CHECK(sv_papers_next(p, &f, &l) == 0, "%s: end", name);
    CHECK(sv_papers_next(p, &f, &l) == 0, "%s: end again", name);
    CHECK(sv_papers_records_read(p) == 5, "%s: %lld records read", name,
          (long long)sv_papers_records_read(p));
    sv_papers_close(p);

    int64_t count = -1;
    CHECK(sv_papers_count(path, &count) == SCIVEC_OK && count == 5, "%s: count %lld", name,
          (long long)count);
    free(path);
}

static void test_csv_forms(void) {
    const char *lf =
        "paper_id,title,abstract\n"
        "1,\"Commas, in a title\",plain\n"
        "2,\"He said \"\"hi\"\"\",\"line one\nline \"\"two\"\", with comma\n\nthird\"\n"
        "3,  spaces kept  ,\n"
        "4,short\n"
        "\n"
        "5,,no final newline";
    test_csv_quoting("lf.csv", lf, "\n");
    /* The same with CRLF everywhere (pandas on Windows, lineterminator='\r\n'). */
    char crlf[1024], *o = crlf;
    for (const char *s = lf; *s; s++) {
        if (*s == '\n') *o++ = '\r';
        *o++ = *s;
    }
    *o = '\0';
    test_csv_quoting("crlf.csv", crlf, "\r\n");
    char bom[1100];
    snprintf(bom, sizeof bom, "\xEF\xBB\xBF%s", crlf);
    test_csv_quoting("bom.txt", bom, "\r\n"); /* sniffed, not by extension */
}

static void test_csv_errors(void) {
    sv_papers *p = NULL;
    const char *const *f;
    const size_t *l;
    char *path = write_tmp("unterminated.csv", "id,abstract\n1,ok\n2,\"never closed\n3,x\n");
    CHECK(sv_papers_open(path, &p) == SCIVEC_OK, "open: %s", scivec_last_error());
    if (p) {
        CHECK(sv_papers_next(p, &f, &l) == 1 && field_is(f, l, 1, "ok"),
              "record before the bad quote");
        CHECK(sv_papers_next(p, &f, &l) == SCIVEC_EFORMAT, "unterminated quote accepted");
        CHECK(strstr(scivec_last_error(), "unterminated.csv:3:") != NULL, "message: %s",
              scivec_last_error());
        CHECK(sv_papers_next(p, &f, &l) == 0, "end after unterminated quote");
        sv_papers_close(p);
    }
    free(path);

    path = write_tmp("empty.csv", "");
    CHECK(sv_papers_open(path, &p) == SCIVEC_EFORMAT, "empty file accepted");
    CHECK(strstr(scivec_last_error(), "empty.csv") != NULL, "message: %s", scivec_last_error());
    free(path);

    path = write_tmp("header_only.csv", "id,abstract\r\n");
    CHECK(sv_papers_open(path, &p) == SCIVEC_OK, "header only: %s", scivec_last_error());
    if (p) {
        CHECK(sv_papers_next(p, &f, &l) == 0, "header only has no records");
        sv_papers_close(p);
    }
    free(path);

    char *missing = sv_path_join(tmp_dir, "missing.csv");
    CHECK(sv_papers_open(missing, &p) == SCIVEC_ENOTFOUND, "missing file");
    free(missing);

    /* Bytes that are not UTF-8 and NULs pass through verbatim. */
    path = sv_path_join(tmp_dir, "binary.csv");
    FILE *file = fopen(path, "wb");
    if (file) {
        fwrite("id,t\n1,a\0b\xff\n", 1, 13, file);
        fclose(file);
    }
    CHECK(sv_papers_open(path, &p) == SCIVEC_OK, "binary: %s", scivec_last_error());
    if (p) {
        CHECK(sv_papers_next(p, &f, &l) == 1 && l[1] == 4 && !memcmp(f[1], "a\0b\xff", 4),
              "binary field");
        sv_papers_close(p);
    }
    free(path);
}

static void test_jsonl_small(void) {
    char *path = write_tmp("small.jsonl", "not json\n"
                                          "{\"id\": \"a1\", \"title\": \"T\", \"n\": 3, "
                                          "\"versions\": [{\"v\": \"v1\"}], \"x\": null}\n"
                                          "\n"
                                          "[1, 2]\n"
                                          "{\"id\": \"a2\", \"abstract\": \"new key\"}\n");
    sv_papers *p = NULL;
    const char *const *f;
    const size_t *l;
    CHECK(sv_papers_open(path, &p) == SCIVEC_OK, "open: %s", scivec_last_error());
    if (!p) {
        free(path);
        return;
    }
    CHECK(sv_papers_get_format(p) == SV_PAPERS_JSONL, "format");
    /* Columns are known at open, even though line 1 is broken. */
    CHECK(sv_papers_n_columns(p) == 5 && sv_papers_column_index(p, "versions") == 3,
          "columns at open");
    CHECK(sv_papers_next(p, &f, &l) == SCIVEC_EFORMAT, "line 1 accepted");
    CHECK(strstr(scivec_last_error(), "small.jsonl:1") != NULL, "message: %s", scivec_last_error());
    CHECK(sv_papers_record_line(p) == 1, "line %ld", sv_papers_record_line(p));
    CHECK(sv_papers_next(p, &f, &l) == 1, "record 1: %s", scivec_last_error());
    CHECK(field_is(f, l, 0, "a1") && field_is(f, l, 1, "T") && field_is(f, l, 2, "3") &&
              field_is(f, l, 3, "[{\"v\":\"v1\"}]") && field_is(f, l, 4, ""),
          "record 1 fields: [%s] [%s] [%s]", f[2], f[3], f[4]);
    CHECK(sv_papers_record_line(p) == 2, "line %ld", sv_papers_record_line(p));
    CHECK(sv_papers_next(p, &f, &l) == SCIVEC_EFORMAT, "array line accepted");
    CHECK(strstr(scivec_last_error(), "small.jsonl:4") != NULL, "message: %s", scivec_last_error());
    CHECK(sv_papers_next(p, &f, &l) == 1, "record 2: %s", scivec_last_error());
    CHECK(sv_papers_n_columns(p) == 6 && sv_papers_column_index(p, "abstract") == 5, "new column");
    CHECK(field_is(f, l, 0, "a2") && field_is(f, l, 1, "") && field_is(f, l, 5, "new key"),
          "record 2 fields");
    CHECK(sv_papers_next(p, &f, &l) == 0, "end");
    CHECK(sv_papers_records_read(p) == 4, "records read %lld",
          (long long)sv_papers_records_read(p));
    sv_papers_close(p);
    int64_t count = -1;
    CHECK(sv_papers_count(path, &count) == SCIVEC_OK && count == 4, "count %lld", (long long)count);
    free(path);
}

static void test_arxiv_jsonl(void) {
    const char *path = SV_FIXTURES "/data/arxiv-metadata-oai-snapshot.sample.jsonl";
    sv_papers *p = NULL;
    CHECK(sv_papers_open(path, &p) == SCIVEC_OK, "open: %s", scivec_last_error());
    if (!p) return;
    int id = sv_papers_column_index(p, "id"), title = sv_papers_column_index(p, "title");
    int abstract = sv_papers_column_index(p, "abstract"),
        versions = sv_papers_column_index(p, "versions");
    int categories = sv_papers_column_index(p, "categories");
    CHECK(id >= 0 && title >= 0 && abstract >= 0 && versions >= 0 && categories >= 0,
          "arXiv columns");
    const char *const *f;
    const size_t *l;
    int n = 0, rc, good = 1;
    while ((rc = sv_papers_next(p, &f, &l)) == 1) {
        n++;
        if (id < 0 || l[id] == 0 || l[abstract] < 10 || f[versions][0] != '[' ||
            sv_papers_record_line(p) != n)
            good = 0;
        if (n == 1) {
            CHECK(field_is(f, l, id, "0704.0001"), "first id %s", f[id]);
            CHECK(!strncmp(f[versions], "[{\"version\":\"v1\",\"created\":\"Mon, 2 Apr 2007", 42),
                  "versions JSON text: %s", f[versions]);
            CHECK(!strncmp(f[title],
                           "Calculation of prompt diphoton production cross sections at Tevatron "
                           "and\n  LHC",
                           78),
                  "title unescaped: %s", f[title]);
        }
    }
    CHECK(rc == 0, "ended with %d: %s", rc, scivec_last_error());
    CHECK(n == 200, "%d records", n);
    CHECK(good, "some record lacks id/abstract/versions or has the wrong line");
    sv_papers_close(p);
}

/* An independent RFC 4180 record count (a tiny state machine, no libcsv):
 * record terminators outside quotes, blank lines not counted. */
static long count_rfc4180(const char *text, size_t n) {
    long records = 0;
    int in_quotes = 0, line_has_data = 0;
    for (size_t i = 0; i < n; i++) {
        char c = text[i];
        if (c == '"') in_quotes = !in_quotes;
        if (!in_quotes && (c == '\n' || c == '\r')) {
            records += line_has_data;
            line_has_data = 0;
        } else {
            line_has_data = 1;
        }
    }
    return records + line_has_data - 1; /* minus the header */
}

static void test_arxiv_csv(void) {
    const char *path = SV_FIXTURES "/data/arxiv-papers.csv";
    char *text = NULL;
    size_t size = 0;
    CHECK(sv_read_file(path, &text, &size) == SCIVEC_OK, "read: %s", scivec_last_error());
    long want = text ? count_rfc4180(text, size) : -1;
    free(text);

    sv_papers *p = NULL;
    CHECK(sv_papers_open(path, &p) == SCIVEC_OK, "open: %s", scivec_last_error());
    if (!p) return;
    CHECK(sv_papers_n_columns(p) == 12, "%d columns", sv_papers_n_columns(p));
    int id = sv_papers_column_index(p, "paper_id"),
        abstract = sv_papers_column_index(p, "abstract");
    CHECK(id == 0 && abstract == 2, "columns paper_id=%d abstract=%d", id, abstract);
    const char *const *f;
    const size_t *l;
    long n = 0, empty_ids = 0, malformed = 0, multiline = 0;
    int rc;
    while ((rc = sv_papers_next(p, &f, &l)) != 0) {
        if (rc == SCIVEC_EFORMAT) {
            malformed++;
            continue;
        }
        if (rc != 1) break;
        n++;
        if (l[id] == 0) empty_ids++;
        if (memchr(f[abstract], '\n', l[abstract])) multiline++;
    }
    CHECK(rc == 0, "ended with %d: %s", rc, scivec_last_error());
    CHECK(malformed == 0, "%ld malformed records", malformed);
    CHECK(empty_ids == 0, "%ld empty paper_ids", empty_ids);
    CHECK(multiline > 100, "only %ld abstracts span lines: quoted newlines lost?", multiline);
    CHECK(n == want && n > 10000, "%ld records, independent count %ld", n, want);
    sv_papers_close(p);
    int64_t count = -1;
    CHECK(sv_papers_count(path, &count) == SCIVEC_OK && count == want, "count %lld",
          (long long)count);
}

int main(void) {
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_csv_forms();
    test_csv_errors();
    test_jsonl_small();
    test_arxiv_jsonl();
    test_arxiv_csv();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_dir);
    return check_report();
}
