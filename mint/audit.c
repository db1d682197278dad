/* audit.c - `mint eval` and `mint audit` as library calls (see audit.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "io/align.h"
#include "io/plot.h"
#include "mint/audit.h"
#include "mint/model.h"
#include "mint/train.h"
#include "mint/trainset.h"
#include "weights/container.h"

/* Taps to read: the caller's comma list, else the MINT model's recorded
 * one, split into buf (desc gets it whole). *ntaps may end up 0 (none
 * recorded). */
static mint_status resolve_taps(const mint_tm *tm, const char *given, char *buf, size_t cap,
                                const char **taps, int *ntaps, char *desc, size_t desc_cap)
{
    *ntaps = 0;
    const char *s = given ? given : tm->cfg.taps;
    if (strlen(s) >= cap || strlen(s) >= desc_cap)
        return mint_fail(MINT_E_ARG, "taps '%.64s...': at most %zu characters", s, cap - 1);
    snprintf(buf, cap, "%s", s);
    snprintf(desc, desc_cap, "%s", s);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (*ntaps == MINT_FEATS_MAX_TAPS)
            return mint_fail(given ? MINT_E_ARG : MINT_E_FORMAT, "%s more than %d taps",
                             given ? "at most" : "the MINT model records", MINT_FEATS_MAX_TAPS);
        taps[(*ntaps)++] = t;
    }
    if (given && *ntaps == 0)
        return mint_fail(MINT_E_ARG, "taps: wants 1..%d comma-separated names",
                         MINT_FEATS_MAX_TAPS);
    return MINT_OK;
}

static int feats_match(const mint_tm *tm, int rank, const int dims[3])
{
    if (mint_tm_kind_is_conv(tm->cfg.kind))
        return rank == 3 && dims[0] == tm->cfg.in_dims[0] && dims[1] == tm->cfg.in_dims[1] &&
               dims[2] == tm->cfg.in_dims[2];
    return rank == 1 && dims[0] == tm->cfg.in_dims[0];
}

static void tm_dims_str(const mint_tm *tm, char *buf, size_t n)
{
    mint_feats_dims_str(buf, n, mint_tm_kind_is_conv(tm->cfg.kind) ? 3 : 1, tm->cfg.in_dims);
}

/* Features of `what` (a file or directory) must fit the MINT model. */
static mint_status check_loaded(const mint_tm *tm, const char *mint_path, const char *what,
                                const mint_feats *f)
{
    if (feats_match(tm, f->rank, f->dims))
        return MINT_OK;
    char have[64], want[64];
    mint_feats_dims_str(have, sizeof have, f->rank, f->dims);
    tm_dims_str(tm, want, sizeof want);
    return mint_fail(MINT_E_SHAPE, "%s: %s features per sample, but the %s MINT model %s takes %s "
                     "(features of another network, other taps or another kind?)", what, have,
                     mint_tm_kind_name(tm->cfg.kind), mint_path, want);
}

/* Score loaded features with the MINT model, as doubles. */
static mint_status score_feats(const mint_tm *tm, const mint_feats *f, double *out)
{
    float *s = malloc(sizeof(float) * (size_t)(f->n ? f->n : 1));
    if (!s)
        return mint_fail(MINT_E_NOMEM, "out of memory for %lld scores", (long long)f->n);
    mint_status st = mint_tm_predict(tm, f->x, f->n, s);
    for (int64_t i = 0; !st && i < f->n; i++)
        out[i] = s[i];
    free(s);
    return st;
}

/* ---------------- eval ---------------- */

/* Features from another network than the one the MINT model was trained
 * on are refused (when extract.txt and the model both say which). */
static mint_status check_network(const mint_tm *tm, const char *mint_path, const char *path)
{
    char what[4200];
    snprintf(what, sizeof what, "the MINT model %s was trained on", mint_path);
    return mint_feats_check_network(path, tm->cfg.network_sha256, what);
}

static void vnote(char (*notes)[1024], const char **ptr, size_t *n, size_t cap, const char *fmt,
                  va_list ap)
{
    if (*n >= cap)
        return;
    vsnprintf(notes[*n], sizeof notes[0], fmt, ap);
    ptr[*n] = notes[*n];
    (*n)++;
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void eval_note(mint_eval_run_result *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vnote(s->notes, s->note_ptr, &s->n_notes, sizeof s->notes / sizeof s->notes[0], fmt, ap);
    va_end(ap);
}

/* Features whose network nothing checks (no extract.txt on a side, or on
 * both with an unbound model), said as `mint train` says it. */
static void eval_network_notes(mint_eval_run_result *s, const mint_tm *tm, const char *mint_path,
                               const char *mem, const char *ext)
{
    char sm[65] = "", se[65] = "";
    if (mint_feats_network(mem, sm) || mint_feats_network(ext, se))
        return;
    const char *bound = tm->cfg.network_sha256;
    if (bound[0]) {
        for (int side = 0; side < 2; side++)
            if (!(side ? se : sm)[0])
                eval_note(s, "%s has no extract.txt saying which network it came from: nothing "
                          "checked that it is the network the MINT model %s was trained for "
                          "(SHA-256 %.16s...); features of another network give meaningless "
                          "metrics", side ? ext : mem, mint_path, bound);
    } else if (sm[0] != se[0]) {
        eval_note(s, "%s has no extract.txt saying which network it came from; make sure it is "
                  "the one of %s (SHA-256 %.16s...)", sm[0] ? ext : mem, sm[0] ? mem : ext,
                  sm[0] ? sm : se);
    } else if (!sm[0]) {
        eval_note(s, "no extract.txt says which network the features came from, and the MINT "
                  "model %s does not record the network it was trained for: nothing checked "
                  "that they match", mint_path);
    }
}

/* Members and external samples that are images the MINT model was trained
 * on (index.csv against its record), or why that cannot be said. */
static mint_status eval_overlap_notes(mint_eval_run_result *s, const mint_tm *tm,
                                      const char *mint_path, const char *path[2],
                                      const int64_t n[2])
{
    if (!tm->trainset.recorded) {
        eval_note(s, "this MINT model (%s) does not record its training images: nothing checked "
                  "that the evaluation data are not among them", mint_path);
        s->n_trained = -1;
        return MINT_OK;
    }
    static const char *const what[2] = { "members", "external samples" };
    for (int side = 0; side < 2; side++) {
        mint_image_keys k;
        mint_status st = mint_keys_from_index(path[side], n[side], &k);
        if (st == MINT_E_NOTFOUND || st == MINT_E_SHAPE) {
            char why[600];
            snprintf(why, sizeof why, "%s", mint_last_error());
            eval_note(s, "could not check whether the %s (%s) are images the MINT model was "
                      "trained on: %s", what[side], path[side], why);
            s->n_trained = -1;
            continue;
        }
        if (st)
            return st;
        int64_t c[MINT_TS_SETS], trained = 0;
        for (int64_t i = 0; i < k.n; i++)
            trained += (mint_trainset_find(&tm->trainset, k.key[i]) &
                        (1u << MINT_TS_MEMBERS | 1u << MINT_TS_EXTERNAL)) != 0;
        mint_trainset_count(&tm->trainset, k.key, k.n, c);
        mint_image_keys_free(&k);
        if (s->n_trained >= 0)
            s->n_trained += trained;
        if (trained)
            eval_note(s, "%lld of the %lld %s (%s) are images the MINT model was trained on "
                      "(%lld as members, %lld as external samples): its metrics on them are "
                      "biased upwards; evaluate on data it was not trained on", (long long)trained,
                      (long long)n[side], what[side], path[side], (long long)c[MINT_TS_MEMBERS],
                      (long long)c[MINT_TS_EXTERNAL]);
    }
    return MINT_OK;
}

void mint_eval_run_defaults(mint_eval_run_opts *o)
{
    memset(o, 0, sizeof *o);
}

mint_status mint_eval_run(const mint_eval_run_opts *o, mint_eval_run_result *out)
{
    if (!out)
        return mint_fail(MINT_E_ARG, "mint_eval_run: no result");
    memset(out, 0, sizeof *out);
    if (!o || !o->mint || !o->members || !o->external)
        return mint_fail(MINT_E_ARG, "mint_eval_run: needs the MINT model, members and external");
    mint_tm *tm = NULL;
    mint_feats fm = { 0 }, fe = { 0 };
    mint_roc roc = { 0 };
    double *scores = NULL;
    uint8_t *labels = NULL;
    const char *taps[MINT_FEATS_MAX_TAPS];
    char tbuf[256];
    int ntaps = 0;
    mint_status st = base_sha256_file(o->mint, out->mint_sha256);
    if (!st)
        st = mint_tm_load(&tm, o->mint);
    if (!st)
        st = resolve_taps(tm, o->taps, tbuf, sizeof tbuf, taps, &ntaps, out->taps,
                          sizeof out->taps);
    struct stat sb;
    if (!st && ntaps == 0 && !stat(o->members, &sb) && S_ISDIR(sb.st_mode)) {
        /* none given or recorded in T: those the members' extract.txt records */
        mint_taps_source src;
        st = mint_feats_default_taps(o->members, (int)tm->cfg.kind, tbuf, sizeof tbuf, &src);
        if (!st)
            snprintf(out->taps, sizeof out->taps, "%s", tbuf);
        char *sv = NULL;
        for (char *t = st ? NULL : strtok_r(tbuf, ",", &sv); t && !st; t = strtok_r(NULL, ",", &sv))
            if (ntaps == MINT_FEATS_MAX_TAPS)
                st = mint_fail(MINT_E_ARG, "%s/extract.txt records more than %d taps", o->members,
                               MINT_FEATS_MAX_TAPS);
            else
                taps[ntaps++] = t;
    }
    const int cnn = tm && mint_tm_kind_is_conv(tm->cfg.kind);
    if (!st)
        st = check_network(tm, o->mint, o->members);
    if (!st)
        st = check_network(tm, o->mint, o->external);
    if (!st && !tm->cfg.network_sha256[0]) { /* unbound model: at least the two must agree */
        char sm[65], se[65];
        st = mint_feats_networks(o->members, o->external, sm, se);
    }
    if (!st && (st = mint_feats_load(o->members, cnn, taps, ntaps, &fm)) == MINT_OK)
        st = check_loaded(tm, o->mint, o->members, &fm);
    if (!st && (st = mint_feats_load(o->external, cnn, taps, ntaps, &fe)) == MINT_OK)
        st = check_loaded(tm, o->mint, o->external, &fe);
    if (!st)
        eval_network_notes(out, tm, o->mint, o->members, o->external);
    if (!st) {
        const char *paths[2] = { o->members, o->external };
        const int64_t counts[2] = { fm.n, fe.n };
        st = eval_overlap_notes(out, tm, o->mint, paths, counts);
    }
    const size_t n = (size_t)(fm.n + fe.n);
    if (!st) {
        scores = malloc(sizeof(double) * n);
        labels = malloc(n);
        if (!scores || !labels)
            st = mint_fail(MINT_E_NOMEM, "out of memory for %zu scores", n);
    }
    if (!st)
        st = score_feats(tm, &fm, scores);
    if (!st)
        st = score_feats(tm, &fe, scores + fm.n);
    if (!st) {
        memset(labels, 1, (size_t)fm.n);
        memset(labels + fm.n, 0, (size_t)fe.n);
        snprintf(out->kind, sizeof out->kind, "%s", mint_tm_kind_name(tm->cfg.kind));
        /* the threshold is the training one only if the model was calibrated */
        out->has_train_threshold = tm->n_cal_member > 0 && tm->n_cal_external > 0;
        const double thr = out->has_train_threshold ? tm->threshold : NAN;
        st = mint_evaluate(&out->m, o->roc_png ? &roc : NULL, scores, labels, n, thr);
    }
    /* the plot first: the JSON names it, so it appears only when both exist */
    if (!st && o->roc_png) {
        char title[160];
        const char *base = strrchr(o->mint, '/');
        snprintf(title, sizeof title, "ROC of %s MINT %s: %zu members, %zu external", out->kind,
                 base ? base + 1 : o->mint, out->m.n_members, out->m.n_external);
        st = io_plot_roc(o->roc_png, roc.fpr, roc.tpr, roc.n, out->m.n_external, out->m.auc, title);
    }
    if (!st && o->store && out->n_trained > 0)
        st = mint_fail(MINT_E_ARG, "not storing the figures in %s: %lld of the evaluation images "
                       "are images it was trained on, so its AUC here is biased upwards; evaluate "
                       "with --store on held-out data", o->mint, (long long)out->n_trained);
    if (!st && o->store) {
        tm->has_quality = 1;
        tm->q_auc = out->m.auc;
        tm->q_tpr_1pct = out->m.tpr_at_fpr[0];
        tm->q_bacc = out->has_train_threshold ? out->m.bacc_train_thr : out->m.bacc_05;
        tm->q_n_members = (int64_t)out->m.n_members;
        tm->q_n_external = (int64_t)out->m.n_external;
        snprintf(tm->q_data, sizeof tm->q_data, "members %s, external %s", o->members,
                 o->external);
        if (o->created)
            snprintf(tm->q_date, sizeof tm->q_date, "%s", o->created);
        else
            base_utc_now(tm->q_date);
        if (!(st = mint_tm_save(tm, o->mint)))
            st = base_sha256_file(o->mint, out->mint_sha256);
    }
    if (!st && o->json) {
        mint_report_eval_meta meta = { o->mint, out->mint_sha256, o->members, o->external,
                              o->roc_png, o->created, out->note_ptr, out->n_notes };
        st = mint_report_eval_write(o->json, &out->m, &meta);
    }
    mint_roc_free(&roc);
    free(scores);
    free(labels);
    mint_feats_free(&fm);
    mint_feats_free(&fe);
    mint_tm_free(tm);
    return st;
}

/* ---------------- audit ---------------- */

typedef struct {
    const mint_tm *tm;
    mint_audit_result *r;
    float *packed;  /* rows of the scored images of one batch */
    float *scores, *logits;
    int cap;        /* rows the buffers hold */
    int64_t row;
    mint_images_progress progress;
    void *progress_ctx;
} audit_ctx;

static mint_status audit_sink(void *vctx, size_t first, int n, const float *rows,
                              const mint_image_status *status)
{
    audit_ctx *c = vctx;
    if (n > c->cap) {
        free(c->packed);
        free(c->scores);
        free(c->logits);
        c->packed = malloc(sizeof(float) * (size_t)(c->row * n));
        c->scores = malloc(sizeof(float) * (size_t)n);
        c->logits = malloc(sizeof(float) * (size_t)n);
        c->cap = c->packed && c->scores && c->logits ? n : 0;
        if (!c->cap)
            return mint_fail(MINT_E_NOMEM, "out of memory for a batch of features");
    }
    int k = 0;
    for (int j = 0; j < n; j++) {
        const size_t i = first + (size_t)j;
        memcpy(c->r->sha[i], status[j].sha256, 65);
        c->r->images[i].sha256 = status[j].sha256[0] ? c->r->sha[i] : NULL;
        if (!status[j].ok) {
            snprintf(c->r->err[i], sizeof c->r->err[i], "%s", status[j].error);
            c->r->images[i].error = c->r->err[i];
            continue;
        }
        memcpy(c->packed + k * c->row, rows + j * c->row, sizeof(float) * (size_t)c->row);
        k++;
    }
    mint_status st = mint_tm_predict2(c->tm, c->packed, k, c->scores, c->logits);
    if (st)
        return st;
    k = 0;
    for (int j = 0; j < n; j++)
        if (status[j].ok) {
            c->r->images[first + (size_t)j].score = c->scores[k];
            c->r->logit[first + (size_t)j] = c->logits[k++];
        }
    if (c->progress)
        c->progress(c->progress_ctx, first + (size_t)n, c->r->n_images);
    return MINT_OK;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void mint_audit_result_free(mint_audit_result *r)
{
    if (!r)
        return;
    free(r->images);
    free(r->sha);
    free(r->err);
    free(r->logit);
    free(r->ids);
    mint_idset_free(&r->set);
    memset(r, 0, sizeof *r);
}

static void add_note(mint_audit_result *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vnote(r->notes, r->note_ptr, &r->n_notes, sizeof r->notes / sizeof r->notes[0], fmt, ap);
    va_end(ap);
}

/* Audited images the MINT model was trained on, or held out as its
 * reference (their SHA-256 against its record). */
static void audit_overlap_notes(mint_audit_result *out, const mint_tm *tm, const char *mint_path,
                                int default_reference)
{
    if (!tm->trainset.recorded) {
        add_note(out, "This MINT model (%s) does not record its training images: nothing checked "
                 "that the audited images are not among them.", mint_path);
        return;
    }
    int64_t c[MINT_TS_SETS] = { 0 }, trained = 0, scored = 0;
    for (size_t i = 0; i < out->n_images; i++) {
        uint64_t key;
        if (isnan(out->images[i].score) || out->images[i].duplicate_of ||
            mint_sha256_key(out->sha[i], &key))
            continue;
        scored++;
        const unsigned m = mint_trainset_find(&tm->trainset, key);
        trained += (m & (1u << MINT_TS_MEMBERS | 1u << MINT_TS_EXTERNAL)) != 0;
        for (int s = 0; s < MINT_TS_SETS; s++)
            c[s] += (m >> s) & 1;
    }
    if (trained)
        add_note(out, "%lld of the %lld scored images are images the MINT model was trained on "
                 "(%lld as members, %lld as external samples): their scores are biased towards "
                 "the side it learnt them as, so the test on them is no fair audit; audit images "
                 "it was not trained on.", (long long)trained, (long long)scored,
                 (long long)c[MINT_TS_MEMBERS], (long long)c[MINT_TS_EXTERNAL]);
    if (c[MINT_TS_REFERENCE])
        add_note(out, "%lld of the scored images are held-out reference samples of the MINT model "
                 "(not trained on)%s.", (long long)c[MINT_TS_REFERENCE],
                 default_reference ? ", which the set-level test compares against: the set is "
                                     "partly compared with itself" : "");
}

typedef struct {
    const char *sha;
    size_t i;
} sha_ix;

static int cmp_by_sha(const void *a, const void *b)
{
    const sha_ix *x = a, *y = b;
    const int c = strcmp(x->sha, y->sha);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* Scored images with the bytes of an earlier scored image: a set that
 * repeats one image is not more evidence than the image alone. */
static mint_status mark_duplicates(mint_audit_result *out, size_t n)
{
    sha_ix *ix = malloc(sizeof *ix * (n ? n : 1));
    size_t k = 0;
    if (!ix)
        return mint_fail(MINT_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        if (!isnan(out->images[i].score) && out->sha[i][0])
            ix[k++] = (sha_ix){ out->sha[i], i };
    qsort(ix, k, sizeof *ix, cmp_by_sha);
    for (size_t a = 1; a < k; a++)
        if (!strcmp(ix[a].sha, ix[a - 1].sha)) {
            size_t first = a - 1;
            while (out->images[ix[first].i].duplicate_of)
                first--;
            out->images[ix[a].i].duplicate_of = out->images[ix[first].i].file;
            out->n_duplicates++;
        }
    free(ix);
    return MINT_OK;
}

/* The identity of scored image i under o->unit. */
static const char *identity_of(const mint_audit_result *out, const mint_audit_opts *o, size_t i)
{
    const char *set_name = o->set_name && o->set_name[0] ? o->set_name : "the set";
    switch (o->unit) {
    case MINT_AUDIT_BY_IMAGE: return out->images[i].file;
    case MINT_AUDIT_ONE: return set_name;
    case MINT_AUDIT_BY_LABEL: break;
    }
    const char *l = o->images->items[i].label;
    return l && l[0] ? l : set_name;
}

typedef struct {
    const char *key;
    size_t i;
} id_ix;

static int cmp_id_ix(const void *a, const void *b)
{
    const id_ix *x = a, *y = b;
    const int c = strcmp(x->key, y->key);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* Sort the scored images order[0..n_scored) by identity (then list
 * order); start[0..m] delimit the m identities; out->ids gets their names. */
static mint_status group_images(mint_audit_result *out, const mint_audit_opts *o, size_t *order,
                                size_t *start, size_t *m)
{
    const size_t ns = out->n_scored;
    *m = 0;
    if (ns == 0)
        return MINT_OK;
    id_ix *ix = malloc(sizeof *ix * ns);
    out->ids = calloc(ns, sizeof *out->ids);
    if (!ix || !out->ids) {
        free(ix);
        return mint_fail(MINT_E_NOMEM, "out of memory");
    }
    for (size_t k = 0; k < ns; k++)
        ix[k] = (id_ix){ identity_of(out, o, order[k]), order[k] };
    qsort(ix, ns, sizeof *ix, cmp_id_ix);
    for (size_t k = 0; k < ns; k++) {
        order[k] = ix[k].i;
        if (k == 0 || strcmp(ix[k].key, ix[k - 1].key)) {
            out->ids[*m].name = ix[k].key;
            start[(*m)++] = k;
        }
    }
    start[*m] = ns;
    free(ix);
    return MINT_OK;
}

static mint_status fill_settest(mint_audit_result *out, const mint_audit_opts *o,
                                const mint_tm *tm, const size_t *order, const size_t *start,
                                size_t m)
{
    (void)order;
    const mint_idset *s = &out->set;
    for (size_t i = 0; i < m; i++) {
        mint_audit_identity *id = &out->ids[i];
        id->n = start[i + 1] - start[i];
        id->t = s->ids[i].t;
        id->p = s->ids[i].p;
        id->percentile = s->ids[i].percentile;
    }
    switch (o->unit) {
    case MINT_AUDIT_BY_IMAGE:
        snprintf(out->unit_desc, sizeof out->unit_desc, "each image is its own identity (assumes "
                 "the images are independent)");
        break;
    case MINT_AUDIT_ONE:
        snprintf(out->unit_desc, sizeof out->unit_desc, "all images are of one identity");
        break;
    case MINT_AUDIT_BY_LABEL:
        snprintf(out->unit_desc, sizeof out->unit_desc, "one identity per label (sub-folder or "
                 "list label); unlabelled images form one identity");
        break;
    }
    if (m == 1)
        snprintf(out->audited, sizeof out->audited, "1 identity (%s, %zu image%s)",
                 out->ids[0].name, out->ids[0].n, out->ids[0].n == 1 ? "" : "s");
    else if (m == 2)
        snprintf(out->audited, sizeof out->audited, "2 identities (%s, %s), %zu images",
                 out->ids[0].name, out->ids[1].name, s->n_images);
    else if (m > 2)
        snprintf(out->audited, sizeof out->audited, "%zu identities (%s, %s, ...), %zu images",
                 m, out->ids[0].name, out->ids[1].name, s->n_images);
    mint_audit_settest *t = &out->settest;
    memset(t, 0, sizeof *t);
    t->test = mint_idt_method_name(s->method);
    t->unit = out->unit_desc;
    t->m = s->m;
    t->n_images = s->n_images;
    t->K = s->K;
    t->K_images = s->K_images;
    t->p = s->p;
    t->p_min = s->p_min;
    t->evidence = s->p < o->alpha && s->p_min <= o->alpha;
    t->t_set = s->t_set;
    t->t_ref = s->t_ref;
    t->effect = s->effect;
    t->effect_name = m == 1 ? "Percentile among reference identities"
                            : "P(audited identity > reference identity)";
    t->welch_t = s->welch_t;
    t->welch_df = s->welch_df;
    t->welch_p = s->welch_p;
    t->ids = out->ids;
    t->n_ids = m;
    t->has_quality = tm->has_quality;
    t->q_auc = tm->q_auc;
    t->q_tpr_1pct = tm->q_tpr_1pct;
    t->q_members = (size_t)tm->q_n_members;
    t->q_external = (size_t)tm->q_n_external;
    t->q_data = tm->q_data;
    t->q_date = tm->q_date;
    return MINT_OK;
}

/* Below these the verdict carries a power caveat. */
#define MINT_AUDIT_WEAK_AUC 0.6
#define MINT_AUDIT_FEW_IMAGES 5

static void add_notes(mint_audit_result *out, const mint_audit_opts *o, const mint_tm *tm,
                      int ref_ids_known)
{
    if (!tm->cfg.network_sha256[0])
        add_note(out, "The MINT model %s does not record which network it was trained for "
                 "(it was trained from .npy files without an extract.txt): nothing checked "
                 "that %s is that network. Features of another network give meaningless "
                 "scores.", o->mint_path, o->model_path);
    if (out->n_duplicates)
        add_note(out, "%zu image%s had the same bytes (SHA-256) as an earlier image of the set "
                 "and %s counted once in the set-level test.", out->n_duplicates,
                 out->n_duplicates == 1 ? "" : "s", out->n_duplicates == 1 ? "is" : "are");
    audit_overlap_notes(out, tm, o->mint_path, !o->reference);
    if (!tm->cal_external_heldout && !o->reference)
        add_note(out, "The reference scores are of the external samples the MINT model was "
                 "trained on: they are biased low, so the test may claim membership too "
                 "often. Prefer a model trained with --holdout or a held-out --reference.");
    if (!ref_ids_known)
        add_note(out, "The reference images carry no identities, so each counts as a person of "
                 "its own; photos of one person in the reference make the test less exact. "
                 "Train with labelled external data (--holdout-by label) or give a --reference "
                 "with an index.csv.");
    else if (!o->reference && strcmp(tm->cal_holdout_by, "label"))
        add_note(out, "The reference was held out by image, not by identity: other photos of "
                 "its people were trained on, which pushes their scores down and can make the "
                 "audited set look like members. Retrain with --holdout-by label.");
    if (!out->has_set)
        return;
    if (o->unit == MINT_AUDIT_BY_IMAGE)
        add_note(out, "Each image was treated as its own identity: the p-value assumes the "
                 "images are independent, which photos of one person are not.");
    if (!tm->has_quality)
        add_note(out, "The MINT model's strength was never measured on held-out data (mint "
                 "eval --store): a weak auditing model cannot give strong evidence, and its "
                 "'no evidence' means little.");
    else if (tm->q_auc < MINT_AUDIT_WEAK_AUC)
        add_note(out, "Low power: the MINT model's held-out AUC is %.3f (TPR %.3f at 1%% FPR), "
                 "close to chance; 'no evidence' from it means little.", tm->q_auc,
                 tm->q_tpr_1pct);
    if (out->set.n_images < MINT_AUDIT_FEW_IMAGES)
        add_note(out, "Low power: only %zu image%s scored; audit more images of the set.",
                 out->set.n_images, out->set.n_images == 1 ? " was" : "s were");
}

/* The reference scores (logits) the audited set is tested against, with
 * the identity of each (-1 unknown). */
typedef struct {
    double *score;
    int32_t *group;
    size_t n;
    int ids_known;
} audit_ref;

/* Hashes, the MINT model, the network and the taps of an audit. */
static mint_status audit_open(mint_audit_result *out, const mint_audit_opts *o, mint_tm **tm,
                              mint_model **m, const char **taps, char *tbuf, size_t tcap,
                              int *ntaps)
{
    mint_status st = base_sha256_file(o->model_path, out->model_sha256);
    if (!st)
        st = base_sha256_file(o->mint_path, out->mint_sha256);
    if (!st)
        st = mint_tm_load(tm, o->mint_path);
    if (!st)
        st = mint_model_open(m, o->model_path);
    if (!st)
        st = resolve_taps(*tm, o->taps, tbuf, tcap, taps, ntaps, out->taps, sizeof out->taps);
    if (!st && *ntaps == 0)
        st = mint_fail(MINT_E_ARG, "%s records no taps (it was trained from .npy files without "
                       "--taps); name the taps its features came from", o->mint_path);
    return st;
}

/* Refusals, before any image is read: another network, features of
 * another size, landmarks for a network not at the alignment size, no
 * reference. */
static mint_status audit_refusals(const mint_audit_result *out, const mint_audit_opts *o,
                                  const mint_tm *tm, const mint_model *m, int cnn,
                                  const char *const *taps, int ntaps)
{
    mint_status st = MINT_OK;
    if (tm->cfg.network_sha256[0] && strcmp(tm->cfg.network_sha256, out->model_sha256))
        return mint_fail(MINT_E_ARG, "the MINT model %s was trained on features of the network "
                         "with SHA-256 %.16s..., but %s has SHA-256 %.16s...: audit with the "
                         "network it was trained for", o->mint_path, tm->cfg.network_sha256,
                         o->model_path, out->model_sha256);
    int rank, dims[3];
    st = mint_feats_shape(m, cnn, taps, ntaps, &rank, dims);
    if (st) {
        char why[400];
        snprintf(why, sizeof why, "%s", mint_last_error());
        return mint_fail(st, "%s: cannot compute the features of the MINT model %s from this "
                         "network: %s", o->model_path, o->mint_path, why);
    }
    if (!feats_match(tm, rank, dims)) {
        char have[64], want[64];
        mint_feats_dims_str(have, sizeof have, rank, dims);
        tm_dims_str(tm, want, sizeof want);
        return mint_fail(MINT_E_SHAPE, "the %s MINT model %s takes %s features per image, but "
                         "taps %s of %s give %s: the MINT model was trained on another network "
                         "(or other taps)", mint_tm_kind_name(tm->cfg.kind), o->mint_path, want,
                         out->taps, o->model_path, have);
    }
    if (o->landmarks) {
        int ic, ih, iw;
        mint_model_input_shape(m, &ic, &ih, &iw);
        if (ih != IO_ALIGN_SIZE || iw != IO_ALIGN_SIZE)
            return mint_fail(MINT_E_SHAPE, "%s takes %dx%d inputs, but landmark alignment gives "
                             "%dx%d faces", o->model_path, iw, ih, IO_ALIGN_SIZE, IO_ALIGN_SIZE);
    }
    if (!o->reference && tm->n_cal_external == 0)
        return mint_fail(MINT_E_ARG, "%s has no calibration scores of external data; give "
                         "reference features of known external data (--reference)", o->mint_path);
    return st;
}

/* The reference from features of known external data (--reference), from
 * the audited network (checked by its extract.txt), scored with the MINT
 * model; identities from its index.csv. */
static mint_status reference_from_features(mint_audit_result *out, const mint_audit_opts *o,
                                           const mint_tm *tm, int cnn, const char *const *taps,
                                           int ntaps, audit_ref *ref)
{
    /* from M's network: a bound T's own, checked against M above */
    char what[4200];
    snprintf(what, sizeof what, "the audited network %s is", o->model_path);
    mint_feats fr = { 0 };
    mint_feats_index ix = { 0 };
    mint_status st;
    if (!(st = mint_feats_check_network(o->reference, out->model_sha256, what)) &&
        !(st = mint_feats_load(o->reference, cnn, taps, ntaps, &fr)))
        st = check_loaded(tm, o->mint_path, o->reference, &fr);
    if (!st)
        st = mint_feats_index_load(o->reference, fr.n, &ix);
    float *lg = NULL;
    if (!st && (!(ref->score = malloc(sizeof(double) * (size_t)(fr.n ? fr.n : 1))) ||
                !(lg = malloc(sizeof(float) * (size_t)(fr.n ? fr.n : 1))) ||
                !(ref->group = malloc(sizeof(int32_t) * (size_t)(fr.n ? fr.n : 1)))))
        st = mint_fail(MINT_E_NOMEM, "out of memory for reference scores");
    if (!st && !(st = mint_tm_predict2(tm, fr.x, fr.n, NULL, lg))) {
        ref->n = (size_t)fr.n;
        for (size_t i = 0; i < ref->n; i++)
            ref->score[i] = lg[i];
        int64_t k = 0;
        if (ix.n >= 0)
            st = mint_groups_from_labels((const char *const *)ix.label, fr.n, ref->group, &k);
        else
            for (size_t i = 0; i < ref->n; i++)
                ref->group[i] = -1;
        ref->ids_known = k > 0;
        snprintf(out->reference, sizeof out->reference,
                 "%s: %zu images of known external data%s, scored with the MINT model",
                 o->reference, ref->n, ref->ids_known ? " (identities from its index.csv)" : "");
    }
    free(lg);
    mint_feats_index_free(&ix);
    mint_feats_free(&fr);
    return st;
}

/* The reference from the calibration scores stored in the MINT model. */
static mint_status reference_from_calibration(mint_audit_result *out, const mint_audit_opts *o,
                                              const mint_tm *tm, audit_ref *ref)
{
    const size_t nref = (size_t)tm->n_cal_external;
    ref->n = nref;
    ref->score = malloc(sizeof(double) * nref);
    ref->group = malloc(sizeof(int32_t) * nref);
    if (!ref->score || !ref->group)
        return mint_fail(MINT_E_NOMEM, "out of memory for reference scores");
    for (size_t i = 0; i < nref; i++) {
        ref->score[i] = tm->cal_external_logit[i];
        ref->group[i] = tm->cal_external_group[i];
        ref->ids_known |= ref->group[i] >= 0;
    }
    char ids[96] = "";
    if (tm->cal_ref_identities >= 0)
        snprintf(ids, sizeof ids, " of %lld identities", (long long)tm->cal_ref_identities);
    if (tm->cal_external_heldout)
        snprintf(out->reference, sizeof out->reference,
                 "calibration stored in %s: %zu external images%s held out of its "
                 "training %s", o->mint_path, nref, ids,
                 !strcmp(tm->cal_holdout_by, "label")
                     ? "by identity (people it never saw)"
                     : "by image (other photos of these people may have been trained on)");
    else
        snprintf(out->reference, sizeof out->reference,
                 "calibration stored in %s: the %zu external images%s it was trained on "
                 "(biased low, so the test may claim membership too often: prefer a "
                 "model trained with --holdout or a held-out --reference set)",
                 o->mint_path, nref, ids);
    return MINT_OK;
}

/* One row per image, not scored yet. */
static mint_status alloc_images(mint_audit_result *out, const io_list *images)
{
    const size_t n = images->n;
    out->images = calloc(n, sizeof *out->images);
    out->sha = calloc(n, sizeof *out->sha);
    out->err = calloc(n, sizeof *out->err);
    out->logit = calloc(n, sizeof *out->logit);
    mint_status st = MINT_OK;
    if (!out->images || !out->sha || !out->err || !out->logit)
        st = mint_fail(MINT_E_NOMEM, "out of memory for %zu images", n);
    for (size_t i = 0; !st && i < n; i++) {
        out->images[i].file = images->items[i].path;
        out->images[i].score = NAN;
        out->logit[i] = NAN;
    }
    out->n_images = n;
    return st;
}

/* The scored images (duplicates once) in order[], counted, grouped into
 * identities (start[], m_ids). */
static mint_status collect_scored(mint_audit_result *out, const mint_audit_opts *o,
                                  const mint_tm *tm, size_t *order, size_t *start, size_t *m_ids)
{
    const size_t n = out->n_images;
    mint_status st = mark_duplicates(out, n);
    if (st)
        return st;
    for (size_t i = 0; i < n; i++) {
        const double sc = out->images[i].score;
        if (isnan(sc)) {
            out->n_failed++;
            continue;
        }
        if (out->images[i].duplicate_of)
            continue;
        order[out->n_scored++] = i;
        out->n_above_threshold += sc >= tm->threshold;
    }
    return group_images(out, o, order, start, m_ids);
}

/* The identity-level test of the scored images against the reference, and
 * their median score (set: room for n_scored values). */
static mint_status set_test(mint_audit_result *out, const mint_audit_opts *o, const mint_tm *tm,
                            const size_t *order, const size_t *start, size_t m_ids,
                            const audit_ref *ref, double *set)
{
    mint_status st = MINT_OK;
    snprintf(out->kind, sizeof out->kind, "%s", mint_tm_kind_name(tm->cfg.kind));
    if (o->created)
        snprintf(out->created, sizeof out->created, "%s", o->created);
    else
        base_utc_now(out->created);
    out->median_score = NAN;
    if (out->n_scored == 0)
        return st;
    for (size_t i = 0; i < out->n_scored; i++)
        set[i] = out->logit[order[i]];
    mint_idref idref;
    st = mint_idref_build(&idref, ref->score, ref->group, ref->n);
    if (!st) {
        st = mint_idset_run(&out->set, set, start, m_ids, &idref,
                            o->method == MINT_IDT_RANDOM_EFFECTS ? o->method : MINT_IDT_RANK,
                            MINT_IDT_SEED);
        mint_idref_free(&idref);
    }
    out->has_set = st == MINT_OK;
    for (size_t i = 0; i < out->n_scored; i++)
        set[i] = out->images[order[i]].score;
    qsort(set, out->n_scored, sizeof *set, cmp_double);
    const size_t h = out->n_scored / 2;
    out->median_score = out->n_scored % 2 ? set[h] : 0.5 * (set[h - 1] + set[h]);
    return st;
}

/* The verdict line: the test's, or why there is none. */
static void write_verdict(mint_audit_result *out, double alpha)
{
    const size_t n = out->n_images;
    if (out->has_set) {
        mint_idset_verdict(out->verdict, sizeof out->verdict, &out->set, alpha);
        if (out->n_failed)
            snprintf(out->verdict + strlen(out->verdict),
                     sizeof out->verdict - strlen(out->verdict),
                     " (%zu of %zu images could not be scored and are not part of the test)",
                     out->n_failed, n);
        if (out->n_duplicates)
            snprintf(out->verdict + strlen(out->verdict),
                     sizeof out->verdict - strlen(out->verdict),
                     " (%zu duplicate image%s counted once)", out->n_duplicates,
                     out->n_duplicates == 1 ? "" : "s");
    } else if (n == 1) {
        snprintf(out->verdict, sizeof out->verdict, "the image could not be scored (see "
                 "the error); no set-level test was run");
    } else {
        snprintf(out->verdict, sizeof out->verdict, "none of the %zu images could be "
                 "scored (see the errors); no set-level test was run", n);
    }
}

/* What the report shows, then the report itself. */
static mint_status fill_report(mint_audit_result *out, const mint_audit_opts *o,
                               const mint_tm *tm, int ref_ids_known)
{
    mint_audit_report *r = &out->report;
    r->mint_version = MINT_VERSION;
    r->created = out->created;
    r->model_path = o->model_path;
    r->model_sha256 = out->model_sha256;
    r->mint_path = o->mint_path;
    r->mint_sha256 = out->mint_sha256;
    r->mint_kind = out->kind;
    r->reference = out->reference;
    r->threshold = tm->threshold;
    r->alpha = o->alpha;
    r->images = out->images;
    r->n_images = out->n_images;
    r->set = out->has_set ? &out->settest : NULL;
    r->audited = out->has_set ? out->audited : NULL;
    r->verdict = out->verdict;
    add_notes(out, o, tm, ref_ids_known);
    r->notes = out->note_ptr;
    r->n_notes = out->n_notes;
    return o->report_path ? mint_report_audit_write(o->report_path, r) : MINT_OK;
}

/* Scores of the images, the set-level test, verdict and report, once the
 * inputs are checked and the reference is known. */
static mint_status audit_images(mint_audit_result *out, const mint_audit_opts *o, mint_tm *tm,
                                mint_model *m, int cnn, const char *const *taps, int ntaps,
                                const audit_ref *ref)
{
    const size_t n = o->images->n;
    audit_ctx ctx = { 0 };
    mint_status st = alloc_images(out, o->images);
    if (!st) {
        ctx.tm = tm;
        ctx.r = out;
        ctx.row = tm->in_size;
        ctx.progress = o->progress;
        ctx.progress_ctx = o->progress_ctx;
        st = mint_feats_images_stream(m, o->landmarks, o->images, cnn, taps, ntaps, o->batch,
                                      audit_sink, &ctx);
    }
    /* set-level test on the images that were scored, by identity */
    size_t *order = NULL, *start = NULL, m_ids = 0;
    double *set = NULL;
    if (!st && (!(set = malloc(sizeof(double) * n)) || !(order = malloc(sizeof(size_t) * n)) ||
                !(start = malloc(sizeof(size_t) * (n + 1)))))
        st = mint_fail(MINT_E_NOMEM, "out of memory");
    if (!st)
        st = collect_scored(out, o, tm, order, start, &m_ids);
    if (!st)
        st = set_test(out, o, tm, order, start, m_ids, ref, set);
    if (!st && out->has_set)
        st = fill_settest(out, o, tm, order, start, m_ids);
    if (!st) {
        write_verdict(out, o->alpha);
        st = fill_report(out, o, tm, ref->ids_known);
    }
    free(order);
    free(start);
    free(set);
    free(ctx.packed);
    free(ctx.scores);
    free(ctx.logits);
    return st;
}

mint_status mint_audit_list(mint_audit_result *out, const mint_audit_opts *o)
{
    memset(out, 0, sizeof *out);
    if (!o || !o->model_path || !o->mint_path || !o->images)
        return mint_fail(MINT_E_ARG, "mint_audit_run: needs the model, the MINT model and images");
    if (o->images->n == 0)
        return mint_fail(MINT_E_ARG, "no images to audit");
    if (!(o->alpha > 0 && o->alpha < 1))
        return mint_fail(MINT_E_ARG, "alpha must be in (0, 1), got %g", o->alpha);
    mint_tm *tm = NULL;
    mint_model *m = NULL;
    const char *taps[MINT_FEATS_MAX_TAPS];
    char tbuf[256];
    int ntaps = 0;
    audit_ref ref = { 0 };
    mint_status st = audit_open(out, o, &tm, &m, taps, tbuf, sizeof tbuf, &ntaps);
    const int cnn = tm && mint_tm_kind_is_conv(tm->cfg.kind);
    if (!st)
        st = audit_refusals(out, o, tm, m, cnn, taps, ntaps);
    if (!st)
        st = o->reference ? reference_from_features(out, o, tm, cnn, taps, ntaps, &ref)
                          : reference_from_calibration(out, o, tm, &ref);
    if (!st)
        st = audit_images(out, o, tm, m, cnn, taps, ntaps, &ref);
    free(ref.group);
    free(ref.score);
    mint_model_close(m);
    mint_tm_free(tm);
    if (st)
        mint_audit_result_free(out);
    return st;
}
