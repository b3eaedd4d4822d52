/*
 * fuzz_jsonl.c - arbitrary bytes as a JSON Lines file through sv_jsonl (the
 * reader of `tokenize`/`encode` stdin and of arXiv snapshots): every line is
 * read, its "text" member fetched, until the end. sv_jsonl takes paths, so
 * the bytes go to a temp file first.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "corpus/jsonl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char path[64];
    if (!path[0]) { snprintf(path, sizeof path, "/tmp/fuzz_jsonl-%d.jsonl", (int)getpid()); }
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);

    sv_jsonl *r;
    if (sv_jsonl_open(path, &r)) abort();
    long last_line = 0;
    for (int i = 0; i < 100000; i++) {
        cJSON *obj = NULL;
        int got = sv_jsonl_next(r, &obj);
        if (got == 0) break;
        long line = sv_jsonl_line(r);
        if (line <= last_line) abort(); /* line numbers only go forward */
        last_line = line;
        if (got < 0) {
            if (got != SCIVEC_EFORMAT) break;
            if (!strstr(scivec_last_error(), path)) abort(); /* names the file */
            continue;
        }
        if (!cJSON_IsObject(obj)) abort();
        const char *text = NULL;
        int status = sv_json_get_string(obj, "text", &text);
        if (status == 0 && text) (void)strlen(text);
        cJSON_Delete(obj);
    }
    sv_jsonl_close(r);
    return 0;
}
