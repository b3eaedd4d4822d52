/*
 * bench_load.c - how long loading a checkpoint takes and how much memory it
 * needs, relative to the weight file's size.
 *
 *     bench_load MODEL_DIR [WEIGHTS_FILE]
 *
 * Loads config.json and the weights (the folder's usual file, or the given
 * one), then reads every float once, as a forward pass would, and reports
 * the peak RSS (getrusage ru_maxrss) after loading and after touching, each
 * as a ratio to the file size. Run each format in its own process: peak RSS
 * never goes down.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "core/error.h"
#include "core/files.h"
#include "nn/config.h"
#include "nn/weights.h"

static double peak_rss_bytes(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss * 1024.0; /* Linux reports KiB */
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double sum(const float *x, long n) {
    double s = 0;
    for (long i = 0; i < n; i++) s += x[i];
    return s;
}

/* Reads every weight once, so mmapped pages count in the RSS too. */
static double touch_all(const sv_bert_config *c, const sv_bert_weights *w) {
    long h = c->hidden, f = c->intermediate;
    double s =
        sum(w->word_emb, (long)c->vocab_size * h) + sum(w->pos_emb, (long)c->max_position * h) +
        sum(w->type_emb, (long)c->type_vocab_size * h) + sum(w->emb_ln_g, h) + sum(w->emb_ln_b, h);
    for (int l = 0; l < c->n_layers; l++) {
        const sv_bert_layer *L = &w->layers[l];
        s += sum(L->q_w, h * h) + sum(L->k_w, h * h) + sum(L->v_w, h * h) +
             sum(L->attn_out_w, h * h);
        s += sum(L->q_b, h) + sum(L->k_b, h) + sum(L->v_b, h) + sum(L->attn_out_b, h);
        s +=
            sum(L->attn_ln_g, h) + sum(L->attn_ln_b, h) + sum(L->ffn_ln_g, h) + sum(L->ffn_ln_b, h);
        s += sum(L->ffn_in_w, f * h) + sum(L->ffn_in_b, f) + sum(L->ffn_out_w, h * f) +
             sum(L->ffn_out_b, h);
    }
    if (w->pooler_w) s += sum(w->pooler_w, h * h) + sum(w->pooler_b, h);
    return s;
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s MODEL_DIR [WEIGHTS_FILE]\n", argv[0]);
        return 2;
    }
    char *config_path = sv_path_join(argv[1], "config.json");
    sv_bert_config cfg;
    if (!config_path || sv_config_load(config_path, &cfg) != 0) {
        fprintf(stderr, "bench_load: %s\n", scivec_last_error());
        return 1;
    }
    double rss_before = peak_rss_bytes();
    double t0 = now();
    sv_weights *w = NULL;
    int rc =
        argc == 3 ? sv_weights_load_file(argv[2], &cfg, &w) : sv_weights_load(argv[1], &cfg, &w);
    double t_load = now() - t0;
    if (rc != 0) {
        fprintf(stderr, "bench_load: %s\n", scivec_last_error());
        return 1;
    }
    double rss_loaded = peak_rss_bytes();
    t0 = now();
    double checksum = touch_all(&cfg, sv_weights_bert(w));
    double t_touch = now() - t0;
    double rss_touched = peak_rss_bytes();
    struct stat st;
    double file_size = stat(sv_weights_path(w), &st) == 0 ? (double)st.st_size : 0;
    printf("weights:        %s\n", sv_weights_path(w));
    printf("file size:      %.1f MiB\n", file_size / 1048576);
    printf("load time:      %.3f s (then %.3f s to read every weight once)\n", t_load, t_touch);
    printf("peak RSS:       %.1f MiB before, %.1f MiB after load, %.1f MiB after touching all "
           "weights\n",
           rss_before / 1048576, rss_loaded / 1048576, rss_touched / 1048576);
    printf("RSS/file ratio: %.3f after load, %.3f after touching (limit 1.3)\n",
           rss_loaded / file_size, rss_touched / file_size);
    printf("checksum:       %.6f\n", checksum);
    sv_weights_free(w);
    free(config_path);
    return 0;
}
