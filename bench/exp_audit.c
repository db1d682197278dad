/* exp_audit.c - the audit-validity experiment of issue 8 (make
 * experiment-audit; docs/audit-statistics.md has the method and results).
 *
 * Input: a `mint extract` directory of every LFW image (taps layer1..layer4
 * with --pool max, index.csv labels = person) from one audited network.
 * Identities are split (seeded) into disjoint groups, a Vanilla MINT model
 * (layer1..layer4 per-channel maxima, 960 features) is trained with the
 * library's trainer, and then, for every audited identity separately:
 *   old:  the reference held out by image (--holdout-by sample 0.1, the
 *         former default) and the per-image one-sided Mann-Whitney test;
 *   new:  the reference held out by identity (--holdout-by label 0.1, the
 *         default now) and the identity-level rank test (and its
 *         random-effects variant).
 * The fraction of non-member identities with p < 0.05 is the
 * false-evidence rate (with its Clopper-Pearson 95% interval); for a
 * network whose members are known (--net-members), the fraction of held-out
 * member identities flagged is the power, for sets of 1, 5 and 20 images
 * (--train-list).
 *
 *   exp_audit --aad DIR [--train-list CSV] [--taps LIST] [--reps R] [--audited N] [--seed S]
 * (--taps: default layer1,layer2,layer3,layer4, Vanilla MINT; embedding =
 * the outcome baseline. --min-images: non-member people (audited, MINT
 * external, reference) are drawn from those with at least K photos,
 * default 2, so that the audited people and the reference people come from
 * one population.)
 * (--train-list: path,label lines of the images the network trained on; their
 * people are its members.) Without it every identity is a non-member (a random-weight
 * network, where nobody can be a member): MINT "members" are simply another
 * group of identities. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mint.h"
#include "mint/features.h"
#include "mint/idtest.h"
#include "mint/metrics.h"
#include "mint/model.h"
#include "base/rng.h"
#include "mint/stats.h"
#include "mint/train.h"

#define ALPHA 0.05
#define MAX_SET 10 /* images per audited non-member identity */

typedef struct {
    const char *name;
    int64_t *rows; /* index rows, in file order */
    int64_t n;
    int64_t n_train; /* network members: rows[0..n_train) were trained on */
    int member;      /* of the audited network */
} person;

static mint_feats F;
static mint_feats_index IX;
static person *P;
static int64_t NP;

static int cmp_row_label(const void *a, const void *b)
{
    const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    const int c = strcmp(IX.label[x], IX.label[y]);
    if (c)
        return c;
    const int d = strcmp(IX.file[x], IX.file[y]);
    return d ? d : (x > y) - (x < y);
}

static void die(const char *what)
{
    fprintf(stderr, "exp_audit: %s: %s\n", what, mint_last_error());
    exit(1);
}

static void load(const char *dir, char *tapstr)
{
    const char *taps[MINT_FEATS_MAX_TAPS];
    int nt = 0;
    for (char *sv = NULL, *t = strtok_r(tapstr, ",", &sv); t && nt < MINT_FEATS_MAX_TAPS;
         t = strtok_r(NULL, ",", &sv))
        taps[nt++] = t;
    if (mint_feats_load(dir, 0, taps, nt, &F))
        die(dir);
    if (mint_feats_index_load(dir, F.n, &IX) || IX.n < 0)
        die("index.csv");
    int64_t *ord = malloc(sizeof *ord * (size_t)F.n);
    for (int64_t i = 0; i < F.n; i++)
        ord[i] = i;
    qsort(ord, (size_t)F.n, sizeof *ord, cmp_row_label);
    P = calloc((size_t)F.n, sizeof *P);
    for (int64_t i = 0; i < F.n; i++) {
        const int64_t r = ord[i];
        if (!IX.label[r][0])
            continue;
        if (NP == 0 || strcmp(P[NP - 1].name, IX.label[r])) {
            P[NP].name = IX.label[r];
            P[NP].rows = ord + i;
            NP++;
        }
        P[NP - 1].n++;
    }
}

static person *find(const char *name)
{
    int64_t lo = 0, hi = NP - 1;
    while (lo <= hi) {
        const int64_t mid = (lo + hi) / 2;
        const int c = strcmp(P[mid].name, name);
        if (!c)
            return &P[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return NULL;
}

/* Read "path,label" lines (path relative to lfw/images): which rows the
 * network trained on; every listed person is a member. */
static void read_train_list(const char *csv)
{
    FILE *f = fopen(csv, "r");
    if (!f) {
        perror(csv);
        exit(1);
    }
    char line[4096];
    /* row lookup by file name: index files are keys like Person/Person_0001.jpg */
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        char *comma = strchr(line, ',');
        if (comma)
            *comma = 0;
        const char *slash = strchr(line, '/');
        if (!slash)
            continue;
        char name[1024];
        snprintf(name, sizeof name, "%.*s", (int)(slash - line), line);
        person *p = find(name);
        if (!p)
            continue;
        p->member = 1;
        /* move the trained row to the front of the person's rows */
        for (int64_t k = p->n_train; k < p->n; k++) {
            const char *fk = IX.file[p->rows[k]];
            const size_t lf = strlen(fk), ll = strlen(line);
            if (lf >= ll && !strcmp(fk + lf - ll, line)) {
                const int64_t t = p->rows[p->n_train];
                p->rows[p->n_train] = p->rows[k];
                p->rows[k] = t;
                p->n_train++;
                break;
            }
        }
    }
    fclose(f);
}

static void shuffle(person **a, int64_t n, base_rng *r)
{
    for (int64_t i = n - 1; i > 0; i--) {
        const int64_t j = (int64_t)base_rng_below(r, (uint64_t)(i + 1));
        person *t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

/* Rows of a group of persons (at most cap per person, 0 = all; trained-on
 * rows only when train_only). */
static float *gather(person **g, int64_t ng, int64_t cap, int train_only, int64_t *n,
                     int32_t *group)
{
    const int64_t row = mint_feats_row(&F);
    int64_t tot = 0;
    for (int64_t i = 0; i < ng; i++) {
        int64_t k = train_only ? g[i]->n_train : g[i]->n;
        tot += cap && k > cap ? cap : k;
    }
    float *x = malloc(sizeof(float) * (size_t)(tot * row + 1));
    int64_t w = 0;
    for (int64_t i = 0; i < ng; i++) {
        int64_t k = train_only ? g[i]->n_train : g[i]->n;
        k = cap && k > cap ? cap : k;
        for (int64_t j = 0; j < k; j++) {
            memcpy(x + w * row, F.x + g[i]->rows[j] * row, sizeof(float) * (size_t)row);
            if (group)
                group[w] = (int32_t)i;
            w++;
        }
    }
    *n = tot;
    return x;
}

/* Clopper-Pearson 95% interval of k successes in n (bisection on the
 * binomial tails). */
static double binom_cdf(int64_t k, int64_t n, double p)
{
    double s = 0.0;
    for (int64_t i = 0; i <= k; i++)
        s += exp(lgamma((double)n + 1) - lgamma((double)i + 1) - lgamma((double)(n - i) + 1) +
                 (double)i * log(p) + (double)(n - i) * log1p(-p));
    return s;
}

static void clopper(int64_t k, int64_t n, double *lo, double *hi)
{
    double a = 0, b = 1;
    if (k == 0) {
        *lo = 0;
    } else {
        for (int it = 0; it < 60; it++) { /* P(X >= k | p) = 0.025 */
            const double m = 0.5 * (a + b);
            if (1.0 - binom_cdf(k - 1, n, m) < 0.025)
                a = m;
            else
                b = m;
        }
        *lo = a;
    }
    a = 0, b = 1;
    if (k == n) {
        *hi = 1;
    } else {
        for (int it = 0; it < 60; it++) { /* P(X <= k | p) = 0.025 */
            const double m = 0.5 * (a + b);
            if (binom_cdf(k, n, m) > 0.025)
                a = m;
            else
                b = m;
        }
        *hi = a;
    }
}

typedef struct {
    mint_tm *tm;
    mint_idref ref;       /* identity-level reference (logits) */
    double *ref_scores;   /* per-image reference (sigmoid), for the old test */
    size_t n_ref;
} trained;

/* Train a Vanilla MINT on members vs external with the holdout by label or
 * sample, as `mint train` does by default (10%). */
static void train(trained *t, const float *xm, int64_t nm, const float *xe, int64_t ne,
                  const int32_t *ge, int by_label, uint64_t seed)
{
    mint_tm_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.kind = MINT_TM_VANILLA;
    cfg.in_dims[0] = (int)mint_feats_row(&F);
    if (mint_tm_create(&t->tm, &cfg, seed))
        die("create");
    mint_train_opts o;
    mint_train_defaults(&o, MINT_TM_VANILLA);
    o.seed = seed;
    o.holdout = 0.1;
    o.ext_group = ge;
    int64_t *held = NULL, nh = 0, kh, kt;
    if (by_label) {
        if (mint_holdout_by_group(ge, ne, 0.1, seed, &held, &nh, &kh, &kt))
            die("holdout");
        o.held = held;
        o.n_held = nh;
        o.holdout_by = "label";
    }
    if (mint_train(t->tm, xm, nm, xe, ne, &o))
        die("train");
    free(held);
    t->n_ref = (size_t)t->tm->n_cal_external;
    double *lg = malloc(sizeof(double) * t->n_ref);
    t->ref_scores = malloc(sizeof(double) * t->n_ref);
    for (size_t i = 0; i < t->n_ref; i++) {
        lg[i] = t->tm->cal_external_logit[i];
        t->ref_scores[i] = t->tm->cal_external[i];
    }
    if (mint_idref_build(&t->ref, lg, by_label ? t->tm->cal_external_group : NULL, t->n_ref))
        die("reference");
    free(lg);
}

static void trained_free(trained *t)
{
    mint_tm_free(t->tm);
    mint_idref_free(&t->ref);
    free(t->ref_scores);
}

typedef struct {
    int64_t n, old_hits, rank_hits, re_hits;
} tally;

/* Audit rows[0..k) of one person with both tests; count p < ALPHA. */
static void audit_one(const trained *old_t, const trained *new_t, const int64_t *rows, int64_t k,
                      tally *ty, uint64_t seed)
{
    const int64_t row = mint_feats_row(&F);
    float *x = malloc(sizeof(float) * (size_t)(k * row));
    float *s = malloc(sizeof(float) * (size_t)k), *l = malloc(sizeof(float) * (size_t)k);
    double *d = malloc(sizeof(double) * (size_t)k);
    for (int64_t j = 0; j < k; j++)
        memcpy(x + j * row, F.x + rows[j] * row, sizeof(float) * (size_t)row);
    mint_tm_predict2(old_t->tm, x, k, s, NULL);
    for (int64_t j = 0; j < k; j++)
        d[j] = s[j];
    mint_set_test mw;
    if (mint_set_test_run(&mw, d, (size_t)k, old_t->ref_scores, old_t->n_ref))
        die("mwu");
    mint_tm_predict2(new_t->tm, x, k, NULL, l);
    for (int64_t j = 0; j < k; j++)
        d[j] = l[j];
    mint_id_one a, b;
    if (mint_id_test_one(&a, d, (size_t)k, &new_t->ref, MINT_IDT_RANK, seed) ||
        mint_id_test_one(&b, d, (size_t)k, &new_t->ref, MINT_IDT_RANDOM_EFFECTS, seed))
        die("idtest");
    ty->n++;
    ty->old_hits += mw.p < ALPHA;
    ty->rank_hits += a.p < ALPHA && a.p_min <= ALPHA;
    ty->re_hits += b.p < ALPHA;
    free(x), free(s), free(l), free(d);
}

static void print_rate(const char *what, int64_t k, int64_t n)
{
    double lo, hi;
    clopper(k, n, &lo, &hi);
    printf("| %s | %lld / %lld | %.3f | [%.3f, %.3f] |\n", what, (long long)k, (long long)n,
           (double)k / (double)n, lo, hi);
}

/* The MINT model's own held-out quality: AUC and TPR at 1% FPR of member
 * rows against non-member rows it never saw. */
static void quality(const trained *t, const float *xm, int64_t nm, const float *xe, int64_t ne)
{
    float *s = malloc(sizeof(float) * (size_t)(nm + ne));
    double *d = malloc(sizeof(double) * (size_t)(nm + ne));
    uint8_t *y = malloc((size_t)(nm + ne));
    mint_tm_predict(t->tm, xm, nm, s);
    mint_tm_predict(t->tm, xe, ne, s + nm);
    for (int64_t i = 0; i < nm + ne; i++)
        d[i] = s[i], y[i] = i < nm;
    mint_eval_result e;
    if (mint_evaluate(&e, NULL, d, y, (size_t)(nm + ne), NAN))
        die("evaluate");
    printf("MINT model on held-out data: %lld member images of unseen-by-MINT member identities "
           "vs %lld non-member images: AUC %.3f, TPR %.3f at 1%% FPR, balanced accuracy %.3f at "
           "0.5\n", (long long)nm, (long long)ne, e.auc, e.tpr_at_fpr[0], e.bacc_05);
    free(s), free(d), free(y);
}

int main(int argc, char **argv)
{
    const char *aad = NULL, *train_list = NULL;
    char tapstr[256] = "layer1,layer2,layer3,layer4";
    int reps = 5, n_aud = 200, min_images = 2;
    uint64_t seed0 = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--aad") && i + 1 < argc)
            aad = argv[++i];
        else if (!strcmp(argv[i], "--train-list") && i + 1 < argc)
            train_list = argv[++i];
        else if (!strcmp(argv[i], "--taps") && i + 1 < argc)
            snprintf(tapstr, sizeof tapstr, "%s", argv[++i]);
        else if (!strcmp(argv[i], "--min-images") && i + 1 < argc)
            min_images = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--audited") && i + 1 < argc)
            n_aud = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            seed0 = strtoull(argv[++i], NULL, 0);
        else {
            fprintf(stderr, "usage: exp_audit --aad DIR [--train-list CSV] [--taps LIST] "
                            "[--reps R] [--audited N] [--min-images K] [--seed S]\n");
            return 2;
        }
    }
    if (!aad || reps < 1 || n_aud < 1) {
        fprintf(stderr, "exp_audit: needs --aad DIR\n");
        return 2;
    }
    char taps_shown[256];
    snprintf(taps_shown, sizeof taps_shown, "%s", tapstr);
    load(aad, tapstr);
    if (train_list)
        read_train_list(train_list);
    int64_t nmem = 0;
    for (int64_t i = 0; i < NP; i++)
        nmem += P[i].member;
    printf("# exp_audit on %s (MLP MINT on %s, %lld features): %lld images, %lld identities, "
           "%lld network members; non-members drawn from people with >= %d photos; %d "
           "repetitions\n\n", aad, taps_shown, (long long)mint_feats_row(&F), (long long)F.n,
           (long long)NP, (long long)nmem, min_images, reps);
    tally fe = { 0 }, pw[3] = { { 0 } };
    static const int set_sizes[3] = { 1, 5, 20 };
    person **non = malloc(sizeof *non * (size_t)NP), **mem = malloc(sizeof *mem * (size_t)NP);
    for (int rep = 0; rep < reps; rep++) {
        const uint64_t seed = seed0 + (uint64_t)rep;
        base_rng rng = base_rng_stream(seed, 900);
        int64_t nn = 0, nm = 0;
        for (int64_t i = 0; i < NP; i++) {
            if (P[i].member)
                mem[nm++] = &P[i];
            else
                non[nn++] = &P[i];
        }
        shuffle(non, nn, &rng);
        shuffle(mem, nm, &rng);
        /* audited non-members: the first n_aud with >= 2 images */
        person **aud = malloc(sizeof *aud * (size_t)n_aud), **rest = malloc(sizeof *rest * (size_t)nn);
        int64_t na = 0, nr = 0;
        /* every non-member group is drawn from the same population: people
         * with at least min_images photos (the test assumes the audited
         * person is exchangeable with the reference people; LFW's people
         * with one photo are a different population from those with many,
         * and a trained network sees the difference) */
        for (int64_t i = 0; i < nn; i++) {
            if (non[i]->n < min_images)
                continue;
            if (na < n_aud)
                aud[na++] = non[i];
            else
                rest[nr++] = non[i];
        }
        /* MINT members and external: identities until ~1000 images each */
        person **gm, **ge;
        int64_t ngm = 0, nge = 0, cnt = 0, k = 0;
        int64_t mint_mem_ids = 0;
        if (nmem) { /* half the network's members train the MINT model, half are audited */
            mint_mem_ids = nm / 2;
            gm = mem;
            ngm = mint_mem_ids;
        } else {
            gm = rest;
            for (; k < nr && cnt < 1000; k++, ngm++)
                cnt += rest[k]->n > MAX_SET ? MAX_SET : rest[k]->n;
        }
        ge = rest + k;
        cnt = 0;
        for (; k < nr && cnt < 1000; k++, nge++)
            cnt += rest[k]->n > MAX_SET ? MAX_SET : rest[k]->n;
        int64_t nxm, nxe;
        int32_t *grp = malloc(sizeof(int32_t) * (size_t)F.n);
        float *xm = gather(gm, ngm, nmem ? 0 : MAX_SET, nmem != 0, &nxm, NULL);
        float *xe = gather(ge, nge, MAX_SET, 0, &nxe, grp);
        trained old_t, new_t;
        train(&old_t, xm, nxm, xe, nxe, grp, 0, seed);
        train(&new_t, xm, nxm, xe, nxe, grp, 1, seed);
        if (rep == 0)
            printf("repetition 1: MINT members %lld images of %lld identities, external %lld "
                   "images of %lld identities; reference: old %zu images (held out by image), "
                   "new %zu identities with %zu images (held out by identity)\n",
                   (long long)nxm, (long long)ngm, (long long)nxe, (long long)nge,
                   old_t.n_ref, new_t.ref.K, new_t.ref.n);
        for (int64_t i = 0; i < na; i++) {
            const int64_t kk = aud[i]->n > MAX_SET ? MAX_SET : aud[i]->n;
            audit_one(&old_t, &new_t, aud[i]->rows, kk, &fe, seed * 1000 + (uint64_t)i);
        }
        if (nmem) {
            for (int64_t i = mint_mem_ids; i < nm; i++)
                for (int s = 0; s < 3; s++)
                    if (mem[i]->n_train >= set_sizes[s])
                        audit_one(&old_t, &new_t, mem[i]->rows, set_sizes[s], &pw[s],
                                  seed * 7777 + (uint64_t)i);
            if (rep == 0) {
                int64_t a1, a2;
                float *q1 = gather(mem + mint_mem_ids, nm - mint_mem_ids, 0, 1, &a1, NULL);
                float *q2 = gather(aud, na, MAX_SET, 0, &a2, NULL);
                quality(&new_t, q1, a1, q2, a2);
                free(q1), free(q2);
            }
        }
        trained_free(&old_t);
        trained_free(&new_t);
        free(xm), free(xe), free(grp), free(aud), free(rest);
    }
    printf("\nFalse evidence on non-member identities (each audited alone, <= %d images, "
           "alpha %.2f):\n\n| test | flagged | rate | 95%% interval |\n|---|---|---|---|\n",
           MAX_SET, ALPHA);
    print_rate("old: per-image Mann-Whitney, reference held out by image", fe.old_hits, fe.n);
    print_rate("new: identity rank test, reference held out by identity", fe.rank_hits, fe.n);
    print_rate("new, random-effects variant", fe.re_hits, fe.n);
    if (nmem) {
        printf("\nPower on member identities the MINT model did not train on (their training "
               "photos):\n\n| set size | test | flagged | rate | 95%% interval |\n"
               "|---|---|---|---|---|\n");
        for (int s = 0; s < 3; s++) {
            char w[96];
            snprintf(w, sizeof w, "%d | old (per-image Mann-Whitney)", set_sizes[s]);
            print_rate(w, pw[s].old_hits, pw[s].n);
            snprintf(w, sizeof w, "%d | new (identity rank test)", set_sizes[s]);
            print_rate(w, pw[s].rank_hits, pw[s].n);
            snprintf(w, sizeof w, "%d | new (random effects)", set_sizes[s]);
            print_rate(w, pw[s].re_hits, pw[s].n);
        }
    }
    free(non), free(mem), free(P);
    mint_feats_free(&F);
    mint_feats_index_free(&IX);
    return 0;
}
