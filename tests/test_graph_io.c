/* test_graph_io.c - a net_graph stored in the container and loaded back
 * (docs/format.md section 2): every field survives a round trip, saving is
 * deterministic, and corrupted "mint.graph"/"mint.taps"/metadata are
 * refused with MINT_E_FORMAT naming the line. Stored graphs through the
 * model API (names no node computes are refused as taps); through the CLI
 * (mint info --tensors, mint embed taps) in test_cli.c. */
#include "testutil.h"
#include <math.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "io/npy.h"
#include "net/graph.h"
#include "net/iresnet.h"
#include "net/model.h"
#include "weights/container.h"
#include "net/graph_io.h"

static float *owned_data(int64_t n, float base)
{
    float *p = malloc(sizeof(float) * (size_t)(n ? n : 1));
    assert_non_null(p);
    for (int64_t i = 0; i < n; i++)
        p[i] = base + (float)i * 0.25f;
    return p;
}

static int add_w(net_graph *g, const char *name, int rank, const int64_t *dims, float base)
{
    int64_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= dims[i];
    int id = net_graph_add_weight(g, name, rank, dims, owned_data(n, base), 1);
    assert_true(id >= 0);
    return id;
}

/* conv, bn, prelu, add, clip, relu, affine, flatten, fc; awkward names. */
static net_graph *build_graph(void)
{
    net_graph *g = net_graph_new();
    assert_non_null(g);
    snprintf(g->meta.arch, sizeof g->meta.arch, "iresnet-test");
    g->meta.in_c = 3;
    g->meta.in_h = 8;
    g->meta.in_w = 8;
    g->meta.mean[0] = 0.485f;
    g->meta.std[2] = 0.225f;
    snprintf(g->meta.channel_order, sizeof g->meta.channel_order, "BGR");
    snprintf(g->meta.source_name, sizeof g->meta.source_name, "models/w600k r50.onnx");
    snprintf(g->meta.source_sha256, sizeof g->meta.source_sha256, "%s",
             "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");

    int x = net_graph_tensor(g, "data");
    int t1 = net_graph_tensor(g, "onnx::Conv_1");
    int t2 = net_graph_tensor(g, "bn out=1;%x");
    int t3 = net_graph_tensor(g, "-");
    int t4 = net_graph_tensor(g, "t4");
    int t5 = net_graph_tensor(g, "t5");
    int t6 = net_graph_tensor(g, "t6");
    int t7 = net_graph_tensor(g, "t7");
    int t8 = net_graph_tensor(g, "t8");
    int t9 = net_graph_tensor(g, "t9");
    int t10 = net_graph_tensor(g, "fc1\xc3\xa9");
    g->input = x;
    g->output = t10;
    g->tensors[x].rank = 3;
    g->tensors[x].shape[0] = 3;
    g->tensors[x].shape[1] = g->tensors[x].shape[2] = 8;
    g->tensors[t9].rank = 1;
    g->tensors[t9].shape[0] = 256;

    int64_t dconv[4] = { 4, 3, 3, 3 }, d4[1] = { 4 }, dconv2[4] = { 4, 4, 1, 1 }, d1[1] = { 1 };
    int64_t dfc[2] = { 5, 256 }, d5[1] = { 5 };
    int wc = add_w(g, "conv1.weight", 4, dconv, 0.1f);
    int ws = add_w(g, "bn1 scale", 1, d4, 1.0f), wb = add_w(g, "bn1.bias", 1, d4, 0.0f);
    int wm = add_w(g, "bn1.mean", 1, d4, -1.0f), wv = add_w(g, "bn1.var", 1, d4, 2.0f);
    int wp = add_w(g, "prelu.slope", 1, d4, 0.25f);
    int wc2 = add_w(g, "conv2.weight", 4, dconv2, 0.5f), wc2b = add_w(g, "conv2.bias", 1, d4, 0.0f);
    int wa = add_w(g, "scale", 1, d1, 2.0f);
    int wf = add_w(g, "fc.weight", 2, dfc, -3.0f), wfb = add_w(g, "fc.bias", 1, d5, 1.0f);
    int scalar_dims_unused = add_w(g, "a scalar", 0, NULL, 9.0f);
    (void)scalar_dims_unused;

    int n;
    n = net_graph_add_node(g, NET_OP_CONV, "conv1", x, -1, t1, (int[4]){ wc, -1, -1, -1 });
    g->nodes[n].conv = (net_conv_attr){ .kh = 3, .kw = 3, .sh = 1, .sw = 2, .pt = 1, .pl = 0,
                                        .pb = 2, .pr = 1, .dh = 1, .dw = 3, .groups = 1 };
    n = net_graph_add_node(g, NET_OP_BN, "", t1, -1, t2, (int[4]){ ws, wb, wm, wv });
    g->nodes[n].eps = 1.00000001e-5f;
    net_graph_add_node(g, NET_OP_PRELU, "-", t2, -1, t3, (int[4]){ wp, -1, -1, -1 });
    n = net_graph_add_node(g, NET_OP_CONV, "conv 2", t3, -1, t4, (int[4]){ wc2, wc2b, -1, -1 });
    g->nodes[n].conv = (net_conv_attr){ .kh = 1, .kw = 1, .sh = 1, .sw = 1, .dh = 1, .dw = 1,
                                        .groups = 1 };
    net_graph_add_node(g, NET_OP_ADD, "add", t3, t4, t5, NULL);
    n = net_graph_add_node(g, NET_OP_CLIP, "clip", t5, -1, t6, NULL);
    g->nodes[n].lo = 0.0f;
    g->nodes[n].hi = 6.0f;
    n = net_graph_add_node(g, NET_OP_CLIP, "clip_inf", t6, -1, t7, NULL); /* lo=-inf hi=inf */
    net_graph_add_node(g, NET_OP_RELU, "relu", t7, -1, t8, NULL);
    net_graph_add_node(g, NET_OP_AFFINE, "affine", t8, -1, t9, (int[4]){ wa, -1, -1, -1 });
    int t9b = net_graph_tensor(g, "flat");
    net_graph_add_node(g, NET_OP_FLATTEN, "flatten", t9, -1, t9b, NULL);
    net_graph_add_node(g, NET_OP_FC, "fc", t9b, -1, t10, (int[4]){ wf, wfb, -1, -1 });
    (void)n;
    assert_int_equal(net_graph_add_tap(g, "layer1", t5), MINT_OK);
    assert_int_equal(net_graph_add_tap(g, "tap;=%", t2), MINT_OK);
    assert_int_equal(net_graph_add_tap(g, "embedding", t10), MINT_OK);
    return g;
}

static void compare_graphs(const net_graph *a, const net_graph *b)
{
    assert_string_equal(a->meta.arch, b->meta.arch);
    assert_int_equal(a->meta.in_c, b->meta.in_c);
    assert_int_equal(a->meta.in_h, b->meta.in_h);
    assert_int_equal(a->meta.in_w, b->meta.in_w);
    assert_memory_equal(a->meta.mean, b->meta.mean, sizeof a->meta.mean);
    assert_memory_equal(a->meta.std, b->meta.std, sizeof a->meta.std);
    assert_string_equal(a->meta.channel_order, b->meta.channel_order);
    assert_string_equal(a->meta.source_name, b->meta.source_name);
    assert_string_equal(a->meta.source_sha256, b->meta.source_sha256);
    assert_int_equal(a->input, b->input);
    assert_int_equal(a->output, b->output);
    assert_int_equal(a->ntensors, b->ntensors);
    for (int i = 0; i < a->ntensors; i++) {
        assert_string_equal(a->tensors[i].name, b->tensors[i].name);
        assert_int_equal(a->tensors[i].rank, b->tensors[i].rank);
        for (int d = 0; d < a->tensors[i].rank; d++)
            assert_int_equal(a->tensors[i].shape[d], b->tensors[i].shape[d]);
    }
    assert_int_equal(a->nweights, b->nweights);
    for (int i = 0; i < a->nweights; i++) {
        const net_weight *x = &a->weights[i], *y = &b->weights[i];
        assert_string_equal(x->name, y->name);
        assert_int_equal(x->rank, y->rank);
        for (int d = 0; d < x->rank; d++)
            assert_int_equal(x->dims[d], y->dims[d]);
        assert_memory_equal(x->data, y->data, sizeof(float) * (size_t)net_weight_numel(x));
    }
    assert_int_equal(a->nnodes, b->nnodes);
    for (int i = 0; i < a->nnodes; i++) {
        const net_node *x = &a->nodes[i], *y = &b->nodes[i];
        assert_int_equal(x->op, y->op);
        assert_string_equal(x->name, y->name);
        assert_int_equal(x->in[0], y->in[0]);
        assert_int_equal(x->in[1], y->in[1]);
        assert_int_equal(x->out, y->out);
        assert_memory_equal(x->w, y->w, sizeof x->w);
        assert_memory_equal(&x->conv, &y->conv, sizeof x->conv);
        assert_memory_equal(&x->eps, &y->eps, sizeof x->eps);
        assert_memory_equal(&x->lo, &y->lo, sizeof x->lo);
        assert_memory_equal(&x->hi, &y->hi, sizeof x->hi);
    }
    assert_int_equal(a->ntaps, b->ntaps);
    for (int i = 0; i < a->ntaps; i++) {
        assert_string_equal(a->taps[i].name, b->taps[i].name);
        assert_int_equal(a->taps[i].tensor, b->taps[i].tensor);
    }
}

static void test_graph_roundtrip(void **state)
{
    (void)state;
    net_graph *g = build_graph();
    const char *p1 = test_tmp_path("g1.mint"), *p2 = test_tmp_path("g2.mint");
    assert_int_equal(net_graph_save(g, p1), MINT_OK);
    net_graph *h = NULL;
    wt_file *f = NULL;
    if (net_graph_load(&h, &f, p1) != MINT_OK)
        fail_msg("load: %s", mint_last_error());
    compare_graphs(g, h);
    for (int i = 0; i < h->nweights; i++) {
        assert_int_equal(h->weights[i].owned, 0); /* borrowed from the mapping */
        assert_ptr_equal(h->weights[i].data, wt_tensor_find(f, h->weights[i].name)->data);
    }
    /* save(load(save(g))) is byte-identical */
    assert_int_equal(net_graph_save(h, p2), MINT_OK);
    size_t n1 = 0, n2 = 0;
    void *b1 = test_read_file(p1, &n1), *b2 = test_read_file(p2, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(b1, b2, n1);
    free(b1);
    free(b2);
    net_graph_free(h);
    wt_close(f);

    /* the stored text is what docs/format.md describes */
    char *text, *taps;
    assert_int_equal(net_graph_text(g, &text, &taps), MINT_OK);
    assert_non_null(strstr(text, "mint-graph 1\ntensor data 3 3 8 8\n"));
    assert_non_null(strstr(text, "\ntensor bn%20out%3D1%3B%25x 0\n"));
    assert_non_null(strstr(text, "\ntensor %2D 0\n"));
    assert_non_null(strstr(text, "\nweight a%20scalar 0\n"));
    assert_non_null(strstr(text, "\nconv conv1 data - onnx::Conv_1 conv1.weight - - - kh=3 kw=3 sh=1 sw=2 "
                                 "pt=1 pl=0 pb=2 pr=1 dh=1 dw=3 group=1\n"));
    assert_non_null(strstr(text, "\nbn - onnx::Conv_1 - bn%20out%3D1%3B%25x bn1%20scale bn1.bias bn1.mean bn1.var eps="));
    assert_non_null(strstr(text, "\nprelu %2D "));
    assert_non_null(strstr(text, "\nclip clip_inf t6 - t7 - - - - lo=-inf hi=inf\n"));
    assert_non_null(strstr(text, "\ninput data\noutput fc1%C3%A9\n"));
    assert_string_equal(taps, "layer1=t5;tap%3B%3D%25=bn%20out%3D1%3B%25x;embedding=fc1%C3%A9");
    free(text);
    free(taps);
    net_graph_free(g);
}

static void test_graph_save_refuses(void **state)
{
    (void)state;
    const char *p = test_tmp_path("refused.mint");
    net_graph *g = build_graph();
    g->nodes[0].w[0] = -1; /* conv without weight */
    assert_int_equal(net_graph_save(g, p), MINT_E_ARG);
    net_graph_free(g);
    g = build_graph();
    g->nodes[4].in[1] = 99;
    assert_int_equal(net_graph_save(g, p), MINT_E_ARG);
    net_graph_free(g);
    g = build_graph();
    g->nodes[5].lo = NAN;
    assert_int_equal(net_graph_save(g, p), MINT_E_ARG);
    net_graph_free(g);
    g = build_graph();
    g->meta.in_c = 0;
    assert_int_equal(net_graph_save(g, p), MINT_E_ARG);
    net_graph_free(g);
    g = build_graph();
    snprintf(g->meta.channel_order, sizeof g->meta.channel_order, "RGBA");
    assert_int_equal(net_graph_save(g, p), MINT_E_ARG);
    net_graph_free(g);
    assert_false(test_file_exists(p));
}

/* Replace the first occurrence of `from` in s by `to` (malloc'd). */
static char *replace(const char *s, const char *from, const char *to)
{
    const char *at = strstr(s, from);
    if (!at)
        fail_msg("'%s' not found in the graph text", from);
    size_t n = strlen(s) - strlen(from) + strlen(to) + 1;
    char *r = malloc(n);
    assert_non_null(r);
    size_t pre = (size_t)(at - s);
    memcpy(r, s, pre);
    strcpy(r + pre, to);
    strcat(r, at + strlen(from));
    return r;
}

/* Write g with the given graph/taps text and metadata overrides. */
static void save_custom(const net_graph *g, const char *path, const char *text, const char *taps,
                        const char *skip_key, const char *order, int shape_count)
{
    wt_writer *w = wt_writer_new();
    int64_t shape[3] = { g->meta.in_c, g->meta.in_h, g->meta.in_w };
    struct {
        const char *key, *val;
    } strs[] = {
        { "mint.arch", g->meta.arch },
        { "mint.channel_order", order },
        { "mint.source_name", g->meta.source_name },
        { "mint.source_sha256", g->meta.source_sha256 },
        { "mint.taps", taps },
        { "mint.graph", text },
    };
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        if (!skip_key || strcmp(skip_key, strs[i].key))
            assert_int_equal(wt_writer_meta_str(w, strs[i].key, strs[i].val), MINT_OK);
    if (!skip_key || strcmp(skip_key, "mint.input_shape"))
        assert_int_equal(wt_writer_meta_i64_arr(w, "mint.input_shape", shape, (size_t)shape_count), MINT_OK);
    assert_int_equal(wt_writer_meta_f32_arr(w, "mint.input_mean", g->meta.mean, 3), MINT_OK);
    assert_int_equal(wt_writer_meta_f32_arr(w, "mint.input_std", g->meta.std, 3), MINT_OK);
    for (int i = 0; i < g->nweights; i++) {
        const net_weight *x = &g->weights[i];
        base_dtype dt = strcmp(x->name, "scale") ? BASE_F32 : BASE_I32; /* "scale" as i32: for one case */
        assert_int_equal(wt_writer_tensor(w, x->name, dt, x->rank, x->dims, x->data), MINT_OK);
    }
    assert_int_equal(wt_writer_write(w, path), MINT_OK);
    wt_writer_free(w);
}

static void test_graph_corrupt(void **state)
{
    (void)state;
    net_graph *g = build_graph();
    char *text, *taps;
    assert_int_equal(net_graph_text(g, &text, &taps), MINT_OK);
    /* the "scale" weight is stored as i32 by save_custom; drop its use so the
     * unmodified text loads */
    char *base = replace(text, "affine affine t8 - t9 scale - - -", "affine affine t8 - t9 - - - -");
    char *base2 = replace(base, "weight scale 1 1\n", "");
    free(base);
    base = base2;
    const char *p = test_tmp_path("corrupt.mint");
    net_graph *h;
    wt_file *f;
    save_custom(g, p, base, taps, NULL, "BGR", 3);
    if (net_graph_load(&h, &f, p) != MINT_OK)
        fail_msg("baseline: %s", mint_last_error());
    net_graph_free(h);
    wt_close(f);

    static const struct {
        const char *from, *to, *msg;
    } cases[] = {
        { "mint-graph 1\n", "mint-graph 2\n", "line 1" },
        { "mint-graph 1\n", "", "line 1" },
        { "\nrelu relu", "\nrelux relu", "unknown keyword or op 'relux'" },
        { "\nrelu relu t7 - t8 - - - -\n", "\nrelu relu t7 - t8 - - -\n", "at least 9 fields" },
        { "\nrelu relu t7 - t8 - - - -\n", "\nrelu relu t7 - t8 - - - - x=1\n", "expected 0 attributes" },
        { "\nrelu relu t7 - t8", "\nrelu relu t77 - t8", "unknown tensor 't77'" },
        { "\nrelu relu t7 - t8", "\nrelu relu - - t8", "must name a tensor" },
        { "\nrelu relu t7 - t8", "\nrelu relu t7 t6 t8", "input 1 must be unused" },
        { "\nadd add %2D t4", "\nadd add %2D -", "input 1 is required" },
        { " bn1.mean bn1.var", " bn1.mean -", "required weight is missing" },
        { "\nrelu relu t7 - t8 - -", "\nrelu relu t7 - t8 fc.bias -", "must be unused" },
        { " conv1.weight - - - kh=3", " conv1.weigh - - - kh=3", "unknown weight 'conv1.weigh'" },
        { "kh=3", "kh=0", "kh out of range" },
        { "kh=3", "kh=65536", "kh out of range" },
        { "kh=3", "kh=-1", "kh out of range" },
        { "kh=3", "kh=03", "kh out of range" },
        { "kh=3", "kh=3x", "kh out of range" },
        { "kh=3", "kh=99999999999999999999999", "kh out of range" },
        { "pt=1", "pt=0", NULL }, /* valid: pads may be 0 (checked below) */
        { " group=1\n", "\n", "expected 11 attributes" },
        { "kh=3 kw=3", "kh=3 kh=3", "given twice" },
        { "kh=3 kw=3", "kh=3 kx=3", "unknown attribute 'kx'" },
        { "kh=3 kw=3", "kh=3 kw", "not key=value" },
        { " eps=", " eps=nan", "eps is not a number" },
        { " eps=", " eps=-", "eps must be finite and >= 0" },
        { " eps=", " eps=inf", "eps is not a number" },
        { "hi=6", "hi=nan", "not a number" },
        { "hi=6", "hi=6.0.0", "not a number" },
        { "hi=6", "hi=-1", "lo <= hi" },
        { "\ntensor t4 0\n", "\ntensor t4 0\ntensor t4 0\n", "declared twice" },
        { "\ntensor t4 0\n", "\ntensor t4 4 1 1 1 1\n", "rank 0..3" },
        { "\ntensor t4 0\n", "\ntensor t4 1\n", "rank 1 needs 4 fields" },
        { "\ntensor t4 0\n", "\ntensor t4 1 2147483648\n", "dim 0 out of range" },
        { "\ntensor t4 0\n", "\ntensor t4%ZZ 0\n", "malformed name" },
        { "\ntensor t4 0\n", "\ntensor t4%00 0\n", "malformed name" },
        { "\ntensor t4 0\n", "\ntensor t4% 0\n", "malformed name" },
        { "\ntensor t4 0\n", "\ntensor t4=x 0\n", "malformed name" },
        { "\nweight conv1.weight 4 4 3 3 3\n", "\nweight conv1.weight 4 4 3 3 4\n", "dim 3 is 3 in the tensor table, 4 here" },
        { "\nweight conv1.weight 4 4 3 3 3\n", "\nweight conv1.weight 3 4 3 9\n", "has rank 4 in the tensor table, 3 here" },
        { "\nweight conv1.weight 4 4 3 3 3\n", "\nweight conv1.weight 5 4 3 3 3 1\n", "rank 0..4" },
        { "\nweight fc.bias 1 5\n", "\nweight fc.bias 1 5\nweight fc.bias 1 5\n", "declared twice" },
        { "\nweight fc.bias 1 5\n", "\nweight fc.bias 1 5\nweight nothere 1 5\n", "not in the tensor table" },
        { "\nweight fc.bias 1 5\n", "\nweight fc.bias 1 5\nweight scale 1 1\n", "is not f32" },
        { "\nweight fc.bias 1 5\n", "\nweight fc.bias 1 99999999999999999999\n", "dim 0 out of range" },
        { "\ninput data\n", "\n", "no 'input' line" },
        { "\ninput data\n", "\ninput data\ninput data\n", "second 'input' line" },
        { "\ninput data\n", "\ninput data extra\n", "takes one field" },
        { "\noutput ", "\noutput nope\noutput ", "unknown tensor 'nope'" },
        { "\nrelu relu t7", "\nrelu  relu t7", "empty field" },
        { "\nrelu relu t7 - t8 - - - -\n", "\nrelu relu t7 - t8 - - - - \n", "trailing space" },
        { "\nrelu relu", "\n\nrelu relu", "empty line" },
        { "\nrelu relu", "\n relu relu", "empty field" },
        { "\nrelu relu", "\nrelu\trelu", "control" },
        { "\nrelu relu t7", "\nrelu relu t8", NULL }, /* self-loop: the loader keeps it; toposort refuses */
        { "\nflatten flatten t9 - flat", "\nflatten flatten t9 - flat2", "unknown tensor 'flat2'" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *t = replace(base, cases[i].from, cases[i].to);
        save_custom(g, p, t, taps, NULL, "BGR", 3);
        free(t);
        mint_status st = net_graph_load(&h, &f, p);
        if (!cases[i].msg) {
            if (st != MINT_OK)
                fail_msg("case %zu (%s): refused: %s", i, cases[i].to, mint_last_error());
            net_graph_free(h);
            wt_close(f);
            continue;
        }
        if (st != MINT_E_FORMAT)
            fail_msg("case %zu (%s): status %d", i, cases[i].to, (int)st);
        assert_null(h);
        assert_null(f);
        if (!strstr(mint_last_error(), cases[i].msg) || !strstr(mint_last_error(), "corrupt.mint"))
            fail_msg("case %zu: message '%s' lacks '%s'", i, mint_last_error(), cases[i].msg);
    }
    /* no final newline */
    char *cut = strdup(base);
    cut[strlen(cut) - 1] = '\0';
    save_custom(g, p, cut, taps, NULL, "BGR", 3);
    free(cut);
    assert_int_equal(net_graph_load(&h, &f, p), MINT_E_FORMAT);
    assert_non_null(strstr(mint_last_error(), "newline"));

    /* taps */
    static const struct {
        const char *taps, *msg;
    } tcases[] = {
        { "layer1=nope", "unknown tensor 'nope'" },
        { "layer1=t5;layer1=t6", "given twice" },
        { "layer1=t5;", "ends with ';'" },
        { "layer1", "not name=tensor" },
        { "layer1=t5=t6", "not name=tensor" },
        { "=t5", "malformed name" },
        { "layer1=", "malformed name" },
        { "lay er1=t5", "malformed name" },
        { ";", "not name=tensor" },
    };
    for (size_t i = 0; i < sizeof tcases / sizeof tcases[0]; i++) {
        save_custom(g, p, base, tcases[i].taps, NULL, "BGR", 3);
        assert_int_equal(net_graph_load(&h, &f, p), MINT_E_FORMAT);
        if (!strstr(mint_last_error(), tcases[i].msg))
            fail_msg("taps '%s': message '%s' lacks '%s'", tcases[i].taps, mint_last_error(),
                     tcases[i].msg);
    }
    save_custom(g, p, base, "", NULL, "BGR", 3); /* no taps is fine */
    assert_int_equal(net_graph_load(&h, &f, p), MINT_OK);
    assert_int_equal(h->ntaps, 0);
    net_graph_free(h);
    wt_close(f);

    /* metadata */
    save_custom(g, p, base, taps, "mint.arch", "BGR", 3);
    assert_int_equal(net_graph_load(&h, &f, p), MINT_E_FORMAT);
    assert_non_null(strstr(mint_last_error(), "missing metadata 'mint.arch'"));
    save_custom(g, p, base, taps, "mint.graph", "BGR", 3);
    assert_int_equal(net_graph_load(&h, &f, p), MINT_E_FORMAT);
    assert_non_null(strstr(mint_last_error(), "'mint.graph'"));
    save_custom(g, p, base, taps, NULL, "XYZ", 3);
    assert_int_equal(net_graph_load(&h, &f, p), MINT_E_FORMAT);
    assert_non_null(strstr(mint_last_error(), "channel_order"));
    save_custom(g, p, base, taps, NULL, "BGR", 2);
    assert_int_equal(net_graph_load(&h, &f, p), MINT_E_FORMAT);
    assert_non_null(strstr(mint_last_error(), "mint.input_shape"));
    save_custom(g, p, "", taps, NULL, "BGR", 3);
    assert_int_equal(net_graph_load(&h, &f, p), MINT_E_FORMAT);

    free(base);
    free(text);
    free(taps);
    net_graph_free(g);
}

/* A file as an older mint convert wrote it: BatchNorm folded into the conv
 * and the conv's own output name left behind with no producer. Tapping
 * that name is refused (naming it), never answered with an empty or
 * garbage shape; unknown names are refused too. */
static void test_uncomputed_tensor_taps(void **state)
{
    (void)state;
    net_graph *g = net_graph_new();
    assert_non_null(g);
    g->meta.in_c = 2;
    g->meta.in_h = g->meta.in_w = 4;
    g->input = net_graph_tensor(g, "data");
    int orphan = net_graph_tensor(g, "conv.out");
    int y = net_graph_tensor(g, "bn.out");
    int64_t d4[4] = { 3, 2, 1, 1 };
    int w = add_w(g, "conv.folded_weight", 4, d4, 0.5f);
    int n = net_graph_add_node(g, NET_OP_CONV, "conv", g->input, -1, y, (int[4]){ w, -1, -1, -1 });
    assert_true(n >= 0 && orphan >= 0);
    g->nodes[n].conv = (net_conv_attr){ 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1 };
    g->output = y;
    const char *p = test_tmp_path("orphan.mint");
    assert_int_equal(net_graph_toposort(g), MINT_OK);
    assert_int_equal(net_graph_infer_shapes(g), MINT_OK);
    assert_int_equal(net_graph_save(g, p), MINT_OK);
    net_graph_free(g);
    mint_model *m;
    assert_int_equal(mint_model_open(&m, p), MINT_OK);
    int rank = -1, dims[3];
    assert_int_equal(mint_model_tap_shape(m, "conv.out", &rank, dims), MINT_E_NOTFOUND);
    assert_non_null(strstr(mint_last_error(), "'conv.out'"));
    assert_non_null(strstr(mint_last_error(), "no node computes it"));
    assert_int_equal(mint_model_tap_shape(m, "nope", &rank, dims), MINT_E_NOTFOUND);
    assert_int_equal(mint_model_tap_shape(m, "bn.out", &rank, dims), MINT_OK);
    assert_true(rank == 4 && dims[0] == 3 && dims[1] == 4 && dims[2] == 4);
    float x[2 * 16] = { 0 }, t[64], *tp = t;
    const char *tap = "conv.out";
    assert_int_equal(mint_model_run(m, x, 1, NULL, 1, &tap, &tp), MINT_E_NOTFOUND);
    mint_model_close(m);
}

/* A call refused for one bad tap must not leave a good tap of the same
 * call half-registered: the next call asking for it alone must compute it
 * (a conv output that BN folding would otherwise skip). */
static void test_refused_tap_then_tap(void **state)
{
    (void)state;
    net_iresnet_cfg cfg = { { 1, 1, 1, 1 }, { 8, 8, 8, 8 }, 8, 32, 32, 3 };
    net_graph *g;
    assert_int_equal(net_iresnet_build(&g, &cfg, 5), MINT_OK);
    mint_model *m;
    assert_int_equal(mint_model_from_graph(&m, g, NULL), MINT_OK);
    int rank, dims[3];
    assert_int_equal(mint_model_tap_shape(m, "layer1.0.conv2.out", &rank, dims), MINT_OK);
    const size_t nt = (size_t)dims[0] * (size_t)dims[1] * (size_t)dims[2];
    float *x = malloc(sizeof(float) * 3 * 32 * 32), *a = malloc(sizeof(float) * nt),
          *b = malloc(sizeof(float) * nt);
    for (int i = 0; i < 3 * 32 * 32; i++)
        x[i] = (float)((i * 31) % 17) / 9.0f - 0.8f;
    const char *taps[2] = { "layer1.0.conv2.out", "embedding" };
    float *outs[2] = { a, NULL };
    assert_int_equal(mint_model_run(m, x, 1, NULL, 2, taps, outs), MINT_E_ARG);
    for (size_t i = 0; i < nt; i++)
        a[i] = NAN;
    assert_int_equal(mint_model_run(m, x, 1, NULL, 1, taps, outs), MINT_OK);
    for (size_t i = 0; i < nt; i++)
        assert_false(isnan(a[i]));
    /* and the same values as from a fresh model asked for it directly */
    mint_model *m2;
    assert_int_equal(net_iresnet_build(&g, &cfg, 5), MINT_OK);
    assert_int_equal(mint_model_from_graph(&m2, g, NULL), MINT_OK);
    outs[0] = b;
    assert_int_equal(mint_model_run(m2, x, 1, NULL, 1, taps, outs), MINT_OK);
    assert_memory_equal(a, b, sizeof(float) * nt);
    mint_model_close(m), mint_model_close(m2);
    free(x), free(a), free(b);
}

/* A model file whose weights hold a NaN, or a negative BatchNorm variance,
 * is refused when opened, naming the weight (not NaN embeddings later). */
static void test_damaged_values(void **state)
{
    (void)state;
    net_iresnet_cfg cfg = { { 1, 1, 1, 1 }, { 8, 8, 8, 8 }, 8, 32, 32, 3 };
    for (int k = 0; k < 2; k++) {
        net_graph *g;
        assert_int_equal(net_iresnet_build(&g, &cfg, 5), MINT_OK);
        const char *wname = k ? "layer2.0.bn1.running_var" : "layer3.0.conv1.weight";
        int id = net_graph_find_weight(g, wname);
        assert_true(id >= 0);
        g->weights[id].data[1] = k ? -0.5f : NAN;
        const char *p = test_tmp_path("damaged_net.mint");
        assert_int_equal(net_graph_save(g, p), MINT_OK);
        net_graph_free(g);
        mint_model *m = NULL;
        assert_int_equal(mint_model_open(&m, p), MINT_E_FORMAT);
        assert_non_null(strstr(mint_last_error(), wname));
        assert_non_null(strstr(mint_last_error(), "element 1"));
        assert_null(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_graph_roundtrip),
        cmocka_unit_test(test_graph_save_refuses),
        cmocka_unit_test(test_graph_corrupt),
        cmocka_unit_test(test_uncomputed_tensor_taps),
        cmocka_unit_test(test_refused_tap_then_tap),
        cmocka_unit_test(test_damaged_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
