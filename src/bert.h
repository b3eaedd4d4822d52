/*
 * bert.h - the BERT encoder inside libscivec: its configuration, its weights
 * as plain float views, and the forward pass over packed sequences.
 *
 * Who does what:
 *   config.c   config.json            -> sv_bert_config
 *   weights.c  model.safetensors / pytorch_model.bin -> sv_weights (owns the
 *              memory: mmap or converted copies) exposing sv_bert_weights
 *   bert.c     sv_bert_forward: token ids -> pooled vectors
 *   model.c    the public scivec_model_* API tying tokenizer, weights and
 *              forward together
 */
#ifndef SV_BERT_H
#define SV_BERT_H

#include <stdint.h>

#include "scivec.h"

typedef enum sv_activation {
    SV_ACT_GELU,       /* exact erf GELU ("gelu")                            */
    SV_ACT_GELU_TANH,  /* tanh approximation ("gelu_new", "gelu_pytorch_tanh") */
    SV_ACT_RELU,
} sv_activation;

typedef struct sv_bert_config {
    int   vocab_size;
    int   hidden;            /* hidden_size                                 */
    int   n_layers;          /* num_hidden_layers                           */
    int   n_heads;           /* num_attention_heads                         */
    int   intermediate;      /* intermediate_size                           */
    int   max_position;      /* max_position_embeddings                     */
    int   type_vocab_size;
    float layer_norm_eps;
    sv_activation act;
} sv_bert_config;

/* Reads config.json; HF BertConfig defaults fill missing keys. Refuses other
 * architectures (model_type other than "bert", relative positions, ...). */
int sv_config_load(const char *config_path, sv_bert_config *cfg);
/* Same, from the JSON text (for fuzzing); name is used in messages. */
int sv_config_parse(const char *json, size_t len, const char *name,
                    sv_bert_config *cfg);

/* One encoder layer. Linear weights are [out, in] row-major as PyTorch keeps
 * them (y = x W^T + b). */
typedef struct sv_bert_layer {
    const float *q_w, *q_b, *k_w, *k_b, *v_w, *v_b;   /* [hidden, hidden]   */
    const float *attn_out_w, *attn_out_b;            /* [hidden, hidden]   */
    const float *attn_ln_g, *attn_ln_b;              /* [hidden]           */
    const float *ffn_in_w, *ffn_in_b;                /* [intermediate, hidden] */
    const float *ffn_out_w, *ffn_out_b;              /* [hidden, intermediate] */
    const float *ffn_ln_g, *ffn_ln_b;                /* [hidden]           */
    /* the six dense layers in bf16 / int8 (lowp.h); NULL: fp32 (the default) */
    const struct sv_lowp_weight *q_lp, *k_lp, *v_lp, *attn_out_lp, *ffn_in_lp, *ffn_out_lp;
} sv_bert_layer;

typedef struct sv_bert_weights {
    const float *word_emb;        /* [vocab_size, hidden]                    */
    const float *pos_emb;         /* [max_position, hidden]                  */
    const float *type_emb;        /* [type_vocab_size, hidden]               */
    const float *emb_ln_g, *emb_ln_b;
    sv_bert_layer *layers;        /* [n_layers]                              */
    const float *pooler_w, *pooler_b; /* NULL when the checkpoint has none   */
} sv_bert_weights;

/* Loaded weights; owns whatever memory backs the float views. */
typedef struct sv_weights sv_weights;

/* Finds the weight file in model_dir (model.safetensors, its sharded
 * model.safetensors.index.json, else pytorch_model.bin in zip or legacy
 * format), checks every tensor against cfg and exposes float32 views. */
int  sv_weights_load(const char *model_dir, const sv_bert_config *cfg,
                     sv_weights **out);
void sv_weights_free(sv_weights *w);
const sv_bert_weights *sv_weights_bert(const sv_weights *w);
/* The weight file that was read (the index file for sharded checkpoints). */
const char *sv_weights_path(const sv_weights *w);
/* "PATH: N NaN/Inf weight values in ..." when the weights hold any, else NULL. */
const char *sv_weights_warning(const sv_weights *w);

/* Resolves --model: a directory as is, or ORG/NAME[@REV] in the HF cache.
 * Writes a newly allocated directory path to *dir. */
int sv_resolve_model_dir(const char *model, char **dir);


/* ------------------------------------------------------------------------ */
/* Forward pass (bert.c) and pooling (pooling.c).                            */

/* Scratch buffers of the forward, owned by whoever runs it (the model) and
 * reused across calls: they only grow, so a steady stream of batches
 * allocates nothing. Zero-initialise before first use. */
typedef struct sv_bert_workspace {
    int64_t cap_tokens;      /* token rows every [n_tokens, *] buffer holds   */
    int64_t cap_scores;      /* floats in scores                             */
    float *x;                /* [n_tokens, hidden] residual stream; after the
                                forward, the last hidden state               */
    float *q, *k, *v;        /* [n_tokens, hidden] projections, heads side by side */
    float *ctx;              /* [n_tokens, hidden] attention output (pre-dense) */
    float *tmp;              /* [n_tokens, hidden] dense output before residual+LN */
    float *ffn;              /* [n_tokens, intermediate]                     */
    int   *tok_seq;          /* [n_tokens] which sequence each token belongs to */
    int   *row_start;        /* [n_tokens + 1] 0, 1, 2, ...: one-row "sequences"
                                for the [CLS]-only last layer                */
    float *scores;           /* per thread: [longest, longest] attention scores */
} sv_bert_workspace;

void sv_bert_workspace_free(sv_bert_workspace *ws);

/* The variant of the forward's own code in use: "avx512", "avx2" or
 * "generic" (bert_dispatch.c; SCIVEC_KERNELS=avx2|generic asks for a lower one). */
const char *sv_bert_kernels(void);

/* out[n] = LayerNorm(inp[n]) * gamma + beta for one row (out may alias inp),
 * mean and variance in double: the forward's and the adapters' LayerNorm. */
void sv_layernorm_row(float *out, const float *inp, const float *gamma,
                      const float *beta, int n, float eps);

/* Runs the encoder over n_seqs sequences packed back to back without padding:
 * sequence s is tokens seq_start[s] .. seq_start[s+1]-1 of ids / type_ids
 * (seq_start has n_seqs + 1 entries, seq_start[0] = 0). Every id, type id and
 * length is checked against cfg. On success ws->x holds the last hidden state
 * [seq_start[n_seqs], hidden]. n_threads >= 1 OpenMP threads (gemm.c products). */
int sv_bert_forward(const sv_bert_config *cfg, const sv_bert_weights *w,
                    sv_bert_workspace *ws, int n_threads, int n_seqs,
                    const int *seq_start, const int32_t *ids,
                    const int32_t *type_ids);

/* The same with a bottleneck adapter (adapter.h) at every layer's
 * feed-forward output; adapter NULL is sv_bert_forward. The adapter must have
 * been loaded for this cfg (sv_adapter_load checks layers and sizes). */
typedef struct sv_adapter sv_adapter;
int sv_bert_forward_adapter(const sv_bert_config *cfg, const sv_bert_weights *w,
                            const sv_adapter *adapter, sv_bert_workspace *ws,
                            int n_threads, int n_seqs, const int *seq_start,
                            const int32_t *ids, const int32_t *type_ids);

/* The same (adapter may be NULL), but the last layer computes its query,
 * attention, attention output and feed-forward for each sequence's first
 * ([CLS]) row only (keys and values still for every token): exact for cls
 * and pooler pooling, and about 7% fewer FLOPs for BERT-base. On return only
 * rows seq_start[s] of ws->x are the last hidden state; the other rows hold
 * the previous layer's output. */
int sv_bert_forward_cls(const sv_bert_config *cfg, const sv_bert_weights *w,
                        const sv_adapter *adapter, sv_bert_workspace *ws,
                        int n_threads, int n_seqs, const int *seq_start,
                        const int32_t *ids, const int32_t *type_ids);

/* Pools the last hidden state of each packed sequence into out[n_seqs, hidden]
 * (cls, mean over all tokens, max, or the BERT pooler), then L2-normalises
 * each row when normalize is set. pooling must not be SCIVEC_POOL_DEFAULT. */
int sv_bert_pool(const sv_bert_config *cfg, const sv_bert_weights *w,
                 scivec_pooling pooling, int normalize, const float *hidden_states,
                 int n_seqs, const int *seq_start, float *out);

/* For tests and tools: runs one sequence through the model and points *hidden
 * at its last hidden state [seq->n_tokens, hidden], valid until the next call
 * on the model. */
int sv_model_last_hidden_state(scivec_model *model, const scivec_encoding *seq,
                               const float **hidden);
/* The same through adapter adapter_id (0 = none; scivec_model_add_adapter). */
int sv_model_last_hidden_state_adapter(scivec_model *model, int adapter_id,
                                       const scivec_encoding *seq, const float **hidden);

/* Tokens packed into one forward when a caller hands over more (default;
 * sv_model_set_batch_tokens changes it per model, e.g. for --batch-tokens).
 * A sequence longer than the budget still runs, alone. */
#define SV_BATCH_TOKENS 8192
int sv_model_set_batch_tokens(scivec_model *model, int n_tokens);

#endif /* SV_BERT_H */
