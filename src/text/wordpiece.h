/*
 * wordpiece.h - greedy longest-match-first WordPiece over one pre-tokenized
 * word, as HF's WordPiece model (and BERT's original WordpieceTokenizer).
 */
#ifndef SV_WORDPIECE_H
#define SV_WORDPIECE_H

#include <stddef.h>
#include <stdint.h>

#include "text/tokenizer.h"

/* A growable array of token ids. */
typedef struct sv_ids {
    int32_t *data;
    size_t n, cap;
} sv_ids;

int sv_ids_push(sv_ids *ids, int32_t id);
void sv_ids_free(sv_ids *ids);

/* A growable byte buffer reused across words and calls. */
typedef struct sv_bytes {
    char *data;
    size_t n, cap;
} sv_bytes;

int sv_bytes_reserve(sv_bytes *b, size_t cap);
void sv_bytes_free(sv_bytes *b);

/* Appends the WordPiece ids of word[0..len) (valid UTF-8, n_chars code
 * points) to out: its sub-words ("un", "##want", "##ed"), or one unk id when
 * the word is longer than max_input_chars_per_word or some part of it matches
 * nothing. scratch is working memory. */
int sv_wordpiece(const scivec_tokenizer *tok, const char *word, size_t len, size_t n_chars,
                 sv_bytes *scratch, sv_ids *out);

#endif /* SV_WORDPIECE_H */
