/* test_loss_optim.c - net/loss (softmax CE, ArcFace/CosFace/linear heads) and
 * net/optim (SGD, Adam, AdamW, lr schedules) against PyTorch's golden
 * fixtures (tools/gen_loss_optim_golden.py -> tests/fixtures/loss_optim/),
 * finite differences in double for the heads' gradients, checkpoint
 * round trips, thread-count invariance and bad arguments.
 *
 * Tolerances (relative): losses and lr values 1e-5; gradients 1e-4 of the
 * element's magnitude, floored at 1e-3 of the array's largest (the float32
 * GEMMs sum in another order than PyTorch's); optimiser parameters after
 * every step 1e-5 of the magnitude, floored at 1e-2 of the largest (one
 * float rounding of a cancellation near 0 is not an error). */
#include "testutil.h"
#include <math.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "io/npy.h"
#include "net/loss.h"
#include "net/optim.h"

#define GOLD TEST_FIXTURES "/loss_optim/"

static io_npy load(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, GOLD "%s.npy", name);
    io_npy a;
    mint_status st = io_npy_read(path, &a);
    if (st)
        fprintf(stderr, "%s: %s\n", path, mint_last_error());
    assert_int_equal(st, MINT_OK);
    return a;
}

static size_t count(const io_npy *a)
{
    size_t n = 1;
    for (int k = 0; k < a->rank; k++)
        n *= (size_t)a->dims[k];
    return n;
}

static const float *F32(const io_npy *a)
{
    assert_int_equal(a->dtype, BASE_F32);
    return a->data;
}

static int *labels_of(const io_npy *a)
{
    assert_int_equal(a->dtype, BASE_I64);
    const int64_t *l = a->data;
    int *o = malloc(count(a) * sizeof *o);
    for (size_t i = 0; i < count(a); i++)
        o[i] = (int)l[i];
    return o;
}

/* Largest relative error of got vs ref (see the header's tolerance). */
static double rel_err_floor(const float *got, const float *ref, size_t n, double floor)
{
    double mx = 0.0, worst = 0.0;
    for (size_t i = 0; i < n; i++)
        mx = fmax(mx, fabs(ref[i]));
    for (size_t i = 0; i < n; i++) {
        const double den = fmax(fabs(ref[i]), floor * mx) + 1e-30;
        worst = fmax(worst, fabs((double)got[i] - ref[i]) / den);
    }
    return worst;
}

static double rel_err(const float *got, const float *ref, size_t n)
{
    return rel_err_floor(got, ref, n, 1e-3);
}

static void *falloc(size_t n)
{
    void *p = NULL;
    assert_int_equal(posix_memalign(&p, 64, (n ? n : 1) * sizeof(float)), 0);
    return p;
}

/* ---------------- softmax cross-entropy ---------------- */

static void test_xent_golden(void **state)
{
    (void)state;
    io_npy z = load("xent_logits"), l = load("xent_labels"), L = load("xent_loss"),
           g = load("xent_grad");
    const int n = (int)z.dims[0], C = (int)z.dims[1];
    int *lab = labels_of(&l);
    float *dz = malloc(count(&z) * sizeof *dz);
    double loss;
    int correct = -1;
    assert_int_equal(net_softmax_xent(F32(&z), lab, n, C, dz, 1.0f, &loss, &correct), MINT_OK);
    assert_true(fabs(loss - F32(&L)[0]) <= 1e-5 * fabs(F32(&L)[0]));
    assert_true(rel_err(dz, F32(&g), count(&z)) < 1e-4);
    int want = 0;
    for (int i = 0; i < n; i++) {
        int best = 0;
        for (int c = 1; c < C; c++)
            if (F32(&z)[i * C + c] > F32(&z)[i * C + best])
                best = c;
        want += best == lab[i];
    }
    assert_int_equal(correct, want);
    /* gscale scales the gradient only */
    float *dz2 = malloc(count(&z) * sizeof *dz2);
    double loss2;
    assert_int_equal(net_softmax_xent(F32(&z), lab, n, C, dz2, 0.5f, &loss2, NULL), MINT_OK);
    assert_true(loss2 == loss);
    for (size_t i = 0; i < count(&z); i++)
        assert_true(fabsf(dz2[i] - 0.5f * dz[i]) <= 1e-7f);
    /* huge logits: no overflow, loss finite */
    float big[3] = { 1e30f, -1e30f, 0.0f };
    int one = 1;
    assert_int_equal(net_softmax_xent(big, &one, 1, 3, NULL, 1.0f, &loss, NULL), MINT_OK);
    assert_true(isfinite(loss) && loss > 1e29);
    free(lab), free(dz), free(dz2);
    io_npy_free(&z), io_npy_free(&l), io_npy_free(&L), io_npy_free(&g);
}

/* ---------------- margin heads ---------------- */

static void head_golden(const char *prefix, net_margin mg)
{
    char nm[64];
#define LD(x) (snprintf(nm, sizeof nm, "%s_%s", prefix, x), load(nm))
    io_npy e = LD("emb"), w = LD("W"), l = LD("labels"), L = LD("loss"), de = LD("demb"),
           dw = LD("dW");
#undef LD
    const int n = (int)e.dims[0], d = (int)e.dims[1], C = (int)w.dims[0];
    int *lab = labels_of(&l);
    float *scr = falloc(net_margin_head_scratch(n, d, C));
    float *demb = malloc(count(&e) * sizeof(float)), *dW = calloc(count(&w), sizeof(float));
    double loss;
    int correct;
    assert_int_equal(net_margin_head(&mg, F32(&e), F32(&w), lab, n, d, C, demb, dW, 1.0f, &loss,
                                     &correct, scr),
                     MINT_OK);
    const double el = fabs(loss - F32(&L)[0]) / fabs(F32(&L)[0]);
    const double ee = rel_err(demb, F32(&de), count(&e)), ew = rel_err(dW, F32(&dw), count(&w));
    printf("  %s head: loss %.6f (torch %.6f, rel %.1e), demb rel %.1e, dW rel %.1e\n", prefix,
           loss, (double)F32(&L)[0], el, ee, ew);
    assert_true(el < 1e-5);
    assert_true(ee < 1e-4);
    assert_true(ew < 1e-4);
    /* dW accumulates: a second call adds the same gradient */
    float *dW1 = malloc(count(&w) * sizeof(float));
    memcpy(dW1, dW, count(&w) * sizeof(float));
    assert_int_equal(net_margin_head(&mg, F32(&e), F32(&w), lab, n, d, C, NULL, dW, 1.0f, &loss,
                                     NULL, scr),
                     MINT_OK);
    for (size_t i = 0; i < count(&w); i++)
        assert_true(dW[i] == 2.0f * dW1[i]);
    free(dW1);
    free(lab), free(scr), free(demb), free(dW);
    io_npy_free(&e), io_npy_free(&w), io_npy_free(&l), io_npy_free(&L), io_npy_free(&de),
        io_npy_free(&dw);
}

static void test_arcface_golden(void **state)
{
    (void)state;
    head_golden("arc", (net_margin)NET_MARGIN_ARCFACE);
}

static void test_cosface_golden(void **state)
{
    (void)state;
    head_golden("cos", (net_margin)NET_MARGIN_COSFACE);
}

static void test_linear_golden(void **state)
{
    (void)state;
    head_golden("lin", (net_margin){ 0.0f, 1.0f, 0.0f, 0.0f });
}

/* Double-precision reference of the head's mean loss (net/loss.h's formulas). */
static double ref_head_loss(const net_margin *mg, const double *emb, const double *W,
                            const int *lab, int n, int d, int C)
{
    double total = 0.0;
    double *z = malloc((size_t)C * sizeof *z);
    for (int i = 0; i < n; i++) {
        const double *e = emb + (size_t)i * d;
        double ne = 0.0;
        for (int k = 0; k < d; k++)
            ne += e[k] * e[k];
        ne = fmax(sqrt(ne), 1e-12);
        for (int c = 0; c < C; c++) {
            const double *w = W + (size_t)c * d;
            double nw = 0.0, dot = 0.0;
            for (int k = 0; k < d; k++)
                nw += w[k] * w[k], dot += e[k] * w[k];
            if (mg->s == 0.0f) {
                z[c] = dot;
                continue;
            }
            double x = fmin(fmax(dot / (ne * fmax(sqrt(nw), 1e-12)), -1.0), 1.0);
            if (c == lab[i]) {
                if (mg->m3 > 0.0f)
                    x -= mg->m3;
                else if (x > cos(M_PI - mg->m2))
                    x = cos(acos(x) + mg->m2);
                else
                    x -= sin(M_PI - mg->m2) * mg->m2;
            }
            z[c] = mg->s * x;
        }
        double mx = z[0], s = 0.0;
        for (int c = 1; c < C; c++)
            mx = fmax(mx, z[c]);
        for (int c = 0; c < C; c++)
            s += exp(z[c] - mx);
        total += log(s) + mx - z[lab[i]];
    }
    free(z);
    return total / n;
}

/* Central differences of ref_head_loss (evaluated with margin `ref`) vs the
 * analytic demb, dW of net_margin_head(mg): the worst relative error. */
static double fd_check(net_margin mg, net_margin ref, uint64_t seed, int opposite_row)
{
    enum { n = 4, d = 6, C = 5 };
    float emb[n * d], W[C * d], demb[n * d], dW[C * d] = { 0 };
    double ed[n * d], wd[C * d];
    int lab[n] = { 2, 0, 4, 2 };
    uint64_t s = seed;
    for (int i = 0; i < n * d + C * d; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        const float v = (float)((double)(s >> 11) / 9007199254740992.0 * 2.0 - 1.0);
        if (i < n * d)
            emb[i] = v;
        else
            W[i - n * d] = v;
    }
    if (opposite_row) /* row 0's target centre opposite its embedding: fallback branch */
        for (int k = 0; k < d; k++)
            W[lab[0] * d + k] = -emb[k] + 0.05f * W[lab[0] * d + k];
    float *scr = falloc(net_margin_head_scratch(n, d, C));
    double loss;
    assert_int_equal(net_margin_head(&mg, emb, W, lab, n, d, C, demb, dW, 1.0f, &loss, NULL, scr),
                     MINT_OK);
    for (int i = 0; i < n * d; i++)
        ed[i] = emb[i];
    for (int i = 0; i < C * d; i++)
        wd[i] = W[i];
    const double l0 = ref_head_loss(&ref, ed, wd, lab, n, d, C);
    double worst = fabs(loss - l0) / fmax(fabs(l0), 1e-3);
    const double h = 1e-6;
    for (int which = 0; which < 2; which++) {
        double *x = which ? wd : ed;
        const float *g = which ? dW : demb;
        const int cnt = which ? C * d : n * d;
        double gmax = 0.0;
        for (int i = 0; i < cnt; i++)
            gmax = fmax(gmax, fabs(g[i]));
        for (int i = 0; i < cnt; i++) {
            const double x0 = x[i];
            x[i] = x0 + h;
            const double lp = ref_head_loss(&ref, ed, wd, lab, n, d, C);
            x[i] = x0 - h;
            const double lm = ref_head_loss(&ref, ed, wd, lab, n, d, C);
            x[i] = x0;
            const double fd = (lp - lm) / (2 * h);
            worst = fmax(worst, fabs(fd - g[i]) / fmax(fabs(fd), 1e-2 * gmax + 1e-6));
        }
    }
    free(scr);
    return worst;
}

static void test_head_fd(void **state)
{
    (void)state;
    const net_margin arc = { 8.0f, 1.0f, 0.5f, 0.0f }, cosf = { 8.0f, 1.0f, 0.0f, 0.4f },
                     lin = { 0.0f, 1.0f, 0.0f, 0.0f }, arc64 = NET_MARGIN_ARCFACE,
                     arcbig = { 4.0f, 1.0f, 2.5f, 0.0f };
    const double tol = 2e-3; /* float32 forward/backward vs double differences */
    for (uint64_t seed = 1; seed <= 3; seed++) {
        double e[6] = { fd_check(arc, arc, seed, 0),    fd_check(arc, arc, seed, 1),
                        fd_check(cosf, cosf, seed, 0),  fd_check(lin, lin, seed, 0),
                        fd_check(arc64, arc64, seed, 1), fd_check(arcbig, arcbig, seed, 1) };
        for (int k = 0; k < 6; k++) {
            if (e[k] >= tol)
                printf("  fd case %d seed %d: rel err %.2e\n", k, (int)seed, e[k]);
            assert_true(e[k] < tol);
        }
    }
    /* the check can fail: a gradient of another margin is refused */
    const net_margin arc_off = { 8.0f, 1.0f, 0.45f, 0.0f }, cos_off = { 8.0f, 1.0f, 0.0f, 0.35f };
    assert_true(fd_check(arc, arc_off, 1, 0) > 10 * tol);
    assert_true(fd_check(cosf, cos_off, 1, 0) > 10 * tol);
}

/* The clamp: a cosine of exactly 1 gets a finite gradient (PyTorch: inf). */
static void test_head_clamp(void **state)
{
    (void)state;
    enum { d = 4, C = 3 };
    const float emb[d] = { 1, 2, 3, 4 };
    float W[C * d] = { 2, 4, 6, 8, 1, 0, 0, 0, 0, 1, 0, 0 }, demb[d], dW[C * d] = { 0 };
    const int lab = 0;
    const net_margin arc = NET_MARGIN_ARCFACE;
    float *scr = falloc(net_margin_head_scratch(1, d, C));
    double loss;
    int ok;
    assert_int_equal(net_margin_head(&arc, emb, W, &lab, 1, d, C, demb, dW, 1.0f, &loss, &ok, scr),
                     MINT_OK);
    assert_true(isfinite(loss));
    assert_int_equal(ok, 1);
    for (int k = 0; k < d; k++)
        assert_true(isfinite(demb[k]));
    for (int k = 0; k < C * d; k++)
        assert_true(isfinite(dW[k]));
    free(scr);
}

/* Same bits on 1 and 2 threads at a size where the loops go parallel. */
static void test_head_threads(void **state)
{
    (void)state;
#ifdef _OPENMP
    enum { n = 64, d = 64, C = 1500 };
    float *emb = malloc(n * d * sizeof *emb), *W = malloc((size_t)C * d * sizeof *W);
    int lab[n];
    uint64_t s = 7;
    for (int i = 0; i < n * d; i++)
        s = s * 6364136223846793005ULL + 1442695040888963407ULL, emb[i] = (float)(s >> 40) / 1.6e7f - 0.5f;
    for (int i = 0; i < C * d; i++)
        s = s * 6364136223846793005ULL + 1442695040888963407ULL, W[i] = (float)(s >> 40) / 1.6e7f - 0.5f;
    for (int i = 0; i < n; i++)
        lab[i] = (i * 37) % C;
    float *scr = falloc(net_margin_head_scratch(n, d, C));
    float *de[2], *dw[2];
    double loss[2];
    const net_margin arc = NET_MARGIN_ARCFACE;
    const int saved = omp_get_max_threads();
    for (int t = 0; t < 2; t++) {
        omp_set_num_threads(t + 1);
        de[t] = malloc(n * d * sizeof(float));
        dw[t] = calloc((size_t)C * d, sizeof(float));
        assert_int_equal(net_margin_head(&arc, emb, W, lab, n, d, C, de[t], dw[t], 1.0f, &loss[t],
                                         NULL, scr),
                         MINT_OK);
    }
    omp_set_num_threads(saved);
    assert_true(loss[0] == loss[1]);
    assert_memory_equal(de[0], de[1], n * d * sizeof(float));
    assert_memory_equal(dw[0], dw[1], (size_t)C * d * sizeof(float));
    for (int t = 0; t < 2; t++)
        free(de[t]), free(dw[t]);
    free(emb), free(W), free(scr);
#else
    skip();
#endif
}

static void test_head_bad_args(void **state)
{
    (void)state;
    enum { n = 2, d = 3, C = 4 };
    float emb[n * d] = { 1, 2, 3, 4, 5, 6 }, W[C * d] = { 0 }, demb[n * d];
    float *scr = falloc(net_margin_head_scratch(n, d, C) + 64);
    int lab[n] = { 0, 3 }, bad_hi[n] = { 0, 4 }, bad_lo[n] = { -1, 0 };
    double loss;
    net_margin arc = NET_MARGIN_ARCFACE;
    assert_int_equal(net_margin_head(&arc, emb, W, lab, n, d, C, demb, NULL, 1, &loss, NULL, scr),
                     MINT_OK);
    assert_int_equal(net_margin_head(&arc, emb, W, bad_hi, n, d, C, demb, NULL, 1, &loss, NULL,
                                     scr),
                     MINT_E_ARG);
    assert_non_null(strstr(mint_last_error(), "label 4"));
    assert_int_equal(net_margin_head(&arc, emb, W, bad_lo, n, d, C, demb, NULL, 1, &loss, NULL,
                                     scr),
                     MINT_E_ARG);
    assert_int_equal(net_margin_head(&arc, emb, W, lab, 0, d, C, demb, NULL, 1, &loss, NULL, scr),
                     MINT_E_ARG);
    assert_int_equal(net_margin_head(&arc, emb, W, lab, n, 0, C, demb, NULL, 1, &loss, NULL, scr),
                     MINT_E_ARG);
    assert_int_equal(net_margin_head(&arc, emb, W, lab, n, d, -1, demb, NULL, 1, &loss, NULL, scr),
                     MINT_E_ARG);
    assert_int_equal(net_margin_head(&arc, NULL, W, lab, n, d, C, demb, NULL, 1, &loss, NULL, scr),
                     MINT_E_ARG);
    assert_int_equal(net_margin_head(NULL, emb, W, lab, n, d, C, demb, NULL, 1, &loss, NULL, scr),
                     MINT_E_ARG);
    assert_int_equal(net_margin_head(&arc, emb, W, lab, n, d, C, demb, NULL, 1, &loss, NULL, NULL),
                     MINT_E_ARG);
    const net_margin bad[] = { { -1, 1, 0.5f, 0 }, { 64, 1, 0.5f, 0.4f }, { 64, 1, -0.1f, 0 },
                               { 64, 1, 3.2f, 0 }, { 64, 1, 0, -0.4f }, { NAN, 1, 0.5f, 0 } };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++)
        assert_int_equal(net_margin_head(&bad[k], emb, W, lab, n, d, C, demb, NULL, 1, &loss,
                                         NULL, scr),
                         MINT_E_ARG);
    const net_margin m1 = { 64, 0.9f, 0.5f, 0 };
    assert_int_equal(net_margin_head(&m1, emb, W, lab, n, d, C, demb, NULL, 1, &loss, NULL, scr),
                     MINT_E_UNSUPPORTED);
    assert_int_equal(net_margin_head_scratch(0, d, C), 0);
    /* softmax CE */
    assert_int_equal(net_softmax_xent(emb, bad_hi, n, 3, NULL, 1, &loss, NULL), MINT_E_ARG);
    assert_int_equal(net_softmax_xent(emb, bad_lo, n, 3, NULL, 1, &loss, NULL), MINT_E_ARG);
    assert_int_equal(net_softmax_xent(emb, lab, 0, 3, NULL, 1, &loss, NULL), MINT_E_ARG);
    assert_int_equal(net_softmax_xent(emb, lab, n, 0, NULL, 1, &loss, NULL), MINT_E_ARG);
    assert_int_equal(net_softmax_xent(NULL, lab, n, 3, NULL, 1, &loss, NULL), MINT_E_ARG);
    assert_int_equal(net_softmax_xent(emb, lab, n, 3, NULL, 1, NULL, NULL), MINT_E_ARG);
    free(scr);
}

/* ---------------- optimisers ---------------- */

static void optim_golden(const char *prefix, const net_optim_cfg *cfg)
{
    char nm[64];
#define LD(x) (snprintf(nm, sizeof nm, "%s_%s", prefix, x), load(nm))
    io_npy a0 = LD("a0"), b0 = LD("b0"), ga = LD("ga"), gb = LD("gb"), lr = LD("lr"), ta = LD("a"),
           tb = LD("b");
#undef LD
    const size_t sizes[2] = { (size_t)a0.dims[0], (size_t)b0.dims[0] };
    const int steps = (int)ga.dims[0];
    float *a = malloc(sizes[0] * sizeof *a), *b = malloc(sizes[1] * sizeof *b);
    memcpy(a, F32(&a0), sizes[0] * sizeof *a);
    memcpy(b, F32(&b0), sizes[1] * sizeof *b);
    net_optim *o;
    assert_int_equal(net_optim_create(&o, cfg, 2, sizes), MINT_OK);
    double worst = 0.0;
    for (int t = 0; t < steps; t++) {
        net_optim_begin_step(o);
        net_optim_update(o, 0, a, F32(&ga) + (size_t)t * sizes[0], F32(&lr)[t], 1);
        net_optim_update(o, 1, b, F32(&gb) + (size_t)t * sizes[1], F32(&lr)[t], 0);
        worst = fmax(worst, rel_err_floor(a, F32(&ta) + (size_t)t * sizes[0], sizes[0], 1e-2));
        worst = fmax(worst, rel_err_floor(b, F32(&tb) + (size_t)t * sizes[1], sizes[1], 1e-2));
    }
    printf("  %s: %d steps, params rel err %.1e\n", prefix, steps, worst);
    assert_true(worst < 1e-5);
    assert_int_equal(net_optim_step(o), steps);
    net_optim_destroy(o);
    free(a), free(b);
    io_npy_free(&a0), io_npy_free(&b0), io_npy_free(&ga), io_npy_free(&gb), io_npy_free(&lr),
        io_npy_free(&ta), io_npy_free(&tb);
}

static void test_optim_golden(void **state)
{
    (void)state;
    const net_optim_cfg sgd = { NET_OPT_SGD, 0.9, 0, 0, 0, 0, 5e-4 },
                        nes = { NET_OPT_SGD, 0.9, 1, 0, 0, 0, 5e-4 },
                        adam = { NET_OPT_ADAM, 0, 0, 0.9, 0.999, 1e-8, 1e-2 },
                        adamw = { NET_OPT_ADAMW, 0, 0, 0.9, 0.999, 1e-8, 0.05 };
    optim_golden("sgd", &sgd);
    optim_golden("nesterov", &nes);
    optim_golden("adam", &adam);
    optim_golden("adamw", &adamw);
}

/* Save the state after 4 steps, restore it into a fresh optimiser: the
 * next 4 steps give the bits of an uninterrupted run. */
static void test_optim_resume(void **state)
{
    (void)state;
    const net_optim_cfg cfgs[3] = { { NET_OPT_SGD, 0.9, 1, 0, 0, 0, 1e-3 },
                                    { NET_OPT_ADAM, 0, 0, 0.9, 0.999, 1e-8, 1e-2 },
                                    { NET_OPT_ADAMW, 0, 0, 0.8, 0.99, 1e-6, 0.1 } };
    enum { N0 = 33, N1 = 3 };
    const size_t sizes[2] = { N0, N1 };
    for (int k = 0; k < 3; k++) {
        float w[2][N0 + N1], g[N0 + N1];
        for (int i = 0; i < N0 + N1; i++)
            w[0][i] = w[1][i] = sinf((float)i);
        net_optim *full, *part, *resumed;
        assert_int_equal(net_optim_create(&full, &cfgs[k], 2, sizes), MINT_OK);
        assert_int_equal(net_optim_create(&part, &cfgs[k], 2, sizes), MINT_OK);
        assert_int_equal(net_optim_create(&resumed, &cfgs[k], 2, sizes), MINT_OK);
        for (int t = 0; t < 8; t++) {
            for (int i = 0; i < N0 + N1; i++)
                g[i] = cosf((float)(i * 7 + t));
            net_optim *o = t < 4 ? part : resumed;
            if (t == 4) { /* checkpoint: copy part's state into resumed */
                for (int p = 0; p < 2; p++) {
                    float *src[2], *dst[2];
                    int ns, nd;
                    assert_int_equal(net_optim_state(part, p, src, &ns), MINT_OK);
                    assert_int_equal(net_optim_state(resumed, p, dst, &nd), MINT_OK);
                    assert_int_equal(ns, k == 0 ? 1 : 2);
                    assert_int_equal(ns, nd);
                    for (int q = 0; q < ns; q++)
                        memcpy(dst[q], src[q], sizes[p] * sizeof(float));
                }
                net_optim_set_step(resumed, net_optim_step(part));
            }
            for (int r = 0; r < 2; r++) {
                net_optim *oo = r ? o : full;
                net_optim_begin_step(oo);
                net_optim_update(oo, 0, w[r], g, 0.01, 1);
                net_optim_update(oo, 1, w[r] + N0, g + N0, 0.01, 0);
            }
        }
        assert_memory_equal(w[0], w[1], sizeof w[0]);
        float *b[2];
        int nb;
        assert_int_equal(net_optim_state(full, 2, b, &nb), MINT_E_ARG);
        net_optim_destroy(full), net_optim_destroy(part), net_optim_destroy(resumed);
    }
}

static void test_optim_bad_args(void **state)
{
    (void)state;
    const size_t sizes[2] = { 4, 0 }, ok_sizes[1] = { 4 };
    net_optim *o = (net_optim *)&o;
    const net_optim_cfg sgd = { NET_OPT_SGD, 0.9, 0, 0, 0, 0, 0 };
    assert_int_equal(net_optim_create(&o, &sgd, 2, sizes), MINT_E_ARG);
    assert_null(o);
    assert_int_equal(net_optim_create(&o, &sgd, 0, ok_sizes), MINT_E_ARG);
    assert_int_equal(net_optim_create(&o, NULL, 1, ok_sizes), MINT_E_ARG);
    const net_optim_cfg bad[] = { { NET_OPT_SGD, 1.0, 0, 0, 0, 0, 0 },
                                  { NET_OPT_SGD, -0.1, 0, 0, 0, 0, 0 },
                                  { NET_OPT_SGD, 0, 1, 0, 0, 0, 0 },
                                  { NET_OPT_SGD, 0.9, 0, 0, 0, 0, -1e-4 },
                                  { NET_OPT_ADAM, 0, 0, 1.0, 0.999, 1e-8, 0 },
                                  { NET_OPT_ADAM, 0, 0, 0.9, 1.5, 1e-8, 0 },
                                  { NET_OPT_ADAMW, 0, 0, 0.9, 0.999, 0, 0 },
                                  { NET_OPT_ADAMW, 0, 0, 0.9, 0.999, 1e-8, NAN },
                                  { (net_opt_kind)7, 0, 0, 0.9, 0.999, 1e-8, 0 } };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        assert_int_equal(net_optim_create(&o, &bad[k], 1, ok_sizes), MINT_E_ARG);
        assert_null(o);
    }
    net_optim_destroy(NULL);
}

/* ---------------- lr schedules ---------------- */

static void lr_golden(const char *name, const net_lr_sched *s)
{
    io_npy a = load(name);
    const int64_t total = a.dims[0];
    assert_int_equal(net_lr_check(s, total), MINT_OK);
    double worst = 0.0;
    for (int64_t t = 0; t < total; t++) {
        const double ref = F32(&a)[t], got = net_lr_at(s, t, total);
        worst = fmax(worst, fabs(got - ref) / fmax(fabs(ref), 1e-6));
    }
    printf("  %s: %lld steps, rel err %.1e\n", name, (long long)total, worst);
    assert_true(worst < 1e-5);
    io_npy_free(&a);
}

static void test_lr_golden(void **state)
{
    (void)state;
    const net_lr_sched ms = { NET_LR_STEP, 0.1, 0.1, { 3, 7 }, 2, 0, 0, 0 },
                       cs = { NET_LR_COSINE, 0.1, 0, { 0 }, 0, 0, 0.001, 0 },
                       wc = { NET_LR_COSINE, 0.1, 0, { 0 }, 0, 4, 0.001, 0 },
                       po = { NET_LR_POLY, 0.1, 0, { 0 }, 0, 4, 0, 2.0 };
    lr_golden("lr_multistep", &ms);
    lr_golden("lr_cosine", &cs);
    lr_golden("lr_warmcos", &wc);
    lr_golden("lr_poly", &po);
    const net_lr_sched c = { NET_LR_CONST, 0.05, 0, { 0 }, 0, 2, 0, 0 };
    assert_true(net_lr_at(&c, 0, 10) == 0.0);
    assert_true(net_lr_at(&c, 1, 10) == 0.025);
    assert_true(net_lr_at(&c, 9, 10) == 0.05);
    assert_true(net_lr_at(&cs, 25, 20) == 0.001); /* past the end: min_lr */
}

static void test_lr_bad_args(void **state)
{
    (void)state;
    const net_lr_sched bad[] = { { NET_LR_CONST, 0, 0, { 0 }, 0, 0, 0, 0 },
                                 { NET_LR_CONST, 0.1, 0, { 0 }, 0, 10, 0, 0 },
                                 { NET_LR_CONST, 0.1, 0, { 0 }, 0, -1, 0, 0 },
                                 { NET_LR_STEP, 0.1, 0.1, { 5, 3 }, 2, 0, 0, 0 },
                                 { NET_LR_STEP, 0.1, 0.1, { 5, 5 }, 2, 0, 0, 0 },
                                 { NET_LR_STEP, 0.1, 0.1, { 0 }, 9, 0, 0, 0 },
                                 { NET_LR_STEP, 0.1, 0, { 3 }, 1, 0, 0, 0 },
                                 { NET_LR_COSINE, 0.1, 0, { 0 }, 0, 0, 0.2, 0 },
                                 { NET_LR_POLY, 0.1, 0, { 0 }, 0, 0, 0, 0 },
                                 { (net_lr_kind)9, 0.1, 0, { 0 }, 0, 0, 0, 0 } };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++)
        assert_int_equal(net_lr_check(&bad[k], 10), MINT_E_ARG);
    const net_lr_sched ok = { NET_LR_CONST, 0.1, 0, { 0 }, 0, 0, 0, 0 };
    assert_int_equal(net_lr_check(&ok, 0), MINT_E_ARG);
    assert_int_equal(net_lr_check(NULL, 10), MINT_E_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xent_golden),    cmocka_unit_test(test_arcface_golden),
        cmocka_unit_test(test_cosface_golden), cmocka_unit_test(test_linear_golden),
        cmocka_unit_test(test_head_fd),        cmocka_unit_test(test_head_clamp),
        cmocka_unit_test(test_head_threads),   cmocka_unit_test(test_head_bad_args),
        cmocka_unit_test(test_optim_golden),   cmocka_unit_test(test_optim_resume),
        cmocka_unit_test(test_optim_bad_args), cmocka_unit_test(test_lr_golden),
        cmocka_unit_test(test_lr_bad_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
