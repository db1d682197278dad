/* f32_prelu_x4_neon.c - per-channel PReLU, y = x < 0 ? x*slope[c] : x;
 * NEON, 4 floats per step, scalar tails. ch == 1 (one shared
 * parameter) is treated as one flat vector. */
#include <arm_neon.h>
#include "kernels.h"

static inline float32x4_t prelu4(float32x4_t v, float32x4_t s)
{
    return vbslq_f32(vcltq_f32(v, vdupq_n_f32(0.0f)), vmulq_f32(v, s), v);
}

void kern_f32_prelu_x4__neon(size_t rows, size_t ch, const float *x,
                             const float *slope, float *y)
{
    if (ch == 1) {
        const float32x4_t s = vdupq_n_f32(slope[0]);
        size_t i = 0;
        for (; i + 4 <= rows; i += 4)
            vst1q_f32(y + i, prelu4(vld1q_f32(x + i), s));
        for (; i < rows; i++)
            y[i] = x[i] < 0.0f ? x[i] * slope[0] : x[i];
        return;
    }
    for (size_t r = 0; r < rows; r++, x += ch, y += ch) {
        size_t c = 0;
        for (; c + 4 <= ch; c += 4)
            vst1q_f32(y + c, prelu4(vld1q_f32(x + c), vld1q_f32(slope + c)));
        for (; c < ch; c++)
            y[c] = x[c] < 0.0f ? x[c] * slope[c] : x[c];
    }
}
