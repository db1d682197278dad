/* f32_clip_x8_avx2.c - clip, y = min(max(x, lo), hi) (ReLU is lo=0, hi=+inf);
 * AVX2+FMA, 8 floats per step, vmaskmovps tails. */
#include <immintrin.h>
#include <stdint.h>
#include "kernels.h"

static const int32_t mask_table[16] = { -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0 };

static inline __m256i tail8(size_t n)
{
    return _mm256_loadu_si256((const __m256i *)(mask_table + 8 - (n > 8 ? 8 : n)));
}

void kern_f32_clip_x8__avx2(size_t n, const float *x, float lo, float hi, float *y)
{
    const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_min_ps(vhi, _mm256_max_ps(vlo, _mm256_loadu_ps(x + i))));
    if (i < n) {
        const __m256i m = tail8(n - i);
        _mm256_maskstore_ps(y + i, m, _mm256_min_ps(vhi, _mm256_max_ps(vlo, _mm256_maskload_ps(x + i, m))));
    }
}
