/*
 * bench_tokenizer.c - tokenizer throughput on one thread: loads the
 * abstracts of a papers file into memory (src/papers.h), then tokenizes all
 * of them (max_length 512) over and over for about 2 seconds.
 *
 *   bench_tokenizer [PAPERS.csv|.jsonl] [MODEL_DIR] [COLUMN]
 *   defaults: tests/fixtures/data/arxiv-papers.csv, tests/fixtures/models/tiny-scibert, abstract
 *   (paths relative to the repository root: run it from there)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "corpus/papers.h"
#include "scivec.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    const char *papers_path = argc > 1 ? argv[1] : "tests/fixtures/data/arxiv-papers.csv";
    const char *model_dir = argc > 2 ? argv[2] : "tests/fixtures/models/tiny-scibert";
    const char *column = argc > 3 ? argv[3] : "abstract";

    double t0 = now_s();
    scivec_tokenizer *tok;
    if (scivec_tokenizer_load(model_dir, &tok)) {
        fprintf(stderr, "bench_tokenizer: %s\n", scivec_last_error());
        return 1;
    }
    double load_s = now_s() - t0;

    sv_papers *papers;
    if (sv_papers_open(papers_path, &papers)) {
        fprintf(stderr, "bench_tokenizer: %s\n", scivec_last_error());
        return 1;
    }
    char **texts = NULL;
    size_t *lens = NULL, n = 0, cap = 0, total_bytes = 0;
    for (;;) {
        const char *const *fields;
        const size_t *field_lens;
        int got = sv_papers_next(papers, &fields, &field_lens);
        if (got == 0) break;
        if (got < 0) {
            fprintf(stderr, "bench_tokenizer: %s\n", scivec_last_error());
            if (got != SCIVEC_EFORMAT) return 1; /* a malformed record is skipped */
            continue;
        }
        int col = sv_papers_column_index(papers, column);
        if (col < 0) {
            fprintf(stderr, "bench_tokenizer: %s has no column '%s'\n", papers_path, column);
            return 1;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            texts = realloc(texts, cap * sizeof *texts);
            lens = realloc(lens, cap * sizeof *lens);
            if (!texts || !lens) return 1;
        }
        texts[n] = malloc(field_lens[col] + 1);
        if (!texts[n]) return 1;
        memcpy(texts[n], fields[col], field_lens[col] + 1);
        lens[n] = field_lens[col];
        total_bytes += lens[n];
        n++;
    }
    sv_papers_close(papers);
    if (n == 0) {
        fprintf(stderr, "bench_tokenizer: no records in %s\n", papers_path);
        return 1;
    }

    long rounds = 0, n_tokens = 0, n_truncated = 0;
    double start = now_s(), elapsed = 0;
    while (elapsed < 2.0) {
        for (size_t i = 0; i < n; i++) {
            scivec_encoding enc;
            if (scivec_tokenize(tok, texts[i], lens[i], NULL, 0, 512, &enc)) {
                fprintf(stderr, "bench_tokenizer: %s\n", scivec_last_error());
                return 1;
            }
            n_tokens += enc.n_tokens;
            n_truncated += enc.n_tokens < enc.n_tokens_untruncated;
            scivec_encoding_clear(&enc);
        }
        rounds++;
        elapsed = now_s() - start;
    }
    double n_texts = (double)n * rounds;
    printf("tokenizer load (%s): %.1f ms, vocab %d\n", model_dir, load_s * 1e3,
           scivec_tokenizer_vocab_size(tok));
    printf(
        "%zu texts (%s, column %s), %.1f bytes and %.1f tokens each on average, %.1f%% truncated\n",
        n, papers_path, column, (double)total_bytes / n, n_tokens / n_texts,
        100.0 * n_truncated / n_texts);
    printf("one thread: %.0f texts/s, %.1f MB/s, %.2f M tokens/s (%ld rounds, %.2f s)\n",
           n_texts / elapsed, total_bytes * (double)rounds / elapsed / 1e6,
           n_tokens / elapsed / 1e6, rounds, elapsed);
    for (size_t i = 0; i < n; i++) free(texts[i]);
    free(texts);
    free(lens);
    scivec_tokenizer_free(tok);
    return 0;
}
