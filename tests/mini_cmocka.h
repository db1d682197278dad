/* mini_cmocka.h - cmocka, or (cross builds: no aarch64 cmocka on the host,
 * or MINT_NO_CMOCKA) a minimal stand-in with the same reporting lines, for
 * the kernel tests that link only libmintkern.a (test_kernels,
 * test_conv_bwd) and run under qemu. Include after the system headers. */
#ifndef MINT_TESTS_MINI_CMOCKA_H
#define MINT_TESTS_MINI_CMOCKA_H

#if !defined(MINT_NO_CMOCKA) && defined(__has_include)
#if !__has_include(<cmocka.h>)
#define MINT_NO_CMOCKA 1
#endif
#endif

#ifndef MINT_NO_CMOCKA
#include <setjmp.h>
#include <cmocka.h>
#else
/* ---- minimal cmocka stand-in ---- */
#include <setjmp.h>
struct CMUnitTest {
    const char *name;
    void (*test_func)(void **state);
};
#define cmocka_unit_test(f) { #f, f }
static jmp_buf mini_jmp;
static void mini_fail(const char *file, int line, const char *what)
{
    printf("[  ERROR   ] --- %s\n[   LINE   ] --- %s:%d: error: Failure!\n", what, file, line);
    longjmp(mini_jmp, 1);
}
#define assert_true(c) do { if (!(c)) mini_fail(__FILE__, __LINE__, #c); } while (0)
#define assert_false(c) assert_true(!(c))
#define assert_int_equal(a, b) do { \
        long long a_ = (long long)(a), b_ = (long long)(b); \
        if (a_ != b_) { printf("%lld != %lld\n", a_, b_); mini_fail(__FILE__, __LINE__, #a " == " #b); } \
    } while (0)
#define assert_non_null(p) assert_true((p) != NULL)
#define assert_null(p) assert_true((p) == NULL)
#define fail_msg(...) do { printf(__VA_ARGS__); printf("\n"); mini_fail(__FILE__, __LINE__, "fail_msg"); } while (0)
#define print_message(...) printf(__VA_ARGS__)
#define cmocka_run_group_tests(t, s, d) mini_run(t, sizeof(t) / sizeof((t)[0]))
static int mini_run(const struct CMUnitTest *t, size_t n)
{
    volatile size_t failed = 0;
    printf("[==========] Running %zu test(s).\n", n);
    for (volatile size_t i = 0; i < n; i++) {
        printf("[ RUN      ] %s\n", t[i].name);
        fflush(stdout);
        if (setjmp(mini_jmp) == 0) {
            t[i].test_func(NULL);
            printf("[       OK ] %s\n", t[i].name);
        } else {
            printf("[  FAILED  ] %s\n", t[i].name);
            failed++;
        }
    }
    printf("[==========] %zu test(s) run.\n[  PASSED  ] %zu test(s).\n", n, n - failed);
    if (failed)
        printf("[  FAILED  ] %zu test(s).\n", failed);
    return (int)failed;
}
#endif

#endif
