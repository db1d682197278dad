/* test_nonresnet.c - models that are not IResNets (issue 8, item 5): the
 * file names of taps (io_safe_name, docs/format.md "Extraction folders"),
 * the taps train and eval take from extract.txt when none are named, the
 * stage taps 'mint info' proposes for any network and 'mint convert
 * --stage-taps' names layer1..layer4, MXNet-style models that normalise
 * their input themselves (detected at convert), uint8 NHWC crops for embed. */
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
#include "weights/onnx.h"

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

static void write_text(const char *path, const char *text)
{
    assert_int_equal(test_write_file(path, text, strlen(text)), 0);
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
    write_text(path, "mint extract run\nmodel aa\npool max\n");
    assert_int_equal(mint_extract_taps(dir, buf, sizeof buf, &n), MINT_E_NOTFOUND);
    write_text(path, "mint extract run\nmodel aa\ntaps /a/b stage3:0 embedding\npool max\n");
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
    write_text(path, "mint extract run\ntaps layer1 layer2 layer3 layer4 embedding\n");
    static const char *const own[] = { "layer1,layer2,layer3,layer4", "layer1", "embedding" };
    for (int k = 0; k < 3; k++) {
        assert_int_equal(mint_feats_default_taps(dir, k, buf, sizeof buf, &src), MINT_OK);
        assert_string_equal(buf, own[k]);
        assert_int_equal(src, MINT_TAPS_KIND);
    }
    /* a network tapped by tensor names */
    write_text(path, "mint extract run\ntaps /s1/Add /s2/Add embedding\n");
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
    write_text(path, "mint extract run\ntaps /s1/Add\n");
    assert_int_equal(mint_feats_default_taps(dir, 1, buf, sizeof buf, &src), MINT_OK);
    assert_string_equal(buf, "/s1/Add");
    assert_int_equal(src, MINT_TAPS_RECORDED);
    assert_int_equal(mint_feats_default_taps(dir, 2, buf, sizeof buf, &src), MINT_OK);
    assert_string_equal(buf, "/s1/Add");
    /* layer1 alone does not cover vanilla's four */
    write_text(path, "mint extract run\ntaps layer1 layer2\n");
    assert_int_equal(mint_feats_default_taps(dir, 0, buf, sizeof buf, &src), MINT_OK);
    assert_string_equal(buf, "layer1,layer2");
}

/* A feature folder as 'mint extract' writes it: <stem>.npy per tap. */
static void write_feature_dir(const char *dir, const char *taps_line, const char *const *stems,
                              int nstems, int offset)
{
    char path[700];
    mkdir(dir, 0755);
    float x[41 * 6];
    for (int i = 0; i < 41 * 6; i++)
        x[i] = (float)((i * 37) % 23) / 11.0f;
    const int64_t dims[2] = { 40, 6 };
    for (int i = 0; i < nstems; i++) {
        snprintf(path, sizeof path, "%s/%s.npy", dir, stems[i]);
        assert_int_equal(io_npy_write(path, WT_F32, 2, dims, x + 6 * offset + i), MINT_OK);
    }
    snprintf(path, sizeof path, "%s/extract.txt", dir);
    char text[512];
    snprintf(text, sizeof text, "mint extract run\nmodel %064d\n%s\npool max\n", 0, taps_line);
    write_text(path, text);
}

static void test_cli_train_eval_taps(void **state)
{
    (void)state;
    if (!mint_bin()) {
        printf("  SKIP: the mint binary is not built next to the tests\n");
        skip();
    }
    char dm[512], de[512], out[512], json[512], args[4096], *o, *e;
    snprintf(dm, sizeof dm, "%s", test_tmp_path("xt_members"));
    snprintf(de, sizeof de, "%s", test_tmp_path("xt_external"));
    snprintf(out, sizeof out, "%s", test_tmp_path("xt.mint"));
    snprintf(json, sizeof json, "%s", test_tmp_path("xt.json"));
    /* taps named by ONNX tensor names: files by the documented rule */
    const char *stems[] = { "s1_Add", "stage2:0" };
    write_feature_dir(dm, "taps /s1/Add stage2:0", stems, 2, 0);
    write_feature_dir(de, "taps /s1/Add stage2:0", stems, 2, 1);
    snprintf(args, sizeof args, "train --kind vanilla --members '%s' --external '%s' --epochs 1 "
             "--batch 8 --quiet --out '%s'", dm, de, out);
    assert_int_equal(run_mint(args, NULL, &o, &e), 0);
    assert_non_null(strstr(e, "taps /s1/Add,stage2:0, as recorded in"));
    free(o), free(e);
    wt_file *f;
    assert_int_equal(wt_open(&f, out), MINT_OK);
    const wt_meta *m = wt_meta_find(f, "mint.taps");
    assert_non_null(m);
    assert_string_equal(m->str, "/s1/Add,stage2:0");
    wt_close(f);
    /* cnn on 2-D features is refused later, but the tap choice is said first */
    snprintf(args, sizeof args, "train --kind cnn --members '%s' --external '%s' --epochs 1 "
             "--batch 8 --quiet --out '%s'", dm, de, out);
    assert_int_not_equal(run_mint(args, NULL, &o, &e), 0);
    assert_non_null(strstr(e, "taps /s1/Add, the first of those recorded in"));
    free(o), free(e);

    /* a MINT model that records no taps (trained on .npy files) evaluated on
     * folders: eval reads the members' extract.txt */
    char one[512], onee[512];
    snprintf(one, sizeof one, "%s", test_tmp_path("xt_one_m"));
    snprintf(onee, sizeof onee, "%s", test_tmp_path("xt_one_e"));
    const char *stem1[] = { "s1_Add" };
    write_feature_dir(one, "taps /s1/Add", stem1, 1, 0);
    write_feature_dir(onee, "taps /s1/Add", stem1, 1, 1);
    snprintf(args, sizeof args, "train --kind vanilla --members '%s/s1_Add.npy' --external "
             "'%s/s1_Add.npy' --epochs 1 --batch 8 --quiet --out '%s'", one, onee, out);
    assert_int_equal(run_mint(args, NULL, &o, &e), 0);
    free(o), free(e);
    assert_int_equal(wt_open(&f, out), MINT_OK);
    m = wt_meta_find(f, "mint.taps");
    assert_true(!m || !m->str[0]);
    wt_close(f);
    snprintf(args, sizeof args, "eval --mint '%s' --members '%s' --external '%s' --json '%s'", out,
             one, onee, json);
    assert_int_equal(run_mint(args, NULL, &o, &e), 0);
    assert_non_null(strstr(o, "taps /s1/Add"));
    free(o), free(e);
    /* on files no taps are involved, and none are reported */
    snprintf(args, sizeof args, "eval --mint '%s' --members '%s/s1_Add.npy' --external "
             "'%s/s1_Add.npy' --json '%s'", out, one, onee, json);
    assert_int_equal(run_mint(args, NULL, &o, &e), 0);
    assert_null(strstr(o, "taps"));
    free(o), free(e);
    /* without extract.txt the old default (layer1..layer4) is looked for */
    char path[700];
    snprintf(path, sizeof path, "%s/extract.txt", one);
    assert_int_equal(unlink(path), 0);
    snprintf(args, sizeof args, "eval --mint '%s' --members '%s' --external '%s' --json '%s'", out,
             one, onee, json);
    assert_int_equal(run_mint(args, NULL, &o, &e), 1);
    assert_non_null(strstr(e, "layer1.npy"));
    free(o), free(e);
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
    assert_int_equal(wt_onnx_import(&g, TEST_FIXTURES "/iresnet_small.onnx"), MINT_OK);
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

    assert_int_equal(wt_onnx_import(&g, TEST_FIXTURES "/mobile_dw.onnx"), MINT_OK);
    assert_int_equal(net_graph_stage_tensors(g, ids, 8), 3);
    assert_string_equal(stage_name(g, ids, 0), "/Clip_output_0");
    assert_string_equal(stage_name(g, ids, 1), "/Add_output_0");
    assert_string_equal(stage_name(g, ids, 2), "/bn_post/BatchNormalization_output_0");
    assert_int_equal(net_graph_find_tap(g, "layer1"), -1);
    net_graph_free(g);
}

/* mint info prints a ready --stage-taps; mint convert --stage-taps names
 * them layer1..layer4, refusing the wrong count and unknown names. */
static void test_cli_stage_taps(void **state)
{
    (void)state;
    if (!mint_bin()) {
        printf("  SKIP: the mint binary is not built next to the tests\n");
        skip();
    }
    char out[512], args[4096], *o, *e;
    snprintf(out, sizeof out, "%s", test_tmp_path("st.mint"));
    snprintf(args, sizeof args, "convert --stage-taps a,b,c '%s/mobile_dw.onnx' '%s'",
             TEST_FIXTURES, out);
    assert_int_equal(run_mint(args, NULL, &o, &e), 2);
    assert_non_null(strstr(e, "four comma-separated"));
    assert_false(test_file_exists(out));
    free(o), free(e);
    snprintf(args, sizeof args, "convert --stage-taps /Clip_output_0,/Add_output_0,nope,x "
             "'%s/mobile_dw.onnx' '%s'", TEST_FIXTURES, out);
    assert_int_equal(run_mint(args, NULL, &o, &e), 1);
    assert_non_null(strstr(e, "'nope'"));
    assert_false(test_file_exists(out));
    free(o), free(e);
    /* a network with three resolutions: the proposal says so */
    snprintf(args, sizeof args, "convert '%s/mobile_dw.onnx' '%s'", TEST_FIXTURES, out);
    assert_int_equal(run_mint(args, NULL, &o, &e), 0);
    free(o), free(e);
    snprintf(args, sizeof args, "info --brief '%s'", out);
    assert_int_equal(run_mint(args, NULL, &o, &e), 0);
    assert_non_null(strstr(o, "/bn_post/BatchNormalization_output_0"));
    assert_non_null(strstr(o, "3 resolutions"));
    free(o), free(e);
    /* stage taps of any tensors, then --taps layer1 runs on them */
    snprintf(args, sizeof args, "convert --stage-taps /prelu1/PRelu_output_0,/Clip_output_0,"
             "/Add_output_0,/bn_post/BatchNormalization_output_0 '%s/mobile_dw.onnx' '%s'",
             TEST_FIXTURES, out);
    assert_int_equal(run_mint(args, NULL, &o, &e), 0);
    assert_non_null(strstr(o, "taps: embedding layer1 layer2 layer3 layer4"));
    free(o), free(e);
    char tapdir[512];
    snprintf(tapdir, sizeof tapdir, "%s", test_tmp_path("st_taps"));
    snprintf(args, sizeof args, "embed --model '%s' --input '%s/mobile_dw/input.npy' --taps "
             "layer1,layer4 --tap-dir '%s'", out, TEST_FIXTURES, tapdir);
    assert_int_equal(run_mint(args, NULL, &o, &e), 0);
    free(o), free(e);
    io_npy x;
    char path[700];
    snprintf(path, sizeof path, "%s/layer1.npy", tapdir);
    assert_int_equal(io_npy_read(path, &x), MINT_OK);
    assert_int_equal(x.rank, 4);
    assert_int_equal(x.dims[1], 16);
    assert_int_equal(x.dims[2], 32);
    io_npy_free(&x);

    /* an IResNet given other stage taps: info proposes its real stages as a
     * ready option, and converting with it gives them back */
    snprintf(args, sizeof args, "convert --stage-taps data,/fc/Gemm_output_0,embedding,/layer2/layer2.0/Add_output_0"
             " '%s/iresnet_small.onnx' '%s'", TEST_FIXTURES, out);
    assert_int_equal(run_mint(args, NULL, &o, &e), 0);
    free(o), free(e);
    snprintf(args, sizeof args, "info --brief '%s'", out);
    assert_int_equal(run_mint(args, NULL, &o, &e), 0);
    const char *want = "--stage-taps /layer1/layer1.1/Add_output_0,/layer2/layer2.1/Add_output_0,"
                       "/layer3/layer3.1/Add_output_0,/layer4/layer4.1/Add_output_0 IN.onnx";
    assert_non_null(strstr(o, want));
    free(o), free(e);
    snprintf(args, sizeof args, "convert --stage-taps /layer1/layer1.1/Add_output_0,"
             "/layer2/layer2.1/Add_output_0,/layer3/layer3.1/Add_output_0,"
             "/layer4/layer4.1/Add_output_0 '%s/iresnet_small.onnx' '%s'", TEST_FIXTURES, out);
    assert_int_equal(run_mint(args, NULL, &o, &e), 0);
    free(o), free(e);
    snprintf(args, sizeof args, "info --brief '%s'", out);
    assert_int_equal(run_mint(args, NULL, &o, &e), 0);
    assert_non_null(strstr(o, "this file's layer1..layer4"));
    free(o), free(e);
}

static net_graph *import(const char *name)
{
    char path[512];
    net_graph *g;
    snprintf(path, sizeof path, "%s/%s.onnx", TEST_FIXTURES, name);
    assert_int_equal(wt_onnx_import(&g, path), MINT_OK);
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

static float meta_f32(const char *path, const char *key, int k)
{
    wt_file *f;
    assert_int_equal(wt_open(&f, path), MINT_OK);
    const wt_meta *m = wt_meta_find(f, key);
    assert_non_null(m);
    assert_int_equal(m->type, WT_META_F32_ARR);
    float v = m->f32[k];
    wt_close(f);
    return v;
}

/* Largest |a - b| over two float32 .npy files of the same shape. */
static double npy_maxdiff(const char *a, const char *b, double *bmax)
{
    io_npy x, y;
    assert_int_equal(io_npy_read(a, &x), MINT_OK);
    assert_int_equal(io_npy_read(b, &y), MINT_OK);
    assert_int_equal(x.nbytes, y.nbytes);
    const float *p = x.data, *q = y.data;
    double d = 0, mx = 0;
    for (size_t i = 0; i < x.nbytes / 4; i++) {
        d = fmax(d, fabs((double)p[i] - q[i]));
        mx = fmax(mx, fabs((double)q[i]));
    }
    if (bmax)
        *bmax = mx;
    io_npy_free(&x);
    io_npy_free(&y);
    return d;
}

/* convert detects the MXNet-style input normalisation, stores identity on
 * 0..255 pixels and says so; embed of uint8 crops then matches PyTorch on
 * the raw pixels. Given --mean/--std win, with a warning (and the model is
 * then fed a twice-normalised input: the embedding moves). */
static void test_cli_mxnet_style(void **state)
{
    (void)state;
    if (!mint_bin()) {
        printf("  SKIP: the mint binary is not built next to the tests\n");
        skip();
    }
    char out[512], emb[512], args[4096], *o, *e;
    snprintf(out, sizeof out, "%s", test_tmp_path("mx.mint"));
    snprintf(emb, sizeof emb, "%s", test_tmp_path("mx_emb.npy"));
    const char *ref = TEST_FIXTURES "/mxnet_style/torch_embedding.npy";
    snprintf(args, sizeof args, "convert '%s/mxnet_style.onnx' '%s'", TEST_FIXTURES, out);
    assert_int_equal(run_mint(args, NULL, &o, &e), 0);
    assert_non_null(strstr(o, "normalises its input itself (_minusscalar0, _mulscalar0"));
    assert_non_null(strstr(o, "mean 0,0,0 std 1/255"));
    free(o), free(e);
    for (int k = 0; k < 3; k++) {
        assert_true(meta_f32(out, "mint.input_mean", k) == 0.0f);
        assert_true(meta_f32(out, "mint.input_std", k) == 1.0f / 255.0f);
    }
    snprintf(args, sizeof args, "embed --model '%s' --input '%s/mxnet_style/crops_u8.npy' "
             "--layout nhwc --output '%s'", out, TEST_FIXTURES, emb);
    assert_int_equal(run_mint(args, NULL, &o, &e), 0);
    free(o), free(e);
    double mx;
    assert_true(npy_maxdiff(emb, ref, &mx) <= 1e-5 * (1 + mx));

    /* the user's --mean wins, with a warning; the input is then normalised twice */
    snprintf(args, sizeof args, "convert --mean 0.5,0.5,0.5 '%s/mxnet_style.onnx' '%s'",
             TEST_FIXTURES, out);
    assert_int_equal(run_mint(args, NULL, &o, &e), 0);
    assert_non_null(strstr(e, "warning: the graph normalises its input itself"));
    free(o), free(e);
    assert_true(meta_f32(out, "mint.input_std", 0) == 0.5f);
    snprintf(args, sizeof args, "embed --model '%s' --input '%s/mxnet_style/crops_u8.npy' "
             "--layout nhwc --output '%s'", out, TEST_FIXTURES, emb);
    assert_int_equal(run_mint(args, NULL, &o, &e), 0);
    free(o), free(e);
    assert_true(npy_maxdiff(emb, ref, &mx) > 1e-3 * mx);

    /* a plain IResNet gets the defaults and no message */
    snprintf(args, sizeof args, "convert '%s/iresnet_small.onnx' '%s'", TEST_FIXTURES, out);
    assert_int_equal(run_mint(args, NULL, &o, &e), 0);
    assert_null(strstr(o, "normalises"));
    free(o), free(e);
    assert_true(meta_f32(out, "mint.input_std", 0) == 0.5f);
}

/* embed --layout nhwc: uint8 crops give what the same crops normalised by
 * hand as float NCHW give; --channel-order BGR crops (channels reversed)
 * give the same again; wrong inputs are refused clearly. */
static void test_cli_embed_nhwc(void **state)
{
    (void)state;
    if (!mint_bin()) {
        printf("  SKIP: the mint binary is not built next to the tests\n");
        skip();
    }
    enum { N = 2, H = 112, W = 112 };
    char model[512], u8[512], bgr[512], f32[512], e1[512], e2[512], e3[512], args[4096], *o, *e;
    snprintf(model, sizeof model, "%s", test_tmp_path("nhwc.mint"));
    snprintf(u8, sizeof u8, "%s", test_tmp_path("crops_rgb.npy"));
    snprintf(bgr, sizeof bgr, "%s", test_tmp_path("crops_bgr.npy"));
    snprintf(f32, sizeof f32, "%s", test_tmp_path("crops_f32.npy"));
    snprintf(e1, sizeof e1, "%s", test_tmp_path("nhwc_e1.npy"));
    snprintf(e2, sizeof e2, "%s", test_tmp_path("nhwc_e2.npy"));
    snprintf(e3, sizeof e3, "%s", test_tmp_path("nhwc_e3.npy"));
    snprintf(args, sizeof args, "convert --mean 0.4,0.5,0.6 --std 0.2,0.25,0.3 '%s/iresnet_small.onnx' '%s'",
             TEST_FIXTURES, model);
    assert_int_equal(run_mint(args, NULL, &o, &e), 0);
    free(o), free(e);
    static uint8_t rgb[N * H * W * 3], rev[N * H * W * 3];
    static float x[N * 3 * H * W];
    const float mean[3] = { 0.4f, 0.5f, 0.6f }, sd[3] = { 0.2f, 0.25f, 0.3f };
    uint32_t r = 99;
    for (int i = 0; i < N * H * W * 3; i++) {
        r = r * 1664525u + 1013904223u;
        rgb[i] = (uint8_t)(r >> 24);
    }
    for (int n = 0; n < N; n++)
        for (int p = 0; p < H * W; p++)
            for (int c = 0; c < 3; c++) {
                const uint8_t v = rgb[(n * H * W + p) * 3 + c];
                rev[(n * H * W + p) * 3 + 2 - c] = v;
                x[(n * 3 + c) * H * W + p] = ((float)v / 255.0f - mean[c]) / sd[c];
            }
    const int64_t du[4] = { N, H, W, 3 }, df[4] = { N, 3, H, W };
    assert_int_equal(io_npy_write(u8, WT_U8, 4, du, rgb), MINT_OK);
    assert_int_equal(io_npy_write(bgr, WT_U8, 4, du, rev), MINT_OK);
    assert_int_equal(io_npy_write(f32, WT_F32, 4, df, x), MINT_OK);
    snprintf(args, sizeof args, "embed --model '%s' --input '%s' --output '%s'", model, f32, e1);
    assert_int_equal(run_mint(args, NULL, &o, &e), 0);
    free(o), free(e);
    snprintf(args, sizeof args, "embed --model '%s' --input '%s' --layout nhwc --output '%s'",
             model, u8, e2);
    assert_int_equal(run_mint(args, NULL, &o, &e), 0);
    free(o), free(e);
    snprintf(args, sizeof args, "embed --model '%s' --input '%s' --layout nhwc --channel-order BGR "
             "--batch 1 --output '%s'", model, bgr, e3);
    assert_int_equal(run_mint(args, NULL, &o, &e), 0);
    free(o), free(e);
    double mx;
    assert_true(npy_maxdiff(e2, e1, &mx) <= 1e-6 * (1 + mx));
    assert_true(mx > 0);
    assert_true(npy_maxdiff(e3, e1, NULL) <= 1e-6 * (1 + mx));
    /* the BGR crops read as RGB differ */
    snprintf(args, sizeof args, "embed --model '%s' --input '%s' --layout nhwc --output '%s'",
             model, bgr, e3);
    assert_int_equal(run_mint(args, NULL, &o, &e), 0);
    free(o), free(e);
    assert_true(npy_maxdiff(e3, e1, NULL) > 1e-3 * mx);
    /* refusals */
    snprintf(args, sizeof args, "embed --model '%s' --input '%s' --layout nhwc --output '%s'",
             model, f32, e3);
    assert_int_equal(run_mint(args, NULL, &o, &e), 1);
    assert_non_null(strstr(e, "--layout nhwc expects uint8 crops [N,112,112,3], got f32 [2,3,112,112]"));
    free(o), free(e);
    snprintf(args, sizeof args, "embed --model '%s' --input '%s' --output '%s'", model, u8, e3);
    assert_int_equal(run_mint(args, NULL, &o, &e), 1);
    assert_non_null(strstr(e, "expected float32 [N,3,112,112]"));
    free(o), free(e);
    snprintf(args, sizeof args, "embed --model '%s' --input '%s' --channel-order BGR --output '%s'",
             model, u8, e3);
    assert_int_equal(run_mint(args, NULL, &o, &e), 2);
    assert_non_null(strstr(e, "--channel-order goes with --layout nhwc"));
    free(o), free(e);
    snprintf(args, sizeof args, "embed --model '%s' --input '%s' --layout hwc --output '%s'",
             model, u8, e3);
    assert_int_equal(run_mint(args, NULL, &o, &e), 2);
    free(o), free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_safe_name_rule),
        cmocka_unit_test(test_extract_taps_read),
        cmocka_unit_test(test_default_taps),
        cmocka_unit_test(test_cli_train_eval_taps),
        cmocka_unit_test(test_stage_tensors),
        cmocka_unit_test(test_cli_stage_taps),
        cmocka_unit_test(test_normalises_pixels),
        cmocka_unit_test(test_cli_mxnet_style),
        cmocka_unit_test(test_cli_embed_nhwc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
