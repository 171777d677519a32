/* Kernel template, included by lib/pdq_filter.c once per instruction set.
 * The includer defines the 8-lane vector type V and its operations (v_load,
 * v_store, v_set1, v_add, v_sub, v_mul, v_divr: a / d given d, hi and lo of
 * a cs_pdq_divisor, v_transpose, v_load_transposed, v_luma3, v_luma4,
 * v_grey; v_luma3 reads V_LUMA3_BEFORE bytes before its pixels and
 * V_LUMA3_READ pixels), KATTR (function attributes) and NAME(x). The sweep
 * runs CS_PDQ_LANES = 16 sums side by side, and the DCT 16 sums per vector:
 * the includer may define a 16-lane type W with w_load, w_store, w_set1,
 * w_add, w_sub, w_mul and w_divr, else W is a pair of V. Every operation is
 * one IEEE single-precision operation per lane (v_divr, w_divr: as if one),
 * so all instantiations give identical bits. No include guard: included on
 * purpose several times. */

KATTR static void NAME(luma)(const uint8_t *src, uint32_t bpp, float *dst, size_t n)
{
    size_t x = 0;
    if (bpp == 4)
        for (; x + 8 <= n; x += 8)
            v_store(dst + x, v_luma4(src + 4 * x));
    else if (bpp == 3 && n >= V_LUMA3_READ) {
        /* v_luma3 may read past 8 pixels, and before them: the first 8 from a copy */
        uint8_t head[V_LUMA3_BEFORE + 3 * V_LUMA3_READ];
        memset(head, 0, V_LUMA3_BEFORE);
        memcpy(head + V_LUMA3_BEFORE, src, 3 * V_LUMA3_READ);
        v_store(dst, v_luma3(head + V_LUMA3_BEFORE));
        for (x = 8; x + V_LUMA3_READ <= n; x += 8)
            v_store(dst + x, v_luma3(src + 3 * x));
    }
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
        v_load_transposed(rows + x, stride, r);
        v_load_transposed(rows + 8 * stride + x, stride, q);
        for (int k = 0; k < 8; k++) {
            v_store(t + (x + (size_t)k) * CS_PDQ_LANES, r[k]);
            v_store(t + (x + (size_t)k) * CS_PDQ_LANES + 8, q[k]);
        }
    }
}

#ifndef W /* 16 lanes as two vectors of 8 */
typedef struct {
    V lo, hi;
} NAME(w16);
#define W NAME(w16)
KATTR static inline W NAME(w_load)(const float *p)
{
    return (W){v_load(p), v_load(p + 8)};
}
KATTR static inline void NAME(w_store)(float *p, W a)
{
    v_store(p, a.lo);
    v_store(p + 8, a.hi);
}
KATTR static inline W NAME(w_set1)(float f)
{
    return (W){v_set1(f), v_set1(f)};
}
KATTR static inline W NAME(w_add)(W a, W b)
{
    return (W){v_add(a.lo, b.lo), v_add(a.hi, b.hi)};
}
KATTR static inline W NAME(w_sub)(W a, W b)
{
    return (W){v_sub(a.lo, b.lo), v_sub(a.hi, b.hi)};
}
KATTR static inline W NAME(w_mul)(W a, W b)
{
    return (W){v_mul(a.lo, b.lo), v_mul(a.hi, b.hi)};
}
KATTR static inline W NAME(w_divr)(W a, W d, W hi, W lo)
{
    return (W){v_divr(a.lo, d.lo, hi.lo, lo.lo), v_divr(a.hi, d.hi, hi.hi, lo.hi)};
}
#define w_load NAME(w_load)
#define w_store NAME(w_store)
#define w_set1 NAME(w_set1)
#define w_add NAME(w_add)
#define w_sub NAME(w_sub)
#define w_mul NAME(w_mul)
#define w_divr NAME(w_divr)
#endif

/* A divisor in every lane. */
typedef struct {
    W d, hi, lo;
} NAME(wdiv);
#define wdiv NAME(wdiv)

KATTR static inline wdiv NAME(wdiv_of)(const cs_pdq_divisor *p)
{
    return (wdiv){w_set1(p->d), w_set1(p->hi), w_set1(p->lo)};
}

KATTR static inline W NAME(div_by)(W a, wdiv d)
{
    return w_divr(a, d.d, d.hi, d.lo);
}

/* R2's outputs at sampled column j (output column o, sums s): lanes
 * become rows of b->r2. */
KATTR static inline void NAME(emit_r2)(const cs_pdq_block *b, int j, W s, size_t o)
{
    float t[16];
    w_store(t, NAME(div_by)(s, NAME(wdiv_of)(&b->div_x[o])));
    for (int k = 0; k < 16; k++)
        b->r2[k][j] = t[k];
}

/* One step of 16 running sums over a lane-major buffer: sum = (sum +
 * column add) - column (add - w), the reference's order. */
#define SLIDE(s, add, sub) (s = w_sub(w_add(s, w_load(add)), w_load(sub)))

/* R2's running sums and where they are: a2 is the next C1 column to add. */
typedef struct {
    W s;
    size_t a2, next_emit; /* next_emit: the add that completes sample j */
    int j;
} NAME(r2_state);
#define r2_state NAME(r2_state)

KATTR static inline size_t NAME(next_emit)(const cs_pdq_block *b, const r2_state *r2)
{
    return r2->j < b->nsamples ? (size_t)b->sample_x[r2->j] + (size_t)b->h - 1 : SIZE_MAX;
}

/* Emits the samples that R2's add of column a2 completes (repeats allowed). */
KATTR static inline void NAME(emit_due)(const cs_pdq_block *b, r2_state *r2, size_t a2)
{
    for (; a2 == r2->next_emit; r2->next_emit = NAME(next_emit)(b, r2))
        NAME(emit_r2)(b, r2->j++, r2->s, a2 - ((size_t)b->h - 1));
}

/* The sixteen steps of R1 over chunk x1 (columns x1 .. x1 + 15), of C1
 * over chunk xc (the block's 16 rows) and of R2 over the next 16 columns
 * of C1's output, interleaved step by step so that the six running sums'
 * add-subtract chains overlap. R1's and C1's quotients go untransposed into
 * r1q (step k: rows 0..15 of column x1 + k) and c1q (step i: columns xc ..
 * xc + 15 of row i). same_div: each of R1 and C1 divides all 16 steps by
 * its step 0 divisor, loaded once. */
KATTR static inline __attribute__((always_inline)) void
NAME(chains)(const cs_pdq_block *b, bool with_r1, bool with_c1, bool with_r2, bool same_div,
             size_t x1, const float **r1add, ptrdiff_t r1back, W *r1, float *r1q, size_t xc,
             float *c1q, r2_state *r2)
{
    enum { L = CS_PDQ_LANES };
    const size_t mask = b->c1_cols - 1;
    W c1 = w_set1(0.0f);
    if (with_c1)
        c1 = w_load(b->sum1 + xc);
    const float *in = *r1add;
    /* Pointers are formed only where they point into their buffers: x1 may
     * be past the last chunk, and xc "before" the first (wrapped around). */
    const cs_pdq_divisor *div_x = with_r1 ? b->div_x + x1 : b->div_x;
    const float *add = with_c1 ? b->c1_add + xc : b->c1_add;
    const size_t add_stride = b->c1_add_stride;
    /* R2's 16 columns and those w before them: consecutive slots of the
     * ring, or of its mirror past the end; step k completes a sample when
     * it is the one at emit_k */
    const float *r2_add = b->c1_ring + (r2->a2 & mask) * L;
    const float *r2_sub = b->c1_ring + ((r2->a2 - (size_t)b->w) & mask) * L;
    size_t emit_k = r2->next_emit - r2->a2;
    const wdiv c1_div0 = NAME(wdiv_of)(&b->c1_div[0]);
    const wdiv r1_div0 = same_div ? NAME(wdiv_of)(&div_x[0]) : c1_div0;
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC unroll 16
#endif
    for (int k = 0; k < 16; k++) {
        if (with_r1) {
            SLIDE(*r1, in + k * L, in + k * L - r1back);
            w_store(r1q + k * 16, NAME(div_by)(*r1, same_div ? r1_div0 : NAME(wdiv_of)(&div_x[k])));
        }
        if (with_c1) {
            SLIDE(c1, add, b->c1_sub[k] + xc);
            add += add_stride;
            w_store(c1q + k * 16,
                    NAME(div_by)(c1, same_div ? c1_div0 : NAME(wdiv_of)(&b->c1_div[k])));
        }
        if (with_r2) {
            SLIDE(r2->s, r2_add + k * L, r2_sub + k * L);
            if ((size_t)k == emit_k) {
                NAME(emit_due)(b, r2, r2->a2 + (size_t)k);
                emit_k = r2->next_emit - r2->a2;
            }
        }
    }
    if (with_r1)
        in += 16 * L;
    if (with_r2)
        r2->a2 += 16;
    *r1add = in;
    if (with_c1)
        w_store(b->sum1 + xc, c1);
}

/* out[j * out_step + k] = q[k * 16 + j] for j, k < 16: the 16 x 16
 * transpose of 16 steps' quotients, as four 8 x 8 ones. */
KATTR static inline __attribute__((always_inline)) void
NAME(transpose_out)(const float *q, float *out, size_t out_step)
{
    for (int g = 0; g < 2; g++) /* steps 8g .. 8g + 7 */
        for (int h = 0; h < 2; h++) { /* lanes 8h .. 8h + 7 */
            V r[8];
            for (int k = 0; k < 8; k++)
                r[k] = v_load(q + (size_t)(8 * g + k) * 16 + 8 * h);
            v_transpose(r);
            for (int k = 0; k < 8; k++)
                v_store(out + (size_t)(8 * h + k) * out_step + 8 * g, r[k]);
        }
}

/* R1, C1 and R2 in one sweep over 16-column chunks, software-pipelined:
 * iteration x runs R1 on chunk x, C1 on chunk x - 16 (whose R1 rows the
 * previous iteration wrote) and R2 on chunk x - 32 (which C1 finished
 * then) with their steps interleaved, then transposes R1's quotients into
 * its rows and C1's into the lane-major ring. Run one stage after another,
 * each stage's two chains of dependent add-then-subtract steps left the
 * core waiting; six chains side by side keep it busy (12 MP, rows in
 * cache: 8.4 -> 7.7 ms). Everything a stage reads is still in L1. */
KATTR static void NAME(block)(const cs_pdq_block *b)
{
    enum { L = CS_PDQ_LANES };
    const size_t w = (size_t)b->w;
    const size_t h1 = (size_t)b->h - 1; /* an output lags its newest input by h - 1 */

    W r1 = w_set1(0.0f);
    const float *r1add = b->lum_t;
    const ptrdiff_t r1back = (ptrdiff_t)(w * L);
    if (r1add)
        for (size_t a = 0; a < h1; a++, r1add += L)
            SLIDE(r1, r1add, r1add - r1back);

    /* C1's output column c, lane-major, in a ring of c1_cols columns (a power
     * of two >= 2 w + 48): R2 subtracts column c - w a chunk after C1 wrote
     * the chunk of c, so at most w + 32 columns are live. It starts as +0
     * (what R2 subtracts before column 0: slots of negative columns are not
     * rewritten before they are read). A chunk's 16 columns are consecutive
     * slots; slots 0..15 are mirrored past the end, so any 16 consecutive
     * columns are too. */
    const size_t mask = b->c1_cols - 1;
#define C1_COL(c) (b->c1_ring + ((c) & mask) * L)
    memset(b->c1_ring, 0, (b->c1_cols + 16) * L * sizeof(float));
    /* the last add feeds the last sample */
    const size_t a2_end = (size_t)b->sample_x[b->nsamples - 1] + h1 + 1;
    r2_state r2 = {w_set1(0.0f), 0, 0, 0};
    r2.next_emit = NAME(next_emit)(b, &r2);
    float r1q[16 * 16], c1q[16 * 16];
    /* Iteration x: R1 on chunk x, C1 on chunk x - 16, R2 on chunk x - 32. */
    for (size_t x = 0; x <= b->ncols + 16; x += 16) {
        const bool with_r1 = b->lum_t && x < b->ncols;
        const bool with_c1 = x >= 16 && x - 16 < b->ncols;
        const size_t xc = x - 16, xr = x - 32;
        const bool with_r2 = x >= 32 && r2.a2 == xr && xr + 16 <= a2_end;
        const bool same_div = b->c1_same_div && x >= b->x_same_div && x + 16 <= b->x_same_div_end;
        if (with_r1 && with_c1 && with_r2 && same_div)
            NAME(chains)(b, true, true, true, true, x, &r1add, r1back, &r1, r1q, xc, c1q, &r2);
        else
            NAME(chains)(b, with_r1, with_c1, with_r2, false, x, &r1add, r1back, &r1, r1q, xc, c1q,
                         &r2);
        if (with_r1) /* r1q step k, lane j: row j, column x + k */
            NAME(transpose_out)(r1q, b->r1_row0 + x, b->r1_stride);
        if (!with_c1)
            continue;
        float *ring = C1_COL(xc);
        NAME(transpose_out)(c1q, ring, L); /* c1q step i, lane j: row i, column xc + j */
        /* Columns past the image's end hold padding arithmetic, and past the
         * last chunk nothing: R2 must add -0 there (x + -0 == x). */
        const bool last = xc + 16 == b->ncols;
        const size_t pad_end = last && a2_end > xc + 16 ? a2_end : xc + 16;
        for (size_t c = xc < b->n ? b->n : xc; c < pad_end; c++)
            for (int k = 0; k < L; k++)
                C1_COL(c)[k] = -0.0f;
        if (ring == b->c1_ring)
            memcpy(b->c1_ring + b->c1_cols * L, ring, 16 * L * sizeof(float));
    }
    /* What the chunked R2 did not reach: the shrinking tail past the last
     * chunk, and everything when samples end early. */
    while (r2.a2 < a2_end) {
        SLIDE(r2.s, C1_COL(r2.a2), C1_COL(r2.a2 - w));
        NAME(emit_due)(b, &r2, r2.a2++);
    }
#undef C1_COL
}

#undef SLIDE
#undef r2_state

KATTR static void NAME(divide)(const float *a, const cs_pdq_divisor *b, float *q, size_t n)
{
    const wdiv d = NAME(wdiv_of)(b);
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        w_store(q + i, NAME(div_by)(w_load(a + i), d));
    if (i < n) {
        float t[16] = {0};
        memcpy(t, a + i, (n - i) * sizeof(float));
        w_store(t, NAME(div_by)(w_load(t), d));
        memcpy(q + i, t, (n - i) * sizeof(float));
    }
}

/* B = D A D^T for the 16 x 64 DCT matrix D and the 64 x 64 grid A, keeping
 * only what is needed: T = D A (16 x 64), then B = T D^T. Each of the sums
 * adds one rounded product at a time over k ascending from zero, as the
 * reference does; a vector holds 16 of them side by side (16 columns of a
 * row of T, a row of B), all of T's row or all of B live at once. */
KATTR static void NAME(dct)(const cs_pdq_dct_tables *m, const float a[64][64], float b[16][16])
{
    float t[16][64];
    for (int i = 0; i < 16; i++) {
        W s[4] = {w_set1(0.0f), w_set1(0.0f), w_set1(0.0f), w_set1(0.0f)};
        for (int k = 0; k < 64; k++) {
            const W dik = w_set1(m->d[i][k]);
            for (int q = 0; q < 4; q++)
                s[q] = w_add(s[q], w_mul(dik, w_load(&a[k][16 * q])));
        }
        for (int q = 0; q < 4; q++)
            w_store(&t[i][16 * q], s[q]);
    }
    W s[16];
    for (int i = 0; i < 16; i++)
        s[i] = w_set1(0.0f);
    for (int k = 0; k < 64; k++) {
        const W dk = w_load(m->d_t[k]); /* D[0..15][k] */
        for (int i = 0; i < 16; i++)
            s[i] = w_add(s[i], w_mul(w_set1(t[i][k]), dk));
    }
    for (int i = 0; i < 16; i++)
        w_store(b[i], s[i]);
}

#undef wdiv
#undef W
#undef w_load
#undef w_store
#undef w_set1
#undef w_add
#undef w_sub
#undef w_mul
#undef w_divr

/* The template's parameters, undefined so the next instantiation sets them. */
#undef V
#undef v_load
#undef v_store
#undef v_set1
#undef v_add
#undef v_sub
#undef v_mul
#undef v_divr
#undef v_transpose
#undef v_load_transposed
#undef v_luma3
#undef V_LUMA3_READ
#undef V_LUMA3_BEFORE
#undef v_luma4
#undef v_grey
#undef KATTR
#undef NAME
