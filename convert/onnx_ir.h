/* onnx_ir.h - inside convert/: the ONNX importer's decoded form, shared by
 * the protobuf decoding (onnx_decode.c: ModelProto, GraphProto, NodeProto,
 * AttributeProto, TensorProto, ValueInfoProto into the structs below) and
 * the op lowering (onnx.c: decoded nodes and constants onto net ops). Not a
 * public interface. */
#ifndef MINT_CONVERT_ONNX_IR_H
#define MINT_CONVERT_ONNX_IR_H

#include <stddef.h>
#include <stdint.h>
#include "mint.h"
#include "base/nameidx.h"
#include "net/graph.h"
#include "convert/pb.h"

#define OX_MAX_NODES 20000   /* IResNet-200 has ~1300; bounds O(n^2) name lookups */
#define OX_MAX_INITS 40000
#define OX_MAX_IO 100000     /* inputs/outputs of a node or graph */
#define OX_MAX_NAME 4096
#define OX_MAX_RANK 8
#define OX_MAX_LIST 16       /* values kept of an ints/floats attribute */
#define OX_MAX_NUMEL ((int64_t)1 << 32)
#define OX_MAX_DIM 65536     /* conv geometry, input H/W/C */
#define OX_OPSET_MIN 7
#define OX_OPSET_MAX 21

/* TensorProto.DataType */
enum { DT_FLOAT = 1, DT_INT32 = 6, DT_INT64 = 7, DT_BOOL = 9, DT_FLOAT16 = 10 };
/* AttributeProto.AttributeType */
enum { AT_UNDEFINED = 0, AT_FLOAT = 1, AT_INT = 2, AT_STRING = 3, AT_TENSOR = 4,
       AT_FLOATS = 6, AT_INTS = 7 };

/* ------------------------------------------------------------------ */
/* small arena for names and per-node arrays (freed all at once)       */

typedef struct ablock {
    struct ablock *next;
    size_t used, cap;
} ablock;
#define AHDR ((sizeof(ablock) + 15) & ~(size_t)15)

/* ------------------------------------------------------------------ */
/* importer state                                                      */

typedef struct {
    const uint8_t *p;
    size_t n;
} span;

typedef struct {
    const char *name;
    int type;
    int has_f, has_i, has_s, has_t;
    float f;
    int64_t i;
    span s, t;
    int nints, nfloats; /* number of values seen (only OX_MAX_LIST kept) */
    int64_t ints[OX_MAX_LIST];
    float floats[OX_MAX_LIST];
} oattr;

typedef struct {
    const char *name, *op, *domain;
    const char **in, **out;
    int nin, nout;
    oattr *attrs;
    int nattrs;
    int index; /* position in the ONNX file */
    int kind;  /* K_* below */
    int skip;  /* folded into another node */
} onode;

enum { K_COMPUTE = 0, K_CONST, K_ALIAS };

/* A constant: initializer or Constant node output. Float data (FLOAT,
 * FLOAT16) is kept as fp32 in f, integer data (INT64, INT32, BOOL) in i. */
typedef struct {
    const char *name;
    int dtype, rank;
    int64_t dims[OX_MAX_RANK];
    int64_t numel;
    float *f;
    int64_t *i;
    int handed;        /* f now owned by the graph as weight wid */
    int wid, wrank;
    int64_t wdims[4];
} oconst;

typedef struct {
    int count, consumer, is_output;
} ouse;

/* A check that needs shapes: run after net_graph_infer_shapes. */
typedef struct {
    int tensor;        /* activation tensor checked */
    int need_rank;     /* 1 or 3 (0: none; -1: BN spatial=0 needs rank 1) */
    int64_t flat;      /* Reshape [N, K]: K (0: none) */
    const char *node, *op, *cname;
} ocheck;

typedef struct {
    net_graph *g;
    ablock *arena;
    int opset;
    onode *nodes;
    int nnodes;
    oconst *consts;
    int nconsts, capconsts;
    base_nameidx cmap;         /* constant name -> consts index */
    base_nameidx amap;         /* alias name -> index into alias_to */
    const char **alias_to;
    int naliases, capaliases;
    base_nameidx umap;         /* resolved activation name -> uses index */
    ouse *uses;
    int nuses, capuses;
    base_nameidx nmap;         /* node names in use */
    ocheck *checks;
    int nchecks, capchecks;
    const char *input_name;
} ictx;


typedef struct {
    const char *name;
    int elem, rank, has_shape;
    int64_t dims[4]; /* -1: symbolic or unknown */
} ovinfo;
typedef struct {
    span *nodes, *inits, *inputs, *outputs;
    size_t nnodes, ninits, ninputs, noutputs;
} ograph;

/* ---- decoding (onnx_decode.c) ----
 * Errors are MINT_E_FORMAT / MINT_E_UNSUPPORTED naming the message and the
 * field; convert_onnx_import_mem prefixes the file name. */
const char *ox_dtype_name(int t);
void *ox_alloc(ictx *x, size_t n);
mint_status ox_nomem(void);
int ox_span_eq(span s, const char *lit);
void ox_dims_str(char *buf, size_t cap, int rank, const int64_t *dims);
mint_status ox_parse_tensor(ictx *x, span sp, oconst *c, const char *what, const char *name);
void ox_const_free(oconst *c);
mint_status ox_parse_node(ictx *x, span sp, onode *n, int index);
mint_status ox_parse_vinfo(ictx *x, span sp, ovinfo *v);
mint_status ox_collect_graph(ictx *x, span sp, ograph *gr);
mint_status ox_read_model(span sp, span *graph, int *opset);

#endif
