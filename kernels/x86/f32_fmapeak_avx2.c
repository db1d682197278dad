/* f32_fmapeak_avx2.c - AVX2 FMA peak loop: 12 independent ymm chains. */
#include <immintrin.h>
#include "peak.h"

double kern_f32_fmapeak__avx2(size_t iters)
{
    volatile float seed = 1.0f;
    const __m256 m = _mm256_set1_ps(seed * 0.999999f), a = _mm256_set1_ps(seed * 1e-7f);
    __m256 c[12];
    for (int j = 0; j < 12; j++)
        c[j] = _mm256_set1_ps(seed + (float)j);
    for (size_t i = 0; i < iters; i++) {
        c[0] = _mm256_fmadd_ps(c[0], m, a); c[1] = _mm256_fmadd_ps(c[1], m, a);
        c[2] = _mm256_fmadd_ps(c[2], m, a); c[3] = _mm256_fmadd_ps(c[3], m, a);
        c[4] = _mm256_fmadd_ps(c[4], m, a); c[5] = _mm256_fmadd_ps(c[5], m, a);
        c[6] = _mm256_fmadd_ps(c[6], m, a); c[7] = _mm256_fmadd_ps(c[7], m, a);
        c[8] = _mm256_fmadd_ps(c[8], m, a); c[9] = _mm256_fmadd_ps(c[9], m, a);
        c[10] = _mm256_fmadd_ps(c[10], m, a); c[11] = _mm256_fmadd_ps(c[11], m, a);
    }
    __m256 s = c[0];
    for (int j = 1; j < 12; j++)
        s = _mm256_add_ps(s, c[j]);
    float out[8];
    _mm256_storeu_ps(out, s);
    seed = out[0] + out[7];
    return (double)iters * 12 * 8 * 2;
}
