/* optim.h - optimisers and learning-rate schedules of `mint train-model`
 * (issue 10), with torch.optim's semantics (PyTorch 1.13, single-tensor
 * path, the golden reference of tests/test_loss_optim.c).
 *
 * Per parameter tensor p with gradient g, at shared step t = 1, 2, ...
 * (wd = weight_decay, or 0 for a tensor updated with decay = 0):
 *  SGD   (dampening 0)  d = g + wd p;  buf = t == 1 ? d : momentum buf + d;
 *                       d = nesterov ? d + momentum buf : buf  (momentum > 0);
 *                       p -= lr d
 *  Adam  (L2 decay)     g' = g + wd p;  m = b1 m + (1 - b1) g';
 *                       v = b2 v + (1 - b2) g'^2;
 *                       p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 *  AdamW (decoupled)    p *= 1 - lr wd;  then Adam's update with g' = g.
 * The bias corrections are computed in double from t; lr / (1 - b1^t) and
 * sqrt(1 - b2^t) are rounded to float once, the element loop is float (as
 * ATen's kernels). Updates are element-wise: any thread count gives the
 * same bits. */
#ifndef MINT_NET_OPTIM_H
#define MINT_NET_OPTIM_H

#include <stddef.h>
#include <stdint.h>
#include "mint.h"

typedef enum { NET_OPT_SGD, NET_OPT_ADAM, NET_OPT_ADAMW } net_opt_kind;

typedef struct {
    net_opt_kind kind;
    double momentum;     /* SGD; 0 = plain SGD (no buffer) */
    int nesterov;        /* SGD; needs momentum > 0 */
    double beta1, beta2; /* Adam/AdamW (PyTorch defaults 0.9, 0.999) */
    double eps;          /* Adam/AdamW (1e-8) */
    double weight_decay; /* L2 (SGD, Adam) or decoupled (AdamW); >= 0 */
} net_optim_cfg;

typedef struct net_optim net_optim;

/* nparams tensors of sizes[i] floats (> 0). The state (momentum buffers or
 * Adam's m and v) lives in one 64-byte-aligned arena, zeroed; step 0.
 * MINT_E_ARG for a bad configuration, MINT_E_NOMEM. */
mint_status net_optim_create(net_optim **o, const net_optim_cfg *c, int nparams,
                             const size_t *sizes);
void net_optim_destroy(net_optim *o); /* NULL is fine */

/* Start step t+1 (once per optimiser step, before its updates). */
void net_optim_begin_step(net_optim *o);
/* Update tensor i: w -= ... from its gradient g (both sizes[i] floats), at
 * learning rate lr; decay = 0 skips the weight decay for this tensor
 * (biases, BatchNorm and PReLU parameters, as arcface_torch's SGD does not
 * do; the caller chooses). */
void net_optim_update(net_optim *o, int i, float *w, const float *g, double lr, int decay);

/* Checkpoints: the state is the step count and, per tensor i, nbufs
 * buffers of sizes[i] floats each (SGD with momentum: 1, the momentum
 * buffer; plain SGD: 0; Adam/AdamW: 2, m then v). net_optim_state gives
 * pointers INTO the optimiser: read them to save, write them to restore
 * (then net_optim_set_step). MINT_E_ARG for i out of range. */
mint_status net_optim_state(net_optim *o, int i, float **bufs, int *nbufs);
int64_t net_optim_step(const net_optim *o);
void net_optim_set_step(net_optim *o, int64_t step);

/* The element loops, on caller-owned state (used by net_optim and by the
 * MINT trainer, whose Adam moments live in its model arena).
 * Adam/AdamW at step t >= 1; decoupled != 0 is AdamW. */
void net_adam_update(float *w, const float *g, float *m, float *v, size_t n, int64_t t,
                     double lr, double beta1, double beta2, double eps, double weight_decay,
                     int decoupled);
/* SGD (buf may be NULL when momentum == 0); first != 0 starts the buffer. */
void net_sgd_update(float *w, const float *g, float *buf, size_t n, double lr, double momentum,
                    int nesterov, double weight_decay, int first);

/* ---- learning-rate schedules ----
 * lr at optimiser step `step` (0-based) of `total` steps:
 *  warmup > 0 and step < warmup:  base * step / warmup (a linear ramp from 0,
 *      arcface_torch's PolynomialLRWarmup closed form);
 *  afterwards, with j = step - warmup and T = total - warmup:
 *   CONST   base
 *   STEP    base * gamma^(number of milestones <= step)  (MultiStepLR;
 *           milestones are absolute steps, ascending)
 *   COSINE  min_lr + (base - min_lr) * (1 + cos(pi * j / T)) / 2
 *           (CosineAnnealingLR with T_max = T, eta_min = min_lr; j >= T
 *           gives min_lr)
 *   POLY    base * (1 - min(j, T) / T)^power  (PolynomialLRWarmup; 2 as
 *           arcface_torch's PolyScheduler)
 * Steps are counted per optimiser step, or per epoch by passing the epoch
 * and the number of epochs. Invalid settings (caught by net_lr_check)
 * return base. */
typedef enum { NET_LR_CONST, NET_LR_STEP, NET_LR_COSINE, NET_LR_POLY } net_lr_kind;
#define NET_LR_MAX_MILESTONES 8
typedef struct {
    net_lr_kind kind;
    double base;
    double gamma;                              /* STEP */
    int64_t milestones[NET_LR_MAX_MILESTONES]; /* STEP, ascending */
    int nmilestones;
    int64_t warmup; /* steps of linear warmup (0: none) */
    double min_lr;  /* COSINE */
    double power;   /* POLY */
} net_lr_sched;

/* MINT_E_ARG naming the bad field (base <= 0, milestones not ascending,
 * warmup >= total, ...). */
mint_status net_lr_check(const net_lr_sched *s, int64_t total);
double net_lr_at(const net_lr_sched *s, int64_t step, int64_t total);

#endif
