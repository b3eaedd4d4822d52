/* test_model_dir.c - --model resolution: folders as is, repo ids through a
 * HuggingFace hub cache laid out here in a temp dir. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/error.h"
#include "hub/model_dir.h"

static char tmp_dir[] = "/tmp/sv_test_model_dir_XXXXXX";

static void sh(const char *fmt, const char *a, const char *b) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, fmt, a, b);
    if (system(cmd) != 0) {
        fprintf(stderr, "failed: %s\n", cmd);
        exit(2);
    }
}

static int error_has(const char *needle) { return strstr(scivec_last_error(), needle) != NULL; }

/* Resolves model and checks the result ends with want_suffix (NULL = must fail). */
static void expect(const char *model, const char *want_suffix) {
    char *dir = NULL;
    int rc = sv_resolve_model_dir(model, &dir);
    if (want_suffix) {
        size_t n = dir ? strlen(dir) : 0, m = strlen(want_suffix);
        CHECK(rc == 0 && n >= m && strcmp(dir + n - m, want_suffix) == 0, "%s -> %s (%s)", model,
              dir ? dir : "(null)", scivec_last_error());
    } else {
        CHECK(rc == SCIVEC_ENOTFOUND && dir == NULL, "%s should not resolve (got %s)", model,
              dir ? dir : "");
    }
    free(dir);
}

int main(void) {
    /* These are cache look-ups: never let a test reach the real hub. */
    setenv("HF_HUB_OFFLINE", "1", 1);
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 2;
    }
    const char *commit = "0123456789abcdef0123456789abcdef01234567";
    const char *pinned = "fedcba9876543210fedcba9876543210fedcba98";
    char repo[600];
    snprintf(repo, sizeof repo, "%s/hub/models--allenai--specter2_base", tmp_dir);
    sh("mkdir -p %s/snapshots/%s", repo, commit);
    sh("mkdir -p %s/snapshots/%s", repo, pinned);
    sh("mkdir -p %s/refs%s", repo, "");
    char ref[700];
    snprintf(ref, sizeof ref, "%s/refs/main", repo);
    FILE *f = fopen(ref, "w");
    fprintf(f, "%s\n", commit);
    fclose(f);
    snprintf(ref, sizeof ref, "%s/refs/v2", repo);
    f = fopen(ref, "w");
    fprintf(f, "%s", pinned);
    fclose(f);
    sh("mkdir -p %s/hub/models--bert-base-uncased/snapshots/%s", tmp_dir, commit);
    snprintf(ref, sizeof ref, "%s/hub/models--bert-base-uncased/refs", tmp_dir);
    sh("mkdir -p %s%s", ref, "");
    strcat(ref, "/main");
    f = fopen(ref, "w");
    fprintf(f, "%s", commit);
    fclose(f);

    /* A folder is used as is, cache or not. */
    expect(SV_FIXTURES "/models/tiny-scibert", "/models/tiny-scibert");

    /* $HF_HUB_CACHE first. */
    char hub[600];
    snprintf(hub, sizeof hub, "%s/hub", tmp_dir);
    setenv("HF_HUB_CACHE", hub, 1);
    char want[200];
    snprintf(want, sizeof want, "models--allenai--specter2_base/snapshots/%s", commit);
    expect("allenai/specter2_base", want);
    expect("allenai/specter2_base@main", want);
    snprintf(want, sizeof want, "models--allenai--specter2_base/snapshots/%s", pinned);
    expect("allenai/specter2_base@v2", want);
    expect("allenai/specter2_base@fedcba9876543210fedcba9876543210fedcba98", want);
    snprintf(want, sizeof want, "models--bert-base-uncased/snapshots/%s", commit);
    expect("bert-base-uncased", want);
    expect("allenai/specter2_base@nosuchrev", NULL);
    expect("allenai/other", NULL);
    CHECK(
        error_has("model 'allenai/other' is neither a directory nor in the HuggingFace cache at") &&
            error_has(hub) && error_has("pass the folder of a downloaded model"),
        "message: %s", scivec_last_error());
    /* Nothing may climb out of the cache. */
    expect("../hub/x", NULL);
    expect("allenai/..", NULL);
    expect("allenai/specter2_base@../../x", NULL);
    expect("a/b/c", NULL);

    /* $HF_HOME/hub when HF_HUB_CACHE is unset. */
    unsetenv("HF_HUB_CACHE");
    setenv("HF_HOME", tmp_dir, 1);
    snprintf(want, sizeof want, "models--allenai--specter2_base/snapshots/%s", commit);
    expect("allenai/specter2_base", want);

    /* ~/.cache/huggingface/hub last. */
    unsetenv("HF_HOME");
    sh("mkdir -p %s/home/.cache/huggingface%s", tmp_dir, "");
    char home[600];
    snprintf(home, sizeof home, "%s/home", tmp_dir);
    sh("mv %s/hub %s/.cache/huggingface/hub", tmp_dir, home);
    setenv("HOME", home, 1);
    expect("allenai/specter2_base", want);
    expect("allenai/other", NULL);
    CHECK(error_has("/home/.cache/huggingface/hub"), "home message: %s", scivec_last_error());

    char *dir = NULL;
    CHECK(sv_resolve_model_dir("", &dir) == SCIVEC_EINVAL, "empty model");
    sh("rm -rf %s%s", tmp_dir, "");
    return check_report();
}
