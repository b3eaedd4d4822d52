/*
 * serve_map.c - GET /map: the 2-D map of `scivec map` (DIR/map.npy) with
 * what the page needs to draw it, in one compact binary answer
 * (application/octet-stream, little-endian; docs/SERVER.md):
 *
 *   0   "SVMAP001"
 *   8   uint32 n, uint32 json_len
 *   16  float32 xy[2n]          row i of papers.db at (xy[2i], xy[2i+1])
 *       uint16  category[n]     index into "categories" (primary = first
 *                               listed; 65535 = none), padded to 4 bytes
 *       json_len bytes of UTF-8 JSON: {"categories": [most papers first],
 *       "ids": [...], "titles": [...], "map": metadata.json's "map"}
 *
 * Built once from map.npy and papers.db and kept; rebuilt when map.npy
 * changes (size or mtime), so `scivec map` can rerun under a live server.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "../src/core/error.h"
#include "../src/core/files.h"
#include "../src/outputs/npy.h"
#include "serve.h"

#define MAP_NO_CATEGORY 65535

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static char  *cache_body;
static size_t cache_len;
static struct stat cache_stat;
static int    cache_generation;   /* the serve_data it was built from (SIGHUP) */

typedef struct category_count {
    char   *name;
    int64_t count;
    int     order;    /* index in the order first seen (cat_of_row's) */
} category_count;

static int by_count(const void *pa, const void *pb) {
    const category_count *a = pa, *b = pb;
    if (a->count != b->count) return a->count > b->count ? -1 : 1;
    return strcmp(a->name, b->name);
}

/* The first word of a space-separated category list (malloc'ed), or NULL. */
static char *primary_category(const char *categories) {
    if (!categories) return NULL;
    while (*categories == ' ') categories++;
    size_t len = strcspn(categories, " ");
    return len ? strndup(categories, len) : NULL;
}

/* papers.db in row order: ids, titles and primary categories */
static int read_papers(const sv_outdir *od, int64_t n, cJSON *ids, cJSON *titles,
                       category_count **cats_out, int *n_cats_out, uint16_t *cat_of_row) {
    sqlite3_stmt *st;
    category_count *cats = NULL;
    int n_cats = 0, rc = -1;
    if (sqlite3_prepare_v2(od->db, "SELECT row, paper_id, title, categories FROM papers ORDER BY row",
                           -1, &st, NULL) != SQLITE_OK) return -1;
    int64_t expect = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t row = sqlite3_column_int64(st, 0);
        if (row != expect || row >= n) goto done;
        expect++;
        const char *id = (const char *)sqlite3_column_text(st, 1);
        const char *title = (const char *)sqlite3_column_text(st, 2);
        cJSON_AddItemToArray(ids, cJSON_CreateString(id ? id : ""));
        cJSON_AddItemToArray(titles, cJSON_CreateString(title ? title : ""));
        char *cat = primary_category((const char *)sqlite3_column_text(st, 3));
        cat_of_row[row] = MAP_NO_CATEGORY;
        if (!cat) continue;
        int c = 0;
        while (c < n_cats && strcmp(cats[c].name, cat)) c++;
        if (c == n_cats) {
            if (n_cats == MAP_NO_CATEGORY) { free(cat); continue; }
            category_count *grown = realloc(cats, (size_t)(n_cats + 1) * sizeof *cats);
            if (!grown) { free(cat); goto done; }
            cats = grown;
            cats[n_cats] = (category_count){cat, 0, n_cats};
            n_cats++;
        } else {
            free(cat);
        }
        cats[c].count++;
        cat_of_row[row] = (uint16_t)c;
    }
    if (expect == n) rc = 0;
done:
    sqlite3_finalize(st);
    *cats_out = cats;
    *n_cats_out = n_cats;
    return rc;
}

/* metadata.json's "map" member as it is now (`scivec map` may have run
 * since the server read metadata.json), or JSON null. */
static cJSON *read_map_record(const char *dir) {
    char *path = sv_path_join(dir, "metadata.json"), *text = NULL;
    size_t size;
    cJSON *record = NULL;
    if (path && sv_read_file(path, &text, &size) == SCIVEC_OK) {
        cJSON *meta = cJSON_ParseWithLength(text, size);
        record = cJSON_DetachItemFromObjectCaseSensitive(meta, "map");
        cJSON_Delete(meta);
    }
    free(path);
    free(text);
    return record ? record : cJSON_CreateNull();
}

/* The whole answer (malloc'ed) or NULL with a reply already set. */
static char *build_body(const sv_outdir *od, const char *path, size_t *len_out, serve_reply *r) {
    float *xy = NULL;
    int64_t n = 0, cols = 0;
    char *body = NULL, *json_text = NULL;
    uint16_t *cat_of_row = NULL;
    category_count *cats = NULL;
    int n_cats = 0;
    cJSON *json = cJSON_CreateObject(), *ids = cJSON_CreateArray(), *titles = cJSON_CreateArray();
    cJSON *names = cJSON_CreateArray();
    if (sv_npy_read(path, &xy, &n, &cols) != SCIVEC_OK) {
        serve_error(r, 500, "%s", scivec_last_error());
        goto done;
    }
    if (cols != 2 || n != od->n_rows) {
        serve_error(r, 409, "map.npy holds [%lld, %lld] for %lld papers: rerun `scivec map`",
                    (long long)n, (long long)cols, (long long)od->n_rows);
        goto done;
    }
    if (!json || !ids || !titles || !names || !(cat_of_row = malloc((size_t)(n ? n : 1) * 2))) {
        serve_error(r, 500, "out of memory");
        goto done;
    }
    if (read_papers(od, n, ids, titles, &cats, &n_cats, cat_of_row)) {
        serve_error(r, 500, "papers.db rows do not match map.npy");
        goto done;
    }
    /* categories by count, most first: the page colours the first ones */
    qsort(cats, (size_t)n_cats, sizeof *cats, by_count);
    uint16_t *renumber = malloc((size_t)(n_cats ? n_cats : 1) * sizeof *renumber);
    if (!renumber) { serve_error(r, 500, "out of memory"); goto done; }
    for (int c = 0; c < n_cats; c++) renumber[cats[c].order] = (uint16_t)c;
    for (int64_t i = 0; i < n; i++)
        if (cat_of_row[i] != MAP_NO_CATEGORY) cat_of_row[i] = renumber[cat_of_row[i]];
    free(renumber);
    for (int c = 0; c < n_cats; c++) cJSON_AddItemToArray(names, cJSON_CreateString(cats[c].name));
    cJSON_AddItemToObject(json, "categories", names);
    cJSON_AddItemToObject(json, "ids", ids);
    cJSON_AddItemToObject(json, "titles", titles);
    names = ids = titles = NULL;
    cJSON_AddItemToObject(json, "map", read_map_record(od->dir));
    if (!(json_text = cJSON_PrintUnformatted(json))) { serve_error(r, 500, "out of memory"); goto done; }
    size_t json_len = strlen(json_text);
    size_t cat_bytes = ((size_t)n * 2 + 3) & ~(size_t)3;
    size_t len = 16 + (size_t)n * 8 + cat_bytes + json_len;
    if (!(body = calloc(1, len))) { serve_error(r, 500, "out of memory"); goto done; }
    memcpy(body, "SVMAP001", 8);
    uint32_t head[2] = {(uint32_t)n, (uint32_t)json_len};   /* little-endian hosts only (x86, arm) */
    memcpy(body + 8, head, 8);
    memcpy(body + 16, xy, (size_t)n * 8);
    memcpy(body + 16 + (size_t)n * 8, cat_of_row, (size_t)n * 2);
    memcpy(body + 16 + (size_t)n * 8 + cat_bytes, json_text, json_len);
    *len_out = len;
done:
    free(xy);
    free(json_text);
    free(cat_of_row);
    for (int c = 0; c < n_cats; c++) free(cats[c].name);
    free(cats);
    cJSON_Delete(json);
    cJSON_Delete(ids);
    cJSON_Delete(titles);
    cJSON_Delete(names);
    return body;
}

static void serve_handle_map_of(const sv_outdir *od, int generation, serve_reply *r);

void serve_handle_map(serve_ctx *ctx, serve_reply *r) {
    /* one folder for the whole answer, even if SIGHUP swaps in another */
    serve_reader reader = serve_reader_acquire(ctx);
    serve_handle_map_of(reader.od, reader.data->generation, r);
    serve_reader_release(ctx, reader);
}

static void serve_handle_map_of(const sv_outdir *od, int generation, serve_reply *r) {
    char *path = sv_path_join(od->dir, "map.npy");
    struct stat st;
    if (!path) { serve_error(r, 500, "out of memory"); return; }
    if (stat(path, &st) != 0) {
        free(path);
        serve_error(r, 404, "no map: run `scivec map DIR` first");
        return;
    }
    pthread_mutex_lock(&cache_lock);
    if (!cache_body || generation != cache_generation || st.st_size != cache_stat.st_size ||
        st.st_mtim.tv_sec != cache_stat.st_mtim.tv_sec || st.st_mtim.tv_nsec != cache_stat.st_mtim.tv_nsec) {
        size_t len = 0;
        char *body = build_body(od, path, &len, r);
        if (!body) {
            pthread_mutex_unlock(&cache_lock);
            free(path);
            return;
        }
        free(cache_body);
        cache_body = body;
        cache_len = len;
        cache_stat = st;
        cache_generation = generation;
    }
    /* a copy per answer: a rebuild may free the cache while one is sent */
    char *copy = malloc(cache_len);
    if (copy) memcpy(copy, cache_body, cache_len);
    size_t len = cache_len;
    pthread_mutex_unlock(&cache_lock);
    free(path);
    if (!copy) { serve_error(r, 500, "out of memory"); return; }
    r->status = 200;
    r->content_type = "application/octet-stream";
    r->body = copy;
    r->body_len = len;
    r->is_static = 0;
}
