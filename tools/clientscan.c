/* clientscan — command-line entry point: dispatches to one file per command. */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    cli_command_fn fn;
    const char *summary;
} commands[] = {
    {"hash", cmd_hash, "PDQ-hash images (files, directories, stdin)"},
    {"keygen", cmd_keygen, "generate an authority, moderator or user key pair"},
    {"list", cmd_list, "build, sign, verify, inspect, export and diff hash lists"},
    {"match", cmd_match, "match hashes or images against a signed hash list"},
    {"send", cmd_send, "scan an image, encrypt it, seal its report slot"},
    {"receive", cmd_receive, "decrypt a received attachment (recipient)"},
    {"report", cmd_report, "open report slots (moderation service)"},
    {"samples", cmd_samples, "write the demo's synthetic sample images; derive near-copies"},
    {"bench", cmd_bench, "false-positive and robustness rates on an image corpus"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: clientscan COMMAND [options] [args]\n\n"
                 "Client-side perceptual-hash scanning before end-to-end encryption.\n\n"
                 "Commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'clientscan COMMAND --help' describes a command.\n"
                 "  --help      this text\n"
                 "  --version   print the version\n");
}

/* Output the caller never received is a failure, for every command: a
 * full disk or closed pipe on standard output turns exit 0 into 1. */
static int finish_stdout(int status)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("standard output: write failed: %s", strerror(errno));
        if (status == CLI_OK)
            status = CLI_FAILED;
    }
    return status;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return finish_stdout(CLI_OK);
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("clientscan %s\n", clientscan_version());
        return finish_stdout(CLI_OK);
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return finish_stdout(commands[i].fn(argc - 1, argv + 1));
    cli_error("unknown command '%s' (see 'clientscan --help')", argv[1]);
    return CLI_USAGE;
}
