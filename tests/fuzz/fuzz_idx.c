/* fuzz_idx.c - libFuzzer target for the idx reader (io/idx.c): magic, type,
 * rank, dimensions and data size of MNIST-style files. `make fuzz` builds
 * it, tests/fuzz/run.sh runs it with the seeds in tests/fuzz/corpus/idx/.
 * Every input must be refused with a status or read whole. */
#include <stdint.h>
#include <stdlib.h>
#include "io/idx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    io_idx x;
    if (io_idx_parse(data, size, "fuzz.idx", &x) == MINT_OK) {
        /* every byte the dimensions promise is there */
        volatile uint8_t sink = 0;
        const size_t n = (size_t)x.dims[0] * x.dims[1] * x.dims[2];
        for (size_t i = 0; i < n; i++)
            sink ^= x.data[i];
        (void)sink;
        io_idx_free(&x);
    }
    return 0;
}
