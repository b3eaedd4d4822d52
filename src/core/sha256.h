/*
 * sha256.h - SHA-256 of a buffer or a file (sha256.c, OpenSSL). Internal.
 */
#ifndef SV_SHA256_H
#define SV_SHA256_H

#include <stddef.h>
#include <stdint.h>

/* SHA-256 of a file as 64 lowercase hex digits. */
int sv_sha256_file(const char *path, char hex[65]);
void sv_sha256(const void *data, size_t len, uint8_t digest[32]);

#endif /* SV_SHA256_H */
