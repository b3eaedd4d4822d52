/*
 * torch_legacy.c - legacy (pre-1.6) pytorch_model.bin (work in progress:
 * this first version refuses the format clearly).
 */
#include "checkpoint.h"
#include "common.h"

int sv_torch_legacy_open_into(const char *path, sv_checkpoint *ck) {
    return sv_error(SCIVEC_EUNSUPPORTED, "%s: legacy PyTorch checkpoints are not supported yet", path);
}
