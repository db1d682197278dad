/* test_audit.c - `mint eval` and `mint audit` end to end through the library
 * calls the CLI uses (mint/audit.h), on a tiny native IResNet and the
 * committed aligned 112x112 crops: extract features of a "members" and an
 * "external" list, train a Vanilla MINT for a few epochs, then
 *  - eval writes JSON and a ROC PNG with sane metrics; wrong-size features
 *    are refused;
 *  - audit scores every image, each score equal to the MINT model's score
 *    of the same image's extracted features (the audit computes features
 *    exactly as training did); a broken and a missing image get error rows
 *    and stay out of the set test; JSON and HTML reports carry image SHA-256s;
 *  - the refusals: MINT trained on another network, no calibration and no
 *    reference, landmarks with a non-112x112 network;
 *  - features from images equal extracted features (pooled and raw maps),
 *    and the memory bound is enforced. */
#include "testutil.h"
#include <math.h>
#include <sys/stat.h>
#include "io/dataset.h"
#include "io/image.h"
#include "io/landmarks.h"
#include "mint/audit.h"
#include "mint/extract.h"
#include "mint/features.h"
#include "mint/model.h"
#include "mint/train.h"
#include "mint/trainset.h"
#include "net/iresnet.h"
#include "net/model.h"
#include "weights/container.h"
#include "net/graph_io.h"

#define NMEM 8
#define NEXT 8
static const char *const crops[] = {
    "AJ_Cook_0001.png",         "Angelina_Jolie_0005.png",    "Bill_Simon_0011.png",
    "Choi_Sung-hong_0002.png",  "David_Anderson_0004.png",    "Efrain_Rios_Montt_0001.png",
    "George_W_Bush_0022.png",   "Giancarlo_Fisichella_0001.png", "Hu_Jintao_0006.png",
    "Jean-Francois_Pontal_0002.png", "John_Bolton_0004.png", "Junichiro_Koizumi_0058.png",
    "Leonardo_DiCaprio_0004.png", "Marricia_Tate_0001.png",   "Mohamed_ElBaradei_0008.png",
    "Paul_Burrell_0009.png",
};
static const char *const taps4[] = { "layer1", "layer2", "layer3", "layer4" };

static char net_path[512], mint_path[512], mem_dir[512], ext_dir[512];
static mint_model *model;

static void make_list(io_list *l, int first, int n)
{
    l->n = (size_t)n;
    l->items = calloc((size_t)n, sizeof *l->items);
    for (int k = 0; k < n; k++) {
        char p[512];
        snprintf(p, sizeof p, TEST_FIXTURES "/align/%s", crops[first + k]);
        l->items[k].path = strdup(p);
        l->items[k].key = strdup(crops[first + k]);
        l->items[k].label = strdup("");
    }
}

static mint_status save_net(const char *path, int last_width, int in_hw, mint_model **opened)
{
    net_iresnet_cfg cfg = { { 1, 1, 1, 1 }, { 8, 16, 16, last_width }, 16, in_hw, in_hw, 3 };
    net_graph *g;
    mint_status st = net_iresnet_build(&g, &cfg, 3);
    if (st)
        return st;
    st = net_graph_save(g, path);
    if (!st && opened)
        st = mint_model_from_graph(opened, g, NULL);
    else
        net_graph_free(g);
    return st;
}

static int setup(void **state)
{
    (void)state;
    snprintf(net_path, sizeof net_path, "%s", test_tmp_path("net.mint"));
    snprintf(mint_path, sizeof mint_path, "%s", test_tmp_path("vanilla.mint"));
    snprintf(mem_dir, sizeof mem_dir, "%s", test_tmp_path("members"));
    snprintf(ext_dir, sizeof ext_dir, "%s", test_tmp_path("external"));
    if (save_net(net_path, 24, 112, &model))
        return -1;
    /* the same tensors the CLI writes: `mint extract` (pooled) of both lists */
    const char *taps[5] = { "layer1", "layer2", "layer3", "layer4", "embedding" };
    for (int s = 0; s < 2; s++) {
        io_list l;
        make_list(&l, s ? NMEM : 0, s ? NEXT : NMEM);
        mint_extract_opts o = { .model = model, .model_sha256 = "test", .list = &l, .taps = taps,
                                .ntaps = 5, .pool_max = 1, .out_dir = s ? ext_dir : mem_dir,
                                .batch = 4, .chunk = 64 };
        mint_extract_stats es;
        mint_status st = mint_extract(&o, &es);
        io_list_free(&l);
        if (st || es.written != (size_t)(s ? NEXT : NMEM))
            return -1;
    }
    /* a Vanilla MINT on all four stages, a few epochs */
    mint_feats fm, fe;
    if (mint_feats_load(mem_dir, 0, taps4, 4, &fm) || mint_feats_load(ext_dir, 0, taps4, 4, &fe))
        return -1;
    if (fm.rank != 1 || fm.dims[0] != 8 + 16 + 16 + 24 || fm.n != NMEM)
        return -1;
    mint_tm_config cfg = { .kind = MINT_TM_VANILLA, .in_dims = { fm.dims[0], 0, 0 } };
    snprintf(cfg.taps, sizeof cfg.taps, "layer1,layer2,layer3,layer4");
    mint_tm *tm;
    mint_train_opts to;
    mint_train_defaults(&to, MINT_TM_VANILLA);
    to.epochs = 3;
    to.batch = 8;
    mint_status st = mint_tm_create(&tm, &cfg, 1);
    if (!st)
        st = mint_train(tm, fm.x, fm.n, fe.x, fe.n, &to);
    if (!st)
        st = mint_tm_save(tm, mint_path);
    mint_tm_free(tm);
    mint_feats_free(&fm);
    mint_feats_free(&fe);
    return st ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    mint_model_close(model);
    return 0;
}

static void test_eval(void **state)
{
    (void)state;
    const char *json = test_tmp_path("eval.json"), *png = test_tmp_path("roc.png");
    mint_eval_run_opts o = { .mint = mint_path, .members = mem_dir, .external = ext_dir,
                         .json = json, .roc_png = png, .created = "2026-01-01T00:00:00Z" };
    mint_eval_run_result s;
    assert_int_equal(mint_eval_run(&o, &s), MINT_OK);
    assert_int_equal(s.m.n_members, NMEM);
    assert_int_equal(s.m.n_external, NEXT);
    assert_string_equal(s.kind, "vanilla");
    assert_string_equal(s.taps, "layer1,layer2,layer3,layer4");
    assert_true(s.has_train_threshold);
    assert_int_equal(s.m.cm_train_thr.tp + s.m.cm_train_thr.fn, NMEM);
    assert_int_equal(s.m.cm_05.fp + s.m.cm_05.tn, NEXT);
    /* the figures recomputed from the model's own scores of both folders:
     * AUC by counting member/external pairs (ties count 1/2), balanced
     * accuracy and confusion counts at 0.5 and at the stored threshold
     * (member iff score >= threshold) */
    {
        mint_tm *tm;
        mint_feats fm, fe;
        assert_int_equal(mint_tm_load(&tm, mint_path), MINT_OK);
        assert_int_equal(mint_feats_load(mem_dir, 0, taps4, 4, &fm), MINT_OK);
        assert_int_equal(mint_feats_load(ext_dir, 0, taps4, 4, &fe), MINT_OK);
        float sm[NMEM], se[NEXT];
        assert_int_equal(mint_tm_predict(tm, fm.x, NMEM, sm), MINT_OK);
        assert_int_equal(mint_tm_predict(tm, fe.x, NEXT, se), MINT_OK);
        double pairs = 0;
        for (int a = 0; a < NMEM; a++)
            for (int b = 0; b < NEXT; b++)
                pairs += sm[a] > se[b] ? 1.0 : sm[a] == se[b] ? 0.5 : 0.0;
        const double auc = pairs / (NMEM * NEXT);
        printf("  eval AUC %.6f, recomputed by pair counting %.6f\n", s.m.auc, auc);
        assert_true(fabs(s.m.auc - auc) < 1e-12);
        const double thr[2] = { 0.5, tm->threshold };
        const mint_confusion *cm[2] = { &s.m.cm_05, &s.m.cm_train_thr };
        const double bacc[2] = { s.m.bacc_05, s.m.bacc_train_thr };
        assert_true(s.m.train_threshold == tm->threshold);
        for (int t = 0; t < 2; t++) {
            int tp = 0, tn = 0;
            for (int a = 0; a < NMEM; a++)
                tp += (double)sm[a] >= thr[t];
            for (int b = 0; b < NEXT; b++)
                tn += (double)se[b] < thr[t];
            assert_int_equal(cm[t]->tp, tp);
            assert_int_equal(cm[t]->fn, NMEM - tp);
            assert_int_equal(cm[t]->tn, tn);
            assert_int_equal(cm[t]->fp, NEXT - tn);
            assert_true(fabs(bacc[t] - 0.5 * ((double)tp / NMEM + (double)tn / NEXT)) < 1e-12);
        }
        mint_tm_free(tm);
        mint_feats_free(&fm);
        mint_feats_free(&fe);
    }
    char *j = test_read_text(json);
    assert_non_null(j);
    assert_non_null(strstr(j, "\"auc\""));
    assert_non_null(strstr(j, s.mint_sha256));
    free(j);
    size_t n;
    unsigned char *p = test_read_file(png, &n);
    assert_non_null(p);
    assert_true(n > 8 && !memcmp(p, "\x89PNG\r\n\x1a\n", 8));
    free(p);

    /* features of other taps than the model's: refused, naming the data */
    o.taps = "layer4";
    o.json = test_tmp_path("eval_bad.json");
    o.roc_png = NULL;
    assert_int_equal(mint_eval_run(&o, &s), MINT_E_SHAPE);
    assert_non_null(strstr(mint_last_error(), mem_dir));
    struct stat sb;
    assert_int_not_equal(stat(o.json, &sb), 0);
}

static void count_progress(void *ctx, size_t done, size_t total)
{
    size_t *p = ctx;
    assert_true(done > p[1] && done <= total);
    p[0]++, p[1] = done, p[2] = total;
}

static void test_audit(void **state)
{
    (void)state;
    /* members 0..2, a broken file, a missing file, external 0..1 */
    const char *broken = test_tmp_path("broken.png");
    assert_int_equal(test_write_file(broken, "\x89PNG\r\n\x1a\nnot really", 18), 0);
    io_list l = { 0 };
    l.n = 7;
    l.items = calloc(l.n, sizeof *l.items);
    const int src[7] = { 0, 1, 2, -1, -2, NMEM, NMEM + 1 };
    for (size_t i = 0; i < l.n; i++) {
        char p[512];
        if (src[i] == -1)
            snprintf(p, sizeof p, "%s", broken);
        else if (src[i] == -2)
            snprintf(p, sizeof p, "%s", test_tmp_path("missing.png"));
        else
            snprintf(p, sizeof p, TEST_FIXTURES "/align/%s", crops[src[i]]);
        l.items[i].path = strdup(p);
        l.items[i].key = strdup(p);
        l.items[i].label = strdup("");
    }
    const char *rj = test_tmp_path("audit.json"), *rh = test_tmp_path("audit.html");
    size_t prog[3] = { 0, 0, 0 }; /* calls, last done, last total */
    mint_audit_opts o = { .model_path = net_path, .mint_path = mint_path, .images = &l,
                          .alpha = 0.05, .batch = 2, .report_path = rj,
                          .created = "2026-01-01T00:00:00Z", .progress = count_progress,
                          .progress_ctx = prog };
    mint_audit_result r;
    assert_int_equal(mint_audit_list(&r, &o), MINT_OK);
    assert_int_equal(prog[0], 4); /* 7 images in batches of 2 */
    assert_int_equal(prog[1], 7);
    assert_int_equal(prog[2], 7);
    o.progress = NULL;
    assert_int_equal(r.n_images, 7);
    assert_int_equal(r.n_scored, 5);
    assert_int_equal(r.n_failed, 2);
    assert_true(r.has_set);
    assert_int_equal(r.set.n_images, 5);
    assert_int_equal(r.set.m, 1);    /* unlabelled images: one identity, "the set" */
    assert_int_equal(r.set.K, NEXT); /* calibration without identities: one per image */
    assert_true(r.set.p >= r.set.p_min && r.set.p <= 1);
    assert_true(fabs(r.set.p_min - 1.0 / (NEXT + 1)) < 1e-12);
    /* the p-value is the rank of the set's mean logit among the reference
     * logits (each reference image an identity: n_k = 1 <= n) */
    {
        double t = 0;
        for (size_t i = 0; i < l.n; i++)
            if (!isnan(r.logit[i]))
                t += r.logit[i];
        t /= 5;
        mint_tm *tc;
        assert_int_equal(mint_tm_load(&tc, mint_path), MINT_OK);
        size_t ge = 0;
        for (int64_t k = 0; k < tc->n_cal_external; k++)
            ge += tc->cal_external_logit[k] >= t;
        assert_true(fabs(r.set.p - (1.0 + ge) / (1.0 + NEXT)) < 1e-12);
        mint_tm_free(tc);
    }
    assert_true(r.verdict[0]);
    assert_non_null(strstr(r.verdict, "2 of 7 images could not be scored"));
    char sha[65];
    assert_int_equal(base_sha256_file(net_path, sha), MINT_OK);
    assert_string_equal(r.model_sha256, sha);

    /* each score is the MINT model's score of that image's extracted features */
    mint_tm *tm;
    mint_feats fm, fe;
    assert_int_equal(mint_tm_load(&tm, mint_path), MINT_OK);
    assert_int_equal(mint_feats_load(mem_dir, 0, taps4, 4, &fm), MINT_OK);
    assert_int_equal(mint_feats_load(ext_dir, 0, taps4, 4, &fe), MINT_OK);
    float want[NMEM], wante[NEXT];
    assert_int_equal(mint_tm_predict(tm, fm.x, fm.n, want), MINT_OK);
    assert_int_equal(mint_tm_predict(tm, fe.x, fe.n, wante), MINT_OK);
    for (size_t i = 0; i < l.n; i++) {
        const mint_audit_image *im = &r.images[i];
        assert_string_equal(im->file, l.items[i].path);
        if (src[i] < 0) {
            assert_true(isnan(im->score));
            assert_non_null(im->error);
            continue;
        }
        assert_null(im->error);
        assert_true(im->score >= 0 && im->score <= 1);
        const float w = src[i] < NMEM ? want[src[i]] : wante[src[i] - NMEM];
        assert_float_equal(im->score, w, 1e-6);
        char h[65];
        assert_int_equal(base_sha256_file(l.items[i].path, h), MINT_OK);
        assert_string_equal(im->sha256, h);
    }
    assert_non_null(r.images[3].sha256); /* the broken file was read: it has a hash */
    assert_null(r.images[4].sha256);     /* the missing one has none */
    char img_sha[65];
    snprintf(img_sha, sizeof img_sha, "%s", r.images[0].sha256);
    mint_audit_result_free(&r);

    /* the JSON report */
    char *j = test_read_text(rj);
    assert_non_null(j);
    assert_non_null(strstr(j, img_sha));
    assert_non_null(strstr(j, sha));
    assert_non_null(strstr(j, "missing.png"));
    free(j);

    /* HTML, and a held-out reference instead of the calibration */
    o.report_path = rh;
    o.reference = ext_dir;
    assert_int_equal(mint_audit_list(&r, &o), MINT_OK);
    assert_int_equal(r.set.K_images, NEXT);
    assert_non_null(strstr(r.reference, ext_dir));
    mint_audit_result_free(&r);
    char *h = test_read_text(rh);
    assert_non_null(h);
    assert_non_null(strstr(h, "<!DOCTYPE html>"));
    assert_non_null(strstr(h, img_sha));
    free(h);

    /* nothing scorable: no test, still a report */
    io_list bad = { &l.items[3], 2 };
    o.images = &bad;
    o.report_path = test_tmp_path("none.json");
    assert_int_equal(mint_audit_list(&r, &o), MINT_OK);
    assert_int_equal(r.n_scored, 0);
    assert_false(r.has_set);
    assert_null(r.report.set);
    mint_audit_result_free(&r);
    j = test_read_text(o.report_path);
    assert_non_null(j);
    free(j);

    mint_feats_free(&fm);
    mint_feats_free(&fe);
    mint_tm_free(tm);
    io_list_free(&l);
}

static void test_audit_refusals(void **state)
{
    (void)state;
    io_list l;
    make_list(&l, 0, 2);
    mint_audit_result r;
    mint_audit_opts o = { .model_path = net_path, .mint_path = mint_path, .images = &l,
                          .alpha = 0.05, .report_path = test_tmp_path("refused.json") };

    /* a MINT model trained on another network (stage 4 wider) */
    const char *other = test_tmp_path("other_net.mint");
    assert_int_equal(save_net(other, 32, 112, NULL), MINT_OK);
    o.model_path = other;
    assert_int_equal(mint_audit_list(&r, &o), MINT_E_SHAPE);
    assert_non_null(strstr(mint_last_error(), "another network"));

    /* landmarks with a network that does not take 112x112 */
    const char *small = test_tmp_path("net64.mint");
    assert_int_equal(save_net(small, 24, 64, NULL), MINT_OK);
    static const char csv[] = "file,lex,ley,rex,rey,nx,ny,lmx,lmy,rmx,rmy\n"
                              "AJ_Cook_0001.png,38,51,73,51,56,71,41,92,70,92\n";
    io_landmarks *lm;
    assert_int_equal(io_landmarks_parse(csv, sizeof csv - 1, "test", &lm), MINT_OK);
    o.model_path = small;
    o.landmarks = lm;
    assert_int_equal(mint_audit_list(&r, &o), MINT_E_SHAPE);
    assert_non_null(strstr(mint_last_error(), "112x112"));
    o.landmarks = NULL;
    io_landmarks_free(lm);

    /* a MINT model without calibration scores and no reference */
    const char *raw = test_tmp_path("uncalibrated.mint");
    mint_tm_config cfg = { .kind = MINT_TM_VANILLA, .in_dims = { 64, 0, 0 } };
    snprintf(cfg.taps, sizeof cfg.taps, "layer1,layer2,layer3,layer4");
    mint_tm *tm;
    assert_int_equal(mint_tm_create(&tm, &cfg, 1), MINT_OK);
    assert_int_equal(mint_tm_save(tm, raw), MINT_OK);
    mint_tm_free(tm);
    o.model_path = net_path;
    o.mint_path = raw;
    assert_int_equal(mint_audit_list(&r, &o), MINT_E_ARG);
    assert_non_null(strstr(mint_last_error(), "--reference"));
    struct stat sb; /* no refusal wrote a report */
    assert_int_not_equal(stat(test_tmp_path("refused.json"), &sb), 0);
    o.reference = ext_dir; /* with a reference it runs */
    assert_int_equal(mint_audit_list(&r, &o), MINT_OK);
    assert_int_equal(r.set.K_images, NEXT);
    mint_audit_result_free(&r);

    /* a MINT model bound to another network file (same shapes) is refused */
    const char *bound = test_tmp_path("bound.mint");
    cfg.network_sha256[0] = 0;
    memset(cfg.network_sha256, 'a', 64);
    assert_int_equal(mint_tm_create(&tm, &cfg, 1), MINT_OK);
    assert_int_equal(mint_tm_save(tm, bound), MINT_OK);
    mint_tm_free(tm);
    o.mint_path = bound;
    assert_int_equal(mint_audit_list(&r, &o), MINT_E_ARG);
    assert_non_null(strstr(mint_last_error(), "trained on features of the network"));
    o.mint_path = raw;

    /* bad alpha */
    o.alpha = 1.5;
    assert_int_equal(mint_audit_list(&r, &o), MINT_E_ARG);
    io_list_free(&l);
}

/* Features of another network than the MINT model's are refused by eval and
 * as an audit reference; duplicate images count once; an unbound MINT model
 * gets a note in the report. */
static void test_network_and_duplicates(void **state)
{
    (void)state;
    /* a MINT model bound to net_path (the trained one, re-saved with the binding) */
    char sha[65];
    assert_int_equal(base_sha256_file(net_path, sha), MINT_OK);
    mint_tm *tm;
    assert_int_equal(mint_tm_load(&tm, mint_path), MINT_OK);
    memcpy(tm->cfg.network_sha256, sha, sizeof sha);
    const char *bound = test_tmp_path("bound_net.mint");
    assert_int_equal(mint_tm_save(tm, bound), MINT_OK);
    mint_tm_free(tm);
    /* "external data" whose extract.txt names another network */
    char other[512], path[600];
    snprintf(other, sizeof other, "%s", test_tmp_path("other_ext"));
    assert_int_equal(mkdir(other, 0755), 0);
    for (int t = 0; t < 4; t++) {
        char src[600];
        snprintf(src, sizeof src, "%s/%s.npy", ext_dir, taps4[t]);
        snprintf(path, sizeof path, "%s/%s.npy", other, taps4[t]);
        size_t n;
        void *b = test_read_file(src, &n);
        assert_non_null(b);
        assert_int_equal(test_write_file(path, b, n), 0);
        free(b);
    }
    snprintf(path, sizeof path, "%s/extract.txt", other);
    const char *txt = "model bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n";
    assert_int_equal(test_write_file(path, txt, strlen(txt)), 0);

    mint_eval_run_opts eo = { .mint = bound, .members = mem_dir, .external = other,
                          .json = test_tmp_path("net.json") };
    mint_eval_run_result es;
    assert_int_equal(mint_eval_run(&eo, &es), MINT_E_ARG);
    assert_non_null(strstr(mint_last_error(), "features of different networks"));
    /* a single .npy beside that extract.txt is refused too */
    snprintf(path, sizeof path, "%s/layer1.npy", other);
    eo.external = path;
    eo.taps = "layer1";
    assert_int_equal(mint_eval_run(&eo, &es), MINT_E_ARG);
    eo.taps = NULL;
    eo.external = ext_dir; /* unknown network ("test" in its extract.txt): accepted */
    assert_int_equal(mint_eval_run(&eo, &es), MINT_OK);
    /* an unbound model: members and external must at least agree */
    snprintf(path, sizeof path, "%s/extract.txt", mem_dir);
    char *saved = test_read_text(path);
    assert_non_null(saved);
    const char *a = "model aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n";
    assert_int_equal(test_write_file(path, a, strlen(a)), 0);
    eo.mint = mint_path;
    eo.external = other;
    assert_int_equal(mint_eval_run(&eo, &es), MINT_E_ARG);
    assert_non_null(strstr(mint_last_error(), "different networks"));
    assert_int_equal(test_write_file(path, saved, strlen(saved)), 0);
    free(saved);

    /* audit: the same image three times (two paths to the same bytes) */
    io_list l = { 0 };
    l.n = 4;
    l.items = calloc(l.n, sizeof *l.items);
    const char *copy = test_tmp_path("copy_of_0.png");
    {
        char src[600];
        snprintf(src, sizeof src, TEST_FIXTURES "/align/%s", crops[0]);
        size_t n;
        void *b = test_read_file(src, &n);
        assert_int_equal(test_write_file(copy, b, n), 0);
        free(b);
    }
    for (size_t i = 0; i < l.n; i++) {
        char p[600];
        if (i == 2)
            snprintf(p, sizeof p, "%s", copy);
        else
            snprintf(p, sizeof p, TEST_FIXTURES "/align/%s", crops[i == 3 ? 1 : 0]);
        l.items[i].path = strdup(p);
        l.items[i].key = strdup(p);
        l.items[i].label = strdup("");
    }
    mint_audit_opts o = { .model_path = net_path, .mint_path = bound, .images = &l,
                          .alpha = 0.05, .report_path = test_tmp_path("dup.json") };
    mint_audit_result r;
    o.reference = other;
    assert_int_equal(mint_audit_list(&r, &o), MINT_E_ARG);
    assert_non_null(strstr(mint_last_error(), "features of different networks"));
    o.reference = NULL;
    assert_int_equal(mint_audit_list(&r, &o), MINT_OK);
    assert_int_equal(r.n_scored, 2);
    assert_int_equal(r.n_duplicates, 2);
    assert_int_equal(r.set.n_images, 2);
    assert_null(r.images[0].duplicate_of);
    assert_string_equal(r.images[1].duplicate_of, l.items[0].path);
    assert_string_equal(r.images[2].duplicate_of, l.items[0].path);
    assert_null(r.images[3].duplicate_of);
    assert_true(r.images[1].score == r.images[0].score);
    assert_non_null(strstr(r.verdict, "2 duplicate images counted once"));
    /* bound: notes on the duplicates, the unrecorded training images, the
     * training-sample reference (the setup trains without a held-out set)
     * and without identities, the never-validated MINT model and the low
     * power of 2 images */
    assert_int_equal(r.n_notes, 6);
    assert_non_null(strstr(r.notes[0], "same bytes"));
    assert_non_null(strstr(r.notes[1], "does not record its training images"));
    assert_non_null(strstr(r.notes[2], "biased low"));
    assert_non_null(strstr(r.notes[3], "no identities"));
    assert_non_null(strstr(r.notes[4], "never measured"));
    assert_non_null(strstr(r.notes[5], "only 2 images"));
    mint_audit_result_free(&r);
    char *j = test_read_text(o.report_path);
    assert_non_null(strstr(j, "\"duplicate_of\""));
    free(j);
    /* the unbound model: a reference from another network than M is refused */
    o.mint_path = mint_path;
    o.reference = other;
    assert_int_equal(mint_audit_list(&r, &o), MINT_E_ARG);
    assert_non_null(strstr(mint_last_error(), "the audited network"));
    o.reference = NULL;
    /* ... and a note says nothing checked the network */
    assert_int_equal(mint_audit_list(&r, &o), MINT_OK);
    int found = 0;
    for (size_t i = 0; i < r.n_notes; i++)
        found |= strstr(r.notes[i], "does not record which network") != NULL;
    assert_true(found);
    mint_audit_result_free(&r);
    io_list_free(&l);
}

static void test_feats_from_images(void **state)
{
    (void)state;
    io_list l;
    make_list(&l, 0, NMEM);
    /* pooled: equal to the extracted features */
    mint_feats a, b;
    assert_int_equal(mint_feats_from_images(&a, model, NULL, &l, 0, taps4, 4, 3, 0), MINT_OK);
    assert_int_equal(mint_feats_load(mem_dir, 0, taps4, 4, &b), MINT_OK);
    assert_int_equal(a.n, b.n);
    assert_int_equal(a.rank, 1);
    assert_int_equal(a.dims[0], b.dims[0]);
    assert_memory_equal(a.x, b.x, sizeof(float) * (size_t)(a.n * a.dims[0]));
    mint_feats_free(&a);
    mint_feats_free(&b);
    /* raw maps for a CNN MINT: equal to a model run */
    const char *t1[1] = { "layer1" };
    assert_int_equal(mint_feats_from_images(&a, model, NULL, &l, 1, t1, 1, 5, 0), MINT_OK);
    assert_int_equal(a.rank, 3);
    assert_int_equal(a.dims[0], 8);
    assert_int_equal(a.dims[1], 56);
    const size_t per = 8 * 56 * 56;
    float *x = malloc(sizeof(float) * 3 * 112 * 112), *t = malloc(sizeof(float) * per);
    char sha[65];
    assert_int_equal(mint_prepare_image(model, NULL, &l.items[NMEM - 1], x, sha), MINT_OK);
    assert_int_equal(mint_model_run(model, x, 1, NULL, 1, t1, &t), MINT_OK);
    assert_memory_equal(a.x + (NMEM - 1) * per, t, sizeof(float) * per);
    free(x);
    free(t);
    mint_feats_free(&a);
    /* the memory bound is checked before any work */
    assert_int_equal(mint_feats_from_images(&a, model, NULL, &l, 1, t1, 1, 5, 100000),
                     MINT_E_NOMEM);
    assert_non_null(strstr(mint_last_error(), "smaller"));
    assert_null(a.x);
    /* a bad image fails the in-memory path, naming it */
    free(l.items[2].path);
    l.items[2].path = strdup(test_tmp_path("missing.png"));
    assert_int_not_equal(mint_feats_from_images(&a, model, NULL, &l, 0, taps4, 4, 3, 0), MINT_OK);
    assert_non_null(strstr(mint_last_error(), "missing.png"));
    /* a vector tap cannot feed a CNN MINT */
    const char *emb[1] = { "embedding" };
    assert_int_equal(mint_feats_from_images(&a, model, NULL, &l, 1, emb, 1, 3, 0), MINT_E_SHAPE);
    io_list_free(&l);
}

/* Which note of a result holds a text (-1: none). */
static int note_with(const char (*notes)[1024], size_t n, const char *text)
{
    for (size_t i = 0; i < n; i++)
        if (strstr(notes[i], text))
            return (int)i;
    return -1;
}

/* A MINT model trained on the extracted members and external data with
 * their index.csv keys (2 of 8 external held out): it records them. */
static void train_recorded(const char *path, const char *network)
{
    mint_feats fm, fe;
    mint_image_keys km, ke;
    assert_int_equal(mint_feats_load(mem_dir, 0, taps4, 4, &fm), MINT_OK);
    assert_int_equal(mint_feats_load(ext_dir, 0, taps4, 4, &fe), MINT_OK);
    assert_int_equal(mint_keys_from_index(mem_dir, fm.n, &km), MINT_OK);
    assert_int_equal(mint_keys_from_index(ext_dir, fe.n, &ke), MINT_OK);
    mint_tm_config cfg = { .kind = MINT_TM_VANILLA, .in_dims = { fm.dims[0], 0, 0 } };
    snprintf(cfg.taps, sizeof cfg.taps, "layer1,layer2,layer3,layer4");
    snprintf(cfg.network_sha256, sizeof cfg.network_sha256, "%s", network ? network : "");
    mint_tm *tm;
    mint_train_opts to;
    mint_train_defaults(&to, MINT_TM_VANILLA);
    to.epochs = 2;
    to.batch = 4;
    to.holdout = 0.25;
    to.member_keys = km.key;
    to.external_keys = ke.key;
    assert_int_equal(mint_tm_create(&tm, &cfg, 1), MINT_OK);
    assert_int_equal(mint_train(tm, fm.x, fm.n, fe.x, fe.n, &to), MINT_OK);
    assert_true(tm->trainset.recorded);
    assert_int_equal(tm->trainset.n[MINT_TS_REFERENCE], 2);
    assert_int_equal(mint_tm_save(tm, path), MINT_OK);
    mint_tm_free(tm);
    mint_feats_free(&fm), mint_feats_free(&fe);
    mint_image_keys_free(&km), mint_image_keys_free(&ke);
}

/* eval and audit say how many of the images they score the MINT model was
 * trained on (or held out as its reference), and when they cannot tell. */
static void test_trained_images(void **state)
{
    (void)state;
    char rec[512];
    snprintf(rec, sizeof rec, "%s", test_tmp_path("recorded.mint"));
    train_recorded(rec, NULL);
    /* eval on the training data itself */
    mint_eval_run_opts eo = { .mint = rec, .members = mem_dir, .external = ext_dir };
    mint_eval_run_result s;
    assert_int_equal(mint_eval_run(&eo, &s), MINT_OK);
    int k = note_with(s.notes, s.n_notes, "8 of the 8 members");
    assert_true(k >= 0);
    assert_non_null(strstr(s.notes[k], "(8 as members, 0 as external samples)"));
    k = note_with(s.notes, s.n_notes, "6 of the 8 external samples");
    assert_true(k >= 0);
    assert_non_null(strstr(s.notes[k], "(0 as members, 6 as external samples)"));
    assert_int_equal(note_with(s.notes, s.n_notes, "does not record its training images"), -1);
    /* features without index.csv: the check cannot be made, and is said */
    const char *bare = test_tmp_path("bare_members");
    mkdir(bare, 0755);
    for (int t = 0; t < 4; t++) {
        char src[700], dst[700];
        snprintf(src, sizeof src, "%s/%s.npy", mem_dir, taps4[t]);
        snprintf(dst, sizeof dst, "%s/%s.npy", bare, taps4[t]);
        size_t n;
        void *b = test_read_file(src, &n);
        assert_int_equal(test_write_file(dst, b, n), 0);
        free(b);
    }
    eo.members = bare;
    assert_int_equal(mint_eval_run(&eo, &s), MINT_OK);
    k = note_with(s.notes, s.n_notes, "could not check whether the members");
    assert_true(k >= 0);
    assert_non_null(strstr(s.notes[k], "no index.csv"));
    assert_true(note_with(s.notes, s.n_notes, "6 of the 8 external samples") >= 0);
    /* a model without the record says so */
    eo.mint = mint_path;
    eo.members = mem_dir;
    assert_int_equal(mint_eval_run(&eo, &s), MINT_OK);
    assert_true(note_with(s.notes, s.n_notes, "does not record its training images") >= 0);
    assert_int_equal(note_with(s.notes, s.n_notes, "trained on (") , -1);

    /* audit: 3 members, 1 unseen image, all 8 external images */
    io_list l = { 0 };
    l.n = 12;
    l.items = calloc(l.n, sizeof *l.items);
    const int src[12] = { 0, 1, 2, -1, 8, 9, 10, 11, 12, 13, 14, 15 };
    for (size_t i = 0; i < l.n; i++) {
        char p[512];
        if (src[i] < 0)
            snprintf(p, sizeof p, "%s", test_tmp_path("unseen.png"));
        else
            snprintf(p, sizeof p, TEST_FIXTURES "/align/%s", crops[src[i]]);
        if (src[i] < 0) { /* a crop with other bytes: one changed pixel */
            io_image img;
            assert_int_equal(io_image_load(TEST_FIXTURES "/align/AJ_Cook_0001.png", &img, 0),
                             MINT_OK);
            img.px[0] ^= 0x40;
            assert_int_equal(io_image_write_png(p, &img), MINT_OK);
            io_image_free(&img);
        }
        l.items[i].path = strdup(p);
        l.items[i].key = strdup(p);
        l.items[i].label = strdup("");
    }
    mint_audit_opts ao = { .model_path = net_path, .mint_path = rec, .images = &l,
                           .alpha = 0.05, .batch = 4, .report_path = test_tmp_path("tr.json"),
                           .created = "2026-01-01T00:00:00Z" };
    mint_audit_result r;
    assert_int_equal(mint_audit_list(&r, &ao), MINT_OK);
    assert_int_equal(r.n_scored, 12);
    k = note_with((const char (*)[1024])r.notes, r.n_notes, "9 of the 12 scored images");
    assert_true(k >= 0);
    assert_non_null(strstr(r.notes[k], "(3 as members, 6 as external samples)"));
    k = note_with((const char (*)[1024])r.notes, r.n_notes, "2 of the scored images are held-out "
                  "reference samples");
    assert_true(k >= 0);
    assert_non_null(strstr(r.notes[k], "compares against"));
    char *j = test_read_text(ao.report_path);
    assert_non_null(strstr(j, "9 of the 12 scored images"));
    free(j);
    mint_audit_result_free(&r);
    /* with the old model: not recorded, said */
    ao.mint_path = mint_path;
    assert_int_equal(mint_audit_list(&r, &ao), MINT_OK);
    assert_true(note_with((const char (*)[1024])r.notes, r.n_notes,
                          "does not record its training images") >= 0);
    mint_audit_result_free(&r);
    io_list_free(&l);
}

/* The CLI prints eval's notes as warnings on stderr and the JSON keeps
 * them; features without extract.txt are said to be unchecked (as train
 * says it). The one CLI test outside test_cli.c: it runs on this group's
 * extracted folders and trained model (setup), which it would otherwise
 * have to rebuild. */
static void test_cli_eval_warnings(void **state)
{
    (void)state;
    TEST_NEED_MINT();
    char rec[512], args[4096], *o, *e;
    snprintf(rec, sizeof rec, "%s", test_tmp_path("recorded_cli.mint"));
    train_recorded(rec, NULL);
    const char *json = test_tmp_path("cli_eval.json");
    snprintf(args, sizeof args, "eval --mint '%s' --members '%s' --external '%s' --json '%s'", rec,
             mem_dir, ext_dir, json);
    assert_int_equal(run_mint(args, NULL, &o, &e), 0);
    assert_non_null(strstr(e, "mint eval: warning: 8 of the 8 members"));
    assert_non_null(strstr(e, "mint eval: warning: 6 of the 8 external samples"));
    /* the setup's folders have an extract.txt without a network SHA-256 */
    assert_non_null(strstr(e, "no extract.txt says which network the features came from"));
    char *j = test_read_text(json);
    assert_non_null(strstr(j, "\"notes\""));
    assert_non_null(strstr(j, "8 of the 8 members"));
    free(j);
    free(o), free(e);
    /* a model bound to a network: each side without a network line is said */
    char sha[65];
    assert_int_equal(base_sha256_file(net_path, sha), MINT_OK);
    train_recorded(rec, sha);
    assert_int_equal(run_mint(args, NULL, &o, &e), 0);
    char want[1200];
    snprintf(want, sizeof want, "mint eval: warning: %s has no extract.txt saying which network "
             "it came from: nothing checked that it is the network the MINT model %s was "
             "trained for (SHA-256 %.16s...)", mem_dir, rec, sha);
    assert_non_null(strstr(e, want));
    snprintf(want, sizeof want, "mint eval: warning: %s has no extract.txt saying which network",
             ext_dir);
    assert_non_null(strstr(e, want));
    assert_null(strstr(e, "no extract.txt says which network"));
    free(o), free(e);
}

/* eval --store writes the held-out quality into the MINT model; audits then
 * show it beside the verdict. Refused when the evaluation data were trained
 * on (the model records its training images). */
static void test_eval_store(void **state)
{
    (void)state;
    char copy[512];
    snprintf(copy, sizeof copy, "%s", test_tmp_path("stored.mint"));
    size_t n;
    void *b = test_read_file(mint_path, &n);
    assert_int_equal(test_write_file(copy, b, n), 0);
    free(b);
    mint_eval_run_opts o = { .mint = copy, .members = mem_dir, .external = ext_dir,
                         .created = "2026-02-03T04:05:06Z", .store = 1 };
    mint_eval_run_result s;
    assert_int_equal(mint_eval_run(&o, &s), MINT_OK);
    assert_true(s.n_trained <= 0); /* the fixture model records no training images */
    mint_tm *tm;
    assert_int_equal(mint_tm_load(&tm, copy), MINT_OK);
    assert_true(tm->has_quality);
    assert_true(tm->q_auc == s.m.auc);
    assert_true(tm->q_tpr_1pct == s.m.tpr_at_fpr[0]);
    assert_int_equal(tm->q_n_members, NMEM);
    assert_int_equal(tm->q_n_external, NEXT);
    assert_string_equal(tm->q_date, "2026-02-03T04:05:06Z");
    assert_non_null(strstr(tm->q_data, mem_dir));
    mint_tm_free(tm);
    char sha[65];
    assert_int_equal(base_sha256_file(copy, sha), MINT_OK);
    assert_string_equal(sha, s.mint_sha256); /* the summary names the rewritten file */

    /* the audit report carries it next to the verdict */
    io_list l = { 0 };
    l.n = 1;
    l.items = calloc(1, sizeof *l.items);
    char p[512];
    snprintf(p, sizeof p, TEST_FIXTURES "/align/%s", crops[0]);
    l.items[0].path = strdup(p);
    l.items[0].key = strdup(p);
    l.items[0].label = strdup("");
    mint_audit_opts ao = { .model_path = net_path, .mint_path = copy, .images = &l,
                           .alpha = 0.05, .report_path = test_tmp_path("stored.json") };
    mint_audit_result r;
    assert_int_equal(mint_audit_list(&r, &ao), MINT_OK);
    assert_true(r.settest.has_quality && r.settest.q_auc == s.m.auc);
    for (size_t i = 0; i < r.n_notes; i++)
        assert_null(strstr(r.notes[i], "never measured"));
    mint_audit_result_free(&r);
    char *j = test_read_text(ao.report_path);
    assert_non_null(strstr(j, "\"mint_model_quality\""));
    assert_non_null(strstr(j, "\"audited\": \"1 identity (the set, 1 image)\""));
    free(j);
    io_list_free(&l);

    /* a model that records its training images refuses to store figures
     * measured on them */
    char rec[512];
    snprintf(rec, sizeof rec, "%s", test_tmp_path("recorded_store.mint"));
    train_recorded(rec, NULL);
    o.mint = rec;
    assert_int_equal(mint_eval_run(&o, &s), MINT_E_ARG);
    assert_non_null(strstr(mint_last_error(), "not storing"));
    assert_int_equal(mint_tm_load(&tm, rec), MINT_OK);
    assert_false(tm->has_quality);
    mint_tm_free(tm);
}

/* mint audit DIR_A DIR_B: each folder is one person, named after it. */
static void test_cli_two_folders(void **state)
{
    (void)state;
    if (!mint_bin()) {
        printf("  SKIP: the mint binary is not built next to the tests\n");
        skip();
    }
    char a[600], b[600], f[700], args[4096], *o, *e;
    snprintf(a, sizeof a, "%s", test_tmp_path("Person_A"));
    snprintf(b, sizeof b, "%s", test_tmp_path("Person_B"));
    assert_int_equal(mkdir(a, 0755), 0);
    assert_int_equal(mkdir(b, 0755), 0);
    for (int k = 0; k < 4; k++) {
        char src[600];
        snprintf(src, sizeof src, TEST_FIXTURES "/align/%s", crops[k]);
        size_t n;
        void *buf = test_read_file(src, &n);
        snprintf(f, sizeof f, "%s/%d.png", k < 2 ? a : b, k);
        assert_int_equal(test_write_file(f, buf, n), 0);
        free(buf);
    }
    const char *json = test_tmp_path("two_folders.json");
    snprintf(args, sizeof args, "audit --model '%s' --mint '%s' --report '%s' '%s' '%s/'", net_path,
             mint_path, json, a, b);
    assert_int_equal(run_mint(args, NULL, &o, &e), 0);
    assert_non_null(strstr(o, "Audited: 2 identities (Person_A, Person_B), 4 images"));
    char *j = test_read_text(json);
    assert_non_null(strstr(j, "\"identity\": \"Person_A\""));
    assert_non_null(strstr(j, "\"identity\": \"Person_B\""));
    free(j), free(o), free(e);
    /* one folder: one person, named after it */
    snprintf(args, sizeof args, "audit --model '%s' --mint '%s' --report '%s' '%s/'", net_path,
             mint_path, json, a);
    assert_int_equal(run_mint(args, NULL, &o, &e), 0);
    assert_non_null(strstr(o, "Audited: 1 identity (Person_A, 2 images)"));
    free(o), free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eval),
        cmocka_unit_test(test_audit),
        cmocka_unit_test(test_audit_refusals),
        cmocka_unit_test(test_network_and_duplicates),
        cmocka_unit_test(test_feats_from_images),
        cmocka_unit_test(test_trained_images),
        cmocka_unit_test(test_cli_eval_warnings),
        cmocka_unit_test(test_eval_store),
        cmocka_unit_test(test_cli_two_folders),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
