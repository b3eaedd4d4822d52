/*
 * fuzz_outdir.c - the readers behind similar/search/info: an embed output
 * directory (8 papers, dim 4, built once) with one of its files replaced by
 * the fuzz input, opened with every check (sv_outdir_load, SV_CHECK_FULL)
 * and, when it passes, queried with and without filters.
 *
 * The first input byte picks the file: 0 metadata.json, 1 embeddings.npy,
 * 2 papers.db; the rest is its content. papers.index is not fuzzed here:
 * faiss::read_index allocates whatever sizes the file names (up to 1 TB) and
 * leaks on its error paths, which libFuzzer reports as crashes that are
 * FAISS's, not ours; the index checks after reading (faiss_query.cpp) are
 * covered by tests/test_query.py and a file-mutation campaign
 * (docs/FUZZING.md).
 *
 * SV_FUZZ_OUTDIR_SEEDS=<dir> makes the target write its seed corpus (the
 * three intact files, each behind its selector byte) into <dir> and go on.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/error.h"
#include "core/files.h"
#include "outputs/faiss_shim.h"
#include "outputs/npy.h"
#include "outputs/query.h"

#define N_PAPERS 8
#define DIM      4

static char dir[64];
static const char *names[3] = {"metadata.json", "embeddings.npy", "papers.db"};
static char *originals[3];
static size_t original_sizes[3];

static const char metadata[] =
    "{\"format_version\": 1, \"n_papers\": 8, \"embedding_dim\": 4,\n"
    " \"model\": {\"name\": \"m\", \"path\": \"/nonexistent\", \"sha256\": \"00\"},\n"
    " \"recipe\": \"abstract\", \"pooling\": {\"name\": \"mean\", \"reason\": \"--pooling\"},\n"
    " \"normalize\": true, \"max_length\": 512,\n"
    " \"index\": {\"factory\": \"Flat\", \"type\": \"IndexFlatIP\", \"ntotal\": 8}}\n";

static void die(const char *what) {
    fprintf(stderr, "fuzz_outdir setup: %s: %s\n", what, scivec_last_error());
    exit(1);
}

static void write_file(const char *name, const void *data, size_t size) {
    char *path = sv_path_join(dir, name);
    FILE *f = path ? fopen(path, "wb") : NULL;
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) die(name);
    free(path);
}

/* The scratch directory goes when the fuzzer exits normally. */
static void remove_dir(void) {
    static const char *all[7] = {"metadata.json",    "embeddings.npy", "papers.db",
                                 "papers.index",     "papers.db-wal",  "papers.db-shm",
                                 "papers.db-journal"};
    for (int i = 0; i < 7; i++) {
        char *path = sv_path_join(dir, all[i]);
        if (path) unlink(path);
        free(path);
    }
    rmdir(dir);
}

static void build_dir(void) {
    strcpy(dir, "/tmp/fuzz-outdir-XXXXXX");
    if (!mkdtemp(dir)) die("mkdtemp");
    atexit(remove_dir);
    float vectors[N_PAPERS * DIM];
    for (int i = 0; i < N_PAPERS; i++) {
        float norm = 0;
        for (int j = 0; j < DIM; j++) {
            vectors[i * DIM + j] = cosf((float)(i * DIM + j));
            norm += vectors[i * DIM + j] * vectors[i * DIM + j];
        }
        for (int j = 0; j < DIM; j++) vectors[i * DIM + j] /= sqrtf(norm);
    }
    char *path = sv_path_join(dir, "embeddings.npy");
    if (sv_npy_write(path, vectors, N_PAPERS, DIM)) die("npy");
    free(path);
    char type_name[64];
    path = sv_path_join(dir, "papers.index");
    if (sv_faiss_build_and_write("Flat", vectors, N_PAPERS, DIM, 1, path, type_name,
                                 sizeof type_name))
        die("index");
    free(path);
    write_file("metadata.json", metadata, sizeof metadata - 1);

    sqlite3 *db;
    path = sv_path_join(dir, "papers.db");
    if (sqlite3_open(path, &db) != SQLITE_OK) die("db");
    free(path);
    sqlite3_exec(
        db,
        "CREATE TABLE papers(row INTEGER PRIMARY KEY, paper_id TEXT NOT NULL UNIQUE, "
        "title TEXT, categories TEXT, year INTEGER, embedding BLOB);"
        "CREATE TABLE paper_columns(row INTEGER, name TEXT, value TEXT, PRIMARY KEY(row, name));",
        NULL, NULL, NULL);
    static const char *categories[4] = {"cs.CL cs.AI", "hep-ph", "astro-ph.GA", NULL};
    for (int i = 0; i < N_PAPERS; i++) {
        sqlite3_stmt *st;
        sqlite3_prepare_v2(db, "INSERT INTO papers VALUES (?, ?, ?, ?, ?, ?)", -1, &st, NULL);
        char id[16], title[32];
        snprintf(id, sizeof id, "p%d", i);
        snprintf(title, sizeof title, "paper %d", i);
        sqlite3_bind_int(st, 1, i);
        sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, title, -1, SQLITE_TRANSIENT);
        if (categories[i % 4]) sqlite3_bind_text(st, 4, categories[i % 4], -1, SQLITE_STATIC);
        if (i % 3) sqlite3_bind_int(st, 5, 2020 + i);
        sqlite3_bind_blob(st, 6, vectors + i * DIM, DIM * sizeof(float), SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) die("db insert");
        sqlite3_finalize(st);
        sqlite3_prepare_v2(db, "INSERT INTO paper_columns VALUES (?, 'title', ?)", -1, &st, NULL);
        sqlite3_bind_int(st, 1, i);
        sqlite3_bind_text(st, 2, title, -1, SQLITE_TRANSIENT);
        sqlite3_step(st);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);

    for (int i = 0; i < 3; i++) {
        path = sv_path_join(dir, names[i]);
        if (sv_read_file(path, &originals[i], &original_sizes[i])) die(names[i]);
        free(path);
    }
    const char *seeds = getenv("SV_FUZZ_OUTDIR_SEEDS");
    for (int i = 0; seeds && i < 3; i++) {
        char name[64];
        snprintf(name, sizeof name, "seed-%s", names[i]);
        char *seed = sv_path_join(seeds, name);
        FILE *f = seed ? fopen(seed, "wb") : NULL;
        if (!f) die("seed");
        fputc(i, f);
        fwrite(originals[i], 1, original_sizes[i], f);
        fclose(f);
        free(seed);
    }
}

static void query(const sv_outdir *od) {
    int64_t row;
    if (sv_outdir_find_paper(od, "p1", &row)) return;
    sv_hit hits[4];
    int64_t n_hits;
    const char *cats[2] = {"cs", "hep-ph"};
    sv_filter filter = {
        .categories = cats, .n_categories = 2, .has_year = 1, .year_min = 2021, .year_max = 2030};
    const float *q = od->vectors + row * od->n_cols;
    if (sv_outdir_top_k(od, q, 4, row, NULL, hits, &n_hits) == SCIVEC_OK) {
        for (int64_t i = 0; i < n_hits; i++) {
            sv_paper p;
            if (sv_outdir_paper(od, hits[i].row, &p) == SCIVEC_OK) sv_paper_clear(&p);
        }
    }
    sv_outdir_top_k(od, q, 4, row, &filter, hits, &n_hits);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!dir[0]) build_dir();
    if (size < 1) return 0;
    int which = data[0] % 3;
    write_file(names[which], data + 1, size - 1);
    sv_outdir *od;
    if (sv_outdir_load(dir, SV_CHECK_FULL, &od) == SCIVEC_OK) {
        if (od->n_problems == 0) query(od);
        sv_outdir_close(od);
    }
    write_file(names[which], originals[which], original_sizes[which]);
    /* A db that says it is in WAL mode leaves side files behind. */
    static const char *side[3] = {"papers.db-wal", "papers.db-shm", "papers.db-journal"};
    for (int i = 0; i < 3; i++) {
        char *path = sv_path_join(dir, side[i]);
        if (path) unlink(path);
        free(path);
    }
    return 0;
}
