/* train_ops.h - forward/backward ops of the MINT trainer (issue 4).
 *
 * An op is a pair of plain functions, outputs first; the forward writes the
 * cache its backward needs (llm.c style). Shapes are in the comments, all
 * tensors are float32, row-major, activations NCHW (conv/pool) or [B][N].
 *
 * Conventions
 *  - Parameter gradients (dw, db, dgamma, ...) are ACCUMULATED (+=): the
 *    trainer zeroes its gradient arena once per step. Input gradients (din)
 *    are overwritten; din == NULL skips that computation.
 *  - No allocation inside: ops that need scratch say how much
 *    (net_*_scratch, in floats) and take a caller-owned 64-byte aligned
 *    buffer.
 *  - Threading is OpenMP at the op level and every output element is
 *    reduced by one thread in a fixed order, so results are bit-identical
 *    for any thread count on one machine (and ISA).
 *  - Dense and conv run through one GEMM seam (net_gemm) which drives the
 *    igemm microkernel of the active ISA table (kernels.h: scalar, AVX2,
 *    AVX-512, NEON); everything else is plain C loops.
 *
 * Semantics follow PyTorch (the golden reference, tools/make_train_golden.py):
 * Linear weight [out][in], Conv2d weight OIHW, BatchNorm1d with batch
 * statistics in training (biased variance for normalising, unbiased for the
 * running variance, momentum 0.1 as PyTorch counts it, i.e.
 * running = 0.9 * running + 0.1 * batch; eps 1e-5), inverted dropout,
 * BCEWithLogitsLoss (mean), MaxPool2d(2) (floor, first maximum wins, NaN
 * propagates). */
#ifndef MINT_NET_TRAIN_OPS_H
#define MINT_NET_TRAIN_OPS_H

#include <stddef.h>
#include <stdint.h>

/* Widest NR of any igemm table, for sizing scratch once for every ISA. */
#define NET_GEMM_NR_MAX 64

/* ---- GEMM seam ----
 * C[M][N] (row stride ldc) = A[M][K] (row stride lda) x B[K][N]
 *                            (+ bias[n]) (+ C if accumulate)
 * B is given packed in the active ISA's NR-column panels, made by
 * net_gemm_pack from any strided layout: B(k, n) = src[k*sk + n*sn]. */
size_t net_gemm_packed_floats(int K, int N); /* size of a packed B, any ISA */
void net_gemm_pack(float *bp, const float *src, int K, int N, size_t sk, size_t sn);
void net_gemm(float *c, size_t ldc, const float *a, size_t lda, const float *bp, int M, int N,
              int K, const float *bias, int accumulate);

/* ---- Dense (fully connected) ----
 * in [B][I], w [O][I], b [O] -> out [B][O] = in w^T + b.  cache: in. */
size_t net_dense_scratch(int B, int I, int O);
void net_dense_forward(float *out, const float *in, const float *w, const float *b, int B,
                       int I, int O, float *scratch);
/* din [B][I] (NULL: skip); dw [O][I] +=, db [O] += (db may be NULL). */
void net_dense_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                        const float *w, int B, int I, int O, float *scratch);

/* ---- Conv2d 3x3, stride 1, zero padding 1 ----
 * in [B][C][H][W], w [F][C][3][3], b [F] -> out [B][F][H][W].  cache: in. */
typedef struct {
    int B, C, H, W, F;
} net_conv3x3_shape;
size_t net_conv3x3_scratch(const net_conv3x3_shape *s);
void net_conv3x3_forward(float *out, const float *in, const float *w, const float *b,
                         const net_conv3x3_shape *s, float *scratch);
/* din [B][C][H][W] (NULL: skip); dw [F][C][3][3] +=, db [F] +=. */
void net_conv3x3_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                          const float *w, const net_conv3x3_shape *s, float *scratch);

/* ---- ReLU ----
 * out[i] = max(in[i], 0) (out may be in).  cache: out.
 * backward: din[i] = out[i] > 0 ? dout[i] : 0 (din may be dout). */
void net_relu_forward(float *out, const float *in, size_t n);
void net_relu_backward(float *din, const float *dout, const float *out, size_t n);

/* ---- MaxPool 2x2, stride 2, no padding (floor: an odd last row/column is
 * dropped, as Keras MaxPooling2D 'valid' and PyTorch MaxPool2d(2)) ----
 * in [B][C][H][W] -> out [B][C][H/2][W/2], arg [B][C][H/2][W/2] = index
 * 0..3 of the maximum in its window (dy*2+dx).  cache: arg. */
void net_maxpool2_forward(float *out, uint8_t *arg, const float *in, int B, int C, int H, int W);
/* din [B][C][H][W] overwritten (zeros outside the maxima). */
void net_maxpool2_backward(float *din, const float *dout, const uint8_t *arg, int B, int C, int H,
                           int W);

/* ---- BatchNorm over the batch of [B][N] features ----
 * Training: mean/var of the batch (biased var), out = xhat*gamma + beta with
 * xhat = (in - mean) / sqrt(var + eps); caches xhat [B][N] and invstd [N];
 * running_mean/var (if not NULL) <- (1-momentum)*running + momentum*batch,
 * the batch variance unbiased (B/(B-1)) as PyTorch. B >= 2. */
void net_bn_forward_train(float *out, float *xhat, float *invstd, const float *in,
                          const float *gamma, const float *beta, float *running_mean,
                          float *running_var, int B, int N, float momentum, float eps);
/* Evaluation: running statistics. */
void net_bn_forward_eval(float *out, const float *in, const float *gamma, const float *beta,
                         const float *running_mean, const float *running_var, int B, int N,
                         float eps);
/* din [B][N] overwritten (may be NULL); dgamma, dbeta [N] +=. */
void net_bn_backward(float *din, float *dgamma, float *dbeta, const float *dout,
                     const float *xhat, const float *gamma, const float *invstd, int B, int N);

/* ---- Dropout (inverted) ----
 * mask[i] = 1 keeps element i (probability 1-p), drawn from a counter-based
 * hash of (seed, counter0 + i): any thread count gives the same mask.
 * forward: out = mask ? in * 1/(1-p) : 0 (out may be in); cache: mask.
 * backward: din = mask ? dout * 1/(1-p) : 0 (din may be dout). p in [0,1). */
void net_dropout_mask(uint8_t *mask, size_t n, float p, uint64_t seed, uint64_t counter0);
void net_dropout_forward(float *out, const float *in, const uint8_t *mask, size_t n, float p);
void net_dropout_backward(float *din, const float *dout, const uint8_t *mask, size_t n, float p);

/* ---- Sigmoid + binary cross-entropy from logits (mean over B) ----
 * loss_i = max(z,0) - z*y + log1p(exp(-|z|))   (never overflows; equal to
 * -[y log s + (1-y) log(1-s)] with s = sigmoid(z)). Returns the mean in
 * double. backward: dz_i = (sigmoid(z_i) - y_i) * dloss / B. */
double net_bce_logits_forward(const float *z, const float *y, int B);
void net_bce_logits_backward(float *dz, const float *z, const float *y, int B, float dloss);
/* s = 1 / (1 + exp(-z)), computed without overflow. */
float net_sigmoid(float z);

/* ---- L1 penalty lambda * sum |w| ----
 * backward: dw += lambda * sign(w) (subgradient 0 at w == 0, torch.sign). */
double net_l1_forward(const float *w, size_t n, float lambda);
void net_l1_backward(float *dw, const float *w, size_t n, float lambda);

#endif
