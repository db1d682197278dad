/* bench_train.c - MINT training throughput (samples/s) of one optimiser
 * step (forward, BCE + L1, backward, Adam) at batch 128 for
 *   Vanilla MINT on F = 960 features (all four IResNet stages), and
 *   CNN MINT on the IResNet layer1 map 64 x 56 x 56 (--cnn C,H,W to change),
 * warm-up, then `runs` timed runs of `steps` steps each: min/median/max.
 * The CNN line also gives GFLOP/s of its conv + dense work.
 * Unless --no-peer, the same sizes are then timed in PyTorch on the CPU
 * (tools/bench_train_torch.py with Debian's /usr/bin/python3, the same
 * thread count) and both are printed side by side. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "mint.h"
#include "mint/model.h"
#include "base/rng.h"
#include "mint/train.h"
#include "net/train_ops.h"

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

typedef struct {
    double med, min, max;
} result;

static int bench(const char *name, const mint_tm_config *cfg, int B, int steps, int runs,
                 double flop_per_sample, result *r)
{
    mint_tm *tm;
    mint_tm_acts *a;
    if (mint_tm_create(&tm, cfg, 1) || mint_tm_acts_new(&a, tm, B)) {
        fprintf(stderr, "bench_train %s: %s\n", name, mint_last_error());
        return -1;
    }
    base_rng rng = base_rng_stream(42, 0);
    for (size_t i = 0; i < (size_t)B * tm->in_size; i++)
        a->x[i] = 2.0f * base_rng_unit(&rng) - 1.0f + (i / (size_t)tm->in_size < (size_t)B / 2 ? 0.2f : 0.0f);
    for (int i = 0; i < B; i++)
        a->y[i] = i < B / 2;
    net_dropout_mask(a->mask, (size_t)B * tm->hidden, tm->dropout, 1, 0);
    const mint_adam_cfg adam = MINT_ADAM_DEFAULTS;
    double loss0, loss;
    mint_tm_train_step(tm, a, B, &adam, &loss0, NULL, NULL); /* warm-up */
    mint_tm_train_step(tm, a, B, &adam, &loss, NULL, NULL);
    double *t = malloc(sizeof(double) * (size_t)runs);
    for (int k = 0; k < runs; k++) {
        const double t0 = now();
        for (int s = 0; s < steps; s++)
            mint_tm_train_step(tm, a, B, &adam, &loss, NULL, NULL);
        t[k] = (double)steps * B / (now() - t0);
    }
    qsort(t, (size_t)runs, sizeof(double), cmp);
    r->min = t[0];
    r->max = t[runs - 1];
    r->med = t[runs / 2];
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    printf("mint_train model=%s batch=%d threads=%d isa=%s samples_per_s_median=%.1f min=%.1f "
           "max=%.1f", name, B, threads, mint_isa(), r->med, r->min, r->max);
    if (flop_per_sample > 0)
        printf(" gflops=%.1f", r->med * flop_per_sample / 1e9);
    printf(" loss %.4f->%.4f\n", loss0, loss);
    free(t);
    mint_tm_acts_free(a);
    mint_tm_free(tm);
    return 0;
}

/* Parse "torch_train model=X ... samples_per_s_median=Y" lines. */
static void run_peer(int threads, int steps, int runs, int c, int h, int w, double *vt,
                     double *ct)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 tools/bench_train_torch.py --threads %d --steps %d --runs %d "
             "--cnn %d,%d,%d 2>&1", threads, steps, runs, c, h, w);
    FILE *p = popen(cmd, "r");
    if (!p) {
        printf("SKIP peer: cannot run %s\n", cmd);
        return;
    }
    char line[1024];
    while (fgets(line, sizeof line, p)) {
        fputs(line, stdout);
        const char *m = strstr(line, "samples_per_s_median=");
        if (!strncmp(line, "torch_train model=", 18) && m) {
            const double v = atof(m + 21);
            if (!strncmp(line + 18, "vanilla", 7))
                *vt = v;
            else if (!strncmp(line + 18, "cnn", 3))
                *ct = v;
        }
    }
    if (pclose(p) != 0 && *vt == 0 && *ct == 0)
        printf("SKIP peer: PyTorch benchmark failed (needs Debian python3-torch at /usr/bin/python3)\n");
}

int main(int argc, char **argv)
{
    int steps = 0, runs = 5, threads = 0, peer = 1, C = 64, H = 56, W = 56, F = 960, B = 128;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--steps") && i + 1 < argc)
            steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--cnn") && i + 1 < argc) {
            if (sscanf(argv[++i], "%d,%d,%d", &C, &H, &W) != 3)
                return fprintf(stderr, "--cnn wants C,H,W\n"), 2;
        } else if (!strcmp(argv[i], "--no-peer"))
            peer = 0;
        else {
            fprintf(stderr, "usage: bench_train [--threads T] [--steps N] [--runs R] "
                            "[--cnn C,H,W] [--no-peer]\n");
            return 2;
        }
    }
    if (runs < 1)
        runs = 1;
#ifdef _OPENMP
    if (threads > 0)
        omp_set_num_threads(threads);
    threads = omp_get_max_threads();
#else
    threads = 1;
#endif
    printf("MINT training step at batch %d, %d thread(s), ISA %s\n", B, threads, mint_isa());
    printf("  vanilla: F=%d -> Dense 128 ReLU (L1) -> BN -> Dropout -> Dense 1, Adam\n", F);
    printf("  cnn: %dx%dx%d -> Conv 64 3x3 ReLU -> MaxPool 2 -> Dense %d ReLU -> Dropout -> "
           "Dense 1, Adam\n", C, H, W, C);
    const mint_tm_config vc = { .kind = MINT_TM_VANILLA, .in_dims = { F, 0, 0 }, .taps = "bench" };
    const mint_tm_config cc = { .kind = MINT_TM_CNN, .in_dims = { C, H, W }, .taps = "bench" };
    /* forward + weight-gradient conv (no input gradient: first layer), dense x3 */
    const double conv = 2.0 * 64 * C * 9.0 * H * W, dense = 2.0 * 64.0 * (H / 2) * (W / 2) * C;
    result rv, rc;
    if (bench("vanilla", &vc, B, steps > 0 ? steps : 50, runs, 0, &rv) ||
        bench("cnn", &cc, B, steps > 0 ? steps : 1, runs < 3 ? runs : 3, 2 * conv + 3 * dense,
              &rc))
        return 1;
    double vt = 0, ct = 0;
    if (peer)
        run_peer(threads, steps, runs, C, H, W, &vt, &ct);
    printf("\nsamples/s (median), batch %d, %d thread(s)\n", B, threads);
    printf("%-28s %12s %12s %10s\n", "model", "mint", "pytorch", "mint/pt");
    char nv[64], nc[64];
    snprintf(nv, sizeof nv, "vanilla F=%d", F);
    snprintf(nc, sizeof nc, "cnn %dx%dx%d", C, H, W);
    const char *names[2] = { nv, nc };
    const double m[2] = { rv.med, rc.med }, t[2] = { vt, ct };
    for (int k = 0; k < 2; k++) {
        if (t[k] > 0)
            printf("%-28s %12.1f %12.1f %10.2f\n", names[k], m[k], t[k], m[k] / t[k]);
        else
            printf("%-28s %12.1f %12s %10s\n", names[k], m[k], "-", "-");
    }
    return 0;
}
