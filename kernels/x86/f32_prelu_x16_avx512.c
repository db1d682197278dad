/* f32_prelu_x16_avx512.c - per-channel PReLU, y = x < 0 ? x*slope[c] : x;
 * AVX-512, 16 floats per step, opmask tails. ch == 1 (one shared
 * parameter) is treated as one flat vector. */
#include <immintrin.h>
#include "kernels.h"

static inline __mmask16 tail16(size_t n)
{
    return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1);
}

static inline __m512 prelu16(__m512 v, __m512 s)
{
    const __mmask16 neg = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ);
    return _mm512_mask_mul_ps(v, neg, v, s);
}

void kern_f32_prelu_x16__avx512(size_t rows, size_t ch, const float *x,
                                const float *slope, float *y)
{
    if (ch == 1) {
        const __m512 s = _mm512_set1_ps(slope[0]);
        for (size_t i = 0; i < rows; i += 16) {
            const __mmask16 m = tail16(rows - i);
            _mm512_mask_storeu_ps(y + i, m, prelu16(_mm512_maskz_loadu_ps(m, x + i), s));
        }
        return;
    }
    for (size_t r = 0; r < rows; r++, x += ch, y += ch) {
        size_t c = 0;
        for (; c + 16 <= ch; c += 16)
            _mm512_storeu_ps(y + c, prelu16(_mm512_loadu_ps(x + c), _mm512_loadu_ps(slope + c)));
        if (c < ch) {
            const __mmask16 m = tail16(ch - c);
            _mm512_mask_storeu_ps(y + c, m, prelu16(_mm512_maskz_loadu_ps(m, x + c),
                                                    _mm512_maskz_loadu_ps(m, slope + c)));
        }
    }
}
