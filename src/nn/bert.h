/*
 * bert.h - the BERT encoder's forward pass over packed sequences (bert.c,
 * compiled once per instruction-set level; bert_dispatch.c picks one).
 */
#ifndef SV_BERT_H
#define SV_BERT_H

#include <stdint.h>

#include "nn/config.h"
#include "nn/weights.h"

/* Scratch buffers of the forward, owned by whoever runs it (the model) and
 * reused across calls: they only grow, so a steady stream of batches
 * allocates nothing. Zero-initialise before first use. */
typedef struct sv_bert_workspace {
    int64_t cap_tokens; /* token rows every [n_tokens, *] buffer holds   */
    int64_t cap_scores; /* floats in scores                             */
    float *x;           /* [n_tokens, hidden] residual stream; after the
                                forward, the last hidden state               */
    float *q, *k, *v;   /* [n_tokens, hidden] projections, heads side by side */
    float *ctx;         /* [n_tokens, hidden] attention output (pre-dense) */
    float *tmp;         /* [n_tokens, hidden] dense output before residual+LN */
    float *ffn;         /* [n_tokens, intermediate]                     */
    int *tok_seq;       /* [n_tokens] which sequence each token belongs to */
    int *row_start;     /* [n_tokens + 1] 0, 1, 2, ...: one-row "sequences"
                                for the [CLS]-only last layer                */
    float *scores;      /* per thread: [longest, longest] attention scores */
} sv_bert_workspace;

void sv_bert_workspace_free(sv_bert_workspace *ws);

/* The variant of the forward's own code in use: "avx512", "avx2" or
 * "generic" (bert_dispatch.c; SCIVEC_KERNELS=avx2|generic asks for a lower one). */
const char *sv_bert_kernels(void);

/* out[n] = LayerNorm(inp[n]) * gamma + beta for one row (out may alias inp),
 * mean and variance in double: the forward's and the adapters' LayerNorm. */
void sv_layernorm_row(float *out, const float *inp, const float *gamma, const float *beta, int n,
                      float eps);

/* Runs the encoder over n_seqs sequences packed back to back without padding:
 * sequence s is tokens seq_start[s] .. seq_start[s+1]-1 of ids / type_ids
 * (seq_start has n_seqs + 1 entries, seq_start[0] = 0). Every id, type id and
 * length is checked against cfg. On success ws->x holds the last hidden state
 * [seq_start[n_seqs], hidden]. n_threads >= 1 OpenMP threads (gemm.c products). */
int sv_bert_forward(const sv_bert_config *cfg, const sv_bert_weights *w, sv_bert_workspace *ws,
                    int n_threads, int n_seqs, const int *seq_start, const int32_t *ids,
                    const int32_t *type_ids);

/* The same with a bottleneck adapter (adapter.h) at every layer's
 * feed-forward output; adapter NULL is sv_bert_forward. The adapter must have
 * been loaded for this cfg (sv_adapter_load checks layers and sizes). */
typedef struct sv_adapter sv_adapter;
int sv_bert_forward_adapter(const sv_bert_config *cfg, const sv_bert_weights *w,
                            const sv_adapter *adapter, sv_bert_workspace *ws, int n_threads,
                            int n_seqs, const int *seq_start, const int32_t *ids,
                            const int32_t *type_ids);

/* The same (adapter may be NULL), but the last layer computes its query,
 * attention, attention output and feed-forward for each sequence's first
 * ([CLS]) row only (keys and values still for every token): exact for cls
 * and pooler pooling, and about 7% fewer FLOPs for BERT-base. On return only
 * rows seq_start[s] of ws->x are the last hidden state; the other rows hold
 * the previous layer's output. */
int sv_bert_forward_cls(const sv_bert_config *cfg, const sv_bert_weights *w,
                        const sv_adapter *adapter, sv_bert_workspace *ws, int n_threads, int n_seqs,
                        const int *seq_start, const int32_t *ids, const int32_t *type_ids);

#endif /* SV_BERT_H */
