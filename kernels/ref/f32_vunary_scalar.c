/* f32_vunary_scalar.c - reference element-wise kernels: affine (inference
 * BatchNorm), PReLU, clip and add. Semantics as documented in kernels.h;
 * NaN passes through PReLU and clip (comparisons with NaN are false). */
#include "kernels.h"

void kern_f32_affine__scalar(size_t rows, size_t ch, const float *x,
                             const float *scale, const float *shift, float *y)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < ch; c++)
            y[r * ch + c] = x[r * ch + c] * scale[c] + shift[c];
}

void kern_f32_prelu__scalar(size_t rows, size_t ch, const float *x,
                            const float *slope, float *y)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < ch; c++) {
            float v = x[r * ch + c];
            y[r * ch + c] = v < 0.0f ? v * slope[c] : v;
        }
}

void kern_f32_clip__scalar(size_t n, const float *x, float lo, float hi, float *y)
{
    for (size_t i = 0; i < n; i++) {
        float v = x[i] < lo ? lo : x[i];
        y[i] = v > hi ? hi : v;
    }
}

void kern_f32_add__scalar(size_t n, const float *a, const float *b, float *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = a[i] + b[i];
}
