/* Test image generators (see images.h). */
#include "images.h"
#include "support.h"

#include <stdio.h> /* before jpeglib.h, which uses FILE */
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>

uint32_t ts_pattern(uint32_t x, uint32_t y, int c, int bit_depth)
{
    uint32_t v = (x * 7 + y * 3 + (uint32_t)c * 50) % 256;
    if (((x / 8) + (y / 8)) % 2)
        v = 255 - v;
    if (bit_depth <= 8)
        return v >> (8 - bit_depth);
    uint32_t low = (x * 29 + y * 13 + (uint32_t)c * 71) % 256;
    return (v << 8 | low) >> (16 - bit_depth);
}

void ts_png_palette_entry(uint32_t i, uint8_t rgb[3])
{
    rgb[0] = (uint8_t)(i * 37 % 256);
    rgb[1] = (uint8_t)(i * 91 % 256);
    rgb[2] = (uint8_t)(i * 151 % 256);
}

typedef struct {
    uint8_t *buf;
    size_t len, cap;
} mem_out;

static void png_write_mem(png_structp png, png_bytep data, size_t n)
{
    mem_out *m = png_get_io_ptr(png);
    if (m->len + n > m->cap) {
        m->cap = (m->len + n) * 2;
        m->buf = realloc(m->buf, m->cap);
        assert_non_null(m->buf);
    }
    memcpy(m->buf + m->len, data, n);
    m->len += n;
}

static void png_flush_mem(png_structp png)
{
    (void)png;
}

uint8_t ts_noise(uint32_t seed, uint32_t x, uint32_t y, int c)
{
    /* murmur3's finaliser over a mix of the coordinates: no visible structure */
    uint32_t v = seed * 0x9e3779b1u ^ x * 0x85ebca6bu ^ y * 0xc2b2ae35u ^ (uint32_t)c * 0x27d4eb2fu;
    v ^= v >> 16;
    v *= 0x85ebca6bu;
    v ^= v >> 13;
    v *= 0xc2b2ae35u;
    v ^= v >> 16;
    return (uint8_t)v;
}

typedef uint32_t (*sample_fn)(uint32_t x, uint32_t y, int c, int bit_depth, const void *ctx);

static uint32_t pattern_sample(uint32_t x, uint32_t y, int c, int bit_depth, const void *ctx)
{
    (void)ctx;
    return ts_pattern(x, y, c, bit_depth);
}

static uint32_t noise_sample(uint32_t x, uint32_t y, int c, int bit_depth, const void *ctx)
{
    (void)bit_depth; /* 8 only */
    return ts_noise(*(const uint32_t *)ctx, x, y, c);
}

typedef struct {
    const uint8_t *pixels;
    size_t stride;
    int components;
} pixel_rows;

static uint32_t pixel_sample(uint32_t x, uint32_t y, int c, int bit_depth, const void *ctx)
{
    (void)bit_depth; /* 8 only */
    const pixel_rows *p = ctx;
    return p->pixels[(size_t)y * p->stride + (size_t)x * (size_t)p->components + (size_t)c];
}

static uint8_t *encode_png(uint32_t w, uint32_t h, int color_type, int bit_depth, int interlace,
                           sample_fn sample, const void *ctx, size_t *len);

uint8_t *ts_png_encode(uint32_t w, uint32_t h, int color_type, int bit_depth, int interlace,
                       size_t *len)
{
    return encode_png(w, h, color_type, bit_depth, interlace, pattern_sample, NULL, len);
}

uint8_t *ts_png_encode_noise(uint32_t w, uint32_t h, int interlace, uint32_t seed, size_t *len)
{
    return encode_png(w, h, PNG_COLOR_TYPE_RGB, 8, interlace, noise_sample, &seed, len);
}

uint8_t *ts_png_encode_pixels(const uint8_t *pixels, size_t stride, uint32_t w, uint32_t h,
                              int components, int interlace, size_t *len)
{
    assert_true(components == 1 || components == 3);
    const pixel_rows p = {pixels, stride, components};
    return encode_png(w, h, components == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, 8,
                      interlace, pixel_sample, &p, len);
}

static uint8_t *encode_png(uint32_t w, uint32_t h, int color_type, int bit_depth, int interlace,
                           sample_fn sample, const void *ctx, size_t *len)
{
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    assert_non_null(png);
    assert_non_null(info);
    mem_out m = {0};
    if (setjmp(png_jmpbuf(png)))
        fail_msg("libpng failed to encode a test image");
    png_set_write_fn(png, &m, png_write_mem, png_flush_mem);
    png_set_IHDR(png, info, w, h, bit_depth, color_type,
                 interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    int samples = 1;
    if (color_type == PNG_COLOR_TYPE_PALETTE) {
        png_color pal[256];
        uint32_t n = 1u << bit_depth;
        for (uint32_t i = 0; i < n; i++) {
            uint8_t rgb[3];
            ts_png_palette_entry(i, rgb);
            pal[i].red = rgb[0];
            pal[i].green = rgb[1];
            pal[i].blue = rgb[2];
        }
        png_set_PLTE(png, info, pal, (int)n);
    } else if (color_type == PNG_COLOR_TYPE_RGB) {
        samples = 3;
    } else if (color_type == PNG_COLOR_TYPE_RGB_ALPHA) {
        samples = 4;
    } else if (color_type == PNG_COLOR_TYPE_GRAY_ALPHA) {
        samples = 2;
    }
    png_write_info(png, info);
    size_t rowbytes = ((size_t)w * samples * bit_depth + 7) / 8;
    png_bytep *rows = ts_malloc(sizeof(png_bytep) * h);
    uint8_t *all = ts_malloc((size_t)h * rowbytes);
    memset(all, 0, (size_t)h * rowbytes);
    for (uint32_t y = 0; y < h; y++) {
        uint8_t *r = all + (size_t)y * rowbytes;
        rows[y] = r;
        for (uint32_t x = 0; x < w; x++)
            for (int s = 0; s < samples; s++) {
                /* grey+alpha: sample 1 is alpha (pattern channel 3) */
                int c = (samples == 2 && s == 1) ? 3 : s;
                uint32_t v = sample(x, y, c, bit_depth, ctx);
                size_t bit = ((size_t)x * samples + s) * bit_depth;
                if (bit_depth == 16) {
                    r[bit / 8] = (uint8_t)(v >> 8);
                    r[bit / 8 + 1] = (uint8_t)v;
                } else if (bit_depth == 8) {
                    r[bit / 8] = (uint8_t)v;
                } else {
                    int shift = 8 - bit_depth - (int)(bit % 8);
                    r[bit / 8] |= (uint8_t)(v << shift);
                }
            }
    }
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    free(all);
    *len = m.len;
    return m.buf;
}

static void exif_segment(j_compress_ptr c, int orientation, bool big)
{
    uint8_t e[6 + 8 + 2 + 12 + 4];
    memcpy(e, "Exif\0\0", 6);
    uint8_t *t = e + 6;
#define W16(p, v) (big ? ((p)[0] = (uint8_t)((v) >> 8), (p)[1] = (uint8_t)(v)) \
                       : ((p)[1] = (uint8_t)((v) >> 8), (p)[0] = (uint8_t)(v)))
#define W32(p, v) (big ? (W16((p), (v) >> 16), W16((p) + 2, (v) & 0xffff)) \
                       : (W16((p) + 2, (v) >> 16), W16((p), (v) & 0xffff)))
    memcpy(t, big ? "MM" : "II", 2);
    W16(t + 2, 42);
    W32(t + 4, 8u);
    W16(t + 8, 1);                  /* one entry */
    uint8_t *ent = t + 10;
    W16(ent, 0x0112);               /* orientation */
    W16(ent + 2, 3);                /* SHORT */
    W32(ent + 4, 1u);               /* count */
    memset(ent + 8, 0, 4);
    W16(ent + 8, (unsigned)orientation);
    memset(ent + 12, 0, 4);         /* next IFD: none */
#undef W16
#undef W32
    jpeg_write_marker(c, JPEG_APP0 + 1, e, sizeof e);
}

uint8_t *ts_jpeg_encode_with(uint32_t w, uint32_t h, const ts_jpeg_options *o, ts_jpeg_row_fn fill,
                             const void *ctx, size_t *len)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    unsigned char *buf = NULL;
    unsigned long size = 0;
    jpeg_mem_dest(&c, &buf, &size);
    const int components = o->components;
    c.image_width = w;
    c.image_height = h;
    c.input_components = components;
    c.in_color_space = components == 1 ? JCS_GRAYSCALE : components == 3 ? JCS_RGB : JCS_CMYK;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, o->quality, TRUE);
    if (o->full_resolution_chroma)
        for (int i = 0; i < c.num_components; i++)
            c.comp_info[i].h_samp_factor = c.comp_info[i].v_samp_factor = 1;
    if (o->scans) {
        c.scan_info = o->scans;
        c.num_scans = o->nscans;
    } else if (o->progressive) {
        jpeg_simple_progression(&c);
    }
    jpeg_start_compress(&c, TRUE);
    if (o->exif_orientation)
        exif_segment(&c, o->exif_orientation, o->big_endian);
    uint8_t *row = ts_malloc((size_t)w * components);
    while (c.next_scanline < h) {
        fill(ctx, c.next_scanline, w, components, row);
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    *len = size;
    return buf;
}

static void pattern_row(const void *ctx, uint32_t y, uint32_t w, int components, uint8_t *row)
{
    (void)ctx;
    for (uint32_t x = 0; x < w; x++)
        for (int k = 0; k < components; k++)
            row[(size_t)x * components + k] = (uint8_t)ts_pattern(x, y, k, 8);
}

uint8_t *ts_jpeg_encode(uint32_t w, uint32_t h, int components, int quality, bool progressive,
                        int exif_orientation, bool big_endian, size_t *len)
{
    const ts_jpeg_options o = {.components = components, .quality = quality,
                               .progressive = progressive, .exif_orientation = exif_orientation,
                               .big_endian = big_endian};
    return ts_jpeg_encode_with(w, h, &o, pattern_row, NULL, len);
}

static void copy_row(const void *ctx, uint32_t y, uint32_t w, int components, uint8_t *row)
{
    const pixel_rows *p = ctx;
    memcpy(row, p->pixels + (size_t)y * p->stride, (size_t)w * components);
}

uint8_t *ts_jpeg_encode_pixels(const uint8_t *pixels, size_t stride, uint32_t w, uint32_t h,
                               int components, int quality, bool progressive, size_t *len)
{
    const pixel_rows p = {pixels, stride, components};
    const ts_jpeg_options o = {
        .components = components, .quality = quality, .progressive = progressive};
    return ts_jpeg_encode_with(w, h, &o, copy_row, &p, len);
}

uint32_t ts_crc32(const uint8_t *data, size_t len)
{
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < len; i++) {
        crc ^= data[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
    }
    return crc ^ 0xffffffffu;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void ts_png_set_size(uint8_t *png, size_t len, uint32_t w, uint32_t h)
{
    /* signature, then IHDR: length 13, "IHDR", 13 bytes, CRC over type+data */
    assert_true(len >= 8 + 8 + 13 + 4);
    assert_memory_equal(png + 12, "IHDR", 4);
    put_be32(png + 16, w);
    put_be32(png + 20, h);
    put_be32(png + 29, ts_crc32(png + 12, 4 + 13));
}

uint8_t *ts_png_insert_chunk(const uint8_t *png, size_t len, const char type[4],
                             const uint8_t *payload, size_t payload_len, size_t *out_len)
{
    const size_t at = 8 + 8 + 13 + 4; /* just after IHDR */
    assert_true(len >= at);
    assert_true(payload_len < 0x7fffffffu);
    size_t n = len + 12 + payload_len;
    uint8_t *out = ts_malloc(n);
    memcpy(out, png, at);
    uint8_t *c = out + at;
    put_be32(c, (uint32_t)payload_len);
    memcpy(c + 4, type, 4);
    if (payload_len)
        memcpy(c + 8, payload, payload_len);
    put_be32(c + 8 + payload_len, ts_crc32(c + 4, 4 + payload_len));
    memcpy(c + 12 + payload_len, png + at, len - at);
    *out_len = n;
    return out;
}

size_t ts_jpeg_sof_offset(const uint8_t *jpeg, size_t len)
{
    /* Walk marker segments from SOI until SOF0..SOF15 (not DHT, JPG, DAC). */
    size_t i = 2;
    while (i + 4 <= len) {
        assert_int_equal(jpeg[i], 0xff);
        uint8_t m = jpeg[i + 1];
        if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc)
            return i + 2;
        i += 2 + ((size_t)jpeg[i + 2] << 8 | jpeg[i + 3]);
    }
    fail_msg("no SOF marker in the test JPEG");
    return 0;
}

void ts_jpeg_set_size(uint8_t *jpeg, size_t len, uint32_t w, uint32_t h)
{
    /* SOF payload: length(2) precision(1) height(2) width(2) ... */
    size_t p = ts_jpeg_sof_offset(jpeg, len);
    assert_true(p + 7 <= len);
    assert_true(w <= 0xffff && h <= 0xffff);
    jpeg[p + 3] = (uint8_t)(h >> 8);
    jpeg[p + 4] = (uint8_t)h;
    jpeg[p + 5] = (uint8_t)(w >> 8);
    jpeg[p + 6] = (uint8_t)w;
}

uint8_t *ts_png_split_idat(const uint8_t *png, size_t len, size_t piece, size_t *out_len)
{
    assert_true(piece > 0);
    /* gather the IDAT payload and note where the IDAT run starts and ends */
    uint8_t *idat = ts_malloc(len);
    uint8_t *out = ts_malloc(len + (len / piece + 1) * 12);
    size_t at = 8, idat_len = 0, first = 0, after = 0;
    while (at + 12 <= len) {
        size_t body = (size_t)png[at] << 24 | (size_t)png[at + 1] << 16 | (size_t)png[at + 2] << 8 |
                      png[at + 3];
        assert_true(body <= len - at - 12);
        if (memcmp(png + at + 4, "IDAT", 4) == 0) {
            if (!first)
                first = at;
            memcpy(idat + idat_len, png + at + 8, body);
            idat_len += body;
            after = at + 12 + body;
        }
        at += 12 + body;
    }
    assert_true(first > 0);
    memcpy(out, png, first);
    size_t o = first;
    for (size_t i = 0; i < idat_len; i += piece) {
        size_t n = idat_len - i < piece ? idat_len - i : piece;
        put_be32(out + o, (uint32_t)n);
        memcpy(out + o + 4, "IDAT", 4);
        memcpy(out + o + 8, idat + i, n);
        put_be32(out + o + 8 + n, ts_crc32(out + o + 4, 4 + n));
        o += 12 + n;
    }
    memcpy(out + o, png + after, len - after);
    *out_len = o + len - after;
    free(idat);
    return out;
}

uint8_t *ts_png_cut_palette(const uint8_t *png, size_t len, uint32_t entries, size_t *out_len)
{
    size_t at = 8;
    while (at + 12 <= len && memcmp(png + at + 4, "PLTE", 4) != 0)
        at += 12 + ((uint32_t)png[at] << 24 | (uint32_t)png[at + 1] << 16 |
                    (uint32_t)png[at + 2] << 8 | png[at + 3]);
    assert_true(at + 12 <= len);
    const size_t old_body = (uint32_t)png[at] << 24 | (uint32_t)png[at + 1] << 16 |
                            (uint32_t)png[at + 2] << 8 | png[at + 3];
    const size_t body = 3 * (size_t)entries;
    assert_true(body <= old_body);
    *out_len = len - (old_body - body);
    uint8_t *out = ts_malloc(*out_len);
    memcpy(out, png, at + 8 + body);
    out[at] = (uint8_t)(body >> 24);
    out[at + 1] = (uint8_t)(body >> 16);
    out[at + 2] = (uint8_t)(body >> 8);
    out[at + 3] = (uint8_t)body;
    const uint32_t crc = ts_crc32(out + at + 4, 4 + body);
    for (int i = 0; i < 4; i++)
        out[at + 8 + body + (size_t)i] = (uint8_t)(crc >> (24 - 8 * i));
    memcpy(out + at + 12 + body, png + at + 12 + old_body, len - (at + 12 + old_body));
    return out;
}
