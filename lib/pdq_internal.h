/* PDQ internals exposed to the library's other modules and to tests. */
#ifndef CLIENTSCAN_PDQ_INTERNAL_H
#define CLIENTSCAN_PDQ_INTERNAL_H

#include "clientscan.h"

#include <stdbool.h>
#include <stdint.h>

/* The 16x64 DCT-II matrix (frequencies 1..16), rounded as the reference. */
void cs_pdq_dct_matrix(float d[16][64]);

/* Coefficients of a dihedral transform of the image, from the original's. */
void cs_pdq_dihedral_coefficients(const float c[16][16], clientscan_dihedral which,
                                  float out[16][16]);

/* Thresholds coefficients at their median into hashes[0] (and the seven
 * variants when dihedral). */
void cs_pdq_hash_from_coefficients(const float c[16][16], bool dihedral,
                                   clientscan_pdq hashes[CLIENTSCAN_DIHEDRAL_COUNT]);

/* Feeds the rows of a width x height image, top to bottom, to a hasher in
 * the given mode (resampling to 512x512 on the fly for CLI512). Shared by
 * clientscan_pdq_hash_image() and the streaming decode-and-hash path. */
typedef struct cs_pdq_feeder {
    clientscan_pdq_hasher *hasher;
    uint32_t src_width, src_height, channels;
    uint32_t width, height; /* what is hashed */
    bool resample;
    uint32_t next_row;      /* next output row when resampling */
    uint8_t row[512 * 3];
} cs_pdq_feeder;

int cs_pdq_feeder_init(cs_pdq_feeder *f, uint32_t width, uint32_t height, uint32_t channels,
                       clientscan_pdq_mode mode, clientscan_detail *detail);
int cs_pdq_feeder_row(cs_pdq_feeder *f, uint32_t src_y, const uint8_t *row);
/* Hashes and frees the hasher. */
int cs_pdq_feeder_finish(cs_pdq_feeder *f, int dihedral, clientscan_pdq_result *out,
                         clientscan_detail *detail);
void cs_pdq_feeder_free(cs_pdq_feeder *f);

#endif
