/* exec.h - static execution plan for a net_graph: ops fused where exact
 * (conv/FC + residual add + activation), one arena whose buffers are reused
 * once a tensor is dead, NHWC activations, taps copied out in NCHW. */
#ifndef MINT_NET_EXEC_H
#define MINT_NET_EXEC_H

#include "kernels.h"
#include "net/graph.h"

typedef struct net_exec net_exec;

/* Pack the graph's weights for isa. The graph must be sorted, shaped and
 * outlive the executor. max_batch bounds the arena (runs split larger n). */
mint_status net_exec_create(net_exec **out, const net_graph *g, const kern_isa *isa,
                            int max_batch);
void net_exec_free(net_exec *e);
const kern_isa *net_exec_isa(const net_exec *e);

/* Run n images. in: NCHW float32 [n][C][H][W]. For each i < ntaps,
 * tap_out[i] receives tensor tap_tensor[i] as [n][...] in NCHW order.
 * Tensors fused away by the current plan are kept by re-planning. */
mint_status net_exec_run(net_exec *e, const float *in, int n, int ntaps,
                         const int *tap_tensor, float *const *tap_out);

/* Elements per image of tensor t. */
int64_t net_tensor_numel(const net_tensor *t);
/* Bytes of the arena of the current plan (for reports). */
size_t net_exec_arena_bytes(const net_exec *e);

#endif
