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
    "usage: scivec similar DIR PAPER_ID [-k 5] [--json] [--category C]... [--year Y | --year Y1-Y2]\n"
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

    sv_outdir *od;
    if (sv_outdir_open(opts.dir, &od) != SCIVEC_OK) return cli_fail("similar");
    int64_t row;
    if (sv_outdir_find_paper(od, opts.subject, &row) != SCIVEC_OK) {
        sv_outdir_close(od);
        return cli_fail("similar");
    }
    sv_hit *hits = malloc((size_t)opts.k * sizeof *hits);
    int64_t n_hits = 0;
    if (!hits) {
        sv_outdir_close(od);
        fprintf(stderr, "scivec similar: out of memory\n");
        return 1;
    }
    /* The paper's own row vector is the query, as a Python client would do. */
    const float *query = od->vectors + row * od->n_cols;
    if (sv_outdir_top_k_with(od, query, opts.k, row, &opts.filter, &opts.search, hits, &n_hits) != SCIVEC_OK) {
        free(hits);
        sv_outdir_close(od);
        return cli_fail("similar");
    }
    if (!opts.json) {
        sv_paper self;
        if (sv_outdir_paper(od, row, &self) == SCIVEC_OK) {
            printf("Top %lld papers similar to %s: ", (long long)n_hits, opts.subject);
            query_print_one_line(self.title);
            printf("\n\n");
            sv_paper_clear(&self);
        }
        if (n_hits < opts.k)
            query_say_fewer("similar", od, &opts, n_hits);
    }
    status = query_print_hits("similar", od, hits, n_hits, opts.json);
    free(hits);
    sv_outdir_close(od);
    return status;
}
