/*
 * cmd_tokenize.c - `scivec tokenize --model DIR [--max-length N]`: JSON Lines
 * on stdin, {"text": ...} or {"text": ..., "text_pair": ...}, to one line of
 * {"input_ids", "token_type_ids", "attention_mask"} per input, as HF's
 * tokenizer(text, text_pair, truncation=True, max_length=N) returns them.
 * Stops at the first bad line (output lines stay aligned with input lines)
 * with a message naming it, exit status 1.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "../src/hub/model_dir.h"
#include "../src/core/error.h"
#include "../src/corpus/jsonl.h"
#include "scivec.h"

static const char usage[] =
    "usage: scivec tokenize --model DIR [--max-length N]\n"
    "  reads JSON Lines on stdin: {\"text\": ...} or {\"text\": ..., \"text_pair\": ...}\n"
    "  writes one line per input: {\"input_ids\": [...], \"token_type_ids\": [...],\n"
    "  \"attention_mask\": [...]}\n"
    "  --model DIR       model directory (or ORG/NAME in the HF cache)\n"
    "  --max-length N    truncate to N tokens including [CLS]/[SEP] (default 512, 0 = never)\n";

static void write_int_array(FILE *out, const char *key, const int32_t *values, int n,
                            int constant) {
    fprintf(out, "\"%s\": [", key);
    for (int i = 0; i < n; i++) {
        char buf[16];
        int v = values ? values[i] : constant;
        int len = 0;
        if (i) buf[len++] = ',', buf[len++] = ' ';
        len += snprintf(buf + len, sizeof buf - len, "%d", v);
        fwrite(buf, 1, (size_t)len, out);
    }
    fputc(']', out);
}

static int parse_max_length(const char *s, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > INT_MAX) return -1;
    *out = (int)v;
    return 0;
}

int cmd_tokenize(int argc, char **argv) {
    const char *model = NULL;
    int max_length = 512;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--model") && i + 1 < argc) {
            model = argv[++i];
        } else if (!strcmp(argv[i], "--max-length") && i + 1 < argc) {
            if (parse_max_length(argv[++i], &max_length)) {
                fprintf(stderr, "scivec tokenize: --max-length wants a whole number >= 0, got '%s'\n",
                        argv[i]);
                return 2;
            }
        } else {
            fprintf(stderr, "scivec tokenize: unexpected argument '%s'\n%s", argv[i], usage);
            return 2;
        }
    }
    if (!model) {
        fprintf(stderr, "scivec tokenize: --model is required\n%s", usage);
        return 2;
    }

    char *dir = NULL;
    scivec_tokenizer *tok = NULL;
    if (sv_resolve_model_dir(model, &dir) || scivec_tokenizer_load(dir, &tok)) {
        free(dir);
        return cli_fail("tokenize");
    }
    free(dir);
    if (scivec_tokenizer_warning(tok))
        fprintf(stderr, "scivec tokenize: warning: %s\n", scivec_tokenizer_warning(tok));

    sv_jsonl *in = NULL;
    if (sv_jsonl_open(NULL, &in)) {
        scivec_tokenizer_free(tok);
        return cli_fail("tokenize");
    }
    int failed = 0;
    for (;;) {
        cJSON *obj = NULL;
        int got = sv_jsonl_next(in, &obj);
        if (got == 0) break;
        if (got < 0) { failed = cli_fail("tokenize"); break; }
        const char *text = NULL, *pair = NULL;
        int status = sv_json_get_string(obj, "text", &text);
        if (!status) status = sv_json_get_string(obj, "text_pair", &pair);
        if (!status && !text)
            status = sv_error(SCIVEC_EFORMAT, "no \"text\" string");
        scivec_encoding enc;
        if (!status)
            status = scivec_tokenize(tok, text, strlen(text), pair, pair ? strlen(pair) : 0,
                                     max_length, &enc);
        cJSON_Delete(obj);
        if (status) {
            sv_error_prefix(status, "%s:%ld", sv_jsonl_path(in), sv_jsonl_line(in));
            failed = cli_fail("tokenize");
            break;
        }
        fputc('{', stdout);
        write_int_array(stdout, "input_ids", enc.input_ids, enc.n_tokens, 0);
        fputs(", ", stdout);
        write_int_array(stdout, "token_type_ids", enc.token_type_ids, enc.n_tokens, 0);
        fputs(", ", stdout);
        write_int_array(stdout, "attention_mask", NULL, enc.n_tokens, 1);
        fputs("}\n", stdout);
        scivec_encoding_clear(&enc);
    }
    sv_jsonl_close(in);
    scivec_tokenizer_free(tok);
    if (fflush(stdout) || ferror(stdout)) {
        fprintf(stderr, "scivec tokenize: error writing stdout\n");
        return 1;
    }
    return failed;
}
