/*
 * query_common.c - options and output shared by `scivec similar` and
 * `scivec search`.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "commands.h"
#include "options.h"
#include "query_common.h"
#include "scivec.h"

enum {
    OPT_JSON = 256,
    OPT_CATEGORY,
    OPT_YEAR,
    OPT_THREADS,
    OPT_NPROBE,
    OPT_EF_SEARCH,
    OPT_VERIFY_MODEL,
    OPT_MODEL,
    OPT_PRECISION,
    OPT_FORCE_PRECISION,
};

/* similar's options; search takes these and the model's (--threads,
 * --model, --verify-model, --precision, --force-precision) too. */
#define QUERY_OPTIONS                                                                              \
    {"help", no_argument, NULL, 'h'}, {"json", no_argument, NULL, OPT_JSON},                       \
        {"k", required_argument, NULL, 'k'}, {"top-k", required_argument, NULL, 'k'},              \
        {"category", required_argument, NULL, OPT_CATEGORY},                                       \
        {"year", required_argument, NULL, OPT_YEAR},                                               \
        {"nprobe", required_argument, NULL, OPT_NPROBE}, {                                         \
        "ef-search", required_argument, NULL, OPT_EF_SEARCH                                        \
    }

static const struct option similar_options[] = {QUERY_OPTIONS, {NULL, 0, NULL, 0}};
static const struct option search_options[] = {
    QUERY_OPTIONS,
    {"threads", required_argument, NULL, OPT_THREADS},
    {"model", required_argument, NULL, OPT_MODEL},
    {"verify-model", no_argument, NULL, OPT_VERIFY_MODEL},
    {"precision", required_argument, NULL, OPT_PRECISION},
    {"force-precision", no_argument, NULL, OPT_FORCE_PRECISION},
    {NULL, 0, NULL, 0},
};

int query_parse_args(const char *command, const char *usage, int argc, char **argv, int is_search,
                     query_options *o) {
    memset(o, 0, sizeof *o);
    o->k = is_search ? 10 : 5;
    o->filter.categories = o->categories;
    long long v;
    int c;
    cli_getopt_begin();
    while ((c = getopt_long(argc, argv, ":hk:", is_search ? search_options : similar_options,
                            NULL)) != -1) {
        switch (c) {
            case 'h': fputs(usage, stdout); return 0;
            case OPT_JSON: o->json = 1; break;
            case 'k':
                /* (-k5, -k 5, -k=5, --k 5, --top-k=5) */
                if (!cli_parse_ll(optarg + (*optarg == '='), 1, 1000000, &v)) {
                    fprintf(stderr, "scivec %s: -k expects a whole number from 1 to 1000000\n",
                            command);
                    return 2;
                }
                o->k = v;
                break;
            case OPT_CATEGORY:
                if (!*optarg) {
                    fprintf(stderr, "scivec %s: --category needs a category (e.g. cs.CV)\n",
                            command);
                    return 2;
                }
                if (o->filter.n_categories == QUERY_MAX_CATEGORIES) {
                    fprintf(stderr, "scivec %s: at most %d --category options\n", command,
                            QUERY_MAX_CATEGORIES);
                    return 2;
                }
                o->categories[o->filter.n_categories++] = optarg;
                break;
            case OPT_YEAR:
                if (scivec_filter_parse_year(optarg, &o->filter) != SCIVEC_OK) {
                    fprintf(stderr, "scivec %s: %s\n", command, scivec_last_error());
                    return 2;
                }
                break;
            case OPT_THREADS:
                if (!cli_parse_ll(optarg, 0, 4096, &v)) {
                    fprintf(stderr, "scivec %s: --threads '%s': expected a number >= 0\n", command,
                            optarg);
                    return 2;
                }
                o->n_threads = (int)v;
                break;
            case OPT_NPROBE:
            case OPT_EF_SEARCH:
                if (!cli_parse_ll(optarg, 1, 1 << 20, &v)) {
                    fprintf(stderr, "scivec %s: %s '%s': expected a whole number >= 1\n", command,
                            c == OPT_NPROBE ? "--nprobe" : "--ef-search", optarg);
                    return 2;
                }
                if (c == OPT_NPROBE)
                    o->nprobe = (int)v;
                else
                    o->ef_search = (int)v;
                break;
            case OPT_VERIFY_MODEL: o->verify_model = 1; break;
            case OPT_MODEL: o->model = optarg; break;
            case OPT_PRECISION: {
                scivec_precision unused;
                if (cli_precision_option(command, optarg, &unused)) return 2;
                o->precision = optarg;
                break;
            }
            case OPT_FORCE_PRECISION: o->force_precision = 1; break;
            case ':': {
                const char *bad = cli_bad_option(argv), *eq = strchr(bad, '=');
                fprintf(stderr, "scivec %s: %.*s needs a value\n%s", command,
                        eq ? (int)(eq - bad) : (int)strlen(bad), bad, usage);
                return 2;
            }
            default:
                fprintf(stderr, "scivec %s: unknown option '%s'\n%s", command, cli_bad_option(argv),
                        usage);
                return 2;
        }
    }
    if (argc - optind > 2) {
        fprintf(stderr, "scivec %s: unexpected argument '%s'\n%s", command, argv[optind + 2],
                usage);
        return 2;
    }
    if (argc - optind != 2) {
        fprintf(stderr, "scivec %s: expected DIR and %s\n%s", command,
                is_search ? "the query text" : "PAPER_ID", usage);
        return 2;
    }
    o->dir = argv[optind];
    o->subject = argv[optind + 1];
    return -1;
}

/* Titles keep the source's hard line breaks ("...Tevatron and\n  LHC
 * energies"); one line per result reads better. */
void query_print_one_line(const char *s) {
    int space = 0;
    for (; s && *s; s++) {
        if (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t') {
            space = 1;
            continue;
        }
        if (space) putchar(' ');
        space = 0;
        putchar(*s);
    }
}

void query_print_one_line_max(const char *s, size_t max_bytes) {
    size_t len = strlen(s);
    if (len <= max_bytes) {
        query_print_one_line(s);
        return;
    }
    size_t cut = max_bytes;
    while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80) cut--; /* not inside a character */
    char *head = strndup(s, cut);
    query_print_one_line(head ? head : "");
    free(head);
    printf("... (%zu bytes)", len);
}

void query_say_fewer(const char *command, const scivec_outdir *od, const query_options *opts,
                     int64_t n_hits) {
    if (opts->filter.n_categories || opts->filter.has_year)
        fprintf(stderr, "scivec %s: only %lld papers pass the filters\n", command,
                (long long)n_hits);
    else
        fprintf(stderr, "scivec %s: %s holds only %lld papers%s\n", command, scivec_outdir_path(od),
                (long long)scivec_outdir_n_papers(od),
                strcmp(command, "similar") ? "" : ", the paper asked about included");
}

static cJSON *categories_array(const char *categories) {
    cJSON *array = cJSON_CreateArray();
    for (const char *s = categories; array && s && *s;) {
        while (*s == ' ') s++;
        size_t len = strcspn(s, " ");
        if (len) {
            char *one = strndup(s, len);
            cJSON *item = one ? cJSON_CreateString(one) : NULL;
            free(one);
            if (!item) {
                cJSON_Delete(array);
                return NULL;
            }
            cJSON_AddItemToArray(array, item);
        }
        s += len;
    }
    return array;
}

static void out_of_memory(const char *command) {
    fprintf(stderr, "scivec %s: out of memory\n", command);
}

int query_print_hits(const char *command, const scivec_outdir *od, const scivec_hit *hits,
                     int64_t n_hits, int json) {
    int rc = 1;
    cJSON *array = json ? cJSON_CreateArray() : NULL;
    char *text = NULL;
    if (json && !array) {
        out_of_memory(command);
        goto done;
    }
    for (int64_t i = 0; i < n_hits; i++) {
        scivec_paper p;
        if (scivec_outdir_paper(od, hits[i].row, &p) != SCIVEC_OK) {
            cli_fail(command);
            goto done;
        }
        if (json) {
            cJSON *hit = cJSON_CreateObject();
            cJSON *cats = categories_array(p.categories);
            if (!hit || !cats) {
                cJSON_Delete(hit);
                cJSON_Delete(cats);
                scivec_paper_clear(&p);
                out_of_memory(command);
                goto done;
            }
            cJSON_AddItemToArray(array, hit);
            cJSON_AddNumberToObject(hit, "rank", (double)(i + 1));
            cJSON_AddStringToObject(hit, "paper_id", p.paper_id ? p.paper_id : "");
            cJSON_AddNumberToObject(hit, "score", hits[i].score);
            if (p.title)
                cJSON_AddStringToObject(hit, "title", p.title);
            else
                cJSON_AddNullToObject(hit, "title");
            cJSON_AddItemToObject(hit, "categories", cats);
            if (p.has_year)
                cJSON_AddNumberToObject(hit, "year", p.year);
            else
                cJSON_AddNullToObject(hit, "year");
        } else {
            printf("%2lld. [%.4f] ", (long long)(i + 1), hits[i].score);
            query_print_one_line(p.title ? p.title : "(no title)");
            printf("\n    %s | categories: ", p.paper_id ? p.paper_id : "");
            query_print_one_line(p.categories && *p.categories ? p.categories : "(none)");
            if (p.has_year) printf(" | %d", p.year);
            putchar('\n');
        }
        scivec_paper_clear(&p);
    }
    if (json) {
        text = cJSON_PrintUnformatted(array);
        if (!text) {
            out_of_memory(command);
            goto done;
        }
        puts(text);
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "scivec %s: cannot write the results\n", command);
        goto done;
    }
    rc = 0;
done:
    free(text);
    cJSON_Delete(array);
    return rc;
}

int query_is_dir(const char *path) {
    struct stat st;
    return path && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}
