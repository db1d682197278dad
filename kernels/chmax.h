/* chmax.h - the NaN and tie rule of the channel-max kernels (see
 * kern_chmax_ukernel in kernels.h), shared by the SIMD paths so that they
 * return the scalar reference's bits: the SIMD loop finds the maximum
 * value and whether a NaN occurs; this picks the element the reference
 * picks. Both corrections are rare (a NaN in the map, a zero maximum). */
#ifndef MINT_KERNELS_CHMAX_H
#define MINT_KERNELS_CHMAX_H

#include <math.h>
#include <stddef.h>

/* m: the maximum of the non-NaN values of p[0..hw) (any sign of zero);
 * has_nan: whether a NaN occurs in p[0..hw). */
static inline float kern_chmax_pick(const float *p, size_t hw, float m, int has_nan)
{
    if (has_nan) {
        for (size_t k = 0; k < hw; k++)
            if (isnan(p[k]))
                return p[k]; /* the first NaN, payload kept */
    }
    if (m == 0.0f) {
        for (size_t k = 0; k < hw; k++)
            if (p[k] == 0.0f)
                return p[k]; /* the first zero: +0 or -0 as the reference */
    }
    return m;
}

#endif
