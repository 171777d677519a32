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

#endif
