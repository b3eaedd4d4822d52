/*
 * checkpoint_open.c - which reader a weight file needs: told by its name
 * (safetensors, a sharded index) or by its first bytes (a PyTorch zip
 * archive or a legacy pickle). The readers fill the tensor table of
 * checkpoint.c, so the table knows none of them.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "weights/checkpoint.h"
#include "weights/checkpoint_open.h"
#include "weights/safetensors.h"
#include "weights/torch_legacy.h"
#include "weights/torch_zip.h"

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int sv_checkpoint_open(const char *path, sv_checkpoint **out) {
    *out = NULL;
    sv_checkpoint *ck = sv_checkpoint_new(path);
    if (!ck) return sv_error(SCIVEC_ENOMEM, "%s: out of memory", path);
    int rc;
    if (ends_with(path, ".safetensors")) {
        rc = sv_safetensors_open_into(path, ck);
    } else if (ends_with(path, ".index.json")) {
        rc = sv_safetensors_index_open_into(path, ck);
    } else {
        /* pytorch_model.bin: a zip archive starts "PK\3\4", the legacy format
         * with a pickle (protocol 2: 0x80 0x02). */
        unsigned char magic[4] = {0};
        FILE *f = fopen(path, "rb");
        if (!f) {
            rc = sv_error(errno == ENOENT ? SCIVEC_ENOTFOUND : SCIVEC_EIO, "%s: %s", path,
                          strerror(errno));
        } else {
            size_t got = fread(magic, 1, 4, f);
            fclose(f);
            if (got == 4 && memcmp(magic, "PK\3\4", 4) == 0)
                rc = sv_torch_zip_open_into(path, ck);
            else if (got >= 2 && magic[0] == 0x80)
                rc = sv_torch_legacy_open_into(path, ck);
            else if (got == 0)
                rc = sv_error(SCIVEC_EFORMAT, "%s: empty file", path);
            else
                rc = sv_error(SCIVEC_EFORMAT,
                              "%s: not a PyTorch checkpoint (neither a zip archive nor a pickle)",
                              path);
        }
    }
    if (rc < 0) {
        sv_checkpoint_free(ck);
        return rc;
    }
    *out = ck;
    return SCIVEC_OK;
}
