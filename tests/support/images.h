/* Test image generators: deterministic PNG and JPEG files in memory,
 * encoded with libpng / libjpeg-turbo. Pixel values follow ts_pattern() so
 * tests can predict decoded values independently of the decoder. */
#ifndef CLIENTSCAN_TEST_IMAGES_H
#define CLIENTSCAN_TEST_IMAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Sample of channel c at (x, y) for a given bit depth (1..16):
 * a smooth gradient plus a checker of 8x8 blocks, in [0, 2^depth). */
uint32_t ts_pattern(uint32_t x, uint32_t y, int c, int bit_depth);

/* PNG of color_type (PNG_COLOR_TYPE_*), bit_depth, interlace (0/1).
 * Samples from ts_pattern; palette images use a 2^depth-entry palette where
 * entry i = (i*37 % 256, i*91 % 256, i*151 % 256) and the index is channel
 * 0's pattern; alpha channels get pattern channel 3. Caller frees. */
uint8_t *ts_png_encode(uint32_t w, uint32_t h, int color_type, int bit_depth, int interlace,
                       size_t *len);

/* Palette entry used by ts_png_encode. */
void ts_png_palette_entry(uint32_t index, uint8_t rgb[3]);

/* JPEG with 1 (grey), 3 (YCbCr from RGB) or 4 (CMYK, Adobe marker)
 * components; quality 1..100; progressive or baseline. Samples from
 * ts_pattern at 8 bits. exif_orientation 1..8 adds an APP1 Exif segment
 * (big_endian chooses MM or II); 0 adds none. Caller frees. */
uint8_t *ts_jpeg_encode(uint32_t w, uint32_t h, int components, int quality, bool progressive,
                        int exif_orientation, bool big_endian, size_t *len);

#endif
