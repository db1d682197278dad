/* fuzz_model.c - libFuzzer target for loading a MINT model (mint_tm_load in
 * mint/model.c: container, metadata, layout, tensors, calibration, training
 * record), then scoring one sample with it. Seeds: tests/fuzz/corpus/model/
 * (small vanilla, outcome and CNN models written by tests/fuzz/seeds.c).
 * The loader takes a path: each input is written to one scratch file. A
 * file must be refused or give a usable model; metadata alone must not
 * make it allocate (run.sh sets -rss_limit_mb). */
#include <stdint.h>
#include <stdlib.h>
#include "fuzz_util.h"
#include "mint/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mint_tm *tm = NULL;
    if (mint_tm_load(&tm, fuzz_scratch(data, size)) != MINT_OK) {
        if (tm)
            abort(); /* contract: no model on failure */
        return 0;
    }
    if (tm->in_size > 0 && tm->in_size <= (1 << 20)) {
        float *x = calloc((size_t)tm->in_size, sizeof *x), score = 0;
        if (x && mint_tm_predict(tm, x, 1, &score) == MINT_OK && !(score >= 0 && score <= 1))
            abort(); /* a loaded model scores in [0, 1] */
        free(x);
    }
    mint_tm_free(tm);
    return 0;
}
