/* Unit tests for the 64-bit baselines (pHash-DCT, dHash, aHash) and their
 * area resampler. Every expected value is derived by hand in the comment
 * above its assertion, from the definitions in docs/hashes.md. */
#include "support.h"

#include "hash64.h"

#include <stdlib.h>
#include <string.h>

static clientscan_image grey_image(uint32_t w, uint32_t h, uint8_t fill)
{
    clientscan_image img = {.width = w, .height = h, .channels = 1, .stride = w};
    img.pixels = malloc((size_t)w * h);
    assert_non_null(img.pixels);
    memset(img.pixels, fill, (size_t)w * h);
    return img;
}

/* The same picture with three equal channels. */
static clientscan_image as_rgb(const clientscan_image *g)
{
    clientscan_image img = {.width = g->width, .height = g->height, .channels = 3,
                            .stride = (size_t)g->width * 3};
    img.pixels = malloc(img.stride * g->height);
    assert_non_null(img.pixels);
    for (uint32_t y = 0; y < g->height; y++)
        for (uint32_t x = 0; x < g->width; x++)
            memset(img.pixels + y * img.stride + x * 3, g->pixels[y * g->stride + x], 3);
    return img;
}

static void set_px(clientscan_image *img, uint32_t x, uint32_t y, uint8_t v)
{
    img->pixels[y * img->stride + x] = v;
}

static uint64_t hash_of(const clientscan_image *img, clientscan_hash64_kind kind)
{
    uint64_t h[CLIENTSCAN_HASH64_COUNT];
    assert_int_equal(clientscan_hash64_image(img, h, NULL), CLIENTSCAN_OK);
    return h[kind];
}

static void test_luma_matches_pil_weights(void **state)
{
    (void)state;
    /* (19595*255 + 32768) >> 16 = 5029493 >> 16 = 76 (76.7 truncated);
     * 38470*255 + 32768 = 9842618 -> 150; 7471*255 + 32768 = 1937873 -> 29.
     * These are PIL's convert("L") values for pure red, green and blue. */
    assert_int_equal(cs_luma601(255, 0, 0), 76);
    assert_int_equal(cs_luma601(0, 255, 0), 150);
    assert_int_equal(cs_luma601(0, 0, 255), 29);
    /* The weights sum to 65536, so equal channels give the value back. */
    for (int v = 0; v < 256; v++)
        assert_int_equal(cs_luma601((uint8_t)v, (uint8_t)v, (uint8_t)v), v);
}

static void test_area_resize_weights_and_rounding(void **state)
{
    (void)state;
    /* 3 -> 2 pixels: output 0 covers source [0, 1.5): 1 x p0 + 0.5 x p1,
     * divided by 1.5 = (2 p0 + p1) / 3 = 90/3 = 30; output 1 covers
     * [1.5, 3): (p1 + 2 p2) / 3 = 490/3 = 163.3 -> 163. */
    const uint8_t row[3] = {0, 90, 200};
    uint8_t out[2];
    assert_int_equal(cs_area_resize(row, 3, 1, 3, 1, out, 2, 1, 2, NULL), CLIENTSCAN_OK);
    assert_int_equal(out[0], 30);
    assert_int_equal(out[1], 163);

    /* Halves round up: (1 + 2) / 2 = 1.5 -> 2. */
    const uint8_t two[2] = {1, 2};
    assert_int_equal(cs_area_resize(two, 2, 1, 2, 1, out, 1, 1, 1, NULL), CLIENTSCAN_OK);
    assert_int_equal(out[0], 2);

    /* Enlarging 1 -> 3 copies the pixel. */
    const uint8_t one[1] = {77};
    uint8_t big[3];
    assert_int_equal(cs_area_resize(one, 1, 1, 1, 1, big, 3, 1, 3, NULL), CLIENTSCAN_OK);
    assert_memory_equal(big, ((uint8_t[]){77, 77, 77}), 3);

    /* 4x4 -> 2x2 in RGB: each output is the mean of its 2x2 block, per
     * channel. Block (0,0) holds channel-0 values 0, 10, 40, 50 -> 25. */
    uint8_t src[4 * 4 * 3], dst[2 * 2 * 3];
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++)
            for (int c = 0; c < 3; c++)
                src[(y * 4 + x) * 3 + c] = (uint8_t)(y * 40 + x * 10 + c);
    assert_int_equal(cs_area_resize(src, 4, 4, 12, 3, dst, 2, 2, 6, NULL), CLIENTSCAN_OK);
    assert_int_equal(dst[0], 25);
    assert_int_equal(dst[1], 26);
    /* Block (1,1): rows 2-3, columns 2-3: 100, 110, 140, 150 -> 125. */
    assert_int_equal(dst[(1 * 2 + 1) * 3], 125);

    assert_int_equal(cs_area_resize(src, 0, 4, 12, 3, dst, 2, 2, 6, NULL),
                     CLIENTSCAN_E_INVALID_ARGUMENT);
}

static void test_ahash_by_hand(void **state)
{
    (void)state;
    /* Rows 0-3 at 200, rows 4-7 at 100: mean 150, so the first 32 bits
     * (rows 0-3, row-major from bit 63) are set. */
    clientscan_image img = grey_image(8, 8, 100);
    memset(img.pixels, 200, 32);
    assert_true(hash_of(&img, CLIENTSCAN_HASH64_AHASH) == 0xFFFFFFFF00000000ull);

    /* A flat image: no pixel is strictly above the mean. */
    memset(img.pixels, 77, 64);
    assert_true(hash_of(&img, CLIENTSCAN_HASH64_AHASH) == 0);

    /* One bright pixel at row 0, column 7 = element 7 -> bit 63 - 7 = 56. */
    memset(img.pixels, 0, 64);
    set_px(&img, 7, 0, 255);
    assert_true(hash_of(&img, CLIENTSCAN_HASH64_AHASH) == 1ull << 56);

    /* 16x16 shrinks by 2x2 means to the same 8x8 picture. */
    clientscan_image big = grey_image(16, 16, 0);
    set_px(&big, 14, 0, 255);
    set_px(&big, 15, 0, 255);
    set_px(&big, 14, 1, 255);
    set_px(&big, 15, 1, 255);
    assert_true(hash_of(&big, CLIENTSCAN_HASH64_AHASH) == 1ull << 56);
    free(big.pixels);
    free(img.pixels);
}

static void test_dhash_by_hand(void **state)
{
    (void)state;
    /* 9x8: even rows increase left to right (every right neighbour is
     * brighter: 8 ones), odd rows decrease (8 zeros): bytes FF 00 FF 00 ... */
    clientscan_image img = grey_image(9, 8, 0);
    for (uint32_t y = 0; y < 8; y++)
        for (uint32_t x = 0; x < 9; x++)
            set_px(&img, x, y, (uint8_t)(y % 2 == 0 ? 10 * x : 200 - 10 * x));
    assert_true(hash_of(&img, CLIENTSCAN_HASH64_DHASH) == 0xFF00FF00FF00FF00ull);

    /* Equal neighbours give 0 (strict comparison). */
    memset(img.pixels, 50, 72);
    assert_true(hash_of(&img, CLIENTSCAN_HASH64_DHASH) == 0);

    /* Row 7 only: pixel 8 brighter than pixel 7 -> last bit (bit 0). */
    set_px(&img, 8, 7, 51);
    assert_true(hash_of(&img, CLIENTSCAN_HASH64_DHASH) == 1);
    free(img.pixels);
}

/* A one-pixel impulse at (x0, y0) in a 32x32 image has DCT coefficients
 * C[k][l] = 4 * 255 * cos(pi k (2 y0 + 1) / 64) * cos(pi l (2 x0 + 1) / 64):
 * a product of a column factor and a row factor, so its signs follow from
 * the factors' signs.
 *   x0 = 4: angle 9 pi / 64 per step; cos(9 pi k / 64) > 0 for k = 0..3
 *     (27 pi / 64 < pi / 2) and < 0 for k = 4..7 (36..63 pi / 64, below
 *     3 pi / 2); the smallest magnitude is |cos(36 pi / 64)| = 0.195.
 *   x0 = 0: cos(pi l / 64) > 0.94 for all l < 8.
 * With 32 positive and 32 negative products the median lies between them,
 * so a bit is set exactly where the product is positive. */
static void test_phash_by_hand(void **state)
{
    (void)state;
    clientscan_image img = grey_image(32, 32, 0);
    /* (4, 4): positive iff (k < 4) == (l < 4): rows 0-3 read 11110000,
     * rows 4-7 read 00001111. */
    set_px(&img, 4, 4, 255);
    assert_true(hash_of(&img, CLIENTSCAN_HASH64_PHASH) == 0xF0F0F0F00F0F0F0Full);

    /* Grey values in RGB give the same hash (equal channels keep luma). */
    clientscan_image rgb = as_rgb(&img);
    assert_true(hash_of(&rgb, CLIENTSCAN_HASH64_PHASH) == 0xF0F0F0F00F0F0F0Full);
    free(rgb.pixels);

    /* (x 0, y 4): the sign depends on the row k only (axis 0 = y first):
     * rows 0-3 all ones. */
    set_px(&img, 4, 4, 0);
    set_px(&img, 0, 4, 255);
    assert_true(hash_of(&img, CLIENTSCAN_HASH64_PHASH) == 0xFFFFFFFF00000000ull);

    /* (x 4, y 0): depends on the column l only: every row 11110000. */
    set_px(&img, 0, 4, 0);
    set_px(&img, 4, 0, 255);
    assert_true(hash_of(&img, CLIENTSCAN_HASH64_PHASH) == 0xF0F0F0F0F0F0F0F0ull);
    free(img.pixels);

    /* 64x64 with a 2x2 block at (8..9, 8..9) shrinks to the (4, 4) impulse. */
    clientscan_image big = grey_image(64, 64, 0);
    for (uint32_t y = 8; y < 10; y++)
        for (uint32_t x = 8; x < 10; x++)
            set_px(&big, x, y, 255);
    assert_true(hash_of(&big, CLIENTSCAN_HASH64_PHASH) == 0xF0F0F0F00F0F0F0Full);
    free(big.pixels);
}

static void test_invalid_images_and_helpers(void **state)
{
    (void)state;
    uint64_t h[CLIENTSCAN_HASH64_COUNT];
    clientscan_detail d;
    assert_int_equal(clientscan_hash64_image(NULL, h, &d), CLIENTSCAN_E_INVALID_ARGUMENT);
    clientscan_image img = grey_image(4, 4, 1);
    img.channels = 2;
    assert_int_equal(clientscan_hash64_image(&img, h, &d), CLIENTSCAN_E_INVALID_ARGUMENT);
    assert_non_null(strstr(d.text, "channel"));
    img.channels = 1;
    img.stride = 3;
    assert_int_equal(clientscan_hash64_image(&img, h, &d), CLIENTSCAN_E_INVALID_ARGUMENT);
    img.stride = 4;
    assert_int_equal(clientscan_hash64_image(&img, NULL, &d), CLIENTSCAN_E_INVALID_ARGUMENT);
    /* A 1x1 image is valid: everything resizes to one value. */
    img.width = img.height = 1;
    assert_int_equal(clientscan_hash64_image(&img, h, NULL), CLIENTSCAN_OK);
    free(img.pixels);

    assert_int_equal(clientscan_hash64_distance(0, ~0ull), 64);
    assert_int_equal(clientscan_hash64_distance(0xF0, 0x0F), 8);
    assert_string_equal(clientscan_hash64_name(CLIENTSCAN_HASH64_PHASH), "phash");
    assert_string_equal(clientscan_hash64_name(CLIENTSCAN_HASH64_DHASH), "dhash");
    assert_string_equal(clientscan_hash64_name(CLIENTSCAN_HASH64_AHASH), "ahash");
    assert_string_equal(clientscan_hash64_name(CLIENTSCAN_HASH64_COUNT), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_luma_matches_pil_weights),
        cmocka_unit_test(test_area_resize_weights_and_rounding),
        cmocka_unit_test(test_ahash_by_hand),
        cmocka_unit_test(test_dhash_by_hand),
        cmocka_unit_test(test_phash_by_hand),
        cmocka_unit_test(test_invalid_images_and_helpers),
    };
    return cmocka_run_group_tests_name("hash64", tests, NULL, NULL);
}
