/*
 * serve_readers.c - a pool of read handles over one output directory, so
 * that paper queries of different connections run in parallel (see serve.h).
 *
 * A reader is a shallow copy of the opened sv_outdir with its own SQLite
 * connection: the vectors (one mmap), the FAISS index and metadata.json are
 * read-only once opened and are shared. Reader 0 is ctx->od itself. Copies
 * are never passed to sv_outdir_close: only their connection is theirs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "serve.h"

int serve_readers_open(serve_ctx *ctx, const char *dir, int n_readers) {
    if (n_readers < 1) n_readers = 1;
    pthread_mutex_init(&ctx->readers_lock, NULL);
    pthread_cond_init(&ctx->reader_freed, NULL);
    ctx->readers = calloc((size_t)n_readers, sizeof *ctx->readers);
    ctx->idle = calloc((size_t)n_readers, sizeof *ctx->idle);
    char *db_path = malloc(strlen(dir) + sizeof "/papers.db");
    if (!ctx->readers || !ctx->idle || !db_path) {
        free(db_path);
        fprintf(stderr, "scivec serve: out of memory\n");
        return 1;
    }
    sprintf(db_path, "%s/papers.db", dir);
    ctx->readers[0] = ctx->od;
    ctx->n_readers = 1;
    for (int i = 1; i < n_readers; i++) {
        sv_outdir *copy = malloc(sizeof *copy);
        if (!copy) break;
        *copy = *ctx->od;
        copy->db = NULL;
        if (sqlite3_open_v2(db_path, &copy->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL)
            != SQLITE_OK) {
            fprintf(stderr, "scivec serve: %s: cannot open another connection: %s\n", db_path,
                    copy->db ? sqlite3_errmsg(copy->db) : "out of memory");
            sqlite3_close(copy->db);
            free(copy);
            free(db_path);
            return 1;
        }
        ctx->readers[ctx->n_readers++] = copy;
    }
    free(db_path);
    if (ctx->n_readers < n_readers) {
        fprintf(stderr, "scivec serve: out of memory\n");
        return 1;
    }
    for (int i = 0; i < ctx->n_readers; i++) ctx->idle[i] = ctx->readers[i];
    ctx->n_idle = ctx->n_readers;
    return 0;
}

void serve_readers_close(serve_ctx *ctx) {
    if (!ctx->readers) return;
    for (int i = 1; i < ctx->n_readers; i++) {
        sqlite3_close(ctx->readers[i]->db);
        free(ctx->readers[i]);
    }
    free(ctx->readers);
    free(ctx->idle);
    ctx->readers = ctx->idle = NULL;
    pthread_mutex_destroy(&ctx->readers_lock);
    pthread_cond_destroy(&ctx->reader_freed);
}

const sv_outdir *serve_reader_acquire(serve_ctx *ctx) {
    pthread_mutex_lock(&ctx->readers_lock);
    while (ctx->n_idle == 0) pthread_cond_wait(&ctx->reader_freed, &ctx->readers_lock);
    sv_outdir *reader = ctx->idle[--ctx->n_idle];
    pthread_mutex_unlock(&ctx->readers_lock);
    return reader;
}

void serve_reader_release(serve_ctx *ctx, const sv_outdir *reader) {
    pthread_mutex_lock(&ctx->readers_lock);
    ctx->idle[ctx->n_idle++] = (sv_outdir *)reader;
    pthread_cond_signal(&ctx->reader_freed);
    pthread_mutex_unlock(&ctx->readers_lock);
}
