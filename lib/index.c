/* Exact Hamming range search: multi-index hashing over sorted arrays (CSR)
 * plus a linear popcount scan. See docs/index.md for the derivation of the
 * substring rule, the radius split and the cost model. */
#include "index.h"

#include "hashlist.h"

#include <math.h>
#include <sys/mman.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Cost model in nanoseconds per operation, fitted to single-thread
 * measurements on a 10^7-entry list (docs/index.md). Only the ratios
 * matter: they decide the shape and index-versus-scan. */
#define COST_PROBE 25.0    /* a directory slot and its bucket: two random reads */
#define COST_SCAN 3.0      /* one bucket entry's tail bits checked */
#define COST_CANDIDATE 10.0 /* fetch a candidate's hash (prefetched) and compare */
#define COST_LINEAR 2.2     /* one entry of the sequential popcount scan */
#define MEMORY_PER_ENTRY 64 /* index budget: 2x the 32 raw hash bytes, */
#define MEMORY_FLOOR (16u << 20) /* but small lists may use up to 16 MiB */

/* Entry words: entry number in the low bits, the substring's tail (the bits
 * below the directory bits) in the top CS_INDEX_TAIL_BITS. */
#define ENTRY_BITS (32 - CS_INDEX_TAIL_BITS)
#define ENTRY_MASK ((UINT32_C(1) << ENTRY_BITS) - 1)

#ifndef PROBE_BATCH
#define PROBE_BATCH 256 /* directory slots per batch */
#endif
/* A candidate's hash is verified CANDIDATE_LAG candidates after its
 * prefetch: late enough for the line to arrive, soon enough that the
 * page's translation is still in the L1 TLB (docs/index.md). Power of 2. */
#define CANDIDATE_LAG 32

/* Directory words: the bucket's first entry in the low ENTRY_BITS, and in
 * the top CS_INDEX_TAIL_BITS an occupancy mask: bit g set when some entry
 * of the bucket has tail group g (the tail's top OCC_GROUP_BITS bits), so
 * that probes whose tails cannot be present skip the bucket unread. */
#define OCC_GROUP_BITS 2

/* Prefetches into L2, not L1 (prefetcht1 on x86). The search keeps
 * hundreds of random reads in flight; prefetches into L1 are bounded by its
 * few miss buffers and measured ~1.45x slower at 10^7 entries
 * (docs/index.md). The L1 miss when an item is finally used is an L2 hit. */
#define prefetch_l2(addr) __builtin_prefetch((addr), 0, 2)

typedef struct index_table {
    unsigned offset;   /* first bit of the substring (bit 0 = MSB of byte 0) */
    unsigned bits;     /* substring width: shape.bits, or one more (table_bits) */
    /* 2^dir_bits + 1 words: offset into entries | occupancy << ENTRY_BITS */
    uint32_t *dir;
    /* tail << ENTRY_BITS | entry, sorted by substring (so each bucket by
     * tail, then entry); NULL when the hashes
     * themselves are already in substring order (table 0 of a hash list,
     * whose entries are sorted by hash): dir then points into the hashes. */
    uint32_t *entries;
} index_table;

typedef int (*search_fn)(const cs_index *, const cs_query *, unsigned, int, bool, cs_hits *);

struct cs_index {
    const clientscan_pdq *hashes;
    size_t n;
    cs_index_shape shape;
    size_t memory;
    search_fn search;
    index_table tables[CS_INDEX_MAX_TABLES];
};

/* ------------------------------------------------------------ bit helpers */

/* The hash as four big-endian words: bit p is bit (63 - p%64) of word p/64,
 * so substrings follow the hex text from its first digit. */
static inline void load_be(const clientscan_pdq *h, uint64_t w[4])
{
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(w, h->bytes, 32);
    for (int i = 0; i < 4; i++)
        w[i] = __builtin_bswap64(w[i]);
#else
    for (int i = 0; i < 4; i++) {
        uint64_t v = 0;
        for (int j = 0; j < 8; j++)
            v = (v << 8) | h->bytes[8 * i + j];
        w[i] = v;
    }
#endif
}

static inline uint32_t substring(const uint64_t w[4], unsigned offset, unsigned bits)
{
    unsigned wi = offset >> 6, bi = offset & 63;
    uint64_t v = w[wi] << bi;
    if (bi + bits > 64)
        v |= w[wi + 1] >> (64 - bi);
    return (uint32_t)(v >> (64 - bits));
}

/* Distance on native-order words; byte order does not change a popcount. */
static inline __attribute__((always_inline)) int distance_words(const uint64_t a[4],
                                                               const clientscan_pdq *h)
{
    uint64_t b[4];
    memcpy(b, h->bytes, sizeof b);
    return __builtin_popcountll(a[0] ^ b[0]) + __builtin_popcountll(a[1] ^ b[1]) +
           __builtin_popcountll(a[2] ^ b[2]) + __builtin_popcountll(a[3] ^ b[3]);
}

/* ------------------------------------------------------------ hit vectors */

static int hits_grow(cs_hits *hits)
{
    size_t ncap = hits->cap ? hits->cap * 2 : 64;
    if (ncap > SIZE_MAX / sizeof(cs_hit))
        return CLIENTSCAN_E_NOMEM;
    cs_hit *nv;
    if (hits->heap) {
        nv = realloc(hits->v, ncap * sizeof *nv);
    } else {
        nv = malloc(ncap * sizeof *nv);
        if (nv && hits->n)
            memcpy(nv, hits->v, hits->n * sizeof *nv);
    }
    if (!nv)
        return CLIENTSCAN_E_NOMEM;
    hits->v = nv;
    hits->cap = ncap;
    hits->heap = true;
    return CLIENTSCAN_OK;
}

static inline int hits_push(cs_hits *hits, uint32_t entry, int distance, unsigned variant)
{
    if (hits->n == hits->cap && hits_grow(hits) != CLIENTSCAN_OK)
        return CLIENTSCAN_E_NOMEM;
    hits->v[hits->n++] = (cs_hit){entry, (uint16_t)distance, (uint16_t)variant};
    return CLIENTSCAN_OK;
}

void cs_hits_release(cs_hits *hits)
{
    if (hits->heap)
        free(hits->v);
    hits->v = NULL;
    hits->n = hits->cap = 0;
    hits->heap = false;
}

static int cmp_entry_best(const void *pa, const void *pb)
{
    const cs_hit *a = pa, *b = pb;
    if (a->entry != b->entry)
        return a->entry < b->entry ? -1 : 1;
    if (a->distance != b->distance)
        return a->distance < b->distance ? -1 : 1;
    return (a->variant > b->variant) - (a->variant < b->variant);
}

static int cmp_distance_entry(const void *pa, const void *pb)
{
    const cs_hit *a = pa, *b = pb;
    if (a->distance != b->distance)
        return a->distance < b->distance ? -1 : 1;
    return (a->entry > b->entry) - (a->entry < b->entry);
}

void cs_hits_finish(cs_hits *hits)
{
    if (hits->n < 2)
        return;
    qsort(hits->v, hits->n, sizeof *hits->v, cmp_entry_best);
    size_t out = 1;
    for (size_t i = 1; i < hits->n; i++)
        if (hits->v[i].entry != hits->v[out - 1].entry)
            hits->v[out++] = hits->v[i];
    hits->n = out;
    qsort(hits->v, hits->n, sizeof *hits->v, cmp_distance_entry);
}

/* ------------------------------------------------------------ substring widths
 * m substrings of s bits leave 256 - m*s bits unused; they widen the first
 * tables by one bit each (pigeonhole holds for any partition), as far as
 * the entry words' tail bits allow. The first tables are the ones searched
 * at the larger radius (table_radius), where a wider substring saves the
 * most candidates. */
static unsigned table_bits(const cs_index_shape *shape, unsigned table)
{
    unsigned spare = 256 - shape->m * shape->bits;
    bool widen = shape->bits < 32 && shape->bits + 1 - shape->dir_bits <= CS_INDEX_TAIL_BITS;
    return shape->bits + (widen && table < spare);
}

/* ------------------------------------------------------------ cost model */

/* Number of s-bit values within Hamming radius r: sum of C(s, k), k <= r. */
static double ball_volume(unsigned s, int r)
{
    if (r < 0)
        return 0;
    if ((unsigned)r >= s)
        return ldexp(1.0, (int)s);
    double v = 0, c = 1;
    for (int k = 0; k <= r; k++) {
        v += c;
        c = c * (double)(s - (unsigned)k) / (double)(k + 1);
    }
    return v;
}

/* Pigeonhole split of a query radius d over m substrings: the first `a`
 * tables search radius q, the rest q-1 (tables with radius -1 are skipped),
 * with a(q+1) + (m-a)q = d+1. An entry within d missing every table would
 * differ by at least r_i + 1 in each, d + 1 in total: a contradiction. */
static inline int table_radius(unsigned m, int d, unsigned table)
{
    unsigned total = (unsigned)d + 1;
    unsigned q = total / m, a = total % m;
    return table < a ? (int)q : (int)q - 1;
}

/* Expected cost of one table searched at radius r: directory probes over
 * the top dir_bits, the buckets' entries scanned for their tails, and the
 * candidates (entries whose whole substring is within r) verified. */
static double table_cost(size_t n, unsigned bits, unsigned dir_bits, int r)
{
    if (r < 0)
        return 0;
    double probes = ball_volume(dir_bits, r);
    double per_bucket = (double)n / ldexp(1.0, (int)dir_bits);
    double candidates = (double)n * ball_volume(bits, r) / ldexp(1.0, (int)bits);
    return probes * (COST_PROBE + COST_SCAN * per_bucket) + candidates * COST_CANDIDATE;
}

static double mih_cost(size_t n, const cs_index_shape *s, int d)
{
    if (s->m == 0)
        return INFINITY;
    double cost = 0;
    for (unsigned t = 0; t < s->m; t++)
        cost += table_cost(n, table_bits(s, t), s->dir_bits, table_radius(s->m, d, t));
    return cost;
}

static double linear_cost(size_t n)
{
    return (double)n * COST_LINEAR;
}

static double table_bytes(size_t n, unsigned dir_bits)
{
    return (ldexp(1.0, (int)dir_bits) + 1 + (double)n) * sizeof(uint32_t);
}

cs_index_shape cs_index_choose_shape(size_t n)
{
    cs_index_shape best = {0, 0, 0};
    if (n == 0 || n > ENTRY_MASK)
        return best;
    double budget = (double)n * MEMORY_PER_ENTRY;
    if (budget < MEMORY_FLOOR)
        budget = MEMORY_FLOOR;
    double best_cost = linear_cost(n);
    for (unsigned s = 4; s <= 32; s++) {
        unsigned b_lo = s > 4 + CS_INDEX_TAIL_BITS ? s - CS_INDEX_TAIL_BITS : 4;
        for (unsigned b = b_lo; b <= s && b <= CS_INDEX_MAX_BITS; b++) {
            double per_table = table_bytes(n, b);
            for (unsigned m = 1; m <= 256 / s && m <= CS_INDEX_MAX_TABLES; m++) {
                if (per_table * m > budget)
                    break;
                cs_index_shape c = {m, s, b};
                double cost = mih_cost(n, &c, CLIENTSCAN_PDQ_MATCH_THRESHOLD);
                if (cost < best_cost) {
                    best_cost = cost;
                    best = c;
                }
            }
        }
    }
    return best;
}

/* ------------------------------------------------------------ search
 * A query is a stream of random reads: directory slots, then buckets, then
 * candidates' hashes; almost every one misses the cache. The search runs in
 * batches, one stage at a time: enumerate up to PROBE_BATCH directory slots
 * and prefetch them all, then read them and prefetch every line of their
 * buckets (those whose occupancy mask allows a wanted tail), then scan the
 * buckets and prefetch the candidates' hashes, each verified CANDIDATE_LAG
 * candidates later. Each stage's loop is tight and issues prefetches as
 * fast as the memory system accepts them, so the memory system stays busy,
 * and by the time a stage reads an item it was prefetched a whole batch
 * earlier. */

/* One directory slot to read: the slot, and the radius left for the tail. */
typedef struct {
    uint32_t value;
    uint8_t table, query;
    int8_t rem;
} probe_item;

/* One nonempty bucket to scan. */
typedef struct {
    uint32_t lo, hi;
    uint8_t table, query;
    int8_t rem;
} range_item;

/* Enumerates, query by query and table by table, every directory slot
 * within the table's radius of the query's top bits (Gosper's hack over the
 * masks of each weight, using a shift by the trailing-zero count instead of
 * a division); resumable so that a batch can stop anywhere. */
typedef struct {
    unsigned query, table;
    int weight, radius, top_radius;
    uint64_t mask, limit;
    uint32_t top;
    bool live; /* (query, table) has slots left */
} probe_iter;

typedef struct {
    const cs_index *ix;
    const cs_query *queries;
    unsigned nq;
    uint64_t qw[CS_INDEX_MAX_QUERIES][4]; /* the queries, native word order */
    uint32_t key[CS_INDEX_MAX_QUERIES][CS_INDEX_MAX_TABLES]; /* their substrings */
    /* Tables searched at the larger radius q, per query (choose_wide). */
    bool wide[CS_INDEX_MAX_QUERIES][CS_INDEX_MAX_TABLES];
    int d;
    int q;        /* the larger radius of the split (table_radius) */
    unsigned big; /* how many tables get it */
    cs_hits *hits;
    int rc;
    probe_iter it;
    uint32_t cand[CANDIDATE_LAG];
    uint8_t cand_query[CANDIDATE_LAG];
    unsigned nc; /* candidates pushed; the last min(nc, CANDIDATE_LAG) unverified */
} search_state;

static inline __attribute__((always_inline)) void verify_one(search_state *p, uint32_t e,
                                                             unsigned query)
{
    int dist = distance_words(p->qw[query], &p->ix->hashes[e]);
    if (dist <= p->d &&
        hits_push(p->hits, e, dist, p->queries[query].variant) != CLIENTSCAN_OK)
        p->rc = CLIENTSCAN_E_NOMEM;
}

/* Verifies the candidates still in the ring. */
static inline __attribute__((always_inline)) void verify_candidates(search_state *p)
{
    unsigned from = p->nc > CANDIDATE_LAG ? p->nc - CANDIDATE_LAG : 0;
    for (unsigned i = from; i < p->nc; i++)
        verify_one(p, p->cand[i % CANDIDATE_LAG], p->cand_query[i % CANDIDATE_LAG]);
    p->nc = 0;
}

static inline __attribute__((always_inline)) void push_cand(search_state *p, uint32_t e,
                                                            unsigned query)
{
    prefetch_l2(&p->ix->hashes[e]);
    unsigned slot = p->nc % CANDIDATE_LAG;
    if (p->nc >= CANDIDATE_LAG)
        verify_one(p, p->cand[slot], p->cand_query[slot]);
    p->cand[slot] = e;
    p->cand_query[slot] = (uint8_t)query;
    p->nc++;
}

/* Moves the iterator to the next (query, table) with a radius >= 0. */
static inline __attribute__((always_inline)) void iter_next_table(search_state *p)
{
    probe_iter *it = &p->it;
    const cs_index *ix = p->ix;
    unsigned b = ix->shape.dir_bits;
    it->live = false;
    for (;;) {
        if (++it->table >= ix->shape.m) {
            it->table = 0;
            if (++it->query >= p->nq)
                return;
        }
        int r = p->wide[it->query][it->table] ? p->q : p->q - 1;
        if (r < 0)
            continue;
        it->radius = r;
        it->top_radius = r > (int)b ? (int)b : r;
        it->top = p->key[it->query][it->table] >> (ix->tables[it->table].bits - b);
        it->limit = (uint64_t)1 << b;
        it->weight = 0;
        it->mask = 0;
        it->live = true;
        return;
    }
}

/* Fills out[] with up to PROBE_BATCH slots, prefetching each; returns how
 * many (0: done). */
static inline __attribute__((always_inline)) unsigned next_probes(search_state *p,
                                                                 probe_item *out)
{
    probe_iter *it = &p->it;
    unsigned n = 0;
    while (it->live && n < PROBE_BATCH) {
        const uint32_t *dir = p->ix->tables[it->table].dir;
        uint32_t value = it->top ^ (uint32_t)it->mask;
        prefetch_l2(&dir[value]);
        if ((value & 15) == 15) /* dir[value + 1] starts the next line */
            prefetch_l2(&dir[value + 1]);
        /* Radius left for the tail; any amount >= its width passes all. */
        int rem = it->radius - it->weight;
        out[n++] = (probe_item){value, (uint8_t)it->table, (uint8_t)it->query,
                                (int8_t)(rem < CS_INDEX_TAIL_BITS ? rem : CS_INDEX_TAIL_BITS)};
        /* Next mask of this weight, else the first of the next weight. */
        uint64_t x = it->mask;
        bool more = false;
        if (x != 0) {
            uint64_t r = x + (x & (~x + 1));
            x = (((r ^ x) >> 2) >> __builtin_ctzll(x)) | r;
            more = x < it->limit;
        }
        if (!more) {
            if (++it->weight > it->top_radius) {
                iter_next_table(p);
                continue;
            }
            x = ((uint64_t)1 << it->weight) - 1;
        }
        it->mask = x;
    }
    return n;
}

/* Number of pairs C(s, k). */
static double choose(unsigned s, int k)
{
    double c = 1;
    for (int i = 0; i < k; i++)
        c = c * (double)(s - (unsigned)i) / (double)(i + 1);
    return c;
}

/* The radius split may give the larger radius q to any `big` of the m
 * tables (exactness only needs the sum, table_radius). Per query, the
 * m - big tables left at q - 1 are those where radius q would add the most
 * candidates, C(w, q) substring values times the entries per value near
 * the query, estimated from the query's own bucket (2^(w - b) values),
 * shrunk toward the list's mean bucket so that on a uniform list the noise
 * of one bucket rarely overrides the widths. On a clustered list a query
 * often sits in one table among many of a family's siblings; that table
 * gets the smaller radius. Ties keep the first tables wide, as the fixed
 * split does. Reads each table's directory slot for the query once (the
 * probes of weight 0 find it cached). */
static void choose_wide(search_state *p)
{
    const cs_index *ix = p->ix;
    unsigned m = ix->shape.m, b = ix->shape.dir_bits;
    if (2 * (m - p->big) >= m) {
        /* Many tables at q - 1 (10 of 14 at 10^6 entries): choosing them
         * from single buckets measured slower than the fixed split. */
        for (unsigned k = 0; k < p->nq; k++)
            for (unsigned t = 0; t < m; t++)
                p->wide[k][t] = t < p->big;
        return;
    }
    for (unsigned k = 0; k < p->nq; k++)
        for (unsigned t = 0; t < m; t++)
            prefetch_l2(&ix->tables[t].dir[p->key[k][t] >> (ix->tables[t].bits - b)]);
    double mean = (double)ix->n / ldexp(1.0, (int)b);
    for (unsigned k = 0; k < p->nq; k++) {
        double score[CS_INDEX_MAX_TABLES];
        for (unsigned t = 0; t < m; t++) {
            const index_table *tb = &ix->tables[t];
            unsigned w = tb->bits;
            uint32_t v = p->key[k][t] >> (w - b);
            uint32_t size = (tb->dir[v + 1] & ENTRY_MASK) - (tb->dir[v] & ENTRY_MASK);
            score[t] = (unsigned)p->q <= w ? ((double)size + mean) * choose(w, p->q) /
                                                 ldexp(1.0, (int)(w - b))
                                           : 0;
            p->wide[k][t] = true;
        }
        for (unsigned narrow = 0; narrow < m - p->big; narrow++) {
            unsigned worst = m;
            for (unsigned t = m; t-- > 0;)
                if (p->wide[k][t] && (worst == m || score[t] > score[worst]))
                    worst = t;
            p->wide[k][worst] = false;
        }
    }
}

/* Where the entries with this tail start if the bucket's tails are uniform
 * (a bucket is sorted by tail); the run is usually within RUN_WINDOW. */
#ifndef RUN_WINDOW
#define RUN_WINDOW 6
#endif
static inline uint32_t run_guess(uint32_t lo, uint32_t hi, uint32_t tail, unsigned tail_bits)
{
    return lo + (uint32_t)(((uint64_t)(hi - lo) * tail) >> tail_bits);
}

static inline uint32_t table_tail(const search_state *p, unsigned query, unsigned table,
                                  unsigned tail_bits)
{
    return p->key[query][table] & ((UINT32_C(1) << tail_bits) - 1);
}

/* Entries of a bucket whose tail bits are within the radius left. */
static inline __attribute__((always_inline)) void scan_range(search_state *p, const range_item *r)
{
    const uint32_t *entries = p->ix->tables[r->table].entries;
    if (!entries) {
        /* The bucket is a run of hashes (prefetched): verify in place. */
        for (uint32_t j = r->lo; j < r->hi; j++)
            verify_one(p, j, r->query);
        return;
    }
    unsigned tail_bits = p->ix->tables[r->table].bits - p->ix->shape.dir_bits;
    uint32_t tail = table_tail(p, r->query, r->table, tail_bits);
    if (r->rem == 0) {
        /* Exact tail: buckets are sorted by tail, so the entries wanted are
         * one run; start where a uniform bucket would have it (the lines
         * prefetched) and step to its first entry. */
        uint32_t j = run_guess(r->lo, r->hi, tail, tail_bits);
        if (j < r->hi && entries[j] >> ENTRY_BITS < tail) {
            do
                j++;
            while (j < r->hi && entries[j] >> ENTRY_BITS < tail);
        } else {
            while (j > r->lo && entries[j - 1] >> ENTRY_BITS >= tail)
                j--;
        }
        for (; j < r->hi && entries[j] >> ENTRY_BITS == tail; j++)
            push_cand(p, entries[j] & ENTRY_MASK, r->query);
        return;
    }
    uint32_t pass[32];
    for (uint32_t j = r->lo; j < r->hi;) {
        /* Branch-free filter: about half the tails pass, unpredictably. */
        uint32_t end = r->hi - j > 32 ? j + 32 : r->hi;
        unsigned k = 0;
        for (; j < end; j++) {
            uint32_t w = entries[j];
            pass[k] = w & ENTRY_MASK;
            k += __builtin_popcount((w >> ENTRY_BITS) ^ tail) <= r->rem;
        }
        for (unsigned i = 0; i < k; i++)
            push_cand(p, pass[i], r->query);
    }
}

/* Whether a bucket with this occupancy mask can hold a tail within rem of
 * the query's (tail groups within rem of the query's group). */
static inline bool tail_reachable(uint32_t occupancy, uint32_t tail, unsigned tail_bits, int rem)
{
    unsigned group_bits = tail_bits < OCC_GROUP_BITS ? tail_bits : OCC_GROUP_BITS;
    if (rem >= (int)group_bits)
        return occupancy != 0;
    unsigned group = tail >> (tail_bits - group_bits), reach = 0;
    for (unsigned g = 0; g < (1u << group_bits); g++)
        reach |= (unsigned)(__builtin_popcount(g ^ group) <= rem) << g;
    return (occupancy & reach) != 0;
}

/* Reads the batch's directory slots and prefetches every needed line of
 * each bucket that can hold a wanted tail (a bucket is one contiguous
 * run). */
static inline __attribute__((always_inline)) unsigned resolve_probes(search_state *p,
                                                                    const probe_item *probes,
                                                                    unsigned n, range_item *out)
{
    unsigned nr = 0;
    unsigned b = p->ix->shape.dir_bits;
    for (unsigned i = 0; i < n; i++) {
        const index_table *t = &p->ix->tables[probes[i].table];
        uint32_t word = t->dir[probes[i].value];
        uint32_t lo = word & ENTRY_MASK, hi = t->dir[probes[i].value + 1] & ENTRY_MASK;
        unsigned tail_bits = t->bits - b;
        uint32_t tail = table_tail(p, probes[i].query, probes[i].table, tail_bits);
        if (!tail_reachable(word >> ENTRY_BITS, tail, tail_bits, probes[i].rem))
            continue;
        const char *first, *last;
        if (t->entries && probes[i].rem == 0) {
            /* Only the lines around where the exact-tail run should be. */
            uint32_t guess = run_guess(lo, hi, tail, tail_bits);
            uint32_t from = guess - lo > RUN_WINDOW ? guess - RUN_WINDOW : lo;
            uint32_t to = hi - guess > RUN_WINDOW ? guess + RUN_WINDOW : hi;
            first = (const char *)&t->entries[from];
            last = (const char *)&t->entries[to - 1];
        } else if (t->entries) {
            first = (const char *)&t->entries[lo];
            last = (const char *)&t->entries[hi - 1];
        } else {
            first = (const char *)&p->ix->hashes[lo];
            last = (const char *)&p->ix->hashes[hi - 1];
        }
        for (uintptr_t a = (uintptr_t)first & ~(uintptr_t)63; a <= (uintptr_t)last; a += 64)
            prefetch_l2((const void *)a);
        out[nr++] = (range_item){lo, hi, probes[i].table, probes[i].query, probes[i].rem};
    }
    return nr;
}

static inline __attribute__((always_inline)) int search_index(const cs_index *ix,
                                                              const cs_query *queries,
                                                              unsigned nq, int d, cs_hits *hits)
{
    search_state p;
    p.ix = ix;
    p.queries = queries;
    p.nq = nq;
    p.d = d;
    unsigned total = (unsigned)d + 1, m = ix->shape.m;
    p.q = (int)(total / m);
    p.big = total % m;
    if (p.big == 0) { /* every table at radius q - 1: call that q */
        p.q--;
        p.big = m;
    }
    p.hits = hits;
    p.rc = CLIENTSCAN_OK;
    p.nc = 0;
    for (unsigned k = 0; k < nq; k++) {
        memcpy(p.qw[k], queries[k].hash.bytes, sizeof p.qw[k]);
        uint64_t be[4];
        load_be(&queries[k].hash, be);
        for (unsigned t = 0; t < m; t++)
            p.key[k][t] = substring(be, ix->tables[t].offset, ix->tables[t].bits);
    }
    probe_item probes[PROBE_BATCH];
    range_item ranges[PROBE_BATCH];
    choose_wide(&p);
    p.it.query = 0;
    p.it.table = (unsigned)-1; /* iter_next_table() starts at table 0 */
    iter_next_table(&p);
    unsigned n;
    while (p.rc == CLIENTSCAN_OK && (n = next_probes(&p, probes)) > 0) {
        unsigned nr = resolve_probes(&p, probes, n, ranges);
        for (unsigned i = 0; i < nr; i++)
            scan_range(&p, &ranges[i]);
    }
    verify_candidates(&p);
    return p.rc;
}

/* Linear scan: one pass over the hashes for all queries together. */
static inline __attribute__((always_inline)) int scan_all(const cs_index *ix,
                                                          const cs_query *queries, unsigned nq,
                                                          int d, cs_hits *hits)
{
    uint64_t qw[CS_INDEX_MAX_QUERIES][4];
    for (unsigned k = 0; k < nq; k++)
        memcpy(qw[k], queries[k].hash.bytes, sizeof qw[k]);
    for (size_t e = 0; e < ix->n; e++) {
        for (unsigned k = 0; k < nq; k++) {
            int dist = distance_words(qw[k], &ix->hashes[e]);
            if (dist <= d && hits_push(hits, (uint32_t)e, dist, queries[k].variant) !=
                                 CLIENTSCAN_OK)
                return CLIENTSCAN_E_NOMEM;
        }
    }
    return CLIENTSCAN_OK;
}

static inline __attribute__((always_inline)) int search_body(const cs_index *ix,
                                                             const cs_query *queries,
                                                             unsigned nq, int d, bool use_index,
                                                             cs_hits *hits)
{
    if (!use_index)
        return scan_all(ix, queries, nq, d, hits);
    return search_index(ix, queries, nq, d, hits);
}

static int search_generic(const cs_index *ix, const cs_query *queries, unsigned nq, int d,
                          bool use_index, cs_hits *hits)
{
    return search_body(ix, queries, nq, d, use_index, hits);
}

#if defined(__x86_64__) && defined(__GNUC__)
/* The same code with the POPCNT instruction (x86-64 baseline lacks it);
 * chosen at build time when the CPU has it. */
__attribute__((target("popcnt"))) static int search_popcnt(const cs_index *ix,
                                                           const cs_query *queries, unsigned nq,
                                                           int d, bool use_index, cs_hits *hits)
{
    return search_body(ix, queries, nq, d, use_index, hits);
}
#endif

static search_fn pick_search(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    /* No __builtin_cpu_init(): only needed before constructors have run. */
    if (__builtin_cpu_supports("popcnt"))
        return search_popcnt;
#endif
    return search_generic;
}

int cs_index_search_many(const cs_index *ix, const cs_query *queries, unsigned nq, int d,
                         clientscan_match_method method, cs_hits *hits)
{
    if (nq == 0)
        return CLIENTSCAN_OK;
    if (nq > CS_INDEX_MAX_QUERIES)
        return CLIENTSCAN_E_INVALID_ARGUMENT;
    bool use_index = false;
    if (ix->shape.m > 0 && method != CLIENTSCAN_MATCH_LINEAR)
        use_index = method == CLIENTSCAN_MATCH_INDEX ||
                    mih_cost(ix->n, &ix->shape, d) < linear_cost(ix->n);
    return ix->search(ix, queries, nq, d, use_index, hits);
}

int cs_index_search(const cs_index *ix, const clientscan_pdq *q, unsigned variant, int d,
                    clientscan_match_method method, cs_hits *hits)
{
    cs_query one = {*q, variant};
    return cs_index_search_many(ix, &one, 1, d, method, hits);
}

/* ------------------------------------------------------------ build */

#define HUGE_PAGE (2u << 20)

void *cs_index_alloc(size_t bytes)
{
    if (bytes < HUGE_PAGE)
        return malloc(bytes ? bytes : 1);
    /* Random probes into hundreds of MB miss the TLB on every access with
     * 4 KiB pages; 2 MiB-aligned memory lets the kernel back it with
     * transparent huge pages (where enabled) and removes most page walks. */
    size_t rounded = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
    if (rounded < bytes)
        return NULL;
    void *p = aligned_alloc(HUGE_PAGE, rounded);
#ifdef MADV_HUGEPAGE
    if (p)
        (void)madvise(p, rounded, MADV_HUGEPAGE);
#endif
    return p;
}

void cs_index_free(cs_index *ix)
{
    if (!ix)
        return;
    for (unsigned t = 0; t < ix->shape.m; t++) {
        free(ix->tables[t].dir);
        free(ix->tables[t].entries);
    }
    free(ix);
}

/* Builds one table: entries ordered by substring (so each bucket is sorted
 * by tail), dir over the top dir_bits (CSR). The substrings of a sorted
 * list are random for every table but the first, so scattering entries
 * straight into place would be one cache miss per entry; instead
 * (substring, word) pairs are radix-sorted in passes of at most 13 bits,
 * whose histograms fit in L1 and whose scatter goes to a few thousand
 * sequential streams. `tmp` holds 2n pairs. */
#define RADIX_BITS 13

static void radix_pass(const uint64_t *in, uint64_t *out, size_t n, unsigned shift,
                       unsigned bits)
{
    size_t count[(size_t)1 << RADIX_BITS];
    size_t buckets = (size_t)1 << bits;
    uint64_t mask = buckets - 1;
    memset(count, 0, buckets * sizeof count[0]);
    for (size_t i = 0; i < n; i++)
        count[(in[i] >> shift) & mask]++;
    size_t sum = 0;
    for (size_t v = 0; v < buckets; v++) {
        size_t c = count[v];
        count[v] = sum;
        sum += c;
    }
    for (size_t i = 0; i < n; i++)
        out[count[(in[i] >> shift) & mask]++] = in[i];
}

static int build_table(cs_index *ix, index_table *t, uint64_t *tmp)
{
    unsigned s = t->bits, b = ix->shape.dir_bits, tail_bits = s - b;
    size_t values = (size_t)1 << b, n = ix->n;
    t->dir = cs_index_alloc((values + 1) * sizeof *t->dir);
    if (!t->dir)
        return CLIENTSCAN_E_NOMEM;
    /* Pairs: substring << 32 | tail << ENTRY_BITS | entry, sorted by the
     * whole substring so that each bucket is ordered by tail. */
    uint64_t *a = tmp, *c = tmp + n;
    uint64_t w[4];
    bool sorted = true;
    uint32_t prev = 0;
    for (size_t e = 0; e < n; e++) {
        load_be(&ix->hashes[e], w);
        uint32_t key = substring(w, t->offset, s);
        sorted = sorted && key >= prev;
        prev = key;
        uint32_t tail = key & ((UINT32_C(1) << tail_bits) - 1);
        a[e] = (uint64_t)key << 32 | (tail << ENTRY_BITS) | (uint32_t)e;
    }
    if (!sorted) {
        /* LSD passes of equal width <= RADIX_BITS, ending back in `a`. */
        unsigned passes = (s + RADIX_BITS - 1) / RADIX_BITS, done = 0;
        uint64_t *from = a, *to = c;
        for (unsigned i = 0; i < passes; i++) {
            unsigned width = (s - done) / (passes - i);
            radix_pass(from, to, n, 32 + done, width);
            done += width;
            uint64_t *swap = from;
            from = to;
            to = swap;
        }
        if (from != a)
            memcpy(a, from, n * sizeof *a);
    }
    /* dir[v] = first position whose bucket is >= v: one sequential pass. */
    size_t v = 0;
    for (size_t j = 0; j < n; j++) {
        size_t bucket = (size_t)(a[j] >> (32 + tail_bits));
        while (v <= bucket)
            t->dir[v++] = (uint32_t)j;
    }
    while (v <= values)
        t->dir[v++] = (uint32_t)n;
    /* Occupancy masks (n <= ENTRY_MASK leaves the top bits free). */
    unsigned group_bits = tail_bits < OCC_GROUP_BITS ? tail_bits : OCC_GROUP_BITS;
    for (size_t j = 0; j < n; j++) {
        size_t bucket = (size_t)(a[j] >> (32 + tail_bits));
        uint32_t tail = (uint32_t)(a[j] >> 32) & ((UINT32_C(1) << tail_bits) - 1);
        t->dir[bucket] |= (UINT32_C(1) << (tail >> (tail_bits - group_bits))) << ENTRY_BITS;
    }
    if (sorted) {
        /* Buckets are already runs of the hash array: no entries needed. */
        t->entries = NULL;
        return CLIENTSCAN_OK;
    }
    t->entries = cs_index_alloc(n * sizeof *t->entries);
    if (!t->entries)
        return CLIENTSCAN_E_NOMEM;
    for (size_t j = 0; j < n; j++)
        t->entries[j] = (uint32_t)a[j];
    return CLIENTSCAN_OK;
}

int cs_index_build(const clientscan_pdq *hashes, size_t n, unsigned substrings, cs_index **out,
                   clientscan_detail *detail)
{
    if (substrings > CS_INDEX_MAX_TABLES) {
        *out = NULL;
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "index: bad argument");
    }
    if (substrings == 0)
        return cs_index_build_shape(hashes, n, cs_index_choose_shape(n), out, detail);
    /* Explicit m (tests, experiments): directory about log2 n bits,
     * substrings up to CS_INDEX_TAIL_BITS wider where 256/m allows. */
    unsigned need = 4;
    while (need < CS_INDEX_MAX_BITS && ((size_t)1 << need) < n)
        need++;
    unsigned bits = 256 / substrings;
    if (bits > need + CS_INDEX_TAIL_BITS)
        bits = need + CS_INDEX_TAIL_BITS;
    cs_index_shape shape = {substrings, bits, bits < need ? bits : need};
    return cs_index_build_shape(hashes, n, shape, out, detail);
}

int cs_index_build_shape(const clientscan_pdq *hashes, size_t n, cs_index_shape shape,
                         cs_index **out, clientscan_detail *detail)
{
    *out = NULL;
    if ((!hashes && n) || shape.m > CS_INDEX_MAX_TABLES ||
        (shape.m && (shape.bits < 1 || shape.bits > 32 || shape.m * shape.bits > 256 ||
                     shape.dir_bits > shape.bits || shape.dir_bits > CS_INDEX_MAX_BITS ||
                     shape.bits - shape.dir_bits > CS_INDEX_TAIL_BITS)))
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "index: bad argument");
    if (n > ENTRY_MASK)
        return cs_fail(detail, CLIENTSCAN_E_LIMIT, "index: more than %lu entries",
                       (unsigned long)ENTRY_MASK);
    cs_index *ix = calloc(1, sizeof *ix);
    if (!ix)
        return cs_fail(detail, CLIENTSCAN_E_NOMEM, "index: out of memory");
    ix->hashes = hashes;
    ix->n = n;
    ix->search = pick_search();
    ix->shape = shape;
    ix->memory = sizeof *ix;
    uint64_t *tmp = NULL;
    if (ix->shape.m > 0) {
        tmp = n ? cs_index_alloc(2 * n * sizeof *tmp) : NULL;
        if (n && !tmp) {
            free(ix);
            return cs_fail(detail, CLIENTSCAN_E_NOMEM, "index: out of memory");
        }
    }
    for (unsigned t = 0; t < ix->shape.m; t++) {
        ix->tables[t].offset = t ? ix->tables[t - 1].offset + ix->tables[t - 1].bits : 0;
        ix->tables[t].bits = table_bits(&ix->shape, t);
        int rc = build_table(ix, &ix->tables[t], tmp);
        if (rc != CLIENTSCAN_OK) {
            free(tmp);
            unsigned m = ix->shape.m;
            ix->shape.m = t + 1; /* free only the tables started */
            cs_index_free(ix);
            return cs_fail(detail, rc, "index: out of memory building table %u of %u", t + 1, m);
        }
        ix->memory += (size_t)table_bytes(ix->tables[t].entries ? n : 0, ix->shape.dir_bits);
    }
    free(tmp);
    *out = ix;
    return CLIENTSCAN_OK;
}

void cs_index_describe(const cs_index *ix, clientscan_index_info *out)
{
    memset(out, 0, sizeof *out);
    if (!ix)
        return;
    out->substrings = ix->shape.m;
    out->substring_bits = ix->shape.bits;
    out->directory_bits = ix->shape.dir_bits;
    out->memory_bytes = ix->memory;
}

/* ------------------------------------------------------------ public matching
 * The clientscan_list_search/_match entry points: run the index once per
 * query variant, keep the best hit per entry, copy out in order. */

static int check_match_params(const clientscan_list *list, const clientscan_match_params *p,
                              size_t capacity, const clientscan_match *matches,
                              const size_t *found, clientscan_detail *detail)
{
    if (!list || !found || (capacity && !matches))
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "match: NULL argument");
    if (p->max_distance < 0 || p->max_distance > 256)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT,
                       "match: max_distance %d outside 0..256", p->max_distance);
    if (p->method != CLIENTSCAN_MATCH_AUTO && p->method != CLIENTSCAN_MATCH_LINEAR &&
        p->method != CLIENTSCAN_MATCH_INDEX)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "match: unknown method %d",
                       (int)p->method);
    return CLIENTSCAN_OK;
}

static int run_queries(const clientscan_list *list, const clientscan_pdq *queries,
                       unsigned nq, const clientscan_match_params *p, clientscan_match *matches,
                       size_t capacity, size_t *found, clientscan_detail *detail)
{
    cs_hit local[256];
    cs_hits hits = {local, 0, sizeof local / sizeof local[0], false};
    cs_query q[CS_INDEX_MAX_QUERIES];
    for (unsigned v = 0; v < nq; v++)
        q[v] = (cs_query){queries[v], v};
    if (cs_index_search_many(list->index, q, nq, p->max_distance, p->method, &hits) !=
        CLIENTSCAN_OK) {
        cs_hits_release(&hits);
        return cs_fail(detail, CLIENTSCAN_E_NOMEM, "match: out of memory for results");
    }
    cs_hits_finish(&hits);
    *found = hits.n;
    for (size_t i = 0; i < hits.n && i < capacity; i++) {
        matches[i].entry = hits.v[i].entry;
        matches[i].distance = hits.v[i].distance;
        matches[i].variant = (clientscan_dihedral)hits.v[i].variant;
    }
    cs_hits_release(&hits);
    return CLIENTSCAN_OK;
}

static const clientscan_match_params default_params = CLIENTSCAN_MATCH_PARAMS_DEFAULT;

int clientscan_list_search(const clientscan_list *list, const clientscan_pdq *hash,
                           const clientscan_match_params *params, clientscan_match *matches,
                           size_t capacity, size_t *found, clientscan_detail *detail)
{
    if (found)
        *found = 0;
    const clientscan_match_params *p = params ? params : &default_params;
    int rc = check_match_params(list, p, capacity, matches, found, detail);
    if (rc != CLIENTSCAN_OK)
        return rc;
    if (!hash)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "match: NULL hash");
    return run_queries(list, hash, 1, p, matches, capacity, found, detail);
}

int clientscan_list_match(const clientscan_list *list, const clientscan_pdq_result *query,
                          const clientscan_match_params *params, clientscan_match *matches,
                          size_t capacity, size_t *found, int *low_quality,
                          clientscan_detail *detail)
{
    if (found)
        *found = 0;
    if (low_quality)
        *low_quality = 0;
    const clientscan_match_params *p = params ? params : &default_params;
    int rc = check_match_params(list, p, capacity, matches, found, detail);
    if (rc != CLIENTSCAN_OK)
        return rc;
    if (!query)
        return cs_fail(detail, CLIENTSCAN_E_INVALID_ARGUMENT, "match: NULL query");
    bool low = query->quality < CLIENTSCAN_PDQ_MIN_QUALITY;
    if (low_quality)
        *low_quality = low;
    if (low && p->skip_low_quality)
        return CLIENTSCAN_OK;
    return run_queries(list, query->hash, p->dihedral ? CLIENTSCAN_DIHEDRAL_COUNT : 1, p, matches,
                       capacity, found, detail);
}

void clientscan_list_index_info(const clientscan_list *list, clientscan_index_info *out)
{
    if (!out)
        return;
    cs_index_describe(list ? list->index : NULL, out);
}
