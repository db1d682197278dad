/* extract.h - Auxiliary Auditable Data (AAD) extraction: image files ->
 * aligned, normalised tensors -> network forward with taps -> one .npy per
 * tap (per-channel max-pooled [N,C] or raw [N,C,H,W]) plus index.csv.
 *
 * Crash safety: work is done in chunks; each finished chunk is a set of
 * part files in OUT/.parts renamed into place (the index part last, as the
 * chunk's commit mark). A killed run resumes at the first unfinished chunk;
 * the final files are assembled from the parts at the end, each written to
 * a temporary name and renamed. */
#ifndef MINT_EXTRACT_H
#define MINT_EXTRACT_H

#include <stddef.h>
#include "io/dataset.h"
#include "io/landmarks.h"
#include "mint.h"

typedef struct {
    mint_model *model;
    const char *model_sha256;     /* recorded in the run config (resume check) */
    const io_list *list;
    const io_landmarks *landmarks; /* NULL: images must already be HxW of the model */
    const char *const *taps;
    int ntaps;
    int pool_max;                 /* 1: per-channel max over H,W; 0: raw maps */
    int f16;                      /* store float16 instead of float32 */
    const char *out_dir;
    int batch;                    /* images per forward pass */
    int chunk;                    /* images per committed chunk */
    int resume;
    int skip_errors;              /* 0: the first bad image fails the run */
    const char *shard;            /* "i/n" or NULL, recorded in the config */
    /* progress after every batch: images done (incl. resumed), total, failed */
    void (*progress)(void *ctx, size_t done, size_t total, size_t failed, size_t resumed);
    void *ctx;
} mint_extract_opts;

typedef struct {
    size_t written;   /* rows in the outputs */
    size_t failed;    /* images skipped (listed in OUT/errors.csv) */
    size_t resumed;   /* images found done from an earlier run */
} mint_extract_stats;

mint_status mint_extract(const mint_extract_opts *o, mint_extract_stats *stats);

/* Concatenate extraction outputs (e.g. shards) into out_dir: every input
 * must have the same tap files with the same row shapes and dtypes. */
mint_status mint_merge(const char *out_dir, const char *const *in_dirs, int n);

/* Load an image, align it (landmarks by key) and write the normalised CHW
 * tensor for model m into chw; sha256_hex (65 bytes) gets the file's hash. */
mint_status mint_prepare_image(const mint_model *m, const io_landmarks *lm, const io_item *it,
                               float *chw, char sha256_hex[65]);

/* SHA-256 of the network an extraction output (or merge) came from, read
 * from DIR/extract.txt; MINT_E_NOTFOUND if the folder has none. */
mint_status mint_extract_network(const char *dir, char sha256_hex[65]);

/* Lines ('\n' bytes) in a text file; -1 if it cannot be read. */
long mint_count_lines(const char *path);

#endif
