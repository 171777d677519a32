/* The scanner end to end in the library: verdicts for listed, mirrored,
 * unrelated, unscannable and low-quality images; prepare -> open slot ->
 * open attachment round trips; policies; opening errors; threshold; and
 * many threads sharing one scanner. */
#include "support.h"
#include "images.h"

#include "clientscan.h"

#include <png.h>
#include <math.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------ test images */

typedef struct blob {
    uint8_t *data;
    size_t len;
} blob;

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

/* Deterministic smooth picture: a gradient and 24 soft colour blobs,
 * optionally mirrored left-right, optionally with one blob recoloured.
 * 320x240 on purpose: PDQ's box filter window is then 3 pixels wide (odd,
 * hence mirror-symmetric); with even windows (e.g. 160 or 256 pixels wide)
 * an exact mirror lands tens of bits away, as in the reference. */
static void render(uint32_t seed, uint32_t w, uint32_t h, bool mirror, bool alter, uint8_t *rgb)
{
    struct {
        double x, y, sigma, col[3];
    } blobs[24];
    uint32_t s = seed;
    for (int i = 0; i < 24; i++) {
        blobs[i].x = lcg(&s) % w;
        blobs[i].y = lcg(&s) % h;
        blobs[i].sigma = i < 12 ? 10 + lcg(&s) % 20 : 3 + lcg(&s) % 6;
        for (int c = 0; c < 3; c++)
            blobs[i].col[c] = (double)(lcg(&s) % 256) - 128;
        if (alter && i == 11)
            for (int c = 0; c < 3; c++)
                blobs[i].col[c] = -blobs[i].col[c];
    }
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            uint32_t sx = mirror ? w - 1 - x : x;
            double px[3] = {sx * 255.0 / w, y * 255.0 / h, (seed * 37) % 256};
            for (int i = 0; i < 24; i++) {
                double dx = sx - blobs[i].x, dy = y - blobs[i].y;
                double g = exp(-(dx * dx + dy * dy) / (2 * blobs[i].sigma * blobs[i].sigma));
                for (int c = 0; c < 3; c++)
                    px[c] += g * blobs[i].col[c];
            }
            uint8_t *p = rgb + ((size_t)y * w + x) * 3;
            for (int c = 0; c < 3; c++)
                p[c] = (uint8_t)(px[c] < 0 ? 0 : px[c] > 255 ? 255 : px[c] + 0.5);
        }
}

static blob encode_png(const uint8_t *rgb, uint32_t w, uint32_t h)
{
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = w;
    img.height = h;
    img.format = PNG_FORMAT_RGB;
    png_alloc_size_t size = 0;
    assert_true(png_image_write_to_memory(&img, NULL, &size, 0, rgb, 0, NULL));
    blob b = {malloc(size), 0};
    assert_non_null(b.data);
    assert_true(png_image_write_to_memory(&img, b.data, &size, 0, rgb, 0, NULL));
    b.len = size;
    return b;
}

static blob make_image(uint32_t seed, bool mirror, bool alter)
{
    const uint32_t w = 320, h = 240;
    uint8_t *rgb = ts_malloc((size_t)w * h * 3);
    render(seed, w, h, mirror, alter, rgb);
    blob b = encode_png(rgb, w, h);
    free(rgb);
    return b;
}

static blob make_flat(void)
{
    uint8_t rgb[64 * 64 * 3];
    memset(rgb, 128, sizeof rgb);
    return encode_png(rgb, 64, 64);
}

static clientscan_pdq_result hash_of(const blob *b)
{
    clientscan_hash_params hp = {.mode = CLIENTSCAN_PDQ_MODE_FULL, .dihedral = 1};
    clientscan_pdq_result r;
    clientscan_detail d;
    if (clientscan_hash_memory(b->data, b->len, &hp, &r, NULL, &d) != CLIENTSCAN_OK)
        fail_msg("hash: %s", d.text);
    return r;
}

/* ------------------------------------------------------------ fixture */

enum { IMG_A, IMG_B, IMG_MIRROR_A, IMG_ALTERED_A, IMG_C, IMG_FLAT, IMG_COUNT };

typedef struct fixture {
    clientscan_public_key authority_pub, other_authority_pub, moderator_pub, user_pub;
    clientscan_secret_key *authority, *other_authority, *moderator, *user;
    blob img[IMG_COUNT];
    uint8_t id_a[CLIENTSCAN_LIST_ID_BYTES];
    uint8_t *list;
    size_t list_len;
} fixture;

static fixture fx;

static int setup(void **state)
{
    (void)state;
    memset(&fx, 0, sizeof fx);
    assert_int_equal(clientscan_keypair_generate(CLIENTSCAN_ROLE_AUTHORITY, &fx.authority_pub,
                                                 &fx.authority, NULL), 0);
    assert_int_equal(clientscan_keypair_generate(CLIENTSCAN_ROLE_AUTHORITY, &fx.other_authority_pub,
                                                 &fx.other_authority, NULL), 0);
    assert_int_equal(clientscan_keypair_generate(CLIENTSCAN_ROLE_MODERATOR, &fx.moderator_pub,
                                                 &fx.moderator, NULL), 0);
    assert_int_equal(clientscan_keypair_generate(CLIENTSCAN_ROLE_USER, &fx.user_pub, &fx.user, NULL), 0);
    fx.img[IMG_A] = make_image(11, false, false);
    fx.img[IMG_B] = make_image(22, false, false);
    fx.img[IMG_MIRROR_A] = make_image(11, true, false);
    fx.img[IMG_ALTERED_A] = make_image(11, false, true);
    fx.img[IMG_C] = make_image(33, false, false);
    fx.img[IMG_FLAT] = make_flat();
    /* List: A (with a chosen id), B and the flat image (derived ids). */
    clientscan_list_builder *b = NULL;
    assert_int_equal(clientscan_list_builder_new(&b, NULL), 0);
    assert_int_equal(clientscan_list_builder_set_name(b, "scanner test", NULL), 0);
    clientscan_list_builder_set_sequence(b, 5);
    memcpy(fx.id_a, "entry-A-chosen!!", CLIENTSCAN_LIST_ID_BYTES);
    clientscan_pdq_result ha = hash_of(&fx.img[IMG_A]), hb = hash_of(&fx.img[IMG_B]),
                          hf = hash_of(&fx.img[IMG_FLAT]);
    assert_true(ha.quality >= CLIENTSCAN_PDQ_MIN_QUALITY);
    assert_true(hf.quality < CLIENTSCAN_PDQ_MIN_QUALITY);
    assert_int_equal(clientscan_list_builder_add(b, &ha.hash[0], fx.id_a, -1, NULL), 0);
    assert_int_equal(clientscan_list_builder_add(b, &hb.hash[0], NULL, -1, NULL), 0);
    assert_int_equal(clientscan_list_builder_add(b, &hf.hash[0], NULL, -1, NULL), 0);
    const clientscan_secret_key *signers[] = {fx.authority};
    assert_int_equal(clientscan_list_builder_encode(b, signers, 1, &fx.list, &fx.list_len, NULL), 0);
    clientscan_list_builder_free(b);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    clientscan_secret_key_free(fx.authority);
    clientscan_secret_key_free(fx.other_authority);
    clientscan_secret_key_free(fx.moderator);
    clientscan_secret_key_free(fx.user);
    for (int i = 0; i < IMG_COUNT; i++)
        free(fx.img[i].data);
    free(fx.list);
    return 0;
}

static clientscan_scanner_params default_params(void)
{
    clientscan_scanner_params p;
    memset(&p, 0, sizeof p);
    p.list.authorities = &fx.authority_pub;
    p.list.authority_count = 1;
    p.moderator = &fx.moderator_pub;
    return p;
}

static clientscan_scanner *open_scanner(const clientscan_scanner_params *p)
{
    clientscan_scanner *s = NULL;
    clientscan_detail d;
    if (clientscan_scanner_open_memory(fx.list, fx.list_len, p, &s, &d) != CLIENTSCAN_OK)
        fail_msg("scanner open: %s", d.text);
    return s;
}

static clientscan_verdict scan(const clientscan_scanner *s, const void *data, size_t len)
{
    clientscan_verdict v;
    clientscan_detail d;
    if (clientscan_scan(s, data, len, &v, &d) != CLIENTSCAN_OK)
        fail_msg("scan: %s", d.text);
    return v;
}

/* Smallest distance from any dihedral variant of q to h: computed here
 * independently of the list index. */
static int best_distance(const clientscan_pdq_result *q, const clientscan_pdq *h)
{
    int best = 257;
    for (int v = 0; v < CLIENTSCAN_DIHEDRAL_COUNT; v++) {
        int dist = clientscan_pdq_distance(&q->hash[v], h);
        if (dist < best)
            best = dist;
    }
    return best;
}

/* ------------------------------------------------------------ tests */

static void test_verdicts(void **state)
{
    (void)state;
    clientscan_scanner_params p = default_params();
    clientscan_scanner *s = open_scanner(&p);
    const clientscan_list *list = clientscan_scanner_list(s);
    assert_int_equal(clientscan_list_count(list), 3);

    clientscan_verdict v = scan(s, fx.img[IMG_A].data, fx.img[IMG_A].len);
    assert_int_equal(v.kind, CLIENTSCAN_VERDICT_MATCH);
    assert_true(v.scanned && v.matched);
    assert_int_equal(v.distance, 0);
    assert_int_equal(v.variant, CLIENTSCAN_DIHEDRAL_ORIGINAL);
    assert_memory_equal(v.entry_id, fx.id_a, CLIENTSCAN_LIST_ID_BYTES);
    assert_int_equal(v.format, CLIENTSCAN_FORMAT_PNG);
    clientscan_list_entry e;
    assert_int_equal(clientscan_list_entry_at(list, v.entry, &e), 0);
    assert_memory_equal(e.id, fx.id_a, CLIENTSCAN_LIST_ID_BYTES);

    /* Mirrored copy: found through a dihedral variant, at the distance the
     * hashes themselves give. */
    clientscan_pdq_result ha = hash_of(&fx.img[IMG_A]), hm = hash_of(&fx.img[IMG_MIRROR_A]);
    int expect = best_distance(&hm, &ha.hash[0]);
    assert_true(expect <= CLIENTSCAN_PDQ_MATCH_THRESHOLD);
    assert_true(clientscan_pdq_distance(&hm.hash[0], &ha.hash[0]) > CLIENTSCAN_PDQ_MATCH_THRESHOLD);
    v = scan(s, fx.img[IMG_MIRROR_A].data, fx.img[IMG_MIRROR_A].len);
    assert_int_equal(v.kind, CLIENTSCAN_VERDICT_MATCH);
    assert_int_equal(v.distance, expect);
    assert_int_not_equal(v.variant, CLIENTSCAN_DIHEDRAL_ORIGINAL);
    assert_int_equal(clientscan_pdq_distance(&hm.hash[v.variant], &ha.hash[0]), expect);
    assert_memory_equal(v.entry_id, fx.id_a, CLIENTSCAN_LIST_ID_BYTES);

    /* Unrelated image. */
    clientscan_pdq_result hc = hash_of(&fx.img[IMG_C]);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(clientscan_list_entry_at(list, i, &e), 0);
        assert_true(best_distance(&hc, &e.hash) > CLIENTSCAN_PDQ_MATCH_THRESHOLD);
    }
    v = scan(s, fx.img[IMG_C].data, fx.img[IMG_C].len);
    assert_int_equal(v.kind, CLIENTSCAN_VERDICT_NO_MATCH);
    assert_true(v.scanned);
    assert_false(v.matched);
    assert_int_equal(v.quality, hc.quality);

    /* Unscannable inputs: not errors, verdicts. */
    const char garbage[] = "this is a text file, not an image";
    v = scan(s, garbage, sizeof garbage);
    assert_int_equal(v.kind, CLIENTSCAN_VERDICT_UNSCANNABLE);
    assert_false(v.scanned);
    assert_int_equal(v.quality, -1);
    assert_int_equal(v.scan_error, CLIENTSCAN_E_UNSUPPORTED_FORMAT);
    assert_true(v.reason.text[0] != 0);
    const char gif[] = "GIF89a\x10\x00\x10\x00\x80\x00\x00";
    v = scan(s, gif, sizeof gif - 1);
    assert_int_equal(v.kind, CLIENTSCAN_VERDICT_UNSCANNABLE);
    assert_int_equal(v.format, CLIENTSCAN_FORMAT_GIF);
    v = scan(s, NULL, 0);
    assert_int_equal(v.kind, CLIENTSCAN_VERDICT_UNSCANNABLE);
    v = scan(s, fx.img[IMG_A].data, fx.img[IMG_A].len / 2); /* truncated PNG */
    assert_int_equal(v.kind, CLIENTSCAN_VERDICT_UNSCANNABLE);
    assert_int_equal(v.format, CLIENTSCAN_FORMAT_PNG);

    /* Low quality (a flat image), listed: matched but flagged. */
    v = scan(s, fx.img[IMG_FLAT].data, fx.img[IMG_FLAT].len);
    assert_int_equal(v.kind, CLIENTSCAN_VERDICT_LOW_QUALITY);
    assert_true(v.scanned && v.matched);
    assert_true(v.quality < CLIENTSCAN_PDQ_MIN_QUALITY);

    clientscan_verdict out;
    assert_int_equal(clientscan_scan(NULL, garbage, 1, &out, NULL), CLIENTSCAN_E_INVALID_ARGUMENT);
    assert_int_equal(clientscan_scan(s, NULL, 5, &out, NULL), CLIENTSCAN_E_INVALID_ARGUMENT);
    clientscan_scanner_close(s);
    clientscan_scanner_close(NULL);
}

/* Prepares, checks the slot kind and the recipient's byte-identical copy;
 * returns the opened report (caller releases). */
static clientscan_report prepare_and_open(const clientscan_scanner *s, const blob *in,
                                          clientscan_prepared *prep)
{
    clientscan_detail d;
    if (clientscan_prepare_attachment(s, in->data, in->len, prep, &d) != CLIENTSCAN_OK)
        fail_msg("prepare: %s", d.text);
    assert_non_null(prep->ciphertext);
    assert_non_null(prep->key);
    uint8_t digest[CLIENTSCAN_ATTACHMENT_DIGEST_BYTES];
    crypto_generichash(digest, sizeof digest, prep->ciphertext, prep->ciphertext_len, NULL, 0);
    assert_memory_equal(digest, prep->ciphertext_digest, sizeof digest);
    /* Recipient side: the key travels inside the host's E2EE session. */
    clientscan_attachment_key *rk = NULL;
    assert_int_equal(clientscan_attachment_key_from_bytes(clientscan_attachment_key_bytes(prep->key),
                                                          &rk, NULL), 0);
    uint8_t *plain = NULL;
    size_t plain_len;
    assert_int_equal(clientscan_open_attachment(rk, prep->ciphertext, prep->ciphertext_len, &plain,
                                                &plain_len, NULL), 0);
    assert_int_equal(plain_len, in->len);
    if (in->len)
        assert_memory_equal(plain, in->data, in->len);
    free(plain);
    clientscan_attachment_key_free(rk);
    clientscan_report r;
    if (clientscan_open_report(fx.moderator, prep->slot, sizeof prep->slot, &r, &d) != CLIENTSCAN_OK)
        fail_msg("open report: %s", d.text);
    return r;
}

static void test_prepare_round_trips(void **state)
{
    (void)state;
    clientscan_scanner_params p = default_params();
    clientscan_scanner *s = open_scanner(&p);
    uint32_t day_before = (uint32_t)(time(NULL) / 86400);

    clientscan_prepared prep;
    clientscan_report r = prepare_and_open(s, &fx.img[IMG_MIRROR_A], &prep);
    uint32_t day_after = (uint32_t)(time(NULL) / 86400);
    assert_int_equal(r.kind, CLIENTSCAN_REPORT_MATCH);
    const clientscan_list *list = clientscan_scanner_list(s);
    assert_memory_equal(r.list_digest, clientscan_list_digest(list), CLIENTSCAN_LIST_DIGEST_BYTES);
    assert_true(r.list_sequence == 5);
    assert_memory_equal(r.entry_id, fx.id_a, CLIENTSCAN_LIST_ID_BYTES);
    assert_int_equal(r.distance, prep.verdict.distance);
    assert_int_equal(r.variant, prep.verdict.variant);
    assert_int_equal(r.hash_algorithm, CLIENTSCAN_HASH_ALGORITHM_PDQ);
    assert_true(r.day == day_before || r.day == day_after);
    assert_memory_equal(r.ciphertext_digest, prep.ciphertext_digest, CLIENTSCAN_ATTACHMENT_DIGEST_BYTES);
    /* The moderator can decrypt exactly this attachment. */
    uint8_t *plain = NULL;
    size_t plain_len;
    assert_int_equal(clientscan_report_open_attachment(&r, prep.ciphertext, prep.ciphertext_len,
                                                       &plain, &plain_len, NULL), 0);
    assert_int_equal(plain_len, fx.img[IMG_MIRROR_A].len);
    assert_memory_equal(plain, fx.img[IMG_MIRROR_A].data, plain_len);
    free(plain);
    clientscan_report_release(&r);
    size_t slot_size = sizeof prep.slot;
    clientscan_prepared_release(&prep);
    assert_null(prep.ciphertext);

    r = prepare_and_open(s, &fx.img[IMG_C], &prep);
    assert_int_equal(r.kind, CLIENTSCAN_REPORT_NO_MATCH);
    assert_null(r.key);
    assert_int_equal(prep.verdict.kind, CLIENTSCAN_VERDICT_NO_MATCH);
    assert_int_equal(sizeof prep.slot, slot_size);
    clientscan_report_release(&r);
    clientscan_prepared_release(&prep);

    blob text = {(uint8_t *)"plain text attachment", 21};
    r = prepare_and_open(s, &text, &prep);
    assert_int_equal(r.kind, CLIENTSCAN_REPORT_UNSCANNED);
    assert_null(r.key);
    assert_int_equal(prep.verdict.kind, CLIENTSCAN_VERDICT_UNSCANNABLE);
    clientscan_report_release(&r);
    clientscan_prepared_release(&prep);

    blob empty = {NULL, 0};
    r = prepare_and_open(s, &empty, &prep);
    assert_int_equal(r.kind, CLIENTSCAN_REPORT_UNSCANNED);
    clientscan_report_release(&r);
    clientscan_prepared_release(&prep);

    /* A slot sealed for this scanner's moderator does not open with another key. */
    clientscan_secret_key *other = NULL;
    clientscan_public_key other_pub;
    assert_int_equal(clientscan_keypair_generate(CLIENTSCAN_ROLE_MODERATOR, &other_pub, &other, NULL), 0);
    assert_int_equal(clientscan_prepare_attachment(s, fx.img[IMG_A].data, fx.img[IMG_A].len, &prep,
                                                   NULL), 0);
    assert_int_equal(clientscan_open_report(other, prep.slot, sizeof prep.slot, &r, NULL),
                     CLIENTSCAN_E_DECRYPT);
    clientscan_prepared_release(&prep);
    clientscan_secret_key_free(other);
    clientscan_scanner_close(s);
}

static void test_unscannable_and_low_quality_policies(void **state)
{
    (void)state;
    const char garbage[] = "%PDF-1.7 not an image we decode";
    clientscan_scanner_params p = default_params();
    p.unscannable = CLIENTSCAN_UNSCANNABLE_REFUSE;
    clientscan_scanner *s = open_scanner(&p);
    clientscan_prepared prep;
    clientscan_detail d;
    assert_int_equal(clientscan_prepare_attachment(s, garbage, sizeof garbage, &prep, &d),
                     CLIENTSCAN_E_REFUSED);
    assert_int_equal(prep.verdict.kind, CLIENTSCAN_VERDICT_UNSCANNABLE);
    assert_int_equal(prep.verdict.format, CLIENTSCAN_FORMAT_PDF);
    assert_null(prep.ciphertext);
    assert_null(prep.key);
    assert_non_null(strstr(d.text, "not scanned"));
    clientscan_prepared_release(&prep);
    /* Scannable images still go through a refusing scanner. */
    clientscan_report r = prepare_and_open(s, &fx.img[IMG_C], &prep);
    assert_int_equal(r.kind, CLIENTSCAN_REPORT_NO_MATCH);
    clientscan_report_release(&r);
    clientscan_prepared_release(&prep);
    /* Low quality, listed, default low-quality policy: a match report. */
    r = prepare_and_open(s, &fx.img[IMG_FLAT], &prep);
    assert_int_equal(prep.verdict.kind, CLIENTSCAN_VERDICT_LOW_QUALITY);
    assert_int_equal(r.kind, CLIENTSCAN_REPORT_MATCH);
    clientscan_report_release(&r);
    clientscan_prepared_release(&prep);
    clientscan_scanner_close(s);

    /* Low quality treated as unscannable: refused here ... */
    p.low_quality = CLIENTSCAN_LOW_QUALITY_UNSCANNABLE;
    s = open_scanner(&p);
    assert_int_equal(clientscan_prepare_attachment(s, fx.img[IMG_FLAT].data, fx.img[IMG_FLAT].len,
                                                   &prep, NULL),
                     CLIENTSCAN_E_REFUSED);
    assert_int_equal(prep.verdict.kind, CLIENTSCAN_VERDICT_LOW_QUALITY);
    assert_false(prep.verdict.scanned);
    assert_false(prep.verdict.matched);
    clientscan_prepared_release(&prep);
    clientscan_scanner_close(s);
    /* ... and sent with an "unscanned" slot when policy sends. */
    p.unscannable = CLIENTSCAN_UNSCANNABLE_SEND;
    s = open_scanner(&p);
    r = prepare_and_open(s, &fx.img[IMG_FLAT], &prep);
    assert_int_equal(r.kind, CLIENTSCAN_REPORT_UNSCANNED);
    clientscan_report_release(&r);
    clientscan_prepared_release(&prep);
    clientscan_scanner_close(s);
}

static void test_open_errors(void **state)
{
    (void)state;
    clientscan_scanner *s = (clientscan_scanner *)1;
    clientscan_scanner_params p = default_params();
    p.list.authorities = &fx.other_authority_pub;
    assert_int_equal(clientscan_scanner_open_memory(fx.list, fx.list_len, &p, &s, NULL),
                     CLIENTSCAN_E_SIGNATURE);
    assert_null(s);
    p = default_params();
    p.list.accepted_sequence = 6;
    assert_int_equal(clientscan_scanner_open_memory(fx.list, fx.list_len, &p, &s, NULL),
                     CLIENTSCAN_E_ROLLBACK);
    p = default_params();
    p.moderator = NULL;
    assert_int_equal(clientscan_scanner_open_memory(fx.list, fx.list_len, &p, &s, NULL),
                     CLIENTSCAN_E_INVALID_ARGUMENT);
    p.moderator = &fx.user_pub;
    assert_int_equal(clientscan_scanner_open_memory(fx.list, fx.list_len, &p, &s, NULL),
                     CLIENTSCAN_E_INVALID_ARGUMENT);
    p = default_params();
    p.threshold = 257;
    assert_int_equal(clientscan_scanner_open_memory(fx.list, fx.list_len, &p, &s, NULL),
                     CLIENTSCAN_E_INVALID_ARGUMENT);
    p.threshold = -1;
    assert_int_equal(clientscan_scanner_open_memory(fx.list, fx.list_len, &p, &s, NULL),
                     CLIENTSCAN_E_INVALID_ARGUMENT);
    p = default_params();
    p.unscannable = (clientscan_unscannable_policy)9;
    assert_int_equal(clientscan_scanner_open_memory(fx.list, fx.list_len, &p, &s, NULL),
                     CLIENTSCAN_E_INVALID_ARGUMENT);
    p = default_params();
    assert_int_not_equal(clientscan_scanner_open_memory(fx.list, fx.list_len - 1, &p, &s, NULL),
                         CLIENTSCAN_OK);
    assert_null(s);
    clientscan_detail d;
    assert_int_equal(clientscan_scanner_open("/nonexistent/clientscan/list.bin", &p, &s, &d),
                     CLIENTSCAN_E_IO);
    /* The same list from a file opens. */
    char *dir = ts_tempdir();
    char *path = ts_path(dir, "list.bin");
    ts_write_file(path, fx.list, fx.list_len);
    assert_int_equal(clientscan_scanner_open(path, &p, &s, &d), CLIENTSCAN_OK);
    clientscan_scanner_close(s);
    ts_rmtree(dir);
    free(path);
    free(dir);
}

static void test_threshold(void **state)
{
    (void)state;
    clientscan_pdq_result ha = hash_of(&fx.img[IMG_A]), hx = hash_of(&fx.img[IMG_ALTERED_A]);
    int d = best_distance(&hx, &ha.hash[0]);
    if (d < 2 || d > 200)
        fail_msg("altered image at distance %d: test images need changing", d);
    clientscan_scanner_params p = default_params();
    p.threshold = d;
    clientscan_scanner *s = open_scanner(&p);
    clientscan_verdict v = scan(s, fx.img[IMG_ALTERED_A].data, fx.img[IMG_ALTERED_A].len);
    assert_int_equal(v.kind, CLIENTSCAN_VERDICT_MATCH);
    assert_int_equal(v.distance, d);
    clientscan_scanner_close(s);
    p.threshold = d - 1;
    s = open_scanner(&p);
    v = scan(s, fx.img[IMG_ALTERED_A].data, fx.img[IMG_ALTERED_A].len);
    assert_int_not_equal(v.kind, CLIENTSCAN_VERDICT_MATCH);
    assert_false(v.matched);
    clientscan_scanner_close(s);
}

/* ------------------------------------------------------------ threads */

#define THREADS 8
#define ROUNDS 6

typedef struct worker {
    const clientscan_scanner *scanner;
    const clientscan_verdict *expect; /* per image, IMG_COUNT */
    int failures;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    for (int round = 0; round < ROUNDS; round++) {
        for (int i = 0; i < IMG_COUNT; i++) {
            const blob *in = &fx.img[(i + round) % IMG_COUNT];
            const clientscan_verdict *e = &w->expect[(i + round) % IMG_COUNT];
            clientscan_prepared prep;
            if (round % 2 == 0) {
                clientscan_verdict v;
                if (clientscan_scan(w->scanner, in->data, in->len, &v, NULL) != CLIENTSCAN_OK ||
                    v.kind != e->kind || v.matched != e->matched || v.distance != e->distance ||
                    v.variant != e->variant || memcmp(v.entry_id, e->entry_id, sizeof v.entry_id))
                    w->failures++;
            } else if (clientscan_prepare_attachment(w->scanner, in->data, in->len, &prep, NULL) !=
                           CLIENTSCAN_OK ||
                       prep.verdict.kind != e->kind || prep.verdict.distance != e->distance) {
                w->failures++;
            } else {
                clientscan_report r;
                if (clientscan_open_report(fx.moderator, prep.slot, sizeof prep.slot, &r, NULL) !=
                        CLIENTSCAN_OK ||
                    (r.kind == CLIENTSCAN_REPORT_MATCH) != (e->matched != 0))
                    w->failures++;
                clientscan_report_release(&r);
                clientscan_prepared_release(&prep);
            }
        }
    }
    return NULL;
}

static void test_threads_share_one_scanner(void **state)
{
    (void)state;
    clientscan_scanner_params p = default_params();
    clientscan_scanner *s = open_scanner(&p);
    clientscan_verdict expect[IMG_COUNT];
    for (int i = 0; i < IMG_COUNT; i++)
        expect[i] = scan(s, fx.img[i].data, fx.img[i].len);
    pthread_t tids[THREADS];
    worker workers[THREADS];
    for (int t = 0; t < THREADS; t++) {
        workers[t] = (worker){s, expect, 0};
        assert_int_equal(pthread_create(&tids[t], NULL, work, &workers[t]), 0);
    }
    int failures = 0;
    for (int t = 0; t < THREADS; t++) {
        assert_int_equal(pthread_join(tids[t], NULL), 0);
        failures += workers[t].failures;
    }
    assert_int_equal(failures, 0);
    clientscan_scanner_close(s);
}

/* Hash of bytes decoded with the given jpeg_min_side (0: exact). */
static clientscan_pdq hash_at(const uint8_t *data, size_t len, uint32_t min_side)
{
    clientscan_hash_params hp = {.decode.jpeg_min_side = min_side};
    clientscan_pdq_result r;
    clientscan_detail d;
    if (clientscan_hash_memory(data, len, &hp, &r, NULL, &d) != CLIENTSCAN_OK)
        fail_msg("hash: %s", d.text);
    return r.hash[0];
}

/* Scanners hash JPEGs in fast mode unless told `exact`; decode.jpeg_min_side
 * chooses the scale. Seen through the distance to a list holding the hash
 * of a 1/8-scale decode. */
static void test_fast_mode_is_the_default(void **state)
{
    (void)state;
    /* A photo-like picture (smooth shapes, grain) that 1/2 scale changes a little. */
    enum { W = 2400, H = 1100 };
    uint8_t *rgb = ts_malloc((size_t)W * H * 3);
    uint32_t seed = 7;
    for (uint32_t y = 0; y < H; y++)
        for (uint32_t x = 0; x < W; x++) {
            seed = seed * 1103515245u + 12345u;
            const double u_x = (double)x / W, u_y = (double)y / H;
            double v = 120 + 70 * sin(9 * u_x + 4 * u_y) * cos(6 * u_y - 2 * u_x) +
                       (u_x > 0.2 && u_x < 0.45 && u_y > 0.3 && u_y < 0.8 ? 45 : 0) +
                       (double)((seed >> 16) % 21) - 10;
            for (int c = 0; c < 3; c++) {
                const double u = v + 15 * c * u_x;
                rgb[((size_t)y * W + x) * 3 + (size_t)c] = (uint8_t)(u < 0 ? 0 : u > 255 ? 255 : u);
            }
        }
    size_t len;
    uint8_t *jpg = ts_jpeg_encode_pixels(rgb, (size_t)W * 3, W, H, 3, 90, false, &len);
    free(rgb);
    const clientscan_pdq exact = hash_at(jpg, len, 0), tiny = hash_at(jpg, len, 8);
    const clientscan_pdq fast_default = hash_at(jpg, len, CLIENTSCAN_FAST_MIN_SIDE);
    const int d_exact = clientscan_pdq_distance(&exact, &tiny);
    const int d_fast = clientscan_pdq_distance(&fast_default, &tiny);
    assert_true(d_exact != d_fast); /* the picture tells the modes apart */

    clientscan_list_builder *b = NULL;
    assert_int_equal(clientscan_list_builder_new(&b, NULL), 0);
    assert_int_equal(clientscan_list_builder_add(b, &tiny, NULL, -1, NULL), 0);
    const clientscan_secret_key *signers[] = {fx.authority};
    uint8_t *list;
    size_t list_len;
    assert_int_equal(clientscan_list_builder_encode(b, signers, 1, &list, &list_len, NULL), 0);
    clientscan_list_builder_free(b);

    struct {
        uint32_t min_side;
        int exact;
        int want;
    } cases[] = {{0, 0, d_fast}, {8, 0, 0}, {0, 1, d_exact}, {8, 1, d_exact}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        clientscan_scanner_params p = default_params();
        p.threshold = 256;
        p.decode.jpeg_min_side = cases[i].min_side;
        p.exact = cases[i].exact;
        clientscan_scanner *s = NULL;
        assert_int_equal(clientscan_scanner_open_memory(list, list_len, &p, &s, NULL), 0);
        clientscan_verdict v = scan(s, jpg, len);
        assert_int_equal(v.matched, 1);
        if (v.distance != cases[i].want)
            fail_msg("min side %u, exact %d: distance %d, want %d", cases[i].min_side,
                     cases[i].exact, v.distance, cases[i].want);
        clientscan_scanner_close(s);
    }
    free(list);
    free(jpg);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(clientscan_verdict_kind_name(CLIENTSCAN_VERDICT_MATCH), "match");
    assert_string_equal(clientscan_verdict_kind_name(CLIENTSCAN_VERDICT_NO_MATCH), "no-match");
    assert_string_equal(clientscan_verdict_kind_name(CLIENTSCAN_VERDICT_UNSCANNABLE), "unscannable");
    assert_string_equal(clientscan_verdict_kind_name(CLIENTSCAN_VERDICT_LOW_QUALITY), "low-quality");
    assert_string_equal(clientscan_verdict_kind_name((clientscan_verdict_kind)42), "unknown");
}

int main(void)
{
    if (clientscan_init() != CLIENTSCAN_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verdicts),
        cmocka_unit_test(test_prepare_round_trips),
        cmocka_unit_test(test_unscannable_and_low_quality_policies),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_threshold),
        cmocka_unit_test(test_threads_share_one_scanner),
        cmocka_unit_test(test_fast_mode_is_the_default),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
