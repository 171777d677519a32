/* Report slots: fixed-size sealed records that only the moderator can open
 * and that say nothing unless the attachment matched. Byte layout:
 * docs/report-format.md, "Report slot". */
#include "report.h"

#include "keys.h"

#include <sodium.h>
#include <string.h>
#include <time.h>

_Static_assert(CLIENTSCAN_REPORT_SLOT_BYTES == crypto_box_SEALBYTES + CLIENTSCAN_REPORT_PADDED_BYTES,
               "slot size");
/* sodium_pad always adds at least one byte: every record fits in one block. */
_Static_assert(CS_REPORT_MATCH_BYTES < CLIENTSCAN_REPORT_PADDED_BYTES, "record fits the padding");

/* Offsets inside a MATCH record. */
enum {
    OFF_VERSION = 0,
    OFF_KIND = 1,
    OFF_ALGORITHM = 2,
    OFF_VARIANT = 3,
    OFF_DISTANCE = 4, /* u16 LE */
    OFF_RESERVED = 6, /* u16, zero */
    OFF_DAY = 8,      /* u32 LE */
    OFF_SEQUENCE = 12, /* u64 LE */
    OFF_LIST_DIGEST = 20,
    OFF_ENTRY_ID = OFF_LIST_DIGEST + CLIENTSCAN_LIST_DIGEST_BYTES,
    OFF_KEY = OFF_ENTRY_ID + CLIENTSCAN_LIST_ID_BYTES,
    OFF_CT_DIGEST = OFF_KEY + CLIENTSCAN_ATTACHMENT_KEY_BYTES,
    OFF_END = OFF_CT_DIGEST + CLIENTSCAN_ATTACHMENT_DIGEST_BYTES
};
_Static_assert(OFF_END == CS_REPORT_MATCH_BYTES, "match record layout");

const char *clientscan_report_kind_name(clientscan_report_kind kind)
{
    switch (kind) {
    case CLIENTSCAN_REPORT_NO_MATCH: return "no-match";
    case CLIENTSCAN_REPORT_MATCH: return "match";
    case CLIENTSCAN_REPORT_UNSCANNED: return "unscanned";
    }
    return "unknown";
}

uint32_t cs_report_today(void)
{
    time_t now = time(NULL);
    return now < 0 ? 0 : (uint32_t)((uint64_t)now / 86400u);
}

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static int encode_match(const cs_report_match *m, uint8_t *rec, clientscan_detail *detail)
{
    if (!m->key || m->hash_algorithm < 1 || m->hash_algorithm > 255 || m->distance < 0 ||
        m->distance > 256 || (unsigned)m->variant >= CLIENTSCAN_DIHEDRAL_COUNT)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "report: match field out of range");
    rec[OFF_ALGORITHM] = (uint8_t)m->hash_algorithm;
    rec[OFF_VARIANT] = (uint8_t)m->variant;
    put_le(rec + OFF_DISTANCE, (uint64_t)m->distance, 2);
    put_le(rec + OFF_RESERVED, 0, 2);
    put_le(rec + OFF_DAY, m->day, 4);
    put_le(rec + OFF_SEQUENCE, m->list_sequence, 8);
    memcpy(rec + OFF_LIST_DIGEST, m->list_digest, CLIENTSCAN_LIST_DIGEST_BYTES);
    memcpy(rec + OFF_ENTRY_ID, m->entry_id, CLIENTSCAN_LIST_ID_BYTES);
    memcpy(rec + OFF_KEY, clientscan_attachment_key_bytes(m->key), CLIENTSCAN_ATTACHMENT_KEY_BYTES);
    memcpy(rec + OFF_CT_DIGEST, m->ciphertext_digest, CLIENTSCAN_ATTACHMENT_DIGEST_BYTES);
    return CLIENTSCAN_OK;
}

int cs_report_seal(clientscan_report_kind kind, const cs_report_match *match,
                   const uint8_t moderator_pk[CLIENTSCAN_PUBLIC_KEY_BYTES],
                   uint8_t slot[CLIENTSCAN_REPORT_SLOT_BYTES], clientscan_detail *detail)
{
    bool is_match = kind == CLIENTSCAN_REPORT_MATCH;
    if (!moderator_pk || !slot ||
        (kind != CLIENTSCAN_REPORT_NO_MATCH && !is_match && kind != CLIENTSCAN_REPORT_UNSCANNED) ||
        (match != NULL) != is_match)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "report: bad kind or match record");
    if (clientscan_init() != CLIENTSCAN_OK)
        return cs_fail(detail, CLIENTSCAN_E_CRYPTO, "libsodium initialisation failed");
    /* The record holds the attachment key: guarded memory, wiped on free. */
    uint8_t *rec = sodium_malloc(CLIENTSCAN_REPORT_PADDED_BYTES);
    if (!rec)
        return cs_fail(detail, CLIENTSCAN_E_NOMEM, "cannot allocate guarded memory");
    memset(rec, 0, CLIENTSCAN_REPORT_PADDED_BYTES);
    rec[OFF_VERSION] = CLIENTSCAN_REPORT_VERSION;
    rec[OFF_KIND] = (uint8_t)kind;
    size_t rec_len = CS_REPORT_SHORT_BYTES;
    int rc = CLIENTSCAN_OK;
    if (is_match) {
        rc = encode_match(match, rec, detail);
        rec_len = CS_REPORT_MATCH_BYTES;
    }
    size_t padded_len = 0;
    if (rc == CLIENTSCAN_OK &&
        sodium_pad(&padded_len, rec, rec_len, CLIENTSCAN_REPORT_PADDED_BYTES,
                   CLIENTSCAN_REPORT_PADDED_BYTES) != 0)
        rc = cs_fail(detail, CLIENTSCAN_E_INTERNAL, "report: padding failed");
    if (rc == CLIENTSCAN_OK && padded_len != CLIENTSCAN_REPORT_PADDED_BYTES)
        rc = cs_fail(detail, CLIENTSCAN_E_INTERNAL, "report: padded to %zu bytes", padded_len);
    if (rc == CLIENTSCAN_OK &&
        crypto_box_seal(slot, rec, CLIENTSCAN_REPORT_PADDED_BYTES, moderator_pk) != 0)
        rc = cs_fail(detail, CLIENTSCAN_E_CRYPTO, "report: crypto_box_seal failed");
    sodium_free(rec);
    if (rc != CLIENTSCAN_OK)
        memset(slot, 0, CLIENTSCAN_REPORT_SLOT_BYTES);
    return rc;
}

static int decode_record(const uint8_t *rec, size_t len, clientscan_report *out,
                         clientscan_detail *detail)
{
    if (len < CS_REPORT_SHORT_BYTES)
        return cs_fail(detail, CLIENTSCAN_E_CORRUPT, "report: record of %zu bytes is too short",
                       len);
    if (rec[OFF_VERSION] != CLIENTSCAN_REPORT_VERSION)
        return cs_fail(detail, CLIENTSCAN_E_VERSION, "report: record version %u, expected %d",
                       rec[OFF_VERSION], CLIENTSCAN_REPORT_VERSION);
    unsigned kind = rec[OFF_KIND];
    size_t expect;
    switch (kind) {
    case CLIENTSCAN_REPORT_NO_MATCH:
    case CLIENTSCAN_REPORT_UNSCANNED: expect = CS_REPORT_SHORT_BYTES; break;
    case CLIENTSCAN_REPORT_MATCH: expect = CS_REPORT_MATCH_BYTES; break;
    default: return cs_fail(detail, CLIENTSCAN_E_CORRUPT, "report: unknown record kind %u", kind);
    }
    if (len != expect)
        return cs_fail(detail, CLIENTSCAN_E_CORRUPT,
                       "report: %s record is %zu bytes, expected %zu",
                       clientscan_report_kind_name((clientscan_report_kind)kind), len, expect);
    out->version = rec[OFF_VERSION];
    out->kind = (clientscan_report_kind)kind;
    if (kind != CLIENTSCAN_REPORT_MATCH)
        return CLIENTSCAN_OK;
    if (rec[OFF_ALGORITHM] != CLIENTSCAN_HASH_ALGORITHM_PDQ)
        return cs_fail(detail, CLIENTSCAN_E_UNSUPPORTED_FORMAT, "report: hash algorithm %u unknown",
                       rec[OFF_ALGORITHM]);
    if (rec[OFF_VARIANT] >= CLIENTSCAN_DIHEDRAL_COUNT)
        return cs_fail(detail, CLIENTSCAN_E_CORRUPT, "report: dihedral variant %u out of range",
                       rec[OFF_VARIANT]);
    uint64_t distance = get_le(rec + OFF_DISTANCE, 2);
    if (distance > 256)
        return cs_fail(detail, CLIENTSCAN_E_CORRUPT, "report: distance %llu out of range",
                       (unsigned long long)distance);
    if (get_le(rec + OFF_RESERVED, 2) != 0)
        return cs_fail(detail, CLIENTSCAN_E_CORRUPT, "report: reserved bytes are not zero");
    out->hash_algorithm = rec[OFF_ALGORITHM];
    out->variant = (clientscan_dihedral)rec[OFF_VARIANT];
    out->distance = (int)distance;
    out->day = (uint32_t)get_le(rec + OFF_DAY, 4);
    out->list_sequence = get_le(rec + OFF_SEQUENCE, 8);
    memcpy(out->list_digest, rec + OFF_LIST_DIGEST, CLIENTSCAN_LIST_DIGEST_BYTES);
    memcpy(out->entry_id, rec + OFF_ENTRY_ID, CLIENTSCAN_LIST_ID_BYTES);
    memcpy(out->ciphertext_digest, rec + OFF_CT_DIGEST, CLIENTSCAN_ATTACHMENT_DIGEST_BYTES);
    return clientscan_attachment_key_from_bytes(rec + OFF_KEY, &out->key, detail);
}

int cs_report_decode(const uint8_t *padded, size_t len, clientscan_report *out,
                     clientscan_detail *detail)
{
    if (!out)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "report: NULL argument");
    memset(out, 0, sizeof *out);
    if (!padded || len != CLIENTSCAN_REPORT_PADDED_BYTES)
        return cs_fail(detail, CLIENTSCAN_E_CORRUPT, "report: padded record is %zu bytes, expected %d",
                       len, CLIENTSCAN_REPORT_PADDED_BYTES);
    size_t rec_len;
    if (sodium_unpad(&rec_len, padded, len, CLIENTSCAN_REPORT_PADDED_BYTES) != 0)
        return cs_fail(detail, CLIENTSCAN_E_CORRUPT, "report: invalid padding");
    int rc = decode_record(padded, rec_len, out, detail);
    if (rc != CLIENTSCAN_OK)
        clientscan_report_release(out);
    return rc;
}

int clientscan_open_report(const clientscan_secret_key *moderator, const void *slot, size_t len,
                           clientscan_report *out, clientscan_detail *detail)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!moderator || !slot || !out)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "open report: NULL argument");
    if (clientscan_secret_key_role(moderator) != CLIENTSCAN_ROLE_MODERATOR)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT,
                       "open report: a %s key cannot open reports, expected a moderator key",
                       clientscan_key_role_name(clientscan_secret_key_role(moderator)));
    if (len != CLIENTSCAN_REPORT_SLOT_BYTES)
        return cs_fail(detail, CLIENTSCAN_E_CORRUPT, "report slot is %zu bytes, expected %d", len,
                       CLIENTSCAN_REPORT_SLOT_BYTES);
    if (clientscan_init() != CLIENTSCAN_OK)
        return cs_fail(detail, CLIENTSCAN_E_CRYPTO, "libsodium initialisation failed");
    clientscan_public_key pub;
    clientscan_secret_key_public(moderator, &pub);
    size_t sk_len;
    const uint8_t *sk = cs_secret_key_bytes(moderator, &sk_len);
    if (sk_len != crypto_box_SECRETKEYBYTES)
        return cs_fail(detail, CLIENTSCAN_E_INTERNAL, "open report: unexpected secret key size");
    uint8_t *padded = sodium_malloc(CLIENTSCAN_REPORT_PADDED_BYTES);
    if (!padded)
        return cs_fail(detail, CLIENTSCAN_E_NOMEM, "cannot allocate guarded memory");
    int rc;
    if (crypto_box_seal_open(padded, slot, len, pub.bytes, sk) != 0)
        rc = cs_fail(detail, CLIENTSCAN_E_DECRYPT,
                     "report slot: cannot open (sealed to another key, or tampered)");
    else
        rc = cs_report_decode(padded, CLIENTSCAN_REPORT_PADDED_BYTES, out, detail);
    sodium_free(padded);
    return rc;
}

void clientscan_report_release(clientscan_report *report)
{
    if (!report)
        return;
    clientscan_attachment_key_free(report->key);
    sodium_memzero(report, sizeof *report);
}

int clientscan_report_open_attachment(const clientscan_report *report, const void *ciphertext,
                                      size_t len, uint8_t **out, size_t *out_len,
                                      clientscan_detail *detail)
{
    if (out)
        *out = NULL;
    if (out_len)
        *out_len = 0;
    if (!report || !ciphertext || !out || !out_len)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "review: NULL argument");
    if (report->kind != CLIENTSCAN_REPORT_MATCH || !report->key)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT,
                       "review: a %s report names no attachment",
                       clientscan_report_kind_name(report->kind));
    if (clientscan_init() != CLIENTSCAN_OK)
        return cs_fail(detail, CLIENTSCAN_E_CRYPTO, "libsodium initialisation failed");
    uint8_t digest[CLIENTSCAN_ATTACHMENT_DIGEST_BYTES];
    crypto_generichash(digest, sizeof digest, ciphertext, len, NULL, 0);
    if (sodium_memcmp(digest, report->ciphertext_digest, sizeof digest) != 0)
        return cs_fail(detail, CLIENTSCAN_E_DECRYPT,
                       "review: ciphertext digest differs from the report's "
                       "(another or altered attachment)");
    return clientscan_open_attachment(report->key, ciphertext, len, out, out_len, detail);
}
