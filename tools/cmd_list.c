/* clientscan list — build, sign, verify, inspect, export and diff signed
 * hash lists (format: hashdb/FORMAT.md). Also the trust helpers that
 * 'match' shares (cli.h). */
#include "cli.h"

#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_LIST_FILE ((size_t)4 << 30)  /* a 50M-entry list is ~2.6 GB */
#define MAX_TEXT_FILE ((size_t)8 << 30)  /* ~100 bytes per line */
#define MAX_SIGNERS CLIENTSCAN_LIST_MAX_SIGNATURES
#define MAX_INPUTS CLIENTSCAN_LIST_MAX_PROVIDERS

static const char list_magic[] = "\x89" "CSHL";

/* ------------------------------------------------------------ shared helpers */

void cli_hex(const uint8_t *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

int cli_trust_add(cli_trust *trust, const char *path)
{
    if (trust->count >= CLI_MAX_AUTHORITIES) {
        cli_error("at most %d --authority keys", CLI_MAX_AUTHORITIES);
        return CLI_USAGE;
    }
    clientscan_detail detail = {{0}};
    if (clientscan_public_key_load(path, CLIENTSCAN_ROLE_AUTHORITY, &trust->keys[trust->count],
                                   &detail) != CLIENTSCAN_OK) {
        fprintf(stderr, "%s: %s\n", path, detail.text);
        return CLI_FAILED; /* the command line was fine; the file is not */
    }
    trust->count++;
    return 0;
}

static int open_list_with(const char *path, const cli_trust *trust, bool inspect,
                          clientscan_list **out)
{
    clientscan_list_params params;
    memset(&params, 0, sizeof params);
    params.authorities = trust->keys;
    params.authority_count = trust->count;
    params.allow_unsigned = trust->unsigned_ok || inspect;
    params.accepted_sequence = trust->accepted_sequence;
    params.skip_index = inspect;
    clientscan_detail detail = {{0}};
    int rc = clientscan_list_open(path, &params, out, &detail);
    if (rc != CLIENTSCAN_OK) {
        fprintf(stderr, "%s: %s\n", path, detail.text);
        return -1;
    }
    return 0;
}

int cli_open_list(const char *path, const cli_trust *trust, clientscan_list **out)
{
    return open_list_with(path, trust, false, out);
}

/* Parses the trust options; returns 1 if the option was one of them, 0 if
 * not, -1 on error. */
enum { OPT_AUTHORITY = 1000, OPT_UNSIGNED_OK, OPT_ACCEPTED_SEQUENCE, OPT_JSON, OPT_NAME,
       OPT_SEQUENCE, OPT_CREATED, OPT_REQUIRE, OPT_WITHIN, OPT_MIN_QUALITY, OPT_SIGN,
       OPT_PROVENANCE, OPT_KEY };

/* 1: c was a trust option and is applied; 0: not a trust option;
 * negative: minus the exit status of the failure (already reported). */
static int trust_option(cli_trust *trust, int c)
{
    long v;
    int status;
    switch (c) {
    case OPT_AUTHORITY: return (status = cli_trust_add(trust, optarg)) == 0 ? 1 : -status;
    case OPT_UNSIGNED_OK: trust->unsigned_ok = true; return 1;
    case OPT_ACCEPTED_SEQUENCE:
        if (!cli_parse_int(optarg, 0, LONG_MAX, &v)) {
            cli_error("--accepted-sequence: not a non-negative integer: %s", optarg);
            return -CLI_USAGE;
        }
        trust->accepted_sequence = (uint64_t)v;
        return 1;
    }
    return 0;
}

/* Options of the commands that read lists (info, verify, export, diff):
 * trust, --json, -o and --help, each command offering its own subset. */
typedef struct read_options {
    cli_trust trust;
    bool json;
    const char *output;
} read_options;

/* Returns -1 when the command should go on, else its exit status (help
 * printed, or a usage error already reported). */
static int parse_read_options(int argc, char **argv, const char *shortopts,
                              const struct option *longopts, void (*usage)(FILE *),
                              read_options *o)
{
    memset(o, 0, sizeof *o);
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        int t = trust_option(&o->trust, c);
        if (t < 0)
            return -t;
        if (t > 0)
            continue;
        switch (c) {
        case OPT_JSON: o->json = true; break;
        case 'o': o->output = optarg; break;
        case 'h': usage(stdout); return CLI_OK;
        default: usage(stderr); return CLI_USAGE;
        }
    }
    return -1;
}

static bool need_trust(const cli_trust *trust, const char *cmd)
{
    if (trust->count == 0 && !trust->unsigned_ok) {
        cli_error("%s: give --authority KEY.pub to verify lists (or --unsigned-ok to skip "
                  "verification)",
                  cmd);
        return false;
    }
    return true;
}

static void format_time(uint64_t t, char *buf, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (t > (uint64_t)253402300799ULL || !gmtime_r(&tt, &tm) ||
        strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, cap, "@%llu", (unsigned long long)t);
}

static const char *status_name(clientscan_signature_status s)
{
    switch (s) {
    case CLIENTSCAN_SIGNATURE_VALID: return "valid";
    case CLIENTSCAN_SIGNATURE_INVALID: return "INVALID";
    case CLIENTSCAN_SIGNATURE_UNKNOWN_KEY: break;
    }
    return "unknown-key";
}

/* ------------------------------------------------------------ usage */

static void list_usage(FILE *out)
{
    fprintf(out,
            "usage: clientscan list SUBCOMMAND [options] ...\n"
            "\n"
            "Signed PDQ hash lists (format: hashdb/FORMAT.md).\n"
            "\n"
            "  build   -o OUT [options] INPUT...  build a list from text or signed lists\n"
            "  sign    --key A.sec [-o OUT] LIST   add an authority signature\n"
            "  verify  --authority A.pub LIST...   check signatures (and rollback)\n"
            "  info    [--authority A.pub] LIST    header, digest, signers, providers\n"
            "  export  [-o OUT] LIST               write ThreatExchange-style text\n"
            "  diff    A B                         entries added, removed, changed\n"
            "\n"
            "Trust options (verify, export, diff, and signed build inputs):\n"
            "  --authority A.pub        trusted authority key (repeatable)\n"
            "  --unsigned-ok            accept lists without a trusted signature\n"
            "  --accepted-sequence N    refuse lists older than N (rollback)\n"
            "\n"
            "'clientscan list SUBCOMMAND --help' describes a subcommand.\n"
            "Exit status: 0 ok, 1 failure, 2 usage error.\n");
}

static void build_usage(FILE *out)
{
    fprintf(out,
            "usage: clientscan list build -o OUT [options] INPUT...\n"
            "\n"
            "Builds a binary hash list from INPUTs: text files with one\n"
            "HASH[,QUALITY][,ID] per line ('#' comments; - is standard input) or\n"
            "signed lists. Duplicate hashes are merged (first id kept).\n"
            "\n"
            "Options:\n"
            "  -o, --output OUT      the list file to write (required)\n"
            "  --name NAME           list name (default: unnamed)\n"
            "  --sequence N          sequence number, must grow with every release\n"
            "                        (required with --sign)\n"
            "  --created UNIX        creation time (default: now)\n"
            "  --min-quality Q       drop text lines with a quality below Q\n"
            "  --require K           k-of-n: keep hashes from at least K of the INPUTs\n"
            "  --within D            with --require: a provider supports a hash if it\n"
            "                        has one within D bits (default 0: exact)\n"
            "  --provenance          record which INPUTs contributed each entry\n"
            "                        (always on with --require)\n"
            "  --sign A.sec          sign with this authority key (repeatable)\n"
            "  --authority A.pub, --unsigned-ok   to read signed INPUTs\n"
            "  --json                print the result as JSON\n"
            "  -h, --help            this text\n");
}

static void sign_usage(FILE *out)
{
    fprintf(out, "usage: clientscan list sign --key A.sec [-o OUT] [--json] LIST\n"
                 "\n"
                 "Adds (or replaces) the signature of authority key A to LIST, written to\n"
                 "OUT or back to LIST atomically. The list digest does not change.\n");
}

static void verify_usage(FILE *out)
{
    fprintf(out, "usage: clientscan list verify --authority A.pub [--authority ...]\n"
                 "                              [--accepted-sequence N] [--json] LIST...\n"
                 "\n"
                 "Succeeds if every LIST carries a valid signature by a trusted key and\n"
                 "is not older than --accepted-sequence. Exit 1 if any LIST fails.\n");
}

static void info_usage(FILE *out)
{
    fprintf(out, "usage: clientscan list info [--authority A.pub ...] [--json] LIST\n"
                 "\n"
                 "Prints name, sequence, creation time, entries, digest, providers and\n"
                 "signers. Signatures are checked against the --authority keys given;\n"
                 "without any, they are listed as unknown-key.\n");
}

static void export_usage(FILE *out)
{
    fprintf(out, "usage: clientscan list export (--authority A.pub | --unsigned-ok) [-o OUT] LIST\n"
                 "\n"
                 "Writes the entries as text, one HASH,,ID per line (quality is not\n"
                 "stored in lists), after '#' comment lines naming the list.\n");
}

static void diff_usage(FILE *out)
{
    fprintf(out, "usage: clientscan list diff (--authority A.pub | --unsigned-ok) [--json] A B\n"
                 "\n"
                 "Lines '- HASH,,ID' (only in A), '+ HASH,,ID' (only in B) and\n"
                 "'~ HASH,,ID_A -> ID_B' (same hash, new id), then a summary line.\n");
}

/* ------------------------------------------------------------ build */

/* Provider name for an input: its file name without directories. */
static void provider_name(const char *path, size_t index, char *out, size_t cap)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (strcmp(path, "-") == 0)
        base = "stdin";
    snprintf(out, cap, "%.*s", CLIENTSCAN_LIST_PROVIDER_NAME_MAX, base);
    /* Cutting may split a UTF-8 sequence; drop a partial trailing one. */
    size_t n = strlen(out);
    while (n > 0 && ((unsigned char)out[n - 1] & 0xc0) == 0x80)
        n--;
    if (n > 0 && ((unsigned char)out[n - 1] & 0xc0) == 0xc0)
        n--;
    out[n] = '\0';
    if (n == 0)
        snprintf(out, cap, "input-%zu", index + 1);
}

static int add_input(clientscan_list_builder *b, const char *path, int provider, int min_quality,
                     const cli_trust *trust)
{
    uint8_t *data = NULL;
    size_t len = 0;
    clientscan_detail detail = {{0}};
    if (cli_read_file(path, MAX_TEXT_FILE, &data, &len) != 0)
        return -1;
    int rc;
    size_t added = 0;
    if (len >= 5 && memcmp(data, list_magic, 5) == 0) {
        clientscan_list_params params;
        memset(&params, 0, sizeof params);
        params.authorities = trust->keys;
        params.authority_count = trust->count;
        params.allow_unsigned = trust->unsigned_ok;
        params.skip_index = 1;
        clientscan_list *list = NULL;
        if (trust->count == 0 && !trust->unsigned_ok) {
            fprintf(stderr, "%s: a signed list: give --authority KEY.pub (or --unsigned-ok)\n",
                    path);
            free(data);
            return -1;
        }
        rc = clientscan_list_open_memory(data, len, &params, &list, &detail);
        if (rc == CLIENTSCAN_OK) {
            rc = clientscan_list_builder_add_list(b, list, provider, &detail);
            clientscan_list_close(list);
        }
    } else {
        rc = clientscan_list_builder_add_text(b, data, len, provider, min_quality, &added,
                                              &detail);
    }
    free(data);
    if (rc != CLIENTSCAN_OK) {
        fprintf(stderr, "%s: %s\n", path, detail.text);
        return -1;
    }
    return 0;
}

static int list_build(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"name", required_argument, NULL, OPT_NAME},
        {"sequence", required_argument, NULL, OPT_SEQUENCE},
        {"created", required_argument, NULL, OPT_CREATED},
        {"min-quality", required_argument, NULL, OPT_MIN_QUALITY},
        {"require", required_argument, NULL, OPT_REQUIRE},
        {"within", required_argument, NULL, OPT_WITHIN},
        {"provenance", no_argument, NULL, OPT_PROVENANCE},
        {"sign", required_argument, NULL, OPT_SIGN},
        {"authority", required_argument, NULL, OPT_AUTHORITY},
        {"unsigned-ok", no_argument, NULL, OPT_UNSIGNED_OK},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    cli_trust trust;
    memset(&trust, 0, sizeof trust);
    const char *output = NULL, *name = NULL;
    const char *sign_paths[MAX_SIGNERS];
    size_t nsign = 0;
    long sequence = -1, created = -1, min_quality = 0, require = 0, within = 0;
    bool provenance = false, json = false, within_set = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        int t = trust_option(&trust, c);
        if (t < 0)
            return -t;
        if (t > 0)
            continue;
        switch (c) {
        case 'o': output = optarg; break;
        case OPT_NAME: name = optarg; break;
        case OPT_SEQUENCE:
            if (!cli_parse_int(optarg, 0, LONG_MAX, &sequence)) {
                cli_error("list build: --sequence: not a non-negative integer: %s", optarg);
                return CLI_USAGE;
            }
            break;
        case OPT_CREATED:
            if (!cli_parse_int(optarg, 0, LONG_MAX, &created)) {
                cli_error("list build: --created: not a Unix time: %s", optarg);
                return CLI_USAGE;
            }
            break;
        case OPT_MIN_QUALITY:
            if (!cli_parse_int(optarg, 0, 100, &min_quality)) {
                cli_error("list build: --min-quality: not in 0..100: %s", optarg);
                return CLI_USAGE;
            }
            break;
        case OPT_REQUIRE:
            if (!cli_parse_int(optarg, 1, MAX_INPUTS, &require)) {
                cli_error("list build: --require: not in 1..%d: %s", MAX_INPUTS, optarg);
                return CLI_USAGE;
            }
            break;
        case OPT_WITHIN:
            if (!cli_parse_int(optarg, 0, 256, &within)) {
                cli_error("list build: --within: not in 0..256: %s", optarg);
                return CLI_USAGE;
            }
            within_set = true;
            break;
        case OPT_PROVENANCE: provenance = true; break;
        case OPT_SIGN:
            if (nsign == MAX_SIGNERS) {
                cli_error("list build: at most %d --sign keys", MAX_SIGNERS);
                return CLI_USAGE;
            }
            sign_paths[nsign++] = optarg;
            break;
        case OPT_JSON: json = true; break;
        case 'h': build_usage(stdout); return CLI_OK;
        default: build_usage(stderr); return CLI_USAGE;
        }
    }
    int ninputs = argc - optind;
    if (!output || ninputs < 1) {
        cli_error("list build: need -o OUT and at least one INPUT (see --help)");
        return CLI_USAGE;
    }
    if (ninputs > MAX_INPUTS) {
        cli_error("list build: at most %d inputs", MAX_INPUTS);
        return CLI_USAGE;
    }
    if (within_set && !require) {
        cli_error("list build: --within only makes sense with --require");
        return CLI_USAGE;
    }
    if (require > ninputs) {
        cli_error("list build: --require %ld but only %d inputs", require, ninputs);
        return CLI_USAGE;
    }
    if (nsign && sequence < 0) {
        cli_error("list build: a signed list needs --sequence N (higher than the last release)");
        return CLI_USAGE;
    }
    if (require)
        provenance = true;

    int status = CLI_FAILED;
    clientscan_detail detail = {{0}};
    clientscan_list_builder *b = NULL;
    clientscan_secret_key *signers[MAX_SIGNERS] = {NULL};
    uint8_t *enc = NULL;
    size_t enc_len = 0;
    for (size_t i = 0; i < nsign; i++) {
        if (clientscan_secret_key_load(sign_paths[i], CLIENTSCAN_ROLE_AUTHORITY, &signers[i],
                                       &detail) != CLIENTSCAN_OK) {
            fprintf(stderr, "%s: %s\n", sign_paths[i], detail.text);
            goto out;
        }
    }
    if (clientscan_list_builder_new(&b, &detail) != CLIENTSCAN_OK) {
        cli_error("list build: %s", detail.text);
        goto out;
    }
    if (name && clientscan_list_builder_set_name(b, name, &detail) != CLIENTSCAN_OK) {
        cli_error("list build: --name: %s", detail.text);
        status = CLI_USAGE;
        goto out;
    }
    clientscan_list_builder_set_sequence(b, sequence < 0 ? 0 : (uint64_t)sequence);
    if (created >= 0)
        clientscan_list_builder_set_created(b, (uint64_t)created);
    for (int i = 0; i < ninputs; i++) {
        int provider = -1;
        if (provenance) {
            char pname[CLIENTSCAN_LIST_PROVIDER_NAME_MAX + 1];
            unsigned idx;
            provider_name(argv[optind + i], (size_t)i, pname, sizeof pname);
            if (clientscan_list_builder_add_provider(b, pname, &idx, &detail) != CLIENTSCAN_OK) {
                fprintf(stderr, "%s: %s\n", argv[optind + i], detail.text);
                goto out;
            }
            provider = (int)idx;
        }
        if (add_input(b, argv[optind + i], provider, (int)min_quality, &trust) != 0)
            goto out;
    }
    size_t before = clientscan_list_builder_count(b), kept = before;
    if (require &&
        clientscan_list_builder_require(b, (unsigned)require, (int)within, &kept, &detail) !=
            CLIENTSCAN_OK) {
        cli_error("list build: %s", detail.text);
        goto out;
    }
    if (clientscan_list_builder_encode(b, (const clientscan_secret_key *const *)signers, nsign,
                                       &enc, &enc_len, &detail) != CLIENTSCAN_OK) {
        cli_error("list build: %s", detail.text);
        goto out;
    }
    if (cli_write_file_atomic(output, enc, enc_len, 0644) != 0)
        goto out;

    /* Report what was written, read back from the bytes themselves. */
    clientscan_list_params params;
    memset(&params, 0, sizeof params);
    params.allow_unsigned = 1;
    params.skip_index = 1;
    clientscan_list *list = NULL;
    if (clientscan_list_open_memory(enc, enc_len, &params, &list, &detail) != CLIENTSCAN_OK) {
        fprintf(stderr, "%s: written but does not read back: %s\n", output, detail.text);
        goto out;
    }
    char digest[2 * CLIENTSCAN_LIST_DIGEST_BYTES + 1];
    cli_hex(clientscan_list_digest(list), CLIENTSCAN_LIST_DIGEST_BYTES, digest);
    if (json) {
        printf("{\"output\":");
        cli_json_string(stdout, output);
        printf(",\"name\":");
        cli_json_string(stdout, clientscan_list_name(list));
        printf(",\"sequence\":%llu,\"entries\":%zu,\"before_require\":%zu,\"digest\":\"%s\","
               "\"signers\":[",
               (unsigned long long)clientscan_list_sequence(list), clientscan_list_count(list),
               before, digest);
    } else {
        printf("%s: list '%s' sequence %llu, %zu entries", output, clientscan_list_name(list),
               (unsigned long long)clientscan_list_sequence(list), clientscan_list_count(list));
        if (require)
            printf(" (%zu of %zu hashes in at least %ld of %d inputs%s)", kept, before, require,
                   ninputs, within ? ", within distance" : "");
        printf("\n  digest %s\n  ", digest);
        printf(nsign ? "signed by" : "UNSIGNED (sign with 'clientscan list sign')");
    }
    for (size_t i = 0; i < clientscan_list_signature_count(list); i++) {
        uint8_t id[CLIENTSCAN_KEY_ID_BYTES];
        char hex[CLIENTSCAN_KEY_ID_HEX_BYTES];
        clientscan_list_signature_at(list, i, id, NULL);
        clientscan_key_id_to_hex(id, hex);
        printf(json ? "%s\"%s\"" : "%s%s", i ? (json ? "," : ", ") : (json ? "" : " "), hex);
    }
    printf(json ? "]}\n" : "\n");
    clientscan_list_close(list);
    status = CLI_OK;
out:
    free(enc);
    clientscan_list_builder_free(b);
    for (size_t i = 0; i < nsign; i++)
        clientscan_secret_key_free(signers[i]);
    return status;
}

/* ------------------------------------------------------------ sign */

static int list_sign(int argc, char **argv)
{
    static const struct option longopts[] = {{"key", required_argument, NULL, OPT_KEY},
                                             {"output", required_argument, NULL, 'o'},
                                             {"json", no_argument, NULL, OPT_JSON},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *key_path = NULL, *output = NULL;
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_KEY: key_path = optarg; break;
        case 'o': output = optarg; break;
        case OPT_JSON: json = true; break;
        case 'h': sign_usage(stdout); return CLI_OK;
        default: sign_usage(stderr); return CLI_USAGE;
        }
    }
    if (!key_path || argc - optind != 1) {
        cli_error("list sign: need --key A.sec and one LIST (see --help)");
        return CLI_USAGE;
    }
    const char *path = argv[optind];
    if (!output)
        output = path;
    clientscan_detail detail = {{0}};
    clientscan_secret_key *sk = NULL;
    if (clientscan_secret_key_load(key_path, CLIENTSCAN_ROLE_AUTHORITY, &sk, &detail) !=
        CLIENTSCAN_OK) {
        fprintf(stderr, "%s: %s\n", key_path, detail.text);
        return CLI_FAILED;
    }
    uint8_t *data = NULL, *signed_data = NULL;
    size_t len = 0, signed_len = 0;
    int status = CLI_FAILED;
    if (cli_read_file(path, MAX_LIST_FILE, &data, &len) != 0)
        goto out;
    if (clientscan_list_add_signature(data, len, sk, &signed_data, &signed_len, &detail) !=
        CLIENTSCAN_OK) {
        fprintf(stderr, "%s: %s\n", path, detail.text);
        goto out;
    }
    if (cli_write_file_atomic(output, signed_data, signed_len, 0644) != 0)
        goto out;
    clientscan_public_key pub;
    clientscan_secret_key_public(sk, &pub);
    char id[CLIENTSCAN_KEY_ID_HEX_BYTES];
    clientscan_key_id_to_hex(pub.id, id);
    if (json) {
        printf("{\"output\":");
        cli_json_string(stdout, output);
        printf(",\"signer\":\"%s\"}\n", id);
    } else {
        printf("%s: signed by %s\n", output, id);
    }
    status = CLI_OK;
out:
    clientscan_secret_key_free(sk);
    free(data);
    free(signed_data);
    return status;
}

/* ------------------------------------------------------------ info, verify */

static void print_info_json(const char *path, const clientscan_list *list, bool checked)
{
    char digest[2 * CLIENTSCAN_LIST_DIGEST_BYTES + 1], when[64];
    cli_hex(clientscan_list_digest(list), CLIENTSCAN_LIST_DIGEST_BYTES, digest);
    format_time(clientscan_list_created(list), when, sizeof when);
    printf("{\"path\":");
    cli_json_string(stdout, path);
    printf(",\"name\":");
    cli_json_string(stdout, clientscan_list_name(list));
    printf(",\"sequence\":%llu,\"created\":%llu,\"created_utc\":\"%s\",\"entries\":%zu,"
           "\"digest\":\"%s\",\"verified\":%s,\"signatures\":[",
           (unsigned long long)clientscan_list_sequence(list),
           (unsigned long long)clientscan_list_created(list), when, clientscan_list_count(list),
           digest, clientscan_list_verified(list) ? "true" : "false");
    for (size_t i = 0; i < clientscan_list_signature_count(list); i++) {
        uint8_t id[CLIENTSCAN_KEY_ID_BYTES];
        char hex[CLIENTSCAN_KEY_ID_HEX_BYTES];
        clientscan_signature_status st;
        clientscan_list_signature_at(list, i, id, &st);
        clientscan_key_id_to_hex(id, hex);
        printf("%s{\"key_id\":\"%s\",\"status\":\"%s\"}", i ? "," : "", hex,
               checked ? status_name(st) : "not-checked");
    }
    printf("],\"providers\":[");
    for (size_t p = 0; p < clientscan_list_provider_count(list); p++) {
        if (p)
            putchar(',');
        cli_json_string(stdout, clientscan_list_provider_name(list, p));
    }
    printf("]}\n");
}

static void print_info_text(const char *path, const clientscan_list *list, bool checked)
{
    char digest[2 * CLIENTSCAN_LIST_DIGEST_BYTES + 1], when[64];
    cli_hex(clientscan_list_digest(list), CLIENTSCAN_LIST_DIGEST_BYTES, digest);
    format_time(clientscan_list_created(list), when, sizeof when);
    printf("%s\n  name:       %s\n  sequence:   %llu\n  created:    %s\n  entries:    %zu\n"
           "  digest:     %s\n",
           path, clientscan_list_name(list), (unsigned long long)clientscan_list_sequence(list),
           when, clientscan_list_count(list), digest);
    size_t ns = clientscan_list_signature_count(list);
    if (ns == 0)
        printf("  signatures: none (unsigned list)\n");
    for (size_t i = 0; i < ns; i++) {
        uint8_t id[CLIENTSCAN_KEY_ID_BYTES];
        char hex[CLIENTSCAN_KEY_ID_HEX_BYTES];
        clientscan_signature_status st;
        clientscan_list_signature_at(list, i, id, &st);
        clientscan_key_id_to_hex(id, hex);
        printf("  %s %s (%s)\n", i ? "          " : "signatures:", hex,
               checked ? status_name(st) : "not checked: no --authority given");
    }
    size_t np = clientscan_list_provider_count(list);
    for (size_t p = 0; p < np; p++) {
        /* Count the entries each provider contributed. */
        size_t n = 0;
        for (size_t i = 0; i < clientscan_list_count(list); i++) {
            clientscan_list_entry e;
            clientscan_list_entry_at(list, i, &e);
            n += (e.providers >> p) & 1;
        }
        printf("  %s %s (%zu entries)\n", p ? "          " : "providers: ",
               clientscan_list_provider_name(list, p), n);
    }
}

static int list_info(int argc, char **argv)
{
    static const struct option longopts[] = {{"authority", required_argument, NULL, OPT_AUTHORITY},
                                             {"json", no_argument, NULL, OPT_JSON},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    read_options opts;
    int parsed = parse_read_options(argc, argv, "h", longopts, info_usage, &opts);
    if (parsed >= 0)
        return parsed;
    cli_trust trust = opts.trust;
    const bool json = opts.json;
    if (argc - optind < 1) {
        cli_error("list info: need a LIST (see --help)");
        return CLI_USAGE;
    }
    int status = CLI_OK;
    for (int i = optind; i < argc; i++) {
        clientscan_list *list = NULL;
        if (open_list_with(argv[i], &trust, true, &list) != 0) {
            status = CLI_FAILED;
            continue;
        }
        if (json)
            print_info_json(argv[i], list, trust.count > 0);
        else
            print_info_text(argv[i], list, trust.count > 0);
        clientscan_list_close(list);
    }
    return status;
}

static int list_verify(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"authority", required_argument, NULL, OPT_AUTHORITY},
        {"accepted-sequence", required_argument, NULL, OPT_ACCEPTED_SEQUENCE},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    read_options opts;
    int parsed = parse_read_options(argc, argv, "h", longopts, verify_usage, &opts);
    if (parsed >= 0)
        return parsed;
    cli_trust trust = opts.trust;
    const bool json = opts.json;
    if (trust.count == 0 || argc - optind < 1) {
        cli_error("list verify: need --authority A.pub and at least one LIST (see --help)");
        return CLI_USAGE;
    }
    int status = CLI_OK;
    for (int i = optind; i < argc; i++) {
        clientscan_list_params params;
        memset(&params, 0, sizeof params);
        params.authorities = trust.keys;
        params.authority_count = trust.count;
        params.accepted_sequence = trust.accepted_sequence;
        params.skip_index = 1;
        clientscan_list *list = NULL;
        clientscan_detail detail = {{0}};
        int rc = clientscan_list_open(argv[i], &params, &list, &detail);
        if (rc != CLIENTSCAN_OK) {
            status = CLI_FAILED;
            if (json) {
                printf("{\"path\":");
                cli_json_string(stdout, argv[i]);
                printf(",\"ok\":false,\"error\":");
                cli_json_string(stdout, clientscan_strerror(rc));
                printf(",\"detail\":");
                cli_json_string(stdout, detail.text);
                printf("}\n");
            }
            fprintf(stderr, "%s: %s\n", argv[i], detail.text);
            continue;
        }
        char digest[2 * CLIENTSCAN_LIST_DIGEST_BYTES + 1];
        cli_hex(clientscan_list_digest(list), CLIENTSCAN_LIST_DIGEST_BYTES, digest);
        if (json) {
            printf("{\"path\":");
            cli_json_string(stdout, argv[i]);
            printf(",\"ok\":true,\"name\":");
            cli_json_string(stdout, clientscan_list_name(list));
            printf(",\"sequence\":%llu,\"entries\":%zu,\"digest\":\"%s\"}\n",
                   (unsigned long long)clientscan_list_sequence(list),
                   clientscan_list_count(list), digest);
        } else {
            printf("%s: OK: '%s' sequence %llu, %zu entries, digest %s\n", argv[i],
                   clientscan_list_name(list), (unsigned long long)clientscan_list_sequence(list),
                   clientscan_list_count(list), digest);
        }
        clientscan_list_close(list);
    }
    return status;
}

/* ------------------------------------------------------------ export, diff */

static int list_export(int argc, char **argv)
{
    static const struct option longopts[] = {{"authority", required_argument, NULL, OPT_AUTHORITY},
                                             {"unsigned-ok", no_argument, NULL, OPT_UNSIGNED_OK},
                                             {"output", required_argument, NULL, 'o'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    read_options opts;
    int parsed = parse_read_options(argc, argv, "o:h", longopts, export_usage, &opts);
    if (parsed >= 0)
        return parsed;
    cli_trust trust = opts.trust;
    const char *output = opts.output;
    if (argc - optind != 1) {
        cli_error("list export: need one LIST (see --help)");
        return CLI_USAGE;
    }
    if (!need_trust(&trust, "list export"))
        return CLI_USAGE;
    clientscan_list *list = NULL;
    if (open_list_with(argv[optind], &trust, false, &list) != 0)
        return CLI_FAILED;
    /* The whole text is built in memory so that -o never leaves a partial file. */
    size_t n = clientscan_list_count(list);
    size_t cap = 1024 + n * (CLIENTSCAN_LIST_TEXT_LINE_BYTES - 1);
    char *text = malloc(cap);
    if (!text) {
        cli_error("list export: out of memory");
        clientscan_list_close(list);
        return CLI_FAILED;
    }
    char digest[2 * CLIENTSCAN_LIST_DIGEST_BYTES + 1];
    cli_hex(clientscan_list_digest(list), CLIENTSCAN_LIST_DIGEST_BYTES, digest);
    int head = snprintf(text, 1024,
                        "# clientscan hash list export: HASH,,ID per line (quality not stored)\n"
                        "# name: %s\n# sequence: %llu\n# entries: %zu\n# digest: %s\n",
                        clientscan_list_name(list),
                        (unsigned long long)clientscan_list_sequence(list), n, digest);
    size_t used = head > 0 && head < 1024 ? (size_t)head : 0;
    for (size_t i = 0; i < n; i++) {
        clientscan_list_entry e;
        clientscan_list_entry_at(list, i, &e);
        clientscan_list_entry_to_text(&e, text + used);
        used += CLIENTSCAN_LIST_TEXT_LINE_BYTES - 1;
    }
    clientscan_list_close(list);
    int status = CLI_OK;
    if (output) {
        if (cli_write_file_atomic(output, text, used, 0644) != 0)
            status = CLI_FAILED;
    } else if (fwrite(text, 1, used, stdout) != used || fflush(stdout) != 0) {
        cli_error("list export: write error on standard output");
        status = CLI_FAILED;
    }
    free(text);
    return status;
}

static int list_diff(int argc, char **argv)
{
    static const struct option longopts[] = {{"authority", required_argument, NULL, OPT_AUTHORITY},
                                             {"unsigned-ok", no_argument, NULL, OPT_UNSIGNED_OK},
                                             {"json", no_argument, NULL, OPT_JSON},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    read_options opts;
    int parsed = parse_read_options(argc, argv, "h", longopts, diff_usage, &opts);
    if (parsed >= 0)
        return parsed;
    cli_trust trust = opts.trust;
    const bool json = opts.json;
    if (argc - optind != 2) {
        cli_error("list diff: need two lists A and B (see --help)");
        return CLI_USAGE;
    }
    if (!need_trust(&trust, "list diff"))
        return CLI_USAGE;
    clientscan_list *a = NULL, *b = NULL;
    if (open_list_with(argv[optind], &trust, false, &a) != 0)
        return CLI_FAILED;
    if (open_list_with(argv[optind + 1], &trust, false, &b) != 0) {
        clientscan_list_close(a);
        return CLI_FAILED;
    }
    /* Both lists are sorted by hash: one merge pass. */
    size_t na = clientscan_list_count(a), nb = clientscan_list_count(b);
    size_t i = 0, j = 0, removed = 0, added = 0, changed = 0;
    char line[CLIENTSCAN_LIST_TEXT_LINE_BYTES];
    if (json)
        printf("{\"changes\":[");
    while (i < na || j < nb) {
        clientscan_list_entry ea, eb;
        int cmp;
        if (i < na)
            clientscan_list_entry_at(a, i, &ea);
        if (j < nb)
            clientscan_list_entry_at(b, j, &eb);
        if (i >= na)
            cmp = 1;
        else if (j >= nb)
            cmp = -1;
        else
            cmp = memcmp(ea.hash.bytes, eb.hash.bytes, CLIENTSCAN_PDQ_BYTES);
        char hex[CLIENTSCAN_PDQ_HEX_BYTES], ida[CLIENTSCAN_LIST_ID_HEX_BYTES],
            idb[CLIENTSCAN_LIST_ID_HEX_BYTES];
        const char *kind = NULL;
        if (cmp < 0) {
            kind = "removed";
            clientscan_list_entry_to_text(&ea, line);
            clientscan_pdq_to_hex(&ea.hash, hex);
            cli_hex(ea.id, CLIENTSCAN_LIST_ID_BYTES, ida);
            idb[0] = '\0';
            removed++;
            i++;
        } else if (cmp > 0) {
            kind = "added";
            clientscan_list_entry_to_text(&eb, line);
            clientscan_pdq_to_hex(&eb.hash, hex);
            ida[0] = '\0';
            cli_hex(eb.id, CLIENTSCAN_LIST_ID_BYTES, idb);
            added++;
            j++;
        } else {
            if (memcmp(ea.id, eb.id, CLIENTSCAN_LIST_ID_BYTES) != 0) {
                kind = "changed";
                clientscan_pdq_to_hex(&ea.hash, hex);
                cli_hex(ea.id, CLIENTSCAN_LIST_ID_BYTES, ida);
                cli_hex(eb.id, CLIENTSCAN_LIST_ID_BYTES, idb);
                changed++;
            }
            i++;
            j++;
        }
        if (!kind)
            continue;
        if (json) {
            printf("%s{\"change\":\"%s\",\"hash\":\"%s\"", removed + added + changed > 1 ? "," : "",
                   kind, hex);
            if (ida[0])
                printf(",\"id_a\":\"%s\"", ida);
            if (idb[0])
                printf(",\"id_b\":\"%s\"", idb);
            printf("}");
        } else if (kind[0] == 'c') {
            printf("~ %s,,%s -> %s\n", hex, ida, idb);
        } else {
            printf("%c %s", kind[0] == 'r' ? '-' : '+', line);
        }
    }
    if (json)
        printf("],\"removed\":%zu,\"added\":%zu,\"changed\":%zu,\"entries_a\":%zu,"
               "\"entries_b\":%zu}\n",
               removed, added, changed, na, nb);
    else
        printf("# %zu removed, %zu added, %zu changed (A: %zu entries, B: %zu entries)\n",
               removed, added, changed, na, nb);
    clientscan_list_close(a);
    clientscan_list_close(b);
    return CLI_OK;
}

/* ------------------------------------------------------------ dispatch */

int cmd_list(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } subs[] = {{"build", list_build},   {"sign", list_sign},     {"verify", list_verify},
                {"info", list_info},     {"export", list_export}, {"diff", list_diff}};
    if (argc < 2) {
        list_usage(stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        list_usage(stdout);
        return CLI_OK;
    }
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        if (strcmp(argv[1], subs[i].name) == 0)
            return subs[i].fn(argc - 1, argv + 1);
    cli_error("list: unknown subcommand '%s' (see 'clientscan list --help')", argv[1]);
    return CLI_USAGE;
}
