/* bench records: the partial-result file that shards write and merge reads,
 * and the finalisation shared by unsharded runs and merges (exact-duplicate
 * and near-duplicate removal, pair distances, histograms). Because both paths
 * end in bench_finalise() over the same records in the same order, a merge
 * of all shards gives exactly the unsharded result. */
#include "bench.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PARTIAL_MAGIC "clientscan-bench-partial 1"
#define MAX_LINE (1u << 20)

static const char *const alg_names[ALG_COUNT] = {"pdq", "pdq-dihedral", "phash", "dhash",
                                                 "ahash"};

const char *bench_alg_name(int alg)
{
    return alg >= 0 && alg < ALG_COUNT ? alg_names[alg] : "unknown";
}

int bench_alg_bits(int alg)
{
    return alg == ALG_PDQ || alg == ALG_PDQ_DIHEDRAL ? 256 : 64;
}

int bench_set_add(bench_set *set, const bench_record *rec)
{
    if (set->n == set->cap) {
        size_t ncap = set->cap ? set->cap * 2 : 256;
        bench_record *r = realloc(set->recs, ncap * sizeof *r);
        if (!r)
            return -1;
        set->recs = r;
        set->cap = ncap;
    }
    set->recs[set->n++] = *rec;
    return 0;
}

void bench_set_free(bench_set *set)
{
    for (size_t i = 0; i < set->n; i++) {
        free(set->recs[i].path);
        free(set->recs[i].reason);
    }
    free(set->recs);
    memset(set, 0, sizeof *set);
}

/* ---------------------------------------------------------------- partial files */

static void put_hex(FILE *f, const void *data, size_t len)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < len; i++)
        fprintf(f, "%02x", p[i]);
}

static void transform_list(FILE *f)
{
    for (int t = 0; t < BENCH_TRANSFORMS; t++)
        fprintf(f, "%s%s", t ? "," : "", clientscan_transform_name((clientscan_transform)t));
}

int bench_write_partial(const char *path, const bench_set *set)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) {
        cli_error("%s: %s", path, strerror(errno));
        return -1;
    }
    fprintf(f, "%s\nmode %s\nfiles %llu\nlisting ", PARTIAL_MAGIC,
            set->mode == BENCH_ROBUST ? "robust" : "fpr", (unsigned long long)set->total_files);
    put_hex(f, set->listing, sizeof set->listing);
    fprintf(f, "\nshard %u %u\ntransforms ", set->shard_i, set->shard_n);
    transform_list(f);
    fprintf(f, "\nrecords %zu\n", set->n);
    for (size_t i = 0; i < set->n; i++) {
        const bench_record *r = &set->recs[i];
        if (!r->ok) {
            fprintf(f, "F %llu ", (unsigned long long)r->index);
            put_hex(f, r->path, strlen(r->path));
            fputc(' ', f);
            put_hex(f, r->reason ? r->reason : "", r->reason ? strlen(r->reason) : 0);
            fputc('\n', f);
            continue;
        }
        fprintf(f, "R %llu ", (unsigned long long)r->index);
        put_hex(f, r->digest, sizeof r->digest);
        fprintf(f, " %d ", r->quality);
        for (int v = 0; v < CLIENTSCAN_DIHEDRAL_COUNT; v++) {
            if (v)
                fputc(',', f);
            put_hex(f, r->pdq[v].bytes, CLIENTSCAN_PDQ_BYTES);
        }
        for (int k = 0; k < CLIENTSCAN_HASH64_COUNT; k++)
            fprintf(f, " %016llx", (unsigned long long)r->h64[k]);
        fputc(' ', f);
        if (set->mode == BENCH_ROBUST) {
            for (int t = 0; t < BENCH_TRANSFORMS; t++)
                for (int a = 0; a < ALG_COUNT; a++)
                    fprintf(f, "%s%u", t || a ? "," : "", (unsigned)r->robust[t][a]);
        } else {
            fputc('-', f);
        }
        fputc(' ', f);
        put_hex(f, r->path, strlen(r->path));
        fputc('\n', f);
    }
    fputs("end\n", f);
    if (fclose(f) != 0 || !text) {
        free(text);
        cli_error("%s: cannot format partial result", path);
        return -1;
    }
    int rc = cli_write_file_atomic(path, text, len, 0644);
    free(text);
    return rc == 0 ? 0 : -1;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decodes exactly 2*len lowercase hex digits. */
static bool get_hex(const char *s, size_t digits, uint8_t *out)
{
    if (digits % 2 || strlen(s) != digits)
        return false;
    for (size_t i = 0; i < digits / 2; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

/* Hex text -> malloc'd string; refuses NUL bytes and odd lengths. */
static char *get_hex_string(const char *s)
{
    size_t digits = strlen(s);
    if (digits % 2)
        return NULL;
    char *out = malloc(digits / 2 + 1);
    if (!out)
        return NULL;
    if (!get_hex(s, digits, (uint8_t *)out) || memchr(out, 0, digits / 2)) {
        free(out);
        return NULL;
    }
    out[digits / 2] = '\0';
    return out;
}

static bool get_u64(const char *s, uint64_t max, uint64_t *out)
{
    if (!*s || *s == '-' || *s == '+')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return false;
    *out = v;
    return true;
}

/* Splits line in place at spaces into at most max fields; returns count. */
static int split(char *line, char **fields, int max)
{
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(line, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        if (n == max)
            return max + 1;
        fields[n++] = tok;
    }
    return n;
}

static bool parse_record(char **fv, int nf, const bench_set *set, bench_record *r)
{
    memset(r, 0, sizeof *r);
    if (strcmp(fv[0], "F") == 0) {
        if (nf != 4 && nf != 3)
            return false;
        if (!get_u64(fv[1], set->total_files - 1, &r->index))
            return false;
        r->path = get_hex_string(fv[2]);
        r->reason = get_hex_string(nf == 4 ? fv[3] : "");
        if (!r->path || !r->reason) {
            free(r->path);
            free(r->reason);
            return false;
        }
        return true;
    }
    if (strcmp(fv[0], "R") != 0 || nf != 10)
        return false;
    uint64_t q;
    if (!get_u64(fv[1], set->total_files - 1, &r->index) ||
        !get_hex(fv[2], 2 * BENCH_DIGEST_BYTES, r->digest) || !get_u64(fv[3], 100, &q))
        return false;
    r->quality = (int)q;
    /* 8 PDQ hashes joined by commas */
    const char *p = fv[4];
    for (int v = 0; v < CLIENTSCAN_DIHEDRAL_COUNT; v++) {
        char buf[2 * CLIENTSCAN_PDQ_BYTES + 1];
        size_t len = strcspn(p, ",");
        if (len != 2 * CLIENTSCAN_PDQ_BYTES)
            return false;
        memcpy(buf, p, len);
        buf[len] = '\0';
        if (!get_hex(buf, len, r->pdq[v].bytes))
            return false;
        p += len;
        if (v + 1 < CLIENTSCAN_DIHEDRAL_COUNT ? *p++ != ',' : *p != '\0')
            return false;
    }
    for (int k = 0; k < CLIENTSCAN_HASH64_COUNT; k++) {
        uint8_t b[8];
        if (!get_hex(fv[5 + k], 16, b))
            return false;
        r->h64[k] = 0;
        for (int i = 0; i < 8; i++)
            r->h64[k] = r->h64[k] << 8 | b[i];
    }
    if (set->mode == BENCH_ROBUST) {
        p = fv[8];
        for (int t = 0; t < BENCH_TRANSFORMS; t++)
            for (int a = 0; a < ALG_COUNT; a++) {
                char *end;
                if (*p < '0' || *p > '9')
                    return false;
                errno = 0;
                unsigned long v = strtoul(p, &end, 10);
                if (errno || (v > (unsigned long)bench_alg_bits(a) && v != BENCH_DIST_FAILED))
                    return false;
                r->robust[t][a] = (uint16_t)v;
                bool last = t == BENCH_TRANSFORMS - 1 && a == ALG_COUNT - 1;
                if (last ? *end != '\0' : *end != ',')
                    return false;
                p = end + 1;
            }
    } else if (strcmp(fv[8], "-") != 0) {
        return false;
    }
    r->path = get_hex_string(fv[9]);
    r->ok = true;
    return r->path != NULL;
}

int bench_read_partial(const char *path, bench_set *set)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        cli_error("%s: %s", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    unsigned long lineno = 0;
    const char *why = NULL;
    bench_set head = {0};
    uint64_t expected = 0, seen = 0;
    bool ended = false;
    char want_transforms[1024];
    {
        FILE *m = fmemopen(want_transforms, sizeof want_transforms, "w");
        if (m) {
            transform_list(m);
            fputc('\0', m);
            fclose(m);
        } else {
            want_transforms[0] = '\0';
        }
    }
    while (!why && (got = getline(&line, &cap, f)) != -1) {
        lineno++;
        if ((size_t)got > MAX_LINE) {
            why = "line too long";
            break;
        }
        if (got > 0 && line[got - 1] == '\n')
            line[--got] = '\0';
        if (ended) {
            why = "text after 'end'";
            break;
        }
        char *fv[12];
        if (lineno == 1) {
            if (strcmp(line, PARTIAL_MAGIC) != 0)
                why = "not a clientscan bench partial result (or another version)";
            continue;
        }
        if (strcmp(line, "end") == 0) {
            ended = true;
            continue;
        }
        int nf = split(line, fv, 11);
        if (nf < 2) {
            why = "malformed line";
        } else if (lineno == 2) {
            if (strcmp(fv[0], "mode") || nf != 2)
                why = "expected 'mode'";
            else if (strcmp(fv[1], "fpr") == 0)
                head.mode = BENCH_FPR;
            else if (strcmp(fv[1], "robust") == 0)
                head.mode = BENCH_ROBUST;
            else
                why = "unknown mode";
        } else if (lineno == 3) {
            if (strcmp(fv[0], "files") || nf != 2 ||
                !get_u64(fv[1], UINT64_MAX / 2, &head.total_files) || head.total_files == 0)
                why = "expected 'files N'";
        } else if (lineno == 4) {
            if (strcmp(fv[0], "listing") || nf != 2 ||
                !get_hex(fv[1], 2 * BENCH_DIGEST_BYTES, head.listing))
                why = "expected 'listing HEX'";
        } else if (lineno == 5) {
            uint64_t i = 0, n = 0;
            if (strcmp(fv[0], "shard") || nf != 3 || !get_u64(fv[2], 1000000, &n) || n == 0 ||
                !get_u64(fv[1], n - 1, &i))
                why = "expected 'shard I N'";
            head.shard_i = (unsigned)i;
            head.shard_n = (unsigned)n;
        } else if (lineno == 6) {
            if (strcmp(fv[0], "transforms") || nf != 2 || strcmp(fv[1], want_transforms))
                why = "transforms differ from this version's";
        } else if (lineno == 7) {
            if (strcmp(fv[0], "records") || nf != 2 || !get_u64(fv[1], head.total_files, &expected))
                why = "expected 'records N'";
            /* The header is complete: it must agree with earlier partials. */
            else if (set->shard_n == 0) {
                set->mode = head.mode;
                set->total_files = head.total_files;
                memcpy(set->listing, head.listing, sizeof set->listing);
                set->shard_n = head.shard_n;
            } else if (set->mode != head.mode || set->total_files != head.total_files ||
                       memcmp(set->listing, head.listing, sizeof head.listing) ||
                       set->shard_n != head.shard_n) {
                why = "from a different run (mode, corpus listing or shard count differ)";
            }
        } else {
            bench_record r;
            if (seen == expected) {
                why = "more records than announced";
            } else if (!parse_record(fv, nf, set, &r)) {
                why = "malformed record";
            } else if (r.index % head.shard_n != head.shard_i) {
                free(r.path);
                free(r.reason);
                why = "record index outside its shard";
            } else if (bench_set_add(set, &r) != 0) {
                free(r.path);
                free(r.reason);
                why = "out of memory";
            } else {
                seen++;
            }
        }
    }
    bool read_error = ferror(f);
    free(line);
    fclose(f);
    if (!why && read_error)
        why = "read error";
    if (!why && lineno < 7)
        why = "truncated header";
    if (!why && (!ended || seen != expected))
        why = "truncated (no 'end' line or fewer records than announced)";
    if (why) {
        if (lineno > 0 && !ended)
            cli_error("%s: line %lu: %s", path, lineno, why);
        else
            cli_error("%s: %s", path, why);
        return -1;
    }
    set->shard_i = head.shard_i;
    return 0;
}

/* ---------------------------------------------------------------- finalising */

static int by_index(const void *a, const void *b)
{
    const bench_record *x = a, *y = b;
    return (x->index > y->index) - (x->index < y->index);
}

static int by_digest_then_index(const void *a, const void *b)
{
    const bench_record *x = *(bench_record *const *)a, *y = *(bench_record *const *)b;
    int c = memcmp(x->digest, y->digest, sizeof x->digest);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

static uint64_t splitmix(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, n) without modulo bias. */
static uint64_t uniform_below(uint64_t *state, uint64_t n)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t r;
    do
        r = splitmix(state);
    while (r >= limit);
    return r % n;
}

/* Distances of one pair: `listed` plays the list entry, `query` the image
 * sent (whose 8 dihedral variants are tried in the dihedral column). */
static void pair_distances(const bench_record *listed, const bench_record *query,
                           int d[ALG_COUNT])
{
    d[ALG_PDQ] = clientscan_pdq_distance(&listed->pdq[0], &query->pdq[0]);
    int best = d[ALG_PDQ];
    for (int v = 1; v < CLIENTSCAN_DIHEDRAL_COUNT; v++) {
        int x = clientscan_pdq_distance(&listed->pdq[0], &query->pdq[v]);
        if (x < best)
            best = x;
    }
    d[ALG_PDQ_DIHEDRAL] = best;
    for (int k = 0; k < CLIENTSCAN_HASH64_COUNT; k++)
        d[ALG_PHASH + k] = clientscan_hash64_distance(listed->h64[k], query->h64[k]);
}

/* Same directory: the path up to its last '/'. */
static bool same_dir(const bench_record *a, const bench_record *b)
{
    const char *sa = strrchr(a->path, '/'), *sb = strrchr(b->path, '/');
    size_t la = sa ? (size_t)(sa - a->path) : 0, lb = sb ? (size_t)(sb - b->path) : 0;
    return la == lb && memcmp(a->path, b->path, la) == 0;
}

static void count_pair(bench_result *res, const bench_record *a, const bench_record *b)
{
    int d[ALG_COUNT];
    pair_distances(a, b, d);
    for (int k = 0; k < ALG_COUNT; k++)
        res->pair_hist[k][d[k]]++;
    res->pairs++;
}

int bench_finalise(bench_set *set, const bench_options *opt, bench_result *res)
{
    memset(res, 0, sizeof *res);
    res->mode = set->mode;
    res->dedup = opt->dedup;
    res->min_quality = opt->min_quality;
    res->across_dirs = opt->across_dirs;
    res->pairs_requested = opt->pairs;
    res->seed = opt->seed;
    res->target_fpr = opt->target_fpr;
    res->files = set->total_files;
    qsort(set->recs, set->n, sizeof *set->recs, by_index);
    for (size_t i = 1; i < set->n; i++)
        if (set->recs[i].index == set->recs[i - 1].index) {
            cli_error("bench: image %llu appears in two partial results",
                      (unsigned long long)set->recs[i].index);
            return -1;
        }
    if (set->n != set->total_files) {
        cli_error("bench: %zu of %llu corpus files have results (missing shards?)", set->n,
                  (unsigned long long)set->total_files);
        return -1;
    }

    /* Exact duplicates: keep the lowest index of each digest. */
    bench_record **ok = malloc((set->n ? set->n : 1) * sizeof *ok);
    bool *drop = calloc(set->n ? set->n : 1, sizeof *drop);
    if (!ok || !drop) {
        free(ok);
        free(drop);
        cli_error("bench: out of memory");
        return -1;
    }
    size_t m = 0;
    for (size_t i = 0; i < set->n; i++) {
        bench_record *r = &set->recs[i];
        if (!r->ok) {
            res->undecodable++;
        } else if (r->quality < opt->min_quality) {
            res->dropped_quality++;
            r->ok = false; /* out of every later step */
        } else {
            ok[m++] = r;
        }
    }
    qsort(ok, m, sizeof *ok, by_digest_then_index);
    for (size_t i = 1; i < m; i++)
        if (memcmp(ok[i]->digest, ok[i - 1]->digest, BENCH_DIGEST_BYTES) == 0) {
            drop[ok[i] - set->recs] = true;
            res->dropped_exact++;
        }
    /* Back to index order, without the duplicates. */
    m = 0;
    for (size_t i = 0; i < set->n; i++)
        if (set->recs[i].ok && !drop[i])
            ok[m++] = &set->recs[i];
    /* Near duplicates: greedily, in index order, the first of a group stays. */
    if (opt->dedup >= 0) {
        size_t kept = 0;
        for (size_t i = 0; i < m; i++) {
            bool dup = false;
            for (size_t j = 0; j < kept && !dup; j++)
                dup = clientscan_pdq_distance(&ok[j]->pdq[0], &ok[i]->pdq[0]) <= opt->dedup;
            if (dup)
                res->dropped_near++;
            else
                ok[kept++] = ok[i];
        }
        m = kept;
    }
    res->distinct = m;
    free(drop);

    if (opt->fpr_file) {
        if (bench_load_fpr_json(opt->fpr_file, res) != 0) {
            free(ok);
            return -1;
        }
    } else {
        uint64_t all = m < 2 ? 0 : (uint64_t)m * (m - 1) / 2;
        if (opt->pairs && opt->across_dirs) {
            all = 0; /* the eligible pairs: sampling needs their number */
            for (size_t i = 0; i < m; i++)
                for (size_t j = i + 1; j < m; j++)
                    all += !same_dir(ok[i], ok[j]);
        }
        if (opt->pairs == 0 || opt->pairs >= all) {
            for (size_t i = 0; i < m; i++)
                for (size_t j = i + 1; j < m; j++)
                    if (!opt->across_dirs || !same_dir(ok[i], ok[j]))
                        count_pair(res, ok[i], ok[j]);
        } else {
            /* Uniform over the eligible distinct pairs, with replacement
             * (pairs within one directory are redrawn with --across-dirs). */
            uint64_t state = opt->seed;
            for (uint64_t s = 0; s < opt->pairs;) {
                uint64_t i = uniform_below(&state, m), j = uniform_below(&state, m - 1);
                if (j >= i)
                    j++;
                if (opt->across_dirs && same_dir(ok[i], ok[j]))
                    continue;
                if (i < j)
                    count_pair(res, ok[i], ok[j]);
                else
                    count_pair(res, ok[j], ok[i]);
                s++;
            }
        }
    }

    if (set->mode == BENCH_ROBUST)
        for (size_t i = 0; i < m; i++)
            for (int t = 0; t < BENCH_TRANSFORMS; t++) {
                if (ok[i]->robust[t][0] == BENCH_DIST_FAILED) {
                    res->robust_failed[t]++;
                    continue;
                }
                for (int a = 0; a < ALG_COUNT; a++) {
                    uint16_t d = ok[i]->robust[t][a];
                    if (d > bench_alg_bits(a))
                        continue;
                    res->robust_hist[t][a][d]++;
                    res->robust_images[t][a]++;
                }
            }
    free(ok);
    return 0;
}
