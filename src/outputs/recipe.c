/*
 * recipe.c - what a text recipe (--recipe) decides, in one place: the text
 * it makes of a paper, its pooling and max length when none is given, and
 * for specter2 the adapters a SPECTER2 base model embeds papers and queries
 * through (docs/ADAPTERS.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "hub/family.h"
#include "nn/model.h"
#include "outputs/recipe.h"

enum { SPECTER2_MAX_LENGTH = 512 };

const char *sv_recipe_name(sv_recipe recipe) {
    switch (recipe) {
        case SV_RECIPE_ABSTRACT: return "abstract";
        case SV_RECIPE_TITLE_ABSTRACT: return "title+abstract";
        case SV_RECIPE_SPECTER2: return "specter2";
    }
    return "?";
}

int sv_recipe_parse(const char *name, sv_recipe *out) {
    if (!strcmp(name, "abstract"))
        *out = SV_RECIPE_ABSTRACT;
    else if (!strcmp(name, "title+abstract"))
        *out = SV_RECIPE_TITLE_ABSTRACT;
    else if (!strcmp(name, "specter2"))
        *out = SV_RECIPE_SPECTER2;
    else
        return sv_error(SCIVEC_EINVAL,
                        "unknown text recipe '%s' (abstract, title+abstract, specter2)", name);
    return SCIVEC_OK;
}

int sv_has_text(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r' && s[i] != '\f' &&
            s[i] != '\v' && s[i] != '\0')
            return 1;
    return 0;
}

/* The text a recipe makes of a paper, or NULL (and no error) when empty. */
int sv_recipe_text(sv_recipe recipe, const char *title, size_t title_len, const char *abstract,
                   size_t abstract_len, char **out) {
    *out = NULL;
    int has_title = title && sv_has_text(title, title_len);
    int has_abstract = sv_has_text(abstract, abstract_len);
    const char *sep = NULL;
    if (recipe == SV_RECIPE_ABSTRACT) {
        if (!has_abstract) return SCIVEC_OK;
        title_len = 0;
    } else if (recipe == SV_RECIPE_TITLE_ABSTRACT) {
        if (!has_title && !has_abstract) return SCIVEC_OK;
        if (!has_title)
            title_len = 0;
        else if (!has_abstract)
            abstract_len = 0;
        else
            sep = " ";
    } else {
        /* SPECTER2: title + tokenizer.sep_token + abstract, the title alone
         * when there is no abstract. */
        if (!has_title && !has_abstract) return SCIVEC_OK;
        if (!has_abstract)
            abstract_len = 0;
        else
            sep = "[SEP]";
        if (!title) title_len = 0;
    }
    size_t sep_len = sep ? strlen(sep) : 0;
    char *text = malloc(title_len + sep_len + abstract_len + 1);
    if (!text) return SCIVEC_ENOMEM;
    /* NUL bytes are dropped, as HF's BERT tokenizers drop U+0000: the text
     * goes on as a C string, which a NUL would cut short. */
    size_t n = 0;
    for (size_t i = 0; i < title_len; i++)
        if (title[i]) text[n++] = title[i];
    if (sep_len) {
        memcpy(text + n, sep, sep_len);
        n += sep_len;
    }
    for (size_t i = 0; i < abstract_len; i++)
        if (abstract[i]) text[n++] = abstract[i];
    text[n] = '\0';
    *out = text;
    return SCIVEC_OK;
}

scivec_pooling sv_recipe_pooling(sv_recipe recipe, scivec_pooling requested,
                                 const scivec_model *model, const char **reason) {
    if (requested != SCIVEC_POOL_DEFAULT) {
        *reason = "--pooling";
        return requested;
    }
    if (recipe == SV_RECIPE_SPECTER2) {
        *reason = "recipe specter2";
        return SCIVEC_POOL_CLS;
    }
    *reason = NULL;
    scivec_pooling pooling = scivec_model_default_pooling(model, reason);
    if (!*reason) *reason = "model default";
    return pooling;
}

int sv_recipe_max_length(sv_recipe recipe, int requested, int model_max) {
    if (requested > 0) return requested;
    return recipe == SV_RECIPE_SPECTER2 ? SPECTER2_MAX_LENGTH : model_max;
}

static int is_none(const char *ref) { return ref && strcmp(ref, "none") == 0; }

/* An adapter the recipe implies could not be had: one line saying what to run.
 * Only a missing file or an unreachable hub gets this; a broken or
 * mismatched adapter keeps its own message. */
static int implied_adapter_error(int rc, const sv_family *family, const char *ref,
                                 const char *role) {
    if (rc != SCIVEC_ENOTFOUND && rc != SCIVEC_EIO)
        return sv_error_prefix(rc, "recipe specter2, %s adapter", role);
    char reason[512];
    snprintf(reason, sizeof reason, "%s", scivec_last_error());
    return sv_error(rc,
                    "recipe specter2 with %s needs the %s adapter %s, which is neither in "
                    "the HF cache nor downloadable now: run `scivec fetch %s && scivec fetch %s` "
                    "where the hub is reachable, or pass --adapter none for base-model vectors "
                    "(%s)",
                    family->base, role, ref, family->papers, family->queries, reason);
}

int sv_recipe_add_adapters(const sv_embed_params *params, scivec_model *model, sv_embed_result *res,
                           int *paper_id, int *query_id, const char **paper_ref,
                           const char **query_ref) {
    *paper_id = *query_id = 0;
    *paper_ref = *query_ref = NULL;
    const sv_family *family =
        params->recipe == SV_RECIPE_SPECTER2 ? sv_family_of_base(sv_model_repo_id(model)) : NULL;
    const char *ref = params->adapter;
    const char *query = params->query_adapter;
    int implied = 0;
    if (is_none(ref)) {
        snprintf(res->adapter_note, sizeof res->adapter_note, "none (--adapter none)");
        ref = NULL;
    } else if (ref) {
        snprintf(res->adapter_note, sizeof res->adapter_note, "--adapter");
    } else if (family) {
        // SPECTER2 embeds papers through proximity, queries through adhoc_query
        ref = family->papers;
        implied = 1;
        snprintf(res->adapter_note, sizeof res->adapter_note,
                 "recipe specter2: %s (papers) "
                 "for %s",
                 family->papers, family->base);
    } else if (params->recipe == SV_RECIPE_SPECTER2) {
        snprintf(res->adapter_note, sizeof res->adapter_note,
                 "none: %s is not a base model of "
                 "the adapter family table (docs/ADAPTERS.md); pass --adapter for one",
                 params->model);
    } else {
        snprintf(res->adapter_note, sizeof res->adapter_note, "none (no --adapter)");
    }
    // the family's query adapter goes with its papers' adapter, given or implied
    int query_implied = !query && family && ref && !strcmp(ref, family->papers);
    if (query_implied) query = family->queries;
    int rc = SCIVEC_OK;
    if (ref) {
        rc = scivec_model_add_adapter(model, ref, paper_id);
        if (rc)
            return implied ? implied_adapter_error(rc, family, ref, "papers")
                           : sv_error_prefix(rc, "--adapter");
        *paper_ref = ref;
        snprintf(res->adapter, sizeof res->adapter, "%s",
                 scivec_model_adapter_name(model, *paper_id));
    }
    if (query && !is_none(query)) {
        // loaded now only to refuse a broken one before hours of embedding
        rc = scivec_model_add_adapter(model, query, query_id);
        if (rc)
            return query_implied ? implied_adapter_error(rc, family, query, "queries")
                                 : sv_error_prefix(rc, "--query-adapter");
        *query_ref = query;
        snprintf(res->query_adapter, sizeof res->query_adapter, "%s (%s)",
                 scivec_model_adapter_name(model, *query_id), query);
    }
    return SCIVEC_OK;
}
