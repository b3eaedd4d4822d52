/*
 * sha256.c - SHA-256 of a buffer and of a file, by OpenSSL's libcrypto.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/error.h"
#include "core/sha256.h"

/* ------------------------------------------------------------------------ */
/* SHA-256: OpenSSL's, which runs the CPU's SHA extensions (a 440 MB weight  */
/* file hashes in well under a second).                                      */

void sv_sha256(const void *data, size_t len, uint8_t digest[32]) {
    unsigned int n = 32;
    if (!EVP_Digest(data, len, digest, &n, EVP_sha256(), NULL)) memset(digest, 0, 32);
}

int sv_sha256_file(const char *path, char hex[65]) {
    hex[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (!f)
        return sv_error(errno == ENOENT ? SCIVEC_ENOTFOUND : SCIVEC_EIO, "%s: %s", path,
                        strerror(errno));
    enum { CHUNK = 1 << 20 };
    uint8_t *buf = malloc(CHUNK);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int rc = SCIVEC_OK;
    if (!buf || !ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
        rc = sv_error(SCIVEC_ENOMEM, "%s: cannot start a SHA-256 (out of memory)", path);
        goto done;
    }
    size_t got;
    while ((got = fread(buf, 1, CHUNK, f)) > 0)
        if (!EVP_DigestUpdate(ctx, buf, got)) {
            rc = sv_error(SCIVEC_EIO, "%s: SHA-256 failed", path);
            goto done;
        }
    if (ferror(f)) {
        rc = sv_error(SCIVEC_EIO, "%s: read error", path);
        goto done;
    }
    uint8_t digest[32];
    unsigned int n = 0;
    if (!EVP_DigestFinal_ex(ctx, digest, &n) || n != 32) {
        rc = sv_error(SCIVEC_EIO, "%s: SHA-256 failed", path);
        goto done;
    }
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", digest[i]);
done:
    EVP_MD_CTX_free(ctx);
    free(buf);
    fclose(f);
    return rc;
}
