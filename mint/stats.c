/* stats.c - set-level membership test: one-sided Mann-Whitney U against a
 * reference of external scores, and the exact exceedance test of the
 * reference 95th percentile. Definitions and the reasons for them are in
 * stats.h.
 *
 * Exact null distribution without ties: the number of arrangements of n
 * set and m reference values with U = u is the coefficient of q^u in the
 * Gaussian binomial [n+m choose n]_q = prod_{i=1..s} (1 - q^{l+i}) / (1 - q^i)
 * (s = min(n,m), l = max(n,m); Mann & Whitney 1947, Andrews "The Theory of
 * Partitions" 3.3). Each factor is one pass over the coefficients, and only
 * the coefficients up to the tail asked for are needed (coefficient k
 * depends on lower ones only), so a p-value costs O(s * n m / 2).
 * With ties: the exact permutation distribution of the sum of (doubled)
 * mid-ranks of the smaller sample, a subset-sum count, when small enough. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mint/stats.h"

/* Work limit (array cells touched) of the exact-with-ties path. */
#define TIES_EXACT_MAX_WORK 60000000.0

typedef struct {
    double v;
    unsigned char in_set;
} tagged;

static int cmp_tagged(const void *a, const void *b)
{
    double x = ((const tagged *)a)->v, y = ((const tagged *)b)->v;
    return (x > y) - (x < y);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* C(N, s) in double (exact up to 2^53, then relative error ~ s eps). */
static double binom_d(size_t N, size_t s)
{
    if (s > N - s)
        s = N - s;
    double c = 1.0;
    for (size_t i = 1; i <= s; i++)
        c = c * (double)(N - s + i) / (double)i;
    return c;
}

/* log C(N, s), to check that counts fit a double. */
static double log_binom(size_t N, size_t s)
{
    if (s > N - s)
        s = N - s;
    double l = 0.0;
    for (size_t i = 1; i <= s; i++)
        l += log((double)(N - s + i) / (double)i);
    return l;
}

/* Counts up to C(n+m, n) stay below ~1e300 and the work is bounded. */
static int exact_ok(size_t n, size_t m)
{
    double s = (double)(n < m ? n : m);
    return s * (double)n * (double)m <= MINT_MWU_EXACT_WORK && log_binom(n + m, n) < 690.0;
}

/* Sum of the coefficients 0..K of [n+m choose n]_q (K <= n m). */
static mint_status gauss_binom_cdf(double *out, size_t n, size_t m, size_t K)
{
    size_t s = n < m ? n : m, l = n < m ? m : n;
    double *c = calloc(K + 1, sizeof *c);
    if (!c)
        return mint_fail(MINT_E_NOMEM, "Mann-Whitney exact: out of memory (%zu)", K + 1);
    c[0] = 1.0;
    for (size_t i = 1; i <= s; i++) {
        size_t a = l + i;
        for (size_t k = K; k >= a; k--) /* times (1 - q^a) */
            c[k] -= c[k - a];
        for (size_t k = i; k <= K; k++) /* divided by (1 - q^i) */
            c[k] += c[k - i];
    }
    double sum = 0.0;
    for (size_t k = 0; k <= K; k++)
        sum += c[k];
    free(c);
    *out = sum;
    return MINT_OK;
}

mint_status mint_mwu_exact_upper(double *p, size_t n, size_t m, double u)
{
    if (!p || n == 0 || m == 0 || isnan(u))
        return mint_fail(MINT_E_ARG, "mint_mwu_exact_upper: bad arguments");
    if (!exact_ok(n, m))
        return mint_fail(MINT_E_ARG, "mint_mwu_exact_upper: n = %zu, m = %zu too large for the "
                                     "exact distribution", n, m);
    size_t nm = n * m;
    double uc = ceil(u);
    if (uc <= 0) {
        *p = 1.0;
        return MINT_OK;
    }
    if (uc > (double)nm) {
        *p = 0.0;
        return MINT_OK;
    }
    size_t ui = (size_t)uc;
    double total = binom_d(n + m, n), cdf;
    mint_status st;
    /* symmetric: P(U >= u) = P(U <= nm - u); sum whichever tail is shorter */
    if (nm - ui <= nm / 2) {
        st = gauss_binom_cdf(&cdf, n, m, nm - ui);
        *p = cdf / total;
    } else {
        st = gauss_binom_cdf(&cdf, n, m, ui - 1);
        *p = 1.0 - cdf / total;
    }
    if (*p < 0)
        *p = 0;
    if (*p > 1)
        *p = 1;
    return st;
}

/* Exact permutation tail with ties. Items sorted ascending, weights w[i] =
 * twice the mid-rank of item i's tie group. The smaller sample (size ns)
 * has observed weight sum obs; upper = 1 asks P(sum >= obs), else
 * P(sum <= obs). Also returns the probability of the most extreme value in
 * the same direction (*pext). */
static mint_status ties_exact_tail(double *p, double *pext, const size_t *w, size_t N, size_t ns,
                                   size_t obs, int upper)
{
    size_t smax = 0;
    for (size_t i = N - ns; i < N; i++)
        smax += w[i];
    size_t S = smax + 1;
    double *dp = calloc((ns + 1) * S, sizeof *dp);
    if (!dp)
        return mint_fail(MINT_E_NOMEM, "Mann-Whitney exact with ties: out of memory");
    dp[0] = 1.0;
    for (size_t i = 0; i < N; i++) {
        size_t kmax = i + 1 < ns ? i + 1 : ns;
        for (size_t k = kmax; k >= 1; k--) {
            double *to = dp + k * S;
            const double *from = dp + (k - 1) * S;
            for (size_t s = smax; s >= w[i]; s--)
                to[s] += from[s - w[i]];
        }
    }
    const double *last = dp + ns * S;
    double total = 0.0, tail = 0.0;
    size_t lo = S, hi = 0;
    for (size_t s = 0; s < S; s++) {
        if (last[s] == 0.0)
            continue;
        total += last[s];
        if (upper ? s >= obs : s <= obs)
            tail += last[s];
        if (s < lo)
            lo = s;
        hi = s;
    }
    *p = tail / total;
    *pext = (upper ? last[hi] : last[lo]) / total;
    free(dp);
    return MINT_OK;
}

/* log P(K = 0) .. for the exceedance count; see stats.h. Tail P(K >= k0). */
static double exceed_tail(size_t n, size_t m, size_t j, size_t k0)
{
    if (k0 == 0)
        return 1.0;
    if (k0 > n)
        return 0.0;
    /* log P(K=0) = sum_{i=1..n} log((j-1+i)/(m+i)) */
    double lp = 0.0;
    for (size_t i = 1; i <= n; i++)
        lp += log((double)(j - 1 + i) / (double)(m + i));
    double tail = 0.0;
    for (size_t k = 0; k < n; k++) {
        if (k >= k0)
            tail += exp(lp);
        /* P(k+1)/P(k) = (m-j+k+1)/(k+1) * (n-k)/(j-1+n-k) */
        lp += log((double)(m - j + k + 1) / (double)(k + 1)) +
              log((double)(n - k) / (double)(j - 1 + n - k));
    }
    tail += exp(lp); /* k = n */
    return tail > 1.0 ? 1.0 : tail;
}

static double normal_upper(double z) { return 0.5 * erfc(z / sqrt(2.0)); }

mint_status mint_set_test_run(mint_set_test *out, const double *set, size_t n, const double *ref,
                              size_t m)
{
    if (!out)
        return mint_fail(MINT_E_ARG, "mint_set_test_run: NULL output");
    memset(out, 0, sizeof *out);
    if (!set || !ref || n == 0 || m == 0)
        return mint_fail(MINT_E_ARG, "mint_set_test_run: need at least one audited score "
                                     "and one reference score (n = %zu, m = %zu)", n, m);
    for (size_t i = 0; i < n; i++)
        if (isnan(set[i]))
            return mint_fail(MINT_E_ARG, "mint_set_test_run: audited score %zu is NaN", i);
    for (size_t i = 0; i < m; i++)
        if (isnan(ref[i]))
            return mint_fail(MINT_E_ARG, "mint_set_test_run: reference score %zu is NaN", i);
    size_t N = n + m;
    if (N < n || N > SIZE_MAX / sizeof(tagged))
        return mint_fail(MINT_E_NOMEM, "mint_set_test_run: sizes overflow");
    tagged *all = malloc(N * sizeof *all);
    double *rs = malloc(m * sizeof *rs);
    size_t *w = malloc(N * sizeof *w);
    if (!all || !rs || !w) {
        free(all);
        free(rs);
        free(w);
        return mint_fail(MINT_E_NOMEM, "mint_set_test_run: out of memory");
    }
    for (size_t i = 0; i < n; i++)
        all[i] = (tagged){ set[i], 1 };
    for (size_t i = 0; i < m; i++)
        all[n + i] = (tagged){ ref[i], 0 };
    qsort(all, N, sizeof *all, cmp_tagged);

    /* U (as 2U, exact in integers), tie term sum(t^3 - t), doubled mid-ranks
     * w = 2*(items below) + t + 1, and their sum over the set (2R). */
    unsigned long long u2 = 0, r_below = 0, r2x = 0, r2y = 0;
    double tie_term = 0.0;
    int ties = 0;
    size_t i = 0;
    while (i < N) {
        size_t j = i, gx = 0, gy = 0;
        for (; j < N && all[j].v == all[i].v; j++)
            all[j].in_set ? gx++ : gy++;
        size_t t = j - i;
        if (t > 1) {
            ties = 1;
            tie_term += (double)t * (double)t * (double)t - (double)t;
        }
        u2 += (unsigned long long)gx * (2 * r_below + gy);
        r_below += gy;
        for (size_t k = i; k < j; k++)
            w[k] = 2 * i + t + 1;
        r2x += (unsigned long long)gx * (2 * i + t + 1);
        r2y += (unsigned long long)gy * (2 * i + t + 1);
        i = j;
    }
    double nm = (double)n * (double)m;
    out->n = n;
    out->m = m;
    out->u = (double)u2 / 2.0;
    out->effect = out->u / nm;
    out->z = NAN;

    mint_status st = MINT_OK;
    size_t ns = n <= m ? n : m;
    double ties_work = (double)N * (double)ns * (2.0 * (double)ns * (double)N);
    if (!ties && exact_ok(n, m)) {
        out->method = MINT_MWU_EXACT;
        st = mint_mwu_exact_upper(&out->p, n, m, out->u);
        out->p_min = 1.0 / binom_d(N, n);
    } else if (ties && ties_work <= TIES_EXACT_MAX_WORK && log_binom(N, ns) < 690.0) {
        out->method = MINT_MWU_EXACT_TIES;
        /* the smaller sample's rank sum; U_X large <=> R_X large <=> R_Y small */
        if (n <= m)
            st = ties_exact_tail(&out->p, &out->p_min, w, N, n, (size_t)r2x, 1);
        else
            st = ties_exact_tail(&out->p, &out->p_min, w, N, m, (size_t)r2y, 0);
    } else {
        out->method = MINT_MWU_NORMAL;
        double var = nm / 12.0 * ((double)N + 1.0 - tie_term / ((double)N * ((double)N - 1.0)));
        if (N < 2 || !(var > 0.0)) {
            out->p = 1.0; /* every score tied: no information */
            out->p_min = 1.0;
            out->z = 0.0;
        } else {
            double sd = sqrt(var);
            out->z = (out->u - nm / 2.0 - 0.5) / sd;
            out->p = normal_upper(out->z);
            out->p_min = normal_upper((nm - nm / 2.0 - 0.5) / sd);
        }
    }

    /* exceedance of the reference 95th percentile */
    if (st == MINT_OK) {
        memcpy(rs, ref, m * sizeof *rs);
        qsort(rs, m, sizeof *rs, cmp_double);
        size_t jq = (95 * m + 99) / 100; /* ceil(0.95 m), >= 1 */
        out->ref_q95 = rs[jq - 1];
        out->ref_frac_above = (double)(m - jq) / (double)m;
        size_t k = 0;
        for (size_t a = 0; a < n; a++)
            k += set[a] > out->ref_q95;
        out->n_above = k;
        out->exceed_p = exceed_tail(n, m, jq, k);
    }
    free(all);
    free(rs);
    free(w);
    if (st != MINT_OK)
        memset(out, 0, sizeof *out);
    return st;
}

const char *mint_set_test_name(const mint_set_test *t)
{
    switch (t ? t->method : MINT_MWU_NORMAL) {
    case MINT_MWU_EXACT: return "Mann-Whitney U, one-sided, exact";
    case MINT_MWU_EXACT_TIES: return "Mann-Whitney U, one-sided, exact (conditional on ties)";
    case MINT_MWU_NORMAL: break;
    }
    return "Mann-Whitney U, one-sided, normal approximation (tie and continuity corrected)";
}

void mint_format_p(char *buf, size_t cap, double p)
{
    if (!buf || !cap)
        return;
    if (isnan(p))
        snprintf(buf, cap, "nan");
    else if (p < 1e-300)
        snprintf(buf, cap, "< 1e-300");
    else
        snprintf(buf, cap, "%.2g", p);
}

/* p with enough digits that the printed value is on the same side of alpha
 * as p itself ("p = 0.05 < 0.05" must not happen). */
void mint_format_p_vs(char *buf, size_t cap, double p, double alpha)
{
    mint_format_p(buf, cap, p);
    if (!(p >= 1e-300))
        return;
    for (int digits = 3; digits <= 17; digits++) {
        double shown = strtod(buf, NULL);
        if ((shown < alpha) == (p < alpha))
            return;
        snprintf(buf, cap, "%.*g", digits, p);
    }
}

size_t mint_verdict(char *buf, size_t cap, const mint_set_test *t, double alpha)
{
    char tmp[512], ps[48], as[48];
    size_t len;
    if (!t || isnan(t->p) || !(alpha > 0.0 && alpha < 1.0)) {
        len = (size_t)snprintf(tmp, sizeof tmp, "no verdict (invalid test result or level)");
    } else {
        mint_format_p_vs(ps, sizeof ps, t->p, alpha);
        snprintf(as, sizeof as, "%g", alpha);
        const char *eq = t->p < 1e-300 ? "p " : "p = ";
        int k;
        if (t->p < alpha) {
            k = snprintf(tmp, sizeof tmp, "evidence the data was used in training (%s%s < %s)", eq,
                         ps, as);
        } else {
            k = snprintf(tmp, sizeof tmp,
                         "no evidence the data was used in training (%s%s >= %s); this does not "
                         "show that it was not used",
                         eq, ps, as);
            if (t->p_min >= alpha) {
                char pm[48];
                mint_format_p(pm, sizeof pm, t->p_min);
                k += snprintf(tmp + k, sizeof tmp - (size_t)k,
                              ". The test cannot reach significance here: with n = %zu image%s "
                              "and %zu reference scores the smallest possible p-value is %s",
                              t->n, t->n == 1 ? "" : "s", t->m, pm);
            } else if (t->n < MINT_SET_MIN_N) {
                k += snprintf(tmp + k, sizeof tmp - (size_t)k,
                              ". With only n = %zu image%s the test has little power; audit "
                              "more images of the set",
                              t->n, t->n == 1 ? "" : "s");
            }
        }
        len = (size_t)k;
    }
    if (len >= sizeof tmp)
        len = sizeof tmp - 1;
    if (buf && cap) {
        size_t c = len < cap - 1 ? len : cap - 1;
        memcpy(buf, tmp, c);
        buf[c] = '\0';
    }
    return len;
}
