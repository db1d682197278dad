/* sha256_shani.c - SHA-256 block compression with the x86 SHA extensions
 * (SHA-NI: sha256rnds2, sha256msg1, sha256msg2), compiled with -msha
 * -msse4.1 and called only when cpuid reports them (base/sha256.c).
 * Same result as the FIPS 180-4 scalar compress() in sha256.c, which is
 * its reference in tests/test_container.c.
 *
 * The instructions keep the eight working variables in two registers,
 * ABEF and CDGH (lane 3 .. lane 0), and run two rounds per sha256rnds2
 * from the low two lanes of W[t] + K[t]. The message schedule is four
 * registers of four words W[4g .. 4g+3] each, rotated: the words of group
 * g + 4 are W[t-16] + s0(W[t-15]) (msg1) + W[t-7] (alignr of the groups
 * g + 2, g + 3) + s1(W[t-2]) (msg2). */
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

void base_sha256_blocks_shani(uint32_t h[8], const uint8_t *p, size_t nblocks,
                            const uint32_t k[64]);

void base_sha256_blocks_shani(uint32_t h[8], const uint8_t *p, size_t nblocks,
                            const uint32_t k[64])
{
    /* big-endian words -> lanes */
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    /* h[0..3] = A B C D, h[4..7] = E F G H -> ABEF, CDGH (lane 3 first) */
    __m128i abcd = _mm_loadu_si128((const __m128i *)h);
    __m128i efgh = _mm_loadu_si128((const __m128i *)(h + 4));
    __m128i cdab = _mm_shuffle_epi32(abcd, 0xB1); /* lanes: B A D C */
    __m128i hgfe = _mm_shuffle_epi32(efgh, 0x1B); /* lanes: H G F E */
    __m128i abef = _mm_alignr_epi8(cdab, hgfe, 8);
    __m128i cdgh = _mm_blend_epi16(hgfe, cdab, 0xF0);
    for (; nblocks; nblocks--, p += 64) {
        const __m128i abef0 = abef, cdgh0 = cdgh;
        __m128i m[4];
        for (int i = 0; i < 4; i++)
            m[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), bswap);
        for (int g = 0; g < 16; g++) {
            __m128i wk = _mm_add_epi32(m[g & 3], _mm_loadu_si128((const __m128i *)(k + 4 * g)));
            cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);
            abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(wk, 0x0E));
            if (g < 12) {
                __m128i w = _mm_sha256msg1_epu32(m[g & 3], m[(g + 1) & 3]);
                w = _mm_add_epi32(w, _mm_alignr_epi8(m[(g + 3) & 3], m[(g + 2) & 3], 4));
                m[g & 3] = _mm_sha256msg2_epu32(w, m[(g + 3) & 3]);
            }
        }
        abef = _mm_add_epi32(abef, abef0);
        cdgh = _mm_add_epi32(cdgh, cdgh0);
    }
    /* back to A B C D, E F G H */
    __m128i feba = _mm_shuffle_epi32(abef, 0x1B);
    __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);
    _mm_storeu_si128((__m128i *)h, _mm_blend_epi16(feba, dchg, 0xF0));
    _mm_storeu_si128((__m128i *)(h + 4), _mm_alignr_epi8(dchg, feba, 8));
}
