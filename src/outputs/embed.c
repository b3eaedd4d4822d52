/*
 * embed.c - the embed pipeline: read papers, decide which to keep, embed them
 * in batches streamed to disk, then build the database, the FAISS index and
 * metadata.json from what was written, and move everything into place.
 *
 *   pass 1  input -> kept texts -> model -> .scivec-work/embeddings.npy.partial
 *           (+ checkpoint.json after every batch: rows done, options)
 *   pass 2  input again (same decisions) + the npy rows -> papers.db
 *           the npy -> papers.index; the counts -> metadata.json
 *   commit  rename the four files into DIR (metadata.json last), drop the work dir
 *
 * Which records are kept depends only on the input, so both passes (and a
 * resumed run) agree on row numbers without keeping anything in memory but
 * the ids seen so far.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/error.h"
#include "core/files.h"
#include "outputs/embed.h"
#include "outputs/faiss_shim.h"
#include "hub/family.h"
#include "nn/model.h"
#include "outputs/fingerprint.h"
#include "outputs/index_build.h"
#include "core/l2norm.h"
#include "outputs/metadata.h"
#include "corpus/paper_fields.h"
#include "core/sha256.h"
#include "text/normalize.h"
#include "outputs/npy.h"
#include "outputs/outdir.h"
#include "outputs/paper_db.h"
#include "corpus/papers.h"
#include "corpus/shard.h"

#define WORK_DIR_NAME   ".scivec-work"
#define PARTIAL_NAME    "embeddings.npy.partial"
#define CHECKPOINT_NAME "checkpoint.json"

enum { DEFAULT_BATCH_TOKENS = 8192, MAX_BATCH_PAPERS = 4096, SPECTER2_MAX_LENGTH = 512 };

const char *sv_recipe_name(sv_recipe recipe) {
    switch (recipe) {
    case SV_RECIPE_ABSTRACT:       return "abstract";
    case SV_RECIPE_TITLE_ABSTRACT: return "title+abstract";
    case SV_RECIPE_SPECTER2:       return "specter2";
    }
    return "?";
}

int sv_recipe_parse(const char *name, sv_recipe *out) {
    if (!strcmp(name, "abstract")) *out = SV_RECIPE_ABSTRACT;
    else if (!strcmp(name, "title+abstract")) *out = SV_RECIPE_TITLE_ABSTRACT;
    else if (!strcmp(name, "specter2")) *out = SV_RECIPE_SPECTER2;
    else return sv_error(SCIVEC_EINVAL, "unknown text recipe '%s' (abstract, title+abstract, specter2)", name);
    return SCIVEC_OK;
}

sv_embed_params sv_embed_default_params(void) {
    sv_embed_params p;
    memset(&p, 0, sizeof p);
    p.recipe = SV_RECIPE_ABSTRACT;
    p.pooling = SCIVEC_POOL_DEFAULT;
    p.normalize = 1;
    p.batch_tokens = DEFAULT_BATCH_TOKENS;
    p.precision = SCIVEC_PRECISION_FP32;
    p.precision_min_cosine = SV_PRECISION_MIN_COSINE;
    p.precision_min_overlap = SV_PRECISION_MIN_OVERLAP;
    return p;
}

/* ------------------------------------------------------------------------ */
/* The set of paper ids seen (open addressing, FNV-1a)                       */

typedef struct {
    char  **slots;
    size_t  cap, count;
} id_set;

static uint64_t hash_id(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* 1 if added, 0 if already there, SCIVEC_ENOMEM. */
static int id_set_add(id_set *set, const char *id) {
    if (set->count * 2 >= set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 1024;
        char **slots = calloc(cap, sizeof *slots);
        if (!slots) return SCIVEC_ENOMEM;
        for (size_t i = 0; i < set->cap; i++) {
            if (!set->slots[i]) continue;
            size_t j = hash_id(set->slots[i]) & (cap - 1);
            while (slots[j]) j = (j + 1) & (cap - 1);
            slots[j] = set->slots[i];
        }
        free(set->slots);
        set->slots = slots;
        set->cap = cap;
    }
    size_t j = hash_id(id) & (set->cap - 1);
    for (; set->slots[j]; j = (j + 1) & (set->cap - 1))
        if (!strcmp(set->slots[j], id)) return 0;
    if (!(set->slots[j] = strdup(id))) return SCIVEC_ENOMEM;
    set->count++;
    return 1;
}

static void id_set_free(id_set *set) {
    for (size_t i = 0; i < set->cap; i++) free(set->slots[i]);
    free(set->slots);
    memset(set, 0, sizeof *set);
}

/* ------------------------------------------------------------------------ */
/* Reading papers and deciding which to keep                                 */

/* OTHER_SHARD: the record belongs to another shard of --shard K/N; it is
 * neither kept nor counted here (that shard counts it). */
typedef enum { PAPER_END, PAPER_KEPT, SKIP_EMPTY, SKIP_MALFORMED, SKIP_DUPLICATE, SKIP_WRONG_TYPE,
               OTHER_SHARD } verdict;

typedef struct {
    sv_papers *papers;
    sv_recipe  recipe;
    int        id_col, text_col, title_col;   /* title_col -1: none */
    int        shard_k, shard_n;              /* shard_n 0: the whole input */
    int      (*skip_id)(const char *paper_id, const char *text, void *skip_user);
    void      *skip_user;
    id_set     seen;
    /* the current record */
    const char *const *fields;
    const size_t *lens;
    char      *text;            /* the text to embed (kept records)        */
    char      *id_fixed;        /* the id made valid UTF-8, when it was not */
    char       why[512];        /* why it was skipped                      */
} paper_source;

static int has_text(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r' && s[i] != '\f' && s[i] != '\v' &&
            s[i] != '\0')
            return 1;
    return 0;
}

/* The text a recipe makes of a paper, or NULL (and no error) when empty. */
static int make_text(sv_recipe recipe, const char *title, size_t title_len,
                     const char *abstract, size_t abstract_len, char **out) {
    *out = NULL;
    int has_title = title && has_text(title, title_len);
    int has_abstract = has_text(abstract, abstract_len);
    const char *sep = NULL;
    if (recipe == SV_RECIPE_ABSTRACT) {
        if (!has_abstract) return SCIVEC_OK;
        title_len = 0;
    } else if (recipe == SV_RECIPE_TITLE_ABSTRACT) {
        if (!has_title && !has_abstract) return SCIVEC_OK;
        if (!has_title) title_len = 0;
        else if (!has_abstract) abstract_len = 0;
        else sep = " ";
    } else {
        /* SPECTER2: title + tokenizer.sep_token + abstract, the title alone
         * when there is no abstract. */
        if (!has_title && !has_abstract) return SCIVEC_OK;
        if (!has_abstract) abstract_len = 0;
        else sep = "[SEP]";
        if (!title) title_len = 0;
    }
    size_t sep_len = sep ? strlen(sep) : 0;
    char *text = malloc(title_len + sep_len + abstract_len + 1);
    if (!text) return SCIVEC_ENOMEM;
    /* NUL bytes are dropped, as HF's BERT tokenizers drop U+0000: the text
     * goes on as a C string, which a NUL would cut short. */
    size_t n = 0;
    for (size_t i = 0; i < title_len; i++) if (title[i]) text[n++] = title[i];
    if (sep_len) { memcpy(text + n, sep, sep_len); n += sep_len; }
    for (size_t i = 0; i < abstract_len; i++) if (abstract[i]) text[n++] = abstract[i];
    text[n] = '\0';
    *out = text;
    return SCIVEC_OK;
}

static int resolve_column(const sv_papers *p, const char *given, const char *fallback1,
                          const char *fallback2, const char *what, int required, int *col) {
    *col = -1;
    if (given) {
        *col = sv_papers_column_index(p, given);
        if (*col < 0) return sv_error(SCIVEC_EINVAL, "no %s column '%s' in the input", what, given);
        return SCIVEC_OK;
    }
    *col = sv_papers_column_index(p, fallback1);
    if (*col < 0 && fallback2) *col = sv_papers_column_index(p, fallback2);
    if (*col < 0 && required) {
        if (fallback2)
            return sv_error(SCIVEC_EINVAL, "no %s column ('%s' or '%s') in the input; name one with --%s-column",
                            what, fallback1, fallback2, what);
        return sv_error(SCIVEC_EINVAL, "no %s column '%s' in the input; name one with --%s-column",
                        what, fallback1, what);
    }
    return SCIVEC_OK;
}

static int source_open(paper_source *src, const sv_embed_params *params) {
    memset(src, 0, sizeof *src);
    src->recipe = params->recipe;
    src->shard_k = params->shard_k;
    src->shard_n = params->shard_n;
    src->skip_id = params->skip_id;
    src->skip_user = params->skip_user;
    int rc = sv_papers_open(params->input, &src->papers);
    if (rc) return rc;
    int needs_title = params->recipe != SV_RECIPE_ABSTRACT;
    if ((rc = resolve_column(src->papers, params->id_column, "paper_id", "id", "id", 1, &src->id_col)) ||
        (rc = resolve_column(src->papers, params->text_column, "abstract", NULL, "text", 1, &src->text_col)) ||
        (rc = resolve_column(src->papers, params->title_column, "title", NULL, "title", needs_title,
                             &src->title_col)))
        return sv_error_prefix(rc, "%s", params->input);
    return SCIVEC_OK;
}

static void source_close(paper_source *src) {
    sv_papers_close(src->papers);
    id_set_free(&src->seen);
    free(src->text);
    free(src->id_fixed);
    memset(src, 0, sizeof *src);
}

/* Reads the next record and decides: *v says what became of it. Returns
 * SCIVEC_OK or a fatal status. make_texts = 0 skips building the text. */
/* JSON Lines: a value that is not text where text is needed. The id may
 * be a number (its JSON text); the texts must be strings. */
static int wrong_type(paper_source *src, long line) {
    const struct { int col; const char *what; int number_ok; } used[] = {
        {src->id_col, "the paper id", 1}, {src->text_col, "the text", 0}, {src->title_col, "the title", 0},
    };
    for (size_t i = 0; i < SV_ARRAY_LEN(used); i++) {
        const char *type = used[i].col >= 0 ? sv_papers_field_json_type(src->papers, used[i].col) : NULL;
        if (!type || (used[i].number_ok && !strcmp(type, "number"))) continue;
        snprintf(src->why, sizeof src->why, "line %ld: %s ('%s') is a JSON %s, not a string", line,
                 used[i].what, sv_papers_column_name(src->papers, used[i].col), type);
        return 1;
    }
    return 0;
}

static int source_next(paper_source *src, int make_texts, verdict *v) {
    free(src->text);
    src->text = NULL;
    free(src->id_fixed);
    src->id_fixed = NULL;
    src->why[0] = '\0';
    int rc = sv_papers_next(src->papers, &src->fields, &src->lens);
    if (rc == 0) { *v = PAPER_END; return SCIVEC_OK; }
    /* A record without a usable id has no shard: shard 0 counts it, so
     * that the shards' counts add up to a single run's. */
    if (rc == SCIVEC_EFORMAT) {
        snprintf(src->why, sizeof src->why, "%s", scivec_last_error());
        *v = src->shard_n && src->shard_k ? OTHER_SHARD : SKIP_MALFORMED;
        return SCIVEC_OK;
    }
    if (rc != 1) return rc;

    long line = sv_papers_record_line(src->papers);
    /* JSONL records may lack a key the first one had, or the column may have
     * appeared later: treat absent as empty. */
    int n_cols = sv_papers_n_columns(src->papers);
    const char *id = src->id_col < n_cols ? src->fields[src->id_col] : "";
    size_t id_len = src->id_col < n_cols ? src->lens[src->id_col] : 0;
    if (!has_text(id, id_len) || strlen(id) != id_len) {
        snprintf(src->why, sizeof src->why, "line %ld: %s", line,
                 strlen(id) != id_len ? "the paper id holds a NUL byte" : "no paper id");
        *v = src->shard_n && src->shard_k ? OTHER_SHARD : SKIP_MALFORMED;
        return SCIVEC_OK;
    }
    if (src->shard_n && sv_shard_of(id, src->shard_n) != src->shard_k) {
        *v = OTHER_SHARD;
        return SCIVEC_OK;
    }
    if (wrong_type(src, line)) { *v = SKIP_WRONG_TYPE; return SCIVEC_OK; }
    /* Ids are compared and stored as valid UTF-8 (papers.db holds nothing
     * else), so two ids that differ only in invalid bytes are duplicates. */
    size_t fixed_len;
    int repaired = sv_utf8_repair(id, id_len, &src->id_fixed, &fixed_len);
    if (repaired < 0) return sv_error(SCIVEC_ENOMEM, "out of memory");
    if (repaired) id = src->id_fixed;
    const char *title = src->title_col >= 0 ? src->fields[src->title_col] : NULL;
    size_t title_len = src->title_col >= 0 ? src->lens[src->title_col] : 0;
    const char *abstract = src->fields[src->text_col];
    size_t abstract_len = src->lens[src->text_col];
    /* Whether the text is empty does not depend on building it. */
    char *text = NULL;
    rc = make_text(src->recipe, title, title_len, abstract, abstract_len, &text);
    if (rc) return sv_error(rc, "out of memory");
    if (!text) {
        snprintf(src->why, sizeof src->why, "line %ld: paper %.100s has no text", line, id);
        *v = SKIP_EMPTY;
        return SCIVEC_OK;
    }
    int in_folder = src->skip_id && src->skip_id(id, text, src->skip_user);
    rc = in_folder ? 0 : id_set_add(&src->seen, id);
    if (rc < 0) { free(text); return sv_error(SCIVEC_ENOMEM, "out of memory"); }
    if (rc == 0) {
        free(text);
        if (in_folder) snprintf(src->why, sizeof src->why, "line %ld: paper %.100s is already in the folder", line, id);
        else snprintf(src->why, sizeof src->why, "line %ld: duplicate paper id %.100s (the first is kept)", line, id);
        *v = SKIP_DUPLICATE;
        return SCIVEC_OK;
    }
    if (make_texts) src->text = text;
    else free(text);
    *v = PAPER_KEPT;
    return SCIVEC_OK;
}

static const char *source_id(const paper_source *src) {
    return src->id_fixed ? src->id_fixed : src->fields[src->id_col];
}

/* ------------------------------------------------------------------------ */
/* Files and the work directory                                              */

typedef struct {
    char *out_dir, *work_dir;
    char *partial, *checkpoint, *checkpoint_tmp;
    char *db_tmp, *index_tmp, *metadata_tmp;
    char *npy_final, *db_final, *index_final, *metadata_final;
} paths;

static int paths_init(paths *p, const char *out_dir) {
    memset(p, 0, sizeof *p);
    p->out_dir = strdup(out_dir);
    p->work_dir = sv_path_join(out_dir, WORK_DIR_NAME);
    if (!p->out_dir || !p->work_dir) return SCIVEC_ENOMEM;
    p->partial = sv_path_join(p->work_dir, PARTIAL_NAME);
    p->checkpoint = sv_path_join(p->work_dir, CHECKPOINT_NAME);
    p->checkpoint_tmp = sv_path_join(p->work_dir, CHECKPOINT_NAME ".tmp");
    p->db_tmp = sv_path_join(p->work_dir, "papers.db");
    p->index_tmp = sv_path_join(p->work_dir, "papers.index");
    p->metadata_tmp = sv_path_join(p->work_dir, "metadata.json");
    p->npy_final = sv_path_join(out_dir, "embeddings.npy");
    p->db_final = sv_path_join(out_dir, "papers.db");
    p->index_final = sv_path_join(out_dir, "papers.index");
    p->metadata_final = sv_path_join(out_dir, "metadata.json");
    if (!p->partial || !p->checkpoint || !p->checkpoint_tmp || !p->db_tmp || !p->index_tmp ||
        !p->metadata_tmp || !p->npy_final || !p->db_final || !p->index_final || !p->metadata_final)
        return SCIVEC_ENOMEM;
    return SCIVEC_OK;
}

static void paths_free(paths *p) {
    char **all[] = {&p->out_dir, &p->work_dir, &p->partial, &p->checkpoint, &p->checkpoint_tmp,
                    &p->db_tmp, &p->index_tmp, &p->metadata_tmp, &p->npy_final, &p->db_final,
                    &p->index_final, &p->metadata_final};
    for (size_t i = 0; i < SV_ARRAY_LEN(all); i++) { free(*all[i]); *all[i] = NULL; }
}

/* The checkpoint goes last: a work dir that still has one can always be
 * resumed, one without it holds nothing worth keeping. */
static void remove_work_dir(const paths *p) {
    const char *files[] = {p->partial, p->checkpoint_tmp, p->db_tmp, p->index_tmp, p->metadata_tmp};
    for (size_t i = 0; i < SV_ARRAY_LEN(files); i++) unlink(files[i]);
    char *journal = sv_path_join(p->work_dir, "papers.db-journal");
    if (journal) { unlink(journal); free(journal); }
    unlink(p->checkpoint);
    rmdir(p->work_dir);
}

/* ------------------------------------------------------------------------ */
/* Options recorded in the checkpoint: a resumed run must match them all.    */
/* "fingerprint" is what decides a vector (fingerprint.h); the rest is what  */
/* a resume needs on top of it: the same input, and the same batches.        */

static void add_file_identity(cJSON *obj, const char *prefix, const char *path) {
    char key[64], resolved[PATH_MAX];
    struct stat st;
    snprintf(key, sizeof key, "%s", prefix);
    cJSON_AddStringToObject(obj, key, realpath(path, resolved) ? resolved : path);
    if (stat(path, &st) == 0) {
        snprintf(key, sizeof key, "%s_size", prefix);
        cJSON_AddNumberToObject(obj, key, (double)st.st_size);
        snprintf(key, sizeof key, "%s_mtime", prefix);
        cJSON_AddNumberToObject(obj, key, (double)st.st_mtime);
    }
}

typedef struct {
    scivec_pooling pooling;
    const char    *pooling_reason;
    int            max_length;
    const char    *id_column, *text_column, *title_column;
    /* sentence-transformers prompts (name, text; NULL = none) for papers and queries */
    const char    *paper_prompt, *paper_prompt_text, *query_prompt, *query_prompt_text;
} resolved_options;

/* Builds the run's fingerprint: hashes every model and adapter file read. */
static int make_fingerprint(const sv_embed_params *params, const resolved_options *r,
                            const scivec_model *model, int adapter_id, cJSON **out) {
    sv_fingerprint_inputs in = {
        .model_dir = scivec_model_dir(model),
        .weights_path = scivec_model_weights_path(model),
        .adapter_dir = adapter_id ? scivec_model_adapter_dir(model, adapter_id) : NULL,
        .adapter_name = adapter_id ? scivec_model_adapter_name(model, adapter_id) : NULL,
        .recipe = sv_recipe_name(params->recipe),
        .pooling = scivec_pooling_name(r->pooling),
        .normalize = params->normalize,
        .max_length = r->max_length,
        .id_column = r->id_column, .text_column = r->text_column, .title_column = r->title_column,
        .precision = scivec_precision_name(scivec_model_precision(model)),
        .prompt = r->paper_prompt_text,
    };
    return sv_fingerprint_make(&in, out);
}

static cJSON *make_options(const sv_embed_params *params, const cJSON *fingerprint,
                           const scivec_model *model) {
    cJSON *o = cJSON_CreateObject();
    cJSON *fp = cJSON_Duplicate(fingerprint, 1);
    if (!o || !fp) { cJSON_Delete(o); cJSON_Delete(fp); return NULL; }
    cJSON_AddItemToObject(o, "fingerprint", fp);
    add_file_identity(o, "input", params->input);
    cJSON_AddBoolToObject(o, "truncate_error", params->truncate_error);
    /* Batches decide which texts share a forward pass: keep them identical so
     * the resumed file is byte-identical. */
    cJSON_AddNumberToObject(o, "batch_tokens", params->batch_tokens);
    cJSON_AddNumberToObject(o, "threads", params->n_threads);
    cJSON_AddNumberToObject(o, "dim", scivec_model_dim(model));
    if (params->shard_n) {
        char shard[32];
        snprintf(shard, sizeof shard, "%d/%d", params->shard_k, params->shard_n);
        cJSON_AddStringToObject(o, "shard", shard);
    }
    return o;
}

static int write_checkpoint(const paths *p, const cJSON *options, int64_t rows_done,
                            int64_t n_truncated) {
    cJSON *root = cJSON_CreateObject();
    cJSON *copy = cJSON_Duplicate(options, 1);
    if (!root || !copy) { cJSON_Delete(root); cJSON_Delete(copy); return sv_error(SCIVEC_ENOMEM, "out of memory"); }
    cJSON_AddNumberToObject(root, "version", 2);
    cJSON_AddNumberToObject(root, "rows_done", (double)rows_done);
    cJSON_AddNumberToObject(root, "n_truncated", (double)n_truncated);
    cJSON_AddItemToObject(root, "options", copy);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) return sv_error(SCIVEC_ENOMEM, "out of memory");
    FILE *f = fopen(p->checkpoint_tmp, "wb");
    int ok = f && fputs(text, f) != EOF && fflush(f) == 0 && fsync(fileno(f)) == 0;
    if (f && fclose(f) != 0) ok = 0;
    cJSON_free(text);
    if (!ok || rename(p->checkpoint_tmp, p->checkpoint) != 0)
        return sv_error(SCIVEC_EIO, "%s: writing the checkpoint: %s", p->checkpoint, strerror(errno));
    return SCIVEC_OK;
}

/* Reads the checkpoint of an interrupted run and checks its options are ours. */
static int read_checkpoint(const paths *p, const cJSON *options, int64_t *rows_done,
                           int64_t *n_truncated) {
    char *text = NULL;
    int rc = sv_read_file(p->checkpoint, &text, NULL);
    if (rc) return sv_error_prefix(rc, "cannot resume");
    cJSON *root = cJSON_Parse(text);
    free(text);
    const cJSON *saved = cJSON_GetObjectItemCaseSensitive(root, "options");
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(root, "rows_done");
    const cJSON *truncated = cJSON_GetObjectItemCaseSensitive(root, "n_truncated");
    if (!cJSON_IsObject(saved) || !cJSON_IsNumber(rows) || rows->valuedouble < 0 ||
        rows->valuedouble != floor(rows->valuedouble) || !cJSON_IsNumber(truncated) ||
        truncated->valuedouble < 0) {
        cJSON_Delete(root);
        return sv_error(SCIVEC_EFORMAT, "%s: malformed checkpoint; --restart starts over",
                        p->checkpoint);
    }
    /* What decides a vector first: a mismatch there names every change. */
    rc = sv_fingerprint_check(cJSON_GetObjectItemCaseSensitive(saved, "fingerprint"),
                              cJSON_GetObjectItemCaseSensitive(options, "fingerprint"), "cannot resume");
    if (rc) {
        char why[1024];
        snprintf(why, sizeof why, "%s", scivec_last_error());
        rc = sv_error(rc, "%s (the %lld papers embedded would not match the rest; --restart "
                      "starts over)", why, (long long)rows->valuedouble);
    }
    for (const cJSON *want = options->child; want && !rc; want = want->next) {
        if (!strcmp(want->string, "fingerprint")) continue;
        const cJSON *had = cJSON_GetObjectItemCaseSensitive(saved, want->string);
        char *a = cJSON_PrintUnformatted(want), *b = had ? cJSON_PrintUnformatted(had) : NULL;
        if (!a || !b || strcmp(a, b) != 0)
            rc = sv_error(SCIVEC_EINVAL,
                          "cannot resume: %s was %s in the interrupted run, now %s (same options "
                          "and input needed; --restart starts over)",
                          want->string, b ? b : "absent", a ? a : "?");
        cJSON_free(a);
        cJSON_free(b);
    }
    *rows_done = (int64_t)rows->valuedouble;
    *n_truncated = (int64_t)truncated->valuedouble;
    cJSON_Delete(root);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Pass 1: embedding in batches                                              */

typedef struct {
    char  **texts;
    char  **ids;
    long   *lines;
    int     n, cap;
    int64_t est_tokens;
} batch;

static void batch_clear(batch *b) {
    for (int i = 0; i < b->n; i++) { free(b->texts[i]); free(b->ids[i]); }
    b->n = 0;
    b->est_tokens = 0;
}

static void batch_free(batch *b) {
    batch_clear(b);
    free(b->texts);
    free(b->ids);
    free(b->lines);
    memset(b, 0, sizeof *b);
}

static int batch_push(batch *b, char *text, const char *id, long line, int max_length) {
    if (b->n == b->cap) {
        int cap = b->cap ? b->cap * 2 : 64;
        char **texts = realloc(b->texts, (size_t)cap * sizeof *texts);
        if (!texts) return SCIVEC_ENOMEM;
        b->texts = texts;
        char **ids = realloc(b->ids, (size_t)cap * sizeof *ids);
        if (!ids) return SCIVEC_ENOMEM;
        b->ids = ids;
        long *lines = realloc(b->lines, (size_t)cap * sizeof *lines);
        if (!lines) return SCIVEC_ENOMEM;
        b->lines = lines;
        b->cap = cap;
    }
    char *id_copy = strdup(id);
    if (!id_copy) return SCIVEC_ENOMEM;
    b->texts[b->n] = text;
    b->ids[b->n] = id_copy;
    b->lines[b->n] = line;
    b->n++;
    /* A rough token count (about 4 bytes a WordPiece token in English
     * science text) only decides where batches end: it depends on the text
     * alone, so batches are cut at the same papers in every run. */
    int64_t est = (int64_t)strlen(text) / 4 + 2;
    b->est_tokens += est < max_length ? est : max_length;
    return SCIVEC_OK;
}

/* Names the paper that --truncate error refused. */
static int name_too_long(scivec_model *model, const batch *b, int max_length) {
    const scivec_tokenizer *tok = scivec_model_tokenizer(model);
    for (int i = 0; i < b->n; i++) {
        scivec_encoding enc = {0};
        if (scivec_tokenize(tok, b->texts[i], strlen(b->texts[i]), NULL, 0, max_length, &enc) != SCIVEC_OK)
            continue;
        int n = enc.n_tokens_untruncated;
        scivec_encoding_clear(&enc);
        if (n > max_length)
            return sv_error(SCIVEC_ETOOLONG,
                            "line %ld: paper %s has %d tokens, more than the maximum %d "
                            "(--truncate error; the default cuts it)", b->lines[i], b->ids[i], n, max_length);
    }
    return SCIVEC_ETOOLONG;   /* the model's own message stands */
}

typedef struct {
    scivec_model         *model;
    scivec_encode_params  encode;
    sv_npy_writer        *npy;
    float                *vectors;     /* [MAX_BATCH_PAPERS, dim] */
    int                   dim;
    scivec_encode_stats   stats;
} embedder;

static int embed_batch(embedder *e, batch *b) {
    if (b->n == 0) return SCIVEC_OK;
    int rc = scivec_model_encode_texts(e->model, &e->encode, b->n, (const char *const *)b->texts,
                                       NULL, e->vectors, &e->stats);
    if (rc == SCIVEC_ETOOLONG) return name_too_long(e->model, b, e->encode.max_length);
    if (rc) return sv_error_prefix(rc, "embedding papers %s..%s", b->ids[0], b->ids[b->n - 1]);
    rc = sv_npy_writer_append(e->npy, e->vectors, b->n);
    batch_clear(b);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Pass 2: the database, the index, metadata.json                            */

static int stop_requested(const sv_embed_params *params) {
    return params->stop && *params->stop;
}

static int interrupted(sv_embed_result *res, int64_t rows_saved) {
    res->interrupted = 1;
    return sv_error(SCIVEC_EIO, "interrupted with %lld papers embedded and saved; run the same "
                    "command with --resume to continue", (long long)rows_saved);
}

static int build_db(const sv_embed_params *params, const paths *p, int dim, int64_t n_rows,
                    sv_embed_result *res) {
    paper_source src;
    sv_paper_db *db = NULL;
    FILE *npy = NULL;
    float *row_vec = malloc((size_t)dim * sizeof *row_vec);
    char *categories = NULL;
    if (!row_vec) return sv_error(SCIVEC_ENOMEM, "out of memory");
    int rc = source_open(&src, params);
    if (rc) { source_close(&src); free(row_vec); return rc; }
    if (!(npy = fopen(p->partial, "rb")) || fseek(npy, 128, SEEK_SET) != 0)
        rc = sv_error(SCIVEC_EIO, "%s: %s", p->partial, strerror(errno));
    if (!rc) rc = sv_paper_db_create(p->db_tmp, &db);

    const sv_papers *papers = src.papers;
    int categories_col = sv_papers_column_index(papers, "categories");
    int year_col = sv_papers_column_index(papers, "year");
    int64_t row = 0;
    while (!rc) {
        verdict v;
        if ((rc = source_next(&src, 1, &v))) break;
        if (v == PAPER_END) break;
        if (v != PAPER_KEPT) continue;
        /* The record's place in the input orders merged shards as one run
         * orders them; the text's hash tells `add --update` what changed. */
        int64_t record = params->record_base + sv_papers_records_read(papers) - 1;
        uint8_t digest[32];
        char text_sha256[65];
        sv_sha256(src.text, strlen(src.text), digest);
        for (int i = 0; i < 32; i++) snprintf(text_sha256 + 2 * i, 3, "%02x", digest[i]);
        /* A signal stops this pass too (it may take minutes); --resume redoes it. */
        if ((row & 1023) == 1023 && stop_requested(params)) { rc = interrupted(res, n_rows); break; }
        if (row >= n_rows) {
            rc = sv_error(SCIVEC_EFORMAT, "%s: more papers to keep than the %lld embedded: did the input change?",
                          params->input, (long long)n_rows);
            break;
        }
        if (fread(row_vec, sizeof(float), (size_t)dim, npy) != (size_t)dim) {
            rc = sv_error(SCIVEC_EIO, "%s: short read at row %lld", p->partial, (long long)row);
            break;
        }
        int n_cols = sv_papers_n_columns(papers);
        const char *const *f = src.fields;
        const size_t *l = src.lens;
        free(categories);
        categories = NULL;
        if (categories_col >= 0 && categories_col < n_cols &&
            (rc = sv_normalize_categories(f[categories_col], l[categories_col], &categories)))
            break;
        /* The submission year: a year column, the publication date, the first
         * version's date; the last update's date only after those. */
        int year = 0;
        if (year_col >= 0 && year_col < n_cols) year = sv_year_in_text(f[year_col], l[year_col]);
        int published_col = sv_papers_column_index(papers, "published");
        if (!year && published_col >= 0 && published_col < n_cols)
            year = sv_year_in_text(f[published_col], l[published_col]);
        int versions_col = sv_papers_column_index(papers, "versions");
        if (!year && versions_col >= 0 && versions_col < n_cols)
            year = sv_year_from_versions(f[versions_col], l[versions_col]);
        int updated_col = sv_papers_column_index(papers, "update_date");
        if (!year && updated_col >= 0 && updated_col < n_cols)
            year = sv_year_in_text(f[updated_col], l[updated_col]);
        if (!year) year = sv_year_from_arxiv_id(source_id(&src), strlen(source_id(&src)));

        const char *names[1024];
        const char *const *column_names = names;
        const char **dyn_names = NULL;
        if (n_cols > (int)SV_ARRAY_LEN(names)) {
            if (!(dyn_names = malloc((size_t)n_cols * sizeof *dyn_names))) { rc = sv_error(SCIVEC_ENOMEM, "out of memory"); break; }
            column_names = dyn_names;
        }
        for (int i = 0; i < n_cols; i++)
            (dyn_names ? dyn_names : names)[i] = sv_papers_column_name(papers, i);
        sv_paper_row paper = {
            .row = row,
            .paper_id = source_id(&src),
            .title = src.title_col >= 0 && src.title_col < n_cols ? f[src.title_col] : NULL,
            .title_len = src.title_col >= 0 && src.title_col < n_cols ? l[src.title_col] : 0,
            .categories = categories,
            .year = year,
            .embedding = params->db_vectors ? row_vec : NULL,
            .dim = dim,
            .n_columns = n_cols,
            .column_names = column_names,
            .values = f,
            .value_lens = l,
            .record = record,
            .text_sha256 = text_sha256,
        };
        rc = sv_paper_db_add(db, &paper);
        free(dyn_names);
        row++;
    }
    if (!rc && row != n_rows)
        rc = sv_error(SCIVEC_EFORMAT, "%s: %lld papers to keep but %lld embedded: did the input change?",
                      params->input, (long long)row, (long long)n_rows);
    res->n_utf8_repaired = sv_paper_db_n_repaired(db);
    if (!rc) { rc = sv_paper_db_finish(db); db = NULL; }
    sv_paper_db_abort(db);
    if (npy) fclose(npy);
    free(categories);
    free(row_vec);
    source_close(&src);
    return rc;
}

static int build_index(const sv_embed_params *params, const paths *p, int dim, int64_t n_rows,
                       sv_index_built *built) {
    sv_index_build_params bp = {
        .factory = params->index_factory, .n_threads = params->n_threads,
        .normalized = params->normalize, .progress = params->index_progress, .user = params->user,
    };
    return sv_index_build_from_npy(p->partial, n_rows, dim, &bp, p->index_tmp, built);
}

/* The input is read more than once (embedding, then the database; a count
 * for progress and index checks), which a pipe or stdin cannot be. */
static int check_regular_file(const char *input) {
    struct stat st;
    if (!strcmp(input, "-"))
        return sv_error(SCIVEC_EINVAL, "INPUT '-': reading papers from stdin is not supported: the input "
                        "is read more than once, so it must be a regular file (save it first: "
                        "cat > papers.jsonl)");
    if (stat(input, &st) != 0)
        return sv_error(errno == ENOENT ? SCIVEC_ENOTFOUND : SCIVEC_EIO, "%s: %s", input, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return sv_error(SCIVEC_EINVAL, "%s is %s, not a regular file: the input is read more than once, "
                        "so save it to a file first (cat > papers.jsonl)", input,
                        S_ISFIFO(st.st_mode) ? "a pipe" : S_ISDIR(st.st_mode) ? "a directory"
                        : S_ISCHR(st.st_mode) ? "a character device" : S_ISSOCK(st.st_mode) ? "a socket"
                        : "a special file");
    return SCIVEC_OK;
}

/* Papers the input has to embed: a pass that only decides (no texts). */
static int count_kept(const sv_embed_params *params, int64_t *kept) {
    paper_source src;
    *kept = 0;
    int rc = source_open(&src, params);
    while (!rc) {
        verdict v;
        if ((rc = source_next(&src, 0, &v)) || v == PAPER_END) break;
        if (v == PAPER_KEPT) ++*kept;
    }
    source_close(&src);
    return rc;
}

/* Refuses, before anything is embedded, an index FAISS cannot create for
 * this dimension (a typo, PQ m not dividing it, ...) or one whose training
 * needs more vectors than the input has papers (IVF lists, PQ codes). */
static int check_index_factory(const sv_embed_params *params, int dim) {
    const char *factory = params->index_factory ? params->index_factory : "Flat";
    int64_t need = 0, kept = 0;
    int rc = sv_index_check(factory, dim, -1, NULL, &need);
    if (rc || need == 0) return rc;
    if ((rc = count_kept(params, &kept))) return rc;
    char source[512];
    snprintf(source, sizeof source, "%s (papers to embed)", params->input);
    return sv_index_check(factory, dim, kept, source, &need);
}

/* ------------------------------------------------------------------------ */
/* Adapters                                                                  */

static int is_none(const char *ref) { return ref && strcmp(ref, "none") == 0; }

/* An adapter the recipe implies could not be had: one line saying what to run.
 * Only a missing file or an unreachable hub gets this; a broken or
 * mismatched adapter keeps its own message. */
static int implied_adapter_error(int rc, const sv_family *family, const char *ref,
                                 const char *role) {
    if (rc != SCIVEC_ENOTFOUND && rc != SCIVEC_EIO)
        return sv_error_prefix(rc, "recipe specter2, %s adapter", role);
    char reason[512];
    snprintf(reason, sizeof reason, "%s", scivec_last_error());
    return sv_error(rc, "recipe specter2 with %s needs the %s adapter %s, which is neither in "
                    "the HF cache nor downloadable now: run `scivec fetch %s && scivec fetch %s` "
                    "where the hub is reachable, or pass --adapter none for base-model vectors "
                    "(%s)", family->base, role, ref, family->papers, family->queries, reason);
}

/* Adds the papers' and the queries' adapters to the model: ids in *paper_id
 * and *query_id (0 = none), the refs used in *paper_ref / *query_ref.
 * Recipe specter2 with a base model of the family table (family.h) and no
 * --adapter uses the family's papers and queries adapters, downloading them
 * when missing (unless offline); it never falls back to base vectors. */
static int add_adapters(const sv_embed_params *params, scivec_model *model, sv_embed_result *res,
                        int *paper_id, int *query_id, const char **paper_ref,
                        const char **query_ref) {
    *paper_id = *query_id = 0;
    *paper_ref = *query_ref = NULL;
    const sv_family *family = params->recipe == SV_RECIPE_SPECTER2
                            ? sv_family_of_base(sv_model_repo_id(model)) : NULL;
    const char *ref = params->adapter;
    const char *query = params->query_adapter;
    int implied = 0;
    if (is_none(ref)) {
        snprintf(res->adapter_note, sizeof res->adapter_note, "none (--adapter none)");
        ref = NULL;
    } else if (ref) {
        snprintf(res->adapter_note, sizeof res->adapter_note, "--adapter");
    } else if (family) {
        // SPECTER2 embeds papers through proximity, queries through adhoc_query
        ref = family->papers;
        implied = 1;
        snprintf(res->adapter_note, sizeof res->adapter_note, "recipe specter2: %s (papers) "
                 "for %s", family->papers, family->base);
    } else if (params->recipe == SV_RECIPE_SPECTER2) {
        snprintf(res->adapter_note, sizeof res->adapter_note, "none: %s is not a base model of "
                 "the adapter family table (docs/ADAPTERS.md); pass --adapter for one",
                 params->model);
    } else {
        snprintf(res->adapter_note, sizeof res->adapter_note, "none (no --adapter)");
    }
    // the family's query adapter goes with its papers' adapter, given or implied
    int query_implied = !query && family && ref && !strcmp(ref, family->papers);
    if (query_implied) query = family->queries;
    int rc = SCIVEC_OK;
    if (ref) {
        rc = scivec_model_add_adapter(model, ref, paper_id);
        if (rc) return implied ? implied_adapter_error(rc, family, ref, "papers")
                               : sv_error_prefix(rc, "--adapter");
        *paper_ref = ref;
        snprintf(res->adapter, sizeof res->adapter, "%s", scivec_model_adapter_name(model, *paper_id));
    }
    if (query && !is_none(query)) {
        // loaded now only to refuse a broken one before hours of embedding
        rc = scivec_model_add_adapter(model, query, query_id);
        if (rc) return query_implied ? implied_adapter_error(rc, family, query, "queries")
                                     : sv_error_prefix(rc, "--query-adapter");
        *query_ref = query;
        snprintf(res->query_adapter, sizeof res->query_adapter, "%s (%s)",
                 scivec_model_adapter_name(model, *query_id), query);
    }
    return SCIVEC_OK;
}

/* Records the papers' adapter in the checkpoint options: a resumed run must use the same. */
static int add_adapter_option(cJSON *options, const scivec_model *model, int adapter_id) {
    cJSON *a = adapter_id ? cJSON_CreateObject() : cJSON_CreateNull();
    if (!a) return sv_error(SCIVEC_ENOMEM, "out of memory");
    if (adapter_id) {
        char resolved[PATH_MAX];
        const char *dir = scivec_model_adapter_dir(model, adapter_id);
        cJSON_AddStringToObject(a, "path", realpath(dir, resolved) ? resolved : dir);
        cJSON_AddStringToObject(a, "name", scivec_model_adapter_name(model, adapter_id));
    }
    cJSON_AddItemToObject(options, "adapter", a);
    return SCIVEC_OK;
}

/* ------------------------------------------------------------------------ */
/* The whole run                                                             */

static int resolve_model_options(const sv_embed_params *params, const paper_source *src,
                                 const scivec_model *model, resolved_options *r) {
    r->pooling = params->pooling;
    r->pooling_reason = "--pooling";
    if (params->pooling == SCIVEC_POOL_DEFAULT) {
        if (params->recipe == SV_RECIPE_SPECTER2) {
            r->pooling = SCIVEC_POOL_CLS;
            r->pooling_reason = "recipe specter2";
        } else {
            r->pooling = scivec_model_default_pooling(model, &r->pooling_reason);
            if (!r->pooling_reason) r->pooling_reason = "model default";
        }
    }
    int model_max = scivec_model_max_length(model);
    int want = params->max_length > 0 ? params->max_length
             : params->recipe == SV_RECIPE_SPECTER2 ? SPECTER2_MAX_LENGTH : model_max;
    if (want < 3) return sv_error(SCIVEC_EINVAL, "--max-length %d is too small (3 at least)", want);
    // prompts: the model's default unless named ("" = none); queries as papers unless named
    int rc = sv_model_prompt(model, params->prompt, &r->paper_prompt_text, &r->paper_prompt);
    if (rc) return sv_error_prefix(rc, "--prompt");
    rc = sv_model_prompt(model, params->query_prompt ? params->query_prompt : params->prompt,
                         &r->query_prompt_text, &r->query_prompt);
    if (rc) return sv_error_prefix(rc, "--query-prompt");
    r->max_length = want < model_max ? want : model_max;
    r->id_column = sv_papers_column_name(src->papers, src->id_col);
    r->text_column = sv_papers_column_name(src->papers, src->text_col);
    r->title_column = src->title_col >= 0 ? sv_papers_column_name(src->papers, src->title_col) : NULL;
    return SCIVEC_OK;
}

/* ------------------------------------------------------------------------ */
/* Reduced precision: measured on the user's own papers before the run       */

/* Embeds the first SV_PRECISION_SAMPLE kept papers with an fp32 copy of the
 * model and with model (bf16 / int8), records the figures in res and stops
 * the run (SCIVEC_EINVAL, the figures in the message) when they are below
 * the thresholds, unless params->force_precision. */
static int check_precision(const sv_embed_params *params, scivec_model *model, int paper_adapter,
                           const scivec_encode_params *ep, sv_embed_result *res) {
    paper_source sample;
    char *texts[SV_PRECISION_SAMPLE];
    int n = 0, fp32_adapter = 0;
    scivec_model *fp32 = NULL;
    int rc = source_open(&sample, params);
    while (!rc && n < SV_PRECISION_SAMPLE) {
        verdict v;
        if ((rc = source_next(&sample, 1, &v)) || v == PAPER_END) break;
        if (v != PAPER_KEPT) continue;
        texts[n++] = sample.text;
        sample.text = NULL;
    }
    if (!rc && n == 0) goto done;   /* no papers: nothing to embed, nothing to compare */
    scivec_model_params mp = scivec_model_default_params();
    mp.n_threads = params->n_threads;
    if (!rc) rc = scivec_model_load(params->model, &mp, &fp32);
    const char *adapter_dir = scivec_model_adapter_dir(model, paper_adapter);
    if (!rc && paper_adapter) rc = scivec_model_add_adapter(fp32, adapter_dir, &fp32_adapter);
    if (!rc) rc = sv_precision_compare(fp32, fp32_adapter, model, paper_adapter, ep, n,
                                       (const char *const *)texts, &res->precision_quality);
    const sv_precision_quality *q = &res->precision_quality;
    double min_cos = params->precision_min_cosine, min_overlap = params->precision_min_overlap;
    if (!rc && !params->force_precision &&
        (q->mean_cosine < min_cos || q->min_cosine < min_cos || q->top_k_overlap < min_overlap))
        rc = sv_error(SCIVEC_EINVAL,
                      "--precision %s changes this model's vectors too much on the first %d papers: "
                      "cosine to fp32 mean %.7f, min %.7f (threshold %.7f), top-%d neighbour "
                      "overlap %.3f (threshold %.2f); use fp32, or --force-precision to accept it",
                      scivec_precision_name(params->precision), q->n, q->mean_cosine,
                      q->min_cosine, min_cos, SV_PRECISION_TOP_K, q->top_k_overlap, min_overlap);
done:
    for (int i = 0; i < n; i++) free(texts[i]);
    scivec_model_free(fp32);
    source_close(&sample);
    return rc;
}

static int skip_record(const sv_embed_params *params, sv_embed_result *res, verdict v, const char *why) {
    if (v == SKIP_EMPTY) res->skipped_empty_text++;
    else if (v == SKIP_MALFORMED) res->skipped_malformed++;
    else if (v == SKIP_WRONG_TYPE) res->skipped_wrong_type++;
    else res->skipped_duplicate_id++;
    if (params->strict) return sv_error(v == SKIP_MALFORMED ? SCIVEC_EFORMAT : SCIVEC_EINVAL,
                                        "%s: %s (--strict)", params->input, why);
    if (params->warn) {
        char msg[700];
        snprintf(msg, sizeof msg, "%s: skipped: %s", params->input, why);
        params->warn(msg, params->user);
    }
    return SCIVEC_OK;
}

static int embed_pass(const sv_embed_params *params, paper_source *src, embedder *e,
                      const paths *p, const cJSON *options, int64_t rows_done,
                      int64_t total, sv_embed_result *res) {
    int batch_tokens = params->batch_tokens > 0 ? params->batch_tokens : DEFAULT_BATCH_TOKENS;
    batch b = {0};
    int64_t kept = 0;
    int rc = SCIVEC_OK;
    if (params->progress) params->progress(0, total, params->user);
    for (;;) {
        verdict v;
        if ((rc = source_next(src, 1, &v))) break;
        if (v == PAPER_END) break;
        if (v == OTHER_SHARD) continue;
        res->rows_read++;
        if (v != PAPER_KEPT) {
            if ((rc = skip_record(params, res, v, src->why))) break;
            continue;
        }
        if (kept++ < rows_done) continue;   /* embedded before the interruption */
        rc = batch_push(&b, src->text, source_id(src), sv_papers_record_line(src->papers), e->encode.max_length);
        if (rc) { rc = sv_error(SCIVEC_ENOMEM, "out of memory"); break; }
        src->text = NULL;
        if (b.est_tokens >= batch_tokens || b.n == MAX_BATCH_PAPERS) {
            if ((rc = embed_batch(e, &b))) break;
            if ((rc = sv_npy_writer_flush(e->npy))) break;
            if ((rc = write_checkpoint(p, options, sv_npy_writer_rows(e->npy), e->stats.n_truncated))) break;
            if (params->progress) params->progress(res->rows_read, total, params->user);
            if (stop_requested(params)) { rc = interrupted(res, sv_npy_writer_rows(e->npy)); break; }
        }
    }
    if (!rc) rc = embed_batch(e, &b);
    if (!rc && (rc = sv_npy_writer_flush(e->npy)) == SCIVEC_OK)
        rc = write_checkpoint(p, options, sv_npy_writer_rows(e->npy), e->stats.n_truncated);
    if (!rc && params->progress) params->progress(res->rows_read, total, params->user);
    batch_free(&b);
    res->n_papers = kept;
    return rc;
}

/* The weight file's sha256, as the fingerprint holds it (hashed once). */
static const char *weights_sha256(const cJSON *fingerprint, const char *weights_path) {
    const char *slash = strrchr(weights_path, '/');
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(fingerprint, "model_files");
    const cJSON *sha = cJSON_GetObjectItemCaseSensitive(files, slash ? slash + 1 : weights_path);
    return cJSON_IsString(sha) ? sha->valuestring : NULL;
}

static int commit_outputs(const paths *p) {
    const char *from[] = {p->partial, p->index_tmp, p->db_tmp, p->metadata_tmp};
    const char *to[] = {p->npy_final, p->index_final, p->db_final, p->metadata_final};
    /* metadata.json last: once it is there, the rest is too. */
    for (size_t i = 0; i < SV_ARRAY_LEN(from); i++)
        if (rename(from[i], to[i]) != 0)
            return sv_error(SCIVEC_EIO, "renaming %s to %s: %s", from[i], to[i], strerror(errno));
    return sv_dir_sync(p->out_dir);
}

int sv_embed_run(const sv_embed_params *params, sv_embed_result *res) {
    memset(res, 0, sizeof *res);
    if (!params->input || !params->model || !params->out_dir)
        return sv_error(SCIVEC_EINVAL, "embed needs an input, a model and an output directory");
    if (params->shard_n < 0 || params->shard_n > SV_SHARD_MAX ||
        (params->shard_n && (params->shard_k < 0 || params->shard_k >= params->shard_n)))
        return sv_error(SCIVEC_EINVAL, "shard %d/%d: want 0 <= K < N", params->shard_k, params->shard_n);

    paths p;
    paper_source src;
    memset(&src, 0, sizeof src);
    scivec_model *model = NULL;
    embedder e = {0};
    cJSON *options = NULL, *fingerprint = NULL;
    int created_work_dir = 0, lock_fd = -1, keep_work_dir = 0;
    char *created_out_dir = NULL;
    int rc = paths_init(&p, params->out_dir) ? sv_error(SCIVEC_ENOMEM, "out of memory") : SCIVEC_OK;

    /* Cheap checks first: the input's columns, the lock, the work dir. */
    if (!rc) rc = check_regular_file(params->input);
    if (!rc) rc = source_open(&src, params);
    if (!rc) rc = sv_dir_make(p.out_dir, &created_out_dir);
    if (!rc) rc = sv_dir_lock(p.out_dir, "embed", &lock_fd);
    if (!rc && params->resume && params->restart)
        rc = sv_error(SCIVEC_EINVAL, "--resume continues an interrupted run and --restart discards it: "
                      "give one of them");
    /* --restart: the interrupted run's work is dropped, nothing else. */
    if (!rc && params->restart && sv_dir_is_dir(p.work_dir)) remove_work_dir(&p);
    if (!rc && sv_dir_is_dir(p.work_dir) && !params->resume)
        rc = sv_error(SCIVEC_EINVAL, "%s exists (an interrupted run?): pass --resume to continue it, "
                      "or --restart to start over", p.work_dir);
    /* Killed before its first checkpoint, or after its commit: nothing in the
     * work dir is worth keeping, so --resume starts over. */
    if (!rc && params->resume && sv_dir_is_dir(p.work_dir) && !sv_file_exists(p.checkpoint))
        remove_work_dir(&p);
    int64_t total = -1;
    if (!rc && params->count_total && sv_papers_count(params->input, &total) != SCIVEC_OK) total = -1;

    scivec_model_params mp = scivec_model_default_params();
    mp.n_threads = params->n_threads;
    mp.precision = params->precision;
    if (!rc) rc = scivec_model_load(params->model, &mp, &model);
    /* A sentence-transformers Normalize module normalises every vector
     * whatever was asked: record (and index) what the rows are. */
    sv_embed_params effective;
    if (!rc && !params->normalize && sv_model_st_normalize(model)) {
        effective = *params;
        effective.normalize = 1;
        params = &effective;
    }
    if (!rc && stop_requested(params)) rc = interrupted(res, 0);
    if (!rc && scivec_model_warning(model) && params->warn) params->warn(scivec_model_warning(model), params->user);
    int paper_adapter = 0, query_adapter = 0;
    const char *paper_adapter_ref = NULL, *query_adapter_ref = NULL;
    if (!rc) rc = add_adapters(params, model, res, &paper_adapter, &query_adapter,
                               &paper_adapter_ref, &query_adapter_ref);
    resolved_options ro = {0};
    if (!rc) rc = resolve_model_options(params, &src, model, &ro);
    if (!rc) rc = check_index_factory(params, scivec_model_hidden_size(model));
    if (!rc) rc = make_fingerprint(params, &ro, model, paper_adapter, &fingerprint);
    if (!rc && params->expect_fingerprint)
        rc = sv_fingerprint_check(params->expect_fingerprint, fingerprint,
                                  params->expect_context ? params->expect_context : "embed");
    if (!rc && !(options = make_options(params, fingerprint, model))) rc = sv_error(SCIVEC_ENOMEM, "out of memory");
    if (!rc) rc = add_adapter_option(options, model, paper_adapter);
    if (!rc && params->precision != SCIVEC_PRECISION_FP32) {
        scivec_encode_params ep = scivec_encode_default_params();
        ep.pooling = ro.pooling;
        ep.normalize = params->normalize;
        ep.max_length = ro.max_length;
        ep.prompt_name = ro.paper_prompt ? ro.paper_prompt : "";
        rc = check_precision(params, model, paper_adapter, &ep, res);
    }

    /* The work dir: new, or the interrupted run's. */
    int64_t rows_done = 0, truncated_before = 0;
    if (!rc && params->resume && sv_dir_is_dir(p.work_dir)) {
        rc = read_checkpoint(&p, options, &rows_done, &truncated_before);
        /* Killed while renaming the finished files into place: the rows went
         * ahead already. The work dir still exists, so the commit had not
         * finished; take them back and finish again. */
        if (!rc && !sv_file_exists(p.partial) && sv_file_exists(p.npy_final) &&
            rename(p.npy_final, p.partial) != 0)
            rc = sv_error(SCIVEC_EIO, "renaming %s back to %s: %s", p.npy_final, p.partial, strerror(errno));
        if (!rc) rc = sv_npy_writer_open_append(p.partial, scivec_model_dim(model), rows_done, &e.npy);
    } else if (!rc) {
        if (mkdir(p.work_dir, 0777) != 0)
            rc = sv_error(SCIVEC_EIO, "%s: %s", p.work_dir, strerror(errno));
        else
            created_work_dir = 1;
        if (!rc) rc = sv_npy_writer_open(p.partial, scivec_model_dim(model), &e.npy);
        if (!rc) rc = write_checkpoint(&p, options, 0, 0);
    }
    res->resumed_rows = rows_done;

    /* Pass 1. */
    if (!rc) {
        e.model = model;
        e.dim = scivec_model_dim(model);
        e.encode = scivec_encode_default_params();
        e.encode.pooling = ro.pooling;
        e.encode.normalize = params->normalize;
        e.encode.max_length = ro.max_length;
        e.encode.truncate_error = params->truncate_error;
        e.encode.adapter_id = paper_adapter;
        e.encode.prompt_name = ro.paper_prompt ? ro.paper_prompt : "";
        /* Texts cut before the interruption count too. */
        e.stats.n_truncated = (int)truncated_before;
        e.vectors = malloc((size_t)MAX_BATCH_PAPERS * (size_t)e.dim * sizeof(float));
        if (!e.vectors) rc = sv_error(SCIVEC_ENOMEM, "out of memory for a batch of vectors");
    }
    if (!rc) rc = embed_pass(params, &src, &e, &p, options, rows_done, total, res);
    if (e.npy) {
        /* After a failure the file stays as the last checkpoint left it; a
         * close would only replace the first error's message. */
        if (rc) sv_npy_writer_abort(e.npy);
        else rc = sv_npy_writer_close(e.npy);
        e.npy = NULL;
    }
    /* Nothing to embed is an error for a new folder; for `scivec add`
     * (skip_id) it only means the input holds no new papers. */
    if (!rc && res->n_papers == 0 && !params->skip_id)
        rc = sv_error(SCIVEC_EINVAL, "%s: no papers to embed: %lld records read, %s", params->input,
                      (long long)res->rows_read, res->rows_read == 0 ? "the input holds none" :
                      "every one was skipped (see the warnings above; --strict stops at the first)");
    if (!rc && res->n_papers < rows_done)
        rc = sv_error(SCIVEC_EFORMAT, "cannot resume: the checkpoint says %lld papers were embedded but "
                      "the input now has %lld to keep", (long long)rows_done, (long long)res->n_papers);

    /* Pass 2 and metadata. */
    if (model) {
        res->dim = scivec_model_dim(model);
        res->max_length = ro.max_length;
        res->n_truncated = e.stats.n_truncated;
        res->n_invalid_utf8 = e.stats.n_invalid_utf8;
        snprintf(res->pooling, sizeof res->pooling, "%s", scivec_pooling_name(ro.pooling));
        snprintf(res->pooling_reason, sizeof res->pooling_reason, "%s", ro.pooling_reason ? ro.pooling_reason : "");
    }
    if (!rc && stop_requested(params)) rc = interrupted(res, res->n_papers);
    if (!rc) rc = build_db(params, &p, res->dim, res->n_papers, res);
    if (!rc && stop_requested(params)) rc = interrupted(res, res->n_papers);
    sv_index_built built;
    memset(&built, 0, sizeof built);
    int index_failed = 0;
    if (!rc) {
        rc = build_index(params, &p, res->dim, res->n_papers, &built);
        index_failed = rc != SCIVEC_OK;
        snprintf(res->index_type, sizeof res->index_type, "%s", built.type);
        if (!rc && built.search.param[0])
            snprintf(res->index_search, sizeof res->index_search,
                     "%s %d: recall@10 %.3f against exact search on %lld sample queries%s", built.search.param,
                     built.search.value, built.search.recall_at_10, (long long)built.search.n_sample,
                     built.search.target_met ? "" : ", below the 0.95 target at every setting (its codes "
                     "are approximate: IVF...,Flat or HNSW reach it)");
    }
    if (index_failed && (rc == SCIVEC_EINVAL || rc == SCIVEC_EFORMAT)) {
        /* FAISS could not build this index (not a full disk or memory): the
         * embeddings are the expensive part, keep them for a resume. */
        char why[1024];
        snprintf(why, sizeof why, "%s", scivec_last_error());
        rc = sv_error(rc, "%s; the %lld embeddings are kept in %s: run the same command with "
                      "--resume and another --index (nothing is embedded again)",
                      why, (long long)res->n_papers, p.work_dir);
        keep_work_dir = 1;
    }
    if (!rc) {
        char input_abs[PATH_MAX], model_abs[PATH_MAX], weights_abs[PATH_MAX];
        char paper_adapter_abs[PATH_MAX], query_adapter_abs[PATH_MAX];
        const char *paper_adapter_dir = scivec_model_adapter_dir(model, paper_adapter);
        const char *query_adapter_dir = scivec_model_adapter_dir(model, query_adapter);
        if (paper_adapter_dir && realpath(paper_adapter_dir, paper_adapter_abs))
            paper_adapter_dir = paper_adapter_abs;
        if (query_adapter_dir && realpath(query_adapter_dir, query_adapter_abs))
            query_adapter_dir = query_adapter_abs;
        const char *model_dir = scivec_model_dir(model), *weights = scivec_model_weights_path(model);
        sv_metadata m = {
            .input_path = realpath(params->input, input_abs) ? input_abs : params->input,
            .input_format = sv_papers_get_format(src.papers) == SV_PAPERS_CSV ? "csv" : "jsonl",
            .id_column = ro.id_column, .text_column = ro.text_column, .title_column = ro.title_column,
            .n_papers = res->n_papers,
            .embedding_dim = res->dim,
            .model_name = params->model,
            .model_path = realpath(model_dir, model_abs) ? model_abs : model_dir,
            .weights_path = realpath(weights, weights_abs) ? weights_abs : weights,
            .weights_sha256 = weights_sha256(fingerprint, weights),
            .recipe = sv_recipe_name(params->recipe),
            .pooling = res->pooling,
            .pooling_reason = res->pooling_reason,
            .normalize = params->normalize,
            .max_length = ro.max_length,
            .truncate_error = params->truncate_error,
            .n_truncated = res->n_truncated,
            .rows_read = res->rows_read,
            .skipped_empty_text = res->skipped_empty_text,
            .skipped_malformed = res->skipped_malformed,
            .skipped_duplicate_id = res->skipped_duplicate_id,
            .skipped_wrong_type = res->skipped_wrong_type,
            .n_utf8_repaired = res->n_utf8_repaired,
            .index_factory = params->index_factory ? params->index_factory : "Flat",
            .index_type = res->index_type,
            .index_ntotal = res->n_papers,
            .index_search_param = built.search.param,
            .index_search_value = built.search.value,
            .index_recall_at_10 = built.search.recall_at_10,
            .index_recall_sample = built.search.n_sample,
            .paper_adapter_ref = paper_adapter_ref,
            .paper_adapter_path = paper_adapter_dir,
            .paper_adapter_name = scivec_model_adapter_name(model, paper_adapter),
            .query_adapter_ref = query_adapter_ref,
            .query_adapter_path = query_adapter_dir,
            .query_adapter_name = scivec_model_adapter_name(model, query_adapter),
            .shard_k = params->shard_k,
            .shard_n = params->shard_n,
            .db_vectors = params->db_vectors,
            .fingerprint = fingerprint,
            .adapter_choice = res->adapter_note,
            .paper_prompt = ro.paper_prompt, .paper_prompt_text = ro.paper_prompt_text,
            .query_prompt = ro.query_prompt, .query_prompt_text = ro.query_prompt_text,
            .precision = scivec_precision_name(scivec_model_precision(model)),
            .precision_quality = res->precision_quality.n ? &res->precision_quality : NULL,
            .precision_min_cosine = params->precision_min_cosine,
            .precision_min_overlap = params->precision_min_overlap,
            .precision_forced = params->force_precision,
        };
        rc = sv_metadata_write(p.metadata_tmp, &m);
    }
    if (!rc) rc = commit_outputs(&p);
    /* An interrupted run keeps its work dir for --resume, even a new one. */
    if (!rc || (created_work_dir && !res->interrupted && !keep_work_dir)) remove_work_dir(&p);
    /* A failed run leaves no folder it made (an interrupted one keeps its work). */
    if (rc && !res->interrupted && !keep_work_dir) sv_dir_remove_created(p.out_dir, created_out_dir);
    free(created_out_dir);
    if (lock_fd >= 0) close(lock_fd);

    source_close(&src);
    free(e.vectors);
    cJSON_Delete(options);
    cJSON_Delete(fingerprint);
    scivec_model_free(model);
    paths_free(&p);
    return rc;
}
