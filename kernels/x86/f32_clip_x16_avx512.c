/* f32_clip_x16_avx512.c - clip, y = min(max(x, lo), hi) (ReLU is lo=0, hi=+inf);
 * AVX-512, 16 floats per step, opmask tails. */
#include <immintrin.h>
#include "kernels.h"

static inline __mmask16 tail16(size_t n)
{
    return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1);
}

void kern_f32_clip_x16__avx512(size_t n, const float *x, float lo, float hi, float *y)
{
    const __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, _mm512_min_ps(vhi, _mm512_max_ps(vlo, _mm512_loadu_ps(x + i))));
    if (i < n) {
        const __mmask16 m = tail16(n - i);
        _mm512_mask_storeu_ps(y + i, m, _mm512_min_ps(vhi, _mm512_max_ps(vlo, _mm512_maskz_loadu_ps(m, x + i))));
    }
}
