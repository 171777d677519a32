/* CLI tests of `clientscan bench`: counts on a small generated corpus,
 * shard + merge giving byte-identical results to an unsharded run, outputs
 * (CSV, SVG, --fpr round trip) and refusal of broken inputs. */
#include "support.h"

#include "images.h"

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A corpus of 9 files: 6 PNGs and one JPEG of different sizes (different
 * crops of the test pattern), a byte copy of one PNG, and a text file. */
static char *make_corpus(void)
{
    char *dir = ts_tempdir();
    static const uint32_t sizes[6][2] = {{64, 48}, {80, 80}, {100, 60}, {40, 90}, {128, 96}, {72, 130}};
    for (int i = 0; i < 6; i++) {
        size_t len;
        uint8_t *png = ts_png_encode(sizes[i][0], sizes[i][1],
                                     i % 2 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY, 8, 0, &len);
        char name[32];
        snprintf(name, sizeof name, "img%d.png", i);
        char *p = ts_path(dir, name);
        ts_write_file(p, png, len);
        free(p);
        if (i == 2) {
            p = ts_path(dir, "copy-of-img2.png");
            ts_write_file(p, png, len);
            free(p);
        }
        free(png);
    }
    size_t len;
    uint8_t *jpg = ts_jpeg_encode(96, 64, 3, 85, false, 0, false, &len);
    char *p = ts_path(dir, "photo.jpg");
    ts_write_file(p, jpg, len);
    free(p);
    free(jpg);
    p = ts_path(dir, "notes.txt");
    ts_write_file(p, "not an image\n", 13);
    free(p);
    return dir;
}

/* Runs the CLI with up to 16 arguments (NULL-terminated). */
static void run(ts_output *out, const char *a0, ...)
{
    const char *argv[20] = {ts_cli(), a0};
    int n = 2;
    va_list ap;
    va_start(ap, a0);
    const char *s;
    while (n < 19 && (s = va_arg(ap, const char *)) != NULL)
        argv[n++] = s;
    va_end(ap);
    argv[n] = NULL;
    ts_run(argv, NULL, 0, out);
}

static void expect_status(ts_output *o, int status)
{
    if (o->status != status) {
        print_error("status %d (want %d)\nstdout: %s\nstderr: %s\n", o->status, status, o->out,
                    o->err);
        fail();
    }
}

static void test_counts_on_a_small_corpus(void **state)
{
    (void)state;
    char *dir = make_corpus();
    ts_output o;
    run(&o, "bench", "fpr", "--json", "-j", "2", dir, NULL);
    expect_status(&o, 0);
    /* 9 files; notes.txt does not decode; the copy is an exact duplicate:
     * 7 distinct images, 7*6/2 = 21 pairs. */
    assert_non_null(strstr(o.out, "\"files\":9,\"undecodable\":1,\"exact_duplicates_dropped\":1"));
    assert_non_null(strstr(o.out, "\"distinct_images\":7"));
    assert_non_null(strstr(o.out, "\"pairs\":{\"count\":21,"));
    assert_non_null(strstr(o.err, "notes.txt"));
    ts_output_free(&o);

    /* Human tables name every column and the account view. */
    run(&o, "bench", "fpr", dir, NULL);
    expect_status(&o, 0);
    assert_non_null(strstr(o.out, "distinct images: 7"));
    assert_non_null(strstr(o.out, "pdq-dihedral (256 bits)"));
    assert_non_null(strstr(o.out, "ahash (64 bits)"));
    assert_non_null(strstr(o.out, "Account view"));
    ts_output_free(&o);

    /* A sample of 5 pairs is reported as such. */
    run(&o, "bench", "fpr", "--json", "--pairs", "5", "--seed", "3", dir, NULL);
    expect_status(&o, 0);
    assert_non_null(strstr(o.out, "\"pairs\":{\"count\":5,\"requested\":5,\"seed\":3"));
    ts_output_free(&o);
    ts_rmtree(dir);
    free(dir);
}

/* Unsharded JSON must equal the merge of n shards byte for byte. */
static void check_sharding(const char *dir, const char *mode, int shards, const char *opt1,
                           const char *opt2)
{
    ts_output whole;
    const char *wargv[8] = {ts_cli(), "bench", mode, "--json"};
    int wn = 4;
    if (opt1)
        wargv[wn++] = opt1;
    if (opt1 && opt2)
        wargv[wn++] = opt2;
    wargv[wn++] = dir;
    wargv[wn] = NULL;
    ts_run(wargv, NULL, 0, &whole);
    expect_status(&whole, 0);
    char *parts = ts_tempdir();
    char *paths[8];
    for (int i = 0; i < shards; i++) {
        char spec[16], name[32];
        snprintf(spec, sizeof spec, "%d/%d", i, shards);
        snprintf(name, sizeof name, "part%d", i);
        paths[i] = ts_path(parts, name);
        ts_output o;
        run(&o, "bench", mode, "--shard", spec, "--partial", paths[i], "-j", "1", dir, NULL);
        expect_status(&o, 0);
        assert_int_equal(o.out_len, 0); /* a shard prints no result */
        ts_output_free(&o);
    }
    /* Merge in reverse order: order must not matter. */
    const char *argv[16] = {ts_cli(), "bench", "merge", "--json"};
    int n = 4;
    if (opt1)
        argv[n++] = opt1;
    if (opt1 && opt2)
        argv[n++] = opt2;
    for (int i = shards - 1; i >= 0; i--)
        argv[n++] = paths[i];
    argv[n] = NULL;
    ts_output merged;
    ts_run(argv, NULL, 0, &merged);
    expect_status(&merged, 0);
    assert_string_equal(merged.out, whole.out);
    ts_output_free(&merged);

    /* Leaving one shard out is refused. */
    if (shards > 1) {
        argv[n - 1] = NULL;
        ts_run(argv, NULL, 0, &merged);
        expect_status(&merged, 1);
        assert_non_null(strstr(merged.err, "missing"));
        ts_output_free(&merged);
    }
    for (int i = 0; i < shards; i++)
        free(paths[i]);
    ts_output_free(&whole);
    ts_rmtree(parts);
    free(parts);
}

static void test_merge_of_shards_equals_unsharded_run(void **state)
{
    (void)state;
    char *dir = make_corpus();
    check_sharding(dir, "fpr", 3, NULL, NULL);
    check_sharding(dir, "fpr", 2, "--dedup=40", NULL);
    check_sharding(dir, "fpr", 4, "--pairs=9", "--seed=11");
    check_sharding(dir, "robust", 2, NULL, NULL);
    check_sharding(dir, "robust", 1, "--dedup=10", NULL);
    ts_rmtree(dir);
    free(dir);
}

/* Two directories (2 and 3 images) plus a 4x4 image, whose PDQ quality is
 * 0 (under 5 pixels a side): --min-quality 50 drops it, --across-dirs keeps
 * only the 2 x 3 = 6 pairs that span both directories. */
static void test_quality_filter_and_cross_directory_pairs(void **state)
{
    (void)state;
    char *dir = ts_tempdir();
    char *a = ts_path(dir, "a"), *b = ts_path(dir, "b");
    assert_int_equal(mkdir(a, 0700), 0);
    assert_int_equal(mkdir(b, 0700), 0);
    static const uint32_t sizes[6][2] = {{64, 48}, {80, 80}, {100, 60}, {40, 90}, {128, 96}, {4, 4}};
    for (int i = 0; i < 6; i++) {
        size_t len;
        uint8_t *png = ts_png_encode(sizes[i][0], sizes[i][1], PNG_COLOR_TYPE_RGB, 8, 0, &len);
        char name[32];
        snprintf(name, sizeof name, "%s/img%d.png", i < 2 ? "a" : "b", i);
        char *p = ts_path(dir, name);
        ts_write_file(p, png, len);
        free(p);
        free(png);
    }
    ts_output o;
    run(&o, "bench", "fpr", "--json", "--min-quality", "50", "--across-dirs", dir, NULL);
    expect_status(&o, 0);
    assert_non_null(strstr(o.out, "\"min_quality\":50,\"low_quality_dropped\":1"));
    assert_non_null(strstr(o.out, "\"distinct_images\":5"));
    assert_non_null(strstr(o.out, "\"pairs\":{\"count\":6,"));
    ts_output_free(&o);
    /* Without the filters: 6 images, 15 pairs. */
    run(&o, "bench", "fpr", "--json", dir, NULL);
    expect_status(&o, 0);
    assert_non_null(strstr(o.out, "\"pairs\":{\"count\":15,"));
    ts_output_free(&o);
    check_sharding(dir, "fpr", 2, "--across-dirs", "--min-quality=50");
    check_sharding(dir, "fpr", 3, "--across-dirs", "--pairs=4");
    free(a);
    free(b);
    ts_rmtree(dir);
    free(dir);
}

static void test_outputs_and_fpr_file(void **state)
{
    (void)state;
    char *dir = make_corpus();
    char *out = ts_tempdir();
    char *csv = ts_path(out, "csv"), *svg = ts_path(out, "svg"), *fpr = ts_path(out, "fpr.json");
    ts_output o;
    run(&o, "bench", "fpr", "--json", dir, NULL);
    expect_status(&o, 0);
    ts_write_file(fpr, o.out, o.out_len);
    ts_output_free(&o);

    run(&o, "bench", "robust", "--fpr", fpr, "--csv", csv, "--svg", svg, dir, NULL);
    expect_status(&o, 0);
    assert_non_null(strstr(o.out, "from the --fpr file"));
    assert_non_null(strstr(o.out, "jpeg50"));
    ts_output_free(&o);
    static const char *const files[] = {"csv/fpr.csv", "csv/pair_distances.csv",
                                        "csv/account.csv", "csv/robust_tpr.csv",
                                        "csv/robust_summary.csv", "svg/fpr.svg",
                                        "svg/recall.svg", "svg/distances-pdq.svg"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char *p = ts_path(out, files[i]);
        size_t len;
        uint8_t *data = ts_read_file(p, &len);
        assert_true(len > 50);
        if (strstr(files[i], ".svg")) {
            assert_memory_equal(data, "<svg", 4);
            assert_null(strstr((char *)data, "<=")); /* text must be XML-escaped */
        }
        else
            assert_non_null(strstr((char *)data, "algorithm"));
        free(data);
        free(p);
    }

    /* A broken --fpr file is refused with its name and a reason. */
    const char *cut = "{\"mode\":\"fpr\",\"pairs\":{\"count\":3}";
    ts_write_file(fpr, cut, strlen(cut));
    run(&o, "bench", "robust", "--fpr", fpr, dir, NULL);
    expect_status(&o, 1);
    assert_non_null(strstr(o.err, "fpr.json"));
    ts_output_free(&o);
    const char *empty = "{\"mode\":\"fpr\",\"pairs\":{\"count\":3},\"pair_histograms\":{}}";
    ts_write_file(fpr, empty, strlen(empty));
    run(&o, "bench", "robust", "--fpr", fpr, dir, NULL);
    expect_status(&o, 1);
    assert_non_null(strstr(o.err, "incomplete"));
    ts_output_free(&o);
    free(csv);
    free(svg);
    free(fpr);
    ts_rmtree(out);
    free(out);
    ts_rmtree(dir);
    free(dir);
}

static void test_broken_partials_are_refused(void **state)
{
    (void)state;
    char *dir = make_corpus();
    char *parts = ts_tempdir();
    char *p0 = ts_path(parts, "p0"), *p1 = ts_path(parts, "p1"), *bad = ts_path(parts, "bad");
    ts_output o;
    run(&o, "bench", "fpr", "--shard", "0/2", "--partial", p0, dir, NULL);
    expect_status(&o, 0);
    ts_output_free(&o);
    run(&o, "bench", "robust", "--shard", "1/2", "--partial", p1, dir, NULL);
    expect_status(&o, 0);
    ts_output_free(&o);
    /* Mixing modes. */
    run(&o, "bench", "merge", p0, p1, NULL);
    expect_status(&o, 1);
    assert_non_null(strstr(o.err, "different run"));
    ts_output_free(&o);
    /* The same shard twice. */
    run(&o, "bench", "merge", p0, p0, NULL);
    expect_status(&o, 1);
    assert_non_null(strstr(o.err, "given twice"));
    ts_output_free(&o);
    /* Truncated: drop the last lines. */
    size_t len;
    uint8_t *data = ts_read_file(p0, &len);
    ts_write_file(bad, data, len - 10);
    run(&o, "bench", "merge", bad, NULL);
    expect_status(&o, 1);
    assert_non_null(strstr(o.err, "bad"));
    ts_output_free(&o);
    /* A flipped hex digit in a record. */
    char *rec = strstr((char *)data, "\nR ");
    assert_non_null(rec);
    rec[5] = 'x';
    ts_write_file(bad, data, len);
    run(&o, "bench", "merge", bad, NULL);
    expect_status(&o, 1);
    assert_non_null(strstr(o.err, "malformed record"));
    ts_output_free(&o);
    free(data);
    ts_write_file(bad, "hello\n", 6);
    run(&o, "bench", "merge", bad, NULL);
    expect_status(&o, 1);
    assert_non_null(strstr(o.err, "not a clientscan bench partial"));
    ts_output_free(&o);
    free(p0);
    free(p1);
    free(bad);
    ts_rmtree(parts);
    free(parts);
    ts_rmtree(dir);
    free(dir);
}

static void test_usage_errors(void **state)
{
    (void)state;
    ts_output o;
    run(&o, "bench", NULL);
    expect_status(&o, 2);
    ts_output_free(&o);
    run(&o, "bench", "--help", NULL);
    expect_status(&o, 0);
    assert_non_null(strstr(o.out, "bench merge"));
    ts_output_free(&o);
    run(&o, "bench", "fpr", "--help", NULL);
    expect_status(&o, 0);
    ts_output_free(&o);
    run(&o, "bench", "fpr", NULL);
    expect_status(&o, 2);
    ts_output_free(&o);
    run(&o, "bench", "fpr", "--shard", "3/3", "--partial", "x", ".", NULL);
    expect_status(&o, 2);
    assert_non_null(strstr(o.err, "--shard"));
    ts_output_free(&o);
    run(&o, "bench", "fpr", "--shard", "0/3", ".", NULL);
    expect_status(&o, 2);
    ts_output_free(&o);
    run(&o, "bench", "fpr", "--dedup", "300", ".", NULL);
    expect_status(&o, 2);
    ts_output_free(&o);
    run(&o, "bench", "fpr", "--fpr", "x.json", ".", NULL);
    expect_status(&o, 2);
    ts_output_free(&o);
    run(&o, "bench", "frp", ".", NULL);
    expect_status(&o, 2);
    ts_output_free(&o);
    run(&o, "bench", "fpr", "/nonexistent/corpus", NULL);
    expect_status(&o, 1);
    assert_non_null(strstr(o.err, "/nonexistent/corpus: "));
    ts_output_free(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_on_a_small_corpus),
        cmocka_unit_test(test_merge_of_shards_equals_unsharded_run),
        cmocka_unit_test(test_quality_filter_and_cross_directory_pairs),
        cmocka_unit_test(test_outputs_and_fpr_file),
        cmocka_unit_test(test_broken_partials_are_refused),
        cmocka_unit_test(test_usage_errors),
    };
    return cmocka_run_group_tests_name("cli_bench", tests, NULL, NULL);
}
