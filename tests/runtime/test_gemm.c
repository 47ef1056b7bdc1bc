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
#include <string.h>

#include "gemm.h"
#include "gemm_checks.h"

/* data.c calls the generated program through launch_cpu.c; nothing here trains. */
void perft_forward(void **buffers);
void perft_forward(void **buffers) { (void)buffers; }
void perft_train_step(void **buffers);
void perft_train_step(void **buffers) { (void)buffers; }

#include "test_check.h"

#define P(x) ((intptr_t)(x))

static float *random_floats(int64_t n) {
  float *x = malloc((size_t)n * sizeof *x);
  for (int64_t i = 0; i < n; i++) x[i] = gemm_check_uniform();
  return x;
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

/* offsets that are not ranges (a compiler bug): the runtime stops with the expert and its rows */
static void bad_offsets(void) {
  int32_t o[3] = {0, 3, 2};
  float rows[3] = {0}, bank[2] = {0}, y[3] = {0};
  perft_grouped_gemm(GEMM_TRANSPOSE_B, 2, 1, 1, P(rows), P(bank), P(o), P(y));
}

/* more distinct offset buffers announced than the runtime keeps (a program has one per routing op) */
static void too_many_offsets(void) {
  static int32_t o[300][3];
  for (int i = 0; i < 300; i++) {
    o[i][1] = 1, o[i][2] = 2;
    perft_gemm_offsets_ready(2, P(o[i]));
  }
}

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "bad_offsets")) bad_offsets(); /* exits: runtime_gemm_bad_offsets */
  if (argc > 1 && !strcmp(argv[1], "too_many_offsets")) too_many_offsets(); /* exits */
  for (int ta = 0; ta < 2; ta++)
    for (int tb = 0; tb < 2; tb++)
      for (int acc = 0; acc < 2; acc++) CHECK(gemm_check_dense(ta, tb, acc) == 0);
  CHECK(gemm_check_dense_f64() == 0);
  CHECK(gemm_check_bf16_inputs() == 0);
  CHECK(gemm_check_attention() == 0);
  check_dot_order();
  for (int t = 0; t < 2; t++) {
    CHECK(gemm_check_grouped(t) == 0);
    CHECK(gemm_check_grouped_grad_weight(t) == 0);
  }
  check_offsets_ready();
  if (failures) printf("test_gemm: FAIL (%d checks)\n", failures);
  else printf("test_gemm: PASS\n");
  return failures != 0;
}
