/*
 * cmd_info.c - `scivec info DIR`: what an embed output holds (its
 * metadata.json) and whether its four files agree, row by row. Any
 * disagreement is listed and the exit status is 1.
 */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "commands.h"
#include "../src/query.h"
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

static void print_json(const sv_outdir *od) {
    cJSON *out = cJSON_CreateObject();
    cJSON *problems = cJSON_AddArrayToObject(out, "problems");
    for (int i = 0; problems && i < od->n_problems; i++)
        cJSON_AddItemToArray(problems, cJSON_CreateString(od->problems[i]));
    cJSON_AddBoolToObject(out, "ok", od->n_problems == 0);
    cJSON *files = cJSON_AddObjectToObject(out, "files");
    if (files && od->vectors) {
        cJSON *npy = cJSON_AddObjectToObject(files, "embeddings.npy");
        cJSON_AddNumberToObject(npy, "rows", (double)od->n_rows);
        cJSON_AddNumberToObject(npy, "cols", (double)od->n_cols);
    }
    if (files && od->index) {
        cJSON *index = cJSON_AddObjectToObject(files, "papers.index");
        cJSON_AddStringToObject(index, "type", sv_fq_type_name(od->index));
        cJSON_AddNumberToObject(index, "ntotal", (double)sv_fq_ntotal(od->index));
        cJSON_AddNumberToObject(index, "dim", sv_fq_dim(od->index));
    }
    if (files && od->db && od->n_db_rows >= 0)
        cJSON_AddNumberToObject(cJSON_AddObjectToObject(files, "papers.db"), "papers",
                                (double)od->n_db_rows);
    if (od->metadata) cJSON_AddItemReferenceToObject(out, "metadata", od->metadata);
    char *text = cJSON_Print(out);
    if (text) puts(text);
    cJSON_free(text);
    cJSON_Delete(out);
}

int cmd_info(int argc, char **argv) {
    const char *dir = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) { fputs(usage, stdout); return 0; }
        if (!strcmp(argv[i], "--json")) { json = 1; continue; }
        if (argv[i][0] == '-' || dir) {
            fprintf(stderr, "scivec info: unexpected argument '%s'\n%s", argv[i], usage);
            return 2;
        }
        dir = argv[i];
    }
    if (!dir) { fprintf(stderr, "scivec info: expected DIR\n%s", usage); return 2; }

    sv_outdir *od;
    if (sv_outdir_load(dir, SV_CHECK_FULL, &od) != SCIVEC_OK) return cli_fail("info");
    if (json) {
        print_json(od);
    } else {
        printf("%s\n", dir);
        if (od->metadata) {
            printf("metadata.json:\n");
            print_members(od->metadata, "");
        }
        printf("files:\n");
        if (od->vectors)
            printf("  %-28s %lld rows x %lld float32\n", "embeddings.npy",
                   (long long)od->n_rows, (long long)od->n_cols);
        if (od->index)
            printf("  %-28s %s, %lld vectors of dimension %d\n", "papers.index",
                   sv_fq_type_name(od->index), (long long)sv_fq_ntotal(od->index), sv_fq_dim(od->index));
        if (od->db && od->n_db_rows >= 0)
            printf("  %-28s %lld papers\n", "papers.db", (long long)od->n_db_rows);
        if (od->n_problems == 0) {
            if (!od->index || sv_fq_exact_vectors(od->index))
                printf("checks: ok (counts, dimensions and every row's vector agree across the four files)\n");
            else
                printf("checks: ok (counts and dimensions agree; every row's vector agrees between "
                       "embeddings.npy and papers.db; %s keeps approximate codes, so its vectors "
                       "were not compared)\n", sv_fq_type_name(od->index));
        } else {
            printf("checks: %d problem%s\n", od->n_problems, od->n_problems == 1 ? "" : "s");
            for (int i = 0; i < od->n_problems; i++) {
                printf("  - %s\n", od->problems[i]);
                fprintf(stderr, "scivec info: %s: %s\n", dir, od->problems[i]);
            }
        }
    }
    int status = od->n_problems ? 1 : 0;
    sv_outdir_close(od);
    return status;
}
