/* Internal view of keys for library modules that sign, seal or open
 * (hash lists, report slots, attachments). Never installed. */
#ifndef CLIENTSCAN_KEYS_H
#define CLIENTSCAN_KEYS_H

#include "internal.h"

/* Raw secret bytes of a key, valid while the key lives, in guarded memory:
 *   authority: the 64-byte libsodium Ed25519 secret key (seed || public),
 *              for crypto_sign_detached;
 *   moderator/user: the 32-byte X25519 secret key, for crypto_box_seal_open
 *              and crypto_box_*.
 * *len receives 64 or 32. Never copy these bytes out of guarded memory. */
const uint8_t *cs_secret_key_bytes(const clientscan_secret_key *secret, size_t *len);

/* Key id: first CLIENTSCAN_KEY_ID_BYTES of BLAKE2b-256(public key). */
void cs_key_id(const uint8_t pk[CLIENTSCAN_PUBLIC_KEY_BYTES], uint8_t id[CLIENTSCAN_KEY_ID_BYTES]);

/* Ed25519 detached signature of msg by an authority key.
 * Errors: INVALID_ARGUMENT (not an authority key), CRYPTO. */
int cs_secret_key_sign(const clientscan_secret_key *secret, const uint8_t *msg, size_t len,
                       uint8_t sig[64], clientscan_detail *detail);

/* Writes data to path atomically (temporary file created with `mode` in the
 * same directory, fsync, rename, directory fsync). Errors: IO. */
int cs_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode,
                         clientscan_detail *detail);

#endif
