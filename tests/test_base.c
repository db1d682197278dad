/* test_base.c - the base layer: the atomic writer (base/file.h). */
#include "testutil.h"
#include <sys/stat.h>
#include "base/file.h"
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_afile_concurrent),
        cmocka_unit_test(test_afile_errors),
        cmocka_unit_test(test_nameidx),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
