/*
 * pooling.h - pooling a packed last hidden state into one vector a sequence
 * (pooling.c).
 */
#ifndef SV_POOLING_H
#define SV_POOLING_H

#include "nn/config.h"
#include "nn/weights.h"
#include "scivec.h"

/* Pools the last hidden state of each packed sequence into out[n_seqs, hidden]
 * (cls, mean over all tokens, max, or the BERT pooler), then L2-normalises
 * each row when normalize is set. pooling must not be SCIVEC_POOL_DEFAULT. */
int sv_bert_pool(const sv_bert_config *cfg, const sv_bert_weights *w, scivec_pooling pooling,
                 int normalize, const float *hidden_states, int n_seqs, const int *seq_start,
                 float *out);

#endif /* SV_POOLING_H */
