/* Fuzzes decoding of any bytes through clientscan_decode_memory (sniffing,
 * refusals, both codecs), and checks that the streaming row path the hasher
 * uses (cs_decode_rows with another sink) agrees with it row for row, and
 * that a JPEG that decodes also decodes at a reduced DCT scale. */
#include "decode.h"
#include "../support/all_zero.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Small enough that a mutated header cannot make one input cost seconds or
 * gigabytes; the code paths are the same at any size. */
#define FUZZ_MAX_PIXELS (1u << 22)

static uint64_t fnv1a(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

/* Digests rows as they stream by, and checks the sink protocol. */
typedef struct {
    cs_header hdr;
    int begins;
    uint32_t rows;
    uint8_t *row;
    uint64_t digest;
} digest_sink;

static int sink_begin(void *ctx, const cs_header *hdr, clientscan_detail *detail)
{
    digest_sink *s = ctx;
    if (s->begins++ || hdr->width == 0 || hdr->height == 0 ||
        (hdr->channels != 1 && hdr->channels != 3))
        abort();
    s->hdr = *hdr;
    s->row = malloc((size_t)hdr->width * hdr->channels);
    if (!s->row)
        return cs_fail(detail, CLIENTSCAN_E_NOMEM, "no row");
    return CLIENTSCAN_OK;
}

static uint8_t *sink_row(void *ctx, uint32_t y)
{
    digest_sink *s = ctx;
    if (y != s->rows || y >= s->hdr.height)
        abort();
    return s->row;
}

static int sink_row_done(void *ctx, uint32_t y)
{
    digest_sink *s = ctx;
    if (y != s->rows)
        abort();
    s->digest = fnv1a(s->digest, s->row, (size_t)s->hdr.width * s->hdr.channels);
    s->rows++;
    return CLIENTSCAN_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    clientscan_decode_params params = {.max_pixels = FUZZ_MAX_PIXELS};
    clientscan_image img;
    clientscan_detail detail;
    int rc = clientscan_decode_memory(data, size, &params, &img, &detail);
    uint64_t digest = 0xcbf29ce484222325ull;
    if (rc == CLIENTSCAN_OK) {
        if ((img.format != CLIENTSCAN_FORMAT_PNG && img.format != CLIENTSCAN_FORMAT_JPEG) ||
            clientscan_sniff(data, size) != img.format ||
            (img.channels != 1 && img.channels != 3) ||
            img.width == 0 || img.height == 0 ||
            (uint64_t)img.width * img.height > FUZZ_MAX_PIXELS ||
            img.stride != (size_t)img.width * img.channels || !img.pixels ||
            img.exif_orientation < 0 || img.exif_orientation > 8)
            abort();
        for (uint32_t y = 0; y < img.height; y++)
            digest = fnv1a(digest, img.pixels + (size_t)y * img.stride, img.stride);
    } else if (!all_zero(&img, sizeof img) || detail.text[0] == '\0') {
        abort(); /* never a partial image, always a reason */
    }

    digest_sink s = {.digest = 0xcbf29ce484222325ull};
    cs_row_sink sink = {sink_begin, sink_row, sink_row_done, &s};
    int rc2 = cs_decode_rows(data, size, &params, &sink, &detail);
    free(s.row);
    if (rc2 != rc)
        abort();
    if (rc == CLIENTSCAN_OK && (s.rows != img.height || s.digest != digest))
        abort();

    /* Fast mode: the entropy decoding is the same, only the IDCT shrinks. */
    if (rc == CLIENTSCAN_OK && img.format == CLIENTSCAN_FORMAT_JPEG) {
        params.jpeg_min_side = 1 + (size > 0 ? data[size - 1] : 0);
        clientscan_image small;
        if (clientscan_decode_memory(data, size, &params, &small, &detail) != CLIENTSCAN_OK ||
            small.width > img.width || small.height > img.height ||
            small.source_width != img.width || small.source_height != img.height ||
            small.channels != img.channels)
            abort();
        clientscan_image_release(&small);
    }
    clientscan_image_release(&img);
    return 0;
}
