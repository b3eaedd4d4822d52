/*
 * checkpoint_open.h - opening a weight file of any supported format (checkpoint_open.c).
 */
#ifndef SV_CHECKPOINT_OPEN_H
#define SV_CHECKPOINT_OPEN_H

#include <stddef.h>

#include "weights/checkpoint.h"

/* Opens a weight file: *.safetensors, *.safetensors.index.json, or a
 * pytorch_model.bin (zip or legacy, told apart by their first bytes). */
int sv_checkpoint_open(const char *path, sv_checkpoint **out);

#endif /* SV_CHECKPOINT_OPEN_H */
