/*
 * model_dir.c - --model as a folder, or as a HuggingFace repo id: from the
 * local hub cache first, else downloaded into it (hub.c) unless offline.
 *
 * Cache layout (huggingface_hub): <cache>/models--ORG--NAME/refs/<rev> holds
 * a commit hash; the files are in <cache>/models--ORG--NAME/snapshots/<hash>/.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "hub/hub.h"
#include "hub/model_dir.h"

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int sv_resolve_model_dir_ex(const char *model, int refresh, char **dir) {
    *dir = NULL;
    if (!model || !*model) return sv_error(SCIVEC_EINVAL, "no model given");
    if (is_dir(model)) {
        *dir = strdup(model);
        return *dir ? SCIVEC_OK : sv_error(SCIVEC_ENOMEM, "out of memory");
    }
    sv_hub_ref ref;
    int status = sv_hub_parse_ref(model, &ref);
    if (status) return status;
    char *cache = sv_hub_cache_dir();
    if (!cache) return sv_error(SCIVEC_ENOMEM, "out of memory");

    int complete = 0, offline = sv_hub_offline(), unreachable = 0;
    char *snapshot = sv_hub_cached_snapshot(cache, &ref, &complete);
    // offline, an incomplete snapshot is still handed over: the loader names what is missing
    if (snapshot && (offline || (complete && !refresh))) {
        free(cache);
        *dir = snapshot;
        return SCIVEC_OK;
    }
    if (offline) {
        status = sv_error(SCIVEC_ENOTFOUND,
                          "model '%s' is neither a directory nor in the HuggingFace cache at %s "
                          "(revision '%s'); pass the folder of a downloaded model (HF_HUB_OFFLINE "
                          "is set: nothing is downloaded)",
                          model, cache, ref.revision);
        free(cache);
        return status;
    }

    char *downloaded = NULL;
    status = sv_hub_download(cache, &ref, &downloaded, &unreachable);
    if (status == SCIVEC_OK) {
        free(snapshot);
        free(cache);
        *dir = downloaded;
        return SCIVEC_OK;
    }
    if (unreachable && snapshot) {
        // as huggingface_hub does: no hub, but the cache has this revision
        // (if files are missing there, the loader names them)
        free(cache);
        *dir = snapshot;
        sv_clear_error();
        return SCIVEC_OK;
    }
    free(snapshot);
    if (unreachable) {
        char hub_message[800];
        snprintf(hub_message, sizeof hub_message, "%s", scivec_last_error());
        status = sv_error(SCIVEC_ENOTFOUND,
                          "model '%s' is neither a directory nor in the HuggingFace cache at %s "
                          "(revision '%s'), and %s (pass the folder of a downloaded model as "
                          "--model)",
                          model, cache, ref.revision, hub_message);
    } else {
        status = sv_error_prefix(status, "model '%s'", model);
    }
    free(cache);
    return status;
}

int sv_resolve_model_dir(const char *model, char **dir) {
    return sv_resolve_model_dir_ex(model, 0, dir);
}
