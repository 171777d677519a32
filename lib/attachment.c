/* Attachment encryption: a fresh key per attachment, secretstream chunks,
 * header bound as additional data, constant memory for any size. Layout:
 * docs/report-format.md, "Attachment ciphertext". */
#include "attachment.h"

#include "keys.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK CLIENTSCAN_ATTACHMENT_CHUNK_BYTES
#define ABYTES crypto_secretstream_xchacha20poly1305_ABYTES
#define CT_CHUNK (CHUNK + ABYTES)
#define TAG_MESSAGE crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
#define TAG_FINAL crypto_secretstream_xchacha20poly1305_TAG_FINAL
#define SEALED_PLAIN_BYTES (1 + CLIENTSCAN_ATTACHMENT_KEY_BYTES)

_Static_assert(CLIENTSCAN_ATTACHMENT_KEY_BYTES == crypto_secretstream_xchacha20poly1305_KEYBYTES,
               "attachment key size");
_Static_assert(CS_ATTACHMENT_STREAM_HEADER_BYTES == crypto_secretstream_xchacha20poly1305_HEADERBYTES,
               "secretstream header size");
_Static_assert(CLIENTSCAN_ATTACHMENT_HEADER_BYTES ==
                   CS_ATTACHMENT_FIXED_BYTES + CS_ATTACHMENT_STREAM_HEADER_BYTES,
               "attachment header size");
_Static_assert(CLIENTSCAN_ATTACHMENT_CHUNK_OVERHEAD == ABYTES, "chunk overhead");
_Static_assert(CLIENTSCAN_ATTACHMENT_DIGEST_BYTES == crypto_generichash_BYTES, "digest size");
_Static_assert(CLIENTSCAN_SEALED_KEY_BYTES == crypto_box_SEALBYTES + SEALED_PLAIN_BYTES,
               "sealed key size");

/* ------------------------------------------------------------------ keys */

static int key_alloc(clientscan_attachment_key **out, clientscan_detail *detail)
{
    if (clientscan_init() != CLIENTSCAN_OK)
        return cs_fail(detail, CLIENTSCAN_E_CRYPTO, "libsodium initialisation failed");
    clientscan_attachment_key *key = sodium_malloc(sizeof *key);
    if (!key)
        return cs_fail(detail, CLIENTSCAN_E_NOMEM, "cannot allocate guarded memory for a key");
    *out = key;
    return CLIENTSCAN_OK;
}

int clientscan_attachment_key_new(clientscan_attachment_key **out, clientscan_detail *detail)
{
    if (!out)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "attachment key: NULL argument");
    *out = NULL;
    int rc = key_alloc(out, detail);
    if (rc == CLIENTSCAN_OK)
        crypto_secretstream_xchacha20poly1305_keygen((*out)->bytes);
    return rc;
}

int clientscan_attachment_key_from_bytes(const uint8_t bytes[CLIENTSCAN_ATTACHMENT_KEY_BYTES],
                                         clientscan_attachment_key **out,
                                         clientscan_detail *detail)
{
    if (!out || !bytes)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "attachment key: NULL argument");
    *out = NULL;
    int rc = key_alloc(out, detail);
    if (rc == CLIENTSCAN_OK)
        memcpy((*out)->bytes, bytes, CLIENTSCAN_ATTACHMENT_KEY_BYTES);
    return rc;
}

const uint8_t *clientscan_attachment_key_bytes(const clientscan_attachment_key *key)
{
    return key ? key->bytes : NULL;
}

void clientscan_attachment_key_free(clientscan_attachment_key *key)
{
    if (key)
        sodium_free(key); /* wipes before unmapping */
}

int clientscan_attachment_key_seal(const clientscan_attachment_key *key,
                                   const clientscan_public_key *recipient,
                                   uint8_t sealed[CLIENTSCAN_SEALED_KEY_BYTES],
                                   clientscan_detail *detail)
{
    if (!key || !recipient || !sealed)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "seal key: NULL argument");
    if (recipient->role != CLIENTSCAN_ROLE_USER)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT,
                       "seal key: recipient is a %s key, expected a user key",
                       clientscan_key_role_name(recipient->role));
    if (clientscan_init() != CLIENTSCAN_OK)
        return cs_fail(detail, CLIENTSCAN_E_CRYPTO, "libsodium initialisation failed");
    uint8_t *plain = sodium_malloc(SEALED_PLAIN_BYTES);
    if (!plain)
        return cs_fail(detail, CLIENTSCAN_E_NOMEM, "cannot allocate guarded memory");
    plain[0] = CS_SEALED_KEY_VERSION;
    memcpy(plain + 1, key->bytes, CLIENTSCAN_ATTACHMENT_KEY_BYTES);
    int ok = crypto_box_seal(sealed, plain, SEALED_PLAIN_BYTES, recipient->bytes) == 0;
    sodium_free(plain);
    if (!ok)
        return cs_fail(detail, CLIENTSCAN_E_CRYPTO, "seal key: crypto_box_seal failed");
    return CLIENTSCAN_OK;
}

int clientscan_attachment_key_unseal(const clientscan_secret_key *recipient, const void *sealed,
                                     size_t len, clientscan_attachment_key **out,
                                     clientscan_detail *detail)
{
    if (out)
        *out = NULL;
    if (!recipient || !sealed || !out)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "unseal key: NULL argument");
    if (clientscan_secret_key_role(recipient) != CLIENTSCAN_ROLE_USER)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT,
                       "unseal key: a %s key cannot open attachment keys, expected a user key",
                       clientscan_key_role_name(clientscan_secret_key_role(recipient)));
    if (len != CLIENTSCAN_SEALED_KEY_BYTES)
        return cs_fail(detail, CLIENTSCAN_E_CORRUPT, "sealed key is %zu bytes, expected %d", len,
                       CLIENTSCAN_SEALED_KEY_BYTES);
    if (clientscan_init() != CLIENTSCAN_OK)
        return cs_fail(detail, CLIENTSCAN_E_CRYPTO, "libsodium initialisation failed");
    clientscan_public_key pub;
    clientscan_secret_key_public(recipient, &pub);
    size_t sk_len;
    const uint8_t *sk = cs_secret_key_bytes(recipient, &sk_len);
    if (sk_len != crypto_box_SECRETKEYBYTES)
        return cs_fail(detail, CLIENTSCAN_E_INTERNAL, "unseal key: unexpected secret key size");
    uint8_t *plain = sodium_malloc(SEALED_PLAIN_BYTES);
    if (!plain)
        return cs_fail(detail, CLIENTSCAN_E_NOMEM, "cannot allocate guarded memory");
    int rc = CLIENTSCAN_OK;
    if (crypto_box_seal_open(plain, sealed, len, pub.bytes, sk) != 0)
        rc = cs_fail(detail, CLIENTSCAN_E_DECRYPT,
                     "sealed key: cannot open (sealed to another key, or tampered)");
    else if (plain[0] != CS_SEALED_KEY_VERSION)
        rc = cs_fail(detail, CLIENTSCAN_E_VERSION, "sealed key: version %u, expected %u",
                     plain[0], CS_SEALED_KEY_VERSION);
    else
        rc = clientscan_attachment_key_from_bytes(plain + 1, out, detail);
    sodium_free(plain);
    return rc;
}

/* ------------------------------------------------------------------ layout */

static void put_u32le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void fixed_header(uint8_t out[CS_ATTACHMENT_FIXED_BYTES])
{
    memcpy(out, CS_ATTACHMENT_MAGIC, CS_ATTACHMENT_MAGIC_BYTES);
    put_u32le(out + 8, CLIENTSCAN_ATTACHMENT_VERSION);
    put_u32le(out + 12, CHUNK);
}

int cs_attachment_parse_header(const uint8_t *data, size_t len, cs_attachment_header *out,
                               clientscan_detail *detail)
{
    size_t magic_len = len < CS_ATTACHMENT_MAGIC_BYTES ? len : CS_ATTACHMENT_MAGIC_BYTES;
    if (memcmp(data, CS_ATTACHMENT_MAGIC, magic_len) != 0)
        return cs_fail(detail, CLIENTSCAN_E_UNSUPPORTED_FORMAT,
                       "not a clientscan attachment (bad magic)");
    if (len < CLIENTSCAN_ATTACHMENT_HEADER_BYTES)
        return cs_fail(detail, CLIENTSCAN_E_CORRUPT,
                       "attachment truncated: %zu bytes, the header alone is %d", len,
                       CLIENTSCAN_ATTACHMENT_HEADER_BYTES);
    out->version = get_u32le(data + 8);
    if (out->version != CLIENTSCAN_ATTACHMENT_VERSION)
        return cs_fail(detail, CLIENTSCAN_E_VERSION, "attachment format version %u, expected %d",
                       out->version, CLIENTSCAN_ATTACHMENT_VERSION);
    out->chunk_bytes = get_u32le(data + 12);
    if (out->chunk_bytes != CHUNK)
        return cs_fail(detail, CLIENTSCAN_E_CORRUPT, "attachment chunk size %u, expected %u",
                       out->chunk_bytes, CHUNK);
    memcpy(out->stream_header, data + CS_ATTACHMENT_FIXED_BYTES,
           CS_ATTACHMENT_STREAM_HEADER_BYTES);
    return CLIENTSCAN_OK;
}

int clientscan_attachment_ciphertext_size(uint64_t plaintext_len, uint64_t *out)
{
    if (!out)
        return CLIENTSCAN_E_INVALID_ARGUMENT;
    uint64_t chunks = plaintext_len / CHUNK + (plaintext_len % CHUNK != 0);
    if (chunks == 0)
        chunks = 1; /* an empty attachment is one empty final chunk */
    uint64_t size;
    if (__builtin_mul_overflow(chunks, (uint64_t)ABYTES, &size) ||
        __builtin_add_overflow(size, plaintext_len, &size) ||
        __builtin_add_overflow(size, (uint64_t)CLIENTSCAN_ATTACHMENT_HEADER_BYTES, &size))
        return CLIENTSCAN_E_LIMIT;
    *out = size;
    return CLIENTSCAN_OK;
}

int cs_attachment_plaintext_size(size_t len, size_t *out, clientscan_detail *detail)
{
    if (len < CLIENTSCAN_ATTACHMENT_HEADER_BYTES + ABYTES)
        return cs_fail(detail, CLIENTSCAN_E_CORRUPT,
                       "attachment truncated: %zu bytes, no room for the final chunk", len);
    size_t body = len - CLIENTSCAN_ATTACHMENT_HEADER_BYTES;
    size_t full = body / CT_CHUNK, rest = body % CT_CHUNK;
    /* Every chunk but the last is full; the last holds 0..CHUNK bytes. */
    if (rest != 0 && rest < ABYTES)
        return cs_fail(detail, CLIENTSCAN_E_CORRUPT,
                       "attachment truncated: last chunk is %zu bytes, shorter than its MAC",
                       rest);
    size_t chunks = full + (rest != 0);
    *out = body - chunks * ABYTES;
    return CLIENTSCAN_OK;
}

/* ------------------------------------------------------------------ streams */

/* Reads until cap bytes or end of input. Returns 0, or -1 if the reader
 * failed or claimed more than it was offered. */
static int fill(clientscan_read_fn read, void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    *got = 0;
    while (*got < cap) {
        size_t n = 0;
        if (read(ctx, buf + *got, cap - *got, &n) != 0 || n > cap - *got)
            return -1;
        if (n == 0)
            break;
        *got += n;
    }
    return 0;
}

/* Scratch of one stream call: the secretstream state (key material) lives in
 * guarded memory; the two chunk buffers are wiped before being freed. */
typedef struct stream_ctx {
    crypto_secretstream_xchacha20poly1305_state *state;
    uint8_t *plain; /* CHUNK bytes */
    uint8_t *ct;    /* CT_CHUNK bytes */
    crypto_generichash_state hash;
} stream_ctx;

static int stream_begin(stream_ctx *s, clientscan_detail *detail)
{
    memset(s, 0, sizeof *s);
    if (clientscan_init() != CLIENTSCAN_OK)
        return cs_fail(detail, CLIENTSCAN_E_CRYPTO, "libsodium initialisation failed");
    s->state = sodium_malloc(sizeof *s->state);
    s->plain = malloc(CHUNK);
    s->ct = malloc(CT_CHUNK);
    if (!s->state || !s->plain || !s->ct)
        return cs_fail(detail, CLIENTSCAN_E_NOMEM, "cannot allocate attachment buffers");
    crypto_generichash_init(&s->hash, NULL, 0, crypto_generichash_BYTES);
    return CLIENTSCAN_OK;
}

static void stream_end(stream_ctx *s)
{
    if (s->state)
        sodium_free(s->state);
    if (s->plain) {
        sodium_memzero(s->plain, CHUNK);
        free(s->plain);
    }
    if (s->ct) {
        sodium_memzero(s->ct, CT_CHUNK);
        free(s->ct);
    }
    memset(s, 0, sizeof *s);
}

static int emit(stream_ctx *s, clientscan_write_fn write, void *ctx, const uint8_t *buf,
                size_t len, clientscan_detail *detail)
{
    crypto_generichash_update(&s->hash, buf, len);
    if (write(ctx, buf, len) != 0)
        return cs_fail(detail, CLIENTSCAN_E_IO, "attachment: writing the ciphertext failed");
    return CLIENTSCAN_OK;
}

int clientscan_encrypt_attachment_stream(const clientscan_attachment_key *key,
                                         clientscan_read_fn read, void *read_ctx,
                                         clientscan_write_fn write, void *write_ctx,
                                         uint8_t digest[CLIENTSCAN_ATTACHMENT_DIGEST_BYTES],
                                         uint64_t *total, clientscan_detail *detail)
{
    if (!key || !read || !write)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "encrypt attachment: NULL argument");
    stream_ctx s;
    int rc = stream_begin(&s, detail);
    if (rc != CLIENTSCAN_OK)
        goto done;
    uint8_t header[CLIENTSCAN_ATTACHMENT_HEADER_BYTES];
    fixed_header(header);
    if (crypto_secretstream_xchacha20poly1305_init_push(s.state, header + CS_ATTACHMENT_FIXED_BYTES,
                                                        key->bytes) != 0) {
        rc = cs_fail(detail, CLIENTSCAN_E_CRYPTO, "attachment: stream initialisation failed");
        goto done;
    }
    uint64_t written = sizeof header;
    if ((rc = emit(&s, write, write_ctx, header, sizeof header, detail)) != CLIENTSCAN_OK)
        goto done;
    size_t have;
    if (fill(read, read_ctx, s.plain, CHUNK, &have) != 0)
        goto read_failed;
    for (;;) {
        /* A full chunk is the last one only if the input ends right after
         * it: peek one byte to know which tag it gets. */
        uint8_t peek = 0;
        size_t peeked = 0;
        if (have == CHUNK && fill(read, read_ctx, &peek, 1, &peeked) != 0)
            goto read_failed;
        bool final = have < CHUNK || peeked == 0;
        unsigned long long ct_len;
        if (crypto_secretstream_xchacha20poly1305_push(
                s.state, s.ct, &ct_len, s.plain, have, header, CS_ATTACHMENT_FIXED_BYTES,
                final ? TAG_FINAL : TAG_MESSAGE) != 0) {
            rc = cs_fail(detail, CLIENTSCAN_E_CRYPTO, "attachment: encryption failed");
            goto done;
        }
        if ((rc = emit(&s, write, write_ctx, s.ct, (size_t)ct_len, detail)) != CLIENTSCAN_OK)
            goto done;
        written += ct_len;
        if (final)
            break;
        s.plain[0] = peek;
        if (fill(read, read_ctx, s.plain + 1, CHUNK - 1, &have) != 0)
            goto read_failed;
        have += 1;
    }
    if (digest)
        crypto_generichash_final(&s.hash, digest, CLIENTSCAN_ATTACHMENT_DIGEST_BYTES);
    if (total)
        *total = written;
    rc = CLIENTSCAN_OK;
    goto done;
read_failed:
    rc = cs_fail(detail, CLIENTSCAN_E_IO, "attachment: reading the plaintext failed");
done:
    stream_end(&s);
    return rc;
}

int clientscan_open_attachment_stream(const clientscan_attachment_key *key,
                                      clientscan_read_fn read, void *read_ctx,
                                      clientscan_write_fn write, void *write_ctx,
                                      uint8_t digest[CLIENTSCAN_ATTACHMENT_DIGEST_BYTES],
                                      clientscan_detail *detail)
{
    if (!key || !read || !write)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "open attachment: NULL argument");
    stream_ctx s;
    int rc = stream_begin(&s, detail);
    if (rc != CLIENTSCAN_OK)
        goto done;
    uint8_t header[CLIENTSCAN_ATTACHMENT_HEADER_BYTES];
    size_t got;
    if (fill(read, read_ctx, header, sizeof header, &got) != 0)
        goto read_failed;
    cs_attachment_header h;
    if ((rc = cs_attachment_parse_header(header, got, &h, detail)) != CLIENTSCAN_OK)
        goto done;
    crypto_generichash_update(&s.hash, header, sizeof header);
    if (crypto_secretstream_xchacha20poly1305_init_pull(s.state, h.stream_header, key->bytes) != 0) {
        rc = cs_fail(detail, CLIENTSCAN_E_DECRYPT, "attachment: invalid stream header");
        goto done;
    }
    for (uint64_t chunk = 0;; chunk++) {
        if (fill(read, read_ctx, s.ct, CT_CHUNK, &got) != 0)
            goto read_failed;
        if (got == 0) {
            rc = cs_fail(detail, CLIENTSCAN_E_CORRUPT,
                         "attachment truncated: ends after chunk %llu without a final chunk",
                         (unsigned long long)chunk);
            goto done;
        }
        if (got < ABYTES) {
            rc = cs_fail(detail, CLIENTSCAN_E_CORRUPT,
                         "attachment truncated: chunk %llu is %zu bytes, shorter than its MAC",
                         (unsigned long long)chunk, got);
            goto done;
        }
        crypto_generichash_update(&s.hash, s.ct, got);
        unsigned long long plain_len;
        unsigned char tag;
        if (crypto_secretstream_xchacha20poly1305_pull(s.state, s.plain, &plain_len, &tag, s.ct,
                                                       got, header, CS_ATTACHMENT_FIXED_BYTES) != 0) {
            rc = cs_fail(detail, CLIENTSCAN_E_DECRYPT,
                         "attachment chunk %llu: authentication failed "
                         "(wrong key, tampered or truncated)",
                         (unsigned long long)chunk);
            goto done;
        }
        if (tag != TAG_FINAL && (tag != TAG_MESSAGE || got < CT_CHUNK)) {
            /* Authentic but not what this format writes: refuse. */
            rc = cs_fail(detail, CLIENTSCAN_E_CORRUPT,
                         "attachment chunk %llu: unexpected tag %u for a %zu-byte chunk",
                         (unsigned long long)chunk, tag, got);
            goto done;
        }
        if (write(write_ctx, s.plain, (size_t)plain_len) != 0) {
            rc = cs_fail(detail, CLIENTSCAN_E_IO, "attachment: writing the plaintext failed");
            goto done;
        }
        if (tag == TAG_FINAL)
            break;
    }
    uint8_t extra;
    if (fill(read, read_ctx, &extra, 1, &got) != 0)
        goto read_failed;
    if (got != 0) {
        rc = cs_fail(detail, CLIENTSCAN_E_CORRUPT, "attachment: trailing bytes after the final chunk");
        goto done;
    }
    if (digest)
        crypto_generichash_final(&s.hash, digest, CLIENTSCAN_ATTACHMENT_DIGEST_BYTES);
    rc = CLIENTSCAN_OK;
    goto done;
read_failed:
    rc = cs_fail(detail, CLIENTSCAN_E_IO, "attachment: reading the ciphertext failed");
done:
    stream_end(&s);
    return rc;
}

/* ------------------------------------------------------------------ memory */

typedef struct mem_reader {
    const uint8_t *p;
    size_t left;
} mem_reader;

typedef struct mem_writer {
    uint8_t *p;
    size_t cap, used;
} mem_writer;

static int mem_read(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    mem_reader *r = ctx;
    size_t n = r->left < cap ? r->left : cap;
    if (n) { /* an empty input may be NULL, and NULL + 0 is undefined */
        memcpy(buf, r->p, n);
        r->p += n;
    }
    r->left -= n;
    *got = n;
    return 0;
}

static int mem_write(void *ctx, const uint8_t *buf, size_t len)
{
    mem_writer *w = ctx;
    if (len > w->cap - w->used)
        return -1; /* cannot happen: sizes are computed exactly */
    if (len)
        memcpy(w->p + w->used, buf, len);
    w->used += len;
    return 0;
}

int clientscan_encrypt_attachment(const clientscan_attachment_key *key, const void *data,
                                  size_t len, uint8_t **out, size_t *out_len,
                                  uint8_t digest[CLIENTSCAN_ATTACHMENT_DIGEST_BYTES],
                                  clientscan_detail *detail)
{
    if (out)
        *out = NULL;
    if (out_len)
        *out_len = 0;
    if (!key || !out || !out_len || (!data && len))
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "encrypt attachment: NULL argument");
    uint64_t size;
    if (clientscan_attachment_ciphertext_size(len, &size) != CLIENTSCAN_OK || size > SIZE_MAX)
        return cs_fail(detail, CLIENTSCAN_E_LIMIT, "attachment of %zu bytes is too large", len);
    mem_writer w = {malloc((size_t)size), (size_t)size, 0};
    if (!w.p)
        return cs_fail(detail, CLIENTSCAN_E_NOMEM, "cannot allocate %llu bytes of ciphertext",
                       (unsigned long long)size);
    mem_reader r = {data, len};
    int rc = clientscan_encrypt_attachment_stream(key, mem_read, &r, mem_write, &w, digest, NULL,
                                                  detail);
    if (rc == CLIENTSCAN_OK && w.used != w.cap)
        rc = cs_fail(detail, CLIENTSCAN_E_INTERNAL, "attachment: ciphertext size mismatch");
    if (rc != CLIENTSCAN_OK) {
        free(w.p);
        return rc;
    }
    *out = w.p;
    *out_len = w.used;
    return CLIENTSCAN_OK;
}

int clientscan_open_attachment(const clientscan_attachment_key *key, const void *ciphertext,
                               size_t len, uint8_t **out, size_t *out_len,
                               clientscan_detail *detail)
{
    if (out)
        *out = NULL;
    if (out_len)
        *out_len = 0;
    if (!key || !ciphertext || !out || !out_len)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "open attachment: NULL argument");
    cs_attachment_header h;
    size_t plain_len;
    int rc = cs_attachment_parse_header(ciphertext, len, &h, detail);
    if (rc == CLIENTSCAN_OK)
        rc = cs_attachment_plaintext_size(len, &plain_len, detail);
    if (rc != CLIENTSCAN_OK)
        return rc;
    mem_writer w = {malloc(plain_len ? plain_len : 1), plain_len, 0};
    if (!w.p)
        return cs_fail(detail, CLIENTSCAN_E_NOMEM, "cannot allocate %zu bytes of plaintext",
                       plain_len);
    mem_reader r = {ciphertext, len};
    rc = clientscan_open_attachment_stream(key, mem_read, &r, mem_write, &w, NULL, detail);
    if (rc == CLIENTSCAN_OK && w.used != plain_len)
        rc = cs_fail(detail, CLIENTSCAN_E_INTERNAL, "attachment: plaintext size mismatch");
    if (rc != CLIENTSCAN_OK) {
        sodium_memzero(w.p, w.used);
        free(w.p);
        return rc;
    }
    *out = w.p;
    *out_len = plain_len;
    return CLIENTSCAN_OK;
}
