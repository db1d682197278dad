/* test_defects.c - regression tests for defects a new user hit (issue 8,
 * item 6): each test fails on the code before its fix. Library behaviour is
 * tested here; the CLI's messages are tested in test_cli.c. */
#include "testutil.h"
#include <math.h>
#include <sys/stat.h>
#include "io/align.h"
#include "io/dataset.h"
#include "io/image.h"
#include "io/landmarks.h"
#include "io/npy.h"
#include "io/plot.h"
#include "mint/report.h"
#include "mint/features.h"
#include "mint/model.h"
#include "mint/stats.h"
#include "mint/train.h"
#include "net/graph.h"
#include "net/iresnet.h"
#include "weights/container.h"
#include "net/graph_io.h"

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
    assert_int_equal(io_npy_write(p, BASE_F32, 3, dims, x), MINT_OK);
    mint_feats f;
    assert_int_equal(mint_feats_load(p, 0, NULL, 0, &f), MINT_E_SHAPE);
    assert_non_null(strstr(mint_last_error(), "got rank 3"));
}

/* The HTML report's SHA-256 cells stay on one line (cut, full text kept
 * and in the title) instead of wrapping to 5 characters. */
static void test_report_sha_column(void **state)
{
    (void)state;
    const char *sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    mint_audit_image im;
    memset(&im, 0, sizeof im);
    im.file = "a.png";
    im.sha256 = sha;
    im.score = 0.7;
    mint_audit_report r;
    memset(&r, 0, sizeof r);
    r.created = "2024-05-01T12:00:00Z";
    r.threshold = NAN;
    r.alpha = 0.05;
    r.images = &im;
    r.n_images = 1;
    base_strbuf b;
    assert_int_equal(mint_report_audit_html(&b, &r), MINT_OK);
    char want[200];
    snprintf(want, sizeof want, "<span class=\"sha\" title=\"%s\">%s</span>", sha, sha);
    assert_non_null(strstr(b.p, want));
    const char *css = strstr(b.p, ".sha{");
    assert_non_null(css);
    assert_non_null(strstr(css, "white-space:nowrap"));
    base_strbuf_free(&b);
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
    io_image_free(&im);
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
    (snprintf(cmd, sizeof cmd, "%s -q BUILD='%s' %s '%s/obj/base/error.o'", mk, b, knobs, b), sh(cmd))
    snprintf(cmd, sizeof cmd, "%s BUILD='%s' '%s/obj/base/error.o' >/dev/null", mk, b, b);
    assert_int_equal(sh(cmd), 0);
    assert_int_equal(MAKE_Q(""), 0);
    assert_int_equal(MAKE_Q("DEBUG=1"), 1);
    assert_int_equal(MAKE_Q("EXTRA_CFLAGS=-DMINT_KNOB_TEST"), 1);
    snprintf(cmd, sizeof cmd, "%s BUILD='%s' '%s/obj/base/error.o' >/dev/null", mk, b, b);
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
    /* STATIC=1 links build/mint only: the tests stay dynamic (Debian has no
     * libcmocka.a, and `make STATIC=1 test` failed) */
    snprintf(cmd, sizeof cmd, "%s -n -B STATIC=1 BUILD='%s' '%s/mint' | grep -q -- '-o %s/mint .* -static'",
             mk, b, b, b);
    assert_int_equal(sh(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s -n -B STATIC=1 BUILD='%s' '%s/tests/test_npy' | grep -- "
             "'-o %s/tests/test_npy ' | grep -q -- -static", mk, b, b, b);
    assert_int_equal(sh(cmd), 1);
    /* header dependencies come from the compiler (-MMD -MP), cli headers too
     * (the hand-written list missed them) */
    snprintf(cmd, sizeof cmd, "%s BUILD='%s' '%s/obj/cli/progress.o' >/dev/null", mk, b, b);
    assert_int_equal(sh(cmd), 0);
    snprintf(stamp, sizeof stamp, "%s/obj/cli/progress.o.d", b);
    t = test_read_text(stamp);
    assert_non_null(t);
    assert_non_null(strstr(t, "cli/cli.h"));
    assert_non_null(strstr(t, "\ncli/cli.h:")); /* -MP: a removed header breaks nothing */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_landmark_paths),
        cmocka_unit_test(test_npy_rank_message),
        cmocka_unit_test(test_report_sha_column),
        cmocka_unit_test(test_landmarks_far_outside),
        cmocka_unit_test(test_make_knobs),
        cmocka_unit_test(test_setup_waits_for_apt),
        cmocka_unit_test(test_roc_log_axis_resolution),
        cmocka_unit_test(test_train_collapse_detected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
