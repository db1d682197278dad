/* checkpoint.c - resumable training (train.h): the training-data
 * fingerprint, the check that a saved state belongs to a run, and the
 * checkpoint file: the model as mint_tm_save writes it plus Adam's moments
 * and the sampler state, in the weight container (docs/format.md), written
 * to a temporary name and renamed into place so a crash leaves either the
 * previous checkpoint or the new one. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mint/features.h"
#include "base/rng.h"
#include "mint/train.h"
#include "net/graph.h"
#include "weights/container.h"

/* ---------------- data fingerprint ---------------- */

/* Four independent lanes, each absorbing every fourth 64-bit word through
 * the splitmix64 finaliser: h = mix(h ^ w) is a bijection in h for a fixed
 * w and in w for a fixed h, so two inputs of the same length collide only
 * by chance, and the lanes keep four multiplies in flight (several GB/s). */
static void fp_absorb(uint64_t h[4], const void *data, size_t n)
{
    const unsigned char *p = data;
    size_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (int l = 0; l < 4; l++) {
            uint64_t w;
            memcpy(&w, p + i + 8 * (size_t)l, 8);
            h[l] = base_rng_mix(h[l] ^ w);
        }
    for (int l = 0; i < n; i += 8, l++) { /* tail, zero-padded (lengths are hashed) */
        uint64_t w = 0;
        memcpy(&w, p + i, n - i < 8 ? n - i : 8);
        h[l] = base_rng_mix(h[l] ^ w);
    }
}

void mint_train_data_hash(const float *members, int64_t n_mem, const float *external,
                          int64_t n_ext, int in_size, char hex[33])
{
    uint64_t h[4];
    for (int l = 0; l < 4; l++)
        h[l] = base_rng_mix(0x6d696e742d646174ull + (uint64_t)l); /* "mint-dat" + lane */
    const int64_t sizes[4] = { 1, in_size, n_mem, n_ext }; /* 1: version of this layout */
    fp_absorb(h, sizes, sizeof sizes);
    const size_t row = sizeof(float) * (size_t)(in_size > 0 ? in_size : 0);
    if (members && n_mem > 0)
        fp_absorb(h, members, row * (size_t)n_mem);
    if (external && n_ext > 0)
        fp_absorb(h, external, row * (size_t)n_ext);
    uint64_t lo = 0x243f6a8885a308d3ull, hi = 0x13198a2e03707344ull;
    for (int l = 0; l < 4; l++) {
        lo = base_rng_mix(lo ^ h[l]);
        hi = base_rng_mix(hi ^ h[3 - l]);
    }
    snprintf(hex, 33, "%016llx%016llx", (unsigned long long)hi, (unsigned long long)lo);
}

/* ---------------- does a state belong to this run? ---------------- */

typedef struct {
    char s[768];
    size_t n;
    int count;
} difflist;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void diff(difflist *d, const char *fmt, ...)
{
    if (d->n + 2 >= sizeof d->s)
        return;
    if (d->count++)
        d->n += (size_t)snprintf(d->s + d->n, sizeof d->s - d->n, "; ");
    if (d->n >= sizeof d->s)
        return;
    va_list ap;
    va_start(ap, fmt);
    const int k = vsnprintf(d->s + d->n, sizeof d->s - d->n, fmt, ap);
    va_end(ap);
    d->n = k < 0 ? d->n : d->n + (size_t)k;
    if (d->n >= sizeof d->s)
        d->n = sizeof d->s - 1;
}

/* perm[0..n) (and extra[0..nx)) together hold each of 0..total-1 once */
static int is_permutation(const int64_t *perm, int64_t n, const int64_t *extra, int64_t nx,
                          int64_t total, int *nomem)
{
    if (n + nx != total || (n > 0 && !perm) || (nx > 0 && !extra))
        return 0;
    unsigned char *seen = calloc((size_t)(total > 0 ? total : 1), 1);
    if (!seen) {
        *nomem = 1;
        return 0;
    }
    int ok = 1;
    for (int64_t i = 0; ok && i < n + nx; i++) {
        const int64_t v = i < n ? perm[i] : extra[i - n];
        if (v < 0 || v >= total || seen[v])
            ok = 0;
        else
            seen[v] = 1;
    }
    free(seen);
    return ok;
}

mint_status mint_train_resume_check(const mint_train_state *s, const mint_tm *tm, int64_t n_mem,
                                    int64_t n_ext, const char *data_hash,
                                    const mint_train_opts *o)
{
    if (!s || !tm || !o)
        return mint_fail(MINT_E_ARG, "mint_train_resume_check: NULL argument");
    difflist d;
    memset(&d, 0, sizeof d);
    char a[64], b[64];
    mint_feats_dims_str(a, sizeof a, mint_tm_kind_is_conv(s->kind) ? 3 : 1, s->in_dims);
    mint_feats_dims_str(b, sizeof b, mint_tm_kind_is_conv(tm->cfg.kind) ? 3 : 1, tm->cfg.in_dims);
    if (s->kind != tm->cfg.kind)
        diff(&d, "kind %s in the checkpoint, %s now", mint_tm_kind_name(s->kind),
             mint_tm_kind_name(tm->cfg.kind));
    else if (strcmp(a, b))
        diff(&d, "input %s in the checkpoint, %s now", a, b);
    if (s->seed != o->seed)
        diff(&d, "seed %llu in the checkpoint, %llu now", (unsigned long long)s->seed,
             (unsigned long long)o->seed);
    if (s->batch != o->batch)
        diff(&d, "batch %d in the checkpoint, %d now", s->batch, o->batch);
    if (s->epochs != o->epochs)
        diff(&d, "epochs %d in the checkpoint, %d now", s->epochs, o->epochs);
    if (s->holdout != o->holdout)
        diff(&d, "holdout %g in the checkpoint, %g now", s->holdout, o->holdout);
    if (memcmp(&s->adam, &o->adam, sizeof s->adam))
        diff(&d, "Adam lr %g betas %g/%g eps %g in the checkpoint, lr %g betas %g/%g eps %g now",
             (double)s->adam.lr, (double)s->adam.beta1, (double)s->adam.beta2,
             (double)s->adam.eps, (double)o->adam.lr, (double)o->adam.beta1,
             (double)o->adam.beta2, (double)o->adam.eps);
    if (s->n_mem != n_mem || s->n_ext != n_ext)
        diff(&d, "%lld members and %lld external samples in the checkpoint, %lld and %lld now",
             (long long)s->n_mem, (long long)s->n_ext, (long long)n_mem, (long long)n_ext);
    else if (!data_hash || strcmp(s->data_hash, data_hash))
        diff(&d, "the training data differ (fingerprint %.12s... in the checkpoint, %.12s... now)",
             s->data_hash, data_hash ? data_hash : "(none)");
    if (d.count)
        return mint_fail(MINT_E_ARG, "the checkpoint is of another run: %s", d.s);

    /* the same run: the state must also agree with itself and the model */
    const int64_t n_hold = mint_train_n_held(o, n_ext), half = o->batch / 2;
    const int64_t nmax = n_mem > n_ext - n_hold ? n_mem : n_ext - n_hold;
    const int64_t steps = (nmax + half - 1) / half;
    int nomem = 0;
    const char *bad = NULL;
    if (s->epochs_done < 0 || s->epochs_done > s->epochs)
        bad = "epochs done out of range";
    else if (s->adam_t != (int64_t)s->epochs_done * steps)
        bad = "optimiser steps do not match the epochs done";
    else if (tm->adam_t != s->adam_t)
        bad = "the model's optimiser step count is not the state's";
    else if (s->n[0] != n_mem || s->n[1] != n_ext - n_hold || s->n_held != n_hold)
        bad = "sample counts do not match the held-out fraction";
    else if (s->pos[0] < 0 || s->pos[0] > s->n[0] || s->pos[1] < 0 || s->pos[1] > s->n[1])
        bad = "sampler position out of range";
    else if (!is_permutation(s->perm[0], s->n[0], NULL, 0, n_mem, &nomem))
        bad = "the members' order is not a permutation of the members";
    else if (!is_permutation(s->perm[1], s->n[1], s->held, s->n_held, n_ext, &nomem))
        bad = "the external order and the held-out set do not partition the external samples";
    else if (o->held && n_hold && memcmp(s->held, o->held, sizeof(int64_t) * (size_t)n_hold))
        bad = "the held-out samples differ from the ones asked for";
    if (nomem)
        return mint_fail(MINT_E_NOMEM, "out of memory checking the checkpoint");
    if (bad)
        return mint_fail(MINT_E_FORMAT, "inconsistent training checkpoint: %s", bad);
    return MINT_OK;
}

/* ---------------- the checkpoint file ---------------- */

#define CKPT_VERSION 1

mint_status mint_train_state_save(const mint_tm *tm, const mint_train_state *s, const char *path)
{
    if (!tm || !s || !path)
        return mint_fail(MINT_E_ARG, "mint_train_state_save: NULL argument");
    wt_writer *w = wt_writer_new();
    if (!w)
        return mint_fail(MINT_E_NOMEM, "mint_train_state_save: out of memory");
    char note[160];
    snprintf(note, sizeof note, "training state after epoch %d of %d (continue with mint train "
             "... --resume)", s->epochs_done, s->epochs);
    const float adam[4] = { s->adam.lr, s->adam.beta1, s->adam.beta2, s->adam.eps };
    const int64_t rng[2] = { (int64_t)s->rng[0], (int64_t)s->rng[1] };
    mint_status st = mint_tm_write(tm, w);
    if (!st)
        st = wt_writer_meta_str(w, "mint.checkpoint", note);
    if (!st)
        st = wt_writer_meta_i64(w, "checkpoint.version", CKPT_VERSION);
    if (!st)
        st = wt_writer_meta_i64(w, "checkpoint.epochs_done", s->epochs_done);
    if (!st)
        st = wt_writer_meta_i64(w, "checkpoint.epochs", s->epochs);
    if (!st)
        st = wt_writer_meta_i64(w, "checkpoint.batch", s->batch);
    if (!st)
        st = wt_writer_meta_i64(w, "checkpoint.seed", (int64_t)s->seed);
    if (!st)
        st = wt_writer_meta_f64(w, "checkpoint.holdout", s->holdout);
    if (!st)
        st = wt_writer_meta_f32_arr(w, "checkpoint.adam", adam, 4);
    if (!st)
        st = wt_writer_meta_i64(w, "checkpoint.n_members", s->n_mem);
    if (!st)
        st = wt_writer_meta_i64(w, "checkpoint.n_external", s->n_ext);
    if (!st)
        st = wt_writer_meta_str(w, "checkpoint.data_hash", s->data_hash);
    if (!st)
        st = wt_writer_meta_i64(w, "checkpoint.adam_t", s->adam_t);
    if (!st)
        st = wt_writer_meta_f64(w, "checkpoint.train_accuracy", s->train_accuracy);
    if (!st)
        st = wt_writer_meta_i64_arr(w, "checkpoint.sampler_pos", s->pos, 2);
    if (!st)
        st = wt_writer_meta_i64_arr(w, "checkpoint.sampler_rng", rng, 2);
    char name[48];
    for (int i = 0; !st && i < tm->nparams; i++) {
        const mint_tm_param *p = &tm->params[i];
        snprintf(name, sizeof name, "adam.m.%s", p->name);
        st = wt_writer_tensor(w, name, BASE_F32, p->rank, p->dims, tm->arena + 2 * tm->seg + p->offset);
        snprintf(name, sizeof name, "adam.v.%s", p->name);
        if (!st)
            st = wt_writer_tensor(w, name, BASE_F32, p->rank, p->dims,
                                  tm->arena + 3 * tm->seg + p->offset);
    }
    if (!st)
        st = wt_writer_tensor(w, "sampler.members", BASE_I64, 1, &s->n[0], s->perm[0]);
    if (!st)
        st = wt_writer_tensor(w, "sampler.external", BASE_I64, 1, &s->n[1], s->perm[1]);
    if (!st && s->n_held > 0)
        st = wt_writer_tensor(w, "holdout.external", BASE_I64, 1, &s->n_held, s->held);
    if (!st)
        st = wt_writer_write(w, path);
    wt_writer_free(w);
    return st;
}

void mint_train_state_free(mint_train_state *s)
{
    if (!s)
        return;
    free(s->perm[0]);
    free(s->perm[1]);
    free(s->held);
    free(s);
}

static mint_status get_i64(const wt_file *f, const char *path, const char *key, int64_t lo,
                           int64_t hi, int64_t *out)
{
    const wt_meta *m = wt_meta_find(f, key);
    if (!m || m->type != WT_META_I64)
        return mint_fail(MINT_E_FORMAT, "%s: checkpoint without %s", path, key);
    if (m->i64 < lo || m->i64 > hi)
        return mint_fail(MINT_E_FORMAT, "%s: %s = %lld out of range", path, key,
                         (long long)m->i64);
    *out = m->i64;
    return MINT_OK;
}

static mint_status get_f64(const wt_file *f, const char *path, const char *key, double *out)
{
    const wt_meta *m = wt_meta_find(f, key);
    if (!m || m->type != WT_META_F64)
        return mint_fail(MINT_E_FORMAT, "%s: checkpoint without %s", path, key);
    *out = m->f64;
    return MINT_OK;
}

static const wt_meta *get_arr(const wt_file *f, const char *key, wt_meta_type type, uint64_t n)
{
    const wt_meta *m = wt_meta_find(f, key);
    return m && m->type == type && m->count == n ? m : NULL;
}

static int64_t *copy_i64(const wt_tensor *t)
{
    int64_t *p = malloc(sizeof(int64_t) * (size_t)(t->nelem ? t->nelem : 1));
    if (p)
        memcpy(p, t->data, sizeof(int64_t) * (size_t)t->nelem);
    return p;
}

/* The header of a checkpoint: that it is one, of this version, and of
 * this run's kind, input and width (s->kind, s->in_dims). */
static mint_status ckpt_read_header(const wt_file *f, const char *path, const mint_tm *tm,
                                    mint_train_state *s)
{
    mint_status st = MINT_OK;
    int64_t v = 0;
    const wt_meta *mk = wt_meta_find(f, "mint.kind"), *md = wt_meta_find(f, "mint.input_dims");
    if (!wt_meta_find(f, "mint.checkpoint") || !mk || mk->type != WT_META_STR || !md ||
        md->type != WT_META_I64_ARR || md->count < 1 || md->count > 3)
        st = mint_fail(MINT_E_FORMAT, "%s: not a MINT training checkpoint", path);
    if (!st && (st = get_i64(f, path, "checkpoint.version", 0, INT64_MAX, &v)) == MINT_OK &&
        v != CKPT_VERSION)
        st = mint_fail(MINT_E_UNSUPPORTED, "%s: checkpoint version %lld (this mint reads %d)",
                       path, (long long)v, CKPT_VERSION);
    if (!st && (st = mint_tm_kind_parse(mk->str, &s->kind)) != MINT_OK)
        st = mint_fail(MINT_E_FORMAT, "%s: unknown model kind '%s'", path, mk->str);
    for (uint64_t i = 0; !st && i < md->count; i++)
        s->in_dims[i] = md->i64s[i] >= 0 && md->i64s[i] <= INT32_MAX ? (int)md->i64s[i] : -1;
    if (!st) {
        char a[64], b[64];
        mint_feats_dims_str(a, sizeof a, mint_tm_kind_is_conv(s->kind) ? 3 : 1, s->in_dims);
        mint_feats_dims_str(b, sizeof b, mint_tm_kind_is_conv(tm->cfg.kind) ? 3 : 1, tm->cfg.in_dims);
        if (s->kind != tm->cfg.kind || strcmp(a, b))
            st = mint_fail(MINT_E_ARG, "%s: checkpoint of a %s model on input %s; this run trains "
                           "a %s model on input %s", path, mint_tm_kind_name(s->kind), a,
                           mint_tm_kind_name(tm->cfg.kind), b);
    }
    const wt_meta *mhid = wt_meta_find(f, "mint.hidden");
    if (!st && mhid && mhid->type == WT_META_I64 && mhid->i64 != tm->hidden)
        st = mint_fail(MINT_E_ARG, "%s: checkpoint of a model with %lld hidden units; this run has "
                       "%d (a different minimum width)", path, (long long)mhid->i64, tm->hidden);
    return st;
}

/* The run's settings and progress, the Adam settings, the sampler's
 * positions and generators and the data fingerprint. */
static mint_status ckpt_read_progress(const wt_file *f, const char *path, mint_train_state *s)
{
    int64_t v = 0;
    mint_status st;
    if (!(st = get_i64(f, path, "checkpoint.epochs", 1, INT32_MAX, &v)))
        s->epochs = (int)v;
    if (!st && !(st = get_i64(f, path, "checkpoint.epochs_done", 0, s->epochs, &v)))
        s->epochs_done = (int)v;
    if (!st && !(st = get_i64(f, path, "checkpoint.batch", 2, INT32_MAX, &v)))
        s->batch = (int)v;
    if (!st && !(st = get_i64(f, path, "checkpoint.seed", INT64_MIN, INT64_MAX, &v)))
        s->seed = (uint64_t)v;
    if (!st)
        st = get_i64(f, path, "checkpoint.n_members", 1, INT64_MAX, &s->n_mem);
    if (!st)
        st = get_i64(f, path, "checkpoint.n_external", 1, INT64_MAX, &s->n_ext);
    if (!st)
        st = get_i64(f, path, "checkpoint.adam_t", 0, INT64_MAX, &s->adam_t);
    if (!st)
        st = get_f64(f, path, "checkpoint.holdout", &s->holdout);
    if (!st && !(s->holdout >= 0.0 && s->holdout < 0.9)) /* NaN too (fuzz_checkpoint) */
        st = mint_fail(MINT_E_FORMAT, "%s: checkpoint holdout %g outside [0, 0.9)", path,
                       s->holdout);
    if (!st)
        st = get_f64(f, path, "checkpoint.train_accuracy", &s->train_accuracy);
    const wt_meta *ma = get_arr(f, "checkpoint.adam", WT_META_F32_ARR, 4),
                  *mp = get_arr(f, "checkpoint.sampler_pos", WT_META_I64_ARR, 2),
                  *mr = get_arr(f, "checkpoint.sampler_rng", WT_META_I64_ARR, 2),
                  *mh = wt_meta_find(f, "checkpoint.data_hash");
    if (!st && (!ma || !mp || !mr || !mh || mh->type != WT_META_STR || mh->len != 32))
        st = mint_fail(MINT_E_FORMAT, "%s: checkpoint without its Adam settings, sampler state or "
                       "data fingerprint", path);
    if (!st) {
        s->adam.lr = ma->f32[0], s->adam.beta1 = ma->f32[1], s->adam.beta2 = ma->f32[2];
        s->adam.eps = ma->f32[3];
        for (int c = 0; c < 2; c++) {
            s->pos[c] = mp->i64s[c];
            s->rng[c] = (uint64_t)mr->i64s[c];
        }
        memcpy(s->data_hash, mh->str, 33);
    }
    return st;
}

/* The optimiser's moments (tmv: m, v per parameter) and the sampler's
 * orders (tp) and held-out samples (*th, NULL if none), their counts
 * checked (s->n, s->n_held). */
static mint_status ckpt_find_tensors(const wt_file *f, const char *path, const mint_tm *tm,
                                     mint_train_state *s, const wt_tensor **tmv,
                                     const wt_tensor **tp, const wt_tensor **th)
{
    mint_status st = MINT_OK;
    char name[48];
    for (int i = 0; !st && i < tm->nparams; i++) {
        const mint_tm_param *p = &tm->params[i];
        snprintf(name, sizeof name, "adam.m.%s", p->name);
        st = wt_tensor_get(f, name, BASE_F32, p->rank, p->dims, &tmv[2 * i]);
        snprintf(name, sizeof name, "adam.v.%s", p->name);
        if (!st)
            st = wt_tensor_get(f, name, BASE_F32, p->rank, p->dims, &tmv[2 * i + 1]);
    }
    const int64_t any = -1;
    if (!st)
        st = wt_tensor_get(f, "sampler.members", BASE_I64, 1, &any, &tp[0]);
    if (!st)
        st = wt_tensor_get(f, "sampler.external", BASE_I64, 1, &any, &tp[1]);
    if (!st && wt_tensor_find(f, "holdout.external"))
        st = wt_tensor_get(f, "holdout.external", BASE_I64, 1, &any, th);
    if (!st) {
        s->n[0] = (int64_t)tp[0]->nelem;
        s->n[1] = (int64_t)tp[1]->nelem;
        s->n_held = *th ? (int64_t)(*th)->nelem : 0;
        if (s->n[0] != s->n_mem || s->n[1] + s->n_held != s->n_ext)
            st = mint_fail(MINT_E_FORMAT, "%s: sampler orders of %lld + %lld + %lld samples for "
                           "%lld members and %lld external", path, (long long)s->n[0],
                           (long long)s->n[1], (long long)s->n_held, (long long)s->n_mem,
                           (long long)s->n_ext);
    }
    return st;
}

/* Adam moments must be finite (the second ones >= 0). */
static mint_status ckpt_check_moments(const char *path, const wt_tensor *const *tmv, int n)
{
    for (int i = 0; i < n; i++) {
        const int64_t bad = net_first_bad_value(tmv[i]->data, (size_t)tmv[i]->nelem, i & 1);
        if (bad >= 0)
            return mint_fail(MINT_E_FORMAT, "%s: tensor '%s' element %lld is %g: Adam moments "
                             "must be finite (and the second ones >= 0)", path, tmv[i]->name,
                             (long long)bad, (double)((const float *)tmv[i]->data)[bad]);
    }
    return MINT_OK;
}

mint_status mint_train_state_load(const char *path, mint_tm *tm, mint_train_state **out)
{
    if (!out)
        return mint_fail(MINT_E_ARG, "mint_train_state_load: NULL argument");
    *out = NULL;
    if (!path || !tm)
        return mint_fail(MINT_E_ARG, "mint_train_state_load: NULL argument");
    wt_file *f;
    mint_status st = wt_open(&f, path);
    if (st)
        return st;
    mint_train_state s;
    memset(&s, 0, sizeof s);
    st = ckpt_read_header(f, path, tm, &s);
    if (!st)
        st = ckpt_read_progress(f, path, &s);
    /* the optimiser's moments and the sampler's orders */
    const wt_tensor *tmv[2 * MINT_TM_MAX_PARAMS], *tp[2] = { NULL, NULL }, *th = NULL;
    if (!st)
        st = ckpt_find_tensors(f, path, tm, &s, tmv, tp, &th);
    mint_train_state *r = NULL;
    if (!st) {
        r = malloc(sizeof *r);
        if (r) {
            *r = s;
            r->perm[0] = copy_i64(tp[0]);
            r->perm[1] = copy_i64(tp[1]);
            r->held = th ? copy_i64(th) : NULL;
        }
        if (!r || !r->perm[0] || !r->perm[1] || (th && !r->held))
            st = mint_fail(MINT_E_NOMEM, "%s: out of memory for the sampler state", path);
    }
    if (!st)
        st = ckpt_check_moments(path, tmv, 2 * tm->nparams);
    /* the model last: mint_tm_read leaves tm unchanged when it fails */
    if (!st)
        st = mint_tm_read(tm, f);
    if (!st) {
        for (int i = 0; i < tm->nparams; i++) {
            const mint_tm_param *p = &tm->params[i];
            memcpy(tm->arena + 2 * tm->seg + p->offset, tmv[2 * i]->data, sizeof(float) * p->count);
            memcpy(tm->arena + 3 * tm->seg + p->offset, tmv[2 * i + 1]->data,
                   sizeof(float) * p->count);
        }
        tm->adam_t = s.adam_t;
        tm->train_accuracy = s.train_accuracy;
    }
    wt_close(f);
    if (st) {
        mint_train_state_free(r);
        return st;
    }
    *out = r;
    return MINT_OK;
}
