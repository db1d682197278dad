/* f32_fmapeak_scalar.c - scalar multiply-add peak loop: 8 independent chains
 * (enough to cover the latency of a dependent mul+add on current cores). */
#include "peak.h"

double kern_f32_fmapeak__scalar(size_t iters)
{
    volatile float seed = 1.0f;
    float m = seed * 0.999999f, a = seed * 1e-7f;
    float c0 = seed, c1 = seed, c2 = seed, c3 = seed, c4 = seed, c5 = seed, c6 = seed, c7 = seed;
    for (size_t i = 0; i < iters; i++) {
        c0 = c0 * m + a; c1 = c1 * m + a; c2 = c2 * m + a; c3 = c3 * m + a;
        c4 = c4 * m + a; c5 = c5 * m + a; c6 = c6 * m + a; c7 = c7 * m + a;
    }
    seed = c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7; /* keep the chains alive */
    return (double)iters * 8 * 2;
}
