/* metrics.c - evaluation metrics of a membership scorer (see metrics.h for
 * the conventions). Everything that needs an order sorts one copy of the
 * (score, label) pairs and walks it in groups of equal scores, so ties are
 * handled in one place: AUC counts a tied member/external pair as 1/2
 * (Mann-Whitney), the ROC curve gets one point per distinct score. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "mint/metrics.h"

typedef struct {
    double s;
    uint8_t y;
} scored;

static int cmp_scored_asc(const void *a, const void *b)
{
    double x = ((const scored *)a)->s, y = ((const scored *)b)->s;
    return (x > y) - (x < y);
}

/* Validate inputs and count the classes. */
static mint_status check_inputs(const char *who, const double *scores, const uint8_t *labels,
                                size_t n, size_t *npos, size_t *nneg)
{
    if (!scores || !labels)
        return mint_fail(MINT_E_ARG, "%s: NULL scores or labels", who);
    size_t p = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(scores[i]))
            return mint_fail(MINT_E_ARG, "%s: score %zu is NaN", who, i);
        if (labels[i] > 1)
            return mint_fail(MINT_E_ARG, "%s: label %zu is %u (must be 0 or 1)", who, i,
                             (unsigned)labels[i]);
        p += labels[i];
    }
    if (p == 0 || p == n)
        return mint_fail(MINT_E_ARG, "%s: need both members and external samples (%zu members of %zu)",
                         who, p, n);
    *npos = p;
    *nneg = n - p;
    return MINT_OK;
}

/* Sorted ascending copy; NULL on allocation failure (error recorded). */
static scored *sorted_copy(const char *who, const double *scores, const uint8_t *labels, size_t n)
{
    if (n > SIZE_MAX / sizeof(scored)) {
        mint_fail(MINT_E_NOMEM, "%s: %zu samples overflow", who, n);
        return NULL;
    }
    scored *v = malloc(n * sizeof *v);
    if (!v) {
        mint_fail(MINT_E_NOMEM, "%s: out of memory for %zu samples", who, n);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        v[i].s = scores[i];
        v[i].y = labels[i];
    }
    qsort(v, n, sizeof *v, cmp_scored_asc);
    return v;
}

/* ---- confusion matrices ---- */

mint_status mint_confusion_at(mint_confusion *out, const double *scores, const uint8_t *labels,
                              size_t n, double thr)
{
    if (!out)
        return mint_fail(MINT_E_ARG, "mint_confusion_at: NULL output");
    memset(out, 0, sizeof *out);
    size_t np, nn;
    mint_status st = check_inputs("mint_confusion_at", scores, labels, n, &np, &nn);
    if (st != MINT_OK)
        return st;
    if (isnan(thr))
        return mint_fail(MINT_E_ARG, "mint_confusion_at: threshold is NaN");
    for (size_t i = 0; i < n; i++) {
        int pred = scores[i] >= thr;
        if (labels[i])
            pred ? out->tp++ : out->fn++;
        else
            pred ? out->fp++ : out->tn++;
    }
    return MINT_OK;
}

double mint_confusion_tpr(const mint_confusion *c)
{
    size_t p = c->tp + c->fn;
    return p ? (double)c->tp / (double)p : NAN;
}

double mint_confusion_tnr(const mint_confusion *c)
{
    size_t q = c->tn + c->fp;
    return q ? (double)c->tn / (double)q : NAN;
}

double mint_confusion_fpr(const mint_confusion *c)
{
    size_t q = c->tn + c->fp;
    return q ? (double)c->fp / (double)q : NAN;
}

/* (tp/P + tn/N) / 2 as one quotient, so it is correctly rounded
 * (0.6, not 0.6000000000000001, for 4/5 and 2/5). */
static double bacc_of(size_t tp, size_t np, size_t tn, size_t nn)
{
    if (!np || !nn)
        return NAN;
    return ((double)tp * (double)nn + (double)tn * (double)np) / (2.0 * (double)np * (double)nn);
}

double mint_confusion_bacc(const mint_confusion *c)
{
    return bacc_of(c->tp, c->tp + c->fn, c->tn, c->tn + c->fp);
}

double mint_confusion_acc(const mint_confusion *c)
{
    size_t t = c->tp + c->fn + c->tn + c->fp;
    return t ? (double)(c->tp + c->tn) / (double)t : NAN;
}

mint_status mint_balanced_accuracy(double *bacc, const double *scores, const uint8_t *labels,
                                   size_t n, double thr)
{
    if (!bacc)
        return mint_fail(MINT_E_ARG, "mint_balanced_accuracy: NULL output");
    *bacc = NAN;
    mint_confusion c;
    mint_status st = mint_confusion_at(&c, scores, labels, n, thr);
    if (st != MINT_OK)
        return st;
    *bacc = mint_confusion_bacc(&c);
    return MINT_OK;
}

/* ---- threshold selection ---- */

mint_status mint_best_threshold(double *thr, double *bacc, const double *scores,
                                const uint8_t *labels, size_t n)
{
    if (!thr)
        return mint_fail(MINT_E_ARG, "mint_best_threshold: NULL output");
    *thr = NAN;
    if (bacc)
        *bacc = NAN;
    size_t np, nn;
    mint_status st = check_inputs("mint_best_threshold", scores, labels, n, &np, &nn);
    if (st != MINT_OK)
        return st;
    scored *v = sorted_copy("mint_best_threshold", scores, labels, n);
    if (!v)
        return MINT_E_NOMEM;
    /* Candidate k puts the threshold below group k: groups k.. are members.
     * Start with k = 0 (everything member): TP = np, TN = 0. */
    size_t tp = np, tn = 0;
    double best_t = v[0].s, best_b = bacc_of(tp, np, tn, nn), best_d = fabs(v[0].s - 0.5);
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && v[j].s == v[i].s) {
            if (v[j].y)
                tp--;
            else
                tn++;
            j++;
        }
        /* threshold between group [i, j) and the next one */
        double t;
        if (j < n) {
            t = v[i].s + 0.5 * (v[j].s - v[i].s);
            if (!(t > v[i].s)) /* adjacent doubles: the midpoint rounds down */
                t = v[j].s;
        } else {
            t = nextafter(v[i].s, INFINITY);
        }
        double b = bacc_of(tp, np, tn, nn);
        double d = fabs(t - 0.5);
        if (b > best_b || (b == best_b && d < best_d)) {
            best_b = b;
            best_t = t;
            best_d = d;
        }
        i = j;
    }
    free(v);
    *thr = best_t;
    if (bacc)
        *bacc = best_b;
    return MINT_OK;
}

/* ---- AUC ---- */

mint_status mint_auc(double *auc, const double *scores, const uint8_t *labels, size_t n)
{
    if (!auc)
        return mint_fail(MINT_E_ARG, "mint_auc: NULL output");
    *auc = NAN;
    size_t np, nn;
    mint_status st = check_inputs("mint_auc", scores, labels, n, &np, &nn);
    if (st != MINT_OK)
        return st;
    scored *v = sorted_copy("mint_auc", scores, labels, n);
    if (!v)
        return MINT_E_NOMEM;
    /* U = sum over members of (#external below) + 1/2 (#external tied).
     * Kept as 2U in an integer: exact for any n that fits in memory. */
    uint64_t u2 = 0, neg_below = 0;
    size_t i = 0;
    while (i < n) {
        size_t j = i, gp = 0, gn = 0;
        for (; j < n && v[j].s == v[i].s; j++)
            v[j].y ? gp++ : gn++;
        u2 += (uint64_t)gp * (2 * neg_below + gn);
        neg_below += gn;
        i = j;
    }
    free(v);
    *auc = (double)u2 / (2.0 * (double)np * (double)nn);
    return MINT_OK;
}

/* ---- ROC ---- */

void mint_roc_free(mint_roc *roc)
{
    if (!roc)
        return;
    free(roc->fpr);
    free(roc->tpr);
    free(roc->thr);
    memset(roc, 0, sizeof *roc);
}

mint_status mint_roc_curve(mint_roc *out, const double *scores, const uint8_t *labels, size_t n)
{
    if (!out)
        return mint_fail(MINT_E_ARG, "mint_roc_curve: NULL output");
    memset(out, 0, sizeof *out);
    size_t np, nn;
    mint_status st = check_inputs("mint_roc_curve", scores, labels, n, &np, &nn);
    if (st != MINT_OK)
        return st;
    scored *v = sorted_copy("mint_roc_curve", scores, labels, n);
    if (!v)
        return MINT_E_NOMEM;
    size_t groups = 0;
    for (size_t i = 0; i < n; i++)
        groups += (i == 0 || v[i].s != v[i - 1].s);
    size_t cap = groups + 1;
    out->fpr = malloc(cap * sizeof(double));
    out->tpr = malloc(cap * sizeof(double));
    out->thr = malloc(cap * sizeof(double));
    if (!out->fpr || !out->tpr || !out->thr) {
        free(v);
        mint_roc_free(out);
        return mint_fail(MINT_E_NOMEM, "mint_roc_curve: out of memory for %zu points", cap);
    }
    out->n_pos = np;
    out->n_neg = nn;
    out->fpr[0] = 0.0;
    out->tpr[0] = 0.0;
    out->thr[0] = INFINITY;
    size_t k = 1, tp = 0, fp = 0;
    /* walk from the highest score down */
    size_t i = n;
    while (i > 0) {
        size_t j = i;
        double s = v[i - 1].s;
        for (; j > 0 && v[j - 1].s == s; j--)
            v[j - 1].y ? tp++ : fp++;
        out->fpr[k] = (double)fp / (double)nn;
        out->tpr[k] = (double)tp / (double)np;
        out->thr[k] = s;
        k++;
        i = j;
    }
    out->n = k;
    free(v);
    return MINT_OK;
}

mint_status mint_tpr_at_fpr(double *tpr, double *thr, double *fpr_at, const mint_roc *roc,
                            double target)
{
    if (!tpr || !roc || !roc->n || !roc->fpr || !roc->tpr || !roc->thr)
        return mint_fail(MINT_E_ARG, "mint_tpr_at_fpr: NULL or empty argument");
    if (!(target >= 0.0 && target <= 1.0))
        return mint_fail(MINT_E_ARG, "mint_tpr_at_fpr: target FPR %g outside [0, 1]", target);
    /* FPR and TPR are non-decreasing along the curve: the answer is the
     * first point reaching the highest TPR among those with fpr <= target
     * (the first, so the reported threshold and FPR are the least costly
     * ones giving that TPR). fpr[k] = fp/n_neg is a correctly rounded
     * quotient, so a target equal to an exact fraction compares equal. */
    size_t best = 0;
    for (size_t k = 1; k < roc->n && roc->fpr[k] <= target; k++)
        if (roc->tpr[k] > roc->tpr[best])
            best = k;
    *tpr = roc->tpr[best];
    if (thr)
        *thr = roc->thr[best];
    if (fpr_at)
        *fpr_at = roc->fpr[best];
    return MINT_OK;
}

/* ---- eval summary ---- */

mint_status mint_evaluate(mint_eval_result *out, mint_roc *roc, const double *scores,
                          const uint8_t *labels, size_t n, double train_threshold)
{
    if (!out)
        return mint_fail(MINT_E_ARG, "mint_evaluate: NULL output");
    memset(out, 0, sizeof *out);
    if (roc)
        memset(roc, 0, sizeof *roc);
    mint_roc local;
    mint_status st = mint_roc_curve(&local, scores, labels, n);
    if (st != MINT_OK)
        return st;
    out->n = n;
    out->n_members = local.n_pos;
    out->n_external = local.n_neg;
    out->fpr_step = 1.0 / (double)local.n_neg;
    if ((st = mint_auc(&out->auc, scores, labels, n)) != MINT_OK)
        goto done;
    if ((st = mint_confusion_at(&out->cm_05, scores, labels, n, 0.5)) != MINT_OK)
        goto done;
    out->acc_05 = mint_confusion_acc(&out->cm_05);
    out->bacc_05 = mint_confusion_bacc(&out->cm_05);
    out->train_threshold = train_threshold;
    if (isnan(train_threshold)) {
        out->acc_train_thr = out->bacc_train_thr = NAN;
    } else {
        if ((st = mint_confusion_at(&out->cm_train_thr, scores, labels, n, train_threshold)) !=
            MINT_OK)
            goto done;
        out->acc_train_thr = mint_confusion_acc(&out->cm_train_thr);
        out->bacc_train_thr = mint_confusion_bacc(&out->cm_train_thr);
    }
    static const double targets[MINT_EVAL_NFPR] = { 0.01, 0.001 };
    for (int k = 0; k < MINT_EVAL_NFPR; k++) {
        out->fpr_target[k] = targets[k];
        if ((st = mint_tpr_at_fpr(&out->tpr_at_fpr[k], &out->thr_at_fpr[k],
                                  &out->fpr_achieved[k], &local, targets[k])) != MINT_OK)
            goto done;
    }
done:
    if (st == MINT_OK && roc)
        *roc = local;
    else
        mint_roc_free(&local);
    return st;
}
