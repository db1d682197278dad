/* rng.h - the deterministic random numbers (trainer, random networks,
 * dropout): splitmix64
 * (Steele, Lea, Flood, "Fast splittable pseudorandom number generators",
 * OOPSLA 2014). One 64-bit seed plus a stream id gives an independent
 * sequence per purpose (initialisation, per-class shuffles), so a run is
 * reproducible from its seed alone. Not for cryptography. */
#ifndef MINT_BASE_RNG_H
#define MINT_BASE_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s;
} base_rng;

static inline uint64_t base_rng_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline base_rng base_rng_stream(uint64_t seed, uint64_t stream)
{
    base_rng r = { base_rng_mix(seed + 0x9e3779b97f4a7c15ull) ^ base_rng_mix(~stream * 0xd1b54a32d192ed03ull) };
    return r;
}

/* Counter-based use: a well-mixed 64-bit value of z (the generator's step
 * from state z), for values indexed by position rather than drawn in turn
 * (dropout masks). */
static inline uint64_t base_rng_hash(uint64_t z)
{
    return base_rng_mix(z + 0x9e3779b97f4a7c15ull);
}

static inline uint64_t base_rng_u64(base_rng *r)
{
    r->s += 0x9e3779b97f4a7c15ull;
    return base_rng_mix(r->s);
}

/* uniform in (0, 1) with 53 random bits, never 0 (Box-Muller's log) */
static inline double base_rng_open01(base_rng *r)
{
    return ((double)(base_rng_u64(r) >> 11) + 0.5) * 0x1p-53;
}

/* uniform in [0, 1) with 24 random bits (exact in float) */
static inline float base_rng_unit(base_rng *r)
{
    return (float)(base_rng_u64(r) >> 40) * 0x1p-24f;
}

/* uniform integer in [0, n), n >= 1, without modulo bias (rejection) */
static inline uint64_t base_rng_below(base_rng *r, uint64_t n)
{
    const uint64_t lim = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = base_rng_u64(r);
    while (x >= lim);
    return x % n;
}

#endif
