/* test_onnx.c - the protobuf reader (convert/pb.c) and the ONNX importer
 * (convert/onnx.c).
 *
 * Fixture models (tests/fixtures/<model>.onnx, made by tools/make_fixtures.py) are
 * imported and checked for node counts, ops, shapes, taps and weights
 * (bytes of fp32 initializers found verbatim in the file; fp16 weights equal
 * the fp32 weights rounded to half). Small models built here with a tiny
 * protobuf writer cover each op mapping and each refusal. Malformed
 * fixtures must be refused with a message naming what is wrong, and
 * truncated / byte-flipped models must never crash. */
#include "testutil.h"

#include <math.h>
#include <time.h>

#include "io/align.h"
#include "io/npy.h"
#include "kernels.h"
#include "net/exec.h"
#include "net/graph.h"
#include "net/model.h"
#include "weights/container.h"
#include "convert/onnx.h"
#include "convert/pb.h"

#define FIX TEST_FIXTURES "/"

/* Every fixture named here is committed: a missing one fails the test
 * (a broken checkout must not pass by skipping). */
static void need_fixture(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, FIX "%s", name);
    if (access(path, R_OK) != 0)
        fail_msg("committed fixture %s missing (git checkout it, or regenerate with "
                 "tools/make_fixtures.py)", path);
}

static net_graph *import_fixture(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, FIX "%s", name);
    net_graph *g = NULL;
    mint_status st = convert_onnx_import(&g, path);
    if (st)
        print_message("import %s: %s: %s\n", name, mint_strerror(st), mint_last_error());
    assert_int_equal(st, MINT_OK);
    assert_non_null(g);
    return g;
}

static int count_op(const net_graph *g, net_op op)
{
    int c = 0;
    for (int i = 0; i < g->nnodes; i++)
        c += g->nodes[i].op == op;
    return c;
}

static const net_node *find_node(const net_graph *g, const char *name)
{
    for (int i = 0; i < g->nnodes; i++)
        if (strcmp(g->nodes[i].name, name) == 0)
            return &g->nodes[i];
    return NULL;
}

static const net_weight *weight(const net_graph *g, const char *name)
{
    int w = net_graph_find_weight(g, name);
    if (w < 0)
        print_message("weight '%s' not found\n", name);
    assert_true(w >= 0);
    return &g->weights[w];
}

static void check_tap(const net_graph *g, const char *tap, int rank, int64_t c, int64_t h,
                      int64_t w)
{
    int t = net_graph_find_tap(g, tap);
    if (t < 0)
        print_message("tap '%s' missing\n", tap);
    assert_true(t >= 0);
    assert_int_equal(g->tensors[t].rank, rank);
    assert_int_equal(g->tensors[t].shape[0], c);
    if (rank == 3) {
        assert_int_equal(g->tensors[t].shape[1], h);
        assert_int_equal(g->tensors[t].shape[2], w);
    }
}

/* First string value after "key": in a JSON text (enough for sidecars). */
static int json_str(const char *json, const char *key, char *out, size_t cap)
{
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\": \"", key);
    const char *p = strstr(json, pat);
    if (!p)
        return 0;
    p += strlen(pat);
    const char *e = strchr(p, '"');
    if (!e || (size_t)(e - p) >= cap)
        return 0;
    memcpy(out, p, (size_t)(e - p));
    out[e - p] = 0;
    return 1;
}

static void sha_hex(const void *buf, size_t n, char hex[65])
{
    base_sha256 s;
    uint8_t d[32];
    base_sha256_init(&s);
    base_sha256_update(&s, buf, n);
    base_sha256_final(&s, d);
    base_sha256_hex(d, hex);
}

/* ------------------------------------------------------------------ */
/* protobuf reader                                                     */

static void test_pb_varint(void **state)
{
    (void)state;
    uint64_t v;
    const uint8_t *p;
    const uint8_t one[] = { 0x01 }, big[] = { 0xAC, 0x02 };
    p = one;
    assert_int_equal(pb_varint(&p, one + 1, &v), PB_OK);
    assert_int_equal(v, 1);
    p = big;
    assert_int_equal(pb_varint(&p, big + 2, &v), PB_OK);
    assert_int_equal(v, 300);
    assert_ptr_equal(p, big + 2);
    /* UINT64_MAX: 9 x 0xFF then 0x01 */
    uint8_t max[10];
    memset(max, 0xFF, 9);
    max[9] = 0x01;
    p = max;
    assert_int_equal(pb_varint(&p, max + 10, &v), PB_OK);
    assert_true(v == UINT64_MAX);
    /* 10th byte carrying more than bit 63: overflow */
    max[9] = 0x02;
    p = max;
    assert_int_equal(pb_varint(&p, max + 10, &v), PB_ERR);
    /* 11 bytes */
    uint8_t longv[11];
    memset(longv, 0x80, 10);
    longv[10] = 0;
    p = longv;
    assert_int_equal(pb_varint(&p, longv + 11, &v), PB_ERR);
    /* truncated */
    p = big;
    assert_int_equal(pb_varint(&p, big + 1, &v), PB_ERR);
    p = big;
    assert_int_equal(pb_varint(&p, big, &v), PB_ERR);
}

static void test_pb_fields(void **state)
{
    (void)state;
    /* field 1 varint 150; field 2 "hi"; field 3 fixed32; field 4 fixed64;
     * field 5 packed varints {1, 300}; field 6 group start (refused) */
    const uint8_t msg[] = { 0x08, 0x96, 0x01, 0x12, 0x02, 'h', 'i', 0x1D, 0x00, 0x00, 0x80, 0x3F,
                            0x21, 1, 2, 3, 4, 5, 6, 7, 8, 0x2A, 0x03, 0x01, 0xAC, 0x02, 0x33 };
    pb_buf b;
    pb_field f;
    const char *why = NULL;
    pb_init(&b, msg, sizeof msg);
    assert_int_equal(pb_next(&b, &f, &why), PB_OK);
    assert_int_equal(f.num, 1);
    assert_int_equal(f.wire, PB_VARINT);
    assert_int_equal(f.u, 150);
    assert_int_equal(pb_next(&b, &f, &why), PB_OK);
    assert_int_equal(f.num, 2);
    assert_int_equal(f.len, 2);
    assert_memory_equal(f.data, "hi", 2);
    assert_int_equal(pb_next(&b, &f, &why), PB_OK);
    assert_int_equal(f.wire, PB_I32);
    assert_true(pb_as_float(f.u) == 1.0f);
    assert_int_equal(pb_next(&b, &f, &why), PB_OK);
    assert_int_equal(f.wire, PB_I64);
    assert_true(f.u == 0x0807060504030201ull);
    assert_int_equal(pb_next(&b, &f, &why), PB_OK);
    size_t n = 0;
    assert_int_equal(pb_count(&f, PB_VARINT, &n), PB_OK);
    assert_int_equal(n, 2);
    pb_iter it;
    uint64_t v;
    assert_int_equal(pb_iter_init(&it, &f, PB_VARINT), PB_OK);
    assert_int_equal(pb_iter_next(&it, &v), PB_OK);
    assert_int_equal(v, 1);
    assert_int_equal(pb_iter_next(&it, &v), PB_OK);
    assert_int_equal(v, 300);
    assert_int_equal(pb_iter_next(&it, &v), PB_END);
    assert_int_equal(pb_next(&b, &f, &why), PB_ERR); /* group */
    assert_non_null(strstr(why, "group"));

    /* unpacked value counts as one; fixed32 packed with a partial value */
    pb_field one = { .num = 4, .wire = PB_VARINT, .u = 7 };
    assert_int_equal(pb_count(&one, PB_VARINT, &n), PB_OK);
    assert_int_equal(n, 1);
    assert_int_equal(pb_count(&one, PB_I32, &n), PB_ERR);
    const uint8_t part[] = { 1, 2, 3, 4, 5 };
    pb_field pk = { .num = 4, .wire = PB_LEN, .data = part, .len = 5 };
    assert_int_equal(pb_count(&pk, PB_I32, &n), PB_ERR);
    const uint8_t badv[] = { 0x01, 0x80 }; /* packed varints ending mid-value */
    pk.data = badv;
    pk.len = 2;
    assert_int_equal(pb_count(&pk, PB_VARINT, &n), PB_ERR);

    /* length past the end, wire types 6/7, field number 0, truncated fixed */
    const uint8_t past[] = { 0x12, 0x05, 'a' };
    pb_init(&b, past, sizeof past);
    assert_int_equal(pb_next(&b, &f, &why), PB_ERR);
    const uint8_t huge[] = { 0x12, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 };
    pb_init(&b, huge, sizeof huge);
    assert_int_equal(pb_next(&b, &f, &why), PB_ERR);
    const uint8_t w6[] = { 0x0E }, w7[] = { 0x0F }, f0[] = { 0x00, 0x00 }, t32[] = { 0x0D, 1, 2 };
    pb_init(&b, w6, 1);
    assert_int_equal(pb_next(&b, &f, &why), PB_ERR);
    pb_init(&b, w7, 1);
    assert_int_equal(pb_next(&b, &f, &why), PB_ERR);
    pb_init(&b, f0, 2);
    assert_int_equal(pb_next(&b, &f, &why), PB_ERR);
    pb_init(&b, t32, 3);
    assert_int_equal(pb_next(&b, &f, &why), PB_ERR);
    pb_init(&b, NULL, 0);
    assert_int_equal(pb_next(&b, &f, &why), PB_END);
}

/* ------------------------------------------------------------------ */
/* a tiny protobuf writer to build ONNX models in memory               */

typedef struct {
    uint8_t *p;
    size_t n, cap;
} wb;

static void wb_bytes(wb *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    if (n)
        memcpy(b->p + b->n, d, n);
    b->n += n;
}
static void wb_varint(wb *b, uint64_t v)
{
    uint8_t t[10];
    int n = 0;
    do {
        t[n] = (uint8_t)(v & 0x7F);
        v >>= 7;
        if (v)
            t[n] |= 0x80;
        n++;
    } while (v);
    wb_bytes(b, t, (size_t)n);
}
static void wb_key(wb *b, int num, int wire) { wb_varint(b, (uint64_t)num << 3 | (uint64_t)wire); }
static void wb_int(wb *b, int num, int64_t v)
{
    wb_key(b, num, 0);
    wb_varint(b, (uint64_t)v);
}
static void wb_len(wb *b, int num, const void *d, size_t n)
{
    wb_key(b, num, 2);
    wb_varint(b, n);
    wb_bytes(b, d, n);
}
static void wb_str(wb *b, int num, const char *s) { wb_len(b, num, s, strlen(s)); }
static void wb_f32(wb *b, int num, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    uint8_t t[4] = { (uint8_t)u, (uint8_t)(u >> 8), (uint8_t)(u >> 16), (uint8_t)(u >> 24) };
    wb_key(b, num, 5);
    wb_bytes(b, t, 4);
}
/* append sub as a length-delimited field and release it */
static void wb_msg(wb *b, int num, wb *sub)
{
    wb_len(b, num, sub->p, sub->n);
    free(sub->p);
    memset(sub, 0, sizeof *sub);
}

enum { F32 = 1, I64 = 7, F16 = 10 };

/* TensorProto with float data (raw_data little-endian, or float_data). */
static void add_tensor_f32(wb *g, int field, const char *name, int rank, const int64_t *dims,
                           const float *v, int raw)
{
    wb t = { 0 };
    int64_t n = 1;
    for (int i = 0; i < rank; i++) {
        wb_int(&t, 1, dims[i]);
        n *= dims[i];
    }
    wb_int(&t, 2, F32);
    if (name)
        wb_str(&t, 8, name);
    if (raw) {
        wb_len(&t, 9, v, (size_t)n * 4); /* tests run on little-endian hosts */
    } else {
        for (int64_t i = 0; i < n; i++)
            wb_f32(&t, 4, v[i]); /* unpacked repeated float */
    }
    wb_msg(g, field, &t);
}

static void add_init_i64(wb *g, const char *name, int n, const int64_t *v)
{
    wb t = { 0 }, packed = { 0 };
    wb_int(&t, 1, n);
    wb_int(&t, 2, I64);
    wb_str(&t, 8, name);
    for (int i = 0; i < n; i++)
        wb_varint(&packed, (uint64_t)v[i]);
    wb_msg(&t, 7, &packed); /* packed int64_data */
    wb_msg(g, 5, &t);
}

/* attributes */
static void attr_i(wb *node, const char *name, int64_t v)
{
    wb a = { 0 };
    wb_str(&a, 1, name);
    wb_int(&a, 20, 2);
    wb_int(&a, 3, v);
    wb_msg(node, 5, &a);
}
static void attr_f(wb *node, const char *name, float v)
{
    wb a = { 0 };
    wb_str(&a, 1, name);
    wb_int(&a, 20, 1);
    wb_f32(&a, 2, v);
    wb_msg(node, 5, &a);
}
static void attr_ints(wb *node, const char *name, int n, const int64_t *v)
{
    wb a = { 0 }, packed = { 0 };
    wb_str(&a, 1, name);
    wb_int(&a, 20, 7);
    for (int i = 0; i < n; i++)
        wb_varint(&packed, (uint64_t)v[i]);
    wb_msg(&a, 8, &packed);
    wb_msg(node, 5, &a);
}

/* NodeProto; inputs/outputs NULL-terminated lists; attrs appended by the
 * caller through the returned builder before add_node_done. */
static wb node_begin(const char *name, const char *op, const char *const *in,
                     const char *const *out)
{
    wb n = { 0 };
    for (int i = 0; in && in[i]; i++)
        wb_str(&n, 1, in[i]);
    for (int i = 0; out && out[i]; i++)
        wb_str(&n, 2, out[i]);
    if (name)
        wb_str(&n, 3, name);
    wb_str(&n, 4, op);
    return n;
}
#define L(...) ((const char *const[]){ __VA_ARGS__, NULL })
static void node(wb *g, const char *name, const char *op, const char *const *in,
                 const char *const *out)
{
    wb n = node_begin(name, op, in, out);
    wb_msg(g, 1, &n);
}

/* ValueInfoProto: FLOAT tensor; dims < 0 written as dim_param "N". */
static void add_vinfo(wb *g, int field, const char *name, int rank, const int64_t *dims)
{
    wb vi = { 0 }, tp = { 0 }, tt = { 0 }, sh = { 0 };
    for (int i = 0; i < rank; i++) {
        wb d = { 0 };
        if (dims[i] < 0)
            wb_str(&d, 2, "N");
        else
            wb_int(&d, 1, dims[i]);
        wb_msg(&sh, 1, &d);
    }
    wb_int(&tt, 1, F32);
    if (rank >= 0)
        wb_msg(&tt, 2, &sh);
    else
        free(sh.p);
    wb_msg(&tp, 1, &tt);
    wb_str(&vi, 1, name);
    wb_msg(&vi, 2, &tp);
    wb_msg(g, field, &vi);
}

/* Wrap a graph into a ModelProto (ir_version 7, given default opset). */
static wb model(wb *g, int opset, const char *domain)
{
    wb m = { 0 }, os = { 0 };
    wb_int(&m, 1, 7);
    wb_str(&os, 1, domain ? domain : "");
    wb_int(&os, 2, opset);
    wb_msg(&m, 8, &os);
    wb_str(&m, 2, "test_onnx.c");
    wb_msg(&m, 7, g);
    return m;
}

static mint_status import_wb(wb *m, net_graph **g)
{
    mint_status st = convert_onnx_import_mem(g, m->p, m->n, "mem.onnx");
    free(m->p);
    memset(m, 0, sizeof *m);
    return st;
}

/* Expect a refusal with status st and a message containing want. */
static void expect_refusal(wb *g, int opset, mint_status want_st, const char *want)
{
    wb m = model(g, opset, NULL);
    net_graph *out = (net_graph *)1;
    mint_status st = import_wb(&m, &out);
    if (st != want_st || !strstr(mint_last_error(), want))
        print_message("got %s: '%s'; wanted %s containing '%s'\n", mint_strerror(st),
                      mint_last_error(), mint_strerror(want_st), want);
    assert_int_equal(st, want_st);
    assert_non_null(strstr(mint_last_error(), want));
    assert_null(out);
}

static const int64_t in_dims[4] = { -1, 2, 4, 4 };

/* x[N,2,4,4] -> Sub(x, c[2,1,1]) -> Mul(0.5, .) -> Div(., d[1,2,1,1])
 * -> Sub(k, .) -> Flatten -> MatMul(B[32][5]) -> Add(bias[5]) -> y */
static void test_arith_and_matmul(void **state)
{
    (void)state;
    wb g = { 0 };
    const float c[2] = { 1.5f, -2.0f }, half = 0.5f, d[2] = { 4.0f, 0.25f }, k = 3.0f;
    float B[32 * 5], bias[5] = { 1, 2, 3, 4, 5 };
    for (int i = 0; i < 32 * 5; i++)
        B[i] = (float)i;
    add_tensor_f32(&g, 5, "c", 3, (int64_t[]){ 2, 1, 1 }, c, 1);
    add_tensor_f32(&g, 5, "half", 0, NULL, &half, 0);
    add_tensor_f32(&g, 5, "d", 4, (int64_t[]){ 1, 2, 1, 1 }, d, 0);
    add_tensor_f32(&g, 5, "B", 2, (int64_t[]){ 32, 5 }, B, 1);
    add_tensor_f32(&g, 5, "bias", 1, (int64_t[]){ 5 }, bias, 1);
    {
        wb kn = node_begin("const_k", "Constant", NULL, L("k"));
        wb a = { 0 }, t = { 0 };
        wb_int(&t, 2, F32);
        wb_len(&t, 9, &k, 4);
        wb_str(&a, 1, "value");
        wb_int(&a, 20, 4);
        wb_msg(&a, 5, &t);
        wb_msg(&kn, 5, &a);
        wb_msg(&g, 1, &kn);
    }
    node(&g, "sub", "Sub", L("x", "c"), L("s"));
    node(&g, NULL, "Mul", L("half", "s"), L("m"));
    node(&g, "div", "Div", L("m", "d"), L("q"));
    node(&g, "rsub", "Sub", L("k", "q"), L("r"));
    node(&g, "ident", "Identity", L("r"), L("r2"));
    node(&g, "flat", "Flatten", L("r2"), L("f"));
    node(&g, "mm", "MatMul", L("f", "B"), L("mmo"));
    node(&g, "addb", "Add", L("mmo", "bias"), L("y"));
    add_vinfo(&g, 11, "x", 4, in_dims);
    add_vinfo(&g, 12, "y", 2, (int64_t[]){ -1, 5 });
    wb m = model(&g, 13, NULL);
    net_graph *out = NULL;
    mint_status st = import_wb(&m, &out);
    if (st)
        print_message("%s\n", mint_last_error());
    assert_int_equal(st, MINT_OK);
    assert_int_equal(out->nnodes, 6); /* 4 affine, flatten, fc (Add folded) */
    assert_int_equal(count_op(out, NET_OP_AFFINE), 4);
    assert_int_equal(out->meta.in_c, 2);
    assert_int_equal(out->meta.in_h, 4);
    assert_string_equal(out->meta.source_name, "mem.onnx");
    assert_string_equal(out->meta.arch, "onnx");

    const net_node *n = find_node(out, "sub");
    assert_non_null(n);
    assert_int_equal(n->w[0], -1);
    assert_true(out->weights[n->w[1]].data[0] == -1.5f && out->weights[n->w[1]].data[1] == 2.0f);
    n = find_node(out, "Mul_2"); /* unnamed node: "<op>_<index>" */
    assert_non_null(n);
    assert_int_equal(n->w[1], -1);
    assert_int_equal(net_weight_numel(&out->weights[n->w[0]]), 1);
    assert_true(out->weights[n->w[0]].data[0] == 0.5f);
    n = find_node(out, "div");
    assert_non_null(n);
    assert_true(out->weights[n->w[0]].data[0] == 0.25f && out->weights[n->w[0]].data[1] == 4.0f);
    n = find_node(out, "rsub"); /* k - q = -1*q + k */
    assert_non_null(n);
    assert_true(out->weights[n->w[0]].data[0] == -1.0f && out->weights[n->w[1]].data[0] == 3.0f);
    n = find_node(out, "mm");
    assert_non_null(n);
    assert_int_equal(n->op, NET_OP_FC);
    const net_weight *W = &out->weights[n->w[0]];
    assert_int_equal(W->rank, 2);
    assert_int_equal(W->dims[0], 5);
    assert_int_equal(W->dims[1], 32);
    for (int mm = 0; mm < 5; mm++) /* transposed: W[m][k] = B[k][m] */
        for (int kk = 0; kk < 32; kk++)
            assert_true(W->data[mm * 32 + kk] == B[kk * 5 + mm]);
    assert_true(n->w[1] >= 0);
    assert_memory_equal(out->weights[n->w[1]].data, bias, sizeof bias);
    assert_string_equal(out->tensors[n->out].name, "y");
    assert_int_equal(n->out, out->output);
    check_tap(out, "embedding", 1, 5, 0, 0);
    net_graph_free(out);
}

/* Conv with float_data weights, PRelu [C,1,1], Relu, Clip via Constant
 * inputs (opset 11) and attributes (opset 9), Reshape [0,-1], Gemm with
 * transB=0 and a scalar bias, BN on [N,C] folded into the FC. */
static void build_conv_model(wb *g, int opset)
{
    float w[3 * 2 * 3 * 3], b[3] = { 0.1f, 0.2f, 0.3f }, sl[3] = { 0.25f, 0.5f, 0.75f };
    for (int i = 0; i < 18 * 3; i++)
        w[i] = (float)i / 8;
    add_tensor_f32(g, 5, "w", 4, (int64_t[]){ 3, 2, 3, 3 }, w, 0);
    add_tensor_f32(g, 5, "b", 1, (int64_t[]){ 3 }, b, 0);
    add_tensor_f32(g, 5, "slope", 3, (int64_t[]){ 3, 1, 1 }, sl, 1);
    float G[6 * 4], gb = 0.5f, ones[4] = { 1, 1, 1, 1 }, zeros[4] = { 0 };
    for (int i = 0; i < 24; i++)
        G[i] = (float)(i % 7);
    add_tensor_f32(g, 5, "G", 2, (int64_t[]){ 6, 4 }, G, 1); /* K = 3*2*1 */
    add_tensor_f32(g, 5, "gb", 1, (int64_t[]){ 1 }, &gb, 1);
    add_tensor_f32(g, 5, "bn_s", 1, (int64_t[]){ 4 }, ones, 1);
    add_tensor_f32(g, 5, "bn_b", 1, (int64_t[]){ 4 }, zeros, 1);
    add_tensor_f32(g, 5, "bn_m", 1, (int64_t[]){ 4 }, zeros, 1);
    add_tensor_f32(g, 5, "bn_v", 1, (int64_t[]){ 4 }, ones, 1);
    add_init_i64(g, "shape", 2, (int64_t[]){ 0, -1 });
    wb c = node_begin("conv", "Conv", L("x", "w", "b"), L("c"));
    attr_ints(&c, "kernel_shape", 2, (int64_t[]){ 3, 3 });
    attr_ints(&c, "strides", 2, (int64_t[]){ 2, 2 });
    attr_ints(&c, "pads", 4, (int64_t[]){ 1, 0, 1, 0 });
    attr_i(&c, "group", 1);
    wb_msg(g, 1, &c);
    node(g, "prelu", "PRelu", L("c", "slope"), L("p"));
    node(g, "relu", "Relu", L("p"), L("rl"));
    if (opset >= 11) {
        const float lo = -1.0f;
        wb kn = node_begin("lo", "Constant", NULL, L("lo_v"));
        attr_f(&kn, "value_float", lo);
        wb_msg(g, 1, &kn);
        node(g, "clip", "Clip", L("rl", "lo_v"), L("cl")); /* max omitted: +inf */
    } else {
        wb cn = node_begin("clip", "Clip", L("rl"), L("cl"));
        attr_f(&cn, "min", -1.0f);
        wb_msg(g, 1, &cn);
    }
    node(g, "reshape", "Reshape", L("cl", "shape"), L("fl"));
    wb gm = node_begin("gemm", "Gemm", L("fl", "G", "gb"), L("gm"));
    attr_i(&gm, "transB", 0);
    wb_msg(g, 1, &gm);
    wb bn = node_begin("bn", "BatchNormalization", L("gm", "bn_s", "bn_b", "bn_m", "bn_v"), L("y"));
    attr_f(&bn, "epsilon", 1e-3f);
    wb_msg(g, 1, &bn);
    add_vinfo(g, 11, "x", 4, in_dims);
    add_vinfo(g, 12, "y", 2, (int64_t[]){ -1, 4 });
}

static void test_conv_gemm(void **state)
{
    (void)state;
    for (int opset = 9; opset <= 11; opset += 2) {
        wb g = { 0 };
        build_conv_model(&g, opset);
        wb m = model(&g, opset, opset == 9 ? "ai.onnx" : NULL);
        net_graph *out = NULL;
        mint_status st = import_wb(&m, &out);
        if (st)
            print_message("opset %d: %s\n", opset, mint_last_error());
        assert_int_equal(st, MINT_OK);
        /* the BN stays a node (the executor folds it into the FC, and the
         * FC output 'gm' stays tappable) */
        assert_int_equal(out->nnodes, 7);
        assert_int_equal(count_op(out, NET_OP_BN), 1);
        assert_int_equal(net_graph_find_weight(out, "gemm.folded_weight"), -1);
        int gm = net_graph_find_tensor(out, "gm");
        assert_true(gm >= 0 && out->tensors[gm].rank == 1 && out->tensors[gm].shape[0] == 4);
        const net_node *n = find_node(out, "conv");
        assert_non_null(n);
        assert_int_equal(n->conv.kh, 3);
        assert_int_equal(n->conv.sh, 2);
        assert_int_equal(n->conv.pt, 1);
        assert_int_equal(n->conv.pl, 0);
        assert_int_equal(n->conv.pb, 1);
        assert_int_equal(n->conv.pr, 0);
        assert_int_equal(n->conv.groups, 1);
        const net_weight *w = weight(out, "w");
        assert_true(w->data[17] == 17.0f / 8 && w->data[53] == 53.0f / 8);
        assert_int_equal(out->tensors[n->out].shape[1], 2);
        assert_int_equal(out->tensors[n->out].shape[2], 1); /* (4+0+0-3)/2+1 */
        n = find_node(out, "prelu");
        assert_int_equal(out->weights[n->w[0]].rank, 1);
        assert_int_equal(out->weights[n->w[0]].dims[0], 3);
        n = find_node(out, "clip");
        assert_true(n->lo == -1.0f && isinf(n->hi) && n->hi > 0);
        n = find_node(out, "gemm");
        assert_int_equal(n->op, NET_OP_FC);
        check_tap(out, "embedding", 1, 4, 0, 0);
        net_graph_free(out);
    }
}

/* fp16 initializers in int32_data: exact conversion incl. subnormals, inf, nan */
static void test_fp16_values(void **state)
{
    (void)state;
    /* finite values (normal, subnormal, negative) are converted exactly;
     * infinities and NaNs (decoded exactly by base/half.c, test_npy) are then
     * refused as weights: a model with them would give NaN embeddings */
    static const uint16_t cases[4][8] = {
        { 0x3C00, 0xC000, 0x0001, 0x8400, 0x3555, 0x0000, 0x8000, 0x7BFF },
        { 0x3C00, 0xC000, 0x0001, 0x8400, 0x7C00, 0x0000, 0x8000, 0x7BFF },
        { 0x3C00, 0xC000, 0x0001, 0x8400, 0xFC00, 0x0000, 0x8000, 0x7BFF },
        { 0x3C00, 0xC000, 0x0001, 0x8400, 0x7E00, 0x0000, 0x8000, 0x7BFF },
    };
    for (int k = 0; k < 4; k++) {
        const uint16_t *h = cases[k];
        wb g = { 0 }, t = { 0 };
        for (int i = 0; i < 4; i++)
            wb_int(&t, 1, (int64_t[]){ 8, 1, 1, 1 }[i]);
        wb_int(&t, 2, F16);
        wb_str(&t, 8, "w16");
        for (int i = 0; i < 8; i++)
            wb_int(&t, 5, h[i]); /* unpacked int32_data */
        wb_msg(&g, 5, &t);
        wb c = node_begin("conv", "Conv", L("x", "w16"), L("y"));
        wb_msg(&g, 1, &c);
        add_vinfo(&g, 11, "x", 4, (int64_t[]){ 1, 1, 2, 2 });
        add_vinfo(&g, 12, "y", 4, (int64_t[]){ 1, 8, 2, 2 });
        wb m = model(&g, 11, NULL);
        net_graph *out = NULL;
        mint_status st = import_wb(&m, &out);
        if (k > 0) {
            assert_int_equal(st, MINT_E_FORMAT);
            assert_non_null(strstr(mint_last_error(), "'w16'"));
            assert_non_null(strstr(mint_last_error(), "element 4"));
            assert_null(out);
            continue;
        }
        if (st)
            print_message("%s\n", mint_last_error());
        assert_int_equal(st, MINT_OK);
        const float *v = weight(out, "w16")->data;
        assert_true(v[0] == 1.0f);
        assert_true(v[1] == -2.0f);
        assert_true(v[2] == ldexpf(1.0f, -24));
        assert_true(v[3] == -ldexpf(1.0f, -14));
        assert_true(v[4] == 0.333251953125f);
        assert_true(v[5] == 0.0f && !signbit(v[5]));
        assert_true(v[6] == 0.0f && signbit(v[6]));
        assert_true(v[7] == 65504.0f);
        net_graph_free(out);
    }
}

/* Each refusal: status and the name in the message. */
static void test_refusals(void **state)
{
    (void)state;
    const float one = 1.0f, four[4] = { 1, 2, 3, 4 };
    wb g;

    /* PRelu slope [C] on a 4-D input broadcasts over W (here W == C) */
    g = (wb){ 0 };
    add_tensor_f32(&g, 5, "s4", 1, (int64_t[]){ 4 }, four, 1);
    node(&g, "pr", "PRelu", L("x", "s4"), L("y"));
    add_vinfo(&g, 11, "x", 4, (int64_t[]){ 1, 4, 4, 4 });
    add_vinfo(&g, 12, "y", 4, (int64_t[]){ 1, 4, 4, 4 });
    expect_refusal(&g, 11, MINT_E_UNSUPPORTED, "node 'pr' (PRelu): constant 's4' of shape [C]");

    /* unsupported op and domain */
    g = (wb){ 0 };
    node(&g, "rs", "Resize", L("x"), L("y"));
    add_vinfo(&g, 11, "x", 4, in_dims);
    add_vinfo(&g, 12, "y", 4, in_dims);
    expect_refusal(&g, 11, MINT_E_UNSUPPORTED, "node 'rs': op 'Resize' is not supported by mint");
    g = (wb){ 0 };
    {
        wb n = node_begin("fused", "FusedConv", L("x"), L("y"));
        wb_str(&n, 7, "com.microsoft");
        wb_msg(&g, 1, &n);
    }
    add_vinfo(&g, 11, "x", 4, in_dims);
    add_vinfo(&g, 12, "y", 4, in_dims);
    expect_refusal(&g, 11, MINT_E_UNSUPPORTED, "domain 'com.microsoft'");

    /* opsets out of range */
    g = (wb){ 0 };
    node(&g, "r", "Relu", L("x"), L("y"));
    add_vinfo(&g, 11, "x", 4, in_dims);
    add_vinfo(&g, 12, "y", 4, in_dims);
    expect_refusal(&g, 6, MINT_E_UNSUPPORTED, "opset 6");
    g = (wb){ 0 };
    node(&g, "r", "Relu", L("x"), L("y"));
    add_vinfo(&g, 11, "x", 4, in_dims);
    add_vinfo(&g, 12, "y", 4, in_dims);
    expect_refusal(&g, 22, MINT_E_UNSUPPORTED, "opset 22");

    /* two data inputs; input without shape; symbolic channel count */
    g = (wb){ 0 };
    node(&g, "a", "Add", L("x", "x2"), L("y"));
    add_vinfo(&g, 11, "x", 4, in_dims);
    add_vinfo(&g, 11, "x2", 4, in_dims);
    add_vinfo(&g, 12, "y", 4, in_dims);
    expect_refusal(&g, 11, MINT_E_UNSUPPORTED, "several data inputs ('x', 'x2')");
    g = (wb){ 0 };
    node(&g, "r", "Relu", L("x"), L("y"));
    add_vinfo(&g, 11, "x", -1, NULL);
    add_vinfo(&g, 12, "y", 4, in_dims);
    expect_refusal(&g, 11, MINT_E_UNSUPPORTED, "input 'x' must be 4-D");
    g = (wb){ 0 };
    node(&g, "r", "Relu", L("x"), L("y"));
    add_vinfo(&g, 11, "x", 4, (int64_t[]){ 1, -1, 4, 4 });
    add_vinfo(&g, 12, "y", 4, in_dims);
    expect_refusal(&g, 11, MINT_E_UNSUPPORTED, "input 'x' must be 4-D");
    g = (wb){ 0 }; /* a known but too large dimension is named as such */
    node(&g, "r", "Relu", L("x"), L("y"));
    add_vinfo(&g, 11, "x", 4, (int64_t[]){ 1, 3, 112, 100000 });
    add_vinfo(&g, 12, "y", 4, in_dims);
    expect_refusal(&g, 11, MINT_E_UNSUPPORTED, "input 'x' has W = 100000; mint takes inputs of at most 65536");

    /* Dropout whose mask is used; BN training outputs; Gemm alpha */
    g = (wb){ 0 };
    node(&g, "drop", "Dropout", L("x"), L("d", "mask"));
    node(&g, "a", "Add", L("d", "mask"), L("y"));
    add_vinfo(&g, 11, "x", 4, in_dims);
    add_vinfo(&g, 12, "y", 4, in_dims);
    expect_refusal(&g, 11, MINT_E_UNSUPPORTED, "node 'drop' (Dropout): its mask output 'mask' is used");
    g = (wb){ 0 };
    add_tensor_f32(&g, 5, "p", 1, (int64_t[]){ 2 }, four, 1);
    node(&g, "bnt", "BatchNormalization", L("x", "p", "p", "p", "p"), L("y", "rm", "rv"));
    add_vinfo(&g, 11, "x", 4, in_dims);
    add_vinfo(&g, 12, "y", 4, in_dims);
    expect_refusal(&g, 11, MINT_E_UNSUPPORTED, "node 'bnt' (BatchNormalization): training-mode outputs");
    g = (wb){ 0 };
    {
        float G[32] = { 0 };
        add_tensor_f32(&g, 5, "G", 2, (int64_t[]){ 1, 32 }, G, 1);
    }
    node(&g, "fl", "Flatten", L("x"), L("f"));
    {
        wb n = node_begin("gm", "Gemm", L("f", "G"), L("y"));
        attr_f(&n, "alpha", 2.0f);
        attr_i(&n, "transB", 1);
        wb_msg(&g, 1, &n);
    }
    add_vinfo(&g, 11, "x", 4, in_dims);
    add_vinfo(&g, 12, "y", 2, (int64_t[]){ -1, 1 });
    expect_refusal(&g, 11, MINT_E_UNSUPPORTED, "node 'gm' (Gemm): only alpha=1");

    /* BN spatial=0 (opset 8) is only the same as spatial=1 on [N,C] */
    g = (wb){ 0 };
    add_tensor_f32(&g, 5, "p", 1, (int64_t[]){ 2 }, four, 1);
    {
        wb n = node_begin("bns", "BatchNormalization", L("x", "p", "p", "p", "p"), L("y"));
        attr_i(&n, "spatial", 0);
        wb_msg(&g, 1, &n);
    }
    add_vinfo(&g, 11, "x", 4, in_dims);
    add_vinfo(&g, 12, "y", 4, in_dims);
    expect_refusal(&g, 8, MINT_E_UNSUPPORTED, "node 'bns' (BatchNormalization): spatial=0");

    /* arithmetic the AFFINE op cannot express */
    g = (wb){ 0 };
    node(&g, "sub2", "Sub", L("x", "x"), L("y"));
    add_vinfo(&g, 11, "x", 4, in_dims);
    add_vinfo(&g, 12, "y", 4, in_dims);
    expect_refusal(&g, 11, MINT_E_UNSUPPORTED, "node 'sub2' (Sub): Sub of two computed tensors");
    g = (wb){ 0 };
    add_tensor_f32(&g, 5, "one", 0, NULL, &one, 1);
    node(&g, "rdiv", "Div", L("one", "x"), L("y"));
    add_vinfo(&g, 11, "x", 4, in_dims);
    add_vinfo(&g, 12, "y", 4, in_dims);
    expect_refusal(&g, 11, MINT_E_UNSUPPORTED, "node 'rdiv' (Div): a constant divided");

    /* Conv: weight computed at run time; 1-D conv; unknown attribute */
    g = (wb){ 0 };
    node(&g, "cv", "Conv", L("x", "x"), L("y"));
    add_vinfo(&g, 11, "x", 4, in_dims);
    add_vinfo(&g, 12, "y", 4, in_dims);
    expect_refusal(&g, 11, MINT_E_UNSUPPORTED, "node 'cv' (Conv): input 1 ('x') must be an initializer");
    g = (wb){ 0 };
    add_tensor_f32(&g, 5, "w1", 3, (int64_t[]){ 2, 2, 1 }, four, 1);
    node(&g, "cv1d", "Conv", L("x", "w1"), L("y"));
    add_vinfo(&g, 11, "x", 4, in_dims);
    add_vinfo(&g, 12, "y", 4, in_dims);
    expect_refusal(&g, 11, MINT_E_UNSUPPORTED, "node 'cv1d' (Conv): weight 'w1' has rank 3");
    g = (wb){ 0 };
    add_tensor_f32(&g, 5, "w", 4, (int64_t[]){ 2, 2, 1, 1 }, four, 1);
    {
        wb n = node_begin("cvx", "Conv", L("x", "w"), L("y"));
        attr_i(&n, "frobnicate", 1);
        wb_msg(&g, 1, &n);
    }
    add_vinfo(&g, 11, "x", 4, in_dims);
    add_vinfo(&g, 12, "y", 4, in_dims);
    expect_refusal(&g, 11, MINT_E_UNSUPPORTED, "node 'cvx' (Conv): attribute 'frobnicate'");

    /* Reshape to something other than [N,-1] */
    g = (wb){ 0 };
    add_init_i64(&g, "shp", 4, (int64_t[]){ 1, 2, 16, 1 });
    node(&g, "rsh", "Reshape", L("x", "shp"), L("y"));
    add_vinfo(&g, 11, "x", 4, in_dims);
    add_vinfo(&g, 12, "y", 4, in_dims);
    expect_refusal(&g, 11, MINT_E_UNSUPPORTED, "node 'rsh' (Reshape): reshape to a INT64 tensor of 4 values");
    g = (wb){ 0 };
    add_init_i64(&g, "shp", 2, (int64_t[]){ 0, 31 });
    node(&g, "rsh", "Reshape", L("x", "shp"), L("y"));
    add_vinfo(&g, 11, "x", 4, in_dims);
    add_vinfo(&g, 12, "y", 2, (int64_t[]){ -1, 31 });
    expect_refusal(&g, 11, MINT_E_SHAPE, "node 'rsh' (Reshape): reshape to [N,31]");

    /* Identity cycle; a tensor produced twice; output never computed */
    g = (wb){ 0 };
    node(&g, "i1", "Identity", L("b"), L("a"));
    node(&g, "i2", "Identity", L("a"), L("b"));
    node(&g, "r", "Relu", L("a"), L("y"));
    add_vinfo(&g, 11, "x", 4, in_dims);
    add_vinfo(&g, 12, "y", 4, in_dims);
    expect_refusal(&g, 11, MINT_E_FORMAT, "form a cycle");
    g = (wb){ 0 };
    node(&g, "r1", "Relu", L("x"), L("y"));
    node(&g, "r2", "Relu", L("x"), L("y"));
    add_vinfo(&g, 11, "x", 4, in_dims);
    add_vinfo(&g, 12, "y", 4, in_dims);
    expect_refusal(&g, 11, MINT_E_FORMAT, "'y' is produced more than once");
    g = (wb){ 0 };
    node(&g, "r1", "Relu", L("x"), L("y"));
    add_vinfo(&g, 11, "x", 4, in_dims);
    add_vinfo(&g, 12, "z", 4, in_dims);
    expect_refusal(&g, 11, MINT_E_FORMAT, "graph output 'z' is never computed");

    /* unsupported initializer type; duplicate initializer */
    g = (wb){ 0 };
    {
        wb t = { 0 };
        wb_int(&t, 1, 1);
        wb_int(&t, 2, 11); /* DOUBLE */
        wb_str(&t, 8, "dbl");
        wb_len(&t, 9, "\0\0\0\0\0\0\xf0\x3f", 8);
        wb_msg(&g, 5, &t);
    }
    node(&g, "r", "Relu", L("x"), L("y"));
    add_vinfo(&g, 11, "x", 4, in_dims);
    add_vinfo(&g, 12, "y", 4, in_dims);
    expect_refusal(&g, 11, MINT_E_UNSUPPORTED, "initializer 'dbl' has data type DOUBLE");
    g = (wb){ 0 };
    add_tensor_f32(&g, 5, "dup", 0, NULL, &one, 1);
    add_tensor_f32(&g, 5, "dup", 0, NULL, &one, 1);
    node(&g, "r", "Relu", L("x"), L("y"));
    add_vinfo(&g, 11, "x", 4, in_dims);
    add_vinfo(&g, 12, "y", 4, in_dims);
    expect_refusal(&g, 11, MINT_E_FORMAT, "initializer 'dup' is defined more than once");

    /* not a model at all */
    net_graph *out = (net_graph *)1;
    assert_int_equal(convert_onnx_import_mem(&out, "", 0, "empty"), MINT_E_FORMAT);
    assert_null(out);
    assert_int_equal(convert_onnx_import_mem(&out, "\x08\x07", 2, "nograph"), MINT_E_FORMAT);
    assert_int_equal(convert_onnx_import(&out, "/nonexistent/x.onnx"), MINT_E_IO);
}


/* Duplicate node names made unique; Identity, Cast and Dropout (opset 13,
 * training_mode a false BOOL constant) are aliases; output == input refused */
static void test_names_and_aliases(void **state)
{
    (void)state;
    wb g = { 0 }, t = { 0 };
    const float ratio = 0.5f;
    add_tensor_f32(&g, 5, "ratio", 0, NULL, &ratio, 1);
    wb_int(&t, 2, 9); /* BOOL scalar false */
    wb_str(&t, 8, "train");
    wb_len(&t, 9, "\0", 1);
    wb_msg(&g, 5, &t);
    node(&g, "r", "Relu", L("x"), L("a"));
    node(&g, "r", "Relu", L("a"), L("b"));
    node(&g, "id", "Identity", L("b"), L("c"));
    {
        wb n = node_begin("cast", "Cast", L("c"), L("d"));
        attr_i(&n, "to", 1);
        wb_msg(&g, 1, &n);
    }
    node(&g, "drop", "Dropout", L("d", "ratio", "train"), L("e", "unused_mask"));
    node(&g, "r", "Relu", L("e"), L("y"));
    add_vinfo(&g, 11, "x", 4, in_dims);
    add_vinfo(&g, 12, "y", 4, in_dims);
    wb m = model(&g, 13, NULL);
    net_graph *out = NULL;
    mint_status st = import_wb(&m, &out);
    if (st)
        print_message("%s\n", mint_last_error());
    assert_int_equal(st, MINT_OK);
    assert_int_equal(out->nnodes, 3);
    assert_non_null(find_node(out, "r"));
    assert_non_null(find_node(out, "r_1"));
    assert_non_null(find_node(out, "r_5"));
    const net_node *last = find_node(out, "r_5");
    assert_string_equal(out->tensors[last->in[0]].name, "b"); /* e -> d -> c -> b */
    assert_int_equal(net_graph_find_tensor(out, "c"), -1);
    net_graph_free(out);

    /* Dropout in training mode */
    g = (wb){ 0 };
    t = (wb){ 0 };
    wb_int(&t, 2, 9);
    wb_str(&t, 8, "train");
    wb_len(&t, 9, "\1", 1);
    wb_msg(&g, 5, &t);
    node(&g, "drop", "Dropout", L("x", "", "train"), L("y"));
    node(&g, "r", "Relu", L("y"), L("z"));
    add_vinfo(&g, 11, "x", 4, in_dims);
    add_vinfo(&g, 12, "z", 4, in_dims);
    expect_refusal(&g, 13, MINT_E_UNSUPPORTED, "node 'drop' (Dropout): training_mode");

    /* output is the input, through an Identity */
    g = (wb){ 0 };
    node(&g, "id", "Identity", L("x"), L("y"));
    add_vinfo(&g, 11, "x", 4, in_dims);
    add_vinfo(&g, 12, "y", 4, in_dims);
    expect_refusal(&g, 13, MINT_E_UNSUPPORTED, "graph output 'y' is the input itself");
}

/* A chain of 19,998 Identity nodes (the most a graph may hold) imports in linear time (issue 9: each
 * lookup walked the alias table, 16-33 s for this chain). */
static void test_identity_chain(void **state)
{
    (void)state;
    enum { N = 19998 }; /* with the two Relus: OX_MAX_NODES */
    wb g = { 0 };
    char a[32], b[32];
    node(&g, "r0", "Relu", L("x"), L("i0"));
    for (int i = 0; i < N; i++) {
        snprintf(a, sizeof a, "i%d", i);
        snprintf(b, sizeof b, "i%d", i + 1);
        node(&g, NULL, "Identity", L(a), L(b));
    }
    node(&g, "r1", "Relu", L(b), L("y"));
    add_vinfo(&g, 11, "x", 4, in_dims);
    add_vinfo(&g, 12, "y", 4, in_dims);
    wb m = model(&g, 13, NULL);
    net_graph *out = NULL;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    mint_status st = import_wb(&m, &out);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (st)
        print_message("%s\n", mint_last_error());
    assert_int_equal(st, MINT_OK);
    const double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    assert_int_equal(count_op(out, NET_OP_RELU), 2);
    net_graph_free(out);
    if (s > 1.0)
        print_message("importing %d chained Identity nodes took %.2f s\n", N, s);
    assert_true(s < 1.0); /* linear: ~10 ms; quadratic: 16-33 s */
}

/* A grey model (1 input channel): Conv -> BatchNormalization. Colour
 * images feed it their BT.601 luma, exactly one plane (the buffer holds
 * c*h*w floats: a guard after it must stay untouched), other channel counts
 * are refused by name; the conv output, which the executor folds the BN
 * over, can be tapped and matches a direct computation, before and after a
 * run that folded it. */
static void test_grey_conv_bn(void **state)
{
    (void)state;
    enum { H = 8, W = 8, CO = 4 };
    wb g = { 0 };
    float w[CO * 9], b[CO], sc[CO], sh[CO], mu[CO], var[CO];
    for (int i = 0; i < CO * 9; i++)
        w[i] = (float)((i * 7) % 11 - 5) / 8;
    for (int o = 0; o < CO; o++) {
        b[o] = 0.1f * (float)o;
        sc[o] = 0.5f + 0.25f * (float)o;
        sh[o] = -0.2f * (float)o;
        mu[o] = 0.05f * (float)(o - 1);
        var[o] = 0.5f + (float)o;
    }
    add_tensor_f32(&g, 5, "w", 4, (int64_t[]){ CO, 1, 3, 3 }, w, 1);
    add_tensor_f32(&g, 5, "b", 1, (int64_t[]){ CO }, b, 1);
    add_tensor_f32(&g, 5, "s", 1, (int64_t[]){ CO }, sc, 1);
    add_tensor_f32(&g, 5, "sh", 1, (int64_t[]){ CO }, sh, 1);
    add_tensor_f32(&g, 5, "mu", 1, (int64_t[]){ CO }, mu, 1);
    add_tensor_f32(&g, 5, "var", 1, (int64_t[]){ CO }, var, 1);
    wb c = node_begin("conv", "Conv", L("x", "w", "b"), L("c"));
    attr_ints(&c, "kernel_shape", 2, (int64_t[]){ 3, 3 });
    attr_ints(&c, "pads", 4, (int64_t[]){ 1, 1, 1, 1 });
    wb_msg(&g, 1, &c);
    node(&g, "bn", "BatchNormalization", L("c", "s", "sh", "mu", "var"), L("y"));
    add_vinfo(&g, 11, "x", 4, (int64_t[]){ -1, 1, H, W });
    add_vinfo(&g, 12, "y", 4, (int64_t[]){ -1, CO, H, W });
    wb m = model(&g, 11, NULL);
    net_graph *ng = NULL;
    assert_int_equal(import_wb(&m, &ng), MINT_OK);
    assert_int_equal(count_op(ng, NET_OP_BN), 1);
    mint_model *mm;
    assert_int_equal(mint_model_from_graph(&mm, ng, NULL), MINT_OK);

    io_image img;
    assert_int_equal(io_image_alloc(&img, W, H, 3), MINT_OK);
    for (int i = 0; i < H * W * 3; i++)
        img.px[i] = (uint8_t)((i * 97 + 13) % 256);
    const float mean[3] = { 0.25f, 9, 9 }, sd[3] = { 0.5f, 9, 9 };
    float *x = malloc(sizeof(float) * (H * W + 16));
    assert_non_null(x);
    for (int i = 0; i < H * W + 16; i++)
        x[i] = -7.0f;
    assert_int_equal(io_image_to_chw(&img, 1, mean, sd, 1, x), MINT_OK);
    for (int i = 0; i < 16; i++)
        assert_true(x[H * W + i] == -7.0f); /* one plane written, no more */
    for (int i = 0; i < H * W; i++) {
        const uint8_t *p = img.px + 3 * i;
        double yl = floor((0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]) + 0.5);
        assert_true(fabs(((double)x[i] * 0.5 + 0.25) * 255.0 - yl) < 1e-3);
    }
    float *x2 = malloc(sizeof(float) * H * W * 3);
    assert_int_equal(io_image_to_chw(&img, 2, mean, sd, 0, x2), MINT_E_UNSUPPORTED);
    assert_non_null(strstr(mint_last_error(), "the model takes 2 input channels"));
    assert_int_equal(io_image_to_chw(&img, 3, mean, sd, 0, x2), MINT_OK);
    free(x2);

    /* the model: direct computation in double */
    double cref[CO * H * W], yref[CO * H * W];
    for (int o = 0; o < CO; o++)
        for (int yy = 0; yy < H; yy++)
            for (int xx = 0; xx < W; xx++) {
                double acc = b[o];
                for (int ky = 0; ky < 3; ky++)
                    for (int kx = 0; kx < 3; kx++) {
                        int iy = yy + ky - 1, ix = xx + kx - 1;
                        if (iy >= 0 && iy < H && ix >= 0 && ix < W)
                            acc += (double)w[o * 9 + ky * 3 + kx] * x[iy * W + ix];
                    }
                int at = (o * H + yy) * W + xx;
                cref[at] = acc;
                yref[at] = (acc - mu[o]) / sqrt((double)var[o] + 1e-5) * sc[o] + sh[o];
            }
    float y0[CO * H * W], y1[CO * H * W], ct[CO * H * W];
    assert_int_equal(mint_model_run(mm, x, 1, y0, 0, NULL, NULL), MINT_OK); /* BN folded */
    const char *tap = "c";
    float *tp = ct;
    int rank, d[3];
    assert_int_equal(mint_model_tap_shape(mm, tap, &rank, d), MINT_OK);
    assert_true(rank == 4 && d[0] == CO && d[1] == H && d[2] == W);
    assert_int_equal(mint_model_run(mm, x, 1, y1, 1, &tap, &tp), MINT_OK); /* re-planned */
    for (int i = 0; i < CO * H * W; i++) {
        assert_true(fabs(ct[i] - cref[i]) <= 1e-5 * (1 + fabs(cref[i])));
        assert_true(fabs(y0[i] - yref[i]) <= 1e-5 * (1 + fabs(yref[i])));
        assert_true(fabs(y1[i] - yref[i]) <= 1e-5 * (1 + fabs(yref[i])));
    }
    free(x);
    io_image_free(&img);
    mint_model_close(mm);
}

/* ------------------------------------------------------------------ */
/* fixtures                                                            */

static void test_iresnet_small(void **state)
{
    (void)state;
    need_fixture("iresnet_small.onnx");
    need_fixture("iresnet_small.json");
    net_graph *g = import_fixture("iresnet_small.onnx");
    /* ONNX: 21 Conv, 10 BN, 9 PRelu, 8 Add, Flatten, Gemm. The exporter
     * already folded conv->BN pairs; the 10 BN left stay nodes (the 8 block
     * bn1 and the head bn2 precede a conv / follow an Add; the embedding
     * BatchNorm1d is folded into the FC by the executor, not the graph). */
    assert_int_equal(count_op(g, NET_OP_CONV), 21);
    assert_int_equal(count_op(g, NET_OP_BN), 10);
    assert_int_equal(count_op(g, NET_OP_PRELU), 9);
    assert_int_equal(count_op(g, NET_OP_ADD), 8);
    assert_int_equal(count_op(g, NET_OP_FLATTEN), 1);
    assert_int_equal(count_op(g, NET_OP_FC), 1);
    assert_int_equal(g->nnodes, 50);
    assert_int_equal(g->meta.in_c, 3);
    assert_int_equal(g->meta.in_h, 112);
    assert_int_equal(g->meta.in_w, 112);
    assert_string_equal(g->meta.arch, "onnx");
    assert_string_equal(g->meta.channel_order, "RGB");
    assert_true(g->meta.mean[0] == 0.5f && g->meta.std[2] == 0.5f);
    assert_string_equal(g->meta.source_name, "iresnet_small.onnx");
    assert_string_equal(g->tensors[g->input].name, "data");
    assert_string_equal(g->tensors[g->output].name, "embedding");

    check_tap(g, "layer1", 3, 8, 56, 56);
    check_tap(g, "layer2", 3, 16, 28, 28);
    check_tap(g, "layer3", 3, 32, 14, 14);
    check_tap(g, "layer4", 3, 64, 7, 7);
    check_tap(g, "embedding", 1, 32, 0, 0);

    size_t n, jn;
    uint8_t *file = test_read_file(FIX "iresnet_small.onnx", &n);
    char *json = test_read_file(FIX "iresnet_small.json", &jn);
    assert_non_null(file);
    assert_non_null(json);
    /* taps are the tensors the sidecar names */
    for (int k = 1; k <= 4; k++) {
        char key[16], want[256];
        snprintf(key, sizeof key, "layer%d", k);
        assert_true(json_str(json, key, want, sizeof want));
        assert_string_equal(g->tensors[net_graph_find_tap(g, key)].name, want);
    }
    char hex[65];
    sha_hex(file, n, hex);
    assert_string_equal(g->meta.source_sha256, hex);

    /* every weight (the graph takes them all unchanged: no folding at import)
     * is found in the file byte for byte (raw_data copied exactly) */
    int found = 0;
    for (int i = 0; i < g->nweights; i++) {
        const net_weight *w = &g->weights[i];
        assert_null(strstr(w->name, ".folded_"));
        size_t bytes = (size_t)net_weight_numel(w) * 4;
        assert_non_null(memmem(file, n, w->data, bytes));
        found++;
    }
    assert_int_equal(found, g->nweights);
    assert_true(found >= 21 + 10 * 4 + 9);
    /* a BN parameter keeps its ONNX name and shape */
    const net_weight *bn = weight(g, "layer1.0.bn1.running_var");
    assert_int_equal(bn->rank, 1);
    assert_int_equal(bn->dims[0], 8);
    assert_true(bn->data[0] >= 0.5f && bn->data[0] <= 2.0f); /* generator: U(0.5, 2) */
    free(file);
    free(json);
    net_graph_free(g);
}

static void test_iresnet_fp16(void **state)
{
    (void)state;
    need_fixture("iresnet_small.onnx");
    need_fixture("iresnet_small_fp16.onnx");
    net_graph *a = import_fixture("iresnet_small.onnx");
    net_graph *h = import_fixture("iresnet_small_fp16.onnx");
    assert_int_equal(a->nnodes, h->nnodes);
    assert_int_equal(a->nweights, h->nweights);
    int differ = 0;
    int64_t total = 0;
    for (int i = 0; i < a->nnodes; i++) {
        assert_int_equal(a->nodes[i].op, h->nodes[i].op);
        assert_string_equal(a->nodes[i].name, h->nodes[i].name);
    }
    for (int i = 0; i < a->nweights; i++) {
        const net_weight *wa = &a->weights[i], *wh = &h->weights[i];
        assert_string_equal(wa->name, wh->name);
        assert_int_equal(net_weight_numel(wa), net_weight_numel(wh));
        for (int64_t k = 0; k < net_weight_numel(wa); k++) {
            float x = wa->data[k], y = wh->data[k];
            /* y is x rounded to half: relative error <= 2^-11 (normal
             * range), absolute <= 2^-25 (subnormal range) */
            assert_true(fabsf(x - y) <= fabsf(x) * 0x1p-11f + 0x1p-25f);
            /* and y is a half value: 11 significant bits */
            int e;
            float m = frexpf(y, &e);
            if (e >= -13)
                assert_true(ldexpf(m, 11) == truncf(ldexpf(m, 11)));
            differ += x != y;
            total++;
        }
    }
    assert_true(total > 1000);
    assert_true(differ > total / 2); /* random fp32 values rarely are halves */
    net_graph_free(a);
    net_graph_free(h);
}

static void test_r18like(void **state)
{
    (void)state;
    need_fixture("iresnet_r18like.onnx");
    net_graph *g = import_fixture("iresnet_r18like.onnx");
    /* Sub 127.5 and Mul 1/127.5 become two AFFINE nodes in front */
    assert_int_equal(count_op(g, NET_OP_AFFINE), 2);
    const net_node *n0 = &g->nodes[0], *n1 = &g->nodes[1];
    assert_int_equal(n0->op, NET_OP_AFFINE);
    assert_int_equal(n0->w[0], -1);
    assert_true(g->weights[n0->w[1]].data[0] == -127.5f);
    assert_int_equal(n1->op, NET_OP_AFFINE);
    assert_true(fabsf(g->weights[n1->w[0]].data[0] - 1.0f / 127.5f) < 1e-9f);
    assert_int_equal(n1->w[1], -1);
    assert_int_equal(count_op(g, NET_OP_CONV), 15);
    assert_int_equal(count_op(g, NET_OP_BN), 7); /* as in ONNX */
    check_tap(g, "layer1", 3, 8, 56, 56);
    check_tap(g, "layer2", 3, 16, 28, 28);
    check_tap(g, "layer3", 3, 24, 14, 14);
    check_tap(g, "layer4", 3, 40, 7, 7);
    check_tap(g, "embedding", 1, 48, 0, 0);
    assert_string_equal(g->tensors[g->output].name, "193");
    net_graph_free(g);
}

static void check_mobile(net_graph *g)
{
    assert_int_equal(g->meta.in_h, 64);
    assert_int_equal(count_op(g, NET_OP_CONV), 11);
    assert_int_equal(count_op(g, NET_OP_BN), 2); /* bn_post, and the one after the Gemm */
    assert_int_equal(count_op(g, NET_OP_CLIP), 3);
    assert_int_equal(count_op(g, NET_OP_RELU), 4);
    assert_int_equal(count_op(g, NET_OP_PRELU), 3);
    assert_int_equal(count_op(g, NET_OP_ADD), 1);
    assert_int_equal(count_op(g, NET_OP_FC), 1);
    assert_int_equal(g->nnodes, 26);
    int groups[4] = { 0 };
    for (int i = 0; i < g->nnodes; i++) {
        const net_node *n = &g->nodes[i];
        if (n->op == NET_OP_CLIP) /* Clip(0,6) or Relu + Clip(max 6) */
            assert_true((n->lo == 0.0f || (isinf(n->lo) && n->lo < 0)) && n->hi == 6.0f);
        if (n->op == NET_OP_CONV) {
            groups[0] += n->conv.groups == 16;
            groups[1] += n->conv.groups == 32;
            groups[2] += n->conv.groups == 2;
            groups[3] += n->conv.groups == 64 && n->conv.kh == 8;
        }
    }
    assert_int_equal(groups[0], 1);
    assert_int_equal(groups[1], 2);
    assert_int_equal(groups[2], 1);
    assert_int_equal(groups[3], 1);
    /* Identity / Dropout aliased away: the sidecar's stage taps resolve */
    assert_true(net_graph_find_tensor(g, "/prelu2/PRelu_output_0") >= 0);
    assert_true(net_graph_find_tensor(g, "/bn_post/BatchNormalization_output_0") >= 0);
    check_tap(g, "embedding", 1, 32, 0, 0);
    assert_int_equal(net_graph_find_tap(g, "layer1"), -1);
}

static void test_mobile_dw(void **state)
{
    (void)state;
    need_fixture("mobile_dw.onnx");
    need_fixture("mobile_dw_op9.onnx");
    net_graph *a = import_fixture("mobile_dw.onnx");
    net_graph *b = import_fixture("mobile_dw_op9.onnx");
    check_mobile(a);
    check_mobile(b);
    for (int i = 0; i < a->nnodes; i++)
        assert_int_equal(a->nodes[i].op, b->nodes[i].op);
    net_graph_free(a);
    net_graph_free(b);
}

/* End to end: import, run on the sidecar's input, compare the embedding and
 * the layer taps with ONNX Runtime (or PyTorch where ORT has no dump). This
 * is what proves the op mapping (signs of Sub, Div as 1/c, PRelu slopes,
 * Clip bounds, aliases, BN folding) is right. */
static void golden(const char *model)
{
    char path[512], file[256];
    snprintf(path, sizeof path, FIX "%s.json", model);
    size_t jn;
    char *json = test_read_file(path, &jn);
    assert_non_null(json);
    assert_true(json_str(json, "file", file, sizeof file)); /* the input's file */
    snprintf(path, sizeof path, FIX "%s.onnx", model);
    net_graph *g = NULL;
    assert_int_equal(convert_onnx_import(&g, path), MINT_OK);
    io_npy in;
    snprintf(path, sizeof path, FIX "%s", file);
    assert_int_equal(io_npy_read(path, &in), MINT_OK);
    assert_int_equal(in.rank, 4);
    assert_int_equal(in.dims[1], g->meta.in_c);
    net_exec *e = NULL;
    mint_status st = net_exec_create(&e, g, kern_active(), (int)in.dims[0]);
    if (st)
        print_message("%s\n", mint_last_error());
    assert_int_equal(st, MINT_OK);
    static const char *const taps[] = { "layer1", "layer2", "layer3", "layer4", "embedding" };
    int checked = 0;
    /* references: in <model>/, or (for a variant sharing them, like the
     * opset-9 export) next to the input file */
    char refdir[256];
    snprintf(refdir, sizeof refdir, "%s", model);
    snprintf(path, sizeof path, FIX "%s/input.npy", model);
    FILE *probe = fopen(path, "rb");
    snprintf(path, sizeof path, FIX "%s/ort_embedding.npy", model);
    if (!probe)
        probe = fopen(path, "rb");
    if (probe)
        fclose(probe);
    else if (strrchr(file, '/'))
        snprintf(refdir, sizeof refdir, "%.*s", (int)(strrchr(file, '/') - file), file);
    for (int k = 0; k < 5; k++) {
        /* the sidecar's "refs" name the references that exist (ORT first):
         * a tap it lists must be computed and its file readable */
        const char *src = NULL;
        for (int s = 0; s < 2 && !src; s++) {
            char needle[300];
            snprintf(needle, sizeof needle, "\"%s/%s_%s.npy\"", refdir, s ? "torch" : "ort", taps[k]);
            if (strstr(json, needle))
                src = s ? "torch" : "ort";
        }
        if (!src)
            continue; /* not in this model's sidecar (e.g. mobile_dw has no layer taps) */
        int t = net_graph_find_tap(g, taps[k]);
        if (t < 0)
            fail_msg("%s: tap %s has a reference but the imported graph does not compute it", model,
                     taps[k]);
        io_npy ref;
        snprintf(path, sizeof path, FIX "%s/%s_%s.npy", refdir, src, taps[k]);
        if (io_npy_read(path, &ref) != MINT_OK)
            fail_msg("%s: committed reference %s unreadable: %s", model, path, mint_last_error());
        int64_t per = net_tensor_numel(&g->tensors[t]), n = in.dims[0];
        assert_true((size_t)(per * n) * sizeof(float) == ref.nbytes);
        float *out = malloc(sizeof(float) * (size_t)(per * n));
        assert_int_equal(net_exec_run(e, in.data, (int)n, 1, &t, &out), MINT_OK);
        const float *r = ref.data;
        double md = 0, mr = 0, dot = 0, na = 0, nb = 0;
        for (int64_t i = 0; i < per * n; i++) {
            md = fmax(md, fabs((double)out[i] - r[i]));
            mr = fmax(mr, fabs((double)r[i]));
            dot += (double)out[i] * r[i];
            na += (double)out[i] * out[i];
            nb += (double)r[i] * r[i];
        }
        double cosd = 1 - dot / sqrt(na * nb);
        print_message("%s %s: max|diff| %.3g (max|ref| %.3g), 1-cos %.3g vs %s\n", model, taps[k],
                      md, mr, cosd, path);
        assert_true(md <= 1e-4 * fmax(1.0, mr));
        assert_true(cosd < 1e-6);
        free(out);
        io_npy_free(&ref);
        checked++;
    }
    if (!strstr(json, "_embedding.npy\""))
        fail_msg("%s: the sidecar lists no embedding reference", model);
    assert_true(checked >= 1);
    net_exec_free(e);
    io_npy_free(&in);
    net_graph_free(g);
    free(json);
}

static void test_golden(void **state)
{
    (void)state;
    static const char *const models[] = { "iresnet_small", "iresnet_small_fp16", "iresnet_r18like",
                                          "mobile_dw", "mobile_dw_op9" };
    for (int i = 0; i < 5; i++) {
        char f[128];
        snprintf(f, sizeof f, "%s.json", models[i]);
        need_fixture(f);
        snprintf(f, sizeof f, "%s.onnx", models[i]);
        need_fixture(f);
        golden(models[i]);
    }
}

static void test_malformed_fixtures(void **state)
{
    (void)state;
    static const struct { const char *file; mint_status st; const char *want; } cases[] = {
        { "malformed_truncated.onnx", MINT_E_FORMAT, "truncated" },
        { "malformed_unsupported_op.onnx", MINT_E_UNSUPPORTED, "node 'unsupported_Softmax': op 'Softmax'" },
        { "malformed_external_data.onnx", MINT_E_UNSUPPORTED, "initializer 'conv.weight' uses external data" },
        { "malformed_conv_auto_pad.onnx", MINT_E_UNSUPPORTED, "node 'conv_auto_pad_same_upper' (Conv): auto_pad 'SAME_UPPER'" },
        { "malformed_short_raw_data.onnx", MINT_E_FORMAT, "initializer 'conv.weight': raw_data holds 54 values" },
        { "malformed_huge_dims.onnx", MINT_E_FORMAT, "initializer 'conv.weight'" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        need_fixture(cases[i].file);
        char path[512];
        snprintf(path, sizeof path, FIX "%s", cases[i].file);
        net_graph *g = (net_graph *)1;
        mint_status st = convert_onnx_import(&g, path);
        print_message("%s -> %s: %s\n", cases[i].file, mint_strerror(st), mint_last_error());
        assert_int_equal(st, cases[i].st);
        assert_null(g);
        assert_non_null(strstr(mint_last_error(), cases[i].want));
        /* parse and lowering errors alike start with the file's name */
        assert_true(strncmp(mint_last_error(), path, strlen(path)) == 0);
        assert_true(mint_last_error()[strlen(path)] == ':');
    }
}

/* ------------------------------------------------------------------ */
/* robustness: truncations and byte flips never crash                  */

static void hammer(const uint8_t *buf, size_t n, size_t full_below, size_t stride, int flips)
{
    uint8_t *cp = malloc(n);
    assert_non_null(cp);
    int ok = 0, bad = 0;
    for (size_t len = 0; len < n; len += len < full_below ? 1 : stride) {
        /* exact-size heap copy: ASan catches any read past the end */
        uint8_t *t = malloc(len ? len : 1);
        memcpy(t, buf, len);
        net_graph *g = NULL;
        mint_status st = convert_onnx_import_mem(&g, t, len, "trunc");
        if (st == MINT_OK) {
            ok++;
            net_graph_free(g);
        } else {
            bad++;
            assert_null(g);
            assert_true(st == MINT_E_FORMAT || st == MINT_E_UNSUPPORTED || st == MINT_E_SHAPE);
        }
        free(t);
    }
    uint64_t s = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < flips; i++) {
        memcpy(cp, buf, n);
        int nb = 1 + i % 3;
        for (int k = 0; k < nb; k++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            size_t pos = (size_t)(s >> 33) % n;
            uint8_t v = (uint8_t)(s >> 20);
            cp[pos] = i & 1 ? (uint8_t)(cp[pos] ^ (1u << (v & 7))) : v;
        }
        net_graph *g = NULL;
        mint_status st = convert_onnx_import_mem(&g, cp, n, "flip");
        if (st == MINT_OK)
            net_graph_free(g);
        else
            assert_null(g);
    }
    print_message("truncations: %d imported, %d refused; %d byte-flip runs survived\n", ok, bad, flips);
    free(cp);
}

static void test_truncate_and_flip(void **state)
{
    (void)state;
    need_fixture("mobile_dw.onnx");
    size_t n;
    uint8_t *buf = test_read_file(FIX "mobile_dw.onnx", &n);
    assert_non_null(buf);
    hammer(buf, n, 4096, 37, 3000);
    free(buf);
    /* and the in-memory models, whose every byte is structure */
    wb g = { 0 };
    build_conv_model(&g, 11);
    wb m = model(&g, 11, NULL);
    hammer(m.p, m.n, m.n, 1, 3000);
    free(m.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pb_varint),
        cmocka_unit_test(test_pb_fields),
        cmocka_unit_test(test_arith_and_matmul),
        cmocka_unit_test(test_conv_gemm),
        cmocka_unit_test(test_fp16_values),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_names_and_aliases),
        cmocka_unit_test(test_grey_conv_bn),
        cmocka_unit_test(test_iresnet_small),
        cmocka_unit_test(test_iresnet_fp16),
        cmocka_unit_test(test_r18like),
        cmocka_unit_test(test_mobile_dw),
        cmocka_unit_test(test_identity_chain),
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_malformed_fixtures),
        cmocka_unit_test(test_truncate_and_flip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
