/* Hash lists: signed binary format (every truncation and every flipped byte
 * refused), trust, rollback, hostile counts, canonical entries, text import
 * with line-numbered errors, ThreatExchange files, export round trip, k-of-n. */
#include "support.h"

#include "hashlist.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 1;

static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

static void random_hash(clientscan_pdq *h)
{
    for (int i = 0; i < CLIENTSCAN_PDQ_BYTES; i += 8) {
        uint64_t v = rng();
        memcpy(h->bytes + i, &v, 8);
    }
}

typedef struct {
    clientscan_public_key pub[2];
    clientscan_secret_key *sec[2];
} keyring;

static void keys_make(keyring *k)
{
    for (int i = 0; i < 2; i++)
        assert_int_equal(
            clientscan_keypair_generate(CLIENTSCAN_ROLE_AUTHORITY, &k->pub[i], &k->sec[i], NULL),
            CLIENTSCAN_OK);
}

static void keys_free(keyring *k)
{
    for (int i = 0; i < 2; i++)
        clientscan_secret_key_free(k->sec[i]);
}

/* A list of n random entries (with provenance when providers > 0). */
static uint8_t *make_list(size_t n, unsigned providers, uint64_t sequence,
                          const clientscan_secret_key *const *signers, size_t nsign, size_t *len)
{
    clientscan_list_builder *b = NULL;
    assert_int_equal(clientscan_list_builder_new(&b, NULL), CLIENTSCAN_OK);
    assert_int_equal(clientscan_list_builder_set_name(b, "test list", NULL), CLIENTSCAN_OK);
    clientscan_list_builder_set_sequence(b, sequence);
    clientscan_list_builder_set_created(b, 1700000000);
    for (unsigned p = 0; p < providers; p++) {
        char name[16];
        snprintf(name, sizeof name, "org%u", p);
        unsigned idx;
        assert_int_equal(clientscan_list_builder_add_provider(b, name, &idx, NULL), CLIENTSCAN_OK);
        assert_int_equal(idx, p);
    }
    for (size_t i = 0; i < n; i++) {
        clientscan_pdq h;
        random_hash(&h);
        int prov = providers ? (int)(i % providers) : -1;
        assert_int_equal(clientscan_list_builder_add(b, &h, NULL, prov, NULL), CLIENTSCAN_OK);
    }
    uint8_t *out = NULL;
    assert_int_equal(clientscan_list_builder_encode(b, signers, nsign, &out, len, NULL),
                     CLIENTSCAN_OK);
    clientscan_list_builder_free(b);
    return out;
}

static int open_with(const uint8_t *data, size_t len, const clientscan_public_key *keys,
                     size_t nkeys, int allow_unsigned, clientscan_list **out,
                     clientscan_detail *detail)
{
    clientscan_list_params p;
    memset(&p, 0, sizeof p);
    p.authorities = keys;
    p.authority_count = nkeys;
    p.allow_unsigned = allow_unsigned;
    int rc = clientscan_list_open_memory(data, len, &p, out, detail);
    if (rc != CLIENTSCAN_OK)
        assert_null(*out);
    return rc;
}

/* ------------------------------------------------------------ format */

static void test_round_trip_and_digest(void **state)
{
    (void)state;
    keyring k;
    keys_make(&k);
    size_t len;
    const clientscan_secret_key *signers[] = {k.sec[0]};
    uint8_t *data = make_list(200, 0, 7, signers, 1, &len);
    clientscan_list *list = NULL;
    assert_int_equal(open_with(data, len, k.pub, 1, 0, &list, NULL), CLIENTSCAN_OK);
    assert_int_equal(clientscan_list_count(list), 200);
    assert_string_equal(clientscan_list_name(list), "test list");
    assert_int_equal(clientscan_list_sequence(list), 7);
    assert_int_equal(clientscan_list_created(list), 1700000000);
    assert_int_equal(clientscan_list_verified(list), 1);
    /* Digest: BLAKE2b-256 of everything before the 12 + 72-byte signature block. */
    uint8_t digest[32];
    crypto_generichash(digest, 32, data, len - 12 - 72, NULL, 0);
    assert_memory_equal(clientscan_list_digest(list), digest, 32);
    /* The signature is Ed25519 over context || digest, tagged with the key id. */
    uint8_t msg[24 + 32];
    memcpy(msg, "clientscan hash list v1", 24);
    memcpy(msg + 24, digest, 32);
    assert_memory_equal(data + len - 72, k.pub[0].id, 8);
    assert_int_equal(crypto_sign_verify_detached(data + len - 64, msg, sizeof msg, k.pub[0].bytes),
                     0);
    /* Entries sorted, ids derived from hashes. */
    for (size_t i = 0; i < 200; i++) {
        clientscan_list_entry e;
        assert_int_equal(clientscan_list_entry_at(list, i, &e), CLIENTSCAN_OK);
        uint8_t id[16];
        crypto_generichash(id, 16, e.hash.bytes, 32, NULL, 0);
        assert_memory_equal(e.id, id, 16);
        if (i) {
            clientscan_list_entry prev;
            clientscan_list_entry_at(list, i - 1, &prev);
            assert_true(memcmp(prev.hash.bytes, e.hash.bytes, 32) < 0);
        }
    }
    clientscan_list_entry e;
    assert_int_equal(clientscan_list_entry_at(list, 200, &e), CLIENTSCAN_E_INVALID_ARGUMENT);
    uint8_t id[8];
    clientscan_signature_status st;
    assert_int_equal(clientscan_list_signature_count(list), 1);
    assert_int_equal(clientscan_list_signature_at(list, 0, id, &st), CLIENTSCAN_OK);
    assert_memory_equal(id, k.pub[0].id, 8);
    assert_int_equal(st, CLIENTSCAN_SIGNATURE_VALID);
    clientscan_list_close(list);
    free(data);
    keys_free(&k);
}

static void test_every_truncation_refused(void **state)
{
    (void)state;
    keyring k;
    keys_make(&k);
    size_t len;
    const clientscan_secret_key *signers[] = {k.sec[0], k.sec[1]};
    uint8_t *data = make_list(5, 3, 1, signers, 2, &len);
    for (size_t cut = 0; cut < len; cut++) {
        clientscan_list *list = NULL;
        clientscan_detail d = {{0}};
        int rc = open_with(data, cut, k.pub, 2, 0, &list, &d);
        if (rc == CLIENTSCAN_OK)
            fail_msg("a list cut to %zu of %zu bytes was accepted", cut, len);
        assert_true(d.text[0] != '\0');
        /* Even with allow_unsigned, structure errors are caught. */
        rc = open_with(data, cut, k.pub, 2, 1, &list, &d);
        assert_int_not_equal(rc, CLIENTSCAN_OK);
    }
    free(data);
    keys_free(&k);
}

static void test_every_flipped_byte_refused(void **state)
{
    (void)state;
    keyring k;
    keys_make(&k);
    size_t len;
    const clientscan_secret_key *signers[] = {k.sec[0]};
    uint8_t *data = make_list(4, 2, 1, signers, 1, &len);
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            data[i] ^= (uint8_t)(1u << bit);
            clientscan_list *list = NULL;
            int rc = open_with(data, len, k.pub, 1, 0, &list, NULL);
            if (rc == CLIENTSCAN_OK)
                fail_msg("flipping bit %d of byte %zu/%zu was accepted", bit, i, len);
            data[i] ^= (uint8_t)(1u << bit);
        }
    }
    /* A signature byte flipped: the trusted signer is named as not verifying. */
    data[len - 1] ^= 1;
    clientscan_list *list = NULL;
    clientscan_detail d;
    assert_int_equal(open_with(data, len, k.pub, 1, 0, &list, &d), CLIENTSCAN_E_SIGNATURE);
    assert_non_null(strstr(d.text, "does not verify"));
    free(data);
    keys_free(&k);
}

static void test_trust(void **state)
{
    (void)state;
    keyring k;
    keys_make(&k);
    size_t len, ulen;
    const clientscan_secret_key *signers[] = {k.sec[0]};
    uint8_t *data = make_list(10, 0, 1, signers, 1, &len);
    uint8_t *unsigned_data = make_list(10, 0, 1, NULL, 0, &ulen);
    clientscan_list *list = NULL;
    clientscan_detail d;
    /* Wrong key. */
    assert_int_equal(open_with(data, len, &k.pub[1], 1, 0, &list, &d), CLIENTSCAN_E_SIGNATURE);
    char hex[17];
    clientscan_key_id_to_hex(k.pub[0].id, hex);
    assert_non_null(strstr(d.text, hex));
    /* No key at all and no opt-in: a usage error, not a silent accept. */
    assert_int_equal(open_with(data, len, NULL, 0, 0, &list, &d), CLIENTSCAN_E_INVALID_ARGUMENT);
    /* Unsigned. */
    assert_int_equal(open_with(unsigned_data, ulen, k.pub, 2, 0, &list, &d),
                     CLIENTSCAN_E_SIGNATURE);
    assert_non_null(strstr(d.text, "unsigned"));
    assert_int_equal(open_with(unsigned_data, ulen, NULL, 0, 1, &list, &d), CLIENTSCAN_OK);
    assert_int_equal(clientscan_list_verified(list), 0);
    clientscan_list_close(list);
    /* Opt-in with an untrusted signer: opens, not verified, signer unknown. */
    assert_int_equal(open_with(data, len, &k.pub[1], 1, 1, &list, &d), CLIENTSCAN_OK);
    assert_int_equal(clientscan_list_verified(list), 0);
    clientscan_signature_status st;
    clientscan_list_signature_at(list, 0, NULL, &st);
    assert_int_equal(st, CLIENTSCAN_SIGNATURE_UNKNOWN_KEY);
    clientscan_list_close(list);
    /* A key of another role cannot be a trusted authority. */
    clientscan_public_key user;
    clientscan_secret_key *usk = NULL;
    assert_int_equal(clientscan_keypair_generate(CLIENTSCAN_ROLE_USER, &user, &usk, NULL),
                     CLIENTSCAN_OK);
    assert_int_equal(open_with(data, len, &user, 1, 0, &list, &d), CLIENTSCAN_E_INVALID_ARGUMENT);
    clientscan_secret_key_free(usk);

    /* Co-signing: a second authority signs; the digest is unchanged; either
     * key alone now verifies; signing again by the same key replaces. */
    uint8_t *cosigned = NULL, *again = NULL;
    size_t clen, alen;
    assert_int_equal(clientscan_list_add_signature(data, len, k.sec[1], &cosigned, &clen, NULL),
                     CLIENTSCAN_OK);
    assert_int_equal(clen, len + 72);
    clientscan_list *l1 = NULL, *l2 = NULL;
    assert_int_equal(open_with(cosigned, clen, &k.pub[1], 1, 0, &l1, NULL), CLIENTSCAN_OK);
    assert_int_equal(open_with(data, len, k.pub, 1, 0, &l2, NULL), CLIENTSCAN_OK);
    assert_memory_equal(clientscan_list_digest(l1), clientscan_list_digest(l2), 32);
    assert_int_equal(clientscan_list_signature_count(l1), 2);
    clientscan_list_close(l1);
    clientscan_list_close(l2);
    assert_int_equal(
        clientscan_list_add_signature(cosigned, clen, k.sec[1], &again, &alen, NULL),
        CLIENTSCAN_OK);
    assert_int_equal(alen, clen);
    free(again);
    free(cosigned);
    free(data);
    free(unsigned_data);
    keys_free(&k);
}

static void test_rollback(void **state)
{
    (void)state;
    keyring k;
    keys_make(&k);
    size_t len, len2;
    const clientscan_secret_key *signers[] = {k.sec[0]};
    uint8_t *v5 = make_list(20, 0, 5, signers, 1, &len);
    uint8_t *v5b = make_list(20, 0, 5, signers, 1, &len2); /* same sequence, other entries */
    clientscan_list_params p;
    memset(&p, 0, sizeof p);
    p.authorities = k.pub;
    p.authority_count = 1;
    clientscan_list *list = NULL;
    clientscan_detail d;
    p.accepted_sequence = 6;
    assert_int_equal(clientscan_list_open_memory(v5, len, &p, &list, &d), CLIENTSCAN_E_ROLLBACK);
    assert_non_null(strstr(d.text, "older"));
    p.accepted_sequence = 4;
    assert_int_equal(clientscan_list_open_memory(v5, len, &p, &list, NULL), CLIENTSCAN_OK);
    uint8_t accepted[32];
    memcpy(accepted, clientscan_list_digest(list), 32);
    assert_int_equal(clientscan_list_sequence(list), 5);
    clientscan_list_close(list);
    /* The host persisted (5, digest): the same list reopens, a different
     * list with the same sequence does not. */
    p.accepted_sequence = 5;
    p.accepted_digest = accepted;
    assert_int_equal(clientscan_list_open_memory(v5, len, &p, &list, NULL), CLIENTSCAN_OK);
    clientscan_list_close(list);
    assert_int_equal(clientscan_list_open_memory(v5b, len2, &p, &list, &d), CLIENTSCAN_E_ROLLBACK);
    /* Rollback is checked even for lists opened with allow_unsigned. */
    p.allow_unsigned = 1;
    p.accepted_sequence = 9;
    p.accepted_digest = NULL;
    assert_int_equal(clientscan_list_open_memory(v5, len, &p, &list, NULL), CLIENTSCAN_E_ROLLBACK);
    free(v5);
    free(v5b);
    keys_free(&k);
}

/* Patches an unsigned encoding (no signatures, so structure is all that is
 * checked with allow_unsigned) and expects `code`. */
static void expect_patched(const uint8_t *data, size_t len, size_t off, const void *bytes,
                           size_t n, int code, const char *needle)
{
    uint8_t *copy = ts_malloc(len + 8);
    memcpy(copy, data, len);
    memcpy(copy + off, bytes, n);
    clientscan_list *list = NULL;
    clientscan_detail d = {{0}};
    int rc = open_with(copy, len, NULL, 0, 1, &list, &d);
    if (rc != code)
        fail_msg("patch at %zu: got %d (%s), expected %d", off, rc, d.text, code);
    if (needle && !strstr(d.text, needle))
        fail_msg("patch at %zu: detail '%s' lacks '%s'", off, d.text, needle);
    free(copy);
}

static void test_hostile_headers(void **state)
{
    (void)state;
    size_t len;
    uint8_t *data = make_list(3, 0, 1, NULL, 0, &len);
    const uint8_t v2[2] = {2, 0}, algo2[2] = {2, 0}, size31[2] = {31, 0}, flag2[4] = {2, 0, 0, 0};
    const uint8_t one = 1, ctrl = '\n', zero = 0;
    expect_patched(data, len, 0, "\x89XSHL", 5, CLIENTSCAN_E_UNSUPPORTED_FORMAT, "magic");
    expect_patched(data, len, 8, v2, 2, CLIENTSCAN_E_VERSION, "version 2");
    expect_patched(data, len, 10, algo2, 2, CLIENTSCAN_E_UNSUPPORTED_FORMAT, "algorithm");
    expect_patched(data, len, 12, size31, 2, CLIENTSCAN_E_UNSUPPORTED_FORMAT, NULL);
    expect_patched(data, len, 16, flag2, 4, CLIENTSCAN_E_UNSUPPORTED_FORMAT, "flags");
    expect_patched(data, len, 20, &one, 1, CLIENTSCAN_E_CORRUPT, "reserved");
    expect_patched(data, len, 60, &one, 1, CLIENTSCAN_E_CORRUPT, "reserved");
    expect_patched(data, len, 64, &ctrl, 1, CLIENTSCAN_E_CORRUPT, "name");
    expect_patched(data, len, 48, &zero, 1, CLIENTSCAN_E_CORRUPT, "name");
    /* Counts: one more than present, huge, over a caller's cap. */
    uint8_t c[8];
    for (int i = 0; i < 8; i++)
        c[i] = (uint8_t)((uint64_t)4 >> (8 * i));
    expect_patched(data, len, 24, c, 8, CLIENTSCAN_E_CORRUPT, "declares 4 entries");
    const uint8_t huge[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
    expect_patched(data, len, 24, huge, 8, CLIENTSCAN_E_LIMIT, NULL);
    const uint8_t million[8] = {0x40, 0x42, 0x0f, 0, 0, 0, 0, 0};
    expect_patched(data, len, 24, million, 8, CLIENTSCAN_E_CORRUPT, "declares 1000000");
    clientscan_list_params p;
    memset(&p, 0, sizeof p);
    p.allow_unsigned = 1;
    p.max_entries = 2;
    clientscan_list *list = NULL;
    assert_int_equal(clientscan_list_open_memory(data, len, &p, &list, NULL), CLIENTSCAN_E_LIMIT);
    /* Signature block: bad marker, huge count, trailing byte. */
    size_t sig = len - 12;
    expect_patched(data, len, sig, "CSHLSIGX", 8, CLIENTSCAN_E_CORRUPT, "marker");
    const uint8_t many[4] = {17, 0, 0, 0}, lots[4] = {0xff, 0xff, 0xff, 0xff};
    expect_patched(data, len, sig + 8, many, 4, CLIENTSCAN_E_LIMIT, "17 signatures");
    expect_patched(data, len, sig + 8, lots, 4, CLIENTSCAN_E_LIMIT, NULL);
    uint8_t *longer = calloc(1, len + 1);
    assert_non_null(longer);
    memcpy(longer, data, len);
    assert_int_equal(open_with(longer, len + 1, NULL, 0, 1, &list, NULL), CLIENTSCAN_E_CORRUPT);
    free(longer);
    /* Duplicated and unsorted entries. */
    uint8_t *dup = ts_malloc(len);
    memcpy(dup, data, len);
    memcpy(dup + 128 + 48, dup + 128, 32); /* entry 1 hash = entry 0 hash */
    clientscan_detail d;
    assert_int_equal(open_with(dup, len, NULL, 0, 1, &list, &d), CLIENTSCAN_E_CORRUPT);
    assert_non_null(strstr(d.text, "duplicates"));
    memcpy(dup, data, len);
    uint8_t tmp[48];
    memcpy(tmp, dup + 128, 48);
    memcpy(dup + 128, dup + 128 + 96, 48);
    memcpy(dup + 128 + 96, tmp, 48);
    assert_int_equal(open_with(dup, len, NULL, 0, 1, &list, &d), CLIENTSCAN_E_CORRUPT);
    assert_non_null(strstr(d.text, "not sorted"));
    free(dup);
    free(data);
}

static void test_provenance_checks(void **state)
{
    (void)state;
    size_t len;
    uint8_t *data = make_list(6, 3, 1, NULL, 0, &len);
    clientscan_list *list = NULL;
    assert_int_equal(open_with(data, len, NULL, 0, 1, &list, NULL), CLIENTSCAN_OK);
    assert_int_equal(clientscan_list_provider_count(list), 3);
    assert_string_equal(clientscan_list_provider_name(list, 2), "org2");
    assert_null(clientscan_list_provider_name(list, 3));
    size_t per[3] = {0};
    for (size_t i = 0; i < 6; i++) {
        clientscan_list_entry e;
        clientscan_list_entry_at(list, i, &e);
        assert_int_equal(__builtin_popcount(e.providers), 1);
        per[__builtin_ctz(e.providers)]++;
    }
    assert_int_equal(per[0], 2);
    assert_int_equal(per[1], 2);
    assert_int_equal(per[2], 2);
    clientscan_list_close(list);
    size_t prov = 128 + 6 * 48;
    const uint8_t zero_providers[4] = {0}, many[4] = {33, 0, 0, 0};
    expect_patched(data, len, prov, zero_providers, 4, CLIENTSCAN_E_CORRUPT, "providers");
    expect_patched(data, len, prov, many, 4, CLIENTSCAN_E_CORRUPT, "providers");
    const uint8_t bad_mask[4] = {8, 0, 0, 0};
    expect_patched(data, len, prov + 8 + 3 * 64, bad_mask, 4, CLIENTSCAN_E_CORRUPT,
                   "undeclared provider");
    expect_patched(data, len, prov + 8 + 64, "\0x", 2, CLIENTSCAN_E_CORRUPT, "provider name");
    free(data);
}

static void test_zero_entries_and_builder_rules(void **state)
{
    (void)state;
    keyring k;
    keys_make(&k);
    size_t len;
    const clientscan_secret_key *signers[] = {k.sec[0], k.sec[1]};
    uint8_t *data = make_list(0, 0, 1, signers, 2, &len);
    assert_int_equal(len, 128 + 12 + 2 * 72);
    clientscan_list *list = NULL;
    assert_int_equal(open_with(data, len, &k.pub[1], 1, 0, &list, NULL), CLIENTSCAN_OK);
    assert_int_equal(clientscan_list_count(list), 0);
    clientscan_pdq q;
    random_hash(&q);
    size_t found = 99;
    assert_int_equal(clientscan_list_search(list, &q, NULL, NULL, 0, &found, NULL), CLIENTSCAN_OK);
    assert_int_equal(found, 0);
    clientscan_list_close(list);
    free(data);

    clientscan_list_builder *b = NULL;
    assert_int_equal(clientscan_list_builder_new(&b, NULL), CLIENTSCAN_OK);
    char name[80];
    memset(name, 'a', sizeof name);
    name[65] = '\0';
    assert_int_equal(clientscan_list_builder_set_name(b, name, NULL),
                     CLIENTSCAN_E_INVALID_ARGUMENT);
    name[64] = '\0';
    assert_int_equal(clientscan_list_builder_set_name(b, name, NULL), CLIENTSCAN_OK);
    assert_int_equal(clientscan_list_builder_set_name(b, "bad\tname", NULL),
                     CLIENTSCAN_E_INVALID_ARGUMENT);
    assert_int_equal(clientscan_list_builder_set_name(b, "caf\xc3\xa9", NULL), CLIENTSCAN_OK);
    assert_int_equal(clientscan_list_builder_set_name(b, "bad\xc3", NULL),
                     CLIENTSCAN_E_INVALID_ARGUMENT);
    for (int p = 0; p < CLIENTSCAN_LIST_MAX_PROVIDERS; p++)
        assert_int_equal(clientscan_list_builder_add_provider(b, "p", NULL, NULL), CLIENTSCAN_OK);
    assert_int_equal(clientscan_list_builder_add_provider(b, "p", NULL, NULL), CLIENTSCAN_E_LIMIT);
    /* Duplicates merge; the first id wins; provider bits unite. */
    clientscan_pdq h;
    random_hash(&h);
    uint8_t id1[16] = {1}, id2[16] = {2};
    assert_int_equal(clientscan_list_builder_add(b, &h, id1, 3, NULL), CLIENTSCAN_OK);
    assert_int_equal(clientscan_list_builder_add(b, &h, id2, 5, NULL), CLIENTSCAN_OK);
    assert_int_equal(clientscan_list_builder_add(b, &h, id2, 40, NULL),
                     CLIENTSCAN_E_INVALID_ARGUMENT);
    assert_int_equal(clientscan_list_builder_count(b), 1);
    /* Same signer twice, or a non-authority signer: refused. */
    const clientscan_secret_key *twice[] = {k.sec[0], k.sec[0]};
    assert_int_equal(clientscan_list_builder_encode(b, twice, 2, &data, &len, NULL),
                     CLIENTSCAN_E_INVALID_ARGUMENT);
    assert_int_equal(clientscan_list_builder_encode(b, NULL, 0, &data, &len, NULL),
                     CLIENTSCAN_OK);
    assert_int_equal(open_with(data, len, NULL, 0, 1, &list, NULL), CLIENTSCAN_OK);
    clientscan_list_entry e;
    clientscan_list_entry_at(list, 0, &e);
    assert_memory_equal(e.id, id1, 16);
    assert_int_equal(e.providers, (1u << 3) | (1u << 5));
    clientscan_list_close(list);
    free(data);
    clientscan_list_builder_free(b);
    keys_free(&k);
}

/* ------------------------------------------------------------ text */

static int import(clientscan_list_builder *b, const char *text, size_t *added,
                  clientscan_detail *d)
{
    return clientscan_list_builder_add_text(b, text, strlen(text), -1, 0, added, d);
}

static void expect_text_error(const char *text, const char *message)
{
    clientscan_list_builder *b = NULL;
    assert_int_equal(clientscan_list_builder_new(&b, NULL), CLIENTSCAN_OK);
    clientscan_detail d = {{0}};
    size_t added = 99;
    assert_int_equal(import(b, text, &added, &d), CLIENTSCAN_E_PARSE);
    if (strcmp(d.text, message) != 0)
        fail_msg("detail '%s', expected '%s'", d.text, message);
    /* Nothing was added, not even the good lines before the bad one. */
    assert_int_equal(added, 0);
    assert_int_equal(clientscan_list_builder_count(b), 0);
    clientscan_list_builder_free(b);
}

#define H64 "f162eb9daab170c0567fe3632d9a5548c5612982dd5e374a7424ebbc8a835c95"
#define H64B "b062eb9d2ab170c0567fcb672d9a5548c5612982dd5e374a7424ebbc8b135cb5"

static void test_text_errors_name_lines(void **state)
{
    (void)state;
    expect_text_error(H64 "\n# c\n\n" H64B "\n" H64 "0\n",
                      "line 5: hash has 65 hex digits, not 64");
    expect_text_error("\n\n" "f162eb9daab170c0567fe3632d9a5548c5612982dd5e374a7424ebbc8a835c9\n",
                      "line 3: hash has 63 hex digits, not 64");
    expect_text_error(H64 "\n" "g162eb9daab170c0567fe3632d9a5548c5612982dd5e374a7424ebbc8a835c95",
                      "line 2: hash: 'g' at column 1 is not a hex digit");
    expect_text_error(H64 ",101\n", "line 1: quality '101' is not an integer 0..100");
    expect_text_error(H64 ",-1\n", "line 1: quality '-1' is not an integer 0..100");
    expect_text_error(H64 ",1000\n", "line 1: quality '1000' is not an integer 0..100");
    expect_text_error(",50\n", "line 1: hash has 0 hex digits, not 64");
    char nul[80];
    memcpy(nul, H64 "\0", 65);
    clientscan_list_builder *b = NULL;
    assert_int_equal(clientscan_list_builder_new(&b, NULL), CLIENTSCAN_OK);
    clientscan_detail d;
    assert_int_equal(clientscan_list_builder_add_text(b, nul, 65, -1, 0, NULL, &d),
                     CLIENTSCAN_E_PARSE);
    assert_string_equal(d.text, "line 1: contains a NUL byte");
    char longid[400];
    snprintf(longid, sizeof longid, "%s,5,%0300d\n", H64, 7);
    assert_int_equal(import(b, longid, NULL, &d), CLIENTSCAN_E_PARSE);
    assert_string_equal(d.text, "line 1: id longer than 256 bytes");
    assert_int_equal(import(b, H64 ",5,a\x01b\n", NULL, &d), CLIENTSCAN_E_PARSE);
    assert_non_null(strstr(d.text, "control byte"));
    char *huge = ts_malloc(5000);
    memset(huge, ' ', 5000);
    assert_int_equal(clientscan_list_builder_add_text(b, huge, 5000, -1, 0, NULL, &d),
                     CLIENTSCAN_E_PARSE);
    assert_string_equal(d.text, "line 1: longer than 4096 bytes");
    free(huge);
    clientscan_list_builder_free(b);
}

static void test_text_forms_and_ids(void **state)
{
    (void)state;
    const char *text = "# comment\r\n"
                       "   \t\n" H64 "\r\n"                      /* bare hash, CRLF */
                       "  " H64B " , 87 , 00112233445566778899AABBCCDDEEFF \n" /* hex id */
                       "0000000000000000000000000000000000000000000000000000000000000001,,"
                       "12345, with comma\n"                                    /* text id */
                       "0000000000000000000000000000000000000000000000000000000000000002,30\n";
    clientscan_list_builder *b = NULL;
    assert_int_equal(clientscan_list_builder_new(&b, NULL), CLIENTSCAN_OK);
    size_t added = 0;
    assert_int_equal(clientscan_list_builder_add_text(b, text, strlen(text), -1, 50, &added, NULL),
                     CLIENTSCAN_OK);
    assert_int_equal(added, 3); /* quality 30 < 50 dropped */
    uint8_t *enc = NULL;
    size_t len;
    assert_int_equal(clientscan_list_builder_encode(b, NULL, 0, &enc, &len, NULL), CLIENTSCAN_OK);
    clientscan_list *list = NULL;
    assert_int_equal(open_with(enc, len, NULL, 0, 1, &list, NULL), CLIENTSCAN_OK);
    assert_int_equal(clientscan_list_count(list), 3);
    /* Sorted: ...01, b062..., f162... */
    clientscan_list_entry e;
    clientscan_list_entry_at(list, 0, &e);
    uint8_t want[16];
    crypto_generichash(want, 16, (const uint8_t *)"12345, with comma", 17, NULL, 0);
    assert_memory_equal(e.id, want, 16);
    clientscan_list_entry_at(list, 1, &e);
    const uint8_t hex_id[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
    assert_memory_equal(e.id, hex_id, 16);
    char hex[65];
    clientscan_pdq_to_hex(&e.hash, hex);
    assert_string_equal(hex, H64B);
    clientscan_list_entry_at(list, 2, &e);
    crypto_generichash(want, 16, e.hash.bytes, 32, NULL, 0);
    assert_memory_equal(e.id, want, 16);

    /* Export lines read back to the same list, byte for byte. */
    char *exported = ts_malloc(3 * 100 + 1);
    size_t used = 0;
    for (size_t i = 0; i < 3; i++) {
        clientscan_list_entry_at(list, i, &e);
        clientscan_list_entry_to_text(&e, exported + used);
        used += strlen(exported + used);
    }
    assert_int_equal(used, 3 * 99);
    clientscan_list_builder *b2 = NULL;
    assert_int_equal(clientscan_list_builder_new(&b2, NULL), CLIENTSCAN_OK);
    assert_int_equal(clientscan_list_builder_add_text(b2, exported, used, -1, 0, NULL, NULL),
                     CLIENTSCAN_OK);
    uint8_t *enc2 = NULL;
    size_t len2;
    /* Same header fields as b: name unnamed, sequence 0; created pinned. */
    clientscan_list_builder_set_created(b, 42);
    clientscan_list_builder_set_created(b2, 42);
    free(enc);
    assert_int_equal(clientscan_list_builder_encode(b, NULL, 0, &enc, &len, NULL), CLIENTSCAN_OK);
    assert_int_equal(clientscan_list_builder_encode(b2, NULL, 0, &enc2, &len2, NULL),
                     CLIENTSCAN_OK);
    assert_int_equal(len, len2);
    assert_memory_equal(enc, enc2, len);
    free(exported);
    free(enc);
    free(enc2);
    clientscan_list_close(list);
    clientscan_list_builder_free(b);
    clientscan_list_builder_free(b2);
}

/* Distinct hex lines of a file, counted independently of the importer. */
static size_t count_distinct_lines(const char *path, size_t *lines)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char (*all)[65] = malloc(8192 * sizeof *all);
    assert_non_null(all);
    size_t n = 0;
    char line[256];
    while (n < 8192 && fgets(line, sizeof line, f))
        if (strlen(line) >= 64) {
            for (int i = 0; i < 64; i++)
                line[i] = (char)(line[i] | 0x20); /* lowercase hex */
            memcpy(all[n], line, 64);
            all[n++][64] = '\0';
        }
    fclose(f);
    *lines = n;
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < i && strcmp(all[j], all[i]) != 0)
            j++;
        distinct += j == i;
    }
    free(all);
    return distinct;
}

static void test_threatexchange_files(void **state)
{
    (void)state;
    const char *dir = ts_vectors_dir("import of the reference's haystack.txt and needles.txt");
    if (!dir) {
        skip();
        return;
    }
    const char *files[] = {"haystack.txt", "needles.txt"};
    for (int f = 0; f < 2; f++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, files[f]);
        size_t len, lines;
        uint8_t *text = ts_read_file(path, &len);
        size_t distinct = count_distinct_lines(path, &lines);
        clientscan_list_builder *b = NULL;
        assert_int_equal(clientscan_list_builder_new(&b, NULL), CLIENTSCAN_OK);
        size_t added = 0;
        clientscan_detail d = {{0}};
        int rc = clientscan_list_builder_add_text(b, text, len, -1, 0, &added, &d);
        if (rc != CLIENTSCAN_OK)
            fail_msg("%s: %s", files[f], d.text);
        assert_int_equal(added, lines);
        assert_int_equal(clientscan_list_builder_count(b), distinct);
        assert_true(distinct >= (f == 0 ? 1000u : 50u));
        clientscan_list_builder_free(b);
        free(text);
    }
}

/* ------------------------------------------------------------ k-of-n */

static void test_k_of_n(void **state)
{
    (void)state;
    rng_state = 4242;
    enum { POOL = 60, P = 4 };
    clientscan_pdq pool[POOL];
    for (int i = 0; i < POOL; i++)
        random_hash(&pool[i]);
    /* Provider p holds hash i when bit p of the pattern for i is set. */
    unsigned member[POOL];
    for (int i = 0; i < POOL; i++)
        member[i] = (unsigned)(rng() % 16);
    for (unsigned k = 1; k <= P; k++) {
        clientscan_list_builder *b = NULL;
        assert_int_equal(clientscan_list_builder_new(&b, NULL), CLIENTSCAN_OK);
        for (int p = 0; p < P; p++)
            assert_int_equal(clientscan_list_builder_add_provider(b, "org", NULL, NULL),
                             CLIENTSCAN_OK);
        for (int p = 0; p < P; p++)
            for (int i = 0; i < POOL; i++)
                if (member[i] >> p & 1)
                    assert_int_equal(clientscan_list_builder_add(b, &pool[i], NULL, p, NULL),
                                     CLIENTSCAN_OK);
        size_t kept = 0;
        assert_int_equal(clientscan_list_builder_require(b, k, 0, &kept, NULL), CLIENTSCAN_OK);
        size_t expect = 0;
        for (int i = 0; i < POOL; i++)
            expect += (unsigned)__builtin_popcount(member[i]) >= k;
        assert_int_equal(kept, expect);
        uint8_t *enc = NULL;
        size_t len;
        assert_int_equal(clientscan_list_builder_encode(b, NULL, 0, &enc, &len, NULL),
                         CLIENTSCAN_OK);
        clientscan_list *list = NULL;
        assert_int_equal(open_with(enc, len, NULL, 0, 1, &list, NULL), CLIENTSCAN_OK);
        assert_int_equal(clientscan_list_provider_count(list), P);
        for (size_t e = 0; e < clientscan_list_count(list); e++) {
            clientscan_list_entry ent;
            clientscan_list_entry_at(list, e, &ent);
            int i = 0;
            while (i < POOL && memcmp(pool[i].bytes, ent.hash.bytes, 32) != 0)
                i++;
            assert_true(i < POOL);
            assert_int_equal(ent.providers, member[i]);
        }
        clientscan_list_close(list);
        free(enc);
        clientscan_list_builder_free(b);
    }
}

static void test_k_of_n_within_distance(void **state)
{
    (void)state;
    rng_state = 777;
    /* Provider 0 has A; provider 1 has A moved 5 bits; provider 2 has B
     * (unrelated). Exact: nothing in 2 providers. Within 5: both A and A'
     * are supported by {0, 1}; B only by {2}. */
    clientscan_pdq a, a2, bb;
    random_hash(&a);
    random_hash(&bb);
    a2 = a;
    for (int i = 0; i < 5; i++)
        a2.bytes[i * 3] ^= 0x10;
    for (int within = 0; within <= 5; within += 5) {
        clientscan_list_builder *b = NULL;
        assert_int_equal(clientscan_list_builder_new(&b, NULL), CLIENTSCAN_OK);
        for (int p = 0; p < 3; p++)
            assert_int_equal(clientscan_list_builder_add_provider(b, "org", NULL, NULL),
                             CLIENTSCAN_OK);
        clientscan_list_builder_add(b, &a, NULL, 0, NULL);
        clientscan_list_builder_add(b, &a2, NULL, 1, NULL);
        clientscan_list_builder_add(b, &bb, NULL, 2, NULL);
        size_t kept = 99;
        assert_int_equal(clientscan_list_builder_require(b, 2, within, &kept, NULL),
                         CLIENTSCAN_OK);
        assert_int_equal(kept, within ? 2 : 0);
        clientscan_detail d;
        assert_int_equal(clientscan_list_builder_require(b, 4, 0, NULL, &d),
                         CLIENTSCAN_E_INVALID_ARGUMENT);
        clientscan_list_builder_free(b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_and_digest),
        cmocka_unit_test(test_every_truncation_refused),
        cmocka_unit_test(test_every_flipped_byte_refused),
        cmocka_unit_test(test_trust),
        cmocka_unit_test(test_rollback),
        cmocka_unit_test(test_hostile_headers),
        cmocka_unit_test(test_provenance_checks),
        cmocka_unit_test(test_zero_entries_and_builder_rules),
        cmocka_unit_test(test_text_errors_name_lines),
        cmocka_unit_test(test_text_forms_and_ids),
        cmocka_unit_test(test_threatexchange_files),
        cmocka_unit_test(test_k_of_n),
        cmocka_unit_test(test_k_of_n_within_distance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
