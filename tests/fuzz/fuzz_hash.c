/* Fuzzes the whole hashing path a client runs on a received file:
 * clientscan_hash_memory() on any bytes, in every mode (exact, fast at
 * several scales, the reference CLI's 512 x 512, with and without the
 * dihedral variants). The first byte picks the mode; the rest is the file.
 * Invariants: a failure leaves a zeroed result and a reason; the pipelined
 * path (a second thread hashing) gives the same result as the single-thread
 * one; and a hash streamed from the decoder equals decoding the whole image
 * first and hashing that with clientscan_pdq_hash_image(). */
#include "clientscan.h"
#include "../support/all_zero.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Bounds one input's work (it is hashed three times); every kernel path
 * (vector bodies, row tails, partial blocks, interpolated samples) is
 * reached well below it. */
#define FUZZ_MAX_PIXELS (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const uint32_t min_sides[4] = {0, 64, 200, CLIENTSCAN_FAST_MIN_SIDE};
    const uint8_t mode = data[0];
    clientscan_hash_params params = {
        .decode = {.max_pixels = FUZZ_MAX_PIXELS, .jpeg_min_side = min_sides[mode & 3]},
        .mode = (mode & 4) ? CLIENTSCAN_PDQ_MODE_CLI512 : CLIENTSCAN_PDQ_MODE_FULL,
        .dihedral = (mode & 8) != 0,
    };
    data++;
    size--;

    clientscan_pdq_result res;
    clientscan_hash_info info;
    clientscan_detail detail;
    const int rc = clientscan_hash_memory(data, size, &params, &res, &info, &detail);
    if (rc != CLIENTSCAN_OK) {
        if (!all_zero(&res, sizeof res) || !all_zero(&info, sizeof info) ||
            detail.text[0] == '\0')
            abort(); /* never a hash of a partial image, always a reason */
    } else if (res.quality < 0 || res.quality > 100 || info.width == 0 || info.height == 0 ||
               (params.mode == CLIENTSCAN_PDQ_MODE_FULL &&
                (info.width > info.source_width || info.height > info.source_height))) {
        abort();
    }

    clientscan_hash_params piped = params;
    piped.pipeline = 1;
    clientscan_pdq_result res2;
    clientscan_hash_info info2;
    if (clientscan_hash_memory(data, size, &piped, &res2, &info2, &detail) != rc ||
        memcmp(&res, &res2, sizeof res) != 0 || memcmp(&info, &info2, sizeof info) != 0)
        abort();
    if (rc != CLIENTSCAN_OK)
        return 0;

    clientscan_image img;
    if (clientscan_decode_memory(data, size, &params.decode, &img, &detail) != CLIENTSCAN_OK)
        abort(); /* it streamed, so it decodes */
    /* (the CLI's mode hashes its square resampling of the image) */
    const bool resampled = params.mode == CLIENTSCAN_PDQ_MODE_CLI512 &&
                           (img.width > CLIENTSCAN_CLI512_SIDE ||
                            img.height > CLIENTSCAN_CLI512_SIDE);
    if ((!resampled && (img.width != info.width || img.height != info.height)) ||
        img.source_width != info.source_width || img.source_height != info.source_height ||
        clientscan_pdq_hash_image(&img, params.mode, params.dihedral, &res2, &detail) !=
            CLIENTSCAN_OK ||
        memcmp(&res, &res2, sizeof res) != 0)
        abort();
    clientscan_image_release(&img);
    return 0;
}
