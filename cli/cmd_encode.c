/* cmd_encode.c - placeholder until the command lands; replaced by its owner. */
#include <stdio.h>
#include "commands.h"
int cmd_encode(int argc, char **argv) {
    fprintf(stderr, "scivec encode: not built yet\n");
    return 1;
}
