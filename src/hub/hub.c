/*
 * hub.c - downloads from the HuggingFace hub into the huggingface_hub cache
 * (layout in hub.h), speaking the protocol huggingface_hub speaks:
 *
 *   GET  {endpoint}/api/models/{repo}/revision/{rev}  -> {"sha", "siblings"}
 *   HEAD {endpoint}/{repo}/resolve/{commit}/{file}    (redirects not followed)
 *        -> X-Repo-Commit, ETag / X-Linked-Etag (sha256 of LFS files),
 *           X-Linked-Size / Content-Length, and for LFS a 302 to the CDN
 *   GET  the CDN location (no token) or the resolve URL, with Range to resume
 *
 * A blob is written to blobs/<etag>.incomplete and renamed into place only
 * when its size is right and, for LFS files, its sha256 equals the etag, so
 * a cut transfer or a corrupted one never sits under the final name.
 */
#define _GNU_SOURCE
#include "hub/hub.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "core/error.h"
#include "core/files.h"
#include "core/sha256.h"

enum {
    MAX_RETRIES = 4,                 /* resumed attempts after a cut transfer */
    MAX_API_BYTES = 64 << 20,        /* a repo listing; real ones are far smaller */
    MAX_SMALL_JSON_BYTES = 16 << 20, /* model.safetensors.index.json */
};

/* ------------------------------------------------------------------------ */
/* Environment                                                               */

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

char *sv_hub_cache_dir(void) {
    const char *env = getenv("HF_HUB_CACHE");
    if (env && *env) return strdup(env);
    env = getenv("HF_HOME");
    if (env && *env) return sv_path_join(env, "hub");
    const char *home = getenv("HOME");
    if (!home || !*home) home = ".";
    return sv_path_join(home, ".cache/huggingface/hub");
}

char *sv_hub_endpoint(void) {
    const char *env = getenv("HF_ENDPOINT");
    char *endpoint = strdup(env && *env ? env : "https://huggingface.co");
    if (!endpoint) return NULL;
    size_t n = strlen(endpoint);
    while (n > 0 && endpoint[n - 1] == '/') endpoint[--n] = '\0';
    return endpoint;
}

static int env_true(const char *name) {
    const char *v = getenv(name);
    if (!v) return 0;
    return !strcasecmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
           !strcasecmp(v, "on");
}

int sv_hub_offline(void) { return env_true("HF_HUB_OFFLINE"); }

static void trim(char *s) {
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    size_t lead = strspn(s, " \t\r\n");
    memmove(s, s + lead, n - lead + 1);
}

/* $HF_TOKEN, else the token file huggingface-cli login writes. NULL if none. */
static char *hub_token(void) {
    const char *env = getenv("HF_TOKEN");
    if (!env || !*env) env = getenv("HUGGING_FACE_HUB_TOKEN");
    char *token = NULL;
    if (env && *env) {
        token = strdup(env);
    } else {
        char *path = NULL;
        const char *p = getenv("HF_TOKEN_PATH");
        if (p && *p)
            path = strdup(p);
        else if ((p = getenv("HF_HOME")) && *p)
            path = sv_path_join(p, "token");
        else if ((p = getenv("HOME")) && *p)
            path = sv_path_join(p, ".cache/huggingface/token");
        size_t len;
        if (path && sv_file_exists(path) && sv_read_file(path, &token, &len) != SCIVEC_OK)
            token = NULL;
        free(path);
        sv_clear_error();
    }
    if (token) trim(token);
    if (token && !*token) {
        free(token);
        token = NULL;
    }
    // a token goes into an HTTP header: no line breaks or control bytes
    for (char *c = token; c && *c; c++)
        if ((unsigned char)*c < 0x20) {
            free(token);
            return NULL;
        }
    return token;
}

/* ------------------------------------------------------------------------ */
/* Repo ids and cache paths                                                  */

/* Repo ids, revisions and commits may not climb out of the cache. */
static int safe_component(const char *s, size_t n) {
    if (n == 0 || n > 200) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(isalnum(c) || c == '-' || c == '_' || c == '.')) return 0;
    }
    return !(n == 1 && s[0] == '.') && !memmem(s, n, "..", 2);
}

/* A file name from the hub's listing: safe components separated by '/'. */
static int safe_file_name(const char *name) {
    size_t n = strlen(name);
    if (n == 0 || n > 400) return 0;
    for (const char *part = name;;) {
        const char *slash = strchr(part, '/');
        size_t len = slash ? (size_t)(slash - part) : strlen(part);
        if (!safe_component(part, len)) return 0;
        if (!slash) return 1;
        part = slash + 1;
    }
}

int sv_hub_parse_ref(const char *model, sv_hub_ref *ref) {
    memset(ref, 0, sizeof *ref);
    const char *at = strchr(model, '@');
    size_t id_len = at ? (size_t)(at - model) : strlen(model);
    const char *rev = at ? at + 1 : "main";
    const char *slash = memchr(model, '/', id_len);
    int ok = safe_component(rev, strlen(rev));
    if (ok && slash) {
        size_t org_len = (size_t)(slash - model), name_len = id_len - org_len - 1;
        ok = safe_component(model, org_len) && safe_component(slash + 1, name_len);
        if (ok)
            snprintf(ref->folder, sizeof ref->folder, "models--%.*s--%.*s", (int)org_len, model,
                     (int)name_len, slash + 1);
    } else if (ok) {
        // old un-namespaced repos ("bert-base-uncased")
        ok = safe_component(model, id_len);
        if (ok) snprintf(ref->folder, sizeof ref->folder, "models--%.*s", (int)id_len, model);
    }
    if (!ok)
        return sv_error(SCIVEC_ENOTFOUND,
                        "model '%s' is neither a directory nor a "
                        "HuggingFace repo id (ORG/NAME[@REVISION])",
                        model);
    snprintf(ref->repo_id, sizeof ref->repo_id, "%.*s", (int)id_len, model);
    snprintf(ref->revision, sizeof ref->revision, "%s", rev);
    return SCIVEC_OK;
}

static char *path_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *path_fmt(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0) s = NULL;
    va_end(ap);
    return s;
}

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *path) { /* follows symlinks: a dangling one is no file */
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int has_file(const char *dir, const char *name) {
    char *p = sv_path_join(dir, name);
    int yes = p && is_file(p);
    free(p);
    return yes;
}

/* Whether every shard model.safetensors.index.json names is there (a fetch
 * cut between shards leaves the index without them). */
static int shards_present(const char *dir) {
    char *index_path = sv_path_join(dir, "model.safetensors.index.json");
    char *text = NULL;
    size_t len = 0;
    int ok = index_path && sv_read_file(index_path, &text, &len) == SCIVEC_OK;
    sv_clear_error();
    cJSON *index = ok ? cJSON_ParseWithLength(text, len) : NULL;
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(index, "weight_map"), *item;
    ok = cJSON_IsObject(map);
    if (!ok) map = NULL;
    cJSON_ArrayForEach(item, map) if (!cJSON_IsString(item) || !safe_file_name(item->valuestring) ||
                                      !has_file(dir, item->valuestring)) {
        ok = 0;
        break;
    }
    cJSON_Delete(index);
    free(text);
    free(index_path);
    return ok;
}

/* What scivec needs to run from a snapshot: a model or an adapter. Weights
 * are fetched last, so their presence means the rest came too. */
static int snapshot_complete(const char *dir) {
    int model_weights = has_file(dir, "model.safetensors") ||
                        (has_file(dir, "model.safetensors.index.json") && shards_present(dir)) ||
                        has_file(dir, "pytorch_model.bin");
    int adapter_weights =
        has_file(dir, "pytorch_adapter.bin") || has_file(dir, "adapter.safetensors");
    return (has_file(dir, "config.json") && model_weights) ||
           (has_file(dir, "adapter_config.json") && adapter_weights);
}

char *sv_hub_cached_snapshot(const char *cache, const sv_hub_ref *ref, int *complete) {
    *complete = 0;
    char *ref_path = path_fmt("%s/%s/refs/%s", cache, ref->folder, ref->revision);
    if (!ref_path) return NULL;
    char *commit = NULL;
    size_t len = 0;
    if (sv_read_file(ref_path, &commit, &len) == SCIVEC_OK) {
        trim(commit);
        if (!safe_component(commit, strlen(commit))) {
            free(commit);
            commit = NULL;
        }
    } else {
        commit = strdup(ref->revision); // a pinned commit is its own snapshot name
    }
    sv_clear_error();
    free(ref_path);
    if (!commit) return NULL;
    char *snapshot = path_fmt("%s/%s/snapshots/%s", cache, ref->folder, commit);
    free(commit);
    if (snapshot && !is_dir(snapshot)) {
        free(snapshot);
        return NULL;
    }
    if (snapshot) *complete = snapshot_complete(snapshot);
    return snapshot;
}

/* mkdir -p of the folder part of path (everything before the last '/'). */
static int make_parent_dirs(const char *path) {
    char *p = strdup(path);
    if (!p) return sv_error(SCIVEC_ENOMEM, "out of memory");
    char *last = strrchr(p, '/');
    if (!last || last == p) {
        free(p);
        return SCIVEC_OK;
    }
    *last = '\0';
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0') continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            int rc = sv_error(SCIVEC_EIO, "cannot create folder %s: %s", p, strerror(errno));
            free(p);
            return rc;
        }
        *s = c;
        if (c == '\0') break;
    }
    free(p);
    return SCIVEC_OK;
}

/* ------------------------------------------------------------------------ */
/* HTTP with libcurl                                                         */

static sv_hub_progress_fn progress_fn;
static void *progress_ctx;

void sv_hub_set_progress(sv_hub_progress_fn fn, void *ctx) {
    progress_fn = fn;
    progress_ctx = ctx;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_status = CURLE_FAILED_INIT;
static void curl_init(void) { curl_init_status = curl_global_init(CURL_GLOBAL_DEFAULT); }

typedef struct hub_ctx {
    const char *cache;
    const sv_hub_ref *ref;
    char *endpoint;
    char *token;
    struct curl_slist *hub_headers; /* with the token: for the hub itself */
    struct curl_slist *cdn_headers; /* without: for redirected downloads  */
    int unreachable;
} hub_ctx;

/* The response headers huggingface_hub looks at. */
typedef struct hub_headers {
    char commit[128], etag[256], linked_etag[256], error_code[64], error_message[256];
    char location[2048];
    int64_t linked_size, content_length;
} hub_headers;

static void header_value(char *dst, size_t cap, const char *value, size_t len) {
    while (len > 0 && (value[len - 1] == '\r' || value[len - 1] == '\n' || value[len - 1] == ' '))
        len--;
    while (len > 0 && *value == ' ') {
        value++;
        len--;
    }
    if (len >= cap) len = cap - 1;
    memcpy(dst, value, len);
    dst[len] = '\0';
}

static size_t on_header(char *line, size_t size, size_t n, void *user) {
    hub_headers *h = user;
    size_t len = size * n;
    if (len >= 5 && !strncmp(line, "HTTP/", 5)) { // a new response (after a redirect)
        memset(h, 0, sizeof *h);
        h->linked_size = h->content_length = -1;
        return len;
    }
    const char *colon = memchr(line, ':', len);
    if (!colon) return len;
    size_t name_len = (size_t)(colon - line);
    const char *value = colon + 1;
    size_t value_len = len - name_len - 1;
    char buf[32];
#define IS(name) (name_len == strlen(name) && !strncasecmp(line, name, name_len))
    if (IS("x-repo-commit"))
        header_value(h->commit, sizeof h->commit, value, value_len);
    else if (IS("etag"))
        header_value(h->etag, sizeof h->etag, value, value_len);
    else if (IS("x-linked-etag"))
        header_value(h->linked_etag, sizeof h->linked_etag, value, value_len);
    else if (IS("x-error-code"))
        header_value(h->error_code, sizeof h->error_code, value, value_len);
    else if (IS("x-error-message"))
        header_value(h->error_message, sizeof h->error_message, value, value_len);
    else if (IS("location"))
        header_value(h->location, sizeof h->location, value, value_len);
    else if (IS("x-linked-size") || IS("content-length")) {
        header_value(buf, sizeof buf, value, value_len);
        char *end;
        long long v = strtoll(buf, &end, 10);
        if (end != buf && *end == '\0' && v >= 0) {
            if (IS("x-linked-size"))
                h->linked_size = v;
            else
                h->content_length = v;
        }
    }
#undef IS
    return len;
}

static CURL *hub_easy(hub_ctx *hub, const char *url, int with_token, hub_headers *headers) {
    CURL *c = curl_easy_init();
    if (!c) return NULL;
    memset(headers, 0, sizeof *headers);
    headers->linked_size = headers->content_length = -1;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "scivec/" SCIVEC_VERSION);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, with_token ? hub->hub_headers : hub->cdn_headers);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, headers);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    // a stalled transfer (< 1 byte/s for 30 s) is cut, then resumed
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 30L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#endif
    return c;
}

static int is_unreachable(CURLcode rc) {
    return rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_RESOLVE_PROXY ||
           rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT;
}

static int curl_failure(hub_ctx *hub, CURLcode rc, const char *url, const char *curl_msg) {
    const char *why = curl_msg && *curl_msg ? curl_msg : curl_easy_strerror(rc);
    if (is_unreachable(rc)) {
        hub->unreachable = 1;
        return sv_error(SCIVEC_EIO,
                        "cannot reach the hub at %s (%s); to work offline copy the "
                        "model folder and pass its path",
                        hub->endpoint, why);
    }
    return sv_error(SCIVEC_EIO, "%s: %s", url, why);
}

/* One line for a refusal, as huggingface_hub tells them apart: X-Error-Code
 * first (the hub answers 401 for a repo that does not exist, to hide private
 * ones), then the status. */
static int http_failure(hub_ctx *hub, long code, const hub_headers *h, const char *url,
                        const char *file) {
    const char *repo = hub->ref->repo_id, *rev = hub->ref->revision;
    const char *detail = h->error_message[0] ? h->error_message : "";
    if (!strcmp(h->error_code, "RepoNotFound") || (code == 404 && !file && !h->error_code[0]))
        return sv_error(SCIVEC_ENOTFOUND,
                        "repository '%s' not found on the hub at %s (HTTP %ld%s%s)%s", repo,
                        hub->endpoint, code, *detail ? ": " : "", detail,
                        hub->token ? ""
                                   : "; if it is private or gated, set HF_TOKEN to an "
                                     "access token that can read it");
    if (!strcmp(h->error_code, "RevisionNotFound"))
        return sv_error(SCIVEC_ENOTFOUND,
                        "revision '%s' not found in repository '%s' on the hub "
                        "at %s (HTTP %ld)",
                        rev, repo, hub->endpoint, code);
    if (!strcmp(h->error_code, "EntryNotFound") || (code == 404 && file))
        return sv_error(SCIVEC_ENOTFOUND,
                        "file '%s' not found in repository '%s' at revision "
                        "'%s' (HTTP %ld, %s)",
                        file ? file : "?", repo, rev, code, url);
    if (!strcmp(h->error_code, "GatedRepo"))
        return sv_error(SCIVEC_EIO,
                        "repository '%s' is gated: accept its conditions on the hub "
                        "and set HF_TOKEN to a token of that account (HTTP %ld)",
                        repo, code);
    if (code == 401)
        return sv_error(SCIVEC_EIO,
                        hub->token
                            ? "the hub at %s refused the token (HTTP 401 unauthorized) for '%s': "
                              "check HF_TOKEN (or the saved token file) holds a valid access token"
                            : "the hub at %s needs a token for '%s' (HTTP 401 unauthorized): set "
                              "HF_TOKEN to an access token that can read it",
                        hub->endpoint, repo);
    if (code == 403)
        return sv_error(SCIVEC_EIO,
                        "the token in HF_TOKEN may not read '%s' (HTTP 403 forbidden "
                        "from %s)%s%s",
                        repo, hub->endpoint, *detail ? ": " : "", detail);
    return sv_error(SCIVEC_EIO, "the hub answered HTTP %ld for %s%s%s", code, url,
                    *detail ? ": " : "", detail);
}

typedef struct membuf {
    char *data;
    size_t len, cap, limit;
    int too_big;
} membuf;

static size_t on_body_to_memory(char *ptr, size_t size, size_t n, void *user) {
    membuf *b = user;
    size_t len = size * n;
    if (b->len + len > b->limit) {
        b->too_big = 1;
        return 0;
    }
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + len + 1) cap *= 2;
        char *grown = realloc(b->data, cap);
        if (!grown) return 0;
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, len);
    b->len += len;
    b->data[b->len] = '\0';
    return len;
}

/* GET url (redirects followed) into memory; non-2xx is an error. */
static int get_to_memory(hub_ctx *hub, const char *url, const char *file, size_t limit, char **body,
                         size_t *len) {
    hub_headers headers;
    CURL *c = hub_easy(hub, url, 1, &headers);
    if (!c) return sv_error(SCIVEC_ENOMEM, "out of memory (curl handle)");
    membuf buf = {.limit = limit};
    char curl_msg[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body_to_memory);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &buf);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_msg);
    CURLcode rc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    int status = SCIVEC_OK;
    if (buf.too_big)
        status = sv_error(SCIVEC_EFORMAT, "%s: answer larger than %zu bytes", url, limit);
    else if (rc == CURLE_WRITE_ERROR)
        status = sv_error(SCIVEC_ENOMEM, "out of memory");
    else if (rc != CURLE_OK)
        status = curl_failure(hub, rc, url, curl_msg);
    else if (code < 200 || code > 299)
        status = http_failure(hub, code, &headers, url, file);
    if (status) {
        free(buf.data);
        return status;
    }
    if (!buf.data) buf.data = calloc(1, 1);
    if (!buf.data) return sv_error(SCIVEC_ENOMEM, "out of memory");
    *body = buf.data;
    *len = buf.len;
    return SCIVEC_OK;
}

/* ------------------------------------------------------------------------ */
/* The revision's file list                                                  */

typedef sv_hub_files file_list;

/* More than any model repo holds; bounds the work a hostile listing causes. */
enum { MAX_SIBLINGS = 200000 };

void sv_hub_files_free(sv_hub_files *l) {
    for (int i = 0; i < l->n; i++) free(l->names[i]);
    free(l->names);
    memset(l, 0, sizeof *l);
}

static void file_list_free(file_list *l) { sv_hub_files_free(l); }

static int compare_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int file_list_has(const file_list *l, const char *name) {
    if (l->sorted)
        return l->n > 0 && bsearch(&name, l->names, (size_t)l->n, sizeof *l->names, compare_names);
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->names[i], name)) return 1;
    return 0;
}

/* Appends name (no check for duplicates: callers that need none ask first). */
static int file_list_push(file_list *l, const char *name) {
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 16;
        char **grown = realloc(l->names, (size_t)cap * sizeof *grown);
        if (!grown) return sv_error(SCIVEC_ENOMEM, "out of memory");
        l->names = grown;
        l->cap = cap;
    }
    if (!(l->names[l->n] = strdup(name))) return sv_error(SCIVEC_ENOMEM, "out of memory");
    l->n++;
    l->sorted = 0;
    return SCIVEC_OK;
}

/* Appends name unless it is there (the small list of files to fetch; a
 * checkpoint in 10000 shards is a hostile index, not a model). */
static int file_list_add(file_list *l, const char *name) {
    if (file_list_has(l, name)) return SCIVEC_OK;
    if (l->n >= 10000)
        return sv_error(SCIVEC_EFORMAT, "more than 10000 files to fetch ('%s')", name);
    return file_list_push(l, name);
}

int sv_hub_parse_revision(const char *json, size_t len, const char *url, char commit[128],
                          sv_hub_files *siblings) {
    memset(siblings, 0, sizeof *siblings);
    commit[0] = '\0';
    cJSON *info = cJSON_ParseWithLength(json, len);
    const cJSON *sha = cJSON_GetObjectItemCaseSensitive(info, "sha");
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(info, "siblings");
    if (!cJSON_IsObject(info) || !cJSON_IsString(sha) || !cJSON_IsArray(files) ||
        strlen(sha->valuestring) >= 128 ||
        !safe_component(sha->valuestring, strlen(sha->valuestring))) {
        cJSON_Delete(info);
        return sv_error(SCIVEC_EFORMAT,
                        "%s: not a model revision (expected JSON with a commit "
                        "'sha' and 'siblings')",
                        url);
    }
    snprintf(commit, 128, "%s", sha->valuestring);
    int status = SCIVEC_OK;
    const cJSON *item;
    cJSON_ArrayForEach(item, files) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(item, "rfilename");
        // names that could leave the snapshot folder are never needed: skip them
        if (!cJSON_IsString(name) || !safe_file_name(name->valuestring)) continue;
        if (siblings->n == MAX_SIBLINGS) {
            status = sv_error(SCIVEC_EFORMAT, "%s: more than %d files in the revision", url,
                              MAX_SIBLINGS);
            break;
        }
        if ((status = file_list_push(siblings, name->valuestring))) break;
    }
    cJSON_Delete(info);
    if (status) {
        sv_hub_files_free(siblings);
        return status;
    }
    if (siblings->n > 0)
        qsort(siblings->names, (size_t)siblings->n, sizeof *siblings->names, compare_names);
    siblings->sorted = 1;
    return SCIVEC_OK;
}

/* GET /api/models/{repo}/revision/{rev}: the commit and the repo's files. */
static int fetch_revision_info(hub_ctx *hub, char commit[128], file_list *siblings) {
    char *url = path_fmt("%s/api/models/%s/revision/%s", hub->endpoint, hub->ref->repo_id,
                         hub->ref->revision);
    if (!url) return sv_error(SCIVEC_ENOMEM, "out of memory");
    char *body = NULL;
    size_t len = 0;
    int status = get_to_memory(hub, url, NULL, MAX_API_BYTES, &body, &len);
    if (!status) status = sv_hub_parse_revision(body, len, url, commit, siblings);
    free(body);
    free(url);
    return status;
}

/* What scivec reads, of what the repo has: config and tokenizer files,
 * sentence-transformers pooling, the adapter's config. */
static int pick_needed(const file_list *siblings, file_list *needed) {
    static const char *const always[] = {
        "config.json",
        "vocab.txt",
        "tokenizer_config.json",
        "tokenizer.json",
        "special_tokens_map.json",
        "added_tokens.json",
        "modules.json",
        "1_Pooling/config.json",
        "sentence_bert_config.json",
        "config_sentence_transformers.json",
        "adapter_config.json",
    };
    int status = SCIVEC_OK;
    for (size_t i = 0; !status && i < SV_ARRAY_LEN(always); i++)
        if (file_list_has(siblings, always[i])) status = file_list_add(needed, always[i]);
    return status;
}

/* The weights, fetched last so that a snapshot holding them holds the rest
 * (the cache lookup counts such a snapshot complete): one set of model
 * weights, safetensors preferred as transformers prefers them, and the
 * adapter's. */
static int pick_weights(const file_list *siblings, file_list *needed) {
    static const char *const model_weights[] = {
        "model.safetensors",
        "model.safetensors.index.json",
        "pytorch_model.bin",
    };
    int status = SCIVEC_OK;
    for (size_t i = 0; i < SV_ARRAY_LEN(model_weights); i++)
        if (file_list_has(siblings, model_weights[i])) {
            status = file_list_add(needed, model_weights[i]);
            break;
        }
    static const char *const adapter_weights[] = {"adapter.safetensors", "pytorch_adapter.bin"};
    for (size_t i = 0; !status && i < SV_ARRAY_LEN(adapter_weights); i++)
        if (file_list_has(siblings, adapter_weights[i]))
            status = file_list_add(needed, adapter_weights[i]);
    return status;
}

/* The shard files a downloaded model.safetensors.index.json names. */
static int add_shards(const char *index_path, const file_list *siblings, file_list *needed) {
    char *text = NULL;
    size_t len = 0;
    int status = sv_read_file(index_path, &text, &len);
    if (status) return status;
    if (len > MAX_SMALL_JSON_BYTES) {
        free(text);
        return sv_error(SCIVEC_EFORMAT, "%s: too large", index_path);
    }
    cJSON *index = cJSON_ParseWithLength(text, len);
    free(text);
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(index, "weight_map");
    if (!cJSON_IsObject(map)) {
        cJSON_Delete(index);
        return sv_error(SCIVEC_EFORMAT, "%s: no 'weight_map' object", index_path);
    }
    const cJSON *item;
    cJSON_ArrayForEach(item, map) {
        if (!cJSON_IsString(item)) continue;
        if (!file_list_has(siblings, item->valuestring)) {
            status = sv_error(SCIVEC_EFORMAT, "%s: shard '%s' is not in the repository", index_path,
                              item->valuestring);
            break;
        }
        if ((status = file_list_add(needed, item->valuestring))) break;
    }
    cJSON_Delete(index);
    return status;
}

/* The config.json (and weights, for Dense) of each module a downloaded
 * modules.json names (the Pooling module is usually 1_Pooling/, but the
 * path is the file's to say). */
static int add_module_configs(const char *modules_path, const file_list *siblings,
                              file_list *needed) {
    char *text = NULL;
    size_t len = 0;
    int status = sv_read_file(modules_path, &text, &len);
    if (status) return status;
    cJSON *modules = cJSON_ParseWithLength(text, len);
    free(text);
    const cJSON *list = cJSON_IsArray(modules) ? modules : NULL, *m;
    cJSON_ArrayForEach(m, list) {
        const cJSON *path = cJSON_GetObjectItemCaseSensitive(m, "path");
        if (!cJSON_IsString(path) || !*path->valuestring || strlen(path->valuestring) > 200)
            continue;
        char name[256];
        snprintf(name, sizeof name, "%s/config.json", path->valuestring);
        // only what the repo lists, under a name that stays in the snapshot
        if (file_list_has(siblings, name) && (status = file_list_add(needed, name))) break;
        // a module's own weights (Dense): safetensors preferred, as sentence-transformers
        snprintf(name, sizeof name, "%s/model.safetensors", path->valuestring);
        if (!file_list_has(siblings, name))
            snprintf(name, sizeof name, "%s/pytorch_model.bin", path->valuestring);
        if (file_list_has(siblings, name) && (status = file_list_add(needed, name))) break;
    }
    cJSON_Delete(modules);
    return status;
}

/* ------------------------------------------------------------------------ */
/* One file: metadata, blob download with resume, verification, link         */

typedef struct file_meta {
    char etag[256];     /* without quotes and W/                       */
    int64_t size;       /* -1 unknown                                  */
    char *download_url; /* the CDN location, or the resolve URL        */
    int from_cdn;       /* download_url is not the hub: send no token  */
    char where[400];    /* download_url for messages: no query (CDN URLs
                                  carry long signatures there)                */
} file_meta;

static void normalize_etag(const char *raw, char *out, size_t cap) {
    if (!strncmp(raw, "W/", 2)) raw += 2;
    size_t n = strlen(raw);
    if (n >= 2 && raw[0] == '"' && raw[n - 1] == '"') {
        raw++;
        n -= 2;
    }
    if (n >= cap) n = cap - 1;
    memcpy(out, raw, n);
    out[n] = '\0';
}

static int is_sha256_hex(const char *s) {
    if (strlen(s) != 64) return 0;
    for (int i = 0; i < 64; i++)
        if (!isxdigit((unsigned char)s[i])) return 0;
    return 1;
}

/* Whether two URLs share scheme, host and port (the token goes only to the
 * hub's own origin, as huggingface_hub drops it for a CDN location). */
static int same_origin(const char *a, const char *b) {
    const char *sa = strstr(a, "://"), *sb = strstr(b, "://");
    if (!sa || !sb) return 0;
    size_t na = (size_t)(sa - a) + 3 + strcspn(sa + 3, "/?#");
    size_t nb = (size_t)(sb - b) + 3 + strcspn(sb + 3, "/?#");
    return na == nb && !strncasecmp(a, b, na);
}

/* HEAD on the resolve URL, redirects not followed except relative ones (a
 * renamed repo), as huggingface_hub's get_hf_file_metadata does. */
static int head_file(hub_ctx *hub, const char *commit, const char *file, file_meta *meta) {
    char *url = path_fmt("%s/%s/resolve/%s/%s", hub->endpoint, hub->ref->repo_id, commit, file);
    if (!url) return sv_error(SCIVEC_ENOMEM, "out of memory");
    int status = SCIVEC_OK;
    for (int hops = 0;; hops++) {
        hub_headers h;
        CURL *c = hub_easy(hub, url, 1, &h);
        if (!c) {
            status = sv_error(SCIVEC_ENOMEM, "out of memory (curl handle)");
            break;
        }
        char curl_msg[CURL_ERROR_SIZE] = "";
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_msg);
        CURLcode rc = curl_easy_perform(c);
        long code = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        char *redirect = NULL;
        curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &redirect);
        char *next = dup_or_null(redirect);
        curl_easy_cleanup(c);
        if (rc != CURLE_OK) {
            free(next);
            status = curl_failure(hub, rc, url, curl_msg);
            break;
        }
        if (code >= 300 && code < 400 && h.location[0] == '/' && next && hops < 5) {
            free(url); // same host, new path: ask there
            url = next;
            continue;
        }
        if (code >= 400 || code < 200 || (code >= 300 && !next)) {
            free(next);
            status = http_failure(hub, code, &h, url, file);
            break;
        }
        normalize_etag(h.linked_etag[0] ? h.linked_etag : h.etag, meta->etag, sizeof meta->etag);
        meta->size = h.linked_size >= 0 ? h.linked_size : h.content_length;
        if (!meta->etag[0] || !safe_component(meta->etag, strlen(meta->etag))) {
            free(next);
            status =
                sv_error(SCIVEC_EFORMAT, "%s: the hub sent no usable ETag ('%s')", url, meta->etag);
            break;
        }
        if (h.commit[0] && strcmp(h.commit, commit)) {
            free(next);
            status = sv_error(SCIVEC_EFORMAT,
                              "%s: X-Repo-Commit %s differs from the revision's "
                              "commit %s",
                              url, h.commit, commit);
            break;
        }
        if (code >= 300) {
            meta->download_url = next;
            meta->from_cdn = !same_origin(next, hub->endpoint);
            free(url);
        } else {
            free(next);
            meta->download_url = url;
        }
        snprintf(meta->where, sizeof meta->where, "%.*s", (int)strcspn(meta->download_url, "?"),
                 meta->download_url);
        return SCIVEC_OK;
    }
    free(url);
    return status;
}

typedef struct blob_sink {
    FILE *f;
    CURL *c;
    int64_t offset; /* bytes already in the file when this GET began */
    int64_t received, total;
    int checked_status; /* the response code was looked at             */
    long bad_code;      /* non-2xx: the body is not written            */
    int write_errno;
    const char *path, *name;
} blob_sink;

static size_t on_blob_body(char *ptr, size_t size, size_t n, void *user) {
    blob_sink *s = user;
    size_t len = size * n;
    if (!s->checked_status) {
        s->checked_status = 1;
        long code = 0;
        curl_easy_getinfo(s->c, CURLINFO_RESPONSE_CODE, &code);
        if (code == 200 && s->offset > 0) {
            // the server ignored the Range: start the file over
            if (ftruncate(fileno(s->f), 0) != 0) {
                s->write_errno = errno;
                return 0;
            }
            s->offset = 0;
        } else if (code != 200 && code != 206) {
            s->bad_code = code;
        }
    }
    if (s->bad_code) return len; // an error page: drop it
    if (fwrite(ptr, 1, len, s->f) != len) {
        s->write_errno = errno ? errno : EIO;
        return 0;
    }
    s->received += (int64_t)len;
    if (progress_fn) progress_fn(progress_ctx, s->name, s->offset + s->received, s->total);
    return len;
}

static int is_cut(CURLcode rc) {
    return rc == CURLE_PARTIAL_FILE || rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR ||
           rc == CURLE_GOT_NOTHING || rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_HTTP2 ||
           rc == CURLE_HTTP2_STREAM || rc == CURLE_COULDNT_CONNECT;
}

static int64_t file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

static int write_failure(const char *path, int err) {
    if (err == ENOSPC || err == EDQUOT)
        return sv_error(SCIVEC_EIO,
                        "disk full while writing %s (%s); free some space (or point "
                        "HF_HUB_CACHE elsewhere) and run again to resume",
                        path, strerror(err));
    return sv_error(SCIVEC_EIO, "cannot write %s: %s", path, strerror(err));
}

/* Appends to partial until it holds the whole file, resuming with a Range
 * after a cut (here, up to MAX_RETRIES times, and in a later run from what
 * the file holds). */
static int download_to_partial(hub_ctx *hub, const file_meta *meta, const char *file,
                               const char *partial) {
    for (int attempt = 0;; attempt++) {
        FILE *f = fopen(partial, "ab");
        if (!f) return write_failure(partial, errno);
        int64_t have = file_size(partial);
        if (have < 0) have = 0;
        if (meta->size >= 0 && have > meta->size) { // not this file's start: begin again
            if (ftruncate(fileno(f), 0) != 0) {
                int e = errno;
                fclose(f);
                return write_failure(partial, e);
            }
            have = 0;
        }
        if (meta->size >= 0 && have == meta->size) {
            fclose(f);
            return SCIVEC_OK;
        }

        hub_headers h;
        CURL *c = hub_easy(hub, meta->download_url, !meta->from_cdn, &h);
        if (!c) {
            fclose(f);
            return sv_error(SCIVEC_ENOMEM, "out of memory (curl handle)");
        }
        blob_sink sink = {
            .f = f, .c = c, .offset = have, .total = meta->size, .path = partial, .name = file};
        char curl_msg[CURL_ERROR_SIZE] = "", range[48];
        snprintf(range, sizeof range, "%lld-", (long long)have);
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_blob_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_msg);
        curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, NULL); // the bytes as stored
        if (have > 0) curl_easy_setopt(c, CURLOPT_RANGE, range);
        CURLcode rc = curl_easy_perform(c);
        long code = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        curl_easy_cleanup(c);
        // data reaches the disk (or ENOSPC shows) at fflush/fsync
        if (fflush(f) != 0 && !sink.write_errno) sink.write_errno = errno;
        if (fsync(fileno(f)) != 0 && !sink.write_errno && errno != EINVAL) sink.write_errno = errno;
        if (fclose(f) != 0 && !sink.write_errno) sink.write_errno = errno;

        if (sink.write_errno) return write_failure(partial, sink.write_errno);
        if (code == 416 && have > 0 && attempt < MAX_RETRIES) {
            // the server has nothing past what we hold: the partial file is stale
            if (truncate(partial, 0) != 0) return write_failure(partial, errno);
            continue;
        }
        if (rc == CURLE_OK && (code < 200 || code > 299))
            return http_failure(hub, code, &h, meta->where, file);
        if (sink.bad_code) return http_failure(hub, sink.bad_code, &h, meta->where, file);
        if (rc == CURLE_OK) return SCIVEC_OK;
        if (is_cut(rc) && attempt < MAX_RETRIES && (sink.received > 0 || attempt == 0)) {
            struct timespec pause = {0, 200000000L * (attempt + 1)};
            nanosleep(&pause, NULL);
            continue;
        }
        int64_t held = file_size(partial);
        if (is_unreachable(rc) && held <= 0) return curl_failure(hub, rc, meta->where, curl_msg);
        return sv_error(SCIVEC_EIO,
                        "download of %s from %s stopped after %lld of %lld bytes "
                        "(%s); run again to resume from %s",
                        file, meta->where, (long long)held, (long long)meta->size,
                        curl_msg[0] ? curl_msg : curl_easy_strerror(rc), partial);
    }
}

/* snapshots/<commit>/<file> -> ../../blobs/<etag> (one more ../ per folder
 * level of file), replacing whatever link was there. */
static int link_into_snapshot(const char *snapshot, const char *file, const char *etag) {
    char *link = sv_path_join(snapshot, file);
    if (!link) return sv_error(SCIVEC_ENOMEM, "out of memory");
    int status = make_parent_dirs(link);
    size_t depth = 0;
    for (const char *p = file; *p; p++) depth += *p == '/';
    char target[1400];
    size_t pos = 0;
    for (size_t i = 0; i < depth + 2 && pos + 3 < sizeof target; i++)
        pos += (size_t)snprintf(target + pos, sizeof target - pos, "../");
    snprintf(target + pos, sizeof target - pos, "blobs/%s", etag);
    char *tmp = path_fmt("%s.tmp.%ld", link, (long)getpid());
    if (!status && !tmp) status = sv_error(SCIVEC_ENOMEM, "out of memory");
    if (!status) {
        unlink(tmp);
        if (symlink(target, tmp) != 0 || rename(tmp, link) != 0) {
            status =
                sv_error(SCIVEC_EIO, "cannot link %s -> %s: %s", link, target, strerror(errno));
            unlink(tmp);
        }
    }
    free(tmp);
    free(link);
    return status;
}

/* Holds <cache>/.locks/<folder>/<etag>.lock (flock, as Python's filelock) so
 * two processes do not write the same blob. Returns the fd, or -1 (then we
 * go on unlocked: a read-only .locks is no reason to fail). */
static int lock_blob(hub_ctx *hub, const char *etag) {
    char *path = path_fmt("%s/.locks/%s/%s.lock", hub->cache, hub->ref->folder, etag);
    if (!path) return -1;
    int fd = -1;
    if (make_parent_dirs(path) == SCIVEC_OK) fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    sv_clear_error();
    free(path);
    if (fd >= 0 && flock(fd, LOCK_EX) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static int fetch_file(hub_ctx *hub, const char *commit, const char *snapshot, const char *file) {
    file_meta meta = {.size = -1};
    int status = head_file(hub, commit, file, &meta);
    if (status) return status;
    char *repo_dir = sv_path_join(hub->cache, hub->ref->folder);
    char *blob = repo_dir ? path_fmt("%s/blobs/%s", repo_dir, meta.etag) : NULL;
    char *partial = blob ? path_fmt("%s.incomplete", blob) : NULL;
    if (!partial) {
        status = sv_error(SCIVEC_ENOMEM, "out of memory");
        goto done;
    }
    if ((status = make_parent_dirs(blob))) goto done;
    int lock_fd = lock_blob(hub, meta.etag);
    if (!is_file(blob)) {
        status = download_to_partial(hub, &meta, file, partial);
        int64_t got = file_size(partial);
        if (!status && meta.size >= 0 && got != meta.size) {
            unlink(partial);
            status = sv_error(SCIVEC_EIO,
                              "%s: received %lld bytes but the hub announced %lld; "
                              "the download was discarded, run again",
                              file, (long long)got, (long long)meta.size);
        }
        char actual[65];
        if (!status && is_sha256_hex(meta.etag) && !(status = sv_sha256_file(partial, actual)) &&
            strcasecmp(actual, meta.etag)) {
            unlink(partial);
            status = sv_error(SCIVEC_EFORMAT,
                              "%s: sha256 mismatch: the downloaded bytes hash to "
                              "%s but the hub says %s (from %s); the download was discarded, "
                              "run again",
                              file, actual, meta.etag, meta.where);
        }
        if (!status && rename(partial, blob) != 0)
            status =
                sv_error(SCIVEC_EIO, "cannot rename %s to %s: %s", partial, blob, strerror(errno));
        if (!status && progress_fn)
            progress_fn(progress_ctx, file, file_size(blob), file_size(blob));
    }
    if (lock_fd >= 0) close(lock_fd);
    if (!status) status = link_into_snapshot(snapshot, file, meta.etag);
done:
    free(meta.download_url);
    free(partial);
    free(blob);
    free(repo_dir);
    return status;
}

static int write_ref(hub_ctx *hub, const char *commit) {
    if (!strcmp(hub->ref->revision, commit)) return SCIVEC_OK; // a commit needs no ref
    char *ref = path_fmt("%s/%s/refs/%s", hub->cache, hub->ref->folder, hub->ref->revision);
    char *tmp = ref ? path_fmt("%s.tmp.%ld", ref, (long)getpid()) : NULL;
    if (!tmp) {
        free(ref);
        return sv_error(SCIVEC_ENOMEM, "out of memory");
    }
    int status = make_parent_dirs(ref);
    FILE *f = status ? NULL : fopen(tmp, "wb");
    if (!status) {
        int failed = !f || fputs(commit, f) < 0;
        if (f && fclose(f) != 0) failed = 1;
        if (failed || rename(tmp, ref) != 0) {
            status = write_failure(ref, errno);
            unlink(tmp);
        }
    }
    free(tmp);
    free(ref);
    return status;
}

int sv_hub_download(const char *cache, const sv_hub_ref *ref, char **snapshot, int *unreachable) {
    *snapshot = NULL;
    if (unreachable) *unreachable = 0;
    pthread_once(&curl_once, curl_init);
    if (curl_init_status != CURLE_OK)
        return sv_error(SCIVEC_EIO, "libcurl: %s", curl_easy_strerror(curl_init_status));
    hub_ctx hub = {.cache = cache, .ref = ref, .endpoint = sv_hub_endpoint(), .token = hub_token()};
    file_list siblings = {0}, needed = {0};
    char commit[128] = "", *dir = NULL;
    int status = hub.endpoint ? SCIVEC_OK : sv_error(SCIVEC_ENOMEM, "out of memory");
    if (!status && strncmp(hub.endpoint, "http://", 7) && strncmp(hub.endpoint, "https://", 8))
        status = sv_error(SCIVEC_EINVAL, "HF_ENDPOINT '%s' is not an http(s) URL", hub.endpoint);
    if (!status) {
        hub.cdn_headers = curl_slist_append(NULL, "Accept-Encoding: identity");
        hub.hub_headers = curl_slist_append(NULL, "Accept-Encoding: identity");
        char *auth = hub.token ? path_fmt("Authorization: Bearer %s", hub.token) : NULL;
        if (auth && hub.hub_headers) hub.hub_headers = curl_slist_append(hub.hub_headers, auth);
        free(auth);
        if (!hub.cdn_headers || !hub.hub_headers || (hub.token && !hub.hub_headers->next))
            status = sv_error(SCIVEC_ENOMEM, "out of memory");
    }
    if (!status) status = fetch_revision_info(&hub, commit, &siblings);
    if (!status) status = pick_needed(&siblings, &needed);
    if (!status && !(dir = path_fmt("%s/%s/snapshots/%s", cache, ref->folder, commit)))
        status = sv_error(SCIVEC_ENOMEM, "out of memory");
    int i = 0;
    for (int phase = 0; !status && phase < 2; phase++) {
        if (phase == 1 && !(status = pick_weights(&siblings, &needed)) && needed.n == 0)
            status = sv_error(SCIVEC_ENOTFOUND,
                              "repository '%s' (revision '%s') has none of the "
                              "files scivec reads (config.json, weights, adapter_config.json)",
                              ref->repo_id, ref->revision);
        for (; !status && i < needed.n; i++) {
            const char *file = needed.names[i];
            if (!has_file(dir, file)) status = fetch_file(&hub, commit, dir, file);
            // these two name more files to fetch (appended to needed, so this loop reaches them)
            int is_index = !strcmp(file, "model.safetensors.index.json");
            if (!status && (is_index || !strcmp(file, "modules.json"))) {
                char *path = sv_path_join(dir, file);
                status = !path      ? sv_error(SCIVEC_ENOMEM, "out of memory")
                         : is_index ? add_shards(path, &siblings, &needed)
                                    : add_module_configs(path, &siblings, &needed);
                free(path);
            }
        }
    }
    if (!status) status = write_ref(&hub, commit);
    if (unreachable) *unreachable = hub.unreachable;
    file_list_free(&siblings);
    file_list_free(&needed);
    curl_slist_free_all(hub.cdn_headers);
    curl_slist_free_all(hub.hub_headers);
    free(hub.endpoint);
    free(hub.token);
    if (status) {
        free(dir);
        return status;
    }
    *snapshot = dir;
    return SCIVEC_OK;
}
