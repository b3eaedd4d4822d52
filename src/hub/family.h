/*
 * family.h - model families whose adapters scivec picks by itself: an exact
 * table of HuggingFace repo ids (docs/ADAPTERS.md shows it), never a
 * substring of a name, so allenai/specter2_aug2023refresh_base gets its own
 * adapters and not the original SPECTER2's.
 */
#ifndef SV_FAMILY_H
#define SV_FAMILY_H

#include <stddef.h>

#include "scivec.h"

typedef struct sv_family {
    const char *name;    /* "specter2"                                    */
    const char *base;    /* the base model's repo id                      */
    const char *papers;  /* the adapter papers go through (proximity)    */
    const char *queries; /* the adapter queries go through (adhoc_query) */
} sv_family;

/* The family whose base model is exactly repo_id, else NULL. */
const sv_family *sv_family_of_base(const char *repo_id);
/* The family one of whose adapters is exactly repo_id, else NULL. */
const sv_family *sv_family_of_adapter(const char *repo_id);

/* The repo id a model stands for, into out ("" when nothing says): for
 * ORG/NAME[@REV], ORG/NAME; for a folder, ORG/NAME when it is a snapshot of
 * the HF cache (.../models--ORG--NAME/snapshots/...), else its config.json's
 * "_name_or_path" when that is exactly a base model of the table (a folder's
 * _name_or_path is often a training path, so nothing else is trusted). */
void sv_model_identity(const char *ref, const char *dir, char *out, size_t out_size);


#endif
