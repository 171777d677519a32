/* Index: multi-index hashing must return exactly what a linear scan returns,
 * for every radius 0..64, on random, clustered and real PDQ hashes, for the
 * automatic shape and forced shapes; public matching with 8 variants. */
#include "support.h"

#include "hashlist.h"
#include "index.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ helpers */

static uint64_t rng_state;

static uint64_t rng(void)
{
    /* xorshift64*: deterministic, seeded per test. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

static void random_hash(clientscan_pdq *h)
{
    for (int i = 0; i < CLIENTSCAN_PDQ_BYTES; i += 8) {
        uint64_t v = rng();
        memcpy(h->bytes + i, &v, 8);
    }
}

/* Flips `bits` distinct random bits. */
static void perturb(clientscan_pdq *h, int bits)
{
    uint8_t flipped[256] = {0};
    for (int done = 0; done < bits;) {
        unsigned b = (unsigned)(rng() % 256);
        if (flipped[b])
            continue;
        flipped[b] = 1;
        h->bytes[b / 8] ^= (uint8_t)(1u << (b % 8));
        done++;
    }
}

/* Brute-force reference using the library's public distance. */
static size_t reference(const clientscan_pdq *hashes, size_t n, const clientscan_pdq *q, int d,
                        cs_hit *out)
{
    size_t k = 0;
    for (size_t e = 0; e < n; e++) {
        int dist = clientscan_pdq_distance(&hashes[e], q);
        if (dist <= d)
            out[k++] = (cs_hit){(uint32_t)e, (uint16_t)dist, 0};
    }
    /* Same order as cs_hits_finish: distance, then entry. */
    for (size_t i = 1; i < k; i++)
        for (size_t j = i; j > 0 && (out[j - 1].distance > out[j].distance ||
                                     (out[j - 1].distance == out[j].distance &&
                                      out[j - 1].entry > out[j].entry));
             j--) {
            cs_hit t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    return k;
}

static void check_query(const cs_index *ix, const clientscan_pdq *hashes, size_t n,
                        const clientscan_pdq *q, int d, cs_hit *expect)
{
    size_t ne = reference(hashes, n, q, d, expect);
    static const clientscan_match_method methods[] = {CLIENTSCAN_MATCH_INDEX,
                                                      CLIENTSCAN_MATCH_LINEAR,
                                                      CLIENTSCAN_MATCH_AUTO};
    for (size_t m = 0; m < 3; m++) {
        cs_hit local[8];
        cs_hits hits = {local, 0, 8, false};
        assert_int_equal(cs_index_search(ix, q, 0, d, methods[m], &hits), CLIENTSCAN_OK);
        cs_hits_finish(&hits);
        if (hits.n != ne)
            fail_msg("d=%d method %d: %zu hits, linear reference has %zu", d, (int)methods[m],
                     hits.n, ne);
        for (size_t i = 0; i < ne; i++) {
            assert_int_equal(hits.v[i].entry, expect[i].entry);
            assert_int_equal(hits.v[i].distance, expect[i].distance);
        }
        cs_hits_release(&hits);
    }
}

/* For every d in 0..64, queries near list entries (so there are hits at
 * every radius) and uniform ones. */
static void check_index_all_radii(const cs_index *ix, const clientscan_pdq *hashes, size_t n,
                                  int queries_per_d)
{
    cs_hit *expect = ts_malloc((n + 1) * sizeof *expect);
    for (int d = 0; d <= 64; d++) {
        for (int k = 0; k < queries_per_d; k++) {
            clientscan_pdq q;
            if (k % 4 == 3 || n == 0) {
                random_hash(&q);
            } else {
                q = hashes[rng() % n];
                perturb(&q, (int)(rng() % (size_t)(d + 2)));
            }
            check_query(ix, hashes, n, &q, d, expect);
        }
    }
    free(expect);
}

/* The same against several index shapes given as substring counts. */
static void check_all_radii(const clientscan_pdq *hashes, size_t n, const unsigned *shapes,
                            size_t nshapes, int queries_per_d)
{
    for (size_t s = 0; s < nshapes; s++) {
        cs_index *ix = NULL;
        assert_int_equal(cs_index_build(hashes, n, shapes[s], &ix, NULL), CLIENTSCAN_OK);
        check_index_all_radii(ix, hashes, n, queries_per_d);
        cs_index_free(ix);
    }
}

/* Explicit shapes: directories from the full substring width down to
 * CS_INDEX_TAIL_BITS narrower (large, tail-sorted buckets), with and
 * without spare bits that widen the first tables, on the given list
 * (directories of at most 2^19 slots, to keep the test fast). */
static const cs_index_shape explicit_shapes[] = {
    {11, 23, 17}, {11, 23, 18}, {14, 18, 18}, {12, 21, 15}, {10, 25, 19},
    {16, 16, 10}, {3, 20, 14},  {1, 8, 2},    {5, 6, 0},
};

static void check_explicit_shapes(const clientscan_pdq *hashes, size_t n, int queries_per_d)
{
    for (size_t s = 0; s < sizeof explicit_shapes / sizeof explicit_shapes[0]; s++) {
        cs_index *ix = NULL;
        assert_int_equal(cs_index_build_shape(hashes, n, explicit_shapes[s], &ix, NULL),
                         CLIENTSCAN_OK);
        check_index_all_radii(ix, hashes, n, queries_per_d);
        cs_index_free(ix);
    }
}

static const unsigned shapes[] = {0, 1, 2, 5, 8, 11, 16, 23, 40, 64};
#define NSHAPES (sizeof shapes / sizeof shapes[0])

/* ------------------------------------------------------------ tests */

static void test_random_lists_equal_linear(void **state)
{
    (void)state;
    rng_state = 0x1234567887654321ULL;
    size_t n = 1500;
    clientscan_pdq *h = ts_malloc(n * sizeof *h);
    for (size_t i = 0; i < n; i++)
        random_hash(&h[i]);
    check_all_radii(h, n, shapes, NSHAPES, 6);
    check_explicit_shapes(h, n, 2);
    free(h);
}

static int cmp_hash(const void *a, const void *b)
{
    return memcmp(a, b, CLIENTSCAN_PDQ_BYTES);
}

/* Hash lists are sorted by hash, so table 0 is already in substring order
 * and indexes the hashes in place; that path must agree with a scan too. */
static void test_sorted_lists_equal_linear(void **state)
{
    (void)state;
    rng_state = 0x5eed5eed5eed5eedULL;
    size_t n = 1500;
    clientscan_pdq *h = ts_malloc(n * sizeof *h);
    for (size_t i = 0; i < n; i++) {
        if (i % 10 == 0)
            random_hash(&h[i]);
        else {
            h[i] = h[i - i % 10];
            perturb(&h[i], 1 + (int)(rng() % 20));
        }
    }
    cs_index *unsorted = NULL, *sorted = NULL;
    assert_int_equal(cs_index_build(h, n, 8, &unsorted, NULL), CLIENTSCAN_OK);
    qsort(h, n, sizeof *h, cmp_hash);
    assert_int_equal(cs_index_build(h, n, 8, &sorted, NULL), CLIENTSCAN_OK);
    clientscan_index_info a, b;
    cs_index_describe(unsorted, &a);
    cs_index_describe(sorted, &b);
    /* One entries array (4 bytes per entry) fewer. */
    assert_int_equal(a.memory_bytes - b.memory_bytes, n * 4);
    cs_index_free(unsorted);
    cs_index_free(sorted);
    check_all_radii(h, n, shapes, NSHAPES, 6);
    /* Sorted: table 0 indexes the hashes in place, tail bits included. */
    check_explicit_shapes(h, n, 2);
    free(h);
}

static void test_clustered_lists_equal_linear(void **state)
{
    (void)state;
    rng_state = 0xfeedface12345678ULL;
    /* 60 centres, 25 near-duplicates each at 1..24 bits: many entries fall
     * into the same substring buckets and matches sit at every radius. */
    size_t n = 1500;
    clientscan_pdq *h = ts_malloc(n * sizeof *h);
    for (size_t i = 0; i < n; i++) {
        if (i % 25 == 0)
            random_hash(&h[i]);
        else {
            h[i] = h[i - i % 25];
            perturb(&h[i], 1 + (int)(rng() % 24));
        }
    }
    check_all_radii(h, n, shapes, NSHAPES, 6);
    check_explicit_shapes(h, n, 2);
    free(h);
}

/* Sets bit p (0 = most significant bit of byte 0, as substrings count). */
static void set_bit(clientscan_pdq *h, unsigned p, unsigned v)
{
    uint8_t mask = (uint8_t)(0x80u >> (p % 8));
    h->bytes[p / 8] = (uint8_t)(v ? h->bytes[p / 8] | mask : h->bytes[p / 8] & ~mask);
}

/* Buckets whose tails are far from uniform: every entry shares all the
 * directory bits and its tails are mostly the largest value, so the guess
 * of where an exact tail's run starts (uniform tails) is far off and the
 * search must step out of the prefetched window to find it. */
static void test_skewed_buckets_equal_linear(void **state)
{
    (void)state;
    rng_state = 0xabcdef0123456789ULL;
    const cs_index_shape shape = {16, 16, 10}; /* tails: the low 6 bits of each substring */
    size_t n = 700;
    clientscan_pdq centre;
    random_hash(&centre);
    clientscan_pdq *h = ts_malloc(n * sizeof *h);
    for (size_t i = 0; i < n; i++) {
        h[i] = centre;
        for (unsigned t = 0; t < shape.m; t++) {
            /* 7 in 8 entries: tail 63; the rest: a random tail. */
            unsigned tail = rng() % 8 ? 63u : (unsigned)(rng() % 64);
            for (unsigned bit = 0; bit < 6; bit++)
                set_bit(&h[i], t * shape.bits + shape.dir_bits + bit, (tail >> (5 - bit)) & 1);
        }
    }
    cs_index *ix = NULL;
    assert_int_equal(cs_index_build_shape(h, n, shape, &ix, NULL), CLIENTSCAN_OK);
    check_index_all_radii(ix, h, n, 4);
    cs_index_free(ix);
    /* Sorted, so table 0 is in place, and with a directory of 0 bits (one
     * bucket holding the whole list). */
    qsort(h, n, sizeof *h, cmp_hash);
    assert_int_equal(cs_index_build_shape(h, n, shape, &ix, NULL), CLIENTSCAN_OK);
    check_index_all_radii(ix, h, n, 4);
    cs_index_free(ix);
    assert_int_equal(cs_index_build_shape(h, n, (cs_index_shape){40, 6, 0}, &ix, NULL),
                     CLIENTSCAN_OK);
    check_index_all_radii(ix, h, n, 2);
    cs_index_free(ix);
    free(h);
}

/* Flips `bits` distinct random bits among bits [from, from + width). */
static void perturb_range(clientscan_pdq *h, unsigned from, unsigned width, int bits)
{
    uint8_t flipped[256] = {0};
    for (int done = 0; done < bits && done < (int)width;) {
        unsigned b = from + (unsigned)(rng() % width);
        if (flipped[b])
            continue;
        flipped[b] = 1;
        h->bytes[b / 8] ^= (uint8_t)(0x80u >> (b % 8));
        done++;
    }
}

/* The radius split is chosen per query: the table whose buckets around the
 * query are densest gets the smaller radius. A list where hundreds of
 * entries share a 48-bit window with the query (so at least one table is
 * dense there, whatever the shape), plus entries near the query whose
 * differences sit mostly inside that window (found only through the other
 * tables) or outside it, must still give exactly the linear scan's result
 * at every radius. */
static void test_dense_table_equal_linear(void **state)
{
    (void)state;
    rng_state = 0x5eed0fdeadbeef01ULL;
    static const unsigned windows[] = {0, 100, 208}; /* first, middle and last tables */
    size_t n = 3000;
    clientscan_pdq *h = ts_malloc(n * sizeof *h);
    cs_hit *expect = ts_malloc((n + 1) * sizeof *expect);
    for (size_t w = 0; w < sizeof windows / sizeof windows[0]; w++) {
        unsigned from = windows[w], width = 48;
        clientscan_pdq q;
        random_hash(&q);
        for (size_t i = 0; i < n; i++) {
            if (i < 800) {
                /* Dense: the query's window, random elsewhere. */
                random_hash(&h[i]);
                for (unsigned b = from; b < from + width; b++)
                    set_bit(&h[i], b, (q.bytes[b / 8] >> (7 - b % 8)) & 1);
            } else if (i < 1400) {
                /* Near: up to 12 flips inside the window, up to 40 outside. */
                h[i] = q;
                perturb_range(&h[i], from, width, (int)(rng() % 13));
                int outside = (int)(rng() % 41);
                for (int k = 0; k < outside; k++) {
                    unsigned b = (from + width + (unsigned)(rng() % (256 - width))) % 256;
                    h[i].bytes[b / 8] ^= (uint8_t)(0x80u >> (b % 8));
                }
            } else {
                random_hash(&h[i]);
            }
        }
        static const unsigned dense_shapes[] = {0, 5, 8, 11, 16};
        for (size_t s = 0; s < sizeof dense_shapes / sizeof dense_shapes[0]; s++) {
            cs_index *ix = NULL;
            assert_int_equal(cs_index_build(h, n, dense_shapes[s], &ix, NULL), CLIENTSCAN_OK);
            for (int d = 0; d <= 64; d++) {
                check_query(ix, h, n, &q, d, expect);
                clientscan_pdq near = q;
                perturb(&near, (int)(rng() % (size_t)(d / 2 + 2)));
                check_query(ix, h, n, &near, d, expect);
            }
            cs_index_free(ix);
        }
    }
    free(expect);
    free(h);
}

/* Pigeonhole-tight entries: with d + 1 = q*m + a, every table gets q or
 * q + 1 flips and exactly m - a + 1 tables get q, so the entry sits at
 * distance exactly d and only the tables given radius q (a of them, chosen
 * per query) find it. A split that left one more table at q - 1 would miss
 * the entries whose q-flip tables are all narrow; the q-flip tables here
 * are random subsets and the last ones (where ties put the narrow tables). */
static void test_tight_entries_equal_linear(void **state)
{
    (void)state;
    rng_state = 0x7167687400000001ULL;
    const cs_index_shape shape = {11, 23, 17}; /* 3 tables of 24 bits, 8 of 23 */
    unsigned offset[11], width[11], at = 0;
    for (unsigned t = 0; t < shape.m; t++) {
        width[t] = shape.bits + (t < 256 - shape.m * shape.bits);
        offset[t] = at;
        at += width[t];
    }
    size_t n = 4000;
    clientscan_pdq *h = ts_malloc(n * sizeof *h);
    cs_hit *expect = ts_malloc((n + 1) * sizeof *expect);
    for (int d = 10; d <= 40; d++) {
        unsigned q = (unsigned)(d + 1) / shape.m, a = (unsigned)(d + 1) % shape.m;
        unsigned low = shape.m - a + 1; /* tables with q flips */
        if (q == 0 || a == 0)
            continue;
        clientscan_pdq query;
        random_hash(&query);
        for (size_t i = 0; i < n; i++) {
            if (i >= 600) {
                random_hash(&h[i]);
                continue;
            }
            bool few[11] = {false};
            if (i % 3 == 0) {
                for (unsigned t = shape.m - low; t < shape.m; t++)
                    few[t] = true;
            } else {
                for (unsigned k = 0; k < low;) {
                    unsigned t = (unsigned)(rng() % shape.m);
                    if (!few[t]) {
                        few[t] = true;
                        k++;
                    }
                }
            }
            h[i] = query;
            for (unsigned t = 0; t < shape.m; t++)
                perturb_range(&h[i], offset[t], width[t], (int)(few[t] ? q : q + 1));
            assert_int_equal(clientscan_pdq_distance(&h[i], &query), d);
        }
        cs_index *ix = NULL;
        assert_int_equal(cs_index_build_shape(h, n, shape, &ix, NULL), CLIENTSCAN_OK);
        check_query(ix, h, n, &query, d, expect);
        check_query(ix, h, n, &query, d - 1, expect);
        cs_index_free(ix);
    }
    free(expect);
    free(h);
}

/* Candidates are verified a fixed lag after they are found (a ring); a
 * query with fewer, exactly as many, and more candidates than the ring
 * holds must report each entry once. k copies of one hash among random
 * ones: every table finds all k. */
static void test_candidate_ring_counts(void **state)
{
    (void)state;
    rng_state = 0x0123fedc4567ba98ULL;
    static const size_t copies[] = {1, 2, 31, 32, 33, 63, 64, 65, 300};
    size_t n = 4000;
    clientscan_pdq *h = ts_malloc(n * sizeof *h);
    for (size_t c = 0; c < sizeof copies / sizeof copies[0]; c++) {
        clientscan_pdq q;
        random_hash(&q);
        for (size_t i = 0; i < n; i++) {
            if (i < copies[c])
                h[i] = q;
            else
                random_hash(&h[i]);
        }
        cs_index *ix = NULL;
        assert_int_equal(cs_index_build(h, n, 0, &ix, NULL), CLIENTSCAN_OK);
        for (int d = 0; d <= 40; d += 8) {
            cs_hit local[4];
            cs_hits hits = {local, 0, 4, false};
            assert_int_equal(cs_index_search(ix, &q, 0, d, CLIENTSCAN_MATCH_INDEX, &hits),
                             CLIENTSCAN_OK);
            cs_hits_finish(&hits);
            size_t exact = 0;
            for (size_t i = 0; i < hits.n; i++)
                if (hits.v[i].distance == 0) {
                    assert_true(hits.v[i].entry < copies[c]);
                    exact++;
                }
            assert_int_equal(exact, copies[c]);
            cs_hits_release(&hits);
        }
        cs_index_free(ix);
    }
    free(h);
}

static size_t load_hex_file(const char *path, clientscan_pdq *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s", path);
    char line[256];
    size_t n = 0;
    while (n < cap && fgets(line, sizeof line, f)) {
        size_t len = strcspn(line, "\r\n");
        if (len == 0)
            continue;
        assert_int_equal(clientscan_pdq_from_hex(line, len, &out[n], NULL), CLIENTSCAN_OK);
        n++;
    }
    fclose(f);
    return n;
}

static void test_real_hashes_equal_linear(void **state)
{
    (void)state;
    const char *dir = ts_vectors_dir("index property test on real PDQ hashes");
    if (!dir) {
        skip();
        return;
    }
    rng_state = 0x0badc0ffee0ddf00ULL;
    char path[4096];
    size_t cap = 4096;
    clientscan_pdq *hay = ts_malloc(cap * sizeof *hay);
    clientscan_pdq *needles = ts_malloc(cap * sizeof *needles);
    snprintf(path, sizeof path, "%s/haystack.txt", dir);
    size_t nh = load_hex_file(path, hay, cap);
    snprintf(path, sizeof path, "%s/needles.txt", dir);
    size_t nn = load_hex_file(path, needles, cap);
    assert_true(nh > 1000);
    assert_true(nn > 50);
    cs_hit *expect = ts_malloc((nh + 1) * sizeof *expect);
    static const unsigned real_shapes[] = {0, 4, 8, 11, 16};
    for (size_t s = 0; s < sizeof real_shapes / sizeof real_shapes[0]; s++) {
        cs_index *ix = NULL;
        assert_int_equal(cs_index_build(hay, nh, real_shapes[s], &ix, NULL), CLIENTSCAN_OK);
        for (int d = 0; d <= 64; d++)
            for (size_t k = 0; k < 8; k++)
                check_query(ix, hay, nh, &needles[(size_t)d * 8 + k < nn ? (size_t)d * 8 + k
                                                                          : rng() % nn],
                            d, expect);
        cs_index_free(ix);
    }
    /* The real needles really do have near neighbours in the haystack. */
    size_t any = 0;
    for (size_t i = 0; i < nn; i++)
        any += reference(hay, nh, &needles[i], 31, expect) > 0;
    assert_true(any > 0);
    free(expect);
    free(hay);
    free(needles);
}

static void test_edge_cases(void **state)
{
    (void)state;
    rng_state = 42;
    /* Empty index: nothing found, no crash, whatever the method. */
    cs_index *ix = NULL;
    assert_int_equal(cs_index_build(NULL, 0, 0, &ix, NULL), CLIENTSCAN_OK);
    clientscan_pdq q;
    random_hash(&q);
    cs_hits hits = {NULL, 0, 0, false};
    assert_int_equal(cs_index_search(ix, &q, 0, 256, CLIENTSCAN_MATCH_INDEX, &hits),
                     CLIENTSCAN_OK);
    assert_int_equal(hits.n, 0);
    cs_index_free(ix);

    /* d = 256 returns everything; d = 0 only exact copies. */
    size_t n = 300;
    clientscan_pdq *h = ts_malloc(n * sizeof *h);
    for (size_t i = 0; i < n; i++)
        random_hash(&h[i]);
    assert_int_equal(cs_index_build(h, n, 8, &ix, NULL), CLIENTSCAN_OK);
    assert_int_equal(cs_index_search(ix, &q, 0, 256, CLIENTSCAN_MATCH_INDEX, &hits),
                     CLIENTSCAN_OK);
    cs_hits_finish(&hits);
    assert_int_equal(hits.n, n);
    cs_hits_release(&hits);
    assert_int_equal(cs_index_search(ix, &h[17], 3, 0, CLIENTSCAN_MATCH_INDEX, &hits),
                     CLIENTSCAN_OK);
    cs_hits_finish(&hits);
    assert_int_equal(hits.n, 1);
    assert_int_equal(hits.v[0].entry, 17);
    assert_int_equal(hits.v[0].variant, 3);
    cs_hits_release(&hits);
    cs_index_free(ix);
    free(h);

    /* Radii far beyond a substring's width (one table searched at up to
     * d): the radius left for the tail bits must not wrap around. */
    rng_state = 4242;
    n = 200;
    h = ts_malloc(n * sizeof *h);
    for (size_t i = 0; i < n; i++)
        random_hash(&h[i]);
    cs_hit *expect = ts_malloc((n + 1) * sizeof *expect);
    assert_int_equal(cs_index_build_shape(h, n, (cs_index_shape){1, 12, 6}, &ix, NULL),
                     CLIENTSCAN_OK);
    static const int big_d[] = {120, 127, 128, 130, 160, 200, 255, 256};
    for (size_t i = 0; i < sizeof big_d / sizeof big_d[0]; i++) {
        random_hash(&q);
        check_query(ix, h, n, &q, big_d[i], expect);
    }
    cs_index_free(ix);
    free(expect);
    free(h);

    assert_int_equal(cs_index_build(NULL, 0, CS_INDEX_MAX_TABLES + 1, &ix, NULL),
                     CLIENTSCAN_E_INVALID_ARGUMENT);
}

static void test_shape_rule(void **state)
{
    (void)state;
    assert_int_equal(cs_index_choose_shape(0).m, 0);
    /* Tiny lists: a linear scan is cheapest, no index memory spent. */
    assert_int_equal(cs_index_choose_shape(50).m, 0);
    size_t sizes[] = {100000, 1000000, 10000000, 50000000};
    unsigned prev_dir = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        cs_index_shape s = cs_index_choose_shape(sizes[i]);
        assert_true(s.m >= 1 && s.m <= CS_INDEX_MAX_TABLES);
        assert_true(s.m * s.bits <= 256);
        assert_true(s.dir_bits <= s.bits && s.bits - s.dir_bits <= CS_INDEX_TAIL_BITS);
        /* The directory grows with the list (about log2 n), never shrinks. */
        assert_true(s.dir_bits >= prev_dir);
        prev_dir = s.dir_bits;
        /* Within the memory budget: 2x the raw hash bytes (16 MiB at least). */
        double mem = (double)s.m * (((double)((size_t)1 << s.dir_bits) + 1 + (double)sizes[i]) * 4);
        double budget = 64.0 * (double)sizes[i];
        assert_true(mem <= (budget > 16 << 20 ? budget : 16 << 20));
        if (sizes[i] >= 1000000)
            assert_true(mem <= budget);
    }
}

typedef struct {
    const cs_index *ix;
    const clientscan_pdq *hashes;
    size_t n;
    uint64_t seed;
    int failures;
} thread_job;

static void *thread_main(void *arg)
{
    thread_job *job = arg;
    uint64_t s = job->seed;
    for (int k = 0; k < 200; k++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        clientscan_pdq q = job->hashes[(s >> 33) % job->n];
        q.bytes[(s >> 20) % 32] ^= 0x5a;
        cs_hit la[16], lb[16];
        cs_hits a = {la, 0, 16, false}, b = {lb, 0, 16, false};
        if (cs_index_search(job->ix, &q, 0, 31, CLIENTSCAN_MATCH_INDEX, &a) != CLIENTSCAN_OK ||
            cs_index_search(job->ix, &q, 0, 31, CLIENTSCAN_MATCH_LINEAR, &b) != CLIENTSCAN_OK)
            job->failures++;
        cs_hits_finish(&a);
        cs_hits_finish(&b);
        if (a.n != b.n || (a.n && memcmp(a.v, b.v, a.n * sizeof *a.v) != 0))
            job->failures++;
        cs_hits_release(&a);
        cs_hits_release(&b);
    }
    return NULL;
}

static void test_concurrent_queries(void **state)
{
    (void)state;
    rng_state = 777;
    size_t n = 5000;
    clientscan_pdq *h = ts_malloc(n * sizeof *h);
    for (size_t i = 0; i < n; i++)
        random_hash(&h[i]);
    cs_index *ix = NULL;
    assert_int_equal(cs_index_build(h, n, 0, &ix, NULL), CLIENTSCAN_OK);
    pthread_t t[4];
    thread_job jobs[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (thread_job){ix, h, n, (uint64_t)i * 1000 + 1, 0};
        assert_int_equal(pthread_create(&t[i], NULL, thread_main, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(jobs[i].failures, 0);
    }
    cs_index_free(ix);
    free(h);
}

/* Public API: one clientscan_list_match over 8 variants reports each entry
 * once, with its best distance and the variant that reached it. */
static void test_list_match_variants(void **state)
{
    (void)state;
    rng_state = 99;
    clientscan_list_builder *b = NULL;
    assert_int_equal(clientscan_list_builder_new(&b, NULL), CLIENTSCAN_OK);
    size_t n = 800;
    for (size_t i = 0; i < n; i++) {
        clientscan_pdq h;
        random_hash(&h);
        assert_int_equal(clientscan_list_builder_add(b, &h, NULL, -1, NULL), CLIENTSCAN_OK);
    }
    uint8_t *enc = NULL;
    size_t enc_len = 0;
    assert_int_equal(clientscan_list_builder_encode(b, NULL, 0, &enc, &enc_len, NULL),
                     CLIENTSCAN_OK);
    clientscan_list_builder_free(b);
    for (unsigned m = 0; m <= 16; m += 8) {
        clientscan_list_params lp = {0};
        lp.allow_unsigned = 1;
        lp.index_substrings = m;
        clientscan_list *list = NULL;
        assert_int_equal(clientscan_list_open_memory(enc, enc_len, &lp, &list, NULL),
                         CLIENTSCAN_OK);
        for (int round = 0; round < 50; round++) {
            clientscan_pdq_result qr;
            memset(&qr, 0, sizeof qr);
            qr.quality = (int)(rng() % 101);
            for (int v = 0; v < 8; v++) {
                clientscan_list_entry e;
                assert_int_equal(clientscan_list_entry_at(list, rng() % n, &e), CLIENTSCAN_OK);
                qr.hash[v] = e.hash;
                perturb(&qr.hash[v], (int)(rng() % 40));
            }
            clientscan_match_params mp = CLIENTSCAN_MATCH_PARAMS_DEFAULT;
            mp.method = round % 2 ? CLIENTSCAN_MATCH_INDEX : CLIENTSCAN_MATCH_AUTO;
            clientscan_match got[64];
            size_t found = 0;
            int low = -1;
            assert_int_equal(
                clientscan_list_match(list, &qr, &mp, got, 64, &found, &low, NULL),
                CLIENTSCAN_OK);
            assert_int_equal(low, qr.quality < 50);
            /* Brute force over entries x variants. */
            size_t expect = 0;
            for (size_t e = 0; e < n; e++) {
                clientscan_list_entry ent;
                clientscan_list_entry_at(list, e, &ent);
                int best = 999, best_v = -1;
                for (int v = 0; v < 8; v++) {
                    int d = clientscan_pdq_distance(&ent.hash, &qr.hash[v]);
                    if (d < best) {
                        best = d;
                        best_v = v;
                    }
                }
                if (best > 31)
                    continue;
                expect++;
                size_t k = 0;
                while (k < found && got[k].entry != e)
                    k++;
                assert_true(k < found);
                assert_int_equal(got[k].distance, best);
                assert_int_equal((int)got[k].variant, best_v);
            }
            assert_int_equal(found, expect);
            for (size_t k = 1; k < found; k++)
                assert_true(got[k - 1].distance <= got[k].distance);
            /* Skipping low quality: flagged, not searched. */
            mp.skip_low_quality = 1;
            qr.quality = 10;
            assert_int_equal(
                clientscan_list_match(list, &qr, &mp, got, 64, &found, &low, NULL),
                CLIENTSCAN_OK);
            assert_int_equal(low, 1);
            assert_int_equal(found, 0);
        }
        /* Capacity smaller than the result: found says how many exist. */
        clientscan_list_entry e0;
        clientscan_list_entry_at(list, 0, &e0);
        clientscan_match_params all = CLIENTSCAN_MATCH_PARAMS_DEFAULT;
        all.max_distance = 256;
        size_t found = 0;
        clientscan_match two[2];
        assert_int_equal(clientscan_list_search(list, &e0.hash, &all, two, 2, &found, NULL),
                         CLIENTSCAN_OK);
        assert_int_equal(found, n);
        assert_int_equal(two[0].entry, 0);
        assert_int_equal(two[0].distance, 0);
        all.max_distance = 257;
        assert_int_equal(clientscan_list_search(list, &e0.hash, &all, two, 2, &found, NULL),
                         CLIENTSCAN_E_INVALID_ARGUMENT);
        clientscan_index_info info;
        clientscan_list_index_info(list, &info);
        if (m)
            assert_int_equal(info.substrings, m);
        clientscan_list_close(list);
    }
    free(enc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_lists_equal_linear),
        cmocka_unit_test(test_clustered_lists_equal_linear),
        cmocka_unit_test(test_sorted_lists_equal_linear),
        cmocka_unit_test(test_skewed_buckets_equal_linear),
        cmocka_unit_test(test_dense_table_equal_linear),
        cmocka_unit_test(test_tight_entries_equal_linear),
        cmocka_unit_test(test_candidate_ring_counts),
        cmocka_unit_test(test_real_hashes_equal_linear),
        cmocka_unit_test(test_edge_cases),
        cmocka_unit_test(test_shape_rule),
        cmocka_unit_test(test_concurrent_queries),
        cmocka_unit_test(test_list_match_variants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
