/* f32_prelu_x1_scalar.c - per-channel PReLU, y = x < 0 ? x*slope[c] : x;
 * reference: plain loops, the oracle and fallback. NaN passes through
 * (comparisons with NaN are false). */
#include "kernels.h"

void kern_f32_prelu_x1__scalar(size_t rows, size_t ch, const float *x,
                               const float *slope, float *y)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < ch; c++) {
            float v = x[r * ch + c];
            y[r * ch + c] = v < 0.0f ? v * slope[c] : v;
        }
}
