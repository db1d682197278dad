/* test_metrics.c - evaluation metrics against known cases: AUC of a
 * perfect / inverted / constant / random scorer, AUC against a brute-force
 * pair count with ties, a hand-made ROC with known TPR@FPR, threshold
 * selection and the eval summary. */
#include "testutil.h"
#include <math.h>
#include "mint/metrics.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng_next(void) /* splitmix64 */
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double rng_unif(void) { return (double)(rng_next() >> 11) * 0x1.0p-53; }

/* The hand-made case: descending scores with members (M) / external (E)
 *   0.95 M, 0.90 M, 0.85 E, 0.80 M, 0.70 E, 0.60 M, 0.50 E, 0.40 E, 0.30 M, 0.20 E
 * ROC: (0,0) (0,.2) (0,.4) (.2,.4) (.2,.6) (.4,.6) (.4,.8) (.6,.8) (.8,.8) (.8,1) (1,1)
 * AUC = (5+5+4+3+1)/25 = 0.72. Given in shuffled order. */
static const double hm_s[10] = { 0.50, 0.95, 0.30, 0.85, 0.70, 0.90, 0.20, 0.60, 0.40, 0.80 };
static const uint8_t hm_y[10] = { 0, 1, 1, 0, 0, 1, 0, 1, 0, 1 };

static void test_auc_known(void **state)
{
    (void)state;
    double s[6] = { 0.1, 0.2, 0.3, 0.7, 0.8, 0.9 };
    uint8_t y[6] = { 0, 0, 0, 1, 1, 1 };
    double auc;
    assert_int_equal(mint_auc(&auc, s, y, 6), MINT_OK);
    assert_true(auc == 1.0);
    uint8_t yi[6] = { 1, 1, 1, 0, 0, 0 };
    assert_int_equal(mint_auc(&auc, s, yi, 6), MINT_OK);
    assert_true(auc == 0.0);
    double c[6] = { 0.5, 0.5, 0.5, 0.5, 0.5, 0.5 };
    assert_int_equal(mint_auc(&auc, c, y, 6), MINT_OK);
    assert_true(auc == 0.5);
    assert_int_equal(mint_auc(&auc, hm_s, hm_y, 10), MINT_OK);
    assert_true(fabs(auc - 0.72) < 1e-15);
    /* ties between classes count 1/2: members {.5,.5}, external {.5,.2}
     * U = 2 * (1 + 1/2) = 3 of 4 pairs */
    double t[4] = { 0.5, 0.5, 0.5, 0.2 };
    uint8_t ty[4] = { 1, 1, 0, 0 };
    assert_int_equal(mint_auc(&auc, t, ty, 4), MINT_OK);
    assert_true(auc == 0.75);
}

static void test_auc_random(void **state)
{
    (void)state;
    /* uninformative scorer on large n: |AUC - 0.5| within 3 sigma,
     * sigma^2 = (n1 + n0 + 1) / (12 n1 n0) */
    enum { N = 20000 };
    double *s = malloc(N * sizeof *s);
    uint8_t *y = malloc(N);
    assert_non_null(s);
    assert_non_null(y);
    size_t n1 = 0;
    for (size_t i = 0; i < N; i++) {
        s[i] = rng_unif();
        y[i] = (uint8_t)(rng_next() & 1);
        n1 += y[i];
    }
    double auc;
    assert_int_equal(mint_auc(&auc, s, y, N), MINT_OK);
    double n0 = (double)(N - n1);
    double sigma = sqrt(((double)n1 + n0 + 1) / (12.0 * (double)n1 * n0));
    printf("   random scorer: AUC %.4f (sigma %.4f, n = %d)\n", auc, sigma, N);
    assert_true(fabs(auc - 0.5) < 3 * sigma);

    /* against a brute-force pair count, heavily tied scores */
    enum { M = 700 };
    for (size_t i = 0; i < M; i++) {
        s[i] = floor(rng_unif() * 12) / 10; /* 12 distinct values */
        y[i] = (uint8_t)(rng_unif() < 0.3 + 0.05 * s[i] * 10);
    }
    double u = 0, np = 0, nn = 0;
    for (size_t i = 0; i < M; i++) {
        if (!y[i])
            continue;
        np++;
        for (size_t j = 0; j < M; j++)
            if (!y[j])
                u += s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0;
    }
    for (size_t j = 0; j < M; j++)
        nn += !y[j];
    assert_int_equal(mint_auc(&auc, s, y, M), MINT_OK);
    assert_true(fabs(auc - u / (np * nn)) < 1e-14);
    free(s);
    free(y);
}

static void test_roc_handmade(void **state)
{
    (void)state;
    mint_roc r;
    assert_int_equal(mint_roc_curve(&r, hm_s, hm_y, 10), MINT_OK);
    static const double ef[11] = { 0, 0, 0, .2, .2, .4, .4, .6, .8, .8, 1 };
    static const double et[11] = { 0, .2, .4, .4, .6, .6, .8, .8, .8, 1, 1 };
    static const double eth[11] = { INFINITY, .95, .9, .85, .8, .7, .6, .5, .4, .3, .2 };
    assert_int_equal(r.n, 11);
    assert_int_equal(r.n_pos, 5);
    assert_int_equal(r.n_neg, 5);
    for (int k = 0; k < 11; k++) {
        assert_true(fabs(r.fpr[k] - ef[k]) < 1e-15);
        assert_true(fabs(r.tpr[k] - et[k]) < 1e-15);
        assert_true(r.thr[k] == eth[k]);
    }
    /* TPR at FPR: highest TPR with FPR <= target, no interpolation */
    static const struct {
        double target, tpr, thr, fpr;
    } q[] = {
        { 0.0, 0.4, 0.9, 0.0 },  { 0.01, 0.4, 0.9, 0.0 }, { 0.1, 0.4, 0.9, 0.0 },
        { 0.2, 0.6, 0.8, 0.2 },  { 0.39, 0.6, 0.8, 0.2 }, { 0.4, 0.8, 0.6, 0.4 },
        { 0.5, 0.8, 0.6, 0.4 },  { 0.8, 1.0, 0.3, 0.8 },  { 1.0, 1.0, 0.3, 0.8 },
    };
    for (size_t k = 0; k < sizeof q / sizeof q[0]; k++) {
        double tpr, thr, fa;
        assert_int_equal(mint_tpr_at_fpr(&tpr, &thr, &fa, &r, q[k].target), MINT_OK);
        assert_true(fabs(tpr - q[k].tpr) < 1e-15);
        assert_true(thr == q[k].thr);
        assert_true(fabs(fa - q[k].fpr) < 1e-15);
    }
    double tpr;
    assert_int_equal(mint_tpr_at_fpr(&tpr, NULL, NULL, &r, 1.5), MINT_E_ARG);
    assert_int_equal(mint_tpr_at_fpr(&tpr, NULL, NULL, &r, NAN), MINT_E_ARG);
    mint_roc_free(&r);

    /* ties give one point per distinct score, a diagonal step */
    double t[4] = { 0.5, 0.5, 0.5, 0.2 };
    uint8_t ty[4] = { 1, 1, 0, 0 };
    assert_int_equal(mint_roc_curve(&r, t, ty, 4), MINT_OK);
    assert_int_equal(r.n, 3);
    assert_true(r.fpr[1] == 0.5 && r.tpr[1] == 1.0 && r.thr[1] == 0.5);
    assert_true(r.fpr[2] == 1.0 && r.tpr[2] == 1.0);
    mint_roc_free(&r);

    /* a constant scorer: (0,0) then (1,1) */
    double c[4] = { 0.3, 0.3, 0.3, 0.3 };
    assert_int_equal(mint_roc_curve(&r, c, ty, 4), MINT_OK);
    assert_int_equal(r.n, 2);
    assert_true(r.fpr[1] == 1.0 && r.tpr[1] == 1.0);
    mint_roc_free(&r);

    /* FPR resolution: 1% of 100 negatives is exactly one false positive */
    enum { N = 200 };
    double s[N];
    uint8_t y[N];
    for (int i = 0; i < 100; i++) {
        s[i] = (i + 0.5) / 100.0; /* externals, uniform */
        y[i] = 0;
        s[100 + i] = i < 50 ? 2.0 + i : i * 1e-5; /* half far above, half below all */
        y[100 + i] = 1;
    }
    s[99] = 1000.0; /* one external above every member: 1% FPR buys all 50 high members */
    assert_int_equal(mint_roc_curve(&r, s, y, N), MINT_OK);
    double thr, fa;
    assert_int_equal(mint_tpr_at_fpr(&tpr, &thr, &fa, &r, 0.001), MINT_OK);
    assert_true(tpr == 0.0 && thr == INFINITY && fa == 0.0);
    assert_int_equal(mint_tpr_at_fpr(&tpr, &thr, &fa, &r, 0.01), MINT_OK);
    assert_true(tpr == 0.5 && fa == 0.01 && thr == 2.0);
    mint_roc_free(&r);
}

static void test_threshold_and_confusion(void **state)
{
    (void)state;
    mint_confusion c;
    assert_int_equal(mint_confusion_at(&c, hm_s, hm_y, 10, 0.5), MINT_OK);
    assert_int_equal(c.tp, 4);
    assert_int_equal(c.fn, 1);
    assert_int_equal(c.fp, 3);
    assert_int_equal(c.tn, 2);
    assert_true(fabs(mint_confusion_bacc(&c) - 0.6) < 1e-15);
    assert_true(fabs(mint_confusion_acc(&c) - 0.6) < 1e-15);
    double b;
    assert_int_equal(mint_balanced_accuracy(&b, hm_s, hm_y, 10, 0.75), MINT_OK);
    assert_true(fabs(b - 0.7) < 1e-15);
    /* balanced accuracy 0.7 is reached between .85/.9, .7/.8 and .5/.6;
     * the candidate closest to 0.5 is the midpoint 0.55 */
    double thr;
    assert_int_equal(mint_best_threshold(&thr, &b, hm_s, hm_y, 10), MINT_OK);
    assert_true(fabs(thr - 0.55) < 1e-15);
    assert_true(fabs(b - 0.7) < 1e-15);

    /* a perfect scorer on adjacent doubles is still separated */
    double s2[2] = { 0.3, nextafter(0.3, 1.0) };
    uint8_t y2[2] = { 0, 1 };
    assert_int_equal(mint_best_threshold(&thr, &b, s2, y2, 2), MINT_OK);
    assert_true(b == 1.0);
    assert_true(thr > s2[0] && thr <= s2[1]);

    /* balanced accuracy ignores class imbalance: 1 member of 100 */
    double s3[100];
    uint8_t y3[100] = { 0 };
    for (int i = 0; i < 100; i++)
        s3[i] = 0.1;
    s3[0] = 0.9;
    y3[0] = 1;
    assert_int_equal(mint_balanced_accuracy(&b, s3, y3, 100, 0.5), MINT_OK);
    assert_true(b == 1.0);

    /* invalid inputs */
    double bad[2] = { NAN, 0.5 };
    uint8_t yb[2] = { 0, 1 }, y1[2] = { 1, 1 }, y9[2] = { 0, 9 };
    assert_int_equal(mint_auc(&b, bad, yb, 2), MINT_E_ARG);
    assert_int_equal(mint_auc(&b, s2, y1, 2), MINT_E_ARG);
    assert_int_equal(mint_auc(&b, s2, y9, 2), MINT_E_ARG);
    assert_int_equal(mint_auc(&b, s2, yb, 0), MINT_E_ARG);
    assert_int_equal(mint_confusion_at(&c, s2, yb, 2, NAN), MINT_E_ARG);
}

static void test_evaluate(void **state)
{
    (void)state;
    mint_eval_result e;
    mint_roc r;
    assert_int_equal(mint_evaluate(&e, &r, hm_s, hm_y, 10, 0.75), MINT_OK);
    assert_int_equal(e.n, 10);
    assert_int_equal(e.n_members, 5);
    assert_int_equal(e.n_external, 5);
    assert_true(fabs(e.auc - 0.72) < 1e-15);
    assert_true(fabs(e.bacc_05 - 0.6) < 1e-15);
    assert_true(fabs(e.bacc_train_thr - 0.7) < 1e-15);
    assert_int_equal(e.cm_train_thr.tp, 3);
    assert_int_equal(e.cm_train_thr.fp, 1);
    assert_true(e.fpr_target[0] == 0.01 && e.fpr_target[1] == 0.001);
    /* FPR moves in steps of 0.2 here: both targets give the FPR-0 point */
    assert_true(fabs(e.tpr_at_fpr[0] - 0.4) < 1e-15 && e.thr_at_fpr[0] == 0.9);
    assert_true(e.fpr_achieved[1] == 0.0);
    assert_true(fabs(e.fpr_step - 0.2) < 1e-15);
    assert_int_equal(r.n, 11);
    mint_roc_free(&r);
    assert_int_equal(mint_evaluate(&e, NULL, hm_s, hm_y, 10, NAN), MINT_OK);
    assert_true(isnan(e.bacc_train_thr));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auc_known),
        cmocka_unit_test(test_auc_random),
        cmocka_unit_test(test_roc_handmade),
        cmocka_unit_test(test_threshold_and_confusion),
        cmocka_unit_test(test_evaluate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
