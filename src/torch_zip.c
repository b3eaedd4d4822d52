/*
 * torch_zip.c - pytorch_model.bin in PyTorch's zip format (work in progress:
 * this first version refuses the format clearly).
 */
#include "checkpoint.h"
#include "common.h"

int sv_torch_zip_open_into(const char *path, sv_checkpoint *ck) {
    return sv_error(SCIVEC_EUNSUPPORTED, "%s: PyTorch zip checkpoints are not supported yet", path);
}
