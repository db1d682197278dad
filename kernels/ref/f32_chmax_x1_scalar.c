/* f32_chmax_x1_scalar.c - per-channel maximum over H x W (global max pooling
 * of NCHW maps); reference: plain loops, the oracle and fallback. The rule
 * (kernels.h): the first NaN of a channel wins, as torch.amax propagates
 * NaN; otherwise the first element holding the maximum (a later equal
 * value, e.g. +0 after -0, does not replace it). */
#include <math.h>
#include "kernels.h"

void kern_f32_chmax_x1__scalar(size_t channels, size_t hw, const float *x, float *y)
{
    for (size_t c = 0; c < channels; c++) {
        const float *p = x + c * hw;
        float m = p[0];
        for (size_t k = 1; k < hw && !isnan(m); k++)
            if (p[k] > m || isnan(p[k]))
                m = p[k];
        y[c] = m;
    }
}
