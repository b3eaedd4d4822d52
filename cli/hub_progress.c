/*
 * hub_progress.c - the download bar of models the hub resolver fetches
 * ("model.safetensors   120.4 MB / 420.0 MB  28% | 35.1 MB/s"), drawn on
 * stderr when it is a terminal, for every command (main.c installs it).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "scivec.h"

typedef struct bar_state {
    char file[256];
    double start, last_draw;
    int64_t first_done;
    int finished; /* the file's last line is drawn */
} bar_state;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void human_bytes(char *buf, size_t cap, double n) {
    const char *unit[] = {"B", "kB", "MB", "GB", "TB"};
    int u = 0;
    while (n >= 1000.0 && u < 4) {
        n /= 1000.0;
        u++;
    }
    snprintf(buf, cap, u ? "%.1f %s" : "%.0f %s", n, unit[u]);
}

/* "model.safetensors   120.4 MB / 420.0 MB  28% | 35.1 MB/s", redrawn in place. */
static void draw_bar(void *user, const char *file, int64_t done, int64_t total) {
    bar_state *bar = user;
    double t = now_s();
    if (strcmp(bar->file, file)) {
        snprintf(bar->file, sizeof bar->file, "%s", file);
        bar->start = t;
        bar->last_draw = 0;
        bar->first_done = done;
        bar->finished = 0;
    }
    int finished = total >= 0 && done >= total;
    if (bar->finished || (!finished && t - bar->last_draw < 0.1)) return;
    bar->last_draw = t;
    bar->finished = finished;
    double elapsed = t - bar->start;
    char got[32], size[32], rate[32];
    human_bytes(got, sizeof got, (double)done);
    human_bytes(size, sizeof size, (double)total);
    human_bytes(rate, sizeof rate, elapsed > 0 ? (double)(done - bar->first_done) / elapsed : 0);
    if (total > 0)
        fprintf(stderr, "\r  %-28s %10s / %-10s %3d%% | %s/s   ", file, got, size,
                (int)(100.0 * (double)done / (double)total), rate);
    else
        fprintf(stderr, "\r  %-28s %10s | %s/s   ", file, got, rate);
    if (finished) fputc('\n', stderr);
    fflush(stderr);
}

static bar_state bar;

void cli_hub_progress_install(void) {
    if (isatty(STDERR_FILENO)) scivec_hub_set_progress(draw_bar, &bar);
}
