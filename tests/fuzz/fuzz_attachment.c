/* Fuzzes the attachment header parser and decryption with hostile
 * ciphertexts, and checks encrypt -> open round trips of arbitrary data.
 * First input byte selects the mode; the rest is the payload. */
#include "attachment.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

typedef struct reader {
    const uint8_t *p;
    size_t left;
    size_t step; /* irregular reads exercise the chunk refill loop */
} reader;

static int read_some(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    reader *r = ctx;
    size_t n = r->step < cap ? r->step : cap;
    if (n > r->left)
        n = r->left;
    memcpy(buf, r->p, n);
    r->p += n;
    r->left -= n;
    *got = n;
    r->step = r->step * 7 % 70001 + 1;
    return 0;
}

static int discard(void *ctx, const uint8_t *buf, size_t len)
{
    (void)ctx;
    (void)buf;
    (void)len;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static clientscan_attachment_key *key;
    if (!key) {
        uint8_t bytes[CLIENTSCAN_ATTACHMENT_KEY_BYTES];
        memset(bytes, 0x5a, sizeof bytes);
        if (clientscan_attachment_key_from_bytes(bytes, &key, NULL) != CLIENTSCAN_OK)
            abort();
    }
    if (size == 0)
        return 0;
    const uint8_t mode = data[0];
    data++;
    size--;
    if (mode & 1) {
        /* Hostile ciphertext: header parser, in-memory and streaming open. */
        cs_attachment_header h;
        clientscan_detail d;
        (void)cs_attachment_parse_header(data, size, &h, &d);
        size_t plain_len;
        (void)cs_attachment_plaintext_size(size, &plain_len, &d);
        uint8_t *out = NULL;
        size_t out_len = 0;
        int rc = clientscan_open_attachment(key, data, size, &out, &out_len, &d);
        if ((rc == CLIENTSCAN_OK) != (out != NULL))
            abort();
        free(out);
        reader r = {data, size, (size_t)mode + 1};
        int rc2 = clientscan_open_attachment_stream(key, read_some, &r, discard, NULL, NULL, &d);
        if ((rc == CLIENTSCAN_OK) != (rc2 == CLIENTSCAN_OK))
            abort();
    } else {
        /* Round trip: whatever goes in comes back, in memory and streamed. */
        uint8_t *ct = NULL, *back = NULL;
        size_t ct_len, back_len;
        uint8_t digest[CLIENTSCAN_ATTACHMENT_DIGEST_BYTES], expect[sizeof digest];
        if (clientscan_encrypt_attachment(key, data, size, &ct, &ct_len, digest, NULL) != 0)
            abort();
        crypto_generichash(expect, sizeof expect, ct, ct_len, NULL, 0);
        if (memcmp(digest, expect, sizeof digest) != 0)
            abort();
        if (clientscan_open_attachment(key, ct, ct_len, &back, &back_len, NULL) != 0 ||
            back_len != size || (size && memcmp(back, data, size) != 0))
            abort();
        free(back);
        /* Any single flipped byte must be refused. */
        ct[(size_t)mode * 131 % ct_len] ^= 0x20;
        if (clientscan_open_attachment(key, ct, ct_len, &back, &back_len, NULL) == 0)
            abort();
        free(ct);
    }
    return 0;
}
