/* fuzz_npy.c - libFuzzer target for the .npy reader (io/npy.c): header
 * dict, shape, dtype and data size. `make fuzz` builds it, tests/fuzz/run.sh
 * runs it with the seeds in tests/fuzz/corpus/npy/ (small committed .npy
 * fixtures). Every input must be refused with a status or read whole. */
#include <stdint.h>
#include <stdlib.h>
#include "io/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    io_npy a;
    if (io_npy_read_mem(data, size, "fuzz.npy", &a) == MINT_OK) {
        /* the array is usable: every element of the shape is there */
        volatile uint8_t sink = 0;
        const uint8_t *p = a.data;
        for (size_t i = 0; i < a.nbytes; i++)
            sink ^= p[i];
        (void)sink;
        io_npy_free(&a);
    }
    return 0;
}
