/*
 * json.c - reading a JSON file (config files, metadata.json, checkpoints:
 * one function, so every one fails with the same message), and the two
 * ways scivec reads a member of an object it wrote: as a string, or as an
 * object's "name".
 */
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "core/error.h"
#include "core/files.h"
#include "core/json.h"

int sv_json_read(const char *path, cJSON **out) {
    char *text = NULL;
    size_t size = 0;
    *out = NULL;
    int status = sv_read_file(path, &text, &size);
    if (status) return status;
    const char *end = NULL;
    *out = cJSON_ParseWithLengthOpts(text, size, &end, 0);
    if (!*out) {
        size_t offset = end && end >= text ? (size_t)(end - text) : 0;
        status = sv_error(SCIVEC_EFORMAT, "%s: not valid JSON near byte %zu", path, offset);
    }
    free(text);
    return status;
}

int sv_json_read_object(const char *path, cJSON **out) {
    int status = sv_json_read(path, out);
    if (!status && !cJSON_IsObject(*out)) {
        cJSON_Delete(*out);
        *out = NULL;
        status = sv_error(SCIVEC_EFORMAT, "%s: not a JSON object", path);
    }
    return status;
}

const char *sv_json_string(const cJSON *obj, const char *key) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

const char *sv_json_name(const cJSON *obj, const char *key) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (cJSON_IsObject(item)) item = cJSON_GetObjectItemCaseSensitive(item, "name");
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

void sv_json_set_number(cJSON *obj, const char *key, double value) {
    cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (cJSON_IsNumber(item))
        cJSON_SetNumberValue(item, value);
    else
        cJSON_AddNumberToObject(obj, key, value);
}

void sv_json_set_string(cJSON *obj, const char *key, const char *value) {
    cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
    cJSON_AddStringToObject(obj, key, value);
}
