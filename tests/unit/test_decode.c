/* Unit tests for the image decoding layer (lib/image.c, lib/png.c,
 * lib/jpeg.c, lib/exif.c): pixel values of every PNG kind predicted from the
 * generator's pattern, JPEG kinds, sniffing, refusals, truncation and bit
 * flips, limits before allocation, EXIF orientation, fast-mode DCT scaling,
 * and agreement with djpeg and the shared PDQ vectors when available. */
#include "support.h"
#include "all_zero.h"
#include "images.h"

#include "decode.h"

#include <math.h>
#include <png.h>
#include <pthread.h>
#include <stdio.h> /* before jpeglib.h, which uses FILE */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jpeglib.h>

/* ------------------------------------------------------------ helpers */

static void decode_ok(const uint8_t *data, size_t len, const clientscan_decode_params *params,
                      clientscan_image *img)
{
    clientscan_detail d = {{0}};
    int rc = clientscan_decode_memory(data, len, params, img, &d);
    if (rc != CLIENTSCAN_OK)
        fail_msg("decode failed: %d %s", rc, d.text);
}

/* A failing decode must leave *out zeroed: pre-fill it with garbage. */
static int decode_expect_fail(const uint8_t *data, size_t len,
                              const clientscan_decode_params *params, clientscan_detail *d)
{
    clientscan_image img;
    memset(&img, 0xab, sizeof img);
    memset(d, 0, sizeof *d);
    int rc = clientscan_decode_memory(data, len, params, &img, d);
    assert_int_not_equal(rc, CLIENTSCAN_OK);
    assert_true(all_zero(&img, sizeof img));
    assert_true(d->text[0] != '\0');
    return rc;
}

static uint8_t *copy_bytes(const uint8_t *src, size_t len)
{
    uint8_t *p = ts_malloc(len ? len : 1);
    memcpy(p, src, len);
    return p;
}

static uint32_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return (uint32_t)(*s >> 32);
}

/* A sink that records the protocol: begin once, rows in order. It can be
 * told to fail at begin or at a given row. */
typedef struct {
    int begins;
    uint32_t rows_done;
    uint32_t next_row;
    bool out_of_order;
    cs_header hdr;
    uint8_t *row;
    int fail_begin;      /* error code, 0 = none */
    int fail_row_code;   /* error code returned from row_done(fail_row) */
    uint32_t fail_row;
} probe_sink;

static int probe_begin(void *ctx, const cs_header *hdr, clientscan_detail *detail)
{
    probe_sink *p = ctx;
    p->begins++;
    p->hdr = *hdr;
    if (p->fail_begin)
        return cs_fail(detail, p->fail_begin, "probe refuses");
    p->row = malloc((size_t)hdr->width * hdr->channels);
    assert_non_null(p->row);
    return CLIENTSCAN_OK;
}

static uint8_t *probe_row(void *ctx, uint32_t y)
{
    probe_sink *p = ctx;
    if (y != p->next_row)
        p->out_of_order = true;
    return p->row;
}

static int probe_row_done(void *ctx, uint32_t y)
{
    probe_sink *p = ctx;
    if (y != p->next_row)
        p->out_of_order = true;
    p->next_row = y + 1;
    p->rows_done++;
    if (p->fail_row_code && y == p->fail_row)
        return p->fail_row_code;
    return CLIENTSCAN_OK;
}

static int probe_decode(const uint8_t *data, size_t len, const clientscan_decode_params *params,
                        probe_sink *p, clientscan_detail *d)
{
    cs_row_sink sink = {probe_begin, probe_row, probe_row_done, p};
    int rc = cs_decode_rows(data, len, params, &sink, d);
    free(p->row);
    p->row = NULL;
    return rc;
}

/* ------------------------------------------------------------ PNG pixels */

typedef struct {
    int color_type, bit_depth;
} png_kind;

static const png_kind png_kinds[] = {
    {PNG_COLOR_TYPE_GRAY, 1},       {PNG_COLOR_TYPE_GRAY, 2},       {PNG_COLOR_TYPE_GRAY, 4},
    {PNG_COLOR_TYPE_GRAY, 8},       {PNG_COLOR_TYPE_GRAY, 16},      {PNG_COLOR_TYPE_RGB, 8},
    {PNG_COLOR_TYPE_RGB, 16},       {PNG_COLOR_TYPE_PALETTE, 1},    {PNG_COLOR_TYPE_PALETTE, 2},
    {PNG_COLOR_TYPE_PALETTE, 4},    {PNG_COLOR_TYPE_PALETTE, 8},    {PNG_COLOR_TYPE_GRAY_ALPHA, 8},
    {PNG_COLOR_TYPE_GRAY_ALPHA, 16}, {PNG_COLOR_TYPE_RGB_ALPHA, 8}, {PNG_COLOR_TYPE_RGB_ALPHA, 16},
};

/* A stored sample brought to 8 bits the way the reference's decode does:
 * 16-bit scaled with rounding (libpng documents png_set_scale_16 as
 * (v*255 + 32895) >> 16), low grey depths replicated to 0..255. */
static uint8_t to_8_bits(uint32_t v, int depth)
{
    if (depth == 16)
        return (uint8_t)((v * 255 + 32895) >> 16);
    if (depth == 8)
        return (uint8_t)v;
    return (uint8_t)(v * 255 / ((1u << depth) - 1)); /* 1-bit: 0/255; 2: *85; 4: *17 */
}

static uint8_t expected_png_sample(png_kind k, uint32_t x, uint32_t y, int c)
{
    if (k.color_type == PNG_COLOR_TYPE_PALETTE) {
        uint8_t rgb[3];
        ts_png_palette_entry(ts_pattern(x, y, 0, k.bit_depth), rgb);
        return rgb[c];
    }
    return to_8_bits(ts_pattern(x, y, c, k.bit_depth), k.bit_depth);
}

static uint32_t expected_png_channels(png_kind k)
{
    return k.color_type == PNG_COLOR_TYPE_GRAY || k.color_type == PNG_COLOR_TYPE_GRAY_ALPHA ? 1 : 3;
}

static void check_png_pixels(const clientscan_image *img, png_kind k, uint32_t w, uint32_t h)
{
    assert_int_equal(img->format, CLIENTSCAN_FORMAT_PNG);
    assert_int_equal(img->width, w);
    assert_int_equal(img->height, h);
    assert_int_equal(img->source_width, w);
    assert_int_equal(img->source_height, h);
    assert_int_equal(img->exif_orientation, 0);
    assert_int_equal(img->channels, expected_png_channels(k));
    assert_true(img->stride >= (size_t)w * img->channels);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            for (uint32_t c = 0; c < img->channels; c++) {
                uint8_t got = img->pixels[(size_t)y * img->stride + (size_t)x * img->channels + c];
                uint8_t want = expected_png_sample(k, x, y, (int)c);
                if (got != want)
                    fail_msg("PNG type %d depth %d %ux%u: (%u,%u) channel %u is %u, expected %u",
                             k.color_type, k.bit_depth, w, h, x, y, c, got, want);
            }
}

static void test_png_every_colour_type_and_depth(void **state)
{
    (void)state;
    static const uint32_t sizes[][2] = {{37, 29}, {1, 1}, {5, 3}, {8, 17}};
    for (size_t i = 0; i < sizeof png_kinds / sizeof png_kinds[0]; i++)
        for (int interlace = 0; interlace <= 1; interlace++)
            for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
                png_kind k = png_kinds[i];
                uint32_t w = sizes[s][0], h = sizes[s][1];
                size_t len;
                uint8_t *png = ts_png_encode(w, h, k.color_type, k.bit_depth, interlace, &len);
                clientscan_image img;
                decode_ok(png, len, NULL, &img);
                check_png_pixels(&img, k, w, h);
                clientscan_image_release(&img);
                free(png);
            }
}

/* The 16-bit check above only proves rounding if the pattern separates
 * rounding from dropping the low byte; make sure it does. */
static void test_png_16_bit_pattern_separates_scale_from_strip(void **state)
{
    (void)state;
    int differ = 0;
    for (uint32_t y = 0; y < 29; y++)
        for (uint32_t x = 0; x < 37; x++) {
            uint32_t v = ts_pattern(x, y, 0, 16);
            differ += to_8_bits(v, 16) != (v >> 8);
        }
    assert_true(differ > 100);
}

static void test_png_transparency_and_colour_chunks_ignored(void **state)
{
    (void)state;
    static const struct {
        png_kind kind;
        uint8_t trns[8];
        size_t trns_len;
    } cases[] = {
        {{PNG_COLOR_TYPE_PALETTE, 4}, {0, 10, 128, 255, 0, 7}, 6}, /* per-entry alpha */
        {{PNG_COLOR_TYPE_GRAY, 8}, {0, 40}, 2},                     /* grey 40 transparent */
        {{PNG_COLOR_TYPE_GRAY, 2}, {0, 1}, 2},
        {{PNG_COLOR_TYPE_RGB, 8}, {0, 10, 0, 20, 0, 30}, 6},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        png_kind k = cases[i].kind;
        size_t len, len2, len3;
        uint8_t *png = ts_png_encode(19, 13, k.color_type, k.bit_depth, 0, &len);
        /* tRNS must follow PLTE; inserting after IHDR puts it before PLTE,
         * which libpng rejects for palettes. Insert it last instead: right
         * after IHDR for non-palette images, otherwise just before IDAT. */
        uint8_t *with;
        if (k.color_type == PNG_COLOR_TYPE_PALETTE) {
            /* find IDAT and splice the chunk before it */
            size_t at = 8;
            while (at + 8 <= len && memcmp(png + at + 4, "IDAT", 4) != 0)
                at += 12 + ((size_t)png[at] << 24 | (size_t)png[at + 1] << 16 |
                            (size_t)png[at + 2] << 8 | png[at + 3]);
            assert_true(at + 8 <= len);
            len2 = len + 12 + cases[i].trns_len;
            with = ts_malloc(len2);
            memcpy(with, png, at);
            uint8_t *c = with + at;
            c[0] = c[1] = c[2] = 0;
            c[3] = (uint8_t)cases[i].trns_len;
            memcpy(c + 4, "tRNS", 4);
            memcpy(c + 8, cases[i].trns, cases[i].trns_len);
            uint32_t crc = ts_crc32(c + 4, 4 + cases[i].trns_len);
            uint8_t *cp = c + 8 + cases[i].trns_len;
            cp[0] = (uint8_t)(crc >> 24);
            cp[1] = (uint8_t)(crc >> 16);
            cp[2] = (uint8_t)(crc >> 8);
            cp[3] = (uint8_t)crc;
            memcpy(cp + 4, png + at, len - at);
        } else {
            with = ts_png_insert_chunk(png, len, "tRNS", cases[i].trns, cases[i].trns_len, &len2);
        }
        /* gAMA 0.1 and sRGB would change pixels if gamma correction ran */
        static const uint8_t gama[4] = {0, 0, 0x27, 0x10};
        static const uint8_t srgb[1] = {0};
        uint8_t *more = ts_png_insert_chunk(with, len2, "gAMA", gama, sizeof gama, &len3);
        size_t len4;
        uint8_t *most = ts_png_insert_chunk(more, len3, "sRGB", srgb, sizeof srgb, &len4);
        clientscan_image img;
        decode_ok(most, len4, NULL, &img);
        check_png_pixels(&img, k, 19, 13);
        clientscan_image_release(&img);
        free(most);
        free(more);
        free(with);
        free(png);
    }
}

/* A raw deflate stream (fixed Huffman codes) of `matches`*258+1 zero bytes:
 * one literal 0 then repeated <length 258, distance 1> copies, in a zlib
 * wrapper with the right Adler-32. About 1/1000 of its inflated size. */
typedef struct {
    uint8_t *buf;
    size_t bits;
} bit_writer;

static void put_bits_lsb(bit_writer *w, uint32_t value, int n)
{
    for (int i = 0; i < n; i++, w->bits++)
        if (value >> i & 1)
            w->buf[w->bits / 8] |= (uint8_t)(1u << (w->bits % 8));
}

static void put_code_msb(bit_writer *w, uint32_t code, int n)
{
    for (int i = n - 1; i >= 0; i--, w->bits++)
        if (code >> i & 1)
            w->buf[w->bits / 8] |= (uint8_t)(1u << (w->bits % 8));
}

static uint8_t *zlib_zero_bomb(size_t matches, size_t *len)
{
    size_t cap = 2 + (3 + 8 + matches * 13 + 7 + 7) / 8 + 4;
    uint8_t *z = calloc(1, cap);
    assert_non_null(z);
    z[0] = 0x78; /* deflate, 32K window */
    z[1] = 0x01; /* check bits: 0x7801 % 31 == 0 */
    bit_writer w = {z + 2, 0};
    put_bits_lsb(&w, 1, 1);       /* BFINAL */
    put_bits_lsb(&w, 1, 2);       /* BTYPE = fixed Huffman */
    put_code_msb(&w, 0x30, 8);    /* literal 0 */
    for (size_t i = 0; i < matches; i++) {
        put_code_msb(&w, 0xc5, 8); /* length symbol 285 = 258 */
        put_code_msb(&w, 0, 5);    /* distance code 0 = 1 */
    }
    put_code_msb(&w, 0, 7); /* end of block (256) */
    size_t n = 2 + (w.bits + 7) / 8;
    uint64_t total = 1 + (uint64_t)matches * 258;
    uint32_t adler = (uint32_t)(total % 65521) << 16 | 1; /* zeros: a stays 1, b = n */
    z[n] = (uint8_t)(adler >> 24);
    z[n + 1] = (uint8_t)(adler >> 16);
    z[n + 2] = (uint8_t)(adler >> 8);
    z[n + 3] = (uint8_t)adler;
    *len = n + 4;
    return z;
}

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void test_png_hostile_ancillary_chunks_do_not_matter(void **state)
{
    (void)state;
    size_t len;
    uint8_t *png = ts_png_encode(23, 17, PNG_COLOR_TYPE_RGB, 8, 0, &len);
    /* 3000 tEXt chunks (added first: each insertion copies the file) */
    size_t blen = len, b2len;
    uint8_t *bomb = copy_bytes(png, len), *bomb2;
    for (int i = 0; i < 3000; i++) {
        static const uint8_t text[] = "Title\0hello";
        bomb2 = ts_png_insert_chunk(bomb, blen, "tEXt", text, sizeof text - 1, &b2len);
        free(bomb);
        bomb = bomb2;
        blen = b2len;
    }
    /* zTXt: keyword, NUL, method 0, then 256 MiB of zeros deflated */
    size_t zlen;
    uint8_t *z = zlib_zero_bomb((256u << 20) / 258, &zlen);
    uint8_t *ztxt = ts_malloc(9 + zlen);
    memcpy(ztxt, "Comment\0\0", 9);
    memcpy(ztxt + 9, z, zlen);
    bomb2 = ts_png_insert_chunk(bomb, blen, "zTXt", ztxt, 9 + zlen, &b2len);
    free(bomb);
    bomb = bomb2;
    blen = b2len;
    /* the same bomb as an ICC profile: name, NUL, method 0, data */
    uint8_t *iccp = ts_malloc(5 + zlen);
    memcpy(iccp, "icc\0\0", 5);
    memcpy(iccp + 5, z, zlen);
    bomb2 = ts_png_insert_chunk(bomb, blen, "iCCP", iccp, 5 + zlen, &b2len);
    free(bomb);
    bomb = bomb2;
    blen = b2len;
    /* an unknown ancillary (private) chunk is skipped too */
    static const uint8_t junk[16] = {1, 2, 3};
    bomb2 = ts_png_insert_chunk(bomb, blen, "prIv", junk, sizeof junk, &b2len);
    free(bomb);
    bomb = bomb2;
    blen = b2len;

    clientscan_image plain, hostile;
    decode_ok(png, len, NULL, &plain);
    double t0 = now_seconds();
    decode_ok(bomb, blen, NULL, &hostile);
    double dt = now_seconds() - t0;
    printf("PNG with a 256 MiB zTXt + iCCP bomb and 3000 tEXt chunks (%zu bytes): %.1f ms\n",
           blen, dt * 1e3);
    assert_int_equal(hostile.width, plain.width);
    assert_int_equal(hostile.channels, plain.channels);
    assert_memory_equal(hostile.pixels, plain.pixels, plain.stride * plain.height);
    clientscan_image_release(&plain);
    clientscan_image_release(&hostile);

    /* an unknown CRITICAL chunk (uppercase first letter) is an error */
    uint8_t *crit = ts_png_insert_chunk(png, len, "XXXX", junk, sizeof junk, &b2len);
    clientscan_detail d;
    assert_int_equal(decode_expect_fail(crit, b2len, NULL, &d), CLIENTSCAN_E_CORRUPT);
    assert_non_null(strstr(d.text, "PNG: "));
    free(crit);
    free(bomb);
    free(iccp);
    free(ztxt);
    free(z);
    free(png);
}

static void test_png_crc_error_names_the_chunk(void **state)
{
    (void)state;
    size_t len;
    uint8_t *png = ts_png_encode(10, 10, PNG_COLOR_TYPE_GRAY, 8, 0, &len);
    png[29] ^= 0x01; /* IHDR's CRC */
    clientscan_detail d;
    assert_int_equal(decode_expect_fail(png, len, NULL, &d), CLIENTSCAN_E_CORRUPT);
    assert_string_equal(d.text, "PNG: IHDR: CRC error");
    free(png);
}

/* The PNG spec makes an index past the palette an error; libpng would pad
 * the palette with black and decode invented pixels. */
static void test_png_index_past_palette_is_corrupt(void **state)
{
    (void)state;
    const uint32_t w = 8, h = 8; /* one checker block: indices 0..70 */
    uint32_t max_index = 0;
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            if (ts_pattern(x, y, 0, 8) > max_index)
                max_index = ts_pattern(x, y, 0, 8);
    assert_true(max_index > 0 && max_index < 255);
    for (int interlace = 0; interlace <= 1; interlace++) {
        size_t len, cut_len;
        uint8_t *png = ts_png_encode(w, h, PNG_COLOR_TYPE_PALETTE, 8, interlace, &len);
        /* Just enough entries: decodes, every pixel from the palette. */
        uint8_t *cut = ts_png_cut_palette(png, len, max_index + 1, &cut_len);
        clientscan_image img;
        decode_ok(cut, cut_len, NULL, &img);
        for (uint32_t y = 0; y < h; y++)
            for (uint32_t x = 0; x < w; x++) {
                uint8_t rgb[3];
                ts_png_palette_entry(ts_pattern(x, y, 0, 8), rgb);
                assert_memory_equal(img.pixels + (size_t)y * img.stride + 3 * (size_t)x, rgb, 3);
            }
        clientscan_image_release(&img);
        free(cut);
        /* One entry short: the largest index is past the end. */
        cut = ts_png_cut_palette(png, len, max_index, &cut_len);
        clientscan_detail d;
        assert_int_equal(decode_expect_fail(cut, cut_len, NULL, &d), CLIENTSCAN_E_CORRUPT);
        char want[96];
        snprintf(want, sizeof want, "PNG: pixel index %u is past the %u-entry palette", max_index,
                 max_index);
        assert_string_equal(d.text, want);
        free(cut);
        free(png);
    }
}

static void test_png_zero_size_is_corrupt(void **state)
{
    (void)state;
    size_t len;
    uint8_t *png = ts_png_encode(10, 10, PNG_COLOR_TYPE_GRAY, 8, 0, &len);
    ts_png_set_size(png, len, 0, 10);
    clientscan_detail d;
    assert_int_equal(decode_expect_fail(png, len, NULL, &d), CLIENTSCAN_E_CORRUPT);
    free(png);
}

/* ------------------------------------------------------------ JPEG pixels */

static double luma(double r, double g, double b)
{
    return 0.299 * r + 0.587 * g + 0.114 * b;
}

/* Mean absolute difference between decoded pixels and the generator's
 * pattern. Colour JPEGs are 4:2:0 (chroma of the pattern's sharp edges
 * blurs), so for them the comparison is on luma, which is stored at full
 * resolution; CMYK compares the RGB that r = c*k/255 gives. */
static double jpeg_mean_error(const clientscan_image *img, int components)
{
    double sum = 0;
    for (uint32_t y = 0; y < img->height; y++)
        for (uint32_t x = 0; x < img->width; x++) {
            const uint8_t *px = img->pixels + (size_t)y * img->stride + (size_t)x * img->channels;
            if (components == 3) {
                double want = luma(ts_pattern(x, y, 0, 8), ts_pattern(x, y, 1, 8),
                                   ts_pattern(x, y, 2, 8));
                sum += fabs(luma(px[0], px[1], px[2]) - want);
                continue;
            }
            for (uint32_t c = 0; c < img->channels; c++) {
                int want = (int)ts_pattern(x, y, (int)c, 8);
                if (components == 4)
                    want = (int)((double)want * ts_pattern(x, y, 3, 8) / 255.0 + 0.5);
                sum += abs(px[c] - want);
            }
        }
    return sum / ((double)img->width * img->height * (components == 3 ? 1 : img->channels));
}

static void test_jpeg_kinds_decode_close_to_source(void **state)
{
    (void)state;
    static const struct {
        int components;
        bool progressive;
        uint32_t channels;
    } kinds[] = {{3, false, 3}, {3, true, 3}, {1, false, 1},
                 {1, true, 1},  {4, false, 3}, {4, true, 3}};
    static const uint32_t sizes[][2] = {{64, 48}, {33, 17}, {1, 1}, {7, 300}};
    double worst = 0;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            uint32_t w = sizes[s][0], h = sizes[s][1];
            size_t len;
            uint8_t *jpg = ts_jpeg_encode(w, h, kinds[i].components, 98, kinds[i].progressive, 0,
                                          false, &len);
            clientscan_image img;
            decode_ok(jpg, len, NULL, &img);
            assert_int_equal(img.format, CLIENTSCAN_FORMAT_JPEG);
            assert_int_equal(img.width, w);
            assert_int_equal(img.height, h);
            assert_int_equal(img.source_width, w);
            assert_int_equal(img.source_height, h);
            assert_int_equal(img.channels, kinds[i].channels);
            assert_int_equal(img.stride, (size_t)w * img.channels);
            assert_int_equal(img.exif_orientation, 0);
            double err = jpeg_mean_error(&img, kinds[i].components);
            const double bound = 3.0;
            worst = err > worst ? err : worst;
            if (err > bound)
                fail_msg("%d components%s %ux%u: mean error %.2f > %.1f", kinds[i].components,
                         kinds[i].progressive ? " progressive" : "", w, h, err, bound);
            clientscan_image_release(&img);
            free(jpg);
        }
    printf("JPEG q98 decodes: worst mean error vs the source pattern %.2f\n", worst);
}

static void test_jpeg_12_bit_is_unsupported(void **state)
{
    (void)state;
    size_t len;
    uint8_t *jpg = ts_jpeg_encode(16, 16, 3, 90, false, 0, false, &len);
    jpg[ts_jpeg_sof_offset(jpg, len) + 2] = 12; /* sample precision */
    clientscan_detail d;
    assert_int_equal(decode_expect_fail(jpg, len, NULL, &d), CLIENTSCAN_E_UNSUPPORTED_FORMAT);
    assert_non_null(strstr(d.text, "JPEG: "));
    free(jpg);
}

static void test_jpeg_premature_end_is_an_error_with_libjpeg_message(void **state)
{
    (void)state;
    size_t len;
    uint8_t *jpg = ts_jpeg_encode(64, 64, 3, 90, false, 0, false, &len);
    clientscan_detail d;
    assert_int_equal(decode_expect_fail(jpg, len * 3 / 4, NULL, &d), CLIENTSCAN_E_CORRUPT);
    assert_string_equal(d.text, "JPEG: Premature end of JPEG file");
    /* only the final EOI marker missing: still truncated */
    assert_int_equal(decode_expect_fail(jpg, len - 2, NULL, &d), CLIENTSCAN_E_CORRUPT);
    free(jpg);
}

/* ------------------------------------------------------------ sniffing */

typedef struct {
    const char *bytes;
    size_t len;
    clientscan_format format;
} magic_case;

#define M(s, f) {s, sizeof s - 1, f}
static const magic_case magics[] = {
    M("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", CLIENTSCAN_FORMAT_PNG),
    M("\xff\xd8\xff\xe0\0\x10JFIF", CLIENTSCAN_FORMAT_JPEG),
    M("\xff\xd8\xff\xdb", CLIENTSCAN_FORMAT_JPEG),
    M("GIF87a\x01\0\x01\0", CLIENTSCAN_FORMAT_GIF),
    M("GIF89a\x01\0\x01\0", CLIENTSCAN_FORMAT_GIF),
    M("RIFF\x24\0\0\0WEBPVP8 ", CLIENTSCAN_FORMAT_WEBP),
    M("\0\0\0\x18" "ftypheic\0\0\0\0mif1heic", CLIENTSCAN_FORMAT_HEIC),
    M("\0\0\0\x18" "ftypheix\0\0\0\0mif1heix", CLIENTSCAN_FORMAT_HEIC),
    M("\0\0\0\x18" "ftypmif1\0\0\0\0mif1heic", CLIENTSCAN_FORMAT_HEIC),
    M("\0\0\0\x1c" "ftypavif\0\0\0\0avifmif1miaf", CLIENTSCAN_FORMAT_AVIF),
    M("\0\0\0\x20" "ftypmif1\0\0\0\0mif1miafavifMA1B", CLIENTSCAN_FORMAT_AVIF),
    M("\0\0\0\x1c" "ftypavis\0\0\0\0avismsf1miaf", CLIENTSCAN_FORMAT_AVIF),
    M("II*\0\x08\0\0\0", CLIENTSCAN_FORMAT_TIFF),
    M("MM\0*\0\0\0\x08", CLIENTSCAN_FORMAT_TIFF),
    M("BM\x36\x10\0\0\0\0\0\0\x36\0\0\0\x28\0\0\0", CLIENTSCAN_FORMAT_BMP),
    M("BM\x36\x10\0\0\0\0\0\0\x7a\0\0\0\x7c\0\0\0", CLIENTSCAN_FORMAT_BMP),
    M("\0\0\1\0\1\0\x10\x10", CLIENTSCAN_FORMAT_ICO),
    M("\0\0\2\0\1\0\x20\x20", CLIENTSCAN_FORMAT_ICO), /* .cur */
    M("\0\0\0\x0cjP  \r\n\x87\n\0\0\0\x14" "ftypjp2 ", CLIENTSCAN_FORMAT_JPEG2000),
    M("\xff\x4f\xff\x51\0\x2f", CLIENTSCAN_FORMAT_JPEG2000),
    M("\0\0\0\x0cJXL \r\n\x87\n", CLIENTSCAN_FORMAT_JPEGXL),
    M("\xff\x0a\xfa\x7f", CLIENTSCAN_FORMAT_JPEGXL),
    M("%PDF-1.7\n", CLIENTSCAN_FORMAT_PDF),
    /* not images, or too short to tell */
    M("hello, world\n", CLIENTSCAN_FORMAT_UNKNOWN),
    M("BMW is a car, not a bitmap", CLIENTSCAN_FORMAT_UNKNOWN),
    M("RIFF\x24\0\0\0WAVEfmt ", CLIENTSCAN_FORMAT_UNKNOWN),
    M("\0\0\0\x18" "ftypisom\0\0\0\0isomiso2", CLIENTSCAN_FORMAT_UNKNOWN), /* MP4 video */
    M("\x89PNG\r\n\x1a", CLIENTSCAN_FORMAT_UNKNOWN),
    M("\xff\xd8", CLIENTSCAN_FORMAT_UNKNOWN),
    M("GIF8", CLIENTSCAN_FORMAT_UNKNOWN),
    M("\0\0\1\0\0\0", CLIENTSCAN_FORMAT_UNKNOWN), /* ICO with no images */
    M("\x7f" "ELF\2\1\1", CLIENTSCAN_FORMAT_UNKNOWN),
};
#undef M

static void test_sniff_every_magic(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof magics / sizeof magics[0]; i++) {
        clientscan_format f = clientscan_sniff(magics[i].bytes, magics[i].len);
        if (f != magics[i].format)
            fail_msg("magic #%zu: sniffed %s, expected %s", i, clientscan_format_name(f),
                     clientscan_format_name(magics[i].format));
    }
    assert_int_equal(clientscan_sniff(NULL, 10), CLIENTSCAN_FORMAT_UNKNOWN);
    assert_int_equal(clientscan_sniff("", 0), CLIENTSCAN_FORMAT_UNKNOWN);
    /* real generated files */
    size_t len;
    uint8_t *png = ts_png_encode(4, 4, PNG_COLOR_TYPE_RGB, 8, 0, &len);
    assert_int_equal(clientscan_sniff(png, len), CLIENTSCAN_FORMAT_PNG);
    free(png);
    uint8_t *jpg = ts_jpeg_encode(4, 4, 3, 80, false, 0, false, &len);
    assert_int_equal(clientscan_sniff(jpg, len), CLIENTSCAN_FORMAT_JPEG);
    free(jpg);
}

static void test_format_names(void **state)
{
    (void)state;
    static const char *const names[] = {"unknown", "png", "jpeg", "gif", "webp", "heic", "avif",
                                        "tiff", "bmp", "ico", "jpeg2000", "jpegxl", "pdf"};
    assert_int_equal(sizeof names / sizeof names[0], CLIENTSCAN_FORMAT_COUNT);
    for (int f = 0; f < CLIENTSCAN_FORMAT_COUNT; f++)
        assert_string_equal(clientscan_format_name((clientscan_format)f), names[f]);
    assert_string_equal(clientscan_format_name(CLIENTSCAN_FORMAT_COUNT), "unknown");
    assert_string_equal(clientscan_format_name((clientscan_format)-1), "unknown");
}

static void test_unsupported_formats_are_refused_by_name(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof magics / sizeof magics[0]; i++) {
        clientscan_format f = magics[i].format;
        if (f == CLIENTSCAN_FORMAT_PNG || f == CLIENTSCAN_FORMAT_JPEG)
            continue;
        clientscan_detail d;
        int rc = decode_expect_fail((const uint8_t *)magics[i].bytes, magics[i].len, NULL, &d);
        assert_int_equal(rc, CLIENTSCAN_E_UNSUPPORTED_FORMAT);
        char want[64];
        if (f == CLIENTSCAN_FORMAT_UNKNOWN)
            snprintf(want, sizeof want, "unsupported format: unknown (not an image)");
        else
            snprintf(want, sizeof want, "unsupported format: %s", clientscan_format_name(f));
        assert_string_equal(d.text, want);
    }
    clientscan_detail d;
    assert_int_equal(decode_expect_fail((const uint8_t *)"", 0, NULL, &d), CLIENTSCAN_E_CORRUPT);
    assert_string_equal(d.text, "empty input");
    decode_expect_fail((const uint8_t *)"RIFF\0\0\0\0WEBPVP8L", 16, NULL, &d);
    assert_string_equal(d.text, "unsupported format: webp");
}

/* ------------------------------------------------------------ hostile bytes */

typedef struct {
    const char *name;
    uint8_t *data;
    size_t len;
} sample_file;

static size_t make_samples(sample_file out[8])
{
    size_t n = 0;
    out[n].name = "png rgb";
    out[n].data = ts_png_encode(24, 20, PNG_COLOR_TYPE_RGB, 8, 0, &out[n].len);
    n++;
    out[n].name = "png palette interlaced";
    out[n].data = ts_png_encode(21, 19, PNG_COLOR_TYPE_PALETTE, 4, 1, &out[n].len);
    n++;
    out[n].name = "png grey16 interlaced";
    out[n].data = ts_png_encode(13, 11, PNG_COLOR_TYPE_GRAY, 16, 1, &out[n].len);
    n++;
    out[n].name = "jpeg baseline";
    out[n].data = ts_jpeg_encode(24, 24, 3, 90, false, 6, false, &out[n].len);
    n++;
    out[n].name = "jpeg progressive";
    out[n].data = ts_jpeg_encode(24, 24, 3, 90, true, 0, false, &out[n].len);
    n++;
    out[n].name = "jpeg grey";
    out[n].data = ts_jpeg_encode(20, 12, 1, 90, false, 0, false, &out[n].len);
    n++;
    out[n].name = "jpeg cmyk progressive";
    out[n].data = ts_jpeg_encode(17, 9, 4, 90, true, 3, true, &out[n].len);
    n++;
    return n;
}

static void free_samples(sample_file *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(s[i].data);
}

static void test_truncation_at_every_length_fails_cleanly(void **state)
{
    (void)state;
    sample_file s[8];
    size_t n = make_samples(s);
    for (size_t i = 0; i < n; i++) {
        /* sanity: the whole file decodes */
        clientscan_image img;
        decode_ok(s[i].data, s[i].len, NULL, &img);
        clientscan_image_release(&img);
        for (size_t cut = 0; cut < s[i].len; cut++) {
            /* an exact-size copy, so the sanitizer build sees any overread */
            uint8_t *part = copy_bytes(s[i].data, cut);
            clientscan_detail d;
            memset(&img, 0x5a, sizeof img);
            int rc = clientscan_decode_memory(part, cut, NULL, &img, &d);
            if (rc == CLIENTSCAN_OK)
                fail_msg("%s cut to %zu of %zu bytes decoded", s[i].name, cut, s[i].len);
            assert_true(all_zero(&img, sizeof img));
            /* the streaming path (decode + hash) refuses it too */
            clientscan_pdq_result r;
            assert_int_not_equal(clientscan_hash_memory(part, cut, NULL, &r, NULL, &d),
                                 CLIENTSCAN_OK);
            free(part);
        }
    }
    free_samples(s, n);
}

static void test_bit_flips_never_crash(void **state)
{
    (void)state;
    sample_file s[8];
    size_t n = make_samples(s);
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    const clientscan_decode_params params = {.max_pixels = 1u << 20};
    int ok = 0, failed = 0;
    for (size_t i = 0; i < n; i++)
        for (int iter = 0; iter < 400; iter++) {
            uint8_t *m = copy_bytes(s[i].data, s[i].len);
            int flips = 1 + (int)(rng_next(&seed) % 4);
            for (int f = 0; f < flips; f++) {
                uint32_t bit = rng_next(&seed) % (uint32_t)(s[i].len * 8);
                m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            }
            clientscan_image img;
            clientscan_detail d;
            memset(&img, 0x5a, sizeof img);
            int rc = clientscan_decode_memory(m, s[i].len, &params, &img, &d);
            if (rc == CLIENTSCAN_OK) {
                ok++;
                assert_true(img.format == CLIENTSCAN_FORMAT_PNG ||
                            img.format == CLIENTSCAN_FORMAT_JPEG);
                assert_true(img.channels == 1 || img.channels == 3);
                assert_true(img.width > 0 && img.height > 0);
                assert_true((uint64_t)img.width * img.height <= params.max_pixels);
                assert_int_equal(img.stride, (size_t)img.width * img.channels);
                assert_non_null(img.pixels);
                /* touch every byte so the sanitizer checks the allocation */
                unsigned sum = 0;
                for (size_t b = 0; b < img.stride * img.height; b++)
                    sum += img.pixels[b];
                (void)sum;
                clientscan_image_release(&img);
            } else {
                failed++;
                assert_true(all_zero(&img, sizeof img));
                assert_true(d.text[0] != '\0');
            }
            free(m);
        }
    printf("bit flips: %d decoded, %d refused\n", ok, failed);
    assert_true(failed > 0);
    free_samples(s, n);
}

/* ------------------------------------------------------------ limits */

static void test_png_huge_header_refused_before_allocation(void **state)
{
    (void)state;
    size_t len;
    uint8_t *png = ts_png_encode(8, 8, PNG_COLOR_TYPE_RGB, 8, 0, &len);
    ts_png_set_size(png, len, 100000, 100000);
    clientscan_detail d;
    assert_int_equal(decode_expect_fail(png, len, NULL, &d), CLIENTSCAN_E_LIMIT);
    assert_string_equal(d.text, "PNG: 100000x100000 exceeds the 100000000-pixel limit");
    probe_sink p = {0};
    assert_int_equal(probe_decode(png, len, NULL, &p, &d), CLIENTSCAN_E_LIMIT);
    assert_int_equal(p.begins, 0);
    /* one side too long, few pixels */
    ts_png_set_size(png, len, 70000, 1);
    assert_int_equal(decode_expect_fail(png, len, NULL, &d), CLIENTSCAN_E_LIMIT);
    assert_string_equal(d.text, "PNG: 70000x1 exceeds the 65535-pixel side limit");
    /* beyond libpng's own default limit of 1000000 too: still our E_LIMIT */
    ts_png_set_size(png, len, 2000000, 1);
    assert_int_equal(decode_expect_fail(png, len, NULL, &d), CLIENTSCAN_E_LIMIT);
    free(png);
}

static void test_jpeg_huge_header_refused_before_allocation(void **state)
{
    (void)state;
    size_t len;
    uint8_t *jpg = ts_jpeg_encode(16, 16, 3, 90, true, 0, false, &len);
    ts_jpeg_set_size(jpg, len, 65000, 65000);
    clientscan_detail d;
    assert_int_equal(decode_expect_fail(jpg, len, NULL, &d), CLIENTSCAN_E_LIMIT);
    assert_string_equal(d.text, "JPEG: 65000x65000 exceeds the 100000000-pixel limit");
    probe_sink p = {0};
    assert_int_equal(probe_decode(jpg, len, NULL, &p, &d), CLIENTSCAN_E_LIMIT);
    assert_int_equal(p.begins, 0);
    /* past libjpeg's own 65500 maximum: its refusal is a limit too */
    ts_jpeg_set_size(jpg, len, 65535, 1);
    assert_int_equal(decode_expect_fail(jpg, len, NULL, &d), CLIENTSCAN_E_LIMIT);
    free(jpg);
}

static void test_custom_limits(void **state)
{
    (void)state;
    for (int jpeg = 0; jpeg <= 1; jpeg++) {
        const char *codec = jpeg ? "JPEG" : "PNG";
        struct {
            uint32_t w, h;
            clientscan_decode_params p;
            int rc;
            const char *detail_fmt;
        } cases[] = {
            {10, 10, {.max_pixels = 100}, CLIENTSCAN_OK, NULL},
            {11, 10, {.max_pixels = 100}, CLIENTSCAN_E_LIMIT,
             "%s: 11x10 exceeds the 100-pixel limit"},
            {16, 4, {.max_side = 16}, CLIENTSCAN_OK, NULL},
            {17, 4, {.max_side = 16}, CLIENTSCAN_E_LIMIT,
             "%s: 17x4 exceeds the 16-pixel side limit"},
            {4, 17, {.max_side = 16}, CLIENTSCAN_E_LIMIT,
             "%s: 4x17 exceeds the 16-pixel side limit"},
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            size_t len;
            const uint32_t w = cases[i].w, h = cases[i].h;
            uint8_t *data = jpeg ? ts_jpeg_encode(w, h, 3, 80, false, 0, false, &len)
                                 : ts_png_encode(w, h, PNG_COLOR_TYPE_RGB, 8, 0, &len);
            if (cases[i].rc == CLIENTSCAN_OK) {
                clientscan_image img;
                decode_ok(data, len, &cases[i].p, &img);
                assert_int_equal(img.width, cases[i].w);
                clientscan_image_release(&img);
            } else {
                clientscan_detail d;
                assert_int_equal(decode_expect_fail(data, len, &cases[i].p, &d), cases[i].rc);
                char want[128];
                snprintf(want, sizeof want, cases[i].detail_fmt, codec);
                assert_string_equal(d.text, want);
            }
            free(data);
        }
    }
}

static void test_file_decoding(void **state)
{
    (void)state;
    char *dir = ts_tempdir();
    size_t len;
    uint8_t *png = ts_png_encode(12, 9, PNG_COLOR_TYPE_PALETTE, 8, 1, &len);
    char *path = ts_path(dir, "pic.png");
    ts_write_file(path, png, len);

    clientscan_image from_file, from_memory;
    clientscan_detail d;
    assert_int_equal(clientscan_decode_file(path, NULL, &from_file, &d), CLIENTSCAN_OK);
    decode_ok(png, len, NULL, &from_memory);
    assert_int_equal(from_file.width, 12);
    assert_memory_equal(from_file.pixels, from_memory.pixels, from_memory.stride * 9);
    clientscan_image_release(&from_file);
    clientscan_image_release(&from_memory);

    /* max_file_bytes: exactly the size is fine, one byte less is a limit */
    clientscan_decode_params p = {.max_file_bytes = len};
    assert_int_equal(clientscan_decode_file(path, &p, &from_file, &d), CLIENTSCAN_OK);
    clientscan_image_release(&from_file);
    p.max_file_bytes = len - 1;
    memset(&from_file, 0x77, sizeof from_file);
    assert_int_equal(clientscan_decode_file(path, &p, &from_file, &d), CLIENTSCAN_E_LIMIT);
    assert_true(all_zero(&from_file, sizeof from_file));

    /* missing file, directory: E_IO; the detail leaves the path to the caller */
    char *missing = ts_path(dir, "no-such-file.png");
    memset(&from_file, 0x77, sizeof from_file);
    assert_int_equal(clientscan_decode_file(missing, NULL, &from_file, &d), CLIENTSCAN_E_IO);
    assert_true(all_zero(&from_file, sizeof from_file));
    assert_null(strstr(d.text, "no-such-file"));
    assert_true(d.text[0] != '\0');
    assert_int_equal(clientscan_decode_file(dir, NULL, &from_file, &d), CLIENTSCAN_E_IO);

    /* a corrupt file fails with the codec's reason */
    png[len / 2] ^= 0xff;
    ts_write_file(path, png, len);
    assert_int_not_equal(clientscan_decode_file(path, NULL, &from_file, &d), CLIENTSCAN_OK);
    assert_true(all_zero(&from_file, sizeof from_file));
    assert_null(strstr(d.text, "pic.png"));

    assert_int_equal(clientscan_decode_file(NULL, NULL, &from_file, &d),
                     CLIENTSCAN_E_INVALID_ARGUMENT);
    assert_int_equal(clientscan_decode_file(path, NULL, NULL, &d), CLIENTSCAN_E_INVALID_ARGUMENT);
    free(missing);
    free(path);
    free(png);
    ts_rmtree(dir);
    free(dir);
}

static void test_invalid_arguments_and_release(void **state)
{
    (void)state;
    clientscan_image img;
    clientscan_detail d;
    size_t len;
    uint8_t *png = ts_png_encode(4, 4, PNG_COLOR_TYPE_GRAY, 8, 0, &len);
    assert_int_equal(clientscan_decode_memory(png, len, NULL, NULL, &d),
                     CLIENTSCAN_E_INVALID_ARGUMENT);
    memset(&img, 0x33, sizeof img);
    assert_int_equal(clientscan_decode_memory(NULL, 10, NULL, &img, &d),
                     CLIENTSCAN_E_INVALID_ARGUMENT);
    assert_true(all_zero(&img, sizeof img));
    /* detail is optional */
    assert_int_equal(clientscan_decode_memory(png, 3, NULL, &img, NULL),
                     CLIENTSCAN_E_UNSUPPORTED_FORMAT);
    assert_int_equal(clientscan_decode_memory(png, len, NULL, &img, NULL), CLIENTSCAN_OK);
    clientscan_image_release(&img);
    assert_true(all_zero(&img, sizeof img));
    clientscan_image_release(&img); /* again, on a zeroed struct */
    clientscan_image_release(NULL);
    free(png);
}

/* ------------------------------------------------------------ row sinks */

static void test_row_sink_protocol_and_errors(void **state)
{
    (void)state;
    sample_file s[8];
    size_t n = make_samples(s);
    for (size_t i = 0; i < n; i++) {
        clientscan_image img;
        decode_ok(s[i].data, s[i].len, NULL, &img);
        clientscan_detail d;
        probe_sink p = {0};
        assert_int_equal(probe_decode(s[i].data, s[i].len, NULL, &p, &d), CLIENTSCAN_OK);
        assert_int_equal(p.begins, 1);
        assert_false(p.out_of_order);
        assert_int_equal(p.rows_done, img.height);
        assert_int_equal(p.hdr.width, img.width);
        assert_int_equal(p.hdr.height, img.height);
        assert_int_equal(p.hdr.channels, img.channels);
        assert_int_equal(p.hdr.format, img.format);
        assert_int_equal(p.hdr.exif_orientation, img.exif_orientation);

        probe_sink refuse = {.fail_begin = CLIENTSCAN_E_NOMEM};
        assert_int_equal(probe_decode(s[i].data, s[i].len, NULL, &refuse, &d), CLIENTSCAN_E_NOMEM);
        assert_string_equal(d.text, "probe refuses");
        assert_int_equal(refuse.rows_done, 0);

        probe_sink stop = {.fail_row_code = CLIENTSCAN_E_INTERNAL, .fail_row = img.height / 2};
        assert_int_equal(probe_decode(s[i].data, s[i].len, NULL, &stop, &d), CLIENTSCAN_E_INTERNAL);
        assert_int_equal(stop.rows_done, img.height / 2 + 1);
        clientscan_image_release(&img);
    }
    free_samples(s, n);
}

/* ------------------------------------------------------------ EXIF */

static void test_exif_orientation_from_generated_jpegs(void **state)
{
    (void)state;
    size_t len;
    uint8_t *plain = ts_jpeg_encode(40, 24, 3, 85, false, 0, false, &len);
    clientscan_image ref;
    decode_ok(plain, len, NULL, &ref);
    assert_int_equal(ref.exif_orientation, 0);
    for (int big = 0; big <= 1; big++)
        for (int o = 1; o <= 8; o++) {
            size_t elen;
            uint8_t *jpg = ts_jpeg_encode(40, 24, 3, 85, o % 2 == 0, o, big, &elen);
            clientscan_image img;
            decode_ok(jpg, elen, NULL, &img);
            assert_int_equal(img.exif_orientation, o);
            /* reported, not applied: same size, and (baseline) same pixels */
            assert_int_equal(img.width, 40);
            assert_int_equal(img.height, 24);
            if (o % 2)
                assert_memory_equal(img.pixels, ref.pixels, ref.stride * ref.height);
            clientscan_image_release(&img);
            free(jpg);
        }
    clientscan_image_release(&ref);
    free(plain);
}

/* Builds "Exif\0\0" + TIFF header + IFD0 with the given entries. */
static size_t exif_payload(uint8_t *out, bool big, uint32_t ifd_offset, uint16_t count,
                           const uint16_t (*entries)[4])
{
#define P16(p, v) (big ? ((p)[0] = (uint8_t)((v) >> 8), (p)[1] = (uint8_t)(v)) \
                       : ((p)[0] = (uint8_t)(v), (p)[1] = (uint8_t)((v) >> 8)))
#define P32(p, v) (big ? (P16((p), (v) >> 16), P16((p) + 2, (v) & 0xffff)) \
                       : (P16((p), (v) & 0xffff), P16((p) + 2, (v) >> 16)))
    memcpy(out, "Exif\0\0", 6);
    uint8_t *t = out + 6;
    memcpy(t, big ? "MM" : "II", 2);
    P16(t + 2, 42u);
    P32(t + 4, ifd_offset);
    uint8_t *ifd = t + 8;
    P16(ifd, count);
    for (int i = 0; i < count; i++) {
        uint8_t *e = ifd + 2 + 12 * i;
        P16(e, entries[i][0]);     /* tag */
        P16(e + 2, entries[i][1]); /* type */
        P32(e + 4, (uint32_t)entries[i][2]); /* count */
        P32(e + 8, 0u);
        P16(e + 8, entries[i][3]); /* value, left-justified */
    }
    return 6 + 8 + 2 + 12 * (size_t)count + 4;
#undef P16
#undef P32
}

static int exif_of(const uint8_t *payload, size_t len)
{
    uint8_t *copy = copy_bytes(payload, len); /* exact size for the sanitizer */
    int o = cs_exif_orientation(copy, len);
    free(copy);
    return o;
}

static void test_exif_parser_is_bounded(void **state)
{
    (void)state;
    uint8_t buf[256];
    static const uint16_t one[][4] = {{0x0112, 3, 1, 6}};
    static const uint16_t second[][4] = {{0x010f, 2, 4, 0x4142}, {0x0112, 3, 1, 8}};
    for (int big = 0; big <= 1; big++) {
        size_t n = exif_payload(buf, big, 8, 1, one);
        assert_int_equal(exif_of(buf, n), 6);
        /* every truncation: never an overread, orientation only if whole */
        for (size_t cut = 0; cut < n; cut++) {
            int o = exif_of(buf, cut);
            assert_true(o == 0 || (o == 6 && cut >= 6 + 8 + 2 + 12));
        }
        n = exif_payload(buf, big, 8, 2, second);
        assert_int_equal(exif_of(buf, n), 8);
        /* wrong type (LONG), wrong count, out-of-range values */
        static const uint16_t as_long[][4] = {{0x0112, 4, 1, 6}};
        static const uint16_t count2[][4] = {{0x0112, 3, 2, 6}};
        static const uint16_t zero[][4] = {{0x0112, 3, 1, 0}};
        static const uint16_t nine[][4] = {{0x0112, 3, 1, 9}};
        assert_int_equal(exif_of(buf, exif_payload(buf, big, 8, 1, as_long)), 0);
        assert_int_equal(exif_of(buf, exif_payload(buf, big, 8, 1, count2)), 0);
        assert_int_equal(exif_of(buf, exif_payload(buf, big, 8, 1, zero)), 0);
        assert_int_equal(exif_of(buf, exif_payload(buf, big, 8, 1, nine)), 0);
        /* IFD offset past the end, or pointing so the count does not fit */
        n = exif_payload(buf, big, 8, 1, one);
        assert_int_equal(exif_of(buf, exif_payload(buf, big, 0xfffffff0u, 1, one)), 0);
        assert_int_equal(exif_of(buf, exif_payload(buf, big, (uint32_t)(n - 6 - 1), 1, one)), 0);
        /* an entry count far beyond the payload */
        n = exif_payload(buf, big, 8, 1, one);
        buf[6 + 8] = 0xff; /* 0xffff entries, either byte order */
        buf[6 + 9] = 0xff;
        assert_int_equal(exif_of(buf, n), 0);
    }
    /* not EXIF at all, bad byte order mark, bad magic 42 */
    assert_int_equal(exif_of((const uint8_t *)"http://ns.adobe.com/xap/1.0/\0<x/>", 33), 0);
    size_t n = exif_payload(buf, false, 8, 1, one);
    buf[6] = 'X';
    assert_int_equal(exif_of(buf, n), 0);
    n = exif_payload(buf, true, 8, 1, one);
    buf[6 + 3] = 43;
    assert_int_equal(exif_of(buf, n), 0);
}

/* ------------------------------------------------------------ fast mode */

static uint32_t ceil_div(uint32_t a, uint32_t b)
{
    return (a + b - 1) / b;
}

static void test_jpeg_min_side_picks_smallest_scale(void **state)
{
    (void)state;
    static const uint32_t sizes[][2] = {{800, 600}, {333, 1001}};
    static const uint32_t mins[] = {1, 50, 76, 100, 150, 300, 301, 599, 600, 601, 5000};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        uint32_t w = sizes[s][0], h = sizes[s][1];
        size_t len;
        uint8_t *jpg = ts_jpeg_encode(w, h, 3, 75, false, 0, false, &len);
        for (size_t i = 0; i < sizeof mins / sizeof mins[0]; i++) {
            /* expectation: smallest n/8, n a power of two, with both sides
             * ceil(side*n/8) >= min; full size when even 8/8 is too small */
            uint32_t ew = w, eh = h;
            for (uint32_t num = 1; num <= 8; num *= 2) {
                uint32_t sw = ceil_div(w * num, 8), sh = ceil_div(h * num, 8);
                if (sw >= mins[i] && sh >= mins[i]) {
                    ew = sw;
                    eh = sh;
                    break;
                }
            }
            clientscan_decode_params p = {.jpeg_min_side = mins[i]};
            clientscan_image img;
            decode_ok(jpg, len, &p, &img);
            if (img.width != ew || img.height != eh)
                fail_msg("%ux%u min_side %u: got %ux%u, expected %ux%u", w, h, mins[i], img.width,
                         img.height, ew, eh);
            assert_int_equal(img.source_width, w);
            assert_int_equal(img.source_height, h);
            assert_int_equal(img.channels, 3);
            assert_int_equal(img.stride, (size_t)ew * 3);
            clientscan_image_release(&img);
        }
        free(jpg);
    }
    /* PNG: no DCT scaling, full size whatever the option */
    size_t len;
    uint8_t *png = ts_png_encode(64, 64, PNG_COLOR_TYPE_RGB, 8, 0, &len);
    clientscan_decode_params p = {.jpeg_min_side = 8};
    clientscan_image img;
    decode_ok(png, len, &p, &img);
    assert_int_equal(img.width, 64);
    clientscan_image_release(&img);
    free(png);
}

/* ------------------------------------------------------------ threads */

typedef struct {
    sample_file *samples;
    size_t count;
    clientscan_image *reference;
    int mismatches;
} thread_job;

static void *decode_many(void *arg)
{
    thread_job *j = arg;
    for (int round = 0; round < 10; round++)
        for (size_t i = 0; i < j->count; i++) {
            clientscan_image img;
            if (clientscan_decode_memory(j->samples[i].data, j->samples[i].len, NULL, &img, NULL) !=
                CLIENTSCAN_OK) {
                j->mismatches++;
                continue;
            }
            const clientscan_image *r = &j->reference[i];
            if (img.width != r->width || img.height != r->height ||
                memcmp(img.pixels, r->pixels, r->stride * r->height) != 0)
                j->mismatches++;
            clientscan_image_release(&img);
        }
    return NULL;
}

static void test_concurrent_decodes_agree(void **state)
{
    (void)state;
    sample_file s[8];
    size_t n = make_samples(s);
    clientscan_image ref[8];
    for (size_t i = 0; i < n; i++)
        decode_ok(s[i].data, s[i].len, NULL, &ref[i]);
    pthread_t t[4];
    thread_job jobs[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (thread_job){s, n, ref, 0};
        assert_int_equal(pthread_create(&t[i], NULL, decode_many, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(jobs[i].mismatches, 0);
    }
    for (size_t i = 0; i < n; i++)
        clientscan_image_release(&ref[i]);
    free_samples(s, n);
}

/* ------------------------------------------------------------ djpeg, vectors */

static bool on_path(const char *prog)
{
    const char *path = getenv("PATH");
    if (!path)
        return false;
    char *copy = strdup(path);
    assert_non_null(copy);
    bool found = false;
    for (char *save = NULL, *dir = strtok_r(copy, ":", &save); dir && !found;
         dir = strtok_r(NULL, ":", &save)) {
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, prog);
        found = access(p, X_OK) == 0;
    }
    free(copy);
    return found;
}

/* Runs `djpeg <args> <path>` and compares its PNM with our decode. */
static void assert_same_as_djpeg(const char *path, const char *args,
                                 const clientscan_decode_params *params)
{
    clientscan_image img;
    clientscan_detail d;
    int rc = clientscan_decode_file(path, params, &img, &d);
    if (rc != CLIENTSCAN_OK)
        fail_msg("%s: %s", path, d.text);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "djpeg %s '%s'", args, path);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    char magic[3] = {0};
    unsigned w, h, maxval;
    assert_int_equal(fscanf(f, "%2s %u %u %u", magic, &w, &h, &maxval), 4);
    fgetc(f); /* the single whitespace before the samples */
    uint32_t channels = strcmp(magic, "P6") == 0 ? 3 : strcmp(magic, "P5") == 0 ? 1 : 0;
    assert_int_equal(maxval, 255);
    size_t n = (size_t)w * h * channels;
    uint8_t *ref = ts_malloc(n ? n : 1);
    size_t got = fread(ref, 1, n, f);
    int status = pclose(f);
    assert_int_equal(status, 0);
    assert_int_equal(got, n);
    if (img.width != w || img.height != h || img.channels != channels)
        fail_msg("%s: ours %ux%ux%u, djpeg %ux%ux%u", path, img.width, img.height, img.channels,
                 w, h, channels);
    assert_int_equal(img.stride, (size_t)w * channels);
    if (memcmp(img.pixels, ref, n) != 0)
        fail_msg("%s: pixels differ from `djpeg %s`", path, args);
    printf("%s: %ux%u, %u channel(s), byte-identical to djpeg %s\n", path, w, h, channels, args);
    free(ref);
    clientscan_image_release(&img);
}

static void test_generated_jpegs_match_djpeg(void **state)
{
    (void)state;
    if (!on_path("djpeg")) {
        fprintf(stderr, "\n*** SKIPPED: djpeg comparison: djpeg not on PATH "
                        "(apt-get install libjpeg-turbo-progs) ***\n\n");
        skip();
    }
    char *dir = ts_tempdir();
    static const struct {
        const char *name;
        int components;
        bool progressive;
    } kinds[] = {{"grey.jpg", 1, false}, {"cmyk.jpg", 4, true}, {"rgb.jpg", 3, true}};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        size_t len;
        uint8_t *jpg = ts_jpeg_encode(203, 117, kinds[i].components, 88, kinds[i].progressive, 0,
                                      false, &len);
        char *path = ts_path(dir, kinds[i].name);
        ts_write_file(path, jpg, len);
        assert_same_as_djpeg(path, "-pnm", NULL);
        /* fast mode: min side 50 -> 4/8 scale (59 rows), as djpeg -scale 4/8 */
        clientscan_decode_params p = {.jpeg_min_side = 50};
        assert_same_as_djpeg(path, "-pnm -scale 4/8", &p);
        free(path);
        free(jpg);
    }
    ts_rmtree(dir);
    free(dir);
}

/* Colour type from a PNG's IHDR: grey types decode to 1 channel. */
static uint32_t png_file_channels(const char *path)
{
    size_t len;
    uint8_t *d = ts_read_file(path, &len);
    assert_true(len > 26);
    int color_type = d[25];
    free(d);
    return (color_type & 2) || color_type == 3 ? 3 : 1;
}

static void test_vector_images_decode(void **state)
{
    (void)state;
    const char *vectors = ts_vectors_dir("decoding every PDQ vector image");
    if (!vectors)
        skip();
    char tsv[4096];
    snprintf(tsv, sizeof tsv, "%s/expected-full.tsv", vectors);
    FILE *f = fopen(tsv, "r");
    assert_non_null(f);
    char line[2048];
    int decoded = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        char *tab = strchr(line, '\t');
        assert_non_null(tab);
        *tab = '\0';
        char path[4096];
        snprintf(path, sizeof path, "%s/images/%s", vectors, line);
        clientscan_image img;
        clientscan_detail d;
        int rc = clientscan_decode_file(path, NULL, &img, &d);
        if (rc != CLIENTSCAN_OK)
            fail_msg("%s: %s", path, d.text);
        size_t n = strlen(line);
        bool png = n > 4 && strcmp(line + n - 4, ".png") == 0;
        assert_int_equal(img.format, png ? CLIENTSCAN_FORMAT_PNG : CLIENTSCAN_FORMAT_JPEG);
        if (png)
            assert_int_equal(img.channels, png_file_channels(path));
        else
            assert_true(img.channels == 1 || img.channels == 3);
        assert_int_equal(img.source_width, img.width);
        clientscan_image_release(&img);
        decoded++;
    }
    fclose(f);
    printf("decoded all %d vector images\n", decoded);
    assert_true(decoded >= 40);
}

static void test_vector_jpegs_match_djpeg(void **state)
{
    (void)state;
    const char *vectors = ts_vectors_dir("vector JPEGs byte-identical to djpeg");
    if (!vectors)
        skip();
    if (!on_path("djpeg")) {
        fprintf(stderr, "\n*** SKIPPED: vector JPEGs vs djpeg: djpeg not on PATH ***\n\n");
        skip();
    }
    /* The vectors hold no greyscale JPEG; the generated-grey test above
     * covers that case against djpeg. */
    static const char *const files[] = {"misc-images/modes/CMYK.jpg", "misc-images/small.jpg",
                                        "misc-images/wee.jpg", "bridge-mods/shrink-a-lot.jpg"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/images/%s", vectors, files[i]);
        assert_same_as_djpeg(path, "-pnm", NULL);
    }
}

/* ------------------------------------------------------------ more hostile input */

/* Every byte of a file gets single-bit flips. A PNG protects every critical
 * byte with a CRC, so one that still decodes must give the original pixels.
 * A JPEG that still decodes must have the original size unless the flip hit
 * the SOF's height or width, in which case the size those bytes now say. */
static void test_bit_flip_survivors_keep_their_size(void **state)
{
    (void)state;
    sample_file s[8];
    size_t n = make_samples(s);
    int survived = 0, refused = 0;
    for (size_t i = 0; i < n; i++) {
        clientscan_image ref;
        decode_ok(s[i].data, s[i].len, NULL, &ref);
        const bool jpeg = ref.format == CLIENTSCAN_FORMAT_JPEG;
        const size_t sof = jpeg ? ts_jpeg_sof_offset(s[i].data, s[i].len) : 0;
        uint8_t *m = copy_bytes(s[i].data, s[i].len);
        for (size_t at = 0; at < s[i].len; at++)
            for (int k = 0; k < 8; k += 3) {
                const uint8_t bit = (uint8_t)(1u << ((at * 5 + (size_t)k) % 8));
                m[at] ^= bit;
                clientscan_image img;
                clientscan_detail d;
                memset(&img, 0x5a, sizeof img);
                int rc = clientscan_decode_memory(m, s[i].len, NULL, &img, &d);
                if (rc != CLIENTSCAN_OK) {
                    refused++;
                    if (rc != CLIENTSCAN_E_CORRUPT && rc != CLIENTSCAN_E_UNSUPPORTED_FORMAT &&
                        rc != CLIENTSCAN_E_LIMIT)
                        fail_msg("%s, bit flipped at byte %zu: error %d (%s)", s[i].name, at, rc,
                                 d.text);
                    assert_true(all_zero(&img, sizeof img));
                    assert_true(d.text[0] != '\0');
                } else {
                    survived++;
                    uint32_t w = ref.width, h = ref.height;
                    if (jpeg && at >= sof + 3 && at <= sof + 6) {
                        h = (uint32_t)m[sof + 3] << 8 | m[sof + 4];
                        w = (uint32_t)m[sof + 5] << 8 | m[sof + 6];
                    }
                    if (img.width != w || img.height != h || img.channels != ref.channels)
                        fail_msg("%s, bit flipped at byte %zu: decoded %ux%ux%u, expected %ux%ux%u",
                                 s[i].name, at, img.width, img.height, img.channels, w, h,
                                 ref.channels);
                    if (!jpeg)
                        assert_memory_equal(img.pixels, ref.pixels, ref.stride * ref.height);
                    clientscan_image_release(&img);
                }
                m[at] ^= bit;
            }
        free(m);
        clientscan_image_release(&ref);
    }
    printf("single-bit flips at every byte: %d decoded with the right size, %d refused\n",
           survived, refused);
    assert_true(refused > 0);
    free_samples(s, n);
}

/* At exactly the limit the header is accepted (the sink is asked to begin
 * with that size); one row more and it is refused before. A probe sink that
 * refuses to begin keeps the test from allocating 100 megapixels. */
static void test_limits_are_inclusive_and_checked_first(void **state)
{
    (void)state;
    size_t png_len, len;
    uint8_t *png = ts_png_encode(8, 8, PNG_COLOR_TYPE_GRAY, 8, 0, &png_len);
    uint8_t *jpg = ts_jpeg_encode(16, 16, 1, 90, false, 0, false, &len);
    const uint32_t side = 10000; /* side * side == CLIENTSCAN_DEFAULT_MAX_PIXELS */
    assert_int_equal((uint64_t)side * side, CLIENTSCAN_DEFAULT_MAX_PIXELS);
    for (int is_jpeg = 0; is_jpeg <= 1; is_jpeg++) {
        uint8_t *data = is_jpeg ? jpg : png;
        size_t dlen = is_jpeg ? len : png_len;
        if (is_jpeg)
            ts_jpeg_set_size(data, dlen, side, side);
        else
            ts_png_set_size(data, dlen, side, side);
        clientscan_detail d;
        probe_sink at_limit = {.fail_begin = CLIENTSCAN_E_REFUSED};
        assert_int_equal(probe_decode(data, dlen, NULL, &at_limit, &d), CLIENTSCAN_E_REFUSED);
        assert_int_equal(at_limit.begins, 1);
        assert_int_equal(at_limit.hdr.width, side);
        assert_int_equal(at_limit.hdr.height, side);
        if (is_jpeg)
            ts_jpeg_set_size(data, dlen, side, side + 1);
        else
            ts_png_set_size(data, dlen, side, side + 1);
        probe_sink over = {.fail_begin = CLIENTSCAN_E_REFUSED};
        assert_int_equal(probe_decode(data, dlen, NULL, &over, &d), CLIENTSCAN_E_LIMIT);
        assert_int_equal(over.begins, 0);
    }
    /* the largest square a SOF can state (16-bit fields) */
    ts_jpeg_set_size(jpg, len, 65535, 65535);
    clientscan_detail d;
    assert_int_equal(decode_expect_fail(jpg, len, NULL, &d), CLIENTSCAN_E_LIMIT);
    /* limits apply to the stored size, not to a DCT-scaled one */
    ts_jpeg_set_size(jpg, len, 16, 16);
    clientscan_decode_params p = {.max_pixels = 255, .jpeg_min_side = 2};
    assert_int_equal(decode_expect_fail(jpg, len, &p, &d), CLIENTSCAN_E_LIMIT);
    free(jpg);
    free(png);
}

/* SOI, then an APP1 segment with payload, then the rest of jpg. */
static uint8_t *jpeg_with_app1(const uint8_t *jpg, size_t len, const uint8_t *payload, size_t n,
                               size_t *out_len)
{
    assert_true(n + 2 <= 0xffff);
    uint8_t *out = ts_malloc(len + 4 + n);
    memcpy(out, jpg, 2);
    out[2] = 0xff;
    out[3] = 0xe1;
    out[4] = (uint8_t)((n + 2) >> 8);
    out[5] = (uint8_t)(n + 2);
    memcpy(out + 6, payload, n);
    memcpy(out + 6 + n, jpg + 2, len - 2);
    *out_len = len + 4 + n;
    return out;
}

static void test_malformed_exif_never_stops_a_decode(void **state)
{
    (void)state;
    size_t len;
    uint8_t *jpg = ts_jpeg_encode(30, 20, 3, 85, false, 0, false, &len);
    clientscan_image ref;
    decode_ok(jpg, len, NULL, &ref);
    static const uint16_t one[][4] = {{0x0112, 3, 1, 6}};
    static const uint16_t as_long[][4] = {{0x0112, 4, 1, 6}};
    for (int big = 0; big <= 1; big++) {
        uint8_t cut[256], wrong_type[256], far[256];
        const struct {
            const char *what;
            const uint8_t *payload;
            size_t n;
        } cases[] = {
            {"IFD cut short", cut, exif_payload(cut, big, 8, 1, one) - 10},
            {"wrong type", wrong_type, exif_payload(wrong_type, big, 8, 1, as_long)},
            {"IFD offset past the end", far, exif_payload(far, big, 0x7fffffffu, 1, one)},
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            size_t elen;
            uint8_t *e = jpeg_with_app1(jpg, len, cases[i].payload, cases[i].n, &elen);
            clientscan_image img;
            clientscan_detail d;
            int rc = clientscan_decode_memory(e, elen, NULL, &img, &d);
            if (rc != CLIENTSCAN_OK)
                fail_msg("EXIF %s (%s): %s", cases[i].what, big ? "MM" : "II", d.text);
            assert_int_equal(img.exif_orientation, 0);
            assert_int_equal(img.width, 30);
            assert_memory_equal(img.pixels, ref.pixels, ref.stride * ref.height);
            clientscan_image_release(&img);
            free(e);
        }
    }
    uint8_t buf[256];
    /* an XMP APP1 first, the EXIF one after it: the orientation is found */
    static const char xmp[] = "http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>";
    size_t n = exif_payload(buf, true, 8, 1, one), l1, l2;
    uint8_t *with_exif = jpeg_with_app1(jpg, len, buf, n, &l1);
    uint8_t *both = jpeg_with_app1(with_exif, l1, (const uint8_t *)xmp, sizeof xmp - 1, &l2);
    clientscan_image img;
    decode_ok(both, l2, NULL, &img);
    assert_int_equal(img.exif_orientation, 6);
    clientscan_image_release(&img);
    free(both);
    free(with_exif);
    clientscan_image_release(&ref);
    free(jpg);
}

/* A sequential JPEG with one scan per component: the decoder must buffer
 * coefficients, and a repeated scan simply overwrites them. */
static uint8_t *jpeg_one_scan_per_component(uint32_t w, uint32_t h, size_t *len)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    unsigned char *buf = NULL;
    unsigned long size = 0;
    jpeg_mem_dest(&c, &buf, &size);
    c.image_width = w;
    c.image_height = h;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    static jpeg_scan_info scans[3];
    for (int i = 0; i < 3; i++)
        scans[i] = (jpeg_scan_info){.comps_in_scan = 1, .component_index = {i}, .Se = 63};
    c.scan_info = scans;
    c.num_scans = 3;
    jpeg_start_compress(&c, TRUE);
    uint8_t *row = ts_malloc((size_t)w * 3);
    while (c.next_scanline < h) {
        for (uint32_t x = 0; x < w; x++)
            for (int k = 0; k < 3; k++)
                row[x * 3 + (uint32_t)k] = (uint8_t)ts_pattern(x, c.next_scanline, k, 8);
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    *len = size;
    return buf;
}

/* The first scan (SOS segment and its entropy-coded data) repeated `extra`
 * more times. */
static uint8_t *repeat_first_scan(const uint8_t *jpg, size_t len, size_t extra, size_t *out_len)
{
    size_t at = 2, start = 0, end = 0;
    while (at + 4 <= len) {
        assert_int_equal(jpg[at], 0xff);
        size_t seg = (size_t)jpg[at + 2] << 8 | jpg[at + 3];
        if (jpg[at + 1] == 0xda) {
            start = at;
            end = at + 2 + seg;
            /* entropy data runs to the next marker other than RSTn/stuffing */
            while (end + 1 < len && !(jpg[end] == 0xff && jpg[end + 1] != 0 &&
                                      (jpg[end + 1] < 0xd0 || jpg[end + 1] > 0xd7)))
                end++;
            break;
        }
        at += 2 + seg;
    }
    assert_true(end > start);
    size_t scan = end - start;
    uint8_t *out = ts_malloc(len + scan * extra);
    memcpy(out, jpg, end);
    for (size_t i = 0; i < extra; i++)
        memcpy(out + end + i * scan, jpg + start, scan);
    memcpy(out + end + extra * scan, jpg + end, len - end);
    *out_len = len + scan * extra;
    return out;
}

static void test_jpeg_scan_count_is_bounded(void **state)
{
    (void)state;
    size_t len;
    uint8_t *jpg = jpeg_one_scan_per_component(24, 16, &len);
    clientscan_image ref;
    decode_ok(jpg, len, NULL, &ref);
    assert_int_equal(ref.channels, 3);
    /* 3 + 97 = 100 scans (lib/jpeg.c's MAX_SCANS): allowed, and repeating a
     * scan changes nothing */
    size_t n;
    uint8_t *many = repeat_first_scan(jpg, len, 97, &n);
    clientscan_image img;
    decode_ok(many, n, NULL, &img);
    assert_memory_equal(img.pixels, ref.pixels, ref.stride * ref.height);
    clientscan_image_release(&img);
    free(many);
    /* 101 scans: each is a full pass over the coefficients, so refused */
    many = repeat_first_scan(jpg, len, 98, &n);
    clientscan_detail d;
    assert_int_equal(decode_expect_fail(many, n, NULL, &d), CLIENTSCAN_E_LIMIT);
    assert_string_equal(d.text, "JPEG: more than 100 scans");
    free(many);
    clientscan_image_release(&ref);
    free(jpg);
}

/* Arithmetic-coded JPEGs are refused: libjpeg-turbo decodes a cut
 * arithmetic-coded stream without any warning into a partly invented
 * picture, which must never be hashed. */
static void test_jpeg_arithmetic_coding_is_refused(void **state)
{
    (void)state;
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    unsigned char *buf = NULL;
    unsigned long size = 0;
    jpeg_mem_dest(&c, &buf, &size);
    c.image_width = 32;
    c.image_height = 16;
    c.input_components = 1;
    c.in_color_space = JCS_GRAYSCALE;
    jpeg_set_defaults(&c);
    c.arith_code = TRUE;
    jpeg_start_compress(&c, TRUE);
    uint8_t row[32];
    for (int x = 0; x < 32; x++)
        row[x] = (uint8_t)(x * 8);
    while (c.next_scanline < c.image_height) {
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    clientscan_image img;
    clientscan_detail d;
    assert_int_equal(clientscan_decode_memory(buf, size, NULL, &img, &d),
                     CLIENTSCAN_E_UNSUPPORTED_FORMAT);
    assert_string_equal(d.text, "JPEG: arithmetic coding is not supported");
    assert_null(img.pixels);
    free(buf);
}

/* Lossless and hierarchical JPEG are JPEG, just not a kind libjpeg-turbo
 * decodes: unsupported, not corrupt. Extended sequential (SOF1) is decoded
 * like baseline. */
static void test_jpeg_processes(void **state)
{
    (void)state;
    size_t len;
    uint8_t *jpg = ts_jpeg_encode(32, 16, 3, 90, false, 0, false, &len);
    clientscan_image ref;
    decode_ok(jpg, len, NULL, &ref);
    const size_t marker = ts_jpeg_sof_offset(jpg, len) - 1;
    assert_int_equal(jpg[marker], 0xc0);
    jpg[marker] = 0xc1;
    clientscan_image img;
    decode_ok(jpg, len, NULL, &img);
    assert_memory_equal(img.pixels, ref.pixels, ref.stride * ref.height);
    clientscan_image_release(&img);
    static const uint8_t unsupported[] = {0xc3, 0xc5, 0xc6, 0xc7, 0xcb, 0xcd, 0xce, 0xcf};
    for (size_t i = 0; i < sizeof unsupported; i++) {
        jpg[marker] = unsupported[i];
        clientscan_detail d;
        assert_int_equal(decode_expect_fail(jpg, len, NULL, &d), CLIENTSCAN_E_UNSUPPORTED_FORMAT);
        char want[64];
        snprintf(want, sizeof want, "JPEG: Unsupported JPEG process: SOF type 0x%02x",
                 unsupported[i]);
        assert_string_equal(d.text, want);
    }
    clientscan_image_release(&ref);
    free(jpg);
}

/* The brief's example: 2000x1000 with min side 256. Both sides must stay
 * >= 256, so 2/8 (500x250) is too small and, of the vectorised scales,
 * 4/8 (1000x500) is chosen (3/8 would decode slower). */
static void test_jpeg_min_side_on_a_wide_image(void **state)
{
    (void)state;
    size_t len;
    uint8_t *jpg = ts_jpeg_encode(2000, 1000, 1, 75, false, 0, false, &len);
    uint32_t num = 8;
    for (uint32_t k = 1; k <= 8; k *= 2)
        if (ceil_div(2000 * k, 8) >= 256 && ceil_div(1000 * k, 8) >= 256) {
            num = k;
            break;
        }
    clientscan_decode_params p = {.jpeg_min_side = 256};
    clientscan_image img;
    decode_ok(jpg, len, &p, &img);
    assert_int_equal(img.width, ceil_div(2000 * num, 8));
    assert_int_equal(img.height, ceil_div(1000 * num, 8));
    assert_int_equal(img.source_width, 2000);
    assert_int_equal(img.source_height, 1000);
    assert_int_equal(img.channels, 1);
    clientscan_image_release(&img);
    free(jpg);
}

static void test_generated_baseline_rgb_matches_djpeg(void **state)
{
    (void)state;
    if (!on_path("djpeg")) {
        fprintf(stderr, "\n*** SKIPPED: djpeg not found (apt-get install libjpeg-turbo-progs) ***\n\n");
        skip();
    }
    char *dir = ts_tempdir();
    size_t len;
    uint8_t *jpg = ts_jpeg_encode(131, 77, 3, 92, false, 0, false, &len);
    char *path = ts_path(dir, "rgb-baseline.jpg");
    ts_write_file(path, jpg, len);
    assert_same_as_djpeg(path, "-pnm", NULL);
    free(path);
    free(jpg);
    ts_rmtree(dir);
    free(dir);
}

/* Size as the file states it: PNG IHDR, JPEG SOF. */
static void stored_size(const uint8_t *d, size_t len, bool png, uint32_t *w, uint32_t *h)
{
    if (png) {
        assert_true(len >= 24);
        *w = (uint32_t)d[16] << 24 | (uint32_t)d[17] << 16 | (uint32_t)d[18] << 8 | d[19];
        *h = (uint32_t)d[20] << 24 | (uint32_t)d[21] << 16 | (uint32_t)d[22] << 8 | d[23];
    } else {
        size_t p = ts_jpeg_sof_offset(d, len);
        *h = (uint32_t)d[p + 3] << 8 | d[p + 4];
        *w = (uint32_t)d[p + 5] << 8 | d[p + 6];
    }
}

static void test_vector_images_sizes_and_orientation(void **state)
{
    (void)state;
    const char *vectors = ts_vectors_dir("vector image sizes and EXIF orientation");
    if (!vectors)
        skip();
    char tsv[4096];
    snprintf(tsv, sizeof tsv, "%s/expected-full.tsv", vectors);
    FILE *f = fopen(tsv, "r");
    assert_non_null(f);
    char line[2048];
    int checked = 0, oriented = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        char *tab = strchr(line, '\t');
        assert_non_null(tab);
        *tab = '\0';
        char path[4096];
        snprintf(path, sizeof path, "%s/images/%s", vectors, line);
        size_t n = strlen(line), len;
        bool png = n > 4 && strcmp(line + n - 4, ".png") == 0;
        uint8_t *data = ts_read_file(path, &len);
        uint32_t w, h;
        stored_size(data, len, png, &w, &h);
        clientscan_image img;
        decode_ok(data, len, NULL, &img);
        if (img.width != w || img.height != h || img.source_width != w || img.source_height != h)
            fail_msg("%s: decoded %ux%u (source %ux%u), the file says %ux%u", line, img.width,
                     img.height, img.source_width, img.source_height, w, h);
        /* reg-test-input/exif-rotn/exif-rotn-N.jpg carries orientation N */
        const char *rotn = strstr(line, "exif-rotn-");
        if (rotn) {
            assert_int_equal(img.exif_orientation, rotn[10] - '0');
            oriented++;
        }
        clientscan_image_release(&img);
        free(data);
        checked++;
    }
    fclose(f);
    printf("%d vector images have the size their headers state; %d EXIF orientations right\n",
           checked, oriented);
    assert_true(checked >= 40);
    assert_true(oriented >= 4);
}

/* ------------------------------------------------------------ IDAT surplus */

/* An 8x8 grey PNG whose single IDAT holds a zlib stream of 256 MiB of zeros:
 * the image needs 72 of them. libpng would inflate the rest only to find the
 * stream's end; the decoder stops it after a small budget. */
static void test_png_surplus_image_data_is_bounded(void **state)
{
    (void)state;
    size_t len, zlen;
    uint8_t *png = ts_png_encode(8, 8, PNG_COLOR_TYPE_GRAY, 8, 0, &len);
    uint8_t *z = zlib_zero_bomb((256u << 20) / 258, &zlen);
    /* splice: everything before IDAT, one IDAT with z, IEND */
    size_t at = 8;
    while (memcmp(png + at + 4, "IDAT", 4) != 0)
        at += 12 + ((size_t)png[at] << 24 | (size_t)png[at + 1] << 16 |
                    (size_t)png[at + 2] << 8 | png[at + 3]);
    static const uint8_t iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
    size_t blen = at + 12 + zlen + sizeof iend;
    uint8_t *bomb = ts_malloc(blen);
    memcpy(bomb, png, at);
    uint8_t *c = bomb + at;
    c[0] = (uint8_t)(zlen >> 24);
    c[1] = (uint8_t)(zlen >> 16);
    c[2] = (uint8_t)(zlen >> 8);
    c[3] = (uint8_t)zlen;
    memcpy(c + 4, "IDAT", 4);
    memcpy(c + 8, z, zlen);
    uint32_t crc = ts_crc32(c + 4, 4 + zlen);
    c[8 + zlen] = (uint8_t)(crc >> 24);
    c[9 + zlen] = (uint8_t)(crc >> 16);
    c[10 + zlen] = (uint8_t)(crc >> 8);
    c[11 + zlen] = (uint8_t)crc;
    memcpy(c + 12 + zlen, iend, sizeof iend);
    double t0 = now_seconds();
    clientscan_detail d;
    assert_int_equal(decode_expect_fail(bomb, blen, NULL, &d), CLIENTSCAN_E_CORRUPT);
    double dt = now_seconds() - t0;
    assert_string_equal(d.text, "PNG: more than 16 KiB of image data after the last row");
    printf("8x8 PNG with a 256 MiB zlib stream in IDAT (%zu bytes): refused in %.1f ms\n", blen,
           dt * 1e3);
    free(bomb);
    free(z);
    free(png);
}

/* The budget must only start once every row is decoded: incompressible
 * images (IDAT as large as the pixels; 12000x3 has rows of 36 KB, more than
 * the budget plus libpng's 8 KB read-ahead, so counting one row short would
 * refuse it), interlaced or not, at sizes where Adam7 passes are empty, and
 * streams whose last bytes sit in IDAT chunks of their own all decode to the
 * right pixels. */
static void test_png_row_counting_and_idat_layouts(void **state)
{
    (void)state;
    static const uint32_t big[][2] = {{400, 300}, {12000, 3}, {7, 3000}, {1, 20000}};
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++)
        for (int interlace = 0; interlace <= 1; interlace++) {
            uint32_t w = big[i][0], h = big[i][1], seed = (uint32_t)i + 1;
            size_t len;
            uint8_t *png = ts_png_encode_noise(w, h, interlace, seed, &len);
            clientscan_image img;
            decode_ok(png, len, NULL, &img);
            assert_int_equal(img.width, w);
            assert_int_equal(img.height, h);
            for (uint32_t y = 0; y < h; y++)
                for (uint32_t x = 0; x < w; x++)
                    for (int c = 0; c < 3; c++)
                        if (img.pixels[(size_t)y * img.stride + x * 3 + (uint32_t)c] !=
                            ts_noise(seed, x, y, c))
                            fail_msg("noise %ux%u%s: pixel (%u,%u) differs", w, h,
                                     interlace ? " interlaced" : "", x, y);
            clientscan_image_release(&img);
            free(png);
        }
    /* every small interlaced size, including those with empty passes */
    for (uint32_t w = 1; w <= 9; w++)
        for (uint32_t h = 1; h <= 9; h++) {
            size_t len;
            uint8_t *png = ts_png_encode_noise(w, h, 1, w * 16 + h, &len);
            clientscan_image img;
            decode_ok(png, len, NULL, &img);
            assert_int_equal(img.pixels[(size_t)(h - 1) * img.stride + (w - 1) * 3],
                             ts_noise(w * 16 + h, w - 1, h - 1, 0));
            clientscan_image_release(&img);
            free(png);
        }
    /* IDAT cut into 1-, 4- and 1000-byte chunks: the end code and Adler-32
     * arrive in chunks read after the last row */
    static const size_t pieces[] = {1, 4, 1000};
    for (size_t p = 0; p < sizeof pieces / sizeof pieces[0]; p++)
        for (int interlace = 0; interlace <= 1; interlace++) {
            size_t len, slen;
            uint8_t *png = ts_png_encode(37, 29, PNG_COLOR_TYPE_RGB, 16, interlace, &len);
            uint8_t *split = ts_png_split_idat(png, len, pieces[p], &slen);
            clientscan_image img;
            decode_ok(split, slen, NULL, &img);
            check_png_pixels(&img, (png_kind){PNG_COLOR_TYPE_RGB, 16}, 37, 29);
            clientscan_image_release(&img);
            free(split);
            free(png);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_png_every_colour_type_and_depth),
        cmocka_unit_test(test_png_16_bit_pattern_separates_scale_from_strip),
        cmocka_unit_test(test_png_transparency_and_colour_chunks_ignored),
        cmocka_unit_test(test_png_hostile_ancillary_chunks_do_not_matter),
        cmocka_unit_test(test_png_crc_error_names_the_chunk),
        cmocka_unit_test(test_png_index_past_palette_is_corrupt),
        cmocka_unit_test(test_png_zero_size_is_corrupt),
        cmocka_unit_test(test_png_surplus_image_data_is_bounded),
        cmocka_unit_test(test_png_row_counting_and_idat_layouts),
        cmocka_unit_test(test_jpeg_kinds_decode_close_to_source),
        cmocka_unit_test(test_jpeg_12_bit_is_unsupported),
        cmocka_unit_test(test_jpeg_premature_end_is_an_error_with_libjpeg_message),
        cmocka_unit_test(test_sniff_every_magic),
        cmocka_unit_test(test_format_names),
        cmocka_unit_test(test_unsupported_formats_are_refused_by_name),
        cmocka_unit_test(test_truncation_at_every_length_fails_cleanly),
        cmocka_unit_test(test_bit_flips_never_crash),
        cmocka_unit_test(test_png_huge_header_refused_before_allocation),
        cmocka_unit_test(test_jpeg_huge_header_refused_before_allocation),
        cmocka_unit_test(test_custom_limits),
        cmocka_unit_test(test_file_decoding),
        cmocka_unit_test(test_invalid_arguments_and_release),
        cmocka_unit_test(test_row_sink_protocol_and_errors),
        cmocka_unit_test(test_exif_orientation_from_generated_jpegs),
        cmocka_unit_test(test_exif_parser_is_bounded),
        cmocka_unit_test(test_jpeg_min_side_picks_smallest_scale),
        cmocka_unit_test(test_concurrent_decodes_agree),
        cmocka_unit_test(test_generated_jpegs_match_djpeg),
        cmocka_unit_test(test_vector_images_decode),
        cmocka_unit_test(test_vector_jpegs_match_djpeg),
        cmocka_unit_test(test_bit_flip_survivors_keep_their_size),
        cmocka_unit_test(test_limits_are_inclusive_and_checked_first),
        cmocka_unit_test(test_malformed_exif_never_stops_a_decode),
        cmocka_unit_test(test_jpeg_scan_count_is_bounded),
        cmocka_unit_test(test_jpeg_processes),
        cmocka_unit_test(test_jpeg_arithmetic_coding_is_refused),
        cmocka_unit_test(test_jpeg_min_side_on_a_wide_image),
        cmocka_unit_test(test_generated_baseline_rgb_matches_djpeg),
        cmocka_unit_test(test_vector_images_sizes_and_orientation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
