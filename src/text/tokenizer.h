/*
 * tokenizer.h - what a loaded scivec_tokenizer holds. Loading
 * (tokenizer_load.c) fills it from the model directory; tokenizer.c runs
 * it. Read-only after loading, so threads may share it.
 */
#ifndef SV_TOKENIZER_H
#define SV_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "scivec.h"
#include "text/vocab.h"

typedef enum sv_pretokenizer {
    SV_PRETOK_BERT,             /* split on whitespace, isolate punctuation */
    SV_PRETOK_WHITESPACE,       /* regex \w+|[^\w\s]+                       */
    SV_PRETOK_WHITESPACE_SPLIT, /* split on whitespace only                 */
} sv_pretokenizer;

/* A token matched as a whole in the text: special tokens verbatim in the raw
 * text before normalization ("[SEP]" inside a SPECTER2 title+abstract
 * string); added tokens marked "normalized" in the normalized text, with
 * their content normalized the same way (as Rust's AddedVocabulary). */
typedef struct sv_added_token {
    char *content; /* normalized when `normalized`                */
    size_t len;
    int32_t id;
    int normalized;
} sv_added_token;

struct scivec_tokenizer {
    sv_vocab vocab;

    /* Normalizer, applied per character in this order. */
    int clean_text;     /* drop controls/NUL/U+FFFD, whitespace -> ' ' */
    int handle_chinese; /* put spaces around CJK ideographs            */
    int strip_accents;  /* BertNormalizer: NFD, then drop Mn           */
    int nfd;            /* NFD normalizer (without dropping marks)     */
    int lowercase;
    int strip_marks; /* StripAccents normalizer: drop all M*        */
    sv_pretokenizer pretok;

    /* WordPiece model */
    int32_t unk_id;
    char subword_prefix[32];
    size_t subword_prefix_len;
    int max_input_chars_per_word;

    /* Post-processor: [CLS] a [SEP] (b [SEP]) */
    int32_t cls_id, sep_id;

    sv_added_token *added; /* longest first, so the first match is longest */
    int n_added;
    int n_normalized_added;
    /* bit 0: a raw-matched token starts with this byte; bit 1: a normalized one */
    uint8_t added_first_byte[256];

    int model_max_length;
    char *warning; /* NULL or a message for scivec_tokenizer_warning */
};

/* The tokenizer's normalizer alone over text[0..len): a new NUL-terminated
 * string in *out (tokenizer.c; the loader normalizes added tokens with it). */
int sv_tokenizer_normalize(const scivec_tokenizer *tok, const char *text, size_t len, char **out,
                           size_t *out_len);

#endif /* SV_TOKENIZER_H */
