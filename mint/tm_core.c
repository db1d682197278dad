/* tm_core.c - one training step of `mint train-model` (see tm_core.h). */
#include "mint/tm_core.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"

void tm_core_free(tm_core *c)
{
    if (!c)
        return;
    tm_head_free(&c->head);
    net_optim_destroy(c->opt);
    net_tgraph_destroy(c->t);
    free(c->Wh), free(c->dWh), free(c->in), free(c->labels), free(c->head_y);
    free(c->dout), free(c->scratch);
    memset(c, 0, sizeof *c);
}

/* The network view, with the Active MINT taps. */
static mint_status make_view(tm_core *c, net_graph *g)
{
    const tm_core_cfg *k = &c->cfg;
    char names[TM_HEAD_MAX_TAPS][64];
    const char *taps[TM_HEAD_MAX_TAPS];
    int nt = 0;
    const char *p = k->amint ? (k->amint_taps ? k->amint_taps : "layer1") : "";
    while (*p && nt < TM_HEAD_MAX_TAPS) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        snprintf(names[nt], sizeof names[nt], "%.*s", (int)len, p);
        taps[nt] = names[nt];
        nt++;
        p += len + (e != NULL);
    }
    net_tgraph_opts to = { nt ? taps : NULL, nt, k->dropout, k->seed };
    mint_status st = net_tgraph_create(&c->t, g, k->B + k->Be, &to);
    if (!st)
        st = net_tgraph_freeze(c->t, "features.weight");
    return st;
}

mint_status tm_core_create(tm_core *c, net_graph *g, const tm_core_cfg *cfg)
{
    memset(c, 0, sizeof *c);
    c->cfg = *cfg;
    const int n = cfg->B + cfg->Be;
    const size_t nw = (size_t)cfg->classes * cfg->emb;
    mint_status st = make_view(c, g);
    if (st)
        goto fail;
    c->np = net_tgraph_nparams(c->t);
    size_t *sizes = malloc(((size_t)c->np + 1) * sizeof *sizes);
    if (!sizes) {
        st = mint_fail(MINT_E_NOMEM, "out of memory");
        goto fail;
    }
    for (int i = 0; i < c->np; i++)
        sizes[i] = net_tgraph_param(c->t, i)->n;
    sizes[c->np] = nw;
    st = net_optim_create(&c->opt, &cfg->oc, c->np + 1, sizes);
    free(sizes);
    if (st)
        goto fail;
    const int *in_dims = NULL;
    (void)in_dims;
    const net_meta *m = &g->meta;
    c->Wh = malloc((nw + 1) * sizeof(float));
    c->dWh = malloc((nw + 1) * sizeof(float));
    c->in = malloc((size_t)n * m->in_c * m->in_h * m->in_w * sizeof(float));
    c->dout = malloc((size_t)n * cfg->emb * sizeof(float));
    c->labels = malloc((size_t)n * sizeof(int));
    c->head_y = malloc((size_t)n);
    c->scratch = malloc((net_margin_head_scratch(n, cfg->emb, cfg->classes) + 1) * sizeof(float));
    if (!c->Wh || !c->dWh || !c->in || !c->dout || !c->labels || !c->head_y || !c->scratch) {
        st = mint_fail(MINT_E_NOMEM, "out of memory for a batch of %d", n);
        goto fail;
    }
    base_rng r = base_rng_stream(cfg->seed, 0xfc);
    for (size_t i = 0; i < nw; i++) { /* N(0, 0.01), as PartialFC */
        double u1 = base_rng_open01(&r), u2 = base_rng_open01(&r);
        c->Wh[i] = (float)(0.01 * sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
    }
    if (cfg->amint &&
        (st = tm_head_create(&c->head, c->t, cfg->amint_taps, cfg->amint_kind,
                             cfg->amint_min_hidden, n, cfg->seed ^ 0xa417)))
        goto fail;
    if (cfg->amint && cfg->amint_lr > 0)
        c->head.lr = cfg->amint_lr;
    return MINT_OK;
fail:
    tm_core_free(c);
    return st;
}

/* The Active MINT part: the head's loss gradient goes into the taps. */
static mint_status amint_part(tm_core *c, tm_step_stats *s)
{
    tm_head *h = &c->head;
    const int n = c->cfg.B + c->cfg.Be;
    int nh = 0;
    for (int b = 0; b < n; b++)
        if (c->head_y[b] >= 0) {
            h->rows[nh] = b;
            h->acts->y[nh] = (float)c->head_y[b];
            nh++;
        }
    s->mint_n = nh;
    if (nh < 2)
        return MINT_OK;
    mint_status st = tm_head_features(h, c->t, h->rows, nh, h->acts->x, h->arg);
    if (st)
        return st;
    tm_head_forward(h, nh, c->cfg.seed ^ 0x4d1, &s->mint_loss, &s->mint_correct);
    if (c->l0_mint <= 0.0) /* the first batch's loss is the unit */
        c->l0_mint = s->mint_loss > 1e-12 ? s->mint_loss : 1.0;
    tm_head_update(h, nh, (float)(1.0 / c->l0_mint));
    return tm_head_scatter(h, c->t, h->rows, nh, h->acts->dx);
}

mint_status tm_core_step(tm_core *c, int64_t gstep, tm_step_stats *s)
{
    const tm_core_cfg *k = &c->cfg;
    const int B = k->B, n = B + k->Be;
    memset(s, 0, sizeof *s);
    mint_status st = net_tgraph_forward(c->t, c->in, n, 1);
    if (st)
        return st;
    const float *emb = net_tgraph_output(c->t);
    memset(c->dout, 0, (size_t)n * k->emb * sizeof(float));
    memset(c->dWh, 0, (size_t)k->classes * k->emb * sizeof(float));
    if (k->amint && c->l0_task <= 0.0) { /* the first batch's loss is the unit */
        if ((st = net_margin_head(&k->mg, emb, c->Wh, c->labels, B, k->emb, k->classes, NULL, NULL,
                                  1.0f, &c->l0_task, NULL, c->scratch)))
            return st;
        if (!(c->l0_task > 1e-12))
            c->l0_task = 1.0;
    }
    const float gs = k->amint ? (float)(1.0 / c->l0_task) : 1.0f;
    if ((st = net_margin_head(&k->mg, emb, c->Wh, c->labels, B, k->emb, k->classes, c->dout,
                              c->dWh, gs, &s->task_loss, &s->task_correct, c->scratch)))
        return st;
    if (!isfinite(s->task_loss))
        return mint_fail(MINT_E_ARG, "the task loss became %g at step %lld: lower --lr (now %g)",
                         s->task_loss, (long long)gstep + 1, k->lr.base);
    if (k->amint && (st = amint_part(c, s)))
        return st;
    net_tgraph_zero_grad(c->t);
    if ((st = net_tgraph_backward(c->t, c->dout)))
        return st;
    const double lr = net_lr_at(&k->lr, gstep, k->total);
    net_optim_begin_step(c->opt);
    for (int i = 0; i < c->np; i++) {
        net_tparam *p = net_tgraph_param(c->t, i);
        if (!p->frozen)
            net_optim_update(c->opt, i, p->w, p->g, lr, p->decay);
    }
    net_optim_update(c->opt, c->np, c->Wh, c->dWh, lr, 1);
    return MINT_OK;
}
