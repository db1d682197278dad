/* f32_chmax_x4_neon.c - per-channel maximum over H x W, NEON: 4 floats per
 * step with a NaN flag, scalar tail; kern_chmax_pick applies the rule of
 * the reference (first NaN, first of equal maxima). */
#include <arm_neon.h>
#include "kernels.h"
#include "chmax.h"

void kern_f32_chmax_x4__neon(size_t channels, size_t hw, const float *x, float *y)
{
    for (size_t c = 0; c < channels; c++) {
        const float *p = x + c * hw;
        float32x4_t vm = vdupq_n_f32(p[0]);
        uint32x4_t ok = vdupq_n_u32(~0u);
        size_t k = 0;
        for (; k + 4 <= hw; k += 4) {
            const float32x4_t v = vld1q_f32(p + k);
            ok = vandq_u32(ok, vceqq_f32(v, v)); /* lane cleared by a NaN */
            vm = vmaxnmq_f32(vm, v);             /* maxNum: a NaN is dropped, the flag has it */
        }
        float m = vmaxnmvq_f32(vm);
        int has_nan = vminvq_u32(ok) == 0 || m != m;
        for (; k < hw; k++) {
            has_nan |= p[k] != p[k];
            m = p[k] > m ? p[k] : m;
        }
        y[c] = kern_chmax_pick(p, hw, m, has_nan);
    }
}
