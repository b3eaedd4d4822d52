/*
 * test_tokenizer_basic.c - the documented expectations of HuggingFace's
 * tests/models/bert/test_tokenization_bert.py and google-research/bert's
 * tokenization_test.py, rewritten against scivec: basic tokenization (clean
 * text, lowercase, accents, punctuation, CJK), WordPiece with their tiny
 * vocab, and the character classes.
 */
#include "tokenizer_test_util.h"

#include "check.h"
#include "text/normalize.h"

/* Vocab with every word the basic-tokenizer cases may produce, so a wrong
 * normalization shows up as a different token or [UNK]. */
static const char *basic_vocab =
    "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n"
    "hello\n!\nhow\nare\nyou\n?\nhällo\nhallo\nHeLLo\nAre\nyoU\nHäLLo\nHaLLo\nhéllo\n"
    "a\n'\nll\nto\nd\nof\n,\ncan\nt\n.\nah\n\xe5\x8d\x9a\n\xe6\x8e\xa8\nzz\n";

static scivec_tokenizer *load_basic(const char *config) {
    char dir[256];
    scivec_tokenizer *tok = NULL;
    if (!make_temp_dir(dir, sizeof dir, "tokbasic")) return NULL;
    write_text_file(dir, "vocab.txt", basic_vocab);
    if (config) write_text_file(dir, "tokenizer_config.json", config);
    int status = scivec_tokenizer_load(dir, &tok);
    CHECK(status == SCIVEC_OK, "load %s: %s", config ? config : "(no config)", scivec_last_error());
    remove_temp_dir(dir);
    return tok;
}

#define CHECK_TOKENS(tok, text, want)                                                              \
    do {                                                                                           \
        const char *got_ = tokens_of(tok, text);                                                   \
        CHECK(!strcmp(got_, want), "%s: got \"%s\", want \"%s\"", #text, got_, want);              \
    } while (0)

static void test_basic_tokenizer(void) {
    const char *hello = " \tHeLLo!how  \n Are yoU?  ";
    const char *hallo = " \tH\xc3\xa4LLo!how  \n Are yoU?  "; /* HäLLo */

    /* test_basic_tokenizer_lower / google test_basic_tokenizer_lower */
    scivec_tokenizer *tok = load_basic("{\"do_lower_case\": true}");
    if (tok) {
        CHECK_TOKENS(tok, hello, "hello ! how are you ?");
        CHECK_TOKENS(tok, "H\xc3\xa9llo", "hello");
        /* test_basic_tokenizer_lower_strip_accents_default */
        CHECK_TOKENS(tok, hallo, "hallo ! how are you ?");
        /* test_chinese */
        CHECK_TOKENS(tok, "ah\xe5\x8d\x9a\xe6\x8e\xa8zz", "ah \xe5\x8d\x9a \xe6\x8e\xa8 zz");
        /* test_basic_tokenizer_splits_on_punctuation */
        CHECK_TOKENS(tok, "a\n'll !!to?'d of, can't.", "a ' ll ! ! to ? ' d of , can ' t .");
        scivec_tokenizer_free(tok);
    }
    /* test_basic_tokenizer_lower_strip_accents_false */
    tok = load_basic("{\"do_lower_case\": true, \"strip_accents\": false}");
    if (tok) {
        CHECK_TOKENS(tok, hallo, "h\xc3\xa4llo ! how are you ?");
        CHECK_TOKENS(tok, "H\xc3\xa9llo", "h\xc3\xa9llo");
        scivec_tokenizer_free(tok);
    }
    /* test_basic_tokenizer_lower_strip_accents_true */
    tok = load_basic("{\"do_lower_case\": true, \"strip_accents\": true}");
    if (tok) {
        CHECK_TOKENS(tok, hallo, "hallo ! how are you ?");
        CHECK_TOKENS(tok, "H\xc3\xa9llo", "hello");
        scivec_tokenizer_free(tok);
    }
    /* test_basic_tokenizer_no_lower */
    tok = load_basic("{\"do_lower_case\": false}");
    if (tok) {
        CHECK_TOKENS(tok, hello, "HeLLo ! how Are yoU ?");
        /* test_basic_tokenizer_no_lower_strip_accents_false (null follows lowercase) */
        CHECK_TOKENS(tok, hallo, "H\xc3\xa4LLo ! how Are yoU ?");
        /* test_basic_tokenizer_respects_never_split_tokens: [UNK] is special */
        CHECK_TOKENS(tok, " \tHeLLo!how  \n Are yoU? [UNK]", "HeLLo ! how Are yoU ? [UNK]");
        scivec_tokenizer_free(tok);
    }
    /* test_basic_tokenizer_no_lower_strip_accents_true */
    tok = load_basic("{\"do_lower_case\": false, \"strip_accents\": true}");
    if (tok) {
        CHECK_TOKENS(tok, hallo, "HaLLo ! how Are yoU ?");
        scivec_tokenizer_free(tok);
    }
    /* tokenize_chinese_chars false: the ideographs stay inside the word */
    tok = load_basic("{\"do_lower_case\": true, \"tokenize_chinese_chars\": false}");
    if (tok) {
        CHECK_TOKENS(tok, "ah\xe5\x8d\x9a\xe6\x8e\xa8zz", "[UNK]");
        scivec_tokenizer_free(tok);
    }
}

static void test_wordpiece(void) {
    /* test_wordpiece_tokenizer (both suites) */
    char dir[256];
    if (!make_temp_dir(dir, sizeof dir, "tokwp")) {
        CHECK(0, "mkdtemp");
        return;
    }
    write_text_file(dir, "vocab.txt",
                    "[UNK]\n[CLS]\n[SEP]\nwant\n##want\n##ed\nwa\nun\nrunn\n##ing\n,\n");
    scivec_tokenizer *tok = NULL;
    CHECK(scivec_tokenizer_load(dir, &tok) == SCIVEC_OK, "load: %s", scivec_last_error());
    remove_temp_dir(dir);
    if (!tok) return;
    CHECK_TOKENS(tok, "", "");
    CHECK_TOKENS(tok, "unwanted running", "un ##want ##ed runn ##ing");
    CHECK_TOKENS(tok, "unwantedX running", "[UNK] runn ##ing");
    /* google test_full_tokenizer: ids [7, 4, 5, 10, 8, 9] */
    scivec_encoding enc;
    const char *text = "UNwant\xc3\xa9"
                       "d,running";
    CHECK(scivec_tokenize(tok, text, strlen(text), NULL, 0, 0, &enc) == SCIVEC_OK, "tokenize");
    static const int32_t want_ids[] = {1, 7, 4, 5, 10, 8, 9, 2};
    CHECK(enc.n_tokens == 8, "n_tokens %d", enc.n_tokens);
    for (int i = 0; i < 8 && i < enc.n_tokens; i++)
        CHECK(enc.input_ids[i] == want_ids[i], "id %d: %d != %d", i, enc.input_ids[i], want_ids[i]);
    scivec_encoding_clear(&enc);
    CHECK(scivec_tokenizer_vocab_size(tok) == 11, "vocab size");
    CHECK(!strcmp(scivec_tokenizer_id_to_token(tok, 4), "##want"), "id_to_token");
    CHECK(scivec_tokenizer_id_to_token(tok, 11) == NULL, "id_to_token out of range");
    CHECK(scivec_tokenizer_id_to_token(tok, -1) == NULL, "id_to_token negative");
    scivec_tokenizer_free(tok);

    /* HF test_full_tokenizer and test_clean_text with their setUp vocab */
    if (!make_temp_dir(dir, sizeof dir, "tokwp2")) {
        CHECK(0, "mkdtemp");
        return;
    }
    write_text_file(dir, "vocab.txt",
                    "[UNK]\n[CLS]\n[SEP]\n[PAD]\n[MASK]\nwant\n##want\n##ed\nwa\nun\nrunn\n##ing\n,"
                    "\nlow\nlowest\n");
    CHECK(scivec_tokenizer_load(dir, &tok) == SCIVEC_OK, "load: %s", scivec_last_error());
    remove_temp_dir(dir);
    if (!tok) return;
    CHECK_TOKENS(tok,
                 "UNwant\xc3\xa9"
                 "d,running",
                 "un ##want ##ed , runn ##ing");
    CHECK_TOKENS(tok, "Test", "[UNK]");
    CHECK_TOKENS(tok, "\xc2\xad", ""); /* soft hyphen is Cf: dropped */
    CHECK_TOKENS(tok, "test", "[UNK]");
    CHECK_TOKENS(tok, "lowest low", "lowest low");
    scivec_tokenizer_free(tok);
}

static void test_max_input_chars_per_word(void) {
    char dir[256];
    if (!make_temp_dir(dir, sizeof dir, "toklong")) {
        CHECK(0, "mkdtemp");
        return;
    }
    write_text_file(dir, "vocab.txt", "[UNK]\n[CLS]\n[SEP]\na\n##a\n");
    scivec_tokenizer *tok = NULL;
    CHECK(scivec_tokenizer_load(dir, &tok) == SCIVEC_OK, "load: %s", scivec_last_error());
    remove_temp_dir(dir);
    if (!tok) return;
    char word[128];
    memset(word, 'a', 100);
    word[100] = '\0';
    scivec_encoding enc;
    CHECK(scivec_tokenize(tok, word, 100, NULL, 0, 0, &enc) == 0 && enc.n_tokens == 102,
          "100 chars: %d tokens", enc.n_tokens);
    scivec_encoding_clear(&enc);
    memset(word, 'a', 101);
    word[101] = '\0';
    CHECK_TOKENS(tok, word, "[UNK]");
    scivec_tokenizer_free(tok);
}

static void test_character_classes(void) {
    /* test_is_whitespace */
    CHECK(sv_is_whitespace(' ') && sv_is_whitespace('\t') && sv_is_whitespace('\r') &&
              sv_is_whitespace('\n') && sv_is_whitespace(0xA0),
          "whitespace");
    CHECK(!sv_is_whitespace('A') && !sv_is_whitespace('-'), "not whitespace");
    /* test_is_control */
    CHECK(sv_is_control(0x05), "U+0005 is control");
    CHECK(!sv_is_control('A') && !sv_is_control(' ') && !sv_is_control('\t') &&
              !sv_is_control('\r'),
          "not control");
    CHECK(!sv_is_control(0x1F4A9), "U+1F4A9 is not control");
    CHECK(sv_is_control(0xAD) && sv_is_control(0x200B) && sv_is_control(0xE000),
          "Cf and Co are control");
    CHECK(!sv_is_control(0x1D549), "unassigned is not control (fast tokenizer)");
    /* test_is_punctuation */
    CHECK(sv_is_punctuation('-') && sv_is_punctuation('$') && sv_is_punctuation('`') &&
              sv_is_punctuation('.'),
          "punctuation");
    CHECK(!sv_is_punctuation('A') && !sv_is_punctuation(' '), "not punctuation");
    CHECK(sv_is_punctuation(0x201C) && sv_is_punctuation(0x2014) && !sv_is_punctuation(0x221E),
          "unicode punctuation P* only");
    CHECK(sv_is_chinese_char(0x535A) && sv_is_chinese_char(0x20000) &&
              !sv_is_chinese_char(0x3042) && !sv_is_chinese_char(0xAC00),
          "CJK ranges");
}

static void test_utf8_decode(void) {
    /* Python: b"caf\xc3 \xe2\x82x\xed\xa0\x80\xf0\x9f\x98\x80".decode("utf-8", "replace") */
    const char *s = "caf\xc3 \xe2\x82x\xed\xa0\x80\xf0\x9f\x98\x80";
    static const uint32_t want[] = {'c', 'a',    'f',    0xFFFD, ' ',    0xFFFD,
                                    'x', 0xFFFD, 0xFFFD, 0xFFFD, 0x1F600};
    size_t pos = 0, len = strlen(s), n = 0;
    int n_invalid = 0, ok = 1;
    while (pos < len) {
        int invalid;
        uint32_t cp = sv_utf8_decode(s, len, &pos, &invalid);
        n_invalid += invalid;
        ok &= n < sizeof want / sizeof want[0] && cp == want[n];
        n++;
    }
    CHECK(ok && n == sizeof want / sizeof want[0], "decoded %zu code points", n);
    CHECK(n_invalid == 5, "invalid %d", n_invalid);
}

int main(void) {
    test_basic_tokenizer();
    test_wordpiece();
    test_max_input_chars_per_word();
    test_character_classes();
    test_utf8_decode();
    return check_report();
}
