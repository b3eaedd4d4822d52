/*
 * scivec_server.h - the server library (server/, libmicrohttpd) as the
 * command line sees it: the options of `scivec serve` and the call that
 * runs it. Everything else of the server is server/serve.h, private.
 */
#ifndef SCIVEC_SERVER_H
#define SCIVEC_SERVER_H

typedef struct serve_options {
    const char *dir, *host, *model, *api_key_file;
    const char *precision; /* NULL: the folder's (metadata.json)          */
    int force_precision;   /* 1: allow another precision than the folder's */
    long long port, threads, max_batch_tokens, max_queue, timeout_ms, max_body_bytes;
    long long max_inputs, max_text_bytes, max_k, max_connections, readers;
    long long max_per_client, request_timeout_s;
} serve_options;

/* Loads o->dir and its model once, starts the embedding worker and the HTTP
 * daemon, prints where it listens on stdout and runs until SIGINT or
 * SIGTERM (SIGHUP reloads the folder). Returns the exit status: 0 after a
 * stop signal, 2 when the address cannot be used as given, else 1 (the
 * reason printed on stderr). */
int serve_run(const serve_options *o);

#endif
