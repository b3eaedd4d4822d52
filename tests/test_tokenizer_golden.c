/*
 * test_tokenizer_golden.c - token ids against HuggingFace's own output:
 * every line of golden/tokens.jsonl (text, max_length 512) and both
 * encodings of golden/tokens_pair.jsonl (pair = tokenize(title, abstract),
 * single_sep = tokenize(title + "[SEP]" + abstract)). Where HF's slow and
 * fast tokenizers disagree, tokenizer_crosscheck_fast_rust.json gives the
 * fast (Rust) ids, which scivec follows.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "core/error.h"
#include "core/files.h"
#include "scivec.h"

#define GOLDEN SV_FIXTURES "/golden"

static cJSON *fast_overrides; /* the crosscheck file */

/* fast_rust_ids of the crosscheck entry `id` in section ("texts"/"pair"), or NULL */
static const cJSON *fast_ids_for(const char *section, const char *id) {
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(fast_overrides, section);
    const cJSON *item;
    cJSON_ArrayForEach(item, list) {
        const cJSON *item_id = cJSON_GetObjectItemCaseSensitive(item, "id");
        if (cJSON_IsString(item_id) && !strcmp(item_id->valuestring, id))
            return cJSON_GetObjectItemCaseSensitive(item, "fast_rust_ids");
    }
    return NULL;
}

/* 1 when enc equals the expected ids (and type ids, when given for the same
 * length; else they must all be 0 for a single text). */
static int same_ids(const scivec_encoding *enc, const cJSON *ids, const cJSON *types,
                    const char *what, const char *id) {
    int n = cJSON_GetArraySize(ids);
    if (n != enc->n_tokens) {
        fprintf(stderr, "%s %s: %d tokens, expected %d\n", what, id, enc->n_tokens, n);
        return 0;
    }
    if (!types || cJSON_GetArraySize(types) != n)
        for (int i = 0; i < n; i++)
            if (enc->token_type_ids[i] != 0 && !strcmp(what, "text")) return 0;
    for (int i = 0; i < n; i++) {
        int want = (int)cJSON_GetArrayItem(ids, i)->valuedouble;
        if (enc->input_ids[i] != want) {
            fprintf(stderr, "%s %s: token %d is %d, expected %d\n", what, id, i, enc->input_ids[i],
                    want);
            return 0;
        }
        if (types && cJSON_GetArraySize(types) == n) {
            int want_type = (int)cJSON_GetArrayItem(types, i)->valuedouble;
            if (enc->token_type_ids[i] != want_type) {
                fprintf(stderr, "%s %s: type %d is %d, expected %d\n", what, id, i,
                        enc->token_type_ids[i], want_type);
                return 0;
            }
        }
    }
    return 1;
}

/* cJSON ends strings at a \u0000 escape, and one golden text holds NULs:
 * the line is parsed with \u0000 spelled as the noncharacter U+FDD0, turned
 * back into NUL bytes here; returns the text length. */
#define NUL_MARK "\xEF\xB7\x90"
static size_t restore_nuls(char *s) {
    size_t n = strlen(s), k = 0;
    for (size_t i = 0; i < n; i++) {
        if (i + 3 <= n && !memcmp(s + i, NUL_MARK, 3)) {
            s[k++] = '\0';
            i += 2;
        } else
            s[k++] = s[i];
    }
    s[k] = '\0';
    return k;
}

static cJSON *parse_line(char *line) {
    char *hit;
    while ((hit = strstr(line, "\\u0000"))) memcpy(hit, "\\uFDD0", 6);
    return cJSON_Parse(line);
}

static const char *str_field(const cJSON *obj, const char *key) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

int main(void) {
    scivec_tokenizer *tok;
    int status = scivec_tokenizer_load(SV_FIXTURES "/models/tiny-scibert", &tok);
    CHECK(status == SCIVEC_OK, "load: %s", scivec_last_error());
    if (status) return check_report();
    CHECK(scivec_tokenizer_vocab_size(tok) == 31090, "vocab size %d",
          scivec_tokenizer_vocab_size(tok));
    CHECK(scivec_tokenizer_model_max_length(tok) == 512, "model_max_length");
    CHECK(scivec_tokenizer_warning(tok) == NULL, "no warning expected");

    char *text;
    CHECK(sv_read_file(GOLDEN "/tokenizer_crosscheck_fast_rust.json", &text, NULL) == 0,
          "read crosscheck");
    fast_overrides = cJSON_Parse(text);
    free(text);
    CHECK(fast_overrides != NULL, "parse crosscheck");

    int n_text = 0, n_text_ok = 0, n_pair = 0, n_pair_ok = 0, n_sep = 0, n_sep_ok = 0, n_fast = 0;
    int n_untrunc_ok = 0;

    FILE *f = fopen(GOLDEN "/tokens.jsonl", "r");
    CHECK(f != NULL, "open tokens.jsonl");
    char *line = NULL;
    size_t cap = 0;
    while (f && getline(&line, &cap, f) > 0) {
        cJSON *obj = parse_line(line);
        const char *id = str_field(obj, "id");
        char *t = (char *)str_field(obj, "text");
        if (!obj || !id || !t) {
            CHECK(0, "bad golden line");
            cJSON_Delete(obj);
            continue;
        }
        size_t t_len = restore_nuls(t);
        const cJSON *want = fast_ids_for("texts", id);
        if (want)
            n_fast++;
        else
            want = cJSON_GetObjectItemCaseSensitive(obj, "input_ids");
        scivec_encoding enc;
        status = scivec_tokenize(tok, t, t_len, NULL, 0, 512, &enc);
        CHECK(status == 0, "%s: %s", id, scivec_last_error());
        n_text++;
        n_text_ok +=
            !status && same_ids(&enc, want, cJSON_GetObjectItemCaseSensitive(obj, "token_type_ids"),
                                "text", id);
        const cJSON *untrunc = cJSON_GetObjectItemCaseSensitive(obj, "n_tokens_untruncated");
        if (!status && (!cJSON_IsNumber(untrunc) ||
                        want != cJSON_GetObjectItemCaseSensitive(obj, "input_ids") ||
                        enc.n_tokens_untruncated == (int)untrunc->valuedouble))
            n_untrunc_ok++;
        else
            fprintf(stderr, "text %s: n_tokens_untruncated %d, expected %d\n", id,
                    enc.n_tokens_untruncated, (int)untrunc->valuedouble);
        scivec_encoding_clear(&enc);
        cJSON_Delete(obj);
    }
    if (f) fclose(f);

    f = fopen(GOLDEN "/tokens_pair.jsonl", "r");
    CHECK(f != NULL, "open tokens_pair.jsonl");
    while (f && getline(&line, &cap, f) > 0) {
        cJSON *obj = parse_line(line);
        const char *id = str_field(obj, "id"), *title = str_field(obj, "title"),
                   *abstract = str_field(obj, "abstract");
        const cJSON *pair = cJSON_GetObjectItemCaseSensitive(obj, "pair");
        const cJSON *single = cJSON_GetObjectItemCaseSensitive(obj, "single_sep");
        if (!obj || !id || !title || !abstract || !pair || !single) {
            CHECK(0, "bad golden pair line");
            cJSON_Delete(obj);
            continue;
        }
        const cJSON *want = fast_ids_for("pair", id);
        if (want)
            n_fast++;
        else
            want = cJSON_GetObjectItemCaseSensitive(pair, "input_ids");
        scivec_encoding enc;
        status = scivec_tokenize(tok, title, strlen(title), abstract, strlen(abstract), 512, &enc);
        CHECK(status == 0, "%s: %s", id, scivec_last_error());
        n_pair++;
        /* The fast ids carry no type ids: derive them from the [SEP] position. */
        const cJSON *types = want == cJSON_GetObjectItemCaseSensitive(pair, "input_ids")
                                 ? cJSON_GetObjectItemCaseSensitive(pair, "token_type_ids")
                                 : NULL;
        n_pair_ok += !status && same_ids(&enc, want, types, "pair", id);
        if (!status && !types) {
            int first_sep = -1;
            for (int i = 0; i < enc.n_tokens && first_sep < 0; i++)
                if (enc.input_ids[i] == 103) first_sep = i;
            int types_ok = first_sep > 0;
            for (int i = 0; i < enc.n_tokens; i++)
                types_ok &= enc.token_type_ids[i] == (i > first_sep);
            CHECK(types_ok, "%s: token_type_ids of the fast pair", id);
        }
        scivec_encoding_clear(&enc);

        size_t n_title = strlen(title), n_abstract = strlen(abstract);
        char *joined = malloc(n_title + 5 + n_abstract + 1);
        memcpy(joined, title, n_title);
        memcpy(joined + n_title, "[SEP]", 5);
        memcpy(joined + n_title + 5, abstract, n_abstract + 1);
        const char *sep_text = str_field(obj, "single_sep_text");
        CHECK(sep_text && !strcmp(sep_text, joined),
              "%s: single_sep_text is title + [SEP] + abstract", id);
        status = scivec_tokenize(tok, joined, n_title + 5 + n_abstract, NULL, 0, 512, &enc);
        CHECK(status == 0, "%s: %s", id, scivec_last_error());
        n_sep++;
        n_sep_ok += !status && same_ids(&enc, cJSON_GetObjectItemCaseSensitive(single, "input_ids"),
                                        cJSON_GetObjectItemCaseSensitive(single, "token_type_ids"),
                                        "single_sep", id);
        scivec_encoding_clear(&enc);
        free(joined);
        cJSON_Delete(obj);
    }
    if (f) fclose(f);
    free(line);

    printf("golden texts: %d/%d identical, pairs: %d/%d, single_sep: %d/%d "
           "(%d cases use the fast-rust ids), n_tokens_untruncated %d/%d\n",
           n_text_ok, n_text, n_pair_ok, n_pair, n_sep_ok, n_sep, n_fast, n_untrunc_ok, n_text);
    CHECK(n_text == 661 && n_text_ok == n_text, "texts %d/%d", n_text_ok, n_text);
    CHECK(n_pair == 306 && n_pair_ok == n_pair, "pairs %d/%d", n_pair_ok, n_pair);
    CHECK(n_sep == 306 && n_sep_ok == n_sep, "single_sep %d/%d", n_sep_ok, n_sep);
    CHECK(n_fast == 3, "fast overrides used: %d", n_fast);
    CHECK(n_untrunc_ok == n_text, "n_tokens_untruncated %d/%d", n_untrunc_ok, n_text);
    cJSON_Delete(fast_overrides);
    scivec_tokenizer_free(tok);
    return check_report();
}
