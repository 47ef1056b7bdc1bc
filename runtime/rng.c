/* rng.c: xoshiro256** (Blackman & Vigna) seeded through splitmix64, normals by Box-Muller. */
#include "rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static uint64_t rotate_left(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void rng_seed(Rng *rng, uint64_t seed, uint64_t stream) {
  uint64_t x = seed ^ (stream * 0xD1B54A32D192ED03ull);
  splitmix64(&x);
  for (int i = 0; i < 4; i++) rng->state[i] = splitmix64(&x);
  rng->has_spare = 0;
  rng->spare = 0.0;
}

uint64_t rng_next_u64(Rng *rng) {
  uint64_t *s = rng->state;
  uint64_t result = rotate_left(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotate_left(s[3], 45);
  return result;
}

double rng_uniform(Rng *rng) { return (double)(rng_next_u64(rng) >> 11) * 0x1.0p-53; }

int64_t rng_below(Rng *rng, int64_t n) {
  int64_t value = (int64_t)(rng_uniform(rng) * (double)n);
  return value < n ? value : n - 1;
}

uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double rng_normal(Rng *rng) {
  if (rng->has_spare) {
    rng->has_spare = 0;
    return rng->spare;
  }
  double u1 = 1.0 - rng_uniform(rng); /* (0, 1]: log is finite */
  double u2 = rng_uniform(rng);
  double radius = sqrt(-2.0 * log(u1));
  double angle = 6.283185307179586476925 * u2;
  rng->spare = radius * sin(angle);
  rng->has_spare = 1;
  return radius * cos(angle);
}

void rng_fill_normal(Rng *rng, float *out, int64_t count, double mean, double std) {
  for (int64_t i = 0; i < count; i++) out[i] = (float)(mean + std * rng_normal(rng));
}
