/*
 * cmd_encode.c - `scivec encode --model M --out FILE.npy`: JSON Lines texts on
 * stdin ({"text": ...}, optionally "text_pair") to a float32 .npy
 * [n_texts, hidden], row i = input line i (blank lines skipped).
 *
 * The library streams the rows (scivec_model_encode_jsonl: memory bounded by
 * one chunk, FILE.npy appears only when everything succeeded). stderr says
 * which pooling was used and why, and how many inputs were truncated.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "options.h"
#include "scivec.h"

static const char usage[] =
    "usage: scivec encode --model M --out FILE.npy [options] < texts.jsonl\n"
    "  reads JSON Lines on stdin: {\"text\": ...} or {\"text\": ..., \"text_pair\": ...}\n"
    "  writes a float32 .npy [n_texts, hidden] (row i = input i)\n"
    "  --model M            model directory, or ORG/NAME in the HF cache\n"
    "  --out FILE.npy       output file (written only if every input succeeds)\n"
    "  --pooling P          cls | mean | max | pooler | mean_sqrt_len_tokens |\n"
    "                       weightedmean | lasttoken (default: the model folder's\n"
    "                       sentence-transformers pooling, else mean)\n"
    "  --prompt NAME        put the folder's prompt NAME (config_sentence_transformers.json)\n"
    "                       before each text (default: its default_prompt_name; \"\" = none)\n"
    "  --normalize          L2-normalise every vector\n"
    "  --max-length N       truncate to N tokens incl. [CLS]/[SEP] (default: the\n"
    "                       model's maximum; never above max_position_embeddings)\n"
    "  --threads N          threads for the forward (default 0 = all cores)\n"
    "  --precision P        dense layers in fp32 (default), bf16 or int8 (docs/MODEL.md)\n"
    "  --batch-tokens N     tokens packed into one forward (default 8192)\n"
    "  --adapter A          run through an AdapterHub bottleneck adapter (a folder with\n"
    "                       adapter_config.json, or ORG/NAME), e.g. SPECTER2's\n"
    "                       allenai/specter2 (proximity); see docs/ADAPTERS.md\n";

static double seconds_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

enum {
    OPT_MODEL = 256,
    OPT_OUT,
    OPT_ADAPTER,
    OPT_POOLING,
    OPT_PROMPT,
    OPT_NORMALIZE,
    OPT_MAX_LENGTH,
    OPT_THREADS,
    OPT_BATCH_TOKENS,
    OPT_PRECISION,
};

static const struct option options[] = {
    {"help", no_argument, NULL, 'h'},
    {"model", required_argument, NULL, OPT_MODEL},
    {"out", required_argument, NULL, OPT_OUT},
    {"adapter", required_argument, NULL, OPT_ADAPTER},
    {"pooling", required_argument, NULL, OPT_POOLING},
    {"prompt", required_argument, NULL, OPT_PROMPT},
    {"normalize", no_argument, NULL, OPT_NORMALIZE},
    {"max-length", required_argument, NULL, OPT_MAX_LENGTH},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"batch-tokens", required_argument, NULL, OPT_BATCH_TOKENS},
    {"precision", required_argument, NULL, OPT_PRECISION},
    {NULL, 0, NULL, 0},
};

int cmd_encode(int argc, char **argv) {
    const char *model_name = NULL, *out_path = NULL, *pooling_name = NULL;
    const char *adapter_name = NULL;
    scivec_model_params mp = scivec_model_default_params();
    scivec_encode_params ep = scivec_encode_default_params();
    int batch_tokens = SCIVEC_DEFAULT_BATCH_TOKENS;
    int c;
    cli_getopt_begin();
    while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
            case 'h': fputs(usage, stdout); return 0;
            case OPT_MODEL: model_name = optarg; break;
            case OPT_OUT: out_path = optarg; break;
            case OPT_ADAPTER: adapter_name = optarg; break;
            case OPT_POOLING:
                pooling_name = optarg;
                if (scivec_pooling_parse(pooling_name, &ep.pooling)) {
                    fprintf(stderr, "scivec encode: %s\n", scivec_last_error());
                    return 2;
                }
                break;
            case OPT_PROMPT: ep.prompt_name = optarg; break;
            case OPT_NORMALIZE: ep.normalize = 1; break;
            case OPT_MAX_LENGTH:
                if (!cli_int_option("encode", "--max-length", optarg, 0, &ep.max_length)) return 2;
                break;
            case OPT_THREADS:
                if (!cli_int_option("encode", "--threads", optarg, 0, &mp.n_threads)) return 2;
                break;
            case OPT_BATCH_TOKENS:
                if (!cli_int_option("encode", "--batch-tokens", optarg, 1, &batch_tokens)) return 2;
                break;
            case OPT_PRECISION:
                if (cli_precision_option("encode", optarg, &mp.precision)) return 2;
                break;
            default:
                fprintf(stderr, "scivec encode: unexpected argument '%s' (see --help)\n",
                        cli_bad_option(argv));
                return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "scivec encode: unexpected argument '%s' (see --help)\n", argv[optind]);
        return 2;
    }
    if (!model_name || !out_path) {
        fprintf(stderr, "scivec encode: --model and --out are required (see --help)\n");
        return 2;
    }

    scivec_model *model = NULL;
    int status = 1;
    if (scivec_model_load(model_name, &mp, &model) ||
        scivec_model_set_batch_tokens(model, batch_tokens)) {
        status = cli_fail("encode");
        goto done;
    }
    if (scivec_model_warning(model))
        fprintf(stderr, "scivec encode: warning: %s\n", scivec_model_warning(model));
    if (adapter_name && scivec_model_add_adapter(model, adapter_name, &ep.adapter_id)) {
        status = cli_fail("encode");
        goto done;
    }

    // say which pooling runs and why, before any work
    const char *reason = "--pooling";
    scivec_pooling pooling = ep.pooling;
    if (pooling == SCIVEC_POOL_DEFAULT) pooling = scivec_model_default_pooling(model, &reason);
    if (pooling == SCIVEC_POOL_DEFAULT) {
        fprintf(stderr, "scivec encode: %s: %s\n", scivec_model_dir(model), reason);
        goto done;
    }
    int max_length = ep.max_length > 0 ? ep.max_length : scivec_model_max_length(model);
    fprintf(stderr, "scivec encode: pooling: %s (%s)%s, max length %d\n",
            scivec_pooling_name(pooling), reason, ep.normalize ? ", normalized" : "", max_length);
    const char *blas_reason;
    const char *blas = scivec_blas_arch(&blas_reason);
    fprintf(stderr, "scivec encode: kernels: %s, BLIS %s (%s), precision %s\n",
            scivec_forward_kernels(), blas, blas_reason,
            scivec_precision_name(scivec_model_precision(model)));
    if (ep.adapter_id)
        fprintf(stderr, "scivec encode: adapter: %s (%s)\n",
                scivec_model_adapter_name(model, ep.adapter_id),
                scivec_model_adapter_dir(model, ep.adapter_id));

    int64_t n_rows = 0;
    scivec_encode_stats stats = {0};
    double t0 = seconds_now();
    if (scivec_model_encode_jsonl(model, &ep, NULL, out_path, &n_rows, &stats)) {
        status = cli_fail("encode");
        goto done;
    }
    fprintf(stderr,
            "scivec encode: %lld texts, %lld tokens in %.2f s; truncated: %d "
            "(to %d tokens)%s\n",
            (long long)n_rows, (long long)stats.n_tokens, seconds_now() - t0, stats.n_truncated,
            max_length, stats.n_invalid_utf8 ? "; some inputs held invalid UTF-8 (replaced)" : "");
    status = 0;
done:
    scivec_model_free(model);
    return status;
}
