/* gemm_checks.c — see gemm_checks.h. */
#include "gemm_checks.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bf16.h"
#include "gemm.h"

const int32_t gemm_check_offsets[4] = {0, 3, 3, 7};
#define P(x) ((intptr_t)(x))

static uint32_t state = 12345;
float gemm_check_uniform(void) {
  state = state * 1664525u + 1013904223u;
  return (float)((state >> 8) & 0xffff) / 32768.0f - 1.0f;
}
static float *random_floats(int64_t n) {
  float *x = malloc((size_t)n * sizeof *x);
  for (int64_t i = 0; i < n; i++) x[i] = gemm_check_uniform();
  return x;
}
static int close_to(double got, double want) { return fabs(got - want) <= 1e-5 * (1 + fabs(want)); }

int gemm_check_dense(int transpose_a, int transpose_b, int accumulate) {
  int64_t M = 7, N = 5, K = 9;
  float *a = random_floats(M * K), *b = random_floats(K * N), *c = random_floats(M * N), *c0 = malloc(sizeof(float) * (size_t)(M * N));
  for (int64_t i = 0; i < M * N; i++) c0[i] = c[i];
  int64_t flags = (transpose_a ? GEMM_TRANSPOSE_A : 0) | (transpose_b ? GEMM_TRANSPOSE_B : 0) | (accumulate ? GEMM_ACCUMULATE : 0);
  perft_gemm(flags, M, N, K, P(a), P(b), P(c));
  int bad = 0;
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < N; j++) {
      double want = accumulate ? c0[i * N + j] : 0;
      for (int64_t l = 0; l < K; l++)
        want += (double)(transpose_a ? a[l * M + i] : a[i * K + l]) * (transpose_b ? b[j * K + l] : b[l * N + j]);
      bad += !close_to(c[i * N + j], want);
    }
  if (bad) fprintf(stderr, "dense transpose_a=%d transpose_b=%d accumulate=%d: %d wrong\n", transpose_a, transpose_b, accumulate, bad);
  free(a), free(b), free(c), free(c0);
  return bad;
}

int gemm_check_dense_f64(void) {
  int64_t M = 3, N = 4, K = 6;
  double a[18], b[24], c[12];
  for (int i = 0; i < 18; i++) a[i] = gemm_check_uniform();
  for (int i = 0; i < 24; i++) b[i] = gemm_check_uniform();
  perft_gemm(GEMM_F64 | GEMM_TRANSPOSE_B, M, N, K, P(a), P(b), P(c));
  int bad = 0;
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < N; j++) {
      double want = 0;
      for (int64_t l = 0; l < K; l++) want += a[i * K + l] * b[j * K + l];
      bad += fabs(c[i * N + j] - want) >= 1e-14;
    }
  if (bad) fprintf(stderr, "dense f64: %d wrong\n", bad);
  return bad;
}

int gemm_check_grouped(int transpose_w) {
  const int32_t *offsets = gemm_check_offsets;
  int64_t E = 3, R = 8, N = 5, K = 6;
  float *rows = random_floats(R * K), *bank = random_floats(E * N * K), *y = random_floats(R * N);
  float untouched[5];
  for (int j = 0; j < 5; j++) untouched[j] = y[7 * N + j];
  perft_grouped_gemm(transpose_w ? GEMM_TRANSPOSE_B : 0, E, N, K, P(rows), P(bank), P(offsets), P(y));
  int bad = 0;
  for (int64_t e = 0; e < E; e++)
    for (int64_t r = offsets[e]; r < offsets[e + 1]; r++)
      for (int64_t n = 0; n < N; n++) {
        double want = 0;
        for (int64_t l = 0; l < K; l++)
          want += (double)rows[r * K + l] * (transpose_w ? bank[(e * N + n) * K + l] : bank[(e * K + l) * N + n]);
        bad += !close_to(y[r * N + n], want);
      }
  for (int j = 0; j < 5; j++) bad += y[7 * N + j] != untouched[j];
  if (bad) fprintf(stderr, "grouped transpose_w=%d: %d wrong\n", transpose_w, bad);
  free(rows), free(bank), free(y);
  return bad;
}

int gemm_check_grouped_grad_weight(int transpose_w) {
  const int32_t *offsets = gemm_check_offsets;
  int64_t E = 3, R = 8, N = 5, K = 6;
  float *dy = random_floats(R * N), *rows = random_floats(R * K), *dbank = random_floats(E * N * K);
  perft_grouped_gemm_grad_weight(transpose_w ? GEMM_TRANSPOSE_B : 0, E, N, K, P(dy), P(rows), P(offsets), P(dbank));
  int bad = 0;
  for (int64_t e = 0; e < E; e++)
    for (int64_t n = 0; n < N; n++)
      for (int64_t l = 0; l < K; l++) {
        double want = 0;
        for (int64_t r = offsets[e]; r < offsets[e + 1]; r++) want += (double)dy[r * N + n] * rows[r * K + l];
        float got = transpose_w ? dbank[(e * N + n) * K + l] : dbank[(e * K + l) * N + n];
        bad += !close_to(got, want);
      }
  if (bad) fprintf(stderr, "grouped grad weight transpose_w=%d: %d wrong\n", transpose_w, bad);
  free(dy), free(rows), free(dbank);
  return bad;
}

static uint16_t *random_bf16(int64_t n) {
  uint16_t *x = malloc((size_t)n * sizeof *x);
  for (int64_t i = 0; i < n; i++) x[i] = float_to_bf16(gemm_check_uniform());
  return x;
}

int gemm_check_bf16_inputs(void) {
  const int32_t *offsets = gemm_check_offsets;
  int64_t E = 3, R = 8, N = 5, K = 6;
  uint16_t *x = random_bf16(R * K), *w = random_bf16(N * K), *bank = random_bf16(E * N * K);
  float *c = random_floats(R * N), *y = random_floats(R * N), c0[40];
  for (int i = 0; i < 40; i++) c0[i] = c[i];
  perft_gemm(GEMM_BF16_INPUTS | GEMM_TRANSPOSE_B | GEMM_ACCUMULATE, R, N, K, P(x), P(w), P(c));
  perft_grouped_gemm(GEMM_BF16_INPUTS | GEMM_TRANSPOSE_B, E, N, K, P(x), P(bank), P(offsets), P(y));
  int bad = 0;
  for (int64_t r = 0; r < R; r++)
    for (int64_t n = 0; n < N; n++) {
      double dense = c0[r * N + n];
      for (int64_t l = 0; l < K; l++) dense += (double)bf16_to_float(x[r * K + l]) * bf16_to_float(w[n * K + l]);
      bad += !close_to(c[r * N + n], dense);
    }
  for (int64_t e = 0; e < E; e++)
    for (int64_t r = offsets[e]; r < offsets[e + 1]; r++)
      for (int64_t n = 0; n < N; n++) {
        double want = 0;
        for (int64_t l = 0; l < K; l++)
          want += (double)bf16_to_float(x[r * K + l]) * bf16_to_float(bank[(e * N + n) * K + l]);
        bad += !close_to(y[r * N + n], want);
      }
  if (bad) fprintf(stderr, "bf16 inputs: %d wrong\n", bad);
  free(x), free(w), free(bank), free(c), free(y);
  return bad;
}

int gemm_check_attention(void) {
  enum { B = 2, S = 3, d = 2, H = 4, G = 2, R = H / G, T = B * S };
  float *x = random_floats(T * H * d), *kv = random_floats(T * G * d), *p = random_floats(B * H * S * S);
  float *scores = random_floats(B * H * S * S), *y = random_floats(T * H * d), *o = random_floats(T * G * d);
  perft_attention_gemm(ATTENTION_SCORES, B, S, d, H, G, P(x), P(kv), P(scores));
  perft_attention_gemm(ATTENTION_APPLY, B, S, d, H, G, P(p), P(kv), P(y));
  perft_attention_gemm(ATTENTION_APPLY_T, B, S, d, H, G, P(p), P(x), P(o));
  int bad = 0;
#define SQUARE(m, b, h, i, j) m[(((b) * H + (h)) * S + (i)) * S + (j)]
  for (int b = 0; b < B; b++)
    for (int h = 0; h < H; h++)
      for (int i = 0; i < S; i++) {
        for (int j = 0; j < S; j++) { /* s = x_bh · kv_bgᵀ */
          double want = 0;
          for (int c = 0; c < d; c++) want += (double)x[(b * S + i) * H * d + h * d + c] * kv[(b * S + j) * G * d + h / R * d + c];
          bad += !close_to(SQUARE(scores, b, h, i, j), want);
        }
        for (int c = 0; c < d; c++) { /* y_bh = p · kv_bg */
          double want = 0;
          for (int j = 0; j < S; j++) want += (double)SQUARE(p, b, h, i, j) * kv[(b * S + j) * G * d + h / R * d + c];
          bad += !close_to(y[(b * S + i) * H * d + h * d + c], want);
        }
      }
  for (int b = 0; b < B; b++) /* o_bg = Σ over g's heads of pᵀ · x_bh */
    for (int g = 0; g < G; g++)
      for (int j = 0; j < S; j++)
        for (int c = 0; c < d; c++) {
          double want = 0;
          for (int h = g * R; h < g * R + R; h++)
            for (int i = 0; i < S; i++) want += (double)SQUARE(p, b, h, i, j) * x[(b * S + i) * H * d + h * d + c];
          bad += !close_to(o[(b * S + j) * G * d + g * d + c], want);
        }
#undef SQUARE
  if (bad) fprintf(stderr, "attention: %d wrong\n", bad);
  free(x), free(kv), free(p), free(scores), free(y), free(o);
  return bad;
}
