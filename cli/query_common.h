/*
 * query_common.h - what `scivec similar` and `scivec search` share: their
 * options (-k, --json, --category, --year, ...) and how results are shown.
 */
#ifndef SCIVEC_QUERY_COMMON_H
#define SCIVEC_QUERY_COMMON_H

#include <stdint.h>
#include <stdio.h>

#include "scivec.h"

#define QUERY_MAX_CATEGORIES 32

typedef struct query_options {
    const char *dir;     /* the embed output directory                 */
    const char *subject; /* PAPER_ID (similar) or the query text (search) */
    int64_t k;
    int json;
    const char *categories[QUERY_MAX_CATEGORIES];
    scivec_filter filter;
    int n_threads;         /* search only                                */
    const char *model;     /* search only: overrides metadata.json        */
    int verify_model;      /* search only: the weights' sha256 must match */
    const char *precision; /* search only: NULL = metadata.json's          */
    int force_precision;   /* search only: allow another than the folder's */
    int nprobe, ef_search; /* --nprobe / --ef-search (0: as built)   */
} query_options;

/* Parses argv (argv[0] = the command name). Returns -1 when the command
 * should go on, else the exit status to return (0 after --help, 2 after a
 * usage error, which it has printed). */
int query_parse_args(const char *command, const char *usage, int argc, char **argv, int is_search,
                     query_options *opts);

/* Prints hits as a numbered list (rank, similarity, title, categories) or,
 * with json, as an array of {"rank","paper_id","score","title","categories","year"}. */
int query_print_hits(const char *command, const scivec_outdir *od, const scivec_hit *hits,
                     int64_t n_hits, int json);

/* Prints s with every run of whitespace (titles keep hard line breaks) as one space. */
void query_print_one_line(const char *s);
/* The same, cut after about max_bytes (at a character boundary) with
 * "... (N bytes)" saying so: a 100 kB query is not echoed whole. */
void query_print_one_line_max(const char *s, size_t max_bytes);

int query_is_dir(const char *path);

/* Says on stderr why fewer than k papers came back: the filters, or the
 * folder holding no more papers than that. */
void query_say_fewer(const char *command, const scivec_outdir *od, const query_options *opts,
                     int64_t n_hits);

#endif
