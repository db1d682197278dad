/* f32_dwconv_c32_avx2.c - depthwise convolution of one output pixel, AVX2+FMA:
 * 32 channels per step (4 accumulators), then 8-channel steps with a
 * vmaskmovps tail. */
#include <immintrin.h>
#include <stdint.h>
#include "kernels.h"
#include "epilogue.h"

static const int32_t mask_table[16] = { -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0 };

static inline __m256 act8(__m256 y, const kern_epilogue *ep, size_t ch, __m256i m)
{
    switch (ep->act) {
    case KERN_ACT_RELU:
        return _mm256_max_ps(_mm256_setzero_ps(), y);
    case KERN_ACT_PRELU: {
        const __m256 neg = _mm256_cmp_ps(y, _mm256_setzero_ps(), _CMP_LT_OQ);
        const __m256 s = _mm256_maskload_ps(ep->slope + ch, m);
        return _mm256_blendv_ps(y, _mm256_mul_ps(y, s), neg);
    }
    case KERN_ACT_CLIP:
        return _mm256_min_ps(_mm256_set1_ps(ep->hi), _mm256_max_ps(_mm256_set1_ps(ep->lo), y));
    default:
        return y;
    }
}

static inline void finish8(__m256 acc, const kern_epilogue *ep, size_t ch, __m256i m, float *out)
{
    if (ep->bias)
        acc = _mm256_add_ps(acc, _mm256_maskload_ps(ep->bias + ch, m));
    _mm256_maskstore_ps(out + ch, m, act8(acc, ep, ch, m));
}

void kern_f32_dwconv_c32__avx2(size_t channels, size_t ks, const float *const *in,
                               const float *w, float *out, const kern_epilogue *ep)
{
    ep = kern_ep_or_none(ep);
    const __m256i full = _mm256_set1_epi32(-1);
    size_t ch = 0;
    for (; ch + 32 <= channels; ch += 32) {
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (size_t s = 0; s < ks; s++) {
            const float *x = in[s] + ch, *ws = w + s * channels + ch;
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x), _mm256_loadu_ps(ws), a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + 8), _mm256_loadu_ps(ws + 8), a1);
            a2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + 16), _mm256_loadu_ps(ws + 16), a2);
            a3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + 24), _mm256_loadu_ps(ws + 24), a3);
        }
        finish8(a0, ep, ch, full, out);
        finish8(a1, ep, ch + 8, full, out);
        finish8(a2, ep, ch + 16, full, out);
        finish8(a3, ep, ch + 24, full, out);
    }
    for (; ch < channels; ch += 8) {
        const size_t rem = channels - ch;
        const __m256i m = _mm256_loadu_si256((const __m256i *)(mask_table + 8 - (rem > 8 ? 8 : rem)));
        __m256 acc = _mm256_setzero_ps();
        for (size_t s = 0; s < ks; s++)
            acc = _mm256_fmadd_ps(_mm256_maskload_ps(in[s] + ch, m),
                                  _mm256_maskload_ps(w + s * channels + ch, m), acc);
        finish8(acc, ep, ch, m, out);
    }
}
