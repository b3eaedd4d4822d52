/*
 * torch_zip.h - the reader of zip pytorch_model.bin files (torch_zip.c).
 */
#ifndef SV_TORCH_ZIP_H
#define SV_TORCH_ZIP_H

#include <stddef.h>

#include "weights/checkpoint.h"

/* Reads a PyTorch >= 1.6 zip checkpoint into ck (lazily, per storage). */
int sv_torch_zip_open_into(const char *path, sv_checkpoint *ck);

#endif /* SV_TORCH_ZIP_H */
