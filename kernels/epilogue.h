/* epilogue.h - scalar form of the GEMM epilogue (see kern_epilogue in
 * kernels.h), shared by the scalar references and the scalar tails of the
 * SIMD kernels so that every path applies the same semantics.
 *
 * NaN handling matches the SIMD paths: comparisons are false for NaN, so a
 * NaN passes through RELU/PRELU/CLIP unchanged (as in PyTorch), and
 * max(0, -0.0) keeps -0.0 like vmaxps(zero, y) does. */
#ifndef MINT_KERNELS_EPILOGUE_H
#define MINT_KERNELS_EPILOGUE_H

#include <stddef.h>
#include "kernels.h"

/* Activation of one value at absolute column `col`. */
static inline float kern_act1(float y, const kern_epilogue *ep, size_t col)
{
    switch (ep->act) {
    case KERN_ACT_RELU:
        return y < 0.0f ? 0.0f : y;
    case KERN_ACT_PRELU:
        return y < 0.0f ? y * ep->slope[col] : y;
    case KERN_ACT_CLIP:
        y = y < ep->lo ? ep->lo : y;
        return y > ep->hi ? ep->hi : y;
    default:
        return y;
    }
}

/* Full epilogue of one accumulator: act(acc + bias[col] + *res), res may
 * be NULL (no residual). */
static inline float kern_ep1(float acc, const kern_epilogue *ep, size_t col,
                             const float *res)
{
    float y = acc;
    if (ep->bias)
        y += ep->bias[col];
    if (res)
        y += *res;
    return kern_act1(y, ep, col);
}

/* Microkernels accept ep == NULL as "no epilogue". */
static inline const kern_epilogue *kern_ep_or_none(const kern_epilogue *ep)
{
    static const kern_epilogue none = { NULL, NULL, 0.0f, 0.0f, KERN_ACT_NONE };
    return ep ? ep : &none;
}

#endif
