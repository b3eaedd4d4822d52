/*
 * serve_adapter.c - the query adapter metadata.json records, added to the
 * model `scivec serve` embeds queries with (moved from query_common.c when
 * `scivec search` went onto scivec_outdir_search, which does the same
 * inside the library; serve can follow and drop this file).
 */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "commands.h"
#include "query_common.h"
#include "serve.h"

int query_add_recorded_adapter(const char *command, const sv_outdir *od, scivec_model *model,
                               int *adapter_id) {
    *adapter_id = 0;
    const cJSON *adapters = cJSON_GetObjectItemCaseSensitive(od->metadata, "adapters");
    const char *role = "queries";
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(adapters, role);
    if (!cJSON_IsObject(a)) {
        role = "papers";
        a = cJSON_GetObjectItemCaseSensitive(adapters, role);
    }
    if (!cJSON_IsObject(a)) return 0;
    const cJSON *path = cJSON_GetObjectItemCaseSensitive(a, "path");
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(a, "ref");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(a, "name");
    const char *source = cJSON_IsString(path) && query_is_dir(path->valuestring) ? path->valuestring
                       : cJSON_IsString(ref) ? ref->valuestring : NULL;
    if (!source) {
        fprintf(stderr, "scivec %s: %s/metadata.json: adapters.%s has neither an existing "
                "path nor a ref\n", command, od->dir, role);
        return 1;
    }
    if (scivec_model_add_adapter(model, source, adapter_id) != SCIVEC_OK) return cli_fail(command);
    const char *loaded = scivec_model_adapter_name(model, *adapter_id);
    if (cJSON_IsString(name) && strcmp(name->valuestring, loaded) != 0)
        fprintf(stderr, "scivec %s: warning: %s holds adapter '%s' but %s/metadata.json "
                "recorded '%s'\n", command, source, loaded, od->dir, name->valuestring);
    fprintf(stderr, "scivec %s: query adapter: %s (%s, as recorded for the %s)\n", command,
            loaded, source, role);
    return 0;
}
