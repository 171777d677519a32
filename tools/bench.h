/* Shared model of `clientscan bench`: per-image records (what shards write
 * and merge reads), the finalised result (histograms and counts) and the
 * writers that turn it into tables, CSV, JSON and SVG. */
#ifndef CLIENTSCAN_BENCH_H
#define CLIENTSCAN_BENCH_H

#include "cli.h"

/* Columns compared. PDQ_DIHEDRAL: min distance over the 8 variants of the
 * query against the listed hash. */
enum { ALG_PDQ, ALG_PDQ_DIHEDRAL, ALG_PHASH, ALG_DHASH, ALG_AHASH, ALG_COUNT };
#define BENCH_MAX_BITS 256
#define BENCH_TRANSFORMS CLIENTSCAN_TRANSFORM_COUNT
#define BENCH_DIST_FAILED 0xffffu /* transform or hash of a transformed image failed */
#define BENCH_DIGEST_BYTES 32     /* BLAKE2b-256 of the file's bytes */

const char *bench_alg_name(int alg);
int bench_alg_bits(int alg);

typedef enum { BENCH_FPR = 0, BENCH_ROBUST = 1 } bench_mode;

/* One corpus file, by its index in the sorted list of all corpus files. */
typedef struct {
    uint64_t index;
    char *path;
    bool ok;      /* decoded and hashed; else reason holds why not */
    char *reason; /* malloc'd, only when !ok */
    uint8_t digest[BENCH_DIGEST_BYTES];
    clientscan_pdq pdq[CLIENTSCAN_DIHEDRAL_COUNT];
    int quality;
    uint64_t h64[CLIENTSCAN_HASH64_COUNT];
    /* robust mode: distance original -> transformed, [transform][alg] */
    uint16_t robust[BENCH_TRANSFORMS][ALG_COUNT];
} bench_record;

/* A shard's or a whole run's records plus how they were produced. */
typedef struct {
    bench_mode mode;
    uint64_t total_files;   /* files in the whole corpus listing */
    uint8_t listing[BENCH_DIGEST_BYTES]; /* BLAKE2b of the sorted path list */
    unsigned shard_i, shard_n;
    bench_record *recs;
    size_t n, cap;
} bench_set;

/* How the records are turned into numbers (options of fpr/robust/merge). */
typedef struct {
    int dedup;          /* drop near-duplicates within this PDQ distance; -1 = off */
    int min_quality;    /* drop images whose PDQ quality is below this (0 = keep all) */
    bool across_dirs;   /* only pairs of images from different directories */
    uint64_t pairs;     /* 0 = every distinct pair, else a seeded sample of this many */
    uint64_t seed;
    double target_fpr;  /* robust: recall at the largest threshold with FPR <= this */
    const char *fpr_file; /* robust: FPR table from `bench fpr --json`, or NULL */
} bench_options;

typedef struct {
    bench_mode mode;
    uint64_t files, undecodable, dropped_quality, dropped_exact, dropped_near, distinct;
    int dedup, min_quality;
    bool across_dirs;
    uint64_t pairs_requested; /* 0 = all */
    uint64_t seed;
    double target_fpr;
    /* Pair (unmatched) distances. */
    uint64_t pairs;
    uint64_t pair_hist[ALG_COUNT][BENCH_MAX_BITS + 1];
    bool fpr_from_file; /* pair_hist came from --fpr FILE */
    /* Robust: original -> transformed distances. */
    uint64_t robust_hist[BENCH_TRANSFORMS][ALG_COUNT][BENCH_MAX_BITS + 1];
    uint64_t robust_images[BENCH_TRANSFORMS][ALG_COUNT]; /* excluding failures */
    uint64_t robust_failed[BENCH_TRANSFORMS];
} bench_result;

/* ---- records (bench_data.c) */
int bench_set_add(bench_set *set, const bench_record *rec); /* takes path/reason */
void bench_set_free(bench_set *set);
/* Writes a partial result file atomically. Returns 0 or prints and -1. */
int bench_write_partial(const char *path, const bench_set *set);
/* Reads one partial into set (appending records). Prints "path: reason". */
int bench_read_partial(const char *path, bench_set *set);
/* Dedup, pair distances and histograms. Prints errors; 0 or -1. */
int bench_finalise(bench_set *set, const bench_options *opt, bench_result *res);

/* ---- FPR table from a JSON file written by `bench fpr --json` (bench_json.c) */
int bench_load_fpr_json(const char *path, bench_result *res);

/* ---- derived numbers and outputs (bench_report.c) */
/* Pairs within t bits, and the 95% Wilson interval of the rate. */
uint64_t bench_fpr_matches(const bench_result *r, int alg, int t);
/* Largest t with measured FPR <= target (-1 if even t = 0 exceeds it). */
int bench_threshold_at(const bench_result *r, int alg, double target);
/* Operating threshold used in summaries: 31 for PDQ, 8 (= 31/256 of 64) else. */
int bench_default_threshold(int alg);
void bench_print_human(FILE *out, const bench_result *r);
void bench_print_json(FILE *out, const bench_result *r);
int bench_write_csv(const char *dir, const bench_result *r);

/* ---- plots (bench_svg.c) */
int bench_write_svg(const char *dir, const bench_result *r);

#endif
