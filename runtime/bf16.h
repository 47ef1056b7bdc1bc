/* bf16.h — bfloat16 <-> float: frozen weights kept in bf16 (perftc --frozen-dtype=bf16). */
#ifndef PERFT_RUNTIME_BF16_H
#define PERFT_RUNTIME_BF16_H

#include <stdint.h>
#include <string.h>

static inline float bf16_to_float(uint16_t bits) {
  uint32_t wide = (uint32_t)bits << 16;
  float value;
  memcpy(&value, &wide, sizeof value);
  return value;
}

/* Rounded to nearest, ties to even; a NaN stays a (quiet) NaN. */
static inline uint16_t float_to_bf16(float value) {
  uint32_t bits;
  memcpy(&bits, &value, sizeof bits);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits >> 16) | 0x40);
  bits += 0x7fffu + ((bits >> 16) & 1);
  return (uint16_t)(bits >> 16);
}

#endif
