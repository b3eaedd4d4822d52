/* cmd_search.c - placeholder until the command lands; replaced by its owner. */
#include <stdio.h>
#include "commands.h"
int cmd_search(int argc, char **argv) {
    fprintf(stderr, "scivec search: not built yet\n");
    return 1;
}
