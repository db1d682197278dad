/* train.c - the MINT training loop (see train.h for the batching and
 * reproducibility rules). */
#include "mint/train.h"
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "base/rng.h"
#include "net/train_ops.h"
#include "net/optim.h"

void mint_train_defaults(mint_train_opts *o, mint_tm_kind kind)
{
    static const mint_adam_cfg adam = MINT_ADAM_DEFAULTS;
    memset(o, 0, sizeof *o);
    o->epochs = mint_tm_kind_is_conv(kind) ? 30 : 20;
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
    net_adam_update(tm->arena, tm->arena + tm->seg, tm->arena + 2 * tm->seg,
                    tm->arena + 3 * tm->seg, tm->seg, tm->adam_t, (double)adam->lr,
                    (double)adam->beta1, (double)adam->beta2, (double)adam->eps, 0.0, 0);
    if (loss)
        *loss = l + r;
    if (bce)
        *bce = l;
}

/* Fisher-Yates with the generator state *rs (advanced). */
static void shuffle(int64_t *perm, int64_t n, uint64_t *rs)
{
    base_rng r = { *rs };
    for (int64_t i = n - 1; i > 0; i--) {
        const int64_t j = (int64_t)base_rng_below(&r, (uint64_t)i + 1);
        const int64_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    *rs = r.s;
}

/* Class c's endless stream of shuffled epochs. */
static int64_t next_index(mint_train_state *s, int c)
{
    if (s->pos[c] == s->n[c]) {
        shuffle(s->perm[c], s->n[c], &s->rng[c]);
        s->pos[c] = 0;
    }
    return s->perm[c][s->pos[c]++];
}

/* After training, in eval mode over the training data (members, then the
 * external samples): the dense1 units no sample activates (ReLU output 0
 * on all: "dead") and whether every sample gets the same logit - a
 * collapsed training, whose loss stays at ln 2 and accuracy at 0.5 (the
 * CNN's Dense-C-ReLU bottleneck dies this way at small C). */
static void collapse_check(mint_tm *tm, mint_tm_acts *a, int B, const float *const src[2],
                           const int64_t n[2])
{
    const int H = tm->hidden;
    uint8_t *alive = calloc((size_t)H, 1);
    float lo = 0, hi = 0;
    int first = 1;
    for (int c = 0; c < 2; c++)
        for (int64_t i0 = 0; i0 < n[c]; i0 += B) {
            const int k = n[c] - i0 < B ? (int)(n[c] - i0) : B;
            memcpy(a->x, src[c] + (size_t)i0 * (size_t)tm->in_size,
                   (size_t)k * (size_t)tm->in_size * sizeof(float));
            mint_tm_forward(tm, a, k, 0);
            for (int i = 0; i < k; i++) {
                const float l = a->logit[i];
                lo = first || l < lo ? l : lo;
                hi = first || l > hi ? l : hi;
                first = 0;
                for (int j = 0; alive && j < H; j++)
                    alive[j] |= a->h1[(size_t)i * H + j] > 0.0f;
            }
        }
    int dead = alive ? 0 : -1; /* -1: not counted (no memory for the flags) */
    for (int j = 0; alive && j < H; j++)
        dead += !alive[j];
    free(alive);
    tm->train_dead_units = dead;
    /* the same score for every sample, to float precision */
    tm->train_collapsed = !(hi - lo > 1e-6f * (fabsf(hi) > 1.0f ? fabsf(hi) : 1.0f));
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The sampler of a fresh run (seeded orders and held-out set), or a copy
 * of o->resume's after checking that it belongs to this run. s->perm[1]
 * has room for n_ext indices. */
static mint_status sampler_init(mint_train_state *s, mint_tm *tm, const float *members,
                                int64_t n_mem, const float *external, int64_t n_ext,
                                int64_t n_hold, const mint_train_opts *o)
{
    s->kind = tm->cfg.kind;
    memcpy(s->in_dims, tm->cfg.in_dims, sizeof s->in_dims);
    s->seed = o->seed;
    s->batch = o->batch;
    s->epochs = o->epochs;
    s->holdout = o->holdout;
    s->adam = o->adam;
    s->n_mem = n_mem;
    s->n_ext = n_ext;
    if (o->checkpoint || o->resume) {
        if (o->data_hash)
            snprintf(s->data_hash, sizeof s->data_hash, "%s", o->data_hash);
        else
            mint_train_data_hash(members, n_mem, external, n_ext, tm->in_size, s->data_hash);
    }
    s->n[0] = n_mem;
    s->n[1] = n_ext - n_hold;
    s->n_held = n_hold;
    const mint_train_state *r = o->resume;
    if (r) {
        mint_status st = mint_train_resume_check(r, tm, n_mem, n_ext, s->data_hash, o);
        if (st)
            return st;
        for (int c = 0; c < 2; c++) {
            memcpy(s->perm[c], r->perm[c], sizeof(int64_t) * (size_t)s->n[c]);
            s->pos[c] = r->pos[c];
            s->rng[c] = r->rng[c];
        }
        if (n_hold)
            memcpy(s->held, r->held, sizeof(int64_t) * (size_t)n_hold);
        s->epochs_done = r->epochs_done;
        s->adam_t = r->adam_t;
        s->train_accuracy = r->train_accuracy;
        tm->train_accuracy = r->train_accuracy;
        return MINT_OK;
    }
    s->rng[0] = base_rng_stream(o->seed, 2).s;
    s->rng[1] = base_rng_stream(o->seed, 3).s;
    for (int c = 0; c < 2; c++)
        for (int64_t i = 0; i < (c ? n_ext : n_mem); i++)
            s->perm[c][i] = i;
    if (n_hold > 0 && o->held) {
        /* the caller's held-out samples; the others train, in row order */
        uint8_t *mark = calloc((size_t)n_ext, 1);
        if (!mark)
            return mint_fail(MINT_E_NOMEM, "out of memory");
        for (int64_t i = 0; i < n_hold; i++) {
            if (o->held[i] < 0 || o->held[i] >= n_ext || mark[o->held[i]]) {
                free(mark);
                return mint_fail(MINT_E_ARG, "held-out index %lld: out of range or repeated",
                                 (long long)o->held[i]);
            }
            mark[o->held[i]] = 1;
        }
        int64_t w = 0;
        for (int64_t i = 0; i < n_ext; i++)
            if (!mark[i])
                s->perm[1][w++] = i;
        free(mark);
        memcpy(s->held, o->held, sizeof(int64_t) * (size_t)n_hold);
    } else if (n_hold > 0) {
        /* the held-out samples: the last n_hold of a seeded permutation */
        uint64_t h = base_rng_stream(o->seed, 4).s;
        shuffle(s->perm[1], n_ext, &h);
        memcpy(s->held, s->perm[1] + (n_ext - n_hold), sizeof(int64_t) * (size_t)n_hold);
    }
    for (int c = 0; c < 2; c++) {
        shuffle(s->perm[c], s->n[c], &s->rng[c]);
        s->pos[c] = 0;
    }
    return MINT_OK;
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
    const int64_t n_hold = mint_train_n_held(o, n_ext);
    if (o->held && (n_hold < 1 || n_ext - n_hold < 1))
        return mint_fail(MINT_E_ARG, "holding out %lld of %lld external samples leaves none for "
                         "training or none for calibration", (long long)n_hold, (long long)n_ext);
    if (!o->held && o->holdout > 0.0 && (n_hold < 1 || n_ext - n_hold < 1))
        return mint_fail(MINT_E_ARG, "holding out %g of %lld external samples leaves %lld for "
                         "calibration and %lld for training; use more external data or holdout 0",
                         o->holdout, (long long)n_ext, (long long)n_hold, (long long)(n_ext - n_hold));
    const int B = o->batch, half = B / 2;
    mint_train_state s;
    memset(&s, 0, sizeof s);
    s.perm[0] = malloc(sizeof(int64_t) * (size_t)n_mem);
    s.perm[1] = malloc(sizeof(int64_t) * (size_t)n_ext);
    s.held = n_hold > 0 ? malloc(sizeof(int64_t) * (size_t)n_hold) : NULL;
    mint_tm_acts *a = NULL;
    mint_status st = MINT_OK;
    if (!s.perm[0] || !s.perm[1] || (n_hold > 0 && !s.held))
        st = mint_fail(MINT_E_NOMEM, "out of memory for the sample orders");
    if (!st)
        st = sampler_init(&s, tm, members, n_mem, external, n_ext, n_hold, o);
    if (!st)
        st = mint_tm_acts_new(&a, tm, B);
    const int64_t nmax = n_mem > s.n[1] ? n_mem : s.n[1];
    const int64_t steps = (nmax + half - 1) / half;
    const size_t row = (size_t)tm->in_size, nmask = (size_t)B * tm->hidden;
    const float *src[2] = { members, external };
    for (int i = 0; !st && i < B; i++)
        a->y[i] = i < half ? 1.0f : 0.0f;
    for (int e = s.epochs_done; !st && e < o->epochs; e++) {
        const double t0 = now();
        double sl = 0.0, sb = 0.0;
        int64_t ok = 0;
        for (int64_t k = 0; k < steps; k++) {
            for (int i = 0; i < B; i++) {
                const int c = i < half ? 0 : 1;
                memcpy(a->x + (size_t)i * row, src[c] + (size_t)next_index(&s, c) * row,
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
        s.epochs_done = e + 1;
        s.adam_t = tm->adam_t;
        s.train_accuracy = tm->train_accuracy;
        if (o->progress) {
            const mint_train_progress p = { e + 1, o->epochs, tm->adam_t, sl / steps, sb / steps,
                                            tm->train_accuracy, now() - t0 };
            o->progress(o->ctx, &p);
        }
        if (o->checkpoint)
            st = o->checkpoint(o->ctx, tm, &s);
    }
    if (!st) {
        const int64_t nc[2] = { n_mem, n_ext };
        collapse_check(tm, a, B, src, nc);
    }
    mint_tm_acts_free(a);
    free(s.perm[0]);
    free(s.perm[1]);
    if (st) {
        free(s.held);
        return st;
    }
    tm->train_epochs = o->epochs;
    tm->train_steps = steps * o->epochs;
    tm->train_batch = B;
    tm->train_seed = o->seed;
    st = mint_tm_calibrate_held(tm, members, n_mem, external, n_ext, s.held, s.n_held);
    if (!st && o->member_keys && o->external_keys)
        st = mint_trainset_build(&tm->trainset, o->member_keys, n_mem, o->external_keys, n_ext,
                                 s.held, s.n_held);
    if (!st && o->ext_group && s.n_held)
        st = mint_tm_set_reference_groups(tm, o->ext_group, s.held, s.n_held,
                                          o->holdout_by ? o->holdout_by : "sample");
    free(s.held);
    return st;
}

int64_t mint_train_n_held(const mint_train_opts *o, int64_t n_ext)
{
    if (o->held)
        return o->n_held;
    /* options are checked by their callers; a hostile value still gives a count in range */
    const double h = o->holdout >= 0.0 && o->holdout < 0.9 ? o->holdout : 0.0;
    return (int64_t)(h * (double)n_ext);
}

typedef struct {
    int32_t g;
    int64_t i;
} grow;

static int cmp_i64(const void *a, const void *b)
{
    const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int cmp_grow(const void *a, const void *b)
{
    const grow *x = a, *y = b;
    if (x->g != y->g)
        return (x->g > y->g) - (x->g < y->g);
    return (x->i > y->i) - (x->i < y->i);
}

mint_status mint_holdout_by_group(const int32_t *group, int64_t n, double frac, uint64_t seed,
                                  int64_t **held, int64_t *n_held, int64_t *k_held,
                                  int64_t *k_total)
{
    *held = NULL;
    *n_held = *k_held = *k_total = 0;
    if (!group || n < 1 || !(frac > 0.0 && frac < 1.0))
        return mint_fail(MINT_E_ARG, "identity holdout: needs rows and a fraction in (0, 1)");
    grow *r = malloc(sizeof *r * (size_t)n);
    int32_t *ids = malloc(sizeof *ids * (size_t)n);

    uint8_t *pick = NULL;
    if (!r || !ids) {
        free(r), free(ids);
        return mint_fail(MINT_E_NOMEM, "out of memory");
    }
    int64_t m = 0, K = 0;
    for (int64_t i = 0; i < n; i++)
        if (group[i] >= 0)
            r[m++] = (grow){ group[i], i };
    qsort(r, (size_t)m, sizeof *r, cmp_grow);
    for (int64_t i = 0; i < m; i++)
        K += i == 0 || r[i].g != r[i - 1].g;
    *k_total = K;
    mint_status st = MINT_OK;
    int64_t kh = (int64_t)floor(frac * (double)K + 0.5);
    kh = kh < 1 ? 1 : kh;
    if (K < 2 || kh >= K)
        st = mint_fail(MINT_E_ARG, "holding out %g of %lld identit%s leaves no identity to train "
                       "on; use more external identities or a smaller --holdout", frac,
                       (long long)K, K == 1 ? "y" : "ies");
    if (!st) {
        pick = calloc((size_t)K, 1);
        *held = malloc(sizeof(int64_t) * (size_t)(m ? m : 1));
        if (!pick || !*held)
            st = mint_fail(MINT_E_NOMEM, "out of memory");
    }
    if (!st) {
        /* a seeded shuffle of the identity positions 0..K-1 (ids[] is
         * reused as the position list); the first kh are held out */
        for (int64_t i = 0; i < K; i++)
            ids[i] = (int32_t)i;
        base_rng h = base_rng_stream(seed, 5);
        for (int64_t i = K - 1; i > 0; i--) {
            const int64_t j = (int64_t)(base_rng_u64(&h) % (uint64_t)(i + 1));
            const int32_t t = ids[i];
            ids[i] = ids[j];
            ids[j] = t;
        }
        for (int64_t j = 0; j < kh; j++)
            pick[ids[j]] = 1;
        int64_t pos = -1, w = 0;
        for (int64_t i = 0; i < m; i++) {
            if (i == 0 || r[i].g != r[i - 1].g)
                pos++;
            if (pick[pos])
                (*held)[w++] = r[i].i;
        }
        qsort(*held, (size_t)w, sizeof **held, cmp_i64);
        *n_held = w;
        *k_held = kh;
    }
    if (!st && *n_held >= n)
        st = mint_fail(MINT_E_ARG, "the held-out identities hold every external sample");
    free(r), free(ids), free(pick);
    if (st) {
        free(*held);
        *held = NULL;
        *n_held = *k_held = 0;
    }
    return st;
}

typedef struct {
    const char *s;
    int64_t i;
} lrow;

static int cmp_lrow(const void *a, const void *b)
{
    const lrow *x = a, *y = b;
    const int c = strcmp(x->s, y->s);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

mint_status mint_groups_from_labels(const char *const *labels, int64_t n, int32_t *group,
                                    int64_t *k)
{
    *k = 0;
    lrow *r = malloc(sizeof *r * (size_t)(n > 0 ? n : 1));
    if (!r)
        return mint_fail(MINT_E_NOMEM, "out of memory");
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) {
        group[i] = -1;
        if (labels && labels[i] && labels[i][0])
            r[m++] = (lrow){ labels[i], i };
    }
    qsort(r, (size_t)m, sizeof *r, cmp_lrow);
    int32_t g = -1;
    for (int64_t i = 0; i < m; i++) {
        if (i == 0 || strcmp(r[i].s, r[i - 1].s))
            g++;
        if (g == INT32_MAX) {
            free(r);
            return mint_fail(MINT_E_ARG, "too many identities");
        }
        group[r[i].i] = g;
    }
    *k = g + 1;
    free(r);
    return MINT_OK;
}
