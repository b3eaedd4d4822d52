/*
 * outdir.c - creating, locking and syncing an output folder.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/files.h"
#include "outputs/outdir.h"
#include "outputs/update_undo.h"

int sv_dir_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int sv_dir_make(const char *dir, char **first_created) {
    if (first_created) *first_created = NULL;
    char *path = strdup(dir);
    if (!path) return sv_error(SCIVEC_ENOMEM, "out of memory");
    int rc = SCIVEC_OK;
    for (char *slash = path + 1; !rc; slash++) {
        int at_end = *slash == '\0';
        if (*slash != '/' && !at_end) continue;
        *slash = '\0';
        int made = mkdir(path, 0777) == 0;
        if (made && first_created && !*first_created && !(*first_created = strdup(path)))
            rc = sv_error(SCIVEC_ENOMEM, "out of memory");
        else if (!made && errno != EEXIST)
            rc = sv_error(SCIVEC_EIO, "%s: %s", path, strerror(errno));
        else if (!sv_dir_is_dir(path))
            rc = sv_error(SCIVEC_EIO, "%s is not a directory", path);
        if (at_end) break;
        *slash = '/';
    }
    free(path);
    return rc;
}

void sv_dir_remove_created(const char *dir, const char *first_created) {
    if (!first_created) return;
    char *path = strdup(dir);
    size_t stop = strlen(first_created);
    while (path && strlen(path) >= stop && rmdir(path) == 0) {
        char *slash = strrchr(path, '/');
        if (!slash || strlen(path) == stop) break;
        *slash = '\0';
    }
    free(path);
}

int sv_dir_lock(const char *dir, const char *command, int *fd) {
    *fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*fd < 0) return sv_error(SCIVEC_EIO, "%s: %s", dir, strerror(errno));
    if (flock(*fd, LOCK_EX | LOCK_NB) == 0) return SCIVEC_OK;
    int err = errno;
    close(*fd);
    *fd = -1;
    if (err == EWOULDBLOCK)
        return sv_error(SCIVEC_EINVAL,
                        "%s: another scivec command is writing into this folder "
                        "(it holds the folder's lock); wait for it to finish before scivec %s",
                        dir, command);
    return sv_error(SCIVEC_EIO, "%s: cannot lock the folder: %s", dir, strerror(err));
}

int sv_dir_sync(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return sv_error(SCIVEC_EIO, "%s: %s", dir, strerror(errno));
    int rc =
        fsync(fd) == 0 ? SCIVEC_OK : sv_error(SCIVEC_EIO, "%s: fsync: %s", dir, strerror(errno));
    close(fd);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Changes to a finished folder: build aside, COMMIT, rename                 */

static const char *const folder_files[] = {"embeddings.npy", "papers.index", "papers.db", "map.npy",
                                           "metadata.json"};

typedef struct {
    char *work, *commit;
} update_paths;

static int update_paths_init(update_paths *u, const char *dir) {
    u->work = sv_path_join(dir, SV_UPDATE_DIR);
    u->commit = u->work ? sv_path_join(u->work, "COMMIT") : NULL;
    if (!u->commit) {
        free(u->work);
        return sv_error(SCIVEC_ENOMEM, "out of memory");
    }
    return SCIVEC_OK;
}

/* Renames the files still in the work dir into dir, then removes it. */
static int finish_renames(const char *dir, const update_paths *u) {
    int rc = SCIVEC_OK;
    for (size_t i = 0; i < SV_ARRAY_LEN(folder_files) && !rc; i++) {
        char *from = sv_path_join(u->work, folder_files[i]),
             *to = sv_path_join(dir, folder_files[i]);
        if (!from || !to)
            rc = sv_error(SCIVEC_ENOMEM, "out of memory");
        else if (sv_file_exists(from) && rename(from, to) != 0)
            rc = sv_error(SCIVEC_EIO, "renaming %s to %s: %s", from, to, strerror(errno));
        free(from);
        free(to);
    }
    if (!rc) rc = sv_dir_sync(dir);
    /* An in-place append's undo record goes before COMMIT: a change that
     * committed is never rolled back (update_undo.h). */
    if (!rc) rc = sv_undo_forget(dir);
    if (!rc && unlink(u->commit) != 0 && errno != ENOENT)
        rc = sv_error(SCIVEC_EIO, "%s: %s", u->commit, strerror(errno));
    if (!rc) rmdir(u->work);
    return rc;
}

/* Everything in the work dir (it holds only what scivec put there: files,
 * and the folder `add` embeds the new papers into). */
static void drop_work_dir(const char *work) {
    DIR *d = opendir(work);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char *path = sv_path_join(work, e->d_name);
        if (path && unlink(path) != 0 && sv_dir_is_dir(path)) drop_work_dir(path);
        free(path);
    }
    closedir(d);
    rmdir(work);
}

int sv_dir_recover_locked(const char *dir) {
    update_paths u;
    int rc = update_paths_init(&u, dir);
    if (rc) return rc;
    if (sv_file_exists(u.commit)) {
        rc = finish_renames(dir, &u);
    } else if (sv_dir_is_dir(u.work)) {
        /* rows appended in place are taken back first (update_undo.h) */
        rc = sv_undo_rollback(dir);
        if (!rc) drop_work_dir(u.work);
    }
    free(u.work);
    free(u.commit);
    return rc;
}

int sv_dir_recover(const char *dir) {
    char *work = sv_path_join(dir, SV_UPDATE_DIR);
    int pending = work && sv_dir_is_dir(work);
    free(work);
    if (!pending) return SCIVEC_OK;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return sv_error(SCIVEC_EIO, "%s: %s", dir, strerror(errno));
    int rc = SCIVEC_OK;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) rc = sv_dir_recover_locked(dir);
    close(fd);
    return rc;
}

int sv_dir_commit_update(const char *dir) {
    update_paths u;
    int rc = update_paths_init(&u, dir);
    if (rc) return rc;
    int fd = open(u.commit, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0 || fsync(fd) != 0) rc = sv_error(SCIVEC_EIO, "%s: %s", u.commit, strerror(errno));
    if (fd >= 0) close(fd);
    if (!rc) rc = sv_dir_sync(u.work);
    if (!rc) rc = finish_renames(dir, &u);
    free(u.work);
    free(u.commit);
    return rc;
}
