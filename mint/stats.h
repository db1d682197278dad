/* stats.h - the set-level test of an audit (issue 4, item 5).
 *
 * Question: do the membership scores of an audited set X (e.g. every photo
 * of one person) look like scores of data the model never saw?
 *   H0: X's scores come from the same distribution as the reference R
 *       (scores of known external data: the calibration scores stored with
 *       the MINT model at training time, or a --reference set);
 *   H1: X's scores are stochastically larger (members score high).
 *
 * Main test: one-sided Mann-Whitney U (Wilcoxon rank-sum). It assumes only
 * that under H0 the n + m scores are exchangeable, which is exactly "drawn
 * from the external distribution"; no shape is assumed, which matters
 * because sigmoid scores pile up near 0 and 1.
 *   U = #{(x, r): x > r} + 1/2 #{(x, r): x == r};  p = P(U >= U_obs | H0).
 *   - no ties and min(n,m)*n*m <= MINT_MWU_EXACT_WORK: exact null
 *     distribution (the coefficients of the Gaussian binomial
 *     [n+m choose n]_q), e.g. up to 40 images against 1000 reference scores
 *     or 5 against 20000;
 *   - ties and a small enough problem: exact permutation distribution
 *     conditional on the tie pattern (mid-ranks);
 *   - otherwise the normal approximation with the tie-corrected variance and
 *     a continuity correction of 1/2.
 *   The exact p-value is not mid-p, so P(p <= alpha) <= alpha under H0.
 *   Effect size: U / (n m) = P(X > R) + 1/2 P(X = R), the "probability of
 *   superiority" (the AUC of the set against the reference); 0.5 under H0.
 *
 * Second, simpler statistic: how many of X exceed the reference's 95th
 * percentile q = R_(j), j = ceil(0.95 m)? Under H0 (continuous scores) the
 * count K has an exact distribution that also accounts for q being
 * estimated from m samples: P(K = k) = C(k+m-j, k) C(n-k+j-1, n-k) / C(n+m, n).
 * For m -> infinity it is the Binomial(n, 0.05) test; with a finite
 * reference the plain binomial test is anti-conservative (q's own sampling
 * error adds variance), which is why the exact form is used. Ties at q count
 * as "not above" (conservative). */
#ifndef MINT_STATS_H
#define MINT_STATS_H

#include <stddef.h>
#include "mint.h"

/* Exact Mann-Whitney distribution (no ties) when min(n,m)*n*m is at most
 * this (about a millisecond of work) and C(n+m, n) fits a double. */
#define MINT_MWU_EXACT_WORK 2000000.0
/* Below this many audited images the verdict warns about low power. */
#define MINT_SET_MIN_N 5

typedef enum {
    MINT_MWU_EXACT = 0,      /* exact, no ties */
    MINT_MWU_EXACT_TIES,     /* exact permutation distribution given the ties */
    MINT_MWU_NORMAL          /* normal approximation, tie + continuity corrected */
} mint_mwu_method;

typedef struct {
    size_t n, m;            /* audited set size, reference size */
    /* Mann-Whitney U, one-sided (set larger) */
    double u;               /* U statistic (ties 1/2) */
    double effect;          /* U / (n m), probability of superiority */
    double p;               /* one-sided p-value */
    double p_min;           /* smallest p-value these sizes (and ties) allow */
    double z;               /* normal-approximation z (NaN for the exact methods) */
    mint_mwu_method method;
    /* exceedance of the reference 95th percentile */
    double ref_q95;         /* R_(j), j = ceil(0.95 m) */
    double ref_frac_above;  /* (m - j) / m, about 0.05 */
    size_t n_above;         /* set scores > ref_q95 */
    double exceed_p;        /* P(K >= n_above | H0), exact */
} mint_set_test;

/* Run both tests. set: n >= 1 scores, ref: m >= 1 scores; no NaNs. */
mint_status mint_set_test_run(mint_set_test *out, const double *set, size_t n, const double *ref,
                              size_t m);

/* "Mann-Whitney U, one-sided, exact" etc. */
const char *mint_set_test_name(const mint_set_test *t);

/* Plain-language verdict at level alpha, e.g.
 *   "evidence the data was used in training (p = 0.0003 < 0.05)"
 *   "no evidence the data was used in training (p = 0.41 >= 0.05); this
 *    does not show that it was not used"
 * plus a note when n < MINT_SET_MIN_N or when no outcome could reach alpha.
 * Writes at most cap bytes (always NUL-terminated when cap > 0); returns
 * the length it needed, like snprintf. */
size_t mint_verdict(char *buf, size_t cap, const mint_set_test *t, double alpha);

/* Helpers exposed for tests and reports. */
/* P(U >= u) for the no-ties exact null distribution (u may be fractional:
 * then P(U >= ceil(u))). MINT_E_ARG beyond MINT_MWU_EXACT_WORK. */
mint_status mint_mwu_exact_upper(double *p, size_t n, size_t m, double u);
/* Format a p-value compactly: "0.0003", "0.41", "1.2e-09", "< 1e-300". */
void mint_format_p(char *buf, size_t cap, double p);
/* The same with enough digits that the printed value is on the same side
 * of alpha as p itself ("p = 0.05 < 0.05" must not happen). */
void mint_format_p_vs(char *buf, size_t cap, double p, double alpha);

#endif
