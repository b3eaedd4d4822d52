/* cmd_info.c - placeholder until the command lands; replaced by its owner. */
#include <stdio.h>
#include "commands.h"
int cmd_info(int argc, char **argv) {
    fprintf(stderr, "scivec info: not built yet\n");
    return 1;
}
