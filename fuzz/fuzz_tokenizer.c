/*
 * fuzz_tokenizer.c - arbitrary bytes as text (and as a text pair) through
 * scivec_tokenize with the SciBERT vocab (BertPreTokenizer) and the jammi
 * tokenizer.json (Whitespace pre-tokenizer), both loaded once. Besides the
 * sanitizers, checks the invariants of every encoding.
 *
 * Input: byte 0 = flags (bit 0 pair, bit 1 jammi, bits 2-7 max_length),
 * byte 1 = where the text ends and the pair begins, the rest = the bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scivec.h"

static scivec_tokenizer *load_fixture(const char *rel) {
    /* __FILE__ is this file's absolute path in CMake builds. */
    char path[4096];
    const char *root = getenv("SV_FIXTURES");
    if (root)
        snprintf(path, sizeof path, "%s/%s", root, rel);
    else
        snprintf(path, sizeof path, "%s/../../tests/fixtures/%s", __FILE__, rel);
    /* "<dir>/fuzz_tokenizer.c/../../" walks up from the file to the repo */
    char *marker = strstr(path, "/fuzz_tokenizer.c/../..");
    if (marker)
        memmove(marker, marker + strlen("/fuzz_tokenizer.c/.."),
                strlen(marker + strlen("/fuzz_tokenizer.c/..")) + 1);
    scivec_tokenizer *tok;
    if (scivec_tokenizer_load(path, &tok)) {
        fprintf(stderr, "fuzz_tokenizer: %s\n", scivec_last_error());
        abort();
    }
    return tok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static scivec_tokenizer *scibert, *jammi;
    if (!scibert) {
        scibert = load_fixture("models/tiny-scibert");
        jammi = load_fixture("hf-produced/jammi-tiny-bert");
    }
    if (size < 2) return 0;
    const int is_pair = data[0] & 1;
    const scivec_tokenizer *tok = (data[0] & 2) ? jammi : scibert;
    const int max_length = data[0] >> 2; /* 0 = no truncation, 1-2 refused for pairs */
    size_t n_text = (size - 2) * data[1] / 255;
    const char *text = (const char *)data + 2;
    const char *pair = is_pair ? text + n_text : NULL;
    size_t n_pair = is_pair ? size - 2 - n_text : 0;
    if (!is_pair) n_text = size - 2;

    scivec_encoding enc;
    int status = scivec_tokenize(tok, text, n_text, pair, n_pair, max_length, &enc);
    if (status) {
        if (status != SCIVEC_EINVAL || max_length >= (is_pair ? 3 : 2)) abort();
        return 0;
    }
    const int n_special = is_pair ? 3 : 2;
    const int vocab = scivec_tokenizer_vocab_size(tok);
    if (enc.n_tokens < n_special || enc.n_tokens > enc.n_tokens_untruncated) abort();
    if (max_length > 0 && enc.n_tokens > max_length) abort();
    if (max_length == 0 && enc.n_tokens != enc.n_tokens_untruncated) abort();
    if (enc.n_invalid_utf8 < 0 || (size_t)enc.n_invalid_utf8 > size) abort();
    int prev_type = 0;
    for (int i = 0; i < enc.n_tokens; i++) {
        if (enc.input_ids[i] < 0 || enc.input_ids[i] >= vocab) abort();
        if (!scivec_tokenizer_id_to_token(tok, enc.input_ids[i])) abort();
        int type = enc.token_type_ids[i];
        if (type < prev_type || type > (is_pair ? 1 : 0)) abort();
        prev_type = type;
    }
    scivec_encoding_clear(&enc);
    return 0;
}
