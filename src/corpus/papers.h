/*
 * papers.h - a table of papers read record by record from CSV or JSON Lines.
 *
 * CSV: RFC 4180 as pandas/Python's csv module write it (libcsv): a header row
 * names the columns; quoted fields may hold commas, doubled quotes and line
 * breaks; CRLF or LF; an optional UTF-8 BOM. Fields are kept verbatim (no
 * trimming). A record whose field count differs from the header's is
 * malformed.
 *
 * JSON Lines (arXiv's metadata snapshot): one object per line. The columns
 * are the keys in order of first appearance: a key first seen in a later
 * record adds a column, so sv_papers_n_columns may grow while reading. String
 * values are given as they are; numbers, booleans, arrays and objects as their
 * compact JSON text (e.g. arXiv's "versions"); null or absent as "".
 */
#ifndef SV_PAPERS_H
#define SV_PAPERS_H

#include <stddef.h>
#include <stdint.h>

typedef struct sv_papers sv_papers;

typedef enum sv_papers_format { SV_PAPERS_CSV, SV_PAPERS_JSONL } sv_papers_format;

/* CSV (libcsv) or JSONL, by extension .jsonl/.json/.ndjson (.csv is CSV), else
 * sniffed: a first non-blank byte '{' means JSONL. */
int sv_papers_open(const char *path, sv_papers **out);
sv_papers_format sv_papers_get_format(const sv_papers *p);
int sv_papers_n_columns(const sv_papers *p);
const char *sv_papers_column_name(const sv_papers *p, int i);
int sv_papers_column_index(const sv_papers *p, const char *name); /* -1 if absent */
/* Next record: 1 with fields[i]/lens[i] for each column (valid until the next
 * call; absent = "" len 0; every field is also NUL-terminated), 0 at end,
 * SCIVEC_EFORMAT for a malformed record (message names path and line; reading
 * continues), SCIVEC_EIO fatal (SCIVEC_ENOMEM too). */
int sv_papers_next(sv_papers *p, const char *const **fields, const size_t **lens);
long sv_papers_record_line(const sv_papers *p); /* first line of the last record */
/* For JSON Lines, the JSON type of column col in the last record when it is
 * not text: "number", "boolean", "array" or "object" (its field is then the
 * compact JSON text). NULL for a string, null or absent value, and for CSV. */
const char *sv_papers_field_json_type(const sv_papers *p, int col);
/* Records returned so far, malformed ones included. */
int64_t sv_papers_records_read(const sv_papers *p);
void sv_papers_close(sv_papers *p);

/* Quick count of the records in a file (malformed ones included), for a
 * progress total: CSV is parsed, JSONL counts non-blank lines. */
int sv_papers_count(const char *path, int64_t *n_records);

#endif /* SV_PAPERS_H */
