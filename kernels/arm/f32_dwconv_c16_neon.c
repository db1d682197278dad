/* f32_dwconv_c16_neon.c - depthwise convolution of one output pixel, NEON:
 * 16 channels per step (4 accumulators), 4-channel steps, scalar tail. */
#include <arm_neon.h>
#include "kernels.h"
#include "epilogue.h"

static inline void finish4(float32x4_t acc, const kern_epilogue *ep, size_t ch, float *out)
{
    if (ep->bias)
        acc = vaddq_f32(acc, vld1q_f32(ep->bias + ch));
    switch (ep->act) {
    case KERN_ACT_RELU:
        acc = vmaxq_f32(vdupq_n_f32(0.0f), acc);
        break;
    case KERN_ACT_PRELU:
        acc = vbslq_f32(vcltq_f32(acc, vdupq_n_f32(0.0f)),
                        vmulq_f32(acc, vld1q_f32(ep->slope + ch)), acc);
        break;
    case KERN_ACT_CLIP:
        acc = vminq_f32(vdupq_n_f32(ep->hi), vmaxq_f32(vdupq_n_f32(ep->lo), acc));
        break;
    default:
        break;
    }
    vst1q_f32(out + ch, acc);
}

void kern_f32_dwconv_c16__neon(size_t channels, size_t ks, const float *const *in,
                               const float *w, float *out, const kern_epilogue *ep)
{
    ep = kern_ep_or_none(ep);
    size_t ch = 0;
    for (; ch + 16 <= channels; ch += 16) {
        float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0;
        for (size_t s = 0; s < ks; s++) {
            const float *x = in[s] + ch, *ws = w + s * channels + ch;
            a0 = vfmaq_f32(a0, vld1q_f32(x), vld1q_f32(ws));
            a1 = vfmaq_f32(a1, vld1q_f32(x + 4), vld1q_f32(ws + 4));
            a2 = vfmaq_f32(a2, vld1q_f32(x + 8), vld1q_f32(ws + 8));
            a3 = vfmaq_f32(a3, vld1q_f32(x + 12), vld1q_f32(ws + 12));
        }
        finish4(a0, ep, ch, out);
        finish4(a1, ep, ch + 4, out);
        finish4(a2, ep, ch + 8, out);
        finish4(a3, ep, ch + 12, out);
    }
    for (; ch + 4 <= channels; ch += 4) {
        float32x4_t acc = vdupq_n_f32(0.0f);
        for (size_t s = 0; s < ks; s++)
            acc = vfmaq_f32(acc, vld1q_f32(in[s] + ch), vld1q_f32(w + s * channels + ch));
        finish4(acc, ep, ch, out);
    }
    for (; ch < channels; ch++) {
        float acc = 0.0f;
        for (size_t s = 0; s < ks; s++)
            acc += in[s][ch] * w[s * channels + ch];
        out[ch] = kern_ep1(acc, ep, ch, NULL);
    }
}
