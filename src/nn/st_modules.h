/*
 * st_modules.h - a sentence-transformers folder as sentence-transformers 3.x
 * runs it: modules.json's Transformer -> Pooling -> Dense* -> Normalize?,
 * sentence_bert_config.json (max_seq_length, do_lower_case) and the prompts
 * of config_sentence_transformers.json. A module scivec cannot run is
 * refused by name when the model loads. docs/MODEL.md.
 */
#ifndef SV_ST_MODULES_H
#define SV_ST_MODULES_H

#include <stddef.h>

#include "scivec.h"
#include "weights/checkpoint.h"

typedef enum {
    SV_DENSE_IDENTITY,
    SV_DENSE_TANH,
    SV_DENSE_RELU,
    SV_DENSE_SIGMOID,
    SV_DENSE_GELU
} sv_dense_activation;

typedef struct sv_st_dense {
    int in, out;
    const float *w; /* [out, in]                                    */
    const float *b; /* [out] or NULL (bias: false)                  */
    sv_dense_activation activation;
    sv_checkpoint *ck; /* owns w and b                                 */
} sv_st_dense;

typedef struct sv_st_prompt_entry {
    char *name, *text;
} sv_st_prompt_entry;

typedef struct sv_st_modules {
    int is_st;              /* modules.json exists                          */
    scivec_pooling pooling; /* DEFAULT when none or not one scivec runs    */
    char reason[512];       /* where the pooling came from, or why unusable */
    int include_prompt;     /* Pooling's include_prompt (true by default)   */
    int normalize;          /* a Normalize module: every vector normalised  */
    int max_seq_length;     /* sentence_bert_config.json; 0 = none          */
    int do_lower_case;      /* lower-case texts before tokenizing           */
    sv_st_dense *dense;
    int n_dense;
    sv_st_prompt_entry *prompts;
    int n_prompts;
    int default_prompt; /* index into prompts, -1 = none               */
} sv_st_modules;

/* Reads dir's sentence-transformers files (none: is_st = 0, the rest 0).
 * hidden is the transformer's width, the first Dense's in_features. */
int sv_st_modules_load(const char *dir, int hidden, sv_st_modules *st);
void sv_st_modules_free(sv_st_modules *st);

/* The width of the vectors: the last Dense's out_features, else hidden. */
int sv_st_output_dim(const sv_st_modules *st, int hidden);

/* Runs the Dense chain on n pooled rows in[n, hidden] into out[n, dim];
 * scratch holds 2 * n * (the widest out_features) floats. */
void sv_st_dense_forward(const sv_st_modules *st, int n, const float *in, float *out,
                         float *scratch);

/* The prompt for name: NULL = the model's default prompt (or none), "" =
 * none; *text and *resolved (its name) are NULL for none. An unknown name
 * is SCIVEC_EINVAL naming the known ones. resolved may be NULL. */
int sv_st_prompt(const sv_st_modules *st, const char *dir, const char *name, const char **text,
                 const char **resolved);


#endif
