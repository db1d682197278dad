/* f32_affine_x16_avx512.c - y = x*scale[c] + shift[c] (inference BatchNorm);
 * AVX-512, 16 floats per step, opmask tails. ch == 1 (one shared
 * parameter) is treated as one flat vector. */
#include <immintrin.h>
#include "kernels.h"

static inline __mmask16 tail16(size_t n)
{
    return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1);
}

void kern_f32_affine_x16__avx512(size_t rows, size_t ch, const float *x,
                                 const float *scale, const float *shift, float *y)
{
    if (ch == 1) {
        const __m512 a = _mm512_set1_ps(scale[0]), b = _mm512_set1_ps(shift[0]);
        for (size_t i = 0; i < rows; i += 16) {
            const __mmask16 m = tail16(rows - i);
            _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + i), a, b));
        }
        return;
    }
    for (size_t r = 0; r < rows; r++, x += ch, y += ch) {
        size_t c = 0;
        for (; c + 16 <= ch; c += 16)
            _mm512_storeu_ps(y + c, _mm512_fmadd_ps(_mm512_loadu_ps(x + c),
                                                    _mm512_loadu_ps(scale + c),
                                                    _mm512_loadu_ps(shift + c)));
        if (c < ch) {
            const __mmask16 m = tail16(ch - c);
            _mm512_mask_storeu_ps(y + c, m, _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + c),
                                                            _mm512_maskz_loadu_ps(m, scale + c),
                                                            _mm512_maskz_loadu_ps(m, shift + c)));
        }
    }
}
