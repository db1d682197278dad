/* idtest.h - the set-level audit test at the level of identities (issue 8;
 * method, assumptions and measured figures in docs/audit-statistics.md).
 *
 * Photos of one person share face, light, camera and background, so their
 * membership scores are correlated: a per-image test (Mann-Whitney of the
 * images against reference images, mint/stats.h) counts n correlated photos
 * as n independent witnesses and its p-value is too small, the more so the
 * larger the folder. The unit here is the identity.
 *
 * Reference: K identities that are known non-members of the audited network
 * and that the MINT model never trained on (held out by identity at
 * training time, or a --reference set), each with the logits of its n_k
 * images (logit = the MINT model's pre-sigmoid output; a mean of logits is
 * more sensitive than a mean of sigmoids, which saturate).
 *
 * One identity with n images (MINT_IDT_RANK, the default):
 *   t   = mean of its n logits;
 *   t_k = mean of min(n, n_k) logits of reference identity k: all of them
 *         when n_k <= n (a mean of fewer images has a wider null, so the
 *         test stays conservative), else one subset of n drawn without
 *         replacement by a seeded generator (the same audit gives the same
 *         p-value);
 *   p   = (1 + #{k : t_k >= t}) / (1 + K).
 * Exact (P(p <= a) <= a) when, under H0, the audited identity is
 * exchangeable with the reference identities. Its resolution is 1/(K+1):
 * no verdict is given at a level alpha < 1/(K+1).
 *
 * Random-effects alternative (MINT_IDT_RANDOM_EFFECTS): from the reference,
 * the one-way ANOVA estimators for unequal group sizes give the mean mu,
 * the between-identity variance s_b^2 and the within-identity variance
 * s_w^2; z = (t - mu) / sqrt(s_b^2 + s_w^2 / n), p = P(T_{K-1} >= z). More power
 * when reference identities have few images (LFW), but it assumes normal
 * identity means; it needs at least two reference identities with two or
 * more images, else the rank test is used.
 *
 * A set of m >= 2 identities: each identity's mean t_i (all its images)
 * against the reference identities' means t_k (all their images); the
 * statistic is mean(t_i) - mean(t_k) and its null a Monte Carlo
 * permutation test over the m + K identity labels (R draws, seeded;
 * p = (1 + #{perm >= obs}) / (1 + R)), exact under exchangeability of
 * identities and conservative when the audited identities have more images
 * (less spread) than the reference ones. Welch's t-test on the same
 * identity means (the dataset-inference test of Maini et al., ICLR 2021) is
 * reported beside it. Each identity also gets its own rank-test p-value
 * (not corrected for multiplicity: the set verdict is the combined test). */
#ifndef MINT_MINT_IDTEST_H
#define MINT_MINT_IDTEST_H

#include <stddef.h>
#include <stdint.h>
#include "mint.h"

/* Monte Carlo permutations of the multi-identity test. */
#define MINT_IDT_PERMUTATIONS 9999
/* Fixed seed of the subsets and permutations (documented, so that the same
 * audit gives the same p-value). */
#define MINT_IDT_SEED 20261207u

typedef enum {
    MINT_IDT_RANK = 0,          /* one identity: min(n, n_k) rank test */
    MINT_IDT_RANDOM_EFFECTS,    /* one identity: random-effects normal null */
    MINT_IDT_PERMUTATION        /* m >= 2 identities: permutation test of mean difference */
} mint_idt_method;

/* Reference identities: logits grouped by identity (contiguous). */
typedef struct {
    double *x;       /* logits, identity by identity */
    size_t *start;   /* K + 1 offsets into x */
    size_t K;        /* identities */
    size_t n;        /* images */
} mint_idref;

/* Group n logits by identity: group[i] >= 0 is image i's identity index
 * (any values), group[i] < 0 or group == NULL makes the image an identity
 * of its own. MINT_E_ARG on NaN/Inf. */
mint_status mint_idref_build(mint_idref *r, const double *logit, const int32_t *group, size_t n);
void mint_idref_free(mint_idref *r);

/* One audited identity. */
typedef struct {
    size_t n;            /* its images */
    double t;            /* mean logit */
    mint_idt_method method;
    size_t K;            /* reference identities used */
    size_t n_ge;         /* rank: reference values >= t */
    size_t k_fewer;      /* rank: reference identities with fewer than n images */
    double p, p_min;     /* one-sided p-value, smallest p possible (rank: 1/(K+1)) */
    double percentile;   /* fraction of reference identity values below t */
    double mu, s_b, s_w, z; /* random effects (NaN otherwise) */
} mint_id_one;

/* The test of one identity with n >= 1 logits x against ref (K >= 1).
 * MINT_IDT_RANDOM_EFFECTS falls back to the rank test when the reference
 * cannot estimate both variances (method says which ran). */
mint_status mint_id_test_one(mint_id_one *out, const double *x, size_t n, const mint_idref *ref,
                             mint_idt_method method, uint64_t seed);

/* The set-level result. */
typedef struct {
    size_t m;            /* audited identities */
    size_t n_images;     /* audited images */
    size_t K, K_images;  /* reference identities, images */
    mint_idt_method method;
    double p, p_min;     /* the verdict's p-value and its resolution */
    double t_set, t_ref; /* m = 1: t and the median of t_k; m >= 2: mean identity means */
    double effect;       /* m = 1: percentile of t among t_k; m >= 2: fraction of pairs
                          * (audited identity, reference identity) with t_i > t_k */
    size_t n_perm;       /* permutations drawn (m >= 2) */
    double welch_t, welch_df, welch_p; /* m >= 2 (NaN otherwise, or when undefined) */
    mint_id_one *ids;    /* m per-identity results (owned; mint_idset_free) */
} mint_idset;

/* Run the test: m >= 1 identities, identity i's logits x[start[i] ..
 * start[i+1]), against ref. method applies to m == 1 (RANK or
 * RANDOM_EFFECTS); m >= 2 uses the permutation test, and every identity
 * also gets method's own test. */
mint_status mint_idset_run(mint_idset *out, const double *x, const size_t *start, size_t m,
                           const mint_idref *ref, mint_idt_method method, uint64_t seed);
void mint_idset_free(mint_idset *s);

/* "identity-level rank test (min(n, n_k) images per reference identity)" ... */
const char *mint_idt_method_name(mint_idt_method m);
/* "rank" | "random-effects" -> method; MINT_E_ARG otherwise. */
mint_status mint_idt_method_parse(const char *s, mint_idt_method *m);

/* Plain-language verdict at level alpha: evidence / no evidence with the
 * p-value, or "no verdict" when 1/(K+1) (the resolution) exceeds alpha.
 * Like snprintf: returns the length needed. */
size_t mint_idset_verdict(char *buf, size_t cap, const mint_idset *s, double alpha);

/* One-sided upper tail of Student's t with df degrees of freedom. */
double mint_student_upper(double t, double df);

#endif
