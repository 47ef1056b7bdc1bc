/* gemm_checks.h — runtime/gemm.h's GEMMs against plain row-major sums in double, whichever backend
 * is linked: test_gemm.c (gemm_host.c) and tests/gpu/fake/test_gemm_cublas.c (gemm_cublas.c on a fake
 * cuBLAS). Each returns how many elements are wrong (printed on stderr); 0 when all are right. */
#ifndef PERFT_TESTS_GEMM_CHECKS_H
#define PERFT_TESTS_GEMM_CHECKS_H

#include <stdint.h>

/* 3 experts over R = 8 rows: [0, 3), [3, 3) (none), [3, 7); row 7 belongs to none */
extern const int32_t gemm_check_offsets[4];

float gemm_check_uniform(void); /* in [-1, 1), repeatable */
/* perft_gemm, row-major c[7,5] (+)= op(a)·op(b) */
int gemm_check_dense(int transpose_a, int transpose_b, int accumulate);
/* perft_gemm with GEMM_F64 */
int gemm_check_dense_f64(void);
/* perft_grouped_gemm over gemm_check_offsets; the row of no expert untouched */
int gemm_check_grouped(int transpose_w);
/* perft_grouped_gemm_grad_weight over gemm_check_offsets; the expert without rows gets zeros */
int gemm_check_grouped_grad_weight(int transpose_w);
/* GEMM_BF16_INPUTS: bf16 inputs, float output: perft_gemm x·wᵀ, then perft_grouped_gemm */
int gemm_check_bf16_inputs(void);
/* perft_attention_gemm's three forms: 2 sequences of 3 rows, 4 heads of 2 over 2 kv heads */
int gemm_check_attention(void);

#endif
