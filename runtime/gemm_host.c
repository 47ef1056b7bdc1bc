/* gemm_host.c — gemm.h's backend on the CPU: what cuda-host executables (the tests' run of the
 * CUDA target's code) link where a GPU executable calls cuBLAS.
 *
 * A column-major C = op(A)·op(B) (+ C), each element's sum in the order the generated GPU kernel
 * of the same op takes it (passes/matmul_kernels.c), so that a fusion that moves a GEMM between
 * the library and a generated kernel changes no bit here:
 *   both operands contiguous along the sum (A transposed, B not: the row-major x·wᵀ "dot form"):
 *     chunks of DOT_CHUNK products, each summed from zero, then added to each other, then to C;
 *   otherwise ("axpy form"): one running sum from C (accumulate) or zero.
 * Every product and sum is rounded as written: this file is compiled with -ffp-contract=off.
 * bf16 inputs (GEMM_BF16_INPUTS) are widened to float as they are read, as the kernels widen them.
 */
#include "gemm.h"

#include "bf16.h"

#include <string.h>

enum { DOT_CHUNK = 1024 }; /* as passes/matmul_kernels.c */

/* column_gemm_NAME: sums of T, inputs of type IN read as T by LOAD */
#define COLUMN_GEMM(NAME, T, IN, LOAD)                                                                     \
  static void column_gemm_##NAME(const ColumnGemm *g) {                                                  \
    const IN *A = g->a, *B = g->b;                                                                       \
    T *C = g->c;                                                                                         \
    for (int64_t j = 0; j < g->n; j++)                                                                   \
      for (int64_t i = 0; i < g->m; i++) {                                                               \
        T *c = &C[i + j * g->ldc];                                                                       \
        if (g->trans_a && !g->trans_b) { /* A(l, i) at A[l + i·lda], B(l, j) at B[l + j·ldb] */          \
          T total = 0;                                                                                   \
          for (int64_t l0 = 0; l0 < g->k; l0 += DOT_CHUNK) {                                             \
            int64_t l1 = l0 + DOT_CHUNK < g->k ? l0 + DOT_CHUNK : g->k;                                  \
            T s = 0;                                                                                     \
            for (int64_t l = l0; l < l1; l++) s = s + LOAD(A[l + i * g->lda]) * LOAD(B[l + j * g->ldb]); \
            total = l0 == 0 ? s : total + s;                                                             \
          }                                                                                              \
          *c = g->accumulate ? *c + total : (T)0 + total; /* 0 + : as onto a zero fill (-0 → +0) */     \
        } else {                                                                                         \
          T s = g->accumulate ? *c : 0;                                                                  \
          for (int64_t l = 0; l < g->k; l++) {                                                           \
            T a = LOAD(g->trans_a ? A[l + i * g->lda] : A[i + l * g->lda]);                              \
            T b = LOAD(g->trans_b ? B[j + l * g->ldb] : B[l + j * g->ldb]);                              \
            s = s + a * b;                                                                               \
          }                                                                                              \
          *c = s;                                                                                        \
        }                                                                                                \
      }                                                                                                  \
  }
#define AS_IS(x) (x)
COLUMN_GEMM(float, float, float, AS_IS)
COLUMN_GEMM(double, double, double, AS_IS)
COLUMN_GEMM(bf16, float, uint16_t, bf16_to_float)

void gemm_backend_run(const ColumnGemm *g) {
  if (g->f64) column_gemm_double(g);
  else if (g->bf16_inputs) column_gemm_bf16(g);
  else column_gemm_float(g);
}

void gemm_backend_run_group(const ColumnGemm *gemms, int64_t count) {
  for (int64_t i = 0; i < count; i++) gemm_backend_run(&gemms[i]);
}

void gemm_backend_start(void) {}

void gemm_backend_zero(void *c, size_t bytes) { memset(c, 0, bytes); }
