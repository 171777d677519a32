/* Fuzzes the EXIF orientation parser (cs_exif_orientation) on APP1 payloads.
 * Inputs without the "Exif\0\0" header get it, so mutations work on the TIFF
 * structure rather than on the magic. Checks: the answer is 0..8; bytes
 * appended after a payload that gave an orientation do not change it (all
 * offsets count from the TIFF header); and the same payload carried in a
 * real JPEG's APP1 segment reaches the decoder whole (same orientation, the
 * image still decodes: EXIF is metadata, never a reason to refuse). */
#include "decode.h"

#include <stdio.h> /* before jpeglib.h, which uses FILE */
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t exif_header[6] = {'E', 'x', 'i', 'f', 0, 0};

/* An 8x8 grey baseline JPEG, encoded once. */
static uint8_t *carrier;
static size_t carrier_len;

static void make_carrier(void)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err); /* a libjpeg error here exits: fine for a fuzzer's setup */
    jpeg_create_compress(&c);
    unsigned char *buf = NULL;
    unsigned long len = 0;
    jpeg_mem_dest(&c, &buf, &len);
    c.image_width = 8;
    c.image_height = 8;
    c.input_components = 1;
    c.in_color_space = JCS_GRAYSCALE;
    jpeg_set_defaults(&c);
    c.write_JFIF_header = FALSE; /* SOI is directly followed by DQT */
    jpeg_start_compress(&c, TRUE);
    uint8_t row[8];
    for (int y = 0; y < 8; y++) {
        for (int x = 0; x < 8; x++)
            row[x] = (uint8_t)(x * 30 + y * 3);
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    carrier = buf;
    carrier_len = len;
}

/* The carrier with an APP1 segment holding payload right after SOI. */
static uint8_t *with_app1(const uint8_t *payload, size_t n, size_t *out_len)
{
    size_t len = carrier_len + 4 + n;
    uint8_t *j = malloc(len);
    if (!j)
        abort();
    j[0] = 0xff;
    j[1] = 0xd8;
    j[2] = 0xff;
    j[3] = 0xe1;
    j[4] = (uint8_t)((n + 2) >> 8);
    j[5] = (uint8_t)(n + 2);
    memcpy(j + 6, payload, n);
    memcpy(j + 6 + n, carrier + 2, carrier_len - 2);
    *out_len = len;
    return j;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!carrier)
        make_carrier();
    if (size > 65533 - sizeof exif_header)
        return 0; /* an APP1 segment holds at most 65533 payload bytes */
    /* payload = header + data unless data already starts with it; exact size
     * so the sanitizer sees any overread */
    bool has_header = size >= sizeof exif_header && memcmp(data, exif_header, 6) == 0;
    size_t n = has_header ? size : size + sizeof exif_header;
    uint8_t *payload = malloc(n + 64);
    if (!payload)
        abort();
    if (has_header) {
        memcpy(payload, data, size);
    } else {
        memcpy(payload, exif_header, sizeof exif_header);
        if (size)
            memcpy(payload + sizeof exif_header, data, size);
    }
    uint8_t *exact = malloc(n);
    if (!exact)
        abort();
    memcpy(exact, payload, n);
    int o = cs_exif_orientation(exact, n);
    free(exact);
    if (o < 0 || o > 8)
        abort();

    if (o != 0) {
        memset(payload + n, 0xa5, 64);
        if (cs_exif_orientation(payload, n + 64) != o)
            abort();
    }

    size_t jlen;
    uint8_t *jpg = with_app1(payload, n, &jlen);
    clientscan_image img;
    clientscan_detail detail;
    int rc = clientscan_decode_memory(jpg, jlen, NULL, &img, &detail);
    if (rc != CLIENTSCAN_OK || img.exif_orientation != o || img.width != 8 || img.height != 8)
        abort();
    clientscan_image_release(&img);
    free(jpg);
    free(payload);
    return 0;
}
