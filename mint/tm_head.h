/* tm_head.h - the Active MINT head of `mint train-model`: a MINT model
 * (mint/model.h, kind vanilla or cnn) fed from taps of the network being
 * trained, with the gradient of its loss sent back into those taps.
 *
 * Features are exactly what `mint extract`/`mint audit` compute from the
 * same taps (mint/features.c): vanilla, the per-channel maximum of every tap
 * over H x W, taps concatenated in the order given (a rank-1 tap as it is);
 * cnn, the one tap in NCHW order. */
#ifndef MINT_MINT_TM_HEAD_H
#define MINT_MINT_TM_HEAD_H

#include <stdint.h>
#include "mint/model.h"
#include "net/train_graph.h"

#define TM_HEAD_MAX_TAPS 8

typedef struct {
    mint_tm *tm;
    mint_tm_acts *acts;
    int cnn;
    int ntaps;
    char tapnames[TM_HEAD_MAX_TAPS][64];
    int rank[TM_HEAD_MAX_TAPS], dims[TM_HEAD_MAX_TAPS][3];
    int in_size;        /* features per sample */
    int bmax;
    double lr;          /* the head's Adam learning rate (tm_head_create: 1e-3) */
    int32_t *arg;       /* vanilla: [bmax][in_size] spatial index of each maximum */
    int32_t *rows;      /* network batch row of each head row */
} tm_head;

/* Shape the head from the taps of t (created with those taps); a cnn head
 * gets a Dense layer of max(C, min_hidden) units (mint train --min-hidden). */
mint_status tm_head_create(tm_head *h, net_tgraph *t, const char *taps, const char *kind,
                           int min_hidden, int bmax, uint64_t seed);
void tm_head_free(tm_head *h);
/* Gather features of network rows rows[0..n) into x ([n][in_size]); arg
 * (may be NULL) records the maxima for tm_head_scatter. */
mint_status tm_head_features(tm_head *h, net_tgraph *t, const int32_t *rows, int n, float *x,
                             int32_t *arg);
/* Add dL/dfeatures dx [n][in_size] of rows[0..n) into the taps' gradients. */
mint_status tm_head_scatter(tm_head *h, net_tgraph *t, const int32_t *rows, int n,
                            const float *dx);
/* Training forward of the head on the gathered batch h->acts->x / y (n
 * rows, dropout masks from seed and the step count): mean BCE (+ L1) and
 * how many rows it gets right. */
void tm_head_forward(tm_head *h, int n, uint64_t seed, double *loss, int *correct);
/* Backward of that loss times gscale (the features' gradient into
 * h->acts->dx) and the head's Adam step (lr h->lr; betas and eps as
 * `mint train`). */
void tm_head_update(tm_head *h, int n, float gscale);

#endif
