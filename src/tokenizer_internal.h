/*
 * tokenizer_internal.h - what a loaded scivec_tokenizer holds. Loading
 * (tokenizer_config.c) fills it from the model directory; tokenizer.c runs
 * it. Read-only after loading, so threads may share it.
 */
#ifndef SV_TOKENIZER_INTERNAL_H
#define SV_TOKENIZER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "scivec.h"
#include "vocab.h"

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
    char   *content;         /* normalized when `normalized`                */
    size_t  len;
    int32_t id;
    int     normalized;
} sv_added_token;

struct scivec_tokenizer {
    sv_vocab vocab;

    /* Normalizer, applied per character in this order. */
    int clean_text;          /* drop controls/NUL/U+FFFD, whitespace -> ' ' */
    int handle_chinese;      /* put spaces around CJK ideographs            */
    int strip_accents;       /* BertNormalizer: NFD, then drop Mn           */
    int nfd;                 /* NFD normalizer (without dropping marks)     */
    int lowercase;
    int strip_marks;         /* StripAccents normalizer: drop all M*        */
    sv_pretokenizer pretok;

    /* WordPiece model */
    int32_t unk_id;
    char    subword_prefix[32];
    size_t  subword_prefix_len;
    int     max_input_chars_per_word;

    /* Post-processor: [CLS] a [SEP] (b [SEP]) */
    int32_t cls_id, sep_id;

    sv_added_token *added;   /* longest first, so the first match is longest */
    int      n_added;
    int      n_normalized_added;
    /* bit 0: a raw-matched token starts with this byte; bit 1: a normalized one */
    uint8_t  added_first_byte[256];

    int   model_max_length;
    char *warning;           /* NULL or a message for scivec_tokenizer_warning */
};

/* Reads the tokenizer files of dir into tok (zeroed by the caller). */
int sv_tokenizer_load_dir(const char *dir, scivec_tokenizer *tok);
/* Runs the normalizer over the content of the `normalized` added tokens and
 * fills added_first_byte (tokenizer.c; the last step of loading). */
int sv_tokenizer_prepare_added(scivec_tokenizer *tok);

#endif /* SV_TOKENIZER_INTERNAL_H */
