/*
 * vocab.h - a WordPiece vocabulary: id -> token string and a hash table for
 * token -> id, built from vocab.txt or a tokenizer.json "vocab" object.
 */
#ifndef SV_VOCAB_H
#define SV_VOCAB_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

typedef struct sv_vocab {
    int n_ids;              /* ids are 0..n_ids-1 (a gap has a NULL token) */
    char **id_token;        /* [n_ids] NUL-terminated, into arena          */
    uint32_t *id_len;       /* [n_ids] byte length of each token           */
    int32_t *slots;         /* open-addressing table of ids, -1 = empty    */
    uint32_t slot_mask;     /* n_slots - 1 (n_slots a power of two)        */
    size_t max_token_bytes; /* longest token, bounds the WordPiece search  */
    char *arena;            /* all token strings, NUL-separated            */
} sv_vocab;

/* vocab.txt: one token per line, the id is the line number. Like HF's
 * load_vocab, "\n", "\r\n" and "\r" end lines and only they are stripped; a
 * token repeated later maps to its last line. */
int sv_vocab_load_txt(const char *path, sv_vocab *vocab);
/* tokenizer.json model.vocab: {"token": id, ...}. */
int sv_vocab_from_json(const cJSON *vocab_obj, const char *path, sv_vocab *vocab);
/* Id of the token s[0..len), or -1. */
int32_t sv_vocab_find(const sv_vocab *vocab, const char *s, size_t len);
void sv_vocab_free(sv_vocab *vocab);

#endif /* SV_VOCAB_H */
