/* Writes the fuzzers' seed corpora (tests/fuzz/seeds/<target>/) from the
 * test image generators: tiny PNGs of every colour type, depth and
 * interlace, JPEGs of every kind, and the magic bytes of refused formats.
 * Run by `make fuzz-seeds` (with make_data_seeds.c for the other targets). */
#include "support.h"
#include "images.h"

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *root;

static void put(const char *target, const char *name, const void *data, size_t len)
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

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_seeds DIR\n");
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
            put("fuzz_png", name, png, len);
            if (kinds[i][1] == 8)
                put("fuzz_decode", name, png, len);
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
        put("fuzz_jpeg", jpegs[i].name, jpg, len);
        put("fuzz_decode", jpegs[i].name, jpg, len);
        free(jpg);
    }
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
        put("fuzz_decode", magics[i].name, magics[i].bytes, magics[i].len);
    return 0;
}
