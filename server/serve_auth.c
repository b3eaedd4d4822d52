/*
 * serve_auth.c - `scivec serve --api-key-file FILE`: every request but
 * /health and the page's own files (which hold no data) must carry
 * `Authorization: Bearer KEY`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>

#include "serve.h"

int serve_read_api_key(serve_ctx *ctx, const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "scivec serve: --api-key-file %s: cannot open it\n", path);
        return 2;
    }
    char key[1024];
    size_t n = fread(key, 1, sizeof key, f);
    int too_long = n == sizeof key;
    fclose(f);
    /* One line: trailing whitespace (the newline an editor adds) is not part of it. */
    while (n &&
           (key[n - 1] == '\n' || key[n - 1] == '\r' || key[n - 1] == ' ' || key[n - 1] == '\t'))
        n--;
    if (too_long || n < 16) {
        fprintf(stderr,
                "scivec serve: --api-key-file %s: the key must be one line of 16 to 1000 "
                "characters (it has %s%zu)\n",
                path, too_long ? "over " : "", n);
        return 2;
    }
    for (size_t i = 0; i < n; i++)
        if (key[i] <= 0x20 || key[i] >= 0x7F) {
            fprintf(stderr,
                    "scivec serve: --api-key-file %s: character %zu of the key is a space, "
                    "a control or a non-ASCII byte (a header value could not carry it)\n",
                    path, i + 1);
            return 2;
        }
    if (!(ctx->api_key = strndup(key, n))) {
        fprintf(stderr, "scivec serve: out of memory\n");
        return 1;
    }
    ctx->api_key_len = n;
    return 0;
}

/* Compares in time that depends only on the key's length, not on where the
 * first wrong byte is, so that the key cannot be guessed byte by byte. */
static int same_key(const char *given, size_t given_len, const char *key, size_t key_len) {
    volatile unsigned char diff = given_len != key_len;
    for (size_t i = 0; i < key_len; i++) {
        unsigned char g = i < given_len ? (unsigned char)given[i] : 0;
        diff |= g ^ (unsigned char)key[i];
    }
    return diff == 0;
}

int serve_authorized(serve_ctx *ctx, struct MHD_Connection *conn, const char *url) {
    static const char *const open_paths[] = {"/health", "/",          "/index.html", "/auth.js",
                                             "/app.js", "/style.css", "/map.html",   "/map.js"};
    for (size_t i = 0; i < sizeof open_paths / sizeof open_paths[0]; i++)
        if (!strcmp(url, open_paths[i])) return 1;
    const char *auth =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!auth || strncasecmp(auth, "Bearer ", 7)) return 0;
    const char *given = auth + 7;
    while (*given == ' ') given++;
    return same_key(given, strlen(given), ctx->api_key, ctx->api_key_len);
}
