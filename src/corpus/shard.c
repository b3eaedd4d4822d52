/*
 * shard.c - the split of `scivec embed --shard K/N`: a hash of the paper id.
 */
#include <errno.h>
#include <stdlib.h>

#include "core/error.h"
#include "corpus/shard.h"

static int parse_part(const char *s, char **end, long *out) {
    if (*s < '0' || *s > '9') return -1;
    errno = 0;
    *out = strtol(s, end, 10);
    return errno ? -1 : 0;
}

int sv_shard_parse(const char *spec, int *k, int *n) {
    long kv, nv;
    char *end;
    if (parse_part(spec, &end, &kv) || *end != '/' || parse_part(end + 1, &end, &nv) || *end ||
        nv < 1 || nv > SV_SHARD_MAX || kv < 0 || kv >= nv)
        return sv_error(SCIVEC_EINVAL,
                        "--shard wants K/N with 0 <= K < N (K counts from 0, "
                        "as SLURM_ARRAY_TASK_ID), got '%s'",
                        spec);
    *k = (int)kv;
    *n = (int)nv;
    return SCIVEC_OK;
}

int sv_shard_of(const char *paper_id, int n) {
    /* FNV-1a, 64 bits: fixed here for good, since shards made by different
     * builds must agree. */
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *s = (const unsigned char *)paper_id; *s; s++)
        h = (h ^ *s) * 1099511628211ull;
    return (int)(h % (uint64_t)n);
}
