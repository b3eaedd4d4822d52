/*
 * cmd_info.c - `scivec info DIR`: what an embed output holds (its
 * metadata.json) and whether its four files agree, row by row. Any
 * disagreement is listed and the exit status is 1.
 */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "commands.h"
#include "options.h"
#include "scivec.h"

static const char usage[] =
    "usage: scivec info DIR [--json]\n"
    "  prints DIR/metadata.json and checks that embeddings.npy, papers.index, papers.db and\n"
    "  metadata.json agree (counts, dimensions, the same vector in every row); exit status 1\n"
    "  and one line per problem when they do not\n";

/* metadata.json as "key: value" lines, nested objects as "model.name". */
static void print_members(const cJSON *obj, const char *prefix) {
    for (const cJSON *item = obj ? obj->child : NULL; item; item = item->next) {
        char name[256];
        snprintf(name, sizeof name, "%s%s", prefix, item->string ? item->string : "?");
        if (cJSON_IsObject(item) && item->child) {
            char nested[260];
            snprintf(nested, sizeof nested, "%s.", name);
            print_members(item, nested);
            continue;
        }
        char *value = cJSON_IsString(item) ? NULL : cJSON_PrintUnformatted(item);
        printf("  %-28s %s\n", name, value ? value : item->valuestring ? item->valuestring : "?");
        cJSON_free(value);
    }
}

static void print_json(const scivec_outdir *od, cJSON *metadata) {
    int n_problems = scivec_outdir_n_problems(od);
    int64_t n_rows, n_cols;
    const float *vectors = scivec_outdir_vectors(od, &n_rows, &n_cols);
    const char *index_type = scivec_outdir_index_type(od);
    cJSON *out = cJSON_CreateObject();
    cJSON *problems = cJSON_AddArrayToObject(out, "problems");
    for (int i = 0; problems && i < n_problems; i++)
        cJSON_AddItemToArray(problems, cJSON_CreateString(scivec_outdir_problem(od, i)));
    cJSON_AddBoolToObject(out, "ok", n_problems == 0);
    cJSON *files = cJSON_AddObjectToObject(out, "files");
    if (files && vectors) {
        cJSON *npy = cJSON_AddObjectToObject(files, "embeddings.npy");
        cJSON_AddNumberToObject(npy, "rows", (double)n_rows);
        cJSON_AddNumberToObject(npy, "cols", (double)n_cols);
    }
    if (files && index_type) {
        cJSON *index = cJSON_AddObjectToObject(files, "papers.index");
        cJSON_AddStringToObject(index, "type", index_type);
        cJSON_AddNumberToObject(index, "ntotal", (double)scivec_outdir_index_ntotal(od));
        cJSON_AddNumberToObject(index, "dim", scivec_outdir_index_dim(od));
    }
    if (files && scivec_outdir_db_rows(od) >= 0)
        cJSON_AddNumberToObject(cJSON_AddObjectToObject(files, "papers.db"), "papers",
                                (double)scivec_outdir_db_rows(od));
    if (metadata) cJSON_AddItemReferenceToObject(out, "metadata", metadata);
    char *text = cJSON_Print(out);
    if (text) puts(text);
    cJSON_free(text);
    cJSON_Delete(out);
}

int cmd_info(int argc, char **argv) {
    const char *dir = NULL;
    int json = 0;
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},
        {"json", no_argument, NULL, 'j'},
        {NULL, 0, NULL, 0},
    };
    int c;
    cli_getopt_begin();
    while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
            case 'h': fputs(usage, stdout); return 0;
            case 'j': json = 1; break;
            default:
                fprintf(stderr, "scivec info: unexpected argument '%s'\n%s", cli_bad_option(argv),
                        usage);
                return 2;
        }
    }
    for (int i = optind; i < argc; i++) {
        if (dir) {
            fprintf(stderr, "scivec info: unexpected argument '%s'\n%s", argv[i], usage);
            return 2;
        }
        dir = argv[i];
    }
    if (!dir) {
        fprintf(stderr, "scivec info: expected DIR\n%s", usage);
        return 2;
    }

    scivec_outdir *od;
    if (scivec_outdir_check(dir, 1, &od) != SCIVEC_OK) return cli_fail("info");
    /* metadata.json as the library read it (NULL when unreadable). */
    const char *metadata_text = scivec_outdir_metadata_json(od);
    cJSON *metadata = metadata_text ? cJSON_Parse(metadata_text) : NULL;
    int n_problems = scivec_outdir_n_problems(od);
    if (json) {
        print_json(od, metadata);
    } else {
        int64_t n_rows, n_cols;
        const char *index_type = scivec_outdir_index_type(od);
        printf("%s\n", dir);
        if (metadata) {
            printf("metadata.json:\n");
            print_members(metadata, "");
        }
        printf("files:\n");
        if (scivec_outdir_vectors(od, &n_rows, &n_cols))
            printf("  %-28s %lld rows x %lld float32\n", "embeddings.npy", (long long)n_rows,
                   (long long)n_cols);
        if (index_type)
            printf("  %-28s %s, %lld vectors of dimension %d\n", "papers.index", index_type,
                   (long long)scivec_outdir_index_ntotal(od), scivec_outdir_index_dim(od));
        if (scivec_outdir_db_rows(od) >= 0)
            printf("  %-28s %lld papers\n", "papers.db", (long long)scivec_outdir_db_rows(od));
        /* papers.db holds vectors only when embed ran with --db-vectors
         * (metadata "db_vectors"; folders made before the flag all do) */
        const cJSON *db_vectors = cJSON_GetObjectItemCaseSensitive(metadata, "db_vectors");
        int db_has_vectors = !cJSON_IsBool(db_vectors) || cJSON_IsTrue(db_vectors);
        int index_exact = !index_type || scivec_outdir_index_exact(od);
        if (n_problems == 0) {
            if (index_exact && db_has_vectors)
                printf("checks: ok (counts, dimensions and every row's vector agree across the "
                       "four files)\n");
            else if (index_exact)
                printf("checks: ok (counts and dimensions agree; every row's vector agrees between "
                       "embeddings.npy and papers.index; papers.db holds no vectors, as without "
                       "embed --db-vectors)\n");
            else if (db_has_vectors)
                printf("checks: ok (counts and dimensions agree; every row's vector agrees between "
                       "embeddings.npy and papers.db; %s keeps approximate codes, so its vectors "
                       "were not compared)\n",
                       index_type);
            else
                printf("checks: ok (counts and dimensions agree; %s keeps approximate codes and "
                       "papers.db no vectors, so no row's vector was compared)\n",
                       index_type);
        } else {
            printf("checks: %d problem%s\n", n_problems, n_problems == 1 ? "" : "s");
            for (int i = 0; i < n_problems; i++) {
                printf("  - %s\n", scivec_outdir_problem(od, i));
                fprintf(stderr, "scivec info: %s: %s\n", dir, scivec_outdir_problem(od, i));
            }
        }
    }
    cJSON_Delete(metadata);
    scivec_outdir_free(od);
    return n_problems ? 1 : 0;
}
