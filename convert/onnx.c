/* onnx.c - ONNX ModelProto -> net_graph (see onnx.h): the op lowering;
 * the protobuf decoding is onnx_decode.c (shared types: onnx_ir.h).
 *
 * Field numbers follow onnx/onnx.proto (ModelProto, GraphProto, NodeProto,
 * AttributeProto, TensorProto, ValueInfoProto, TypeProto, TensorShapeProto,
 * OperatorSetIdProto); op semantics follow the ONNX operator docs
 * (https://onnx.ai/onnx/operators/) for opsets 7..21.
 *
 * How it works:
 *  1. read the ModelProto: the default-domain opset and the GraphProto;
 *  2. read every NodeProto (names, inputs, outputs, attributes) and refuse
 *     unsupported ops and domains first, so the user sees the real blocker;
 *  3. read initializers and Constant nodes into a constant table, converting
 *     float / float16 data to fp32 straight into the buffer that the graph
 *     will own (one pass over raw_data, no intermediate copy);
 *  4. Identity / Dropout / Cast become aliases (their output names resolve
 *     to their input), then each remaining node maps onto one net op;
 *  5. net_graph_toposort / infer_shapes, broadcast checks that need shapes,
 *     name_taps, prune_weights. BatchNormalization stays a node: the
 *     executor folds it into the conv before it when that is exact, and the
 *     conv output stays tappable.
 *
 * Bounds: the protobuf reader checks every length against its buffer; the
 * importer only descends into the message types it knows (depth <= 6), caps
 * node/initializer counts, name lengths, ranks and element counts, and
 * checks every data length against the declared dims. */
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "base/nameidx.h"
#include "base/sha256.h"
#include "net/graph.h"
#include "convert/onnx.h"
#include "convert/onnx_ir.h"


/* Error about a node: "node 'NAME' (OP): ...". */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static mint_status nfail(const onode *n, mint_status st, const char *fmt, ...)
{
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return mint_fail(st, "node '%s' (%s): %s", n->name, n->op, msg);
}

/* Add c to the constant table under its name. */
static mint_status const_add(ictx *x, oconst *c, const char *what)
{
    if (base_nameidx_get(&x->cmap, c->name) >= 0 || base_nameidx_get(&x->amap, c->name) >= 0) {
        ox_const_free(c);
        return mint_fail(MINT_E_FORMAT, "%s '%s' is defined more than once", what, c->name);
    }
    if (net_grow((void **)&x->consts, &x->capconsts, x->nconsts, sizeof *x->consts) ||
        base_nameidx_put(&x->cmap, c->name, x->nconsts)) {
        ox_const_free(c);
        return ox_nomem();
    }
    x->consts[x->nconsts++] = *c;
    return MINT_OK;
}

static const oattr *find_attr(const onode *n, const char *name)
{
    for (int i = 0; i < n->nattrs; i++)
        if (strcmp(n->attrs[i].name, name) == 0)
            return &n->attrs[i];
    return NULL;
}

/* Refuse attributes the op does not know (or mint does not implement). */
static mint_status check_attrs(const onode *n, const char *const *allowed)
{
    for (int i = 0; i < n->nattrs; i++) {
        int ok = 0;
        for (int k = 0; allowed[k] && !ok; k++)
            ok = strcmp(n->attrs[i].name, allowed[k]) == 0;
        if (!ok)
            return nfail(n, MINT_E_UNSUPPORTED, "attribute '%s' is not supported", n->attrs[i].name);
    }
    return MINT_OK;
}

static mint_status attr_int(const onode *n, const char *name, int64_t def, int64_t *v)
{
    const oattr *a = find_attr(n, name);
    *v = def;
    if (!a)
        return MINT_OK;
    if (!(a->type == AT_INT || (a->type == AT_UNDEFINED && a->has_i)))
        return nfail(n, MINT_E_FORMAT, "attribute '%s' must be an INT", name);
    *v = a->i;
    return MINT_OK;
}

static mint_status attr_float(const onode *n, const char *name, float def, float *v)
{
    const oattr *a = find_attr(n, name);
    *v = def;
    if (!a)
        return MINT_OK;
    if (!(a->type == AT_FLOAT || (a->type == AT_UNDEFINED && a->has_f)))
        return nfail(n, MINT_E_FORMAT, "attribute '%s' must be a FLOAT", name);
    *v = a->f;
    return MINT_OK;
}

/* An INTS attribute with exactly cnt values, each in [lo, hi]. */
static mint_status attr_ints(const onode *n, const char *name, int cnt, int64_t lo, int64_t hi,
                             int64_t *v, int *present)
{
    const oattr *a = find_attr(n, name);
    *present = 0;
    if (!a)
        return MINT_OK;
    if (!(a->type == AT_INTS || (a->type == AT_UNDEFINED && a->nints)))
        return nfail(n, MINT_E_FORMAT, "attribute '%s' must be INTS", name);
    if (a->nints != cnt)
        return nfail(n, MINT_E_UNSUPPORTED, "attribute '%s' has %d values, expected %d (2-D only)",
                     name, a->nints, cnt);
    for (int i = 0; i < cnt; i++) {
        if (a->ints[i] < lo || a->ints[i] > hi)
            return nfail(n, MINT_E_UNSUPPORTED, "attribute '%s' value %lld is out of range [%lld, %lld]",
                         name, (long long)a->ints[i], (long long)lo, (long long)hi);
        v[i] = a->ints[i];
    }
    *present = 1;
    return MINT_OK;
}

/* ------------------------------------------------------------------ */
/* names, aliases, constants, weights                                  */

/* Follow Identity/Dropout/Cast aliases; NULL on a cycle. Every alias on the
 * walked chain is then pointed at the end (path compression), so a chain of
 * n aliases costs O(n) in all instead of O(n) per lookup. Aliases are added
 * in node order, and an end may become an alias later: compression only
 * shortcuts to names on the chain, so later walks go on from there. */
static const char *resolve(ictx *x, const char *name)
{
    const char *end = name;
    int steps = 0;
    for (int a; (a = base_nameidx_get(&x->amap, end)) >= 0; end = x->alias_to[a])
        if (steps++ > x->naliases)
            return NULL;
    for (int a; (a = base_nameidx_get(&x->amap, name)) >= 0 && x->alias_to[a] != end;) {
        name = x->alias_to[a];
        x->alias_to[a] = end;
    }
    return end;
}

static oconst *find_const(const ictx *x, const char *resolved)
{
    if (!resolved)
        return NULL;
    int i = base_nameidx_get(&x->cmap, resolved);
    return i >= 0 ? &x->consts[i] : NULL;
}

static int has_input(const onode *n, int k) { return k < n->nin && n->in[k][0]; }

/* Input k must be an activation; *t = its tensor id. */
static mint_status act_input(ictx *x, const onode *n, int k, int *t)
{
    if (!has_input(n, k))
        return nfail(n, MINT_E_FORMAT, "input %d is missing", k);
    const char *r = resolve(x, n->in[k]);
    if (!r)
        return nfail(n, MINT_E_FORMAT, "input %d ('%s') is defined through a cycle", k, n->in[k]);
    if (find_const(x, r))
        return nfail(n, MINT_E_UNSUPPORTED,
                     "input %d ('%s') is a constant; mint needs a computed tensor there", k, n->in[k]);
    if ((*t = net_graph_tensor(x->g, r)) < 0)
        return ox_nomem();
    return MINT_OK;
}

/* Input k must be a constant (initializer or Constant output). */
static mint_status const_input(ictx *x, const onode *n, int k, int want_float, oconst **c)
{
    if (!has_input(n, k))
        return nfail(n, MINT_E_FORMAT, "input %d is missing", k);
    *c = find_const(x, resolve(x, n->in[k]));
    if (!*c)
        return nfail(n, MINT_E_UNSUPPORTED,
                     "input %d ('%s') must be an initializer or Constant (mint does not compute weights at run time)",
                     k, n->in[k]);
    if (want_float && !(*c)->f)
        return nfail(n, MINT_E_UNSUPPORTED, "constant '%s' has type %s, expected FLOAT or FLOAT16",
                     (*c)->name, ox_dtype_name((*c)->dtype));
    return MINT_OK;
}

/* Add a weight under a unique name; data (malloc'd) is owned by the graph
 * on success and freed on failure. */
static mint_status w_add(ictx *x, const char *base, int rank, const int64_t *dims, float *data,
                         int *wid)
{
    char name[OX_MAX_NAME + 32];
    snprintf(name, sizeof name, "%s", base);
    for (int k = 1; net_graph_find_weight(x->g, name) >= 0; k++)
        snprintf(name, sizeof name, "%s.%d", base, k);
    *wid = net_graph_add_weight(x->g, name, rank, dims, data, 1);
    if (*wid < 0) {
        free(data);
        return ox_nomem();
    }
    return MINT_OK;
}

/* Use constant c as a weight of the given shape (same element count). The
 * first use hands its fp32 buffer to the graph; a use with another shape
 * gets a copy. */
static mint_status w_direct(ictx *x, oconst *c, int rank, const int64_t *dims, int *wid)
{
    if (c->handed) {
        if (c->wrank == rank && memcmp(c->wdims, dims, sizeof *dims * (size_t)rank) == 0) {
            *wid = c->wid;
            return MINT_OK;
        }
        float *cp = malloc(sizeof(float) * (size_t)(c->numel ? c->numel : 1));
        if (!cp)
            return ox_nomem();
        memcpy(cp, c->f, sizeof(float) * (size_t)c->numel);
        return w_add(x, c->name, rank, dims, cp, wid);
    }
    mint_status st = w_add(x, c->name, rank, dims, c->f, wid);
    if (st) {
        c->f = NULL; /* freed by w_add */
        return st;
    }
    c->handed = 1;
    c->wid = *wid;
    c->wrank = rank;
    memcpy(c->wdims, dims, sizeof *dims * (size_t)rank);
    return MINT_OK;
}

/* A new weight of n values computed from c by fn. */
static mint_status w_derived(ictx *x, const char *base, const oconst *c, int64_t n,
                             float (*fn)(float), int *wid)
{
    float *d = malloc(sizeof(float) * (size_t)(n ? n : 1));
    if (!d)
        return ox_nomem();
    for (int64_t k = 0; k < n; k++)
        d[k] = fn(c->f[c->numel == 1 ? 0 : k]);
    return w_add(x, base, 1, &n, d, wid);
}

static float f_neg(float v) { return -v; }
static float f_copy(float v) { return v; }
/* Div by a constant becomes a multiply by its reciprocal: x * (1/c) can
 * differ from x / c in the last bit; accepted for speed and simplicity. */
static float f_recip(float v) { return 1.0f / v; }

/* Shape of a per-channel or scalar constant: *C values and the input rank
 * it requires (ONNX broadcasting aligns trailing axes, so [C] only means
 * "per channel" for [N,C] inputs and [C,1,1] only for [N,C,H,W]). */
static mint_status chan_const(const onode *n, const oconst *c, int64_t *C, int *need)
{
    *C = c->numel;
    *need = 0;
    if (c->numel == 1)
        return MINT_OK;
    const int64_t *d = c->dims;
    if (c->rank == 1 || (c->rank == 2 && d[0] == 1))
        *need = 1;
    else if ((c->rank == 3 && d[1] == 1 && d[2] == 1) ||
             (c->rank == 4 && d[0] == 1 && d[2] == 1 && d[3] == 1))
        *need = 3;
    if (!*need || c->numel == 0) {
        char ds[160];
        ox_dims_str(ds, sizeof ds, c->rank, c->dims);
        return nfail(n, MINT_E_UNSUPPORTED,
                     "constant '%s' of shape %s is neither a scalar nor per-channel ([C], [C,1,1], [1,C,1,1])",
                     c->name, ds);
    }
    return MINT_OK;
}

static mint_status add_check(ictx *x, const onode *n, int tensor, int need, int64_t flat,
                             const char *cname)
{
    if (!need && !flat)
        return MINT_OK;
    if (net_grow((void **)&x->checks, &x->capchecks, x->nchecks, sizeof *x->checks))
        return ox_nomem();
    x->checks[x->nchecks++] = (ocheck){ tensor, need, flat, n->name, n->op, cname };
    return MINT_OK;
}

static mint_status out_tensor(ictx *x, const onode *n, int *t)
{
    if (n->nout < 1 || !n->out[0][0])
        return nfail(n, MINT_E_FORMAT, "has no output");
    for (int k = 1; k < n->nout; k++)
        if (n->out[k][0])
            return nfail(n, MINT_E_UNSUPPORTED, "has %d outputs; mint supports one", n->nout);
    if ((*t = net_graph_tensor(x->g, n->out[0])) < 0)
        return ox_nomem();
    return MINT_OK;
}

static mint_status add_node(ictx *x, const onode *n, net_op op, int in0, int in1, int out,
                            const int w[4], net_node **nd)
{
    int i = net_graph_add_node(x->g, op, n->name, in0, in1, out, w);
    if (i < 0)
        return ox_nomem();
    if (nd)
        *nd = &x->g->nodes[i];
    return MINT_OK;
}

static const ouse *use_of(const ictx *x, const char *resolved)
{
    int u = base_nameidx_get(&x->umap, resolved);
    return u >= 0 ? &x->uses[u] : NULL;
}

/* ------------------------------------------------------------------ */
/* ops                                                                 */

static mint_status op_conv(ictx *x, onode *n)
{
    static const char *const allowed[] = { "kernel_shape", "strides", "pads", "dilations",
                                           "group", "auto_pad", NULL };
    mint_status st;
    int X, Y, present;
    oconst *W, *B = NULL;
    if ((st = check_attrs(n, allowed)))
        return st;
    if (n->nin < 2 || n->nin > 3)
        return nfail(n, MINT_E_FORMAT, "has %d inputs, expected 2 or 3", n->nin);
    if ((st = act_input(x, n, 0, &X)) || (st = const_input(x, n, 1, 1, &W)))
        return st;
    if (has_input(n, 2) && (st = const_input(x, n, 2, 1, &B)))
        return st;
    if (W->rank != 4)
        return nfail(n, MINT_E_UNSUPPORTED,
                     "weight '%s' has rank %d; only 2-D convolution (rank-4 weight) is supported",
                     W->name, W->rank);
    for (int i = 0; i < 4; i++)
        if (W->dims[i] < 1 || (i >= 2 && W->dims[i] > OX_MAX_DIM))
            return nfail(n, MINT_E_UNSUPPORTED, "weight '%s' has an invalid shape", W->name);
    if (B && B->numel != W->dims[0])
        return nfail(n, MINT_E_SHAPE, "bias '%s' has %lld values for %lld output channels",
                     B->name, (long long)B->numel, (long long)W->dims[0]);
    int64_t ks[2] = { W->dims[2], W->dims[3] }, s[2] = { 1, 1 }, d[2] = { 1, 1 };
    int64_t p[4] = { 0, 0, 0, 0 }, group;
    if ((st = attr_ints(n, "kernel_shape", 2, 1, OX_MAX_DIM, ks, &present)))
        return st;
    if (ks[0] != W->dims[2] || ks[1] != W->dims[3])
        return nfail(n, MINT_E_SHAPE, "kernel_shape %lldx%lld does not match weight '%s'",
                     (long long)ks[0], (long long)ks[1], W->name);
    if ((st = attr_ints(n, "strides", 2, 1, OX_MAX_DIM, s, &present)) ||
        (st = attr_ints(n, "dilations", 2, 1, OX_MAX_DIM, d, &present)) ||
        (st = attr_ints(n, "pads", 4, 0, OX_MAX_DIM, p, &present)) ||
        (st = attr_int(n, "group", 1, &group)))
        return st;
    if (group < 1 || group > OX_MAX_DIM || W->dims[0] % group)
        return nfail(n, MINT_E_UNSUPPORTED, "group %lld does not divide %lld output channels",
                     (long long)group, (long long)W->dims[0]);
    const oattr *ap = find_attr(n, "auto_pad");
    if (ap) {
        if (!ap->has_s && ap->type != AT_STRING)
            return nfail(n, MINT_E_FORMAT, "attribute 'auto_pad' must be a STRING");
        int zero = !p[0] && !p[1] && !p[2] && !p[3];
        if (!ox_span_eq(ap->s, "NOTSET") && !(ox_span_eq(ap->s, "VALID") && zero) && ap->s.n)
            return nfail(n, MINT_E_UNSUPPORTED,
                         "auto_pad '%.*s' is not supported (only NOTSET, or explicit pads)",
                         (int)(ap->s.n > 32 ? 32 : ap->s.n), (const char *)ap->s.p);
    }
    int w[4] = { -1, -1, -1, -1 };
    if ((st = w_direct(x, W, 4, W->dims, &w[0])))
        return st;
    if (B && (st = w_direct(x, B, 1, &B->numel, &w[1])))
        return st;
    if ((st = out_tensor(x, n, &Y)))
        return st;
    net_node *nd = NULL;
    if ((st = add_node(x, n, NET_OP_CONV, X, -1, Y, w, &nd)))
        return st;
    nd->conv = (net_conv_attr){ .kh = (int)ks[0], .kw = (int)ks[1], .sh = (int)s[0], .sw = (int)s[1],
                                .pt = (int)p[0], .pl = (int)p[1], .pb = (int)p[2], .pr = (int)p[3],
                                .dh = (int)d[0], .dw = (int)d[1], .groups = (int)group };
    return MINT_OK;
}

static mint_status op_bn(ictx *x, onode *n)
{
    static const char *const allowed[] = { "epsilon", "momentum", "training_mode", "spatial",
                                           "is_test", NULL };
    mint_status st;
    int X, Y, w[4];
    float eps;
    int64_t training, spatial;
    if ((st = check_attrs(n, allowed)) || (st = attr_float(n, "epsilon", 1e-5f, &eps)) ||
        (st = attr_int(n, "training_mode", 0, &training)) ||
        (st = attr_int(n, "spatial", 1, &spatial)))
        return st;
    if (training)
        return nfail(n, MINT_E_UNSUPPORTED, "training_mode=1 is not supported (inference only)");
    /* spatial=0 (opset < 9) normalises per (C,H,W) element; on a 2-D [N,C]
     * input that is the same as spatial=1 (checked once shapes are known) */
    if (spatial != 1 && spatial != 0)
        return nfail(n, MINT_E_FORMAT, "bad spatial=%lld", (long long)spatial);
    for (int k = 1; k < n->nout; k++)
        if (n->out[k][0])
            return nfail(n, MINT_E_UNSUPPORTED,
                         "training-mode outputs (running mean/var) are not supported");
    if (!(eps >= 0 && eps < 1))
        return nfail(n, MINT_E_FORMAT, "bad epsilon %g", (double)eps);
    if (n->nin != 5)
        return nfail(n, MINT_E_FORMAT, "has %d inputs, expected 5", n->nin);
    if ((st = act_input(x, n, 0, &X)))
        return st;
    int64_t C = -1;
    for (int k = 0; k < 4; k++) {
        oconst *c;
        if ((st = const_input(x, n, k + 1, 1, &c)))
            return st;
        if (c->rank != 1 || c->numel < 1 || (C >= 0 && c->numel != C))
            return nfail(n, MINT_E_SHAPE, "parameter '%s' must be [C] like the others", c->name);
        C = c->numel;
        if ((st = w_direct(x, c, 1, &C, &w[k])))
            return st;
    }
    net_node *nd = NULL;
    if ((st = out_tensor(x, n, &Y)) || (st = add_node(x, n, NET_OP_BN, X, -1, Y, w, &nd)))
        return st;
    nd->eps = eps;
    return spatial ? MINT_OK : add_check(x, n, X, -1, 0, NULL);
}

static mint_status op_prelu(ictx *x, onode *n)
{
    static const char *const none[] = { NULL };
    mint_status st;
    int X, Y, need, w[4] = { -1, -1, -1, -1 };
    int64_t C;
    oconst *s;
    if ((st = check_attrs(n, none)))
        return st;
    if (n->nin != 2)
        return nfail(n, MINT_E_FORMAT, "has %d inputs, expected 2", n->nin);
    if ((st = act_input(x, n, 0, &X)) || (st = const_input(x, n, 1, 1, &s)) ||
        (st = chan_const(n, s, &C, &need)) || (st = w_direct(x, s, 1, &C, &w[0])) ||
        (st = out_tensor(x, n, &Y)) || (st = add_node(x, n, NET_OP_PRELU, X, -1, Y, w, NULL)))
        return st;
    return add_check(x, n, X, need, 0, s->name);
}

static mint_status op_relu(ictx *x, onode *n)
{
    static const char *const none[] = { NULL };
    mint_status st;
    int X, Y;
    if ((st = check_attrs(n, none)))
        return st;
    if (n->nin != 1)
        return nfail(n, MINT_E_FORMAT, "has %d inputs, expected 1", n->nin);
    if ((st = act_input(x, n, 0, &X)) || (st = out_tensor(x, n, &Y)))
        return st;
    return add_node(x, n, NET_OP_RELU, X, -1, Y, NULL, NULL);
}

static mint_status op_clip(ictx *x, onode *n)
{
    mint_status st;
    int X, Y;
    float lo = -INFINITY, hi = INFINITY;
    if (x->opset < 11) { /* Clip-6: attributes */
        static const char *const allowed[] = { "min", "max", NULL };
        if ((st = check_attrs(n, allowed)) || (st = attr_float(n, "min", -INFINITY, &lo)) ||
            (st = attr_float(n, "max", INFINITY, &hi)))
            return st;
        if (n->nin != 1)
            return nfail(n, MINT_E_FORMAT, "has %d inputs, expected 1", n->nin);
    } else { /* Clip-11+: optional inputs min, max */
        static const char *const none[] = { NULL };
        if ((st = check_attrs(n, none)))
            return st;
        if (n->nin > 3)
            return nfail(n, MINT_E_FORMAT, "has %d inputs, expected at most 3", n->nin);
        for (int k = 1; k <= 2; k++) {
            oconst *c;
            if (!has_input(n, k))
                continue;
            if ((st = const_input(x, n, k, 1, &c)))
                return st;
            if (c->numel != 1)
                return nfail(n, MINT_E_UNSUPPORTED, "bound '%s' is not a scalar", c->name);
            *(k == 1 ? &lo : &hi) = c->f[0];
        }
    }
    if (isnan(lo) || isnan(hi) || lo > hi)
        return nfail(n, MINT_E_UNSUPPORTED, "bounds [%g, %g] are invalid", (double)lo, (double)hi);
    net_node *nd = NULL;
    if ((st = act_input(x, n, 0, &X)) || (st = out_tensor(x, n, &Y)) ||
        (st = add_node(x, n, NET_OP_CLIP, X, -1, Y, NULL, &nd)))
        return st;
    nd->lo = lo;
    nd->hi = hi;
    return MINT_OK;
}

/* Add/Sub/Mul/Div. Two activations: Add only. One constant: AFFINE
 * y = x*scale + shift (Add c: shift c; Sub c: shift -c; c - x: scale -1,
 * shift c; Mul c: scale c; Div c: scale 1/c). */
static mint_status op_arith(ictx *x, onode *n)
{
    static const char *const none[] = { NULL };
    mint_status st;
    int Y, w[4] = { -1, -1, -1, -1 };
    if ((st = check_attrs(n, none)))
        return st;
    if (n->nin != 2 || !has_input(n, 0) || !has_input(n, 1))
        return nfail(n, MINT_E_FORMAT, "needs 2 inputs");
    oconst *c0 = find_const(x, resolve(x, n->in[0])), *c1 = find_const(x, resolve(x, n->in[1]));
    char op = n->op[0]; /* A(dd), S(ub), M(ul), D(iv) */
    if (!c0 && !c1) {
        if (op != 'A')
            return nfail(n, MINT_E_UNSUPPORTED,
                         "%s of two computed tensors is not supported (only Add)", n->op);
        int a, b;
        if ((st = act_input(x, n, 0, &a)) || (st = act_input(x, n, 1, &b)) ||
            (st = out_tensor(x, n, &Y)))
            return st;
        return add_node(x, n, NET_OP_ADD, a, b, Y, NULL, NULL);
    }
    if (c0 && c1)
        return nfail(n, MINT_E_UNSUPPORTED, "both inputs are constants (constant folding is not supported)");
    int ai = c0 ? 1 : 0, X, need;
    oconst *c = c0 ? c0 : c1;
    int64_t C, one = 1;
    if ((st = act_input(x, n, ai, &X)))
        return st;
    if (!c->f)
        return nfail(n, MINT_E_UNSUPPORTED, "constant '%s' has type %s, expected FLOAT or FLOAT16",
                     c->name, ox_dtype_name(c->dtype));
    if ((st = chan_const(n, c, &C, &need)))
        return st;
    char base[OX_MAX_NAME + 16];
    switch (op) {
    case 'A':
        st = w_direct(x, c, 1, &C, &w[1]);
        break;
    case 'M':
        st = w_direct(x, c, 1, &C, &w[0]);
        break;
    case 'S':
        if (ai == 0) {
            snprintf(base, sizeof base, "%s.shift", n->name);
            st = w_derived(x, base, c, C, f_neg, &w[1]);
        } else { /* c - x */
            float *m1 = malloc(sizeof(float));
            if (!m1)
                return ox_nomem();
            *m1 = -1.0f;
            snprintf(base, sizeof base, "%s.scale", n->name);
            if (!(st = w_add(x, base, 1, &one, m1, &w[0])))
                st = w_direct(x, c, 1, &C, &w[1]);
        }
        break;
    default: /* 'D' */
        if (ai == 1)
            return nfail(n, MINT_E_UNSUPPORTED, "a constant divided by a computed tensor is not supported");
        snprintf(base, sizeof base, "%s.scale", n->name);
        st = w_derived(x, base, c, C, f_recip, &w[0]);
        break;
    }
    if (st || (st = out_tensor(x, n, &Y)) || (st = add_node(x, n, NET_OP_AFFINE, X, -1, Y, w, NULL)))
        return st;
    return add_check(x, n, X, need, 0, c->name);
}

static mint_status op_flatten(ictx *x, onode *n)
{
    mint_status st;
    int X, Y;
    int64_t flat = 0;
    if (n->op[0] == 'F') {
        static const char *const allowed[] = { "axis", NULL };
        int64_t axis;
        if ((st = check_attrs(n, allowed)) || (st = attr_int(n, "axis", 1, &axis)))
            return st;
        if (axis != 1)
            return nfail(n, MINT_E_UNSUPPORTED, "axis=%lld is not supported (only axis=1)",
                         (long long)axis);
        if (n->nin != 1)
            return nfail(n, MINT_E_FORMAT, "has %d inputs, expected 1", n->nin);
    } else { /* Reshape to [N, -1] / [0, -1] / [N, K] */
        static const char *const allowed[] = { "allowzero", NULL };
        int64_t allowzero;
        oconst *s;
        if ((st = check_attrs(n, allowed)) || (st = attr_int(n, "allowzero", 0, &allowzero)))
            return st;
        if (n->nin != 2)
            return nfail(n, MINT_E_FORMAT, "has %d inputs, expected 2", n->nin);
        if ((st = const_input(x, n, 1, 0, &s)))
            return st;
        char ds[160];
        if (s->i && s->rank == 1 && s->numel == 2)
            ox_dims_str(ds, sizeof ds, 2, s->i);
        else
            snprintf(ds, sizeof ds, "a %s tensor of %lld values", ox_dtype_name(s->dtype),
                     (long long)s->numel);
        if (!s->i || s->rank != 1 || s->numel != 2 || s->i[0] < -1 ||
            (s->i[0] == 0 && allowzero) || s->i[1] == 0 || s->i[1] < -1)
            return nfail(n, MINT_E_UNSUPPORTED,
                         "reshape to %s is not supported (only [N,-1] flattening)", ds);
        if (s->i[0] == -1 && s->i[1] == -1)
            return nfail(n, MINT_E_FORMAT, "reshape to %s has two -1", ds);
        flat = s->i[1] > 0 ? s->i[1] : 0; /* checked once shapes are known */
    }
    if ((st = act_input(x, n, 0, &X)) || (st = out_tensor(x, n, &Y)) ||
        (st = add_node(x, n, NET_OP_FLATTEN, X, -1, Y, NULL, NULL)))
        return st;
    return add_check(x, n, Y, 0, flat, NULL);
}

/* MatMul/Gemm without bias whose only consumer is Add(out, constant [M]):
 * fold that Add into the FC bias. Returns 1 (and the bias weight and the
 * Add's output tensor) when folded. */
static mint_status fuse_bias(ictx *x, const onode *n, int64_t M, int *bias, int *Y, int *fused)
{
    *fused = 0;
    const ouse *u = use_of(x, n->out[0]);
    if (n->nout != 1 || !u || u->count != 1 || u->is_output || u->consumer < 0)
        return MINT_OK;
    onode *a = &x->nodes[u->consumer];
    if (a->kind != K_COMPUTE || strcmp(a->op, "Add") || a->domain[0] || a->nin != 2 ||
        a->nout != 1 || a->nattrs || !a->out[0][0])
        return MINT_OK;
    const char *r0 = resolve(x, a->in[0]);
    if (!r0)
        return MINT_OK;
    int k = strcmp(r0, n->out[0]) == 0 ? 1 : 0;
    const char *other = resolve(x, a->in[k]);
    oconst *c = other ? find_const(x, other) : NULL;
    if (!c || !c->f || c->numel != M || !(c->rank == 1 || (c->rank == 2 && c->dims[0] == 1)))
        return MINT_OK;
    mint_status st;
    if ((st = w_direct(x, c, 1, &M, bias)))
        return st;
    if ((*Y = net_graph_tensor(x->g, a->out[0])) < 0)
        return ox_nomem();
    a->skip = 1;
    *fused = 1;
    return MINT_OK;
}

static mint_status transpose_w(ictx *x, const oconst *B, int *wid)
{
    int64_t K = B->dims[0], M = B->dims[1];
    float *t = malloc(sizeof(float) * (size_t)(K * M > 0 ? K * M : 1));
    if (!t)
        return ox_nomem();
    for (int64_t k = 0; k < K; k++)
        for (int64_t m = 0; m < M; m++)
            t[m * K + k] = B->f[k * M + m];
    char base[OX_MAX_NAME + 8];
    snprintf(base, sizeof base, "%s.T", B->name);
    int64_t dims[2] = { M, K };
    return w_add(x, base, 2, dims, t, wid);
}

/* Gemm (alpha = beta = 1, transA = 0) and MatMul with constant B -> FC. */
static mint_status op_fc(ictx *x, onode *n)
{
    mint_status st;
    int X, Y = -1, w[4] = { -1, -1, -1, -1 };
    int64_t transB = 0;
    oconst *B, *C = NULL;
    int gemm = n->op[0] == 'G';
    if (gemm) {
        static const char *const allowed[] = { "alpha", "beta", "transA", "transB", NULL };
        float alpha, beta;
        int64_t transA;
        if ((st = check_attrs(n, allowed)) || (st = attr_float(n, "alpha", 1, &alpha)) ||
            (st = attr_float(n, "beta", 1, &beta)) || (st = attr_int(n, "transA", 0, &transA)) ||
            (st = attr_int(n, "transB", 0, &transB)))
            return st;
        if (n->nin < 2 || n->nin > 3)
            return nfail(n, MINT_E_FORMAT, "has %d inputs, expected 2 or 3", n->nin);
        if (alpha != 1.0f || (has_input(n, 2) && beta != 1.0f) || transA != 0 ||
            (transB != 0 && transB != 1))
            return nfail(n, MINT_E_UNSUPPORTED,
                         "only alpha=1, beta=1, transA=0 are supported (got alpha=%g beta=%g transA=%lld)",
                         (double)alpha, (double)beta, (long long)transA);
        if (has_input(n, 2) && (st = const_input(x, n, 2, 1, &C)))
            return st;
    } else {
        static const char *const none[] = { NULL };
        if ((st = check_attrs(n, none)))
            return st;
        if (n->nin != 2)
            return nfail(n, MINT_E_FORMAT, "has %d inputs, expected 2", n->nin);
    }
    if ((st = act_input(x, n, 0, &X)) || (st = const_input(x, n, 1, 1, &B)))
        return st;
    if (B->rank != 2 || B->numel < 1) {
        char ds[160];
        ox_dims_str(ds, sizeof ds, B->rank, B->dims);
        return nfail(n, MINT_E_UNSUPPORTED, "weight '%s' of shape %s is not a matrix", B->name, ds);
    }
    int64_t M = transB ? B->dims[0] : B->dims[1];
    if (transB)
        st = w_direct(x, B, 2, B->dims, &w[0]);
    else
        st = transpose_w(x, B, &w[0]);
    if (st)
        return st;
    if (C) {
        if (C->numel == M && (C->rank == 1 || (C->rank == 2 && C->dims[0] == 1))) {
            st = w_direct(x, C, 1, &M, &w[1]);
        } else if (C->numel == 1) {
            char base[OX_MAX_NAME + 8];
            snprintf(base, sizeof base, "%s.bias", n->name);
            st = w_derived(x, base, C, M, f_copy, &w[1]);
        } else {
            char ds[160];
            ox_dims_str(ds, sizeof ds, C->rank, C->dims);
            return nfail(n, MINT_E_UNSUPPORTED, "bias '%s' of shape %s is not [M] or [1,M]",
                         C->name, ds);
        }
        if (st)
            return st;
    } else {
        int fused;
        if ((st = fuse_bias(x, n, M, &w[1], &Y, &fused)))
            return st;
    }
    if (Y < 0 && (st = out_tensor(x, n, &Y)))
        return st;
    return add_node(x, n, NET_OP_FC, X, -1, Y, w, NULL);
}

/* Constant node -> constant table entry named by its output. */
static mint_status op_constant(ictx *x, onode *n)
{
    static const char *const allowed[] = { "value", "value_float", "value_floats", "value_int",
                                           "value_ints", NULL };
    mint_status st;
    oconst c;
    if ((st = check_attrs(n, allowed)))
        return st;
    if (n->nattrs != 1)
        return nfail(n, MINT_E_FORMAT, "needs exactly one value attribute");
    if (n->nout != 1 || !n->out[0][0] || n->nin)
        return nfail(n, MINT_E_FORMAT, "must have no input and one output");
    const oattr *a = &n->attrs[0];
    if (strcmp(a->name, "value") == 0) {
        if (!a->has_t)
            return nfail(n, MINT_E_FORMAT, "attribute 'value' holds no tensor");
        if ((st = ox_parse_tensor(x, a->t, &c, "constant", n->out[0])))
            return st;
    } else {
        int isf = strstr(a->name, "float") != NULL, list = a->name[strlen(a->name) - 1] == 's';
        int64_t cnt = list ? (isf ? a->nfloats : a->nints) : 1;
        if (!list && !(isf ? a->has_f : a->has_i))
            return nfail(n, MINT_E_FORMAT, "attribute '%s' holds no value", a->name);
        if (list && cnt > OX_MAX_LIST)
            return nfail(n, MINT_E_UNSUPPORTED, "'%s' with more than %d values is not supported",
                         a->name, OX_MAX_LIST);
        memset(&c, 0, sizeof c);
        c.name = n->out[0];
        c.wid = -1;
        c.rank = list ? 1 : 0;
        c.dims[0] = cnt;
        c.numel = cnt;
        c.dtype = isf ? DT_FLOAT : DT_INT64;
        if (isf)
            c.f = malloc(sizeof(float) * (size_t)(cnt ? cnt : 1));
        else
            c.i = malloc(sizeof(int64_t) * (size_t)(cnt ? cnt : 1));
        if (!c.f && !c.i)
            return ox_nomem();
        for (int64_t k = 0; k < cnt; k++) {
            if (isf)
                c.f[k] = list ? a->floats[k] : a->f;
            else
                c.i[k] = list ? a->ints[k] : a->i;
        }
    }
    return const_add(x, &c, "constant");
}

/* Unsqueeze of a constant (PyTorch exports without constant folding write
 * PReLU slopes as Unsqueeze(weight [C], axes [1,2])): folded here into a
 * new constant; Unsqueeze of a computed tensor is refused. */
static mint_status op_unsqueeze(ictx *x, onode *n)
{
    mint_status st;
    int64_t axes[OX_MAX_RANK];
    int naxes = 0;
    if (n->nout != 1 || !n->out[0][0] || !has_input(n, 0))
        return nfail(n, MINT_E_FORMAT, "needs one input and one output");
    oconst *c = find_const(x, resolve(x, n->in[0]));
    if (!c)
        return nfail(n, MINT_E_UNSUPPORTED,
                     "Unsqueeze of a computed tensor is not supported (only of constants)");
    if (x->opset < 13) { /* axes attribute */
        static const char *const allowed[] = { "axes", NULL };
        const oattr *a = find_attr(n, "axes");
        if ((st = check_attrs(n, allowed)))
            return st;
        if (!a || a->nints < 1 || a->nints > OX_MAX_RANK || n->nin != 1)
            return nfail(n, MINT_E_UNSUPPORTED, "needs 1 to %d axes", OX_MAX_RANK);
        naxes = a->nints;
        memcpy(axes, a->ints, sizeof(int64_t) * (size_t)naxes);
    } else { /* axes input */
        static const char *const none[] = { NULL };
        oconst *ax;
        if ((st = check_attrs(n, none)) || (st = const_input(x, n, 1, 0, &ax)))
            return st;
        if (!ax->i || ax->numel < 1 || ax->numel > OX_MAX_RANK || n->nin != 2)
            return nfail(n, MINT_E_UNSUPPORTED, "axes '%s' must hold 1 to %d integers", ax->name,
                         OX_MAX_RANK);
        naxes = (int)ax->numel;
        memcpy(axes, ax->i, sizeof(int64_t) * (size_t)naxes);
    }
    int orank = c->rank + naxes;
    if (orank > OX_MAX_RANK)
        return nfail(n, MINT_E_UNSUPPORTED, "result has rank above %d", OX_MAX_RANK);
    int is_axis[OX_MAX_RANK] = { 0 };
    for (int k = 0; k < naxes; k++) {
        int64_t a = axes[k] < 0 ? axes[k] + orank : axes[k];
        if (a < 0 || a >= orank || is_axis[a])
            return nfail(n, MINT_E_FORMAT, "bad axis %lld", (long long)axes[k]);
        is_axis[a] = 1;
    }
    oconst o;
    memset(&o, 0, sizeof o);
    o.name = n->out[0];
    o.dtype = c->dtype;
    o.numel = c->numel;
    o.wid = -1;
    o.rank = orank;
    for (int k = 0, j = 0; k < orank; k++)
        o.dims[k] = is_axis[k] ? 1 : c->dims[j++];
    size_t esz = c->f ? sizeof(float) : sizeof(int64_t);
    void *d = malloc((size_t)(c->numel ? c->numel : 1) * esz);
    if (!d)
        return ox_nomem();
    if (c->numel)
        memcpy(d, c->f ? (const void *)c->f : (const void *)c->i, (size_t)c->numel * esz);
    if (c->f)
        o.f = d;
    else
        o.i = d;
    return const_add(x, &o, "constant");
}

/* Identity, Dropout (inference), Cast to a float type: output aliases input.
 * Cast to FLOAT16 is accepted because mint computes in fp32 anyway. */
static mint_status op_alias(ictx *x, onode *n)
{
    mint_status st;
    if (n->op[0] == 'I') {
        static const char *const none[] = { NULL };
        if ((st = check_attrs(n, none)))
            return st;
        if (n->nin != 1)
            return nfail(n, MINT_E_FORMAT, "has %d inputs, expected 1", n->nin);
    } else if (n->op[0] == 'C') {
        static const char *const allowed[] = { "to", "saturate", NULL };
        int64_t to;
        if ((st = check_attrs(n, allowed)) || (st = attr_int(n, "to", 0, &to)))
            return st;
        if (to != DT_FLOAT && to != DT_FLOAT16)
            return nfail(n, MINT_E_UNSUPPORTED, "cast to %s is not supported (only FLOAT, FLOAT16)",
                         ox_dtype_name((int)to));
        if (n->nin != 1)
            return nfail(n, MINT_E_FORMAT, "has %d inputs, expected 1", n->nin);
    } else { /* Dropout: ratio ignored; training_mode must be a false constant */
        static const char *const allowed[] = { "ratio", "seed", "is_test", NULL };
        if ((st = check_attrs(n, allowed)))
            return st;
        if (n->nin < 1 || n->nin > 3)
            return nfail(n, MINT_E_FORMAT, "has %d inputs, expected 1 to 3", n->nin);
        if (n->nout > 2)
            return nfail(n, MINT_E_FORMAT, "has %d outputs, expected 1 or 2", n->nout);
    }
    if (!has_input(n, 0) || n->nout < 1 || !n->out[0][0])
        return nfail(n, MINT_E_FORMAT, "needs one input and one output");
    if (n->op[0] != 'D' && n->nout != 1)
        return nfail(n, MINT_E_FORMAT, "has %d outputs, expected 1", n->nout);
    if (base_nameidx_get(&x->cmap, n->out[0]) >= 0 || base_nameidx_get(&x->amap, n->out[0]) >= 0)
        return mint_fail(MINT_E_FORMAT, "tensor '%s' is produced more than once", n->out[0]);
    if (net_grow((void **)&x->alias_to, &x->capaliases, x->naliases, sizeof *x->alias_to) ||
        base_nameidx_put(&x->amap, n->out[0], x->naliases))
        return ox_nomem();
    x->alias_to[x->naliases++] = n->in[0];
    return MINT_OK;
}

/* Dropout checks that need constants and uses (after the pre-pass). */
static mint_status check_dropout(ictx *x, onode *n)
{
    if (n->nout == 2 && n->out[1][0]) {
        const ouse *u = use_of(x, n->out[1]);
        if (u && u->count)
            return nfail(n, MINT_E_UNSUPPORTED, "its mask output '%s' is used (training only)",
                         n->out[1]);
    }
    if (has_input(n, 2)) {
        oconst *c = find_const(x, resolve(x, n->in[2]));
        int on = !c || c->numel != 1;
        if (c && c->numel == 1)
            on = c->f ? c->f[0] != 0 : c->i[0] != 0;
        if (on)
            return nfail(n, MINT_E_UNSUPPORTED, "training_mode is not a false constant (inference only)");
    }
    return MINT_OK;
}

typedef mint_status (*op_fn)(ictx *, onode *);
static const struct { const char *op; op_fn fn; int kind; } op_table[] = {
    { "Conv", op_conv, K_COMPUTE },
    { "BatchNormalization", op_bn, K_COMPUTE },
    { "PRelu", op_prelu, K_COMPUTE },
    { "Relu", op_relu, K_COMPUTE },
    { "Clip", op_clip, K_COMPUTE },
    { "Add", op_arith, K_COMPUTE },
    { "Sub", op_arith, K_COMPUTE },
    { "Mul", op_arith, K_COMPUTE },
    { "Div", op_arith, K_COMPUTE },
    { "Flatten", op_flatten, K_COMPUTE },
    { "Reshape", op_flatten, K_COMPUTE },
    { "Gemm", op_fc, K_COMPUTE },
    { "MatMul", op_fc, K_COMPUTE },
    { "Constant", op_constant, K_CONST },
    { "Unsqueeze", op_unsqueeze, K_CONST },
    { "Identity", op_alias, K_ALIAS },
    { "Dropout", op_alias, K_ALIAS },
    { "Cast", op_alias, K_ALIAS },
};
#define N_OPS ((int)(sizeof op_table / sizeof op_table[0]))

static int op_index(const char *op)
{
    for (int i = 0; i < N_OPS; i++)
        if (strcmp(op_table[i].op, op) == 0)
            return i;
    return -1;
}

static void ictx_free(ictx *x)
{
    for (int i = 0; i < x->nconsts; i++)
        ox_const_free(&x->consts[i]);
    free(x->consts);
    free(x->alias_to);
    free(x->uses);
    free(x->checks);
    base_nameidx_free(&x->cmap);
    base_nameidx_free(&x->amap);
    base_nameidx_free(&x->umap);
    base_nameidx_free(&x->nmap);
    while (x->arena) {
        ablock *n = x->arena->next;
        free(x->arena);
        x->arena = n;
    }
}

static mint_status count_use(ictx *x, const char *name, int consumer, int is_output)
{
    const char *r = resolve(x, name);
    if (!r)
        return mint_fail(MINT_E_FORMAT, "Identity/Dropout/Cast nodes form a cycle through '%s'", name);
    int u = base_nameidx_get(&x->umap, r);
    if (u < 0) {
        if (net_grow((void **)&x->uses, &x->capuses, x->nuses, sizeof *x->uses) ||
            base_nameidx_put(&x->umap, r, x->nuses))
            return ox_nomem();
        u = x->nuses++;
        x->uses[u] = (ouse){ 0, -1, 0 };
    }
    x->uses[u].count++;
    x->uses[u].consumer = consumer;
    x->uses[u].is_output |= is_output;
    return MINT_OK;
}

/* Checks that need inferred shapes. */
static mint_status post_checks(ictx *x)
{
    const net_graph *g = x->g;
    for (int i = 0; i < x->nchecks; i++) {
        const ocheck *c = &x->checks[i];
        const net_tensor *t = &g->tensors[c->tensor];
        if (c->need_rank == -1 && t->rank != 1)
            return mint_fail(MINT_E_UNSUPPORTED,
                             "node '%s' (%s): spatial=0 on the 4-D input '%s' is not supported",
                             c->node, c->op, t->name);
        if (c->need_rank > 0 && t->rank != c->need_rank) {
            if (c->need_rank == 1)
                return mint_fail(MINT_E_UNSUPPORTED,
                                 "node '%s' (%s): constant '%s' of shape [C] broadcasts along the last (width) axis of the 4-D input '%s'; per-channel constants of 4-D tensors must be [C,1,1] or [1,C,1,1]",
                                 c->node, c->op, c->cname, t->name);
            return mint_fail(MINT_E_SHAPE,
                             "node '%s' (%s): constant '%s' of shape [C,1,1] does not broadcast over the 2-D input '%s'",
                             c->node, c->op, c->cname, t->name);
        }
        if (c->flat && (t->rank != 1 || t->shape[0] != c->flat))
            return mint_fail(MINT_E_SHAPE, "node '%s' (%s): reshape to [N,%lld] does not match %lld values per item",
                             c->node, c->op, (long long)c->flat, (long long)t->shape[0]);
    }
    return MINT_OK;
}

static void set_meta(net_graph *g, const void *buf, size_t n, const char *name)
{
    net_meta *m = &g->meta;
    snprintf(m->arch, sizeof m->arch, "onnx");
    for (int i = 0; i < 3; i++) {
        m->mean[i] = 0.5f;
        m->std[i] = 0.5f;
    }
    snprintf(m->channel_order, sizeof m->channel_order, "RGB");
    const char *base = name ? strrchr(name, '/') : NULL;
    base = base ? base + 1 : name ? name : "";
    size_t len = strlen(base);
    if (len >= sizeof m->source_name)
        len = sizeof m->source_name - 1;
    memcpy(m->source_name, base, len);
    m->source_name[len] = 0;
    base_sha256 s;
    uint8_t d[32];
    base_sha256_init(&s);
    base_sha256_update(&s, buf, n);
    base_sha256_final(&s, d);
    base_sha256_hex(d, m->source_sha256);
}

/* The nodes, each of a supported op (an unsupported op is the most useful
 * message, so nodes come first). */
static mint_status import_nodes(ictx *x, const ograph *gr)
{
    mint_status st;
    x->nodes = ox_alloc(x, (gr->nnodes + 1) * sizeof *x->nodes);
    if (!x->nodes)
        return ox_nomem();
    for (size_t i = 0; i < gr->nnodes; i++) {
        onode *n = &x->nodes[i];
        if ((st = ox_parse_node(x, gr->nodes[i], n, (int)i)))
            return st;
        x->nnodes++;
        if (n->domain[0] && strcmp(n->domain, "ai.onnx"))
            return mint_fail(MINT_E_UNSUPPORTED, "node '%s': op '%s' of domain '%s' is not supported by mint",
                             n->name, n->op, n->domain);
        int k = op_index(n->op);
        if (k < 0)
            return mint_fail(MINT_E_UNSUPPORTED, "node '%s': op '%s' is not supported by mint (supported: %s)",
                             n->name, n->op, CONVERT_ONNX_SUPPORTED_OPS);
        n->kind = op_table[k].kind;
    }
    return MINT_OK;
}

/* Initializers, then Constant nodes and aliases. */
static mint_status import_consts(ictx *x, const ograph *gr)
{
    mint_status st;
    for (size_t i = 0; i < gr->ninits; i++) {
        oconst c;
        if ((st = ox_parse_tensor(x, gr->inits[i], &c, "initializer", NULL)) ||
            (st = const_add(x, &c, "initializer")))
            return st;
    }
    for (int i = 0; i < x->nnodes; i++) {
        onode *n = &x->nodes[i];
        if (n->kind != K_COMPUTE && (st = op_table[op_index(n->op)].fn(x, n)))
            return st;
    }
    return MINT_OK;
}

/* The data input: the one graph input that is not an initializer, a 4-D
 * float image of known C, H and W. */
static mint_status import_input(ictx *x, const ograph *gr, ovinfo *in_out)
{
    mint_status st;
    ovinfo in = { 0 };
    int ndata = 0;
    for (size_t i = 0; i < gr->ninputs; i++) {
        ovinfo v;
        if ((st = ox_parse_vinfo(x, gr->inputs[i], &v)))
            return st;
        if (base_nameidx_get(&x->cmap, v.name) >= 0)
            continue;
        if (ndata++ == 0)
            in = v;
        else
            return mint_fail(MINT_E_UNSUPPORTED,
                             "graph has several data inputs ('%s', '%s'); mint supports one image input",
                             in.name, v.name);
    }
    if (!ndata || !in.name[0])
        return mint_fail(MINT_E_FORMAT, "graph has no data input");
    if (base_nameidx_get(&x->amap, in.name) >= 0)
        return mint_fail(MINT_E_FORMAT, "graph input '%s' is also produced by a node", in.name);
    if (in.elem != DT_FLOAT && in.elem != DT_FLOAT16)
        return mint_fail(MINT_E_UNSUPPORTED, "input '%s' has element type %s; mint needs FLOAT",
                         in.name, ox_dtype_name(in.elem));
    if (!in.has_shape || in.rank != 4 || in.dims[1] < 1 || in.dims[2] < 1 || in.dims[3] < 1)
        return mint_fail(MINT_E_UNSUPPORTED,
                         "input '%s' must be 4-D [N,C,H,W] with C, H and W known (batch may be symbolic)",
                         in.name);
    for (int k = 1; k < 4; k++)
        if (in.dims[k] > OX_MAX_DIM)
            return mint_fail(MINT_E_UNSUPPORTED,
                             "input '%s' has %c = %lld; mint takes inputs of at most %d in C, H "
                             "and W",
                             in.name, "NCHW"[k], (long long)in.dims[k], OX_MAX_DIM);
    x->input_name = in.name;
    *in_out = in;
    return MINT_OK;
}

/* Uses of every computed tensor (for bias fusion and Dropout masks), the
 * graph output (outname) counted as one. */
static mint_status import_uses(ictx *x, const char *outname)
{
    mint_status st;
    for (int i = 0; i < x->nnodes; i++) {
        const onode *n = &x->nodes[i];
        if (n->kind == K_CONST)
            continue;
        for (int k = 0; k < n->nin; k++)
            if (n->in[k][0] && (st = count_use(x, n->in[k], n->kind == K_COMPUTE ? i : -1, 0)))
                return st;
        if (n->kind == K_COMPUTE)
            for (int k = 0; k < n->nout; k++)
                if (base_nameidx_get(&x->cmap, n->out[k]) >= 0 || base_nameidx_get(&x->amap, n->out[k]) >= 0)
                    return mint_fail(MINT_E_FORMAT, "tensor '%s' is produced more than once", n->out[k]);
    }
    return count_use(x, outname, -1, 1);
}

/* The net nodes of the computing ONNX nodes (Dropouts checked), from
 * the input to the output oname (graph output outname). */
static mint_status import_lower(ictx *x, const char *input, const char *oname,
                                const char *outname)
{
    mint_status st;
    net_graph *g = x->g;
    if ((g->input = net_graph_tensor(g, input)) < 0)
        return ox_nomem();
    for (int i = 0; i < x->nnodes; i++) {
        onode *n = &x->nodes[i];
        if (n->kind == K_ALIAS && n->op[0] == 'D' && (st = check_dropout(x, n)))
            return st;
        if (n->kind != K_COMPUTE || n->skip)
            continue;
        if ((st = op_table[op_index(n->op)].fn(x, n)))
            return st;
    }
    if ((g->output = net_graph_find_tensor(g, oname)) < 0)
        return mint_fail(MINT_E_FORMAT, "graph output '%s' is never computed", outname);
    if (g->output == g->input)
        return mint_fail(MINT_E_UNSUPPORTED, "graph output '%s' is the input itself (nothing to compute)",
                         outname);
    return MINT_OK;
}

static mint_status import(ictx *x, const void *buf, size_t nbuf, const char *name)
{
    mint_status st;
    span graph = { NULL, 0 };
    ograph gr;
    if (!buf || nbuf == 0)
        return mint_fail(MINT_E_FORMAT, "not an ONNX model: empty file");
    if ((st = ox_read_model((span){ buf, nbuf }, &graph, &x->opset)))
        return st;
    if (x->opset < 0)
        return mint_fail(MINT_E_UNSUPPORTED, "model imports no opset of the default ONNX domain");
    if (x->opset < OX_OPSET_MIN || x->opset > OX_OPSET_MAX)
        return mint_fail(MINT_E_UNSUPPORTED, "opset %d is not supported (mint reads opsets %d..%d); re-export the model",
                         x->opset, OX_OPSET_MIN, OX_OPSET_MAX);
    ovinfo in = { 0 };
    if ((st = ox_collect_graph(x, graph, &gr)) || (st = import_nodes(x, &gr)) ||
        (st = import_consts(x, &gr)) || (st = import_input(x, &gr, &in)))
        return st;

    /* the output: the first graph output (further outputs, e.g. extra
     * heads, are ignored: mint computes the first and taps by name) */
    if (gr.noutputs < 1)
        return mint_fail(MINT_E_FORMAT, "graph has no output");
    ovinfo outv;
    if ((st = ox_parse_vinfo(x, gr.outputs[0], &outv)))
        return st;
    const char *oname = resolve(x, outv.name);
    if (!oname)
        return mint_fail(MINT_E_FORMAT, "Identity/Dropout/Cast nodes form a cycle through '%s'", outv.name);
    if (find_const(x, oname))
        return mint_fail(MINT_E_UNSUPPORTED, "graph output '%s' is a constant", outv.name);
    if ((st = import_uses(x, outv.name)) || (st = import_lower(x, in.name, oname, outv.name)))
        return st;
    net_graph *g = x->g;
    g->meta.in_c = (int)in.dims[1];
    g->meta.in_h = (int)in.dims[2];
    g->meta.in_w = (int)in.dims[3];
    set_meta(g, buf, nbuf, name);

    if ((st = net_graph_toposort(g)) || (st = net_graph_infer_shapes(g)) || (st = post_checks(x)) ||
        (st = net_graph_check_values(g)) ||
        (st = net_graph_name_taps(g)))
        return st;
    net_graph_prune_weights(g);
    return MINT_OK;
}

/* Every import error names the file: "NAME: what". */
static mint_status name_file(mint_status st, const char *name)
{
    if (!name || !*name)
        return st;
    size_t k = strlen(name);
    const char *msg = mint_last_error();
    if (strncmp(msg, name, k) == 0 && msg[k] == ':')
        return st;
    char copy[512];
    snprintf(copy, sizeof copy, "%s", msg);
    return mint_fail(st, "%s: %s", name, copy);
}

mint_status convert_onnx_import_mem(net_graph **out, const void *buf, size_t n, const char *name)
{
    if (!out)
        return mint_fail(MINT_E_ARG, "convert_onnx_import_mem: out is NULL");
    *out = NULL;
    ictx x;
    memset(&x, 0, sizeof x);
    if (!(x.g = net_graph_new()))
        return ox_nomem();
    mint_status st = import(&x, buf, n, name);
    ictx_free(&x);
    if (st) {
        net_graph_free(x.g);
        return name_file(st, name);
    }
    *out = x.g;
    return MINT_OK;
}

mint_status convert_onnx_import(net_graph **out, const char *path)
{
    if (!out || !path)
        return mint_fail(MINT_E_ARG, "convert_onnx_import: NULL argument");
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mint_fail(MINT_E_IO, "cannot open '%s'", path);
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return mint_fail(MINT_E_IO, "'%s' is not a readable file", path);
    }
    if (sb.st_size == 0) {
        close(fd);
        return mint_fail(MINT_E_FORMAT, "'%s' is empty, not an ONNX model", path);
    }
    if ((uint64_t)sb.st_size > SIZE_MAX) {
        close(fd);
        return mint_fail(MINT_E_NOMEM, "'%s' is too large to map", path);
    }
    size_t n = (size_t)sb.st_size;
    void *p = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return mint_fail(MINT_E_IO, "cannot map '%s'", path);
    madvise(p, n, MADV_SEQUENTIAL);
    mint_status st = convert_onnx_import_mem(out, p, n, path);
    munmap(p, n);
    return st;
}
