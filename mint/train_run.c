/* train_run.c - mint_train_run: the whole policy of `mint train` as one
 * library call (include/mint.h), so that the CLI only parses arguments and
 * prints. Reads features (files or `mint extract` folders) or computes them
 * from image lists through the audited network; refuses members and
 * external data that share images (SHA-256, mint/trainset.c); holds the
 * audit reference out by identity when the external samples have labels;
 * binds the MINT model to the network its features came from; resumes from
 * <out>.partial; detects a collapsed training; saves. Notes, warnings and
 * progress go to the caller's callbacks, never to a stream. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "base/sha256.h"
#include "io/dataset.h"
#include "io/landmarks.h"
#include "mint/extract.h"
#include "mint/features.h"
#include "mint/model.h"
#include "mint/train.h"
#include "mint/trainset.h"

#define MAX_TAPS MINT_FEATS_MAX_TAPS

_Static_assert(MINT_TM_VANILLA == 0 && MINT_TM_CNN == 1 && MINT_TM_OUTCOME == 2 &&
               MINT_TM_VANILLA64 == 3 && MINT_TM_CNN2 == 4,
               "mint_feats_default_taps takes the kind as an int");

/* One run: its options and everything it holds (freed by run_free). */
typedef struct {
    const mint_train_run_opts *o;
    mint_tm_kind kind;
    int lists, cnn;
    const char *taps_s;              /* o->taps or dtaps */
    char dtaps[256];                 /* as long as the MINT model's record of its taps */
    char *taps[MAX_TAPS], *tbuf;
    int ntaps;
    char *partial;                   /* <out>.partial */
    int have_partial;
    mint_feats fm, fe;
    mint_image_keys km, ke;
    char **ext_labels;               /* list mode: labels of the external images */
    mint_feats_index eix;            /* folder mode: the external index.csv */
    int32_t *ext_group;
    int64_t *held, n_held, k_held, k_total;
    char dm[64];                     /* features per sample, as text */
    mint_tm *tm;
    /* image progress over both lists */
    size_t img_offset, img_total;
} run;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A message to the caller (formatted in full, however long). */
static void say(const run *r, mint_msg_kind kind, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void say(const run *r, mint_msg_kind kind, const char *fmt, ...)
{
    if (!r->o->message)
        return;
    va_list ap;
    va_start(ap, fmt);
    const int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!buf)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, (size_t)n + 1, fmt, ap);
    va_end(ap);
    r->o->message(r->o->ctx, kind, buf);
    free(buf);
}

/* A failed status again, its message prefixed with what was being done and
 * followed by a hint. */
static mint_status explain(mint_status st, const char *what, const char *hint)
{
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", mint_last_error());
    const int named = !strncmp(msg, what, strlen(what)); /* file errors name the file */
    return mint_fail(st, "%s%s%s%s", named ? "" : what, named ? "" : ": ", msg, hint);
}

static void free_labels(run *r)
{
    if (r->ext_labels)
        for (int64_t i = 0; i < r->fe.n; i++)
            free(r->ext_labels[i]);
    free(r->ext_labels);
    r->ext_labels = NULL;
}

static void run_free(run *r)
{
    mint_tm_free(r->tm);
    mint_feats_free(&r->fm), mint_feats_free(&r->fe);
    mint_image_keys_free(&r->km), mint_image_keys_free(&r->ke);
    free_labels(r);
    mint_feats_index_free(&r->eix);
    free(r->ext_group), free(r->held);
    free(r->tbuf), free(r->partial);
}

void mint_train_run_defaults(mint_train_run_opts *o)
{
    memset(o, 0, sizeof *o);
    o->batch = 128;
    o->holdout = 0.1;
    o->holdout_by = MINT_HOLDOUT_AUTO;
}

/* The taps: named, or the kind's own, or those the members' extract.txt
 * records (said in a note); split and checked. */
static mint_status resolve_taps(run *r)
{
    const mint_train_run_opts *o = r->o;
    r->taps_s = o->taps;
    if (!r->taps_s) {
        mint_taps_source src;
        mint_status st = mint_feats_default_taps(r->lists ? NULL : o->members, (int)r->kind,
                                                 r->dtaps, sizeof r->dtaps, &src);
        if (st)
            return st;
        r->taps_s = r->dtaps;
        if (src != MINT_TAPS_KIND)
            say(r, MINT_MSG_NOTE, "taps %s, %s in %s/extract.txt (--taps picks others)", r->taps_s,
                src == MINT_TAPS_FIRST ? "the first of those recorded" : "as recorded",
                o->members);
    }
    r->tbuf = strdup(r->taps_s);
    if (!r->tbuf)
        return mint_fail(MINT_E_NOMEM, "out of memory");
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(r->tbuf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (n == MAX_TAPS)
            return mint_fail(MINT_E_ARG, "--taps wants 1..%d comma-separated names", MAX_TAPS);
        r->taps[n++] = tok;
    }
    if (!n)
        return mint_fail(MINT_E_ARG, "--taps wants 1..%d comma-separated names", MAX_TAPS);
    r->ntaps = n;
    if (r->cnn && n != 1)
        return mint_fail(MINT_E_ARG, "CNN MINT trains on one tap (got %d)", n);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            if (!strcmp(r->taps[i], r->taps[j]))
                return mint_fail(MINT_E_ARG, "--taps names %s twice", r->taps[i]);
    if (r->kind == MINT_TM_OUTCOME && (n != 1 || strcmp(r->taps[0], "embedding")))
        say(r, MINT_MSG_NOTE, "warning: the outcome baseline is the MLP on the embedding; on "
            "--taps %s it is an MLP on other features, not the paper's baseline", r->taps_s);
    return MINT_OK;
}

/* An interrupted run's state: refused unless resumed (checked before the
 * data are read, which may take long). */
static mint_status check_partial(run *r)
{
    const char *out = r->o->out;
    if (!(r->partial = malloc(strlen(out) + sizeof ".partial")))
        return mint_fail(MINT_E_NOMEM, "out of memory");
    sprintf(r->partial, "%s.partial", out);
    struct stat pb;
    r->have_partial = !stat(r->partial, &pb);
    if (r->have_partial && !r->o->resume)
        return mint_fail(MINT_E_ARG, "%s exists: the state of an interrupted run; add "
                         "--resume to continue it, or delete it to start over", r->partial);
    return MINT_OK;
}

/* Image list from a list file or a folder. */
static mint_status open_list(const char *path, const char *root, io_list *l)
{
    struct stat sb;
    if (stat(path, &sb))
        return mint_fail(MINT_E_IO, "%s: cannot open: %s", path, strerror(errno));
    mint_status st = S_ISDIR(sb.st_mode) ? io_list_from_dir(path, l)
                                         : io_list_from_file(path, root, l);
    if (!st && l->n == 0)
        st = mint_fail(MINT_E_ARG, "%s: no images", path);
    return st;
}

/* Members and external that share images are refused (a MINT model cannot
 * tell members from external data on images that are both, and its
 * held-out measures would be biased); repeats within a side are warned
 * about. */
static mint_status check_overlap(const run *r, const char *mem, const char *ext)
{
    int64_t n;
    char ex[700];
    mint_status st = mint_keys_shared(&r->km, &r->ke, &n, ex, sizeof ex, 3);
    if (!st && n)
        return mint_fail(MINT_E_ARG, "the members (%s) and the external data (%s) share %lld "
                         "image%s (same SHA-256): %s%s; remove them from one side (no MINT model "
                         "can tell members from external data on images that are both)", mem,
                         ext, (long long)n, n == 1 ? "" : "s", ex, n > 3 ? ", ..." : "");
    for (int side = 0; !st && side < 2; side++) {
        if ((st = mint_keys_repeats(side ? &r->ke : &r->km, &n, ex, sizeof ex, 3)) || !n)
            continue;
        say(r, MINT_MSG_NOTE, "warning: %lld of the %s images (%s) repeat the bytes (SHA-256) "
            "of another %s image (%s%s): repeated images weigh more in training", (long long)n,
            side ? "external" : "member", side ? ext : mem, side ? "external" : "member", ex,
            n > 3 ? ", ..." : "");
    }
    return st;
}

/* The same feature file or folder as members and as external: refused
 * even when no index.csv tells which images it holds. */
static mint_status same_data(const char *mem, const char *ext)
{
    struct stat a, b;
    if (!stat(mem, &a) && !stat(ext, &b) && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
        return mint_fail(MINT_E_ARG, "--members %s and --external %s are the same %s: a MINT "
                         "model needs members and external data that share no images", mem, ext,
                         S_ISDIR(a.st_mode) ? "folder" : "file");
    return MINT_OK;
}

/* The keys of both sides' images from the index.csv of their 'mint
 * extract' folders (features mode), checked for overlap; when either has
 * none the check cannot be made, which is said, and the keys stay empty. */
static mint_status keys_from_index(run *r)
{
    const char *mem = r->o->members, *ext = r->o->external;
    mint_status st = mint_keys_from_index(mem, r->fm.n, &r->km);
    if (!st && (st = mint_keys_from_index(ext, r->fe.n, &r->ke)))
        mint_image_keys_free(&r->km);
    if (st == MINT_E_NOTFOUND || st == MINT_E_SHAPE) {
        say(r, MINT_MSG_NOTE, "warning: %s; so nothing checked that the members and the "
            "external data share no images, and the MINT model will not record its training "
            "images (give 'mint extract' folders, which have index.csv)", mint_last_error());
        return MINT_OK;
    }
    if (!st && (st = check_overlap(r, mem, ext))) {
        mint_image_keys_free(&r->km);
        mint_image_keys_free(&r->ke);
    }
    return st;
}

/* Features mode: both sides from files or folders. */
static mint_status feats_from_files(run *r)
{
    const char *const *ctaps = (const char *const *)r->taps;
    const char *mem = r->o->members, *ext = r->o->external;
    mint_status st = same_data(mem, ext);
    if (!st)
        st = mint_feats_load(mem, r->cnn, ctaps, r->ntaps, &r->fm);
    if (!st)
        st = mint_feats_load(ext, r->cnn, ctaps, r->ntaps, &r->fe);
    if (!st && !(st = keys_from_index(r)))
        st = mint_feats_index_load(ext, r->fe.n, &r->eix);
    return st;
}

static void images_progress(void *ctx, size_t done, size_t total)
{
    const run *r = ctx;
    (void)total;
    r->o->images(r->o->ctx, r->img_offset + done, r->img_total);
}

/* The per-image feature size of the lists through network m, said, and
 * refused when all of them would not fit in memory. */
static mint_status check_list_size(run *r, const mint_model *m, size_t n1, size_t n2)
{
    int rank, dims[3];
    char d[64];
    mint_status st = mint_feats_shape(m, r->cnn, (const char *const *)r->taps, r->ntaps, &rank,
                                      dims);
    if (st)
        return st;
    mint_feats_dims_str(d, sizeof d, rank, dims);
    const double per = 4.0 * (rank == 3 ? (double)dims[0] * dims[1] * dims[2] : dims[0]);
    const double gib = per * (double)(n1 + n2) / 1073741824.0;
    say(r, MINT_MSG_DETAIL, "computing features (%s floats per image, %.2f GiB in all) of %zu + "
        "%zu images through %s", d, gib, n1, n2, r->o->model);
    if ((double)(n1 + n2) * per > (double)MINT_FEATS_MAX_BYTES)
        return mint_fail(MINT_E_NOMEM, "%zu + %zu images x %s floats would need %.1f GiB of "
                         "features in memory, more than the limit of %.0f GiB; use smaller "
                         "lists, or 'mint extract' to files and train from them", n1, n2, d, gib,
                         (double)MINT_FEATS_MAX_BYTES / 1073741824.0);
    return MINT_OK;
}

/* The features of both lists, computed through network m. */
static mint_status compute_lists(run *r, mint_model *m, const io_landmarks *lm, const io_list *l1,
                                 const io_list *l2)
{
    const char *const *ctaps = (const char *const *)r->taps;
    const double t0 = now();
    r->img_offset = 0;
    r->img_total = l1->n + l2->n;
    mint_images_progress pf = r->o->images ? images_progress : NULL;
    if (pf)
        r->o->images(r->o->ctx, 0, r->img_total);
    mint_status st = mint_feats_from_images_p(&r->fm, m, lm, l1, r->cnn, ctaps, r->ntaps, 16, 0,
                                              pf, r);
    r->img_offset = l1->n;
    if (!st)
        st = mint_feats_from_images_p(&r->fe, m, lm, l2, r->cnn, ctaps, r->ntaps, 16, 0, pf, r);
    if (!st)
        say(r, MINT_MSG_DETAIL, "features computed in %.1f s", now() - t0);
    return st;
}

/* List mode: features of both sets from images through the network; the
 * external identities (list labels) kept for the holdout. */
static mint_status feats_from_lists(run *r)
{
    const mint_train_run_opts *o = r->o;
    mint_model *m = NULL;
    io_landmarks *lm = NULL;
    io_list l1 = { 0 }, l2 = { 0 };
    mint_status st = mint_model_open(&m, o->model);
    if (!st && o->landmarks)
        st = io_landmarks_load(o->landmarks, &lm);
    if (!st)
        st = open_list(o->members_list, o->root, &l1);
    if (!st)
        st = open_list(o->external_list, o->root, &l2);
    /* shared images are refused before the long part */
    if (!st)
        st = mint_keys_from_list(&l1, &r->km);
    if (!st)
        st = mint_keys_from_list(&l2, &r->ke);
    if (!st)
        st = check_overlap(r, o->members_list, o->external_list);
    if (!st)
        st = check_list_size(r, m, l1.n, l2.n);
    if (!st)
        st = compute_lists(r, m, lm, &l1, &l2);
    if (!st) { /* the external identities, for the identity-level holdout */
        r->ext_labels = calloc(l2.n + 1, sizeof *r->ext_labels);
        for (size_t i = 0; r->ext_labels && i < l2.n; i++) {
            r->ext_labels[i] = l2.items[i].label;
            l2.items[i].label = NULL;
        }
        if (!r->ext_labels)
            st = mint_fail(MINT_E_NOMEM, "out of memory");
    }
    io_list_free(&l1);
    io_list_free(&l2);
    io_landmarks_free(lm);
    mint_model_close(m);
    return st;
}

/* The identity-level holdout from the groups (n_labelled of fe.n samples
 * have a label), with its warnings. */
static mint_status holdout_by_identity(run *r, int64_t n_labelled)
{
    const int64_t n = r->fe.n;
    if (n_labelled < n)
        say(r, MINT_MSG_NOTE, "warning: %lld of %lld external samples have no identity label; "
            "they are trained on, never held out", (long long)(n - n_labelled), (long long)n);
    mint_status st = mint_holdout_by_group(r->ext_group, n, r->o->holdout, r->o->seed, &r->held,
                                           &r->n_held, &r->k_held, &r->k_total);
    if (!st && r->k_held < 19)
        say(r, MINT_MSG_NOTE, "warning: the audit reference holds %lld identities: the smallest "
            "p-value an audit can give is 1/(%lld+1) = %.3g, so no verdict is possible at alpha "
            "0.05 (19 identities needed; 99 for 0.01); use more external identities or a larger "
            "--holdout", (long long)r->k_held, (long long)r->k_held,
            1.0 / (double)(r->k_held + 1));
    return st;
}

/* Identities of the external samples: the reference is held out by
 * identity when they are known. */
static mint_status external_identities(run *r)
{
    mint_status st = MINT_OK;
    const char *const *labels = r->ext_labels ? (const char *const *)r->ext_labels
                                : r->eix.n >= 0 ? (const char *const *)r->eix.label : NULL;
    int64_t n_labelled = 0;
    for (int64_t i = 0; labels && i < r->fe.n; i++)
        n_labelled += labels[i] && labels[i][0];
    if (n_labelled > 0) {
        if (!(r->ext_group = malloc(sizeof(int32_t) * (size_t)r->fe.n)))
            st = mint_fail(MINT_E_NOMEM, "out of memory");
        int64_t k;
        if (!st)
            st = mint_groups_from_labels(labels, r->fe.n, r->ext_group, &k);
    }
    const char *why = r->lists ? "list without labels" : "no index.csv";
    if (st || !(r->o->holdout > 0.0 && r->o->holdout_by != MINT_HOLDOUT_SAMPLE))
        return st;
    if (n_labelled == 0 && r->o->holdout_by == MINT_HOLDOUT_LABEL)
        return mint_fail(MINT_E_ARG, "--holdout-by label: the external samples have no identity "
                         "labels (%s); give a 'mint extract' directory (index.csv), a list with "
                         "path,label lines or a folder with one sub-folder per person, or "
                         "--holdout-by sample", why);
    if (n_labelled == 0) {
        say(r, MINT_MSG_NOTE, "warning: the external samples have no identity labels (%s), so "
            "the audit reference is held out by image, not by identity: other photos of people "
            "the MINT model trained on can land in it, and audits treat every reference image "
            "as a person of its own", why);
        return MINT_OK;
    }
    return holdout_by_identity(r, n_labelled);
}

/* Bind the MINT model to the network its features came from. */
static mint_status bind_network(run *r, mint_tm_config *cfg)
{
    if (r->lists)
        return base_sha256_file(r->o->model, cfg->network_sha256);
    /* the network each side came from (extract.txt of its directory) */
    const char *mem = r->o->members, *ext = r->o->external;
    char sm[65] = "", se[65] = "";
    mint_status st = mint_feats_networks(mem, ext, sm, se);
    if (!st && sm[0] != se[0])
        say(r, MINT_MSG_NOTE, "warning: %s has no extract.txt saying which network it came "
            "from; make sure it is the one of %s (SHA-256 %.16s...)", sm[0] ? ext : mem,
            sm[0] ? mem : ext, sm[0] ? sm : se);
    else if (!st && !sm[0])
        say(r, MINT_MSG_NOTE, "warning: no extract.txt says which network the features came "
            "from; the MINT model will not record it, so audits cannot check that they use "
            "that network");
    if (!st)
        memcpy(cfg->network_sha256, sm[0] ? sm : se, sizeof cfg->network_sha256);
    return st;
}

/* The MINT model for the features read. */
static mint_status create_model(run *r)
{
    char de[64];
    mint_feats_dims_str(r->dm, sizeof r->dm, r->fm.rank, r->fm.dims);
    mint_feats_dims_str(de, sizeof de, r->fe.rank, r->fe.dims);
    if (strcmp(r->dm, de))
        return mint_fail(MINT_E_SHAPE, "members have %s features per sample, external %s", r->dm,
                         de);
    mint_tm_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.kind = r->kind;
    memcpy(cfg.in_dims, r->fm.dims, sizeof cfg.in_dims);
    /* record tap names when they describe the data (directories, images or --taps) */
    struct stat sb;
    if (r->lists || r->o->taps || (!stat(r->o->members, &sb) && S_ISDIR(sb.st_mode)))
        snprintf(cfg.taps, sizeof cfg.taps, "%s", r->taps_s);
    mint_status st = bind_network(r, &cfg);
    if (!st)
        st = mint_tm_create_wide(&r->tm, &cfg, r->o->seed, r->o->min_hidden);
    return st;
}

/* The checkpoint hook: the state after every epoch, renamed into place. */
static mint_status save_partial(void *ctx, const mint_tm *tm, const mint_train_state *s)
{
    return mint_train_state_save(tm, s, ((const run *)ctx)->partial);
}

static void epoch_progress(void *ctx, const mint_train_progress *p)
{
    const run *r = ctx;
    if (r->o->epoch)
        r->o->epoch(r->o->ctx, p);
}

/* mint_train's options for this run. */
static void train_opts(run *r, mint_train_opts *to)
{
    const mint_train_run_opts *o = r->o;
    mint_train_defaults(to, r->kind);
    if (o->epochs)
        to->epochs = o->epochs;
    to->batch = o->batch;
    to->seed = o->seed;
    to->holdout = o->holdout;
    to->ext_group = r->ext_group;
    if (r->held) {
        to->held = r->held;
        to->n_held = r->n_held;
        to->holdout_by = "label";
    } else {
        to->holdout_by = "sample";
    }
    to->progress = epoch_progress;
    to->checkpoint = save_partial;
    to->ctx = r;
    if (r->km.n && r->ke.n) { /* keys of every row (the counts were checked) */
        to->member_keys = r->km.key;
        to->external_keys = r->ke.key;
    }
}

/* The state of the interrupted run, checked against this one; NULL
 * without one. */
static mint_status load_partial(run *r, mint_train_opts *to, mint_train_state **rs)
{
    *rs = NULL;
    if (!r->have_partial) {
        if (r->o->resume)
            say(r, MINT_MSG_DETAIL, "no %s to resume: starting afresh", r->partial);
        return MINT_OK;
    }
    mint_status st = mint_train_state_load(r->partial, r->tm, rs);
    if (!st)
        st = mint_train_resume_check(*rs, r->tm, r->fm.n, r->fe.n, to->data_hash, to);
    if (st) {
        mint_train_state_free(*rs);
        *rs = NULL;
        return explain(st, r->partial, st == MINT_E_ARG
                                           ? "; rerun with the options and data of the "
                                             "interrupted run, or delete it to start over"
                                           : "; it cannot be resumed: delete it to start over");
    }
    to->resume = *rs;
    say(r, MINT_MSG_STATUS, "resuming after epoch %d of %d from %s", (*rs)->epochs_done,
        (*rs)->epochs, r->partial);
    return MINT_OK;
}

/* What the run is about to do. */
static void say_plan(const run *r, const mint_train_opts *to)
{
    char hb[160];
    if (r->held)
        snprintf(hb, sizeof hb, "%lld of them, all images of %lld of %lld identities, held out "
                 "as the audit reference", (long long)r->n_held, (long long)r->k_held,
                 (long long)r->k_total);
    else
        snprintf(hb, sizeof hb, "%lld held out by image as the audit reference",
                 (long long)mint_train_n_held(to, r->fe.n));
    say(r, MINT_MSG_DETAIL, "%s MINT: %lld members, %lld external (%s), input %s, %d epoch%s, "
        "batch %d, seed %llu", mint_tm_kind_name(r->kind), (long long)r->fm.n, (long long)r->fe.n,
        hb, r->dm, to->epochs, to->epochs == 1 ? "" : "s", to->batch,
        (unsigned long long)r->o->seed);
}

/* What a collapsed training looks like, and what to do about it. */
static void report_collapse(const run *r)
{
    const mint_tm *tm = r->tm;
    char dead[160] = "";
    if (tm->train_dead_units > 0 && tm->train_dead_units == tm->hidden)
        snprintf(dead, sizeof dead, "; all %d units of its Dense layer are dead (ReLU output 0 on "
                 "every sample)", tm->hidden);
    else if (tm->train_dead_units > 0)
        snprintf(dead, sizeof dead, "; %d of the %d units of its Dense layer are dead (ReLU output "
                 "0 on every sample)", tm->train_dead_units, tm->hidden);
    say(r, MINT_MSG_NOTE, "the training collapsed: the MINT model gives every training sample "
        "the same score, no better than chance (loss ln 2 = 0.69315, accuracy 0.5)%s. %s was not "
        "written.", dead, r->o->out);
    const unsigned long long seed = r->o->seed;
    if (tm->cfg.kind == MINT_TM_CNN)
        say(r, MINT_MSG_NOTE, "remedy: a wider Dense layer after the conv, e.g. --min-hidden 64 "
            "(the paper's layout has C = %d units, the tap's channels, and dies at small C); or "
            "another --seed (now %llu)", tm->cfg.in_dims[0], seed);
    else
        say(r, MINT_MSG_NOTE, "remedy: another --seed (now %llu), fewer --epochs, or other taps",
            seed);
}

static void fill_result(const run *r, mint_train_run_result *res)
{
    const mint_tm *tm = r->tm;
    res->train_accuracy = tm->train_accuracy;
    res->threshold = tm->threshold;
    res->n_cal_external = tm->n_cal_external;
    res->cal_external_heldout = tm->cal_external_heldout;
    res->cal_ref_identities = tm->cal_ref_identities;
    res->trainset_recorded = tm->trainset.recorded;
    res->trainset_n[0] = tm->trainset.n[MINT_TS_MEMBERS];
    res->trainset_n[1] = tm->trainset.n[MINT_TS_EXTERNAL];
    res->trainset_n[2] = tm->trainset.n[MINT_TS_REFERENCE];
}

/* Train (resuming when there is a state), then save unless collapsed; the
 * state is removed once the run is over. */
static mint_status train_and_save(run *r, mint_train_run_result *res)
{
    mint_train_opts to;
    train_opts(r, &to);
    char data_hash[33];
    mint_train_data_hash(r->fm.x, r->fm.n, r->fe.x, r->fe.n, r->tm->in_size, data_hash);
    to.data_hash = data_hash;
    mint_train_state *rs;
    mint_status st = load_partial(r, &to, &rs);
    if (st)
        return st;
    say_plan(r, &to);
    const double t0 = now();
    st = mint_train(r->tm, r->fm.x, r->fm.n, r->fe.x, r->fe.n, &to);
    mint_train_state_free(rs);
    /* a collapsed training is not saved: it would audit as AUC 0.5, silently */
    res->collapsed = !st && r->tm->train_collapsed;
    if (res->collapsed)
        report_collapse(r);
    if (!st && !res->collapsed)
        st = mint_tm_save(r->tm, r->o->out);
    if (!st && remove(r->partial) && errno != ENOENT) /* (a collapsed run's too: resuming repeats it) */
        say(r, MINT_MSG_NOTE, "warning: could not remove %s: %s", r->partial, strerror(errno));
    res->seconds = now() - t0;
    fill_result(r, res);
    struct stat pb;
    if (st && !stat(r->partial, &pb))
        st = explain(st, "training stopped", "; the last finished epoch is kept: rerun with "
                     "--resume to continue");
    return st;
}

mint_status mint_train_run(const mint_train_run_opts *o, mint_train_run_result *res)
{
    memset(res, 0, sizeof *res);
    run r;
    memset(&r, 0, sizeof r);
    r.o = o;
    if (!o->kind || !o->out)
        return mint_fail(MINT_E_ARG, "mint_train_run needs a kind and an output path");
    r.lists = o->model || o->members_list || o->external_list;
    if (r.lists ? !o->model || !o->members_list || !o->external_list || o->members ||
                      o->external
                : !o->members || !o->external)
        return mint_fail(MINT_E_ARG, "mint_train_run needs members and external features, or "
                         "a model with member and external image lists");
    if (mint_tm_kind_parse(o->kind, &r.kind))
        return mint_fail(MINT_E_ARG, "kind is vanilla, cnn, outcome, vanilla64 or cnn2 (not '%s')",
                         o->kind);
    if (o->batch < 2 || o->batch % 2 || !(o->holdout >= 0.0 && o->holdout < 0.9))
        return mint_fail(MINT_E_ARG, "batch wants an even integer >= 2, holdout [0, 0.9)");
    r.cnn = mint_tm_kind_is_conv(r.kind);
    mint_status st = resolve_taps(&r);
    if (!st)
        st = check_partial(&r);
    if (!st)
        st = r.lists ? feats_from_lists(&r) : feats_from_files(&r);
    if (!st)
        st = external_identities(&r);
    if (!st) {
        free_labels(&r);
        mint_feats_index_free(&r.eix);
        st = create_model(&r);
    }
    if (!st)
        st = train_and_save(&r, res);
    run_free(&r);
    return st;
}
