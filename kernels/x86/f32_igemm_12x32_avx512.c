/* f32_igemm_12x32_avx512.c - indirect GEMM tile, 12 rows x 32 columns, AVX-512.
 *
 * Register blocking: 12 rows x 2 zmm = 24 accumulators; per k, two loads of
 * the packed weight panel, 12 broadcast loads of a[r][k] (load ports, not
 * the FMA ports), 24 FMAs. Tiles with few rows (the last
 * tile of a layer, fully connected layers at small batch) take a 4-row body
 * so they do not pay for 12. The epilogue (bias, residual, activation) runs on
 * the accumulators; column tails use opmasks, so nothing past nc columns or
 * mr rows is written (and no bias/slope/residual past nc is read). */
#include <immintrin.h>
#include "kernels.h"
#include "epilogue.h"

enum { MR = 12, NR = 32 };

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

/* Epilogue and masked store of rows < mr of acc[rows][2]. */
static inline void store_tile(size_t mr, size_t nc, __m512 acc[][2], float *c, size_t ldc,
                              const float *res, size_t ldr, const kern_epilogue *ep, size_t n0)
{
    const __mmask16 m0 = nc >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << nc) - 1);
    const __mmask16 m1 = nc >= 32 ? (__mmask16)0xffff
                       : nc > 16  ? (__mmask16)((1u << (nc - 16)) - 1) : (__mmask16)0;
    __m512 b0 = _mm512_setzero_ps(), b1 = _mm512_setzero_ps();
    if (ep->bias) {
        b0 = _mm512_maskz_loadu_ps(m0, ep->bias + n0);
        b1 = _mm512_maskz_loadu_ps(m1, ep->bias + n0 + 16);
    }
    __m512 s0 = b0, s1 = b1;
    if (ep->act == KERN_ACT_PRELU) {
        s0 = _mm512_maskz_loadu_ps(m0, ep->slope + n0);
        s1 = _mm512_maskz_loadu_ps(m1, ep->slope + n0 + 16);
    }
    const __m512 lo = _mm512_set1_ps(ep->lo), hi = _mm512_set1_ps(ep->hi);
    const int act = ep->act;
    for (size_t r = 0; r < mr; r++) {
        __m512 y0 = _mm512_add_ps(acc[r][0], b0);
        __m512 y1 = _mm512_add_ps(acc[r][1], b1);
        if (res) {
            y0 = _mm512_add_ps(y0, _mm512_maskz_loadu_ps(m0, res + r * ldr));
            y1 = _mm512_add_ps(y1, _mm512_maskz_loadu_ps(m1, res + r * ldr + 16));
        }
        _mm512_mask_storeu_ps(c + r * ldc, m0, act16(y0, act, s0, lo, hi));
        _mm512_mask_storeu_ps(c + r * ldc + 16, m1, act16(y1, act, s1, lo, hi));
    }
}

#define ROW_DECL(r) __m512 c##r##0 = _mm512_setzero_ps(), c##r##1 = _mm512_setzero_ps();
/* Rows past mr read the pointers the caller repeats there (contract). */
#define ROW_PTR(r) const float *a##r = a[s * MR + (r)];
#define ROW_FMA(r) { \
        const __m512 av = _mm512_set1_ps(a##r[k]); \
        c##r##0 = _mm512_fmadd_ps(av, w0, c##r##0); \
        c##r##1 = _mm512_fmadd_ps(av, w1, c##r##1); }
#define ROW_SAVE(r) acc[r][0] = c##r##0; acc[r][1] = c##r##1;

/* Few rows: a 4-row body (rows past mr repeat valid pointers). */
static void igemm_4rows(size_t mr, size_t nc, size_t kc, size_t ks,
                        const float *const *a, const float *w, float *c, size_t ldc,
                        const float *res, size_t ldr, const kern_epilogue *ep, size_t n0)
{
    ROW_DECL(0) ROW_DECL(1) ROW_DECL(2) ROW_DECL(3)
    for (size_t s = 0; s < ks; s++) {
        ROW_PTR(0) ROW_PTR(1) ROW_PTR(2) ROW_PTR(3)
        for (size_t k = 0; k < kc; k++) {
            const __m512 w0 = _mm512_loadu_ps(w);
            const __m512 w1 = _mm512_loadu_ps(w + 16);
            w += NR;
            ROW_FMA(0) ROW_FMA(1) ROW_FMA(2) ROW_FMA(3)
        }
    }
    __m512 acc[4][2];
    ROW_SAVE(0) ROW_SAVE(1) ROW_SAVE(2) ROW_SAVE(3)
    store_tile(mr, nc, acc, c, ldc, res, ldr, ep, n0);
}

void kern_f32_igemm_12x32__avx512(size_t mr, size_t nc, size_t kc, size_t ks,
                                  const float *const *a, const float *w,
                                  float *c, size_t ldc, const float *res, size_t ldr,
                                  const kern_epilogue *ep, size_t n0)
{
    ep = kern_ep_or_none(ep);
    if (mr == 0 || nc == 0)
        return;
    if (mr <= 4) {
        igemm_4rows(mr, nc, kc, ks, a, w, c, ldc, res, ldr, ep, n0);
        return;
    }
    ROW_DECL(0) ROW_DECL(1) ROW_DECL(2) ROW_DECL(3) ROW_DECL(4) ROW_DECL(5)
    ROW_DECL(6) ROW_DECL(7) ROW_DECL(8) ROW_DECL(9) ROW_DECL(10) ROW_DECL(11)
    for (size_t s = 0; s < ks; s++) {
        ROW_PTR(0) ROW_PTR(1) ROW_PTR(2) ROW_PTR(3) ROW_PTR(4) ROW_PTR(5)
        ROW_PTR(6) ROW_PTR(7) ROW_PTR(8) ROW_PTR(9) ROW_PTR(10) ROW_PTR(11)
#pragma GCC unroll 4
        for (size_t k = 0; k < kc; k++) {
            const __m512 w0 = _mm512_loadu_ps(w);
            const __m512 w1 = _mm512_loadu_ps(w + 16);
            w += NR;
            ROW_FMA(0) ROW_FMA(1) ROW_FMA(2) ROW_FMA(3) ROW_FMA(4) ROW_FMA(5)
            ROW_FMA(6) ROW_FMA(7) ROW_FMA(8) ROW_FMA(9) ROW_FMA(10) ROW_FMA(11)
        }
    }
    __m512 acc[MR][2];
    ROW_SAVE(0) ROW_SAVE(1) ROW_SAVE(2) ROW_SAVE(3) ROW_SAVE(4) ROW_SAVE(5)
    ROW_SAVE(6) ROW_SAVE(7) ROW_SAVE(8) ROW_SAVE(9) ROW_SAVE(10) ROW_SAVE(11)
    store_tile(mr, nc, acc, c, ldc, res, ldr, ep, n0);
}
