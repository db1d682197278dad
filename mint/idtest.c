/* idtest.c - identity-level set test of an audit (definitions and reasons
 * in idtest.h, the method in docs/audit-statistics.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mint/idtest.h"
#include "mint/stats.h"
#include "base/rng.h"

typedef struct {
    int64_t g; /* group key; < 0: own identity */
    size_t i;  /* image */
} gkey;

static int cmp_gkey(const void *a, const void *b)
{
    const gkey *x = a, *y = b;
    if (x->g != y->g)
        return (x->g > y->g) - (x->g < y->g);
    return (x->i > y->i) - (x->i < y->i);
}

void mint_idref_free(mint_idref *r)
{
    if (!r)
        return;
    free(r->x);
    free(r->start);
    memset(r, 0, sizeof *r);
}

mint_status mint_idref_build(mint_idref *r, const double *logit, const int32_t *group, size_t n)
{
    memset(r, 0, sizeof *r);
    if (n == 0 || !logit)
        return mint_fail(MINT_E_ARG, "the reference holds no scores");
    for (size_t i = 0; i < n; i++)
        if (!isfinite(logit[i]))
            return mint_fail(MINT_E_ARG, "reference score %zu is not finite", i);
    gkey *k = malloc(sizeof *k * n);
    r->x = malloc(sizeof *r->x * n);
    r->start = malloc(sizeof *r->start * (n + 1));
    if (!k || !r->x || !r->start) {
        free(k);
        mint_idref_free(r);
        return mint_fail(MINT_E_NOMEM, "out of memory for %zu reference scores", n);
    }
    /* images without an identity become identities of their own: keys
     * beyond every int32 group */
    for (size_t i = 0; i < n; i++)
        k[i] = (gkey){ group && group[i] >= 0 ? (int64_t)group[i] : ((int64_t)1 << 32) + (int64_t)i,
                       i };
    qsort(k, n, sizeof *k, cmp_gkey);
    for (size_t i = 0; i < n; i++) {
        r->x[i] = logit[k[i].i];
        if (i == 0 || k[i].g != k[i - 1].g)
            r->start[r->K++] = i;
    }
    r->start[r->K] = n;
    r->n = n;
    free(k);
    return MINT_OK;
}

static double mean(const double *x, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += x[i];
    return s / (double)n;
}

/* Mean of a subset of s of the n values x, drawn without replacement
 * (partial Fisher-Yates on an index copy). */
static double subset_mean(const double *x, size_t n, size_t s, base_rng *rng, size_t *idx)
{
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    double sum = 0.0;
    for (size_t i = 0; i < s; i++) {
        const size_t j = i + (size_t)base_rng_below(rng, n - i);
        const size_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
        sum += x[idx[i]];
    }
    return sum / (double)s;
}

/* Random-effects estimates of the reference (one-way ANOVA, unequal group
 * sizes): 0 when both variances are estimable. */
static int random_effects(const mint_idref *r, double *mu, double *sb2, double *sw2)
{
    const size_t K = r->K, N = r->n;
    size_t multi = 0;
    double grand = mean(r->x, N), ssw = 0.0, ssb = 0.0, sumsq = 0.0;
    for (size_t k = 0; k < K; k++) {
        const size_t nk = r->start[k + 1] - r->start[k];
        const double mk = mean(r->x + r->start[k], nk);
        for (size_t j = r->start[k]; j < r->start[k + 1]; j++)
            ssw += (r->x[j] - mk) * (r->x[j] - mk);
        ssb += (double)nk * (mk - grand) * (mk - grand);
        sumsq += (double)nk * (double)nk;
        multi += nk >= 2;
    }
    if (K < 3 || multi < 2 || N <= K)
        return -1;
    const double msw = ssw / (double)(N - K), msb = ssb / (double)(K - 1);
    const double n0 = ((double)N - sumsq / (double)N) / (double)(K - 1);
    *mu = grand;
    *sw2 = msw;
    *sb2 = msb > msw ? (msb - msw) / n0 : 0.0;
    return 0;
}

mint_status mint_id_test_one(mint_id_one *out, const double *x, size_t n, const mint_idref *ref,
                             mint_idt_method method, uint64_t seed)
{
    memset(out, 0, sizeof *out);
    out->mu = out->s_b = out->s_w = out->z = NAN;
    if (!x || n == 0 || !ref || ref->K == 0)
        return mint_fail(MINT_E_ARG, "identity test: needs >= 1 score and >= 1 reference identity");
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return mint_fail(MINT_E_ARG, "identity test: score %zu is not finite", i);
    out->n = n;
    out->t = mean(x, n);
    out->K = ref->K;
    size_t maxn = 0;
    for (size_t k = 0; k < ref->K; k++)
        if (ref->start[k + 1] - ref->start[k] > maxn)
            maxn = ref->start[k + 1] - ref->start[k];
    size_t *idx = malloc(sizeof *idx * (maxn ? maxn : 1));
    double *tk = malloc(sizeof *tk * ref->K);
    if (!idx || !tk) {
        free(idx), free(tk);
        return mint_fail(MINT_E_NOMEM, "out of memory");
    }
    base_rng rng = base_rng_stream(seed, 101);
    size_t below = 0;
    for (size_t k = 0; k < ref->K; k++) {
        const size_t nk = ref->start[k + 1] - ref->start[k];
        const double *xk = ref->x + ref->start[k];
        tk[k] = nk <= n ? mean(xk, nk) : subset_mean(xk, nk, n, &rng, idx);
        out->k_fewer += nk < n;
        out->n_ge += tk[k] >= out->t;
        below += tk[k] < out->t;
    }
    out->percentile = (double)below / (double)ref->K;
    out->method = MINT_IDT_RANK;
    out->p = (1.0 + (double)out->n_ge) / (1.0 + (double)ref->K);
    out->p_min = 1.0 / (1.0 + (double)ref->K);
    double mu, sb2, sw2;
    if (method == MINT_IDT_RANDOM_EFFECTS && !random_effects(ref, &mu, &sb2, &sw2) &&
        sb2 + sw2 / (double)n > 0.0) {
        out->method = MINT_IDT_RANDOM_EFFECTS;
        out->mu = mu;
        out->s_b = sqrt(sb2);
        out->s_w = sqrt(sw2);
        out->z = (out->t - mu) / sqrt(sb2 + sw2 / (double)n);
        /* Student t with K - 1 df rather than the normal: mu and the
         * variances are estimates from K identities */
        out->p = mint_student_upper(out->z, (double)(ref->K - 1));
        out->p_min = 0.0;
    }
    free(idx);
    free(tk);
    return MINT_OK;
}

/* ---- Student's t (for Welch) ---- */

/* Continued fraction of the incomplete beta function (modified Lentz). */
static double betacf(double a, double b, double x)
{
    const double tiny = 1e-300;
    double c = 1.0, d = 1.0 - (a + b) * x / (a + 1.0);
    if (fabs(d) < tiny)
        d = tiny;
    d = 1.0 / d;
    double h = d;
    for (int m = 1; m <= 400; m++) {
        const double m2 = 2.0 * m;
        double aa = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2));
        d = 1.0 + aa * d;
        if (fabs(d) < tiny)
            d = tiny;
        c = 1.0 + aa / c;
        if (fabs(c) < tiny)
            c = tiny;
        d = 1.0 / d;
        h *= d * c;
        aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0));
        d = 1.0 + aa * d;
        if (fabs(d) < tiny)
            d = tiny;
        c = 1.0 + aa / c;
        if (fabs(c) < tiny)
            c = tiny;
        d = 1.0 / d;
        const double del = d * c;
        h *= del;
        if (fabs(del - 1.0) < 1e-15)
            break;
    }
    return h;
}

/* Regularised incomplete beta I_x(a, b). */
static double ibeta(double a, double b, double x)
{
    if (x <= 0.0)
        return 0.0;
    if (x >= 1.0)
        return 1.0;
    const double lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
    if (x < (a + 1.0) / (a + b + 2.0))
        return exp(lbt) * betacf(a, b, x) / a;
    return 1.0 - exp(lbt) * betacf(b, a, 1.0 - x) / b;
}

double mint_student_upper(double t, double df)
{
    if (isnan(t) || !(df > 0.0))
        return NAN;
    if (isinf(t))
        return t > 0 ? 0.0 : 1.0;
    const double tail = 0.5 * ibeta(0.5 * df, 0.5, df / (df + t * t));
    return t > 0 ? tail : 1.0 - tail;
}

/* ---- the set ---- */

void mint_idset_free(mint_idset *s)
{
    if (!s)
        return;
    free(s->ids);
    memset(s, 0, sizeof *s);
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

mint_status mint_idset_run(mint_idset *out, const double *x, const size_t *start, size_t m,
                           const mint_idref *ref, mint_idt_method method, uint64_t seed)
{
    memset(out, 0, sizeof *out);
    out->welch_t = out->welch_df = out->welch_p = NAN;
    if (!x || !start || m == 0 || !ref || ref->K == 0)
        return mint_fail(MINT_E_ARG, "set test: needs >= 1 audited and >= 1 reference identity");
    if (method == MINT_IDT_PERMUTATION)
        method = MINT_IDT_RANK;
    for (size_t i = 0; i < m; i++)
        if (start[i + 1] <= start[i])
            return mint_fail(MINT_E_ARG, "set test: audited identity %zu has no scores", i);
    out->m = m;
    out->n_images = start[m] - start[0];
    out->K = ref->K;
    out->K_images = ref->n;
    out->ids = calloc(m, sizeof *out->ids);
    double *v = malloc(sizeof *v * (m + ref->K));
    if (!out->ids || !v) {
        free(v);
        mint_idset_free(out);
        return mint_fail(MINT_E_NOMEM, "out of memory");
    }
    mint_status st = MINT_OK;
    for (size_t i = 0; !st && i < m; i++)
        st = mint_id_test_one(&out->ids[i], x + start[i], start[i + 1] - start[i], ref, method,
                              seed + i);
    if (st) {
        free(v);
        mint_idset_free(out);
        return st;
    }
    /* identity means: audited first, then the reference */
    for (size_t i = 0; i < m; i++)
        v[i] = out->ids[i].t;
    for (size_t k = 0; k < ref->K; k++)
        v[m + k] = mean(ref->x + ref->start[k], ref->start[k + 1] - ref->start[k]);
    if (m == 1) {
        const mint_id_one *a = &out->ids[0];
        out->method = a->method;
        out->p = a->p;
        out->p_min = a->p_min;
        out->t_set = a->t;
        out->effect = a->percentile;
        qsort(v + 1, ref->K, sizeof *v, cmp_double);
        out->t_ref = ref->K % 2 ? v[1 + ref->K / 2] : 0.5 * (v[ref->K / 2] + v[1 + ref->K / 2]);
        free(v);
        return MINT_OK;
    }
    /* m >= 2: permutation test of mean(audited) - mean(reference) */
    const size_t N = m + ref->K;
    double sa = 0.0, sr = 0.0;
    for (size_t i = 0; i < m; i++)
        sa += v[i];
    for (size_t k = 0; k < ref->K; k++)
        sr += v[m + k];
    out->t_set = sa / (double)m;
    out->t_ref = sr / (double)ref->K;
    size_t pairs = 0;
    for (size_t i = 0; i < m; i++)
        for (size_t k = 0; k < ref->K; k++)
            pairs += v[i] > v[m + k];
    out->effect = (double)pairs / ((double)m * (double)ref->K);
    /* the statistic is monotone in the audited sum (the total is fixed);
     * sums equal up to rounding count as >= (conservative) */
    const double obs = sa - 1e-9 * (fabs(sa) + 1.0);
    base_rng rng = base_rng_stream(seed, 202);
    double *w = malloc(sizeof *w * N);
    if (!w) {
        free(v);
        mint_idset_free(out);
        return mint_fail(MINT_E_NOMEM, "out of memory");
    }
    memcpy(w, v, sizeof *w * N);
    size_t ge = 0;
    const size_t R = MINT_IDT_PERMUTATIONS;
    for (size_t r = 0; r < R; r++) {
        double s = 0.0;
        for (size_t i = 0; i < m; i++) { /* partial Fisher-Yates: a random m-subset */
            const size_t j = i + (size_t)base_rng_below(&rng, N - i);
            const double t = w[i];
            w[i] = w[j];
            w[j] = t;
            s += w[i];
        }
        ge += s >= obs;
    }
    free(w);
    out->n_perm = R;
    out->method = MINT_IDT_PERMUTATION;
    out->p = (1.0 + (double)ge) / (1.0 + (double)R);
    out->p_min = 1.0 / (1.0 + (double)R);
    /* a set cannot be stronger evidence than the number of ways to choose
     * it among the identities allows */
    {
        double c = 1.0;
        for (size_t i = 1; i <= m && c < 1e18; i++)
            c = c * (double)(N - m + i) / (double)i;
        if (1.0 / c > out->p_min)
            out->p_min = 1.0 / c;
    }
    /* Welch on the same identity means, for comparison */
    if (m >= 2 && ref->K >= 2) {
        double va = 0.0, vr = 0.0;
        for (size_t i = 0; i < m; i++)
            va += (v[i] - out->t_set) * (v[i] - out->t_set);
        for (size_t k = 0; k < ref->K; k++)
            vr += (v[m + k] - out->t_ref) * (v[m + k] - out->t_ref);
        va /= (double)(m - 1);
        vr /= (double)(ref->K - 1);
        const double se2 = va / (double)m + vr / (double)ref->K;
        if (se2 > 0.0) {
            out->welch_t = (out->t_set - out->t_ref) / sqrt(se2);
            const double a = va / (double)m, b = vr / (double)ref->K;
            out->welch_df = se2 * se2 / (a * a / (double)(m - 1) + b * b / (double)(ref->K - 1));
            out->welch_p = mint_student_upper(out->welch_t, out->welch_df);
        }
    }
    free(v);
    return MINT_OK;
}

const char *mint_idt_method_name(mint_idt_method m)
{
    switch (m) {
    case MINT_IDT_RANK:
        return "identity-level rank test (mean logit against reference identities, min(n, n_k) "
               "images each)";
    case MINT_IDT_RANDOM_EFFECTS:
        return "identity-level random-effects test (mean logit, normal null from the reference's "
               "between- and within-identity variances)";
    case MINT_IDT_PERMUTATION:
        return "identity-level permutation test (mean of identity mean logits against the "
               "reference identities, 9999 permutations)";
    }
    return "?";
}

mint_status mint_idt_method_parse(const char *s, mint_idt_method *m)
{
    if (s && !strcmp(s, "rank"))
        *m = MINT_IDT_RANK;
    else if (s && !strcmp(s, "random-effects"))
        *m = MINT_IDT_RANDOM_EFFECTS;
    else
        return mint_fail(MINT_E_ARG, "set test '%s': rank or random-effects", s ? s : "");
    return MINT_OK;
}

size_t mint_idset_verdict(char *buf, size_t cap, const mint_idset *s, double alpha)
{
    char tmp[1024], ps[48], pm[48];
    int k;
    if (!s || isnan(s->p) || !(alpha > 0.0 && alpha < 1.0)) {
        k = snprintf(tmp, sizeof tmp, "no verdict (invalid test result or level)");
    } else if (s->p_min > alpha) {
        snprintf(pm, sizeof pm, "%.2g", s->p_min);
        k = snprintf(tmp, sizeof tmp,
                     "no verdict: with %zu reference identit%s the smallest p-value this test "
                     "can give is %s, above alpha = %g; a verdict at this level needs at least "
                     "%.0f reference identities",
                     s->K, s->K == 1 ? "y" : "ies", pm, alpha, ceil(1.0 / alpha - 1.0));
    } else {
        mint_format_p_vs(ps, sizeof ps, s->p, alpha);
        if (s->p < alpha)
            k = snprintf(tmp, sizeof tmp, "evidence the data was used in training (p = %s < %g)",
                         ps, alpha);
        else
            k = snprintf(tmp, sizeof tmp,
                         "no evidence the data was used in training (p = %s >= %g); this does "
                         "not show that it was not used",
                         ps, alpha);
    }
    size_t len = k < 0 ? 0 : (size_t)k;
    if (len >= sizeof tmp)
        len = sizeof tmp - 1;
    if (buf && cap) {
        const size_t c = len < cap - 1 ? len : cap - 1;
        memcpy(buf, tmp, c);
        buf[c] = '\0';
    }
    return len;
}
