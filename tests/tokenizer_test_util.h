/*
 * tokenizer_test_util.h - helpers shared by the tokenizer tests: tiny model
 * directories written to a temp folder, and token strings of an encoding.
 */
#ifndef SV_TOKENIZER_TEST_UTIL_H
#define SV_TOKENIZER_TEST_UTIL_H

#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scivec.h"

/* Writes `text` to dir/name. */
static inline int write_text_file(const char *dir, const char *name, const char *text) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    fputs(text, f);
    return fclose(f);
}

/* A new temp dir (static buffer per call site given by the caller). */
static inline char *make_temp_dir(char *buf, size_t size, const char *tag) {
    snprintf(buf, size, "/tmp/scivec-%s-XXXXXX", tag);
    return mkdtemp(buf);
}

static inline void remove_temp_dir(const char *dir) {
    static const char *const names[] = {"vocab.txt", "tokenizer_config.json", "tokenizer.json",
                                        "special_tokens_map.json", "added_tokens.json"};
    char path[1024];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

/* The tokens of text between [CLS] and [SEP], joined by single spaces, in a
 * static buffer ("" for none; "<error: ...>" when tokenizing failed). */
static inline const char *tokens_of(const scivec_tokenizer *tok, const char *text) {
    static char out[4096];
    scivec_encoding enc;
    if (scivec_tokenize(tok, text, strlen(text), NULL, 0, 0, &enc) != SCIVEC_OK) {
        snprintf(out, sizeof out, "<error: %s>", scivec_last_error());
        return out;
    }
    size_t k = 0;
    out[0] = '\0';
    for (int i = 1; i + 1 < enc.n_tokens; i++) {
        const char *t = scivec_tokenizer_id_to_token(tok, enc.input_ids[i]);
        k += (size_t)snprintf(out + k, sizeof out - k, "%s%s", i > 1 ? " " : "", t ? t : "<?>");
        if (k >= sizeof out) break;
    }
    scivec_encoding_clear(&enc);
    return out;
}

#endif
