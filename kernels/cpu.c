/* cpu.c - CPU feature detection and kernel dispatch.
 *
 * One static table per ISA is built from kernels.inc. The active table is
 * chosen once, on first use: MINT_ISA=scalar|avx2|avx512|neon forces a path
 * (an unknown or unsupported name falls back to the best one and
 * mint_isa_env_check reports it, for the CLI to print: the library does not
 * print; mint_set_isa refuses such names with MINT_E_UNSUPPORTED), otherwise
 * the best table this CPU *and OS* can run. On x86 a feature counts only if
 * cpuid reports it and XGETBV shows that the OS saves the register state it
 * needs (YMM for AVX2, opmask + ZMM for AVX-512); see Intel SDM vol. 1, 13.3
 * and 15.2. NEON is the aarch64 baseline and needs no run-time check. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define MINT_X86 1
#endif

/* One table per ISA from the list: .op = kern_f32_<op>_<tile>__<isa>,
 * its name and tile. */
#define KERN_ISA(isa) static const kern_isa table_##isa = { .name = #isa,
#define KERN(isa, op, tile, m, n) \
    .op = kern_f32_##op##_##tile##__##isa, .op##_name = "f32_" #op "_" #tile "__" #isa, \
    .op##_tile = { m, n },
#define KERN_ISA_END(isa) };
#include "kernels.inc"
#undef KERN_ISA
#undef KERN_ISA_END
#undef KERN

/* Every compiled-in table, in kernels.inc order (best last). */
static const kern_isa *const all_tables[] = {
#define KERN_ISA(isa) &table_##isa,
#define KERN_ISA_END(isa)
#define KERN(isa, op, tile, m, n)
#include "kernels.inc"
#undef KERN_ISA
#undef KERN_ISA_END
#undef KERN
};
#define NTABLES ((int)(sizeof all_tables / sizeof all_tables[0]))

#ifdef MINT_X86
static unsigned long long xgetbv0(void)
{
    unsigned eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

/* Bit 0 = AVX2+FMA usable, bit 1 = AVX-512 F/BW/VL/DQ usable. */
static int x86_features(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    const int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
    if (!osxsave || !avx)
        return 0;
    const unsigned long long xcr0 = xgetbv0();
    /* XCR0 bit 1 = SSE (XMM), bit 2 = AVX (upper YMM). */
    if ((xcr0 & 0x6) != 0x6)
        return 0;
    if (__get_cpuid_max(0, NULL) < 7)
        return 0;
    __cpuid_count(7, 0, a, b, c, d);
    const int avx2 = (b >> 5) & 1;
    const int f = (b >> 16) & 1, dq = (b >> 17) & 1, bw = (b >> 30) & 1, vl = (b >> 31) & 1;
    int feat = 0;
    if (avx2 && fma)
        feat |= 1;
    /* bits 5..7 = opmask, ZMM0-15 upper halves, ZMM16-31. */
    if ((feat & 1) && f && dq && bw && vl && (xcr0 & 0xe0) == 0xe0)
        feat |= 2;
    return feat;
}
#endif

static int isa_supported(const char *name)
{
    if (strcmp(name, "scalar") == 0 || strcmp(name, "neon") == 0)
        return 1; /* neon is only compiled in on aarch64, where it is baseline */
#ifdef MINT_X86
    static atomic_int feat = -1;
    int f = atomic_load(&feat);
    if (f < 0) {
        f = x86_features();
        atomic_store(&feat, f);
    }
    if (strcmp(name, "avx2") == 0)
        return f & 1;
    if (strcmp(name, "avx512") == 0)
        return (f >> 1) & 1;
#endif
    return 0;
}

const kern_isa *kern_isa_find(const char *name)
{
    if (!name)
        return NULL;
    for (int i = 0; i < NTABLES; i++)
        if (strcmp(all_tables[i]->name, name) == 0)
            return isa_supported(name) ? all_tables[i] : NULL;
    return NULL;
}

int kern_isa_available(const kern_isa **out, int max)
{
    int n = 0;
    for (int i = 0; i < NTABLES; i++)
        if (isa_supported(all_tables[i]->name)) {
            if (out && n < max)
                out[n] = all_tables[i];
            n++;
        }
    return out && n > max ? max : n;
}

const kern_isa *kern_scalar(void) { return &table_scalar; }

static const kern_isa *best_isa(void)
{
    const kern_isa *best = &table_scalar;
    for (int i = 0; i < NTABLES; i++)
        if (isa_supported(all_tables[i]->name))
            best = all_tables[i];
    return best;
}

static _Atomic(const kern_isa *) active_isa;

const kern_isa *kern_active(void)
{
    const kern_isa *t = atomic_load_explicit(&active_isa, memory_order_acquire);
    if (t)
        return t;
    const char *env = getenv("MINT_ISA");
    const kern_isa *pick = NULL;
    if (env && *env && strcmp(env, "auto") != 0)
        pick = kern_isa_find(env); /* unknown/unsupported: fall back to best */
    if (!pick)
        pick = best_isa();
    /* Racing first callers compute the same pick; a concurrent
     * mint_set_isa wins. */
    const kern_isa *expected = NULL;
    if (!atomic_compare_exchange_strong(&active_isa, &expected, pick))
        return expected;
    return pick;
}

const char *mint_isa(void) { return kern_active()->name; }

mint_status mint_isa_env_check(void)
{
    const char *env = getenv("MINT_ISA");
    if (!env || !*env || strcmp(env, "auto") == 0 || kern_isa_find(env))
        return MINT_OK;
    char avail[64] = "";
    size_t k = 0;
    for (int i = 0; i < NTABLES && k < sizeof avail; i++)
        if (isa_supported(all_tables[i]->name))
            k += (size_t)snprintf(avail + k, sizeof avail - k, "%s%s", k ? ", " : "",
                                  all_tables[i]->name);
    int known = 0;
    for (int i = 0; i < NTABLES; i++)
        known |= strcmp(all_tables[i]->name, env) == 0;
    return mint_fail(MINT_E_UNSUPPORTED, "MINT_ISA=%.40s ignored: %s (available: %s); using %s",
                     env, known ? "this CPU/OS cannot run it" : "not a kernel path of this build",
                     avail, mint_isa());
}

mint_status mint_set_isa(const char *name)
{
    if (!name)
        return mint_fail(MINT_E_ARG, "mint_set_isa: name is NULL");
    const kern_isa *t = kern_isa_find(name);
    if (!t)
        return mint_fail(MINT_E_UNSUPPORTED,
                         "ISA '%s' is not compiled in or not supported by this CPU/OS", name);
    atomic_store_explicit(&active_isa, t, memory_order_release);
    return MINT_OK;
}
