/*
 * weights.h - a checkpoint's tensors as the float views the BERT forward reads
 * (weights.c: names, shapes, dtype conversion, tied and missing tensors).
 */
#ifndef SV_WEIGHTS_H
#define SV_WEIGHTS_H

#include "nn/config.h"

/* One encoder layer. Linear weights are [out, in] row-major as PyTorch keeps
 * them (y = x W^T + b). */
typedef struct sv_bert_layer {
    const float *q_w, *q_b, *k_w, *k_b, *v_w, *v_b; /* [hidden, hidden]   */
    const float *attn_out_w, *attn_out_b;           /* [hidden, hidden]   */
    const float *attn_ln_g, *attn_ln_b;             /* [hidden]           */
    const float *ffn_in_w, *ffn_in_b;               /* [intermediate, hidden] */
    const float *ffn_out_w, *ffn_out_b;             /* [hidden, intermediate] */
    const float *ffn_ln_g, *ffn_ln_b;               /* [hidden]           */
    /* the six dense layers in bf16 / int8 (lowp.h); NULL: fp32 (the default) */
    const struct sv_lowp_weight *q_lp, *k_lp, *v_lp, *attn_out_lp, *ffn_in_lp, *ffn_out_lp;
} sv_bert_layer;

typedef struct sv_bert_weights {
    const float *word_emb; /* [vocab_size, hidden]                    */
    const float *pos_emb;  /* [max_position, hidden]                  */
    const float *type_emb; /* [type_vocab_size, hidden]               */
    const float *emb_ln_g, *emb_ln_b;
    sv_bert_layer *layers;            /* [n_layers]                              */
    const float *pooler_w, *pooler_b; /* NULL when the checkpoint has none   */
} sv_bert_weights;

/* Loaded weights; owns whatever memory backs the float views. */
typedef struct sv_weights sv_weights;

/* Finds the weight file in model_dir (model.safetensors, its sharded
 * model.safetensors.index.json, else pytorch_model.bin in zip or legacy
 * format), checks every tensor against cfg and exposes float32 views. */
int sv_weights_load(const char *model_dir, const sv_bert_config *cfg, sv_weights **out);
void sv_weights_free(sv_weights *w);
const sv_bert_weights *sv_weights_bert(const sv_weights *w);
/* The weight file that was read (the index file for sharded checkpoints). */
const char *sv_weights_path(const sv_weights *w);
/* "PATH: N NaN/Inf weight values in ..." when the weights hold any, else NULL. */
const char *sv_weights_warning(const sv_weights *w);

/* weights.c: loads a given weight file (not a directory). */
int sv_weights_load_file(const char *weights_path, const sv_bert_config *cfg, sv_weights **out);

#endif /* SV_WEIGHTS_H */
