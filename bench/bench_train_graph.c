/* bench_train_graph.c - images/s of the training step of `mint train-model`
 * (mint/tm_core.c: tm_core_step) on an IResNet: forward in training mode on
 * the trainable graph view (net/train_graph.c), CosFace head (s=64 m3=0.4;
 * --head softmax: plain linear softmax) + cross-entropy, backward, SGD
 * (momentum 0.9, weight decay 5e-4) over the network's parameters and the
 * class weights. PyTorch's peer is tools/bench_train_iresnet_torch.py (same
 * step); bench/run.sh runs the two alternately in one `make bench`.
 *   bench_train_graph [--depth 18] [--widths 64,128,256,512] [--size 112]
 *                     [--in-c 3] [--emb 512] [--batch 64] [--steps 3]
 *                     [--runs 1] [--classes 1000] [--head cosface|softmax] [--phases 0]
 * After a warm-up step, one line per run of --steps steps
 *   mint_train_iresnet depth=18 size=112 batch=64 threads=2 images_per_s=X
 * then the median and the peak resident memory; --phases N adds N more
 * steps made of the same calls one by one and their min/median/max ms per
 * phase (forward, head, backward, optimiser). Run with OMP_NUM_THREADS and,
 * on a shared machine, OMP_WAIT_POLICY=passive. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "base/rng.h"
#include "mint/tm_core.h"
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

typedef struct {
    int depth, size, in_c, emb, batch, steps, runs, classes, head, phases;
    int widths[4];
} opts;

enum { HEAD_COSFACE, HEAD_SOFTMAX };

static int parse(opts *o, int argc, char **argv)
{
    *o = (opts){ 18, 112, 3, 512, 64, 3, 1, 1000, HEAD_COSFACE, 0, { 64, 128, 256, 512 } };
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--depth")) o->depth = atoi(v);
        else if (!strcmp(k, "--size")) o->size = atoi(v);
        else if (!strcmp(k, "--in-c")) o->in_c = atoi(v);
        else if (!strcmp(k, "--emb")) o->emb = atoi(v);
        else if (!strcmp(k, "--batch")) o->batch = atoi(v);
        else if (!strcmp(k, "--steps")) o->steps = atoi(v);
        else if (!strcmp(k, "--runs")) o->runs = atoi(v);
        else if (!strcmp(k, "--classes")) o->classes = atoi(v);
        else if (!strcmp(k, "--phases")) o->phases = atoi(v);
        else if (!strcmp(k, "--head") && !strcmp(v, "cosface")) o->head = HEAD_COSFACE;
        else if (!strcmp(k, "--head") && !strcmp(v, "softmax")) o->head = HEAD_SOFTMAX;
        else if (!strcmp(k, "--widths") && sscanf(v, "%d,%d,%d,%d", &o->widths[0], &o->widths[1],
                                                  &o->widths[2], &o->widths[3]) == 4);
        else {
            fprintf(stderr, "bench_train_graph: unknown option or value %s %s\n", k, v);
            return 2;
        }
    }
    if (o->steps < 1 || o->steps > 1000 || o->runs < 1 || o->runs > 100 || o->batch < 2 ||
        o->classes < 2 || o->emb < 1 || o->phases < 0 || o->phases > 1000) {
        fprintf(stderr, "bench_train_graph: --steps 1..1000, --runs 1..100, --batch >= 2, "
                        "--classes >= 2\n");
        return 2;
    }
    return 0;
}

/* One step of the same calls as tm_core_step, timed per phase t[4]:
 * forward, head, backward, optimiser. */
static mint_status step_phases(tm_core *c, double t[4])
{
    const tm_core_cfg *k = &c->cfg;
    const size_t nw = (size_t)k->classes * (size_t)k->emb;
    double t0 = now(), loss;
    mint_status st = net_tgraph_forward(c->t, c->in, k->B, 1);
    double t1 = now();
    memset(c->dWh, 0, sizeof(float) * nw);
    if (!st)
        st = net_margin_head(&k->mg, net_tgraph_output(c->t), c->Wh, c->labels, k->B, k->emb,
                             k->classes, c->dout, c->dWh, 1.0f, &loss, NULL, c->scratch);
    double t2 = now();
    net_tgraph_zero_grad(c->t);
    if (!st)
        st = net_tgraph_backward(c->t, c->dout);
    double t3 = now();
    net_optim_begin_step(c->opt);
    for (int i = 0; !st && i < c->np; i++) {
        net_tparam *p = net_tgraph_param(c->t, i);
        if (!p->frozen)
            net_optim_update(c->opt, i, p->w, p->g, 0.01, p->decay);
    }
    net_optim_update(c->opt, c->np, c->Wh, c->dWh, 0.01, 1);
    double t4 = now();
    t[0] = t1 - t0, t[1] = t2 - t1, t[2] = t3 - t2, t[3] = t4 - t3;
    return st;
}

static mint_status setup(tm_core *c, const opts *o, net_graph **g)
{
    net_iresnet_cfg cfg;
    mint_status st = net_iresnet_cfg_depth(&cfg, o->depth);
    if (st)
        return st;
    memcpy(cfg.widths, o->widths, sizeof o->widths);
    cfg.emb = o->emb;
    cfg.in_h = cfg.in_w = o->size;
    cfg.in_c = o->in_c;
    if ((st = net_iresnet_build(g, &cfg, 1)))
        return st;
    const net_margin cos = NET_MARGIN_COSFACE, lin = { 0.0f, 1.0f, 0.0f, 0.0f };
    tm_core_cfg k = { 0 };
    k.B = o->batch;
    k.classes = o->classes;
    k.emb = o->emb;
    k.mg = o->head == HEAD_COSFACE ? cos : lin;
    k.oc = (net_optim_cfg){ NET_OPT_SGD, 0.9, 0, 0.9, 0.999, 1e-8, 5e-4 };
    k.lr = (net_lr_sched){ .kind = NET_LR_CONST, .base = 0.01 };
    k.total = 1000000;
    k.seed = 1;
    if ((st = tm_core_create(c, *g, &k)))
        return st;
    size_t nin = (size_t)o->batch * (size_t)o->size * (size_t)o->size * (size_t)o->in_c;
    base_rng r = { 3 };
    for (size_t i = 0; i < nin; i++)
        c->in[i] = (float)(2.0 * base_rng_open01(&r) - 1.0);
    for (int i = 0; i < o->batch; i++)
        c->labels[i] = (int)(base_rng_open01(&r) * o->classes) % o->classes;
    return MINT_OK;
}

int main(int argc, char **argv)
{
    opts o;
    if (parse(&o, argc, argv))
        return 2;
    net_graph *g = NULL;
    tm_core c;
    if (setup(&c, &o, &g))
        goto fail;
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    printf("bench_train_graph: %s widths %d,%d,%d,%d, %dx%dx%d, emb %d, batch %d, %d threads, "
           "tm_core_step: head %s (%d classes) + SGD, %.0f MB held by the training view\n",
           g->meta.arch, o.widths[0], o.widths[1], o.widths[2], o.widths[3], o.in_c, o.size,
           o.size, o.emb, o.batch, threads, o.head == HEAD_COSFACE ? "cosface" : "softmax",
           o.classes, (double)net_tgraph_bytes(c.t) / (1 << 20));
    double *rate = malloc(sizeof(double) * (size_t)o.runs);
    tm_step_stats ss;
    if (!rate || tm_core_step(&c, 0, &ss)) /* warm-up */
        goto fail;
    int64_t gstep = 1;
    for (int r = 0; r < o.runs; r++) {
        double t0 = now();
        for (int s = 0; s < o.steps; s++)
            if (tm_core_step(&c, gstep++, &ss))
                goto fail;
        rate[r] = o.batch * o.steps / (now() - t0);
        printf("mint_train_iresnet depth=%d size=%d batch=%d threads=%d images_per_s=%.2f "
               "loss=%.3f\n", o.depth, o.size, o.batch, threads, rate[r], ss.task_loss);
        fflush(stdout);
    }
    qsort(rate, (size_t)o.runs, sizeof *rate, cmp);
    if (o.phases > 0) {
        double *ph[4], t[4];
        for (int k = 0; k < 4; k++)
            if (!(ph[k] = malloc(sizeof(double) * (size_t)o.phases)))
                return 1;
        for (int s = 0; s < o.phases; s++) {
            if (step_phases(&c, t))
                goto fail;
            for (int k = 0; k < 4; k++)
                ph[k][s] = t[k];
        }
        stats("forward", ph[0], o.phases);
        stats("head", ph[1], o.phases);
        stats("backward", ph[2], o.phases);
        stats("optimiser", ph[3], o.phases);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("mint_train_iresnet depth=%d size=%d batch=%d threads=%d images_per_s_median=%.2f "
           "max_rss_mb=%.0f\n", o.depth, o.size, o.batch, threads, rate[o.runs / 2],
           (double)ru.ru_maxrss / 1024.0);
    tm_core_free(&c);
    net_graph_free(g);
    return 0;
fail:
    fprintf(stderr, "bench_train_graph: %s\n", mint_last_error());
    return 1;
}
