/* PDQ filter kernels: one template (lib/pdq_filter_body.h) instantiated for
 * portable C, SSE2, AVX2 and AVX-512, the fastest chosen at run time.
 *
 * Exactness: each v_ and w_ operation below is a single IEEE float
 * operation per lane (add, sub, mul, div, exact int->float conversion, or
 * data movement), and the build forbids contraction (-ffp-contract=off), so
 * every lane of every instantiation computes what the scalar reference
 * computes. The AVX2 and AVX-512 paths are not different algorithms: they
 * are the SSE2 one, 8 and 16 lanes wide.
 */
#include "pdq_filter.h"

#include <stdbool.h>
#include <string.h>

static const float luma_r = 0.299f;
static const float luma_g = 0.587f;
static const float luma_b = 0.114f;

/* The reference's luma, (0.299 R + 0.587 G) + 0.114 B in float; grey as is. */
static inline float luma_pixel(const uint8_t *p, uint32_t bpp)
{
    if (bpp == 1)
        return (float)p[0];
    return luma_r * (float)p[0] + luma_g * (float)p[1] + luma_b * (float)p[2];
}

/* ------------------------------------------------------------ portable C */

typedef struct {
    float v[8];
} vec8;

static inline vec8 gen_load(const float *p)
{
    vec8 r;
    memcpy(r.v, p, sizeof r.v);
    return r;
}
static inline void gen_store(float *p, vec8 a)
{
    memcpy(p, a.v, sizeof a.v);
}
static inline vec8 gen_set1(float f)
{
    vec8 r;
    for (int i = 0; i < 8; i++)
        r.v[i] = f;
    return r;
}
#define GEN_OP(name, op)                                                                          \
    static inline vec8 name(vec8 a, vec8 b)                                                       \
    {                                                                                             \
        for (int i = 0; i < 8; i++)                                                               \
            a.v[i] = a.v[i] op b.v[i];                                                            \
        return a;                                                                                 \
    }
GEN_OP(gen_add, +)
GEN_OP(gen_sub, -)
GEN_OP(gen_mul, *)
GEN_OP(gen_div, /)
#undef GEN_OP
static inline vec8 gen_divr(vec8 a, vec8 d, vec8 hi, vec8 lo)
{
    (void)hi; /* a divide instruction is exact already */
    (void)lo;
    return gen_div(a, d);
}
static inline void gen_transpose(vec8 r[8])
{
    vec8 t[8];
    for (int i = 0; i < 8; i++)
        for (int k = 0; k < 8; k++)
            t[i].v[k] = r[k].v[i];
    memcpy(r, t, sizeof t);
}
/* r[k] = column k of the 8x8 block whose row i is at p + i * stride. */
static inline void gen_load_transposed(const float *p, size_t stride, vec8 r[8])
{
    for (int k = 0; k < 8; k++)
        r[k] = gen_load(p + (size_t)k * stride);
    gen_transpose(r);
}
static inline vec8 gen_luma3(const uint8_t *p)
{
    vec8 r;
    for (int i = 0; i < 8; i++)
        r.v[i] = luma_pixel(p + 3 * i, 3);
    return r;
}
static inline vec8 gen_luma4(const uint8_t *p)
{
    vec8 r;
    for (int i = 0; i < 8; i++)
        r.v[i] = luma_pixel(p + 4 * i, 3);
    return r;
}
static inline vec8 gen_grey(const uint8_t *p)
{
    vec8 r;
    for (int i = 0; i < 8; i++)
        r.v[i] = (float)p[i];
    return r;
}

#define V vec8
#define v_load gen_load
#define v_store gen_store
#define v_set1 gen_set1
#define v_add gen_add
#define v_sub gen_sub
#define v_mul gen_mul
#define v_divr gen_divr
#define v_transpose gen_transpose
#define v_load_transposed gen_load_transposed
#define v_luma3 gen_luma3
#define V_LUMA3_BEFORE 0
#define V_LUMA3_READ 8
#define v_luma4 gen_luma4
#define v_grey gen_grey
#define KATTR
#define NAME(x) generic_##x
#include "pdq_filter_body.h"

static const cs_pdq_kernels generic_kernels = {"c", generic_luma, generic_transpose_in,
                                               generic_block, generic_divide, generic_dct};

/* ------------------------------------------------------------ SSE2 */
#if defined(__SSE2__) && (defined(__GNUC__) || defined(__clang__))
#define CS_PDQ_SSE2 1
#include <emmintrin.h>

/* 8 lanes as two 4-lane halves. */
typedef struct {
    __m128 lo, hi;
} sse8;

static inline sse8 sse_load(const float *p)
{
    return (sse8){_mm_loadu_ps(p), _mm_loadu_ps(p + 4)};
}
static inline void sse_store(float *p, sse8 a)
{
    _mm_storeu_ps(p, a.lo);
    _mm_storeu_ps(p + 4, a.hi);
}
static inline sse8 sse_set1(float f)
{
    return (sse8){_mm_set1_ps(f), _mm_set1_ps(f)};
}
static inline sse8 sse_add(sse8 a, sse8 b)
{
    return (sse8){_mm_add_ps(a.lo, b.lo), _mm_add_ps(a.hi, b.hi)};
}
static inline sse8 sse_sub(sse8 a, sse8 b)
{
    return (sse8){_mm_sub_ps(a.lo, b.lo), _mm_sub_ps(a.hi, b.hi)};
}
static inline sse8 sse_mul(sse8 a, sse8 b)
{
    return (sse8){_mm_mul_ps(a.lo, b.lo), _mm_mul_ps(a.hi, b.hi)};
}
static inline sse8 sse_div(sse8 a, sse8 b)
{
    return (sse8){_mm_div_ps(a.lo, b.lo), _mm_div_ps(a.hi, b.hi)};
}
static inline sse8 sse_divr(sse8 a, sse8 d, sse8 hi, sse8 lo)
{
    (void)hi; /* without FMA, the divide instruction is the exact way */
    (void)lo;
    return sse_div(a, d);
}
static inline void sse_transpose4(__m128 *a, __m128 *b, __m128 *c, __m128 *d)
{
    __m128 t0 = _mm_unpacklo_ps(*a, *b), t1 = _mm_unpackhi_ps(*a, *b);
    __m128 t2 = _mm_unpacklo_ps(*c, *d), t3 = _mm_unpackhi_ps(*c, *d);
    *a = _mm_movelh_ps(t0, t2);
    *b = _mm_movehl_ps(t2, t0);
    *c = _mm_movelh_ps(t1, t3);
    *d = _mm_movehl_ps(t3, t1);
}
/* 8x8 as four 4x4 blocks; the off-diagonal blocks swap places. */
static inline void sse_transpose(sse8 r[8])
{
    sse_transpose4(&r[0].lo, &r[1].lo, &r[2].lo, &r[3].lo);
    sse_transpose4(&r[4].hi, &r[5].hi, &r[6].hi, &r[7].hi);
    sse_transpose4(&r[0].hi, &r[1].hi, &r[2].hi, &r[3].hi);
    sse_transpose4(&r[4].lo, &r[5].lo, &r[6].lo, &r[7].lo);
    for (int i = 0; i < 4; i++) {
        __m128 t = r[i].hi;
        r[i].hi = r[4 + i].lo;
        r[4 + i].lo = t;
    }
}
static inline void sse_load_transposed(const float *p, size_t stride, sse8 r[8])
{
    for (int k = 0; k < 8; k++)
        r[k] = sse_load(p + (size_t)k * stride);
    sse_transpose(r);
}
static inline __m128 sse_luma_4px(const uint8_t *p)
{
    const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    const __m128i m = _mm_set1_epi32(0xff);
    const __m128 r = _mm_cvtepi32_ps(_mm_and_si128(v, m));
    const __m128 g = _mm_cvtepi32_ps(_mm_and_si128(_mm_srli_epi32(v, 8), m));
    const __m128 b = _mm_cvtepi32_ps(_mm_and_si128(_mm_srli_epi32(v, 16), m));
    return _mm_add_ps(_mm_add_ps(_mm_mul_ps(_mm_set1_ps(luma_r), r),
                                 _mm_mul_ps(_mm_set1_ps(luma_g), g)),
                      _mm_mul_ps(_mm_set1_ps(luma_b), b));
}
static inline __m128 sse_luma_3x4px(const uint8_t *p)
{
    const __m128 r = _mm_setr_ps((float)p[0], (float)p[3], (float)p[6], (float)p[9]);
    const __m128 g = _mm_setr_ps((float)p[1], (float)p[4], (float)p[7], (float)p[10]);
    const __m128 b = _mm_setr_ps((float)p[2], (float)p[5], (float)p[8], (float)p[11]);
    return _mm_add_ps(_mm_add_ps(_mm_mul_ps(_mm_set1_ps(luma_r), r),
                                 _mm_mul_ps(_mm_set1_ps(luma_g), g)),
                      _mm_mul_ps(_mm_set1_ps(luma_b), b));
}
static inline sse8 sse_luma3(const uint8_t *p)
{
    return (sse8){sse_luma_3x4px(p), sse_luma_3x4px(p + 12)};
}
static inline sse8 sse_luma4(const uint8_t *p)
{
    return (sse8){sse_luma_4px(p), sse_luma_4px(p + 16)};
}
static inline sse8 sse_grey(const uint8_t *p)
{
    const __m128i z = _mm_setzero_si128();
    const __m128i v16 = _mm_unpacklo_epi8(_mm_loadl_epi64((const __m128i *)(const void *)p), z);
    return (sse8){_mm_cvtepi32_ps(_mm_unpacklo_epi16(v16, z)),
                  _mm_cvtepi32_ps(_mm_unpackhi_epi16(v16, z))};
}

#define V sse8
#define v_load sse_load
#define v_store sse_store
#define v_set1 sse_set1
#define v_add sse_add
#define v_sub sse_sub
#define v_mul sse_mul
#define v_divr sse_divr
#define v_transpose sse_transpose
#define v_load_transposed sse_load_transposed
#define v_luma3 sse_luma3
#define V_LUMA3_BEFORE 0
#define V_LUMA3_READ 8
#define v_luma4 sse_luma4
#define v_grey sse_grey
#define KATTR
#define NAME(x) sse2_##x
#include "pdq_filter_body.h"

static const cs_pdq_kernels sse2_kernels = {"sse2", sse2_luma, sse2_transpose_in, sse2_block,
                                            sse2_divide, sse2_dct};
#endif

/* ------------------------------------------------------------ AVX2 + FMA */
/* Compiled with a target attribute and chosen only when the CPU has AVX2
 * and FMA, so the baseline build still runs on any x86-64. */
#if defined(CS_PDQ_SSE2) && (defined(__x86_64__) || defined(__i386__))
#define CS_PDQ_AVX2 1
#include <immintrin.h>

#define AVX_FN static inline __attribute__((target("avx2,fma"), always_inline))

AVX_FN __m256 avx_load(const float *p)
{
    return _mm256_loadu_ps(p);
}
AVX_FN void avx_store(float *p, __m256 a)
{
    _mm256_storeu_ps(p, a);
}
AVX_FN __m256 avx_set1(float f)
{
    return _mm256_set1_ps(f);
}
AVX_FN __m256 avx_add(__m256 a, __m256 b)
{
    return _mm256_add_ps(a, b);
}
AVX_FN __m256 avx_sub(__m256 a, __m256 b)
{
    return _mm256_sub_ps(a, b);
}
AVX_FN __m256 avx_mul(__m256 a, __m256 b)
{
    return _mm256_mul_ps(a, b);
}
/* a / d correctly rounded with two operations instead of a divide instruction
 * (a 5-cycle-per-vector bottleneck of the filter): the fused multiply-add
 * rounds s = a hi + RN(a lo) once. With q = a / d, u = 2^-24: |hi + lo - 1/d|
 * <= u^2 / d and |RN(a lo) - a lo| <= u^2 (1 + u) |q|, so |s - q| < 2^-46.9
 * |q|. No rounding boundary lies that close to q: for |q| in [2^e, 2^(e+1)),
 * a and every midpoint between floats there are multiples of 2^(e-24), so q -
 * midpoint is a multiple of 2^(e-24) / d, and not 0 (a = d x midpoint would
 * be an odd number of at least 25 bits times a power of two, not a float).
 * That distance exceeds the error while d < 2^22, so RN(s) = RN(q), the IEEE
 * quotient (Brisebarre and Muller's correctly rounded multiplication by a
 * constant, here 1 / d). Where a lo underflows it is off by up to 2^-150
 * more, still inside the margin for d <= 2^13 and |q| >= 2^-112. The filter
 * stays there: sides <= CS_PDQ_MAX_SIDE give windows <= 2^13; lumas are
 * multiples of 2^-27, so R1's nonzero sums are >= 2^-27 and its quotients >=
 * 2^-40, multiples of 2^-63; C1's likewise >= 2^-63 and >= 2^-76 (multiples
 * of 2^-99); R2's >= 2^-99 and >= 2^-112. Sums stay near 255 x 2^13: nothing
 * overflows. Signs come out as IEEE division's, except that a = -0 may give
 * +0: the sums start at +0, and IEEE addition and subtraction never reach -0
 * from there (x + y is -0 only if both are -0, x - y only if x is). Scaling a
 * by a power of two scales every step exactly, so one binade of a per divisor
 * covers all a: test_pdq.c checks every float in [1, 2) against IEEE division
 * for each divisor up to 40, and random dividends for random divisors up to
 * 2^13. */
AVX_FN __m256 avx_divr(__m256 a, __m256 d, __m256 hi, __m256 lo)
{
    (void)d;
    return _mm256_fmadd_ps(a, hi, _mm256_mul_ps(a, lo));
}
AVX_FN void avx_transpose(__m256 r[8])
{
    const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    const __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    const __m256 s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
    const __m256 s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
    const __m256 s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 s7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
    r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
    r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}
/* r[k] = column k of the 8x8 block whose row i is at p + i * stride. The
 * loads pair row i with row i + 4 in the two halves of a vector, so only
 * 4x4 transposes inside the halves remain: 8 shuffles fewer than
 * avx_transpose on loaded rows, on a loop bound by its shuffles. */
AVX_FN void avx_load_transposed(const float *p, size_t stride, __m256 r[8])
{
    __m256 a[8];
    for (int i = 0; i < 4; i++)
        for (int h = 0; h < 2; h++) /* columns 4h .. 4h + 3 */
            a[4 * h + i] = _mm256_insertf128_ps(
                _mm256_castps128_ps256(_mm_loadu_ps(p + (size_t)i * stride + 4 * h)),
                _mm_loadu_ps(p + (size_t)(i + 4) * stride + 4 * h), 1);
    for (int h = 0; h < 2; h++) {
        const __m256 *b = a + 4 * h;
        const __m256 t0 = _mm256_unpacklo_ps(b[0], b[1]), t1 = _mm256_unpackhi_ps(b[0], b[1]);
        const __m256 t2 = _mm256_unpacklo_ps(b[2], b[3]), t3 = _mm256_unpackhi_ps(b[2], b[3]);
        r[4 * h + 0] = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
        r[4 * h + 1] = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
        r[4 * h + 2] = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
        r[4 * h + 3] = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
    }
}
/* Luma with each byte's conversion folded into its multiplication. Byte b
 * placed in bits 8..15 of 1.0f's pattern is f = 1 + b 2^-15 exactly, and
 * with k' = k 2^15 (exact) fma(k', f, -k') rounds k' (f - 1) = k b once: the
 * reference's k * (float)b bit for bit (+0 for b = 0). The deinterleaving
 * shuffle places the byte, so the conversions the add pipes shared with the
 * sums are gone (12 MP in L1: 1.56 -> 1.24 ms). */
AVX_FN __m256 avx_scaled_byte(__m256i placed, float k)
{
    return _mm256_fmadd_ps(_mm256_set1_ps(k * 32768.0f), _mm256_castsi256_ps(placed),
                           _mm256_set1_ps(-k * 32768.0f));
}
AVX_FN __m256 avx_luma_placed(__m256i r, __m256i g, __m256i b)
{
    return _mm256_add_ps(_mm256_add_ps(avx_scaled_byte(r, luma_r), avx_scaled_byte(g, luma_g)),
                         avx_scaled_byte(b, luma_b));
}
/* 8 RGB pixels from one load of bytes -4..27 (4 before the pixels and 4
 * past them): the low half holds pixels 0..3 at bytes 4..15, the high half
 * pixels 4..7 at 0..11 (a shuffle cannot cross halves). 1.0f's upper bytes
 * 0x80 0x3f overwrite two of each half's four other bytes, so one shuffle
 * per channel builds lane i = 1.0f with byte c of pixel i in byte 1. */
AVX_FN __m256 avx_luma3(const uint8_t *p)
{
    const __m256i v =
        _mm256_blend_epi32(_mm256_loadu_si256((const __m256i *)(const void *)(p - 4)),
                           _mm256_setr_epi32(0x3f80, 0, 0, 0, 0, 0, 0, 0x3f800000), 0x81);
#define PICK(c)                                                                                   \
    _mm256_shuffle_epi8(v, _mm256_setr_epi8(-1, c + 4, 0, 1, -1, c + 7, 0, 1, -1, c + 10, 0, 1, -1, \
                                            c + 13, 0, 1, -1, c, 14, 15, -1, c + 3, 14, 15, -1,    \
                                            c + 6, 14, 15, -1, c + 9, 14, 15))
    return avx_luma_placed(PICK(0), PICK(1), PICK(2));
#undef PICK
}
/* RGBX has no spare bytes: OR 1.0f in. */
AVX_FN __m256 avx_luma4(const uint8_t *p)
{
    const __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)p);
    const __m256i one = _mm256_set1_epi32(0x3f800000);
#define PICK(c)                                                                                   \
    _mm256_or_si256(one, _mm256_shuffle_epi8(v, _mm256_setr_epi8(-1, c, -1, -1, -1, c + 4, -1, -1,  \
                                                                 -1, c + 8, -1, -1, -1, c + 12, -1, \
                                                                 -1, -1, c, -1, -1, -1, c + 4, -1,  \
                                                                 -1, -1, c + 8, -1, -1, -1, c + 12, \
                                                                 -1, -1)))
    return avx_luma_placed(PICK(0), PICK(1), PICK(2));
#undef PICK
}
AVX_FN __m256 avx_grey(const uint8_t *p)
{
    return _mm256_cvtepi32_ps(
        _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)p)));
}

#define V __m256
#define v_load avx_load
#define v_store avx_store
#define v_set1 avx_set1
#define v_add avx_add
#define v_sub avx_sub
#define v_mul avx_mul
#define v_divr avx_divr
#define v_transpose avx_transpose
#define v_load_transposed avx_load_transposed
#define v_luma3 avx_luma3
#define V_LUMA3_BEFORE 4
#define V_LUMA3_READ 10
#define v_luma4 avx_luma4
#define v_grey avx_grey
#define KATTR __attribute__((target("avx2,fma")))
#define NAME(x) avx2_##x
#include "pdq_filter_body.h"

static const cs_pdq_kernels avx2_kernels = {"avx2", avx2_luma, avx2_transpose_in, avx2_block,
                                            avx2_divide, avx2_dct};

static bool have_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/* ------------------------------------------------------------ AVX-512 */
/* The AVX2 kernels with the sweep's 16 running sums in one 512-bit vector
 * instead of two 256-bit ones: the same operations on the same lanes, in
 * half the instructions. */
#define CS_PDQ_AVX512 1
#define AVX512_FN static inline __attribute__((target("avx2,fma,avx512f"), always_inline))

AVX512_FN __m512 avx512_load(const float *p)
{
    return _mm512_loadu_ps(p);
}
AVX512_FN void avx512_store(float *p, __m512 a)
{
    _mm512_storeu_ps(p, a);
}
AVX512_FN __m512 avx512_set1(float f)
{
    return _mm512_set1_ps(f);
}
AVX512_FN __m512 avx512_add(__m512 a, __m512 b)
{
    return _mm512_add_ps(a, b);
}
AVX512_FN __m512 avx512_sub(__m512 a, __m512 b)
{
    return _mm512_sub_ps(a, b);
}
AVX512_FN __m512 avx512_mul(__m512 a, __m512 b)
{
    return _mm512_mul_ps(a, b);
}
/* avx_divr's two operations (see there for why they are IEEE division) */
AVX512_FN __m512 avx512_divr(__m512 a, __m512 d, __m512 hi, __m512 lo)
{
    (void)d;
    return _mm512_fmadd_ps(a, hi, _mm512_mul_ps(a, lo));
}

#define V __m256
#define v_load avx_load
#define v_store avx_store
#define v_set1 avx_set1
#define v_add avx_add
#define v_sub avx_sub
#define v_mul avx_mul
#define v_divr avx_divr
#define v_transpose avx_transpose
#define v_load_transposed avx_load_transposed
#define v_luma3 avx_luma3
#define V_LUMA3_BEFORE 4
#define V_LUMA3_READ 10
#define v_luma4 avx_luma4
#define v_grey avx_grey
#define W __m512
#define w_load avx512_load
#define w_store avx512_store
#define w_set1 avx512_set1
#define w_add avx512_add
#define w_sub avx512_sub
#define w_mul avx512_mul
#define w_divr avx512_divr
#define KATTR __attribute__((target("avx2,fma,avx512f")))
#define NAME(x) avx512_##x
#include "pdq_filter_body.h"

static const cs_pdq_kernels avx512_kernels = {"avx512", avx512_luma, avx512_transpose_in,
                                              avx512_block, avx512_divide, avx512_dct};

static bool have_avx512(void)
{
    return have_avx2() && __builtin_cpu_supports("avx512f");
}
#endif

const cs_pdq_kernels *cs_pdq_kernels_best(void)
{
#ifdef CS_PDQ_AVX512
    if (have_avx512())
        return &avx512_kernels;
#endif
#ifdef CS_PDQ_AVX2
    if (have_avx2())
        return &avx2_kernels;
#endif
#ifdef CS_PDQ_SSE2
    return &sse2_kernels;
#else
    return &generic_kernels;
#endif
}

size_t cs_pdq_kernels_all(const cs_pdq_kernels **list, size_t max)
{
    size_t n = 0;
    if (n < max)
        list[n++] = &generic_kernels;
#ifdef CS_PDQ_SSE2
    if (n < max)
        list[n++] = &sse2_kernels;
#endif
#ifdef CS_PDQ_AVX2
    if (n < max && have_avx2())
        list[n++] = &avx2_kernels;
#endif
#ifdef CS_PDQ_AVX512
    if (n < max && have_avx512())
        list[n++] = &avx512_kernels;
#endif
    return n;
}
