/*
 * cmd_embed.c - `scivec embed INPUT --model M --out DIR [...]`: parses the
 * flags, shows progress and warnings on stderr, and hands the work to
 * scivec_embed (include/scivec.h).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "options.h"
#include "progress.h"
#include "scivec.h"

static const char usage[] =
    "usage: scivec embed INPUT --model M --out DIR [options]\n"
    "  INPUT: papers as CSV (header row) or JSON Lines (arXiv metadata snapshot)\n"
    "  writes DIR/embeddings.npy, papers.index, papers.db, metadata.json (docs/OUTPUTS.md)\n"
    "  --model M            model directory, or ORG/NAME in the HuggingFace cache\n"
    "  --out DIR            output directory (created if needed)\n"
    "  --text abstract|title+abstract   text of a paper (default abstract;\n"
    "                       title+abstract = title + \" \" + abstract)\n"
    "  --recipe specter2    title + \"[SEP]\" + abstract, CLS pooling, 512 tokens\n"
    "  --adapter A          embed the papers through an AdapterHub bottleneck adapter\n"
    "                       (folder or ORG/NAME; with --recipe specter2 and a base model\n"
    "                       of docs/ADAPTERS.md's table, e.g. allenai/specter2_base: its\n"
    "                       proximity adapter, downloaded if missing; none = no adapter)\n"
    "  --query-adapter A    adapter recorded for `scivec search` queries (default: the\n"
    "                       family's adhoc_query with its proximity adapter, else the\n"
    "                       papers' adapter; none = the base model)\n"
    "  --prompt NAME        put the model's prompt NAME (config_sentence_transformers.json)\n"
    "                       before each paper (default: its default_prompt_name; \"\" = none)\n"
    "  --query-prompt NAME  prompt recorded for `scivec search` queries (default: --prompt's)\n"
    "  --pooling cls|mean|max|pooler    (default: the recipe's, else the model's)\n"
    "  --normalize | --no-normalize     L2-normalise the rows (default: normalise)\n"
    "  --max-length N       tokens per text including [CLS]/[SEP] (default: the model's)\n"
    "  --truncate cut|error longer texts are cut and counted (default), or refused\n"
    "  --id-column C        default paper_id, else id\n"
    "  --text-column C      default abstract\n"
    "  --title-column C     default title\n"
    "  --index FACTORY      FAISS index_factory string (default Flat = exact cosine)\n"
    "  --db-vectors         also store each vector in papers.db (embedding BLOB; by\n"
    "                       default only embeddings.npy holds them; add/merge keep it)\n"
    "  --batch-tokens N     about N tokens per batch (default 8192)\n"
    "  --threads N          threads for the model (default: all cores)\n"
    "  --precision P        dense layers in fp32 (default), bf16 or int8; bf16/int8 first\n"
    "                       compare the first 256 papers with fp32 and stop below\n"
    "                       --precision-min-cosine X (default 0.99) or a top-10\n"
    "                       neighbour overlap below --precision-min-overlap Y (default\n"
    "                       0.90), unless --force-precision\n"
    "  --strict             fail on the first skipped row instead of skipping it\n"
    "  --resume             continue an interrupted run in DIR\n"
    "  --shard K/N          only the papers whose id hashes to shard K of N (K from 0,\n"
    "                       as SLURM_ARRAY_TASK_ID); join the shards with `scivec merge`\n"
    "  --restart            discard an interrupted run in DIR and start over\n"
    "  --progress           show progress even when stderr is not a terminal\n";

enum { MAX_WARNINGS_SHOWN = 5 };

typedef struct {
    int64_t n_warnings;
    int show_progress;
    sv_progress progress;
    int progress_started;
    sv_progress index_progress;
    int index_progress_started;
    const char *index_factory;
} cli_state;

static void on_warning(const char *message, void *user) {
    cli_state *s = user;
    if (s->n_warnings++ < MAX_WARNINGS_SHOWN) {
        if (s->progress_started) fputc('\n', stderr);
        fprintf(stderr, "scivec embed: warning: %s\n", message);
    }
}

static int on_progress(int64_t done, int64_t total, void *user) {
    cli_state *s = user;
    if (!s->show_progress) return 0;
    if (!s->progress_started) {
        sv_progress_start(&s->progress, stderr, "papers", total);
        s->progress_started = 1;
    }
    sv_progress_update(&s->progress, done);
    return 0; /* go on: signals stop the run through params.stop */
}

/* Training an IVF/PQ index takes minutes on 10k papers and FAISS cannot say
 * how far it is: say that it runs, then how long it took. Adding has a bar. */
static void on_index_progress(const char *stage, int64_t done, int64_t total, void *user) {
    cli_state *s = user;
    if (!s->show_progress) return;
    if (s->progress_started) {
        fputc('\n', stderr);
        s->progress_started = 0;
    } /* the papers' bar ends */
    if (!strcmp(stage, "tuning")) {
        fprintf(
            stderr,
            "scivec embed: choosing the search parameter for recall@10 >= 0.95 on a sample...\n");
        return;
    }
    if (!strcmp(stage, "training")) {
        if (done == 0) {
            fprintf(stderr, "scivec embed: training the index '%s' on %lld vectors...\n",
                    s->index_factory, (long long)total);
            sv_progress_start(&s->index_progress, stderr, "vectors trained on", total);
        } else {
            sv_progress_finish(&s->index_progress, done);
        }
        return;
    }
    if (!s->index_progress_started) {
        sv_progress_start(&s->index_progress, stderr, "vectors indexed", total);
        s->index_progress_started = 1;
    }
    if (done == total) {
        sv_progress_finish(&s->index_progress, done);
        return;
    }
    sv_progress_update(&s->index_progress, done);
}

/* SIGINT/SIGTERM: the pipeline stops at the next batch boundary with its
 * checkpoint written. A second signal kills as usual (SA_RESETHAND). */
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig) { stop_signal = sig; }

static void catch_stop_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sa.sa_flags = SA_RESTART | SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

enum {
    OPT_MODEL = 256,
    OPT_OUT,
    OPT_ADAPTER,
    OPT_QUERY_ADAPTER,
    OPT_PROMPT,
    OPT_QUERY_PROMPT,
    OPT_TEXT,
    OPT_RECIPE,
    OPT_POOLING,
    OPT_NORMALIZE,
    OPT_NO_NORMALIZE,
    OPT_MAX_LENGTH,
    OPT_TRUNCATE,
    OPT_ID_COLUMN,
    OPT_TEXT_COLUMN,
    OPT_TITLE_COLUMN,
    OPT_INDEX,
    OPT_BATCH_TOKENS,
    OPT_THREADS,
    OPT_PRECISION,
    OPT_FORCE_PRECISION,
    OPT_PRECISION_MIN_COSINE,
    OPT_PRECISION_MIN_OVERLAP,
    OPT_STRICT,
    OPT_SHARD,
    OPT_RESUME,
    OPT_RESTART,
    OPT_PROGRESS,
    OPT_DB_VECTORS,
};

static const struct option options[] = {
    {"help", no_argument, NULL, 'h'},
    {"model", required_argument, NULL, OPT_MODEL},
    {"out", required_argument, NULL, OPT_OUT},
    {"adapter", required_argument, NULL, OPT_ADAPTER},
    {"query-adapter", required_argument, NULL, OPT_QUERY_ADAPTER},
    {"prompt", required_argument, NULL, OPT_PROMPT},
    {"query-prompt", required_argument, NULL, OPT_QUERY_PROMPT},
    {"text", required_argument, NULL, OPT_TEXT},
    {"recipe", required_argument, NULL, OPT_RECIPE},
    {"pooling", required_argument, NULL, OPT_POOLING},
    {"normalize", no_argument, NULL, OPT_NORMALIZE},
    {"no-normalize", no_argument, NULL, OPT_NO_NORMALIZE},
    {"max-length", required_argument, NULL, OPT_MAX_LENGTH},
    {"truncate", required_argument, NULL, OPT_TRUNCATE},
    {"id-column", required_argument, NULL, OPT_ID_COLUMN},
    {"text-column", required_argument, NULL, OPT_TEXT_COLUMN},
    {"title-column", required_argument, NULL, OPT_TITLE_COLUMN},
    {"index", required_argument, NULL, OPT_INDEX},
    {"batch-tokens", required_argument, NULL, OPT_BATCH_TOKENS},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"precision", required_argument, NULL, OPT_PRECISION},
    {"force-precision", no_argument, NULL, OPT_FORCE_PRECISION},
    {"precision-min-cosine", required_argument, NULL, OPT_PRECISION_MIN_COSINE},
    {"precision-min-overlap", required_argument, NULL, OPT_PRECISION_MIN_OVERLAP},
    {"strict", no_argument, NULL, OPT_STRICT},
    {"db-vectors", no_argument, NULL, OPT_DB_VECTORS},
    {"shard", required_argument, NULL, OPT_SHARD},
    {"resume", no_argument, NULL, OPT_RESUME},
    {"restart", no_argument, NULL, OPT_RESTART},
    {"progress", no_argument, NULL, OPT_PROGRESS},
    {NULL, 0, NULL, 0},
};

int cmd_embed(int argc, char **argv) {
    scivec_embed_params params = scivec_embed_default_params();
    int progress_flag = 0, recipe_given = 0, text_given = 0, c;
    cli_getopt_begin();
    while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
            case 'h': fputs(usage, stdout); return 0;
            case OPT_MODEL: params.model = optarg; break;
            case OPT_OUT: params.out_dir = optarg; break;
            case OPT_ADAPTER: params.adapter = optarg; break;
            case OPT_QUERY_ADAPTER: params.query_adapter = optarg; break;
            case OPT_PROMPT: params.prompt = optarg; break;
            case OPT_QUERY_PROMPT: params.query_prompt = optarg; break;
            case OPT_TEXT:
                if (!strcmp(optarg, "abstract"))
                    params.recipe = SCIVEC_RECIPE_ABSTRACT;
                else if (!strcmp(optarg, "title+abstract"))
                    params.recipe = SCIVEC_RECIPE_TITLE_ABSTRACT;
                else {
                    fprintf(stderr,
                            "scivec embed: --text wants abstract or title+abstract, got '%s'\n",
                            optarg);
                    return 2;
                }
                text_given = 1;
                break;
            case OPT_RECIPE:
                if (scivec_recipe_parse(optarg, &params.recipe)) return cli_fail("embed") + 1;
                recipe_given = 1;
                break;
            case OPT_POOLING:
                if (scivec_pooling_parse(optarg, &params.pooling)) {
                    fprintf(stderr,
                            "scivec embed: --pooling wants cls, mean, max or pooler, got '%s'\n",
                            optarg);
                    return 2;
                }
                break;
            case OPT_NORMALIZE: params.normalize = 1; break;
            case OPT_NO_NORMALIZE: params.normalize = 0; break;
            case OPT_MAX_LENGTH:
                if (!cli_int_option("embed", "--max-length", optarg, 3, &params.max_length))
                    return 2;
                break;
            case OPT_TRUNCATE:
                if (!strcmp(optarg, "cut"))
                    params.truncate_error = 0;
                else if (!strcmp(optarg, "error"))
                    params.truncate_error = 1;
                else {
                    fprintf(stderr, "scivec embed: --truncate wants cut or error, got '%s'\n",
                            optarg);
                    return 2;
                }
                break;
            case OPT_ID_COLUMN: params.id_column = optarg; break;
            case OPT_TEXT_COLUMN: params.text_column = optarg; break;
            case OPT_TITLE_COLUMN: params.title_column = optarg; break;
            case OPT_INDEX: params.index_factory = optarg; break;
            case OPT_BATCH_TOKENS:
                if (!cli_int_option("embed", "--batch-tokens", optarg, 1, &params.batch_tokens))
                    return 2;
                break;
            case OPT_THREADS:
                if (!cli_int_option("embed", "--threads", optarg, 0, &params.n_threads)) return 2;
                break;
            case OPT_PRECISION:
                if (cli_precision_option("embed", optarg, &params.precision)) return 2;
                break;
            case OPT_FORCE_PRECISION: params.force_precision = 1; break;
            case OPT_PRECISION_MIN_COSINE:
            case OPT_PRECISION_MIN_OVERLAP: {
                int cosine = c == OPT_PRECISION_MIN_COSINE;
                if (!cli_parse_double(optarg, cosine ? &params.precision_min_cosine
                                                     : &params.precision_min_overlap)) {
                    fprintf(stderr, "scivec embed: --precision-min-%s wants a number, got '%s'\n",
                            cosine ? "cosine" : "overlap", optarg);
                    return 2;
                }
                break;
            }
            case OPT_STRICT: params.strict = 1; break;
            case OPT_DB_VECTORS: params.db_vectors = 1; break;
            case OPT_SHARD:
                if (scivec_shard_parse(optarg, &params.shard_k, &params.shard_n))
                    return cli_fail("embed") + 1;
                break;
            case OPT_RESUME: params.resume = 1; break;
            case OPT_RESTART: params.restart = 1; break;
            case OPT_PROGRESS: progress_flag = 1; break;
            default:
                fprintf(stderr, "scivec embed: unknown option or missing value: '%s'\n%s",
                        cli_bad_option(argv), usage);
                return 2;
        }
    }
    for (int i = optind; i < argc; i++) {
        if (params.input) {
            fprintf(stderr, "scivec embed: unexpected argument '%s'\n%s", argv[i], usage);
            return 2;
        }
        params.input = argv[i];
    }
    if (!params.input || !params.model || !params.out_dir) {
        fprintf(stderr, "scivec embed: INPUT, --model and --out are required\n%s", usage);
        return 2;
    }
    if (recipe_given && text_given) {
        fprintf(stderr, "scivec embed: give either --text or --recipe, not both\n");
        return 2;
    }

    cli_state state = {0};
    state.show_progress = progress_flag || isatty(STDERR_FILENO);
    params.count_total = state.show_progress;
    params.progress = on_progress;
    params.index_progress = on_index_progress;
    state.index_factory = params.index_factory ? params.index_factory : "Flat";
    params.warn = on_warning;
    params.user = &state;
    params.stop = &stop_signal;
    catch_stop_signals();

    scivec_embed_result res;
    int rc = scivec_embed(&params, &res);
    if (state.progress_started) sv_progress_finish(&state.progress, res.rows_read);
    if (state.n_warnings > MAX_WARNINGS_SHOWN)
        fprintf(stderr, "scivec embed: ... and %lld more skipped rows\n",
                (long long)(state.n_warnings - MAX_WARNINGS_SHOWN));
    if (rc && res.interrupted) {
        int sig = stop_signal ? stop_signal : SIGINT;
        fprintf(stderr, "\nscivec embed: stopped by %s: %s\n",
                sig == SIGTERM ? "SIGTERM" : "SIGINT", scivec_last_error());
        return 128 + sig; /* 130 for SIGINT, 143 for SIGTERM, as a shell reports them */
    }
    if (rc) return cli_fail("embed");

    int64_t skipped = res.skipped_empty_text + res.skipped_malformed + res.skipped_duplicate_id +
                      res.skipped_wrong_type;
    if (res.resumed_rows)
        fprintf(stderr, "scivec embed: resumed after %lld papers already embedded\n",
                (long long)res.resumed_rows);
    fprintf(stderr, "scivec embed: pooling: %s (%s), max length %d, %s\n", res.pooling,
            res.pooling_reason, res.max_length, params.normalize ? "normalized" : "not normalized");
    if (res.adapter[0] || (res.adapter_note[0] && strcmp(res.adapter_note, "none (no --adapter)")))
        fprintf(stderr, "scivec embed: adapter: %s%s%s%s\n", res.adapter,
                res.adapter[0] ? " (" : "", res.adapter_note, res.adapter[0] ? ")" : "");
    if (res.query_adapter[0])
        fprintf(stderr, "scivec embed: query adapter (recorded for search): %s\n",
                res.query_adapter);
    if (res.precision_quality.n)
        fprintf(stderr,
                "scivec embed: precision vs fp32 on the first %d papers: cosine mean %.5f, "
                "min %.5f, top-%d neighbour overlap %.3f\n",
                res.precision_quality.n, res.precision_quality.mean_cosine,
                res.precision_quality.min_cosine, res.precision_quality.top_k,
                res.precision_quality.top_k_overlap);
    fprintf(stderr,
            "scivec embed: %lld papers embedded (dim %d) into %s; %lld rows read, %lld skipped "
            "(%lld empty text, %lld malformed, %lld duplicate id, %lld wrong type), %lld "
            "truncated; index %s\n",
            (long long)res.n_papers, res.dim, params.out_dir, (long long)res.rows_read,
            (long long)skipped, (long long)res.skipped_empty_text, (long long)res.skipped_malformed,
            (long long)res.skipped_duplicate_id, (long long)res.skipped_wrong_type,
            (long long)res.n_truncated, res.index_type);
    if (res.index_search[0]) fprintf(stderr, "scivec embed: index search: %s\n", res.index_search);
    if (res.n_utf8_repaired)
        fprintf(stderr,
                "scivec embed: %lld papers held invalid UTF-8 or NUL bytes; papers.db stores them "
                "repaired (U+FFFD, NULs dropped)\n",
                (long long)res.n_utf8_repaired);
    if (res.n_invalid_utf8)
        fprintf(stderr,
                "scivec embed: %lld texts held invalid UTF-8 (Latin-1 bytes?); each bad byte "
                "sequence was read as U+FFFD, which the tokenizer drops\n",
                (long long)res.n_invalid_utf8);
    return 0;
}
