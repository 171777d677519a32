/* PNG decoding with libpng, to the reference's conventions: 8 bits per
 * sample (16-bit scaled with rounding), palette expanded to RGB, alpha and
 * tRNS dropped (not blended), grey kept as one channel with low bit depths
 * expanded to 0..255, no gamma correction. */
#include "decode.h"

#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Ancillary chunks are all skipped (see skip_ancillary_chunks); this bounds
 * what any chunk libpng still buffers may allocate, in case one slips by. */
#define PNG_CHUNK_MALLOC_MAX (4u << 20)
#define PNG_CHUNK_CACHE_MAX 64u

/* Bytes libpng may read from the IDAT chunks once the last row is decoded.
 * It then inflates the rest of the zlib stream into a scratch buffer only to
 * find its end (png_read_finish_IDAT), and zlib expands up to ~1000x: left
 * alone, a file of a few MB of surplus IDAT data costs minutes of CPU. A
 * real file has just the end code and the Adler-32 left, a few bytes. */
#define PNG_TAIL_BUDGET (16u << 10)

/* No ancillary chunk changes the pixels under the reference's conventions
 * (no gamma, no colour management, tRNS and bKGD unused), so libpng is told
 * to skip them unread: a zTXt/iTXt/iCCP zlib bomb or thousands of text
 * chunks then cost nothing but their bytes. Their CRCs are still checked. */
static void skip_ancillary_chunks(png_structp png)
{
    static const png_byte names[] = "bKGD" "cHRM" "eXIf" "gAMA" "hIST" "iCCP" "iTXt"
                                    "oFFs" "pCAL" "pHYs" "sBIT" "sCAL" "sPLT" "sRGB"
                                    "tEXt" "tIME" "tRNS" "zTXt";
    /* libpng's list is 5 bytes per name (4 letters and a NUL). */
    png_byte list[(sizeof names - 1) / 4 * 5];
    const int count = (int)((sizeof names - 1) / 4);
    for (int i = 0; i < count; i++) {
        memcpy(list + i * 5, names + i * 4, 4);
        list[i * 5 + 4] = 0;
    }
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, list, count);
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, NULL, 0); /* unknown ones too */
}

/* Width and height from the IHDR that must follow the signature, checked
 * against the limits before libpng reads anything else: the answer is
 * E_LIMIT (not libpng's own "exceeds user limit" error) and no ancillary
 * chunk before IDAT is even looked at. Too short or malformed: libpng
 * reports it. */
static int precheck_ihdr(const uint8_t *data, size_t len, const cs_limits *limits,
                         clientscan_detail *detail)
{
    if (len < 8 + 8 + 8 || memcmp(data + 8, "\0\0\0\x0dIHDR", 8) != 0)
        return CLIENTSCAN_OK;
    const uint8_t *p = data + 16;
    uint32_t width = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    uint32_t height = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
    if (width == 0 || height == 0)
        return CLIENTSCAN_OK; /* libpng names the problem */
    return cs_check_limits("PNG", width, height, limits, detail);
}

typedef struct {
    const uint8_t *data;
    size_t len, pos;
    uint64_t rows_expected, rows_seen; /* rows libpng decodes, all passes */
    bool image_done;                   /* every row decoded */
    size_t done_pos;                   /* pos when that happened */
    size_t idat_end;                   /* end of the IDAT run read then */
    int code;                          /* for the longjmp: CORRUPT or NOMEM */
    char msg[160];
} png_source;

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Called once the last row is decoded: finds the end of the run of IDAT
 * chunks libpng is reading, where the tail budget applies. */
static void mark_image_done(png_source *src)
{
    src->image_done = true;
    src->done_pos = src->pos;
    src->idat_end = src->pos;
    size_t at = 8; /* after the signature */
    while (at + 12 <= src->len) {
        size_t body = be32(src->data + at);
        size_t end = body > src->len - at - 12 ? src->len : at + 12 + body;
        if (end > src->pos) {
            if (memcmp(src->data + at + 4, "IDAT", 4) != 0)
                break;
            src->idat_end = end;
        }
        at = end;
    }
}

/* libpng's user transform hook runs on every decoded row (of every pass)
 * before libpng moves past it: used only to count rows. */
static void count_row(png_structp png, png_row_infop row_info, png_bytep row)
{
    (void)row_info;
    (void)row;
    png_source *src = png_get_io_ptr(png);
    if (++src->rows_seen == src->rows_expected)
        mark_image_done(src);
}

/* Palette images are expanded here, not by libpng: the PNG spec makes a
 * pixel index past the palette an error, but libpng pads the palette with
 * black and decodes on, which would hash invented pixels. */
static bool expand_palette(const uint8_t *index, uint8_t *rgb, uint32_t width,
                           png_const_colorp palette, int entries, uint32_t *bad)
{
    for (uint32_t x = 0; x < width; x++) {
        if (index[x] >= entries) {
            *bad = index[x];
            return false;
        }
        rgb[3 * x] = palette[index[x]].red;
        rgb[3 * x + 1] = palette[index[x]].green;
        rgb[3 * x + 2] = palette[index[x]].blue;
    }
    return true;
}

/* Rows libpng decodes: with Adam7, each pass's rows, skipping passes that
 * have no columns (libpng skips those too). */
static uint64_t decoded_rows(uint32_t width, uint32_t height, bool interlaced)
{
    if (!interlaced)
        return height;
    uint64_t rows = 0;
    for (int pass = 0; pass < 7; pass++)
        if (PNG_PASS_COLS(width, pass) > 0)
            rows += PNG_PASS_ROWS(height, pass);
    return rows;
}

static void read_memory(png_structp png, png_bytep out, size_t n)
{
    png_source *src = png_get_io_ptr(png);
    if (n > src->len - src->pos)
        png_error(png, "file is truncated");
    if (src->image_done && src->pos < src->idat_end &&
        src->pos + n - src->done_pos > PNG_TAIL_BUDGET)
        png_error(png, "more than 16 KiB of image data after the last row");
    memcpy(out, src->data + src->pos, n);
    src->pos += n;
}

/* libpng's messages when its own allocation failed ("Out of memory",
 * "IDAT: insufficient memory to read chunk", ...): the machine's fault, not
 * the file's, so NOMEM (which the scanner reports as a failed call) rather
 * than CORRUPT (which it would treat as an unscannable file). */
static bool is_out_of_memory(const char *msg)
{
    static const char *const phrases[] = {"out of memory", "insufficient memory"};
    for (size_t i = 0; i < sizeof phrases / sizeof phrases[0]; i++)
        for (const char *p = msg; *p; p++)
            if (strncasecmp(p, phrases[i], strlen(phrases[i])) == 0)
                return true;
    return false;
}

static void on_error(png_structp png, png_const_charp msg)
{
    png_source *src = png_get_error_ptr(png);
    snprintf(src->msg, sizeof src->msg, "%s", msg);
    src->code = is_out_of_memory(msg) ? CLIENTSCAN_E_NOMEM : CLIENTSCAN_E_CORRUPT;
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    /* Warnings (bad CRC in an ancillary chunk, unknown chunks...) leave the
     * pixels intact; errors that matter come through on_error. */
    (void)png;
    (void)msg;
}

/* The decode proper. `src` is changed by the callbacks between setjmp and
 * a longjmp and read afterwards, so it must not be a local of this function
 * (C11 7.13.2.1 leaves such locals indeterminate): cs_png_decode owns it. */
static int decode(png_source *src, const cs_limits *limits, const cs_row_sink *sink,
                  clientscan_detail *detail)
{
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, src, on_error, on_warning);
    if (!png)
        return cs_fail(detail, CLIENTSCAN_E_NOMEM, "PNG: cannot create decoder");
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return cs_fail(detail, CLIENTSCAN_E_NOMEM, "PNG: cannot create decoder");
    }
    int rc;
    /* Modified after setjmp and used after a longjmp: volatile. */
    uint8_t *volatile whole = NULL;
    png_bytep *volatile row_ptrs = NULL;
    uint8_t *volatile index_row = NULL;

    if (setjmp(png_jmpbuf(png))) {
        rc = cs_fail(detail, src->code ? src->code : CLIENTSCAN_E_CORRUPT, "PNG: %s",
                     src->msg[0] ? src->msg : "decode error");
        goto done;
    }
    png_set_read_fn(png, src, read_memory);
    /* Belt and braces after precheck_ihdr (a file whose IHDR is elsewhere
     * fails in libpng anyway). */
    png_set_user_limits(png, limits->max_side, limits->max_side);
    png_set_chunk_malloc_max(png, PNG_CHUNK_MALLOC_MAX);
    png_set_chunk_cache_max(png, PNG_CHUNK_CACHE_MAX);
    skip_ancillary_chunks(png);
    png_read_info(png, info);

    png_uint_32 width, height;
    int bit_depth, color_type, interlace;
    png_get_IHDR(png, info, &width, &height, &bit_depth, &color_type, &interlace, NULL, NULL);
    rc = cs_check_limits("PNG", width, height, limits, detail);
    if (rc != CLIENTSCAN_OK)
        goto done;

    png_colorp palette = NULL;
    int entries = 0;
    const bool indexed = color_type == PNG_COLOR_TYPE_PALETTE;
    if (indexed) {
        if (!png_get_PLTE(png, info, &palette, &entries) || entries < 1) {
            rc = cs_fail(detail, CLIENTSCAN_E_CORRUPT, "PNG: palette image without a palette");
            goto done;
        }
        png_set_packing(png); /* one index per byte, expanded by expand_palette() */
    }
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (bit_depth == 16)
        png_set_scale_16(png);
    png_set_strip_alpha(png);
    const int passes = png_set_interlace_handling(png);
    src->rows_expected = decoded_rows(width, height, interlace != PNG_INTERLACE_NONE);
    png_set_read_user_transform_fn(png, count_row);
    png_read_update_info(png, info);

    const uint32_t channels = indexed ? 3 : png_get_channels(png, info);
    const size_t rowbytes = png_get_rowbytes(png, info);
    if ((channels != 1 && channels != 3) || png_get_bit_depth(png, info) != 8 ||
        rowbytes != (size_t)width * (indexed ? 1 : channels)) {
        rc = cs_fail(detail, CLIENTSCAN_E_INTERNAL, "PNG: unexpected layout after transforms");
        goto done;
    }
    if (indexed && !(index_row = malloc(rowbytes))) {
        rc = cs_fail(detail, CLIENTSCAN_E_NOMEM, "PNG: cannot allocate a palette row");
        goto done;
    }
    cs_header hdr = {CLIENTSCAN_FORMAT_PNG, width, height, channels, width, height, 0};
    rc = sink->begin(sink->ctx, &hdr, detail);
    if (rc != CLIENTSCAN_OK)
        goto done;

    uint32_t bad_index = 0;
    if (passes == 1) {
        for (uint32_t y = 0; y < height; y++) {
            uint8_t *out = sink->row_buffer(sink->ctx, y);
            png_read_row(png, indexed ? index_row : out, NULL);
            if (indexed && !expand_palette(index_row, out, width, palette, entries, &bad_index))
                goto bad_palette;
            if ((rc = sink->row_done(sink->ctx, y)) != CLIENTSCAN_OK)
                goto done;
        }
    } else {
        /* Interlaced: rows are final only after the last pass. */
        size_t total, ptrs;
        if (!cs_mul_size(rowbytes, height, &total) ||
            !cs_mul_size(sizeof(png_bytep), height, &ptrs) || !(whole = malloc(total)) ||
            !(row_ptrs = malloc(ptrs))) {
            rc = cs_fail(detail, CLIENTSCAN_E_NOMEM, "PNG: cannot allocate an interlaced image");
            goto done;
        }
        for (uint32_t y = 0; y < height; y++)
            row_ptrs[y] = whole + (size_t)y * rowbytes;
        png_read_image(png, row_ptrs);
        for (uint32_t y = 0; y < height; y++) {
            uint8_t *out = sink->row_buffer(sink->ctx, y);
            if (!indexed)
                memcpy(out, row_ptrs[y], rowbytes);
            else if (!expand_palette(row_ptrs[y], out, width, palette, entries, &bad_index))
                goto bad_palette;
            if ((rc = sink->row_done(sink->ctx, y)) != CLIENTSCAN_OK)
                goto done;
        }
    }
    png_read_end(png, NULL); /* a file cut before IEND is truncated */
    rc = CLIENTSCAN_OK;
    goto done;
bad_palette:
    rc = cs_fail(detail, CLIENTSCAN_E_CORRUPT, "PNG: pixel index %u is past the %d-entry palette",
                 (unsigned)bad_index, entries);
done:
    free(index_row);
    free(row_ptrs);
    free(whole);
    png_destroy_read_struct(&png, &info, NULL);
    return rc;
}

int cs_png_decode(const uint8_t *data, size_t len, const cs_limits *limits,
                  const cs_row_sink *sink, clientscan_detail *detail)
{
    int rc = precheck_ihdr(data, len, limits, detail);
    if (rc != CLIENTSCAN_OK)
        return rc;
    png_source src = {.data = data, .len = len};
    return decode(&src, limits, sink, detail);
}
