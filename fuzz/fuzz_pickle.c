/* fuzz_pickle.c - any bytes as a sequence of pickles (as in a legacy
 * pytorch_model.bin): run each through the safe interpreter and read the
 * first as a state dict. */
#include <stdint.h>
#include <stdlib.h>

#include "weights/checkpoint.h"
#include "weights/pickle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t pos = 0;
    for (int i = 0; i < 6 && pos < size; i++) {
        sv_pickle *p = NULL;
        size_t used = 0;
        if (sv_pickle_load(data + pos, size - pos, "fuzz.pkl", &p, &used) != 0) break;
        sv_checkpoint *ck = sv_checkpoint_new("fuzz.pkl");
        if (ck) {
            /* Storages have no bytes: f32 must fail cleanly, never read. */
            if (sv_pickle_state_dict_into(p, ck) == 0) {
                const float *f;
                for (int t = 0; t < ck->n_tensors; t++) sv_checkpoint_f32(ck, &ck->tensors[t], &f);
            }
            sv_checkpoint_free(ck);
        }
        sv_pickle_free(p);
        pos += used;
    }
    return 0;
}
