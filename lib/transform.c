/* Image transforms of the robustness benchmark: the edits an image meets
 * between being listed and being sent again (re-compression, resizing,
 * cropping, rotation, colour changes, noise, overlays). Plain pixel code plus
 * a libjpeg-turbo round trip; docs/benchmarks.md lists every parameter. */
#include "transform.h"

#include "hash64.h"

#include <stdio.h> /* before jpeglib.h, which needs FILE */

#include <jpeglib.h>
#include <math.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SIDE (1u << 24)
#define KERNEL_MAX_RADIUS 32
#define BORDER 0 /* pad and rotation fill: black */

const char *clientscan_transform_name(clientscan_transform transform)
{
    static const char *const names[CLIENTSCAN_TRANSFORM_COUNT] = {
        [CLIENTSCAN_TRANSFORM_JPEG90] = "jpeg90",
        [CLIENTSCAN_TRANSFORM_JPEG70] = "jpeg70",
        [CLIENTSCAN_TRANSFORM_JPEG50] = "jpeg50",
        [CLIENTSCAN_TRANSFORM_RESIZE50] = "resize50",
        [CLIENTSCAN_TRANSFORM_RESIZE25] = "resize25",
        [CLIENTSCAN_TRANSFORM_CROP5] = "crop5",
        [CLIENTSCAN_TRANSFORM_CROP10] = "crop10",
        [CLIENTSCAN_TRANSFORM_PAD20] = "pad20",
        [CLIENTSCAN_TRANSFORM_ROT90] = "rot90",
        [CLIENTSCAN_TRANSFORM_ROT180] = "rot180",
        [CLIENTSCAN_TRANSFORM_MIRROR] = "mirror",
        [CLIENTSCAN_TRANSFORM_ROT4] = "rot4",
        [CLIENTSCAN_TRANSFORM_BRIGHT_UP] = "bright+20",
        [CLIENTSCAN_TRANSFORM_BRIGHT_DOWN] = "bright-20",
        [CLIENTSCAN_TRANSFORM_CONTRAST] = "contrast",
        [CLIENTSCAN_TRANSFORM_GAMMA2] = "gamma2",
        [CLIENTSCAN_TRANSFORM_BLUR2] = "blur2",
        [CLIENTSCAN_TRANSFORM_NOISE10] = "noise10",
        [CLIENTSCAN_TRANSFORM_TEXT] = "text",
        [CLIENTSCAN_TRANSFORM_GREY] = "grey",
    };
    if ((unsigned)transform >= CLIENTSCAN_TRANSFORM_COUNT)
        return "unknown";
    return names[transform];
}

/* A new w x h image with `channels`, pixels uninitialised. */
static int new_image(const clientscan_image *like, uint32_t w, uint32_t h, uint32_t channels,
                     clientscan_image *out, clientscan_detail *detail)
{
    if (w == 0 || h == 0 || w > MAX_SIDE || h > MAX_SIDE)
        return cs_fail(detail, CLIENTSCAN_E_LIMIT, "result size %ux%u out of range", w, h);
    size_t stride, bytes;
    if (!cs_mul_size(w, channels, &stride) || !cs_mul_size(stride, h, &bytes))
        return cs_fail(detail, CLIENTSCAN_E_LIMIT, "result too large");
    uint8_t *px = malloc(bytes);
    if (!px)
        return cs_fail(detail, CLIENTSCAN_E_NOMEM, "cannot allocate %zu bytes", bytes);
    *out = (clientscan_image){.width = w, .height = h, .channels = channels, .stride = stride,
                              .pixels = px, .format = like->format, .source_width = w,
                              .source_height = h};
    return CLIENTSCAN_OK;
}

static uint8_t clamp_round(double v)
{
    if (!(v > 0))
        return 0;
    if (v >= 254.5)
        return 255;
    return (uint8_t)(v + 0.5);
}

/* ---------------------------------------------------------------- JPEG */

typedef struct {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
} jpeg_error;

static void jpeg_error_exit(j_common_ptr cinfo)
{
    jpeg_error *err = (jpeg_error *)cinfo->err;
    err->mgr.format_message(cinfo, err->message);
    longjmp(err->jump, 1);
}

static int jpeg_roundtrip(const clientscan_image *src, int quality, clientscan_image *out,
                          clientscan_detail *detail)
{
    /* What the encoder allocates lives on the heap, not in locals, so it is
     * still known after a longjmp from libjpeg's error handler. */
    struct {
        struct jpeg_compress_struct cinfo;
        jpeg_error err;
        unsigned char *mem;
        unsigned long len;
    } *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return cs_fail(detail, CLIENTSCAN_E_NOMEM, "JPEG encode: out of memory");
    ctx->cinfo.err = jpeg_std_error(&ctx->err.mgr);
    ctx->err.mgr.error_exit = jpeg_error_exit;
    if (setjmp(ctx->err.jump)) {
        int rc = cs_fail(detail, CLIENTSCAN_E_CORRUPT, "JPEG encode: %s", ctx->err.message);
        jpeg_destroy_compress(&ctx->cinfo);
        free(ctx->mem);
        free(ctx);
        return rc;
    }
    jpeg_create_compress(&ctx->cinfo);
    jpeg_mem_dest(&ctx->cinfo, &ctx->mem, &ctx->len);
    ctx->cinfo.image_width = src->width;
    ctx->cinfo.image_height = src->height;
    ctx->cinfo.input_components = (int)src->channels;
    ctx->cinfo.in_color_space = src->channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&ctx->cinfo); /* 4:2:0 chroma, ISLOW DCT: what most encoders do */
    jpeg_set_quality(&ctx->cinfo, quality, TRUE);
    jpeg_start_compress(&ctx->cinfo, TRUE);
    while (ctx->cinfo.next_scanline < ctx->cinfo.image_height) {
        JSAMPROW row = src->pixels + (size_t)ctx->cinfo.next_scanline * src->stride;
        jpeg_write_scanlines(&ctx->cinfo, &row, 1);
    }
    jpeg_finish_compress(&ctx->cinfo);
    jpeg_destroy_compress(&ctx->cinfo);
    int rc = clientscan_decode_memory(ctx->mem, ctx->len, NULL, out, detail);
    free(ctx->mem);
    free(ctx);
    return rc;
}

/* ---------------------------------------------------------------- geometry */

static int resize(const clientscan_image *src, double factor, clientscan_image *out,
                  clientscan_detail *detail)
{
    uint32_t w = (uint32_t)lround(src->width * factor), h = (uint32_t)lround(src->height * factor);
    int rc = new_image(src, w ? w : 1, h ? h : 1, src->channels, out, detail);
    if (rc != CLIENTSCAN_OK)
        return rc;
    return cs_area_resize(src->pixels, src->width, src->height, src->stride, src->channels,
                          out->pixels, out->width, out->height, out->stride, detail);
}

/* Keeps the centre (100 - percent)% of each side; the removed pixels are
 * split between both edges (the odd one goes to the right/bottom). */
static int crop(const clientscan_image *src, double percent, clientscan_image *out,
                clientscan_detail *detail)
{
    uint32_t cut_x = (uint32_t)lround(src->width * percent / 100);
    uint32_t cut_y = (uint32_t)lround(src->height * percent / 100);
    if (cut_x >= src->width || cut_y >= src->height)
        return cs_fail(detail, CLIENTSCAN_E_LIMIT, "image too small to crop");
    int rc = new_image(src, src->width - cut_x, src->height - cut_y, src->channels, out, detail);
    if (rc != CLIENTSCAN_OK)
        return rc;
    size_t c = src->channels;
    for (uint32_t y = 0; y < out->height; y++)
        memcpy(out->pixels + y * out->stride,
               src->pixels + (y + cut_y / 2) * src->stride + (cut_x / 2) * c, out->width * c);
    return CLIENTSCAN_OK;
}

/* Adds a border of percent/2 % of each side on every edge. */
static int pad(const clientscan_image *src, double percent, clientscan_image *out,
               clientscan_detail *detail)
{
    uint32_t bx = (uint32_t)lround(src->width * percent / 200);
    uint32_t by = (uint32_t)lround(src->height * percent / 200);
    if (src->width > MAX_SIDE - 2 * bx || src->height > MAX_SIDE - 2 * by)
        return cs_fail(detail, CLIENTSCAN_E_LIMIT, "padded image too large");
    int rc = new_image(src, src->width + 2 * bx, src->height + 2 * by, src->channels, out, detail);
    if (rc != CLIENTSCAN_OK)
        return rc;
    size_t c = src->channels;
    memset(out->pixels, BORDER, out->stride * out->height);
    for (uint32_t y = 0; y < src->height; y++)
        memcpy(out->pixels + (y + by) * out->stride + bx * c, src->pixels + y * src->stride,
               src->width * c);
    return CLIENTSCAN_OK;
}

typedef enum { ROTATE_CW90, ROTATE_180, FLIP_LR } exact_motion;

static int move_pixels(const clientscan_image *src, exact_motion m, clientscan_image *out,
                       clientscan_detail *detail)
{
    uint32_t w = src->width, h = src->height;
    int rc = m == ROTATE_CW90 ? new_image(src, h, w, src->channels, out, detail)
                              : new_image(src, w, h, src->channels, out, detail);
    if (rc != CLIENTSCAN_OK)
        return rc;
    size_t c = src->channels;
    for (uint32_t y = 0; y < out->height; y++)
        for (uint32_t x = 0; x < out->width; x++) {
            uint32_t sx, sy;
            switch (m) {
            case ROTATE_CW90: sx = y, sy = h - 1 - x; break; /* top-left goes top-right */
            case ROTATE_180: sx = w - 1 - x, sy = h - 1 - y; break;
            default: sx = w - 1 - x, sy = y; break;
            }
            memcpy(out->pixels + y * out->stride + x * c, src->pixels + sy * src->stride + sx * c,
                   c);
        }
    return CLIENTSCAN_OK;
}

/* Rotates clockwise by `degrees` about the image centre, same size;
 * bilinear sampling, black where the source has no pixel. */
static int rotate_small(const clientscan_image *src, double degrees, clientscan_image *out,
                        clientscan_detail *detail)
{
    int rc = new_image(src, src->width, src->height, src->channels, out, detail);
    if (rc != CLIENTSCAN_OK)
        return rc;
    const double pi = 3.14159265358979323846;
    double a = degrees * pi / 180, cs = cos(a), sn = sin(a);
    double cx = src->width / 2.0, cy = src->height / 2.0;
    double maxu = src->width - 1, maxv = src->height - 1, eps = 1e-9;
    size_t c = src->channels;
    for (uint32_t y = 0; y < out->height; y++)
        for (uint32_t x = 0; x < out->width; x++) {
            /* Output pixel centre, rotated back (counter-clockwise on screen,
             * y pointing down) to where it came from. */
            double dx = x + 0.5 - cx, dy = y + 0.5 - cy;
            double u = cx + cs * dx + sn * dy - 0.5, v = cy - sn * dx + cs * dy - 0.5;
            uint8_t *q = out->pixels + y * out->stride + x * c;
            if (u < -eps || v < -eps || u > maxu + eps || v > maxv + eps) {
                memset(q, BORDER, c);
                continue;
            }
            u = u < 0 ? 0 : u > maxu ? maxu : u;
            v = v < 0 ? 0 : v > maxv ? maxv : v;
            uint32_t x0 = (uint32_t)u, y0 = (uint32_t)v;
            uint32_t x1 = x0 + 1 < src->width ? x0 + 1 : x0, y1 = y0 + 1 < src->height ? y0 + 1 : y0;
            double fx = u - x0, fy = v - y0;
            const uint8_t *p00 = src->pixels + y0 * src->stride + x0 * c;
            const uint8_t *p01 = src->pixels + y0 * src->stride + x1 * c;
            const uint8_t *p10 = src->pixels + y1 * src->stride + x0 * c;
            const uint8_t *p11 = src->pixels + y1 * src->stride + x1 * c;
            for (size_t k = 0; k < c; k++) {
                double top = p00[k] + fx * (p01[k] - p00[k]);
                double bottom = p10[k] + fx * (p11[k] - p10[k]);
                q[k] = clamp_round(top + fy * (bottom - top));
            }
        }
    return CLIENTSCAN_OK;
}

/* ---------------------------------------------------------------- values */

typedef enum { LUT_SCALE, LUT_CONTRAST, LUT_GAMMA } lut_kind;

static int apply_lut(const clientscan_image *src, lut_kind kind, double param,
                     clientscan_image *out, clientscan_detail *detail)
{
    uint8_t lut[256];
    for (int v = 0; v < 256; v++) {
        double r;
        switch (kind) {
        case LUT_SCALE: r = v * param; break;
        case LUT_CONTRAST: r = 128 + (v - 128) * param; break;
        default: r = 255 * pow(v / 255.0, param); break;
        }
        lut[v] = clamp_round(r);
    }
    int rc = new_image(src, src->width, src->height, src->channels, out, detail);
    if (rc != CLIENTSCAN_OK)
        return rc;
    size_t row = (size_t)src->width * src->channels;
    for (uint32_t y = 0; y < src->height; y++) {
        const uint8_t *p = src->pixels + y * src->stride;
        uint8_t *q = out->pixels + y * out->stride;
        for (size_t i = 0; i < row; i++)
            q[i] = lut[p[i]];
    }
    return CLIENTSCAN_OK;
}

int cs_gaussian_kernel(double sigma, double *weights, int max_radius)
{
    int r = (int)ceil(3 * sigma);
    if (r > max_radius || r < 0)
        return -1;
    double sum = 0;
    for (int i = -r; i <= r; i++)
        sum += weights[i + r] = exp(-(double)i * i / (2 * sigma * sigma));
    for (int i = 0; i <= 2 * r; i++)
        weights[i] /= sum;
    return r;
}

/* Separable Gaussian blur; edges repeat the border pixel. */
static int blur(const clientscan_image *src, double sigma, clientscan_image *out,
                clientscan_detail *detail)
{
    double k[2 * KERNEL_MAX_RADIUS + 1];
    int r = cs_gaussian_kernel(sigma, k, KERNEL_MAX_RADIUS);
    if (r < 0)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "blur radius too large");
    uint32_t w = src->width, h = src->height;
    size_t c = src->channels, row = (size_t)w * c, n;
    if (!cs_mul_size(row, h, &n) || n > SIZE_MAX / sizeof(float))
        return cs_fail(detail, CLIENTSCAN_E_LIMIT, "image too large to blur");
    float *tmp = malloc(n * sizeof *tmp);
    if (!tmp)
        return cs_fail(detail, CLIENTSCAN_E_NOMEM, "cannot allocate blur buffer");
    int rc = new_image(src, w, h, src->channels, out, detail);
    if (rc != CLIENTSCAN_OK) {
        free(tmp);
        return rc;
    }
    /* Rows, then columns; the clamped index is needed only within r of an
     * edge, so the interior runs without it. */
    for (uint32_t y = 0; y < h; y++) {
        const uint8_t *p = src->pixels + y * src->stride;
        float *t = tmp + y * row;
        for (uint32_t x = 0; x < w; x++) {
            bool inside = x >= (uint32_t)r && (uint64_t)x + (uint64_t)r < w;
            for (size_t ch = 0; ch < c; ch++) {
                double s = 0;
                if (inside) {
                    const uint8_t *q = p + (x - (uint32_t)r) * c + ch;
                    for (int i = 0; i <= 2 * r; i++)
                        s += k[i] * q[(size_t)i * c];
                } else {
                    for (int i = -r; i <= r; i++) {
                        long sx = (long)x + i;
                        sx = sx < 0 ? 0 : sx >= (long)w ? (long)w - 1 : sx;
                        s += k[i + r] * p[(size_t)sx * c + ch];
                    }
                }
                t[x * c + ch] = (float)s;
            }
        }
    }
    double *acc = malloc(row * sizeof *acc);
    if (!acc) {
        free(tmp);
        free(out->pixels);
        memset(out, 0, sizeof *out);
        return cs_fail(detail, CLIENTSCAN_E_NOMEM, "cannot allocate blur buffer");
    }
    for (uint32_t y = 0; y < h; y++) {
        for (size_t v = 0; v < row; v++)
            acc[v] = 0;
        for (int i = -r; i <= r; i++) {
            long sy = (long)y + i;
            sy = sy < 0 ? 0 : sy >= (long)h ? (long)h - 1 : sy;
            const float *src_row = tmp + (size_t)sy * row;
            double kw = k[i + r];
            for (size_t v = 0; v < row; v++)
                acc[v] += kw * src_row[v];
        }
        uint8_t *q = out->pixels + y * out->stride;
        for (size_t v = 0; v < row; v++)
            q[v] = clamp_round(acc[v]);
    }
    free(acc);
    free(tmp);
    return CLIENTSCAN_OK;
}

/* splitmix64: small, seedable, good enough for test noise. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in (0, 1): 53 random bits, never 0. */
static double uniform01(uint64_t *state)
{
    return ((double)(next_random(state) >> 11) + 0.5) / 9007199254740992.0;
}

/* Adds independent N(0, sigma^2) to every sample (Box-Muller pairs). */
static int noise(const clientscan_image *src, double sigma, uint64_t seed, clientscan_image *out,
                 clientscan_detail *detail)
{
    int rc = new_image(src, src->width, src->height, src->channels, out, detail);
    if (rc != CLIENTSCAN_OK)
        return rc;
    const double two_pi = 6.28318530717958647692;
    uint64_t state = seed;
    size_t row = (size_t)src->width * src->channels;
    double spare = 0;
    int have_spare = 0;
    for (uint32_t y = 0; y < src->height; y++) {
        const uint8_t *p = src->pixels + y * src->stride;
        uint8_t *q = out->pixels + y * out->stride;
        for (size_t i = 0; i < row; i++) {
            double z;
            if (have_spare) {
                z = spare;
                have_spare = 0;
            } else {
                double radius = sqrt(-2 * log(uniform01(&state))), angle = two_pi * uniform01(&state);
                z = radius * cos(angle);
                spare = radius * sin(angle);
                have_spare = 1;
            }
            q[i] = clamp_round(p[i] + sigma * z);
        }
    }
    return CLIENTSCAN_OK;
}

/* ---------------------------------------------------------------- overlay */

const uint8_t *cs_glyph(char c)
{
    /* Our own 5x7 cells, one byte per row, bit 4 leftmost. */
    static const struct {
        char c;
        uint8_t rows[CS_GLYPH_H];
    } font[] = {
        {' ', {0, 0, 0, 0, 0, 0, 0}},
        {'S', {0x0f, 0x10, 0x10, 0x0e, 0x01, 0x01, 0x1e}},
        {'A', {0x0e, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11}},
        {'M', {0x11, 0x1b, 0x15, 0x15, 0x11, 0x11, 0x11}},
        {'P', {0x1e, 0x11, 0x11, 0x1e, 0x10, 0x10, 0x10}},
        {'L', {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1f}},
        {'E', {0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x1f}},
        {'0', {0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e}},
        {'2', {0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f}},
        {'4', {0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02}},
    };
    for (size_t i = 0; i < sizeof font / sizeof font[0]; i++)
        if (font[i].c == c)
            return font[i].rows;
    return NULL;
}

void cs_text_layout(uint32_t w, uint32_t h, uint32_t *x0, uint32_t *y0, uint32_t *cell)
{
    uint32_t columns = (uint32_t)strlen(CS_TEXT_OVERLAY) * (CS_GLYPH_W + 1) - 1;
    uint32_t c = (uint32_t)(w * 0.6 / columns);
    uint32_t cmax = h / (4 * CS_GLYPH_H); /* at most a quarter of the height */
    if (c > cmax)
        c = cmax;
    if (c == 0)
        c = 1;
    uint64_t text_w = (uint64_t)columns * c;
    *x0 = text_w < w ? (uint32_t)((w - text_w) / 2) : 0;
    *y0 = (uint32_t)(h * 0.7);
    *cell = c;
}

/* White text at 50% opacity: lit pixels become (v + 255 + 1) / 2. */
static int overlay_text(const clientscan_image *src, clientscan_image *out,
                        clientscan_detail *detail)
{
    int rc = new_image(src, src->width, src->height, src->channels, out, detail);
    if (rc != CLIENTSCAN_OK)
        return rc;
    size_t row = (size_t)src->width * src->channels;
    for (uint32_t y = 0; y < src->height; y++)
        memcpy(out->pixels + y * out->stride, src->pixels + y * src->stride, row);
    uint32_t x0, y0, cell;
    cs_text_layout(src->width, src->height, &x0, &y0, &cell);
    size_t c = src->channels;
    const char *text = CS_TEXT_OVERLAY;
    for (size_t g = 0; text[g]; g++) {
        const uint8_t *rows = cs_glyph(text[g]);
        for (uint32_t gy = 0; gy < CS_GLYPH_H; gy++)
            for (uint32_t gx = 0; gx < CS_GLYPH_W; gx++) {
                if (!(rows[gy] >> (CS_GLYPH_W - 1 - gx) & 1))
                    continue;
                uint64_t px0 = x0 + ((uint64_t)g * (CS_GLYPH_W + 1) + gx) * cell;
                uint64_t py0 = y0 + (uint64_t)gy * cell;
                for (uint64_t py = py0; py < py0 + cell && py < out->height; py++)
                    for (uint64_t px = px0; px < px0 + cell && px < out->width; px++) {
                        uint8_t *q = out->pixels + py * out->stride + px * c;
                        for (size_t k = 0; k < c; k++)
                            q[k] = (uint8_t)((q[k] + 256u) / 2);
                    }
            }
    }
    return CLIENTSCAN_OK;
}

static int to_grey(const clientscan_image *src, clientscan_image *out, clientscan_detail *detail)
{
    int rc = new_image(src, src->width, src->height, 1, out, detail);
    if (rc != CLIENTSCAN_OK)
        return rc;
    for (uint32_t y = 0; y < src->height; y++) {
        const uint8_t *p = src->pixels + y * src->stride;
        uint8_t *q = out->pixels + y * out->stride;
        for (uint32_t x = 0; x < src->width; x++)
            q[x] = src->channels == 1 ? p[x] : cs_luma601(p[3 * x], p[3 * x + 1], p[3 * x + 2]);
    }
    return CLIENTSCAN_OK;
}

int clientscan_transform_apply(const clientscan_image *src, clientscan_transform transform,
                               uint64_t seed, clientscan_image *out, clientscan_detail *detail)
{
    if (!out)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "no result image");
    memset(out, 0, sizeof *out);
    int rc = cs_image_check(src, detail);
    if (rc != CLIENTSCAN_OK)
        return rc;
    switch (transform) {
    case CLIENTSCAN_TRANSFORM_JPEG90: rc = jpeg_roundtrip(src, 90, out, detail); break;
    case CLIENTSCAN_TRANSFORM_JPEG70: rc = jpeg_roundtrip(src, 70, out, detail); break;
    case CLIENTSCAN_TRANSFORM_JPEG50: rc = jpeg_roundtrip(src, 50, out, detail); break;
    case CLIENTSCAN_TRANSFORM_RESIZE50: rc = resize(src, 0.5, out, detail); break;
    case CLIENTSCAN_TRANSFORM_RESIZE25: rc = resize(src, 0.25, out, detail); break;
    case CLIENTSCAN_TRANSFORM_CROP5: rc = crop(src, 5, out, detail); break;
    case CLIENTSCAN_TRANSFORM_CROP10: rc = crop(src, 10, out, detail); break;
    case CLIENTSCAN_TRANSFORM_PAD20: rc = pad(src, 20, out, detail); break;
    case CLIENTSCAN_TRANSFORM_ROT90: rc = move_pixels(src, ROTATE_CW90, out, detail); break;
    case CLIENTSCAN_TRANSFORM_ROT180: rc = move_pixels(src, ROTATE_180, out, detail); break;
    case CLIENTSCAN_TRANSFORM_MIRROR: rc = move_pixels(src, FLIP_LR, out, detail); break;
    case CLIENTSCAN_TRANSFORM_ROT4: rc = rotate_small(src, 4, out, detail); break;
    case CLIENTSCAN_TRANSFORM_BRIGHT_UP: rc = apply_lut(src, LUT_SCALE, 1.2, out, detail); break;
    case CLIENTSCAN_TRANSFORM_BRIGHT_DOWN: rc = apply_lut(src, LUT_SCALE, 0.8, out, detail); break;
    case CLIENTSCAN_TRANSFORM_CONTRAST: rc = apply_lut(src, LUT_CONTRAST, 1.5, out, detail); break;
    case CLIENTSCAN_TRANSFORM_GAMMA2: rc = apply_lut(src, LUT_GAMMA, 0.5, out, detail); break;
    case CLIENTSCAN_TRANSFORM_BLUR2: rc = blur(src, 2, out, detail); break;
    case CLIENTSCAN_TRANSFORM_NOISE10: rc = noise(src, 10, seed, out, detail); break;
    case CLIENTSCAN_TRANSFORM_TEXT: rc = overlay_text(src, out, detail); break;
    case CLIENTSCAN_TRANSFORM_GREY: rc = to_grey(src, out, detail); break;
    default: return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "unknown transform %d",
                            (int)transform);
    }
    if (rc != CLIENTSCAN_OK) {
        free(out->pixels);
        memset(out, 0, sizeof *out);
    }
    return rc;
}
