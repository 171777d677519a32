/* Internal view of report slots (docs/report-format.md, "Report slot"):
 * sealing for the scanner, record decoding for open and the fuzz target.
 * Never installed. */
#ifndef CLIENTSCAN_REPORT_H
#define CLIENTSCAN_REPORT_H

#include "internal.h"

/* Record sizes before padding. */
#define CS_REPORT_SHORT_BYTES 2   /* version, kind: NO_MATCH and UNSCANNED */
#define CS_REPORT_MATCH_BYTES 132 /* see docs/report-format.md */

/* What a MATCH record carries; nothing else can go into a slot. */
typedef struct cs_report_match {
    unsigned hash_algorithm;
    uint8_t list_digest[CLIENTSCAN_LIST_DIGEST_BYTES];
    uint64_t list_sequence;
    uint8_t entry_id[CLIENTSCAN_LIST_ID_BYTES];
    int distance;                /* 0..256 */
    clientscan_dihedral variant; /* 0..7 */
    uint32_t day;
    const clientscan_attachment_key *key;
    uint8_t ciphertext_digest[CLIENTSCAN_ATTACHMENT_DIGEST_BYTES];
} cs_report_match;

/* Seals a record of `kind` to the moderator's X25519 public key. match must
 * be non-NULL exactly for CLIENTSCAN_REPORT_MATCH. The same padding and
 * sealing work is done for every kind.
 * Errors: INVALID_ARGUMENT (bad kind, match missing or field out of
 * range), CRYPTO, NOMEM. */
int cs_report_seal(clientscan_report_kind kind, const cs_report_match *match,
                   const uint8_t moderator_pk[CLIENTSCAN_PUBLIC_KEY_BYTES],
                   uint8_t slot[CLIENTSCAN_REPORT_SLOT_BYTES], clientscan_detail *detail);

/* Decodes an opened slot: padded[0..len) must be exactly
 * CLIENTSCAN_REPORT_PADDED_BYTES. On failure *out is zeroed.
 * Errors: as clientscan_open_report() minus DECRYPT. */
int cs_report_decode(const uint8_t *padded, size_t len, clientscan_report *out,
                     clientscan_detail *detail);

/* Today as days since 1970-01-01 UTC (the only time a report carries). */
uint32_t cs_report_today(void);

#endif
