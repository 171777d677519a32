/* bench_hash — how much hashing costs next to decoding (make bench-hash).
 *
 * For each image class it measures, in one run on one machine:
 *   djpeg      libjpeg-turbo's own command-line decoder (full size, and at the
 *              DCT scale fast mode picks), as an external process
 *   CLI        `clientscan hash FILE` (exact; on two or more CPUs decode and hash
 *              overlap on two threads), `-j 1` (one thread) and `--fast`, same way
 *   decode     our in-process decode only (libjpeg-turbo / libpng)
 *   hash       the PDQ stage alone on already decoded pixels (read from memory)
 *   streamed   the PDQ stage as the product runs it, rows handed over hot from
 *              the decoder: in-process decode + hash minus in-process
 *              streaming decode to a sink that drops the rows (CPU time; the
 *              two alternate, and the median of the paired differences is
 *              reported)
 *   exact/fast decode + hash in-process (one thread; and exact pipelined)
 *   djpeg 1/8  djpeg at 1/8 scale: entropy decoding plus fixed costs, the
 *              floor no DCT scaling goes below
 *   img/s      exact and fast throughput with 1 and 2 threads, alternating
 *              rounds, and the median ratio of the rounds
 *   peak RSS   of the `clientscan hash` process (exact, fast)
 *   width      the PDQ stage's CPU per pixel on rows 4096 vs 4032 and 2048 vs
 *              2016 pixels wide (made from the first image): should be ~1x
 * Times are medians of repeated runs. Ratios are against djpeg measured in
 * the same run, never against a stored number.
 */
#define _GNU_SOURCE
#include "clientscan.h"
#include "decode.h" /* the library's row-streaming decoder, for the decode-only baseline */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;


typedef struct {
    const char *label;
    const char *relpath; /* under the vectors' images/ directory */
} image_class;

static const image_class classes[] = {
    {"12 MP JPEG", "reg-test-input/exif-rotn/exif-rotn-1.jpg"},
    {"1.6 MP JPEG", "misc-images/modes/RGB.jpg"},
    {"1.2 MP PNG", "misc-images/c.png"},
    {"256 px JPEG", "reg-test-input/labelme-subset/q0122.jpg"},
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Runs argv with stdout to /dev/null; returns wall seconds, or -1. */
static double run_process(char *const argv[], long *maxrss_kb, double *cpu)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    double t0 = now();
    pid_t pid;
    if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return -1;
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return -1;
    }
    double t = now() - t0;
    posix_spawn_file_actions_destroy(&fa);
    if (maxrss_kb)
        *maxrss_kb = ru.ru_maxrss;
    if (cpu)
        *cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
               (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
    return t;
}

/* Median wall time; *cpu_out (if given) the median user+system CPU time. */
static double time_process(char *const argv[], int reps, double *cpu_out)
{
    double t[64], cpu[64];
    for (int i = 0; i < reps; i++)
        if ((t[i] = run_process(argv, NULL, &cpu[i])) < 0)
            return -1;
    if (cpu_out)
        *cpu_out = median(cpu, reps);
    return median(t, reps);
}

typedef struct {
    const uint8_t *data;
    size_t len;
    uint32_t min_side; /* 0 = exact */
    int iterations;
    int pipeline;      /* decode and hash on two threads */
} work;

/* Decode + hash the way the CLI and the scanner do: streaming, no image buffer. */
static int hash_bytes(const work *w, clientscan_pdq_result *res)
{
    clientscan_hash_params p = {.decode.jpeg_min_side = w->min_side, .pipeline = w->pipeline};
    clientscan_detail d;
    int rc = clientscan_hash_memory(w->data, w->len, &p, res, NULL, &d);
    if (rc != CLIENTSCAN_OK)
        fprintf(stderr, "bench_hash: %s\n", d.text);
    return rc;
}

static void *worker(void *arg)
{
    const work *w = arg;
    clientscan_pdq_result r;
    for (int i = 0; i < w->iterations; i++)
        if (hash_bytes(w, &r) != CLIENTSCAN_OK)
            exit(1);
    return NULL;
}

static double images_per_second(const work *w, int threads)
{
    pthread_t t[2];
    double t0 = now();
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, worker, (void *)w);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    return threads * w->iterations / (now() - t0);
}

#define THROUGHPUT_ROUNDS 5

/* Images/s with one and two threads, measured in alternating rounds so that
 * a neighbour's burst falls on both: medians of each, and the median of the
 * rounds' two-to-one ratios (range in ratio_range). */
static void throughput(const work *w, double *one, double *two, double *ratio,
                       double ratio_range[2])
{
    double r1[THROUGHPUT_ROUNDS], r2[THROUGHPUT_ROUNDS], q[THROUGHPUT_ROUNDS];
    for (int i = 0; i < THROUGHPUT_ROUNDS; i++) {
        r1[i] = images_per_second(w, 1);
        r2[i] = images_per_second(w, 2);
        q[i] = r2[i] / r1[i];
    }
    *one = median(r1, THROUGHPUT_ROUNDS);
    *two = median(r2, THROUGHPUT_ROUNDS);
    *ratio = median(q, THROUGHPUT_ROUNDS); /* sorts q */
    ratio_range[0] = q[0];
    ratio_range[1] = q[THROUGHPUT_ROUNDS - 1];
}

/* CPU time of the calling thread: on a shared machine wall time includes
 * waiting for a core, CPU time does not. */
static double thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Median wall time; *cpu_out (if not NULL) gets the median CPU time of the
 * calling thread in the same runs. */
static double time_in_process(const work *w, int reps, bool hash_only, double *cpu_out)
{
    double t[64], cpu[64];
    clientscan_image img = {0};
    if (hash_only) {
        clientscan_decode_params p = {.jpeg_min_side = w->min_side};
        if (clientscan_decode_memory(w->data, w->len, &p, &img, NULL) != CLIENTSCAN_OK)
            return -1;
    }
    for (int i = 0; i < reps; i++) {
        clientscan_pdq_result r;
        double c0 = thread_cpu(), t0 = now();
        if (hash_only)
            clientscan_pdq_hash_image(&img, CLIENTSCAN_PDQ_MODE_FULL, 0, &r, NULL);
        else if (hash_bytes(w, &r) != CLIENTSCAN_OK)
            return -1;
        t[i] = now() - t0;
        cpu[i] = thread_cpu() - c0;
    }
    clientscan_image_release(&img);
    if (cpu_out)
        *cpu_out = median(cpu, reps);
    return median(t, reps);
}

static double time_decode_only(const work *w, int reps)
{
    double t[64];
    clientscan_decode_params p = {.jpeg_min_side = w->min_side};
    for (int i = 0; i < reps; i++) {
        clientscan_image img;
        double t0 = now();
        if (clientscan_decode_memory(w->data, w->len, &p, &img, NULL) != CLIENTSCAN_OK)
            return -1;
        t[i] = now() - t0;
        clientscan_image_release(&img);
    }
    return median(t, reps);
}

/* A sink that takes each decoded row and drops it: the decoder's own cost
 * when it streams rows (hashing adds its work on top of exactly this). Its
 * row is laid out as the hashing sink's (cs_stream_rows_alloc), so the
 * decoder writes it the same way. */
typedef struct {
    uint8_t *row;
    void *mem;
} drop_sink;

static int drop_begin(void *ctx, const cs_header *hdr, clientscan_detail *detail)
{
    drop_sink *s = ctx;
    s->row = cs_stream_rows_alloc(1, (size_t)hdr->width * hdr->channels, NULL, &s->mem);
    return s->row ? CLIENTSCAN_OK : cs_fail(detail, CLIENTSCAN_E_NOMEM, "no row");
}

static uint8_t *drop_row_buffer(void *ctx, uint32_t y)
{
    (void)y;
    return ((drop_sink *)ctx)->row;
}

static int drop_row_done(void *ctx, uint32_t y)
{
    (void)ctx, (void)y;
    return CLIENTSCAN_OK;
}

/* The hash stage as a client runs it, in CPU time of the calling thread:
 * streaming decode + hash minus the same streaming decode with the rows
 * dropped, the two run alternately; returns the median of the paired
 * differences (neighbours' load moves both runs of a pair alike), their
 * quartiles in spread[0] and spread[1] (how far one run can be trusted),
 * and the two series' medians in *decode_cpu and *both_cpu. */
static double time_streamed_stage_cpu(const work *w, int reps, double *decode_cpu,
                                      double *both_cpu, double spread[2])
{
    double dec[64], both[64], diff[64];
    clientscan_decode_params p = {.jpeg_min_side = w->min_side};
    for (int i = 0; i < reps; i++) {
        drop_sink s = {0};
        cs_row_sink sink = {drop_begin, drop_row_buffer, drop_row_done, &s};
        double c0 = thread_cpu();
        int rc = cs_decode_rows(w->data, w->len, &p, &sink, NULL);
        dec[i] = thread_cpu() - c0;
        free(s.mem);
        clientscan_pdq_result r;
        c0 = thread_cpu();
        if (rc != CLIENTSCAN_OK || hash_bytes(w, &r) != CLIENTSCAN_OK)
            return -1;
        both[i] = thread_cpu() - c0;
        diff[i] = both[i] - dec[i];
    }
    *decode_cpu = median(dec, reps);
    *both_cpu = median(both, reps);
    const double mid = median(diff, reps); /* sorts diff */
    spread[0] = diff[reps / 4];
    spread[1] = diff[(3 * reps) / 4];
    return mid;
}

/* Least CPU time per pixel, over reps runs, of the PDQ stage on rows
 * `width` pixels wide made from img's rows (cut, or extended by repeating
 * their start). The least, not the median: the ratios between widths are
 * what matters, and neighbours' load only ever adds time. */
static double hash_ns_per_px(const clientscan_image *img, uint32_t width, int reps)
{
    const size_t row_bytes = (size_t)width * 3;
    uint8_t *rows = malloc(row_bytes * img->height);
    if (!rows)
        return -1;
    for (uint32_t y = 0; y < img->height; y++)
        for (size_t i = 0; i < row_bytes; i++)
            rows[y * row_bytes + i] = img->pixels[y * img->stride + i % ((size_t)img->width * 3)];
    double best = -1;
    for (int i = 0; i < reps; i++) {
        clientscan_pdq_hasher *h;
        clientscan_pdq_result r;
        double c0 = thread_cpu();
        if (clientscan_pdq_hasher_new(width, img->height, &h, NULL) != CLIENTSCAN_OK) {
            free(rows);
            return -1;
        }
        for (uint32_t y = 0; y < img->height; y++)
            clientscan_pdq_hasher_push(h, rows + y * row_bytes, 3);
        clientscan_pdq_hasher_finish(h, 0, &r, NULL);
        clientscan_pdq_hasher_free(h);
        const double ns = (thread_cpu() - c0) * 1e9 / ((double)width * img->height);
        best = best < 0 || ns < best ? ns : best;
    }
    free(rows);
    return best;
}

/* The hash stage's cost per pixel should not depend on the width: rows a
 * multiple of 4 KB apart once shared L1 sets and hashed 2.3x slower. */
static void width_sensitivity(const char *path, int reps)
{
    clientscan_image img;
    if (clientscan_decode_file(path, NULL, &img, NULL) != CLIENTSCAN_OK) {
        printf("width sensitivity skipped: cannot decode %s\n", path);
        return;
    }
    const uint32_t widths[] = {img.width, 4096, 2016, 2048};
    double ns[4];
    for (int i = 0; i < 4; i++)
        ns[i] = hash_ns_per_px(&img, widths[i], reps);
    printf("\nwidth sensitivity: hash stage CPU ns/px (best of %d), rows made from the first "
           "image's (%u rows): %u px %.2f vs %u px %.2f (%.2fx); "
           "%u px %.2f vs %u px %.2f (%.2fx)\n",
           reps, img.height, widths[1], ns[1], widths[0], ns[0], ns[1] / ns[0], widths[3], ns[3],
           widths[2], ns[2], ns[3] / ns[2]);
    clientscan_image_release(&img);
}

static void usage(void)
{
    printf("usage: bench_hash [--vectors DIR] [--cli PATH] [--reps N]\n"
           "Times decoding vs PDQ hashing per image class (see the source's header).\n"
           "DIR defaults to ../shared/pdq-vectors, PATH to build/clientscan.\n");
}

int main(int argc, char **argv)
{
    const char *vectors = getenv("CLIENTSCAN_VECTORS");
    const char *cli = "build/clientscan";
    int reps = 9;
    if (!vectors || !*vectors)
        vectors = "../shared/pdq-vectors";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--vectors") == 0 && i + 1 < argc)
            vectors = argv[++i];
        else if (strcmp(argv[i], "--cli") == 0 && i + 1 < argc)
            cli = argv[++i];
        else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            reps = atoi(argv[++i]);
        else {
            usage();
            return strcmp(argv[i], "--help") == 0 ? 0 : 2;
        }
    }
    if (reps < 1 || reps > 64) {
        fprintf(stderr, "bench_hash: --reps must be 1..64\n");
        return 2;
    }
    if (run_process((char *[]){"djpeg", "-version", NULL}, NULL, NULL) < 0)
        fprintf(stderr, "bench_hash: djpeg not found (apt-get install libjpeg-turbo-progs); "
                        "JPEG baselines omitted\n");
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    printf("bench_hash: median of %d runs; %ld CPUs; times in ms\n\n", reps, cpus);
    printf("%-12s %9s %6s | %7s %7s %7s %7s %7s | %7s %7s %7s %7s %7s | %6s %6s %6s %6s | %7s %7s | "
           "%6s %6s %6s\n",
           "class", "size", "scale", "djpeg", "cli", "decode", "hash", "hashcpu", "exact", "excpu",
           "djpeg/s", "fast", "cli-f", "ex1t/s", "ex2t/s", "fa1t/s", "fa2t/s", "rssEx", "rssFa", "hash%", "cli/dj",
           "fast/dj");
    /* Peak RSS of the CLI first, while this process is still small: a
     * spawned child's high-water mark starts from its parent's resident size
     * (and thread arenas are not returned once used). */
    enum { NCLASSES = sizeof classes / sizeof classes[0] };
    long rss[NCLASSES][2];
    for (size_t c = 0; c < NCLASSES; c++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/images/%s", vectors, classes[c].relpath);
        rss[c][0] = rss[c][1] = -1;
        run_process((char *[]){(char *)cli, "hash", path, NULL}, &rss[c][0], NULL);
        run_process((char *[]){(char *)cli, "hash", "--fast", path, NULL}, &rss[c][1], NULL);
    }
    int measured = 0;
    for (size_t c = 0; c < NCLASSES; c++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/images/%s", vectors, classes[c].relpath);
        long rss_exact = rss[c][0], rss_fast = rss[c][1];
        FILE *f = fopen(path, "rb");
        if (!f) {
            printf("%-12s skipped: %s: %s\n", classes[c].label, path, strerror(errno));
            continue;
        }
        fseek(f, 0, SEEK_END);
        long flen = ftell(f);
        rewind(f);
        uint8_t *data = flen > 0 ? malloc((size_t)flen) : NULL;
        size_t len = data ? fread(data, 1, (size_t)flen, f) : 0;
        fclose(f);
        if (!data || len != (size_t)flen) {
            printf("%-12s skipped: cannot read %s\n", classes[c].label, path);
            free(data);
            continue;
        }

        work exact = {data, len, 0, 0, 0}, fast = {data, len, CLIENTSCAN_FAST_MIN_SIDE, 0, 0};
        work piped = {data, len, 0, 0, 1};
        clientscan_image probe_full, probe_fast;
        clientscan_decode_params pf = {.jpeg_min_side = CLIENTSCAN_FAST_MIN_SIDE};
        if (clientscan_decode_memory(data, len, NULL, &probe_full, NULL) != CLIENTSCAN_OK ||
            clientscan_decode_memory(data, len, &pf, &probe_fast, NULL) != CLIENTSCAN_OK) {
            printf("%-12s skipped: cannot decode %s\n", classes[c].label, path);
            free(data);
            continue;
        }
        bool is_jpeg = probe_full.format == CLIENTSCAN_FORMAT_JPEG;
        int scale8 = (int)((probe_fast.width * 8 + probe_full.width - 1) / probe_full.width);
        char size[32], scale[16], scale_arg[16];
        snprintf(size, sizeof size, "%ux%u", probe_full.width, probe_full.height);
        snprintf(scale, sizeof scale, "%d/8", scale8);
        snprintf(scale_arg, sizeof scale_arg, "%d/8", scale8);
        clientscan_image_release(&probe_full);
        clientscan_image_release(&probe_fast);

        double djpeg = -1, djpeg_s = -1, djpeg_cpu = -1, cli_cpu = -1, djpeg_8 = -1;
        if (is_jpeg) {
            djpeg_8 = time_process(
                (char *[]){"djpeg", "-scale", "1/8", "-outfile", "/dev/null", path, NULL}, reps,
                NULL);
            djpeg = time_process((char *[]){"djpeg", "-outfile", "/dev/null", path, NULL}, reps,
                                 &djpeg_cpu);
            djpeg_s = time_process(
                (char *[]){"djpeg", "-scale", scale_arg, "-outfile", "/dev/null", path, NULL}, reps,
                NULL);
        }
        double cli_exact = time_process((char *[]){(char *)cli, "hash", path, NULL}, reps, &cli_cpu);
        double cli_one_cpu;
        double cli_one = time_process((char *[]){(char *)cli, "hash", "-j", "1", path, NULL}, reps,
                                      &cli_one_cpu);
        double cli_fast =
            time_process((char *[]){(char *)cli, "hash", "--fast", path, NULL}, reps, NULL);
        double decode = time_decode_only(&exact, reps);
        double hash_cpu, exact_cpu, fast_cpu;
        double hash = time_in_process(&exact, reps, true, &hash_cpu);
        double e2e_exact = time_in_process(&exact, reps, false, &exact_cpu);
        double e2e_fast = time_in_process(&fast, reps, false, &fast_cpu);
        double streamed_decode_cpu = -1, streamed_both_cpu = -1, streamed_spread[2] = {-1, -1};
        double streamed_stage = time_streamed_stage_cpu(&exact, reps, &streamed_decode_cpu,
                                                        &streamed_both_cpu, streamed_spread);
        /* wall only: the calling thread's CPU time misses the hashing thread */
        double e2e_piped = time_in_process(&piped, reps, false, NULL);
        /* about 0.15 s of work per round and thread */
        exact.iterations = e2e_exact > 0 ? (int)(0.15 / e2e_exact) + 1 : 1;
        fast.iterations = e2e_fast > 0 ? (int)(0.15 / e2e_fast) + 1 : 1;
        double ex1, ex2, ex_ratio, ex_range[2], fa1, fa2, fa_ratio, fa_range[2];
        throughput(&exact, &ex1, &ex2, &ex_ratio, ex_range);
        throughput(&fast, &fa1, &fa2, &fa_ratio, fa_range);

        double base = is_jpeg ? djpeg : decode;
        char dj[16] = "-", djs[16] = "-", fastratio[16] = "-";
        if (is_jpeg) {
            snprintf(dj, sizeof dj, "%.1f", djpeg * 1e3);
            snprintf(djs, sizeof djs, "%.1f", djpeg_s * 1e3);
            snprintf(fastratio, sizeof fastratio, "%.2f", cli_fast / djpeg_s);
        }
        printf("%-12s %9s %6s | %7s %7.1f %7.1f %7.1f %7.1f | %7.1f %7.1f %7s %7.1f %7.1f | %6.1f "
               "%6.1f %6.1f %6.1f | %6.1fM %6.1fM | %5.1f%% %6.2f %6s\n",
               classes[c].label, size, is_jpeg ? scale : "-", dj, cli_exact * 1e3,
               decode * 1e3, hash * 1e3, hash_cpu * 1e3, e2e_exact * 1e3, exact_cpu * 1e3, djs,
               e2e_fast * 1e3,
               cli_fast * 1e3, ex1, ex2, fa1, fa2, rss_exact / 1024.0,
               rss_fast / 1024.0, 100.0 * hash / base, cli_exact / base, fastratio);
        /* The same ratios in CPU time, which waiting for a busy core does not inflate. */
        if (is_jpeg) {
            printf("%-12s cpu ms: djpeg %.1f, cli %.1f (%.2fx), cli -j 1 %.1f (%.2fx), hash %.1f "
                   "(%.1f%% of djpeg), in-process exact %.1f (%.2fx), fast %.1f (%.2fx of exact)\n",
                   "", djpeg_cpu * 1e3, cli_cpu * 1e3, cli_cpu / djpeg_cpu, cli_one_cpu * 1e3,
                   cli_one_cpu / djpeg_cpu, hash_cpu * 1e3, 100.0 * hash_cpu / djpeg_cpu,
                   exact_cpu * 1e3, exact_cpu / djpeg_cpu, fast_cpu * 1e3, fast_cpu / exact_cpu);
            printf("%-12s streamed: decode only %.1f cpu ms, decode + hash %.1f => hash stage "
                   "%.1f ms (%.1f%% of djpeg; median of paired differences, quartiles %.1f-%.1f "
                   "ms)\n",
                   "", streamed_decode_cpu * 1e3, streamed_both_cpu * 1e3, streamed_stage * 1e3,
                   100.0 * streamed_stage / djpeg_cpu, streamed_spread[0] * 1e3,
                   streamed_spread[1] * 1e3);
            printf("%-12s wall ms: cli -j 1 %.1f (%.2fx djpeg), in-process pipelined %.1f "
                   "(%.2fx djpeg); djpeg -scale 1/8 %.1f (%.0f%% of the full decode)\n",
                   "", cli_one * 1e3, cli_one / djpeg, e2e_piped * 1e3, e2e_piped / djpeg,
                   djpeg_8 * 1e3, 100.0 * djpeg_8 / djpeg);
        }
        printf("%-12s images/s, 2 threads vs 1: exact %.2fx (rounds %.2f-%.2f), fast %.2fx "
               "(%.2f-%.2f); medians of %d alternating rounds\n",
               "", ex_ratio, ex_range[0], ex_range[1], fa_ratio, fa_range[0], fa_range[1],
               THROUGHPUT_ROUNDS);
        fflush(stdout);
        free(data);
        measured++;
    }
    char first[4096];
    snprintf(first, sizeof first, "%s/images/%s", vectors, classes[0].relpath);
    if (measured > 0)
        width_sensitivity(first, reps);
    printf("\ncolumns: djpeg = djpeg full decode (process); cli = `clientscan hash` exact (process,\n"
           "default --jobs: pipelined on two threads when there are two CPUs);\n"
           "decode = in-process decode; hash = PDQ stage on decoded pixels (hashcpu: its thread CPU\n"
           "time); exact/fast = in-process decode+hash (excpu: CPU time); djpeg/s = djpeg -scale at\n"
           "fast mode's scale; cli-f = `clientscan hash --fast`;\n"
           "exNt/s, faNt/s = images/s exact/fast with N threads (medians of alternating rounds);\n"
           "rss = peak RSS of the CLI process;\n"
           "hash%% = hash / djpeg (PNG: / decode); cli/dj = cli / djpeg; fast/dj = cli-f / djpeg -scale.\n"
           "cpu ms: user+system CPU time of the processes, thread CPU time in-process.\n");
    return measured > 0 ? 0 : 1;
}
