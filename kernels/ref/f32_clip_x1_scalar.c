/* f32_clip_x1_scalar.c - clip, y = min(max(x, lo), hi) (ReLU is lo=0, hi=+inf);
 * reference: plain loops, the oracle and fallback. NaN passes through
 * (comparisons with NaN are false). */
#include "kernels.h"

void kern_f32_clip_x1__scalar(size_t n, const float *x, float lo, float hi, float *y)
{
    for (size_t i = 0; i < n; i++) {
        float v = x[i] < lo ? lo : x[i];
        y[i] = v > hi ? hi : v;
    }
}
