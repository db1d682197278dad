/* f32_affine_x4_neon.c - y = x*scale[c] + shift[c] (inference BatchNorm);
 * NEON, 4 floats per step, scalar tails. ch == 1 (one shared
 * parameter) is treated as one flat vector. */
#include <arm_neon.h>
#include "kernels.h"

void kern_f32_affine_x4__neon(size_t rows, size_t ch, const float *x,
                              const float *scale, const float *shift, float *y)
{
    if (ch == 1) {
        const float32x4_t a = vdupq_n_f32(scale[0]), b = vdupq_n_f32(shift[0]);
        size_t i = 0;
        for (; i + 4 <= rows; i += 4)
            vst1q_f32(y + i, vfmaq_f32(b, vld1q_f32(x + i), a));
        for (; i < rows; i++)
            y[i] = x[i] * scale[0] + shift[0];
        return;
    }
    for (size_t r = 0; r < rows; r++, x += ch, y += ch) {
        size_t c = 0;
        for (; c + 4 <= ch; c += 4)
            vst1q_f32(y + c, vfmaq_f32(vld1q_f32(shift + c), vld1q_f32(x + c), vld1q_f32(scale + c)));
        for (; c < ch; c++)
            y[c] = x[c] * scale[c] + shift[c];
    }
}
