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
    /* JPEG only: if > 0, decode at the smallest libjpeg-turbo DCT scale
     * (1/8 .. 8/8) that keeps both sides >= min_side. 0 = full size (exact,
     * what the reference hashes). */
    uint32_t jpeg_min_side;
} clientscan_decode_params;

/* jpeg_min_side of "fast mode": the 64x64 PDQ grid then still averages at
 * least 4x4 decoded pixels per cell. See docs/speed.md for the measured
 * distance to exact hashes. */
#define CLIENTSCAN_FAST_MIN_SIDE 256u

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
    /* The reference CLI (pdq-photo-hasher): images with a side > 512 are first
     * resized to exactly 512x512 by nearest neighbour. */
    CLIENTSCAN_PDQ_MODE_CLI512 = 1
} clientscan_pdq_mode;

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

/* Errors: INVALID_ARGUMENT (zero or absurd size), NOMEM. */
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
} clientscan_hash_params;

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

/* ======================================================================
 * Scanner, attachments and report slots (issue: sealed pipeline)
 * ====================================================================== */

#ifdef __cplusplus
}
#endif

#endif /* CLIENTSCAN_H */
