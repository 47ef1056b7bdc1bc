/* test_gemm.c: runtime/gemm.c's row-major → column-major mapping through the host backend
 * (gemm_host.c), against plain row-major sums written here: every transpose combination of
 * perft_gemm with and without accumulation, the grouped GEMM (both weight layouts, empty experts,
 * rows outside every expert untouched), its weight gradient (an empty expert gets zeros), double
 * operands, the dot form's chunked order of sums (K > 1024, bit for bit), and the expert offsets
 * kept by perft_gemm_offsets_ready (a grouped GEMM reads the copy, which a later ready renews).
 * Ends with one verdict line: "test_gemm: PASS" or "test_gemm: FAIL (n checks)". */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "gemm.h"

/* data.c calls the generated program through launch_cpu.c; nothing here trains. */
void perft_forward(void **buffers);
void perft_forward(void **buffers) { (void)buffers; }
void perft_train_step(void **buffers);
void perft_train_step(void **buffers) { (void)buffers; }

static int failures;
#define CHECK(condition)                                                            \
  do {                                                                              \
    if (!(condition)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #condition); \
      failures++;                                                                   \
    }                                                                               \
  } while (0)

static uint32_t state = 12345;
static float uniform(void) { /* in [-1, 1) */
  state = state * 1664525u + 1013904223u;
  return (float)((state >> 8) & 0xffff) / 32768.0f - 1.0f;
}
static float *random_floats(int64_t n) {
  float *x = malloc((size_t)n * sizeof *x);
  for (int64_t i = 0; i < n; i++) x[i] = uniform();
  return x;
}
static int close_to(double got, double want) { return fabs(got - want) <= 1e-5 * (1 + fabs(want)); }
#define P(x) ((intptr_t)(x))

/* row-major c[M,N] (+)= op(a)·op(b), sums in double */
static void check_dense(int transpose_a, int transpose_b, int accumulate) {
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
  CHECK(bad == 0);
  free(a), free(b), free(c), free(c0);
}

static void check_dense_f64(void) {
  int64_t M = 3, N = 4, K = 6;
  double a[18], b[24], c[12];
  for (int i = 0; i < 18; i++) a[i] = uniform();
  for (int i = 0; i < 24; i++) b[i] = uniform();
  perft_gemm(GEMM_F64 | GEMM_TRANSPOSE_B, M, N, K, P(a), P(b), P(c));
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < N; j++) {
      double want = 0;
      for (int64_t l = 0; l < K; l++) want += a[i * K + l] * b[j * K + l];
      CHECK(fabs(c[i * N + j] - want) < 1e-14);
    }
}

/* x·wᵀ with K = 2500: chunks of 1024 products from zero, added in order (gemm_host.c) */
static void check_dot_order(void) {
  int64_t K = 2500;
  float *x = random_floats(K), *w = random_floats(K), c = 0;
  perft_gemm(GEMM_TRANSPOSE_B, 1, 1, K, P(x), P(w), P(&c));
  volatile float s0 = 0, s1 = 0, s2 = 0; /* volatile: each sum rounded to float as it is made */
  for (int64_t l = 0; l < 1024; l++) s0 = s0 + x[l] * w[l];
  for (int64_t l = 1024; l < 2048; l++) s1 = s1 + x[l] * w[l];
  for (int64_t l = 2048; l < K; l++) s2 = s2 + x[l] * w[l];
  volatile float total = s0 + s1;
  total = total + s2;
  CHECK(c == total);
  free(x), free(w);
}

/* 3 experts over R = 8 rows: [0, 3), [3, 3) (none), [3, 7); row 7 belongs to none */
static const int32_t offsets[4] = {0, 3, 3, 7};

static void check_grouped(int transpose_w) {
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
  CHECK(bad == 0);
  free(rows), free(bank), free(y);
}

static void check_grouped_grad_weight(int transpose_w) {
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
  CHECK(bad == 0);
  free(dy), free(rows), free(dbank);
}

/* after perft_gemm_offsets_ready, the grouped GEMMs read the copy made then (here the buffer is
 * overwritten behind its back, which dispatch never does, to see which one is read) */
static void check_offsets_ready(void) {
  int64_t E = 2, N = 1, K = 1;
  int32_t o[3] = {0, 1, 2};
  float rows[2] = {2, 3}, bank[2] = {10, 100}, y[2] = {0, 0};
  perft_gemm_offsets_ready(E, P(o));
  o[1] = 0; /* now expert 0 would have no rows */
  perft_grouped_gemm(GEMM_TRANSPOSE_B, E, N, K, P(rows), P(bank), P(o), P(y));
  CHECK(y[0] == 20 && y[1] == 300);
  perft_gemm_offsets_ready(E, P(o)); /* renewed: expert 1 has both rows */
  y[0] = y[1] = 0;
  perft_grouped_gemm(GEMM_TRANSPOSE_B, E, N, K, P(rows), P(bank), P(o), P(y));
  CHECK(y[0] == 200 && y[1] == 300);
}

int main(void) {
  for (int ta = 0; ta < 2; ta++)
    for (int tb = 0; tb < 2; tb++)
      for (int acc = 0; acc < 2; acc++) check_dense(ta, tb, acc);
  check_dense_f64();
  check_dot_order();
  for (int t = 0; t < 2; t++) check_grouped(t), check_grouped_grad_weight(t);
  check_offsets_ready();
  if (failures) printf("test_gemm: FAIL (%d checks)\n", failures);
  else printf("test_gemm: PASS\n");
  return failures != 0;
}
