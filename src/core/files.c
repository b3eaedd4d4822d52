/*
 * files.c - the few file-system helpers every reader of model and output
 * files needs: read a whole file, join a path, test for a regular file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/files.h"

int sv_read_file(const char *path, char **data, size_t *size) {
    *data = NULL;
    if (size) *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return sv_error(errno == ENOENT ? SCIVEC_ENOTFOUND : SCIVEC_EIO, "%s: %s", path,
                        strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0) break;
        if (len + 1 == cap) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    int failed = ferror(f);
    fclose(f);
    if (!buf) return sv_error(SCIVEC_ENOMEM, "%s: out of memory reading file", path);
    if (failed) {
        free(buf);
        return sv_error(SCIVEC_EIO, "%s: read error", path);
    }
    buf[len] = '\0';
    *data = buf;
    if (size) *size = len;
    return SCIVEC_OK;
}

char *sv_path_join(const char *dir, const char *name) {
    size_t n_dir = strlen(dir), n_name = strlen(name);
    while (n_dir > 1 && dir[n_dir - 1] == '/') n_dir--;
    char *path = malloc(n_dir + 1 + n_name + 1);
    if (!path) return NULL;
    memcpy(path, dir, n_dir);
    path[n_dir] = '/';
    memcpy(path + n_dir + 1, name, n_name + 1);
    return path;
}

int sv_file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}
