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
    const char *kind;        /* "vanilla", "cnn" or "outcome" */
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

#ifdef __cplusplus
}
#endif
#endif
