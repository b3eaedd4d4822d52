/*
 * model_dir.c - --model as a folder, or as a HuggingFace repo id found in the
 * local hub cache (no network: scivec only reads what is already there).
 *
 * Cache layout (huggingface_hub): <cache>/models--ORG--NAME/refs/<rev> holds
 * a commit hash; the files are in <cache>/models--ORG--NAME/snapshots/<hash>/.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bert.h"
#include "common.h"

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub. */
static char *hub_cache_dir(void) {
    const char *env = getenv("HF_HUB_CACHE");
    if (env && *env) return strdup(env);
    env = getenv("HF_HOME");
    if (env && *env) return sv_path_join(env, "hub");
    const char *home = getenv("HOME");
    if (!home || !*home) home = ".";
    return sv_path_join(home, ".cache/huggingface/hub");
}

/* Repo ids and revisions may not climb out of the cache. */
static int safe_component(const char *s, size_t n) {
    if (n == 0 || n > 200) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(isalnum(c) || c == '-' || c == '_' || c == '.')) return 0;
    }
    return !(n == 1 && s[0] == '.') && !(n >= 2 && memmem(s, n, "..", 2));
}

/* The commit hash stored in refs/<rev>, or rev itself when it already is a
 * snapshot folder name (a pinned commit). */
static char *snapshot_for(const char *repo_dir, const char *rev) {
    char rel[512];
    snprintf(rel, sizeof rel, "refs/%s", rev);
    char *ref_path = sv_path_join(repo_dir, rel);
    if (!ref_path) return NULL;
    char *commit = NULL;
    size_t len = 0;
    if (sv_read_file(ref_path, &commit, &len) == SCIVEC_OK) {
        while (len > 0 && isspace((unsigned char)commit[len - 1])) commit[--len] = '\0';
        if (!safe_component(commit, len)) { free(commit); commit = NULL; }
    } else {
        commit = strdup(rev);
    }
    free(ref_path);
    if (!commit) return NULL;
    snprintf(rel, sizeof rel, "snapshots/%s", commit);
    free(commit);
    char *snapshot = sv_path_join(repo_dir, rel);
    if (snapshot && !is_dir(snapshot)) { free(snapshot); snapshot = NULL; }
    return snapshot;
}

int sv_resolve_model_dir(const char *model, char **dir) {
    *dir = NULL;
    if (!model || !*model) return sv_error(SCIVEC_EINVAL, "no model given");
    if (is_dir(model)) {
        *dir = strdup(model);
        return *dir ? SCIVEC_OK : sv_error(SCIVEC_ENOMEM, "out of memory");
    }
    char *cache = hub_cache_dir();
    if (!cache) return sv_error(SCIVEC_ENOMEM, "out of memory");
    /* ORG/NAME[@REV] (or NAME[@REV] for old un-namespaced repos). */
    const char *at = strchr(model, '@');
    size_t id_len = at ? (size_t)(at - model) : strlen(model);
    const char *rev = at ? at + 1 : "main";
    const char *slash = memchr(model, '/', id_len);
    int ok = safe_component(rev, strlen(rev));
    char repo_rel[512] = "";
    if (ok && slash) {
        size_t org_len = (size_t)(slash - model), name_len = id_len - org_len - 1;
        ok = safe_component(model, org_len) && safe_component(slash + 1, name_len);
        if (ok) snprintf(repo_rel, sizeof repo_rel, "models--%.*s--%.*s", (int)org_len, model,
                         (int)name_len, slash + 1);
    } else if (ok) {
        ok = safe_component(model, id_len);
        if (ok) snprintf(repo_rel, sizeof repo_rel, "models--%.*s", (int)id_len, model);
    }
    char *snapshot = NULL;
    if (ok) {
        char *repo_dir = sv_path_join(cache, repo_rel);
        if (repo_dir) snapshot = snapshot_for(repo_dir, rev);
        free(repo_dir);
    }
    if (!snapshot) {
        int rc = sv_error(SCIVEC_ENOTFOUND,
                          "model '%s' is neither a directory nor in the HuggingFace cache at %s "
                          "(revision '%s'); pass the folder of a downloaded model",
                          model, cache, rev);
        free(cache);
        return rc;
    }
    free(cache);
    *dir = snapshot;
    return SCIVEC_OK;
}
