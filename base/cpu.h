/* cpu.h - what this CPU and OS can run, and the one ISA choice that every
 * accelerated path follows (the kernel tables in kernels/cpu.c and SHA-256's
 * SHA-NI path alike): MINT_ISA=scalar|avx2|avx512|neon forces a path, an
 * unknown or unsupported name (or "auto", or none) gives the best one this
 * CPU and OS support; mint_set_isa changes it through base_isa_set. */
#ifndef MINT_BASE_CPU_H
#define MINT_BASE_CPU_H

#define BASE_CPU_AVX2 1u   /* AVX2 + FMA, YMM state saved by the OS */
#define BASE_CPU_AVX512 2u /* AVX-512 F/BW/VL/DQ, opmask + ZMM state saved */
#define BASE_CPU_SHA 4u    /* SHA extensions with SSSE3 and SSE4.1 */

/* Feature bits (0 off x86), detected once. */
unsigned base_cpu_features(void);
/* 1 if name is an ISA this build targets and this CPU/OS can run: scalar
 * always, neon on aarch64, avx2 / avx512 on x86 by base_cpu_features. */
int base_isa_supported(const char *name);
/* The active ISA name (a static string). The first call resolves MINT_ISA. */
const char *base_isa_active(void);
/* Make name (supported, static storage) the active ISA. */
void base_isa_set(const char *name);

#endif
