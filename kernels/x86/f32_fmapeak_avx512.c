/* f32_fmapeak_avx512.c - AVX-512 FMA peak loop: 16 independent zmm chains
 * (latency 4 x 2 FMA ports = 8 needed; 16 leaves headroom). */
#include <immintrin.h>
#include "peak.h"

double kern_f32_fmapeak__avx512(size_t iters)
{
    volatile float seed = 1.0f;
    const __m512 m = _mm512_set1_ps(seed * 0.999999f), a = _mm512_set1_ps(seed * 1e-7f);
    __m512 c[16];
    for (int j = 0; j < 16; j++)
        c[j] = _mm512_set1_ps(seed + (float)j);
    for (size_t i = 0; i < iters; i++) {
        c[0] = _mm512_fmadd_ps(c[0], m, a); c[1] = _mm512_fmadd_ps(c[1], m, a);
        c[2] = _mm512_fmadd_ps(c[2], m, a); c[3] = _mm512_fmadd_ps(c[3], m, a);
        c[4] = _mm512_fmadd_ps(c[4], m, a); c[5] = _mm512_fmadd_ps(c[5], m, a);
        c[6] = _mm512_fmadd_ps(c[6], m, a); c[7] = _mm512_fmadd_ps(c[7], m, a);
        c[8] = _mm512_fmadd_ps(c[8], m, a); c[9] = _mm512_fmadd_ps(c[9], m, a);
        c[10] = _mm512_fmadd_ps(c[10], m, a); c[11] = _mm512_fmadd_ps(c[11], m, a);
        c[12] = _mm512_fmadd_ps(c[12], m, a); c[13] = _mm512_fmadd_ps(c[13], m, a);
        c[14] = _mm512_fmadd_ps(c[14], m, a); c[15] = _mm512_fmadd_ps(c[15], m, a);
    }
    __m512 s = c[0];
    for (int j = 1; j < 16; j++)
        s = _mm512_add_ps(s, c[j]);
    seed = _mm512_reduce_add_ps(s);
    return (double)iters * 16 * 16 * 2;
}
