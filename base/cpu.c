/* cpu.c - CPU features and the active ISA (see cpu.h). On x86 a feature
 * counts only if cpuid reports it and XGETBV shows that the OS saves the
 * register state it needs (YMM for AVX2, opmask + ZMM for AVX-512); see
 * Intel SDM vol. 1, 13.3 and 15.2. NEON is the aarch64 baseline. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "base/cpu.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define BASE_X86 1

static unsigned long long xgetbv0(void)
{
    unsigned eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

static unsigned x86_features(void)
{
    unsigned a, b, c, d, feat = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    const int ssse3 = (c >> 9) & 1, fma = (c >> 12) & 1, sse41 = (c >> 19) & 1;
    const int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
    if (__get_cpuid_max(0, NULL) < 7)
        return 0;
    __cpuid_count(7, 0, a, b, c, d);
    if (ssse3 && sse41 && ((b >> 29) & 1))
        feat |= BASE_CPU_SHA;
    if (!osxsave || !avx)
        return feat;
    const unsigned long long xcr0 = xgetbv0();
    /* XCR0 bit 1 = SSE (XMM), bit 2 = AVX (upper YMM). */
    if ((xcr0 & 0x6) != 0x6)
        return feat;
    const int avx2 = (b >> 5) & 1;
    const int f = (b >> 16) & 1, dq = (b >> 17) & 1, bw = (b >> 30) & 1, vl = (b >> 31) & 1;
    if (avx2 && fma)
        feat |= BASE_CPU_AVX2;
    /* bits 5..7 = opmask, ZMM0-15 upper halves, ZMM16-31. */
    if ((feat & BASE_CPU_AVX2) && f && dq && bw && vl && (xcr0 & 0xe0) == 0xe0)
        feat |= BASE_CPU_AVX512;
    return feat;
}
#endif

unsigned base_cpu_features(void)
{
#ifdef BASE_X86
    static atomic_int feat = -1;
    int f = atomic_load(&feat);
    if (f < 0) {
        f = (int)x86_features();
        atomic_store(&feat, f);
    }
    return (unsigned)f;
#else
    return 0;
#endif
}

/* Every ISA name, worst first. */
static const char *const isa_names[] = { "scalar", "neon", "avx2", "avx512" };

int base_isa_supported(const char *name)
{
    if (!name)
        return 0;
    if (strcmp(name, "scalar") == 0)
        return 1;
#if defined(__aarch64__)
    if (strcmp(name, "neon") == 0)
        return 1;
#endif
    if (strcmp(name, "avx2") == 0)
        return (base_cpu_features() & BASE_CPU_AVX2) != 0;
    if (strcmp(name, "avx512") == 0)
        return (base_cpu_features() & BASE_CPU_AVX512) != 0;
    return 0;
}

static _Atomic(const char *) active;

const char *base_isa_active(void)
{
    const char *a = atomic_load_explicit(&active, memory_order_acquire);
    if (a)
        return a;
    const char *env = getenv("MINT_ISA"), *pick = NULL;
    int n = (int)(sizeof isa_names / sizeof isa_names[0]);
    for (int i = 0; i < n; i++) {
        if (env && strcmp(env, isa_names[i]) == 0 && base_isa_supported(env))
            pick = isa_names[i];
    }
    for (int i = 0; !pick && i < n; i++) /* the best supported one */
        if (base_isa_supported(isa_names[n - 1 - i]))
            pick = isa_names[n - 1 - i];
    /* racing first callers pick the same; a concurrent base_isa_set wins */
    const char *expected = NULL;
    if (!atomic_compare_exchange_strong(&active, &expected, pick))
        return expected;
    return pick;
}

void base_isa_set(const char *name)
{
    atomic_store_explicit(&active, name, memory_order_release);
}
