/* test_kernels.c - every microkernel of every ISA this CPU runs against the
 * scalar reference, and the convolution driver against a direct convolution
 * computed here in double precision. Links only libmintkern.a.
 *
 * Tolerance: |got - want| <= 1e-5 * (1 + sum of |terms|), i.e. scaled with
 * the reduction length and magnitude (float accumulation in a different
 * order, FMA vs mul+add).
 *
 * Without cmocka (cross builds: no aarch64 cmocka on the host) the minimal
 * stand-in of mini_cmocka.h is used. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kernels.h"
#include "mini_cmocka.h"

/* ---- helpers ---- */

static uint32_t rng_state = 12345u;
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

#define SENTINEL 1234.5f

static double act_d(double y, int act, double slope, double lo, double hi)
{
    switch (act) {
    case KERN_ACT_RELU: return y < 0 ? 0 : y;
    case KERN_ACT_PRELU: return y < 0 ? y * slope : y;
    case KERN_ACT_CLIP: return y < lo ? lo : y > hi ? hi : y;
    default: return y;
    }
}

static int close_enough(float got, double want, double mag)
{
    return fabs((double)got - want) <= 1e-5 * (1.0 + mag);
}

/* ---- dispatch ---- */

static void test_dispatch(void **state)
{
    (void)state;
    const kern_isa *all[8];
    const int n = kern_isa_available(all, 8);
    assert_true(n >= 1);
    assert_true(all[0] == kern_scalar());
    /* MINT_ISA (make test-kernels runs this binary under each value): a
     * path this machine runs is the active one, else the best one is. */
    const char *env = getenv("MINT_ISA");
    if (env && *env && strcmp(env, "auto") != 0) {
        const kern_isa *want = kern_isa_find(env) ? kern_isa_find(env) : all[n - 1];
        print_message("  MINT_ISA=%s: active %s\n", env, kern_active()->name);
        assert_true(kern_active() == want);
        assert_int_equal(mint_isa_env_check(), kern_isa_find(env) ? MINT_OK : MINT_E_UNSUPPORTED);
    }
    /* every table holds every op of the list, named and with a tile */
    for (int i = 0; i < n; i++) {
#define HAS_OP(op) \
        assert_non_null(all[i]->op); \
        assert_non_null(all[i]->op##_name); \
        assert_true(all[i]->op##_tile.m >= 1 && all[i]->op##_tile.n >= 1);
        KERN_OPS(HAS_OP)
#undef HAS_OP
    }
    assert_non_null(kern_active());
    assert_true(kern_isa_find("scalar") == kern_scalar());
    assert_null(kern_isa_find("no-such-isa"));
    assert_null(kern_isa_find(NULL));
    assert_int_equal(mint_set_isa("no-such-isa"), MINT_E_UNSUPPORTED);
    const char *before = mint_isa();
    assert_int_equal(mint_set_isa("scalar"), MINT_OK);
    assert_true(strcmp(mint_isa(), "scalar") == 0);
    assert_int_equal(mint_set_isa(before), MINT_OK);
    assert_true(strcmp(mint_isa(), before) == 0);
    print_message("  ISAs on this machine:");
    for (int i = 0; i < n; i++)
        print_message(" %s(%dx%d)", all[i]->name, all[i]->igemm_tile.m, all[i]->igemm_tile.n);
    print_message("; active: %s\n", mint_isa());
    static const char *const known[] = { "avx2", "avx512", "neon" };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        print_message("  %s: %s\n", known[i],
                      kern_isa_find(known[i]) ? "tested" : "SKIPPED (not built or not supported here)");
    assert_int_equal(kern_conv_out_dim(112, 3, 2, 1, 1, 1), 56);
    assert_int_equal(kern_conv_out_dim(7, 3, 1, 1, 1, 1), 7);
    assert_int_equal(kern_conv_out_dim(13, 5, 1, 1, 2, 2), 8);
    assert_int_equal(kern_conv_out_dim(2, 5, 1, 0, 0, 1), 0);
    assert_int_equal(kern_conv_out_dim(0, 1, 1, 0, 0, 1), 0);
    assert_int_equal(kern_conv_out_dim(5, 1, 0, 0, 0, 1), 0);
}

/* ---- igemm ---- */

/* Logical problem of one tile: rows[s*mr_max + r] point to kc floats,
 * wl[(s*kc + k)*ncol + j] the logical weights. Runs `isa`'s igemm over it,
 * re-laying a and w out for that ISA's MR/NR in as many tiles as needed. */
static void igemm_logical(const kern_isa *isa, size_t mr, size_t nc, size_t kc, size_t ks,
                          const float *const *rows, size_t rstride, const float *wl,
                          float *c, size_t ldc, const float *res, size_t ldr,
                          const kern_epilogue *ep, size_t n0)
{
    const size_t MR = (size_t)isa->igemm_tile.m, NR = (size_t)isa->igemm_tile.n;
    const float **a = xmalloc(ks * MR * sizeof *a);
    float *wp = xmalloc(ks * kc * NR * sizeof *wp);
    for (size_t r0 = 0; r0 < mr; r0 += MR) {
        const size_t tmr = mr - r0 < MR ? mr - r0 : MR;
        for (size_t s = 0; s < ks; s++)
            for (size_t r = 0; r < MR; r++)
                a[s * MR + r] = rows[s * rstride + r0 + (r < tmr ? r : tmr - 1)];
        for (size_t j0 = 0; j0 < nc; j0 += NR) {
            const size_t tnc = nc - j0 < NR ? nc - j0 : NR;
            for (size_t sk = 0; sk < ks * kc; sk++)
                for (size_t j = 0; j < NR; j++)
                    wp[sk * NR + j] = j < tnc ? wl[sk * nc + j0 + j] : 0.0f;
            isa->igemm(tmr, tnc, kc, ks, a, wp, c + r0 * ldc + j0, ldc,
                       res ? res + r0 * ldr + j0 : NULL, ldr, ep, n0 + j0);
        }
    }
    free(a);
    free(wp);
}

static int igemm_case(const kern_isa *isa, size_t mr, size_t nc, size_t kc, size_t ks,
                      int use_res, int act)
{
    const size_t MR = (size_t)isa->igemm_tile.m, NR = (size_t)isa->igemm_tile.n;
    const size_t n0 = 5, ldc = NR + 3, ldr = NR + 7;
    const size_t nrows = ks * MR;
    float *pool = xmalloc(nrows * kc * sizeof(float));
    float *zero = calloc(kc, sizeof(float));
    const float **a = xmalloc(nrows * sizeof *a);
    float *w = xmalloc(ks * kc * NR * sizeof(float));
    float *bias = xmalloc((n0 + NR) * sizeof(float));
    float *slope = xmalloc((n0 + NR) * sizeof(float));
    float *res = xmalloc(MR * ldr * sizeof(float));
    float *c = xmalloc((MR + 1) * ldc * sizeof(float));
    float *cref = xmalloc((MR + 1) * ldc * sizeof(float));
    assert_non_null(zero);
    fill(pool, nrows * kc);
    fill(w, ks * kc * NR);
    fill(bias, n0 + NR);
    fill(slope, n0 + NR);
    fill(res, MR * ldr);
    for (size_t s = 0; s < ks; s++)
        for (size_t r = 0; r < MR; r++) {
            const size_t rr = r < mr ? r : mr - 1; /* rows past mr repeat */
            /* every 5th pointer is padding */
            a[s * MR + r] = (s * 7 + rr * 3) % 5 == 4 ? zero : pool + (s * MR + rr) * kc;
        }
    for (size_t i = 0; i < (MR + 1) * ldc; i++)
        c[i] = cref[i] = SENTINEL;
    const kern_epilogue ep = { bias, slope, -0.5f, 0.75f, act };
    const float *r_ptr = use_res ? res : NULL;

    /* logical weights [ks*kc][nc] from the packed panel */
    float *wl = xmalloc(ks * kc * nc * sizeof(float));
    for (size_t sk = 0; sk < ks * kc; sk++)
        for (size_t j = 0; j < nc; j++)
            wl[sk * nc + j] = w[sk * NR + j];

    isa->igemm(mr, nc, kc, ks, a, w, c, ldc, r_ptr, ldr, &ep, n0);
    igemm_logical(kern_scalar(), mr, nc, kc, ks, a, MR, wl, cref, ldc, r_ptr, ldr, &ep, n0);

    int bad = 0;
    for (size_t r = 0; r < MR + 1 && !bad; r++)
        for (size_t j = 0; j < ldc; j++) {
            const float got = c[r * ldc + j];
            if (r >= mr || j >= nc) {
                if (got != SENTINEL) {
                    print_message("  %s igemm mr=%zu nc=%zu kc=%zu ks=%zu: wrote outside the tile at (%zu,%zu)\n",
                                  isa->name, mr, nc, kc, ks, r, j);
                    bad = 1;
                    break;
                }
                continue;
            }
            /* double reference and magnitude */
            double acc = 0, mag = 0;
            for (size_t s = 0; s < ks; s++)
                for (size_t k = 0; k < kc; k++) {
                    const double t = (double)a[s * MR + r][k] * w[(s * kc + k) * NR + j];
                    acc += t;
                    mag += fabs(t);
                }
            acc += bias[n0 + j];
            mag += fabs(bias[n0 + j]);
            if (use_res) {
                acc += res[r * ldr + j];
                mag += fabs(res[r * ldr + j]);
            }
            const double want = act_d(acc, act, slope[n0 + j], -0.5, 0.75);
            if (!close_enough(got, want, mag) || !close_enough(cref[r * ldc + j], want, mag)) {
                print_message("  %s igemm mr=%zu nc=%zu kc=%zu ks=%zu res=%d act=%d (%zu,%zu): got %g scalar %g want %g\n",
                              isa->name, mr, nc, kc, ks, use_res, act, r, j, got, cref[r * ldc + j], want);
                bad = 1;
                break;
            }
        }
    free(pool); free(zero); free(a); free(w); free(bias); free(slope); free(res);
    free(c); free(cref); free(wl);
    return bad;
}

static void run_igemm_cases(const kern_isa *isa)
{
    const size_t MR = (size_t)isa->igemm_tile.m, NR = (size_t)isa->igemm_tile.n;
    const size_t mrs[] = { 1, MR > 2 ? MR / 2 : 1, MR > 1 ? MR - 1 : 1, MR };
    const size_t ncs[] = { 1, NR / 2 + 1, NR - 1, NR };
    const size_t kcs[] = { 1, 2, 3, 7, 17, 64, 131 };
    const size_t kss[] = { 1, 9 };
    int fails = 0, cases = 0;
    for (size_t i = 0; i < 4; i++)
        for (size_t j = 0; j < 4; j++)
            for (size_t k = 0; k < 7; k++)
                for (size_t s = 0; s < 2; s++)
                    for (int res = 0; res < 2; res++)
                        for (int act = 0; act < 4; act++) {
                            fails += igemm_case(isa, mrs[i], ncs[j], kcs[k], kss[s], res, act);
                            cases++;
                        }
    print_message("  %s: %d cases, %d failed\n", isa->igemm_name, cases, fails);
    assert_int_equal(fails, 0);
}

/* igemm of one ISA (the scalar one too: igemm_case checks every path
 * against a double-precision reference as well as against scalar). */
static void check_igemm(const kern_isa *isa, size_t tile)
{
    (void)tile; /* the tile is the table's igemm_tile */
    run_igemm_cases(isa);
}

/* ---- sizes around a kernel's tile ---- */

static const size_t primes[] = { 2, 3, 5, 7, 13, 17, 31, 67, 131, 257 };
#define NPRIMES (sizeof primes / sizeof primes[0])

/* 1, tile-1, tile, tile+1, 2*tile+1 and primes; returns the count. */
static size_t tile_sizes(size_t tile, size_t *out)
{
    size_t n = 0;
    out[n++] = 1;
    if (tile > 2)
        out[n++] = tile - 1;
    if (tile > 1)
        out[n++] = tile;
    out[n++] = tile + 1;
    out[n++] = 2 * tile + 1;
    for (size_t i = 0; i < NPRIMES; i++)
        out[n++] = primes[i];
    return n;
}

/* ---- dwconv ---- */

static void check_dwconv(const kern_isa *isa, size_t tile)
{
    size_t sizes[8 + NPRIMES];
    const size_t nsizes = tile_sizes(tile, sizes);
    const size_t kss[] = { 1, 4, 9 };
    int cases = 0;
    for (size_t si = 0; si < nsizes; si++)
        for (size_t ki = 0; ki < 3; ki++)
            for (int act = 0; act < 4; act++)
                for (int hb = 0; hb < 2; hb++) {
                    const size_t C = sizes[si], ks = kss[ki];
                    float *pool = xmalloc(ks * C * sizeof(float));
                    float *zero = calloc(C, sizeof(float));
                    const float **in = xmalloc(ks * sizeof *in);
                    float *w = xmalloc(ks * C * sizeof(float));
                    float *bias = xmalloc(C * sizeof(float));
                    float *slope = xmalloc(C * sizeof(float));
                    float *o = xmalloc((C + 8) * sizeof(float));
                    float *oref = xmalloc((C + 8) * sizeof(float));
                    assert_non_null(zero);
                    fill(pool, ks * C);
                    fill(w, ks * C);
                    fill(bias, C);
                    fill(slope, C);
                    for (size_t s = 0; s < ks; s++)
                        in[s] = s % 3 == 2 ? zero : pool + s * C;
                    for (size_t i = 0; i < C + 8; i++)
                        o[i] = oref[i] = SENTINEL;
                    const kern_epilogue ep = { hb ? bias : NULL, slope, -0.25f, 0.5f, act };
                    isa->dwconv(C, ks, in, w, o, &ep);
                    kern_scalar()->dwconv(C, ks, in, w, oref, &ep);
                    for (size_t ch = 0; ch < C + 8; ch++) {
                        if (ch >= C) {
                            assert_true(o[ch] == SENTINEL);
                            continue;
                        }
                        double acc = hb ? bias[ch] : 0, mag = hb ? fabs(bias[ch]) : 0;
                        for (size_t s = 0; s < ks; s++) {
                            acc += (double)in[s][ch] * w[s * C + ch];
                            mag += fabs((double)in[s][ch] * w[s * C + ch]);
                        }
                        const double want = act_d(acc, act, slope[ch], -0.25, 0.5);
                        if (!close_enough(o[ch], want, mag) || !close_enough(oref[ch], want, mag))
                            fail_msg("%s C=%zu ks=%zu act=%d ch=%zu: %g, scalar %g, want %g",
                                     isa->dwconv_name, C, ks, act, ch, o[ch], oref[ch], want);
                    }
                    free(pool); free(zero); free(in); free(w); free(bias); free(slope);
                    free(o); free(oref);
                    cases++;
                }
    print_message("  %s: %d cases (channels 1, tile-1, tile, tile+1, 2 tile+1, primes)\n",
                  isa->dwconv_name, cases);
}

/* ---- element-wise ---- */

static void check_vec(const char *what, const float *got, const float *want, size_t n,
                      size_t guard)
{
    for (size_t i = 0; i < n; i++)
        if (!close_enough(got[i], want[i], fabs(want[i])))
            fail_msg("%s n=%zu i=%zu: %g vs %g", what, n, i, got[i], want[i]);
    for (size_t i = n; i < n + guard; i++)
        if (got[i] != SENTINEL)
            fail_msg("%s n=%zu: wrote past the end at %zu", what, n, i);
}

/* One element-wise op over every size around the tile: rows x ch with
 * per-channel parameters (rows 1, 3, 7; ch = 1 is the shared-parameter
 * form) against the scalar kernel and a double-precision formula, with a
 * NaN in x[0] that passes through (NaN in, NaN out). */
enum { EW_AFFINE, EW_PRELU, EW_CLIP, EW_ADD };

static void ew_run(const kern_isa *t, int op, size_t rows, size_t ch, const float *x,
                   const float *x2, const float *p1, const float *p2, float *y)
{
    const size_t tot = rows * ch;
    switch (op) {
    case EW_AFFINE: t->affine(rows, ch, x, p1, p2, y); break;
    case EW_PRELU: t->prelu(rows, ch, x, p1, y); break;
    case EW_CLIP: t->clip(tot, x, -0.3f, 0.6f, y); break;
    default: t->add(tot, x, x2, y); break;
    }
}

static double ew_want(int op, double x, double x2, double p1, double p2)
{
    switch (op) {
    case EW_AFFINE: return x * p1 + p2;
    case EW_PRELU: return x < 0 ? x * p1 : x;
    case EW_CLIP: return x < -0.3f ? -0.3f : x > 0.6f ? 0.6f : x;
    default: return x + x2;
    }
}

static void check_ew(const kern_isa *isa, int op, const char *name, size_t tile)
{
    size_t sizes[8 + NPRIMES];
    const size_t nsizes = tile_sizes(tile, sizes), G = 16;
    const size_t rowss[] = { 1, 3, 7 };
    int cases = 0;
    for (size_t si = 0; si < nsizes; si++)
        for (size_t ri = 0; ri < 3; ri++) {
            const size_t ch = sizes[si], rows = rowss[ri], tot = rows * ch;
            float *x = xmalloc(tot * sizeof(float)), *x2 = xmalloc(tot * sizeof(float));
            float *p1 = xmalloc(ch * sizeof(float)), *p2 = xmalloc(ch * sizeof(float));
            float *y = xmalloc((tot + G) * sizeof(float)), *yr = xmalloc((tot + G) * sizeof(float));
            float *want = xmalloc(tot * sizeof(float));
            fill(x, tot);
            fill(x2, tot);
            fill(p1, ch);
            fill(p2, ch);
            x[0] = NAN;
            for (size_t i = 0; i < tot + G; i++)
                y[i] = yr[i] = SENTINEL;
            ew_run(isa, op, rows, ch, x, x2, p1, p2, y);
            ew_run(kern_scalar(), op, rows, ch, x, x2, p1, p2, yr);
            for (size_t i = 0; i < tot; i++)
                want[i] = (float)ew_want(op, x[i], x2[i], p1[i % ch], p2[i % ch]);
            assert_true(isnan(y[0]));
            check_vec(name, y + 1, yr + 1, tot - 1, G);
            check_vec(name, y + 1, want + 1, tot - 1, 0);
            free(x); free(x2); free(p1); free(p2); free(y); free(yr); free(want);
            cases++;
        }
    print_message("  %s: %d cases (sizes 1, tile-1, tile, tile+1, 2 tile+1, primes x rows 1, 3, 7)\n",
                  name, cases);
}

static void check_affine(const kern_isa *isa, size_t tile) { check_ew(isa, EW_AFFINE, isa->affine_name, tile); }
static void check_prelu(const kern_isa *isa, size_t tile) { check_ew(isa, EW_PRELU, isa->prelu_name, tile); }
static void check_clip(const kern_isa *isa, size_t tile) { check_ew(isa, EW_CLIP, isa->clip_name, tile); }
static void check_add(const kern_isa *isa, size_t tile) { check_ew(isa, EW_ADD, isa->add_name, tile); }

/* ---- channel max ---- */

/* The rule written out independently of the kernels: first NaN, else the
 * first element holding the maximum. */
static float chmax_oracle(const float *p, size_t hw)
{
    for (size_t k = 0; k < hw; k++)
        if (isnan(p[k]))
            return p[k];
    size_t best = 0;
    for (size_t k = 1; k < hw; k++)
        if (p[k] > p[best])
            best = k;
    return p[best];
}

static uint32_t bits(float a)
{
    uint32_t u;
    memcpy(&u, &a, sizeof u);
    return u;
}

static int same_bits(float a, float b)
{
    return bits(a) == bits(b);
}

/* NaN with a payload, to see that the first NaN's bits come out. */
static float nan_payload(uint32_t payload)
{
    const uint32_t u = 0x7fc00000u | (payload & 0x3fffffu);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static void check_chmax(const kern_isa *isa, size_t tile)
{
    size_t sizes[8 + NPRIMES];
    const size_t nsizes = tile_sizes(tile, sizes), C = 5, G = 4;
    int cases = 0;
    /* patterns: 0 random, 1 NaN first, 2 NaN in the middle, 3 NaN last,
     * 4 two NaNs (the first one's payload wins), 5 +Inf, 6 -Inf everywhere,
     * 7 all negative with -Inf, 8 -0 before +0, 9 +0 before -0, 10 all -0,
     * 11 NaN next to +Inf, 12 random in place (y == x) */
    for (size_t si = 0; si < nsizes; si++)
        for (int pat = 0; pat < 13; pat++) {
            const size_t hw = sizes[si];
            float *x = xmalloc(C * hw * sizeof(float)), *y = xmalloc((C + G) * sizeof(float));
            float *yr = xmalloc((C + G) * sizeof(float));
            fill(x, C * hw);
            for (size_t c = 0; c < C; c++) {
                float *p = x + c * hw;
                const size_t mid = hw / 2, last = hw - 1;
                switch (pat) {
                case 1: p[0] = nan_payload(c + 1); break;
                case 2: p[mid] = nan_payload(c + 7); break;
                case 3: p[last] = -NAN; break;
                case 4: p[mid] = nan_payload(3); p[last] = nan_payload(5); break;
                case 5: p[(c * 7) % hw] = INFINITY; break;
                case 6: for (size_t k = 0; k < hw; k++) p[k] = -INFINITY; break;
                case 7: for (size_t k = 0; k < hw; k++) p[k] = -fabsf(p[k]) - 1.0f;
                        p[last] = -INFINITY; break;
                case 8: case 9: case 10:
                    for (size_t k = 0; k < hw; k++) p[k] = -fabsf(p[k]) - 1.0f;
                    p[(c * 3) % hw] = pat == 9 ? 0.0f : -0.0f;
                    p[(c * 3 + 1) % hw] = pat == 8 ? 0.0f : -0.0f;
                    break;
                case 11: p[last] = INFINITY; if (hw > 1) p[last - 1] = NAN; break;
                default: break;
                }
            }
            for (size_t i = 0; i < C + G; i++)
                y[i] = yr[i] = SENTINEL;
            float *xin = NULL;
            if (pat == 12) { /* in place: y is x */
                xin = xmalloc((C * hw + G) * sizeof(float));
                memcpy(xin, x, C * hw * sizeof(float));
                for (size_t i = 0; i < G; i++)
                    xin[C * hw + i] = SENTINEL;
                isa->chmax(C, hw, xin, xin);
                memcpy(y, xin, C * sizeof(float));
            } else {
                isa->chmax(C, hw, x, y);
            }
            kern_scalar()->chmax(C, hw, x, yr);
            for (size_t c = 0; c < C; c++) {
                const float want = chmax_oracle(x + c * hw, hw);
                if (!same_bits(y[c], want) || !same_bits(yr[c], want))
                    fail_msg("%s hw=%zu pattern %d channel %zu: %g (0x%08x), scalar %g, want %g (0x%08x)",
                             isa->chmax_name, hw, pat, c, y[c], (unsigned)bits(y[c]), yr[c], want,
                             (unsigned)bits(want));
            }
            for (size_t i = C; i < C + G; i++)
                if (y[i] != SENTINEL || (xin && xin[C * hw + i - C] != SENTINEL))
                    fail_msg("%s hw=%zu: wrote past the end", isa->chmax_name, hw);
            free(x); free(y); free(yr); free(xin);
            cases++;
        }
    print_message("  %s: %d cases (H*W 1, tile-1, tile, tile+1, 2 tile+1, primes x 13 patterns: "
                  "NaN first/middle/last/twice, +-Inf, +-0 ties, in place), bit-exact\n",
                  isa->chmax_name, cases);
}

/* ---- one test per line of kernels.inc ----
 * Each selects its ISA through the dispatch (mint_set_isa, the API form of
 * MINT_ISA), checks that the active table holds this very kernel and
 * tests the table's entry; an ISA this machine cannot run is skipped,
 * visibly. A line whose op has no check_<op> does not compile. */
#define KERN_ISA(isa)
#define KERN_ISA_END(isa)
#define KERN(isa, op, tile, tm, tn)                                                     \
    static void test_f32_##op##_##tile##__##isa(void **state)                           \
    {                                                                                   \
        (void)state;                                                                    \
        if (!kern_isa_find(#isa)) {                                                     \
            print_message("  f32_" #op "_" #tile "__" #isa ": SKIPPED (this CPU/OS cannot run " #isa ")\n"); \
            return;                                                                     \
        }                                                                               \
        const char *before = mint_isa();                                                \
        assert_int_equal(mint_set_isa(#isa), MINT_OK);                                  \
        const kern_isa *t = kern_active();                                              \
        assert_true(strcmp(t->name, #isa) == 0);                                        \
        assert_true(t->op == kern_f32_##op##_##tile##__##isa);                          \
        assert_true(t->op##_tile.m == (tm) && t->op##_tile.n == (tn));                  \
        check_##op(t, (size_t)(tn));                                                    \
        assert_int_equal(mint_set_isa(before), MINT_OK);                                \
    }
#include "kernels.inc"
#undef KERN
#undef KERN_ISA
#undef KERN_ISA_END

/* Threaded drivers: big enough to split, odd size for a tail. */
static void test_elementwise_drivers(void **state)
{
    (void)state;
    const kern_isa *all[8];
    const int n = kern_isa_available(all, 8);
    const size_t rows = 1001, ch = 67, tot = rows * ch;
    float *x = xmalloc(tot * sizeof(float)), *b = xmalloc(tot * sizeof(float));
    float *p1 = xmalloc(ch * sizeof(float)), *p2 = xmalloc(ch * sizeof(float));
    float *y = xmalloc((tot + 1) * sizeof(float)), *yr = xmalloc(tot * sizeof(float));
    fill(x, tot);
    fill(b, tot);
    fill(p1, ch);
    fill(p2, ch);
    for (int i = 0; i < n; i++) {
        const kern_isa *isa = all[i];
        print_message("  drivers on %s\n", isa->name);
        y[tot] = SENTINEL;
        kern_affine(isa, rows, ch, x, p1, p2, y);
        kern_scalar()->affine(rows, ch, x, p1, p2, yr);
        check_vec("kern_affine", y, yr, tot, 1);
        kern_affine(isa, tot, 1, x, p1, p2, y);
        kern_scalar()->affine(tot, 1, x, p1, p2, yr);
        check_vec("kern_affine(ch=1)", y, yr, tot, 1);
        kern_prelu(isa, rows, ch, x, p1, y);
        kern_scalar()->prelu(rows, ch, x, p1, yr);
        check_vec("kern_prelu", y, yr, tot, 1);
        kern_prelu(isa, tot, 1, x, p1, y);
        kern_scalar()->prelu(tot, 1, x, p1, yr);
        check_vec("kern_prelu(ch=1)", y, yr, tot, 1);
        kern_clip(isa, tot, x, 0.0f, INFINITY, y);
        kern_scalar()->clip(tot, x, 0.0f, INFINITY, yr);
        check_vec("kern_clip", y, yr, tot, 1);
        kern_add(isa, tot, x, b, y);
        kern_scalar()->add(tot, x, b, yr);
        check_vec("kern_add", y, yr, tot, 1);
    }
    /* NULL = the active ISA, as selected by MINT_ISA or mint_set_isa */
    const char *before = mint_isa();
    for (int i = 0; i < n; i++) {
        assert_int_equal(mint_set_isa(all[i]->name), MINT_OK);
        kern_add(NULL, tot, x, b, y);
        kern_scalar()->add(tot, x, b, yr);
        check_vec("kern_add(NULL)", y, yr, tot, 0);
        kern_chmax(NULL, ch, rows, x, y);
        kern_scalar()->chmax(ch, rows, x, yr);
        assert_true(memcmp(y, yr, ch * sizeof(float)) == 0);
    }
    assert_int_equal(mint_set_isa(before), MINT_OK);
    free(x); free(b); free(p1); free(p2); free(y); free(yr);
}

/* ---- convolution driver ---- */

typedef struct {
    const char *name;
    int cout, cin, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, groups;
    int n, h, w;
    int act, res, bias;
} conv_case;

static const conv_case conv_cases[] = {
    /* name             cout cin kh kw sh sw pt pl pb pr dh dw  g  n   h   w  act              res bias */
    { "3x3s1p1",          17, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2,  9,  7, KERN_ACT_PRELU, 1, 1 },
    { "3x3s1p1 64",       64, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 10, 10, KERN_ACT_RELU,  0, 0 },
    { "stem 3->64",       64,  3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 12, 12, KERN_ACT_PRELU, 0, 1 },
    { "3x3s2p1",          65, 17, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 2, 11,  9, KERN_ACT_PRELU, 1, 1 },
    { "3x3s2p1 even",     33, 65, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 14, 14, KERN_ACT_NONE,  1, 0 },
    { "3x3s1p0",           5,  5, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1, 2,  7,  5, KERN_ACT_CLIP,  0, 1 },
    { "1x1s1",            33, 65, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 2,  5,  6, KERN_ACT_CLIP,  0, 1 },
    { "1x1s2",            65, 33, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1, 1,  9,  9, KERN_ACT_NONE,  1, 1 },
    { "1x1s2 batch2",     64, 17, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1, 2, 14, 14, KERN_ACT_NONE,  1, 0 },
    { "5x5d2 asym pad",   17,  5, 5, 5, 1, 1, 1, 3, 2, 0, 2, 2, 1, 2, 13, 12, KERN_ACT_PRELU, 0, 1 },
    { "2x3 s(1,2)",        9,  3, 2, 3, 1, 2, 0, 1, 1, 0, 1, 1, 1, 1,  6,  8, KERN_ACT_RELU,  1, 1 },
    { "11x11 (heap ind)",  5,  3,11,11, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1, 13, 13, KERN_ACT_NONE,  0, 1 },
    { "groups=2",         18, 34, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1,  6,  7, KERN_ACT_PRELU, 1, 1 },
    { "groups=3 1x1",     45, 33, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 3, 2,  5,  5, KERN_ACT_RELU,  0, 1 },
    { "dw3x3s1",          33, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1,33, 2,  7,  6, KERN_ACT_PRELU, 0, 1 },
    { "dw3x3s1 res",      65, 65, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1,65, 1,  5,  5, KERN_ACT_PRELU, 1, 1 },
    { "dw3x3s2",          17, 17, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1,17, 2,  9,  8, KERN_ACT_CLIP,  0, 0 },
    { "FC batch3",        67,517, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 3,  1,  1, KERN_ACT_NONE,  0, 1 },
    { "FC batch1",       130,250, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1,  1,  1, KERN_ACT_PRELU, 0, 1 },
    { "3x3 many panels",  70,256, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2,  6,  6, KERN_ACT_PRELU, 1, 1 },
    { "3x3s1 cin1",        3,  1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2,  4,  3, KERN_ACT_NONE,  0, 0 },
};
#define NCONV (sizeof conv_cases / sizeof conv_cases[0])

static void test_conv_driver(void **state)
{
    (void)state;
    const kern_isa *all[8];
    const int nisa = kern_isa_available(all, 8);
    for (size_t ci = 0; ci < NCONV; ci++) {
        const conv_case *t = &conv_cases[ci];
        const kern_conv_geom g = { t->kh, t->kw, t->sh, t->sw, t->pt, t->pl, t->pb, t->pr,
                                   t->dh, t->dw, t->groups };
        const int oh = kern_conv_out_dim(t->h, t->kh, t->sh, t->pt, t->pb, t->dh);
        const int ow = kern_conv_out_dim(t->w, t->kw, t->sw, t->pl, t->pr, t->dw);
        assert_true(oh > 0 && ow > 0);
        const int cin_g = t->cin / t->groups, cout_g = t->cout / t->groups;
        const size_t nin = (size_t)t->n * t->h * t->w * t->cin;
        const size_t nout = (size_t)t->n * oh * ow * t->cout;
        const size_t nw = (size_t)t->cout * cin_g * t->kh * t->kw;
        float *in = xmalloc(nin * sizeof(float)), *wt = xmalloc(nw * sizeof(float));
        float *bias = xmalloc(t->cout * sizeof(float)), *slope = xmalloc(t->cout * sizeof(float));
        float *res = xmalloc(nout * sizeof(float)), *out = xmalloc((nout + 8) * sizeof(float));
        double *want = xmalloc(nout * sizeof(double)), *mag = xmalloc(nout * sizeof(double));
        fill(in, nin);
        fill(wt, nw);
        fill(bias, t->cout);
        fill(slope, t->cout);
        fill(res, nout);
        /* direct convolution, NHWC input, OIHW weights, in double */
        for (int b = 0; b < t->n; b++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                    for (int o = 0; o < t->cout; o++) {
                        const int gi = o / cout_g;
                        double acc = t->bias ? bias[o] : 0, m = t->bias ? fabs(bias[o]) : 0;
                        for (int ky = 0; ky < t->kh; ky++)
                            for (int kx = 0; kx < t->kw; kx++) {
                                const int iy = oy * t->sh - t->pt + ky * t->dh;
                                const int ix = ox * t->sw - t->pl + kx * t->dw;
                                if (iy < 0 || iy >= t->h || ix < 0 || ix >= t->w)
                                    continue;
                                for (int k = 0; k < cin_g; k++) {
                                    const double v =
                                        (double)in[(((size_t)b * t->h + iy) * t->w + ix) * t->cin + gi * cin_g + k] *
                                        wt[(((size_t)o * cin_g + k) * t->kh + ky) * t->kw + kx];
                                    acc += v;
                                    m += fabs(v);
                                }
                            }
                        const size_t idx = (((size_t)b * oh + oy) * ow + ox) * t->cout + o;
                        if (t->res) {
                            acc += res[idx];
                            m += fabs(res[idx]);
                        }
                        want[idx] = act_d(acc, t->act, slope[o], -0.5, 0.5);
                        mag[idx] = m;
                    }
        for (int ii = 0; ii < nisa; ii++) {
            const kern_isa *isa = all[ii];
            kern_conv *cv = NULL;
            assert_int_equal(kern_conv_create(&cv, isa, t->cout, t->cin, &g, wt, t->bias ? bias : NULL),
                             MINT_OK);
            for (size_t i = 0; i < nout + 8; i++)
                out[i] = SENTINEL;
            assert_int_equal(kern_conv_run(cv, in, t->n, t->h, t->w, out, t->res ? res : NULL,
                                           t->act, slope, -0.5f, 0.5f),
                             MINT_OK);
            for (size_t i = 0; i < nout; i++)
                if (!close_enough(out[i], want[i], mag[i]))
                    fail_msg("conv %s on %s: element %zu: got %g want %g", t->name, isa->name, i,
                             out[i], want[i]);
            for (size_t i = nout; i < nout + 8; i++)
                assert_true(out[i] == SENTINEL);
            kern_conv_destroy(cv);
        }
        print_message("  conv %-17s %3d->%-3d %dx%d s%dx%d g%d n%d %dx%d: ok on %d ISA(s)\n", t->name,
                      t->cin, t->cout, t->kh, t->kw, t->sh, t->sw, t->groups, t->n, t->h, t->w, nisa);
        free(in); free(wt); free(bias); free(slope); free(res); free(out); free(want); free(mag);
    }
}

static void test_conv_bad_args(void **state)
{
    (void)state;
    const kern_isa *isa = kern_active();
    float wt[4 * 4 * 9] = { 0 }, in[4 * 4 * 4] = { 0 }, out[64];
    kern_conv *cv = (kern_conv *)&cv;
    kern_conv_geom g = { 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3 };
    assert_int_equal(kern_conv_create(&cv, isa, 4, 4, &g, wt, NULL), MINT_E_ARG); /* 3 !| 4 */
    assert_null(cv);
    g.groups = 1;
    assert_int_equal(kern_conv_create(&cv, isa, 0, 4, &g, wt, NULL), MINT_E_ARG);
    assert_int_equal(kern_conv_create(&cv, isa, 4, 0, &g, wt, NULL), MINT_E_ARG);
    assert_int_equal(kern_conv_create(&cv, isa, 4, 4, &g, NULL, NULL), MINT_E_ARG);
    assert_int_equal(kern_conv_create(&cv, NULL, 4, 4, &g, wt, NULL), MINT_E_ARG);
    assert_int_equal(kern_conv_create(&cv, isa, 4, 4, NULL, wt, NULL), MINT_E_ARG);
    assert_int_equal(kern_conv_create(NULL, isa, 4, 4, &g, wt, NULL), MINT_E_ARG);
    g.kh = 0;
    assert_int_equal(kern_conv_create(&cv, isa, 4, 4, &g, wt, NULL), MINT_E_ARG);
    g.kh = 3;
    g.sw = 0;
    assert_int_equal(kern_conv_create(&cv, isa, 4, 4, &g, wt, NULL), MINT_E_ARG);
    g.sw = 1;
    g.dh = 0;
    assert_int_equal(kern_conv_create(&cv, isa, 4, 4, &g, wt, NULL), MINT_E_ARG);
    g.dh = 1;
    g.pl = -1;
    assert_int_equal(kern_conv_create(&cv, isa, 4, 4, &g, wt, NULL), MINT_E_ARG);
    g.pl = 1;
    g.groups = 0;
    assert_int_equal(kern_conv_create(&cv, isa, 4, 4, &g, wt, NULL), MINT_E_ARG);
    g.groups = 2;
    assert_int_equal(kern_conv_create(&cv, isa, 4, 3, &g, wt, NULL), MINT_E_ARG); /* 2 !| 3 */
    g.groups = 1;
    /* huge dims: the packed size overflows or cannot be allocated */
    g.kh = g.kw = 1 << 20;
    assert_true(kern_conv_create(&cv, isa, 1 << 20, 1 << 20, &g, wt, NULL) == MINT_E_NOMEM);
    g.kh = g.kw = 3;
    assert_int_equal(kern_conv_create(&cv, isa, 4, 4, &g, wt, NULL), MINT_OK);
    assert_non_null(cv);
    assert_int_equal(kern_conv_run(cv, in, 0, 4, 4, out, NULL, 0, NULL, 0, 0), MINT_E_ARG);
    assert_int_equal(kern_conv_run(cv, in, 1, 0, 4, out, NULL, 0, NULL, 0, 0), MINT_E_ARG);
    assert_int_equal(kern_conv_run(cv, NULL, 1, 4, 4, out, NULL, 0, NULL, 0, 0), MINT_E_ARG);
    assert_int_equal(kern_conv_run(cv, in, 1, 4, 4, NULL, NULL, 0, NULL, 0, 0), MINT_E_ARG);
    assert_int_equal(kern_conv_run(NULL, in, 1, 4, 4, out, NULL, 0, NULL, 0, 0), MINT_E_ARG);
    assert_int_equal(kern_conv_run(cv, in, 1, 4, 4, out, NULL, KERN_ACT_PRELU, NULL, 0, 0), MINT_E_ARG);
    assert_int_equal(kern_conv_run(cv, in, 1, 4, 4, out, NULL, 99, NULL, 0, 0), MINT_E_ARG);
    assert_int_equal(kern_conv_run(cv, in, 1, 4, 4, out, NULL, KERN_ACT_RELU, NULL, 0, 0), MINT_OK);
    kern_conv_destroy(cv);
    /* kernel larger than the padded input */
    g.pt = g.pl = g.pb = g.pr = 0;
    assert_int_equal(kern_conv_create(&cv, isa, 4, 4, &g, wt, NULL), MINT_OK);
    assert_int_equal(kern_conv_run(cv, in, 1, 2, 2, out, NULL, 0, NULL, 0, 0), MINT_E_SHAPE);
    assert_true(strlen(mint_last_error()) > 0);
    kern_conv_destroy(cv);
    kern_conv_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dispatch),
#define KERN_ISA(isa)
#define KERN_ISA_END(isa)
#define KERN(isa, op, tile, m, n) cmocka_unit_test(test_f32_##op##_##tile##__##isa),
#include "kernels.inc"
#undef KERN
#undef KERN_ISA
#undef KERN_ISA_END
        cmocka_unit_test(test_elementwise_drivers),
        cmocka_unit_test(test_conv_driver),
        cmocka_unit_test(test_conv_bad_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
