/*
 * vocab.c - WordPiece vocabulary loading and lookup.
 *
 * Lookups happen for every candidate sub-word of every word, so token -> id
 * is an open-addressing hash table over the token bytes; the strings live in
 * one arena so loading the 31k-entry SciBERT vocab is one read and two passes.
 */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/files.h"
#include "text/vocab.h"

/* ids beyond this are refused: a vocab that sparse is a broken file, and the
 * id -> token array must stay small. */
#define SV_VOCAB_MAX_ID (1 << 24)

typedef struct vocab_entry {
    const char *token;
    uint32_t len;
    int32_t id;
} vocab_entry;

static uint32_t hash_bytes(const char *s, size_t len) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

/* Builds id_token/id_len and the hash table from entries (in file order, so
 * a repeated token ends up mapped to its last id, as a Python dict would). */
static int vocab_build(sv_vocab *v, const vocab_entry *entries, size_t n_entries,
                       const char *path) {
    int32_t max_id = -1;
    for (size_t i = 0; i < n_entries; i++)
        if (entries[i].id > max_id) max_id = entries[i].id;
    v->n_ids = max_id + 1;
    v->id_token = calloc(v->n_ids > 0 ? (size_t)v->n_ids : 1, sizeof *v->id_token);
    v->id_len = calloc(v->n_ids > 0 ? (size_t)v->n_ids : 1, sizeof *v->id_len);
    size_t n_slots = 16;
    while (n_slots < 2 * n_entries) n_slots *= 2;
    v->slots = malloc(n_slots * sizeof *v->slots);
    if (!v->id_token || !v->id_len || !v->slots)
        return sv_error(SCIVEC_ENOMEM, "%s: out of memory for the vocabulary", path);
    memset(v->slots, 0xff, n_slots * sizeof *v->slots); /* all -1 */
    v->slot_mask = (uint32_t)(n_slots - 1);
    v->max_token_bytes = 0;

    for (size_t i = 0; i < n_entries; i++) {
        const vocab_entry *e = &entries[i];
        v->id_token[e->id] = (char *)e->token;
        v->id_len[e->id] = e->len;
        if (e->len > v->max_token_bytes) v->max_token_bytes = e->len;
        uint32_t slot = hash_bytes(e->token, e->len) & v->slot_mask;
        for (;;) {
            int32_t id = v->slots[slot];
            if (id < 0) {
                v->slots[slot] = e->id;
                break;
            }
            if (v->id_len[id] == e->len && !memcmp(v->id_token[id], e->token, e->len) &&
                id != e->id) {
                /* A repeated token: the later line wins. */
                v->slots[slot] = e->id;
                break;
            }
            if (id == e->id) break;
            slot = (slot + 1) & v->slot_mask;
        }
    }
    return SCIVEC_OK;
}

int32_t sv_vocab_find(const sv_vocab *v, const char *s, size_t len) {
    if (!v->slots || len > v->max_token_bytes) return -1;
    uint32_t slot = hash_bytes(s, len) & v->slot_mask;
    for (;;) {
        int32_t id = v->slots[slot];
        if (id < 0) return -1;
        if (v->id_len[id] == len && !memcmp(v->id_token[id], s, len)) return id;
        slot = (slot + 1) & v->slot_mask;
    }
}

int sv_vocab_load_txt(const char *path, sv_vocab *v) {
    memset(v, 0, sizeof *v);
    size_t size;
    int status = sv_read_file(path, &v->arena, &size);
    if (status) return status;

    size_t n_lines = 1;
    for (size_t i = 0; i < size; i++)
        if (v->arena[i] == '\n' || v->arena[i] == '\r') n_lines++;
    if (n_lines >= SV_VOCAB_MAX_ID) {
        sv_vocab_free(v);
        return sv_error(SCIVEC_EFORMAT, "%s: too many lines for a vocabulary", path);
    }
    vocab_entry *entries = malloc(n_lines * sizeof *entries);
    if (!entries) {
        sv_vocab_free(v);
        return sv_error(SCIVEC_ENOMEM, "%s: out of memory", path);
    }
    /* Cut the buffer into NUL-terminated lines in place. A final line
     * without a terminator still counts; an empty remainder after the last
     * terminator does not (Python's readlines gives no such line). */
    size_t n_entries = 0, start = 0;
    for (size_t i = 0; i <= size; i++) {
        int at_end = (i == size);
        char c = at_end ? '\n' : v->arena[i];
        if (c != '\n' && c != '\r') continue;
        if (at_end && start == size) break;
        size_t len = i - start;
        if (!at_end) {
            v->arena[i] = '\0';
            if (c == '\r' && i + 1 < size && v->arena[i + 1] == '\n') i++;
        }
        entries[n_entries].token = v->arena + start;
        entries[n_entries].len = (uint32_t)len;
        entries[n_entries].id = (int32_t)n_entries;
        n_entries++;
        start = i + 1;
    }
    if (n_entries == 0) {
        free(entries);
        sv_vocab_free(v);
        return sv_error(SCIVEC_EFORMAT, "%s: empty vocabulary", path);
    }
    status = vocab_build(v, entries, n_entries, path);
    free(entries);
    if (status) sv_vocab_free(v);
    return status;
}

int sv_vocab_from_json(const cJSON *vocab_obj, const char *path, sv_vocab *v) {
    memset(v, 0, sizeof *v);
    if (!cJSON_IsObject(vocab_obj))
        return sv_error(SCIVEC_EFORMAT, "%s: model.vocab is not an object", path);
    size_t n_entries = 0, n_bytes = 0;
    for (const cJSON *item = vocab_obj->child; item; item = item->next) {
        if (!item->string) continue;
        if (!cJSON_IsNumber(item) || item->valuedouble < 0 ||
            item->valuedouble >= SV_VOCAB_MAX_ID ||
            item->valuedouble != (double)(int32_t)item->valuedouble)
            return sv_error(SCIVEC_EFORMAT, "%s: model.vocab[\"%.40s\"] is not a valid id", path,
                            item->string);
        n_entries++;
        n_bytes += strlen(item->string) + 1;
    }
    if (n_entries == 0) return sv_error(SCIVEC_EFORMAT, "%s: model.vocab is empty", path);
    vocab_entry *entries = malloc(n_entries * sizeof *entries);
    v->arena = malloc(n_bytes);
    if (!entries || !v->arena) {
        free(entries);
        sv_vocab_free(v);
        return sv_error(SCIVEC_ENOMEM, "%s: out of memory", path);
    }
    size_t i = 0, offset = 0;
    for (const cJSON *item = vocab_obj->child; item; item = item->next) {
        if (!item->string) continue;
        size_t len = strlen(item->string);
        memcpy(v->arena + offset, item->string, len + 1);
        entries[i].token = v->arena + offset;
        entries[i].len = (uint32_t)len;
        entries[i].id = (int32_t)item->valuedouble;
        offset += len + 1;
        i++;
    }
    int status = vocab_build(v, entries, n_entries, path);
    free(entries);
    if (status) sv_vocab_free(v);
    return status;
}

void sv_vocab_free(sv_vocab *v) {
    if (!v) return;
    free(v->id_token);
    free(v->id_len);
    free(v->slots);
    free(v->arena);
    memset(v, 0, sizeof *v);
}
