/*
 * jsonl.h - JSON Lines reading with line numbers, for stdin inputs of
 * `tokenize`/`encode` and for arXiv-style paper files.
 */
#ifndef SV_JSONL_H
#define SV_JSONL_H

#include <cjson/cJSON.h>

typedef struct sv_jsonl sv_jsonl;

/* path NULL or "-" reads stdin. */
int sv_jsonl_open(const char *path, sv_jsonl **out);
/* Next non-blank line parsed as a JSON object: returns 1 and *obj (the caller
 * frees it with cJSON_Delete); 0 at the end; SCIVEC_EFORMAT when the line is
 * not a JSON object (the message names path:line, and the reader stays
 * usable: the next call reads the next line); SCIVEC_EIO on read errors.
 * Lines may be any length; a UTF-8 BOM on line 1 is skipped. */
int sv_jsonl_next(sv_jsonl *r, cJSON **obj);
/* Line number (1-based) of the last line read. */
long sv_jsonl_line(const sv_jsonl *r);
/* "<stdin>" for stdin. */
const char *sv_jsonl_path(const sv_jsonl *r);
void sv_jsonl_close(sv_jsonl *r);

/* The string member `key` of obj in *out, or NULL when absent or null;
 * SCIVEC_EFORMAT when it is present but not a string. */
int sv_json_get_string(const cJSON *obj, const char *key, const char **out);

#endif /* SV_JSONL_H */
