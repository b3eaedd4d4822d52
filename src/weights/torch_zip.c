/*
 * torch_zip.c - pytorch_model.bin in PyTorch's zip format (torch >= 1.6):
 * <name>/data.pkl is the state-dict pickle whose persistent ids name the
 * storages <name>/data/<key>, raw little-endian elements. Each storage a
 * caller asks for is read once, straight into its final buffer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "core/error.h"
#include "weights/checkpoint.h"
#include "weights/pickle.h"
#include "weights/torch_zip.h"

#define MAX_PICKLE_BYTES ((zip_uint64_t)1 << 30)

static void close_archive(void *source) {
    if (source) zip_discard(source);
}

/* Reads exactly n bytes of entry index into dst. */
static int read_entry(zip_t *zip, zip_int64_t index, void *dst, zip_uint64_t n, const char *path,
                      const char *entry) {
    zip_file_t *f = zip_fopen_index(zip, (zip_uint64_t)index, 0);
    if (!f) return sv_error(SCIVEC_EFORMAT, "%s: entry %s: %s", path, entry, zip_strerror(zip));
    zip_uint64_t got = 0;
    while (got < n) {
        zip_int64_t r = zip_fread(f, (char *)dst + got, n - got);
        if (r <= 0) break;
        got += (zip_uint64_t)r;
    }
    int failed = got != n;
    zip_fclose(f);
    if (failed)
        return sv_error(SCIVEC_EFORMAT,
                        "%s: entry %s: could not read %llu bytes (truncated or corrupt archive)",
                        path, entry, (unsigned long long)n);
    return SCIVEC_OK;
}

static int read_storage(sv_checkpoint *ck, const sv_storage *st, void *buf) {
    zip_t *zip = ck->source;
    const char *entry = zip_get_name(zip, (zip_uint64_t)st->src_index, 0);
    return read_entry(zip, st->src_index, buf, (zip_uint64_t)st->n_bytes, ck->path,
                      entry ? entry : "?");
}

int sv_torch_zip_open_into(const char *path, sv_checkpoint *ck) {
    int err = 0;
    zip_t *zip = zip_open(path, ZIP_RDONLY, &err);
    if (!zip) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, err);
        int rc = sv_error(SCIVEC_EFORMAT, "%s: not a readable zip archive: %s", path,
                          zip_error_strerror(&ze));
        zip_error_fini(&ze);
        return rc;
    }
    ck->source = zip;
    ck->free_source = close_archive;
    ck->read_storage = read_storage;

    /* The archive's top folder is whatever name torch.save was given. */
    zip_int64_t n_entries = zip_get_num_entries(zip, 0), pkl_index = -1;
    const char *pkl_name = NULL;
    for (zip_int64_t i = 0; i < n_entries && pkl_index < 0; i++) {
        const char *name = zip_get_name(zip, (zip_uint64_t)i, 0);
        size_t len = name ? strlen(name) : 0;
        if (len >= 8 && strcmp(name + len - 8, "data.pkl") == 0 &&
            (len == 8 || name[len - 9] == '/') &&
            memchr(name, '/', len - 8) == strrchr(name, '/')) {
            pkl_index = i;
            pkl_name = name;
        }
    }
    if (pkl_index < 0)
        return sv_error(SCIVEC_EFORMAT,
                        "%s: zip archive without a data.pkl: not a PyTorch checkpoint", path);
    size_t prefix_len = strlen(pkl_name) - 8; /* "<name>/" */
    /* Nothing is ever extracted, but a folder named "..", "." or "" (an
     * absolute "/data.pkl") is not what torch.save writes: refuse it. */
    if (prefix_len == 1 || (prefix_len == 2 && pkl_name[0] == '.') ||
        (prefix_len == 3 && !strncmp(pkl_name, "..", 2)))
        return sv_error(SCIVEC_EFORMAT,
                        "%s: entry %s: not inside a plain folder name (an archive "
                        "entry escaping its folder)",
                        path, pkl_name);
    char *prefix = strndup(pkl_name, prefix_len);
    if (!prefix) return sv_error(SCIVEC_ENOMEM, "%s: out of memory", path);

    zip_stat_t zs;
    int rc = SCIVEC_OK;
    uint8_t *pkl = NULL;
    sv_pickle *pickle = NULL;
    if (zip_stat_index(zip, (zip_uint64_t)pkl_index, 0, &zs) != 0 || !(zs.valid & ZIP_STAT_SIZE) ||
        zs.size > MAX_PICKLE_BYTES) {
        rc = sv_error(SCIVEC_EFORMAT, "%s: entry %s: missing or implausible size", path, pkl_name);
        goto done;
    }
    pkl = malloc(zs.size ? zs.size : 1);
    if (!pkl) {
        rc = sv_error(SCIVEC_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    if ((rc = read_entry(zip, pkl_index, pkl, zs.size, path, pkl_name)) < 0) goto done;

    char pickle_name[1024];
    snprintf(pickle_name, sizeof pickle_name, "%s: %s", path, pkl_name);
    if ((rc = sv_pickle_load(pkl, zs.size, pickle_name, &pickle, NULL)) < 0) goto done;
    if ((rc = sv_pickle_state_dict_into(pickle, ck)) < 0) goto done;

    /* Where each storage lives, and that it holds what the pickle says. */
    for (int i = 0; i < ck->n_storages; i++) {
        sv_storage *st = &ck->storages[i];
        char entry[1200];
        snprintf(entry, sizeof entry, "%sdata/%s", prefix, st->key);
        zip_int64_t index = zip_name_locate(zip, entry, ZIP_FL_ENC_RAW);
        if (index < 0) {
            rc = sv_error(SCIVEC_EFORMAT, "%s: storage %s: archive entry %s is missing", path,
                          st->key, entry);
            goto done;
        }
        if (zip_stat_index(zip, (zip_uint64_t)index, 0, &zs) != 0 || !(zs.valid & ZIP_STAT_SIZE) ||
            zs.size < (zip_uint64_t)st->n_bytes) {
            rc = sv_error(SCIVEC_EFORMAT,
                          "%s: storage %s: entry %s holds %llu bytes, the pickle says %lld", path,
                          st->key, entry, (unsigned long long)zs.size, (long long)st->n_bytes);
            goto done;
        }
        st->src_index = index;
    }
done:
    sv_pickle_free(pickle);
    free(pkl);
    free(prefix);
    return rc;
}
