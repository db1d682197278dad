/* test_trainset.c - overlap checks by SHA-256 (issue 8, item 4):
 *  - image keys from index.csv (quoted names, wrong row counts, no index,
 *    malformed lines) and from hashing files;
 *  - shared images between two sets and repeats within one;
 *  - the training set recorded in the MINT model and kept on resume.
 * What `mint train` says and refuses about shared images is in test_cli.c. */
#include "testutil.h"
#include <sys/stat.h>
#include "io/npy.h"
#include "mint/model.h"
#include "mint/train.h"
#include "mint/trainset.h"
#include "net/iresnet.h"
#include "weights/container.h"
#include "net/graph_io.h"

static void test_sha256_key(void **state)
{
    (void)state;
    uint64_t k;
    assert_int_equal(mint_sha256_key("0123456789abcdefFFFF", &k), 0);
    assert_true(k == 0x0123456789abcdefull);
    assert_int_equal(mint_sha256_key("FEDCBA9876543210", &k), 0);
    assert_true(k == 0xfedcba9876543210ull);
    assert_int_equal(mint_sha256_key("0123456789abcde", &k), -1); /* 15 digits */
    assert_int_equal(mint_sha256_key("0123456789abcdeg", &k), -1);
    assert_int_equal(mint_sha256_key(NULL, &k), -1);
}

static void test_keys_from_index(void **state)
{
    (void)state;
    const char *dir = test_tmp_path("ki");
    mkdir(dir, 0755);
    char path[700];
    snprintf(path, sizeof path, "%s/index.csv", dir);
    const char *csv = "row,file,label,sha256\n"
                      "0,a/x.jpg,a,00000000000000aa" "000000000000000000000000000000000000000000000000\n"
                      "1,\"b,\"\"q\"\".jpg\",\"lab,el\",00000000000000bb" "000000000000000000000000000000000000000000000000\r\n";
    assert_int_equal(test_write_file(path, csv, strlen(csv)), 0);
    mint_image_keys k;
    assert_int_equal(mint_keys_from_index(dir, 2, &k), MINT_OK);
    assert_int_equal(k.n, 2);
    assert_true(k.key[0] == 0xaa && k.key[1] == 0xbb);
    assert_string_equal(k.file[0], "a/x.jpg");
    assert_string_equal(k.file[1], "b,\"q\".jpg");
    mint_image_keys_free(&k);
    /* a .npy file in the folder: the folder's index; any count */
    snprintf(path, sizeof path, "%s/layer1.npy", dir);
    assert_int_equal(test_write_file(path, "x", 1), 0);
    assert_int_equal(mint_keys_from_index(path, -1, &k), MINT_OK);
    assert_int_equal(k.n, 2);
    mint_image_keys_free(&k);
    /* another number of rows than the features: it does not describe them */
    assert_int_equal(mint_keys_from_index(dir, 3, &k), MINT_E_SHAPE);
    assert_non_null(strstr(mint_last_error(), "lists 2 images"));
    assert_null(k.key);
    /* no index.csv */
    const char *bare = test_tmp_path("ki_bare");
    mkdir(bare, 0755);
    assert_int_equal(mint_keys_from_index(bare, -1, &k), MINT_E_NOTFOUND);
    assert_int_equal(mint_keys_from_index(test_tmp_path("ki_missing"), -1, &k), MINT_E_NOTFOUND);
    /* malformed: bad header, short hash, missing field */
    const char *bad[] = { "row,file\n0,a,b,c\n",
                          "row,file,label,sha256\n0,a,b,00000000000000aa\n",
                          ("row,file,label,sha256\n0,a,00000000000000aa"
                           "000000000000000000000000000000000000000000000000\n") };
    snprintf(path, sizeof path, "%s/index.csv", bare);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(test_write_file(path, bad[i], strlen(bad[i])), 0);
        assert_int_equal(mint_keys_from_index(bare, -1, &k), MINT_E_FORMAT);
        assert_non_null(strstr(mint_last_error(), "index.csv"));
    }
}

static void test_keys_from_list(void **state)
{
    (void)state;
    const char *names[3] = { "h0.bin", "h1.bin", "h2.bin" };
    const char *data[3] = { "same bytes", "other bytes", "same bytes" };
    io_list l = { calloc(3, sizeof(io_item)), 3 };
    for (int i = 0; i < 3; i++) {
        const char *p = test_tmp_path(names[i]);
        assert_int_equal(test_write_file(p, data[i], strlen(data[i])), 0);
        l.items[i].path = strdup(p);
        l.items[i].key = strdup(names[i]);
        l.items[i].label = strdup("");
    }
    mint_image_keys k;
    assert_int_equal(mint_keys_from_list(&l, &k), MINT_OK);
    assert_int_equal(k.n, 3);
    assert_true(k.key[0] == k.key[2] && k.key[0] != k.key[1]);
    char hex[65];
    uint64_t want;
    assert_int_equal(base_sha256_file(l.items[1].path, hex), MINT_OK);
    assert_int_equal(mint_sha256_key(hex, &want), 0);
    assert_true(k.key[1] == want);
    assert_string_equal(k.file[2], "h2.bin");
    int64_t n;
    char ex[256];
    assert_int_equal(mint_keys_repeats(&k, &n, ex, sizeof ex, 3), MINT_OK);
    assert_int_equal(n, 1);
    assert_string_equal(ex, "h2.bin = h0.bin");
    mint_image_keys_free(&k);
    /* an unreadable file is named */
    free(l.items[1].path);
    l.items[1].path = strdup(test_tmp_path("no_such_image.png"));
    assert_int_equal(mint_keys_from_list(&l, &k), MINT_E_IO);
    assert_non_null(strstr(mint_last_error(), "no_such_image.png"));
    io_list_free(&l);
}

static void test_keys_shared(void **state)
{
    (void)state;
    uint64_t ka[6] = { 5, 1, 9, 5, 7, 3 }, kb[5] = { 2, 9, 5, 5, 8 };
    char *fa[6] = { "a0", "a1", "a2", "a3", "a4", "a5" }, *fb[5] = { "b0", "b1", "b2", "b3", "b4" };
    mint_image_keys a = { 6, ka, fa }, b = { 5, kb, fb };
    int64_t n;
    char ex[256];
    assert_int_equal(mint_keys_shared(&a, &b, &n, ex, sizeof ex, 3), MINT_OK);
    assert_int_equal(n, 2); /* 5 and 9, each counted once */
    assert_string_equal(ex, "a0 = b2, a2 = b1");
    assert_int_equal(mint_keys_shared(&a, &b, &n, ex, sizeof ex, 1), MINT_OK);
    assert_string_equal(ex, "a0 = b2");
    assert_int_equal(mint_keys_repeats(&a, &n, ex, sizeof ex, 3), MINT_OK);
    assert_int_equal(n, 1);
    assert_string_equal(ex, "a3 = a0");
    assert_int_equal(mint_keys_repeats(&b, &n, NULL, 0, 0), MINT_OK);
    assert_int_equal(n, 1);
    /* disjoint and empty sets */
    uint64_t kc[2] = { 100, 200 };
    mint_image_keys c = { 2, kc, fa }, e = { 0, NULL, NULL };
    assert_int_equal(mint_keys_shared(&a, &c, &n, ex, sizeof ex, 3), MINT_OK);
    assert_int_equal(n, 0);
    assert_string_equal(ex, "");
    assert_int_equal(mint_keys_shared(&a, &e, &n, NULL, 0, 0), MINT_OK);
    assert_int_equal(n, 0);
}

/* ---------------- the record in a MINT model ---------------- */

static void test_trainset_build_find(void **state)
{
    (void)state;
    const uint64_t mem[5] = { 0xff00000000000001ull, 7, 3, 7, 0x8000000000000000ull };
    const uint64_t ext[6] = { 10, 11, 12, 13, 11, 14 };
    const int64_t held[2] = { 5, 2 }; /* 14 and 12: the reference */
    mint_trainset ts;
    memset(&ts, 0, sizeof ts);
    assert_int_equal(mint_trainset_find(&ts, 7), 0); /* not recorded: nothing found */
    assert_int_equal(mint_trainset_build(&ts, mem, 5, ext, 6, held, 2), MINT_OK);
    assert_true(ts.recorded);
    assert_int_equal(ts.n[MINT_TS_MEMBERS], 4);   /* 7 twice */
    assert_int_equal(ts.n[MINT_TS_EXTERNAL], 3);  /* 10, 11, 13 */
    assert_int_equal(ts.n[MINT_TS_REFERENCE], 2); /* 12, 14 */
    /* rows: big-endian bytes, ascending (0x80.. and 0xff.. after the small keys) */
    const uint8_t first[8] = { 0, 0, 0, 0, 0, 0, 0, 3 }, last[8] = { 0xff, 0, 0, 0, 0, 0, 0, 1 };
    assert_memory_equal(ts.rows[MINT_TS_MEMBERS], first, 8);
    assert_memory_equal(ts.rows[MINT_TS_MEMBERS] + 24, last, 8);
    for (int i = 0; i < 5; i++)
        assert_int_equal(mint_trainset_find(&ts, mem[i]), 1u << MINT_TS_MEMBERS);
    assert_int_equal(mint_trainset_find(&ts, 10), 1u << MINT_TS_EXTERNAL);
    assert_int_equal(mint_trainset_find(&ts, 11), 1u << MINT_TS_EXTERNAL);
    assert_int_equal(mint_trainset_find(&ts, 12), 1u << MINT_TS_REFERENCE);
    assert_int_equal(mint_trainset_find(&ts, 14), 1u << MINT_TS_REFERENCE);
    assert_int_equal(mint_trainset_find(&ts, 0), 0);
    assert_int_equal(mint_trainset_find(&ts, 8), 0);
    assert_int_equal(mint_trainset_find(&ts, ~0ull), 0);
    const uint64_t q[6] = { 7, 7, 99, 12, 13, 3 };
    int64_t c[MINT_TS_SETS];
    mint_trainset_count(&ts, q, 6, c);
    assert_int_equal(c[MINT_TS_MEMBERS], 3);
    assert_int_equal(c[MINT_TS_EXTERNAL], 1);
    assert_int_equal(c[MINT_TS_REFERENCE], 1);
    /* bad held-out indices are refused and leave the record as it was */
    const int64_t bad[2] = { 1, 1 };
    assert_int_equal(mint_trainset_build(&ts, mem, 5, ext, 6, bad, 2), MINT_E_ARG);
    assert_int_equal(ts.n[MINT_TS_REFERENCE], 2);
    const int64_t out_of_range[1] = { 6 };
    assert_int_equal(mint_trainset_build(&ts, mem, 5, ext, 6, out_of_range, 1), MINT_E_ARG);
    /* no hold-out: no reference */
    assert_int_equal(mint_trainset_build(&ts, mem, 5, ext, 6, NULL, 0), MINT_OK);
    assert_int_equal(ts.n[MINT_TS_EXTERNAL], 5);
    assert_int_equal(ts.n[MINT_TS_REFERENCE], 0);
    assert_int_equal(mint_trainset_find(&ts, 12), 1u << MINT_TS_EXTERNAL);
    mint_trainset_free(&ts);
    assert_false(ts.recorded);
}

static mint_tm *small_tm(void)
{
    mint_tm_config cfg = { .kind = MINT_TM_VANILLA, .in_dims = { 6, 0, 0 } };
    snprintf(cfg.taps, sizeof cfg.taps, "layer1");
    mint_tm *tm;
    assert_int_equal(mint_tm_create(&tm, &cfg, 3), MINT_OK);
    return tm;
}

static void test_trainset_save_load(void **state)
{
    (void)state;
    const char *path = test_tmp_path("ts.mint"), *old = test_tmp_path("ts_old.mint");
    mint_tm *tm = small_tm();
    assert_int_equal(mint_tm_save(tm, old), MINT_OK); /* as before the record existed */
    uint64_t mem[300], ext[200];
    int64_t held[20];
    for (int i = 0; i < 300; i++)
        mem[i] = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
    for (int i = 0; i < 200; i++)
        ext[i] = 0xc2b2ae3d27d4eb4full * (uint64_t)(i + 1);
    for (int i = 0; i < 20; i++)
        held[i] = 10 * i + 3;
    assert_int_equal(mint_trainset_build(&tm->trainset, mem, 300, ext, 200, held, 20), MINT_OK);
    assert_int_equal(mint_tm_save(tm, path), MINT_OK);
    mint_tm *back;
    assert_int_equal(mint_tm_load(&back, path), MINT_OK);
    assert_true(back->trainset.recorded);
    for (int s = 0; s < MINT_TS_SETS; s++) {
        assert_int_equal(back->trainset.n[s], tm->trainset.n[s]);
        assert_memory_equal(back->trainset.rows[s], tm->trainset.rows[s],
                            8 * (size_t)tm->trainset.n[s]);
    }
    assert_int_equal(back->trainset.n[MINT_TS_REFERENCE], 20);
    for (int i = 0; i < 200; i++)
        assert_int_equal(mint_trainset_find(&back->trainset, ext[i]),
                         1u << (i % 10 == 3 ? MINT_TS_REFERENCE : MINT_TS_EXTERNAL));
    mint_tm_free(back);
    /* an older file loads, without the record */
    assert_int_equal(mint_tm_load(&back, old), MINT_OK);
    assert_false(back->trainset.recorded);
    assert_int_equal(mint_trainset_find(&back->trainset, mem[0]), 0);
    mint_tm_free(back);

    /* damaged records are refused: unsorted rows, counts that do not match */
    wt_file *f;
    assert_int_equal(wt_open(&f, path), MINT_OK);
    mint_trainset ts;
    assert_int_equal(mint_trainset_read(&ts, f), MINT_OK);
    wt_close(f);
    uint8_t *r = ts.rows[MINT_TS_MEMBERS];
    uint8_t tmp[8];
    memcpy(tmp, r, 8), memcpy(r, r + 8, 8), memcpy(r + 8, tmp, 8); /* swap two rows */
    const char *bad = test_tmp_path("ts_bad.mint");
    for (int k = 0; k < 2; k++) {
        wt_writer *w = wt_writer_new();
        if (k == 1) { /* sorted again, but one row fewer than the counts say */
            memcpy(tmp, r, 8), memcpy(r, r + 8, 8), memcpy(r + 8, tmp, 8);
            ts.n[MINT_TS_MEMBERS]--;
            assert_int_equal(wt_writer_meta_str(w, "mint.trainset", "sha256[0:8]"), MINT_OK);
            const int64_t counts[3] = { 300, ts.n[1], ts.n[2] };
            assert_int_equal(wt_writer_meta_i64_arr(w, "mint.trainset.counts", counts, 3), MINT_OK);
            for (int s = 0; s < 3; s++) {
                const int64_t dims[2] = { ts.n[s], 8 };
                static const char *const names[3] = { "trainset.members", "trainset.external",
                                                      "trainset.reference" };
                assert_int_equal(wt_writer_tensor(w, names[s], BASE_U8, 2, dims, ts.rows[s]),
                                 MINT_OK);
            }
        } else {
            assert_int_equal(mint_trainset_write(&ts, w), MINT_OK);
        }
        assert_int_equal(wt_writer_write(w, bad), MINT_OK);
        wt_writer_free(w);
        assert_int_equal(wt_open(&f, bad), MINT_OK);
        mint_trainset t2;
        assert_int_equal(mint_trainset_read(&t2, f), k ? MINT_E_SHAPE : MINT_E_FORMAT);
        assert_false(t2.recorded);
        if (!k)
            assert_non_null(strstr(mint_last_error(), "not sorted"));
        wt_close(f);
    }
    mint_trainset_free(&ts);
    mint_tm_free(tm);
}

static mint_status stop_after_one(void *ctx, const mint_tm *tm, const mint_train_state *s)
{
    mint_status st = mint_train_state_save(tm, s, ctx);
    return st ? st : mint_fail(MINT_E_IO, "simulated crash");
}

/* mint_train records the images when given their keys: the members, the
 * external samples trained on and the held-out ones; a resumed run (keys
 * given again) ends with the same record. */
static void test_trainset_train_resume(void **state)
{
    (void)state;
    enum { NM = 12, NE = 10 };
    float xm[NM * 6], xe[NE * 6];
    for (int i = 0; i < NM * 6; i++)
        xm[i] = (float)((i * 7) % 13) / 5.0f;
    for (int i = 0; i < NE * 6; i++)
        xe[i] = (float)((i * 5) % 11) / 7.0f - 0.5f;
    uint64_t km[NM], ke[NE];
    for (int i = 0; i < NM; i++)
        km[i] = 100 + (uint64_t)i;
    for (int i = 0; i < NE; i++)
        ke[i] = 200 + (uint64_t)i;
    mint_train_opts o;
    mint_train_defaults(&o, MINT_TM_VANILLA);
    o.epochs = 2;
    o.batch = 4;
    o.holdout = 0.3;
    o.member_keys = km;
    o.external_keys = ke;
    mint_tm *a = small_tm(), *b = small_tm();
    assert_int_equal(mint_train(a, xm, NM, xe, NE, &o), MINT_OK);
    assert_true(a->trainset.recorded);
    assert_int_equal(a->trainset.n[MINT_TS_MEMBERS], NM);
    assert_int_equal(a->trainset.n[MINT_TS_EXTERNAL], NE - 3);
    assert_int_equal(a->trainset.n[MINT_TS_REFERENCE], 3);
    int64_t c[MINT_TS_SETS];
    mint_trainset_count(&a->trainset, ke, NE, c);
    assert_int_equal(c[MINT_TS_EXTERNAL] + c[MINT_TS_REFERENCE], NE);
    assert_int_equal(c[MINT_TS_MEMBERS], 0);
    /* the reference is the calibration reference: as many as its scores */
    assert_int_equal(a->trainset.n[MINT_TS_REFERENCE], a->n_cal_external);
    /* crash after epoch 1, resume */
    char ckpt[512];
    snprintf(ckpt, sizeof ckpt, "%s", test_tmp_path("ts.partial"));
    mint_train_opts oc = o;
    oc.checkpoint = stop_after_one;
    oc.ctx = ckpt;
    assert_int_equal(mint_train(b, xm, NM, xe, NE, &oc), MINT_E_IO);
    assert_false(b->trainset.recorded);
    mint_train_state *rs;
    assert_int_equal(mint_train_state_load(ckpt, b, &rs), MINT_OK);
    mint_train_opts orr = o;
    orr.resume = rs;
    assert_int_equal(mint_train(b, xm, NM, xe, NE, &orr), MINT_OK);
    mint_train_state_free(rs);
    for (int s = 0; s < MINT_TS_SETS; s++) {
        assert_int_equal(b->trainset.n[s], a->trainset.n[s]);
        assert_memory_equal(b->trainset.rows[s], a->trainset.rows[s], 8 * (size_t)a->trainset.n[s]);
    }
    /* without keys: nothing recorded */
    mint_tm *c2 = small_tm();
    o.member_keys = o.external_keys = NULL;
    assert_int_equal(mint_train(c2, xm, NM, xe, NE, &o), MINT_OK);
    assert_false(c2->trainset.recorded);
    mint_tm_free(a), mint_tm_free(b), mint_tm_free(c2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_key),
        cmocka_unit_test(test_keys_from_index),
        cmocka_unit_test(test_keys_from_list),
        cmocka_unit_test(test_keys_shared),
        cmocka_unit_test(test_trainset_build_find),
        cmocka_unit_test(test_trainset_save_load),
        cmocka_unit_test(test_trainset_train_resume),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
