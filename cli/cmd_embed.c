/* cmd_embed.c - placeholder until the command lands; replaced by its owner. */
#include <stdio.h>
#include "commands.h"
int cmd_embed(int argc, char **argv) {
    fprintf(stderr, "scivec embed: not built yet\n");
    return 1;
}
