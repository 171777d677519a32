/* bench plots as plain SVG text (no library): FPR against threshold on a
 * log axis, distance histograms of unmatched pairs against matched
 * (original -> transformed) pairs, and recall per transform. */
#include "bench.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const colour[ALG_COUNT] = {"#1f77b4", "#17becf", "#d62728", "#2ca02c",
                                              "#ff7f0e"};

/* Plot area inside a W x H picture. */
enum { W = 760, H = 440, LEFT = 70, RIGHT = 170, TOP = 40, BOTTOM = 50 };
#define PW (W - LEFT - RIGHT)
#define PH (H - TOP - BOTTOM)

static FILE *svg_open(const char *dir, const char *name, char **path, const char *title, int h)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    *path = malloc(len);
    if (!*path)
        return NULL;
    snprintf(*path, len, "%s/%s", dir, name);
    FILE *f = fopen(*path, "w");
    if (!f) {
        cli_error("%s: %s", *path, strerror(errno));
        return NULL;
    }
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
            "<text x=\"%d\" y=\"22\" font-size=\"15\">%s</text>\n",
            W, h, W, h, LEFT, title);
    return f;
}

static int svg_close(FILE *f, char *path)
{
    fputs("</svg>\n", f);
    int rc = 0;
    if (ferror(f) | (fclose(f) != 0)) {
        cli_error("%s: write failed", path);
        rc = -1;
    }
    free(path);
    return rc;
}

static void frame(FILE *f, const char *xlabel, const char *ylabel)
{
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#444\"/>\n",
            LEFT, TOP, PW, PH);
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", LEFT + PW / 2,
            H - 12, xlabel);
    fprintf(f,
            "<text x=\"16\" y=\"%d\" text-anchor=\"middle\" transform=\"rotate(-90 16 %d)\">%s</text>\n",
            TOP + PH / 2, TOP + PH / 2, ylabel);
}

static void legend(FILE *f, const char *const *labels, const char *const *colours, int n)
{
    for (int i = 0; i < n; i++) {
        int y = TOP + 10 + 20 * i;
        fprintf(f,
                "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"10\" fill=\"%s\"/>"
                "<text x=\"%d\" y=\"%d\">%s</text>\n",
                LEFT + PW + 12, y, colours[i], LEFT + PW + 32, y + 10, labels[i]);
    }
}

static void x_ticks(FILE *f, double xmax)
{
    for (int i = 0; i <= 5; i++) {
        double v = xmax * i / 5;
        double x = LEFT + PW * (double)i / 5;
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#444\"/>"
                "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.2f</text>\n",
                x, TOP + PH, x, TOP + PH + 5, x, TOP + PH + 18, v);
    }
}

/* FPR against normalised threshold, log10 y from 10^lo to 1. */
static int plot_fpr(const char *dir, const bench_result *r)
{
    char *path;
    FILE *f = svg_open(dir, "fpr.svg", &path, "False-positive rate per pair vs threshold", H);
    if (!f)
        return free(path), -1;
    double xmax = 0.5;
    int lo = r->pairs > 0 ? -(int)ceil(log10((double)r->pairs)) : -6;
    frame(f, "threshold / hash bits", "FPR (log scale)");
    x_ticks(f, xmax);
    for (int e = lo; e <= 0; e++) {
        double y = TOP + PH * (double)(-e) / (-lo);
        fprintf(f,
                "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">1e%d</text>\n",
                LEFT, y, LEFT + PW, y, LEFT - 6, y + 4, e);
    }
    for (int a = 0; a < ALG_COUNT; a++) {
        int bits = bench_alg_bits(a);
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", colour[a]);
        for (int t = 0; t <= bits && (double)t / bits <= xmax; t++) {
            uint64_t k = bench_fpr_matches(r, a, t);
            if (k == 0 || r->pairs == 0)
                continue;
            double rate = (double)k / (double)r->pairs;
            double x = LEFT + PW * ((double)t / bits) / xmax;
            double y = TOP + PH * (-log10(rate)) / (-lo);
            fprintf(f, "%.1f,%.1f ", x, y);
        }
        fputs("\"/>\n", f);
    }
    const char *labels[ALG_COUNT];
    for (int a = 0; a < ALG_COUNT; a++)
        labels[a] = bench_alg_name(a);
    legend(f, labels, colour, ALG_COUNT);
    return svg_close(f, path);
}

/* Share of pairs per normalised distance: unmatched (distinct images) and,
 * in robust mode, matched (every transform pooled). */
static int plot_hist(const char *dir, const bench_result *r, int a)
{
    char name[64], title[128];
    snprintf(name, sizeof name, "distances-%s.svg", bench_alg_name(a));
    snprintf(title, sizeof title, "%s: distance distribution, matched vs unmatched pairs",
             bench_alg_name(a));
    char *path;
    FILE *f = svg_open(dir, name, &path, title, H);
    if (!f)
        return free(path), -1;
    int bits = bench_alg_bits(a);
    uint64_t matched[BENCH_MAX_BITS + 1] = {0}, n_matched = 0;
    if (r->mode == BENCH_ROBUST)
        for (int t = 0; t < BENCH_TRANSFORMS; t++)
            for (int d = 0; d <= bits; d++) {
                matched[d] += r->robust_hist[t][a][d];
                n_matched += r->robust_hist[t][a][d];
            }
    const uint64_t *series[2] = {r->pair_hist[a], matched};
    uint64_t totals[2] = {r->pairs, n_matched};
    double ymax = 0;
    for (int s = 0; s < 2; s++)
        for (int d = 0; d <= bits && totals[s]; d++)
            ymax = fmax(ymax, (double)series[s][d] / (double)totals[s]);
    if (ymax <= 0)
        ymax = 1;
    frame(f, "distance / hash bits", "share of pairs");
    x_ticks(f, 1.0);
    for (int i = 0; i <= 4; i++) {
        double y = TOP + PH - PH * (double)i / 4;
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.3g</text>\n", LEFT - 6, y + 4,
                ymax * i / 4);
    }
    const char *cols[2] = {"#7f7f7f", colour[a]};
    for (int s = 0; s < 2; s++) {
        if (!totals[s])
            continue;
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"", cols[s]);
        for (int d = 0; d <= bits; d++) {
            double share = (double)series[s][d] / (double)totals[s];
            double x0 = LEFT + PW * (double)d / (bits + 1), x1 = LEFT + PW * (double)(d + 1) / (bits + 1);
            double y = TOP + PH - PH * share / ymax;
            fprintf(f, "%.1f,%.1f %.1f,%.1f ", x0, y, x1, y);
        }
        fputs("\"/>\n", f);
    }
    int thr = bench_default_threshold(a);
    double xt = LEFT + PW * (double)(thr + 1) / (bits + 1);
    fprintf(f,
            "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#000\" stroke-dasharray=\"4 3\"/>"
            "<text x=\"%.1f\" y=\"%d\">t=%d</text>\n",
            xt, TOP, xt, TOP + PH, xt + 3, TOP + 12, thr);
    const char *labels[2] = {"unmatched (distinct images)", "matched (transformed copy)"};
    legend(f, labels, cols, r->mode == BENCH_ROBUST ? 2 : 1);
    return svg_close(f, path);
}

/* Recall per transform at the FPR target's thresholds: grouped bars. */
static int plot_recall(const char *dir, const bench_result *r)
{
    int row = 6 * ALG_COUNT / 2 + 8, h = TOP + BOTTOM + BENCH_TRANSFORMS * row;
    char title[128];
    snprintf(title, sizeof title, "Recall per transform at pair FPR &lt;= %.3g", r->target_fpr);
    char *path;
    FILE *f = svg_open(dir, "recall.svg", &path, title, h);
    if (!f)
        return free(path), -1;
    int left = 100, width = W - left - RIGHT;
    int thr[ALG_COUNT];
    for (int a = 0; a < ALG_COUNT; a++)
        thr[a] = bench_threshold_at(r, a, r->target_fpr);
    for (int i = 0; i <= 4; i++) {
        double x = left + width * (double)i / 4;
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>"
                "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.2f</text>\n",
                x, TOP, x, h - BOTTOM, x, h - BOTTOM + 16, (double)i / 4);
    }
    for (int t = 0; t < BENCH_TRANSFORMS; t++) {
        int y0 = TOP + t * row;
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n", left - 6,
                y0 + row / 2 + 4, clientscan_transform_name((clientscan_transform)t));
        for (int a = 0; a < ALG_COUNT; a++) {
            uint64_t n = r->robust_images[t][a], k = 0;
            for (int d = 0; d <= thr[a] && d <= bench_alg_bits(a); d++)
                k += r->robust_hist[t][a][d];
            double rec = n ? (double)k / (double)n : 0;
            fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"3\" fill=\"%s\"/>\n", left,
                    y0 + 4 + a * 3, width * rec, colour[a]);
        }
    }
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">recall</text>\n", left + width / 2,
            h - 12);
    const char *labels[ALG_COUNT];
    for (int a = 0; a < ALG_COUNT; a++)
        labels[a] = bench_alg_name(a);
    legend(f, labels, colour, ALG_COUNT);
    return svg_close(f, path);
}

int bench_write_svg(const char *dir, const bench_result *r)
{
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        cli_error("%s: %s", dir, strerror(errno));
        return -1;
    }
    if (plot_fpr(dir, r) != 0)
        return -1;
    for (int a = 0; a < ALG_COUNT; a++)
        if (plot_hist(dir, r, a) != 0)
            return -1;
    if (r->mode == BENCH_ROBUST && plot_recall(dir, r) != 0)
        return -1;
    return 0;
}
