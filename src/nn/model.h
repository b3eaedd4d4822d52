/*
 * model.h - what the rest of the library asks of a loaded scivec_model beyond
 * the public API (model.c): its prompts, tokenizing as encode does, its
 * identity, the last hidden state for tests.
 */
#ifndef SV_MODEL_H
#define SV_MODEL_H

#include <stddef.h>

#include "scivec.h"

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

/* sv_st_prompt for a loaded model (model.c). */
int sv_model_prompt(const scivec_model *model, const char *name, const char **text,
                    const char **resolved);

/* Tokenizes one text as scivec_model_encode_texts does: params' prompt
 * before it, truncated to params' max_length (the model's when <= 0). */
int sv_model_tokenize(const scivec_model *model, const scivec_encode_params *params,
                      const char *text, size_t text_len, scivec_encoding *enc);

/* Whether the model's modules end in Normalize (its vectors are always unit length). */
int sv_model_st_normalize(const scivec_model *model);

/* The identity scivec_model_load found for the model ("" when none). */
const char *sv_model_repo_id(const scivec_model *model);

#endif /* SV_MODEL_H */
