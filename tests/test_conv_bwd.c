/* test_conv_bwd.c - convolution backward (kernels/conv_bwd.c) on every ISA
 * table this machine runs, against a direct double-precision reference of
 * the input, weight and bias gradients; a central finite-difference check
 * of one small case against the forward conv; bit-identical reruns;
 * kern_conv_repack. Links only libmintkern.a (cross-builds, runs under
 * qemu-aarch64 with `make CROSS=aarch64-linux-gnu- test-kernels`).
 *
 * Tolerance: |got - want| <= 1e-5 * (1 + sum of |terms|), as test_kernels. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kernels.h"
#include "mini_cmocka.h"
#ifdef _OPENMP
#include <omp.h>
#endif

static uint32_t rng_state = 777u;
static float frand(void) /* uniform in [-1, 1) */
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)((rng_state >> 8) & 0xffffff) / 8388608.0f - 1.0f;
}
static void fill(float *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = frand();
}
static void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    assert_non_null(p);
    return p;
}

typedef struct {
    const char *name;
    int cout, cin, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, groups;
    int n, h, w;
} bwd_case;

/* IResNet's convs (3x3 s1/s2 p1, 1x1 s2 shortcut, depthwise), odd sizes
 * (channels around the tiles, odd h/w, n 1..3), generic geometries. */
static const bwd_case cases[] = {
    /* name               cout cin kh kw sh sw pt pl pb pr dh dw  g  n   h   w */
    { "conv3x3s1",          70, 17, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3,  7,  5 },
    { "conv3x3s1 64",       64, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2,  6,  6 },
    { "stem 3->64",         64,  3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 12, 11 },
    { "conv3x3s2",          33, 65, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 2,  9,  8 },
    { "conv3x3s2 even",     65, 17, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 10, 10 },
    { "conv1x1s2",          65, 33, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1, 2,  9,  7 },
    { "conv1x1s2 even",     16,  7, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1, 3,  8,  6 },
    { "conv1x1s1",           5, 13, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 2,  3,  5 },
    { "many dw chunks",    520,  8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 13, 11 },
    /* wide enough for dw's stride-1 padded-domain form (kernels/conv_bwd.c) */
    { "conv3x3s1 wide",     70, 17, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3, 29, 31 },
    { "s1 wide 130 ch",    130,  7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 30, 33 },
    { "s1 5x5 asym wide",    9, 13, 5, 5, 1, 1, 2, 1, 0, 3, 1, 1, 1, 2, 50, 47 },
    { "5x5d2 asym pad",      9,  5, 5, 5, 1, 1, 1, 3, 2, 0, 2, 2, 1, 2, 13, 12 },
    { "2x3 s(1,2)",          9,  3, 2, 3, 1, 2, 0, 1, 1, 0, 1, 1, 1, 1,  6,  8 },
    { "3x3s3 (gaps)",        6,  4, 3, 3, 3, 3, 0, 0, 0, 0, 1, 1, 1, 1, 10,  8 },
    { "dwconv3x3s1",        33, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1,33, 2,  7,  6 },
    { "dwconv3x3s2",        65, 65, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1,65, 3,  9,  9 },
    { "dwconv7x7 GDC",      17, 17, 7, 7, 1, 1, 0, 0, 0, 0, 1, 1,17, 2,  7,  7 },
};
#define NCASES (sizeof cases / sizeof cases[0])

typedef struct {
    const bwd_case *t;
    int oh, ow, cin_g;
    size_t nin, nout, nw;
} shape;

static shape shape_of(const bwd_case *t)
{
    shape s = { t, 0, 0, t->cin / t->groups, 0, 0, 0 };
    s.oh = kern_conv_out_dim(t->h, t->kh, t->sh, t->pt, t->pb, t->dh);
    s.ow = kern_conv_out_dim(t->w, t->kw, t->sw, t->pl, t->pr, t->dw);
    assert_true(s.oh > 0 && s.ow > 0);
    s.nin = (size_t)t->n * t->h * t->w * t->cin;
    s.nout = (size_t)t->n * s.oh * s.ow * t->cout;
    s.nw = (size_t)t->cout * s.cin_g * t->kh * t->kw;
    return s;
}

/* Calls f(ctx, input index, output index, weight index) for every term
 * in[i] * w[k] of out[o] of the forward convolution (NHWC, OIHW). */
static void for_each_term(const shape *s, void (*f)(void *, size_t, size_t, size_t), void *ctx)
{
    const bwd_case *t = s->t;
    const int cout_g = t->cout / t->groups;
    for (int b = 0; b < t->n; b++)
        for (int oy = 0; oy < s->oh; oy++)
            for (int ox = 0; ox < s->ow; ox++)
                for (int o = 0; o < t->cout; o++)
                    for (int ky = 0; ky < t->kh; ky++)
                        for (int kx = 0; kx < t->kw; kx++) {
                            const int iy = oy * t->sh - t->pt + ky * t->dh;
                            const int ix = ox * t->sw - t->pl + kx * t->dw;
                            if (iy < 0 || iy >= t->h || ix < 0 || ix >= t->w)
                                continue;
                            for (int k = 0; k < s->cin_g; k++) {
                                const size_t i = (((size_t)b * t->h + iy) * t->w + ix) * t->cin +
                                                 (size_t)(o / cout_g) * s->cin_g + k;
                                const size_t oi = (((size_t)b * s->oh + oy) * s->ow + ox) * t->cout + o;
                                const size_t wi = (((size_t)o * s->cin_g + k) * t->kh + ky) * t->kw + kx;
                                f(ctx, i, oi, wi);
                            }
                        }
}

/* Reference gradients in double with magnitudes (sum of |terms|). */
typedef struct {
    const float *in, *w, *dout;
    double *din, *din_mag, *dw, *dw_mag;
} ref_ctx;

static void ref_term(void *c, size_t i, size_t o, size_t k)
{
    ref_ctx *r = c;
    const double gi = (double)r->dout[o] * r->w[k], gw = (double)r->dout[o] * r->in[i];
    r->din[i] += gi;
    r->din_mag[i] += fabs(gi);
    r->dw[k] += gw;
    r->dw_mag[k] += fabs(gw);
}

static int close_enough(float got, double want, double mag)
{
    return fabs((double)got - want) <= 1e-5 * (1.0 + mag);
}

/* Index of the first element out of tolerance, or n. */
static size_t first_bad(const float *got, const double *want, const double *mag, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!close_enough(got[i], want[i], mag[i]))
            return i;
    return n;
}

typedef struct {
    float *in, *w, *dout, *din, *dw, *db, *dw0, *db0;
    double *rdin, *rdin_mag, *rdw, *rdw_mag, *rdb, *rdb_mag;
} bufs;

static void make_bufs(const shape *s, bufs *b)
{
    const int C = s->t->cout;
    b->in = xmalloc(s->nin * sizeof(float));
    b->w = xmalloc(s->nw * sizeof(float));
    b->dout = xmalloc(s->nout * sizeof(float));
    b->din = xmalloc((s->nin + 4) * sizeof(float));
    b->dw = xmalloc((s->nw + 4) * sizeof(float));
    b->db = xmalloc((C + 4) * sizeof(float));
    b->dw0 = xmalloc(s->nw * sizeof(float));
    b->db0 = xmalloc(C * sizeof(float));
    b->rdin = calloc(s->nin, sizeof(double));
    b->rdin_mag = calloc(s->nin, sizeof(double));
    b->rdw = calloc(s->nw, sizeof(double));
    b->rdw_mag = calloc(s->nw, sizeof(double));
    b->rdb = calloc(C, sizeof(double));
    b->rdb_mag = calloc(C, sizeof(double));
    assert_true(b->rdin && b->rdin_mag && b->rdw && b->rdw_mag && b->rdb && b->rdb_mag);
    fill(b->in, s->nin);
    fill(b->w, s->nw);
    fill(b->dout, s->nout);
    fill(b->dw0, s->nw); /* gradients accumulate onto these */
    fill(b->db0, C);
    ref_ctx r = { b->in, b->w, b->dout, b->rdin, b->rdin_mag, b->rdw, b->rdw_mag };
    for_each_term(s, ref_term, &r);
    for (size_t i = 0; i < s->nw; i++) {
        b->rdw[i] += b->dw0[i];
        b->rdw_mag[i] += fabs(b->dw0[i]);
    }
    for (size_t m = 0; m < s->nout / C; m++)
        for (int o = 0; o < C; o++) {
            b->rdb[o] += b->dout[m * C + o];
            b->rdb_mag[o] += fabs(b->dout[m * C + o]);
        }
    for (int o = 0; o < C; o++) {
        b->rdb[o] += b->db0[o];
        b->rdb_mag[o] += fabs(b->db0[o]);
    }
}

static void free_bufs(bufs *b)
{
    free(b->in); free(b->w); free(b->dout); free(b->din); free(b->dw); free(b->db);
    free(b->dw0); free(b->db0); free(b->rdin); free(b->rdin_mag); free(b->rdw);
    free(b->rdw_mag); free(b->rdb); free(b->rdb_mag);
}

#define GUARD 1234.5f

/* One run: din pre-filled with NaN (must be overwritten), dw/db with dw0/db0
 * (must be accumulated onto), guards past the ends. */
static void run_once(kern_conv_bwd *p, const shape *s, bufs *b)
{
    const int C = s->t->cout;
    for (size_t i = 0; i < s->nin; i++)
        b->din[i] = NAN;
    memcpy(b->dw, b->dw0, s->nw * sizeof(float));
    memcpy(b->db, b->db0, C * sizeof(float));
    for (int i = 0; i < 4; i++)
        b->din[s->nin + i] = b->dw[s->nw + i] = b->db[C + i] = GUARD;
    assert_int_equal(kern_conv_bwd_run(p, b->w, b->in, s->t->n, b->dout, b->din, b->dw, b->db),
                     MINT_OK);
    for (int i = 0; i < 4; i++)
        assert_true(b->din[s->nin + i] == GUARD && b->dw[s->nw + i] == GUARD &&
                    b->db[C + i] == GUARD);
}

static void check_grads(const shape *s, const bufs *b, const char *isa)
{
    const char *what[3] = { "din", "dw", "db" };
    const float *got[3] = { b->din, b->dw, b->db };
    const double *want[3] = { b->rdin, b->rdw, b->rdb }, *mag[3] = { b->rdin_mag, b->rdw_mag, b->rdb_mag };
    const size_t n[3] = { s->nin, s->nw, (size_t)s->t->cout };
    for (int k = 0; k < 3; k++) {
        const size_t i = first_bad(got[k], want[k], mag[k], n[k]);
        if (i < n[k])
            fail_msg("%s on %s: %s[%zu] = %.9g, want %.9g", s->t->name, isa, what[k], i,
                     got[k][i], want[k][i]);
    }
}

static void set_threads(int n)
{
#ifdef _OPENMP
    omp_set_num_threads(n);
#else
    (void)n;
#endif
}

static void test_against_reference(void **state)
{
    (void)state;
    const char *names[] = { "scalar", "avx2", "avx512", "neon" };
    for (size_t i = 0; i < 4; i++)
        if (!kern_isa_find(names[i]))
            print_message("  %s: SKIPPED (not built or not supported here)\n", names[i]);
    const kern_isa *all[8];
    const int nisa = kern_isa_available(all, 8);
    for (size_t ci = 0; ci < NCASES; ci++) {
        const bwd_case *t = &cases[ci];
        const kern_conv_geom g = { t->kh, t->kw, t->sh, t->sw, t->pt, t->pl, t->pb, t->pr,
                                   t->dh, t->dw, t->groups };
        const shape s = shape_of(t);
        bufs b;
        make_bufs(&s, &b);
        for (int ii = 0; ii < nisa; ii++) {
            kern_conv_bwd *p = NULL;
            assert_int_equal(kern_conv_bwd_create(&p, all[ii], t->cout, t->cin, &g, t->n + 1, t->h,
                                                  t->w), MINT_OK);
            for (int thr = 2; thr >= 1; thr--) {
                set_threads(thr);
                run_once(p, &s, &b);
                check_grads(&s, &b, all[ii]->name);
            }
            set_threads(2);
            kern_conv_bwd_destroy(p);
        }
        print_message("  %-15s %3d->%-3d %dx%d s%dx%d g%-2d n%d %2dx%-2d: din, dw, db ok on %d ISA(s)\n",
                      t->name, t->cin, t->cout, t->kh, t->kw, t->sh, t->sw, t->groups, t->n, t->h,
                      t->w, nisa);
        free_bufs(&b);
    }
}

/* The checker itself: a slightly wrong gradient (one element just past the
 * tolerance, or the gradient of spatially flipped weights) is refused. */
static void test_wrong_gradient_fails(void **state)
{
    (void)state;
    const bwd_case *t = &cases[0];
    const kern_conv_geom g = { t->kh, t->kw, t->sh, t->sw, t->pt, t->pl, t->pb, t->pr, t->dh, t->dw,
                               t->groups };
    const shape s = shape_of(t);
    bufs b;
    make_bufs(&s, &b);
    kern_conv_bwd *p = NULL;
    assert_int_equal(kern_conv_bwd_create(&p, kern_active(), t->cout, t->cin, &g, t->n, t->h, t->w),
                     MINT_OK);
    run_once(p, &s, &b);
    assert_true(first_bad(b.din, b.rdin, b.rdin_mag, s.nin) == s.nin);
    b.din[s.nin / 2] += (float)(2e-5 * (1 + b.rdin_mag[s.nin / 2])); /* just past tolerance */
    assert_true(first_bad(b.din, b.rdin, b.rdin_mag, s.nin) == s.nin / 2);
    /* weights flipped in space (a classic transposed-conv slip) */
    float *wf = xmalloc(s.nw * sizeof(float));
    for (size_t k = 0; k < s.nw; k += 9)
        for (int j = 0; j < 9; j++)
            wf[k + j] = b.w[k + 8 - j];
    assert_int_equal(kern_conv_bwd_run(p, wf, b.in, t->n, b.dout, b.din, NULL, NULL), MINT_OK);
    assert_true(first_bad(b.din, b.rdin, b.rdin_mag, s.nin) < s.nin);
    free(wf);
    kern_conv_bwd_destroy(p);
    free_bufs(&b);
}

/* Each gradient alone (NULL skips the others) and bit-identical reruns at
 * a fixed thread count. */
static void test_skip_and_repeat(void **state)
{
    (void)state;
    const bwd_case *t = &cases[3]; /* conv3x3s2 */
    const kern_conv_geom g = { t->kh, t->kw, t->sh, t->sw, t->pt, t->pl, t->pb, t->pr, t->dh, t->dw,
                               t->groups };
    const shape s = shape_of(t);
    bufs b;
    make_bufs(&s, &b);
    kern_conv_bwd *p = NULL;
    assert_int_equal(kern_conv_bwd_create(&p, kern_active(), t->cout, t->cin, &g, t->n, t->h, t->w),
                     MINT_OK);
    run_once(p, &s, &b);
    float *din = xmalloc(s.nin * sizeof(float)), *dw = xmalloc(s.nw * sizeof(float));
    float *db = xmalloc(t->cout * sizeof(float));
    memcpy(din, b.din, s.nin * sizeof(float));
    memcpy(dw, b.dw, s.nw * sizeof(float));
    memcpy(db, b.db, t->cout * sizeof(float));
    run_once(p, &s, &b);
    assert_true(memcmp(din, b.din, s.nin * sizeof(float)) == 0);
    assert_true(memcmp(dw, b.dw, s.nw * sizeof(float)) == 0);
    assert_true(memcmp(db, b.db, t->cout * sizeof(float)) == 0);
    /* one at a time: same bits as all together */
    memset(b.din, 0, s.nin * sizeof(float));
    assert_int_equal(kern_conv_bwd_run(p, b.w, NULL, t->n, b.dout, b.din, NULL, NULL), MINT_OK);
    assert_true(memcmp(din, b.din, s.nin * sizeof(float)) == 0);
    memcpy(b.dw, b.dw0, s.nw * sizeof(float));
    assert_int_equal(kern_conv_bwd_run(p, NULL, b.in, t->n, b.dout, NULL, b.dw, NULL), MINT_OK);
    assert_true(memcmp(dw, b.dw, s.nw * sizeof(float)) == 0);
    memcpy(b.db, b.db0, t->cout * sizeof(float));
    assert_int_equal(kern_conv_bwd_run(p, NULL, NULL, t->n, b.dout, NULL, NULL, b.db), MINT_OK);
    assert_true(memcmp(db, b.db, t->cout * sizeof(float)) == 0);
    /* a smaller batch than planned */
    assert_int_equal(kern_conv_bwd_run(p, b.w, b.in, 1, b.dout, b.din, NULL, NULL), MINT_OK);
    assert_true(memcmp(din, b.din, s.nin / t->n * sizeof(float)) == 0);
    free(din); free(dw); free(db);
    kern_conv_bwd_destroy(p);
    free_bufs(&b);
}

/* Loss L = sum dout * conv(in, w) in double; its central differences in
 * in and w against the backward. The double forward is first checked
 * against kern_conv_run, so this is the gradient of the engine's forward. */
typedef struct {
    const double *in, *w;
    double *out;
} fwd_ctx;

static void fwd_term(void *c, size_t i, size_t o, size_t k)
{
    fwd_ctx *f = c;
    f->out[o] += f->in[i] * f->w[k];
}

static double loss(const shape *s, const double *in, const double *w, const float *dout, double *out)
{
    memset(out, 0, s->nout * sizeof(double));
    fwd_ctx f = { in, w, out };
    for_each_term(s, fwd_term, &f);
    double l = 0;
    for (size_t i = 0; i < s->nout; i++)
        l += out[i] * dout[i];
    return l;
}

static void check_fd(const shape *s, const float *got, double *x, size_t n, const double *in,
                     const double *w, const float *dout, double *out, const char *what)
{
    const double eps = 1e-3;
    for (size_t i = 0; i < n; i++) {
        const double x0 = x[i];
        x[i] = x0 + eps;
        const double lp = loss(s, in, w, dout, out);
        x[i] = x0 - eps;
        const double lm = loss(s, in, w, dout, out);
        x[i] = x0;
        const double fd = (lp - lm) / (2 * eps);
        if (fabs(fd - got[i]) > 1e-4 * (1 + fabs(fd)))
            fail_msg("finite differences: %s[%zu] = %.9g, central difference %.9g", what, i,
                     got[i], fd);
    }
}

static void test_finite_differences(void **state)
{
    (void)state;
    const bwd_case t = { "fd 3x3s2", 5, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 2, 5, 6 };
    const kern_conv_geom g = { 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1 };
    const shape s = shape_of(&t);
    float *in = xmalloc(s.nin * sizeof(float)), *w = xmalloc(s.nw * sizeof(float));
    float *dout = xmalloc(s.nout * sizeof(float)), *fo = xmalloc(s.nout * sizeof(float));
    float *din = xmalloc(s.nin * sizeof(float)), *dw = calloc(s.nw, sizeof(float));
    double *ind = xmalloc(s.nin * sizeof(double)), *wd = xmalloc(s.nw * sizeof(double));
    double *out = xmalloc(s.nout * sizeof(double));
    assert_non_null(dw);
    fill(in, s.nin);
    fill(w, s.nw);
    fill(dout, s.nout);
    for (size_t i = 0; i < s.nin; i++)
        ind[i] = in[i];
    for (size_t i = 0; i < s.nw; i++)
        wd[i] = w[i];
    /* the double forward is the engine's forward */
    kern_conv *cv = NULL;
    assert_int_equal(kern_conv_create(&cv, kern_active(), t.cout, t.cin, &g, w, NULL), MINT_OK);
    assert_int_equal(kern_conv_run(cv, in, t.n, t.h, t.w, fo, NULL, KERN_ACT_NONE, NULL, 0, 0),
                     MINT_OK);
    kern_conv_destroy(cv);
    loss(&s, ind, wd, dout, out);
    for (size_t i = 0; i < s.nout; i++)
        assert_true(fabs(fo[i] - out[i]) < 1e-5 * (1 + fabs(out[i])) * 30);
    kern_conv_bwd *p = NULL;
    assert_int_equal(kern_conv_bwd_create(&p, kern_active(), t.cout, t.cin, &g, t.n, t.h, t.w),
                     MINT_OK);
    assert_int_equal(kern_conv_bwd_run(p, w, in, t.n, dout, din, dw, NULL), MINT_OK);
    check_fd(&s, din, ind, s.nin, ind, wd, dout, out, "din");
    check_fd(&s, dw, wd, s.nw, ind, wd, dout, out, "dw");
    kern_conv_bwd_destroy(p);
    free(in); free(w); free(dout); free(fo); free(din); free(dw); free(ind); free(wd); free(out);
}

/* kern_conv_repack gives the bits of a conv created with the new weights
 * and bias, on every ISA, with and without bias (both ways). */
static void test_repack(void **state)
{
    (void)state;
    const kern_isa *all[8];
    const int nisa = kern_isa_available(all, 8);
    const int cout = 70, cin = 17, n = 2, h = 7, w = 5;
    const kern_conv_geom geoms[2] = { { 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1 },
                                      { 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, cin } };
    const size_t nin = (size_t)n * h * w * cin, nout = (size_t)n * h * w * cout;
    float *in = xmalloc(nin * sizeof(float)), *w1 = xmalloc((size_t)cout * cin * 9 * sizeof(float));
    float *w2 = xmalloc((size_t)cout * cin * 9 * sizeof(float)), *b2 = xmalloc(cout * sizeof(float));
    float *o1 = xmalloc(nout * sizeof(float)), *o2 = xmalloc(nout * sizeof(float));
    fill(in, nin);
    fill(w1, (size_t)cout * cin * 9);
    fill(w2, (size_t)cout * cin * 9);
    fill(b2, cout);
    for (int ii = 0; ii < nisa; ii++)
        for (int gi = 0; gi < 2; gi++) {
            const int co = gi ? cin : cout; /* depthwise: cout = cin */
            const float *bias[3] = { b2, NULL, b2 };
            kern_conv *a = NULL, *ref = NULL;
            assert_int_equal(kern_conv_create(&a, all[ii], co, cin, &geoms[gi], w1, NULL), MINT_OK);
            for (int k = 0; k < 3; k++) {
                assert_int_equal(kern_conv_repack(a, k == 2 ? w1 : w2, bias[k]), MINT_OK);
                assert_int_equal(kern_conv_create(&ref, all[ii], co, cin, &geoms[gi], k == 2 ? w1 : w2,
                                                  bias[k]), MINT_OK);
                const int oh = gi ? h : 4, ow = gi ? w : 3;
                const size_t no = (size_t)n * oh * ow * co;
                assert_int_equal(kern_conv_run(a, in, n, h, w, o1, NULL, 0, NULL, 0, 0), MINT_OK);
                assert_int_equal(kern_conv_run(ref, in, n, h, w, o2, NULL, 0, NULL, 0, 0), MINT_OK);
                assert_true(memcmp(o1, o2, no * sizeof(float)) == 0);
                kern_conv_destroy(ref);
            }
            kern_conv_destroy(a);
        }
    assert_int_equal(kern_conv_repack(NULL, w1, NULL), MINT_E_ARG);
    free(in); free(w1); free(w2); free(b2); free(o1); free(o2);
}

static void test_bad_args(void **state)
{
    (void)state;
    const kern_isa *isa = kern_active();
    kern_conv_bwd *p = (kern_conv_bwd *)&p;
    kern_conv_geom g = { 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2 };
    assert_int_equal(kern_conv_bwd_create(&p, isa, 8, 8, &g, 1, 4, 4), MINT_E_UNSUPPORTED);
    assert_null(p);
    g.groups = 1;
    assert_int_equal(kern_conv_bwd_create(&p, isa, 0, 8, &g, 1, 4, 4), MINT_E_ARG);
    assert_int_equal(kern_conv_bwd_create(&p, isa, 8, 8, &g, 0, 4, 4), MINT_E_ARG);
    assert_int_equal(kern_conv_bwd_create(&p, NULL, 8, 8, &g, 1, 4, 4), MINT_E_ARG);
    assert_int_equal(kern_conv_bwd_create(&p, isa, 8, 8, NULL, 1, 4, 4), MINT_E_ARG);
    assert_int_equal(kern_conv_bwd_create(NULL, isa, 8, 8, &g, 1, 4, 4), MINT_E_ARG);
    g.pl = -1;
    assert_int_equal(kern_conv_bwd_create(&p, isa, 8, 8, &g, 1, 4, 4), MINT_E_ARG);
    g.pl = 0;
    g.pt = g.pb = g.pr = 0;
    assert_int_equal(kern_conv_bwd_create(&p, isa, 8, 8, &g, 1, 2, 2), MINT_E_SHAPE);
    assert_int_equal(kern_conv_bwd_create(&p, isa, 1 << 30, 1 << 30, &g, 1 << 30, 1 << 14, 1 << 14),
                     MINT_E_NOMEM);
    assert_int_equal(kern_conv_bwd_create(&p, isa, 8, 8, &g, 2, 4, 4), MINT_OK);
    float w[8 * 8 * 9] = { 0 }, in[2 * 4 * 4 * 8] = { 0 }, dout[2 * 2 * 2 * 8] = { 0 };
    float din[2 * 4 * 4 * 8], dw[8 * 8 * 9] = { 0 };
    assert_int_equal(kern_conv_bwd_run(p, w, in, 3, dout, din, dw, NULL), MINT_E_ARG);
    assert_int_equal(kern_conv_bwd_run(p, w, in, 0, dout, din, dw, NULL), MINT_E_ARG);
    assert_int_equal(kern_conv_bwd_run(p, NULL, in, 2, dout, din, NULL, NULL), MINT_E_ARG);
    assert_int_equal(kern_conv_bwd_run(p, w, NULL, 2, dout, NULL, dw, NULL), MINT_E_ARG);
    assert_int_equal(kern_conv_bwd_run(p, w, in, 2, NULL, din, dw, NULL), MINT_E_ARG);
    assert_int_equal(kern_conv_bwd_run(NULL, w, in, 2, dout, din, dw, NULL), MINT_E_ARG);
    assert_int_equal(kern_conv_bwd_run(p, w, in, 2, dout, din, dw, NULL), MINT_OK);
    kern_conv_bwd_destroy(p);
    kern_conv_bwd_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_reference),
        cmocka_unit_test(test_wrong_gradient_fails),
        cmocka_unit_test(test_skip_and_repeat),
        cmocka_unit_test(test_finite_differences),
        cmocka_unit_test(test_repack),
        cmocka_unit_test(test_bad_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
