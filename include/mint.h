/* mint.h - public interface of the mint engine (static library libmint.a).
 *
 * mint runs InsightFace IResNet networks (and other small ONNX graphs of the
 * same op set) from the mint weight container, extracts named intermediate
 * activations ("taps") and powers the Membership Inference Test tools.
 *
 * Every function returns a mint_status; details of the last error on this
 * thread are in mint_last_error(). The library never exits the process. */
#ifndef MINT_H
#define MINT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MINT_VERSION "0.1.0"

typedef enum {
    MINT_OK = 0,
    MINT_E_IO,          /* open/read/write/mmap failed */
    MINT_E_FORMAT,      /* malformed, truncated or hostile file */
    MINT_E_UNSUPPORTED, /* valid input that mint does not implement */
    MINT_E_SHAPE,       /* shapes do not match */
    MINT_E_NOMEM,       /* allocation failed or size overflow */
    MINT_E_ARG,         /* bad argument from the caller */
    MINT_E_NOTFOUND     /* name (tensor, tap, key) not present */
} mint_status;

/* Static text for a status code. */
const char *mint_strerror(mint_status s);
/* Message describing the most recent error set on this thread (may be ""). */
const char *mint_last_error(void);
/* Record an error: sets the thread's message and returns s (for `return`). */
mint_status mint_fail(mint_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* ---- ISA selection (kernels) ---- */
/* Name of the instruction set the kernels run on ("scalar", "avx2",
 * "avx512", "neon"). Chosen once from cpuid/XGETBV, or forced with the
 * environment variable MINT_ISA. */
const char *mint_isa(void);
/* Force an ISA by name; MINT_E_UNSUPPORTED if this CPU/build lacks it. */
mint_status mint_set_isa(const char *name);
/* MINT_ISA names a path this build or CPU/OS lacks (the best path is used
 * instead): MINT_E_UNSUPPORTED, and mint_last_error() says which value,
 * which paths are available and which one runs, for the caller to show.
 * MINT_OK when MINT_ISA is unset, "auto" or usable. */
mint_status mint_isa_env_check(void);

/* ---- Models ---- */
typedef struct mint_model mint_model;

/* Open a weight container (read-only mmap) and prepare it for inference. */
mint_status mint_model_open(mint_model **out, const char *path);
void mint_model_close(mint_model *m);

/* Input geometry: channels, height, width (NCHW input without batch). */
void mint_model_input_shape(const mint_model *m, int *c, int *h, int *w);
/* Output embedding dimension. */
int mint_model_output_dim(const mint_model *m);

/* Describe a tap (a named tensor: "layer1".."layer4", "embedding" or any
 * graph tensor name) for one image: rank (2 or 4) and dims without batch.
 * MINT_E_NOTFOUND for names that are absent or that no node computes. */
mint_status mint_model_tap_shape(const mint_model *m, const char *tap,
                                 int *rank, int dims[3]);

/* Run a batch. in: float32 NCHW [n, C, H, W], already normalised.
 * out: [n, D] embeddings (may be NULL).
 * taps/tap_out: ntaps names and destination buffers, each [n, ...] in NCHW
 * (or [n, D]) order. */
mint_status mint_model_run(mint_model *m, const float *in, int n, float *out,
                           int ntaps, const char *const *taps, float *const *tap_out);

/* ---- Training a MINT auditing model (`mint train`) ---- */

/* After every epoch. */
typedef struct {
    int epoch, epochs;  /* 1-based epoch just finished, of epochs */
    int64_t steps;      /* optimiser steps so far */
    double loss;        /* mean over the epoch's steps of BCE + L1 term */
    double bce;         /* mean BCE alone */
    double accuracy;    /* on the epoch's training batches (dropout on, as Keras reports) */
    double seconds;     /* wall time of the epoch */
} mint_train_progress;

/* What a message of mint_train_run is. */
typedef enum {
    MINT_MSG_NOTE = 0,  /* for stderr: a note, or a warning when it starts "warning: " */
    MINT_MSG_STATUS,    /* for stdout: what the run does ("resuming after epoch ...") */
    MINT_MSG_DETAIL     /* for stdout, for a verbose caller: sizes, timings */
} mint_msg_kind;

/* How the audit reference (the held-out external samples) is chosen. */
typedef enum {
    MINT_HOLDOUT_AUTO = 0, /* whole identities when the external samples have labels,
                            * else samples (with a warning) */
    MINT_HOLDOUT_LABEL,    /* whole identities; unlabelled external data are refused */
    MINT_HOLDOUT_SAMPLE    /* random samples (identities may straddle the split) */
} mint_holdout_by;

typedef struct {
    const char *kind;        /* "vanilla", "cnn", "outcome", "vanilla64" or "cnn2" */
    const char *out;         /* the MINT model; the state after every epoch goes to
                              * <out>.partial, removed once out is written */
    /* the data: feature files or `mint extract` folders ... */
    const char *members, *external;
    /* ... or images through the audited network (all three, no members/external) */
    const char *model, *members_list, *external_list;
    const char *landmarks;   /* 5-point landmarks CSV; NULL: images at the input size */
    const char *root;        /* base of relative paths in list files; NULL: current dir */
    const char *taps;        /* comma list; NULL: the kind's own, or those the members'
                              * extract.txt records */
    int epochs;              /* 0: the kind's default (20; cnn 30) */
    int batch;               /* even, >= 2 */
    uint64_t seed;
    double holdout;          /* fraction held out as the audit reference, [0, 0.9) */
    mint_holdout_by holdout_by;
    int min_hidden;          /* cnn: at least this many Dense units (0: C) */
    int resume;              /* continue from <out>.partial (refused without it) */
    /* callbacks (each may be NULL); ctx is passed to all of them */
    void (*message)(void *ctx, mint_msg_kind kind, const char *text);
    void (*epoch)(void *ctx, const mint_train_progress *p);
    void (*images)(void *ctx, size_t done, size_t total); /* both lists; starts at 0 */
    void *ctx;
} mint_train_run_opts;

/* Defaults: batch 128, holdout 0.1, MINT_HOLDOUT_AUTO, everything else 0/NULL. */
void mint_train_run_defaults(mint_train_run_opts *o);

typedef struct {
    int collapsed;           /* every training sample got the same score: out was not
                              * written (said in a MINT_MSG_NOTE), the run failed */
    double seconds;          /* training (and saving) time */
    double train_accuracy;   /* of the last epoch */
    double threshold;        /* best balanced accuracy on the training data */
    int64_t n_cal_external;  /* external scores kept as the audit reference */
    int cal_external_heldout;/* ... held out of training (else training samples) */
    int64_t cal_ref_identities; /* identities among them (-1: by image) */
    int trainset_recorded;   /* out records its training images' SHA-256s ... */
    int64_t trainset_n[3];   /* ... members, external trained on, held-out reference */
} mint_train_run_result;

/* Train a MINT model on members and external data and save it to o->out:
 * the whole policy of `mint train` (README, `mint train --help`): default
 * taps, refusing members and external data that share images (SHA-256),
 * the identity-level holdout, binding to the network the features came
 * from, resuming from <out>.partial, collapse detection. */
mint_status mint_train_run(const mint_train_run_opts *o, mint_train_run_result *r);

/* ---- Extraction (`mint extract`) ---- */

typedef struct {
    const char *model;       /* the network (a mint weight container) */
    const char *list;        /* the images: a list file, one path[,label] a line ... */
    const char *root;        /* ... whose relative paths are taken below root (NULL: the
                              * current directory); the keys in index.csv stay as written */
    const char *dir;         /* ... or every .jpg/.jpeg/.png below dir, sorted, label = first
                              * folder (exactly one of list and dir; root goes with list) */
    const char *landmarks;   /* 5-point landmarks CSV; NULL: images at the input size */
    const char *taps;        /* comma list, each once; NULL: layer1,...,layer4,embedding */
    const char *out;         /* the output folder: <tap>.npy, index.csv, extract.txt */
    int pool_max;            /* 1: per-channel max over H,W ([N,C]); 0: raw [N,C,H,W] */
    int f16;                 /* store float16 instead of float32 */
    int batch;               /* images per forward pass, 1..1024 */
    int chunk;               /* images per committed chunk (lost at most on a crash) */
    int shard_i, shard_n;    /* only list positions p with p % shard_n == shard_i;
                              * shard_n 0: the whole list */
    int resume;              /* continue a killed run in out (same settings, else refused) */
    int skip_errors;         /* 1: bad images go to out/errors.csv (--on-error skip);
                              * 0: the first one fails the run */
    /* callbacks (each may be NULL); ctx is passed to both */
    void (*message)(void *ctx, mint_msg_kind kind, const char *text);
    /* after every batch, counts of this shard: done (incl. resumed), total,
     * failed, resumed (found done from an earlier run) */
    void (*progress)(void *ctx, size_t done, size_t total, size_t failed, size_t resumed);
    void *ctx;
} mint_extract_run_opts;

/* Defaults: taps NULL (layer1..layer4, embedding), pool_max 1, batch 16,
 * chunk 1024, everything else 0/NULL. */
void mint_extract_run_defaults(mint_extract_run_opts *o);

typedef struct {
    size_t images;           /* in the whole list */
    size_t shard_images;     /* of them in this shard (= images without a shard) */
    size_t written;          /* rows in the outputs */
    size_t failed;           /* images skipped (listed in out/errors.csv) */
    size_t resumed;          /* images found done by an earlier run */
} mint_extract_run_result;

/* Decode, align, normalise and run every image through the network,
 * writing out/<tap>.npy per tap, out/index.csv and out/extract.txt
 * (docs/format.md section 5): the whole of `mint extract` (README,
 * `mint extract --help`): shards, crash-safe chunks and --resume, the lock
 * on out, errors.csv. A MINT_MSG_NOTE says what runs before the first image. */
mint_status mint_extract_run(const mint_extract_run_opts *o, mint_extract_run_result *r);

/* ---- Evaluating a MINT model (`mint eval`) ---- */

typedef struct {
    size_t tp, fn; /* members predicted member / external */
    size_t fp, tn; /* external predicted member / external */
} mint_confusion;

#define MINT_EVAL_NFPR 2 /* FPR targets 1% and 0.1% */

/* Everything `mint eval` reports (mint/metrics.h computes it). */
typedef struct {
    size_t n, n_members, n_external;
    double auc;
    /* at the conventional threshold 0.5 */
    double acc_05, bacc_05;
    mint_confusion cm_05;
    /* at the threshold chosen on the training data (NaN when not given:
     * then bacc_train_thr is NaN and cm_train_thr zero) */
    double train_threshold;
    double acc_train_thr, bacc_train_thr;
    mint_confusion cm_train_thr;
    /* TPR at low FPR (targets fpr_target[] = 0.01, 0.001) */
    double fpr_target[MINT_EVAL_NFPR];
    double tpr_at_fpr[MINT_EVAL_NFPR];
    double thr_at_fpr[MINT_EVAL_NFPR];      /* threshold achieving it (+inf: none) */
    double fpr_achieved[MINT_EVAL_NFPR];    /* actual FPR of that point (<= target) */
    double fpr_step;                        /* 1 / n_external: the FPR resolution */
} mint_eval_result;

typedef struct {
    const char *mint;                  /* the trained MINT model */
    const char *members, *external;    /* held-out data: .npy files or `mint extract` folders */
    const char *taps;                  /* comma list read from folders; NULL: those the MINT
                                        * model records, else chosen as `mint train` does from
                                        * the members' extract.txt */
    const char *json;                  /* the metrics as JSON; NULL: none */
    const char *roc_png;               /* ROC plot; NULL: none */
    const char *created;               /* ISO-8601 UTC for the JSON and --store; NULL: now */
    int store;                         /* record AUC, TPR at 1% FPR, balanced accuracy and the
                                        * data sizes in the MINT model itself (rewritten in
                                        * place), for audits to show beside the verdict;
                                        * refused when the data include its training images */
} mint_eval_run_opts;

/* Defaults: everything 0/NULL. */
void mint_eval_run_defaults(mint_eval_run_opts *o);

typedef struct {
    mint_eval_result m;                /* the metrics */
    char kind[16];                     /* of the MINT model */
    char mint_sha256[65];              /* of the MINT model (after --store: the new file) */
    char taps[256];                    /* taps the features were read with ("" for files) */
    int has_train_threshold;           /* the model carries calibration (threshold from training) */
    /* warnings (the JSON has them too): data the MINT model was trained on,
     * checks that could not be made */
    char notes[4][1024];
    const char *note_ptr[4];
    size_t n_notes;
    int64_t n_trained;                 /* evaluation rows the MINT model was trained on
                                        * (-1: could not be checked) */
} mint_eval_run_result;

/* Load, score, evaluate, write: the whole of `mint eval` (README, `mint eval
 * --help`). Refused: features of another network than the one the MINT
 * model was trained for (by extract.txt), MINT_E_SHAPE (naming the file)
 * for features of another size. */
mint_status mint_eval_run(const mint_eval_run_opts *o, mint_eval_run_result *r);

/* ---- Auditing images (`mint audit`) ---- */

/* How the audited images are grouped into identities (the test's unit). */
typedef enum {
    MINT_IDENTITY_AUTO = 0, /* one folder without sub-folders is one person named after it;
                             * labelled images (sub-folders, several folders, list labels)
                             * one person per label; files given one by one one person each */
    MINT_IDENTITY_ONE,      /* every image is of one person */
    MINT_IDENTITY_LABELS,   /* one person per label; unlabelled images form one */
    MINT_IDENTITY_IMAGE     /* each image its own identity (assumes independent images) */
} mint_identity_mode;

/* One audited image of the report. */
typedef struct {
    const char *file;         /* as given (folders expanded) */
    const char *sha256;       /* hex SHA-256 of the image file; NULL if unknown */
    double score;             /* membership score in [0,1]; NaN when it failed */
    const char *error;        /* NULL, or why there is no score */
    const char *duplicate_of; /* NULL, or the earlier file with the same bytes (not
                               * counted again in the set-level test) */
} mint_audit_image;

/* One audited identity of the set-level test. */
typedef struct {
    const char *name;     /* identity (label, folder or file) */
    size_t n;             /* its scored distinct images */
    double t;             /* mean logit */
    double p;             /* its own p-value against the reference identities */
    double percentile;    /* fraction of reference identities whose value is below t */
} mint_audit_identity;

/* The set-level test (docs/audit-statistics.md). */
typedef struct {
    const char *test;          /* the test's name */
    const char *unit;          /* how images were grouped into identities */
    size_t m, n_images;        /* audited identities, images */
    size_t K, K_images;        /* reference identities, images */
    double p, p_min;           /* p-value and its resolution */
    int evidence;              /* p < alpha and p_min <= alpha */
    double t_set, t_ref;       /* audited and reference statistic (mean logits) */
    double effect;             /* percentile (m = 1) or pairwise superiority (m >= 2) */
    const char *effect_name;
    double welch_t, welch_df, welch_p; /* m >= 2, NaN otherwise */
    const mint_audit_identity *ids;
    size_t n_ids;
    /* the MINT model's own validated quality (mint eval --store) */
    int has_quality;
    double q_auc, q_tpr_1pct;
    size_t q_members, q_external;
    const char *q_data, *q_date;
} mint_audit_settest;

/* Everything an audit report shows. */
typedef struct {
    const char *mint_version;            /* NULL = MINT_VERSION */
    const char *created;                 /* ISO-8601 UTC; NULL = now */
    const char *model_path, *model_sha256; /* the audited network */
    const char *mint_path, *mint_sha256;   /* the MINT (auditing) model */
    const char *mint_kind;               /* "vanilla", "cnn", "outcome", "vanilla64", "cnn2"; may be NULL */
    const char *reference;               /* where the reference scores came from */
    double threshold;                    /* per-image decision threshold; NaN = none */
    double alpha;                        /* level of the verdict, e.g. 0.05 */
    const mint_audit_image *images;
    size_t n_images;
    const mint_audit_settest *set;       /* NULL if no set-level test was run */
    const char *audited;                 /* what was audited, e.g. "1 identity
                                          * (Some_Person, 10 images)"; may be NULL */
    const char *verdict;                 /* the verdict sentence (required with set) */
    const char *const *notes;            /* n_notes warnings the reader must see */
    size_t n_notes;
} mint_audit_report;

#define MINT_AUDIT_REPORTS 2

typedef struct {
    const char *model;             /* the audited network (a mint weight container) */
    const char *mint;              /* the MINT model trained on its activations */
    /* the images: image files and/or folders (every .jpg/.jpeg/.png below
     * a folder, sorted) ... */
    const char *const *images;
    int n_images;
    const char *list;              /* ... or a list file, one path[,label] a line */
    const char *root;              /* with list: base of relative paths (NULL: current dir) */
    const char *landmarks;         /* 5-point landmarks CSV; NULL: images at the input size */
    const char *reference;         /* features of known external data (.npy or `mint extract`
                                    * folder); NULL: the calibration stored in the MINT model */
    const char *taps;              /* comma list; NULL: the taps the MINT model records */
    double alpha;                  /* level of the verdict, 0 < alpha < 1 */
    mint_identity_mode identity;
    int batch;                     /* images per forward pass, 1..1024 */
    const char *report[MINT_AUDIT_REPORTS]; /* reports to write, each self-contained HTML
                                    * when it ends in .html/.htm, else JSON; NULL: none */
    const char *created;           /* ISO-8601 UTC for the reports; NULL: now */
    /* callbacks (each may be NULL); ctx is passed to both */
    void (*message)(void *ctx, mint_msg_kind kind, const char *text);
    void (*progress)(void *ctx, size_t done, size_t total); /* after every batch of images */
    void *ctx;
} mint_audit_run_opts;

/* Defaults: alpha 0.05, identity MINT_IDENTITY_AUTO, batch 16, everything
 * else 0/NULL. */
void mint_audit_run_defaults(mint_audit_run_opts *o);

typedef struct mint_audit_store mint_audit_store;

typedef struct {
    mint_audit_report report;  /* everything the reports show: per-image scores (images),
                                * the set-level test (set, NULL when no image could be
                                * scored), verdict and notes; its strings live in this
                                * result (and in the options' strings: keep those alive) */
    size_t n_scored, n_failed; /* images scored, and that could not be read or aligned */
    size_t n_duplicates;       /* scored images repeating an earlier one's bytes */
    size_t n_above_threshold;  /* scored images with score >= the threshold */
    double median_score;       /* of the scored images (NaN if none) */
    const char *taps;          /* the taps the features came from */
    const char *written[MINT_AUDIT_REPORTS]; /* the reports written (NULL: none) */
    mint_audit_store *store;   /* private */
} mint_audit_run_result;

/* Were these images used to train the network? The whole of `mint audit`
 * (README, `mint audit --help`): each image through the network, its
 * features as the MINT model's training features were, a membership score
 * per image, the identity-level test against the reference, the verdict
 * and the reports. Images that cannot be read or aligned do not fail the
 * call (a row with the error, left out of the test); when none can be
 * scored report.set is NULL and the verdict says so. Refused up front:
 * paths that do not exist, another network than the MINT model's, features
 * of another size, no reference. A MINT_MSG_NOTE says what runs before the
 * first image. On MINT_OK free r with mint_audit_run_result_free. */
mint_status mint_audit_run(const mint_audit_run_opts *o, mint_audit_run_result *r);
void mint_audit_run_result_free(mint_audit_run_result *r);

#ifdef __cplusplus
}
#endif
#endif
