/*
 * serve_guard.c - the whole-request deadline of `scivec serve`
 * (--request-timeout-s). libmicrohttpd's own timeout counts idle time only,
 * so a client that sends one header byte every few seconds keeps a
 * connection (and its thread) forever. The guard knows every connection
 * (MHD_OPTION_NOTIFY_CONNECTION) and since when it has been waiting for the
 * client: from its opening or its last answer until its request has been
 * received in full, and while its answer is sent. Time spent computing an
 * answer does not count (that has --timeout-ms). A thread checks 4 times a
 * second and shuts down the socket of a connection over the deadline; the
 * connection's own thread then sees the end of the stream and closes it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "serve.h"

typedef struct tracked {
    struct tracked *prev, *next;
    int fd;
    double since; /* waiting for the client since (monotonic seconds) */
    int busy;     /* scivec is computing its answer: not counted */
    int shut;     /* already shut down */
} tracked;

struct serve_guard {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    int running, stopping;
    double deadline;
    tracked *head;
    long long n_shut;
};

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void *guard_main(void *arg) {
    serve_guard *g = arg;
    pthread_mutex_lock(&g->lock);
    while (!g->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 250 * 1000 * 1000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&g->wake, &g->lock, &until);
        double now = now_seconds();
        for (tracked *t = g->head; t; t = t->next) {
            if (t->busy || t->shut || now - t->since <= g->deadline) continue;
            /* (Under the lock: the connection cannot close, and its fd be
             * reused, before the CLOSED notification takes it off the list.) */
            shutdown(t->fd, SHUT_RDWR);
            t->shut = 1;
            g->n_shut++;
        }
    }
    pthread_mutex_unlock(&g->lock);
    return NULL;
}

serve_guard *serve_guard_start(double deadline_seconds) {
    serve_guard *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->wake, NULL);
    g->deadline = deadline_seconds;
    if (pthread_create(&g->thread, NULL, guard_main, g)) {
        serve_guard_stop(g);
        return NULL;
    }
    g->running = 1;
    return g;
}

void serve_guard_stop(serve_guard *g) {
    if (!g) return;
    if (g->running) {
        pthread_mutex_lock(&g->lock);
        g->stopping = 1;
        pthread_cond_signal(&g->wake);
        pthread_mutex_unlock(&g->lock);
        pthread_join(g->thread, NULL);
    }
    /* (MHD_stop_daemon ran first: every connection was notified closed.) */
    while (g->head) {
        tracked *t = g->head;
        g->head = t->next;
        free(t);
    }
    pthread_cond_destroy(&g->wake);
    pthread_mutex_destroy(&g->lock);
    free(g);
}

void serve_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                        enum MHD_ConnectionNotificationCode code) {
    serve_guard *g = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        tracked *t = info ? calloc(1, sizeof *t) : NULL;
        if (!t) return; /* (out of memory: this connection has only the idle timeout) */
        t->fd = info->connect_fd;
        t->since = now_seconds();
        pthread_mutex_lock(&g->lock);
        t->next = g->head;
        if (g->head) g->head->prev = t;
        g->head = t;
        pthread_mutex_unlock(&g->lock);
        *socket_context = t;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        tracked *t = *socket_context;
        if (!t) return;
        pthread_mutex_lock(&g->lock);
        if (t->prev)
            t->prev->next = t->next;
        else
            g->head = t->next;
        if (t->next) t->next->prev = t->prev;
        pthread_mutex_unlock(&g->lock);
        free(t);
        *socket_context = NULL;
    }
}

void serve_guard_busy(serve_guard *g, struct MHD_Connection *conn, int busy) {
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    tracked *t = info ? info->socket_context : NULL;
    if (!g || !t) return;
    pthread_mutex_lock(&g->lock);
    t->busy = busy;
    t->since = now_seconds();
    pthread_mutex_unlock(&g->lock);
}

long long serve_guard_closed(serve_guard *g) {
    pthread_mutex_lock(&g->lock);
    long long n = g->n_shut;
    pthread_mutex_unlock(&g->lock);
    return n;
}
