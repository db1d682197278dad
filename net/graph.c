/* graph.c - building, checking and rewriting the op graph (see graph.h).
 * Shape inference follows the ONNX operator definitions (Conv output size
 * floor((H + pads - dil*(k-1) - 1)/stride) + 1). The graph keeps every
 * node the model has: BatchNorm folding is the executor's job (net/exec.c),
 * so that every tensor can still be tapped. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "net/graph.h"
#include "base/dtype.h"
#include "base/sha256.h"

static const char *const op_names[NET_OP_COUNT] = {
    "conv", "bn", "prelu", "relu", "clip", "add", "affine", "flatten", "fc",
};

const char *net_op_name(net_op op)
{
    return (unsigned)op < NET_OP_COUNT ? op_names[op] : "?";
}

net_graph *net_graph_new(void)
{
    net_graph *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->input = g->output = -1;
    strcpy(g->meta.channel_order, "RGB");
    for (int i = 0; i < 3; i++) {
        g->meta.mean[i] = 0.5f;
        g->meta.std[i] = 0.5f;
    }
    return g;
}

void net_graph_free(net_graph *g)
{
    if (!g)
        return;
    for (int i = 0; i < g->ntensors; i++)
        free(g->tensors[i].name);
    for (int i = 0; i < g->nweights; i++) {
        free(g->weights[i].name);
        if (g->weights[i].owned)
            free(g->weights[i].data);
    }
    for (int i = 0; i < g->nnodes; i++)
        free(g->nodes[i].name);
    for (int i = 0; i < g->ntaps; i++)
        free(g->taps[i].name);
    base_nameidx_free(&g->tindex);
    base_nameidx_free(&g->windex);
    free(g->tensors);
    free(g->weights);
    free(g->nodes);
    free(g->taps);
    free(g);
}

int net_grow(void **arr, int *cap, int n, size_t elem)
{
    if (n < *cap)
        return 0;
    int nc = *cap ? *cap * 2 : 16;
    void *p = realloc(*arr, (size_t)nc * elem);
    if (!p)
        return -1;
    *arr = p;
    *cap = nc;
    return 0;
}

int net_graph_find_tensor(const net_graph *g, const char *name)
{
    return base_nameidx_get(&g->tindex, name);
}

int net_graph_tensor(net_graph *g, const char *name)
{
    int t = net_graph_find_tensor(g, name);
    if (t >= 0)
        return t;
    if (net_grow((void **)&g->tensors, &g->cap_tensors, g->ntensors, sizeof *g->tensors))
        return -1;
    net_tensor *x = &g->tensors[g->ntensors];
    memset(x, 0, sizeof *x);
    x->name = strdup(name);
    if (!x->name)
        return -1;
    if (base_nameidx_add(&g->tindex, x->name, g->ntensors) != -1) { /* absent: only OOM */
        free(x->name);
        return -1;
    }
    return g->ntensors++;
}

int net_graph_find_weight(const net_graph *g, const char *name)
{
    return base_nameidx_get(&g->windex, name);
}

int64_t net_weight_numel(const net_weight *w)
{
    int64_t n = 1;
    for (int i = 0; i < w->rank; i++)
        n *= w->dims[i];
    return n;
}

int net_graph_add_weight(net_graph *g, const char *name, int rank, const int64_t *dims,
                         float *data, int owned)
{
    if (rank < 0 || rank > 4 || net_graph_find_weight(g, name) >= 0)
        return -1;
    if (net_grow((void **)&g->weights, &g->cap_weights, g->nweights, sizeof *g->weights))
        return -1;
    net_weight *w = &g->weights[g->nweights];
    memset(w, 0, sizeof *w);
    w->name = strdup(name);
    if (!w->name)
        return -1;
    w->rank = rank;
    for (int i = 0; i < rank; i++)
        w->dims[i] = dims[i];
    w->data = data;
    w->owned = owned;
    if (base_nameidx_add(&g->windex, w->name, g->nweights) != -1) { /* absent: only OOM */
        free(w->name);
        return -1;
    }
    return g->nweights++;
}

int net_graph_add_node(net_graph *g, net_op op, const char *name, int in0, int in1,
                       int out, const int w[4])
{
    if (net_grow((void **)&g->nodes, &g->cap_nodes, g->nnodes, sizeof *g->nodes))
        return -1;
    net_node *n = &g->nodes[g->nnodes];
    memset(n, 0, sizeof *n);
    n->name = strdup(name ? name : "");
    if (!n->name)
        return -1;
    n->op = op;
    n->in[0] = in0;
    n->in[1] = in1;
    n->out = out;
    for (int i = 0; i < 4; i++)
        n->w[i] = w ? w[i] : -1;
    n->conv.groups = 1;
    n->conv.sh = n->conv.sw = n->conv.dh = n->conv.dw = 1;
    n->eps = 1e-5f;
    n->lo = -INFINITY;
    n->hi = INFINITY;
    return g->nnodes++;
}

int net_graph_find_tap(const net_graph *g, const char *name)
{
    for (int i = 0; i < g->ntaps; i++)
        if (strcmp(g->taps[i].name, name) == 0)
            return g->taps[i].tensor;
    return -1;
}

mint_status net_graph_add_tap(net_graph *g, const char *name, int tensor)
{
    if (tensor < 0 || tensor >= g->ntensors)
        return mint_fail(MINT_E_ARG, "tap '%s': no such tensor", name);
    for (int i = 0; i < g->ntaps; i++)
        if (strcmp(g->taps[i].name, name) == 0) {
            g->taps[i].tensor = tensor;
            return MINT_OK;
        }
    if (net_grow((void **)&g->taps, &g->cap_taps, g->ntaps, sizeof *g->taps))
        return mint_fail(MINT_E_NOMEM, "out of memory adding tap");
    g->taps[g->ntaps].name = strdup(name);
    if (!g->taps[g->ntaps].name)
        return mint_fail(MINT_E_NOMEM, "out of memory adding tap");
    g->taps[g->ntaps].tensor = tensor;
    g->ntaps++;
    return MINT_OK;
}

mint_status net_graph_toposort(net_graph *g)
{
    int nt = g->ntensors, nn = g->nnodes;
    if (g->input < 0 || g->input >= nt || g->output < 0 || g->output >= nt)
        return mint_fail(MINT_E_FORMAT, "graph has no valid input/output tensor");
    int *producer = malloc(sizeof(int) * (size_t)(nt ? nt : 1));
    char *ready = calloc((size_t)(nt ? nt : 1), 1);
    char *done = calloc((size_t)(nn ? nn : 1), 1);
    net_node *sorted = malloc(sizeof *sorted * (size_t)(nn ? nn : 1));
    mint_status st = MINT_OK;
    if (!producer || !ready || !done || !sorted) {
        st = mint_fail(MINT_E_NOMEM, "out of memory sorting graph");
        goto out;
    }
    for (int t = 0; t < nt; t++)
        producer[t] = -1;
    for (int i = 0; i < nn; i++) {
        const net_node *n = &g->nodes[i];
        if (n->out < 0 || n->out >= nt || n->in[0] < 0 || n->in[0] >= nt ||
            n->in[1] < -1 || n->in[1] >= nt) {
            st = mint_fail(MINT_E_FORMAT, "node '%s': tensor index out of range", n->name);
            goto out;
        }
        for (int k = 0; k < 4; k++)
            if (n->w[k] < -1 || n->w[k] >= g->nweights) {
                st = mint_fail(MINT_E_FORMAT, "node '%s': weight index out of range", n->name);
                goto out;
            }
        if (n->out == g->input || producer[n->out] >= 0) {
            st = mint_fail(MINT_E_FORMAT, "tensor '%s' is produced more than once",
                           g->tensors[n->out].name);
            goto out;
        }
        producer[n->out] = i;
    }
    ready[g->input] = 1;
    int count = 0;
    for (int progress = 1; progress && count < nn;) {
        progress = 0;
        for (int i = 0; i < nn; i++) {
            const net_node *n = &g->nodes[i];
            if (done[i] || !ready[n->in[0]] || (n->in[1] >= 0 && !ready[n->in[1]]))
                continue;
            sorted[count++] = *n;
            done[i] = 1;
            ready[n->out] = 1;
            progress = 1;
        }
    }
    if (count < nn) {
        for (int i = 0; i < nn; i++)
            if (!done[i]) {
                const net_node *n = &g->nodes[i];
                int miss = !ready[n->in[0]] ? n->in[0] : n->in[1];
                st = mint_fail(MINT_E_FORMAT,
                               "node '%s' (%s): input '%s' is never computed (cycle or missing producer)",
                               n->name, net_op_name(n->op), g->tensors[miss].name);
                goto out;
            }
    }
    if (!ready[g->output]) {
        st = mint_fail(MINT_E_FORMAT, "graph output '%s' is never computed",
                       g->tensors[g->output].name);
        goto out;
    }
    memcpy(g->nodes, sorted, sizeof *sorted * (size_t)nn);
out:
    free(producer);
    free(ready);
    free(done);
    free(sorted);
    return st;
}

static mint_status check_weight(const net_graph *g, const net_node *n, int slot,
                                int64_t numel, const char *what)
{
    int w = n->w[slot];
    if (w < 0)
        return mint_fail(MINT_E_FORMAT, "node '%s' (%s): missing %s", n->name,
                         net_op_name(n->op), what);
    int64_t have = net_weight_numel(&g->weights[w]);
    if (numel >= 0 && have != numel)
        return mint_fail(MINT_E_SHAPE, "node '%s' (%s): %s '%s' has %lld values, expected %lld",
                         n->name, net_op_name(n->op), what, g->weights[w].name,
                         (long long)have, (long long)numel);
    return MINT_OK;
}

/* Per-channel or scalar parameter: 1 or C values. */
static mint_status check_bcast(const net_graph *g, const net_node *n, int slot, int64_t c,
                               const char *what)
{
    if (n->w[slot] < 0)
        return MINT_OK;
    int64_t have = net_weight_numel(&g->weights[n->w[slot]]);
    if (have != 1 && have != c)
        return mint_fail(MINT_E_SHAPE, "node '%s' (%s): %s has %lld values for %lld channels",
                         n->name, net_op_name(n->op), what, (long long)have, (long long)c);
    return MINT_OK;
}

static int64_t conv_out(int64_t in, int k, int s, int p0, int p1, int d)
{
    if (k < 1 || s < 1 || d < 1 || p0 < 0 || p1 < 0)
        return -1;
    int64_t span = (int64_t)d * (k - 1) + 1;
    int64_t padded = in + p0 + p1;
    if (padded < span)
        return -1;
    return (padded - span) / s + 1;
}

mint_status net_graph_infer_shapes(net_graph *g)
{
    mint_status st;
    const net_meta *m = &g->meta;
    if (m->in_c <= 0 || m->in_h <= 0 || m->in_w <= 0 || m->in_c > 65536 ||
        m->in_h > 65536 || m->in_w > 65536)
        return mint_fail(MINT_E_FORMAT, "invalid input shape %dx%dx%d", m->in_c, m->in_h, m->in_w);
    for (int t = 0; t < g->ntensors; t++)
        g->tensors[t].rank = 0;
    net_tensor *in = &g->tensors[g->input];
    in->rank = 3;
    in->shape[0] = m->in_c;
    in->shape[1] = m->in_h;
    in->shape[2] = m->in_w;
    for (int i = 0; i < g->nnodes; i++) {
        net_node *n = &g->nodes[i];
        const net_tensor *x = &g->tensors[n->in[0]];
        net_tensor *y = &g->tensors[n->out];
        if (x->rank == 0)
            return mint_fail(MINT_E_FORMAT, "node '%s': input '%s' has no shape (graph not sorted?)",
                             n->name, x->name);
        int64_t c = x->shape[0];
        *y = (net_tensor){ .name = y->name, .rank = x->rank,
                           .shape = { x->shape[0], x->shape[1], x->shape[2] } };
        switch (n->op) {
        case NET_OP_CONV: {
            const net_conv_attr *a = &n->conv;
            if (x->rank != 3)
                return mint_fail(MINT_E_SHAPE, "node '%s' (conv): input must be 4-D", n->name);
            if (n->w[0] < 0)
                return mint_fail(MINT_E_FORMAT, "node '%s' (conv): missing weight", n->name);
            const net_weight *w = &g->weights[n->w[0]];
            if (a->groups < 1 || c % a->groups != 0 || w->rank != 4 || w->dims[0] % a->groups != 0 ||
                w->dims[1] != c / a->groups || w->dims[2] != a->kh || w->dims[3] != a->kw)
                return mint_fail(MINT_E_SHAPE,
                                 "node '%s' (conv): weight '%s' shape does not fit input with %lld channels, group %d, kernel %dx%d",
                                 n->name, w->name, (long long)c, a->groups, a->kh, a->kw);
            if (n->w[1] >= 0 && (st = check_weight(g, n, 1, w->dims[0], "bias")))
                return st;
            int64_t oh = conv_out(x->shape[1], a->kh, a->sh, a->pt, a->pb, a->dh);
            int64_t ow = conv_out(x->shape[2], a->kw, a->sw, a->pl, a->pr, a->dw);
            if (oh <= 0 || ow <= 0)
                return mint_fail(MINT_E_SHAPE, "node '%s' (conv): geometry gives an empty output", n->name);
            y->shape[0] = w->dims[0];
            y->shape[1] = oh;
            y->shape[2] = ow;
            break;
        }
        case NET_OP_BN:
            for (int k = 0; k < 4; k++)
                if ((st = check_weight(g, n, k, c, "BN parameter")))
                    return st;
            if (!(n->eps >= 0))
                return mint_fail(MINT_E_FORMAT, "node '%s' (bn): bad epsilon", n->name);
            break;
        case NET_OP_PRELU:
            if ((st = check_weight(g, n, 0, -1, "slope")) || (st = check_bcast(g, n, 0, c, "slope")))
                return st;
            break;
        case NET_OP_RELU:
            break;
        case NET_OP_CLIP:
            if (isnan(n->lo) || isnan(n->hi) || n->lo > n->hi)
                return mint_fail(MINT_E_FORMAT, "node '%s' (clip): bad bounds", n->name);
            break;
        case NET_OP_ADD: {
            if (n->in[1] < 0)
                return mint_fail(MINT_E_FORMAT, "node '%s' (add): needs two inputs", n->name);
            const net_tensor *x1 = &g->tensors[n->in[1]];
            if (x1->rank != x->rank || memcmp(x1->shape, x->shape, sizeof x->shape[0] * (size_t)x->rank))
                return mint_fail(MINT_E_SHAPE, "node '%s' (add): inputs '%s' and '%s' differ in shape",
                                 n->name, x->name, x1->name);
            break;
        }
        case NET_OP_AFFINE:
            if ((st = check_bcast(g, n, 0, c, "scale")) || (st = check_bcast(g, n, 1, c, "shift")))
                return st;
            break;
        case NET_OP_FLATTEN:
            y->rank = 1;
            y->shape[0] = x->rank == 3 ? x->shape[0] * x->shape[1] * x->shape[2] : x->shape[0];
            y->shape[1] = y->shape[2] = 0;
            break;
        case NET_OP_FC: {
            if (x->rank != 1)
                return mint_fail(MINT_E_SHAPE, "node '%s' (fc): input must be 2-D [N, K]", n->name);
            if (n->w[0] < 0)
                return mint_fail(MINT_E_FORMAT, "node '%s' (fc): missing weight", n->name);
            const net_weight *w = &g->weights[n->w[0]];
            if (w->rank != 2 || w->dims[1] != c)
                return mint_fail(MINT_E_SHAPE, "node '%s' (fc): weight '%s' does not take %lld inputs",
                                 n->name, w->name, (long long)c);
            if (n->w[1] >= 0 && (st = check_weight(g, n, 1, w->dims[0], "bias")))
                return st;
            y->shape[0] = w->dims[0];
            break;
        }
        default:
            return mint_fail(MINT_E_FORMAT, "node '%s': unknown op %d", n->name, (int)n->op);
        }
        if (y->shape[0] <= 0)
            return mint_fail(MINT_E_SHAPE, "node '%s': empty output", n->name);
    }
    return MINT_OK;
}

mint_status net_graph_name_taps(net_graph *g)
{
    /* Last residual Add at each resolution, in order of appearance. */
    int last[8], res_h[8], nres = 0, ok = 1;
    for (int i = 0; i < g->nnodes; i++) {
        const net_node *n = &g->nodes[i];
        if (n->op != NET_OP_ADD || g->tensors[n->out].rank != 3)
            continue;
        int h = (int)g->tensors[n->out].shape[1];
        if (nres > 0 && res_h[nres - 1] == h) {
            last[nres - 1] = n->out;
        } else {
            for (int k = 0; k < nres; k++)
                if (res_h[k] == h)
                    ok = 0; /* resolution seen again: not a staged network */
            if (nres == 8) {
                ok = 0;
                break;
            }
            res_h[nres] = h;
            last[nres++] = n->out;
        }
    }
    mint_status st;
    if (ok && nres == 4) {
        for (int k = 0; k < 4; k++) {
            char name[16];
            snprintf(name, sizeof name, "layer%d", k + 1);
            if ((st = net_graph_add_tap(g, name, last[k])))
                return st;
        }
    }
    return net_graph_add_tap(g, "embedding", g->output);
}

int net_graph_stage_tensors(const net_graph *g, int *ids, int max)
{
    int *last_use = malloc(sizeof(int) * (size_t)(g->ntensors ? g->ntensors : 1));
    if (!last_use)
        return 0;
    for (int t = 0; t < g->ntensors; t++)
        last_use[t] = -1;
    for (int i = 0; i < g->nnodes; i++)
        for (int k = 0; k < 2; k++)
            if (g->nodes[i].in[k] >= 0 && g->nodes[i].in[k] < g->ntensors)
                last_use[g->nodes[i].in[k]] = i;
    enum { MAXRES = 32 };
    int64_t rh[MAXRES], rw[MAXRES];
    int last[MAXRES], last_add[MAXRES], nres = 0;
    int reach = last_use[g->input]; /* last reader of anything computed so far */
    for (int i = 0; i < g->nnodes; i++) {
        const net_node *n = &g->nodes[i];
        const net_tensor *t = &g->tensors[n->out];
        const int cut = reach <= i;
        if (last_use[n->out] > reach)
            reach = last_use[n->out];
        if (!cut || t->rank != 3 || t->shape[1] * t->shape[2] <= 1 ||
            (t->shape[1] == g->meta.in_h && t->shape[2] == g->meta.in_w))
            continue;
        int r = 0;
        while (r < nres && (rh[r] != t->shape[1] || rw[r] != t->shape[2]))
            r++;
        if (r == nres) {
            if (nres == MAXRES)
                continue;
            rh[r] = t->shape[1];
            rw[r] = t->shape[2];
            last_add[r] = -1;
            nres++;
        }
        last[r] = n->out;
        if (n->op == NET_OP_ADD)
            last_add[r] = n->out;
    }
    for (int r = 0; r < nres && r < max; r++)
        ids[r] = last_add[r] >= 0 ? last_add[r] : last[r];
    free(last_use);
    return nres;
}

/* The one node reading tensor t, or -1 (none, or several). */
static int sole_reader(const net_graph *g, int t)
{
    int r = -1;
    for (int i = 0; i < g->nnodes; i++)
        for (int k = 0; k < 2; k++)
            if (g->nodes[i].in[k] == t) {
                if (r >= 0)
                    return -1;
                r = i;
            }
    return r;
}

int net_graph_normalises_pixels(const net_graph *g, char *desc, size_t n)
{
    if (n)
        desc[0] = 0;
    const int c = g->meta.in_c;
    if (c < 1 || c > 3)
        return 0;
    double a[3] = { 1, 1, 1 }, b[3] = { 0, 0, 0 };
    int chain[4], len = 0;
    for (int t = g->input, i; len < 4 && (i = sole_reader(g, t)) >= 0; t = g->nodes[i].out) {
        const net_node *nd = &g->nodes[i];
        if (nd->op != NET_OP_AFFINE)
            break;
        for (int k = 0; k < 2; k++) { /* y = x*w0 + w1; each scalar or per channel */
            if (nd->w[k] < 0)
                continue;
            const net_weight *w = &g->weights[nd->w[k]];
            const int64_t m = net_weight_numel(w);
            if (m != 1 && m != c)
                return 0;
            for (int ch = 0; ch < c; ch++) {
                const double v = w->data[m == 1 ? 0 : ch];
                if (k == 0)
                    a[ch] *= v, b[ch] *= v;
                else
                    b[ch] += v;
            }
        }
        chain[len++] = i;
    }
    if (len == 0)
        return 0;
    for (int ch = 0; ch < c; ch++) {
        const double lo = fmin(b[ch], 255 * a[ch] + b[ch]), hi = fmax(b[ch], 255 * a[ch] + b[ch]);
        if (!(hi - lo >= 0.5 && hi - lo <= 8 && lo >= -8 && hi <= 8))
            return 0;
    }
    size_t w = 0;
    for (int k = 0; k < len && w < n; k++)
        w += (size_t)snprintf(desc + w, n - w, "%s%s", k ? ", " : "", g->nodes[chain[k]].name);
    for (int ch = 0; ch < c && w < n; ch++)
        if (ch == 0 || a[ch] != a[0] || b[ch] != b[0])
            w += (size_t)snprintf(desc + w, n - w, "%s x*%.7g %+.7g", ch ? ";" : ":", a[ch], b[ch]);
    return 1;
}

mint_status net_graph_set_stage_taps(net_graph *g, const char *const names[4])
{
    int id[4];
    for (int k = 0; k < 4; k++) {
        id[k] = net_graph_find_tensor(g, names[k]);
        if (id[k] < 0 || (id[k] != g->input && g->tensors[id[k]].rank == 0))
            return mint_fail(MINT_E_NOTFOUND, "stage tap %d: no node computes a tensor named "
                             "'%s' ('mint info --tensors' lists them)", k + 1, names[k]);
        for (int j = 0; j < k; j++)
            if (id[j] == id[k])
                return mint_fail(MINT_E_ARG, "stage taps %d and %d both name '%s'", j + 1, k + 1,
                                 names[k]);
    }
    for (int k = 0; k < 4; k++) {
        char name[16];
        snprintf(name, sizeof name, "layer%d", k + 1);
        mint_status st = net_graph_add_tap(g, name, id[k]);
        if (st)
            return st;
    }
    return MINT_OK;
}

void net_graph_prune_weights(net_graph *g)
{
    int *map = malloc(sizeof(int) * (size_t)(g->nweights ? g->nweights : 1));
    if (!map)
        return; /* pruning is an optimisation only */
    int nw = 0;
    for (int i = 0; i < g->nweights; i++) {
        int used = 0;
        for (int j = 0; j < g->nnodes && !used; j++)
            for (int k = 0; k < 4; k++)
                used |= g->nodes[j].w[k] == i;
        if (!used) {
            free(g->weights[i].name);
            if (g->weights[i].owned)
                free(g->weights[i].data);
            map[i] = -1;
            continue;
        }
        map[i] = nw;
        g->weights[nw++] = g->weights[i];
    }
    for (int j = 0; j < g->nnodes; j++)
        for (int k = 0; k < 4; k++)
            if (g->nodes[j].w[k] >= 0)
                g->nodes[j].w[k] = map[g->nodes[j].w[k]];
    g->nweights = nw;
    free(map);
    /* ids changed: rebuild the name index */
    base_nameidx_free(&g->windex);
    for (int i = 0; i < nw; i++)
        base_nameidx_add(&g->windex, g->weights[i].name, i);
}

mint_status net_graph_check_values(const net_graph *g)
{
    for (int i = 0; i < g->nnodes; i++) {
        const net_node *n = &g->nodes[i];
        for (int k = 0; k < 4; k++) {
            const int id = n->w[k];
            if (id < 0 || id >= g->nweights)
                continue;
            const net_weight *w = &g->weights[id];
            const int nonneg = n->op == NET_OP_BN && k == 3; /* running variance */
            const int64_t j = net_first_bad_value(w->data, (size_t)net_weight_numel(w), nonneg);
            if (j >= 0)
                return mint_fail(MINT_E_FORMAT, "weight '%s' (node '%s') element %lld is %g: %s",
                                 w->name, n->name ? n->name : "", (long long)j,
                                 (double)w->data[j],
                                 nonneg ? "variances must be finite and >= 0"
                                        : "weights must be finite");
        }
    }
    return MINT_OK;
}

int64_t net_first_bad_value(const float *x, size_t n, int nonneg)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]) || (nonneg && x[i] < 0.0f))
            return (int64_t)i;
    return -1;
}

/* Little-endian bytes of v into b[0..n). */
static void put_le(uint8_t *b, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

void net_graph_param_sha256(const net_graph *g, uint8_t out[32])
{
    base_sha256 s;
    base_sha256_init(&s);
    for (int i = 0; i < g->nweights; i++) {
        const net_weight *w = &g->weights[i];
        uint8_t b[8];
        base_sha256_update(&s, w->name, strlen(w->name) + 1); /* name and its 0 byte */
        put_le(b, (uint32_t)w->rank, 4);
        base_sha256_update(&s, b, 4);
        for (int d = 0; d < w->rank; d++) {
            put_le(b, (uint64_t)w->dims[d], 8);
            base_sha256_update(&s, b, 8);
        }
        const size_t n = (size_t)net_weight_numel(w);
        if (!w->data || n == 0)
            continue;
        if (base_host_is_le()) {
            base_sha256_update(&s, w->data, n * sizeof(float));
            continue;
        }
        uint8_t chunk[4096]; /* big-endian host: the bytes in little-endian order */
        for (size_t j = 0; j < n;) {
            size_t k = 0;
            for (; k < sizeof chunk / 4 && j < n; k++, j++) {
                uint32_t u;
                memcpy(&u, &w->data[j], 4);
                put_le(chunk + 4 * k, u, 4);
            }
            base_sha256_update(&s, chunk, 4 * k);
        }
    }
    base_sha256_final(&s, out);
}
