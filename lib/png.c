/* PNG decoding with libpng, to the reference's conventions: 8 bits per
 * sample (16-bit scaled with rounding), palette expanded to RGB, alpha and
 * tRNS dropped (not blended), grey kept as one channel with low bit depths
 * expanded to 0..255, no gamma correction. */
#include "decode.h"

#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

/* Ancillary chunks (text, ICC profiles) are not needed; bound what a single
 * decompressed chunk may allocate so a zlib bomb in one stops early. */
#define PNG_CHUNK_MALLOC_MAX (4u << 20)

typedef struct {
    const uint8_t *data;
    size_t len, pos;
    char msg[160];
} png_source;

static void read_memory(png_structp png, png_bytep out, size_t n)
{
    png_source *src = png_get_io_ptr(png);
    if (n > src->len - src->pos)
        png_error(png, "file is truncated");
    memcpy(out, src->data + src->pos, n);
    src->pos += n;
}

static void on_error(png_structp png, png_const_charp msg)
{
    png_source *src = png_get_error_ptr(png);
    snprintf(src->msg, sizeof src->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    /* Warnings (bad CRC in an ancillary chunk, unknown chunks...) leave the
     * pixels intact; errors that matter come through on_error. */
    (void)png;
    (void)msg;
}

int cs_png_decode(const uint8_t *data, size_t len, const cs_limits *limits,
                  const cs_row_sink *sink, clientscan_detail *detail)
{
    png_source src = {data, len, 0, {0}};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, on_error, on_warning);
    if (!png)
        return cs_fail(detail, CLIENTSCAN_E_NOMEM, "PNG: cannot create decoder");
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return cs_fail(detail, CLIENTSCAN_E_NOMEM, "PNG: cannot create decoder");
    }
    /* Modified after setjmp and used after a longjmp: volatile. */
    uint8_t *volatile whole = NULL;
    png_bytep *volatile row_ptrs = NULL;
    int rc;

    if (setjmp(png_jmpbuf(png))) {
        rc = cs_fail(detail, CLIENTSCAN_E_CORRUPT, "PNG: %s", src.msg[0] ? src.msg : "decode error");
        goto done;
    }
    png_set_read_fn(png, &src, read_memory);
    png_set_chunk_malloc_max(png, PNG_CHUNK_MALLOC_MAX);
    png_read_info(png, info);

    png_uint_32 width, height;
    int bit_depth, color_type, interlace;
    png_get_IHDR(png, info, &width, &height, &bit_depth, &color_type, &interlace, NULL, NULL);
    rc = cs_check_limits("PNG", width, height, limits, detail);
    if (rc != CLIENTSCAN_OK)
        goto done;

    if (color_type == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (bit_depth == 16)
        png_set_scale_16(png);
    png_set_strip_alpha(png);
    const int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);

    const uint32_t channels = png_get_channels(png, info);
    const size_t rowbytes = png_get_rowbytes(png, info);
    if ((channels != 1 && channels != 3) || png_get_bit_depth(png, info) != 8 ||
        rowbytes != (size_t)width * channels) {
        rc = cs_fail(detail, CLIENTSCAN_E_INTERNAL, "PNG: unexpected layout after transforms");
        goto done;
    }
    cs_header hdr = {CLIENTSCAN_FORMAT_PNG, width, height, channels, width, height, 0};
    rc = sink->begin(sink->ctx, &hdr, detail);
    if (rc != CLIENTSCAN_OK)
        goto done;

    if (passes == 1) {
        for (uint32_t y = 0; y < height; y++) {
            png_read_row(png, sink->row_buffer(sink->ctx, y), NULL);
            if ((rc = sink->row_done(sink->ctx, y)) != CLIENTSCAN_OK)
                goto done;
        }
    } else {
        /* Interlaced: rows are final only after the last pass. */
        size_t total;
        if (!cs_mul_size(rowbytes, height, &total) ||
            !(whole = malloc(total)) || !(row_ptrs = malloc(sizeof(png_bytep) * height))) {
            rc = cs_fail(detail, CLIENTSCAN_E_NOMEM, "PNG: cannot allocate an interlaced image");
            goto done;
        }
        for (uint32_t y = 0; y < height; y++)
            row_ptrs[y] = whole + (size_t)y * rowbytes;
        png_read_image(png, row_ptrs);
        for (uint32_t y = 0; y < height; y++) {
            memcpy(sink->row_buffer(sink->ctx, y), row_ptrs[y], rowbytes);
            if ((rc = sink->row_done(sink->ctx, y)) != CLIENTSCAN_OK)
                goto done;
        }
    }
    png_read_end(png, NULL); /* a file cut before IEND is truncated */
    rc = CLIENTSCAN_OK;
done:
    free(row_ptrs);
    free(whole);
    png_destroy_read_struct(&png, &info, NULL);
    return rc;
}
