/*
 * api_outdir.h - what the public output-folder API (api_outdir.c,
 * api_search.c) shares: the struct behind the opaque scivec_outdir.
 */
#ifndef SV_API_OUTDIR_H
#define SV_API_OUTDIR_H

#include "outputs/query.h"
#include "scivec.h"

struct scivec_outdir {
    sv_outdir *od;
    char *metadata_text; /* metadata.json printed, NULL when unreadable */
    /* The model free-text queries are embedded with (api_search.c), loaded
     * on the first search, and how it encodes. */
    scivec_model *query_model;
    scivec_encode_params query_params;
    /* what that first search asked for: a later one asking for another
     * model, threads or verify_model is refused (api_search.c) */
    char *query_model_asked; /* NULL: metadata.json's */
    int query_threads, query_verify;
    char **notes;
    int n_notes;
    sv_search_params search; /* scivec_outdir_set_search; 0 = as built */
    /* A scivec_outdir_open_reader handle: od is a shallow copy whose
     * vectors, index and metadata belong to the parent; only od->db is its own. */
    int is_reader;
};


/* The internal filter of a public one, in *inner; NULL for no filter. */
const sv_filter *sv_api_filter(const scivec_filter *f, sv_filter *inner);

#endif
