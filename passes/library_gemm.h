/* library_gemm.h — GEMMs as calls into the runtime's GEMM library (runtime/gemm.h), for Kernel.library
 * (the CUDA target: cuBLAS on the GPU; its plain-C reference under cuda-host).
 *
 * Each returns 1 when it emitted the call, 0 when the GEMM does not qualify (a bf16 weight, an
 * operand that is not a static identity-layout memref): the caller then emits its generated kernel. */
#ifndef PERFT_LIBRARY_GEMM_H
#define PERFT_LIBRARY_GEMM_H

#include "loop_builder.h"
#include "../runtime/gemm.h" /* the calls' flags (GEMM_*, ATTENTION_*): one definition for both sides */

/* linalg.matmul{,_transpose_a,_transpose_b} on buffers: c += op(a) · op(b), or with `overwrite`
 * c = op(a) · op(b) (perft-emit-kernels folds a zero fill of c just before into the GEMM so) */
int library_gemm_dense(Kernel *k, MlirValue a, MlirValue b, MlirValue c, int transpose_a, int transpose_b,
                       int overwrite);
/* Whether library_gemm_dense takes a GEMM of these operands (a, b inputs, c output). */
int library_gemm_dense_takes(MlirValue a, MlirValue b, MlirValue c);
/* perft.grouped_matmul on buffers (packed rows, plain output) */
int library_gemm_grouped(Kernel *k, MlirValue rows, MlirValue bank, MlirValue offsets, MlirValue y, int transpose_w);
/* perft.grouped_matmul_grad_weight on buffers (packed rows) */
int library_gemm_grouped_grad_weight(Kernel *k, MlirValue dy, MlirValue rows, MlirValue offsets, MlirValue dbank,
                                     int transpose_w);
/* perft-attention-gemms' GEMMs (attention_kernels.c) as perft_attention_gemm(form | f64, B, S, d, H, G,
 * x, y, out): a GEMM per (sequence, head); form is runtime/gemm.h's ATTENTION_* */
int library_gemm_attention(Kernel *k, int form, MlirValue x, MlirValue y, MlirValue out, int64_t B, int64_t S,
                           int64_t d, int64_t H, int64_t G);
/* after an op that makes expert offsets (perft-emit-kernels: each result named "offsets"):
 * call @perft_gemm_offsets_ready(E, offsets): the runtime keeps them once (one wait for the stream)
 * for every grouped GEMM that reads them */
void library_gemm_offsets_ready(Kernel *k, MlirValue offsets);

#endif
