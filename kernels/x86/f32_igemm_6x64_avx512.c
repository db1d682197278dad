/* f32_igemm_6x64_avx512.c - indirect GEMM tile, 6 rows x 64 columns, AVX-512.
 *
 * Register blocking: 6 rows x 4 zmm = 24 accumulators; per k, four loads of
 * the packed weight panel, 6 broadcasts of a[r][k], 24 FMAs: 10 loads per 24
 * FMAs (12x32 needs 14) and only 6 row pointers live in the loop, which
 * leaves the general registers free. Few rows take a 3-row body. The
 * epilogue (bias, residual, activation) runs on the accumulators; column
 * tails use opmasks, so nothing past nc columns or mr rows is written (and
 * no bias/slope/residual past nc is read). */
#include <immintrin.h>
#include "kernels.h"
#include "epilogue.h"

enum { MR = 6, NR = 64 };

static inline __m512 act16(__m512 y, int act, __m512 slope, __m512 lo, __m512 hi)
{
    switch (act) {
    case KERN_ACT_RELU:
        return _mm512_max_ps(_mm512_setzero_ps(), y);
    case KERN_ACT_PRELU: {
        const __mmask16 neg = _mm512_cmp_ps_mask(y, _mm512_setzero_ps(), _CMP_LT_OQ);
        return _mm512_mask_mul_ps(y, neg, y, slope);
    }
    case KERN_ACT_CLIP:
        return _mm512_min_ps(hi, _mm512_max_ps(lo, y));
    default:
        return y;
    }
}

static inline __mmask16 colmask(size_t nc, size_t v)
{
    const size_t lo = 16 * v;
    if (nc >= lo + 16)
        return (__mmask16)0xffff;
    if (nc <= lo)
        return (__mmask16)0;
    return (__mmask16)((1u << (nc - lo)) - 1);
}

/* Epilogue and masked store of rows < mr of acc[rows][4]. */
static inline void store_tile(size_t mr, size_t nc, __m512 acc[][4], float *c, size_t ldc,
                              const float *res, size_t ldr, const kern_epilogue *ep, size_t n0)
{
    __mmask16 m[4];
    __m512 b[4], s[4];
    for (size_t v = 0; v < 4; v++) {
        m[v] = colmask(nc, v);
        b[v] = ep->bias ? _mm512_maskz_loadu_ps(m[v], ep->bias + n0 + 16 * v) : _mm512_setzero_ps();
        s[v] = ep->act == KERN_ACT_PRELU ? _mm512_maskz_loadu_ps(m[v], ep->slope + n0 + 16 * v)
                                         : _mm512_setzero_ps();
    }
    const __m512 lo = _mm512_set1_ps(ep->lo), hi = _mm512_set1_ps(ep->hi);
    const int act = ep->act;
    for (size_t r = 0; r < mr; r++)
        for (size_t v = 0; v < 4; v++) {
            if (!m[v])
                break;
            __m512 y = _mm512_add_ps(acc[r][v], b[v]);
            if (res)
                y = _mm512_add_ps(y, _mm512_maskz_loadu_ps(m[v], res + r * ldr + 16 * v));
            _mm512_mask_storeu_ps(c + r * ldc + 16 * v, m[v], act16(y, act, s[v], lo, hi));
        }
}

#define ROW_DECL(r) __m512 c##r##0 = _mm512_setzero_ps(), c##r##1 = _mm512_setzero_ps(), \
                           c##r##2 = _mm512_setzero_ps(), c##r##3 = _mm512_setzero_ps();
/* Rows past mr read the pointers the caller repeats there (contract). */
#define ROW_PTR(r) const float *a##r = a[s * MR + (r)];
#define ROW_FMA(r) { \
        const __m512 av = _mm512_set1_ps(a##r[k]); \
        c##r##0 = _mm512_fmadd_ps(av, w0, c##r##0); \
        c##r##1 = _mm512_fmadd_ps(av, w1, c##r##1); \
        c##r##2 = _mm512_fmadd_ps(av, w2, c##r##2); \
        c##r##3 = _mm512_fmadd_ps(av, w3, c##r##3); }
#define ROW_SAVE(r) acc[r][0] = c##r##0; acc[r][1] = c##r##1; acc[r][2] = c##r##2; acc[r][3] = c##r##3;
#define LOAD_W \
            const __m512 w0 = _mm512_loadu_ps(w); \
            const __m512 w1 = _mm512_loadu_ps(w + 16); \
            const __m512 w2 = _mm512_loadu_ps(w + 32); \
            const __m512 w3 = _mm512_loadu_ps(w + 48); \
            w += NR;

/* Few rows: a 3-row body (rows past mr repeat valid pointers). */
static void igemm_3rows(size_t mr, size_t nc, size_t kc, size_t ks,
                        const float *const *a, const float *w, float *c, size_t ldc,
                        const float *res, size_t ldr, const kern_epilogue *ep, size_t n0)
{
    ROW_DECL(0) ROW_DECL(1) ROW_DECL(2)
    for (size_t s = 0; s < ks; s++) {
        ROW_PTR(0) ROW_PTR(1) ROW_PTR(2)
        for (size_t k = 0; k < kc; k++) {
            LOAD_W
            ROW_FMA(0) ROW_FMA(1) ROW_FMA(2)
        }
    }
    __m512 acc[3][4];
    ROW_SAVE(0) ROW_SAVE(1) ROW_SAVE(2)
    store_tile(mr, nc, acc, c, ldc, res, ldr, ep, n0);
}

void kern_f32_igemm_6x64__avx512(size_t mr, size_t nc, size_t kc, size_t ks,
                                 const float *const *a, const float *w,
                                 float *c, size_t ldc, const float *res, size_t ldr,
                                 const kern_epilogue *ep, size_t n0)
{
    ep = kern_ep_or_none(ep);
    if (mr == 0 || nc == 0)
        return;
    if (mr <= 3) {
        igemm_3rows(mr, nc, kc, ks, a, w, c, ldc, res, ldr, ep, n0);
        return;
    }
    ROW_DECL(0) ROW_DECL(1) ROW_DECL(2) ROW_DECL(3) ROW_DECL(4) ROW_DECL(5)
    for (size_t s = 0; s < ks; s++) {
        ROW_PTR(0) ROW_PTR(1) ROW_PTR(2) ROW_PTR(3) ROW_PTR(4) ROW_PTR(5)
#pragma GCC unroll 4
        for (size_t k = 0; k < kc; k++) {
            LOAD_W
            ROW_FMA(0) ROW_FMA(1) ROW_FMA(2) ROW_FMA(3) ROW_FMA(4) ROW_FMA(5)
        }
    }
    __m512 acc[MR][4];
    ROW_SAVE(0) ROW_SAVE(1) ROW_SAVE(2) ROW_SAVE(3) ROW_SAVE(4) ROW_SAVE(5)
    store_tile(mr, nc, acc, c, ldc, res, ldr, ep, n0);
}
