/* bench_kernels.c - convolution kernels on the IResNet-100 layer shapes
 * (112x112 input) against the machine's measured FMA peak.
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
 * usage: bench_kernels [--quick] [--isa NAME] [--layer SUBSTRING] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "kernels.h"
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

/* Per-layer medians (ms) for the IResNet-100 estimate: [isa][batch][thr]. */
static double med_ms[8][2][2][NLAYERS];

int main(int argc, char **argv)
{
    int quick = 0;
    const char *only = NULL, *layer_only = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--isa") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--layer") == 0 && i + 1 < argc)
            layer_only = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--quick] [--isa scalar|avx2|avx512|neon] [--layer SUBSTRING]\n", argv[0]);
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
    print_load("at end");
    free(in); free(out); free(ref); free(wt); free(slope); free(bias); free(times);
    if (failures)
        printf("\n%d result check(s) FAILED\n", failures);
    return failures ? 1 : 0;
}
