/*
 * fingerprint.h - what decides a vector, as one JSON object.
 *
 * Two runs whose fingerprints are equal give bitwise the same vector for the
 * same text (docs/MODEL.md, Determinism: batch composition and thread count
 * do not change a row, so they are not part of it). It covers the content of
 * every model file read (sha256), the papers' adapter, the text recipe and
 * columns, the prompt, pooling, normalisation, max length, precision and the version of
 * scivec's numerics. `embed --resume` refuses to continue a run whose
 * fingerprint differs; `add` and `merge` compare it with metadata.json's.
 *
 * What a resume needs beyond it (the same input file, the same batches for a
 * byte-identical file) is kept apart, in the checkpoint's options.
 */
#ifndef SV_FINGERPRINT_H
#define SV_FINGERPRINT_H

#include <cjson/cJSON.h>

/* Bumped whenever a change to the forward, tokenizer, pooling or
 * normalisation can change a vector's bits for the same model and text. */
#define SV_NUMERICS_VERSION 1

typedef struct sv_fingerprint_inputs {
    const char *model_dir;    /* the resolved model folder                 */
    const char *weights_path; /* the weight file loaded (index.json: + shards) */
    const char *adapter_dir;  /* the papers' adapter folder; NULL = none   */
    const char *adapter_name;
    const char *recipe;  /* sv_recipe_name()                          */
    const char *pooling; /* scivec_pooling_name() of the one used     */
    int normalize;
    int max_length; /* the resolved one                          */
    const char *id_column, *text_column, *title_column; /* title NULL: none */
    const char *precision; /* NULL: "fp32"                              */
    const char *prompt;    /* text put before every paper; NULL = none  */
} sv_fingerprint_inputs;

/* Builds the fingerprint (hashes the files, so it reads the weights once).
 * *out is the caller's (cJSON_Delete). A file that cannot be read is an
 * error naming it. */
int sv_fingerprint_make(const sv_fingerprint_inputs *in, cJSON **out);

/* SCIVEC_OK when recorded and current are equal, else SCIVEC_EINVAL with a
 * one-line message "CONTEXT: FIELD was OLD, now NEW; ..." naming each field
 * that differs (a model file by its name). */
int sv_fingerprint_check(const cJSON *recorded, const cJSON *current, const char *context);

#endif /* SV_FINGERPRINT_H */
