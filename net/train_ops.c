/* train_ops.c - forward/backward ops of the MINT trainer (see train_ops.h
 * for shapes and semantics).
 *
 * Dense and conv3x3 are lowered onto one GEMM seam, net_gemm, which drives
 * the igemm microkernel of the active ISA table (kernels.h) with a = row
 * pointers of A (ks = 1) and B packed into NR-column panels. Conv is
 * im2col + GEMM one sample at a time; the GEMM threads over (panel, tile)
 * pairs, so each output element is reduced by exactly one kernel call over
 * the whole K in order: results do not depend on the thread count. The
 * input gradient of the conv is the forward conv of dout with the flipped,
 * transposed filters (w'[c][f][2-ky][2-kx]); the weight gradient is
 * col_n x dout_n^T accumulated (in that transposed [9C][F] layout, whose
 * rows are the contiguous im2col rows) over samples in batch order.
 *
 * Why the trainer keeps this im2col conv beside kern_conv (kernels/conv.c),
 * although both run the same igemm microkernels: kern_conv has no
 * backward, and the weight gradient (a reduction over pixels) and the
 * input gradient need this lowering anyway; kern_conv sums taps outside
 * channels where this sums channels outside taps, so moving the forward
 * would change the bits of every CNN MINT model; and it would gain little.
 * Measured (bench_kernels --micro: CNN MINT conv 64->64 3x3 @56x56, batch
 * 8, AVX-512, one thread, 2 shared cores at load ~6.6; two runs): this
 * forward 5.2-6.7 ms/sample, kern_conv with its weight packing at every
 * step and the NCHW<->NHWC copies 4.6-4.9 ms, kern_conv_run alone (a
 * trainer NHWC throughout) 3.0-3.1 ms; a whole CNN MINT step takes 17.8
 * ms/sample (bench_train, batch 128, 2 threads: 56.3 samples/s). kern_conv
 * dropped in would gain 2-12% of a step, a trainer rewritten NHWC 12-20%,
 * both at the price of the bits above.
 *
 * Everything else is plain C with OpenMP over independent outputs. */
#include "base/rng.h"
#include "net/train_ops.h"
#include <math.h>
#include <string.h>
#include "kernels.h"

static inline size_t ceil_div(size_t a, size_t b)
{
    return (a + b - 1) / b;
}

/* Work below which an op stays on one thread: a parallel region costs
 * microseconds on an idle machine and up to a scheduler quantum (ms) on a
 * loaded one, where the barrier waits for a descheduled peer. GEMMs go
 * parallel from 2^20 multiply-adds (~0.1 ms), element-wise loops and
 * packing from 2^18 elements. */
#define PAR_MIN_MACS ((size_t)1 << 20)
#define PAR_MIN_WORK ((size_t)1 << 18)

/* ---------------- GEMM seam ---------------- */

size_t net_gemm_packed_floats(int K, int N)
{
    /* ceil(N/NR)*NR <= N + NR - 1 for any NR <= NET_GEMM_NR_MAX */
    return (size_t)K * ((size_t)N + NET_GEMM_NR_MAX - 1);
}

void net_gemm_pack(float *bp, const float *src, int K, int N, size_t sk, size_t sn)
{
    const size_t nr = (size_t)kern_active()->igemm_tile.n;
    const size_t np = ceil_div((size_t)N, nr);
#pragma omp parallel for schedule(static) if ((size_t)K * (size_t)N > PAR_MIN_WORK)
    for (size_t p = 0; p < np; p++) {
        const size_t n0 = p * nr, nc = (size_t)N - n0 < nr ? (size_t)N - n0 : nr;
        float *dst = bp + p * (size_t)K * nr;
        for (size_t k = 0; k < (size_t)K; k++) {
            const float *s = src + k * sk + n0 * sn;
            float *d = dst + k * nr;
            size_t j = 0;
            if (sn == 1)
                for (; j < nc; j++)
                    d[j] = s[j];
            else
                for (; j < nc; j++)
                    d[j] = s[j * sn];
            for (; j < nr; j++)
                d[j] = 0.0f;
        }
    }
}

void net_gemm(float *c, size_t ldc, const float *a, size_t lda, const float *bp, int M, int N,
              int K, const float *bias, int accumulate)
{
    const kern_isa *isa = kern_active();
    const size_t mr = (size_t)isa->igemm_tile.m, nr = (size_t)isa->igemm_tile.n;
    const size_t nt = ceil_div((size_t)M, mr), np = ceil_div((size_t)N, nr);
    const kern_epilogue ep = { bias, NULL, 0.0f, 0.0f, KERN_ACT_NONE };
    const long total = (long)(nt * np);
    /* panel-major order: consecutive items of a thread reuse one B panel */
#pragma omp parallel for schedule(static) if ((size_t)M * (size_t)N * (size_t)K > PAR_MIN_MACS)
    for (long t = 0; t < total; t++) {
        const size_t p = (size_t)t / nt, tile = (size_t)t % nt;
        const size_t m0 = tile * mr, mc = (size_t)M - m0 < mr ? (size_t)M - m0 : mr;
        const size_t n0 = p * nr, nc = (size_t)N - n0 < nr ? (size_t)N - n0 : nr;
        const float *rows[NET_GEMM_NR_MAX];
        for (size_t r = 0; r < mr; r++)
            rows[r] = a + (m0 + (r < mc ? r : mc - 1)) * lda;
        float *ct = c + m0 * ldc + n0;
        /* accumulate: the epilogue adds the residual read from the same
         * element it then stores (every kernel reads res before storing). */
        isa->igemm(mc, nc, (size_t)K, 1, rows, bp + p * (size_t)K * nr, ct, ldc,
                   accumulate ? ct : NULL, ldc, &ep, n0);
    }
}

/* ---------------- Dense ---------------- */

size_t net_dense_scratch(int B, int I, int O)
{
    size_t a = net_gemm_packed_floats(I, O), b = net_gemm_packed_floats(O, I);
    size_t c = net_gemm_packed_floats(B, I) + (size_t)O * (size_t)B + 16;
    size_t m = a > b ? a : b;
    return m > c ? m : c;
}

void net_dense_forward(float *out, const float *in, const float *w, const float *b, int B,
                       int I, int O, float *scratch)
{
    /* B(k=i, n=o) = w[o][i] */
    net_gemm_pack(scratch, w, I, O, 1, (size_t)I);
    net_gemm(out, (size_t)O, in, (size_t)I, scratch, B, O, I, b, 0);
}

void net_dense_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                        const float *w, int B, int I, int O, float *scratch)
{
    if (din) {
        /* din[B][I] = dout[B][O] w[O][I] */
        net_gemm_pack(scratch, w, O, I, (size_t)I, 1);
        net_gemm(din, (size_t)I, dout, (size_t)O, scratch, B, I, O, NULL, 0);
    }
    /* dw[O][I] += dout^T[O][B] in[B][I] */
    float *dt = scratch, *bp = scratch + ((size_t)O * (size_t)B + 15) / 16 * 16;
    for (int o = 0; o < O; o++)
        for (int b = 0; b < B; b++)
            dt[(size_t)o * B + b] = dout[(size_t)b * O + o];
    net_gemm_pack(bp, in, B, I, (size_t)I, 1);
    net_gemm(dw, (size_t)I, dt, (size_t)B, bp, O, I, B, NULL, 1);
    if (db)
        for (int o = 0; o < O; o++) {
            float s = 0.0f;
            for (int b = 0; b < B; b++)
                s += dout[(size_t)b * O + o];
            db[o] += s;
        }
}

/* ---------------- Conv2d 3x3 pad 1 ---------------- */

/* im2col of one sample x [C][H][W] into col [9C][HW], row-major:
 * col[k][y*W + x] = x[c][y+ky-1][x+kx-1] (0 outside), k = c*9 + ky*3 + kx.
 * Each row is three shifted copies per image row (memcpy + a zero border). */
static void im2col(float *col, const float *x, int C, int H, int W)
{
    const int K = C * 9;
    const size_t HW = (size_t)H * W;
#pragma omp parallel for schedule(static) if ((size_t)K * HW > PAR_MIN_WORK)
    for (int k = 0; k < K; k++) {
        const int c = k / 9, dy = (k % 9) / 3 - 1, dx = k % 3 - 1;
        const float *xc = x + (size_t)c * HW;
        float *d = col + (size_t)k * HW;
        for (int y = 0; y < H; y++) {
            float *dr = d + (size_t)y * W;
            const int sy = y + dy;
            if (sy < 0 || sy >= H) {
                memset(dr, 0, sizeof(float) * (size_t)W);
                continue;
            }
            const float *sr = xc + (size_t)sy * W;
            if (dx < 0) {
                dr[0] = 0.0f;
                memcpy(dr + 1, sr, sizeof(float) * (size_t)(W - 1));
            } else if (dx == 0) {
                memcpy(dr, sr, sizeof(float) * (size_t)W);
            } else {
                memcpy(dr, sr + 1, sizeof(float) * (size_t)(W - 1));
                dr[W - 1] = 0.0f;
            }
        }
    }
}

/* The same values written straight into the packed panels of B(k, p)
 * (K = 9C rows, N = HW columns) that net_gemm wants: each thread fills
 * whole panels (K x NR floats, written sequentially) from row segments of
 * the input, so col is never materialised for the forward. */
static void im2col_pack(float *bp, const float *x, int C, int H, int W)
{
    const size_t nr = (size_t)kern_active()->igemm_tile.n, K = (size_t)C * 9, N = (size_t)H * W;
    const size_t np = ceil_div(N, nr);
#pragma omp parallel for schedule(static) if (K * N > PAR_MIN_WORK)
    for (size_t p = 0; p < np; p++) {
        const size_t p0 = p * nr, nc = N - p0 < nr ? N - p0 : nr;
        float *dst = bp + p * K * nr;
        for (size_t k = 0; k < K; k++) {
            const int c = (int)(k / 9), dy = (int)(k % 9) / 3 - 1, dx = (int)(k % 3) - 1;
            const float *xc = x + (size_t)c * N;
            float *d = dst + k * nr;
            size_t j = 0;
            while (j < nc) { /* one image row segment at a time */
                const size_t q = p0 + j;
                const int y = (int)(q / (size_t)W), x0 = (int)(q % (size_t)W);
                const int len = (int)(nc - j) < W - x0 ? (int)(nc - j) : W - x0;
                const int sy = y + dy;
                if (sy < 0 || sy >= H) {
                    for (int t = 0; t < len; t++)
                        d[j + t] = 0.0f;
                } else {
                    const float *sr = xc + (size_t)sy * W + x0 + dx;
                    /* source column x0+t+dx must lie in [0, W) */
                    const int lo = x0 + dx < 0 ? -(x0 + dx) : 0;
                    const int hi = W - (x0 + dx) < len ? W - (x0 + dx) : len;
                    int t = 0;
                    for (; t < lo; t++)
                        d[j + t] = 0.0f;
                    if (hi > t) {
                        memcpy(d + j + t, sr + t, sizeof(float) * (size_t)(hi - t));
                        t = hi;
                    }
                    for (; t < len; t++)
                        d[j + t] = 0.0f;
                }
                j += (size_t)len;
            }
            for (; j < nr; j++)
                d[j] = 0.0f;
        }
    }
}

/* scratch layout: col [max(C,F)*9][HW] | packed col | packed dout^T | dWt [9C][F] | wt */
typedef struct {
    float *col, *colp, *gp, *dwt, *wt;
} conv_scratch;

static size_t conv_layout(const net_conv3x3_shape *s, float *base, conv_scratch *cs)
{
    const size_t HW = (size_t)s->H * s->W, CF = (size_t)(s->C > s->F ? s->C : s->F);
    const size_t sz[5] = { CF * 9 * HW, net_gemm_packed_floats((int)CF * 9, (int)HW),
                           net_gemm_packed_floats((int)HW, s->F), (size_t)s->C * 9 * s->F,
                           (size_t)s->C * s->F * 9 };
    float **slot[5] = { &cs->col, &cs->colp, &cs->gp, &cs->dwt, &cs->wt };
    size_t off = 0;
    for (int i = 0; i < 5; i++) {
        if (base)
            *slot[i] = base + off;
        off += (sz[i] + 15) / 16 * 16;
    }
    return off;
}

size_t net_conv3x3_scratch(const net_conv3x3_shape *s)
{
    conv_scratch cs;
    return conv_layout(s, NULL, &cs);
}

/* out [F][HW] (ldc HW) = w [F][K] x col [K][HW] for one sample of C channels */
static void conv_one(float *out, const float *x, const float *w, int C, int H, int W, int F,
                     const conv_scratch *cs)
{
    const int K = C * 9, HW = H * W;
    im2col_pack(cs->colp, x, C, H, W);
    net_gemm(out, (size_t)HW, w, (size_t)K, cs->colp, F, HW, K, NULL, 0);
}

void net_conv3x3_forward(float *out, const float *in, const float *w, const float *b,
                         const net_conv3x3_shape *s, float *scratch)
{
    conv_scratch cs;
    conv_layout(s, scratch, &cs);
    const size_t HW = (size_t)s->H * s->W;
    for (int n = 0; n < s->B; n++) {
        float *o = out + (size_t)n * s->F * HW;
        conv_one(o, in + (size_t)n * s->C * HW, w, s->C, s->H, s->W, s->F, &cs);
        if (b) {
#pragma omp parallel for schedule(static) if ((size_t)s->F * HW > PAR_MIN_WORK)
            for (int f = 0; f < s->F; f++)
                for (size_t p = 0; p < HW; p++)
                    o[(size_t)f * HW + p] += b[f];
        }
    }
}

void net_conv3x3_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                          const float *w, const net_conv3x3_shape *s, float *scratch)
{
    const int C = s->C, F = s->F, K = C * 9;
    const size_t HW = (size_t)s->H * s->W;
    conv_scratch cs;
    conv_layout(s, scratch, &cs);
    if (din) /* wt[c][f][ky][kx] = w[f][c][2-ky][2-kx] */
        for (int f = 0; f < F; f++)
            for (int c = 0; c < C; c++)
                for (int k = 0; k < 9; k++)
                    cs.wt[((size_t)c * F + f) * 9 + k] = w[((size_t)f * C + c) * 9 + (8 - k)];
    memset(cs.dwt, 0, sizeof(float) * (size_t)K * F);
    for (int n = 0; n < s->B; n++) {
        const float *g = dout + (size_t)n * F * HW;
        if (db) {
#pragma omp parallel for schedule(static) if ((size_t)F * HW > PAR_MIN_WORK)
            for (int f = 0; f < F; f++) {
                float acc = 0.0f;
                for (size_t p = 0; p < HW; p++)
                    acc += g[(size_t)f * HW + p];
                db[f] += acc;
            }
        }
        /* dWt[9C][F] += col_n[9C][HW] dout_n^T[HW][F], summed over samples in order */
        im2col(cs.col, in + (size_t)n * C * HW, C, s->H, s->W);
        net_gemm_pack(cs.gp, g, (int)HW, F, 1, HW);
        net_gemm(cs.dwt, (size_t)F, cs.col, HW, cs.gp, K, F, (int)HW, NULL, 1);
        if (din) /* full correlation of dout with the flipped filters */
            conv_one(din + (size_t)n * C * HW, g, cs.wt, F, s->H, s->W, C, &cs);
    }
    for (int f = 0; f < F; f++)
        for (int k = 0; k < K; k++)
            dw[(size_t)f * K + k] += cs.dwt[(size_t)k * F + f];
}

/* ---------------- ReLU ---------------- */

void net_relu_forward(float *out, const float *in, size_t n)
{
#pragma omp parallel for schedule(static) if (n > PAR_MIN_WORK)
    for (size_t i = 0; i < n; i++)
        out[i] = in[i] > 0.0f ? in[i] : (in[i] != in[i] ? in[i] : 0.0f);
}

void net_relu_backward(float *din, const float *dout, const float *out, size_t n)
{
#pragma omp parallel for schedule(static) if (n > PAR_MIN_WORK)
    for (size_t i = 0; i < n; i++)
        din[i] = out[i] > 0.0f ? dout[i] : 0.0f;
}

/* ---------------- MaxPool 2x2 ---------------- */

void net_maxpool2_forward(float *out, uint8_t *arg, const float *in, int B, int C, int H, int W)
{
    const int OH = H / 2, OW = W / 2;
    const long planes = (long)B * C;
#pragma omp parallel for schedule(static) if ((size_t)planes * H * W > PAR_MIN_WORK)
    for (long pl = 0; pl < planes; pl++) {
        const float *x = in + (size_t)pl * H * W;
        float *o = out + (size_t)pl * OH * OW;
        uint8_t *a = arg + (size_t)pl * OH * OW;
        for (int y = 0; y < OH; y++)
            for (int xx = 0; xx < OW; xx++) {
                const float *w0 = x + (size_t)(2 * y) * W + 2 * xx;
                const float v[4] = { w0[0], w0[1], w0[W], w0[W + 1] };
                int best = 0;
                /* first maximum wins; a NaN is taken and kept (PyTorch) */
                for (int k = 1; k < 4; k++)
                    if (v[best] == v[best] && (v[k] > v[best] || v[k] != v[k]))
                        best = k;
                o[y * OW + xx] = v[best];
                a[y * OW + xx] = (uint8_t)best;
            }
    }
}

void net_maxpool2_backward(float *din, const float *dout, const uint8_t *arg, int B, int C, int H,
                           int W)
{
    const int OH = H / 2, OW = W / 2;
    const long planes = (long)B * C;
#pragma omp parallel for schedule(static) if ((size_t)planes * H * W > PAR_MIN_WORK)
    for (long pl = 0; pl < planes; pl++) {
        float *dx = din + (size_t)pl * H * W;
        const float *g = dout + (size_t)pl * OH * OW;
        const uint8_t *a = arg + (size_t)pl * OH * OW;
        memset(dx, 0, sizeof(float) * (size_t)H * W);
        for (int y = 0; y < OH; y++)
            for (int xx = 0; xx < OW; xx++) {
                const int k = a[y * OW + xx];
                dx[(size_t)(2 * y + (k >> 1)) * W + 2 * xx + (k & 1)] = g[y * OW + xx];
            }
    }
}

/* ---------------- BatchNorm ---------------- */

void net_bn_forward_train(float *out, float *xhat, float *invstd, const float *in,
                          const float *gamma, const float *beta, float *running_mean,
                          float *running_var, int B, int N, float momentum, float eps)
{
#pragma omp parallel for schedule(static) if ((size_t)B * N > PAR_MIN_WORK)
    for (int j = 0; j < N; j++) {
        /* statistics accumulated in double, as PyTorch's CPU kernel */
        double sum = 0.0, sq = 0.0;
        for (int b = 0; b < B; b++)
            sum += in[(size_t)b * N + j];
        const double mean = sum / B;
        for (int b = 0; b < B; b++) {
            const double d = in[(size_t)b * N + j] - mean;
            sq += d * d;
        }
        const double var = sq / B;
        const float is = (float)(1.0 / sqrt(var + (double)eps));
        invstd[j] = is;
        const float mf = (float)mean;
        for (int b = 0; b < B; b++) {
            const size_t i = (size_t)b * N + j;
            const float xh = (in[i] - mf) * is;
            xhat[i] = xh;
            out[i] = xh * gamma[j] + beta[j];
        }
        if (running_mean) {
            const double unbiased = B > 1 ? sq / (B - 1) : var;
            running_mean[j] = (float)((1.0 - momentum) * running_mean[j] + momentum * mean);
            running_var[j] = (float)((1.0 - momentum) * running_var[j] + momentum * unbiased);
        }
    }
}

void net_bn_forward_eval(float *out, const float *in, const float *gamma, const float *beta,
                         const float *running_mean, const float *running_var, int B, int N,
                         float eps)
{
    for (int j = 0; j < N; j++) {
        const float is = (float)(1.0 / sqrt((double)running_var[j] + (double)eps));
        for (int b = 0; b < B; b++) {
            const size_t i = (size_t)b * N + j;
            out[i] = (in[i] - running_mean[j]) * is * gamma[j] + beta[j];
        }
    }
}

void net_bn_backward(float *din, float *dgamma, float *dbeta, const float *dout,
                     const float *xhat, const float *gamma, const float *invstd, int B, int N)
{
#pragma omp parallel for schedule(static) if ((size_t)B * N > PAR_MIN_WORK)
    for (int j = 0; j < N; j++) {
        double sg = 0.0, sgx = 0.0;
        for (int b = 0; b < B; b++) {
            const size_t i = (size_t)b * N + j;
            sg += dout[i];
            sgx += (double)dout[i] * xhat[i];
        }
        dgamma[j] += (float)sgx;
        dbeta[j] += (float)sg;
        if (din) {
            /* din = gamma*invstd/B * (B*dout - sum(dout) - xhat*sum(dout*xhat)) */
            const double k = (double)gamma[j] * invstd[j] / B;
            for (int b = 0; b < B; b++) {
                const size_t i = (size_t)b * N + j;
                din[i] = (float)(k * ((double)B * dout[i] - sg - (double)xhat[i] * sgx));
            }
        }
    }
}

/* ---------------- Dropout ---------------- */

void net_dropout_mask(uint8_t *mask, size_t n, float p, uint64_t seed, uint64_t counter0)
{
    const uint64_t key = base_rng_hash(seed ^ 0x64726f706f7574ull); /* "dropout" */
    for (size_t i = 0; i < n; i++) {
        const double u = (double)(base_rng_hash(key ^ base_rng_hash(counter0 + i)) >> 11) * 0x1p-53;
        mask[i] = u >= (double)p;
    }
}

void net_dropout_forward(float *out, const float *in, const uint8_t *mask, size_t n, float p)
{
    const float scale = 1.0f / (1.0f - p);
    for (size_t i = 0; i < n; i++)
        out[i] = mask[i] ? in[i] * scale : 0.0f;
}

void net_dropout_backward(float *din, const float *dout, const uint8_t *mask, size_t n, float p)
{
    const float scale = 1.0f / (1.0f - p);
    for (size_t i = 0; i < n; i++)
        din[i] = mask[i] ? dout[i] * scale : 0.0f;
}

/* ---------------- sigmoid + BCE from logits ---------------- */

float net_sigmoid(float z)
{
    if (z >= 0.0f)
        return 1.0f / (1.0f + expf(-z));
    const float e = expf(z);
    return e / (1.0f + e);
}

double net_bce_logits_forward(const float *z, const float *y, int B)
{
    double s = 0.0;
    for (int i = 0; i < B; i++) {
        const double zi = z[i];
        s += (zi > 0.0 ? zi : 0.0) - zi * y[i] + log1p(exp(-fabs(zi)));
    }
    return s / B;
}

void net_bce_logits_backward(float *dz, const float *z, const float *y, int B, float dloss)
{
    const float k = dloss / (float)B;
    for (int i = 0; i < B; i++)
        dz[i] = (net_sigmoid(z[i]) - y[i]) * k;
}

/* ---------------- L1 ---------------- */

double net_l1_forward(const float *w, size_t n, float lambda)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += fabs((double)w[i]);
    return (double)lambda * s;
}

void net_l1_backward(float *dw, const float *w, size_t n, float lambda)
{
    for (size_t i = 0; i < n; i++)
        dw[i] += w[i] > 0.0f ? lambda : (w[i] < 0.0f ? -lambda : 0.0f);
}
