/* optim.c - SGD, Adam and AdamW as torch.optim (1.13, single-tensor path),
 * and the learning-rate schedules of net/optim.h (formulas there).
 *
 * The state of every tensor sits in one 64-byte-aligned arena: tensor i
 * owns nbufs slices of sizes[i] floats, each slice rounded up to 16 floats. */
#include "net/optim.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* element counts below which an update stays on one thread */
#define PAR_MIN_WORK ((size_t)1 << 18)

struct net_optim {
    net_optim_cfg c;
    int nparams, nbufs;
    size_t *sizes, *offs; /* offs[i]: first float of tensor i's state */
    float *arena;
    int64_t step;
};

void net_adam_update(float *w, const float *g, float *m, float *v, size_t n, int64_t t,
                     double lr, double beta1, double beta2, double eps, double weight_decay,
                     int decoupled)
{
    const double bc1 = 1.0 - pow(beta1, (double)t);
    const double bc2 = 1.0 - pow(beta2, (double)t);
    const float step = (float)(lr / bc1);
    const float bc2s = (float)sqrt(bc2);
    const float b1 = (float)beta1, b2 = (float)beta2;
    const float omb1 = (float)(1.0 - beta1), omb2 = (float)(1.0 - beta2);
    const float fe = (float)eps;
    /* Adam: L2 folded into the gradient; AdamW: p *= 1 - lr wd first */
    const float l2 = decoupled ? 0.0f : (float)weight_decay;
    const float shrink = (float)(1.0 - lr * weight_decay);
    const int do_shrink = decoupled && weight_decay != 0.0;
    /* one loop per case, so each vectorises; the same arithmetic in all */
    if (do_shrink) {
#pragma omp parallel for schedule(static) if (n > PAR_MIN_WORK)
        for (size_t i = 0; i < n; i++) {
            const float p = w[i] * shrink, gi = g[i];
            const float mi = m[i] * b1 + gi * omb1;
            const float vi = v[i] * b2 + omb2 * gi * gi;
            m[i] = mi;
            v[i] = vi;
            w[i] = p - step * (mi / (sqrtf(vi) / bc2s + fe));
        }
    } else if (l2 != 0.0f) {
#pragma omp parallel for schedule(static) if (n > PAR_MIN_WORK)
        for (size_t i = 0; i < n; i++) {
            const float p = w[i], gi = g[i] + l2 * p;
            const float mi = m[i] * b1 + gi * omb1;
            const float vi = v[i] * b2 + omb2 * gi * gi;
            m[i] = mi;
            v[i] = vi;
            w[i] = p - step * (mi / (sqrtf(vi) / bc2s + fe));
        }
    } else {
#pragma omp parallel for schedule(static) if (n > PAR_MIN_WORK)
        for (size_t i = 0; i < n; i++) {
            const float gi = g[i];
            const float mi = m[i] * b1 + gi * omb1;
            const float vi = v[i] * b2 + omb2 * gi * gi;
            m[i] = mi;
            v[i] = vi;
            w[i] -= step * (mi / (sqrtf(vi) / bc2s + fe));
        }
    }
}

void net_sgd_update(float *w, const float *g, float *buf, size_t n, double lr, double momentum,
                    int nesterov, double weight_decay, int first)
{
    const float flr = (float)lr, mom = (float)momentum, wd = (float)weight_decay;
    if (momentum == 0.0 || !buf) {
#pragma omp parallel for schedule(static) if (n > PAR_MIN_WORK)
        for (size_t i = 0; i < n; i++)
            w[i] -= flr * (wd != 0.0f ? g[i] + wd * w[i] : g[i]);
        return;
    }
    /* the first step starts the buffer with d (PyTorch clones it) */
#pragma omp parallel for schedule(static) if (n > PAR_MIN_WORK)
    for (size_t i = 0; i < n; i++) {
        const float d = wd != 0.0f ? g[i] + wd * w[i] : g[i];
        const float b = first ? d : buf[i] * mom + d;
        buf[i] = b;
        w[i] -= flr * (nesterov ? d + mom * b : b);
    }
}

static mint_status check_cfg(const net_optim_cfg *c)
{
    if (!(c->weight_decay >= 0.0) || !isfinite(c->weight_decay))
        return mint_fail(MINT_E_ARG, "optimiser: weight_decay %g must be >= 0", c->weight_decay);
    switch (c->kind) {
    case NET_OPT_SGD:
        if (!(c->momentum >= 0.0 && c->momentum < 1.0))
            return mint_fail(MINT_E_ARG, "optimiser: SGD momentum %g outside [0, 1)",
                             c->momentum);
        if (c->nesterov && c->momentum == 0.0)
            return mint_fail(MINT_E_ARG, "optimiser: Nesterov SGD needs momentum > 0");
        return MINT_OK;
    case NET_OPT_ADAM:
    case NET_OPT_ADAMW:
        if (!(c->beta1 >= 0.0 && c->beta1 < 1.0) || !(c->beta2 >= 0.0 && c->beta2 < 1.0))
            return mint_fail(MINT_E_ARG, "optimiser: Adam betas %g, %g outside [0, 1)", c->beta1,
                             c->beta2);
        if (!(c->eps > 0.0))
            return mint_fail(MINT_E_ARG, "optimiser: Adam eps %g must be > 0", c->eps);
        return MINT_OK;
    }
    return mint_fail(MINT_E_ARG, "optimiser: unknown kind %d", (int)c->kind);
}

mint_status net_optim_create(net_optim **out, const net_optim_cfg *c, int nparams,
                             const size_t *sizes)
{
    if (!out || !c || nparams <= 0 || !sizes)
        return mint_fail(MINT_E_ARG, "optimiser: bad arguments (%d tensors)", nparams);
    *out = NULL;
    mint_status st = check_cfg(c);
    if (st != MINT_OK)
        return st;
    const int nbufs = c->kind == NET_OPT_SGD ? (c->momentum != 0.0) : 2;
    size_t total = 0;
    for (int i = 0; i < nparams; i++) {
        if (sizes[i] == 0 || sizes[i] > ((size_t)1 << 40))
            return mint_fail(MINT_E_ARG, "optimiser: tensor %d has %zu elements", i, sizes[i]);
        total += (sizes[i] + 15) / 16 * 16 * (size_t)nbufs;
    }
    net_optim *o = calloc(1, sizeof *o);
    if (!o)
        return mint_fail(MINT_E_NOMEM, "optimiser: out of memory");
    o->c = *c;
    o->nparams = nparams, o->nbufs = nbufs;
    o->sizes = malloc((size_t)nparams * sizeof *o->sizes);
    o->offs = malloc((size_t)nparams * sizeof *o->offs);
    o->arena = aligned_alloc(64, (total ? total : 16) * sizeof(float));
    if (!o->sizes || !o->offs || !o->arena) {
        net_optim_destroy(o);
        return mint_fail(MINT_E_NOMEM, "optimiser: out of memory (%zu floats of state)", total);
    }
    memset(o->arena, 0, (total ? total : 16) * sizeof(float));
    size_t off = 0;
    for (int i = 0; i < nparams; i++) {
        o->sizes[i] = sizes[i], o->offs[i] = off;
        off += (sizes[i] + 15) / 16 * 16 * (size_t)nbufs;
    }
    *out = o;
    return MINT_OK;
}

void net_optim_destroy(net_optim *o)
{
    if (!o)
        return;
    free(o->arena);
    free(o->sizes);
    free(o->offs);
    free(o);
}

void net_optim_begin_step(net_optim *o)
{
    o->step++;
}

int64_t net_optim_step(const net_optim *o)
{
    return o->step;
}

void net_optim_set_step(net_optim *o, int64_t step)
{
    o->step = step;
}

mint_status net_optim_state(net_optim *o, int i, float **bufs, int *nbufs)
{
    if (!o || i < 0 || i >= o->nparams || !nbufs)
        return mint_fail(MINT_E_ARG, "optimiser: no tensor %d", i);
    const size_t slice = (o->sizes[i] + 15) / 16 * 16;
    for (int b = 0; b < o->nbufs; b++)
        if (bufs)
            bufs[b] = o->arena + o->offs[i] + (size_t)b * slice;
    *nbufs = o->nbufs;
    return MINT_OK;
}

void net_optim_update(net_optim *o, int i, float *w, const float *g, double lr, int decay)
{
    const size_t n = o->sizes[i], slice = (n + 15) / 16 * 16;
    float *s = o->arena + o->offs[i];
    const double wd = decay ? o->c.weight_decay : 0.0;
    const int64_t t = o->step > 0 ? o->step : 1;
    switch (o->c.kind) {
    case NET_OPT_SGD:
        net_sgd_update(w, g, o->nbufs ? s : NULL, n, lr, o->c.momentum, o->c.nesterov, wd,
                       t == 1);
        break;
    case NET_OPT_ADAM:
    case NET_OPT_ADAMW:
        net_adam_update(w, g, s, s + slice, n, t, lr, o->c.beta1, o->c.beta2, o->c.eps, wd,
                        o->c.kind == NET_OPT_ADAMW);
        break;
    }
}

/* ---------------- learning-rate schedules ---------------- */

mint_status net_lr_check(const net_lr_sched *s, int64_t total)
{
    if (!s || total <= 0)
        return mint_fail(MINT_E_ARG, "lr schedule: %lld total steps", (long long)total);
    if (!(s->base > 0.0) || !isfinite(s->base))
        return mint_fail(MINT_E_ARG, "lr schedule: base lr %g must be > 0", s->base);
    if (s->warmup < 0 || s->warmup >= total)
        return mint_fail(MINT_E_ARG, "lr schedule: warmup %lld outside [0, %lld)",
                         (long long)s->warmup, (long long)total);
    switch (s->kind) {
    case NET_LR_CONST:
        return MINT_OK;
    case NET_LR_STEP:
        if (!(s->gamma > 0.0) || !isfinite(s->gamma))
            return mint_fail(MINT_E_ARG, "lr schedule: gamma %g must be > 0", s->gamma);
        if (s->nmilestones < 0 || s->nmilestones > NET_LR_MAX_MILESTONES)
            return mint_fail(MINT_E_ARG, "lr schedule: %d milestones (at most %d)",
                             s->nmilestones, NET_LR_MAX_MILESTONES);
        for (int k = 0; k < s->nmilestones; k++)
            if (s->milestones[k] < 0 || (k && s->milestones[k] <= s->milestones[k - 1]))
                return mint_fail(MINT_E_ARG,
                                 "lr schedule: milestones must be >= 0 and ascending "
                                 "(milestone %d is %lld)",
                                 k + 1, (long long)s->milestones[k]);
        return MINT_OK;
    case NET_LR_COSINE:
        if (!(s->min_lr >= 0.0 && s->min_lr <= s->base))
            return mint_fail(MINT_E_ARG, "lr schedule: min lr %g outside [0, base %g]",
                             s->min_lr, s->base);
        return MINT_OK;
    case NET_LR_POLY:
        if (!(s->power > 0.0) || !isfinite(s->power))
            return mint_fail(MINT_E_ARG, "lr schedule: power %g must be > 0", s->power);
        return MINT_OK;
    }
    return mint_fail(MINT_E_ARG, "lr schedule: unknown kind %d", (int)s->kind);
}

double net_lr_at(const net_lr_sched *s, int64_t step, int64_t total)
{
    if (net_lr_check(s, total) != MINT_OK)
        return s ? s->base : 0.0;
    if (step < 0)
        step = 0;
    if (step < s->warmup)
        return s->base * (double)step / (double)s->warmup;
    const int64_t j = step - s->warmup, T = total - s->warmup;
    switch (s->kind) {
    case NET_LR_CONST:
        break;
    case NET_LR_STEP: {
        int k = 0;
        while (k < s->nmilestones && s->milestones[k] <= step)
            k++;
        return s->base * pow(s->gamma, k);
    }
    case NET_LR_COSINE:
        if (j >= T)
            return s->min_lr;
        return s->min_lr + (s->base - s->min_lr) * (1.0 + cos(M_PI * (double)j / (double)T)) / 2;
    case NET_LR_POLY:
        return s->base * pow(1.0 - (double)(j < T ? j : T) / (double)T, s->power);
    }
    return s->base;
}
