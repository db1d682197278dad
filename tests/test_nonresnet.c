/* test_nonresnet.c - models that are not IResNets (issue 8, item 5): the
 * file names of taps (io_safe_name, docs/format.md "Extraction folders"),
 * the taps train and eval take from extract.txt when none are named, the
 * stage taps 'mint info' proposes for any network and 'mint convert
 * --stage-taps' names layer1..layer4, MXNet-style models that normalise
 * their input themselves (detected at convert). The CLI side (train/eval
 * taps, convert --stage-taps, MXNet-style and uint8 NHWC embed) is in
 * test_cli.c. */
#include "testutil.h"
#include <errno.h>
#include <math.h>
#include <sys/stat.h>
#include "io/dataset.h"
#include "io/npy.h"
#include "mint/extract.h"
#include "mint/features.h"
#include "net/graph.h"
#include "weights/container.h"
#include "convert/onnx.h"

/* The documented rule on awkward names: leading '.' and '/' dropped, '/'
 * and '\' -> '_', all else kept byte for byte; empty or too long refused. */
static void test_safe_name_rule(void **state)
{
    (void)state;
    static const char *const ok[][2] = {
        { "layer1", "layer1" },
        { "/layer1/Add_output_0", "layer1_Add_output_0" },
        { "../up/../x", "up_.._x" },
        { ".hidden.name", "hidden.name" },
        { "./a/b", "a_b" },
        { "stage3:0", "stage3:0" },
        { "a\\b/c", "a_b_c" },
        { "with space", "with space" },
        { "\xc3\xa9tage/\xe5\xb1\x82", "\xc3\xa9tage_\xe5\xb1\x82" }, /* "étage/层" */
        { "embedding.npy", "embedding.npy" },
    };
    char out[IO_SAFE_NAME_MAX + 1];
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        assert_int_equal(io_safe_name(ok[i][0], out, sizeof out), 0);
        assert_string_equal(out, ok[i][1]);
    }
    static const char *const bad[] = { "", ".", "..", "/", "./", "/./../" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(io_safe_name(bad[i], out, sizeof out), -1);
        assert_string_equal(out, "");
    }
    /* IO_SAFE_NAME_MAX bytes after the dropped prefix fit; one more does not */
    char name[IO_SAFE_NAME_MAX + 8];
    name[0] = '/';
    memset(name + 1, 'x', IO_SAFE_NAME_MAX);
    name[IO_SAFE_NAME_MAX + 1] = 0;
    assert_int_equal(io_safe_name(name, out, sizeof out), 0);
    assert_int_equal(strlen(out), IO_SAFE_NAME_MAX);
    strcat(name, "y");
    assert_int_equal(io_safe_name(name, out, sizeof out), -1);
    /* a buffer too small for the stem is a refusal too, never a silent cut */
    char small[4];
    assert_int_equal(io_safe_name("layer1", small, sizeof small), -1);
    assert_int_equal(io_safe_name("abc", small, sizeof small), 0);
}

static const char *mkdir_tmp(const char *name)
{
    const char *d = test_tmp_path(name);
    assert_true(mkdir(d, 0755) == 0 || errno == EEXIST);
    return d;
}

static void test_extract_taps_read(void **state)
{
    (void)state;
    char dir[512], path[700], buf[64];
    int n;
    snprintf(dir, sizeof dir, "%s", mkdir_tmp("xt_read"));
    assert_int_equal(mint_extract_taps(dir, buf, sizeof buf, &n), MINT_E_NOTFOUND);
    snprintf(path, sizeof path, "%s/extract.txt", dir);
    test_write_text(path, "mint extract run\nmodel aa\npool max\n");
    assert_int_equal(mint_extract_taps(dir, buf, sizeof buf, &n), MINT_E_NOTFOUND);
    test_write_text(path, "mint extract run\nmodel aa\ntaps /a/b stage3:0 embedding\npool max\n");
    assert_int_equal(mint_extract_taps(dir, buf, sizeof buf, &n), MINT_OK);
    assert_int_equal(n, 3);
    assert_string_equal(buf, "/a/b,stage3:0,embedding");
    char tiny[8];
    assert_int_equal(mint_extract_taps(dir, tiny, sizeof tiny, &n), MINT_E_ARG);
}

/* The kind's own taps stay the default unless extract.txt records taps
 * without them. */
static void test_default_taps(void **state)
{
    (void)state;
    char dir[512], path[700], buf[256];
    mint_taps_source src;
    snprintf(dir, sizeof dir, "%s", mkdir_tmp("xt_default"));
    snprintf(path, sizeof path, "%s/extract.txt", dir);
    /* no extract.txt, or a plain file: the kind's own */
    assert_int_equal(mint_feats_default_taps(dir, 0, buf, sizeof buf, &src), MINT_OK);
    assert_string_equal(buf, "layer1,layer2,layer3,layer4");
    assert_int_equal(src, MINT_TAPS_KIND);
    assert_int_equal(mint_feats_default_taps(NULL, 1, buf, sizeof buf, &src), MINT_OK);
    assert_string_equal(buf, "layer1");
    assert_int_equal(mint_feats_default_taps("nonexistent.npy", 2, buf, sizeof buf, &src), MINT_OK);
    assert_string_equal(buf, "embedding");
    /* the default extraction: each kind keeps its own */
    test_write_text(path, "mint extract run\ntaps layer1 layer2 layer3 layer4 embedding\n");
    static const char *const own[] = { "layer1,layer2,layer3,layer4", "layer1", "embedding" };
    for (int k = 0; k < 3; k++) {
        assert_int_equal(mint_feats_default_taps(dir, k, buf, sizeof buf, &src), MINT_OK);
        assert_string_equal(buf, own[k]);
        assert_int_equal(src, MINT_TAPS_KIND);
    }
    /* a network tapped by tensor names */
    test_write_text(path, "mint extract run\ntaps /s1/Add /s2/Add embedding\n");
    assert_int_equal(mint_feats_default_taps(dir, 0, buf, sizeof buf, &src), MINT_OK);
    assert_string_equal(buf, "/s1/Add,/s2/Add,embedding");
    assert_int_equal(src, MINT_TAPS_RECORDED);
    assert_int_equal(mint_feats_default_taps(dir, 1, buf, sizeof buf, &src), MINT_OK);
    assert_string_equal(buf, "/s1/Add");
    assert_int_equal(src, MINT_TAPS_FIRST);
    assert_int_equal(mint_feats_default_taps(dir, 2, buf, sizeof buf, &src), MINT_OK);
    assert_string_equal(buf, "embedding");
    assert_int_equal(src, MINT_TAPS_KIND);
    /* one recorded tap: cnn takes it without "first of" */
    test_write_text(path, "mint extract run\ntaps /s1/Add\n");
    assert_int_equal(mint_feats_default_taps(dir, 1, buf, sizeof buf, &src), MINT_OK);
    assert_string_equal(buf, "/s1/Add");
    assert_int_equal(src, MINT_TAPS_RECORDED);
    assert_int_equal(mint_feats_default_taps(dir, 2, buf, sizeof buf, &src), MINT_OK);
    assert_string_equal(buf, "/s1/Add");
    /* layer1 alone does not cover vanilla's four */
    test_write_text(path, "mint extract run\ntaps layer1 layer2\n");
    assert_int_equal(mint_feats_default_taps(dir, 0, buf, sizeof buf, &src), MINT_OK);
    assert_string_equal(buf, "layer1,layer2");
}

static const char *stage_name(const net_graph *g, const int *ids, int k)
{
    return g->tensors[ids[k]].name;
}

/* The stage proposal: an IResNet's gives its layer1..layer4 (the deepest
 * Add at each resolution, not the BatchNorm after layer4); a MobileFaceNet-
 * like net without four resolutions gives the three it has. */
static void test_stage_tensors(void **state)
{
    (void)state;
    net_graph *g;
    int ids[8];
    assert_int_equal(convert_onnx_import(&g, TEST_FIXTURES "/iresnet_small.onnx"), MINT_OK);
    assert_int_equal(net_graph_stage_tensors(g, ids, 8), 4);
    for (int k = 0; k < 4; k++) {
        char name[16];
        snprintf(name, sizeof name, "layer%d", k + 1);
        assert_int_equal(ids[k], net_graph_find_tap(g, name));
    }
    /* naming: unknown names and repeats refused, the four set otherwise */
    const char *bad[4] = { "/layer1/layer1.1/Add_output_0", "nope", "a", "b" };
    assert_int_equal(net_graph_set_stage_taps(g, bad), MINT_E_NOTFOUND);
    assert_non_null(strstr(mint_last_error(), "'nope'"));
    const char *twice[4] = { "embedding", "embedding", "/fc/Gemm_output_0", "data" };
    assert_int_equal(net_graph_set_stage_taps(g, twice), MINT_E_ARG);
    const char *other[4] = { "data", "/layer2/layer2.0/Add_output_0", "/fc/Gemm_output_0", "embedding" };
    assert_int_equal(net_graph_set_stage_taps(g, other), MINT_OK);
    assert_int_equal(net_graph_find_tap(g, "layer1"), g->input);
    assert_int_equal(net_graph_find_tap(g, "layer4"), g->output);
    net_graph_free(g);

    assert_int_equal(convert_onnx_import(&g, TEST_FIXTURES "/mobile_dw.onnx"), MINT_OK);
    assert_int_equal(net_graph_stage_tensors(g, ids, 8), 3);
    assert_string_equal(stage_name(g, ids, 0), "/Clip_output_0");
    assert_string_equal(stage_name(g, ids, 1), "/Add_output_0");
    assert_string_equal(stage_name(g, ids, 2), "/bn_post/BatchNormalization_output_0");
    assert_int_equal(net_graph_find_tap(g, "layer1"), -1);
    net_graph_free(g);
}

static net_graph *import(const char *name)
{
    char path[512];
    net_graph *g;
    snprintf(path, sizeof path, "%s/%s.onnx", TEST_FIXTURES, name);
    assert_int_equal(convert_onnx_import(&g, path), MINT_OK);
    return g;
}

/* The graphs that normalise 0..255 pixels themselves, and those that do not. */
static void test_normalises_pixels(void **state)
{
    (void)state;
    char desc[256];
    net_graph *g = import("mxnet_style");
    assert_int_equal(net_graph_normalises_pixels(g, desc, sizeof desc), 1);
    assert_non_null(strstr(desc, "_minusscalar0, _mulscalar0: x*0.0078125 -0.9960938"));
    net_graph_free(g);
    g = import("iresnet_r18like"); /* Sub 127.5, Mul 1/127.5 exported from PyTorch */
    assert_int_equal(net_graph_normalises_pixels(g, desc, sizeof desc), 1);
    net_graph_free(g);
    static const char *const plain[] = { "iresnet_small", "mobile_dw", "conv_bn" };
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        g = import(plain[i]);
        assert_int_equal(net_graph_normalises_pixels(g, desc, sizeof desc), 0);
        assert_string_equal(desc, "");
        net_graph_free(g);
    }
    /* a chain that maps 0..255 onto [0, 255*2] is not a pixel normalisation */
    g = import("mxnet_style");
    int mul = net_graph_find_weight(g, "_mulscalar0_scalar");
    assert_true(mul >= 0);
    g->weights[mul].data[0] = 2.0f;
    assert_int_equal(net_graph_normalises_pixels(g, desc, sizeof desc), 0);
    net_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_safe_name_rule),
        cmocka_unit_test(test_extract_taps_read),
        cmocka_unit_test(test_default_taps),
        cmocka_unit_test(test_stage_tensors),
        cmocka_unit_test(test_normalises_pixels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
