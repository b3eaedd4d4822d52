/*
 * forward_util.h - what the forward tests share: HuggingFace's golden token
 * ids (tokens.jsonl / tokens_pair.jsonl), a model loaded straight through
 * config.c + weights.c, and a packed run of golden sequences. Static
 * functions, included by one test file each (like check.h).
 */
#ifndef SV_FORWARD_UTIL_H
#define SV_FORWARD_UTIL_H

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/files.h"
#include "corpus/jsonl.h"
#include "golden_util.h"
#include "nn/bert.h"
#include "nn/config.h"
#include "nn/weights.h"

#define GOLDEN SV_FIXTURES "/golden"
#define MODELS SV_FIXTURES "/models"

/* ------------------------------------------------------------------------ */
/* Golden token ids                                                          */

typedef struct seqset {
    int n;
    char **id; /* the text id ("abs-0704.0001") */
    int32_t **ids, **types;
    int *len;
} seqset;

/* Reads the ids of every line; sub = NULL for tokens.jsonl, "pair" or
 * "single_sep" for tokens_pair.jsonl. */
static int load_seqs(const char *path, const char *sub, seqset *set) {
    memset(set, 0, sizeof *set);
    sv_jsonl *r;
    if (sv_jsonl_open(path, &r)) return -1;
    cJSON *obj;
    int cap = 0;
    while (sv_jsonl_next(r, &obj) == 1) {
        if (set->n == cap) {
            cap = cap ? 2 * cap : 256;
            set->id = realloc(set->id, cap * sizeof *set->id);
            set->ids = realloc(set->ids, cap * sizeof *set->ids);
            set->types = realloc(set->types, cap * sizeof *set->types);
            set->len = realloc(set->len, cap * sizeof *set->len);
        }
        const cJSON *src = sub ? cJSON_GetObjectItem(obj, sub) : obj;
        int n_types;
        set->id[set->n] = strdup(cJSON_GetObjectItem(obj, "id")->valuestring);
        set->ids[set->n] = int_array(cJSON_GetObjectItem(src, "input_ids"), &set->len[set->n]);
        set->types[set->n] = int_array(cJSON_GetObjectItem(src, "token_type_ids"), &n_types);
        if (n_types != set->len[set->n]) {
            cJSON_Delete(obj);
            sv_jsonl_close(r);
            return -1;
        }
        set->n++;
        cJSON_Delete(obj);
    }
    sv_jsonl_close(r);
    return 0;
}

static void free_seqs(seqset *set) {
    for (int i = 0; i < set->n; i++) {
        free(set->id[i]);
        free(set->ids[i]);
        free(set->types[i]);
    }
    free(set->id);
    free(set->ids);
    free(set->types);
    free(set->len);
}

/* ------------------------------------------------------------------------ */
/* Running sequences through the forward                                     */

typedef struct net {
    sv_bert_config cfg;
    sv_weights *weights;
    const sv_bert_weights *w;
    sv_bert_workspace ws;
} net;

static int load_net(const char *dir, net *m) {
    memset(m, 0, sizeof *m);
    char *config = sv_path_join(dir, "config.json");
    int status = sv_config_load(config, &m->cfg);
    free(config);
    if (status) return status;
    status = sv_weights_load(dir, &m->cfg, &m->weights);
    if (status) return status;
    m->w = sv_weights_bert(m->weights);
    return 0;
}

static void free_net(net *m) {
    sv_weights_free(m->weights);
    sv_bert_workspace_free(&m->ws);
}

/* Packs seqs [first, first + n) and runs the forward; starts[n + 1]. */
static int run_packed(net *m, const seqset *set, int first, int n, int n_threads, int *starts,
                      int cls_only) {
    int64_t total = 0;
    for (int i = 0; i < n; i++) total += set->len[first + i];
    int32_t *ids = malloc(total * sizeof *ids), *types = malloc(total * sizeof *types);
    int pos = 0;
    for (int i = 0; i < n; i++) {
        starts[i] = pos;
        memcpy(ids + pos, set->ids[first + i], set->len[first + i] * sizeof *ids);
        memcpy(types + pos, set->types[first + i], set->len[first + i] * sizeof *types);
        pos += set->len[first + i];
    }
    starts[n] = pos;
    int status =
        cls_only
            ? sv_bert_forward_cls(&m->cfg, m->w, NULL, &m->ws, n_threads, n, starts, ids, types)
            : sv_bert_forward(&m->cfg, m->w, &m->ws, n_threads, n, starts, ids, types);
    free(ids);
    free(types);
    return status;
}

#endif
