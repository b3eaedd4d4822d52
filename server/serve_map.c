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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "serve.h"

#define MAP_NO_CATEGORY 65535

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static char *cache_body;
static size_t cache_len;
static struct stat cache_stat;
static int cache_generation; /* the serve_data it was built from (SIGHUP) */

typedef struct category_count {
    char *name;
    int64_t count;
    int order; /* index in the order first seen (cat_of_row's) */
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

/* What read_paper gathers from papers.db, in row order: ids, titles and
 * primary categories. */
typedef struct papers_acc {
    int64_t n; /* rows map.npy has */
    cJSON *ids, *titles;
    category_count *cats;
    int n_cats;
    uint16_t *cat_of_row;
} papers_acc;

static int read_paper(int64_t row, const scivec_paper *p, void *user) {
    papers_acc *acc = user;
    if (row >= acc->n) return SCIVEC_EFORMAT;
    cJSON_AddItemToArray(acc->ids, cJSON_CreateString(p->paper_id ? p->paper_id : ""));
    cJSON_AddItemToArray(acc->titles, cJSON_CreateString(p->title ? p->title : ""));
    char *cat = primary_category(p->categories);
    acc->cat_of_row[row] = MAP_NO_CATEGORY;
    if (!cat) return SCIVEC_OK;
    int c = 0;
    while (c < acc->n_cats && strcmp(acc->cats[c].name, cat)) c++;
    if (c == acc->n_cats) {
        if (acc->n_cats == MAP_NO_CATEGORY) {
            free(cat);
            return SCIVEC_OK;
        }
        category_count *grown = realloc(acc->cats, (size_t)(acc->n_cats + 1) * sizeof *acc->cats);
        if (!grown) {
            free(cat);
            return SCIVEC_ENOMEM;
        }
        acc->cats = grown;
        acc->cats[acc->n_cats] = (category_count){cat, 0, acc->n_cats};
        acc->n_cats++;
    } else {
        free(cat);
    }
    acc->cats[c].count++;
    acc->cat_of_row[row] = (uint16_t)c;
    return SCIVEC_OK;
}

/* papers.db in row order into acc; 0 when it holds exactly acc->n rows. */
static int read_papers(const scivec_outdir *od, papers_acc *acc) {
    if (scivec_outdir_each_paper(od, read_paper, acc) != SCIVEC_OK) return -1;
    return cJSON_GetArraySize(acc->ids) == acc->n ? 0 : -1;
}

/* metadata.json's "map" member as it is now (`scivec map` may have run
 * since the server read metadata.json), or JSON null. */
static cJSON *read_map_record(const char *dir) {
    char *text = NULL;
    cJSON *record = NULL;
    if (scivec_map_record(dir, &text) == SCIVEC_OK) record = cJSON_Parse(text);
    scivec_free(text);
    return record ? record : cJSON_CreateNull();
}

/* The whole answer (malloc'ed) or NULL with a reply already set. */
static char *build_body(const scivec_outdir *od, size_t *len_out, serve_reply *r) {
    float *xy = NULL;
    int64_t n = 0, cols = 0;
    char *body = NULL, *json_text = NULL;
    papers_acc acc = {.ids = cJSON_CreateArray(), .titles = cJSON_CreateArray()};
    cJSON *json = cJSON_CreateObject(), *names = cJSON_CreateArray();
    int64_t n_papers = scivec_outdir_n_papers(od);
    if (scivec_map_read(scivec_outdir_path(od), &xy, &n, &cols) != SCIVEC_OK) {
        serve_error(r, 500, "%s", scivec_last_error());
        goto done;
    }
    if (cols != 2 || n != n_papers) {
        serve_error(r, 409, "map.npy holds [%lld, %lld] for %lld papers: rerun `scivec map`",
                    (long long)n, (long long)cols, (long long)n_papers);
        goto done;
    }
    acc.n = n;
    if (!json || !acc.ids || !acc.titles || !names ||
        !(acc.cat_of_row = malloc((size_t)(n ? n : 1) * 2))) {
        serve_error(r, 500, "out of memory");
        goto done;
    }
    if (read_papers(od, &acc)) {
        serve_error(r, 500, "papers.db rows do not match map.npy");
        goto done;
    }
    /* categories by count, most first: the page colours the first ones */
    qsort(acc.cats, (size_t)acc.n_cats, sizeof *acc.cats, by_count);
    uint16_t *renumber = malloc((size_t)(acc.n_cats ? acc.n_cats : 1) * sizeof *renumber);
    if (!renumber) {
        serve_error(r, 500, "out of memory");
        goto done;
    }
    for (int c = 0; c < acc.n_cats; c++) renumber[acc.cats[c].order] = (uint16_t)c;
    for (int64_t i = 0; i < n; i++)
        if (acc.cat_of_row[i] != MAP_NO_CATEGORY) acc.cat_of_row[i] = renumber[acc.cat_of_row[i]];
    free(renumber);
    for (int c = 0; c < acc.n_cats; c++)
        cJSON_AddItemToArray(names, cJSON_CreateString(acc.cats[c].name));
    cJSON_AddItemToObject(json, "categories", names);
    cJSON_AddItemToObject(json, "ids", acc.ids);
    cJSON_AddItemToObject(json, "titles", acc.titles);
    names = acc.ids = acc.titles = NULL;
    cJSON_AddItemToObject(json, "map", read_map_record(scivec_outdir_path(od)));
    if (!(json_text = cJSON_PrintUnformatted(json))) {
        serve_error(r, 500, "out of memory");
        goto done;
    }
    size_t json_len = strlen(json_text);
    size_t cat_bytes = ((size_t)n * 2 + 3) & ~(size_t)3;
    size_t len = 16 + (size_t)n * 8 + cat_bytes + json_len;
    if (!(body = calloc(1, len))) {
        serve_error(r, 500, "out of memory");
        goto done;
    }
    memcpy(body, "SVMAP001", 8);
    uint32_t head[2] = {(uint32_t)n, (uint32_t)json_len}; /* little-endian hosts only (x86, arm) */
    memcpy(body + 8, head, 8);
    memcpy(body + 16, xy, (size_t)n * 8);
    memcpy(body + 16 + (size_t)n * 8, acc.cat_of_row, (size_t)n * 2);
    memcpy(body + 16 + (size_t)n * 8 + cat_bytes, json_text, json_len);
    *len_out = len;
done:
    scivec_free(xy);
    free(json_text);
    free(acc.cat_of_row);
    for (int c = 0; c < acc.n_cats; c++) free(acc.cats[c].name);
    free(acc.cats);
    cJSON_Delete(json);
    cJSON_Delete(acc.ids);
    cJSON_Delete(acc.titles);
    cJSON_Delete(names);
    return body;
}

static void serve_handle_map_of(const scivec_outdir *od, int generation, serve_reply *r);

void serve_handle_map(serve_ctx *ctx, serve_reply *r) {
    /* one folder for the whole answer, even if SIGHUP swaps in another */
    serve_reader reader = serve_reader_acquire(ctx);
    serve_handle_map_of(reader.od, reader.data->generation, r);
    serve_reader_release(ctx, reader);
}

static void serve_handle_map_of(const scivec_outdir *od, int generation, serve_reply *r) {
    const char *dir = scivec_outdir_path(od);
    char *path = malloc(strlen(dir) + sizeof "/map.npy"), *copy = NULL;
    struct stat st;
    if (!path) {
        serve_error(r, 500, "out of memory");
        goto done;
    }
    sprintf(path, "%s/map.npy", dir);
    if (stat(path, &st) != 0) {
        serve_error(r, 404, "no map: run `scivec map DIR` first");
        goto done;
    }
    pthread_mutex_lock(&cache_lock);
    if (!cache_body || generation != cache_generation || st.st_size != cache_stat.st_size ||
        st.st_mtim.tv_sec != cache_stat.st_mtim.tv_sec ||
        st.st_mtim.tv_nsec != cache_stat.st_mtim.tv_nsec) {
        size_t len = 0;
        char *body = build_body(od, &len, r);
        if (!body) {
            pthread_mutex_unlock(&cache_lock);
            goto done;
        }
        free(cache_body);
        cache_body = body;
        cache_len = len;
        cache_stat = st;
        cache_generation = generation;
    }
    /* a copy per answer: a rebuild may free the cache while one is sent */
    if ((copy = malloc(cache_len))) memcpy(copy, cache_body, cache_len);
    size_t len = cache_len;
    pthread_mutex_unlock(&cache_lock);
    if (!copy) {
        serve_error(r, 500, "out of memory");
        goto done;
    }
    r->status = 200;
    r->content_type = "application/octet-stream";
    r->body = copy;
    r->body_len = len;
    r->is_static = 0;
done:
    free(path);
}
