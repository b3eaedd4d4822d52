/* commands.h - the scivec subcommands; each lives in cli/cmd_<name>.c and
 * returns the process exit status. */
#ifndef SCIVEC_COMMANDS_H
#define SCIVEC_COMMANDS_H

int cmd_tokenize(int argc, char **argv);
int cmd_encode(int argc, char **argv);
int cmd_embed(int argc, char **argv);
int cmd_similar(int argc, char **argv);
int cmd_search(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_reindex(int argc, char **argv);
int cmd_fetch(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_map(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_add(int argc, char **argv);
int cmd_remove(int argc, char **argv);

/* Draws download progress on stderr (when it is a terminal) for models the
 * hub resolver downloads (hub_progress.c). */
void cli_hub_progress_install(void);

/* Prints "scivec <command>: <scivec_last_error()>" to stderr; returns 1. */
int cli_fail(const char *command);

/* --precision VALUE into *out; on a bad value prints one line naming the
 * command and returns 2 (the usage exit), else 0 (cli/precision_option.c). */
#include "scivec.h"
int cli_precision_option(const char *command, const char *value, scivec_precision *out);

#endif
