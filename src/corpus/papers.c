/*
 * papers.c - records of papers from CSV (libcsv) or JSON Lines (cJSON).
 *
 * CSV is fed to libcsv one physical line at a time (split after every CR or
 * LF), so that at most one record completes per feed and we always know on
 * which line a record began, even when quoted fields span lines.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <csv.h>

#include "core/error.h"
#include "corpus/jsonl.h"
#include "corpus/papers.h"

/* A record longer than MAX_RECORD_BYTES is refused (SCIVEC_ETOOLONG) rather
 * than buffered: one unclosed quote or a binary file must not take all
 * memory. Real abstracts are a few KB; 64 MiB is far beyond any paper. */
enum { READ_BLOCK = 1 << 16, MAX_PEEK_ERRORS = 100 };
#define MAX_RECORD_BYTES ((size_t)64 << 20)

/* A growing list of fields stored back to back, each NUL-terminated. */
typedef struct {
    char *text;
    size_t text_len, text_cap;
    size_t *starts, *lens;
    int n_fields, fields_cap;
} field_list;

static int fields_push(field_list *fl, const char *s, size_t len) {
    if (fl->n_fields == fl->fields_cap) {
        int cap = fl->fields_cap ? fl->fields_cap * 2 : 16;
        size_t *starts = realloc(fl->starts, (size_t)cap * sizeof *starts);
        if (!starts) return SCIVEC_ENOMEM;
        fl->starts = starts;
        size_t *lens = realloc(fl->lens, (size_t)cap * sizeof *lens);
        if (!lens) return SCIVEC_ENOMEM;
        fl->lens = lens;
        fl->fields_cap = cap;
    }
    if (len > SIZE_MAX / 2 - fl->text_len - 1) return SCIVEC_ENOMEM;
    if (fl->text_len + len + 1 > fl->text_cap) {
        size_t cap = fl->text_cap ? fl->text_cap : 4096;
        while (cap < fl->text_len + len + 1) cap *= 2;
        char *text = realloc(fl->text, cap);
        if (!text) return SCIVEC_ENOMEM;
        fl->text = text;
        fl->text_cap = cap;
    }
    if (len) memcpy(fl->text + fl->text_len, s, len);
    fl->text[fl->text_len + len] = '\0';
    fl->starts[fl->n_fields] = fl->text_len;
    fl->lens[fl->n_fields] = len;
    fl->n_fields++;
    fl->text_len += len + 1;
    return SCIVEC_OK;
}

static void fields_reset(field_list *fl) {
    fl->n_fields = 0;
    fl->text_len = 0;
}

static void fields_free(field_list *fl) {
    free(fl->text);
    free(fl->starts);
    free(fl->lens);
    memset(fl, 0, sizeof *fl);
}

/* A message waiting to be returned by sv_papers_next (JSONL lines found
 * malformed while looking for the first object at open). */
typedef struct {
    char *message;
    long line;
} pending_error;

struct sv_papers {
    sv_papers_format format;
    char *path;
    char **columns;
    int n_columns, columns_cap;
    int64_t n_records;
    long record_line;

    /* What sv_papers_next hands out. */
    const char **out_fields;
    size_t *out_lens;
    int out_cap;

    /* CSV */
    FILE *file;
    struct csv_parser parser;
    int parser_ready;
    char *block; /* READ_BLOCK bytes read ahead          */
    size_t block_len, block_pos;
    int at_eof, finished;
    long line_no;          /* line of the next byte fed            */
    long building_line;    /* first line of the record being built */
    size_t building_bytes; /* bytes fed since that record began    */
    int between_records;   /* the next non-terminator byte starts a record */
    int record_ready;      /* `record` holds a complete record     */
    int out_of_memory;
    field_list building, record;

    /* JSONL */
    sv_jsonl *jsonl;
    cJSON *object; /* the record being handed out          */
    cJSON *peeked; /* first object, read at open           */
    long peeked_line;
    pending_error *pending;
    int n_pending, pending_next;
    char **printed; /* JSON texts of non-string values      */
    int n_printed, printed_cap;
};

/* ------------------------------------------------------------------------ */
/* Columns and the output arrays                                             */

static int add_column(sv_papers *p, const char *name, size_t len) {
    if (p->n_columns == p->columns_cap) {
        int cap = p->columns_cap ? p->columns_cap * 2 : 16;
        char **columns = realloc(p->columns, (size_t)cap * sizeof *columns);
        if (!columns) return SCIVEC_ENOMEM;
        p->columns = columns;
        p->columns_cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy) return SCIVEC_ENOMEM;
    memcpy(copy, name, len);
    copy[len] = '\0';
    p->columns[p->n_columns++] = copy;
    return SCIVEC_OK;
}

static int ensure_out(sv_papers *p, int n) {
    if (n <= p->out_cap) return SCIVEC_OK;
    int cap = n < 16 ? 16 : n * 2;
    const char **fields = realloc(p->out_fields, (size_t)cap * sizeof *fields);
    if (!fields) return SCIVEC_ENOMEM;
    p->out_fields = fields;
    size_t *lens = realloc(p->out_lens, (size_t)cap * sizeof *lens);
    if (!lens) return SCIVEC_ENOMEM;
    p->out_lens = lens;
    p->out_cap = cap;
    return SCIVEC_OK;
}

int sv_papers_n_columns(const sv_papers *p) { return p->n_columns; }

const char *sv_papers_column_name(const sv_papers *p, int i) {
    return i >= 0 && i < p->n_columns ? p->columns[i] : NULL;
}

int sv_papers_column_index(const sv_papers *p, const char *name) {
    for (int i = 0; i < p->n_columns; i++)
        if (!strcmp(p->columns[i], name)) return i;
    return -1;
}

sv_papers_format sv_papers_get_format(const sv_papers *p) { return p->format; }
long sv_papers_record_line(const sv_papers *p) { return p->record_line; }
int64_t sv_papers_records_read(const sv_papers *p) { return p->n_records; }

/* ------------------------------------------------------------------------ */
/* CSV                                                                       */

static void on_csv_field(void *s, size_t len, void *data) {
    sv_papers *p = data;
    if (fields_push(&p->building, s ? s : "", s ? len : 0)) p->out_of_memory = 1;
}

static void on_csv_record_end(int terminator, void *data) {
    sv_papers *p = data;
    /* Swap, so the finished record is kept and the buffers are reused. */
    field_list done = p->building;
    p->building = p->record;
    fields_reset(&p->building);
    p->record = done;
    p->record_ready = 1;
    p->between_records = 1;
}

/* libcsv trims spaces and tabs around unquoted fields unless told that no
 * byte is a space; pandas and Python's csv keep them. */
static int no_space(unsigned char c) { return 0; }

/* Feeds the next physical line (through its CR or LF) to libcsv. */
static int csv_feed_line(sv_papers *p) {
    if (p->block_pos == p->block_len) {
        if (p->at_eof) return 0;
        p->block_len = fread(p->block, 1, READ_BLOCK, p->file);
        p->block_pos = 0;
        if (p->block_len < READ_BLOCK) {
            if (ferror(p->file))
                return sv_error(SCIVEC_EIO, "%s:%ld: read error", p->path, p->line_no);
            p->at_eof = 1;
        }
        if (p->block_len == 0) return 0;
    }
    const char *start = p->block + p->block_pos;
    size_t avail = p->block_len - p->block_pos, n = 0;
    while (n < avail && start[n] != '\n' && start[n] != '\r') n++;
    int ends_line = n < avail;
    if (ends_line) n++;
    if (p->between_records && !(n == 1 && ends_line)) {
        p->between_records = 0;
        p->building_line = p->line_no;
        p->building_bytes = 0;
    }
    p->building_bytes += n;
    if (p->building_bytes > MAX_RECORD_BYTES)
        return sv_error(SCIVEC_ETOOLONG,
                        "%s:%ld: a record longer than %zu MiB (an unclosed quote, or not a "
                        "CSV file?); refusing to read on",
                        p->path, p->building_line, MAX_RECORD_BYTES >> 20);
    if (csv_parse(&p->parser, start, n, on_csv_field, on_csv_record_end, p) != n)
        return sv_error(SCIVEC_ENOMEM, "%s:%ld: %s", p->path, p->line_no,
                        csv_strerror(csv_error(&p->parser)));
    if (p->out_of_memory)
        return sv_error(SCIVEC_ENOMEM, "%s:%ld: out of memory", p->path, p->line_no);
    if (ends_line && start[n - 1] == '\n') p->line_no++;
    p->block_pos += n;
    return 1;
}

/* Reads until a record completes: 1 with it in p->record, 0 at the end. */
static int csv_read_record(sv_papers *p, int *unterminated_quote) {
    *unterminated_quote = 0;
    p->record_ready = 0;
    while (!p->record_ready) {
        if (p->finished) return 0;
        int rc = csv_feed_line(p);
        if (rc < 0) return rc;
        if (rc == 0) {
            p->finished = 1;
            /* Strict only now: csv_fini then reports a quoted field left
             * open at the end, while the body stays as lenient as Python's
             * csv module. */
            csv_set_opts(&p->parser, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL);
            if (csv_fini(&p->parser, on_csv_field, on_csv_record_end, p) != 0) {
                /* The file ended inside a quoted field: libcsv drops that
                 * partial record, we report it. */
                *unterminated_quote = 1;
                return 1;
            }
            if (p->out_of_memory) return sv_error(SCIVEC_ENOMEM, "%s: out of memory", p->path);
        }
    }
    return 1;
}

static int csv_open(sv_papers *p) {
    p->file = fopen(p->path, "rb");
    if (!p->file)
        return sv_error(errno == ENOENT ? SCIVEC_ENOTFOUND : SCIVEC_EIO, "%s: %s", p->path,
                        strerror(errno));
    p->block = malloc(READ_BLOCK);
    if (!p->block) return sv_error(SCIVEC_ENOMEM, "%s: out of memory", p->path);
    if (csv_init(&p->parser, CSV_APPEND_NULL) != 0)
        return sv_error(SCIVEC_ENOMEM, "%s: out of memory", p->path);
    p->parser_ready = 1;
    csv_set_space_func(&p->parser, no_space);
    /* libcsv grows a field's buffer by this many bytes at a time (128 by
     * default): a multi-MB field would be copied over and over. */
    csv_set_blk_size(&p->parser, 1 << 20);
    p->line_no = 1;
    p->between_records = 1;

    /* Skip a UTF-8 byte order mark. */
    p->block_len = fread(p->block, 1, READ_BLOCK, p->file);
    if (p->block_len < READ_BLOCK) {
        if (ferror(p->file)) return sv_error(SCIVEC_EIO, "%s: read error", p->path);
        p->at_eof = 1;
    }
    if (p->block_len >= 3 && !memcmp(p->block, "\xEF\xBB\xBF", 3)) p->block_pos = 3;

    int unterminated;
    int rc = csv_read_record(p, &unterminated);
    if (rc < 0) return rc;
    if (rc == 0 || unterminated || p->record.n_fields == 0)
        return sv_error(SCIVEC_EFORMAT, "%s:%ld: no CSV header row", p->path, p->building_line);
    for (int i = 0; i < p->record.n_fields; i++) {
        rc = add_column(p, p->record.text + p->record.starts[i], p->record.lens[i]);
        if (rc) return sv_error(rc, "%s: out of memory", p->path);
    }
    return SCIVEC_OK;
}

static int csv_next(sv_papers *p, const char *const **fields, const size_t **lens) {
    int unterminated;
    int rc = csv_read_record(p, &unterminated);
    if (rc <= 0) return rc;
    p->n_records++;
    p->record_line = p->building_line;
    if (unterminated)
        return sv_error(SCIVEC_EFORMAT,
                        "%s:%ld: quoted field never closes before the end of the file", p->path,
                        p->record_line);
    if (p->record.n_fields != p->n_columns)
        return sv_error(SCIVEC_EFORMAT, "%s:%ld: record has %d fields, the header has %d", p->path,
                        p->record_line, p->record.n_fields, p->n_columns);
    if (ensure_out(p, p->n_columns)) return sv_error(SCIVEC_ENOMEM, "%s: out of memory", p->path);
    for (int i = 0; i < p->n_columns; i++) {
        p->out_fields[i] = p->record.text + p->record.starts[i];
        p->out_lens[i] = p->record.lens[i];
    }
    *fields = p->out_fields;
    *lens = p->out_lens;
    return 1;
}

/* ------------------------------------------------------------------------ */
/* JSON Lines                                                                */

static void free_printed(sv_papers *p) {
    for (int i = 0; i < p->n_printed; i++) cJSON_free(p->printed[i]);
    p->n_printed = 0;
}

static int keep_printed(sv_papers *p, char *text) {
    if (p->n_printed == p->printed_cap) {
        int cap = p->printed_cap ? p->printed_cap * 2 : 8;
        char **printed = realloc(p->printed, (size_t)cap * sizeof *printed);
        if (!printed) return SCIVEC_ENOMEM;
        p->printed = printed;
        p->printed_cap = cap;
    }
    p->printed[p->n_printed++] = text;
    return SCIVEC_OK;
}

/* Adds the keys of obj not seen before as columns. */
static int jsonl_add_columns(sv_papers *p, const cJSON *obj) {
    for (const cJSON *item = obj->child; item; item = item->next) {
        const char *key = item->string ? item->string : "";
        if (sv_papers_column_index(p, key) < 0 && add_column(p, key, strlen(key)))
            return SCIVEC_ENOMEM;
    }
    return SCIVEC_OK;
}

static int jsonl_open(sv_papers *p) {
    int rc = sv_jsonl_open(p->path, &p->jsonl);
    if (rc) return rc;
    /* Find the first object so the columns are known from the start; lines
     * that fail before it are remembered and reported by sv_papers_next. */
    while (p->n_pending < MAX_PEEK_ERRORS) {
        cJSON *obj = NULL;
        rc = sv_jsonl_next(p->jsonl, &obj);
        if (rc == 1) {
            p->peeked = obj;
            p->peeked_line = sv_jsonl_line(p->jsonl);
            if (jsonl_add_columns(p, obj))
                return sv_error(SCIVEC_ENOMEM, "%s: out of memory", p->path);
            return SCIVEC_OK;
        }
        if (rc == 0) return SCIVEC_OK;
        if (rc != SCIVEC_EFORMAT) return rc;
        if (!p->pending) {
            p->pending = calloc(MAX_PEEK_ERRORS, sizeof *p->pending);
            if (!p->pending) return sv_error(SCIVEC_ENOMEM, "%s: out of memory", p->path);
        }
        p->pending[p->n_pending].message = strdup(scivec_last_error());
        p->pending[p->n_pending].line = sv_jsonl_line(p->jsonl);
        if (!p->pending[p->n_pending].message)
            return sv_error(SCIVEC_ENOMEM, "%s: out of memory", p->path);
        p->n_pending++;
    }
    return SCIVEC_OK;
}

static int jsonl_next(sv_papers *p, const char *const **fields, const size_t **lens) {
    cJSON_Delete(p->object);
    p->object = NULL;
    free_printed(p);
    if (p->pending_next < p->n_pending) {
        pending_error *e = &p->pending[p->pending_next++];
        p->n_records++;
        p->record_line = e->line;
        return sv_error(SCIVEC_EFORMAT, "%s", e->message);
    }
    if (p->peeked) {
        p->object = p->peeked;
        p->peeked = NULL;
        p->record_line = p->peeked_line;
    } else {
        int rc = sv_jsonl_next(p->jsonl, &p->object);
        if (rc == 0) return 0;
        if (rc != 1 && rc != SCIVEC_EFORMAT) return rc;
        p->record_line = sv_jsonl_line(p->jsonl);
        if (rc == SCIVEC_EFORMAT) {
            p->n_records++;
            return rc;
        }
        if (jsonl_add_columns(p, p->object))
            return sv_error(SCIVEC_ENOMEM, "%s: out of memory", p->path);
    }
    p->n_records++;
    if (ensure_out(p, p->n_columns)) return sv_error(SCIVEC_ENOMEM, "%s: out of memory", p->path);
    for (int i = 0; i < p->n_columns; i++) {
        p->out_fields[i] = "";
        p->out_lens[i] = 0;
    }
    for (const cJSON *item = p->object->child; item; item = item->next) {
        int col = sv_papers_column_index(p, item->string ? item->string : "");
        const char *value = "";
        if (cJSON_IsString(item)) {
            value = item->valuestring ? item->valuestring : "";
        } else if (!cJSON_IsNull(item)) {
            char *text = cJSON_PrintUnformatted(item);
            if (!text || keep_printed(p, text)) {
                cJSON_free(text);
                return sv_error(SCIVEC_ENOMEM, "%s:%ld: out of memory", p->path, p->record_line);
            }
            value = text;
        }
        p->out_fields[col] = value;
        p->out_lens[col] = strlen(value);
    }
    *fields = p->out_fields;
    *lens = p->out_lens;
    return 1;
}

const char *sv_papers_field_json_type(const sv_papers *p, int col) {
    if (p->format != SV_PAPERS_JSONL || !p->object || col < 0 || col >= p->n_columns) return NULL;
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(p->object, p->columns[col]);
    if (!item || cJSON_IsString(item) || cJSON_IsNull(item)) return NULL;
    if (cJSON_IsNumber(item)) return "number";
    if (cJSON_IsBool(item)) return "boolean";
    if (cJSON_IsArray(item)) return "array";
    return "object";
}

/* ------------------------------------------------------------------------ */
/* Opening                                                                   */

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    if (n < m) return 0;
    for (size_t i = 0; i < m; i++) {
        char c = s[n - m + i];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (c != suffix[i]) return 0;
    }
    return 1;
}

static int detect_format(const char *path, sv_papers_format *format) {
    if (ends_with(path, ".jsonl") || ends_with(path, ".json") || ends_with(path, ".ndjson")) {
        *format = SV_PAPERS_JSONL;
        return SCIVEC_OK;
    }
    *format = SV_PAPERS_CSV;
    if (ends_with(path, ".csv")) return SCIVEC_OK;
    FILE *f = fopen(path, "rb");
    if (!f)
        return sv_error(errno == ENOENT ? SCIVEC_ENOTFOUND : SCIVEC_EIO, "%s: %s", path,
                        strerror(errno));
    unsigned char head[4096];
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    size_t i = n >= 3 && !memcmp(head, "\xEF\xBB\xBF", 3) ? 3 : 0;
    while (i < n && (head[i] == ' ' || head[i] == '\t' || head[i] == '\r' || head[i] == '\n')) i++;
    if (i < n && head[i] == '{') *format = SV_PAPERS_JSONL;
    return SCIVEC_OK;
}

int sv_papers_open(const char *path, sv_papers **out) {
    *out = NULL;
    sv_papers *p = calloc(1, sizeof *p);
    if (!p) return sv_error(SCIVEC_ENOMEM, "out of memory");
    p->path = strdup(path);
    if (!p->path) {
        free(p);
        return sv_error(SCIVEC_ENOMEM, "out of memory");
    }
    int rc = detect_format(path, &p->format);
    if (!rc) rc = p->format == SV_PAPERS_CSV ? csv_open(p) : jsonl_open(p);
    if (rc) {
        sv_papers_close(p);
        return rc;
    }
    *out = p;
    return SCIVEC_OK;
}

int sv_papers_next(sv_papers *p, const char *const **fields, const size_t **lens) {
    *fields = NULL;
    *lens = NULL;
    return p->format == SV_PAPERS_CSV ? csv_next(p, fields, lens) : jsonl_next(p, fields, lens);
}

void sv_papers_close(sv_papers *p) {
    if (!p) return;
    if (p->file) fclose(p->file);
    if (p->parser_ready) csv_free(&p->parser);
    free(p->block);
    fields_free(&p->building);
    fields_free(&p->record);
    sv_jsonl_close(p->jsonl);
    cJSON_Delete(p->object);
    cJSON_Delete(p->peeked);
    for (int i = 0; i < p->n_pending; i++) free(p->pending[i].message);
    free(p->pending);
    free_printed(p);
    free(p->printed);
    for (int i = 0; i < p->n_columns; i++) free(p->columns[i]);
    free(p->columns);
    free(p->out_fields);
    free(p->out_lens);
    free(p->path);
    free(p);
}

/* ------------------------------------------------------------------------ */
/* Counting                                                                  */

static int count_jsonl_lines(const char *path, int64_t *n_records) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return sv_error(errno == ENOENT ? SCIVEC_ENOTFOUND : SCIVEC_EIO, "%s: %s", path,
                        strerror(errno));
    char *block = malloc(READ_BLOCK);
    if (!block) {
        fclose(f);
        return sv_error(SCIVEC_ENOMEM, "out of memory");
    }
    int64_t n = 0;
    int line_has_text = 0, first_block = 1;
    size_t got;
    while ((got = fread(block, 1, READ_BLOCK, f)) > 0) {
        size_t start = first_block && got >= 3 && !memcmp(block, "\xEF\xBB\xBF", 3) ? 3 : 0;
        first_block = 0;
        for (size_t i = start; i < got; i++) {
            char c = block[i];
            if (c == '\n') {
                n += line_has_text;
                line_has_text = 0;
            } else if (c != ' ' && c != '\t' && c != '\r') {
                line_has_text = 1;
            }
        }
    }
    n += line_has_text;
    int failed = ferror(f);
    free(block);
    fclose(f);
    if (failed) return sv_error(SCIVEC_EIO, "%s: read error", path);
    *n_records = n;
    return SCIVEC_OK;
}

int sv_papers_count(const char *path, int64_t *n_records) {
    *n_records = 0;
    sv_papers_format format;
    int rc = detect_format(path, &format);
    if (rc) return rc;
    if (format == SV_PAPERS_JSONL) return count_jsonl_lines(path, n_records);
    sv_papers *p;
    rc = sv_papers_open(path, &p);
    if (rc) return rc;
    const char *const *fields;
    const size_t *lens;
    while ((rc = sv_papers_next(p, &fields, &lens)) != 0)
        if (rc != 1 && rc != SCIVEC_EFORMAT) break;
    *n_records = sv_papers_records_read(p);
    sv_papers_close(p);
    return rc == 0 ? SCIVEC_OK : rc;
}
