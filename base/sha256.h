/* sha256.h - SHA-256 (FIPS 180-4) of bytes and files. */
#ifndef MINT_BASE_SHA256_H
#define MINT_BASE_SHA256_H

#include <stddef.h>
#include <stdint.h>
#include "mint.h"

typedef void (*base_sha256_blocks_fn)(uint32_t h[8], const uint8_t *p, size_t nblocks,
                                    const uint32_t k[64]);
typedef struct {
    uint32_t h[8];
    uint64_t len;
    uint8_t buf[64];
    size_t nbuf;
    base_sha256_blocks_fn blocks; /* block compression: scalar or SHA-NI */
} base_sha256;
/* With the fastest block compression this CPU has (x86 SHA extensions when
 * cpuid reports them); _scalar forces the portable FIPS 180-4 code (tests). */
void base_sha256_init(base_sha256 *s);
void base_sha256_init_scalar(base_sha256 *s);
int base_sha256_accelerated(void); /* 1 if base_sha256_init picks the SHA extensions */
void base_sha256_update(base_sha256 *s, const void *data, size_t n);
void base_sha256_final(base_sha256 *s, uint8_t out[32]);
void base_sha256_hex(const uint8_t d[32], char hex[65]);
/* SHA-256 of a file's bytes, hex. */
mint_status base_sha256_file(const char *path, char hex[65]);

#endif
