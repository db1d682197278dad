/* f32_dwconv_c1_scalar.c - reference depthwise convolution of one output pixel:
 * out[ch] = epilogue(sum_s in[s][ch] * w[s*channels + ch]). */
#include "kernels.h"
#include "epilogue.h"

void kern_f32_dwconv_c1__scalar(size_t channels, size_t ks, const float *const *in,
                                const float *w, float *out, const kern_epilogue *ep)
{
    ep = kern_ep_or_none(ep);
    for (size_t ch = 0; ch < channels; ch++) {
        float acc = 0.0f;
        for (size_t s = 0; s < ks; s++)
            acc += in[s][ch] * w[s * channels + ch];
        out[ch] = kern_ep1(acc, ep, ch, NULL);
    }
}
