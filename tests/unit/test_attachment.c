/* Attachment encryption: round trips at every chunk boundary, streaming in
 * pieces, digests, and refusal of wrong keys, tampering, truncation,
 * reordering and trailing bytes; sealed keys. */
#include "attachment.h"
#include "support.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define C CLIENTSCAN_ATTACHMENT_CHUNK_BYTES
#define H CLIENTSCAN_ATTACHMENT_HEADER_BYTES
#define A CLIENTSCAN_ATTACHMENT_CHUNK_OVERHEAD

static uint8_t *random_bytes(size_t n)
{
    uint8_t *p = ts_malloc(n ? n : 1);
    randombytes_buf(p, n);
    return p;
}

static clientscan_attachment_key *new_key(void)
{
    clientscan_attachment_key *k = NULL;
    assert_int_equal(clientscan_attachment_key_new(&k, NULL), CLIENTSCAN_OK);
    assert_non_null(k);
    return k;
}

static uint8_t *encrypt(const clientscan_attachment_key *k, const uint8_t *data, size_t len,
                        size_t *ct_len)
{
    uint8_t *ct = NULL;
    clientscan_detail d;
    int rc = clientscan_encrypt_attachment(k, data, len, &ct, ct_len, NULL, &d);
    if (rc != CLIENTSCAN_OK)
        fail_msg("encrypt: %s", d.text);
    return ct;
}

/* Expects opening to fail with `code` and to return nothing. */
static void expect_open_fails(const clientscan_attachment_key *k, const uint8_t *ct, size_t len,
                              int code)
{
    uint8_t *out = (uint8_t *)1;
    size_t out_len = 99;
    clientscan_detail d = {{0}};
    int rc = clientscan_open_attachment(k, ct, len, &out, &out_len, &d);
    if (rc != code)
        fail_msg("len %zu: expected %s, got %s (%s)", len, clientscan_strerror(code),
                 clientscan_strerror(rc), d.text);
    assert_null(out);
    assert_int_equal(out_len, 0);
    assert_true(d.text[0] != 0);
}

static void test_keys_are_fresh_and_wrap_bytes(void **state)
{
    (void)state;
    clientscan_attachment_key *a = new_key(), *b = new_key(), *c = NULL;
    assert_memory_not_equal(clientscan_attachment_key_bytes(a), clientscan_attachment_key_bytes(b),
                            CLIENTSCAN_ATTACHMENT_KEY_BYTES);
    assert_int_equal(clientscan_attachment_key_from_bytes(clientscan_attachment_key_bytes(a), &c, NULL),
                     CLIENTSCAN_OK);
    assert_memory_equal(clientscan_attachment_key_bytes(a), clientscan_attachment_key_bytes(c),
                        CLIENTSCAN_ATTACHMENT_KEY_BYTES);
    assert_null(clientscan_attachment_key_bytes(NULL));
    assert_int_equal(clientscan_attachment_key_new(NULL, NULL), CLIENTSCAN_E_INVALID_ARGUMENT);
    clientscan_attachment_key_free(a);
    clientscan_attachment_key_free(b);
    clientscan_attachment_key_free(c);
    clientscan_attachment_key_free(NULL);
}

static void test_round_trip_at_chunk_boundaries(void **state)
{
    (void)state;
    const size_t sizes[] = {0, 1, 17, C - 1, C, C + 1, 2 * C, 3 * C + 5};
    clientscan_attachment_key *k = new_key();
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        uint8_t *data = random_bytes(n);
        size_t ct_len;
        uint8_t digest[CLIENTSCAN_ATTACHMENT_DIGEST_BYTES], expect_digest[sizeof digest];
        uint8_t *ct = NULL;
        assert_int_equal(clientscan_encrypt_attachment(k, data, n, &ct, &ct_len, digest, NULL),
                         CLIENTSCAN_OK);
        /* Size: header + data + one MAC per chunk, at least one chunk. */
        size_t chunks = n == 0 ? 1 : (n + C - 1) / C;
        assert_int_equal(ct_len, H + n + chunks * A);
        uint64_t predicted;
        assert_int_equal(clientscan_attachment_ciphertext_size(n, &predicted), CLIENTSCAN_OK);
        assert_int_equal(predicted, ct_len);
        crypto_generichash(expect_digest, sizeof expect_digest, ct, ct_len, NULL, 0);
        assert_memory_equal(digest, expect_digest, sizeof digest);
        uint8_t *back = NULL;
        size_t back_len;
        assert_int_equal(clientscan_open_attachment(k, ct, ct_len, &back, &back_len, NULL),
                         CLIENTSCAN_OK);
        assert_int_equal(back_len, n);
        if (n)
            assert_memory_equal(back, data, n);
        free(back);
        free(ct);
        free(data);
    }
    clientscan_attachment_key_free(k);
}

static void test_size_arithmetic_is_inverse(void **state)
{
    (void)state;
    for (uint64_t n = 0; n < 4 * (uint64_t)C + 3; n += (n < 300 ? 1 : 997)) {
        uint64_t ct;
        size_t back;
        assert_int_equal(clientscan_attachment_ciphertext_size(n, &ct), CLIENTSCAN_OK);
        assert_int_equal(cs_attachment_plaintext_size((size_t)ct, &back, NULL), CLIENTSCAN_OK);
        assert_int_equal(back, n);
    }
    uint64_t out;
    assert_int_equal(clientscan_attachment_ciphertext_size(UINT64_MAX - 10, &out),
                     CLIENTSCAN_E_LIMIT);
}

static void test_same_plaintext_encrypts_differently(void **state)
{
    (void)state;
    clientscan_attachment_key *k = new_key();
    const uint8_t msg[] = "identical attachments must not look identical to the server";
    size_t l1, l2;
    uint8_t *c1 = encrypt(k, msg, sizeof msg, &l1), *c2 = encrypt(k, msg, sizeof msg, &l2);
    assert_int_equal(l1, l2);
    assert_memory_not_equal(c1 + H - CS_ATTACHMENT_STREAM_HEADER_BYTES,
                            c2 + H - CS_ATTACHMENT_STREAM_HEADER_BYTES, l1 - H + 24);
    free(c1);
    free(c2);
    clientscan_attachment_key_free(k);
}

/* --------------------------------------------------------------- streams */

typedef struct piece_reader {
    const uint8_t *p;
    size_t left;
    unsigned seed;
} piece_reader;

/* Short, irregular reads: 1..5000 bytes at a time. */
static int piece_read(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    piece_reader *r = ctx;
    r->seed = r->seed * 1103515245u + 12345u;
    size_t n = 1 + (r->seed >> 8) % 5000;
    if (n > cap)
        n = cap;
    if (n > r->left)
        n = r->left;
    memcpy(buf, r->p, n);
    r->p += n;
    r->left -= n;
    *got = n;
    return 0;
}

typedef struct grow_writer {
    uint8_t *p;
    size_t len, cap;
    int fail_after; /* fail the n-th call (0 = never) */
    int calls;
} grow_writer;

static int grow_write(void *ctx, const uint8_t *buf, size_t len)
{
    grow_writer *w = ctx;
    if (w->fail_after && ++w->calls >= w->fail_after)
        return -1;
    if (w->len + len > w->cap) {
        w->cap = (w->len + len) * 2;
        w->p = realloc(w->p, w->cap);
        assert_non_null(w->p);
    }
    memcpy(w->p + w->len, buf, len);
    w->len += len;
    return 0;
}

static void test_stream_in_pieces_matches_memory(void **state)
{
    (void)state;
    clientscan_attachment_key *k = new_key();
    const size_t n = 3 * C + 1234;
    uint8_t *data = random_bytes(n);
    piece_reader r = {data, n, 7};
    grow_writer w = {0};
    uint8_t digest[CLIENTSCAN_ATTACHMENT_DIGEST_BYTES], expect[sizeof digest], opened[sizeof digest];
    uint64_t total = 0;
    assert_int_equal(clientscan_encrypt_attachment_stream(k, piece_read, &r, grow_write, &w, digest,
                                                          &total, NULL),
                     CLIENTSCAN_OK);
    assert_int_equal(total, w.len);
    crypto_generichash(expect, sizeof expect, w.p, w.len, NULL, 0);
    assert_memory_equal(digest, expect, sizeof digest);
    /* Stream output opens in memory ... */
    uint8_t *back = NULL;
    size_t back_len;
    assert_int_equal(clientscan_open_attachment(k, w.p, w.len, &back, &back_len, NULL),
                     CLIENTSCAN_OK);
    assert_int_equal(back_len, n);
    assert_memory_equal(back, data, n);
    free(back);
    /* ... and as a stream read in pieces. */
    piece_reader r2 = {w.p, w.len, 99};
    grow_writer w2 = {0};
    assert_int_equal(clientscan_open_attachment_stream(k, piece_read, &r2, grow_write, &w2, opened,
                                                       NULL),
                     CLIENTSCAN_OK);
    assert_memory_equal(opened, expect, sizeof opened);
    assert_int_equal(w2.len, n);
    assert_memory_equal(w2.p, data, n);
    free(w2.p);
    free(w.p);
    free(data);
    clientscan_attachment_key_free(k);
}

/* A reader producing n pseudo-random bytes without holding them. */
typedef struct gen_reader {
    uint64_t left, x;
    crypto_generichash_state hash;
} gen_reader;

static int gen_read(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    gen_reader *g = ctx;
    size_t n = cap < g->left ? cap : (size_t)g->left;
    for (size_t i = 0; i < n; i++) {
        g->x ^= g->x << 13;
        g->x ^= g->x >> 7;
        g->x ^= g->x << 17;
        buf[i] = (uint8_t)g->x;
    }
    crypto_generichash_update(&g->hash, buf, n);
    g->left -= n;
    *got = n;
    return 0;
}

static int hash_write(void *ctx, const uint8_t *buf, size_t len)
{
    return crypto_generichash_update(ctx, buf, len);
}

static void test_large_stream_round_trip(void **state)
{
    (void)state;
    clientscan_attachment_key *k = new_key();
    const uint64_t n = 16u << 20; /* 16 MiB through 64 KiB buffers */
    gen_reader g = {.left = n, .x = 0x9e3779b97f4a7c15ull};
    crypto_generichash_init(&g.hash, NULL, 0, 32);
    grow_writer w = {0};
    uint64_t total;
    assert_int_equal(clientscan_encrypt_attachment_stream(k, gen_read, &g, grow_write, &w, NULL,
                                                          &total, NULL),
                     CLIENTSCAN_OK);
    uint64_t expect_total;
    assert_int_equal(clientscan_attachment_ciphertext_size(n, &expect_total), CLIENTSCAN_OK);
    assert_int_equal(total, expect_total);
    uint8_t plain_hash[32], back_hash[32];
    crypto_generichash_final(&g.hash, plain_hash, sizeof plain_hash);
    piece_reader r = {w.p, w.len, 3};
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, 32);
    assert_int_equal(clientscan_open_attachment_stream(k, piece_read, &r, hash_write, &h, NULL,
                                                       NULL),
                     CLIENTSCAN_OK);
    crypto_generichash_final(&h, back_hash, sizeof back_hash);
    assert_memory_equal(plain_hash, back_hash, sizeof plain_hash);
    free(w.p);
    clientscan_attachment_key_free(k);
}

static int failing_read(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    (void)ctx;
    (void)buf;
    (void)cap;
    *got = 0;
    return -1;
}

static int lying_read(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    (void)ctx;
    (void)buf;
    *got = cap + 1;
    return 0;
}

static void test_callback_failures_are_io_errors(void **state)
{
    (void)state;
    clientscan_attachment_key *k = new_key();
    grow_writer w = {0};
    assert_int_equal(clientscan_encrypt_attachment_stream(k, failing_read, NULL, grow_write, &w,
                                                          NULL, NULL, NULL),
                     CLIENTSCAN_E_IO);
    assert_int_equal(clientscan_encrypt_attachment_stream(k, lying_read, NULL, grow_write, &w,
                                                          NULL, NULL, NULL),
                     CLIENTSCAN_E_IO);
    uint8_t data[100] = {1};
    piece_reader r = {data, sizeof data, 1};
    grow_writer failing = {.fail_after = 2};
    assert_int_equal(clientscan_encrypt_attachment_stream(k, piece_read, &r, grow_write, &failing,
                                                          NULL, NULL, NULL),
                     CLIENTSCAN_E_IO);
    assert_int_equal(clientscan_open_attachment_stream(k, failing_read, NULL, grow_write, &w,
                                                       NULL, NULL),
                     CLIENTSCAN_E_IO);
    free(w.p);
    free(failing.p);
    clientscan_attachment_key_free(k);
}

/* --------------------------------------------------------------- refusals */

static void test_wrong_key_is_refused(void **state)
{
    (void)state;
    clientscan_attachment_key *k = new_key(), *other = new_key();
    size_t n = C + 10, ct_len;
    uint8_t *data = random_bytes(n);
    uint8_t *ct = encrypt(k, data, n, &ct_len);
    expect_open_fails(other, ct, ct_len, CLIENTSCAN_E_DECRYPT);
    free(ct);
    free(data);
    clientscan_attachment_key_free(k);
    clientscan_attachment_key_free(other);
}

static void test_tampered_header_and_body_are_refused(void **state)
{
    (void)state;
    clientscan_attachment_key *k = new_key();
    size_t n = 2 * C + 77, ct_len;
    uint8_t *data = random_bytes(n);
    uint8_t *ct = encrypt(k, data, n, &ct_len);
    struct {
        size_t offset;
        int code;
    } cases[] = {
        {0, CLIENTSCAN_E_UNSUPPORTED_FORMAT},  /* magic */
        {7, CLIENTSCAN_E_UNSUPPORTED_FORMAT},
        {8, CLIENTSCAN_E_VERSION},             /* version */
        {11, CLIENTSCAN_E_VERSION},
        {12, CLIENTSCAN_E_CORRUPT},            /* chunk size */
        {16, CLIENTSCAN_E_DECRYPT},            /* stream header */
        {H - 1, CLIENTSCAN_E_DECRYPT},
        {H, CLIENTSCAN_E_DECRYPT},             /* first chunk's tag byte */
        {H + 1000, CLIENTSCAN_E_DECRYPT},      /* first chunk body */
        {H + C + A + 5, CLIENTSCAN_E_DECRYPT}, /* second chunk */
        {0, 0},
    };
    cases[10].offset = ct_len - 1; /* last MAC byte */
    cases[10].code = CLIENTSCAN_E_DECRYPT;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ct[cases[i].offset] ^= 0x01;
        expect_open_fails(k, ct, ct_len, cases[i].code);
        ct[cases[i].offset] ^= 0x01;
    }
    /* The untouched ciphertext still opens: every refusal came from the flip. */
    uint8_t *back = NULL;
    size_t back_len;
    assert_int_equal(clientscan_open_attachment(k, ct, ct_len, &back, &back_len, NULL),
                     CLIENTSCAN_OK);
    free(back);
    free(ct);
    free(data);
    clientscan_attachment_key_free(k);
}

static void test_truncation_is_refused(void **state)
{
    (void)state;
    clientscan_attachment_key *k = new_key();
    size_t n = 2 * C, ct_len; /* two full chunks: the first boundary is a real cut point */
    uint8_t *data = random_bytes(n);
    uint8_t *ct = encrypt(k, data, n, &ct_len);
    /* Cut at and around the header and chunk boundaries, and at random points. */
    size_t cuts[64];
    size_t nc = 0;
    const size_t marks[] = {0, 1, 8, 15, 16, H - 1, H, H + 1, H + A - 1, H + A,
                            H + C + A - 1, H + C + A, H + C + A + 1, ct_len - 1};
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++)
        cuts[nc++] = marks[i];
    while (nc < sizeof cuts / sizeof cuts[0])
        cuts[nc++] = randombytes_uniform((uint32_t)ct_len);
    for (size_t i = 0; i < nc; i++) {
        uint8_t *out = (uint8_t *)1;
        size_t out_len = 1;
        clientscan_detail d;
        int rc = clientscan_open_attachment(k, ct, cuts[i], &out, &out_len, &d);
        if (rc == CLIENTSCAN_OK)
            fail_msg("truncated to %zu of %zu bytes but opened", cuts[i], ct_len);
        assert_null(out);
        assert_int_equal(out_len, 0);
        assert_true(rc == CLIENTSCAN_E_CORRUPT || rc == CLIENTSCAN_E_DECRYPT);
    }
    /* Cut exactly after the first (authentic, non-final) chunk: named as truncation. */
    clientscan_detail d;
    uint8_t *out;
    size_t out_len;
    assert_int_equal(clientscan_open_attachment(k, ct, H + C + A, &out, &out_len, &d),
                     CLIENTSCAN_E_CORRUPT);
    assert_non_null(strstr(d.text, "truncated"));
    /* The same through the streaming API. */
    piece_reader r = {ct, H + C + A, 5};
    grow_writer w = {0};
    assert_int_equal(clientscan_open_attachment_stream(k, piece_read, &r, grow_write, &w, NULL, &d),
                     CLIENTSCAN_E_CORRUPT);
    assert_non_null(strstr(d.text, "truncated"));
    free(w.p);
    free(ct);
    free(data);
    clientscan_attachment_key_free(k);
}

static void test_trailing_bytes_and_reordering_are_refused(void **state)
{
    (void)state;
    clientscan_attachment_key *k = new_key();
    size_t n = 3 * C, ct_len;
    uint8_t *data = random_bytes(n);
    uint8_t *ct = encrypt(k, data, n, &ct_len);
    /* Appending anything after the final chunk. */
    uint8_t *longer = ts_malloc(ct_len + A + 1);
    memcpy(longer, ct, ct_len);
    memset(longer + ct_len, 0, A + 1);
    expect_open_fails(k, longer, ct_len + 1, CLIENTSCAN_E_CORRUPT);
    expect_open_fails(k, longer, ct_len + A, CLIENTSCAN_E_CORRUPT);
    piece_reader r = {longer, ct_len + 1, 11};
    grow_writer w = {0};
    assert_int_equal(clientscan_open_attachment_stream(k, piece_read, &r, grow_write, &w, NULL, NULL),
                     CLIENTSCAN_E_CORRUPT);
    free(w.p);
    free(longer);
    /* Swapping chunks 1 and 2, and dropping chunk 1. */
    uint8_t *swapped = ts_malloc(ct_len);
    memcpy(swapped, ct, ct_len);
    memcpy(swapped + H + (C + A), ct + H + 2 * (C + A), C + A);
    memcpy(swapped + H + 2 * (C + A), ct + H + (C + A), C + A);
    expect_open_fails(k, swapped, ct_len, CLIENTSCAN_E_DECRYPT);
    memcpy(swapped, ct, H + (C + A));
    memcpy(swapped + H + (C + A), ct + H + 2 * (C + A), C + A);
    expect_open_fails(k, swapped, ct_len - (C + A), CLIENTSCAN_E_DECRYPT);
    free(swapped);
    free(ct);
    free(data);
    clientscan_attachment_key_free(k);
}

static void test_header_parser(void **state)
{
    (void)state;
    clientscan_attachment_key *k = new_key();
    size_t ct_len;
    uint8_t *ct = encrypt(k, (const uint8_t *)"x", 1, &ct_len);
    cs_attachment_header h;
    assert_int_equal(cs_attachment_parse_header(ct, ct_len, &h, NULL), CLIENTSCAN_OK);
    assert_int_equal(h.version, CLIENTSCAN_ATTACHMENT_VERSION);
    assert_int_equal(h.chunk_bytes, C);
    assert_memory_equal(h.stream_header, ct + 16, CS_ATTACHMENT_STREAM_HEADER_BYTES);
    /* Layout as documented: magic, u32 LE version, u32 LE chunk size. */
    assert_memory_equal(ct, "\x89" "CSAT\r\n\x1a", 8);
    assert_int_equal(ct[8] | ct[9] << 8 | ct[10] << 16 | (uint32_t)ct[11] << 24, 1);
    assert_int_equal(ct[12] | ct[13] << 8 | ct[14] << 16 | (uint32_t)ct[15] << 24, 65536);
    clientscan_detail d;
    assert_int_equal(cs_attachment_parse_header(ct, 3, &h, &d), CLIENTSCAN_E_CORRUPT);
    assert_int_equal(cs_attachment_parse_header((const uint8_t *)"GIF89a", 6, &h, &d),
                     CLIENTSCAN_E_UNSUPPORTED_FORMAT);
    assert_int_equal(cs_attachment_parse_header(ct, 0, &h, &d), CLIENTSCAN_E_CORRUPT);
    expect_open_fails(k, ct, 0, CLIENTSCAN_E_CORRUPT);
    expect_open_fails(k, (const uint8_t *)"\xff\xd8\xff\xe0 a JPEG, not an attachment", 30,
                      CLIENTSCAN_E_UNSUPPORTED_FORMAT);
    free(ct);
    clientscan_attachment_key_free(k);
}

static void test_invalid_arguments(void **state)
{
    (void)state;
    clientscan_attachment_key *k = new_key();
    uint8_t *out;
    size_t out_len;
    assert_int_equal(clientscan_encrypt_attachment(NULL, "a", 1, &out, &out_len, NULL, NULL),
                     CLIENTSCAN_E_INVALID_ARGUMENT);
    assert_int_equal(clientscan_encrypt_attachment(k, NULL, 1, &out, &out_len, NULL, NULL),
                     CLIENTSCAN_E_INVALID_ARGUMENT);
    assert_int_equal(clientscan_open_attachment(k, NULL, 1, &out, &out_len, NULL),
                     CLIENTSCAN_E_INVALID_ARGUMENT);
    assert_int_equal(clientscan_encrypt_attachment_stream(k, NULL, NULL, grow_write, NULL, NULL,
                                                          NULL, NULL),
                     CLIENTSCAN_E_INVALID_ARGUMENT);
    /* NULL data is fine for an empty attachment. */
    assert_int_equal(clientscan_encrypt_attachment(k, NULL, 0, &out, &out_len, NULL, NULL),
                     CLIENTSCAN_OK);
    free(out);
    clientscan_attachment_key_free(k);
}

/* --------------------------------------------------------------- sealed keys */

static void test_sealed_key_round_trip_and_refusals(void **state)
{
    (void)state;
    clientscan_public_key user_pub, other_pub, mod_pub;
    clientscan_secret_key *user = NULL, *other = NULL, *mod = NULL;
    assert_int_equal(clientscan_keypair_generate(CLIENTSCAN_ROLE_USER, &user_pub, &user, NULL), 0);
    assert_int_equal(clientscan_keypair_generate(CLIENTSCAN_ROLE_USER, &other_pub, &other, NULL), 0);
    assert_int_equal(clientscan_keypair_generate(CLIENTSCAN_ROLE_MODERATOR, &mod_pub, &mod, NULL), 0);
    clientscan_attachment_key *k = new_key(), *back = NULL;
    uint8_t sealed[CLIENTSCAN_SEALED_KEY_BYTES];
    assert_int_equal(clientscan_attachment_key_seal(k, &user_pub, sealed, NULL), CLIENTSCAN_OK);
    assert_int_equal(clientscan_attachment_key_unseal(user, sealed, sizeof sealed, &back, NULL),
                     CLIENTSCAN_OK);
    assert_memory_equal(clientscan_attachment_key_bytes(k), clientscan_attachment_key_bytes(back),
                        CLIENTSCAN_ATTACHMENT_KEY_BYTES);
    clientscan_attachment_key_free(back);
    back = (clientscan_attachment_key *)1;
    assert_int_equal(clientscan_attachment_key_unseal(other, sealed, sizeof sealed, &back, NULL),
                     CLIENTSCAN_E_DECRYPT);
    assert_null(back);
    assert_int_equal(clientscan_attachment_key_unseal(mod, sealed, sizeof sealed, &back, NULL),
                     CLIENTSCAN_E_INVALID_ARGUMENT);
    assert_int_equal(clientscan_attachment_key_unseal(user, sealed, sizeof sealed - 1, &back, NULL),
                     CLIENTSCAN_E_CORRUPT);
    for (size_t i = 0; i < sizeof sealed; i += 20) {
        sealed[i] ^= 0x40;
        assert_int_equal(clientscan_attachment_key_unseal(user, sealed, sizeof sealed, &back, NULL),
                         CLIENTSCAN_E_DECRYPT);
        sealed[i] ^= 0x40;
    }
    /* Sealing refuses a key of another role. */
    assert_int_equal(clientscan_attachment_key_seal(k, &mod_pub, sealed, NULL),
                     CLIENTSCAN_E_INVALID_ARGUMENT);
    /* An unknown version inside an authentic seal. */
    uint8_t plain[1 + CLIENTSCAN_ATTACHMENT_KEY_BYTES] = {2};
    assert_int_equal(crypto_box_seal(sealed, plain, sizeof plain, user_pub.bytes), 0);
    assert_int_equal(clientscan_attachment_key_unseal(user, sealed, sizeof sealed, &back, NULL),
                     CLIENTSCAN_E_VERSION);
    clientscan_attachment_key_free(k);
    clientscan_secret_key_free(user);
    clientscan_secret_key_free(other);
    clientscan_secret_key_free(mod);
}

int main(void)
{
    if (clientscan_init() != CLIENTSCAN_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_are_fresh_and_wrap_bytes),
        cmocka_unit_test(test_round_trip_at_chunk_boundaries),
        cmocka_unit_test(test_size_arithmetic_is_inverse),
        cmocka_unit_test(test_same_plaintext_encrypts_differently),
        cmocka_unit_test(test_stream_in_pieces_matches_memory),
        cmocka_unit_test(test_large_stream_round_trip),
        cmocka_unit_test(test_callback_failures_are_io_errors),
        cmocka_unit_test(test_wrong_key_is_refused),
        cmocka_unit_test(test_tampered_header_and_body_are_refused),
        cmocka_unit_test(test_truncation_is_refused),
        cmocka_unit_test(test_trailing_bytes_and_reordering_are_refused),
        cmocka_unit_test(test_header_parser),
        cmocka_unit_test(test_invalid_arguments),
        cmocka_unit_test(test_sealed_key_round_trip_and_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
