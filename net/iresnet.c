/* iresnet.c - builds the InsightFace IResNet graph natively.
 * Structure (arcface_torch backbones/iresnet.py): stem conv3x3(3->w0, s1) ->
 * BN -> PReLU; stages of IBasicBlock: BN -> conv3x3 -> BN -> PReLU ->
 * conv3x3(stride) -> BN, plus identity or conv1x1(stride)+BN shortcut, no
 * activation after the add; first block of each stage has stride 2; head
 * BN2d -> flatten -> Linear(C*7*7 -> emb) -> BatchNorm1d. BN eps 1e-5.
 * Weights: He-normal convs scaled down so 100+ residual blocks stay finite,
 * non-trivial BN statistics, PReLU slopes 0.25 (PyTorch's default). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/rng.h"
#include "net/iresnet.h"

mint_status net_iresnet_cfg_depth(net_iresnet_cfg *cfg, int depth)
{
    static const int table[5][5] = {
        { 18, 2, 2, 2, 2 }, { 34, 3, 4, 6, 3 }, { 50, 3, 4, 14, 3 },
        { 100, 3, 13, 30, 3 }, { 200, 6, 26, 60, 6 },
    };
    for (int i = 0; i < 5; i++)
        if (table[i][0] == depth) {
            *cfg = (net_iresnet_cfg){ { table[i][1], table[i][2], table[i][3], table[i][4] },
                                      { 64, 128, 256, 512 }, 512, 112, 112, 3 };
            return MINT_OK;
        }
    return mint_fail(MINT_E_ARG, "IResNet depth %d unknown (18, 34, 50, 100, 200)", depth);
}

typedef struct {
    net_graph *g;
    base_rng rng;
    mint_status st;
} builder;

/* uniform (0,1) -> Box-Muller normal */
static double uniform(builder *b) { return base_rng_open01(&b->rng); }

static double normal(builder *b)
{
    double u = uniform(b), v = uniform(b);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

enum { INIT_NORMAL, INIT_CONST, INIT_UNIFORM };

static int weight(builder *b, const char *name, int rank, const int64_t *dims, int init,
                  double p0, double p1)
{
    if (b->st)
        return -1;
    int64_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= dims[i];
    float *d = malloc(sizeof(float) * (size_t)n);
    if (!d) {
        b->st = mint_fail(MINT_E_NOMEM, "out of memory for '%s'", name);
        return -1;
    }
    for (int64_t i = 0; i < n; i++)
        d[i] = (float)(init == INIT_NORMAL ? p0 * normal(b)
                       : init == INIT_CONST ? p0 : p0 + (p1 - p0) * uniform(b));
    int id = net_graph_add_weight(b->g, name, rank, dims, d, 1);
    if (id < 0) {
        free(d);
        b->st = mint_fail(MINT_E_NOMEM, "cannot add weight '%s'", name);
    }
    return id;
}

static int tensor(builder *b, const char *name)
{
    if (b->st)
        return -1;
    int t = net_graph_tensor(b->g, name);
    if (t < 0)
        b->st = mint_fail(MINT_E_NOMEM, "out of memory");
    return t;
}

static int node(builder *b, net_op op, const char *name, int in0, int in1, const char *out,
                const int w[4])
{
    int t = tensor(b, out);
    if (b->st)
        return -1;
    int id = net_graph_add_node(b->g, op, name, in0, in1, t, w);
    if (id < 0) {
        b->st = mint_fail(MINT_E_NOMEM, "out of memory");
        return -1;
    }
    return t;
}

static int conv(builder *b, const char *prefix, int in, int cin, int cout, int k, int s)
{
    char name[128], out[160];
    snprintf(name, sizeof name, "%s.weight", prefix);
    int64_t dims[4] = { cout, cin, k, k };
    int w[4] = { weight(b, name, 4, dims, INIT_NORMAL, 0.5 * sqrt(2.0 / (cin * k * k)), 0), -1, -1, -1 };
    snprintf(out, sizeof out, "%s.out", prefix);
    int t = node(b, NET_OP_CONV, prefix, in, -1, out, w);
    if (t >= 0) {
        net_node *n = &b->g->nodes[b->g->nnodes - 1];
        n->conv = (net_conv_attr){ k, k, s, s, k / 2, k / 2, k / 2, k / 2, 1, 1, 1 };
    }
    return t;
}

static int bn(builder *b, const char *prefix, int in, int c)
{
    char name[4][128], out[160];
    static const char *const part[4] = { "weight", "bias", "running_mean", "running_var" };
    int64_t d = c;
    int w[4];
    for (int i = 0; i < 4; i++)
        snprintf(name[i], sizeof name[i], "%s.%s", prefix, part[i]);
    w[0] = weight(b, name[0], 1, &d, INIT_UNIFORM, 0.5, 1.5);
    w[1] = weight(b, name[1], 1, &d, INIT_NORMAL, 0.1, 0);
    w[2] = weight(b, name[2], 1, &d, INIT_NORMAL, 0.1, 0);
    w[3] = weight(b, name[3], 1, &d, INIT_UNIFORM, 0.5, 2.0);
    snprintf(out, sizeof out, "%s.out", prefix);
    return node(b, NET_OP_BN, prefix, in, -1, out, w);
}

static int prelu(builder *b, const char *prefix, int in, int c)
{
    char name[128], out[160];
    int64_t d = c;
    snprintf(name, sizeof name, "%s.weight", prefix);
    int w[4] = { weight(b, name, 1, &d, INIT_CONST, 0.25, 0), -1, -1, -1 };
    snprintf(out, sizeof out, "%s.out", prefix);
    return node(b, NET_OP_PRELU, prefix, in, -1, out, w);
}

mint_status net_iresnet_build(net_graph **out, const net_iresnet_cfg *cfg, uint64_t seed)
{
    *out = NULL;
    for (int i = 0; i < 4; i++)
        if (cfg->layers[i] < 1 || cfg->layers[i] > 1000 || cfg->widths[i] < 1 || cfg->widths[i] > 8192)
            return mint_fail(MINT_E_ARG, "bad IResNet stage %d: %d blocks of width %d", i + 1,
                             cfg->layers[i], cfg->widths[i]);
    int in_c = cfg->in_c ? cfg->in_c : 3;
    if (in_c != 1 && in_c != 3)
        return mint_fail(MINT_E_ARG, "bad IResNet input channels %d (1 or 3)", cfg->in_c);
    if (cfg->emb < 1 || cfg->in_h < 16 || cfg->in_w < 16 || cfg->in_h > 4096 || cfg->in_w > 4096)
        return mint_fail(MINT_E_ARG, "bad IResNet embedding size or input size");
    builder b = { net_graph_new(), { seed }, MINT_OK };
    if (!b.g)
        return mint_fail(MINT_E_NOMEM, "out of memory");
    net_graph *g = b.g;
    int depth = 2 * (cfg->layers[0] + cfg->layers[1] + cfg->layers[2] + cfg->layers[3]) + 2;
    snprintf(g->meta.arch, sizeof g->meta.arch, "iresnet%d", depth);
    g->meta.in_c = in_c;
    g->meta.in_h = cfg->in_h;
    g->meta.in_w = cfg->in_w;
    g->input = tensor(&b, "data");
    int x = conv(&b, "conv1", g->input, in_c, cfg->widths[0], 3, 1);
    x = bn(&b, "bn1", x, cfg->widths[0]);
    x = prelu(&b, "prelu", x, cfg->widths[0]);
    int cin = cfg->widths[0];
    for (int s = 0; s < 4 && !b.st; s++) {
        int c = cfg->widths[s];
        for (int k = 0; k < cfg->layers[s] && !b.st; k++) {
            char p[64], q[96];
            int stride = k == 0 ? 2 : 1;
            snprintf(p, sizeof p, "layer%d.%d", s + 1, k);
            snprintf(q, sizeof q, "%s.bn1", p);
            int y = bn(&b, q, x, cin);
            snprintf(q, sizeof q, "%s.conv1", p);
            y = conv(&b, q, y, cin, c, 3, 1);
            snprintf(q, sizeof q, "%s.bn2", p);
            y = bn(&b, q, y, c);
            snprintf(q, sizeof q, "%s.prelu", p);
            y = prelu(&b, q, y, c);
            snprintf(q, sizeof q, "%s.conv2", p);
            y = conv(&b, q, y, c, c, 3, stride);
            snprintf(q, sizeof q, "%s.bn3", p);
            y = bn(&b, q, y, c);
            int sc = x;
            if (stride != 1 || cin != c) {
                snprintf(q, sizeof q, "%s.downsample.0", p);
                sc = conv(&b, q, x, cin, c, 1, stride);
                snprintf(q, sizeof q, "%s.downsample.1", p);
                sc = bn(&b, q, sc, c);
            }
            snprintf(q, sizeof q, "%s.out", p);
            x = node(&b, NET_OP_ADD, p, y, sc, q, NULL);
            cin = c;
        }
    }
    x = bn(&b, "bn2", x, cin);
    x = node(&b, NET_OP_FLATTEN, "flatten", x, -1, "flatten.out", NULL);
    int h = cfg->in_h, w = cfg->in_w;
    for (int s = 0; s < 4; s++) {
        h = (h - 1) / 2 + 1;
        w = (w - 1) / 2 + 1;
    }
    int64_t fd[2] = { cfg->emb, (int64_t)cin * h * w }, ed = cfg->emb;
    int fw[4] = { weight(&b, "fc.weight", 2, fd, INIT_NORMAL, sqrt(1.0 / (double)fd[1]), 0),
                  weight(&b, "fc.bias", 1, &ed, INIT_NORMAL, 0.01, 0), -1, -1 };
    x = node(&b, NET_OP_FC, "fc", x, -1, "fc.out", fw);
    x = bn(&b, "features", x, cfg->emb);
    g->output = x;
    mint_status st = b.st;
    if (!st && !(st = net_graph_toposort(g)) && !(st = net_graph_infer_shapes(g)))
        st = net_graph_name_taps(g);
    if (st) {
        net_graph_free(g);
        return st;
    }
    *out = g;
    return MINT_OK;
}
