/* test_metadata.c - what embed derives from paper fields (categories, years)
 * and the SHA-256 it records for the weight file (FIPS 180-4 test vectors). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "core/error.h"
#include "core/sha256.h"
#include "corpus/paper_fields.h"
#include "progress.h" /* cli/progress.h */

static void expect_categories(const char *in, const char *want) {
    char *got = NULL;
    CHECK(sv_normalize_categories(in, strlen(in), &got) == SCIVEC_OK, "%s: failed", in);
    CHECK((want == NULL && got == NULL) || (want && got && !strcmp(got, want)),
          "categories of [%s]: got [%s], want [%s]", in, got ? got : "NULL", want ? want : "NULL");
    free(got);
}

static void test_categories(void) {
    expect_categories("['math.RT', 'math.GR', 'math.NT']", "math.RT math.GR math.NT");
    expect_categories("[\"cs.CL\",\"cs.AI\"]", "cs.CL cs.AI");
    expect_categories("hep-ph", "hep-ph");
    expect_categories("  cs.CV   cs.LG\tstat.ML \n", "cs.CV cs.LG stat.ML");
    expect_categories("['cs.AI cs.CL']", "cs.AI cs.CL");
    expect_categories("[]", NULL);
    expect_categories("", NULL);
    expect_categories("   ", NULL);
    expect_categories("['unterminated", "unterminated");
    /* repr() of an item holding a line break: the two characters \n (issue 14 #14) */
    expect_categories("['cs.AI', '68T01,\\n  68T35, 91G30,', 'I.2.6;\\tC.1.4']",
                      "cs.AI 68T01, 68T35, 91G30, I.2.6; C.1.4");
    expect_categories("['it\\'s']", "it's");
    expect_categories("[cs.CL, cs.AI]", "cs.CL cs.AI");
}

static void test_years(void) {
    struct {
        const char *text;
        int year;
    } texts[] = {
        {"2024", 2024},
        {"2024.0", 2024},
        {"2024-01-20T12:00:00Z", 2024},
        {"Mon, 2 Apr 2007 19:18:42 GMT", 2007},
        {"", 0},
        {"12345", 0},
        {"n/a", 0},
        {"0999", 0},
        {"3000", 0},
        {"  1999  ", 1999},
    };
    for (size_t i = 0; i < SV_ARRAY_LEN(texts); i++) {
        int got = sv_year_in_text(texts[i].text, strlen(texts[i].text));
        CHECK(got == texts[i].year, "year of [%s]: %d, want %d", texts[i].text, got, texts[i].year);
    }
    const char *versions = "[{\"version\":\"v1\",\"created\":\"Mon, 2 Apr 2007 19:18:42 GMT\"},"
                           "{\"version\":\"v2\",\"created\":\"Tue, 24 Jul 2008 20:10:27 GMT\"}]";
    CHECK(sv_year_from_versions(versions, strlen(versions)) == 2007, "versions year");
    CHECK(sv_year_from_versions("[]", 2) == 0, "empty versions");
    CHECK(sv_year_from_versions("not json", 8) == 0, "bad versions");

    struct {
        const char *id;
        int year;
    } ids[] = {
        {"0704.0001", 2007},
        {"2401.11367", 2024},
        {"2401.11367v2", 2024},
        {"arXiv:1501.00001", 2015},
        {"hep-th/9901001", 1999},
        {"math.GT/0309136", 2003},
        {"0613.0001", 0},
        {"0601.0001", 0},
        {"W19-1234", 0},
        {"", 0},
        {"1234", 0},
        {"a/1203456", 2012},
        {"a/1234567", 0},
        {"hep-th/9913001", 0},
    };
    for (size_t i = 0; i < SV_ARRAY_LEN(ids); i++) {
        int got = sv_year_from_arxiv_id(ids[i].id, strlen(ids[i].id));
        CHECK(got == ids[i].year, "year of id %s: %d, want %d", ids[i].id, got, ids[i].year);
    }
}

static void hex(const uint8_t d[32], char out[65]) {
    for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void test_sha256(void) {
    uint8_t d[32];
    char h[65];
    sv_sha256("", 0, d);
    hex(d, h);
    CHECK(!strcmp(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
          "sha256('') %s", h);
    sv_sha256("abc", 3, d);
    hex(d, h);
    CHECK(!strcmp(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
          "sha256(abc) %s", h);
    const char *two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sv_sha256(two_blocks, strlen(two_blocks), d);
    hex(d, h);
    CHECK(!strcmp(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
          "sha256(448 bits) %s", h);
    /* A million 'a's through the file path (chunked reads). */
    char path[] = "/tmp/test_metadata_XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    CHECK(f != NULL, "temp file");
    if (!f) return;
    for (int i = 0; i < 1000000; i++) fputc('a', f);
    fclose(f);
    CHECK(sv_sha256_file(path, h) == SCIVEC_OK, "sha256 file: %s", scivec_last_error());
    CHECK(!strcmp(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
          "sha256(1M a) %s", h);
    unlink(path);
    CHECK(sv_sha256_file(path, h) == SCIVEC_ENOTFOUND, "missing file");
}

static void test_progress_line(void) {
    char line[256];
    sv_progress_format(line, sizeof line, "papers", 50, 200, 10.0);
    CHECK(strstr(line, " 25%") && strstr(line, "50/200 papers") &&
              strstr(line, "[00:10<00:30, 5.0 papers/s]"),
          "progress line: %s", line);
    sv_progress_format(line, sizeof line, "papers", 7, -1, 0.0);
    CHECK(strstr(line, "7 papers") && strstr(line, "? papers/s"), "progress without total: %s",
          line);
}

int main(void) {
    test_categories();
    test_years();
    test_sha256();
    test_progress_line();
    return check_report();
}
