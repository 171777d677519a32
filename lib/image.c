/* Image entry points: format sniffing by magic bytes, limits, decoding into
 * a clientscan_image, and releasing it. The codecs live in png.c / jpeg.c. */
#include "decode.h"

#include <stdlib.h>
#include <string.h>

const char *clientscan_format_name(clientscan_format format)
{
    static const char *const names[CLIENTSCAN_FORMAT_COUNT] = {
        [CLIENTSCAN_FORMAT_UNKNOWN] = "unknown", [CLIENTSCAN_FORMAT_PNG] = "png",
        [CLIENTSCAN_FORMAT_JPEG] = "jpeg",       [CLIENTSCAN_FORMAT_GIF] = "gif",
        [CLIENTSCAN_FORMAT_WEBP] = "webp",       [CLIENTSCAN_FORMAT_HEIC] = "heic",
        [CLIENTSCAN_FORMAT_AVIF] = "avif",       [CLIENTSCAN_FORMAT_TIFF] = "tiff",
        [CLIENTSCAN_FORMAT_BMP] = "bmp",         [CLIENTSCAN_FORMAT_ICO] = "ico",
        [CLIENTSCAN_FORMAT_JPEG2000] = "jpeg2000", [CLIENTSCAN_FORMAT_JPEGXL] = "jpegxl",
        [CLIENTSCAN_FORMAT_PDF] = "pdf",
    };
    return (unsigned)format < CLIENTSCAN_FORMAT_COUNT ? names[format] : "unknown";
}

static bool starts(const uint8_t *d, size_t len, const void *magic, size_t n)
{
    return len >= n && memcmp(d, magic, n) == 0;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ISO base media file ("....ftyp"): HEIC or AVIF by the major brand, or by a
 * compatible brand when the major one is the generic image brand (mif1,
 * msf1). Only the first CLIENTSCAN_SNIFF_BYTES are looked at. Videos and
 * other ISO-BMFF files are UNKNOWN. */
static clientscan_format sniff_isobmff(const uint8_t *d, size_t len)
{
    static const char *const avif[] = {"avif", "avis", "avio"};
    static const char *const heic[] = {"heic", "heix", "hevc", "hevx", "heim", "heis"};
    static const char *const generic[] = {"mif1", "msf1", "miaf"};
    const uint8_t *major = d + 8;
    for (size_t i = 0; i < sizeof avif / sizeof avif[0]; i++)
        if (memcmp(major, avif[i], 4) == 0)
            return CLIENTSCAN_FORMAT_AVIF;
    for (size_t i = 0; i < sizeof heic / sizeof heic[0]; i++)
        if (memcmp(major, heic[i], 4) == 0)
            return CLIENTSCAN_FORMAT_HEIC;
    bool is_generic = false;
    for (size_t i = 0; i < sizeof generic / sizeof generic[0]; i++)
        is_generic |= memcmp(major, generic[i], 4) == 0;
    if (!is_generic)
        return CLIENTSCAN_FORMAT_UNKNOWN;
    /* box size (big-endian), then "ftyp", major, minor version, brands */
    uint32_t box = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
    size_t end = len < box ? len : box;
    if (end > CLIENTSCAN_SNIFF_BYTES)
        end = CLIENTSCAN_SNIFF_BYTES;
    for (size_t off = 16; off + 4 <= end; off += 4)
        for (size_t i = 0; i < sizeof avif / sizeof avif[0]; i++)
            if (memcmp(d + off, avif[i], 4) == 0)
                return CLIENTSCAN_FORMAT_AVIF;
    return CLIENTSCAN_FORMAT_HEIC; /* mif1 without an AVIF brand: HEIF */
}

clientscan_format clientscan_sniff(const void *data, size_t len)
{
    const uint8_t *d = data;
    if (!d)
        return CLIENTSCAN_FORMAT_UNKNOWN;
    if (starts(d, len, "\x89PNG\r\n\x1a\n", 8))
        return CLIENTSCAN_FORMAT_PNG;
    if (starts(d, len, "\xff\xd8\xff", 3))
        return CLIENTSCAN_FORMAT_JPEG;
    if (starts(d, len, "GIF87a", 6) || starts(d, len, "GIF89a", 6))
        return CLIENTSCAN_FORMAT_GIF;
    if (len >= 12 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBP", 4) == 0)
        return CLIENTSCAN_FORMAT_WEBP;
    if (len >= 12 && memcmp(d + 4, "ftyp", 4) == 0) {
        clientscan_format f = sniff_isobmff(d, len);
        if (f != CLIENTSCAN_FORMAT_UNKNOWN)
            return f;
    }
    if (starts(d, len, "II*\0", 4) || starts(d, len, "MM\0*", 4))
        return CLIENTSCAN_FORMAT_TIFF;
    if (starts(d, len, "\0\0\0\x0cjP  \r\n\x87\n", 12) || starts(d, len, "\xff\x4f\xff\x51", 4))
        return CLIENTSCAN_FORMAT_JPEG2000;
    if (starts(d, len, "\0\0\0\x0cJXL \r\n\x87\n", 12) || starts(d, len, "\xff\x0a", 2))
        return CLIENTSCAN_FORMAT_JPEGXL;
    if (starts(d, len, "%PDF-", 5))
        return CLIENTSCAN_FORMAT_PDF;
    /* ICO and CUR: reserved 0, type 1 or 2, then a non-zero image count */
    if (len >= 6 && (starts(d, len, "\0\0\1\0", 4) || starts(d, len, "\0\0\2\0", 4)) &&
        (d[4] | d[5]) != 0)
        return CLIENTSCAN_FORMAT_ICO;
    /* "BM" alone is too weak (text starts with it): also require a known
     * DIB header size right after the 14-byte file header. */
    if (starts(d, len, "BM", 2) && len >= 18) {
        static const uint32_t dib_sizes[] = {12, 16, 40, 52, 56, 64, 108, 124};
        for (size_t i = 0; i < sizeof dib_sizes / sizeof dib_sizes[0]; i++)
            if (le32(d + 14) == dib_sizes[i])
                return CLIENTSCAN_FORMAT_BMP;
    }
    return CLIENTSCAN_FORMAT_UNKNOWN;
}

int cs_check_limits(const char *codec, uint32_t width, uint32_t height, const cs_limits *limits,
                    clientscan_detail *detail)
{
    if (width == 0 || height == 0)
        return cs_fail(detail, CLIENTSCAN_E_CORRUPT, "%s: image has zero size (%ux%u)", codec,
                       width, height);
    if ((uint64_t)width * height > limits->max_pixels)
        return cs_fail(detail, CLIENTSCAN_E_LIMIT, "%s: %ux%u exceeds the %llu-pixel limit", codec,
                       width, height, (unsigned long long)limits->max_pixels);
    if (width > limits->max_side || height > limits->max_side)
        return cs_fail(detail, CLIENTSCAN_E_LIMIT, "%s: %ux%u exceeds the %u-pixel side limit",
                       codec, width, height, limits->max_side);
    return CLIENTSCAN_OK;
}

int cs_decode_rows(const void *data, size_t len, const clientscan_decode_params *params,
                   const cs_row_sink *sink, clientscan_detail *detail)
{
    if (!data && len > 0)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "no data");
    if (len == 0)
        return cs_fail(detail, CLIENTSCAN_E_CORRUPT, "empty input");
    cs_limits limits = {CLIENTSCAN_DEFAULT_MAX_PIXELS, CLIENTSCAN_DEFAULT_MAX_SIDE, 0};
    if (params) {
        if (params->max_pixels)
            limits.max_pixels = params->max_pixels;
        if (params->max_side)
            limits.max_side = params->max_side;
        limits.jpeg_min_side = params->jpeg_min_side;
    }
    clientscan_format f = clientscan_sniff(data, len);
    switch (f) {
    case CLIENTSCAN_FORMAT_PNG:
        return cs_png_decode(data, len, &limits, sink, detail);
    case CLIENTSCAN_FORMAT_JPEG:
        return cs_jpeg_decode(data, len, &limits, sink, detail);
    case CLIENTSCAN_FORMAT_UNKNOWN:
        return cs_fail(detail, CLIENTSCAN_E_UNSUPPORTED_FORMAT,
                       "unsupported format: unknown (not an image)");
    default:
        return cs_fail(detail, CLIENTSCAN_E_UNSUPPORTED_FORMAT, "unsupported format: %s",
                       clientscan_format_name(f));
    }
}

/* ---- the full-image sink: rows decoded in place into image->pixels */

static int image_begin(void *ctx, const cs_header *hdr, clientscan_detail *detail)
{
    clientscan_image *img = ctx;
    size_t stride, total;
    if (!cs_mul_size(hdr->width, hdr->channels, &stride) ||
        !cs_mul_size(stride, hdr->height, &total))
        return cs_fail(detail, CLIENTSCAN_E_LIMIT, "image too large");
    img->pixels = malloc(total ? total : 1);
    if (!img->pixels)
        return cs_fail(detail, CLIENTSCAN_E_NOMEM, "cannot allocate %zu bytes of pixels", total);
    img->width = hdr->width;
    img->height = hdr->height;
    img->channels = hdr->channels;
    img->stride = stride;
    img->format = hdr->format;
    img->source_width = hdr->source_width;
    img->source_height = hdr->source_height;
    img->exif_orientation = hdr->exif_orientation;
    return CLIENTSCAN_OK;
}

static uint8_t *image_row(void *ctx, uint32_t y)
{
    clientscan_image *img = ctx;
    return img->pixels + (size_t)y * img->stride;
}

static int image_row_done(void *ctx, uint32_t y)
{
    (void)ctx;
    (void)y;
    return CLIENTSCAN_OK;
}

int clientscan_decode_memory(const void *data, size_t len, const clientscan_decode_params *params,
                             clientscan_image *out, clientscan_detail *detail)
{
    if (!out)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "no output image");
    memset(out, 0, sizeof *out);
    cs_row_sink sink = {image_begin, image_row, image_row_done, out};
    int rc = cs_decode_rows(data, len, params, &sink, detail);
    if (rc != CLIENTSCAN_OK)
        clientscan_image_release(out); /* never a partial image */
    return rc;
}

int clientscan_decode_file(const char *path, const clientscan_decode_params *params,
                           clientscan_image *out, clientscan_detail *detail)
{
    if (!out)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "no output image");
    memset(out, 0, sizeof *out);
    if (!path)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "no path");
    uint64_t limit = params && params->max_file_bytes ? params->max_file_bytes
                                                      : CLIENTSCAN_DEFAULT_MAX_FILE_BYTES;
    uint8_t *data;
    size_t len;
    int rc = cs_read_file(path, limit, &data, &len, detail);
    if (rc != CLIENTSCAN_OK)
        return rc;
    rc = clientscan_decode_memory(data, len, params, out, detail);
    free(data);
    return rc;
}

void clientscan_image_release(clientscan_image *image)
{
    if (!image)
        return;
    free(image->pixels);
    memset(image, 0, sizeof *image);
}
