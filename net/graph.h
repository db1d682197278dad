/* graph.h - the op graph mint runs: a flat list of nodes over named
 * activation tensors and named weight tensors.
 *
 * The ONNX importer (convert/onnx.c) and the IResNet builder (net/iresnet.c)
 * both produce this graph; net/graph_io.c stores it in the container and
 * loads it back; net/exec.c plans and runs it.
 *
 * Shapes are logical ONNX shapes (NCHW for rank 4, batch dimension left out
 * of `shape`, i.e. a tensor is [batch] + shape). At run time rank-4
 * activations are stored NHWC. Weights keep the canonical ONNX layout
 * (conv OIHW, Gemm [out][in]). */
#ifndef MINT_NET_GRAPH_H
#define MINT_NET_GRAPH_H

#include <stddef.h>
#include <stdint.h>
#include "mint.h"
#include "base/nameidx.h"

typedef enum {
    NET_OP_CONV = 0,  /* in[0] -> out; w[0] weight OIHW, w[1] bias or -1 */
    NET_OP_BN,        /* in[0] -> out; w = scale, bias, mean, var; eps (channels = dim 1) */
    NET_OP_PRELU,     /* in[0] -> out; w[0] slope [C] (or [1]) */
    NET_OP_RELU,      /* in[0] -> out */
    NET_OP_CLIP,      /* in[0] -> out; lo, hi */
    NET_OP_ADD,       /* in[0] + in[1] -> out (same shapes, both activations) */
    NET_OP_AFFINE,    /* in[0]*w[0] + w[1] -> out; w scalar [1] or per channel [C];
                         from Sub/Mul/Div/Add by constants; w[0] or w[1] may be -1 */
    NET_OP_FLATTEN,   /* in[0] -> out [N, prod(rest)] in NCHW order */
    NET_OP_FC,        /* in[0] [N,K] -> out [N,M]; w[0] [M][K], w[1] bias [M] or -1 */
    NET_OP_COUNT
} net_op;

const char *net_op_name(net_op op);

typedef struct {
    char *name;
    int rank;          /* without batch: 1 ([C]) or 3 ([C,H,W]); 0 = unknown yet,
                          or never computed (no node produces it) */
    int64_t shape[3];
} net_tensor;

typedef struct {
    char *name;
    int rank;
    int64_t dims[4];
    float *data;       /* fp32, canonical layout */
    int owned;         /* data allocated by the graph (else borrowed: mmap) */
} net_weight;

typedef struct {
    int kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, groups;
} net_conv_attr;

typedef struct {
    net_op op;
    char *name;
    int in[2];         /* activation tensor ids, -1 if unused */
    int out;           /* activation tensor id */
    int w[4];          /* weight ids, -1 if unused */
    net_conv_attr conv;
    float eps;         /* BN */
    float lo, hi;      /* CLIP (RELU is not stored as clip) */
} net_node;

/* What a user of a model needs to feed it and to read it. */
typedef struct {
    char arch[64];          /* "iresnet100", "onnx", ... */
    int in_c, in_h, in_w;   /* input shape without batch */
    float mean[3], std[3];  /* pixel normalisation: (x/255 - mean)/std per channel */
    char channel_order[8];  /* "RGB" or "BGR" */
    char source_name[256];  /* file the model came from ("" if built) */
    char source_sha256[65];
} net_meta;

/* Named tap: user-facing name (layer1..layer4, embedding) -> tensor id. */
typedef struct { char *name; int tensor; } net_tap;


typedef struct {
    net_tensor *tensors; int ntensors, cap_tensors;
    base_nameidx tindex, windex; /* name -> id (private to graph.c) */
    net_weight *weights; int nweights, cap_weights;
    net_node *nodes;     int nnodes, cap_nodes;
    net_tap *taps;       int ntaps, cap_taps;
    int input;           /* tensor id of the graph input */
    int output;          /* tensor id of the graph output (embedding) */
    net_meta meta;
} net_graph;

/* Grow a malloc'd array of n used elements (capacity *cap) to hold one
 * more: 0, or -1 when out of memory (the array is kept). */
int net_grow(void **arr, int *cap, int n, size_t elem);

net_graph *net_graph_new(void);
void net_graph_free(net_graph *g);

/* Find or create an activation tensor by name; -1 on allocation failure. */
int net_graph_tensor(net_graph *g, const char *name);
int net_graph_find_tensor(const net_graph *g, const char *name); /* -1 if absent */
/* Add a weight (fp32). If owned, data must come from malloc and is freed with
 * the graph (also on failure: then the caller still owns it). Returns id, or
 * -1 on a duplicate name or allocation failure. */
int net_graph_add_weight(net_graph *g, const char *name, int rank, const int64_t *dims,
                         float *data, int owned);
int net_graph_find_weight(const net_graph *g, const char *name);
int64_t net_weight_numel(const net_weight *w);
/* Append a node; returns its index or -1. in/w arrays are copied; unused = -1. */
int net_graph_add_node(net_graph *g, net_op op, const char *name, int in0, int in1,
                       int out, const int w[4]);
mint_status net_graph_add_tap(net_graph *g, const char *name, int tensor);
int net_graph_find_tap(const net_graph *g, const char *name); /* tensor id or -1 */

/* Sort nodes topologically (inputs before users); refuses cycles and
 * tensors with no producer other than the input. */
mint_status net_graph_toposort(net_graph *g);
/* Infer every tensor's shape from meta.in_c/in_h/in_w; checks weight shapes. */
mint_status net_graph_infer_shapes(net_graph *g);
/* For IResNet-shaped graphs: name layer1..layer4 (output of the last
 * residual Add at each of the four resolutions) and embedding (output).
 * Graphs without four residual stages get only "embedding". */
mint_status net_graph_name_taps(net_graph *g);
/* Stage tensors of any network (toposorted, shapes inferred): for each
 * spatial resolution H x W below the input's and above 1 x 1, in order of
 * appearance, the last tensor at it that everything computed later depends
 * on (no tensor before it is read after it: a cut of the graph), or the
 * output of the last such residual Add when there is one (the IResNet rule
 * of net_graph_name_taps). Up to max tensor ids into ids (the shallowest
 * first); returns how many resolutions there are (may exceed max). */
int net_graph_stage_tensors(const net_graph *g, int *ids, int max);
/* Name four tensors (by graph name) layer1..layer4, replacing those taps:
 * MINT_E_NOTFOUND for a name no node computes, MINT_E_ARG for a name given
 * twice. */
mint_status net_graph_set_stage_taps(net_graph *g, const char *const names[4]);
/* The input normalisation a graph does itself, as InsightFace's
 * MXNet-converted models do (`_minusscalar0` x - 127.5, `_mulscalar0`
 * x * 0.0078125): 1 when the graph input's only reader starts a chain of
 * AFFINE nodes (each the only reader of the one before; at most 4) whose
 * composite x*a + b maps pixel values 0..255 of every channel onto a range
 * 0.5..8 wide within [-8, 8] (input already in [0,1] or [-1,1] would not
 * be), else 0. desc gets the node names and the composite ("" if 0). */
int net_graph_normalises_pixels(const net_graph *g, char *desc, size_t n);
/* Index of the first of x[0..n) that is not finite (or negative, when
 * nonneg), -1 if none: the check of net_graph_check_values, shared with the
 * MINT model and checkpoint loaders. */
int64_t net_first_bad_value(const float *x, size_t n, int nonneg);
/* Every weight a node uses holds finite values, and BatchNorm variances are
 * not negative: a damaged or broken model is refused (MINT_E_FORMAT, naming
 * the weight and element) instead of giving NaN embeddings. */
mint_status net_graph_check_values(const net_graph *g);
/* SHA-256 of every weight in graph order (g->weights[0..nweights)): for
 * each, its name's bytes and a 0 byte, rank (u32 LE), dims (i64 LE each),
 * data (fp32 LE) - docs/format.md 2.5. The same for a graph trained in
 * memory (train-model hashes its parameters, updated in place, into the
 * signed training log) and for the network file it saves, loaded with
 * net_graph_load (weights keep their order): mint verify-log compares them. */
void net_graph_param_sha256(const net_graph *g, uint8_t out[32]);
/* Remove weights no node uses (e.g. Reshape shapes, Clip bounds). */
void net_graph_prune_weights(net_graph *g);

#endif
