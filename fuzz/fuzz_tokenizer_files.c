/*
 * fuzz_tokenizer_files.c - arbitrary bytes as one of a model directory's
 * tokenizer files (byte 0 picks: tokenizer.json, tokenizer_config.json,
 * special_tokens_map.json or vocab.txt), next to a small valid vocab.txt,
 * through scivec_tokenizer_load; a tokenizer that loads must then encode a
 * fixed text with ids it can name.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scivec.h"

static const char *const file_names[] = {"tokenizer.json", "tokenizer_config.json",
                                         "special_tokens_map.json", "vocab.txt"};

static void write_file(const char *dir, const char *name, const uint8_t *data, size_t size) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char dir[64];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/fuzz_tokenizer_files-XXXXXX");
        if (!mkdtemp(dir)) abort();
    }
    if (size < 1) return 0;
    for (size_t i = 0; i < 4; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s", dir, file_names[i]);
        unlink(path);
    }
    static const char vocab[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\n##s\nmodel\n,\n";
    write_file(dir, "vocab.txt", (const uint8_t *)vocab, sizeof vocab - 1);
    write_file(dir, file_names[data[0] % 4], data + 1, size - 1);

    scivec_tokenizer *tok;
    if (scivec_tokenizer_load(dir, &tok)) return 0;
    const char *text = "The models, [SEP] the [MASK] caf\xc3\xa9 \xe4\xb8\xad!";
    scivec_encoding enc;
    if (scivec_tokenize(tok, text, strlen(text), "the", 3, 64, &enc)) abort();
    for (int i = 0; i < enc.n_tokens; i++)
        if (!scivec_tokenizer_id_to_token(tok, enc.input_ids[i])) abort();
    scivec_encoding_clear(&enc);
    scivec_tokenizer_free(tok);
    return 0;
}
