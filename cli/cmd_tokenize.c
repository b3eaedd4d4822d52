/*
 * cmd_tokenize.c - `scivec tokenize --model DIR [--max-length N]`: JSON Lines
 * on stdin, {"text": ...} or {"text": ..., "text_pair": ...}, to one line of
 * {"input_ids", "token_type_ids", "attention_mask"} per input, as HF's
 * tokenizer(text, text_pair, truncation=True, max_length=N) returns them.
 * Stops at the first bad line (output lines stay aligned with input lines)
 * with a message naming it, exit status 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "options.h"
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

enum { OPT_MODEL = 256, OPT_MAX_LENGTH };

static const struct option options[] = {
    {"help", no_argument, NULL, 'h'},
    {"model", required_argument, NULL, OPT_MODEL},
    {"max-length", required_argument, NULL, OPT_MAX_LENGTH},
    {NULL, 0, NULL, 0},
};

int cmd_tokenize(int argc, char **argv) {
    const char *model = NULL;
    int max_length = 512, c;
    cli_getopt_begin();
    while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
            case 'h': fputs(usage, stdout); return 0;
            case OPT_MODEL: model = optarg; break;
            case OPT_MAX_LENGTH:
                if (!cli_int_option("tokenize", "--max-length", optarg, 0, &max_length)) return 2;
                break;
            default:
                fprintf(stderr, "scivec tokenize: unexpected argument '%s'\n%s",
                        cli_bad_option(argv), usage);
                return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "scivec tokenize: unexpected argument '%s'\n%s", argv[optind], usage);
        return 2;
    }
    if (!model) {
        fprintf(stderr, "scivec tokenize: --model is required\n%s", usage);
        return 2;
    }

    char *dir = NULL;
    scivec_tokenizer *tok = NULL;
    scivec_text_reader *in = NULL;
    int failed = 0;
    if (scivec_model_resolve(model, 0, &dir) || scivec_tokenizer_load(dir, &tok)) {
        failed = cli_fail("tokenize");
        goto done;
    }
    if (scivec_tokenizer_warning(tok))
        fprintf(stderr, "scivec tokenize: warning: %s\n", scivec_tokenizer_warning(tok));
    if (scivec_text_reader_open(NULL, &in)) {
        failed = cli_fail("tokenize");
        goto done;
    }
    for (;;) {
        const char *text, *pair;
        int got = scivec_text_reader_next(in, &text, &pair);
        if (got == 0) break;
        if (got < 0) {
            failed = cli_fail("tokenize");
            break;
        }
        scivec_encoding enc;
        if (scivec_tokenize(tok, text, strlen(text), pair, pair ? strlen(pair) : 0, max_length,
                            &enc)) {
            fprintf(stderr, "scivec tokenize: %s:%ld: %s\n", scivec_text_reader_path(in),
                    scivec_text_reader_line(in), scivec_last_error());
            failed = 1;
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
done:
    scivec_text_reader_free(in);
    scivec_tokenizer_free(tok);
    scivec_free(dir);
    if (failed) return failed;
    if (fflush(stdout) || ferror(stdout)) {
        fprintf(stderr, "scivec tokenize: error writing stdout\n");
        return 1;
    }
    return 0;
}
