/*
 * paper_source.c - reads the papers of an input and decides which to keep:
 * the id, shard and type checks, duplicates (the set of ids seen, on disk), the
 * text its recipe makes. Which records are kept depends only on the input,
 * so every pass over it (embedding, the database, a resumed run) agrees on
 * row numbers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "corpus/shard.h"
#include "outputs/paper_source.h"
#include "outputs/recipe.h"
#include "text/normalize.h"

/* ------------------------------------------------------------------------ */
/* Reading papers and deciding which to keep                                 */

static int resolve_column(const sv_papers *p, const char *given, const char *fallback1,
                          const char *fallback2, const char *what, int required, int *col) {
    *col = -1;
    if (given) {
        *col = sv_papers_column_index(p, given);
        if (*col < 0) return sv_error(SCIVEC_EINVAL, "no %s column '%s' in the input", what, given);
        return SCIVEC_OK;
    }
    *col = sv_papers_column_index(p, fallback1);
    if (*col < 0 && fallback2) *col = sv_papers_column_index(p, fallback2);
    if (*col < 0 && required) {
        if (fallback2)
            return sv_error(SCIVEC_EINVAL,
                            "no %s column ('%s' or '%s') in the input; name one with --%s-column",
                            what, fallback1, fallback2, what);
        return sv_error(SCIVEC_EINVAL, "no %s column '%s' in the input; name one with --%s-column",
                        what, fallback1, what);
    }
    return SCIVEC_OK;
}

int sv_paper_source_open(sv_paper_source *src, const sv_embed_params *params) {
    memset(src, 0, sizeof *src);
    src->recipe = params->recipe;
    src->shard_k = params->shard_k;
    src->shard_n = params->shard_n;
    src->skip_id = params->skip_id;
    src->skip_user = params->skip_user;
    int rc = sv_papers_open(params->input, &src->papers);
    if (!rc) rc = sv_seen_ids_open(&src->seen);
    if (rc) return rc;
    int needs_title = params->recipe != SV_RECIPE_ABSTRACT;
    if ((rc = resolve_column(src->papers, params->id_column, "paper_id", "id", "id", 1,
                             &src->id_col)) ||
        (rc = resolve_column(src->papers, params->text_column, "abstract", NULL, "text", 1,
                             &src->text_col)) ||
        (rc = resolve_column(src->papers, params->title_column, "title", NULL, "title", needs_title,
                             &src->title_col)))
        return sv_error_prefix(rc, "%s", params->input);
    return SCIVEC_OK;
}

void sv_paper_source_close(sv_paper_source *src) {
    sv_papers_close(src->papers);
    sv_seen_ids_close(src->seen);
    free(src->text);
    free(src->id_fixed);
    memset(src, 0, sizeof *src);
}

/* JSON Lines: a value that is not text where text is needed. The id may
 * be a number (its JSON text); the texts must be strings. */
static int wrong_type(sv_paper_source *src, long line) {
    const struct {
        int col;
        const char *what;
        int number_ok;
    } used[] = {
        {src->id_col, "the paper id", 1},
        {src->text_col, "the text", 0},
        {src->title_col, "the title", 0},
    };
    for (size_t i = 0; i < SV_ARRAY_LEN(used); i++) {
        const char *type =
            used[i].col >= 0 ? sv_papers_field_json_type(src->papers, used[i].col) : NULL;
        if (!type || (used[i].number_ok && !strcmp(type, "number"))) continue;
        snprintf(src->why, sizeof src->why, "line %ld: %s ('%s') is a JSON %s, not a string", line,
                 used[i].what, sv_papers_column_name(src->papers, used[i].col), type);
        return 1;
    }
    return 0;
}

int sv_paper_source_next(sv_paper_source *src, int make_texts, sv_verdict *v) {
    free(src->text);
    src->text = NULL;
    free(src->id_fixed);
    src->id_fixed = NULL;
    src->why[0] = '\0';
    int rc = sv_papers_next(src->papers, &src->fields, &src->lens);
    if (rc == 0) {
        *v = SV_PAPER_END;
        return SCIVEC_OK;
    }
    /* A record without a usable id has no shard: shard 0 counts it, so
     * that the shards' counts add up to a single run's. */
    if (rc == SCIVEC_EFORMAT) {
        snprintf(src->why, sizeof src->why, "%s", scivec_last_error());
        *v = src->shard_n && src->shard_k ? SV_OTHER_SHARD : SV_SKIP_MALFORMED;
        return SCIVEC_OK;
    }
    if (rc != 1) return rc;

    long line = sv_papers_record_line(src->papers);
    /* JSONL records may lack a key the first one had, or the column may have
     * appeared later: treat absent as empty. */
    int n_cols = sv_papers_n_columns(src->papers);
    const char *id = src->id_col < n_cols ? src->fields[src->id_col] : "";
    size_t id_len = src->id_col < n_cols ? src->lens[src->id_col] : 0;
    if (!sv_has_text(id, id_len) || strlen(id) != id_len) {
        snprintf(src->why, sizeof src->why, "line %ld: %s", line,
                 strlen(id) != id_len ? "the paper id holds a NUL byte" : "no paper id");
        *v = src->shard_n && src->shard_k ? SV_OTHER_SHARD : SV_SKIP_MALFORMED;
        return SCIVEC_OK;
    }
    if (src->shard_n && sv_shard_of(id, src->shard_n) != src->shard_k) {
        *v = SV_OTHER_SHARD;
        return SCIVEC_OK;
    }
    if (wrong_type(src, line)) {
        *v = SV_SKIP_WRONG_TYPE;
        return SCIVEC_OK;
    }
    /* Ids are compared and stored as valid UTF-8 (papers.db holds nothing
     * else), so two ids that differ only in invalid bytes are duplicates. */
    size_t fixed_len;
    int repaired = sv_utf8_repair(id, id_len, &src->id_fixed, &fixed_len);
    if (repaired < 0) return sv_error(SCIVEC_ENOMEM, "out of memory");
    if (repaired) id = src->id_fixed;
    const char *title = src->title_col >= 0 ? src->fields[src->title_col] : NULL;
    size_t title_len = src->title_col >= 0 ? src->lens[src->title_col] : 0;
    const char *abstract = src->fields[src->text_col];
    size_t abstract_len = src->lens[src->text_col];
    /* Whether the text is empty does not depend on building it. */
    char *text = NULL;
    rc = sv_recipe_text(src->recipe, title, title_len, abstract, abstract_len, &text);
    if (rc) return sv_error(rc, "out of memory");
    if (!text) {
        snprintf(src->why, sizeof src->why, "line %ld: paper %.100s has no text", line, id);
        *v = SV_SKIP_EMPTY;
        return SCIVEC_OK;
    }
    int in_folder = src->skip_id && src->skip_id(id, text, src->skip_user);
    rc = in_folder ? 0 : sv_seen_ids_add(src->seen, id);
    if (rc < 0) {
        free(text);
        return rc;
    }
    if (rc == 0) {
        free(text);
        if (in_folder)
            snprintf(src->why, sizeof src->why, "line %ld: paper %.100s is already in the folder",
                     line, id);
        else
            snprintf(src->why, sizeof src->why,
                     "line %ld: duplicate paper id %.100s (the first is kept)", line, id);
        *v = SV_SKIP_DUPLICATE;
        return SCIVEC_OK;
    }
    if (make_texts)
        src->text = text;
    else
        free(text);
    *v = SV_PAPER_KEPT;
    return SCIVEC_OK;
}

const char *sv_paper_source_id(const sv_paper_source *src) {
    return src->id_fixed ? src->id_fixed : src->fields[src->id_col];
}
