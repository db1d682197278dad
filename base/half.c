/* half.c - binary16 conversions (IEEE 754-2008 section 3.6 formats).
 * binary16: 1 sign, 5 exponent (bias 15), 10 fraction bits;
 * binary32: 1 sign, 8 exponent (bias 127), 23 fraction bits. */
#include <string.h>
#include "base/half.h"

float base_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, frac = h & 0x3ff, bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | frac << 13; /* inf, NaN (payload kept) */
    } else if (exp != 0) {
        bits = sign | (exp + 112) << 23 | frac << 13; /* 112 = 127 - 15 */
    } else if (frac == 0) {
        bits = sign; /* signed zero */
    } else {
        /* subnormal: frac * 2^-24; normalise so the leading 1 is bit 10 */
        uint32_t e = 113; /* biased exponent of 2^-14 */
        while (!(frac & 0x400)) {
            frac <<= 1;
            e--;
        }
        bits = sign | e << 23 | (frac & 0x3ff) << 13;
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t base_f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    x &= 0x7fffffffu;
    if (x > 0x7f800000u) /* NaN: keep it quiet, keep the top payload bits */
        return sign | 0x7e00 | (uint16_t)((x >> 13) & 0x3ff);
    uint32_t e = x >> 23;
    if (e >= 143) /* >= 2^16 (and inf): beyond the largest finite half */
        return sign | 0x7c00;
    if (e >= 113) {
        /* normal half: keep 10 fraction bits, round the 13 dropped bits to
         * nearest even; a carry may ripple into the exponent (up to inf). */
        uint32_t h = (e - 112) << 10 | (x & 0x7fffff) >> 13;
        uint32_t rem = x & 0x1fff;
        if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
            h++;
        return sign | (uint16_t)h;
    }
    if (e < 102) /* below 2^-25: rounds to zero */
        return sign;
    /* subnormal half: value = m * 2^-24 with m = mant24 * 2^(e-126) */
    uint32_t mant = (x & 0x7fffff) | 0x800000;
    unsigned shift = 126 - e; /* 14..24 */
    uint32_t q = mant >> shift, rem = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1)))
        q++;
    return sign | (uint16_t)q;
}

void base_f16_to_f32_n(float *dst, const uint16_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = base_f16_to_f32(src[i]);
}

void base_f32_to_f16_n(uint16_t *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = base_f32_to_f16(src[i]);
}
