/*
 * cmd_search.c - `scivec search DIR "free text"`: embeds the text with the
 * model and recipe recorded in DIR/metadata.json and returns the closest
 * papers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "query_common.h"
#include "scivec.h"

static const char usage[] =
    "usage: scivec search DIR \"free text\" [-k 10] [--json] [--category C]... [--year Y | --year "
    "Y1-Y2]\n"
    "                     [--threads N] [--model M] [--nprobe N | --ef-search N]\n"
    "                     [--precision P [--force-precision]]\n"
    "  DIR            output directory of `scivec embed`\n"
    "                 (a query starting with '-' goes after --: search DIR -- \"-ray optics\")\n"
    "  -k N           how many papers to show (default 10)\n"
    "  --json         print a JSON array of {rank, paper_id, score, title, categories, year}\n"
    "  --category C   only papers listing category C (cs.CV; an archive like cs matches cs.*)\n"
    "  --year Y       only papers of year Y, or of years Y1 to Y2 (2020-2024)\n"
    "  --threads N    threads for the model (default: all cores)\n"
    "  --nprobe N     IVF index: lists to visit (default: chosen at build time, metadata.json)\n"
    "  --ef-search N  HNSW index: candidate list size (default: chosen at build time)\n"
    "  --model M      the model to embed the query with (default: the one in metadata.json;\n"
    "                 it must be the model the papers were embedded with)\n"
    "  --verify-model refuse unless the model's weight file has the sha256 metadata.json\n"
    "                 records (reads the whole file: about a second per 500 MB)\n"
    "  --precision P  the query's dense layers in fp32, bf16 or int8 (default and required:\n"
    "                 the folder's, metadata.json \"precision\"; --force-precision allows "
    "another)\n";

/* The query is embedded as DIR/metadata.json records (the library loads the
 * model, checks it, adds the recorded query adapter); what it noticed on
 * the way is printed as the command always printed it. */
static int embed_query(scivec_outdir *od, const query_options *opts, float **out) {
    scivec_search_params sp = scivec_search_default_params();
    sp.model = opts->model;
    sp.n_threads = opts->n_threads;
    sp.verify_model = opts->verify_model;
    sp.precision = opts->precision;
    sp.force_precision = opts->force_precision;
    float *query = malloc((size_t)scivec_outdir_dim(od) * sizeof *query);
    if (!query) {
        fprintf(stderr, "scivec search: out of memory\n");
        return 1;
    }
    int rc = scivec_outdir_embed_query(od, &sp, opts->subject, query);
    for (int i = 0; i < scivec_outdir_n_notes(od); i++)
        fprintf(stderr, "scivec search: %s\n", scivec_outdir_note(od, i));
    if (rc != SCIVEC_OK) {
        free(query);
        return cli_fail("search");
    }
    *out = query;
    return 0;
}

int cmd_search(int argc, char **argv) {
    query_options opts;
    int status = query_parse_args("search", usage, argc, argv, 1, &opts);
    if (status >= 0) return status;

    scivec_outdir *od = NULL;
    float *query = NULL;
    scivec_hit *hits = NULL;
    int64_t n_hits = 0;
    status = 1;
    if (scivec_outdir_open(opts.dir, &od) != SCIVEC_OK ||
        scivec_outdir_set_search(od, opts.nprobe, opts.ef_search) != SCIVEC_OK) {
        status = cli_fail("search");
        goto done;
    }
    if ((status = embed_query(od, &opts, &query))) goto done;
    status = 1;
    if (!(hits = malloc((size_t)opts.k * sizeof *hits))) {
        fprintf(stderr, "scivec search: out of memory\n");
        goto done;
    }
    if (scivec_outdir_nearest(od, query, opts.k, -1, &opts.filter, hits, &n_hits) != SCIVEC_OK) {
        status = cli_fail("search");
        goto done;
    }
    if (!opts.json) {
        printf("Top %lld papers for \"", (long long)n_hits);
        query_print_one_line_max(opts.subject, 200);
        printf("\":\n\n");
        if (n_hits < opts.k) query_say_fewer("search", od, &opts, n_hits);
    }
    status = query_print_hits("search", od, hits, n_hits, opts.json);
done:
    free(hits);
    free(query);
    scivec_outdir_free(od);
    return status;
}
