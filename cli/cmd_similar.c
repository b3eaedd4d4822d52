/* cmd_similar.c - placeholder until the command lands; replaced by its owner. */
#include <stdio.h>
#include "commands.h"
int cmd_similar(int argc, char **argv) {
    fprintf(stderr, "scivec similar: not built yet\n");
    return 1;
}
