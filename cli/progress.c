/*
 * progress.c - the progress line: done/total, rate, elapsed<remaining.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void format_duration(char *buf, size_t cap, double seconds) {
    if (!(seconds >= 0) || seconds > 359999) {
        snprintf(buf, cap, "?");
        return;
    }
    long s = (long)(seconds + 0.5);
    if (s >= 3600)
        snprintf(buf, cap, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(buf, cap, "%02ld:%02ld", s / 60, s % 60);
}

void sv_progress_format(char *buf, size_t cap, const char *unit, int64_t done, int64_t total,
                        double elapsed) {
    /* A rate from the first instants means nothing: tqdm shows "?" too. */
    double rate = elapsed > 0.05 ? (double)done / elapsed : 0;
    char spent[32], left[32], rate_text[32];
    if (rate > 0)
        snprintf(rate_text, sizeof rate_text, "%.1f", rate);
    else
        snprintf(rate_text, sizeof rate_text, "?");
    format_duration(spent, sizeof spent, elapsed);
    if (total > 0) {
        double fraction = done >= total ? 1.0 : (double)done / (double)total;
        char bar[21];
        int filled = (int)(fraction * 20);
        memset(bar, '#', (size_t)filled);
        memset(bar + filled, ' ', (size_t)(20 - filled));
        bar[20] = '\0';
        format_duration(left, sizeof left, rate > 0 ? (double)(total - done) / rate : -1);
        snprintf(buf, cap, "%3d%%|%s| %lld/%lld %s [%s<%s, %s %s/s]", (int)(fraction * 100), bar,
                 (long long)done, (long long)total, unit, spent, left, rate_text, unit);
    } else {
        snprintf(buf, cap, "%lld %s [%s, %s %s/s]", (long long)done, unit, spent, rate_text, unit);
    }
}

void sv_progress_start(sv_progress *p, FILE *out, const char *unit, int64_t total) {
    memset(p, 0, sizeof *p);
    p->out = out;
    p->unit = unit;
    p->total = total;
    p->start = now_seconds();
}

static void draw(sv_progress *p, int64_t done, double t) {
    char line[256];
    sv_progress_format(line, sizeof line, p->unit, done, p->total, t - p->start);
    /* Erase what a longer previous line left, on terminals only. */
    fprintf(p->out, isatty(fileno(p->out)) ? "\r%s\033[K" : "\r%s", line);
    fflush(p->out);
    p->last_draw = t;
    p->drawn = 1;
}

void sv_progress_update(sv_progress *p, int64_t done) {
    if (!p->out) return;
    double t = now_seconds();
    if (p->drawn && t - p->last_draw < 0.1 && !(p->total > 0 && done >= p->total)) return;
    draw(p, done, t);
}

void sv_progress_finish(sv_progress *p, int64_t done) {
    if (!p->out) return;
    draw(p, done, now_seconds());
    fputc('\n', p->out);
    fflush(p->out);
}
