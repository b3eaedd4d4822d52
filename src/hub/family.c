/*
 * family.c - the table of model families and how a model is matched to it
 * (family.h). Adding a family is one line of the table.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/files.h"
#include "core/json.h"
#include "hub/family.h"
#include "hub/hub.h"

static const sv_family families[] = {
    {"specter2", "allenai/specter2_base", "allenai/specter2", "allenai/specter2_adhoc_query"},
    {"specter2_aug2023refresh", "allenai/specter2_aug2023refresh_base",
     "allenai/specter2_aug2023refresh", "allenai/specter2_aug2023refresh_adhoc_query"},
};

/* repo_id without an @REVISION, into out. */
static void strip_revision(const char *repo_id, char *out, size_t out_size) {
    snprintf(out, out_size, "%s", repo_id ? repo_id : "");
    char *at = strchr(out, '@');
    if (at) *at = '\0';
}

const sv_family *sv_family_of_base(const char *repo_id) {
    char id[256];
    strip_revision(repo_id, id, sizeof id);
    for (size_t i = 0; i < SV_ARRAY_LEN(families); i++)
        if (strcmp(id, families[i].base) == 0) return &families[i];
    return NULL;
}

const sv_family *sv_family_of_adapter(const char *repo_id) {
    char id[256];
    strip_revision(repo_id, id, sizeof id);
    for (size_t i = 0; i < SV_ARRAY_LEN(families); i++)
        if (strcmp(id, families[i].papers) == 0 || strcmp(id, families[i].queries) == 0)
            return &families[i];
    return NULL;
}

/* ORG/NAME from ".../models--ORG--NAME/snapshots/<commit>[/]", else 0. */
static int cache_snapshot_id(const char *dir, char *out, size_t out_size) {
    const char *snap = strstr(dir, "/snapshots/");
    if (!snap) return 0;
    const char *start = snap;
    while (start > dir && start[-1] != '/') start--;
    if (strncmp(start, "models--", 8) != 0) return 0;
    start += 8;
    size_t len = (size_t)(snap - start);
    char folder[256];
    if (len == 0 || len >= sizeof folder) return 0;
    memcpy(folder, start, len);
    folder[len] = '\0';
    char *sep = strstr(folder, "--"); // huggingface_hub's "/" -> "--"
    if (sep) {
        *sep = '/';
        memmove(sep + 1, sep + 2, strlen(sep + 2) + 1);
    }
    snprintf(out, out_size, "%s", folder);
    return 1;
}

void sv_model_identity(const char *ref, const char *dir, char *out, size_t out_size) {
    out[0] = '\0';
    struct stat st;
    int is_folder = ref && stat(ref, &st) == 0 && S_ISDIR(st.st_mode);
    if (ref && !is_folder) {
        sv_hub_ref hub_ref;
        if (sv_hub_parse_ref(ref, &hub_ref) == SCIVEC_OK) {
            snprintf(out, out_size, "%s", hub_ref.repo_id);
            return;
        }
        sv_clear_error();
    }
    if (!dir) return;
    char resolved[4096];
    if (cache_snapshot_id(realpath(dir, resolved) ? resolved : dir, out, out_size)) return;
    char *config_path = sv_path_join(dir, "config.json");
    cJSON *root = NULL;
    if (config_path && sv_json_read_object(config_path, &root) == SCIVEC_OK) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(root, "_name_or_path");
        if (cJSON_IsString(name) && sv_family_of_base(name->valuestring))
            snprintf(out, out_size, "%s", name->valuestring);
        cJSON_Delete(root);
    }
    sv_clear_error();
    free(config_path);
}
