/* Internal: pixel helpers of the 64-bit baseline hashes, shared with the
 * benchmark transforms so that "resize" means the same thing in both. */
#ifndef CLIENTSCAN_HASH64_H
#define CLIENTSCAN_HASH64_H

#include "internal.h"

/* ITU-R BT.601 luma rounded to 8 bits in 16-bit fixed point, the weights
 * (0.299, 0.587, 0.114) that PIL's convert("L") uses, so the baselines see
 * the grey values python imagehash sees. */
static inline uint8_t cs_luma601(uint8_t r, uint8_t g, uint8_t b)
{
    return (uint8_t)((19595u * r + 38470u * g + 7471u * b + 32768u) >> 16);
}

/* Exact area-average (box) resampling of `channels`-interleaved 8-bit
 * pixels from src (sw x sh, stride sstride) to dst (dw x dh, stride
 * dstride). Output pixel (x, y) covers the source rectangle
 * [x*sw/dw, (x+1)*sw/dw) x [y*sh/dh, (y+1)*sh/dh); every source pixel counts
 * with the area it shares with it. Sums are integers (weights in units of
 * 1/(dw*dh) pixel), so the result is exact: the average rounded half up.
 * Works for shrinking and enlarging. Sides must be 1..2^24.
 * Errors: INVALID_ARGUMENT (bad sizes), NOMEM. */
int cs_area_resize(const uint8_t *src, uint32_t sw, uint32_t sh, size_t sstride,
                   uint32_t channels, uint8_t *dst, uint32_t dw, uint32_t dh, size_t dstride,
                   clientscan_detail *detail);

/* The image as one grey channel (cs_luma601 for RGB). Returns a pointer to
 * the image's own pixels when it already is grey (*owned = NULL), else a
 * malloc'd width*height copy (*owned = that copy, caller frees); *stride
 * receives the row stride. Errors: INVALID_ARGUMENT, NOMEM. */
int cs_grey_view(const clientscan_image *image, const uint8_t **grey, size_t *stride,
                 uint8_t **owned, clientscan_detail *detail);

/* Checks the fields of an image handed in by a caller: sides >= 1,
 * channels 1 or 3, stride >= width * channels, pixels non-NULL. */
int cs_image_check(const clientscan_image *image, clientscan_detail *detail);

#endif
