/* model.h - the MINT auditing models (DESIGN.md, issue 4): their
 * parameters in one arena, forward/backward over train_ops, checkpoints in
 * the weight container, and the load/predict API.
 *
 *  Vanilla MINT  in [F] (per-channel max of the chosen taps, concatenated)
 *                -> Dense H=128 -> ReLU (L1 0.1 on this layer's weights)
 *                -> BatchNorm -> Dropout 0.5 -> Dense 1 -> sigmoid
 *  Outcome/MIA   the same MLP on the embedding ([512]).
 *  CNN MINT      in [C][H][W] (raw map of one tap, NCHW)
 *                -> Conv 64 3x3 pad 1 -> ReLU -> MaxPool 2x2 (stride 2, as
 *                Keras MaxPooling2D's default) -> flatten (C,H,W order)
 *                -> Dense C -> ReLU -> Dropout 0.5 -> Dense 1 -> sigmoid
 *                (Dense max(C, min_hidden) with mint_tm_create_wide)
 *  vanilla64     MINT-Demo's Vanilla MINT: the Vanilla MLP with Dense 64
 *                (L1 0.1) and Dropout 0.3
 *  cnn2          MINT-Demo's CNN MINT, two conv and two dense layers:
 *                in [C][H][W] (H, W >= 4) -> Conv 32 3x3 pad 1 -> ReLU ->
 *                MaxPool 2x2 -> Conv 64 3x3 pad 1 -> ReLU -> MaxPool 2x2 ->
 *                flatten -> Dense 64 -> ReLU -> Dropout 0.5 -> Dense 1
 *                (MINT-Demo, arXiv 2503.08332, names the layer types, not
 *                their sizes: these are mint's choice, the first conv as
 *                wide as half the cnn kind's)
 *
 * Initialisation is Keras' default (the paper's models are Keras):
 * glorot_uniform kernels, zero biases, BN gamma 1 / beta 0, running mean 0 /
 * var 1. BatchNorm follows PyTorch: running = 0.9*running + 0.1*batch
 * (momentum 0.1 as PyTorch counts it; Keras' default, momentum 0.99, would
 * be running = 0.99*running + 0.01*batch) and eps 1e-5 (Keras: 1e-3).
 * Inputs are not standardised (the Keras MINT does not).
 *
 * Tensor names (PyTorch style, also in checkpoints):
 *   MLP: dense1.weight [H][F], dense1.bias [H], bn.weight [H], bn.bias [H],
 *        dense2.weight [1][H], dense2.bias [1];
 *        buffers bn.running_mean [H], bn.running_var [H]
 *   CNN: conv.weight [64][C][3][3], conv.bias [64],
 *        dense1.weight [K][64*(H/2)*(W/2)], dense1.bias [K],
 *        dense2.weight [1][K], dense2.bias [1]  (K = max(C, min_hidden))
 *   cnn2: conv.weight [32][C][3][3], conv.bias [32], conv2.weight [64][32][3][3],
 *        conv2.bias [64], dense1.weight [64][64*(H/4)*(W/4)], dense1.bias [64],
 *        dense2.weight [1][64], dense2.bias [1]
 *   vanilla64: as MLP with H = 64 */
#ifndef MINT_MINT_MODEL_H
#define MINT_MINT_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include "mint.h"
#include "mint/trainset.h"

#define MINT_TM_HIDDEN 128       /* Vanilla/outcome Dense units */
#define MINT_TM_FILTERS 64       /* CNN conv filters */
#define MINT_TM_DROPOUT 0.5f
#define MINT_TM_L1 0.1f          /* on dense1.weight of the MLP models */
#define MINT_TM_BN_MOMENTUM 0.1f /* PyTorch convention */
#define MINT_TM_BN_EPS 1e-5f     /* PyTorch default */
#define MINT_TM_MAX_PARAMS 8

#define MINT_TM_V64_HIDDEN 64     /* vanilla64 */
#define MINT_TM_V64_DROPOUT 0.3f
#define MINT_TM_CNN2_FILTERS1 32  /* cnn2 */
#define MINT_TM_CNN2_FILTERS2 64
#define MINT_TM_CNN2_HIDDEN 64

typedef enum {
    MINT_TM_VANILLA = 0, MINT_TM_CNN = 1, MINT_TM_OUTCOME = 2, MINT_TM_VANILLA64 = 3,
    MINT_TM_CNN2 = 4
} mint_tm_kind;
#define MINT_TM_NKINDS 5

/* "vanilla", "cnn", "outcome", "vanilla64", "cnn2" */
const char *mint_tm_kind_name(mint_tm_kind k);
/* 1 for the kinds on the raw map C x H x W of one tap (cnn, cnn2), 0 for
 * the MLPs on feature vectors. */
int mint_tm_kind_is_conv(mint_tm_kind k);
/* Parse a kind name; MINT_E_ARG if unknown. */
mint_status mint_tm_kind_parse(const char *s, mint_tm_kind *k);

typedef struct {
    mint_tm_kind kind;
    int in_dims[3];  /* MLP: {F, 0, 0}; CNN: {C, H, W} with H, W >= 2 (cnn2: >= 4) */
    char taps[256];  /* comma list of the taps the features come from (recorded) */
    char network_sha256[65]; /* SHA-256 of the network file the features came from ("" = unknown) */
} mint_tm_config;

/* One parameter tensor of the arena. */
typedef struct {
    char name[32];
    int rank;
    int64_t dims[4];
    size_t count;  /* elements */
    size_t offset; /* floats from the arena segment start (64-byte aligned) */
} mint_tm_param;

/* Typed views of one arena segment (params, grads, Adam m or v); the
 * pointers a kind does not use are NULL. */
typedef struct {
    float *conv_w, *conv_b;      /* CNN */
    float *conv2_w, *conv2_b;    /* cnn2's second conv */
    float *w1, *b1;              /* dense1 */
    float *bn_g, *bn_b;          /* MLP */
    float *w2, *b2;              /* dense2 */
} mint_tm_views;

typedef struct mint_tm {
    mint_tm_config cfg;
    int in_size;  /* floats per sample */
    int hidden;   /* dense1 units: 128 (MLP), 64 (vanilla64, cnn2) or C (CNN) */
    int flat;     /* dense1 inputs: F, 64*(H/2)*(W/2), or 64*(H/4)*(W/4) (cnn2) */
    float dropout, l1;
    int nparams;
    mint_tm_param params[MINT_TM_MAX_PARAMS];
    size_t seg;   /* floats per arena segment (padded) */
    /* arena: [params | grads | adam m | adam v], each `seg` floats */
    float *arena;
    mint_tm_views p, g, m, v;
    int64_t adam_t; /* Adam steps taken */
    float *bn_mean, *bn_var; /* BN running statistics (MLP), not trained */
    /* calibration: eval-mode scores of the members and of the external
     * reference samples (held out, or else trained on), set by
     * mint_tm_calibrate[_held] or loaded; threshold maximising balanced
     * accuracy on the training data */
    float *cal_member, *cal_external;
    int64_t n_cal_member, n_cal_external;
    int cal_external_heldout; /* external calibration samples were not trained on */
    /* the audit reference at identity level (issue 8): the logits of the
     * external calibration samples (same order as cal_external) and their
     * identity (index into the held-out identities, -1 = unknown: the image
     * counts as an identity of its own), and how they were held out
     * ("label": whole identities, "sample": random images, "" = not held
     * out / unknown) */
    float *cal_external_logit;
    int32_t *cal_external_group;
    int64_t cal_ref_identities;  /* distinct identities among them (-1 = unknown) */
    char cal_holdout_by[16];
    double threshold;
    /* the MINT model's own validated quality (mint eval --store): has_quality
     * 0 = never evaluated */
    int has_quality;
    double q_auc, q_tpr_1pct, q_bacc;
    int64_t q_n_members, q_n_external;
    char q_data[512];            /* what it was evaluated on */
    char q_date[32];
    /* training record (metadata) */
    int64_t train_epochs, train_steps, train_batch;
    uint64_t train_seed;
    double train_accuracy;
    /* set by mint_train (not saved): dense1 units whose ReLU is 0 on every
     * training sample, and whether the model scores every training sample
     * the same (a collapsed training: loss ln 2, accuracy 0.5) */
    int train_dead_units, train_collapsed;
    /* the images it was trained on and its held-out reference samples
     * (mint/trainset.h; recorded = 0 for models trained without image hashes) */
    mint_trainset trainset;
} mint_tm;

/* New model with Keras-default initialisation drawn from seed. */
mint_status mint_tm_create(mint_tm **out, const mint_tm_config *cfg, uint64_t seed);
/* The same with, for a CNN, a Dense layer of max(C, min_hidden) units
 * after the conv (0: C, the paper's layout; the MLP kinds ignore it). A
 * Dense-C-ReLU bottleneck at small C (e.g. 8) can die: every unit's ReLU 0
 * on every sample, one score for all (mint_train detects it). */
mint_status mint_tm_create_wide(mint_tm **out, const mint_tm_config *cfg, uint64_t seed,
                                int min_hidden);
void mint_tm_free(mint_tm *tm);
/* Parameter (or buffer: "bn.running_mean", "bn.running_var") by name:
 * pointer into the params segment and element count; NULL if absent. */
float *mint_tm_tensor(mint_tm *tm, const char *name, size_t *count);

/* Save parameters, BN buffers, calibration and metadata ("mint.kind",
 * "mint.taps", "mint.input_dims", ...) into a weight container. */
mint_status mint_tm_save(const mint_tm *tm, const char *path);
/* Load a saved model; every tensor shape is checked against the metadata. */
mint_status mint_tm_load(mint_tm **out, const char *path);

/* The pieces of save and load, for containers that hold more than a model
 * (training checkpoints, mint/checkpoint.c). mint_tm_write adds what
 * mint_tm_save writes to w; mint_tm_read copies the parameters and BN
 * running statistics of f into tm (same kind and input dims), shape-checked
 * first: on failure tm is unchanged. */
struct wt_writer;
struct wt_file;
mint_status mint_tm_write(const mint_tm *tm, struct wt_writer *w);
mint_status mint_tm_read(mint_tm *tm, const struct wt_file *f);

/* Eval-mode membership scores sigmoid(logit) in [0,1] (1 = member) of n
 * samples of in_size floats each. */
mint_status mint_tm_predict(const mint_tm *tm, const float *features, int64_t n,
                            float *scores_out);
/* The same before the sigmoid (the logits; either output may be NULL). */
mint_status mint_tm_predict2(const mint_tm *tm, const float *features, int64_t n,
                             float *scores_out, float *logits_out);
/* Record the identities of the external calibration samples: group[i] is
 * the identity (>= 0, or -1 unknown) of external sample i (the indices
 * mint_tm_calibrate_held was given), holdout_by "label" or "sample".
 * Counts the distinct identities. */
mint_status mint_tm_set_reference_groups(mint_tm *tm, const int32_t *ext_group,
                                         const int64_t *held, int64_t n_held,
                                         const char *holdout_by);
/* The logit of a stored score, for files written before logits were kept
 * (clamped away from 0 and 1). */
float mint_score_logit(float score);
/* Score the training samples and keep them as calibration data, with the
 * threshold maximising balanced accuracy on them (mint_best_threshold). */
mint_status mint_tm_calibrate(mint_tm *tm, const float *members, int64_t n_mem,
                              const float *external, int64_t n_ext);
/* The same when the external samples held[0..n_held) (indices into
 * external, not trained on) were held out: the threshold is chosen on the
 * training data (members and the external samples trained on), and the
 * external calibration scores kept as the audit reference are those of the
 * held-out samples only (cal_external_heldout = 1). */
mint_status mint_tm_calibrate_held(mint_tm *tm, const float *members, int64_t n_mem,
                                   const float *external, int64_t n_ext, const int64_t *held,
                                   int64_t n_held);

/* The same from scores already computed (Active MINT heads score their
 * features batch by batch): member scores cm [n_mem], external scores ce
 * and logits cl [n_ext], all malloc'd and taken over by tm (freed on
 * failure too). */
mint_status mint_tm_calibrate_scores(mint_tm *tm, float *cm, int64_t n_mem, float *ce, float *cl,
                                     int64_t n_ext, const int64_t *held, int64_t n_held);

/* ---- one training step's activations (one arena, typed views) ---- */
typedef struct {
    int B;
    float *arena;
    uint8_t *bytes; /* masks and pooling arguments */
    float *x;       /* [B][in_size] gathered batch */
    float *y;       /* [B] labels */
    float *conv;    /* CNN: [B][64][H][W] conv+ReLU output */
    float *pool;    /* CNN: [B][flat] */
    uint8_t *arg;   /* CNN: [B][flat] */
    float *conv2;   /* cnn2: [B][64][H/2][W/2] second conv+ReLU output; conv, pool1 the first's */
    float *pool1;   /* cnn2: [B][32][H/2][W/2] */
    uint8_t *arg1;  /* cnn2: [B][32][H/2][W/2] */
    float *dconv2, *dpool1; /* cnn2 gradients */
    float *h1;      /* [B][hidden] dense1+ReLU output */
    float *bn;      /* MLP: [B][hidden] */
    float *xhat;    /* MLP: [B][hidden] */
    float *invstd;  /* MLP: [hidden] */
    float *drop;    /* [B][hidden] */
    uint8_t *mask;  /* [B][hidden] */
    float *logit;   /* [B] */
    /* gradients */
    float *dlogit, *dh, *dh2, *dpool, *dconv;
    /* Active MINT (mint/tm_head.c): set by the caller, NULL/0 otherwise.
     * dx: [B][in_size] gradient of the loss with respect to the features,
     * written by backward; gscale: the loss's weight (0 means 1) */
    float *dx;
    float gscale;
    float *scratch;
    size_t nscratch;
} mint_tm_acts;

mint_status mint_tm_acts_new(mint_tm_acts **out, const mint_tm *tm, int B);
void mint_tm_acts_free(mint_tm_acts *a);

/* Forward of acts->x (B samples). train: batch-stat BN (updating the
 * running statistics) and dropout with acts->mask (filled by the caller);
 * eval: running statistics, no dropout. Writes acts->logit. */
void mint_tm_forward(mint_tm *tm, mint_tm_acts *a, int B, int train);
/* Backward of mean BCE(logit, acts->y) (+ L1): fills tm->g (accumulating;
 * zero it first). Returns nothing; loss is computed by the caller. */
void mint_tm_backward(mint_tm *tm, mint_tm_acts *a, int B);

#endif
