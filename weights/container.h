/* container.h - the mint weight container (spec: docs/format.md).
 * A small self-describing little-endian file: header, typed key/value
 * metadata, a tensor table looked up by name, 64-byte aligned data.
 * Read by read-only mmap with every offset and size checked; written to a
 * temporary name and renamed into place. Checkpoints use it too. */
#ifndef MINT_WT_CONTAINER_H
#define MINT_WT_CONTAINER_H

#include <stddef.h>
#include <stdint.h>
#include "mint.h"
#include "base/dtype.h"
#include "base/sha256.h"

#define WT_MAX_RANK 8
#define WT_ALIGN 64

/* metadata value types */
typedef enum { WT_META_STR = 0, WT_META_I64 = 1, WT_META_F64 = 2,
               WT_META_F32_ARR = 3, WT_META_I64_ARR = 4 } wt_meta_type;


typedef struct {
    const char *name;      /* NUL-terminated, inside the mapping or a copy */
    base_dtype dtype;
    int rank;
    int64_t dims[WT_MAX_RANK];
    uint64_t nelem;
    const void *data;      /* aligned, read-only, nelem * dtype size bytes */
} wt_tensor;

typedef struct {
    const char *key;
    wt_meta_type type;
    /* STR: str (NUL-terminated) + len; I64: i64; F64: f64;
     * F32_ARR: f32 + count; I64_ARR: i64s + count (arrays may be unaligned
     * in the file: they are copied out at open time) */
    const char *str;
    uint64_t len;
    int64_t i64;
    double f64;
    const float *f32;
    const int64_t *i64s;
    uint64_t count;
} wt_meta;

/* ---- reader ---- */
typedef struct wt_file wt_file;
mint_status wt_open(wt_file **out, const char *path);
/* Same checks on a memory buffer (the bytes must outlive the wt_file). */
mint_status wt_open_mem(wt_file **out, const void *buf, size_t size);
void wt_close(wt_file *f);

int wt_meta_count(const wt_file *f);
const wt_meta *wt_meta_at(const wt_file *f, int i);
const wt_meta *wt_meta_find(const wt_file *f, const char *key); /* NULL if absent */

int wt_tensor_count(const wt_file *f);
const wt_tensor *wt_tensor_at(const wt_file *f, int i);
const wt_tensor *wt_tensor_find(const wt_file *f, const char *name); /* NULL if absent */
const char *wt_file_path(const wt_file *f); /* the path it was opened from, for messages */
/* Lookup by name with dtype and shape checked (rank dims; -1 = any). */
mint_status wt_tensor_get(const wt_file *f, const char *name, base_dtype dtype, int rank,
                          const int64_t *dims, const wt_tensor **out);
/* SHA-256 of the whole file, hex (64 chars + NUL). */
void wt_file_sha256(const wt_file *f, char hex[65]);

/* ---- writer ---- */
typedef struct wt_writer wt_writer;
wt_writer *wt_writer_new(void);
void wt_writer_free(wt_writer *w);
/* Values are copied. A key may appear once. */
mint_status wt_writer_meta_str(wt_writer *w, const char *key, const char *val);
mint_status wt_writer_meta_i64(wt_writer *w, const char *key, int64_t v);
mint_status wt_writer_meta_f64(wt_writer *w, const char *key, double v);
mint_status wt_writer_meta_f32_arr(wt_writer *w, const char *key, const float *v, size_t n);
mint_status wt_writer_meta_i64_arr(wt_writer *w, const char *key, const int64_t *v, size_t n);
/* The data pointer is referenced, not copied: keep it alive until
 * wt_writer_write returns. Names must be unique. */
mint_status wt_writer_tensor(wt_writer *w, const char *name, base_dtype dtype, int rank,
                             const int64_t *dims, const void *data);
/* Write to path through base_afile (temporary file, fsync, rename). */
mint_status wt_writer_write(wt_writer *w, const char *path);

#endif
