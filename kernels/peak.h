/* peak.h - register-only FMA loops that measure the machine's floating-point
 * peak for an ISA (used by bench/bench_kernels.c to report % of peak). Not
 * part of the dispatch table: benchmarks only. */
#ifndef MINT_KERNELS_PEAK_H
#define MINT_KERNELS_PEAK_H

#include <stddef.h>

/* Run `iters` iterations of independent FMA chains on `isa`'s widest
 * registers; returns the FLOPs executed (an FMA counts 2), or 0 if the ISA
 * is not compiled in or not supported here. */
double kern_fmapeak(const char *isa, size_t iters);

/* Per-ISA loops (FLOPs executed returned). */
double kern_f32_fmapeak__scalar(size_t iters);
#if defined(__x86_64__)
double kern_f32_fmapeak__avx2(size_t iters);
double kern_f32_fmapeak__avx512(size_t iters);
#endif
#if defined(__aarch64__)
double kern_f32_fmapeak__neon(size_t iters);
#endif

#endif
