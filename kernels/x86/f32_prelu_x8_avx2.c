/* f32_prelu_x8_avx2.c - per-channel PReLU, y = x < 0 ? x*slope[c] : x;
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

static inline __m256 prelu8(__m256 v, __m256 s)
{
    const __m256 neg = _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_LT_OQ);
    return _mm256_blendv_ps(v, _mm256_mul_ps(v, s), neg);
}

void kern_f32_prelu_x8__avx2(size_t rows, size_t ch, const float *x,
                             const float *slope, float *y)
{
    if (ch == 1) {
        const __m256 s = _mm256_set1_ps(slope[0]);
        size_t i = 0;
        for (; i + 8 <= rows; i += 8)
            _mm256_storeu_ps(y + i, prelu8(_mm256_loadu_ps(x + i), s));
        if (i < rows) {
            const __m256i m = tail8(rows - i);
            _mm256_maskstore_ps(y + i, m, prelu8(_mm256_maskload_ps(x + i, m), s));
        }
        return;
    }
    for (size_t r = 0; r < rows; r++, x += ch, y += ch) {
        size_t c = 0;
        for (; c + 8 <= ch; c += 8)
            _mm256_storeu_ps(y + c, prelu8(_mm256_loadu_ps(x + c), _mm256_loadu_ps(slope + c)));
        if (c < ch) {
            const __m256i m = tail8(ch - c);
            _mm256_maskstore_ps(y + c, m, prelu8(_mm256_maskload_ps(x + c, m),
                                                 _mm256_maskload_ps(slope + c, m)));
        }
    }
}
