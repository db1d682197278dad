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
#endif
