/*
 * test_api_front.c - the public calls the front ends (cli/, server/) use
 * instead of src/ headers (issue 18): the JSON Lines text reader and its
 * messages, the streaming encode into a .npy (same vectors as
 * scivec_model_encode_texts, nothing left behind on a bad line), the
 * model's tokenizing, the one normalisation, the query rule, reader
 * handles on an output folder (shared vectors, own connection, freed before
 * the folder), papers in row order, paper columns, metadata accessors and
 * the map calls on a folder without a map.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "scivec.h"

#define TINY SV_FIXTURES "/models/tiny-scibert"

static char tmp[] = "/tmp/sv-api-front-XXXXXX";

static char *path_in(const char *name) {
    char *p = malloc(strlen(tmp) + strlen(name) + 2);
    sprintf(p, "%s/%s", tmp, name);
    return p;
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static void test_text_reader(void) {
    char *path = path_in("texts.jsonl");
    write_file(
        path,
        "{\"text\": \"a\"}\n\n{\"text\": 3}\nnot json\n{\"text\": \"b\", \"text_pair\": \"c\"}\n");
    scivec_text_reader *r = NULL;
    CHECK(scivec_text_reader_open(path, &r) == SCIVEC_OK, "open: %s", scivec_last_error());
    const char *text, *pair;
    CHECK(scivec_text_reader_next(r, &text, &pair) == 1 && !strcmp(text, "a") && !pair, "line 1");
    CHECK(scivec_text_reader_line(r) == 1, "line number 1");
    char where[600];
    snprintf(where, sizeof where, "%s:3", path);
    CHECK(scivec_text_reader_next(r, &text, &pair) < 0 && strstr(scivec_last_error(), where),
          "a number as text names line 3: %s", scivec_last_error());
    snprintf(where, sizeof where, "%s:4", path);
    CHECK(scivec_text_reader_next(r, &text, &pair) < 0 && strstr(scivec_last_error(), where),
          "not JSON names line 4: %s", scivec_last_error());
    CHECK(scivec_text_reader_next(r, &text, &pair) == 1 && !strcmp(text, "b") && pair &&
              !strcmp(pair, "c"),
          "the reader goes on after a bad line: text and pair");
    CHECK(scivec_text_reader_next(r, &text, &pair) == 0, "then the end");
    scivec_text_reader_free(r);
    CHECK(scivec_text_reader_open("/no/such/file.jsonl", &r) != SCIVEC_OK && !r &&
              strstr(scivec_last_error(), "/no/such/file.jsonl"),
          "a missing file is named");
    free(path);
}

static void test_encode_jsonl(scivec_model *model) {
    scivec_encode_params ep = scivec_encode_default_params();
    ep.pooling = SCIVEC_POOL_MEAN;
    ep.normalize = 1;
    char *in = path_in("encode.jsonl"), *out = path_in("encode.npy");
    write_file(in, "{\"text\": \"graph neural networks\"}\n{\"text\": \"dark matter halos\", "
                   "\"text_pair\": \"galaxies\"}\n");
    int64_t n_rows = -1;
    scivec_encode_stats stats = {0};
    CHECK(scivec_model_encode_jsonl(model, &ep, in, out, &n_rows, &stats) == SCIVEC_OK,
          "encode_jsonl: %s", scivec_last_error());
    CHECK(n_rows == 2 && stats.n_tokens > 0, "2 rows, %lld", (long long)n_rows);
    /* the .npy body is the same vectors as one encode_texts call */
    int dim = scivec_model_dim(model);
    float expect[2 * 512];
    const char *texts[] = {"graph neural networks", "dark matter halos"};
    const char *pairs[] = {NULL, "galaxies"};
    CHECK(dim <= 512 &&
              scivec_model_encode_texts(model, &ep, 2, texts, pairs, expect, NULL) == SCIVEC_OK,
          "encode_texts");
    FILE *f = fopen(out, "rb");
    long size = 0;
    float got[2 * 512];
    if (f) {
        fseek(f, 0, SEEK_END);
        size = ftell(f);
        fseek(f, size - (long)(2 * dim * sizeof(float)), SEEK_SET);
        CHECK(fread(got, sizeof(float), 2 * (size_t)dim, f) == 2 * (size_t)dim, "read rows");
        fclose(f);
    }
    CHECK(f && !memcmp(got, expect, 2 * (size_t)dim * sizeof(float)),
          "encode_jsonl rows equal encode_texts bit for bit");

    /* a bad second line: an error naming it, and neither the output nor
     * its temporary file is left */
    char *bad_out = path_in("bad.npy"), *bad_tmp = path_in("bad.npy.tmp");
    write_file(in, "{\"text\": \"fine\"}\n{\"text\": null, \"text_pair\": 4}\n");
    CHECK(scivec_model_encode_jsonl(model, &ep, in, bad_out, &n_rows, NULL) != SCIVEC_OK &&
              strstr(scivec_last_error(), ":2"),
          "bad line 2 named: %s", scivec_last_error());
    CHECK(!exists(bad_out) && !exists(bad_tmp), "nothing left behind");
    free(in);
    free(out);
    free(bad_out);
    free(bad_tmp);
}

static void test_model_calls(scivec_model *model) {
    scivec_encode_params ep = scivec_encode_default_params();
    scivec_encoding a, b;
    const char *text = "Attention is all you need";
    CHECK(scivec_model_tokenize(model, &ep, text, strlen(text), &a) == SCIVEC_OK, "tokenize");
    CHECK(scivec_tokenize(scivec_model_tokenizer(model), text, strlen(text), NULL, 0,
                          scivec_model_max_length(model), &b) == SCIVEC_OK,
          "tokenizer");
    CHECK(a.n_tokens == b.n_tokens && a.n_tokens > 2 &&
              !memcmp(a.input_ids, b.input_ids, (size_t)a.n_tokens * sizeof *a.input_ids),
          "the model's tokenizing = its tokenizer's without a prompt");
    scivec_encoding_clear(&a);
    scivec_encoding_clear(&b);
    CHECK(scivec_model_set_batch_tokens(model, 0) == SCIVEC_EINVAL, "batch tokens 0 refused");
    CHECK(scivec_model_set_batch_tokens(model, SCIVEC_DEFAULT_BATCH_TOKENS) == SCIVEC_OK,
          "default batch tokens");
    const char *reason = NULL;
    CHECK(scivec_forward_kernels()[0] && scivec_blas_arch(&reason)[0] && reason && reason[0],
          "kernels and BLIS named");

    float v[2] = {3, 4}, zero[3] = {0, 0, 0};
    scivec_l2_normalize(v, 2);
    scivec_l2_normalize(zero, 3);
    CHECK(v[0] == 0.6f && v[1] == 0.8f && zero[0] == 0 && zero[2] == 0, "normalise");
    CHECK(scivec_query_text_check(" \t\n", 3) == SCIVEC_EINVAL, "blank query refused");
    CHECK(scivec_query_text_check("graphs", 6) == SCIVEC_OK, "a word is a query");

    char *dir = NULL;
    CHECK(scivec_model_resolve(TINY, 0, &dir) == SCIVEC_OK && dir && !strcmp(dir, TINY),
          "a directory resolves to itself");
    scivec_free(dir);
}

typedef struct seen {
    char ids[4][16];
    int stop_at; /* row whose callback returns 99; -1: none */
} seen;

static int count_paper(int64_t row, const scivec_paper *p, void *user) {
    seen *s = user;
    if (row < 4) snprintf(s->ids[row], sizeof s->ids[row], "%s", p->paper_id);
    return row == s->stop_at ? 99 : SCIVEC_OK;
}

static void keep_column(const char *name, const char *value, void *user) {
    if (!strcmp(name, "abstract")) snprintf(user, 64, "%s", value);
}

static void test_outdir(void) {
    char *csv = path_in("papers.csv"), *out = path_in("out");
    write_file(csv, "paper_id,title,abstract,categories,year\n"
                    "p0,Graphs,Graph neural networks for molecules,cs.LG,2020\n"
                    "p1,Halos,Dark matter halos and galaxies,astro-ph.CO,2021\n"
                    "p2,Qubits,Error correction for superconducting qubits,quant-ph,2022\n"
                    "p3,Proteins,Protein folding with attention,q-bio.BM cs.LG,2023\n");
    scivec_embed_params p = scivec_embed_default_params();
    p.input = csv;
    p.model = TINY;
    p.out_dir = out;
    p.max_length = 32;
    p.n_threads = 1;
    scivec_embed_result res;
    CHECK(scivec_embed(&p, &res) == SCIVEC_OK, "embed: %s", scivec_last_error());
    scivec_outdir *od = NULL;
    CHECK(scivec_outdir_open(out, &od) == SCIVEC_OK, "open: %s", scivec_last_error());
    if (!od) return;

    CHECK(!strcmp(scivec_outdir_model_name(od), TINY), "model name: %s",
          scivec_outdir_model_name(od));
    CHECK(scivec_outdir_pooling(od) && scivec_outdir_max_length(od) == 32 &&
              scivec_outdir_normalize(od) == 1,
          "pooling, max_length, normalize");
    CHECK(!strcmp(scivec_outdir_text_column(od), "abstract"), "text column");

    scivec_outdir *r1 = NULL, *r2 = NULL;
    CHECK(scivec_outdir_open_reader(od, &r1) == SCIVEC_OK &&
              scivec_outdir_open_reader(od, &r2) == SCIVEC_OK,
          "two readers: %s", scivec_last_error());
    CHECK(scivec_outdir_vectors(r1, NULL, NULL) == scivec_outdir_vectors(od, NULL, NULL),
          "a reader shares the folder's vectors");
    CHECK(scivec_outdir_metadata_json(r2) == scivec_outdir_metadata_json(od), "and its metadata");
    scivec_hit h_od[3], h_r[3];
    int64_t n_od = 0, n_r = 0;
    CHECK(scivec_outdir_similar(od, "p0", 3, NULL, h_od, &n_od) == SCIVEC_OK &&
              scivec_outdir_similar(r1, "p0", 3, NULL, h_r, &n_r) == SCIVEC_OK,
          "similar on both");
    int same = n_od == 3 && n_r == 3;
    for (int i = 0; same && i < 3; i++)
        same = h_od[i].row == h_r[i].row && h_od[i].score == h_r[i].score;
    CHECK(same, "the same hits from a reader");
    CHECK(scivec_outdir_set_search(r2, 8, 0) == SCIVEC_OK, "a reader's own search parameters");
    CHECK(scivec_outdir_similar(r2, "p1", 2, NULL, h_r, &n_r) == SCIVEC_EINVAL,
          "on the reader, nprobe on a Flat index is refused");
    CHECK(scivec_outdir_similar(od, "p1", 2, NULL, h_od, &n_od) == SCIVEC_OK,
          "the folder keeps its own (nprobe is not for a Flat index): %s", scivec_last_error());

    seen s = {.stop_at = -1};
    CHECK(scivec_outdir_each_paper(r1, count_paper, &s) == SCIVEC_OK, "each paper");
    CHECK(!strcmp(s.ids[0], "p0") && !strcmp(s.ids[1], "p1") && !strcmp(s.ids[2], "p2") &&
              !strcmp(s.ids[3], "p3"),
          "row order: %s %s %s %s", s.ids[0], s.ids[1], s.ids[2], s.ids[3]);
    memset(&s, 0, sizeof s);
    s.stop_at = 2;
    CHECK(scivec_outdir_each_paper(r1, count_paper, &s) == 99 && !s.ids[3][0],
          "a callback's stop is returned, and no paper after it");

    char *value = NULL, abstract[64] = "";
    CHECK(scivec_outdir_paper_column(r2, 3, "abstract", &value) == SCIVEC_OK && value &&
              !strcmp(value, "Protein folding with attention"),
          "column abstract of row 3: %s", value ? value : "(none)");
    scivec_free(value);
    CHECK(scivec_outdir_paper_column(r2, 3, "no_such_column", &value) == SCIVEC_OK && !value,
          "a column the paper lacks: NULL");
    CHECK(scivec_outdir_paper_columns(r2, 1, keep_column, abstract) == SCIVEC_OK &&
              !strcmp(abstract, "Dark matter halos and galaxies"),
          "columns of row 1: %s", abstract);

    float *xy = NULL;
    int64_t n = 0, cols = 0;
    CHECK(scivec_map_read(out, &xy, &n, &cols) != SCIVEC_OK && !xy, "no map.npy yet");
    char *record = NULL;
    CHECK(scivec_map_record(out, &record) == SCIVEC_OK && record && !strcmp(record, "null"),
          "no map record: %s", record ? record : "(none)");
    scivec_free(record);

    scivec_outdir_free(r1);
    scivec_outdir_free(r2);
    scivec_outdir_free(od);
    free(csv);
    free(out);
}

int main(void) {
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    test_text_reader();
    scivec_model_params mp = scivec_model_default_params();
    mp.n_threads = 1;
    scivec_model *model = NULL;
    CHECK(scivec_model_load(TINY, &mp, &model) == SCIVEC_OK, "load: %s", scivec_last_error());
    if (model) {
        test_encode_jsonl(model);
        test_model_calls(model);
        scivec_model_free(model);
    }
    test_outdir();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    return check_report();
}
