/* train_graph.h - a trainable view of a net_graph (issue 10): forward in
 * training mode, backward, parameters and their gradients, so that
 * `mint train-model` trains the same graph the inference executor runs
 * (net/exec.c) and saves it with net_graph_save.
 *
 * Activations are NHWC float32, batch first, as in the executor; weights
 * keep the graph's canonical layouts (conv OIHW, FC [out][in]) and are the
 * graph's own data: the view makes every weight writable (borrowed/mmapped
 * ones are copied at create) and the optimiser updates them in place, BN
 * running statistics are written into the graph's mean/var weights.
 *
 * Semantics are PyTorch's (the golden reference, tools/gen_train_graph_golden.py):
 * BatchNorm2d/1d in training mode normalise with the batch mean and biased
 * variance and update running_mean/var with momentum 0.1 and the unbiased
 * batch variance; PReLU per channel (or shared); inverted dropout on the
 * input of every FC node (arcface_torch's dropout before fc); FLATTEN keeps
 * the NCHW order of ONNX Flatten. AFFINE weights (input normalisation
 * constants) and CLIP bounds are constants, not parameters.
 *
 * Gradients: parameter gradients ACCUMULATE into net_tparam.g (zero them
 * with net_tgraph_zero_grad); tap gradients are zeroed by forward and the
 * caller adds into them. Every reduction runs in a fixed order over blocks
 * that do not depend on the thread count: a fixed thread count (and ISA)
 * gives bit-identical results. */
#ifndef MINT_NET_TRAIN_GRAPH_H
#define MINT_NET_TRAIN_GRAPH_H

#include <stddef.h>
#include <stdint.h>
#include "mint.h"
#include "net/graph.h"

typedef struct net_tgraph net_tgraph;

typedef struct {
    const char *const *taps; int ntaps; /* tap names (net_graph_find_tap) whose activations the
                                           caller reads and adds gradients to (Active MINT) */
    float dropout;                      /* p of dropout on the FC input in training, 0 = none */
    uint64_t seed;                      /* dropout masks */
} net_tgraph_opts;

typedef struct {
    const char *name;   /* graph weight name */
    float *w;           /* the graph's own weight data, updated in place by the optimiser */
    float *g;           /* gradient, same size, ACCUMULATED by backward */
    size_t n;
    int frozen;         /* excluded from updates (e.g. arcface_torch's features.weight) */
    int decay;          /* 1: weight decay applies (default 1 for every parameter) */
} net_tparam;

/* The graph (sorted, shaped: net_iresnet_build or net_graph_load output)
 * must outlive the view; o may be NULL (no taps, no dropout). Parameters:
 * conv weight/bias, BN scale/bias, PReLU slope, FC weight/bias, in node
 * order. MINT_E_UNSUPPORTED names a node whose op cannot be trained,
 * MINT_E_NOTFOUND a tap the graph does not have. */
mint_status net_tgraph_create(net_tgraph **out, net_graph *g, int batch_max,
                              const net_tgraph_opts *o);
void net_tgraph_destroy(net_tgraph *t);
int net_tgraph_nparams(const net_tgraph *t);
net_tparam *net_tgraph_param(net_tgraph *t, int i); /* NULL if i is out of range */
/* Mark a parameter frozen (MINT_E_NOTFOUND if no parameter has that name). */
mint_status net_tgraph_freeze(net_tgraph *t, const char *weight_name);
/* in: NHWC [n][H][W][C] normalised input, 1 <= n <= batch_max (n >= 2 in
 * training when a BN would see one value per channel). training=1: BN batch
 * statistics + running-stat updates (written into the graph's mean/var
 * weights), dropout (a fresh mask per call, from seed and a call counter);
 * training=0: running stats, no dropout. Conv weights are repacked from the
 * graph at every call, so updates made between calls are used. */
mint_status net_tgraph_forward(net_tgraph *t, const float *in, int n, int training);
/* [n][D] graph output (NHWC [n][h][w][c] if the output has rank 3). */
const float *net_tgraph_output(const net_tgraph *t);
/* act NHWC [n][h][w][c] (rank 3) or [n][D] (rank 1), grad same shape:
 * zeroed by forward, the caller adds dL/dtap before backward. Only taps
 * named in the options at create are available (MINT_E_NOTFOUND else). */
mint_status net_tgraph_tap(net_tgraph *t, const char *tap, const float **act, float **grad,
                           int *rank, int dims[3]);
/* Zero every parameter gradient. */
void net_tgraph_zero_grad(net_tgraph *t);
/* dL/doutput [n][D] (NULL: zero, only the tap gradients) for the n of the
 * last forward; accumulates parameter gradients. In the mode of the last
 * forward (eval-mode backward treats BN statistics as constants). */
mint_status net_tgraph_backward(net_tgraph *t, const float *dout);
/* Bytes held for activations, saved tensors and gradients (for reports). */
size_t net_tgraph_bytes(const net_tgraph *t);

#endif
