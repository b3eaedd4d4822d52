/*
 * bert_dispatch.c - the forward's entry points, forwarded to the variant of
 * bert.c this CPU runs best: AVX-512 (x86-64-v4), AVX2 + FMA (x86-64-v3) or
 * generic x86-64 (kernel_variant.h, cpu.h). bert.c's own code - attention,
 * softmax, GELU, LayerNorm, bias passes - is thus compiled for each, while
 * this file and the rest of the library stay plain x86-64, so the binary
 * starts on any x86-64 CPU. The choice is made once, on first use.
 */
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "nn/bert.h"
#include "nn/config.h"
#include "nn/weights.h"

#define SV_DECLARE_VARIANT(isa)                                                                    \
    void sv_bert_workspace_free_##isa(sv_bert_workspace *ws);                                      \
    void sv_layernorm_row_##isa(float *out, const float *inp, const float *gamma,                  \
                                const float *beta, int n, float eps);                              \
    int sv_bert_forward_##isa(const sv_bert_config *cfg, const sv_bert_weights *w,                 \
                              sv_bert_workspace *ws, int n_threads, int n_seqs,                    \
                              const int *seq_start, const int32_t *ids, const int32_t *type_ids);  \
    int sv_bert_forward_adapter_##isa(const sv_bert_config *cfg, const sv_bert_weights *w,         \
                                      const sv_adapter *adapter, sv_bert_workspace *ws,            \
                                      int n_threads, int n_seqs, const int *seq_start,             \
                                      const int32_t *ids, const int32_t *type_ids);                \
    int sv_bert_forward_cls_##isa(const sv_bert_config *cfg, const sv_bert_weights *w,             \
                                  const sv_adapter *adapter, sv_bert_workspace *ws, int n_threads, \
                                  int n_seqs, const int *seq_start, const int32_t *ids,            \
                                  const int32_t *type_ids);
SV_DECLARE_VARIANT(generic)
SV_DECLARE_VARIANT(avx2)
SV_DECLARE_VARIANT(avx512)

typedef struct bert_variant {
    void (*workspace_free)(sv_bert_workspace *ws);
    void (*layernorm_row)(float *out, const float *inp, const float *gamma, const float *beta,
                          int n, float eps);
    int (*forward)(const sv_bert_config *cfg, const sv_bert_weights *w, sv_bert_workspace *ws,
                   int n_threads, int n_seqs, const int *seq_start, const int32_t *ids,
                   const int32_t *type_ids);
    int (*forward_adapter)(const sv_bert_config *cfg, const sv_bert_weights *w,
                           const sv_adapter *adapter, sv_bert_workspace *ws, int n_threads,
                           int n_seqs, const int *seq_start, const int32_t *ids,
                           const int32_t *type_ids);
    int (*forward_cls)(const sv_bert_config *cfg, const sv_bert_weights *w,
                       const sv_adapter *adapter, sv_bert_workspace *ws, int n_threads, int n_seqs,
                       const int *seq_start, const int32_t *ids, const int32_t *type_ids);
} bert_variant;

#define SV_VARIANT(isa)                                                                            \
    {                                                                                              \
        sv_bert_workspace_free_##isa, sv_layernorm_row_##isa, sv_bert_forward_##isa,               \
            sv_bert_forward_adapter_##isa, sv_bert_forward_cls_##isa                               \
    }
static const bert_variant variants[] = {
    [SV_ISA_GENERIC] = SV_VARIANT(generic),
    [SV_ISA_AVX2] = SV_VARIANT(avx2),
    [SV_ISA_AVX512] = SV_VARIANT(avx512),
};

/* SCIVEC_KERNELS=generic|avx2 picks a lower variant than the CPU allows
 * (to compare them, or to reproduce another machine's numbers); a higher one
 * than the CPU has is ignored. */
static sv_isa chosen_isa(void) {
    sv_isa isa = sv_cpu_get()->isa;
    const char *forced = getenv("SCIVEC_KERNELS");
    if (forced) {
        for (int i = SV_ISA_GENERIC; i <= SV_ISA_AVX512; i++)
            if (!strcmp(forced, sv_isa_name((sv_isa)i)) && (sv_isa)i <= isa) return (sv_isa)i;
    }
    return isa;
}

static const bert_variant *variant(void) {
    static const bert_variant *chosen;
    if (!chosen) chosen = &variants[chosen_isa()];
    return chosen;
}

const char *sv_bert_kernels(void) { return sv_isa_name((sv_isa)(variant() - variants)); }

void sv_bert_workspace_free(sv_bert_workspace *ws) { variant()->workspace_free(ws); }

void sv_layernorm_row(float *out, const float *inp, const float *gamma, const float *beta, int n,
                      float eps) {
    variant()->layernorm_row(out, inp, gamma, beta, n, eps);
}

int sv_bert_forward(const sv_bert_config *cfg, const sv_bert_weights *w, sv_bert_workspace *ws,
                    int n_threads, int n_seqs, const int *seq_start, const int32_t *ids,
                    const int32_t *type_ids) {
    return variant()->forward(cfg, w, ws, n_threads, n_seqs, seq_start, ids, type_ids);
}

int sv_bert_forward_adapter(const sv_bert_config *cfg, const sv_bert_weights *w,
                            const sv_adapter *adapter, sv_bert_workspace *ws, int n_threads,
                            int n_seqs, const int *seq_start, const int32_t *ids,
                            const int32_t *type_ids) {
    return variant()->forward_adapter(cfg, w, adapter, ws, n_threads, n_seqs, seq_start, ids,
                                      type_ids);
}

int sv_bert_forward_cls(const sv_bert_config *cfg, const sv_bert_weights *w,
                        const sv_adapter *adapter, sv_bert_workspace *ws, int n_threads, int n_seqs,
                        const int *seq_start, const int32_t *ids, const int32_t *type_ids) {
    return variant()->forward_cls(cfg, w, adapter, ws, n_threads, n_seqs, seq_start, ids, type_ids);
}
