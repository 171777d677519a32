/* CLI tests for `clientscan hash` and the top-level dispatcher: output
 * layouts, JSON escaping, errors and exit codes, directories, stdin,
 * threads. Expected hashes come from the library API on the same bytes. */
#include "support.h"
#include "images.h"

#include "clientscan.h"

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    char *dir;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = ts_tempdir();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ts_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* Writes a generated image to dir/name and returns its expected hex hash. */
static char *write_image(const char *dir, const char *name, bool jpeg, uint32_t w, uint32_t h,
                         char hex[CLIENTSCAN_PDQ_HEX_BYTES], int *quality)
{
    size_t len;
    uint8_t *data = jpeg ? ts_jpeg_encode(w, h, 3, 90, false, 0, false, &len)
                         : ts_png_encode(w, h, PNG_COLOR_TYPE_RGB, 8, 0, &len);
    char *path = ts_path(dir, name);
    ts_write_file(path, data, len);
    clientscan_pdq_result r;
    assert_int_equal(clientscan_hash_memory(data, len, NULL, &r, NULL, NULL), CLIENTSCAN_OK);
    clientscan_pdq_to_hex(&r.hash[0], hex);
    if (quality)
        *quality = r.quality;
    free(data);
    return path;
}

static void run_cli(ts_output *out, const char *a1, const char *a2, const char *a3,
                    const char *a4, const char *a5)
{
    const char *argv[] = {ts_cli(), a1, a2, a3, a4, a5, NULL};
    ts_run(argv, NULL, 0, out);
}

static void test_help_and_version(void **state)
{
    (void)state;
    ts_output o;
    run_cli(&o, "--help", NULL, NULL, NULL, NULL);
    assert_int_equal(o.status, 0);
    assert_non_null(strstr(o.out, "hash"));
    ts_output_free(&o);

    run_cli(&o, "--version", NULL, NULL, NULL, NULL);
    assert_int_equal(o.status, 0);
    assert_non_null(strstr(o.out, clientscan_version()));
    ts_output_free(&o);

    run_cli(&o, "hash", "--help", NULL, NULL, NULL);
    assert_int_equal(o.status, 0);
    assert_non_null(strstr(o.out, "usage: clientscan hash"));
    ts_output_free(&o);

    run_cli(&o, "no-such-command", NULL, NULL, NULL, NULL);
    assert_int_equal(o.status, 2);
    assert_non_null(strstr(o.err, "unknown command"));
    ts_output_free(&o);

    run_cli(&o, NULL, NULL, NULL, NULL, NULL);
    assert_int_equal(o.status, 2);
    ts_output_free(&o);
}

static void test_usage_errors_exit_2(void **state)
{
    (void)state;
    ts_output o;
    run_cli(&o, "hash", NULL, NULL, NULL, NULL);
    assert_int_equal(o.status, 2);
    assert_non_null(strstr(o.err, "no PATH"));
    ts_output_free(&o);
    run_cli(&o, "hash", "--jobs", "0", "x", NULL);
    assert_int_equal(o.status, 2);
    ts_output_free(&o);
    run_cli(&o, "hash", "--mode", "half", "x", NULL);
    assert_int_equal(o.status, 2);
    ts_output_free(&o);
    run_cli(&o, "hash", "--bogus", "x", NULL, NULL);
    assert_int_equal(o.status, 2);
    assert_string_equal(o.out, "");
    ts_output_free(&o);
}

static void test_default_line_layout(void **state)
{
    fixture *f = *state;
    char hex[CLIENTSCAN_PDQ_HEX_BYTES];
    int q;
    /* spaces, a comma and non-ASCII bytes in the name */
    char *path = write_image(f->dir, "a photo, caf\xc3\xa9.png", false, 200, 150, hex, &q);
    ts_output o;
    run_cli(&o, "hash", path, NULL, NULL, NULL);
    assert_int_equal(o.status, 0);
    char want[8192];
    snprintf(want, sizeof want, "%s,%d,%s\n", hex, q, path);
    assert_string_equal(o.out, want);
    assert_string_equal(o.err, "");
    ts_output_free(&o);
    free(path);
}

static void test_json_escapes_and_fields(void **state)
{
    fixture *f = *state;
    char hex[CLIENTSCAN_PDQ_HEX_BYTES];
    int q;
    char *path = write_image(f->dir, "quote\" back\\slash\ttab.jpg", true, 160, 120, hex, &q);
    ts_output o;
    run_cli(&o, "hash", "--json", "--dihedral", path, NULL);
    assert_int_equal(o.status, 0);
    assert_non_null(strstr(o.out, "quote\\\" back\\\\slash\\ttab.jpg\""));
    char field[128];
    snprintf(field, sizeof field, "\"hash\":\"%s\"", hex);
    assert_non_null(strstr(o.out, field));
    snprintf(field, sizeof field, "\"quality\":%d", q);
    assert_non_null(strstr(o.out, field));
    assert_non_null(strstr(o.out, "\"algorithm\":\"pdq\""));
    assert_non_null(strstr(o.out, "\"width\":160,\"height\":120"));
    assert_non_null(strstr(o.out, "\"format\":\"jpeg\""));
    assert_non_null(strstr(o.out, "\"dihedral\":{\"rot90\":\""));
    assert_non_null(strstr(o.out, "\"flipminus1\":\""));
    /* one object, one line */
    assert_int_equal(o.out[0], '{');
    assert_ptr_equal(strchr(o.out, '\n'), o.out + o.out_len - 1);
    ts_output_free(&o);
    free(path);
}

static void test_invalid_utf8_path_is_still_valid_json(void **state)
{
    fixture *f = *state;
    char hex[CLIENTSCAN_PDQ_HEX_BYTES];
    char *path = write_image(f->dir, "bad\xff\xfe.png", false, 64, 64, hex, NULL);
    ts_output o;
    run_cli(&o, "hash", "--json", path, NULL, NULL);
    assert_int_equal(o.status, 0);
    assert_non_null(strstr(o.out, "bad\\u00ff\\u00fe.png"));
    ts_output_free(&o);
    free(path);
}

static void test_bad_file_reports_and_batch_continues(void **state)
{
    fixture *f = *state;
    char hex[CLIENTSCAN_PDQ_HEX_BYTES];
    char *good = write_image(f->dir, "good.png", false, 100, 100, hex, NULL);
    char *text = ts_path(f->dir, "notes.txt");
    ts_write_file(text, "hello", 5);
    char *gif = ts_path(f->dir, "anim.png"); /* lying extension */
    ts_write_file(gif, "GIF89a\x01\x00\x01\x00", 10);
    char *missing = ts_path(f->dir, "missing.jpg");
    ts_output o;
    run_cli(&o, "hash", text, good, gif, missing);
    assert_int_equal(o.status, 1);
    assert_non_null(strstr(o.out, hex));
    assert_null(strstr(o.out, "notes.txt"));
    char want[8192];
    snprintf(want, sizeof want, "%s: unsupported format: unknown (not an image)", text);
    assert_non_null(strstr(o.err, want));
    snprintf(want, sizeof want, "%s: unsupported format: gif", gif);
    assert_non_null(strstr(o.err, want));
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory", missing);
    assert_non_null(strstr(o.err, want));
    ts_output_free(&o);
    free(good);
    free(text);
    free(gif);
    free(missing);
}

static void test_truncated_file_gives_no_hash(void **state)
{
    fixture *f = *state;
    size_t len;
    uint8_t *data = ts_jpeg_encode(300, 200, 3, 90, false, 0, false, &len);
    char *path = ts_path(f->dir, "cut.jpg");
    ts_write_file(path, data, len / 2);
    ts_output o;
    run_cli(&o, "hash", "--json", path, NULL, NULL);
    assert_int_equal(o.status, 1);
    assert_string_equal(o.out, "");
    assert_non_null(strstr(o.err, "JPEG:"));
    ts_output_free(&o);
    free(data);
    free(path);
}

static void test_directories_recursive_and_ordered(void **state)
{
    fixture *f = *state;
    char h1[CLIENTSCAN_PDQ_HEX_BYTES], h2[CLIENTSCAN_PDQ_HEX_BYTES], h3[CLIENTSCAN_PDQ_HEX_BYTES];
    char *sub = ts_path(f->dir, "sub");
    assert_int_equal(mkdir(sub, 0700), 0);
    char *a = write_image(f->dir, "b.png", false, 90, 70, h1, NULL);
    char *b = write_image(f->dir, "a.jpg", true, 80, 60, h2, NULL);
    char *c = write_image(sub, "c.png", false, 70, 90, h3, NULL);
    ts_output o;
    run_cli(&o, "hash", f->dir, NULL, NULL, NULL);
    assert_int_equal(o.status, 0);
    char *p1 = strstr(o.out, h2), *p2 = strstr(o.out, h1);
    assert_non_null(p1);
    assert_non_null(p2);
    assert_true(p1 < p2); /* name order: a.jpg before b.png */
    assert_null(strstr(o.out, h3)); /* not recursive */
    ts_output_free(&o);

    run_cli(&o, "hash", "-r", f->dir, NULL, NULL);
    assert_int_equal(o.status, 0);
    assert_non_null(strstr(o.out, h3));
    ts_output_free(&o);
    free(a);
    free(b);
    free(c);
    free(sub);
}

static void test_jobs_keep_input_order(void **state)
{
    fixture *f = *state;
    enum { N = 24 };
    char *paths[N];
    char hexes[N][CLIENTSCAN_PDQ_HEX_BYTES];
    const char *argv[N + 5];
    int k = 0;
    argv[k++] = ts_cli();
    argv[k++] = "hash";
    argv[k++] = "--jobs";
    argv[k++] = "4";
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof name, "img%02d.png", N - i); /* argument order != name order */
        paths[i] = write_image(f->dir, name, i % 2, 64 + (uint32_t)i * 7, 64 + (uint32_t)i * 3,
                               hexes[i], NULL);
        argv[k++] = paths[i];
    }
    argv[k] = NULL;
    ts_output o;
    ts_run(argv, NULL, 0, &o);
    assert_int_equal(o.status, 0);
    const char *line = o.out;
    for (int i = 0; i < N; i++) {
        assert_memory_equal(line, hexes[i], 64);
        line = strchr(line, '\n');
        assert_non_null(line);
        line++;
    }
    assert_int_equal(*line, '\0');
    ts_output_free(&o);
    for (int i = 0; i < N; i++)
        free(paths[i]);
}

/* Fewer images than --jobs: each image is decoded and hashed on two
 * threads at once (pipelined); the output must not change. */
static void test_spare_jobs_pipeline_one_image(void **state)
{
    fixture *f = *state;
    char hexes[2][CLIENTSCAN_PDQ_HEX_BYTES];
    char *jpeg = write_image(f->dir, "large.jpg", true, 900, 700, hexes[0], NULL);
    char *png = write_image(f->dir, "large.png", false, 700, 900, hexes[1], NULL);
    char want[CLIENTSCAN_PDQ_HEX_BYTES + 1]; /* "HASH," */
    snprintf(want, sizeof want, "%.64s,", hexes[0]);
    const char *jobs[] = {"1", "2", "3"};
    for (size_t j = 0; j < sizeof jobs / sizeof jobs[0]; j++) {
        ts_output o;
        const char *argv[] = {ts_cli(), "hash", "--jobs", jobs[j], jpeg, png, NULL};
        ts_run(argv, NULL, 0, &o);
        assert_int_equal(o.status, 0);
        const char *second = strchr(o.out, '\n');
        assert_non_null(second);
        assert_memory_equal(o.out, hexes[0], 64);
        assert_memory_equal(second + 1, hexes[1], 64);
        ts_output_free(&o);
        const char *one[] = {ts_cli(), "hash", "--jobs", jobs[j], jpeg, NULL};
        ts_run(one, NULL, 0, &o);
        assert_int_equal(o.status, 0);
        assert_memory_equal(o.out, want, strlen(want));
        ts_output_free(&o);
    }
    free(jpeg);
    free(png);
}

static void test_stdin(void **state)
{
    (void)state;
    size_t len;
    uint8_t *data = ts_png_encode(120, 80, PNG_COLOR_TYPE_GRAY, 8, 0, &len);
    clientscan_pdq_result r;
    assert_int_equal(clientscan_hash_memory(data, len, NULL, &r, NULL, NULL), CLIENTSCAN_OK);
    char hex[CLIENTSCAN_PDQ_HEX_BYTES];
    clientscan_pdq_to_hex(&r.hash[0], hex);
    const char *argv[] = {ts_cli(), "hash", "-", NULL};
    ts_output o;
    ts_run(argv, data, len, &o);
    assert_int_equal(o.status, 0);
    char want[128];
    snprintf(want, sizeof want, "%s,%d,-\n", hex, r.quality);
    assert_string_equal(o.out, want);
    ts_output_free(&o);

    const char *twice[] = {ts_cli(), "hash", "-", "-", NULL};
    ts_run(twice, data, len, &o);
    assert_int_equal(o.status, 2);
    ts_output_free(&o);
    free(data);
}

static void test_modes_and_fast(void **state)
{
    fixture *f = *state;
    size_t len;
    /* 1/2 scale (1200 x 550) is the smallest keeping both sides >= 512 */
    uint8_t *data = ts_jpeg_encode(2400, 1100, 3, 90, false, 0, false, &len);
    char *path = ts_path(f->dir, "big.jpg");
    ts_write_file(path, data, len);
    clientscan_hash_params p = {.mode = CLIENTSCAN_PDQ_MODE_CLI512};
    clientscan_pdq_result r512, rfast;
    assert_int_equal(clientscan_hash_memory(data, len, &p, &r512, NULL, NULL), CLIENTSCAN_OK);
    p.mode = CLIENTSCAN_PDQ_MODE_FULL;
    p.decode.jpeg_min_side = CLIENTSCAN_FAST_MIN_SIDE;
    clientscan_hash_info info;
    assert_int_equal(clientscan_hash_memory(data, len, &p, &rfast, &info, NULL), CLIENTSCAN_OK);
    assert_int_equal(info.width, 1200);
    assert_true(info.height >= CLIENTSCAN_FAST_MIN_SIDE);
    char hex[CLIENTSCAN_PDQ_HEX_BYTES];
    ts_output o;
    run_cli(&o, "hash", "--mode", "cli512", path, NULL);
    assert_int_equal(o.status, 0);
    clientscan_pdq_to_hex(&r512.hash[0], hex);
    assert_memory_equal(o.out, hex, 64);
    ts_output_free(&o);
    run_cli(&o, "hash", "--fast", "--json", path, NULL);
    assert_int_equal(o.status, 0);
    clientscan_pdq_to_hex(&rfast.hash[0], hex);
    assert_non_null(strstr(o.out, hex));
    assert_non_null(strstr(o.out, "\"mode\":\"full+fast\""));
    assert_non_null(strstr(o.out, "\"width\":2400,\"height\":1100")); /* as stored */
    ts_output_free(&o);
    free(data);
    free(path);
}

static void test_pixel_limit_option(void **state)
{
    fixture *f = *state;
    char hex[CLIENTSCAN_PDQ_HEX_BYTES];
    char *path = write_image(f->dir, "wide.png", false, 300, 200, hex, NULL);
    ts_output o;
    run_cli(&o, "hash", "--max-pixels", "50000", path, NULL);
    assert_int_equal(o.status, 1);
    assert_non_null(strstr(o.err, "exceeds the 50000-pixel limit"));
    ts_output_free(&o);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_and_version),
        cmocka_unit_test(test_usage_errors_exit_2),
        cmocka_unit_test_setup_teardown(test_default_line_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_escapes_and_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_utf8_path_is_still_valid_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_file_reports_and_batch_continues, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_file_gives_no_hash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_directories_recursive_and_ordered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jobs_keep_input_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spare_jobs_pipeline_one_image, setup, teardown),
        cmocka_unit_test(test_stdin),
        cmocka_unit_test_setup_teardown(test_modes_and_fast, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pixel_limit_option, setup, teardown),
    };
    return cmocka_run_group_tests_name("cli hash", tests, NULL, NULL);
}
