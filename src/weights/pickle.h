/*
 * pickle.h - a small, SAFE reader for the pickles inside pytorch_model.bin.
 *
 * It is an interpreter for the subset of the pickle machine a PyTorch state
 * dict uses, building plain values (ints, strings, tuples, lists, dicts) plus
 * two special kinds: storages (from persistent ids) and tensors (from
 * torch._utils._rebuild_tensor_v2). It never imports or calls anything: a
 * GLOBAL outside a short allowlist (collections.OrderedDict, the torch
 * rebuild helpers, torch.*Storage, torch dtypes) is refused by name the
 * moment it is read. Stack, memo, nesting and memory are all bounded.
 */
#ifndef SV_PICKLE_H
#define SV_PICKLE_H

#include <stddef.h>
#include <stdint.h>

#include "weights/checkpoint.h"

typedef enum sv_pv_type {
    SV_PV_NONE,
    SV_PV_BOOL,
    SV_PV_INT,
    SV_PV_BIGINT,
    SV_PV_FLOAT,
    SV_PV_STR,
    SV_PV_BYTES,
    SV_PV_TUPLE,
    SV_PV_LIST,
    SV_PV_DICT,
    SV_PV_GLOBAL,
    SV_PV_STORAGE,
    SV_PV_TENSOR,
    SV_PV_MARK,
} sv_pv_type;

typedef struct sv_pv sv_pv;
struct sv_pv {
    sv_pv_type type;
    int depth; /* nesting depth of containers below   */
    union {
        int64_t i; /* BOOL, INT                           */
        double f;  /* FLOAT                               */
        struct {
            const char *s;
            size_t len;
        } str; /* STR, BYTES, BIGINT (raw LE bytes) */
        struct {
            sv_pv **items;
            int n, cap;
        } seq;      /* TUPLE, LIST; DICT as k0,v0,k1,v1.. */
        int global; /* GLOBAL: index into the allowlist    */
        struct {
            const char *key; /* archive key of the storage          */
            sv_dtype dtype;
            int64_t numel;       /* elements of the whole storage       */
            int64_t view_offset; /* legacy storage views: elements      */
        } storage;
        struct {
            const sv_pv *storage;
            int64_t offset;
            int n_dims;
            int64_t shape[SV_MAX_DIMS], stride[SV_MAX_DIMS];
        } tensor;
    } u;
};

typedef struct sv_pickle sv_pickle;

/* Runs one pickle from buf (up to its STOP opcode). *consumed = bytes used
 * (several pickles follow each other in legacy files). name is used in
 * messages. Refused: unknown opcodes, non-allowlisted globals, truncation,
 * and anything over the bounds. */
int sv_pickle_load(const uint8_t *buf, size_t size, const char *name, sv_pickle **out,
                   size_t *consumed);
void sv_pickle_free(sv_pickle *p);
const sv_pv *sv_pickle_root(const sv_pickle *p);

/* The value of key in a DICT, or NULL. */
const sv_pv *sv_pv_dict_get(const sv_pv *dict, const char *key);

/* Adds every tensor of a state dict (a DICT of str -> tensor, non-tensor
 * values skipped) to ck: one storage per distinct archive key (bytes NULL,
 * src_index = -1; the format fills in where to read it), tensor views with
 * their offsets and strides. */
int sv_pickle_state_dict_into(const sv_pickle *p, sv_checkpoint *ck);

#endif /* SV_PICKLE_H */
