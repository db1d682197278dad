/* test_hostile.c - regression tests for the defects a hostile-input and
 * fault campaign found (issue 9, item 7): each test fails on the code
 * before its fix. The fuzz targets that found them are in tests/fuzz/. */
#include "testutil.h"
#include <signal.h>
#include <sys/resource.h>
#include <sys/time.h>
#include "base/file.h"
#include "io/npy.h"
#include "mint/extract.h"
#include "mint/extract_dir.h"
#include "mint/model.h"
#include "mint/train.h"
#include "weights/container.h"

static const char sha[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static double now(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + 1e-6 * (double)tv.tv_usec;
}

/* A shard folder by hand: shard i/n of a list of `count` (text as written in
 * extract.txt) holding `rows` images, none failed. */
static const char *make_shard(const char *name, int i, int n, const char *count, int rows)
{
    const char *dir = test_tmp_path(name);
    char path[600], buf[4096];
    assert_int_equal(mkdir(dir, 0777), 0);
    snprintf(path, sizeof path, "%s/extract.txt", dir);
    int len = snprintf(buf, sizeof buf,
                       "mint extract run\nmodel %s\ntaps embedding\npool max\ndtype f32\nchunk 1024\n"
                       "shard %d/%d\nimages %d\nlist %s\nfull-list %s %s\nlandmarks -\nroot /x\n",
                       sha, i, n, rows, sha, sha, count);
    assert_int_equal(test_write_file(path, buf, (size_t)len), 0);
    len = snprintf(buf, sizeof buf, "row,file,label,sha256\n");
    for (int r = 0; r < rows; r++)
        len += snprintf(buf + len, sizeof buf - (size_t)len, "%d,i%d_%d.png,p%d,%s\n", r, i, r, r, sha);
    snprintf(path, sizeof path, "%s/index.csv", dir);
    assert_int_equal(test_write_file(path, buf, (size_t)len), 0);
    float v[64] = { 0 };
    int64_t dims[2] = { rows, 4 };
    snprintf(path, sizeof path, "%s/embedding.npy", dir);
    assert_int_equal(io_npy_write(path, BASE_F32, 2, dims, v), MINT_OK);
    return dir;
}

/* (a) mint merge read the full-list count unbounded: a huge count wrapped
 * malloc(sizeof *owner * fulln) and the loop after it wrote past the buffer,
 * and a merely large one (500,000,000) cost 2 GB and 5 s before refusing. */
static void test_merge_hostile_count(void **state)
{
    (void)state;
    static const char *const counts[] = {
        "500000000",            /* large: 2 GB before the fix */
        "4611686018427387905",  /* 2^62+1: sizeof(int) * count wraps to 4 */
        "18446744073709551615", /* SIZE_MAX */
        "18446744073709551616", /* SIZE_MAX + 1 */
        "-3",                   /* %zu took it as SIZE_MAX - 2 */
    };
    struct rlimit old;
    getrlimit(RLIMIT_AS, &old);
    struct rlimit lim = { (rlim_t)1 << 31, old.rlim_max }; /* 2 GB of address space: the fix needs KB */
    for (size_t c = 0; c < sizeof counts / sizeof *counts; c++) {
        char n0[64], n1[64], out[64];
        snprintf(n0, sizeof n0, "hc%zu_s0", c);
        snprintf(n1, sizeof n1, "hc%zu_s1", c);
        snprintf(out, sizeof out, "hc%zu_out", c);
        const char *ins[2] = { make_shard(n0, 0, 2, counts[c], 2), make_shard(n1, 1, 2, counts[c], 1) };
        mint_merge_stats ms;
        double t0 = now();
        if (!test_asan() && (old.rlim_cur == RLIM_INFINITY || old.rlim_cur > lim.rlim_cur))
            setrlimit(RLIMIT_AS, &lim); /* no cap under ASan (testutil.h test_asan) */
        mint_status st = mint_merge(test_tmp_path(out), ins, 2, 0, &ms);
        setrlimit(RLIMIT_AS, &old);
        assert_int_equal(st, MINT_E_FORMAT);
        assert_true(strstr(mint_last_error(), "inconsistent") || strstr(mint_last_error(), "full-list"));
        assert_true(now() - t0 < 1.0);
    }
    /* the same folders with the true count merge */
    const char *ins[2] = { make_shard("hc_ok0", 0, 2, "3", 2), make_shard("hc_ok1", 1, 2, "3", 1) };
    mint_merge_stats ms;
    assert_int_equal(mint_merge(test_tmp_path("hc_ok_out"), ins, 2, 0, &ms), MINT_OK);
    assert_int_equal(ms.rows, 3);
    /* a partial set: the count still has to fit the shard held */
    const char *one[1] = { make_shard("hc_p0", 0, 1000, "5000000", 1) };
    assert_int_equal(mint_merge(test_tmp_path("hc_p_out"), one, 1, 1, &ms), MINT_E_FORMAT);
    const char *one_ok[1] = { make_shard("hc_p1", 7, 1000, "1500", 2) };
    assert_int_equal(mint_merge(test_tmp_path("hc_p1_out"), one_ok, 1, 1, &ms), MINT_OK);
    assert_int_equal(ms.rows, 2);
}

/* Run f under a 1 GB address-space limit (what the fixes need is far less). */
static mint_status limited_load(mint_tm **tm, const char *path)
{
    struct rlimit old, lim;
    getrlimit(RLIMIT_AS, &old);
    lim = old;
    if (!test_asan() && (old.rlim_cur == RLIM_INFINITY || old.rlim_cur > ((rlim_t)1 << 30)))
        lim.rlim_cur = (rlim_t)1 << 30; /* no cap under ASan (testutil.h test_asan) */
    setrlimit(RLIMIT_AS, &lim);
    mint_status st = mint_tm_load(tm, path);
    setrlimit(RLIMIT_AS, &old);
    return st;
}

/* (b) loading a MINT model allocated (and initialised) what its metadata
 * claimed before checking any tensor: 192 bytes claiming a CNN input of
 * [1,5792,5792] took 8.4 GB and 66 s before "no tensor named 'conv.weight'". */
static void test_model_metadata_alloc(void **state)
{
    (void)state;
    static const struct { const char *kind; int n; int64_t dims[3]; const char *tensor; } cases[] = {
        { "cnn", 3, { 1, 5792, 5792 }, "conv.weight" },
        { "vanilla", 1, { 1 << 24, 0, 0 }, "dense1.weight" },
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        wt_writer *w = wt_writer_new();
        assert_non_null(w);
        assert_int_equal(wt_writer_meta_str(w, "mint.kind", cases[c].kind), MINT_OK);
        assert_int_equal(wt_writer_meta_i64_arr(w, "mint.input_dims", cases[c].dims, (size_t)cases[c].n),
                         MINT_OK);
        const char *path = test_tmp_path(c ? "claims_v.mint" : "claims_cnn.mint");
        assert_int_equal(wt_writer_write(w, path), MINT_OK);
        wt_writer_free(w);
        mint_tm *tm = NULL;
        double t0 = now();
        mint_status st = limited_load(&tm, path);
        assert_true(now() - t0 < 1.0);
        assert_int_not_equal(st, MINT_OK);
        assert_int_not_equal(st, MINT_E_NOMEM);
        assert_null(tm);
        assert_non_null(strstr(mint_last_error(), cases[c].tensor));
    }
    /* a model whose tensors are there loads */
    mint_tm_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.kind = MINT_TM_CNN;
    cfg.in_dims[0] = 2, cfg.in_dims[1] = 4, cfg.in_dims[2] = 6;
    mint_tm *tm = NULL, *back = NULL;
    assert_int_equal(mint_tm_create(&tm, &cfg, 7), MINT_OK);
    const char *path = test_tmp_path("small_cnn.mint");
    assert_int_equal(mint_tm_save(tm, path), MINT_OK);
    assert_int_equal(limited_load(&back, path), MINT_OK);
    size_t n1, n2;
    const float *a = mint_tm_tensor(tm, "dense1.weight", &n1), *b = mint_tm_tensor(back, "dense1.weight", &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(a, b, n1 * sizeof *a);
    mint_tm_free(tm);
    mint_tm_free(back);
}

/* The one extract.txt reader: strict where a hostile file could mislead
 * (a key twice, a NUL byte, no end), lenient on CR LF and blank lines. */
static void test_extract_txt_reader(void **state)
{
    (void)state;
    mint_extract_txt t;
    static const char ok[] = "mint extract run\r\nmodel abc\n\ntaps layer1 layer2\nshard -\nempty\n";
    assert_int_equal(mint_extract_txt_parse(ok, sizeof ok - 1, "x", &t), MINT_OK);
    assert_string_equal(t.title, "mint extract run");
    assert_int_equal(t.n, 4);
    assert_string_equal(mint_extract_txt_get(&t, "model"), "abc");
    assert_string_equal(mint_extract_txt_get(&t, "taps"), "layer1 layer2");
    assert_string_equal(mint_extract_txt_get(&t, "empty"), "");
    assert_null(mint_extract_txt_get(&t, "pool"));
    mint_extract_txt_free(&t);
    static const char twice[] = "mint extract run\nmodel a\nmodel b\n";
    assert_int_equal(mint_extract_txt_parse(twice, sizeof twice - 1, "x", &t), MINT_E_FORMAT);
    assert_non_null(strstr(mint_last_error(), "x:3: key 'model' given twice"));
    static const char nul[] = "mint extract run\nmodel a\0b\n";
    assert_int_equal(mint_extract_txt_parse(nul, sizeof nul - 1, "x", &t), MINT_E_FORMAT);
    static const char badkey[] = "mint extract run\nMo\001del a\n";
    assert_int_equal(mint_extract_txt_parse(badkey, sizeof badkey - 1, "x", &t), MINT_E_FORMAT);
    char *big = malloc(MINT_EXTRACT_TXT_MAX + 2);
    memset(big, 'a', MINT_EXTRACT_TXT_MAX + 1);
    assert_int_equal(mint_extract_txt_parse(big, MINT_EXTRACT_TXT_MAX + 1, "x", &t), MINT_E_FORMAT);
    free(big);
    char many[4096];
    int len = snprintf(many, sizeof many, "t\n");
    for (int k = 0; k <= MINT_EXTRACT_KEYS; k++)
        len += snprintf(many + len, sizeof many - (size_t)len, "k%d v\n", k);
    assert_int_equal(mint_extract_txt_parse(many, (size_t)len, "x", &t), MINT_E_FORMAT);
    assert_int_equal(mint_extract_txt_read(test_tmp_path("nothing.txt"), &t), MINT_E_NOTFOUND);
    /* errors.csv: items, old format, a bad item */
    long *items, n;
    const char *p = test_tmp_path("errors.csv");
    assert_int_equal(mint_extract_errors_read(p, &items, &n), MINT_OK); /* absent */
    assert_int_equal(n, 0);
    assert_int_equal(test_write_file(p, "item,file,error\n3,a.png,x\n7,b.png,y\n", 36), 0);
    assert_int_equal(mint_extract_errors_read(p, &items, &n), MINT_OK);
    assert_int_equal(n, 2);
    assert_int_equal(items[0], 3);
    assert_int_equal(items[1], 7);
    free(items);
    assert_int_equal(test_write_file(p, "item,file,error\n-3,a.png,x\n", 27), 0);
    assert_int_equal(mint_extract_errors_read(p, &items, &n), MINT_E_FORMAT);
    assert_null(items);
}

/* (d) an extract --out folder is locked: a second run is told the PID
 * using it; the lock of a killed run is stale and taken over. */
static void test_out_lock(void **state)
{
    (void)state;
    const char *dir = test_tmp_path("locked");
    assert_int_equal(mkdir(dir, 0777), 0);
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) { /* holds the lock until killed */
        int fd;
        char c = mint_extract_lock(dir, &fd) == MINT_OK ? 'y' : 'n';
        if (write(pfd[1], &c, 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    char c = 0;
    assert_int_equal(read(pfd[0], &c, 1), 1);
    assert_int_equal(c, 'y');
    int fd = -1;
    assert_int_equal(mint_extract_lock(dir, &fd), MINT_E_ARG);
    char want[64];
    snprintf(want, sizeof want, "in use by PID %ld", (long)child);
    assert_non_null(strstr(mint_last_error(), want));
    assert_int_equal(fd, -1);
    /* killed: its .lock file stays, with its PID, and is taken over */
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    char path[600];
    snprintf(path, sizeof path, "%s/.lock", dir);
    assert_true(test_file_exists(path));
    assert_int_equal(mint_extract_lock(dir, &fd), MINT_OK);
    size_t n;
    char *pid = test_read_file(path, &n);
    assert_int_equal(strtol(pid, NULL, 10), (long)getpid());
    free(pid);
    mint_extract_unlock(dir, fd);
    assert_false(test_file_exists(path));
    close(pfd[0]);
    close(pfd[1]);
}

/* Finite but huge parameters (found by fuzz_model): the score was NaN,
 * silently; now scoring fails naming the cause. */
static void test_model_overflow_nan(void **state)
{
    (void)state;
    mint_tm_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.kind = MINT_TM_VANILLA;
    cfg.in_dims[0] = 3;
    mint_tm *tm = NULL, *back = NULL;
    assert_int_equal(mint_tm_create(&tm, &cfg, 3), MINT_OK);
    size_t n;
    float *b1 = mint_tm_tensor(tm, "dense1.bias", &n), *g = mint_tm_tensor(tm, "bn.weight", &n);
    for (size_t k = 0; k < n; k++)
        b1[k] = 1e30f, g[k] = 1e30f; /* BN output inf for every unit */
    float *w2 = mint_tm_tensor(tm, "dense2.weight", &n);
    for (size_t k = 0; k < n; k++)
        w2[k] = k % 2 ? -1.0f : 1.0f; /* inf - inf */
    const char *path = test_tmp_path("overflow.mint");
    assert_int_equal(mint_tm_save(tm, path), MINT_OK);
    assert_int_equal(mint_tm_load(&back, path), MINT_OK); /* every value is finite */
    float x[6] = { 0 }, score[2] = { 0.5f, 0.5f };
    assert_int_equal(mint_tm_predict(back, x, 2, score), MINT_E_FORMAT);
    assert_non_null(strstr(mint_last_error(), "no score for sample 0"));
    mint_tm_free(tm);
    mint_tm_free(back);
}

/* (e) a killed writer (merge, convert, embed) left <name>.tmp.<pid>; the
 * next write of that name removes the temporary files of dead processes,
 * and only those. */
static void test_stale_temps(void **state)
{
    (void)state;
    pid_t dead = fork();
    assert_true(dead >= 0);
    if (dead == 0)
        _exit(0);
    waitpid(dead, NULL, 0);
    static const char *const names[] = { "stale.npy", "stale.txt", "stale.mint" };
    for (int w = 0; w < 3; w++) {
        const char *out = test_tmp_path(names[w]);
        char gone[2][600], kept[3][600];
        snprintf(gone[0], sizeof gone[0], "%s.tmp.%ld", out, (long)dead);
        snprintf(gone[1], sizeof gone[1], "%s.tmp.%ld.7", out, (long)dead); /* io_image's form */
        snprintf(kept[0], sizeof kept[0], "%s.tmp.%ld", out, (long)getppid()); /* alive */
        snprintf(kept[1], sizeof kept[1], "%s.tmp.x%ld", out, (long)dead);  /* not a temporary name */
        snprintf(kept[2], sizeof kept[2], "%sx.tmp.%ld", out, (long)dead);  /* another file's */
        for (int k = 0; k < 2; k++)
            assert_int_equal(test_write_file(gone[k], "x", 1), 0);
        for (int k = 0; k < 3; k++)
            assert_int_equal(test_write_file(kept[k], "x", 1), 0);
        if (w == 0) {
            float v[4] = { 1, 2, 3, 4 };
            int64_t dims[2] = { 1, 4 };
            assert_int_equal(io_npy_write(out, BASE_F32, 2, dims, v), MINT_OK);
        } else if (w == 1) {
            assert_int_equal(base_write_file_atomic(out, "t\n", 2), MINT_OK);
        } else {
            wt_writer *wr = wt_writer_new();
            assert_int_equal(wt_writer_meta_i64(wr, "n", 1), MINT_OK);
            assert_int_equal(wt_writer_write(wr, out), MINT_OK);
            wt_writer_free(wr);
        }
        assert_true(test_file_exists(out));
        for (int k = 0; k < 2; k++)
            assert_false(test_file_exists(gone[k]));
        for (int k = 0; k < 3; k++)
            assert_true(test_file_exists(kept[k]));
    }
}

/* A training checkpoint whose holdout fraction is -4.3e79 (found by
 * fuzz_checkpoint: it reached a float-to-integer conversion out of range) is
 * refused when loaded. */
static void test_checkpoint_holdout(void **state)
{
    (void)state;
    mint_tm *tm;
    mint_tm_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.kind = MINT_TM_VANILLA;
    cfg.in_dims[0] = 4; /* the fuzz target's model */
    assert_int_equal(mint_tm_create(&tm, &cfg, 1), MINT_OK);
    mint_train_state *s = NULL;
    assert_int_equal(mint_train_state_load(TEST_FIXTURES "/hostile_checkpoint_holdout.partial",
                                           tm, &s), MINT_E_FORMAT);
    assert_null(s);
    assert_non_null(strstr(mint_last_error(), "holdout"));
    mint_tm_free(tm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checkpoint_holdout),
        cmocka_unit_test(test_merge_hostile_count),
        cmocka_unit_test(test_model_metadata_alloc),
        cmocka_unit_test(test_extract_txt_reader),
        cmocka_unit_test(test_out_lock),
        cmocka_unit_test(test_model_overflow_nan),
        cmocka_unit_test(test_stale_temps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
