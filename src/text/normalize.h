/*
 * normalize.h - the character-level rules of BERT tokenization: UTF-8
 * decoding with Python's errors="replace" behaviour, and the character
 * classes of HF tokenizers' BertNormalizer / BertPreTokenizer (the Rust
 * "fast" tokenizer), with categories from utf8proc.
 */
#ifndef SV_NORMALIZE_H
#define SV_NORMALIZE_H

#include <stddef.h>
#include <stdint.h>

#define SV_REPLACEMENT_CHAR 0xFFFDu

/* Decodes one code point of s[*pos..len) and advances *pos. An invalid
 * sequence gives U+FFFD and advances past its maximal subpart (one bytes
 * object position per replacement, exactly as Python's
 * bytes.decode("utf-8", "replace")); *invalid is set to 1 then, else 0. */
uint32_t sv_utf8_decode(const char *s, size_t len, size_t *pos, int *invalid);
/* Writes cp as UTF-8 (1-4 bytes) to out; returns the byte count. */
int sv_utf8_encode(uint32_t cp, char *out);

/* Valid UTF-8 without NUL bytes, for text stored where Python reads it
 * (papers.db: sqlite3 raises on invalid UTF-8). Returns 0 when s[0..len) is
 * that already (*out untouched), 1 with *out a malloc'd NUL-terminated copy
 * (*out_len bytes) in which each invalid sequence is U+FFFD (as
 * sv_utf8_decode) and NULs are dropped, or SCIVEC_ENOMEM. */
int sv_utf8_repair(const char *s, size_t len, char **out, size_t *out_len);

/* Characters dropped by clean_text: Cc (except \t \n \r), Cf, Co.
 * (Rust's is_other(); unassigned code points are kept, unlike the slow
 * Python tokenizer.) */
int sv_is_control(uint32_t cp);
/* \t \n \r or Zs/Zl/Zp: mapped to ' ' by clean_text. */
int sv_is_whitespace(uint32_t cp);
/* Rust char::is_whitespace (Unicode White_Space): where the pre-tokenizer
 * splits. */
int sv_is_white_space_prop(uint32_t cp);
/* ASCII 33-47, 58-64, 91-96, 123-126, or Unicode P*. */
int sv_is_punctuation(uint32_t cp);
/* BERT's CJK ideograph ranges (not all of CJK: no kana, no hangul). */
int sv_is_chinese_char(uint32_t cp);
/* Rust regex \w: alphabetic, marks, decimal digits, connector punctuation,
 * join controls (for the Whitespace pre-tokenizer). */
int sv_is_word_char(uint32_t cp);
/* Mn (BertNormalizer strip_accents keeps Mc/Me). */
int sv_is_nonspacing_mark(uint32_t cp);
/* Mn, Mc, Me (the StripAccents normalizer). */
int sv_is_mark(uint32_t cp);

/* Full lowercase mapping of one code point into out (1 or 2 code points:
 * U+0130 is the one unconditional two-code-point case). */
int sv_lowercase(uint32_t cp, uint32_t out[2]);
/* Canonical decomposition (NFD) of one code point into out (at most
 * SV_NFD_MAX code points); returns the count. */
#define SV_NFD_MAX 8
int sv_nfd(uint32_t cp, uint32_t out[SV_NFD_MAX]);

#endif /* SV_NORMALIZE_H */
