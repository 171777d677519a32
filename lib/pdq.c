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
#include "pdq_filter.h"
#include "pdq_internal.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define GRID 64         /* decimated image side */
#define COEFFS 16       /* DCT coefficients kept per side */
#define MIN_SIDE 5      /* smaller images hash to zero, quality 0 */

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
 * Rows arrive one at a time and are converted to luma; every CS_PDQ_LANES
 * (16) rows are transposed into a lane-major block, which goes through R1,
 * C1 and R2 in one vectorised sweep (lib/pdq_filter.c). C1 step r adds R1
 * row r and subtracts R1 row r - win, so R1 rows live in a ring of win + 16
 * rows. C2 runs on the 64 sampled columns of each R2 row as it comes out.
 * ------------------------------------------------------------------- */

enum { LANES = CS_PDQ_LANES };

struct clientscan_pdq_hasher {
    uint32_t rows, cols;
    int win_x, half_x;  /* box window and half window along a row */
    int win_y, half_y;  /* ... along a column */
    uint32_t pushed;    /* image rows received */
    bool hashable;      /* both sides >= MIN_SIDE */
    bool finished;
    const cs_pdq_kernels *k;
    size_t ncols;       /* cols padded to CS_PDQ_COL_ALIGN */
    size_t row_stride;  /* floats between rows of lum and ring1 (see row_stride()) */

    float *lum;         /* [LANES][row_stride]: luma of the current block's rows */
    uint32_t lum_rows;
    float *lum_t_mem, *lum_t; /* the same, lane-major (padded) */

    float *ring1;       /* R1 rows, row-major, a ring of ring1_rows slots */
    uint32_t ring1_rows;
    float *sum1;        /* C1 running sums, one per column */
    float *zeros, *neg_zeros; /* rows of +0.0f / -0.0f: "nothing to subtract / add" */
    uint32_t c1_step;   /* C1 steps taken (input rows, then shrink steps) */
    float *c1_ring;     /* the kernels' ring of lane-major C1 output ... */
    size_t c1_cols;     /* ... of this many columns */
    cs_pdq_divisor *div_x; /* [ncols]: samples in the row window of each output column */
    size_t x_same_div, x_same_div_end; /* columns around the middle with one divisor */
    float r2[LANES][CS_PDQ_MAX_SAMPLES];

    /* Sampled columns and rows, ascending: the 64 grid points, or (when
     * interpolating) each grid point's two neighbours, 2k and 2k + 1. */
    int nsamples;
    uint32_t sample_x[CS_PDQ_MAX_SAMPLES], sample_y[CS_PDQ_MAX_SAMPLES];
    bool interpolate;
    float frac_x[GRID], frac_y[GRID]; /* weight of neighbour 2k + 1 */
    float *ring2;       /* R2 rows at the sampled columns: ring2_rows x nsamples */
    uint32_t ring2_rows;
    float sum2[CS_PDQ_MAX_SAMPLES];
    uint32_t c2_step;
    int sample_row;     /* next row of samples to fill */
    float samples[CS_PDQ_MAX_SAMPLES][CS_PDQ_MAX_SAMPLES];
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

/* C2 output row q: copy it to every row of samples taken at image row q. */
static void emit_sample_rows(clientscan_pdq_hasher *h, int q, const float *row)
{
    while (h->sample_row < h->nsamples && h->sample_y[h->sample_row] == (uint32_t)q)
        memcpy(h->samples[h->sample_row++], row, sizeof(float) * (size_t)h->nsamples);
}

/* One C2 step on the sampled columns: step r adds R2 row r (r2_row, NULL
 * past the image's last row) and subtracts R2 row r - win_y, kept in a ring:
 * (sum + added) - subtracted, the reference's order, in one pass, with -0
 * added when there is nothing to add and +0 subtracted when there is nothing
 * to subtract. Output row r - half_y + 1 is divided out only when samples
 * are taken in it. */
static void c2_step(clientscan_pdq_hasher *h, const float *r2_row)
{
    const int r = (int)h->c2_step++;
    const size_t m = (size_t)h->nsamples;
    const float *add = h->neg_zeros, *sub = h->zeros;
    if (r2_row) {
        float *slot = h->ring2 + (size_t)(r % (int)h->ring2_rows) * m;
        memcpy(slot, r2_row, sizeof(float) * m);
        add = slot;
    }
    if (r >= h->win_y)
        sub = h->ring2 + (size_t)((r - h->win_y) % (int)h->ring2_rows) * m;
    for (size_t x = 0; x < m; x++)
        h->sum2[x] = (h->sum2[x] + add[x]) - sub[x];
    const int q = r - h->half_y + 1;
    if (q < 0 || h->sample_row == h->nsamples || (int)h->sample_y[h->sample_row] != q)
        return;
    const float count = window_count(r, (int)h->rows, h->win_y);
    float out[CS_PDQ_MAX_SAMPLES];
    for (size_t x = 0; x < m; x++)
        out[x] = h->sum2[x] / count;
    emit_sample_rows(h, q, out);
}

static float *ring1_row(const clientscan_pdq_hasher *h, uint32_t r)
{
    return h->ring1 + (size_t)(r % h->ring1_rows) * h->row_stride;
}

/* The next LANES C1 steps, with R1 first when a block of luma is waiting,
 * then R2 and C2 on the C1 rows those steps yield. */
static void run_block(clientscan_pdq_hasher *h, bool with_r1)
{
    const uint32_t r0 = h->c1_step; /* == first row of the luma block */
    const uint32_t steps = h->rows + (uint32_t)h->half_y - 1; /* inputs + shrinking tail */
    cs_pdq_block b = {
        .n = h->cols, .ncols = h->ncols, .w = h->win_x, .h = h->half_x,
        .div_x = h->div_x, .sample_x = h->sample_x,
        .nsamples = h->nsamples,
        .lum_t = with_r1 ? h->lum_t : NULL,
        .sum1 = h->sum1, .c1_ring = h->c1_ring, .c1_cols = h->c1_cols, .r2 = h->r2,
        .x_same_div = h->x_same_div, .x_same_div_end = h->x_same_div_end, .c1_same_div = true,
    };
    /* The block's R1 rows are consecutive in the ring. Those past the image's
     * end, from a partial block whose spare lanes hold -0 luma, are +0: adding
     * them is as exact as adding -0 (C1's sums are never -0). */
    b.r1_row0 = ring1_row(h, r0);
    b.r1_stride = h->row_stride;
    b.c1_add = with_r1 ? b.r1_row0 : h->neg_zeros;
    b.c1_add_stride = with_r1 ? h->row_stride : 0;
    for (uint32_t k = 0; k < LANES; k++) {
        const uint32_t r = r0 + k;
        b.c1_sub[k] = r >= (uint32_t)h->win_y ? ring1_row(h, r - (uint32_t)h->win_y) : h->zeros;
        /* Steps past the last one are computed but never used: divide by 1. */
        b.c1_div[k] =
            cs_pdq_divisor_of(r < steps ? window_count((int)r, (int)h->rows, h->win_y) : 1.0f);
        b.c1_same_div = b.c1_same_div && b.c1_div[k].d == b.c1_div[0].d;
    }
    h->k->block(&b);
    for (uint32_t k = 0; k < LANES; k++) {
        const uint32_t r = r0 + k;
        if (r + 1 >= (uint32_t)h->half_y && r < steps)
            c2_step(h, h->r2[k]);
    }
    h->c1_step += LANES;
}

/* Runs the block of luma rows received; a partial last block's spare rows
 * become -0 (what a sum adds for nothing). */
static void run_luma_block(clientscan_pdq_hasher *h)
{
    for (uint32_t k = h->lum_rows; k < LANES; k++)
        for (size_t x = 0; x < h->ncols; x++)
            h->lum[k * h->row_stride + x] = -0.0f;
    h->k->transpose_in(h->lum, h->row_stride, h->ncols, h->lum_t);
    run_block(h, true);
    h->lum_rows = 0;
}

static void hasher_destroy(clientscan_pdq_hasher *h)
{
    free(h->lum);
    free(h->lum_t_mem);
    free(h->ring1);
    free(h->sum1);
    free(h->zeros);
    free(h->neg_zeros);
    free(h->c1_ring);
    free(h->div_x);
    free(h->ring2);
    free(h);
}

/* n x m floats, 64-byte aligned, every one set to fill; NULL on overflow or
 * when out of memory. */
static float *alloc_floats(size_t n, size_t m, float fill)
{
    size_t count, bytes;
    if (!cs_mul_size(n, m, &count) || !cs_mul_size(count, sizeof(float), &bytes) ||
        !cs_add_size(bytes, 63, &bytes))
        return NULL;
    float *p = aligned_alloc(64, bytes & ~(size_t)63);
    if (p)
        for (size_t i = 0; i < count; i++)
            p[i] = fill;
    return p;
}

/* n divisors of 1, 64-byte aligned; NULL on overflow or out of memory. */
static cs_pdq_divisor *alloc_divisors(size_t n)
{
    size_t bytes;
    if (!cs_mul_size(n, sizeof(cs_pdq_divisor), &bytes) || !cs_add_size(bytes, 63, &bytes))
        return NULL;
    cs_pdq_divisor *p = aligned_alloc(64, bytes & ~(size_t)63);
    for (size_t i = 0; p && i < n; i++)
        p[i] = cs_pdq_divisor_of(1.0f);
    return p;
}

/* A lane-major block buffer: w columns of +0 before column 0 (what a sum
 * subtracts before the row starts), -0 from there on (what it adds past
 * the row's end, and the initial content). */
static float *alloc_lane_major(const clientscan_pdq_hasher *h, float **base)
{
    const size_t front = (size_t)h->win_x, total = front + h->ncols + (size_t)h->half_x;
    *base = alloc_floats(total, LANES, -0.0f);
    if (!*base)
        return NULL;
    for (size_t i = 0; i < front * LANES; i++)
        (*base)[i] = 0.0f;
    return *base + front * LANES;
}

/* Floats from one row to the next in the row-major buffers, whose kernels
 * walk 16 to 32 rows side by side. Rows a multiple of 4 KB apart would all
 * fall into the same few L1 sets (and alias for store forwarding); an odd
 * number of 64-byte lines apart, consecutive rows use distinct sets. Widths
 * of 1024, 2048 or 3072 pixels hashed 2.3x slower per pixel without this. */
static size_t row_stride(size_t ncols)
{
    const size_t line = 64 / sizeof(float);
    return (ncols / line) % 2 ? ncols : ncols + line;
}

/* Two passes of a box of even window w move a value's centre one pixel
 * forward (each window reaches half a pixel further ahead than behind); an
 * odd window is centred. */
static int two_pass_shift(int w)
{
    return w % 2 == 0 ? 1 : 0;
}

/* Window and sampled pixels along one side of n pixels. The reference's:
 * window ceil(n / 128), the 64 pixels floor((i + 0.5) n / 64). Mapped, for
 * an image the decoder shrank from source_n pixels: the full-size window
 * scaled down, and each full-size sample's filter centre carried into this
 * image, where it falls between pixels sample[2i] and sample[2i + 1] with
 * weight frac[i] on the second (needs n >= 128: samples stay ascending). */
static void side_geometry(uint32_t n, uint32_t source_n, bool mapped, int *win, uint32_t *sample,
                          float *frac)
{
    if (!mapped) {
        *win = jarosz_window(n);
        for (int i = 0; i < GRID; i++)
            sample[i] = (uint32_t)(((i + 0.5) * n) / GRID);
        return;
    }
    const double scale = (double)n / source_n;
    const int full_win = jarosz_window(source_n);
    const long w = lround(full_win * scale);
    *win = w < 1 ? 1 : (int)w;
    for (int i = 0; i < GRID; i++) {
        const uint32_t full = (uint32_t)(((i + 0.5) * source_n) / GRID);
        /* pixel centres: index + 0.5, in each image's own pixels */
        double pos = scale * (full + two_pass_shift(full_win) + 0.5) - two_pass_shift(*win) - 0.5;
        pos = pos < 0 ? 0 : pos > n - 1 ? n - 1 : pos;
        const uint32_t lo = (uint32_t)pos;
        sample[2 * i] = lo;
        sample[2 * i + 1] = lo + 1 < n ? lo + 1 : lo;
        frac[i] = (float)(pos - lo);
    }
}

/* The 64x64 grid: the samples themselves, or each point interpolated
 * between its four neighbours. */
static void grid_from_samples(const clientscan_pdq_hasher *h, float grid[GRID][GRID])
{
    if (!h->interpolate) {
        for (int i = 0; i < GRID; i++)
            memcpy(grid[i], h->samples[i], sizeof grid[i]);
        return;
    }
    for (int i = 0; i < GRID; i++) {
        const float fy = h->frac_y[i];
        const float *top = h->samples[2 * i], *bottom = h->samples[2 * i + 1];
        for (int j = 0; j < GRID; j++) {
            const float fx = h->frac_x[j];
            const float t = (1 - fx) * top[2 * j] + fx * top[2 * j + 1];
            const float b = (1 - fx) * bottom[2 * j] + fx * bottom[2 * j + 1];
            grid[i][j] = (1 - fy) * t + fy * b;
        }
    }
}

int clientscan_pdq_hasher_new(uint32_t width, uint32_t height, clientscan_pdq_hasher **out,
                              clientscan_detail *detail)
{
    return cs_pdq_hasher_new_scaled(width, height, width, height, out, detail);
}

int cs_pdq_hasher_new_scaled(uint32_t width, uint32_t height, uint32_t source_width,
                             uint32_t source_height, clientscan_pdq_hasher **out,
                             clientscan_detail *detail)
{
    if (!out)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "no hasher pointer");
    *out = NULL;
    if (width == 0 || height == 0 || width > CS_PDQ_MAX_SIDE || height > CS_PDQ_MAX_SIDE)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT,
                       "cannot hash a %ux%u image (sides from 1 to %u pixels)", width, height,
                       CS_PDQ_MAX_SIDE);
    clientscan_pdq_hasher *h = calloc(1, sizeof *h);
    if (!h)
        return cs_fail(detail, CLIENTSCAN_E_NOMEM, "cannot allocate a hasher");
    h->rows = height;
    h->cols = width;
    h->k = cs_pdq_kernels_best();
    h->hashable = height >= MIN_SIDE && width >= MIN_SIDE;
    if (h->hashable) {
        h->interpolate = (source_width > width || source_height > height) &&
                         width >= 2 * GRID && height >= 2 * GRID;
        h->nsamples = h->interpolate ? 2 * GRID : GRID;
        side_geometry(width, source_width, h->interpolate, &h->win_x, h->sample_x, h->frac_x);
        side_geometry(height, source_height, h->interpolate, &h->win_y, h->sample_y, h->frac_y);
        h->half_x = (h->win_x + 2) / 2;
        h->half_y = (h->win_y + 2) / 2;
        h->ncols = ((size_t)width + CS_PDQ_COL_ALIGN - 1) / CS_PDQ_COL_ALIGN * CS_PDQ_COL_ALIGN;
        /* R1 rows r - win_y .. r + LANES - 1 are in use during a block; a
         * multiple of LANES rows keeps each block's rows consecutive. */
        h->ring1_rows = ((uint32_t)h->win_y + LANES - 1) / LANES * LANES + LANES;
        h->ring2_rows = (uint32_t)h->win_y + 1;
        /* Luma rows end in -0 padding: transposed, it is what R1 adds past the end. */
        h->row_stride = row_stride(h->ncols);
        h->lum = alloc_floats(LANES, h->row_stride, -0.0f);
        h->lum_t = alloc_lane_major(h, &h->lum_t_mem);
        /* C1's output only lives until R2 subtracts it, w columns and a chunk
         * later (lib/pdq_filter_body.h). */
        h->c1_cols = 64;
        while (h->c1_cols < 2 * (size_t)h->win_x + 48)
            h->c1_cols *= 2;
        h->c1_ring = alloc_floats(h->c1_cols + 16, LANES, 0.0f); /* + a mirror of 16 */
        h->ring1 = alloc_floats(h->ring1_rows, h->row_stride, 0.0f);
        h->sum1 = alloc_floats(1, h->ncols, 0.0f);
        /* C1 adds and subtracts them over ncols columns, C2 over nsamples */
        const size_t zeros_len = h->ncols > CS_PDQ_MAX_SAMPLES ? h->ncols : CS_PDQ_MAX_SAMPLES;
        h->zeros = alloc_floats(1, zeros_len, 0.0f);
        h->neg_zeros = alloc_floats(1, zeros_len, -0.0f);
        h->div_x = alloc_divisors(h->ncols);
        h->ring2 = alloc_floats(h->ring2_rows, (size_t)h->nsamples, 0.0f);
        if (!h->lum || !h->lum_t || !h->c1_ring || !h->ring1 || !h->sum1 || !h->zeros ||
            !h->neg_zeros || !h->div_x || !h->ring2) {
            hasher_destroy(h);
            return cs_fail(detail, CLIENTSCAN_E_NOMEM, "cannot allocate hasher buffers");
        }
        for (uint32_t o = 0; o < width; o++)
            h->div_x[o] =
                cs_pdq_divisor_of(window_count((int)o + h->half_x - 1, (int)width, h->win_x));
        /* where the window is not clipped: most columns */
        const float mid = h->div_x[width / 2].d;
        h->x_same_div = h->x_same_div_end = width / 2;
        while (h->x_same_div > 0 && h->div_x[h->x_same_div - 1].d == mid)
            h->x_same_div--;
        while (h->x_same_div_end < width && h->div_x[h->x_same_div_end].d == mid)
            h->x_same_div_end++;
    }
    *out = h;
    return CLIENTSCAN_OK;
}

void cs_pdq_hasher_use_kernels(clientscan_pdq_hasher *h, const cs_pdq_kernels *k)
{
    if (h && k && h->pushed == 0)
        h->k = k;
}

int cs_pdq_hasher_push_pixels(clientscan_pdq_hasher *h, const uint8_t *row, uint32_t bpp)
{
    if (!h || !row || (bpp != 1 && bpp != 3 && bpp != 4) || h->finished || h->pushed >= h->rows)
        return CLIENTSCAN_E_INVALID_ARGUMENT;
    h->pushed++;
    if (!h->hashable)
        return CLIENTSCAN_OK;
    h->k->luma(row, bpp, h->lum + (size_t)h->lum_rows * h->row_stride, h->cols);
    if (++h->lum_rows == LANES)
        run_luma_block(h);
    return CLIENTSCAN_OK;
}

int clientscan_pdq_hasher_push(clientscan_pdq_hasher *h, const uint8_t *row, uint32_t channels)
{
    if (channels != 1 && channels != 3)
        return CLIENTSCAN_E_INVALID_ARGUMENT;
    return cs_pdq_hasher_push_pixels(h, row, channels);
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

/* The DCT matrix every hash uses, and its transpose, computed once per
 * process (its 1,024 cosines took 10-25 us of every hash: 12-19% of hashing
 * a 256-pixel image) and only read after. */
static cs_pdq_dct_tables dct_tables;
static pthread_once_t dct_tables_once = PTHREAD_ONCE_INIT;

static void dct_tables_init(void)
{
    cs_pdq_dct_matrix(dct_tables.d);
    for (int i = 0; i < COEFFS; i++)
        for (int k = 0; k < GRID; k++)
            dct_tables.d_t[k][i] = dct_tables.d[i][k];
}

const cs_pdq_dct_tables *cs_pdq_shared_dct_tables(void)
{
    pthread_once(&dct_tables_once, dct_tables_init);
    return &dct_tables;
}

/* The k-th smallest (from 0) of v[0..n-1], reordering v: Wirth's selection.
 * Each pass splits the range around the value now at k and keeps the side
 * holding k: ~3n comparisons where sorting took n log n calls of a
 * comparison function (qsort was ~6 us of a 70 us hash, and the scanner's
 * dihedral hashes take eight medians). The scans are bounded by the range
 * as well, so no input, not even a NaN, can take them outside it. */
static float kth_smallest(float *v, int n, int k)
{
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        const float pivot = v[k];
        int i = lo, j = hi;
        do {
            while (i < hi && v[i] < pivot)
                i++;
            while (j > lo && pivot < v[j])
                j--;
            if (i <= j) {
                const float t = v[i];
                v[i++] = v[j];
                v[j--] = t;
            }
        } while (i <= j);
        if (j < k)
            lo = i;
        if (k < i)
            hi = j;
    }
    return v[k];
}

/* The reference thresholds at Torben's median of the 256 coefficients, which
 * for an even count is the lower median: the 128th smallest value. */
static float lower_median(const float c[COEFFS][COEFFS])
{
    float v[COEFFS * COEFFS];
    memcpy(v, c, sizeof v);
    return kth_smallest(v, COEFFS * COEFFS, (COEFFS * COEFFS + 1) / 2 - 1);
}

/* Bit (row i, column j) of the hash lives in 16-bit word i, bit j; the
 * reference prints word 15 first, each word as 4 big-endian hex digits. */
static void set_hash_bit(clientscan_pdq *h, int i, int j)
{
    int byte = 2 * (15 - i) + (j < 8 ? 1 : 0);
    h->bytes[byte] |= (uint8_t)(1u << (j & 7));
}

static void threshold_to_hash(const float c[COEFFS][COEFFS], float median, clientscan_pdq *h)
{
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

/* A variant's coefficients are the original's with some signs flipped, maybe
 * transposed. A transposition keeps the set of values, so the median depends
 * only on which signs flip: eight hashes need four medians. */
void cs_pdq_hash_from_coefficients(const float c[COEFFS][COEFFS], bool dihedral,
                                   clientscan_pdq hashes[CLIENTSCAN_DIHEDRAL_COUNT])
{
    memset(hashes, 0, sizeof(clientscan_pdq) * CLIENTSCAN_DIHEDRAL_COUNT);
    float median[2][2];
    bool have_median[2][2] = {{false, false}, {false, false}};
    const int variants = dihedral ? CLIENTSCAN_DIHEDRAL_COUNT : 1;
    for (int v = CLIENTSCAN_DIHEDRAL_ORIGINAL; v < variants; v++) {
        float t[COEFFS][COEFFS];
        cs_pdq_dihedral_coefficients(c, (clientscan_dihedral)v, t);
        const int rows = dihedral_maps[v].negate_even_rows;
        const int cols = dihedral_maps[v].negate_even_cols;
        if (!have_median[rows][cols]) {
            median[rows][cols] = lower_median((const float(*)[COEFFS])t);
            have_median[rows][cols] = true;
        }
        threshold_to_hash((const float(*)[COEFFS])t, median[rows][cols], &hashes[v]);
    }
}

void clientscan_pdq_hasher_free(clientscan_pdq_hasher *h)
{
    if (h)
        hasher_destroy(h);
}

/* Checks that every row came, runs the filters' last steps and fills the
 * 64x64 grid; *has_grid stays false for an image too small to hash. */
static int finish_filters(clientscan_pdq_hasher *h, float grid[GRID][GRID], bool *has_grid,
                          clientscan_detail *detail)
{
    *has_grid = false;
    if (h->finished)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "hasher already finished");
    if (h->pushed != h->rows)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "got %u of %u rows", h->pushed,
                       h->rows);
    h->finished = true;
    if (!h->hashable)
        return CLIENTSCAN_OK;
    if (h->lum_rows > 0)
        run_luma_block(h); /* the last, partial block of rows */
    const uint32_t steps = h->rows + (uint32_t)h->half_y - 1; /* inputs + shrinking tail */
    while (h->c1_step < steps)
        run_block(h, false);
    while (h->c2_step < steps)
        c2_step(h, NULL);
    if (h->sample_row != h->nsamples)
        return cs_fail(detail, CLIENTSCAN_E_INTERNAL, "filled %d of %d sample rows",
                       h->sample_row, h->nsamples);
    grid_from_samples(h, grid);
    *has_grid = true;
    return CLIENTSCAN_OK;
}

int clientscan_pdq_hasher_finish(clientscan_pdq_hasher *h, int dihedral,
                                 clientscan_pdq_result *out, clientscan_detail *detail)
{
    if (!h || !out)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "no hasher or result");
    memset(out, 0, sizeof *out);
    float grid[GRID][GRID];
    bool has_grid;
    const int rc = finish_filters(h, grid, &has_grid, detail);
    if (rc != CLIENTSCAN_OK || !has_grid)
        return rc; /* too small: the reference's all-zero hash, quality 0 */
    float coeffs[COEFFS][COEFFS];
    out->quality = quality_metric((const float(*)[GRID])grid);
    h->k->dct(cs_pdq_shared_dct_tables(), (const float(*)[GRID])grid, coeffs);
    cs_pdq_hash_from_coefficients((const float(*)[COEFFS])coeffs, dihedral != 0, out->hash);
    return CLIENTSCAN_OK;
}

int cs_pdq_hasher_finish_grid(clientscan_pdq_hasher *h, float grid[GRID][GRID],
                              clientscan_detail *detail)
{
    if (!h || !grid)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "no hasher or grid");
    bool has_grid;
    const int rc = finish_filters(h, grid, &has_grid, detail);
    if (rc == CLIENTSCAN_OK && !has_grid)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT,
                       "a %ux%u image is too small to have a grid", h->cols, h->rows);
    return rc;
}

/* Source coordinate of output pixel i when resampling n_in -> n_out by
 * nearest neighbour the way the reference CLI's image library does:
 * floor(i * n_in / n_out), exact in integers. */
static uint32_t nearest_source(uint32_t i, uint32_t n_in, uint32_t n_out)
{
    return (uint32_t)(((uint64_t)i * n_in) / n_out);
}

int cs_pdq_feeder_init(cs_pdq_feeder *f, uint32_t width, uint32_t height, uint32_t source_width,
                       uint32_t source_height, uint32_t bpp, clientscan_pdq_mode mode,
                       clientscan_detail *detail)
{
    memset(f, 0, sizeof *f);
    if (mode != CLIENTSCAN_PDQ_MODE_FULL && mode != CLIENTSCAN_PDQ_MODE_CLI512)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "unknown PDQ mode %d", (int)mode);
    if (bpp != 1 && bpp != 3 && bpp != 4)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "%u bytes per pixel", bpp);
    f->src_width = width;
    f->src_height = height;
    f->bpp = bpp;
    f->resample = mode == CLIENTSCAN_PDQ_MODE_CLI512 &&
                  (width > CLIENTSCAN_CLI512_SIDE || height > CLIENTSCAN_CLI512_SIDE);
    /* aspect ratio not kept, as in the reference CLI */
    f->width = f->resample ? CLIENTSCAN_CLI512_SIDE : width;
    f->height = f->resample ? CLIENTSCAN_CLI512_SIDE : height;
    if (f->resample) /* the reference CLI's geometry, on its 512 x 512 image */
        return clientscan_pdq_hasher_new(f->width, f->height, &f->hasher, detail);
    return cs_pdq_hasher_new_scaled(f->width, f->height, source_width, source_height, &f->hasher,
                                    detail);
}

int cs_pdq_feeder_row(cs_pdq_feeder *f, uint32_t src_y, const uint8_t *row)
{
    if (!f->resample)
        return cs_pdq_hasher_push_pixels(f->hasher, row, f->bpp);
    /* Emit every output row that samples this source row (rows come in order). */
    const uint32_t ch = f->bpp;
    int rc = CLIENTSCAN_OK;
    while (rc == CLIENTSCAN_OK && f->next_row < f->height &&
           nearest_source(f->next_row, f->src_height, f->height) == src_y) {
        for (uint32_t x = 0; x < f->width; x++)
            memcpy(f->row + x * ch, row + (size_t)nearest_source(x, f->src_width, f->width) * ch,
                   ch);
        rc = cs_pdq_hasher_push_pixels(f->hasher, f->row, ch);
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
    /* A hand-made image may leave the source size 0: nothing was scaled. */
    const uint32_t sw = image->source_width > image->width ? image->source_width : image->width;
    const uint32_t sh = image->source_height > image->height ? image->source_height : image->height;
    int rc = cs_pdq_feeder_init(&f, image->width, image->height, sw, sh, image->channels, mode,
                                detail);
    for (uint32_t y = 0; y < image->height && rc == CLIENTSCAN_OK; y++)
        rc = cs_pdq_feeder_row(&f, y, image->pixels + (size_t)y * image->stride);
    if (rc == CLIENTSCAN_OK)
        return cs_pdq_feeder_finish(&f, dihedral, out, detail);
    cs_pdq_feeder_free(&f);
    return rc;
}
