/* The 64-bit baseline hashes (pHash-DCT, dHash, aHash) of python
 * imagehash's definitions, and the exact area-average resampler they share
 * with the benchmark transforms. docs/hashes.md states each definition and
 * where we differ from imagehash (the resampling filter). */
#include "hash64.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SIDE (1u << 24)
#define PHASH_SIDE 32 /* imagehash: hash_size 8 * highfreq_factor 4 */
#define HASH_SIDE 8

const char *clientscan_hash64_name(clientscan_hash64_kind kind)
{
    switch (kind) {
    case CLIENTSCAN_HASH64_PHASH: return "phash";
    case CLIENTSCAN_HASH64_DHASH: return "dhash";
    case CLIENTSCAN_HASH64_AHASH: return "ahash";
    case CLIENTSCAN_HASH64_COUNT: break;
    }
    return "unknown";
}

int clientscan_hash64_distance(uint64_t a, uint64_t b)
{
    return __builtin_popcountll(a ^ b);
}

int cs_image_check(const clientscan_image *image, clientscan_detail *detail)
{
    if (!image || !image->pixels)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "no image");
    if (image->width == 0 || image->height == 0 || image->width > MAX_SIDE ||
        image->height > MAX_SIDE)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "bad image size %ux%u",
                       image->width, image->height);
    if (image->channels != 1 && image->channels != 3)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "bad channel count %u",
                       image->channels);
    if (image->stride < (size_t)image->width * image->channels)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "stride %zu below row size",
                       image->stride);
    return CLIENTSCAN_OK;
}

/* ---------------------------------------------------------------------
 * Area resampling. Along one axis, source pixel i spans [i*dn, (i+1)*dn)
 * and output pixel o spans [o*sn, (o+1)*sn) in units of 1/dn source pixel;
 * the overlap of the two is the integer weight. Each output's weights sum
 * to sn, so a 2-D output sums to sw*sh.
 * ------------------------------------------------------------------- */

typedef struct {
    uint32_t *first;  /* [dn] first source index of output o */
    uint32_t *offset; /* [dn + 1] start of output o's weights in weight[] */
    uint64_t *weight; /* overlaps, in source order */
} axis_taps;

static void taps_free(axis_taps *t)
{
    free(t->first);
    free(t->offset);
    free(t->weight);
}

static int taps_build(uint32_t sn, uint32_t dn, axis_taps *t)
{
    memset(t, 0, sizeof *t);
    /* An output touches at most ceil(sn/dn) + 1 sources. */
    size_t per = (size_t)(sn / dn) + 2;
    t->first = malloc(dn * sizeof *t->first);
    t->offset = malloc(((size_t)dn + 1) * sizeof *t->offset);
    t->weight = malloc((size_t)dn * per * sizeof *t->weight);
    if (!t->first || !t->offset || !t->weight) {
        taps_free(t);
        return -1;
    }
    uint32_t at = 0;
    for (uint32_t o = 0; o < dn; o++) {
        uint64_t lo = (uint64_t)o * sn, hi = lo + sn;
        uint32_t i = (uint32_t)(lo / dn);
        t->first[o] = i;
        t->offset[o] = at;
        for (; (uint64_t)i * dn < hi; i++) {
            uint64_t a = (uint64_t)i * dn, b = a + dn;
            t->weight[at++] = (b < hi ? b : hi) - (a > lo ? a : lo);
        }
    }
    t->offset[dn] = at;
    return 0;
}

int cs_area_resize(const uint8_t *src, uint32_t sw, uint32_t sh, size_t sstride,
                   uint32_t channels, uint8_t *dst, uint32_t dw, uint32_t dh, size_t dstride,
                   clientscan_detail *detail)
{
    if (!src || !dst || sw == 0 || sh == 0 || dw == 0 || dh == 0 || sw > MAX_SIDE ||
        sh > MAX_SIDE || dw > MAX_SIDE || dh > MAX_SIDE || channels == 0 || channels > 4)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "resize: bad size %ux%u -> %ux%u",
                       sw, sh, dw, dh);
    axis_taps tx, ty;
    if (taps_build(sw, dw, &tx) != 0)
        return cs_fail(detail, CLIENTSCAN_E_NOMEM, "resize: out of memory");
    if (taps_build(sh, dh, &ty) != 0) {
        taps_free(&tx);
        return cs_fail(detail, CLIENTSCAN_E_NOMEM, "resize: out of memory");
    }
    size_t row_values = (size_t)dw * channels;
    uint64_t *hsum = malloc(row_values * sizeof *hsum);
    uint64_t *acc = malloc(row_values * sizeof *acc);
    if (!hsum || !acc) {
        free(hsum);
        free(acc);
        taps_free(&tx);
        taps_free(&ty);
        return cs_fail(detail, CLIENTSCAN_E_NOMEM, "resize: out of memory");
    }
    /* Sums stay below 255 * 2^48, far inside 64 bits. */
    uint64_t total = (uint64_t)sw * sh;
    for (uint32_t oy = 0; oy < dh; oy++) {
        memset(acc, 0, row_values * sizeof *acc);
        for (uint32_t k = ty.offset[oy]; k < ty.offset[oy + 1]; k++) {
            const uint8_t *row = src + (size_t)(ty.first[oy] + (k - ty.offset[oy])) * sstride;
            for (uint32_t ox = 0; ox < dw; ox++) {
                const uint8_t *p = row + (size_t)tx.first[ox] * channels;
                for (uint32_t c = 0; c < channels; c++)
                    hsum[(size_t)ox * channels + c] = 0;
                for (uint32_t j = tx.offset[ox]; j < tx.offset[ox + 1]; j++, p += channels)
                    for (uint32_t c = 0; c < channels; c++)
                        hsum[(size_t)ox * channels + c] += tx.weight[j] * p[c];
            }
            uint64_t wy = ty.weight[k];
            for (size_t v = 0; v < row_values; v++)
                acc[v] += wy * hsum[v];
        }
        uint8_t *out = dst + (size_t)oy * dstride;
        for (size_t v = 0; v < row_values; v++)
            out[v] = (uint8_t)((2 * acc[v] + total) / (2 * total));
    }
    free(hsum);
    free(acc);
    taps_free(&tx);
    taps_free(&ty);
    return CLIENTSCAN_OK;
}

int cs_grey_view(const clientscan_image *image, const uint8_t **grey, size_t *stride,
                 uint8_t **owned, clientscan_detail *detail)
{
    *owned = NULL;
    int rc = cs_image_check(image, detail);
    if (rc != CLIENTSCAN_OK)
        return rc;
    if (image->channels == 1) {
        *grey = image->pixels;
        *stride = image->stride;
        return CLIENTSCAN_OK;
    }
    size_t n;
    if (!cs_mul_size(image->width, image->height, &n))
        return cs_fail(detail, CLIENTSCAN_E_NOMEM, "grey copy too large");
    uint8_t *g = malloc(n);
    if (!g)
        return cs_fail(detail, CLIENTSCAN_E_NOMEM, "cannot allocate %zu bytes", n);
    for (uint32_t y = 0; y < image->height; y++) {
        const uint8_t *p = image->pixels + (size_t)y * image->stride;
        uint8_t *q = g + (size_t)y * image->width;
        for (uint32_t x = 0; x < image->width; x++, p += 3)
            q[x] = cs_luma601(p[0], p[1], p[2]);
    }
    *grey = g;
    *stride = image->width;
    *owned = g;
    return CLIENTSCAN_OK;
}

/* ---------------------------------------------------------------------
 * The hashes. Bits are emitted in row-major order, first value into bit 63.
 * ------------------------------------------------------------------- */

/* imagehash.phash: scipy's unnormalised DCT-II along axis 0 (down the
 * columns), then axis 1, keep [0:8, 0:8], bit = coefficient > numpy.median
 * (mean of the two middle values). The DCT's constant factor 2 per axis is
 * left out: it scales coefficients and median alike. */
static uint64_t phash_bits(const uint8_t px[PHASH_SIDE * PHASH_SIDE])
{
    static const double pi = 3.14159265358979323846;
    double basis[HASH_SIDE][PHASH_SIDE];
    for (int k = 0; k < HASH_SIDE; k++)
        for (int n = 0; n < PHASH_SIDE; n++)
            basis[k][n] = cos(pi * k * (2 * n + 1) / (2.0 * PHASH_SIDE));
    double cols[HASH_SIDE][PHASH_SIDE]; /* [k][x]: DCT down column x */
    for (int k = 0; k < HASH_SIDE; k++)
        for (int x = 0; x < PHASH_SIDE; x++) {
            double s = 0;
            for (int y = 0; y < PHASH_SIDE; y++)
                s += basis[k][y] * px[y * PHASH_SIDE + x];
            cols[k][x] = s;
        }
    double coef[HASH_SIDE * HASH_SIDE], sorted[HASH_SIDE * HASH_SIDE];
    for (int k = 0; k < HASH_SIDE; k++)
        for (int l = 0; l < HASH_SIDE; l++) {
            double s = 0;
            for (int x = 0; x < PHASH_SIDE; x++)
                s += basis[l][x] * cols[k][x];
            coef[k * HASH_SIDE + l] = s;
        }
    memcpy(sorted, coef, sizeof coef);
    /* Insertion sort: 64 values. */
    for (int i = 1; i < HASH_SIDE * HASH_SIDE; i++) {
        double v = sorted[i];
        int j = i;
        for (; j > 0 && sorted[j - 1] > v; j--)
            sorted[j] = sorted[j - 1];
        sorted[j] = v;
    }
    double median = (sorted[31] + sorted[32]) / 2;
    uint64_t bits = 0;
    for (int i = 0; i < HASH_SIDE * HASH_SIDE; i++)
        bits = bits << 1 | (coef[i] > median);
    return bits;
}

/* imagehash.dhash: 9 wide x 8 high, bit = pixels[:, 1:] > pixels[:, :-1],
 * i.e. set where the right neighbour is strictly brighter. */
static uint64_t dhash_bits(const uint8_t px[(HASH_SIDE + 1) * HASH_SIDE])
{
    uint64_t bits = 0;
    for (int y = 0; y < HASH_SIDE; y++)
        for (int x = 0; x < HASH_SIDE; x++) {
            const uint8_t *p = px + y * (HASH_SIDE + 1) + x;
            bits = bits << 1 | (p[1] > p[0]);
        }
    return bits;
}

/* imagehash.average_hash: bit = pixel > mean of the 64 (strict). The mean
 * is compared exactly as sum/64 by comparing 64*pixel with the sum. */
static uint64_t ahash_bits(const uint8_t px[HASH_SIDE * HASH_SIDE])
{
    unsigned sum = 0;
    for (int i = 0; i < HASH_SIDE * HASH_SIDE; i++)
        sum += px[i];
    uint64_t bits = 0;
    for (int i = 0; i < HASH_SIDE * HASH_SIDE; i++)
        bits = bits << 1 | (64u * px[i] > sum);
    return bits;
}

int clientscan_hash64_image(const clientscan_image *image, uint64_t out[CLIENTSCAN_HASH64_COUNT],
                            clientscan_detail *detail)
{
    if (!out)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "no result buffer");
    memset(out, 0, CLIENTSCAN_HASH64_COUNT * sizeof *out);
    const uint8_t *grey;
    size_t stride;
    uint8_t *owned;
    int rc = cs_grey_view(image, &grey, &stride, &owned, detail);
    if (rc != CLIENTSCAN_OK)
        return rc;
    uint8_t p32[PHASH_SIDE * PHASH_SIDE], p98[(HASH_SIDE + 1) * HASH_SIDE],
        p88[HASH_SIDE * HASH_SIDE];
    uint32_t w = image->width, h = image->height;
    rc = cs_area_resize(grey, w, h, stride, 1, p32, PHASH_SIDE, PHASH_SIDE, PHASH_SIDE, detail);
    if (rc == CLIENTSCAN_OK)
        rc = cs_area_resize(grey, w, h, stride, 1, p98, HASH_SIDE + 1, HASH_SIDE, HASH_SIDE + 1,
                            detail);
    if (rc == CLIENTSCAN_OK)
        rc = cs_area_resize(grey, w, h, stride, 1, p88, HASH_SIDE, HASH_SIDE, HASH_SIDE, detail);
    free(owned);
    if (rc != CLIENTSCAN_OK)
        return rc;
    out[CLIENTSCAN_HASH64_PHASH] = phash_bits(p32);
    out[CLIENTSCAN_HASH64_DHASH] = dhash_bits(p98);
    out[CLIENTSCAN_HASH64_AHASH] = ahash_bits(p88);
    return CLIENTSCAN_OK;
}
