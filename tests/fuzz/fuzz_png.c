/* Fuzzes the PNG decoder: inputs without the PNG signature get one, and
 * chunk CRCs are usually recomputed, so mutations reach IHDR checks, zlib
 * data, filters and interlacing instead of dying on a CRC mismatch (libpng
 * itself is not instrumented, so the fuzzer cannot learn CRCs). Limits vary
 * with the input to reach the limit paths. */
#include "clientscan.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

static uint32_t crc32_png(const uint8_t *p, size_t n)
{
    static uint32_t table[256]; /* fuzzer-only state, filled once */
    if (!table[1])
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
            table[i] = c;
        }
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < n; i++)
        crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return crc ^ 0xffffffffu;
}

/* Rewrites the CRC of every whole chunk after the signature. */
static void fix_crcs(uint8_t *png, size_t size)
{
    size_t at = sizeof signature;
    while (at + 12 <= size) {
        size_t len = (size_t)png[at] << 24 | (size_t)png[at + 1] << 16 |
                     (size_t)png[at + 2] << 8 | png[at + 3];
        if (len > size - at - 12)
            break;
        uint32_t crc = crc32_png(png + at + 4, 4 + len);
        uint8_t *c = png + at + 8 + len;
        c[0] = (uint8_t)(crc >> 24);
        c[1] = (uint8_t)(crc >> 16);
        c[2] = (uint8_t)(crc >> 8);
        c[3] = (uint8_t)crc;
        at += 12 + len;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* one input in four keeps its CRCs as they are, bad ones included */
    const bool keep_crcs = size > 0 && (data[size - 1] & 3) == 0;
    const bool has_signature =
        size >= sizeof signature && memcmp(data, signature, sizeof signature) == 0;
    const size_t extra = has_signature ? 0 : sizeof signature;
    uint8_t *buf = malloc(size + extra);
    if (!buf)
        return 0;
    memcpy(buf, signature, extra);
    if (size)
        memcpy(buf + extra, data, size);
    size += extra;
    if (!keep_crcs)
        fix_crcs(buf, size);
    data = buf;
    /* mostly the fuzzing default, sometimes a tight side limit */
    clientscan_decode_params params = {.max_pixels = 1u << 22,
                                       .max_side = size % 7 == 0 ? 64 : 0};
    clientscan_image img;
    clientscan_detail detail;
    int rc = clientscan_decode_memory(data, size, &params, &img, &detail);
    if (rc == CLIENTSCAN_OK) {
        if (img.format != CLIENTSCAN_FORMAT_PNG || (img.channels != 1 && img.channels != 3) ||
            img.stride != (size_t)img.width * img.channels || !img.pixels ||
            (params.max_side && (img.width > params.max_side || img.height > params.max_side)))
            abort();
        /* read every byte: the sanitizer checks the whole allocation */
        unsigned sum = 0;
        for (size_t i = 0; i < img.stride * img.height; i++)
            sum += img.pixels[i];
        (void)sum;
    } else if (img.pixels || img.width || detail.text[0] == '\0') {
        abort();
    }
    clientscan_image_release(&img);
    free(buf);
    return 0;
}
