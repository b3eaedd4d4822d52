/*
 * json.h - reading JSON files and members of a cJSON object (json.c).
 * Internal.
 */
#ifndef SV_JSON_H
#define SV_JSON_H

#include "scivec.h"

/* metadata.json's members: obj[key] when it is a string, and sv_json_name
 * also the "name" of an object member ({"model": {"name": ...}}); NULL
 * otherwise. */
struct cJSON;
const char *sv_json_string(const struct cJSON *obj, const char *key);
const char *sv_json_name(const struct cJSON *obj, const char *key);

/* Reads the file at path as one JSON value into *out (the caller frees it
 * with cJSON_Delete), else fails with "PATH: not valid JSON near byte N".
 * sv_json_read_object also requires an object ("PATH: not a JSON object"). */
int sv_json_read(const char *path, struct cJSON **out);
int sv_json_read_object(const char *path, struct cJSON **out);

/* obj[key] = value, replacing what was there (metadata.json counts and
 * dates that add and merge update); an allocation failure leaves obj[key]
 * as it was or absent, as cJSON's adders do. */
void sv_json_set_number(struct cJSON *obj, const char *key, double value);
void sv_json_set_string(struct cJSON *obj, const char *key, const char *value);

#endif /* SV_JSON_H */
