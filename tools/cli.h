/* Shared declarations for the clientscan command-line tool. */
#ifndef CLIENTSCAN_CLI_H
#define CLIENTSCAN_CLI_H

#include "clientscan.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit statuses shared by every command. */
enum { CLI_OK = 0, CLI_FAILED = 1, CLI_USAGE = 2 };

/* One entry per subcommand; argv[0] is the subcommand name. */
typedef int (*cli_command_fn)(int argc, char **argv);

int cmd_hash(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_match(int argc, char **argv);

/* Hash-list trust options shared by 'list' and 'match' (in cmd_list.c). */
#define CLI_MAX_AUTHORITIES 16
typedef struct cli_trust {
    clientscan_public_key keys[CLI_MAX_AUTHORITIES];
    size_t count;
    bool unsigned_ok;           /* --unsigned-ok */
    uint64_t accepted_sequence; /* --accepted-sequence */
} cli_trust;
/* Loads an authority public key for --authority; prints "path: reason".
 * Returns 0, CLI_FAILED (unreadable or bad key) or CLI_USAGE (too many). */
int cli_trust_add(cli_trust *trust, const char *path);
/* Opens a list with the trust options; prints "path: reason". */
int cli_open_list(const char *path, const cli_trust *trust, clientscan_list **out);
/* Lowercase hex of n bytes into out[2n+1]. */
void cli_hex(const uint8_t *bytes, size_t n, char *out);
int cmd_send(int argc, char **argv);
int cmd_receive(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_samples(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/* Prints "clientscan: " + message to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Writes s as a JSON string literal (with quotes), escaping control bytes;
 * bytes that are not valid UTF-8 are written as \u00XX of their value so
 * the output is always valid JSON. */
void cli_json_string(FILE *out, const char *s);

/* Parses a decimal integer in [min, max]; false on anything else. */
bool cli_parse_int(const char *s, long min, long max, long *out);

/* Reads a whole file (bounded); prints "path: reason" on failure. */
int cli_read_file(const char *path, size_t max_bytes, uint8_t **data, size_t *len);

/* Writes data to path atomically: temporary file in the same directory,
 * fsync, rename. mode is the final permission (e.g. 0600 for secrets).
 * Prints "path: reason" on failure and leaves no partial file. */
int cli_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode);

#endif
