/* features.h - the inputs of the MINT auditing models, from disk or from
 * images (issue 4, items 3-5).
 *
 * One sample's features are, as the paper computes them (DESIGN.md):
 *   vanilla / outcome: every tap reduced to one value per channel (the
 *     per-channel maximum over H x W of a [C,H,W] map; a [D] tap such as the
 *     embedding is taken as it is), concatenated in tap order -> [F];
 *   cnn: the raw map [C,H,W] of one tap.
 * The same rule is applied to features read from `mint extract` outputs
 * (mint_feats_load) and to features computed from images on the fly
 * (mint_feats_from_images, mint_feats_images_stream), so a MINT model
 * trained on one kind can score the other. */
#ifndef MINT_MINT_FEATURES_H
#define MINT_MINT_FEATURES_H

#include <stddef.h>
#include <stdint.h>
#include "io/dataset.h"
#include "io/landmarks.h"
#include "mint.h"

#define MINT_FEATS_MAX_TAPS 16
/* Default bound on features held in memory by mint_feats_from_images
 * (8 GiB): a CNN MINT on IResNet layer1 costs 64*56*56*4 = ~800 KB per image. */
#define MINT_FEATS_MAX_BYTES ((size_t)8 << 30)

typedef struct {
    float *x;     /* n rows of dims[0] (rank 1) or dims[0]*dims[1]*dims[2] (rank 3) floats */
    int64_t n;
    int rank;     /* 1: [F] per sample; 3: [C,H,W] per sample (cnn) */
    int dims[3];
} mint_feats;

/* Floats per sample. */
int64_t mint_feats_row(const mint_feats *f);
void mint_feats_free(mint_feats *f);
/* "960" or "64x56x56" (like snprintf). */
int mint_feats_dims_str(char *buf, size_t n, int rank, const int dims[3]);

/* Read features: path is a .npy file (float32 or float16; [N,F], or
 * [N,C,H,W] reduced to per-channel maxima [N,C] unless cnn) or a directory
 * written by `mint extract` holding one <tap>.npy per tap (file stem:
 * io_safe_name(tap)), concatenated in the order given. cnn: one tap, raw
 * maps [N,C,H,W] required. taps/ntaps are only used for directories
 * (MINT_E_ARG if a directory is given without taps). Values must be finite. */
mint_status mint_feats_load(const char *path, int cnn, const char *const *taps, int ntaps,
                            mint_feats *out);

/* The folder that describes the features at path: path itself if it is a
 * directory, else the directory holding the file (where `mint extract`
 * leaves extract.txt and index.csv). MINT_E_NOTFOUND if path does not exist. */
mint_status mint_feats_dir(const char *path, char *dir, size_t cap);

/* The rows of a `mint extract` output (its index.csv: row,file,label,sha256;
 * for a .npy file, the index.csv beside it). n rows of labels (identity;
 * "" = none) and SHA-256 hex digests ("" = not recorded). */
typedef struct {
    int64_t n;
    char **file, **label;
    char (*sha256)[65];
    char *buf; /* private */
} mint_feats_index;

/* Read the index of the features at path. MINT_OK with out->n == -1 when
 * there is none (a plain .npy file); MINT_E_FORMAT naming the line for a
 * malformed one; MINT_E_SHAPE when it does not have n_rows rows (n_rows
 * < 0: any). */
mint_status mint_feats_index_load(const char *path, int64_t n_rows, mint_feats_index *out);
void mint_feats_index_free(mint_feats_index *x);

/* The network features at path were extracted with (the SHA-256 in the
 * extract.txt of a `mint extract` directory, or of the directory holding a
 * .npy file): MINT_OK with sha256_hex set when known, MINT_OK with
 * sha256_hex[0] == 0 when no extract.txt says (plain .npy files). */
mint_status mint_feats_network(const char *path, char sha256_hex[65]);

/* MINT_E_ARG naming both when the features at path are known to come from
 * another network than want_sha256 (what: e.g. "the MINT model T.mint was
 * trained on"); MINT_OK when they match or either side is unknown. */
mint_status mint_feats_check_network(const char *path, const char *want_sha256, const char *what);

/* The networks of two feature sources (mint_feats_network: "" = unknown);
 * MINT_E_ARG naming both when both are known and differ, since a MINT model
 * trained or evaluated on them would tell the networks apart. */
mint_status mint_feats_networks(const char *a, const char *b, char sha_a[65], char sha_b[65]);

/* Where mint_feats_default_taps took the taps from. */
typedef enum {
    MINT_TAPS_KIND = 0,   /* the kind's own: no extract.txt records taps, or it records these */
    MINT_TAPS_RECORDED,   /* every tap the extract.txt records */
    MINT_TAPS_FIRST,      /* the first of several the extract.txt records (cnn takes one) */
} mint_taps_source;

/* The taps to read from path when none are named, for a MINT model of kind
 * (mint_tm_kind: 0 vanilla, 1 cnn, 2 outcome), comma-joined into buf: the
 * kind's own (layer1,layer2,layer3,layer4 / layer1 / embedding) when path is
 * not a `mint extract` directory recording taps, or when it records all of
 * them; else the taps it records (cnn: the first). */
mint_status mint_feats_default_taps(const char *path, int kind, char *buf, size_t cap,
                                    mint_taps_source *source);

/* ---- from images, through a network ---- */

/* The per-image feature shape that taps of network m give (the rule at the
 * top of this file). MINT_E_ARG/NOTFOUND/SHAPE for unknown taps, a cnn
 * request that is not exactly one [C,H,W] tap, or too many features. */
mint_status mint_feats_shape(const mint_model *m, int cnn, const char *const *taps, int ntaps,
                             int *rank, int dims[3]);

/* What happened to one image. */
typedef struct {
    int ok;              /* features computed */
    char sha256[65];     /* hex SHA-256 of the file bytes ("" if unreadable) */
    char error[400];     /* why not, when !ok */
} mint_image_status;

/* Receives the features of images first..first+n-1 of the list: n rows
 * (rows of failed images are NaN) and their status. A non-OK return stops
 * the stream and is returned by it. */
typedef mint_status (*mint_feats_sink)(void *ctx, size_t first, int n, const float *rows,
                                       const mint_image_status *status);

/* Decode, align (landmarks by key; NULL = images must be the model's input
 * size), normalise and run the images of l through m, batch at a time
 * (batch <= 0: 16), reducing the taps to features and handing each batch
 * to sink. Memory: one batch of inputs and raw taps. Images that fail do
 * not stop the stream (see mint_image_status). Landmarks with a network
 * whose input is not the 112x112 alignment size are refused up front. */
mint_status mint_feats_images_stream(mint_model *m, const io_landmarks *lm, const io_list *l,
                                     int cnn, const char *const *taps, int ntaps, int batch,
                                     mint_feats_sink sink, void *ctx);

/* All features of l's images in memory (for training). The first image that
 * fails fails the call (naming it). MINT_E_NOMEM, before any work, when the
 * features would take more than max_bytes (0 = MINT_FEATS_MAX_BYTES). */
mint_status mint_feats_from_images(mint_feats *out, mint_model *m, const io_landmarks *lm,
                                   const io_list *l, int cnn, const char *const *taps, int ntaps,
                                   int batch, size_t max_bytes);

/* Progress of a long image job: done of total images. */
typedef void (*mint_images_progress)(void *ctx, size_t done, size_t total);

/* mint_feats_from_images, calling progress (if not NULL) after every batch. */
mint_status mint_feats_from_images_p(mint_feats *out, mint_model *m, const io_landmarks *lm,
                                     const io_list *l, int cnn, const char *const *taps,
                                     int ntaps, int batch, size_t max_bytes,
                                     mint_images_progress progress, void *ctx);

#endif
