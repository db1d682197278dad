/* train_model.h - `mint train-model`: train an audited IResNet on the
 * engine (net/train_graph.h), optionally with an Active MINT head
 * (the network and a MINT model trained together), and write the network,
 * the member/external split it used, the head and a signed training log.
 *
 * The split (written to <split>/):
 *   members.csv         every image the network's task loss saw
 *   external.csv        every image it never trained on
 *   mint-members.csv    the members a MINT model may train on
 *   mint-external.csv   the external images a MINT model may train on
 *   eval-members.csv    members no MINT model trains on (MINT evaluation)
 *   eval-external.csv   external images nobody trains on (MINT evaluation)
 *   split.json          counts, seed and rules
 * Each list is "path,label" (io/dataset.h list files), paths as given.
 * With Active MINT the external images of mint-external.csv flow through the
 * network (never into its task loss) so that the head learns on them; the
 * eval lists are never seen by the network nor by the head. */
#ifndef MINT_MINT_TRAIN_MODEL_H
#define MINT_MINT_TRAIN_MODEL_H

#include <stdint.h>
#include "mint.h"

#define MINT_TMODEL_MAX_SRC 16

typedef struct {
    int epoch, epochs;      /* epoch being run (1-based) */
    int64_t step, steps;    /* steps done in this epoch, steps per epoch */
    double loss, accuracy;  /* task loss and training accuracy so far this epoch */
    double mint_loss, mint_accuracy; /* Active MINT head on its batches (0 without) */
    double images_per_s, eta_s;
    int epoch_done;         /* 1 when the epoch has just finished */
} mint_tmodel_progress;

typedef struct {
    /* data: folders (identity = first sub-folder), list files (path[,label])
     * or idx image files (labels from the idx labels file beside them) */
    const char *data[MINT_TMODEL_MAX_SRC];
    int ndata;
    /* external-only sources (never trained on by the task), e.g. ORL, Yale */
    const char *external[MINT_TMODEL_MAX_SRC];
    int nexternal;
    const char *root;        /* base of relative paths in list files */
    const char *landmarks;   /* 5-point CSV to align faces; NULL: images at the input size */
    const char *split_by;    /* "label" (whole identities) or "sample"; NULL: label if
                              * sources are folders/lists, sample for idx digits */
    double members;          /* fraction of identities (or images) that are members */
    int min_images;          /* label split: identities with fewer images are external */
    int max_classes;         /* label split: at most this many member identities (0 = all) */
    double mint_share;       /* fraction of members and external for MINT training */
    const char *split_dir;   /* NULL: <out without .mint>-split */
    /* network */
    int depth;               /* 18, 34, 50, 100 */
    int widths[4];           /* 0: 64,128,256,512 */
    int emb;                 /* 0: 512 */
    /* optimisation */
    const char *loss;        /* "softmax", "cosface" or "arcface" */
    const char *optimizer;   /* "sgd" or "adam" */
    double lr, momentum, weight_decay;
    const char *schedule;    /* "cosine", "step" or "const" */
    int epochs, batch;
    uint64_t seed;
    int flip;                /* -1: on for faces (3 channels), off for grey digits */
    float dropout;
    const char *out;         /* the network (.mint) */
    int resume;              /* continue from <out>.partial */
    int stop_after;          /* > 0: stop after this epoch, leaving <out>.partial as a killed
                              * run would (time-boxed jobs; r->stopped says so) */
    /* Active MINT */
    int amint;
    const char *amint_taps;  /* comma list, default "layer1" */
    const char *amint_kind;  /* "cnn" or "vanilla" */
    int amint_min_hidden;    /* cnn head: Dense max(C, this) units (default 64) */
    double amint_lr;         /* the head's Adam learning rate (default 1e-4) */
    const char *amint_out;   /* NULL: <out without .mint>-amint.mint */
    /* signed training log */
    const char *log_key;     /* Ed25519 secret key (mint keygen); NULL: no log */
    const char *log_path;    /* NULL: <out>.log */
    int log_every;           /* steps between records (default 50) */
    /* callbacks */
    void (*message)(void *ctx, mint_msg_kind kind, const char *text);
    void (*progress)(void *ctx, const mint_tmodel_progress *p);
    void *ctx;
} mint_tmodel_opts;

void mint_tmodel_defaults(mint_tmodel_opts *o);

typedef struct {
    int64_t n_members, n_external, n_mint_members, n_mint_external, n_eval_members,
        n_eval_external;
    int classes;
    double train_accuracy;   /* last epoch */
    double test_accuracy;    /* on eval-external images of member classes (-1: none) */
    double seconds;
    int stopped;             /* stop_after ended the run early: no network written yet */
    char network_sha256[65];
    char split_dir[1024];
    char amint_out[1024];
} mint_tmodel_result;

mint_status mint_tmodel_run(const mint_tmodel_opts *o, mint_tmodel_result *r);

#endif
