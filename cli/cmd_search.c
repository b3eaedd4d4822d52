/*
 * cmd_search.c - `scivec search DIR "free text"`: embeds the text with the
 * model and recipe recorded in DIR/metadata.json and returns the closest
 * papers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "../src/metadata.h"
#include "commands.h"
#include "query_common.h"
#include "scivec.h"

static const char usage[] =
    "usage: scivec search DIR \"free text\" [-k 10] [--json] [--category C]... [--year Y | --year Y1-Y2]\n"
    "                     [--threads N] [--model M] [--nprobe N | --ef-search N]\n"
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
    "                 records (reads the whole file: about a second per 500 MB)\n";

/* Same file by device and inode (paths may differ by symlinks, ../). */
static int same_file(const char *a, const char *b) {
    struct stat sa, sb;
    if (stat(a, &sa) != 0 || stat(b, &sb) != 0) return strcmp(a, b) == 0;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* The query must land in the same space as the papers: same model, pooling,
 * normalisation and length limit. The text recipe (abstract, title+abstract,
 * specter2's title[SEP]abstract) shapes paper texts only; a query is just
 * its text, as SPECTER2's authors embed queries. */
static int embed_query(const sv_outdir *od, const query_options *opts, float **out) {
    const char *model_ref = opts->model ? opts->model
                          : query_is_dir(od->model_path) ? od->model_path : od->model_name;
    scivec_model_params mp = scivec_model_default_params();
    mp.n_threads = opts->n_threads;
    scivec_model *model;
    if (scivec_model_load(model_ref, &mp, &model) != SCIVEC_OK) return cli_fail("search");
    int dim = scivec_model_hidden_size(model);
    if (dim != od->n_cols) {
        fprintf(stderr, "scivec search: model %s gives %d-dimensional vectors but %s holds %lld "
                "(pass the model the papers were embedded with: --model)\n",
                model_ref, dim, od->dir, (long long)od->n_cols);
        scivec_model_free(model);
        return 1;
    }
    /* The same weights as the papers'? Only a different file is noticed here
     * (hashing GBs per query would cost more than the search). */
    const cJSON *recorded = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(od->metadata, "model"), "weights");
    const char *used = scivec_model_weights_path(model);
    if (opts->verify_model) {
        char hex[65];
        if (!od->model_sha256 || !used) {
            fprintf(stderr, "scivec search: --verify-model: %s/metadata.json records no model.sha256\n",
                    od->dir);
            scivec_model_free(model);
            return 1;
        }
        if (sv_sha256_file(used, hex) != SCIVEC_OK) {
            scivec_model_free(model);
            return cli_fail("search");
        }
        if (strcmp(hex, od->model_sha256) != 0) {
            fprintf(stderr, "scivec search: --verify-model: %s has sha256 %s but %s was embedded "
                    "with weights of sha256 %s\n", used, hex, od->dir, od->model_sha256);
            scivec_model_free(model);
            return 1;
        }
    } else if (cJSON_IsString(recorded) && used && !same_file(recorded->valuestring, used)) {
        fprintf(stderr, "scivec search: warning: the query is embedded with %s but %s was "
                "embedded with %s\n", used, od->dir, recorded->valuestring);
    }
    scivec_encode_params ep = scivec_encode_default_params();
    if (scivec_pooling_parse(od->pooling, &ep.pooling) != SCIVEC_OK) {
        fprintf(stderr, "scivec search: %s/metadata.json: pooling '%s' is not one scivec knows\n",
                od->dir, od->pooling);
        scivec_model_free(model);
        return 1;
    }
    ep.normalize = od->normalize;
    ep.max_length = od->max_length;
    int rc_adapter = query_add_recorded_adapter("search", od, model, &ep.adapter_id);
    if (rc_adapter) {
        scivec_model_free(model);
        return rc_adapter;
    }
    float *query = malloc((size_t)dim * sizeof *query);
    const char *texts[1] = {opts->subject};
    scivec_encode_stats stats = {0};
    int rc = query ? scivec_model_encode_texts(model, &ep, 1, texts, NULL, query, &stats)
                   : SCIVEC_ENOMEM;
    if (rc == SCIVEC_OK && stats.n_truncated)
        fprintf(stderr, "scivec search: the query is longer than %d tokens, the limit the papers of %s "
                "were embedded with: only its first %d tokens were used\n", ep.max_length > 0 ? ep.max_length
                : scivec_model_max_length(model), od->dir, ep.max_length > 0 ? ep.max_length
                : scivec_model_max_length(model));
    scivec_model_free(model);
    if (rc != SCIVEC_OK) {
        free(query);
        if (rc == SCIVEC_ENOMEM && !query) {
            fprintf(stderr, "scivec search: out of memory\n");
            return 1;
        }
        return cli_fail("search");
    }
    *out = query;
    return 0;
}

int cmd_search(int argc, char **argv) {
    query_options opts;
    int status = query_parse_args("search", usage, argc, argv, 1, &opts);
    if (status >= 0) return status;

    if (sv_query_text_check(opts.subject, strlen(opts.subject)) != SCIVEC_OK) return cli_fail("search");
    sv_outdir *od;
    if (sv_outdir_open(opts.dir, &od) != SCIVEC_OK) return cli_fail("search");
    if (!od->pooling || !od->model_name) {
        fprintf(stderr, "scivec search: %s/metadata.json does not say which model and pooling "
                "made the embeddings\n", opts.dir);
        sv_outdir_close(od);
        return 1;
    }
    float *query = NULL;
    if ((status = embed_query(od, &opts, &query))) {
        sv_outdir_close(od);
        return status;
    }
    sv_hit *hits = malloc((size_t)opts.k * sizeof *hits);
    int64_t n_hits = 0;
    if (!hits) {
        fprintf(stderr, "scivec search: out of memory\n");
        status = 1;
    } else if (sv_outdir_top_k_with(od, query, opts.k, -1, &opts.filter, &opts.search, hits, &n_hits) != SCIVEC_OK) {
        status = cli_fail("search");
    } else {
        if (!opts.json) {
            printf("Top %lld papers for \"", (long long)n_hits);
            query_print_one_line_max(opts.subject, 200);
            printf("\":\n\n");
            if (n_hits < opts.k)
                query_say_fewer("search", od, &opts, n_hits);
        }
        status = query_print_hits("search", od, hits, n_hits, opts.json);
    }
    free(hits);
    free(query);
    sv_outdir_close(od);
    return status;
}
