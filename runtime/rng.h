/* rng.h: seeded, repeatable random numbers (xoshiro256** seeded by splitmix64; Box-Muller).
 *
 * The same seed and stream give the same numbers on every machine: only integer arithmetic and
 * IEEE double log/sqrt/cos/sin are used.
 */
#ifndef PERFT_RUNTIME_RNG_H
#define PERFT_RUNTIME_RNG_H

#include <stdint.h>

typedef struct {
  uint64_t state[4];
  int has_spare;   /* Box-Muller makes normals in pairs */
  double spare;
} Rng;

/* Independent streams from one seed: the runtime uses one per job (init, teacher, data). */
enum { RNG_STREAM_INIT = 1, RNG_STREAM_TEACHER = 2, RNG_STREAM_DATA = 3, RNG_STREAM_EVAL = 4 };

void rng_seed(Rng *rng, uint64_t seed, uint64_t stream);
uint64_t rng_next_u64(Rng *rng);
double rng_uniform(Rng *rng);          /* [0, 1) with 53 random bits */
double rng_normal(Rng *rng);           /* N(0, 1) */
int64_t rng_below(Rng *rng, int64_t n); /* uniform in [0, n), n >= 1 */
/* The splitmix64 finaliser: a fixed, seedless 64-bit mixing function. */
uint64_t mix64(uint64_t x);
/* out[i] = mean + std * N(0, 1) for i < count */
void rng_fill_normal(Rng *rng, float *out, int64_t count, double mean, double std);
/* The generator `steps` calls of rng_next_u64 further on, in O(log steps) (xoshiro's state moves
 * by a linear map over GF(2): its powers of two are made once). */
void rng_jump(Rng *rng, uint64_t steps);
/* A fresh generator (no spare) moved on by `count` normals, in O(log count): what follows is what
 * rng_normal would give after `count` calls. Parts of one long fill can so be made side by side
 * with the same numbers (runtime/params.c). */
void rng_skip_normals(Rng *rng, uint64_t count);

#endif
