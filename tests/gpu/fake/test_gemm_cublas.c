/* test_gemm_cublas.c: the GPU runtime's GEMM backend (runtime/gemm.c + gemm_cublas.c) and driver
 * start-up (cuda_driver.c) against fake_cuda.c and fake_cublas.c, which stand in for libcuda.so.1 and
 * libcublas.so.13 (LD_LIBRARY_PATH): every row-major GEMM form must reach cublasGemmEx as arguments
 * that, under cuBLAS's column-major contract, compute the row-major sums written here; grouped GEMMs
 * zero empty experts on the stream and wait for the stream only for offsets not announced; the
 * compute type is CUBLAS_COMPUTE_32F_FAST_16BF (tensor cores), or CUBLAS_COMPUTE_32F with
 * PERFT_GEMM_MATH=fp32 (run as `test_gemm_cublas fp32`); bf16 inputs go as CUDA_R_16BF with
 * CUBLAS_COMPUTE_32F. cuBLAS starts with its own 32 MiB workspace (cublasSetWorkspace). A group of GEMMs (the experts with rows; attention's (sequence, head)s, a round
 * a head of each kv group for the sums) is one cublasGemmGroupedBatchedEx, its pointers copied to
 * the device on the stream: `test_gemm_cublas separate` (PERFT_GEMM_GROUPED=0) and `test_gemm_cublas
 * refused` (a cuBLAS that answers CUBLAS_STATUS_NOT_SUPPORTED: FAKE_CUBLAS_NO_GROUPED=1) must compute
 * the same with a cublasGemmEx each. Errors are the ctest cases in tests/gpu/CMakeLists.txt (their
 * messages). Ends with "test_gemm_cublas: PASS" or "... FAIL (n checks)". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_counter.h"
#include "gemm.h"
#include "gemm_checks.h"

#include "test_check.h"

#define P(x) ((intptr_t)(x))

static int synchronizations(void) { return fake_counter("libcuda.so.1", "fake_cuda_synchronizations"); }
static int grouped_problems(void) { return fake_counter("libcublas.so.13", "fake_cublas_grouped_problems"); }
static int grouped_calls(void) { return fake_counter("libcublas.so.13", "fake_cublas_grouped_calls"); }
static int copies(void) { return fake_counter("libcuda.so.1", "fake_cuda_copies"); }

/* grouped: whether groups go to cublasGemmGroupedBatchedEx. The checks' groups: 2 experts with
 * rows (of 3), forward and backward; attention's 8 (sequence, head)s for the scores and the
 * products, and 2 rounds of 4 for the kv groups' sums */
static void check_groups(int grouped) {
  int problems = grouped_problems(), calls = grouped_calls(), copied = copies();
  for (int t = 0; t < 2; t++) {
    int before = grouped_problems();
    CHECK(gemm_check_grouped(t) == 0);
    CHECK(grouped_problems() - before == (grouped ? 2 : 0));
    CHECK(gemm_check_grouped_grad_weight(t) == 0);
    CHECK(grouped_problems() - before == (grouped ? 4 : 0));
  }
  int before = grouped_problems(), before_calls = grouped_calls();
  CHECK(gemm_check_attention() == 0);
  CHECK(grouped_problems() - before == (grouped ? 24 : 0));
  CHECK(grouped_calls() - before_calls == (grouped ? 4 : 0));
  CHECK(copies() - copied == (grouped ? grouped_calls() - calls : 0)); /* the pointers, once a call */
  if (!grouped) CHECK(grouped_problems() == problems);
}

/* announced offsets: one wait when announced, none in the GEMMs that read them */
static void check_announced(void) {
  int32_t o[3] = {0, 1, 2};
  float rows[2] = {2, 3}, bank[2] = {10, 100}, y[2] = {0, 0};
  int before = synchronizations();
  perft_gemm_offsets_ready(2, P(o));
  CHECK(synchronizations() == before + 1);
  perft_grouped_gemm(GEMM_TRANSPOSE_B, 2, 1, 1, P(rows), P(bank), P(o), P(y));
  perft_grouped_gemm(GEMM_TRANSPOSE_B, 2, 1, 1, P(rows), P(bank), P(o), P(y));
  CHECK(synchronizations() == before + 1);
  CHECK(y[0] == 20 && y[1] == 300);
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  int fp32 = !strcmp(mode, "fp32"), grouped = strcmp(mode, "separate") && strcmp(mode, "refused");
  gemm_backend_start(); /* at start-up: cuBLAS gets its workspace then, not during a step */
  CHECK(fake_counter("libcublas.so.13", "fake_cublas_workspace_bytes") == 32 << 20);
  for (int ta = 0; ta < 2; ta++)
    for (int tb = 0; tb < 2; tb++)
      for (int acc = 0; acc < 2; acc++) CHECK(gemm_check_dense(ta, tb, acc) == 0);
  CHECK(fake_counter("libcublas.so.13", "fake_cublas_last_compute_type") == (fp32 ? 68 : 75));
  CHECK(gemm_check_dense_f64() == 0);
  CHECK(fake_counter("libcublas.so.13", "fake_cublas_last_compute_type") == 70);
  CHECK(gemm_check_bf16_inputs() == 0); /* bf16 × bf16: CUBLAS_COMPUTE_32F whatever PERFT_GEMM_MATH says */
  CHECK(fake_counter("libcublas.so.13", "fake_cublas_last_compute_type") == 68);
  CHECK(gemm_check_attention() == 0); /* a GEMM per (sequence, head), leading dimensions of the heads' columns */
  check_groups(grouped);
  for (int t = 0; t < 2; t++) {
    int before = synchronizations();
    CHECK(gemm_check_grouped(t) == 0); /* offsets not announced: one wait each */
    CHECK(gemm_check_grouped_grad_weight(t) == 0);
    CHECK(synchronizations() == before + 2);
  }
  check_announced();
  if (failures) printf("test_gemm_cublas: FAIL (%d checks)\n", failures);
  else
    printf("test_gemm_cublas: PASS (%d cublasGemmEx calls, %d grouped calls of %d GEMMs)\n",
           fake_counter("libcublas.so.13", "fake_cublas_calls"), grouped_calls(), grouped_problems());
  return failures != 0;
}
