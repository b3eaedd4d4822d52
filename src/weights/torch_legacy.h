/*
 * torch_legacy.h - the reader of legacy (pre-1.6) pytorch_model.bin files
 * (torch_legacy.c).
 */
#ifndef SV_TORCH_LEGACY_H
#define SV_TORCH_LEGACY_H

#include <stddef.h>

#include "weights/checkpoint.h"

/* Reads a legacy pickle checkpoint into ck. */
int sv_torch_legacy_open_into(const char *path, sv_checkpoint *ck);

#endif /* SV_TORCH_LEGACY_H */
