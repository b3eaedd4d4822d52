/* test_fingerprint.c - sv_fingerprint_make hashes the model files that are
 * there (sha256 checked against Python's hashlib values of the fixture), and
 * sv_fingerprint_check names each field that differs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/error.h"
#include "outputs/fingerprint.h"

#define MODEL SV_FIXTURES "/models/tiny-scibert"

static sv_fingerprint_inputs inputs(void) {
    sv_fingerprint_inputs in = {
        .model_dir = MODEL,
        .weights_path = MODEL "/model.safetensors",
        .recipe = "abstract",
        .pooling = "mean",
        .normalize = 1,
        .max_length = 64,
        .id_column = "paper_id",
        .text_column = "abstract",
        .title_column = "title",
    };
    return in;
}

static const char *file_hash(const cJSON *fp, const char *name) {
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(fp, "model_files");
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(files, name);
    return cJSON_IsString(h) ? h->valuestring : NULL;
}

int main(void) {
    sv_fingerprint_inputs in = inputs();
    cJSON *a = NULL, *b = NULL;
    CHECK(sv_fingerprint_make(&in, &a) == SCIVEC_OK, "make: %s", scivec_last_error());
    /* coreutils' sha256sum of the fixture files */
    const char *config = file_hash(a, "config.json"), *weights = file_hash(a, "model.safetensors");
    CHECK(config &&
              !strcmp(config, "424d689278aec876a276543f74756868263f6d7e411a94f3f711ca0dcbe543bd"),
          "config.json: %s", config ? config : "absent");
    CHECK(weights &&
              !strcmp(weights, "5df8621a303095fcfb8a9ef6e9497782d2182a849c99588c16a09087cd157231"),
          "model.safetensors: %s", weights ? weights : "absent");
    CHECK(file_hash(a, "vocab.txt") && file_hash(a, "tokenizer_config.json") &&
              file_hash(a, "special_tokens_map.json"),
          "hashes of the tokenizer files");
    CHECK(!file_hash(a, "pytorch_model.bin"), "the weight file not loaded is not hashed");
    CHECK(!file_hash(a, "tokenizer.json"), "an absent file is not listed");

    CHECK(sv_fingerprint_make(&in, &b) == SCIVEC_OK, "make again");
    CHECK(sv_fingerprint_check(a, b, "merge") == SCIVEC_OK, "equal: %s", scivec_last_error());

    /* Two options and one file hash differ: all three are named. */
    cJSON_Delete(b);
    in.pooling = "cls";
    in.max_length = 32;
    CHECK(sv_fingerprint_make(&in, &b) == SCIVEC_OK, "make changed");
    cJSON *files = cJSON_GetObjectItemCaseSensitive(b, "model_files");
    cJSON_ReplaceItemInObjectCaseSensitive(
        files, "vocab.txt",
        cJSON_CreateString("0000000000000000000000000000000000000000000000000000000000000000"));
    CHECK(sv_fingerprint_check(a, b, "add") == SCIVEC_EINVAL, "differs");
    const char *msg = scivec_last_error();
    CHECK(!strncmp(msg, "add: ", 5), "context first: %s", msg);
    CHECK(strstr(msg, "pooling was \"mean\", now \"cls\""), "pooling named: %s", msg);
    CHECK(strstr(msg, "max_length was 64, now 32"), "max_length named: %s", msg);
    CHECK(strstr(msg, "model file vocab.txt was sha256 ") && strstr(msg, "now sha256 000000000000"),
          "vocab.txt named: %s", msg);
    CHECK(!strchr(msg, '\n'), "one line: %s", msg);

    /* A field only one side has. */
    cJSON_DeleteItemFromObjectCaseSensitive(b, "precision");
    CHECK(sv_fingerprint_check(a, b, "x") == SCIVEC_EINVAL &&
              strstr(scivec_last_error(), "precision was \"fp32\", now absent"),
          "absent field: %s", scivec_last_error());
    /* No fingerprint recorded at all (an older output). */
    CHECK(sv_fingerprint_check(NULL, a, "add") == SCIVEC_EINVAL &&
              strstr(scivec_last_error(), "no fingerprint"),
          "none recorded: %s", scivec_last_error());

    cJSON_Delete(b);
    cJSON_Delete(a);
    return check_report();
}
