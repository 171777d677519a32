/* Statistics for the benchmark: Wilson intervals, binomial tails in log
 * space, "at least one of L" probabilities.
 *
 * Binomial probabilities follow C. Loader, "Fast and accurate computation of
 * binomial probabilities" (2000): log P(X = k) is assembled from Stirling's
 * remainder and a deviance term bd0 that is evaluated by a series when k is
 * near its mean, so nothing cancels catastrophically and results keep about
 * twelve significant digits far below 1e-15. */
#include "stats.h"

#include <math.h>

#define MAX_N 1e12 /* tail sums visit O(sqrt(n)) terms; keep that bounded */
static const double log_sqrt_2pi = 0.91893853320467274178;
static const double z95 = 1.959963984540054;

int clientscan_wilson_interval(uint64_t k, uint64_t n, double *lower, double *upper)
{
    if (!lower || !upper || n == 0 || k > n)
        return CLIENTSCAN_E_INVALID_ARGUMENT;
    double nn = (double)n, p = (double)k / nn, z2 = z95 * z95;
    double centre = p + z2 / (2 * nn);
    double half = z95 * sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn));
    double denom = 1 + z2 / nn;
    double lo = (centre - half) / denom, hi = (centre + half) / denom;
    /* Exact bounds at the edges (the formula gives them up to rounding). */
    *lower = k == 0 ? 0 : (lo < 0 ? 0 : lo);
    *upper = k == n ? 1 : (hi > 1 ? 1 : hi);
    return CLIENTSCAN_OK;
}

/* log(n!) - log(sqrt(2 pi n) (n/e)^n): Stirling's remainder. */
static double stirling_remainder(double n)
{
    if (n <= 15) {
        return lgamma(n + 1) - (n + 0.5) * log(n) + n - log_sqrt_2pi;
    }
    double n2 = n * n;
    return (1.0 / 12 - (1.0 / 360 - (1.0 / 1260 - (1.0 / 1680 - 1.0 / 1188 / n2) / n2) / n2) / n2) /
           n;
}

/* x log(x/m) + m - x, accurately also when x is close to m. */
static double deviance(double x, double m)
{
    if (fabs(x - m) < 0.1 * (x + m)) {
        double v = (x - m) / (x + m);
        double s = (x - m) * v;
        double term = 2 * x * v;
        double v2 = v * v;
        for (int j = 1; j < 1000; j++) {
            term *= v2;
            double next = s + term / (2 * j + 1);
            if (next == s)
                return next;
            s = next;
        }
        return s;
    }
    return x * log(x / m) + m - x;
}

double cs_log_binomial_pmf(uint64_t n, double p, uint64_t k)
{
    double q = 1 - p;
    if (k == 0)
        return (double)n * log1p(-p);
    if (k == n)
        return (double)n * log(p);
    double dn = (double)n, dk = (double)k, dm = dn - dk;
    return stirling_remainder(dn) - stirling_remainder(dk) - stirling_remainder(dm) -
           deviance(dk, dn * p) - deviance(dm, dn * q) + 0.5 * log(dn / (dk * dm)) -
           log_sqrt_2pi;
}

double cs_log_choose(uint64_t n, uint64_t k)
{
    if (k > n - k)
        k = n - k;
    if (k <= 64) {
        double s = 0;
        for (uint64_t i = 1; i <= k; i++)
            s += log((double)(n - k + i) / (double)i);
        return s;
    }
    return lgamma((double)n + 1) - lgamma((double)k + 1) - lgamma((double)(n - k) + 1);
}

/* Sum of P(X = k) for k from `from` stepping by `dir` while terms matter,
 * relative to the first term, whose log is returned in *log_first. */
static double relative_sum(uint64_t n, double p, uint64_t from, int dir, double *log_first)
{
    *log_first = cs_log_binomial_pmf(n, p, from);
    double odds = p / (1 - p), term = 1, sum = 1;
    uint64_t k = from;
    for (;;) {
        if (dir > 0) {
            if (k == n)
                break;
            term *= (double)(n - k) / (double)(k + 1) * odds; /* P(k+1)/P(k) */
            k++;
        } else {
            if (k == 0)
                break;
            term *= (double)k / (double)(n - k + 1) / odds; /* P(k-1)/P(k) */
            k--;
        }
        sum += term;
        if (term < sum * 1e-17)
            break;
    }
    return sum;
}

int clientscan_binomial_tail(uint64_t n, double p, uint64_t t, double *out)
{
    if (!out || !(p >= 0 && p <= 1) || (double)n > MAX_N)
        return CLIENTSCAN_E_INVALID_ARGUMENT;
    if (t == 0)
        *out = 1;
    else if (t > n || p == 0)
        *out = 0;
    else if (p == 1)
        *out = 1;
    else if ((double)t > (double)n * p) {
        /* Above the mean the terms fall from P(t) on: sum them upwards. */
        double log_first, rel = relative_sum(n, p, t, +1, &log_first);
        *out = exp(log_first + log(rel));
    } else {
        /* At or below the mean the tail is large: 1 - P(X <= t - 1),
         * whose terms fall from P(t - 1) downwards. */
        double log_first, rel = relative_sum(n, p, t - 1, -1, &log_first);
        *out = -expm1(log_first + log(rel));
    }
    if (*out < 0)
        *out = 0;
    if (*out > 1)
        *out = 1;
    return CLIENTSCAN_OK;
}

int clientscan_prob_at_least_one(double p, double trials, double *out)
{
    if (!out || !(p >= 0 && p <= 1) || !(trials >= 0))
        return CLIENTSCAN_E_INVALID_ARGUMENT;
    if (p == 1)
        *out = trials > 0 ? 1 : 0;
    else
        *out = -expm1(trials * log1p(-p));
    return CLIENTSCAN_OK;
}
