/* Keys: generation per role, key ids, file round trips, permission refusal,
 * malformed files, and that the raw bytes work with libsodium directly. */
#include "support.h"

#include "keys.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const clientscan_key_role roles[] = {CLIENTSCAN_ROLE_AUTHORITY, CLIENTSCAN_ROLE_MODERATOR,
                                            CLIENTSCAN_ROLE_USER};

static void test_generate_and_ids(void **state)
{
    (void)state;
    for (size_t r = 0; r < 3; r++) {
        clientscan_public_key pub;
        clientscan_secret_key *sk = NULL;
        assert_int_equal(clientscan_keypair_generate(roles[r], &pub, &sk, NULL), CLIENTSCAN_OK);
        assert_non_null(sk);
        assert_int_equal(pub.role, roles[r]);
        assert_int_equal(clientscan_secret_key_role(sk), roles[r]);
        /* Key id: first 8 bytes of BLAKE2b-256 of the public key. */
        uint8_t h[32];
        crypto_generichash(h, sizeof h, pub.bytes, sizeof pub.bytes, NULL, 0);
        assert_memory_equal(pub.id, h, CLIENTSCAN_KEY_ID_BYTES);
        clientscan_public_key again;
        clientscan_secret_key_public(sk, &again);
        assert_memory_equal(&again, &pub, sizeof pub);
        size_t len = 0;
        const uint8_t *raw = cs_secret_key_bytes(sk, &len);
        if (roles[r] == CLIENTSCAN_ROLE_AUTHORITY) {
            assert_int_equal(len, crypto_sign_SECRETKEYBYTES);
            uint8_t pk[crypto_sign_PUBLICKEYBYTES];
            crypto_sign_ed25519_sk_to_pk(pk, raw);
            assert_memory_equal(pk, pub.bytes, sizeof pk);
        } else {
            assert_int_equal(len, crypto_box_SECRETKEYBYTES);
            uint8_t pk[crypto_box_PUBLICKEYBYTES];
            crypto_scalarmult_base(pk, raw);
            assert_memory_equal(pk, pub.bytes, sizeof pk);
        }
        clientscan_secret_key_free(sk);
    }
    clientscan_secret_key *sk = (clientscan_secret_key *)1;
    assert_int_equal(clientscan_keypair_generate((clientscan_key_role)9, NULL, &sk, NULL),
                     CLIENTSCAN_E_INVALID_ARGUMENT);
    assert_null(sk);
}

static void test_role_names(void **state)
{
    (void)state;
    for (size_t r = 0; r < 3; r++) {
        clientscan_key_role back;
        assert_int_equal(
            clientscan_key_role_from_name(clientscan_key_role_name(roles[r]), &back, NULL),
            CLIENTSCAN_OK);
        assert_int_equal(back, roles[r]);
    }
    clientscan_key_role back;
    clientscan_detail d;
    assert_int_equal(clientscan_key_role_from_name("admin", &back, &d), CLIENTSCAN_E_PARSE);
    assert_string_equal(clientscan_key_role_name((clientscan_key_role)0), "unknown");
}

/* Signatures and sealed boxes made with the raw bytes verify/open with
 * libsodium directly: what hash lists and report slots rely on. */
static void test_raw_bytes_work_with_libsodium(void **state)
{
    (void)state;
    clientscan_public_key apub, upub;
    clientscan_secret_key *ask = NULL, *usk = NULL;
    assert_int_equal(clientscan_keypair_generate(CLIENTSCAN_ROLE_AUTHORITY, &apub, &ask, NULL),
                     CLIENTSCAN_OK);
    assert_int_equal(clientscan_keypair_generate(CLIENTSCAN_ROLE_USER, &upub, &usk, NULL),
                     CLIENTSCAN_OK);
    const uint8_t msg[] = "list digest";
    uint8_t sig[64];
    assert_int_equal(cs_secret_key_sign(ask, msg, sizeof msg, sig, NULL), CLIENTSCAN_OK);
    assert_int_equal(crypto_sign_verify_detached(sig, msg, sizeof msg, apub.bytes), 0);
    sig[3] ^= 1;
    assert_int_not_equal(crypto_sign_verify_detached(sig, msg, sizeof msg, apub.bytes), 0);
    /* A user key cannot sign. */
    assert_int_equal(cs_secret_key_sign(usk, msg, sizeof msg, sig, NULL),
                     CLIENTSCAN_E_INVALID_ARGUMENT);

    uint8_t sealed[sizeof msg + crypto_box_SEALBYTES], opened[sizeof msg];
    assert_int_equal(crypto_box_seal(sealed, msg, sizeof msg, upub.bytes), 0);
    size_t len;
    const uint8_t *usk_raw = cs_secret_key_bytes(usk, &len);
    assert_int_equal(crypto_box_seal_open(opened, sealed, sizeof sealed, upub.bytes, usk_raw), 0);
    assert_memory_equal(opened, msg, sizeof msg);
    clientscan_secret_key_free(ask);
    clientscan_secret_key_free(usk);
}

static void test_file_round_trip_and_modes(void **state)
{
    (void)state;
    char *dir = ts_tempdir();
    char *pub_path = ts_path(dir, "k.pub"), *sec_path = ts_path(dir, "k.sec");
    for (size_t r = 0; r < 3; r++) {
        clientscan_public_key pub, pub2;
        clientscan_secret_key *sk = NULL, *sk2 = NULL;
        assert_int_equal(clientscan_keypair_generate(roles[r], &pub, &sk, NULL), CLIENTSCAN_OK);
        assert_int_equal(clientscan_public_key_save(&pub, pub_path, NULL), CLIENTSCAN_OK);
        assert_int_equal(clientscan_secret_key_save(sk, sec_path, NULL), CLIENTSCAN_OK);
        struct stat st;
        assert_int_equal(stat(sec_path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_int_equal(stat(pub_path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0644);

        assert_int_equal(clientscan_public_key_load(pub_path, roles[r], &pub2, NULL),
                         CLIENTSCAN_OK);
        assert_memory_equal(&pub2, &pub, sizeof pub);
        assert_int_equal(clientscan_secret_key_load(sec_path, 0, &sk2, NULL), CLIENTSCAN_OK);
        clientscan_secret_key_public(sk2, &pub2);
        assert_memory_equal(&pub2, &pub, sizeof pub);
        size_t l1, l2;
        const uint8_t *b1 = cs_secret_key_bytes(sk, &l1), *b2 = cs_secret_key_bytes(sk2, &l2);
        assert_int_equal(l1, l2);
        assert_memory_equal(b1, b2, l1);

        /* Wrong expected role: refused, naming both roles. */
        clientscan_detail d;
        clientscan_key_role other = roles[(r + 1) % 3];
        assert_int_equal(clientscan_public_key_load(pub_path, other, &pub2, &d),
                         CLIENTSCAN_E_INVALID_ARGUMENT);
        assert_non_null(strstr(d.text, clientscan_key_role_name(roles[r])));
        clientscan_secret_key *sk3 = NULL;
        assert_int_equal(clientscan_secret_key_load(sec_path, other, &sk3, &d),
                         CLIENTSCAN_E_INVALID_ARGUMENT);
        assert_null(sk3);
        /* The other kind of file: named clearly. (A 0644 public file given as
         * a secret is refused for its mode before it is even read.) */
        assert_int_equal(clientscan_secret_key_load(pub_path, 0, &sk3, &d),
                         CLIENTSCAN_E_PERMISSION);
        assert_int_equal(chmod(pub_path, 0600), 0);
        assert_int_equal(clientscan_secret_key_load(pub_path, 0, &sk3, &d), CLIENTSCAN_E_PARSE);
        assert_non_null(strstr(d.text, "public key file"));
        assert_int_equal(clientscan_public_key_load(sec_path, 0, &pub2, &d), CLIENTSCAN_E_PARSE);
        clientscan_secret_key_free(sk);
        clientscan_secret_key_free(sk2);
    }
    ts_rmtree(dir);
    free(pub_path);
    free(sec_path);
    free(dir);
}

static void test_secret_permissions_refused(void **state)
{
    (void)state;
    char *dir = ts_tempdir();
    char *sec_path = ts_path(dir, "k.sec");
    clientscan_secret_key *sk = NULL, *sk2 = NULL;
    assert_int_equal(clientscan_keypair_generate(CLIENTSCAN_ROLE_MODERATOR, NULL, &sk, NULL),
                     CLIENTSCAN_OK);
    assert_int_equal(clientscan_secret_key_save(sk, sec_path, NULL), CLIENTSCAN_OK);
    static const unsigned bad[] = {0640, 0604, 0620, 0602, 0610, 0644, 0666};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(chmod(sec_path, bad[i]), 0);
        clientscan_detail d;
        assert_int_equal(clientscan_secret_key_load(sec_path, 0, &sk2, &d),
                         CLIENTSCAN_E_PERMISSION);
        assert_null(sk2);
        assert_non_null(strstr(d.text, "chmod 600"));
    }
    assert_int_equal(chmod(sec_path, 0400), 0);
    assert_int_equal(clientscan_secret_key_load(sec_path, 0, &sk2, NULL), CLIENTSCAN_OK);
    clientscan_secret_key_free(sk2);
    clientscan_detail d;
    char *missing = ts_path(dir, "missing.sec");
    assert_int_equal(clientscan_secret_key_load(missing, 0, &sk2, &d), CLIENTSCAN_E_IO);
    clientscan_secret_key_free(sk);
    ts_rmtree(dir);
    free(missing);
    free(sec_path);
    free(dir);
}

/* Produces a valid secret key file's text for mutation tests. */
static char *secret_text(size_t *len)
{
    char *dir = ts_tempdir();
    char *p = ts_path(dir, "k.sec");
    clientscan_secret_key *sk = NULL;
    assert_int_equal(clientscan_keypair_generate(CLIENTSCAN_ROLE_AUTHORITY, NULL, &sk, NULL),
                     CLIENTSCAN_OK);
    assert_int_equal(clientscan_secret_key_save(sk, p, NULL), CLIENTSCAN_OK);
    clientscan_secret_key_free(sk);
    char *text = (char *)ts_read_file(p, len);
    ts_rmtree(dir);
    free(p);
    free(dir);
    return text;
}

static int parse_secret(const char *text, size_t len)
{
    clientscan_secret_key *sk = NULL;
    int rc = clientscan_secret_key_parse(text, len, 0, &sk, NULL);
    if (rc == CLIENTSCAN_OK)
        assert_non_null(sk);
    else
        assert_null(sk);
    clientscan_secret_key_free(sk);
    return rc;
}

static void test_malformed_files(void **state)
{
    (void)state;
    size_t len;
    char *text = secret_text(&len);
    assert_int_equal(parse_secret(text, len), CLIENTSCAN_OK);
    /* Every truncation fails (the final newline is optional). */
    for (size_t cut = 0; cut < len - 1; cut++)
        assert_int_not_equal(parse_secret(text, cut), CLIENTSCAN_OK);
    assert_int_equal(parse_secret(text, len - 1), CLIENTSCAN_OK);
    /* Any changed hex digit or structure byte is caught: id and public are
     * cross-checked, and the secret must derive the stored public key. */
    for (size_t i = 0; i < len; i++) {
        char saved = text[i];
        text[i] = saved == '0' ? '1' : (saved == '\n' ? ' ' : '0');
        if (text[i] != saved)
            assert_int_not_equal(parse_secret(text, len), CLIENTSCAN_OK);
        text[i] = saved;
    }
    /* Version 2 is a version error, not a parse error. */
    text[strlen("clientscan-secret-key ")] = '2';
    assert_int_equal(parse_secret(text, len), CLIENTSCAN_E_VERSION);
    text[strlen("clientscan-secret-key ")] = '1';
    /* CRLF is accepted. */
    char crlf[1024];
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\n')
            crlf[k++] = '\r';
        crlf[k++] = text[i];
    }
    assert_int_equal(parse_secret(crlf, k), CLIENTSCAN_OK);
    /* Extra line, oversize input. */
    char extra[1024];
    memcpy(extra, text, len);
    memcpy(extra + len, "x 1\n", 4);
    assert_int_equal(parse_secret(extra, len + 4), CLIENTSCAN_E_PARSE);
    char *big = calloc(1, CLIENTSCAN_KEY_FILE_MAX_BYTES + 1);
    assert_non_null(big);
    assert_int_equal(parse_secret(big, CLIENTSCAN_KEY_FILE_MAX_BYTES + 1), CLIENTSCAN_E_LIMIT);
    free(big);
    free(text);
}

static void test_public_from_bytes(void **state)
{
    (void)state;
    uint8_t zero[32] = {0};
    clientscan_public_key pub;
    /* The all-zero point is a small-order Ed25519 point and a dead X25519 key. */
    assert_int_equal(clientscan_public_key_from_bytes(CLIENTSCAN_ROLE_AUTHORITY, zero, &pub, NULL),
                     CLIENTSCAN_E_CRYPTO);
    assert_int_equal(clientscan_public_key_from_bytes(CLIENTSCAN_ROLE_USER, zero, &pub, NULL),
                     CLIENTSCAN_E_CRYPTO);
    clientscan_public_key real;
    clientscan_secret_key *sk = NULL;
    assert_int_equal(clientscan_keypair_generate(CLIENTSCAN_ROLE_AUTHORITY, &real, &sk, NULL),
                     CLIENTSCAN_OK);
    assert_int_equal(
        clientscan_public_key_from_bytes(CLIENTSCAN_ROLE_AUTHORITY, real.bytes, &pub, NULL),
        CLIENTSCAN_OK);
    assert_memory_equal(&pub, &real, sizeof pub);
    clientscan_secret_key_free(sk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_and_ids),
        cmocka_unit_test(test_role_names),
        cmocka_unit_test(test_raw_bytes_work_with_libsodium),
        cmocka_unit_test(test_file_round_trip_and_modes),
        cmocka_unit_test(test_secret_permissions_refused),
        cmocka_unit_test(test_malformed_files),
        cmocka_unit_test(test_public_from_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
