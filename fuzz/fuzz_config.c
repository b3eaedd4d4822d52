/* fuzz_config.c - any bytes as config.json. */
#include <stdint.h>
#include <stdlib.h>

#include "nn/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sv_bert_config cfg;
    if (sv_config_parse((const char *)data, size, "fuzz-config.json", &cfg) == 0) {
        /* What the rest of the library relies on. */
        if (cfg.hidden % cfg.n_heads != 0 || cfg.hidden <= 0 || cfg.vocab_size <= 0 ||
            cfg.n_layers <= 0 || cfg.max_position <= 0 || cfg.type_vocab_size <= 0 ||
            !(cfg.layer_norm_eps > 0))
            abort();
    }
    return 0;
}
