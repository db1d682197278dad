/* test_defects.c - regression tests for defects a new user hit (issue 8,
 * item 6): each test fails on the code before its fix. Library behaviour is
 * tested directly; CLI behaviour by running build/<dir>/mint. */
#include "testutil.h"
#include <math.h>
#include <sys/stat.h>
#include "io/align.h"
#include "io/dataset.h"
#include "io/image.h"
#include "io/landmarks.h"
#include "io/npy.h"
#include "io/plot.h"
#include "io/report.h"
#include "mint/features.h"
#include "mint/model.h"
#include "mint/stats.h"
#include "mint/train.h"
#include "net/graph.h"
#include "net/iresnet.h"
#include "weights/container.h"
#include "weights/graph_io.h"

#define NEED_MINT()                                                              \
    do {                                                                         \
        if (!mint_bin()) {                                                       \
            printf("  SKIP: the mint binary is not built next to the tests\n"); \
            skip();                                                              \
        }                                                                        \
    } while (0)

/* A small IResNet saved to a scratch file (path copied into buf). */
static void small_model(char *buf, size_t n)
{
    snprintf(buf, n, "%s", test_tmp_path("defects_net.mint"));
    if (test_file_exists(buf))
        return;
    net_iresnet_cfg cfg = { { 1, 1, 1, 1 }, { 8, 16, 16, 24 }, 16, 112, 112 };
    net_graph *g;
    assert_int_equal(net_iresnet_build(&g, &cfg, 9), MINT_OK);
    assert_int_equal(wt_graph_save(g, buf), MINT_OK);
    net_graph_free(g);
}

/* "DIR/" (trailing slash) and "//" in a path: landmark lookups find the
 * row all the same. */
static void test_landmark_paths(void **state)
{
    (void)state;
    const char csv[] = "file,lex,ley,rex,rey,nx,ny,lmx,lmy,rmx,rmy\n"
                       "Person/a.png,38,51,73,51,56,71,41,92,70,92\n";
    io_landmarks *lm;
    assert_int_equal(io_landmarks_parse(csv, sizeof csv - 1, "lm.csv", &lm), MINT_OK);
    assert_non_null(io_landmarks_find(lm, "Person/a.png"));
    assert_non_null(io_landmarks_find(lm, "Person//a.png"));
    assert_non_null(io_landmarks_find(lm, "./Person/./a.png"));
    assert_non_null(io_landmarks_find(lm, "/Person/a.png"));
    assert_null(io_landmarks_find(lm, "Person/a.png/"));
    assert_null(io_landmarks_find(lm, "Person/b.png"));
    /* the suffixes extract/audit try: "lfw//Person/a.png" -> "Person/a.png" */
    const char *k = io_key_suffix("lfw//Person/a.png", 1);
    assert_non_null(k);
    assert_string_equal(k, "Person/a.png");
    assert_non_null(io_landmarks_find(lm, k));
    io_landmarks_free(lm);

    /* a folder given as "DIR/": the image paths have no "//" */
    char dir[512], sub[600], img[700];
    snprintf(dir, sizeof dir, "%s/", test_tmp_path("lm_dir"));
    mkdir(dir, 0755);
    snprintf(sub, sizeof sub, "%sPerson", dir);
    mkdir(sub, 0755);
    snprintf(img, sizeof img, "%s/a.png", sub);
    io_image im;
    assert_int_equal(io_image_alloc(&im, 4, 4, 3), MINT_OK);
    assert_int_equal(io_image_write_png(img, &im), MINT_OK);
    io_image_free(&im);
    io_list l;
    assert_int_equal(io_list_from_dir(dir, &l), MINT_OK);
    assert_int_equal(l.n, 1);
    assert_null(strstr(l.items[0].path, "//"));
    assert_string_equal(l.items[0].key, "Person/a.png");
    io_list_free(&l);
}

/* A features file of the wrong rank: the message gives its rank, not 0. */
static void test_npy_rank_message(void **state)
{
    (void)state;
    const char *p = test_tmp_path("rank3.npy");
    float x[2 * 3 * 4] = { 0 };
    const int64_t dims[3] = { 2, 3, 4 };
    assert_int_equal(io_npy_write(p, WT_F32, 3, dims, x), MINT_OK);
    mint_feats f;
    assert_int_equal(mint_feats_load(p, 0, NULL, 0, &f), MINT_E_SHAPE);
    assert_non_null(strstr(mint_last_error(), "got rank 3"));
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
    NEED_MINT();
    char model[512], in[512], out[512], args[4096], *o, *e;
    small_model(model, sizeof model);
    snprintf(in, sizeof in, "%s", test_tmp_path("embed_f16.npy"));
    snprintf(out, sizeof out, "%s", test_tmp_path("embed_y.npy"));
    const int64_t dims[4] = { 1, 3, 112, 112 };
    uint16_t *h = calloc(3 * 112 * 112, sizeof *h);
    assert_non_null(h);
    assert_int_equal(io_npy_write(in, WT_F16, 4, dims, h), MINT_OK);
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
    NEED_MINT();
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
    NEED_MINT();
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
    assert_int_equal(io_npy_write(path, WT_F32, 2, dims, x), MINT_OK);
    free(x);
}

/* --resume says after which epoch it goes on ("after epoch 3 of 3"), not
 * "at epoch 3/3". The final write is made to fail (OUT is a folder), which
 * keeps OUT.partial. */
static void test_resume_message(void **state)
{
    (void)state;
    NEED_MINT();
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
    NEED_MINT();
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

/* The HTML report's SHA-256 cells stay on one line (cut, full text kept
 * and in the title) instead of wrapping to 5 characters. */
static void test_report_sha_column(void **state)
{
    (void)state;
    const char *sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    io_audit_image im;
    memset(&im, 0, sizeof im);
    im.file = "a.png";
    im.sha256 = sha;
    im.score = 0.7;
    io_audit_report r;
    memset(&r, 0, sizeof r);
    r.created = "2024-05-01T12:00:00Z";
    r.threshold = NAN;
    r.alpha = 0.05;
    r.images = &im;
    r.n_images = 1;
    io_strbuf b;
    assert_int_equal(io_report_audit_html(&b, &r), MINT_OK);
    char want[200];
    snprintf(want, sizeof want, "<span class=\"sha\" title=\"%s\">%s</span>", sha, sha);
    assert_non_null(strstr(b.p, want));
    const char *css = strstr(b.p, ".sha{");
    assert_non_null(css);
    assert_non_null(strstr(css, "white-space:nowrap"));
    io_strbuf_free(&b);
}

/* A landmark about 1e6 pixels away is refused, naming the image and the
 * CSV row; points just outside the image (a face cut by the border) pass. */
static void test_landmarks_far_outside(void **state)
{
    (void)state;
    io_image im, al;
    assert_int_equal(io_image_alloc(&im, 112, 112, 3), MINT_OK);
    float pts[10] = { 38, 51, 73, 51, 56, 71, 41, 92, 70, 92 };
    pts[2] = 1e6f;
    assert_int_equal(io_align_face(&im, pts, &al), MINT_E_ARG);
    assert_non_null(strstr(mint_last_error(), "outside the 112x112 image"));
    pts[2] = 2 * 112 + 1;
    assert_int_equal(io_align_face(&im, pts, &al), MINT_E_ARG);
    pts[2] = 73, pts[9] = -100; /* within one image size */
    assert_int_equal(io_align_face(&im, pts, &al), MINT_OK);
    io_image_free(&al);

    NEED_MINT();
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

static int sh(const char *cmd)
{
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A knob change (DEBUG, EXTRA_CFLAGS, CC...) rebuilds the objects; one
 * that only links differently (STATIC=1) relinks. One object is built in
 * a scratch BUILD folder; `make -q` says whether it is up to date. */
static void test_make_knobs(void **state)
{
    (void)state;
    if (!test_file_exists("Makefile") || sh("make --version >/dev/null 2>&1") != 0) {
        printf("  SKIP: no make, or not run from the repository root\n");
        skip();
    }
    char b[512], cmd[2048];
    snprintf(b, sizeof b, "%s", test_tmp_path("mkbuild"));
    /* a make of its own, not a child of the `make test` running this */
    const char *mk = "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s";
#define MAKE_Q(knobs) \
    (snprintf(cmd, sizeof cmd, "%s -q BUILD='%s' %s '%s/obj/kernels/error.o'", mk, b, knobs, b), sh(cmd))
    snprintf(cmd, sizeof cmd, "%s BUILD='%s' '%s/obj/kernels/error.o' >/dev/null", mk, b, b);
    assert_int_equal(sh(cmd), 0);
    assert_int_equal(MAKE_Q(""), 0);
    assert_int_equal(MAKE_Q("DEBUG=1"), 1);
    assert_int_equal(MAKE_Q("EXTRA_CFLAGS=-DMINT_KNOB_TEST"), 1);
    snprintf(cmd, sizeof cmd, "%s BUILD='%s' '%s/obj/kernels/error.o' >/dev/null", mk, b, b);
    assert_int_equal(sh(cmd), 0);
    assert_int_equal(MAKE_Q(""), 0);
    /* STATIC=1 changes the link line only: the object stays, the stamp
     * programs depend on records -static */
    assert_int_equal(MAKE_Q("STATIC=1"), 0);
    char stamp[600];
    snprintf(stamp, sizeof stamp, "%s/ldflags.stamp", b);
    size_t n;
    char *t = test_read_file(stamp, &n);
    assert_non_null(t);
    t[n] = 0;
    assert_non_null(strstr(t, "-static"));
    free(t);
#undef MAKE_Q
}

/* tools/setup-debian.sh waits for another apt's lock: every apt-get call
 * carries DPkg::Lock::Timeout. Run with stand-ins for id (root, so no sudo),
 * apt-get and dpkg that only log their arguments. */
static void test_setup_waits_for_apt(void **state)
{
    (void)state;
    if (!test_file_exists("tools/setup-debian.sh")) {
        printf("  SKIP: not run from the repository root\n");
        skip();
    }
    char bin[512], log[600], path[700], cmd[4096];
    snprintf(bin, sizeof bin, "%s", test_tmp_path("fakebin"));
    snprintf(log, sizeof log, "%s/calls.log", bin);
    mkdir(bin, 0755);
    static const char *const fakes[3][2] = {
        { "id", "#!/bin/sh\necho 0\n" },
        { "apt-get", "#!/bin/sh\necho \"apt-get $*\" >> \"$FAKE_LOG\"\n" },
        { "dpkg", "#!/bin/sh\necho \"dpkg $*\" >> \"$FAKE_LOG\"\n" },
    };
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", bin, fakes[i][0]);
        assert_int_equal(test_write_file(path, fakes[i][1], strlen(fakes[i][1])), 0);
        chmod(path, 0755);
    }
    snprintf(cmd, sizeof cmd, "FAKE_LOG='%s' PATH='%s':\"$PATH\" sh tools/setup-debian.sh --cross "
             ">/dev/null 2>&1", log, bin);
    assert_int_equal(sh(cmd), 0);
    size_t n;
    char *t = test_read_file(log, &n);
    assert_non_null(t);
    t[n] = 0;
    int calls = 0;
    for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "apt-get ", 8))
            continue;
        calls++;
        assert_non_null(strstr(line, "-o DPkg::Lock::Timeout=600 "));
    }
    assert_int_equal(calls, 4); /* update + install, twice with --cross */
    free(t);
}

/* The ROC's log-FPR panel starts at the resolution 1/n_neg: with 200
 * external samples, FPR 0.005 is the left edge (it was 1e-4, 1.7 decades
 * of nothing); the curve is drawn there. */
static void test_roc_log_axis_resolution(void **state)
{
    (void)state;
    const double fpr[3] = { 0, 0.005, 1 }, tpr[3] = { 0, 0.5, 1 };
    int x0, y0, x1, y1, xd, yd;
    assert_int_equal(io_plot_roc_pixel(1, 0.0, 0.5, 200, &x0, &y0), MINT_OK);
    assert_int_equal(io_plot_roc_pixel(1, 0.005, 0.5, 200, &x1, &y1), MINT_OK);
    assert_int_equal(x0, x1);
    assert_int_equal(io_plot_roc_pixel(1, 0.001, 0.5, 200, &xd, &yd), MINT_OK);
    assert_int_equal(xd, x0); /* below the resolution: clamped to the edge */
    assert_int_equal(io_plot_roc_pixel(1, 0.05, 0.5, 200, &xd, &yd), MINT_OK);
    assert_true(xd > x0 + 100);
    /* without n_neg the axis keeps its fixed 1e-4 start */
    assert_int_equal(io_plot_roc_pixel(1, 0.005, 0.5, 0, &xd, &yd), MINT_OK);
    assert_true(xd > x0 + 100);
    io_image im;
    assert_int_equal(io_plot_roc_render(&im, fpr, tpr, 3, 200, 0.75, "res"), MINT_OK);
    const uint8_t *p = im.px + ((size_t)y1 * IO_PLOT_W + (size_t)x1) * 3;
    assert_true(p[0] == 0x1f && p[1] == 0x5f && p[2] == 0xbf); /* IO_PLOT_CURVE_RGB */
    io_image_free(&im);
}

/* mint info on a MINT model shows what it reads (kind, taps, input dims,
 * network) and its calibration; the same file given as --model is named
 * a MINT model, not "missing metadata 'mint.graph'". */
static void test_mint_model_info_and_misuse(void **state)
{
    (void)state;
    NEED_MINT();
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

/* A training that collapses to one score for every sample is detected
 * (mint_train sets train_collapsed and counts the dead Dense units), and a
 * healthy one is not. The collapse is forced the way the CNN's Dense-C
 * layer dies: every dense1 bias far below zero, so no ReLU ever fires. */
static void test_train_collapse_detected(void **state)
{
    (void)state;
    enum { N = 24, C = 2, HW = 4, IN = C * HW * HW };
    float *m = malloc(sizeof(float) * N * IN), *x = malloc(sizeof(float) * N * IN);
    assert_non_null(m);
    assert_non_null(x);
    for (int i = 0; i < N * IN; i++) {
        m[i] = 1.0f + (float)((i * 37) % 23) / 23.0f; /* members: larger values */
        x[i] = (float)((i * 53) % 19) / 19.0f;
    }
    const mint_tm_config cfg = { .kind = MINT_TM_CNN, .in_dims = { C, HW, HW } };
    mint_train_opts o;
    mint_train_defaults(&o, MINT_TM_CNN);
    o.epochs = 2;
    o.batch = 8;
    for (int dead = 0; dead < 2; dead++) {
        mint_tm *tm;
        assert_int_equal(mint_tm_create(&tm, &cfg, 1), MINT_OK);
        if (dead)
            for (int j = 0; j < tm->hidden; j++)
                tm->p.b1[j] = -1e4f;
        assert_int_equal(mint_train(tm, m, N, x, N, &o), MINT_OK);
        assert_int_equal(tm->train_collapsed, dead);
        if (dead)
            assert_int_equal(tm->train_dead_units, tm->hidden);
        else
            assert_true(tm->train_dead_units < tm->hidden);
        mint_tm_free(tm);
    }
    /* --min-hidden: a CNN with a Dense layer wider than C; saved and loaded
     * with its width (mint.hidden), while the paper's layout keeps C */
    mint_tm *w, *l;
    assert_int_equal(mint_tm_create_wide(&w, &cfg, 1, 16), MINT_OK);
    assert_int_equal(w->hidden, 16);
    const char *p = test_tmp_path("wide.mint");
    assert_int_equal(mint_tm_save(w, p), MINT_OK);
    assert_int_equal(mint_tm_load(&l, p), MINT_OK);
    assert_int_equal(l->hidden, 16);
    float sw[N], sl[N];
    assert_int_equal(mint_tm_predict(w, m, N, sw), MINT_OK);
    assert_int_equal(mint_tm_predict(l, m, N, sl), MINT_OK);
    assert_memory_equal(sw, sl, sizeof sw);
    mint_tm_free(w);
    mint_tm_free(l);
    assert_int_equal(mint_tm_create_wide(&w, &cfg, 1, 0), MINT_OK);
    assert_int_equal(w->hidden, C);
    assert_int_equal(mint_tm_save(w, p), MINT_OK);
    assert_int_equal(mint_tm_load(&l, p), MINT_OK);
    assert_int_equal(l->hidden, C);
    mint_tm_free(w);
    mint_tm_free(l);
    free(m);
    free(x);
}

/* mint train does not save a collapsed model: it says what happened and
 * the remedy, exits 1 and leaves neither T.mint nor T.mint.partial.
 * Members and external that are all zeros: no unit ever fires. */
static void test_cli_train_collapse(void **state)
{
    (void)state;
    NEED_MINT();
    char m[512], x[512], out[512], partial[600], args[4096], *o, *e;
    snprintf(m, sizeof m, "%s", test_tmp_path("col_m.npy"));
    snprintf(x, sizeof x, "%s", test_tmp_path("col_e.npy"));
    snprintf(out, sizeof out, "%s", test_tmp_path("col.mint"));
    snprintf(partial, sizeof partial, "%s.partial", out);
    float *z = calloc(20 * 2 * 4 * 4, sizeof *z);
    assert_non_null(z);
    const int64_t dims[4] = { 20, 2, 4, 4 };
    assert_int_equal(io_npy_write(m, WT_F32, 4, dims, z), MINT_OK);
    assert_int_equal(io_npy_write(x, WT_F32, 4, dims, z), MINT_OK);
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
    assert_int_equal(io_npy_write(m, WT_F32, 4, dims, a), MINT_OK);
    assert_int_equal(io_npy_write(x, WT_F32, 4, dims, b), MINT_OK);
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
        cmocka_unit_test(test_landmark_paths),
        cmocka_unit_test(test_npy_rank_message),
        cmocka_unit_test(test_embed_dtype),
        cmocka_unit_test(test_audit_missing_path),
        cmocka_unit_test(test_error_words),
        cmocka_unit_test(test_resume_message),
        cmocka_unit_test(test_plurals),
        cmocka_unit_test(test_report_sha_column),
        cmocka_unit_test(test_landmarks_far_outside),
        cmocka_unit_test(test_make_knobs),
        cmocka_unit_test(test_setup_waits_for_apt),
        cmocka_unit_test(test_roc_log_axis_resolution),
        cmocka_unit_test(test_mint_model_info_and_misuse),
        cmocka_unit_test(test_train_collapse_detected),
        cmocka_unit_test(test_cli_train_collapse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
