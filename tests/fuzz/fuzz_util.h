/* fuzz_util.h - helpers of the libFuzzer targets in tests/fuzz/ (not a
 * target itself: `make fuzz` builds fuzz_*.c). */
#ifndef MINT_FUZZ_UTIL_H
#define MINT_FUZZ_UTIL_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char fuzz_scratch_path[64];

static void fuzz_scratch_remove(void)
{
    unlink(fuzz_scratch_path);
}

/* For readers that take a path: data written to one scratch file per
 * process (removed at exit), its path returned. */
static const char *fuzz_scratch(const uint8_t *data, size_t size)
{
    if (!fuzz_scratch_path[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(fuzz_scratch_path, sizeof fuzz_scratch_path, "%.40s/fuzz_mint.%ld",
                 base && *base ? base : "/tmp", (long)getpid());
        atexit(fuzz_scratch_remove);
    }
    FILE *f = fopen(fuzz_scratch_path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f))
        abort();
    return fuzz_scratch_path;
}
#endif
