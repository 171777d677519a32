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

/* ---------------------------------------------------------------------
 * Streaming Jarosz filter.
 *
 * The reference filters two full-size float copies of the image: rows (R1),
 * columns (C1), rows (R2), columns (C2), then samples C2 at 64x64 points.
 * Here rows flow through the same four box filters top to bottom, so only
 * a window of rows is ever held, and work that no sample depends on is
 * skipped (R2 and C2 are evaluated only at the 64 sampled columns). Every
 * value that is computed goes through the reference's float operations in
 * the reference's order: each running sum still runs over its whole row or
 * column, adding then subtracting, and each output is sum / count.
 *
 * Speed comes from independence: BLOCK rows are filtered along x together
 * (their running sums interleave, hiding add latency), and the column
 * filters update all columns of a row at once (element-wise, vectorisable).
 * ------------------------------------------------------------------- */

#define BLOCK 8 /* rows filtered along x together; lanes are independent */

struct clientscan_pdq_hasher {
    uint32_t rows, cols;
    int win_x, half_x;  /* box window and half window along a row */
    int win_y, half_y;  /* ... along a column */
    uint32_t pushed;    /* image rows received */
    bool hashable;      /* both sides >= MIN_SIDE */
    bool finished;

    float *luma_t;      /* [cols][BLOCK]: luma of the current block of rows */
    uint32_t luma_rows; /* rows in luma_t */

    float *ring1;       /* R1 rows, row-major, a ring of ring1_rows slots */
    uint32_t ring1_rows;
    float *sum1;        /* C1 running sums, one per column */
    uint32_t c1_step;   /* C1 steps taken (input rows fed, then shrink steps) */

    float *c1_t;        /* [cols][BLOCK]: C1 output rows awaiting R2 */
    uint32_t c1_rows;

    uint32_t sample_x[GRID], sample_y[GRID];
    float *ring2;       /* R2 rows at the sampled columns: ring2_rows x GRID */
    uint32_t ring2_rows;
    float sum2[GRID];
    uint32_t c2_step;
    int grid_row;       /* next grid row to fill */
    float grid[GRID][GRID];
};

/* Window of the box filter along a side of length n: ceil(n / 128), i.e.
 * half of the n/64 input pixels that fold into one output pixel, because the
 * filter runs twice. */
static int jarosz_window(uint32_t n)
{
    return (int)((n + 2 * GRID - 1) / (2 * GRID));
}

/* Samples inside the window whose newest index is `add`, for a box filter
 * of window w over n samples (the window is clipped at both ends). */
static float window_count(int add, int n, int w)
{
    int hi = add < n ? add : n - 1;
    int lo = add - w + 1 > 0 ? add - w + 1 : 0;
    return (float)(hi - lo + 1);
}

/* Column box filter, one step for all m columns: step r adds input row r
 * (while r < n) then subtracts input row r - w (once r >= w); from
 * r = h - 1 on, each step yields output row r - h + 1 into out (element x at
 * out[x * out_stride]). Returns whether it yielded. */
static bool column_step(float *sum, uint32_t m, const float *in, const float *old, int r, int n,
                        int w, int h, float *out, size_t out_stride)
{
    if (r < n)
        for (uint32_t x = 0; x < m; x++)
            sum[x] += in[x];
    if (r >= w)
        for (uint32_t x = 0; x < m; x++)
            sum[x] -= old[x];
    if (r < h - 1)
        return false;
    const float count = window_count(r, n, w);
    for (uint32_t x = 0; x < m; x++)
        out[x * out_stride] = sum[x] / count;
    return true;
}

/* Row box filter of window w (half h) over BLOCK interleaved rows
 * in_t[x][lane] of n samples. With sample == NULL writes every output
 * column o to out[lane][o]; otherwise only columns sample[0..nsamples)
 * (ascending, repeats allowed) to out[lane][j], and stops after the last. */
static void row_filter(const float *in_t, int n, int w, int h, const uint32_t *sample,
                       int nsamples, float *const out[BLOCK])
{
    float sum[BLOCK] = {0};
    for (int x = 0; x < h - 1; x++)
        for (int k = 0; k < BLOCK; k++)
            sum[k] += in_t[(size_t)x * BLOCK + k];
    int j = 0;
    for (int o = 0; o < n && j < nsamples; o++) {
        const int add = o + h - 1, sub = add - w;
        if (add < n)
            for (int k = 0; k < BLOCK; k++)
                sum[k] += in_t[(size_t)add * BLOCK + k];
        if (sub >= 0)
            for (int k = 0; k < BLOCK; k++)
                sum[k] -= in_t[(size_t)sub * BLOCK + k];
        if (sample && sample[j] != (uint32_t)o)
            continue;
        const float count = window_count(add, n, w);
        do {
            for (int k = 0; k < BLOCK; k++)
                out[k][j] = sum[k] / count;
            j++;
        } while (sample && j < nsamples && sample[j] == (uint32_t)o);
    }
}

/* C2 output row q: copy it to every grid row that samples image row q. */
static void emit_grid_rows(clientscan_pdq_hasher *h, int q, const float *row)
{
    while (h->grid_row < GRID && h->sample_y[h->grid_row] == (uint32_t)q)
        memcpy(h->grid[h->grid_row++], row, sizeof h->grid[0]);
}

/* One C2 step; r2_row is the next R2 row (NULL in the shrinking tail). */
static void c2_step(clientscan_pdq_hasher *h, const float *r2_row)
{
    const int r = (int)h->c2_step++;
    float *slot = h->ring2 + (size_t)(r % (int)h->ring2_rows) * GRID;
    if (r2_row)
        memcpy(slot, r2_row, sizeof(float) * GRID);
    const float *old =
        r >= h->win_y ? h->ring2 + (size_t)((r - h->win_y) % (int)h->ring2_rows) * GRID : NULL;
    float out[GRID];
    if (column_step(h->sum2, GRID, slot, old, r, (int)h->rows, h->win_y, h->half_y, out, 1))
        emit_grid_rows(h, r - h->half_y + 1, out);
}

/* R2 over the C1 rows gathered in c1_t, then each result row into C2. */
static void flush_c1_rows(clientscan_pdq_hasher *h)
{
    if (h->c1_rows == 0)
        return;
    float r2[BLOCK][GRID];
    float *out[BLOCK];
    for (int k = 0; k < BLOCK; k++)
        out[k] = r2[k];
    row_filter(h->c1_t, (int)h->cols, h->win_x, h->half_x, h->sample_x, GRID, out);
    for (uint32_t k = 0; k < h->c1_rows; k++)
        c2_step(h, r2[k]);
    h->c1_rows = 0;
}

/* One C1 step; its input row (R1 row r) is already in the ring unless r is
 * past the last row (the shrinking tail). */
static void c1_step(clientscan_pdq_hasher *h)
{
    const int r = (int)h->c1_step++;
    const float *in = h->ring1 + (size_t)(r % (int)h->ring1_rows) * h->cols;
    const float *old =
        r >= h->win_y ? h->ring1 + (size_t)((r - h->win_y) % (int)h->ring1_rows) * h->cols
                      : NULL;
    if (column_step(h->sum1, h->cols, in, old, r, (int)h->rows, h->win_y, h->half_y,
                    h->c1_t + h->c1_rows, BLOCK) &&
        ++h->c1_rows == BLOCK)
        flush_c1_rows(h);
}

/* R1 over the buffered luma rows into the ring, then C1 over each. */
static void flush_luma_rows(clientscan_pdq_hasher *h)
{
    if (h->luma_rows == 0)
        return;
    const uint32_t first = h->pushed - h->luma_rows;
    float *out[BLOCK];
    for (uint32_t k = 0; k < BLOCK; k++) {
        /* Unused lanes of a short last block write into a spare ring slot. */
        uint32_t row = first + (k < h->luma_rows ? k : h->luma_rows);
        out[k] = h->ring1 + (size_t)(row % h->ring1_rows) * h->cols;
    }
    row_filter(h->luma_t, (int)h->cols, h->win_x, h->half_x, NULL, (int)h->cols, out);
    for (uint32_t k = 0; k < h->luma_rows; k++)
        c1_step(h);
    h->luma_rows = 0;
}

static void hasher_destroy(clientscan_pdq_hasher *h)
{
    free(h->luma_t);
    free(h->ring1);
    free(h->sum1);
    free(h->c1_t);
    free(h->ring2);
    free(h);
}

int clientscan_pdq_hasher_new(uint32_t width, uint32_t height, clientscan_pdq_hasher **out,
                              clientscan_detail *detail)
{
    if (!out)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "no hasher pointer");
    *out = NULL;
    if (width == 0 || height == 0 || width > INT32_MAX / BLOCK || height > INT32_MAX / 2)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "cannot hash a %ux%u image", width,
                       height);
    clientscan_pdq_hasher *h = calloc(1, sizeof *h);
    if (!h)
        return cs_fail(detail, CLIENTSCAN_E_NOMEM, "cannot allocate a hasher");
    h->rows = height;
    h->cols = width;
    h->hashable = height >= MIN_SIDE && width >= MIN_SIDE;
    if (h->hashable) {
        h->win_x = jarosz_window(width);
        h->half_x = (h->win_x + 2) / 2;
        h->win_y = jarosz_window(height);
        h->half_y = (h->win_y + 2) / 2;
        /* R1 rows r - win_y .. r stay readable while a block of BLOCK rows,
         * plus one spare slot for unused lanes, is written ahead. */
        h->ring1_rows = (uint32_t)h->win_y + BLOCK + 1;
        h->ring2_rows = (uint32_t)h->win_y + 1;
        for (int i = 0; i < GRID; i++) {
            h->sample_y[i] = (uint32_t)(((i + 0.5) * height) / GRID);
            h->sample_x[i] = (uint32_t)(((i + 0.5) * width) / GRID);
        }
        h->luma_t = calloc((size_t)width * BLOCK, sizeof(float));
        h->c1_t = calloc((size_t)width * BLOCK, sizeof(float));
        h->sum1 = calloc(width, sizeof(float));
        h->ring1 = calloc((size_t)h->ring1_rows * width, sizeof(float));
        h->ring2 = calloc((size_t)h->ring2_rows * GRID, sizeof(float));
        if (!h->luma_t || !h->c1_t || !h->sum1 || !h->ring1 || !h->ring2) {
            hasher_destroy(h);
            return cs_fail(detail, CLIENTSCAN_E_NOMEM, "cannot allocate hasher buffers");
        }
    }
    *out = h;
    return CLIENTSCAN_OK;
}

int clientscan_pdq_hasher_push(clientscan_pdq_hasher *h, const uint8_t *row, uint32_t channels)
{
    if (!h || !row || (channels != 1 && channels != 3) || h->finished || h->pushed >= h->rows)
        return CLIENTSCAN_E_INVALID_ARGUMENT;
    h->pushed++;
    if (!h->hashable)
        return CLIENTSCAN_OK;
    float *dst = h->luma_t + h->luma_rows;
    if (channels == 1) {
        for (uint32_t x = 0; x < h->cols; x++)
            dst[(size_t)x * BLOCK] = (float)row[x];
    } else {
        for (uint32_t x = 0; x < h->cols; x++) {
            const uint8_t *p = row + (size_t)x * 3;
            dst[(size_t)x * BLOCK] =
                luma_r * (float)p[0] + luma_g * (float)p[1] + luma_b * (float)p[2];
        }
    }
    if (++h->luma_rows == BLOCK)
        flush_luma_rows(h);
    return CLIENTSCAN_OK;
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

void clientscan_pdq_hasher_free(clientscan_pdq_hasher *h)
{
    if (h)
        hasher_destroy(h);
}

int clientscan_pdq_hasher_finish(clientscan_pdq_hasher *h, int dihedral,
                                 clientscan_pdq_result *out, clientscan_detail *detail)
{
    if (!h || !out)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "no hasher or result");
    memset(out, 0, sizeof *out);
    if (h->finished)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "hasher already finished");
    if (h->pushed != h->rows)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "got %u of %u rows", h->pushed,
                       h->rows);
    h->finished = true;
    if (!h->hashable)
        return CLIENTSCAN_OK; /* reference: all-zero hash, quality 0 */
    flush_luma_rows(h);
    const uint32_t steps = h->rows + (uint32_t)h->half_y - 1; /* inputs + shrinking tail */
    while (h->c1_step < steps)
        c1_step(h);
    flush_c1_rows(h);
    while (h->c2_step < steps)
        c2_step(h, NULL);
    if (h->grid_row != GRID)
        return cs_fail(detail, CLIENTSCAN_E_INTERNAL, "filled %d of 64 grid rows", h->grid_row);

    float dct[COEFFS][GRID];
    float coeffs[COEFFS][COEFFS];
    out->quality = quality_metric((const float(*)[GRID])h->grid);
    cs_pdq_dct_matrix(dct);
    dct_16x16((const float(*)[GRID])dct, (const float(*)[GRID])h->grid, coeffs);
    cs_pdq_hash_from_coefficients((const float(*)[COEFFS])coeffs, dihedral != 0, out->hash);
    return CLIENTSCAN_OK;
}

/* Source coordinate of output pixel i when resampling n_in -> n_out by
 * nearest neighbour the way the reference CLI's image library does:
 * floor(i * n_in / n_out), exact in integers. */
static uint32_t nearest_source(uint32_t i, uint32_t n_in, uint32_t n_out)
{
    return (uint32_t)(((uint64_t)i * n_in) / n_out);
}

int cs_pdq_feeder_init(cs_pdq_feeder *f, uint32_t width, uint32_t height, uint32_t channels,
                       clientscan_pdq_mode mode, clientscan_detail *detail)
{
    memset(f, 0, sizeof *f);
    if (mode != CLIENTSCAN_PDQ_MODE_FULL && mode != CLIENTSCAN_PDQ_MODE_CLI512)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "unknown PDQ mode %d", (int)mode);
    if (channels != 1 && channels != 3)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "%u channels", channels);
    f->src_width = width;
    f->src_height = height;
    f->channels = channels;
    f->resample = mode == CLIENTSCAN_PDQ_MODE_CLI512 &&
                  (width > CLI512_SIDE || height > CLI512_SIDE);
    /* aspect ratio not kept, as in the reference CLI */
    f->width = f->resample ? CLI512_SIDE : width;
    f->height = f->resample ? CLI512_SIDE : height;
    return clientscan_pdq_hasher_new(f->width, f->height, &f->hasher, detail);
}

int cs_pdq_feeder_row(cs_pdq_feeder *f, uint32_t src_y, const uint8_t *row)
{
    if (!f->resample)
        return clientscan_pdq_hasher_push(f->hasher, row, f->channels);
    /* Emit every output row that samples this source row (rows come in order). */
    const uint32_t ch = f->channels;
    int rc = CLIENTSCAN_OK;
    while (rc == CLIENTSCAN_OK && f->next_row < f->height &&
           nearest_source(f->next_row, f->src_height, f->height) == src_y) {
        for (uint32_t x = 0; x < f->width; x++)
            memcpy(f->row + x * ch, row + (size_t)nearest_source(x, f->src_width, f->width) * ch,
                   ch);
        rc = clientscan_pdq_hasher_push(f->hasher, f->row, ch);
        f->next_row++;
    }
    return rc;
}

int cs_pdq_feeder_finish(cs_pdq_feeder *f, int dihedral, clientscan_pdq_result *out,
                         clientscan_detail *detail)
{
    int rc = clientscan_pdq_hasher_finish(f->hasher, dihedral, out, detail);
    cs_pdq_feeder_free(f);
    return rc;
}

void cs_pdq_feeder_free(cs_pdq_feeder *f)
{
    clientscan_pdq_hasher_free(f->hasher);
    f->hasher = NULL;
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
    size_t row_bytes;
    if (!cs_mul_size(image->width, image->channels, &row_bytes) || image->stride < row_bytes)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "image stride too small");
    cs_pdq_feeder f;
    int rc = cs_pdq_feeder_init(&f, image->width, image->height, image->channels, mode, detail);
    for (uint32_t y = 0; y < image->height && rc == CLIENTSCAN_OK; y++)
        rc = cs_pdq_feeder_row(&f, y, image->pixels + (size_t)y * image->stride);
    if (rc == CLIENTSCAN_OK)
        return cs_pdq_feeder_finish(&f, dihedral, out, detail);
    cs_pdq_feeder_free(&f);
    return rc;
}
