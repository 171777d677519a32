/* Decoding and hashing one image on two threads (lib/row_pipe.c,
 * clientscan_hash_params.pipeline): the pipe hands every row over once, in
 * order, on another thread; errors travel both ways; and pipelined hashes
 * equal single-threaded ones for every kind of image and mode. */
#include "support.h"
#include "images.h"

#include "decode.h"

#include <png.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ the pipe */

typedef struct {
    pthread_t caller;
    size_t row_bytes;
    uint32_t next_y;    /* rows must come in order */
    uint32_t fail_at;   /* return an error at this row (UINT32_MAX: never) */
    bool other_thread;  /* every call came from a thread other than the caller */
    bool content_ok;
} recorder;

static uint8_t row_byte(uint32_t y, size_t i)
{
    return (uint8_t)(y * 31u + (uint32_t)i * 7u);
}

static int record_row(void *ctx, uint32_t y, const uint8_t *row)
{
    recorder *r = ctx;
    if (pthread_equal(pthread_self(), r->caller))
        r->other_thread = false;
    if (y != r->next_y)
        r->content_ok = false;
    for (size_t i = 0; i < r->row_bytes; i++)
        if (row[i] != row_byte(y, i)) {
            r->content_ok = false;
            break;
        }
    r->next_y = y + 1;
    return y == r->fail_at ? CLIENTSCAN_E_CORRUPT : CLIENTSCAN_OK;
}

/* Pushes rows 0..n-1 through a pipe; returns the first error from done()
 * or finish(), and how many rows were pushed before stopping. */
static int push_rows(recorder *r, uint32_t n, uint32_t *pushed)
{
    cs_row_pipe *p = cs_row_pipe_start(r->row_bytes, record_row, r);
    assert_non_null(p);
    int rc = CLIENTSCAN_OK;
    uint32_t y = 0;
    for (; y < n && rc == CLIENTSCAN_OK; y++) {
        uint8_t *row = cs_row_pipe_buffer(p, y);
        /* never on a 16- or 32-byte boundary: libjpeg-turbo would bypass the cache */
        assert_int_equal((uintptr_t)row % 64, CS_STREAM_ROW_SKEW);
        for (size_t i = 0; i < r->row_bytes; i++)
            row[i] = row_byte(y, i);
        rc = cs_row_pipe_done(p, y);
    }
    *pushed = y;
    const int consumed = cs_row_pipe_finish(p, rc != CLIENTSCAN_OK);
    return rc != CLIENTSCAN_OK ? rc : consumed;
}

static void test_pipe_hands_over_every_row_in_order_on_another_thread(void **state)
{
    (void)state;
    /* Row sizes giving 16, 4 and 1 rows per strip; row counts that do and
     * do not fill the last strip, fewer rows than one strip, and one row. */
    const size_t widths[] = {3, 1000, 65536, 300000};
    const uint32_t counts[] = {1, 5, 16, 17, 48, 203};
    for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++)
        for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
            recorder r = {pthread_self(), widths[w], 0, UINT32_MAX, true, true};
            uint32_t pushed;
            assert_int_equal(push_rows(&r, counts[c], &pushed), CLIENTSCAN_OK);
            assert_int_equal(r.next_y, counts[c]);
            assert_true(r.content_ok);
            assert_true(r.other_thread);
        }
}

static void test_stream_rows_are_skewed_and_whole(void **state)
{
    (void)state;
    const size_t sizes[] = {1, 3, 63, 64, 65, 12096, 300000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        for (size_t n = 1; n <= 5; n++) {
            size_t stride;
            void *mem;
            uint8_t *row0 = cs_stream_rows_alloc(n, sizes[i], &stride, &mem);
            assert_non_null(row0);
            assert_true(stride >= sizes[i] && stride % 64 == 0 && stride < sizes[i] + 64);
            for (size_t k = 0; k < n; k++) {
                uint8_t *row = row0 + k * stride;
                assert_int_equal((uintptr_t)row % 64, CS_STREAM_ROW_SKEW);
                memset(row, 0xa5, sizes[i]); /* inside the allocation (ASan checks) */
            }
            free(mem);
        }
    size_t stride;
    void *mem;
    uint8_t *one = cs_stream_rows_alloc(1, 100, NULL, &mem); /* one row: no stride wanted */
    assert_non_null(one);
    assert_int_equal((uintptr_t)one % 64, CS_STREAM_ROW_SKEW);
    free(mem);
    assert_null(cs_stream_rows_alloc(SIZE_MAX / 2, 4096, &stride, &mem));
    assert_null(cs_stream_rows_alloc(1, SIZE_MAX - 8, &stride, &mem));
}

static void test_pipe_reports_a_consumer_error_and_stops(void **state)
{
    (void)state;
    recorder r = {pthread_self(), 100, 0, 40, true, true};
    uint32_t pushed;
    assert_int_equal(push_rows(&r, 1000, &pushed), CLIENTSCAN_E_CORRUPT);
    /* The producer learns of it at a strip handover: within a few strips. */
    assert_true(pushed < 1000);
    assert_int_equal(r.next_y, 41); /* the consumer stopped at the failing row */
    assert_true(r.content_ok);
}

static void test_pipe_abandoned_mid_image_frees_everything(void **state)
{
    (void)state;
    recorder r = {pthread_self(), 4096, 0, UINT32_MAX, true, true};
    cs_row_pipe *p = cs_row_pipe_start(r.row_bytes, record_row, &r);
    assert_non_null(p);
    for (uint32_t y = 0; y < 70; y++) {
        uint8_t *row = cs_row_pipe_buffer(p, y);
        /* never on a 16- or 32-byte boundary: libjpeg-turbo would bypass the cache */
        assert_int_equal((uintptr_t)row % 64, CS_STREAM_ROW_SKEW);
        for (size_t i = 0; i < r.row_bytes; i++)
            row[i] = row_byte(y, i);
        assert_int_equal(cs_row_pipe_done(p, y), CLIENTSCAN_OK);
    }
    /* A decode error after row 69: the partial strip is never handed over. */
    assert_int_equal(cs_row_pipe_finish(p, true), CLIENTSCAN_OK);
    assert_true(r.next_y <= 64);
    assert_true(r.content_ok);
    assert_null(cs_row_pipe_start(0, record_row, &r));
    assert_int_equal(cs_row_pipe_finish(NULL, false), CLIENTSCAN_OK);
}

/* ------------------------------------------------------------ hashing */

static void hash_both_ways(const uint8_t *data, size_t len, const clientscan_hash_params *base,
                           const char *what)
{
    clientscan_hash_params p = *base;
    clientscan_pdq_result one, two;
    clientscan_hash_info info_one, info_two;
    clientscan_detail d = {{0}};
    p.pipeline = 0;
    if (clientscan_hash_memory(data, len, &p, &one, &info_one, &d) != CLIENTSCAN_OK)
        fail_msg("%s: %s", what, d.text);
    p.pipeline = 1;
    if (clientscan_hash_memory(data, len, &p, &two, &info_two, &d) != CLIENTSCAN_OK)
        fail_msg("%s (pipelined): %s", what, d.text);
    if (memcmp(&one, &two, sizeof one) != 0 || memcmp(&info_one, &info_two, sizeof info_one) != 0)
        fail_msg("%s: pipelined result differs", what);
}

static void test_pipelined_hashes_equal_single_threaded(void **state)
{
    (void)state;
    /* Sizes at and around the pipelining threshold, not multiples of the
     * strip height, wide and tall. */
    const uint32_t sizes[][2] = {{512, 512}, {511, 512}, {700, 389}, {3000, 90}, {90, 3000}, {64, 48}};
    int checked = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        const uint32_t w = sizes[i][0], h = sizes[i][1];
        struct {
            const char *name;
            uint8_t *data;
            size_t len;
        } kinds[] = {
            {"jpeg rgb", NULL, 0}, {"jpeg grey progressive", NULL, 0}, {"jpeg cmyk", NULL, 0},
            {"png rgb", NULL, 0},  {"png palette interlaced", NULL, 0},
        };
        kinds[0].data = ts_jpeg_encode(w, h, 3, 90, false, 0, false, &kinds[0].len);
        kinds[1].data = ts_jpeg_encode(w, h, 1, 90, true, 0, false, &kinds[1].len);
        kinds[2].data = ts_jpeg_encode(w, h, 4, 90, false, 0, false, &kinds[2].len);
        kinds[3].data = ts_png_encode(w, h, PNG_COLOR_TYPE_RGB, 8, 0, &kinds[3].len);
        kinds[4].data = ts_png_encode(w, h, PNG_COLOR_TYPE_PALETTE, 8, 1, &kinds[4].len);
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
            char what[96];
            const clientscan_hash_params exact = {.dihedral = 1};
            const clientscan_hash_params cli512 = {.mode = CLIENTSCAN_PDQ_MODE_CLI512};
            const clientscan_hash_params fast = {.decode.jpeg_min_side = 256};
            snprintf(what, sizeof what, "%s %ux%u exact", kinds[k].name, w, h);
            hash_both_ways(kinds[k].data, kinds[k].len, &exact, what);
            snprintf(what, sizeof what, "%s %ux%u cli512", kinds[k].name, w, h);
            hash_both_ways(kinds[k].data, kinds[k].len, &cli512, what);
            snprintf(what, sizeof what, "%s %ux%u fast", kinds[k].name, w, h);
            hash_both_ways(kinds[k].data, kinds[k].len, &fast, what);
            free(kinds[k].data);
            checked += 3;
        }
    }
    print_message("%d image/mode pairs hash the same pipelined\n", checked);
}

static void test_pipelined_truncated_images_fail_cleanly(void **state)
{
    (void)state;
    size_t len;
    uint8_t *jpeg = ts_jpeg_encode(800, 600, 3, 90, false, 0, false, &len);
    const clientscan_hash_params p = {.pipeline = 1};
    /* Cuts inside the entropy-coded data: the decoder fails mid-image, with
     * rows already handed to the hashing thread. */
    for (size_t cut = len / 4; cut < len - 2; cut += len / 7) {
        clientscan_pdq_result r;
        clientscan_hash_info info;
        clientscan_detail d = {{0}};
        assert_int_not_equal(clientscan_hash_memory(jpeg, cut, &p, &r, &info, &d), CLIENTSCAN_OK);
        const clientscan_pdq_result zero = {0};
        assert_memory_equal(&r, &zero, sizeof r); /* never a hash of part of an image */
        assert_true(d.text[0] != '\0');
    }
    free(jpeg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipe_hands_over_every_row_in_order_on_another_thread),
        cmocka_unit_test(test_stream_rows_are_skewed_and_whole),
        cmocka_unit_test(test_pipe_reports_a_consumer_error_and_stops),
        cmocka_unit_test(test_pipe_abandoned_mid_image_frees_everything),
        cmocka_unit_test(test_pipelined_hashes_equal_single_threaded),
        cmocka_unit_test(test_pipelined_truncated_images_fail_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
