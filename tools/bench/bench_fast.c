/* bench_fast — how far fast-mode hashes land from exact ones.
 *
 * For every JPEG under the given paths, hashes it exactly and with JPEG DCT
 * scaling at several minimum sides, and prints the distribution of Hamming
 * distances (all images, and those with exact quality >= 80) per minimum
 * side, with the speed-up measured in the same run. This is the data behind
 * CLIENTSCAN_FAST_MIN_SIDE (docs/speed.md).
 *
 * usage: bench_fast [--csv FILE] [--reencode] [--sides N,N,...] PATH...
 *        (files or directories; --sides: minimum sides, default 128..1024)
 *
 * --reencode also measures PNG photos by encoding them as JPEG quality 90
 * (libjpeg-turbo defaults, 4:2:0) in memory first, for corpora with few
 * JPEGs; such rows are marked in the CSV.
 */
#define _GNU_SOURCE
#include "clientscan.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jpeglib.h>

/* JPEG-encodes a decoded image at quality 90 into a malloc'd buffer. */
static uint8_t *encode_jpeg(const clientscan_image *img, size_t *len)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    unsigned char *buf = NULL;
    unsigned long size = 0;
    jpeg_mem_dest(&c, &buf, &size);
    c.image_width = img->width;
    c.image_height = img->height;
    c.input_components = (int)img->channels;
    c.in_color_space = img->channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 90, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < img->height) {
        JSAMPROW row = img->pixels + (size_t)c.next_scanline * img->stride;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    *len = size;
    return buf;
}

/* The file's bytes, as JPEG: the file itself, or (reencode) a PNG encoded
 * as JPEG. NULL when it is neither. */
static uint8_t *load_jpeg(const char *path, bool reencode, size_t *len, bool *reencoded)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 20, n = 0;
    uint8_t *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    if (!buf)
        return NULL;
    *reencoded = false;
    clientscan_format fmt = clientscan_sniff(buf, n);
    if (fmt == CLIENTSCAN_FORMAT_JPEG) {
        *len = n;
        return buf;
    }
    uint8_t *out = NULL;
    clientscan_image img;
    if (reencode && fmt == CLIENTSCAN_FORMAT_PNG &&
        clientscan_decode_memory(buf, n, NULL, &img, NULL) == CLIENTSCAN_OK) {
        out = encode_jpeg(&img, len);
        clientscan_image_release(&img);
        *reencoded = true;
    }
    free(buf);
    return out;
}

#define MAX_SIDES 16
static uint32_t min_sides[MAX_SIDES] = {128, 192, 256, 384, 512, 768, 1024};
static size_t nsides = 7;

/* "512,768,1024" -> min_sides; false on anything else. */
static bool parse_sides(const char *text)
{
    size_t n = 0;
    const char *p = text;
    while (*p && n < MAX_SIDES) {
        char *end;
        unsigned long v = strtoul(p, &end, 10);
        if (end == p || v < 8 || v > 65535 || (*end && *end != ','))
            return false;
        min_sides[n++] = (uint32_t)v;
        p = *end ? end + 1 : end;
    }
    if (*p || n == 0)
        return false;
    nsides = n;
    return true;
}

typedef struct {
    char **paths;
    size_t n, cap;
} path_list;

static void add_path(path_list *l, const char *p)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->paths = realloc(l->paths, l->cap * sizeof *l->paths);
        if (!l->paths)
            exit(1);
    }
    l->paths[l->n++] = strdup(p);
}

static void walk(path_list *l, const char *p)
{
    struct stat st;
    if (lstat(p, &st) != 0)
        return;
    if (S_ISREG(st.st_mode)) {
        add_path(l, p);
        return;
    }
    if (!S_ISDIR(st.st_mode))
        return;
    DIR *d = opendir(p);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char child[4096];
        snprintf(child, sizeof child, "%s/%s", p, e->d_name);
        walk(l, child);
    }
    closedir(d);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

static void summary(const char *label, int *d, size_t n)
{
    if (n == 0) {
        printf("  %-14s n=0\n", label);
        return;
    }
    qsort(d, n, sizeof *d, cmp_int);
    double mean = 0;
    for (size_t i = 0; i < n; i++)
        mean += d[i];
    mean /= (double)n;
    size_t over10 = 0;
    for (size_t i = 0; i < n; i++)
        over10 += d[i] > 10;
#define PCT(p) d[(size_t)((double)(n - 1) * (p) + 0.5)]
    printf("  %-14s n=%-6zu mean %5.2f  p50 %3d  p90 %3d  p99 %3d  max %3d  >10 bits: %zu\n", label,
           n, mean, PCT(0.5), PCT(0.9), PCT(0.99), d[n - 1], over10);
#undef PCT
}

int main(int argc, char **argv)
{
    const char *csv_path = NULL;
    bool reencode = false;
    path_list l = {0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--csv") == 0 && i + 1 < argc)
            csv_path = argv[++i];
        else if (strcmp(argv[i], "--reencode") == 0)
            reencode = true;
        else if (strcmp(argv[i], "--sides") == 0 && i + 1 < argc) {
            if (!parse_sides(argv[++i])) {
                fprintf(stderr, "bench_fast: --sides: want N,N,... of 8..65535: %s\n", argv[i]);
                return 2;
            }
        } else if (strcmp(argv[i], "--help") == 0) {
            printf("usage: bench_fast [--csv FILE] [--reencode] [--sides N,N,...] PATH...\n");
            return 0;
        } else
            walk(&l, argv[i]);
    }
    if (l.n == 0) {
        fprintf(stderr, "bench_fast: no files (usage: bench_fast [--csv FILE] PATH...)\n");
        return 2;
    }
    FILE *csv = csv_path ? fopen(csv_path, "w") : NULL;
    if (csv)
        fprintf(csv, "path,reencoded,width,height,quality,min_side,scaled_width,scaled_height,"
                     "distance\n");
    /* good: quality >= 80; scaled: quality >= 80 and actually decoded smaller. */
    int *all[MAX_SIDES], *good[MAX_SIDES], *scaled[MAX_SIDES];
    size_t nall = 0, ngood = 0, nscaled[MAX_SIDES] = {0};
    double t_exact = 0, t_fast[MAX_SIDES] = {0};
    for (size_t s = 0; s < nsides; s++) {
        all[s] = malloc(l.n * sizeof(int));
        good[s] = malloc(l.n * sizeof(int));
        scaled[s] = malloc(l.n * sizeof(int));
        if (!all[s] || !good[s] || !scaled[s])
            return 1;
    }
    for (size_t i = 0; i < l.n; i++) {
        size_t len;
        bool reencoded;
        uint8_t *jpeg = load_jpeg(l.paths[i], reencode, &len, &reencoded);
        if (!jpeg)
            continue;
        clientscan_pdq_result exact, fast;
        clientscan_hash_info info, finfo;
        double t0 = now();
        if (clientscan_hash_memory(jpeg, len, NULL, &exact, &info, NULL) != CLIENTSCAN_OK) {
            free(jpeg);
            continue;
        }
        t_exact += now() - t0;
        for (size_t s = 0; s < nsides; s++) {
            clientscan_hash_params p = {.decode.jpeg_min_side = min_sides[s]};
            t0 = now();
            if (clientscan_hash_memory(jpeg, len, &p, &fast, &finfo, NULL) != CLIENTSCAN_OK) {
                fprintf(stderr, "%s: fast decode failed but exact succeeded\n", l.paths[i]);
                return 1;
            }
            t_fast[s] += now() - t0;
            int d = clientscan_pdq_distance(&exact.hash[0], &fast.hash[0]);
            all[s][nall] = d;
            if (exact.quality >= 80)
                good[s][ngood] = d;
            if (exact.quality >= 80 && finfo.width < info.width)
                scaled[s][nscaled[s]++] = d;
            if (csv)
                fprintf(csv, "\"%s\",%d,%u,%u,%d,%u,%u,%u,%d\n", l.paths[i], reencoded,
                        info.width, info.height, exact.quality, min_sides[s], finfo.width,
                        finfo.height, d);
        }
        free(jpeg);
        nall++;
        if (exact.quality >= 80)
            ngood++;
        if (nall % 100 == 0)
            fprintf(stderr, "\r%zu JPEGs", nall);
    }
    fprintf(stderr, "\r");
    printf("bench_fast: %zu JPEGs (%zu with quality >= 80)%s; distance fast vs exact PDQ\n",
           nall, ngood, reencode ? ", PNGs re-encoded as JPEG q90" : "");
    for (size_t s = 0; s < nsides; s++) {
        printf("min side %u: total time %.2fx of exact\n", min_sides[s],
               t_exact > 0 ? t_fast[s] / t_exact : 0);
        summary("all", all[s], nall);
        summary("quality>=80", good[s], ngood);
        summary("q>=80 scaled", scaled[s], nscaled[s]);
        free(all[s]);
        free(good[s]);
        free(scaled[s]);
    }
    if (csv)
        fclose(csv);
    for (size_t i = 0; i < l.n; i++)
        free(l.paths[i]);
    free(l.paths);
    return nall > 0 ? 0 : 1;
}
