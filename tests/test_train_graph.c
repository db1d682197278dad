/* test_train_graph.c - the trainable graph view (net/train_graph.c):
 * a training step of a tiny arcface_torch IResNet against PyTorch
 * (tools/gen_train_graph_golden.py), finite-difference checks of every
 * backward, eval mode against the inference executor (also after saving),
 * bit-identical reruns, memory held per image, and bad input. */
#include "testutil.h"
#include <math.h>
#include "base/rng.h"
#include "io/npy.h"
#include "kernels.h"
#include "net/exec.h"
#include "net/graph_io.h"
#include "net/iresnet.h"
#include "net/train_graph.h"

#define GOLD TEST_FIXTURES "/train_graph/"

static void nchw_to_nhwc(const float *x, float *y, int n, int c, int hw)
{
    for (int b = 0; b < n; b++)
        for (int p = 0; p < hw; p++)
            for (int k = 0; k < c; k++)
                y[((size_t)b * hw + p) * c + k] = x[((size_t)b * c + k) * hw + p];
}

static io_npy gold(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, GOLD "%s", name);
    io_npy a;
    mint_status st = io_npy_read(path, &a);
    if (st)
        fprintf(stderr, "%s: %s\n", path, mint_last_error());
    assert_int_equal(st, MINT_OK);
    assert_int_equal(a.dtype, BASE_F32);
    return a;
}

/* max |a - b| / max(max |b|, floor): the error relative to the tensor's scale */
static double rel_err_floor(const float *a, const float *b, size_t n, double floor)
{
    double d = 0.0, s = floor;
    for (size_t i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - b[i]));
        s = fmax(s, fabs((double)b[i]));
        if (a[i] != a[i])
            return INFINITY;
    }
    return d / s;
}

static double rel_err(const float *a, const float *b, size_t n)
{
    return rel_err_floor(a, b, n, 1e-6);
}

static const net_iresnet_cfg gold_cfg = { { 2, 1, 1, 1 }, { 8, 16, 16, 24 }, 16, 32, 32, 3 };

typedef struct {
    char name[96];
    long off, n;
    char kind[16];
} gold_entry;

static int read_index(gold_entry *e, int max)
{
    FILE *f = fopen(GOLD "index.txt", "r");
    assert_non_null(f);
    int k = 0;
    while (k < max && fscanf(f, "%95s %ld %ld %15s", e[k].name, &e[k].off, &e[k].n, e[k].kind) == 4)
        k++;
    fclose(f);
    return k;
}

/* The golden network: net_iresnet_build's graph with the fixture's weights. */
static net_graph *gold_graph(gold_entry *e, int ne, const float *state)
{
    net_graph *g;
    assert_int_equal(net_iresnet_build(&g, &gold_cfg, 1), MINT_OK);
    assert_int_equal(g->nweights, ne);
    for (int k = 0; k < ne; k++) {
        int w = net_graph_find_weight(g, e[k].name);
        if (w < 0)
            fprintf(stderr, "weight %s not in the graph\n", e[k].name);
        assert_true(w >= 0);
        assert_int_equal(net_weight_numel(&g->weights[w]), e[k].n);
        memcpy(g->weights[w].data, state + e[k].off, sizeof(float) * (size_t)e[k].n);
    }
    return g;
}

static void test_golden_step(void **state)
{
    (void)state;
    gold_entry e[160];
    int ne = read_index(e, 160);
    io_npy s0 = gold("state0.npy"), gr = gold("grads.npy"), r1 = gold("running1.npy");
    io_npy in = gold("input.npy"), dout = gold("dout.npy"), dl1 = gold("dlayer1.npy");
    io_npy out = gold("out.npy"), eout = gold("eval_out.npy");
    net_graph *g = gold_graph(e, ne, s0.data);
    const int n = (int)in.dims[0], hw = (int)(in.dims[2] * in.dims[3]);
    float *x = malloc(in.nbytes);
    nchw_to_nhwc(in.data, x, n, (int)in.dims[1], hw);
    const char *taps[] = { "layer1" };
    net_tgraph_opts o = { taps, 1, 0.0f, 1 };
    net_tgraph *t;
    assert_int_equal(net_tgraph_create(&t, g, n, &o), MINT_OK);
    assert_int_equal(net_tgraph_freeze(t, "features.weight"), MINT_OK);
    assert_int_equal(net_tgraph_forward(t, x, n, 1), MINT_OK);
    double e_out = rel_err(net_tgraph_output(t), out.data, (size_t)(n * 16));
    const float *act;
    float *grad;
    int rank, dims[3];
    assert_int_equal(net_tgraph_tap(t, "layer1", &act, &grad, &rank, dims), MINT_OK);
    assert_int_equal(rank, 3);
    assert_int_equal(dims[2], dl1.dims[1]);
    assert_int_equal(dims[0] * dims[1], dl1.dims[2] * dl1.dims[3]);
    nchw_to_nhwc(dl1.data, grad, n, dims[2], dims[0] * dims[1]);
    net_tgraph_zero_grad(t);
    assert_int_equal(net_tgraph_backward(t, dout.data), MINT_OK);
    /* Gradients that are exactly 0 in theory (biases of BNs whose output
     * only reaches BNs in training mode: bn3/downsample.1 of layer2..4,
     * bn2, fc) hold rounding noise (1e-7): every gradient tensor is
     * measured against max(its own scale, 1e-3 of the largest gradient). */
    double gmax = 0.0;
    for (long i = 0; i < (long)(gr.nbytes / sizeof(float)); i++)
        gmax = fmax(gmax, fabs(((const float *)gr.data)[i]));
    /* every param / frozen entry is a parameter of the view, and vice versa */
    int np = 0;
    double e_grad = 0.0, e_run = 0.0;
    long roff = 0;
    for (int k = 0; k < ne; k++) {
        const float *ref = (const float *)gr.data + e[k].off;
        if (!strcmp(e[k].kind, "buffer")) {
            const float *w = g->weights[net_graph_find_weight(g, e[k].name)].data;
            e_run = fmax(e_run, rel_err(w, (const float *)r1.data + roff, (size_t)e[k].n));
            roff += e[k].n;
            continue;
        }
        np++;
        net_tparam *p = NULL;
        for (int i = 0; i < net_tgraph_nparams(t); i++)
            if (!strcmp(net_tgraph_param(t, i)->name, e[k].name))
                p = net_tgraph_param(t, i);
        assert_non_null(p);
        assert_int_equal(p->n, e[k].n);
        assert_int_equal(p->frozen, !strcmp(e[k].kind, "frozen"));
        if (p->frozen)
            continue;
        double d = rel_err_floor(p->g, ref, p->n, 1e-3 * gmax);
        if (d > 1e-4)
            fprintf(stderr, "  grad %s: rel err %.3g\n", e[k].name, d);
        e_grad = fmax(e_grad, d);
    }
    assert_int_equal(np, net_tgraph_nparams(t));
    assert_int_equal(net_tgraph_forward(t, x, n, 0), MINT_OK);
    double e_eval = rel_err(net_tgraph_output(t), eout.data, (size_t)(n * 16));
    printf("  golden vs PyTorch (max|d| / max|ref| per tensor; grads: / max(max|ref|, %.2g)): output %.2g, param grads %.2g, "
           "running stats %.2g, eval output %.2g\n", 1e-3 * gmax, e_out, e_grad, e_run, e_eval);
    assert_true(e_out < 1e-4);
    assert_true(e_grad < 1e-4);
    assert_true(e_run < 1e-4);
    assert_true(e_eval < 1e-4);
    net_tgraph_destroy(t);
    net_graph_free(g);
    free(x);
    io_npy *all[] = { &s0, &gr, &r1, &in, &dout, &dl1, &out, &eout };
    for (int i = 0; i < 8; i++)
        io_npy_free(all[i]);
}

/* ---------------- finite differences on small graphs ---------------- */

static int add_w(net_graph *g, const char *name, int rank, const int64_t *dims, base_rng *r,
                 double lo, double hi)
{
    int64_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= dims[i];
    float *d = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++)
        d[i] = (float)(lo + (hi - lo) * base_rng_open01(r));
    int id = net_graph_add_weight(g, name, rank, dims, d, 1);
    assert_true(id >= 0);
    return id;
}

/* data -> AFFINE identity "x" (a tap, so its gradient is readable) */
static net_graph *small_graph(int c, int h, int w, int *x)
{
    net_graph *g = net_graph_new();
    g->meta.in_c = c;
    g->meta.in_h = h;
    g->meta.in_w = w;
    g->input = net_graph_tensor(g, "data");
    *x = net_graph_tensor(g, "x");
    int nw[4] = { -1, -1, -1, -1 };
    assert_true(net_graph_add_node(g, NET_OP_AFFINE, "id", g->input, -1, *x, nw) >= 0);
    return g;
}

static int add_node(net_graph *g, net_op op, const char *name, int in0, int in1, int w0, int w1,
                    int w2, int w3)
{
    char out[64];
    snprintf(out, sizeof out, "%s.out", name);
    int t = net_graph_tensor(g, out), w[4] = { w0, w1, w2, w3 };
    assert_true(net_graph_add_node(g, op, name, in0, in1, t, w) >= 0);
    return t;
}

static int add_bn(net_graph *g, const char *name, int in, int c, base_rng *r)
{
    char nm[4][64];
    int64_t d = c;
    const char *part[4] = { "weight", "bias", "running_mean", "running_var" };
    for (int i = 0; i < 4; i++)
        snprintf(nm[i], 64, "%s.%s", name, part[i]);
    int w0 = add_w(g, nm[0], 1, &d, r, 0.5, 1.5), w1 = add_w(g, nm[1], 1, &d, r, -0.2, 0.2);
    int w2 = add_w(g, nm[2], 1, &d, r, -0.2, 0.2), w3 = add_w(g, nm[3], 1, &d, r, 0.5, 2.0);
    return add_node(g, NET_OP_BN, name, in, -1, w0, w1, w2, w3);
}

static double loss_of(net_tgraph *t, const float *in, int n, int training, const float *r,
                      size_t m)
{
    assert_int_equal(net_tgraph_forward(t, in, n, training), MINT_OK);
    const float *y = net_tgraph_output(t);
    double l = 0.0;
    for (size_t i = 0; i < m; i++)
        l += (double)y[i] * r[i];
    return l;
}

static int check_close(const char *what, double a, double num)
{
    if (fabs(a - num) <= 2e-3 + 1e-2 * fabs(num))
        return 0;
    fprintf(stderr, "  %s: analytic %.6g numeric %.6g\n", what, a, num);
    return 1;
}

/* Central differences (h = 1e-2, float forward, double loss) of L =
 * sum(out * r) against backward: d/dx at tap "x" and every parameter.
 * Input values are kept away from 0 by `gap` (kinks of PReLU/ReLU). */
static void gradcheck(const char *label, net_graph *g, int n, int training, float gap)
{
    assert_int_equal(net_graph_toposort(g), MINT_OK);
    assert_int_equal(net_graph_infer_shapes(g), MINT_OK);
    assert_int_equal(net_graph_add_tap(g, "x", net_graph_find_tensor(g, "x")), MINT_OK);
    base_rng r = { 99 };
    const int64_t ni = net_tensor_numel(&g->tensors[g->input]);
    const size_t mi = (size_t)(n * ni), mo = (size_t)(n * net_tensor_numel(&g->tensors[g->output]));
    float *in = malloc(sizeof(float) * mi), *rr = malloc(sizeof(float) * mo);
    for (size_t i = 0; i < mi; i++) {
        /* gap > 0: a grid +-(gap + 0.1 j), j < 10, which kinks can avoid */
        double u = base_rng_open01(&r), v = 2.0 * u - 1.0;
        if (gap > 0)
            v = (u < 0.5 ? -1.0 : 1.0) * (gap + 0.1 * floor(10.0 * base_rng_open01(&r)));
        in[i] = (float)v;
    }
    for (size_t i = 0; i < mo; i++)
        rr[i] = (float)(2.0 * base_rng_open01(&r) - 1.0);
    const char *taps[] = { "x" };
    net_tgraph_opts o = { taps, 1, 0.0f, 0 };
    net_tgraph *t;
    assert_int_equal(net_tgraph_create(&t, g, n, &o), MINT_OK);
    loss_of(t, in, n, training, rr, mo);
    net_tgraph_zero_grad(t);
    assert_int_equal(net_tgraph_backward(t, rr), MINT_OK);
    const float *act;
    float *gx;
    assert_int_equal(net_tgraph_tap(t, "x", &act, &gx, NULL, NULL), MINT_OK);
    float *dx = malloc(sizeof(float) * mi);
    memcpy(dx, gx, sizeof(float) * mi);
    const float h = 1e-2f;
    int bad = 0, checked = 0;
    char what[160];
    for (size_t i = 0; i < mi; i++) { /* NHWC index i of the input = of x */
        float v = in[i];
        in[i] = v + h;
        double lp = loss_of(t, in, n, training, rr, mo);
        in[i] = v - h;
        double lm = loss_of(t, in, n, training, rr, mo);
        in[i] = v;
        snprintf(what, sizeof what, "%s dx[%zu]", label, i);
        bad += check_close(what, dx[i], (lp - lm) / (2.0 * h));
        checked++;
    }
    for (int p = 0; p < net_tgraph_nparams(t); p++) {
        net_tparam *q = net_tgraph_param(t, p);
        for (size_t i = 0; i < q->n; i++) {
            float v = q->w[i];
            q->w[i] = v + h;
            double lp = loss_of(t, in, n, training, rr, mo);
            q->w[i] = v - h;
            double lm = loss_of(t, in, n, training, rr, mo);
            q->w[i] = v;
            snprintf(what, sizeof what, "%s d%s[%zu]", label, q->name, i);
            bad += check_close(what, q->g[i], (lp - lm) / (2.0 * h));
            checked++;
        }
    }
    printf("  gradcheck %-22s %4d derivatives, %d off\n", label, checked, bad);
    assert_int_equal(bad, 0);
    net_tgraph_destroy(t);
    net_graph_free(g);
    free(in);
    free(rr);
    free(dx);
}

static void test_gradcheck_bn(void **state)
{
    (void)state;
    base_rng r = { 1 };
    int x;
    net_graph *g = small_graph(3, 4, 5, &x);
    g->output = add_bn(g, "bn", x, 3, &r);
    gradcheck("BN2d train", g, 2, 1, 0.0f);
    g = small_graph(3, 4, 5, &x);
    g->output = add_bn(g, "bn", x, 3, &r);
    gradcheck("BN2d eval", g, 2, 0, 0.0f);
    /* BN1d: [C,1,1] flattened to rank 1 */
    g = small_graph(6, 1, 1, &x);
    int f = add_node(g, NET_OP_FLATTEN, "flat", x, -1, -1, -1, -1, -1);
    g->output = add_bn(g, "bn1d", f, 6, &r);
    gradcheck("flatten+BN1d train", g, 5, 1, 0.0f);
}

static void test_gradcheck_elementwise(void **state)
{
    (void)state;
    base_rng r = { 2 };
    int x;
    int64_t c = 3, one = 1, aff[1] = { 3 };
    net_graph *g = small_graph(3, 3, 4, &x);
    int s = add_w(g, "prelu.weight", 1, &c, &r, 0.1, 0.4);
    g->output = add_node(g, NET_OP_PRELU, "prelu", x, -1, s, -1, -1, -1);
    gradcheck("PReLU per channel", g, 2, 1, 0.05f);
    g = small_graph(3, 3, 4, &x);
    s = add_w(g, "prelu.weight", 1, &one, &r, 0.1, 0.4);
    g->output = add_node(g, NET_OP_PRELU, "prelu", x, -1, s, -1, -1, -1);
    gradcheck("PReLU shared", g, 2, 1, 0.05f);
    /* x feeds BN and PReLU, summed: gradients from two consumers add up */
    g = small_graph(3, 3, 4, &x);
    s = add_w(g, "prelu.weight", 1, &c, &r, 0.1, 0.4);
    int a = add_bn(g, "bn", x, 3, &r), b = add_node(g, NET_OP_PRELU, "prelu", x, -1, s, -1, -1, -1);
    g->output = add_node(g, NET_OP_ADD, "add", a, b, -1, -1, -1, -1);
    gradcheck("BN + PReLU -> add", g, 2, 1, 0.05f);
    /* ReLU, Clip, Affine (constants): input gradients only */
    g = small_graph(3, 3, 4, &x);
    int k = add_w(g, "mul", 1, aff, &r, 0, 0), sh = add_w(g, "sub", 1, &one, &r, 0, 0);
    const float kv[3] = { 1.0f, 0.5f, 2.0f }; /* x on the grid stays 0.075 from 0 and 0.6 */
    memcpy(g->weights[k].data, kv, sizeof kv);
    int y = add_node(g, NET_OP_AFFINE, "affine", x, -1, k, sh, -1, -1);
    y = add_node(g, NET_OP_RELU, "relu", y, -1, -1, -1, -1, -1);
    int cl = add_node(g, NET_OP_CLIP, "clip", y, -1, -1, -1, -1, -1);
    g->nodes[g->nnodes - 1].lo = 0.0f;
    g->nodes[g->nnodes - 1].hi = 0.6f;
    g->output = cl;
    gradcheck("affine+ReLU+clip", g, 2, 1, 0.15f);
}

static int add_conv(net_graph *g, const char *name, int in, int cin, int cout, int k, int s,
                    int groups, int bias, base_rng *r)
{
    char nm[64];
    snprintf(nm, sizeof nm, "%s.weight", name);
    int64_t d[4] = { cout, cin / groups, k, k }, db = cout;
    int w = add_w(g, nm, 4, d, r, -0.5, 0.5), b = -1;
    snprintf(nm, sizeof nm, "%s.bias", name);
    if (bias)
        b = add_w(g, nm, 1, &db, r, -0.2, 0.2);
    int t = add_node(g, NET_OP_CONV, name, in, -1, w, b, -1, -1);
    g->nodes[g->nnodes - 1].conv = (net_conv_attr){ k, k, s, s, k / 2, k / 2, k / 2, k / 2, 1, 1, groups };
    return t;
}

static void test_gradcheck_conv_fc(void **state)
{
    (void)state;
    base_rng r = { 3 };
    int x;
    net_graph *g = small_graph(3, 5, 6, &x);
    g->output = add_conv(g, "conv3x3s1", x, 3, 4, 3, 1, 1, 1, &r);
    gradcheck("conv3x3s1 + bias", g, 2, 1, 0.0f);
    g = small_graph(3, 5, 6, &x);
    g->output = add_conv(g, "conv3x3s2", x, 3, 4, 3, 2, 1, 0, &r);
    gradcheck("conv3x3s2", g, 2, 1, 0.0f);
    g = small_graph(3, 5, 6, &x);
    g->output = add_conv(g, "conv1x1s2", x, 3, 5, 1, 2, 1, 0, &r);
    gradcheck("conv1x1s2", g, 2, 1, 0.0f);
    g = small_graph(4, 5, 5, &x);
    g->output = add_conv(g, "dwconv3x3", x, 4, 4, 3, 1, 4, 0, &r);
    gradcheck("dwconv3x3", g, 2, 1, 0.0f);
    /* flatten (NHWC -> NCHW order) + FC with bias */
    g = small_graph(3, 2, 3, &x);
    int f = add_node(g, NET_OP_FLATTEN, "flat", x, -1, -1, -1, -1, -1);
    int64_t wd[2] = { 5, 18 }, bd = 5;
    int w = add_w(g, "fc.weight", 2, wd, &r, -0.5, 0.5), b = add_w(g, "fc.bias", 1, &bd, &r, -0.1, 0.1);
    g->output = add_node(g, NET_OP_FC, "fc", f, -1, w, b, -1, -1);
    gradcheck("flatten + FC", g, 3, 1, 0.0f);
}

/* ---------------- eval mode = executor, reruns ---------------- */

/* One SGD step: w -= lr * g for unfrozen parameters. */
static void sgd(net_tgraph *t, float lr)
{
    for (int i = 0; i < net_tgraph_nparams(t); i++) {
        net_tparam *p = net_tgraph_param(t, i);
        for (size_t k = 0; !p->frozen && k < p->n; k++)
            p->w[k] -= lr * p->g[k];
    }
}

/* steps training steps of a grey 28x28 IResNet (lead's digits shape) with
 * dropout; returns the graph (trained). */
static net_graph *train_digits(int steps, float *in, int n)
{
    net_iresnet_cfg cfg = { { 1, 1, 1, 1 }, { 8, 8, 16, 16 }, 10, 28, 28, 1 };
    net_graph *g;
    assert_int_equal(net_iresnet_build(&g, &cfg, 5), MINT_OK);
    assert_int_equal(g->meta.in_c, 1);
    net_tgraph_opts o = { NULL, 0, 0.25f, 42 };
    net_tgraph *t;
    assert_int_equal(net_tgraph_create(&t, g, n, &o), MINT_OK);
    assert_int_equal(net_tgraph_freeze(t, "features.weight"), MINT_OK);
    float dout[8 * 10];
    for (int s = 0; s < steps; s++) {
        assert_int_equal(net_tgraph_forward(t, in, n, 1), MINT_OK);
        const float *y = net_tgraph_output(t);
        for (int i = 0; i < n * 10; i++)
            dout[i] = y[i] - (float)(i % 10 == (i / 10) % 10); /* L = |y - onehot|^2 / 2 */
        net_tgraph_zero_grad(t);
        assert_int_equal(net_tgraph_backward(t, dout), MINT_OK);
        sgd(t, 0.05f);
    }
    net_tgraph_destroy(t);
    return g;
}

static float *digits_input(int n)
{
    base_rng r = { 11 };
    float *in = malloc(sizeof(float) * (size_t)n * 28 * 28);
    for (int i = 0; i < n * 28 * 28; i++)
        in[i] = (float)(2.0 * base_rng_open01(&r) - 1.0);
    return in;
}

/* Output of the inference executor (NCHW input = NHWC for 1 channel). */
static void exec_output(const net_graph *g, const float *in, int n, float *out)
{
    net_exec *e;
    assert_int_equal(net_exec_create(&e, g, kern_active(), n), MINT_OK);
    int tap = g->output;
    float *outs[1] = { out };
    assert_int_equal(net_exec_run(e, in, n, 1, &tap, outs), MINT_OK);
    net_exec_free(e);
}

static void test_eval_matches_executor(void **state)
{
    (void)state;
    const int n = 6;
    float *in = digits_input(n);
    net_graph *g = train_digits(3, in, n);
    net_tgraph *t;
    assert_int_equal(net_tgraph_create(&t, g, n, NULL), MINT_OK);
    assert_int_equal(net_tgraph_forward(t, in, n, 0), MINT_OK);
    float ex[6 * 10], ld[6 * 10];
    exec_output(g, in, n, ex);
    double d = rel_err(net_tgraph_output(t), ex, (size_t)n * 10);
    /* saved and loaded back, as embed/extract/audit load it */
    const char *path = test_tmp_path("trained.mint");
    assert_int_equal(net_graph_save(g, path), MINT_OK);
    net_graph *g2;
    wt_file *f;
    assert_int_equal(net_graph_load(&g2, &f, path), MINT_OK);
    exec_output(g2, in, n, ld);
    double d2 = rel_err(ld, ex, (size_t)n * 10);
    printf("  eval forward vs executor: %.2g, saved+loaded vs executor: %.2g\n", d, d2);
    assert_true(d < 1e-5);
    assert_true(d2 == 0.0);
    net_graph_free(g2);
    wt_close(f);
    net_tgraph_destroy(t);
    net_graph_free(g);
    free(in);
}

static void test_reproducible(void **state)
{
    (void)state;
    const int n = 4;
    float *in = digits_input(n);
    net_graph *a = train_digits(2, in, n), *b = train_digits(2, in, n);
    assert_int_equal(a->nweights, b->nweights);
    int differ = 0, changed = 0;
    net_graph *fresh;
    net_iresnet_cfg cfg = { { 1, 1, 1, 1 }, { 8, 8, 16, 16 }, 10, 28, 28, 1 };
    assert_int_equal(net_iresnet_build(&fresh, &cfg, 5), MINT_OK);
    for (int i = 0; i < a->nweights; i++) {
        size_t m = sizeof(float) * (size_t)net_weight_numel(&a->weights[i]);
        differ += memcmp(a->weights[i].data, b->weights[i].data, m) != 0;
        changed += memcmp(a->weights[i].data, fresh->weights[i].data, m) != 0;
    }
    assert_int_equal(differ, 0);
    assert_true(changed > a->nweights / 2); /* the runs did train */
    net_graph_free(a);
    net_graph_free(b);
    net_graph_free(fresh);
    free(in);
}

/* ---------------- bad input ---------------- */

/* Memory: the BN (+ PReLU) outputs that only convs read are recomputed in
 * the backward and a BN fused with its PReLU never stores its output, so
 * the view holds less per image than one copy of every tensor of the graph
 * (0.80 of it for this IResNet-18; 1.22 when every tensor backward reads
 * was kept, as before the recomputation). */
static void test_memory_per_image(void **state)
{
    (void)state;
    net_iresnet_cfg cfg;
    assert_int_equal(net_iresnet_cfg_depth(&cfg, 18), MINT_OK);
    const int widths[4] = { 8, 16, 16, 32 };
    memcpy(cfg.widths, widths, sizeof widths);
    cfg.emb = 16;
    cfg.in_h = cfg.in_w = 32;
    cfg.in_c = 3;
    size_t bytes[2];
    int64_t per_image = 0;
    for (int k = 0; k < 2; k++) {
        net_graph *g = NULL;
        net_tgraph *t = NULL;
        assert_int_equal(net_iresnet_build(&g, &cfg, 1), MINT_OK);
        assert_int_equal(net_tgraph_create(&t, g, 4 * (k + 1), NULL), MINT_OK);
        bytes[k] = net_tgraph_bytes(t);
        if (!k)
            for (int x = 0; x < g->ntensors; x++)
                per_image += net_tensor_numel(&g->tensors[x]) * (int64_t)sizeof(float);
        net_tgraph_destroy(t);
        net_graph_free(g);
    }
    const double held = (double)(bytes[1] - bytes[0]) / 4.0;
    print_message("  training view: %.0f bytes per image, all tensors once: %lld (%.2f)\n", held,
                  (long long)per_image, held / (double)per_image);
    assert_true(held < 0.9 * (double)per_image);
}

static void test_bad_input(void **state)
{
    (void)state;
    base_rng r = { 4 };
    int x;
    net_graph *g = small_graph(4, 5, 5, &x);
    g->output = add_conv(g, "grouped2", x, 4, 4, 3, 1, 2, 0, &r);
    assert_int_equal(net_graph_toposort(g), MINT_OK);
    assert_int_equal(net_graph_infer_shapes(g), MINT_OK);
    net_tgraph *t = NULL;
    assert_int_equal(net_tgraph_create(&t, g, 2, NULL), MINT_E_UNSUPPORTED);
    assert_null(t);
    assert_non_null(strstr(mint_last_error(), "grouped2"));
    net_graph_free(g);

    net_iresnet_cfg cfg = { { 1, 1, 1, 1 }, { 8, 8, 8, 8 }, 8, 16, 16, 1 };
    assert_int_equal(net_iresnet_build(&g, &cfg, 1), MINT_OK);
    const char *bad[] = { "layer9" };
    net_tgraph_opts o = { bad, 1, 0.0f, 0 };
    assert_int_equal(net_tgraph_create(&t, g, 2, &o), MINT_E_NOTFOUND);
    assert_non_null(strstr(mint_last_error(), "layer9"));
    o = (net_tgraph_opts){ NULL, 0, 1.0f, 0 };
    assert_int_equal(net_tgraph_create(&t, g, 2, &o), MINT_E_ARG);
    assert_int_equal(net_tgraph_create(&t, g, 0, NULL), MINT_E_ARG);
    assert_int_equal(net_tgraph_create(&t, g, 2, NULL), MINT_OK);
    float in[3 * 16 * 16] = { 0 };
    assert_int_equal(net_tgraph_backward(t, NULL), MINT_E_ARG); /* no forward yet */
    assert_int_equal(net_tgraph_forward(t, in, 3, 1), MINT_E_ARG);
    assert_non_null(strstr(mint_last_error(), "batch_max"));
    assert_int_equal(net_tgraph_forward(t, in, 1, 1), MINT_E_ARG); /* BN1d of one image */
    assert_non_null(strstr(mint_last_error(), "one value per channel"));
    assert_int_equal(net_tgraph_backward(t, NULL), MINT_E_ARG);    /* failed forward */
    assert_int_equal(net_tgraph_forward(t, in, 1, 0), MINT_OK);    /* eval: fine */
    assert_int_equal(net_tgraph_tap(t, "layer1", NULL, NULL, NULL, NULL), MINT_E_NOTFOUND);
    assert_int_equal(net_tgraph_freeze(t, "bn1.running_mean"), MINT_E_NOTFOUND);
    assert_null(net_tgraph_param(t, net_tgraph_nparams(t)));
    net_tgraph_destroy(t);
    net_graph_free(g);
    /* bad IResNet input channels */
    cfg.in_c = 2;
    assert_int_equal(net_iresnet_build(&g, &cfg, 1), MINT_E_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_step),
        cmocka_unit_test(test_gradcheck_bn),
        cmocka_unit_test(test_gradcheck_elementwise),
        cmocka_unit_test(test_gradcheck_conv_fc),
        cmocka_unit_test(test_eval_matches_executor),
        cmocka_unit_test(test_reproducible),
        cmocka_unit_test(test_memory_per_image),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
