/*
 * torch_legacy.c - pytorch_model.bin in the legacy format (torch < 1.6):
 * five pickles back to back (magic number, protocol version, sys_info, the
 * state dict, the list of storage keys), then each storage in key-list order
 * as an 8-byte little-endian element count followed by its raw elements.
 *
 * Only the pickles are mapped; each storage is later pread() once into its
 * final buffer, so memory stays near the size of the tensors used.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "weights/checkpoint.h"
#include "weights/pickle.h"
#include "weights/torch_legacy.h"

#define LEGACY_PROTOCOL_VERSION 1001
/* 0x1950a86a20f9469cfc6c, as pickled (little-endian LONG1 bytes). */
static const uint8_t legacy_magic[10] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9,
                                         0x20, 0x6a, 0xa8, 0x50, 0x19};

typedef struct legacy_source {
    int fd;
} legacy_source;

static void close_source(void *source) {
    legacy_source *s = source;
    if (!s) return;
    if (s->fd >= 0) close(s->fd);
    free(s);
}

static int read_at(int fd, void *dst, size_t n, off_t offset) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (char *)dst + got, n - got, offset + (off_t)got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        got += (size_t)r;
    }
    return 0;
}

static int read_storage(sv_checkpoint *ck, const sv_storage *st, void *buf) {
    legacy_source *s = ck->source;
    if (read_at(s->fd, buf, (size_t)st->n_bytes, (off_t)st->src_offset) != 0)
        return sv_error(SCIVEC_EIO, "%s: storage %s: read error", ck->path, st->key);
    return SCIVEC_OK;
}

/* Runs the next pickle at *pos. */
static int next_pickle(const uint8_t *map, size_t size, size_t *pos, const char *path,
                       const char *what, sv_pickle **out) {
    char name[1024];
    snprintf(name, sizeof name, "%s: %s pickle", path, what);
    size_t used;
    int rc = sv_pickle_load(map + *pos, size - *pos, name, out, &used);
    if (rc == SCIVEC_OK) *pos += used;
    return rc;
}

static int check_header(const uint8_t *map, size_t size, size_t *pos, const char *path) {
    sv_pickle *p = NULL;
    int rc = next_pickle(map, size, pos, path, "magic number", &p);
    if (rc < 0) return rc;
    const sv_pv *v = sv_pickle_root(p);
    int ok = v->type == SV_PV_BIGINT && v->u.str.len == sizeof legacy_magic &&
             memcmp(v->u.str.s, legacy_magic, sizeof legacy_magic) == 0;
    sv_pickle_free(p);
    if (!ok)
        return sv_error(SCIVEC_EFORMAT, "%s: not a PyTorch checkpoint (wrong magic number)", path);
    if ((rc = next_pickle(map, size, pos, path, "protocol version", &p)) < 0) return rc;
    v = sv_pickle_root(p);
    ok = v->type == SV_PV_INT && v->u.i == LEGACY_PROTOCOL_VERSION;
    sv_pickle_free(p);
    if (!ok) return sv_error(SCIVEC_EFORMAT, "%s: unsupported legacy protocol version", path);
    if ((rc = next_pickle(map, size, pos, path, "sys_info", &p)) < 0) return rc;
    const sv_pv *little = sv_pv_dict_get(sv_pickle_root(p), "little_endian");
    ok = little && little->type == SV_PV_BOOL && little->u.i;
    sv_pickle_free(p);
    if (!ok)
        return sv_error(SCIVEC_EUNSUPPORTED, "%s: written on a big-endian machine (unsupported)",
                        path);
    return SCIVEC_OK;
}

/* After the key list: each storage's count + data, in key order. */
static int locate_storages(sv_checkpoint *ck, const sv_pv *keys, int fd, size_t file_size,
                           size_t pos) {
    if (keys->type != SV_PV_LIST)
        return sv_error(SCIVEC_EFORMAT, "%s: storage key list is not a list", ck->path);
    for (int i = 0; i < keys->u.seq.n; i++) {
        const sv_pv *key = keys->u.seq.items[i];
        if (key->type != SV_PV_STR)
            return sv_error(SCIVEC_EFORMAT, "%s: storage key is not a string", ck->path);
        sv_storage *st = NULL;
        for (int s = 0; s < ck->n_storages; s++)
            if (strcmp(ck->storages[s].key, key->u.str.s) == 0) st = &ck->storages[s];
        if (!st)
            return sv_error(SCIVEC_EFORMAT,
                            "%s: storage %s is in the key list but no tensor uses it", ck->path,
                            key->u.str.s);
        if (st->src_index >= 0)
            return sv_error(SCIVEC_EFORMAT, "%s: storage %s listed twice", ck->path, st->key);
        uint8_t count_le[8];
        if (file_size - pos < 8 || read_at(fd, count_le, 8, (off_t)pos) != 0)
            return sv_error(SCIVEC_EFORMAT,
                            "%s: storage %s: file ends before its data (truncated?)", ck->path,
                            st->key);
        uint64_t count = 0;
        for (int b = 7; b >= 0; b--) count = (count << 8) | count_le[b];
        uint64_t elem = (uint64_t)sv_dtype_size(st->dtype);
        if (count != (uint64_t)st->n_bytes / elem)
            return sv_error(SCIVEC_EFORMAT,
                            "%s: storage %s: holds %llu elements, the pickle says %lld", ck->path,
                            st->key, (unsigned long long)count, (long long)(st->n_bytes / elem));
        pos += 8;
        if ((uint64_t)st->n_bytes > file_size - pos)
            return sv_error(SCIVEC_EFORMAT,
                            "%s: storage %s: data runs past the end of the file (truncated?)",
                            ck->path, st->key);
        st->src_offset = (int64_t)pos;
        st->src_index = i;
        pos += (size_t)st->n_bytes;
    }
    for (int s = 0; s < ck->n_storages; s++)
        if (ck->storages[s].src_index < 0)
            return sv_error(SCIVEC_EFORMAT,
                            "%s: storage %s is used by a tensor but missing from the key list",
                            ck->path, ck->storages[s].key);
    return SCIVEC_OK;
}

int sv_torch_legacy_open_into(const char *path, sv_checkpoint *ck) {
    legacy_source *src = calloc(1, sizeof *src);
    if (!src) return sv_error(SCIVEC_ENOMEM, "%s: out of memory", path);
    src->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (src->fd < 0) {
        int rc = sv_error(errno == ENOENT ? SCIVEC_ENOTFOUND : SCIVEC_EIO, "%s: %s", path,
                          strerror(errno));
        free(src);
        return rc;
    }
    ck->source = src;
    ck->free_source = close_source;
    ck->read_storage = read_storage;
    struct stat stat_buf;
    if (fstat(src->fd, &stat_buf) != 0 || stat_buf.st_size == 0)
        return sv_error(SCIVEC_EFORMAT, "%s: empty or unreadable file", path);
    size_t size = (size_t)stat_buf.st_size;
    /* The pickles come first; mapping lets them be parsed in place and only
     * the pages they occupy are ever touched. */
    uint8_t *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, src->fd, 0);
    if (map == MAP_FAILED) return sv_error(SCIVEC_EIO, "%s: mmap: %s", path, strerror(errno));
    size_t pos = 0;
    sv_pickle *state = NULL, *keys = NULL;
    int rc = check_header(map, size, &pos, path);
    if (rc == 0) rc = next_pickle(map, size, &pos, path, "state dict", &state);
    if (rc == 0) rc = sv_pickle_state_dict_into(state, ck);
    if (rc == 0) rc = next_pickle(map, size, &pos, path, "storage keys", &keys);
    if (rc == 0) rc = locate_storages(ck, sv_pickle_root(keys), src->fd, size, pos);
    sv_pickle_free(state);
    sv_pickle_free(keys);
    munmap(map, size);
    return rc;
}
