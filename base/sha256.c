/* sha256.c - SHA-256 as specified in FIPS 180-4 (sections 4.1.2, 4.2.2,
 * 5.1.1, 6.2). Used to fingerprint weight files and the models they were
 * converted from, so an audit report can name exactly what it audited. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/cpu.h"
#include "base/sha256.h"
#if defined(MINT_SHA_NI)
void base_sha256_blocks_shani(uint32_t h[8], const uint8_t *p, size_t nblocks,
                            const uint32_t k[64]);
#endif

/* FIPS 180-4 4.2.2: first 32 bits of the fractional parts of the cube roots
 * of the first 64 primes. */
static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t rotr(uint32_t x, unsigned n) { return (x >> n) | (x << (32 - n)); }

/* One 512-bit block (FIPS 180-4 6.2.2). */
static void compress(uint32_t h[8], const uint8_t *p)
{
    uint32_t w[64];
    for (int t = 0; t < 16; t++)
        w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16 |
               (uint32_t)p[4 * t + 2] << 8 | (uint32_t)p[4 * t + 3];
    for (int t = 16; t < 64; t++) {
        uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (int t = 0; t < 64; t++) {
        uint32_t S1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = k + S1 + ch + K[t] + w[t];
        uint32_t S0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
        uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = S0 + maj;
        k = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += k;
}

static void blocks_scalar(uint32_t h[8], const uint8_t *p, size_t nblocks, const uint32_t k[64])
{
    (void)k;
    for (; nblocks; nblocks--, p += 64)
        compress(h, p);
}

/* The SHA extensions when the CPU has them (with SSSE3 and SSE4.1, which
 * the code also uses) and the active ISA (base/cpu.h: MINT_ISA,
 * mint_set_isa) is not scalar: about 10x the scalar speed on a 200 MB
 * weight file. */
static base_sha256_blocks_fn best_blocks(void)
{
#if defined(MINT_SHA_NI)
    if ((base_cpu_features() & BASE_CPU_SHA) && strcmp(base_isa_active(), "scalar") != 0)
        return base_sha256_blocks_shani;
#endif
    return blocks_scalar;
}

static void init_with(base_sha256 *s, base_sha256_blocks_fn blocks)
{
    /* FIPS 180-4 5.3.3 */
    static const uint32_t h0[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
    memcpy(s->h, h0, sizeof h0);
    s->len = 0;
    s->nbuf = 0;
    s->blocks = blocks;
}

void base_sha256_init(base_sha256 *s) { init_with(s, best_blocks()); }
void base_sha256_init_scalar(base_sha256 *s) { init_with(s, blocks_scalar); }
int base_sha256_accelerated(void) { return best_blocks() != blocks_scalar; }

void base_sha256_update(base_sha256 *s, const void *data, size_t n)
{
    const uint8_t *p = data;
    s->len += (uint64_t)n;
    if (s->nbuf) {
        size_t take = 64 - s->nbuf < n ? 64 - s->nbuf : n;
        memcpy(s->buf + s->nbuf, p, take);
        s->nbuf += take;
        p += take;
        n -= take;
        if (s->nbuf < 64)
            return;
        s->blocks(s->h, s->buf, 1, K);
        s->nbuf = 0;
    }
    if (n >= 64) {
        s->blocks(s->h, p, n / 64, K);
        p += n / 64 * 64;
        n %= 64;
    }
    if (n) {
        memcpy(s->buf, p, n);
        s->nbuf = n;
    }
}

void base_sha256_final(base_sha256 *s, uint8_t out[32])
{
    /* FIPS 180-4 5.1.1: append 1 bit, zeros, then the bit length (64-bit BE). */
    uint64_t bits = s->len * 8;
    s->buf[s->nbuf++] = 0x80;
    if (s->nbuf > 56) {
        memset(s->buf + s->nbuf, 0, 64 - s->nbuf);
        s->blocks(s->h, s->buf, 1, K);
        s->nbuf = 0;
    }
    memset(s->buf + s->nbuf, 0, 56 - s->nbuf);
    for (int i = 0; i < 8; i++)
        s->buf[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
    s->blocks(s->h, s->buf, 1, K);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(s->h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
        out[4 * i + 3] = (uint8_t)s->h[i];
    }
    s->nbuf = 0;
}

void base_sha256_hex(const uint8_t d[32], char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[d[i] >> 4];
        hex[2 * i + 1] = digits[d[i] & 15];
    }
    hex[64] = '\0';
}

mint_status base_sha256_file(const char *path, char hex[65])
{
    hex[0] = '\0';
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return mint_fail(MINT_E_IO, "%s: cannot open: %s", path, strerror(errno));
    enum { CHUNK = 1 << 16 };
    uint8_t *chunk = malloc(CHUNK);
    if (!chunk) {
        fclose(fp);
        return mint_fail(MINT_E_NOMEM, "%s: out of memory for hashing", path);
    }
    base_sha256 s;
    base_sha256_init(&s);
    size_t n;
    while ((n = fread(chunk, 1, CHUNK, fp)) > 0)
        base_sha256_update(&s, chunk, n);
    int err = ferror(fp);
    fclose(fp);
    free(chunk);
    if (err)
        return mint_fail(MINT_E_IO, "%s: read error while hashing", path);
    uint8_t d[32];
    base_sha256_final(&s, d);
    base_sha256_hex(d, hex);
    return MINT_OK;
}
