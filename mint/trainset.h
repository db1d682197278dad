/* trainset.h - which images a MINT model was trained on (issue 8, item 4).
 *
 * An image is known by its key: the first 8 bytes of the SHA-256 of its
 * file bytes, read as a big-endian integer (the first 16 hex digits of the
 * hash). Keys come from the sha256 column of the index.csv that `mint
 * extract` writes beside the features, or from hashing image files.
 *
 * `mint train` refuses members and external that share images, warns when
 * either repeats images, and records the keys of its training images in
 * the MINT model (mint_trainset: members, external samples trained on, and
 * the held-out external samples kept as the audit reference, which were
 * not trained on), so that `mint eval` and `mint audit` can say when they
 * score images the model was trained on.
 *
 * 64-bit keys: two different images share a key with probability 2^-64, so
 * an image that is not in a set of n keys is reported as in it with
 * probability about n / 2^64 (5e-15 for 100,000 images); a false refusal
 * by `mint train` has probability about n_members * n_external / 2^64. */
#ifndef MINT_MINT_TRAINSET_H
#define MINT_MINT_TRAINSET_H

#include <stddef.h>
#include <stdint.h>
#include "io/dataset.h"
#include "mint.h"

/* The keys of a list of images, in its order. */
typedef struct {
    int64_t n;
    uint64_t *key;
    char **file;   /* file name as index.csv or the list gives it */
} mint_image_keys;

void mint_image_keys_free(mint_image_keys *k);

/* The key of a hex SHA-256 (at least 16 hex digits): 0 on success, -1 if
 * hex does not start with 16 hex digits. */
int mint_sha256_key(const char *hex, uint64_t *key);

/* The keys of the images whose features are at path (a `mint extract`
 * directory, or a .npy file in one): the rows of its index.csv.
 * MINT_E_NOTFOUND when there is no index.csv (plain .npy files);
 * MINT_E_FORMAT naming the line of a malformed one; MINT_E_SHAPE when it
 * lists another number of images than n (n < 0: any number). */
mint_status mint_keys_from_index(const char *path, int64_t n, mint_image_keys *out);

/* The keys of every image of l, by hashing the files (l's keys become the
 * file names). MINT_E_IO naming the first file that cannot be read. */
mint_status mint_keys_from_list(const io_list *l, mint_image_keys *out);

/* Distinct images (keys) found in both a and b: *count. ex (may be NULL)
 * gets up to nex examples "fileA = fileB" separated by ", ". */
mint_status mint_keys_shared(const mint_image_keys *a, const mint_image_keys *b, int64_t *count,
                             char *ex, size_t excap, int nex);
/* Images of a that repeat another image of a: *count; ex as above ("x =
 * the first image with its bytes"). */
mint_status mint_keys_repeats(const mint_image_keys *a, int64_t *count, char *ex, size_t excap,
                              int nex);

/* ---- the record kept in a MINT model ---- */

enum { MINT_TS_MEMBERS = 0, MINT_TS_EXTERNAL = 1, MINT_TS_REFERENCE = 2, MINT_TS_SETS = 3 };

/* Sorted distinct keys of the images of each set: members, external
 * samples trained on, held-out external samples (the audit reference, not
 * trained on). Stored as U8 tensors [n][8] "trainset.members",
 * "trainset.external", "trainset.reference" (docs/format.md). */
typedef struct {
    int recorded;                   /* 0: the model does not record its training images */
    uint8_t *rows[MINT_TS_SETS];    /* n[s] keys of 8 bytes (the first 8 bytes of the
                                     * SHA-256), sorted ascending, distinct */
    int64_t n[MINT_TS_SETS];
} mint_trainset;

/* Build from the keys of all members and all external samples (in row
 * order) and the indices of the held-out external samples. */
mint_status mint_trainset_build(mint_trainset *ts, const uint64_t *members, int64_t n_mem,
                                const uint64_t *external, int64_t n_ext, const int64_t *held,
                                int64_t n_held);
void mint_trainset_free(mint_trainset *ts);
/* Bit s set when key is in set s. */
unsigned mint_trainset_find(const mint_trainset *ts, uint64_t key);
/* How many of keys[0..n) are in each set (counts[MINT_TS_SETS]). */
void mint_trainset_count(const mint_trainset *ts, const uint64_t *keys, int64_t n,
                         int64_t *counts);

struct wt_writer;
struct wt_file;
/* Add the record to a container (nothing when not recorded). */
mint_status mint_trainset_write(const mint_trainset *ts, struct wt_writer *w);
/* Read it from a container: recorded = 0 when the file has none (models
 * from before it); MINT_E_FORMAT for a damaged one. */
mint_status mint_trainset_read(mint_trainset *ts, const struct wt_file *f);

#endif
