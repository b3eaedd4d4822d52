/*
 * test_tokenizer_threads.c - one loaded tokenizer shared by several threads
 * (scivec.h promises it is read-only once loaded): every thread encodes all
 * golden texts and pairs and must get exactly the single-threaded ids.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "scivec.h"

#define N_THREADS 4

static const scivec_tokenizer *tok;
static char **texts, **pairs; /* pairs[i] NULL for single texts */
static scivec_encoding *reference;
static int n_inputs;

static int encode(int i, scivec_encoding *enc) {
    return scivec_tokenize(tok, texts[i], strlen(texts[i]), pairs[i],
                           pairs[i] ? strlen(pairs[i]) : 0, 512, enc);
}

static void *worker(void *arg) {
    long n_bad = 0;
    int offset = (int)(long)arg;
    for (int round = 0; round < 3; round++) {
        for (int k = 0; k < n_inputs; k++) {
            int i = (k + offset * 97) % n_inputs; /* threads start at different texts */
            scivec_encoding enc;
            if (encode(i, &enc)) {
                n_bad++;
                continue;
            }
            const scivec_encoding *want = &reference[i];
            if (enc.n_tokens != want->n_tokens ||
                memcmp(enc.input_ids, want->input_ids, enc.n_tokens * sizeof *enc.input_ids) ||
                memcmp(enc.token_type_ids, want->token_type_ids,
                       enc.n_tokens * sizeof *enc.token_type_ids))
                n_bad++;
            scivec_encoding_clear(&enc);
        }
    }
    return (void *)n_bad;
}

static void read_inputs(void) {
    int cap = 2048;
    texts = calloc(cap, sizeof *texts);
    pairs = calloc(cap, sizeof *pairs);
    const char *files[] = {SV_FIXTURES "/golden/tokens.jsonl",
                           SV_FIXTURES "/golden/tokens_pair.jsonl"};
    char *line = NULL;
    size_t line_cap = 0;
    for (int f = 0; f < 2; f++) {
        FILE *in = fopen(files[f], "r");
        CHECK(in != NULL, "open %s", files[f]);
        while (in && getline(&line, &line_cap, in) > 0 && n_inputs < cap) {
            cJSON *obj = cJSON_Parse(line);
            const cJSON *a = cJSON_GetObjectItemCaseSensitive(obj, f ? "title" : "text");
            const cJSON *b = f ? cJSON_GetObjectItemCaseSensitive(obj, "abstract") : NULL;
            if (cJSON_IsString(a)) {
                texts[n_inputs] = strdup(a->valuestring);
                pairs[n_inputs] = cJSON_IsString(b) ? strdup(b->valuestring) : NULL;
                n_inputs++;
            }
            cJSON_Delete(obj);
        }
        if (in) fclose(in);
    }
    free(line);
}

int main(void) {
    scivec_tokenizer *loaded;
    int status = scivec_tokenizer_load(SV_FIXTURES "/models/tiny-scibert", &loaded);
    CHECK(status == 0, "load: %s", scivec_last_error());
    if (status) return check_report();
    tok = loaded;
    read_inputs();
    CHECK(n_inputs == 661 + 306, "%d inputs", n_inputs);
    reference = calloc(n_inputs, sizeof *reference);
    for (int i = 0; i < n_inputs; i++) CHECK(encode(i, &reference[i]) == 0, "encode %d", i);

    pthread_t threads[N_THREADS];
    for (long t = 0; t < N_THREADS; t++)
        CHECK(pthread_create(&threads[t], NULL, worker, (void *)t) == 0, "pthread_create");
    for (int t = 0; t < N_THREADS; t++) {
        void *n_bad;
        pthread_join(threads[t], &n_bad);
        CHECK(n_bad == NULL, "thread %d: %ld encodings differ", t, (long)n_bad);
    }
    printf("%d threads x 3 rounds x %d inputs encoded like one thread\n", N_THREADS, n_inputs);
    for (int i = 0; i < n_inputs; i++) {
        scivec_encoding_clear(&reference[i]);
        free(texts[i]);
        free(pairs[i]);
    }
    free(reference);
    free(texts);
    free(pairs);
    scivec_tokenizer_free(loaded);
    return check_report();
}
