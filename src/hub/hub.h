/*
 * hub.h - models from the HuggingFace hub: the local cache laid out exactly
 * as huggingface_hub lays it out, and downloads into it with libcurl.
 *
 * Cache (one folder per repo, shared with Python):
 *   <cache>/models--ORG--NAME/blobs/<etag>          file contents
 *   <cache>/models--ORG--NAME/snapshots/<commit>/<file> -> ../../blobs/<etag>
 *   <cache>/models--ORG--NAME/refs/<revision>       the commit hash
 *   <cache>/.locks/models--ORG--NAME/<etag>.lock     flock while downloading
 * <etag> is the sha256 of LFS files (weights), the git blob id of small ones.
 *
 * Environment (as huggingface_hub reads it):
 *   HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub
 *   HF_ENDPOINT (default https://huggingface.co)
 *   HF_TOKEN, else the file HF_TOKEN_PATH, else HF_HOME/token (~/.cache/huggingface/token)
 *   HF_HUB_OFFLINE=1 forbids network
 *   http_proxy / https_proxy / no_proxy through libcurl
 */
#ifndef SV_HUB_H
#define SV_HUB_H

#include <stddef.h>
#include <stdint.h>

/* A repo id with its revision, checked to be safe as cache path parts. */
typedef struct sv_hub_ref {
    char repo_id[256];  /* "ORG/NAME" (or "NAME")                     */
    char revision[256]; /* "main" unless @REV was given              */
    char folder[300];   /* "models--ORG--NAME"                        */
} sv_hub_ref;

/* Parses ORG/NAME[@REV]. Returns 0, or SCIVEC_ENOTFOUND for anything that
 * could climb out of the cache or is no repo id (message names model). */
int sv_hub_parse_ref(const char *model, sv_hub_ref *ref);

/* $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub (new string). */
char *sv_hub_cache_dir(void);
/* $HF_ENDPOINT without a trailing '/', else https://huggingface.co (new string). */
char *sv_hub_endpoint(void);
/* Whether HF_HUB_OFFLINE is 1/true/yes/on. */
int sv_hub_offline(void);

/* The snapshot folder refs/<rev> (or the commit <rev>) names, if it exists
 * (new string, NULL otherwise). *complete tells whether it holds a model
 * (config.json and weights) or an adapter (adapter_config.json and weights). */
char *sv_hub_cached_snapshot(const char *cache, const sv_hub_ref *ref, int *complete);

/* Asks the hub which commit ref's revision is, downloads the files scivec
 * needs that the cache lacks and writes refs/<rev>; *snapshot = the snapshot
 * folder. *unreachable (may be NULL) is set when the hub could not be
 * reached at all (DNS, connection, proxy), as opposed to refusing. */
int sv_hub_download(const char *cache, const sv_hub_ref *ref, char **snapshot, int *unreachable);

/* Byte progress of one file's download (total -1 when unknown). Called with
 * done == total when a file is complete. The library prints nothing itself:
 * the CLI installs a callback (process-wide; NULL = none). */
typedef void (*sv_hub_progress_fn)(void *ctx, const char *file, int64_t done, int64_t total);
void sv_hub_set_progress(sv_hub_progress_fn fn, void *ctx);

/* File names of a repo revision. Internal, exposed for fuzzing. */
typedef struct sv_hub_files {
    char **names;
    int n, cap;
    int sorted; /* names are in strcmp order (lookups bisect) */
} sv_hub_files;
void sv_hub_files_free(sv_hub_files *files);

/* Parses the answer to GET /api/models/{repo}/revision/{rev}: the commit
 * ("sha", a plain path part, into commit[128]) and, sorted, the
 * siblings[].rfilename that are safe relative file names (others are
 * skipped: nothing scivec fetches can leave the snapshot folder). url names
 * the answer in messages. SCIVEC_EFORMAT when it is no such answer. */
int sv_hub_parse_revision(const char *json, size_t len, const char *url, char commit[128],
                          sv_hub_files *siblings);

#endif /* SV_HUB_H */
