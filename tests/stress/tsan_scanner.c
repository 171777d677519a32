/* One scanner shared by 8 threads, under ThreadSanitizer (make tsan):
 *
 *   tsan_scanner [SECONDS]   (default 60; `make tsan TSAN_SECONDS=N`)
 *
 * The scanner's list is built and signed in-process with the public API
 * from the hashes of hashdb/samples/known-* and of generated images, plus
 * 5 000 random entries (so matching goes through the multi-index). The
 * inputs: every image in hashdb/samples (listed or not), generated PNGs and
 * JPEGs (grey, RGB, progressive, interlaced, mirrored copies of listed
 * ones, two large enough for the pipelined hash), and unscannable bytes
 * (truncated image, text, a GIF header).
 *
 * First every input is hashed, scanned and prepared on one thread; that is
 * the reference. Then 8 threads, each walking the inputs in its own order,
 * hash (pipelined), scan, match and prepare on the one scanner for SECONDS, and check
 * every result against the reference: the same hash, the same verdict, a
 * slot that the moderator opens to the same report, a ciphertext that
 * decrypts to the input. Any difference, or any report from ThreadSanitizer
 * (halt_on_error=1), fails the run. Run from the repository root. */
#include "clientscan.h"

#include "images.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define THREADS 8
#define MAX_INPUTS 64
#define RANDOM_ENTRIES 5000

typedef struct input {
    char name[64];
    uint8_t *data;
    size_t len;
    /* the single-threaded reference */
    int hash_rc;
    clientscan_pdq_result hash;
    clientscan_verdict verdict;
    clientscan_report_kind report_kind;
} input;

static input inputs[MAX_INPUTS];
static size_t input_count;
static clientscan_scanner *scanner;
static clientscan_secret_key *moderator;
static atomic_bool stop;
static atomic_long failures;

static _Noreturn void die(const char *what, const char *why)
{
    fprintf(stderr, "tsan_scanner: %s: %s\n", what, why);
    exit(1);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die("malloc", strerror(errno));
    return p;
}

static input *add_input(const char *name, uint8_t *data, size_t len)
{
    if (input_count == MAX_INPUTS)
        die(name, "too many inputs");
    input *in = &inputs[input_count++];
    snprintf(in->name, sizeof in->name, "%s", name);
    in->data = data;
    in->len = len;
    return in;
}

static void add_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die(path, strerror(errno));
    uint8_t *data = xmalloc(1u << 20);
    size_t len = fread(data, 1, 1u << 20, f);
    fclose(f);
    add_input(path, data, len);
}

/* ------------------------------------------------------------ generated images */

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

/* Smooth colour blobs (high PDQ quality), optionally mirrored. */
static uint8_t *render(uint32_t seed, uint32_t w, uint32_t h, bool mirror)
{
    uint8_t *rgb = xmalloc((size_t)w * h * 3);
    int bx[12], by[12], col[12][3];
    uint32_t s = seed;
    for (int i = 0; i < 12; i++) {
        bx[i] = (int)(lcg(&s) % w);
        by[i] = (int)(lcg(&s) % h);
        for (int c = 0; c < 3; c++)
            col[i][c] = (int)(lcg(&s) % 256);
    }
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            uint32_t sx = mirror ? w - 1 - x : x;
            int best = 0, bd = 1 << 30;
            for (int i = 0; i < 12; i++) {
                int dx = (int)sx - bx[i], dy = (int)y - by[i], dd = dx * dx + dy * dy;
                if (dd < bd) {
                    bd = dd;
                    best = i;
                }
            }
            for (int c = 0; c < 3; c++)
                rgb[((size_t)y * w + x) * 3 + c] =
                    (uint8_t)((col[best][c] * 3 + (int)(sx * 255 / w)) / 4);
        }
    return rgb;
}

/* The rendered image's luma, for the grey variants. */
static uint8_t *grey_of(const uint8_t *rgb, uint32_t w, uint32_t h)
{
    uint8_t *g = xmalloc((size_t)w * h);
    for (size_t i = 0; i < (size_t)w * h; i++)
        g[i] = (uint8_t)((rgb[3 * i] * 299 + rgb[3 * i + 1] * 587 + rgb[3 * i + 2] * 114) / 1000);
    return g;
}

/* rgb (or its luma) as a PNG or JPEG, through the test suite's encoders
 * (tests/support/images.c; an encoder failure ends the program). */
static void add_png(const char *name, const uint8_t *rgb, uint32_t w, uint32_t h, bool grey,
                    bool interlaced)
{
    uint8_t *g = grey ? grey_of(rgb, w, h) : NULL;
    const int components = grey ? 1 : 3;
    size_t len;
    uint8_t *png = ts_png_encode_pixels(grey ? g : rgb, (size_t)w * components, w, h, components,
                                        interlaced, &len);
    free(g);
    add_input(name, png, len);
}

static void add_jpeg(const char *name, const uint8_t *rgb, uint32_t w, uint32_t h, bool grey,
                     bool progressive)
{
    uint8_t *g = grey ? grey_of(rgb, w, h) : NULL;
    const int components = grey ? 1 : 3;
    size_t len;
    uint8_t *jpg = ts_jpeg_encode_pixels(grey ? g : rgb, (size_t)w * components, w, h, components,
                                         88, progressive, &len);
    free(g);
    add_input(name, jpg, len);
}

/* ------------------------------------------------------------ the pipeline */

static bool same_verdict(const clientscan_verdict *a, const clientscan_verdict *b)
{
    return a->kind == b->kind && a->scanned == b->scanned && a->matched == b->matched &&
           a->quality == b->quality && a->entry == b->entry &&
           memcmp(a->entry_id, b->entry_id, sizeof a->entry_id) == 0 &&
           a->distance == b->distance && a->variant == b->variant &&
           a->match_count == b->match_count && a->scan_error == b->scan_error &&
           strcmp(a->reason.text, b->reason.text) == 0 && a->format == b->format;
}

static void mismatch(const input *in, const char *what, const char *detail)
{
    atomic_fetch_add(&failures, 1);
    atomic_store(&stop, true);
    fprintf(stderr, "tsan_scanner: %s: %s differs from the single-threaded run%s%s\n", in->name,
            what, detail ? ": " : "", detail ? detail : "");
}

/* Hashes, matches, scans and prepares one input and checks every result
 * against the reference; with record set, makes the reference instead. */
static void exercise(input *in, bool record)
{
    clientscan_detail d;
    /* The threads hash pipelined (a second thread per image of 512 x 512 or
     * more) against the single-threaded reference. */
    clientscan_hash_params hp = {.dihedral = 1, .pipeline = !record};
    clientscan_pdq_result r;
    int rc = clientscan_hash_memory(in->data, in->len, &hp, &r, NULL, &d);
    if (record) {
        in->hash_rc = rc;
        in->hash = r;
    } else if (rc != in->hash_rc || (rc == CLIENTSCAN_OK && memcmp(&r, &in->hash, sizeof r) != 0)) {
        mismatch(in, "the hash", NULL);
    }

    if (rc == CLIENTSCAN_OK) {
        clientscan_match m[8];
        size_t found = 0;
        clientscan_match_params mp = CLIENTSCAN_MATCH_PARAMS_DEFAULT;
        if (clientscan_list_match(clientscan_scanner_list(scanner), &r, &mp, m, 8, &found, NULL,
                                  &d) != CLIENTSCAN_OK)
            mismatch(in, "list_match", d.text);
        else if (!record && found != in->verdict.match_count)
            mismatch(in, "the match count", NULL);
    }

    clientscan_verdict v;
    if (clientscan_scan(scanner, in->data, in->len, &v, &d) != CLIENTSCAN_OK)
        die(in->name, d.text);
    if (record)
        in->verdict = v;
    else if (!same_verdict(&v, &in->verdict))
        mismatch(in, "the verdict", NULL);

    clientscan_prepared p;
    if (clientscan_prepare_attachment(scanner, in->data, in->len, &p, &d) != CLIENTSCAN_OK)
        die(in->name, d.text);
    if (!same_verdict(&p.verdict, &in->verdict))
        mismatch(in, "the prepared verdict", NULL);
    clientscan_report rep;
    if (clientscan_open_report(moderator, p.slot, sizeof p.slot, &rep, &d) != CLIENTSCAN_OK) {
        mismatch(in, "the report slot", d.text);
    } else {
        if (record)
            in->report_kind = rep.kind;
        else if (rep.kind != in->report_kind)
            mismatch(in, "the report kind", NULL);
        if (rep.kind == CLIENTSCAN_REPORT_MATCH &&
            (memcmp(rep.entry_id, in->verdict.entry_id, sizeof rep.entry_id) != 0 ||
             rep.distance != in->verdict.distance || rep.variant != in->verdict.variant ||
             memcmp(rep.ciphertext_digest, p.ciphertext_digest, sizeof rep.ciphertext_digest) != 0))
            mismatch(in, "the match report", NULL);
        clientscan_report_release(&rep);
    }
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    if (clientscan_open_attachment(p.key, p.ciphertext, p.ciphertext_len, &plain, &plain_len,
                                   &d) != CLIENTSCAN_OK)
        mismatch(in, "the ciphertext", d.text);
    else if (plain_len != in->len || memcmp(plain, in->data, plain_len) != 0)
        mismatch(in, "the decrypted attachment", NULL);
    free(plain);
    clientscan_prepared_release(&p);
}

typedef struct worker {
    unsigned id;
    long rounds;
} worker;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *work(void *arg)
{
    worker *w = arg;
    uint32_t s = 0x1234567u * (w->id + 1);
    while (!atomic_load(&stop)) {
        /* Each thread its own pseudo-random order, so different inputs
         * are in flight together. */
        size_t i = lcg(&s) % input_count;
        exercise(&inputs[i], false);
        w->rounds++;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 60.0;
    if (seconds <= 0)
        die("usage", "tsan_scanner [SECONDS > 0]");
    if (clientscan_init() != CLIENTSCAN_OK)
        die("clientscan_init", "failed");

    static const char *const samples[] = {
        "hashdb/samples/known-1.jpg", "hashdb/samples/known-2.jpg", "hashdb/samples/known-3.png",
        "hashdb/samples/known-4.jpg", "hashdb/samples/other-1.jpg", "hashdb/samples/other-2.png"};
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++)
        add_file(samples[i]);
    const size_t listed_samples = 4; /* known-1..4 */
    size_t first_generated = input_count;
    for (uint32_t seed = 1; seed <= 3; seed++) {
        const uint32_t w = 320, h = 240;
        uint8_t *rgb = render(seed, w, h, false), *mirrored = render(seed, w, h, true);
        char name[64];
        snprintf(name, sizeof name, "generated-%u.png", seed);
        add_png(name, rgb, w, h, false, false);
        snprintf(name, sizeof name, "generated-%u-mirrored.png", seed);
        add_png(name, mirrored, w, h, false, false);
        snprintf(name, sizeof name, "generated-%u-interlaced-grey.png", seed);
        add_png(name, rgb, w, h, true, true);
        snprintf(name, sizeof name, "generated-%u.jpg", seed);
        add_jpeg(name, rgb, w, h, false, false);
        snprintf(name, sizeof name, "generated-%u-progressive-grey.jpg", seed);
        add_jpeg(name, rgb, w, h, true, true);
        free(rgb);
        free(mirrored);
    }
    { /* large enough for the decode/hash pipeline */
        const uint32_t w = 640, h = 560;
        uint8_t *rgb = render(4, w, h, false);
        add_jpeg("generated-4-large.jpg", rgb, w, h, false, false);
        add_png("generated-4-large.png", rgb, w, h, false, false);
        free(rgb);
    }
    /* Unscannable: a truncated JPEG, text, a GIF header. */
    {
        const input *j = &inputs[0];
        uint8_t *cut = xmalloc(j->len / 2);
        memcpy(cut, j->data, j->len / 2);
        add_input("truncated.jpg", cut, j->len / 2);
        static const char text[] = "not an image, just a few words of text";
        uint8_t *t = xmalloc(sizeof text);
        memcpy(t, text, sizeof text);
        add_input("text.txt", t, sizeof text - 1);
        static const uint8_t gif[] = "GIF89a\x01\x00\x01\x00\x80\x00\x00";
        uint8_t *g = xmalloc(sizeof gif);
        memcpy(g, gif, sizeof gif);
        add_input("header.gif", g, sizeof gif - 1);
    }

    /* The list: listed samples, the first generated image of each seed
     * (its mirror must match through the dihedral variants), random
     * entries; signed by a fresh authority. */
    clientscan_public_key authority_pub, moderator_pub;
    clientscan_secret_key *authority = NULL;
    clientscan_detail d;
    if (clientscan_keypair_generate(CLIENTSCAN_ROLE_AUTHORITY, &authority_pub, &authority, &d) ||
        clientscan_keypair_generate(CLIENTSCAN_ROLE_MODERATOR, &moderator_pub, &moderator, &d))
        die("keys", d.text);
    clientscan_list_builder *b = NULL;
    if (clientscan_list_builder_new(&b, &d) != CLIENTSCAN_OK)
        die("builder", d.text);
    for (size_t i = 0; i < input_count; i++) {
        bool listed = i < listed_samples || (i >= first_generated && (i - first_generated) % 5 == 0 &&
                                             i < first_generated + 15);
        if (!listed)
            continue;
        clientscan_pdq_result r;
        if (clientscan_hash_memory(inputs[i].data, inputs[i].len, NULL, &r, NULL, &d) != 0)
            die(inputs[i].name, d.text);
        if (clientscan_list_builder_add(b, &r.hash[0], NULL, -1, &d) != CLIENTSCAN_OK)
            die("builder", d.text);
    }
    for (int i = 0; i < RANDOM_ENTRIES; i++) {
        clientscan_pdq h;
        randombytes_buf(h.bytes, sizeof h.bytes);
        if (clientscan_list_builder_add(b, &h, NULL, -1, &d) != CLIENTSCAN_OK)
            die("builder", d.text);
    }
    clientscan_list_builder_set_sequence(b, 1);
    uint8_t *list = NULL;
    size_t list_len = 0;
    const clientscan_secret_key *signers[] = {authority};
    if (clientscan_list_builder_encode(b, signers, 1, &list, &list_len, &d) != CLIENTSCAN_OK)
        die("encode", d.text);
    clientscan_list_builder_free(b);
    clientscan_secret_key_free(authority);
    clientscan_scanner_params sp;
    memset(&sp, 0, sizeof sp);
    sp.list.authorities = &authority_pub;
    sp.list.authority_count = 1;
    sp.moderator = &moderator_pub;
    if (clientscan_scanner_open_memory(list, list_len, &sp, &scanner, &d) != CLIENTSCAN_OK)
        die("scanner", d.text);
    free(list);

    /* The reference, on this thread alone. */
    int kinds[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < input_count; i++) {
        exercise(&inputs[i], true);
        kinds[inputs[i].verdict.kind]++;
    }
    printf("tsan_scanner: %zu inputs (%d match, %d no-match, %d unscannable, %d low-quality), "
           "list of %zu entries\n",
           input_count, kinds[CLIENTSCAN_VERDICT_MATCH], kinds[CLIENTSCAN_VERDICT_NO_MATCH],
           kinds[CLIENTSCAN_VERDICT_UNSCANNABLE], kinds[CLIENTSCAN_VERDICT_LOW_QUALITY],
           clientscan_list_count(clientscan_scanner_list(scanner)));
    if (kinds[CLIENTSCAN_VERDICT_MATCH] < 7 || kinds[CLIENTSCAN_VERDICT_UNSCANNABLE] < 3)
        die("reference", "expected the listed images (and their mirrors) to match");
    fflush(stdout);

    pthread_t tid[THREADS];
    worker workers[THREADS];
    double t0 = now();
    for (unsigned t = 0; t < THREADS; t++) {
        workers[t] = (worker){t, 0};
        if (pthread_create(&tid[t], NULL, work, &workers[t]) != 0)
            die("pthread_create", strerror(errno));
    }
    while (!atomic_load(&stop) && now() - t0 < seconds) {
        struct timespec nap = {0, 100 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    atomic_store(&stop, true);
    long total = 0, fewest = -1, most = 0;
    for (unsigned t = 0; t < THREADS; t++) {
        pthread_join(tid[t], NULL);
        total += workers[t].rounds;
        fewest = fewest < 0 || workers[t].rounds < fewest ? workers[t].rounds : fewest;
        most = workers[t].rounds > most ? workers[t].rounds : most;
    }
    double elapsed = now() - t0;
    printf("tsan_scanner: %d threads, %.1f s, %ld rounds of hash+match+scan+prepare+open "
           "(%ld to %ld per thread), %ld mismatches\n",
           THREADS, elapsed, total, fewest, most, atomic_load(&failures));

    clientscan_scanner_close(scanner);
    clientscan_secret_key_free(moderator);
    for (size_t i = 0; i < input_count; i++)
        free(inputs[i].data);
    return atomic_load(&failures) ? 1 : 0;
}
