/* f32_chmax_x8_avx2.c - per-channel maximum over H x W, AVX2: 8 floats per
 * step with a NaN flag, scalar tail; kern_chmax_pick applies the rule of
 * the reference (first NaN, first of equal maxima) to the result. */
#include <immintrin.h>
#include "kernels.h"
#include "chmax.h"

void kern_f32_chmax_x8__avx2(size_t channels, size_t hw, const float *x, float *y)
{
    for (size_t c = 0; c < channels; c++) {
        const float *p = x + c * hw;
        __m256 vm = _mm256_set1_ps(p[0]), vnan = _mm256_setzero_ps();
        size_t k = 0;
        for (; k + 8 <= hw; k += 8) {
            const __m256 v = _mm256_loadu_ps(p + k);
            vnan = _mm256_or_ps(vnan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
            vm = _mm256_max_ps(vm, v); /* may turn NaN: the flag has it */
        }
        __m128 h = _mm_max_ps(_mm256_castps256_ps128(vm), _mm256_extractf128_ps(vm, 1));
        h = _mm_max_ps(h, _mm_movehl_ps(h, h));
        h = _mm_max_ss(h, _mm_shuffle_ps(h, h, 1));
        float m = _mm_cvtss_f32(h);
        int has_nan = _mm256_movemask_ps(vnan) != 0 || m != m;
        for (; k < hw; k++) {
            has_nan |= p[k] != p[k];
            m = p[k] > m ? p[k] : m;
        }
        y[c] = kern_chmax_pick(p, hw, m, has_nan);
    }
}
