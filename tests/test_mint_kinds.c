/* test_mint_kinds.c - the MINT-Demo model kinds vanilla64 and cnn2
 * (mint/model.c): their layout, the cnn2 backward against central finite
 * differences of the whole model's loss, learning on synthetic separable
 * features, the save/load round trip (identical scores), and the CLI
 * (`mint train --kind vanilla64|cnn2`, then eval and info). */
#include "testutil.h"
#include <math.h>
#include "base/rng.h"
#include "io/npy.h"
#include "mint/model.h"
#include "mint/train.h"
#include "net/graph.h"
#include "net/graph_io.h"
#include "net/iresnet.h"
#include <sys/stat.h>

static float *synth(int64_t n, int d, float shift, uint64_t seed)
{
    float *x = malloc(sizeof(float) * (size_t)n * d);
    assert_non_null(x);
    base_rng r = base_rng_stream(seed, 5);
    for (size_t i = 0; i < (size_t)n * d; i++) {
        const double u1 = base_rng_open01(&r), u2 = base_rng_open01(&r);
        x[i] = (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2)) + shift;
    }
    return x;
}

static mint_tm *create(mint_tm_kind kind, int c, int h, int w, uint64_t seed)
{
    mint_tm_config cfg = { kind, { c, h, w }, "test", "" };
    mint_tm *tm;
    assert_int_equal(mint_tm_create(&tm, &cfg, seed), MINT_OK);
    return tm;
}

static void test_layout(void **state)
{
    (void)state;
    mint_tm_kind k;
    assert_int_equal(mint_tm_kind_parse("vanilla64", &k), MINT_OK);
    assert_int_equal(k, MINT_TM_VANILLA64);
    assert_int_equal(mint_tm_kind_parse("cnn2", &k), MINT_OK);
    assert_int_equal(k, MINT_TM_CNN2);
    assert_string_equal(mint_tm_kind_name(MINT_TM_CNN2), "cnn2");
    assert_int_equal(mint_tm_kind_parse("cnn3", &k), MINT_E_ARG);
    assert_true(mint_tm_kind_is_conv(MINT_TM_CNN2) && mint_tm_kind_is_conv(MINT_TM_CNN));
    assert_false(mint_tm_kind_is_conv(MINT_TM_VANILLA64));

    mint_tm *tm = create(MINT_TM_VANILLA64, 40, 0, 0, 1);
    assert_int_equal(tm->hidden, 64);
    assert_true(tm->dropout == 0.3f && tm->l1 == 0.1f);
    size_t n;
    assert_non_null(mint_tm_tensor(tm, "bn.running_var", &n));
    assert_int_equal(n, 64);
    assert_non_null(mint_tm_tensor(tm, "dense1.weight", &n));
    assert_int_equal(n, 64 * 40);
    mint_tm_free(tm);

    tm = create(MINT_TM_CNN2, 3, 9, 10, 1); /* odd sizes: pools floor */
    assert_int_equal(tm->hidden, 64);
    assert_int_equal(tm->flat, 64 * 2 * 2);
    assert_true(tm->dropout == 0.5f && tm->l1 == 0.0f);
    assert_non_null(mint_tm_tensor(tm, "conv.weight", &n));
    assert_int_equal(n, 32 * 3 * 9);
    assert_non_null(mint_tm_tensor(tm, "conv2.weight", &n));
    assert_int_equal(n, 64 * 32 * 9);
    assert_non_null(mint_tm_tensor(tm, "conv2.bias", &n));
    assert_int_equal(n, 64);
    assert_null(mint_tm_tensor(tm, "bn.running_mean", &n));
    mint_tm_free(tm);
    /* maps below 4 x 4 are refused */
    mint_tm_config cfg = { MINT_TM_CNN2, { 3, 3, 8 }, "test", "" };
    assert_int_equal(mint_tm_create(&tm, &cfg, 1), MINT_E_SHAPE);
}

/* Mean BCE of the model's train-mode logits (dropout mask all "keep"). */
static double model_loss(mint_tm *tm, mint_tm_acts *a, int B)
{
    mint_tm_forward(tm, a, B, 1);
    double l = 0;
    for (int i = 0; i < B; i++) {
        const double z = a->logit[i], y = a->y[i];
        l += (z > 0 ? z : 0) - z * y + log1p(exp(-fabs(z)));
    }
    return l / B;
}

/* Central differences in float of the loss against mint_tm_backward, for
 * every parameter tensor of cnn2 (a sample of elements each). */
static void test_cnn2_gradcheck(void **state)
{
    (void)state;
    const int C = 2, H = 8, W = 6, B = 4;
    mint_tm *tm = create(MINT_TM_CNN2, C, H, W, 7);
    mint_tm_acts *a;
    assert_int_equal(mint_tm_acts_new(&a, tm, B), MINT_OK);
    float *x = synth(B, C * H * W, 0.0f, 3);
    memcpy(a->x, x, sizeof(float) * (size_t)B * C * H * W);
    for (int i = 0; i < B; i++)
        a->y[i] = (float)(i & 1);
    memset(a->mask, 1, (size_t)B * tm->hidden);
    /* biases away from 0 so that few ReLUs sit at their kink */
    base_rng r = base_rng_stream(9, 1);
    for (int p = 0; p < tm->nparams; p++)
        if (strstr(tm->params[p].name, "bias"))
            for (size_t i = 0; i < tm->params[p].count; i++)
                tm->arena[tm->params[p].offset + i] = 0.05f + 0.1f * base_rng_unit(&r);
    memset(tm->arena + tm->seg, 0, tm->seg * sizeof(float));
    model_loss(tm, a, B);
    mint_tm_backward(tm, a, B);
    int bad = 0, checked = 0;
    for (int p = 0; p < tm->nparams; p++) {
        const mint_tm_param *pp = &tm->params[p];
        float *w = tm->arena + pp->offset, *g = tm->arena + tm->seg + pp->offset;
        double gmax = 0;
        for (size_t i = 0; i < pp->count; i++)
            gmax = fmax(gmax, fabs(g[i]));
        assert_true(gmax > 0); /* every tensor gets a gradient */
        for (int k = 0; k < 12; k++) {
            const size_t i = (size_t)base_rng_below(&r, pp->count);
            const float w0 = w[i], h = 1e-3f;
            w[i] = w0 + h;
            const double lp = model_loss(tm, a, B);
            w[i] = w0 - h;
            const double lm = model_loss(tm, a, B);
            w[i] = w0;
            const double fd = (lp - lm) / (2.0 * h);
            checked++;
            if (fabs(fd - g[i]) > 2e-3 + 0.05 * fabs(fd)) {
                bad++;
                printf("  %s[%zu]: analytic %.6g, finite difference %.6g\n", pp->name, i,
                       (double)g[i], fd);
            }
        }
    }
    /* a kink crossed by the step can spoil one difference; a wrong
     * gradient spoils most of a tensor's */
    printf("  cnn2 gradient: %d of %d elements off\n", bad, checked);
    assert_true(bad <= 2);
    mint_tm_acts_free(a);
    mint_tm_free(tm);
    free(x);
}

static double accuracy(const mint_tm *tm, const float *m, int64_t nm, const float *e, int64_t ne,
                       float *s)
{
    assert_int_equal(mint_tm_predict(tm, m, nm, s), MINT_OK);
    assert_int_equal(mint_tm_predict(tm, e, ne, s + nm), MINT_OK);
    int64_t ok = 0;
    for (int64_t i = 0; i < nm + ne; i++)
        ok += (s[i] >= 0.5f) == (i < nm);
    return (double)ok / (double)(nm + ne);
}

/* Train a few epochs on members shifted by `shift`, check held-out accuracy
 * well above chance, then save, load and score again: identical. */
static void learn_and_roundtrip(mint_tm_kind kind, int c, int h, int w, float shift, int epochs,
                                int n)
{
    const int d = c * (h ? h : 1) * (w ? w : 1);
    float *m = synth(n, d, shift, 11), *e = synth(n, d, 0.0f, 12);
    float *tmem = synth(200, d, shift, 13), *text = synth(200, d, 0.0f, 14);
    mint_tm *tm = create(kind, c, h, w, 3);
    mint_train_opts o;
    mint_train_defaults(&o, kind);
    o.epochs = epochs;
    o.batch = 32;
    o.seed = 3;
    float *s0 = malloc(sizeof(float) * 400), *s1 = malloc(sizeof(float) * 400);
    const double before = accuracy(tm, tmem, 200, text, 200, s0);
    assert_int_equal(mint_train(tm, m, n, e, n, &o), MINT_OK);
    const double acc = accuracy(tm, tmem, 200, text, 200, s0);
    printf("  %s: held-out accuracy %.3f before training, %.3f after %d epochs\n",
           mint_tm_kind_name(kind), before, acc, epochs);
    assert_true(acc > 0.85);
    const char *path = test_tmp_path("kind.mint");
    assert_int_equal(mint_tm_save(tm, path), MINT_OK);
    mint_tm *back;
    assert_int_equal(mint_tm_load(&back, path), MINT_OK);
    assert_int_equal(back->cfg.kind, kind);
    assert_int_equal(back->hidden, tm->hidden);
    assert_true(back->dropout == tm->dropout);
    accuracy(back, tmem, 200, text, 200, s1);
    assert_memory_equal(s0, s1, sizeof(float) * 400);
    mint_tm_free(back);
    mint_tm_free(tm);
    free(m), free(e), free(tmem), free(text), free(s0), free(s1);
}

static void test_learn_vanilla64(void **state)
{
    (void)state;
    learn_and_roundtrip(MINT_TM_VANILLA64, 32, 0, 0, 0.7f, 8, 1024);
}

static void test_learn_cnn2(void **state)
{
    (void)state;
    learn_and_roundtrip(MINT_TM_CNN2, 3, 8, 8, 0.4f, 6, 256);
}

/* A cnn2 run stopped after epoch 2 and resumed from its checkpoint ends
 * bit-identical to the straight run (the Adam moments of conv2 included). */
static int stop_after;
static mint_status ckpt_hook(void *ctx, const mint_tm *tm, const mint_train_state *s)
{
    mint_status st = mint_train_state_save(tm, s, ctx);
    if (!st && s->epochs_done == stop_after)
        return mint_fail(MINT_E_IO, "simulated crash after epoch %d", s->epochs_done);
    return st;
}

static void test_resume_cnn2(void **state)
{
    (void)state;
    float *m = synth(48, 3 * 8 * 8, 0.3f, 31), *e = synth(40, 3 * 8 * 8, 0.0f, 32);
    const char *path = test_tmp_path("cnn2.mint.partial");
    mint_train_opts o;
    mint_train_defaults(&o, MINT_TM_CNN2);
    o.epochs = 4;
    o.batch = 16;
    o.seed = 9;
    o.holdout = 0.2;
    mint_tm *ref = create(MINT_TM_CNN2, 3, 8, 8, 9), *a = create(MINT_TM_CNN2, 3, 8, 8, 9);
    assert_int_equal(mint_train(ref, m, 48, e, 40, &o), MINT_OK);
    mint_train_opts oc = o;
    oc.checkpoint = ckpt_hook;
    oc.ctx = (void *)path;
    stop_after = 2;
    assert_int_equal(mint_train(a, m, 48, e, 40, &oc), MINT_E_IO);
    mint_tm_free(a);
    a = create(MINT_TM_CNN2, 3, 8, 8, 1000); /* everything must come from the file */
    mint_train_state *st;
    assert_int_equal(mint_train_state_load(path, a, &st), MINT_OK);
    oc.resume = st;
    stop_after = 0;
    assert_int_equal(mint_train(a, m, 48, e, 40, &oc), MINT_OK);
    mint_train_state_free(st);
    assert_int_equal(a->seg, ref->seg);
    assert_memory_equal(a->arena, ref->arena, a->seg * sizeof(float));
    assert_memory_equal(a->arena + 2 * a->seg, ref->arena + 2 * ref->seg,
                        2 * a->seg * sizeof(float));
    assert_int_equal(a->n_cal_external, ref->n_cal_external);
    assert_memory_equal(a->cal_external, ref->cal_external,
                        sizeof(float) * (size_t)a->n_cal_external);
    mint_tm_free(a), mint_tm_free(ref);
    free(m), free(e);
}

/* ---------------- CLI ---------------- */

static void write_npy(const char *path, const float *x, int64_t n, int rank, const int64_t *rest)
{
    int64_t dims[4] = { n, 0, 0, 0 };
    for (int i = 0; i < rank; i++)
        dims[1 + i] = rest[i];
    assert_int_equal(io_npy_write(path, BASE_F32, 1 + rank, dims, x), MINT_OK);
}

static void test_cli(void **state)
{
    (void)state;
    TEST_NEED_MINT();
    char *o, *e, args[4096], mem[512], ext[512], out[512];
    snprintf(mem, sizeof mem, "%s", test_tmp_path("k_mem.npy"));
    snprintf(ext, sizeof ext, "%s", test_tmp_path("k_ext.npy"));
    snprintf(out, sizeof out, "%s", test_tmp_path("k_out.mint"));
    const int64_t map[3] = { 3, 8, 8 };
    float *m = synth(128, 192, 0.5f, 21), *x = synth(128, 192, 0.0f, 22);
    write_npy(mem, m, 128, 3, map);
    write_npy(ext, x, 128, 3, map);
    snprintf(args, sizeof args, "train --kind cnn2 --members '%s' --external '%s' --out '%s' "
             "--epochs 3 --batch 32 --quiet --taps layer1", mem, ext, out);
    int rc = run_mint(args, "OMP_NUM_THREADS=1", &o, &e);
    if (rc)
        fail_msg("mint %s: %s", args, e);
    free(o), free(e);
    snprintf(args, sizeof args, "info '%s'", out);
    assert_int_equal(run_mint(args, NULL, &o, &e), 0);
    assert_non_null(strstr(o, "MINT model: cnn2 (Conv 32 3x3 -> MaxPool 2x2 -> Conv 64 3x3"));
    assert_non_null(strstr(o, "input:   [3,8,8]"));
    free(o), free(e);
    snprintf(args, sizeof args, "eval --mint '%s' --members '%s' --external '%s' --json '%s'", out,
             mem, ext, test_tmp_path("k_eval.json"));
    rc = run_mint(args, "OMP_NUM_THREADS=1", &o, &e);
    if (rc)
        fail_msg("mint %s: %s", args, e);
    assert_non_null(strstr(o, "AUC"));
    free(o), free(e);
    /* vanilla64 on vectors; help names both kinds */
    const int64_t vec[1] = { 192 };
    write_npy(mem, m, 128, 1, vec);
    write_npy(ext, x, 128, 1, vec);
    remove(out);
    snprintf(args, sizeof args, "train --kind vanilla64 --members '%s' --external '%s' --out '%s' "
             "--epochs 2 --batch 32 --quiet --taps embedding", mem, ext, out);
    rc = run_mint(args, "OMP_NUM_THREADS=1", &o, &e);
    if (rc)
        fail_msg("mint %s: %s", args, e);
    free(o), free(e);
    snprintf(args, sizeof args, "info '%s'", out);
    assert_int_equal(run_mint(args, NULL, &o, &e), 0);
    assert_non_null(strstr(o, "MINT model: vanilla64 (Dense 64 -> ReLU -> BatchNorm -> Dense 1)"));
    free(o), free(e);
    assert_int_equal(run_mint("train --help", NULL, &o, &e), 0);
    assert_non_null(strstr(o, "--kind vanilla|cnn|outcome|vanilla64|cnn2"));
    assert_non_null(strstr(o, "cnn2: Conv 32 3x3"));
    free(o), free(e);
    assert_int_equal(run_mint("train --kind cnn3 --members a --external b --out c", NULL, &o, &e), 2);
    assert_non_null(strstr(e, "vanilla64 or cnn2"));
    free(o), free(e);
    free(m), free(x);
}

/* cnn2 through the whole path: trained from images through a network
 * (mint train --model), then mint audit of a folder with it. */
static void test_cli_audit_cnn2(void **state)
{
    (void)state;
    TEST_NEED_MINT();
    static const char *const crops[] = {
        "AJ_Cook_0001.png",         "Angelina_Jolie_0005.png",    "Bill_Simon_0011.png",
        "Choi_Sung-hong_0002.png",  "David_Anderson_0004.png",    "Efrain_Rios_Montt_0001.png",
        "George_W_Bush_0022.png",   "Giancarlo_Fisichella_0001.png", "Hu_Jintao_0006.png",
        "Jean-Francois_Pontal_0002.png", "John_Bolton_0004.png", "Junichiro_Koizumi_0058.png",
    };
    char net[512], mem[512], ext[512], out[512], rep[512], f[700], args[4096], *o, *e;
    snprintf(net, sizeof net, "%s", test_tmp_path("k_net.mint"));
    snprintf(mem, sizeof mem, "%s", test_tmp_path("k_members"));
    snprintf(ext, sizeof ext, "%s", test_tmp_path("k_external"));
    snprintf(out, sizeof out, "%s", test_tmp_path("k_cnn2.mint"));
    snprintf(rep, sizeof rep, "%s", test_tmp_path("k_audit.json"));
    assert_int_equal(mkdir(mem, 0755), 0);
    assert_int_equal(mkdir(ext, 0755), 0);
    for (int k = 0; k < 12; k++) {
        char src[600];
        snprintf(src, sizeof src, TEST_FIXTURES "/align/%s", crops[k]);
        size_t n;
        void *buf = test_must_read(src, &n);
        snprintf(f, sizeof f, "%s/%s", k < 6 ? mem : ext, crops[k]);
        assert_int_equal(test_write_file(f, buf, n), 0);
        free(buf);
    }
    net_iresnet_cfg cfg = { { 1, 1, 1, 1 }, { 8, 16, 16, 24 }, 16, 112, 112, 3 };
    net_graph *g;
    assert_int_equal(net_iresnet_build(&g, &cfg, 3), MINT_OK);
    assert_int_equal(net_graph_save(g, net), MINT_OK);
    net_graph_free(g);
    snprintf(args, sizeof args, "train --kind cnn2 --model '%s' --members-list '%s' "
             "--external-list '%s' --out '%s' --epochs 2 --batch 4 --holdout 0.34 "
             "--holdout-by sample --quiet", net, mem, ext, out);
    int rc = run_mint(args, "OMP_NUM_THREADS=1", &o, &e);
    if (rc)
        fail_msg("mint %s: %s", args, e);
    free(o), free(e);
    snprintf(args, sizeof args, "audit --model '%s' --mint '%s' --report '%s' '%s/'", net, out, rep,
             mem);
    rc = run_mint(args, "OMP_NUM_THREADS=1", &o, &e);
    if (rc)
        fail_msg("mint %s: %s", args, e);
    assert_non_null(strstr(o, "cnn2"));
    free(o), free(e);
    char *j = test_read_text(rep);
    assert_non_null(j);
    assert_non_null(strstr(j, "\"cnn2\""));
    free(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_cnn2_gradcheck),
        cmocka_unit_test(test_learn_vanilla64),
        cmocka_unit_test(test_learn_cnn2),
        cmocka_unit_test(test_resume_cnn2),
        cmocka_unit_test(test_cli),
        cmocka_unit_test(test_cli_audit_cnn2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
