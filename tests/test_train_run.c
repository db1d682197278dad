/* test_train_run.c - mint_train_run, the library call behind `mint train`
 * (include/mint.h): its messages reach the caller's callback and nothing is
 * printed; epochs are reported; the resume policy on <out>.partial; the
 * result describes the saved model. What the CLI prints of it is in
 * test_cli.c. */
#include "testutil.h"
#include "io/npy.h"
#include "mint/model.h"

typedef struct {
    char text[8][1024];
    mint_msg_kind kind[8];
    int n, epochs, last_epoch;
} seen;

static void on_message(void *ctx, mint_msg_kind kind, const char *text)
{
    seen *s = ctx;
    if (s->n < 8) {
        snprintf(s->text[s->n], sizeof s->text[0], "%s", text);
        s->kind[s->n] = kind;
    }
    s->n++;
}

static void on_epoch(void *ctx, const mint_train_progress *p)
{
    seen *s = ctx;
    s->epochs++;
    s->last_epoch = p->epoch;
}

/* rows x 8 float features; members shifted so that they can be told apart. */
static void write_feats(const char *path, int rows, float shift, uint64_t seed)
{
    float x[64 * 8];
    uint64_t r = seed;
    for (int i = 0; i < rows * 8; i++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((r >> 40) & 0xffff) / 65536.0f + shift;
    }
    const int64_t dims[2] = { rows, 8 };
    assert_int_equal(io_npy_write(path, BASE_F32, 2, dims, x), MINT_OK);
}

static int find(const seen *s, mint_msg_kind kind, const char *part)
{
    for (int i = 0; i < s->n && i < 8; i++)
        if (s->kind[i] == kind && strstr(s->text[i], part))
            return 1;
    return 0;
}

static void test_train_run_messages_and_resume_policy(void **state)
{
    (void)state;
    char mem[512], ext[512], out[512], partial[600];
    snprintf(mem, sizeof mem, "%s", test_tmp_path("m.npy"));
    snprintf(ext, sizeof ext, "%s", test_tmp_path("e.npy"));
    snprintf(out, sizeof out, "%s", test_tmp_path("t.mint"));
    snprintf(partial, sizeof partial, "%s.partial", out);
    write_feats(mem, 40, 0.5f, 1);
    write_feats(ext, 60, 0.0f, 2);

    seen s = { 0 };
    mint_train_run_opts o;
    mint_train_run_defaults(&o);
    assert_int_equal(o.batch, 128);
    assert_true(o.holdout == 0.1);
    o.kind = "vanilla";
    o.members = mem;
    o.external = ext;
    o.out = out;
    o.epochs = 10;
    o.batch = 16;
    o.message = on_message;
    o.epoch = on_epoch;
    o.ctx = &s;
    mint_train_run_result r;
    assert_int_equal(mint_train_run(&o, &r), MINT_OK);
    /* .npy files: no index.csv (no overlap check) and no extract.txt (no network) */
    assert_true(find(&s, MINT_MSG_NOTE, "warning: no extract.txt says which network"));
    assert_true(find(&s, MINT_MSG_NOTE, "nothing checked that the members and the external"));
    assert_true(find(&s, MINT_MSG_NOTE, "warning: the external samples have no identity labels"));
    assert_true(find(&s, MINT_MSG_DETAIL, "vanilla MINT: 40 members, 60 external"));
    assert_int_equal(s.epochs, 10);
    assert_int_equal(s.last_epoch, 10);
    assert_false(r.collapsed);
    assert_true(r.train_accuracy > 0.9); /* the sides are shifted by 0.5 */
    assert_int_equal(r.n_cal_external, 6); /* 10% of 60, held out by image */
    assert_true(r.cal_external_heldout);
    assert_false(r.trainset_recorded);
    assert_true(test_file_exists(out));
    assert_false(test_file_exists(partial)); /* removed after success */
    mint_tm *tm;
    assert_int_equal(mint_tm_load(&tm, out), MINT_OK);
    assert_true(tm->threshold == r.threshold);
    mint_tm_free(tm);

    /* an interrupted run's state is refused without resume, before any data is read */
    test_write_text(partial, "not a checkpoint");
    o.members = test_tmp_path("absent.npy");
    assert_int_equal(mint_train_run(&o, &r), MINT_E_ARG);
    assert_non_null(strstr(mint_last_error(), "exists: the state of an interrupted run"));
    /* with resume it is loaded and checked: a broken one cannot be resumed */
    o.members = mem;
    o.resume = 1;
    assert_int_equal(mint_train_run(&o, &r), MINT_E_FORMAT);
    assert_non_null(strstr(mint_last_error(), "it cannot be resumed: delete it to start over"));
    remove(partial);
    /* resume without a state starts afresh, and says so */
    memset(&s, 0, sizeof s);
    assert_int_equal(mint_train_run(&o, &r), MINT_OK);
    assert_true(find(&s, MINT_MSG_DETAIL, "to resume: starting afresh"));

    /* bad options are refused by the library itself */
    o.kind = "forest";
    assert_int_equal(mint_train_run(&o, &r), MINT_E_ARG);
    o.kind = "cnn";
    o.taps = "layer1,layer2";
    assert_int_equal(mint_train_run(&o, &r), MINT_E_ARG);
    assert_non_null(strstr(mint_last_error(), "CNN MINT trains on one tap"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_train_run_messages_and_resume_policy),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    test_tmp_cleanup();
    return rc;
}
