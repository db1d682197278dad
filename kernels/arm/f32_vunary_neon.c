/* f32_vunary_neon.c - element-wise kernels (affine, PReLU, clip, add), NEON,
 * with scalar tails. ch == 1 (shared scale/slope) is one flat vector. */
#include <arm_neon.h>
#include "kernels.h"

void kern_f32_affine__neon(size_t rows, size_t ch, const float *x,
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

static inline float32x4_t prelu4(float32x4_t v, float32x4_t s)
{
    return vbslq_f32(vcltq_f32(v, vdupq_n_f32(0.0f)), vmulq_f32(v, s), v);
}

void kern_f32_prelu__neon(size_t rows, size_t ch, const float *x,
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

void kern_f32_clip__neon(size_t n, const float *x, float lo, float hi, float *y)
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

void kern_f32_add__neon(size_t n, const float *a, const float *b, float *y)
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(y + i, vaddq_f32(vld1q_f32(a + i), vld1q_f32(b + i)));
    for (; i < n; i++)
        y[i] = a[i] + b[i];
}
