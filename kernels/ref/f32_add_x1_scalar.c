/* f32_add_x1_scalar.c - element-wise add, y = a + b;
 * reference: plain loops, the oracle and fallback. */
#include "kernels.h"

void kern_f32_add_x1__scalar(size_t n, const float *a, const float *b, float *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = a[i] + b[i];
}
