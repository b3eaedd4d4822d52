/* cmd_tokenize.c - placeholder until the command lands; replaced by its owner. */
#include <stdio.h>
#include "commands.h"
int cmd_tokenize(int argc, char **argv) {
    fprintf(stderr, "scivec tokenize: not built yet\n");
    return 1;
}
