/* train_graph.c - trainable view of a net_graph (see train_graph.h).
 *
 * Every tensor backward reads keeps its own activation buffer for the
 * batch_max given at create (the inputs of conv, BN, PReLU, ReLU/Clip and FC
 * nodes, as PyTorch's autograd keeps them), except the outputs of a BN (or
 * of a BN and the PReLU fused after it) that only convs read: those are
 * recomputed from the BN's kept input before each such conv's backward
 * (IResNet: bn1 -> conv1, bn2 -> prelu -> conv2; three of the six tensors
 * a block would keep). The others (IResNet's bn3 and downsample outputs,
 * read only by the Add) share buffers once dead. A BN whose output only a
 * PReLU reads runs with it as one pass, forward and backward, and its
 * output is never stored. Gradients of tensors live in reused
 * slots: the gradient of a tensor exists from the backward of its last
 * consumer to the backward of its producer (planned once at create, in
 * reverse node order); taps and the output have their own buffers. The
 * first consumer to write a tensor's gradient overwrites the slot, later
 * ones write into a scratch buffer that is then added (ops and the conv
 * backward overwrite their input gradient).
 *
 * Forward: convs run on kern_conv (the executor's packed igemm path, no
 * fusion: training needs the tensors in between; repacked at every call),
 * their backward on kern_conv_bwd (kernels/conv_bwd.c), element-wise ops on the
 * kernels' drivers, FC on net_gemm (net/train_ops.h). BN follows PyTorch's
 * CPU batch_norm: statistics in double, y = x * alpha + beta with
 * alpha = gamma * invstd, beta = bias - mean * alpha.
 *
 * Reductions over pixels (BN statistics and gradients, PReLU slopes) cut
 * the rows into blocks of RB rows that do not depend on the thread count;
 * each block sums in double, blocks are added in order: bit-identical
 * results for any thread count. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kernels.h"
#include "net/exec.h"
#include "net/train_graph.h"
#include "net/train_ops.h"

#define RB 256                      /* rows per reduction block */
#define PAR_MIN ((int64_t)1 << 16)  /* elements below which loops stay on one thread */
#define BN_MOMENTUM 0.1

struct net_tgraph {
    net_graph *g;
    const kern_isa *isa;
    int bmax, n, training, ran; /* ran: a forward ran (backward allowed) */
    float p;
    uint64_t seed, drawn;       /* dropout: seed, mask elements drawn so far */
    int64_t *numel;             /* per tensor: elements per image */
    float **act;                /* per tensor: [bmax][numel] NHWC, NULL if never computed */
    float **grad;               /* per tensor: gradient buffer (slot or own), NULL: none */
    char *own_grad;             /* per tensor: grad is its own buffer (taps, output) */
    char *own_act;              /* per tensor: act is its own buffer (else a shared slot) */
    float **aslots;             /* shared activation buffers */
    int naslots;
    char *ginit;                /* per tensor: gradient written in this backward */
    int *tap_tensor, ntaps;
    char **tap_name;
    kern_conv **conv;           /* per CONV node */
    kern_conv_bwd **cbwd;       /* per CONV node: its backward plan */
    float **pa, **pb;           /* per node: per-channel alpha/beta (BN, AFFINE), slope (PRELU) */
    float **mean, **invstd;     /* per BN node: statistics the last forward used */
    uint8_t **mask;             /* per FC node: dropout keep mask [bmax][I] */
    float **drop;               /* per FC node: dropped input [bmax][I] */
    int dropped;                /* the last forward applied dropout */
    float *fc_scratch;          /* net_dense_* scratch */
    float *gscratch;            /* input gradient of a second consumer */
    double *part;               /* reduction partials [blocks][PART][C] */
    double *stat;               /* per-channel sums and coefficients [4][C] */
    float **slots;
    int nslots;
    net_tparam *params;
    int nparams;
    int *wparam;                /* per weight: parameter index or -1 */
    float *garena;
    int *bn_prelu;              /* per BN node: the PReLU fused after it, or -1 */
    int *prelu_bn;              /* per PReLU node: the BN fused before it, or -1 */
    int *prod;                  /* per tensor: producing node, -1 for the graph input */
    char *recomp;               /* per tensor: recomputed from its producer's input for the
                                   backward of the convs reading it (not kept) */
    float *rbuf;                /* the recomputed tensor (a shared activation slot) */
    size_t bytes;
};

static void *alloc64(size_t floats, size_t *bytes)
{
    size_t b = (floats * sizeof(float) + 63) / 64 * 64;
    if (bytes)
        *bytes += b;
    return aligned_alloc(64, b ? b : 64);
}

static int64_t channels(const net_tensor *x) { return x->shape[0]; }

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

static const float *wdata(const net_tgraph *t, int w) { return w >= 0 ? t->g->weights[w].data : NULL; }

static float *gdata(const net_tgraph *t, int w)
{
    return w >= 0 && t->wparam[w] >= 0 ? t->params[t->wparam[w]].g : NULL;
}

/* ---------------- layout helpers ---------------- */

static void nhwc_to_nchw(const float *x, float *y, int64_t n, int64_t c, int64_t hw)
{
#pragma omp parallel for collapse(2) schedule(static) if (n * c * hw > PAR_MIN)
    for (int64_t b = 0; b < n; b++)
        for (int64_t k = 0; k < c; k++)
            for (int64_t p = 0; p < hw; p++)
                y[(b * c + k) * hw + p] = x[(b * hw + p) * c + k];
}

static void nchw_to_nhwc(const float *x, float *y, int64_t n, int64_t c, int64_t hw)
{
#pragma omp parallel for collapse(2) schedule(static) if (n * c * hw > PAR_MIN)
    for (int64_t b = 0; b < n; b++)
        for (int64_t p = 0; p < hw; p++)
            for (int64_t k = 0; k < c; k++)
                y[(b * hw + p) * c + k] = x[(b * c + k) * hw + p];
}


/* ---------------- per-channel reductions over rows ---------------- */

enum { RED_SUM, RED_SQDEV, RED_BN_BWD, RED_PRELU, RED_BN_PRELU };

typedef struct {
    int mode;
    const float *x, *dy;
    const float *mean, *invstd; /* RED_SQDEV: sum (x - mean)^2;
                                   RED_BN_BWD: sum dy, sum dy * (x - mean) * invstd */
    const float *slope;         /* RED_BN_PRELU (BN x -> b -> PReLU, dy = dL/dPReLU out):
                                   b holds the BN output on entry, dL/db on return;
                                   sums dL/db, dL/db * xhat, dL/dslope */
    float *b;
    const kern_isa *isa;
    const float *pa, *pb;       /* RED_BN_PRELU: the BN's alpha, beta (b = x * pa + pb) */
} red_args;

/* Rows [r0, r1) of x (and dy), [rows][C], summed in float into f0 (f1, f2). */
static void reduce_chunk(const red_args *a, int64_t r0, int64_t r1, int64_t C, float *f0,
                         float *f1, float *f2)
{
    for (int64_t c = 0; c < C; c++)
        f0[c] = f1[c] = f2[c] = 0.0f;
    const float *fm = a->mean, *is = a->invstd, *sl = a->slope;
    if (a->mode == RED_BN_PRELU) /* the forward's BN output, by the forward's kernel */
        a->isa->affine((size_t)(r1 - r0), (size_t)C, a->x + r0 * C, a->pa, a->pb, a->b + r0 * C);
    for (int64_t r = r0; r < r1; r++) {
        const float *xr = a->x + r * C, *gr = a->dy ? a->dy + r * C : NULL;
        float *br = a->b ? a->b + r * C : NULL;
        switch (a->mode) {
        case RED_SUM:
#pragma omp simd
            for (int64_t c = 0; c < C; c++)
                f0[c] += xr[c];
            break;
        case RED_SQDEV:
#pragma omp simd
            for (int64_t c = 0; c < C; c++) {
                float d = xr[c] - fm[c];
                f0[c] += d * d;
            }
            break;
        case RED_BN_BWD:
#pragma omp simd
            for (int64_t c = 0; c < C; c++) {
                f0[c] += gr[c];
                f1[c] += gr[c] * ((xr[c] - fm[c]) * is[c]);
            }
            break;
        case RED_PRELU: /* slope gradient, x <= 0 (PyTorch: x > 0 takes dy) */
#pragma omp simd
            for (int64_t c = 0; c < C; c++)
                f0[c] += (xr[c] < 0.0f ? xr[c] : 0.0f) * gr[c]; /* x = 0 adds 0 */
            break;
        default: /* RED_BN_PRELU: as RED_PRELU on b, then RED_BN_BWD with db */
#pragma omp simd
            for (int64_t c = 0; c < C; c++) { /* two loops: each vectorises */
                const float bv = br[c], sc = sl[c], k = bv > 0.0f ? 1.0f : sc;
                f2[c] += (bv < 0.0f ? bv : 0.0f) * gr[c];
                br[c] = k * gr[c];
            }
#pragma omp simd
            for (int64_t c = 0; c < C; c++) {
                f0[c] += br[c];
                f1[c] += br[c] * ((xr[c] - fm[c]) * is[c]);
            }
            break;
        }
    }
}

/* Rows [r0, r1) into s [3][C]: chunks of RC rows in float (so the loops
 * vectorise), added in double; f: 3C floats of scratch. */
#define RC 16
static void reduce_block(const red_args *a, int64_t r0, int64_t r1, int64_t C, double *s, float *f)
{
    for (int64_t c = 0; c < 3 * C; c++)
        s[c] = 0.0;
    for (int64_t r = r0; r < r1; r += RC) {
        reduce_chunk(a, r, r + RC < r1 ? r + RC : r1, C, f, f + C, f + 2 * C);
        for (int64_t c = 0; c < 3 * C; c++)
            s[c] += f[c];
    }
}

/* out[k][c], k < 3 (RED_BN_PRELU; 2 for the others: out must hold 3C
 * doubles all the same) = sums over all rows: blocks of RB rows, each summed
 * by one thread, added in block order (t->part: [blocks][PART][C] doubles,
 * three sums and the block's float scratch). */
#define PART 5
static void reduce_rows(net_tgraph *t, const red_args *a, int64_t rows, int64_t C, double *out)
{
    const int64_t nb = (rows + RB - 1) / RB;
    double *part = t->part;
#pragma omp parallel for schedule(static) if (rows * C > PAR_MIN)
    for (int64_t b = 0; b < nb; b++) {
        int64_t r1 = (b + 1) * RB < rows ? (b + 1) * RB : rows;
        double *pb = part + b * PART * C;
        reduce_block(a, b * RB, r1, C, pb, (float *)(pb + 3 * C));
    }
    for (int64_t c = 0; c < 3 * C; c++)
        out[c] = 0.0;
    for (int64_t b = 0; b < nb; b++)
        for (int64_t c = 0; c < 3 * C; c++)
            out[c] += part[b * PART * C + c];
}

/* ---------------- gradient buffers ---------------- */

/* Where the gradient of tensor x is written: its buffer when this is the
 * first write of the backward, else the scratch (added by grad_end).
 * NULL: x needs no gradient (the graph input). */
static float *grad_begin(net_tgraph *t, int x)
{
    if (x < 0 || !t->grad[x])
        return NULL;
    return t->ginit[x] ? t->gscratch : t->grad[x];
}

static void grad_end(net_tgraph *t, int x, const float *d)
{
    if (!d)
        return;
    if (d == t->gscratch) {
        float *gx = t->grad[x];
        const int64_t m = t->n * t->numel[x];
#pragma omp parallel for schedule(static) if (m > PAR_MIN)
        for (int64_t k = 0; k < m; k++)
            gx[k] += d[k];
    }
    t->ginit[x] = 1;
}

/* ---------------- convolution ---------------- */

static kern_conv_geom conv_geom(const net_node *nd)
{
    const net_conv_attr *a = &nd->conv;
    if (nd->op == NET_OP_FC)
        return (kern_conv_geom){ 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1 };
    return (kern_conv_geom){ a->kh, a->kw, a->sh, a->sw, a->pt, a->pl, a->pb, a->pr,
                             a->dh, a->dw, a->groups };
}

/* Spatial size of a tensor (1 x 1 for rank 1). */
static void hw_of(const net_tensor *x, int *h, int *w)
{
    *h = x->rank == 3 ? (int)x->shape[1] : 1;
    *w = x->rank == 3 ? (int)x->shape[2] : 1;
}

/* Pack conv node i and plan its backward (at create). */
static mint_status conv_create(net_tgraph *t, int i)
{
    const net_graph *g = t->g;
    const net_node *nd = &g->nodes[i];
    kern_conv_geom geom = conv_geom(nd);
    int cin = (int)channels(&g->tensors[nd->in[0]]), cout = (int)g->weights[nd->w[0]].dims[0];
    int h, w;
    hw_of(&g->tensors[nd->in[0]], &h, &w);
    mint_status st = kern_conv_create(&t->conv[i], t->isa, cout, cin, &geom, wdata(t, nd->w[0]),
                                      wdata(t, nd->w[1]));
    if (!st)
        st = kern_conv_bwd_create(&t->cbwd[i], t->isa, cout, cin, &geom, t->bmax, h, w);
    return st;
}

static mint_status conv_forward(net_tgraph *t, int i)
{
    const net_node *nd = &t->g->nodes[i];
    int h, w;
    hw_of(&t->g->tensors[nd->in[0]], &h, &w);
    /* the optimiser changed the weights since the last call */
    mint_status st = kern_conv_repack(t->conv[i], wdata(t, nd->w[0]), wdata(t, nd->w[1]));
    if (!st)
        st = kern_conv_run(t->conv[i], t->act[nd->in[0]], t->n, h, w, t->act[nd->out], NULL,
                           KERN_ACT_NONE, NULL, 0.0f, 0.0f);
    return st;
}

/* Input gradient (overwritten, or into the scratch when a second consumer
 * writes it), weight and bias gradients (accumulated) on kernels/conv_bwd.c. */
static void bn_apply(const net_tgraph *t, int i, float *y);

static mint_status conv_backward(net_tgraph *t, int i)
{
    const net_node *nd = &t->g->nodes[i];
    const int x = nd->in[0];
    const float *in = t->act[x];
    if (t->recomp[x]) { /* a BN (+ PReLU) output: recomputed, bit for bit as the forward did */
        const int p = t->prod[x];
        bn_apply(t, t->g->nodes[p].op == NET_OP_BN ? p : t->prelu_bn[p], t->rbuf);
        in = t->rbuf;
    }
    float *dx = grad_begin(t, x);
    mint_status st = kern_conv_bwd_run(t->cbwd[i], wdata(t, nd->w[0]), in, t->n,
                                       t->grad[nd->out], dx, gdata(t, nd->w[0]), gdata(t, nd->w[1]));
    if (!st)
        grad_end(t, nd->in[0], dx);
    return st;
}

/* ---------------- BatchNorm (2d on NHWC rows, 1d on [n][C]) ---------------- */

/* Training statistics of node i into t->mean/invstd, running stats updated. */
static void bn_batch_stats(net_tgraph *t, int i, int64_t rows, int64_t C, double *m, double *v)
{
    const net_node *nd = &t->g->nodes[i];
    red_args a = { .mode = RED_SUM, .x = t->act[nd->in[0]] };
    reduce_rows(t, &a, rows, C, m); /* m[0..3C): v is filled next */
    for (int64_t c = 0; c < C; c++) {
        m[c] /= (double)rows;
        t->mean[i][c] = (float)m[c];
    }
    a.mode = RED_SQDEV;
    a.mean = t->mean[i];
    reduce_rows(t, &a, rows, C, v);
    float *rm = t->g->weights[nd->w[2]].data, *rv = t->g->weights[nd->w[3]].data;
    for (int64_t c = 0; c < C; c++) {
        double var = v[c] / (double)rows; /* biased: normalises */
        t->invstd[i][c] = (float)(1.0 / sqrt(var + (double)nd->eps));
        /* PyTorch: running = momentum * batch + (1 - momentum) * running,
         * the batch variance unbiased */
        rm[c] = (float)(BN_MOMENTUM * m[c] + (1.0 - BN_MOMENTUM) * rm[c]);
        rv[c] = (float)(BN_MOMENTUM * (v[c] / (double)(rows - 1)) + (1.0 - BN_MOMENTUM) * rv[c]);
    }
}

static void expand(const net_tgraph *t, int w, int64_t C, float fill, float *dst);

static mint_status bn_forward(net_tgraph *t, int i, double *stat)
{
    const net_node *nd = &t->g->nodes[i];
    const int64_t C = channels(&t->g->tensors[nd->in[0]]);
    const int64_t rows = t->n * (t->numel[nd->in[0]] / C);
    const float *gamma = wdata(t, nd->w[0]), *beta = wdata(t, nd->w[1]);
    const float *rm = wdata(t, nd->w[2]), *rv = wdata(t, nd->w[3]);
    if (t->training) {
        if (rows < 2)
            return mint_fail(MINT_E_ARG,
                             "BatchNorm node '%s' sees one value per channel in training "
                             "(batch %d): train with at least 2 images", nd->name, t->n);
        bn_batch_stats(t, i, rows, C, stat, stat + C);
        for (int64_t c = 0; c < C; c++) {
            t->pa[i][c] = t->invstd[i][c] * gamma[c];
            t->pb[i][c] = beta[c] - t->mean[i][c] * t->pa[i][c];
        }
    } else {
        /* as the executor (net/exec.c): s = gamma / sqrt(var + eps) */
        for (int64_t c = 0; c < C; c++) {
            float sd = sqrtf(rv[c] + nd->eps);
            t->mean[i][c] = rm[c];
            t->invstd[i][c] = 1.0f / sd;
            t->pa[i][c] = gamma[c] / sd;
            t->pb[i][c] = beta[c] - rm[c] * t->pa[i][c];
        }
    }
    const int j = t->bn_prelu[i];
    if (j >= 0)
        expand(t, t->g->nodes[j].w[0], C, 0.0f, t->pa[j]);
    bn_apply(t, i, t->act[j >= 0 ? t->g->nodes[j].out : nd->out]);
    return MINT_OK;
}

/* y = BN node i's output x * alpha + beta, through the PReLU fused after
 * it if any (slopes in pa of that node): one pass over row blocks, each
 * block's affine output still in cache for the PReLU. Forward and the
 * backward's recomputation both run this, so they agree bit for bit. */
static void bn_apply(const net_tgraph *t, int i, float *y)
{
    const net_node *nd = &t->g->nodes[i];
    const int64_t C = channels(&t->g->tensors[nd->in[0]]);
    const int64_t rows = t->n * (t->numel[nd->in[0]] / C), nb = (rows + RB - 1) / RB;
    const int j = t->bn_prelu[i];
    const float *x = t->act[nd->in[0]], *a = t->pa[i], *b = t->pb[i];
    const float *slope = j >= 0 ? t->pa[j] : NULL;
    const kern_isa *isa = t->isa;
#pragma omp parallel for schedule(static) if (rows * C > PAR_MIN)
    for (int64_t k = 0; k < nb; k++) {
        const int64_t r0 = k * RB, r = (r0 + RB < rows ? r0 + RB : rows) - r0;
        isa->affine((size_t)r, (size_t)C, x + r0 * C, a, b, y + r0 * C);
        if (slope)
            isa->prelu((size_t)r, (size_t)C, y + r0 * C, slope, y + r0 * C);
    }
}

/* BatchNorm's parameter and input gradients from the batch sums
 * sdy = sum(dy), sdyx = sum(dy * xhat) per channel (dy: the gradient of
 * the BN output); scratch holds 3*C floats. Training:
 * dx = gamma*invstd*(dy - mean(dy) - xhat*mean(dy*xhat)); eval: the
 * statistics are constants, dx = gamma*invstd*dy. */
static void bn_backward_tail(net_tgraph *t, const net_node *nd, const float *x, const float *dy,
                             int64_t rows, int64_t C, const float *mean, const float *invstd,
                             const double *sdy, const double *sdyx, float *scratch)
{
    const float *gamma = wdata(t, nd->w[0]);
    float *dgamma = gdata(t, nd->w[0]), *dbeta = gdata(t, nd->w[1]);
    for (int64_t c = 0; c < C; c++) {
        dgamma[c] += (float)sdyx[c];
        dbeta[c] += (float)sdy[c];
    }
    float *dx = grad_begin(t, nd->in[0]);
    if (!dx)
        return;
    float *k = scratch, *mdy = k + C, *mdx = mdy + C;
    for (int64_t c = 0; c < C; c++) {
        k[c] = gamma[c] * invstd[c];
        mdy[c] = t->training ? (float)(sdy[c] / (double)rows) : 0.0f;
        mdx[c] = t->training ? (float)(sdyx[c] / (double)rows) : 0.0f;
    }
#pragma omp parallel for schedule(static) if (rows * C > PAR_MIN)
    for (int64_t r = 0; r < rows; r++)
#pragma omp simd
        for (int64_t c = 0; c < C; c++) {
            float xh = (x[r * C + c] - mean[c]) * invstd[c];
            dx[r * C + c] = k[c] * (dy[r * C + c] - mdy[c] - xh * mdx[c]);
        }
    grad_end(t, nd->in[0], dx);
}

static void bn_backward(net_tgraph *t, int i, double *stat)
{
    const net_node *nd = &t->g->nodes[i];
    const int64_t C = channels(&t->g->tensors[nd->in[0]]);
    const int64_t rows = t->n * (t->numel[nd->in[0]] / C);
    const float *x = t->act[nd->in[0]], *dy = t->grad[nd->out];
    const float *mean = t->mean[i], *invstd = t->invstd[i];
    const double *sdy = stat, *sdyx = stat + C;
    red_args a = { .mode = RED_BN_BWD, .x = x, .dy = dy, .mean = mean, .invstd = invstd };
    reduce_rows(t, &a, rows, C, stat);
    bn_backward_tail(t, nd, x, dy, rows, C, mean, invstd, sdy, sdyx, (float *)(stat + 2 * C));
}

/* ---------------- element-wise ops ---------------- */

/* Per-channel copy of a scalar-or-[C] weight into dst (fill if w < 0). */
static void expand(const net_tgraph *t, int w, int64_t C, float fill, float *dst)
{
    const float *d = wdata(t, w);
    int64_t n = w >= 0 ? net_weight_numel(&t->g->weights[w]) : 0;
    for (int64_t c = 0; c < C; c++)
        dst[c] = d ? d[n == 1 ? 0 : c] : fill;
}

static void prelu_backward(net_tgraph *t, int i, double *stat)
{
    const net_node *nd = &t->g->nodes[i];
    const int64_t C = channels(&t->g->tensors[nd->in[0]]);
    const int64_t rows = t->n * (t->numel[nd->in[0]] / C);
    const float *x = t->act[nd->in[0]], *dy = t->grad[nd->out], *s = t->pa[i];
    red_args a = { .mode = RED_PRELU, .x = x, .dy = dy };
    reduce_rows(t, &a, rows, C, stat);
    float *ds = gdata(t, nd->w[0]);
    if (net_weight_numel(&t->g->weights[nd->w[0]]) == 1) {
        double sum = 0.0;
        for (int64_t c = 0; c < C; c++)
            sum += stat[c];
        ds[0] += (float)sum;
    } else {
        for (int64_t c = 0; c < C; c++)
            ds[c] += (float)stat[c];
    }
    float *dx = grad_begin(t, nd->in[0]);
    if (!dx)
        return;
#pragma omp parallel for schedule(static) if (rows * C > PAR_MIN)
    for (int64_t r = 0; r < rows; r++)
#pragma omp simd
        for (int64_t c = 0; c < C; c++) {
            const float sc = s[c], k = x[r * C + c] > 0.0f ? 1.0f : sc; /* loads unconditional: vectorises */
            dx[r * C + c] = k * dy[r * C + c];
        }
    grad_end(t, nd->in[0], dx);
}

/* Backward of BN node i and the PReLU j fused after it, from dL/d(PReLU
 * output): pass 1 recomputes the BN output b into b's gradient buffer and
 * turns it into dL/db there while summing dL/db, dL/db * xhat and the slope
 * gradient; pass 2 is BN's input gradient. The values and summation order
 * are those of prelu_backward followed by bn_backward. */
static void bn_prelu_backward(net_tgraph *t, int j, double *stat)
{
    const int i = t->prelu_bn[j];
    const net_node *nd = &t->g->nodes[i], *pr = &t->g->nodes[j];
    const int64_t C = channels(&t->g->tensors[nd->in[0]]);
    const int64_t rows = t->n * (t->numel[nd->in[0]] / C);
    const float *x = t->act[nd->in[0]], *mean = t->mean[i], *invstd = t->invstd[i];
    float *db = t->grad[nd->out];
    red_args a = { .mode = RED_BN_PRELU, .x = x, .dy = t->grad[pr->out], .mean = mean,
                   .invstd = invstd, .slope = t->pa[j], .b = db, .isa = t->isa, .pa = t->pa[i],
                   .pb = t->pb[i] };
    reduce_rows(t, &a, rows, C, stat);
    const double *sdy = stat, *sdyx = stat + C, *sds = stat + 2 * C;
    float *ds = gdata(t, pr->w[0]);
    if (net_weight_numel(&t->g->weights[pr->w[0]]) == 1) {
        double sum = 0.0;
        for (int64_t c = 0; c < C; c++)
            sum += sds[c];
        ds[0] += (float)sum;
    } else {
        for (int64_t c = 0; c < C; c++)
            ds[c] += (float)sds[c];
    }
    bn_backward_tail(t, nd, x, db, rows, C, mean, invstd, sdy, sdyx, (float *)(stat + 3 * C));
}

/* ReLU / Clip: the gradient passes where lo < x < hi (PyTorch's relu and
 * hardtanh/ReLU6 backward; 0 at the bounds). */
static void clip_backward(net_tgraph *t, int i, float lo, float hi)
{
    const net_node *nd = &t->g->nodes[i];
    const int64_t m = t->n * t->numel[nd->in[0]];
    const float *x = t->act[nd->in[0]], *dy = t->grad[nd->out];
    float *dx = grad_begin(t, nd->in[0]);
    if (!dx)
        return;
#pragma omp parallel for schedule(static) if (m > PAR_MIN)
    for (int64_t k = 0; k < m; k++)
        dx[k] = x[k] > lo && x[k] < hi ? dy[k] : 0.0f;
    grad_end(t, nd->in[0], dx);
}

static void affine_backward(net_tgraph *t, int i)
{
    const net_node *nd = &t->g->nodes[i];
    const int64_t C = channels(&t->g->tensors[nd->in[0]]);
    const int64_t rows = t->n * (t->numel[nd->in[0]] / C);
    const float *dy = t->grad[nd->out], *a = t->pa[i];
    float *dx = grad_begin(t, nd->in[0]);
    if (!dx)
        return;
#pragma omp parallel for schedule(static) if (rows * C > PAR_MIN)
    for (int64_t r = 0; r < rows; r++)
#pragma omp simd
        for (int64_t c = 0; c < C; c++)
            dx[r * C + c] = dy[r * C + c] * a[c];
    grad_end(t, nd->in[0], dx);
}

static void add_backward(net_tgraph *t, int i)
{
    const net_node *nd = &t->g->nodes[i];
    const int64_t m = t->n * t->numel[nd->out];
    for (int k = 0; k < 2; k++) {
        float *dx = grad_begin(t, nd->in[k]);
        if (dx)
            memcpy(dx, t->grad[nd->out], sizeof(float) * (size_t)m);
        grad_end(t, nd->in[k], dx);
    }
}

static void flatten_forward(net_tgraph *t, int i)
{
    const net_node *nd = &t->g->nodes[i];
    const net_tensor *x = &t->g->tensors[nd->in[0]];
    if (x->rank == 3) /* ONNX Flatten of NCHW keeps C,H,W order */
        nhwc_to_nchw(t->act[nd->in[0]], t->act[nd->out], t->n, x->shape[0],
                     x->shape[1] * x->shape[2]);
    else
        memcpy(t->act[nd->out], t->act[nd->in[0]], sizeof(float) * (size_t)(t->n * t->numel[nd->out]));
}

static void flatten_backward(net_tgraph *t, int i)
{
    const net_node *nd = &t->g->nodes[i];
    const net_tensor *x = &t->g->tensors[nd->in[0]];
    float *dx = grad_begin(t, nd->in[0]);
    if (!dx)
        return;
    if (x->rank == 3)
        nchw_to_nhwc(t->grad[nd->out], dx, t->n, x->shape[0], x->shape[1] * x->shape[2]);
    else
        memcpy(dx, t->grad[nd->out], sizeof(float) * (size_t)(t->n * t->numel[nd->out]));
    grad_end(t, nd->in[0], dx);
}

/* ---------------- FC (with arcface_torch's dropout on its input) ---------------- */

static void fc_forward(net_tgraph *t, int i)
{
    const net_node *nd = &t->g->nodes[i];
    const int I = (int)t->numel[nd->in[0]], O = (int)t->numel[nd->out];
    const size_t m = (size_t)t->n * (size_t)I;
    const float *x = t->act[nd->in[0]];
    if (t->training && t->p > 0.0f) {
        net_dropout_mask(t->mask[i], m, t->p, t->seed, t->drawn);
        t->drawn += m;
        net_dropout_forward(t->drop[i], x, t->mask[i], m, t->p);
        x = t->drop[i];
    }
    net_dense_forward(t->act[nd->out], x, wdata(t, nd->w[0]), wdata(t, nd->w[1]), t->n, I, O,
                      t->fc_scratch);
}

static void fc_backward(net_tgraph *t, int i)
{
    const net_node *nd = &t->g->nodes[i];
    const int I = (int)t->numel[nd->in[0]], O = (int)t->numel[nd->out];
    const int dropped = t->dropped && t->mask[i];
    const float *x = dropped ? t->drop[i] : t->act[nd->in[0]];
    float *dx = grad_begin(t, nd->in[0]);
    net_dense_backward(dx, gdata(t, nd->w[0]), gdata(t, nd->w[1]), t->grad[nd->out], x,
                       wdata(t, nd->w[0]), t->n, I, O, t->fc_scratch);
    if (dx && dropped)
        net_dropout_backward(dx, dx, t->mask[i], (size_t)t->n * (size_t)I, t->p);
    grad_end(t, nd->in[0], dx);
}

/* ---------------- forward / backward ---------------- */

static mint_status node_forward(net_tgraph *t, int i)
{
    const net_node *nd = &t->g->nodes[i];
    const net_tensor *xt = &t->g->tensors[nd->in[0]];
    const int64_t C = channels(xt), rows = t->n * (t->numel[nd->in[0]] / C);
    const float *x = t->act[nd->in[0]];
    float *y = t->act[nd->out];
    switch (nd->op) {
    case NET_OP_CONV: return conv_forward(t, i);
    case NET_OP_BN: return bn_forward(t, i, t->stat);
    case NET_OP_PRELU:
        if (t->prelu_bn[i] >= 0) /* done by the BN before it */
            return MINT_OK;
        expand(t, nd->w[0], C, 0.0f, t->pa[i]);
        kern_prelu(t->isa, (size_t)rows, (size_t)C, x, t->pa[i], y);
        return MINT_OK;
    case NET_OP_RELU: kern_clip(t->isa, (size_t)(rows * C), x, 0.0f, INFINITY, y); return MINT_OK;
    case NET_OP_CLIP: kern_clip(t->isa, (size_t)(rows * C), x, nd->lo, nd->hi, y); return MINT_OK;
    case NET_OP_ADD:
        kern_add(t->isa, (size_t)(rows * C), x, t->act[nd->in[1]], y);
        return MINT_OK;
    case NET_OP_AFFINE:
        expand(t, nd->w[0], C, 1.0f, t->pa[i]);
        expand(t, nd->w[1], C, 0.0f, t->pb[i]);
        kern_affine(t->isa, (size_t)rows, (size_t)C, x, t->pa[i], t->pb[i], y);
        return MINT_OK;
    case NET_OP_FLATTEN: flatten_forward(t, i); return MINT_OK;
    case NET_OP_FC: fc_forward(t, i); return MINT_OK;
    default: return mint_fail(MINT_E_UNSUPPORTED, "node '%s': op cannot be trained", nd->name);
    }
}

mint_status net_tgraph_forward(net_tgraph *t, const float *in, int n, int training)
{
    if (!t || !in)
        return mint_fail(MINT_E_ARG, "net_tgraph_forward: NULL argument");
    if (n < 1 || n > t->bmax)
        return mint_fail(MINT_E_ARG, "training batch of %d images outside 1..%d (batch_max)", n,
                         t->bmax);
    const net_graph *g = t->g;
    t->ran = 0;
    t->n = n;
    t->training = training != 0;
    t->dropped = t->training && t->p > 0.0f;
    memcpy(t->act[g->input], in, sizeof(float) * (size_t)(n * t->numel[g->input]));
    for (int i = 0; i < g->nnodes; i++) {
        mint_status st = node_forward(t, i);
        if (st) {
            char why[256];
            snprintf(why, sizeof why, "%s", mint_last_error());
            return mint_fail(st, "node '%s' (%s): %s", g->nodes[i].name,
                             net_op_name(g->nodes[i].op), why);
        }
    }
    for (int k = 0; k < t->ntaps; k++) {
        int x = t->tap_tensor[k];
        memset(t->grad[x], 0, sizeof(float) * (size_t)(n * t->numel[x]));
    }
    t->ran = 1;
    return MINT_OK;
}

static mint_status node_backward(net_tgraph *t, int i)
{
    const net_node *nd = &t->g->nodes[i];
    double *stat = t->stat;
    switch (nd->op) {
    case NET_OP_CONV: return conv_backward(t, i);
    case NET_OP_BN: bn_backward(t, i, stat); break;
    case NET_OP_PRELU:
        if (t->prelu_bn[i] >= 0)
            bn_prelu_backward(t, i, stat);
        else
            prelu_backward(t, i, stat);
        break;
    case NET_OP_RELU: clip_backward(t, i, 0.0f, INFINITY); break;
    case NET_OP_CLIP: clip_backward(t, i, nd->lo, nd->hi); break;
    case NET_OP_ADD: add_backward(t, i); break;
    case NET_OP_AFFINE: affine_backward(t, i); break;
    case NET_OP_FLATTEN: flatten_backward(t, i); break;
    case NET_OP_FC: fc_backward(t, i); break;
    default: break; /* refused at create */
    }
    return MINT_OK;
}

mint_status net_tgraph_backward(net_tgraph *t, const float *dout)
{
    if (!t)
        return mint_fail(MINT_E_ARG, "net_tgraph_backward: NULL argument");
    if (!t->ran)
        return mint_fail(MINT_E_ARG, "net_tgraph_backward: no successful forward to go back through");
    const net_graph *g = t->g;
    const int out = g->output;
    const int64_t m = t->n * t->numel[out];
    memset(t->ginit, 0, (size_t)g->ntensors);
    for (int k = 0; k < t->ntaps; k++)
        t->ginit[t->tap_tensor[k]] = 1;
    if (dout) {
        float *d = grad_begin(t, out);
        memcpy(d, dout, sizeof(float) * (size_t)m);
        grad_end(t, out, d);
    }
    for (int i = g->nnodes - 1; i >= 0; i--) {
        if (!t->ginit[g->nodes[i].out]) /* its output gradient is zero */
            continue;
        mint_status st = node_backward(t, i);
        if (st) {
            char why[256];
            snprintf(why, sizeof why, "%s", mint_last_error());
            return mint_fail(st, "backward of node '%s' (%s): %s", g->nodes[i].name,
                             net_op_name(g->nodes[i].op), why);
        }
    }
    return MINT_OK;
}

/* ---------------- create ---------------- */

/* Every node trainable, every tensor shaped. */
static mint_status check_node(const net_graph *g, const net_node *nd)
{
    static const int nw[NET_OP_COUNT] = { [NET_OP_CONV] = 1, [NET_OP_BN] = 4, [NET_OP_PRELU] = 1,
                                          [NET_OP_FC] = 1 };
    if ((int)nd->op < 0 || nd->op >= NET_OP_COUNT)
        return mint_fail(MINT_E_UNSUPPORTED, "node '%s': unknown op %d cannot be trained",
                         nd->name, (int)nd->op);
    int nin = nd->op == NET_OP_ADD ? 2 : 1;
    for (int k = 0; k < nin; k++)
        if (nd->in[k] < 0 || nd->in[k] >= g->ntensors || g->tensors[nd->in[k]].rank == 0)
            return mint_fail(MINT_E_ARG, "node '%s': input %d has no shape (graph not shaped?)",
                             nd->name, k);
    if (nd->out < 0 || nd->out >= g->ntensors || g->tensors[nd->out].rank == 0)
        return mint_fail(MINT_E_ARG, "node '%s': output has no shape (graph not shaped?)", nd->name);
    for (int k = 0; k < nw[nd->op]; k++)
        if (nd->w[k] < 0 || nd->w[k] >= g->nweights)
            return mint_fail(MINT_E_ARG, "node '%s' (%s): weight %d missing", nd->name,
                             net_op_name(nd->op), k);
    const net_tensor *x = &g->tensors[nd->in[0]];
    if (nd->op == NET_OP_CONV) {
        int cin = (int)x->shape[0], cout = (int)g->tensors[nd->out].shape[0], gr = nd->conv.groups;
        if (gr != 1 && !(gr == cin && gr == cout))
            return mint_fail(MINT_E_UNSUPPORTED,
                             "node '%s': grouped convolution (groups %d, %d -> %d channels) cannot "
                             "be trained (groups 1 or depthwise only)", nd->name, gr, cin, cout);
    }
    if (nd->op == NET_OP_FC && x->rank != 1)
        return mint_fail(MINT_E_UNSUPPORTED, "node '%s': FC on a rank-%d input cannot be trained",
                         nd->name, x->rank);
    return MINT_OK;
}

/* Copy borrowed (mmapped) weights so the optimiser can write them. */
static mint_status own_weights(net_graph *g)
{
    for (int i = 0; i < g->nweights; i++) {
        net_weight *w = &g->weights[i];
        if (w->owned || !w->data)
            continue;
        size_t n = (size_t)net_weight_numel(w);
        float *d = malloc(sizeof(float) * (n ? n : 1));
        if (!d)
            return mint_fail(MINT_E_NOMEM, "out of memory copying weight '%s'", w->name);
        memcpy(d, w->data, sizeof(float) * n);
        w->data = d;
        w->owned = 1;
    }
    return MINT_OK;
}

/* The weights of node nd that are parameters, into ids (returns count). */
static int param_weights(const net_node *nd, int ids[2])
{
    switch (nd->op) {
    case NET_OP_CONV:
    case NET_OP_FC:
    case NET_OP_BN: ids[0] = nd->w[0]; ids[1] = nd->w[1]; return 2;
    case NET_OP_PRELU: ids[0] = nd->w[0]; return 1;
    default: return 0;
    }
}

static mint_status make_params(net_tgraph *t)
{
    net_graph *g = t->g;
    t->wparam = malloc(sizeof(int) * (size_t)(g->nweights ? g->nweights : 1));
    t->params = calloc((size_t)(g->nweights ? g->nweights : 1), sizeof *t->params);
    if (!t->wparam || !t->params)
        return mint_fail(MINT_E_NOMEM, "out of memory");
    for (int i = 0; i < g->nweights; i++)
        t->wparam[i] = -1;
    size_t total = 0;
    for (int i = 0; i < g->nnodes; i++) {
        int ids[2], k = param_weights(&g->nodes[i], ids);
        for (int j = 0; j < k; j++) {
            if (ids[j] < 0 || t->wparam[ids[j]] >= 0)
                continue;
            net_weight *w = &g->weights[ids[j]];
            net_tparam *p = &t->params[t->nparams];
            t->wparam[ids[j]] = t->nparams++;
            *p = (net_tparam){ w->name, w->data, NULL, (size_t)net_weight_numel(w), 0, 1 };
            total += (p->n + 15) / 16 * 16;
        }
    }
    t->garena = alloc64(total, &t->bytes);
    if (!t->garena)
        return mint_fail(MINT_E_NOMEM, "out of memory for %zu parameter gradients", total);
    size_t off = 0;
    for (int i = 0; i < t->nparams; i++) {
        t->params[i].g = t->garena + off;
        off += (t->params[i].n + 15) / 16 * 16;
    }
    memset(t->garena, 0, sizeof(float) * total);
    return MINT_OK;
}

static mint_status make_taps(net_tgraph *t, const net_tgraph_opts *o)
{
    if (!o || o->ntaps <= 0)
        return MINT_OK;
    if (!o->taps)
        return mint_fail(MINT_E_ARG, "net_tgraph_create: %d taps but no names", o->ntaps);
    t->tap_tensor = malloc(sizeof(int) * (size_t)o->ntaps);
    t->tap_name = calloc((size_t)o->ntaps, sizeof(char *));
    if (!t->tap_tensor || !t->tap_name)
        return mint_fail(MINT_E_NOMEM, "out of memory");
    for (int k = 0; k < o->ntaps; k++) {
        const char *name = o->taps[k];
        int x = name ? net_graph_find_tap(t->g, name) : -1;
        if (x < 0)
            return mint_fail(MINT_E_NOTFOUND, "tap '%s' not in the network (it has %s)",
                             name ? name : "(null)", t->g->ntaps ? "layer1..layer4, embedding"
                                                                 : "no taps");
        for (int j = 0; j < t->ntaps; j++)
            if (t->tap_tensor[j] == x)
                return mint_fail(MINT_E_ARG, "tap '%s' given twice", name);
        t->tap_name[t->ntaps] = strdup(name);
        if (!t->tap_name[t->ntaps])
            return mint_fail(MINT_E_NOMEM, "out of memory");
        t->tap_tensor[t->ntaps++] = x;
    }
    return MINT_OK;
}

/* Gradient slots: a tensor's gradient is live from the backward of its
 * last consumer (the first met in reverse order) to its producer's. */
static mint_status plan_grads(net_tgraph *t, const int *consumers)
{
    const net_graph *g = t->g;
    const int nt = g->ntensors;
    int *slot_of = malloc(sizeof(int) * (size_t)nt);
    int64_t *size = calloc((size_t)nt, sizeof(int64_t));
    char *busy = calloc((size_t)nt, 1);
    mint_status st = MINT_OK;
    if (!slot_of || !size || !busy)
        st = mint_fail(MINT_E_NOMEM, "out of memory planning gradients");
    for (int x = 0; !st && x < nt; x++)
        slot_of[x] = -1;
    for (int i = g->nnodes - 1; !st && i >= 0; i--) {
        const net_node *nd = &g->nodes[i];
        for (int k = 0; k < 2; k++) {
            int x = nd->in[k];
            if (x < 0 || x == g->input || t->own_grad[x] || slot_of[x] >= 0)
                continue;
            int64_t need = t->bmax * t->numel[x], pick = -1;
            for (int q = 0; q < t->nslots && pick < 0; q++)
                if (!busy[q] && size[q] >= need)
                    pick = q;
            for (int q = 0; q < t->nslots && pick < 0; q++)
                if (!busy[q])
                    pick = q;
            if (pick < 0)
                pick = t->nslots++;
            size[pick] = max64(size[pick], need);
            busy[pick] = 1;
            slot_of[x] = (int)pick;
        }
        if (slot_of[nd->out] >= 0)
            busy[slot_of[nd->out]] = 0;
    }
    if (!st && !(t->slots = calloc((size_t)(t->nslots ? t->nslots : 1), sizeof(float *))))
        st = mint_fail(MINT_E_NOMEM, "out of memory");
    for (int q = 0; !st && q < t->nslots; q++)
        if (!(t->slots[q] = alloc64((size_t)size[q], &t->bytes)))
            st = mint_fail(MINT_E_NOMEM, "out of memory for gradients");
    int64_t scratch = 0;
    for (int x = 0; !st && x < nt; x++) {
        if (slot_of[x] >= 0)
            t->grad[x] = t->slots[slot_of[x]];
        if (t->grad[x] && (consumers[x] >= 2 || t->own_grad[x]))
            scratch = max64(scratch, t->bmax * t->numel[x]);
    }
    if (!st && !(t->gscratch = alloc64((size_t)scratch, &t->bytes)))
        st = mint_fail(MINT_E_NOMEM, "out of memory for gradients");
    free(slot_of);
    free(size);
    free(busy);
    return st;
}

/* Whether backward (or the caller) reads tensor x's activation: inputs of
 * conv, BN, PReLU, ReLU/Clip and FC nodes, the graph input and output, the
 * taps. The others (read only by Add, Affine, Flatten, whose backward needs
 * no input: IResNet's bn3 and downsample outputs) share buffers once dead. */
static int act_kept(const net_tgraph *t, int x)
{
    const net_graph *g = t->g;
    if (x == g->input || t->own_grad[x])
        return 1;
    if (t->recomp[x])
        return 0;
    for (int i = 0; i < g->nnodes; i++) {
        const net_node *nd = &g->nodes[i];
        net_op op = nd->op;
        if ((nd->in[0] == x || nd->in[1] == x) && op != NET_OP_ADD && op != NET_OP_AFFINE &&
            op != NET_OP_FLATTEN)
            return 1;
    }
    return 0;
}

/* Activation buffers: own ones for kept tensors, shared slots (reused
 * after the last reader, never by that reader's output) for the others. */
static mint_status alloc_acts(net_tgraph *t)
{
    const net_graph *g = t->g;
    const int nt = g->ntensors;
    int *last = malloc(sizeof(int) * (size_t)nt), *slot_of = malloc(sizeof(int) * (size_t)nt);
    int *free_at = malloc(sizeof(int) * (size_t)nt);
    int64_t *size = calloc((size_t)nt, sizeof(int64_t));
    t->own_act = calloc((size_t)nt, 1);
    t->aslots = calloc((size_t)nt, sizeof(float *));
    mint_status st = last && slot_of && free_at && size && t->own_act && t->aslots
                         ? MINT_OK : mint_fail(MINT_E_NOMEM, "out of memory");
    for (int x = 0; !st && x < nt; x++)
        last[x] = slot_of[x] = -1;
    for (int i = 0; !st && i < g->nnodes; i++)
        for (int k = 0; k < 2; k++)
            if (g->nodes[i].in[k] >= 0)
                last[g->nodes[i].in[k]] = i;
    for (int i = -1; !st && i < g->nnodes; i++) { /* -1: the graph input */
        int x = i < 0 ? g->input : g->nodes[i].out, q = -1;
        int64_t need = t->bmax * t->numel[x];
        if (i >= 0 && g->nodes[i].op == NET_OP_BN && t->bn_prelu[i] >= 0)
            continue; /* fused: never stored */
        if (act_kept(t, x)) {
            t->own_act[x] = 1;
            if (!(t->act[x] = alloc64((size_t)need, &t->bytes)))
                st = mint_fail(MINT_E_NOMEM, "out of memory for activations (batch %d)", t->bmax);
            continue;
        }
        for (int r = 0; r < t->naslots && q < 0; r++)
            if (free_at[r] < i && size[r] >= need)
                q = r;
        for (int r = 0; r < t->naslots && q < 0; r++)
            if (free_at[r] < i)
                q = r;
        if (q < 0)
            q = t->naslots++;
        size[q] = max64(size[q], need);
        free_at[q] = last[x] > i ? last[x] : i;
        slot_of[x] = q;
    }
    for (int r = 0; !st && r < t->naslots; r++)
        if (!(t->aslots[r] = alloc64((size_t)size[r], &t->bytes)))
            st = mint_fail(MINT_E_NOMEM, "out of memory for activations (batch %d)", t->bmax);
    for (int x = 0; !st && x < nt; x++)
        if (slot_of[x] >= 0)
            t->act[x] = t->aslots[slot_of[x]];
    /* backward reads no shared slot: the biggest holds the recomputed tensors
     * (each of which lives in a slot at least its size) */
    for (int r = 0, best = 0; !st && r < t->naslots; r++)
        if (size[r] > size[best] || !r) {
            best = r;
            t->rbuf = t->aslots[r];
        }
    free(last);
    free(slot_of);
    free(free_at);
    free(size);
    return st;
}

/* Fusion and recomputation plan: a BN whose output only a PReLU reads
 * runs with it as one pass (the BN output is never stored); the output of
 * a BN (or fused BN + PReLU) that only convs read is not kept for the
 * backward but recomputed before each of their backwards from the BN's
 * input, which is kept anyway (IResNet: bn1 -> conv1 and bn2 -> prelu ->
 * conv2, three of the six tensors of a block). Neither applies to taps or
 * the graph output. */
static mint_status plan_fusion(net_tgraph *t)
{
    const net_graph *g = t->g;
    const int nt = g->ntensors, nn = g->nnodes;
    int *cons = calloc((size_t)nt, sizeof(int)), *conv_cons = calloc((size_t)nt, sizeof(int));
    int *only = malloc(sizeof(int) * (size_t)nt);
    t->bn_prelu = malloc(sizeof(int) * (size_t)(nn ? nn : 1));
    t->prelu_bn = malloc(sizeof(int) * (size_t)(nn ? nn : 1));
    t->prod = malloc(sizeof(int) * (size_t)nt);
    t->recomp = calloc((size_t)nt, 1);
    if (!cons || !conv_cons || !only || !t->bn_prelu || !t->prelu_bn || !t->prod || !t->recomp) {
        free(cons), free(conv_cons), free(only);
        return mint_fail(MINT_E_NOMEM, "out of memory");
    }
    for (int x = 0; x < nt; x++)
        t->prod[x] = only[x] = -1;
    for (int i = 0; i < nn; i++) {
        const net_node *nd = &g->nodes[i];
        t->bn_prelu[i] = t->prelu_bn[i] = -1;
        t->prod[nd->out] = i;
        for (int k = 0; k < 2; k++)
            if (nd->in[k] >= 0) {
                cons[nd->in[k]]++;
                conv_cons[nd->in[k]] += nd->op == NET_OP_CONV;
                only[nd->in[k]] = i;
            }
    }
    for (int i = 0; i < nn; i++) {
        const net_node *nd = &g->nodes[i];
        const int b = nd->out;
        if (nd->op != NET_OP_BN || b == g->output || t->own_grad[b] || cons[b] != 1)
            continue;
        const int j = only[b];
        if (g->nodes[j].op == NET_OP_PRELU && g->nodes[j].in[0] == b) {
            t->bn_prelu[i] = j;
            t->prelu_bn[j] = i;
        }
    }
    for (int i = 0; i < nn; i++) {
        const net_node *nd = &g->nodes[i];
        const int x = nd->out;
        if ((nd->op == NET_OP_BN && t->bn_prelu[i] < 0) ||
            (nd->op == NET_OP_PRELU && t->prelu_bn[i] >= 0))
            t->recomp[x] = x != g->output && x != g->input && !t->own_grad[x] && cons[x] > 0 &&
                           conv_cons[x] == cons[x];
    }
    free(cons), free(conv_cons), free(only);
    return MINT_OK;
}

/* Activations, own gradient buffers (taps, output), per-node buffers. */
static mint_status alloc_tensors(net_tgraph *t)
{
    const net_graph *g = t->g;
    const size_t nt = (size_t)g->ntensors;
    t->numel = calloc(nt, sizeof(int64_t));
    t->act = calloc(nt, sizeof(float *));
    t->grad = calloc(nt, sizeof(float *));
    t->own_grad = calloc(nt, 1);
    t->ginit = calloc(nt, 1);
    if (!t->numel || !t->act || !t->grad || !t->own_grad || !t->ginit)
        return mint_fail(MINT_E_NOMEM, "out of memory");
    for (size_t x = 0; x < nt; x++)
        t->numel[x] = net_tensor_numel(&g->tensors[x]);
    t->own_grad[g->output] = 1;
    for (int k = 0; k < t->ntaps; k++)
        t->own_grad[t->tap_tensor[k]] = 1;
    for (size_t x = 0; x < nt; x++) {
        size_t m = (size_t)(t->bmax * t->numel[x]);
        if (t->own_grad[x] && !(t->grad[x] = alloc64(m, &t->bytes)))
            return mint_fail(MINT_E_NOMEM, "out of memory for gradients (batch %d)", t->bmax);
    }
    mint_status st = plan_fusion(t);
    return st ? st : alloc_acts(t);
}

static mint_status alloc_node(net_tgraph *t, int i, int64_t *cmax, int64_t *part, size_t *fcs)
{
    const net_graph *g = t->g;
    const net_node *nd = &g->nodes[i];
    const int64_t C = channels(&g->tensors[nd->in[0]]), rows = t->bmax * (t->numel[nd->in[0]] / C);
    const int bn = nd->op == NET_OP_BN, fc = nd->op == NET_OP_FC;
    if (bn || nd->op == NET_OP_PRELU || nd->op == NET_OP_AFFINE) {
        *cmax = max64(*cmax, C);
        *part = max64(*part, (rows + RB - 1) / RB * PART * C);
        if (!(t->pa[i] = alloc64((size_t)C, &t->bytes)) || !(t->pb[i] = alloc64((size_t)C, &t->bytes)))
            return mint_fail(MINT_E_NOMEM, "out of memory");
    }
    if (bn && (!(t->mean[i] = alloc64((size_t)C, &t->bytes)) ||
               !(t->invstd[i] = alloc64((size_t)C, &t->bytes))))
        return mint_fail(MINT_E_NOMEM, "out of memory");
    if (nd->op == NET_OP_CONV)
        return conv_create(t, i);
    if (fc) {
        int I = (int)t->numel[nd->in[0]], O = (int)t->numel[nd->out];
        size_t s = net_dense_scratch(t->bmax, I, O), m = (size_t)t->bmax * (size_t)I;
        *fcs = s > *fcs ? s : *fcs;
        if (t->p > 0.0f && (!(t->mask[i] = malloc(m)) || !(t->drop[i] = alloc64(m, &t->bytes))))
            return mint_fail(MINT_E_NOMEM, "out of memory");
        t->bytes += t->p > 0.0f ? m : 0;
    }
    return MINT_OK;
}

static mint_status alloc_nodes(net_tgraph *t)
{
    const size_t nn = (size_t)(t->g->nnodes ? t->g->nnodes : 1);
    t->conv = calloc(nn, sizeof *t->conv);
    t->cbwd = calloc(nn, sizeof *t->cbwd);
    t->pa = calloc(nn, sizeof(float *));
    t->pb = calloc(nn, sizeof(float *));
    t->mean = calloc(nn, sizeof(float *));
    t->invstd = calloc(nn, sizeof(float *));
    t->mask = calloc(nn, sizeof(uint8_t *));
    t->drop = calloc(nn, sizeof(float *));
    if (!t->conv || !t->cbwd || !t->pa || !t->pb || !t->mean || !t->invstd || !t->mask || !t->drop)
        return mint_fail(MINT_E_NOMEM, "out of memory");
    int64_t cmax = 1, part = 1;
    size_t fcs = 16;
    for (int i = 0; i < t->g->nnodes; i++) {
        mint_status st = alloc_node(t, i, &cmax, &part, &fcs);
        if (st) {
            char why[256];
            snprintf(why, sizeof why, "%s", mint_last_error());
            return mint_fail(st, "node '%s': %s", t->g->nodes[i].name, why);
        }
    }
    t->part = alloc64((size_t)part * 2, &t->bytes);
    t->stat = alloc64((size_t)cmax * 12, &t->bytes); /* 6C doubles: 3 sums + 3C floats */
    t->fc_scratch = alloc64(fcs, &t->bytes);
    if (!t->part || !t->stat || !t->fc_scratch)
        return mint_fail(MINT_E_NOMEM, "out of memory");
    return MINT_OK;
}

mint_status net_tgraph_create(net_tgraph **out, net_graph *g, int batch_max,
                              const net_tgraph_opts *o)
{
    if (!out)
        return mint_fail(MINT_E_ARG, "net_tgraph_create: out is NULL");
    *out = NULL;
    if (!g || batch_max < 1)
        return mint_fail(MINT_E_ARG, "net_tgraph_create: no graph or batch_max %d < 1", batch_max);
    if (o && (!(o->dropout >= 0.0f) || !(o->dropout < 1.0f)))
        return mint_fail(MINT_E_ARG, "dropout %g outside [0, 1)", (double)o->dropout);
    if (g->input < 0 || g->input >= g->ntensors || g->output < 0 || g->output >= g->ntensors ||
        g->tensors[g->output].rank == 0 || g->tensors[g->input].rank == 0)
        return mint_fail(MINT_E_ARG, "graph input/output not shaped (sort and shape it first)");
    for (int i = 0; i < g->nnodes; i++) {
        mint_status st = check_node(g, &g->nodes[i]);
        if (st)
            return st;
    }
    net_tgraph *t = calloc(1, sizeof *t);
    if (!t)
        return mint_fail(MINT_E_NOMEM, "out of memory");
    t->g = g;
    t->isa = kern_active();
    t->bmax = batch_max;
    t->p = o ? o->dropout : 0.0f;
    t->seed = o ? o->seed : 0;
    int *consumers = calloc((size_t)g->ntensors, sizeof(int));
    mint_status st = consumers ? MINT_OK : mint_fail(MINT_E_NOMEM, "out of memory");
    for (int i = 0; !st && i < g->nnodes; i++)
        for (int k = 0; k < 2; k++)
            if (g->nodes[i].in[k] >= 0)
                consumers[g->nodes[i].in[k]]++;
    if (!st && !(st = own_weights(g)) && !(st = make_params(t)) && !(st = make_taps(t, o)) &&
        !(st = alloc_tensors(t)) && !(st = plan_grads(t, consumers)))
        st = alloc_nodes(t);
    free(consumers);
    if (st) {
        net_tgraph_destroy(t);
        return st;
    }
    *out = t;
    return MINT_OK;
}

void net_tgraph_destroy(net_tgraph *t)
{
    if (!t)
        return;
    for (int x = 0; t->act && x < t->g->ntensors; x++) {
        if (t->own_act && t->own_act[x])
            free(t->act[x]);
        if (t->own_grad && t->own_grad[x])
            free(t->grad[x]);
    }
    for (int i = 0; t->conv && i < t->g->nnodes; i++) {
        kern_conv_destroy(t->conv[i]);
        kern_conv_bwd_destroy(t->cbwd[i]);
        free(t->pa[i]);
        free(t->pb[i]);
        free(t->mean[i]);
        free(t->invstd[i]);
        free(t->mask[i]);
        free(t->drop[i]);
    }
    for (int q = 0; t->slots && q < t->nslots; q++)
        free(t->slots[q]);
    for (int q = 0; t->aslots && q < t->naslots; q++)
        free(t->aslots[q]);
    for (int k = 0; t->tap_name && k < t->ntaps; k++)
        free(t->tap_name[k]);
    free(t->numel); free(t->act); free(t->own_act); free(t->aslots);
    free(t->grad); free(t->own_grad); free(t->ginit);
    free(t->tap_tensor); free(t->tap_name);
    free(t->conv); free(t->cbwd); free(t->pa); free(t->pb); free(t->mean); free(t->invstd); free(t->mask);
    free(t->drop);
    free(t->fc_scratch); free(t->gscratch); free(t->part); free(t->stat); free(t->slots);
    free(t->params); free(t->wparam); free(t->garena);
    free(t->bn_prelu); free(t->prelu_bn); free(t->prod); free(t->recomp);
    free(t);
}

/* ---------------- accessors ---------------- */

int net_tgraph_nparams(const net_tgraph *t) { return t ? t->nparams : 0; }

net_tparam *net_tgraph_param(net_tgraph *t, int i)
{
    return t && i >= 0 && i < t->nparams ? &t->params[i] : NULL;
}

mint_status net_tgraph_freeze(net_tgraph *t, const char *weight_name)
{
    for (int i = 0; t && weight_name && i < t->nparams; i++)
        if (!strcmp(t->params[i].name, weight_name)) {
            t->params[i].frozen = 1;
            return MINT_OK;
        }
    return mint_fail(MINT_E_NOTFOUND, "no trainable parameter named '%s'",
                     weight_name ? weight_name : "(null)");
}

const float *net_tgraph_output(const net_tgraph *t) { return t->act[t->g->output]; }

mint_status net_tgraph_tap(net_tgraph *t, const char *tap, const float **act, float **grad,
                           int *rank, int dims[3])
{
    for (int k = 0; t && tap && k < t->ntaps; k++) {
        if (strcmp(t->tap_name[k], tap))
            continue;
        int x = t->tap_tensor[k];
        const net_tensor *s = &t->g->tensors[x];
        if (act)
            *act = t->act[x];
        if (grad)
            *grad = t->grad[x];
        if (rank)
            *rank = s->rank;
        if (dims) { /* memory order: h, w, c for rank 3 */
            dims[0] = (int)(s->rank == 3 ? s->shape[1] : s->shape[0]);
            dims[1] = s->rank == 3 ? (int)s->shape[2] : 1;
            dims[2] = s->rank == 3 ? (int)s->shape[0] : 1;
        }
        return MINT_OK;
    }
    return mint_fail(MINT_E_NOTFOUND, "tap '%s' was not requested when the training view was made",
                     tap ? tap : "(null)");
}

void net_tgraph_zero_grad(net_tgraph *t)
{
    size_t total = 0;
    for (int i = 0; i < t->nparams; i++)
        total += (t->params[i].n + 15) / 16 * 16;
    memset(t->garena, 0, sizeof(float) * total);
}

size_t net_tgraph_bytes(const net_tgraph *t) { return t ? t->bytes : 0; }
