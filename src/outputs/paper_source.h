/*
 * paper_source.h - the papers of an input as the embed pipeline sees them
 * (paper_source.c): each record read, and the decision what becomes of it.
 */
#ifndef SV_PAPER_SOURCE_H
#define SV_PAPER_SOURCE_H

#include <stddef.h>

#include "corpus/papers.h"
#include "outputs/embed.h"
#include "outputs/seen_ids.h"

/* SV_OTHER_SHARD: the record belongs to another shard of --shard K/N; it is
 * neither kept nor counted here (that shard counts it). */
typedef enum sv_verdict {
    SV_PAPER_END,
    SV_PAPER_KEPT,
    SV_SKIP_EMPTY,
    SV_SKIP_MALFORMED,
    SV_SKIP_DUPLICATE,
    SV_SKIP_WRONG_TYPE,
    SV_OTHER_SHARD
} sv_verdict;

typedef struct sv_paper_source {
    sv_papers *papers;
    sv_recipe recipe;
    int id_col, text_col, title_col; /* title_col -1: none */
    int shard_k, shard_n;            /* shard_n 0: the whole input */
    int (*skip_id)(const char *paper_id, const char *text, void *skip_user);
    void *skip_user;
    sv_seen_ids *seen; /* the ids kept so far */
    /* the current record */
    const char *const *fields;
    const size_t *lens;
    char *text;     /* the text to embed (kept records)        */
    char *id_fixed; /* the id made valid UTF-8, when it was not */
    char why[512];  /* why it was skipped                      */
} sv_paper_source;

int sv_paper_source_open(sv_paper_source *src, const sv_embed_params *params);
void sv_paper_source_close(sv_paper_source *src);
/* Reads the next record and decides: *v says what became of it (and
 * src->why why it was skipped). Returns SCIVEC_OK or a fatal status.
 * make_texts = 0 skips building the text. */
int sv_paper_source_next(sv_paper_source *src, int make_texts, sv_verdict *v);
/* The current record's paper id, as valid UTF-8. */
const char *sv_paper_source_id(const sv_paper_source *src);

#endif /* SV_PAPER_SOURCE_H */
