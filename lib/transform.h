/* Internal: geometry and parameters of the benchmark transforms, exposed
 * so that unit tests can check outputs at known positions. */
#ifndef CLIENTSCAN_TRANSFORM_H
#define CLIENTSCAN_TRANSFORM_H

#include "internal.h"

#define CS_TEXT_OVERLAY "SAMPLE 2024" /* what the text transform writes */
#define CS_GLYPH_W 5                  /* glyph cells; one empty column between glyphs */
#define CS_GLYPH_H 7

/* Rows of the 5x7 glyph for c (bit 4 = leftmost cell); NULL for a
 * character outside the overlay's alphabet. Space is all zero. */
const uint8_t *cs_glyph(char c);

/* Where the overlay goes on a w x h image: top-left corner (may be
 * negative-free but partly off-image on tiny images) and the side of one
 * glyph cell in pixels. The text spans about 60% of the width, centred,
 * its top at 70% of the height. */
void cs_text_layout(uint32_t w, uint32_t h, uint32_t *x0, uint32_t *y0, uint32_t *cell);

/* Gaussian kernel for sigma: weights[0..2r] with r = ceil(3 sigma),
 * normalised to sum 1. Returns r, or -1 if r > max_radius. */
int cs_gaussian_kernel(double sigma, double *weights, int max_radius);

#endif
