/*
 * precision_option.c - --precision fp32|bf16|int8, shared by every command
 * that loads a model (encode, embed, add, serve): one parser, one message.
 */
#include <stdio.h>

#include "commands.h"
#include "scivec.h"

int cli_precision_option(const char *command, const char *value, scivec_precision *out) {
    if (scivec_precision_parse(value, out) == SCIVEC_OK) return 0;
    fprintf(stderr, "scivec %s: --precision: %s\n", command, scivec_last_error());
    return 2;
}
