/*
 * json.h - reading members of a cJSON object (json.c). Internal.
 */
#ifndef SV_JSON_H
#define SV_JSON_H

/* metadata.json's members: obj[key] when it is a string, and sv_json_name
 * also the "name" of an object member ({"model": {"name": ...}}); NULL
 * otherwise. */
struct cJSON;
const char *sv_json_string(const struct cJSON *obj, const char *key);
const char *sv_json_name(const struct cJSON *obj, const char *key);

#endif /* SV_JSON_H */
