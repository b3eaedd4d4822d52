/*
 * json.c - the two ways scivec reads a member of a JSON object it wrote
 * (metadata.json, the checkpoint): as a string, or as an object's "name".
 */
#include <cjson/cJSON.h>

#include "core/json.h"

const char *sv_json_string(const cJSON *obj, const char *key) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

const char *sv_json_name(const cJSON *obj, const char *key) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (cJSON_IsObject(item)) item = cJSON_GetObjectItemCaseSensitive(item, "name");
    return cJSON_IsString(item) ? item->valuestring : NULL;
}
