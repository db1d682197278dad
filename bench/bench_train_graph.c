/* bench_train_graph.c - images/s of a face-training step of an IResNet on
 * the trainable graph view (net/train_graph.c), the step `mint train-model`
 * runs: zero_grad, forward in training mode, CosFace head (net_margin_head,
 * s=64 m3=0.4; --head softmax: plain linear softmax; none: dL/dout random)
 * + cross-entropy, backward, SGD (momentum 0.9, weight decay 5e-4) over the
 * network's parameters and the class weights. PyTorch's peer is
 * tools/bench_train_iresnet_torch.py (same step); bench/run.sh runs the two
 * alternately in one `make bench`.
 *   bench_train_graph [--depth 18] [--widths 64,128,256,512] [--size 112]
 *                     [--in-c 3] [--emb 512] [--batch 64] [--steps 3]
 *                     [--runs 1] [--classes 1000] [--head cosface|softmax|none]
 * After a warm-up step: per phase (forward, head, backward, optimiser)
 * min/median/max ms over all steps, then one line per run of --steps steps
 *   mint_train_iresnet depth=18 size=112 batch=64 threads=2 images_per_s=X
 * and the peak resident memory. Run with OMP_NUM_THREADS and, on a shared
 * machine, OMP_WAIT_POLICY=passive. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "base/rng.h"
#include "net/iresnet.h"
#include "net/loss.h"
#include "net/optim.h"
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
    int depth, size, in_c, emb, batch, steps, runs, classes, head;
    int widths[4];
} opts;

enum { HEAD_COSFACE, HEAD_SOFTMAX, HEAD_NONE };

static int parse(opts *o, int argc, char **argv)
{
    *o = (opts){ 18, 112, 3, 512, 64, 3, 1, 1000, HEAD_COSFACE, { 64, 128, 256, 512 } };
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
        else if (!strcmp(k, "--head") && !strcmp(v, "cosface")) o->head = HEAD_COSFACE;
        else if (!strcmp(k, "--head") && !strcmp(v, "softmax")) o->head = HEAD_SOFTMAX;
        else if (!strcmp(k, "--head") && !strcmp(v, "none")) o->head = HEAD_NONE;
        else if (!strcmp(k, "--widths") && sscanf(v, "%d,%d,%d,%d", &o->widths[0], &o->widths[1],
                                                  &o->widths[2], &o->widths[3]) == 4);
        else {
            fprintf(stderr, "bench_train_graph: unknown option or value %s %s\n", k, v);
            return 2;
        }
    }
    if (o->steps < 1 || o->steps > 1000 || o->runs < 1 || o->runs > 100 || o->batch < 2 ||
        o->classes < 2 || o->emb < 1) {
        fprintf(stderr, "bench_train_graph: --steps 1..1000, --runs 1..100, --batch >= 2, "
                        "--classes >= 2\n");
        return 2;
    }
    return 0;
}

typedef struct {
    net_tgraph *t;
    net_optim *opt;
    int np, n, emb, classes, head;
    float *in, *dout, *W, *dW, *scratch;
    int *labels;
} bench;

/* One step; t[4]: forward, head, backward, optimiser seconds. */
static mint_status step(bench *b, double t[4])
{
    const net_margin cos = NET_MARGIN_COSFACE, lin = { 0.0f, 1.0f, 0.0f, 0.0f };
    double t0 = now(), loss;
    net_tgraph_zero_grad(b->t);
    mint_status st = net_tgraph_forward(b->t, b->in, b->n, 1);
    double t1 = now();
    if (!st && b->head != HEAD_NONE) {
        memset(b->dW, 0, sizeof(float) * (size_t)b->classes * (size_t)b->emb);
        st = net_margin_head(b->head == HEAD_COSFACE ? &cos : &lin, net_tgraph_output(b->t), b->W,
                             b->labels, b->n, b->emb, b->classes, b->dout, b->dW, 1.0f, &loss,
                             NULL, b->scratch);
    }
    double t2 = now();
    if (!st)
        st = net_tgraph_backward(b->t, b->dout);
    double t3 = now();
    net_optim_begin_step(b->opt);
    for (int i = 0; !st && i < b->np; i++) {
        net_tparam *p = net_tgraph_param(b->t, i);
        if (!p->frozen)
            net_optim_update(b->opt, i, p->w, p->g, 0.01, p->decay);
    }
    if (b->head != HEAD_NONE)
        net_optim_update(b->opt, b->np, b->W, b->dW, 0.01, 1);
    double t4 = now();
    t[0] = t1 - t0, t[1] = t2 - t1, t[2] = t3 - t2, t[3] = t4 - t3;
    return st;
}

static mint_status setup(bench *b, const opts *o, net_graph **g)
{
    net_iresnet_cfg cfg;
    mint_status st = net_iresnet_cfg_depth(&cfg, o->depth);
    if (st)
        return st;
    memcpy(cfg.widths, o->widths, sizeof o->widths);
    cfg.emb = o->emb;
    cfg.in_h = cfg.in_w = o->size;
    cfg.in_c = o->in_c;
    if ((st = net_iresnet_build(g, &cfg, 1)) || (st = net_tgraph_create(&b->t, *g, o->batch, NULL)))
        return st;
    net_tgraph_freeze(b->t, "features.weight"); /* as arcface_torch */
    b->np = net_tgraph_nparams(b->t);
    b->n = o->batch, b->emb = o->emb, b->classes = o->classes, b->head = o->head;
    size_t *sizes = malloc(sizeof(size_t) * (size_t)(b->np + 1));
    if (!sizes)
        return mint_fail(MINT_E_NOMEM, "out of memory");
    for (int i = 0; i < b->np; i++)
        sizes[i] = net_tgraph_param(b->t, i)->n;
    const size_t nw = (size_t)o->classes * (size_t)o->emb;
    sizes[b->np] = nw;
    const net_optim_cfg oc = { NET_OPT_SGD, 0.9, 0, 0.9, 0.999, 1e-8, 5e-4 };
    st = net_optim_create(&b->opt, &oc, b->np + 1, sizes);
    free(sizes);
    if (st)
        return st;
    size_t nin = (size_t)o->batch * (size_t)o->size * (size_t)o->size * (size_t)o->in_c;
    b->in = malloc(sizeof(float) * nin);
    b->dout = malloc(sizeof(float) * (size_t)o->batch * (size_t)o->emb);
    b->W = malloc(sizeof(float) * nw);
    b->dW = malloc(sizeof(float) * nw);
    b->labels = malloc(sizeof(int) * (size_t)o->batch);
    b->scratch = aligned_alloc(64, (net_margin_head_scratch(o->batch, o->emb, o->classes) * 4 + 63)
                                       / 64 * 64);
    if (!b->in || !b->dout || !b->W || !b->dW || !b->labels || !b->scratch)
        return mint_fail(MINT_E_NOMEM, "out of memory");
    base_rng r = { 3 };
    for (size_t i = 0; i < nin; i++)
        b->in[i] = (float)(2.0 * base_rng_open01(&r) - 1.0);
    for (int i = 0; i < o->batch * o->emb; i++)
        b->dout[i] = (float)(base_rng_open01(&r) - 0.5) * 1e-2f;
    for (size_t i = 0; i < nw; i++)
        b->W[i] = (float)(base_rng_open01(&r) - 0.5) * 0.02f;
    for (int i = 0; i < o->batch; i++)
        b->labels[i] = (int)(base_rng_open01(&r) * o->classes) % o->classes;
    return MINT_OK;
}

int main(int argc, char **argv)
{
    opts o;
    if (parse(&o, argc, argv))
        return 2;
    net_graph *g = NULL;
    bench b = { 0 };
    if (setup(&b, &o, &g))
        goto fail;
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    static const char *head_name[] = { "cosface", "softmax", "none" };
    printf("bench_train_graph: %s widths %d,%d,%d,%d, %dx%dx%d, emb %d, batch %d, %d threads, "
           "head %s (%d classes) + SGD, %.0f MB held by the training view\n", g->meta.arch,
           o.widths[0], o.widths[1], o.widths[2], o.widths[3], o.in_c, o.size, o.size, o.emb,
           o.batch, threads, head_name[o.head], o.classes,
           (double)net_tgraph_bytes(b.t) / (1 << 20));
    const int total = o.steps * o.runs;
    double *ph[4];
    for (int k = 0; k < 4; k++)
        if (!(ph[k] = malloc(sizeof(double) * (size_t)total)))
            return 1;
    double t[4], *rate = malloc(sizeof(double) * (size_t)o.runs);
    if (!rate || step(&b, t)) /* warm-up */
        goto fail;
    for (int r = 0; r < o.runs; r++) {
        double t0 = now();
        for (int s = 0; s < o.steps; s++) {
            if (step(&b, t))
                goto fail;
            for (int k = 0; k < 4; k++)
                ph[k][r * o.steps + s] = t[k];
        }
        rate[r] = o.batch * o.steps / (now() - t0);
        printf("mint_train_iresnet depth=%d size=%d batch=%d threads=%d images_per_s=%.2f\n",
               o.depth, o.size, o.batch, threads, rate[r]);
        fflush(stdout);
    }
    stats("forward", ph[0], total);
    stats("head", ph[1], total);
    stats("backward", ph[2], total);
    stats("optimiser", ph[3], total);
    qsort(rate, (size_t)o.runs, sizeof *rate, cmp);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("mint_train_iresnet depth=%d size=%d batch=%d threads=%d images_per_s_median=%.2f "
           "max_rss_mb=%.0f\n", o.depth, o.size, o.batch, threads, rate[o.runs / 2],
           (double)ru.ru_maxrss / 1024.0);
    return 0;
fail:
    fprintf(stderr, "bench_train_graph: %s\n", mint_last_error());
    return 1;
}
