/* f32_fmapeak_neon.c - NEON FMA peak loop: 16 independent q-register chains. */
#include <arm_neon.h>
#include "peak.h"

double kern_f32_fmapeak__neon(size_t iters)
{
    volatile float seed = 1.0f;
    const float32x4_t m = vdupq_n_f32(seed * 0.999999f), a = vdupq_n_f32(seed * 1e-7f);
    float32x4_t c[16];
    for (int j = 0; j < 16; j++)
        c[j] = vdupq_n_f32(seed + (float)j);
    for (size_t i = 0; i < iters; i++)
        for (int j = 0; j < 16; j++)
            c[j] = vfmaq_f32(a, c[j], m);
    float32x4_t s = c[0];
    for (int j = 1; j < 16; j++)
        s = vaddq_f32(s, c[j]);
    seed = vaddvq_f32(s);
    return (double)iters * 16 * 4 * 2;
}
