/* test_idtest.c - the identity-level set test (mint/idtest.h): hand-worked
 * p-values, reference grouping, subsampling, the resolution refusal, the
 * Student t tail against tabulated values, and - the point of the test -
 * its calibration when images cluster by identity, where the per-image
 * Mann-Whitney test (mint/stats.h) is shown to be anti-conservative on the
 * same draws. */
#include "testutil.h"
#include <math.h>
#include "base/rng.h"
#include "mint/idtest.h"
#include "mint/stats.h"

static base_rng rng = { 0x452821e638d01377ull };

static uint64_t rng_next(void) { return base_rng_u64(&rng); }

static double rng_normal(void)
{
    return sqrt(-2.0 * log(base_rng_open01(&rng))) * cos(6.283185307179586 * base_rng_open01(&rng));
}

static void test_known(void **state)
{
    (void)state;
    /* four reference identities of one image each: 0, 1, 2, 3 */
    const double r[] = { 3, 0, 2, 1 };
    mint_idref ref;
    assert_int_equal(mint_idref_build(&ref, r, NULL, 4), MINT_OK);
    assert_int_equal(ref.K, 4);
    mint_id_one o;
    const double x[] = { 2.0, 3.0 }; /* t = 2.5: one reference value above */
    assert_int_equal(mint_id_test_one(&o, x, 2, &ref, MINT_IDT_RANK, 1), MINT_OK);
    assert_true(o.t == 2.5);
    assert_int_equal(o.n_ge, 1);
    assert_true(fabs(o.p - 2.0 / 5.0) < 1e-15);
    assert_true(fabs(o.p_min - 0.2) < 1e-15);
    assert_true(fabs(o.percentile - 0.75) < 1e-15);
    assert_int_equal(o.k_fewer, 4);
    /* ties count against membership */
    const double y[] = { 3.0 };
    assert_int_equal(mint_id_test_one(&o, y, 1, &ref, MINT_IDT_RANK, 1), MINT_OK);
    assert_true(fabs(o.p - 2.0 / 5.0) < 1e-15);
    mint_idref_free(&ref);
}

static void test_grouping_and_subsets(void **state)
{
    (void)state;
    /* identity 7: {10, 20, 30, 40}; identity 2: {1}; two ungrouped images */
    const double r[] = { 10, 1, 20, 30, -5, 40, -6 };
    const int32_t g[] = { 7, 2, 7, 7, -1, 7, -1 };
    mint_idref ref;
    assert_int_equal(mint_idref_build(&ref, r, g, 7), MINT_OK);
    assert_int_equal(ref.K, 4);
    assert_int_equal(ref.n, 7);
    size_t sizes[4];
    for (size_t k = 0; k < 4; k++)
        sizes[k] = ref.start[k + 1] - ref.start[k];
    assert_int_equal(sizes[0], 1); /* identity 2 */
    assert_int_equal(sizes[1], 4); /* identity 7 */
    assert_int_equal(sizes[2] + sizes[3], 2);
    /* n = 1 against identity 7: a single image drawn from it, so over
     * seeds every one of its four values shows up as t_7 */
    int seen[4] = { 0 };
    for (uint64_t seed = 0; seed < 200; seed++) {
        mint_id_one o;
        const double x[] = { 25.0 };
        assert_int_equal(mint_id_test_one(&o, x, 1, &ref, MINT_IDT_RANK, seed), MINT_OK);
        /* identity 7 is >= 25 exactly when it drew 30 or 40 */
        assert_true(o.n_ge == 0 || o.n_ge == 1);
        seen[o.n_ge]++;
        /* the same seed gives the same answer */
        mint_id_one o2;
        assert_int_equal(mint_id_test_one(&o2, x, 1, &ref, MINT_IDT_RANK, seed), MINT_OK);
        assert_true(o2.p == o.p);
    }
    assert_true(seen[0] > 50 && seen[1] > 50);
    mint_idref_free(&ref);
    double bad = NAN;
    assert_int_equal(mint_idref_build(&ref, &bad, NULL, 1), MINT_E_ARG);
    assert_int_equal(mint_idref_build(&ref, r, NULL, 0), MINT_E_ARG);
}

static void test_student(void **state)
{
    (void)state;
    /* tabulated upper tails */
    assert_true(fabs(mint_student_upper(1.0, 1.0) - 0.25) < 1e-12);
    assert_true(fabs(mint_student_upper(0.0, 5.0) - 0.5) < 1e-12);
    assert_true(fabs(mint_student_upper(2.0, 10.0) - 0.036694017385370) < 1e-9);
    assert_true(fabs(mint_student_upper(2.228138851986274, 10.0) - 0.025) < 1e-9);
    assert_true(fabs(mint_student_upper(-2.0, 10.0) - (1.0 - 0.036694017385370)) < 1e-9);
    /* large df -> normal */
    assert_true(fabs(mint_student_upper(1.6448536269514722, 1e7) - 0.05) < 1e-6);
    assert_true(isnan(mint_student_upper(1.0, 0.0)));
}

static void test_resolution_verdict(void **state)
{
    (void)state;
    double r[10];
    for (int i = 0; i < 10; i++)
        r[i] = i;
    mint_idref ref;
    assert_int_equal(mint_idref_build(&ref, r, NULL, 10), MINT_OK);
    const double x[] = { 100.0 };
    const size_t start[] = { 0, 1 };
    mint_idset s;
    assert_int_equal(mint_idset_run(&s, x, start, 1, &ref, MINT_IDT_RANK, 1), MINT_OK);
    assert_true(fabs(s.p - 1.0 / 11.0) < 1e-15);
    char buf[1024];
    mint_idset_verdict(buf, sizeof buf, &s, 0.05);
    assert_true(!strncmp(buf, "no verdict", 10));
    assert_non_null(strstr(buf, "19 reference identities"));
    mint_idset_verdict(buf, sizeof buf, &s, 0.1);
    assert_true(!strncmp(buf, "evidence", 8));
    mint_idset_free(&s);
    mint_idref_free(&ref);
}

/* Scores that cluster by identity: logit = b_id + e, b ~ N(0, sb), e ~ N(0, 1). */
static void draw_ref(double *r, int32_t *g, size_t *n, size_t K, double sb)
{
    *n = 0;
    for (size_t k = 0; k < K; k++) {
        const double b = sb * rng_normal();
        const size_t nk = 1 + (size_t)(rng_next() % 6); /* 1..6 images, LFW-like */
        for (size_t j = 0; j < nk; j++) {
            r[*n] = b + rng_normal();
            g[(*n)++] = (int32_t)k;
        }
    }
}

/* H0: the audited identity is one more identity of the same law. The
 * identity-level rank test rejects at most alpha of the time (within the
 * binomial interval); the per-image Mann-Whitney test, fed the same draws,
 * rejects far more often - the false accusations of issue 8. */
static void test_calibration_clustered(void **state)
{
    (void)state;
    const size_t K = 99, n = 10, reps = 1500;
    double r[99 * 6], x[10];
    int32_t g[99 * 6];
    size_t rej_rank = 0, rej_re = 0, rej_mwu = 0;
    for (size_t rep = 0; rep < reps; rep++) {
        size_t nr;
        draw_ref(r, g, &nr, K, 1.0);
        const double b = rng_normal();
        for (size_t j = 0; j < n; j++)
            x[j] = b + rng_normal();
        mint_idref ref;
        assert_int_equal(mint_idref_build(&ref, r, g, nr), MINT_OK);
        mint_id_one o;
        assert_int_equal(mint_id_test_one(&o, x, n, &ref, MINT_IDT_RANK, rep), MINT_OK);
        rej_rank += o.p <= 0.05;
        assert_int_equal(mint_id_test_one(&o, x, n, &ref, MINT_IDT_RANDOM_EFFECTS, rep), MINT_OK);
        assert_int_equal(o.method, MINT_IDT_RANDOM_EFFECTS);
        rej_re += o.p <= 0.05;
        mint_set_test t;
        assert_int_equal(mint_set_test_run(&t, x, n, r, nr), MINT_OK);
        rej_mwu += t.p <= 0.05;
        mint_idref_free(&ref);
    }
    const double fr = (double)rej_rank / reps, fre = (double)rej_re / reps,
                 fm = (double)rej_mwu / reps;
    print_message("H0, clustered scores, %zu draws: false-evidence rate at 0.05: rank %.3f, "
                  "random effects %.3f, per-image Mann-Whitney %.3f\n", reps, fr, fre, fm);
    /* binomial(1500, 0.05): sd 0.0056; 0.05 + 3 sd = 0.067 */
    assert_true(fr <= 0.067);
    assert_true(fre <= 0.067);
    assert_true(fm > 0.15); /* the defect the identity-level test fixes */
}

/* H1: a member identity scores higher; the test finds it. */
static void test_power(void **state)
{
    (void)state;
    const size_t K = 99, n = 10, reps = 300;
    double r[99 * 6], x[10];
    int32_t g[99 * 6];
    size_t rej = 0;
    for (size_t rep = 0; rep < reps; rep++) {
        size_t nr;
        draw_ref(r, g, &nr, K, 1.0);
        const double b = 3.0 + rng_normal();
        for (size_t j = 0; j < n; j++)
            x[j] = b + rng_normal();
        mint_idref ref;
        assert_int_equal(mint_idref_build(&ref, r, g, nr), MINT_OK);
        mint_id_one o;
        assert_int_equal(mint_id_test_one(&o, x, n, &ref, MINT_IDT_RANK, rep), MINT_OK);
        rej += o.p <= 0.05;
        mint_idref_free(&ref);
    }
    print_message("H1 (shift 3 sd of identity effect): power at 0.05 %.3f\n", (double)rej / reps);
    assert_true(rej > reps * 6 / 10);
}

/* A set of m identities: the permutation test holds its level under H0
 * and detects a shifted set; Welch is reported beside it. */
static void test_set_of_identities(void **state)
{
    (void)state;
    const size_t K = 60, m = 8, reps = 400;
    double r[60 * 6], x[8 * 12];
    int32_t g[60 * 6];
    size_t start[9];
    size_t rej0 = 0, rej1 = 0;
    for (size_t rep = 0; rep < 2 * reps; rep++) {
        const double shift = rep < reps ? 0.0 : 1.5;
        size_t nr;
        draw_ref(r, g, &nr, K, 1.0);
        size_t w = 0;
        for (size_t i = 0; i < m; i++) {
            start[i] = w;
            const double b = shift + rng_normal();
            const size_t ni = 2 + (size_t)(rng_next() % 10);
            for (size_t j = 0; j < ni; j++)
                x[w++] = b + rng_normal();
        }
        start[m] = w;
        mint_idref ref;
        assert_int_equal(mint_idref_build(&ref, r, g, nr), MINT_OK);
        mint_idset s;
        assert_int_equal(mint_idset_run(&s, x, start, m, &ref, MINT_IDT_RANK, rep), MINT_OK);
        assert_int_equal(s.method, MINT_IDT_PERMUTATION);
        assert_int_equal(s.m, m);
        assert_int_equal(s.n_images, w);
        assert_true(s.p >= s.p_min && s.p <= 1.0);
        assert_false(isnan(s.welch_p));
        if (rep < reps)
            rej0 += s.p <= 0.05;
        else
            rej1 += s.p <= 0.05;
        mint_idset_free(&s);
        mint_idref_free(&ref);
    }
    print_message("m = %zu identities: false-evidence rate %.3f, power (shift 1.5) %.3f\n", m,
                  (double)rej0 / reps, (double)rej1 / reps);
    assert_true((double)rej0 / reps <= 0.05 + 3 * sqrt(0.05 * 0.95 / reps));
    assert_true(rej1 > reps / 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known),
        cmocka_unit_test(test_grouping_and_subsets),
        cmocka_unit_test(test_student),
        cmocka_unit_test(test_resolution_verdict),
        cmocka_unit_test(test_calibration_clustered),
        cmocka_unit_test(test_power),
        cmocka_unit_test(test_set_of_identities),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
