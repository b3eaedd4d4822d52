/*
 * cmd_serve.c - `scivec serve DIR`: the options of an HTTP API and a web
 * page over an embed output (docs/SERVER.md); the server library
 * (server/, serve_run) does the rest.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "options.h"
#include "scivec_server.h"

static const char usage[] =
    "usage: scivec serve DIR [--host 127.0.0.1] [--port 8080] [--model M] [--threads N]\n"
    "                        [--max-batch-tokens N] [--max-queue N] [--timeout-ms N]\n"
    "                        [--max-body-bytes N] [--max-inputs N] [--max-text-bytes N]\n"
    "                        [--max-k N] [--max-connections N] [--readers N]\n"
    "                        [--api-key-file FILE] [--precision P [--force-precision]]\n"
    "  DIR                  output directory of `scivec embed`\n"
    "  --host H             address or host name to listen on (default 127.0.0.1: this\n"
    "                       machine only)\n"
    "  --api-key-file FILE  every request but /health and the page needs\n"
    "                       `Authorization: Bearer KEY`, KEY being FILE's one line\n"
    "  --port P             TCP port (default 8080; 0 = any free port, printed on stdout)\n"
    "  --model M            model for queries and /v1/embeddings (default: metadata.json's;\n"
    "                       it must be the model the papers were embedded with)\n"
    "  --threads N          threads of the model (default: all cores)\n"
    "  --precision P        dense layers of the query model in fp32, bf16 or int8; default\n"
    "                       and required: the folder's (metadata.json \"precision\"), so that\n"
    "                       queries land where the papers are. --force-precision allows\n"
    "                       another (e.g. fp32 on a CPU without VNNI for an int8 folder)\n"
    "  --max-batch-tokens N tokens per model call; requests are batched up to it (default 8192)\n"
    "  --max-queue N        embedding requests that may wait; beyond, 503 (default 256)\n"
    "  --timeout-ms N       an embedding request not done by then gets 503 (default 30000)\n"
    "  --max-body-bytes N   request bodies above it get 413 (default 2097152)\n"
    "  --max-inputs N       texts per embedding request, above: 413 (default 256)\n"
    "  --max-text-bytes N   bytes per text or query, above: 413 (default 65536)\n"
    "  --max-k N            largest k (default 1000)\n"
    "  --max-connections N  simultaneous connections (default 1024)\n"
    "  --max-connections-per-client N\n"
    "                       simultaneous connections from one client address (default 128)\n"
    "  --request-timeout-s N  a client must send a whole request, and read its answer,\n"
    "                       within N seconds; idle connections close after N (default 30)\n"
    "  --readers N          paper queries that run at once, each on its own SQLite\n"
    "                       connection (default: the number of cores, at most 8)\n";

/* The options taking a whole number: where it goes and its range. */
static const struct number_option {
    const char *name;
    size_t offset;
    long long lo, hi;
} numbers[] = {
    {"port", offsetof(serve_options, port), 0, 65535},
    {"threads", offsetof(serve_options, threads), 0, 4096},
    {"max-batch-tokens", offsetof(serve_options, max_batch_tokens), 1, 1 << 24},
    {"max-queue", offsetof(serve_options, max_queue), 1, 1 << 20},
    {"timeout-ms", offsetof(serve_options, timeout_ms), 1, 3600 * 1000},
    {"max-body-bytes", offsetof(serve_options, max_body_bytes), 1, 1LL << 30},
    {"max-inputs", offsetof(serve_options, max_inputs), 1, 1 << 20},
    {"max-text-bytes", offsetof(serve_options, max_text_bytes), 1, 1 << 30},
    {"max-k", offsetof(serve_options, max_k), 1, 1000000},
    {"max-connections", offsetof(serve_options, max_connections), 1, 65536},
    {"readers", offsetof(serve_options, readers), 1, 256},
    {"max-connections-per-client", offsetof(serve_options, max_per_client), 1, 65536},
    {"request-timeout-s", offsetof(serve_options, request_timeout_s), 1, 3600},
};
#define N_NUMBERS (int)(sizeof numbers / sizeof numbers[0])

/* getopt_long's table: the numbers' entries return their index from
 * OPT_NUMBER on. */
enum {
    OPT_HOST = 256,
    OPT_MODEL,
    OPT_API_KEY_FILE,
    OPT_PRECISION,
    OPT_FORCE_PRECISION,
    OPT_NUMBER
};

static void fill_options(struct option *options) {
    int n = 0;
    options[n++] = (struct option){"help", no_argument, NULL, 'h'};
    options[n++] = (struct option){"host", required_argument, NULL, OPT_HOST};
    options[n++] = (struct option){"model", required_argument, NULL, OPT_MODEL};
    options[n++] = (struct option){"api-key-file", required_argument, NULL, OPT_API_KEY_FILE};
    options[n++] = (struct option){"precision", required_argument, NULL, OPT_PRECISION};
    options[n++] = (struct option){"force-precision", no_argument, NULL, OPT_FORCE_PRECISION};
    for (int i = 0; i < N_NUMBERS; i++)
        options[n++] = (struct option){numbers[i].name, required_argument, NULL, OPT_NUMBER + i};
    options[n] = (struct option){NULL, 0, NULL, 0};
}

/* The option as typed, without "=value". */
static int option_name_len(const char *word) {
    const char *eq = strchr(word, '=');
    return eq ? (int)(eq - word) : (int)strlen(word);
}

/* -1: go on; else the exit status. */
static int parse_args(int argc, char **argv, serve_options *o) {
    *o = (serve_options){.host = "127.0.0.1",
                         .port = 8080,
                         .max_batch_tokens = 8192,
                         .max_queue = 256,
                         .timeout_ms = 30000,
                         .max_body_bytes = 2 << 20,
                         .max_inputs = 256,
                         .max_text_bytes = 64 << 10,
                         .max_k = 1000,
                         .max_connections = 1024,
                         .readers = 0,
                         .max_per_client = 128,
                         .request_timeout_s = 30};
    struct option options[6 + N_NUMBERS + 1];
    fill_options(options);
    int c;
    cli_getopt_begin();
    while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        const char *bad = c == ':' || c == '?' ? cli_bad_option(argv) : NULL;
        if (c == 'h') {
            fputs(usage, stdout);
            return 0;
        } else if (c == OPT_HOST) {
            o->host = optarg;
        } else if (c == OPT_MODEL) {
            o->model = optarg;
        } else if (c == OPT_API_KEY_FILE) {
            o->api_key_file = optarg;
        } else if (c == OPT_PRECISION) {
            scivec_precision unused;
            if (cli_precision_option("serve", optarg, &unused)) return 2;
            o->precision = optarg;
        } else if (c == OPT_FORCE_PRECISION) {
            o->force_precision = 1;
        } else if (c >= OPT_NUMBER && c < OPT_NUMBER + N_NUMBERS) {
            const struct number_option *n = &numbers[c - OPT_NUMBER];
            long long *field = (long long *)((char *)o + n->offset);
            if (!cli_parse_ll(optarg, n->lo, n->hi, field)) {
                fprintf(stderr,
                        "scivec serve: --%s '%s': expected a whole number from %lld to %lld\n",
                        n->name, optarg, n->lo, n->hi);
                return 2;
            }
        } else if (c == ':') {
            fprintf(stderr, "scivec serve: %.*s needs a value\n%s", option_name_len(bad), bad,
                    usage);
            return 2;
        } else {
            fprintf(stderr, "scivec serve: unknown option '%.*s'\n%s", option_name_len(bad), bad,
                    usage);
            return 2;
        }
    }
    for (int i = optind; i < argc; i++) {
        if (o->dir) {
            fprintf(stderr, "scivec serve: unexpected argument '%s'\n%s", argv[i], usage);
            return 2;
        }
        o->dir = argv[i];
    }
    if (!o->dir) {
        fprintf(stderr, "scivec serve: expected DIR\n%s", usage);
        return 2;
    }
    return -1;
}

int cmd_serve(int argc, char **argv) {
    serve_options o;
    int status = parse_args(argc, argv, &o);
    if (status >= 0) return status;
    return serve_run(&o);
}
