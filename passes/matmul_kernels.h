/* matmul_kernels.h — the loop nests of every GEMM perft emits, dense and grouped.
 *
 * Shapes: x[R,K] rows, weights w[N,K] ("dot form": out = x·wᵀ, both operands read
 * along K) or w[K,N] ("axpy form": out = x·w, read along N). A weight is a 2-D
 * matrix or expert e's slice of a 3-D bank. Both forms run register blocks of explicit
 * vectors (k->vector_bytes wide; scalar loops when it is 0):
 *   dot:  4 rows × 4 weights, 16 vector accumulators of partial sums along K, one vector.fma
 *         per pair per vector step; then a transposing shuffle tree folds the 16 into one
 *         vector of 16 totals (15 adds). The last K % lanes steps, rows past the end (clamped
 *         reads, guarded writes) and the last N % 4 weights go through the same block; a K
 *         shorter than the vector (a LoRA's rank) takes narrower vectors. Weights go in panels
 *         of DOT_PANEL (a thread's share), each chunk of K passing every block of the panel so
 *         the rows' chunk stays in L2.
 *   axpy: 4 rows × 4 vectors of output columns, a broadcast of x and one vector.fma per pair
 *         per step of K (each output sums kk in order); the last N % 64 columns in vectors of
 *         8, 4, 2, 1 lanes, the same FMA chain. A strip whose weight rows lie a multiple of
 *         4 KiB apart (they would share L1 sets) is packed per chunk into a stack buffer.
 * No reduction is left to LLVM's reassociating vectoriser, so a GEMM gives the same bits
 * wherever it is emitted: fused or not (tests/e2e/fusion_on_off.sh). Both forms walk K in
 * chunks (DOT_CHUNK, AXPY_CHUNK) so one block's weights stay cached while all the rows pass
 * over them. Measured by bench/gemm.sh (figures in bench/README.md: on a Zen 5 core, dot 67–75% of
 * the FMA peak, axpy 76–87%, OpenBLAS's best kernel 72–90%).
 */
#ifndef PERFT_MATMUL_KERNELS_H
#define PERFT_MATMUL_KERNELS_H

#include "loop_builder.h"

typedef struct {
  MlirValue memref;
  MlirValue expert; /* null for a 2-D matrix; else the index of the bank's slice */
  MlirValue perm;   /* axpy form only: null, or row kk is the token row perm[kk] / slots */
  int64_t slots;
  MlirValue row0, column0; /* axpy form only: null, or (row, column) is at (row - row0, column - column0) */
} Weights;

/* The left operand: row r is x[r, :] (x[:, r] when transposed); gathered, the token row
 * x[perm[r] / slots, :] of a routed row (perft-fuse-route: no copy of all the routed rows);
 * in a packed panel, x[r - offset, :] (perm then only counts the routed rows, for threading). */
typedef struct {
  MlirValue memref;
  int transposed;
  MlirValue perm; /* null: not gathered */
  int64_t slots;
  MlirValue offset; /* null: not a panel */
} RowSource;
static inline RowSource rows_of(MlirValue x) { return (RowSource){x, 0, {NULL}, 0, {NULL}}; }

/* Where the dot form puts the sum of (row, n): out[row, n]; combined (perft-fuse-route):
 * out[t, n] += w[t, s] · (sum · scale) with t, s = perm[row] / slots, perm[row] % slots,
 * slots = w's columns; with an addend (perft-fuse-epilogue): out[row, n] = addend[row, n] +
 * sum · scale. Scale 1: no product. Joined (perft-fuse-join), the sum is first
 *   sum + second_scale · Σ_j second_x[row, j] · second_w[n, j]
 * (a second dot product over the same row and weight index: an adapter's up-projection beside
 * its expert's W2; second_w is a bank's slice of the same expert). All of these take each sum
 * over all of K before it leaves. */
typedef struct {
  MlirValue memref;
  MlirValue perm, w; /* null: not combined */
  double scale;
  MlirValue addend;   /* null: none */
  MlirValue second_x; /* null: not joined */
  Weights second_w;
  double second_scale;
} Output;
static inline Output output_of(MlirValue out) { return (Output){.memref = out, .scale = 1.0}; }

/* Past this K, a dot-form block that takes each sum whole (combined, with an addend, or joined)
 * streams its weights ([4, K]) from L2 for every row block instead of keeping them in L1: the
 * fusions that need whole sums (perft-fuse-route's combine, -epilogue, -join) stop there, and a
 * separate pass over the GEMM's output is cheaper (Mixtral's W2, K = F = 3584: one step of
 * mixtral_s mode A 139 ms combined, 114 ms not). */
enum { WHOLE_SUM_MAX_K = 1024 };

/* The token t and slot s of routed row `row`: perm[row] = t · slots + s (s may be NULL). */
void matmul_row_origin(Kernel *k, MlirValue perm, MlirValue row, int64_t slots, MlirValue *t, MlirValue *s);
/* panel[row - first, :] = row `row` of x, for row in [first, last): the rows of one expert
 * gathered into a cache-resident panel. */
void matmul_pack_rows(Kernel *k, RowSource x, MlirValue first, MlirValue last, MlirValue panel);
/* out[row, n] (+)= Σ_kk x[row, kk] · w[n, kk]  for row in [first, last), n < N. */
void matmul_dot_rows(Kernel *k, RowSource x, Weights w, MlirValue first, MlirValue last, Output out, int accumulate);
/* out[row, n] (+)= Σ_kk x[row, kk] · w[kk, n]  for row in [first, last). */
void matmul_axpy_rows(Kernel *k, RowSource x, Weights w, MlirValue first, MlirValue last, MlirValue out,
                      int accumulate);
/* dw[n, kk] += Σ_row dy[row, n] · x[row, kk]  (transposed: dw[kk, n]) for row in [first, last). */
void matmul_weight_gradient_rows(Kernel *k, MlirValue dy, RowSource x, Weights dw, MlirValue first,
                                 MlirValue last, int transposed);
/* c += op(a) · op(b) for 2-D memrefs (linalg.matmul, _transpose_a, _transpose_b). */
int matmul_dense(Kernel *k, MlirValue a, MlirValue b, MlirValue c, int transpose_a, int transpose_b);

/* On a GPU (Kernel.gpu): the grouped GEMM out = rows · bank[e]ᵀ (transpose_w) or rows · bank[e] over
 * each expert e's rows [offsets[e], offsets[e+1]), and its weight gradient (matmul_kernels.c). */
void matmul_grouped_gpu(Kernel *k, RowSource rows, MlirValue bank, MlirValue offsets, Output y, int transpose_w);
void matmul_grouped_grad_weight_gpu(Kernel *k, MlirValue dy, RowSource rows, MlirValue offsets, MlirValue dbank,
                                    int transpose_w);

#endif
