/*
 * clientscan.h — client-side perceptual-hash scanning before end-to-end
 * encryption. This is the only installed header of libclientscan.
 *
 * Conventions (shared by every function below):
 *  - Every function that can fail returns an int: CLIENTSCAN_OK (0) on
 *    success, a negative clientscan_error code on failure. Use
 *    clientscan_strerror() for a fixed English description of the code.
 *  - Functions that can fail take an optional `clientscan_detail *detail`
 *    (may be NULL). On failure it is filled with a one-line, NUL-terminated
 *    reason that names what went wrong ("PNG: IHDR: CRC error"). It never
 *    contains secret keys or plaintext. No global "last error" exists; the
 *    library is thread-safe as documented per handle.
 *  - Ownership: whoever calls a *_new / *_open / *_decode_* function owns the
 *    result and releases it with the matching *_free / *_close / *_release.
 *  - No global mutable state. clientscan_init() (idempotent, thread-safe)
 *    initialises libsodium; every entry point that needs it calls it.
 */
#ifndef CLIENTSCAN_H
#define CLIENTSCAN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && defined(CLIENTSCAN_BUILDING)
#define CLIENTSCAN_API __attribute__((visibility("default")))
#else
#define CLIENTSCAN_API
#endif

/* ======================================================================
 * Version, errors, initialisation
 * ====================================================================== */

#define CLIENTSCAN_VERSION_MAJOR 0
#define CLIENTSCAN_VERSION_MINOR 1
#define CLIENTSCAN_VERSION_PATCH 0
#define CLIENTSCAN_VERSION_STRING "0.1.0"

/* Returns CLIENTSCAN_VERSION_STRING of the library actually linked. */
CLIENTSCAN_API const char *clientscan_version(void);

typedef enum clientscan_error {
    CLIENTSCAN_OK = 0,
    CLIENTSCAN_E_INVALID_ARGUMENT = -1,  /* NULL pointer, bad enum, bad size */
    CLIENTSCAN_E_NOMEM = -2,             /* allocation failed */
    CLIENTSCAN_E_IO = -3,                /* open/read/write failed (errno in detail) */
    CLIENTSCAN_E_UNSUPPORTED_FORMAT = -4,/* recognised but unsupported, or unknown bytes */
    CLIENTSCAN_E_CORRUPT = -5,           /* malformed, truncated or inconsistent input */
    CLIENTSCAN_E_LIMIT = -6,             /* input exceeds a configured limit */
    CLIENTSCAN_E_PARSE = -7,             /* text input (hex, list line) not well-formed */
    CLIENTSCAN_E_CRYPTO = -8,            /* libsodium init failed / key unusable */
    CLIENTSCAN_E_SIGNATURE = -9,         /* no valid signature from a trusted key */
    CLIENTSCAN_E_ROLLBACK = -10,         /* list sequence lower than one accepted before */
    CLIENTSCAN_E_VERSION = -11,          /* unknown format version */
    CLIENTSCAN_E_DECRYPT = -12,          /* authentication failed: wrong key or tampered */
    CLIENTSCAN_E_PERMISSION = -13,       /* secret file readable by group/others */
    CLIENTSCAN_E_REFUSED = -14,          /* the scanner's policy refuses this attachment */
    CLIENTSCAN_E_INTERNAL = -15          /* a bug: please report */
} clientscan_error;

/* Fixed description of an error code ("corrupt input"); never NULL. */
CLIENTSCAN_API const char *clientscan_strerror(int code);

#define CLIENTSCAN_DETAIL_BYTES 256
typedef struct clientscan_detail {
    char text[CLIENTSCAN_DETAIL_BYTES];
} clientscan_detail;

/* Initialises libsodium. Idempotent and thread-safe.
 * Returns CLIENTSCAN_OK or CLIENTSCAN_E_CRYPTO. */
CLIENTSCAN_API int clientscan_init(void);

/* ======================================================================
 * Images: decoding PNG and JPEG to 8-bit grey or RGB pixels
 * ====================================================================== */

typedef enum clientscan_format {
    CLIENTSCAN_FORMAT_UNKNOWN = 0,
    CLIENTSCAN_FORMAT_PNG,
    CLIENTSCAN_FORMAT_JPEG,
    /* Recognised by magic bytes, refused with E_UNSUPPORTED_FORMAT: */
    CLIENTSCAN_FORMAT_GIF,
    CLIENTSCAN_FORMAT_WEBP,
    CLIENTSCAN_FORMAT_HEIC,
    CLIENTSCAN_FORMAT_AVIF,
    CLIENTSCAN_FORMAT_TIFF,
    CLIENTSCAN_FORMAT_BMP,
    CLIENTSCAN_FORMAT_ICO,
    CLIENTSCAN_FORMAT_JPEG2000,
    CLIENTSCAN_FORMAT_JPEGXL,
    CLIENTSCAN_FORMAT_PDF,
    CLIENTSCAN_FORMAT_COUNT
} clientscan_format;

/* Short lowercase name of a format ("png", "webp", "unknown"). */
CLIENTSCAN_API const char *clientscan_format_name(clientscan_format format);

/* Identifies a format by its magic bytes (never by file name). Needs at most
 * CLIENTSCAN_SNIFF_BYTES bytes; fewer yield UNKNOWN when ambiguous. */
#define CLIENTSCAN_SNIFF_BYTES 32
CLIENTSCAN_API clientscan_format clientscan_sniff(const void *data, size_t len);

#define CLIENTSCAN_DEFAULT_MAX_PIXELS 100000000ULL /* 100 megapixels */
#define CLIENTSCAN_DEFAULT_MAX_SIDE 65535u
#define CLIENTSCAN_DEFAULT_MAX_FILE_BYTES (512ULL * 1024 * 1024)

/* Decoding limits and options. Zero-initialise for the defaults. */
typedef struct clientscan_decode_params {
    uint64_t max_pixels;     /* width*height; 0 = CLIENTSCAN_DEFAULT_MAX_PIXELS */
    uint32_t max_side;       /* per side; 0 = CLIENTSCAN_DEFAULT_MAX_SIDE */
    uint64_t max_file_bytes; /* file decode only; 0 = CLIENTSCAN_DEFAULT_MAX_FILE_BYTES */
    /* JPEG only: if > 0, decode at the smallest of the DCT scales 1/8,
     * 1/4, 1/2 that keeps both sides >= min_side, else full size. (The
     * other eighths have no SIMD IDCT in libjpeg-turbo: 3/8 decodes slower
     * than 1/2, 5/8 slower than full size.) 0 = full size (exact, what the
     * reference hashes). */
    uint32_t jpeg_min_side;
} clientscan_decode_params;

/* jpeg_min_side of "fast mode", chosen from measured distances to exact
 * hashes (docs/speed.md): the smallest that kept every one of 1,721 JPEGs
 * of quality >= 80 within 10 bits of its exact hash (p99 2 bits); at 384
 * one reached 16. Fast hashes are for a sending client's own scan, never
 * for building lists. */
#define CLIENTSCAN_FAST_MIN_SIDE 512u

/* A decoded image. Plain data, owned by the caller after a successful decode;
 * release with clientscan_image_release(). */
typedef struct clientscan_image {
    uint32_t width;
    uint32_t height;
    uint32_t channels;        /* 1 (grey) or 3 (RGB, interleaved) */
    size_t stride;            /* bytes per row, >= width * channels */
    uint8_t *pixels;          /* height * stride bytes */
    clientscan_format format; /* PNG or JPEG */
    uint32_t source_width;    /* before any JPEG DCT scaling */
    uint32_t source_height;
    int exif_orientation;     /* 1..8 from EXIF, 0 if absent; NOT applied */
} clientscan_image;

/* Decodes PNG or JPEG bytes. Conventions (those of the PDQ reference, so that
 * hashes match shared lists): PNG palette expanded, 16-bit samples scaled to 8
 * with rounding, alpha dropped (not blended), grey kept as one channel with
 * 1/2/4-bit grey expanded to 0..255; JPEG default libjpeg-turbo decode (ISLOW
 * IDCT, fancy upsampling), CMYK/YCCK converted by libjpeg-turbo.
 * Limits are checked before pixel memory is allocated.
 * On failure `*out` is zeroed and nothing needs releasing.
 * Errors: INVALID_ARGUMENT, UNSUPPORTED_FORMAT, CORRUPT, LIMIT, NOMEM. */
CLIENTSCAN_API int clientscan_decode_memory(const void *data, size_t len,
                                            const clientscan_decode_params *params,
                                            clientscan_image *out,
                                            clientscan_detail *detail);

/* As clientscan_decode_memory(), reading the whole file first (bounded by
 * max_file_bytes). Additional error: IO. */
CLIENTSCAN_API int clientscan_decode_file(const char *path,
                                          const clientscan_decode_params *params,
                                          clientscan_image *out,
                                          clientscan_detail *detail);

/* Frees the pixels and zeroes the struct. Safe on a zeroed struct. */
CLIENTSCAN_API void clientscan_image_release(clientscan_image *image);

/* ======================================================================
 * PDQ: Meta's 256-bit perceptual hash, bit-exact with the reference
 * ====================================================================== */

#define CLIENTSCAN_PDQ_BYTES 32     /* 256 bits */
#define CLIENTSCAN_PDQ_HEX_BYTES 65 /* 64 hex digits + NUL */
#define CLIENTSCAN_PDQ_MATCH_THRESHOLD 31 /* reference: match if distance <= 31 */
#define CLIENTSCAN_PDQ_MIN_QUALITY 50     /* below: unreliable for matching */

/* A PDQ hash. bytes[] is the reference's hex text decoded in order: bytes[0]
 * holds the first two hex digits (DCT row 15, columns 15..8), bytes[31] the
 * last two (row 0, columns 7..0). This is also the byte order in hash lists. */
typedef struct clientscan_pdq {
    uint8_t bytes[CLIENTSCAN_PDQ_BYTES];
} clientscan_pdq;

/* The eight dihedral transforms, in the reference's order. Hashes of the
 * transformed image are derived from the original's DCT, as the reference
 * does, not by hashing a rotated image. */
typedef enum clientscan_dihedral {
    CLIENTSCAN_DIHEDRAL_ORIGINAL = 0,
    CLIENTSCAN_DIHEDRAL_ROT90,
    CLIENTSCAN_DIHEDRAL_ROT180,
    CLIENTSCAN_DIHEDRAL_ROT270,
    CLIENTSCAN_DIHEDRAL_FLIPX,
    CLIENTSCAN_DIHEDRAL_FLIPY,
    CLIENTSCAN_DIHEDRAL_FLIPPLUS1,
    CLIENTSCAN_DIHEDRAL_FLIPMINUS1,
    CLIENTSCAN_DIHEDRAL_COUNT
} clientscan_dihedral;

/* "original", "rot90", ..., "flipminus1"; "unknown" when out of range. */
CLIENTSCAN_API const char *clientscan_dihedral_name(clientscan_dihedral d);

typedef enum clientscan_pdq_mode {
    /* Full resolution: what python-threatexchange, the Java port and shared
     * hash lists use. The default. */
    CLIENTSCAN_PDQ_MODE_FULL = 0,
    /* The reference CLI (pdq-photo-hasher): images with a side >
     * CLIENTSCAN_CLI512_SIDE are first resized to exactly that square by
     * nearest neighbour. */
    CLIENTSCAN_PDQ_MODE_CLI512 = 1
} clientscan_pdq_mode;

/* The side CLIENTSCAN_PDQ_MODE_CLI512 resizes to. */
#define CLIENTSCAN_CLI512_SIDE 512u

typedef struct clientscan_pdq_result {
    /* hash[CLIENTSCAN_DIHEDRAL_ORIGINAL] always; the other seven only when
     * requested (all zero otherwise). */
    clientscan_pdq hash[CLIENTSCAN_DIHEDRAL_COUNT];
    int quality; /* 0..100; images under 5 pixels a side get quality 0 and an
                    all-zero hash, as in the reference */
} clientscan_pdq_result;

/* Hashes a decoded image. `dihedral` != 0 also computes the seven variants.
 * Thread-safe (no shared state). Errors: INVALID_ARGUMENT, LIMIT, NOMEM. */
CLIENTSCAN_API int clientscan_pdq_hash_image(const clientscan_image *image,
                                             clientscan_pdq_mode mode, int dihedral,
                                             clientscan_pdq_result *out,
                                             clientscan_detail *detail);

/* Incremental hashing for decoders that produce rows top to bottom: memory
 * stays O(width * height / 128) instead of a float copy of the image, and
 * the result is bit-identical to clientscan_pdq_hash_image() in full mode.
 * One hasher per image and per thread. */
typedef struct clientscan_pdq_hasher clientscan_pdq_hasher;

/* Errors: INVALID_ARGUMENT (a side of 0 or over 1,048,576 pixels), NOMEM. */
CLIENTSCAN_API int clientscan_pdq_hasher_new(uint32_t width, uint32_t height,
                                             clientscan_pdq_hasher **out,
                                             clientscan_detail *detail);

/* Feeds the next row: `width` pixels of `channels` (1 grey, 3 RGB) bytes.
 * Errors: INVALID_ARGUMENT (bad channels, more rows than height, finished). */
CLIENTSCAN_API int clientscan_pdq_hasher_push(clientscan_pdq_hasher *hasher, const uint8_t *row,
                                              uint32_t channels);

/* After exactly `height` rows: the hash (and the 7 variants if dihedral).
 * Errors: INVALID_ARGUMENT (missing rows, already finished). */
CLIENTSCAN_API int clientscan_pdq_hasher_finish(clientscan_pdq_hasher *hasher, int dihedral,
                                                clientscan_pdq_result *out,
                                                clientscan_detail *detail);

/* Frees a hasher; NULL is allowed. */
CLIENTSCAN_API void clientscan_pdq_hasher_free(clientscan_pdq_hasher *hasher);

/* Number of differing bits, 0..256. */
CLIENTSCAN_API int clientscan_pdq_distance(const clientscan_pdq *a, const clientscan_pdq *b);

/* Writes 64 lowercase hex digits and a NUL into hex[CLIENTSCAN_PDQ_HEX_BYTES]. */
CLIENTSCAN_API void clientscan_pdq_to_hex(const clientscan_pdq *hash,
                                          char hex[CLIENTSCAN_PDQ_HEX_BYTES]);

/* Parses exactly 64 hex digits (either case) from text[0..len). Anything else
 * (length, non-hex byte) is E_PARSE with the offending position in detail. */
CLIENTSCAN_API int clientscan_pdq_from_hex(const char *text, size_t len, clientscan_pdq *out,
                                           clientscan_detail *detail);

/* ----------------------------------------------------------------------
 * Decode + hash in one call, and batches across threads
 * -------------------------------------------------------------------- */

typedef struct clientscan_hash_params {
    clientscan_decode_params decode; /* limits; decode.jpeg_min_side > 0 = fast mode */
    clientscan_pdq_mode mode;        /* CLIENTSCAN_PDQ_MODE_FULL unless told otherwise */
    int dihedral;                    /* != 0: also the 7 variants */
    /* != 0: decode on the calling thread while one more thread hashes the
     * rows already decoded, for images of CLIENTSCAN_PIPELINE_MIN_PIXELS or
     * more. Same result, lower latency when a core is idle (one image at a
     * time, e.g. on send); no gain when every core is busy (batches). */
    int pipeline;
} clientscan_hash_params;

/* Below this, starting a thread costs more than overlapping saves. */
#define CLIENTSCAN_PIPELINE_MIN_PIXELS (512u * 512u)

typedef struct clientscan_hash_info {
    clientscan_format format;
    uint32_t width, height;               /* pixels hashed (after DCT scaling) */
    uint32_t source_width, source_height; /* as stored in the file */
    int exif_orientation;                 /* 1..8, 0 if absent; not applied */
} clientscan_hash_info;

/* Decodes image bytes and PDQ-hashes them. params may be NULL (exact, full
 * mode, default limits, no variants); info may be NULL. Thread-safe.
 * Errors: those of clientscan_decode_memory() and clientscan_pdq_hash_image(). */
CLIENTSCAN_API int clientscan_hash_memory(const void *data, size_t len,
                                          const clientscan_hash_params *params,
                                          clientscan_pdq_result *out, clientscan_hash_info *info,
                                          clientscan_detail *detail);

/* As clientscan_hash_memory() on a file's contents. Additional error: IO. */
CLIENTSCAN_API int clientscan_hash_file(const char *path, const clientscan_hash_params *params,
                                        clientscan_pdq_result *out, clientscan_hash_info *info,
                                        clientscan_detail *detail);

/* One item of a batch: set path (or data/len), read the rest afterwards. */
typedef struct clientscan_hash_item {
    const char *path;     /* file to hash, or NULL to use data/len */
    const void *data;
    size_t len;
    int rc;               /* CLIENTSCAN_OK or the item's error */
    clientscan_detail detail;
    clientscan_pdq_result result;
    clientscan_hash_info info;
} clientscan_hash_item;

/* Hashes n items with `threads` worker threads (0 = one per online CPU).
 * Each item gets its own rc; the call itself fails only on INVALID_ARGUMENT
 * or when no thread can be started (NOMEM). */
CLIENTSCAN_API int clientscan_hash_batch(clientscan_hash_item *items, size_t n,
                                         const clientscan_hash_params *params, unsigned threads);

/* ======================================================================
 * Hash lists, keys and matching (issue: signed hash lists)
 * ====================================================================== */

/* ---------------------------------------------------------------- keys
 * Three roles, each a libsodium key pair:
 *   authority  Ed25519 (crypto_sign): signs hash lists.
 *   moderator  X25519 (crypto_box): opens sealed report slots.
 *   user       X25519 (crypto_box): receives attachment keys.
 * A key id is the first CLIENTSCAN_KEY_ID_BYTES bytes of BLAKE2b-256 of the
 * 32-byte public key; it tags list signatures and names keys in messages.
 * Key files are small versioned text files (hashdb/FORMAT.md, "Key files").
 * Public keys are plain values; secret keys live only in sodium_malloc'd
 * memory behind the opaque clientscan_secret_key, wiped when freed. */

typedef enum clientscan_key_role {
    CLIENTSCAN_ROLE_AUTHORITY = 1,
    CLIENTSCAN_ROLE_MODERATOR = 2,
    CLIENTSCAN_ROLE_USER = 3
} clientscan_key_role;

#define CLIENTSCAN_PUBLIC_KEY_BYTES 32 /* Ed25519 and X25519 public keys */
#define CLIENTSCAN_KEY_ID_BYTES 8
#define CLIENTSCAN_KEY_ID_HEX_BYTES 17 /* 16 hex digits + NUL */
#define CLIENTSCAN_KEY_FILE_MAX_BYTES 4096 /* larger key files are refused */

/* A public key: plain data, copy freely. id is always consistent with bytes
 * for values produced by this library. */
typedef struct clientscan_public_key {
    clientscan_key_role role;
    uint8_t bytes[CLIENTSCAN_PUBLIC_KEY_BYTES];
    uint8_t id[CLIENTSCAN_KEY_ID_BYTES];
} clientscan_public_key;

/* Opaque secret key (role, secret bytes, public key) in guarded memory. */
typedef struct clientscan_secret_key clientscan_secret_key;

/* "authority", "moderator", "user"; "unknown" when out of range. */
CLIENTSCAN_API const char *clientscan_key_role_name(clientscan_key_role role);

/* Parses a role name as printed by clientscan_key_role_name().
 * Errors: INVALID_ARGUMENT (NULL), PARSE (unknown name). */
CLIENTSCAN_API int clientscan_key_role_from_name(const char *name, clientscan_key_role *out,
                                                 clientscan_detail *detail);

/* Writes the key id as 16 lowercase hex digits and a NUL. */
CLIENTSCAN_API void clientscan_key_id_to_hex(const uint8_t id[CLIENTSCAN_KEY_ID_BYTES],
                                             char hex[CLIENTSCAN_KEY_ID_HEX_BYTES]);

/* Builds a public key value from raw key bytes (e.g. an authority key
 * compiled into an app), computing its id. For the authority role the bytes
 * must be a valid Ed25519 point.
 * Errors: INVALID_ARGUMENT (NULL, bad role), CRYPTO (not a usable key). */
CLIENTSCAN_API int
clientscan_public_key_from_bytes(clientscan_key_role role,
                                 const uint8_t bytes[CLIENTSCAN_PUBLIC_KEY_BYTES],
                                 clientscan_public_key *out, clientscan_detail *detail);

/* Generates a fresh key pair of `role` with libsodium's CSPRNG.
 * On success *secret is owned by the caller (clientscan_secret_key_free) and
 * *pub (if non-NULL) holds the public half. On failure *secret is NULL.
 * Errors: INVALID_ARGUMENT, CRYPTO, NOMEM. */
CLIENTSCAN_API int clientscan_keypair_generate(clientscan_key_role role,
                                               clientscan_public_key *pub,
                                               clientscan_secret_key **secret,
                                               clientscan_detail *detail);

/* Wipes and frees a secret key. NULL is a no-op. */
CLIENTSCAN_API void clientscan_secret_key_free(clientscan_secret_key *secret);

/* Role and public half of a secret key. */
CLIENTSCAN_API clientscan_key_role clientscan_secret_key_role(const clientscan_secret_key *secret);
CLIENTSCAN_API void clientscan_secret_key_public(const clientscan_secret_key *secret,
                                                 clientscan_public_key *out);

/* Parses a public key file's contents. expect_role 0 accepts any role;
 * otherwise a key of another role is refused.
 * Errors: INVALID_ARGUMENT (NULL, or role differs from expect_role: detail
 * names both), LIMIT (over CLIENTSCAN_KEY_FILE_MAX_BYTES), PARSE (not a key
 * file, bad field, id does not match the key), VERSION (unknown version),
 * CRYPTO (not a usable key). */
CLIENTSCAN_API int clientscan_public_key_parse(const void *data, size_t len,
                                               clientscan_key_role expect_role,
                                               clientscan_public_key *out,
                                               clientscan_detail *detail);

/* As clientscan_public_key_parse() on a file. Additional error: IO. */
CLIENTSCAN_API int clientscan_public_key_load(const char *path, clientscan_key_role expect_role,
                                              clientscan_public_key *out,
                                              clientscan_detail *detail);

/* Writes a public key file (mode 0644) atomically: temporary file in the
 * same directory, fsync, rename; an existing file is replaced.
 * Errors: INVALID_ARGUMENT, IO (nothing is left behind). */
CLIENTSCAN_API int clientscan_public_key_save(const clientscan_public_key *pub, const char *path,
                                              clientscan_detail *detail);

/* Parses a secret key file's contents (the caller should wipe `data`
 * afterwards). The stored public key must match the one derived from the
 * secret. On success *out is owned by the caller; on failure it is NULL.
 * Errors: as clientscan_public_key_parse(), plus NOMEM. */
CLIENTSCAN_API int clientscan_secret_key_parse(const void *data, size_t len,
                                               clientscan_key_role expect_role,
                                               clientscan_secret_key **out,
                                               clientscan_detail *detail);

/* Loads a secret key file. Refused with PERMISSION, before anything is read,
 * if the opened file grants any permission to group or others (fstat on
 * the open descriptor, so no race with a rename). The file is read into
 * guarded memory that is wiped afterwards.
 * Errors: as clientscan_secret_key_parse(), plus IO and PERMISSION. */
CLIENTSCAN_API int clientscan_secret_key_load(const char *path, clientscan_key_role expect_role,
                                              clientscan_secret_key **out,
                                              clientscan_detail *detail);

/* Writes a secret key file with mode 0600 atomically (as
 * clientscan_public_key_save; the temporary file is 0600 from creation).
 * Errors: INVALID_ARGUMENT, NOMEM, IO. */
CLIENTSCAN_API int clientscan_secret_key_save(const clientscan_secret_key *secret,
                                              const char *path, clientscan_detail *detail);

/* ---------------------------------------------------------------- hash lists
 * A signed list of PDQ hashes, each with a 16-byte opaque entry id chosen by
 * the authority. Binary format: hashdb/FORMAT.md. Entries are stored sorted
 * by hash with no duplicate hash, so the same set always has the same bytes.
 * The list digest (BLAKE2b-256 of everything before the signature block) is
 * the list's public identity; co-signing does not change it. */

#define CLIENTSCAN_LIST_ID_BYTES 16
#define CLIENTSCAN_LIST_ID_HEX_BYTES 33       /* 32 hex digits + NUL */
#define CLIENTSCAN_LIST_DIGEST_BYTES 32
#define CLIENTSCAN_LIST_DIGEST_HEX_BYTES 65
#define CLIENTSCAN_LIST_NAME_MAX 64           /* bytes, UTF-8, no control bytes */
#define CLIENTSCAN_LIST_MAX_ENTRIES 50000000u /* 50 million */
#define CLIENTSCAN_LIST_MAX_SIGNATURES 16
#define CLIENTSCAN_LIST_MAX_PROVIDERS 32      /* provenance: one bit each */
#define CLIENTSCAN_LIST_PROVIDER_NAME_MAX 64
/* Export line "HASH,,ID": 64 + 2 + 32 hex digits, newline, NUL. */
#define CLIENTSCAN_LIST_TEXT_LINE_BYTES 100

typedef struct clientscan_list clientscan_list;

typedef struct clientscan_list_entry {
    clientscan_pdq hash;
    uint8_t id[CLIENTSCAN_LIST_ID_BYTES];
    /* Provenance: bit p set when provider p (clientscan_list_provider_name)
     * contributed this entry; 0 when the list records no provenance. */
    uint32_t providers;
} clientscan_list_entry;

/* Options for opening a list. Zero-initialise, then set the trusted keys. */
typedef struct clientscan_list_params {
    /* Trusted authority keys (role AUTHORITY). At least one signature by one
     * of them must verify, unless allow_unsigned is set. */
    const clientscan_public_key *authorities;
    size_t authority_count;
    /* Rollback protection: the highest sequence number this client accepted
     * before (0: none). A lower sequence is refused with E_ROLLBACK. If
     * accepted_digest is non-NULL (CLIENTSCAN_LIST_DIGEST_BYTES) a list with
     * the SAME sequence but another digest is refused too. The host persists
     * clientscan_list_sequence()/_digest() after a successful open. */
    uint64_t accepted_sequence;
    const uint8_t *accepted_digest;
    /* Nonzero: accept a list without a valid signature by a trusted key
     * (tests, research). clientscan_list_verified() then reports 0. */
    int allow_unsigned;
    /* 0 = CLIENTSCAN_LIST_MAX_ENTRIES; a lower cap for small devices. */
    uint64_t max_entries;
    /* Index shape: 0 = chosen from the list size (docs/index.md); otherwise
     * the number of substrings (1..64), for experiments and tests. */
    unsigned index_substrings;
    /* Nonzero: build no index (inspecting tools); matching scans linearly. */
    int skip_index;
} clientscan_list_params;

/* Opens a binary list: checks every length against the data size, verifies
 * the signatures (BEFORE any entry is looked at), checks rollback, checks
 * the entries (sorted, no duplicate hash, provenance bits in range), then
 * builds the match index. The data is copied; the caller keeps `data`.
 * On success *out is owned by the caller (clientscan_list_close); on failure
 * it is NULL. The opened list is immutable and safe to use from any number
 * of threads at once.
 * Errors: INVALID_ARGUMENT (NULL, no keys and not allow_unsigned, a key
 * whose role is not AUTHORITY, index_substrings > 64), UNSUPPORTED_FORMAT
 * (bad magic, unknown hash algorithm or size, unknown flags), VERSION,
 * CORRUPT (truncated, trailing bytes, a length or count inconsistent with the
 * size, entries unsorted or duplicated, reserved bytes not zero), LIMIT
 * (more entries than max_entries), SIGNATURE (no valid signature by a trusted
 * key; detail names the signer ids found), ROLLBACK, NOMEM. */
CLIENTSCAN_API int clientscan_list_open_memory(const void *data, size_t len,
                                               const clientscan_list_params *params,
                                               clientscan_list **out,
                                               clientscan_detail *detail);

/* As clientscan_list_open_memory() on a file. Additional error: IO. */
CLIENTSCAN_API int clientscan_list_open(const char *path, const clientscan_list_params *params,
                                        clientscan_list **out, clientscan_detail *detail);

/* Frees the list and its index. NULL is a no-op. */
CLIENTSCAN_API void clientscan_list_close(clientscan_list *list);

/* Accessors. Returned pointers stay valid until clientscan_list_close(). */
CLIENTSCAN_API size_t clientscan_list_count(const clientscan_list *list);
CLIENTSCAN_API const char *clientscan_list_name(const clientscan_list *list); /* NUL-terminated */
CLIENTSCAN_API uint64_t clientscan_list_sequence(const clientscan_list *list);
CLIENTSCAN_API uint64_t clientscan_list_created(const clientscan_list *list); /* Unix seconds */
CLIENTSCAN_API const uint8_t *clientscan_list_digest(const clientscan_list *list); /* 32 bytes */
/* 1 if a signature by a trusted key verified, 0 if opened via allow_unsigned. */
CLIENTSCAN_API int clientscan_list_verified(const clientscan_list *list);

/* Entry i (0 <= i < count). Errors: INVALID_ARGUMENT (NULL, out of range). */
CLIENTSCAN_API int clientscan_list_entry_at(const clientscan_list *list, size_t i,
                                            clientscan_list_entry *out);

/* Provenance: number of providers recorded (0 if none) and their names. */
CLIENTSCAN_API size_t clientscan_list_provider_count(const clientscan_list *list);
CLIENTSCAN_API const char *clientscan_list_provider_name(const clientscan_list *list, size_t p);

typedef enum clientscan_signature_status {
    CLIENTSCAN_SIGNATURE_UNKNOWN_KEY = 0, /* signer is not among the trusted keys */
    CLIENTSCAN_SIGNATURE_VALID = 1,       /* verified with a trusted key */
    CLIENTSCAN_SIGNATURE_INVALID = 2      /* trusted key id, signature does not verify */
} clientscan_signature_status;

/* Signatures in file order: signer key id and status.
 * Errors: INVALID_ARGUMENT (NULL, out of range). */
CLIENTSCAN_API size_t clientscan_list_signature_count(const clientscan_list *list);
CLIENTSCAN_API int clientscan_list_signature_at(const clientscan_list *list, size_t i,
                                                uint8_t key_id[CLIENTSCAN_KEY_ID_BYTES],
                                                clientscan_signature_status *status);

/* Writes "HASH,,ID\n" (64 + 32 lowercase hex digits) and a NUL: the export
 * line format, which clientscan_list_builder_add_text() reads back. */
CLIENTSCAN_API void clientscan_list_entry_to_text(const clientscan_list_entry *entry,
                                                  char line[CLIENTSCAN_LIST_TEXT_LINE_BYTES]);

/* Adds (or replaces, same key id) a signature by `signer` (role AUTHORITY)
 * to the encoded list in data[0..len), whose structure is checked but whose
 * existing signatures are not verified. *out (caller frees with free()) holds
 * the new encoding; the digest is unchanged.
 * Errors: INVALID_ARGUMENT (NULL, signer not an authority), the structural
 * errors of clientscan_list_open_memory(), LIMIT (already
 * CLIENTSCAN_LIST_MAX_SIGNATURES signatures), CRYPTO, NOMEM. */
CLIENTSCAN_API int clientscan_list_add_signature(const void *data, size_t len,
                                                 const clientscan_secret_key *signer,
                                                 uint8_t **out, size_t *out_len,
                                                 clientscan_detail *detail);

/* ---------------------------------------------------------------- building
 * Collects entries (from code, ThreatExchange-style text or other lists),
 * optionally applies the k-of-n provider rule, and encodes a signed list. */

typedef struct clientscan_list_builder clientscan_list_builder;

/* Errors: NOMEM. *out is owned by the caller (clientscan_list_builder_free). */
CLIENTSCAN_API int clientscan_list_builder_new(clientscan_list_builder **out,
                                               clientscan_detail *detail);
CLIENTSCAN_API void clientscan_list_builder_free(clientscan_list_builder *builder);

/* Header fields. Name: 1..CLIENTSCAN_LIST_NAME_MAX bytes of UTF-8 without
 * control bytes (INVALID_ARGUMENT otherwise). Defaults: name "unnamed",
 * sequence 0, created = time of encoding. */
CLIENTSCAN_API int clientscan_list_builder_set_name(clientscan_list_builder *builder,
                                                    const char *name, clientscan_detail *detail);
CLIENTSCAN_API void clientscan_list_builder_set_sequence(clientscan_list_builder *builder,
                                                         uint64_t sequence);
CLIENTSCAN_API void clientscan_list_builder_set_created(clientscan_list_builder *builder,
                                                        uint64_t unix_seconds);

/* Declares a provider (for provenance and k-of-n); *index receives its bit
 * number (0, 1, ...). Errors: INVALID_ARGUMENT (bad name: 1..64 bytes, no
 * control bytes), LIMIT (more than CLIENTSCAN_LIST_MAX_PROVIDERS). */
CLIENTSCAN_API int clientscan_list_builder_add_provider(clientscan_list_builder *builder,
                                                        const char *name, unsigned *index,
                                                        clientscan_detail *detail);

/* Derived entry id, used when an entry has none: BLAKE2b with a 16-byte
 * output (crypto_generichash, no key) of the 32 hash bytes. */
CLIENTSCAN_API void clientscan_list_derive_id(const clientscan_pdq *hash,
                                              uint8_t id[CLIENTSCAN_LIST_ID_BYTES]);

/* Adds one entry. id NULL = derived id. provider: a declared provider index,
 * or -1 for none. Duplicate hashes are merged at encoding (the first added
 * id is kept, provider bits are united).
 * Errors: INVALID_ARGUMENT (NULL, undeclared provider), LIMIT (more than
 * CLIENTSCAN_LIST_MAX_ENTRIES added), NOMEM. */
CLIENTSCAN_API int clientscan_list_builder_add(clientscan_list_builder *builder,
                                               const clientscan_pdq *hash,
                                               const uint8_t id[CLIENTSCAN_LIST_ID_BYTES],
                                               int provider, clientscan_detail *detail);

/* Imports ThreatExchange-style text: one "HASH[,QUALITY][,ID]" per line;
 * '#' starts a comment line; blank lines, CRLF and spaces around fields are
 * accepted. HASH: exactly 64 hex digits. QUALITY: empty or 0..100; lines
 * with a quality below min_quality are skipped (min_quality 0 keeps all).
 * ID: exactly 32 hex digits = the id bytes; any other non-empty text (rest
 * of the line, at most 256 bytes) = BLAKE2b-128 of that text; absent or
 * empty = clientscan_list_derive_id(). Nothing is added unless the whole
 * text parses. *added (may be NULL) receives the number of lines added.
 * Errors: PARSE with "line N: reason" in detail ("line 17: hash has 63 hex
 * digits"), INVALID_ARGUMENT, LIMIT, NOMEM. */
CLIENTSCAN_API int clientscan_list_builder_add_text(clientscan_list_builder *builder,
                                                    const void *text, size_t len, int provider,
                                                    int min_quality, size_t *added,
                                                    clientscan_detail *detail);

/* Adds every entry of an opened list (ids kept; its provenance dropped).
 * Errors: as clientscan_list_builder_add(). */
CLIENTSCAN_API int clientscan_list_builder_add_list(clientscan_list_builder *builder,
                                                    const clientscan_list *list, int provider,
                                                    clientscan_detail *detail);

/* k-of-n provider rule: keeps only hashes contributed by at least k distinct
 * providers, where a provider supports hash h if it contributed h itself
 * (within_distance 0) or any hash within within_distance bits of h. A kept
 * entry's provider bits are the supporting providers. Entries added with no
 * provider count as zero providers. Provenance is recorded in the encoding.
 * *kept (may be NULL) receives the number of distinct hashes kept.
 * Errors: INVALID_ARGUMENT (k < 1 or > providers declared, within_distance
 * outside 0..256), NOMEM. */
CLIENTSCAN_API int clientscan_list_builder_require(clientscan_list_builder *builder, unsigned k,
                                                   int within_distance, size_t *kept,
                                                   clientscan_detail *detail);

/* Number of distinct hashes the encoding would hold now (merges duplicates
 * added so far, hence not const). */
CLIENTSCAN_API size_t clientscan_list_builder_count(clientscan_list_builder *builder);

/* Encodes the list, signed by each of signers[0..signer_count) (role
 * AUTHORITY; signer_count 0 = unsigned list, which only opens with
 * allow_unsigned). *out is malloc'd, caller frees with free(). The builder
 * is unchanged and can encode again.
 * Errors: INVALID_ARGUMENT (NULL, a signer not an authority, duplicate
 * signer), LIMIT (more than CLIENTSCAN_LIST_MAX_SIGNATURES), CRYPTO, NOMEM. */
CLIENTSCAN_API int clientscan_list_builder_encode(clientscan_list_builder *builder,
                                                  const clientscan_secret_key *const *signers,
                                                  size_t signer_count, uint8_t **out,
                                                  size_t *out_len, clientscan_detail *detail);

/* ---------------------------------------------------------------- matching
 * Exact range search over an opened list: every entry within max_distance
 * bits of the query, identical to a linear scan. Multi-index hashing with a
 * linear popcount scan where that is cheaper (docs/index.md). Queries take
 * no lock and share no scratch: call from any number of threads. */

typedef enum clientscan_match_method {
    CLIENTSCAN_MATCH_AUTO = 0,   /* the cheaper of the two by a cost model */
    CLIENTSCAN_MATCH_LINEAR = 1, /* always scan every entry */
    CLIENTSCAN_MATCH_INDEX = 2   /* always use the multi-index (if built) */
} clientscan_match_method;

typedef struct clientscan_match_params {
    int max_distance;     /* 0..256 inclusive; the reference threshold is 31 */
    int dihedral;         /* nonzero: query all 8 variants of the result */
    int skip_low_quality; /* nonzero: quality < 50 -> not searched (still flagged) */
    clientscan_match_method method;
} clientscan_match_params;

/* What params == NULL means: threshold 31, all 8 variants, low quality
 * matched (and flagged), automatic method. */
#define CLIENTSCAN_MATCH_PARAMS_DEFAULT \
    { CLIENTSCAN_PDQ_MATCH_THRESHOLD, 1, 0, CLIENTSCAN_MATCH_AUTO }

typedef struct clientscan_match {
    size_t entry;                /* index for clientscan_list_entry_at() */
    int distance;                /* 0..256, the best over the variants searched */
    clientscan_dihedral variant; /* the query variant that reached it */
} clientscan_match;

/* Searches one hash (reported as variant ORIGINAL; params->dihedral and
 * skip_low_quality are ignored). Matches are sorted by distance, then entry;
 * one per entry. *found receives the total number of matching entries; only
 * the first min(found, capacity) are written (matches may be NULL when
 * capacity is 0), so a caller seeing found > capacity can retry larger.
 * Errors: INVALID_ARGUMENT (NULL, max_distance outside 0..256), NOMEM. */
CLIENTSCAN_API int clientscan_list_search(const clientscan_list *list, const clientscan_pdq *hash,
                                          const clientscan_match_params *params,
                                          clientscan_match *matches, size_t capacity,
                                          size_t *found, clientscan_detail *detail);

/* Searches a PDQ result: hash[0], or all 8 variants if params->dihedral
 * (hash[1..7] must have been computed), in one pass over the index. Each
 * entry is reported once, with its smallest distance over the variants
 * (ties: the lowest variant).
 * *low_quality (may be NULL) is set to 1 if query->quality <
 * CLIENTSCAN_PDQ_MIN_QUALITY, else 0. Output as clientscan_list_search().
 * Errors: as clientscan_list_search(). */
CLIENTSCAN_API int clientscan_list_match(const clientscan_list *list,
                                         const clientscan_pdq_result *query,
                                         const clientscan_match_params *params,
                                         clientscan_match *matches, size_t capacity,
                                         size_t *found, int *low_quality,
                                         clientscan_detail *detail);

/* Shape and size of a list's index, for diagnostics and benchmarks. */
typedef struct clientscan_index_info {
    unsigned substrings;     /* m; 0 = no index (linear scan only) */
    unsigned substring_bits; /* bits per substring */
    unsigned directory_bits; /* top bits of a substring addressed directly */
    size_t memory_bytes;     /* index only, excluding the entries */
} clientscan_index_info;

CLIENTSCAN_API void clientscan_list_index_info(const clientscan_list *list,
                                               clientscan_index_info *out);

/* ======================================================================
 * Scanner, attachments and report slots (issue: sealed pipeline)
 * ====================================================================== */

/* The pipeline, one direction per party (docs/threat-model.md says who
 * learns what; docs/report-format.md gives every byte):
 *   sender     clientscan_scanner_open() once, then for each attachment
 *              clientscan_prepare_attachment(): scan, encrypt under a fresh
 *              key, seal a fixed-size report slot to the moderator. The host
 *              app sends the ciphertext and the slot to its server and the
 *              key inside its own end-to-end encrypted session.
 *   recipient  clientscan_open_attachment() with the key it received.
 *   moderator  clientscan_open_report() on every slot; a match names one
 *              ciphertext by digest and carries its key, which
 *              clientscan_report_open_attachment() checks and decrypts. */

/* ---------------------------------------------------------------- attachments
 * crypto_secretstream_xchacha20poly1305 in chunks of
 * CLIENTSCAN_ATTACHMENT_CHUNK_BYTES plaintext bytes; the last chunk (0..chunk
 * bytes; an empty attachment is one empty chunk) carries TAG_FINAL, so a
 * truncated or extended ciphertext is refused. The header (magic, format
 * version, chunk size) is authenticated as additional data of every chunk. */

#define CLIENTSCAN_ATTACHMENT_KEY_BYTES 32
#define CLIENTSCAN_ATTACHMENT_DIGEST_BYTES 32      /* BLAKE2b-256 of the ciphertext */
#define CLIENTSCAN_ATTACHMENT_HEADER_BYTES 40      /* magic, version, chunk size, stream header */
#define CLIENTSCAN_ATTACHMENT_CHUNK_BYTES 65536u   /* plaintext bytes per full chunk */
#define CLIENTSCAN_ATTACHMENT_CHUNK_OVERHEAD 17    /* per chunk: tag byte + MAC */
#define CLIENTSCAN_ATTACHMENT_VERSION 1
/* An attachment key sealed to a user key (crypto_box_seal of a version byte
 * and the key), for hosts without their own E2EE session such as the CLI. */
#define CLIENTSCAN_SEALED_KEY_BYTES 81

/* A 32-byte attachment key in sodium_malloc'd memory, wiped when freed. */
typedef struct clientscan_attachment_key clientscan_attachment_key;

/* Generates a fresh random key (crypto_secretstream_xchacha20poly1305_keygen).
 * On success *out is owned by the caller (clientscan_attachment_key_free);
 * on failure it is NULL. Errors: INVALID_ARGUMENT, CRYPTO, NOMEM. */
CLIENTSCAN_API int clientscan_attachment_key_new(clientscan_attachment_key **out,
                                                 clientscan_detail *detail);

/* Wraps key bytes the host app received (e.g. from its E2EE session) into a
 * key handle; the caller should wipe its copy. Ownership as _new().
 * Errors: INVALID_ARGUMENT, CRYPTO, NOMEM. */
CLIENTSCAN_API int clientscan_attachment_key_from_bytes(
    const uint8_t bytes[CLIENTSCAN_ATTACHMENT_KEY_BYTES], clientscan_attachment_key **out,
    clientscan_detail *detail);

/* The CLIENTSCAN_ATTACHMENT_KEY_BYTES key bytes, for the host app to send in
 * its E2EE session. Valid until the key is freed; copy only into memory the
 * host wipes. NULL if key is NULL. */
CLIENTSCAN_API const uint8_t *clientscan_attachment_key_bytes(const clientscan_attachment_key *key);

/* Wipes and frees a key. NULL is a no-op. */
CLIENTSCAN_API void clientscan_attachment_key_free(clientscan_attachment_key *key);

/* Seals the key to a recipient's public key (role USER) with crypto_box_seal:
 * only the holder of the matching secret key can unseal it.
 * Errors: INVALID_ARGUMENT (NULL, recipient not a user key), CRYPTO. */
CLIENTSCAN_API int clientscan_attachment_key_seal(const clientscan_attachment_key *key,
                                                  const clientscan_public_key *recipient,
                                                  uint8_t sealed[CLIENTSCAN_SEALED_KEY_BYTES],
                                                  clientscan_detail *detail);

/* Opens a sealed key with the recipient's secret key (role USER). Ownership
 * as _new(). Errors: INVALID_ARGUMENT (NULL, not a user key), CORRUPT (len is
 * not CLIENTSCAN_SEALED_KEY_BYTES), DECRYPT (another recipient's key, or
 * tampered), VERSION (unknown sealed-key version), CRYPTO, NOMEM. */
CLIENTSCAN_API int clientscan_attachment_key_unseal(const clientscan_secret_key *recipient,
                                                    const void *sealed, size_t len,
                                                    clientscan_attachment_key **out,
                                                    clientscan_detail *detail);

/* Exact ciphertext size for a plaintext of `plaintext_len` bytes:
 * header + plaintext + 17 bytes per chunk. Errors: LIMIT (overflows 64 bits). */
CLIENTSCAN_API int clientscan_attachment_ciphertext_size(uint64_t plaintext_len, uint64_t *out);

/* Encrypts data[0..len) (data may be NULL when len is 0). *out (caller frees
 * with free()) receives the ciphertext, *out_len its size; digest (may be
 * NULL) receives BLAKE2b-256 of the ciphertext. On failure *out is NULL.
 * Errors: INVALID_ARGUMENT, LIMIT (ciphertext size overflows size_t), CRYPTO,
 * NOMEM. */
CLIENTSCAN_API int clientscan_encrypt_attachment(const clientscan_attachment_key *key,
                                                 const void *data, size_t len, uint8_t **out,
                                                 size_t *out_len,
                                                 uint8_t digest[CLIENTSCAN_ATTACHMENT_DIGEST_BYTES],
                                                 clientscan_detail *detail);

/* Decrypts a whole ciphertext. Every chunk is authenticated before *out is
 * returned; nothing is returned on failure (*out NULL). *out (caller frees
 * with free(); wipe it first if the content is sensitive) holds *out_len
 * plaintext bytes (a 1-byte allocation for an empty attachment).
 * Errors: INVALID_ARGUMENT, UNSUPPORTED_FORMAT (not a clientscan attachment),
 * VERSION, CORRUPT (bad header field, truncated, trailing bytes, chunk
 * boundaries impossible for the size), DECRYPT (wrong key or tampered),
 * CRYPTO, NOMEM. */
CLIENTSCAN_API int clientscan_open_attachment(const clientscan_attachment_key *key,
                                              const void *ciphertext, size_t len, uint8_t **out,
                                              size_t *out_len, clientscan_detail *detail);

/* Streaming I/O for large attachments in constant memory (two chunk
 * buffers). A reader fills buf with up to cap bytes and sets *got; *got 0
 * means end of input; short reads are fine. A writer consumes all len bytes.
 * Either returns 0 on success, nonzero on failure (the call then fails with
 * E_IO and stops at once). */
typedef int (*clientscan_read_fn)(void *ctx, uint8_t *buf, size_t cap, size_t *got);
typedef int (*clientscan_write_fn)(void *ctx, const uint8_t *buf, size_t len);

/* Encrypts everything `read` yields, handing the ciphertext to `write` as it
 * is produced. digest (may be NULL) receives BLAKE2b-256 of the ciphertext;
 * *total (may be NULL) its size. On failure some ciphertext may already have
 * been written: the caller discards it.
 * Errors: INVALID_ARGUMENT, IO (a callback failed), CRYPTO, NOMEM. */
CLIENTSCAN_API int clientscan_encrypt_attachment_stream(
    const clientscan_attachment_key *key, clientscan_read_fn read, void *read_ctx,
    clientscan_write_fn write, void *write_ctx,
    uint8_t digest[CLIENTSCAN_ATTACHMENT_DIGEST_BYTES], uint64_t *total,
    clientscan_detail *detail);

/* Decrypts a ciphertext stream. Each chunk is written once it authenticates,
 * but truncation is only known at the end: on ANY failure the plaintext
 * written so far must be discarded (write to a temporary file, rename on
 * success). digest (may be NULL) receives BLAKE2b-256 of the ciphertext.
 * Errors: as clientscan_open_attachment(), plus IO (a callback failed). */
CLIENTSCAN_API int clientscan_open_attachment_stream(
    const clientscan_attachment_key *key, clientscan_read_fn read, void *read_ctx,
    clientscan_write_fn write, void *write_ctx,
    uint8_t digest[CLIENTSCAN_ATTACHMENT_DIGEST_BYTES], clientscan_detail *detail);

/* ---------------------------------------------------------------- report slots
 * Every prepared attachment gets one slot of CLIENTSCAN_REPORT_SLOT_BYTES:
 * crypto_box_seal to the moderator key of a record padded (sodium_pad) to
 * CLIENTSCAN_REPORT_PADDED_BYTES, whatever the verdict. A match record holds
 * exactly the fields of clientscan_report below; a no-match record holds its
 * version and kind and nothing else; so does an unscanned record. */

#define CLIENTSCAN_REPORT_VERSION 1
#define CLIENTSCAN_REPORT_PADDED_BYTES 256
#define CLIENTSCAN_REPORT_SLOT_BYTES 304 /* crypto_box_SEALBYTES (48) + 256 */
#define CLIENTSCAN_HASH_ALGORITHM_PDQ 1  /* as in hash lists (hashdb/FORMAT.md) */

typedef enum clientscan_report_kind {
    CLIENTSCAN_REPORT_NO_MATCH = 0,  /* scanned, nothing within the threshold */
    CLIENTSCAN_REPORT_MATCH = 1,     /* scanned, matched a list entry */
    CLIENTSCAN_REPORT_UNSCANNED = 2  /* sent without a scan (scanner policy) */
} clientscan_report_kind;

/* "no-match", "match", "unscanned"; "unknown" when out of range. */
CLIENTSCAN_API const char *clientscan_report_kind_name(clientscan_report_kind kind);

/* An opened report. Fields after `kind` are set for MATCH only and zero
 * otherwise. Release with clientscan_report_release(). */
typedef struct clientscan_report {
    unsigned version;        /* CLIENTSCAN_REPORT_VERSION */
    clientscan_report_kind kind;
    unsigned hash_algorithm; /* CLIENTSCAN_HASH_ALGORITHM_PDQ */
    uint8_t list_digest[CLIENTSCAN_LIST_DIGEST_BYTES];
    uint64_t list_sequence;
    uint8_t entry_id[CLIENTSCAN_LIST_ID_BYTES];
    int distance;                /* 0..256 */
    clientscan_dihedral variant; /* the variant of the attachment that matched */
    uint32_t day;                /* report date: days since 1970-01-01 UTC */
    uint8_t ciphertext_digest[CLIENTSCAN_ATTACHMENT_DIGEST_BYTES];
    clientscan_attachment_key *key; /* owned by the report; NULL unless MATCH */
} clientscan_report;

/* Opens a slot with the moderator's secret key (role MODERATOR). On failure
 * *out is zeroed and nothing needs releasing.
 * Errors: INVALID_ARGUMENT (NULL, not a moderator key), CORRUPT (len is not
 * CLIENTSCAN_REPORT_SLOT_BYTES, bad padding, a record length, kind, field
 * value or reserved byte that is not allowed), DECRYPT (sealed to another
 * key, or tampered), VERSION (unknown record version), UNSUPPORTED_FORMAT
 * (unknown hash algorithm), CRYPTO, NOMEM. */
CLIENTSCAN_API int clientscan_open_report(const clientscan_secret_key *moderator,
                                          const void *slot, size_t len, clientscan_report *out,
                                          clientscan_detail *detail);

/* Frees the key a report holds and zeroes the struct. Safe on a zeroed struct. */
CLIENTSCAN_API void clientscan_report_release(clientscan_report *report);

/* Moderator review: decrypts the one ciphertext a MATCH report names, after
 * checking that its BLAKE2b-256 digest equals report->ciphertext_digest.
 * Output and ownership as clientscan_open_attachment().
 * Errors: INVALID_ARGUMENT (NULL, report not a MATCH), DECRYPT (digest
 * differs: another or altered ciphertext), and those of
 * clientscan_open_attachment(). */
CLIENTSCAN_API int clientscan_report_open_attachment(const clientscan_report *report,
                                                     const void *ciphertext, size_t len,
                                                     uint8_t **out, size_t *out_len,
                                                     clientscan_detail *detail);

/* ---------------------------------------------------------------- scanner
 * A signed list, its index, the moderator key and a policy, immutable after
 * clientscan_scanner_open(): any number of threads may call
 * clientscan_scan() and clientscan_prepare_attachment() on one scanner at
 * once (no lock, no shared scratch). Every attachment is hashed with PDQ in
 * full mode and matched in all 8 dihedral variants. */

typedef struct clientscan_scanner clientscan_scanner;

/* What happens to an attachment that cannot be scanned (format the decoder
 * does not support, corrupt image, over a limit, empty, or low quality under
 * CLIENTSCAN_LOW_QUALITY_UNSCANNABLE). Either way the verdict says so. */
typedef enum clientscan_unscannable_policy {
    /* Encrypt and send it; its slot is an UNSCANNED record. The default. */
    CLIENTSCAN_UNSCANNABLE_SEND = 0,
    /* clientscan_prepare_attachment() fails with E_REFUSED. */
    CLIENTSCAN_UNSCANNABLE_REFUSE = 1
} clientscan_unscannable_policy;

/* Images with PDQ quality < CLIENTSCAN_PDQ_MIN_QUALITY (flat, tiny, blank). */
typedef enum clientscan_low_quality_policy {
    /* Match them like any image; the verdict flags them. The default. */
    CLIENTSCAN_LOW_QUALITY_MATCH = 0,
    /* Do not match them; they follow the unscannable policy. */
    CLIENTSCAN_LOW_QUALITY_UNSCANNABLE = 1
} clientscan_low_quality_policy;

/* Zero-initialise, set list.authorities/authority_count and moderator. */
typedef struct clientscan_scanner_params {
    /* Trusted authority keys, rollback state, allow_unsigned, max_entries:
     * as for clientscan_list_open_memory(). */
    clientscan_list_params list;
    /* The moderation service's public key (role MODERATOR); copied. */
    const clientscan_public_key *moderator;
    /* Largest Hamming distance that counts as a match, 1..256;
     * 0 = CLIENTSCAN_PDQ_MATCH_THRESHOLD (31). */
    int threshold;
    clientscan_unscannable_policy unscannable;
    clientscan_low_quality_policy low_quality;
    /* Decoding limits. JPEGs are hashed in fast mode unless exact is set:
     * decoded at a reduced DCT scale keeping both sides >=
     * decode.jpeg_min_side (0: CLIENTSCAN_FAST_MIN_SIDE). On 1,721 measured
     * JPEGs of quality >= 80 every fast hash was within 10 bits of the exact
     * one, p99 2 bits (docs/speed.md), well inside the match threshold, for
     * about half the CPU time on a 12 MP photo. */
    clientscan_decode_params decode;
    /* != 0: exact hashes (full-size decode, bit-identical to the reference)
     * whatever decode.jpeg_min_side says. */
    int exact;
} clientscan_scanner_params;

/* Opens a scanner: opens and verifies the list (clientscan_list_open_memory
 * with params->list), then builds its index. The list bytes are copied.
 * On success *out is owned by the caller (clientscan_scanner_close); on
 * failure it is NULL.
 * Errors: INVALID_ARGUMENT (NULL, no moderator or not a moderator key,
 * threshold or policy out of range), every error of
 * clientscan_list_open_memory() (SIGNATURE, ROLLBACK, CORRUPT, ...), NOMEM. */
CLIENTSCAN_API int clientscan_scanner_open_memory(const void *list_data, size_t list_len,
                                                  const clientscan_scanner_params *params,
                                                  clientscan_scanner **out,
                                                  clientscan_detail *detail);

/* As clientscan_scanner_open_memory() on a list file. Additional error: IO. */
CLIENTSCAN_API int clientscan_scanner_open(const char *list_path,
                                           const clientscan_scanner_params *params,
                                           clientscan_scanner **out, clientscan_detail *detail);

/* Frees the scanner and its list. NULL is a no-op. */
CLIENTSCAN_API void clientscan_scanner_close(clientscan_scanner *scanner);

/* The scanner's list, for its name, sequence and digest (the host persists
 * sequence and digest for rollback protection). Valid until close. */
CLIENTSCAN_API const clientscan_list *clientscan_scanner_list(const clientscan_scanner *scanner);

typedef enum clientscan_verdict_kind {
    CLIENTSCAN_VERDICT_NO_MATCH = 0,    /* scanned; no entry within the threshold */
    CLIENTSCAN_VERDICT_MATCH = 1,       /* scanned; matched (entry fields set) */
    CLIENTSCAN_VERDICT_UNSCANNABLE = 2, /* not scanned: see scan_error, reason */
    /* quality < CLIENTSCAN_PDQ_MIN_QUALITY. With LOW_QUALITY_MATCH it was
     * matched (`matched` tells the outcome); with LOW_QUALITY_UNSCANNABLE it
     * was not, and is handled as unscannable. */
    CLIENTSCAN_VERDICT_LOW_QUALITY = 3
} clientscan_verdict_kind;

/* "no-match", "match", "unscannable", "low-quality"; "unknown" otherwise. */
CLIENTSCAN_API const char *clientscan_verdict_kind_name(clientscan_verdict_kind kind);

/* The outcome of a scan, for the host app. Plain data. */
typedef struct clientscan_verdict {
    clientscan_verdict_kind kind;
    int scanned;     /* 1 if the image was hashed and matched against the list */
    int matched;     /* 1 if an entry was within the threshold */
    int quality;     /* PDQ quality 0..100; -1 if not hashed */
    /* When matched: the closest entry (ties: lowest index). */
    size_t entry;    /* index for clientscan_list_entry_at() */
    uint8_t entry_id[CLIENTSCAN_LIST_ID_BYTES];
    int distance;
    clientscan_dihedral variant;
    size_t match_count; /* entries within the threshold */
    /* When not scanned: the decoder's error code and reason (no content). */
    int scan_error;
    clientscan_detail reason;
    clientscan_format format; /* sniffed format (UNKNOWN if unrecognised) */
} clientscan_verdict;

/* Scans attachment bytes: decode, PDQ (all 8 variants), match. An image that
 * cannot be scanned is NOT an error: the call returns OK with kind
 * UNSCANNABLE, scan_error set to the decoder's UNSUPPORTED_FORMAT, CORRUPT
 * or LIMIT (empty input: UNSUPPORTED_FORMAT) and reason to its detail.
 * Thread-safe. On failure *out is zeroed.
 * Errors: INVALID_ARGUMENT (NULL), NOMEM, INTERNAL. */
CLIENTSCAN_API int clientscan_scan(const clientscan_scanner *scanner, const void *data,
                                   size_t len, clientscan_verdict *out,
                                   clientscan_detail *detail);

/* A prepared attachment: what the host app sends. Release with
 * clientscan_prepared_release(). */
typedef struct clientscan_prepared {
    clientscan_verdict verdict;        /* for the host app only: never sent */
    uint8_t *ciphertext;               /* -> server; malloc'd, owned */
    size_t ciphertext_len;
    uint8_t ciphertext_digest[CLIENTSCAN_ATTACHMENT_DIGEST_BYTES];
    clientscan_attachment_key *key;    /* -> recipient inside the E2EE session; owned */
    uint8_t slot[CLIENTSCAN_REPORT_SLOT_BYTES]; /* -> server, beside the ciphertext */
} clientscan_prepared;

/* Scans, encrypts under a fresh key, and seals the report slot: a MATCH
 * record for a match (also a low-quality one), a NO_MATCH record for a
 * scanned non-match, an UNSCANNED record when policy lets an unscannable
 * attachment through. Every verdict costs the same crypto work and yields a
 * slot of the same size, so the storing server cannot tell them apart.
 * With CLIENTSCAN_UNSCANNABLE_REFUSE an unscannable attachment fails with
 * E_REFUSED: out->verdict still says why; nothing is allocated.
 * On any other failure *out is zeroed. Thread-safe.
 * Errors: INVALID_ARGUMENT (NULL), REFUSED, LIMIT (ciphertext too large for
 * memory), CRYPTO, NOMEM, INTERNAL. */
CLIENTSCAN_API int clientscan_prepare_attachment(const clientscan_scanner *scanner,
                                                 const void *data, size_t len,
                                                 clientscan_prepared *out,
                                                 clientscan_detail *detail);

/* Frees the ciphertext and key, wipes and zeroes the struct. Safe on a
 * zeroed struct. */
CLIENTSCAN_API void clientscan_prepared_release(clientscan_prepared *prepared);

/* ======================================================================
 * Baseline hashes and benchmark support (issue: benchmark the truth)
 * ====================================================================== */

/* Three 64-bit baseline hashes, only for comparing PDQ against in
 * benchmarks (docs/hashes.md defines them exactly). All start from grey
 * (BT.601 luma rounded to 8 bits) shrunk by exact area averaging; python
 * imagehash uses PIL's Lanczos filter there, so a few bits may differ.
 * Bit 63 is the first value in row-major order, so printing the value as
 * 16 hex digits gives imagehash's text form. */
typedef enum clientscan_hash64_kind {
    CLIENTSCAN_HASH64_PHASH = 0, /* 32x32, 2-D DCT-II, top-left 8x8 > their median */
    CLIENTSCAN_HASH64_DHASH,     /* 9x8, bit = right neighbour brighter */
    CLIENTSCAN_HASH64_AHASH,     /* 8x8, bit = pixel above the mean */
    CLIENTSCAN_HASH64_COUNT
} clientscan_hash64_kind;

/* "phash", "dhash", "ahash"; "unknown" when out of range. */
CLIENTSCAN_API const char *clientscan_hash64_name(clientscan_hash64_kind kind);

/* Computes all three baselines of a decoded image into out[kind].
 * Thread-safe. Errors: INVALID_ARGUMENT (NULL, bad image fields), NOMEM. */
CLIENTSCAN_API int clientscan_hash64_image(const clientscan_image *image,
                                           uint64_t out[CLIENTSCAN_HASH64_COUNT],
                                           clientscan_detail *detail);

/* Number of differing bits, 0..64. */
CLIENTSCAN_API int clientscan_hash64_distance(uint64_t a, uint64_t b);

/* Image transforms of the robustness benchmark (docs/benchmarks.md gives
 * every parameter). Each maps a decoded image to a new one. */
typedef enum clientscan_transform {
    CLIENTSCAN_TRANSFORM_JPEG90 = 0, /* JPEG re-encode, quality 90 (4:2:0) */
    CLIENTSCAN_TRANSFORM_JPEG70,
    CLIENTSCAN_TRANSFORM_JPEG50,
    CLIENTSCAN_TRANSFORM_RESIZE50,   /* area average to 1/2 of each side */
    CLIENTSCAN_TRANSFORM_RESIZE25,   /* ... to 1/4 */
    CLIENTSCAN_TRANSFORM_CROP5,      /* keep the centre 95% of each side */
    CLIENTSCAN_TRANSFORM_CROP10,     /* keep the centre 90% of each side */
    CLIENTSCAN_TRANSFORM_PAD20,      /* black border, each side grows by 20% */
    CLIENTSCAN_TRANSFORM_ROT90,      /* clockwise */
    CLIENTSCAN_TRANSFORM_ROT180,
    CLIENTSCAN_TRANSFORM_MIRROR,     /* left-right */
    CLIENTSCAN_TRANSFORM_ROT4,       /* 4 degrees clockwise, bilinear, same size */
    CLIENTSCAN_TRANSFORM_BRIGHT_UP,  /* values x1.2 */
    CLIENTSCAN_TRANSFORM_BRIGHT_DOWN,/* values x0.8 */
    CLIENTSCAN_TRANSFORM_CONTRAST,   /* distance from mid-grey x1.5 */
    CLIENTSCAN_TRANSFORM_GAMMA2,     /* 255*(v/255)^(1/2) */
    CLIENTSCAN_TRANSFORM_BLUR2,      /* Gaussian blur, sigma 2 px */
    CLIENTSCAN_TRANSFORM_NOISE10,    /* additive Gaussian noise, sigma 10 */
    CLIENTSCAN_TRANSFORM_TEXT,       /* semi-transparent text overlay */
    CLIENTSCAN_TRANSFORM_GREY,       /* one grey channel */
    CLIENTSCAN_TRANSFORM_COUNT
} clientscan_transform;

/* Short name ("jpeg90", "rot4", ...); "unknown" when out of range. */
CLIENTSCAN_API const char *clientscan_transform_name(clientscan_transform transform);

/* Applies one transform. seed feeds the noise transform's generator (the
 * same seed gives the same noise); others ignore it. *out is a new image
 * owned by the caller (clientscan_image_release); on failure it is zeroed.
 * Errors: INVALID_ARGUMENT (NULL, bad image fields, unknown transform),
 * LIMIT (result too small or too large), NOMEM, CORRUPT (JPEG round trip). */
CLIENTSCAN_API int clientscan_transform_apply(const clientscan_image *src,
                                              clientscan_transform transform, uint64_t seed,
                                              clientscan_image *out, clientscan_detail *detail);

/* Wilson score interval (95%, z = 1.959963984540054) for k successes in
 * n trials. Errors: INVALID_ARGUMENT (NULL, n == 0, k > n). */
CLIENTSCAN_API int clientscan_wilson_interval(uint64_t k, uint64_t n, double *lower,
                                              double *upper);

/* P(X >= t) for X ~ Binomial(n, p), summed in log space: relative error
 * around 1e-12 even for results far below 1e-15 (down to about 1e-300,
 * below which it returns 0). Errors: INVALID_ARGUMENT (NULL, p not in
 * [0, 1]). */
CLIENTSCAN_API int clientscan_binomial_tail(uint64_t n, double p, uint64_t t, double *out);

/* 1 - (1 - p)^trials, computed as -expm1(trials * log1p(-p)): the chance
 * that at least one of `trials` independent tries with probability p hits,
 * e.g. one innocent image against a list of `trials` entries. Accurate for
 * tiny p. Errors: INVALID_ARGUMENT (NULL, p not in [0, 1], trials < 0). */
CLIENTSCAN_API int clientscan_prob_at_least_one(double p, double trials, double *out);

#ifdef __cplusplus
}
#endif

#endif /* CLIENTSCAN_H */
