/* PDQ's Jarosz filter kernels (lib/pdq_filter.c), used by lib/pdq.c.
 *
 * Rows are filtered CS_PDQ_LANES at a time. Two layouts meet here:
 *   row-major ("rows"):   row k, column x at rows[k][x]
 *   lane-major ("t"):     column x, row k at t[x * CS_PDQ_LANES + k]
 * A row pass runs one running sum per row along x, so it wants one vector
 * holding the same column of every row (lane-major); a column pass runs one
 * sum per column down the rows, so it wants one vector holding neighbouring
 * columns of one row (row-major). The kernels convert between the two with
 * 8x8 in-register transposes, never with strided scalar stores.
 *
 * Every kernel applies to each value exactly the reference's float
 * operations in the reference's order (see the top of lib/pdq.c): vector
 * lanes are independent sums, never parts of one sum. Divisions may be
 * computed another way only if the result is the correctly rounded
 * quotient for every input (lib/pdq_filter.c, avx_divr).
 */
#ifndef CLIENTSCAN_PDQ_FILTER_H
#define CLIENTSCAN_PDQ_FILTER_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CS_PDQ_LANES 16 /* rows per block: 16 sums per pass, as two 8-lane vectors or one 16-lane */
#define CS_PDQ_COL_ALIGN 16 /* padded widths are multiples of this (the sweep's chunk) */
#define CS_PDQ_MAX_SAMPLES 128 /* sampled columns: 64, or 2 x 64 to interpolate between */

/* Image sides the kernels accept: windows, and so divisors, stay <= 2^13,
 * which the exactness of avx_divr (lib/pdq_filter.c) relies on. */
#define CS_PDQ_MAX_SIDE (1u << 20)

/* A window count d (an integer) with 1 / d as the unevaluated sum hi + lo
 * of two floats: hi = RN(1 / d) and lo = RN(1 / d - hi), the form kernels
 * without a divide instruction use. */
typedef struct cs_pdq_divisor {
    float d, hi, lo;
} cs_pdq_divisor;

/* 1 - d hi is exact in float (|1 - d hi| <= 2^-24, a multiple of hi's ulp,
 * which is >= 2^-47 for d <= 2^24), so the fused multiply-add computes it
 * exactly and one IEEE division rounds (1 - d hi) / d = 1 / d - hi once. */
static inline cs_pdq_divisor cs_pdq_divisor_of(float d)
{
    const float hi = 1.0f / d;
    return (cs_pdq_divisor){d, hi, fmaf(-d, hi, 1.0f) / d};
}

/* One block of CS_PDQ_LANES rows through R1 (optional), C1 and R2.
 * Lane-major buffers point at column 0 of an allocation padded with w
 * columns of +0.0f before it (what a running sum subtracts before the row
 * starts) and columns of -0.0f from n to ncols + h after it (what it adds
 * past the row's end); x + (-0.0f) == x and x - (+0.0f) == x for every x,
 * so the pads make the grow and shrink phases exact without branches. */
typedef struct cs_pdq_block {
    size_t n;      /* image width */
    size_t ncols;  /* padded width, a multiple of CS_PDQ_COL_ALIGN */
    int w, h;      /* window and half window along x */
    const cs_pdq_divisor *div_x; /* [ncols]: samples in the window of output column o (1 past n) */
    const uint32_t *sample_x; /* [nsamples], ascending (repeats allowed) */
    int nsamples;             /* 64, at most CS_PDQ_MAX_SAMPLES */

    const float *lum_t;     /* R1 input, lane-major; NULL: no R1 this block */
    float *r1_row0;         /* R1 output: row k at r1_row0 + k * r1_stride */
    size_t r1_stride;

    float *sum1;            /* [ncols] C1 running sums */
    const float *c1_add;    /* C1 step i adds the row at c1_add + i * c1_add_stride */
    size_t c1_add_stride;   /* (0: one -0.0f row, nothing to add) */
    const float *c1_sub[CS_PDQ_LANES]; /* ... row subtracted (a +0.0f row if none) */
    cs_pdq_divisor c1_div[CS_PDQ_LANES]; /* ... divisor */
    float *c1_ring;         /* scratch: C1 output, lane-major, c1_cols + 16 columns */
    size_t c1_cols;         /* a power of two >= 2 w + 48 */

    float (*r2)[CS_PDQ_MAX_SAMPLES]; /* [CS_PDQ_LANES][nsamples]: R2 at the sampled columns */

    /* Where one divisor serves a whole chunk, the sweep loads it once per
     * chunk instead of once per step: div_x[o] == div_x[x_same_div] for
     * every o in [x_same_div, x_same_div_end) (x_same_div < ncols), and
     * c1_div[k] == c1_div[0] for every k if c1_same_div. */
    size_t x_same_div, x_same_div_end;
    bool c1_same_div;
} cs_pdq_block;

/* The DCT's 16 x 64 matrix (lib/pdq.c, cs_pdq_dct_matrix) and its transpose. */
typedef struct cs_pdq_dct_tables {
    float d[16][64];
    float d_t[64][16];
} cs_pdq_dct_tables;

typedef struct cs_pdq_kernels {
    const char *name;
    /* Luma of n pixels of bpp bytes: 1 grey, 3 RGB, 4 RGBX (X ignored). */
    void (*luma)(const uint8_t *src, uint32_t bpp, float *dst, size_t n);
    /* CS_PDQ_LANES rows of ncols floats (row k at rows + k * stride) into the
     * lane-major t: each column's 64-byte line is written whole, at once. */
    void (*transpose_in)(const float *rows, size_t stride, size_t ncols, float *t);
    void (*block)(const cs_pdq_block *b);
    /* q[i] = a[i] / b->d the way block() divides: exposed so tests can
     * compare it with IEEE division. */
    void (*divide)(const float *a, const cs_pdq_divisor *b, float *q, size_t n);
    /* The 16 x 16 DCT coefficients b = D a D^T of the 64 x 64 grid a: the
     * reference's sums, side by side on this set's vectors (same bits in
     * every set). */
    void (*dct)(const cs_pdq_dct_tables *m, const float a[64][64], float b[16][16]);
} cs_pdq_kernels;

/* The fastest kernels this CPU runs. */
const cs_pdq_kernels *cs_pdq_kernels_best(void);

/* Every kernel set built in and runnable here, portable C first (tests
 * compare them). Returns how many were stored (at most max). */
size_t cs_pdq_kernels_all(const cs_pdq_kernels **list, size_t max);

#endif
