/* Resource limits against decompression bombs. Each hostile input is
 * decoded in a child process (this program run again with --child), so a
 * crash shows as a signal instead of taking the test down, and so the child
 * can run under setrlimit(RLIMIT_AS) (what `ulimit -v` sets): with an
 * address-space headroom of the documented bound
 * (docs/robustness.md, "Memory") a legal input at the configured pixel
 * limit decodes, an over-limit one is refused before any pixel memory
 * exists, and smaller headrooms end in a clean NOMEM/LIMIT, never a crash.
 * The child also reports its peak RSS growth (VmHWM) and the time taken.
 *
 * AddressSanitizer reserves terabytes of virtual memory up front, so under
 * SANITIZE=1 the RLIMIT_AS parts are skipped (said loudly) and only the
 * clean-error and time checks run.
 *
 * Inputs are built here, byte by byte where libpng would refuse to write
 * them: a zlib stream of zeros in fixed-Huffman deflate (258-byte matches,
 * about 160:1) makes a PNG of any declared size in a few MB. */
#include "support.h"
#include "images.h"

#include "clientscan.h"

#include <errno.h>
#include <png.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h> /* before jpeglib.h, which uses FILE */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <jpeglib.h>

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

#define MIB (1024.0 * 1024.0)

/* The documented bound (docs/robustness.md): address space a single decode
 * may add, for a configured pixel limit P. Whole-image decode
 * (clientscan_decode_memory): 3 bytes of pixels per pixel, plus an
 * interlaced PNG's second copy (3P) or a progressive/multi-scan JPEG's
 * coefficient buffer (at most 8P + 64 MiB: libjpeg's max_memory_to_use,
 * set in lib/jpeg.c), plus a constant for the codecs' tables and rows.
 * Streaming decode + hash (clientscan_hash_memory, the scanner's path): no
 * pixel buffer, PDQ's ring buffers (about P/32 floats) instead. */
#define BOUND_CONSTANT (16u << 20)
#define JPEG_SLACK (64u << 20)
static size_t decode_bound(uint64_t p)
{
    return (size_t)(3 * p + 8 * p + JPEG_SLACK + BOUND_CONSTANT);
}
static size_t hash_bound(uint64_t p)
{
    return (size_t)(8 * p + JPEG_SLACK + p / 8 + BOUND_CONSTANT);
}

typedef struct blob {
    uint8_t *data;
    size_t len;
} blob;

/* ============================================================ byte writers */

typedef struct buf {
    uint8_t *p;
    size_t len, cap;
} buf;

static void buf_put(buf *b, const void *data, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        assert_non_null(b->p);
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void buf_be32(buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    buf_put(b, x, 4);
}

/* Deflate bit writer: fields LSB first, Huffman codes MSB first. */
typedef struct bits {
    buf *out;
    uint32_t acc;
    int n;
} bits;

static void put_bits(bits *w, uint32_t v, int n)
{
    w->acc |= v << w->n;
    w->n += n;
    while (w->n >= 8) {
        uint8_t byte = (uint8_t)w->acc;
        buf_put(w->out, &byte, 1);
        w->acc >>= 8;
        w->n -= 8;
    }
}

static void put_code(bits *w, uint32_t code, int n)
{
    uint32_t rev = 0;
    for (int i = 0; i < n; i++)
        rev |= ((code >> i) & 1u) << (n - 1 - i);
    put_bits(w, rev, n);
}

/* zlib stream of n zero bytes: one fixed-Huffman block, a literal 0, then
 * length-258 matches at distance 1, then literals for the rest. */
static void zlib_zeros(buf *out, uint64_t n)
{
    const uint8_t header[2] = {0x78, 0x01};
    buf_put(out, header, 2);
    bits w = {out, 0, 0};
    put_bits(&w, 1, 1); /* BFINAL */
    put_bits(&w, 1, 2); /* BTYPE 01: fixed Huffman */
    uint64_t left = n;
    if (left) {
        put_code(&w, 0x30, 8); /* literal 0 */
        left--;
    }
    while (left >= 258) {
        put_code(&w, 0xc5, 8); /* length symbol 285 = 258 */
        put_code(&w, 0, 5);    /* distance code 0 = 1 */
        left -= 258;
    }
    while (left--)
        put_code(&w, 0x30, 8);
    put_code(&w, 0, 7); /* end of block */
    if (w.n)
        put_bits(&w, 0, 8 - w.n);
    /* Adler-32 of zeros: a stays 1, b adds 1 per byte. */
    uint32_t b = (uint32_t)(n % 65521u);
    buf_be32(out, b << 16 | 1u);
}

static void png_chunk(buf *b, const char type[4], const uint8_t *data, size_t n)
{
    buf_be32(b, (uint32_t)n);
    size_t start = b->len;
    buf_put(b, type, 4);
    if (n)
        buf_put(b, data, n);
    buf_be32(b, ts_crc32(b->p + start, n + 4));
}

/* Bytes of filtered scanlines libpng expects for an image of zeros. */
static uint64_t png_raw_bytes(uint32_t w, uint32_t h, int channels, int depth, bool interlaced)
{
    uint64_t bits_per_pixel = (uint64_t)channels * (uint64_t)depth;
    if (!interlaced)
        return (uint64_t)h * (1 + ((uint64_t)w * bits_per_pixel + 7) / 8);
    uint64_t total = 0;
    for (int pass = 0; pass < 7; pass++) {
        uint64_t cols = PNG_PASS_COLS(w, pass), rows = PNG_PASS_ROWS(h, pass);
        if (cols && rows)
            total += rows * (1 + (cols * bits_per_pixel + 7) / 8);
    }
    return total;
}

/* A PNG declaring w x h whose IDAT inflates to `raw` zero bytes (pass
 * png_raw_bytes() for an exact, valid image; more for surplus data). */
static blob png_zeros(uint32_t w, uint32_t h, int color_type, int depth, bool interlaced,
                      uint64_t raw)
{
    buf b = {0};
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    buf_put(&b, sig, 8);
    uint8_t ihdr[13] = {(uint8_t)(w >> 24), (uint8_t)(w >> 16), (uint8_t)(w >> 8), (uint8_t)w,
                        (uint8_t)(h >> 24), (uint8_t)(h >> 16), (uint8_t)(h >> 8), (uint8_t)h,
                        (uint8_t)depth, (uint8_t)color_type, 0, 0, interlaced ? 1 : 0};
    png_chunk(&b, "IHDR", ihdr, sizeof ihdr);
    buf z = {0};
    zlib_zeros(&z, raw);
    for (size_t off = 0; off < z.len; off += 65536)
        png_chunk(&b, "IDAT", z.p + off, z.len - off < 65536 ? z.len - off : 65536);
    free(z.p);
    png_chunk(&b, "IEND", NULL, 0);
    return (blob){b.p, b.len};
}

static blob png_zeros_valid(uint32_t w, uint32_t h, int color_type, int channels, int depth,
                            bool interlaced)
{
    return png_zeros(w, h, color_type, depth, interlaced,
                     png_raw_bytes(w, h, channels, depth, interlaced));
}

static void gradient_noise_row(const void *ctx, uint32_t y, uint32_t w, int components,
                               uint8_t *row)
{
    (void)ctx;
    for (uint32_t x = 0; x < w; x++)
        for (int k = 0; k < components; k++)
            row[(size_t)x * components + k] =
                (uint8_t)((x + y * 2 + (uint32_t)k * 40) / 8 + ts_noise(7, x, y, k) % 16);
}

/* JPEG of a smooth gradient with noise; 1 (grey), 3 (RGB) or 4 (CMYK)
 * components, all at full resolution (4:4:4: the largest coefficient
 * buffer); scans NULL = baseline, else that scan script. */
static blob jpeg_make(uint32_t w, uint32_t h, int components, const jpeg_scan_info *scans,
                      int nscans)
{
    const ts_jpeg_options o = {.components = components, .quality = 85,
                               .full_resolution_chroma = true, .scans = scans, .nscans = nscans};
    size_t len;
    uint8_t *data = ts_jpeg_encode_with(w, h, &o, gradient_noise_row, NULL, &len);
    return (blob){data, len};
}

/* libjpeg's standard progressive script for `components` (caller frees). */
static jpeg_scan_info *simple_progression(int components, int *nscans)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    c.input_components = components;
    c.in_color_space = components == 1 ? JCS_GRAYSCALE : components == 3 ? JCS_RGB : JCS_CMYK;
    jpeg_set_defaults(&c);
    jpeg_simple_progression(&c);
    *nscans = c.num_scans;
    jpeg_scan_info *script = ts_malloc(sizeof *script * (size_t)c.num_scans);
    memcpy(script, c.scan_info, sizeof *script * (size_t)c.num_scans);
    jpeg_destroy_compress(&c);
    return script;
}

/* A valid progressive scan script for one grey component with exactly
 * `count` scans (64..127): a DC scan, then each of the 63 AC coefficients
 * in its own band; the first count - 64 bands are sent in two successive
 * approximation steps (first bit 1, then the refinement of bit 0). */
static int grey_scan_script(jpeg_scan_info *scans, int count)
{
    int n = 0, split = count - 64;
    scans[n++] = (jpeg_scan_info){1, {0}, 0, 0, 0, 0};
    for (int k = 1; k <= 63; k++) {
        if (k <= split) {
            scans[n++] = (jpeg_scan_info){1, {0}, k, k, 0, 1};
            scans[n++] = (jpeg_scan_info){1, {0}, k, k, 1, 0};
        } else {
            scans[n++] = (jpeg_scan_info){1, {0}, k, k, 0, 0};
        }
    }
    return n;
}

/* ============================================================ child runs */

typedef enum { RUN_DECODE, RUN_HASH } run_kind;

typedef struct run_spec {
    const blob *input;
    run_kind kind;
    clientscan_decode_params params;
    size_t headroom; /* RLIMIT_AS above the child's current size; 0 = none */
    long spare;      /* >= 0: fill the headroom, leave this many bytes free */
} run_spec;

typedef struct run_result {
    int rc;
    int signal;         /* nonzero if the child died */
    bool limited;       /* RLIMIT_AS was applied */
    double seconds;
    double peak_mib;    /* VmHWM growth during the call */
    uint32_t width, height;
    clientscan_detail detail;
} run_result;

static long status_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            v = strtol(line + n + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The measured decode, in a fresh process (the test binary run again with
 * --child), so its address space and heap hold nothing but the libraries
 * and the input: a forked child would inherit the test's heap, whose free
 * chunks would make the headroom look larger than it is. */
static int child_main(char **argv)
{
    run_kind kind = (run_kind)atoi(argv[2]);
    clientscan_decode_params params;
    memset(&params, 0, sizeof params);
    params.max_pixels = strtoull(argv[3], NULL, 10);
    size_t headroom = (size_t)strtoull(argv[4], NULL, 10);
    long spare = strtol(argv[6], NULL, 10);
    size_t len = 0;
    uint8_t *data = NULL;
    FILE *f = fopen(argv[5], "rb");
    if (!f)
        return 3;
    for (size_t cap = 0;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 1u << 20;
            data = realloc(data, cap);
            if (!data)
                return 3;
        }
        size_t n = fread(data + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    fclose(f);

    run_result r;
    memset(&r, 0, sizeof r);
    if (headroom && !UNDER_ASAN) {
        long vm = status_kib("VmSize");
        struct rlimit lim;
        lim.rlim_cur = lim.rlim_max = (rlim_t)vm * 1024 + headroom;
        r.limited = vm > 0 && setrlimit(RLIMIT_AS, &lim) == 0;
    }
    long hwm0 = status_kib("VmHWM");
    /* Ballast: fill the address space with 1 KiB blocks, then give back
     * `spare` bytes from the top of the heap. Whatever the decoder, libpng,
     * zlib or libjpeg allocate then fails at a point that moves with spare. */
    enum { BLOCK = 1024, MAX_BLOCKS = 1 << 17 };
    void **ballast = NULL;
    size_t blocks = 0;
    if (spare >= 0 && r.limited) {
        ballast = malloc(sizeof *ballast * MAX_BLOCKS);
        if (!ballast)
            return 3;
        while (blocks < MAX_BLOCKS && (ballast[blocks] = malloc(BLOCK)) != NULL)
            blocks++;
        for (long freed = 0; blocks > 0 && freed < spare; freed += BLOCK)
            free(ballast[--blocks]);
    }
    double t0 = now();
    if (kind == RUN_DECODE) {
        clientscan_image img;
        r.rc = clientscan_decode_memory(data, len, &params, &img, &r.detail);
        r.width = img.width;
        r.height = img.height;
        clientscan_image_release(&img);
    } else {
        clientscan_hash_params hp;
        memset(&hp, 0, sizeof hp);
        hp.decode = params;
        clientscan_pdq_result pr;
        clientscan_hash_info info;
        r.rc = clientscan_hash_memory(data, len, &hp, &pr, &info, &r.detail);
        r.width = info.width;
        r.height = info.height;
    }
    r.seconds = now() - t0;
    while (blocks > 0)
        free(ballast[--blocks]);
    free(ballast);
    r.peak_mib = (double)(status_kib("VmHWM") - hwm0) / 1024.0;
    free(data);
    return fwrite(&r, sizeof r, 1, stdout) == 1 && fflush(stdout) == 0 ? 0 : 3;
}

static char *scratch_dir;

static run_result run(const run_spec *s)
{
    char *path = ts_path(scratch_dir, "input.bin");
    ts_write_file(path, s->input->data, s->input->len);
    char kind[16], pixels[32], headroom[32], spare[32];
    snprintf(kind, sizeof kind, "%d", (int)s->kind);
    snprintf(pixels, sizeof pixels, "%llu", (unsigned long long)s->params.max_pixels);
    snprintf(headroom, sizeof headroom, "%zu", s->headroom);
    snprintf(spare, sizeof spare, "%ld", s->spare ? s->spare : -1);
    const char *argv[] = {"/proc/self/exe", "--child", kind, pixels, headroom, path, spare, NULL};
    ts_output out;
    ts_run(argv, NULL, 0, &out);
    run_result r;
    memset(&r, 0, sizeof r);
    if (out.status >= 128) {
        r.signal = out.status - 128;
    } else {
        if (out.status != 0 || out.out_len != sizeof r)
            fail_msg("child exited %d with %zu bytes: %s", out.status, out.out_len, out.err);
        memcpy(&r, out.out, sizeof r);
    }
    ts_output_free(&out);
    free(path);
    return r;
}

/* Seconds any single worst case here may take; generous under sanitizers
 * (several times slower) and on a loaded CI machine. */
static double time_budget(void)
{
    return UNDER_ASAN ? 20.0 : 5.0;
}

static void report(const char *what, const run_spec *s, const run_result *r)
{
    char limit[48] = "no RLIMIT_AS";
    if (r->limited)
        snprintf(limit, sizeof limit, "RLIMIT_AS +%.0f MiB", (double)s->headroom / MIB);
    print_message("  %-44s rc %3d  %6.3f s  peak +%6.1f MiB  %s\n", what, r->rc, r->seconds,
                  r->peak_mib, limit);
}

/* Runs and checks the basics: no crash, a known outcome, within time. */
static run_result expect(const char *what, const run_spec *s, int want_rc)
{
    run_result r = run(s);
    if (r.signal)
        fail_msg("%s: child killed by signal %d", what, r.signal);
    report(what, s, &r);
    if (r.rc != want_rc)
        fail_msg("%s: rc %d (%s) \"%s\", expected %d", what, r.rc, clientscan_strerror(r.rc),
                 r.detail.text, want_rc);
    if (r.rc != CLIENTSCAN_OK && !r.detail.text[0])
        fail_msg("%s: failed without a reason", what);
    if (r.seconds > time_budget())
        fail_msg("%s: took %.2f s, budget %.0f s", what, r.seconds, time_budget());
    return r;
}

static void skip_rlimit_note(void)
{
    if (UNDER_ASAN)
        print_message("  NOTE: AddressSanitizer build: RLIMIT_AS not applied (ASan reserves "
                      "terabytes of address space); errors and times still checked\n");
}

/* ============================================================ tests */

/* Headers claiming sizes over the limits: refused from the header alone,
 * inside an address space only 8 MiB larger than the child already is. */
static void test_png_huge_dimensions(void **state)
{
    (void)state;
    skip_rlimit_note();
    static const uint32_t sizes[][2] = {
        {65535, 65535}, {0x7fffffff, 1}, {1, 100000000}, {65535, 1526}, {65536, 1}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        /* Real compressed data for a small image behind the huge header. */
        blob b = png_zeros(sizes[i][0], sizes[i][1], PNG_COLOR_TYPE_RGB, 8, false,
                           png_raw_bytes(64, 64, 3, 8, false));
        run_spec s = {.input = &b, .kind = RUN_DECODE, .headroom = 8u << 20};
        char what[96];
        snprintf(what, sizeof what, "PNG %ux%u header, decode", sizes[i][0], sizes[i][1]);
        run_result r = expect(what, &s, CLIENTSCAN_E_LIMIT);
        assert_non_null(strstr(r.detail.text, "limit"));
        s.kind = RUN_HASH;
        snprintf(what, sizeof what, "PNG %ux%u header, hash", sizes[i][0], sizes[i][1]);
        expect(what, &s, CLIENTSCAN_E_LIMIT);
        free(b.data);
    }
}

/* A zlib bomb of legal size: 4096x4096 RGB of zeros (48 MiB of pixels from
 * a 0.3 MiB file), at exactly the configured pixel limit. It decodes within
 * the documented bound; one pixel less of limit and it is refused before
 * inflating anything. The same for an interlaced one (two image copies). */
static void test_png_zlib_bomb(void **state)
{
    (void)state;
    skip_rlimit_note();
    const uint32_t side = 4096;
    const uint64_t p = (uint64_t)side * side;
    for (int interlaced = 0; interlaced <= 1; interlaced++) {
        blob b = png_zeros_valid(side, side, PNG_COLOR_TYPE_RGB, 3, 8, interlaced);
        assert_true(b.len < (2u << 20));
        run_spec s = {.input = &b, .kind = RUN_DECODE, .params = {.max_pixels = p}, .headroom = decode_bound(p)};
        char what[96];
        snprintf(what, sizeof what, "PNG bomb 4096^2 RGB%s, decode", interlaced ? " interlaced" : "");
        run_result r = expect(what, &s, CLIENTSCAN_OK);
        assert_int_equal(r.width, side);
        assert_true(r.peak_mib * MIB <= (double)decode_bound(p));
        s.kind = RUN_HASH;
        s.headroom = hash_bound(p);
        snprintf(what, sizeof what, "PNG bomb 4096^2 RGB%s, hash", interlaced ? " interlaced" : "");
        r = expect(what, &s, CLIENTSCAN_OK);
        assert_true(r.peak_mib * MIB <= (double)hash_bound(p));
        if (!interlaced) /* streaming: far below one copy of the pixels */
            assert_true(r.peak_mib * MIB < (double)p);
        /* Limit one pixel lower: refused from the header, no inflating. */
        s.params.max_pixels = p - 1;
        s.headroom = 8u << 20;
        snprintf(what, sizeof what, "PNG bomb 4096^2 RGB%s, limit P-1", interlaced ? " interlaced" : "");
        r = expect(what, &s, CLIENTSCAN_E_LIMIT);
        assert_true(r.seconds < 0.5);
        free(b.data);
    }
}

/* A 64x64 image whose zlib stream goes on for 256 MiB of zeros after the
 * last row (1.6 MiB of file): stopped after 16 KiB of surplus, not inflated
 * to the end. */
static void test_png_surplus_idat(void **state)
{
    (void)state;
    blob b = png_zeros(64, 64, PNG_COLOR_TYPE_RGB, 8, false,
                       png_raw_bytes(64, 64, 3, 8, false) + (256ull << 20));
    run_spec s = {.input = &b, .kind = RUN_HASH, .headroom = 16u << 20};
    run_result r = expect("PNG 64x64 + 256 MiB surplus IDAT, hash", &s, CLIENTSCAN_E_CORRUPT);
    assert_true(r.seconds < 1.0);
    s.kind = RUN_DECODE;
    expect("PNG 64x64 + 256 MiB surplus IDAT, decode", &s, CLIENTSCAN_E_CORRUPT);
    free(b.data);
}

/* Progressive JPEG headers claiming 65535x65535: refused before libjpeg
 * allocates its coefficient buffer. If a caller lifts the pixel limit, the
 * buffer no longer fits the address space: clean NOMEM or LIMIT from
 * libjpeg's allocator, never a crash. */
static void test_jpeg_huge_sof(void **state)
{
    (void)state;
    skip_rlimit_note();
    size_t len;
    uint8_t *j = ts_jpeg_encode(64, 64, 3, 80, true, 0, false, &len);
    ts_jpeg_set_size(j, len, 65535, 65535);
    blob b = {j, len};
    size_t len2;
    uint8_t *j2 = ts_jpeg_encode(64, 64, 3, 80, true, 0, false, &len2);
    ts_jpeg_set_size(j2, len2, 60000, 60000); /* under libjpeg's own 65500 cap */
    blob b2 = {j2, len2};
    run_spec s = {.input = &b, .kind = RUN_DECODE, .headroom = 8u << 20};
    run_result r = expect("JPEG progressive 65535^2 SOF, decode", &s, CLIENTSCAN_E_LIMIT);
    s.kind = RUN_HASH;
    expect("JPEG progressive 65535^2 SOF, hash", &s, CLIENTSCAN_E_LIMIT);
    if (!UNDER_ASAN) {
        /* Limits lifted by the caller: 3.6 G pixels allowed, 256 MiB of
         * address space for a 10 GiB coefficient buffer. */
        s.input = &b2;
        s.params.max_pixels = UINT64_MAX / 16;
        s.headroom = 256u << 20;
        r = run(&s);
        if (r.signal)
            fail_msg("lifted limit: child killed by signal %d", r.signal);
        report("JPEG 60000^2, pixel limit lifted", &s, &r);
        assert_true(r.rc == CLIENTSCAN_E_NOMEM || r.rc == CLIENTSCAN_E_LIMIT);
        assert_true(r.detail.text[0] != 0);
    }
    free(j);
    free(j2);
}

/* Scans: 100 are decoded (the cap), 101 and more are refused as soon as
 * scan 101 starts; a 128-scan file is a valid JPEG that libjpeg would
 * otherwise decode. Also checks the time of 100 full passes. */
static void test_jpeg_many_scans(void **state)
{
    (void)state;
    jpeg_scan_info scans[128];
    int n100 = grey_scan_script(scans, 100);
    assert_int_equal(n100, 100);
    blob ok = jpeg_make(1024, 1024, 1, scans, n100);
    run_spec s = {.input = &ok, .kind = RUN_HASH, .headroom = hash_bound(1024 * 1024)};
    expect("JPEG 1024^2 grey, 100 scans, hash", &s, CLIENTSCAN_OK);
    int n128 = grey_scan_script(scans, 127);
    assert_int_equal(n128, 127);
    blob many = jpeg_make(1024, 1024, 1, scans, n128);
    s.input = &many;
    run_result r = expect("JPEG 1024^2 grey, 127 scans, hash", &s, CLIENTSCAN_E_LIMIT);
    assert_non_null(strstr(r.detail.text, "scans"));
    s.kind = RUN_DECODE;
    expect("JPEG 1024^2 grey, 127 scans, decode", &s, CLIENTSCAN_E_LIMIT);
    free(ok.data);
    free(many.data);
}

/* A progressive 4:4:4 colour JPEG at the pixel limit: libjpeg holds every
 * coefficient (6 bytes per pixel) while the pixels are written; both fit
 * the documented bound. */
static void test_jpeg_progressive_at_limit(void **state)
{
    (void)state;
    skip_rlimit_note();
    const uint32_t w = 2048, h = 1536;
    const uint64_t p = (uint64_t)w * h;
    int nscans;
    jpeg_scan_info *script = simple_progression(3, &nscans);
    blob b = jpeg_make(w, h, 3, script, nscans);
    run_spec s = {.input = &b, .kind = RUN_DECODE, .params = {.max_pixels = p}, .headroom = decode_bound(p)};
    run_result r = expect("JPEG progressive 2048x1536 4:4:4, decode", &s, CLIENTSCAN_OK);
    assert_true(r.peak_mib * MIB <= (double)decode_bound(p));
    assert_true(r.peak_mib * MIB >= 3.0 * (double)p); /* the pixels alone */
    s.kind = RUN_HASH;
    s.headroom = hash_bound(p);
    r = expect("JPEG progressive 2048x1536 4:4:4, hash", &s, CLIENTSCAN_OK);
    assert_true(r.peak_mib * MIB <= (double)hash_bound(p));
    s.params.max_pixels = p - 1;
    s.headroom = 8u << 20;
    expect("JPEG progressive 2048x1536 4:4:4, limit P-1", &s, CLIENTSCAN_E_LIMIT);
    free(script);
    free(b.data);
}

/* Too little address space at every step from 16 KiB up to what the decode
 * needs: each run ends with OK or a clean NOMEM/LIMIT, with a reason; the
 * failures inside libpng and libjpeg's own allocators included. */
static void test_out_of_address_space(void **state)
{
    (void)state;
    if (UNDER_ASAN) {
        print_message("  SKIPPED under AddressSanitizer: RLIMIT_AS cannot be applied\n");
        skip();
    }
    size_t len;
    blob inputs[3];
    inputs[0] = png_zeros_valid(1024, 1024, PNG_COLOR_TYPE_RGB_ALPHA, 4, 16, true);
    inputs[1].data = ts_jpeg_encode(1024, 768, 3, 90, true, 0, false, &len);
    inputs[1].len = len;
    inputs[2].data = ts_jpeg_encode(512, 512, 4, 90, true, 0, false, &len);
    inputs[2].len = len;
    const char *names[3] = {"PNG 1024^2 RGBA16 interlaced", "JPEG 1024x768 progressive",
                            "JPEG 512^2 CMYK progressive"};
    for (int i = 0; i < 3; i++) {
        for (int kind = RUN_DECODE; kind <= RUN_HASH; kind++) {
            int fails = 0, first_ok = -1;
            for (size_t kib = 16; kib <= (64u << 10); kib *= 2) {
                run_spec s = {.input = &inputs[i], .kind = (run_kind)kind, .headroom = kib << 10};
                run_result r = run(&s);
                if (r.signal)
                    fail_msg("%s with %zu KiB: child killed by signal %d", names[i], kib, r.signal);
                if (r.rc == CLIENTSCAN_OK) {
                    if (first_ok < 0)
                        first_ok = (int)kib;
                    continue;
                }
                fails++;
                if (r.rc != CLIENTSCAN_E_NOMEM && r.rc != CLIENTSCAN_E_LIMIT)
                    fail_msg("%s with %zu KiB of address space: rc %d (%s) \"%s\", expected "
                             "NOMEM or LIMIT", names[i], kib, r.rc, clientscan_strerror(r.rc),
                             r.detail.text);
                assert_true(r.detail.text[0] != 0);
                if (getenv("CLIENTSCAN_VERBOSE"))
                    print_message("    %zu KiB: %s\n", kib, r.detail.text);
            }
            print_message("  %-30s %s: %d clean out-of-memory failures, fits in %d KiB\n",
                          names[i], kind == RUN_DECODE ? "decode" : "hash  ", fails, first_ok);
            assert_true(fails > 0);   /* the small headrooms did fail */
            assert_true(first_ok > 0); /* and enough of it works */
        }
        free(inputs[i].data);
    }
}

/* The worst cases at the default limits (100 megapixels): minutes of
 * encoding and gigabytes of memory, so only on request:
 *   CLIENTSCAN_LIMITS_FULL=1 build/tests/test_limits
 * docs/robustness.md records what it printed. */
static void test_worst_cases_at_default_limits(void **state)
{
    (void)state;
    if (!getenv("CLIENTSCAN_LIMITS_FULL")) {
        print_message("  SKIPPED: set CLIENTSCAN_LIMITS_FULL=1 for the 100-megapixel worst cases\n");
        skip();
    }
    const uint64_t p = CLIENTSCAN_DEFAULT_MAX_PIXELS;
    const uint32_t side = 10000;
    for (int interlaced = 0; interlaced <= 1; interlaced++) {
        blob b = png_zeros_valid(side, side, PNG_COLOR_TYPE_RGB, 3, 8, interlaced);
        char what[96];
        for (int kind = RUN_DECODE; kind <= RUN_HASH; kind++) {
            run_spec s = {.input = &b, .kind = (run_kind)kind,
                          .headroom = kind == RUN_DECODE ? decode_bound(p) : hash_bound(p)};
            snprintf(what, sizeof what, "PNG 10000^2 RGB zeros%s (%.1f MiB), %s",
                     interlaced ? " interlaced" : "", (double)b.len / MIB,
                     kind == RUN_DECODE ? "decode" : "hash");
            run_result r = run(&s);
            report(what, &s, &r);
            assert_int_equal(r.signal, 0);
            assert_int_equal(r.rc, CLIENTSCAN_OK);
        }
        free(b.data);
    }
    jpeg_scan_info scans[128];
    int n = grey_scan_script(scans, 100);
    int cmyk_n;
    jpeg_scan_info *cmyk_script = simple_progression(4, &cmyk_n);
    blob jpegs[2] = {jpeg_make(side, side, 1, scans, n), jpeg_make(side, side, 4, cmyk_script, cmyk_n)};
    const char *names[2] = {"grey, 100 scans", "CMYK 4:4:4 progressive"};
    for (int i = 0; i < 2; i++) {
        for (int kind = RUN_DECODE; kind <= RUN_HASH; kind++) {
            run_spec s = {.input = &jpegs[i], .kind = (run_kind)kind,
                          .headroom = kind == RUN_DECODE ? decode_bound(p) : hash_bound(p)};
            char what[96];
            snprintf(what, sizeof what, "JPEG 10000^2 %s (%.1f MiB), %s", names[i],
                     (double)jpegs[i].len / MIB, kind == RUN_DECODE ? "decode" : "hash");
            run_result r = run(&s);
            report(what, &s, &r);
            assert_int_equal(r.signal, 0);
            assert_int_equal(r.rc, CLIENTSCAN_OK);
        }
        free(jpegs[i].data);
    }
    free(cmyk_script);
}

static int setup(void **state)
{
    (void)state;
    scratch_dir = ts_tempdir();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ts_rmtree(scratch_dir);
    free(scratch_dir);
    return 0;
}

/* Every allocation on the decode path fails in turn, the codecs' own
 * included (libpng, zlib, libjpeg allocate with plain malloc, which the
 * fault-injection test cannot reach): the child fills its address space
 * with ballast and frees `spare` bytes, for spare = 4 KiB, 8 KiB, ... until
 * the decode fits. Every run before that must end in a clean NOMEM. */
static void test_out_of_memory_in_codecs(void **state)
{
    (void)state;
    if (UNDER_ASAN) {
        print_message("  SKIPPED under AddressSanitizer: RLIMIT_AS cannot be applied\n");
        skip();
    }
    size_t len;
    blob inputs[5];
    inputs[0] = png_zeros_valid(64, 64, PNG_COLOR_TYPE_RGB_ALPHA, 4, 16, true);
    inputs[1].data = ts_png_encode(64, 64, PNG_COLOR_TYPE_PALETTE, 8, 0, &len);
    inputs[1].len = len;
    inputs[2].data = ts_jpeg_encode(64, 64, 3, 90, false, 6, true, &len);
    inputs[2].len = len;
    inputs[3].data = ts_jpeg_encode(64, 64, 3, 90, true, 0, false, &len);
    inputs[3].len = len;
    inputs[4].data = ts_jpeg_encode(64, 64, 4, 90, true, 0, false, &len);
    inputs[4].len = len;
    const char *names[5] = {"PNG 64^2 RGBA16 interlaced", "PNG 64^2 palette", "JPEG 64^2 EXIF",
                            "JPEG 64^2 progressive", "JPEG 64^2 CMYK progressive"};
    for (int i = 0; i < 5; i++) {
        for (int kind = RUN_DECODE; kind <= RUN_HASH; kind++) {
            int fails = 0;
            long fit = -1;
            for (long spare = 1; spare <= (2l << 20) && fit < 0; spare += 4096) {
                run_spec s = {.input = &inputs[i], .kind = (run_kind)kind, .headroom = 2u << 20, .spare = spare};
                run_result r = run(&s);
                if (r.signal)
                    fail_msg("%s, %ld bytes spare: child killed by signal %d", names[i], spare,
                             r.signal);
                if (!r.limited) {
                    print_message("  SKIPPED: RLIMIT_AS could not be set\n");
                    skip();
                }
                if (r.rc == CLIENTSCAN_OK) {
                    fit = spare;
                    break;
                }
                fails++;
                if (r.rc != CLIENTSCAN_E_NOMEM)
                    fail_msg("%s with %ld bytes spare: rc %d (%s) \"%s\", expected NOMEM",
                             names[i], spare, r.rc, clientscan_strerror(r.rc), r.detail.text);
                if (getenv("CLIENTSCAN_VERBOSE"))
                    print_message("    %ld: %s\n", spare, r.detail.text);
            }
            print_message("  %-28s %s: %2d clean NOMEM runs, fits with %ld KiB spare\n", names[i],
                          kind == RUN_DECODE ? "decode" : "hash  ", fails, fit / 1024);
            assert_true(fit > 0);
        }
        free(inputs[i].data);
    }
}

int main(int argc, char **argv)
{
    if (argc == 7 && strcmp(argv[1], "--child") == 0)
        return child_main(argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_png_huge_dimensions),
        cmocka_unit_test(test_png_zlib_bomb),
        cmocka_unit_test(test_png_surplus_idat),
        cmocka_unit_test(test_jpeg_huge_sof),
        cmocka_unit_test(test_jpeg_many_scans),
        cmocka_unit_test(test_jpeg_progressive_at_limit),
        cmocka_unit_test(test_out_of_address_space),
        cmocka_unit_test(test_out_of_memory_in_codecs),
        cmocka_unit_test(test_worst_cases_at_default_limits),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
