/* test_conformance.c - mint against PyTorch and ONNX Runtime on the fixture
 * models (tools/make_fixtures.py): every ONNX model is imported, written to
 * a container, reopened, and run under each ISA this CPU has and with 1 and
 * 2 threads; the embedding and every tap (the four stages, and conv/Gemm
 * outputs that a BatchNorm would be folded over) must match both
 * references, each of which must be present: cosine >= 0.99999 per image
 * and max abs error <= 1e-4 * max|ref|. */
#include "testutil.h"
#include <math.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "io/npy.h"
#include "kernels.h"
#include "net/iresnet.h"
#include "net/model.h"
#include "net/graph_io.h"
#include "convert/onnx.h"

typedef struct {
    const char *model;
    const char *input;    /* fixture folder holding input.npy */
    const char *tap[6];   /* mint tap names (layerK/embedding or ONNX tensor names) */
    const char *ref[6];   /* reference file stem: <refdir>/<src>_<ref>.npy */
    const char *refdir;   /* folder of the references (NULL: <model>) */
} conf_case;

static const conf_case cases[] = {
    { "iresnet_small", "iresnet_small",
      { "layer1", "layer2", "layer3", "layer4", "embedding", "/fc/Gemm_output_0" },
      { "layer1", "layer2", "layer3", "layer4", "embedding", "fc" }, NULL },
    { "iresnet_r18like", "iresnet_r18like", { "layer1", "layer2", "layer3", "layer4", "embedding" },
      { "layer1", "layer2", "layer3", "layer4", "embedding" }, NULL },
    { "iresnet_small_fp16", "iresnet_small", { "layer4", "embedding" }, { "layer4", "embedding" },
      NULL },
    { "mobile_dw", "mobile_dw", { "/prelu2/PRelu_output_0", "/Add_output_0", "/bn_post/BatchNormalization_output_0", "embedding" },
      { "stage1", "stage2", "stage3", "embedding" }, NULL },
    { "mobile_dw_op9", "mobile_dw", { "/prelu2/PRelu_output_0", "/Add_output_0", "/bn_post/BatchNormalization_output_0", "embedding" },
      { "stage1", "stage2", "stage3", "embedding" }, "mobile_dw" /* same results: files shared */ },
    { "conv_bn", "conv_bn", { "c1", "c2", "embedding" }, { "conv1", "conv2", "embedding" }, NULL },
};

/* Worst per-image cosine and max abs error relative to max|ref|. */
static void compare(const float *got, const float *ref, int64_t n, int64_t per, double *cos_min,
                    double *rel_err)
{
    double maxref = 0, maxerr = 0;
    *cos_min = 1.0;
    for (int64_t b = 0; b < n; b++) {
        double dot = 0, ng = 0, nr = 0;
        for (int64_t i = 0; i < per; i++) {
            double g = got[b * per + i], r = ref[b * per + i];
            dot += g * r;
            ng += g * g;
            nr += r * r;
            maxref = fmax(maxref, fabs(r));
            maxerr = fmax(maxerr, fabs(g - r));
            if (isnan(g))
                maxerr = INFINITY;
        }
        double c = (ng > 0 && nr > 0) ? dot / sqrt(ng * nr) : (ng == nr ? 1.0 : 0.0);
        if (c < *cos_min || isnan(c))
            *cos_min = isnan(c) ? -1 : c;
    }
    *rel_err = maxref > 0 ? maxerr / maxref : maxerr;
}

static int have_file(const char *p) { return access(p, R_OK) == 0; }

static void run_case(const conf_case *cc)
{
    char onnx[512], tmp[512];
    snprintf(onnx, sizeof onnx, TEST_FIXTURES "/%s.onnx", cc->model);
    if (!have_file(onnx)) /* committed: a missing one is a broken checkout, not a skip */
        fail_msg("%s: committed fixture %s missing (git checkout it, or regenerate with "
                 "tools/make_fixtures.py)", cc->model, onnx);
    net_graph *g;
    mint_status st = convert_onnx_import(&g, onnx);
    if (st)
        fail_msg("%s: import: %s", cc->model, mint_last_error());
    snprintf(tmp, sizeof tmp, "/tmp/mint_conf_%d_%s.mint", (int)getpid(), cc->model);
    st = net_graph_save(g, tmp);
    net_graph_free(g);
    if (st)
        fail_msg("%s: save: %s", cc->model, mint_last_error());
    /* m computes the taps; plain only the output, with every BatchNorm it
     * can fold folded (a tapped conv output keeps its BN separate) */
    mint_model *m, *plain;
    st = mint_model_open(&m, tmp);
    if (!st)
        st = mint_model_open(&plain, tmp);
    if (st)
        fail_msg("%s: open: %s", cc->model, mint_last_error());

    char path[512];
    snprintf(path, sizeof path, TEST_FIXTURES "/%s/input.npy", cc->input);
    io_npy in;
    assert_int_equal(io_npy_read(path, &in), MINT_OK);
    int n = (int)in.dims[0];
    int ntaps = 0;
    while (ntaps < 6 && cc->tap[ntaps])
        ntaps++;
    float *out[7];
    int64_t per[7];
    int emb = -1;
    for (int t = 0; t < ntaps; t++) {
        int rank, d[3];
        st = mint_model_tap_shape(m, cc->tap[t], &rank, d);
        if (st)
            fail_msg("%s: tap %s: %s", cc->model, cc->tap[t], mint_last_error());
        per[t] = (int64_t)d[0] * (rank == 4 ? (int64_t)d[1] * d[2] : 1);
        out[t] = malloc(sizeof(float) * (size_t)(n * per[t]));
        assert_non_null(out[t]);
        if (!strcmp(cc->tap[t], "embedding"))
            emb = t;
    }
    assert_true(emb >= 0);
    per[ntaps] = per[emb];
    out[ntaps] = malloc(sizeof(float) * (size_t)(n * per[emb]));
    assert_non_null(out[ntaps]);
    const kern_isa *isas[8];
    int nisa = kern_isa_available(isas, 8);
    for (int k = 0; k < nisa; k++) {
        assert_int_equal(mint_set_isa(isas[k]->name), MINT_OK);
        for (int threads = 1; threads <= 2; threads++) {
#ifdef _OPENMP
            omp_set_num_threads(threads);
#endif
            for (int t = 0; t <= ntaps; t++)
                memset(out[t], 0xff, sizeof(float) * (size_t)(n * per[t])); /* NaN */
            st = mint_model_run(m, in.data, n, NULL, ntaps, cc->tap, out);
            if (!st)
                st = mint_model_run(plain, in.data, n, out[ntaps], 0, NULL, NULL);
            if (st)
                fail_msg("%s: run: %s", cc->model, mint_last_error());
            for (int src = 0; src < 2; src++) {
                for (int t = 0; t <= ntaps; t++) {
                    const char *stem = cc->ref[t < ntaps ? t : emb];
                    snprintf(path, sizeof path, TEST_FIXTURES "/%s/%s_%s.npy",
                             cc->refdir ? cc->refdir : cc->model, src ? "ort" : "torch", stem);
                    if (!have_file(path))
                        fail_msg("%s: reference %s missing (run tools/make_fixtures.py)",
                                 cc->model, path);
                    io_npy ref;
                    assert_int_equal(io_npy_read(path, &ref), MINT_OK);
                    assert_int_equal(ref.nbytes, sizeof(float) * (size_t)(n * per[t]));
                    double c, e;
                    compare(out[t], ref.data, n, per[t], &c, &e);
                    printf("  %-18s %-7s %dT %-5s %-10s%s cos %.8f  err/max %.2e\n", cc->model,
                           isas[k]->name, threads, src ? "ort" : "torch", stem,
                           t < ntaps ? "       " : " folded", c, e);
                    if (!(c >= 0.99999 && e <= 1e-4))
                        fail_msg("%s %s %s%s: cos %.8f err/max %.3e out of tolerance", cc->model,
                                 isas[k]->name, stem, t < ntaps ? "" : " (folded)", c, e);
                    io_npy_free(&ref);
                }
            }
        }
    }
    mint_set_isa(kern_active()->name);
    for (int t = 0; t <= ntaps; t++)
        free(out[t]);
    io_npy_free(&in);
    mint_model_close(m);
    mint_model_close(plain);
    unlink(tmp);
}

static void test_case(void **state) { run_case((const conf_case *)*state); }

/* The native IResNet builder must agree with itself through the container:
 * build -> save -> load gives bit-identical outputs. */
static void test_builder_roundtrip(void **state)
{
    (void)state;
    net_iresnet_cfg cfg = { { 1, 2, 1, 1 }, { 8, 16, 24, 32 }, 16, 112, 112, 3 };
    net_graph *g;
    assert_int_equal(net_iresnet_build(&g, &cfg, 7), MINT_OK);
    char tmp[128];
    snprintf(tmp, sizeof tmp, "/tmp/mint_conf_%d_builder.mint", (int)getpid());
    assert_int_equal(net_graph_save(g, tmp), MINT_OK);
    mint_model *a, *b;
    assert_int_equal(mint_model_from_graph(&a, g, NULL), MINT_OK);
    assert_int_equal(mint_model_open(&b, tmp), MINT_OK);
    float x[2 * 3 * 112 * 112], ya[2 * 16], yb[2 * 16];
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++)
        x[i] = (float)sin((double)i * 0.37);
    const char *tap = "layer2";
    float *ta = malloc(sizeof(float) * 2 * 16 * 28 * 28), *tb = malloc(sizeof(float) * 2 * 16 * 28 * 28);
    assert_int_equal(mint_model_run(a, x, 2, ya, 1, &tap, &ta), MINT_OK);
    assert_int_equal(mint_model_run(b, x, 2, yb, 1, &tap, &tb), MINT_OK);
    assert_memory_equal(ya, yb, sizeof ya);
    assert_memory_equal(ta, tb, sizeof(float) * 2 * 16 * 28 * 28);
    double nrm = 0;
    for (int i = 0; i < 16; i++)
        nrm += ya[i] * ya[i];
    assert_true(nrm > 1e-6 && isfinite(nrm));
    free(ta);
    free(tb);
    mint_model_close(a);
    mint_model_close(b);
    unlink(tmp);
}

/* Weight by name from a model's graph. */
static const float *gw(const net_graph *g, const char *name)
{
    int w = net_graph_find_weight(g, name);
    if (w < 0)
        fail_msg("weight %s missing", name);
    return g->weights[w].data;
}

/* y[c][i] vs BN(x)[c][i] in double (ONNX BatchNormalization), worst abs
 * error relative to max|BN(x)|, over n images of c channels of hw values. */
static double bn_err(const net_graph *g, const char *prefix, const float *x, const float *y,
                     int n, int c, int64_t hw)
{
    char nm[4][96];
    static const char *const part[4] = { "weight", "bias", "running_mean", "running_var" };
    for (int k = 0; k < 4; k++)
        snprintf(nm[k], sizeof nm[k], "%s.%s", prefix, part[k]);
    const float *ga = gw(g, nm[0]), *be = gw(g, nm[1]), *mu = gw(g, nm[2]), *va = gw(g, nm[3]);
    double maxerr = 0, maxref = 0;
    for (int b = 0; b < n; b++)
        for (int ch = 0; ch < c; ch++)
            for (int64_t i = 0; i < hw; i++) {
                size_t at = ((size_t)b * (size_t)c + (size_t)ch) * (size_t)hw + (size_t)i;
                double r = (x[at] - (double)mu[ch]) / sqrt((double)va[ch] + 1e-5) * ga[ch] + be[ch];
                maxref = fmax(maxref, fabs(r));
                maxerr = fmax(maxerr, fabs(r - y[at]));
                if (isnan(y[at]))
                    return INFINITY;
            }
    return maxerr / maxref;
}

/* Taps on tensors the executor would fold a BatchNorm over (a Conv or FC
 * output feeding only a BN) are computed, not garbage: the stem conv
 * against a direct convolution in double, each tapped conv/FC output
 * through its BN against the BN output, under each ISA and 1/2 threads;
 * the embedding of the model asked for these taps (BNs kept separate)
 * matches the one of a model that folds them all. */
static void test_folded_taps(void **state)
{
    (void)state;
    net_iresnet_cfg cfg = { { 1, 1, 1, 1 }, { 8, 16, 16, 24 }, 16, 112, 112, 3 };
    net_graph *g1, *g2;
    assert_int_equal(net_iresnet_build(&g1, &cfg, 5), MINT_OK);
    assert_int_equal(net_iresnet_build(&g2, &cfg, 5), MINT_OK);
    mint_model *m, *plain;
    assert_int_equal(mint_model_from_graph(&m, g1, NULL), MINT_OK);
    assert_int_equal(mint_model_from_graph(&plain, g2, NULL), MINT_OK);
    const net_graph *g = mint_model_graph(m);
    enum { N = 2, C0 = 8, HW = 112 * 112 };
    const char *taps[] = { "conv1.out", "bn1.out", "layer1.0.conv2.out", "layer1.0.bn3.out",
                           "fc.out", "embedding" };
    int64_t per[6];
    float *out[6];
    for (int t = 0; t < 6; t++) {
        int rank, d[3];
        assert_int_equal(mint_model_tap_shape(m, taps[t], &rank, d), MINT_OK);
        per[t] = (int64_t)d[0] * (rank == 4 ? (int64_t)d[1] * d[2] : 1);
        out[t] = malloc(sizeof(float) * (size_t)(N * per[t]));
        assert_non_null(out[t]);
    }
    assert_int_equal(per[0], C0 * HW);
    assert_int_equal(per[2], 8 * 56 * 56);
    assert_int_equal(per[4], 16);
    float *x = malloc(sizeof(float) * N * 3 * HW), *ref = malloc(sizeof(float) * N * C0 * HW);
    float emb[N * 16];
    assert_true(x && ref);
    for (size_t i = 0; i < (size_t)N * 3 * HW; i++)
        x[i] = (float)sin((double)i * 0.61) + 0.3f * (float)cos((double)i * 0.013);
    /* conv1: 3x3, stride 1, pad 1, no bias */
    const float *w = gw(g, "conv1.weight");
    for (int b = 0; b < N; b++)
        for (int o = 0; o < C0; o++)
            for (int y = 0; y < 112; y++)
                for (int xx = 0; xx < 112; xx++) {
                    double acc = 0;
                    for (int ci = 0; ci < 3; ci++)
                        for (int ky = 0; ky < 3; ky++)
                            for (int kx = 0; kx < 3; kx++) {
                                int iy = y + ky - 1, ix = xx + kx - 1;
                                if (iy < 0 || iy >= 112 || ix < 0 || ix >= 112)
                                    continue;
                                acc += (double)w[((o * 3 + ci) * 3 + ky) * 3 + kx] *
                                       x[((size_t)(b * 3 + ci) * 112 + (size_t)iy) * 112 + (size_t)ix];
                            }
                    ref[((size_t)(b * C0 + o) * 112 + (size_t)y) * 112 + (size_t)xx] = (float)acc;
                }
    const kern_isa *isas[8];
    int nisa = kern_isa_available(isas, 8);
    for (int k = 0; k < nisa; k++) {
        assert_int_equal(mint_set_isa(isas[k]->name), MINT_OK);
        for (int threads = 1; threads <= 2; threads++) {
#ifdef _OPENMP
            omp_set_num_threads(threads);
#endif
            for (int t = 0; t < 6; t++)
                memset(out[t], 0xff, sizeof(float) * (size_t)(N * per[t])); /* NaN */
            assert_int_equal(mint_model_run(m, x, N, NULL, 6, taps, out), MINT_OK);
            assert_int_equal(mint_model_run(plain, x, N, emb, 0, NULL, NULL), MINT_OK);
            double c, e[5];
            compare(out[0], ref, N, per[0], &c, &e[0]);
            assert_true(c >= 0.99999);
            e[1] = bn_err(g, "bn1", out[0], out[1], N, C0, HW);
            e[2] = bn_err(g, "layer1.0.bn3", out[2], out[3], N, 8, 56 * 56);
            e[3] = bn_err(g, "features", out[4], out[5], N, 16, 1);
            compare(out[5], emb, N, 16, &c, &e[4]);
            printf("  folded taps %-7s %dT  conv1 %.1e  bn1 %.1e  conv2+bn3 %.1e  fc+features "
                   "%.1e  embedding vs folded %.1e (cos %.8f)\n",
                   isas[k]->name, threads, e[0], e[1], e[2], e[3], e[4], c);
            for (int i = 0; i < 5; i++)
                if (!(e[i] <= 1e-4))
                    fail_msg("%s %dT: check %d err/max %.3e", isas[k]->name, threads, i, e[i]);
            assert_true(c >= 0.99999);
        }
    }
    mint_set_isa(kern_active()->name);
    for (int t = 0; t < 6; t++)
        free(out[t]);
    free(x);
    free(ref);
    mint_model_close(m);
    mint_model_close(plain);
}

int main(void)
{
    struct CMUnitTest tests[sizeof cases / sizeof cases[0] + 2];
    size_t k = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        tests[k++] = (struct CMUnitTest){ cases[i].model, test_case, NULL, NULL, (void *)&cases[i] };
    tests[k++] = (struct CMUnitTest){ "builder_roundtrip", test_builder_roundtrip, NULL, NULL, NULL };
    tests[k++] = (struct CMUnitTest){ "folded_taps", test_folded_taps, NULL, NULL, NULL };
    return _cmocka_run_group_tests("conformance", tests, k, NULL, NULL);
}
