/* PDQ internals exposed to the library's other modules and to tests. */
#ifndef CLIENTSCAN_PDQ_INTERNAL_H
#define CLIENTSCAN_PDQ_INTERNAL_H

#include "clientscan.h"

#include <stdbool.h>
#include <stdint.h>

/* The 16x64 DCT-II matrix (frequencies 1..16), rounded as the reference. */
void cs_pdq_dct_matrix(float d[16][64]);

/* That matrix and its transpose, as the kernels' DCT takes them: computed
 * once per process, then only read (lib/pdq_filter.h). */
struct cs_pdq_dct_tables;
const struct cs_pdq_dct_tables *cs_pdq_shared_dct_tables(void);

/* Coefficients of a dihedral transform of the image, from the original's. */
void cs_pdq_dihedral_coefficients(const float c[16][16], clientscan_dihedral which,
                                  float out[16][16]);

/* Thresholds coefficients at their median into hashes[0] (and the seven
 * variants when dihedral). */
void cs_pdq_hash_from_coefficients(const float c[16][16], bool dihedral,
                                   clientscan_pdq hashes[CLIENTSCAN_DIHEDRAL_COUNT]);

/* A hasher for an image the decoder shrank from source_width x
 * source_height (fast mode). The reference geometry on the small image
 * would put every filter centre up to a few source pixels away from where
 * the full-size hash has it; this one carries the full-size windows and
 * sample centres over and interpolates between pixels, which brings fast
 * hashes much closer to exact ones (docs/speed.md). Sides under 128 px, or
 * no scaling: exactly clientscan_pdq_hasher_new(). */
int cs_pdq_hasher_new_scaled(uint32_t width, uint32_t height, uint32_t source_width,
                             uint32_t source_height, clientscan_pdq_hasher **out,
                             clientscan_detail *detail);

/* clientscan_pdq_hasher_push() that also takes bpp 4: RGBX rows, X ignored
 * (what libjpeg-turbo writes fastest, and what SIMD converts to luma best). */
int cs_pdq_hasher_push_pixels(clientscan_pdq_hasher *h, const uint8_t *row, uint32_t bpp);

/* Makes a fresh hasher (no rows pushed yet) use the given kernel set from
 * cs_pdq_kernels_all() instead of the fastest one: tests check that every
 * set gives the same bits. */
struct cs_pdq_kernels;
void cs_pdq_hasher_use_kernels(clientscan_pdq_hasher *h, const struct cs_pdq_kernels *k);

/* clientscan_pdq_hasher_finish() that stops at the 64x64 grid the DCT is
 * taken of (after the filters and the decimation): tests compare it bit for
 * bit with an oracle. Fails for images too small to hash. */
int cs_pdq_hasher_finish_grid(clientscan_pdq_hasher *h, float grid[64][64],
                              clientscan_detail *detail);

/* Feeds the rows of a width x height image, top to bottom, to a hasher in
 * the given mode (resampling to 512x512 on the fly for CLI512). Shared by
 * clientscan_pdq_hash_image() and the streaming decode-and-hash path. */
typedef struct cs_pdq_feeder {
    clientscan_pdq_hasher *hasher;
    uint32_t src_width, src_height;
    uint32_t bpp;           /* bytes per pixel: 1 grey, 3 RGB, 4 RGBX */
    uint32_t width, height; /* what is hashed */
    bool resample;
    uint32_t next_row;      /* next output row when resampling */
    uint8_t row[512 * 4];
} cs_pdq_feeder;

/* source_width x source_height: the image's size before the decoder's DCT
 * scaling (fast mode); equal to width x height when it was not scaled. */
int cs_pdq_feeder_init(cs_pdq_feeder *f, uint32_t width, uint32_t height, uint32_t source_width,
                       uint32_t source_height, uint32_t bpp, clientscan_pdq_mode mode,
                       clientscan_detail *detail);
int cs_pdq_feeder_row(cs_pdq_feeder *f, uint32_t src_y, const uint8_t *row);
/* Hashes and frees the hasher. */
int cs_pdq_feeder_finish(cs_pdq_feeder *f, int dihedral, clientscan_pdq_result *out,
                         clientscan_detail *detail);
void cs_pdq_feeder_free(cs_pdq_feeder *f);

#endif
