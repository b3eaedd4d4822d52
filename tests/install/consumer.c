/*
 * consumer.c - a program built against an installed libscivec (pkg-config
 * or find_package), using only include/scivec.h: embeds papers with a
 * progress callback, opens the output folder and prints the papers most
 * similar to one, as `scivec similar --json` would rank them.
 *
 * usage: consumer PAPERS.csv MODEL OUT_DIR PAPER_ID
 */
#include <stdio.h>
#include <string.h>

#include <scivec.h>

static int n_progress_calls;

static int on_progress(int64_t done, int64_t total, void *user) {
    (void)done;
    (void)total;
    (void)user;
    n_progress_calls++;
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: consumer PAPERS.csv MODEL OUT_DIR PAPER_ID\n");
        return 2;
    }
    scivec_embed_params ep = scivec_embed_default_params();
    ep.input = argv[1];
    ep.model = argv[2];
    ep.out_dir = argv[3];
    ep.n_threads = 2;
    ep.progress = on_progress;
    scivec_embed_result res;
    if (scivec_embed(&ep, &res) != SCIVEC_OK) {
        fprintf(stderr, "consumer: embed: %s\n", scivec_last_error());
        return 1;
    }
    scivec_outdir *od;
    if (scivec_outdir_open(argv[3], &od) != SCIVEC_OK) {
        fprintf(stderr, "consumer: open: %s\n", scivec_last_error());
        return 1;
    }
    scivec_hit hits[5];
    int64_t n_hits = 0;
    int rc = scivec_outdir_similar(od, argv[4], 5, NULL, hits, &n_hits);
    printf("version %s papers %lld dim %d progress_calls %d\n", scivec_version(),
           (long long)scivec_outdir_n_papers(od), scivec_outdir_dim(od), n_progress_calls);
    for (int64_t i = 0; rc == SCIVEC_OK && i < n_hits; i++) {
        scivec_paper p;
        if ((rc = scivec_outdir_paper(od, hits[i].row, &p)) != SCIVEC_OK) break;
        printf("%s %.6f\n", p.paper_id, hits[i].score);
        scivec_paper_clear(&p);
    }
    if (rc != SCIVEC_OK) fprintf(stderr, "consumer: similar: %s\n", scivec_last_error());
    scivec_outdir_free(od);
    return rc == SCIVEC_OK ? 0 : 1;
}
