/* Fuzzes report slot opening: raw slots (size and seal checks), and
 * arbitrary padded records sealed to the fuzzer's moderator key, so the
 * unpadding and record decoding behind the seal are reached too. */
#include "report.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static clientscan_secret_key *moderator;
    static clientscan_public_key moderator_pub;
    if (!moderator &&
        clientscan_keypair_generate(CLIENTSCAN_ROLE_MODERATOR, &moderator_pub, &moderator, NULL) != 0)
        abort();
    clientscan_report r;
    clientscan_detail d;
    /* 1. The bytes as a slot. */
    int rc = clientscan_open_report(moderator, data, size, &r, &d);
    if (rc != CLIENTSCAN_OK && r.key != NULL)
        abort();
    clientscan_report_release(&r);
    /* 2. The bytes as a padded record, decoded directly and behind a seal. */
    uint8_t padded[CLIENTSCAN_REPORT_PADDED_BYTES];
    memset(padded, 0, sizeof padded);
    memcpy(padded, data, size < sizeof padded ? size : sizeof padded);
    int direct = cs_report_decode(padded, sizeof padded, &r, &d);
    if (direct == CLIENTSCAN_OK && r.kind == CLIENTSCAN_REPORT_MATCH && !r.key)
        abort();
    clientscan_report_release(&r);
    uint8_t slot[CLIENTSCAN_REPORT_SLOT_BYTES];
    if (crypto_box_seal(slot, padded, sizeof padded, moderator_pub.bytes) != 0)
        abort();
    if (clientscan_open_report(moderator, slot, sizeof slot, &r, &d) != direct)
        abort();
    clientscan_report_release(&r);
    (void)cs_report_decode(data, size, &r, &d);
    clientscan_report_release(&r);
    return 0;
}
