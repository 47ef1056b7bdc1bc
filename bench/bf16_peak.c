/* bf16_peak: the two ways a CPU can multiply bf16 frozen weights with f32 accumulation, measured on
 * THIS machine (issue 10: "measure which way is faster on the CPU at hand"):
 *   widen  bf16 lanes shifted to f32 (vpmovzxwd + vpslld), then fp32 FMAs: what perft's kernels do
 *          (--frozen-dtype=bf16); the activations stay f32;
 *   dpbf16 AVX512-BF16 vdpbf16ps: pairs of bf16 products summed into f32 lanes; the activations must
 *          be rounded to bf16 too (so the numbers are no longer transformers' f32 ones).
 * Each in 4x4 register blocks (4 activation rows, 4 weight rows) over a weight matrix that fits in
 * L2 (the arithmetic) and one that does not (DRAM: bf16's half-size rows matter); plain f32 weights
 * for comparison. 1 thread. Prints GFLOP/s (2 per multiply-add).
 * Built with -O2 -mavx512f -mavx512bf16 -mavx512bw. */
#define _POSIX_C_SOURCE 200809L
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* 4 activation rows x 4 weight rows per register block, as perft's GEMM kernels (matmul_kernels.c):
 * each step loads 4 x vectors and 4 w vectors and does 16 vector multiply-adds. */
enum { ROWS_BLOCK = 4, COLS_BLOCK = 4 };

static void clear(__m512 acc[ROWS_BLOCK][COLS_BLOCK]) {
  for (int r = 0; r < ROWS_BLOCK; r++)
    for (int c = 0; c < COLS_BLOCK; c++) acc[r][c] = _mm512_setzero_ps();
}

static float total(__m512 acc[ROWS_BLOCK][COLS_BLOCK]) {
  float s = 0;
  for (int r = 0; r < ROWS_BLOCK; r++)
    for (int c = 0; c < COLS_BLOCK; c++) s += _mm512_reduce_add_ps(acc[r][c]);
  return s;
}

/* The 4x4 block's 16 multiply-adds: acc[r][c] += x row r · w vector c */
static inline void block_fma(__m512 acc[ROWS_BLOCK][COLS_BLOCK], const float *x, int64_t K, int64_t k,
                             const __m512 wv[COLS_BLOCK]) {
  for (int r = 0; r < ROWS_BLOCK; r++) {
    __m512 xv = _mm512_loadu_ps(x + r * K + k);
    for (int c = 0; c < COLS_BLOCK; c++) acc[r][c] = _mm512_fmadd_ps(xv, wv[c], acc[r][c]);
  }
}

/* y[r][n] = Σ_k x[r][k] w[n][k]: weights f32 */
static float run_f32(const float *w, const float *x, int64_t N, int64_t K) {
  __m512 acc[ROWS_BLOCK][COLS_BLOCK];
  clear(acc);
  for (int64_t n = 0; n < N; n += COLS_BLOCK)
    for (int64_t k = 0; k < K; k += 16) {
      __m512 wv[COLS_BLOCK];
      for (int c = 0; c < COLS_BLOCK; c++) wv[c] = _mm512_loadu_ps(w + (n + c) * K + k);
      block_fma(acc, x, K, k, wv);
    }
  return total(acc);
}

/* the same, weights bf16 widened to f32 as they are loaded */
static float run_widen(const uint16_t *w, const float *x, int64_t N, int64_t K) {
  __m512 acc[ROWS_BLOCK][COLS_BLOCK];
  clear(acc);
  for (int64_t n = 0; n < N; n += COLS_BLOCK)
    for (int64_t k = 0; k < K; k += 16) {
      __m512 wv[COLS_BLOCK];
      for (int c = 0; c < COLS_BLOCK; c++) {
        __m256i half = _mm256_loadu_si256((const __m256i *)(w + (n + c) * K + k));
        wv[c] = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(half), 16));
      }
      block_fma(acc, x, K, k, wv);
    }
  return total(acc);
}

/* the same with vdpbf16ps: x rounded to bf16 beforehand (xb), 32 products per instruction */
static float run_dpbf16(const uint16_t *w, const uint16_t *xb, int64_t N, int64_t K) {
  __m512 acc[ROWS_BLOCK][COLS_BLOCK];
  clear(acc);
  for (int64_t n = 0; n < N; n += COLS_BLOCK)
    for (int64_t k = 0; k < K; k += 32) {
      __m512bh wv[COLS_BLOCK];
      for (int c = 0; c < COLS_BLOCK; c++) wv[c] = (__m512bh)_mm512_loadu_si512(w + (n + c) * K + k);
      for (int r = 0; r < ROWS_BLOCK; r++) {
        __m512bh xv = (__m512bh)_mm512_loadu_si512(xb + r * K + k);
        for (int c = 0; c < COLS_BLOCK; c++) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], xv, wv[c]);
      }
    }
  return total(acc);
}

static void measure(const char *what, int64_t N, int64_t K) {
  float *wf = aligned_alloc(64, (size_t)(N * K) * 4), *x = aligned_alloc(64, (size_t)(ROWS_BLOCK * K) * 4);
  uint16_t *wb = aligned_alloc(64, (size_t)(N * K) * 2), *xb = aligned_alloc(64, (size_t)(ROWS_BLOCK * K) * 2);
  for (int64_t i = 0; i < N * K; i++) {
    wf[i] = (float)((i * 2654435761u) % 1000) * 1e-3f;
    uint32_t bits;
    __builtin_memcpy(&bits, &wf[i], 4);
    wb[i] = (uint16_t)(bits >> 16);
  }
  for (int64_t i = 0; i < ROWS_BLOCK * K; i++) {
    x[i] = (float)(i % 7) * 0.1f;
    uint32_t bits;
    __builtin_memcpy(&bits, &x[i], 4);
    xb[i] = (uint16_t)(bits >> 16);
  }
  double flops = 2.0 * ROWS_BLOCK * (double)N * (double)K, best[3] = {0, 0, 0};
  volatile float sink = 0;
  int repeats = (int)(2e9 / flops) + 1;
  for (int trial = 0; trial < 5; trial++)
    for (int way = 0; way < 3; way++) {
      double t0 = now_seconds();
      for (int i = 0; i < repeats; i++)
        sink += way == 0 ? run_f32(wf, x, N, K) : way == 1 ? run_widen(wb, x, N, K) : run_dpbf16(wb, xb, N, K);
      double g = flops * repeats / (now_seconds() - t0) / 1e9;
      if (g > best[way]) best[way] = g;
    }
  printf("%-34s f32 weights %6.1f GFLOP/s   bf16 widened + FMA %6.1f   bf16 vdpbf16ps %6.1f  (%.2fx, %.2fx of f32)\n",
         what, best[0], best[1], best[2], best[1] / best[0], best[2] / best[0]);
  free(wf), free(x), free(wb), free(xb);
}

int main(void) {
  measure("weights in L2 (256 x 512)", 256, 512);
  measure("weights in DRAM (8192 x 2048)", 8192, 2048);
  return 0;
}
