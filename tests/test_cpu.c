/*
 * test_cpu.c - the library's CPU check at model load. On a CPU with AVX2 +
 * FMA the tiny model loads and encodes; without them scivec_model_load
 * refuses with SCIVEC_EUNSUPPORTED and a message naming AVX2, and nothing
 * runs (test_portable.py runs this binary under qemu-x86_64 -cpu Nehalem
 * to reach that branch).
 */
#include <string.h>

#include "check.h"
#include "core/cpu.h"
#include "scivec.h"

int main(void) {
    const sv_cpu *cpu = sv_cpu_get();
    printf("cpu: kernels %s, avx512_bf16 %d, avx512_vnni %d, amx %d/%d\n", sv_isa_name(cpu->isa),
           cpu->avx512_bf16, cpu->avx512_vnni, cpu->amx_bf16, cpu->amx_int8);
    scivec_model_params mp = scivec_model_default_params();
    mp.n_threads = 1;
    scivec_model *model = NULL;
    int status = scivec_model_load(SV_FIXTURES "/models/tiny-scibert", &mp, &model);
    if (cpu->isa >= SV_ISA_AVX2) {
        CHECK(status == SCIVEC_OK, "load: %s", scivec_last_error());
        CHECK(scivec_cpu_check() == SCIVEC_OK, "cpu check fails on a CPU with AVX2");
        if (model) {
            scivec_encode_params ep = scivec_encode_default_params();
            const char *texts[] = {"Attention is all you need"};
            float vec[64 * 4];
            CHECK(scivec_model_hidden_size(model) <= 64 * 4, "hidden size");
            CHECK(scivec_model_encode_texts(model, &ep, 1, texts, NULL, vec, NULL) == SCIVEC_OK,
                  "encode: %s", scivec_last_error());
        }
    } else {
        CHECK(status == SCIVEC_EUNSUPPORTED && !model, "load without AVX2: status %d", status);
        CHECK(strstr(scivec_last_error(), "AVX2") != NULL, "message: %s", scivec_last_error());
        CHECK(scivec_cpu_check() == SCIVEC_EUNSUPPORTED, "cpu check passes without AVX2");
        printf("refused: %s\n", scivec_last_error());
    }
    scivec_model_free(model);
    return check_report();
}
