/*
 * tokenizer.c - text -> BERT input ids, as HF's BertTokenizerFast (the Rust
 * tokenizers pipeline):
 *
 *   1. split the raw text on added/special tokens ("[SEP]" stays one token)
 *   2. normalize each piece: clean text, pad CJK ideographs, NFD + drop Mn
 *      (strip accents), lowercase
 *   3. pre-tokenize: split on whitespace, isolate punctuation
 *   4. WordPiece each word
 *   5. truncate (longest_first for pairs) and add [CLS] a [SEP] (b [SEP])
 *
 * Steps 2-4 stream one code point at a time into a word buffer, so a text is
 * one pass with no per-character allocation.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "text/normalize.h"
#include "text/tokenizer.h"
#include "text/wordpiece.h"

/* Per-call working state: the tokenizer itself stays read-only. */
typedef struct encode_state {
    const scivec_tokenizer *tok;
    sv_bytes word; /* UTF-8 bytes of the word being built        */
    size_t word_chars;
    int word_class;   /* Whitespace pre-tokenizer: 1 \w run, 2 other */
    sv_bytes scratch; /* WordPiece working memory                   */
    sv_ids *out;
    int n_invalid_utf8;
    int collect;         /* 1: normalized text goes to `normalized`     */
    sv_bytes normalized; /* the normalized piece, when collecting       */
} encode_state;

static int flush_word(encode_state *st) {
    if (st->word.n == 0) return SCIVEC_OK;
    int status =
        sv_wordpiece(st->tok, st->word.data, st->word.n, st->word_chars, &st->scratch, st->out);
    st->word.n = 0;
    st->word_chars = 0;
    return status;
}

static int append_char(encode_state *st, uint32_t cp) {
    if (st->word.n + 4 > st->word.cap) {
        int status = sv_bytes_reserve(&st->word, st->word.n + 4);
        if (status) return status;
    }
    st->word.n += (size_t)sv_utf8_encode(cp, st->word.data + st->word.n);
    st->word_chars++;
    return SCIVEC_OK;
}

/* Step 3: one normalized code point into the pre-tokenizer. */
static int pretokenize_char(encode_state *st, uint32_t cp) {
    int status;
    switch (st->tok->pretok) {
        case SV_PRETOK_BERT:
            if (sv_is_white_space_prop(cp)) return flush_word(st);
            if (sv_is_punctuation(cp)) {
                if ((status = flush_word(st)) || (status = append_char(st, cp))) return status;
                return flush_word(st);
            }
            return append_char(st, cp);
        case SV_PRETOK_WHITESPACE: { /* \w+|[^\w\s]+ */
            if (sv_is_white_space_prop(cp)) {
                st->word_class = 0;
                return flush_word(st);
            }
            int cls = sv_is_word_char(cp) ? 1 : 2;
            if (cls != st->word_class && (status = flush_word(st))) return status;
            st->word_class = cls;
            return append_char(st, cp);
        }
        case SV_PRETOK_WHITESPACE_SPLIT:
            if (sv_is_white_space_prop(cp)) return flush_word(st);
            return append_char(st, cp);
    }
    return SCIVEC_OK;
}

/* The end of step 2: a normalized code point goes to the pre-tokenizer, or
 * into a buffer when normalized added tokens must be matched first. */
static int emit_normalized(encode_state *st, uint32_t cp) {
    if (!st->collect) return pretokenize_char(st, cp);
    int status = sv_bytes_reserve(&st->normalized, st->normalized.n + 4);
    if (status) return status;
    st->normalized.n += (size_t)sv_utf8_encode(cp, st->normalized.data + st->normalized.n);
    return SCIVEC_OK;
}

/* Step 2 after CJK padding: accents, lowercase, marks. */
static int normalize_tail(encode_state *st, uint32_t cp) {
    const scivec_tokenizer *tok = st->tok;
    uint32_t decomposed[SV_NFD_MAX];
    int n = 1;
    decomposed[0] = cp;
    if ((tok->strip_accents || tok->nfd) && cp >= 0xC0) n = sv_nfd(cp, decomposed);
    for (int i = 0; i < n; i++) {
        uint32_t c = decomposed[i];
        if (tok->strip_accents && sv_is_nonspacing_mark(c)) continue;
        uint32_t lower[2];
        int n_lower = 1;
        lower[0] = c;
        if (tok->lowercase) n_lower = sv_lowercase(c, lower);
        for (int j = 0; j < n_lower; j++) {
            if (tok->strip_marks && sv_is_mark(lower[j])) continue;
            int status = emit_normalized(st, lower[j]);
            if (status) return status;
        }
    }
    return SCIVEC_OK;
}

/* Step 2: one decoded code point of the raw text. */
static int normalize_char(encode_state *st, uint32_t cp) {
    const scivec_tokenizer *tok = st->tok;
    if (tok->clean_text) {
        if (cp == 0 || cp == SV_REPLACEMENT_CHAR || sv_is_control(cp)) return SCIVEC_OK;
        if (sv_is_whitespace(cp)) cp = ' ';
    }
    if (tok->handle_chinese && cp >= 0x3400 && sv_is_chinese_char(cp)) {
        int status;
        if ((status = emit_normalized(st, ' ')) || (status = normalize_tail(st, cp))) return status;
        return emit_normalized(st, ' ');
    }
    return normalize_tail(st, cp);
}

/* Step 2 (and 3-4 unless collecting) over a piece of raw text. */
static int normalize_piece(encode_state *st, const char *text, size_t len) {
    const int ascii_fast = st->tok->clean_text && st->tok->pretok == SV_PRETOK_BERT && !st->collect;
    size_t pos = 0;
    st->word_class = 0;
    while (pos < len) {
        unsigned char b = (unsigned char)text[pos];
        int status;
        if (b < 0x80 && ascii_fast) {
            /* The common case, with the rules of the slow path inlined:
             * controls dropped, whitespace splits, punctuation isolated. */
            pos++;
            if (b == ' ' || b == '\t' || b == '\n' || b == '\r') {
                status = flush_word(st);
            } else if (b < 0x20 || b == 0x7F) {
                continue;
            } else if ((b >= '0' && b <= '9') || (b >= 'a' && b <= 'z')) {
                status = append_char(st, b);
            } else if (b >= 'A' && b <= 'Z') {
                status = append_char(st, st->tok->lowercase ? b + 32u : b);
            } else {
                status = pretokenize_char(st, b);
            }
        } else {
            int invalid;
            uint32_t cp = sv_utf8_decode(text, len, &pos, &invalid);
            st->n_invalid_utf8 += invalid;
            status = normalize_char(st, cp);
        }
        if (status) return status;
    }
    return st->collect ? SCIVEC_OK : flush_word(st);
}

/* The added token of the given kind (raw or normalized) starting at text,
 * the longest one, or NULL. */
static const sv_added_token *match_added(const scivec_tokenizer *tok, const char *text, size_t len,
                                         int normalized) {
    for (int i = 0; i < tok->n_added; i++) { /* sorted longest first */
        const sv_added_token *t = &tok->added[i];
        if (t->normalized == normalized && t->len > 0 && t->len <= len &&
            !memcmp(t->content, text, t->len))
            return t;
    }
    return NULL;
}

/* Pre-tokenizes (3-4) already normalized UTF-8 text. */
static int pretokenize_text(encode_state *st, const char *text, size_t len) {
    size_t pos = 0;
    st->word_class = 0;
    while (pos < len) {
        int invalid;
        uint32_t cp = sv_utf8_decode(text, len, &pos, &invalid);
        int status = pretokenize_char(st, cp);
        if (status) return status;
    }
    return flush_word(st);
}

/* Steps 2-4 over a piece of raw text that holds no raw-matched added token. */
static int encode_piece(encode_state *st, const char *text, size_t len) {
    const scivec_tokenizer *tok = st->tok;
    if (tok->n_normalized_added == 0) return normalize_piece(st, text, len);

    /* Normalize the whole piece, then split it on the normalized added
     * tokens, as Rust's AddedVocabulary does. */
    st->collect = 1;
    st->normalized.n = 0;
    int status = normalize_piece(st, text, len);
    st->collect = 0;
    if (status) return status;
    const char *norm = st->normalized.data;
    size_t n_norm = st->normalized.n, start = 0, pos = 0;
    if (n_norm == 0) return SCIVEC_OK; /* nothing collected: data may still be NULL */
    while (pos < n_norm) {
        const sv_added_token *match = NULL;
        if (tok->added_first_byte[(unsigned char)norm[pos]] & 2)
            match = match_added(tok, norm + pos, n_norm - pos, 1);
        if (!match) {
            pos++;
            continue;
        }
        if ((status = pretokenize_text(st, norm + start, pos - start))) return status;
        if ((status = sv_ids_push(st->out, match->id))) return status;
        pos += match->len;
        start = pos;
    }
    return pretokenize_text(st, norm + start, n_norm - start);
}

/* Step 1, then 2-4 on the pieces between added tokens. */
static int encode_text(encode_state *st, const char *text, size_t len) {
    const scivec_tokenizer *tok = st->tok;
    size_t piece_start = 0, pos = 0;
    int status;
    while (pos < len) {
        const sv_added_token *match = NULL;
        if (tok->added_first_byte[(unsigned char)text[pos]] & 1)
            match = match_added(tok, text + pos, len - pos, 0);
        if (!match) {
            pos++;
            continue;
        }
        if ((status = encode_piece(st, text + piece_start, pos - piece_start))) return status;
        if ((status = sv_ids_push(st->out, match->id))) return status;
        pos += match->len;
        piece_start = pos;
    }
    return encode_piece(st, text + piece_start, len - piece_start);
}

/* Rust tokenizers' TruncationStrategy::LongestFirst for a pair, which the
 * fast tokenizer uses (the slow one removes tokens one at a time and can
 * differ by one): the shorter sequence keeps what it can, and when both must
 * be cut they get max/2 and max/2 + max%2, the shorter (or, when equal, the
 * first) the smaller share. */
static void truncate_longest_first(size_t *n_a, size_t *n_b, size_t budget) {
    size_t n1 = *n_a, n2 = *n_b;
    int swapped = 0;
    if (n1 > n2) {
        size_t t = n1;
        n1 = n2;
        n2 = t;
        swapped = 1;
    }
    if (n1 > budget)
        n2 = n1;
    else
        n2 = n1 > budget - n1 ? n1 : budget - n1;
    if (n1 + n2 > budget) {
        n1 = budget / 2;
        n2 = n1 + budget % 2;
    }
    if (swapped) {
        size_t t = n1;
        n1 = n2;
        n2 = t;
    }
    if (n1 < *n_a) *n_a = n1;
    if (n2 < *n_b) *n_b = n2;
}

int scivec_tokenize(const scivec_tokenizer *tok, const char *text, size_t text_len,
                    const char *pair, size_t pair_len, int max_length, scivec_encoding *out) {
    if (!out) return sv_error(SCIVEC_EINVAL, "scivec_tokenize: out is NULL");
    memset(out, 0, sizeof *out);
    if (!tok) return sv_error(SCIVEC_EINVAL, "scivec_tokenize: tokenizer is NULL");
    if (!text && text_len) return sv_error(SCIVEC_EINVAL, "scivec_tokenize: text is NULL");
    if (!pair) pair_len = 0;
    const size_t n_special = pair ? 3 : 2;
    if (max_length > 0 && (size_t)max_length < n_special)
        return sv_error(SCIVEC_EINVAL,
                        "scivec_tokenize: max_length %d leaves no room for "
                        "the %zu special tokens",
                        max_length, n_special);

    sv_ids ids_a = {0}, ids_b = {0};
    encode_state st = {.tok = tok, .out = &ids_a};
    int status = encode_text(&st, text ? text : "", text_len);
    if (!status && pair) {
        st.out = &ids_b;
        status = encode_text(&st, pair, pair_len);
    }
    sv_bytes_free(&st.word);
    sv_bytes_free(&st.scratch);
    sv_bytes_free(&st.normalized);

    size_t n_a = ids_a.n, n_b = ids_b.n;
    size_t n_untruncated = n_a + n_b + n_special;
    if (!status && n_untruncated > INT_MAX)
        status =
            sv_error(SCIVEC_ETOOLONG, "scivec_tokenize: text gives more than %d tokens", INT_MAX);
    if (!status && max_length > 0 && n_untruncated > (size_t)max_length) {
        size_t budget = (size_t)max_length - n_special;
        if (pair)
            truncate_longest_first(&n_a, &n_b, budget);
        else
            n_a = budget;
    }
    size_t n = n_a + n_b + n_special;
    if (!status) {
        out->input_ids = malloc(n * sizeof *out->input_ids);
        out->token_type_ids = malloc(n * sizeof *out->token_type_ids);
        if (!out->input_ids || !out->token_type_ids)
            status = sv_error(SCIVEC_ENOMEM, "scivec_tokenize: out of memory");
    }
    if (!status) {
        int32_t *ids = out->input_ids, *types = out->token_type_ids;
        size_t k = 0;
        ids[k] = tok->cls_id;
        types[k++] = 0;
        for (size_t i = 0; i < n_a; i++) {
            ids[k] = ids_a.data[i];
            types[k++] = 0;
        }
        ids[k] = tok->sep_id;
        types[k++] = 0;
        if (pair) {
            for (size_t i = 0; i < n_b; i++) {
                ids[k] = ids_b.data[i];
                types[k++] = 1;
            }
            ids[k] = tok->sep_id;
            types[k++] = 1;
        }
        out->n_tokens = (int)n;
        out->n_tokens_untruncated = (int)n_untruncated;
        out->n_invalid_utf8 = st.n_invalid_utf8;
    } else {
        scivec_encoding_clear(out);
    }
    sv_ids_free(&ids_a);
    sv_ids_free(&ids_b);
    return status;
}

void scivec_encoding_clear(scivec_encoding *enc) {
    if (!enc) return;
    free(enc->input_ids);
    free(enc->token_type_ids);
    memset(enc, 0, sizeof *enc);
}

/* The normalizer alone over text (for added tokens marked `normalized`,
 * which match the normalized text): a new NUL-terminated string in *out. */
int sv_tokenizer_normalize(const scivec_tokenizer *tok, const char *text, size_t len, char **out,
                           size_t *out_len) {
    encode_state st = {.tok = tok, .collect = 1};
    int status = normalize_piece(&st, text, len);
    sv_bytes_free(&st.word);
    /* NUL-terminated: scivec_tokenizer_id_to_token may return it */
    if (!status) status = sv_bytes_reserve(&st.normalized, st.normalized.n + 1);
    if (status) {
        sv_bytes_free(&st.normalized);
        return status;
    }
    st.normalized.data[st.normalized.n] = '\0';
    *out = st.normalized.data;
    *out_len = st.normalized.n;
    return SCIVEC_OK;
}

const char *scivec_tokenizer_warning(const scivec_tokenizer *tok) {
    return tok ? tok->warning : NULL;
}

int scivec_tokenizer_vocab_size(const scivec_tokenizer *tok) {
    if (!tok) return 0;
    int n = tok->vocab.n_ids;
    for (int i = 0; i < tok->n_added; i++)
        if (tok->added[i].id >= n) n = tok->added[i].id + 1;
    return n;
}

int scivec_tokenizer_model_max_length(const scivec_tokenizer *tok) {
    return tok ? tok->model_max_length : 0;
}

const char *scivec_tokenizer_id_to_token(const scivec_tokenizer *tok, int32_t id) {
    if (!tok || id < 0) return NULL;
    if (id < tok->vocab.n_ids && tok->vocab.id_token[id]) return tok->vocab.id_token[id];
    for (int i = 0; i < tok->n_added; i++)
        if (tok->added[i].id == id) return tok->added[i].content;
    return NULL;
}
