/*
 * test_tokenizer_models.c - loading real HF-written tokenizer directories
 * (tests/fixtures/hf-produced), config handling (warnings, model_max_length,
 * tokenizer.json variants, added tokens, errors), invalid UTF-8 and the
 * truncation rules.
 */
#include "tokenizer_test_util.h"

#include "check.h"

#define HF      SV_FIXTURES "/hf-produced"
#define SCIBERT SV_FIXTURES "/models/tiny-scibert"

#define CHECK_TOKENS(tok, text, want)                                                              \
    do {                                                                                           \
        const char *got_ = tokens_of(tok, text);                                                   \
        CHECK(!strcmp(got_, want), "%s: got \"%s\", want \"%s\"", #text, got_, want);              \
    } while (0)

static scivec_tokenizer *load(const char *dir) {
    scivec_tokenizer *tok = NULL;
    int status = scivec_tokenizer_load(dir, &tok);
    CHECK(status == SCIVEC_OK, "load %s: %s", dir, scivec_last_error());
    return tok;
}

static void test_hf_produced(void) {
    /* camphr-ner: vocab.txt of 405 lines (its embeddings have 402 rows; the
     * tokenizer just reads the vocab), cased vocab but do_lower_case true */
    scivec_tokenizer *tok = load(HF "/camphr-ner-bert-tf4.8.2");
    if (tok) {
        CHECK(scivec_tokenizer_vocab_size(tok) == 405, "camphr-ner vocab %d",
              scivec_tokenizer_vocab_size(tok));
        CHECK(scivec_tokenizer_warning(tok) == NULL, "camphr-ner has a config: no warning");
        CHECK_TOKENS(tok, "A b!", "a b !");
        CHECK_TOKENS(tok, "ab", "[UNK]");
        scivec_tokenizer_free(tok);
    }
    /* camphr-bert-ja: do_lower_case false, tokenize_chinese_chars false */
    tok = load(HF "/camphr-bert-ja-legacy-torch");
    if (tok) {
        CHECK(scivec_tokenizer_vocab_size(tok) == 32006, "camphr-ja vocab %d",
              scivec_tokenizer_vocab_size(tok));
        CHECK_TOKENS(tok, "\xe8\xbb\x8d\xe4\xb8\x8a",
                     "\xe8\xbb\x8d ##\xe4\xb8\x8a"); /* 軍上 -> 軍 ##上 */
        CHECK_TOKENS(tok, "\xe8\xbb\x8d \xe4\xb8\x8a", "\xe8\xbb\x8d \xe4\xb8\x8a");
        CHECK(scivec_tokenizer_model_max_length(tok) == INT32_MAX, "no model_max_length");
        scivec_tokenizer_free(tok);
    }
    /* jammi: tokenizer.json only; Lowercase + StripAccents, Whitespace pre-tokenizer */
    tok = load(HF "/jammi-tiny-bert");
    if (tok) {
        CHECK(scivec_tokenizer_vocab_size(tok) == 256, "jammi vocab %d",
              scivec_tokenizer_vocab_size(tok));
        CHECK_TOKENS(tok, "The Quantum model's results!", "the quantum model ' s results !");
        CHECK_TOKENS(tok, "what?! THE", "what [UNK] the"); /* "?!" is one piece */
        scivec_encoding enc;
        CHECK(scivec_tokenize(tok, "the", 3, NULL, 0, 0, &enc) == 0 && enc.n_tokens == 3 &&
                  enc.input_ids[0] == 2 && enc.input_ids[2] == 3,
              "jammi [CLS]=2 [SEP]=3");
        scivec_encoding_clear(&enc);
        scivec_tokenizer_free(tok);
    }
    /* coldfire: tokenizer.json (no normalizer, Whitespace) and vocab.txt */
    tok = load(HF "/coldfire-tiny-bert-st");
    if (tok) {
        CHECK(scivec_tokenizer_vocab_size(tok) == 256, "coldfire vocab %d",
              scivec_tokenizer_vocab_size(tok));
        CHECK(scivec_tokenizer_model_max_length(tok) == 128, "coldfire model_max_length");
        CHECK_TOKENS(tok, "t5 t6,t7", "t5 t6 [UNK] t7");
        CHECK_TOKENS(tok, "T5", "[UNK]"); /* no lowercasing */
        scivec_tokenizer_free(tok);
    }
    tok = load(HF "/coldfire-tiny-nomic-bert");
    if (tok) {
        CHECK(scivec_tokenizer_model_max_length(tok) == 2048, "nomic model_max_length");
        scivec_tokenizer_free(tok);
    }
}

static const char *uncased_vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\nmodel\n##s\n";
static const char *cased_vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nThe\nModel\nthe\n";

/* Loads a temp dir named <tag> holding the given files (NULL = absent). */
static scivec_tokenizer *load_files(const char *tag, const char *vocab, const char *config,
                                    const char *tokenizer_json, const char *special_map,
                                    int expect_status) {
    char dir[256];
    if (!make_temp_dir(dir, sizeof dir, tag)) {
        CHECK(0, "mkdtemp");
        return NULL;
    }
    if (vocab) write_text_file(dir, "vocab.txt", vocab);
    if (config) write_text_file(dir, "tokenizer_config.json", config);
    if (tokenizer_json) write_text_file(dir, "tokenizer.json", tokenizer_json);
    if (special_map) write_text_file(dir, "special_tokens_map.json", special_map);
    scivec_tokenizer *tok = NULL;
    int status = scivec_tokenizer_load(dir, &tok);
    CHECK(status == expect_status, "%s: status %d, expected %d (%s)", tag, status, expect_status,
          scivec_last_error());
    if (status && status == expect_status)
        CHECK(strstr(scivec_last_error(), dir) != NULL, "%s: message names the dir: %s", tag,
              scivec_last_error());
    remove_temp_dir(dir);
    return tok;
}

static void test_config_handling(void) {
    /* No tokenizer_config.json: HF default lowercasing, and a warning when
     * the name or the vocab looks cased. */
    scivec_tokenizer *tok = load_files("plain", uncased_vocab, NULL, NULL, NULL, 0);
    CHECK(tok && !scivec_tokenizer_warning(tok), "uncased vocab, neutral name: no warning");
    if (tok) CHECK_TOKENS(tok, "The Models", "the model ##s");
    scivec_tokenizer_free(tok);
    tok = load_files("bert-base-cased", uncased_vocab, NULL, NULL, NULL, 0);
    CHECK(tok && scivec_tokenizer_warning(tok), "name says cased: warning");
    scivec_tokenizer_free(tok);
    tok = load_files("bert-base-uncased", uncased_vocab, NULL, NULL, NULL, 0);
    CHECK(tok && !scivec_tokenizer_warning(tok), "uncased name: no warning");
    scivec_tokenizer_free(tok);
    tok = load_files("plain", cased_vocab, NULL, NULL, NULL, 0);
    CHECK(tok && scivec_tokenizer_warning(tok), "cased vocab: warning");
    if (tok) CHECK_TOKENS(tok, "The", "the"); /* still lowercases, as HF */
    scivec_tokenizer_free(tok);
    tok = load_files("plain", cased_vocab, "{\"do_lower_case\": false}", NULL, NULL, 0);
    CHECK(tok && !scivec_tokenizer_warning(tok), "config given: no warning");
    if (tok) CHECK_TOKENS(tok, "The the", "The the");
    scivec_tokenizer_free(tok);

    /* model_max_length: SPECTER2's 1e30 clamps to INT32_MAX */
    tok = load_files("mml", uncased_vocab,
                     "{\"model_max_length\": 1000000000000000019884624838656}", NULL, NULL, 0);
    CHECK(tok && scivec_tokenizer_model_max_length(tok) == INT32_MAX, "1e30 -> INT32_MAX");
    scivec_tokenizer_free(tok);
    tok = load_files("mml", uncased_vocab, "{\"model_max_length\": 512}", NULL, NULL, 0);
    CHECK(tok && scivec_tokenizer_model_max_length(tok) == 512, "512");
    scivec_tokenizer_free(tok);

    /* CRLF vocab lines: the \r is not part of the token */
    tok = load_files("crlf", "[UNK]\r\n[CLS]\r\n[SEP]\r\nthe\r\n", NULL, NULL, NULL, 0);
    if (tok) CHECK_TOKENS(tok, "the", "the");
    scivec_tokenizer_free(tok);

    /* Special tokens from the config and special_tokens_map.json; added tokens */
    tok = load_files("special", "<unk>\n<s>\n</s>\nthe\n<ent>\n",
                     "{\"unk_token\": \"<unk>\", \"cls_token\": {\"content\": \"<s>\", \"__type\": "
                     "\"AddedToken\"},"
                     " \"sep_token\": \"</s>\", \"do_lower_case\": true}",
                     NULL, "{\"additional_special_tokens\": [\"<ent>\"]}", 0);
    if (tok) {
        CHECK_TOKENS(tok, "the<ent>The <s> x", "the <ent> the <s> <unk>");
        scivec_encoding enc;
        CHECK(scivec_tokenize(tok, "the", 3, NULL, 0, 0, &enc) == 0 && enc.n_tokens == 3 &&
                  enc.input_ids[0] == 1 && enc.input_ids[2] == 2,
              "<s> the </s>");
        scivec_encoding_clear(&enc);
    }
    scivec_tokenizer_free(tok);

    /* tokenizer.json with a BertNormalizer: BertTokenizerFast rebuilds it
     * from the config's do_lower_case. */
    const char *bert_json =
        "{\"added_tokens\": [{\"id\": 0, \"content\": \"[PAD]\", \"special\": true},"
        " {\"id\": 5, \"content\": \"<chem>\", \"special\": false, \"normalized\": false},"
        " {\"id\": 9, \"content\": \"CoVid\", \"special\": false, \"normalized\": true}],"
        " \"normalizer\": {\"type\": \"BertNormalizer\", \"clean_text\": true,"
        "   \"handle_chinese_chars\": true, \"strip_accents\": null, \"lowercase\": true},"
        " \"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"},"
        " \"post_processor\": {\"type\": \"BertProcessing\", \"sep\": [\"[SEP]\", 3], \"cls\": "
        "[\"[CLS]\", 2]},"
        " \"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", "
        "\"continuing_subword_prefix\": \"##\","
        "   \"max_input_chars_per_word\": 100,"
        "   \"vocab\": {\"[PAD]\": 0, \"[UNK]\": 1, \"[CLS]\": 2, \"[SEP]\": 3, \"The\": 4, "
        "\"<chem>\": 5, \"the\": 6,"
        "     \"-\": 7, \"x\": 8}}}";
    tok = load_files("json", NULL,
                     "{\"do_lower_case\": false, \"tokenizer_class\": \"BertTokenizer\"}",
                     bert_json, NULL, 0);
    if (tok) {
        CHECK_TOKENS(tok, "The the<chem>", "The the <chem>");
        /* normalized added tokens match the normalized text, anywhere */
        CHECK_TOKENS(tok, "CoVid xCoVidx COVID", "CoVid x CoVid x [UNK]");
    }
    scivec_tokenizer_free(tok);
    tok = load_files("json", NULL, "{\"do_lower_case\": true}", bert_json, NULL, 0);
    if (tok) {
        CHECK_TOKENS(tok, "The the", "the the");
        CHECK_TOKENS(tok, "COVID-x covid xCovid", "covid - x covid x covid");
        CHECK_TOKENS(tok, "<CHEM> <chem>", "[UNK] [UNK] [UNK] <chem>"); /* raw: case-sensitive */
    }
    scivec_tokenizer_free(tok);

    /* Refusals, each naming the directory */
    tok = load_files("nounk", "[CLS]\n[SEP]\nthe\n", NULL, NULL, NULL, SCIVEC_EFORMAT);
    scivec_tokenizer_free(tok);
    tok =
        load_files("badjson", uncased_vocab, "{\"do_lower_case\": tru", NULL, NULL, SCIVEC_EFORMAT);
    scivec_tokenizer_free(tok);
    tok = load_files("novocab", NULL, "{}", NULL, NULL, SCIVEC_ENOTFOUND);
    scivec_tokenizer_free(tok);
    tok = load_files("bpe", NULL, NULL, "{\"model\": {\"type\": \"BPE\", \"vocab\": {}}}", NULL,
                     SCIVEC_EUNSUPPORTED);
    scivec_tokenizer_free(tok);
    tok = load_files("badvocab", NULL, NULL,
                     "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": -3}}}", NULL,
                     SCIVEC_EFORMAT);
    scivec_tokenizer_free(tok);
    tok = NULL;
    CHECK(scivec_tokenizer_load(SV_FIXTURES "/no/such/dir", &tok) == SCIVEC_ENOTFOUND && !tok,
          "missing dir: %s", scivec_last_error());
}

/* ids of text with the scibert tokenizer equal ids of other, and the number
 * of invalid sequences is n_invalid */
static void check_same_ids(const scivec_tokenizer *tok, const char *text, size_t len,
                           const char *other, int n_invalid) {
    scivec_encoding a, b;
    int sa = scivec_tokenize(tok, text, len, NULL, 0, 512, &a);
    int sb = scivec_tokenize(tok, other, strlen(other), NULL, 0, 512, &b);
    CHECK(sa == 0 && sb == 0, "tokenize");
    if (sa || sb) return;
    int same = a.n_tokens == b.n_tokens;
    for (int i = 0; same && i < a.n_tokens; i++) same = a.input_ids[i] == b.input_ids[i];
    CHECK(same, "\"%s\": ids differ from \"%s\"", other, other);
    CHECK(a.n_invalid_utf8 == n_invalid, "\"%s\": n_invalid_utf8 %d, expected %d", other,
          a.n_invalid_utf8, n_invalid);
    CHECK(b.n_invalid_utf8 == 0, "valid text has no invalid sequences");
    scivec_encoding_clear(&a);
    scivec_encoding_clear(&b);
}

static void test_invalid_utf8(const scivec_tokenizer *tok) {
    const char bad1[] = "caf\xc3"
                        "\xff\xfe abc";
    check_same_ids(tok, bad1, sizeof bad1 - 1, "caf abc", 3);
    const char bad2[] = "proto\xe2\x82ns and \xed\xa0\x80quarks\xf4\x90\x80\x80!";
    check_same_ids(tok, bad2, sizeof bad2 - 1, "protons and quarks!", 1 + 3 + 4);
    const char bad3[] = "\x80\xbf truncated at the end \xf0\x9f\x98";
    check_same_ids(tok, bad3, sizeof bad3 - 1, " truncated at the end ", 3);
    /* NUL bytes inside the text are dropped like other controls */
    const char nul[] = "nu\0ll";
    check_same_ids(tok, nul, sizeof nul - 1, "null", 0);
}

/* A vocab where "w" and "v" are single tokens: n words -> n tokens. */
static char *repeat_words(const char *word, int n) {
    size_t len = strlen(word);
    char *s = malloc((len + 1) * (size_t)n + 1);
    for (int i = 0; i < n; i++) {
        memcpy(s + i * (len + 1), word, len);
        s[i * (len + 1) + len] = ' ';
    }
    s[(len + 1) * (size_t)n] = '\0';
    return s;
}

static void check_pair_split(const scivec_tokenizer *tok, int n_a, int n_b, int max_length,
                             int want_a, int want_b) {
    char *a = repeat_words("the", n_a), *b = repeat_words("model", n_b);
    scivec_encoding enc;
    int status = scivec_tokenize(tok, a, strlen(a), b, strlen(b), max_length, &enc);
    CHECK(status == 0, "pair tokenize: %s", scivec_last_error());
    if (!status) {
        int got_a = 0, got_b = 0, types_ok = 1;
        for (int i = 0; i < enc.n_tokens; i++) {
            got_a += enc.input_ids[i] == 5;
            got_b += enc.input_ids[i] == 6;
            types_ok &= enc.token_type_ids[i] == (i > got_a + 1);
        }
        CHECK(got_a == want_a && got_b == want_b, "pair %d+%d max %d: got %d+%d, want %d+%d", n_a,
              n_b, max_length, got_a, got_b, want_a, want_b);
        CHECK(types_ok, "token types 0 then 1");
        CHECK(enc.n_tokens_untruncated == n_a + n_b + 3, "untruncated %d",
              enc.n_tokens_untruncated);
        CHECK(enc.input_ids[0] == 2 && enc.input_ids[got_a + 1] == 3 &&
                  enc.input_ids[enc.n_tokens - 1] == 3,
              "[CLS] a [SEP] b [SEP]");
    }
    scivec_encoding_clear(&enc);
    free(a);
    free(b);
}

static void test_truncation(void) {
    scivec_tokenizer *tok = load_files("trunc", uncased_vocab, NULL, NULL, NULL, 0);
    if (!tok) return;
    /* Rust LongestFirst; 512 leaves 509 for the two texts */
    check_pair_split(tok, 300, 400, 512, 254, 255); /* golden pair-long-both */
    check_pair_split(tok, 257, 774, 512, 254, 255); /* golden pair-odd-overflow */
    check_pair_split(tok, 400, 300, 512, 255, 254);
    check_pair_split(tok, 300, 300, 512, 254, 255);
    check_pair_split(tok, 10, 1000, 512, 10, 499);
    check_pair_split(tok, 1000, 10, 512, 499, 10);
    check_pair_split(tok, 260, 300, 512, 254, 255);
    check_pair_split(tok, 100, 100, 512, 100, 100);
    check_pair_split(tok, 5, 5, 8, 2, 3);
    check_pair_split(tok, 5, 5, 3, 0, 0);
    check_pair_split(tok, 5, 5, 0, 5, 5); /* 0: no truncation */

    char *text = repeat_words("the", 20);
    scivec_encoding enc;
    CHECK(scivec_tokenize(tok, text, strlen(text), NULL, 0, 10, &enc) == 0 && enc.n_tokens == 10 &&
              enc.n_tokens_untruncated == 22 && enc.input_ids[9] == 3 && enc.input_ids[8] == 5,
          "single truncated to 10");
    scivec_encoding_clear(&enc);
    CHECK(scivec_tokenize(tok, text, strlen(text), NULL, 0, 2, &enc) == 0 && enc.n_tokens == 2,
          "single max_length 2");
    scivec_encoding_clear(&enc);
    CHECK(scivec_tokenize(tok, text, strlen(text), NULL, 0, 1, &enc) == SCIVEC_EINVAL &&
              !enc.input_ids,
          "max_length 1 is refused");
    CHECK(scivec_tokenize(tok, text, strlen(text), "x", 1, 2, &enc) == SCIVEC_EINVAL,
          "pair max_length 2 is refused");
    CHECK(scivec_tokenize(tok, NULL, 0, NULL, 0, 0, &enc) == 0 && enc.n_tokens == 2,
          "NULL empty text");
    scivec_encoding_clear(&enc);
    CHECK(scivec_tokenize(tok, "", 0, "", 0, 0, &enc) == 0 && enc.n_tokens == 3 &&
              enc.token_type_ids[2] == 1,
          "empty pair");
    scivec_encoding_clear(&enc);
    free(text);
    scivec_tokenizer_free(tok);
}

int main(void) {
    test_hf_produced();
    test_config_handling();
    scivec_tokenizer *scibert = load(SCIBERT);
    if (scibert) test_invalid_utf8(scibert);
    scivec_tokenizer_free(scibert);
    test_truncation();
    return check_report();
}
