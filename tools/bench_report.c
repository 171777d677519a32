/* bench outputs: the human tables, the JSON document and the CSV files,
 * all derived from one bench_result. Rates come from the histograms at
 * print time, so every output of a run (or of a merge) agrees. */
#include "bench.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const double list_sizes[] = {1e4, 1e5, 1e6, 1e7};
#define N_LIST (sizeof list_sizes / sizeof list_sizes[0])
static const double account_images[] = {1e3, 1e4, 1e5};
static const unsigned account_reports[] = {1, 3, 10};
static const int rows256[] = {0, 8, 16, 24, 31, 40, 48, 56, 64, 72, 80, 90, 100, 112, 128};
static const int rows64[] = {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 28, 32};
#define N_ROWS (sizeof rows256 / sizeof rows256[0])

int bench_default_threshold(int alg)
{
    return bench_alg_bits(alg) == 256 ? CLIENTSCAN_PDQ_MATCH_THRESHOLD : 8;
}

uint64_t bench_fpr_matches(const bench_result *r, int alg, int t)
{
    uint64_t k = 0;
    for (int d = 0; d <= t && d <= bench_alg_bits(alg); d++)
        k += r->pair_hist[alg][d];
    return k;
}

static void fpr_at(const bench_result *r, int alg, int t, double *rate, double *lo, double *hi)
{
    uint64_t k = bench_fpr_matches(r, alg, t);
    if (r->pairs == 0) {
        *rate = *lo = 0;
        *hi = 1;
        return;
    }
    *rate = (double)k / (double)r->pairs;
    clientscan_wilson_interval(k, r->pairs, lo, hi);
}

int bench_threshold_at(const bench_result *r, int alg, double target)
{
    int best = -1;
    for (int t = 0; t <= bench_alg_bits(alg); t++) {
        double rate, lo, hi;
        fpr_at(r, alg, t, &rate, &lo, &hi);
        if (r->pairs == 0 || rate > target)
            break;
        best = t;
    }
    return best;
}

static double any_of(double p, double l)
{
    double v = 0;
    clientscan_prob_at_least_one(p, l, &v);
    return v;
}

static double account(double p_image, double n, unsigned t)
{
    double v = 0;
    clientscan_binomial_tail((uint64_t)n, p_image, t, &v);
    return v;
}

static uint64_t tp_within(const bench_result *r, int tr, int alg, int t)
{
    uint64_t k = 0;
    for (int d = 0; d <= t && d <= bench_alg_bits(alg); d++)
        k += r->robust_hist[tr][alg][d];
    return k;
}

static double recall(const bench_result *r, int tr, int alg, int t)
{
    uint64_t n = r->robust_images[tr][alg];
    return n && t >= 0 ? (double)tp_within(r, tr, alg, t) / (double)n : 0;
}

/* Smallest d with at least q of the mass at or below it. */
static int quantile(const bench_result *r, int tr, int alg, double q)
{
    uint64_t n = r->robust_images[tr][alg], acc = 0;
    if (n == 0)
        return -1;
    for (int d = 0; d <= bench_alg_bits(alg); d++) {
        acc += r->robust_hist[tr][alg][d];
        if ((double)acc >= q * (double)n)
            return d;
    }
    return bench_alg_bits(alg);
}

static const char *tname(int t)
{
    return clientscan_transform_name((clientscan_transform)t);
}

/* ---------------------------------------------------------------- human */

static void print_corpus(FILE *out, const bench_result *r)
{
    fprintf(out, "corpus: %llu files, %llu decoded, %llu undecodable\n",
            (unsigned long long)r->files, (unsigned long long)(r->files - r->undecodable),
            (unsigned long long)r->undecodable);
    fprintf(out, "dropped: ");
    if (r->min_quality > 0)
        fprintf(out, "%llu of PDQ quality < %d, ", (unsigned long long)r->dropped_quality,
                r->min_quality);
    fprintf(out, "%llu exact byte duplicates", (unsigned long long)r->dropped_exact);
    if (r->dedup >= 0)
        fprintf(out, ", %llu near duplicates (PDQ distance <= %d)",
                (unsigned long long)r->dropped_near, r->dedup);
    fprintf(out, "\ndistinct images: %llu\n", (unsigned long long)r->distinct);
    if (r->fpr_from_file)
        fprintf(out, "pairs: %llu (from the --fpr file)\n", (unsigned long long)r->pairs);
    else if (r->pairs_requested && r->pairs == r->pairs_requested)
        fprintf(out, "pairs: %llu sampled uniformly (seed %llu)%s\n", (unsigned long long)r->pairs,
                (unsigned long long)r->seed, r->across_dirs ? ", images in different directories" : "");
    else
        fprintf(out, "pairs: %llu (every distinct pair%s)\n", (unsigned long long)r->pairs,
                r->across_dirs ? " of images in different directories" : "");
}

static void print_fpr_tables(FILE *out, const bench_result *r)
{
    fprintf(out, "\nFalse-positive rate per pair of distinct images at distance <= t, with its\n"
                 "95%% Wilson interval, and P(an innocent image matches at least one of L\n"
                 "list entries) = 1-(1-p)^L computed from the interval's upper bound.\n");
    for (int a = 0; a < ALG_COUNT; a++) {
        int bits = bench_alg_bits(a);
        fprintf(out, "\n%s (%d bits)\n%5s %7s %10s %10s  %-21s", bench_alg_name(a), bits, "t",
                "t/bits", "matches", "FPR", "95% interval");
        for (size_t l = 0; l < N_LIST; l++)
            fprintf(out, " %9s", l == 0 ? "L=1e4" : l == 1 ? "L=1e5" : l == 2 ? "L=1e6" : "L=1e7");
        fputc('\n', out);
        for (size_t i = 0; i < N_ROWS; i++) {
            int t = bits == 256 ? rows256[i] : rows64[i];
            double rate, lo, hi;
            fpr_at(r, a, t, &rate, &lo, &hi);
            char ci[48];
            snprintf(ci, sizeof ci, "[%.2g, %.2g]", lo, hi);
            fprintf(out, "%5d %7.3f %10llu %10.3g  %-21s", t, (double)t / bits,
                    (unsigned long long)bench_fpr_matches(r, a, t), rate, ci);
            for (size_t l = 0; l < N_LIST; l++)
                fprintf(out, " %9.3g", any_of(hi, list_sizes[l]));
            fputc('\n', out);
        }
    }
}

static void print_account(FILE *out, const bench_result *r)
{
    fprintf(out,
            "\nAccount view: P(an innocent account is reported in a year) when it sends n\n"
            "images a year and a report needs t matches, against a list of L entries.\n"
            "Per-image rate p = 1-(1-FPR)^L at the default threshold, from the FPR's 95%%\n"
            "upper bound (the point estimate in parentheses); binomial tail in log space.\n");
    for (int a = 0; a < ALG_COUNT; a++) {
        int thr = bench_default_threshold(a);
        double rate, lo, hi;
        fpr_at(r, a, thr, &rate, &lo, &hi);
        fprintf(out, "\n%s, distance <= %d (pair FPR %.3g, upper %.3g)\n%6s %9s %6s", bench_alg_name(a),
                thr, rate, hi, "L", "p", "n");
        for (size_t j = 0; j < 3; j++)
            fprintf(out, " %20s%-2u", "t = ", account_reports[j]);
        fputc('\n', out);
        for (size_t l = 0; l < N_LIST; l++) {
            double p_hi = any_of(hi, list_sizes[l]), p_pt = any_of(rate, list_sizes[l]);
            for (size_t i = 0; i < 3; i++) {
                if (i == 0)
                    fprintf(out, "%6.0e %9.3g", list_sizes[l], p_hi);
                else
                    fprintf(out, "%6s %9s", "", "");
                fprintf(out, " %6.0e", account_images[i]);
                for (size_t j = 0; j < 3; j++) {
                    char cell[48];
                    snprintf(cell, sizeof cell, "%.3g (%.3g)",
                             account(p_hi, account_images[i], account_reports[j]),
                             account(p_pt, account_images[i], account_reports[j]));
                    fprintf(out, " %22s", cell);
                }
                fputc('\n', out);
            }
        }
    }
}

static void print_robust(FILE *out, const bench_result *r)
{
    int thr[ALG_COUNT];
    fprintf(out, "\nRobustness: every distinct image transformed %d ways; a transformed copy\n"
                 "is found if its distance to the original is within the threshold.\n",
            BENCH_TRANSFORMS);
    fprintf(out, "Thresholds where the measured pair FPR is <= %.3g (%s, %llu pairs):\n",
            r->target_fpr, r->fpr_from_file ? "from the --fpr file" : "this corpus",
            (unsigned long long)r->pairs);
    for (int a = 0; a < ALG_COUNT; a++) {
        thr[a] = bench_threshold_at(r, a, r->target_fpr);
        if (thr[a] >= 0)
            fprintf(out, "  %-13s t = %d\n", bench_alg_name(a), thr[a]);
        else
            fprintf(out, "  %-13s none: even distance 0 is above the target (recall 0)\n",
                    bench_alg_name(a));
    }
    if (r->pairs > 0 && 1.0 / (double)r->pairs > r->target_fpr)
        fprintf(out, "  (too few pairs to resolve that rate: thresholds are not meaningful)\n");

    const char *titles[3] = {"Recall at the FPR target's thresholds",
                             "Recall at the default thresholds (PDQ 31, 64-bit hashes 8)",
                             "Median distance original -> transformed (bits)"};
    for (int table = 0; table < 3; table++) {
        fprintf(out, "\n%s\n%-10s", titles[table], "transform");
        for (int a = 0; a < ALG_COUNT; a++)
            fprintf(out, " %13s", bench_alg_name(a));
        fputc('\n', out);
        for (int t = 0; t < BENCH_TRANSFORMS; t++) {
            fprintf(out, "%-10s", tname(t));
            for (int a = 0; a < ALG_COUNT; a++) {
                if (table == 0)
                    fprintf(out, " %13.4f", recall(r, t, a, thr[a]));
                else if (table == 1)
                    fprintf(out, " %13.4f", recall(r, t, a, bench_default_threshold(a)));
                else
                    fprintf(out, " %13d", quantile(r, t, a, 0.5));
            }
            if (r->robust_failed[t])
                fprintf(out, "  (%llu failed)", (unsigned long long)r->robust_failed[t]);
            fputc('\n', out);
        }
    }
}

void bench_print_human(FILE *out, const bench_result *r)
{
    print_corpus(out, r);
    if (r->mode == BENCH_ROBUST) {
        print_robust(out, r);
        return;
    }
    print_fpr_tables(out, r);
    print_account(out, r);
}

/* ---------------------------------------------------------------- JSON */

static void json_u64_array(FILE *out, const uint64_t *v, int n)
{
    fputc('[', out);
    for (int i = 0; i < n; i++)
        fprintf(out, "%s%llu", i ? "," : "", (unsigned long long)v[i]);
    fputc(']', out);
}

void bench_print_json(FILE *out, const bench_result *r)
{
    fprintf(out, "{\"format\":\"clientscan-bench 1\",\"mode\":\"%s\",",
            r->mode == BENCH_ROBUST ? "robust" : "fpr");
    fprintf(out,
            "\"corpus\":{\"files\":%llu,\"undecodable\":%llu,\"exact_duplicates_dropped\":%llu,"
            "\"min_quality\":%d,\"low_quality_dropped\":%llu,\"near_duplicate_bits\":",
            (unsigned long long)r->files, (unsigned long long)r->undecodable,
            (unsigned long long)r->dropped_exact, r->min_quality,
            (unsigned long long)r->dropped_quality);
    if (r->dedup >= 0)
        fprintf(out, "%d", r->dedup);
    else
        fputs("null", out);
    fprintf(out, ",\"near_duplicates_dropped\":%llu,\"distinct_images\":%llu},",
            (unsigned long long)r->dropped_near, (unsigned long long)r->distinct);
    fprintf(out,
            "\"pairs\":{\"count\":%llu,\"requested\":%llu,\"seed\":%llu,\"across_dirs\":%s,"
            "\"source\":\"%s\"},",
            (unsigned long long)r->pairs, (unsigned long long)r->pairs_requested,
            (unsigned long long)r->seed, r->across_dirs ? "true" : "false",
            r->fpr_from_file ? "file" : "corpus");
    fputs("\"algorithms\":[", out);
    for (int a = 0; a < ALG_COUNT; a++)
        fprintf(out, "%s{\"name\":\"%s\",\"bits\":%d,\"default_threshold\":%d}", a ? "," : "",
                bench_alg_name(a), bench_alg_bits(a), bench_default_threshold(a));
    fputs("],\"pair_histograms\":{", out);
    for (int a = 0; a < ALG_COUNT; a++) {
        fprintf(out, "%s\"%s\":", a ? "," : "", bench_alg_name(a));
        json_u64_array(out, r->pair_hist[a], bench_alg_bits(a) + 1);
    }
    fputs("},\"fpr\":{", out);
    for (int a = 0; a < ALG_COUNT; a++) {
        fprintf(out, "%s\"%s\":[", a ? "," : "", bench_alg_name(a));
        for (int t = 0; t <= bench_alg_bits(a); t++) {
            double rate, lo, hi;
            fpr_at(r, a, t, &rate, &lo, &hi);
            fprintf(out, "%s{\"t\":%d,\"matches\":%llu,\"rate\":%.6g,\"ci95\":[%.6g,%.6g]}",
                    t ? "," : "", t, (unsigned long long)bench_fpr_matches(r, a, t), rate, lo, hi);
        }
        fputc(']', out);
    }
    fputs("},\"account\":[", out);
    bool first = true;
    for (int a = 0; a < ALG_COUNT; a++) {
        int thr = bench_default_threshold(a);
        double rate, lo, hi;
        fpr_at(r, a, thr, &rate, &lo, &hi);
        for (size_t l = 0; l < N_LIST; l++) {
            double p_hi = any_of(hi, list_sizes[l]), p_pt = any_of(rate, list_sizes[l]);
            for (size_t i = 0; i < 3; i++)
                for (size_t j = 0; j < 3; j++) {
                    fprintf(out,
                            "%s{\"algorithm\":\"%s\",\"threshold\":%d,\"list_size\":%.0f,"
                            "\"images_per_year\":%.0f,\"reports_needed\":%u,\"p_image\":%.6g,"
                            "\"p_image_upper\":%.6g,\"p_account\":%.6g,\"p_account_upper\":%.6g}",
                            first ? "" : ",", bench_alg_name(a), thr, list_sizes[l],
                            account_images[i], account_reports[j], p_pt, p_hi,
                            account(p_pt, account_images[i], account_reports[j]),
                            account(p_hi, account_images[i], account_reports[j]));
                    first = false;
                }
        }
    }
    fputc(']', out);
    if (r->mode == BENCH_ROBUST) {
        fprintf(out, ",\"robust\":{\"target_fpr\":%.6g,\"thresholds\":{", r->target_fpr);
        for (int a = 0; a < ALG_COUNT; a++)
            fprintf(out, "%s\"%s\":%d", a ? "," : "", bench_alg_name(a),
                    bench_threshold_at(r, a, r->target_fpr));
        fputs("},\"transforms\":{", out);
        for (int t = 0; t < BENCH_TRANSFORMS; t++) {
            fprintf(out, "%s\"%s\":{\"failed\":%llu", t ? "," : "", tname(t),
                    (unsigned long long)r->robust_failed[t]);
            for (int a = 0; a < ALG_COUNT; a++) {
                int thr = bench_threshold_at(r, a, r->target_fpr);
                fprintf(out,
                        ",\"%s\":{\"images\":%llu,\"median\":%d,\"p95\":%d,"
                        "\"recall_at_target\":%.6g,\"recall_at_default\":%.6g,\"histogram\":",
                        bench_alg_name(a), (unsigned long long)r->robust_images[t][a],
                        quantile(r, t, a, 0.5), quantile(r, t, a, 0.95), recall(r, t, a, thr),
                        recall(r, t, a, bench_default_threshold(a)));
                json_u64_array(out, r->robust_hist[t][a], bench_alg_bits(a) + 1);
                fputc('}', out);
            }
            fputc('}', out);
        }
        fputs("}}", out);
    }
    fputs("}\n", out);
}

/* ---------------------------------------------------------------- CSV */

static FILE *open_in(const char *dir, const char *name, char **path)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    *path = malloc(len);
    if (!*path)
        return NULL;
    snprintf(*path, len, "%s/%s", dir, name);
    FILE *f = fopen(*path, "w");
    if (!f)
        cli_error("%s: %s", *path, strerror(errno));
    return f;
}

static int close_checked(FILE *f, char *path)
{
    int rc = 0;
    if (ferror(f) | (fclose(f) != 0)) {
        cli_error("%s: write failed", path);
        rc = -1;
    }
    free(path);
    return rc;
}

int bench_write_csv(const char *dir, const bench_result *r)
{
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        cli_error("%s: %s", dir, strerror(errno));
        return -1;
    }
    char *path;
    FILE *f = open_in(dir, "fpr.csv", &path);
    if (!f)
        return free(path), -1;
    fputs("algorithm,bits,threshold,normalised,matches,pairs,fpr,ci95_low,ci95_high", f);
    for (size_t l = 0; l < N_LIST; l++)
        fprintf(f, ",list_%.0g_upper", list_sizes[l]);
    fputc('\n', f);
    for (int a = 0; a < ALG_COUNT; a++)
        for (int t = 0; t <= bench_alg_bits(a); t++) {
            double rate, lo, hi;
            fpr_at(r, a, t, &rate, &lo, &hi);
            fprintf(f, "%s,%d,%d,%.6f,%llu,%llu,%.6g,%.6g,%.6g", bench_alg_name(a),
                    bench_alg_bits(a), t, (double)t / bench_alg_bits(a),
                    (unsigned long long)bench_fpr_matches(r, a, t), (unsigned long long)r->pairs,
                    rate, lo, hi);
            for (size_t l = 0; l < N_LIST; l++)
                fprintf(f, ",%.6g", any_of(hi, list_sizes[l]));
            fputc('\n', f);
        }
    if (close_checked(f, path) != 0)
        return -1;

    f = open_in(dir, "pair_distances.csv", &path);
    if (!f)
        return free(path), -1;
    fputs("algorithm,distance,pairs\n", f);
    for (int a = 0; a < ALG_COUNT; a++)
        for (int d = 0; d <= bench_alg_bits(a); d++)
            fprintf(f, "%s,%d,%llu\n", bench_alg_name(a), d,
                    (unsigned long long)r->pair_hist[a][d]);
    if (close_checked(f, path) != 0)
        return -1;

    f = open_in(dir, "account.csv", &path);
    if (!f)
        return free(path), -1;
    fputs("algorithm,threshold,list_size,images_per_year,reports_needed,p_account,"
          "p_account_upper\n",
          f);
    for (int a = 0; a < ALG_COUNT; a++) {
        int thr = bench_default_threshold(a);
        double rate, lo, hi;
        fpr_at(r, a, thr, &rate, &lo, &hi);
        for (size_t l = 0; l < N_LIST; l++)
            for (size_t i = 0; i < 3; i++)
                for (size_t j = 0; j < 3; j++)
                    fprintf(f, "%s,%d,%.0f,%.0f,%u,%.6g,%.6g\n", bench_alg_name(a), thr,
                            list_sizes[l], account_images[i], account_reports[j],
                            account(any_of(rate, list_sizes[l]), account_images[i],
                                    account_reports[j]),
                            account(any_of(hi, list_sizes[l]), account_images[i],
                                    account_reports[j]));
    }
    if (close_checked(f, path) != 0)
        return -1;
    if (r->mode != BENCH_ROBUST)
        return 0;

    f = open_in(dir, "robust_tpr.csv", &path);
    if (!f)
        return free(path), -1;
    fputs("transform,algorithm,threshold,found,images,tpr,pair_fpr\n", f);
    for (int t = 0; t < BENCH_TRANSFORMS; t++)
        for (int a = 0; a < ALG_COUNT; a++)
            for (int d = 0; d <= bench_alg_bits(a); d++) {
                double rate, lo, hi;
                fpr_at(r, a, d, &rate, &lo, &hi);
                fprintf(f, "%s,%s,%d,%llu,%llu,%.6g,%.6g\n", tname(t), bench_alg_name(a), d,
                        (unsigned long long)tp_within(r, t, a, d),
                        (unsigned long long)r->robust_images[t][a], recall(r, t, a, d), rate);
            }
    if (close_checked(f, path) != 0)
        return -1;

    f = open_in(dir, "robust_summary.csv", &path);
    if (!f)
        return free(path), -1;
    fputs("transform,algorithm,images,failed,median,p95,threshold_at_target,recall_at_target,"
          "recall_at_default\n",
          f);
    for (int t = 0; t < BENCH_TRANSFORMS; t++)
        for (int a = 0; a < ALG_COUNT; a++) {
            int thr = bench_threshold_at(r, a, r->target_fpr);
            fprintf(f, "%s,%s,%llu,%llu,%d,%d,%d,%.6g,%.6g\n", tname(t), bench_alg_name(a),
                    (unsigned long long)r->robust_images[t][a],
                    (unsigned long long)r->robust_failed[t], quantile(r, t, a, 0.5),
                    quantile(r, t, a, 0.95), thr, recall(r, t, a, thr),
                    recall(r, t, a, bench_default_threshold(a)));
        }
    return close_checked(f, path);
}
