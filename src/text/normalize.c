/*
 * normalize.c - character classes and per-character transforms for BERT
 * tokenization. Categories, case mapping and NFD come from utf8proc; the
 * rules follow HF tokenizers' Rust BertNormalizer / BertPreTokenizer.
 */
#include <stdint.h>
#include <stdlib.h>

#include <utf8proc.h>

#include "core/error.h"
#include "text/normalize.h"

/* Continuation byte ranges allowed after each lead byte (Unicode Table 3-7,
 * the same table CPython's decoder follows). */
static int utf8_lead(unsigned char b, int *n_cont, unsigned char *lo, unsigned char *hi) {
    *lo = 0x80;
    *hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) {
        *n_cont = 1;
        return 1;
    }
    if (b == 0xE0) {
        *n_cont = 2;
        *lo = 0xA0;
        return 1;
    }
    if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) {
        *n_cont = 2;
        return 1;
    }
    if (b == 0xED) {
        *n_cont = 2;
        *hi = 0x9F;
        return 1;
    }
    if (b == 0xF0) {
        *n_cont = 3;
        *lo = 0x90;
        return 1;
    }
    if (b >= 0xF1 && b <= 0xF3) {
        *n_cont = 3;
        return 1;
    }
    if (b == 0xF4) {
        *n_cont = 3;
        *hi = 0x8F;
        return 1;
    }
    return 0;
}

uint32_t sv_utf8_decode(const char *s, size_t len, size_t *pos, int *invalid) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = *pos;
    unsigned char b = p[i];
    *invalid = 0;
    if (b < 0x80) {
        *pos = i + 1;
        return b;
    }
    int n_cont;
    unsigned char lo, hi;
    if (!utf8_lead(b, &n_cont, &lo, &hi)) {
        *pos = i + 1;
        *invalid = 1;
        return SV_REPLACEMENT_CHAR;
    }
    uint32_t cp = b & (0x3F >> n_cont);
    size_t j = i + 1;
    for (int k = 0; k < n_cont; k++, j++) {
        /* Only the first continuation byte has a narrowed range. */
        unsigned char c_lo = k == 0 ? lo : 0x80, c_hi = k == 0 ? hi : 0xBF;
        if (j >= len || p[j] < c_lo || p[j] > c_hi) {
            /* The maximal subpart so far becomes one U+FFFD. */
            *pos = j;
            *invalid = 1;
            return SV_REPLACEMENT_CHAR;
        }
        cp = (cp << 6) | (p[j] & 0x3F);
    }
    *pos = j;
    return cp;
}

int sv_utf8_repair(const char *s, size_t len, char **out, size_t *out_len) {
    size_t pos = 0;
    int invalid = 0;
    while (pos < len && s[pos] && !invalid) sv_utf8_decode(s, len, &pos, &invalid);
    if (pos >= len && !invalid) return 0;
    /* Each invalid byte becomes at most 3 bytes (U+FFFD). */
    if (len > (SIZE_MAX - 1) / 3) return SCIVEC_ENOMEM;
    char *fixed = malloc(len * 3 + 1);
    if (!fixed) return SCIVEC_ENOMEM;
    size_t n = 0;
    for (pos = 0; pos < len;) {
        if (!s[pos]) {
            pos++;
            continue;
        }
        uint32_t cp = sv_utf8_decode(s, len, &pos, &invalid);
        n += (size_t)sv_utf8_encode(cp, fixed + n);
    }
    fixed[n] = '\0';
    *out = fixed;
    *out_len = n;
    return 1;
}

int sv_utf8_encode(uint32_t cp, char *out) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static utf8proc_category_t category(uint32_t cp) { return utf8proc_category((utf8proc_int32_t)cp); }

int sv_is_control(uint32_t cp) {
    if (cp == '\t' || cp == '\n' || cp == '\r') return 0;
    utf8proc_category_t c = category(cp);
    return c == UTF8PROC_CATEGORY_CC || c == UTF8PROC_CATEGORY_CF || c == UTF8PROC_CATEGORY_CO ||
           c == UTF8PROC_CATEGORY_CS;
}

int sv_is_whitespace(uint32_t cp) {
    if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r') return 1;
    if (cp < 0x80) return 0;
    utf8proc_category_t c = category(cp);
    return c == UTF8PROC_CATEGORY_ZS || c == UTF8PROC_CATEGORY_ZL || c == UTF8PROC_CATEGORY_ZP;
}

int sv_is_white_space_prop(uint32_t cp) {
    /* White_Space = the Z* separators plus these controls. */
    if ((cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85) return 1;
    if (cp < 0x80) return 0;
    utf8proc_category_t c = category(cp);
    return c == UTF8PROC_CATEGORY_ZS || c == UTF8PROC_CATEGORY_ZL || c == UTF8PROC_CATEGORY_ZP;
}

int sv_is_punctuation(uint32_t cp) {
    if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
        (cp >= 123 && cp <= 126))
        return 1;
    if (cp < 0x80) return 0;
    utf8proc_category_t c = category(cp);
    return c >= UTF8PROC_CATEGORY_PC && c <= UTF8PROC_CATEGORY_PO;
}

int sv_is_chinese_char(uint32_t cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
           (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

int sv_is_word_char(uint32_t cp) {
    if (cp < 0x80)
        return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
               cp == '_';
    if (cp == 0x200C || cp == 0x200D) return 1;
    utf8proc_category_t c = category(cp);
    return (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_ND) || c == UTF8PROC_CATEGORY_NL ||
           c == UTF8PROC_CATEGORY_PC;
}

int sv_is_nonspacing_mark(uint32_t cp) {
    return cp >= 0x300 && category(cp) == UTF8PROC_CATEGORY_MN;
}

int sv_is_mark(uint32_t cp) {
    if (cp < 0x300) return 0;
    utf8proc_category_t c = category(cp);
    return c >= UTF8PROC_CATEGORY_MN && c <= UTF8PROC_CATEGORY_ME;
}

int sv_lowercase(uint32_t cp, uint32_t out[2]) {
    if (cp < 0x80) {
        out[0] = (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
        return 1;
    }
    if (cp == 0x130) { /* SpecialCasing: LATIN CAPITAL I WITH DOT ABOVE */
        out[0] = 'i';
        out[1] = 0x307;
        return 2;
    }
    out[0] = (uint32_t)utf8proc_tolower((utf8proc_int32_t)cp);
    return 1;
}

int sv_nfd(uint32_t cp, uint32_t out[SV_NFD_MAX]) {
    if (cp < 0xC0) {
        out[0] = cp;
        return 1;
    }
    utf8proc_int32_t buf[SV_NFD_MAX];
    int last_boundclass = 0;
    utf8proc_ssize_t n = utf8proc_decompose_char((utf8proc_int32_t)cp, buf, SV_NFD_MAX,
                                                 UTF8PROC_DECOMPOSE, &last_boundclass);
    if (n <= 0 || n > SV_NFD_MAX) {
        out[0] = cp;
        return 1;
    }
    for (utf8proc_ssize_t i = 0; i < n; i++) out[i] = (uint32_t)buf[i];
    return (int)n;
}
