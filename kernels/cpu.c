/* cpu.c - kernel dispatch.
 *
 * One static table per ISA is built from kernels.inc. The active table is
 * the one named by base_isa_active() (base/cpu.c: MINT_ISA=scalar|avx2|
 * avx512|neon forces a path, an unknown or unsupported name falls back to the
 * best one the CPU *and OS* can run, which SHA-256 follows too), chosen once
 * on first use; mint_isa_env_check reports an ignored MINT_ISA, for the CLI
 * to print (the library does not print); mint_set_isa refuses unsupported
 * names with MINT_E_UNSUPPORTED. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/cpu.h"
#include "kernels.h"

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

static int isa_supported(const char *name) { return base_isa_supported(name); }

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
    /* base/cpu.c resolves MINT_ISA (unknown/unsupported: the best) */
    const kern_isa *pick = kern_isa_find(base_isa_active());
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
    base_isa_set(t->name); /* SHA-256 follows the same choice */
    atomic_store_explicit(&active_isa, t, memory_order_release);
    return MINT_OK;
}
