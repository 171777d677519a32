/* clientscan receive — the recipient's side: unseal the attachment key with
 * the user secret key and decrypt the attachment, streaming, to OUT. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void receive_usage(FILE *out)
{
    fprintf(out,
            "usage: clientscan receive --key R.sec [--json] INDIR OUT\n"
            "\n"
            "Opens what 'clientscan send' wrote for this recipient: unseals\n"
            "INDIR/key.sealed with the user secret key R.sec and decrypts\n"
            "INDIR/attachment.bin to OUT (- for standard output). The report slot is\n"
            "not needed and cannot be opened with this key.\n"
            "\n"
            "Every chunk is authenticated; a wrong key, a changed, truncated or extended\n"
            "ciphertext is refused and OUT is left untouched (written to a temporary\n"
            "file, renamed only when the whole attachment authenticated).\n"
            "\n"
            "Options:\n"
            "  --key R.sec   the recipient's secret key (role user, mode 0600)\n"
            "  --json        print {\"output\":..., \"bytes\":N} on standard output\n"
            "  -h, --help    this text\n"
            "\n"
            "Exit status: 0 decrypted, 1 failed, 2 usage error.\n");
}

typedef struct file_io {
    FILE *f;
    uint64_t bytes;
} file_io;

static int read_file_cb(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    file_io *io = ctx;
    *got = fread(buf, 1, cap, io->f);
    return *got == 0 && ferror(io->f) ? -1 : 0;
}

static int write_file_cb(void *ctx, const uint8_t *buf, size_t len)
{
    file_io *io = ctx;
    if (len && fwrite(buf, 1, len, io->f) != len)
        return -1;
    io->bytes += len;
    return 0;
}

/* Streams the decryption into a temporary file next to out_path and renames
 * it on success; on any failure the temporary file is removed. */
static int decrypt_to_file(const clientscan_attachment_key *key, FILE *in, const char *in_path,
                           const char *out_path, uint64_t *bytes)
{
    size_t plen = strlen(out_path);
    char *tmp = malloc(plen + 16);
    if (!tmp) {
        cli_error("receive: out of memory");
        return -1;
    }
    memcpy(tmp, out_path, plen);
    memcpy(tmp + plen, ".tmp.XXXXXX", 12);
    int fd = mkstemp(tmp); /* mode 0600: the plaintext is private */
    FILE *out = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!out) {
        fprintf(stderr, "%s: cannot create temporary file: %s\n", out_path, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        free(tmp);
        return -1;
    }
    file_io rio = {in, 0}, wio = {out, 0};
    clientscan_detail d;
    int rc = clientscan_open_attachment_stream(key, read_file_cb, &rio, write_file_cb, &wio, NULL,
                                               &d);
    int status = 0;
    if (rc != CLIENTSCAN_OK) {
        fprintf(stderr, "%s: %s\n", rc == CLIENTSCAN_E_IO && ferror(out) ? out_path : in_path,
                d.text);
        status = -1;
    }
    if (fflush(out) != 0 || fsync(fileno(out)) != 0) {
        if (status == 0)
            fprintf(stderr, "%s: write failed: %s\n", out_path, strerror(errno));
        status = -1;
    }
    if (fclose(out) != 0 && status == 0) {
        fprintf(stderr, "%s: close failed: %s\n", out_path, strerror(errno));
        status = -1;
    }
    if (status == 0 && rename(tmp, out_path) != 0) {
        fprintf(stderr, "%s: rename failed: %s\n", out_path, strerror(errno));
        status = -1;
    }
    if (status != 0)
        unlink(tmp);
    free(tmp);
    *bytes = wio.bytes;
    return status;
}

int cmd_receive(int argc, char **argv)
{
    static const struct option longopts[] = {{"key", required_argument, NULL, 'k'},
                                             {"json", no_argument, NULL, 'J'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *key_path = NULL;
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'k': key_path = optarg; break;
        case 'J': json = true; break;
        case 'h': receive_usage(stdout); return CLI_OK;
        default: receive_usage(stderr); return CLI_USAGE;
        }
    }
    if (!key_path) {
        cli_error("receive: --key is required (see 'clientscan receive --help')");
        return CLI_USAGE;
    }
    if (argc - optind != 2) {
        cli_error("receive: expected INDIR and OUT (see 'clientscan receive --help')");
        return CLI_USAGE;
    }
    const char *in_dir = argv[optind], *out_path = argv[optind + 1];
    if (json && strcmp(out_path, "-") == 0) {
        cli_error("receive: --json needs OUT to be a file, not - (standard output)");
        return CLI_USAGE;
    }
    size_t dlen = strlen(in_dir);
    char *sealed_path = malloc(dlen + 16), *ct_path = malloc(dlen + 20);
    if (!sealed_path || !ct_path) {
        free(sealed_path);
        free(ct_path);
        cli_error("receive: out of memory");
        return CLI_FAILED;
    }
    snprintf(sealed_path, dlen + 16, "%s/key.sealed", in_dir);
    snprintf(ct_path, dlen + 20, "%s/attachment.bin", in_dir);

    int status = CLI_FAILED;
    clientscan_detail d;
    clientscan_secret_key *secret = NULL;
    clientscan_attachment_key *key = NULL;
    uint8_t *sealed = NULL, *ct = NULL, *plain = NULL;
    size_t sealed_len = 0, ct_len = 0, plain_len = 0;
    FILE *in = NULL;
    uint64_t bytes = 0;

    if (clientscan_secret_key_load(key_path, CLIENTSCAN_ROLE_USER, &secret, &d) != CLIENTSCAN_OK) {
        fprintf(stderr, "%s: %s\n", key_path, d.text);
        goto out;
    }
    /* A sealed key is 81 bytes; reading a little more lets the library name
     * a wrong size instead of this tool truncating silently. */
    if (cli_read_file(sealed_path, 4096, &sealed, &sealed_len) != 0)
        goto out;
    if (clientscan_attachment_key_unseal(secret, sealed, sealed_len, &key, &d) != CLIENTSCAN_OK) {
        fprintf(stderr, "%s: %s\n", sealed_path, d.text);
        goto out;
    }
    if (strcmp(out_path, "-") == 0) {
        /* Standard output cannot be taken back: authenticate everything
         * in memory before writing a byte. */
        if (cli_read_file(ct_path, (size_t)CLIENTSCAN_DEFAULT_MAX_FILE_BYTES + (1u << 20), &ct,
                          &ct_len) != 0)
            goto out;
        if (clientscan_open_attachment(key, ct, ct_len, &plain, &plain_len, &d) != CLIENTSCAN_OK) {
            fprintf(stderr, "%s: %s\n", ct_path, d.text);
            goto out;
        }
        if (plain_len && fwrite(plain, 1, plain_len, stdout) != plain_len) {
            cli_error("receive: cannot write to standard output: %s", strerror(errno));
            goto out;
        }
        bytes = plain_len;
    } else {
        in = fopen(ct_path, "rb");
        if (!in) {
            fprintf(stderr, "%s: %s\n", ct_path, strerror(errno));
            goto out;
        }
        if (decrypt_to_file(key, in, ct_path, out_path, &bytes) != 0)
            goto out;
    }
    if (json) {
        printf("{\"input\":");
        cli_json_string(stdout, in_dir);
        printf(",\"output\":");
        cli_json_string(stdout, out_path);
        printf(",\"bytes\":%llu}\n", (unsigned long long)bytes);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("receive: cannot write output: %s", strerror(errno));
        goto out;
    }
    status = CLI_OK;
out:
    if (in)
        fclose(in);
    free(plain);
    free(ct);
    free(sealed);
    free(sealed_path);
    free(ct_path);
    clientscan_attachment_key_free(key);
    clientscan_secret_key_free(secret);
    return status;
}
