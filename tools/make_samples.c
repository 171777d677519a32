/* clientscan samples — the project's own demo images: deterministic
 * synthetic pictures (gradients, soft shapes, grain) that stand in for
 * known-bad material, and a derive step (mirror, resize, JPEG re-encode) that
 * makes the kind of near-copy a perceptual hash must still recognise. */
#include "cli.h"

#include <getopt.h>
#include <jpeglib.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

/* The committed set in hashdb/samples/: name, seed, size, format. The
 * "known-*" images go on the demo list; "other-*" images do not. */
static const struct sample {
    const char *name;
    uint64_t seed;
    uint32_t width, height;
    bool png;
} samples[] = {
    {"known-1.jpg", 1, 320, 240, false}, {"known-2.jpg", 2, 320, 240, false},
    {"known-3.png", 3, 240, 180, true},  {"known-4.jpg", 4, 300, 300, false},
    {"other-1.jpg", 101, 320, 240, false}, {"other-2.png", 102, 240, 180, true},
};

#define SAMPLE_JPEG_QUALITY 88
#define MAX_DERIVED_SIDE 8192

static void samples_usage(FILE *out)
{
    fprintf(out,
            "usage: clientscan samples generate OUTDIR\n"
            "       clientscan samples derive [--mirror] [--scale PCT] [--quality Q] IN OUT.jpg\n"
            "\n"
            "generate  writes the project's synthetic sample images (the committed set in\n"
            "          hashdb/samples/), bit for bit the same on every run: soft shapes on\n"
            "          gradients with grain, benign stand-ins for listed material.\n"
            "derive    decodes the PNG or JPEG IN, optionally mirrors it left-right and\n"
            "          resizes it, and re-encodes it as a baseline JPEG: a near-copy.\n"
            "\n"
            "Options of derive:\n"
            "  --mirror       flip left-right\n"
            "  --scale PCT    resize each side to PCT percent (10..400, default 100)\n"
            "  --quality Q    JPEG quality 10..100 (default 75)\n"
            "  -h, --help     this text\n"
            "\n"
            "Exit status: 0 written, 1 failed, 2 usage error.\n");
}

/* ---------------------------------------------------------------- drawing */

static uint64_t next_u64(uint64_t *s) /* splitmix64 */
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double uniform(uint64_t *s, double lo, double hi)
{
    return lo + (hi - lo) * (double)(next_u64(s) >> 11) / 9007199254740992.0;
}

typedef struct shape {
    int kind; /* 0 ellipse, 1 rectangle, 2 ring */
    double cx, cy, rx, ry, cosa, sina, thickness, opacity;
    double rgb[3];
} shape;

/* Signed distance in pixels (negative inside), approximate for ellipses. */
static double shape_distance(const shape *s, double x, double y)
{
    double dx = x - s->cx, dy = y - s->cy;
    double u = dx * s->cosa + dy * s->sina, v = -dx * s->sina + dy * s->cosa;
    double m = s->rx < s->ry ? s->rx : s->ry;
    switch (s->kind) {
    case 0: return (sqrt((u / s->rx) * (u / s->rx) + (v / s->ry) * (v / s->ry)) - 1.0) * m;
    case 1: {
        double a = fabs(u) - s->rx, b = fabs(v) - s->ry;
        return a > b ? a : b;
    }
    default: {
        double r = sqrt((u / s->rx) * (u / s->rx) + (v / s->ry) * (v / s->ry));
        return fabs(r - 1.0) * m - s->thickness;
    }
    }
}

static uint8_t to_byte(double v)
{
    return v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)(v + 0.5);
}

/* Renders an RGB picture from a seed: a two-colour gradient with a few slow
 * waves of light, 5..9 soft-edged shapes, then fine grain. */
static void render(uint64_t seed, uint32_t w, uint32_t h, uint8_t *rgb)
{
    uint64_t s = seed * 0x2545f4914f6cdd1dull + 7;
    double c0[3], c1[3], angle = uniform(&s, 0, 2 * M_PI);
    for (int k = 0; k < 3; k++) {
        c0[k] = uniform(&s, 20, 235);
        c1[k] = uniform(&s, 20, 235);
    }
    double wave_amp[3], wave_fx[3], wave_fy[3], wave_ph[3];
    for (int i = 0; i < 3; i++) {
        wave_amp[i] = uniform(&s, 8, 22);
        wave_fx[i] = uniform(&s, -3, 3) * 2 * M_PI / w;
        wave_fy[i] = uniform(&s, -3, 3) * 2 * M_PI / h;
        wave_ph[i] = uniform(&s, 0, 2 * M_PI);
    }
    shape shapes[9];
    int n = 5 + (int)(next_u64(&s) % 5);
    double side = w < h ? w : h;
    for (int i = 0; i < n; i++) {
        shape *sh = &shapes[i];
        sh->kind = (int)(next_u64(&s) % 3);
        sh->cx = uniform(&s, 0.1, 0.9) * w;
        sh->cy = uniform(&s, 0.1, 0.9) * h;
        sh->rx = uniform(&s, 0.06, 0.3) * side;
        sh->ry = uniform(&s, 0.06, 0.3) * side;
        double a = uniform(&s, 0, M_PI);
        sh->cosa = cos(a);
        sh->sina = sin(a);
        sh->thickness = uniform(&s, 2, 8);
        sh->opacity = uniform(&s, 0.55, 1.0);
        for (int k = 0; k < 3; k++)
            sh->rgb[k] = uniform(&s, 0, 255);
    }
    double ca = cos(angle), sa = sin(angle), span = fabs(ca) * w + fabs(sa) * h;
    for (uint32_t y = 0; y < h; y++) {
        for (uint32_t x = 0; x < w; x++) {
            double t = ((x - w / 2.0) * ca + (y - h / 2.0) * sa) / span + 0.5;
            double light = 0;
            for (int i = 0; i < 3; i++)
                light += wave_amp[i] * sin(wave_fx[i] * x + wave_fy[i] * y + wave_ph[i]);
            double px[3];
            for (int k = 0; k < 3; k++)
                px[k] = c0[k] + (c1[k] - c0[k]) * t + light;
            for (int i = 0; i < n; i++) {
                double d = shape_distance(&shapes[i], x + 0.5, y + 0.5);
                double cover = d <= -1.0 ? 1.0 : d >= 1.0 ? 0.0 : (1.0 - d) / 2.0;
                double alpha = cover * shapes[i].opacity;
                for (int k = 0; k < 3; k++)
                    px[k] += (shapes[i].rgb[k] - px[k]) * alpha;
            }
            /* Grain: sum of three uniforms, roughly Gaussian, sigma ~ 3. */
            double g = (uniform(&s, -3, 3) + uniform(&s, -3, 3) + uniform(&s, -3, 3));
            uint8_t *p = rgb + ((size_t)y * w + x) * 3;
            for (int k = 0; k < 3; k++)
                p[k] = to_byte(px[k] + g);
        }
    }
}

/* ---------------------------------------------------------------- encoding */

/* Everything libjpeg touches lives on the heap behind one pointer that is
 * set before setjmp and never changed, so the error path's longjmp cannot
 * clobber it. */
typedef struct jpeg_encoder {
    struct jpeg_compress_struct cinfo;
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    unsigned char *buf;
    unsigned long len;
} jpeg_encoder;

static void jpeg_fail(j_common_ptr cinfo)
{
    longjmp(((jpeg_encoder *)cinfo->client_data)->jump, 1);
}

/* Encodes RGB or grey pixels as a baseline JPEG into *out (caller frees). */
static int encode_jpeg(const uint8_t *pixels, uint32_t w, uint32_t h, uint32_t channels,
                       size_t stride, int quality, uint8_t **out, size_t *out_len)
{
    jpeg_encoder *e = calloc(1, sizeof *e);
    if (!e)
        return -1;
    e->cinfo.err = jpeg_std_error(&e->mgr);
    e->mgr.error_exit = jpeg_fail;
    e->cinfo.client_data = e; /* kept by jpeg_create_compress */
    if (setjmp(e->jump)) {
        jpeg_destroy_compress(&e->cinfo);
        free(e->buf);
        free(e);
        return -1;
    }
    jpeg_create_compress(&e->cinfo);
    jpeg_mem_dest(&e->cinfo, &e->buf, &e->len);
    e->cinfo.image_width = w;
    e->cinfo.image_height = h;
    e->cinfo.input_components = (int)channels;
    e->cinfo.in_color_space = channels == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(&e->cinfo);
    jpeg_set_quality(&e->cinfo, quality, TRUE);
    jpeg_start_compress(&e->cinfo, TRUE);
    while (e->cinfo.next_scanline < e->cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)e->cinfo.next_scanline * stride);
        jpeg_write_scanlines(&e->cinfo, &row, 1);
    }
    jpeg_finish_compress(&e->cinfo);
    jpeg_destroy_compress(&e->cinfo);
    *out = e->buf;
    *out_len = e->len;
    free(e);
    return 0;
}

static int encode_png(const uint8_t *rgb, uint32_t w, uint32_t h, uint8_t **out, size_t *out_len)
{
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = w;
    img.height = h;
    img.format = PNG_FORMAT_RGB;
    png_alloc_size_t size = 0;
    if (!png_image_write_to_memory(&img, NULL, &size, 0, rgb, 0, NULL))
        return -1;
    uint8_t *buf = malloc(size);
    if (!buf || !png_image_write_to_memory(&img, buf, &size, 0, rgb, 0, NULL)) {
        free(buf);
        png_image_free(&img);
        return -1;
    }
    *out = buf;
    *out_len = size;
    return 0;
}

/* ---------------------------------------------------------------- commands */

static int generate(const char *dir)
{
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        const struct sample *sm = &samples[i];
        uint8_t *rgb = malloc((size_t)sm->width * sm->height * 3);
        if (!rgb) {
            cli_error("samples: out of memory");
            return CLI_FAILED;
        }
        render(sm->seed, sm->width, sm->height, rgb);
        uint8_t *enc = NULL;
        size_t enc_len = 0;
        int rc = sm->png ? encode_png(rgb, sm->width, sm->height, &enc, &enc_len)
                         : encode_jpeg(rgb, sm->width, sm->height, 3, (size_t)sm->width * 3,
                                       SAMPLE_JPEG_QUALITY, &enc, &enc_len);
        free(rgb);
        size_t plen = strlen(dir) + strlen(sm->name) + 2;
        char *path = malloc(plen);
        if (rc != 0 || !path) {
            cli_error("samples: cannot encode %s", sm->name);
            free(enc);
            free(path);
            return CLI_FAILED;
        }
        snprintf(path, plen, "%s/%s", dir, sm->name);
        rc = cli_write_file_atomic(path, enc, enc_len, 0644);
        if (rc == 0)
            printf("%s (%ux%u, %zu bytes)\n", path, sm->width, sm->height, enc_len);
        free(enc);
        free(path);
        if (rc != 0)
            return CLI_FAILED;
    }
    return CLI_OK;
}

/* Area-weighted resize of one channel-interleaved image (box filter with
 * fractional pixel coverage): good enough to stand in for an app's
 * thumbnailer. */
static void resize_area(const clientscan_image *src, uint32_t w, uint32_t h, uint8_t *dst)
{
    double sx = (double)src->width / w, sy = (double)src->height / h;
    uint32_t ch = src->channels;
    for (uint32_t y = 0; y < h; y++) {
        double y0 = y * sy, y1 = y0 + sy;
        for (uint32_t x = 0; x < w; x++) {
            double x0 = x * sx, x1 = x0 + sx, acc[3] = {0, 0, 0}, total = 0;
            for (uint32_t yy = (uint32_t)y0; yy < src->height && yy < y1; yy++) {
                double wy = fmin(y1, yy + 1.0) - fmax(y0, (double)yy);
                for (uint32_t xx = (uint32_t)x0; xx < src->width && xx < x1; xx++) {
                    double wgt = wy * (fmin(x1, xx + 1.0) - fmax(x0, (double)xx));
                    const uint8_t *p = src->pixels + (size_t)yy * src->stride + (size_t)xx * ch;
                    for (uint32_t k = 0; k < ch; k++)
                        acc[k] += wgt * p[k];
                    total += wgt;
                }
            }
            for (uint32_t k = 0; k < ch; k++)
                dst[((size_t)y * w + x) * ch + k] = to_byte(total > 0 ? acc[k] / total : 0);
        }
    }
}

static int derive(int argc, char **argv)
{
    static const struct option longopts[] = {{"mirror", no_argument, NULL, 'm'},
                                             {"scale", required_argument, NULL, 's'},
                                             {"quality", required_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    bool mirror = false;
    long scale = 100, quality = 75;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': mirror = true; break;
        case 's':
            if (!cli_parse_int(optarg, 10, 400, &scale)) {
                cli_error("samples derive: --scale must be 10..400");
                return CLI_USAGE;
            }
            break;
        case 'q':
            if (!cli_parse_int(optarg, 10, 100, &quality)) {
                cli_error("samples derive: --quality must be 10..100");
                return CLI_USAGE;
            }
            break;
        case 'h': samples_usage(stdout); return CLI_OK;
        default: samples_usage(stderr); return CLI_USAGE;
        }
    }
    if (argc - optind != 2) {
        cli_error("samples derive: expected IN and OUT (see 'clientscan samples --help')");
        return CLI_USAGE;
    }
    const char *in_path = argv[optind], *out_path = argv[optind + 1];
    clientscan_image src;
    clientscan_detail d;
    if (clientscan_decode_file(in_path, NULL, &src, &d) != CLIENTSCAN_OK) {
        fprintf(stderr, "%s: %s\n", in_path, d.text);
        return CLI_FAILED;
    }
    uint32_t w = (uint32_t)((uint64_t)src.width * (uint64_t)scale / 100);
    uint32_t h = (uint32_t)((uint64_t)src.height * (uint64_t)scale / 100);
    if (w < 1 || h < 1 || w > MAX_DERIVED_SIDE || h > MAX_DERIVED_SIDE) {
        fprintf(stderr, "%s: a %ux%u result is outside 1..%d pixels a side\n", in_path, w, h,
                MAX_DERIVED_SIDE);
        clientscan_image_release(&src);
        return CLI_FAILED;
    }
    uint32_t ch = src.channels;
    uint8_t *px = malloc((size_t)w * h * ch);
    if (!px) {
        clientscan_image_release(&src);
        cli_error("samples derive: out of memory");
        return CLI_FAILED;
    }
    resize_area(&src, w, h, px);
    clientscan_image_release(&src);
    if (mirror)
        for (uint32_t y = 0; y < h; y++) {
            uint8_t *row = px + (size_t)y * w * ch;
            for (uint32_t x = 0; x < w / 2; x++)
                for (uint32_t k = 0; k < ch; k++) {
                    uint8_t t = row[x * ch + k];
                    row[x * ch + k] = row[(w - 1 - x) * ch + k];
                    row[(w - 1 - x) * ch + k] = t;
                }
        }
    uint8_t *enc = NULL;
    size_t enc_len = 0;
    int rc = encode_jpeg(px, w, h, ch, (size_t)w * ch, (int)quality, &enc, &enc_len);
    free(px);
    if (rc != 0) {
        fprintf(stderr, "%s: JPEG encoding failed\n", out_path);
        return CLI_FAILED;
    }
    rc = cli_write_file_atomic(out_path, enc, enc_len, 0644);
    free(enc);
    if (rc != 0)
        return CLI_FAILED;
    printf("%s (%ux%u%s, JPEG quality %ld, %zu bytes)\n", out_path, w, h,
           mirror ? ", mirrored" : "", quality, enc_len);
    return CLI_OK;
}

int cmd_samples(int argc, char **argv)
{
    if (argc < 2) {
        samples_usage(stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        samples_usage(stdout);
        return CLI_OK;
    }
    if (strcmp(argv[1], "generate") == 0) {
        if (argc == 3 && strcmp(argv[2], "--help") == 0) {
            samples_usage(stdout);
            return CLI_OK;
        }
        if (argc != 3) {
            cli_error("samples generate: expected OUTDIR");
            return CLI_USAGE;
        }
        return generate(argv[2]);
    }
    if (strcmp(argv[1], "derive") == 0)
        return derive(argc - 1, argv + 1);
    cli_error("samples: unknown subcommand '%s' (generate or derive)", argv[1]);
    return CLI_USAGE;
}
