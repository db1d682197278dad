/* f32_add_x16_avx512.c - element-wise add, y = a + b;
 * AVX-512, 16 floats per step, opmask tails. */
#include <immintrin.h>
#include "kernels.h"

static inline __mmask16 tail16(size_t n)
{
    return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1);
}

void kern_f32_add_x16__avx512(size_t n, const float *a, const float *b, float *y)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, _mm512_add_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i)));
    if (i < n) {
        const __mmask16 m = tail16(n - i);
        _mm512_mask_storeu_ps(y + i, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, a + i),
                                                      _mm512_maskz_loadu_ps(m, b + i)));
    }
}
