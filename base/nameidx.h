/* nameidx.h - the one name index: string key -> int value (>= 0), open
 * addressing with FNV-1a and linear probing, grown at half load, so lookups
 * stay O(1) on hostile files with millions of names. Keys are borrowed: the
 * strings must outlive the index (or until it is rebuilt). Used for graph
 * tensors and weights, container metadata and tensors, and ONNX names. */
#ifndef MINT_BASE_NAMEIDX_H
#define MINT_BASE_NAMEIDX_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char **keys; /* cap slots, NULL = empty */
    int *vals;
    size_t cap, n;     /* cap: 0 or a power of two */
} base_nameidx;

uint64_t base_fnv1a(const char *s);
/* The value of key, or -1. */
int base_nameidx_get(const base_nameidx *ix, const char *key);
/* Insert key -> val if key is absent: -1 when inserted, the existing value
 * (>= 0, nothing changed) when present, -2 when out of memory. */
int base_nameidx_add(base_nameidx *ix, const char *key, int val);
/* Insert or overwrite: 0, or -1 when out of memory. */
int base_nameidx_put(base_nameidx *ix, const char *key, int val);
/* Room for n keys without growing: 0, or -1 when out of memory. */
int base_nameidx_reserve(base_nameidx *ix, size_t n);
/* Free the table and zero ix (the keys are not freed). */
void base_nameidx_free(base_nameidx *ix);

#endif
