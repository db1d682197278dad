/* exec.c - plans and runs a net_graph on the kernels.
 *
 * Planning: each graph node becomes a step; a Conv/FC whose output feeds only
 * a BatchNormalization takes the BN into its packed weights (exact algebra:
 * BN(conv(x)) = s*conv(x) + t = conv_{W*s}(x) + (b*s + t), s = gamma /
 * sqrt(var + eps), t = beta - mean*s, per output channel; ONNX
 * BatchNormalization). Only Conv/FC -> BN pairs fold: a BN before a
 * zero-padded conv does not (border pixels would differ; STYLE.md). A
 * Conv/FC whose output feeds only an Add absorbs that Add as a residual, and
 * the activation after it, so they run in the GEMM epilogue (bias + residual
 * + act before the store). The graph itself is never rewritten, so every
 * tensor stays computable: tensors the caller wants to see are never folded
 * or fused away (re-plan, and re-pack the convs concerned, on demand).
 * Memory: tensor lifetimes over the step list; buffers ("slots") are reused
 * once a tensor is dead; element-wise steps run in place when their input
 * dies there. Rank-4 activations are NHWC. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "net/exec.h"

enum { ST_CONV, ST_AFFINE, ST_PRELU, ST_CLIP, ST_ADD, ST_FLATTEN };

typedef struct {
    int kind;
    int node;             /* node owning the weights */
    int in, in2;          /* in2: second Add operand or conv residual, -1 none */
    int out;
    int act;              /* conv epilogue activation */
    const float *slope;   /* conv epilogue / prelu slope */
    float lo, hi;
} step;

struct net_exec {
    const net_graph *g;
    const kern_isa *isa;
    int max_batch;
    kern_conv **conv;     /* per node (CONV and FC) */
    int *fold;            /* per node: BN node packed into conv[i], -1 none */
    float **pa, **pb;     /* per node: expanded per-channel params */
    /* plan */
    step *steps;
    int nsteps;
    char *keep;           /* per tensor: must be materialised */
    int64_t *off;         /* per tensor: arena offset in floats, -1 none */
    float *arena;
    size_t arena_floats;
    int planned;          /* steps/offsets valid (0 after a failed plan) */
};

int64_t net_tensor_numel(const net_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++)
        n *= t->shape[i];
    return n;
}

const kern_isa *net_exec_isa(const net_exec *e) { return e->isa; }
size_t net_exec_arena_bytes(const net_exec *e) { return e->arena_floats * sizeof(float); }

/* Per-channel copy of a scalar-or-[C] parameter; fill if w < 0. */
static float *expand(const net_graph *g, int w, int64_t c, float fill)
{
    float *p = malloc(sizeof(float) * (size_t)c);
    if (!p)
        return NULL;
    for (int64_t i = 0; i < c; i++)
        p[i] = fill;
    if (w >= 0) {
        const net_weight *x = &g->weights[w];
        int64_t n = net_weight_numel(x);
        for (int64_t i = 0; i < c; i++)
            p[i] = x->data[n == 1 ? 0 : i];
    }
    return p;
}

static mint_status prepare_node(net_exec *e, int i)
{
    const net_graph *g = e->g;
    const net_node *n = &g->nodes[i];
    int64_t c = g->tensors[n->in[0]].shape[0];
    switch (n->op) {
    case NET_OP_BN: {
        e->pa[i] = malloc(sizeof(float) * (size_t)c);
        e->pb[i] = malloc(sizeof(float) * (size_t)c);
        if (!e->pa[i] || !e->pb[i])
            return mint_fail(MINT_E_NOMEM, "out of memory");
        const float *gm = g->weights[n->w[0]].data, *bt = g->weights[n->w[1]].data;
        const float *mu = g->weights[n->w[2]].data, *var = g->weights[n->w[3]].data;
        /* ONNX BatchNormalization: (x - mean) / sqrt(var + eps) * scale + B */
        for (int64_t k = 0; k < c; k++) {
            float s = gm[k] / sqrtf(var[k] + n->eps);
            e->pa[i][k] = s;
            e->pb[i][k] = bt[k] - mu[k] * s;
        }
        return MINT_OK;
    }
    case NET_OP_AFFINE:
        e->pa[i] = expand(g, n->w[0], c, 1.0f);
        e->pb[i] = expand(g, n->w[1], c, 0.0f);
        return e->pa[i] && e->pb[i] ? MINT_OK : mint_fail(MINT_E_NOMEM, "out of memory");
    case NET_OP_PRELU:
        e->pa[i] = expand(g, n->w[0], c, 0.0f);
        return e->pa[i] ? MINT_OK : mint_fail(MINT_E_NOMEM, "out of memory");
    default:
        return MINT_OK; /* CONV and FC are packed by plan() */
    }
}

/* Pack conv/FC node i for the executor's ISA, with BN node bn folded into
 * its weights and bias (bn < 0: as stored). The fold is the one of
 * STYLE.md / the ONNX BatchNormalization definition, in float. */
static mint_status pack_conv(net_exec *e, int i, int bn)
{
    const net_graph *g = e->g;
    const net_node *n = &g->nodes[i];
    const net_weight *W = &g->weights[n->w[0]];
    const float *wd = W->data, *bias = n->w[1] >= 0 ? g->weights[n->w[1]].data : NULL;
    int64_t cin = g->tensors[n->in[0]].shape[0], cout = W->dims[0];
    int64_t per = net_weight_numel(W) / cout;
    float *fw = NULL, *fb = NULL;
    kern_conv_destroy(e->conv[i]);
    e->conv[i] = NULL;
    e->fold[i] = -1;
    if (bn >= 0) {
        const net_node *b = &g->nodes[bn];
        const float *gamma = g->weights[b->w[0]].data, *beta = g->weights[b->w[1]].data;
        const float *mean = g->weights[b->w[2]].data, *var = g->weights[b->w[3]].data;
        fw = malloc(sizeof(float) * (size_t)(cout * per));
        fb = malloc(sizeof(float) * (size_t)cout);
        if (!fw || !fb) {
            free(fw);
            free(fb);
            return mint_fail(MINT_E_NOMEM, "out of memory folding '%s' into '%s'", b->name,
                             n->name);
        }
        for (int64_t o = 0; o < cout; o++) {
            float s = gamma[o] / sqrtf(var[o] + b->eps);
            for (int64_t k = 0; k < per; k++)
                fw[o * per + k] = wd[o * per + k] * s;
            fb[o] = (bias ? bias[o] : 0.0f) * s + (beta[o] - mean[o] * s);
        }
        wd = fw;
        bias = fb;
    }
    mint_status st;
    if (n->op == NET_OP_CONV) {
        const net_conv_attr *a = &n->conv;
        kern_conv_geom geom = { a->kh, a->kw, a->sh, a->sw, a->pt, a->pl, a->pb, a->pr,
                                a->dh, a->dw, a->groups };
        st = kern_conv_create(&e->conv[i], e->isa, (int)cout, (int)cin, &geom, wd, bias);
    } else {
        kern_conv_geom geom = { 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1 };
        st = kern_conv_create(&e->conv[i], e->isa, (int)cout, (int)cin, &geom, wd, bias);
    }
    free(fw);
    free(fb);
    if (!st)
        e->fold[i] = bn;
    return st;
}

/* Number of consumers of tensor t among nodes. */
static int n_consumers(const net_graph *g, int t, int *only)
{
    int c = 0;
    for (int i = 0; i < g->nnodes; i++)
        for (int k = 0; k < 2; k++)
            if (g->nodes[i].in[k] == t) {
                c++;
                *only = i;
            }
    return c;
}

static int is_act(const net_node *n)
{
    return n->op == NET_OP_RELU || n->op == NET_OP_PRELU || n->op == NET_OP_CLIP;
}

/* The BN node conv/FC node i can fold, -1 if none: the conv output feeds
 * only that BN and nobody asked to see it. */
static int bn_to_fold(const net_exec *e, int i)
{
    const net_graph *g = e->g;
    const net_node *n = &g->nodes[i];
    int c = -1;
    if ((n->op != NET_OP_CONV && n->op != NET_OP_FC) || e->keep[n->out] ||
        n_consumers(g, n->out, &c) != 1 || g->nodes[c].op != NET_OP_BN)
        return -1;
    return c;
}

/* Fold the activation node a into step s's epilogue. */
static void take_act(net_exec *e, step *s, int a)
{
    const net_node *n = &e->g->nodes[a];
    s->act = n->op == NET_OP_RELU ? KERN_ACT_RELU : n->op == NET_OP_PRELU ? KERN_ACT_PRELU : KERN_ACT_CLIP;
    s->slope = e->pa[a];
    s->lo = n->lo;
    s->hi = n->hi;
    s->out = n->out;
}

/* (Re)pack the convs whose BN fold changes (all of them the first time). */
static mint_status repack_convs(net_exec *e)
{
    const net_graph *g = e->g;
    for (int i = 0; i < g->nnodes; i++) {
        const net_node *n = &g->nodes[i];
        if (n->op != NET_OP_CONV && n->op != NET_OP_FC)
            continue;
        int bn = bn_to_fold(e, i);
        if (!e->conv[i] || bn != e->fold[i]) {
            mint_status st = pack_conv(e, i, bn);
            if (st)
                return st;
        }
    }
    return MINT_OK;
}

/* The step of conv/FC node i, with what it absorbs: its folded BN, then a
 * residual Add (*defer_to: the step runs at the Add's position) or an
 * activation, and an activation after the Add. */
static void plan_conv(net_exec *e, int i, step *s, char *absorbed, int *defer_to)
{
    const net_graph *g = e->g;
    s->kind = ST_CONV;
    s->in2 = -1;
    if (e->fold[i] >= 0) {
        s->out = g->nodes[e->fold[i]].out;
        absorbed[e->fold[i]] = 1;
    }
    int c1 = -1;
    if (!e->keep[s->out] && n_consumers(g, s->out, &c1) == 1) {
        const net_node *m = &g->nodes[c1];
        if (m->op == NET_OP_ADD && m->in[0] != m->in[1] && !absorbed[c1]) {
            /* residual: the other operand must exist when this step
             * runs at the Add's position, which it does (topo order) */
            s->in2 = m->in[0] == s->out ? m->in[1] : m->in[0];
            s->out = m->out;
            absorbed[c1] = 1;
            *defer_to = c1;
        } else if (is_act(m) && !absorbed[c1]) {
            take_act(e, s, c1);
            absorbed[c1] = 1;
        }
    }
    if (s->in2 >= 0 && !e->keep[s->out] && n_consumers(g, s->out, &c1) == 1 &&
        is_act(&g->nodes[c1])) {
        take_act(e, s, c1);
        absorbed[c1] = 1;
    }
}

/* The step list, with fusion (absorbed: per node, 1 fused into an earlier
 * step, 2 a deferred conv+add step runs in its place). */
static mint_status plan_steps(net_exec *e, char *absorbed, step *deferred)
{
    const net_graph *g = e->g;
    e->nsteps = 0;
    for (int i = 0; i < g->nnodes; i++) {
        if (absorbed[i]) {
            /* a conv+add step runs where the Add was: both operands exist */
            if (absorbed[i] == 2)
                e->steps[e->nsteps++] = deferred[i];
            continue;
        }
        const net_node *n = &g->nodes[i];
        int defer_to = -1;
        step s = { .node = i, .in = n->in[0], .in2 = n->in[1], .out = n->out,
                   .act = KERN_ACT_NONE, .lo = n->lo, .hi = n->hi };
        switch (n->op) {
        case NET_OP_CONV:
        case NET_OP_FC: plan_conv(e, i, &s, absorbed, &defer_to); break;
        case NET_OP_BN:
        case NET_OP_AFFINE: s.kind = ST_AFFINE; break;
        case NET_OP_PRELU: s.kind = ST_PRELU; s.slope = e->pa[i]; break;
        case NET_OP_RELU: s.kind = ST_CLIP; s.lo = 0.0f; s.hi = INFINITY; break;
        case NET_OP_CLIP: s.kind = ST_CLIP; break;
        case NET_OP_ADD: s.kind = ST_ADD; break;
        case NET_OP_FLATTEN: s.kind = ST_FLATTEN; break;
        default:
            return mint_fail(MINT_E_UNSUPPORTED, "node '%s': op %s cannot run", n->name,
                             net_op_name(n->op));
        }
        if (defer_to >= 0) {
            deferred[defer_to] = s;
            absorbed[defer_to] = 2;
        }
        else
            e->steps[e->nsteps++] = s;
    }
    return MINT_OK;
}

/* Arena slots: each step's output reuses a slot whose tensor is dead (in
 * place for element-wise steps whose input dies there). first/last: the
 * lifetimes (producing and last reading step) of every tensor. Returns
 * the number of slots. */
static int assign_slots(const net_exec *e, int *first, int *last, int64_t *slot_size,
                        int *slot_of, int *slot_free_at)
{
    const net_graph *g = e->g;
    for (int t = 0; t < g->ntensors; t++) {
        first[t] = last[t] = -1;
        slot_of[t] = -1;
    }
    first[g->input] = -1;
    last[g->input] = 0;
    for (int k = 0; k < e->nsteps; k++) {
        const step *s = &e->steps[k];
        first[s->out] = k;
        last[s->out] = k;
        last[s->in] = k;
        if (s->in2 >= 0)
            last[s->in2] = k;
    }
    last[g->output] = e->nsteps; /* read after the last step */
    int nslots = 0;
    int64_t mb = e->max_batch;
    /* the input occupies a slot from the start */
    slot_size[0] = net_tensor_numel(&g->tensors[g->input]) * mb;
    slot_of[g->input] = 0;
    slot_free_at[0] = last[g->input];
    nslots = 1;
    for (int k = 0; k < e->nsteps; k++) {
        const step *s = &e->steps[k];
        int64_t need = net_tensor_numel(&g->tensors[s->out]) * mb;
        int pick = -1;
        /* in place for element-wise steps whose input dies here */
        if (s->kind != ST_CONV && s->kind != ST_FLATTEN && last[s->in] == k &&
            s->in != g->input && slot_size[slot_of[s->in]] >= need)
            pick = slot_of[s->in];
        for (int q = 0; q < nslots && pick < 0; q++)
            if (slot_free_at[q] < k && slot_size[q] >= need)
                pick = q;
        for (int q = 0; q < nslots && pick < 0; q++)
            if (slot_free_at[q] < k)
                pick = q;
        if (pick < 0)
            pick = nslots++;
        if (slot_size[pick] < need)
            slot_size[pick] = need;
        slot_of[s->out] = pick;
        slot_free_at[pick] = last[s->out];
    }
    return nslots;
}

/* Arena offsets of every tensor (e->off) and the arena's size in floats. */
static mint_status assign_offsets(net_exec *e, int64_t *total_out)
{
    const net_graph *g = e->g;
    const int nt = g->ntensors;
    /* Lifetimes: first (producing) step and last reading step. */
    int *first = malloc(sizeof(int) * (size_t)nt), *last = malloc(sizeof(int) * (size_t)nt);
    int64_t *slot_size = calloc((size_t)nt + 1, sizeof(int64_t));
    int *slot_of = malloc(sizeof(int) * (size_t)nt);
    int *slot_free_at = malloc(sizeof(int) * (size_t)(nt + 1));
    int64_t *slot_off = NULL;
    mint_status st = MINT_OK;
    int nslots = 0;
    if (first && last && slot_size && slot_of && slot_free_at) {
        nslots = assign_slots(e, first, last, slot_size, slot_of, slot_free_at);
        /* offsets: slots laid out back to back, 16-float aligned */
        slot_off = malloc(sizeof(int64_t) * (size_t)(nslots + 1));
    }
    if (!slot_off)
        st = mint_fail(MINT_E_NOMEM, "out of memory planning");
    int64_t total = 0;
    for (int q = 0; !st && q < nslots; q++) {
        slot_off[q] = total;
        total += (slot_size[q] + 15) / 16 * 16;
    }
    for (int t = 0; !st && t < nt; t++)
        e->off[t] = slot_of[t] >= 0 ? slot_off[slot_of[t]] : -1;
    if (!st && getenv("MINT_DEBUG_PLAN"))
        for (int k = 0; k < e->nsteps; k++) {
            const step *s = &e->steps[k];
            fprintf(stderr, "step %3d %-8s %-40s in %d@%lld in2 %d@%lld out %d@%lld act %d\n", k,
                    net_op_name(g->nodes[s->node].op), g->nodes[s->node].name, s->in,
                    (long long)e->off[s->in], s->in2, s->in2 >= 0 ? (long long)e->off[s->in2] : -1LL,
                    s->out, (long long)e->off[s->out], s->act);
        }
    free(first); free(last); free(slot_size); free(slot_of); free(slot_free_at); free(slot_off);
    *total_out = total;
    return st;
}

/* Build the step list with fusion, then assign arena offsets. */
static mint_status plan(net_exec *e)
{
    const int nn = e->g->nnodes;
    e->planned = 0;
    mint_status st = repack_convs(e);
    if (st)
        return st;
    free(e->steps);
    e->steps = calloc((size_t)(nn ? nn : 1), sizeof *e->steps);
    char *absorbed = calloc((size_t)(nn ? nn : 1), 1);
    step *deferred = calloc((size_t)(nn ? nn : 1), sizeof *deferred);
    if (!e->steps || !absorbed || !deferred)
        st = mint_fail(MINT_E_NOMEM, "out of memory planning");
    if (!st)
        st = plan_steps(e, absorbed, deferred);
    free(absorbed);
    free(deferred);
    int64_t total = 0;
    if (!st)
        st = assign_offsets(e, &total);
    if (st)
        return st;
    if ((size_t)total > e->arena_floats) {
        free(e->arena);
        e->arena = aligned_alloc(64, (size_t)total * sizeof(float));
        if (!e->arena) {
            e->arena_floats = 0;
            return mint_fail(MINT_E_NOMEM, "cannot allocate %lld MB of activations",
                             (long long)(total * 4 >> 20));
        }
        e->arena_floats = (size_t)total;
    }
    e->planned = 1;
    return MINT_OK;
}

mint_status net_exec_create(net_exec **out, const net_graph *g, const kern_isa *isa, int max_batch)
{
    *out = NULL;
    if (max_batch < 1 || g->ntensors < 1)
        return mint_fail(MINT_E_ARG, "bad executor arguments");
    net_exec *e = calloc(1, sizeof *e);
    if (!e)
        return mint_fail(MINT_E_NOMEM, "out of memory");
    e->g = g;
    e->isa = isa;
    e->max_batch = max_batch;
    size_t nn = (size_t)(g->nnodes ? g->nnodes : 1);
    e->conv = calloc(nn, sizeof *e->conv);
    e->fold = malloc(nn * sizeof *e->fold);
    e->pa = calloc(nn, sizeof *e->pa);
    e->pb = calloc(nn, sizeof *e->pb);
    e->keep = calloc((size_t)g->ntensors, 1);
    e->off = calloc((size_t)g->ntensors, sizeof *e->off);
    mint_status st = MINT_OK;
    if (!e->conv || !e->fold || !e->pa || !e->pb || !e->keep || !e->off)
        st = mint_fail(MINT_E_NOMEM, "out of memory");
    for (size_t i = 0; !st && i < nn; i++)
        e->fold[i] = -1;
    for (int i = 0; !st && i < g->nnodes; i++)
        st = prepare_node(e, i);
    if (!st) {
        e->keep[g->output] = 1;
        e->keep[g->input] = 1;
        st = plan(e);
    }
    if (st) {
        net_exec_free(e);
        return st;
    }
    *out = e;
    return MINT_OK;
}

void net_exec_free(net_exec *e)
{
    if (!e)
        return;
    for (int i = 0; i < e->g->nnodes; i++) {
        if (e->conv)
            kern_conv_destroy(e->conv[i]);
        if (e->pa)
            free(e->pa[i]);
        if (e->pb)
            free(e->pb[i]);
    }
    free(e->conv);
    free(e->fold);
    free(e->pa);
    free(e->pb);
    free(e->steps);
    free(e->keep);
    free(e->off);
    free(e->arena);
    free(e);
}

/* NCHW [n][c][hw] <-> NHWC [n][hw][c] */
static void nchw_to_nhwc(const float *x, float *y, int64_t n, int64_t c, int64_t hw)
{
#pragma omp parallel for collapse(2) if (n * c * hw > 65536)
    for (int64_t b = 0; b < n; b++)
        for (int64_t p = 0; p < hw; p++)
            for (int64_t k = 0; k < c; k++)
                y[(b * hw + p) * c + k] = x[(b * c + k) * hw + p];
}

static void nhwc_to_nchw(const float *x, float *y, int64_t n, int64_t c, int64_t hw)
{
#pragma omp parallel for collapse(2) if (n * c * hw > 65536)
    for (int64_t b = 0; b < n; b++)
        for (int64_t k = 0; k < c; k++)
            for (int64_t p = 0; p < hw; p++)
                y[(b * c + k) * hw + p] = x[(b * hw + p) * c + k];
}

/* Copy tensor t (batch n, in the arena) to dst in NCHW order. */
static void copy_out(const net_exec *e, int t, int n, float *dst)
{
    const net_tensor *x = &e->g->tensors[t];
    const float *src = e->arena + e->off[t];
    if (x->rank == 3)
        nhwc_to_nchw(src, dst, n, x->shape[0], x->shape[1] * x->shape[2]);
    else
        memcpy(dst, src, sizeof(float) * (size_t)(n * net_tensor_numel(x)));
}

static mint_status run_chunk(net_exec *e, const float *in, int n, int ntaps,
                             const int *tap_tensor, float *const *tap_out, int64_t done)
{
    const net_graph *g = e->g;
    const kern_isa *isa = e->isa;
    float *A = e->arena;
    const net_tensor *ti = &g->tensors[g->input];
    nchw_to_nhwc(in, A + e->off[g->input], n, ti->shape[0], ti->shape[1] * ti->shape[2]);
    for (int i = 0; i < ntaps; i++)
        if (tap_tensor[i] == g->input)
            memcpy(tap_out[i] + done * net_tensor_numel(ti), in,
                   sizeof(float) * (size_t)(n * net_tensor_numel(ti)));
    for (int k = 0; k < e->nsteps; k++) {
        const step *s = &e->steps[k];
        const net_node *nd = &g->nodes[s->node];
        const net_tensor *x = &g->tensors[s->in];
        const net_tensor *y = &g->tensors[s->out];
        const float *xp = A + e->off[s->in];
        float *yp = A + e->off[s->out];
        int64_t c = x->shape[0];
        int64_t rows = n * (net_tensor_numel(x) / c);
        mint_status st = MINT_OK;
        switch (s->kind) {
        case ST_CONV: {
            int h = x->rank == 3 ? (int)x->shape[1] : 1, w = x->rank == 3 ? (int)x->shape[2] : 1;
            st = kern_conv_run(e->conv[s->node], xp, n, h, w, yp,
                               s->in2 >= 0 ? A + e->off[s->in2] : NULL, s->act, s->slope,
                               s->lo, s->hi);
            break;
        }
        case ST_AFFINE:
            kern_affine(isa, (size_t)rows, (size_t)c, xp, e->pa[s->node], e->pb[s->node], yp);
            break;
        case ST_PRELU:
            kern_prelu(isa, (size_t)rows, (size_t)c, xp, s->slope, yp);
            break;
        case ST_CLIP:
            kern_clip(isa, (size_t)(rows * c), xp, s->lo, s->hi, yp);
            break;
        case ST_ADD:
            kern_add(isa, (size_t)(rows * c), xp, A + e->off[s->in2], yp);
            break;
        case ST_FLATTEN:
            /* ONNX Flatten of NCHW keeps C,H,W order: transpose back */
            if (x->rank == 3)
                nhwc_to_nchw(xp, yp, n, c, x->shape[1] * x->shape[2]);
            else
                memmove(yp, xp, sizeof(float) * (size_t)(rows * c));
            break;
        }
        if (st) {
            char why[256];
            snprintf(why, sizeof why, "%s", mint_last_error());
            return mint_fail(st, "node '%s' (%s): %s", nd->name, net_op_name(nd->op), why);
        }
        for (int i = 0; i < ntaps; i++)
            if (tap_tensor[i] == s->out)
                copy_out(e, s->out, n, tap_out[i] + done * net_tensor_numel(y));
    }
    return MINT_OK;
}

mint_status net_exec_run(net_exec *e, const float *in, int n, int ntaps,
                         const int *tap_tensor, float *const *tap_out)
{
    const net_graph *g = e->g;
    if (n < 1 || !in || ntaps < 0)
        return mint_fail(MINT_E_ARG, "bad run arguments (n=%d)", n);
    int replan = 0;
    /* every tap checked before any is marked: a refused call must not leave
     * a tensor marked as kept without the re-plan that materialises it */
    for (int i = 0; i < ntaps; i++) {
        int t = tap_tensor[i];
        if (t < 0 || t >= g->ntensors || !tap_out[i])
            return mint_fail(MINT_E_ARG, "bad tap %d", i);
        if (g->tensors[t].rank == 0)
            return mint_fail(MINT_E_NOTFOUND, "tensor '%s' is not computed by this graph",
                             g->tensors[t].name);
    }
    for (int i = 0; i < ntaps; i++) {
        int t = tap_tensor[i];
        if (!e->keep[t]) {
            e->keep[t] = 1;
            replan = 1;
        }
    }
    if (replan && e->planned) {
        /* is every requested tensor already materialised by the plan? */
        int ok = 1;
        for (int i = 0; i < ntaps && ok; i++) {
            int found = tap_tensor[i] == g->input;
            for (int k = 0; k < e->nsteps && !found; k++)
                found = e->steps[k].out == tap_tensor[i];
            ok = found;
        }
        if (ok)
            replan = 0;
    }
    mint_status st;
    if ((replan || !e->planned) && (st = plan(e)))
        return st;
    int64_t done = 0;
    const net_tensor *ti = &g->tensors[g->input];
    while (done < n) {
        int chunk = n - done > e->max_batch ? e->max_batch : (int)(n - done);
        st = run_chunk(e, in + done * net_tensor_numel(ti), chunk, ntaps, tap_tensor, tap_out,
                       done);
        if (st)
            return st;
        done += chunk;
    }
    return MINT_OK;
}
