/* f32_igemm_6x16_avx2.c - indirect GEMM tile, 6 rows x 16 columns, AVX2+FMA.
 *
 * 6 rows x 2 ymm = 12 accumulators, 2 weight registers and one broadcast:
 * 15 of the 16 ymm registers. Column tails use vmaskmovps (masked-off lanes
 * are neither read nor written); rows past mr are computed from the pointers
 * the caller repeats there (see kernels.h) and never stored. */
#include <immintrin.h>
#include <stdint.h>
#include "kernels.h"
#include "epilogue.h"

enum { MR = 6, NR = 16 };

static const int32_t mask_table[16] = { -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0 };

/* Lanes < n set (n clamped to 0..8). */
static inline __m256i lane_mask(size_t n)
{
    if (n > 8)
        n = 8;
    return _mm256_loadu_si256((const __m256i *)(mask_table + 8 - n));
}

static inline __m256 act8(__m256 y, int act, __m256 slope, __m256 lo, __m256 hi)
{
    switch (act) {
    case KERN_ACT_RELU:
        return _mm256_max_ps(_mm256_setzero_ps(), y);
    case KERN_ACT_PRELU: {
        const __m256 neg = _mm256_cmp_ps(y, _mm256_setzero_ps(), _CMP_LT_OQ);
        return _mm256_blendv_ps(y, _mm256_mul_ps(y, slope), neg);
    }
    case KERN_ACT_CLIP:
        return _mm256_min_ps(hi, _mm256_max_ps(lo, y));
    default:
        return y;
    }
}

#define ROW_DECL(r) __m256 c##r##0 = _mm256_setzero_ps(), c##r##1 = _mm256_setzero_ps();
#define ROW_PTR(r) const float *a##r = a[s * MR + (r)];
#define ROW_FMA(r) { \
        const __m256 av = _mm256_broadcast_ss(a##r + k); \
        c##r##0 = _mm256_fmadd_ps(av, w0, c##r##0); \
        c##r##1 = _mm256_fmadd_ps(av, w1, c##r##1); }
#define ROW_SAVE(r) acc[r][0] = c##r##0; acc[r][1] = c##r##1;

void kern_f32_igemm_6x16__avx2(size_t mr, size_t nc, size_t kc, size_t ks,
                               const float *const *a, const float *w,
                               float *c, size_t ldc, const float *res, size_t ldr,
                               const kern_epilogue *ep, size_t n0)
{
    ep = kern_ep_or_none(ep);
    if (mr == 0 || nc == 0)
        return;
    ROW_DECL(0) ROW_DECL(1) ROW_DECL(2) ROW_DECL(3) ROW_DECL(4) ROW_DECL(5)
    for (size_t s = 0; s < ks; s++) {
        ROW_PTR(0) ROW_PTR(1) ROW_PTR(2) ROW_PTR(3) ROW_PTR(4) ROW_PTR(5)
        for (size_t k = 0; k < kc; k++) {
            const __m256 w0 = _mm256_loadu_ps(w);
            const __m256 w1 = _mm256_loadu_ps(w + 8);
            w += NR;
            ROW_FMA(0) ROW_FMA(1) ROW_FMA(2) ROW_FMA(3) ROW_FMA(4) ROW_FMA(5)
        }
    }
    __m256 acc[MR][2];
    ROW_SAVE(0) ROW_SAVE(1) ROW_SAVE(2) ROW_SAVE(3) ROW_SAVE(4) ROW_SAVE(5)

    const __m256i m0 = lane_mask(nc), m1 = lane_mask(nc > 8 ? nc - 8 : 0);
    __m256 b0 = _mm256_setzero_ps(), b1 = _mm256_setzero_ps();
    if (ep->bias) {
        b0 = _mm256_maskload_ps(ep->bias + n0, m0);
        b1 = _mm256_maskload_ps(ep->bias + n0 + 8, m1);
    }
    __m256 s0 = b0, s1 = b1;
    if (ep->act == KERN_ACT_PRELU) {
        s0 = _mm256_maskload_ps(ep->slope + n0, m0);
        s1 = _mm256_maskload_ps(ep->slope + n0 + 8, m1);
    }
    const __m256 lo = _mm256_set1_ps(ep->lo), hi = _mm256_set1_ps(ep->hi);
    const int act = ep->act;
    for (size_t r = 0; r < mr; r++) {
        __m256 y0 = _mm256_add_ps(acc[r][0], b0);
        __m256 y1 = _mm256_add_ps(acc[r][1], b1);
        if (res) {
            y0 = _mm256_add_ps(y0, _mm256_maskload_ps(res + r * ldr, m0));
            y1 = _mm256_add_ps(y1, _mm256_maskload_ps(res + r * ldr + 8, m1));
        }
        y0 = act8(y0, act, s0, lo, hi);
        y1 = act8(y1, act, s1, lo, hi);
        if (nc == NR) {
            _mm256_storeu_ps(c + r * ldc, y0);
            _mm256_storeu_ps(c + r * ldc + 8, y1);
        } else {
            _mm256_maskstore_ps(c + r * ldc, m0, y0);
            _mm256_maskstore_ps(c + r * ldc + 8, m1, y1);
        }
    }
}
