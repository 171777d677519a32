/* Unit tests for the benchmark statistics: Wilson intervals against
 * published values, binomial tails against exact long double summation,
 * and the "at least one of L" probability. */
#include "support.h"

#include "stats.h"

#include <math.h>
#include <stdlib.h>

static void assert_close(double got, long double want, double rel)
{
    long double err = fabsl((long double)got - want);
    if (!(err <= rel * fabsl(want))) {
        print_error("got %.17g, want %.17Lg (relative error %.3Lg > %.3g)\n", got, want,
                    want != 0 ? err / fabsl(want) : err, rel);
        fail();
    }
}

static void test_wilson_matches_newcombe_1998(void **state)
{
    (void)state;
    /* Newcombe, "Two-sided confidence intervals for the single proportion:
     * comparison of seven methods", Stat. Med. 17 (1998), Table II, method
     * 3 (score interval without continuity correction), to 4 decimals. */
    static const struct {
        uint64_t k, n;
        double lo, hi;
    } cases[] = {
        {81, 263, 0.2553, 0.3662},
        {15, 148, 0.0624, 0.1605},
        {0, 20, 0.0000, 0.1611},
        {1, 29, 0.0061, 0.1718},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double lo, hi;
        assert_int_equal(clientscan_wilson_interval(cases[i].k, cases[i].n, &lo, &hi),
                         CLIENTSCAN_OK);
        assert_true(fabs(lo - cases[i].lo) < 5e-5);
        assert_true(fabs(hi - cases[i].hi) < 5e-5);
    }
    /* k = 0 of n: upper bound z^2 / (n + z^2) exactly (centre and half width
     * coincide); k = n: lower bound n / (n + z^2). */
    double lo, hi, z2 = 1.959963984540054 * 1.959963984540054;
    assert_int_equal(clientscan_wilson_interval(0, 1000000, &lo, &hi), CLIENTSCAN_OK);
    assert_true(lo == 0);
    assert_close(hi, (long double)z2 / (1000000 + z2), 1e-12);
    assert_int_equal(clientscan_wilson_interval(50, 50, &lo, &hi), CLIENTSCAN_OK);
    assert_true(hi == 1);
    assert_close(lo, 50.0L / (50 + z2), 1e-12);

    assert_int_equal(clientscan_wilson_interval(1, 0, &lo, &hi), CLIENTSCAN_E_INVALID_ARGUMENT);
    assert_int_equal(clientscan_wilson_interval(3, 2, &lo, &hi), CLIENTSCAN_E_INVALID_ARGUMENT);
    assert_int_equal(clientscan_wilson_interval(1, 2, NULL, &hi), CLIENTSCAN_E_INVALID_ARGUMENT);
}

/* P(X >= t) by brute force in long double: every probability relative to
 * the mode (so nothing underflows near it), by the ratio
 * P(k+1)/P(k) = (n-k)/(k+1) * p/(1-p), then normalised by their total. */
static long double exact_tail(uint64_t n, long double p, uint64_t t)
{
    uint64_t mode = (uint64_t)floorl((n + 1) * p);
    if (mode > n)
        mode = n;
    long double odds = p / (1 - p), total = 0, tail = 0, term = 1;
    for (uint64_t k = mode;; k++) {
        total += term;
        if (k >= t)
            tail += term;
        if (k == n)
            break;
        term *= (long double)(n - k) / (k + 1) * odds;
        if (term == 0)
            break;
    }
    term = 1;
    for (uint64_t k = mode; k > 0;) {
        term *= (long double)k / (n - k + 1) / odds; /* P(k-1) from P(k) */
        k--;
        total += term;
        if (k >= t)
            tail += term;
        if (term == 0)
            break;
    }
    return tail / total;
}

static void test_binomial_tail_against_exact_sums(void **state)
{
    (void)state;
    static const uint64_t ns[] = {1, 10, 100, 1000, 10000, 100000, 10000000};
    static const double ps[] = {1e-15, 1e-9, 1e-6, 1e-3, 0.05, 0.3, 0.5, 0.9};
    static const uint64_t ts[] = {1, 2, 3, 5, 10, 50, 500};
    int checked = 0;
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
        for (size_t j = 0; j < sizeof ps / sizeof ps[0]; j++)
            for (size_t k = 0; k < sizeof ts / sizeof ts[0]; k++) {
                uint64_t n = ns[i], t = ts[k];
                double p = ps[j];
                double got;
                assert_int_equal(clientscan_binomial_tail(n, p, t, &got), CLIENTSCAN_OK);
                long double want = t > n ? 0 : exact_tail(n, p, t);
                if (want < 1e-290L) {
                    assert_true(got < 1e-280);
                    continue;
                }
                assert_close(got, want, 1e-9);
                checked++;
            }
    assert_true(checked > 200);
}

static void test_binomial_tail_small_closed_forms(void **state)
{
    (void)state;
    double got;
    /* P(X >= 1) = 1 - (1-p)^n: n = 1000, p = 1e-18 -> 1e-15 - 5e-31. */
    assert_int_equal(clientscan_binomial_tail(1000, 1e-18, 1, &got), CLIENTSCAN_OK);
    assert_close(got, -expm1l(1000 * log1pl(-1e-18L)), 1e-12);
    /* P(X >= n) = p^n: n = 20, p = 0.1 -> 1e-20. */
    assert_int_equal(clientscan_binomial_tail(20, 0.1, 20, &got), CLIENTSCAN_OK);
    assert_close(got, powl(0.1L, 20), 1e-12);
    /* n = 1e5 images, p = 1e-9, t = 10: about C(1e5, 10) 1e-90 = 2.76e-47,
     * well below 1e-15 and still accurate. */
    assert_int_equal(clientscan_binomial_tail(100000, 1e-9, 10, &got), CLIENTSCAN_OK);
    assert_close(got, exact_tail(100000, 1e-9L, 10), 1e-10);
    assert_true(got > 2.7e-47 && got < 2.8e-47);

    /* Edges. */
    assert_int_equal(clientscan_binomial_tail(5, 0.5, 0, &got), CLIENTSCAN_OK);
    assert_true(got == 1);
    assert_int_equal(clientscan_binomial_tail(5, 0.5, 6, &got), CLIENTSCAN_OK);
    assert_true(got == 0);
    assert_int_equal(clientscan_binomial_tail(5, 0, 1, &got), CLIENTSCAN_OK);
    assert_true(got == 0);
    assert_int_equal(clientscan_binomial_tail(5, 1, 5, &got), CLIENTSCAN_OK);
    assert_true(got == 1);
    assert_int_equal(clientscan_binomial_tail(5, -0.1, 1, &got), CLIENTSCAN_E_INVALID_ARGUMENT);
    assert_int_equal(clientscan_binomial_tail(5, NAN, 1, &got), CLIENTSCAN_E_INVALID_ARGUMENT);
    assert_int_equal(clientscan_binomial_tail(5, 0.5, 1, NULL), CLIENTSCAN_E_INVALID_ARGUMENT);
}

static void test_log_choose_and_pmf(void **state)
{
    (void)state;
    /* C(10, 3) = 120; C(100, 50) = 100891344545564193334812497256. */
    assert_close(cs_log_choose(10, 3), logl(120), 1e-14);
    assert_close(cs_log_choose(100, 50), logl(100891344545564193334812497256.0L), 1e-13);
    assert_close(cs_log_choose(7, 7), 0, 0);
    /* P(X = 2), n = 4, p = 0.5: 6/16. */
    assert_close(cs_log_binomial_pmf(4, 0.5, 2), logl(6.0L / 16), 1e-13);
}

static void test_prob_at_least_one(void **state)
{
    (void)state;
    double got;
    /* p = 1e-12, L = 1e6: 1 - (1-p)^L = Lp - C(L,2) p^2 + ... = 9.999995e-7. */
    assert_int_equal(clientscan_prob_at_least_one(1e-12, 1e6, &got), CLIENTSCAN_OK);
    assert_close(got, 1e-6L - 0.5L * 1e6L * (1e6L - 1) * 1e-24L, 1e-11);
    /* p = 0.5, L = 3: 1 - 1/8. */
    assert_int_equal(clientscan_prob_at_least_one(0.5, 3, &got), CLIENTSCAN_OK);
    assert_close(got, 0.875L, 1e-15);
    assert_int_equal(clientscan_prob_at_least_one(0, 1e7, &got), CLIENTSCAN_OK);
    assert_true(got == 0);
    assert_int_equal(clientscan_prob_at_least_one(1, 1, &got), CLIENTSCAN_OK);
    assert_true(got == 1);
    assert_int_equal(clientscan_prob_at_least_one(0.3, 0, &got), CLIENTSCAN_OK);
    assert_true(got == 0);
    assert_int_equal(clientscan_prob_at_least_one(2, 1, &got), CLIENTSCAN_E_INVALID_ARGUMENT);
    assert_int_equal(clientscan_prob_at_least_one(0.1, -1, &got), CLIENTSCAN_E_INVALID_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wilson_matches_newcombe_1998),
        cmocka_unit_test(test_binomial_tail_against_exact_sums),
        cmocka_unit_test(test_binomial_tail_small_closed_forms),
        cmocka_unit_test(test_log_choose_and_pmf),
        cmocka_unit_test(test_prob_at_least_one),
    };
    return cmocka_run_group_tests_name("stats", tests, NULL, NULL);
}
