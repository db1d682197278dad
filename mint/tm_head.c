/* tm_head.c - the Active MINT head (see tm_head.h). */
#include "mint/tm_head.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mint/train.h"
#include "net/optim.h"
#include "net/train_ops.h"

void tm_head_free(tm_head *h)
{
    if (!h)
        return;
    if (h->acts) { /* dx is the head's own buffer, not the activations' */
        free(h->acts->dx);
        h->acts->dx = NULL;
    }
    mint_tm_acts_free(h->acts);
    mint_tm_free(h->tm);
    free(h->arg);
    free(h->rows);
    memset(h, 0, sizeof *h);
}

/* Split the comma list into h->tapnames. */
static mint_status parse_taps(tm_head *h, const char *taps)
{
    const char *p = taps && *taps ? taps : "layer1";
    h->ntaps = 0;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 0 || len >= sizeof h->tapnames[0] || h->ntaps == TM_HEAD_MAX_TAPS)
            return mint_fail(MINT_E_ARG, "--amint-taps '%s': give 1..%d names separated by commas",
                             taps, TM_HEAD_MAX_TAPS);
        memcpy(h->tapnames[h->ntaps], p, len);
        h->tapnames[h->ntaps++][len] = '\0';
        p += len + (e != NULL);
    }
    return h->ntaps ? MINT_OK : mint_fail(MINT_E_ARG, "--amint-taps: no tap named");
}

mint_status tm_head_create(tm_head *h, net_tgraph *t, const char *taps, const char *kind,
                           int min_hidden, int bmax, uint64_t seed)
{
    memset(h, 0, sizeof *h);
    mint_tm_kind k;
    mint_status st = mint_tm_kind_parse(kind ? kind : "cnn", &k);
    if (st)
        return st;
    if (k == MINT_TM_OUTCOME)
        return mint_fail(MINT_E_ARG, "--amint-kind outcome: the outcome model reads no taps; "
                         "use cnn or vanilla");
    if ((st = parse_taps(h, taps)))
        return st;
    h->cnn = k == MINT_TM_CNN;
    if (h->cnn && h->ntaps != 1)
        return mint_fail(MINT_E_ARG, "--amint-kind cnn reads one tap, %d given", h->ntaps);
    mint_tm_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.kind = k;
    int total = 0;
    for (int i = 0; i < h->ntaps; i++) {
        const float *act;
        float *grad;
        if ((st = net_tgraph_tap(t, h->tapnames[i], &act, &grad, &h->rank[i], h->dims[i])))
            return st;
        if (h->rank[i] == 3)
            total += h->cnn ? h->dims[i][0] * h->dims[i][1] * h->dims[i][2] : h->dims[i][2];
        else
            total += h->dims[i][0];
        if (h->cnn && h->rank[i] != 3)
            return mint_fail(MINT_E_ARG, "--amint-kind cnn needs a spatial tap; %s is a vector",
                             h->tapnames[i]);
    }
    snprintf(cfg.taps, sizeof cfg.taps, "%s", taps && *taps ? taps : "layer1");
    if (h->cnn) { /* NHWC dims of the tap -> the CNN's C, H, W */
        cfg.in_dims[0] = h->dims[0][2];
        cfg.in_dims[1] = h->dims[0][0];
        cfg.in_dims[2] = h->dims[0][1];
    } else {
        cfg.in_dims[0] = total;
    }
    h->in_size = total;
    h->bmax = bmax;
    h->lr = 1e-3;
    if ((st = mint_tm_create_wide(&h->tm, &cfg, seed, h->cnn ? min_hidden : 0)) ||
        (st = mint_tm_acts_new(&h->acts, h->tm, bmax)))
        goto fail;
    h->acts->dx = malloc((size_t)bmax * total * sizeof(float));
    h->arg = malloc((size_t)bmax * total * sizeof(int32_t));
    h->rows = malloc((size_t)bmax * sizeof(int32_t));
    if (!h->acts->dx || !h->arg || !h->rows) {
        st = mint_fail(MINT_E_NOMEM, "out of memory for the Active MINT head");
        goto fail;
    }
    return MINT_OK;
fail:
    tm_head_free(h);
    return st;
}

/* Tap k's activations and gradient, floats per sample, pixels, channels. */
static mint_status tap_geom(tm_head *h, net_tgraph *t, int k, const float **act, float **grad,
                            size_t *per, int *hw, int *c)
{
    int rank, d[3];
    mint_status st = net_tgraph_tap(t, h->tapnames[k], act, grad, &rank, d);
    if (st)
        return st;
    *per = rank == 3 ? (size_t)d[0] * d[1] * d[2] : (size_t)d[0];
    *hw = rank == 3 ? d[0] * d[1] : 1;
    *c = rank == 3 ? d[2] : d[0];
    return MINT_OK;
}

/* One sample of tap k: features (gather) or their gradient added back
 * (scatter, when dx is given). */
static void row_gather(const tm_head *h, const float *a, float *o, int32_t *ag, int hw, int c)
{
    if (h->cnn) { /* NHWC -> CHW */
        for (int p = 0; p < hw; p++)
            for (int ch = 0; ch < c; ch++)
                o[(size_t)ch * hw + p] = a[(size_t)p * c + ch];
        return;
    }
    for (int ch = 0; ch < c; ch++) { /* first maximum in memory (CHW) order, NaN kept */
        float m = a[ch];
        int32_t best = 0;
        for (int p = 1; p < hw && !isnan(m); p++) {
            float v = a[(size_t)p * c + ch];
            if (v > m || isnan(v)) {
                m = v;
                best = p;
            }
        }
        o[ch] = m;
        if (ag)
            ag[ch] = best;
    }
}

static void row_scatter(const tm_head *h, float *g, const float *s, const int32_t *ag, int hw,
                        int c)
{
    if (h->cnn) {
        for (int p = 0; p < hw; p++)
            for (int ch = 0; ch < c; ch++)
                g[(size_t)p * c + ch] += s[(size_t)ch * hw + p];
        return;
    }
    for (int ch = 0; ch < c; ch++)
        g[(size_t)ag[ch] * c + ch] += s[ch];
}

/* Gather features of rows into x (dx NULL), or add dx into the taps'
 * gradients (rows are distinct: each sample is written by one thread). */
static mint_status each_tap(tm_head *h, net_tgraph *t, const int32_t *rows, int n, float *x,
                            int32_t *arg, const float *dx)
{
    int off = 0;
    for (int k = 0; k < h->ntaps; k++) {
        const float *act;
        float *grad;
        size_t per;
        int hw, c;
        mint_status st = tap_geom(h, t, k, &act, &grad, &per, &hw, &c);
        if (st)
            return st;
#pragma omp parallel for schedule(static)
        for (int i = 0; i < n; i++) {
            const size_t o = (size_t)i * h->in_size + off;
            if (dx)
                row_scatter(h, grad + (size_t)rows[i] * per, dx + o, h->arg + o, hw, c);
            else
                row_gather(h, act + (size_t)rows[i] * per, x + o, arg ? arg + o : NULL, hw, c);
        }
        off += h->cnn ? (int)per : c;
    }
    return MINT_OK;
}

mint_status tm_head_features(tm_head *h, net_tgraph *t, const int32_t *rows, int n, float *x,
                             int32_t *arg)
{
    return each_tap(h, t, rows, n, x, arg, NULL);
}

mint_status tm_head_scatter(tm_head *h, net_tgraph *t, const int32_t *rows, int n,
                            const float *dx)
{
    return each_tap(h, t, rows, n, NULL, NULL, dx);
}

void tm_head_forward(tm_head *h, int n, uint64_t seed, double *loss, int *correct)
{
    mint_tm *tm = h->tm;
    mint_tm_acts *a = h->acts;
    const size_t nmask = (size_t)n * tm->hidden;
    net_dropout_mask(a->mask, nmask, tm->dropout, seed, (uint64_t)tm->adam_t * (uint64_t)nmask);
    mint_tm_forward(tm, a, n, 1);
    double l = net_bce_logits_forward(a->logit, a->y, n);
    if (tm->l1 > 0.0f)
        l += net_l1_forward(tm->p.w1, (size_t)tm->hidden * tm->flat, tm->l1);
    int k = 0;
    for (int i = 0; i < n; i++)
        k += (a->logit[i] >= 0.0f) == (a->y[i] >= 0.5f);
    *loss = l;
    *correct = k;
}

void tm_head_update(tm_head *h, int n, float gscale)
{
    mint_tm *tm = h->tm;
    mint_tm_acts *a = h->acts;
    static const mint_adam_cfg adam = MINT_ADAM_DEFAULTS;
    memset(tm->arena + tm->seg, 0, tm->seg * sizeof(float));
    a->gscale = gscale;
    mint_tm_backward(tm, a, n);
    tm->adam_t++;
    net_adam_update(tm->arena, tm->arena + tm->seg, tm->arena + 2 * tm->seg,
                    tm->arena + 3 * tm->seg, tm->seg, tm->adam_t, h->lr,
                    (double)adam.beta1, (double)adam.beta2, (double)adam.eps, 0.0, 0);
}
