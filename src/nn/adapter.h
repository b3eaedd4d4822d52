/*
 * adapter.h - AdapterHub bottleneck adapters ("seq_bn" / "pfeiffer", as
 * SPECTER2 ships them) on top of a loaded BERT: reading an adapter folder and
 * running the bottleneck at each layer's feed-forward output.
 *
 * Math (docs/ADAPTERS.md, tests/fixtures/golden/tiny-scibert-adapters/README.md):
 * with a = the attention block's output, h = W_o·GELU(W_i·a + b_i) + b_o and
 * LN = the layer's own pretrained output.LayerNorm,
 *     t = LN(h + a)
 *     u = W_up · relu(W_down · t + b_down) + b_up
 *     y = LN((u + h) + a)
 * where stock BERT has y = LN(h + a).
 */
#ifndef SV_ADAPTER_H
#define SV_ADAPTER_H

#include <stdint.h>

#include "nn/bert.h"
#include "nn/config.h"

typedef struct sv_adapter sv_adapter;

/* Reads adapter_dir/adapter_config.json and its weights (adapter.safetensors,
 * else pytorch_adapter.bin) for a base model of configuration cfg. Refuses
 * any config value it does not implement, naming it, and any missing,
 * leftover or misshapen tensor, naming it. model_id is the base model's repo
 * id (family.h; "" or NULL when unknown): an adapter whose adapter_config.json
 * "model_name" names another model is refused, naming both. */
int sv_adapter_load(const char *adapter_dir, const sv_bert_config *cfg, const char *model_id,
                    sv_adapter **out);
void sv_adapter_free(sv_adapter *ad);
/* The adapter's name as its tensors spell it (e.g. "proximity", "[PRX]"). */
const char *sv_adapter_name(const sv_adapter *ad);
/* config.name from adapter_config.json (a label only), or NULL. */
const char *sv_adapter_config_name(const sv_adapter *ad);
const char *sv_adapter_dir(const sv_adapter *ad);
const char *sv_adapter_weights_path(const sv_adapter *ad);
int sv_adapter_bottleneck(const sv_adapter *ad);

/* The feed-forward output of encoder layer `layer` with the adapter:
 * x [n_tokens, hidden] holds a on entry and y on return; dense holds
 * W_o·ffn without its bias (bias is b_o); gamma/beta/eps are the layer's
 * output.LayerNorm. t and u are [n_tokens, hidden] scratch, down is
 * [n_tokens, hidden] scratch too (the bottleneck is never wider than hidden).
 * Works sequence by sequence (each with its own single-threaded SGEMMs on
 * n_threads OpenMP threads), so a text's numbers do not depend on its batch. */
void sv_adapter_ffn_output(const sv_adapter *ad, int layer, float *x, const float *dense,
                           const float *bias, const float *gamma, const float *beta, float eps,
                           float *t, float *u, float *down, int n_seqs, const int *seq_start,
                           int hidden, int n_threads);

#endif /* SV_ADAPTER_H */
