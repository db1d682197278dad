/* test_cli.c - the mint command line, run as a program (build/<dir>/mint
 * beside this test; MINT_TEST_EXEC runs it under qemu in cross builds):
 * what it prints, its exit status (0 done, 1 failed, 2 usage) and the files
 * it writes or leaves alone. Library behaviour is tested in the other
 * test_*.c files; these tests check the CLI logic on top of it. Sections:
 *  - info, embed, help and usage errors, MINT_ISA;
 *  - train: the network its inputs came from, shared images (SHA-256 in
 *    index.csv, image lists), taps from extract.txt, collapse, --resume;
 *  - non-IResNet models: stage taps, MXNet-style input, uint8 NHWC crops;
 *  - messages new users met (issue 8): dtypes, missing paths, error words,
 *    plurals, far-away landmarks, a MINT model given as a network. */
#include "testutil.h"
#include <errno.h>
#include <math.h>
#include <sys/stat.h>
#include "io/image.h"
#include "io/npy.h"
#include "mint/model.h"
#include "mint/stats.h"
#include "mint/train.h"
#include "mint/trainset.h"
#include "net/graph.h"
#include "net/iresnet.h"
#include "weights/container.h"
#include "net/graph_io.h"

/* ---------------- info, embed, help, usage ---------------- */

/* The lines of text starting with "usage:" or continuing one. */
static int has_synopsis(const char *text, const char *cmd)
{
    char want[64];
    snprintf(want, sizeof want, "usage: mint %s ", cmd);
    return strstr(text, want) != NULL;
}

static void test_cli_info_embed_help(void **state)
{
    (void)state;
    TEST_NEED_MINT();
    net_iresnet_cfg cfg = { { 1, 1, 1, 1 }, { 8, 16, 16, 24 }, 16, 112, 112, 3 };
    net_graph *g;
    assert_int_equal(net_iresnet_build(&g, &cfg, 9), MINT_OK);
    /* test_tmp_path's buffers rotate: keep copies */
    char model[512], in[512], td[512], td2[512], bad[512], yout[512];
    snprintf(model, sizeof model, "%s", test_tmp_path("cli.mint"));
    snprintf(in, sizeof in, "%s", test_tmp_path("cli_x.npy"));
    snprintf(td, sizeof td, "%s", test_tmp_path("cli_taps"));
    snprintf(td2, sizeof td2, "%s", test_tmp_path("cli_taps2"));
    snprintf(bad, sizeof bad, "%s", test_tmp_path("cli_bad.npy"));
    snprintf(yout, sizeof yout, "%s", test_tmp_path("cli_y.npy"));
    assert_int_equal(net_graph_save(g, model), MINT_OK);
    char *o, *e, args[4096];

    /* info --tensors lists every computed tensor with its shape */
    snprintf(args, sizeof args, "info --brief --tensors '%s'", model);
    assert_int_equal(run_mint(args, NULL, &o, &e), 0);
    for (int i = 0; i < g->nnodes; i++)
        assert_non_null(strstr(o, g->tensors[g->nodes[i].out].name));
    assert_non_null(strstr(o, "conv1.out"));
    char *line = strstr(o, "\n  conv1.out ");
    assert_non_null(line);
    assert_non_null(strstr(line, "[N,8,112,112]\n"));
    assert_null(strstr(o, "not computed"));
    free(o);
    free(e);
    snprintf(args, sizeof args, "info --brief '%s'", model);
    assert_int_equal(run_mint(args, NULL, &o, &e), 0);
    assert_null(strstr(o, "conv1.out")); /* only with --tensors */
    assert_non_null(strstr(o, "mint info --tensors"));
    free(o);
    free(e);

    /* embed: a tap on a conv output the BN after it would fold away */
    enum { N = 3 };
    float *x = malloc(sizeof(float) * N * 3 * 112 * 112);
    assert_non_null(x);
    for (size_t i = 0; i < (size_t)N * 3 * 112 * 112; i++)
        x[i] = (float)sin((double)i * 0.3);
    int64_t dims[4] = { N, 3, 112, 112 };
    assert_int_equal(io_npy_write(in, BASE_F32, 4, dims, x), MINT_OK);
    snprintf(args, sizeof args, "embed --model '%s' --input '%s' --taps conv1.out,bn1.out "
             "--tap-dir '%s' --batch 2", model, in, td);
    assert_int_equal(run_mint(args, NULL, &o, &e), 0);
    /* progress into a file: whole lines, no carriage returns */
    assert_null(strchr(e, '\r'));
    assert_non_null(strstr(e, "mint embed: 3/3 images"));
    assert_true(e[strlen(e) - 1] == '\n');
    free(o);
    free(e);
    char p[4200];
    snprintf(p, sizeof p, "%s/conv1.out.npy", td);
    io_npy t;
    assert_int_equal(io_npy_read(p, &t), MINT_OK);
    assert_int_equal(t.rank, 4);
    assert_true(t.dims[0] == N && t.dims[1] == 8 && t.dims[2] == 112 && t.dims[3] == 112);
    double ss = 0;
    for (size_t i = 0; i < (size_t)N * 8 * 112 * 112; i++)
        ss += (double)((float *)t.data)[i] * ((float *)t.data)[i];
    assert_true(ss > 0 && isfinite(ss));
    io_npy_free(&t);

    /* the same tap twice: refused before anything is written */
    snprintf(args, sizeof args, "embed --model '%s' --input '%s' --output '%s/y.npy' "
             "--taps layer1,conv1.out,layer1 --tap-dir '%s'", model, in, td2, td2);
    assert_int_equal(run_mint(args, NULL, &o, &e), 2);
    assert_non_null(strstr(e, "--taps names 'layer1' twice"));
    assert_true(has_synopsis(e, "embed"));
    assert_int_equal(access(td2, F_OK), -1);
    free(o);
    free(e);
    /* --tap-dir without --taps */
    snprintf(args, sizeof args, "embed --model '%s' --input '%s' --output '%s/y.npy' "
             "--tap-dir '%s'", model, in, td2, td2);
    assert_int_equal(run_mint(args, NULL, &o, &e), 2);
    assert_non_null(strstr(e, "--tap-dir needs --taps"));
    free(o);
    free(e);
    /* a wrong input shape names the real dims only */
    assert_int_equal(io_npy_write(bad, BASE_F32, 3, dims, x), MINT_OK);
    snprintf(args, sizeof args, "embed --model '%s' --input '%s' --output '%s'", model, bad, yout);
    assert_int_equal(run_mint(args, NULL, &o, &e), 1);
    assert_non_null(strstr(e, "got f32 [3,3,112]\n"));
    free(o);
    free(e);
    free(x);

    /* mint help CMD is mint CMD --help, for every command */
    static const char *const cmds[] = { "convert", "info", "embed", "extract", "merge",
                                        "train", "eval", "audit", "demo" };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char *o2, *e2;
        snprintf(args, sizeof args, "help %s", cmds[i]);
        assert_int_equal(run_mint(args, NULL, &o, &e), 0);
        snprintf(args, sizeof args, "%s --help", cmds[i]);
        assert_int_equal(run_mint(args, NULL, &o2, &e2), 0);
        assert_string_equal(o, o2);
        assert_true(has_synopsis(o, cmds[i]));
        free(o);
        free(e);
        free(o2);
        free(e2);
    }
    assert_int_equal(run_mint("help frobnicate", NULL, &o, &e), 2);
    free(o);
    free(e);
    /* a usage error: the message, then the command's usage lines; status 2 */
    assert_int_equal(run_mint("convert only-one-file.onnx", NULL, &o, &e), 2);
    assert_non_null(strstr(e, "mint convert: needs IN.onnx and OUT.mint\nusage: mint convert "));
    free(o);
    free(e);
    snprintf(args, sizeof args, "info --frobnicate '%s'", model);
    assert_int_equal(run_mint(args, NULL, &o, &e), 2);
    assert_true(has_synopsis(e, "info"));
    free(o);
    free(e);
    assert_int_equal(run_mint("demo --batch 0", NULL, &o, &e), 2);
    assert_true(has_synopsis(e, "demo"));
    free(o);
    free(e);

    /* MINT_ISA naming no usable path: a warning, then the best path */
    assert_int_equal(run_mint("--version", "MINT_ISA=foo", &o, &e), 0);
    assert_non_null(strstr(e, "warning: MINT_ISA=foo ignored"));
    assert_non_null(strstr(e, "available: scalar"));
    free(o);
    free(e);
    assert_int_equal(run_mint("--version", "MINT_ISA=scalar", &o, &e), 0);
    assert_string_equal(e, "");
    assert_non_null(strstr(o, "kernels: scalar"));
    free(o);
    free(e);
    net_graph_free(g);
}

/* ---------------- train ---------------- */

/* mint train binds the MINT model to the network named by the extract.txt
 * of its inputs: two different networks are refused, an unknown one is
 * warned about (the CLI logic; the library checks are in test_audit). */
static void test_cli_train_network(void **state)
{
    (void)state;
    TEST_NEED_MINT();
    char dm[512], de[512], path[700], out[512], args[4096], *o, *e;
    snprintf(dm, sizeof dm, "%s", test_tmp_path("tn_members"));
    snprintf(de, sizeof de, "%s", test_tmp_path("tn_external"));
    snprintf(out, sizeof out, "%s", test_tmp_path("tn.mint"));
    mkdir(dm, 0755);
    mkdir(de, 0755);
    float x[41 * 6]; /* members rows 0..39, external rows 1..40 */
    for (int i = 0; i < 41 * 6; i++)
        x[i] = (float)((i * 37) % 23) / 11.0f;
    const int64_t dims[2] = { 40, 6 };
    snprintf(path, sizeof path, "%s/layer1.npy", dm);
    assert_int_equal(io_npy_write(path, BASE_F32, 2, dims, x), MINT_OK);
    snprintf(path, sizeof path, "%s/layer1.npy", de);
    assert_int_equal(io_npy_write(path, BASE_F32, 2, dims, x + 6), MINT_OK);
    const char *a = "model aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n";
    const char *b = "model bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n";
    snprintf(path, sizeof path, "%s/extract.txt", dm);
    assert_int_equal(test_write_file(path, a, strlen(a)), 0);
    snprintf(path, sizeof path, "%s/extract.txt", de);
    assert_int_equal(test_write_file(path, b, strlen(b)), 0);
    /* two networks: refused */
    snprintf(args, sizeof args, "train --kind vanilla --members '%s' --external '%s' --taps layer1 "
             "--epochs 1 --batch 8 --quiet --out '%s'", dm, de, out);
    assert_int_equal(run_mint(args, NULL, &o, &e), 1);
    assert_non_null(strstr(e, "different networks"));
    free(o), free(e);
    /* the external side a plain .npy elsewhere: trained, with a warning, bound to A */
    char plain[512];
    snprintf(plain, sizeof plain, "%s", test_tmp_path("tn_plain.npy"));
    assert_int_equal(io_npy_write(plain, BASE_F32, 2, dims, x + 6), MINT_OK);
    snprintf(args, sizeof args, "train --kind vanilla --members '%s' --external '%s' --taps layer1 "
             "--epochs 1 --batch 8 --quiet --out '%s'", dm, plain, out);
    assert_int_equal(run_mint(args, NULL, &o, &e), 0);
    assert_non_null(strstr(e, "has no extract.txt"));
    free(o), free(e);
    wt_file *f;
    assert_int_equal(wt_open(&f, out), MINT_OK);
    const wt_meta *m = wt_meta_find(f, "mint.network_sha256");
    assert_non_null(m);
    assert_string_equal(m->str, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    wt_close(f);
}

/* Hex SHA-256 whose first 16 digits encode k (the rest fixed). */
static void fake_sha(uint64_t k, char hex[65])
{
    snprintf(hex, 65, "%016llx%048d", (unsigned long long)k, 0);
}

/* An extract-like folder: layer1.npy [n,6] (row i filled with i + salt),
 * index.csv whose image i has key keys[i] and name names[i], extract.txt
 * when net is given. keys NULL: no index.csv. */
static void make_feats_dir(const char *dir, int n, const uint64_t *keys, const char *const *names,
                           float salt, const char *net)
{
    mkdir(dir, 0755);
    float *x = malloc(sizeof(float) * (size_t)n * 6);
    for (int i = 0; i < n * 6; i++)
        x[i] = (float)(i / 6) + salt + 0.01f * (float)(i % 6);
    const int64_t dims[2] = { n, 6 };
    char path[700];
    snprintf(path, sizeof path, "%s/layer1.npy", dir);
    assert_int_equal(io_npy_write(path, BASE_F32, 2, dims, x), MINT_OK);
    free(x);
    if (keys) {
        snprintf(path, sizeof path, "%s/index.csv", dir);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fprintf(f, "row,file,label,sha256\n");
        for (int i = 0; i < n; i++) {
            char hex[65];
            fake_sha(keys[i], hex);
            fprintf(f, "%d,%s,p%d,%s\n", i, names[i], i, hex);
        }
        fclose(f);
    }
    if (net) {
        snprintf(path, sizeof path, "%s/extract.txt", dir);
        char line[128];
        snprintf(line, sizeof line, "model %s\n", net);
        assert_int_equal(test_write_file(path, line, strlen(line)), 0);
    }
}

static const char *const net_a =
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

static void test_cli_train_refuses_shared(void **state)
{
    (void)state;
    TEST_NEED_MINT();
    char dm[512], de[512], out[512], args[4096], *o, *e;
    snprintf(dm, sizeof dm, "%s", test_tmp_path("ov_members"));
    snprintf(de, sizeof de, "%s", test_tmp_path("ov_external"));
    snprintf(out, sizeof out, "%s", test_tmp_path("ov.mint"));
    uint64_t km[20], ke[20];
    const char *nm[20], *ne[20];
    static char names[40][32];
    for (int i = 0; i < 20; i++) {
        km[i] = 1000 + (uint64_t)i;
        ke[i] = 2000 + (uint64_t)i;
        snprintf(names[i], sizeof names[i], "m/img%02d.jpg", i);
        snprintf(names[20 + i], sizeof names[20 + i], "e/img%02d.jpg", i);
        nm[i] = names[i];
        ne[i] = names[20 + i];
    }
    /* external images 3, 4, 5, 6 are members 10, 11, 12, 13 */
    for (int i = 3; i < 7; i++)
        ke[i] = km[i + 7];
    make_feats_dir(dm, 20, km, nm, 0.0f, net_a);
    make_feats_dir(de, 20, ke, ne, 0.5f, net_a);
    snprintf(args, sizeof args, "train --kind vanilla --members '%s' --external '%s' --taps layer1 "
             "--epochs 1 --batch 4 --quiet --out '%s'", dm, de, out);
    assert_int_equal(run_mint(args, NULL, &o, &e), 1);
    assert_non_null(strstr(e, "share 4 images (same SHA-256)"));
    assert_non_null(strstr(e, "m/img10.jpg = e/img03.jpg, m/img11.jpg = e/img04.jpg, "
                              "m/img12.jpg = e/img05.jpg, ..."));
    assert_false(test_file_exists(out));
    free(o), free(e);

    /* the same folder as both, with its index.csv: every image shared */
    snprintf(args, sizeof args, "train --kind vanilla --members '%s' --external '%s/' --taps layer1 "
             "--epochs 1 --batch 4 --quiet --out '%s'", dm, dm, out);
    assert_int_equal(run_mint(args, NULL, &o, &e), 1);
    assert_non_null(strstr(e, "the same folder"));
    assert_false(test_file_exists(out));
    free(o), free(e);

    /* disjoint sets train; a repeat within the external data is warned about */
    for (int i = 3; i < 7; i++)
        ke[i] = 3000 + (uint64_t)i;
    ke[19] = ke[2];
    make_feats_dir(de, 20, ke, ne, 0.5f, net_a);
    snprintf(args, sizeof args, "train --kind vanilla --members '%s' --external '%s' --taps layer1 "
             "--epochs 1 --batch 4 --quiet --holdout 0.2 --out '%s'", dm, de, out);
    assert_int_equal(run_mint(args, NULL, &o, &e), 0);
    assert_non_null(strstr(e, "warning: 1 of the external images"));
    assert_non_null(strstr(e, "(e/img19.jpg = e/img02.jpg)"));
    assert_null(strstr(e, "member images"));
    free(o), free(e);
    /* the model records its images: 20 members, 19 distinct external (4 held out) */
    mint_tm *tm;
    assert_int_equal(mint_tm_load(&tm, out), MINT_OK);
    assert_true(tm->trainset.recorded);
    assert_int_equal(tm->trainset.n[MINT_TS_MEMBERS], 20);
    assert_int_equal(tm->trainset.n[MINT_TS_REFERENCE], 4);
    int64_t c[MINT_TS_SETS];
    for (int i = 0; i < 20; i++) {
        const unsigned m = mint_trainset_find(&tm->trainset, ke[i]);
        assert_true(m && !(m & (1u << MINT_TS_MEMBERS)));
    }
    mint_trainset_count(&tm->trainset, km, 20, c);
    assert_int_equal(c[MINT_TS_MEMBERS], 20);
    mint_tm_free(tm);
    remove(out);
}

/* Without index.csv nothing tells which images the features are: said,
 * and the same folder twice is still refused. */
static void test_cli_train_no_index(void **state)
{
    (void)state;
    TEST_NEED_MINT();
    char dm[512], de[512], out[512], args[4096], *o, *e;
    snprintf(dm, sizeof dm, "%s", test_tmp_path("ni_members"));
    snprintf(de, sizeof de, "%s", test_tmp_path("ni_external"));
    snprintf(out, sizeof out, "%s", test_tmp_path("ni.mint"));
    make_feats_dir(dm, 12, NULL, NULL, 0.0f, net_a);
    make_feats_dir(de, 12, NULL, NULL, 0.5f, net_a);
    snprintf(args, sizeof args, "train --kind vanilla --members '%s/layer1.npy' --external "
             "'%s/layer1.npy' --epochs 1 --batch 4 --quiet --out '%s'", dm, dm, out);
    assert_int_equal(run_mint(args, NULL, &o, &e), 1);
    assert_non_null(strstr(e, "the same file"));
    free(o), free(e);
    snprintf(args, sizeof args, "train --kind vanilla --members '%s' --external '%s' --taps layer1 "
             "--epochs 1 --batch 4 --quiet --holdout 0 --out '%s'", dm, de, out);
    assert_int_equal(run_mint(args, NULL, &o, &e), 0);
    assert_non_null(strstr(e, "no index.csv"));
    assert_non_null(strstr(e, "nothing checked that the members and the external data share "
                              "no images"));
    free(o), free(e);
    mint_tm *tm;
    assert_int_equal(mint_tm_load(&tm, out), MINT_OK);
    assert_false(tm->trainset.recorded);
    mint_tm_free(tm);
    remove(out);
}

/* Image lists with --model: hashed before any feature is computed. */
static void test_cli_train_lists_shared(void **state)
{
    (void)state;
    TEST_NEED_MINT();
    char net[512], lm[512], le[512], out[512], args[4096], *o, *e;
    snprintf(net, sizeof net, "%s", test_tmp_path("ls_net.mint"));
    snprintf(lm, sizeof lm, "%s", test_tmp_path("ls_members.txt"));
    snprintf(le, sizeof le, "%s", test_tmp_path("ls_external.txt"));
    snprintf(out, sizeof out, "%s", test_tmp_path("ls.mint"));
    net_iresnet_cfg cfg = { { 1, 1, 1, 1 }, { 8, 16, 16, 24 }, 16, 112, 112, 3 };
    net_graph *g;
    assert_int_equal(net_iresnet_build(&g, &cfg, 3), MINT_OK);
    assert_int_equal(net_graph_save(g, net), MINT_OK);
    net_graph_free(g);
    /* a copy of a member under another name is still the same image */
    const char *copy = test_tmp_path("renamed_copy.png");
    size_t n;
    void *png = test_read_file(TEST_FIXTURES "/align/AJ_Cook_0001.png", &n);
    assert_non_null(png);
    assert_int_equal(test_write_file(copy, png, n), 0);
    free(png);
    char text[2048];
    snprintf(text, sizeof text, "%s/align/AJ_Cook_0001.png\n%s/align/Bill_Simon_0011.png\n",
             TEST_FIXTURES, TEST_FIXTURES);
    assert_int_equal(test_write_file(lm, text, strlen(text)), 0);
    snprintf(text, sizeof text, "%s/align/Hu_Jintao_0006.png\n%s\n", TEST_FIXTURES, copy);
    assert_int_equal(test_write_file(le, text, strlen(text)), 0);
    snprintf(args, sizeof args, "train --kind vanilla --model '%s' --members-list '%s' "
             "--external-list '%s' --epochs 1 --batch 2 --holdout 0 --out '%s'", net, lm, le, out);
    assert_int_equal(run_mint(args, NULL, &o, &e), 1);
    assert_non_null(strstr(e, "share 1 image (same SHA-256)"));
    assert_non_null(strstr(e, "AJ_Cook_0001.png = "));
    assert_non_null(strstr(e, "renamed_copy.png"));
    assert_null(strstr(o, "computing features")); /* refused before */
    assert_false(test_file_exists(out));
    free(o), free(e);
}

/* A feature folder as 'mint extract' writes it: <stem>.npy per tap. */
static void write_feature_dir(const char *dir, const char *taps_line, const char *const *stems,
                              int nstems, int offset)
{
    char path[700];
    mkdir(dir, 0755);
    /* 40 rows of 6 from x + 6 * offset + i (offset <= 1, nstems <= 6): it
     * read past x[41 * 6] for offset 1 and the second stem (ASan) */
    float x[42 * 6];
    for (int i = 0; i < 42 * 6; i++)
        x[i] = (float)((i * 37) % 23) / 11.0f;
    const int64_t dims[2] = { 40, 6 };
    assert_true(offset >= 0 && offset <= 1 && nstems <= 6);
    for (int i = 0; i < nstems; i++) {
        snprintf(path, sizeof path, "%s/%s.npy", dir, stems[i]);
        assert_int_equal(io_npy_write(path, BASE_F32, 2, dims, x + 6 * offset + i), MINT_OK);
    }
    snprintf(path, sizeof path, "%s/extract.txt", dir);
    char text[512];
    snprintf(text, sizeof text, "mint extract run\nmodel %064d\n%s\npool max\n", 0, taps_line);
    test_write_text(path, text);
}

static void test_cli_train_eval_taps(void **state)
{
    (void)state;
    TEST_NEED_MINT();
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

/* ---------------- non-IResNet models ---------------- */

/* mint info prints a ready --stage-taps; mint convert --stage-taps names
 * them layer1..layer4, refusing the wrong count and unknown names. */
static void test_cli_stage_taps(void **state)
{
    (void)state;
    TEST_NEED_MINT();
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
    TEST_NEED_MINT();
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
    TEST_NEED_MINT();
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
    assert_int_equal(io_npy_write(u8, BASE_U8, 4, du, rgb), MINT_OK);
    assert_int_equal(io_npy_write(bgr, BASE_U8, 4, du, rev), MINT_OK);
    assert_int_equal(io_npy_write(f32, BASE_F32, 4, df, x), MINT_OK);
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

/* ---------------- messages (issue 8 defects) ---------------- */

/* A small IResNet saved to a scratch file (path copied into buf). */
static void small_model(char *buf, size_t n)
{
    snprintf(buf, n, "%s", test_tmp_path("defects_net.mint"));
    if (test_file_exists(buf))
        return;
    net_iresnet_cfg cfg = { { 1, 1, 1, 1 }, { 8, 16, 16, 24 }, 16, 112, 112, 3 };
    net_graph *g;
    assert_int_equal(net_iresnet_build(&g, &cfg, 9), MINT_OK);
    assert_int_equal(net_graph_save(g, buf), MINT_OK);
    net_graph_free(g);
}

/* Writes a float64 .npy [n,3,112,112] (a dtype no mint reader takes). */
static void write_f64(const char *path, int n)
{
    char hdr[128];
    int hl = snprintf(hdr, sizeof hdr, "{'descr': '<f8', 'fortran_order': False, 'shape': (%d, 3, "
                      "112, 112), }", n);
    while ((10 + hl + 1) % 64)
        hdr[hl++] = ' ';
    hdr[hl++] = '\n';
    size_t data = (size_t)n * 3 * 112 * 112 * 8, len = 10 + (size_t)hl + data;
    unsigned char *b = calloc(1, len);
    assert_non_null(b);
    memcpy(b, "\x93NUMPY\x01\x00", 8);
    b[8] = (unsigned char)hl;
    b[9] = 0;
    memcpy(b + 10, hdr, (size_t)hl);
    assert_int_equal(test_write_file(path, b, len), 0);
    free(b);
}

/* embed: a dtype error is not a "shape mismatch", and the message does not
 * offer dtypes that embed refuses. */
static void test_embed_dtype(void **state)
{
    (void)state;
    TEST_NEED_MINT();
    char model[512], in[512], out[512], args[4096], *o, *e;
    small_model(model, sizeof model);
    snprintf(in, sizeof in, "%s", test_tmp_path("embed_f16.npy"));
    snprintf(out, sizeof out, "%s", test_tmp_path("embed_y.npy"));
    const int64_t dims[4] = { 1, 3, 112, 112 };
    uint16_t *h = calloc(3 * 112 * 112, sizeof *h);
    assert_non_null(h);
    assert_int_equal(io_npy_write(in, BASE_F16, 4, dims, h), MINT_OK);
    free(h);
    snprintf(args, sizeof args, "embed --model '%s' --input '%s' --output '%s'", model, in, out);
    assert_int_equal(run_mint(args, NULL, &o, &e), 1);
    assert_null(strstr(e, "shape mismatch"));
    assert_non_null(strstr(e, "mint embed: unsupported: "));
    assert_non_null(strstr(e, "expected float32 [N,3,112,112], got f16 [1,3,112,112]"));
    free(o), free(e);
    /* float64: no reader takes it; only float32 is offered */
    snprintf(in, sizeof in, "%s", test_tmp_path("embed_f64.npy"));
    write_f64(in, 1);
    snprintf(args, sizeof args, "embed --model '%s' --input '%s' --output '%s'", model, in, out);
    assert_int_equal(run_mint(args, NULL, &o, &e), 1);
    assert_non_null(strstr(e, "'<f8'"));
    assert_non_null(strstr(e, "takes float32"));
    assert_null(strstr(e, "<f2"));
    assert_null(strstr(e, "<i8"));
    free(o), free(e);
    assert_false(test_file_exists(out));
}

/* audit on a path that does not exist: a usage error, no report. */
static void test_audit_missing_path(void **state)
{
    (void)state;
    TEST_NEED_MINT();
    char rep[512], args[4096], *o, *e;
    snprintf(rep, sizeof rep, "%s", test_tmp_path("missing_audit.json"));
    snprintf(args, sizeof args, "audit --model m.mint --mint t.mint --report '%s' '%s'", rep,
             test_tmp_path("no_such_folder/"));
    assert_int_equal(run_mint(args, NULL, &o, &e), 2);
    assert_non_null(strstr(e, "no_such_folder/: no such file or folder"));
    assert_non_null(strstr(e, "usage: mint audit"));
    assert_false(test_file_exists(rep));
    free(o), free(e);
}

/* The CLI's messages: a missing file reads "cannot open", a refusal
 * "refused"; never errno's "input/output error"/"invalid argument". */
static void test_error_words(void **state)
{
    (void)state;
    TEST_NEED_MINT();
    assert_string_equal(mint_strerror(MINT_E_ARG), "refused");
    assert_null(strstr(mint_strerror(MINT_E_IO), "input/output"));
    char args[4096], empty[512], *o, *e;
    snprintf(args, sizeof args, "info '%s'", test_tmp_path("no_such.mint"));
    assert_int_equal(run_mint(args, NULL, &o, &e), 1);
    assert_null(strstr(e, "input/output error"));
    assert_non_null(strstr(e, "no_such.mint: cannot open"));
    free(o), free(e);
    /* a folder without images: refused */
    snprintf(empty, sizeof empty, "%s", test_tmp_path("empty_dir"));
    mkdir(empty, 0755);
    snprintf(args, sizeof args, "audit --model m.mint --mint t.mint --report '%s' '%s'",
             test_tmp_path("r.json"), empty);
    assert_int_equal(run_mint(args, NULL, &o, &e), 1);
    assert_null(strstr(e, "invalid argument"));
    assert_non_null(strstr(e, "mint audit: refused: "));
    free(o), free(e);
}

/* Writes float32 [n, f] rows (deterministic, shifted by s). */
static void write_rows(const char *path, int n, int f, float s)
{
    float *x = malloc(sizeof(float) * (size_t)n * (size_t)f);
    assert_non_null(x);
    for (int i = 0; i < n * f; i++)
        x[i] = s + (float)((i * 37) % 23) / 11.0f;
    const int64_t dims[2] = { n, f };
    assert_int_equal(io_npy_write(path, BASE_F32, 2, dims, x), MINT_OK);
    free(x);
}

/* --resume says after which epoch it goes on ("after epoch 3 of 3"), not
 * "at epoch 3/3". The final write is made to fail (OUT is a folder), which
 * keeps OUT.partial. */
static void test_resume_message(void **state)
{
    (void)state;
    TEST_NEED_MINT();
    char m[512], x[512], out[512], args[4096], *o, *e;
    snprintf(m, sizeof m, "%s", test_tmp_path("rs_m.npy"));
    snprintf(x, sizeof x, "%s", test_tmp_path("rs_e.npy"));
    snprintf(out, sizeof out, "%s", test_tmp_path("rs.mint"));
    write_rows(m, 30, 5, 0.5f);
    write_rows(x, 30, 5, 0.0f);
    mkdir(out, 0755);
    snprintf(args, sizeof args, "train --kind vanilla --members '%s' --external '%s' --epochs 1 "
             "--batch 8 --quiet --out '%s'", m, x, out);
    assert_int_equal(run_mint(args, NULL, &o, &e), 1);
    assert_non_null(strstr(e, "rerun with --resume"));
    free(o), free(e);
    rmdir(out);
    snprintf(args, sizeof args, "train --kind vanilla --members '%s' --external '%s' --epochs 1 "
             "--batch 8 --out '%s' --resume", m, x, out);
    assert_int_equal(run_mint(args, NULL, &o, &e), 0);
    assert_non_null(strstr(o, "resuming after epoch 1 of 1 from "));
    assert_null(strstr(o, "1 epochs"));
    assert_non_null(strstr(o, "1 epoch, batch 8"));
    free(o), free(e);
}

/* One image: "1 image", "1 row", never "1 images". */
static void test_plurals(void **state)
{
    (void)state;
    TEST_NEED_MINT();
    char model[512], dir[512], img[600], out[512], args[4096], *o, *e;
    small_model(model, sizeof model);
    snprintf(dir, sizeof dir, "%s", test_tmp_path("one_image"));
    snprintf(out, sizeof out, "%s", test_tmp_path("one_image_out"));
    mkdir(dir, 0755);
    snprintf(img, sizeof img, "%s/a.png", dir);
    io_image im;
    assert_int_equal(io_image_alloc(&im, 112, 112, 3), MINT_OK);
    for (int i = 0; i < 112 * 112 * 3; i++)
        im.px[i] = (uint8_t)(i * 7);
    assert_int_equal(io_image_write_png(img, &im), MINT_OK);
    io_image_free(&im);
    snprintf(args, sizeof args, "extract --model '%s' --dir '%s' --out '%s' --taps layer1", model,
             dir, out);
    assert_int_equal(run_mint(args, NULL, &o, &e), 0);
    assert_non_null(strstr(e, "mint extract: 1 image, "));
    assert_non_null(strstr(o, ": 1 row written (0 resumed from an earlier run), 0 images skipped"));
    assert_null(strstr(o, " 1 images"));
    assert_null(strstr(e, " 1 images"));
    free(o), free(e);
    /* the set-level test's note on a single image */
    mint_set_test t;
    const double set[1] = { 0.9 }, ref[3] = { 0.1, 0.2, 0.3 };
    assert_int_equal(mint_set_test_run(&t, set, 1, ref, 3), MINT_OK);
    char v[1024];
    mint_verdict(v, sizeof v, &t, 0.05);
    assert_null(strstr(v, "1 images"));
}

/* The same through mint extract: the message names the image and the
 * landmarks CSV row. */
static void test_cli_landmarks_far_outside(void **state)
{
    (void)state;
    TEST_NEED_MINT();
    io_image im;
    assert_int_equal(io_image_alloc(&im, 112, 112, 3), MINT_OK);
    char model[512], dir[512], img[600], csv[512], out[512], args[4096], *o, *e;
    small_model(model, sizeof model);
    snprintf(dir, sizeof dir, "%s", test_tmp_path("far_lm"));
    snprintf(csv, sizeof csv, "%s", test_tmp_path("far_lm.csv"));
    snprintf(out, sizeof out, "%s", test_tmp_path("far_lm_out"));
    mkdir(dir, 0755);
    snprintf(img, sizeof img, "%s/a.png", dir);
    assert_int_equal(io_image_write_png(img, &im), MINT_OK);
    io_image_free(&im);
    const char text[] = "file,lex,ley,rex,rey,nx,ny,lmx,lmy,rmx,rmy\n"
                        "a.png,38,51,1000000,51,56,71,41,92,70,92\n";
    assert_int_equal(test_write_file(csv, text, sizeof text - 1), 0);
    snprintf(args, sizeof args, "extract --model '%s' --dir '%s/' --landmarks '%s' --out '%s' "
             "--taps layer1", model, dir, csv, out);
    assert_int_equal(run_mint(args, NULL, &o, &e), 1);
    assert_non_null(strstr(e, "far_lm/a.png: alignment failed (landmarks "));
    assert_non_null(strstr(e, "far_lm.csv line 2): landmark 2 (1e+06, 51) is more than one image size"));
    free(o), free(e);
}

/* mint info on a MINT model shows what it reads (kind, taps, input dims,
 * network) and its calibration; the same file given as --model is named
 * a MINT model, not "missing metadata 'mint.graph'". */
static void test_mint_model_info_and_misuse(void **state)
{
    (void)state;
    TEST_NEED_MINT();
    char dm[512], de[512], path[700], out[512], args[4096], *o, *e;
    snprintf(dm, sizeof dm, "%s", test_tmp_path("info_members"));
    snprintf(de, sizeof de, "%s", test_tmp_path("info_external"));
    snprintf(out, sizeof out, "%s", test_tmp_path("info.mint"));
    mkdir(dm, 0755);
    mkdir(de, 0755);
    snprintf(path, sizeof path, "%s/layer2.npy", dm);
    write_rows(path, 30, 6, 0.5f);
    snprintf(path, sizeof path, "%s/layer2.npy", de);
    write_rows(path, 30, 6, 0.0f);
    snprintf(args, sizeof args, "train --kind vanilla --members '%s' --external '%s' --taps layer2 "
             "--epochs 1 --batch 8 --quiet --out '%s'", dm, de, out);
    assert_int_equal(run_mint(args, NULL, &o, &e), 0);
    free(o), free(e);
    snprintf(args, sizeof args, "info --brief '%s'", out);
    assert_int_equal(run_mint(args, NULL, &o, &e), 0);
    assert_non_null(strstr(o, "\nMINT model: vanilla (Dense 128 "));
    assert_non_null(strstr(o, "\ntaps:    layer2\n"));
    assert_non_null(strstr(o, "\ninput:   [6] "));
    assert_non_null(strstr(o, "\nnetwork: not recorded"));
    assert_non_null(strstr(o, "\ncalibration: 30 member scores, 3 external scores (held out"));
    free(o), free(e);
    snprintf(args, sizeof args, "embed --model '%s' --input x.npy --output y.npy", out);
    assert_int_equal(run_mint(args, NULL, &o, &e), 1);
    assert_null(strstr(e, "missing metadata"));
    assert_non_null(strstr(e, "this is a MINT model (vanilla, from 'mint train'), not a network"));
    free(o), free(e);
}

/* mint train does not save a collapsed model: it says what happened and
 * the remedy, exits 1 and leaves neither T.mint nor T.mint.partial.
 * Members and external that are all zeros: no unit ever fires. */
static void test_cli_train_collapse(void **state)
{
    (void)state;
    TEST_NEED_MINT();
    char m[512], x[512], out[512], partial[600], args[4096], *o, *e;
    snprintf(m, sizeof m, "%s", test_tmp_path("col_m.npy"));
    snprintf(x, sizeof x, "%s", test_tmp_path("col_e.npy"));
    snprintf(out, sizeof out, "%s", test_tmp_path("col.mint"));
    snprintf(partial, sizeof partial, "%s.partial", out);
    float *z = calloc(20 * 2 * 4 * 4, sizeof *z);
    assert_non_null(z);
    const int64_t dims[4] = { 20, 2, 4, 4 };
    assert_int_equal(io_npy_write(m, BASE_F32, 4, dims, z), MINT_OK);
    assert_int_equal(io_npy_write(x, BASE_F32, 4, dims, z), MINT_OK);
    free(z);
    snprintf(args, sizeof args, "train --kind cnn --members '%s' --external '%s' --epochs 1 "
             "--batch 8 --quiet --out '%s'", m, x, out);
    assert_int_equal(run_mint(args, NULL, &o, &e), 1);
    assert_non_null(strstr(e, "the training collapsed: the MINT model gives every training "
                              "sample the same score"));
    assert_non_null(strstr(e, "all 2 units of its Dense layer are dead"));
    assert_non_null(strstr(e, "was not written"));
    assert_non_null(strstr(e, "remedy: a wider Dense layer after the conv, e.g. --min-hidden 64"));
    assert_false(test_file_exists(out));
    assert_false(test_file_exists(partial));
    free(o), free(e);
    /* --min-hidden is for the CNN only */
    snprintf(args, sizeof args, "train --kind vanilla --members '%s' --external '%s' "
             "--min-hidden 64 --out '%s'", m, x, out);
    assert_int_equal(run_mint(args, NULL, &o, &e), 2);
    assert_non_null(strstr(e, "--min-hidden goes with --kind cnn"));
    free(o), free(e);
    /* a CNN with --min-hidden on data it can learn: saved, with its width */
    float *a = malloc(sizeof(float) * 20 * 32), *b = malloc(sizeof(float) * 20 * 32);
    assert_non_null(a);
    assert_non_null(b);
    for (int i = 0; i < 20 * 32; i++) {
        a[i] = 1.0f + (float)((i * 37) % 23) / 23.0f;
        b[i] = (float)((i * 53) % 19) / 19.0f;
    }
    assert_int_equal(io_npy_write(m, BASE_F32, 4, dims, a), MINT_OK);
    assert_int_equal(io_npy_write(x, BASE_F32, 4, dims, b), MINT_OK);
    free(a), free(b);
    snprintf(args, sizeof args, "train --kind cnn --members '%s' --external '%s' --epochs 2 "
             "--batch 8 --quiet --min-hidden 16 --out '%s'", m, x, out);
    assert_int_equal(run_mint(args, NULL, &o, &e), 0);
    free(o), free(e);
    snprintf(args, sizeof args, "info --brief '%s'", out);
    assert_int_equal(run_mint(args, NULL, &o, &e), 0);
    assert_non_null(strstr(o, "MINT model: cnn (Conv 64 3x3 -> MaxPool 2x2 -> Dense 16 -> "));
    assert_non_null(strstr(o, "mint.hidden            16\n"));
    free(o), free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_info_embed_help),
        cmocka_unit_test(test_cli_train_network),
        cmocka_unit_test(test_cli_train_refuses_shared),
        cmocka_unit_test(test_cli_train_no_index),
        cmocka_unit_test(test_cli_train_lists_shared),
        cmocka_unit_test(test_cli_train_eval_taps),
        cmocka_unit_test(test_cli_stage_taps),
        cmocka_unit_test(test_cli_mxnet_style),
        cmocka_unit_test(test_cli_embed_nhwc),
        cmocka_unit_test(test_embed_dtype),
        cmocka_unit_test(test_audit_missing_path),
        cmocka_unit_test(test_error_words),
        cmocka_unit_test(test_resume_message),
        cmocka_unit_test(test_plurals),
        cmocka_unit_test(test_cli_landmarks_far_outside),
        cmocka_unit_test(test_mint_model_info_and_misuse),
        cmocka_unit_test(test_cli_train_collapse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
