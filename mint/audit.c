/* audit.c - `mint eval` and `mint audit` as library calls (see audit.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "io/align.h"
#include "io/plot.h"
#include "mint/audit.h"
#include "mint/model.h"
#include "weights/container.h"

/* Taps to read: the caller's, else the MINT model's recorded comma list
 * (split into buf). *ntaps may end up 0 (none recorded). */
static mint_status resolve_taps(const mint_tm *tm, const char *const *given, int ngiven,
                                char *buf, size_t cap, const char **taps, int *ntaps,
                                char *desc, size_t desc_cap)
{
    *ntaps = 0;
    desc[0] = 0;
    if (given && ngiven > 0) {
        if (ngiven > MINT_FEATS_MAX_TAPS)
            return mint_fail(MINT_E_ARG, "at most %d taps (%d given)", MINT_FEATS_MAX_TAPS, ngiven);
        size_t w = 0;
        for (int i = 0; i < ngiven; i++) {
            taps[i] = given[i];
            int k = snprintf(desc + w, desc_cap - w, "%s%s", i ? "," : "", given[i]);
            w = k > 0 && (size_t)k < desc_cap - w ? w + (size_t)k : desc_cap - 1;
        }
        *ntaps = ngiven;
        return MINT_OK;
    }
    snprintf(buf, cap, "%s", tm->cfg.taps);
    snprintf(desc, desc_cap, "%s", tm->cfg.taps);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (*ntaps == MINT_FEATS_MAX_TAPS)
            return mint_fail(MINT_E_FORMAT, "the MINT model records more than %d taps",
                             MINT_FEATS_MAX_TAPS);
        taps[(*ntaps)++] = t;
    }
    return MINT_OK;
}

static int feats_match(const mint_tm *tm, int rank, const int dims[3])
{
    if (tm->cfg.kind == MINT_TM_CNN)
        return rank == 3 && dims[0] == tm->cfg.in_dims[0] && dims[1] == tm->cfg.in_dims[1] &&
               dims[2] == tm->cfg.in_dims[2];
    return rank == 1 && dims[0] == tm->cfg.in_dims[0];
}

static void tm_dims_str(const mint_tm *tm, char *buf, size_t n)
{
    mint_feats_dims_str(buf, n, tm->cfg.kind == MINT_TM_CNN ? 3 : 1, tm->cfg.in_dims);
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

mint_status mint_eval_run(mint_eval_summary *out, const mint_eval_opts *o)
{
    memset(out, 0, sizeof *out);
    if (!o || !o->mint_path || !o->members || !o->external)
        return mint_fail(MINT_E_ARG, "mint_eval_run: needs the MINT model, members and external");
    mint_tm *tm = NULL;
    mint_feats fm = { 0 }, fe = { 0 };
    mint_roc roc = { 0 };
    double *scores = NULL;
    uint8_t *labels = NULL;
    const char *taps[MINT_FEATS_MAX_TAPS];
    char tbuf[256];
    int ntaps = 0;
    mint_status st = wt_sha256_file(o->mint_path, out->mint_sha256);
    if (!st)
        st = mint_tm_load(&tm, o->mint_path);
    if (!st)
        st = resolve_taps(tm, o->taps, o->ntaps, tbuf, sizeof tbuf, taps, &ntaps, out->taps,
                          sizeof out->taps);
    if (!st && ntaps == 0) { /* none given or recorded in T: the members' extract.txt */
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
    const int cnn = tm && tm->cfg.kind == MINT_TM_CNN;
    if (!st)
        st = check_network(tm, o->mint_path, o->members);
    if (!st)
        st = check_network(tm, o->mint_path, o->external);
    if (!st && !tm->cfg.network_sha256[0]) { /* unbound model: at least the two must agree */
        char sm[65], se[65];
        st = mint_feats_networks(o->members, o->external, sm, se);
    }
    if (!st && (st = mint_feats_load(o->members, cnn, taps, ntaps, &fm)) == MINT_OK)
        st = check_loaded(tm, o->mint_path, o->members, &fm);
    if (!st && (st = mint_feats_load(o->external, cnn, taps, ntaps, &fe)) == MINT_OK)
        st = check_loaded(tm, o->mint_path, o->external, &fe);
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
        const char *base = strrchr(o->mint_path, '/');
        snprintf(title, sizeof title, "ROC of %s MINT %s: %zu members, %zu external", out->kind,
                 base ? base + 1 : o->mint_path, out->m.n_members, out->m.n_external);
        st = io_plot_roc(o->roc_png, roc.fpr, roc.tpr, roc.n, out->m.n_external, out->m.auc, title);
    }
    if (!st && o->json_path) {
        io_eval_meta meta = { o->mint_path, out->mint_sha256, o->members, o->external,
                              o->roc_png, o->created };
        st = io_report_eval_write(o->json_path, &out->m, &meta);
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
    float *scores;
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
        c->packed = malloc(sizeof(float) * (size_t)(c->row * n));
        c->scores = malloc(sizeof(float) * (size_t)n);
        c->cap = c->packed && c->scores ? n : 0;
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
    mint_status st = mint_tm_predict(c->tm, c->packed, k, c->scores);
    if (st)
        return st;
    k = 0;
    for (int j = 0; j < n; j++)
        if (status[j].ok)
            c->r->images[first + (size_t)j].score = c->scores[k++];
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
    memset(r, 0, sizeof *r);
}

static void add_note(mint_audit_result *r, const char *fmt, ...)
{
    if (r->n_notes >= sizeof r->notes / sizeof r->notes[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->notes[r->n_notes], sizeof r->notes[0], fmt, ap);
    va_end(ap);
    r->note_ptr[r->n_notes] = r->notes[r->n_notes];
    r->n_notes++;
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

mint_status mint_audit_run(mint_audit_result *out, const mint_audit_opts *o)
{
    memset(out, 0, sizeof *out);
    if (!o || !o->model_path || !o->mint_path || !o->images)
        return mint_fail(MINT_E_ARG, "mint_audit_run: needs the model, the MINT model and images");
    if (o->images->n == 0)
        return mint_fail(MINT_E_ARG, "no images to audit");
    if (!(o->alpha > 0 && o->alpha < 1))
        return mint_fail(MINT_E_ARG, "alpha must be in (0, 1), got %g", o->alpha);
    const size_t n = o->images->n;
    mint_tm *tm = NULL;
    mint_model *m = NULL;
    mint_feats fr = { 0 };
    double *ref = NULL, *set = NULL;
    size_t nref = 0;
    const char *taps[MINT_FEATS_MAX_TAPS];
    char tbuf[256];
    int ntaps = 0;
    audit_ctx ctx = { 0 };

    mint_status st = wt_sha256_file(o->model_path, out->model_sha256);
    if (!st)
        st = wt_sha256_file(o->mint_path, out->mint_sha256);
    if (!st)
        st = mint_tm_load(&tm, o->mint_path);
    if (!st)
        st = mint_model_open(&m, o->model_path);
    if (!st)
        st = resolve_taps(tm, o->taps, o->ntaps, tbuf, sizeof tbuf, taps, &ntaps, out->taps,
                          sizeof out->taps);
    if (!st && ntaps == 0)
        st = mint_fail(MINT_E_ARG, "%s records no taps (it was trained from .npy files without "
                       "--taps); name the taps its features came from", o->mint_path);
    const int cnn = tm && tm->cfg.kind == MINT_TM_CNN;
    /* refusals first, before any image is read */
    if (!st && tm->cfg.network_sha256[0] && strcmp(tm->cfg.network_sha256, out->model_sha256))
        st = mint_fail(MINT_E_ARG, "the MINT model %s was trained on features of the network with "
                       "SHA-256 %.16s..., but %s has SHA-256 %.16s...: audit with the network it "
                       "was trained for", o->mint_path, tm->cfg.network_sha256, o->model_path,
                       out->model_sha256);
    if (!st) {
        int rank, dims[3];
        st = mint_feats_shape(m, cnn, taps, ntaps, &rank, dims);
        if (st) {
            char why[400];
            snprintf(why, sizeof why, "%s", mint_last_error());
            st = mint_fail(st, "%s: cannot compute the features of the MINT model %s from this "
                           "network: %s", o->model_path, o->mint_path, why);
        } else if (!feats_match(tm, rank, dims)) {
            char have[64], want[64];
            mint_feats_dims_str(have, sizeof have, rank, dims);
            tm_dims_str(tm, want, sizeof want);
            st = mint_fail(MINT_E_SHAPE, "the %s MINT model %s takes %s features per image, but "
                           "taps %s of %s give %s: the MINT model was trained on another network "
                           "(or other taps)", mint_tm_kind_name(tm->cfg.kind), o->mint_path, want,
                           out->taps, o->model_path, have);
        }
    }
    if (!st && o->landmarks) {
        int ic, ih, iw;
        mint_model_input_shape(m, &ic, &ih, &iw);
        if (ih != IO_ALIGN_SIZE || iw != IO_ALIGN_SIZE)
            st = mint_fail(MINT_E_SHAPE, "%s takes %dx%d inputs, but landmark alignment gives "
                           "%dx%d faces", o->model_path, iw, ih, IO_ALIGN_SIZE, IO_ALIGN_SIZE);
    }
    if (!st && !o->reference && tm->n_cal_external == 0)
        st = mint_fail(MINT_E_ARG, "%s has no calibration scores of external data; give "
                       "reference features of known external data (--reference)", o->mint_path);
    /* reference scores */
    if (!st && o->reference) {
        /* from M's network: a bound T's own, checked against M above */
        char what[4200];
        snprintf(what, sizeof what, "the audited network %s is", o->model_path);
        if (!(st = mint_feats_check_network(o->reference, out->model_sha256, what)) &&
            !(st = mint_feats_load(o->reference, cnn, taps, ntaps, &fr)))
            st = check_loaded(tm, o->mint_path, o->reference, &fr);
        if (!st && !(ref = malloc(sizeof(double) * (size_t)fr.n)))
            st = mint_fail(MINT_E_NOMEM, "out of memory for reference scores");
        if (!st && !(st = score_feats(tm, &fr, ref))) {
            nref = (size_t)fr.n;
            snprintf(out->reference, sizeof out->reference,
                     "%s: %zu samples of known external data, scored with the MINT model",
                     o->reference, nref);
        }
        mint_feats_free(&fr);
    } else if (!st) {
        nref = (size_t)tm->n_cal_external;
        if (!(ref = malloc(sizeof(double) * nref)))
            st = mint_fail(MINT_E_NOMEM, "out of memory for reference scores");
        for (size_t i = 0; !st && i < nref; i++)
            ref[i] = tm->cal_external[i];
        if (tm->cal_external_heldout)
            snprintf(out->reference, sizeof out->reference,
                     "calibration stored in %s: scores of %zu held-out external samples "
                     "(not used in training)", o->mint_path, nref);
        else
            snprintf(out->reference, sizeof out->reference,
                     "calibration stored in %s: scores of the %zu external samples it was trained on "
                     "(biased low, so the test may claim membership too often: prefer a model "
                     "trained with --holdout or a held-out --reference set)", o->mint_path, nref);
    }
    /* per-image scores */
    if (!st) {
        out->images = calloc(n, sizeof *out->images);
        out->sha = calloc(n, sizeof *out->sha);
        out->err = calloc(n, sizeof *out->err);
        if (!out->images || !out->sha || !out->err)
            st = mint_fail(MINT_E_NOMEM, "out of memory for %zu images", n);
        for (size_t i = 0; !st && i < n; i++) {
            out->images[i].file = o->images->items[i].path;
            out->images[i].score = NAN;
        }
        out->n_images = n;
    }
    if (!st) {
        ctx.tm = tm;
        ctx.r = out;
        ctx.row = tm->in_size;
        ctx.progress = o->progress;
        ctx.progress_ctx = o->progress_ctx;
        st = mint_feats_images_stream(m, o->landmarks, o->images, cnn, taps, ntaps, o->batch,
                                      audit_sink, &ctx);
    }
    /* set-level test on the images that were scored */
    if (!st && !(set = malloc(sizeof(double) * n)))
        st = mint_fail(MINT_E_NOMEM, "out of memory");
    if (!st)
        st = mark_duplicates(out, n);
    if (!st) {
        for (size_t i = 0; i < n; i++) {
            const double s = out->images[i].score;
            if (isnan(s)) {
                out->n_failed++;
                continue;
            }
            if (out->images[i].duplicate_of)
                continue;
            set[out->n_scored++] = s;
            out->n_above_threshold += s >= tm->threshold;
        }
        snprintf(out->kind, sizeof out->kind, "%s", mint_tm_kind_name(tm->cfg.kind));
        if (o->created)
            snprintf(out->created, sizeof out->created, "%s", o->created);
        else
            io_report_utc_now(out->created);
        out->median_score = NAN;
        if (out->n_scored > 0) {
            st = mint_set_test_run(&out->set, set, out->n_scored, ref, nref);
            out->has_set = st == MINT_OK;
            qsort(set, out->n_scored, sizeof *set, cmp_double);
            const size_t h = out->n_scored / 2;
            out->median_score = out->n_scored % 2 ? set[h] : 0.5 * (set[h - 1] + set[h]);
        }
    }
    if (!st) {
        if (out->has_set) {
            mint_verdict(out->verdict, sizeof out->verdict, &out->set, o->alpha);
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
        } else {
            if (n == 1)
                snprintf(out->verdict, sizeof out->verdict, "the image could not be scored (see "
                         "the error); no set-level test was run");
            else
                snprintf(out->verdict, sizeof out->verdict, "none of the %zu images could be "
                         "scored (see the errors); no set-level test was run", n);
        }
        io_audit_report *r = &out->report;
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
        r->n_images = n;
        r->set = out->has_set ? &out->set : NULL;
        r->verdict = out->verdict;
        if (!tm->cfg.network_sha256[0])
            add_note(out, "The MINT model %s does not record which network it was trained for "
                     "(it was trained from .npy files without an extract.txt): nothing checked "
                     "that %s is that network. Features of another network give meaningless "
                     "scores.", o->mint_path, o->model_path);
        if (out->n_duplicates)
            add_note(out, "%zu image%s had the same bytes (SHA-256) as an earlier image of the set "
                     "and %s counted once in the set-level test.", out->n_duplicates,
                     out->n_duplicates == 1 ? "" : "s", out->n_duplicates == 1 ? "is" : "are");
        if (!tm->cal_external_heldout && !o->reference)
            add_note(out, "The reference scores are of the external samples the MINT model was "
                     "trained on: they are biased low, so the test may claim membership too "
                     "often. Prefer a model trained with --holdout or a held-out --reference.");
        r->notes = out->note_ptr;
        r->n_notes = out->n_notes;
        if (o->report_path)
            st = io_report_audit_write(o->report_path, r);
    }
    free(ctx.packed);
    free(ctx.scores);
    free(ref);
    free(set);
    mint_model_close(m);
    mint_tm_free(tm);
    if (st)
        mint_audit_result_free(out);
    return st;
}
