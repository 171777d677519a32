/* Report slots: identical size for every kind, exact field round trip,
 * the documented byte layout, refusal of wrong keys, tampering, wrong sizes
 * and malformed records, and the moderator's review of one attachment. */
#include "keys.h"
#include "report.h"
#include "support.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

typedef struct fixture {
    clientscan_public_key mod_pub;
    clientscan_secret_key *mod;
    clientscan_secret_key *other_mod;
    clientscan_secret_key *user;
    clientscan_attachment_key *key;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    clientscan_public_key ignored;
    assert_int_equal(clientscan_keypair_generate(CLIENTSCAN_ROLE_MODERATOR, &f->mod_pub, &f->mod, NULL), 0);
    assert_int_equal(clientscan_keypair_generate(CLIENTSCAN_ROLE_MODERATOR, &ignored, &f->other_mod, NULL), 0);
    assert_int_equal(clientscan_keypair_generate(CLIENTSCAN_ROLE_USER, &ignored, &f->user, NULL), 0);
    assert_int_equal(clientscan_attachment_key_new(&f->key, NULL), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    clientscan_secret_key_free(f->mod);
    clientscan_secret_key_free(f->other_mod);
    clientscan_secret_key_free(f->user);
    clientscan_attachment_key_free(f->key);
    free(f);
    return 0;
}

static cs_report_match sample_match(const fixture *f)
{
    cs_report_match m;
    memset(&m, 0, sizeof m);
    m.hash_algorithm = CLIENTSCAN_HASH_ALGORITHM_PDQ;
    for (int i = 0; i < CLIENTSCAN_LIST_DIGEST_BYTES; i++)
        m.list_digest[i] = (uint8_t)(0xa0 + i);
    m.list_sequence = 0x0102030405060708ull;
    for (int i = 0; i < CLIENTSCAN_LIST_ID_BYTES; i++)
        m.entry_id[i] = (uint8_t)(0x10 + i);
    m.distance = 256; /* the largest allowed: needs both bytes */
    m.variant = CLIENTSCAN_DIHEDRAL_FLIPX;
    m.day = 20000;
    m.key = f->key;
    for (int i = 0; i < CLIENTSCAN_ATTACHMENT_DIGEST_BYTES; i++)
        m.ciphertext_digest[i] = (uint8_t)(0xf0 ^ i);
    return m;
}

static void seal(const fixture *f, clientscan_report_kind kind, const cs_report_match *m,
                 uint8_t slot[CLIENTSCAN_REPORT_SLOT_BYTES])
{
    clientscan_detail d;
    if (cs_report_seal(kind, m, f->mod_pub.bytes, slot, &d) != CLIENTSCAN_OK)
        fail_msg("seal: %s", d.text);
}

static void open_ok(const fixture *f, const uint8_t *slot, clientscan_report *r)
{
    clientscan_detail d;
    if (clientscan_open_report(f->mod, slot, CLIENTSCAN_REPORT_SLOT_BYTES, r, &d) != CLIENTSCAN_OK)
        fail_msg("open: %s", d.text);
}

static void test_every_kind_round_trips_in_one_size(void **state)
{
    fixture *f = *state;
    cs_report_match m = sample_match(f);
    uint8_t slots[3][CLIENTSCAN_REPORT_SLOT_BYTES];
    seal(f, CLIENTSCAN_REPORT_NO_MATCH, NULL, slots[0]);
    seal(f, CLIENTSCAN_REPORT_MATCH, &m, slots[1]);
    seal(f, CLIENTSCAN_REPORT_UNSCANNED, NULL, slots[2]);
    assert_int_equal(CLIENTSCAN_REPORT_SLOT_BYTES, crypto_box_SEALBYTES + 256);

    clientscan_report r;
    open_ok(f, slots[0], &r);
    assert_int_equal(r.version, 1);
    assert_int_equal(r.kind, CLIENTSCAN_REPORT_NO_MATCH);
    /* A no-match record carries nothing else. */
    clientscan_report zero;
    memset(&zero, 0, sizeof zero);
    zero.version = 1;
    assert_memory_equal(&r, &zero, sizeof r);
    clientscan_report_release(&r);

    open_ok(f, slots[2], &r);
    assert_int_equal(r.kind, CLIENTSCAN_REPORT_UNSCANNED);
    zero.kind = CLIENTSCAN_REPORT_UNSCANNED;
    assert_memory_equal(&r, &zero, sizeof r);
    clientscan_report_release(&r);

    open_ok(f, slots[1], &r);
    assert_int_equal(r.kind, CLIENTSCAN_REPORT_MATCH);
    assert_int_equal(r.hash_algorithm, CLIENTSCAN_HASH_ALGORITHM_PDQ);
    assert_memory_equal(r.list_digest, m.list_digest, sizeof m.list_digest);
    assert_true(r.list_sequence == m.list_sequence);
    assert_memory_equal(r.entry_id, m.entry_id, sizeof m.entry_id);
    assert_int_equal(r.distance, 256);
    assert_int_equal(r.variant, CLIENTSCAN_DIHEDRAL_FLIPX);
    assert_int_equal(r.day, 20000);
    assert_memory_equal(r.ciphertext_digest, m.ciphertext_digest, sizeof m.ciphertext_digest);
    assert_non_null(r.key);
    assert_memory_equal(clientscan_attachment_key_bytes(r.key), clientscan_attachment_key_bytes(f->key),
                        CLIENTSCAN_ATTACHMENT_KEY_BYTES);
    clientscan_report_release(&r);
    assert_null(r.key);
    clientscan_report_release(&r); /* safe twice */
}

/* Opens a slot by hand (crypto_box_seal_open + sodium_unpad) and checks the
 * byte offsets documented in docs/report-format.md. */
static void test_documented_byte_layout(void **state)
{
    fixture *f = *state;
    cs_report_match m = sample_match(f);
    uint8_t slot[CLIENTSCAN_REPORT_SLOT_BYTES];
    seal(f, CLIENTSCAN_REPORT_MATCH, &m, slot);
    size_t sk_len;
    const uint8_t *sk = cs_secret_key_bytes(f->mod, &sk_len);
    uint8_t padded[256];
    assert_int_equal(crypto_box_seal_open(padded, slot, sizeof slot, f->mod_pub.bytes, sk), 0);
    size_t len;
    assert_int_equal(sodium_unpad(&len, padded, sizeof padded, 256), 0);
    assert_int_equal(len, 132);
    assert_int_equal(padded[0], 1);                          /* version */
    assert_int_equal(padded[1], 1);                          /* kind: match */
    assert_int_equal(padded[2], 1);                          /* algorithm: PDQ */
    assert_int_equal(padded[3], CLIENTSCAN_DIHEDRAL_FLIPX);  /* variant */
    assert_int_equal(padded[4], 0x00);                       /* distance 256, u16 LE */
    assert_int_equal(padded[5], 0x01);
    assert_int_equal(padded[6] | padded[7], 0);              /* reserved */
    assert_int_equal(padded[8] | padded[9] << 8 | padded[10] << 16 | padded[11] << 24, 20000);
    for (int i = 0; i < 8; i++)                              /* sequence, u64 LE */
        assert_int_equal(padded[12 + i], 8 - i);
    assert_memory_equal(padded + 20, m.list_digest, 32);
    assert_memory_equal(padded + 52, m.entry_id, 16);
    assert_memory_equal(padded + 68, clientscan_attachment_key_bytes(f->key), 32);
    assert_memory_equal(padded + 100, m.ciphertext_digest, 32);
    assert_int_equal(padded[132], 0x80); /* ISO/IEC 7816-4 padding */
    for (size_t i = 133; i < sizeof padded; i++)
        assert_int_equal(padded[i], 0);
    /* A no-match record is version, kind, padding. */
    seal(f, CLIENTSCAN_REPORT_NO_MATCH, NULL, slot);
    assert_int_equal(crypto_box_seal_open(padded, slot, sizeof slot, f->mod_pub.bytes, sk), 0);
    assert_int_equal(padded[0], 1);
    assert_int_equal(padded[1], 0);
    assert_int_equal(padded[2], 0x80);
    for (size_t i = 3; i < sizeof padded; i++)
        assert_int_equal(padded[i], 0);
    sodium_memzero(padded, sizeof padded);
}

static void test_slots_are_unlinkable(void **state)
{
    fixture *f = *state;
    /* Two no-match slots differ entirely (fresh ephemeral key each time). */
    uint8_t a[CLIENTSCAN_REPORT_SLOT_BYTES], b[CLIENTSCAN_REPORT_SLOT_BYTES];
    seal(f, CLIENTSCAN_REPORT_NO_MATCH, NULL, a);
    seal(f, CLIENTSCAN_REPORT_NO_MATCH, NULL, b);
    size_t same = 0;
    for (size_t i = 0; i < sizeof a; i++)
        same += a[i] == b[i];
    assert_true(same < 16); /* about 304/256 expected by chance */
}

static void test_wrong_key_size_and_tampering_are_refused(void **state)
{
    fixture *f = *state;
    cs_report_match m = sample_match(f);
    uint8_t slot[CLIENTSCAN_REPORT_SLOT_BYTES + 1];
    seal(f, CLIENTSCAN_REPORT_MATCH, &m, slot);
    clientscan_report r;
    clientscan_detail d;
    assert_int_equal(clientscan_open_report(f->other_mod, slot, CLIENTSCAN_REPORT_SLOT_BYTES, &r, &d),
                     CLIENTSCAN_E_DECRYPT);
    assert_null(r.key);
    assert_int_equal(clientscan_open_report(f->user, slot, CLIENTSCAN_REPORT_SLOT_BYTES, &r, &d),
                     CLIENTSCAN_E_INVALID_ARGUMENT);
    const size_t bad_sizes[] = {0, 1, 48, CLIENTSCAN_REPORT_SLOT_BYTES - 1, CLIENTSCAN_REPORT_SLOT_BYTES + 1};
    for (size_t i = 0; i < sizeof bad_sizes / sizeof bad_sizes[0]; i++) {
        assert_int_equal(clientscan_open_report(f->mod, slot, bad_sizes[i], &r, &d),
                         CLIENTSCAN_E_CORRUPT);
        assert_non_null(strstr(d.text, "expected 304"));
    }
    for (size_t i = 0; i < CLIENTSCAN_REPORT_SLOT_BYTES; i++) {
        slot[i] ^= 0x04;
        assert_int_equal(clientscan_open_report(f->mod, slot, CLIENTSCAN_REPORT_SLOT_BYTES, &r, NULL),
                         CLIENTSCAN_E_DECRYPT);
        slot[i] ^= 0x04;
    }
    open_ok(f, slot, &r); /* intact again */
    clientscan_report_release(&r);
    assert_int_equal(clientscan_open_report(NULL, slot, sizeof slot, &r, NULL),
                     CLIENTSCAN_E_INVALID_ARGUMENT);
}

/* Builds a padded record from raw bytes as docs/report-format.md lays it
 * out, then decodes it directly and through an authentic seal. */
static int decode_raw(const fixture *f, const uint8_t *rec, size_t len, clientscan_detail *d)
{
    uint8_t padded[256];
    size_t plen;
    memset(padded, 0, sizeof padded);
    memcpy(padded, rec, len);
    assert_int_equal(sodium_pad(&plen, padded, len, 256, 256), 0);
    assert_int_equal(plen, 256);
    clientscan_report r;
    int direct = cs_report_decode(padded, plen, &r, d);
    clientscan_report_release(&r);
    uint8_t slot[CLIENTSCAN_REPORT_SLOT_BYTES];
    assert_int_equal(crypto_box_seal(slot, padded, sizeof padded, f->mod_pub.bytes), 0);
    int sealed = clientscan_open_report(f->mod, slot, sizeof slot, &r, NULL);
    if (sealed != CLIENTSCAN_OK)
        assert_null(r.key);
    clientscan_report_release(&r);
    assert_int_equal(direct, sealed);
    return direct;
}

static void test_malformed_records_are_refused(void **state)
{
    fixture *f = *state;
    uint8_t rec[140];
    memset(rec, 0, sizeof rec);
    rec[0] = 1;
    rec[1] = 1;
    rec[2] = 1;
    clientscan_detail d;
    assert_int_equal(decode_raw(f, rec, 132, &d), CLIENTSCAN_OK);
    assert_int_equal(decode_raw(f, rec, 131, &d), CLIENTSCAN_E_CORRUPT); /* short match */
    assert_int_equal(decode_raw(f, rec, 133, &d), CLIENTSCAN_E_CORRUPT); /* long match */
    rec[1] = 0;
    assert_int_equal(decode_raw(f, rec, 2, &d), CLIENTSCAN_OK);
    assert_int_equal(decode_raw(f, rec, 3, &d), CLIENTSCAN_E_CORRUPT); /* no-match + extra */
    assert_int_equal(decode_raw(f, rec, 1, &d), CLIENTSCAN_E_CORRUPT);
    assert_int_equal(decode_raw(f, rec, 0, &d), CLIENTSCAN_E_CORRUPT);
    rec[1] = 3;
    assert_int_equal(decode_raw(f, rec, 2, &d), CLIENTSCAN_E_CORRUPT); /* unknown kind */
    assert_non_null(strstr(d.text, "kind"));
    rec[1] = 1;
    rec[0] = 2;
    assert_int_equal(decode_raw(f, rec, 132, &d), CLIENTSCAN_E_VERSION);
    rec[0] = 0;
    assert_int_equal(decode_raw(f, rec, 132, &d), CLIENTSCAN_E_VERSION);
    rec[0] = 1;
    rec[2] = 2;
    assert_int_equal(decode_raw(f, rec, 132, &d), CLIENTSCAN_E_UNSUPPORTED_FORMAT);
    rec[2] = 1;
    rec[3] = 8;
    assert_int_equal(decode_raw(f, rec, 132, &d), CLIENTSCAN_E_CORRUPT); /* variant */
    rec[3] = 7;
    assert_int_equal(decode_raw(f, rec, 132, &d), CLIENTSCAN_OK);
    rec[4] = 0x01;
    rec[5] = 0x01; /* distance 257 */
    assert_int_equal(decode_raw(f, rec, 132, &d), CLIENTSCAN_E_CORRUPT);
    rec[4] = 0;
    rec[5] = 0x01; /* 256 */
    assert_int_equal(decode_raw(f, rec, 132, &d), CLIENTSCAN_OK);
    rec[7] = 1; /* reserved */
    assert_int_equal(decode_raw(f, rec, 132, &d), CLIENTSCAN_E_CORRUPT);
    rec[7] = 0;
    /* Bad padding: no 0x80 marker. */
    uint8_t padded[256];
    memset(padded, 0, sizeof padded);
    padded[0] = 1;
    clientscan_report r;
    assert_int_equal(cs_report_decode(padded, sizeof padded, &r, &d), CLIENTSCAN_E_CORRUPT);
    assert_non_null(strstr(d.text, "padding"));
    assert_int_equal(cs_report_decode(padded, 255, &r, &d), CLIENTSCAN_E_CORRUPT);
}

static void test_seal_refuses_bad_input(void **state)
{
    fixture *f = *state;
    cs_report_match m = sample_match(f);
    uint8_t slot[CLIENTSCAN_REPORT_SLOT_BYTES];
    assert_int_equal(cs_report_seal(CLIENTSCAN_REPORT_MATCH, NULL, f->mod_pub.bytes, slot, NULL),
                     CLIENTSCAN_E_INVALID_ARGUMENT);
    assert_int_equal(cs_report_seal(CLIENTSCAN_REPORT_NO_MATCH, &m, f->mod_pub.bytes, slot, NULL),
                     CLIENTSCAN_E_INVALID_ARGUMENT);
    assert_int_equal(cs_report_seal((clientscan_report_kind)7, NULL, f->mod_pub.bytes, slot, NULL),
                     CLIENTSCAN_E_INVALID_ARGUMENT);
    m.distance = 257;
    assert_int_equal(cs_report_seal(CLIENTSCAN_REPORT_MATCH, &m, f->mod_pub.bytes, slot, NULL),
                     CLIENTSCAN_E_INVALID_ARGUMENT);
    m.distance = 3;
    m.variant = CLIENTSCAN_DIHEDRAL_COUNT;
    assert_int_equal(cs_report_seal(CLIENTSCAN_REPORT_MATCH, &m, f->mod_pub.bytes, slot, NULL),
                     CLIENTSCAN_E_INVALID_ARGUMENT);
}

static void test_review_decrypts_only_the_named_attachment(void **state)
{
    fixture *f = *state;
    const char text[] = "the one attachment the report names";
    uint8_t *ct = NULL, *other = NULL;
    size_t ct_len, other_len;
    cs_report_match m = sample_match(f);
    assert_int_equal(clientscan_encrypt_attachment(f->key, text, sizeof text, &ct, &ct_len,
                                                   m.ciphertext_digest, NULL),
                     CLIENTSCAN_OK);
    /* Same key, same content, different ciphertext: not the named one. */
    assert_int_equal(clientscan_encrypt_attachment(f->key, text, sizeof text, &other, &other_len,
                                                   NULL, NULL),
                     CLIENTSCAN_OK);
    uint8_t slot[CLIENTSCAN_REPORT_SLOT_BYTES];
    seal(f, CLIENTSCAN_REPORT_MATCH, &m, slot);
    clientscan_report r;
    open_ok(f, slot, &r);
    uint8_t *out = NULL;
    size_t out_len;
    assert_int_equal(clientscan_report_open_attachment(&r, ct, ct_len, &out, &out_len, NULL),
                     CLIENTSCAN_OK);
    assert_int_equal(out_len, sizeof text);
    assert_memory_equal(out, text, sizeof text);
    free(out);
    clientscan_detail d;
    assert_int_equal(clientscan_report_open_attachment(&r, other, other_len, &out, &out_len, &d),
                     CLIENTSCAN_E_DECRYPT);
    assert_non_null(strstr(d.text, "digest"));
    assert_null(out);
    assert_int_equal(clientscan_report_open_attachment(&r, ct, ct_len - 1, &out, &out_len, NULL),
                     CLIENTSCAN_E_DECRYPT);
    clientscan_report_release(&r);
    /* A no-match report names nothing. */
    seal(f, CLIENTSCAN_REPORT_NO_MATCH, NULL, slot);
    open_ok(f, slot, &r);
    assert_int_equal(clientscan_report_open_attachment(&r, ct, ct_len, &out, &out_len, NULL),
                     CLIENTSCAN_E_INVALID_ARGUMENT);
    clientscan_report_release(&r);
    free(ct);
    free(other);
}

static void test_kind_names(void **state)
{
    (void)state;
    assert_string_equal(clientscan_report_kind_name(CLIENTSCAN_REPORT_MATCH), "match");
    assert_string_equal(clientscan_report_kind_name(CLIENTSCAN_REPORT_NO_MATCH), "no-match");
    assert_string_equal(clientscan_report_kind_name(CLIENTSCAN_REPORT_UNSCANNED), "unscanned");
    assert_string_equal(clientscan_report_kind_name((clientscan_report_kind)9), "unknown");
    uint32_t today = cs_report_today();
    assert_true(today > 19700 && today < 40000); /* after 2023-12, before 2079 */
}

int main(void)
{
    if (clientscan_init() != CLIENTSCAN_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_kind_round_trips_in_one_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_documented_byte_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slots_are_unlinkable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_key_size_and_tampering_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_records_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seal_refuses_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_review_decrypts_only_the_named_attachment, setup, teardown),
        cmocka_unit_test(test_kind_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
