/* test_train_model.c - `mint train-model` (mint/train_model.c, tm_core.c,
 * tm_head.c, tm_data.c): 20 training steps of a tiny IResNet with a CosFace
 * head and SGD, and one Active MINT step, against PyTorch
 * (tools/gen_tmodel_golden.py); the split; the command end to end on a
 * small digit set (outputs, resume, the network loading in extract and the
 * head in eval), and bad input. */
#include "testutil.h"
#include <math.h>
#include "base/half.h"
#include "io/npy.h"
#include "mint/tm_core.h"
#include "mint/tm_data.h"
#include "net/graph_io.h"
#include "net/iresnet.h"

#define GOLD TEST_FIXTURES "/tmodel/"

static const net_iresnet_cfg gold_cfg = { { 2, 1, 1, 1 }, { 8, 16, 16, 24 }, 16, 32, 32, 3 };

static io_npy gold(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, GOLD "%s", name);
    io_npy a;
    mint_status st = io_npy_read(path, &a);
    if (st)
        fprintf(stderr, "%s: %s\n", path, mint_last_error());
    assert_int_equal(st, MINT_OK);
    return a;
}

/* max |a - b| / max(max |b|, floor) */
static double rel_err(const float *a, const float *b, size_t n, double floor)
{
    double d = 0.0, s = floor;
    for (size_t i = 0; i < n; i++) {
        if (a[i] != a[i])
            return INFINITY;
        d = fmax(d, fabs((double)a[i] - b[i]));
        s = fmax(s, fabs((double)b[i]));
    }
    return d / s;
}

typedef struct {
    char name[96];
    long off, n;
    char kind[16];
} entry;

static int read_index(entry *e, int max)
{
    FILE *f = fopen(GOLD "index.txt", "r");
    assert_non_null(f);
    int k = 0;
    while (k < max && fscanf(f, "%95s %ld %ld %15s", e[k].name, &e[k].off, &e[k].n, e[k].kind) == 4)
        k++;
    fclose(f);
    return k;
}

static net_graph *graph_from(const entry *e, int ne, const float *state)
{
    net_graph *g;
    assert_int_equal(net_iresnet_build(&g, &gold_cfg, 1), MINT_OK);
    for (int k = 0; k < ne; k++) {
        int w = net_graph_find_weight(g, e[k].name);
        assert_true(w >= 0);
        assert_int_equal(net_weight_numel(&g->weights[w]), e[k].n);
        memcpy(g->weights[w].data, state + e[k].off, sizeof(float) * (size_t)e[k].n);
    }
    return g;
}

/* Every weight of g against the state (parameters and running stats). */
static double state_err(const net_graph *g, const entry *e, int ne, const float *want)
{
    double worst = 0.0;
    for (int k = 0; k < ne; k++) {
        int w = net_graph_find_weight(g, e[k].name);
        double r = rel_err(g->weights[w].data, want + e[k].off, (size_t)e[k].n, 1e-3);
        if (r > 1e-4)
            fprintf(stderr, "  %s: rel err %.3g\n", e[k].name, r);
        worst = fmax(worst, r);
    }
    return worst;
}

/* batch rows of a float16 NCHW array into NHWC floats */
static void f16_nchw_to_nhwc(const uint16_t *x, float *y, int n, int c, int hw)
{
    for (int b = 0; b < n; b++)
        for (int p = 0; p < hw; p++)
            for (int k = 0; k < c; k++)
                y[((size_t)b * hw + p) * c + k] = base_f16_to_f32(x[((size_t)b * c + k) * hw + p]);
}

static tm_core_cfg gold_core(int Be, int amint, const net_margin *mg)
{
    tm_core_cfg k;
    memset(&k, 0, sizeof k);
    k.B = 6;
    k.Be = Be;
    k.classes = 5;
    k.emb = 16;
    k.mg = *mg;
    k.oc.kind = NET_OPT_SGD;
    k.oc.momentum = 0.9;
    k.oc.weight_decay = 5e-4;
    k.lr.kind = NET_LR_COSINE;
    k.lr.base = 0.05;
    k.total = 20;
    k.seed = 1;
    k.amint = amint;
    k.amint_taps = "layer1";
    k.amint_kind = "cnn";
    return k;
}

static const net_margin linear = { 0, 0, 0, 0 }, cosface = NET_MARGIN_COSFACE;

static void test_golden_20_steps(void **state)
{
    (void)state;
    entry e[160];
    int ne = read_index(e, 160);
    io_npy s0 = gold("state0.npy"), s20 = gold("state20.npy"), w0 = gold("W0.npy");
    io_npy w20 = gold("W20.npy"), x = gold("x.npy"), y = gold("y.npy"), loss = gold("loss.npy");
    assert_int_equal(x.dtype, BASE_F16);
    net_graph *g = graph_from(e, ne, s0.data);
    tm_core c;
    tm_core_cfg k = gold_core(0, 0, &linear);
    assert_int_equal(tm_core_create(&c, g, &k), MINT_OK);
    memcpy(c.Wh, w0.data, w0.nbytes);
    const int hw = 32 * 32, per = 6 * 3 * hw;
    double worst_loss = 0.0;
    for (int t = 0; t < 20; t++) {
        f16_nchw_to_nhwc((const uint16_t *)x.data + (size_t)(t % 4) * per, c.in, 6, 3, hw);
        for (int b = 0; b < 6; b++)
            c.labels[b] = (int)((const float *)y.data)[t * 6 + b];
        tm_step_stats s;
        assert_int_equal(tm_core_step(&c, t, &s), MINT_OK);
        double want = ((const float *)loss.data)[t];
        worst_loss = fmax(worst_loss, fabs(s.task_loss - want) / fabs(want));
        if (getenv("MINT_TEST_VERBOSE"))
            printf("step %d loss %.7f want %.7f\n", t, s.task_loss, want);
    }
    double es = state_err(g, e, ne, s20.data);
    double ew = rel_err(c.Wh, w20.data, (size_t)5 * 16, 1e-3);
    printf("20 softmax/SGD steps against PyTorch: loss rel err %.2g, parameters and running "
           "stats %.2g, class centres %.2g (max |diff| / max |ref| per tensor)\n",
           worst_loss, es, ew);
    assert_true(worst_loss < 1e-4);
    assert_true(es < 1e-4);
    assert_true(ew < 1e-4);
    tm_core_free(&c);
    net_graph_free(g);
    io_npy *all[] = { &s0, &s20, &w0, &w20, &x, &y, &loss };
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        io_npy_free(all[i]);
}

/* the head's parameters in head0/head1 order */
static const char *const head_names[] = { "conv.weight", "conv.bias", "dense1.weight",
                                          "dense1.bias", "dense2.weight", "dense2.bias" };

static void test_golden_amint_step(void **state)
{
    (void)state;
    entry e[160];
    int ne = read_index(e, 160);
    io_npy s0 = gold("state0.npy"), s1 = gold("amint_state1.npy"), w0 = gold("amint_W0.npy");
    io_npy w1 = gold("amint_W1.npy"), x = gold("amint_x.npy"), y = gold("amint_y.npy");
    io_npy h0 = gold("head0.npy"), h1 = gold("amint_head1.npy"), loss = gold("amint_loss.npy");
    io_npy hg = gold("amint_headgrad.npy");
    net_graph *g = graph_from(e, ne, s0.data);
    tm_core c;
    tm_core_cfg k = gold_core(4, 1, &cosface);
    assert_int_equal(tm_core_create(&c, g, &k), MINT_OK);
    memcpy(c.Wh, w0.data, w0.nbytes);
    c.head.tm->dropout = 0.0f; /* PyTorch's side has none: masks are mint's own */
    size_t off = 0;
    for (int i = 0; i < 6; i++) {
        size_t n;
        float *p = mint_tm_tensor(c.head.tm, head_names[i], &n);
        assert_non_null(p);
        memcpy(p, (const float *)h0.data + off, n * sizeof(float));
        off += n;
    }
    assert_int_equal(off * sizeof(float), h0.nbytes);
    f16_nchw_to_nhwc(x.data, c.in, 10, 3, 32 * 32);
    for (int b = 0; b < 10; b++) {
        if (b < 6)
            c.labels[b] = (int)((const float *)y.data)[b];
        c.head_y[b] = b < 3 ? 1 : b < 6 ? -1 : 0;
    }
    tm_step_stats s;
    assert_int_equal(tm_core_step(&c, 0, &s), MINT_OK);
    const float *lw = loss.data;
    double el = fmax(fabs(s.task_loss - lw[0]) / lw[0], fabs(s.mint_loss - lw[1]) / lw[1]);
    double es = state_err(g, e, ne, s1.data);
    double ew = rel_err(c.Wh, w1.data, (size_t)5 * 16, 1e-3), eh = 0.0, eg = 0.0;
    off = 0;
    for (int i = 0; i < 6; i++) {
        size_t n;
        const float *p = mint_tm_tensor(c.head.tm, head_names[i], &n);
        double r = rel_err(p, (const float *)h1.data + off, n, 1e-3);
        /* the gradient, left in the arena's next segment by the step */
        eg = fmax(eg, rel_err(p + c.head.tm->seg, (const float *)hg.data + off, n, 1e-6));
        if (getenv("MINT_TEST_VERBOSE")) {
            const float *q = (const float *)h1.data + off, *q0 = (const float *)h0.data + off;
            size_t wi = 0;
            for (size_t j = 0; j < n; j++)
                if (fabs(p[j] - q[j]) > fabs(p[wi] - q[wi]))
                    wi = j;
            printf("  head %s: rel err %.3g; worst [%zu] mint %.9g torch %.9g start %.9g\n",
                   head_names[i], r, wi, p[wi], q[wi], q0[wi]);
        }
        eh = fmax(eh, r);
        off += n;
    }
    printf("one Active MINT step against PyTorch: losses rel err %.2g, network %.2g, class "
           "centres %.2g, MINT head gradient %.2g, MINT head after Adam %.2g; mint rows %d\n",
           el, es, ew, eg, eh, s.mint_n);
    assert_int_equal(s.mint_n, 7);
    assert_true(el < 1e-4);
    assert_true(es < 1e-4);
    assert_true(ew < 1e-4);
    assert_true(eg < 1e-4);
    /* Adam's first step moves each weight by lr * g / (|g| + 1e-8): for the
     * few weights whose gradient is ~1e-8 (1e-6 of the largest), rounding
     * in g shows at a few per cent of lr = 1e-3, i.e. ~3e-4 of the tensor's
     * scale; the gradient itself agrees within 1e-4 (above) */
    assert_true(eh < 1e-3);
    tm_core_free(&c);
    net_graph_free(g);
    io_npy *all[] = { &s0, &s1, &w0, &w1, &x, &y, &h0, &h1, &loss, &hg };
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        io_npy_free(all[i]);
}

static long count_lines(const char *path)
{
    char *t = test_read_text(path);
    long n = 0;
    for (const char *p = t; *p; p++)
        n += *p == '\n';
    free(t);
    return n;
}

/* The command on 300 MNIST digits (3% of the test set): outputs, split
 * lists, the Active MINT head, a refused leftover checkpoint, bad input. */
static void test_cli_end_to_end(void **state)
{
    (void)state;
    TEST_NEED_MINT();
    char data[512], args[4096], net[512], dir[512];
    snprintf(data, sizeof data, "%s/mnist/t10k-images-idx3-ubyte.gz", test_shared_data());
    if (!test_file_exists(data)) {
        printf("  SKIP: %s absent\n", data);
        skip();
    }
    snprintf(net, sizeof net, "%s", test_tmp_path("digits.mint"));
    snprintf(dir, sizeof dir, "%s", test_tmp_path("digits-split"));
    char *out, *err, key[512];
    snprintf(key, sizeof key, "%s", test_tmp_path("trainer"));
    snprintf(args, sizeof args, "keygen --out '%s'", key);
    assert_int_equal(run_mint(args, NULL, &out, &err), 0);
    free(out), free(err);
    snprintf(args, sizeof args, "train-model --data '%s' --members 0.03 --widths 8,8,16,16 "
             "--emb 16 --epochs 2 --batch 32 --amint --amint-kind vanilla --out '%s' --quiet "
             "--log-key '%s.key' --log-every 4", data, net, key);
    int rc = run_mint(args, "OMP_NUM_THREADS=2 OMP_WAIT_POLICY=passive", &out, &err);
    if (rc)
        fprintf(stderr, "%s%s", out, err);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "300 members in 10 classes"));
    assert_non_null(strstr(out, "test accuracy"));
    free(out), free(err);
    /* the split: every image once, shares adding up */
    char p[600], q[600];
    snprintf(p, sizeof p, "%s/members.csv", dir);
    snprintf(q, sizeof q, "%s/external.csv", dir);
    assert_int_equal(count_lines(p), 300);
    assert_int_equal(count_lines(q), 9700);
    long mm, em;
    snprintf(p, sizeof p, "%s/mint-members.csv", dir);
    mm = count_lines(p);
    snprintf(p, sizeof p, "%s/eval-members.csv", dir);
    em = count_lines(p);
    assert_int_equal(mm + em, 300);
    assert_int_equal(mm, 150);
    snprintf(p, sizeof p, "%s/split.json", dir);
    assert_true(test_file_exists(p));
    snprintf(p, sizeof p, "%s.partial", net);
    assert_false(test_file_exists(p)); /* removed once the network is written */
    /* the signed log: 18 steps, a record every 4, closed on the file's parameters */
    snprintf(args, sizeof args, "verify-log '%s.log' --key '%s.pub' --network '%s'", net, key, net);
    rc = run_mint(args, NULL, &out, &err);
    if (rc)
        fprintf(stderr, "%s%s", out, err);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "OK: 4 records, steps 4..16"));
    free(out), free(err);
    /* the network runs in extract on the evaluation members, the head in info */
    snprintf(args, sizeof args, "extract --model '%s' --list '%s/eval-members.csv' --out '%s' "
             "--taps layer1,embedding", net, dir, test_tmp_path("ex"));
    rc = run_mint(args, "OMP_NUM_THREADS=2 OMP_WAIT_POLICY=passive", &out, &err);
    if (rc)
        fprintf(stderr, "%s%s", out, err);
    assert_int_equal(rc, 0);
    free(out), free(err);
    snprintf(args, sizeof args, "info '%s'", test_tmp_path("digits-amint.mint"));
    assert_int_equal(run_mint(args, NULL, &out, &err), 0);
    assert_non_null(strstr(out, "vanilla"));
    free(out), free(err);
    /* a leftover checkpoint is refused without --resume; --resume without one too */
    snprintf(p, sizeof p, "%s.partial", net);
    test_write_text(p, "junk");
    snprintf(args, sizeof args, "train-model --data '%s' --members 0.03 --out '%s'", data, net);
    assert_int_equal(run_mint(args, NULL, &out, &err), 1);
    assert_non_null(strstr(err, "--resume"));
    free(out), free(err);
    snprintf(args, sizeof args, "train-model --data '%s' --members 0.03 --out '%s' --resume",
             data, net);
    assert_int_equal(run_mint(args, NULL, &out, &err), 1);
    assert_non_null(strstr(err, ".partial"));
    free(out), free(err);
    remove(p);
    snprintf(args, sizeof args, "train-model --data '%s' --out '%s' --resume --members 0.03",
             data, test_tmp_path("other.mint"));
    assert_int_equal(run_mint(args, NULL, &out, &err), 1);
    assert_non_null(strstr(err, "nothing to resume"));
    free(out), free(err);
    /* bad input */
    snprintf(args, sizeof args, "train-model --data /nonexistent/x-images-idx3-ubyte --out '%s'",
             net);
    assert_int_equal(run_mint(args, NULL, &out, &err), 1);
    assert_non_null(strstr(err, "/nonexistent/x-images-idx3-ubyte"));
    free(out), free(err);
    assert_int_equal(run_mint("train-model --data x --out y --members 1.5", NULL, &out, &err), 2);
    free(out), free(err);
    assert_int_equal(run_mint("train-model --data x --out y --arch resnet50", NULL, &out, &err), 2);
    free(out), free(err);
    snprintf(args, sizeof args, "train-model --data '%s' --out '%s' --loss hinge", data, net);
    assert_int_equal(run_mint(args, NULL, &out, &err), 1);
    assert_non_null(strstr(err, "--loss hinge"));
    free(out), free(err);
}

static void param_sha(const char *path, uint8_t sha[32])
{
    net_graph *g;
    wt_file *f;
    assert_int_equal(net_graph_load(&g, &f, path), MINT_OK);
    net_graph_param_sha256(g, sha);
    net_graph_free(g);
    wt_close(f);
}

/* The same seed gives the same network bit for bit (same thread count), and
 * a run stopped after epoch 1 and resumed ends where an uninterrupted one
 * does. */
static void test_cli_reproducible_and_resume(void **state)
{
    (void)state;
    TEST_NEED_MINT();
    char data[512], args[4096], a[512], b[512], c[512], p[600];
    snprintf(data, sizeof data, "%s/mnist/t10k-images-idx3-ubyte.gz", test_shared_data());
    if (!test_file_exists(data)) {
        printf("  SKIP: %s absent\n", data);
        skip();
    }
    snprintf(a, sizeof a, "%s", test_tmp_path("rep_a.mint"));
    snprintf(b, sizeof b, "%s", test_tmp_path("rep_b.mint"));
    snprintf(c, sizeof c, "%s", test_tmp_path("rep_c.mint"));
    const char *common = "--members 0.02 --widths 8,8,8,8 --emb 8 --epochs 2 --batch 32 --quiet";
    const char *env = "OMP_NUM_THREADS=2 OMP_WAIT_POLICY=passive";
    char *out, *err;
    const char *outs[2] = { a, c };
    for (int i = 0; i < 2; i++) {
        snprintf(args, sizeof args, "train-model --data '%s' %s --out '%s'", data, common, outs[i]);
        assert_int_equal(run_mint(args, env, &out, &err), 0);
        free(out), free(err);
    }
    snprintf(args, sizeof args, "train-model --data '%s' %s --out '%s' --stop-after-epoch 1",
             data, common, b);
    assert_int_equal(run_mint(args, env, &out, &err), 0);
    assert_non_null(strstr(out, "stopped after epoch 1 of 2"));
    free(out), free(err);
    snprintf(p, sizeof p, "%s.partial", b);
    assert_true(test_file_exists(p));
    assert_false(test_file_exists(b));
    snprintf(args, sizeof args, "train-model --data '%s' %s --out '%s' --resume", data, common, b);
    assert_int_equal(run_mint(args, env, &out, &err), 0);
    assert_non_null(strstr(out, "resuming"));
    free(out), free(err);
    uint8_t ha[32], hb[32], hc[32];
    param_sha(a, ha);
    param_sha(b, hb);
    param_sha(c, hc);
    assert_memory_equal(ha, hc, 32); /* same seed, same bits */
    assert_memory_equal(ha, hb, 32); /* stopped + resumed = uninterrupted */
    /* a different seed gives a different network */
    snprintf(args, sizeof args, "train-model --data '%s' %s --out '%s' --seed 2", data, common,
             test_tmp_path("rep_d.mint"));
    assert_int_equal(run_mint(args, env, &out, &err), 0);
    free(out), free(err);
    param_sha(test_tmp_path("rep_d.mint"), hc);
    assert_memory_not_equal(ha, hc, 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_20_steps),
        cmocka_unit_test(test_golden_amint_step),
        cmocka_unit_test(test_cli_end_to_end),
        cmocka_unit_test(test_cli_reproducible_and_resume),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
