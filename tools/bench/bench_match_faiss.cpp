/* bench_match_faiss — our index against faiss on the same lists and queries.
 *
 * Optional (needs libfaiss-dev; `make bench-match-faiss`). The lists and
 * queries come from bench_match.c itself (compiled with -DBENCH_MATCH_LIB),
 * so they are generated exactly as in `make bench-match`. For each list it
 * prints single-hash queries/s at d = 31 for our index (public API), faiss
 * IndexBinaryMultiHash and IndexBinaryFlat, all on one thread, plus the
 * total number of matches each found on the same queries: faiss MultiHash
 * with nhash tables of b bits and nflip = floor(31 / nhash) flips is exact
 * by pigeonhole, so all three counts must agree.
 *
 * faiss range_search returns distances strictly below the radius, so d = 31
 * is radius 32. faiss reads each substring as 8 bytes from its first byte,
 * which can run past a 32-byte code: codes are copied into padded buffers. */
#include <faiss/IndexBinaryFlat.h>
#include <faiss/IndexBinaryHash.h>
#include <faiss/impl/AuxIndexStructures.h>

#include <omp.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

extern "C" {
#include "clientscan.h"

int bm_parse_lists(const char *arg);
double bm_now(void);
void bm_load_real(const char *dir);
clientscan_list *bm_make_list(size_t n, int clustered, double *open_seconds,
                              double *index_seconds);
void bm_make_queries(const clientscan_list *list, clientscan_pdq_result *q, size_t nq);
double bm_run(const clientscan_list *list, const clientscan_pdq_result *q, size_t nq,
              int dihedral, clientscan_match_method method, size_t min_queries,
              size_t max_queries, size_t *found);
}

namespace {

const int kDistance = CLIENTSCAN_PDQ_MATCH_THRESHOLD;
const size_t kQueries = 2048;
const double kMinSeconds = 0.3;

struct Timed {
    double qps;
    size_t found;
};

/* faiss range search, one query per call (as a client would), for at least
 * kMinSeconds and min_queries, at most max_queries; best of three runs like
 * bm_run. found: matches of the first nq queries. */
Timed time_faiss(const faiss::IndexBinary &index, const std::vector<uint8_t> &codes,
                 size_t nq, size_t min_queries, size_t max_queries)
{
    Timed best = {0, 0};
    for (int round = 0; round < 3; round++) {
        size_t done = 0, found = 0;
        double t0 = bm_now(), t;
        do {
            faiss::RangeSearchResult res(1);
            index.range_search(1, &codes[(done % nq) * CLIENTSCAN_PDQ_BYTES], kDistance + 1,
                               &res);
            if (done < nq)
                found += res.lims[1];
            done++;
            t = bm_now() - t0;
        } while ((t < kMinSeconds || done < min_queries) && done < max_queries);
        double qps = (double)done / t;
        if (qps > best.qps)
            best.qps = qps;
        best.found = found;
    }
    return best;
}

int usage(FILE *f, int status)
{
    fprintf(f, "usage: bench_match_faiss [--n N] [--nhash H] [--lists uniform|clustered|both]\n"
               "  --n N      list size (default 1000000; 10000000 needs about 10 GB for faiss)\n"
               "  --nhash H  faiss MultiHash tables of 256/H bits (default 11, as ours)\n");
    return status;
}

} // namespace

int main(int argc, char **argv)
{
    size_t n = 1000000;
    int nhash = 11, kinds = 3;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--n") == 0 && i + 1 < argc) {
            n = strtoull(argv[++i], nullptr, 10);
        } else if (strcmp(argv[i], "--nhash") == 0 && i + 1 < argc) {
            nhash = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--lists") == 0 && i + 1 < argc) {
            i++;
            kinds = bm_parse_lists(argv[i]);
            if (!kinds)
                return usage(stderr, 2);
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            return usage(stdout, 0);
        } else {
            return usage(stderr, 2);
        }
    }
    if (n < 1 || nhash < 1 || nhash > 64)
        return usage(stderr, 2);
    int bits = 256 / nhash > 57 ? 57 : 256 / nhash; /* faiss reads 8 bytes per substring */
    int nflip = kDistance / nhash;
    omp_set_num_threads(1);
    const char *vec = getenv("CLIENTSCAN_VECTORS");
    bm_load_real(vec && *vec ? vec : "../shared/pdq-vectors");

    printf("bench_match_faiss: one thread, d = %d, same lists and queries as bench_match\n",
           kDistance);
    printf("faiss IndexBinaryMultiHash: nhash %d, b %d, nflip %d (exact: %d x %d > %d)\n\n",
           nhash, bits, nflip, nhash, nflip + 1, kDistance);
    printf("%-9s %9s | %10s %8s | %10s %8s %7s | %10s %8s | %s\n", "list", "N", "ours q/s",
           "found", "MIH q/s", "found", "build s", "flat q/s", "found", "ours / MIH");
    static clientscan_pdq_result queries[kQueries];
    for (int clustered = 0; clustered <= 1; clustered++) {
        if (!(kinds & (1 << clustered)))
            continue;
        double open_s = 0, index_s = 0;
        clientscan_list *list = bm_make_list(n, clustered, &open_s, &index_s);
        if (!list)
            return 1;
        bm_make_queries(list, queries, kQueries);
        /* The same hashes, in entry order, as faiss codes (+8 bytes slack). */
        std::vector<uint8_t> base(n * CLIENTSCAN_PDQ_BYTES + 8);
        for (size_t i = 0; i < n; i++) {
            clientscan_list_entry e;
            clientscan_list_entry_at(list, i, &e);
            memcpy(&base[i * CLIENTSCAN_PDQ_BYTES], e.hash.bytes, CLIENTSCAN_PDQ_BYTES);
        }
        std::vector<uint8_t> qcodes(kQueries * CLIENTSCAN_PDQ_BYTES + 8);
        for (size_t i = 0; i < kQueries; i++)
            memcpy(&qcodes[i * CLIENTSCAN_PDQ_BYTES], queries[i].hash[0].bytes,
                   CLIENTSCAN_PDQ_BYTES);

        size_t ours_found = 0;
        double ours = bm_run(list, queries, kQueries, 0, CLIENTSCAN_MATCH_AUTO, kQueries,
                             100000000, &ours_found);

        double t0 = bm_now();
        auto mih = std::make_unique<faiss::IndexBinaryMultiHash>(256, nhash, bits);
        mih->nflip = nflip;
        mih->add((decltype(faiss::IndexBinary::ntotal))n, base.data());
        double mih_build = bm_now() - t0;
        Timed m = time_faiss(*mih, qcodes, kQueries, kQueries, 100000000);
        mih.reset();

        faiss::IndexBinaryFlat flat(256);
        flat.add((decltype(faiss::IndexBinary::ntotal))n, base.data());
        /* The flat scan is slow: time a prefix of the queries. */
        Timed f = time_faiss(flat, qcodes, kQueries, 1, 1);
        size_t flat_nq = (size_t)(f.qps * kMinSeconds) + 1;
        if (flat_nq > kQueries)
            flat_nq = kQueries;
        f = time_faiss(flat, qcodes, flat_nq, flat_nq, flat_nq);
        size_t ours_prefix = 0;
        bm_run(list, queries, flat_nq, 0, CLIENTSCAN_MATCH_AUTO, flat_nq, flat_nq, &ours_prefix);

        printf("%-9s %9zu | %10.0f %8zu | %10.0f %8zu %7.1f | %10.1f %8zu | %.2f\n",
               clustered ? "clustered" : "uniform", n, ours, ours_found, m.qps, m.found,
               mih_build, f.qps, f.found, ours / m.qps);
        if (m.found != ours_found || f.found != ours_prefix) {
            fprintf(stderr,
                    "bench_match_faiss: match counts differ (ours %zu, MultiHash %zu; "
                    "first %zu queries: ours %zu, flat %zu)\n",
                    ours_found, m.found, flat_nq, ours_prefix, f.found);
            return 1;
        }
        fflush(stdout);
        clientscan_list_close(list);
    }
    return 0;
}
