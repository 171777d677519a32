/* Fuzzes public and secret key file parsing. Accepted keys must be
 * self-consistent: the id is the hash of the public key, and a secret key's
 * public half is what the file stated. */
#include "keys.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    clientscan_public_key pub;
    clientscan_detail d;
    int pub_rc = clientscan_public_key_parse(data, size, 0, &pub, &d);
    if (pub_rc == CLIENTSCAN_OK) {
        uint8_t id[CLIENTSCAN_KEY_ID_BYTES];
        cs_key_id(pub.bytes, id);
        if (memcmp(id, pub.id, sizeof id) != 0)
            abort();
    }
    clientscan_secret_key *sk = NULL;
    int rc = clientscan_secret_key_parse(data, size, 0, &sk, &d);
    if (rc == CLIENTSCAN_OK) {
        if (!sk || pub_rc == CLIENTSCAN_OK)
            abort(); /* one text cannot be both kinds of key file */
        clientscan_public_key half;
        clientscan_secret_key_public(sk, &half);
        uint8_t id[CLIENTSCAN_KEY_ID_BYTES];
        cs_key_id(half.bytes, id);
        if (memcmp(id, half.id, sizeof id) != 0)
            abort();
        size_t len = 0;
        (void)cs_secret_key_bytes(sk, &len);
        if (len != (half.role == CLIENTSCAN_ROLE_AUTHORITY ? 64u : 32u))
            abort();
    } else if (sk) {
        abort();
    }
    clientscan_secret_key_free(sk);
    return 0;
}
