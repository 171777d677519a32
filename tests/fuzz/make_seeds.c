/* Writes the fuzzers' seed corpora (tests/fuzz/seeds/<target>/) from the
 * test image generators: tiny PNGs of every colour type, depth and
 * interlace, JPEGs of every kind, and the magic bytes of refused formats.
 * With make_data_seeds.c (the other targets) one program: `make fuzz-seeds`. */
#include "support.h"
#include "images.h"
#include "seed_writer.h"

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *root;

void seed_put(const char *target, const char *name, const void *data, size_t len)
{
    char dir[1024], path[1200];
    snprintf(dir, sizeof dir, "%s/%s", root, target);
    mkdir(root, 0755);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

void *must_malloc(size_t n)
{
    void *p = malloc(n);
    if (!p) {
        perror("make_seeds");
        exit(1);
    }
    return p;
}

/* fuzz_hash's input: a byte choosing the hashing mode (see fuzz_hash.c:
 * bits 0-1 fast-mode scale, 2 the CLI's 512 x 512, 3 dihedral), then the
 * file. */
static void put_hash(const char *name, uint8_t mode, const uint8_t *data, size_t len)
{
    uint8_t *m = must_malloc(len + 1);
    m[0] = mode;
    memcpy(m + 1, data, len);
    seed_put("fuzz_hash", name, m, len + 1);
    free(m);
}

/* A file for the decoder's fuzzer is one for the whole hashing path too. */
static void put_decode(const char *name, const uint8_t *data, size_t len)
{
    seed_put("fuzz_decode", name, data, len);
    put_hash(name, 0, data, len);
}

static void put_png_and_decode(const char *name, const uint8_t *data, size_t len)
{
    seed_put("fuzz_png", name, data, len);
    put_decode(name, data, len);
}

static void put_jpeg_and_decode(const char *name, const uint8_t *data, size_t len)
{
    seed_put("fuzz_jpeg", name, data, len);
    put_decode(name, data, len);
}

/* Images big enough for the hasher's vector kernels, partial blocks and row
 * tails, and for fast mode's scaled decodes, in each mode. */
static void hash_seeds(void)
{
    static const struct {
        const char *name;
        uint8_t mode;
    } modes[] = {{"exact", 0}, {"fast64", 1}, {"fast200-dihedral", 2 | 8}, {"cli512", 4}};
    /* smooth, so that it stays a few KB: 1/4 scale in fast64 (130 x 130,
     * interpolated samples), 1/2 in fast200, resampled in cli512 */
    enum { SIDE = 520 };
    uint8_t *px = must_malloc((size_t)SIDE * SIDE * 3);
    for (uint32_t y = 0; y < SIDE; y++)
        for (uint32_t x = 0; x < SIDE; x++) {
            uint8_t *p = px + ((size_t)y * SIDE + x) * 3;
            p[0] = (uint8_t)(x * 255 / SIDE);
            p[1] = (uint8_t)(y * 255 / SIDE);
            p[2] = (uint8_t)((x / 40 + y / 40) % 2 ? 200 : 40);
        }
    size_t len;
    uint8_t *jpg = ts_jpeg_encode_pixels(px, (size_t)SIDE * 3, SIDE, SIDE, 3, 80, false, &len);
    free(px);
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "rgb-520-%s.jpg", modes[i].name);
        put_hash(name, modes[i].mode, jpg, len);
    }
    free(jpg);
    jpg = ts_jpeg_encode(9, 300, 1, 80, true, 0, false, &len);
    put_hash("grey-9x300-exact.jpg", 0, jpg, len);
    free(jpg);
    uint8_t *png = ts_png_encode(530, 37, PNG_COLOR_TYPE_RGB, 8, 1, &len);
    put_hash("rgb-530x37-interlaced-exact.png", 0, png, len);
    free(png);
}

/* Refreshes the CRC of the PNG chunk whose length field is at `at`. */
static void fix_chunk_crc(uint8_t *png, size_t at)
{
    const uint32_t n = (uint32_t)png[at] << 24 | (uint32_t)png[at + 1] << 16 |
                       (uint32_t)png[at + 2] << 8 | png[at + 3];
    const uint32_t crc = ts_crc32(png + at + 4, 4 + (size_t)n);
    for (int i = 0; i < 4; i++)
        png[at + 8 + n + (size_t)i] = (uint8_t)(crc >> (24 - 8 * i));
}

static size_t find_chunk(const uint8_t *png, size_t len, const char *type)
{
    size_t at = 8;
    while (at + 12 <= len && memcmp(png + at + 4, type, 4) != 0)
        at += 12 + ((size_t)png[at] << 24 | (size_t)png[at + 1] << 16 |
                    (size_t)png[at + 2] << 8 | png[at + 3]);
    if (at + 12 > len) {
        fprintf(stderr, "make_seeds: no %s chunk\n", type);
        exit(1);
    }
    return at;
}

/* The kinds of damage found in other projects' malformed-image test sets
 * (tests/malformed/MANIFEST), made from our own images so the fuzzers start
 * from each one. */
static void hostile_seeds(void)
{
    size_t len;
    uint8_t *png = ts_png_encode(16, 16, PNG_COLOR_TYPE_RGB, 8, 0, &len);
    uint8_t *m = must_malloc(len);
    memcpy(m, png, len);
    m[29] ^= 0x01; /* IHDR's CRC */
    put_png_and_decode("bad-crc.png", m, len);
    memcpy(m, png, len);
    size_t idat = find_chunk(m, len, "IDAT");
    size_t idat_len = (size_t)m[idat] << 24 | (size_t)m[idat + 1] << 16 |
                      (size_t)m[idat + 2] << 8 | m[idat + 3];
    m[idat + 8 + idat_len - 1] ^= 0x01; /* zlib's Adler-32, with a valid chunk CRC */
    fix_chunk_crc(m, idat);
    put_png_and_decode("bad-zlib-check.png", m, len);
    put_png_and_decode("no-iend.png", png, find_chunk(png, len, "IEND"));
    memcpy(m, png, len);
    ts_png_set_size(m, len, 935820, 854554);
    put_png_and_decode("huge-dimensions.png", m, len);
    free(m);
    free(png);

    png = ts_png_encode(8, 8, PNG_COLOR_TYPE_PALETTE, 8, 0, &len);
    size_t cut_len;
    uint8_t *cut = ts_png_cut_palette(png, len, 16, &cut_len);
    put_png_and_decode("index-past-palette.png", cut, cut_len);
    free(cut);
    free(png);

    uint8_t *jpg = ts_jpeg_encode(32, 24, 3, 80, false, 0, false, &len);
    put_jpeg_and_decode("truncated.jpg", jpg, len / 2);
    m = must_malloc(len);
    memcpy(m, jpg, len);
    ts_jpeg_set_size(m, len, 64250, 64250);
    put_jpeg_and_decode("huge-dimensions.jpg", m, len);
    memcpy(m, jpg, len);
    m[ts_jpeg_sof_offset(m, len) - 1] = 0xc9; /* SOF9: arithmetic coding */
    put_jpeg_and_decode("arithmetic-sof.jpg", m, len);
    free(m);
    free(jpg);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: make_seeds SEEDS_DIR TMP_DIR\n");
        return 2;
    }
    root = argv[1];
    static const int kinds[][2] = {
        {PNG_COLOR_TYPE_GRAY, 1},         {PNG_COLOR_TYPE_GRAY, 2},
        {PNG_COLOR_TYPE_GRAY, 4},         {PNG_COLOR_TYPE_GRAY, 8},
        {PNG_COLOR_TYPE_GRAY, 16},        {PNG_COLOR_TYPE_RGB, 8},
        {PNG_COLOR_TYPE_RGB, 16},         {PNG_COLOR_TYPE_PALETTE, 1},
        {PNG_COLOR_TYPE_PALETTE, 2},      {PNG_COLOR_TYPE_PALETTE, 4},
        {PNG_COLOR_TYPE_PALETTE, 8},      {PNG_COLOR_TYPE_GRAY_ALPHA, 8},
        {PNG_COLOR_TYPE_GRAY_ALPHA, 16},  {PNG_COLOR_TYPE_RGB_ALPHA, 8},
        {PNG_COLOR_TYPE_RGB_ALPHA, 16},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        for (int interlace = 0; interlace <= 1; interlace++) {
            size_t len;
            uint8_t *png = ts_png_encode(9, 7, kinds[i][0], kinds[i][1], interlace, &len);
            char name[64];
            snprintf(name, sizeof name, "type%d-depth%d%s.png", kinds[i][0], kinds[i][1],
                     interlace ? "-interlaced" : "");
            seed_put("fuzz_png", name, png, len);
            if (kinds[i][1] == 8)
                put_decode(name, png, len);
            free(png);
        }
    static const struct {
        const char *name;
        int components;
        bool progressive;
        int exif;
        bool big;
    } jpegs[] = {
        {"rgb.jpg", 3, false, 0, false},          {"rgb-progressive.jpg", 3, true, 0, false},
        {"grey.jpg", 1, false, 0, false},         {"grey-progressive.jpg", 1, true, 0, false},
        {"cmyk.jpg", 4, false, 0, false},         {"cmyk-progressive.jpg", 4, true, 0, false},
        {"exif-le.jpg", 3, false, 6, false},      {"exif-be.jpg", 3, false, 8, true},
    };
    for (size_t i = 0; i < sizeof jpegs / sizeof jpegs[0]; i++) {
        size_t len;
        uint8_t *jpg = ts_jpeg_encode(19, 13, jpegs[i].components, 60, jpegs[i].progressive,
                                      jpegs[i].exif, jpegs[i].big, &len);
        put_jpeg_and_decode(jpegs[i].name, jpg, len);
        free(jpg);
    }
    hostile_seeds();
    hash_seeds();
    static const struct {
        const char *name;
        const char *bytes;
        size_t len;
    } magics[] = {
#define M(n, s) {n, s, sizeof s - 1}
        M("gif", "GIF89a\x01\0\x01\0"),
        M("webp", "RIFF\x24\0\0\0WEBPVP8 "),
        M("heic", "\0\0\0\x18" "ftypheic\0\0\0\0mif1heic"),
        M("avif", "\0\0\0\x20" "ftypmif1\0\0\0\0mif1miafavifMA1B"),
        M("tiff", "II*\0\x08\0\0\0"),
        M("bmp", "BM\x36\x10\0\0\0\0\0\0\x36\0\0\0\x28\0\0\0"),
        M("ico", "\0\0\1\0\1\0\x10\x10"),
        M("jp2", "\0\0\0\x0cjP  \r\n\x87\n"),
        M("jxl", "\xff\x0a\xfa\x7f"),
        M("pdf", "%PDF-1.7\n"),
#undef M
    };
    for (size_t i = 0; i < sizeof magics / sizeof magics[0]; i++)
        put_decode(magics[i].name, (const uint8_t *)magics[i].bytes, magics[i].len);
    data_seeds(argv[2]);
    return 0;
}
