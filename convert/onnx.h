/* onnx.h - import an ONNX model (ModelProto) into a net_graph.
 *
 * Reads the protobuf with convert/pb.c (no protobuf library), maps the
 * InsightFace recognition op set onto net/graph.h ops, converts every
 * initializer to fp32 once, then sorts and shape-checks the graph and names
 * its taps (BatchNorm is folded later, by the executor, so every tensor
 * stays tappable). Anything outside the op set is refused with a message
 * naming the node/op or initializer; hostile files are refused, never
 * crash. Supported ops: see CONVERT_ONNX_SUPPORTED_OPS. */
#ifndef MINT_CONVERT_ONNX_H
#define MINT_CONVERT_ONNX_H

#include <stddef.h>
#include "mint.h"
#include "net/graph.h"

#define CONVERT_ONNX_SUPPORTED_OPS                                                            \
    "Conv, BatchNormalization, PRelu, Relu, Clip, Add, Sub, Mul, Div, Flatten, Reshape, " \
    "Gemm, MatMul, Constant, Identity, Dropout, Cast, Unsqueeze (of constants)"

/* Import the .onnx file at path (read by mmap). On success *out is a new
 * graph (free with net_graph_free) with meta.arch "onnx", the input shape
 * from the model, InsightFace normalisation defaults (mean = std = 0.5,
 * RGB), meta.source_name = basename(path) and meta.source_sha256 of the
 * file's bytes. On failure *out is NULL and mint_last_error() says why. */
mint_status convert_onnx_import(net_graph **out, const char *path);

/* The same from bytes in memory; name becomes meta.source_name. */
mint_status convert_onnx_import_mem(net_graph **out, const void *buf, size_t n, const char *name);

#endif
