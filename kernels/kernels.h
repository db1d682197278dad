/* kernels.h - compute kernels of mint: microkernels (per ISA), their scalar
 * references, the dispatch table and the portable op drivers that thread
 * them with OpenMP.
 *
 * Layout conventions: activations are NHWC (channels innermost) float32.
 * Convolution weights come in canonical ONNX layout OIHW and are packed once
 * into the microkernel layout (see kern_conv_pack).
 *
 * Microkernel contract (XNNPACK style): pointers, sizes, strides and a small
 * params struct; no allocation, no threads, no globals; never read or write
 * past the given extents (tails by masks or scalar loops). */
#ifndef MINT_KERNELS_H
#define MINT_KERNELS_H

#include <stddef.h>
#include <stdint.h>
#include "mint.h"

/* Activation fused into an epilogue. */
enum { KERN_ACT_NONE = 0, KERN_ACT_RELU, KERN_ACT_PRELU, KERN_ACT_CLIP };

/* Epilogue of GEMM-type kernels, applied per output element (row r, column n):
 *   y = act(acc + bias[n] + res[r][n])
 * bias: per output column (NULL = 0); res: residual, same layout as the
 * output with its own row stride (NULL = none); act: KERN_ACT_*, with
 * slope[n] for PRELU (y<0 -> y*slope[n]) and [lo, hi] for CLIP (RELU is
 * max(y,0)). Column-indexed arrays are indexed by the absolute column,
 * i.e. the microkernel adds its column offset n0. */
typedef struct {
    const float *bias;
    const float *slope;
    float lo, hi;
    int act;
} kern_epilogue;

/* ---- microkernel signatures ---- */

/* Indirect GEMM tile (convolution and fully connected):
 *   for r < mr, j < nc:
 *     acc = sum_{s<ks} sum_{k<kc} a[s*MR + r][k] * w[(s*kc + k)*NR + j]
 *     c[r*ldc + j] = epilogue(acc) with column n0+j, residual res[r*ldr + j]
 * a: ks*MR row pointers (rows r >= mr may repeat a valid pointer and are
 *    never stored); a pointer may be the zero buffer for padding.
 * w: one packed NR-column panel, [ks][kc][NR], zero padded to NR columns.
 * mr <= MR, 1 <= nc <= NR. res may equal c (accumulate into the output):
 * each residual element is read before the same element is stored. */
typedef void kern_igemm_ukernel(size_t mr, size_t nc, size_t kc, size_t ks,
                              const float *const *a, const float *w,
                              float *c, size_t ldc, const float *res, size_t ldr,
                              const kern_epilogue *ep, size_t n0);

/* Depthwise convolution of one output pixel over `channels` channels:
 *   acc[ch] = sum_{s<ks} in[s][ch] * w[s*channels + ch]
 *   out[ch] = epilogue(acc[ch]) with column ch (no residual). */
typedef void kern_dwconv_ukernel(size_t channels, size_t ks, const float *const *in,
                               const float *w, float *out, const kern_epilogue *ep);

/* y[r*ch + c] = x[r*ch + c] * scale[c] + shift[c]  (inference BatchNorm) */
typedef void kern_affine_ukernel(size_t rows, size_t ch, const float *x,
                               const float *scale, const float *shift, float *y);
/* y = x >= 0 ? x : x * slope[c]  (per-channel PReLU; ch==1 for shared slope) */
typedef void kern_prelu_ukernel(size_t rows, size_t ch, const float *x,
                              const float *slope, float *y);
/* y = min(max(x, lo), hi)  (ReLU is lo=0, hi=+inf) */
typedef void kern_clip_ukernel(size_t n, const float *x, float lo, float hi, float *y);
/* y = a + b */
typedef void kern_add_ukernel(size_t n, const float *a, const float *b, float *y);

/* Per-channel maximum over H x W of NCHW maps (global max pooling):
 *   y[c] = max_{k<hw} x[c*hw + k],  hw >= 1.
 * One NaN rule on every path, as torch.amax: a channel holding a NaN gives
 * a NaN (its first NaN in memory order, bits kept). Among equal maxima the
 * first in memory order wins (+0 vs -0), so every ISA returns the scalar
 * reference's bits. y may equal x (each channel is read before y[c] is
 * written, channels in order). */
typedef void kern_chmax_ukernel(size_t channels, size_t hw, const float *x, float *y);

typedef kern_igemm_ukernel *kern_igemm_fn;
typedef kern_dwconv_ukernel *kern_dwconv_fn;
typedef kern_affine_ukernel *kern_affine_fn;
typedef kern_prelu_ukernel *kern_prelu_fn;
typedef kern_clip_ukernel *kern_clip_fn;
typedef kern_add_ukernel *kern_add_fn;
typedef kern_chmax_ukernel *kern_chmax_fn;

/* A microkernel's tile (see kernels.inc). */
typedef struct {
    int m, n;
} kern_tile;

/* One ISA's table, filled from kernels.inc: one kernel per op, its name
 * (kern_f32_<op>_<tile>__<isa>) and its tile. igemm_tile is MR x NR:
 * conv and GEMM weights are packed for its NR. */
#define KERN_OPS(X) X(igemm) X(dwconv) X(affine) X(prelu) X(clip) X(add) X(chmax)
typedef struct {
    const char *name; /* "scalar", "avx2", "avx512", "neon" */
#define KERN_FIELDS(op) kern_##op##_fn op; const char *op##_name; kern_tile op##_tile;
    KERN_OPS(KERN_FIELDS)
#undef KERN_FIELDS
} kern_isa;

/* Declarations of every microkernel, from the one list. */
#define KERN_ISA(isa)
#define KERN_ISA_END(isa)
#define KERN(isa, op, tile, m, n) kern_##op##_ukernel kern_f32_##op##_##tile##__##isa;
#include "kernels.inc"
#undef KERN
#undef KERN_ISA
#undef KERN_ISA_END

/* ---- dispatch ---- */
/* The table in use (selected once: MINT_ISA env var, else best supported). */
const kern_isa *kern_active(void);
/* Table by name if compiled in and supported by this CPU/OS, else NULL. */
const kern_isa *kern_isa_find(const char *name);
/* All compiled-in tables this machine can run, best last; returns count. */
int kern_isa_available(const kern_isa **out, int max);
/* The scalar reference table (always available). */
const kern_isa *kern_scalar(void);

/* ---- op drivers (portable C, OpenMP inside) ---- */

/* Convolution geometry. Padding: top, left, bottom, right. */
typedef struct {
    int kh, kw;
    int sh, sw;
    int pt, pl, pb, pr;
    int dh, dw;
    int groups;
} kern_conv_geom;

/* Packed convolution (or fully connected when kh=kw=1 on a 1x1 input):
 * weights OIHW [cout][cin/groups][kh][kw], bias [cout] or NULL. Packing is
 * done for a given ISA table (its NR) and must be redone if it changes. */
typedef struct kern_conv kern_conv;
mint_status kern_conv_create(kern_conv **out, const kern_isa *isa, int cout, int cin,
                             const kern_conv_geom *g, const float *w_oihw,
                             const float *bias);
void kern_conv_destroy(kern_conv *c);
/* Refresh the packed weights (same OIHW shape as at create) and the bias
 * (NULL: none) in place, e.g. after a training step. */
mint_status kern_conv_repack(kern_conv *c, const float *w_oihw, const float *bias);
/* Output size of a conv on an h x w input (returns 0 on nonsense geometry). */
int kern_conv_out_dim(int in, int k, int stride, int pad0, int pad1, int dil);
/* Run on NHWC input [n][h][w][cin] -> output [n][oh][ow][cout].
 * res: optional residual with the output's shape (added before act).
 * act/slope/lo/hi: fused activation (see kern_epilogue; slope has cout
 * entries). Threads with OpenMP over output tiles. */
mint_status kern_conv_run(const kern_conv *c, const float *in, int n, int h, int w,
                          float *out, const float *res, int act, const float *slope,
                          float lo, float hi);

/* Backward of a convolution (kernels/conv_bwd.c), NHWC, groups 1 or
 * depthwise (groups == cin == cout; other groupings: MINT_E_UNSUPPORTED).
 * Planned once per layer for inputs of at most n_max x h x w (scratch
 * bounded, allocated here, none per run); run at every step with the
 * current OIHW weights:
 *   in   [n][h][w][cin]    the forward input
 *   dout [n][oh][ow][cout] gradient of the forward output
 *   din  [n][h][w][cin]    OVERWRITTEN with the input gradient (NULL: skip)
 *   dw   OIHW              ACCUMULATED += weight gradient (NULL: skip)
 *   db   [cout]            ACCUMULATED += bias gradient (NULL: skip)
 * w_oihw is needed for din only. The input gradient and the weight gradient
 * run on the igemm microkernel of `isa` (depthwise: its dwconv kernel).
 * Every output element is reduced in an order fixed by the shape and the
 * OpenMP thread count, so a run is bit-identical at a given thread count. */
typedef struct kern_conv_bwd kern_conv_bwd;
mint_status kern_conv_bwd_create(kern_conv_bwd **out, const kern_isa *isa, int cout, int cin,
                                 const kern_conv_geom *g, int n_max, int h, int w);
mint_status kern_conv_bwd_run(kern_conv_bwd *p, const float *w_oihw, const float *in, int n,
                              const float *dout, float *din, float *dw, float *db);
void kern_conv_bwd_destroy(kern_conv_bwd *p);

/* Element-wise drivers (threaded): same semantics as the microkernels. */
void kern_affine(const kern_isa *isa, size_t rows, size_t ch, const float *x,
                 const float *scale, const float *shift, float *y);
void kern_prelu(const kern_isa *isa, size_t rows, size_t ch, const float *x,
                const float *slope, float *y);
void kern_clip(const kern_isa *isa, size_t n, const float *x, float lo, float hi, float *y);
void kern_add(const kern_isa *isa, size_t n, const float *a, const float *b, float *y);
/* Channel maximum (kern_chmax_ukernel) on the calling thread: the one
 * global max pooling of extraction and training features. */
void kern_chmax(const kern_isa *isa, size_t channels, size_t hw, const float *x, float *y);

#endif
