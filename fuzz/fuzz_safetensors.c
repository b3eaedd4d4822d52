/* fuzz_safetensors.c - any bytes as a safetensors file: parse, then turn every
 * tensor into float32 (conversion, bounds and overlap checks). */
#include <stdint.h>
#include <stdlib.h>

#include "weights/checkpoint.h"
#include "weights/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sv_checkpoint *ck = sv_checkpoint_new("fuzz.safetensors");
    if (!ck) return 0;
    if (sv_safetensors_parse(data, size, ck) == 0) {
        for (int i = 0; i < ck->n_tensors; i++) {
            const float *f;
            if (sv_checkpoint_f32(ck, &ck->tensors[i], &f) == 0) {
                int64_t n = sv_tensor_numel(&ck->tensors[i]);
                volatile float sink = 0;
                for (int64_t j = 0; j < n && j < 4096; j++) sink += f[j]; /* touch the view */
                (void)sink;
            }
        }
    }
    sv_checkpoint_free(ck);
    return 0;
}
