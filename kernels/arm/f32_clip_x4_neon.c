/* f32_clip_x4_neon.c - clip, y = min(max(x, lo), hi) (ReLU is lo=0, hi=+inf);
 * NEON, 4 floats per step, scalar tails. */
#include <arm_neon.h>
#include "kernels.h"

void kern_f32_clip_x4__neon(size_t n, const float *x, float lo, float hi, float *y)
{
    const float32x4_t vlo = vdupq_n_f32(lo), vhi = vdupq_n_f32(hi);
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(y + i, vminq_f32(vhi, vmaxq_f32(vlo, vld1q_f32(x + i))));
    for (; i < n; i++) {
        float v = x[i] < lo ? lo : x[i];
        y[i] = v > hi ? hi : v;
    }
}
