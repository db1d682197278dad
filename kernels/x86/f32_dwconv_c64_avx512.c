/* f32_dwconv_c64_avx512.c - depthwise convolution of one output pixel, AVX-512:
 * 64 channels per step (4 independent accumulators hide the FMA latency),
 * then 16-channel steps with an opmask tail. */
#include <immintrin.h>
#include "kernels.h"
#include "epilogue.h"

static inline __m512 act16(__m512 y, const kern_epilogue *ep, size_t ch, __mmask16 m)
{
    switch (ep->act) {
    case KERN_ACT_RELU:
        return _mm512_max_ps(_mm512_setzero_ps(), y);
    case KERN_ACT_PRELU: {
        const __mmask16 neg = _mm512_cmp_ps_mask(y, _mm512_setzero_ps(), _CMP_LT_OQ);
        return _mm512_mask_mul_ps(y, neg, y, _mm512_maskz_loadu_ps(m, ep->slope + ch));
    }
    case KERN_ACT_CLIP:
        return _mm512_min_ps(_mm512_set1_ps(ep->hi), _mm512_max_ps(_mm512_set1_ps(ep->lo), y));
    default:
        return y;
    }
}

static inline void finish16(__m512 acc, const kern_epilogue *ep, size_t ch, __mmask16 m, float *out)
{
    if (ep->bias)
        acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(m, ep->bias + ch));
    _mm512_mask_storeu_ps(out + ch, m, act16(acc, ep, ch, m));
}

void kern_f32_dwconv_c64__avx512(size_t channels, size_t ks, const float *const *in,
                                 const float *w, float *out, const kern_epilogue *ep)
{
    ep = kern_ep_or_none(ep);
    size_t ch = 0;
    for (; ch + 64 <= channels; ch += 64) {
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (size_t s = 0; s < ks; s++) {
            const float *x = in[s] + ch, *ws = w + s * channels + ch;
            a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x), _mm512_loadu_ps(ws), a0);
            a1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + 16), _mm512_loadu_ps(ws + 16), a1);
            a2 = _mm512_fmadd_ps(_mm512_loadu_ps(x + 32), _mm512_loadu_ps(ws + 32), a2);
            a3 = _mm512_fmadd_ps(_mm512_loadu_ps(x + 48), _mm512_loadu_ps(ws + 48), a3);
        }
        finish16(a0, ep, ch, 0xffff, out);
        finish16(a1, ep, ch + 16, 0xffff, out);
        finish16(a2, ep, ch + 32, 0xffff, out);
        finish16(a3, ep, ch + 48, 0xffff, out);
    }
    for (; ch < channels; ch += 16) {
        const size_t rem = channels - ch;
        const __mmask16 m = rem >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << rem) - 1);
        __m512 acc = _mm512_setzero_ps();
        for (size_t s = 0; s < ks; s++)
            acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, in[s] + ch),
                                  _mm512_maskz_loadu_ps(m, w + s * channels + ch), acc);
        finish16(acc, ep, ch, m, out);
    }
}
