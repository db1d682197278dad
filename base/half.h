/* half.h - IEEE 754 binary16 <-> binary32 conversion for .npy '<f2' data
 * and fp16 weights: round to nearest, ties to even; infinities, NaNs
 * (kept quiet, top payload bits preserved), subnormals and signed zeros
 * handled exactly. Pure bit manipulation, no dependence on the FPU mode. */
#ifndef MINT_BASE_HALF_H
#define MINT_BASE_HALF_H

#include <stddef.h>
#include <stdint.h>

float base_f16_to_f32(uint16_t h);
uint16_t base_f32_to_f16(float f);
void base_f16_to_f32_n(float *dst, const uint16_t *src, size_t n);
void base_f32_to_f16_n(uint16_t *dst, const float *src, size_t n);

#endif
