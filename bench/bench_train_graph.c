/* bench_train_graph.c - time of a training step of an IResNet on the
 * trainable graph view (net/train_graph.c): forward in training mode,
 * backward (dL/dout random), zero_grad, per phase, after a warm-up step;
 * min/median/max over `steps` steps, images/s at the median.
 *   bench_train_graph [--depth 18] [--widths 64,128,256,512] [--size 112]
 *                     [--in-c 3] [--emb 512] [--batch 64] [--steps 5]
 * Run with OMP_NUM_THREADS and, on a shared machine, OMP_WAIT_POLICY=passive. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "base/rng.h"
#include "net/iresnet.h"
#include "net/train_graph.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void stats(const char *what, double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, cmp);
    printf("  %-9s min %8.1f  median %8.1f  max %8.1f ms\n", what, 1e3 * t[0], 1e3 * t[n / 2],
           1e3 * t[n - 1]);
}

int main(int argc, char **argv)
{
    int depth = 18, size = 112, in_c = 3, emb = 512, batch = 64, steps = 5;
    int widths[4] = { 64, 128, 256, 512 };
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--depth")) depth = atoi(v);
        else if (!strcmp(k, "--size")) size = atoi(v);
        else if (!strcmp(k, "--in-c")) in_c = atoi(v);
        else if (!strcmp(k, "--emb")) emb = atoi(v);
        else if (!strcmp(k, "--batch")) batch = atoi(v);
        else if (!strcmp(k, "--steps")) steps = atoi(v);
        else if (!strcmp(k, "--widths") &&
                 sscanf(v, "%d,%d,%d,%d", &widths[0], &widths[1], &widths[2], &widths[3]) == 4);
        else {
            fprintf(stderr, "bench_train_graph: unknown option %s\n", k);
            return 2;
        }
    }
    if (steps < 1 || steps > 1000 || batch < 2) {
        fprintf(stderr, "bench_train_graph: --steps 1..1000, --batch >= 2\n");
        return 2;
    }
    net_iresnet_cfg cfg;
    net_graph *g;
    net_tgraph *t;
    if (net_iresnet_cfg_depth(&cfg, depth))
        goto fail;
    memcpy(cfg.widths, widths, sizeof widths);
    cfg.emb = emb;
    cfg.in_h = cfg.in_w = size;
    cfg.in_c = in_c;
    if (net_iresnet_build(&g, &cfg, 1) || net_tgraph_create(&t, g, batch, NULL))
        goto fail;
    size_t nin = (size_t)batch * (size_t)size * (size_t)size * (size_t)in_c;
    float *in = malloc(sizeof(float) * nin), *dout = malloc(sizeof(float) * (size_t)batch * emb);
    base_rng r = { 3 };
    for (size_t i = 0; i < nin; i++)
        in[i] = (float)(2.0 * base_rng_open01(&r) - 1.0);
    for (int i = 0; i < batch * emb; i++)
        dout[i] = (float)(base_rng_open01(&r) - 0.5) * 1e-2f;
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    printf("bench_train_graph: %s widths %d,%d,%d,%d, %dx%dx%d, emb %d, batch %d, %d threads, "
           "%.0f MB held\n", g->meta.arch, widths[0], widths[1], widths[2], widths[3], in_c, size,
           size, emb, batch, threads, (double)net_tgraph_bytes(t) / (1 << 20));
    double *tf = malloc(sizeof(double) * (size_t)steps), *tb = malloc(sizeof(double) * (size_t)steps);
    double *ts = malloc(sizeof(double) * (size_t)steps);
    for (int s = -1; s < steps; s++) { /* s = -1: warm-up */
        double t0 = now();
        net_tgraph_zero_grad(t);
        if (net_tgraph_forward(t, in, batch, 1))
            goto fail;
        double t1 = now();
        if (net_tgraph_backward(t, dout))
            goto fail;
        double t2 = now();
        if (s >= 0) {
            tf[s] = t1 - t0;
            tb[s] = t2 - t1;
            ts[s] = t2 - t0;
        }
    }
    stats("forward", tf, steps);
    stats("backward", tb, steps);
    stats("step", ts, steps);
    printf("  %.1f images/s (median step)\n", batch / ts[steps / 2]);
    return 0;
fail:
    fprintf(stderr, "bench_train_graph: %s\n", mint_last_error());
    return 1;
}
