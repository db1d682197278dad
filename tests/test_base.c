/* test_base.c - the base layer: the atomic writer (base/file.h). */
#include "testutil.h"
#include <sys/stat.h>
#include "base/cpu.h"
#include "base/file.h"
#include "base/sha256.h"
#include "base/nameidx.h"

/* Two writers of one path at once (threads of one process, or two runs)
 * get distinct O_EXCL temporary files; each commit replaces the file whole;
 * abort leaves nothing. */
static void test_afile_concurrent(void **state)
{
    (void)state;
    const char *path = test_tmp_path("af.txt");
    base_afile a, b;
    assert_int_equal(base_afile_open(&a, path), MINT_OK);
    assert_int_equal(base_afile_open(&b, path), MINT_OK);
    assert_string_not_equal(a.tmp, b.tmp);
    assert_int_equal(test_tmp_count(path), 2);
    assert_int_equal(base_afile_write(&a, "first\n", 6), MINT_OK);
    assert_int_equal(base_afile_write(&b, "second\n", 7), MINT_OK);
    assert_false(test_file_exists(path)); /* nothing before the commit */
    assert_int_equal(base_afile_commit(&a), MINT_OK);
    assert_null(a.fp);
    size_t n;
    char *txt = test_must_read(path, &n);
    assert_string_equal(txt, "first\n");
    free(txt);
    assert_int_equal(base_afile_commit(&b), MINT_OK);
    txt = test_must_read(path, &n);
    assert_string_equal(txt, "second\n");
    free(txt);
    assert_int_equal(test_tmp_count(path), 0);

    assert_int_equal(base_afile_open(&a, path), MINT_OK);
    fputs("third\n", a.fp);
    base_afile_abort(&a);
    base_afile_abort(&a); /* zeroed: safe */
    assert_int_equal(test_tmp_count(path), 0);
    txt = test_must_read(path, &n);
    assert_string_equal(txt, "second\n");
    free(txt);
}

/* Failures name the file and leave no temporary file behind. */
static void test_afile_errors(void **state)
{
    (void)state;
    char bad[600];
    snprintf(bad, sizeof bad, "%s/no/such/dir/x.json", test_tmpdir());
    assert_int_equal(base_write_file_atomic(bad, "{}", 2), MINT_E_IO);
    assert_non_null(strstr(mint_last_error(), "x.json"));
    /* rename onto a non-empty folder fails: the temporary file goes */
    const char *dir = test_tmp_path("full_dir");
    char inner[700];
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(inner, sizeof inner, "%s/f", dir);
    assert_int_equal(test_write_file(inner, "x", 1), 0);
    assert_int_equal(base_write_file_atomic(dir, "abc", 3), MINT_E_IO);
    assert_non_null(strstr(mint_last_error(), "full_dir"));
    assert_int_equal(test_tmp_count(dir), 0);
    assert_int_equal(base_write_file_atomic(NULL, "a", 1), MINT_E_ARG);
    /* an empty file is a file */
    const char *empty = test_tmp_path("empty");
    assert_int_equal(base_write_file_atomic(empty, NULL, 0), MINT_OK);
    struct stat sb;
    assert_int_equal(stat(empty, &sb), 0);
    assert_int_equal(sb.st_size, 0);
}

/* The name index: 100k keys through several growths, duplicates refused
 * with the first value, overwrite, absent keys, keys differing in one byte. */
static void test_nameidx(void **state)
{
    (void)state;
    enum { N = 100000 };
    char (*keys)[16] = malloc(sizeof *keys * N);
    assert_non_null(keys);
    base_nameidx ix = { 0 };
    assert_int_equal(base_nameidx_get(&ix, "x"), -1); /* empty */
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        assert_int_equal(base_nameidx_add(&ix, keys[i], i), -1);
    }
    assert_int_equal((int)ix.n, N);
    assert_true(ix.cap >= 2 * (size_t)N);
    for (int i = 0; i < N; i += 7)
        assert_int_equal(base_nameidx_get(&ix, keys[i]), i);
    assert_int_equal(base_nameidx_get(&ix, "k100000"), -1);
    assert_int_equal(base_nameidx_get(&ix, ""), -1);
    assert_int_equal(base_nameidx_add(&ix, "k42", 7), 42); /* present: unchanged */
    assert_int_equal(base_nameidx_get(&ix, "k42"), 42);
    assert_int_equal(base_nameidx_put(&ix, "k42", 7), 0); /* overwrite */
    assert_int_equal(base_nameidx_get(&ix, "k42"), 7);
    assert_int_equal((int)ix.n, N);
    base_nameidx_free(&ix);
    assert_int_equal(base_nameidx_get(&ix, "k1"), -1);
    /* reserve then add never grows */
    assert_int_equal(base_nameidx_reserve(&ix, 1000), 0);
    size_t cap = ix.cap;
    for (int i = 0; i < 1000; i++)
        assert_int_equal(base_nameidx_add(&ix, keys[i], i), -1);
    assert_int_equal(ix.cap, cap);
    base_nameidx_free(&ix);
    free(keys);
    /* FNV-1a reference values (64-bit offset basis; "a" from the FNV spec) */
    assert_true(base_fnv1a("") == 0xcbf29ce484222325ull);
    assert_true(base_fnv1a("a") == 0xaf63dc4c8601ec8cull);
}

/* SHA-256 follows the one ISA choice: scalar when the active ISA is
 * scalar (MINT_ISA=scalar, mint_set_isa("scalar")), the SHA extensions
 * otherwise when the CPU has them; both give the FIPS 180-4 digests. */
static void test_sha256_follows_isa(void **state)
{
    (void)state;
    const char *was = base_isa_active();
    assert_true(base_isa_supported(was));
    assert_true(base_isa_supported("scalar"));
    assert_false(base_isa_supported("bogus"));
    assert_false(base_isa_supported(NULL));
    static const char abc_hex[] =
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    for (int pass = 0; pass < 2; pass++) {
        base_isa_set(pass ? was : "scalar");
        int accel = base_sha256_accelerated();
        if (pass == 0)
            assert_false(accel);
#if defined(__x86_64__)
        else if (strcmp(was, "scalar") != 0)
            assert_int_equal(accel, (base_cpu_features() & BASE_CPU_SHA) != 0);
#endif
        base_sha256 s;
        uint8_t d[32];
        char hex[65];
        base_sha256_init(&s);
        base_sha256_update(&s, "abc", 3);
        base_sha256_final(&s, d);
        base_sha256_hex(d, hex);
        assert_string_equal(hex, abc_hex);
    }
    base_isa_set(was);
}

/* MINT_ISA=scalar in a child process (forked before this process resolves
 * the ISA): the active ISA is scalar and SHA-256 does not use the SHA
 * extensions. */
static void test_isa_env(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setenv("MINT_ISA", "scalar", 1);
        _exit(strcmp(base_isa_active(), "scalar") == 0 && !base_sha256_accelerated() ? 0 : 1);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_isa_env), /* first: nothing has resolved the ISA yet */
        cmocka_unit_test(test_afile_concurrent),
        cmocka_unit_test(test_afile_errors),
        cmocka_unit_test(test_nameidx),
        cmocka_unit_test(test_sha256_follows_isa),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
