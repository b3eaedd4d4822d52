/*
 * checkpoint.h - a table of named tensors read from a weight file, whatever
 * its format: safetensors (single or sharded), PyTorch zip pytorch_model.bin,
 * or the legacy (pre-1.6) pickle pytorch_model.bin.
 *
 * A tensor is a view (shape, strides, offset, dtype) into a storage, as in
 * PyTorch; several tensors may view one storage. Storages are loaded lazily
 * (only the ones a caller asks for are read, each once, straight into its
 * final buffer) and sv_checkpoint_f32 turns a tensor into a contiguous float32
 * array: a zero-copy pointer into the storage when it already is one (an
 * mmapped F32 safetensors tensor), else a converted copy the checkpoint owns.
 */
#ifndef SV_CHECKPOINT_H
#define SV_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

typedef enum sv_dtype {
    SV_DT_F32,
    SV_DT_F16,
    SV_DT_BF16,
    SV_DT_F64,
    SV_DT_I64,
    SV_DT_I32,
    SV_DT_I16,
    SV_DT_I8,
    SV_DT_U8,
    SV_DT_BOOL,
    SV_DT_COUNT
} sv_dtype;

const char *sv_dtype_name(sv_dtype dtype);
int sv_dtype_size(sv_dtype dtype);

#define SV_MAX_DIMS 8

typedef struct sv_checkpoint sv_checkpoint;

typedef struct sv_storage {
    char *key; /* archive key (pickle formats) or tensor name  */
    sv_dtype dtype;
    int64_t n_bytes;
    const uint8_t *bytes; /* NULL until loaded                            */
    int64_t src_offset;   /* where the loader finds it (format specific)  */
    int64_t src_index;
} sv_storage;

typedef struct sv_tensor {
    char *name;
    sv_dtype dtype;
    int n_dims;
    int64_t shape[SV_MAX_DIMS];
    int64_t stride[SV_MAX_DIMS]; /* in elements                           */
    int64_t offset;              /* in elements, into the storage         */
    int storage;                 /* index into the checkpoint's storages  */
    const float *f32;            /* cached result of sv_checkpoint_f32    */
} sv_tensor;

struct sv_checkpoint {
    char *path; /* the file named in messages            */
    sv_tensor *tensors;
    int n_tensors, cap_tensors;
    sv_storage *storages;
    int n_storages, cap_storages;
    /* Memory the checkpoint owns: mmaps and malloc'd buffers. */
    struct sv_mapping {
        void *addr;
        size_t size;
    } * maps;
    int n_maps, cap_maps;
    void **buffers;
    int n_buffers, cap_buffers;
    /* Reads storage st's n_bytes (> 0) into buf, for lazy formats;
     * checkpoint.c allocates buf and keeps it. */
    int (*read_storage)(sv_checkpoint *ck, const sv_storage *st, void *buf);
    void *source; /* format state for read_storage         */
    void (*free_source)(void *source);
};

void sv_checkpoint_free(sv_checkpoint *ck);
const sv_tensor *sv_checkpoint_find(const sv_checkpoint *ck, const char *name);
/* Contiguous float32 data of a tensor (F32/F16/BF16/F64 storages). Checks
 * that the view lies inside its storage. The pointer lives as long as ck. */
int sv_checkpoint_f32(sv_checkpoint *ck, const sv_tensor *t, const float **out);
int64_t sv_tensor_numel(const sv_tensor *t);

/* For the format readers. */
sv_checkpoint *sv_checkpoint_new(const char *path);
int sv_checkpoint_add_storage(sv_checkpoint *ck, const char *key, sv_dtype dtype, int64_t n_bytes,
                              const uint8_t *bytes);
/* Adds a tensor; shape/stride copied; stride NULL = contiguous. Refuses
 * duplicate names. */
int sv_checkpoint_add_tensor(sv_checkpoint *ck, const char *name, sv_dtype dtype, int n_dims,
                             const int64_t *shape, const int64_t *stride, int64_t offset,
                             int storage);
int sv_checkpoint_keep_map(sv_checkpoint *ck, void *map, size_t size);
int sv_checkpoint_keep_buffer(sv_checkpoint *ck, void *buffer);

#endif /* SV_CHECKPOINT_H */
