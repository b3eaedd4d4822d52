/*
 * outdir.c - creating, locking and syncing an output folder.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "outdir.h"

int sv_outdir_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int sv_outdir_make(const char *dir) {
    char *path = strdup(dir);
    if (!path) return sv_error(SCIVEC_ENOMEM, "out of memory");
    int rc = SCIVEC_OK;
    for (char *slash = path + 1; !rc; slash++) {
        int at_end = *slash == '\0';
        if (*slash != '/' && !at_end) continue;
        *slash = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            rc = sv_error(SCIVEC_EIO, "%s: %s", path, strerror(errno));
        else if (!sv_outdir_is_dir(path))
            rc = sv_error(SCIVEC_EIO, "%s is not a directory", path);
        if (at_end) break;
        *slash = '/';
    }
    free(path);
    return rc;
}

int sv_outdir_lock(const char *dir, const char *command, int *fd) {
    *fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*fd < 0) return sv_error(SCIVEC_EIO, "%s: %s", dir, strerror(errno));
    if (flock(*fd, LOCK_EX | LOCK_NB) == 0) return SCIVEC_OK;
    int err = errno;
    close(*fd);
    *fd = -1;
    if (err == EWOULDBLOCK)
        return sv_error(SCIVEC_EINVAL, "%s: another scivec command is writing into this folder "
                        "(it holds the folder's lock); wait for it before scivec %s", dir, command);
    return sv_error(SCIVEC_EIO, "%s: cannot lock the folder: %s", dir, strerror(err));
}

int sv_outdir_sync(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return sv_error(SCIVEC_EIO, "%s: %s", dir, strerror(errno));
    int rc = fsync(fd) == 0 ? SCIVEC_OK : sv_error(SCIVEC_EIO, "%s: fsync: %s", dir, strerror(errno));
    close(fd);
    return rc;
}
