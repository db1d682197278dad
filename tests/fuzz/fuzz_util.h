/* fuzz_util.h - helpers of the libFuzzer targets in tests/fuzz/ (not a
 * target itself: `make fuzz` builds fuzz_*.c). */
#ifndef MINT_FUZZ_UTIL_H
#define MINT_FUZZ_UTIL_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char fuzz_scratch_path[64];

static inline void fuzz_scratch_remove(void)
{
    unlink(fuzz_scratch_path);
}

/* Folder for scratch files: TMPDIR, else /dev/shm when there is one (the
 * writers fsync: on a disk that makes a target ten times slower), else /tmp. */
static inline const char *fuzz_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    if (base && *base)
        return base;
    return access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
}

/* For readers that take a path: data written to one scratch file per
 * process (removed at exit), its path returned. */
static inline const char *fuzz_scratch(const uint8_t *data, size_t size)
{
    if (!fuzz_scratch_path[0]) {
        snprintf(fuzz_scratch_path, sizeof fuzz_scratch_path, "%.40s/fuzz_mint.%ld", fuzz_tmpdir(),
                 (long)getpid());
        atexit(fuzz_scratch_remove);
    }
    FILE *f = fopen(fuzz_scratch_path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f))
        abort();
    return fuzz_scratch_path;
}
#endif
