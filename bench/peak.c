/* peak: the fp32 FMA throughput one core of THIS machine reaches, for context next to PERFORMANCE.md's
 * 212 GFLOP/s (measured on a different EPYC generation). Independent chains of 512-bit FMAs
 * (AVX-512F; AVX2 fallback) in registers, no memory traffic; best of several runs of ~0.1 s.
 * Built with -O2 -mavx512f (or -mavx2 -mfma). Prints `RESULT peak gflops=X isa=...`. */
#define _POSIX_C_SOURCE 200809L
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#if defined(__AVX512F__)
typedef __m512 vec;
#define LANES 16
#define SET1 _mm512_set1_ps
#define FMA _mm512_fmadd_ps
#define ADD _mm512_add_ps
#define ISA "avx512f (zmm)"
static float reduce(vec v) { return _mm512_reduce_add_ps(v); }
#else
typedef __m256 vec;
#define LANES 8
#define SET1 _mm256_set1_ps
#define FMA _mm256_fmadd_ps
#define ADD _mm256_add_ps
#define ISA "avx2+fma (ymm)"
static float reduce(vec v) {
  float t[8];
  _mm256_storeu_ps(t, v);
  return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}
#endif

#define CHAINS 12 /* enough independent FMAs to cover latency x throughput on current x86 */

static double run(long iterations, float *sink) {
  vec a = SET1(0.999999f), b = SET1(1e-7f);
  /* twelve named accumulators so that they stay in registers */
  vec c0 = SET1(0.f), c1 = SET1(1.f), c2 = SET1(2.f), c3 = SET1(3.f), c4 = SET1(4.f), c5 = SET1(5.f);
  vec c6 = SET1(6.f), c7 = SET1(7.f), c8 = SET1(8.f), c9 = SET1(9.f), c10 = SET1(10.f), c11 = SET1(11.f);
  double t0 = now_seconds();
  for (long i = 0; i < iterations; i++) {
    c0 = FMA(c0, a, b); c1 = FMA(c1, a, b); c2 = FMA(c2, a, b); c3 = FMA(c3, a, b);
    c4 = FMA(c4, a, b); c5 = FMA(c5, a, b); c6 = FMA(c6, a, b); c7 = FMA(c7, a, b);
    c8 = FMA(c8, a, b); c9 = FMA(c9, a, b); c10 = FMA(c10, a, b); c11 = FMA(c11, a, b);
    __asm__ volatile("" : "+v"(c0), "+v"(c1), "+v"(c2), "+v"(c3), "+v"(c4), "+v"(c5));
    __asm__ volatile("" : "+v"(c6), "+v"(c7), "+v"(c8), "+v"(c9), "+v"(c10), "+v"(c11));
  }
  double t1 = now_seconds();
  vec total = ADD(ADD(ADD(c0, c1), ADD(c2, c3)), ADD(ADD(c4, c5), ADD(c6, c7)));
  total = ADD(total, ADD(ADD(c8, c9), ADD(c10, c11)));
  *sink += reduce(total);
  return 2.0 * LANES * CHAINS * (double)iterations / (t1 - t0) / 1e9;
}

int main(void) {
  float sink = 0.0f;
  double best = 0.0;
  run(1000000, &sink); /* wake the core up */
  for (int i = 0; i < 7; i++) {
    double g = run(20000000, &sink);
    if (g > best) best = g;
  }
  printf("RESULT peak gflops=%.2f isa=%s chains=%d sink=%g\n", best, ISA, CHAINS, (double)sink);
  return 0;
}
