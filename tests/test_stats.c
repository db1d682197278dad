/* test_stats.c - the set-level audit test (mint/stats.h): exact
 * Mann-Whitney distributions against brute-force enumeration (with and
 * without ties), the exceedance test against enumeration, the normal
 * approximation against the exact law, the calibration of the p-value
 * under H0 (rejection rate at alpha = 0.05 over many draws), power against
 * shifted sets, and the verdict text. */
#include "testutil.h"
#include <math.h>
#include <time.h>
#include "mint/stats.h"

static uint64_t rng_state = 0x243f6a8885a308d3ull;

static uint64_t rng_next(void) /* splitmix64 */
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double rng_unif(void) { return ((double)(rng_next() >> 11) + 0.5) * 0x1.0p-53; }

static double rng_normal(void)
{
    return sqrt(-2.0 * log(rng_unif())) * cos(6.283185307179586 * rng_unif());
}

/* A membership-score-like law: sigmoid of a normal logit. */
static double draw_score(double shift) { return 1.0 / (1.0 + exp(-(rng_normal() * 1.5 - 1.0 + shift))); }

/* Visit every k-subset of {0..N-1} (as a bit mask, N <= 24). */
static uint32_t next_subset(uint32_t v) /* Gosper's hack */
{
    uint32_t t = v | (v - 1);
    return (t + 1) | (((~t & -~t) - 1) >> (__builtin_ctz(v) + 1));
}

static double u_stat(const double *x, size_t n, const double *y, size_t m)
{
    double u = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++)
            u += x[i] > y[j] ? 1.0 : x[i] == y[j] ? 0.5 : 0.0;
    return u;
}

/* Brute-force permutation p-value: all ways of splitting the pooled values
 * into a set of n and a reference of m. */
static double brute_p(const double *x, size_t n, const double *y, size_t m)
{
    double pool[24], a[24], b[24];
    size_t N = n + m;
    memcpy(pool, x, n * sizeof *x);
    memcpy(pool + n, y, m * sizeof *y);
    double u0 = u_stat(x, n, y, m);
    size_t hit = 0, tot = 0;
    for (uint32_t v = (1u << n) - 1; v < (1u << N); v = next_subset(v)) {
        size_t na = 0, nb = 0;
        for (size_t i = 0; i < N; i++)
            (v >> i & 1) ? (a[na++] = pool[i]) : (b[nb++] = pool[i]);
        hit += u_stat(a, na, b, nb) >= u0 - 1e-9;
        tot++;
    }
    return (double)hit / (double)tot;
}

static void test_exact_known(void **state)
{
    (void)state;
    double p;
    /* n = m = 3: 20 arrangements, one with U = 9, one with U = 8 */
    assert_int_equal(mint_mwu_exact_upper(&p, 3, 3, 9), MINT_OK);
    assert_true(fabs(p - 0.05) < 1e-15);
    assert_int_equal(mint_mwu_exact_upper(&p, 3, 3, 8), MINT_OK);
    assert_true(fabs(p - 0.10) < 1e-15);
    assert_int_equal(mint_mwu_exact_upper(&p, 3, 3, 0), MINT_OK);
    assert_true(p == 1.0);
    assert_int_equal(mint_mwu_exact_upper(&p, 3, 3, 10), MINT_OK);
    assert_true(p == 0.0);
    assert_int_equal(mint_mwu_exact_upper(&p, 200, 200, 1), MINT_E_ARG);

    /* every u for several (n, m) against enumeration of all subsets */
    static const size_t sizes[][2] = { { 1, 7 }, { 3, 4 }, { 4, 3 }, { 5, 9 }, { 7, 7 }, { 2, 15 } };
    for (size_t c = 0; c < sizeof sizes / sizeof sizes[0]; c++) {
        size_t n = sizes[c][0], m = sizes[c][1], N = n + m;
        double cnt[64] = { 0 }, tot = 0;
        for (uint32_t v = (1u << n) - 1; v < (1u << N); v = next_subset(v)) {
            /* values are positions: U = sum over set items of reference items below */
            size_t u = 0, below = 0;
            for (size_t i = 0; i < N; i++)
                (v >> i & 1) ? (u += below) : below++;
            cnt[u]++;
            tot++;
        }
        for (size_t u = 0; u <= n * m; u++) {
            double tail = 0;
            for (size_t k = u; k <= n * m; k++)
                tail += cnt[k];
            assert_int_equal(mint_mwu_exact_upper(&p, n, m, (double)u), MINT_OK);
            assert_true(fabs(p - tail / tot) < 1e-13);
        }
    }
}

static void test_exact_vs_brute(void **state)
{
    (void)state;
    for (int rep = 0; rep < 40; rep++) {
        size_t n = 1 + rng_next() % 6, m = 2 + rng_next() % 10;
        int tied = rep & 1;
        double x[24], y[24];
        for (size_t i = 0; i < n; i++)
            x[i] = tied ? floor(rng_unif() * 4) : rng_unif() + 0.3;
        for (size_t i = 0; i < m; i++)
            y[i] = tied ? floor(rng_unif() * 4) : rng_unif();
        mint_set_test t;
        assert_int_equal(mint_set_test_run(&t, x, n, y, m), MINT_OK);
        double bp = brute_p(x, n, y, m);
        assert_true(fabs(t.u - u_stat(x, n, y, m)) < 1e-12);
        assert_true(fabs(t.effect - t.u / (double)(n * m)) < 1e-15);
        if (t.method == MINT_MWU_EXACT || t.method == MINT_MWU_EXACT_TIES) {
            if (fabs(t.p - bp) > 1e-12)
                fail_msg("n %zu m %zu tied %d: p %.15g brute %.15g", n, m, tied, t.p, bp);
        } else {
            fail_msg("expected an exact method for n %zu m %zu", n, m);
        }
        /* ties in the pooled data must select the tie-aware path */
        if (tied)
            assert_true(t.method == MINT_MWU_EXACT_TIES || t.method == MINT_MWU_EXACT);
    }
    /* all values tied: no information, p = 1 */
    double c[3] = { 0.5, 0.5, 0.5 };
    mint_set_test t;
    assert_int_equal(mint_set_test_run(&t, c, 3, c, 3), MINT_OK);
    assert_true(fabs(t.p - 1.0) < 1e-15 && t.effect == 0.5);
}

static void test_normal_vs_exact(void **state)
{
    (void)state;
    /* n = m = 100 (exact allowed): the tie-free normal approximation with
     * continuity correction agrees within 0.002 over the whole range */
    size_t n = 100, m = 100;
    double nm = 1e4, sd = sqrt(nm * (n + m + 1) / 12.0);
    for (double u = 5000; u <= 6500; u += 100) {
        double pe;
        assert_int_equal(mint_mwu_exact_upper(&pe, n, m, u), MINT_OK);
        double pn = 0.5 * erfc((u - nm / 2 - 0.5) / sd / sqrt(2.0));
        assert_true(fabs(pe - pn) < 2e-3);
    }
    /* a small set against a large reference stays exact (5 x 20000) and
     * near the normal law in the body of the distribution */
    n = 5;
    m = 20000;
    nm = (double)n * m;
    sd = sqrt(nm * (n + m + 1) / 12.0);
    for (double z = 0.0; z <= 2.0; z += 0.5) {
        double u = ceil(nm / 2 + z * sd), pe;
        assert_int_equal(mint_mwu_exact_upper(&pe, n, m, u), MINT_OK);
        double pn = 0.5 * erfc((u - nm / 2 - 0.5) / sd / sqrt(2.0));
        assert_true(fabs(pe - pn) < 0.01);
    }
}

static void test_exceedance_vs_brute(void **state)
{
    (void)state;
    /* n = 3, m = 20: q = R_(19); enumerate all C(23,3) placements */
    size_t n = 3, m = 20, N = 23, j = 19;
    double cnt[4] = { 0 }, tot = 0;
    for (uint32_t v = 7; v < (1u << N); v = next_subset(v)) {
        size_t ys = 0, k = 0;
        for (size_t i = 0; i < N; i++) {
            if (v >> i & 1)
                k += ys >= j; /* a set item after the j-th reference item */
            else
                ys++;
        }
        cnt[k]++;
        tot++;
    }
    double ref[20];
    for (size_t i = 0; i < m; i++)
        ref[i] = (double)i;
    for (size_t k0 = 0; k0 <= n; k0++) {
        double set[3];
        for (size_t i = 0; i < n; i++)
            set[i] = i < k0 ? 100.0 + (double)i : -1.0 - (double)i;
        mint_set_test t;
        assert_int_equal(mint_set_test_run(&t, set, n, ref, m), MINT_OK);
        assert_int_equal(t.n_above, k0);
        assert_true(t.ref_q95 == 18.0);
        double tail = 0;
        for (size_t k = k0; k <= n; k++)
            tail += cnt[k];
        assert_true(fabs(t.exceed_p - tail / tot) < 1e-12);
    }
}

/* Rejection rate at alpha over draws of (set, reference) from the same law
 * (shift 0) or with the set shifted up. */
static void rates(size_t n, size_t m, int draws, double shift, double quant, double *rej_mwu,
                  double *rej_exc, mint_mwu_method *method)
{
    double *x = malloc(n * sizeof *x), *y = malloc(m * sizeof *y);
    assert_non_null(x);
    assert_non_null(y);
    int a = 0, b = 0;
    for (int d = 0; d < draws; d++) {
        for (size_t i = 0; i < n; i++) {
            x[i] = draw_score(shift);
            if (quant > 0)
                x[i] = floor(x[i] / quant) * quant;
        }
        for (size_t i = 0; i < m; i++) {
            y[i] = draw_score(0.0);
            if (quant > 0)
                y[i] = floor(y[i] / quant) * quant;
        }
        mint_set_test t;
        assert_int_equal(mint_set_test_run(&t, x, n, y, m), MINT_OK);
        a += t.p <= 0.05;
        b += t.exceed_p <= 0.05;
        *method = t.method;
    }
    *rej_mwu = (double)a / draws;
    *rej_exc = (double)b / draws;
    free(x);
    free(y);
}

static const char *method_name(mint_mwu_method m)
{
    return m == MINT_MWU_EXACT ? "exact" : m == MINT_MWU_EXACT_TIES ? "exact-ties" : "normal";
}

static void test_calibration(void **state)
{
    (void)state;
    clock_t t0 = clock();
    const int draws = 2000;
    const double bound = 0.05 + 3 * sqrt(0.05 * 0.95 / draws);
    static const size_t ns[] = { 5, 20, 100 };
    printf("   H0 rejection rate at alpha 0.05, %d draws, reference m = 500 (bound %.4f):\n", draws,
           bound);
    for (size_t c = 0; c < 3; c++) {
        double r1, r2;
        mint_mwu_method meth;
        rates(ns[c], 500, draws, 0.0, 0.0, &r1, &r2, &meth);
        printf("     n = %3zu  Mann-Whitney (%s) %.4f   exceedance %.4f\n", ns[c], method_name(meth),
               r1, r2);
        assert_true(r1 <= bound);
        assert_true(r2 <= bound);
        /* and not trivially conservative: the MWU rate is near alpha */
        assert_true(r1 >= 0.05 - 3 * sqrt(0.05 * 0.95 / draws));
    }
    /* heavily tied scores (21 distinct values): tie-aware exact path for a
     * small problem, tie-corrected normal approximation for a large one */
    static const size_t tn[][2] = { { 5, 100 }, { 20, 500 }, { 100, 500 } };
    const int tdraws = 1000;
    const double tbound = 0.05 + 3 * sqrt(0.05 * 0.95 / tdraws);
    for (size_t c = 0; c < 3; c++) {
        double r1, r2;
        mint_mwu_method meth;
        rates(tn[c][0], tn[c][1], tdraws, 0.0, 0.05, &r1, &r2, &meth);
        printf("     tied, n = %3zu m = %3zu  Mann-Whitney (%s) %.4f   exceedance %.4f  (%d draws, "
               "bound %.4f)\n",
               tn[c][0], tn[c][1], method_name(meth), r1, r2, tdraws, tbound);
        assert_true(r1 <= tbound);
        assert_true(r2 <= tbound);
    }
    /* power: sets whose logits are shifted up (the logit sd is 1.5) */
    static const struct {
        size_t n;
        double shift, min_power;
    } pw[] = { { 5, 3.0, 0.8 }, { 20, 1.5, 0.9 }, { 100, 0.75, 0.9 } }; /* 2, 1, 0.5 sd */
    for (size_t c = 0; c < 3; c++) {
        double r1, r2;
        mint_mwu_method meth;
        rates(pw[c].n, 500, 500, pw[c].shift, 0.0, &r1, &r2, &meth);
        printf("     power: n = %3zu logit shift %.2f  Mann-Whitney %.3f   exceedance %.3f\n",
               pw[c].n, pw[c].shift, r1, r2);
        assert_true(r1 >= pw[c].min_power);
    }
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    printf("   calibration + power: %.2f s CPU\n", secs);
}

static void test_verdict(void **state)
{
    (void)state;
    char buf[512];
    mint_set_test t;
    memset(&t, 0, sizeof t);
    t.n = 40;
    t.m = 500;
    t.p = 0.0003;
    t.p_min = 1e-30;
    mint_verdict(buf, sizeof buf, &t, 0.05);
    assert_string_equal(buf, "evidence the data was used in training (p = 0.0003 < 0.05)");
    t.p = 0.41;
    mint_verdict(buf, sizeof buf, &t, 0.05);
    assert_string_equal(buf, "no evidence the data was used in training (p = 0.41 >= 0.05); "
                             "this does not show that it was not used");
    t.p = 0.049999;
    mint_verdict(buf, sizeof buf, &t, 0.05);
    assert_string_equal(buf, "evidence the data was used in training (p = 0.049999 < 0.05)");
    t.p = 0.0;
    mint_verdict(buf, sizeof buf, &t, 0.05);
    assert_string_equal(buf, "evidence the data was used in training (p < 1e-300 < 0.05)");
    t.n = 3;
    t.p = 0.2;
    mint_verdict(buf, sizeof buf, &t, 0.05);
    assert_non_null(strstr(buf, "With only n = 3 images the test has little power"));
    t.n = 1;
    t.m = 10;
    t.p = t.p_min = 1.0 / 11.0;
    size_t need = mint_verdict(buf, sizeof buf, &t, 0.05);
    assert_non_null(strstr(buf, "cannot reach significance"));
    assert_non_null(strstr(buf, "smallest possible p-value is 0.091"));
    assert_int_equal(need, strlen(buf));
    /* truncation like snprintf */
    char small[16];
    assert_int_equal(mint_verdict(small, sizeof small, &t, 0.05), need);
    assert_int_equal(strlen(small), 15);

    /* a real run: clearly shifted set of 30 vs 200 reference scores */
    double x[30], y[200];
    for (int i = 0; i < 30; i++)
        x[i] = 0.9 + i * 1e-3;
    for (int i = 0; i < 200; i++)
        y[i] = i * 4e-3;
    assert_int_equal(mint_set_test_run(&t, x, 30, y, 200), MINT_OK);
    assert_true(t.method == MINT_MWU_EXACT);
    assert_true(t.effect == 1.0);
    assert_true(t.p < 1e-30 && t.p == t.p_min);
    assert_int_equal(t.n_above, 30);
    assert_true(t.exceed_p < 1e-20);
    mint_verdict(buf, sizeof buf, &t, 0.05);
    assert_true(strncmp(buf, "evidence", 8) == 0);
    assert_non_null(strstr(mint_set_test_name(&t), "exact"));

    double nanv = NAN;
    assert_int_equal(mint_set_test_run(&t, &nanv, 1, y, 200), MINT_E_ARG);
    assert_int_equal(mint_set_test_run(&t, x, 0, y, 200), MINT_E_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_known),
        cmocka_unit_test(test_exact_vs_brute),
        cmocka_unit_test(test_normal_vs_exact),
        cmocka_unit_test(test_exceedance_vs_brute),
        cmocka_unit_test(test_calibration),
        cmocka_unit_test(test_verdict),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
