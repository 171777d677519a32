/* Test image generators (see images.h). */
#include "images.h"
#include "support.h"

#include <stdio.h>

#include <jpeglib.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>

uint32_t ts_pattern(uint32_t x, uint32_t y, int c, int bit_depth)
{
    uint32_t max = (1u << bit_depth) - 1;
    uint32_t v = (x * 7 + y * 3 + (uint32_t)c * 50) % 256;
    if (((x / 8) + (y / 8)) % 2)
        v = 255 - v;
    /* spread 0..255 over the depth's range, exactly reversible for 8 bits */
    return bit_depth >= 8 ? (v * max) / 255 : v >> (8 - bit_depth);
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

uint8_t *ts_png_encode(uint32_t w, uint32_t h, int color_type, int bit_depth, int interlace,
                       size_t *len)
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
    uint8_t *row = calloc(1, rowbytes);
    png_bytep *rows = malloc(sizeof(png_bytep) * h);
    uint8_t *all = calloc(h, rowbytes);
    assert_non_null(row);
    assert_non_null(rows);
    assert_non_null(all);
    for (uint32_t y = 0; y < h; y++) {
        uint8_t *r = all + (size_t)y * rowbytes;
        rows[y] = r;
        for (uint32_t x = 0; x < w; x++)
            for (int s = 0; s < samples; s++) {
                /* grey+alpha: sample 1 is alpha (pattern channel 3) */
                int c = (samples == 2 && s == 1) ? 3 : s;
                uint32_t v = ts_pattern(x, y, c, bit_depth);
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
    free(row);
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
#define W16(p, v) (big ? ((p)[0] = (uint8_t)((v) >> 8), (p)[1] = (uint8_t)(v)) : ((p)[1] = (uint8_t)((v) >> 8), (p)[0] = (uint8_t)(v)))
#define W32(p, v) (big ? (W16((p), (v) >> 16), W16((p) + 2, (v) & 0xffff)) : (W16((p) + 2, (v) >> 16), W16((p), (v) & 0xffff)))
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

uint8_t *ts_jpeg_encode(uint32_t w, uint32_t h, int components, int quality, bool progressive,
                        int exif_orientation, bool big_endian, size_t *len)
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
    c.input_components = components;
    c.in_color_space = components == 1 ? JCS_GRAYSCALE : components == 3 ? JCS_RGB : JCS_CMYK;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, quality, TRUE);
    if (progressive)
        jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    if (exif_orientation)
        exif_segment(&c, exif_orientation, big_endian);
    uint8_t *row = malloc((size_t)w * components);
    assert_non_null(row);
    while (c.next_scanline < h) {
        uint32_t y = c.next_scanline;
        for (uint32_t x = 0; x < w; x++)
            for (int k = 0; k < components; k++)
                row[(size_t)x * components + k] = (uint8_t)ts_pattern(x, y, k, 8);
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    *len = size;
    return buf;
}
