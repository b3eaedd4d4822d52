/*
 * recipe.h - what a text recipe decides (recipe.c): the text of a paper,
 * default pooling and max length, and the adapters of recipe specter2.
 */
#ifndef SV_RECIPE_H
#define SV_RECIPE_H

#include <stddef.h>

#include "outputs/embed.h"
#include "scivec.h"

const char *sv_recipe_name(sv_recipe recipe);
int sv_recipe_parse(const char *name, sv_recipe *out); /* SCIVEC_EINVAL if unknown */

/* 1 when s[0..n) holds anything but whitespace and NUL bytes. */
int sv_has_text(const char *s, size_t n);

/* The text recipe makes of a paper (title may be NULL) in *out, a new
 * string without NUL bytes, or *out = NULL (and no error) when it would be
 * empty. SCIVEC_ENOMEM. */
int sv_recipe_text(sv_recipe recipe, const char *title, size_t title_len, const char *abstract,
                   size_t abstract_len, char **out);

/* The pooling a run uses: requested unless SCIVEC_POOL_DEFAULT, else CLS for
 * specter2, else the model's default; *reason says which. */
scivec_pooling sv_recipe_pooling(sv_recipe recipe, scivec_pooling requested,
                                 const scivec_model *model, const char **reason);

/* The max length a run asks for: requested when > 0, else 512 for specter2,
 * else the model's. */
int sv_recipe_max_length(sv_recipe recipe, int requested, int model_max);

/* Adds the papers' and the queries' adapters to the model: ids in *paper_id
 * and *query_id (0 = none), the refs used in *paper_ref / *query_ref, and
 * what was chosen and why in res. Recipe specter2 with a base model of the
 * family table (family.h) and no --adapter uses the family's papers and
 * queries adapters, downloading them when missing (unless offline); it
 * never falls back to base vectors. */
int sv_recipe_add_adapters(const sv_embed_params *params, scivec_model *model, sv_embed_result *res,
                           int *paper_id, int *query_id, const char **paper_ref,
                           const char **query_ref);

#endif /* SV_RECIPE_H */
