/*
 * options.h - the one way the commands read their options: glibc's
 * getopt_long (so "--flag value" and "--flag=value" both work everywhere,
 * and "--" ends the options), and one set of number parsers.
 *
 * Each command lists its options as struct option[] and loops:
 *
 *     cli_getopt_begin();
 *     while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1)
 *         switch (c) { ... case ':': case '?': the offending word is
 *                      cli_bad_option(argv) }
 *
 * then takes its positional arguments from argv[optind..argc).
 */
#ifndef SCIVEC_CLI_OPTIONS_H
#define SCIVEC_CLI_OPTIONS_H

#include <getopt.h>

/* Resets getopt_long's state and turns off its own messages: the commands
 * print theirs (with their usage). */
void cli_getopt_begin(void);

/* The argument getopt_long just refused (an unknown option, or one whose
 * value is missing), as typed. */
const char *cli_bad_option(char **argv);

/* A whole number lo <= v <= hi spelt in base 10, nothing after it: 1 and
 * *out, else 0. */
int cli_parse_ll(const char *text, long long lo, long long hi, long long *out);

/* cli_parse_ll into an int, min <= v <= INT_MAX; otherwise prints
 * "scivec COMMAND: FLAG wants a whole number >= MIN, got 'TEXT'" and
 * returns 0. */
int cli_int_option(const char *command, const char *flag, const char *text, int min, int *out);

/* A floating-point number, nothing after it: 1 and *out, else 0. */
int cli_parse_double(const char *text, double *out);

#endif
