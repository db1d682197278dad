/* bench_kernels.c - every microkernel of kernels.inc on its own (one line
 * each: min/median/max per call, GFLOP/s or GB/s), the training conv
 * against the inference conv on the CNN MINT layer, then the convolution
 * kernels on the IResNet-100 layer shapes (112x112 input) against the
 * machine's measured FMA peak.
 *
 * For every ISA this machine runs: the FMA peak (register-only loop, one
 * thread and all OpenMP threads), then each conv shape at batch 1 and 8 with
 * one thread and all threads: results checked once against the scalar path,
 * a warm-up, repeated runs, min/median/max ms, GFLOP/s (at the median) and %
 * of peak. The scalar path only runs a small subset (it is slow). At the end,
 * the convolution time of a whole IResNet-100 forward pass is estimated from
 * the per-layer medians and layer counts.
 *
 * GFLOP/s and % of peak are given at the median and (best) at the minimum:
 * on a shared machine the minimum is the better estimate of what the code
 * can do.
 *
 * Then the convolution backward (din, dw) on every conv shape of IResNet-18
 * at 112x112 (but the stem), batch 64 (--quick: 8), all threads, next to
 * the forward conv and the FMA peak, and the whole network's conv backward
 * (the layers weighted by how often they occur) against that peak.
 *
 * usage: bench_kernels [--quick] [--isa NAME] [--layer SUBSTRING] [--micro] [--bwd]
 *   --micro: the microkernels and the training conv only.
 *   --bwd: the FMA peak and the conv backward table only. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "kernels.h"
#include "net/train_ops.h"
#include "peak.h"
#ifdef _OPENMP
#include <omp.h>
#endif

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The machine may be shared: print the load so readers can judge. */
static void print_load(const char *when)
{
    FILE *f = fopen("/proc/loadavg", "r");
    char buf[128];
    if (f && fgets(buf, sizeof buf, f))
        printf("load average %s: %s", when, buf);
    if (f)
        fclose(f);
}

static int max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

static void set_threads(int n)
{
#ifdef _OPENMP
    omp_set_num_threads(n);
#else
    (void)n;
#endif
}

/* FMA peak of one ISA in GFLOP/s with nthr threads: the best of many short
 * windows (the best window is the one nobody else ran in). */
static double measure_peak(const char *isa, int nthr, double min_time)
{
    size_t iters = 1u << 16;
    double best = 0;
    const double window = nthr > 1 ? 0.02 : 0.005, t_end = now() + min_time * 4;
    for (int rep = 0; rep < 200 && (rep < 20 || now() < t_end); rep++) {
        double flops = 0;
        const double t0 = now();
#ifdef _OPENMP
#pragma omp parallel num_threads(nthr) reduction(+ : flops)
#endif
        flops += kern_fmapeak(isa, iters);
        const double dt = now() - t0;
        if (dt < window) {
            iters *= 2;
            rep--;
            continue;
        }
        if (flops / dt > best)
            best = flops / dt;
    }
    (void)nthr;
    return best * 1e-9;
}

typedef struct {
    const char *name;
    int cin, cout, k, stride, h; /* h = input height = width */
    int count;                   /* occurrences in IResNet-100 */
    int scalar;                  /* also time the scalar path */
} layer;

/* IResNet-100 [3, 13, 30, 3]: block = conv1 3x3 s1 (inplanes->planes at the
 * block's input resolution), conv2 3x3 (stride), shortcut 1x1 s2 in each
 * stage's first block; b blocks give 2(b-1) body convs at the output size. */
static const layer layers[] = {
    { "stem 3x3s1",        3,  64, 3, 1, 112,  1, 0 },
    { "s1 first 3x3s1",   64,  64, 3, 1, 112,  1, 0 },
    { "s1 3x3s2",         64,  64, 3, 2, 112,  1, 0 },
    { "s1 short 1x1s2",   64,  64, 1, 2, 112,  1, 0 },
    { "s1 body 3x3s1",    64,  64, 3, 1,  56,  4, 0 },
    { "s2 first 3x3s1",   64, 128, 3, 1,  56,  1, 0 },
    { "s2 3x3s2",        128, 128, 3, 2,  56,  1, 0 },
    { "s2 short 1x1s2",   64, 128, 1, 2,  56,  1, 0 },
    { "s2 body 3x3s1",   128, 128, 3, 1,  28, 24, 0 },
    { "s3 first 3x3s1",  128, 256, 3, 1,  28,  1, 0 },
    { "s3 3x3s2",        256, 256, 3, 2,  28,  1, 0 },
    { "s3 short 1x1s2",  128, 256, 1, 2,  28,  1, 0 },
    { "s3 body 3x3s1",   256, 256, 3, 1,  14, 58, 1 },
    { "s4 first 3x3s1",  256, 512, 3, 1,  14,  1, 0 },
    { "s4 3x3s2",        512, 512, 3, 2,  14,  1, 0 },
    { "s4 short 1x1s2",  256, 512, 1, 2,  14,  1, 0 },
    { "s4 body 3x3s1",   512, 512, 3, 1,   7,  4, 1 },
    { "fc 25088->512", 25088, 512, 1, 1,   1,  1, 1 },
};
#define NLAYERS (sizeof layers / sizeof layers[0])

static void fill(float *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* ---- micro-benchmarks: one per line of kernels.inc ----
 * Each kernel alone on one thread, on a problem that stays in L1/L2 (the
 * kernel's speed, not the memory system's): one call is timed in a loop of
 * enough calls to last >= 1 ms, after a warm-up; min/median/max of the
 * per-call time. Compute-bound kernels (igemm, dwconv, affine) in GFLOP/s
 * (an FMA counts 2), the others in GB/s of data read and written. */

typedef struct {
    const kern_isa *t;
    size_t a, b, c, d; /* sizes, per op */
    const float **ptrs;
    float *x, *x2, *w, *p1, *p2, *y;
    kern_epilogue ep;
} micro_ctx;

static void run_igemm(micro_ctx *m)
{
    m->t->igemm(m->a, m->b, m->c, m->d, m->ptrs, m->w, m->y, m->b, NULL, 0, &m->ep, 0);
}
static void run_dwconv(micro_ctx *m) { m->t->dwconv(m->a, m->b, m->ptrs, m->w, m->y, &m->ep); }
static void run_affine(micro_ctx *m) { m->t->affine(m->a, m->b, m->x, m->p1, m->p2, m->y); }
static void run_prelu(micro_ctx *m) { m->t->prelu(m->a, m->b, m->x, m->p1, m->y); }
static void run_clip(micro_ctx *m) { m->t->clip(m->a, m->x, 0.0f, 6.0f, m->y); }
static void run_add(micro_ctx *m) { m->t->add(m->a, m->x, m->x2, m->y); }
static void run_chmax(micro_ctx *m) { m->t->chmax(m->a, m->b, m->x, m->y); }

/* Times run(m): fills ms[0..2] = min, median, max per call in seconds. */
static void micro_time(void (*run)(micro_ctx *), micro_ctx *m, double min_time, double *s)
{
    run(m); /* warm-up: caches, page faults */
    double t0 = now();
    run(m);
    double one = now() - t0;
    size_t inner = one > 0 ? (size_t)(1e-3 / one) + 1 : 1000;
    double times[64];
    int reps = 0;
    const double start = now();
    while (reps < 64 && (reps < 5 || now() - start < min_time)) {
        t0 = now();
        for (size_t i = 0; i < inner; i++)
            run(m);
        times[reps++] = (now() - t0) / (double)inner;
    }
    qsort(times, (size_t)reps, sizeof(double), cmp_double);
    s[0] = times[0];
    s[1] = times[reps / 2];
    s[2] = times[reps - 1];
}

static float *micro_buf(size_t n, unsigned seed)
{
    float *p = malloc((n ? n : 1) * sizeof(float));
    if (p)
        fill(p, n, seed);
    return p;
}

/* Sets up op's problem (sizes from the tile where it matters), times it,
 * prints one line. Returns 0, or 1 when out of memory. */
static int micro_bench(const kern_isa *t, const char *op, void (*run)(micro_ctx *),
                       const char *name, kern_tile tile, double min_time)
{
    micro_ctx m = { .t = t };
    double work = 0; /* FLOPs or bytes per call */
    int flops = 1;
    char problem[64];
    size_t nx = 0, nw = 0, np = 0, ny = 0, nptr = 0, kc = 0;
    if (strcmp(op, "igemm") == 0) { /* one MR x NR tile of a 3x3 conv with 64 input channels */
        m.a = (size_t)tile.m, m.b = (size_t)tile.n, m.c = kc = 64, m.d = 9;
        nptr = m.d * m.a, nx = nptr * kc, nw = m.d * kc * m.b, ny = m.a * m.b;
        work = 2.0 * m.a * m.b * kc * m.d;
        snprintf(problem, sizeof problem, "%zux%zu kc=64 ks=9", m.a, m.b);
    } else if (strcmp(op, "dwconv") == 0) { /* one pixel of a 3x3 depthwise conv, 512 channels */
        m.a = 512, m.b = 9;
        nptr = m.b, nx = m.a * m.b, nw = m.a * m.b, ny = m.a;
        work = 2.0 * m.a * m.b;
        snprintf(problem, sizeof problem, "C=512 ks=9");
    } else if (strcmp(op, "affine") == 0 || strcmp(op, "prelu") == 0) { /* 64 pixels x 512 ch */
        m.a = 64, m.b = 512, nx = ny = m.a * m.b, np = m.b;
        work = strcmp(op, "affine") == 0 ? 2.0 * nx : 8.0 * nx;
        flops = strcmp(op, "affine") == 0;
        snprintf(problem, sizeof problem, "64x512");
    } else if (strcmp(op, "clip") == 0 || strcmp(op, "add") == 0) {
        m.a = nx = ny = 32768;
        flops = 0;
        work = (strcmp(op, "add") == 0 ? 12.0 : 8.0) * nx;
        snprintf(problem, sizeof problem, "n=32768");
    } else if (strcmp(op, "chmax") == 0) { /* layer4 of IResNet: 512 x 7x7 */
        m.a = 512, m.b = 49, nx = m.a * m.b, ny = m.a;
        flops = 0;
        work = 4.0 * (double)(nx + ny);
        snprintf(problem, sizeof problem, "512 x 7x7");
    } else {
        printf("  %s: no micro-benchmark for op %s\n", name, op);
        return 1;
    }
    m.x = micro_buf(nx, 11);
    m.x2 = micro_buf(nx, 12);
    m.w = micro_buf(nw, 13);
    m.p1 = micro_buf(np, 14);
    m.p2 = micro_buf(np, 15);
    m.y = micro_buf(ny, 16);
    m.ptrs = malloc((nptr ? nptr : 1) * sizeof *m.ptrs);
    int bad = !m.x || !m.x2 || !m.w || !m.p1 || !m.p2 || !m.y || !m.ptrs;
    if (!bad) {
        for (size_t i = 0; i < nptr; i++)
            m.ptrs[i] = m.x + (strcmp(op, "igemm") == 0 ? i * kc : i * m.a);
        m.ep = (kern_epilogue){ NULL, m.p1, 0.0f, 0.0f, KERN_ACT_NONE };
        double s[3];
        micro_time(run, &m, min_time, s);
        printf("%-24s %-18s %9.3f %9.3f %9.3f %8.2f %8.2f %s\n", name, problem, s[0] * 1e6,
               s[1] * 1e6, s[2] * 1e6, work / s[1] * 1e-9, work / s[0] * 1e-9,
               flops ? "GFLOP/s" : "GB/s");
    } else {
        fprintf(stderr, "out of memory\n");
    }
    free(m.x); free(m.x2); free(m.w); free(m.p1); free(m.p2); free(m.y); free(m.ptrs);
    return bad;
}

/* Every line of the list this machine runs (and `only`, if given); an op
 * without its run_<op> does not compile. */
static int micro_all(const char *only, double min_time)
{
    int bad = 0;
    const int nthr = max_threads();
    set_threads(1);
    printf("\nMicrokernels, 1 thread (one benchmark per kernels.inc line; per call):\n");
    printf("%-24s %-18s %9s %9s %9s %8s %8s\n", "kernel", "problem", "min us", "med us", "max us",
           "median", "best");
#define KERN_ISA(isa)
#define KERN_ISA_END(isa)
#define KERN(isa, op, tile, tm, tn)                                                        \
    if (!only || strcmp(only, #isa) == 0) {                                                \
        const kern_isa *t = kern_isa_find(#isa);                                           \
        if (t)                                                                             \
            bad |= micro_bench(t, #op, run_##op, t->op##_name, t->op##_tile, min_time);    \
        else                                                                               \
            printf("%-24s SKIPPED (this CPU/OS cannot run " #isa ")\n",                    \
                   "f32_" #op "_" #tile "__" #isa);                                        \
    }
#include "kernels.inc"
#undef KERN
#undef KERN_ISA
#undef KERN_ISA_END
    set_threads(nthr);
    return bad;
}

/* ---- training conv vs inference conv ----
 * net/train_ops.c keeps its own 3x3 conv (NCHW, im2col + the igemm
 * microkernel, weights packed at every call because training changes them)
 * beside kern_conv (NHWC, weights packed once at load). This times the
 * forward of the CNN MINT layer both ways, the inference one as the
 * trainer would have to use it: pack the weights (kern_conv_create),
 * NCHW -> NHWC input, run, NHWC -> NCHW output. The numbers back the
 * choice stated in train_ops.c. */
static void nchw_to_nhwc(float *d, const float *s, int B, int C, int HW)
{
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++)
            for (int p = 0; p < HW; p++)
                d[((size_t)b * HW + p) * C + c] = s[((size_t)b * C + c) * HW + p];
}

static void nhwc_to_nchw(float *d, const float *s, int B, int C, int HW)
{
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++)
            for (int p = 0; p < HW; p++)
                d[((size_t)b * C + c) * HW + p] = s[((size_t)b * HW + p) * C + c];
}

static int train_conv_compare(double min_time)
{
    const int B = 8, C = 64, H = 56, W = 56, F = 64, HW = H * W;
    const net_conv3x3_shape s = { B, C, H, W, F };
    const size_t nin = (size_t)B * C * HW, nout = (size_t)B * F * HW, nw = (size_t)F * C * 9;
    float *in = micro_buf(nin, 21), *w = micro_buf(nw, 22), *b = micro_buf((size_t)F, 23);
    float *o1 = malloc(nout * sizeof(float)), *o2 = malloc(nout * sizeof(float));
    float *tin = malloc(nin * sizeof(float)), *tout = malloc(nout * sizeof(float));
    float *scratch = malloc(net_conv3x3_scratch(&s) * sizeof(float));
    int bad = !in || !w || !b || !o1 || !o2 || !tin || !tout || !scratch;
    const double flop = 2.0 * B * F * C * 9.0 * HW;
    const int nthr_all = max_threads(), thr[2] = { 1, nthr_all };
    const kern_conv_geom g = { 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
    printf("\nCNN MINT conv forward %d->%d 3x3 @%dx%d, batch %d (ISA %s), ms per sample:\n", C, F,
           H, W, B, mint_isa());
    printf("%-44s %3s %8s %8s %8s\n", "path", "thr", "min", "median", "GFLOP/s");
    for (int ti = 0; ti < (nthr_all > 1 ? 2 : 1) && !bad; ti++) {
        set_threads(thr[ti]);
        kern_conv *pre = NULL; /* path 2: weights packed once, NHWC throughout */
        if (kern_conv_create(&pre, kern_active(), F, C, &g, w, b) != MINT_OK) {
            bad = 1;
            break;
        }
        nchw_to_nhwc(tin, in, B, C, HW);
        for (int path = 0; path < 3 && !bad; path++) {
            double times[16];
            int reps = 0;
            const double start = now();
            for (int it = -1; it < 16 && (it < 3 || now() - start < min_time); it++) {
                const double t0 = now();
                if (path == 0) {
                    net_conv3x3_forward(o1, in, w, b, &s, scratch);
                } else if (path == 2) {
                    kern_conv_run(pre, tin, B, H, W, tout, NULL, KERN_ACT_NONE, NULL, 0, 0);
                } else {
                    kern_conv *cv = NULL;
                    if (kern_conv_create(&cv, kern_active(), F, C, &g, w, b) != MINT_OK) {
                        bad = 1;
                        break;
                    }
                    nchw_to_nhwc(tin, in, B, C, HW);
                    kern_conv_run(cv, tin, B, H, W, tout, NULL, KERN_ACT_NONE, NULL, 0, 0);
                    nhwc_to_nchw(o2, tout, B, F, HW);
                    kern_conv_destroy(cv);
                }
                if (it >= 0) /* it == -1: warm-up */
                    times[reps++] = now() - t0;
            }
            if (bad || reps == 0)
                break;
            qsort(times, (size_t)reps, sizeof(double), cmp_double);
            printf("%-44s %3d %8.3f %8.3f %8.1f\n",
                   path == 0 ? "net_conv3x3_forward (train: NCHW, im2col)"
                   : path == 1 ? "kern_conv: pack w, NCHW<->NHWC, run"
                               : "kern_conv_run alone (packed, NHWC)",
                   thr[ti], times[0] * 1e3 / B, times[reps / 2] * 1e3 / B, flop / times[reps / 2] * 1e-9);
        }
        kern_conv_destroy(pre);
    }
    if (!bad) { /* both paths compute the same convolution */
        double maxerr = 0;
        for (size_t i = 0; i < nout; i++) {
            const double e = fabs((double)o1[i] - o2[i]) / (1.0 + fabs(o1[i]));
            maxerr = e > maxerr ? e : maxerr;
        }
        if (!(maxerr < 1e-4)) {
            printf("  MISMATCH between the two paths (max rel err %g)\n", maxerr);
            bad = 1;
        }
    }
    set_threads(nthr_all);
    free(in); free(w); free(b); free(o1); free(o2); free(tin); free(tout); free(scratch);
    return bad;
}

/* ---- convolution backward (kern_conv_bwd) ----
 * IResNet-18 training shapes (112x112 input, batch 64, all threads): the
 * forward conv, the input gradient (din) and the weight gradient (dw, with
 * db) each in GFLOP/s (2*N*OH*OW*cout*cin*kh*kw each) next to the FMA peak.
 * Checked first at batch 1 against the scalar table. */
typedef struct {
    const char *name;
    int cin, cout, k, stride, h; /* h = input height = width */
    int count;                   /* times the shape occurs in IResNet-18 */
} bwd_layer;

/* Every conv of IResNet-18 at 112x112 but the stem (3 -> 64, 1% of the
 * FLOPs, and no input gradient): the whole-network line weights them by
 * count. */
static const bwd_layer bwd_layers[] = {
    { "l1.0 conv1",      64,  64, 3, 1, 112, 1 },
    { "l1.0 conv2 s2",   64,  64, 3, 2, 112, 1 },
    { "l1.0 short s2",   64,  64, 1, 2, 112, 1 },
    { "l1.1 body",       64,  64, 3, 1,  56, 2 },
    { "l2.0 conv1",      64, 128, 3, 1,  56, 1 },
    { "l2.0 conv2 s2",  128, 128, 3, 2,  56, 1 },
    { "l2.0 short s2",   64, 128, 1, 2,  56, 1 },
    { "l2.1 body",      128, 128, 3, 1,  28, 2 },
    { "l3.0 conv1",     128, 256, 3, 1,  28, 1 },
    { "l3.0 conv2 s2",  256, 256, 3, 2,  28, 1 },
    { "l3.0 short s2",  128, 256, 1, 2,  28, 1 },
    { "l3.1 body",      256, 256, 3, 1,  14, 2 },
    { "l4.0 conv1",     256, 512, 3, 1,  14, 1 },
    { "l4.0 conv2 s2",  512, 512, 3, 2,  14, 1 },
    { "l4.0 short s2",  256, 512, 1, 2,  14, 1 },
    { "l4.1 body",      512, 512, 3, 1,   7, 2 },
};
#define NBWD (sizeof bwd_layers / sizeof bwd_layers[0])

typedef struct {
    kern_conv *fwd;
    kern_conv_bwd *bwd;
    const float *in, *w, *dout;
    float *out, *din, *dw, *db;
    int n, h;
} bwd_bufs;

/* what: 0 forward, 1 din, 2 dw + db */
static void bwd_call(const bwd_bufs *b, int what)
{
    if (what == 0)
        kern_conv_run(b->fwd, b->in, b->n, b->h, b->h, b->out, NULL, KERN_ACT_NONE, NULL, 0, 0);
    else if (what == 1)
        kern_conv_bwd_run(b->bwd, b->w, b->in, b->n, b->dout, b->din, NULL, NULL);
    else
        kern_conv_bwd_run(b->bwd, NULL, b->in, b->n, b->dout, NULL, b->dw, b->db);
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* min and median wall seconds of `what`, and the least CPU seconds (all
 * threads) of a run: on a shared machine, where the wall clock also counts
 * the time other jobs held the cores, CPU time still says how fast the code
 * runs while it runs (OMP_WAIT_POLICY=passive: waiting threads sleep). */
static void bwd_time(const bwd_bufs *b, int what, double min_time, double *mn, double *med,
                     double *cpu)
{
    double times[16];
    int reps = 0;
    bwd_call(b, what); /* warm-up */
    *cpu = INFINITY;
    const double start = now();
    while (reps < 16 && (reps < 3 || now() - start < min_time)) {
        const double t0 = now(), c0 = cpu_now();
        bwd_call(b, what);
        times[reps++] = now() - t0;
        *cpu = fmin(*cpu, cpu_now() - c0);
    }
    qsort(times, (size_t)reps, sizeof(double), cmp_double);
    *mn = times[0];
    *med = times[reps / 2];
}

/* Batch-1 din and dw of `isa` against the scalar table; max relative error. */
static double bwd_check(const kern_isa *isa, const bwd_layer *L, const kern_conv_geom *g,
                        const bwd_bufs *b, size_t nin1, size_t nw)
{
    float *din = malloc(nin1 * sizeof(float)), *dw = calloc(nw, sizeof(float));
    float *din_r = malloc(nin1 * sizeof(float)), *dw_r = calloc(nw, sizeof(float));
    kern_conv_bwd *p = NULL, *r = NULL;
    double err = INFINITY;
    if (din && dw && din_r && dw_r &&
        kern_conv_bwd_create(&p, isa, L->cout, L->cin, g, 1, L->h, L->h) == MINT_OK &&
        kern_conv_bwd_create(&r, kern_scalar(), L->cout, L->cin, g, 1, L->h, L->h) == MINT_OK &&
        kern_conv_bwd_run(p, b->w, b->in, 1, b->dout, din, dw, NULL) == MINT_OK &&
        kern_conv_bwd_run(r, b->w, b->in, 1, b->dout, din_r, dw_r, NULL) == MINT_OK) {
        err = 0;
        for (size_t i = 0; i < nin1; i++)
            err = fmax(err, fabs((double)din[i] - din_r[i]) / (1.0 + fabs(din_r[i])));
        for (size_t i = 0; i < nw; i++)
            err = fmax(err, fabs((double)dw[i] - dw_r[i]) / (1.0 + fabs(dw_r[i])));
    }
    kern_conv_bwd_destroy(p);
    kern_conv_bwd_destroy(r);
    free(din); free(dw); free(din_r); free(dw_r);
    return err;
}

/* tot[0..2]: FLOP x count of din + dw, best seconds x count, CPU seconds x count (added). */
static int bwd_layer_bench(const kern_isa *isa, const bwd_layer *L, int n, double peak,
                           double peak1, double min_time, double tot[3])
{
    const int pad = L->k / 2, oh = kern_conv_out_dim(L->h, L->k, L->stride, pad, pad, 1);
    const kern_conv_geom g = { L->k, L->k, L->stride, L->stride, pad, pad, pad, pad, 1, 1, 1 };
    const size_t nin = (size_t)n * L->h * L->h * L->cin, nout = (size_t)n * oh * oh * L->cout;
    const size_t nw = (size_t)L->cout * L->cin * L->k * L->k;
    float *in = malloc(nin * sizeof(float)), *dout = malloc(nout * sizeof(float));
    float *out = malloc(nout * sizeof(float)), *din = malloc(nin * sizeof(float));
    float *w = malloc(nw * sizeof(float)), *dw = calloc(nw, sizeof(float));
    float *db = calloc((size_t)L->cout, sizeof(float));
    bwd_bufs b = { NULL, NULL, in, w, dout, out, din, dw, db, n, L->h };
    int bad = 0;
    if (!in || !dout || !out || !din || !w || !dw || !db) {
        fprintf(stderr, "conv backward %s: out of memory\n", L->name);
        bad = 1;
        goto out;
    }
    fill(in, nin, 11);
    fill(dout, nout, 12);
    fill(w, nw, 13); /* before packing: recycled heap may hold denormals */
    if (kern_conv_create(&b.fwd, isa, L->cout, L->cin, &g, w, NULL) != MINT_OK ||
        kern_conv_bwd_create(&b.bwd, isa, L->cout, L->cin, &g, n, L->h, L->h) != MINT_OK) {
        fprintf(stderr, "conv backward %s: setup failed (%s)\n", L->name, mint_last_error());
        bad = 1;
        goto out;
    }
    const double err = bwd_check(isa, L, &g, &b, nin / (size_t)n, nw);
    if (!(err < 1e-3)) {
        printf("  %s %s: MISMATCH vs scalar (max rel err %g)\n", L->name, isa->name, err);
        bad = 1;
    }
    const double flop = 2.0 * n * oh * oh * (double)L->cout * L->cin * L->k * L->k;
    double mn[3], med[3], cpu[3];
    for (int what = 0; what < 3; what++)
        bwd_time(&b, what, min_time, &mn[what], &med[what], &cpu[what]);
    char shape[48];
    snprintf(shape, sizeof shape, "%d->%d %dx%d s%d @%d", L->cin, L->cout, L->k, L->k, L->stride,
             L->h);
    printf("%-15s %-20s %-6s", L->name, shape, isa->name);
    for (int what = 0; what < 3; what++)
        printf(" %7.1f %6.1f %4.0f%% %4.0f%%", med[what] * 1e3, flop / mn[what] * 1e-9,
               100.0 * flop / mn[what] * 1e-9 / peak, 100.0 * flop / cpu[what] * 1e-9 / peak1);
    printf("\n");
    tot[0] += 2.0 * flop * L->count;
    tot[1] += (mn[1] + mn[2]) * L->count;
    tot[2] += (cpu[1] + cpu[2]) * L->count;
    fflush(stdout);
out:
    kern_conv_destroy(b.fwd);
    kern_conv_bwd_destroy(b.bwd);
    free(in); free(dout); free(out); free(din); free(w); free(dw); free(db);
    return bad;
}

/* The table for the best ISA (or `only`) at batch n with all threads;
 * peak: FMA peak with all threads, peak1: with one. */
static int bwd_bench(const kern_isa *isa, int n, double peak, double peak1, const char *layer_only,
                     double min_time)
{
    printf("\nConv backward, IResNet-18 shapes, batch %d, %d thread(s), %s (FMA peak %.1f GFLOP/s, "
           "%.1f on one thread):\n"
           "  ms: median; GF/s and %%pk: best run vs the peak; cpu%%: FLOP per CPU-second of the\n"
           "  best run vs the one-thread peak (the code's speed while it holds a core)\n", n,
           max_threads(), isa->name, peak, peak1);
    printf("%-15s %-20s %-6s %27s %27s %27s\n", "layer", "shape", "isa",
           "forward: ms GF/s %pk cpu%", "din: ms GF/s %pk cpu%", "dw+db: ms GF/s %pk cpu%");
    int bad = 0;
    double tot[3] = { 0, 0, 0 };
    for (size_t l = 0; l < NBWD; l++)
        if (!layer_only || strstr(bwd_layers[l].name, layer_only))
            bad |= bwd_layer_bench(isa, &bwd_layers[l], n, peak, peak1, min_time, tot);
    if (tot[1] > 0)
        printf("conv backward (din + dw) of %s, layers weighted by count: %.1f GFLOP/s = %.0f%% of "
               "the FMA peak (best runs); %.0f%% of the one-thread peak per CPU-second\n",
               layer_only ? "the layers above" : "IResNet-18 (all convs but the stem)",
               tot[0] / tot[1] * 1e-9, 100.0 * tot[0] / tot[1] * 1e-9 / peak,
               100.0 * tot[0] / tot[2] * 1e-9 / peak1);
    return bad;
}

/* Per-layer medians (ms) for the IResNet-100 estimate: [isa][batch][thr]. */
static double med_ms[8][2][2][NLAYERS];

int main(int argc, char **argv)
{
    int quick = 0, micro = 0, bwd_only = 0;
    const char *only = NULL, *layer_only = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--isa") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--layer") == 0 && i + 1 < argc)
            layer_only = argv[++i];
        else if (strcmp(argv[i], "--micro") == 0)
            micro = 1;
        else if (strcmp(argv[i], "--bwd") == 0)
            bwd_only = 1;
        else {
            fprintf(stderr, "usage: %s [--quick] [--isa scalar|avx2|avx512|neon] [--layer SUBSTRING] "
                    "[--micro] [--bwd]\n", argv[0]);
            return 2;
        }
    }
    const double min_time = quick ? 0.04 : 0.25; /* per measurement */
    const int max_reps = quick ? 10 : 40;
    const int nthr_all = max_threads();
    const int thr_list[2] = { 1, nthr_all };
    const int nthr_cfg = nthr_all > 1 ? 2 : 1;
    const int batches[2] = { 1, 8 };

    const kern_isa *isas[8];
    int nisa = kern_isa_available(isas, 8);
    printf("mint bench_kernels: %d thread(s), ISAs:", nthr_all);
    for (int i = 0; i < nisa; i++)
        printf(" %s(%dx%d)", isas[i]->name, isas[i]->igemm_tile.m, isas[i]->igemm_tile.n);
    printf("%s\n", quick ? " [quick]" : "");
    print_load("at start");
    if (!layer_only && !bwd_only) {
        int bad = micro_all(only, quick ? 0.02 : 0.1);
        if (!only || kern_isa_find(only) == kern_active())
            bad |= train_conv_compare(quick ? 0.1 : 0.5);
        if (bad || micro) {
            print_load("at end");
            return bad;
        }
    }

    double peak[8][2];
    printf("\nFMA peak (register-only loop):\n");
    for (int i = 0; i < nisa; i++) {
        for (int t = 0; t < nthr_cfg; t++)
            peak[i][t] = measure_peak(isas[i]->name, thr_list[t], min_time);
        printf("  %-7s %8.1f GFLOP/s 1 thread", isas[i]->name, peak[i][0]);
        if (nthr_cfg > 1)
            printf(", %8.1f GFLOP/s %d threads", peak[i][1], nthr_all);
        printf("\n");
    }

    const kern_isa *bwd_isa = only && kern_isa_find(only) ? kern_isa_find(only) : isas[nisa - 1];
    int bwd_i = 0;
    for (int i = 0; i < nisa; i++)
        bwd_i = isas[i] == bwd_isa ? i : bwd_i;
    if (bwd_only) {
        const int bad = bwd_bench(bwd_isa, quick ? 8 : 64, peak[bwd_i][nthr_cfg - 1],
                                  peak[bwd_i][0], layer_only, min_time);
        print_load("at end");
        return bad;
    }

    /* buffers for the biggest layer at batch 8 */
    size_t max_in = 0, max_out = 0, max_w = 0;
    for (size_t l = 0; l < NLAYERS; l++) {
        const layer *L = &layers[l];
        const int oh = kern_conv_out_dim(L->h, L->k, L->stride, L->k / 2, L->k / 2, 1);
        const size_t in = (size_t)8 * L->h * L->h * L->cin, out = (size_t)8 * oh * oh * L->cout;
        const size_t w = (size_t)L->cout * L->cin * L->k * L->k;
        max_in = in > max_in ? in : max_in;
        max_out = out > max_out ? out : max_out;
        max_w = w > max_w ? w : max_w;
    }
    float *in = malloc(max_in * sizeof(float)), *out = malloc(max_out * sizeof(float));
    float *ref = malloc(max_out * sizeof(float)), *wt = malloc(max_w * sizeof(float));
    float *slope = malloc(512 * sizeof(float)), *bias = malloc(512 * sizeof(float));
    double *times = malloc((size_t)max_reps * sizeof(double));
    if (!in || !out || !ref || !wt || !slope || !bias || !times) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    fill(in, max_in, 1);
    fill(wt, max_w, 2);
    fill(slope, 512, 3);
    fill(bias, 512, 4);
    for (size_t i = 0; i < max_w; i++)
        wt[i] *= 0.05f;

    int failures = 0;
    printf("\n%-17s %-21s %-7s %5s %3s %8s %8s %8s %8s %6s %8s %6s\n", "layer", "shape", "isa",
           "batch", "thr", "min ms", "med ms", "max ms", "GFLOP/s", "%peak", "best", "%peak");
    for (size_t l = 0; l < NLAYERS; l++) {
        const layer *L = &layers[l];
        if (layer_only && !strstr(L->name, layer_only))
            continue;
        const int pad = L->k / 2;
        const int oh = kern_conv_out_dim(L->h, L->k, L->stride, pad, pad, 1);
        const kern_conv_geom g = { L->k, L->k, L->stride, L->stride, pad, pad, pad, pad, 1, 1, 1 };
        char shape[64];
        snprintf(shape, sizeof shape, "%d->%d %dx%d s%d @%d", L->cin, L->cout, L->k, L->k,
                 L->stride, L->h);
        const int act = L->k == 3 ? KERN_ACT_PRELU : KERN_ACT_NONE;

        /* reference output (batch 1) with the scalar path, all threads */
        set_threads(nthr_all);
        kern_conv *rc = NULL;
        if (kern_conv_create(&rc, kern_scalar(), L->cout, L->cin, &g, wt, bias) != MINT_OK) {
            fprintf(stderr, "conv create failed: %s\n", mint_last_error());
            return 1;
        }
        kern_conv_run(rc, in, 1, L->h, L->h, ref, NULL, act, slope, 0, 0);
        kern_conv_destroy(rc);
        const size_t nout1 = (size_t)oh * oh * L->cout;

        for (int ii = nisa - 1; ii >= 0; ii--) {
            const kern_isa *isa = isas[ii];
            if (only && strcmp(only, isa->name) != 0)
                continue;
            const int is_scalar = isa == kern_scalar();
            if (is_scalar && !L->scalar)
                continue;
            kern_conv *cv = NULL;
            if (kern_conv_create(&cv, isa, L->cout, L->cin, &g, wt, bias) != MINT_OK) {
                fprintf(stderr, "conv create failed: %s\n", mint_last_error());
                return 1;
            }
            /* check once against the scalar path */
            set_threads(nthr_all);
            kern_conv_run(cv, in, 1, L->h, L->h, out, NULL, act, slope, 0, 0);
            double maxerr = 0;
            for (size_t i = 0; i < nout1; i++) {
                const double e = fabs((double)out[i] - ref[i]) / (1.0 + fabs(ref[i]));
                maxerr = e > maxerr ? e : maxerr;
            }
            if (!(maxerr < 1e-3)) {
                printf("  %s %s: MISMATCH vs scalar (max rel err %g)\n", L->name, isa->name, maxerr);
                failures++;
            }
            for (int bi = 0; bi < 2; bi++) {
                const int n = batches[bi];
                if (is_scalar && n > 1)
                    continue;
                const double flop = 2.0 * n * oh * oh * (double)L->cout * L->cin * L->k * L->k;
                for (int ti = 0; ti < nthr_cfg; ti++) {
                    if (is_scalar && ti == 0 && nthr_cfg > 1)
                        continue;
                    set_threads(thr_list[ti]);
                    kern_conv_run(cv, in, n, L->h, L->h, out, NULL, act, slope, 0, 0); /* warm-up */
                    int reps = 0;
                    const double start = now();
                    while (reps < max_reps && (reps < 3 || now() - start < min_time)) {
                        const double t0 = now();
                        kern_conv_run(cv, in, n, L->h, L->h, out, NULL, act, slope, 0, 0);
                        times[reps++] = now() - t0;
                        if (is_scalar && reps >= 3)
                            break;
                    }
                    qsort(times, (size_t)reps, sizeof(double), cmp_double);
                    const double med = times[reps / 2];
                    const double gf = flop / med * 1e-9, best = flop / times[0] * 1e-9;
                    printf("%-17s %-21s %-7s %5d %3d %8.3f %8.3f %8.3f %8.1f %5.0f%% %8.1f %5.0f%%\n",
                           L->name, shape, isa->name, n, thr_list[ti], times[0] * 1e3, med * 1e3,
                           times[reps - 1] * 1e3, gf, 100.0 * gf / peak[ii][ti], best,
                           100.0 * best / peak[ii][ti]);
                    med_ms[ii][bi][ti][l] = med * 1e3;
                }
            }
            kern_conv_destroy(cv);
        }
        fflush(stdout);
    }

    /* whole-network estimate from per-layer medians (all layers only) */
    if (layer_only)
        goto done;
    printf("\nIResNet-100 convolutions (112x112), estimated from the layer medians:\n");
    double net_gflop = 0;
    for (size_t l = 0; l < NLAYERS; l++) {
        const layer *L = &layers[l];
        const int oh = kern_conv_out_dim(L->h, L->k, L->stride, L->k / 2, L->k / 2, 1);
        net_gflop += L->count * 2.0 * oh * oh * (double)L->cout * L->cin * L->k * L->k * 1e-9;
    }
    for (int ii = nisa - 1; ii >= 0; ii--) {
        if (isas[ii] == kern_scalar() || (only && strcmp(only, isas[ii]->name) != 0))
            continue;
        for (int bi = 0; bi < 2; bi++)
            for (int ti = 0; ti < nthr_cfg; ti++) {
                double ms = 0;
                for (size_t l = 0; l < NLAYERS; l++)
                    ms += layers[l].count * med_ms[ii][bi][ti][l];
                const double per_img = ms / batches[bi];
                printf("  %-7s batch %d, %d thread(s): %8.1f ms/image, %6.1f GFLOP/s (%.0f%% of peak)\n",
                       isas[ii]->name, batches[bi], thr_list[ti], per_img,
                       net_gflop / (per_img * 1e-3), 100.0 * net_gflop / (per_img * 1e-3) / peak[ii][ti]);
            }
    }
    printf("  (%.2f GFLOP per image in these convolutions)\n", net_gflop);
done:
    failures += bwd_bench(bwd_isa, quick ? 8 : 64, peak[bwd_i][nthr_cfg - 1], peak[bwd_i][0],
                          layer_only, min_time);
    print_load("at end");
    free(in); free(out); free(ref); free(wt); free(slope); free(bias); free(times);
    if (failures)
        printf("\n%d result check(s) FAILED\n", failures);
    return failures ? 1 : 0;
}
