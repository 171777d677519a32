/* Unit tests for PDQ hashing: bit layout, median, dihedral algebra, hex,
 * distance, edge sizes. Reference conformance lives in tests/conformance. */
#include "support.h"

#include "pdq_filter.h"
#include "pdq_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Deterministic smooth-plus-texture test picture, RGB. */
static clientscan_image make_picture(uint32_t w, uint32_t h)
{
    clientscan_image img = {.width = w, .height = h, .channels = 3, .stride = (size_t)w * 3};
    img.pixels = malloc(img.stride * h);
    assert_non_null(img.pixels);
    uint32_t seed = 12345;
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            seed = seed * 1103515245u + 12345u;
            double fx = (double)x / w, fy = (double)y / h;
            double v = 128 + 60 * sin(7 * fx + 3 * fy) + 40 * cos(11 * fy * fx) +
                       (fx > 0.3 && fx < 0.6 && fy > 0.2 && fy < 0.5 ? 50 : 0);
            uint8_t *p = img.pixels + y * img.stride + x * 3;
            int n = (int)((seed >> 16) % 9) - 4;
            for (int c = 0; c < 3; c++) {
                double u = v + n + c * 10 * fy;
                p[c] = (uint8_t)(u < 0 ? 0 : u > 255 ? 255 : u);
            }
        }
    return img;
}

static clientscan_image transform_picture(const clientscan_image *src, bool transpose,
                                          bool mirror_x, bool mirror_y)
{
    clientscan_image dst = *src;
    if (transpose) {
        dst.width = src->height;
        dst.height = src->width;
    }
    dst.stride = (size_t)dst.width * 3;
    dst.pixels = malloc(dst.stride * dst.height);
    assert_non_null(dst.pixels);
    for (uint32_t y = 0; y < dst.height; y++)
        for (uint32_t x = 0; x < dst.width; x++) {
            uint32_t sx = transpose ? y : x, sy = transpose ? x : y;
            if (mirror_x)
                sx = src->width - 1 - sx;
            if (mirror_y)
                sy = src->height - 1 - sy;
            memcpy(dst.pixels + y * dst.stride + x * 3, src->pixels + sy * src->stride + sx * 3, 3);
        }
    return dst;
}

/* ---- Oracle: the straightforward full-buffer formulation (two float
 * copies of the image, whole-row and whole-column passes), written directly
 * from the algorithm description. The streaming implementation must agree
 * with it bit for bit on every size. */
static int oracle_window(uint32_t n)
{
    return (int)((n + 127) / 128);
}

static void oracle_box(const float *in, float *out, int n, size_t stride, int w)
{
    const int half = (w + 2) / 2;
    size_t left = 0, right = 0, o = 0;
    float sum = 0.0f;
    int count = 0;
    for (int i = 0; i < half - 1; i++, right += stride) {
        sum += in[right];
        count++;
    }
    for (int i = 0; i < w - half + 1; i++, right += stride, o += stride) {
        sum += in[right];
        count++;
        out[o] = sum / (float)count;
    }
    for (int i = 0; i < n - w; i++, left += stride, right += stride, o += stride) {
        sum += in[right];
        sum -= in[left];
        out[o] = sum / (float)count;
    }
    for (int i = 0; i < half - 1; i++, left += stride, o += stride) {
        sum -= in[left];
        count--;
        out[o] = sum / (float)count;
    }
}

/* The oracle's 64x64 grid: luma, the four box filters over whole float
 * copies of the image, and the decimation. False for images under 5 px a
 * side, which have none. */
static bool oracle_grid(const clientscan_image *img, float g[64][64])
{
    uint32_t rows = img->height, cols = img->width;
    if (rows < 5 || cols < 5)
        return false;
    float *a = malloc(sizeof(float) * rows * cols), *b = malloc(sizeof(float) * rows * cols);
    assert_non_null(a);
    assert_non_null(b);
    for (uint32_t y = 0; y < rows; y++)
        for (uint32_t x = 0; x < cols; x++) {
            const uint8_t *p = img->pixels + y * img->stride + x * img->channels;
            a[y * cols + x] = img->channels == 1 ? (float)p[0]
                                                 : 0.299f * (float)p[0] + 0.587f * (float)p[1] +
                                                       0.114f * (float)p[2];
        }
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t y = 0; y < rows; y++)
            oracle_box(a + y * cols, b + y * cols, (int)cols, 1, oracle_window(cols));
        for (uint32_t x = 0; x < cols; x++)
            oracle_box(b + x, a + x, (int)rows, cols, oracle_window(rows));
    }
    for (int i = 0; i < 64; i++)
        for (int j = 0; j < 64; j++)
            g[i][j] = a[(size_t)(((i + 0.5) * rows) / 64) * cols + (size_t)(((j + 0.5) * cols) / 64)];
    free(a);
    free(b);
    return true;
}

/* The oracle's 16x16 DCT coefficients of a grid: D g D^T, every sum over k
 * ascending from zero. */
static void oracle_dct(const float g[64][64], float c[16][16])
{
    float d[16][64], t[16][64];
    cs_pdq_dct_matrix(d);
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 64; j++) {
            float s = 0.0f;
            for (int k = 0; k < 64; k++)
                s += d[i][k] * g[k][j];
            t[i][j] = s;
        }
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 16; j++) {
            float s = 0.0f;
            for (int k = 0; k < 64; k++)
                s += t[i][k] * d[j][k];
            c[i][j] = s;
        }
}

/* The oracle's result from its grid and the grid's coefficients: quality,
 * and the bits of all eight variants. */
static void oracle_hash(const float g[64][64], const float c[16][16], clientscan_pdq_result *res)
{
    memset(res, 0, sizeof *res);
    int sum = 0;
    for (int i = 0; i < 64; i++)
        for (int j = 0; j < 64; j++) {
            if (i < 63)
                sum += abs((int)(((g[i][j] - g[i + 1][j]) * 100.0f) / 255.0f));
            if (j < 63)
                sum += abs((int)(((g[i][j] - g[i][j + 1]) * 100.0f) / 255.0f));
        }
    res->quality = sum / 90 > 100 ? 100 : sum / 90;
    cs_pdq_hash_from_coefficients(c, true, res->hash);
}

/* A hasher made for img as if shrunk from sw x sh (the image's own size:
 * nothing was shrunk), forced onto kernel set k (NULL: the fastest), with
 * every row pushed, one at a time. */
static clientscan_pdq_hasher *push_rows(const clientscan_image *img, uint32_t sw, uint32_t sh,
                                        const cs_pdq_kernels *k)
{
    clientscan_pdq_hasher *h = NULL;
    assert_int_equal(cs_pdq_hasher_new_scaled(img->width, img->height, sw, sh, &h, NULL),
                     CLIENTSCAN_OK);
    if (k)
        cs_pdq_hasher_use_kernels(h, k);
    for (uint32_t y = 0; y < img->height; y++)
        assert_int_equal(clientscan_pdq_hasher_push(h, img->pixels + y * img->stride, img->channels),
                         CLIENTSCAN_OK);
    return h;
}

/* img hashed that way, all eight variants. */
static void hash_scaled(const clientscan_image *img, uint32_t sw, uint32_t sh,
                        const cs_pdq_kernels *k, clientscan_pdq_result *res)
{
    clientscan_pdq_hasher *h = push_rows(img, sw, sh, k);
    assert_int_equal(clientscan_pdq_hasher_finish(h, 1, res, NULL), CLIENTSCAN_OK);
    clientscan_pdq_hasher_free(h);
}

/* ... and the 64x64 grid the hash is taken from. */
static void stream_grid(const clientscan_image *img, uint32_t sw, uint32_t sh,
                        const cs_pdq_kernels *k, float grid[64][64])
{
    clientscan_pdq_hasher *h = push_rows(img, sw, sh, k);
    assert_int_equal(cs_pdq_hasher_finish_grid(h, grid, NULL), CLIENTSCAN_OK);
    clientscan_pdq_hasher_free(h);
}

/* One size against the oracle: the default path and every kernel set. */
static void check_against_oracle(uint32_t w, uint32_t h, bool grey, const cs_pdq_kernels *const *kernels,
                                 size_t nkernels)
{
    clientscan_image img = make_picture(w, h);
    if (grey) {
        for (uint32_t y = 0; y < img.height; y++)
            for (uint32_t x = 0; x < img.width; x++)
                img.pixels[y * img.stride + x] = img.pixels[y * img.stride + 3 * x + 1];
        img.channels = 1;
    }
    float want_grid[64][64], want_dct[16][16];
    assert_true(oracle_grid(&img, want_grid));
    oracle_dct((const float(*)[64])want_grid, want_dct);
    clientscan_pdq_result want, got;
    oracle_hash((const float(*)[64])want_grid, (const float(*)[16])want_dct, &want);
    assert_int_equal(clientscan_pdq_hash_image(&img, CLIENTSCAN_PDQ_MODE_FULL, 1, &got, NULL),
                     CLIENTSCAN_OK);
    if (memcmp(&want, &got, sizeof want) != 0)
        fail_msg("%ux%u (%u channels): streaming hash differs from the oracle", img.width,
                 img.height, img.channels);
    /* Every kernel set built in (portable C, SSE2, AVX2, AVX-512), not only
     * the fastest; and below the hash, which a last-bit difference rarely
     * flips, the grid and the DCT coefficients bit for bit. */
    for (size_t k = 0; k < nkernels; k++) {
        hash_scaled(&img, img.width, img.height, kernels[k], &got);
        if (memcmp(&want, &got, sizeof want) != 0)
            fail_msg("%ux%u (%u channels): %s kernels differ from the oracle", img.width,
                     img.height, img.channels, kernels[k]->name);
        float grid[64][64], dct[16][16];
        stream_grid(&img, img.width, img.height, kernels[k], grid);
        if (memcmp(grid, want_grid, sizeof grid) != 0)
            fail_msg("%ux%u (%u channels): %s kernels' grid differs from the oracle's",
                     img.width, img.height, img.channels, kernels[k]->name);
        kernels[k]->dct(cs_pdq_shared_dct_tables(), (const float(*)[64])want_grid, dct);
        if (memcmp(dct, want_dct, sizeof dct) != 0)
            fail_msg("%ux%u (%u channels): %s kernels' DCT differs from the oracle's",
                     img.width, img.height, img.channels, kernels[k]->name);
    }
    free(img.pixels);
}

static void test_streaming_filter_matches_full_buffer_oracle(void **state)
{
    (void)state;
    const uint32_t sides[] = {5, 6, 7, 9, 17, 63, 64, 65, 127, 128, 129, 130, 200, 255, 257, 383, 520, 1031};
    const size_t n = sizeof sides / sizeof sides[0];
    const cs_pdq_kernels *kernels[8];
    const size_t nkernels = cs_pdq_kernels_all(kernels, 8);
    assert_true(nkernels >= 1);
    int checked = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j += 1 + (i % 3)) {
            check_against_oracle(sides[j], sides[i], (i + j) % 2, kernels, nkernels);
            checked++;
        }
    /* Photo-sized windows (32 x 24 at 4032 x 3024) on thin strips, and
     * widths that are not a multiple of the 8-column vector chunks. */
    const uint32_t big[][2] = {{4032, 37}, {37, 3024}, {4095, 301}, {301, 4097}};
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++, checked++)
        check_against_oracle(big[i][0], big[i][1], i % 2, kernels, nkernels);
    print_message("%d image sizes bit-identical to the full-buffer oracle, with each of %zu "
                  "kernel sets (%s ... %s)\n",
                  checked, nkernels, kernels[0]->name, kernels[nkernels - 1]->name);
}

/* Divides n values by b with kernel set k and with IEEE division; fails on
 * the first bit difference. */
static void check_division(const cs_pdq_kernels *k, const float *a, size_t n, float b, float *q)
{
    const cs_pdq_divisor d = cs_pdq_divisor_of(b);
    k->divide(a, &d, q, n);
    for (size_t i = 0; i < n; i++) {
        const float want = a[i] / b;
        if (memcmp(&want, &q[i], sizeof want) != 0)
            fail_msg("%s kernels: %a / %a gave %a, IEEE division %a", k->name, (double)a[i],
                     (double)b, (double)q[i], (double)want);
    }
}

/* The kernels may divide without a divide instruction (AVX2: a multiply
 * and a fused multiply-add by 1 / d as a sum of two floats) only if that is
 * IEEE division bit for bit. Scaling the dividend by a power of two scales
 * each step exactly, so one binade covers every dividend: all 2^23 floats
 * in [1, 2) for every divisor up to 40 (the window counts of images up to
 * 5,120 px a side), random dividends of many magnitudes and signs for
 * random divisors up to 2^13 (the largest window), and the filter's
 * boundary values. */
static void test_kernel_division_is_ieee_division(void **state)
{
    (void)state;
    enum { CHUNK = 1 << 16 };
    float *a = malloc(CHUNK * sizeof *a), *q = malloc(CHUNK * sizeof *q);
    assert_non_null(a);
    assert_non_null(q);
    const cs_pdq_kernels *kernels[8];
    const size_t nkernels = cs_pdq_kernels_all(kernels, 8);
    for (size_t k = 0; k < nkernels; k++) {
        for (int b = 1; b <= 40; b++)
            for (uint32_t m0 = 0; m0 < (1u << 23); m0 += CHUNK) {
                for (uint32_t i = 0; i < CHUNK; i++) {
                    const uint32_t bits = 0x3f800000u | (m0 + i); /* 1.0f + mantissa */
                    memcpy(&a[i], &bits, sizeof bits);
                }
                check_division(kernels[k], a, CHUNK, (float)b, q);
            }
        uint64_t seed = 0x2545f4914f6cdd1dULL;
        for (int round = 0; round < 2000; round++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            const float b = (float)(41 + (seed >> 40) % ((1u << 13) - 40));
            for (uint32_t i = 0; i < 1024; i++) {
                seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
                /* |a| from 2^-99 to 2^40, either sign: the filter's sums' range */
                a[i] = ldexpf(1.0f + (float)(seed >> 41) / 8388608.0f,
                              (int)((seed >> 8) % 140) - 99);
                if (seed & 1)
                    a[i] = -a[i];
            }
            check_division(kernels[k], a, 1024, b, q);
        }
        /* not -0: the filter's sums start at +0 and never reach -0 */
        const float edges[] = {0.0f, 1.0f, 255.0f, 255.0f * 8192.0f, 0x1.fffffep30f,
                               3.0f, 0.5f, 0x1p-99f, -0x1.fffffep-99f};
        for (int b = 1; b <= 1 << 13; b++)
            check_division(kernels[k], edges, sizeof edges / sizeof edges[0], (float)b, q);
    }
    print_message("division checked for %zu kernel sets (%s ... %s)\n", nkernels,
                  kernels[0]->name, kernels[nkernels - 1]->name);
    free(a);
    free(q);
}

/* The reference's luma of one pixel, in float as it computes it. */
static float reference_luma(const uint8_t *p, uint32_t bpp)
{
    if (bpp == 1)
        return (float)p[0];
    return 0.299f * (float)p[0] + 0.587f * (float)p[1] + 0.114f * (float)p[2];
}

/* Runs k->luma on n pixels copied into an allocation of exactly n * bpp
 * bytes (so AddressSanitizer sees any read outside the row) and compares
 * every value with reference_luma bit for bit. */
static void check_luma(const cs_pdq_kernels *k, const uint8_t *px, uint32_t bpp, size_t n)
{
    uint8_t *row = malloc(n * bpp);
    float *got = malloc(n * sizeof *got);
    assert_non_null(row);
    assert_non_null(got);
    memcpy(row, px, n * bpp);
    k->luma(row, bpp, got, n);
    for (size_t i = 0; i < n; i++) {
        const float want = reference_luma(row + i * bpp, bpp);
        if (memcmp(&want, &got[i], sizeof want) != 0)
            fail_msg("%s kernels, %u bytes per pixel, pixel %zu of %zu (%u %u %u): luma %a, "
                     "reference %a",
                     k->name, bpp, i, n, row[i * bpp], row[i * bpp + (bpp > 1)],
                     row[i * bpp + 2 * (bpp > 1)], (double)got[i], (double)want);
    }
    free(row);
    free(got);
}

/* Every kernel set's luma is the reference's float formula bit for bit (the
 * vector kernels fold each byte's conversion into its multiplication, see
 * avx_scaled_byte): every RGB triple, every value of each channel of RGBX
 * and grey, and rows of 1 to 40 pixels (the vector kernels' first pixels
 * and tails). */
static void test_kernel_luma_is_reference_luma(void **state)
{
    (void)state;
    enum { N = 1 << 16 };
    uint8_t *px = malloc(4 * (size_t)N);
    assert_non_null(px);
    const cs_pdq_kernels *kernels[8];
    const size_t nkernels = cs_pdq_kernels_all(kernels, 8);
    for (size_t k = 0; k < nkernels; k++) {
        for (uint32_t r = 0; r < 256; r++) { /* all of G x B for each R */
            for (uint32_t i = 0; i < N; i++) {
                px[3 * i] = (uint8_t)r;
                px[3 * i + 1] = (uint8_t)(i >> 8);
                px[3 * i + 2] = (uint8_t)i;
            }
            check_luma(kernels[k], px, 3, N);
        }
        for (uint32_t i = 0; i < N; i++) {
            px[4 * i] = (uint8_t)i;
            px[4 * i + 1] = (uint8_t)(i >> 8);
            px[4 * i + 2] = (uint8_t)(i * 37 + 11);
            px[4 * i + 3] = (uint8_t)(i * 13); /* ignored */
        }
        check_luma(kernels[k], px, 4, N);
        check_luma(kernels[k], px, 1, N);
        for (size_t n = 1; n <= 40; n++)
            for (uint32_t bpp = 1; bpp <= 4; bpp++)
                if (bpp != 2)
                    check_luma(kernels[k], px + 7, bpp, n);
    }
    print_message("luma checked for %zu kernel sets (%s ... %s)\n", nkernels, kernels[0]->name,
                  kernels[nkernels - 1]->name);
    free(px);
}

/* Mean of each f x f block (the last blocks clipped): a stand-in for the
 * decoder's DCT scaling by 1/f. */
static clientscan_image shrink(const clientscan_image *src, uint32_t f)
{
    clientscan_image dst = *src;
    dst.width = (src->width + f - 1) / f;
    dst.height = (src->height + f - 1) / f;
    dst.stride = (size_t)dst.width * 3;
    dst.pixels = malloc(dst.stride * dst.height);
    assert_non_null(dst.pixels);
    for (uint32_t y = 0; y < dst.height; y++)
        for (uint32_t x = 0; x < dst.width; x++)
            for (int c = 0; c < 3; c++) {
                uint32_t sum = 0, n = 0;
                for (uint32_t yy = y * f; yy < y * f + f && yy < src->height; yy++)
                    for (uint32_t xx = x * f; xx < x * f + f && xx < src->width; xx++, n++)
                        sum += src->pixels[yy * src->stride + xx * 3 + (uint32_t)c];
                dst.pixels[y * dst.stride + x * 3 + (uint32_t)c] = (uint8_t)((sum + n / 2) / n);
            }
    return dst;
}

/* Fast mode's geometry (lib/pdq.c side_geometry): the same bits with every
 * kernel set, the reference geometry whenever nothing was scaled or a side
 * is under 128 px, and on shrunk pictures closer to the full-size hash than
 * the reference geometry applied to the small picture. */
static void test_scaled_geometry(void **state)
{
    (void)state;
    const cs_pdq_kernels *kernels[8];
    const size_t nkernels = cs_pdq_kernels_all(kernels, 8);
    const uint32_t mapped[][4] = {{1008, 756, 4032, 3024}, {128, 900, 1024, 7200},
                                  {129, 128, 1033, 1025},  {300, 200, 700, 469}};
    for (size_t i = 0; i < sizeof mapped / sizeof mapped[0]; i++) {
        clientscan_image img = make_picture(mapped[i][0], mapped[i][1]);
        clientscan_pdq_result first, got, plain;
        float first_grid[64][64], grid[64][64];
        hash_scaled(&img, mapped[i][2], mapped[i][3], kernels[0], &first);
        stream_grid(&img, mapped[i][2], mapped[i][3], kernels[0], first_grid);
        for (size_t k = 1; k < nkernels; k++) {
            hash_scaled(&img, mapped[i][2], mapped[i][3], kernels[k], &got);
            stream_grid(&img, mapped[i][2], mapped[i][3], kernels[k], grid);
            if (memcmp(&first, &got, sizeof got) != 0 || memcmp(first_grid, grid, sizeof grid) != 0)
                fail_msg("%ux%u from %ux%u: %s kernels differ from %s", mapped[i][0],
                         mapped[i][1], mapped[i][2], mapped[i][3], kernels[k]->name,
                         kernels[0]->name);
        }
        assert_int_equal(clientscan_pdq_hash_image(&img, CLIENTSCAN_PDQ_MODE_FULL, 1, &plain, NULL),
                         CLIENTSCAN_OK);
        assert_memory_not_equal(&plain, &first, sizeof plain); /* the mapping did something */
        free(img.pixels);
    }
    const uint32_t unmapped[][4] = {{127, 300, 1016, 2400}, {400, 90, 1600, 360}, {640, 480, 640, 480}};
    for (size_t i = 0; i < sizeof unmapped / sizeof unmapped[0]; i++) {
        clientscan_image img = make_picture(unmapped[i][0], unmapped[i][1]);
        clientscan_pdq_result want, got;
        assert_int_equal(clientscan_pdq_hash_image(&img, CLIENTSCAN_PDQ_MODE_FULL, 1, &want, NULL),
                         CLIENTSCAN_OK);
        hash_scaled(&img, unmapped[i][2], unmapped[i][3], NULL, &got);
        assert_memory_equal(&want, &got, sizeof want);
        free(img.pixels);
    }
    /* Shrunk by 2, 3 and 4: the hash of the small picture against the
     * full-size exact hash, with and without the carried-over geometry. */
    int mapped_total = 0, plain_total = 0;
    const uint32_t sizes[][2] = {{2048, 1536}, {1500, 2001}, {1800, 1000}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        clientscan_image big = make_picture(sizes[i][0], sizes[i][1]);
        clientscan_pdq_result exact;
        assert_int_equal(clientscan_pdq_hash_image(&big, CLIENTSCAN_PDQ_MODE_FULL, 0, &exact, NULL),
                         CLIENTSCAN_OK);
        for (uint32_t f = 2; f <= 4; f++) {
            clientscan_image small = shrink(&big, f);
            clientscan_pdq_result m, p;
            hash_scaled(&small, big.width, big.height, NULL, &m);
            assert_int_equal(clientscan_pdq_hash_image(&small, CLIENTSCAN_PDQ_MODE_FULL, 0, &p, NULL),
                             CLIENTSCAN_OK);
            const int dm = clientscan_pdq_distance(&m.hash[0], &exact.hash[0]);
            const int dp = clientscan_pdq_distance(&p.hash[0], &exact.hash[0]);
            print_message("%ux%u / %u: %d bits from exact with the carried-over geometry, %d "
                          "without\n", big.width, big.height, f, dm, dp);
            assert_true(dm <= 10);
            mapped_total += dm;
            plain_total += dp;
            free(small.pixels);
        }
        free(big.pixels);
    }
    assert_true(mapped_total < plain_total);
}

static void test_hasher_rejects_misuse(void **state)
{
    (void)state;
    clientscan_pdq_hasher *h = NULL;
    clientscan_pdq_result r;
    uint8_t row[30] = {0};
    assert_int_equal(clientscan_pdq_hasher_new(0, 10, &h, NULL), CLIENTSCAN_E_INVALID_ARGUMENT);
    assert_null(h);
    /* sides past 2^20 would need windows the kernels' division is not proven for */
    clientscan_detail d;
    assert_int_equal(clientscan_pdq_hasher_new(10, (1u << 20) + 1, &h, &d),
                     CLIENTSCAN_E_INVALID_ARGUMENT);
    assert_non_null(strstr(d.text, "1048576"));
    assert_int_equal(clientscan_pdq_hasher_new((1u << 20) + 1, 10, &h, NULL),
                     CLIENTSCAN_E_INVALID_ARGUMENT);
    assert_null(h);
    assert_int_equal(clientscan_pdq_hasher_new(10, 2, &h, NULL), CLIENTSCAN_OK);
    assert_int_equal(clientscan_pdq_hasher_push(h, row, 2), CLIENTSCAN_E_INVALID_ARGUMENT);
    assert_int_equal(clientscan_pdq_hasher_push(h, row, 3), CLIENTSCAN_OK);
    assert_int_equal(clientscan_pdq_hasher_finish(h, 0, &r, NULL), CLIENTSCAN_E_INVALID_ARGUMENT);
    assert_int_equal(clientscan_pdq_hasher_push(h, row, 3), CLIENTSCAN_OK);
    assert_int_equal(clientscan_pdq_hasher_push(h, row, 3), CLIENTSCAN_E_INVALID_ARGUMENT);
    assert_int_equal(clientscan_pdq_hasher_finish(h, 0, &r, NULL), CLIENTSCAN_OK);
    assert_int_equal(r.quality, 0); /* 10x2 is below the 5-pixel minimum */
    assert_int_equal(clientscan_pdq_hasher_finish(h, 0, &r, NULL), CLIENTSCAN_E_INVALID_ARGUMENT);
    clientscan_pdq_hasher_free(h);
    clientscan_pdq_hasher_free(NULL);

    /* the tests' way to the grid: none for a hash of zeros, once per hasher */
    float grid[64][64];
    assert_int_equal(clientscan_pdq_hasher_new(10, 2, &h, NULL), CLIENTSCAN_OK);
    for (int y = 0; y < 2; y++)
        assert_int_equal(clientscan_pdq_hasher_push(h, row, 3), CLIENTSCAN_OK);
    assert_int_equal(cs_pdq_hasher_finish_grid(h, grid, &d), CLIENTSCAN_E_INVALID_ARGUMENT);
    assert_non_null(strstr(d.text, "10x2"));
    clientscan_pdq_hasher_free(h);
    assert_int_equal(clientscan_pdq_hasher_new(5, 5, &h, NULL), CLIENTSCAN_OK);
    assert_int_equal(cs_pdq_hasher_finish_grid(h, grid, NULL), CLIENTSCAN_E_INVALID_ARGUMENT);
    for (int y = 0; y < 5; y++)
        assert_int_equal(clientscan_pdq_hasher_push(h, row, 3), CLIENTSCAN_OK);
    assert_int_equal(cs_pdq_hasher_finish_grid(h, grid, NULL), CLIENTSCAN_OK);
    assert_int_equal(cs_pdq_hasher_finish_grid(h, grid, NULL), CLIENTSCAN_E_INVALID_ARGUMENT);
    assert_int_equal(clientscan_pdq_hasher_finish(h, 0, &r, NULL), CLIENTSCAN_E_INVALID_ARGUMENT);
    clientscan_pdq_hasher_free(h);
}

static void test_bit_layout_matches_documented_hex_order(void **state)
{
    (void)state;
    float c[16][16];
    clientscan_pdq h[CLIENTSCAN_DIHEDRAL_COUNT];
    char hex[CLIENTSCAN_PDQ_HEX_BYTES];

    /* Values 0..255 row by row: rows 8..15 exceed the median (127). Rows are
     * printed from 15 down to 0, so the first half of the hex is all ones. */
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 16; j++)
            c[i][j] = (float)(i * 16 + j);
    cs_pdq_hash_from_coefficients(c, false, h);
    clientscan_pdq_to_hex(&h[0], hex);
    assert_string_equal(hex, "ffffffffffffffffffffffffffffffff"
                             "00000000000000000000000000000000");

    /* Column-major values: columns 8..15 set in every row; column 15 is the
     * most significant bit of each 4-digit group. */
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 16; j++)
            c[i][j] = (float)(j * 16 + i);
    cs_pdq_hash_from_coefficients(c, false, h);
    clientscan_pdq_to_hex(&h[0], hex);
    for (int g = 0; g < 16; g++)
        assert_memory_equal(hex + 4 * g, "ff00", 4);

    /* Only coefficient (row 0, column 0) is above the median of a set where
     * 255 values tie at zero: the last hex digit's lowest bit. */
    memset(c, 0, sizeof c);
    c[0][0] = 1.0f;
    cs_pdq_hash_from_coefficients(c, false, h);
    clientscan_pdq_to_hex(&h[0], hex);
    assert_string_equal(hex, "0000000000000000000000000000000000000000000000000000000000000001");
}

static int float_order(const void *pa, const void *pb)
{
    const float a = *(const float *)pa, b = *(const float *)pb;
    return (a > b) - (a < b);
}

/* The threshold is the 128th smallest coefficient however the values tie
 * and however they are laid out: checked against sorting, on random sets
 * drawn from 1 to 256 distinct values, sorted and reversed sets among them. */
static void test_median_matches_sorting(void **state)
{
    (void)state;
    uint32_t s = 12345;
    for (int round = 0; round < 3000; round++) {
        float c[16][16], sorted[256];
        const uint32_t distinct = 1u + (uint32_t)round % 256u;
        for (int k = 0; k < 256; k++) {
            s = s * 1664525u + 1013904223u;
            c[k / 16][k % 16] = (float)((s >> 8) % distinct) * 0.37f - 20.0f;
        }
        if (round % 4 == 2) /* ascending */
            for (int k = 0; k < 256; k++)
                c[k / 16][k % 16] = (float)(k * (int)distinct / 256);
        if (round % 4 == 3) /* descending */
            for (int k = 0; k < 256; k++)
                c[k / 16][k % 16] = (float)((255 - k) * (int)distinct / 256);
        /* every variant against the median of its own coefficients, sorted */
        clientscan_pdq h[CLIENTSCAN_DIHEDRAL_COUNT];
        cs_pdq_hash_from_coefficients((const float(*)[16])c, true, h);
        for (int v = 0; v < CLIENTSCAN_DIHEDRAL_COUNT; v++) {
            float t[16][16];
            cs_pdq_dihedral_coefficients((const float(*)[16])c, (clientscan_dihedral)v, t);
            memcpy(sorted, t, sizeof sorted);
            qsort(sorted, 256, sizeof sorted[0], float_order);
            const float median = sorted[127];
            for (int k = 0; k < 256; k++) {
                const int i = k / 16, j = k % 16;
                const bool set = (h[v].bytes[2 * (15 - i) + (j < 8 ? 1 : 0)] >> (j & 7)) & 1;
                if (set != (t[i][j] > median))
                    fail_msg("round %d, %s: coefficient %d (%g) against median %g", round,
                             clientscan_dihedral_name((clientscan_dihedral)v), k,
                             (double)t[i][j], (double)median);
            }
        }
    }
}

static void test_median_is_the_128th_smallest(void **state)
{
    (void)state;
    /* A shuffled permutation of 0..255: exactly the values >= 128 are set. */
    float c[16][16];
    int perm[256];
    for (int i = 0; i < 256; i++)
        perm[i] = i;
    uint32_t s = 7;
    for (int i = 255; i > 0; i--) {
        s = s * 1664525u + 1013904223u;
        int j = (int)(s % (uint32_t)(i + 1));
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (int k = 0; k < 256; k++)
        c[k / 16][k % 16] = (float)perm[k] - 100.5f;
    clientscan_pdq h[CLIENTSCAN_DIHEDRAL_COUNT];
    cs_pdq_hash_from_coefficients(c, false, h);
    int bits = 0;
    for (int k = 0; k < 256; k++) {
        int i = k / 16, j = k % 16;
        int byte = 2 * (15 - i) + (j < 8 ? 1 : 0);
        bool set = (h[0].bytes[byte] >> (j & 7)) & 1;
        assert_int_equal(set, perm[k] >= 128);
        bits += set;
    }
    assert_int_equal(bits, 128);
}

static void apply(const float in[16][16], clientscan_dihedral d, float out[16][16])
{
    cs_pdq_dihedral_coefficients(in, d, out);
}

static void test_dihedral_maps_form_the_dihedral_group(void **state)
{
    (void)state;
    float c[16][16], a[16][16], b[16][16], r[16][16];
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 16; j++)
            c[i][j] = (float)(i * 37 + j * 11 + 1) * ((i + j) % 3 ? 1.0f : -1.0f);

    /* rot90 twice = rot180; rot90 three times = rot270; four times = identity */
    apply(c, CLIENTSCAN_DIHEDRAL_ROT90, a);
    apply(a, CLIENTSCAN_DIHEDRAL_ROT90, b);
    apply(c, CLIENTSCAN_DIHEDRAL_ROT180, r);
    assert_memory_equal(b, r, sizeof r);
    apply(b, CLIENTSCAN_DIHEDRAL_ROT90, a);
    apply(c, CLIENTSCAN_DIHEDRAL_ROT270, r);
    assert_memory_equal(a, r, sizeof r);
    apply(a, CLIENTSCAN_DIHEDRAL_ROT90, b);
    assert_memory_equal(b, c, sizeof c);

    /* every reflection is an involution */
    const clientscan_dihedral reflections[] = {
        CLIENTSCAN_DIHEDRAL_FLIPX, CLIENTSCAN_DIHEDRAL_FLIPY, CLIENTSCAN_DIHEDRAL_FLIPPLUS1,
        CLIENTSCAN_DIHEDRAL_FLIPMINUS1};
    for (size_t k = 0; k < 4; k++) {
        apply(c, reflections[k], a);
        apply(a, reflections[k], b);
        assert_memory_equal(b, c, sizeof c);
    }
    /* flipx then flipy = rot180; flipplus1 then flipx = a rotation */
    apply(c, CLIENTSCAN_DIHEDRAL_FLIPX, a);
    apply(a, CLIENTSCAN_DIHEDRAL_FLIPY, b);
    apply(c, CLIENTSCAN_DIHEDRAL_ROT180, r);
    assert_memory_equal(b, r, sizeof r);
}

/* Hashing a really rotated/mirrored picture matches (distance <= 31) the variant the
 * original's DCT predicts; exactly only along a side whose length n makes the
 * decimation samples floor((i + 0.5) * n / 64) mirror-symmetric (n/64 odd). */
static void test_dihedral_variants_predict_transformed_images(void **state)
{
    (void)state;
    clientscan_image img = make_picture(320, 256);
    clientscan_pdq_result orig;
    assert_int_equal(clientscan_pdq_hash_image(&img, CLIENTSCAN_PDQ_MODE_FULL, 1, &orig, NULL),
                     CLIENTSCAN_OK);
    assert_true(orig.quality >= 50);
    const struct {
        clientscan_dihedral d;
        bool transpose, mx, my;
    } cases[] = {
        {CLIENTSCAN_DIHEDRAL_FLIPX, false, false, true},
        {CLIENTSCAN_DIHEDRAL_FLIPY, false, true, false},
        {CLIENTSCAN_DIHEDRAL_ROT180, false, true, true},
        {CLIENTSCAN_DIHEDRAL_FLIPPLUS1, true, false, false},
        {CLIENTSCAN_DIHEDRAL_ROT90, true, true, false}, /* counter-clockwise */
        {CLIENTSCAN_DIHEDRAL_ROT270, true, false, true},
        {CLIENTSCAN_DIHEDRAL_FLIPMINUS1, true, true, true},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        clientscan_image t = transform_picture(&img, cases[k].transpose, cases[k].mx, cases[k].my);
        clientscan_pdq_result r;
        assert_int_equal(clientscan_pdq_hash_image(&t, CLIENTSCAN_PDQ_MODE_FULL, 0, &r, NULL),
                         CLIENTSCAN_OK);
        int d = clientscan_pdq_distance(&r.hash[0], &orig.hash[cases[k].d]);
        int unrelated = clientscan_pdq_distance(&r.hash[0], &orig.hash[0]);
        print_message("%s: transformed image vs predicted variant: %d bits (vs original %d)\n",
                      clientscan_dihedral_name(cases[k].d), d, unrelated);
        assert_true(d <= CLIENTSCAN_PDQ_MATCH_THRESHOLD);
        assert_true(d < unrelated);
        free(t.pixels);
    }
    free(img.pixels);
}

static void test_dct_rows_are_orthonormal(void **state)
{
    (void)state;
    float d[16][64];
    cs_pdq_dct_matrix(d);
    for (int a = 0; a < 16; a++)
        for (int b = 0; b < 16; b++) {
            double dot = 0;
            for (int k = 0; k < 64; k++)
                dot += (double)d[a][k] * d[b][k];
            assert_true(fabs(dot - (a == b ? 1.0 : 0.0)) < 1e-6);
        }
}

static void test_tiny_and_flat_images(void **state)
{
    (void)state;
    uint8_t px[64 * 64];
    memset(px, 77, sizeof px);
    clientscan_image img = {.width = 4, .height = 64, .channels = 1, .stride = 64, .pixels = px};
    clientscan_pdq_result r;
    clientscan_pdq zero = {{0}};
    assert_int_equal(clientscan_pdq_hash_image(&img, CLIENTSCAN_PDQ_MODE_FULL, 1, &r, NULL),
                     CLIENTSCAN_OK);
    assert_int_equal(r.quality, 0);
    for (int v = 0; v < CLIENTSCAN_DIHEDRAL_COUNT; v++)
        assert_memory_equal(&r.hash[v], &zero, sizeof zero);

    img.width = 64; /* flat: no gradient, quality 0 */
    assert_int_equal(clientscan_pdq_hash_image(&img, CLIENTSCAN_PDQ_MODE_FULL, 0, &r, NULL),
                     CLIENTSCAN_OK);
    assert_int_equal(r.quality, 0);
}

static void test_grey_equals_rgb_with_equal_channels(void **state)
{
    (void)state;
    /* Luma of (v,v,v) is v up to float rounding of 0.299+0.587+0.114, so the
     * hashes must be close; this guards the channel handling. */
    clientscan_image rgb = make_picture(200, 150);
    clientscan_image grey = {.width = 200, .height = 150, .channels = 1, .stride = 200};
    grey.pixels = malloc(200 * 150);
    assert_non_null(grey.pixels);
    for (size_t i = 0; i < 200 * 150; i++) {
        grey.pixels[i] = rgb.pixels[i * 3];
        rgb.pixels[i * 3 + 1] = rgb.pixels[i * 3 + 2] = rgb.pixels[i * 3];
    }
    clientscan_pdq_result a, b;
    assert_int_equal(clientscan_pdq_hash_image(&rgb, 0, 0, &a, NULL), CLIENTSCAN_OK);
    assert_int_equal(clientscan_pdq_hash_image(&grey, 0, 0, &b, NULL), CLIENTSCAN_OK);
    assert_true(clientscan_pdq_distance(&a.hash[0], &b.hash[0]) <= 4);
    free(rgb.pixels);
    free(grey.pixels);
}

static void test_cli512_only_changes_large_images(void **state)
{
    (void)state;
    clientscan_image small = make_picture(500, 300);
    clientscan_pdq_result a, b;
    assert_int_equal(clientscan_pdq_hash_image(&small, CLIENTSCAN_PDQ_MODE_FULL, 1, &a, NULL), 0);
    assert_int_equal(clientscan_pdq_hash_image(&small, CLIENTSCAN_PDQ_MODE_CLI512, 1, &b, NULL), 0);
    assert_memory_equal(&a, &b, sizeof a);
    free(small.pixels);

    clientscan_image big = make_picture(1200, 700);
    assert_int_equal(clientscan_pdq_hash_image(&big, CLIENTSCAN_PDQ_MODE_FULL, 0, &a, NULL), 0);
    assert_int_equal(clientscan_pdq_hash_image(&big, CLIENTSCAN_PDQ_MODE_CLI512, 0, &b, NULL), 0);
    int d = clientscan_pdq_distance(&a.hash[0], &b.hash[0]);
    assert_true(d <= 32); /* same picture, different resampling */
    free(big.pixels);
}

static void test_invalid_images_are_rejected(void **state)
{
    (void)state;
    uint8_t px[16] = {0};
    clientscan_pdq_result r;
    clientscan_detail detail;
    clientscan_image bad = {.width = 4, .height = 4, .channels = 2, .stride = 8, .pixels = px};
    assert_int_equal(clientscan_pdq_hash_image(&bad, 0, 0, &r, &detail),
                     CLIENTSCAN_E_INVALID_ARGUMENT);
    bad.channels = 3;
    bad.stride = 11; /* < width * channels */
    assert_int_equal(clientscan_pdq_hash_image(&bad, 0, 0, &r, &detail),
                     CLIENTSCAN_E_INVALID_ARGUMENT);
    bad.stride = 12;
    assert_int_equal(clientscan_pdq_hash_image(&bad, (clientscan_pdq_mode)9, 0, &r, &detail),
                     CLIENTSCAN_E_INVALID_ARGUMENT);
    assert_int_equal(clientscan_pdq_hash_image(NULL, 0, 0, &r, &detail),
                     CLIENTSCAN_E_INVALID_ARGUMENT);
    assert_int_equal(clientscan_pdq_hash_image(&bad, 0, 0, NULL, &detail),
                     CLIENTSCAN_E_INVALID_ARGUMENT);
}

static void test_hex_round_trip_and_strict_parsing(void **state)
{
    (void)state;
    const char *hex = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
    clientscan_pdq h;
    char back[CLIENTSCAN_PDQ_HEX_BYTES];
    assert_int_equal(clientscan_pdq_from_hex(hex, 64, &h, NULL), CLIENTSCAN_OK);
    assert_int_equal(h.bytes[0], 0xf8);
    assert_int_equal(h.bytes[31], 0x22);
    clientscan_pdq_to_hex(&h, back);
    assert_string_equal(back, hex);

    const char *upper = "F8F8F0CEE0F4A84F06370A22038F63F0B36E2ED596621E1D33E6B39C4E9C9B22";
    clientscan_pdq u;
    assert_int_equal(clientscan_pdq_from_hex(upper, 64, &u, NULL), CLIENTSCAN_OK);
    assert_memory_equal(&u, &h, sizeof h);

    clientscan_detail detail;
    assert_int_equal(clientscan_pdq_from_hex(hex, 63, &h, &detail), CLIENTSCAN_E_PARSE);
    assert_non_null(strstr(detail.text, "63"));
    char bad[65];
    memcpy(bad, hex, 65);
    bad[10] = 'g';
    assert_int_equal(clientscan_pdq_from_hex(bad, 64, &h, &detail), CLIENTSCAN_E_PARSE);
    assert_non_null(strstr(detail.text, "11"));
    bad[10] = ' ';
    assert_int_equal(clientscan_pdq_from_hex(bad, 64, &h, &detail), CLIENTSCAN_E_PARSE);
    assert_int_equal(clientscan_pdq_from_hex("", 0, &h, &detail), CLIENTSCAN_E_PARSE);
}

static void test_distance_counts_differing_bits(void **state)
{
    (void)state;
    clientscan_pdq a, b;
    uint32_t s = 99;
    for (int trial = 0; trial < 200; trial++) {
        int expect = 0;
        for (int i = 0; i < 32; i++) {
            s = s * 1103515245u + 12345u;
            a.bytes[i] = (uint8_t)(s >> 16);
            s = s * 1103515245u + 12345u;
            b.bytes[i] = (uint8_t)(s >> 16);
            for (int bit = 0; bit < 8; bit++)
                expect += ((a.bytes[i] ^ b.bytes[i]) >> bit) & 1;
        }
        assert_int_equal(clientscan_pdq_distance(&a, &b), expect);
        assert_int_equal(clientscan_pdq_distance(&a, &a), 0);
    }
    memset(&a, 0, sizeof a);
    memset(&b, 0xff, sizeof b);
    assert_int_equal(clientscan_pdq_distance(&a, &b), 256);
}

static void test_dihedral_names(void **state)
{
    (void)state;
    assert_string_equal(clientscan_dihedral_name(CLIENTSCAN_DIHEDRAL_ORIGINAL), "original");
    assert_string_equal(clientscan_dihedral_name(CLIENTSCAN_DIHEDRAL_FLIPMINUS1), "flipminus1");
    assert_string_equal(clientscan_dihedral_name((clientscan_dihedral)8), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bit_layout_matches_documented_hex_order),
        cmocka_unit_test(test_median_is_the_128th_smallest),
        cmocka_unit_test(test_median_matches_sorting),
        cmocka_unit_test(test_dihedral_maps_form_the_dihedral_group),
        cmocka_unit_test(test_dihedral_variants_predict_transformed_images),
        cmocka_unit_test(test_dct_rows_are_orthonormal),
        cmocka_unit_test(test_tiny_and_flat_images),
        cmocka_unit_test(test_grey_equals_rgb_with_equal_channels),
        cmocka_unit_test(test_cli512_only_changes_large_images),
        cmocka_unit_test(test_invalid_images_are_rejected),
        cmocka_unit_test(test_hex_round_trip_and_strict_parsing),
        cmocka_unit_test(test_distance_counts_differing_bits),
        cmocka_unit_test(test_dihedral_names),
        cmocka_unit_test(test_streaming_filter_matches_full_buffer_oracle),
        cmocka_unit_test(test_kernel_division_is_ieee_division),
        cmocka_unit_test(test_kernel_luma_is_reference_luma),
        cmocka_unit_test(test_scaled_geometry),
        cmocka_unit_test(test_hasher_rejects_misuse),
    };
    return cmocka_run_group_tests_name("pdq", tests, NULL, NULL);
}
