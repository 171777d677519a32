/* Test image generators: deterministic PNG and JPEG files in memory,
 * encoded with libpng / libjpeg-turbo, plus byte-level edits (size fields,
 * extra chunks) for building hostile files. Pixel values follow ts_pattern()
 * so tests can predict decoded values independently of the decoder. Every
 * helper fails the current cmocka test on error (outside a test, cmocka
 * ends the program). */
#ifndef CLIENTSCAN_TEST_IMAGES_H
#define CLIENTSCAN_TEST_IMAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h> /* before jpeglib.h, which uses FILE */

#include <jpeglib.h>

/* Sample of channel c at (x, y) for a given bit depth (1..16): a smooth
 * gradient plus a checker of 8x8 blocks. Depth 8 is that value v in 0..255;
 * depths below 8 keep its top bits (v >> (8 - depth)); depth 16 puts v in the
 * high byte and a second, independent gradient in the low byte, so that
 * scaling 16 -> 8 bits with rounding and merely stripping the low byte give
 * different answers. */
uint32_t ts_pattern(uint32_t x, uint32_t y, int c, int bit_depth);

/* PNG of color_type (PNG_COLOR_TYPE_*), bit_depth, interlace (0/1).
 * Samples from ts_pattern; palette images use a 2^depth-entry palette where
 * entry i = (i*37 % 256, i*91 % 256, i*151 % 256) and the index is channel
 * 0's pattern; alpha channels get pattern channel 3. Caller frees. */
uint8_t *ts_png_encode(uint32_t w, uint32_t h, int color_type, int bit_depth, int interlace,
                       size_t *len);

/* 8-bit RGB PNG of pseudo-random pixels ts_noise(seed, x, y, c): it does
 * not compress, so its IDAT is as large as its pixels. Caller frees. */
uint8_t *ts_png_encode_noise(uint32_t w, uint32_t h, int interlace, uint32_t seed, size_t *len);
uint8_t ts_noise(uint32_t seed, uint32_t x, uint32_t y, int c);

/* Palette entry used by ts_png_encode. */
void ts_png_palette_entry(uint32_t index, uint8_t rgb[3]);

/* The one JPEG encoder behind the helpers below. fill(ctx, y, w,
 * components, row) writes row y; the options: 1 (grey), 3 (YCbCr from RGB)
 * or 4 (CMYK, Adobe marker) components, quality 1..100, 4:4:4 instead of
 * libjpeg's default subsampling, an explicit scan script (else progressive
 * = libjpeg's standard progression, or baseline), and an EXIF orientation
 * 1..8 (0: no APP1). Caller frees. */
typedef void (*ts_jpeg_row_fn)(const void *ctx, uint32_t y, uint32_t w, int components,
                               uint8_t *row);
typedef struct ts_jpeg_options {
    int components;
    int quality;
    bool progressive;
    bool full_resolution_chroma;
    const jpeg_scan_info *scans;
    int nscans;
    int exif_orientation;
    bool big_endian;
} ts_jpeg_options;
uint8_t *ts_jpeg_encode_with(uint32_t w, uint32_t h, const ts_jpeg_options *o, ts_jpeg_row_fn fill,
                             const void *ctx, size_t *len);

/* JPEG with 1 (grey), 3 (YCbCr from RGB) or 4 (CMYK, Adobe marker)
 * components; quality 1..100; progressive or baseline. Samples from
 * ts_pattern at 8 bits. exif_orientation 1..8 adds an APP1 Exif segment
 * (big_endian chooses MM or II); 0 adds none. Caller frees. */
uint8_t *ts_jpeg_encode(uint32_t w, uint32_t h, int components, int quality, bool progressive,
                        int exif_orientation, bool big_endian, size_t *len);

/* JPEG of the given pixels (rows stride bytes apart, 1, 3 or 4 components
 * as above), quality 1..100, progressive or baseline. Caller frees. */
uint8_t *ts_jpeg_encode_pixels(const uint8_t *pixels, size_t stride, uint32_t w, uint32_t h,
                               int components, int quality, bool progressive, size_t *len);

/* 8-bit PNG of the given pixels (rows stride bytes apart; 1 component:
 * grey, 3: RGB), Adam7-interlaced when interlace. Caller frees. */
uint8_t *ts_png_encode_pixels(const uint8_t *pixels, size_t stride, uint32_t w, uint32_t h,
                              int components, int interlace, size_t *len);

/* CRC-32 as PNG chunks use it (ISO 3309, the zlib polynomial). */
uint32_t ts_crc32(const uint8_t *data, size_t len);

/* Rewrites the width and height in a PNG's IHDR (and its CRC) in place, so
 * the header claims a size the pixel data does not have. */
void ts_png_set_size(uint8_t *png, size_t len, uint32_t w, uint32_t h);

/* A copy of png with one chunk (type, payload, correct CRC) inserted right
 * after IHDR. Caller frees. */
uint8_t *ts_png_insert_chunk(const uint8_t *png, size_t len, const char type[4],
                             const uint8_t *payload, size_t payload_len, size_t *out_len);

/* A copy of png with its IDAT data (same zlib stream) cut into IDAT chunks
 * of `piece` bytes, the last one shorter. Caller frees. */
uint8_t *ts_png_split_idat(const uint8_t *png, size_t len, size_t piece, size_t *out_len);

/* A copy of an 8-bit palette PNG with its PLTE cut to `entries` entries
 * (CRC recomputed), so larger pixel indices point past it. Caller frees. */
uint8_t *ts_png_cut_palette(const uint8_t *png, size_t len, uint32_t entries, size_t *out_len);
/* Rewrites the width and height in a JPEG's first SOFn marker in place. */
void ts_jpeg_set_size(uint8_t *jpeg, size_t len, uint32_t w, uint32_t h);

/* Offset of the first SOFn marker's payload (its length field) in a JPEG,
 * for tests that edit the frame header. */
size_t ts_jpeg_sof_offset(const uint8_t *jpeg, size_t len);

#endif
