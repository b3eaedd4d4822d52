/*
 * safetensors.c - the safetensors format: an 8-byte little-endian header
 * length N, N bytes of JSON {"name": {"dtype", "shape", "data_offsets":
 * [begin, end]}, "__metadata__": {...}}, then the data, offsets relative to
 * the byte after the header.
 *
 * The file is memory-mapped and every tensor becomes a storage pointing into
 * the mapping, so F32 tensors are used in place (zero copy). Everything the
 * header says is checked before it is believed: offsets inside the file,
 * sizes matching dtype x shape, no two tensors sharing bytes.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/files.h"
#include "weights/checkpoint.h"
#include "weights/safetensors.h"

#define MAX_HEADER_BYTES (100u << 20) /* the reference implementation's limit */

static int parse_dtype(const char *s, sv_dtype *out) {
    static const struct {
        const char *name;
        sv_dtype dtype;
    } known[] = {
        {"F32", SV_DT_F32}, {"F16", SV_DT_F16},   {"BF16", SV_DT_BF16}, {"F64", SV_DT_F64},
        {"I64", SV_DT_I64}, {"I32", SV_DT_I32},   {"I16", SV_DT_I16},   {"I8", SV_DT_I8},
        {"U8", SV_DT_U8},   {"BOOL", SV_DT_BOOL},
    };
    for (size_t i = 0; i < SV_ARRAY_LEN(known); i++)
        if (strcmp(s, known[i].name) == 0) {
            *out = known[i].dtype;
            return 1;
        }
    return 0;
}

/* A JSON number that is a non-negative integer below 2^53 (exact in a double). */
static int json_to_size(const cJSON *item, int64_t *out) {
    if (!cJSON_IsNumber(item)) return 0;
    double v = item->valuedouble;
    if (!(v >= 0 && v <= 9007199254740992.0) || v != floor(v)) return 0;
    *out = (int64_t)v;
    return 1;
}

typedef struct span {
    int64_t begin, end;
    const char *name;
} span;

static int by_begin(const void *a, const void *b) {
    const span *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : 0;
}

static int parse_entry(const cJSON *entry, const uint8_t *data, int64_t data_size, const char *path,
                       sv_checkpoint *ck, span *sp) {
    const char *name = entry->string;
    if (!cJSON_IsObject(entry))
        return sv_error(SCIVEC_EFORMAT, "%s: tensor %s: header entry is not an object", path, name);
    const cJSON *dtype_item = cJSON_GetObjectItemCaseSensitive(entry, "dtype");
    const cJSON *shape_item = cJSON_GetObjectItemCaseSensitive(entry, "shape");
    const cJSON *offsets_item = cJSON_GetObjectItemCaseSensitive(entry, "data_offsets");
    if (!cJSON_IsString(dtype_item) || !cJSON_IsArray(shape_item) || !cJSON_IsArray(offsets_item))
        return sv_error(
            SCIVEC_EFORMAT,
            "%s: tensor %s: header entry needs \"dtype\", \"shape\" and \"data_offsets\"", path,
            name);
    sv_dtype dtype;
    if (!parse_dtype(dtype_item->valuestring, &dtype))
        return sv_error(SCIVEC_EFORMAT, "%s: tensor %s: unknown dtype \"%.40s\"", path, name,
                        dtype_item->valuestring);
    int n_dims = cJSON_GetArraySize(shape_item);
    if (n_dims > SV_MAX_DIMS)
        return sv_error(SCIVEC_EFORMAT, "%s: tensor %s: %d dimensions (at most %d supported)", path,
                        name, n_dims, SV_MAX_DIMS);
    int64_t shape[SV_MAX_DIMS];
    int64_t n_bytes = sv_dtype_size(dtype);
    int d = 0;
    const cJSON *dim;
    cJSON_ArrayForEach(dim, shape_item) {
        if (!json_to_size(dim, &shape[d]))
            return sv_error(SCIVEC_EFORMAT,
                            "%s: tensor %s: shape holds a non-integer or negative size", path,
                            name);
        if (__builtin_mul_overflow(n_bytes, shape[d], &n_bytes))
            return sv_error(SCIVEC_EFORMAT, "%s: tensor %s: size overflows", path, name);
        d++;
    }
    int64_t begin, end;
    if (cJSON_GetArraySize(offsets_item) != 2 ||
        !json_to_size(cJSON_GetArrayItem(offsets_item, 0), &begin) ||
        !json_to_size(cJSON_GetArrayItem(offsets_item, 1), &end) || begin > end)
        return sv_error(SCIVEC_EFORMAT,
                        "%s: tensor %s: data_offsets must be [begin, end] with begin <= end", path,
                        name);
    if (end > data_size)
        return sv_error(SCIVEC_EFORMAT,
                        "%s: tensor %s: data_offsets [%lld, %lld] point past the end of the file "
                        "(%lld data bytes; truncated file?)",
                        path, name, (long long)begin, (long long)end, (long long)data_size);
    if (end - begin != n_bytes)
        return sv_error(
            SCIVEC_EFORMAT,
            "%s: tensor %s: data_offsets span %lld bytes but dtype %s x shape needs %lld", path,
            name, (long long)(end - begin), sv_dtype_name(dtype), (long long)n_bytes);
    int storage = sv_checkpoint_add_storage(ck, name, dtype, n_bytes, data + begin);
    if (storage < 0) return storage;
    int rc = sv_checkpoint_add_tensor(ck, name, dtype, n_dims, shape, NULL, 0, storage);
    if (rc < 0) return rc;
    sp->begin = begin;
    sp->end = end;
    sp->name = ck->tensors[ck->n_tensors - 1].name;
    return SCIVEC_OK;
}

/* Parses a whole file image; path names it in messages. */
static int parse_named(const void *buf, size_t size, const char *path, sv_checkpoint *ck) {
    const uint8_t *bytes = buf;
    if (size == 0)
        return sv_error(SCIVEC_EFORMAT, "%s: empty file (0 bytes), not a safetensors file", path);
    if (size < 8)
        return sv_error(SCIVEC_EFORMAT,
                        "%s: truncated: %zu bytes, shorter than the 8-byte header length", path,
                        size);
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; i--) header_len = (header_len << 8) | bytes[i];
    if (header_len > size - 8)
        return sv_error(
            SCIVEC_EFORMAT,
            "%s: header length %llu is larger than the file (%zu bytes; truncated file?)", path,
            (unsigned long long)header_len, size);
    if (header_len > MAX_HEADER_BYTES)
        return sv_error(SCIVEC_EFORMAT, "%s: header length %llu exceeds the %u-byte limit", path,
                        (unsigned long long)header_len, MAX_HEADER_BYTES);
    cJSON *header = cJSON_ParseWithLength((const char *)bytes + 8, (size_t)header_len);
    if (!header || !cJSON_IsObject(header)) {
        cJSON_Delete(header);
        return sv_error(SCIVEC_EFORMAT, "%s: header is not a JSON object", path);
    }
    const uint8_t *data = bytes + 8 + header_len;
    int64_t data_size = (int64_t)(size - 8 - header_len);
    int n_entries = cJSON_GetArraySize(header);
    span *spans = calloc((size_t)n_entries + 1, sizeof *spans);
    if (!spans) {
        cJSON_Delete(header);
        return sv_error(SCIVEC_ENOMEM, "%s: out of memory", path);
    }
    int n_spans = 0, rc = SCIVEC_OK;
    const cJSON *entry;
    cJSON_ArrayForEach(entry, header) {
        if (!entry->string) continue;
        if (strcmp(entry->string, "__metadata__") == 0) continue;
        rc = parse_entry(entry, data, data_size, path, ck, &spans[n_spans]);
        if (rc < 0) break;
        n_spans++;
    }
    /* Two tensors writing the same bytes means a corrupt or crafted header. */
    if (rc == SCIVEC_OK) {
        qsort(spans, (size_t)n_spans, sizeof *spans, by_begin);
        int64_t covered = 0;
        const char *previous = NULL;
        for (int i = 0; i < n_spans; i++) {
            if (spans[i].begin == spans[i].end) continue;
            if (spans[i].begin < covered) {
                rc = sv_error(SCIVEC_EFORMAT, "%s: tensor %s: data overlaps tensor %s", path,
                              spans[i].name, previous);
                break;
            }
            covered = spans[i].end;
            previous = spans[i].name;
        }
    }
    free(spans);
    cJSON_Delete(header);
    return rc;
}

int sv_safetensors_parse(const void *buf, size_t size, sv_checkpoint *ck) {
    return parse_named(buf, size, ck->path, ck);
}

int sv_safetensors_open_into(const char *path, sv_checkpoint *ck) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sv_error(errno == ENOENT ? SCIVEC_ENOTFOUND : SCIVEC_EIO, "%s: %s", path,
                        strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        return sv_error(SCIVEC_EIO, "%s: %s", path, strerror(err));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return sv_error(SCIVEC_EIO, "%s: not a regular file", path);
    }
    size_t size = (size_t)st.st_size;
    if (size == 0) {
        close(fd);
        return parse_named("", 0, path, ck);
    }
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int err = errno;
    close(fd);
    if (map == MAP_FAILED) return sv_error(SCIVEC_EIO, "%s: mmap: %s", path, strerror(err));
    int rc = sv_checkpoint_keep_map(ck, map, size);
    if (rc < 0) return rc;
    return parse_named(map, size, path, ck);
}

/* A shard file name from the index: a plain relative name, no way out of the folder. */
static int safe_shard_name(const char *name) {
    return name[0] != '\0' && name[0] != '/' && strstr(name, "..") == NULL;
}

int sv_safetensors_index_open_into(const char *index_path, sv_checkpoint *ck) {
    char *text;
    size_t len;
    int rc = sv_read_file(index_path, &text, &len);
    if (rc < 0) return rc;
    cJSON *index = cJSON_ParseWithLength(text, len);
    free(text);
    const cJSON *weight_map = cJSON_GetObjectItemCaseSensitive(index, "weight_map");
    if (!cJSON_IsObject(weight_map)) {
        cJSON_Delete(index);
        return sv_error(SCIVEC_EFORMAT, "%s: not a JSON object with a \"weight_map\" object",
                        index_path);
    }
    /* The folder the shards live in: the index's own. */
    char *dir = strdup(index_path);
    if (!dir) {
        cJSON_Delete(index);
        return sv_error(SCIVEC_ENOMEM, "%s: out of memory", index_path);
    }
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        strcpy(dir, ".");

    /* Open each distinct shard once, in order of first mention. */
    const cJSON *entry;
    cJSON_ArrayForEach(entry, weight_map) {
        if (!cJSON_IsString(entry) || !safe_shard_name(entry->valuestring)) {
            rc = sv_error(SCIVEC_EFORMAT,
                          "%s: tensor %s: shard must be a file name in the same folder", index_path,
                          entry->string ? entry->string : "?");
            break;
        }
        int seen = 0;
        for (const cJSON *prev = weight_map->child; prev != entry; prev = prev->next)
            if (strcmp(prev->valuestring, entry->valuestring) == 0) {
                seen = 1;
                break;
            }
        if (seen) continue;
        char *shard = sv_path_join(dir, entry->valuestring);
        if (!shard) {
            rc = sv_error(SCIVEC_ENOMEM, "%s: out of memory", index_path);
            break;
        }
        rc = sv_safetensors_open_into(shard, ck);
        free(shard);
        if (rc < 0) break;
    }
    /* Every tensor the index promises must be in some shard. */
    if (rc == SCIVEC_OK) {
        cJSON_ArrayForEach(entry, weight_map) {
            if (!sv_checkpoint_find(ck, entry->string)) {
                rc = sv_error(SCIVEC_EFORMAT,
                              "%s: tensor %s: listed in the index but not in shard %s", index_path,
                              entry->string, entry->valuestring);
                break;
            }
        }
    }
    free(dir);
    cJSON_Delete(index);
    return rc;
}
