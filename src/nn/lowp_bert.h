/*
 * lowp_bert.h - a BERT's dense layers in bf16 or int8 (lowp_bert.c, over
 * the engine of lowp.h).
 */
#ifndef SV_LOWP_BERT_H
#define SV_LOWP_BERT_H

#include "scivec.h"

/* A BERT's dense layers in reduced precision: a copy of base's views whose
 * layers also point at bf16 / int8 weights (sv_bert_layer's *_lp), which
 * bert.c then uses for those six products. */
typedef struct sv_lowp_bert sv_lowp_bert;
struct sv_bert_config;
struct sv_bert_weights;
int sv_lowp_bert_create(scivec_precision precision, int n_threads, const struct sv_bert_config *cfg,
                        const struct sv_bert_weights *base, sv_lowp_bert **out);
const struct sv_bert_weights *sv_lowp_bert_weights(const sv_lowp_bert *lb);
void sv_lowp_bert_free(sv_lowp_bert *lb);

#endif /* SV_LOWP_BERT_H */
