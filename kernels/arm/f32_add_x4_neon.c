/* f32_add_x4_neon.c - element-wise add, y = a + b;
 * NEON, 4 floats per step, scalar tails. */
#include <arm_neon.h>
#include "kernels.h"

void kern_f32_add_x4__neon(size_t n, const float *a, const float *b, float *y)
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(y + i, vaddq_f32(vld1q_f32(a + i), vld1q_f32(b + i)));
    for (; i < n; i++)
        y[i] = a[i] + b[i];
}
