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
    const io_list *list;          /* the whole list (before sharding) */
    const io_landmarks *landmarks; /* NULL: images must already be HxW of the model */
    const char *landmarks_sha256; /* SHA-256 of the landmarks CSV: recorded, a resume must match */
    const char *root;             /* folder relative paths are read from (--root, --dir), recorded;
                                   * NULL = the current directory */
    const char *const *taps;
    int ntaps;
    int pool_max;                 /* 1: per-channel max over H,W; 0: raw maps */
    int f16;                      /* store float16 instead of float32 */
    const char *out_dir;
    int batch;                    /* images per forward pass */
    int chunk;                    /* images per committed chunk */
    int resume;
    int skip_errors;              /* 0: the first bad image fails the run */
    int shard_i, shard_n;         /* process items with index % shard_n == shard_i;
                                   * shard_n 0: the whole list. An empty shard gives
                                   * empty (0-row) outputs, not an error. */
    /* progress after every batch, counts of this shard: images done (incl.
     * resumed), total, failed, resumed (found done from an earlier run) */
    void (*progress)(void *ctx, size_t done, size_t total, size_t failed, size_t resumed);
    void *ctx;
} mint_extract_opts;

typedef struct {
    size_t written;   /* rows in the outputs */
    size_t failed;    /* images skipped (listed in OUT/errors.csv) */
    size_t resumed;   /* images found done from an earlier run */
} mint_extract_stats;

/* OUT/extract.txt (and OUT/.parts/config while running) describes the run,
 * one "key value" line each: model (network SHA-256), taps, pool, dtype,
 * chunk, shard ("i/n" or "-"), images (items of this shard), list (SHA-256 of
 * this shard's keys and labels), full-list (SHA-256 and count of the whole
 * list), landmarks (CSV SHA-256 or "-"), root. A resume must match it all.
 * OUT/errors.csv is "item,file,error", item = position in the whole list. */
mint_status mint_extract(const mint_extract_opts *o, mint_extract_stats *stats);

/* Items of shard i of n of a list of count items (i % n). */
size_t mint_shard_size(size_t count, int i, int n);

/* Progress figures: rate = images processed by this run (done - resumed)
 * per second of elapsed; eta = seconds for the rest (total - done) at that
 * rate, -1 while the rate is unknown. */
void mint_extract_rate(size_t done, size_t resumed, size_t total, double elapsed, double *rate,
                       double *eta);

typedef struct {
    size_t rows;          /* rows in the merged outputs */
    int list_order;       /* 1: shards of one list, rows in list order;
                           * 0: whole extractions concatenated in the order given */
    char missing[256];    /* shards absent from an incomplete set ("2/4 3/4"), "" if none */
} mint_merge_stats;

/* Merge extraction outputs into out_dir: every input must have the same
 * tap files with the same row shapes and dtypes, the same network, taps,
 * pooling and dtype. Shards (extract.txt "shard i/n") must all be shards of
 * one list (same n and full-list), none given twice; their rows are put back
 * in list order (the merge of a complete set equals the unsharded
 * extraction). An incomplete set is refused unless allow_partial (then
 * stats->missing names the absent shards). Whole extractions (shard "-") are
 * concatenated in the order given; the same folder or list twice is refused. */
mint_status mint_merge(const char *out_dir, const char *const *in_dirs, int n, int allow_partial,
                       mint_merge_stats *stats);

/* MINT_E_UNSUPPORTED unless the model's input has 1 (grey) or 3 channels,
 * the only ones images can feed. */
mint_status mint_check_image_input(const mint_model *m);

/* Load an image, align it (landmarks by key) and write the normalised CHW
 * tensor for model m into chw (1 or 3 channels: grey models get BT.601
 * luma); sha256_hex (65 bytes) gets the file's hash. */
mint_status mint_prepare_image(const mint_model *m, const io_landmarks *lm, const io_item *it,
                               float *chw, char sha256_hex[65]);

/* SHA-256 of the network an extraction output (or merge) came from, read
 * from DIR/extract.txt; MINT_E_NOTFOUND if the folder has none. */
mint_status mint_extract_network(const char *dir, char sha256_hex[65]);

/* The taps an extraction output recorded (the "taps" line of
 * DIR/extract.txt), comma-joined into buf in their order, *ntaps set:
 * MINT_E_NOTFOUND when the folder has no extract.txt or it records no
 * taps, MINT_E_ARG when they do not fit in cap bytes. */
mint_status mint_extract_taps(const char *dir, char *buf, size_t cap, int *ntaps);

/* Lines ('\n' bytes) in a text file; -1 if it cannot be read. */
long mint_count_lines(const char *path);

#endif
