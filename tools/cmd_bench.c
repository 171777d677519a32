/* clientscan bench — false-positive and robustness rates on an image corpus.
 *
 *   bench fpr CORPUS...      hash every image; distances of distinct pairs
 *   bench robust CORPUS...   also transform every image 20 ways
 *   bench merge PARTIAL...   combine the partial results of --shard runs
 *
 * Data flow: list and sort the corpus files -> hash (threads) into one
 * record per file -> either write the records of this shard (--shard) or
 * finalise them (bench_data.c) into histograms -> tables, JSON, CSV, SVG
 * (bench_report.c, bench_svg.c). Docs: docs/benchmarks.md. */
#include "bench.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_JOBS 256
#define MAX_FILE_BYTES (512u << 20)

static void bench_usage(FILE *out)
{
    fprintf(out,
            "usage: clientscan bench fpr [options] CORPUS...\n"
            "       clientscan bench robust [options] CORPUS...\n"
            "       clientscan bench merge [options] PARTIAL...\n"
            "\n"
            "Measures how often distinct images collide (fpr) and how often an edited copy\n"
            "of an image is still found (robust), for PDQ (also with dihedral matching) and\n"
            "the 64-bit baselines pHash, dHash and aHash. CORPUS is an image file or a\n"
            "directory (searched recursively, hidden files skipped); files that do not\n"
            "decode are counted and skipped. Exact byte duplicates are always dropped.\n"
            "\n"
            "Options:\n"
            "  -j, --jobs N        hashing threads (default: online CPUs)\n"
            "  --dedup D           also drop near duplicates within D bits of PDQ (0..256)\n"
            "  --min-quality Q     drop images whose PDQ quality is below Q (0..100; the\n"
            "                      reference calls quality < 50 unreliable)\n"
            "  --across-dirs       count only pairs of images in different directories\n"
            "                      (e.g. different source packages)\n"
            "  --pairs N           sample N pairs uniformly (seeded) instead of every pair\n"
            "  --seed S            seed of the pair sample and the noise transform (default 1)\n"

            "  --fpr FILE          robust: pair histograms from 'bench fpr --json' output\n"
            "                      (default: this corpus's own distinct pairs)\n"
            "  --target-fpr F      robust: recall at the largest threshold whose pair FPR\n"
            "                      is <= F (default 1e-4)\n"
            "  --shard I/N         only images whose index %% N == I; needs --partial\n"
            "  --partial FILE      where --shard writes its partial result\n"
            "  --json              the result as one JSON document instead of tables\n"
            "  --csv DIR           also write CSV files into DIR\n"
            "  --svg DIR           also write SVG plots into DIR\n"
            "  -h, --help          this text\n"
            "\n"
            "Sharding: run every I in 0..N-1 with the same CORPUS arguments (and the\n"
            "same --seed for robust: it seeds the noise transform), then\n"
            "'bench merge' all partials with the same finalising options (--dedup,\n"
            "--pairs, --seed, ...): the result is identical to an unsharded run.\n"
            "Exit status: 0 ok, 1 failure, 2 usage error.\n");
}

/* ---------------------------------------------------------------- corpus listing */

typedef struct {
    char **paths;
    size_t n, cap;
} path_list;

static int add_path(path_list *l, const char *p)
{
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 256;
        char **np = realloc(l->paths, ncap * sizeof *np);
        if (!np)
            return -1;
        l->paths = np;
        l->cap = ncap;
    }
    if (!(l->paths[l->n] = strdup(p)))
        return -1;
    l->n++;
    return 0;
}

static int collect(path_list *l, const char *path, int depth)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        cli_error("%s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return S_ISREG(st.st_mode) ? add_path(l, path) : 0;
    if (depth > 64) {
        cli_error("%s: directories nested too deeply", path);
        return -1;
    }
    DIR *d = opendir(path);
    if (!d) {
        cli_error("%s: %s", path, strerror(errno));
        return -1;
    }
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue; /* ., .. and hidden files */
        size_t len = strlen(path) + strlen(e->d_name) + 2;
        char *p = malloc(len);
        if (!p) {
            rc = -1;
            break;
        }
        snprintf(p, len, "%s/%s", path, e->d_name);
        struct stat es;
        if (lstat(p, &es) == 0 && S_ISLNK(es.st_mode) && stat(p, &es) == 0 && S_ISDIR(es.st_mode))
            rc = 0; /* no symlinked directories: no cycles */
        else
            rc = collect(l, p, depth + 1);
        free(p);
    }
    closedir(d);
    return rc;
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---------------------------------------------------------------- hashing */

typedef struct {
    const path_list *files;
    const uint64_t *indices; /* corpus indices of this shard */
    size_t count;
    bench_mode mode;
    uint64_t seed;
    bench_record *out;
    pthread_mutex_t lock;
    size_t next, done;
    bool progress;
} work;

static void fail_record(bench_record *r, const char *why)
{
    r->ok = false;
    r->reason = strdup(why);
}

static uint64_t noise_seed(uint64_t seed, uint64_t index, int transform)
{
    uint64_t z = seed ^ (index * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)transform << 56);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    return z ^ (z >> 31);
}

static int pdq_min_distance(const clientscan_pdq_result *listed, const clientscan_pdq_result *q)
{
    int best = BENCH_MAX_BITS;
    for (int v = 0; v < CLIENTSCAN_DIHEDRAL_COUNT; v++) {
        int d = clientscan_pdq_distance(&listed->hash[0], &q->hash[v]);
        if (d < best)
            best = d;
    }
    return best;
}

static void robust_distances(const clientscan_image *img, const clientscan_pdq_result *orig,
                             const uint64_t h64[CLIENTSCAN_HASH64_COUNT], uint64_t seed,
                             bench_record *r)
{
    for (int t = 0; t < BENCH_TRANSFORMS; t++) {
        clientscan_image timg;
        clientscan_pdq_result tp;
        uint64_t th[CLIENTSCAN_HASH64_COUNT];
        bool ok = clientscan_transform_apply(img, (clientscan_transform)t,
                                             noise_seed(seed, r->index, t), &timg,
                                             NULL) == CLIENTSCAN_OK;
        ok = ok && clientscan_pdq_hash_image(&timg, CLIENTSCAN_PDQ_MODE_FULL, 1, &tp, NULL) ==
                       CLIENTSCAN_OK;
        ok = ok && clientscan_hash64_image(&timg, th, NULL) == CLIENTSCAN_OK;
        clientscan_image_release(&timg);
        if (!ok) {
            for (int a = 0; a < ALG_COUNT; a++)
                r->robust[t][a] = BENCH_DIST_FAILED;
            continue;
        }
        r->robust[t][ALG_PDQ] = (uint16_t)clientscan_pdq_distance(&orig->hash[0], &tp.hash[0]);
        r->robust[t][ALG_PDQ_DIHEDRAL] = (uint16_t)pdq_min_distance(orig, &tp);
        for (int k = 0; k < CLIENTSCAN_HASH64_COUNT; k++)
            r->robust[t][ALG_PHASH + k] = (uint16_t)clientscan_hash64_distance(h64[k], th[k]);
    }
}

static void hash_one(const work *w, size_t i)
{
    bench_record *r = &w->out[i];
    memset(r, 0, sizeof *r);
    r->index = w->indices[i];
    r->path = strdup(w->files->paths[r->index]);
    uint8_t *data = NULL;
    size_t len = 0;
    /* cli_read_file reports its own errors; keep them off the progress line
     * by reading quietly here. */
    FILE *f = fopen(r->path ? r->path : "", "rb");
    struct stat st;
    if (!r->path || !f || fstat(fileno(f), &st) != 0 || st.st_size > MAX_FILE_BYTES) {
        fail_record(r, !r->path ? "out of memory" : !f ? strerror(errno) : "too large or unreadable");
        if (f)
            fclose(f);
        return;
    }
    len = (size_t)st.st_size;
    data = malloc(len ? len : 1);
    if (!data || fread(data, 1, len, f) != len) {
        fclose(f);
        free(data);
        fail_record(r, "read error");
        return;
    }
    fclose(f);
    crypto_generichash(r->digest, sizeof r->digest, data, len, NULL, 0);
    clientscan_image img;
    clientscan_pdq_result pdq;
    clientscan_detail d = {{0}};
    int rc = clientscan_decode_memory(data, len, NULL, &img, &d);
    free(data);
    if (rc == CLIENTSCAN_OK) {
        rc = clientscan_pdq_hash_image(&img, CLIENTSCAN_PDQ_MODE_FULL, 1, &pdq, &d);
        if (rc == CLIENTSCAN_OK)
            rc = clientscan_hash64_image(&img, r->h64, &d);
        if (rc == CLIENTSCAN_OK) {
            memcpy(r->pdq, pdq.hash, sizeof r->pdq);
            r->quality = pdq.quality;
            r->ok = true;
            if (w->mode == BENCH_ROBUST)
                robust_distances(&img, &pdq, r->h64, w->seed, r);
        }
        clientscan_image_release(&img);
    }
    if (rc != CLIENTSCAN_OK)
        fail_record(r, d.text[0] ? d.text : clientscan_strerror(rc));
}

static void *worker(void *arg)
{
    work *w = arg;
    for (;;) {
        pthread_mutex_lock(&w->lock);
        size_t i = w->next < w->count ? w->next++ : SIZE_MAX;
        pthread_mutex_unlock(&w->lock);
        if (i == SIZE_MAX)
            return NULL;
        hash_one(w, i);
        pthread_mutex_lock(&w->lock);
        w->done++;
        if (w->progress) {
            fprintf(stderr, "\r%s %zu/%zu images (%zu%%)", w->mode == BENCH_ROBUST ? "transforming and hashing" : "hashing",
                    w->done, w->count, w->done * 100 / w->count);
            if (w->done == w->count)
                fputc('\n', stderr);
        }
        pthread_mutex_unlock(&w->lock);
    }
}

static int run_workers(work *w, unsigned jobs)
{
    if (jobs > w->count)
        jobs = w->count ? (unsigned)w->count : 1;
    pthread_t tid[MAX_JOBS];
    unsigned started = 0;
    pthread_mutex_init(&w->lock, NULL);
    for (; started < jobs; started++)
        if (pthread_create(&tid[started], NULL, worker, w) != 0)
            break;
    if (started == 0)
        worker(w);
    for (unsigned t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    pthread_mutex_destroy(&w->lock);
    return 0;
}

/* ---------------------------------------------------------------- options */

typedef struct {
    bench_options fin;
    unsigned jobs;
    bool json;
    const char *csv, *svg, *partial;
    unsigned shard_i, shard_n; /* shard_n 0 = no sharding */
} cli_options;

static bool parse_double(const char *s, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= min && v <= max))
        return false;
    *out = v;
    return true;
}

/* Returns optind, or -1 after printing a usage error, or -2 for --help. */
static int parse_options(int argc, char **argv, const char *sub, cli_options *o)
{
    static const struct option longopts[] = {
        {"jobs", required_argument, NULL, 'j'},    {"dedup", required_argument, NULL, 'D'},
        {"pairs", required_argument, NULL, 'P'},   {"seed", required_argument, NULL, 'S'},
        {"fpr", required_argument, NULL, 'F'},
        {"target-fpr", required_argument, NULL, 'T'}, {"shard", required_argument, NULL, 'H'},
        {"partial", required_argument, NULL, 'O'}, {"json", no_argument, NULL, 'J'},
        {"csv", required_argument, NULL, 'C'},     {"svg", required_argument, NULL, 'V'},
        {"min-quality", required_argument, NULL, 'Q'}, {"across-dirs", no_argument, NULL, 'A'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    *o = (cli_options){.fin = {.dedup = -1, .seed = 1, .target_fpr = 1e-4},
                       .jobs = cpus > 0 ? (unsigned)(cpus < MAX_JOBS ? cpus : MAX_JOBS) : 1};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "j:h", longopts, NULL)) != -1) {
        long v;
        switch (c) {
        case 'j':
            if (!cli_parse_int(optarg, 1, MAX_JOBS, &v))
                return cli_error("bench %s: --jobs must be 1..%d", sub, MAX_JOBS), -1;
            o->jobs = (unsigned)v;
            break;
        case 'D':
            if (!cli_parse_int(optarg, 0, 256, &v))
                return cli_error("bench %s: --dedup must be 0..256 bits", sub), -1;
            o->fin.dedup = (int)v;
            break;
        case 'P':
            if (!cli_parse_int(optarg, 1, 1000000000000L, &v))
                return cli_error("bench %s: --pairs must be 1..1e12", sub), -1;
            o->fin.pairs = (uint64_t)v;
            break;
        case 'S':
            if (!cli_parse_int(optarg, 0, INT64_MAX, &v))
                return cli_error("bench %s: --seed must be a non-negative integer", sub), -1;
            o->fin.seed = (uint64_t)v;
            break;
        case 'Q':
            if (!cli_parse_int(optarg, 0, 100, &v))
                return cli_error("bench %s: --min-quality must be 0..100", sub), -1;
            o->fin.min_quality = (int)v;
            break;
        case 'A': o->fin.across_dirs = true; break;
        case 'F': o->fin.fpr_file = optarg; break;
        case 'T':
            if (!parse_double(optarg, 1e-15, 1, &o->fin.target_fpr))
                return cli_error("bench %s: --target-fpr must be in (0, 1]", sub), -1;
            break;
        case 'H': {
            unsigned i, n;
            char extra;
            if (sscanf(optarg, "%u/%u%c", &i, &n, &extra) != 2 || n == 0 || n > 1000000 || i >= n)
                return cli_error("bench %s: --shard must be I/N with 0 <= I < N", sub), -1;
            o->shard_i = i;
            o->shard_n = n;
            break;
        }
        case 'O': o->partial = optarg; break;
        case 'J': o->json = true; break;
        case 'C': o->csv = optarg; break;
        case 'V': o->svg = optarg; break;
        case 'h': return -2;
        default: return -1;
        }
    }
    return optind;
}

static int report(const bench_result *res, const cli_options *o)
{
    if (o->json)
        bench_print_json(stdout, res);
    else
        bench_print_human(stdout, res);
    if (o->csv && bench_write_csv(o->csv, res) != 0)
        return CLI_FAILED;
    if (o->svg && bench_write_svg(o->svg, res) != 0)
        return CLI_FAILED;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("bench: cannot write output: %s", strerror(errno));
        return CLI_FAILED;
    }
    return CLI_OK;
}

static int finalise_and_report(bench_set *set, const cli_options *o)
{
    bench_result *res = calloc(1, sizeof *res);
    if (!res) {
        cli_error("bench: out of memory");
        return CLI_FAILED;
    }
    int status = bench_finalise(set, &o->fin, res) == 0 ? report(res, o) : CLI_FAILED;
    free(res);
    return status;
}

/* Prints the first few undecodable files so a broken corpus is visible. */
static void list_failures(const bench_set *set)
{
    size_t shown = 0, total = 0;
    for (size_t i = 0; i < set->n; i++)
        if (!set->recs[i].ok && ++total <= 10) {
            fprintf(stderr, "%s: %s\n", set->recs[i].path ? set->recs[i].path : "?",
                    set->recs[i].reason ? set->recs[i].reason : "failed");
            shown++;
        }
    if (total > shown)
        fprintf(stderr, "... and %zu more files that could not be hashed\n", total - shown);
}

static int run_corpus(int argc, char **argv, bench_mode mode, const char *sub)
{
    cli_options o;
    int first = parse_options(argc, argv, sub, &o);
    if (first == -2) {
        bench_usage(stdout);
        return CLI_OK;
    }
    if (first < 0)
        return CLI_USAGE;
    if (first >= argc) {
        cli_error("bench %s: no CORPUS given (see 'clientscan bench --help')", sub);
        return CLI_USAGE;
    }
    if (o.shard_n && !o.partial) {
        cli_error("bench %s: --shard needs --partial FILE", sub);
        return CLI_USAGE;
    }
    if (o.partial && !o.shard_n) {
        o.shard_i = 0;
        o.shard_n = 1; /* one shard holding everything */
    }
    if (o.fin.fpr_file && mode != BENCH_ROBUST) {
        cli_error("bench %s: --fpr only applies to 'bench robust'", sub);
        return CLI_USAGE;
    }
    if (clientscan_init() != CLIENTSCAN_OK) {
        cli_error("bench: libsodium initialisation failed");
        return CLI_FAILED;
    }

    path_list files = {0};
    int status = CLI_FAILED;
    for (int i = first; i < argc; i++)
        if (collect(&files, argv[i], 0) != 0)
            goto out;
    if (files.n == 0) {
        cli_error("bench %s: no files found in the given CORPUS", sub);
        goto out;
    }
    qsort(files.paths, files.n, sizeof *files.paths, by_string);
    for (size_t i = 1; i < files.n; i++)
        if (strcmp(files.paths[i], files.paths[i - 1]) == 0) {
            cli_error("%s: given twice", files.paths[i]);
            goto out;
        }

    bench_set set = {.mode = mode, .total_files = files.n, .shard_i = o.shard_i,
                     .shard_n = o.shard_n ? o.shard_n : 1};
    {
        /* Fingerprint of the listing, so merge refuses partials of another corpus. */
        crypto_generichash_state h;
        crypto_generichash_init(&h, NULL, 0, sizeof set.listing);
        for (size_t i = 0; i < files.n; i++)
            crypto_generichash_update(&h, (const uint8_t *)files.paths[i], strlen(files.paths[i]) + 1);
        crypto_generichash_final(&h, set.listing, sizeof set.listing);
    }
    uint64_t *indices = malloc(files.n * sizeof *indices);
    bench_record *recs = calloc(files.n, sizeof *recs);
    if (!indices || !recs) {
        free(indices);
        free(recs);
        cli_error("bench: out of memory");
        goto out;
    }
    size_t count = 0;
    for (size_t i = 0; i < files.n; i++)
        if (i % set.shard_n == set.shard_i)
            indices[count++] = i;
    work w = {.files = &files, .indices = indices, .count = count, .mode = mode,
              .seed = o.fin.seed, .out = recs, .progress = isatty(STDERR_FILENO) && count >= 20};
    run_workers(&w, o.jobs);
    free(indices);
    set.recs = recs;
    set.n = set.cap = count;
    list_failures(&set);
    if (o.partial) {
        status = bench_write_partial(o.partial, &set) == 0 ? CLI_OK : CLI_FAILED;
        if (status == CLI_OK && !o.json)
            fprintf(stderr, "bench %s: shard %u/%u: %zu images written to %s\n", sub, set.shard_i,
                    set.shard_n, set.n, o.partial);
    } else {
        status = finalise_and_report(&set, &o);
    }
    bench_set_free(&set);
out:
    for (size_t i = 0; i < files.n; i++)
        free(files.paths[i]);
    free(files.paths);
    return status;
}

static int run_merge(int argc, char **argv)
{
    cli_options o;
    int first = parse_options(argc, argv, "merge", &o);
    if (first == -2) {
        bench_usage(stdout);
        return CLI_OK;
    }
    if (first < 0)
        return CLI_USAGE;
    if (first >= argc) {
        cli_error("bench merge: no PARTIAL given");
        return CLI_USAGE;
    }
    if (o.shard_n || o.partial) {
        cli_error("bench merge: --shard and --partial do not apply");
        return CLI_USAGE;
    }
    bench_set set = {0};
    int status = CLI_FAILED;
    bool *seen = NULL;
    for (int i = first; i < argc; i++) {
        if (bench_read_partial(argv[i], &set) != 0)
            goto out;
        if (!seen && !(seen = calloc(set.shard_n, sizeof *seen))) {
            cli_error("bench: out of memory");
            goto out;
        }
        if (seen[set.shard_i]) {
            cli_error("%s: shard %u/%u given twice", argv[i], set.shard_i, set.shard_n);
            goto out;
        }
        seen[set.shard_i] = true;
    }
    for (unsigned s = 0; s < set.shard_n; s++)
        if (!seen[s]) {
            cli_error("bench merge: shard %u/%u is missing", s, set.shard_n);
            goto out;
        }
    if (o.fin.fpr_file && set.mode != BENCH_ROBUST) {
        cli_error("bench merge: --fpr only applies to robust partials");
        status = CLI_USAGE;
        goto out;
    }
    status = finalise_and_report(&set, &o);
out:
    free(seen);
    bench_set_free(&set);
    return status;
}

int cmd_bench(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        bench_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    if (strcmp(argv[1], "fpr") == 0)
        return run_corpus(argc - 1, argv + 1, BENCH_FPR, "fpr");
    if (strcmp(argv[1], "robust") == 0)
        return run_corpus(argc - 1, argv + 1, BENCH_ROBUST, "robust");
    if (strcmp(argv[1], "merge") == 0)
        return run_merge(argc - 1, argv + 1);
    cli_error("bench: unknown subcommand '%s' (fpr, robust or merge)", argv[1]);
    return CLI_USAGE;
}
