/* f32_affine_x1_scalar.c - y = x*scale[c] + shift[c] (inference BatchNorm);
 * reference: plain loops, the oracle and fallback. */
#include "kernels.h"

void kern_f32_affine_x1__scalar(size_t rows, size_t ch, const float *x,
                                const float *scale, const float *shift, float *y)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < ch; c++)
            y[r * ch + c] = x[r * ch + c] * scale[c] + shift[c];
}
