/*
 * checkpoint.c - the format-independent tensor table: bookkeeping, and turning a (possibly strided, possibly half precision) tensor
 * view into contiguous float32.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/error.h"
#include "weights/checkpoint.h"

static const struct {
    const char *name;
    int size;
} dtype_info[SV_DT_COUNT] = {
    [SV_DT_F32] = {"F32", 4},   [SV_DT_F16] = {"F16", 2}, [SV_DT_BF16] = {"BF16", 2},
    [SV_DT_F64] = {"F64", 8},   [SV_DT_I64] = {"I64", 8}, [SV_DT_I32] = {"I32", 4},
    [SV_DT_I16] = {"I16", 2},   [SV_DT_I8] = {"I8", 1},   [SV_DT_U8] = {"U8", 1},
    [SV_DT_BOOL] = {"BOOL", 1},
};

const char *sv_dtype_name(sv_dtype dtype) {
    return (unsigned)dtype < SV_DT_COUNT ? dtype_info[dtype].name : "?";
}

int sv_dtype_size(sv_dtype dtype) {
    return (unsigned)dtype < SV_DT_COUNT ? dtype_info[dtype].size : 0;
}

sv_checkpoint *sv_checkpoint_new(const char *path) {
    sv_checkpoint *ck = calloc(1, sizeof *ck);
    if (!ck) return NULL;
    ck->path = strdup(path ? path : "<memory>");
    if (!ck->path) {
        free(ck);
        return NULL;
    }
    return ck;
}

void sv_checkpoint_free(sv_checkpoint *ck) {
    if (!ck) return;
    if (ck->free_source) ck->free_source(ck->source);
    for (int i = 0; i < ck->n_tensors; i++) free(ck->tensors[i].name);
    for (int i = 0; i < ck->n_storages; i++) free(ck->storages[i].key);
    for (int i = 0; i < ck->n_maps; i++) munmap(ck->maps[i].addr, ck->maps[i].size);
    for (int i = 0; i < ck->n_buffers; i++) free(ck->buffers[i]);
    free(ck->tensors);
    free(ck->storages);
    free(ck->maps);
    free(ck->buffers);
    free(ck->path);
    free(ck);
}

/* Grows *arr (of elem bytes each) so that it holds at least n+1 entries. */
static int grow(void **arr, int *cap, int n, size_t elem) {
    if (n < *cap) return 0;
    if (*cap > (1 << 24)) return -1;
    int new_cap = *cap ? *cap * 2 : 16;
    void *bigger = realloc(*arr, (size_t)new_cap * elem);
    if (!bigger) return -1;
    *arr = bigger;
    *cap = new_cap;
    return 0;
}

int sv_checkpoint_keep_map(sv_checkpoint *ck, void *map, size_t size) {
    if (grow((void **)&ck->maps, &ck->cap_maps, ck->n_maps, sizeof *ck->maps)) {
        munmap(map, size);
        return sv_error(SCIVEC_ENOMEM, "%s: out of memory", ck->path);
    }
    ck->maps[ck->n_maps].addr = map;
    ck->maps[ck->n_maps++].size = size;
    return SCIVEC_OK;
}

int sv_checkpoint_keep_buffer(sv_checkpoint *ck, void *buffer) {
    if (grow((void **)&ck->buffers, &ck->cap_buffers, ck->n_buffers, sizeof *ck->buffers)) {
        free(buffer);
        return sv_error(SCIVEC_ENOMEM, "%s: out of memory", ck->path);
    }
    ck->buffers[ck->n_buffers++] = buffer;
    return SCIVEC_OK;
}

/* A lazy format's storage read into a buffer the checkpoint keeps. */
static int load_storage(sv_checkpoint *ck, sv_storage *st) {
    if (st->n_bytes == 0) {
        static const uint8_t none[8];
        st->bytes = none;
        return SCIVEC_OK;
    }
    void *buf = malloc((size_t)st->n_bytes);
    if (!buf)
        return sv_error(SCIVEC_ENOMEM, "%s: storage %s: out of memory (%lld bytes)", ck->path,
                        st->key, (long long)st->n_bytes);
    int rc = ck->read_storage(ck, st, buf);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    if ((rc = sv_checkpoint_keep_buffer(ck, buf)) < 0) return rc;
    st->bytes = buf;
    return SCIVEC_OK;
}

int sv_checkpoint_add_storage(sv_checkpoint *ck, const char *key, sv_dtype dtype, int64_t n_bytes,
                              const uint8_t *bytes) {
    if (grow((void **)&ck->storages, &ck->cap_storages, ck->n_storages, sizeof *ck->storages))
        return sv_error(SCIVEC_ENOMEM, "%s: out of memory", ck->path);
    sv_storage *st = &ck->storages[ck->n_storages];
    memset(st, 0, sizeof *st);
    st->key = strdup(key ? key : "");
    if (!st->key) return sv_error(SCIVEC_ENOMEM, "%s: out of memory", ck->path);
    st->dtype = dtype;
    st->n_bytes = n_bytes;
    st->bytes = bytes;
    return ck->n_storages++;
}

const sv_tensor *sv_checkpoint_find(const sv_checkpoint *ck, const char *name) {
    for (int i = 0; i < ck->n_tensors; i++)
        if (strcmp(ck->tensors[i].name, name) == 0) return &ck->tensors[i];
    return NULL;
}

int sv_checkpoint_add_tensor(sv_checkpoint *ck, const char *name, sv_dtype dtype, int n_dims,
                             const int64_t *shape, const int64_t *stride, int64_t offset,
                             int storage) {
    if (n_dims < 0 || n_dims > SV_MAX_DIMS)
        return sv_error(SCIVEC_EFORMAT, "%s: tensor %s: %d dimensions (at most %d supported)",
                        ck->path, name, n_dims, SV_MAX_DIMS);
    if (storage < 0 || storage >= ck->n_storages)
        return sv_error(SCIVEC_EFORMAT, "%s: tensor %s: no such storage", ck->path, name);
    if (sv_checkpoint_find(ck, name))
        return sv_error(SCIVEC_EFORMAT, "%s: tensor %s appears twice", ck->path, name);
    if (grow((void **)&ck->tensors, &ck->cap_tensors, ck->n_tensors, sizeof *ck->tensors))
        return sv_error(SCIVEC_ENOMEM, "%s: out of memory", ck->path);
    sv_tensor *t = &ck->tensors[ck->n_tensors];
    memset(t, 0, sizeof *t);
    t->name = strdup(name);
    if (!t->name) return sv_error(SCIVEC_ENOMEM, "%s: out of memory", ck->path);
    t->dtype = dtype;
    t->n_dims = n_dims;
    t->offset = offset;
    t->storage = storage;
    int64_t step = 1;
    for (int d = n_dims - 1; d >= 0; d--) {
        if (shape[d] < 0 || (stride && stride[d] < 0)) {
            free(t->name);
            return sv_error(SCIVEC_EFORMAT, "%s: tensor %s: negative size or stride", ck->path,
                            name);
        }
        t->shape[d] = shape[d];
        t->stride[d] = stride ? stride[d] : step;
        if (__builtin_mul_overflow(step, shape[d] ? shape[d] : 1, &step)) {
            free(t->name);
            return sv_error(SCIVEC_EFORMAT, "%s: tensor %s: size overflows", ck->path, name);
        }
    }
    ck->n_tensors++;
    return SCIVEC_OK;
}

int64_t sv_tensor_numel(const sv_tensor *t) {
    int64_t n = 1;
    for (int d = 0; d < t->n_dims; d++)
        if (__builtin_mul_overflow(n, t->shape[d], &n)) return -1;
    return n;
}

static float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (mant << 13); /* inf / nan */
    } else if (exp != 0) {
        bits = sign | ((exp + 112) << 23) | (mant << 13); /* normal */
    } else if (mant == 0) {
        bits = sign; /* zero */
    } else {         /* subnormal */
        int shift = 0;
        while (!(mant & 0x400)) {
            mant <<= 1;
            shift++;
        }
        bits = sign | ((uint32_t)(113 - shift) << 23) | ((mant & 0x3ff) << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static float element_as_f32(const uint8_t *p, sv_dtype dtype) {
    switch (dtype) {
        case SV_DT_F32: {
            float f;
            memcpy(&f, p, 4);
            return f;
        }
        case SV_DT_F16: {
            uint16_t h;
            memcpy(&h, p, 2);
            return f16_to_f32(h);
        }
        case SV_DT_BF16: {
            uint16_t h;
            memcpy(&h, p, 2);
            uint32_t bits = (uint32_t)h << 16;
            float f;
            memcpy(&f, &bits, 4);
            return f;
        }
        case SV_DT_F64: {
            double d;
            memcpy(&d, p, 8);
            return (float)d;
        }
        default: return 0.0f;
    }
}

static int is_contiguous(const sv_tensor *t) {
    int64_t step = 1;
    for (int d = t->n_dims - 1; d >= 0; d--) {
        if (t->shape[d] != 1 && t->stride[d] != step) return 0;
        step *= t->shape[d];
    }
    return 1;
}

int sv_checkpoint_f32(sv_checkpoint *ck, const sv_tensor *t_const, const float **out) {
    sv_tensor *t = (sv_tensor *)t_const; /* caches its f32 view */
    *out = NULL;
    if (t->f32) {
        *out = t->f32;
        return SCIVEC_OK;
    }
    if (t->dtype != SV_DT_F32 && t->dtype != SV_DT_F16 && t->dtype != SV_DT_BF16 &&
        t->dtype != SV_DT_F64)
        return sv_error(SCIVEC_EFORMAT, "%s: tensor %s: dtype %s is not a floating-point type",
                        ck->path, t->name, sv_dtype_name(t->dtype));
    sv_storage *st = &ck->storages[t->storage];
    if (st->dtype != t->dtype)
        return sv_error(SCIVEC_EFORMAT, "%s: tensor %s: dtype %s but its storage holds %s",
                        ck->path, t->name, sv_dtype_name(t->dtype), sv_dtype_name(st->dtype));
    int64_t elem = sv_dtype_size(t->dtype);
    int64_t n = sv_tensor_numel(t);
    if (n < 0) return sv_error(SCIVEC_EFORMAT, "%s: tensor %s: size overflows", ck->path, t->name);
    /* The last element the view touches must lie inside the storage. */
    int64_t last = t->offset;
    for (int d = 0; d < t->n_dims && n > 0; d++) {
        int64_t span;
        if (__builtin_mul_overflow(t->shape[d] - 1, t->stride[d], &span) ||
            __builtin_add_overflow(last, span, &last))
            return sv_error(SCIVEC_EFORMAT, "%s: tensor %s: strides overflow", ck->path, t->name);
    }
    int64_t n_storage = st->n_bytes / elem;
    if (t->offset < 0 || (n > 0 && last >= n_storage))
        return sv_error(SCIVEC_EFORMAT,
                        "%s: tensor %s: view (offset %lld, last element %lld) lies outside "
                        "its storage of %lld elements",
                        ck->path, t->name, (long long)t->offset, (long long)last,
                        (long long)n_storage);
    if (n == 0) {
        static const float empty[1];
        *out = t->f32 = empty;
        return SCIVEC_OK;
    }
    if (!st->bytes) {
        if (!ck->read_storage)
            return sv_error(SCIVEC_EFORMAT, "%s: tensor %s: storage has no data", ck->path,
                            t->name);
        int rc = load_storage(ck, st);
        if (rc < 0) return sv_error_prefix(rc, "tensor %s", t->name);
    }
    const uint8_t *base = st->bytes + t->offset * elem;
    if (t->dtype == SV_DT_F32 && is_contiguous(t) && ((uintptr_t)base % sizeof(float)) == 0) {
        *out = t->f32 = (const float *)base; /* zero copy */
        return SCIVEC_OK;
    }
    if ((uint64_t)n > SIZE_MAX / sizeof(float))
        return sv_error(SCIVEC_ENOMEM, "%s: tensor %s: too large", ck->path, t->name);
    float *dst = malloc((size_t)n * sizeof(float));
    if (!dst)
        return sv_error(SCIVEC_ENOMEM, "%s: tensor %s: out of memory (%lld floats)", ck->path,
                        t->name, (long long)n);
    /* Walk the view in C order with an odometer over the dimensions. */
    int64_t index[SV_MAX_DIMS] = {0};
    int64_t src = 0;
    for (int64_t i = 0; i < n; i++) {
        dst[i] = element_as_f32(base + src * elem, t->dtype);
        for (int d = t->n_dims - 1; d >= 0; d--) {
            index[d]++;
            src += t->stride[d];
            if (index[d] < t->shape[d]) break;
            src -= t->stride[d] * t->shape[d];
            index[d] = 0;
        }
    }
    int rc = sv_checkpoint_keep_buffer(ck, dst);
    if (rc < 0) return rc;
    *out = t->f32 = dst;
    return SCIVEC_OK;
}
