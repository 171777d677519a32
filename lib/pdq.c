/* PDQ perceptual hash, bit-exact with Meta's reference implementation.
 *
 * Pipeline: float luma -> two passes of Jarosz box filters (rows then
 * columns, window ceil(side/128)) -> 64x64 decimation at pixel centres ->
 * quality from 64x64 gradients -> 16x64 DCT-II matrix (rows 1..16, no DC)
 * applied on both sides -> 16x16 coefficients -> bit set where a coefficient
 * exceeds the median.
 *
 * Exactness: every float operation below happens in the same order and at
 * the same precision as in the reference, and the build uses
 * -ffp-contract=off without -ffast-math, so no multiply-add is fused and no
 * sum reassociated. Do not "simplify" an expression here without rerunning
 * the conformance vectors.
 */
#include "internal.h"
#include "pdq_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GRID 64         /* decimated image side */
#define COEFFS 16       /* DCT coefficients kept per side */
#define MIN_SIDE 5      /* smaller images hash to zero, quality 0 */
#define CLI512_SIDE 512 /* reference CLI's resize target */

static const float luma_r = 0.299f;
static const float luma_g = 0.587f;
static const float luma_b = 0.114f;

/* Source coordinate of output pixel i when resampling n_in -> n_out by
 * nearest neighbour the way the reference CLI's image library does
 * (floor(i * n_in / n_out); exact in integers). */
static uint32_t nearest_source(uint32_t i, uint32_t n_in, uint32_t n_out)
{
    return (uint32_t)(((uint64_t)i * n_in) / n_out);
}

static void fill_luma(const clientscan_image *img, uint32_t rows, uint32_t cols, float *luma)
{
    const bool resample = rows != img->height || cols != img->width;
    for (uint32_t y = 0; y < rows; y++) {
        uint32_t sy = resample ? nearest_source(y, img->height, rows) : y;
        const uint8_t *row = img->pixels + (size_t)sy * img->stride;
        float *out = luma + (size_t)y * cols;
        if (img->channels == 1) {
            for (uint32_t x = 0; x < cols; x++) {
                uint32_t sx = resample ? nearest_source(x, img->width, cols) : x;
                out[x] = (float)row[sx];
            }
        } else {
            for (uint32_t x = 0; x < cols; x++) {
                uint32_t sx = resample ? nearest_source(x, img->width, cols) : x;
                const uint8_t *p = row + (size_t)sx * 3;
                out[x] = luma_r * (float)p[0] + luma_g * (float)p[1] + luma_b * (float)p[2];
            }
        }
    }
}

/* Window of the box filter along a side of length n: ceil(n / 128), i.e.
 * half of the n/64 input pixels that fold into one output pixel, because the
 * filter runs twice. */
static int jarosz_window(uint32_t n)
{
    return (int)((n + 2 * GRID - 1) / (2 * GRID));
}

/* One-dimensional box filter over n samples spaced `stride` apart, window w
 * centred as in the reference: the running sum grows over the first half
 * window, slides, then shrinks; each output is sum / samples-in-window. */
static void box_1d(const float *in, float *out, int n, size_t stride, int w)
{
    const int half = (w + 2) / 2;
    const int grow_silent = half - 1;     /* add, no output yet */
    const int grow_write = w - half + 1;  /* add and write */
    const int slide = n - w;              /* add, subtract, write */
    const int shrink = half - 1;          /* subtract and write */
    size_t left = 0, right = 0, o = 0;
    float sum = 0.0f;
    int count = 0;

    for (int i = 0; i < grow_silent; i++) {
        sum += in[right];
        count++;
        right += stride;
    }
    for (int i = 0; i < grow_write; i++) {
        sum += in[right];
        count++;
        out[o] = sum / (float)count;
        right += stride;
        o += stride;
    }
    for (int i = 0; i < slide; i++) {
        sum += in[right];
        sum -= in[left];
        out[o] = sum / (float)count;
        left += stride;
        right += stride;
        o += stride;
    }
    for (int i = 0; i < shrink; i++) {
        sum -= in[left];
        count--;
        out[o] = sum / (float)count;
        left += stride;
        o += stride;
    }
}

/* Two passes, each along rows then along columns; the result ends in buf1. */
static void jarosz_filter(float *buf1, float *buf2, uint32_t rows, uint32_t cols)
{
    const int w_rows = jarosz_window(cols); /* window for filtering along a row */
    const int w_cols = jarosz_window(rows);
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t y = 0; y < rows; y++)
            box_1d(buf1 + (size_t)y * cols, buf2 + (size_t)y * cols, (int)cols, 1, w_rows);
        for (uint32_t x = 0; x < cols; x++)
            box_1d(buf2 + x, buf1 + x, (int)rows, cols, w_cols);
    }
}

static void decimate(const float *in, uint32_t rows, uint32_t cols, float out[GRID][GRID])
{
    for (int i = 0; i < GRID; i++) {
        size_t sy = (size_t)(((i + 0.5) * rows) / GRID);
        for (int j = 0; j < GRID; j++) {
            size_t sx = (size_t)(((j + 0.5) * cols) / GRID);
            out[i][j] = in[sy * cols + sx];
        }
    }
}

/* Counts significant gradients between neighbours of the 64x64 image: each
 * difference quantised to percent of full scale, summed, scaled by 1/90 and
 * capped at 100 (the reference's tuned heuristic). */
static int quality_metric(const float g[GRID][GRID])
{
    int sum = 0;
    for (int i = 0; i < GRID - 1; i++)
        for (int j = 0; j < GRID; j++) {
            int d = (int)(((g[i][j] - g[i + 1][j]) * 100.0f) / 255.0f);
            sum += abs(d);
        }
    for (int i = 0; i < GRID; i++)
        for (int j = 0; j < GRID - 1; j++) {
            int d = (int)(((g[i][j] - g[i][j + 1]) * 100.0f) / 255.0f);
            sum += abs(d);
        }
    int q = sum / 90;
    return q > 100 ? 100 : q;
}

void cs_pdq_dct_matrix(float d[COEFFS][GRID])
{
    /* The scale is rounded to float first, then the product is formed in
     * double and rounded once: the reference's mixed precision. */
    const float scale = (float)sqrt(2.0 / GRID);
    for (int i = 0; i < COEFFS; i++)
        for (int j = 0; j < GRID; j++)
            d[i][j] = (float)((double)scale *
                              cos((M_PI / 2.0 / GRID) * (double)(i + 1) * (double)(2 * j + 1)));
}

/* B = D A D^T, keeping only what is needed: T = D A (16x64), B = T D^T.
 * Each sum accumulates in float over k ascending, starting from zero. */
static void dct_16x16(const float d[COEFFS][GRID], const float a[GRID][GRID],
                      float b[COEFFS][COEFFS])
{
    float t[COEFFS][GRID];
    for (int i = 0; i < COEFFS; i++)
        for (int j = 0; j < GRID; j++) {
            float s = 0.0f;
            for (int k = 0; k < GRID; k++)
                s += d[i][k] * a[k][j];
            t[i][j] = s;
        }
    for (int i = 0; i < COEFFS; i++)
        for (int j = 0; j < COEFFS; j++) {
            float s = 0.0f;
            for (int k = 0; k < GRID; k++)
                s += t[i][k] * d[j][k];
            b[i][j] = s;
        }
}

static int float_cmp(const void *pa, const void *pb)
{
    float a = *(const float *)pa, b = *(const float *)pb;
    return (a > b) - (a < b);
}

/* The reference thresholds at Torben's median of the 256 coefficients, which
 * for an even count is the lower median: the 128th smallest value. */
static float lower_median(const float c[COEFFS][COEFFS])
{
    float sorted[COEFFS * COEFFS];
    memcpy(sorted, c, sizeof sorted);
    qsort(sorted, COEFFS * COEFFS, sizeof sorted[0], float_cmp);
    return sorted[(COEFFS * COEFFS + 1) / 2 - 1];
}

/* Bit (row i, column j) of the hash lives in 16-bit word i, bit j; the
 * reference prints word 15 first, each word as 4 big-endian hex digits. */
static void set_hash_bit(clientscan_pdq *h, int i, int j)
{
    int byte = 2 * (15 - i) + (j < 8 ? 1 : 0);
    h->bytes[byte] |= (uint8_t)(1u << (j & 7));
}

static void coefficients_to_hash(const float c[COEFFS][COEFFS], clientscan_pdq *h)
{
    float median = lower_median(c);
    memset(h, 0, sizeof *h);
    for (int i = 0; i < COEFFS; i++)
        for (int j = 0; j < COEFFS; j++)
            if (c[i][j] > median)
                set_hash_bit(h, i, j);
}

/* Each dihedral transform of the image maps DCT coefficient (i, j) of the
 * original to a signed coefficient of the transformed image. Mirroring along
 * an axis multiplies frequency f by (-1)^f; stored index i is frequency i+1,
 * so even indices change sign. Swapping the axes transposes. */
static const struct {
    bool transpose;
    bool negate_even_rows; /* by the original's row index i */
    bool negate_even_cols; /* by the original's column index j */
} dihedral_maps[CLIENTSCAN_DIHEDRAL_COUNT] = {
    [CLIENTSCAN_DIHEDRAL_ORIGINAL] = {false, false, false},
    [CLIENTSCAN_DIHEDRAL_ROT90] = {true, false, true},
    [CLIENTSCAN_DIHEDRAL_ROT180] = {false, true, true},
    [CLIENTSCAN_DIHEDRAL_ROT270] = {true, true, false},
    [CLIENTSCAN_DIHEDRAL_FLIPX] = {false, true, false},
    [CLIENTSCAN_DIHEDRAL_FLIPY] = {false, false, true},
    [CLIENTSCAN_DIHEDRAL_FLIPPLUS1] = {true, false, false},
    [CLIENTSCAN_DIHEDRAL_FLIPMINUS1] = {true, true, true},
};

void cs_pdq_dihedral_coefficients(const float c[COEFFS][COEFFS], clientscan_dihedral which,
                                  float out[COEFFS][COEFFS])
{
    for (int i = 0; i < COEFFS; i++)
        for (int j = 0; j < COEFFS; j++) {
            bool negate = (dihedral_maps[which].negate_even_rows && (i & 1) == 0) !=
                          (dihedral_maps[which].negate_even_cols && (j & 1) == 0);
            float v = negate ? -c[i][j] : c[i][j];
            if (dihedral_maps[which].transpose)
                out[j][i] = v;
            else
                out[i][j] = v;
        }
}

void cs_pdq_hash_from_coefficients(const float c[COEFFS][COEFFS], bool dihedral,
                                   clientscan_pdq hashes[CLIENTSCAN_DIHEDRAL_COUNT])
{
    memset(hashes, 0, sizeof(clientscan_pdq) * CLIENTSCAN_DIHEDRAL_COUNT);
    coefficients_to_hash(c, &hashes[CLIENTSCAN_DIHEDRAL_ORIGINAL]);
    if (!dihedral)
        return;
    for (int v = CLIENTSCAN_DIHEDRAL_ORIGINAL + 1; v < CLIENTSCAN_DIHEDRAL_COUNT; v++) {
        float t[COEFFS][COEFFS];
        cs_pdq_dihedral_coefficients(c, (clientscan_dihedral)v, t);
        coefficients_to_hash(t, &hashes[v]);
    }
}

int cs_pdq_from_luma(float *buf1, float *buf2, uint32_t rows, uint32_t cols, bool dihedral,
                     clientscan_pdq_result *out)
{
    memset(out, 0, sizeof *out);
    if (rows < MIN_SIDE || cols < MIN_SIDE)
        return CLIENTSCAN_OK; /* reference: all-zero hash, quality 0 */

    float grid[GRID][GRID];
    float dct[COEFFS][GRID];
    float coeffs[COEFFS][COEFFS];
    jarosz_filter(buf1, buf2, rows, cols);
    decimate(buf1, rows, cols, grid);
    out->quality = quality_metric(grid);
    cs_pdq_dct_matrix(dct);
    dct_16x16(dct, grid, coeffs);
    cs_pdq_hash_from_coefficients(coeffs, dihedral, out->hash);
    return CLIENTSCAN_OK;
}

int clientscan_pdq_hash_image(const clientscan_image *image, clientscan_pdq_mode mode,
                              int dihedral, clientscan_pdq_result *out,
                              clientscan_detail *detail)
{
    if (!out)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "no result buffer");
    memset(out, 0, sizeof *out);
    if (!image || !image->pixels || (image->channels != 1 && image->channels != 3) ||
        image->width == 0 || image->height == 0)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "not a decoded image");
    if (mode != CLIENTSCAN_PDQ_MODE_FULL && mode != CLIENTSCAN_PDQ_MODE_CLI512)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "unknown PDQ mode %d", (int)mode);
    size_t row_bytes;
    if (!cs_mul_size(image->width, image->channels, &row_bytes) || image->stride < row_bytes)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "image stride too small");

    uint32_t rows = image->height, cols = image->width;
    if (mode == CLIENTSCAN_PDQ_MODE_CLI512 && (rows > CLI512_SIDE || cols > CLI512_SIDE))
        rows = cols = CLI512_SIDE; /* aspect ratio not kept, as in the reference CLI */

    size_t n, bytes;
    if (!cs_mul_size(rows, cols, &n) || !cs_mul_size(n, sizeof(float), &bytes))
        return cs_fail(detail, CLIENTSCAN_E_LIMIT, "image too large to hash");
    float *buf1 = malloc(bytes);
    float *buf2 = malloc(bytes);
    if (!buf1 || !buf2) {
        free(buf1);
        free(buf2);
        return cs_fail(detail, CLIENTSCAN_E_NOMEM, "cannot allocate %zu bytes for hashing",
                       2 * bytes);
    }
    fill_luma(image, rows, cols, buf1);
    int rc = cs_pdq_from_luma(buf1, buf2, rows, cols, dihedral != 0, out);
    free(buf1);
    free(buf2);
    return rc;
}
