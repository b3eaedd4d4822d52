/*
 * query_common.c - options and output shared by `scivec similar` and
 * `scivec search`.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "commands.h"
#include "query_common.h"
#include "scivec.h"

static int parse_count(const char *text, long long lo, long long hi, long long *out) {
    char *end;
    long long v = strtoll(text, &end, 10);
    if (end == text || *end || v < lo || v > hi) return 0;
    *out = v;
    return 1;
}

int query_parse_args(const char *command, const char *usage, int argc, char **argv,
                     int is_search, query_options *o) {
    memset(o, 0, sizeof *o);
    o->k = is_search ? 10 : 5;
    o->filter.categories = o->categories;
    const char *positional[2];
    int n_positional = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        /* Options taking a value accept "--opt V" and "--opt=V". */
        const char *value = NULL, *eq = strchr(arg, '=');
        size_t name_len = eq && arg[0] == '-' ? (size_t)(eq - arg) : strlen(arg);
#define OPT(name) (strlen(name) == name_len && !strncmp(arg, name, name_len))
#define VALUE()                                                                     \
        do {                                                                        \
            if (eq && arg[0] == '-') value = eq + 1;                                \
            else if (i + 1 < argc) value = argv[++i];                               \
            else {                                                                  \
                fprintf(stderr, "scivec %s: %.*s needs a value\n%s", command,       \
                        (int)name_len, arg, usage);                                 \
                return 2;                                                           \
            }                                                                       \
        } while (0)
        long long v;
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            fputs(usage, stdout);
            return 0;
        } else if (!strcmp(arg, "--json")) {
            o->json = 1;
        } else if (!strncmp(arg, "-k", 2) && arg[2] && strcmp(arg, "-k") && arg[2] != '=') {
            if (!parse_count(arg + 2, 1, 1000000, &v)) goto bad_k;
            o->k = v;
        } else if (OPT("-k") || OPT("--k") || OPT("--top-k")) {
            VALUE();
            if (!parse_count(value, 1, 1000000, &v)) goto bad_k;
            o->k = v;
        } else if (OPT("--category")) {
            VALUE();
            if (!*value) {
                fprintf(stderr, "scivec %s: --category needs a category (e.g. cs.CV)\n", command);
                return 2;
            }
            if (o->filter.n_categories == QUERY_MAX_CATEGORIES) {
                fprintf(stderr, "scivec %s: at most %d --category options\n", command,
                        QUERY_MAX_CATEGORIES);
                return 2;
            }
            o->categories[o->filter.n_categories++] = value;
        } else if (OPT("--year")) {
            VALUE();
            if (scivec_filter_parse_year(value, &o->filter) != SCIVEC_OK) {
                fprintf(stderr, "scivec %s: %s\n", command, scivec_last_error());
                return 2;
            }
        } else if (is_search && OPT("--threads")) {
            VALUE();
            if (!parse_count(value, 0, 4096, &v)) {
                fprintf(stderr, "scivec %s: --threads '%s': expected a number >= 0\n", command, value);
                return 2;
            }
            o->n_threads = (int)v;
        } else if (OPT("--nprobe") || OPT("--ef-search")) {
            int is_nprobe = OPT("--nprobe");
            VALUE();
            if (!parse_count(value, 1, 1 << 20, &v)) {
                fprintf(stderr, "scivec %s: %s '%s': expected a whole number >= 1\n", command,
                        is_nprobe ? "--nprobe" : "--ef-search", value);
                return 2;
            }
            if (is_nprobe) o->nprobe = (int)v;
            else o->ef_search = (int)v;
        } else if (is_search && !strcmp(arg, "--verify-model")) {
            o->verify_model = 1;
        } else if (is_search && OPT("--model")) {
            VALUE();
            o->model = value;
        } else if (is_search && OPT("--precision")) {
            VALUE();
            scivec_precision unused;
            if (cli_precision_option(command, value, &unused)) return 2;
            o->precision = value;
        } else if (is_search && !strcmp(arg, "--force-precision")) {
            o->force_precision = 1;
        } else if (arg[0] == '-' && arg[1] && strcmp(arg, "--") != 0) {
            fprintf(stderr, "scivec %s: unknown option '%s'\n%s", command, arg, usage);
            return 2;
        } else {
            if (!strcmp(arg, "--")) {
                if (++i >= argc) break;
                arg = argv[i];
            }
            if (n_positional == 2) {
                fprintf(stderr, "scivec %s: unexpected argument '%s'\n%s", command, arg, usage);
                return 2;
            }
            positional[n_positional++] = arg;
        }
        continue;
    bad_k:
        fprintf(stderr, "scivec %s: -k expects a whole number from 1 to 1000000\n", command);
        return 2;
#undef OPT
#undef VALUE
    }
    if (n_positional != 2) {
        fprintf(stderr, "scivec %s: expected DIR and %s\n%s", command,
                is_search ? "the query text" : "PAPER_ID", usage);
        return 2;
    }
    o->dir = positional[0];
    o->subject = positional[1];
    return -1;
}

/* Titles keep the source's hard line breaks ("...Tevatron and\n  LHC
 * energies"); one line per result reads better. */
void query_print_one_line(const char *s) {
    int space = 0;
    for (; s && *s; s++) {
        if (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t') { space = 1; continue; }
        if (space) putchar(' ');
        space = 0;
        putchar(*s);
    }
}

void query_print_one_line_max(const char *s, size_t max_bytes) {
    size_t len = strlen(s);
    if (len <= max_bytes) { query_print_one_line(s); return; }
    size_t cut = max_bytes;
    while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80) cut--;   /* not inside a character */
    char *head = strndup(s, cut);
    query_print_one_line(head ? head : "");
    free(head);
    printf("... (%zu bytes)", len);
}

void query_say_fewer(const char *command, const scivec_outdir *od, const query_options *opts, int64_t n_hits) {
    if (opts->filter.n_categories || opts->filter.has_year)
        fprintf(stderr, "scivec %s: only %lld papers pass the filters\n", command, (long long)n_hits);
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
            if (!item) { cJSON_Delete(array); return NULL; }
            cJSON_AddItemToArray(array, item);
        }
        s += len;
    }
    return array;
}

int query_print_hits(const char *command, const scivec_outdir *od, const scivec_hit *hits,
                     int64_t n_hits, int json) {
    cJSON *array = json ? cJSON_CreateArray() : NULL;
    if (json && !array) goto oom;
    for (int64_t i = 0; i < n_hits; i++) {
        scivec_paper p;
        if (scivec_outdir_paper(od, hits[i].row, &p) != SCIVEC_OK) {
            cJSON_Delete(array);
            return cli_fail(command);
        }
        if (json) {
            cJSON *hit = cJSON_CreateObject();
            cJSON *cats = categories_array(p.categories);
            if (!hit || !cats) { cJSON_Delete(hit); cJSON_Delete(cats); scivec_paper_clear(&p); goto oom; }
            cJSON_AddItemToArray(array, hit);
            cJSON_AddNumberToObject(hit, "rank", (double)(i + 1));
            cJSON_AddStringToObject(hit, "paper_id", p.paper_id ? p.paper_id : "");
            cJSON_AddNumberToObject(hit, "score", hits[i].score);
            if (p.title) cJSON_AddStringToObject(hit, "title", p.title);
            else cJSON_AddNullToObject(hit, "title");
            cJSON_AddItemToObject(hit, "categories", cats);
            if (p.has_year) cJSON_AddNumberToObject(hit, "year", p.year);
            else cJSON_AddNullToObject(hit, "year");
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
        char *text = cJSON_PrintUnformatted(array);
        cJSON_Delete(array);
        if (!text) goto oom;
        puts(text);
        free(text);
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "scivec %s: cannot write the results\n", command);
        return 1;
    }
    return 0;
oom:
    cJSON_Delete(array);
    fprintf(stderr, "scivec %s: out of memory\n", command);
    return 1;
}

int query_is_dir(const char *path) {
    struct stat st;
    return path && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}
