/* Conformance: every image in ../shared/pdq-vectors must hash to exactly what
 * Meta's reference implementation printed (hash, quality, all 8 dihedral
 * variants), in both modes. Skips loudly when the vectors are absent. */
#include "support.h"

#include "clientscan.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIELDS 10 /* file, quality, 8 hashes */

typedef struct {
    int rows, exact, failed;
} tally;

static int split_tabs(char *line, char *fields[], int max)
{
    int n = 0;
    char *save = NULL;
    for (char *f = strtok_r(line, "\t\r\n", &save); f && n < max; f = strtok_r(NULL, "\t\r\n", &save))
        fields[n++] = f;
    return n;
}

static FILE *open_tsv(const char *dir, const char *tsv)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, tsv);
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s", path);
    return f;
}

/* The next data row's FIELDS fields (pointing into line); false at the end. */
static bool next_row(FILE *f, const char *tsv, char line[2048], char *fld[FIELDS])
{
    while (fgets(line, 2048, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        int n = split_tabs(line, fld, FIELDS);
        if (n != FIELDS)
            fail_msg("%s: malformed row with %d fields", tsv, n);
        return true;
    }
    return false;
}

static tally check_file(const char *dir, const char *tsv, clientscan_pdq_mode mode)
{
    tally t = {0, 0, 0};
    FILE *f = open_tsv(dir, tsv);
    char line[2048];
    char *fld[FIELDS];
    while (next_row(f, tsv, line, fld)) {
        t.rows++;
        char img_path[4096];
        snprintf(img_path, sizeof img_path, "%s/images/%s", dir, fld[0]);

        clientscan_image img;
        clientscan_detail detail = {{0}};
        int rc = clientscan_decode_file(img_path, NULL, &img, &detail);
        if (rc != CLIENTSCAN_OK) {
            print_error("%s: decode failed: %s\n", fld[0], detail.text);
            t.failed++;
            continue;
        }
        clientscan_pdq_result res;
        rc = clientscan_pdq_hash_image(&img, mode, 1, &res, &detail);
        clientscan_image_release(&img);
        assert_int_equal(rc, CLIENTSCAN_OK);

        /* The streaming decode-and-hash path (what the CLI and the scanner
         * use), on one thread and pipelined on two, must give the very same
         * result as decode-then-hash. */
        bool same = true;
        for (int pipeline = 0; pipeline <= 1; pipeline++) {
            clientscan_hash_params params = {.mode = mode, .dihedral = 1, .pipeline = pipeline};
            clientscan_pdq_result streamed;
            assert_int_equal(clientscan_hash_file(img_path, &params, &streamed, NULL, &detail),
                             CLIENTSCAN_OK);
            if (memcmp(&streamed, &res, sizeof res) != 0) {
                print_error("%s [%s]: streaming hash (pipeline %d) differs from "
                            "decode-then-hash\n", fld[0], tsv, pipeline);
                same = false;
            }
        }
        if (!same) {
            t.failed++;
            continue;
        }

        bool exact = atoi(fld[1]) == res.quality;
        int worst = 0;
        for (int v = 0; v < CLIENTSCAN_DIHEDRAL_COUNT; v++) {
            clientscan_pdq want;
            assert_int_equal(clientscan_pdq_from_hex(fld[2 + v], strlen(fld[2 + v]), &want, NULL),
                             CLIENTSCAN_OK);
            int d = clientscan_pdq_distance(&want, &res.hash[v]);
            if (d > worst)
                worst = d;
        }
        exact = exact && worst == 0;
        if (exact) {
            t.exact++;
        } else {
            char got[CLIENTSCAN_PDQ_HEX_BYTES];
            clientscan_pdq_to_hex(&res.hash[0], got);
            print_error("%s [%s]: got %s q=%d, want %s q=%s (worst variant %d bits)\n", fld[0],
                        tsv, got, res.quality, fld[2], fld[1], worst);
            t.failed++;
        }
    }
    fclose(f);
    print_message("%s: %d/%d rows bit-exact (hash, quality and all 8 variants)\n", tsv, t.exact,
                  t.rows);
    return t;
}

static void run_mode(const char *tsv, clientscan_pdq_mode mode)
{
    const char *dir = ts_vectors_dir(tsv);
    if (!dir)
        skip();
    tally t = check_file(dir, tsv, mode);
    assert_true(t.rows >= 44);
    assert_int_equal(t.failed, 0);
    assert_int_equal(t.exact, t.rows);
}

static void test_full_resolution_matches_reference(void **state)
{
    (void)state;
    run_mode("expected-full.tsv", CLIENTSCAN_PDQ_MODE_FULL);
}

static void test_cli512_mode_matches_reference_cli(void **state)
{
    (void)state;
    run_mode("expected-cli512.tsv", CLIENTSCAN_PDQ_MODE_CLI512);
}

/* Fast mode (JPEGs decoded at a reduced DCT scale) is approximate by
 * design; on the vectors it must stay within PDQ's own conformance
 * tolerance, 10 bits of the reference's full-resolution hash, for images
 * of quality >= 80, and the streaming and decode-then-hash paths must agree. */
static void test_fast_mode_within_ten_bits_of_reference(void **state)
{
    (void)state;
    const char *dir = ts_vectors_dir("expected-full.tsv (fast mode)");
    if (!dir)
        skip();
    FILE *f = open_tsv(dir, "expected-full.tsv");
    char line[2048];
    char *fld[FIELDS];
    int scaled = 0, worst = 0, total = 0;
    while (next_row(f, "expected-full.tsv", line, fld)) {
        char img_path[4096];
        snprintf(img_path, sizeof img_path, "%s/images/%s", dir, fld[0]);
        clientscan_hash_params params = {.decode.jpeg_min_side = CLIENTSCAN_FAST_MIN_SIDE};
        clientscan_pdq_result fast, via_image;
        clientscan_hash_info info;
        clientscan_detail d = {{0}};
        if (clientscan_hash_file(img_path, &params, &fast, &info, &d) != CLIENTSCAN_OK)
            fail_msg("%s: %s", fld[0], d.text);
        clientscan_image img;
        if (clientscan_decode_file(img_path, &params.decode, &img, &d) != CLIENTSCAN_OK)
            fail_msg("%s: %s", fld[0], d.text);
        assert_int_equal(clientscan_pdq_hash_image(&img, CLIENTSCAN_PDQ_MODE_FULL, 0, &via_image, &d),
                         CLIENTSCAN_OK);
        clientscan_image_release(&img);
        if (memcmp(&fast.hash[0], &via_image.hash[0], sizeof fast.hash[0]) != 0 ||
            fast.quality != via_image.quality)
            fail_msg("%s: fast streaming hash differs from decode-then-hash", fld[0]);
        clientscan_pdq want;
        assert_int_equal(clientscan_pdq_from_hex(fld[2], strlen(fld[2]), &want, NULL), CLIENTSCAN_OK);
        const int dist = clientscan_pdq_distance(&want, &fast.hash[0]);
        total++;
        if (info.width != info.source_width)
            scaled++;
        if (atoi(fld[1]) < 80)
            continue;
        if (dist > worst)
            worst = dist;
        if (dist > 10)
            fail_msg("%s: fast hash %d bits from the reference (%ux%u decoded as %ux%u)", fld[0],
                     dist, info.source_width, info.source_height, info.width, info.height);
    }
    fclose(f);
    print_message("fast mode (min side %u): %d of %d vectors decoded smaller; worst distance "
                  "for quality >= 80: %d bits\n", CLIENTSCAN_FAST_MIN_SIDE, scaled, total, worst);
    assert_true(total >= 44);
    assert_true(scaled > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_resolution_matches_reference),
        cmocka_unit_test(test_cli512_mode_matches_reference_cli),
        cmocka_unit_test(test_fast_mode_within_ten_bits_of_reference),
    };
    return cmocka_run_group_tests_name("pdq conformance", tests, NULL, NULL);
}
