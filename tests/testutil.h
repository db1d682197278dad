/* testutil.h - helpers shared by the cmocka tests. */
#ifndef MINT_TESTUTIL_H
#define MINT_TESTUTIL_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/* Directory of committed fixtures (tests run from the repository root). */
#ifndef TEST_FIXTURES
#define TEST_FIXTURES "tests/fixtures"
#endif

/* Path of ../shared/data (skip visibly when absent). */
static inline const char *test_shared_data(void)
{
    const char *e = getenv("MINT_SHARED_DATA");
    return e ? e : "../shared/data";
}
/* ---- scratch files (weights/io tests) ----
 * A per-process temporary directory, created on first use and removed with
 * everything in it at exit (kept if MINT_TEST_KEEP is set), so tests write
 * fixtures there and commit none. */
#include <dirent.h>
#include <ftw.h>
#include <sys/wait.h>
#include <unistd.h>

static char test_tmp_root[256];

static inline int test_rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static inline void test_tmp_cleanup(void)
{
    if (getenv("MINT_TEST_KEEP")) { /* keep fixtures, e.g. to seed a fuzz corpus */
        fprintf(stderr, "test files kept in %s\n", test_tmp_root);
        return;
    }
    if (test_tmp_root[0])
        nftw(test_tmp_root, test_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static inline const char *test_tmpdir(void)
{
    if (!test_tmp_root[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(test_tmp_root, sizeof test_tmp_root, "%s/minttest.XXXXXX",
                 base && *base ? base : "/tmp");
        if (!mkdtemp(test_tmp_root)) {
            fprintf(stderr, "cannot create a temporary directory under %s\n", test_tmp_root);
            abort();
        }
        atexit(test_tmp_cleanup);
    }
    return test_tmp_root;
}

/* "<tmpdir>/<name>" in a static rotating buffer (8 slots). */
static inline const char *test_tmp_path(const char *name)
{
    static char bufs[8][512];
    static int next;
    char *b = bufs[next++ & 7];
    snprintf(b, sizeof bufs[0], "%s/%s", test_tmpdir(), name);
    return b;
}

/* Whole file into a 64-byte aligned malloc'd buffer (NULL if unreadable),
 * followed by a NUL byte (not counted in *size), so text can be read as a
 * string. The one file reader of the tests: use it, do not copy it. */
static inline void *test_read_file(const char *path, size_t *size)
{
    *size = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    void *p = NULL;
    if (n < 0 || posix_memalign(&p, 64, (size_t)n + 64)) {
        fclose(fp);
        return NULL;
    }
    if (fread(p, 1, (size_t)n, fp) != (size_t)n) {
        free(p);
        p = NULL;
    } else {
        ((char *)p)[n] = 0;
    }
    fclose(fp);
    *size = p ? (size_t)n : 0;
    return p;
}

/* test_read_file that fails the test when the file cannot be read. */
static inline void *test_must_read(const char *path, size_t *size)
{
    void *p = test_read_file(path, size);
    if (!p)
        fail_msg("cannot read %s", path);
    return p;
}

/* A text file as a NUL-terminated string (NULL if unreadable). */
static inline char *test_read_text(const char *path)
{
    size_t n;
    return test_read_file(path, &n);
}

static inline int test_write_file(const char *path, const void *data, size_t n)
{
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return -1;
    int ok = fwrite(data, 1, n, fp) == n;
    return (fclose(fp) == 0 && ok) ? 0 : -1;
}

/* A string into a file; fails the test if it cannot be written. */
static inline void test_write_text(const char *path, const char *text)
{
    if (test_write_file(path, text, strlen(text)) != 0)
        fail_msg("cannot write %s", path);
}

/* Built with AddressSanitizer? Its shadow memory takes terabytes of address
 * space, so a test cannot cap RLIMIT_AS under it (every later mmap fails:
 * "ERROR: Failed to mmap"); such a test runs without its cap there. */
static inline int test_asan(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return 1;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return 1;
#endif
#endif
    return 0;
}

static inline int test_file_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* How many temporary files of path's atomic writer ("<path>.tmp.*",
 * base/file.h) are beside it. */
static inline int test_tmp_count(const char *path)
{
    char dir[4096], pre[1024];
    const char *slash = strrchr(path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    snprintf(pre, sizeof pre, "%s.tmp.", slash ? slash + 1 : path);
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += strncmp(e->d_name, pre, strlen(pre)) == 0;
    if (d)
        closedir(d);
    return n;
}

/* ---- the mint binary (CLI tests) ---- */
/* build/<dir>/mint next to build/<dir>/tests/<this test>. */
static inline const char *mint_bin(void)
{
    static char path[4096];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 16);
    if (n <= 0)
        return NULL;
    path[n] = 0;
    for (int k = 0; k < 2; k++) {
        char *sl = strrchr(path, '/');
        if (!sl)
            return NULL;
        *sl = 0;
    }
    strcat(path, "/mint");
    return access(path, X_OK) == 0 ? path : NULL;
}

/* CLI tests start with this: skipped, visibly, when build/<dir>/mint is
 * absent (a test binary run on its own before `make`). */
#define TEST_NEED_MINT()                                                         \
    do {                                                                         \
        if (!mint_bin()) {                                                       \
            printf("  SKIP: the mint binary is not built next to the tests\n"); \
            skip();                                                              \
        }                                                                        \
    } while (0)

/* Run "mint ARGS" (sh syntax) with stdout/stderr into files; exit status. */
static inline int run_mint(const char *args, const char *env, char **out, char **err)
{
    const char *bin = mint_bin();
    const char *po = test_tmp_path("cli.out"), *pe = test_tmp_path("cli.err");
    char cmd[8192];
    /* MINT_TEST_EXEC: how to run a cross-built binary (make test-cross: qemu) */
    const char *exec = getenv("MINT_TEST_EXEC");
    snprintf(cmd, sizeof cmd, "%s %s '%s' %s >'%s' 2>'%s'", env ? env : "", exec ? exec : "", bin,
             args, po, pe);
    int st = system(cmd);
    size_t n;
    char *o = test_read_file(po, &n), *e;
    o = realloc(o, n + 1);
    o[n] = 0;
    e = test_read_file(pe, &n);
    e = realloc(e, n + 1);
    e[n] = 0;
    *out = o;
    *err = e;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#endif
