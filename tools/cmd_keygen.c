/* clientscan keygen — generate a key pair and write NAME.pub / NAME.sec. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void keygen_usage(FILE *out)
{
    fprintf(out,
            "usage: clientscan keygen --role ROLE -o NAME [--force] [--json]\n"
            "\n"
            "Generates a key pair and writes NAME.pub (mode 0644) and NAME.sec\n"
            "(mode 0600; loading refuses a secret file readable by group or others).\n"
            "\n"
            "Roles:\n"
            "  authority   Ed25519, signs hash lists\n"
            "  moderator   X25519, opens sealed report slots\n"
            "  user        X25519, receives attachment keys\n"
            "\n"
            "Options:\n"
            "  --role ROLE       authority, moderator or user (required)\n"
            "  -o, --output NAME file name prefix (required)\n"
            "  --force           replace existing NAME.pub / NAME.sec\n"
            "  --json            print the result as one JSON object\n"
            "  -h, --help        this text\n"
            "\n"
            "Exit status: 0 written, 1 failure, 2 usage error.\n");
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

int cmd_keygen(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"role", required_argument, NULL, 'r'}, {"output", required_argument, NULL, 'o'},
        {"force", no_argument, NULL, 'f'},      {"json", no_argument, NULL, 'J'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0}};
    const char *role_name = NULL, *name = NULL;
    bool force = false, json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'r': role_name = optarg; break;
        case 'o': name = optarg; break;
        case 'f': force = true; break;
        case 'J': json = true; break;
        case 'h': keygen_usage(stdout); return CLI_OK;
        default: keygen_usage(stderr); return CLI_USAGE;
        }
    }
    if (!role_name || !name || !*name || optind != argc) {
        cli_error("keygen: --role and -o NAME are required, and nothing else "
                  "(see 'clientscan keygen --help')");
        return CLI_USAGE;
    }
    clientscan_key_role role;
    clientscan_detail detail = {{0}};
    if (clientscan_key_role_from_name(role_name, &role, &detail) != CLIENTSCAN_OK) {
        cli_error("keygen: --role %s: %s", role_name, detail.text);
        return CLI_USAGE;
    }
    size_t len = strlen(name) + 5;
    char *pub_path = malloc(len), *sec_path = malloc(len);
    if (!pub_path || !sec_path) {
        cli_error("keygen: out of memory");
        free(pub_path);
        free(sec_path);
        return CLI_FAILED;
    }
    snprintf(pub_path, len, "%s.pub", name);
    snprintf(sec_path, len, "%s.sec", name);
    int status = CLI_FAILED;
    clientscan_secret_key *sk = NULL;
    clientscan_public_key pub;
    if (!force && (exists(pub_path) || exists(sec_path))) {
        fprintf(stderr, "%s: already exists (use --force to replace the key pair)\n",
                exists(sec_path) ? sec_path : pub_path);
        goto out;
    }
    if (clientscan_keypair_generate(role, &pub, &sk, &detail) != CLIENTSCAN_OK) {
        cli_error("keygen: %s", detail.text);
        goto out;
    }
    /* Secret first: a public key without its secret would be useless. */
    if (clientscan_secret_key_save(sk, sec_path, &detail) != CLIENTSCAN_OK) {
        fprintf(stderr, "%s: %s\n", sec_path, detail.text);
        goto out;
    }
    if (clientscan_public_key_save(&pub, pub_path, &detail) != CLIENTSCAN_OK) {
        fprintf(stderr, "%s: %s\n", pub_path, detail.text);
        remove(sec_path);
        goto out;
    }
    char id[CLIENTSCAN_KEY_ID_HEX_BYTES];
    clientscan_key_id_to_hex(pub.id, id);
    if (json) {
        printf("{\"role\":\"%s\",\"id\":\"%s\",\"public\":", clientscan_key_role_name(role), id);
        cli_json_string(stdout, pub_path);
        printf(",\"secret\":");
        cli_json_string(stdout, sec_path);
        printf("}\n");
    } else {
        printf("%s key %s\n  public: %s\n  secret: %s (mode 0600, keep it private)\n",
               clientscan_key_role_name(role), id, pub_path, sec_path);
    }
    status = CLI_OK;
out:
    clientscan_secret_key_free(sk);
    free(pub_path);
    free(sec_path);
    return status;
}
