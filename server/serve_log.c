/*
 * serve_log.c - the one line `scivec serve` writes on stderr per refused
 * request, and libmicrohttpd's messages, both rate-limited: a client
 * decides how many requests it sends, not how big the log gets.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve.h"

struct serve_log {
    pthread_mutex_t lock;
    int per_second;
    time_t second;     /* the second being counted */
    int in_second;     /* lines written in it */
    long long dropped; /* lines not written since the last one */
};

serve_log *serve_log_new(int per_second) {
    serve_log *log = calloc(1, sizeof *log);
    if (!log) return NULL;
    pthread_mutex_init(&log->lock, NULL);
    log->per_second = per_second;
    return log;
}

void serve_log_free(serve_log *log) {
    if (!log) return;
    pthread_mutex_destroy(&log->lock);
    free(log);
}

void serve_log_printable(char *out, size_t size, const char *s) {
    size_t o = 0;
    for (; *s && o + 8 < size; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c < 0x7F && c != '\\')
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, size - o, "\\x%02X", c);
    }
    if (*s) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

/* Writes "scivec serve: " + line unless this second's quota is used. */
static void emit(serve_log *log, const char *line) {
    if (!log) return;
    pthread_mutex_lock(&log->lock);
    time_t now = time(NULL);
    if (now != log->second) {
        log->second = now;
        log->in_second = 0;
    }
    if (log->in_second >= log->per_second) {
        log->dropped++;
    } else {
        log->in_second++;
        if (log->dropped)
            fprintf(stderr, "scivec serve: (%lld lines not logged: over %d a second)\n",
                    log->dropped, log->per_second);
        log->dropped = 0;
        fprintf(stderr, "scivec serve: %s\n", line);
    }
    pthread_mutex_unlock(&log->lock);
}

void serve_log_refusal(serve_log *log, const char *method, const char *target,
                       const serve_reply *reply) {
    char shown_method[24], line[512];
    serve_log_printable(shown_method, sizeof shown_method, method ? method : "");
    snprintf(line, sizeof line, "refused %d %s %s: %s", reply->status, shown_method,
             target ? target : "", reply->message);
    emit(log, line);
}

void serve_log_http(void *cls, const char *fmt, va_list ap) {
    char text[512], line[600];
    vsnprintf(text, sizeof text, fmt, ap);
    /* "Error processing request (HTTP response code is 414 ('<html>...'))":
     * the HTML page is what the client got, not news for the log. */
    char *html = strstr(text, " ('<html>");
    if (html) strcpy(html, ")");
    size_t n = strlen(text);
    while (n && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
        text[--n] = '\0';
    char shown[400];
    serve_log_printable(shown, sizeof shown, text);
    snprintf(line, sizeof line, "http: %s", shown);
    emit(cls, line);
}
