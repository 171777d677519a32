/* clientscan report open — the moderation service's side: open report
 * slots and, for a match, fetch and decrypt the one attachment it names. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void report_usage(FILE *out)
{
    fprintf(out,
            "usage: clientscan report open --key M.sec [options] SLOT...\n"
            "\n"
            "Opens report slots written by 'clientscan send' with the moderation\n"
            "service's secret key. A slot opens to one of:\n"
            "  no-match   the attachment was scanned and matched nothing; nothing else\n"
            "  unscanned  the attachment was sent without a scan; nothing else\n"
            "  match      list digest and sequence, matched entry id, distance,\n"
            "             dihedral variant, hash algorithm, day, and the digest (and\n"
            "             key) of that one attachment\n"
            "\n"
            "Options:\n"
            "  --key M.sec          moderator secret key (role moderator, mode 0600)\n"
            "  --fetch CIPHERTEXT   (one match SLOT) check that CIPHERTEXT is the\n"
            "                       attachment the report names and decrypt it\n"
            "  -o, --output OUT     with --fetch: write the decrypted attachment to OUT\n"
            "                       (mode 0600); without -o it is only verified\n"
            "  --json               one JSON object per slot on standard output\n"
            "  -h, --help           this text\n"
            "\n"
            "The attachment key is never printed.\n"
            "Exit status: 0 every slot opened, 1 some failed, 2 usage error.\n");
}

static void hex(FILE *out, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%02x", p[i]);
}

static void format_day(uint32_t day, char buf[16])
{
    time_t t = (time_t)day * 86400;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(buf, 16, "%Y-%m-%d", &tm) == 0)
        snprintf(buf, 16, "day %u", day);
}

static void print_text(const char *slot_path, const clientscan_report *r)
{
    printf("%s: %s\n", slot_path, clientscan_report_kind_name(r->kind));
    if (r->kind == CLIENTSCAN_REPORT_NO_MATCH) {
        printf("  the attachment was scanned and matched no list entry; the slot says nothing else\n");
        return;
    }
    if (r->kind == CLIENTSCAN_REPORT_UNSCANNED) {
        printf("  the attachment was sent without a scan (sender policy); the slot says nothing else\n");
        return;
    }
    char date[16];
    format_day(r->day, date);
    printf("  list digest      ");
    hex(stdout, r->list_digest, sizeof r->list_digest);
    printf("\n  list sequence    %llu\n  entry id         ", (unsigned long long)r->list_sequence);
    hex(stdout, r->entry_id, sizeof r->entry_id);
    printf("\n  distance         %d bits (%s hash)\n", r->distance,
           r->hash_algorithm == CLIENTSCAN_HASH_ALGORITHM_PDQ ? "pdq" : "unknown");
    printf("  variant          %s\n", clientscan_dihedral_name(r->variant));
    printf("  date             %s (UTC, day resolution)\n", date);
    printf("  attachment       ");
    hex(stdout, r->ciphertext_digest, sizeof r->ciphertext_digest);
    printf(" (BLAKE2b-256 of its ciphertext)\n");
}

static void print_json(const char *slot_path, const clientscan_report *r, const char *fetched,
                       size_t fetched_bytes, bool verified)
{
    printf("{\"slot\":");
    cli_json_string(stdout, slot_path);
    printf(",\"version\":%u,\"kind\":\"%s\"", r->version, clientscan_report_kind_name(r->kind));
    if (r->kind == CLIENTSCAN_REPORT_MATCH) {
        char date[16];
        format_day(r->day, date);
        printf(",\"hash_algorithm\":\"%s\",\"list_digest\":\"",
               r->hash_algorithm == CLIENTSCAN_HASH_ALGORITHM_PDQ ? "pdq" : "unknown");
        hex(stdout, r->list_digest, sizeof r->list_digest);
        printf("\",\"list_sequence\":%llu,\"entry_id\":\"", (unsigned long long)r->list_sequence);
        hex(stdout, r->entry_id, sizeof r->entry_id);
        printf("\",\"distance\":%d,\"variant\":\"%s\",\"day\":%u,\"date\":\"%s\","
               "\"attachment_digest\":\"",
               r->distance, clientscan_dihedral_name(r->variant), r->day, date);
        hex(stdout, r->ciphertext_digest, sizeof r->ciphertext_digest);
        printf("\"");
        if (verified) {
            printf(",\"fetched\":{\"bytes\":%zu,\"output\":", fetched_bytes);
            if (fetched)
                cli_json_string(stdout, fetched);
            else
                printf("null");
            printf("}");
        }
    }
    printf("}\n");
}

int cmd_report(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        report_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    if (strcmp(argv[1], "open") != 0) {
        cli_error("report: unknown subcommand '%s' (only 'open'; see 'clientscan report --help')",
                  argv[1]);
        return CLI_USAGE;
    }
    argc--;
    argv++;
    static const struct option longopts[] = {
        {"key", required_argument, NULL, 'k'},    {"fetch", required_argument, NULL, 'f'},
        {"output", required_argument, NULL, 'o'}, {"json", no_argument, NULL, 'J'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    const char *key_path = NULL, *fetch_path = NULL, *out_path = NULL;
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'k': key_path = optarg; break;
        case 'f': fetch_path = optarg; break;
        case 'o': out_path = optarg; break;
        case 'J': json = true; break;
        case 'h': report_usage(stdout); return CLI_OK;
        default: report_usage(stderr); return CLI_USAGE;
        }
    }
    if (!key_path) {
        cli_error("report open: --key is required (see 'clientscan report --help')");
        return CLI_USAGE;
    }
    if (optind >= argc) {
        cli_error("report open: no SLOT given");
        return CLI_USAGE;
    }
    if (fetch_path && argc - optind != 1) {
        cli_error("report open: --fetch takes exactly one SLOT");
        return CLI_USAGE;
    }
    if (out_path && !fetch_path) {
        cli_error("report open: -o needs --fetch");
        return CLI_USAGE;
    }
    clientscan_detail d;
    clientscan_secret_key *moderator = NULL;
    if (clientscan_secret_key_load(key_path, CLIENTSCAN_ROLE_MODERATOR, &moderator, &d) !=
        CLIENTSCAN_OK) {
        fprintf(stderr, "%s: %s\n", key_path, d.text);
        return CLI_FAILED;
    }
    int status = CLI_OK;
    for (int i = optind; i < argc; i++) {
        const char *slot_path = argv[i];
        uint8_t *slot = NULL;
        size_t slot_len;
        /* Read a little more than a slot so a wrong size is named, not cut. */
        if (cli_read_file(slot_path, 4096, &slot, &slot_len) != 0) {
            status = CLI_FAILED;
            continue;
        }
        clientscan_report r;
        int rc = clientscan_open_report(moderator, slot, slot_len, &r, &d);
        free(slot);
        if (rc != CLIENTSCAN_OK) {
            fprintf(stderr, "%s: %s\n", slot_path, d.text);
            status = CLI_FAILED;
            continue;
        }
        bool verified = false;
        size_t plain_len = 0;
        if (fetch_path) {
            uint8_t *ct = NULL, *plain = NULL;
            size_t ct_len;
            if (r.kind != CLIENTSCAN_REPORT_MATCH) {
                fprintf(stderr, "%s: a %s report names no attachment to fetch\n", slot_path,
                        clientscan_report_kind_name(r.kind));
                status = CLI_FAILED;
            } else if (cli_read_file(fetch_path,
                                     (size_t)CLIENTSCAN_DEFAULT_MAX_FILE_BYTES + (1u << 20), &ct,
                                     &ct_len) != 0) {
                status = CLI_FAILED;
            } else if (clientscan_report_open_attachment(&r, ct, ct_len, &plain, &plain_len, &d) !=
                       CLIENTSCAN_OK) {
                fprintf(stderr, "%s: %s\n", fetch_path, d.text);
                status = CLI_FAILED;
            } else if (out_path && cli_write_file_atomic(out_path, plain, plain_len, 0600) != 0) {
                status = CLI_FAILED;
            } else {
                verified = true;
            }
            free(ct);
            free(plain);
        }
        if (json) {
            print_json(slot_path, &r, out_path, plain_len, verified);
        } else {
            print_text(slot_path, &r);
            if (verified)
                printf("  fetched          %s: %zu bytes, digest and every chunk verified%s%s\n",
                       fetch_path, plain_len, out_path ? ", written to " : " (use -o to write it)",
                       out_path ? out_path : "");
        }
        clientscan_report_release(&r);
    }
    clientscan_secret_key_free(moderator);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("report open: cannot write output: %s", strerror(errno));
        status = CLI_FAILED;
    }
    return status;
}
