/*
 * lowp_bert.c - a BERT's dense layers converted to bf16 / int8 at load
 * (lowp.h): the fp32 views stay as they are (embeddings, LayerNorms,
 * biases, the pooler, adapters), the layers get their *_lp weights.
 */
#include <stdio.h>
#include <stdlib.h>

#include "core/error.h"
#include "nn/config.h"
#include "nn/lowp.h"
#include "nn/lowp_bert.h"
#include "nn/weights.h"

/* The six dense layers of a layer, in the order bert.c uses them. */
enum { LP_Q, LP_K, LP_V, LP_ATTN_OUT, LP_FFN_IN, LP_FFN_OUT, LP_PER_LAYER };

struct sv_lowp_bert {
    sv_lowp *lowp;
    sv_bert_weights weights; /* base's views, with layers below          */
    sv_bert_layer *layers;
    sv_lowp_weight *dense; /* [n_layers * LP_PER_LAYER]                */
    int n_layers;
};

int sv_lowp_bert_create(scivec_precision precision, int n_threads, const sv_bert_config *cfg,
                        const sv_bert_weights *base, sv_lowp_bert **out) {
    *out = NULL;
    sv_lowp_bert *lb = calloc(1, sizeof *lb);
    if (!lb) return sv_error(SCIVEC_ENOMEM, "out of memory");
    int status = sv_lowp_create(precision, n_threads, &lb->lowp);
    if (status) goto done;
    lb->n_layers = cfg->n_layers;
    lb->layers = calloc((size_t)cfg->n_layers, sizeof *lb->layers);
    lb->dense = calloc((size_t)cfg->n_layers * LP_PER_LAYER, sizeof *lb->dense);
    if (!lb->layers || !lb->dense) {
        status = sv_error(SCIVEC_ENOMEM, "out of memory");
        goto done;
    }
    lb->weights = *base;
    lb->weights.layers = lb->layers;
    int h = cfg->hidden, inter = cfg->intermediate;
    for (int l = 0; l < cfg->n_layers; l++) {
        sv_bert_layer *layer = &lb->layers[l];
        *layer = base->layers[l];
        const struct {
            const float *w;
            int n_out, n_in;
            const char *name;
        } src[LP_PER_LAYER] = {
            [LP_Q] = {layer->q_w, h, h, "attention.self.query.weight"},
            [LP_K] = {layer->k_w, h, h, "attention.self.key.weight"},
            [LP_V] = {layer->v_w, h, h, "attention.self.value.weight"},
            [LP_ATTN_OUT] = {layer->attn_out_w, h, h, "attention.output.dense.weight"},
            [LP_FFN_IN] = {layer->ffn_in_w, inter, h, "intermediate.dense.weight"},
            [LP_FFN_OUT] = {layer->ffn_out_w, h, inter, "output.dense.weight"},
        };
        sv_lowp_weight *dense = &lb->dense[(size_t)l * LP_PER_LAYER];
        for (int d = 0; d < LP_PER_LAYER; d++) {
            char name[96];
            snprintf(name, sizeof name, "encoder.layer.%d.%s", l, src[d].name);
            status = sv_lowp_weight_prepare(lb->lowp, src[d].w, src[d].n_out, src[d].n_in, name,
                                            &dense[d]);
            if (status) goto done;
        }
        layer->q_lp = &dense[LP_Q];
        layer->k_lp = &dense[LP_K];
        layer->v_lp = &dense[LP_V];
        layer->attn_out_lp = &dense[LP_ATTN_OUT];
        layer->ffn_in_lp = &dense[LP_FFN_IN];
        layer->ffn_out_lp = &dense[LP_FFN_OUT];
    }

done:
    if (status) {
        sv_lowp_bert_free(lb);
        lb = NULL;
    }
    *out = lb;
    return status;
}

const sv_bert_weights *sv_lowp_bert_weights(const sv_lowp_bert *lb) { return &lb->weights; }

void sv_lowp_bert_free(sv_lowp_bert *lb) {
    if (!lb) return;
    for (int i = 0; lb->dense && i < lb->n_layers * LP_PER_LAYER; i++)
        sv_lowp_weight_free(&lb->dense[i]);
    free(lb->dense);
    free(lb->layers);
    sv_lowp_free(lb->lowp);
    free(lb);
}
