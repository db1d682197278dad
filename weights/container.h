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

#define WT_MAX_RANK 8
#define WT_ALIGN 64

typedef enum { WT_F32 = 0, WT_F16 = 1, WT_I64 = 2, WT_I32 = 3, WT_U8 = 4 } wt_dtype;
/* metadata value types */
typedef enum { WT_META_STR = 0, WT_META_I64 = 1, WT_META_F64 = 2,
               WT_META_F32_ARR = 3, WT_META_I64_ARR = 4 } wt_meta_type;

size_t wt_dtype_size(wt_dtype t); /* 0 for an unknown dtype */
/* 1 on a little-endian host. */
int wt_host_is_le(void);
/* Reverse the bytes of n elements of size es in place (big-endian hosts). */
void wt_swap_elems(void *data, uint64_t n, size_t es);

typedef struct {
    const char *name;      /* NUL-terminated, inside the mapping or a copy */
    wt_dtype dtype;
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
mint_status wt_tensor_get(const wt_file *f, const char *name, wt_dtype dtype, int rank,
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
mint_status wt_writer_tensor(wt_writer *w, const char *name, wt_dtype dtype, int rank,
                             const int64_t *dims, const void *data);
/* Write to path via path.tmp.<pid> + fsync + rename. */
mint_status wt_writer_write(wt_writer *w, const char *path);

/* ---- SHA-256 (FIPS 180-4) ---- */
typedef void (*wt_sha256_blocks_fn)(uint32_t h[8], const uint8_t *p, size_t nblocks,
                                    const uint32_t k[64]);
typedef struct {
    uint32_t h[8];
    uint64_t len;
    uint8_t buf[64];
    size_t nbuf;
    wt_sha256_blocks_fn blocks; /* block compression: scalar or SHA-NI */
} wt_sha256;
/* With the fastest block compression this CPU has (x86 SHA extensions when
 * cpuid reports them); _scalar forces the portable FIPS 180-4 code (tests). */
void wt_sha256_init(wt_sha256 *s);
void wt_sha256_init_scalar(wt_sha256 *s);
int wt_sha256_accelerated(void); /* 1 if wt_sha256_init picks the SHA extensions */
void wt_sha256_update(wt_sha256 *s, const void *data, size_t n);
void wt_sha256_final(wt_sha256 *s, uint8_t out[32]);
void wt_sha256_hex(const uint8_t d[32], char hex[65]);
/* SHA-256 of a file's bytes, hex. */
mint_status wt_sha256_file(const char *path, char hex[65]);

#endif
