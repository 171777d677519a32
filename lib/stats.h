/* Internal: statistics helpers behind the public stats functions, exposed
 * for unit tests. */
#ifndef CLIENTSCAN_STATS_H
#define CLIENTSCAN_STATS_H

#include "internal.h"

/* log C(n, k) for k <= n: an exact sum of logs for small k, lgamma else. */
double cs_log_choose(uint64_t n, uint64_t k);

/* log P(X = k) for X ~ Binomial(n, p), 0 < p < 1, k <= n. */
double cs_log_binomial_pmf(uint64_t n, double p, uint64_t k);

#endif
