/* Fuzzes the JPEG decoder (libjpeg-turbo behind our error handling, EXIF
 * parsing, CMYK conversion, DCT scaling). Inputs without an SOI marker get
 * one so mutations stay inside the JPEG structure. Each input is decoded at
 * full size and at a DCT scale chosen from its length. */
#include "clientscan.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void decode_and_check(const uint8_t *data, size_t size, uint32_t min_side)
{
    clientscan_decode_params params = {.max_pixels = 1u << 22, .jpeg_min_side = min_side};
    clientscan_image img;
    clientscan_detail detail;
    int rc = clientscan_decode_memory(data, size, &params, &img, &detail);
    if (rc == CLIENTSCAN_OK) {
        if (img.format != CLIENTSCAN_FORMAT_JPEG || (img.channels != 1 && img.channels != 3) ||
            img.stride != (size_t)img.width * img.channels || !img.pixels ||
            img.width > img.source_width || img.height > img.source_height ||
            img.exif_orientation < 0 || img.exif_orientation > 8)
            abort();
        unsigned sum = 0;
        for (size_t i = 0; i < img.stride * img.height; i++)
            sum += img.pixels[i];
        (void)sum;
    } else if (img.pixels || img.width || detail.text[0] == '\0') {
        abort();
    }
    clientscan_image_release(&img);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = NULL;
    if (size < 3 || data[0] != 0xff || data[1] != 0xd8 || data[2] != 0xff) {
        buf = malloc(size + 2);
        if (!buf)
            return 0;
        buf[0] = 0xff;
        buf[1] = 0xd8;
        if (size)
            memcpy(buf + 2, data, size);
        data = buf;
        size += 2;
    }
    decode_and_check(data, size, 0);
    decode_and_check(data, size, 1 + (uint32_t)(size % 97));
    free(buf);
    return 0;
}
