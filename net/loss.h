/* loss.h - classification losses of `mint train-model` (issue 10): softmax
 * cross-entropy and the face-identity margin heads of arcface_torch.
 *
 * Conventions are those of net/train_ops.h: float32 row-major, parameter
 * gradients ACCUMULATED (+=), input gradients overwritten, NULL skips a
 * gradient, no allocation (scratch sizes in floats, the caller's buffer
 * 64-byte aligned), OpenMP over rows, every reduction in a fixed order:
 * the results do not depend on the thread count.
 *
 * Semantics follow PyTorch (tools/gen_loss_optim_golden.py, the golden
 * reference of tests/test_loss_optim.c):
 *  - F.cross_entropy(logits, labels) with the mean over the n rows:
 *      loss_i = log(sum_c exp(z_ic)) - z_i,label;
 *      dz_ic  = gscale * (softmax(z_i)_c - [c == label]) / n.
 *    The per-row sum and the loss are accumulated in double (so the loss
 *    never goes to inf where a probability underflows, unlike arcface_torch's
 *    DistCrossEntropy that clamps p at 1e-30).
 *  - The margin head is arcface_torch's PartialFC_V2 at sample_rate 1 (one
 *    process, every class) followed by CombinedMarginLoss(s, m1, m2, m3) and
 *    the cross-entropy above:
 *      cos_ic = clamp(normalize(emb_i) . normalize(W_c), -1, 1),
 *               normalize(x) = x / max(||x||_2, 1e-12) (F.normalize);
 *      the target logit (c = label) gets the margin:
 *        ArcFace (m1 = 1, m3 = 0):  f(x) = cos(acos(x) + m2)
 *                                        = x cos m2 - sqrt(1 - x^2) sin m2
 *            when x > cos(pi - m2), else x - m2 sin(pi - m2) (the fallback
 *            that keeps the logit decreasing where theta + m2 > pi);
 *        CosFace (m3 > 0, m2 = 0):  f(x) = x - m3;
 *      logits = s * (target ? f(cos) : cos); loss = cross-entropy.
 *    This is the differentiable ArcFace of arcface_torch up to commit
 *    657ae30e (Dec 2022): the gradient runs through f, f'(x) = cos m2 +
 *    sin m2 * x / sqrt(1 - x^2) with 1 - x^2 floored at FLT_EPSILON (PyTorch
 *    gives inf at x = +-1). Later arcface_torch applies the margin under
 *    no_grad (a straight-through gradient, no fallback); mint keeps the exact
 *    gradient. The clamp passes the gradient for -1 <= x <= 1 only, as
 *    torch.clamp. m1 != 1 is unsupported (arcface_torch raises too).
 *    s = 0 is a plain linear classifier: logits = emb W^T (no normalisation,
 *    no margin, no clamp). */
#ifndef MINT_NET_LOSS_H
#define MINT_NET_LOSS_H

#include <stddef.h>
#include "mint.h"

/* Mean softmax cross-entropy over n rows of `classes` logits [n][classes].
 * labels [n] in [0, classes). *loss = the mean (double). dlogits [n][classes]
 * (NULL: skip) = gscale * d(mean loss)/dlogits (overwritten). *correct (NULL:
 * skip) = rows whose argmax (first maximum) is the label.
 * MINT_E_ARG for n <= 0, classes <= 0, a NULL input or a label out of range. */
mint_status net_softmax_xent(const float *logits, const int *labels, int n, int classes,
                             float *dlogits, float gscale, double *loss, int *correct);

/* CombinedMarginLoss parameters: ArcFace = {64, 1, 0.5, 0}, CosFace =
 * {64, 1, 0, 0.4}; s = 0: a plain linear classifier. */
typedef struct {
    float s, m1, m2, m3;
} net_margin;
#define NET_MARGIN_ARCFACE { 64.0f, 1.0f, 0.5f, 0.0f }
#define NET_MARGIN_COSFACE { 64.0f, 1.0f, 0.0f, 0.4f }

/* Scratch of net_margin_head in floats (64-byte aligned buffer). */
size_t net_margin_head_scratch(int n, int d, int classes);

/* Margin head + cross-entropy. emb [n][d], W [classes][d], labels [n].
 * *loss = the mean loss; demb [n][d] (NULL: skip) overwritten and dW
 * [classes][d] (NULL: skip) ACCUMULATED with gscale * d(mean loss)/d(.);
 * *correct (NULL: skip) = rows whose largest cosine (largest logit when
 * s = 0; no margin) is the label's.
 * MINT_E_ARG for bad shapes, NULL inputs, labels out of range, or margins
 * out of range (s < 0, m2 outside [0, pi), m3 < 0, m2 and m3 both set);
 * MINT_E_UNSUPPORTED for m1 != 1. */
mint_status net_margin_head(const net_margin *mg, const float *emb, const float *W,
                            const int *labels, int n, int d, int classes, float *demb, float *dW,
                            float gscale, double *loss, int *correct, float *scratch);

#endif
