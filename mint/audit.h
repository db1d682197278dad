/* audit.h - the two user-facing jobs of issue 4 (items 4 and 5) as library
 * calls, so the CLI only parses arguments and prints:
 *
 *   mint_eval_run   (public: include/mint.h) a trained MINT model on
 *                   held-out member and external features: metrics (mint_evaluate at 0.5 and at the
 *                   threshold chosen on the training data), JSON, ROC PNG;
 *   mint_audit_list images through the audited network -> features computed
 *                   as the MINT model's training features were -> one
 *                   membership score per image -> one-sided set-level test
 *                   against reference scores of known external data ->
 *                   report (JSON or HTML) with SHA-256s of the model, the
 *                   MINT model and every image.
 *
 * Taps: both use the taps recorded in the MINT model (mint.taps, written by
 * `mint train` when the features came from extract directories, images or
 * --taps) unless the caller names them; the resulting feature size is
 * checked against the MINT model before any scoring. */
#ifndef MINT_MINT_AUDIT_H
#define MINT_MINT_AUDIT_H

#include <stddef.h>
#include "io/dataset.h"
#include "io/landmarks.h"
#include "mint/report.h"
#include "mint.h"
#include "mint/features.h"
#include "mint/metrics.h"
#include "mint/idtest.h"
#include "mint/stats.h"

/* ---- evaluation: mint_eval_run (include/mint.h) ---- */

/* ---- audit ---- */

/* How the audited images are grouped into identities (the test's unit). */
typedef enum {
    MINT_AUDIT_BY_LABEL = 0, /* the items' labels (sub-folders, list labels); items without
                              * one form the identity named set_name */
    MINT_AUDIT_ONE,          /* every image is of one identity, set_name */
    MINT_AUDIT_BY_IMAGE      /* each image is its own identity (assumes independent images:
                              * the report says so) */
} mint_audit_unit;

typedef struct {
    const char *model_path;            /* the audited network (weight container) */
    const char *mint_path;             /* the MINT model trained on its activations */
    const io_list *images;             /* the audited set (>= 1 image) */
    const io_landmarks *landmarks;     /* NULL: images must be the model's input size */
    const char *reference;             /* features of known external data (.npy or
                                        * extract directory), scored with the MINT
                                        * model; NULL: the MINT model's calibration
                                        * external scores */
    const char *taps;                  /* comma list; NULL: the taps recorded in the MINT model */
    double alpha;                      /* level of the verdict (0 < alpha < 1) */
    int batch;                         /* images per forward pass; <= 0: 16 */
    const char *report_path;           /* .json or .html; NULL = do not write */
    const char *created;               /* ISO-8601 UTC; NULL = now */
    mint_images_progress progress;     /* after every batch of images; may be NULL */
    void *progress_ctx;
    mint_audit_unit unit;              /* identities of the audited set */
    const char *set_name;              /* name of the identity of unlabelled images
                                        * (e.g. the audited folder); NULL = "the set" */
    mint_idt_method method;            /* one identity: RANK (0, the default); RANDOM_EFFECTS
                                        * is not calibrated (docs/audit-statistics.md) and
                                        * is for experiments only */
} mint_audit_opts;

typedef struct {
    mint_audit_report report;            /* everything the report shows; its
                                        * pointers point into this struct, the
                                        * options' strings and the image list:
                                        * keep those alive while using it */
    mint_audit_image *images;            /* n_images rows, in list order */
    size_t n_images, n_scored, n_failed;
    size_t n_duplicates;               /* scored images whose bytes equal an earlier
                                        * image's: shown, not counted again in the test */
    int has_set;                       /* a set-level test was run (n_scored >= 1) */
    mint_idset set;                    /* the identity-level test */
    mint_audit_settest settest;          /* what the report shows of it */
    mint_audit_identity *ids;            /* set.m identities (names point into the list) */
    char audited[512];                 /* "1 identity (Some_Person, 10 images)" */
    char unit_desc[256];
    size_t n_above_threshold;          /* scored images with score >= threshold */
    double median_score;               /* of the scored images (NaN if none) */
    char model_sha256[65], mint_sha256[65];
    char kind[16];
    char taps[256];
    char reference[4200];              /* where the reference scores came from */
    char verdict[1024];
    char notes[8][1024];               /* warnings for the reader (also in the report) */
    const char *note_ptr[8];
    size_t n_notes;
    char created[32];
    /* private storage behind images[] */
    double *logit;                     /* per image (NaN when not scored) */
    char (*sha)[65];
    char (*err)[400];
} mint_audit_result;

/* Run the audit; on MINT_OK *out holds the results (free with
 * mint_audit_result_free) and the report has been written. Images that
 * cannot be read or aligned do not fail the call: they get a row with
 * score NaN and the error, and are left out of the set-level test. When no
 * image could be scored there is no test (has_set 0) and the verdict says
 * so. Refused before any image is processed: landmarks with a network
 * whose input is not 112x112, a MINT model whose feature size differs from
 * what the network's taps give (trained on another network or other taps),
 * no reference (no --reference and no calibration scores in the MINT model). */
mint_status mint_audit_list(mint_audit_result *out, const mint_audit_opts *o);
void mint_audit_result_free(mint_audit_result *r);

/* The public mint_audit_run (include/mint.h) is mint_audit_list on the
 * image list its paths give (mint/audit_run.c). */

#endif
