/* Reads the pair histograms back from a `clientscan bench fpr --json`
 * document, so that `bench robust --fpr FILE` can set its thresholds from a
 * larger (or different) corpus. A small strict JSON walker: it checks the
 * whole document's syntax and keeps only "mode", "pairs"."count" and the
 * arrays under "pair_histograms". */
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_JSON_BYTES (64u << 20)
#define MAX_DEPTH 32

typedef struct {
    const char *p, *end;
    const char *why;
    bench_result *res;
    bool have_count, have_hist[ALG_COUNT], mode_fpr;
    uint64_t hist_len[ALG_COUNT];
} walker;

static void ws(walker *w)
{
    while (w->p < w->end && (*w->p == ' ' || *w->p == '\n' || *w->p == '\r' || *w->p == '\t'))
        w->p++;
}

static bool fail(walker *w, const char *why)
{
    if (!w->why)
        w->why = why;
    return false;
}

/* A string into buf (truncated to cap-1; escapes kept literally except \"
 * and \\, enough for the keys we look for). */
static bool string(walker *w, char *buf, size_t cap)
{
    if (w->p >= w->end || *w->p != '"')
        return fail(w, "expected a string");
    w->p++;
    size_t n = 0;
    while (w->p < w->end && *w->p != '"') {
        char c = *w->p++;
        if ((unsigned char)c < 0x20)
            return fail(w, "control character in string");
        if (c == '\\') {
            if (w->p >= w->end)
                break;
            c = *w->p++;
            if (c == 'u') {
                for (int i = 0; i < 4; i++, w->p++)
                    if (w->p >= w->end || !strchr("0123456789abcdefABCDEF", *w->p))
                        return fail(w, "bad \\u escape");
                c = '?';
            } else if (!strchr("\"\\/bfnrt", c)) {
                return fail(w, "bad escape");
            }
        }
        if (n + 1 < cap)
            buf[n++] = c;
    }
    if (w->p >= w->end)
        return fail(w, "unterminated string");
    w->p++;
    buf[n] = '\0';
    return true;
}

static bool number(walker *w, double *out)
{
    const char *s = w->p;
    if (s < w->end && *s == '-')
        s++;
    if (s >= w->end || *s < '0' || *s > '9')
        return fail(w, "expected a number");
    while (s < w->end && strchr("0123456789.eE+-", *s))
        s++;
    char buf[64];
    size_t len = (size_t)(s - w->p);
    if (len >= sizeof buf)
        return fail(w, "number too long");
    memcpy(buf, w->p, len);
    buf[len] = '\0';
    char *end;
    *out = strtod(buf, &end);
    if (*end || !isfinite(*out))
        return fail(w, "bad number");
    w->p = s;
    return true;
}

static bool literal(walker *w, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(w->end - w->p) < n || memcmp(w->p, word, n) != 0)
        return fail(w, "unexpected character");
    w->p += n;
    return true;
}

/* where: 0 elsewhere, 1 top level, 2 inside "pairs", 3 inside
 * "pair_histograms", 4 + alg inside that algorithm's array. */
static bool value(walker *w, int depth, int where);

static bool object(walker *w, int depth, int where)
{
    w->p++; /* { */
    ws(w);
    if (w->p < w->end && *w->p == '}') {
        w->p++;
        return true;
    }
    for (;;) {
        char key[64];
        ws(w);
        if (!string(w, key, sizeof key))
            return false;
        ws(w);
        if (w->p >= w->end || *w->p++ != ':')
            return fail(w, "expected ':'");
        ws(w);
        int inner = 0;
        if (where == 1 && strcmp(key, "pairs") == 0)
            inner = 2;
        else if (where == 1 && strcmp(key, "pair_histograms") == 0)
            inner = 3;
        else if (where == 3)
            for (int a = 0; a < ALG_COUNT; a++)
                if (strcmp(key, bench_alg_name(a)) == 0)
                    inner = 4 + a;
        if (where == 1 && strcmp(key, "mode") == 0) {
            char mode[16];
            if (!string(w, mode, sizeof mode))
                return false;
            w->mode_fpr = strcmp(mode, "fpr") == 0;
        } else if (where == 2 && strcmp(key, "count") == 0) {
            double v;
            if (!number(w, &v))
                return false;
            if (v < 0 || v > 1e18 || v != floor(v))
                return fail(w, "bad pair count");
            w->res->pairs = (uint64_t)v;
            w->have_count = true;
        } else if (!value(w, depth + 1, inner)) {
            return false;
        }
        ws(w);
        if (w->p < w->end && *w->p == ',') {
            w->p++;
            continue;
        }
        if (w->p < w->end && *w->p == '}') {
            w->p++;
            return true;
        }
        return fail(w, "expected ',' or '}'");
    }
}

static bool array(walker *w, int depth, int where)
{
    w->p++; /* [ */
    int alg = where >= 4 ? where - 4 : -1;
    uint64_t n = 0;
    ws(w);
    if (w->p < w->end && *w->p == ']') {
        w->p++;
    } else {
        for (;;) {
            ws(w);
            if (alg >= 0) {
                double v;
                if (!number(w, &v))
                    return false;
                if (n > (uint64_t)bench_alg_bits(alg))
                    return fail(w, "histogram longer than the hash has bits");
                if (v < 0 || v > 1e18 || v != floor(v))
                    return fail(w, "histogram count is not a count");
                w->res->pair_hist[alg][n] = (uint64_t)v;
            } else if (!value(w, depth + 1, 0)) {
                return false;
            }
            n++;
            ws(w);
            if (w->p < w->end && *w->p == ',') {
                w->p++;
                continue;
            }
            if (w->p < w->end && *w->p == ']') {
                w->p++;
                break;
            }
            return fail(w, "expected ',' or ']'");
        }
    }
    if (alg >= 0) {
        w->have_hist[alg] = true;
        w->hist_len[alg] = n;
    }
    return true;
}

static bool value(walker *w, int depth, int where)
{
    if (depth > MAX_DEPTH)
        return fail(w, "nested too deeply");
    ws(w);
    if (w->p >= w->end)
        return fail(w, "unexpected end");
    char buf[8];
    double v;
    switch (*w->p) {
    case '{': return object(w, depth, where);
    case '[': return array(w, depth, where);
    case '"': return string(w, buf, sizeof buf);
    case 't': return literal(w, "true");
    case 'f': return literal(w, "false");
    case 'n': return literal(w, "null");
    default: return number(w, &v);
    }
}

int bench_load_fpr_json(const char *path, bench_result *res)
{
    uint8_t *data;
    size_t len;
    if (cli_read_file(path, MAX_JSON_BYTES, &data, &len) != 0)
        return -1;
    walker w = {.p = (const char *)data, .end = (const char *)data + len, .res = res};
    memset(res->pair_hist, 0, sizeof res->pair_hist);
    res->pairs = 0;
    ws(&w);
    bool ok = w.p < w.end && *w.p == '{' && value(&w, 0, 1);
    if (ok) {
        ws(&w);
        if (w.p != w.end)
            ok = fail(&w, "text after the document");
    }
    if (!ok && !w.why)
        w.why = "not a JSON object";
    if (ok && !w.mode_fpr)
        ok = fail(&w, "not the output of 'clientscan bench fpr --json'");
    for (int a = 0; ok && a < ALG_COUNT; a++)
        if (!w.have_hist[a] || w.hist_len[a] != (uint64_t)bench_alg_bits(a) + 1)
            ok = fail(&w, "pair_histograms incomplete");
    uint64_t sum = 0;
    for (int d = 0; ok && d <= BENCH_MAX_BITS; d++)
        sum += res->pair_hist[ALG_PDQ][d];
    if (ok && (!w.have_count || sum != res->pairs))
        ok = fail(&w, "pair count does not match the histograms");
    if (!ok) {
        cli_error("%s: byte %zu: %s", path, (size_t)(w.p - (const char *)data), w.why);
        free(data);
        return -1;
    }
    res->fpr_from_file = true;
    free(data);
    return 0;
}
