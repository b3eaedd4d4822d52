/*
 * cmd_similar.c - `scivec similar DIR PAPER_ID`: the papers of an embed
 * output most similar to one of them (cosine similarity, FAISS index).
 */
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "query_common.h"
#include "scivec.h"

static const char usage[] =
    "usage: scivec similar DIR PAPER_ID [-k 5] [--json] [--category C]... [--year Y | --year "
    "Y1-Y2]\n"
    "  DIR            output directory of `scivec embed`\n"
    "  PAPER_ID       a paper of DIR (papers.db paper_id); it is left out of the results\n"
    "  -k N           how many papers to show (default 5)\n"
    "  --json         print a JSON array of {rank, paper_id, score, title, categories, year}\n"
    "  --category C   only papers listing category C (cs.CV; an archive like cs matches cs.*);\n"
    "                 repeat for any of several\n"
    "  --year Y       only papers of year Y, or of years Y1 to Y2 (2020-2024)\n"
    "  --nprobe N     IVF index: lists to visit (default: chosen at build time, metadata.json)\n"
    "  --ef-search N  HNSW index: candidate list size (default: chosen at build time)\n";

int cmd_similar(int argc, char **argv) {
    query_options opts;
    int status = query_parse_args("similar", usage, argc, argv, 0, &opts);
    if (status >= 0) return status;

    scivec_outdir *od = NULL;
    scivec_hit *hits = NULL;
    int64_t row, n_hits = 0, n_cols;
    status = 1;
    if (scivec_outdir_open(opts.dir, &od) != SCIVEC_OK ||
        scivec_outdir_set_search(od, opts.nprobe, opts.ef_search) != SCIVEC_OK ||
        scivec_outdir_find(od, opts.subject, &row) != SCIVEC_OK) {
        status = cli_fail("similar");
        goto done;
    }
    if (!(hits = malloc((size_t)opts.k * sizeof *hits))) {
        fprintf(stderr, "scivec similar: out of memory\n");
        goto done;
    }
    /* The paper's own row vector is the query, as a Python client would do. */
    const float *query = scivec_outdir_vectors(od, NULL, &n_cols) + row * n_cols;
    if (scivec_outdir_nearest(od, query, opts.k, row, &opts.filter, hits, &n_hits) != SCIVEC_OK) {
        status = cli_fail("similar");
        goto done;
    }
    if (!opts.json) {
        scivec_paper self;
        if (scivec_outdir_paper(od, row, &self) == SCIVEC_OK) {
            printf("Top %lld papers similar to %s: ", (long long)n_hits, opts.subject);
            query_print_one_line(self.title);
            printf("\n\n");
            scivec_paper_clear(&self);
        }
        if (n_hits < opts.k) query_say_fewer("similar", od, &opts, n_hits);
    }
    status = query_print_hits("similar", od, hits, n_hits, opts.json);
done:
    free(hits);
    scivec_outdir_free(od);
    return status;
}
