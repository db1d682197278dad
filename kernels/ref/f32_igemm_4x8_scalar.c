/* f32_igemm_4x8_scalar.c - reference indirect GEMM tile (4 rows x 8 columns).
 * Plain loops that follow the contract in kernels.h word for word; the
 * oracle of the SIMD kernels and the fallback on unknown CPUs. */
#include "kernels.h"
#include "epilogue.h"

enum { MR = 4, NR = 8 };

void kern_f32_igemm_4x8__scalar(size_t mr, size_t nc, size_t kc, size_t ks,
                                const float *const *a, const float *w,
                                float *c, size_t ldc, const float *res, size_t ldr,
                                const kern_epilogue *ep, size_t n0)
{
    float acc[MR][NR] = { { 0.0f } };
    ep = kern_ep_or_none(ep);
    for (size_t s = 0; s < ks; s++)
        for (size_t r = 0; r < mr; r++) {
            const float *ar = a[s * MR + r];
            const float *ws = w + s * kc * NR;
            for (size_t k = 0; k < kc; k++)
                for (size_t j = 0; j < NR; j++)
                    acc[r][j] += ar[k] * ws[k * NR + j];
        }
    for (size_t r = 0; r < mr; r++)
        for (size_t j = 0; j < nc; j++)
            c[r * ldc + j] = kern_ep1(acc[r][j], ep, n0 + j, res ? &res[r * ldr + j] : NULL);
}
