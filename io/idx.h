/* idx.h - the idx files of MNIST and Fashion-MNIST (LeCun's format),
 * gzipped or not, as an image source.
 *
 * Format: a 4-byte magic 0x00 0x00 <type> <rank> (type 0x08 = unsigned
 * bytes, the only one read), then rank big-endian u32 dimensions, then the
 * data. Images are rank 3 [n][rows][cols], labels rank 1 [n]. A file whose
 * data is shorter than its dimensions say, or that has bytes after them, is
 * refused (MINT_E_FORMAT), as are sizes above the limits below.
 *
 * An image inside an idx file is named "<file>#<index>" (0-based), e.g.
 * "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz#59999", in
 * list files and wherever an image path is taken: io_image_load opens such a
 * name through io_idx_image, which keeps the files it decoded in a small
 * process-wide cache (thread-safe), so that reading 70,000 digits does not
 * decompress a file 70,000 times. */
#ifndef MINT_IO_IDX_H
#define MINT_IO_IDX_H

#include <stddef.h>
#include <stdint.h>
#include "mint.h"
#include "io/image.h"

/* Limits: at most 16M items, 4096 x 4096 per image, 2 GiB of data. */
#define IO_IDX_MAX_ITEMS (16 * 1024 * 1024)

typedef struct {
    int rank;           /* 1 (labels) or 3 (images) */
    uint32_t dims[3];   /* n, rows, cols (rows = cols = 1 for rank 1) */
    uint8_t *data;      /* n * rows * cols bytes, owned */
} io_idx;

/* Read a whole idx file (gzip or plain). */
mint_status io_idx_load(const char *path, io_idx *out);
/* Same from memory (plain, not gzipped; tests and fuzzing); label names
 * the source in messages. */
mint_status io_idx_parse(const uint8_t *buf, size_t size, const char *label, io_idx *out);
void io_idx_free(io_idx *x);

/* Split "<file>#<index>" when file names an idx file (its name contains
 * "-idx" or ends in ".idx"/".idx.gz") and index is a decimal number: 1 and
 * the file part in file (NUL-terminated, at most n bytes), else 0. */
int io_idx_ref(const char *name, char *file, size_t n, size_t *index);

/* Image `index` of an idx images file (grey, c = 1), through the cache. */
mint_status io_idx_image(const char *file, size_t index, io_image *out);

/* SHA-256 (hex) of what identifies an image source: for "<idx>#<i>" the
 * image's pixels (its bytes in the file), else the whole file
 * (base_sha256_file). */
mint_status io_image_sha256(const char *path, char hex[65]);
/* 1 when path is an idx reference (and no file of that name exists). */
int io_idx_is_ref(const char *path, char *file, size_t n, size_t *index);

/* The labels file beside an images file: "...-images-idx3-ubyte[.gz]" ->
 * "...-labels-idx1-ubyte[.gz]". 0, or -1 when the name has no "images-idx3". */
int io_idx_labels_path(const char *images, char *out, size_t n);

#endif
