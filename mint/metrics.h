/* metrics.h - evaluation of a membership scorer: balanced accuracy,
 * threshold selection, AUC, ROC curve, TPR at a fixed low FPR, confusion
 * matrices. Used by `mint eval` (issue 4, item 4).
 *
 * Conventions (the same everywhere in this file):
 *  - scores[i] is any non-NaN double (MINT scores are sigmoid outputs in
 *    [0,1]; higher = more likely a member); labels[i] is 0 (external, E) or
 *    1 (member, D); anything else is MINT_E_ARG.
 *  - "positive" = member. At threshold t an image is predicted member iff
 *    score >= t (as scikit-learn's roc_curve).
 *  - Rates need both classes present: otherwise MINT_E_ARG.
 *  - TPR at FPR: the highest TPR among ROC operating points whose FPR is
 *    <= the target (the first such point reaching it, i.e. the highest
 *    threshold); no interpolation between points (interpolating would
 *    claim an operating point no threshold achieves). With n_external
 *    negatives the FPR moves in steps of 1/n_external, so a target below
 *    that step gives the TPR at FPR = 0 (mint_eval_result.fpr_step says so).
 * Outputs come first in every signature. */
#ifndef MINT_METRICS_H
#define MINT_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include "mint.h"

/* mint_confusion and mint_eval_result are public (include/mint.h). */

/* Confusion matrix at threshold thr (member iff score >= thr). */
mint_status mint_confusion_at(mint_confusion *out, const double *scores, const uint8_t *labels,
                              size_t n, double thr);

/* TPR, TNR, balanced accuracy (TPR+TNR)/2 and plain accuracy of a matrix;
 * NaN where a class is empty. */
double mint_confusion_tpr(const mint_confusion *c);
double mint_confusion_tnr(const mint_confusion *c);
double mint_confusion_fpr(const mint_confusion *c);
double mint_confusion_bacc(const mint_confusion *c);
double mint_confusion_acc(const mint_confusion *c);

/* Balanced accuracy at threshold thr. */
mint_status mint_balanced_accuracy(double *bacc, const double *scores, const uint8_t *labels,
                                   size_t n, double thr);

/* The threshold that maximises balanced accuracy on (scores, labels),
 * normally the training data, so `mint eval` can apply it to test data.
 * Candidates are the midpoints between consecutive distinct scores, plus
 * the lowest score (everything member) and just above the highest
 * (nothing member); midpoints rather than observed scores so the threshold
 * does not sit on a training sample. Among equally good candidates the one
 * closest to 0.5 wins (then the lower). *bacc (may be NULL) gets the
 * balanced accuracy reached on these data. */
mint_status mint_best_threshold(double *thr, double *bacc, const double *scores,
                                const uint8_t *labels, size_t n);

/* Area under the ROC curve = Mann-Whitney U / (n_pos n_neg), ties between a
 * member and an external score counted 1/2. Exact, O(n log n). */
mint_status mint_auc(double *auc, const double *scores, const uint8_t *labels, size_t n);

/* ROC curve: n points, thresholds strictly decreasing, thr[0] = +inf with
 * (fpr, tpr) = (0, 0); point k > 0 is the operating point at threshold
 * thr[k] = the k-th largest distinct score; the last point is (1, 1).
 * Tied scores give one point (a diagonal step when both classes tie). */
typedef struct {
    size_t n;
    double *fpr, *tpr, *thr; /* n each, owned */
    size_t n_pos, n_neg;
} mint_roc;

mint_status mint_roc_curve(mint_roc *out, const double *scores, const uint8_t *labels, size_t n);
void mint_roc_free(mint_roc *roc);

/* Highest TPR with FPR <= target (no interpolation; see the top of the
 * file). *thr (may be NULL) gets the threshold of that point (+inf if only
 * the (0,0) point qualifies), *fpr_at (may be NULL) the FPR it reaches. */
mint_status mint_tpr_at_fpr(double *tpr, double *thr, double *fpr_at, const mint_roc *roc,
                            double target);

/* ---- everything `mint eval` reports: mint_eval_result (include/mint.h) ---- */

/* Fill *out from test scores/labels. train_threshold: the threshold chosen
 * on the training data by mint_best_threshold (NaN if unknown). If roc is
 * non-NULL the ROC curve is returned too (caller frees with mint_roc_free). */
mint_status mint_evaluate(mint_eval_result *out, mint_roc *roc, const double *scores,
                          const uint8_t *labels, size_t n, double train_threshold);

#endif
