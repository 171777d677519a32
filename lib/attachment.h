/* Internal view of attachment encryption (docs/report-format.md,
 * "Attachment ciphertext"): header layout and parser, shared with the
 * scanner, the report module and the fuzz target. Never installed. */
#ifndef CLIENTSCAN_ATTACHMENT_H
#define CLIENTSCAN_ATTACHMENT_H

#include "internal.h"

#define CS_ATTACHMENT_MAGIC "\x89" "CSAT\r\n\x1a"
#define CS_ATTACHMENT_MAGIC_BYTES 8
/* Magic, version and chunk size: authenticated as additional data. */
#define CS_ATTACHMENT_FIXED_BYTES 16
#define CS_ATTACHMENT_STREAM_HEADER_BYTES 24
#define CS_SEALED_KEY_VERSION 1

struct clientscan_attachment_key {
    uint8_t bytes[CLIENTSCAN_ATTACHMENT_KEY_BYTES];
};

typedef struct cs_attachment_header {
    uint32_t version;
    uint32_t chunk_bytes;
    uint8_t stream_header[CS_ATTACHMENT_STREAM_HEADER_BYTES];
} cs_attachment_header;

/* Parses and checks the CLIENTSCAN_ATTACHMENT_HEADER_BYTES header at the
 * start of data[0..len). Errors: CORRUPT (shorter than a header, chunk size
 * not CLIENTSCAN_ATTACHMENT_CHUNK_BYTES), UNSUPPORTED_FORMAT (bad magic),
 * VERSION. */
int cs_attachment_parse_header(const uint8_t *data, size_t len, cs_attachment_header *out,
                               clientscan_detail *detail);

/* Plaintext size of a well-formed ciphertext of `len` bytes, from the chunk
 * layout alone (no decryption). Errors: CORRUPT (no room for a final chunk,
 * a last chunk shorter than its MAC). */
int cs_attachment_plaintext_size(size_t len, size_t *out, clientscan_detail *detail);

#endif
