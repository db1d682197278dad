/* model.c - the MINT auditing models (see model.h): parameter arena,
 * initialisation, forward/backward over net/train_ops, checkpoints in the
 * weight container, load and predict. */
#include "mint/model.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mint/metrics.h"
#include "base/rng.h"
#include "net/graph.h"
#include "net/train_ops.h"
#include "weights/container.h"

/* arena offsets are kept multiples of 16 floats = 64 bytes */
#define ALIGN_F 16
/* refuse models/batches beyond this many floats in one arena (16 GB) */
#define MAX_FLOATS ((size_t)1 << 32)

static size_t round16(size_t n)
{
    return (n + ALIGN_F - 1) / ALIGN_F * ALIGN_F;
}

static const char *const kind_names[MINT_TM_NKINDS] = { "vanilla", "cnn", "outcome", "vanilla64",
                                                        "cnn2" };

const char *mint_tm_kind_name(mint_tm_kind k)
{
    return (unsigned)k < MINT_TM_NKINDS ? kind_names[k] : "?";
}

mint_status mint_tm_kind_parse(const char *s, mint_tm_kind *k)
{
    for (int i = 0; i < MINT_TM_NKINDS; i++)
        if (s && !strcmp(s, kind_names[i])) {
            *k = (mint_tm_kind)i;
            return MINT_OK;
        }
    return mint_fail(MINT_E_ARG, "unknown MINT model kind '%s' (vanilla, cnn, outcome, vanilla64 "
                     "or cnn2)", s ? s : "(null)");
}

int mint_tm_kind_is_conv(mint_tm_kind k)
{
    return k == MINT_TM_CNN || k == MINT_TM_CNN2;
}

static int is_cnn(const mint_tm *tm)
{
    return mint_tm_kind_is_conv(tm->cfg.kind);
}

static int is_cnn2(const mint_tm *tm)
{
    return tm->cfg.kind == MINT_TM_CNN2;
}

/* Filters of the (first) conv. */
static int conv1_filters(const mint_tm *tm)
{
    return is_cnn2(tm) ? MINT_TM_CNN2_FILTERS1 : MINT_TM_FILTERS;
}

/* The (first) conv's shape, and cnn2's second conv on the pooled map. */
static net_conv3x3_shape conv_shape(const mint_tm *tm, int B)
{
    const net_conv3x3_shape s = { B, tm->cfg.in_dims[0], tm->cfg.in_dims[1], tm->cfg.in_dims[2],
                                  conv1_filters(tm) };
    return s;
}

static net_conv3x3_shape conv2_shape(const mint_tm *tm, int B)
{
    const net_conv3x3_shape s = { B, MINT_TM_CNN2_FILTERS1, tm->cfg.in_dims[1] / 2,
                                  tm->cfg.in_dims[2] / 2, MINT_TM_CNN2_FILTERS2 };
    return s;
}

static void add_param(mint_tm *tm, const char *name, int rank, int64_t d0, int64_t d1, int64_t d2,
                      int64_t d3)
{
    mint_tm_param *p = &tm->params[tm->nparams++];
    snprintf(p->name, sizeof p->name, "%s", name);
    p->rank = rank;
    const int64_t d[4] = { d0, d1, d2, d3 };
    p->count = 1;
    for (int i = 0; i < rank; i++) {
        p->dims[i] = d[i];
        p->count *= (size_t)d[i];
    }
    p->offset = tm->seg;
    tm->seg += round16(p->count);
}

static float *param_ptr(const mint_tm *tm, float *segment, const char *name)
{
    for (int i = 0; i < tm->nparams; i++)
        if (!strcmp(tm->params[i].name, name))
            return segment + tm->params[i].offset;
    return NULL;
}

static void make_views(const mint_tm *tm, float *s, mint_tm_views *v)
{
    v->conv_w = param_ptr(tm, s, "conv.weight");
    v->conv_b = param_ptr(tm, s, "conv.bias");
    v->conv2_w = param_ptr(tm, s, "conv2.weight");
    v->conv2_b = param_ptr(tm, s, "conv2.bias");
    v->w1 = param_ptr(tm, s, "dense1.weight");
    v->b1 = param_ptr(tm, s, "dense1.bias");
    v->bn_g = param_ptr(tm, s, "bn.weight");
    v->bn_b = param_ptr(tm, s, "bn.bias");
    v->w2 = param_ptr(tm, s, "dense2.weight");
    v->b2 = param_ptr(tm, s, "dense2.bias");
}

/* Keras glorot_uniform: U(-l, l), l = sqrt(6 / (fan_in + fan_out)) */
static void glorot(float *w, size_t n, double fan_in, double fan_out, base_rng *r)
{
    const float lim = (float)sqrt(6.0 / (fan_in + fan_out));
    for (size_t i = 0; i < n; i++)
        w[i] = (2.0f * base_rng_unit(r) - 1.0f) * lim;
}

mint_status mint_tm_create(mint_tm **out, const mint_tm_config *cfg, uint64_t seed)
{
    return mint_tm_create_wide(out, cfg, seed, 0);
}

/* cnn2's parameter table (tm_layout). */
static mint_status cnn2_layout(mint_tm **out, mint_tm *tm)
{
    const int d[3] = { tm->cfg.in_dims[0], tm->cfg.in_dims[1], tm->cfg.in_dims[2] };
    const size_t flat = (size_t)MINT_TM_CNN2_FILTERS2 * (size_t)(d[1] / 4) * (size_t)(d[2] / 4);
    mint_status st = MINT_OK;
    if (d[0] < 1 || d[1] < 4 || d[2] < 4 || d[0] > 65536 || d[1] > 65536 || d[2] > 65536)
        st = mint_fail(MINT_E_SHAPE, "cnn2 MINT wants an input map C x H x W with C >= 1, "
                       "H, W >= 4 (got %d x %d x %d)", d[0], d[1], d[2]);
    else if ((size_t)d[0] * d[1] * d[2] > MAX_FLOATS / 64 ||
             flat * MINT_TM_CNN2_HIDDEN > MAX_FLOATS / 8)
        st = mint_fail(MINT_E_NOMEM, "cnn2 MINT input %d x %d x %d is too large", d[0], d[1],
                       d[2]);
    if (st) {
        free(tm);
        return st;
    }
    tm->in_size = d[0] * d[1] * d[2];
    tm->hidden = MINT_TM_CNN2_HIDDEN;
    tm->flat = (int)flat;
    tm->l1 = 0.0f;
    add_param(tm, "conv.weight", 4, MINT_TM_CNN2_FILTERS1, d[0], 3, 3);
    add_param(tm, "conv.bias", 1, MINT_TM_CNN2_FILTERS1, 0, 0, 0);
    add_param(tm, "conv2.weight", 4, MINT_TM_CNN2_FILTERS2, MINT_TM_CNN2_FILTERS1, 3, 3);
    add_param(tm, "conv2.bias", 1, MINT_TM_CNN2_FILTERS2, 0, 0, 0);
    add_param(tm, "dense1.weight", 2, tm->hidden, tm->flat, 0, 0);
    add_param(tm, "dense1.bias", 1, tm->hidden, 0, 0, 0);
    add_param(tm, "dense2.weight", 2, 1, tm->hidden, 0, 0);
    add_param(tm, "dense2.bias", 1, 1, 0, 0, 0);
    *out = tm;
    return MINT_OK;
}

/* The model's shape from its config: the parameter table, no arena yet (so a
 * loader can check the file's tensors against it before allocating what the
 * metadata claims). */
static mint_status tm_layout(mint_tm **out, const mint_tm_config *cfg, int min_hidden)
{
    *out = NULL;
    if (!cfg)
        return mint_fail(MINT_E_ARG, "mint_tm_create: NULL config");
    mint_tm *tm = calloc(1, sizeof *tm);
    if (!tm)
        return mint_fail(MINT_E_NOMEM, "mint_tm_create: out of memory");
    tm->cfg = *cfg;
    tm->cfg.taps[sizeof tm->cfg.taps - 1] = 0;
    tm->dropout = MINT_TM_DROPOUT;
    tm->threshold = 0.5;
    const int *d = cfg->in_dims;
    if (cfg->kind == MINT_TM_CNN2)
        return cnn2_layout(out, tm);
    if (cfg->kind == MINT_TM_CNN) {
        if (d[0] < 1 || d[1] < 2 || d[2] < 2 || d[0] > 65536 || d[1] > 65536 || d[2] > 65536) {
            free(tm);
            return mint_fail(MINT_E_SHAPE, "CNN MINT wants an input map C x H x W with C >= 1, "
                             "H, W >= 2 (got %d x %d x %d)", d[0], d[1], d[2]);
        }
        const size_t flat = (size_t)MINT_TM_FILTERS * (size_t)(d[1] / 2) * (size_t)(d[2] / 2);
        const int hidden = min_hidden > d[0] ? min_hidden : d[0];
        if (min_hidden < 0 || min_hidden > 65536) {
            free(tm);
            return mint_fail(MINT_E_ARG, "CNN MINT: minimum Dense width %d outside 0..65536",
                             min_hidden);
        }
        if ((size_t)d[0] * d[1] * d[2] > MAX_FLOATS / 64 || flat * (size_t)hidden > MAX_FLOATS / 8) {
            free(tm);
            return mint_fail(MINT_E_NOMEM, "CNN MINT input %d x %d x %d is too large", d[0], d[1],
                             d[2]);
        }
        tm->in_size = d[0] * d[1] * d[2];
        tm->hidden = hidden;
        tm->flat = (int)flat;
        tm->l1 = 0.0f;
        add_param(tm, "conv.weight", 4, MINT_TM_FILTERS, d[0], 3, 3);
        add_param(tm, "conv.bias", 1, MINT_TM_FILTERS, 0, 0, 0);
        add_param(tm, "dense1.weight", 2, tm->hidden, tm->flat, 0, 0);
        add_param(tm, "dense1.bias", 1, tm->hidden, 0, 0, 0);
    } else if (cfg->kind == MINT_TM_VANILLA || cfg->kind == MINT_TM_OUTCOME ||
               cfg->kind == MINT_TM_VANILLA64) {
        if (d[0] < 1 || d[0] > (1 << 24)) {
            free(tm);
            return mint_fail(MINT_E_SHAPE, "%s MINT wants F >= 1 input features (got %d)",
                             mint_tm_kind_name(cfg->kind), d[0]);
        }
        tm->cfg.in_dims[1] = tm->cfg.in_dims[2] = 0;
        tm->in_size = d[0];
        tm->hidden = cfg->kind == MINT_TM_VANILLA64 ? MINT_TM_V64_HIDDEN : MINT_TM_HIDDEN;
        if (cfg->kind == MINT_TM_VANILLA64)
            tm->dropout = MINT_TM_V64_DROPOUT;
        tm->flat = d[0];
        tm->l1 = MINT_TM_L1;
        add_param(tm, "dense1.weight", 2, tm->hidden, tm->flat, 0, 0);
        add_param(tm, "dense1.bias", 1, tm->hidden, 0, 0, 0);
        add_param(tm, "bn.weight", 1, tm->hidden, 0, 0, 0);
        add_param(tm, "bn.bias", 1, tm->hidden, 0, 0, 0);
    } else {
        free(tm);
        return mint_fail(MINT_E_ARG, "mint_tm_create: unknown kind %d", (int)cfg->kind);
    }
    add_param(tm, "dense2.weight", 2, 1, tm->hidden, 0, 0);
    add_param(tm, "dense2.bias", 1, 1, 0, 0, 0);
    *out = tm;
    return MINT_OK;
}

/* The arena (parameters, gradients, Adam moments) and the BN statistics:
 * zeroed, running variances 1. Frees tm on failure. */
static mint_status tm_alloc(mint_tm *tm)
{
    tm->arena = aligned_alloc(64, 4 * tm->seg * sizeof(float));
    tm->bn_mean = aligned_alloc(64, 2 * round16((size_t)tm->hidden) * sizeof(float));
    if (!tm->arena || !tm->bn_mean) {
        const size_t seg = tm->seg;
        mint_tm_free(tm);
        return mint_fail(MINT_E_NOMEM, "mint_tm_create: out of memory for %zu parameters", seg);
    }
    memset(tm->arena, 0, 4 * tm->seg * sizeof(float));
    tm->bn_var = tm->bn_mean + round16((size_t)tm->hidden);
    for (int j = 0; j < tm->hidden; j++) {
        tm->bn_mean[j] = 0.0f;
        tm->bn_var[j] = 1.0f;
    }
    make_views(tm, tm->arena, &tm->p);
    make_views(tm, tm->arena + tm->seg, &tm->g);
    make_views(tm, tm->arena + 2 * tm->seg, &tm->m);
    make_views(tm, tm->arena + 3 * tm->seg, &tm->v);
    return MINT_OK;
}

mint_status mint_tm_create_wide(mint_tm **out, const mint_tm_config *cfg, uint64_t seed,
                                int min_hidden)
{
    mint_tm *tm;
    mint_status st = tm_layout(&tm, cfg, min_hidden);
    if (!st)
        st = tm_alloc(tm);
    if (st)
        return st;
    const int *d = cfg->in_dims;
    /* Keras defaults: glorot_uniform kernels, zero biases, BN gamma = 1 */
    base_rng r = base_rng_stream(seed, 1);
    if (is_cnn(tm))
        glorot(tm->p.conv_w, (size_t)conv1_filters(tm) * d[0] * 9, 9.0 * d[0],
               9.0 * conv1_filters(tm), &r);
    if (is_cnn2(tm))
        glorot(tm->p.conv2_w, (size_t)MINT_TM_CNN2_FILTERS2 * MINT_TM_CNN2_FILTERS1 * 9,
               9.0 * MINT_TM_CNN2_FILTERS1, 9.0 * MINT_TM_CNN2_FILTERS2, &r);
    glorot(tm->p.w1, (size_t)tm->hidden * tm->flat, tm->flat, tm->hidden, &r);
    glorot(tm->p.w2, (size_t)tm->hidden, tm->hidden, 1, &r);
    if (tm->p.bn_g)
        for (int j = 0; j < tm->hidden; j++)
            tm->p.bn_g[j] = 1.0f;
    *out = tm;
    return MINT_OK;
}

void mint_tm_free(mint_tm *tm)
{
    if (!tm)
        return;
    free(tm->arena);
    free(tm->bn_mean);
    free(tm->cal_member);
    free(tm->cal_external);
    mint_trainset_free(&tm->trainset);
    free(tm->cal_external_logit);
    free(tm->cal_external_group);
    free(tm);
}

float *mint_tm_tensor(mint_tm *tm, const char *name, size_t *count)
{
    if (!is_cnn(tm) && (!strcmp(name, "bn.running_mean") || !strcmp(name, "bn.running_var"))) {
        if (count)
            *count = (size_t)tm->hidden;
        return name[11] == 'm' ? tm->bn_mean : tm->bn_var;
    }
    for (int i = 0; i < tm->nparams; i++)
        if (!strcmp(tm->params[i].name, name)) {
            if (count)
                *count = tm->params[i].count;
            return tm->arena + tm->params[i].offset;
        }
    return NULL;
}

/* ---------------- activations ---------------- */

typedef struct {
    size_t n;
    int overflow;
} sizer;

static size_t take(sizer *s, size_t count)
{
    const size_t at = s->n;
    const size_t r = round16(count);
    if (count > MAX_FLOATS || s->n > MAX_FLOATS - r)
        s->overflow = 1;
    else
        s->n += r;
    return at;
}

mint_status mint_tm_acts_new(mint_tm_acts **out, const mint_tm *tm, int B)
{
    *out = NULL;
    if (B < 1)
        return mint_fail(MINT_E_ARG, "batch size %d < 1", B);
    mint_tm_acts *a = calloc(1, sizeof *a);
    if (!a)
        return mint_fail(MINT_E_NOMEM, "out of memory");
    a->B = B;
    const size_t b = (size_t)B, H = (size_t)tm->hidden, flat = (size_t)tm->flat;
    const size_t hw = is_cnn(tm) ? (size_t)tm->cfg.in_dims[1] * tm->cfg.in_dims[2] : 0;
    sizer s = { 0, 0 };
    size_t ox = take(&s, b * tm->in_size), oy = take(&s, b), oh1 = take(&s, b * H),
           odrop = take(&s, b * H), ologit = take(&s, b), odlogit = take(&s, b),
           odh = take(&s, b * H), odh2 = take(&s, b * H);
    size_t oconv = 0, opool = 0, odpool = 0, odconv = 0, obn = 0, oxhat = 0, oinv = 0;
    size_t oconv2 = 0, opool1 = 0, odconv2 = 0, odpool1 = 0;
    const size_t F1 = is_cnn(tm) ? (size_t)conv1_filters(tm) : 0, hw1 = is_cnn(tm) ? (size_t)(tm->cfg.in_dims[1] / 2) * (size_t)(tm->cfg.in_dims[2] / 2) : 0;
    size_t scr = net_dense_scratch(B, tm->flat, tm->hidden), s2 = net_dense_scratch(B, tm->hidden, 1);
    scr = scr > s2 ? scr : s2;
    if (is_cnn(tm)) {
        oconv = take(&s, b * F1 * hw);
        opool = take(&s, b * flat);
        odpool = take(&s, b * flat);
        odconv = take(&s, b * F1 * hw);
        const net_conv3x3_shape cs = conv_shape(tm, B);
        s2 = net_conv3x3_scratch(&cs);
        scr = scr > s2 ? scr : s2;
        if (is_cnn2(tm)) { /* the first pooled map: H/2 x W/2 */
            opool1 = take(&s, b * F1 * hw1);
            oconv2 = take(&s, b * MINT_TM_CNN2_FILTERS2 * hw1);
            odconv2 = take(&s, b * MINT_TM_CNN2_FILTERS2 * hw1);
            odpool1 = take(&s, b * F1 * hw1);
            const net_conv3x3_shape c2 = conv2_shape(tm, B);
            s2 = net_conv3x3_scratch(&c2);
            scr = scr > s2 ? scr : s2;
        }
    } else {
        obn = take(&s, b * H);
        oxhat = take(&s, b * H);
        oinv = take(&s, H);
    }
    size_t oscr = take(&s, scr);
    if (s.overflow) {
        free(a);
        return mint_fail(MINT_E_NOMEM, "activations of a batch of %d are too large", B);
    }
    a->arena = aligned_alloc(64, s.n * sizeof(float));
    /* byte offsets kept multiples of 64 (aligned_alloc wants size % 64 == 0) */
    const size_t mask_bytes = (b * H + 63) / 64 * 64;
    const size_t arg_bytes = is_cnn(tm) ? (b * flat + 63) / 64 * 64 : 0;
    const size_t nbytes = mask_bytes + arg_bytes + (is_cnn2(tm) ? (b * F1 * hw1 + 63) / 64 * 64 : 0);
    a->bytes = aligned_alloc(64, nbytes);
    if (!a->arena || !a->bytes) {
        mint_tm_acts_free(a);
        return mint_fail(MINT_E_NOMEM, "out of memory for the activations of a batch of %d "
                         "(%.1f MB)", B, (double)s.n * 4 / 1e6);
    }
    memset(a->arena, 0, s.n * sizeof(float));
    memset(a->bytes, 1, nbytes);
    float *A = a->arena;
    a->x = A + ox;
    a->y = A + oy;
    a->h1 = A + oh1;
    a->drop = A + odrop;
    a->logit = A + ologit;
    a->dlogit = A + odlogit;
    a->dh = A + odh;
    a->dh2 = A + odh2;
    a->scratch = A + oscr;
    a->nscratch = scr;
    a->mask = a->bytes;
    if (is_cnn(tm)) {
        a->conv = A + oconv;
        a->pool = A + opool;
        a->dpool = A + odpool;
        a->dconv = A + odconv;
        a->arg = a->bytes + mask_bytes;
        if (is_cnn2(tm)) {
            a->pool1 = A + opool1;
            a->conv2 = A + oconv2;
            a->dconv2 = A + odconv2;
            a->dpool1 = A + odpool1;
            a->arg1 = a->bytes + mask_bytes + arg_bytes;
        }
    } else {
        a->bn = A + obn;
        a->xhat = A + oxhat;
        a->invstd = A + oinv;
    }
    *out = a;
    return MINT_OK;
}

void mint_tm_acts_free(mint_tm_acts *a)
{
    if (!a)
        return;
    free(a->arena);
    free(a->bytes);
    free(a);
}

/* ---------------- forward / backward ---------------- */

/* The input of dense2: dropout output in training, else the layer before. */
static const float *dense2_input(const mint_tm *tm, const mint_tm_acts *a, int train)
{
    if (train)
        return a->drop;
    return is_cnn(tm) ? a->h1 : a->bn;
}

void mint_tm_forward(mint_tm *tm, mint_tm_acts *a, int B, int train)
{
    const size_t nh = (size_t)B * tm->hidden;
    const float *feat = a->x;
    if (is_cnn(tm)) {
        const net_conv3x3_shape cs = conv_shape(tm, B);
        net_conv3x3_forward(a->conv, a->x, tm->p.conv_w, tm->p.conv_b, &cs, a->scratch);
        net_relu_forward(a->conv, a->conv, (size_t)B * cs.F * cs.H * cs.W);
        if (is_cnn2(tm)) {
            const net_conv3x3_shape c2 = conv2_shape(tm, B);
            net_maxpool2_forward(a->pool1, a->arg1, a->conv, B, cs.F, cs.H, cs.W);
            net_conv3x3_forward(a->conv2, a->pool1, tm->p.conv2_w, tm->p.conv2_b, &c2, a->scratch);
            net_relu_forward(a->conv2, a->conv2, (size_t)B * c2.F * c2.H * c2.W);
            net_maxpool2_forward(a->pool, a->arg, a->conv2, B, c2.F, c2.H, c2.W);
        } else {
            net_maxpool2_forward(a->pool, a->arg, a->conv, B, cs.F, cs.H, cs.W);
        }
        feat = a->pool;
    }
    net_dense_forward(a->h1, feat, tm->p.w1, tm->p.b1, B, tm->flat, tm->hidden, a->scratch);
    net_relu_forward(a->h1, a->h1, nh);
    const float *pre_drop = a->h1;
    if (!is_cnn(tm)) {
        if (train)
            net_bn_forward_train(a->bn, a->xhat, a->invstd, a->h1, tm->p.bn_g, tm->p.bn_b,
                                 tm->bn_mean, tm->bn_var, B, tm->hidden, MINT_TM_BN_MOMENTUM,
                                 MINT_TM_BN_EPS);
        else
            net_bn_forward_eval(a->bn, a->h1, tm->p.bn_g, tm->p.bn_b, tm->bn_mean, tm->bn_var, B,
                                tm->hidden, MINT_TM_BN_EPS);
        pre_drop = a->bn;
    }
    if (train)
        net_dropout_forward(a->drop, pre_drop, a->mask, nh, tm->dropout);
    net_dense_forward(a->logit, dense2_input(tm, a, train), tm->p.w2, tm->p.b2, B, tm->hidden, 1,
                      a->scratch);
}

void mint_tm_backward(mint_tm *tm, mint_tm_acts *a, int B)
{
    const size_t nh = (size_t)B * tm->hidden;
    const float gs = a->gscale != 0.0f ? a->gscale : 1.0f;
    net_bce_logits_backward(a->dlogit, a->logit, a->y, B, gs);
    /* dh2 = d(dense2 input) */
    net_dense_backward(a->dh2, tm->g.w2, tm->g.b2, a->dlogit, a->drop, tm->p.w2, B, tm->hidden, 1,
                       a->scratch);
    net_dropout_backward(a->dh2, a->dh2, a->mask, nh, tm->dropout);
    float *dh1 = a->dh2;
    if (!is_cnn(tm)) {
        net_bn_backward(a->dh, tm->g.bn_g, tm->g.bn_b, a->dh2, a->xhat, tm->p.bn_g, a->invstd, B,
                        tm->hidden);
        dh1 = a->dh;
    }
    net_relu_backward(dh1, dh1, a->h1, nh);
    if (is_cnn(tm)) {
        const net_conv3x3_shape cs = conv_shape(tm, B);
        net_dense_backward(a->dpool, tm->g.w1, tm->g.b1, dh1, a->pool, tm->p.w1, B, tm->flat,
                           tm->hidden, a->scratch);
        if (is_cnn2(tm)) {
            const net_conv3x3_shape c2 = conv2_shape(tm, B);
            net_maxpool2_backward(a->dconv2, a->dpool, a->arg, B, c2.F, c2.H, c2.W);
            net_relu_backward(a->dconv2, a->dconv2, a->conv2, (size_t)B * c2.F * c2.H * c2.W);
            net_conv3x3_backward(a->dpool1, tm->g.conv2_w, tm->g.conv2_b, a->dconv2, a->pool1,
                                 tm->p.conv2_w, &c2, a->scratch);
            net_maxpool2_backward(a->dconv, a->dpool1, a->arg1, B, cs.F, cs.H, cs.W);
        } else {
            net_maxpool2_backward(a->dconv, a->dpool, a->arg, B, cs.F, cs.H, cs.W);
        }
        const size_t nc = (size_t)B * cs.F * cs.H * cs.W;
        net_relu_backward(a->dconv, a->dconv, a->conv, nc);
        net_conv3x3_backward(a->dx, tm->g.conv_w, tm->g.conv_b, a->dconv, a->x, tm->p.conv_w, &cs,
                             a->scratch);
    } else {
        net_dense_backward(a->dx, tm->g.w1, tm->g.b1, dh1, a->x, tm->p.w1, B, tm->flat, tm->hidden,
                           a->scratch);
        if (tm->l1 > 0.0f)
            net_l1_backward(tm->g.w1, tm->p.w1, (size_t)tm->hidden * tm->flat, tm->l1 * gs);
    }
}

/* ---------------- predict / calibrate ---------------- */

mint_status mint_tm_predict(const mint_tm *tm, const float *features, int64_t n,
                            float *scores_out)
{
    if (n > 0 && !scores_out)
        return mint_fail(MINT_E_ARG, "mint_tm_predict: bad arguments");
    return mint_tm_predict2(tm, features, n, scores_out, NULL);
}

float mint_score_logit(float score)
{
    const double s = score < 1e-7f ? 1e-7 : score > 1.0f - 1e-7f ? 1.0 - 1e-7 : score;
    return (float)log(s / (1.0 - s));
}

mint_status mint_tm_predict2(const mint_tm *tm, const float *features, int64_t n,
                             float *scores_out, float *logits_out)
{
    if (!tm || (n > 0 && !features) || n < 0)
        return mint_fail(MINT_E_ARG, "mint_tm_predict: bad arguments");
    if (n == 0)
        return MINT_OK;
    /* about 64 MB of activations per chunk */
    int64_t chunk = is_cnn(tm) ? (int64_t)(16u << 20) / ((int64_t)tm->in_size * 3 + 1) : 512;
    chunk = chunk < 1 ? 1 : chunk > 512 ? 512 : chunk;
    if (chunk > n)
        chunk = n;
    mint_tm_acts *a;
    mint_status st = mint_tm_acts_new(&a, tm, (int)chunk);
    if (st)
        return st;
    for (int64_t i = 0; i < n; i += chunk) {
        const int b = (int)(n - i < chunk ? n - i : chunk);
        memcpy(a->x, features + (size_t)i * tm->in_size, sizeof(float) * (size_t)b * tm->in_size);
        /* eval mode only reads the model (BN running statistics) */
        mint_tm_forward((mint_tm *)tm, a, b, 0);
        for (int k = 0; k < b; k++) {
            /* finite parameters and features can still overflow to inf - inf */
            if (isnan(a->logit[k])) {
                mint_tm_acts_free(a);
                return mint_fail(MINT_E_FORMAT, "the MINT model gives no score for sample %lld (NaN: "
                                 "its parameters overflow float; a damaged or hostile file?)",
                                 (long long)(i + k));
            }
            if (scores_out)
                scores_out[i + k] = net_sigmoid(a->logit[k]);
            if (logits_out)
                logits_out[i + k] = a->logit[k];
        }
    }
    mint_tm_acts_free(a);
    return MINT_OK;
}

/* The balanced-accuracy threshold (mint_best_threshold: midpoints between
 * scores, ties nearest 0.5) of member scores cm against the external
 * scores ce[i] with skip[i] == 0 (skip may be NULL). */
static mint_status train_threshold(double *thr, const float *cm, int64_t nm, const float *ce,
                                   int64_t ne, const uint8_t *skip)
{
    const size_t cap = (size_t)(nm + ne);
    double *sc = malloc(sizeof(double) * (cap ? cap : 1));
    uint8_t *lab = malloc(cap ? cap : 1);
    size_t n = 0;
    mint_status st = MINT_OK;
    if (!sc || !lab)
        st = mint_fail(MINT_E_NOMEM, "out of memory for the threshold");
    for (int64_t i = 0; !st && i < nm; i++)
        sc[n] = cm[i], lab[n++] = 1;
    for (int64_t i = 0; !st && i < ne; i++)
        if (!skip || !skip[i])
            sc[n] = ce[i], lab[n++] = 0;
    *thr = 0.5;
    if (!st && n > (size_t)nm && nm > 0)
        st = mint_best_threshold(thr, NULL, sc, lab, n);
    free(sc);
    free(lab);
    return st;
}

mint_status mint_tm_calibrate_held(mint_tm *tm, const float *members, int64_t n_mem,
                                   const float *external, int64_t n_ext, const int64_t *held,
                                   int64_t n_held)
{
    if (n_mem < 0 || n_ext < 0 || n_held < 0 || n_held > n_ext || (n_held && !held))
        return mint_fail(MINT_E_ARG, "mint_tm_calibrate: bad counts");
    float *cm = malloc(sizeof(float) * (size_t)(n_mem ? n_mem : 1));
    float *ce = malloc(sizeof(float) * (size_t)(n_ext ? n_ext : 1));
    float *cl = malloc(sizeof(float) * (size_t)(n_ext ? n_ext : 1));
    mint_status st = MINT_OK;
    if (!cm || !ce || !cl)
        st = mint_fail(MINT_E_NOMEM, "mint_tm_calibrate: out of memory");
    if (!st)
        st = mint_tm_predict(tm, members, n_mem, cm);
    if (!st)
        st = mint_tm_predict2(tm, external, n_ext, ce, cl);
    if (st) {
        free(cm), free(ce), free(cl);
        return st;
    }
    return mint_tm_calibrate_scores(tm, cm, n_mem, ce, cl, n_ext, held, n_held);
}

mint_status mint_tm_calibrate_scores(mint_tm *tm, float *cm, int64_t n_mem, float *ce, float *cl,
                                     int64_t n_ext, const int64_t *held, int64_t n_held)
{
    mint_status st = MINT_OK;
    uint8_t *skip = n_held ? calloc((size_t)n_ext, 1) : NULL;
    if (n_held && !skip)
        st = mint_fail(MINT_E_NOMEM, "mint_tm_calibrate: out of memory");
    for (int64_t i = 0; !st && i < n_held; i++) {
        if (held[i] < 0 || held[i] >= n_ext || skip[held[i]])
            st = mint_fail(MINT_E_ARG, "mint_tm_calibrate: bad held-out index %lld",
                           (long long)held[i]);
        else
            skip[held[i]] = 1;
    }
    double thr = 0.5;
    if (!st) /* on the training data: the members and the external samples trained on */
        st = train_threshold(&thr, cm, n_mem, ce, n_ext, skip);
    if (!st && n_held) { /* the reference: held-out external scores, in held[] order */
        float *ch = malloc(sizeof(float) * (size_t)n_held);
        float *lh = malloc(sizeof(float) * (size_t)n_held);
        if (!ch || !lh) {
            free(ch), free(lh);
            st = mint_fail(MINT_E_NOMEM, "mint_tm_calibrate: out of memory");
        } else {
            for (int64_t i = 0; i < n_held; i++) {
                ch[i] = ce[held[i]];
                lh[i] = cl[held[i]];
            }
            free(ce), free(cl);
            ce = ch;
            cl = lh;
        }
    }
    const int64_t nref = n_held ? n_held : n_ext;
    int32_t *grp = st ? NULL : malloc(sizeof(int32_t) * (size_t)(nref ? nref : 1));
    if (!st && !grp)
        st = mint_fail(MINT_E_NOMEM, "mint_tm_calibrate: out of memory");
    free(skip);
    if (st) {
        free(cm), free(ce), free(cl), free(grp);
        return st;
    }
    for (int64_t i = 0; i < nref; i++)
        grp[i] = -1;
    free(tm->cal_member);
    free(tm->cal_external);
    free(tm->cal_external_logit);
    free(tm->cal_external_group);
    tm->cal_member = cm;
    tm->cal_external = ce;
    tm->cal_external_logit = cl;
    tm->cal_external_group = grp;
    tm->cal_ref_identities = -1;
    snprintf(tm->cal_holdout_by, sizeof tm->cal_holdout_by, "%s", n_held ? "sample" : "");
    tm->n_cal_member = n_mem;
    tm->n_cal_external = nref;
    tm->cal_external_heldout = n_held > 0;
    tm->threshold = thr;
    return MINT_OK;
}

static int cmp_i32(const void *a, const void *b)
{
    const int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

mint_status mint_tm_set_reference_groups(mint_tm *tm, const int32_t *ext_group,
                                         const int64_t *held, int64_t n_held,
                                         const char *holdout_by)
{
    if (!tm || !ext_group || n_held != tm->n_cal_external || !tm->cal_external_group ||
        (n_held && !held))
        return mint_fail(MINT_E_ARG, "mint_tm_set_reference_groups: the calibration holds %lld "
                         "samples, %lld given", (long long)tm->n_cal_external, (long long)n_held);
    int32_t *g = malloc(sizeof(int32_t) * (size_t)(n_held ? n_held : 1));
    if (!g)
        return mint_fail(MINT_E_NOMEM, "out of memory");
    int64_t k = 0, unknown = 0;
    for (int64_t i = 0; i < n_held; i++) {
        tm->cal_external_group[i] = ext_group[held[i]] >= 0 ? ext_group[held[i]] : -1;
        if (tm->cal_external_group[i] >= 0)
            g[k++] = tm->cal_external_group[i];
        else
            unknown++;
    }
    qsort(g, (size_t)k, sizeof *g, cmp_i32);
    int64_t distinct = 0;
    for (int64_t i = 0; i < k; i++)
        distinct += i == 0 || g[i] != g[i - 1];
    free(g);
    tm->cal_ref_identities = distinct + unknown;
    snprintf(tm->cal_holdout_by, sizeof tm->cal_holdout_by, "%s", holdout_by ? holdout_by : "");
    return MINT_OK;
}

mint_status mint_tm_calibrate(mint_tm *tm, const float *members, int64_t n_mem,
                              const float *external, int64_t n_ext)
{
    return mint_tm_calibrate_held(tm, members, n_mem, external, n_ext, NULL, 0);
}

/* ---------------- checkpoints ---------------- */

static mint_status mint_tm_write_quality(const mint_tm *tm, wt_writer *w)
{
    mint_status st = wt_writer_meta_f64(w, "mint.quality.auc", tm->q_auc);
    if (!st)
        st = wt_writer_meta_f64(w, "mint.quality.tpr_at_1pct_fpr", tm->q_tpr_1pct);
    if (!st)
        st = wt_writer_meta_f64(w, "mint.quality.balanced_accuracy", tm->q_bacc);
    if (!st)
        st = wt_writer_meta_i64(w, "mint.quality.members", tm->q_n_members);
    if (!st)
        st = wt_writer_meta_i64(w, "mint.quality.external", tm->q_n_external);
    if (!st)
        st = wt_writer_meta_str(w, "mint.quality.data", tm->q_data);
    if (!st)
        st = wt_writer_meta_str(w, "mint.quality.date", tm->q_date);
    return st;
}

mint_status mint_tm_write(const mint_tm *tm, wt_writer *w)
{
    int64_t dims[3];
    const int rank = is_cnn(tm) ? 3 : 1;
    for (int i = 0; i < rank; i++)
        dims[i] = tm->cfg.in_dims[i];
    mint_status st = wt_writer_meta_str(w, "mint.kind", mint_tm_kind_name(tm->cfg.kind));
    if (!st)
        st = wt_writer_meta_str(w, "mint.taps", tm->cfg.taps);
    if (!st && tm->cfg.network_sha256[0])
        st = wt_writer_meta_str(w, "mint.network_sha256", tm->cfg.network_sha256);
    if (!st)
        st = wt_writer_meta_i64_arr(w, "mint.input_dims", dims, (size_t)rank);
    if (!st)
        st = wt_writer_meta_str(w, "mint.version", MINT_VERSION);
    if (!st)
        st = wt_writer_meta_i64(w, "mint.hidden", tm->hidden);
    if (!st)
        st = wt_writer_meta_f64(w, "mint.dropout", tm->dropout);
    if (!st)
        st = wt_writer_meta_f64(w, "mint.l1", tm->l1);
    if (!st && !is_cnn(tm))
        st = wt_writer_meta_f64(w, "mint.bn_eps", MINT_TM_BN_EPS);
    if (!st)
        st = wt_writer_meta_f64(w, "mint.threshold", tm->threshold);
    if (!st)
        st = wt_writer_meta_i64(w, "mint.train.epochs", tm->train_epochs);
    if (!st)
        st = wt_writer_meta_i64(w, "mint.train.steps", tm->train_steps);
    if (!st)
        st = wt_writer_meta_i64(w, "mint.train.batch", tm->train_batch);
    if (!st)
        st = wt_writer_meta_i64(w, "mint.train.seed", (int64_t)tm->train_seed);
    if (!st)
        st = wt_writer_meta_f64(w, "mint.train.accuracy", tm->train_accuracy);
    if (!st)
        st = wt_writer_meta_str(w, "mint.optimizer", "adam(lr=1e-3,betas=0.9/0.999,eps=1e-8; torch.optim.Adam)");
    for (int i = 0; !st && i < tm->nparams; i++) {
        const mint_tm_param *p = &tm->params[i];
        st = wt_writer_tensor(w, p->name, BASE_F32, p->rank, p->dims, tm->arena + p->offset);
    }
    if (!st && !is_cnn(tm)) {
        const int64_t h = tm->hidden;
        st = wt_writer_tensor(w, "bn.running_mean", BASE_F32, 1, &h, tm->bn_mean);
        if (!st)
            st = wt_writer_tensor(w, "bn.running_var", BASE_F32, 1, &h, tm->bn_var);
    }
    if (!st && tm->n_cal_external > 0)
        st = wt_writer_meta_str(w, "mint.calibration.external",
                                tm->cal_external_heldout ? "held-out external samples (not trained on)"
                                                         : "external training samples");
    if (!st && tm->n_cal_external > 0)
        st = wt_writer_tensor(w, "calibration.external_scores", BASE_F32, 1, &tm->n_cal_external,
                              tm->cal_external);
    if (!st && tm->n_cal_member > 0)
        st = wt_writer_tensor(w, "calibration.member_scores", BASE_F32, 1, &tm->n_cal_member,
                              tm->cal_member);
    if (!st)
        st = mint_trainset_write(&tm->trainset, w);
    if (!st && tm->n_cal_external > 0 && tm->cal_external_logit)
        st = wt_writer_tensor(w, "calibration.external_logits", BASE_F32, 1, &tm->n_cal_external,
                              tm->cal_external_logit);
    if (!st && tm->n_cal_external > 0 && tm->cal_external_group)
        st = wt_writer_tensor(w, "calibration.external_identity", BASE_I32, 1,
                              &tm->n_cal_external, tm->cal_external_group);
    if (!st && tm->n_cal_external > 0 && tm->cal_holdout_by[0])
        st = wt_writer_meta_str(w, "mint.calibration.holdout_by", tm->cal_holdout_by);
    if (!st && tm->n_cal_external > 0)
        st = wt_writer_meta_i64(w, "mint.calibration.identities", tm->cal_ref_identities);
    if (!st && tm->has_quality)
        st = mint_tm_write_quality(tm, w);
    return st;
}

mint_status mint_tm_save(const mint_tm *tm, const char *path)
{
    wt_writer *w = wt_writer_new();
    if (!w)
        return mint_fail(MINT_E_NOMEM, "mint_tm_save: out of memory");
    mint_status st = mint_tm_write(tm, w);
    if (!st)
        st = wt_writer_write(w, path);
    wt_writer_free(w);
    return st;
}

static mint_status load_scores(const wt_file *f, const char *name, float **out, int64_t *n)
{
    const wt_tensor *t = wt_tensor_find(f, name);
    *out = NULL;
    *n = 0;
    if (!t)
        return MINT_OK;
    mint_status st = wt_tensor_get(f, name, BASE_F32, 1, NULL, &t);
    if (st)
        return st;
    *out = malloc(sizeof(float) * (size_t)(t->nelem ? t->nelem : 1));
    if (!*out)
        return mint_fail(MINT_E_NOMEM, "out of memory for %s", name);
    memcpy(*out, t->data, sizeof(float) * (size_t)t->nelem);
    *n = (int64_t)t->nelem;
    return MINT_OK;
}

static int64_t meta_i64(const wt_file *f, const char *key, int64_t dflt)
{
    const wt_meta *m = wt_meta_find(f, key);
    return m && m->type == WT_META_I64 ? m->i64 : dflt;
}

static double meta_f64(const wt_file *f, const char *key, double dflt)
{
    const wt_meta *m = wt_meta_find(f, key);
    return m && m->type == WT_META_F64 ? m->f64 : dflt;
}

static void meta_str(const wt_file *f, const char *key, char *out, size_t cap)
{
    const wt_meta *m = wt_meta_find(f, key);
    snprintf(out, cap, "%s", m && m->type == WT_META_STR ? m->str : "");
}

/* The identity-level reference: logits and identities of the external
 * calibration samples. Files from before they were kept get logits from
 * the stored scores and unknown identities (held out by sample). */
static mint_status load_reference(mint_tm *tm, const wt_file *f, const char *path)
{
    const int64_t n = tm->n_cal_external;
    if (n == 0)
        return MINT_OK;
    tm->cal_external_logit = malloc(sizeof(float) * (size_t)n);
    tm->cal_external_group = malloc(sizeof(int32_t) * (size_t)n);
    if (!tm->cal_external_logit || !tm->cal_external_group)
        return mint_fail(MINT_E_NOMEM, "out of memory for the reference");
    const wt_tensor *t;
    mint_status st = MINT_OK;
    if (wt_tensor_find(f, "calibration.external_logits")) {
        const int64_t dim = n;
        if (!(st = wt_tensor_get(f, "calibration.external_logits", BASE_F32, 1, &dim, &t)))
            memcpy(tm->cal_external_logit, t->data, sizeof(float) * (size_t)n);
        for (int64_t i = 0; !st && i < n; i++)
            if (!isfinite(tm->cal_external_logit[i]))
                st = mint_fail(MINT_E_FORMAT, "%s: reference logit %lld is not finite", path,
                               (long long)i);
    } else {
        for (int64_t i = 0; i < n; i++)
            tm->cal_external_logit[i] = mint_score_logit(tm->cal_external[i]);
    }
    if (!st && wt_tensor_find(f, "calibration.external_identity")) {
        const int64_t dim = n;
        if (!(st = wt_tensor_get(f, "calibration.external_identity", BASE_I32, 1, &dim, &t)))
            memcpy(tm->cal_external_group, t->data, sizeof(int32_t) * (size_t)n);
    } else {
        for (int64_t i = 0; i < n; i++)
            tm->cal_external_group[i] = -1;
    }
    meta_str(f, "mint.calibration.holdout_by", tm->cal_holdout_by, sizeof tm->cal_holdout_by);
    if (!tm->cal_holdout_by[0] && tm->cal_external_heldout)
        snprintf(tm->cal_holdout_by, sizeof tm->cal_holdout_by, "sample");
    tm->cal_ref_identities = meta_i64(f, "mint.calibration.identities", -1);
    return st;
}

static void load_quality(mint_tm *tm, const wt_file *f)
{
    tm->has_quality = wt_meta_find(f, "mint.quality.auc") != NULL;
    if (!tm->has_quality)
        return;
    tm->q_auc = meta_f64(f, "mint.quality.auc", NAN);
    tm->q_tpr_1pct = meta_f64(f, "mint.quality.tpr_at_1pct_fpr", NAN);
    tm->q_bacc = meta_f64(f, "mint.quality.balanced_accuracy", NAN);
    tm->q_n_members = meta_i64(f, "mint.quality.members", 0);
    tm->q_n_external = meta_i64(f, "mint.quality.external", 0);
    meta_str(f, "mint.quality.data", tm->q_data, sizeof tm->q_data);
    meta_str(f, "mint.quality.date", tm->q_date, sizeof tm->q_date);
}

/* Every tensor of tm's layout found in f, shape-checked and finite, into t
 * (params, then BN running mean and variance): reads f only. */
static mint_status tm_check(const mint_tm *tm, const wt_file *f, const wt_tensor **t)
{
    mint_status st = MINT_OK;
    for (int i = 0; !st && i < tm->nparams; i++) {
        const mint_tm_param *p = &tm->params[i];
        st = wt_tensor_get(f, p->name, BASE_F32, p->rank, p->dims, &t[i]);
    }
    const int64_t h = tm->hidden;
    if (!st && !is_cnn(tm))
        st = wt_tensor_get(f, "bn.running_mean", BASE_F32, 1, &h, &t[tm->nparams]);
    if (!st && !is_cnn(tm))
        st = wt_tensor_get(f, "bn.running_var", BASE_F32, 1, &h, &t[tm->nparams + 1]);
    /* a damaged file must not give NaN scores: every value finite, the
     * running variances not negative */
    const int nt = tm->nparams + (is_cnn(tm) ? 0 : 2);
    for (int i = 0; !st && i < nt; i++) {
        const int is_var = !is_cnn(tm) && i == tm->nparams + 1;
        int64_t bad = net_first_bad_value(t[i]->data, (size_t)t[i]->nelem, is_var);
        if (bad >= 0)
            st = mint_fail(MINT_E_FORMAT, "%s: tensor '%s' element %lld is %g: %s", wt_file_path(f), t[i]->name,
                           (long long)bad, (double)((const float *)t[i]->data)[bad],
                           is_var ? "variances must be finite and >= 0"
                                  : "parameters must be finite");
    }
    return st;
}

/* Copy the checked tensors t (tm_check) into tm. */
static void tm_copy(mint_tm *tm, const wt_tensor *const *t)
{
    const int64_t h = tm->hidden;
    for (int i = 0; i < tm->nparams; i++)
        memcpy(tm->arena + tm->params[i].offset, t[i]->data, sizeof(float) * tm->params[i].count);
    if (!is_cnn(tm)) {
        memcpy(tm->bn_mean, t[tm->nparams]->data, sizeof(float) * (size_t)h);
        memcpy(tm->bn_var, t[tm->nparams + 1]->data, sizeof(float) * (size_t)h);
    }
}

mint_status mint_tm_read(mint_tm *tm, const wt_file *f)
{
    /* every tensor is found and shape-checked before anything is copied */
    const wt_tensor *t[MINT_TM_MAX_PARAMS + 2];
    mint_status st = tm_check(tm, f, t);
    if (!st)
        tm_copy(tm, t);
    return st;
}

mint_status mint_tm_load(mint_tm **out, const char *path)
{
    *out = NULL;
    wt_file *f;
    mint_status st = wt_open(&f, path);
    if (st)
        return st;
    mint_tm_config cfg;
    memset(&cfg, 0, sizeof cfg);
    const wt_meta *mk = wt_meta_find(f, "mint.kind"), *md = wt_meta_find(f, "mint.input_dims"),
                  *mt = wt_meta_find(f, "mint.taps"), *mn = wt_meta_find(f, "mint.network_sha256");
    if (mn && mn->type == WT_META_STR && mn->len == 64)
        memcpy(cfg.network_sha256, mn->str, 65);
    if (!mk || mk->type != WT_META_STR || !md || md->type != WT_META_I64_ARR) {
        wt_close(f);
        return mint_fail(MINT_E_FORMAT, "%s: not a MINT model (no mint.kind / mint.input_dims "
                         "metadata)", path);
    }
    st = mint_tm_kind_parse(mk->str, &cfg.kind);
    const uint64_t want = mint_tm_kind_is_conv(cfg.kind) ? 3 : 1;
    if (!st && md->count != want)
        st = mint_fail(MINT_E_FORMAT, "%s: mint.input_dims has %llu entries, a %s model needs %llu",
                       path, (unsigned long long)md->count, mk->str, (unsigned long long)want);
    for (uint64_t i = 0; !st && i < want; i++) {
        if (md->i64s[i] < 1 || md->i64s[i] > 65536 * (want == 1 ? 256 : 1))
            st = mint_fail(MINT_E_FORMAT, "%s: bad mint.input_dims", path);
        else
            cfg.in_dims[i] = (int)md->i64s[i];
    }
    if (!st && mt && mt->type == WT_META_STR)
        snprintf(cfg.taps, sizeof cfg.taps, "%s", mt->str);
    /* a CNN trained with a wider Dense layer than C (--min-hidden) records
     * its width in mint.hidden; older files hold C there (or nothing) */
    const int64_t hid = meta_i64(f, "mint.hidden", 0);
    const int wide = cfg.kind == MINT_TM_CNN && hid > cfg.in_dims[0] && hid <= 65536 ? (int)hid : 0;
    /* the tensors are checked against the layout (they lie in the file, so
     * their sizes are bounded by its size) before the arena is allocated:
     * metadata alone allocates nothing */
    mint_tm *tm = NULL;
    const wt_tensor *t[MINT_TM_MAX_PARAMS + 2];
    if (!st)
        st = tm_layout(&tm, &cfg, wide);
    if (!st && (st = tm_check(tm, f, t)) != MINT_OK) {
        free(tm);
        tm = NULL;
    }
    if (!st)
        st = tm_alloc(tm);
    if (!st)
        tm_copy(tm, t);
    else
        tm = NULL; /* tm_alloc freed it */
    if (!st)
        st = load_scores(f, "calibration.external_scores", &tm->cal_external, &tm->n_cal_external);
    if (!st)
        st = load_scores(f, "calibration.member_scores", &tm->cal_member, &tm->n_cal_member);
    if (!st) {
        const wt_meta *ce = wt_meta_find(f, "mint.calibration.external");
        tm->cal_external_heldout = ce && ce->type == WT_META_STR && !strncmp(ce->str, "held-out", 8);
        const wt_meta *th = wt_meta_find(f, "mint.threshold");
        if (th && th->type == WT_META_F64)
            tm->threshold = th->f64;
        const wt_meta *ta = wt_meta_find(f, "mint.train.accuracy");
        if (ta && ta->type == WT_META_F64)
            tm->train_accuracy = ta->f64;
        tm->train_epochs = meta_i64(f, "mint.train.epochs", 0);
        tm->train_steps = meta_i64(f, "mint.train.steps", 0);
        tm->train_batch = meta_i64(f, "mint.train.batch", 0);
        tm->train_seed = (uint64_t)meta_i64(f, "mint.train.seed", 0);
    }
    if (!st)
        st = mint_trainset_read(&tm->trainset, f);
    if (!st)
        st = load_reference(tm, f, path);
    if (!st)
        load_quality(tm, f);
    wt_close(f);
    if (st) {
        mint_tm_free(tm);
        return st;
    }
    *out = tm;
    return MINT_OK;
}
