/*
 * seen_ids.h - the set of paper ids an input pass has kept so far, to tell
 * duplicates (seen_ids.c). It lives in a private temporary SQLite database
 * with a small page cache, so memory stays the same whatever the number of
 * papers (2.6 M arXiv ids would take ~130 MB in a hash table in memory).
 */
#ifndef SV_SEEN_IDS_H
#define SV_SEEN_IDS_H

typedef struct sv_seen_ids sv_seen_ids;

int sv_seen_ids_open(sv_seen_ids **out);
/* 1 if id was not there (and is now), 0 if it was; a negative status on
 * failure. */
int sv_seen_ids_add(sv_seen_ids *seen, const char *id);
void sv_seen_ids_close(sv_seen_ids *seen);

#endif /* SV_SEEN_IDS_H */
