/* Exact Hamming range search over an array of PDQ hashes: multi-index
 * hashing (Norouzi, Punjani, Fleet 2014) with a linear popcount scan where
 * that is cheaper. Design and cost model: docs/index.md. Never installed. */
#ifndef CLIENTSCAN_INDEX_H
#define CLIENTSCAN_INDEX_H

#include "internal.h"

#define CS_INDEX_MAX_TABLES 64
#define CS_INDEX_MAX_BITS 26 /* directory of 2^26+1 offsets = 256 MiB at most */
/* Substring bits below the directory, kept in the entry words. */
#define CS_INDEX_TAIL_BITS 6

typedef struct cs_index cs_index;

/* One verified result: entry index, distance, query variant. */
typedef struct cs_hit {
    uint32_t entry;
    uint16_t distance;
    uint16_t variant;
} cs_hit;

/* Growable result vector. Starts on caller storage (`v` = a local array of
 * `cap` hits, `heap` false) and moves to the heap when it fills. */
typedef struct cs_hits {
    cs_hit *v;
    size_t n, cap;
    bool heap;
} cs_hits;

/* m substrings of `bits` bits; the directory indexes their top dir_bits
 * (bits - dir_bits <= CS_INDEX_TAIL_BITS). The 256 - m*bits spare bits
 * widen the first tables by one bit each where the tail allows
 * (docs/index.md). m = 0: no index. */
typedef struct cs_index_shape {
    unsigned m, bits, dir_bits;
} cs_index_shape;

/* Builds the index over hashes[0..n) (n < 2^26), which must outlive it and
 * stay unchanged. substrings 0 = chosen by the cost model; otherwise the
 * number of substrings m (1..CS_INDEX_MAX_TABLES), with a directory of
 * about log2 n bits and substrings min(256/m, that + CS_INDEX_TAIL_BITS). Errors: INVALID_ARGUMENT, LIMIT, NOMEM. */
int cs_index_build(const clientscan_pdq *hashes, size_t n, unsigned substrings, cs_index **out,
                   clientscan_detail *detail);
/* As cs_index_build() with an explicit shape (checked: m*bits <= 256,
 * dir_bits <= bits <= dir_bits + CS_INDEX_TAIL_BITS, dir_bits <= 26). */
int cs_index_build_shape(const clientscan_pdq *hashes, size_t n, cs_index_shape shape,
                         cs_index **out, clientscan_detail *detail);
void cs_index_free(cs_index *index);

/* malloc for large search arrays: 2 MiB-aligned and advised for huge pages
 * when at least that big (fewer TLB misses on random probes). free() it. */
void *cs_index_alloc(size_t bytes);

/* One query of a batch: the hash and the variant its hits are tagged with. */
#define CS_INDEX_MAX_QUERIES 8
typedef struct cs_query {
    clientscan_pdq hash;
    unsigned variant;
} cs_query;

/* Searches up to CS_INDEX_MAX_QUERIES hashes in one pass (one pipeline for
 * the index, one sweep for a linear scan); hits as cs_index_search().
 * Errors: INVALID_ARGUMENT (too many queries), NOMEM. */
int cs_index_search_many(const cs_index *index, const cs_query *queries, unsigned nq, int d,
                         clientscan_match_method method, cs_hits *hits);

/* Appends one hit per (entry, pass) within distance d (0..256) of q, tagged
 * with `variant`. An entry may be appended more than once; the caller
 * dedupes. Thread-safe: reads only the immutable index. Errors: NOMEM. */
int cs_index_search(const cs_index *index, const clientscan_pdq *q, unsigned variant, int d,
                    clientscan_match_method method, cs_hits *hits);

void cs_index_describe(const cs_index *index, clientscan_index_info *out);

/* Reduces hits to the best (distance, then variant) per entry and sorts by
 * distance, then entry. */
void cs_hits_finish(cs_hits *hits);
void cs_hits_release(cs_hits *hits);

/* The cheapest shape for n entries at d = 31 under the cost model and the
 * memory budget of 64 bytes per entry (docs/index.md); m = 0 when a linear
 * scan is cheaper. */
cs_index_shape cs_index_choose_shape(size_t n);

#endif
