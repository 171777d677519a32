/* Writes the seed corpora of the non-image fuzz targets (tests/fuzz/seeds/):
 * valid signed and unsigned lists, ThreatExchange text, key files of every
 * role, report records of every kind (as slots and as the padded record
 * behind the seal) and attachment ciphertexts under the fuzzer's fixed key.
 * Valid inputs let the fuzzers start deep inside each parser instead of
 * guessing magic numbers. Part of make_seeds (`make fuzz-seeds`). */
#include "attachment.h"
#include "clientscan.h"
#include "keys.h"
#include "report.h"
#include "seed_writer.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check(int rc, const char *what, const clientscan_detail *d)
{
    if (rc != CLIENTSCAN_OK) {
        fprintf(stderr, "make_data_seeds: %s: %s\n", what, d->text);
        exit(1);
    }
}

/* Copies a key file the library wrote into the keyfile seeds. */
static void put_file(const char *target, const char *name, const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t buf[4096];
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (!f || ferror(f)) {
        perror(path);
        exit(1);
    }
    fclose(f);
    remove(path);
    seed_put(target, name, buf, n);
}

static void hash_from_seed(unsigned seed, clientscan_pdq *h)
{
    uint8_t s[4] = {(uint8_t)seed, (uint8_t)(seed >> 8), 'c', 's'};
    crypto_generichash(h->bytes, sizeof h->bytes, s, sizeof s, NULL, 0);
}

static void seed_lists(const clientscan_secret_key *const *authorities)
{
    clientscan_detail d;
    static const unsigned sizes[] = {0, 1, 5, 40};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        clientscan_list_builder *b = NULL;
        check(clientscan_list_builder_new(&b, &d), "builder", &d);
        check(clientscan_list_builder_set_name(b, "seed list", &d), "name", &d);
        clientscan_list_builder_set_sequence(b, 7);
        clientscan_list_builder_set_created(b, 1700000000);
        unsigned p0, p1;
        check(clientscan_list_builder_add_provider(b, "provider-a", &p0, &d), "provider", &d);
        check(clientscan_list_builder_add_provider(b, "provider-b", &p1, &d), "provider", &d);
        for (unsigned i = 0; i < sizes[s]; i++) {
            clientscan_pdq h;
            hash_from_seed(i, &h);
            check(clientscan_list_builder_add(b, &h, NULL, (int)(i % 2 ? p1 : p0), &d), "add", &d);
        }
        for (size_t signers = 0; signers <= 2; signers++) {
            uint8_t *out = NULL;
            size_t len = 0;
            check(clientscan_list_builder_encode(b, authorities, signers, &out, &len, &d),
                  "encode", &d);
            char name[64];
            snprintf(name, sizeof name, "list-%u-entries-%zu-sigs.csl", sizes[s], signers);
            seed_put("fuzz_hashlist", name, out, len);
            free(out);
        }
        clientscan_list_builder_free(b);
    }
}

static void seed_text(void)
{
    static const char *texts[] = {
        "# ThreatExchange-style list\n"
        "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22,100,first\n"
        "0000000000000000000000000000000000000000000000000000000000000000\n",
        "d8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22,42,"
        "0123456789abcdef0123456789abcdef\r\n"
        "\n"
        "  e8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22 , ,id with spaces\n",
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff,0\n",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "text-%zu.txt", i);
        seed_put("fuzz_textlist", name, texts[i], strlen(texts[i]));
    }
}

static void seed_keys(const char *tmpdir)
{
    static const clientscan_key_role roles[] = {CLIENTSCAN_ROLE_AUTHORITY,
                                                CLIENTSCAN_ROLE_MODERATOR, CLIENTSCAN_ROLE_USER};
    static const char *names[] = {"authority", "moderator", "user"};
    clientscan_detail d;
    for (size_t i = 0; i < 3; i++) {
        clientscan_public_key pub;
        clientscan_secret_key *sk = NULL;
        check(clientscan_keypair_generate(roles[i], &pub, &sk, &d), "keypair", &d);
        char path[1024], name[64];
        snprintf(path, sizeof path, "%s/seed-key", tmpdir);
        check(clientscan_public_key_save(&pub, path, &d), "save public key", &d);
        snprintf(name, sizeof name, "%s.pub", names[i]);
        put_file("fuzz_keyfile", name, path);
        check(clientscan_secret_key_save(sk, path, &d), "save secret key", &d);
        snprintf(name, sizeof name, "%s.sec", names[i]);
        put_file("fuzz_keyfile", name, path);
        clientscan_secret_key_free(sk);
    }
}

static void seed_reports(void)
{
    clientscan_detail d;
    clientscan_public_key pub;
    clientscan_secret_key *moderator = NULL;
    check(clientscan_keypair_generate(CLIENTSCAN_ROLE_MODERATOR, &pub, &moderator, &d),
          "keypair", &d);
    size_t sk_len = 0;
    const uint8_t *sk = cs_secret_key_bytes(moderator, &sk_len);
    clientscan_attachment_key *key = NULL;
    check(clientscan_attachment_key_new(&key, &d), "attachment key", &d);
    cs_report_match m;
    memset(&m, 0, sizeof m);
    m.hash_algorithm = 1;
    m.list_sequence = 7;
    m.distance = 12;
    m.variant = CLIENTSCAN_DIHEDRAL_FLIPX;
    m.day = 20000;
    m.key = key;
    memset(m.list_digest, 0x11, sizeof m.list_digest);
    memset(m.entry_id, 0x22, sizeof m.entry_id);
    memset(m.ciphertext_digest, 0x33, sizeof m.ciphertext_digest);
    static const clientscan_report_kind kinds[] = {
        CLIENTSCAN_REPORT_MATCH, CLIENTSCAN_REPORT_NO_MATCH, CLIENTSCAN_REPORT_UNSCANNED};
    static const char *names[] = {"match", "no-match", "unscanned"};
    for (size_t i = 0; i < 3; i++) {
        uint8_t slot[CLIENTSCAN_REPORT_SLOT_BYTES];
        check(cs_report_seal(kinds[i], i == 0 ? &m : NULL, pub.bytes, slot, &d), "seal", &d);
        char name[64];
        snprintf(name, sizeof name, "slot-%s.bin", names[i]);
        seed_put("fuzz_report", name, slot, sizeof slot);
        /* The record behind the seal: the fuzzer decodes it directly too. */
        uint8_t padded[CLIENTSCAN_REPORT_PADDED_BYTES];
        if (crypto_box_seal_open(padded, slot, sizeof slot, pub.bytes, sk) != 0) {
            fprintf(stderr, "make_data_seeds: cannot open own report slot\n");
            exit(1);
        }
        snprintf(name, sizeof name, "record-%s.bin", names[i]);
        seed_put("fuzz_report", name, padded, sizeof padded);
    }
    clientscan_attachment_key_free(key);
    clientscan_secret_key_free(moderator);
}

static void seed_attachments(void)
{
    clientscan_detail d;
    uint8_t bytes[CLIENTSCAN_ATTACHMENT_KEY_BYTES];
    memset(bytes, 0x5a, sizeof bytes); /* the key fuzz_attachment uses */
    clientscan_attachment_key *key = NULL;
    check(clientscan_attachment_key_from_bytes(bytes, &key, &d), "attachment key", &d);
    static const size_t sizes[] = {0, 1, 100, CLIENTSCAN_ATTACHMENT_CHUNK_BYTES,
                                   CLIENTSCAN_ATTACHMENT_CHUNK_BYTES + 3};
    uint8_t *plain = calloc(1, CLIENTSCAN_ATTACHMENT_CHUNK_BYTES + 3);
    if (!plain)
        exit(1);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        uint8_t *ct = NULL;
        size_t ct_len = 0;
        check(clientscan_encrypt_attachment(key, plain, sizes[i], &ct, &ct_len, NULL, &d),
              "encrypt", &d);
        /* First byte selects the fuzzer's mode: odd = open hostile ciphertext. */
        uint8_t *in = must_malloc(ct_len + 1);
        in[0] = 1;
        memcpy(in + 1, ct, ct_len);
        char name[64];
        snprintf(name, sizeof name, "ciphertext-%zu.bin", sizes[i]);
        seed_put("fuzz_attachment", name, in, ct_len + 1);
        in[0] = 0; /* even = round trip of the rest as plaintext */
        snprintf(name, sizeof name, "roundtrip-%zu.bin", sizes[i]);
        seed_put("fuzz_attachment", name, in, sizes[i] < 200 ? ct_len + 1 : 200);
        free(in);
        free(ct);
    }
    free(plain);
    clientscan_attachment_key_free(key);
}

void data_seeds(const char *tmpdir)
{
    if (clientscan_init() != CLIENTSCAN_OK)
        exit(1);
    clientscan_detail d;
    clientscan_secret_key *authorities[2] = {NULL, NULL};
    for (int i = 0; i < 2; i++)
        check(clientscan_keypair_generate(CLIENTSCAN_ROLE_AUTHORITY, NULL, &authorities[i], &d),
              "keypair", &d);
    seed_lists((const clientscan_secret_key *const *)authorities);
    seed_text();
    seed_keys(tmpdir);
    seed_reports();
    seed_attachments();
    for (int i = 0; i < 2; i++)
        clientscan_secret_key_free(authorities[i]);
}
