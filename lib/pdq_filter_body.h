/* Kernel template, included by lib/pdq_filter.c once per instruction set.
 * The includer defines the 8-lane vector type V and its operations
 * (v_load, v_store, v_set1, v_add, v_sub, v_divr (a / d given d, hi, lo of a
 * cs_pdq_divisor), v_transpose, v_luma3,
 * v_luma4, v_grey; v_luma3 reads V_LUMA3_READ pixels), KATTR (function attributes) and NAME(x). Every v_ operation is
 * one IEEE single-precision operation per lane, so all instantiations give
 * identical bits. No include guard: included on purpose several times. */

KATTR static void NAME(luma)(const uint8_t *src, uint32_t bpp, float *dst, size_t n)
{
    size_t x = 0;
    if (bpp == 4)
        for (; x + 8 <= n; x += 8)
            v_store(dst + x, v_luma4(src + 4 * x));
    else if (bpp == 3)
        for (; x + V_LUMA3_READ <= n; x += 8) /* v_luma3 may read past 8 pixels */
            v_store(dst + x, v_luma3(src + 3 * x));
    else if (bpp == 1)
        for (; x + 8 <= n; x += 8)
            v_store(dst + x, v_grey(src + x));
    for (; x < n; x++)
        dst[x] = luma_pixel(src + x * bpp, bpp);
}

KATTR static void NAME(transpose_in)(const float *rows, size_t stride, size_t ncols, float *t)
{
    for (size_t x = 0; x < ncols; x += 8) {
        V r[8], q[8];
        for (int k = 0; k < 8; k++) {
            r[k] = v_load(rows + (size_t)k * stride + x);
            q[k] = v_load(rows + (size_t)(8 + k) * stride + x);
        }
        v_transpose(r);
        v_transpose(q);
        for (int k = 0; k < 8; k++) {
            v_store(t + (x + (size_t)k) * CS_PDQ_LANES, r[k]);
            v_store(t + (x + (size_t)k) * CS_PDQ_LANES + 8, q[k]);
        }
    }
}

/* R2's outputs at sampled column j (output column o, sums lo and hi):
 * lanes become rows of b->r2. */
KATTR static inline void NAME(emit_r2)(const cs_pdq_block *b, int j, V lo, V hi, size_t o)
{
    const cs_pdq_divisor *d = &b->div_x[o];
    const V dd = v_set1(d->d), dh = v_set1(d->hi), dl = v_set1(d->lo);
    float t[16];
    v_store(t, v_divr(lo, dd, dh, dl));
    v_store(t + 8, v_divr(hi, dd, dh, dl));
    for (int k = 0; k < 16; k++)
        b->r2[k][j] = t[k];
}

/* One step of two 8-lane running sums over a lane-major buffer:
 * sum = (sum + column add) - column (add - w), the reference's order. */
#define SLIDE2(s0, s1, add, sub)                                                                  \
    do {                                                                                          \
        s0 = v_sub(v_add(s0, v_load(add)), v_load(sub));                                          \
        s1 = v_sub(v_add(s1, v_load((add) + 8)), v_load((sub) + 8));                              \
    } while (0)

/* One R2 step over column a2 of C1's output; emits the samples it completes. */
#define R2_STEP()                                                                                 \
    do {                                                                                          \
        SLIDE2(r2a, r2b, C1_COL(a2), C1_COL(a2 - w));                                             \
        while (j < b->nsamples && (size_t)b->sample_x[j] + h1 == a2)                              \
            NAME(emit_r2)(b, j++, r2a, r2b, a2 - h1);                                             \
        a2++;                                                                                     \
    } while (0)

/* R1, C1 and R2 in one sweep over 16-column chunks: R1 writes a chunk of its
 * rows, C1 steps down those columns at once, R2 advances its sums over the
 * chunk C1 just produced. Each stage's data is still in L1 when the next
 * reads it. (Alternating R1's and R2's serial chains in one loop was
 * measured: no faster.) */
KATTR static void NAME(block)(const cs_pdq_block *b)
{
    enum { L = CS_PDQ_LANES };
    const size_t w = (size_t)b->w;
    const size_t h1 = (size_t)b->h - 1; /* an output lags its newest input by h - 1 */

    V r1a = v_set1(0.0f), r1b = v_set1(0.0f);
    const float *r1add = b->lum_t, *r1sub = NULL;
    if (r1add) {
        r1sub = r1add - w * L;
        for (size_t a = 0; a < h1; a++, r1add += L, r1sub += L)
            SLIDE2(r1a, r1b, r1add, r1sub);
    }

    V r2a = v_set1(0.0f), r2b = v_set1(0.0f);
    /* C1's output column c, lane-major, in a ring of c1_cols columns (a power
     * of two > 2 w + 32): R2 subtracts column c - w, so at most w + 16 columns
     * are live. It starts as +0 (what R2 subtracts before column 0: slots of
     * negative columns are not rewritten before they are read). */
    const size_t mask = b->c1_cols - 1;
#define C1_COL(c) (b->c1_ring + ((c) & mask) * L)
    memset(b->c1_ring, 0, b->c1_cols * L * sizeof(float));
    /* the last add feeds the last sample */
    const size_t a2_end = (size_t)b->sample_x[b->nsamples - 1] + h1 + 1;
    size_t a2 = 0;
    int j = 0;

    for (size_t x = 0; x < b->ncols; x += 16) {
        for (size_t xo = x; r1add && xo < x + 16; xo += 8) {
            V qa[8], qb[8];
            for (int k = 0; k < 8; k++, r1add += L, r1sub += L) {
                SLIDE2(r1a, r1b, r1add, r1sub);
                const cs_pdq_divisor *d = &b->div_x[xo + (size_t)k];
                const V dd = v_set1(d->d), dh = v_set1(d->hi), dl = v_set1(d->lo);
                qa[k] = v_divr(r1a, dd, dh, dl);
                qb[k] = v_divr(r1b, dd, dh, dl);
            }
            v_transpose(qa);
            v_transpose(qb);
            for (int k = 0; k < 8; k++) {
                v_store(b->r1_rows[k] + xo, qa[k]);
                v_store(b->r1_rows[8 + k] + xo, qb[k]);
            }
        }

        /* C1 on 16 columns as two independent 8-column sums (hides add latency). */
        V sa = v_load(b->sum1 + x), sb = v_load(b->sum1 + x + 8);
        for (int half = 0; half < 2; half++) {
            V qa[8], qb[8];
            for (int k = 0; k < 8; k++) {
                const int i = 8 * half + k;
                const float *add = b->c1_add[i] + x, *sub = b->c1_sub[i] + x;
                const cs_pdq_divisor *d = &b->c1_div[i];
                const V dd = v_set1(d->d), dh = v_set1(d->hi), dl = v_set1(d->lo);
                sa = v_sub(v_add(sa, v_load(add)), v_load(sub));
                sb = v_sub(v_add(sb, v_load(add + 8)), v_load(sub + 8));
                qa[k] = v_divr(sa, dd, dh, dl);
                qb[k] = v_divr(sb, dd, dh, dl);
            }
            v_transpose(qa);
            v_transpose(qb);
            for (int k = 0; k < 8; k++) {
                v_store(C1_COL(x + (size_t)k) + 8 * half, qa[k]);
                v_store(C1_COL(x + 8 + (size_t)k) + 8 * half, qb[k]);
            }
        }
        v_store(b->sum1 + x, sa);
        v_store(b->sum1 + x + 8, sb);
        /* Columns past the image's end hold padding arithmetic, and past the
         * last chunk nothing: R2 must add -0 there (x + -0 == x). */
        const bool last = x + 16 == b->ncols;
        const size_t pad_end = last && a2_end > x + 16 ? a2_end : x + 16;
        for (size_t c = x < b->n ? b->n : x; c < pad_end; c++)
            for (int k = 0; k < L; k++)
                C1_COL(c)[k] = -0.0f;
        while (a2 < x + 16 && a2 < a2_end)
            R2_STEP();
    }
    while (a2 < a2_end) /* the last chunk and the shrinking tail */
        R2_STEP();
#undef C1_COL
}

#undef SLIDE2
#undef R2_STEP

KATTR static void NAME(divide)(const float *a, const cs_pdq_divisor *b, float *q, size_t n)
{
    const V dd = v_set1(b->d), dh = v_set1(b->hi), dl = v_set1(b->lo);
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        v_store(q + i, v_divr(v_load(a + i), dd, dh, dl));
    if (i < n) {
        float t[8] = {0};
        memcpy(t, a + i, (n - i) * sizeof(float));
        v_store(t, v_divr(v_load(t), dd, dh, dl));
        memcpy(q + i, t, (n - i) * sizeof(float));
    }
}

/* The template's parameters, undefined so the next instantiation sets them. */
#undef V
#undef v_load
#undef v_store
#undef v_set1
#undef v_add
#undef v_sub
#undef v_divr
#undef v_transpose
#undef v_luma3
#undef V_LUMA3_READ
#undef v_luma4
#undef v_grey
#undef KATTR
#undef NAME
