/* dtype.h - tensor element types and byte order. The values are the
 * weight container's on-disk dtype codes (docs/format.md section 1); .npy
 * files use the same enum. */
#ifndef MINT_BASE_DTYPE_H
#define MINT_BASE_DTYPE_H

#include <stddef.h>
#include <stdint.h>

typedef enum { BASE_F32 = 0, BASE_F16 = 1, BASE_I64 = 2, BASE_I32 = 3, BASE_U8 = 4 } base_dtype;

size_t base_dtype_size(base_dtype t); /* 0 for an unknown dtype */
/* 1 on a little-endian host. */
int base_host_is_le(void);
/* Reverse the bytes of n elements of size es in place (big-endian hosts). */
void base_swap_elems(void *data, uint64_t n, size_t es);

#endif
