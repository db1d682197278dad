/* fuzz_checkpoint.c - libFuzzer target for reading a MINT training
 * checkpoint (mint_train_state_load in mint/checkpoint.c) into a model of
 * the run's config (vanilla, 4 features: the config of the seeds in
 * tests/fuzz/corpus/checkpoint/, written by tests/fuzz/seeds.c). A file
 * must be refused, leaving the model as it was, or give a consistent state. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz_util.h"
#include "mint/model.h"
#include "mint/train.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static mint_tm *tm;
    static float *before;
    static size_t nbytes;
    if (!tm) {
        mint_tm_config cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.kind = MINT_TM_VANILLA;
        cfg.in_dims[0] = 4;
        if (mint_tm_create(&tm, &cfg, 1) != MINT_OK)
            abort();
        nbytes = 4 * tm->seg * sizeof(float);
        if (!(before = malloc(nbytes)))
            abort();
    }
    memcpy(before, tm->arena, nbytes);
    mint_train_state *s = NULL;
    if (mint_train_state_load(fuzz_scratch(data, size), tm, &s) != MINT_OK) {
        if (s || memcmp(before, tm->arena, nbytes))
            abort(); /* contract: no state, model untouched on failure */
        return 0;
    }
    /* the consistency check a resume makes, with the run's own options */
    mint_train_opts o;
    memset(&o, 0, sizeof o);
    o.epochs = s->epochs;
    o.batch = s->batch;
    o.seed = s->seed;
    o.holdout = s->holdout;
    o.adam = s->adam;
    (void)mint_train_resume_check(s, tm, s->n_mem, s->n_ext, s->data_hash, &o);
    mint_train_state_free(s);
    return 0;
}
