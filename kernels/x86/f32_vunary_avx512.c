/* f32_vunary_avx512.c - element-wise kernels (affine, PReLU, clip, add),
 * AVX-512. Channel/element tails use opmasks. ch == 1 (one shared
 * scale/slope) is treated as one flat vector. */
#include <immintrin.h>
#include "kernels.h"

static inline __mmask16 tail16(size_t n)
{
    return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1);
}

void kern_f32_affine__avx512(size_t rows, size_t ch, const float *x,
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

static inline __m512 prelu16(__m512 v, __m512 s)
{
    const __mmask16 neg = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ);
    return _mm512_mask_mul_ps(v, neg, v, s);
}

void kern_f32_prelu__avx512(size_t rows, size_t ch, const float *x,
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

void kern_f32_clip__avx512(size_t n, const float *x, float lo, float hi, float *y)
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

void kern_f32_add__avx512(size_t n, const float *a, const float *b, float *y)
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
