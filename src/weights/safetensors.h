/*
 * safetensors.h - the safetensors reader, single file or sharded (safetensors.c).
 */
#ifndef SV_SAFETENSORS_H
#define SV_SAFETENSORS_H

#include <stddef.h>

#include "weights/checkpoint.h"

/* safetensors.c: parses a whole safetensors file held in buf (which must
 * outlive ck), adding one storage + tensor per entry. */
int sv_safetensors_parse(const void *buf, size_t size, sv_checkpoint *ck);
/* Maps path and parses it into ck. */
int sv_safetensors_open_into(const char *path, sv_checkpoint *ck);
/* Sharded: model.safetensors.index.json naming the shard of each tensor. */
int sv_safetensors_index_open_into(const char *index_path, sv_checkpoint *ck);

#endif /* SV_SAFETENSORS_H */
