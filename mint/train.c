/* train.c - the MINT training loop (see train.h for the batching and
 * reproducibility rules). */
#include "mint/train.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "mint/rng.h"
#include "net/train_ops.h"

void mint_train_defaults(mint_train_opts *o, mint_tm_kind kind)
{
    static const mint_adam_cfg adam = MINT_ADAM_DEFAULTS;
    memset(o, 0, sizeof *o);
    o->epochs = kind == MINT_TM_CNN ? 30 : 20;
    o->batch = 128;
    o->adam = adam;
}

void mint_tm_train_step(mint_tm *tm, mint_tm_acts *a, int B, const mint_adam_cfg *adam,
                        double *loss, double *bce, int *correct)
{
    memset(tm->arena + tm->seg, 0, tm->seg * sizeof(float)); /* gradients */
    mint_tm_forward(tm, a, B, 1);
    const double l = net_bce_logits_forward(a->logit, a->y, B);
    const double r = tm->l1 > 0.0f ? net_l1_forward(tm->p.w1, (size_t)tm->hidden * tm->flat, tm->l1)
                                   : 0.0;
    if (correct) {
        int k = 0;
        for (int i = 0; i < B; i++)
            k += (a->logit[i] >= 0.0f) == (a->y[i] >= 0.5f);
        *correct = k;
    }
    mint_tm_backward(tm, a, B);
    tm->adam_t++;
    mint_adam_step(tm->arena, tm->arena + tm->seg, tm->arena + 2 * tm->seg,
                   tm->arena + 3 * tm->seg, tm->seg, tm->adam_t, adam);
    if (loss)
        *loss = l + r;
    if (bce)
        *bce = l;
}

/* A class's endless stream of shuffled epochs. */
typedef struct {
    int64_t *perm;
    int64_t n, pos;
    mint_rng rng;
} stream;

static void shuffle(stream *s)
{
    for (int64_t i = s->n - 1; i > 0; i--) {
        const int64_t j = (int64_t)mint_rng_below(&s->rng, (uint64_t)i + 1);
        const int64_t t = s->perm[i];
        s->perm[i] = s->perm[j];
        s->perm[j] = t;
    }
    s->pos = 0;
}

static int64_t next_index(stream *s)
{
    if (s->pos == s->n)
        shuffle(s);
    return s->perm[s->pos++];
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

mint_status mint_train(mint_tm *tm, const float *members, int64_t n_mem, const float *external,
                       int64_t n_ext, const mint_train_opts *o)
{
    if (!tm || !o || !members || !external)
        return mint_fail(MINT_E_ARG, "mint_train: NULL argument");
    if (n_mem < 1 || n_ext < 1)
        return mint_fail(MINT_E_ARG, "training needs members and external samples (got %lld and "
                         "%lld)", (long long)n_mem, (long long)n_ext);
    if (o->batch < 2 || o->batch % 2 || o->batch > (1 << 20))
        return mint_fail(MINT_E_ARG, "batch size %d: must be even and >= 2 (half members, half "
                         "external)", o->batch);
    if (o->epochs < 1)
        return mint_fail(MINT_E_ARG, "epochs %d < 1", o->epochs);
    if (!(o->holdout >= 0.0 && o->holdout < 1.0))
        return mint_fail(MINT_E_ARG, "holdout fraction %g: must be in [0, 1)", o->holdout);
    const int64_t n_hold = (int64_t)(o->holdout * (double)n_ext);
    if (o->holdout > 0.0 && (n_hold < 1 || n_ext - n_hold < 1))
        return mint_fail(MINT_E_ARG, "holding out %g of %lld external samples leaves %lld for "
                         "calibration and %lld for training; use more external data or holdout 0",
                         o->holdout, (long long)n_ext, (long long)n_hold, (long long)(n_ext - n_hold));
    const int B = o->batch, half = B / 2;
    mint_tm_acts *a;
    mint_status st = mint_tm_acts_new(&a, tm, B);
    if (st)
        return st;
    stream s[2] = { { malloc(sizeof(int64_t) * (size_t)n_mem), n_mem, 0, mint_rng_stream(o->seed, 2) },
                    { malloc(sizeof(int64_t) * (size_t)n_ext), n_ext, 0, mint_rng_stream(o->seed, 3) } };
    if (!s[0].perm || !s[1].perm) {
        free(s[0].perm);
        free(s[1].perm);
        mint_tm_acts_free(a);
        return mint_fail(MINT_E_NOMEM, "out of memory for the sample orders");
    }
    for (int c = 0; c < 2; c++)
        for (int64_t i = 0; i < s[c].n; i++)
            s[c].perm[i] = i;
    int64_t *held = NULL;
    if (n_hold > 0) {
        /* the held-out samples: the last n_hold of a seeded permutation */
        stream h = { s[1].perm, n_ext, 0, mint_rng_stream(o->seed, 4) };
        shuffle(&h);
        held = malloc(sizeof(int64_t) * (size_t)n_hold);
        if (!held) {
            free(s[0].perm);
            free(s[1].perm);
            mint_tm_acts_free(a);
            return mint_fail(MINT_E_NOMEM, "out of memory for the held-out samples");
        }
        memcpy(held, s[1].perm + (n_ext - n_hold), sizeof(int64_t) * (size_t)n_hold);
        s[1].n = n_ext - n_hold;
    }
    for (int c = 0; c < 2; c++)
        shuffle(&s[c]);
    const int64_t nmax = n_mem > s[1].n ? n_mem : s[1].n;
    const int64_t steps = (nmax + half - 1) / half;
    const size_t row = (size_t)tm->in_size, nmask = (size_t)B * tm->hidden;
    const float *src[2] = { members, external };
    for (int i = 0; i < B; i++)
        a->y[i] = i < half ? 1.0f : 0.0f;
    for (int e = 0; e < o->epochs; e++) {
        const double t0 = now();
        double sl = 0.0, sb = 0.0;
        int64_t ok = 0;
        for (int64_t k = 0; k < steps; k++) {
            for (int i = 0; i < B; i++) {
                const int c = i < half ? 0 : 1;
                memcpy(a->x + (size_t)i * row, src[c] + (size_t)next_index(&s[c]) * row,
                       row * sizeof(float));
            }
            net_dropout_mask(a->mask, nmask, tm->dropout, o->seed,
                             (uint64_t)tm->adam_t * (uint64_t)nmask);
            double l, b;
            int correct;
            mint_tm_train_step(tm, a, B, &o->adam, &l, &b, &correct);
            sl += l;
            sb += b;
            ok += correct;
        }
        tm->train_accuracy = (double)ok / ((double)steps * B);
        if (o->progress) {
            const mint_train_progress p = { e + 1, o->epochs, tm->adam_t, sl / steps, sb / steps,
                                            tm->train_accuracy, now() - t0 };
            o->progress(o->ctx, &p);
        }
    }
    free(s[0].perm);
    free(s[1].perm);
    mint_tm_acts_free(a);
    tm->train_epochs = o->epochs;
    tm->train_steps = steps * o->epochs;
    tm->train_batch = B;
    tm->train_seed = o->seed;
    if (!held)
        return mint_tm_calibrate(tm, members, n_mem, external, n_ext);
    float *ext_held = malloc(sizeof(float) * row * (size_t)n_hold);
    if (!ext_held) {
        free(held);
        return mint_fail(MINT_E_NOMEM, "out of memory for the held-out samples");
    }
    for (int64_t i = 0; i < n_hold; i++)
        memcpy(ext_held + (size_t)i * row, external + (size_t)held[i] * row, row * sizeof(float));
    st = mint_tm_calibrate(tm, members, n_mem, ext_held, n_hold);
    tm->cal_external_heldout = 1;
    free(ext_held);
    free(held);
    return st;
}
