/* Faults injected below the library, without touching its sources: this
 * program is linked with -Wl,--wrap=... (Makefile, FAULT_WRAP), so every
 * call the library's objects make to the allocator (malloc, calloc, realloc,
 * aligned_alloc, strdup, sodium_malloc), to libpng's and libjpeg's decoder
 * constructors, to pthread_create and to read/write/fsync reaches the
 * __wrap_ functions below first.
 *
 * Allocation sweeps: for N = 1, 2, ... the Nth allocation of a whole
 * operation (decode, hash, build/open a signed list, search, open a scanner,
 * scan, prepare an attachment, open a report, ...) fails, until the
 * operation completes without reaching N. Every failing run must return a
 * documented negative code with a reason, leave its outputs empty and leak
 * nothing: every allocation made during the operation is tracked in a
 * pointer set that must be empty again afterwards (under SANITIZE=1
 * LeakSanitizer checks once more). A run that absorbs the failure and
 * succeeds must give exactly the fault-free result: never success with
 * partial output.
 *
 * I/O faults: short reads and EINTR must not change any result; EIO while
 * reading, ENOSPC while writing and a failing fsync must fail with E_IO and
 * leave an existing file untouched and no temporary file behind.
 *
 * Allocations inside libpng, libjpeg and libsodium themselves are not
 * counted (only our objects are wrapped); docs/robustness.md says how they
 * are bounded instead. */
#include "support.h"
#include "all_zero.h"
#include "images.h"

#include "clientscan.h"

#include <dirent.h>
#include <errno.h>
#include <png.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h> /* before jpeglib.h, which uses FILE */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jpeglib.h>
#include <jerror.h>

/* ================================================================ wrappers */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t align, size_t n);
char *__real_strdup(const char *s);
void __real_free(void *p);
void *__real_sodium_malloc(size_t n);
void __real_sodium_free(void *p);
png_structp __real_png_create_read_struct(png_const_charp ver, png_voidp error_ptr,
                                          png_error_ptr error_fn, png_error_ptr warn_fn);
png_infop __real_png_create_info_struct(png_const_structrp png);
void __real_jpeg_CreateDecompress(j_decompress_ptr cinfo, int version, size_t structsize);
int __real_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);
ssize_t __real_read(int fd, void *buf, size_t n);
ssize_t __real_write(int fd, const void *buf, size_t n);
int __real_fsync(int fd);

void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_aligned_alloc(size_t align, size_t n);
char *__wrap_strdup(const char *s);
void __wrap_free(void *p);
void *__wrap_sodium_malloc(size_t n);
void __wrap_sodium_free(void *p);
png_structp __wrap_png_create_read_struct(png_const_charp ver, png_voidp error_ptr,
                                          png_error_ptr error_fn, png_error_ptr warn_fn);
png_infop __wrap_png_create_info_struct(png_const_structrp png);
void __wrap_jpeg_CreateDecompress(j_decompress_ptr cinfo, int version, size_t structsize);
int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);
ssize_t __wrap_read(int fd, void *buf, size_t n);
ssize_t __wrap_write(int fd, const void *buf, size_t n);
int __wrap_fsync(int fd);

/* Allocation fault state. calls counts allocation-like calls while armed;
 * call number fail_at fails. Atomic: hash_batch allocates from threads. */
static atomic_bool armed;
static atomic_long calls, fail_at;
static atomic_bool hit;

static bool inject(void)
{
    if (!atomic_load(&armed))
        return false;
    long n = atomic_fetch_add(&calls, 1) + 1;
    if (n != atomic_load(&fail_at))
        return false;
    atomic_store(&hit, true);
    return true;
}

/* Pointers allocated while tracking and not yet freed: open addressing
 * with tombstones, under a mutex (pthread_mutex_lock does not allocate). */
#define SET_SLOTS 65536u
#define TOMB ((void *)1)
static pthread_mutex_t set_lock = PTHREAD_MUTEX_INITIALIZER;
static void *live_set[SET_SLOTS];
static size_t live_count;
static atomic_bool tracking;

static size_t slot_of(const void *p)
{
    return (size_t)(((uintptr_t)p >> 4) * 0x9e3779b97f4a7c15ull >> 40) % SET_SLOTS;
}

static void track(void *p)
{
    if (!p || !atomic_load(&tracking))
        return;
    pthread_mutex_lock(&set_lock);
    size_t i = slot_of(p);
    while (live_set[i] && live_set[i] != TOMB)
        i = (i + 1) % SET_SLOTS;
    live_set[i] = p;
    live_count++;
    pthread_mutex_unlock(&set_lock);
}

/* true if p was tracked (and is no longer). */
static bool untrack(void *p)
{
    if (!p)
        return false;
    bool found = false;
    pthread_mutex_lock(&set_lock);
    for (size_t i = slot_of(p), probes = 0; live_set[i] && probes < SET_SLOTS;
         i = (i + 1) % SET_SLOTS, probes++)
        if (live_set[i] == p) {
            live_set[i] = TOMB;
            live_count--;
            found = true;
            break;
        }
    pthread_mutex_unlock(&set_lock);
    return found;
}

static size_t tracking_stop(void)
{
    atomic_store(&tracking, false);
    pthread_mutex_lock(&set_lock);
    size_t leaked = live_count;
    memset(live_set, 0, sizeof live_set);
    live_count = 0;
    pthread_mutex_unlock(&set_lock);
    return leaked;
}

void *__wrap_malloc(size_t n)
{
    if (inject()) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = __real_malloc(n);
    track(p);
    return p;
}

void *__wrap_calloc(size_t n, size_t size)
{
    if (inject()) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = __real_calloc(n, size);
    track(p);
    return p;
}

void *__wrap_realloc(void *old, size_t n)
{
    if (inject()) {
        errno = ENOMEM;
        return NULL;
    }
    /* A block that predates tracking stays untracked when it moves. */
    bool owned = old == NULL ? atomic_load(&tracking) : untrack(old);
    void *p = __real_realloc(old, n);
    if (!p) {
        if (old && owned)
            track(old);
        return NULL;
    }
    if (owned)
        track(p);
    return p;
}

void *__wrap_aligned_alloc(size_t align, size_t n)
{
    if (inject()) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = __real_aligned_alloc(align, n);
    track(p);
    return p;
}

char *__wrap_strdup(const char *s)
{
    if (inject()) {
        errno = ENOMEM;
        return NULL;
    }
    char *p = __real_strdup(s);
    track(p);
    return p;
}

void __wrap_free(void *p)
{
    untrack(p);
    __real_free(p);
}

void *__wrap_sodium_malloc(size_t n)
{
    if (inject()) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = __real_sodium_malloc(n);
    track(p);
    return p;
}

void __wrap_sodium_free(void *p)
{
    untrack(p);
    __real_sodium_free(p);
}

/* libpng's constructors return NULL when libpng cannot allocate. */
png_structp __wrap_png_create_read_struct(png_const_charp ver, png_voidp error_ptr,
                                          png_error_ptr error_fn, png_error_ptr warn_fn)
{
    return inject() ? NULL : __real_png_create_read_struct(ver, error_ptr, error_fn, warn_fn);
}

png_infop __wrap_png_create_info_struct(png_const_structrp png)
{
    return inject() ? NULL : __real_png_create_info_struct(png);
}

/* libjpeg reports a failed allocation through error_exit with
 * JERR_OUT_OF_MEMORY: do exactly that, before the object exists. */
void __wrap_jpeg_CreateDecompress(j_decompress_ptr cinfo, int version, size_t structsize)
{
    if (inject()) {
        cinfo->err->msg_code = JERR_OUT_OF_MEMORY;
        cinfo->err->msg_parm.i[0] = 0;
        (*cinfo->err->error_exit)((j_common_ptr)cinfo);
    }
    __real_jpeg_CreateDecompress(cinfo, version, structsize);
}

int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    return inject() ? EAGAIN : __real_pthread_create(t, attr, fn, arg);
}

/* I/O fault state: one mode at a time, armed around one operation. */
typedef enum { IO_NORMAL, IO_SHORT, IO_READ_EIO, IO_WRITE_ENOSPC, IO_FSYNC_EIO } io_mode;
static atomic_int io;
static atomic_long io_countdown; /* the call that fails (1 = the next one) */
static atomic_long io_calls;
static atomic_bool io_hit;

ssize_t __wrap_read(int fd, void *buf, size_t n)
{
    int mode = atomic_load(&io);
    if (mode == IO_SHORT) {
        /* Every other call is interrupted; the others deliver 1..7 bytes. */
        long k = atomic_fetch_add(&io_calls, 1);
        if (k % 2 == 0) {
            errno = EINTR;
            return -1;
        }
        size_t cap = (size_t)(k % 7) + 1;
        return __real_read(fd, buf, n < cap ? n : cap);
    }
    if (mode == IO_READ_EIO && atomic_fetch_sub(&io_countdown, 1) == 1) {
        atomic_store(&io_hit, true);
        errno = EIO;
        return -1;
    }
    return __real_read(fd, buf, n);
}

ssize_t __wrap_write(int fd, const void *buf, size_t n)
{
    int mode = atomic_load(&io);
    if (mode == IO_SHORT) {
        long k = atomic_fetch_add(&io_calls, 1);
        if (k % 2 == 0) {
            errno = EINTR;
            return -1;
        }
        size_t cap = (size_t)(k % 5) + 1;
        return __real_write(fd, buf, n < cap ? n : cap);
    }
    if (mode == IO_WRITE_ENOSPC && atomic_fetch_sub(&io_countdown, 1) <= 1) {
        /* A full disk stays full: this call and every later one. */
        atomic_store(&io_hit, true);
        errno = ENOSPC;
        return -1;
    }
    return __real_write(fd, buf, n);
}

int __wrap_fsync(int fd)
{
    if (atomic_load(&io) == IO_FSYNC_EIO) {
        atomic_store(&io_hit, true);
        errno = EIO;
        return -1;
    }
    return __real_fsync(fd);
}

static void io_arm(io_mode mode, long countdown)
{
    atomic_store(&io_countdown, countdown);
    atomic_store(&io_calls, 0);
    atomic_store(&io_hit, false);
    atomic_store(&io, mode);
}

static bool io_disarm(void)
{
    atomic_store(&io, IO_NORMAL);
    return atomic_load(&io_hit);
}

/* ================================================================ fixture */

typedef struct blob {
    uint8_t *data;
    size_t len;
} blob;

enum { IMG_PNG, IMG_PNG_INTERLACED, IMG_PNG_PALETTE, IMG_PNG_GREY16, IMG_JPEG, IMG_JPEG_PROGRESSIVE,
       IMG_JPEG_CMYK, IMG_JPEG_GREY, IMG_COUNT };
static const char *const image_names[IMG_COUNT] = {
    "png rgb", "png rgba interlaced", "png palette", "png grey16",
    "jpeg", "jpeg progressive", "jpeg cmyk", "jpeg grey"};

#define RANDOM_ENTRIES 300

static struct {
    char *dir;
    blob img[IMG_COUNT];
    blob noise;   /* matches nothing in the list */
    blob wide;    /* 640 wide: CLI512 mode resamples it */
    blob large;   /* 512 x 512: hashed pipelined on two threads */
    clientscan_pdq_result large_hash;
    blob garbage; /* not an image */
    char *png_path;
    clientscan_image decoded[IMG_COUNT];
    clientscan_pdq_result hashed[IMG_COUNT];
    clientscan_hash_info hashed_info[IMG_COUNT];
    clientscan_image wide_image;
    clientscan_pdq_result wide_full, wide_cli512;
    clientscan_pdq hashes[RANDOM_ENTRIES];
    char *text;
    size_t text_len;
    clientscan_secret_key *authority, *authority2, *moderator, *user;
    clientscan_public_key authority_pub, authority2_pub, moderator_pub, user_pub;
    char *sec_path;
    blob sec_file;
    blob list;       /* the builder op's result: signed by authority */
    blob list_cosigned;
    char *list_path;
    clientscan_list *opened;
    size_t list_count;
    clientscan_match matches[512];
    size_t match_found;
    clientscan_scanner *scanner;
    clientscan_verdict verdict_match, verdict_noise, verdict_garbage;
    clientscan_prepared prepared; /* of img[IMG_PNG], a match */
    clientscan_report report;
    uint64_t hash64[CLIENTSCAN_HASH64_COUNT];
    clientscan_image transformed[CLIENTSCAN_TRANSFORM_COUNT];
    int transform_rc[CLIENTSCAN_TRANSFORM_COUNT];
    blob plaintext;   /* 150 000 bytes: three secretstream chunks */
    blob ciphertext;  /* of plaintext under key */
    clientscan_attachment_key *key;
    uint8_t sealed_key[CLIENTSCAN_SEALED_KEY_BYTES];
} fx;

static blob png_blob(uint32_t w, uint32_t h, int type, int depth, int interlace)
{
    blob b;
    b.data = ts_png_encode(w, h, type, depth, interlace, &b.len);
    return b;
}

static blob jpeg_blob(uint32_t w, uint32_t h, int components, bool progressive)
{
    blob b;
    b.data = ts_jpeg_encode(w, h, components, 90, progressive, 6, false, &b.len);
    return b;
}

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Everything the list operations start from; the builder op repeats it. */
static int build_list(blob *out, clientscan_detail *d)
{
    out->data = NULL;
    out->len = 0;
    clientscan_list_builder *b = NULL;
    int rc = clientscan_list_builder_new(&b, d);
    unsigned pa = 0, pb = 0;
    if (rc == CLIENTSCAN_OK)
        rc = clientscan_list_builder_set_name(b, "fault sweep", d);
    if (rc == CLIENTSCAN_OK) {
        clientscan_list_builder_set_sequence(b, 7);
        clientscan_list_builder_set_created(b, 1700000000);
        rc = clientscan_list_builder_add_provider(b, "provider-a", &pa, d);
    }
    if (rc == CLIENTSCAN_OK)
        rc = clientscan_list_builder_add_provider(b, "provider-b", &pb, d);
    for (size_t i = 0; i < RANDOM_ENTRIES && rc == CLIENTSCAN_OK; i++)
        rc = clientscan_list_builder_add(b, &fx.hashes[i], NULL, i % 2 ? (int)pa : (int)pb, d);
    if (rc == CLIENTSCAN_OK)
        rc = clientscan_list_builder_add(b, &fx.hashed[IMG_PNG].hash[0], NULL, (int)pa, d);
    if (rc == CLIENTSCAN_OK)
        rc = clientscan_list_builder_add_text(b, fx.text, fx.text_len, (int)pb, 0, NULL, d);
    if (rc == CLIENTSCAN_OK)
        rc = clientscan_list_builder_require(b, 1, 8, NULL, d);
    if (rc == CLIENTSCAN_OK) {
        const clientscan_secret_key *signers[] = {fx.authority};
        rc = clientscan_list_builder_encode(b, signers, 1, &out->data, &out->len, d);
    }
    clientscan_list_builder_free(b);
    return rc;
}

static clientscan_scanner_params scanner_params(void)
{
    clientscan_scanner_params p;
    memset(&p, 0, sizeof p);
    p.list.authorities = &fx.authority_pub;
    p.list.authority_count = 1;
    p.moderator = &fx.moderator_pub;
    return p;
}

#define OK_OR_FAIL(call)                                                              \
    do {                                                                              \
        clientscan_detail d_;                                                         \
        if ((call) != CLIENTSCAN_OK)                                                  \
            fail_msg("%s: %s", #call, d_.text);                                       \
    } while (0)

static int setup(void **state)
{
    (void)state;
    memset(&fx, 0, sizeof fx);
    assert_int_equal(clientscan_init(), CLIENTSCAN_OK);
    fx.dir = ts_tempdir();
    fx.img[IMG_PNG] = png_blob(64, 48, PNG_COLOR_TYPE_RGB, 8, 0);
    fx.img[IMG_PNG_INTERLACED] = png_blob(40, 36, PNG_COLOR_TYPE_RGBA, 8, 1);
    fx.img[IMG_PNG_PALETTE] = png_blob(33, 20, PNG_COLOR_TYPE_PALETTE, 4, 0);
    fx.img[IMG_PNG_GREY16] = png_blob(30, 31, PNG_COLOR_TYPE_GRAY, 16, 0);
    fx.img[IMG_JPEG] = jpeg_blob(64, 48, 3, false);
    fx.img[IMG_JPEG_PROGRESSIVE] = jpeg_blob(48, 40, 3, true);
    fx.img[IMG_JPEG_CMYK] = jpeg_blob(32, 24, 4, false);
    fx.img[IMG_JPEG_GREY] = jpeg_blob(24, 40, 1, true);
    fx.noise.data = ts_png_encode_noise(64, 48, 0, 99, &fx.noise.len);
    fx.wide = png_blob(640, 24, PNG_COLOR_TYPE_RGB, 8, 0);
    fx.large = jpeg_blob(512, 512, 3, false);
    {
        clientscan_detail d;
        if (clientscan_hash_memory(fx.large.data, fx.large.len, NULL, &fx.large_hash, NULL, &d) != 0)
            fail_msg("large jpeg: %s", d.text);
    }
    static const char junk[] = "this is not an image at all, just text";
    fx.garbage.data = (uint8_t *)strdup(junk);
    fx.garbage.len = sizeof junk - 1;
    fx.png_path = ts_path(fx.dir, "image.png");
    ts_write_file(fx.png_path, fx.img[IMG_PNG].data, fx.img[IMG_PNG].len);

    for (int i = 0; i < IMG_COUNT; i++) {
        clientscan_detail d;
        if (clientscan_decode_memory(fx.img[i].data, fx.img[i].len, NULL, &fx.decoded[i], &d) != 0)
            fail_msg("%s: %s", image_names[i], d.text);
        clientscan_hash_params hp = {.dihedral = 1};
        if (clientscan_hash_memory(fx.img[i].data, fx.img[i].len, &hp, &fx.hashed[i],
                                   &fx.hashed_info[i], &d) != 0)
            fail_msg("%s: %s", image_names[i], d.text);
    }
    OK_OR_FAIL(clientscan_decode_memory(fx.wide.data, fx.wide.len, NULL, &fx.wide_image, &d_));
    OK_OR_FAIL(clientscan_pdq_hash_image(&fx.wide_image, CLIENTSCAN_PDQ_MODE_FULL, 1, &fx.wide_full, &d_));
    OK_OR_FAIL(clientscan_pdq_hash_image(&fx.wide_image, CLIENTSCAN_PDQ_MODE_CLI512, 0, &fx.wide_cli512, &d_));
    OK_OR_FAIL(clientscan_hash64_image(&fx.decoded[IMG_PNG], fx.hash64, &d_));
    for (int t = 0; t < CLIENTSCAN_TRANSFORM_COUNT; t++)
        fx.transform_rc[t] = clientscan_transform_apply(&fx.decoded[IMG_PNG], (clientscan_transform)t,
                                                        42, &fx.transformed[t], NULL);

    uint64_t s = 0x243f6a8885a308d3ull;
    for (size_t i = 0; i < RANDOM_ENTRIES; i++)
        for (size_t k = 0; k < CLIENTSCAN_PDQ_BYTES; k++)
            fx.hashes[i].bytes[k] = (uint8_t)xorshift(&s);
    /* ThreatExchange-style text: hash, quality, and an id of each kind. */
    size_t cap = 64 * 200, used = 0;
    fx.text = malloc(cap);
    assert_non_null(fx.text);
    used += (size_t)snprintf(fx.text + used, cap - used, "# fault sweep\n");
    for (int i = 0; i < 40; i++) {
        clientscan_pdq h;
        for (size_t k = 0; k < CLIENTSCAN_PDQ_BYTES; k++)
            h.bytes[k] = (uint8_t)xorshift(&s);
        char hex[CLIENTSCAN_PDQ_HEX_BYTES];
        clientscan_pdq_to_hex(&h, hex);
        used += (size_t)snprintf(fx.text + used, cap - used, "%s,%d,%s\n", hex, 50 + i,
                                 i % 2 ? "00112233445566778899aabbccddeeff" : "some label");
    }
    fx.text_len = used;

    OK_OR_FAIL(clientscan_keypair_generate(CLIENTSCAN_ROLE_AUTHORITY, &fx.authority_pub, &fx.authority, &d_));
    OK_OR_FAIL(clientscan_keypair_generate(CLIENTSCAN_ROLE_AUTHORITY, &fx.authority2_pub, &fx.authority2, &d_));
    OK_OR_FAIL(clientscan_keypair_generate(CLIENTSCAN_ROLE_MODERATOR, &fx.moderator_pub, &fx.moderator, &d_));
    OK_OR_FAIL(clientscan_keypair_generate(CLIENTSCAN_ROLE_USER, &fx.user_pub, &fx.user, &d_));
    fx.sec_path = ts_path(fx.dir, "user.sec");
    OK_OR_FAIL(clientscan_secret_key_save(fx.user, fx.sec_path, &d_));
    fx.sec_file.data = ts_read_file(fx.sec_path, &fx.sec_file.len);

    OK_OR_FAIL(build_list(&fx.list, &d_));
    OK_OR_FAIL(clientscan_list_add_signature(fx.list.data, fx.list.len, fx.authority2,
                                             &fx.list_cosigned.data, &fx.list_cosigned.len, &d_));
    fx.list_path = ts_path(fx.dir, "list.bin");
    ts_write_file(fx.list_path, fx.list.data, fx.list.len);
    clientscan_list_params lp;
    memset(&lp, 0, sizeof lp);
    lp.authorities = &fx.authority_pub;
    lp.authority_count = 1;
    OK_OR_FAIL(clientscan_list_open_memory(fx.list.data, fx.list.len, &lp, &fx.opened, &d_));
    fx.list_count = clientscan_list_count(fx.opened);
    assert_true(fx.list_count > RANDOM_ENTRIES);
    clientscan_match_params mp = {256, 1, 0, CLIENTSCAN_MATCH_AUTO};
    OK_OR_FAIL(clientscan_list_match(fx.opened, &fx.hashed[IMG_PNG], &mp, fx.matches,
                                     sizeof fx.matches / sizeof fx.matches[0], &fx.match_found,
                                     NULL, &d_));
    assert_int_equal(fx.match_found, fx.list_count); /* distance 256 reaches every entry */
    assert_true(fx.match_found <= sizeof fx.matches / sizeof fx.matches[0]);

    clientscan_scanner_params sp = scanner_params();
    OK_OR_FAIL(clientscan_scanner_open_memory(fx.list.data, fx.list.len, &sp, &fx.scanner, &d_));
    OK_OR_FAIL(clientscan_scan(fx.scanner, fx.img[IMG_PNG].data, fx.img[IMG_PNG].len, &fx.verdict_match, &d_));
    assert_true(fx.verdict_match.matched);
    OK_OR_FAIL(clientscan_scan(fx.scanner, fx.noise.data, fx.noise.len, &fx.verdict_noise, &d_));
    assert_false(fx.verdict_noise.matched);
    OK_OR_FAIL(clientscan_scan(fx.scanner, fx.garbage.data, fx.garbage.len, &fx.verdict_garbage, &d_));
    assert_false(fx.verdict_garbage.scanned);
    OK_OR_FAIL(clientscan_prepare_attachment(fx.scanner, fx.img[IMG_PNG].data, fx.img[IMG_PNG].len,
                                             &fx.prepared, &d_));
    OK_OR_FAIL(clientscan_open_report(fx.moderator, fx.prepared.slot, sizeof fx.prepared.slot,
                                      &fx.report, &d_));
    assert_int_equal(fx.report.kind, CLIENTSCAN_REPORT_MATCH);

    fx.plaintext.len = 150000;
    fx.plaintext.data = malloc(fx.plaintext.len);
    assert_non_null(fx.plaintext.data);
    for (size_t i = 0; i < fx.plaintext.len; i++)
        fx.plaintext.data[i] = (uint8_t)(i * 131 + (i >> 9));
    OK_OR_FAIL(clientscan_attachment_key_new(&fx.key, &d_));
    OK_OR_FAIL(clientscan_encrypt_attachment(fx.key, fx.plaintext.data, fx.plaintext.len,
                                             &fx.ciphertext.data, &fx.ciphertext.len, NULL, &d_));
    OK_OR_FAIL(clientscan_attachment_key_seal(fx.key, &fx.user_pub, fx.sealed_key, &d_));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < IMG_COUNT; i++) {
        free(fx.img[i].data);
        clientscan_image_release(&fx.decoded[i]);
    }
    for (int t = 0; t < CLIENTSCAN_TRANSFORM_COUNT; t++)
        clientscan_image_release(&fx.transformed[t]);
    clientscan_image_release(&fx.wide_image);
    free(fx.noise.data);
    free(fx.wide.data);
    free(fx.large.data);
    free(fx.garbage.data);
    free(fx.text);
    free(fx.sec_file.data);
    free(fx.list.data);
    free(fx.list_cosigned.data);
    free(fx.plaintext.data);
    free(fx.ciphertext.data);
    clientscan_attachment_key_free(fx.key);
    clientscan_report_release(&fx.report);
    clientscan_prepared_release(&fx.prepared);
    clientscan_scanner_close(fx.scanner);
    clientscan_list_close(fx.opened);
    clientscan_secret_key_free(fx.authority);
    clientscan_secret_key_free(fx.authority2);
    clientscan_secret_key_free(fx.moderator);
    clientscan_secret_key_free(fx.user);
    ts_rmtree(fx.dir);
    free(fx.dir);
    free(fx.png_path);
    free(fx.sec_path);
    free(fx.list_path);
    return 0;
}

/* ================================================================ the sweep */

/* An operation runs the call under test, calls settle() as soon as that
 * returns (so checking the result is never itself failed), checks its
 * outputs against the fault-free result (rc OK) or for emptiness (rc < 0),
 * releases everything and returns rc. */
typedef int (*op_fn)(const void *arg, clientscan_detail *d);

static void settle(void)
{
    atomic_store(&armed, false);
}

/* For the test's own set-up inside an operation: not counted, not failed. */
static bool pause_faults(void)
{
    return atomic_exchange(&armed, false);
}

static void resume_faults(bool was_armed)
{
    atomic_store(&armed, was_armed);
}

/* Codes a failing run may return besides NOMEM (0-terminated). */
static const int only_nomem[] = {0};

typedef struct sweep_stats {
    long sites;    /* allocation calls the fault-free run makes */
    long absorbed; /* injected failures after which the call still succeeded */
} sweep_stats;

static sweep_stats sweep(const char *what, op_fn op, const void *arg, const int *also_allowed)
{
    sweep_stats st = {0, 0};
    for (long n = 1;; n++) {
        if (n > 20000)
            fail_msg("%s: more than 20000 allocations: a loop that never ends?", what);
        clientscan_detail d;
        memset(&d, 0, sizeof d);
        atomic_store(&calls, 0);
        atomic_store(&hit, false);
        atomic_store(&fail_at, n);
        atomic_store(&tracking, true);
        atomic_store(&armed, true);
        int rc = op(arg, &d);
        settle();
        bool was_hit = atomic_load(&hit);
        size_t leaked = tracking_stop();
        if (leaked)
            fail_msg("%s: %zu allocation(s) leaked after failing allocation %ld (rc %d: %s)",
                     what, leaked, n, rc, d.text);
        if (!was_hit) {
            if (rc != CLIENTSCAN_OK)
                fail_msg("%s: fails without an injected fault: %d %s", what, rc, d.text);
            st.sites = n - 1;
            break;
        }
        if (rc == CLIENTSCAN_OK) {
            st.absorbed++; /* the op checked that the result is the fault-free one */
            continue;
        }
        bool allowed = rc == CLIENTSCAN_E_NOMEM;
        for (const int *c = also_allowed; *c; c++)
            allowed |= rc == *c;
        if (!allowed)
            fail_msg("%s: allocation %ld failed -> %d (%s) \"%s\", expected NOMEM", what, n, rc,
                     clientscan_strerror(rc), d.text);
        if (!d.text[0])
            fail_msg("%s: allocation %ld failed -> %d without a reason", what, n, rc);
    }
    print_message("  %-34s %4ld allocation sites, %ld failures absorbed\n", what, st.sites,
                  st.absorbed);
    return st;
}

/* ---------------------------------------------------------------- images */

static void assert_same_image(const clientscan_image *a, const clientscan_image *b)
{
    assert_int_equal(a->width, b->width);
    assert_int_equal(a->height, b->height);
    assert_int_equal(a->channels, b->channels);
    assert_int_equal(a->stride, b->stride);
    assert_int_equal(a->format, b->format);
    assert_int_equal(a->exif_orientation, b->exif_orientation);
    assert_memory_equal(a->pixels, b->pixels, a->stride * a->height);
}

static void assert_released_image(const clientscan_image *img)
{
    assert_true(all_zero(img, sizeof *img));
}

static int op_decode(const void *arg, clientscan_detail *d)
{
    int i = *(const int *)arg;
    clientscan_image img;
    int rc = clientscan_decode_memory(fx.img[i].data, fx.img[i].len, NULL, &img, d);
    settle();
    if (rc == CLIENTSCAN_OK)
        assert_same_image(&img, &fx.decoded[i]);
    else
        assert_released_image(&img);
    clientscan_image_release(&img);
    return rc;
}

static int op_decode_file(const void *arg, clientscan_detail *d)
{
    (void)arg;
    clientscan_image img;
    int rc = clientscan_decode_file(fx.png_path, NULL, &img, d);
    settle();
    if (rc == CLIENTSCAN_OK)
        assert_same_image(&img, &fx.decoded[IMG_PNG]);
    else
        assert_released_image(&img);
    clientscan_image_release(&img);
    return rc;
}

static int op_hash(const void *arg, clientscan_detail *d)
{
    int i = *(const int *)arg;
    clientscan_hash_params hp = {.dihedral = 1};
    clientscan_pdq_result r;
    clientscan_hash_info info;
    int rc = clientscan_hash_memory(fx.img[i].data, fx.img[i].len, &hp, &r, &info, d);
    settle();
    if (rc == CLIENTSCAN_OK) {
        assert_memory_equal(&r, &fx.hashed[i], sizeof r);
        assert_memory_equal(&info, &fx.hashed_info[i], sizeof info);
    } else {
        assert_true(all_zero(&r, sizeof r)); /* never a hash of part of an image */
        assert_true(all_zero(&info, sizeof info));
    }
    return rc;
}

/* With a second thread per image: a failed allocation or thread start
 * must still give the single-threaded hash or a clean error. */
static int op_hash_pipelined(const void *arg, clientscan_detail *d)
{
    (void)arg;
    clientscan_hash_params hp = {.pipeline = 1};
    clientscan_pdq_result r;
    int rc = clientscan_hash_memory(fx.large.data, fx.large.len, &hp, &r, NULL, d);
    settle();
    if (rc == CLIENTSCAN_OK)
        assert_memory_equal(&r, &fx.large_hash, sizeof r);
    else
        assert_true(all_zero(&r, sizeof r));
    return rc;
}

static int op_hash_file(const void *arg, clientscan_detail *d)
{
    (void)arg;
    clientscan_hash_params hp = {.dihedral = 1};
    clientscan_pdq_result r;
    int rc = clientscan_hash_file(fx.png_path, &hp, &r, NULL, d);
    settle();
    if (rc == CLIENTSCAN_OK)
        assert_memory_equal(&r, &fx.hashed[IMG_PNG], sizeof r);
    else
        assert_true(all_zero(&r, sizeof r));
    return rc;
}

static int op_hash_image(const void *arg, clientscan_detail *d)
{
    clientscan_pdq_mode mode = *(const clientscan_pdq_mode *)arg;
    const clientscan_pdq_result *want =
        mode == CLIENTSCAN_PDQ_MODE_FULL ? &fx.wide_full : &fx.wide_cli512;
    clientscan_pdq_result r;
    int rc = clientscan_pdq_hash_image(&fx.wide_image, mode, mode == CLIENTSCAN_PDQ_MODE_FULL, &r, d);
    settle();
    if (rc == CLIENTSCAN_OK)
        assert_memory_equal(&r, want, sizeof r);
    else
        assert_true(all_zero(&r, sizeof r));
    return rc;
}

static int op_hasher(const void *arg, clientscan_detail *d)
{
    (void)arg;
    const clientscan_image *img = &fx.decoded[IMG_PNG];
    clientscan_pdq_hasher *h = NULL;
    int rc = clientscan_pdq_hasher_new(img->width, img->height, &h, d);
    settle();
    if (rc != CLIENTSCAN_OK) {
        assert_null(h);
        return rc;
    }
    for (uint32_t y = 0; y < img->height; y++)
        assert_int_equal(clientscan_pdq_hasher_push(h, img->pixels + y * img->stride, img->channels), 0);
    clientscan_pdq_result r;
    assert_int_equal(clientscan_pdq_hasher_finish(h, 1, &r, NULL), 0);
    assert_memory_equal(&r, &fx.hashed[IMG_PNG], sizeof r);
    clientscan_pdq_hasher_free(h);
    return rc;
}

/* Six items on three threads: a failed allocation (or thread start) costs
 * at most the item it hit; the others still come out exact. */
static int op_batch(const void *arg, clientscan_detail *d)
{
    (void)arg;
    clientscan_hash_item items[6];
    memset(items, 0, sizeof items);
    const int which[6] = {IMG_PNG, IMG_JPEG, IMG_PNG_INTERLACED, IMG_JPEG_PROGRESSIVE, IMG_PNG, IMG_JPEG_CMYK};
    for (int i = 0; i < 6; i++) {
        if (i == 4) {
            items[i].path = fx.png_path;
        } else {
            items[i].data = fx.img[which[i]].data;
            items[i].len = fx.img[which[i]].len;
        }
    }
    clientscan_hash_params hp = {.dihedral = 1};
    int rc = clientscan_hash_batch(items, 6, &hp, 3);
    settle();
    if (rc != CLIENTSCAN_OK) {
        snprintf(d->text, sizeof d->text, "hash_batch: %s", clientscan_strerror(rc));
        return rc;
    }
    int first_error = CLIENTSCAN_OK;
    for (int i = 0; i < 6; i++) {
        if (items[i].rc == CLIENTSCAN_OK) {
            assert_memory_equal(&items[i].result, &fx.hashed[which[i]], sizeof items[i].result);
            continue;
        }
        assert_true(all_zero(&items[i].result, sizeof items[i].result));
        if (first_error == CLIENTSCAN_OK) {
            first_error = items[i].rc;
            *d = items[i].detail;
        }
    }
    return first_error;
}

static int op_hash64(const void *arg, clientscan_detail *d)
{
    (void)arg;
    uint64_t h[CLIENTSCAN_HASH64_COUNT];
    int rc = clientscan_hash64_image(&fx.decoded[IMG_PNG], h, d);
    settle();
    if (rc == CLIENTSCAN_OK)
        assert_memory_equal(h, fx.hash64, sizeof h);
    return rc;
}

static int op_transform(const void *arg, clientscan_detail *d)
{
    int t = *(const int *)arg;
    clientscan_image img;
    int rc = clientscan_transform_apply(&fx.decoded[IMG_PNG], (clientscan_transform)t, 42, &img, d);
    settle();
    if (rc == CLIENTSCAN_OK)
        assert_same_image(&img, &fx.transformed[t]);
    else
        assert_released_image(&img);
    clientscan_image_release(&img);
    return rc;
}

/* ---------------------------------------------------------------- keys */

static int op_keygen(const void *arg, clientscan_detail *d)
{
    clientscan_key_role role = *(const clientscan_key_role *)arg;
    clientscan_public_key pub;
    clientscan_secret_key *sk = (clientscan_secret_key *)&pub; /* must become NULL on failure */
    int rc = clientscan_keypair_generate(role, &pub, &sk, d);
    settle();
    if (rc == CLIENTSCAN_OK) {
        assert_non_null(sk);
        assert_int_equal(clientscan_secret_key_role(sk), role);
        clientscan_public_key again;
        clientscan_secret_key_public(sk, &again);
        assert_memory_equal(&again, &pub, sizeof pub);
    } else {
        assert_null(sk);
    }
    clientscan_secret_key_free(sk);
    return rc;
}

static void assert_same_secret(const clientscan_secret_key *a, const clientscan_secret_key *b)
{
    clientscan_public_key pa, pb;
    clientscan_secret_key_public(a, &pa);
    clientscan_secret_key_public(b, &pb);
    assert_memory_equal(&pa, &pb, sizeof pa);
}

static int op_secret_parse(const void *arg, clientscan_detail *d)
{
    (void)arg;
    clientscan_secret_key *sk = NULL;
    int rc = clientscan_secret_key_parse(fx.sec_file.data, fx.sec_file.len, CLIENTSCAN_ROLE_USER,
                                         &sk, d);
    settle();
    if (rc == CLIENTSCAN_OK)
        assert_same_secret(sk, fx.user);
    else
        assert_null(sk);
    clientscan_secret_key_free(sk);
    return rc;
}

static int op_secret_load(const void *arg, clientscan_detail *d)
{
    (void)arg;
    clientscan_secret_key *sk = NULL;
    int rc = clientscan_secret_key_load(fx.sec_path, CLIENTSCAN_ROLE_USER, &sk, d);
    settle();
    if (rc == CLIENTSCAN_OK)
        assert_same_secret(sk, fx.user);
    else
        assert_null(sk);
    clientscan_secret_key_free(sk);
    return rc;
}

/* Names in fx.dir that contain ".tmp." (temporary files left behind). */
static int temp_files_left(void)
{
    DIR *dir = opendir(fx.dir);
    assert_non_null(dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(dir));)
        n += strstr(e->d_name, ".tmp.") != NULL;
    closedir(dir);
    return n;
}

/* Saves over an existing file: on failure the old content must remain. */
static int op_secret_save(const void *arg, clientscan_detail *d)
{
    (void)arg;
    bool was = pause_faults();
    char *path = ts_path(fx.dir, "saved.sec");
    static const char old[] = "previous content\n";
    ts_write_file(path, old, sizeof old - 1);
    resume_faults(was);
    int rc = clientscan_secret_key_save(fx.user, path, d);
    settle();
    size_t len;
    uint8_t *now = ts_read_file(path, &len);
    if (rc == CLIENTSCAN_OK) {
        assert_int_equal(len, fx.sec_file.len);
        assert_memory_equal(now, fx.sec_file.data, len);
    } else {
        assert_int_equal(len, sizeof old - 1);
        assert_memory_equal(now, old, len);
    }
    assert_int_equal(temp_files_left(), 0);
    free(now);
    unlink(path);
    free(path);
    return rc;
}

static int op_public_save(const void *arg, clientscan_detail *d)
{
    (void)arg;
    bool was = pause_faults();
    char *path = ts_path(fx.dir, "saved.pub");
    unlink(path);
    resume_faults(was);
    int rc = clientscan_public_key_save(&fx.user_pub, path, d);
    settle();
    struct stat st;
    if (rc == CLIENTSCAN_OK) {
        clientscan_public_key back;
        assert_int_equal(clientscan_public_key_load(path, CLIENTSCAN_ROLE_USER, &back, NULL), 0);
        assert_memory_equal(&back, &fx.user_pub, sizeof back);
    } else {
        assert_int_not_equal(stat(path, &st), 0);
    }
    assert_int_equal(temp_files_left(), 0);
    unlink(path);
    free(path);
    return rc;
}

/* ---------------------------------------------------------------- lists */

static int op_build_list(const void *arg, clientscan_detail *d)
{
    (void)arg;
    blob out;
    int rc = build_list(&out, d);
    settle();
    if (rc == CLIENTSCAN_OK) {
        /* Ed25519 signatures are deterministic: the very same bytes. */
        assert_int_equal(out.len, fx.list.len);
        assert_memory_equal(out.data, fx.list.data, out.len);
    } else {
        assert_null(out.data);
    }
    free(out.data);
    return rc;
}

/* k-of-n with a distance: 300 hashes from provider a, near copies (3 bits
 * flipped) of the first 100 from provider b; 2-of-2 within 8 bits keeps
 * those 100 pairs. The support search builds an index of its own. */
static int op_require(const void *arg, clientscan_detail *d)
{
    (void)arg;
    clientscan_list_builder *b = NULL;
    unsigned pa = 0, pb = 0;
    size_t kept = 0;
    int rc = clientscan_list_builder_new(&b, d);
    if (rc == CLIENTSCAN_OK)
        rc = clientscan_list_builder_add_provider(b, "a", &pa, d);
    if (rc == CLIENTSCAN_OK)
        rc = clientscan_list_builder_add_provider(b, "b", &pb, d);
    for (size_t i = 0; i < RANDOM_ENTRIES && rc == CLIENTSCAN_OK; i++)
        rc = clientscan_list_builder_add(b, &fx.hashes[i], NULL, (int)pa, d);
    for (size_t i = 0; i < 100 && rc == CLIENTSCAN_OK; i++) {
        clientscan_pdq near = fx.hashes[i];
        near.bytes[0] ^= 0x01;
        near.bytes[9] ^= 0x10;
        near.bytes[31] ^= 0x80;
        rc = clientscan_list_builder_add(b, &near, NULL, (int)pb, d);
    }
    if (rc == CLIENTSCAN_OK)
        rc = clientscan_list_builder_require(b, 2, 8, &kept, d);
    settle();
    if (rc == CLIENTSCAN_OK) {
        assert_int_equal(kept, 200); /* both of each pair */
        assert_int_equal(clientscan_list_builder_count(b), 200);
    }
    clientscan_list_builder_free(b);
    return rc;
}

static int op_add_text(const void *arg, clientscan_detail *d)
{
    (void)arg;
    clientscan_list_builder *b = NULL;
    int rc = clientscan_list_builder_new(&b, d);
    size_t added = 0;
    if (rc == CLIENTSCAN_OK)
        rc = clientscan_list_builder_add_text(b, fx.text, fx.text_len, -1, 0, &added, d);
    settle();
    if (rc == CLIENTSCAN_OK) {
        assert_int_equal(added, 40);
        assert_int_equal(clientscan_list_builder_count(b), 40);
    } else if (b) {
        assert_int_equal(clientscan_list_builder_count(b), 0); /* all or nothing */
    }
    clientscan_list_builder_free(b);
    return rc;
}

static void assert_same_list(const clientscan_list *l)
{
    assert_int_equal(clientscan_list_count(l), fx.list_count);
    assert_memory_equal(clientscan_list_digest(l), clientscan_list_digest(fx.opened),
                        CLIENTSCAN_LIST_DIGEST_BYTES);
    assert_int_equal(clientscan_list_verified(l), 1);
    clientscan_list_entry a, b;
    for (size_t i = 0; i < fx.list_count; i += 37) {
        assert_int_equal(clientscan_list_entry_at(l, i, &a), 0);
        assert_int_equal(clientscan_list_entry_at(fx.opened, i, &b), 0);
        assert_memory_equal(&a, &b, sizeof a);
    }
}

static int op_list_open(const void *arg, clientscan_detail *d)
{
    unsigned substrings = *(const unsigned *)arg;
    clientscan_list_params lp;
    memset(&lp, 0, sizeof lp);
    lp.authorities = &fx.authority_pub;
    lp.authority_count = 1;
    lp.index_substrings = substrings;
    clientscan_list *l = (clientscan_list *)&lp; /* must become NULL on failure */
    int rc = clientscan_list_open_memory(fx.list.data, fx.list.len, &lp, &l, d);
    settle();
    if (rc == CLIENTSCAN_OK)
        assert_same_list(l);
    else
        assert_null(l);
    clientscan_list_close(l);
    return rc;
}

static int op_list_open_file(const void *arg, clientscan_detail *d)
{
    (void)arg;
    clientscan_list_params lp;
    memset(&lp, 0, sizeof lp);
    lp.authorities = &fx.authority_pub;
    lp.authority_count = 1;
    clientscan_list *l = NULL;
    int rc = clientscan_list_open(fx.list_path, &lp, &l, d);
    settle();
    if (rc == CLIENTSCAN_OK)
        assert_same_list(l);
    else
        assert_null(l);
    clientscan_list_close(l);
    return rc;
}

static int op_add_signature(const void *arg, clientscan_detail *d)
{
    (void)arg;
    uint8_t *out = (uint8_t *)&out;
    size_t len = 1;
    int rc = clientscan_list_add_signature(fx.list.data, fx.list.len, fx.authority2, &out, &len, d);
    settle();
    if (rc == CLIENTSCAN_OK) {
        assert_int_equal(len, fx.list_cosigned.len);
        assert_memory_equal(out, fx.list_cosigned.data, len);
    } else {
        assert_null(out);
    }
    free(out);
    return rc;
}

static int op_add_list(const void *arg, clientscan_detail *d)
{
    (void)arg;
    clientscan_list_builder *b = NULL;
    int rc = clientscan_list_builder_new(&b, d);
    if (rc == CLIENTSCAN_OK)
        rc = clientscan_list_builder_add_list(b, fx.opened, -1, d);
    settle();
    if (rc == CLIENTSCAN_OK)
        assert_int_equal(clientscan_list_builder_count(b), fx.list_count);
    clientscan_list_builder_free(b);
    return rc;
}

/* Distance 256 reaches every entry: the hit vectors grow many times. */
static int op_match(const void *arg, clientscan_detail *d)
{
    clientscan_match_method method = *(const clientscan_match_method *)arg;
    clientscan_match_params mp = {256, 1, 0, method};
    clientscan_match m[512];
    size_t found = 12345;
    int rc = clientscan_list_match(fx.opened, &fx.hashed[IMG_PNG], &mp, m,
                                   sizeof m / sizeof m[0], &found, NULL, d);
    settle();
    if (rc == CLIENTSCAN_OK) {
        assert_int_equal(found, fx.match_found);
        assert_memory_equal(m, fx.matches, found * sizeof m[0]);
    }
    return rc;
}

/* ---------------------------------------------------------------- scanner */

static int op_scanner_open(const void *arg, clientscan_detail *d)
{
    (void)arg;
    clientscan_scanner_params sp = scanner_params();
    clientscan_scanner *s = (clientscan_scanner *)&sp;
    int rc = clientscan_scanner_open_memory(fx.list.data, fx.list.len, &sp, &s, d);
    settle();
    if (rc == CLIENTSCAN_OK)
        assert_same_list(clientscan_scanner_list(s));
    else
        assert_null(s);
    clientscan_scanner_close(s);
    return rc;
}

static void assert_same_verdict(const clientscan_verdict *a, const clientscan_verdict *b)
{
    assert_int_equal(a->kind, b->kind);
    assert_int_equal(a->scanned, b->scanned);
    assert_int_equal(a->matched, b->matched);
    assert_int_equal(a->quality, b->quality);
    assert_int_equal(a->entry, b->entry);
    assert_memory_equal(a->entry_id, b->entry_id, sizeof a->entry_id);
    assert_int_equal(a->distance, b->distance);
    assert_int_equal(a->variant, b->variant);
    assert_int_equal(a->match_count, b->match_count);
    assert_int_equal(a->scan_error, b->scan_error);
    assert_string_equal(a->reason.text, b->reason.text);
    assert_int_equal(a->format, b->format);
}

typedef struct scan_case {
    const blob *input;
    const clientscan_verdict *want;
} scan_case;

static int op_scan(const void *arg, clientscan_detail *d)
{
    const scan_case *c = arg;
    clientscan_verdict v;
    int rc = clientscan_scan(fx.scanner, c->input->data, c->input->len, &v, d);
    settle();
    /* An allocation failure must never turn into an "unscannable" verdict:
     * that would send the attachment unscanned. */
    if (rc == CLIENTSCAN_OK)
        assert_same_verdict(&v, c->want);
    else
        assert_true(all_zero(&v, sizeof v));
    return rc;
}

static int op_prepare(const void *arg, clientscan_detail *d)
{
    const scan_case *c = arg;
    clientscan_prepared p;
    int rc = clientscan_prepare_attachment(fx.scanner, c->input->data, c->input->len, &p, d);
    settle();
    if (rc != CLIENTSCAN_OK) {
        assert_true(all_zero(&p, sizeof p));
        return rc;
    }
    assert_same_verdict(&p.verdict, c->want);
    clientscan_report r;
    assert_int_equal(clientscan_open_report(fx.moderator, p.slot, sizeof p.slot, &r, NULL), 0);
    assert_int_equal(r.kind, c->want->matched ? CLIENTSCAN_REPORT_MATCH
                             : c->want->scanned ? CLIENTSCAN_REPORT_NO_MATCH
                                                : CLIENTSCAN_REPORT_UNSCANNED);
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    assert_int_equal(clientscan_open_attachment(p.key, p.ciphertext, p.ciphertext_len, &plain,
                                                &plain_len, NULL), 0);
    assert_int_equal(plain_len, c->input->len);
    assert_memory_equal(plain, c->input->data, plain_len);
    free(plain);
    clientscan_report_release(&r);
    clientscan_prepared_release(&p);
    return rc;
}

static int op_open_report(const void *arg, clientscan_detail *d)
{
    (void)arg;
    clientscan_report r;
    int rc = clientscan_open_report(fx.moderator, fx.prepared.slot, sizeof fx.prepared.slot, &r, d);
    settle();
    if (rc == CLIENTSCAN_OK) {
        assert_int_equal(r.kind, fx.report.kind);
        assert_memory_equal(r.entry_id, fx.report.entry_id, sizeof r.entry_id);
        assert_memory_equal(r.ciphertext_digest, fx.report.ciphertext_digest,
                            sizeof r.ciphertext_digest);
        assert_non_null(r.key);
        assert_memory_equal(clientscan_attachment_key_bytes(r.key),
                            clientscan_attachment_key_bytes(fx.prepared.key),
                            CLIENTSCAN_ATTACHMENT_KEY_BYTES);
    } else {
        assert_true(all_zero(&r, sizeof r));
    }
    clientscan_report_release(&r);
    return rc;
}

static int op_report_attachment(const void *arg, clientscan_detail *d)
{
    (void)arg;
    uint8_t *plain = (uint8_t *)&plain;
    size_t len = 1;
    int rc = clientscan_report_open_attachment(&fx.report, fx.prepared.ciphertext,
                                               fx.prepared.ciphertext_len, &plain, &len, d);
    settle();
    if (rc == CLIENTSCAN_OK) {
        assert_int_equal(len, fx.img[IMG_PNG].len);
        assert_memory_equal(plain, fx.img[IMG_PNG].data, len);
    } else {
        assert_null(plain);
    }
    free(plain);
    return rc;
}

/* ---------------------------------------------------------------- attachments */

static int op_key_new(const void *arg, clientscan_detail *d)
{
    (void)arg;
    clientscan_attachment_key *k = (clientscan_attachment_key *)&k;
    int rc = clientscan_attachment_key_new(&k, d);
    settle();
    if (rc == CLIENTSCAN_OK)
        assert_non_null(clientscan_attachment_key_bytes(k));
    else
        assert_null(k);
    clientscan_attachment_key_free(k);
    return rc;
}

static int op_encrypt(const void *arg, clientscan_detail *d)
{
    (void)arg;
    uint8_t *ct = (uint8_t *)&ct;
    size_t len = 1;
    uint8_t digest[CLIENTSCAN_ATTACHMENT_DIGEST_BYTES];
    int rc = clientscan_encrypt_attachment(fx.key, fx.plaintext.data, fx.plaintext.len, &ct, &len,
                                           digest, d);
    settle();
    if (rc == CLIENTSCAN_OK) {
        uint8_t *plain = NULL;
        size_t plain_len = 0;
        assert_int_equal(clientscan_open_attachment(fx.key, ct, len, &plain, &plain_len, NULL), 0);
        assert_int_equal(plain_len, fx.plaintext.len);
        assert_memory_equal(plain, fx.plaintext.data, plain_len);
        free(plain);
    } else {
        assert_null(ct);
        assert_int_equal(len, 0);
    }
    free(ct);
    return rc;
}

static int op_open_attachment(const void *arg, clientscan_detail *d)
{
    (void)arg;
    uint8_t *plain = (uint8_t *)&plain;
    size_t len = 1;
    int rc = clientscan_open_attachment(fx.key, fx.ciphertext.data, fx.ciphertext.len, &plain, &len, d);
    settle();
    if (rc == CLIENTSCAN_OK) {
        assert_int_equal(len, fx.plaintext.len);
        assert_memory_equal(plain, fx.plaintext.data, len);
    } else {
        assert_null(plain);
        assert_int_equal(len, 0);
    }
    free(plain);
    return rc;
}

static int op_seal_unseal(const void *arg, clientscan_detail *d)
{
    (void)arg;
    uint8_t sealed[CLIENTSCAN_SEALED_KEY_BYTES];
    int rc = clientscan_attachment_key_seal(fx.key, &fx.user_pub, sealed, d);
    clientscan_attachment_key *k = NULL;
    if (rc == CLIENTSCAN_OK)
        rc = clientscan_attachment_key_unseal(fx.user, sealed, sizeof sealed, &k, d);
    settle();
    if (rc == CLIENTSCAN_OK)
        assert_memory_equal(clientscan_attachment_key_bytes(k), clientscan_attachment_key_bytes(fx.key),
                            CLIENTSCAN_ATTACHMENT_KEY_BYTES);
    else
        assert_null(k);
    clientscan_attachment_key_free(k);
    return rc;
}

typedef struct membuf {
    const uint8_t *in;
    size_t in_left;
    uint8_t *out;
    size_t out_len, out_cap;
} membuf;

static int mem_read(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    membuf *m = ctx;
    size_t n = m->in_left < cap ? m->in_left : cap;
    if (n > 1000)
        n = 1000; /* short reads */
    memcpy(buf, m->in, n);
    m->in += n;
    m->in_left -= n;
    *got = n;
    return 0;
}

static int mem_write(void *ctx, const uint8_t *buf, size_t len)
{
    membuf *m = ctx;
    if (len > m->out_cap - m->out_len)
        return -1;
    memcpy(m->out + m->out_len, buf, len);
    m->out_len += len;
    return 0;
}

static int op_open_stream(const void *arg, clientscan_detail *d)
{
    (void)arg;
    bool was = pause_faults();
    uint8_t *out = ts_malloc(fx.plaintext.len);
    resume_faults(was);
    membuf m = {fx.ciphertext.data, fx.ciphertext.len, out, 0, fx.plaintext.len};
    int rc = clientscan_open_attachment_stream(fx.key, mem_read, &m, mem_write, &m, NULL, d);
    settle();
    if (rc == CLIENTSCAN_OK) {
        assert_int_equal(m.out_len, fx.plaintext.len);
        assert_memory_equal(out, fx.plaintext.data, m.out_len);
    }
    free(out);
    return rc;
}

/* ================================================================ tests */

static void test_images(void **state)
{
    (void)state;
    static int idx[IMG_COUNT];
    for (int i = 0; i < IMG_COUNT; i++) {
        idx[i] = i;
        char name[64];
        snprintf(name, sizeof name, "decode %s", image_names[i]);
        sweep(name, op_decode, &idx[i], only_nomem);
        snprintf(name, sizeof name, "hash %s", image_names[i]);
        sweep(name, op_hash, &idx[i], only_nomem);
    }
    sweep("decode file", op_decode_file, NULL, only_nomem);
    sweep("hash file", op_hash_file, NULL, only_nomem);
    sweep("hash pipelined", op_hash_pipelined, NULL, only_nomem);
    static const clientscan_pdq_mode full = CLIENTSCAN_PDQ_MODE_FULL, cli = CLIENTSCAN_PDQ_MODE_CLI512;
    sweep("pdq_hash_image full", op_hash_image, &full, only_nomem);
    sweep("pdq_hash_image cli512", op_hash_image, &cli, only_nomem);
    sweep("pdq hasher", op_hasher, NULL, only_nomem);
    sweep("hash_batch 6 items, 3 threads", op_batch, NULL, only_nomem);
}

static void test_baselines_and_transforms(void **state)
{
    (void)state;
    sweep("hash64", op_hash64, NULL, only_nomem);
    static int idx[CLIENTSCAN_TRANSFORM_COUNT];
    for (int t = 0; t < CLIENTSCAN_TRANSFORM_COUNT; t++) {
        if (fx.transform_rc[t] != CLIENTSCAN_OK)
            continue; /* e.g. too small for this transform: nothing to compare */
        idx[t] = t;
        char name[64];
        snprintf(name, sizeof name, "transform %s", clientscan_transform_name((clientscan_transform)t));
        sweep(name, op_transform, &idx[t], only_nomem);
    }
}

static void test_keys(void **state)
{
    (void)state;
    static const clientscan_key_role roles[] = {CLIENTSCAN_ROLE_AUTHORITY, CLIENTSCAN_ROLE_MODERATOR,
                                                CLIENTSCAN_ROLE_USER};
    for (int i = 0; i < 3; i++) {
        char name[64];
        snprintf(name, sizeof name, "keygen %s", clientscan_key_role_name(roles[i]));
        sweep(name, op_keygen, &roles[i], only_nomem);
    }
    sweep("secret key parse", op_secret_parse, NULL, only_nomem);
    sweep("secret key load", op_secret_load, NULL, only_nomem);
    sweep("secret key save", op_secret_save, NULL, only_nomem);
    sweep("public key save", op_public_save, NULL, only_nomem);
}

static void test_lists(void **state)
{
    (void)state;
    sweep("build, import, k-of-n, sign", op_build_list, NULL, only_nomem);
    sweep("builder add_text", op_add_text, NULL, only_nomem);
    sweep("k-of-n within 8 bits", op_require, NULL, only_nomem);
    sweep("builder add_list", op_add_list, NULL, only_nomem);
    static const unsigned shapes[] = {0, 1, 8};
    for (int i = 0; i < 3; i++) {
        char name[64];
        snprintf(name, sizeof name, "open signed list, %u substrings", shapes[i]);
        sweep(name, op_list_open, &shapes[i], only_nomem);
    }
    sweep("open signed list file", op_list_open_file, NULL, only_nomem);
    sweep("co-sign list", op_add_signature, NULL, only_nomem);
    static const clientscan_match_method methods[] = {CLIENTSCAN_MATCH_LINEAR, CLIENTSCAN_MATCH_INDEX};
    sweep("match 8 variants, linear", op_match, &methods[0], only_nomem);
    sweep("match 8 variants, index", op_match, &methods[1], only_nomem);
}

static void test_scanner(void **state)
{
    (void)state;
    sweep("scanner open", op_scanner_open, NULL, only_nomem);
    const scan_case match = {&fx.img[IMG_PNG], &fx.verdict_match};
    const scan_case noise = {&fx.noise, &fx.verdict_noise};
    const scan_case garbage = {&fx.garbage, &fx.verdict_garbage};
    sweep("scan, match", op_scan, &match, only_nomem);
    sweep("scan, no match", op_scan, &noise, only_nomem);
    sweep("scan, unscannable", op_scan, &garbage, only_nomem);
    sweep("prepare, match", op_prepare, &match, only_nomem);
    sweep("prepare, no match", op_prepare, &noise, only_nomem);
    sweep("prepare, unscannable", op_prepare, &garbage, only_nomem);
    sweep("open report", op_open_report, NULL, only_nomem);
    sweep("report open attachment", op_report_attachment, NULL, only_nomem);
}

static void test_attachments(void **state)
{
    (void)state;
    sweep("attachment key new", op_key_new, NULL, only_nomem);
    sweep("encrypt attachment", op_encrypt, NULL, only_nomem);
    sweep("open attachment", op_open_attachment, NULL, only_nomem);
    sweep("open attachment stream", op_open_stream, NULL, only_nomem);
    sweep("seal + unseal key", op_seal_unseal, NULL, only_nomem);
}

/* ---------------------------------------------------------------- I/O faults */

static void test_short_reads_and_eintr(void **state)
{
    (void)state;
    clientscan_image img;
    clientscan_secret_key *sk = NULL;
    clientscan_list *l = NULL;
    clientscan_list_params lp;
    memset(&lp, 0, sizeof lp);
    lp.authorities = &fx.authority_pub;
    lp.authority_count = 1;
    clientscan_detail d;
    io_arm(IO_SHORT, 0);
    int rc_img = clientscan_decode_file(fx.png_path, NULL, &img, &d);
    int rc_key = clientscan_secret_key_load(fx.sec_path, CLIENTSCAN_ROLE_USER, &sk, &d);
    int rc_list = clientscan_list_open(fx.list_path, &lp, &l, &d);
    io_disarm();
    assert_int_equal(rc_img, CLIENTSCAN_OK);
    assert_int_equal(rc_key, CLIENTSCAN_OK);
    assert_int_equal(rc_list, CLIENTSCAN_OK);
    assert_true(atomic_load(&io_calls) > 100); /* the short reads did happen */
    assert_same_image(&img, &fx.decoded[IMG_PNG]);
    assert_same_secret(sk, fx.user);
    assert_same_list(l);
    clientscan_image_release(&img);
    clientscan_secret_key_free(sk);
    clientscan_list_close(l);

    /* Short writes and EINTR: the saved file is whole. */
    char *path = ts_path(fx.dir, "short.sec");
    io_arm(IO_SHORT, 0);
    int rc = clientscan_secret_key_save(fx.user, path, &d);
    io_disarm();
    assert_int_equal(rc, CLIENTSCAN_OK);
    size_t len;
    uint8_t *saved = ts_read_file(path, &len);
    assert_int_equal(len, fx.sec_file.len);
    assert_memory_equal(saved, fx.sec_file.data, len);
    free(saved);
    unlink(path);
    free(path);
}

static void test_read_errors(void **state)
{
    (void)state;
    for (long k = 1; k <= 3; k++) {
        clientscan_image img;
        clientscan_secret_key *sk = NULL;
        clientscan_list *l = (clientscan_list *)&img;
        clientscan_list_params lp;
        memset(&lp, 0, sizeof lp);
        lp.authorities = &fx.authority_pub;
        lp.authority_count = 1;
        clientscan_detail d1, d2, d3;
        atomic_store(&tracking, true);
        io_arm(IO_READ_EIO, k);
        int rc_img = clientscan_decode_file(fx.png_path, NULL, &img, &d1);
        bool hit_img = io_disarm();
        io_arm(IO_READ_EIO, k);
        int rc_key = clientscan_secret_key_load(fx.sec_path, CLIENTSCAN_ROLE_USER, &sk, &d2);
        bool hit_key = io_disarm();
        io_arm(IO_READ_EIO, k);
        int rc_list = clientscan_list_open(fx.list_path, &lp, &l, &d3);
        bool hit_list = io_disarm();
        /* The first read fails for sure; later ones only if the reader
         * needs that many calls. */
        if (k == 1)
            assert_true(hit_img && hit_key && hit_list);
        if (hit_img) {
            assert_int_equal(rc_img, CLIENTSCAN_E_IO);
            assert_non_null(strstr(d1.text, strerror(EIO)));
            assert_released_image(&img);
        }
        if (hit_key) {
            assert_int_equal(rc_key, CLIENTSCAN_E_IO);
            assert_non_null(strstr(d2.text, strerror(EIO)));
            assert_null(sk);
        }
        if (hit_list) {
            assert_int_equal(rc_list, CLIENTSCAN_E_IO);
            assert_non_null(strstr(d3.text, strerror(EIO)));
            assert_null(l);
        }
        clientscan_image_release(&img);
        clientscan_secret_key_free(sk);
        clientscan_list_close(l);
        assert_int_equal(tracking_stop(), 0);
    }
}

/* A full disk at the first, second, ... write, and a failing fsync: E_IO,
 * the previous file intact, no temporary file left. */
static void test_write_errors(void **state)
{
    (void)state;
    char *path = ts_path(fx.dir, "full.sec");
    static const char old[] = "the previous key file\n";
    for (long k = 1; k <= 4; k++) {
        for (int mode = IO_WRITE_ENOSPC; mode <= IO_FSYNC_EIO; mode++) {
            ts_write_file(path, old, sizeof old - 1);
            clientscan_detail d;
            memset(&d, 0, sizeof d);
            io_arm((io_mode)mode, k);
            int rc = clientscan_secret_key_save(fx.user, path, &d);
            bool was_hit = io_disarm();
            size_t len;
            uint8_t *now = ts_read_file(path, &len);
            if (was_hit) {
                assert_int_equal(rc, CLIENTSCAN_E_IO);
                assert_non_null(strstr(d.text, strerror(mode == IO_FSYNC_EIO ? EIO : ENOSPC)));
                assert_int_equal(len, sizeof old - 1);
                assert_memory_equal(now, old, len);
            } else {
                assert_int_equal(rc, CLIENTSCAN_OK);
                assert_int_equal(len, fx.sec_file.len);
            }
            assert_int_equal(temp_files_left(), 0);
            free(now);
        }
    }
    unlink(path);
    free(path);
}

/* Every code a failing run may return has its own fixed description. */
static void test_error_descriptions(void **state)
{
    (void)state;
    const char *seen[32];
    int n = 0;
    for (int code = CLIENTSCAN_OK; code >= CLIENTSCAN_E_INTERNAL; code--) {
        const char *s = clientscan_strerror(code);
        assert_non_null(s);
        assert_string_not_equal(s, clientscan_strerror(1)); /* not "unknown" */
        for (int i = 0; i < n; i++)
            assert_string_not_equal(s, seen[i]);
        seen[n++] = s;
    }
    assert_string_equal(clientscan_strerror(CLIENTSCAN_E_INTERNAL - 1), clientscan_strerror(1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_images),
        cmocka_unit_test(test_baselines_and_transforms),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_scanner),
        cmocka_unit_test(test_attachments),
        cmocka_unit_test(test_short_reads_and_eintr),
        cmocka_unit_test(test_read_errors),
        cmocka_unit_test(test_write_errors),
        cmocka_unit_test(test_error_descriptions),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
