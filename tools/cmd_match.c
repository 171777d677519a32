/* clientscan match — match PDQ hashes or images against a signed list. */
#include "cli.h"

#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PRINTED 1000 /* matches printed per input; the count is exact */

static void match_usage(FILE *out)
{
    fprintf(out,
            "usage: clientscan match --list L (--authority A.pub | --unsigned-ok) [options]\n"
            "                        HASH|IMAGE...\n"
            "\n"
            "Matches each argument against the list: a 64-hex-digit PDQ hash as\n"
            "given, or a PNG/JPEG image hashed with all 8 rotations and mirrors.\n"
            "Prints every entry within the threshold with its id, distance and\n"
            "the variant that matched; images of quality below 50 are flagged.\n"
            "\n"
            "Options:\n"
            "  --list L                 the hash list (required)\n"
            "  --authority A.pub        trusted authority key (repeatable)\n"
            "  --unsigned-ok            accept a list without a trusted signature\n"
            "  --accepted-sequence N    refuse a list older than N (rollback)\n"
            "  --threshold D            match distance 0..256 (default 31)\n"
            "  --no-dihedral            images: match the original orientation only\n"
            "  --skip-low-quality       images of quality < 50: flag, do not match\n"
            "  --json                   one JSON object per input\n"
            "  -h, --help               this text\n"
            "\n"
            "Exit status: 0 every input was checked (matched or not), 1 some input\n"
            "or the list failed, 2 usage error.\n");
}

enum { OPT_LIST = 2000, OPT_AUTHORITY, OPT_UNSIGNED_OK, OPT_ACCEPTED, OPT_THRESHOLD,
       OPT_NO_DIHEDRAL, OPT_SKIP_LOW, OPT_JSON };

static bool looks_like_hash(const char *s)
{
    if (strlen(s) != 2 * CLIENTSCAN_PDQ_BYTES)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F')))
            return false;
    return true;
}

/* Hashes an argument: a hex hash (quality unknown, one variant) or an image.
 * Returns 0, or -1 after printing "arg: reason". */
static int query_for(const char *arg, bool dihedral, clientscan_pdq_result *q, bool *is_image)
{
    memset(q, 0, sizeof *q);
    clientscan_detail detail = {{0}};
    if (looks_like_hash(arg)) {
        *is_image = false;
        q->quality = 100; /* unknown: not flagged */
        return clientscan_pdq_from_hex(arg, strlen(arg), &q->hash[0], &detail) == CLIENTSCAN_OK
                   ? 0
                   : (fprintf(stderr, "%s: %s\n", arg, detail.text), -1);
    }
    *is_image = true;
    clientscan_hash_params hp;
    memset(&hp, 0, sizeof hp);
    hp.mode = CLIENTSCAN_PDQ_MODE_FULL;
    hp.dihedral = dihedral;
    if (clientscan_hash_file(arg, &hp, q, NULL, &detail) != CLIENTSCAN_OK) {
        fprintf(stderr, "%s: %s\n", arg, detail.text);
        return -1;
    }
    return 0;
}

static void print_result(const char *arg, const clientscan_list *list, bool is_image,
                         const clientscan_pdq_result *q, int low, const clientscan_match *m,
                         size_t shown, size_t found, bool skipped, bool json)
{
    char hex[CLIENTSCAN_PDQ_HEX_BYTES];
    clientscan_pdq_to_hex(&q->hash[0], hex);
    if (json) {
        char digest[2 * CLIENTSCAN_LIST_DIGEST_BYTES + 1];
        cli_hex(clientscan_list_digest(list), CLIENTSCAN_LIST_DIGEST_BYTES, digest);
        printf("{\"input\":");
        cli_json_string(stdout, arg);
        printf(",\"hash\":\"%s\",", hex);
        if (is_image)
            printf("\"quality\":%d,\"low_quality\":%s,", q->quality, low ? "true" : "false");
        else
            printf("\"quality\":null,\"low_quality\":false,");
        printf("\"searched\":%s,\"list_digest\":\"%s\",\"found\":%zu,\"matches\":[",
               skipped ? "false" : "true", digest, found);
    } else {
        printf("%s: ", arg);
        if (skipped)
            printf("low quality (%d), not searched\n", q->quality);
        else if (found == 0)
            printf("no match%s\n", low ? " (LOW QUALITY image)" : "");
        else
            printf("%zu match%s%s\n", found, found == 1 ? "" : "es",
                   low ? " (LOW QUALITY image: less reliable)" : "");
    }
    for (size_t i = 0; i < shown; i++) {
        clientscan_list_entry e;
        clientscan_list_entry_at(list, m[i].entry, &e);
        char id[CLIENTSCAN_LIST_ID_HEX_BYTES], eh[CLIENTSCAN_PDQ_HEX_BYTES];
        cli_hex(e.id, CLIENTSCAN_LIST_ID_BYTES, id);
        clientscan_pdq_to_hex(&e.hash, eh);
        if (json)
            printf("%s{\"entry\":%zu,\"id\":\"%s\",\"hash\":\"%s\",\"distance\":%d,"
                   "\"variant\":\"%s\"}",
                   i ? "," : "", m[i].entry, id, eh, m[i].distance,
                   clientscan_dihedral_name(m[i].variant));
        else
            printf("  id %s  distance %3d  variant %-10s  hash %s\n", id, m[i].distance,
                   clientscan_dihedral_name(m[i].variant), eh);
    }
    if (json)
        printf("]}\n");
    else if (shown < found)
        printf("  ... %zu more not shown\n", found - shown);
}

int cmd_match(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"list", required_argument, NULL, OPT_LIST},
        {"authority", required_argument, NULL, OPT_AUTHORITY},
        {"unsigned-ok", no_argument, NULL, OPT_UNSIGNED_OK},
        {"accepted-sequence", required_argument, NULL, OPT_ACCEPTED},
        {"threshold", required_argument, NULL, OPT_THRESHOLD},
        {"no-dihedral", no_argument, NULL, OPT_NO_DIHEDRAL},
        {"skip-low-quality", no_argument, NULL, OPT_SKIP_LOW},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    cli_trust trust;
    memset(&trust, 0, sizeof trust);
    const char *list_path = NULL;
    clientscan_match_params params = CLIENTSCAN_MATCH_PARAMS_DEFAULT;
    bool json = false;
    long v;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_LIST: list_path = optarg; break;
        case OPT_AUTHORITY:
            if ((v = cli_trust_add(&trust, optarg)) != 0)
                return (int)v;
            break;
        case OPT_UNSIGNED_OK: trust.unsigned_ok = true; break;
        case OPT_ACCEPTED:
            if (!cli_parse_int(optarg, 0, LONG_MAX, &v)) {
                cli_error("match: --accepted-sequence: not a non-negative integer: %s", optarg);
                return CLI_USAGE;
            }
            trust.accepted_sequence = (uint64_t)v;
            break;
        case OPT_THRESHOLD:
            if (!cli_parse_int(optarg, 0, 256, &v)) {
                cli_error("match: --threshold: not in 0..256: %s", optarg);
                return CLI_USAGE;
            }
            params.max_distance = (int)v;
            break;
        case OPT_NO_DIHEDRAL: params.dihedral = 0; break;
        case OPT_SKIP_LOW: params.skip_low_quality = 1; break;
        case OPT_JSON: json = true; break;
        case 'h': match_usage(stdout); return CLI_OK;
        default: match_usage(stderr); return CLI_USAGE;
        }
    }
    if (!list_path || optind >= argc) {
        cli_error("match: need --list L and at least one HASH or IMAGE (see --help)");
        return CLI_USAGE;
    }
    if (trust.count == 0 && !trust.unsigned_ok) {
        cli_error("match: give --authority KEY.pub to verify the list (or --unsigned-ok)");
        return CLI_USAGE;
    }
    clientscan_list *list = NULL;
    if (cli_open_list(list_path, &trust, &list) != 0)
        return CLI_FAILED;
    clientscan_match *matches = malloc(MAX_PRINTED * sizeof *matches);
    if (!matches) {
        cli_error("match: out of memory");
        clientscan_list_close(list);
        return CLI_FAILED;
    }
    int status = CLI_OK;
    for (int i = optind; i < argc; i++) {
        clientscan_pdq_result q;
        bool is_image = false;
        if (query_for(argv[i], params.dihedral != 0, &q, &is_image) != 0) {
            status = CLI_FAILED;
            continue;
        }
        clientscan_match_params p = params;
        if (!is_image)
            p.dihedral = 0; /* a bare hash has no variants */
        size_t found = 0;
        int low = 0;
        clientscan_detail detail = {{0}};
        if (clientscan_list_match(list, &q, &p, matches, MAX_PRINTED, &found, &low, &detail) !=
            CLIENTSCAN_OK) {
            fprintf(stderr, "%s: %s\n", argv[i], detail.text);
            status = CLI_FAILED;
            continue;
        }
        bool skipped = low && p.skip_low_quality;
        print_result(argv[i], list, is_image, &q, low, matches,
                     found < MAX_PRINTED ? found : MAX_PRINTED, found, skipped, json);
    }
    free(matches);
    clientscan_list_close(list);
    return status;
}
