/* test_tlog.c - the signed training log (mint/tlog.c), its keys, the
 * parameter hash it records (net_graph_param_sha256), and the CLI commands
 * on top (mint keygen, mint verify-log, run as a program): a good log
 * verifies; edited, truncated, reordered, foreign, wrongly keyed logs and a
 * wrong network are refused with the first bad record named; a resumed log
 * continues the chain. */
#include "testutil.h"
#include <math.h>
#include <sys/stat.h>
#include "base/sha256.h"
#include "mint/tlog.h"
#include "net/graph.h"
#include "net/graph_io.h"
#include "net/iresnet.h"
#include "weights/container.h"

/* ---------------- helpers ---------------- */

static void keypair(const char *name, uint8_t sk[MINT_TLOG_SK_BYTES], uint8_t pk[32])
{
    char base[512], kpath[600];
    snprintf(base, sizeof base, "%s", test_tmp_path(name));
    assert_int_equal(mint_tlog_keygen(base, pk), MINT_OK);
    snprintf(kpath, sizeof kpath, "%s.key", base);
    assert_int_equal(mint_tlog_load_secret(kpath, sk), MINT_OK);
}

static void fake_sha(int i, uint8_t sha[32])
{
    for (int k = 0; k < 32; k++)
        sha[k] = (uint8_t)(i * 31 + k);
}

/* A closed log of n records (steps 10, 20, ...; epoch = step / 25). */
static void write_log(const char *path, const uint8_t *sk, int n, const char *desc)
{
    remove(path);
    mint_tlog *log;
    assert_int_equal(mint_tlog_open_new(&log, path, sk, desc), MINT_OK);
    uint8_t sha[32];
    for (int i = 1; i <= n; i++) {
        fake_sha(i, sha);
        assert_int_equal(mint_tlog_append(log, 10 * i, 10 * i / 25, 1.0 / i, sha), MINT_OK);
    }
    fake_sha(n + 100, sha);
    assert_int_equal(mint_tlog_close(log, sha), MINT_OK);
}

/* The file's lines (copies; n returned). */
static int split_lines(const char *path, char **lines, int max)
{
    size_t sz;
    char *t = test_must_read(path, &sz);
    int n = 0;
    for (char *s = t, *nl; *s && n < max; s = nl + 1) {
        nl = strchr(s, '\n');
        assert_non_null(nl);
        lines[n++] = strndup(s, (size_t)(nl - s));
    }
    free(t);
    return n;
}

static void join_lines(const char *path, char **lines, int n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (int i = 0; i < n; i++)
        fprintf(f, "%s\n", lines[i]);
    fclose(f);
}

static void free_lines(char **lines, int n)
{
    for (int i = 0; i < n; i++)
        free(lines[i]);
}

/* Verify and expect a refusal of this kind at this line. */
static void expect_refused(const char *path, const uint8_t *pk, const uint8_t *final,
                           mint_tlog_verdict v, int64_t line)
{
    mint_tlog_result r;
    assert_int_equal(mint_tlog_verify(path, pk, final, &r), MINT_E_FORMAT);
    if (r.verdict != v || r.line != line)
        fail_msg("%s: expected '%s' at line %lld, got '%s' at line %lld (%s)", path,
                 mint_tlog_verdict_name(v), (long long)line, mint_tlog_verdict_name(r.verdict),
                 (long long)r.line, r.why);
    assert_int_equal(r.record, line - 1);
    assert_non_null(strstr(mint_last_error(), "line"));
}

/* ---------------- parameter hash ---------------- */

static void test_param_sha256(void **state)
{
    (void)state;
    /* known answer (Python: hashlib over name, 0, <I rank, <q dims, <f data) */
    net_graph *g = net_graph_new();
    assert_non_null(g);
    float *a = malloc(6 * sizeof(float)), *b = malloc(2 * sizeof(float));
    for (int i = 0; i < 6; i++)
        a[i] = 0.5f * (float)i;
    b[0] = -1.0f, b[1] = 3.25f;
    const int64_t da[2] = { 2, 3 }, db[1] = { 2 };
    assert_true(net_graph_add_weight(g, "a", 2, da, a, 1) >= 0);
    assert_true(net_graph_add_weight(g, "b.bias", 1, db, b, 1) >= 0);
    uint8_t sha[32];
    char hex[65];
    net_graph_param_sha256(g, sha);
    base_sha256_hex(sha, hex);
    assert_string_equal(hex, "a09037c2d9a93bb05fd440c357e38a04899d4d06e3f0027b1e7e0982e628e6e7");
    b[1] = 3.5f; /* any value changes it */
    net_graph_param_sha256(g, sha);
    base_sha256_hex(sha, hex);
    assert_string_not_equal(hex, "a09037c2d9a93bb05fd440c357e38a04899d4d06e3f0027b1e7e0982e628e6e7");
    net_graph_free(g);

    /* a network saved and loaded hashes the same; a changed weight does not */
    net_iresnet_cfg cfg = { { 1, 1, 1, 1 }, { 8, 8, 8, 8 }, 16, 112, 112, 3 };
    assert_int_equal(net_iresnet_build(&g, &cfg, 3), MINT_OK);
    uint8_t s1[32], s2[32];
    net_graph_param_sha256(g, s1);
    const char *path = test_tmp_path("tlog_net.mint");
    assert_int_equal(net_graph_save(g, path), MINT_OK);
    net_graph *h;
    wt_file *f;
    assert_int_equal(net_graph_load(&h, &f, path), MINT_OK);
    net_graph_param_sha256(h, s2);
    assert_memory_equal(s1, s2, 32);
    net_graph_free(h);
    wt_close(f);
    g->weights[g->nweights / 2].data[0] += 1e-6f;
    net_graph_param_sha256(g, s2);
    assert_memory_not_equal(s1, s2, 32);
    net_graph_free(g);
}

/* ---------------- keys ---------------- */

static void test_keys(void **state)
{
    (void)state;
    uint8_t sk[64], pk[32], pk2[32];
    char base[512], path[600];
    snprintf(base, sizeof base, "%s", test_tmp_path("keys"));
    assert_int_equal(mint_tlog_keygen(base, pk), MINT_OK);
    struct stat sb;
    snprintf(path, sizeof path, "%s.key", base);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(sb.st_size, 65);
    assert_int_equal(mint_tlog_load_secret(path, sk), MINT_OK);
    assert_memory_equal(sk + 32, pk, 32); /* the seed gives the public key back */
    snprintf(path, sizeof path, "%s.pub", base);
    assert_int_equal(mint_tlog_load_public(path, pk2), MINT_OK);
    assert_memory_equal(pk, pk2, 32);
    /* the hex digits themselves */
    char hex[65];
    base_sha256_hex(pk, hex);
    memset(pk2, 0, 32);
    assert_int_equal(mint_tlog_load_public(hex, pk2), MINT_OK);
    assert_memory_equal(pk, pk2, 32);
    /* never overwritten */
    assert_int_equal(mint_tlog_keygen(base, pk2), MINT_E_ARG);
    assert_int_equal(mint_tlog_load_public(path, pk2), MINT_OK);
    assert_memory_equal(pk, pk2, 32);
    /* damaged files */
    const char *bad = test_tmp_path("bad.key");
    test_write_text(bad, "not a key\n");
    assert_int_equal(mint_tlog_load_secret(bad, sk), MINT_E_FORMAT);
    assert_int_equal(mint_tlog_load_public(bad, pk2), MINT_E_FORMAT);
    assert_int_equal(mint_tlog_load_public(test_tmp_path("nothere.pub"), pk2), MINT_E_IO);
    /* upper-case hex is not the one spelling */
    for (char *c = hex; *c; c++)
        if (*c >= 'a' && *c <= 'f')
            *c = (char)(*c - 32);
    test_write_text(bad, hex);
    assert_int_equal(mint_tlog_load_public(bad, pk2), MINT_E_FORMAT);
}

/* ---------------- logs ---------------- */

static void test_good_log(void **state)
{
    (void)state;
    uint8_t sk[64], pk[32], final[32];
    keypair("good", sk, pk);
    const char *path = test_tmp_path("good.tlog");
    write_log(path, sk, 7, "run 1: iresnet18 on 100% MNIST, lr=0.1\tbatch 64");
    mint_tlog_result r;
    fake_sha(107, final);
    assert_int_equal(mint_tlog_verify(path, pk, final, &r), MINT_OK);
    assert_int_equal(r.verdict, MINT_TLOG_VALID);
    assert_int_equal(r.records, 7);
    assert_int_equal(r.first_step, 10);
    assert_int_equal(r.last_step, 70);
    assert_int_equal(r.last_epoch, 2);
    assert_true(r.closed);
    assert_memory_equal(r.final_sha, final, 32);
    assert_string_equal(r.description, "run 1: iresnet18 on 100% MNIST, lr=0.1\tbatch 64");
    assert_int_equal(strlen(r.created), 20);
    assert_int_equal(mint_tlog_verify(path, pk, NULL, &r), MINT_OK);
    /* one record per line: header, 7 records, close */
    char *lines[16];
    int n = split_lines(path, lines, 16);
    assert_int_equal(n, 9);
    assert_true(!strncmp(lines[0], "header n=0 format=mint-tlog-1 pub=", 34));
    assert_true(!strncmp(lines[3], "record n=3 step=30 epoch=1 loss=0.333333333 params=", 51));
    assert_true(!strncmp(lines[8], "close n=8 records=7 params=", 27));
    free_lines(lines, n);
    /* an empty log (no records) verifies too */
    write_log(path, sk, 0, "");
    assert_int_equal(mint_tlog_verify(path, pk, NULL, &r), MINT_OK);
    assert_int_equal(r.records, 0);
    /* a log is never overwritten */
    mint_tlog *log;
    assert_int_equal(mint_tlog_open_new(&log, path, sk, "again"), MINT_E_ARG);
}

static void test_refused_logs(void **state)
{
    (void)state;
    uint8_t sk[64], pk[32], sk2[64], pk2[32], final[32];
    keypair("ref1", sk, pk);
    keypair("ref2", sk2, pk2);
    const char *good = test_tmp_path("ref_good.tlog"), *bad = test_tmp_path("ref_bad.tlog"),
               *other = test_tmp_path("ref_other.tlog");
    write_log(good, sk, 6, "refusals");
    char *L[16], *O[16], *save;
    const int n = split_lines(good, L, 16); /* header, records 1..6 (lines 2..7), close (line 8) */
    assert_int_equal(n, 8);

    /* an edited field: record 3's loss */
    char *p = strstr(L[3], "loss=0.");
    assert_non_null(p);
    const char was = p[6];
    p[6] = was == '1' ? '2' : '1';
    join_lines(bad, L, n);
    expect_refused(bad, pk, NULL, MINT_TLOG_BAD_SIGNATURE, 4);
    p[6] = was;
    /* an edited step that keeps the line well formed */
    p = strstr(L[5], "step=50");
    p[5] = '9';
    join_lines(bad, L, n);
    expect_refused(bad, pk, NULL, MINT_TLOG_BAD_SIGNATURE, 6);
    p[5] = '5';
    join_lines(bad, L, n);
    assert_int_equal(mint_tlog_verify(bad, pk, NULL, &(mint_tlog_result){ 0 }), MINT_OK);

    /* truncated: the closing record removed, then two more lines */
    join_lines(bad, L, n - 1);
    expect_refused(bad, pk, NULL, MINT_TLOG_TRUNCATED, 8);
    join_lines(bad, L, n - 3);
    expect_refused(bad, pk, NULL, MINT_TLOG_TRUNCATED, 6);
    /* cut mid-line (the closing record, then record 4) */
    size_t sz;
    char *t = test_must_read(good, &sz);
    assert_int_equal(test_write_file(bad, t, sz - 20), 0);
    expect_refused(bad, pk, NULL, MINT_TLOG_TRUNCATED, 8);
    size_t cut = (size_t)(strstr(t, "record n=4") - t) + 40;
    assert_int_equal(test_write_file(bad, t, cut), 0);
    expect_refused(bad, pk, NULL, MINT_TLOG_TRUNCATED, 5);
    /* the newline alone removed from the last line */
    assert_int_equal(test_write_file(bad, t, sz - 1), 0);
    expect_refused(bad, pk, NULL, MINT_TLOG_TRUNCATED, 8);
    assert_int_equal(test_write_file(bad, "", 0), 0);
    expect_refused(bad, pk, NULL, MINT_TLOG_TRUNCATED, 1);
    free(t);

    /* reordered records: 3 and 4 swapped; a record removed; one repeated */
    save = L[3], L[3] = L[4], L[4] = save;
    join_lines(bad, L, n);
    expect_refused(bad, pk, NULL, MINT_TLOG_BAD_ORDER, 4);
    save = L[3], L[3] = L[4], L[4] = save;
    char *M[16];
    int m = 0;
    for (int i = 0; i < n; i++)
        if (i != 2)
            M[m++] = L[i];
    join_lines(bad, M, m);
    expect_refused(bad, pk, NULL, MINT_TLOG_BAD_ORDER, 3);
    m = 0;
    for (int i = 0; i < n; i++) {
        M[m++] = L[i];
        if (i == 2)
            M[m++] = L[i];
    }
    join_lines(bad, M, m);
    expect_refused(bad, pk, NULL, MINT_TLOG_BAD_ORDER, 4);

    /* a record from another log by the same key (same record number) */
    write_log(other, sk, 6, "another run");
    const int no = split_lines(other, O, 16);
    save = L[3], L[3] = O[3];
    join_lines(bad, L, n);
    expect_refused(bad, pk, NULL, MINT_TLOG_BROKEN_CHAIN, 4);
    L[3] = save;
    /* another log's closing record */
    save = L[7], L[7] = O[7];
    join_lines(bad, L, n);
    expect_refused(bad, pk, NULL, MINT_TLOG_BROKEN_CHAIN, 8);
    L[7] = save;
    free_lines(O, no);
    /* a record signed by another key */
    write_log(other, sk2, 6, "another key");
    split_lines(other, O, 16);
    save = L[2], L[2] = O[2];
    join_lines(bad, L, n);
    expect_refused(bad, pk, NULL, MINT_TLOG_BAD_SIGNATURE, 3);
    L[2] = save;
    free_lines(O, no);

    /* the wrong key; a wrong final hash (another network) */
    expect_refused(good, pk2, NULL, MINT_TLOG_WRONG_KEY, 1);
    fake_sha(5, final);
    expect_refused(good, pk, final, MINT_TLOG_FINAL_MISMATCH, 8);

    /* a line after the closing record; a malformed line; upper-case hex */
    join_lines(bad, L, n);
    FILE *f = fopen(bad, "ab");
    fputs(L[7], f);
    fputc('\n', f);
    fclose(f);
    expect_refused(bad, pk, NULL, MINT_TLOG_AFTER_CLOSE, 9);
    save = L[2], L[2] = "record n=2 step=20 garbage";
    join_lines(bad, L, n);
    expect_refused(bad, pk, NULL, MINT_TLOG_MALFORMED, 3);
    L[2] = save;
    char *s = strstr(L[2], " sig=") + 5;
    for (char *c = s; *c; c++)
        if (*c >= 'a' && *c <= 'f')
            *c = (char)(*c - 32);
    join_lines(bad, L, n);
    expect_refused(bad, pk, NULL, MINT_TLOG_MALFORMED, 3);
    /* a second header */
    free_lines(L, n);
    split_lines(good, L, 16);
    save = L[4], L[4] = L[0];
    join_lines(bad, L, n);
    expect_refused(bad, pk, NULL, MINT_TLOG_MALFORMED, 5);
    L[4] = save;
    free_lines(L, n);
    /* a missing file */
    mint_tlog_result r;
    assert_int_equal(mint_tlog_verify(test_tmp_path("none.tlog"), pk, NULL, &r), MINT_E_IO);
}

static void test_append_rules(void **state)
{
    (void)state;
    uint8_t sk[64], pk[32], sha[32] = { 0 };
    keypair("rules", sk, pk);
    const char *path = test_tmp_path("rules.tlog");
    mint_tlog *log;
    assert_int_equal(mint_tlog_open_new(&log, path, sk, "rules"), MINT_OK);
    assert_int_equal(mint_tlog_last_step(log), -1);
    assert_int_equal(mint_tlog_append(log, 5, 1, 0.5, sha), MINT_OK);
    assert_int_equal(mint_tlog_append(log, 5, 1, 0.5, sha), MINT_E_ARG);  /* step repeated */
    assert_int_equal(mint_tlog_append(log, 6, 0, 0.5, sha), MINT_E_ARG);  /* epoch back */
    assert_int_equal(mint_tlog_append(log, -1, 1, 0.5, sha), MINT_E_ARG);
    assert_int_equal(mint_tlog_append(log, 9, 1, NAN, sha), MINT_OK); /* a NaN loss is logged */
    assert_int_equal(mint_tlog_last_step(log), 9);
    char desc[MINT_TLOG_DESC_MAX + 2];
    memset(desc, 'x', sizeof desc - 1);
    desc[sizeof desc - 1] = 0;
    mint_tlog *l2;
    assert_int_equal(mint_tlog_open_new(&l2, test_tmp_path("rules2.tlog"), sk, desc), MINT_E_ARG);
    assert_int_equal(mint_tlog_close(log, sha), MINT_OK);
    mint_tlog_result r;
    assert_int_equal(mint_tlog_verify(path, pk, sha, &r), MINT_OK);
    assert_int_equal(r.records, 2);
}

static void test_reopen(void **state)
{
    (void)state;
    uint8_t sk[64], pk[32], sk2[64], pk2[32], sha[32];
    keypair("reo", sk, pk);
    keypair("reo2", sk2, pk2);
    const char *path = test_tmp_path("reopen.tlog");
    mint_tlog *log;
    assert_int_equal(mint_tlog_open_new(&log, path, sk, "resumable"), MINT_OK);
    for (int i = 1; i <= 3; i++) {
        fake_sha(i, sha);
        assert_int_equal(mint_tlog_append(log, i * 100, i, 0.1 * i, sha), MINT_OK);
    }
    mint_tlog_free(log); /* the run stops without closing */
    mint_tlog_result r;
    expect_refused(path, pk, NULL, MINT_TLOG_TRUNCATED, 5);
    /* another key cannot continue it */
    assert_int_equal(mint_tlog_reopen(&log, path, sk2, &r), MINT_E_FORMAT);
    assert_int_equal(r.verdict, MINT_TLOG_WRONG_KEY);
    /* a crash left half a line */
    FILE *f = fopen(path, "ab");
    fputs("record n=4 step=400 ep", f);
    fclose(f);
    assert_int_equal(mint_tlog_reopen(&log, path, sk, &r), MINT_OK);
    assert_int_equal(r.dropped_bytes, 22);
    assert_int_equal(r.records, 3);
    assert_int_equal(mint_tlog_last_step(log), 300);
    assert_int_equal(mint_tlog_append(log, 300, 3, 0.5, sha), MINT_E_ARG);
    for (int i = 4; i <= 5; i++) {
        fake_sha(i, sha);
        assert_int_equal(mint_tlog_append(log, i * 100, i, 0.1 * i, sha), MINT_OK);
    }
    assert_int_equal(mint_tlog_close(log, sha), MINT_OK);
    assert_int_equal(mint_tlog_verify(path, pk, sha, &r), MINT_OK);
    assert_int_equal(r.records, 5);
    assert_int_equal(r.first_step, 100);
    assert_int_equal(r.last_step, 500);
    assert_string_equal(r.description, "resumable");
    /* a closed log is not continued; a damaged one neither */
    assert_int_equal(mint_tlog_reopen(&log, path, sk, &r), MINT_E_FORMAT);
    assert_int_equal(r.verdict, MINT_TLOG_AFTER_CLOSE);
    size_t sz;
    char *t = test_must_read(path, &sz);
    char *p = strstr(t, "step=200");
    p[5] = '7';
    assert_int_equal(test_write_file(path, t, sz), 0);
    assert_int_equal(mint_tlog_reopen(&log, path, sk, &r), MINT_E_FORMAT);
    assert_int_equal(r.verdict, MINT_TLOG_BAD_SIGNATURE);
    assert_int_equal(r.line, 3);
    free(t);
}

/* ---------------- CLI ---------------- */

static void test_cli_keygen_verify(void **state)
{
    (void)state;
    TEST_NEED_MINT();
    char *o, *e, args[4096], key[512], net[512], net2[512], log[512], bad[512];
    snprintf(key, sizeof key, "%s", test_tmp_path("cli_key"));
    snprintf(net, sizeof net, "%s", test_tmp_path("cli_net.mint"));
    snprintf(net2, sizeof net2, "%s", test_tmp_path("cli_net2.mint"));
    snprintf(log, sizeof log, "%s", test_tmp_path("cli.tlog"));
    snprintf(bad, sizeof bad, "%s", test_tmp_path("cli_bad.tlog"));

    snprintf(args, sizeof args, "keygen --out '%s'", key);
    assert_int_equal(run_mint(args, NULL, &o, &e), 0);
    assert_non_null(strstr(o, ".pub (public key "));
    free(o), free(e);
    assert_int_equal(run_mint(args, NULL, &o, &e), 1); /* never overwritten */
    assert_non_null(strstr(e, "never overwritten"));
    free(o), free(e);
    assert_int_equal(run_mint("keygen", NULL, &o, &e), 2);
    assert_non_null(strstr(e, "usage: mint keygen --out NAME"));
    free(o), free(e);

    /* a "training run": a network, its parameter hashes logged, saved */
    uint8_t sk[64], sha[32];
    char kpath[600], ppath[600];
    snprintf(kpath, sizeof kpath, "%s.key", key);
    snprintf(ppath, sizeof ppath, "%s.pub", key);
    assert_int_equal(mint_tlog_load_secret(kpath, sk), MINT_OK);
    net_iresnet_cfg cfg = { { 1, 1, 1, 1 }, { 8, 8, 8, 8 }, 16, 112, 112, 3 };
    net_graph *g;
    assert_int_equal(net_iresnet_build(&g, &cfg, 5), MINT_OK);
    mint_tlog *tl;
    assert_int_equal(mint_tlog_open_new(&tl, log, sk, "cli test run"), MINT_OK);
    for (int step = 1; step <= 4; step++) {
        g->weights[0].data[step] += 0.25f; /* "training" */
        net_graph_param_sha256(g, sha);
        assert_int_equal(mint_tlog_append(tl, step * 20, step / 2, 1.0 / step, sha), MINT_OK);
    }
    net_graph_param_sha256(g, sha);
    assert_int_equal(mint_tlog_close(tl, sha), MINT_OK);
    assert_int_equal(net_graph_save(g, net), MINT_OK);
    g->weights[1].data[0] += 1.0f; /* another network */
    assert_int_equal(net_graph_save(g, net2), MINT_OK);
    net_graph_free(g);

    snprintf(args, sizeof args, "verify-log '%s' --key '%s' --network '%s'", log, ppath, net);
    assert_int_equal(run_mint(args, NULL, &o, &e), 0);
    assert_non_null(strstr(o, "OK: 4 records, steps 20..80, final parameters match "));
    assert_non_null(strstr(o, "run: cli test run"));
    free(o), free(e);
    snprintf(args, sizeof args, "verify-log '%s' --key '%s'", log, ppath);
    assert_int_equal(run_mint(args, NULL, &o, &e), 0);
    assert_non_null(strstr(o, "(no --network to compare)"));
    free(o), free(e);
    /* another network */
    snprintf(args, sizeof args, "verify-log '%s' --key '%s' --network '%s'", log, ppath, net2);
    assert_int_equal(run_mint(args, NULL, &o, &e), 1);
    assert_non_null(strstr(o, "REFUSED: record 5 (line 6): the final parameters are not those of"));
    free(o), free(e);
    /* the wrong key (as hex digits) */
    uint8_t pk2[32];
    char hex[65];
    keypair("cli_other", sk, pk2);
    base_sha256_hex(pk2, hex);
    snprintf(args, sizeof args, "verify-log '%s' --key %s", log, hex);
    assert_int_equal(run_mint(args, NULL, &o, &e), 1);
    assert_non_null(strstr(o, "REFUSED: record 0 (line 1): the log was signed by key "));
    free(o), free(e);
    /* an edited record */
    size_t sz;
    char *t = test_must_read(log, &sz);
    char *p = strstr(t, "step=40");
    p[5] = '5';
    assert_int_equal(test_write_file(bad, t, sz), 0);
    snprintf(args, sizeof args, "verify-log '%s' --key '%s' --network '%s'", bad, ppath, net);
    assert_int_equal(run_mint(args, NULL, &o, &e), 1);
    assert_non_null(strstr(o, "REFUSED: record 2 (line 3): signature does not verify"));
    free(o), free(e);
    /* truncated */
    p[5] = '4';
    assert_int_equal(test_write_file(bad, t, (size_t)(strstr(t, "close n=") - t)), 0);
    assert_int_equal(run_mint(args, NULL, &o, &e), 1);
    assert_non_null(strstr(o, "REFUSED: record 5 (line 6): no closing record"));
    free(o), free(e);
    free(t);
    /* usage and file errors */
    snprintf(args, sizeof args, "verify-log '%s'", log);
    assert_int_equal(run_mint(args, NULL, &o, &e), 2);
    assert_non_null(strstr(e, "needs --key"));
    free(o), free(e);
    snprintf(args, sizeof args, "verify-log '%s' --key '%s'", test_tmp_path("nolog"), ppath);
    assert_int_equal(run_mint(args, NULL, &o, &e), 1);
    assert_non_null(strstr(e, "nolog"));
    free(o), free(e);
    assert_int_equal(run_mint("verify-log --help", NULL, &o, &e), 0);
    assert_non_null(strstr(o, "usage: mint verify-log LOG --key PUB"));
    free(o), free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_param_sha256),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_good_log),
        cmocka_unit_test(test_refused_logs),
        cmocka_unit_test(test_append_rules),
        cmocka_unit_test(test_reopen),
        cmocka_unit_test(test_cli_keygen_verify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
