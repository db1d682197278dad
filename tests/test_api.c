/* test_api.c - the public entry points of include/mint.h that the CLI's
 * extract, eval and audit are (mint_extract_run, mint_eval_run,
 * mint_audit_run), called directly as a library user would: a tiny native
 * IResNet (the only internal call: building it), the committed aligned
 * crops, a list file, mint_train_run in between. Checks what each returns
 * and writes, that the callbacks are called and nothing else is needed, and
 * a bad-argument case per function. */
#include "testutil.h"
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>
#include "net/graph_io.h"
#include "net/iresnet.h"

#define NPER 8 /* member and external images each */
static const char *const crops[] = {
    "AJ_Cook_0001.png",         "Angelina_Jolie_0005.png",    "Bill_Simon_0011.png",
    "Choi_Sung-hong_0002.png",  "David_Anderson_0004.png",    "Efrain_Rios_Montt_0001.png",
    "George_W_Bush_0022.png",   "Giancarlo_Fisichella_0001.png", "Hu_Jintao_0006.png",
    "Jean-Francois_Pontal_0002.png", "John_Bolton_0004.png", "Junichiro_Koizumi_0058.png",
    "Leonardo_DiCaprio_0004.png", "Marricia_Tate_0001.png",   "Mohamed_ElBaradei_0008.png",
    "Paul_Burrell_0009.png",
};

static char net_path[512], tm_path[512], mem_dir[512], ext_dir[512], mem_list[512],
    ext_list[512], person[512];

typedef struct {
    int notes, progress;
    char note[512];
    size_t last_done, last_total;
} seen;

static void on_message(void *ctx, mint_msg_kind kind, const char *text)
{
    seen *s = ctx;
    if (kind == MINT_MSG_NOTE && s->notes++ == 0)
        snprintf(s->note, sizeof s->note, "%s", text);
}

static void on_extract_progress(void *ctx, size_t done, size_t total, size_t failed,
                                size_t resumed)
{
    seen *s = ctx;
    (void)failed, (void)resumed;
    s->progress++;
    s->last_done = done, s->last_total = total;
}

static void on_audit_progress(void *ctx, size_t done, size_t total)
{
    seen *s = ctx;
    s->progress++;
    s->last_done = done, s->last_total = total;
}

/* "path,label" lines of crops [first, first + n), labelled by person. */
static void write_list(const char *path, int first, int n)
{
    char text[8192] = "";
    size_t w = 0;
    for (int k = first; k < first + n; k++) {
        char label[128];
        snprintf(label, sizeof label, "%s", crops[k]);
        *strrchr(label, '_') = 0;
        w += (size_t)snprintf(text + w, sizeof text - w, "%s/align/%s,%s\n", TEST_FIXTURES,
                              crops[k], label);
    }
    test_write_text(path, text);
}

static int setup(void **state)
{
    (void)state;
    snprintf(net_path, sizeof net_path, "%s", test_tmp_path("net.mint"));
    snprintf(tm_path, sizeof tm_path, "%s", test_tmp_path("t.mint"));
    snprintf(mem_dir, sizeof mem_dir, "%s", test_tmp_path("mem"));
    snprintf(ext_dir, sizeof ext_dir, "%s", test_tmp_path("ext"));
    snprintf(mem_list, sizeof mem_list, "%s", test_tmp_path("mem.txt"));
    snprintf(ext_list, sizeof ext_list, "%s", test_tmp_path("ext.txt"));
    snprintf(person, sizeof person, "%s", test_tmp_path("Some_Person"));
    net_iresnet_cfg cfg = { { 1, 1, 1, 1 }, { 8, 16, 16, 24 }, 16, 112, 112, 3 };
    net_graph *g;
    if (net_iresnet_build(&g, &cfg, 3))
        return -1;
    mint_status st = net_graph_save(g, net_path);
    net_graph_free(g);
    write_list(mem_list, 0, NPER);
    write_list(ext_list, NPER, NPER);
    /* a folder of three member images: one person, named after the folder */
    if (st || mkdir(person, 0755))
        return -1;
    for (int k = 0; k < 3; k++) {
        char src[1024], dst[1024];
        snprintf(src, sizeof src, "%s/align/%s", TEST_FIXTURES, crops[k]);
        if (!realpath(src, dst))
            return -1;
        snprintf(src, sizeof src, "%s/%s", person, crops[k]);
        if (symlink(dst, src))
            return -1;
    }
    return 0;
}

static void test_extract_run(void **state)
{
    (void)state;
    mint_extract_run_opts o;
    mint_extract_run_defaults(&o);
    assert_true(o.pool_max == 1 && o.batch == 16 && o.chunk == 1024 && !o.taps && !o.shard_n);
    seen s = { 0 };
    o.model = net_path, o.list = mem_list, o.out = mem_dir, o.batch = 3;
    o.message = on_message, o.progress = on_extract_progress, o.ctx = &s;
    mint_extract_run_result r;
    assert_int_equal(mint_extract_run(&o, &r), MINT_OK);
    assert_int_equal(r.images, NPER);
    assert_int_equal(r.shard_images, NPER);
    assert_int_equal(r.written, NPER);
    assert_int_equal(r.failed + r.resumed, 0);
    assert_int_equal(s.notes, 1);
    assert_non_null(strstr(s.note, "8 images, taps layer1,layer2,layer3,layer4,embedding"));
    assert_true(s.progress >= 3 && s.last_done == NPER && s.last_total == NPER);
    const char *const files[] = { "layer1.npy", "layer4.npy", "embedding.npy", "index.csv",
                                  "extract.txt" };
    for (int k = 0; k < 5; k++) {
        char p[1024];
        struct stat sb;
        snprintf(p, sizeof p, "%s/%s", mem_dir, files[k]);
        assert_int_equal(stat(p, &sb), 0);
    }
    o.list = ext_list, o.out = ext_dir, o.message = NULL, o.progress = NULL;
    assert_int_equal(mint_extract_run(&o, &r), MINT_OK);
    assert_int_equal(r.written, NPER);
    /* a shard: positions 1, 4, 7 of 8 */
    o.shard_i = 1, o.shard_n = 3, o.out = test_tmp_path("shard");
    o.taps = "layer4";
    assert_int_equal(mint_extract_run(&o, &r), MINT_OK);
    assert_true(r.images == NPER && r.shard_images == 3 && r.written == 3);
}

static void test_extract_run_bad(void **state)
{
    (void)state;
    mint_extract_run_opts o;
    mint_extract_run_defaults(&o);
    mint_extract_run_result r;
    const char *bad = test_tmp_path("bad_extract");
    o.model = net_path, o.list = mem_list, o.out = bad;
    assert_int_equal(mint_extract_run(&o, NULL), MINT_E_ARG);
    assert_int_equal(mint_extract_run(NULL, &r), MINT_E_ARG);
    o.dir = mem_dir; /* a list and a folder */
    assert_int_equal(mint_extract_run(&o, &r), MINT_E_ARG);
    o.dir = NULL, o.batch = 0;
    assert_int_equal(mint_extract_run(&o, &r), MINT_E_ARG);
    o.batch = 16, o.taps = ",";
    assert_int_equal(mint_extract_run(&o, &r), MINT_E_ARG);
    o.taps = "layer1,layer1";
    assert_int_equal(mint_extract_run(&o, &r), MINT_E_ARG);
    assert_non_null(strstr(mint_last_error(), "given twice"));
    o.taps = NULL, o.shard_i = 3, o.shard_n = 3;
    assert_int_equal(mint_extract_run(&o, &r), MINT_E_ARG);
    o.shard_i = 0, o.shard_n = 0, o.model = test_tmp_path("no_such_net.mint");
    assert_int_not_equal(mint_extract_run(&o, &r), MINT_OK);
    assert_non_null(strstr(mint_last_error(), "no_such_net.mint"));
    struct stat sb;
    char p[1024];
    snprintf(p, sizeof p, "%s/index.csv", bad);
    assert_int_not_equal(stat(p, &sb), 0); /* nothing written */
}

/* A Vanilla MINT on the two extractions (public mint_train_run), holding
 * out a quarter of the external identities as the audit reference. */
static void train(void)
{
    mint_train_run_opts o;
    mint_train_run_defaults(&o);
    o.kind = "vanilla", o.out = tm_path, o.members = mem_dir, o.external = ext_dir;
    o.taps = "layer1,layer2,layer3,layer4", o.epochs = 3, o.batch = 8, o.holdout = 0.25;
    mint_train_run_result r;
    assert_int_equal(mint_train_run(&o, &r), MINT_OK);
    assert_int_equal(r.n_cal_external, 2);
}

static void test_eval_run(void **state)
{
    (void)state;
    train();
    mint_eval_run_opts o;
    mint_eval_run_defaults(&o);
    assert_true(!o.mint && !o.json && !o.store);
    const char *json = test_tmp_path("eval.json"), *png = test_tmp_path("roc.png");
    o.mint = tm_path, o.members = mem_dir, o.external = ext_dir, o.json = json, o.roc_png = png;
    o.created = "2026-01-01T00:00:00Z";
    mint_eval_run_result r;
    assert_int_equal(mint_eval_run(&o, &r), MINT_OK);
    assert_int_equal(r.m.n_members, NPER);
    assert_int_equal(r.m.n_external, NPER);
    assert_string_equal(r.kind, "vanilla");
    assert_string_equal(r.taps, "layer1,layer2,layer3,layer4");
    assert_true(r.has_train_threshold);
    /* the confusion matrices add up to the data */
    assert_int_equal(r.m.cm_05.tp + r.m.cm_05.fn, NPER);
    assert_int_equal(r.m.cm_05.fp + r.m.cm_05.tn, NPER);
    /* evaluated on its own training data: said, and counted */
    assert_true(r.n_trained == 2 * NPER - 2);
    assert_true(r.n_notes >= 1 && strstr(r.notes[0], "trained on"));
    size_t n;
    char *text = test_must_read(json, &n);
    assert_non_null(strstr(text, "\"auc\""));
    assert_non_null(strstr(text, r.mint_sha256));
    free(text);
    unsigned char *p = test_must_read(png, &n);
    assert_true(n > 8 && !memcmp(p, "\x89PNG\r\n\x1a\n", 8));
    free(p);
}

static void test_eval_run_bad(void **state)
{
    (void)state;
    mint_eval_run_opts o;
    mint_eval_run_defaults(&o);
    mint_eval_run_result r;
    const char *json = test_tmp_path("eval_bad.json");
    o.mint = tm_path, o.members = mem_dir, o.json = json;
    assert_int_equal(mint_eval_run(&o, NULL), MINT_E_ARG);
    assert_int_equal(mint_eval_run(NULL, &r), MINT_E_ARG);
    assert_int_equal(mint_eval_run(&o, &r), MINT_E_ARG); /* no external data */
    o.external = ext_dir, o.taps = ",,";
    assert_int_equal(mint_eval_run(&o, &r), MINT_E_ARG);
    o.taps = "layer4"; /* features of another size than the model's */
    assert_int_equal(mint_eval_run(&o, &r), MINT_E_SHAPE);
    o.taps = NULL, o.store = 1; /* figures measured on its training data: not stored */
    assert_int_equal(mint_eval_run(&o, &r), MINT_E_ARG);
    assert_non_null(strstr(mint_last_error(), "not storing"));
    struct stat sb;
    assert_int_not_equal(stat(json, &sb), 0);
}

static void test_audit_run(void **state)
{
    (void)state;
    mint_audit_run_opts o;
    mint_audit_run_defaults(&o);
    assert_true(o.alpha == 0.05 && o.batch == 16 && o.identity == MINT_IDENTITY_AUTO);
    const char *json = test_tmp_path("audit.json"), *html = test_tmp_path("audit.html");
    const char *paths[1] = { person };
    seen s = { 0 };
    o.model = net_path, o.mint = tm_path, o.images = paths, o.n_images = 1;
    o.report[0] = json, o.report[1] = html, o.created = "2026-01-01T00:00:00Z";
    o.batch = 2, o.message = on_message, o.progress = on_audit_progress, o.ctx = &s;
    mint_audit_run_result r;
    assert_int_equal(mint_audit_run(&o, &r), MINT_OK);
    assert_int_equal(s.notes, 1);
    assert_non_null(strstr(s.note, "3 images, kernels "));
    assert_true(s.progress == 2 && s.last_done == 3 && s.last_total == 3);
    const mint_audit_report *rep = &r.report;
    assert_int_equal(rep->n_images, 3);
    assert_int_equal(r.n_scored, 3);
    assert_int_equal(r.n_failed, 0);
    assert_string_equal(r.taps, "layer1,layer2,layer3,layer4");
    assert_string_equal(rep->mint_kind, "vanilla");
    for (size_t i = 0; i < rep->n_images; i++) {
        assert_true(rep->images[i].score >= 0 && rep->images[i].score <= 1);
        assert_int_equal(strlen(rep->images[i].sha256), 64);
        assert_null(rep->images[i].error);
    }
    /* the folder is one person named after it, against 2 reference identities */
    const mint_audit_settest *set = rep->set;
    assert_non_null(set);
    assert_int_equal(set->m, 1);
    assert_int_equal(set->n_ids, 1);
    assert_string_equal(set->ids[0].name, "Some_Person");
    assert_int_equal(set->ids[0].n, 3);
    assert_int_equal(set->K, 2);
    assert_true(set->p_min > 0 && set->p >= set->p_min && set->p <= 1);
    assert_int_equal(set->evidence, set->p < o.alpha && set->p_min <= o.alpha);
    assert_non_null(rep->verdict);
    assert_string_equal(r.written[0], json);
    assert_string_equal(r.written[1], html);
    size_t n;
    char *text = test_must_read(json, &n);
    assert_non_null(strstr(text, "Some_Person"));
    assert_non_null(strstr(text, rep->images[0].sha256));
    free(text);
    text = test_must_read(html, &n);
    assert_non_null(strstr(text, "<html"));
    free(text);
    /* the same images from a list file, each its own identity: the same
     * scores (up to the batch composition) */
    mint_audit_run_opts l = o;
    l.images = NULL, l.n_images = 0, l.list = mem_list, l.identity = MINT_IDENTITY_IMAGE;
    l.report[0] = l.report[1] = NULL, l.message = NULL, l.progress = NULL;
    mint_audit_run_result rl;
    assert_int_equal(mint_audit_run(&l, &rl), MINT_OK);
    assert_int_equal(rl.report.n_images, NPER);
    assert_int_equal(rl.report.set->m, NPER);
    assert_null(rl.written[0]);
    for (size_t i = 0; i < 3; i++)
        assert_true(fabs(rl.report.images[i].score - rep->images[i].score) < 1e-6);
    mint_audit_run_result_free(&rl);
    mint_audit_run_result_free(&r);
    assert_null(r.store);
    mint_audit_run_result_free(&r); /* twice is harmless */
}

static void test_audit_run_bad(void **state)
{
    (void)state;
    mint_audit_run_opts o;
    mint_audit_run_defaults(&o);
    mint_audit_run_result r;
    const char *json = test_tmp_path("audit_bad.json");
    const char *paths[2] = { person, test_tmp_path("no_such_image.png") };
    o.model = net_path, o.mint = tm_path, o.report[0] = json;
    assert_int_equal(mint_audit_run(&o, NULL), MINT_E_ARG);
    assert_int_equal(mint_audit_run(NULL, &r), MINT_E_ARG);
    assert_int_equal(mint_audit_run(&o, &r), MINT_E_ARG); /* no images */
    o.images = paths, o.n_images = 2; /* a path that does not exist: named */
    assert_int_equal(mint_audit_run(&o, &r), MINT_E_ARG);
    assert_non_null(strstr(mint_last_error(), "no_such_image.png: no such file or folder"));
    o.n_images = 1, o.list = mem_list; /* paths and a list */
    assert_int_equal(mint_audit_run(&o, &r), MINT_E_ARG);
    o.list = NULL, o.alpha = 1;
    assert_int_equal(mint_audit_run(&o, &r), MINT_E_ARG);
    o.alpha = 0.05, o.identity = (mint_identity_mode)7;
    assert_int_equal(mint_audit_run(&o, &r), MINT_E_ARG);
    o.identity = MINT_IDENTITY_AUTO, o.mint = net_path; /* not a MINT model */
    assert_int_not_equal(mint_audit_run(&o, &r), MINT_OK);
    assert_null(r.store);
    struct stat sb;
    assert_int_not_equal(stat(json, &sb), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_extract_run),     cmocka_unit_test(test_extract_run_bad),
        cmocka_unit_test(test_eval_run),        cmocka_unit_test(test_eval_run_bad),
        cmocka_unit_test(test_audit_run),       cmocka_unit_test(test_audit_run_bad),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
