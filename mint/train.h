/* train.h - training the MINT auditing models (issue 4): Adam, balanced
 * batches, the epoch loop with a progress callback.
 *
 * Optimiser: Adam with PyTorch's defaults and update rule (torch.optim.Adam:
 * lr 1e-3, betas 0.9/0.999, eps 1e-8 added to the bias-corrected
 * sqrt(v_hat), no weight decay, no amsgrad). Keras' Adam (the paper's) uses
 * eps 1e-7 added to the uncorrected sqrt(v) with the correction folded into
 * the step size ("epsilon hat"); the two differ only while v is tiny.
 *
 * Batches: B = 128 with B/2 members and B/2 external samples. Each class
 * has its own seeded shuffled order; an epoch is ceil(max(Nm, Ne) / (B/2))
 * steps, i.e. one pass over the larger class. A class whose order runs out
 * (the smaller class, many times; the larger one at the end of the last
 * batch) is reshuffled and reused, so every batch is full and balanced and
 * the smaller class is oversampled rather than the larger one cut.
 *
 * Reproducibility: the seed drives initialisation (mint_tm_create), the
 * per-class shuffles and the dropout masks (a counter-based hash of seed and
 * element index); every reduction is done in a fixed order by one thread,
 * so a run is bit-for-bit reproducible for a given seed - and does not even
 * depend on the thread count on a given machine and ISA.
 *
 * Resuming: after every epoch mint_train hands an optional checkpoint hook
 * the model (parameters, BN running statistics, Adam m, v and step count)
 * and a mint_train_state (epochs done, each class's shuffled order, its
 * position and shuffle-rng state, the held-out indices, and what identifies
 * the run); mint_train_state_save writes both to one container. Given the
 * loaded state (opts.resume) a later mint_train continues from there, and
 * the final model and calibration are bit-identical to those of an
 * uninterrupted run (on the same machine and ISA; any thread count). The
 * sampling scheme is unchanged by this: the state is stored, not
 * recomputed, so fresh runs give the same bits as before. */
#ifndef MINT_MINT_TRAIN_H
#define MINT_MINT_TRAIN_H

#include <stddef.h>
#include <stdint.h>
#include "mint/model.h"

typedef struct {
    float lr, beta1, beta2, eps;
} mint_adam_cfg;
#define MINT_ADAM_DEFAULTS { 1e-3f, 0.9f, 0.999f, 1e-8f }

/* The optimiser step is net/optim.h's net_adam_update (torch.optim.Adam,
 * no weight decay) over the whole [params | grads | m | v] arena. */

/* mint_train_progress: include/mint.h */

/* Where a run stands after an epoch: together with the model, what
 * mint_train needs to continue it bit for bit. Class 0 = members,
 * 1 = external (less the held-out samples). */
typedef struct {
    /* the run (a resumed run must have the same) */
    mint_tm_kind kind;
    int in_dims[3];
    uint64_t seed;
    int batch, epochs;
    double holdout;
    mint_adam_cfg adam;
    int64_t n_mem, n_ext;   /* all samples given, held-out ones included */
    char data_hash[33];     /* mint_train_data_hash of the training data */
    /* progress */
    int epochs_done;
    int64_t adam_t;         /* optimiser steps so far (= the model's) */
    double train_accuracy;  /* of the last epoch done */
    /* sampler: per class the order of its training samples (indices into
     * its rows), the next position in it (== n: reshuffle first) and the
     * shuffle generator's state */
    int64_t *perm[2];
    int64_t n[2], pos[2];
    uint64_t rng[2];
    /* held-out external samples (indices), the calibration reference */
    int64_t *held;
    int64_t n_held;
} mint_train_state;

typedef struct {
    int epochs;         /* MLP 20, CNN 30 by default */
    int batch;          /* even, >= 2; default 128 */
    uint64_t seed;
    /* Fraction of the external samples held out of training (chosen by the
     * seed) and scored afterwards as the calibration reference of audits:
     * scores of samples the model was trained on are pushed low and would
     * make a set-level test claim membership too often. 0 = calibrate on the
     * training samples (biased; for tests and tiny sets). */
    double holdout;
    mint_adam_cfg adam;
    /* called after every epoch (may be NULL); never prints by itself */
    void (*progress)(void *ctx, const mint_train_progress *p);
    /* called after every epoch, after progress (may be NULL), with the
     * model and the state to save (mint_train_state_save). A status other
     * than MINT_OK stops the run: mint_train returns it, the model holds
     * the weights of the epochs done and is not calibrated. */
    mint_status (*checkpoint)(void *ctx, const mint_tm *tm, const mint_train_state *s);
    void *ctx;          /* passed to progress and checkpoint */
    /* continue this run (NULL = start afresh): a state loaded with
     * mint_train_state_load into tm. It must belong to the same run
     * (mint_train_resume_check), else MINT_E_ARG and nothing is trained. */
    const mint_train_state *resume;
    /* mint_train_data_hash of the data, if the caller has it already;
     * NULL = computed when a checkpoint hook or resume needs it */
    const char *data_hash;
    /* keys of the member and external images (mint/trainset.h), row by
     * row; when both are given the model records its training images and
     * its held-out reference samples (tm->trainset). NULL = not recorded */
    const uint64_t *member_keys, *external_keys;
    /* Held-out external samples chosen by the caller (indices into the
     * external rows, distinct; NULL = drawn from holdout as a fraction of
     * samples): mint_holdout_by_group holds out whole identities, so that
     * the reference is of people the MINT model never saw. */
    const int64_t *held;
    int64_t n_held;
    /* identity of every external row (>= 0, -1 unknown; NULL = unknown):
     * kept with the reference scores for the identity-level audit test */
    const int32_t *ext_group;
    const char *holdout_by;   /* recorded: "label" or "sample" (NULL: "sample") */
} mint_train_opts;

/* The number of external samples o holds out of n_ext. */
int64_t mint_train_n_held(const mint_train_opts *o, int64_t n_ext);

/* Hold out whole identities: of the distinct groups >= 0 among group[0..n)
 * (rows with group < 0 are never held out), round(frac x count) of them,
 * at least 1, drawn by seed; *held (malloc'd, ascending) gets every row of
 * the drawn identities. *k_held / *k_total: identities held / in all.
 * MINT_E_ARG when fewer than 2 identities exist or nothing would be left
 * to train on. */
mint_status mint_holdout_by_group(const int32_t *group, int64_t n, double frac, uint64_t seed,
                                  int64_t **held, int64_t *n_held, int64_t *k_held,
                                  int64_t *k_total);

/* Identity indices from labels: equal non-empty labels get the same index
 * (0.., in sorted label order), "" or NULL gives -1. *k = distinct labels. */
mint_status mint_groups_from_labels(const char *const *labels, int64_t n, int32_t *group,
                                    int64_t *k);

/* Defaults of DESIGN.md for a kind: epochs 20 (vanilla, outcome) / 30 (cnn),
 * batch 128, seed 0, Adam defaults, no callback. */
void mint_train_defaults(mint_train_opts *o, mint_tm_kind kind);

/* One optimiser step on the batch already in a->x (B rows), a->y (labels
 * 1 = member, 0 = external) and a->mask (dropout keep mask, B*hidden bytes):
 * zero gradients, forward (training mode), BCE + L1, backward, Adam.
 * Outputs (each may be NULL): loss = BCE + L1 term before the update, bce,
 * correct = samples whose logit sign matches the label. */
void mint_tm_train_step(mint_tm *tm, mint_tm_acts *a, int B, const mint_adam_cfg *adam,
                        double *loss, double *bce, int *correct);

/* Train on members [n_mem][in_size] and external [n_ext][in_size]
 * (row-major, in_size = tm->in_size floats per sample), less the held-out
 * external samples (o->holdout), then score the members and the held-out
 * external samples (all external ones when holdout is 0) in eval mode as
 * calibration data (mint_tm_calibrate).
 * A collapsed training is not an error here, but it is detected: after the
 * last epoch the model is run over all the training data and
 * tm->train_dead_units (dense1 units with ReLU output 0 on every sample)
 * and tm->train_collapsed (every sample gets the same score: no better than
 * chance, loss ln 2) are set; a caller must not keep such a model as if it
 * worked (mint train refuses to save it). */
mint_status mint_train(mint_tm *tm, const float *members, int64_t n_mem, const float *external,
                       int64_t n_ext, const mint_train_opts *o);

/* ---- resumable training (mint/checkpoint.c) ---- */

/* A 128-bit fingerprint (32 hex digits) of a training set: its sizes and
 * the bytes of every member and external row. Not cryptographic: it tells
 * a resumed run that its data differ from the checkpoint's. Several GB/s. */
void mint_train_data_hash(const float *members, int64_t n_mem, const float *external,
                          int64_t n_ext, int in_size, char hex[33]);

/* MINT_OK if s is a consistent state of the run that tm, the data sizes,
 * its hash and o describe (mint_train calls it on o->resume); else
 * MINT_E_ARG naming every difference ("seed 7 in the checkpoint, 8 now")
 * or MINT_E_FORMAT for a state that contradicts itself. */
mint_status mint_train_resume_check(const mint_train_state *s, const mint_tm *tm, int64_t n_mem,
                                    int64_t n_ext, const char *data_hash,
                                    const mint_train_opts *o);

/* Write a checkpoint: the model as mint_tm_save does (no calibration yet),
 * Adam's m and v ("adam.m.<param>", "adam.v.<param>"), the state
 * ("checkpoint.*" metadata, I64 tensors "sampler.members", "sampler.external",
 * "holdout.external"), to a temporary name renamed into place. */
mint_status mint_train_state_save(const mint_tm *tm, const mint_train_state *s,
                                  const char *path);
/* Read a checkpoint into tm (created with the run's config: the kind and
 * input dims must match) and a new state (mint_train_state_free). Every
 * tensor and value is checked before tm is touched: on failure tm is
 * unchanged and *out NULL. */
mint_status mint_train_state_load(const char *path, mint_tm *tm, mint_train_state **out);
void mint_train_state_free(mint_train_state *s);

#endif
