/* rng.c: xoshiro256** (Blackman & Vigna) seeded through splitmix64, normals by Box-Muller. */
#include "rng.h"

#include <math.h>
#include <pthread.h>

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

/* ---- jumping ahead: the state s (256 bits) becomes M·s each step, M a 256×256 matrix over GF(2).
 * power[k] = M^(2^k), row-major: row i is 4 words, bit j of row i is M[i][j]. ---- */
enum { STATE_BITS = 256, JUMP_POWERS = 64 };
typedef uint64_t Matrix[STATE_BITS][4];
static Matrix power[JUMP_POWERS];
static pthread_once_t powers_made = PTHREAD_ONCE_INIT;

static int bit_of(const uint64_t *words, int j) { return (int)(words[j / 64] >> (j % 64)) & 1; }

static void multiply(Matrix out, const Matrix a, const Matrix b) { /* out = a·b */
  for (int i = 0; i < STATE_BITS; i++) {
    uint64_t row[4] = {0, 0, 0, 0};
    for (int k = 0; k < STATE_BITS; k++)
      if (bit_of(a[i], k))
        for (int w = 0; w < 4; w++) row[w] ^= b[k][w];
    for (int w = 0; w < 4; w++) out[i][w] = row[w];
  }
}

static void make_powers(void) {
  /* column j of M: one step from the state with only bit j set */
  for (int j = 0; j < STATE_BITS; j++) {
    Rng unit = {{0, 0, 0, 0}, 0, 0.0};
    unit.state[j / 64] = (uint64_t)1 << (j % 64);
    rng_next_u64(&unit);
    for (int i = 0; i < STATE_BITS; i++)
      if (bit_of(unit.state, i)) power[0][i][j / 64] |= (uint64_t)1 << (j % 64);
  }
  for (int k = 1; k < JUMP_POWERS; k++) multiply(power[k], power[k - 1], power[k - 1]);
}

void rng_jump(Rng *rng, uint64_t steps) {
  if (!steps) return; /* no powers to make (~20 ms) */
  pthread_once(&powers_made, make_powers);
  for (int k = 0; k < JUMP_POWERS; k++) {
    if (!(steps >> k & 1)) continue;
    uint64_t next[4] = {0, 0, 0, 0};
    for (int i = 0; i < STATE_BITS; i++) {
      uint64_t parity = 0;
      for (int w = 0; w < 4; w++) parity ^= power[k][i][w] & rng->state[w];
      next[i / 64] |= (uint64_t)__builtin_parityll(parity) << (i % 64);
    }
    for (int w = 0; w < 4; w++) rng->state[w] = next[w];
  }
}

/* normal i comes from pair i / 2 (two uniforms: the cos for even i, the sin for odd) */
void rng_skip_normals(Rng *rng, uint64_t count) {
  rng_jump(rng, 2 * (count / 2));
  if (count % 2) rng_normal(rng); /* the pair's cos: the sin, its spare, comes next */
}
