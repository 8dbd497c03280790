/* The memcfg command line: subcommand dispatch, option parsing shared by the subcommands, and the
 * exit codes documented in memcfg(1). */
#ifndef MC_CLI_H
#define MC_CLI_H

#include "memdump.h"

#include <stdbool.h>
#include <stdint.h>

enum {
    MC_EXIT_OK = 0,
    MC_EXIT_FATAL = 1,        /* runtime error: out of memory, cannot write the output */
    MC_EXIT_USAGE = 2,
    MC_EXIT_PARTIAL = 3,      /* at least one input failed or timed out; the rest was reported */
    MC_EXIT_EMPTY = 4,        /* --fail-on-empty and no configuration found */
    MC_EXIT_BAD_RULES = 12,   /* a rule file does not compile */
};

/* Entry point of the program (main.c). */
int mc_cli_main(int argc, char **argv);
/* `memcfg info` (info.c); argv[0] is "info". */
int mc_cli_info(int argc, char **argv);

/* "memcfg: <message>" on stderr. */
void mc_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints the message and the hint for `memcfg <cmd> --help`; returns MC_EXIT_USAGE. */
int mc_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The option getopt_long just rejected, for the message. */
const char *mc_cli_bad_option(char **argv);

/* Option values shared by scan and info; each returns false on a malformed value. */
bool mc_cli_parse_input_format(const char *name, md_format *out);
bool mc_cli_parse_u64(const char *s, uint64_t *out);          /* decimal or 0x hex */

#endif
