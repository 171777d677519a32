/* Replays the decoder fuzzers' regression inputs: every file under
 * tests/corpus/<target>/ (inputs that once crashed, hung or broke an
 * invariant; names starting with '.' are placeholders) goes through every
 * decoding entry point, in each of the ways the fuzz targets feed bytes to
 * them: as is, behind a PNG signature (chunk CRCs as they are and
 * recomputed), behind a JPEG SOI marker, at reduced JPEG scales and a tight
 * side limit, and as an EXIF payload on its own and inside a JPEG. Each
 * must decode or fail cleanly (known error code, reason given, nothing
 * half-filled). Runs from the repository root, like the other tests. */
#include "support.h"
#include "all_zero.h"
#include "images.h"

#include "decode.h"

#include <dirent.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CORPUS_ROOT "tests/corpus"
/* The fuzz targets' limits, so an input behaves here as it did there. */
#define FUZZ_MAX_PIXELS (1u << 22)

static const char *const targets[] = {"fuzz_decode", "fuzz_png", "fuzz_jpeg", "fuzz_exif"};

/* prefix + data in an exact-size buffer, so the sanitizer build sees any
 * overread. */
static uint8_t *joined(const void *prefix, size_t plen, const uint8_t *data, size_t len)
{
    uint8_t *p = ts_malloc(plen + len ? plen + len : 1);
    if (plen)
        memcpy(p, prefix, plen);
    if (len)
        memcpy(p + plen, data, len);
    return p;
}

/* Streams rows into one scratch row (as the hasher does) and compares each
 * with the full decode: a codec must not rely on earlier rows staying in
 * the sink's buffer, and must write whole rows. */
typedef struct {
    const clientscan_image *full;
    uint8_t *row;
    size_t row_bytes;
    uint32_t next;
    int begins;
    bool mismatch;
} compare_sink;

static int compare_begin(void *ctx, const cs_header *hdr, clientscan_detail *detail)
{
    (void)detail;
    compare_sink *s = ctx;
    s->begins++;
    s->row_bytes = (size_t)hdr->width * hdr->channels;
    s->mismatch |= hdr->width != s->full->width || hdr->height != s->full->height ||
                   hdr->channels != s->full->channels;
    s->row = malloc(s->row_bytes ? s->row_bytes : 1);
    assert_non_null(s->row);
    return CLIENTSCAN_OK;
}

static uint8_t *compare_row(void *ctx, uint32_t y)
{
    compare_sink *s = ctx;
    s->mismatch |= y != s->next;
    memset(s->row, 0xa5, s->row_bytes); /* any byte left unwritten shows */
    return s->row;
}

static int compare_row_done(void *ctx, uint32_t y)
{
    compare_sink *s = ctx;
    s->mismatch |= y != s->next || y >= s->full->height ||
                   memcmp(s->row, s->full->pixels + (size_t)y * s->full->stride, s->row_bytes) != 0;
    s->next++;
    return CLIENTSCAN_OK;
}

/* One decode with the fuzz targets' limits: success with a consistent
 * image, or a clean failure. Returns the decode's result. */
static int replay_decode(const char *what, const uint8_t *data, size_t len, uint32_t min_side,
                          uint32_t max_side)
{
    clientscan_decode_params p = {.max_pixels = FUZZ_MAX_PIXELS, .max_side = max_side,
                                  .jpeg_min_side = min_side};
    clientscan_image img;
    clientscan_detail d = {{0}};
    memset(&img, 0x5a, sizeof img);
    int rc = clientscan_decode_memory(data, len, &p, &img, &d);
    if (rc != CLIENTSCAN_OK) {
        if (rc != CLIENTSCAN_E_CORRUPT && rc != CLIENTSCAN_E_UNSUPPORTED_FORMAT &&
            rc != CLIENTSCAN_E_LIMIT)
            fail_msg("%s: unexpected error %d (%s): %s", what, rc, clientscan_strerror(rc), d.text);
        if (!all_zero(&img, sizeof img))
            fail_msg("%s: failed (%s) but left the image filled", what, d.text);
        if (d.text[0] == '\0')
            fail_msg("%s: failed with error %d and no reason", what, rc);
        return rc;
    }
    if ((img.format != CLIENTSCAN_FORMAT_PNG && img.format != CLIENTSCAN_FORMAT_JPEG) ||
        (img.channels != 1 && img.channels != 3) || img.width == 0 || img.height == 0 ||
        (uint64_t)img.width * img.height > FUZZ_MAX_PIXELS || !img.pixels ||
        img.stride < (size_t)img.width * img.channels || img.width > img.source_width ||
        img.height > img.source_height || img.exif_orientation < 0 || img.exif_orientation > 8)
        fail_msg("%s: decoded to an inconsistent image %ux%u x%u (source %ux%u)", what, img.width,
                 img.height, img.channels, img.source_width, img.source_height);
    if (max_side && (img.source_width > max_side || img.source_height > max_side))
        fail_msg("%s: %ux%u decoded despite max_side %u", what, img.source_width,
                 img.source_height, max_side);

    compare_sink s = {.full = &img};
    cs_row_sink sink = {compare_begin, compare_row, compare_row_done, &s};
    int rc2 = cs_decode_rows(data, len, &p, &sink, &d);
    free(s.row);
    if (rc2 != CLIENTSCAN_OK || s.begins != 1 || s.next != img.height || s.mismatch)
        fail_msg("%s: streaming decode disagrees with the full decode (rc %d, %u of %u rows%s)",
                 what, rc2, s.next, img.height, s.mismatch ? ", rows differ" : "");
    clientscan_image_release(&img);
    return rc;
}

/* A small JPEG to carry EXIF payloads, made once. */
static uint8_t *carrier;
static size_t carrier_len;

static void replay_exif(const char *what, const uint8_t *data, size_t len)
{
    static const uint8_t header[6] = {'E', 'x', 'i', 'f', 0, 0};
    uint8_t *payload = len >= 6 && memcmp(data, header, 6) == 0
                           ? joined(NULL, 0, data, len)
                           : joined(header, sizeof header, data, len);
    size_t n = len >= 6 && memcmp(data, header, 6) == 0 ? len : len + sizeof header;
    int o = cs_exif_orientation(payload, n);
    if (o < 0 || o > 8)
        fail_msg("%s: EXIF orientation %d", what, o);
    if (n <= 65533) {
        if (!carrier)
            carrier = ts_jpeg_encode(8, 8, 1, 75, false, 0, false, &carrier_len);
        /* SOI, APP1 with the payload, then the rest of the carrier */
        size_t jlen = carrier_len + 4 + n;
        uint8_t *jpg = ts_malloc(jlen);
        memcpy(jpg, carrier, 2);
        jpg[2] = 0xff;
        jpg[3] = 0xe1;
        jpg[4] = (uint8_t)((n + 2) >> 8);
        jpg[5] = (uint8_t)(n + 2);
        memcpy(jpg + 6, payload, n);
        memcpy(jpg + 6 + n, carrier + 2, carrier_len - 2);
        clientscan_image img;
        clientscan_detail d = {{0}};
        int rc = clientscan_decode_memory(jpg, jlen, NULL, &img, &d);
        if (rc != CLIENTSCAN_OK)
            fail_msg("%s: a JPEG carrying this EXIF failed to decode: %s", what, d.text);
        if (img.exif_orientation != o)
            fail_msg("%s: orientation %d inside a JPEG, %d on its own", what,
                     img.exif_orientation, o);
        clientscan_image_release(&img);
        free(jpg);
    }
    free(payload);
}

/* Rewrites the CRC of every whole chunk after the 8-byte signature, as
 * tests/fuzz/fuzz_png.c does to most inputs before decoding them. */
static void fix_chunk_crcs(uint8_t *png, size_t size)
{
    size_t at = 8;
    while (at + 12 <= size) {
        size_t len = (size_t)png[at] << 24 | (size_t)png[at + 1] << 16 |
                     (size_t)png[at + 2] << 8 | png[at + 3];
        if (len > size - at - 12)
            break;
        uint32_t crc = ts_crc32(png + at + 4, 4 + len);
        uint8_t *c = png + at + 8 + len;
        c[0] = (uint8_t)(crc >> 24);
        c[1] = (uint8_t)(crc >> 16);
        c[2] = (uint8_t)(crc >> 8);
        c[3] = (uint8_t)crc;
        at += 12 + len;
    }
}

static void replay_input(const char *path, const uint8_t *data, size_t len)
{
    static const uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    static const uint8_t soi[2] = {0xff, 0xd8};
    char what[4200];
    uint8_t *exact = joined(NULL, 0, data, len);
    snprintf(what, sizeof what, "%s", path);
    replay_decode(what, exact, len, 0, 0);
    replay_decode(what, exact, len, 0, 64);
    for (uint32_t min_side = 1; min_side <= 1024; min_side *= 4)
        replay_decode(what, exact, len, min_side, 0);
    replay_decode(what, exact, len, 1 + (uint32_t)(len % 97), 0);
    if (len)
        replay_decode(what, exact, len, 1 + (uint32_t)data[len - 1], 0);
    free(exact);

    uint8_t *as_png = joined(png_signature, sizeof png_signature, data, len);
    snprintf(what, sizeof what, "%s behind a PNG signature", path);
    replay_decode(what, as_png, len + sizeof png_signature, 0, 0);
    replay_decode(what, as_png, len + sizeof png_signature, 0, 64);
    fix_chunk_crcs(as_png, len + sizeof png_signature);
    snprintf(what, sizeof what, "%s behind a PNG signature, chunk CRCs recomputed", path);
    replay_decode(what, as_png, len + sizeof png_signature, 0, 0);
    replay_decode(what, as_png, len + sizeof png_signature, 0, 64);
    free(as_png);
    if (len >= sizeof png_signature && memcmp(data, png_signature, sizeof png_signature) == 0) {
        uint8_t *fixed = joined(NULL, 0, data, len);
        fix_chunk_crcs(fixed, len);
        snprintf(what, sizeof what, "%s, chunk CRCs recomputed", path);
        replay_decode(what, fixed, len, 0, 0);
        replay_decode(what, fixed, len, 0, 64);
        free(fixed);
    }

    uint8_t *as_jpeg = joined(soi, sizeof soi, data, len);
    snprintf(what, sizeof what, "%s behind a JPEG SOI", path);
    replay_decode(what, as_jpeg, len + sizeof soi, 0, 0);
    replay_decode(what, as_jpeg, len + sizeof soi, 1 + (uint32_t)((len + sizeof soi) % 97), 0);
    free(as_jpeg);

    snprintf(what, sizeof what, "%s as an EXIF payload", path);
    replay_exif(what, data, len);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_replay_every_corpus_input(void **state)
{
    (void)state;
    size_t total = 0;
    for (size_t t = 0; t < sizeof targets / sizeof targets[0]; t++) {
        char dir[256];
        snprintf(dir, sizeof dir, "%s/%s", CORPUS_ROOT, targets[t]);
        struct stat st;
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
            fail_msg("%s: no such directory (tests run from the repository root)", dir);
        DIR *d = opendir(dir);
        assert_non_null(d);
        char **names = NULL;
        size_t n = 0;
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            names = realloc(names, (n + 1) * sizeof *names);
            assert_non_null(names);
            names[n] = strdup(e->d_name);
            assert_non_null(names[n]);
            n++;
        }
        closedir(d);
        if (n)
            qsort(names, n, sizeof *names, by_name);
        size_t replayed = 0;
        for (size_t i = 0; i < n; i++) {
            char *path = ts_path(dir, names[i]);
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                size_t len;
                uint8_t *data = ts_read_file(path, &len);
                replay_input(path, data, len);
                free(data);
                replayed++;
            }
            free(path);
            free(names[i]);
        }
        free(names);
        printf("corpus replay: %s: %zu input(s) replayed\n", dir, replayed);
        total += replayed;
    }
    printf("corpus replay: %zu input(s) in all\n", total);
    free(carrier);
    carrier = NULL;
}

/* The replay machinery itself must accept good inputs and refuse bad ones
 * cleanly; an empty corpus would otherwise prove nothing about it. */
static void test_replay_accepts_good_and_bad_inputs(void **state)
{
    (void)state;
    size_t len;
    uint8_t *png = ts_png_encode(19, 11, PNG_COLOR_TYPE_PALETTE, 4, 1, &len);
    replay_input("generated PNG", png, len);
    replay_input("truncated PNG", png, len / 2);
    /* a broken IHDR CRC: refused as is, decoded once CRCs are recomputed
     * (the way fuzz_png feeds most inputs) */
    png[29] ^= 0x40;
    assert_int_equal(replay_decode("bad CRC", png, len, 0, 0), CLIENTSCAN_E_CORRUPT);
    replay_input("PNG with a bad CRC", png, len);
    fix_chunk_crcs(png, len);
    assert_int_equal(replay_decode("fixed CRC", png, len, 0, 0), CLIENTSCAN_OK);
    free(png);
    uint8_t *jpg = ts_jpeg_encode(40, 30, 3, 80, true, 6, true, &len);
    replay_input("generated JPEG", jpg, len);
    replay_input("truncated JPEG", jpg, len - 3);
    replay_input("JPEG without its SOI", jpg + 2, len - 2);
    free(jpg);
    replay_input("empty input", (const uint8_t *)"", 0);
    replay_input("text", (const uint8_t *)"II*\0 not quite a TIFF", 21);
    free(carrier);
    carrier = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_every_corpus_input),
        cmocka_unit_test(test_replay_accepts_good_and_bad_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
