/* f32_chmax_x16_avx512.c - per-channel maximum over H x W, AVX-512: 16
 * floats per step with a NaN opmask, masked tail; kern_chmax_pick applies
 * the rule of the reference (first NaN, first of equal maxima). */
#include <immintrin.h>
#include "kernels.h"
#include "chmax.h"

void kern_f32_chmax_x16__avx512(size_t channels, size_t hw, const float *x, float *y)
{
    for (size_t c = 0; c < channels; c++) {
        const float *p = x + c * hw;
        const __m512 first = _mm512_set1_ps(p[0]);
        __m512 vm = first;
        __mmask16 nan = 0;
        for (size_t k = 0; k < hw; k += 16) {
            const size_t rem = hw - k;
            const __mmask16 t = rem >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << rem) - 1);
            const __m512 v = _mm512_mask_loadu_ps(first, t, p + k); /* lanes past hw: p[0] */
            nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
            vm = _mm512_max_ps(vm, v);
        }
        const float m = _mm512_reduce_max_ps(vm);
        y[c] = kern_chmax_pick(p, hw, m, nan != 0 || m != m);
    }
}
