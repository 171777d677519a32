/* Unit tests for the benchmark transforms on tiny images with outputs that
 * follow by hand from each definition (docs/benchmarks.md). */
#include "support.h"

#include "transform.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static clientscan_image make(uint32_t w, uint32_t h, uint32_t channels, uint8_t fill)
{
    clientscan_image img = {.width = w, .height = h, .channels = channels,
                            .stride = (size_t)w * channels};
    img.pixels = malloc(img.stride * h);
    assert_non_null(img.pixels);
    memset(img.pixels, fill, img.stride * h);
    return img;
}

static uint8_t *at(const clientscan_image *img, uint32_t x, uint32_t y)
{
    return img->pixels + y * img->stride + (size_t)x * img->channels;
}

static clientscan_image apply(const clientscan_image *src, clientscan_transform t, uint64_t seed)
{
    clientscan_image out;
    clientscan_detail d = {{0}};
    int rc = clientscan_transform_apply(src, t, seed, &out, &d);
    if (rc != CLIENTSCAN_OK) {
        print_error("%s: %s\n", clientscan_transform_name(t), d.text);
        fail();
    }
    return out;
}

/* 3x2 grey picture:  1 2 3
 *                    4 5 6 */
static clientscan_image six(void)
{
    clientscan_image img = make(3, 2, 1, 0);
    for (int i = 0; i < 6; i++)
        img.pixels[i] = (uint8_t)(i + 1);
    return img;
}

static void expect_pixels(const clientscan_image *img, uint32_t w, uint32_t h,
                          const uint8_t *want)
{
    assert_int_equal(img->width, w);
    assert_int_equal(img->height, h);
    assert_int_equal(img->channels, 1);
    for (uint32_t y = 0; y < h; y++)
        assert_memory_equal(at(img, 0, y), want + y * w, w);
}

static void test_exact_motions(void **state)
{
    (void)state;
    clientscan_image src = six();
    /* Clockwise: the left column read bottom-up becomes the top row. */
    clientscan_image r = apply(&src, CLIENTSCAN_TRANSFORM_ROT90, 0);
    expect_pixels(&r, 2, 3, (const uint8_t[]){4, 1, 5, 2, 6, 3});
    clientscan_image_release(&r);
    r = apply(&src, CLIENTSCAN_TRANSFORM_ROT180, 0);
    expect_pixels(&r, 3, 2, (const uint8_t[]){6, 5, 4, 3, 2, 1});
    clientscan_image_release(&r);
    r = apply(&src, CLIENTSCAN_TRANSFORM_MIRROR, 0);
    expect_pixels(&r, 3, 2, (const uint8_t[]){3, 2, 1, 6, 5, 4});
    clientscan_image_release(&r);
    free(src.pixels);
}

static void test_crop_pad_resize(void **state)
{
    (void)state;
    /* 20x10, value = 10*y + x (x < 10 keeps it below 256 for x < 20: y<10,
     * so at most 109). crop10 removes round(2) columns, round(1) row: 18x9
     * starting at column 1 (2/2), row 0 (1/2 rounds down). */
    clientscan_image src = make(20, 10, 1, 0);
    for (uint32_t y = 0; y < 10; y++)
        for (uint32_t x = 0; x < 20; x++)
            *at(&src, x, y) = (uint8_t)(10 * y + x);
    clientscan_image c = apply(&src, CLIENTSCAN_TRANSFORM_CROP10, 0);
    assert_int_equal(c.width, 18);
    assert_int_equal(c.height, 9);
    assert_int_equal(*at(&c, 0, 0), 1);
    assert_int_equal(*at(&c, 17, 8), 80 + 18);
    clientscan_image_release(&c);
    /* crop5: round(1) column, round(0.5) = 1 row (half away from zero). */
    c = apply(&src, CLIENTSCAN_TRANSFORM_CROP5, 0);
    assert_int_equal(c.width, 19);
    assert_int_equal(c.height, 9);
    assert_int_equal(*at(&c, 0, 0), 0);
    clientscan_image_release(&c);

    /* pad20 on 20x10: border round(20*0.1) = 2 columns each side,
     * round(10*0.1) = 1 row each side -> 24x12, black border. */
    clientscan_image p = apply(&src, CLIENTSCAN_TRANSFORM_PAD20, 0);
    assert_int_equal(p.width, 24);
    assert_int_equal(p.height, 12);
    assert_int_equal(*at(&p, 0, 0), 0);
    assert_int_equal(*at(&p, 1, 5), 0);
    assert_int_equal(*at(&p, 23, 11), 0);
    assert_int_equal(*at(&p, 2, 1), 0 + 0);   /* source (0, 0) */
    assert_int_equal(*at(&p, 21, 10), 90 + 19); /* source (19, 9) */
    clientscan_image_release(&p);
    free(src.pixels);

    /* resize50 of 4x2 RGB: each output is its 2x2 block mean per channel.
     * Channel 0 = 10*x + 100*y: block 0 = (0+10+100+110)/4 = 55,
     * block 1 = (20+30+120+130)/4 = 75. */
    clientscan_image rgb = make(4, 2, 3, 7);
    for (uint32_t y = 0; y < 2; y++)
        for (uint32_t x = 0; x < 4; x++)
            at(&rgb, x, y)[0] = (uint8_t)(10 * x + 100 * y);
    clientscan_image s = apply(&rgb, CLIENTSCAN_TRANSFORM_RESIZE50, 0);
    assert_int_equal(s.width, 2);
    assert_int_equal(s.height, 1);
    assert_int_equal(s.channels, 3);
    assert_int_equal(at(&s, 0, 0)[0], 55);
    assert_int_equal(at(&s, 1, 0)[0], 75);
    assert_int_equal(at(&s, 1, 0)[2], 7);
    clientscan_image_release(&s);
    /* resize25 of 4x2: 1x1 (0.5 rounds to 1... lround(0.5) = 1), the mean
     * of all 8 channel-0 values (0+10+20+30+100+110+120+130)/8 = 65. */
    s = apply(&rgb, CLIENTSCAN_TRANSFORM_RESIZE25, 0);
    assert_int_equal(s.width, 1);
    assert_int_equal(s.height, 1);
    assert_int_equal(at(&s, 0, 0)[0], 65);
    clientscan_image_release(&s);
    free(rgb.pixels);
}

static void test_value_maps(void **state)
{
    (void)state;
    clientscan_image src = make(6, 1, 1, 0);
    const uint8_t in[6] = {0, 10, 64, 100, 128, 250};
    memcpy(src.pixels, in, 6);
    /* x1.2, rounded, clamped: 0 12 76.8->77 120 153.6->154 300->255. */
    clientscan_image r = apply(&src, CLIENTSCAN_TRANSFORM_BRIGHT_UP, 0);
    expect_pixels(&r, 6, 1, (const uint8_t[]){0, 12, 77, 120, 154, 255});
    clientscan_image_release(&r);
    /* x0.8: 0 8 51.2->51 80 102.4->102 200. */
    r = apply(&src, CLIENTSCAN_TRANSFORM_BRIGHT_DOWN, 0);
    expect_pixels(&r, 6, 1, (const uint8_t[]){0, 8, 51, 80, 102, 200});
    clientscan_image_release(&r);
    /* 128 + 1.5 (v - 128): -64->0, -43->0, 32, 86, 128, 311->255. */
    r = apply(&src, CLIENTSCAN_TRANSFORM_CONTRAST, 0);
    expect_pixels(&r, 6, 1, (const uint8_t[]){0, 0, 32, 86, 128, 255});
    clientscan_image_release(&r);
    /* 255 sqrt(v / 255): 0, 50.5->50 (sqrt(2550)=50.498), 127.75->128,
     * 159.69->160, 180.70->181, 252.49->252. */
    r = apply(&src, CLIENTSCAN_TRANSFORM_GAMMA2, 0);
    expect_pixels(&r, 6, 1, (const uint8_t[]){0, 50, 128, 160, 181, 252});
    clientscan_image_release(&r);
    free(src.pixels);

    /* Grey of pure red is PIL's 76, one channel. */
    clientscan_image red = make(2, 1, 3, 0);
    red.pixels[0] = red.pixels[3] = 255;
    r = apply(&red, CLIENTSCAN_TRANSFORM_GREY, 0);
    expect_pixels(&r, 2, 1, (const uint8_t[]){76, 76});
    clientscan_image_release(&r);
    free(red.pixels);
}

static void test_blur_of_an_impulse(void **state)
{
    (void)state;
    /* A flat image stays flat. */
    clientscan_image flat = make(9, 7, 3, 99);
    clientscan_image b = apply(&flat, CLIENTSCAN_TRANSFORM_BLUR2, 0);
    for (size_t i = 0; i < flat.stride * flat.height; i++)
        assert_int_equal(b.pixels[i], 99);
    clientscan_image_release(&b);
    free(flat.pixels);

    /* An impulse of 255 in the middle of 25x25 zeros (radius 6 never reaches
     * the border): output(dx, dy) = 255 g(dx) g(dy) with
     * g(i) = exp(-i^2/8) / sum_{j=-6..6} exp(-j^2/8). */
    clientscan_image imp = make(25, 25, 1, 0);
    *at(&imp, 12, 12) = 255;
    b = apply(&imp, CLIENTSCAN_TRANSFORM_BLUR2, 0);
    long double norm = 0;
    for (int j = -6; j <= 6; j++)
        norm += expl(-(long double)j * j / 8);
    for (int dy = -6; dy <= 6; dy++)
        for (int dx = -6; dx <= 6; dx++) {
            long double want = 255 * expl(-(long double)(dx * dx + dy * dy) / 8) / (norm * norm);
            assert_int_equal(*at(&b, (uint32_t)(12 + dx), (uint32_t)(12 + dy)),
                             (int)floorl(want + 0.5L));
        }
    assert_int_equal(*at(&b, 12 + 7, 12), 0); /* outside the kernel */
    clientscan_image_release(&b);
    free(imp.pixels);
}

static void test_noise_is_seeded_and_has_sigma_10(void **state)
{
    (void)state;
    clientscan_image flat = make(128, 64, 1, 128);
    clientscan_image a = apply(&flat, CLIENTSCAN_TRANSFORM_NOISE10, 42);
    clientscan_image b = apply(&flat, CLIENTSCAN_TRANSFORM_NOISE10, 42);
    clientscan_image c = apply(&flat, CLIENTSCAN_TRANSFORM_NOISE10, 43);
    size_t n = 128 * 64;
    assert_memory_equal(a.pixels, b.pixels, n);
    assert_memory_not_equal(a.pixels, c.pixels, n);
    /* 8192 samples of N(128, 100) rounded: the mean's standard error is
     * 10/90 = 0.11 and the s.d. estimate's about 0.08 (rounding adds
     * 1/12 to the variance): generous bounds. */
    double sum = 0, sq = 0;
    for (size_t i = 0; i < n; i++) {
        sum += a.pixels[i];
        sq += (double)a.pixels[i] * a.pixels[i];
    }
    double mean = sum / n, sd = sqrt(sq / n - mean * mean);
    assert_true(fabs(mean - 128) < 0.6);
    assert_true(sd > 9.5 && sd < 10.5);
    clientscan_image_release(&a);
    clientscan_image_release(&b);
    clientscan_image_release(&c);
    free(flat.pixels);
}

static void test_text_overlay_layout(void **state)
{
    (void)state;
    /* 200x100 black: "SAMPLE 2024" is 11 glyphs x 6 columns - 1 = 65 cells;
     * cell = min(floor(200*0.6/65) = 1, floor(100/28) = 3) = 1; the text
     * starts at x = (200 - 65) / 2 = 67, y = 70. */
    clientscan_image img = make(200, 100, 3, 0);
    uint32_t x0, y0, cell;
    cs_text_layout(200, 100, &x0, &y0, &cell);
    assert_int_equal(x0, 67);
    assert_int_equal(y0, 70);
    assert_int_equal(cell, 1);
    clientscan_image t = apply(&img, CLIENTSCAN_TRANSFORM_TEXT, 0);
    /* Lit cells, counted by hand from the glyph rows: S 15, A 18, M 18,
     * P 15, L 11, E 18, space 0, 2 14, 0 19, 2 14, 4 14 = 156. Lit pixels
     * become (0 + 256) / 2 = 128 in every channel. */
    size_t lit = 0;
    for (uint32_t y = 0; y < 100; y++)
        for (uint32_t x = 0; x < 200; x++) {
            const uint8_t *p = at(&t, x, y);
            assert_true(p[0] == 0 || p[0] == 128);
            assert_true(p[0] == p[1] && p[1] == p[2]);
            lit += p[0] == 128;
        }
    assert_int_equal(lit, 156);
    /* 'S' row 0 is .####: (67, 70) dark, (68, 70) lit. */
    assert_int_equal(at(&t, 67, 70)[0], 0);
    assert_int_equal(at(&t, 68, 70)[0], 128);
    clientscan_image_release(&t);
    free(img.pixels);

    /* A white image stays white: (255 + 256) / 2 = 255. */
    clientscan_image white = make(40, 40, 1, 255);
    t = apply(&white, CLIENTSCAN_TRANSFORM_TEXT, 0);
    assert_memory_equal(t.pixels, white.pixels, 1600);
    clientscan_image_release(&t);
    free(white.pixels);
    assert_null(cs_glyph('Z'));
}

static void test_small_rotation(void **state)
{
    (void)state;
    /* 21x21 flat 100: the centre pixel maps onto itself (dx = dy = 0), an
     * interior pixel samples flat neighbours, the corner pixel's source
     * (u = 10 - 10 cos 4 - 10 sin 4 = -0.67) lies outside: black. */
    clientscan_image flat = make(21, 21, 3, 100);
    at(&flat, 10, 10)[1] = 7;
    clientscan_image r = apply(&flat, CLIENTSCAN_TRANSFORM_ROT4, 0);
    assert_int_equal(r.width, 21);
    assert_int_equal(r.height, 21);
    assert_int_equal(at(&r, 10, 10)[1], 7);
    assert_int_equal(at(&r, 3, 15)[0], 100);
    assert_int_equal(at(&r, 0, 0)[0], 0);
    assert_int_equal(at(&r, 20, 20)[2], 0);
    clientscan_image_release(&r);
    free(flat.pixels);
}

static void test_jpeg_round_trip(void **state)
{
    (void)state;
    /* A flat colour survives JPEG at any quality almost exactly (only the
     * DC coefficient is non-zero, quantised by at most 1/2 step and
     * rounded by colour conversion). */
    clientscan_image flat = make(16, 16, 3, 0);
    for (size_t i = 0; i < 16 * 16; i++) {
        flat.pixels[3 * i] = 120;
        flat.pixels[3 * i + 1] = 130;
        flat.pixels[3 * i + 2] = 140;
    }
    const clientscan_transform qs[] = {CLIENTSCAN_TRANSFORM_JPEG90, CLIENTSCAN_TRANSFORM_JPEG70,
                                       CLIENTSCAN_TRANSFORM_JPEG50};
    for (int q = 0; q < 3; q++) {
        clientscan_image j = apply(&flat, qs[q], 0);
        assert_int_equal(j.width, 16);
        assert_int_equal(j.height, 16);
        assert_int_equal(j.channels, 3);
        for (size_t i = 0; i < 16 * 16 * 3; i++)
            assert_true(abs((int)j.pixels[i] - (int)flat.pixels[i]) <= 3);
        clientscan_image_release(&j);
    }
    free(flat.pixels);

    /* On texture the error grows as quality drops; grey stays one channel. */
    clientscan_image tex = make(64, 64, 1, 0);
    for (uint32_t y = 0; y < 64; y++)
        for (uint32_t x = 0; x < 64; x++)
            *at(&tex, x, y) = (uint8_t)((x * 37 + y * 91 + (x * y) % 13 * 11) & 0xff);
    double err[3];
    for (int q = 0; q < 3; q++) {
        clientscan_image j = apply(&tex, qs[q], 0);
        assert_int_equal(j.channels, 1);
        double e = 0;
        for (size_t i = 0; i < 64 * 64; i++)
            e += abs((int)j.pixels[i] - (int)tex.pixels[i]);
        err[q] = e;
        clientscan_image_release(&j);
    }
    assert_true(err[0] > 0);
    assert_true(err[0] < err[1] && err[1] < err[2]);
    free(tex.pixels);
}

static void test_names_and_errors(void **state)
{
    (void)state;
    for (int t = 0; t < CLIENTSCAN_TRANSFORM_COUNT; t++) {
        const char *n = clientscan_transform_name((clientscan_transform)t);
        assert_string_not_equal(n, "unknown");
        for (int u = 0; u < t; u++)
            assert_string_not_equal(n, clientscan_transform_name((clientscan_transform)u));
    }
    assert_string_equal(clientscan_transform_name(CLIENTSCAN_TRANSFORM_COUNT), "unknown");
    clientscan_image src = six(), out;
    clientscan_detail d;
    assert_int_equal(clientscan_transform_apply(&src, CLIENTSCAN_TRANSFORM_COUNT, 0, &out, &d),
                     CLIENTSCAN_E_INVALID_ARGUMENT);
    assert_null(out.pixels);
    assert_int_equal(clientscan_transform_apply(NULL, CLIENTSCAN_TRANSFORM_GREY, 0, &out, &d),
                     CLIENTSCAN_E_INVALID_ARGUMENT);
    assert_int_equal(clientscan_transform_apply(&src, CLIENTSCAN_TRANSFORM_GREY, 0, NULL, &d),
                     CLIENTSCAN_E_INVALID_ARGUMENT);
    /* A 1x1 image loses round(0.1) = 0 pixels to crop10 and stays 1x1 when resized. */
    clientscan_image one = make(1, 1, 1, 5);
    assert_int_equal(clientscan_transform_apply(&one, CLIENTSCAN_TRANSFORM_CROP10, 0, &out, &d),
                     CLIENTSCAN_OK);
    clientscan_image_release(&out);
    assert_int_equal(clientscan_transform_apply(&one, CLIENTSCAN_TRANSFORM_RESIZE25, 0, &out, &d),
                     CLIENTSCAN_OK);
    assert_int_equal(out.width, 1);
    clientscan_image_release(&out);
    free(one.pixels);
    free(src.pixels);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_motions),
        cmocka_unit_test(test_crop_pad_resize),
        cmocka_unit_test(test_value_maps),
        cmocka_unit_test(test_blur_of_an_impulse),
        cmocka_unit_test(test_noise_is_seeded_and_has_sigma_10),
        cmocka_unit_test(test_text_overlay_layout),
        cmocka_unit_test(test_small_rotation),
        cmocka_unit_test(test_jpeg_round_trip),
        cmocka_unit_test(test_names_and_errors),
    };
    return cmocka_run_group_tests_name("transform", tests, NULL, NULL);
}
