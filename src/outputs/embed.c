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
 * resumed run) agree on row numbers without keeping anything in memory (the
 * ids seen so far, to tell duplicates, are in a temporary file: seen_ids.h).
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
#include "core/json.h"
#include "core/l2norm.h"
#include "core/sha256.h"
#include "corpus/paper_fields.h"
#include "corpus/papers.h"
#include "corpus/shard.h"
#include "hub/family.h"
#include "nn/model.h"
#include "outputs/embed.h"
#include "outputs/faiss_shim.h"
#include "outputs/fingerprint.h"
#include "outputs/index_build.h"
#include "outputs/metadata.h"
#include "outputs/npy.h"
#include "outputs/outdir.h"
#include "outputs/paper_db.h"
#include "outputs/paper_source.h"
#include "outputs/recipe.h"
#include "text/normalize.h"

#define WORK_DIR_NAME   ".scivec-work"
#define PARTIAL_NAME    "embeddings.npy.partial"
#define CHECKPOINT_NAME "checkpoint.json"

enum { DEFAULT_BATCH_TOKENS = 8192, MAX_BATCH_PAPERS = 4096 };

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
    char **all[] = {&p->out_dir,        &p->work_dir, &p->partial,     &p->checkpoint,
                    &p->checkpoint_tmp, &p->db_tmp,   &p->index_tmp,   &p->metadata_tmp,
                    &p->npy_final,      &p->db_final, &p->index_final, &p->metadata_final};
    for (size_t i = 0; i < SV_ARRAY_LEN(all); i++) {
        free(*all[i]);
        *all[i] = NULL;
    }
}

/* The checkpoint goes last: a work dir that still has one can always be
 * resumed, one without it holds nothing worth keeping. */
static void remove_work_dir(const paths *p) {
    const char *files[] = {p->partial, p->checkpoint_tmp, p->db_tmp, p->index_tmp, p->metadata_tmp};
    for (size_t i = 0; i < SV_ARRAY_LEN(files); i++) unlink(files[i]);
    char *journal = sv_path_join(p->work_dir, "papers.db-journal");
    if (journal) {
        unlink(journal);
        free(journal);
    }
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
    const char *pooling_reason;
    int max_length;
    const char *id_column, *text_column, *title_column;
    /* sentence-transformers prompts (name, text; NULL = none) for papers and queries */
    const char *paper_prompt, *paper_prompt_text, *query_prompt, *query_prompt_text;
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
        .id_column = r->id_column,
        .text_column = r->text_column,
        .title_column = r->title_column,
        .precision = scivec_precision_name(scivec_model_precision(model)),
        .prompt = r->paper_prompt_text,
    };
    return sv_fingerprint_make(&in, out);
}

static cJSON *make_options(const sv_embed_params *params, const cJSON *fingerprint,
                           const scivec_model *model) {
    cJSON *o = cJSON_CreateObject();
    cJSON *fp = cJSON_Duplicate(fingerprint, 1);
    if (!o || !fp) {
        cJSON_Delete(o);
        cJSON_Delete(fp);
        return NULL;
    }
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
    if (!root || !copy) {
        cJSON_Delete(root);
        cJSON_Delete(copy);
        return sv_error(SCIVEC_ENOMEM, "out of memory");
    }
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
        return sv_error(SCIVEC_EIO, "%s: writing the checkpoint: %s", p->checkpoint,
                        strerror(errno));
    return SCIVEC_OK;
}

/* Reads the checkpoint of an interrupted run and checks its options are ours. */
static int read_checkpoint(const paths *p, const cJSON *options, int64_t *rows_done,
                           int64_t *n_truncated) {
    cJSON *root = NULL;
    int rc = sv_json_read_object(p->checkpoint, &root);
    if (rc == SCIVEC_EFORMAT)
        return sv_error(rc, "%s: malformed checkpoint; --restart starts over", p->checkpoint);
    if (rc) return sv_error_prefix(rc, "cannot resume");
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
                              cJSON_GetObjectItemCaseSensitive(options, "fingerprint"),
                              "cannot resume");
    if (rc) {
        char why[1024];
        snprintf(why, sizeof why, "%s", scivec_last_error());
        rc = sv_error(rc,
                      "%s (the %lld papers embedded would not match the rest; --restart "
                      "starts over)",
                      why, (long long)rows->valuedouble);
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
    char **texts;
    char **ids;
    long *lines;
    int n, cap;
    int64_t est_tokens;
} batch;

static void batch_clear(batch *b) {
    for (int i = 0; i < b->n; i++) {
        free(b->texts[i]);
        free(b->ids[i]);
    }
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
        if (scivec_tokenize(tok, b->texts[i], strlen(b->texts[i]), NULL, 0, max_length, &enc) !=
            SCIVEC_OK)
            continue;
        int n = enc.n_tokens_untruncated;
        scivec_encoding_clear(&enc);
        if (n > max_length)
            return sv_error(SCIVEC_ETOOLONG,
                            "line %ld: paper %s has %d tokens, more than the maximum %d "
                            "(--truncate error; the default cuts it)",
                            b->lines[i], b->ids[i], n, max_length);
    }
    return SCIVEC_ETOOLONG; /* the model's own message stands */
}

typedef struct {
    scivec_model *model;
    scivec_encode_params encode;
    sv_npy_writer *npy;
    float *vectors; /* [MAX_BATCH_PAPERS, dim] */
    int dim;
    scivec_encode_stats stats;
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

static int stop_requested(const sv_embed_params *params) { return params->stop && *params->stop; }

static int interrupted(sv_embed_result *res, int64_t rows_saved) {
    res->interrupted = 1;
    return sv_error(SCIVEC_EIO,
                    "interrupted with %lld papers embedded and saved; run the same "
                    "command with --resume to continue",
                    (long long)rows_saved);
}

static int build_db(const sv_embed_params *params, const paths *p, int dim, int64_t n_rows,
                    sv_embed_result *res) {
    sv_paper_source src;
    sv_paper_db *db = NULL;
    FILE *npy = NULL;
    float *row_vec = malloc((size_t)dim * sizeof *row_vec);
    char *categories = NULL;
    if (!row_vec) return sv_error(SCIVEC_ENOMEM, "out of memory");
    int rc = sv_paper_source_open(&src, params);
    if (rc) {
        sv_paper_source_close(&src);
        free(row_vec);
        return rc;
    }
    if (!(npy = fopen(p->partial, "rb")) || fseek(npy, 128, SEEK_SET) != 0)
        rc = sv_error(SCIVEC_EIO, "%s: %s", p->partial, strerror(errno));
    if (!rc) rc = sv_paper_db_create(p->db_tmp, &db);

    const sv_papers *papers = src.papers;
    int categories_col = sv_papers_column_index(papers, "categories");
    int year_col = sv_papers_column_index(papers, "year");
    int64_t row = 0;
    while (!rc) {
        sv_verdict v;
        if ((rc = sv_paper_source_next(&src, 1, &v))) break;
        if (v == SV_PAPER_END) break;
        if (v != SV_PAPER_KEPT) continue;
        /* The record's place in the input orders merged shards as one run
         * orders them; the text's hash tells `add --update` what changed. */
        int64_t record = params->record_base + sv_papers_records_read(papers) - 1;
        uint8_t digest[32];
        char text_sha256[65];
        sv_sha256(src.text, strlen(src.text), digest);
        for (int i = 0; i < 32; i++) snprintf(text_sha256 + 2 * i, 3, "%02x", digest[i]);
        /* A signal stops this pass too (it may take minutes); --resume redoes it. */
        if ((row & 1023) == 1023 && stop_requested(params)) {
            rc = interrupted(res, n_rows);
            break;
        }
        if (row >= n_rows) {
            rc = sv_error(SCIVEC_EFORMAT,
                          "%s: more papers to keep than the %lld embedded: did the input change?",
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
        if (!year)
            year =
                sv_year_from_arxiv_id(sv_paper_source_id(&src), strlen(sv_paper_source_id(&src)));

        const char *names[1024];
        const char *const *column_names = names;
        const char **dyn_names = NULL;
        if (n_cols > (int)SV_ARRAY_LEN(names)) {
            if (!(dyn_names = malloc((size_t)n_cols * sizeof *dyn_names))) {
                rc = sv_error(SCIVEC_ENOMEM, "out of memory");
                break;
            }
            column_names = dyn_names;
        }
        for (int i = 0; i < n_cols; i++)
            (dyn_names ? dyn_names : names)[i] = sv_papers_column_name(papers, i);
        sv_paper_row paper = {
            .row = row,
            .paper_id = sv_paper_source_id(&src),
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
        rc = sv_error(SCIVEC_EFORMAT,
                      "%s: %lld papers to keep but %lld embedded: did the input change?",
                      params->input, (long long)row, (long long)n_rows);
    res->n_utf8_repaired = sv_paper_db_n_repaired(db);
    if (!rc) {
        rc = sv_paper_db_finish(db);
        db = NULL;
    }
    sv_paper_db_abort(db);
    if (npy) fclose(npy);
    free(categories);
    free(row_vec);
    sv_paper_source_close(&src);
    return rc;
}

static int build_index(const sv_embed_params *params, const paths *p, int dim, int64_t n_rows,
                       sv_index_built *built) {
    sv_index_build_params bp = {
        .factory = params->index_factory,
        .n_threads = params->n_threads,
        .normalized = params->normalize,
        .progress = params->index_progress,
        .user = params->user,
    };
    return sv_index_build_from_npy(p->partial, n_rows, dim, &bp, p->index_tmp, built);
}

/* The input is read more than once (embedding, then the database; a count
 * for progress and index checks), which a pipe or stdin cannot be. */
static int check_regular_file(const char *input) {
    struct stat st;
    if (!strcmp(input, "-"))
        return sv_error(SCIVEC_EINVAL,
                        "INPUT '-': reading papers from stdin is not supported: the input "
                        "is read more than once, so it must be a regular file (save it first: "
                        "cat > papers.jsonl)");
    if (stat(input, &st) != 0)
        return sv_error(errno == ENOENT ? SCIVEC_ENOTFOUND : SCIVEC_EIO, "%s: %s", input,
                        strerror(errno));
    if (!S_ISREG(st.st_mode))
        return sv_error(SCIVEC_EINVAL,
                        "%s is %s, not a regular file: the input is read more than once, "
                        "so save it to a file first (cat > papers.jsonl)",
                        input,
                        S_ISFIFO(st.st_mode)   ? "a pipe"
                        : S_ISDIR(st.st_mode)  ? "a directory"
                        : S_ISCHR(st.st_mode)  ? "a character device"
                        : S_ISSOCK(st.st_mode) ? "a socket"
                                               : "a special file");
    return SCIVEC_OK;
}

/* Papers the input has to embed: a pass that only decides (no texts). */
static int count_kept(const sv_embed_params *params, int64_t *kept) {
    sv_paper_source src;
    *kept = 0;
    int rc = sv_paper_source_open(&src, params);
    while (!rc) {
        sv_verdict v;
        if ((rc = sv_paper_source_next(&src, 0, &v)) || v == SV_PAPER_END) break;
        if (v == SV_PAPER_KEPT) ++*kept;
    }
    sv_paper_source_close(&src);
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

static int resolve_model_options(const sv_embed_params *params, const sv_paper_source *src,
                                 const scivec_model *model, resolved_options *r) {
    r->pooling = sv_recipe_pooling(params->recipe, params->pooling, model, &r->pooling_reason);
    int model_max = scivec_model_max_length(model);
    int want = sv_recipe_max_length(params->recipe, params->max_length, model_max);
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
    r->title_column =
        src->title_col >= 0 ? sv_papers_column_name(src->papers, src->title_col) : NULL;
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
    sv_paper_source sample;
    char *texts[SV_PRECISION_SAMPLE];
    int n = 0, fp32_adapter = 0;
    scivec_model *fp32 = NULL;
    int rc = sv_paper_source_open(&sample, params);
    while (!rc && n < SV_PRECISION_SAMPLE) {
        sv_verdict v;
        if ((rc = sv_paper_source_next(&sample, 1, &v)) || v == SV_PAPER_END) break;
        if (v != SV_PAPER_KEPT) continue;
        texts[n++] = sample.text;
        sample.text = NULL;
    }
    if (!rc && n == 0) goto done; /* no papers: nothing to embed, nothing to compare */
    scivec_model_params mp = scivec_model_default_params();
    mp.n_threads = params->n_threads;
    if (!rc) rc = scivec_model_load(params->model, &mp, &fp32);
    const char *adapter_dir = scivec_model_adapter_dir(model, paper_adapter);
    if (!rc && paper_adapter) rc = scivec_model_add_adapter(fp32, adapter_dir, &fp32_adapter);
    if (!rc)
        rc = sv_precision_compare(fp32, fp32_adapter, model, paper_adapter, ep, n,
                                  (const char *const *)texts, &res->precision_quality);
    const sv_precision_quality *q = &res->precision_quality;
    double min_cos = params->precision_min_cosine, min_overlap = params->precision_min_overlap;
    if (!rc && !params->force_precision &&
        (q->mean_cosine < min_cos || q->min_cosine < min_cos || q->top_k_overlap < min_overlap))
        rc =
            sv_error(SCIVEC_EINVAL,
                     "--precision %s changes this model's vectors too much on the first %d papers: "
                     "cosine to fp32 mean %.7f, min %.7f (threshold %.7f), top-%d neighbour "
                     "overlap %.3f (threshold %.2f); use fp32, or --force-precision to accept it",
                     scivec_precision_name(params->precision), q->n, q->mean_cosine, q->min_cosine,
                     min_cos, SV_PRECISION_TOP_K, q->top_k_overlap, min_overlap);
done:
    for (int i = 0; i < n; i++) free(texts[i]);
    scivec_model_free(fp32);
    sv_paper_source_close(&sample);
    return rc;
}

static int skip_record(const sv_embed_params *params, sv_embed_result *res, sv_verdict v,
                       const char *why) {
    if (v == SV_SKIP_EMPTY)
        res->skipped_empty_text++;
    else if (v == SV_SKIP_MALFORMED)
        res->skipped_malformed++;
    else if (v == SV_SKIP_WRONG_TYPE)
        res->skipped_wrong_type++;
    else
        res->skipped_duplicate_id++;
    if (params->strict)
        return sv_error(v == SV_SKIP_MALFORMED ? SCIVEC_EFORMAT : SCIVEC_EINVAL,
                        "%s: %s (--strict)", params->input, why);
    if (params->warn) {
        char msg[700];
        snprintf(msg, sizeof msg, "%s: skipped: %s", params->input, why);
        params->warn(msg, params->user);
    }
    return SCIVEC_OK;
}

static int embed_pass(const sv_embed_params *params, sv_paper_source *src, embedder *e,
                      const paths *p, const cJSON *options, int64_t rows_done, int64_t total,
                      sv_embed_result *res) {
    int batch_tokens = params->batch_tokens > 0 ? params->batch_tokens : DEFAULT_BATCH_TOKENS;
    batch b = {0};
    int64_t kept = 0;
    int rc = SCIVEC_OK;
    if (params->progress) params->progress(0, total, params->user);
    for (;;) {
        sv_verdict v;
        if ((rc = sv_paper_source_next(src, 1, &v))) break;
        if (v == SV_PAPER_END) break;
        if (v == SV_OTHER_SHARD) continue;
        res->rows_read++;
        if (v != SV_PAPER_KEPT) {
            if ((rc = skip_record(params, res, v, src->why))) break;
            continue;
        }
        if (kept++ < rows_done) continue; /* embedded before the interruption */
        rc = batch_push(&b, src->text, sv_paper_source_id(src), sv_papers_record_line(src->papers),
                        e->encode.max_length);
        if (rc) {
            rc = sv_error(SCIVEC_ENOMEM, "out of memory");
            break;
        }
        src->text = NULL;
        if (b.est_tokens >= batch_tokens || b.n == MAX_BATCH_PAPERS) {
            if ((rc = embed_batch(e, &b))) break;
            if ((rc = sv_npy_writer_flush(e->npy))) break;
            if ((rc = write_checkpoint(p, options, sv_npy_writer_rows(e->npy),
                                       e->stats.n_truncated)))
                break;
            if (params->progress) params->progress(res->rows_read, total, params->user);
            if (stop_requested(params)) {
                rc = interrupted(res, sv_npy_writer_rows(e->npy));
                break;
            }
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
        return sv_error(SCIVEC_EINVAL, "shard %d/%d: want 0 <= K < N", params->shard_k,
                        params->shard_n);
    /* A NaN threshold would let every sample pass. */
    if (!isfinite(params->precision_min_cosine) || !isfinite(params->precision_min_overlap))
        return sv_error(SCIVEC_EINVAL, "precision_min_%s %g: want a number",
                        isfinite(params->precision_min_cosine) ? "overlap" : "cosine",
                        isfinite(params->precision_min_cosine) ? params->precision_min_overlap
                                                               : params->precision_min_cosine);

    paths p;
    sv_paper_source src;
    memset(&src, 0, sizeof src);
    scivec_model *model = NULL;
    embedder e = {0};
    cJSON *options = NULL, *fingerprint = NULL;
    int created_work_dir = 0, lock_fd = -1, keep_work_dir = 0;
    char *created_out_dir = NULL;
    int rc = paths_init(&p, params->out_dir) ? sv_error(SCIVEC_ENOMEM, "out of memory") : SCIVEC_OK;

    /* Cheap checks first: the input's columns, the lock, the work dir. */
    if (!rc) rc = check_regular_file(params->input);
    if (!rc) rc = sv_paper_source_open(&src, params);
    if (!rc) rc = sv_dir_make(p.out_dir, &created_out_dir);
    if (!rc) rc = sv_dir_lock(p.out_dir, "embed", &lock_fd);
    if (!rc && params->resume && params->restart)
        rc = sv_error(SCIVEC_EINVAL,
                      "--resume continues an interrupted run and --restart discards it: "
                      "give one of them");
    /* --restart: the interrupted run's work is dropped, nothing else. */
    if (!rc && params->restart && sv_dir_is_dir(p.work_dir)) remove_work_dir(&p);
    if (!rc && sv_dir_is_dir(p.work_dir) && !params->resume)
        rc = sv_error(SCIVEC_EINVAL,
                      "%s exists (an interrupted run?): pass --resume to continue it, "
                      "or --restart to start over",
                      p.work_dir);
    /* Killed before its first checkpoint, or after its commit: nothing in the
     * work dir is worth keeping, so --resume starts over. */
    if (!rc && params->resume && sv_dir_is_dir(p.work_dir) && !sv_file_exists(p.checkpoint))
        remove_work_dir(&p);
    int64_t total = -1;
    if (!rc && params->count_total && sv_papers_count(params->input, &total) != SCIVEC_OK)
        total = -1;

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
    if (!rc && scivec_model_warning(model) && params->warn)
        params->warn(scivec_model_warning(model), params->user);
    int paper_adapter = 0, query_adapter = 0;
    const char *paper_adapter_ref = NULL, *query_adapter_ref = NULL;
    if (!rc)
        rc = sv_recipe_add_adapters(params, model, res, &paper_adapter, &query_adapter,
                                    &paper_adapter_ref, &query_adapter_ref);
    resolved_options ro = {0};
    if (!rc) rc = resolve_model_options(params, &src, model, &ro);
    if (!rc) rc = check_index_factory(params, scivec_model_hidden_size(model));
    if (!rc) rc = make_fingerprint(params, &ro, model, paper_adapter, &fingerprint);
    if (!rc && params->expect_fingerprint)
        rc = sv_fingerprint_check(params->expect_fingerprint, fingerprint,
                                  params->expect_context ? params->expect_context : "embed");
    if (!rc && !(options = make_options(params, fingerprint, model)))
        rc = sv_error(SCIVEC_ENOMEM, "out of memory");
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
            rc = sv_error(SCIVEC_EIO, "renaming %s back to %s: %s", p.npy_final, p.partial,
                          strerror(errno));
        if (!rc)
            rc = sv_npy_writer_open_append(p.partial, scivec_model_dim(model), rows_done, &e.npy);
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
        if (rc)
            sv_npy_writer_abort(e.npy);
        else
            rc = sv_npy_writer_close(e.npy);
        e.npy = NULL;
    }
    /* Nothing to embed is an error for a new folder; for `scivec add`
     * (skip_id) it only means the input holds no new papers. */
    if (!rc && res->n_papers == 0 && !params->skip_id)
        rc = sv_error(
            SCIVEC_EINVAL, "%s: no papers to embed: %lld records read, %s", params->input,
            (long long)res->rows_read,
            res->rows_read == 0
                ? "the input holds none"
                : "every one was skipped (see the warnings above; --strict stops at the first)");
    if (!rc && res->n_papers < rows_done)
        rc = sv_error(SCIVEC_EFORMAT,
                      "cannot resume: the checkpoint says %lld papers were embedded but "
                      "the input now has %lld to keep",
                      (long long)rows_done, (long long)res->n_papers);

    /* Pass 2 and metadata. */
    if (model) {
        res->dim = scivec_model_dim(model);
        res->max_length = ro.max_length;
        res->n_truncated = e.stats.n_truncated;
        res->n_invalid_utf8 = e.stats.n_invalid_utf8;
        snprintf(res->pooling, sizeof res->pooling, "%s", scivec_pooling_name(ro.pooling));
        snprintf(res->pooling_reason, sizeof res->pooling_reason, "%s",
                 ro.pooling_reason ? ro.pooling_reason : "");
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
                     "%s %d: recall@10 %.3f against exact search on %lld sample queries%s",
                     built.search.param, built.search.value, built.search.recall_at_10,
                     (long long)built.search.n_sample,
                     built.search.target_met
                         ? ""
                         : ", below the 0.95 target at every setting (its codes "
                           "are approximate: IVF...,Flat or HNSW reach it)");
    }
    if (index_failed && (rc == SCIVEC_EINVAL || rc == SCIVEC_EFORMAT)) {
        /* FAISS could not build this index (not a full disk or memory): the
         * embeddings are the expensive part, keep them for a resume. */
        char why[1024];
        snprintf(why, sizeof why, "%s", scivec_last_error());
        rc = sv_error(rc,
                      "%s; the %lld embeddings are kept in %s: run the same command with "
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
        const char *model_dir = scivec_model_dir(model),
                   *weights = scivec_model_weights_path(model);
        sv_metadata m = {
            .input_path = realpath(params->input, input_abs) ? input_abs : params->input,
            .input_format = sv_papers_get_format(src.papers) == SV_PAPERS_CSV ? "csv" : "jsonl",
            .id_column = ro.id_column,
            .text_column = ro.text_column,
            .title_column = ro.title_column,
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
            .paper_prompt = ro.paper_prompt,
            .paper_prompt_text = ro.paper_prompt_text,
            .query_prompt = ro.query_prompt,
            .query_prompt_text = ro.query_prompt_text,
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
    if (rc && !res->interrupted && !keep_work_dir)
        sv_dir_remove_created(p.out_dir, created_out_dir);
    free(created_out_dir);
    if (lock_fd >= 0) close(lock_fd);

    sv_paper_source_close(&src);
    free(e.vectors);
    cJSON_Delete(options);
    cJSON_Delete(fingerprint);
    scivec_model_free(model);
    paths_free(&p);
    return rc;
}
