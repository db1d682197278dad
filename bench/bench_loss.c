/* bench_loss.c - time of one margin head step (net_margin_head: normalise,
 * cos = E W^T, margin, softmax CE, dE and dW) at the face-training size
 * n = 64, d = 512, classes = 5749 (LFW identities), ArcFace and CosFace,
 * and of one SGD update of the head's weights: warm-up, then min/median/max
 * of --runs runs, with the GFLOP/s of the three GEMMs.
 *   bench_loss [--n 64] [--d 512] [--classes 5749] [--runs 10] [--threads T] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "mint.h"
#include "net/loss.h"
#include "net/optim.h"

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

int main(int argc, char **argv)
{
    int n = 64, d = 512, C = 5749, runs = 10, threads = 0;
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && !strcmp(argv[i], "--n"))
            n = atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--d"))
            d = atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--classes"))
            C = atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--runs"))
            runs = atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--threads"))
            threads = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_loss [--n N] [--d D] [--classes C] [--runs R] "
                            "[--threads T]\n");
            return 2;
        }
    }
    if (n <= 0 || d <= 0 || C <= 0 || runs <= 0 || runs > 1000) {
        fprintf(stderr, "bench_loss: bad sizes\n");
        return 2;
    }
#ifdef _OPENMP
    if (threads > 0)
        omp_set_num_threads(threads);
    threads = omp_get_max_threads();
#else
    threads = 1;
#endif
    const size_t ne = (size_t)n * d, nw = (size_t)C * d;
    float *emb = malloc(ne * sizeof *emb), *W = malloc(nw * sizeof *W);
    float *demb = malloc(ne * sizeof *demb), *dW = malloc(nw * sizeof *dW);
    float *scr = aligned_alloc(64, (net_margin_head_scratch(n, d, C) + 15) / 16 * 16 * 4);
    int *lab = malloc((size_t)n * sizeof *lab);
    if (!emb || !W || !demb || !dW || !scr || !lab) {
        fprintf(stderr, "bench_loss: out of memory\n");
        return 1;
    }
    uint64_t s = 1;
    for (size_t i = 0; i < ne + nw; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        const float v = (float)(s >> 40) / 16777216.0f - 0.5f;
        if (i < ne)
            emb[i] = v;
        else
            W[i - ne] = v;
    }
    for (int i = 0; i < n; i++)
        lab[i] = (int)(((uint64_t)i * 2654435761u) % (uint64_t)C);
    const net_margin heads[2] = { NET_MARGIN_ARCFACE, NET_MARGIN_COSFACE };
    const char *names[2] = { "arcface", "cosface" };
    double *t = malloc((size_t)runs * sizeof *t);
    printf("bench_loss: n=%d d=%d classes=%d threads=%d isa=%s\n", n, d, C, threads, mint_isa());
    for (int h = 0; h < 2; h++) {
        double loss;
        for (int r = -1; r < runs; r++) {
            memset(dW, 0, nw * sizeof *dW);
            const double t0 = now();
            mint_status st = net_margin_head(&heads[h], emb, W, lab, n, d, C, demb, dW, 1.0f,
                                             &loss, NULL, scr);
            if (st != MINT_OK) {
                fprintf(stderr, "bench_loss: %s\n", mint_last_error());
                return 1;
            }
            if (r >= 0)
                t[r] = now() - t0;
        }
        qsort(t, (size_t)runs, sizeof *t, cmp);
        const double gf = 3.0 * 2.0 * (double)n * d * C / t[runs / 2] * 1e-9;
        printf("%s head fwd+bwd: ms min %.2f median %.2f max %.2f (%.1f GFLOP/s in the GEMMs' "
               "terms), loss %.3f\n",
               names[h], 1e3 * t[0], 1e3 * t[runs / 2], 1e3 * t[runs - 1], gf, loss);
    }
    const net_optim_cfg cfg = { NET_OPT_SGD, 0.9, 0, 0, 0, 0, 5e-4 };
    net_optim *o;
    if (net_optim_create(&o, &cfg, 1, &nw) != MINT_OK) {
        fprintf(stderr, "bench_loss: %s\n", mint_last_error());
        return 1;
    }
    for (int r = -1; r < runs; r++) {
        const double t0 = now();
        net_optim_begin_step(o);
        net_optim_update(o, 0, W, dW, 0.1, 1);
        if (r >= 0)
            t[r] = now() - t0;
    }
    qsort(t, (size_t)runs, sizeof *t, cmp);
    printf("sgd momentum+wd update of W (%zu floats): ms min %.2f median %.2f max %.2f\n", nw,
           1e3 * t[0], 1e3 * t[runs / 2], 1e3 * t[runs - 1]);
    net_optim_destroy(o);
    free(emb), free(W), free(demb), free(dW), free(scr), free(lab), free(t);
    return 0;
}
