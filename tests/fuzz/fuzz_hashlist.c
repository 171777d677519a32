/* Fuzzes the binary hash-list reader: every length and count is hostile.
 * A list that opens must keep its invariants (sorted, searchable, the index
 * agreeing with a linear scan) and must verify once signed. */
#include "hashlist.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static clientscan_secret_key *authority;
    static clientscan_public_key authority_pub;
    if (!authority && clientscan_keypair_generate(CLIENTSCAN_ROLE_AUTHORITY, &authority_pub,
                                                  &authority, NULL) != CLIENTSCAN_OK)
        abort();
    clientscan_list_params p;
    memset(&p, 0, sizeof p);
    p.allow_unsigned = 1;
    p.max_entries = 1u << 16;
    clientscan_list *list = NULL;
    clientscan_detail d;
    int rc = clientscan_list_open_memory(data, size, &p, &list, &d);
    if (rc != CLIENTSCAN_OK) {
        if (list)
            abort();
        /* Signing checks structure the same way: it must refuse too. */
        uint8_t *out = NULL;
        size_t out_len = 0;
        if (size < (1u << 20) &&
            clientscan_list_add_signature(data, size, authority, &out, &out_len, &d) ==
                CLIENTSCAN_OK) {
            /* Only signature-count and trust problems may differ. */
            clientscan_list *again = NULL;
            clientscan_list_params trusted = p;
            trusted.authorities = &authority_pub;
            trusted.authority_count = 1;
            trusted.allow_unsigned = 0;
            trusted.max_entries = 0;
            int rc2 = clientscan_list_open_memory(out, out_len, &trusted, &again, &d);
            if (rc2 == CLIENTSCAN_OK && rc != CLIENTSCAN_E_LIMIT)
                abort();
            clientscan_list_close(again);
            free(out);
        }
        return 0;
    }
    size_t n = clientscan_list_count(list);
    for (size_t i = 1; i < n; i++) {
        clientscan_list_entry a, b;
        clientscan_list_entry_at(list, i - 1, &a);
        clientscan_list_entry_at(list, i, &b);
        if (memcmp(a.hash.bytes, b.hash.bytes, CLIENTSCAN_PDQ_BYTES) >= 0)
            abort();
    }
    if (n > 0) {
        clientscan_list_entry e;
        clientscan_list_entry_at(list, n / 2, &e);
        clientscan_match_params mp = CLIENTSCAN_MATCH_PARAMS_DEFAULT;
        size_t f1 = 0, f2 = 0;
        clientscan_match m1[4], m2[4];
        mp.method = CLIENTSCAN_MATCH_INDEX;
        if (clientscan_list_search(list, &e.hash, &mp, m1, 4, &f1, NULL) != CLIENTSCAN_OK)
            abort();
        mp.method = CLIENTSCAN_MATCH_LINEAR;
        if (clientscan_list_search(list, &e.hash, &mp, m2, 4, &f2, NULL) != CLIENTSCAN_OK)
            abort();
        if (f1 != f2 || f1 < 1 || m1[0].distance != 0 || m1[0].entry != n / 2)
            abort();
    }
    /* Signed by a trusted key, the same list verifies with the same digest. */
    uint8_t *out = NULL;
    size_t out_len = 0;
    if (clientscan_list_add_signature(data, size, authority, &out, &out_len, &d) ==
        CLIENTSCAN_OK) {
        clientscan_list *signed_list = NULL;
        clientscan_list_params trusted;
        memset(&trusted, 0, sizeof trusted);
        trusted.authorities = &authority_pub;
        trusted.authority_count = 1;
        if (clientscan_list_open_memory(out, out_len, &trusted, &signed_list, &d) !=
                CLIENTSCAN_OK ||
            memcmp(clientscan_list_digest(signed_list), clientscan_list_digest(list),
                   CLIENTSCAN_LIST_DIGEST_BYTES) != 0)
            abort();
        clientscan_list_close(signed_list);
        free(out);
    } else if (clientscan_list_signature_count(list) < CLIENTSCAN_LIST_MAX_SIGNATURES) {
        abort();
    }
    clientscan_list_close(list);
    return 0;
}
