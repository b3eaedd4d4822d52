/*
 * wordpiece.c - greedy longest-match-first WordPiece.
 */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "text/wordpiece.h"

int sv_ids_push(sv_ids *ids, int32_t id) {
    if (ids->n == ids->cap) {
        size_t cap = ids->cap ? ids->cap * 2 : 64;
        int32_t *data = realloc(ids->data, cap * sizeof *data);
        if (!data) return sv_error(SCIVEC_ENOMEM, "tokenize: out of memory");
        ids->data = data;
        ids->cap = cap;
    }
    ids->data[ids->n++] = id;
    return SCIVEC_OK;
}

void sv_ids_free(sv_ids *ids) {
    free(ids->data);
    memset(ids, 0, sizeof *ids);
}

int sv_bytes_reserve(sv_bytes *b, size_t cap) {
    if (cap <= b->cap) return SCIVEC_OK;
    size_t new_cap = b->cap ? b->cap : 256;
    while (new_cap < cap) new_cap *= 2;
    char *data = realloc(b->data, new_cap);
    if (!data) return sv_error(SCIVEC_ENOMEM, "tokenize: out of memory");
    b->data = data;
    b->cap = new_cap;
    return SCIVEC_OK;
}

void sv_bytes_free(sv_bytes *b) {
    free(b->data);
    memset(b, 0, sizeof *b);
}

static int is_continuation_byte(char c) { return ((unsigned char)c & 0xC0) == 0x80; }

int sv_wordpiece(const scivec_tokenizer *tok, const char *word, size_t len, size_t n_chars,
                 sv_bytes *scratch, sv_ids *out) {
    if (n_chars > (size_t)tok->max_input_chars_per_word) return sv_ids_push(out, tok->unk_id);

    /* Lay the word out after room for the prefix: the candidate "##" + rest
     * is then built in place by writing the prefix over bytes already
     * consumed, with no copy per candidate. */
    const size_t prefix_len = tok->subword_prefix_len;
    int status = sv_bytes_reserve(scratch, prefix_len + len);
    if (status) return status;
    char *buf = scratch->data;
    memcpy(buf + prefix_len, word, len);

    const size_t max_bytes = tok->vocab.max_token_bytes;
    const size_t n_before = out->n;
    size_t start = 0;
    while (start < len) {
        const char *key = buf + prefix_len + start;
        size_t key_extra = 0;
        if (start > 0) {
            key -= prefix_len;
            memcpy((char *)key, tok->subword_prefix, prefix_len);
            key_extra = prefix_len;
        }
        /* No vocab token is longer than max_bytes: start the search there. */
        size_t end = len;
        if (key_extra + (end - start) > max_bytes)
            end = key_extra >= max_bytes ? start : start + (max_bytes - key_extra);
        while (end > start && end < len && is_continuation_byte(word[end])) end--;

        int32_t id = -1;
        while (end > start) {
            id = sv_vocab_find(&tok->vocab, key, key_extra + (end - start));
            if (id >= 0) break;
            end--;
            while (end > start && is_continuation_byte(word[end])) end--;
        }
        if (id < 0) { /* one unmatched piece makes the whole word unknown */
            out->n = n_before;
            return sv_ids_push(out, tok->unk_id);
        }
        status = sv_ids_push(out, id);
        if (status) return status;
        start = end;
    }
    return SCIVEC_OK;
}
