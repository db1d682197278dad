/* tm_core.h - one training step of `mint train-model` (mint/train_model.h)
 * on a batch the caller has put in place: the network (net/train_graph.h)
 * in training mode, the task head (net/loss.h: softmax, CosFace, ArcFace)
 * on the member rows, the Active MINT head (mint/tm_head.h) on its rows,
 * and the optimiser (net/optim.h) over the network and the task head. With
 * Active MINT the loss is L_task/L_task0 + L_mint/L_mint0, the first batch's
 * values (kept in l0_task, l0_mint). Tests drive it directly against
 * PyTorch (tests/test_train_model.c). */
#ifndef MINT_MINT_TM_CORE_H
#define MINT_MINT_TM_CORE_H

#include <stdint.h>
#include "mint/tm_head.h"
#include "net/graph.h"
#include "net/loss.h"
#include "net/optim.h"
#include "net/train_graph.h"

typedef struct {
    int B;              /* member rows (task loss) */
    int Be;             /* external rows after them (Active MINT; 0 without) */
    int classes, emb;
    net_margin mg;      /* s = 0: plain linear classifier */
    net_optim_cfg oc;
    net_lr_sched lr;
    int64_t total;      /* optimiser steps of the run (the schedule's length) */
    float dropout;      /* before the FC */
    uint64_t seed;
    int amint;
    const char *amint_taps, *amint_kind;
    int amint_min_hidden;   /* cnn head: Dense max(C, this) units */
    double amint_lr;        /* the head's Adam learning rate (0: 1e-3) */
} tm_core_cfg;

typedef struct {
    tm_core_cfg cfg;
    net_tgraph *t;
    int np;             /* network parameters; the task head is optimiser tensor np */
    float *Wh, *dWh;    /* task head [classes][emb], N(0, 0.01) from the seed */
    net_optim *opt;
    float *in;          /* [B + Be] NHWC input: the caller fills it */
    int *labels;        /* [B] task classes: the caller fills them */
    int8_t *head_y;     /* [B + Be] Active MINT rows: 1 member, 0 external, -1 not in the
                         * head's batch: the caller fills them */
    float *dout, *scratch;
    tm_head head;
    double l0_task, l0_mint;
} tm_core;

typedef struct {
    double task_loss, mint_loss;
    int task_correct, mint_correct, mint_n;
} tm_step_stats;

/* The graph's weights are the parameters (updated in place). */
mint_status tm_core_create(tm_core *c, net_graph *g, const tm_core_cfg *cfg);
void tm_core_free(tm_core *c);
/* Step gstep (0-based, for the learning-rate schedule) on c->in, c->labels
 * and c->head_y. */
mint_status tm_core_step(tm_core *c, int64_t gstep, tm_step_stats *s);

#endif
