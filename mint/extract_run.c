/* extract_run.c - mint_extract_run (include/mint.h): `mint extract` as one
 * library call, so that the CLI only parses arguments and prints. Opens the
 * network and the images (a list file or a folder) and the landmarks,
 * hashes what the run records (network, landmarks CSV) and hands the rest
 * to mint_extract (extract.c: chunks, shards, resume, the lock). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/sha256.h"
#include "io/dataset.h"
#include "io/landmarks.h"
#include "mint/extract.h"

#define MAX_TAPS 64
#define DEFAULT_TAPS "layer1,layer2,layer3,layer4,embedding"

void mint_extract_run_defaults(mint_extract_run_opts *o)
{
    memset(o, 0, sizeof *o);
    o->pool_max = 1;
    o->batch = 16;
    o->chunk = 1024;
}

static mint_status check_opts(const mint_extract_run_opts *o)
{
    if (!o->model || !o->out || !o->list == !o->dir)
        return mint_fail(MINT_E_ARG, "mint_extract_run: needs the model, the output folder and "
                         "one of an image list or a folder of images");
    if (o->root && o->dir)
        return mint_fail(MINT_E_ARG, "the root of relative paths goes with an image list (a "
                         "folder %s is its own root)", o->dir);
    if (o->batch < 1 || o->batch > 1024)
        return mint_fail(MINT_E_ARG, "batch %d: wants 1..1024 images", o->batch);
    if (o->chunk < 1 || o->chunk > (1 << 24))
        return mint_fail(MINT_E_ARG, "chunk %d: wants 1..16777216 images", o->chunk);
    if (o->shard_n < 0 || o->shard_n > (1 << 24) ||
        (o->shard_n > 0 && (o->shard_i < 0 || o->shard_i >= o->shard_n)))
        return mint_fail(MINT_E_ARG, "shard %d/%d: wants i/n with 0 <= i < n <= 16777216",
                         o->shard_i, o->shard_n);
    return MINT_OK;
}

/* The comma list split into taps (pointers into *buf, malloc'd). */
static mint_status split_taps(const char *s, char **buf, char **taps, int *n)
{
    *n = 0;
    if (!(*buf = strdup(s)))
        return mint_fail(MINT_E_NOMEM, "out of memory");
    for (char *save = NULL, *t = strtok_r(*buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (*n == MAX_TAPS)
            return mint_fail(MINT_E_ARG, "taps: at most %d names", MAX_TAPS);
        taps[(*n)++] = t;
    }
    return *n ? MINT_OK : mint_fail(MINT_E_ARG, "taps: wants 1..%d comma-separated names",
                                    MAX_TAPS);
}

/* What runs, for the caller to show before the first image. */
static void say_plan(const mint_extract_run_opts *o, const char *taps, size_t n_list, size_t n)
{
    if (!o->message)
        return;
    char msg[1024];
    const char *s = n_list == 1 ? "" : "s";
    if (o->shard_n > 0)
        snprintf(msg, sizeof msg, "shard %d/%d: %zu of %zu image%s%s, taps %s, kernels %s",
                 o->shard_i, o->shard_n, n, n_list, s,
                 n ? "" : " (empty: writing 0-row outputs)", taps, mint_isa());
    else
        snprintf(msg, sizeof msg, "%zu image%s, taps %s, kernels %s", n_list, s, taps,
                 mint_isa());
    o->message(o->ctx, MINT_MSG_NOTE, msg);
}

mint_status mint_extract_run(const mint_extract_run_opts *o, mint_extract_run_result *r)
{
    if (!r)
        return mint_fail(MINT_E_ARG, "mint_extract_run: no result");
    memset(r, 0, sizeof *r);
    if (!o)
        return mint_fail(MINT_E_ARG, "mint_extract_run: no options");
    const char *taps_s = o->taps ? o->taps : DEFAULT_TAPS;
    char *tbuf = NULL, *taps[MAX_TAPS];
    int ntaps = 0;
    mint_status st = check_opts(o);
    if (!st)
        st = split_taps(taps_s, &tbuf, taps, &ntaps);
    mint_model *m = NULL;
    io_list l = { 0 };
    io_landmarks *lm = NULL;
    char sha[65], lmsha[65];
    if (!st && !(st = base_sha256_file(o->model, sha)) && !(st = mint_model_open(&m, o->model)) &&
        !(st = o->list ? io_list_from_file(o->list, o->root, &l) : io_list_from_dir(o->dir, &l)) &&
        o->landmarks && !(st = base_sha256_file(o->landmarks, lmsha)))
        st = io_landmarks_load(o->landmarks, &lm);
    if (!st) {
        r->images = l.n;
        r->shard_images = o->shard_n > 0 ? mint_shard_size(l.n, o->shard_i, o->shard_n) : l.n;
        mint_extract_opts eo = {
            .model = m, .model_sha256 = sha, .list = &l, .landmarks = lm,
            .landmarks_sha256 = o->landmarks ? lmsha : NULL, .root = o->list ? o->root : o->dir,
            .taps = (const char *const *)taps, .ntaps = ntaps, .pool_max = o->pool_max,
            .f16 = o->f16, .out_dir = o->out, .batch = o->batch, .chunk = o->chunk,
            .resume = o->resume, .skip_errors = o->skip_errors, .shard_i = o->shard_i,
            .shard_n = o->shard_n, .progress = o->progress, .ctx = o->ctx,
        };
        say_plan(o, taps_s, l.n, r->shard_images);
        mint_extract_stats stats = { 0 };
        st = mint_extract(&eo, &stats);
        r->written = stats.written;
        r->failed = stats.failed;
        r->resumed = stats.resumed;
    }
    free(tbuf);
    io_landmarks_free(lm);
    io_list_free(&l);
    mint_model_close(m);
    return st;
}
