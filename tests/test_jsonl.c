/* test_jsonl.c - the JSON Lines reader: objects, blank lines, BOM, bad lines
 * reported with their line number and skipped over, long lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "core/error.h"
#include "corpus/jsonl.h"

static char *write_temp(const char *content, size_t len) {
    static char path[64];
    strcpy(path, "/tmp/sv_jsonl_XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, content, len) != (ssize_t)len) return NULL;
    close(fd);
    return path;
}

int main(void) {
    const char text[] = "\xEF\xBB\xBF{\"text\": \"a\"}\n"
                        "\n"
                        "   \r\n"
                        "{\"text\": \"b\", \"text_pair\": \"c\"}\r\n"
                        "[1, 2]\n"
                        "{\"text\": 5}\n"
                        "{broken\n"
                        "{\"text\": \"d\"} x\n"
                        "{\"text\": \"last, no newline\"}";
    char *path = write_temp(text, sizeof text - 1);
    CHECK(path != NULL, "temp file");

    sv_jsonl *r;
    CHECK(sv_jsonl_open(path, &r) == SCIVEC_OK, "%s", scivec_last_error());
    cJSON *obj;
    const char *s;

    CHECK(sv_jsonl_next(r, &obj) == 1, "first object (after BOM)");
    CHECK(sv_json_get_string(obj, "text", &s) == SCIVEC_OK && s && !strcmp(s, "a"), "text a");
    CHECK(sv_jsonl_line(r) == 1, "line 1, got %ld", sv_jsonl_line(r));
    cJSON_Delete(obj);

    CHECK(sv_jsonl_next(r, &obj) == 1, "blank lines skipped");
    CHECK(sv_jsonl_line(r) == 4, "line 4, got %ld", sv_jsonl_line(r));
    CHECK(sv_json_get_string(obj, "text_pair", &s) == SCIVEC_OK && s && !strcmp(s, "c"), "pair c");
    CHECK(sv_json_get_string(obj, "missing", &s) == SCIVEC_OK && s == NULL, "absent -> NULL");
    cJSON_Delete(obj);

    CHECK(sv_jsonl_next(r, &obj) == SCIVEC_EFORMAT, "array refused");
    CHECK(strstr(scivec_last_error(), ":5: expected a JSON object") != NULL, "%s",
          scivec_last_error());

    CHECK(sv_jsonl_next(r, &obj) == 1, "reader continues after a bad line");
    CHECK(sv_json_get_string(obj, "text", &s) == SCIVEC_EFORMAT, "number is not a string");
    cJSON_Delete(obj);

    CHECK(sv_jsonl_next(r, &obj) == SCIVEC_EFORMAT, "broken JSON");
    CHECK(strstr(scivec_last_error(), ":7: not valid JSON") != NULL, "%s", scivec_last_error());
    CHECK(sv_jsonl_next(r, &obj) == SCIVEC_EFORMAT, "trailing garbage");
    CHECK(strstr(scivec_last_error(), ":8: trailing") != NULL, "%s", scivec_last_error());

    CHECK(sv_jsonl_next(r, &obj) == 1, "last line without newline");
    cJSON_Delete(obj);
    CHECK(sv_jsonl_next(r, &obj) == 0, "end");
    sv_jsonl_close(r);
    unlink(path);

    /* A line far longer than any fixed buffer. */
    size_t n_long = 3 << 20;
    char *big = malloc(n_long + 32);
    strcpy(big, "{\"text\": \"");
    memset(big + 10, 'x', n_long);
    strcpy(big + 10 + n_long, "\"}\n");
    path = write_temp(big, strlen(big));
    CHECK(sv_jsonl_open(path, &r) == SCIVEC_OK, "open long");
    CHECK(sv_jsonl_next(r, &obj) == 1, "long line parsed");
    CHECK(obj && sv_json_get_string(obj, "text", &s) == SCIVEC_OK && s && strlen(s) == n_long,
          "long text kept whole");
    cJSON_Delete(obj);
    sv_jsonl_close(r);
    unlink(path);
    free(big);

    /* A NUL escape keeps the text after it (as U+0001, dropped by BERT's
     * clean-text like NUL itself); an escaped backslash before u0000 is text. */
    const char nul_text[] = "{\"text\": \"a\\u0000b\", \"raw\": \"c\\\\u0000\"}\n";
    path = write_temp(nul_text, sizeof nul_text - 1);
    CHECK(sv_jsonl_open(path, &r) == SCIVEC_OK, "open nul");
    CHECK(sv_jsonl_next(r, &obj) == 1, "nul line parsed");
    CHECK(obj && sv_json_get_string(obj, "text", &s) == SCIVEC_OK && s &&
              !strcmp(s, "a\x01"
                         "b"),
          "text after \\u0000 kept");
    CHECK(obj && sv_json_get_string(obj, "raw", &s) == SCIVEC_OK && s && !strcmp(s, "c\\u0000"),
          "escaped backslash kept, got %s", s ? s : "(null)");
    cJSON_Delete(obj);
    sv_jsonl_close(r);
    unlink(path);

    CHECK(sv_jsonl_open("/nonexistent/x.jsonl", &r) == SCIVEC_ENOTFOUND, "missing file");
    CHECK(strstr(scivec_last_error(), "/nonexistent/x.jsonl") != NULL, "message names the file");
    return check_report();
}
