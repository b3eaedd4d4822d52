/*
 * model_dir.h - what --model names: a folder, or a hub repo id resolved in the
 * HuggingFace cache (model_dir.c).
 */
#ifndef SV_MODEL_DIR_H
#define SV_MODEL_DIR_H


/* Resolves --model: a directory as is, or ORG/NAME[@REV] in the HF cache.
 * Writes a newly allocated directory path to *dir. */
int sv_resolve_model_dir(const char *model, char **dir);

/* --model resolution with a choice: a folder as is; a repo id
 * from the cache first when refresh is 0 (downloading what is missing), or,
 * when refresh is 1, always asking the hub for the revision's current commit
 * (as `scivec fetch` does). HF_HUB_OFFLINE keeps both to the cache. */
int sv_resolve_model_dir_ex(const char *model, int refresh, char **dir);

#endif /* SV_MODEL_DIR_H */
