/* gemm.h — the GEMMs the CUDA target leaves to a library (cuBLAS on the GPU), and the one mapping
 * of them onto column-major BLAS calls (gemm.c), shared by both of its backends:
 *   gemm_cublas.c  (libperftrt_cuda.a) cuBLAS, loaded with dlopen: tensor cores, bf16 inputs
 *                  (down-converted by cuBLAS) and fp32 accumulation, on the program's one stream;
 *   gemm_host.c    (libperftrt.a, so cuda-host) a plain-C column-major GEMM that takes each sum in
 *                  the order the generated GPU kernel of the same op takes it, so a fusion that turns
 *                  library GEMMs into generated ones changes no bit on cuda-host.
 * The generated code (passes/library_gemm.c) calls the perft_* functions with the addresses of
 * row-major buffers; everything is row-major until gemm.c maps it. A call that is many GEMMs (an
 * expert's rows each, a (sequence, head) each) hands them to its backend as one group
 * (gemm_backend_run_group): on the GPU one cublasGemmGroupedBatchedEx, not one launch each.
 *
 * flags: GEMM_TRANSPOSE_A, GEMM_TRANSPOSE_B (the operand is stored transposed), GEMM_ACCUMULATE
 * (c += ..., else c = ...), GEMM_F64 (every operand double, else float), GEMM_BF16_INPUTS (the two
 * inputs bf16, the output float: a frozen bf16 weight and the bf16 copy of the other operand that
 * passes/bf16_gemm_inputs.c makes).
 */
#ifndef PERFT_RUNTIME_GEMM_H
#define PERFT_RUNTIME_GEMM_H

#include <stddef.h>
#include <stdint.h>

enum { GEMM_TRANSPOSE_A = 1, GEMM_TRANSPOSE_B = 2, GEMM_ACCUMULATE = 4, GEMM_F64 = 8, GEMM_BF16_INPUTS = 16 };
/* perft_attention_gemm's forms (in its flags, with GEMM_F64) */
enum { ATTENTION_SCORES = 32, ATTENTION_APPLY = 64, ATTENTION_APPLY_T = 128 };

/* c[M,N] (+)= op(a) · op(b): a [M,K] or, transposed, [K,M]; b [K,N] or, transposed, [N,K]. */
void perft_gemm(int64_t flags, int64_t M, int64_t N, int64_t K, intptr_t a, intptr_t b, intptr_t c);
/* For each expert e and each row r in [offsets[e], offsets[e+1]) (i32 offsets[E+1], read on the host
 * once the stream has reached this call): y[r, :] = rows[r, :] · bank[e]ᵀ (GEMM_TRANSPOSE_B, bank
 * [E,N,K]) or rows[r, :] · bank[e] (bank [E,K,N]). rows [R,K], y [R,N]; other rows of y untouched. */
void perft_grouped_gemm(int64_t flags, int64_t E, int64_t N, int64_t K, intptr_t rows, intptr_t bank,
                        intptr_t offsets, intptr_t y);
/* dbank[e] = Σ over e's rows r of dy[r, :]ᵀ rows[r, :] ([N,K], GEMM_TRANSPOSE_B) or rows[r, :]ᵀ dy[r, :]
 * ([K,N]); dy [R,N], rows [R,K], dbank [E,·,·]; an expert without rows gets zeros. */
void perft_grouped_gemm_grad_weight(int64_t flags, int64_t E, int64_t N, int64_t K, intptr_t dy, intptr_t rows,
                                    intptr_t offsets, intptr_t dbank);

/* Causal attention's GEMMs, one per (sequence, head), over B sequences of S rows; d the head size,
 * H the heads of the query side, G the key/value heads (head h reads kv head h / (H/G)):
 *   ATTENTION_SCORES  x [B·S, H·d], y [B·S, G·d] -> out [B·H, S, S]: out[b·H+h] = x_bh · y_bgᵀ
 *   ATTENTION_APPLY   x [B·H, S, S], y [B·S, G·d] -> out [B·S, H·d]: out_bh = x[b·H+h] · y_bg
 *   ATTENTION_APPLY_T x [B·H, S, S], y [B·S, H·d] -> out [B·S, G·d]: out_bg = Σ over g's heads of x[b·H+h]ᵀ · y_bh
 * where M_bh is rows b·S .. b·S+S−1, columns h·d .. h·d+d−1 of M. */
void perft_attention_gemm(int64_t flags, int64_t B, int64_t S, int64_t d, int64_t H, int64_t G, intptr_t x, intptr_t y,
                          intptr_t out);

/* The expert offsets (i32 [E+1]) an op has just made at `offsets`: the runtime waits for
 * the stream once here and keeps a copy by address, so the grouped GEMMs that read these offsets
 * (forward and backward) need no wait of their own. The generated code calls this after every op
 * that writes expert offsets (perft-emit-kernels: each op result named "offsets" in the op table);
 * a grouped GEMM whose offsets are not known here waits and reads them. */
void perft_gemm_offsets_ready(int64_t E, intptr_t offsets);

/* ---- the backends' side ---- */

/* One column-major BLAS GEMM: C[m,n] = op(A)·op(B) (+ C when accumulate), op(X) = Xᵀ when
 * trans_X; leading dimensions in elements. */
typedef struct {
  int trans_a, trans_b, accumulate, f64, bf16_inputs; /* bf16_inputs: A and B bf16 (uint16_t), C float */
  int64_t m, n, k;
  const void *a, *b;
  void *c;
  int64_t lda, ldb, ldc;
} ColumnGemm;

/* Starts the backend (cuBLAS: loads it, makes its handle and allocates its device memory) if it
 * has not started; the GPU runtime calls it at start-up, with the arena's allocation. */
void gemm_backend_start(void);
void gemm_backend_run(const ColumnGemm *g);
/* `count` column-major GEMMs with one element type and outputs that do not overlap, in any order:
 * one library call where the backend has one (cuBLAS's grouped GEMM), else each in turn. */
void gemm_backend_run_group(const ColumnGemm *gemms, int64_t count);
/* Sets `bytes` bytes at c to zero, in order with the GEMMs. */
void gemm_backend_zero(void *c, size_t bytes);

#endif
