/* f32_igemm_8x8_neon.c - indirect GEMM tile, 8 rows x 8 columns, NEON (aarch64).
 *
 * 8 rows x 2 q-registers = 16 accumulators; per k, two weight loads and one
 * ld1r broadcast per row. Full-width tiles get a vector epilogue; column
 * tails go through a small buffer and the scalar epilogue (NEON has no
 * masked stores), so nothing past nc columns or mr rows is written. */
#include <arm_neon.h>
#include "kernels.h"
#include "epilogue.h"

enum { MR = 8, NR = 8 };

static inline float32x4_t act4(float32x4_t y, int act, float32x4_t slope,
                               float32x4_t lo, float32x4_t hi)
{
    switch (act) {
    case KERN_ACT_RELU:
        return vmaxq_f32(vdupq_n_f32(0.0f), y);
    case KERN_ACT_PRELU:
        return vbslq_f32(vcltq_f32(y, vdupq_n_f32(0.0f)), vmulq_f32(y, slope), y);
    case KERN_ACT_CLIP:
        return vminq_f32(hi, vmaxq_f32(lo, y));
    default:
        return y;
    }
}

#define ROW_DECL(r) float32x4_t c##r##0 = vdupq_n_f32(0.0f), c##r##1 = vdupq_n_f32(0.0f);
#define ROW_PTR(r) const float *a##r = a[s * MR + (r)];
#define ROW_FMA(r) { \
        const float32x4_t av = vld1q_dup_f32(a##r + k); \
        c##r##0 = vfmaq_f32(c##r##0, av, w0); \
        c##r##1 = vfmaq_f32(c##r##1, av, w1); }
#define ROW_SAVE(r) acc[r][0] = c##r##0; acc[r][1] = c##r##1;

void kern_f32_igemm_8x8__neon(size_t mr, size_t nc, size_t kc, size_t ks,
                              const float *const *a, const float *w,
                              float *c, size_t ldc, const float *res, size_t ldr,
                              const kern_epilogue *ep, size_t n0)
{
    ep = kern_ep_or_none(ep);
    if (mr == 0 || nc == 0)
        return;
    ROW_DECL(0) ROW_DECL(1) ROW_DECL(2) ROW_DECL(3)
    ROW_DECL(4) ROW_DECL(5) ROW_DECL(6) ROW_DECL(7)
    for (size_t s = 0; s < ks; s++) {
        ROW_PTR(0) ROW_PTR(1) ROW_PTR(2) ROW_PTR(3)
        ROW_PTR(4) ROW_PTR(5) ROW_PTR(6) ROW_PTR(7)
        for (size_t k = 0; k < kc; k++) {
            const float32x4_t w0 = vld1q_f32(w);
            const float32x4_t w1 = vld1q_f32(w + 4);
            w += NR;
            ROW_FMA(0) ROW_FMA(1) ROW_FMA(2) ROW_FMA(3)
            ROW_FMA(4) ROW_FMA(5) ROW_FMA(6) ROW_FMA(7)
        }
    }
    float32x4_t acc[MR][2];
    ROW_SAVE(0) ROW_SAVE(1) ROW_SAVE(2) ROW_SAVE(3)
    ROW_SAVE(4) ROW_SAVE(5) ROW_SAVE(6) ROW_SAVE(7)

    if (nc < NR) {
        for (size_t r = 0; r < mr; r++) {
            float t[NR];
            vst1q_f32(t, acc[r][0]);
            vst1q_f32(t + 4, acc[r][1]);
            for (size_t j = 0; j < nc; j++)
                c[r * ldc + j] = kern_ep1(t[j], ep, n0 + j, res ? &res[r * ldr + j] : NULL);
        }
        return;
    }
    const float32x4_t zero = vdupq_n_f32(0.0f);
    const float32x4_t b0 = ep->bias ? vld1q_f32(ep->bias + n0) : zero;
    const float32x4_t b1 = ep->bias ? vld1q_f32(ep->bias + n0 + 4) : zero;
    const int act = ep->act;
    const float32x4_t s0 = act == KERN_ACT_PRELU ? vld1q_f32(ep->slope + n0) : zero;
    const float32x4_t s1 = act == KERN_ACT_PRELU ? vld1q_f32(ep->slope + n0 + 4) : zero;
    const float32x4_t lo = vdupq_n_f32(ep->lo), hi = vdupq_n_f32(ep->hi);
    for (size_t r = 0; r < mr; r++) {
        float32x4_t y0 = vaddq_f32(acc[r][0], b0), y1 = vaddq_f32(acc[r][1], b1);
        if (res) {
            y0 = vaddq_f32(y0, vld1q_f32(res + r * ldr));
            y1 = vaddq_f32(y1, vld1q_f32(res + r * ldr + 4));
        }
        vst1q_f32(c + r * ldc, act4(y0, act, s0, lo, hi));
        vst1q_f32(c + r * ldc + 4, act4(y1, act, s1, lo, hi));
    }
}
