/* f32_affine_x8_avx2.c - y = x*scale[c] + shift[c] (inference BatchNorm);
 * AVX2+FMA, 8 floats per step, vmaskmovps tails. ch == 1 (one shared
 * parameter) is treated as one flat vector. */
#include <immintrin.h>
#include <stdint.h>
#include "kernels.h"

static const int32_t mask_table[16] = { -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0 };

static inline __m256i tail8(size_t n)
{
    return _mm256_loadu_si256((const __m256i *)(mask_table + 8 - (n > 8 ? 8 : n)));
}

void kern_f32_affine_x8__avx2(size_t rows, size_t ch, const float *x,
                              const float *scale, const float *shift, float *y)
{
    if (ch == 1) {
        const __m256 a = _mm256_set1_ps(scale[0]), b = _mm256_set1_ps(shift[0]);
        size_t i = 0;
        for (; i + 8 <= rows; i += 8)
            _mm256_storeu_ps(y + i, _mm256_fmadd_ps(_mm256_loadu_ps(x + i), a, b));
        if (i < rows) {
            const __m256i m = tail8(rows - i);
            _mm256_maskstore_ps(y + i, m, _mm256_fmadd_ps(_mm256_maskload_ps(x + i, m), a, b));
        }
        return;
    }
    for (size_t r = 0; r < rows; r++, x += ch, y += ch) {
        size_t c = 0;
        for (; c + 8 <= ch; c += 8)
            _mm256_storeu_ps(y + c, _mm256_fmadd_ps(_mm256_loadu_ps(x + c),
                                                    _mm256_loadu_ps(scale + c),
                                                    _mm256_loadu_ps(shift + c)));
        if (c < ch) {
            const __m256i m = tail8(ch - c);
            _mm256_maskstore_ps(y + c, m, _mm256_fmadd_ps(_mm256_maskload_ps(x + c, m),
                                                          _mm256_maskload_ps(scale + c, m),
                                                          _mm256_maskload_ps(shift + c, m)));
        }
    }
}
