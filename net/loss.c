/* loss.c - softmax cross-entropy and the ArcFace/CosFace margin heads
 * (semantics and formulas: net/loss.h).
 *
 * The head's three products (cos = E W^T, dE = dcos W, dW = dcos^T E) run
 * through the GEMM seam net_gemm (packed igemm microkernels); normalising,
 * the margin and the softmax are plain C with OpenMP over rows. The
 * forward product is taken as cos^T = W E^T so that only E is repacked.
 * Measured (bench/bench_loss, ArcFace, n 64, d 512, 5749 classes, AVX-512,
 * 2 threads on 2 shared cores at load ~8-10): 74-90 ms per forward+backward,
 * a quarter of it in the GEMMs, the rest memory-bound passes over W
 * (normalise, pack, the normalisation's backward); scratch ~40 MB. Rows are
 * taken in blocks whose per-row losses are summed in row order, so the loss
 * does not depend on the thread count. */
#include "net/loss.h"
#include <float.h>
#include <math.h>
#include <string.h>
#include "net/train_ops.h"

/* rows per block of the fixed-order loss sum */
#define ROW_BLOCK 64
/* elements below which a loop stays on one thread (train_ops.c's figure) */
#define PAR_MIN_WORK ((size_t)1 << 18)
#define NORM_EPS 1e-12 /* F.normalize */

static size_t up16(size_t n)
{
    return (n + 15) / 16 * 16;
}

static mint_status check_labels(const int *labels, int n, int classes, const char *fn)
{
    for (int i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= classes)
            return mint_fail(MINT_E_ARG, "%s: label %d of row %d is outside [0, %d)", fn,
                             labels[i], i, classes);
    return MINT_OK;
}

/* Softmax cross-entropy of one row z[classes] with label t: returns the
 * loss; dz (may be z, NULL: skip) = g * (softmax(z) - onehot(t)). */
static double row_xent(const float *z, int classes, int t, float *dz, float g)
{
    float mx = z[0];
    for (int c = 1; c < classes; c++)
        if (z[c] > mx)
            mx = z[c];
    const double zt = (double)z[t] - (double)mx; /* before dz (may be z) is written */
    double sum = 0.0;
    if (dz)
        for (int c = 0; c < classes; c++) {
            const float e = expf(z[c] - mx);
            dz[c] = e;
            sum += (double)e;
        }
    else
        for (int c = 0; c < classes; c++)
            sum += (double)expf(z[c] - mx);
    if (dz) {
        const double inv = 1.0 / sum;
        for (int c = 0; c < classes; c++)
            dz[c] = (float)((double)g * ((double)dz[c] * inv - (c == t)));
    }
    return log(sum) - zt;
}

static int row_argmax(const float *z, int classes)
{
    int best = 0;
    for (int c = 1; c < classes; c++)
        if (z[c] > z[best])
            best = c;
    return best;
}

mint_status net_softmax_xent(const float *logits, const int *labels, int n, int classes,
                             float *dlogits, float gscale, double *loss, int *correct)
{
    if (!logits || !labels || !loss || n <= 0 || classes <= 0)
        return mint_fail(MINT_E_ARG, "net_softmax_xent: bad arguments (n %d, classes %d)", n,
                         classes);
    mint_status st = check_labels(labels, n, classes, "net_softmax_xent");
    if (st != MINT_OK)
        return st;
    const float g = gscale / (float)n;
    const int par = (size_t)n * (size_t)classes > PAR_MIN_WORK;
    (void)par; /* OMP=0 */
    double total = 0.0;
    int ok = 0;
    for (int b0 = 0; b0 < n; b0 += ROW_BLOCK) {
        const int nb = n - b0 < ROW_BLOCK ? n - b0 : ROW_BLOCK;
        double rl[ROW_BLOCK];
        int rc[ROW_BLOCK];
#pragma omp parallel for schedule(static) if (par)
        for (int r = 0; r < nb; r++) {
            const size_t i = (size_t)(b0 + r);
            const float *z = logits + i * (size_t)classes;
            rc[r] = row_argmax(z, classes) == labels[i];
            rl[r] = row_xent(z, classes, labels[i], dlogits ? dlogits + i * (size_t)classes : NULL,
                             g);
        }
        for (int r = 0; r < nb; r++)
            total += rl[r], ok += rc[r];
    }
    *loss = total / n;
    if (correct)
        *correct = ok;
    return MINT_OK;
}

/* ---------------- margin head ---------------- */

/* Scratch layout, each part rounded up to 16 floats:
 * ne [n][d], nw [classes][d], norms [n + classes], raw [n][classes],
 * z [n][classes] (then dcos), dt [classes][n] (dcos^T), dne [n][d], dnw [classes][d],
 * packed B (the largest of the three products). */
typedef struct {
    float *ne, *nw, *norm, *raw, *z, *dt, *dne, *dnw, *bp;
} head_buf;

static size_t packed_max(int n, int d, int classes)
{
    size_t a = net_gemm_packed_floats(d, n), b = net_gemm_packed_floats(classes, d),
           c = net_gemm_packed_floats(n, d);
    size_t m = a > b ? a : b;
    return m > c ? m : c;
}

size_t net_margin_head_scratch(int n, int d, int classes)
{
    if (n <= 0 || d <= 0 || classes <= 0)
        return 0;
    const size_t N = (size_t)n, D = (size_t)d, C = (size_t)classes;
    return 2 * up16(N * D) + 2 * up16(C * D) + up16(N + C) + 3 * up16(N * C) +
           up16(packed_max(n, d, classes));
}

static head_buf head_layout(float *s, int n, int d, int classes)
{
    const size_t N = (size_t)n, D = (size_t)d, C = (size_t)classes;
    head_buf h;
    h.ne = s, s += up16(N * D);
    h.nw = s, s += up16(C * D);
    h.norm = s, s += up16(N + C);
    h.raw = s, s += up16(N * C);
    h.z = s, s += up16(N * C);
    h.dt = s, s += up16(N * C);
    h.dne = s, s += up16(N * D);
    h.dnw = s, s += up16(C * D);
    h.bp = s;
    return h;
}

/* Dot product of two float rows in 16 float lanes summed in a fixed order
 * (vectorisable without reassociating anything). */
static double dot16(const float *a, const float *b, int d)
{
    float acc[16] = { 0 };
    int k = 0;
    for (; k + 16 <= d; k += 16)
        for (int j = 0; j < 16; j++)
            acc[j] += a[k + j] * b[k + j];
    double s = 0.0;
    for (int j = 0; j < 16; j++)
        s += acc[j];
    for (; k < d; k++)
        s += (double)a[k] * b[k];
    return s;
}

/* y[r] = x[r] / max(||x[r]||, 1e-12) for rows [rows][d]; norm[r] = ||x[r]||. */
static void normalize_rows(float *y, float *norm, const float *x, int rows, int d)
{
#pragma omp parallel for schedule(static) if ((size_t)rows * (size_t)d > PAR_MIN_WORK)
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * d;
        float *yr = y + (size_t)r * d;
        const float nr = (float)sqrt(dot16(xr, xr, d));
        const float den = nr > (float)NORM_EPS ? nr : (float)NORM_EPS;
        norm[r] = nr;
        for (int k = 0; k < d; k++)
            yr[k] = xr[k] / den;
    }
}

/* Backward of normalize_rows: dx[r] (= or +=) from dy[r], y[r], norm[r]:
 * dx = (dy - y (y . dy)) / ||x|| when ||x|| > eps, else dy / eps. */
static void normalize_rows_backward(float *dx, const float *dy, const float *y,
                                    const float *norm, int rows, int d, int accumulate)
{
#pragma omp parallel for schedule(static) if ((size_t)rows * (size_t)d > PAR_MIN_WORK)
    for (int r = 0; r < rows; r++) {
        const float *dyr = dy + (size_t)r * d, *yr = y + (size_t)r * d;
        float *dxr = dx + (size_t)r * d;
        const int big = norm[r] > (float)NORM_EPS;
        const float dot = big ? (float)dot16(yr, dyr, d) : 0.0f;
        const float inv = (float)(1.0 / (big ? (double)norm[r] : NORM_EPS));
        if (accumulate)
            for (int k = 0; k < d; k++)
                dxr[k] += (dyr[k] - yr[k] * dot) * inv;
        else
            for (int k = 0; k < d; k++)
                dxr[k] = (dyr[k] - yr[k] * dot) * inv;
    }
}

/* dst[cols][rows] = src[rows][cols]^T */
static void transpose(float *dst, const float *src, size_t rows, size_t cols)
{
#pragma omp parallel for schedule(static) if (rows * cols > PAR_MIN_WORK)
    for (size_t c = 0; c < cols; c++)
        for (size_t r = 0; r < rows; r++)
            dst[c * rows + r] = src[r * cols + c];
}

typedef struct {
    double s, cos_m, sin_m, theta, sinmm, m3;
    int arc; /* 1: ArcFace margin on the target, 0: CosFace (m3, may be 0) */
} margin_k;

/* f(x) and f'(x) of the target logit before the scale (x already clamped). */
static double margin_f(const margin_k *k, double x, double *df)
{
    if (!k->arc) {
        *df = 1.0;
        return x - k->m3;
    }
    if (x > k->theta) {
        const double q = 1.0 - x * x;
        *df = k->cos_m + k->sin_m * x / sqrt(q > FLT_EPSILON ? q : FLT_EPSILON);
        return x * k->cos_m - sqrt(q > 0.0 ? q : 0.0) * k->sin_m;
    }
    *df = 1.0;
    return x - k->sinmm;
}

/* One row of the head: z = margin logits from raw, returns the loss; when
 * want_grad, z is overwritten by dcos = d(gscale/n * loss_i)/d(raw). */
static double head_row(const margin_k *k, const float *raw, float *z, int classes, int t, float g,
                       int want_grad)
{
    const float s = (float)k->s;
    double dft = 1.0;
    if (s == 0.0f)
        memcpy(z, raw, (size_t)classes * sizeof *z);
    else {
        for (int c = 0; c < classes; c++) {
            const float x = raw[c] < -1.0f ? -1.0f : raw[c] > 1.0f ? 1.0f : raw[c];
            z[c] = s * x;
        }
        const float xt = raw[t] < -1.0f ? -1.0f : raw[t] > 1.0f ? 1.0f : raw[t];
        z[t] = s * (float)margin_f(k, xt, &dft);
    }
    const double loss = row_xent(z, classes, t, want_grad ? z : NULL, g);
    if (want_grad && s != 0.0f) {
        for (int c = 0; c < classes; c++)
            z[c] = raw[c] >= -1.0f && raw[c] <= 1.0f ? s * z[c] : 0.0f;
        z[t] = (float)((double)z[t] * dft);
    }
    return loss;
}

static mint_status check_head(const net_margin *mg, const float *emb, const float *W,
                              const int *labels, int n, int d, int classes, const double *loss,
                              const float *scratch)
{
    if (!mg || !emb || !W || !labels || !loss || !scratch || n <= 0 || d <= 0 || classes <= 0)
        return mint_fail(MINT_E_ARG, "net_margin_head: bad arguments (n %d, d %d, classes %d)",
                         n, d, classes);
    if (!(mg->s >= 0.0f) || !(mg->m2 >= 0.0f) || !(mg->m2 < (float)M_PI) || !(mg->m3 >= 0.0f) ||
        (mg->m2 > 0.0f && mg->m3 > 0.0f))
        return mint_fail(MINT_E_ARG,
                         "net_margin_head: margins s %g, m2 %g, m3 %g out of range (s >= 0, "
                         "0 <= m2 < pi, m3 >= 0, not both m2 and m3)",
                         (double)mg->s, (double)mg->m2, (double)mg->m3);
    if (mg->s != 0.0f && mg->m1 != 1.0f)
        return mint_fail(MINT_E_UNSUPPORTED, "net_margin_head: m1 = %g (only 1 is supported)",
                         (double)mg->m1);
    return check_labels(labels, n, classes, "net_margin_head");
}

mint_status net_margin_head(const net_margin *mg, const float *emb, const float *W,
                            const int *labels, int n, int d, int classes, float *demb, float *dW,
                            float gscale, double *loss, int *correct, float *scratch)
{
    mint_status st = check_head(mg, emb, W, labels, n, d, classes, loss, scratch);
    if (st != MINT_OK)
        return st;
    const size_t N = (size_t)n, D = (size_t)d, C = (size_t)classes;
    const head_buf h = head_layout(scratch, n, d, classes);
    const int lin = mg->s == 0.0f;
    margin_k k = { mg->s, cos(mg->m2), sin(mg->m2), cos(M_PI - mg->m2),
                   sin(M_PI - mg->m2) * mg->m2, mg->m3, mg->m3 == 0.0f };
    /* cos = E W^T (normalised unless linear) */
    const float *E = emb, *Wn = W;
    if (!lin) {
        normalize_rows(h.ne, h.norm, emb, n, d);
        normalize_rows(h.nw, h.norm + N, W, classes, d);
        E = h.ne, Wn = h.nw;
    }
    /* as cos^T[C][n] = Wn[C][d] E^T: only the small E is packed */
    net_gemm_pack(h.bp, E, d, n, 1, D);
    net_gemm(h.dt, N, Wn, D, h.bp, classes, n, d, NULL, 0);
    transpose(h.raw, h.dt, C, N);
    /* margin, softmax, loss; z becomes dcos */
    const int want_grad = demb || dW;
    const float g = gscale / (float)n;
    double total = 0.0;
    int ok = 0;
    for (int b0 = 0; b0 < n; b0 += ROW_BLOCK) {
        const int nb = n - b0 < ROW_BLOCK ? n - b0 : ROW_BLOCK;
        double rl[ROW_BLOCK];
        int rc[ROW_BLOCK];
#pragma omp parallel for schedule(static) if (N * C > PAR_MIN_WORK / 4)
        for (int r = 0; r < nb; r++) {
            const size_t i = (size_t)(b0 + r);
            rc[r] = row_argmax(h.raw + i * C, classes) == labels[i];
            rl[r] = head_row(&k, h.raw + i * C, h.z + i * C, classes, labels[i], g, want_grad);
        }
        for (int r = 0; r < nb; r++)
            total += rl[r], ok += rc[r];
    }
    *loss = total / n;
    if (correct)
        *correct = ok;
    if (!want_grad)
        return MINT_OK;
    const float *dcos = h.z;
    if (demb) {
        /* dE[n][d] = dcos[n][C] Wn[C][d] */
        net_gemm_pack(h.bp, Wn, classes, d, D, 1);
        if (lin)
            net_gemm(demb, D, dcos, C, h.bp, n, d, classes, NULL, 0);
        else {
            net_gemm(h.dne, D, dcos, C, h.bp, n, d, classes, NULL, 0);
            normalize_rows_backward(demb, h.dne, h.ne, h.norm, n, d, 0);
        }
    }
    if (dW) {
        /* dWn[C][d] = dcos^T[C][n] E[n][d] */
        transpose(h.dt, dcos, N, C);
        net_gemm_pack(h.bp, E, n, d, D, 1);
        if (lin)
            net_gemm(dW, D, h.dt, N, h.bp, classes, d, n, NULL, 1);
        else {
            net_gemm(h.dnw, D, h.dt, N, h.bp, classes, d, n, NULL, 0);
            normalize_rows_backward(dW, h.dnw, h.nw, h.norm + N, classes, d, 1);
        }
    }
    return MINT_OK;
}
