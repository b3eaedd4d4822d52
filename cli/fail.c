/*
 * fail.c - how every command reports a library call that failed: one line
 * on stderr, "scivec <command>: <scivec_last_error()>", and exit status 1.
 * Its own file so that the commands do not call back into main.c.
 */
#include <stdio.h>

#include "commands.h"
#include "scivec.h"

int cli_fail(const char *command) {
    fprintf(stderr, "scivec %s: %s\n", command, scivec_last_error());
    return 1;
}
