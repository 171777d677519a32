/* clientscan send — scan an attachment, encrypt it for a recipient, and
 * write the ciphertext, the sealed key and the report slot. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_AUTHORITIES 16

static void send_usage(FILE *out)
{
    fprintf(out,
            "usage: clientscan send --list LIST --authority A.pub --moderator M.pub --to R.pub\n"
            "                       [options] IN OUTDIR\n"
            "\n"
            "Scans the image IN against the signed hash list, encrypts it under a fresh key,\n"
            "and writes what a messaging client would send:\n"
            "  OUTDIR/attachment.bin  the ciphertext                       (to the server)\n"
            "  OUTDIR/report.slot     the %d-byte sealed report slot      (to the server)\n"
            "  OUTDIR/key.sealed      the attachment key sealed to R.pub   (to the recipient)\n"
            "Every attachment gets a slot of the same size, match or not; only the holder\n"
            "of the moderator secret key can open it ('clientscan report open').\n"
            "OUTDIR is created if missing. IN may be - for standard input.\n"
            "attachment.bin is written last: when it exists, the slot and the sealed key\n"
            "beside it are from the same run, even if an earlier run was interrupted.\n"
            "\n"
            "Options:\n"
            "  --list LIST            signed hash list (clientscan list build)\n"
            "  --authority A.pub      trusted list authority key (repeatable, up to %d)\n"
            "  --moderator M.pub      moderation service key (role moderator)\n"
            "  --to R.pub             recipient key (role user)\n"
            "  --threshold N          match distance 1..256 (default %d)\n"
            "  --refuse-unscannable   refuse (exit 1) instead of sending unscanned files\n"
            "  --skip-low-quality     do not match images of PDQ quality < %d; treat them\n"
            "                         as unscannable\n"
            "  --accepted-sequence N  refuse a list older than sequence N (rollback)\n"
            "  --exact                hash JPEGs at full size, bit-identical to the\n"
            "                         reference (default: fast mode, decoded at a reduced\n"
            "                         scale, within 10 bits of exact: docs/speed.md)\n"
            "  --fast                 fast mode (the default; kept for scripts)\n"
            "  -v, --verbose          print the verdict to standard error\n"
            "  --json                 one JSON object on standard output\n"
            "  -h, --help             this text\n"
            "\n"
            "The verdict stays on this device: it is printed only with --verbose.\n"
            "Exit status: 0 written, 1 failed or refused, 2 usage error.\n",
            CLIENTSCAN_REPORT_SLOT_BYTES, MAX_AUTHORITIES, CLIENTSCAN_PDQ_MATCH_THRESHOLD,
            CLIENTSCAN_PDQ_MIN_QUALITY);
}

static void print_verdict(const clientscan_verdict *v)
{
    fprintf(stderr, "verdict: %s", clientscan_verdict_kind_name(v->kind));
    if (v->quality >= 0)
        fprintf(stderr, ", quality %d", v->quality);
    if (v->matched) {
        char id[CLIENTSCAN_LIST_ID_HEX_BYTES];
        for (int i = 0; i < CLIENTSCAN_LIST_ID_BYTES; i++)
            snprintf(id + 2 * i, 3, "%02x", v->entry_id[i]);
        fprintf(stderr, ", entry %s at distance %d (%s)", id, v->distance,
                clientscan_dihedral_name(v->variant));
    }
    if (!v->scanned)
        fprintf(stderr, ", not scanned: %s", v->reason.text[0] ? v->reason.text : "unscannable");
    fputc('\n', stderr);
}

static void json_verdict(const clientscan_verdict *v)
{
    printf(",\"verdict\":{\"kind\":\"%s\",\"scanned\":%s,\"matched\":%s,\"quality\":%d",
           clientscan_verdict_kind_name(v->kind), v->scanned ? "true" : "false",
           v->matched ? "true" : "false", v->quality);
    if (v->matched) {
        printf(",\"entry_id\":\"");
        for (int i = 0; i < CLIENTSCAN_LIST_ID_BYTES; i++)
            printf("%02x", v->entry_id[i]);
        printf("\",\"distance\":%d,\"variant\":\"%s\",\"match_count\":%zu", v->distance,
               clientscan_dihedral_name(v->variant), v->match_count);
    }
    if (!v->scanned) {
        printf(",\"reason\":");
        cli_json_string(stdout, v->reason.text);
    }
    printf("}");
}

/* OUTDIR/name, malloc'd. */
static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static int ensure_dir(const char *dir)
{
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return 0;
        fprintf(stderr, "%s: not a directory\n", dir);
        return -1;
    }
    if (errno != ENOENT || mkdir(dir, 0755) != 0) {
        fprintf(stderr, "%s: cannot create directory: %s\n", dir, strerror(errno));
        return -1;
    }
    return 0;
}

int cmd_send(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"list", required_argument, NULL, 'L'},
        {"authority", required_argument, NULL, 'A'},
        {"moderator", required_argument, NULL, 'M'},
        {"to", required_argument, NULL, 'T'},
        {"threshold", required_argument, NULL, 't'},
        {"refuse-unscannable", no_argument, NULL, 'R'},
        {"skip-low-quality", no_argument, NULL, 'Q'},
        {"accepted-sequence", required_argument, NULL, 'S'},
        {"fast", no_argument, NULL, 'F'},
        {"exact", no_argument, NULL, 'E'},
        {"verbose", no_argument, NULL, 'v'},
        {"json", no_argument, NULL, 'J'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *list_path = NULL, *moderator_path = NULL, *to_path = NULL;
    const char *authority_paths[MAX_AUTHORITIES];
    size_t authority_count = 0;
    clientscan_scanner_params params;
    memset(&params, 0, sizeof params);
    bool verbose = false, json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
        long v;
        switch (c) {
        case 'L': list_path = optarg; break;
        case 'A':
            if (authority_count == MAX_AUTHORITIES) {
                cli_error("send: at most %d --authority keys", MAX_AUTHORITIES);
                return CLI_USAGE;
            }
            authority_paths[authority_count++] = optarg;
            break;
        case 'M': moderator_path = optarg; break;
        case 'T': to_path = optarg; break;
        case 't':
            if (!cli_parse_int(optarg, 1, 256, &v)) {
                cli_error("send: --threshold must be 1..256");
                return CLI_USAGE;
            }
            params.threshold = (int)v;
            break;
        case 'R': params.unscannable = CLIENTSCAN_UNSCANNABLE_REFUSE; break;
        case 'Q': params.low_quality = CLIENTSCAN_LOW_QUALITY_UNSCANNABLE; break;
        case 'S': {
            char *end = NULL;
            errno = 0;
            unsigned long long s = strtoull(optarg, &end, 10);
            if (errno || !*optarg || *end || optarg[0] == '-') {
                cli_error("send: --accepted-sequence must be a non-negative integer");
                return CLI_USAGE;
            }
            params.list.accepted_sequence = (uint64_t)s;
            break;
        }
        case 'F': params.exact = 0; break;
        case 'E': params.exact = 1; break;
        case 'v': verbose = true; break;
        case 'J': json = true; break;
        case 'h': send_usage(stdout); return CLI_OK;
        default: send_usage(stderr); return CLI_USAGE;
        }
    }
    if (!list_path || !authority_count || !moderator_path || !to_path) {
        cli_error("send: --list, --authority, --moderator and --to are required "
                  "(see 'clientscan send --help')");
        return CLI_USAGE;
    }
    if (argc - optind != 2) {
        cli_error("send: expected IN and OUTDIR (see 'clientscan send --help')");
        return CLI_USAGE;
    }
    const char *in_path = argv[optind], *out_dir = argv[optind + 1];

    clientscan_detail d;
    clientscan_public_key authorities[MAX_AUTHORITIES], moderator, recipient;
    for (size_t i = 0; i < authority_count; i++)
        if (clientscan_public_key_load(authority_paths[i], CLIENTSCAN_ROLE_AUTHORITY,
                                       &authorities[i], &d) != CLIENTSCAN_OK) {
            fprintf(stderr, "%s: %s\n", authority_paths[i], d.text);
            return CLI_FAILED;
        }
    if (clientscan_public_key_load(moderator_path, CLIENTSCAN_ROLE_MODERATOR, &moderator, &d) !=
        CLIENTSCAN_OK) {
        fprintf(stderr, "%s: %s\n", moderator_path, d.text);
        return CLI_FAILED;
    }
    if (clientscan_public_key_load(to_path, CLIENTSCAN_ROLE_USER, &recipient, &d) != CLIENTSCAN_OK) {
        fprintf(stderr, "%s: %s\n", to_path, d.text);
        return CLI_FAILED;
    }
    params.list.authorities = authorities;
    params.list.authority_count = authority_count;
    params.moderator = &moderator;

    int status = CLI_FAILED;
    clientscan_scanner *scanner = NULL;
    uint8_t *data = NULL;
    size_t len = 0;
    clientscan_prepared prep;
    memset(&prep, 0, sizeof prep);
    char *paths[3] = {NULL, NULL, NULL};
    int written = 0;

    if (clientscan_scanner_open(list_path, &params, &scanner, &d) != CLIENTSCAN_OK) {
        fprintf(stderr, "%s: %s\n", list_path, d.text);
        goto out;
    }
    if (cli_read_file(in_path, (size_t)CLIENTSCAN_DEFAULT_MAX_FILE_BYTES, &data, &len) != 0)
        goto out;
    int rc = clientscan_prepare_attachment(scanner, data, len, &prep, &d);
    if (rc == CLIENTSCAN_E_REFUSED) {
        fprintf(stderr, "%s: refused: %s\n", in_path, d.text);
        if (verbose)
            print_verdict(&prep.verdict);
        goto out;
    }
    if (rc != CLIENTSCAN_OK) {
        fprintf(stderr, "%s: %s\n", in_path, d.text);
        goto out;
    }
    uint8_t sealed_key[CLIENTSCAN_SEALED_KEY_BYTES];
    if (clientscan_attachment_key_seal(prep.key, &recipient, sealed_key, &d) != CLIENTSCAN_OK) {
        fprintf(stderr, "%s: %s\n", to_path, d.text);
        goto out;
    }
    if (ensure_dir(out_dir) != 0)
        goto out;
    paths[0] = join(out_dir, "report.slot");
    paths[1] = join(out_dir, "key.sealed");
    paths[2] = join(out_dir, "attachment.bin");
    if (!paths[0] || !paths[1] || !paths[2]) {
        cli_error("send: out of memory");
        goto out;
    }
    /* Three atomic writes, the ciphertext last: attachment.bin is the commit
     * mark. A stale one from an earlier run goes first, so whenever it
     * exists (even after a kill at any point) the slot and the sealed key
     * beside it are from the same run. If a write fails, this run's files
     * are removed again. */
    if (unlink(paths[2]) != 0 && errno != ENOENT) {
        fprintf(stderr, "%s: cannot remove the previous attachment: %s\n", paths[2],
                strerror(errno));
        goto out;
    }
    if (cli_write_file_atomic(paths[0], prep.slot, sizeof prep.slot, 0644) != 0)
        goto out;
    written = 1;
    if (cli_write_file_atomic(paths[1], sealed_key, sizeof sealed_key, 0644) != 0)
        goto out;
    written = 2;
    if (cli_write_file_atomic(paths[2], prep.ciphertext, prep.ciphertext_len, 0644) != 0)
        goto out;
    written = 3;

    if (verbose)
        print_verdict(&prep.verdict);
    if (json) {
        printf("{\"input\":");
        cli_json_string(stdout, in_path);
        printf(",\"attachment\":");
        cli_json_string(stdout, paths[2]);
        printf(",\"attachment_bytes\":%zu,\"attachment_digest\":\"", prep.ciphertext_len);
        for (int i = 0; i < CLIENTSCAN_ATTACHMENT_DIGEST_BYTES; i++)
            printf("%02x", prep.ciphertext_digest[i]);
        printf("\",\"sealed_key\":");
        cli_json_string(stdout, paths[1]);
        printf(",\"sealed_key_bytes\":%d,\"slot\":", CLIENTSCAN_SEALED_KEY_BYTES);
        cli_json_string(stdout, paths[0]);
        printf(",\"slot_bytes\":%d", CLIENTSCAN_REPORT_SLOT_BYTES);
        if (verbose)
            json_verdict(&prep.verdict);
        printf("}\n");
    } else {
        printf("%s: %zu bytes of ciphertext, %d-byte report slot, %d-byte sealed key\n", out_dir,
               prep.ciphertext_len, CLIENTSCAN_REPORT_SLOT_BYTES, CLIENTSCAN_SEALED_KEY_BYTES);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("send: cannot write output: %s", strerror(errno));
        goto out;
    }
    status = CLI_OK;
out:
    if (status != CLI_OK)
        for (int i = 0; i < written; i++)
            unlink(paths[i]);
    for (int i = 0; i < 3; i++)
        free(paths[i]);
    clientscan_prepared_release(&prep);
    free(data);
    clientscan_scanner_close(scanner);
    return status;
}
