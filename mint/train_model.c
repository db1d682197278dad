/* train_model.c - `mint train-model` (see train_model.h): an IResNet trained
 * on the engine, with an optional Active MINT head. */
#include "mint/train_model.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <stdarg.h>

#include "base/file.h"
#include "io/image.h"
#include "io/landmarks.h"
#include "base/rng.h"
#include "base/sha256.h"
#include "mint/extract.h"
#include "mint/tm_data.h"
#include "mint/tlog.h"
#include "mint/tm_core.h"
#include "mint/train.h"
#include "net/graph_io.h"
#include "net/iresnet.h"
#include "net/loss.h"
#include "net/model.h"
#include "net/optim.h"
#include "net/train_graph.h"

void mint_tmodel_defaults(mint_tmodel_opts *o)
{
    memset(o, 0, sizeof *o);
    o->members = 0.5;
    o->min_images = 1;
    o->mint_share = 0.5;
    o->depth = 18;
    o->optimizer = "sgd";
    o->lr = 0.1;
    o->momentum = 0.9;
    o->weight_decay = 5e-4;
    o->schedule = "cosine";
    o->epochs = 10;
    o->batch = 64;
    o->seed = 1;
    o->flip = -1;
    o->amint_taps = "layer1";
    o->amint_kind = "cnn";
    o->amint_min_hidden = 64;
    o->amint_lr = 1e-4;
    o->log_every = 50;
}

typedef struct {
    const mint_tmodel_opts *o;
    mint_tmodel_result *r;
    tm_data d;
    uint8_t *ext_only;
    net_graph *g;
    net_iresnet_cfg cfg;
    io_landmarks *lm;
    wt_file *ckpt;          /* the checkpoint a resumed run started from */
    tm_core c;
    int C, H, W;
    size_t img;             /* floats per image */
    float *pix;             /* loaded images, CHW normalised, by slot */
    int64_t *slot;          /* item -> slot, -1 if not loaded */
    int64_t *mem, n_mem;    /* members (task) */
    int64_t *ext, n_ext;    /* external images the Active MINT head trains on */
    int64_t *ref, n_ref;    /* external images held out as the head's audit reference */
    int flip;
    int classes, emb, B, Be;
    int64_t steps, total;
    int amint;
    int epochs_done;
    mint_tlog *log;         /* the signed training log (NULL: none) */
    int64_t logged;         /* last step in it */
    char run[2048];
} tmrun;

static void say(const tmrun *R, mint_msg_kind k, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(const tmrun *R, mint_msg_kind k, const char *fmt, ...)
{
    if (!R->o->message)
        return;
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    R->o->message(R->o->ctx, k, buf);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* "<out without .mint><suffix>" */
static void derived(char *buf, size_t n, const char *out, const char *suffix)
{
    size_t l = strlen(out);
    if (l > 5 && !strcmp(out + l - 5, ".mint"))
        l -= 5;
    snprintf(buf, n, "%.*s%s", (int)l, out, suffix);
}

/* arcface_torch's initialisation: conv N(0, 0.1), BN weight 1 bias 0 and
 * running statistics 0/1, PReLU 0.25, Linear as PyTorch's default
 * (uniform +-1/sqrt(fan_in)), features.weight 1 (frozen later). */
static void init_weights(net_graph *g, uint64_t seed)
{
    base_rng r = base_rng_stream(seed, 0x1417);
    for (int i = 0; i < g->nnodes; i++) {
        const net_node *nd = &g->nodes[i];
        for (int k = 0; k < 4; k++) {
            if (nd->w[k] < 0)
                continue;
            net_weight *w = &g->weights[nd->w[k]];
            const int64_t n = net_weight_numel(w);
            double bound = nd->op == NET_OP_FC ? 1.0 / sqrt((double)g->weights[nd->w[0]].dims[1]) : 0;
            for (int64_t j = 0; j < n; j++) {
                float v = 0.0f;
                if (nd->op == NET_OP_CONV && k == 0) {
                    double u1 = base_rng_open01(&r), u2 = base_rng_open01(&r);
                    v = (float)(0.1 * sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
                } else if (nd->op == NET_OP_BN) {
                    v = k == 0 || k == 3 ? 1.0f : 0.0f;
                } else if (nd->op == NET_OP_PRELU) {
                    v = 0.25f;
                } else if (nd->op == NET_OP_FC) {
                    v = (float)((2.0 * base_rng_open01(&r) - 1.0) * bound);
                }
                w->data[j] = v;
            }
        }
    }
}

/* The network: IResNet of the given depth/widths at the data's input size. */
static mint_status build_net(tmrun *R, int in_c, int in_hw)
{
    const mint_tmodel_opts *o = R->o;
    net_iresnet_cfg cfg;
    mint_status st = net_iresnet_cfg_depth(&cfg, o->depth);
    if (st)
        return mint_fail(st, "--arch: %s (iresnet18, 34, 50, 100 or 200)", mint_last_error());
    for (int i = 0; i < 4; i++)
        if (o->widths[i] > 0)
            cfg.widths[i] = o->widths[i];
    if (o->emb > 0)
        cfg.emb = o->emb;
    cfg.in_c = in_c;
    cfg.in_h = cfg.in_w = in_hw;
    if ((st = net_iresnet_build(&R->g, &cfg, o->seed)))
        return st;
    R->cfg = cfg;
    net_meta *m = &R->g->meta;
    for (int c = 0; c < 3; c++) {
        m->mean[c] = 0.5f;
        m->std[c] = 0.5f;
    }
    snprintf(m->channel_order, sizeof m->channel_order, "RGB");
    init_weights(R->g, o->seed);
    R->emb = cfg.emb;
    return MINT_OK;
}

/* ---- data ---- */

/* Decide which items are loaded and give each a slot: members, and the
 * external images of the MINT share (Active MINT) or of the evaluation
 * share with a member class (test accuracy). */
static mint_status plan_items(tmrun *R)
{
    const tm_data *d = &R->d;
    const int64_t n = (int64_t)d->all.n;
    R->slot = malloc(((size_t)n + 1) * sizeof *R->slot);
    R->mem = malloc(((size_t)n + 1) * sizeof *R->mem);
    R->ext = malloc(((size_t)n + 1) * sizeof *R->ext);
    R->ref = malloc(((size_t)n + 1) * sizeof *R->ref);
    if (!R->slot || !R->mem || !R->ext || !R->ref)
        return mint_fail(MINT_E_NOMEM, "out of memory");
    /* the head's audit reference: a fifth of the MINT external units
     * (identities, or images), never in the head's training batches */
    base_rng r = base_rng_stream(R->o->seed, 0x4ef);
    uint64_t salt = base_rng_u64(&r);
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++) {
        int role = d->role[i];
        int need = role <= TM_MEMBER_EVAL || (R->amint && role == TM_EXTERNAL_MINT) ||
                   (d->digits && role == TM_EXTERNAL_EVAL && d->ident_cls[d->ident[i]] >= 0);
        R->slot[i] = need ? k++ : -1;
        if (role <= TM_MEMBER_EVAL)
            R->mem[R->n_mem++] = i;
        else if (role == TM_EXTERNAL_MINT) {
            uint64_t unit = d->by_label ? (uint64_t)d->ident[i] : (uint64_t)i;
            if (base_rng_hash(salt ^ unit) % 5 == 0)
                R->ref[R->n_ref++] = i;
            else
                R->ext[R->n_ext++] = i;
        }
    }
    if (R->amint && (R->n_ext < 2 || R->n_ref < 1))
        return mint_fail(MINT_E_ARG, "Active MINT needs external images to train the head on "
                         "(%lld) and to hold out as its reference (%lld): give more external data",
                         (long long)R->n_ext, (long long)R->n_ref);
    R->pix = malloc(((size_t)k + 1) * R->img * sizeof(float));
    if (!R->pix)
        return mint_fail(MINT_E_NOMEM, "out of memory for %lld images", (long long)k);
    return MINT_OK;
}

/* Load and align every planned image (in parallel), through the same
 * preparation as `mint extract` (mint_prepare_image). */
static mint_status load_images(tmrun *R, mint_model *m)
{
    const tm_data *d = &R->d;
    const int64_t n = (int64_t)d->all.n;
    int64_t bad = n, done = 0, todo = 0;
    for (int64_t i = 0; i < n; i++)
        todo += R->slot[i] >= 0;
    const double t0 = now_s();
#pragma omp parallel for schedule(dynamic, 16)
    for (int64_t i = 0; i < n; i++) {
        if (R->slot[i] < 0)
            continue;
        char hex[65];
        if (mint_prepare_image(m, R->lm, &d->all.items[i], R->pix + (size_t)R->slot[i] * R->img,
                               hex) != MINT_OK) {
#pragma omp critical(tm_load_bad)
            bad = i < bad ? i : bad;
        }
#pragma omp atomic
        done++;
    }
    (void)done;
    if (bad < n) { /* again on this thread, for the message */
        char hex[65];
        mint_status st = mint_prepare_image(m, R->lm, &d->all.items[bad],
                                            R->pix + (size_t)R->slot[bad] * R->img, hex);
        return st ? st : mint_fail(MINT_E_IO, "%s: could not be loaded", d->all.items[bad].path);
    }
    say(R, MINT_MSG_STATUS, "loaded %lld images in %.1f s", (long long)todo, now_s() - t0);
    return MINT_OK;
}

/* Rows of one batch into R->c.in (NHWC), flipped at random when asked. */
static void assemble(tmrun *R, const int64_t *items, int n, uint64_t salt)
{
    const int C = R->C, H = R->H, W = R->W;
#pragma omp parallel for schedule(static)
    for (int b = 0; b < n; b++) {
        const float *src = R->pix + (size_t)R->slot[items[b]] * R->img;
        float *dst = R->c.in + (size_t)b * R->img;
        int fl = R->flip && (base_rng_hash(salt + (uint64_t)b) & 1);
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                int sx = fl ? W - 1 - x : x;
                for (int c = 0; c < C; c++)
                    dst[((size_t)y * W + x) * C + c] = src[((size_t)c * H + y) * W + sx];
            }
    }
}

static void shuffled(int64_t *dst, const int64_t *src, int64_t n, uint64_t seed, uint64_t stream)
{
    memcpy(dst, src, (size_t)n * sizeof *dst);
    base_rng r = base_rng_stream(seed, stream);
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)base_rng_below(&r, (uint64_t)i + 1);
        int64_t t = dst[i];
        dst[i] = dst[j];
        dst[j] = t;
    }
}

/* ---- the trainer ---- */

static mint_status parse_choices(tmrun *R, tm_core_cfg *k)
{
    const mint_tmodel_opts *o = R->o;
    const char *loss = o->loss ? o->loss : R->d.digits ? "softmax" : "cosface";
    static const net_margin arc = NET_MARGIN_ARCFACE, cos = NET_MARGIN_COSFACE;
    if (!strcmp(loss, "arcface"))
        k->mg = arc;
    else if (!strcmp(loss, "cosface"))
        k->mg = cos;
    else if (strcmp(loss, "softmax"))
        return mint_fail(MINT_E_ARG, "--loss %s: softmax, cosface or arcface", loss);
    net_optim_cfg *oc = &k->oc;
    oc->weight_decay = o->weight_decay;
    if (!strcmp(o->optimizer, "sgd")) {
        oc->kind = NET_OPT_SGD;
        oc->momentum = o->momentum;
    } else if (!strcmp(o->optimizer, "adam") || !strcmp(o->optimizer, "adamw")) {
        oc->kind = o->optimizer[4] ? NET_OPT_ADAMW : NET_OPT_ADAM;
        oc->beta1 = 0.9;
        oc->beta2 = 0.999;
        oc->eps = 1e-8;
    } else {
        return mint_fail(MINT_E_ARG, "--optimizer %s: sgd, adam or adamw", o->optimizer);
    }
    net_lr_sched *lr = &k->lr;
    lr->base = o->lr;
    if (!strcmp(o->schedule, "cosine")) {
        lr->kind = NET_LR_COSINE;
    } else if (!strcmp(o->schedule, "step")) { /* x0.1 at 50% and 75% of the run */
        lr->kind = NET_LR_STEP;
        lr->gamma = 0.1;
        lr->nmilestones = 2;
        lr->milestones[0] = R->total / 2;
        lr->milestones[1] = R->total * 3 / 4;
    } else if (!strcmp(o->schedule, "const")) {
        lr->kind = NET_LR_CONST;
    } else {
        return mint_fail(MINT_E_ARG, "--schedule %s: cosine, step or const", o->schedule);
    }
    return net_lr_check(lr, R->total);
}

static mint_status setup_trainer(tmrun *R)
{
    const mint_tmodel_opts *o = R->o;
    R->B = o->batch;
    R->Be = R->amint ? (o->batch + 1) / 2 : 0;
    R->steps = R->n_mem / R->B;
    if (R->steps < 1)
        return mint_fail(MINT_E_ARG, "%lld members are fewer than one batch of %d",
                         (long long)R->n_mem, R->B);
    R->total = R->steps * o->epochs;
    tm_core_cfg k;
    memset(&k, 0, sizeof k);
    mint_status st = parse_choices(R, &k);
    if (st)
        return st;
    k.B = R->B;
    k.Be = R->Be;
    k.classes = R->classes;
    k.emb = R->emb;
    k.total = R->total;
    k.dropout = o->dropout;
    k.seed = o->seed;
    k.amint = R->amint;
    k.amint_taps = o->amint_taps;
    k.amint_kind = o->amint_kind;
    k.amint_min_hidden = o->amint_min_hidden;
    k.amint_lr = o->amint_lr;
    return tm_core_create(&R->c, R->g, &k);
}

static mint_status train_step(tmrun *R, const int64_t *items, int64_t gstep, tm_step_stats *s)
{
    const int B = R->B, n = B + R->Be;
    assemble(R, items, n, base_rng_hash(R->o->seed * 0x9e3779b97f4a7c15ULL + (uint64_t)gstep));
    for (int b = 0; b < n; b++) {
        if (b < B)
            R->c.labels[b] = R->d.cls[items[b]];
        R->c.head_y[b] = b >= B ? 0 : R->d.role[items[b]] == TM_MEMBER_MINT ? 1 : -1;
    }
    return tm_core_step(&R->c, gstep, s);
}

/* ---- checkpoints: <out>.partial holds the network, the task head, the
 * optimiser state, the Active MINT head and where the run stands ---- */

static mint_status restore_tensor(const wt_file *f, const char *name, float *dst, int64_t n);

/* The optimiser's buffers, "tmodel.opt.<tensor>.<buffer>": added to w, or
 * (w NULL) read back from f. */
static mint_status optim_tensors(tmrun *R, wt_writer *w, const wt_file *f)
{
    mint_status st = MINT_OK;
    char name[64];
    for (int i = 0; i <= R->c.np && !st; i++) {
        float *bufs[4];
        int nb = 0;
        if ((st = net_optim_state(R->c.opt, i, bufs, &nb)))
            break;
        int64_t sz = (int64_t)(i < R->c.np ? net_tgraph_param(R->c.t, i)->n
                                           : (size_t)R->classes * R->emb);
        for (int k = 0; k < nb && !st; k++) {
            snprintf(name, sizeof name, "tmodel.opt.%d.%d", i, k);
            st = w ? wt_writer_tensor(w, name, BASE_F32, 1, &sz, bufs[k])
                   : restore_tensor(f, name, bufs[k], sz);
        }
    }
    return st;
}

static mint_status save_checkpoint(tmrun *R, const char *path)
{
    wt_writer *w = wt_writer_new();
    if (!w)
        return mint_fail(MINT_E_NOMEM, "out of memory");
    mint_status st = net_graph_add_to_writer(w, R->g);
    int64_t hd[2] = { R->classes, R->emb };
    if (!st)
        st = wt_writer_tensor(w, "tmodel.head", BASE_F32, 2, hd, R->c.Wh);
    if (!st)
        st = optim_tensors(R, w, NULL);
    if (!st)
        st = wt_writer_meta_i64(w, "tmodel.epochs_done", R->epochs_done);
    if (!st)
        st = wt_writer_meta_i64(w, "tmodel.optim_step", net_optim_step(R->c.opt));
    if (!st)
        st = wt_writer_meta_f64(w, "tmodel.l0_task", R->c.l0_task);
    if (!st)
        st = wt_writer_meta_f64(w, "tmodel.l0_mint", R->c.l0_mint);
    if (!st)
        st = wt_writer_meta_str(w, "tmodel.run", R->run);
    if (!st && R->amint) {
        mint_tm *tm = R->c.head.tm;
        int64_t sz = (int64_t)(4 * tm->seg);
        st = wt_writer_tensor(w, "tmodel.amint.arena", BASE_F32, 1, &sz, tm->arena);
        int64_t hn = tm->hidden;
        if (!st && tm->bn_mean)
            st = wt_writer_tensor(w, "tmodel.amint.bn_mean", BASE_F32, 1, &hn, tm->bn_mean);
        if (!st && tm->bn_var)
            st = wt_writer_tensor(w, "tmodel.amint.bn_var", BASE_F32, 1, &hn, tm->bn_var);
        if (!st)
            st = wt_writer_meta_i64(w, "tmodel.amint.adam_t", tm->adam_t);
    }
    if (!st)
        st = wt_writer_write(w, path);
    wt_writer_free(w);
    return st;
}

static mint_status restore_tensor(const wt_file *f, const char *name, float *dst, int64_t n)
{
    const wt_tensor *t;
    mint_status st = wt_tensor_get(f, name, BASE_F32, 1, &n, &t);
    if (st)
        return mint_fail(st, "%s: %s", wt_file_path(f), mint_last_error());
    memcpy(dst, t->data, (size_t)n * sizeof(float));
    return MINT_OK;
}

static mint_status meta_num(const wt_file *f, const char *key, double *v)
{
    const wt_meta *m = wt_meta_find(f, key);
    if (!m || (m->type != WT_META_I64 && m->type != WT_META_F64))
        return mint_fail(MINT_E_FORMAT, "%s: not a train-model checkpoint (no %s)",
                         wt_file_path(f), key);
    *v = m->type == WT_META_I64 ? (double)m->i64 : m->f64;
    return MINT_OK;
}

/* After setup on the checkpoint's graph: the rest of the state. */
static mint_status restore_checkpoint(tmrun *R, const wt_file *f)
{
    const wt_meta *run = wt_meta_find(f, "tmodel.run");
    if (!run || run->type != WT_META_STR)
        return mint_fail(MINT_E_FORMAT, "%s: not a train-model checkpoint", wt_file_path(f));
    if (strcmp(run->str, R->run))
        return mint_fail(MINT_E_ARG, "%s belongs to another run:\n  it:   %s\n  this: %s\n"
                         "(resume with the same options, or remove it to start afresh)",
                         wt_file_path(f), run->str, R->run);
    double ep, step;
    mint_status st = meta_num(f, "tmodel.epochs_done", &ep);
    if (!st)
        st = meta_num(f, "tmodel.optim_step", &step);
    if (!st)
        st = meta_num(f, "tmodel.l0_task", &R->c.l0_task);
    if (!st)
        st = meta_num(f, "tmodel.l0_mint", &R->c.l0_mint);
    const wt_tensor *t;
    int64_t hd[2] = { R->classes, R->emb };
    if (!st && !(st = wt_tensor_get(f, "tmodel.head", BASE_F32, 2, hd, &t)))
        memcpy(R->c.Wh, t->data, (size_t)R->classes * R->emb * sizeof(float));
    if (!st)
        st = optim_tensors(R, NULL, f);
    if (!st && R->amint) {
        mint_tm *tm = R->c.head.tm;
        double at;
        st = restore_tensor(f, "tmodel.amint.arena", tm->arena, (int64_t)(4 * tm->seg));
        if (!st && tm->bn_mean)
            st = restore_tensor(f, "tmodel.amint.bn_mean", tm->bn_mean, tm->hidden);
        if (!st && tm->bn_var)
            st = restore_tensor(f, "tmodel.amint.bn_var", tm->bn_var, tm->hidden);
        if (!st && !(st = meta_num(f, "tmodel.amint.adam_t", &at)))
            tm->adam_t = (int64_t)at;
    }
    if (st)
        return st;
    R->epochs_done = (int)ep;
    net_optim_set_step(R->c.opt, (int64_t)step);
    return MINT_OK;
}

/* ---- the epochs ---- */

static void report(tmrun *R, int e, int64_t s, double sl, int64_t sc, double sm, int64_t smc,
                   int64_t smn, double t0, int done)
{
    if (!R->o->progress)
        return;
    mint_tmodel_progress p;
    memset(&p, 0, sizeof p);
    p.epoch = e + 1;
    p.epochs = R->o->epochs;
    p.step = s;
    p.steps = R->steps;
    p.loss = s ? sl / (double)s : 0;
    p.accuracy = s ? (double)sc / ((double)s * R->B) : 0;
    p.mint_loss = s ? sm / (double)s : 0;
    p.mint_accuracy = smn ? (double)smc / (double)smn : 0;
    double dt = now_s() - t0;
    p.images_per_s = dt > 0 ? (double)s * (R->B + R->Be) / dt : 0;
    int64_t left = (int64_t)(R->o->epochs - e - 1) * R->steps + (R->steps - s);
    p.eta_s = s && dt > 0 ? dt / (double)s * (double)left : -1;
    p.epoch_done = done;
    R->o->progress(R->o->ctx, &p);
}

/* Every log_every steps: step, epoch, loss and the parameters' SHA-256
 * (net_graph_param_sha256: what `mint verify-log --network` recomputes from
 * the file). A resumed run repeats the steps after its checkpoint: those
 * already in the log are not written again. */
static mint_status log_step(tmrun *R, int64_t step, int epoch, double loss)
{
    const int every = R->o->log_every > 0 ? R->o->log_every : 50;
    if (!R->log || step % every != 0 || step <= R->logged)
        return MINT_OK;
    uint8_t sha[32];
    net_graph_param_sha256(R->g, sha);
    R->logged = step;
    return mint_tlog_append(R->log, step, epoch, loss, sha);
}

static mint_status open_log(tmrun *R)
{
    const mint_tmodel_opts *o = R->o;
    if (!o->log_key)
        return MINT_OK;
    uint8_t sk[MINT_TLOG_SK_BYTES];
    char path[4096];
    if (o->log_path)
        snprintf(path, sizeof path, "%s", o->log_path);
    else
        snprintf(path, sizeof path, "%s.log", o->out);
    mint_status st = mint_tlog_load_secret(o->log_key, sk);
    if (st)
        return st;
    if (o->resume) {
        mint_tlog_result res;
        st = mint_tlog_reopen(&R->log, path, sk, &res);
        if (!st && res.dropped_bytes)
            say(R, MINT_MSG_NOTE, "%s: an unfinished last line (%lld bytes) was dropped", path,
                (long long)res.dropped_bytes);
    } else {
        st = mint_tlog_open_new(&R->log, path, sk, R->run);
    }
    memset(sk, 0, sizeof sk);
    R->logged = st ? 0 : mint_tlog_last_step(R->log);
    return st;
}

static mint_status run_epochs(tmrun *R, const char *partial)
{
    const mint_tmodel_opts *o = R->o;
    int64_t *order = malloc(((size_t)R->n_mem + 1) * sizeof *order);
    int64_t *eorder = malloc(((size_t)R->n_ext + 1) * sizeof *eorder);
    int64_t *items = malloc((size_t)(R->B + R->Be) * sizeof *items);
    mint_status st = order && eorder && items ? MINT_OK : mint_fail(MINT_E_NOMEM, "out of memory");
    for (int e = R->epochs_done; !st && e < o->epochs; e++) {
        shuffled(order, R->mem, R->n_mem, o->seed, 100 + (uint64_t)e);
        if (R->amint)
            shuffled(eorder, R->ext, R->n_ext, o->seed, 1000000 + (uint64_t)e);
        double sl = 0, sm = 0, t0 = now_s(), last = t0;
        int64_t sc = 0, smc = 0, smn = 0;
        for (int64_t s = 0; !st && s < R->steps; s++) {
            memcpy(items, order + s * R->B, (size_t)R->B * sizeof *items);
            for (int k = 0; k < R->Be; k++)
                items[R->B + k] = eorder[(s * R->Be + k) % R->n_ext];
            tm_step_stats ss;
            const int64_t gstep = (int64_t)e * R->steps + s;
            st = train_step(R, items, gstep, &ss);
            if (!st)
                st = log_step(R, gstep + 1, e + 1, ss.task_loss);
            sl += ss.task_loss;
            sc += ss.task_correct;
            sm += ss.mint_loss;
            smc += ss.mint_correct;
            smn += ss.mint_n;
            if (now_s() - last >= 1.0 || s + 1 == R->steps) {
                last = now_s();
                report(R, e, s + 1, sl, sc, sm, smc, smn, t0, s + 1 == R->steps);
            }
        }
        if (st)
            break;
        R->epochs_done = e + 1;
        R->r->train_accuracy = (double)sc / ((double)R->steps * R->B);
        if (R->epochs_done < o->epochs)
            st = save_checkpoint(R, partial);
        if (!st && o->stop_after > 0 && R->epochs_done >= o->stop_after &&
            R->epochs_done < o->epochs) {
            R->r->stopped = 1;
            break;
        }
    }
    free(order);
    free(eorder);
    free(items);
    return st;
}

/* Eval-mode embeddings of items, chunk by chunk, to fn. */
typedef mint_status (*rows_fn)(tmrun *R, const int64_t *items, int n, void *ctx);
static mint_status eval_pass(tmrun *R, const int64_t *items, int64_t n, rows_fn fn, void *ctx)
{
    const int cap = R->B + R->Be;
    int save_flip = R->flip;
    R->flip = 0;
    mint_status st = MINT_OK;
    for (int64_t i = 0; i < n && !st; i += cap) {
        int k = n - i < cap ? (int)(n - i) : cap;
        assemble(R, items + i, k, 0);
        if (!(st = net_tgraph_forward(R->c.t, R->c.in, k, 0)))
            st = fn(R, items + i, k, ctx);
    }
    R->flip = save_flip;
    return st;
}

/* Task accuracy: argmax over the head's logits (cosines with a margin
 * loss, dot products with softmax). */
static mint_status count_correct(tmrun *R, const int64_t *items, int n, void *ctx)
{
    int64_t *ok = ctx;
    const float *emb = net_tgraph_output(R->c.t);
    for (int b = 0; b < n; b++) {
        const float *e = emb + (size_t)b * R->emb;
        double ne = 0;
        for (int j = 0; j < R->emb; j++)
            ne += (double)e[j] * e[j];
        int best = 0;
        double bv = -INFINITY;
        for (int c = 0; c < R->classes; c++) {
            const float *w = R->c.Wh + (size_t)c * R->emb;
            double dot = 0, nw = 0;
            for (int j = 0; j < R->emb; j++) {
                dot += (double)e[j] * w[j];
                nw += (double)w[j] * w[j];
            }
            double v = R->c.cfg.mg.s > 0 ? dot / sqrt(ne * nw + 1e-30) : dot;
            if (v > bv) {
                bv = v;
                best = c;
            }
        }
        ok[0] += best == R->d.ident_cls[R->d.ident[items[b]]];
    }
    return MINT_OK;
}

/* Accuracy on the evaluation external images of member classes (images no
 * one trained on: a test set), -1 when there are none or none loaded. */
static mint_status test_accuracy(tmrun *R, double *acc)
{
    *acc = -1;
    int64_t n = 0, ok = 0;
    int64_t *it = malloc((R->d.all.n + 1) * sizeof *it);
    if (!it)
        return mint_fail(MINT_E_NOMEM, "out of memory");
    for (size_t i = 0; i < R->d.all.n; i++)
        if (R->d.role[i] == TM_EXTERNAL_EVAL && R->d.ident_cls[R->d.ident[i]] >= 0 &&
            R->slot[i] >= 0)
            it[n++] = (int64_t)i;
    mint_status st = n ? eval_pass(R, it, n, count_correct, &ok) : MINT_OK;
    if (!st && n)
        *acc = (double)ok / (double)n;
    free(it);
    return st;
}

/* ---- the Active MINT head's calibration ---- */

typedef struct {
    float *score, *logit;
    int64_t k;
} score_sink;

static mint_status head_scores(tmrun *R, const int64_t *items, int n, void *ctx)
{
    (void)items;
    score_sink *s = ctx;
    tm_head *h = &R->c.head;
    for (int b = 0; b < n; b++)
        h->rows[b] = b;
    mint_status st = tm_head_features(h, R->c.t, h->rows, n, h->acts->x, NULL);
    if (!st)
        st = mint_tm_predict2(h->tm, h->acts->x, n, s->score + s->k, s->logit + s->k);
    s->k += n;
    return st;
}

static mint_status finish_head(tmrun *R, const char *network_sha, const char *path)
{
    tm_head *h = &R->c.head;
    int64_t nm = 0;
    int64_t *mm = malloc(((size_t)R->n_mem + 1) * sizeof *mm);
    int64_t ne = R->n_ext + R->n_ref;
    int64_t *ee = malloc(((size_t)ne + 1) * sizeof *ee), *held = malloc(((size_t)R->n_ref + 1) * 8);
    int32_t *grp = malloc(((size_t)ne + 1) * sizeof *grp);
    float *cm = malloc(((size_t)R->n_mem + 1) * sizeof(float)), *cml = malloc(((size_t)R->n_mem + 1) * 4);
    float *ce = malloc(((size_t)ne + 1) * sizeof(float)), *cl = malloc(((size_t)ne + 1) * 4);
    mint_status st = mm && ee && held && grp && cm && cml && ce && cl
                         ? MINT_OK : mint_fail(MINT_E_NOMEM, "out of memory");
    for (int64_t i = 0; !st && i < R->n_mem; i++)
        if (R->d.role[R->mem[i]] == TM_MEMBER_MINT)
            mm[nm++] = R->mem[i];
    if (!st) {
        memcpy(ee, R->ext, (size_t)R->n_ext * sizeof *ee);
        memcpy(ee + R->n_ext, R->ref, (size_t)R->n_ref * sizeof *ee);
        for (int64_t i = 0; i < R->n_ref; i++)
            held[i] = R->n_ext + i;
        for (int64_t i = 0; i < ne; i++)
            grp[i] = R->d.by_label ? R->d.ident[ee[i]] : -1;
    }
    score_sink sm = { cm, cml, 0 }, se = { ce, cl, 0 };
    if (!st)
        st = eval_pass(R, mm, nm, head_scores, &sm);
    if (!st)
        st = eval_pass(R, ee, ne, head_scores, &se);
    free(cml);
    mint_tm *tm = h->tm;
    if (!st) {
        st = mint_tm_calibrate_scores(tm, cm, nm, ce, cl, ne, held, R->n_ref);
        cm = ce = cl = NULL;
    }
    if (!st)
        st = mint_tm_set_reference_groups(tm, grp, held, R->n_ref,
                                          R->d.by_label ? "label" : "sample");
    if (!st) {
        snprintf(tm->cfg.network_sha256, sizeof tm->cfg.network_sha256, "%s", network_sha);
        tm->train_epochs = R->o->epochs;
        tm->train_steps = tm->adam_t;
        tm->train_batch = R->B + R->Be;
        tm->train_seed = R->o->seed;
        tm->train_accuracy = R->r->train_accuracy;
        st = mint_tm_save(tm, path);
    }
    free(mm), free(ee), free(held), free(grp), free(cm), free(ce), free(cl);
    return st;
}

/* ---- the run ---- */

static void describe(tmrun *R)
{
    const mint_tmodel_opts *o = R->o;
    const net_iresnet_cfg *c = NULL;
    (void)c;
    int n = snprintf(R->run, sizeof R->run,
                     "iresnet%d widths %d,%d,%d,%d emb %d loss %s optimizer %s lr %g momentum %g "
                     "wd %g schedule %s epochs %d batch %d seed %llu flip %d dropout %g amint %d",
                     o->depth, o->widths[0], o->widths[1], o->widths[2], o->widths[3], o->emb,
                     o->loss ? o->loss : "default", o->optimizer, o->lr, o->momentum,
                     o->weight_decay, o->schedule, o->epochs, o->batch,
                     (unsigned long long)o->seed, o->flip, o->dropout, o->amint);
    if (o->amint)
        n += snprintf(R->run + n, sizeof R->run - (size_t)n, " taps %s kind %s min_hidden %d lr %g",
                      o->amint_taps, o->amint_kind, o->amint_min_hidden, o->amint_lr);
    n += snprintf(R->run + n, sizeof R->run - (size_t)n,
                  " split %s members %g min_images %d max_classes %d mint_share %g data",
                  R->d.by_label ? "label" : "sample", o->members, o->min_images, o->max_classes,
                  o->mint_share);
    for (int i = 0; i < o->ndata + o->nexternal && n < (int)sizeof R->run - 2; i++)
        n += snprintf(R->run + n, sizeof R->run - (size_t)n, " %s%s", i < o->ndata ? "" : "ext:",
                      i < o->ndata ? o->data[i] : o->external[i - o->ndata]);
}

static mint_status check_opts(const mint_tmodel_opts *o)
{
    if (!o->out || !*o->out)
        return mint_fail(MINT_E_ARG, "no output: give --out NET.mint");
    if (o->epochs < 1 || o->epochs > 100000)
        return mint_fail(MINT_E_ARG, "--epochs %d: give 1..100000", o->epochs);
    if (o->batch < 2 || o->batch > 4096)
        return mint_fail(MINT_E_ARG, "--batch %d: give 2..4096", o->batch);
    if (!(o->lr > 0 && o->lr < 100) || !(o->weight_decay >= 0) || !(o->momentum >= 0 && o->momentum < 1))
        return mint_fail(MINT_E_ARG, "--lr %g, --momentum %g, --weight-decay %g: out of range",
                         o->lr, o->momentum, o->weight_decay);
    if (!(o->dropout >= 0 && o->dropout < 1))
        return mint_fail(MINT_E_ARG, "--dropout %g: give [0, 1)", o->dropout);
    if (o->split_by && strcmp(o->split_by, "label") && strcmp(o->split_by, "sample"))
        return mint_fail(MINT_E_ARG, "--split-by %s: label or sample", o->split_by);
    return MINT_OK;
}

/* Input geometry from the data: idx digits at their own size, grey;
 * faces 112 x 112 RGB (aligned with --landmarks or given as crops). */
static mint_status input_geometry(tmrun *R, int *in_c, int *hw)
{
    *in_c = 3;
    *hw = 112;
    if (!R->d.digits)
        return MINT_OK;
    io_image img;
    mint_status st = io_image_load(R->d.all.items[0].path, &img, 0);
    if (st)
        return st;
    *in_c = 1;
    *hw = img.w;
    int ok = img.w == img.h && img.w >= 16;
    io_image_free(&img);
    return ok ? MINT_OK : mint_fail(MINT_E_SHAPE, "%s: digits must be square, at least 16 px",
                                    R->d.all.items[0].path);
}

/* A model of the same geometry for mint_prepare_image (input only). */
static mint_status prep_model(tmrun *R, mint_model **m)
{
    net_graph *g2;
    mint_status st = net_iresnet_build(&g2, &R->cfg, 1);
    if (st)
        return st;
    g2->meta = R->g->meta;
    return mint_model_from_graph(m, g2, NULL);
}

static void tmrun_free(tmrun *R)
{
    mint_tlog_free(R->log);
    tm_core_free(&R->c);
    net_graph_free(R->g);
    if (R->ckpt)
        wt_close(R->ckpt);
    io_landmarks_free(R->lm);
    tm_data_free(&R->d);
    free(R->ext_only);
    free(R->pix), free(R->slot), free(R->mem), free(R->ext), free(R->ref);
}

/* Data, split (written at once), network, images. */
static mint_status prepare(tmrun *R, const char *partial)
{
    const mint_tmodel_opts *o = R->o;
    mint_status st = tm_data_gather(&R->d, o->data, o->ndata, o->external, o->nexternal, o->root,
                                    &R->ext_only);
    if (st)
        return st;
    int by_label = o->split_by ? !strcmp(o->split_by, "label") : !R->d.digits;
    if ((st = tm_data_split(&R->d, R->ext_only, by_label, o->members, o->min_images,
                            o->max_classes, o->mint_share, o->seed)))
        return st;
    R->classes = R->d.classes;
    describe(R);
    if ((st = tm_data_write_split(&R->d, R->r->split_dir, R->run)))
        return st;
    int in_c, hw;
    if ((st = input_geometry(R, &in_c, &hw)) || (st = build_net(R, in_c, hw)))
        return st;
    R->C = in_c;
    R->H = R->W = hw;
    R->img = (size_t)in_c * hw * hw;
    R->flip = o->flip >= 0 ? o->flip : in_c == 3;
    if (o->landmarks && (st = io_landmarks_load(o->landmarks, &R->lm)))
        return st;
    if (o->resume) {
        net_graph *g;
        if (access(partial, F_OK) != 0)
            return mint_fail(MINT_E_ARG, "--resume: %s does not exist (nothing to resume)",
                             partial);
        if ((st = net_graph_load(&g, &R->ckpt, partial)))
            return st;
        net_graph_free(R->g);
        R->g = g;
    } else if (access(partial, F_OK) == 0) {
        return mint_fail(MINT_E_ARG, "%s exists: an interrupted run; give --resume to continue "
                         "it, or remove it to start afresh", partial);
    }
    mint_model *m;
    if ((st = plan_items(R)) || (st = prep_model(R, &m)))
        return st;
    st = load_images(R, m);
    mint_model_close(m);
    return st;
}

mint_status mint_tmodel_run(const mint_tmodel_opts *o, mint_tmodel_result *r)
{
    memset(r, 0, sizeof *r);
    mint_status st = check_opts(o);
    if (st)
        return st;
    tmrun R;
    memset(&R, 0, sizeof R);
    R.o = o;
    R.r = r;
    R.amint = o->amint;
    const double t0 = now_s();
    char partial[4096];
    snprintf(partial, sizeof partial, "%s.partial", o->out);
    if (o->split_dir)
        snprintf(r->split_dir, sizeof r->split_dir, "%s", o->split_dir);
    else
        derived(r->split_dir, sizeof r->split_dir, o->out, "-split");
    if (o->amint_out)
        snprintf(r->amint_out, sizeof r->amint_out, "%s", o->amint_out);
    else if (o->amint)
        derived(r->amint_out, sizeof r->amint_out, o->out, "-amint.mint");
    if (!(st = prepare(&R, partial)) && !(st = setup_trainer(&R)) && R.ckpt)
        st = restore_checkpoint(&R, R.ckpt);
    if (!st)
        st = open_log(&R);
    if (!st) {
        say(&R, MINT_MSG_STATUS, "%s: %lld members in %d classes, %d epochs of %lld steps "
            "(batch %d%s)%s", R.g->meta.arch, (long long)R.n_mem, R.classes, o->epochs,
            (long long)R.steps, R.B, R.amint ? " + external for the Active MINT head" : "",
            R.epochs_done ? ", resuming" : "");
        st = run_epochs(&R, partial);
    }
    if (!st && r->stopped) { /* time-boxed: the checkpoint stays for --resume */
        say(&R, MINT_MSG_STATUS, "stopped after epoch %d of %d as asked: %s holds the run "
            "(continue with --resume)", R.epochs_done, o->epochs, partial);
        tmrun_free(&R);
        return MINT_OK;
    }
    if (!st)
        st = test_accuracy(&R, &r->test_accuracy);
    if (!st)
        st = net_graph_save(R.g, o->out);
    if (!st)
        st = base_sha256_file(o->out, r->network_sha256);
    if (!st && R.log) { /* the closing record: the parameters of the file just written */
        uint8_t sha[32];
        net_graph_param_sha256(R.g, sha);
        st = mint_tlog_close(R.log, sha);
        R.log = NULL;
    }
    if (!st && R.amint)
        st = finish_head(&R, r->network_sha256, r->amint_out);
    if (!st) {
        unlink(partial);
        r->classes = R.classes;
        for (size_t i = 0; i < R.d.all.n; i++) {
            int role = R.d.role[i];
            r->n_members += role <= TM_MEMBER_EVAL;
            r->n_external += role >= TM_EXTERNAL_MINT;
            r->n_mint_members += role == TM_MEMBER_MINT;
            r->n_eval_members += role == TM_MEMBER_EVAL;
            r->n_mint_external += role == TM_EXTERNAL_MINT;
            r->n_eval_external += role == TM_EXTERNAL_EVAL;
        }
        r->seconds = now_s() - t0;
    }
    tmrun_free(&R);
    return st;
}
