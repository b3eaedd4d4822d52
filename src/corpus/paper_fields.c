/*
 * paper_fields.c - what a paper's raw fields say beyond their text: its
 * categories as one space-separated list, and the year it was written.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/error.h"
#include "corpus/paper_fields.h"

/* ------------------------------------------------------------------------ */
/* Categories                                                                */

static int is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Appends s[0..n) to out (separated by one space). out has room: the result
 * is never longer than the input. */
static void append_word(char *out, size_t *out_len, const char *s, size_t n) {
    if (!n) return;
    if (*out_len) out[(*out_len)++] = ' ';
    memcpy(out + *out_len, s, n);
    *out_len += n;
}

int sv_normalize_categories(const char *text, size_t len, char **out) {
    *out = NULL;
    char *result = malloc(len + 1);
    if (!result) return sv_error(SCIVEC_ENOMEM, "out of memory");
    size_t n = 0, i = 0;
    while (i < len && is_space(text[i])) i++;
    if (i < len && text[i] == '[') {
        /* ['a', "b"]: the quoted items; a category never holds a quote, so
         * an escaped quote only needs skipping. Unquoted items are words. */
        i++;
        while (i < len && text[i] != ']') {
            char c = text[i];
            if (c == '\'' || c == '"') {
                /* The item as Python reads it: a repr() writes a line break
                 * inside an item as the two characters \n (arXiv's long ACM
                 * class lists), which separates words like a space. */
                size_t item_len = 0;
                size_t start = ++i;
                while (i < len && text[i] != c) i += text[i] == '\\' ? 2 : 1;
                size_t end = i < len ? i : len;
                char *decoded = malloc(end - start + 1);
                if (!decoded) {
                    free(result);
                    return sv_error(SCIVEC_ENOMEM, "out of memory");
                }
                for (size_t j = start; j < end; j++) {
                    char ch = text[j];
                    if (ch == '\\' && j + 1 < end) {
                        char e = text[++j];
                        ch = e == 'n' || e == 't' || e == 'r' || e == 'f' || e == 'v' ? ' ' : e;
                    }
                    decoded[item_len++] = ch;
                }
                /* Items may themselves hold spaces ("cs.AI cs.CL"). */
                for (size_t j = 0; j < item_len;) {
                    while (j < item_len && is_space(decoded[j])) j++;
                    size_t w = j;
                    while (j < item_len && !is_space(decoded[j])) j++;
                    append_word(result, &n, decoded + w, j - w);
                }
                free(decoded);
                i++;
            } else if (c == ',' || is_space(c)) {
                i++;
            } else {
                size_t start = i;
                while (i < len && text[i] != ',' && text[i] != ']' && !is_space(text[i])) i++;
                append_word(result, &n, text + start, i - start);
            }
        }
    } else {
        while (i < len) {
            while (i < len && is_space(text[i])) i++;
            size_t start = i;
            while (i < len && !is_space(text[i])) i++;
            append_word(result, &n, text + start, i - start);
        }
    }
    if (n == 0) {
        free(result);
        return SCIVEC_OK;
    }
    result[n] = '\0';
    *out = result;
    return SCIVEC_OK;
}

/* ------------------------------------------------------------------------ */
/* Years                                                                     */

static int is_digit(char c) { return c >= '0' && c <= '9'; }

int sv_year_in_text(const char *text, size_t len) {
    for (size_t i = 0; i < len;) {
        if (!is_digit(text[i])) {
            i++;
            continue;
        }
        size_t start = i;
        while (i < len && is_digit(text[i])) i++;
        if (i - start == 4) {
            int year = (text[start] - '0') * 1000 + (text[start + 1] - '0') * 100 +
                       (text[start + 2] - '0') * 10 + (text[start + 3] - '0');
            if (year >= 1000 && year <= 2999) return year;
        }
    }
    return 0;
}

int sv_year_from_versions(const char *json, size_t len) {
    cJSON *versions = cJSON_ParseWithLength(json, len);
    int year = 0;
    const cJSON *first = cJSON_IsArray(versions) ? cJSON_GetArrayItem(versions, 0) : NULL;
    const cJSON *created =
        cJSON_IsObject(first) ? cJSON_GetObjectItemCaseSensitive(first, "created") : NULL;
    if (cJSON_IsString(created) && created->valuestring)
        year = sv_year_in_text(created->valuestring, strlen(created->valuestring));
    cJSON_Delete(versions);
    return year;
}

static int two_digits(const char *s) { return (s[0] - '0') * 10 + (s[1] - '0'); }

static int all_digits(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!is_digit(s[i])) return 0;
    return 1;
}

int sv_year_from_arxiv_id(const char *id, size_t len) {
    if (len >= 6 && !strncmp(id, "arXiv:", 6)) {
        id += 6;
        len -= 6;
    }
    /* Drop a version suffix "v12". */
    size_t end = len;
    while (end > 0 && is_digit(id[end - 1])) end--;
    if (end > 0 && end < len && id[end - 1] == 'v') len = end - 1;
    /* New style: YYMM.NNNN (2007-2014) or YYMM.NNNNN (2015 on). */
    if ((len == 9 || len == 10) && id[4] == '.' && all_digits(id, 4) &&
        all_digits(id + 5, len - 5)) {
        int yy = two_digits(id), mm = two_digits(id + 2);
        if (yy >= 7 && mm >= 1 && mm <= 12) return 2000 + yy;
        return 0;
    }
    /* Old style: archive[.SUB]/YYMMNNN. */
    const char *slash = memchr(id, '/', len);
    if (slash && slash > id && id + len - (slash + 1) == 7 && all_digits(slash + 1, 7)) {
        int yy = two_digits(slash + 1), mm = two_digits(slash + 3);
        if (mm < 1 || mm > 12) return 0;
        return yy >= 91 ? 1900 + yy : 2000 + yy;
    }
    return 0;
}
