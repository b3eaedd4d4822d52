/* fuzz_hub.c - what a hostile hub or user hands the hub client: bytes as the
 * answer to GET /api/models/{repo}/revision/{rev} (sv_hub_parse_revision) and,
 * the first line, as a --model repo id (sv_hub_parse_ref). Checks that every
 * accepted name stays inside the cache folder it is joined to. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hub/hub.h"

/* A relative path of non-empty parts, none "." or "..", nothing else. */
static int stays_inside(const char *path) {
    if (!*path || path[0] == '/') return 0;
    for (const char *part = path;;) {
        size_t n = strcspn(part, "/");
        if (n == 0 || (n == 1 && part[0] == '.') || (n == 2 && !strncmp(part, "..", 2))) return 0;
        if (!part[n]) return 1;
        part += n + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char commit[128];
    sv_hub_files files;
    if (sv_hub_parse_revision((const char *)data, size, "fuzz", commit, &files) == 0) {
        if (!commit[0] || strchr(commit, '/') || !stays_inside(commit)) abort();
        for (int i = 0; i < files.n; i++) {
            if (!stays_inside(files.names[i]) || strlen(files.names[i]) > 400) abort();
            if (i > 0 && strcmp(files.names[i - 1], files.names[i]) > 0) abort();
        }
        sv_hub_files_free(&files);
    }

    // the first line as ORG/NAME[@REV]
    size_t line = 0;
    while (line < size && line < 1024 && data[line] != '\n') line++;
    char *model = malloc(line + 1);
    if (!model) return 0;
    memcpy(model, data, line);
    model[line] = '\0';
    sv_hub_ref ref;
    if (sv_hub_parse_ref(model, &ref) == 0) {
        if (strncmp(ref.folder, "models--", 8) || strchr(ref.folder, '/') ||
            !stays_inside(ref.folder) || strchr(ref.revision, '/') || !stays_inside(ref.revision))
            abort();
    }
    free(model);
    return 0;
}
