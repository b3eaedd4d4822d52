/*
 * tokenizer_load.c - reads a model directory's tokenizer files into a
 * scivec_tokenizer, following what transformers' AutoTokenizer would build
 * (BertTokenizerFast):
 *
 *   tokenizer_config.json   do_lower_case, strip_accents,
 *                           tokenize_chinese_chars, model_max_length, special
 *                           tokens, added_tokens_decoder
 *   special_tokens_map.json special tokens (overrides the config, as HF)
 *   tokenizer.json          normalizer, pre_tokenizer, WordPiece model and
 *                           vocab, post_processor, added_tokens
 *   vocab.txt               the vocab when tokenizer.json has none
 *   added_tokens.json       {"token": id} of old save_pretrained layouts
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <utf8proc.h>

#include "core/error.h"
#include "core/files.h"
#include "core/json.h"
#include "text/tokenizer.h"
#include "text/vocab.h"

/* The special tokens of a BERT tokenizer, by role. */
enum { SPECIAL_UNK, SPECIAL_SEP, SPECIAL_PAD, SPECIAL_CLS, SPECIAL_MASK, N_SPECIAL };
static const char *const special_keys[N_SPECIAL] = {"unk_token", "sep_token", "pad_token",
                                                    "cls_token", "mask_token"};
static const char *const special_defaults[N_SPECIAL] = {"[UNK]", "[SEP]", "[PAD]", "[CLS]",
                                                        "[MASK]"};

/* Everything read from the files before it is resolved against the vocab. */
typedef struct tok_settings {
    char *special[N_SPECIAL]; /* token strings, owned              */
    int has_config;           /* tokenizer_config.json was there   */
    int do_lower_case;        /* config values, HF defaults        */
    int strip_accents;        /* -1 = null: follow lowercase       */
    int tokenize_chinese_chars;
    int bert_class; /* tokenizer_class is Bert* or absent */
    /* added tokens from any file: content and id (-1 = look up in vocab) */
    char **added;
    int32_t *added_ids;
    uint8_t *added_normalized; /* matched in the normalized text    */
    int n_added, cap_added;
} tok_settings;

static void settings_free(tok_settings *s) {
    for (int i = 0; i < N_SPECIAL; i++) free(s->special[i]);
    for (int i = 0; i < s->n_added; i++) free(s->added[i]);
    free(s->added);
    free(s->added_ids);
    free(s->added_normalized);
}

static int settings_add_token(tok_settings *s, const char *content, int32_t id, int normalized) {
    if (!content || !*content) return SCIVEC_OK;
    if (s->n_added == s->cap_added) {
        int cap = s->cap_added ? s->cap_added * 2 : 16;
        char **added = realloc(s->added, (size_t)cap * sizeof *added);
        if (!added) return sv_error(SCIVEC_ENOMEM, "tokenizer: out of memory");
        s->added = added;
        int32_t *ids = realloc(s->added_ids, (size_t)cap * sizeof *ids);
        if (!ids) return sv_error(SCIVEC_ENOMEM, "tokenizer: out of memory");
        s->added_ids = ids;
        uint8_t *norm = realloc(s->added_normalized, (size_t)cap);
        if (!norm) return sv_error(SCIVEC_ENOMEM, "tokenizer: out of memory");
        s->added_normalized = norm;
        s->cap_added = cap;
    }
    char *copy = strdup(content);
    if (!copy) return sv_error(SCIVEC_ENOMEM, "tokenizer: out of memory");
    s->added[s->n_added] = copy;
    s->added_ids[s->n_added] = id;
    s->added_normalized[s->n_added] = (uint8_t)normalized;
    s->n_added++;
    return SCIVEC_OK;
}

/* A token given as "[CLS]" or as {"content": "[CLS]", ...} (AddedToken). */
static const char *token_content(const cJSON *item) {
    if (cJSON_IsString(item)) return item->valuestring;
    if (cJSON_IsObject(item)) {
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(item, "content");
        if (cJSON_IsString(content)) return content->valuestring;
    }
    return NULL;
}

/* Reads a bool member: 1/0, or `fallback` when absent or null. */
static int json_bool(const cJSON *obj, const char *key, int fallback) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (cJSON_IsBool(item)) return cJSON_IsTrue(item);
    return fallback;
}

/* An AddedToken's "normalized" flag; HF's default is "not special". */
static int added_normalized(const cJSON *item) {
    if (!cJSON_IsObject(item)) return 0;
    return json_bool(item, "normalized", !json_bool(item, "special", 0));
}

static int set_special(tok_settings *s, int role, const char *content) {
    if (!content) return SCIVEC_OK;
    char *copy = strdup(content);
    if (!copy) return sv_error(SCIVEC_ENOMEM, "tokenizer: out of memory");
    free(s->special[role]);
    s->special[role] = copy;
    return SCIVEC_OK;
}

/* Special tokens and additional_special_tokens of a config or a
 * special_tokens_map.json. */
static int read_special_tokens(const cJSON *json, tok_settings *s) {
    int status;
    for (int role = 0; role < N_SPECIAL; role++) {
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(json, special_keys[role]);
        if ((status = set_special(s, role, token_content(item)))) return status;
    }
    const cJSON *extra = cJSON_GetObjectItemCaseSensitive(json, "additional_special_tokens");
    const cJSON *item;
    if (!cJSON_IsArray(extra)) extra = NULL;
    cJSON_ArrayForEach(item, extra) if ((status = settings_add_token(s, token_content(item), -1,
                                                                     0))) return status;
    return SCIVEC_OK;
}

static int read_tokenizer_config(const char *path, tok_settings *s, int *model_max_length) {
    cJSON *json;
    int status = sv_json_read_object(path, &json);
    if (status) return status;
    s->has_config = 1;
    s->do_lower_case = json_bool(json, "do_lower_case", 1);
    const cJSON *strip = cJSON_GetObjectItemCaseSensitive(json, "strip_accents");
    s->strip_accents = cJSON_IsBool(strip) ? cJSON_IsTrue(strip) : -1;
    s->tokenize_chinese_chars = json_bool(json, "tokenize_chinese_chars", 1);

    const cJSON *cls = cJSON_GetObjectItemCaseSensitive(json, "tokenizer_class");
    if (cJSON_IsString(cls)) s->bert_class = !strncmp(cls->valuestring, "Bert", 4);

    /* 1e30 (SPECTER2) and other "no limit" values become INT32_MAX. */
    const cJSON *max_len = cJSON_GetObjectItemCaseSensitive(json, "model_max_length");
    if (!cJSON_IsNumber(max_len)) max_len = cJSON_GetObjectItemCaseSensitive(json, "max_len");
    if (cJSON_IsNumber(max_len) && isfinite(max_len->valuedouble) && max_len->valuedouble >= 1)
        *model_max_length =
            max_len->valuedouble >= (double)INT32_MAX ? INT32_MAX : (int)max_len->valuedouble;

    status = read_special_tokens(json, s);

    /* transformers >= 4.34: {"103": {"content": "[SEP]", ...}, ...} */
    const cJSON *decoder = cJSON_GetObjectItemCaseSensitive(json, "added_tokens_decoder");
    const cJSON *item;
    if (!cJSON_IsObject(decoder)) decoder = NULL;
    cJSON_ArrayForEach(item, decoder) {
        if (status) break;
        char *end;
        long id = item->string ? strtol(item->string, &end, 10) : -1;
        if (!item->string || *end || id < 0 || id > INT32_MAX) continue;
        status = settings_add_token(s, token_content(item), (int32_t)id, added_normalized(item));
    }
    cJSON_Delete(json);
    return status ? sv_error_prefix(status, "%s", path) : SCIVEC_OK;
}

static int read_special_tokens_map(const char *path, tok_settings *s) {
    cJSON *json;
    int status = sv_json_read_object(path, &json);
    if (status) return status;
    status = read_special_tokens(json, s);
    cJSON_Delete(json);
    return status;
}

static int read_added_tokens_json(const char *path, tok_settings *s) {
    cJSON *json;
    int status = sv_json_read_object(path, &json);
    if (status) return status;
    const cJSON *item;
    cJSON_ArrayForEach(item, json) {
        if (status) break;
        if (item->string && cJSON_IsNumber(item) && item->valuedouble >= 0 &&
            item->valuedouble <= INT32_MAX)
            status = settings_add_token(s, item->string, (int32_t)item->valuedouble, 1);
    }
    cJSON_Delete(json);
    return status;
}

/* One normalizer of tokenizer.json (possibly inside a Sequence). */
static int apply_normalizer(const cJSON *norm, const char *path, scivec_tokenizer *tok,
                            int *is_bert) {
    if (!norm || cJSON_IsNull(norm)) return SCIVEC_OK;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(norm, "type");
    if (!cJSON_IsString(type))
        return sv_error(SCIVEC_EFORMAT, "%s: normalizer without a type", path);
    const char *t = type->valuestring;
    if (!strcmp(t, "BertNormalizer")) {
        *is_bert = 1;
        tok->clean_text = json_bool(norm, "clean_text", 1);
        tok->handle_chinese = json_bool(norm, "handle_chinese_chars", 1);
        tok->lowercase = json_bool(norm, "lowercase", 1);
        tok->strip_accents = json_bool(norm, "strip_accents", tok->lowercase);
    } else if (!strcmp(t, "Lowercase")) {
        tok->lowercase = 1;
    } else if (!strcmp(t, "StripAccents")) {
        tok->strip_marks = 1;
    } else if (!strcmp(t, "NFD")) {
        tok->nfd = 1;
    } else if (!strcmp(t, "Sequence")) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(norm, "normalizers");
        const cJSON *item;
        if (!cJSON_IsArray(list)) list = NULL;
        cJSON_ArrayForEach(item, list) {
            int status = apply_normalizer(item, path, tok, is_bert);
            if (status) return status;
        }
    } else {
        return sv_error(SCIVEC_EUNSUPPORTED, "%s: normalizer type \"%s\" is not supported", path,
                        t);
    }
    return SCIVEC_OK;
}

static int apply_pre_tokenizer(const cJSON *pre, const char *path, scivec_tokenizer *tok) {
    if (!pre || cJSON_IsNull(pre))
        return sv_error(SCIVEC_EUNSUPPORTED,
                        "%s: a tokenizer without pre_tokenizer is not supported", path);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(pre, "type");
    const char *t = cJSON_IsString(type) ? type->valuestring : "";
    if (!strcmp(t, "BertPreTokenizer"))
        tok->pretok = SV_PRETOK_BERT;
    else if (!strcmp(t, "Whitespace"))
        tok->pretok = SV_PRETOK_WHITESPACE;
    else if (!strcmp(t, "WhitespaceSplit"))
        tok->pretok = SV_PRETOK_WHITESPACE_SPLIT;
    else
        return sv_error(SCIVEC_EUNSUPPORTED, "%s: pre_tokenizer type \"%s\" is not supported", path,
                        t);
    return SCIVEC_OK;
}

/* The [CLS]/[SEP] token names the post-processor uses (ids are resolved
 * against the vocab later, as HF checks they agree). */
static int read_post_processor(const cJSON *post, const char *path, tok_settings *s) {
    if (!post || cJSON_IsNull(post)) return SCIVEC_OK;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(post, "type");
    const char *t = cJSON_IsString(type) ? type->valuestring : "";
    int status = SCIVEC_OK;
    if (!strcmp(t, "BertProcessing")) {
        const cJSON *cls = cJSON_GetObjectItemCaseSensitive(post, "cls");
        const cJSON *sep = cJSON_GetObjectItemCaseSensitive(post, "sep");
        if (cJSON_IsArray(cls) && cJSON_IsString(cJSON_GetArrayItem(cls, 0)))
            status = set_special(s, SPECIAL_CLS, cJSON_GetArrayItem(cls, 0)->valuestring);
        if (!status && cJSON_IsArray(sep) && cJSON_IsString(cJSON_GetArrayItem(sep, 0)))
            status = set_special(s, SPECIAL_SEP, cJSON_GetArrayItem(sep, 0)->valuestring);
    } else if (!strcmp(t, "TemplateProcessing")) {
        /* "single": [{SpecialToken: CLS}, {Sequence: A}, {SpecialToken: SEP}] */
        const cJSON *single = cJSON_GetObjectItemCaseSensitive(post, "single");
        int n = cJSON_GetArraySize(single);
        const cJSON *first =
            cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(single, 0), "SpecialToken");
        const cJSON *last =
            cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(single, n - 1), "SpecialToken");
        const cJSON *first_id = cJSON_GetObjectItemCaseSensitive(first, "id");
        const cJSON *last_id = cJSON_GetObjectItemCaseSensitive(last, "id");
        if (n != 3 || !cJSON_IsString(first_id) || !cJSON_IsString(last_id))
            return sv_error(SCIVEC_EUNSUPPORTED,
                            "%s: only the [CLS] $A [SEP] post-processor template is supported",
                            path);
        status = set_special(s, SPECIAL_CLS, first_id->valuestring);
        if (!status) status = set_special(s, SPECIAL_SEP, last_id->valuestring);
    } else {
        return sv_error(SCIVEC_EUNSUPPORTED, "%s: post_processor type \"%s\" is not supported",
                        path, t);
    }
    return status;
}

static int read_tokenizer_json(const char *path, scivec_tokenizer *tok, tok_settings *s,
                               int *is_bert_normalizer) {
    cJSON *json;
    int status = sv_json_read_object(path, &json);
    if (status) return status;

    const cJSON *model = cJSON_GetObjectItemCaseSensitive(json, "model");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(model, "type");
    if (!cJSON_IsObject(model)) {
        status = sv_error(SCIVEC_EFORMAT, "%s: no \"model\" object", path);
    } else if (cJSON_IsString(type) && strcmp(type->valuestring, "WordPiece")) {
        status = sv_error(SCIVEC_EUNSUPPORTED, "%s: model type \"%s\" is not WordPiece", path,
                          type->valuestring);
    }
    if (!status) {
        const cJSON *unk = cJSON_GetObjectItemCaseSensitive(model, "unk_token");
        if (cJSON_IsString(unk)) status = set_special(s, SPECIAL_UNK, unk->valuestring);
        const cJSON *prefix = cJSON_GetObjectItemCaseSensitive(model, "continuing_subword_prefix");
        if (cJSON_IsString(prefix)) {
            size_t len = strlen(prefix->valuestring);
            if (len >= sizeof tok->subword_prefix)
                status = sv_error(SCIVEC_EFORMAT, "%s: continuing_subword_prefix too long", path);
            else {
                memcpy(tok->subword_prefix, prefix->valuestring, len + 1);
                tok->subword_prefix_len = len;
            }
        }
        const cJSON *max_chars =
            cJSON_GetObjectItemCaseSensitive(model, "max_input_chars_per_word");
        if (cJSON_IsNumber(max_chars))
            tok->max_input_chars_per_word = max_chars->valuedouble < 0 ? 0
                                            : max_chars->valuedouble > 1e9
                                                ? 1000000000
                                                : (int)max_chars->valuedouble;
    }
    if (!status)
        status =
            sv_vocab_from_json(cJSON_GetObjectItemCaseSensitive(model, "vocab"), path, &tok->vocab);
    if (!status) {
        /* The normalizer replaces the BertTokenizer defaults entirely. */
        tok->clean_text = tok->handle_chinese = tok->lowercase = tok->strip_accents = 0;
        status = apply_normalizer(cJSON_GetObjectItemCaseSensitive(json, "normalizer"), path, tok,
                                  is_bert_normalizer);
    }
    if (!status)
        status =
            apply_pre_tokenizer(cJSON_GetObjectItemCaseSensitive(json, "pre_tokenizer"), path, tok);
    if (!status)
        status =
            read_post_processor(cJSON_GetObjectItemCaseSensitive(json, "post_processor"), path, s);
    if (!status) {
        const cJSON *added = cJSON_GetObjectItemCaseSensitive(json, "added_tokens");
        const cJSON *item;
        if (!cJSON_IsArray(added)) added = NULL;
        cJSON_ArrayForEach(item, added) {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(item, "id");
            int32_t id_value =
                cJSON_IsNumber(id) && id->valuedouble >= 0 && id->valuedouble <= INT32_MAX
                    ? (int32_t)id->valuedouble
                    : -1;
            if ((status =
                     settings_add_token(s, token_content(item), id_value, added_normalized(item))))
                break;
        }
    }
    cJSON_Delete(json);
    return status;
}

/* A vocab "looks cased" when many entries hold uppercase letters; entries
 * like [CLS] or [unused1] do not count. */
static int vocab_looks_cased(const sv_vocab *v) {
    int n_upper = 0, n_words = 0;
    for (int id = 0; id < v->n_ids; id++) {
        const char *token = v->id_token[id];
        size_t len = v->id_len[id];
        if (!token || !len || (token[0] == '[' && token[len - 1] == ']') ||
            (token[0] == '<' && token[len - 1] == '>'))
            continue;
        n_words++;
        utf8proc_ssize_t pos = 0;
        while ((size_t)pos < len) {
            utf8proc_int32_t cp;
            utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)token + pos,
                                                  (utf8proc_ssize_t)(len - pos), &cp);
            if (n <= 0) break;
            utf8proc_category_t c = utf8proc_category(cp);
            if (c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LT) {
                n_upper++;
                break;
            }
            pos += n;
        }
    }
    return n_words > 0 && n_upper * 20 > n_words; /* over 5% */
}

static int name_looks_cased(const char *dir) {
    /* the last path component, ignoring trailing slashes */
    size_t end = strlen(dir);
    while (end > 1 && dir[end - 1] == '/') end--;
    size_t start = end;
    while (start > 0 && dir[start - 1] != '/') start--;
    char name[256];
    size_t len = end - start < sizeof name - 1 ? end - start : sizeof name - 1;
    for (size_t i = 0; i < len; i++) name[i] = (char)tolower((unsigned char)dir[start + i]);
    name[len] = '\0';
    const char *hit = name;
    while ((hit = strstr(hit, "cased"))) {
        if (hit < name + 2 || strncmp(hit - 2, "un", 2)) return 1;
        hit++;
    }
    return 0;
}

/* The tokens matched as a whole in the text: every special token and added
 * token that has an id (the first of a repeated content wins). */
static int cmp_added_longest_first(const void *a, const void *b) {
    const sv_added_token *x = a, *y = b;
    return x->len < y->len ? 1 : x->len > y->len ? -1 : 0;
}

static int prepare_added(scivec_tokenizer *tok) {
    tok->n_normalized_added = 0;
    memset(tok->added_first_byte, 0, sizeof tok->added_first_byte);
    for (int i = 0; i < tok->n_added; i++) {
        sv_added_token *t = &tok->added[i];
        if (t->normalized) {
            char *normalized;
            size_t len;
            int status = sv_tokenizer_normalize(tok, t->content, t->len, &normalized, &len);
            if (status) return status;
            free(t->content);
            t->content = normalized;
            t->len = len;
            if (t->len == 0) continue; /* normalized away: never matches */
            tok->n_normalized_added++;
        }
        tok->added_first_byte[(unsigned char)t->content[0]] |= t->normalized ? 2 : 1;
    }
    qsort(tok->added, (size_t)tok->n_added, sizeof *tok->added, cmp_added_longest_first);
    return SCIVEC_OK;
}

static int build_added_tokens(scivec_tokenizer *tok, tok_settings *s) {
    int n_max = s->n_added + N_SPECIAL;
    tok->added = calloc((size_t)n_max, sizeof *tok->added);
    if (!tok->added) return sv_error(SCIVEC_ENOMEM, "tokenizer: out of memory");
    for (int i = 0; i < n_max; i++) {
        const char *content = i < N_SPECIAL ? s->special[i] : s->added[i - N_SPECIAL];
        int32_t id = i < N_SPECIAL ? -1 : s->added_ids[i - N_SPECIAL];
        int normalized = i < N_SPECIAL ? 0 : s->added_normalized[i - N_SPECIAL];
        if (!content || !*content) continue;
        size_t len = strlen(content);
        if (id < 0) id = sv_vocab_find(&tok->vocab, content, len);
        if (id < 0) continue; /* HF would append it after the vocab; no model has such ids */
        int duplicate = 0;
        for (int j = 0; j < tok->n_added; j++)
            if (tok->added[j].len == len && !memcmp(tok->added[j].content, content, len))
                duplicate = 1;
        if (duplicate) continue;
        sv_added_token *t = &tok->added[tok->n_added];
        if (!(t->content = strdup(content)))
            return sv_error(SCIVEC_ENOMEM, "tokenizer: out of memory");
        t->len = len;
        t->id = id;
        t->normalized = normalized;
        tok->n_added++;
    }
    return prepare_added(tok);
}

static int resolve_required(const scivec_tokenizer *tok, const tok_settings *s, int role,
                            const char *dir, int32_t *id) {
    const char *name = s->special[role];
    *id = sv_vocab_find(&tok->vocab, name, strlen(name));
    if (*id < 0)
        return sv_error(SCIVEC_EFORMAT, "%s: %s \"%s\" is not in the vocabulary", dir,
                        special_keys[role], name);
    return SCIVEC_OK;
}

static int load_files(const char *dir, scivec_tokenizer *tok, tok_settings *s) {
    int status = SCIVEC_OK;
    char *config_path = sv_path_join(dir, "tokenizer_config.json");
    char *map_path = sv_path_join(dir, "special_tokens_map.json");
    char *json_path = sv_path_join(dir, "tokenizer.json");
    char *vocab_path = sv_path_join(dir, "vocab.txt");
    char *added_path = sv_path_join(dir, "added_tokens.json");
    if (!config_path || !map_path || !json_path || !vocab_path || !added_path) {
        status = sv_error(SCIVEC_ENOMEM, "tokenizer: out of memory");
        goto done;
    }

    if (sv_file_exists(config_path))
        status = read_tokenizer_config(config_path, s, &tok->model_max_length);
    if (!status && sv_file_exists(map_path)) status = read_special_tokens_map(map_path, s);
    if (!status && sv_file_exists(added_path)) status = read_added_tokens_json(added_path, s);
    if (status) goto done;

    if (sv_file_exists(json_path)) {
        int is_bert_normalizer = 0;
        status = read_tokenizer_json(json_path, tok, s, &is_bert_normalizer);
        if (status) goto done;
        /* BertTokenizerFast rebuilds a BertNormalizer from its init arguments
         * (config values, else its defaults) when they disagree. */
        if (is_bert_normalizer && s->bert_class) {
            tok->lowercase = s->do_lower_case;
            tok->strip_accents = s->strip_accents >= 0 ? s->strip_accents : s->do_lower_case;
            tok->handle_chinese = s->tokenize_chinese_chars;
        }
    } else if (sv_file_exists(vocab_path)) {
        status = sv_vocab_load_txt(vocab_path, &tok->vocab);
        if (status) goto done;
        tok->lowercase = s->do_lower_case;
        tok->strip_accents = s->strip_accents >= 0 ? s->strip_accents : s->do_lower_case;
        tok->handle_chinese = s->tokenize_chinese_chars;
    } else {
        status = sv_error(SCIVEC_ENOTFOUND, "%s: no vocab.txt or tokenizer.json", dir);
        goto done;
    }

    if ((status = resolve_required(tok, s, SPECIAL_UNK, dir, &tok->unk_id))) goto done;
    if ((status = resolve_required(tok, s, SPECIAL_CLS, dir, &tok->cls_id))) goto done;
    if ((status = resolve_required(tok, s, SPECIAL_SEP, dir, &tok->sep_id))) goto done;
    if ((status = build_added_tokens(tok, s))) goto done;

    if (!s->has_config && tok->lowercase &&
        (name_looks_cased(dir) || vocab_looks_cased(&tok->vocab))) {
        const char *msg = "no tokenizer_config.json: lowercasing as HF does by default, "
                          "but the model name or vocabulary looks cased";
        tok->warning = strdup(msg);
        if (!tok->warning) status = sv_error(SCIVEC_ENOMEM, "tokenizer: out of memory");
    }
done:
    free(config_path);
    free(map_path);
    free(json_path);
    free(vocab_path);
    free(added_path);
    return status;
}

static int load_dir(const char *dir, scivec_tokenizer *tok) {
    tok->clean_text = 1;
    tok->handle_chinese = 1;
    tok->lowercase = 1;
    tok->strip_accents = 1;
    tok->pretok = SV_PRETOK_BERT;
    memcpy(tok->subword_prefix, "##", 3);
    tok->subword_prefix_len = 2;
    tok->max_input_chars_per_word = 100;
    tok->model_max_length = INT32_MAX;

    tok_settings s = {0};
    s.do_lower_case = 1;
    s.strip_accents = -1;
    s.tokenize_chinese_chars = 1;
    s.bert_class = 1;
    int status = SCIVEC_OK;
    for (int role = 0; role < N_SPECIAL && !status; role++)
        status = set_special(&s, role, special_defaults[role]);
    if (!status) status = load_files(dir, tok, &s);
    settings_free(&s);
    return status;
}

int scivec_tokenizer_load(const char *model_dir, scivec_tokenizer **out) {
    if (!out) return sv_error(SCIVEC_EINVAL, "scivec_tokenizer_load: out is NULL");
    *out = NULL;
    if (!model_dir) return sv_error(SCIVEC_EINVAL, "scivec_tokenizer_load: model_dir is NULL");
    scivec_tokenizer *tok = calloc(1, sizeof *tok);
    if (!tok) return sv_error(SCIVEC_ENOMEM, "%s: out of memory", model_dir);
    int status = load_dir(model_dir, tok);
    if (status) {
        scivec_tokenizer_free(tok);
        return status;
    }
    *out = tok;
    return SCIVEC_OK;
}

void scivec_tokenizer_free(scivec_tokenizer *tok) {
    if (!tok) return;
    sv_vocab_free(&tok->vocab);
    for (int i = 0; i < tok->n_added; i++) free(tok->added[i].content);
    free(tok->added);
    free(tok->warning);
    free(tok);
}
