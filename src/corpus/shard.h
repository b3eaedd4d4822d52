/*
 * shard.h - which shard of N a paper belongs to (`scivec embed --shard K/N`).
 *
 * The shard depends on the paper id alone (64-bit FNV-1a of its bytes,
 * modulo N), so the split does not depend on the input's order or on the
 * machine, and every copy of an id lands in the same shard (duplicates are
 * then decided inside one shard, as a single run decides them).
 */
#ifndef SV_SHARD_H
#define SV_SHARD_H

#include <stdint.h>

enum { SV_SHARD_MAX = 1 << 20 };

/* Parses "K/N" with 0 <= K < N <= SV_SHARD_MAX (K counts from 0, as
 * SLURM_ARRAY_TASK_ID does). SCIVEC_EINVAL with a message otherwise. */
int sv_shard_parse(const char *spec, int *k, int *n);

/* The shard (0..n-1) of a paper id. */
int sv_shard_of(const char *paper_id, int n);

#endif /* SV_SHARD_H */
