/*
 * jsonl.c - JSON Lines reader: one JSON object per line, cJSON for parsing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "core/error.h"
#include "corpus/jsonl.h"

/* A longer line is skipped (reported as malformed) instead of buffered, so a
 * hostile file cannot take all memory; real records are a few KB. */
#define MAX_LINE_BYTES ((size_t)64 << 20)

struct sv_jsonl {
    FILE *file;
    int owns_file; /* stdin is not closed                      */
    char *path;
    char *line; /* the current line, buffer reused           */
    size_t line_cap;
    long line_no;
};

int sv_jsonl_open(const char *path, sv_jsonl **out) {
    *out = NULL;
    int is_stdin = !path || !strcmp(path, "-");
    sv_jsonl *r = calloc(1, sizeof *r);
    if (!r) return sv_error(SCIVEC_ENOMEM, "out of memory");
    r->path = strdup(is_stdin ? "<stdin>" : path);
    if (!r->path) {
        free(r);
        return sv_error(SCIVEC_ENOMEM, "out of memory");
    }
    if (is_stdin) {
        r->file = stdin;
    } else {
        r->file = fopen(path, "rb");
        if (!r->file) {
            int status = sv_error(errno == ENOENT ? SCIVEC_ENOTFOUND : SCIVEC_EIO, "%s: %s", path,
                                  strerror(errno));
            free(r->path);
            free(r);
            return status;
        }
        r->owns_file = 1;
    }
    *out = r;
    return SCIVEC_OK;
}

/* cJSON ends a string at a \u0000 escape, which would silently drop the rest
 * of a text. BERT's clean-text step drops NUL and every other control
 * character alike, so \u0000 is rewritten in place to \u0001: the tokens stay
 * exactly HF's and nothing after the NUL is lost. */
static void replace_nul_escapes(char *s, size_t n) {
    for (size_t i = 0; i + 1 < n; i++) {
        if (s[i] != '\\') continue;
        if (s[i + 1] == 'u' && i + 5 < n && !memcmp(s + i + 2, "0000", 4)) s[i + 5] = '1';
        i++; /* skip the escaped character: an escaped backslash before "u0000" stays */
    }
}

static int is_blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') return 0;
    return 1;
}

/* getline with a bound: the next line (NUL bytes and all) into r->line,
 * *n its length. Returns 1, 0 at the end, 2 for a line over MAX_LINE_BYTES
 * (read to its end and dropped), SCIVEC_ENOMEM. */
static int read_line(sv_jsonl *r, size_t *n) {
    size_t len = 0;
    int c = EOF, too_long = 0;
    while ((c = getc_unlocked(r->file)) != EOF) {
        if (len >= MAX_LINE_BYTES) too_long = 1;
        if (!too_long && len + 1 >= r->line_cap) {
            size_t cap = r->line_cap ? r->line_cap * 2 : 4096;
            char *line = realloc(r->line, cap);
            if (!line) return SCIVEC_ENOMEM;
            r->line = line;
            r->line_cap = cap;
        }
        if (!too_long) r->line[len] = (char)c;
        len++;
        if (c == '\n') break;
    }
    if (len == 0) return 0;
    if (too_long) return 2;
    r->line[len] = '\0';
    *n = len;
    return 1;
}

int sv_jsonl_next(sv_jsonl *r, cJSON **obj) {
    *obj = NULL;
    for (;;) {
        errno = 0;
        size_t n = 0;
        int got = read_line(r, &n);
        if (ferror(r->file))
            return sv_error(SCIVEC_EIO, "%s:%ld: read error: %s", r->path, r->line_no + 1,
                            strerror(errno ? errno : EIO));
        if (got == SCIVEC_ENOMEM)
            return sv_error(SCIVEC_ENOMEM, "%s:%ld: out of memory", r->path, r->line_no + 1);
        if (got == 0) return 0;
        r->line_no++;
        if (got == 2)
            return sv_error(SCIVEC_EFORMAT, "%s:%ld: line longer than %zu MiB, skipped", r->path,
                            r->line_no, MAX_LINE_BYTES >> 20);
        char *text = r->line;
        size_t len = (size_t)n;
        if (r->line_no == 1 && len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) {
            text += 3;
            len -= 3;
        }
        if (is_blank(text, len)) continue;
        replace_nul_escapes(text, len);

        const char *end = NULL;
        cJSON *parsed = cJSON_ParseWithLengthOpts(text, len, &end, 0);
        if (!parsed)
            return sv_error(SCIVEC_EFORMAT, "%s:%ld: not valid JSON (near byte %ld)", r->path,
                            r->line_no,
                            (long)((cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() : text) - text));
        if (end && !is_blank(end, len - (size_t)(end - text))) {
            cJSON_Delete(parsed);
            return sv_error(SCIVEC_EFORMAT, "%s:%ld: trailing characters after the JSON value",
                            r->path, r->line_no);
        }
        if (!cJSON_IsObject(parsed)) {
            cJSON_Delete(parsed);
            return sv_error(SCIVEC_EFORMAT, "%s:%ld: expected a JSON object", r->path, r->line_no);
        }
        *obj = parsed;
        return 1;
    }
}

long sv_jsonl_line(const sv_jsonl *r) { return r->line_no; }

const char *sv_jsonl_path(const sv_jsonl *r) { return r->path; }

void sv_jsonl_close(sv_jsonl *r) {
    if (!r) return;
    if (r->owns_file) fclose(r->file);
    free(r->line);
    free(r->path);
    free(r);
}

int sv_json_get_string(const cJSON *obj, const char *key, const char **out) {
    *out = NULL;
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!item || cJSON_IsNull(item)) return SCIVEC_OK;
    if (!cJSON_IsString(item)) return sv_error(SCIVEC_EFORMAT, "\"%s\" is not a string", key);
    *out = item->valuestring;
    return SCIVEC_OK;
}
