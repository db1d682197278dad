/* npy.h - NumPy .npy files (format versions 1.0 and 2.0), the interchange
 * format with Python users: features, activations, scores.
 * Spec: docs/format.md section 3 (after numpy.lib.format).
 *
 * Little-endian '<f4' (BASE_F32), '<f2' (BASE_F16, data kept as uint16_t
 * binary16; see base/half.h), '|u1' (BASE_U8), '<i8' (BASE_I64); C order only;
 * rank 0..8. Readers refuse hostile headers with MINT_E_FORMAT; writers
 * write through base_afile (temporary file, fsync, rename into place). */
#ifndef MINT_IO_NPY_H
#define MINT_IO_NPY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "mint.h"
#include "base/dtype.h"

#define IO_NPY_MAX_RANK 8

typedef struct {
    base_dtype dtype;   /* BASE_F32, BASE_F16, BASE_U8 or BASE_I64 */
    int rank;
    int64_t dims[IO_NPY_MAX_RANK];
    void *data;       /* 64-byte aligned, host byte order, nbytes long (never NULL after a read) */
    size_t nbytes;
} io_npy;

/* Read a whole .npy file. On error *out is zeroed (io_npy_free is safe). */
mint_status io_npy_read(const char *path, io_npy *out);
/* Same checks on a buffer holding a whole .npy file; name is used in messages. */
mint_status io_npy_read_mem(const void *buf, size_t size, const char *name, io_npy *out);
void io_npy_free(io_npy *a);

/* Streaming read: check the header of path, fill hdr (data NULL, nbytes
 * set) and return *fp positioned at the first data byte (little-endian on
 * disk). The caller reads hdr.nbytes bytes and fcloses *fp. */
mint_status io_npy_open(const char *path, io_npy *hdr, FILE **fp);

/* Write a whole array (dims has rank entries, data nbytes = prod(dims)*size). */
mint_status io_npy_write(const char *path, base_dtype dtype, int rank, const int64_t *dims,
                         const void *data);

/* Streaming writer for large outputs: the shape (dims[0] = row count
 * included) is fixed at open; rows of prod(dims[1..]) elements are appended;
 * close renames into place only if exactly dims[0] rows were written
 * (otherwise it removes the temporary file and returns MINT_E_ARG). A rank-0
 * array is one row of one element. Close and abort free the writer. */
typedef struct io_npy_writer io_npy_writer;
mint_status io_npy_writer_open(io_npy_writer **out, const char *path, base_dtype dtype, int rank,
                               const int64_t *dims);
mint_status io_npy_writer_append(io_npy_writer *w, const void *rows, size_t nrows);
mint_status io_npy_writer_close(io_npy_writer *w);
void io_npy_writer_abort(io_npy_writer *w);

#endif
