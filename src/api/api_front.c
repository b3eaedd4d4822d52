/*
 * api_front.c - the small public calls the front ends (cli/, server/) need
 * besides models and output folders: releasing what the library hands over,
 * resolving and fetching a model from the hub, the kernels in use, the
 * batch budget, model-aware tokenizing, the one L2 normalisation and the
 * rule for a free-text query. Each wraps the internal call of its concern.
 */
#include <stdlib.h>

#include "core/error.h"
#include "core/l2norm.h"
#include "hub/hub.h"
#include "hub/model_dir.h"
#include "nn/bert.h"
#include "nn/gemm.h"
#include "nn/model.h"
#include "outputs/query.h"

_Static_assert(SCIVEC_DEFAULT_BATCH_TOKENS == SV_BATCH_TOKENS,
               "the public default batch budget is the model's");

void scivec_free(void *p) { free(p); }

int scivec_model_resolve(const char *model, int refresh, char **dir) {
    if (!model || !dir)
        return sv_error(SCIVEC_EINVAL, "scivec_model_resolve: model and dir are required");
    *dir = NULL;
    return sv_resolve_model_dir_ex(model, refresh != 0, dir);
}

void scivec_hub_set_progress(scivec_hub_progress_fn fn, void *user) {
    /* (the same signature: the hub calls fn itself) */
    sv_hub_set_progress(fn, user);
}

const char *scivec_forward_kernels(void) { return sv_bert_kernels(); }

const char *scivec_blas_arch(const char **reason) {
    if (reason) *reason = sv_gemm_arch_reason();
    return sv_gemm_arch();
}

int scivec_model_set_batch_tokens(scivec_model *model, int n_tokens) {
    if (!model) return sv_error(SCIVEC_EINVAL, "scivec_model_set_batch_tokens: model is required");
    return sv_model_set_batch_tokens(model, n_tokens);
}

int scivec_model_tokenize(const scivec_model *model, const scivec_encode_params *params,
                          const char *text, size_t text_len, scivec_encoding *out) {
    if (!model || !params || !text || !out)
        return sv_error(SCIVEC_EINVAL,
                        "scivec_model_tokenize: model, params, text and out are required");
    return sv_model_tokenize(model, params, text, text_len, out);
}

void scivec_l2_normalize(float *x, int n) { sv_l2_normalize(x, n); }

int scivec_query_text_check(const char *text, size_t len) {
    if (!text) return sv_error(SCIVEC_EINVAL, "scivec_query_text_check: text is required");
    return sv_query_text_check(text, len);
}
