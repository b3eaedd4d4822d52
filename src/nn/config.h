/*
 * config.h - the BERT configuration read from config.json (config.c).
 */
#ifndef SV_CONFIG_H
#define SV_CONFIG_H

#include <stddef.h>


typedef enum sv_activation {
    SV_ACT_GELU,      /* exact erf GELU ("gelu")                            */
    SV_ACT_GELU_TANH, /* tanh approximation ("gelu_new", "gelu_pytorch_tanh") */
    SV_ACT_RELU,
} sv_activation;

typedef struct sv_bert_config {
    int vocab_size;
    int hidden;       /* hidden_size                                 */
    int n_layers;     /* num_hidden_layers                           */
    int n_heads;      /* num_attention_heads                         */
    int intermediate; /* intermediate_size                           */
    int max_position; /* max_position_embeddings                     */
    int type_vocab_size;
    float layer_norm_eps;
    sv_activation act;
} sv_bert_config;

/* Reads config.json; HF BertConfig defaults fill missing keys. Refuses other
 * architectures (model_type other than "bert", relative positions, ...). */
int sv_config_load(const char *config_path, sv_bert_config *cfg);
/* Same, from the JSON text (for fuzzing); name is used in messages. */
int sv_config_parse(const char *json, size_t len, const char *name, sv_bert_config *cfg);

#endif /* SV_CONFIG_H */
