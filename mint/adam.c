/* adam.c - Adam (Kingma & Ba, 2015) with torch.optim.Adam's update as
 * implemented in PyTorch 1.13 (_single_tensor_adam, no weight decay, no
 * amsgrad): bias corrections computed in double from the step count, the
 * denominator sqrt(v)/sqrt(1 - b2^t) + eps, then p -= lr/(1 - b1^t) * m/denom.
 * One loop over the whole parameter segment of the arena (padding has
 * g = 0, so m, v and p stay 0 there). */
#include <math.h>
#include "mint/train.h"

void mint_adam_step(float *p, const float *g, float *m, float *v, size_t n, int64_t t,
                    const mint_adam_cfg *c)
{
    const double bc1 = 1.0 - pow((double)c->beta1, (double)t);
    const double bc2 = 1.0 - pow((double)c->beta2, (double)t);
    const float step = (float)((double)c->lr / bc1);
    const float bc2s = (float)sqrt(bc2);
    const float b1 = c->beta1, b2 = c->beta2, omb1 = 1.0f - c->beta1, omb2 = 1.0f - c->beta2;
    const float eps = c->eps;
#pragma omp parallel for schedule(static) if (n > ((size_t)1 << 18))
    for (size_t i = 0; i < n; i++) {
        const float gi = g[i];
        const float mi = m[i] * b1 + gi * omb1;
        const float vi = v[i] * b2 + omb2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] -= step * (mi / (sqrtf(vi) / bc2s + eps));
    }
}
