/* matmul_kernels.c — see matmul_kernels.h. */
#include "matmul_kernels.h"

#define ADD(a, b) arith(k, "arith.addf", a, b)
#define MUL(a, b) arith(k, "arith.mulf", a, b)
#define C(v) index_const(k, v)
#define F(v) float_const(k, v)
#define FOR(var, lo, hi) Loop var = loop_begin(k, lo, hi, no_value)
#define END(var) loop_end(k, &var, no_value)

#ifndef BLOCK_ROWS
#define BLOCK_ROWS 4
#endif
#ifndef BLOCK_COLS
#define BLOCK_COLS 4
#endif

static int64_t dim(MlirValue memref, int i) { return mlirShapedTypeGetDimSize(mlirValueGetType(memref), i); }

static MlirValue load_weight(Kernel *k, Weights w, MlirValue i, MlirValue j) {
  return mlirValueIsNull(w.expert) ? LOAD(k, w.memref, i, j) : LOAD(k, w.memref, w.expert, i, j);
}

static void store_weight(Kernel *k, MlirValue v, Weights w, MlirValue i, MlirValue j) {
  if (mlirValueIsNull(w.expert)) STORE(k, v, w.memref, i, j);
  else STORE(k, v, w.memref, w.expert, i, j);
}

/* Σ_kk x[row, kk] · w[n, kk] for one (row, n). */
static MlirValue dot(Kernel *k, MlirValue x, Weights w, MlirValue row, MlirValue n, int64_t K) {
  Loop kk = loop_begin(k, C(0), C(K), F(0.0));
  return loop_end(k, &kk, ADD(kk.acc, MUL(LOAD(k, x, row, kk.iv), load_weight(k, w, n, kk.iv))));
}

static void put(Kernel *k, MlirValue sum, MlirValue out, MlirValue row, MlirValue n, int accumulate) {
  STORE(k, accumulate ? ADD(LOAD(k, out, row, n), sum) : sum, out, row, n);
}

/* A GEMM goes parallel only when it can hold at least k->parallel_min_work multiply-adds (all
 * rows of x times N times K): below it, starting and joining threads costs more than it saves. */
static int worth_parallel(Kernel *k, int64_t rows, int64_t N, int64_t K) {
  return k->parallel && rows * N * K >= k->parallel_min_work;
}

/* Starts the loop over blocks of weights: parallel across threads when worth it. */
static Loop weight_blocks_begin(Kernel *k, int64_t end, int64_t step, int parallel) {
  return parallel ? parallel_begin(k, C(0), C(end), step) : loop_begin_carrying(k, C(0), C(end), step, 0, NULL);
}

static void weight_blocks_end(Kernel *k, Loop *loop, int parallel) {
  if (parallel) parallel_end(k, loop);
  else loop_end_carrying(k, loop, NULL, NULL);
}

void matmul_dot_rows(Kernel *k, MlirValue x, Weights w, MlirValue first, MlirValue last, MlirValue out,
                     int accumulate) {
  int64_t N = dim(out, 1), K = dim(x, 1), N_blocked = N / BLOCK_COLS * BLOCK_COLS;
  MlirValue count = arith(k, "arith.subi", last, first);
  MlirValue blocked_end = arith(k, "arith.addi", first, arith(k, "arith.muli", arith(k, "arith.divui", count, C(BLOCK_ROWS)), C(BLOCK_ROWS)));

  /* Blocks of BLOCK_COLS weights are independent (each thread owns its output columns); a
   * block's weights stay in L1 while the rows stream past in register blocks. */
  if (N_blocked > 0) {
    enum { SUMS = BLOCK_ROWS * BLOCK_COLS };
    int parallel = worth_parallel(k, dim(x, 0), N, K);
    Loop n0 = weight_blocks_begin(k, N_blocked, BLOCK_COLS, parallel);
    MlirValue ns[BLOCK_COLS];
    for (int j = 0; j < BLOCK_COLS; j++) ns[j] = arith(k, "arith.addi", n0.iv, C(j));
    Loop row0 = loop_begin_carrying(k, first, blocked_end, BLOCK_ROWS, 0, NULL);
    MlirValue rows[BLOCK_ROWS], zeros[SUMS], next[SUMS], sums[SUMS];
    for (int i = 0; i < BLOCK_ROWS; i++) rows[i] = arith(k, "arith.addi", row0.iv, C(i));
    MlirValue zero = F(0.0);
    for (int i = 0; i < SUMS; i++) zeros[i] = zero;
    Loop kk = loop_begin_carrying(k, C(0), C(K), 1, SUMS, zeros);
    MlirValue xs[BLOCK_ROWS], ws[BLOCK_COLS];
    for (int i = 0; i < BLOCK_ROWS; i++) xs[i] = LOAD(k, x, rows[i], kk.iv);
    for (int j = 0; j < BLOCK_COLS; j++) ws[j] = load_weight(k, w, ns[j], kk.iv);
    for (int i = 0; i < BLOCK_ROWS; i++)
      for (int j = 0; j < BLOCK_COLS; j++) next[i * BLOCK_COLS + j] = ADD(kk.carried[i * BLOCK_COLS + j], MUL(xs[i], ws[j]));
    loop_end_carrying(k, &kk, next, sums);
    for (int i = 0; i < BLOCK_ROWS; i++)
      for (int j = 0; j < BLOCK_COLS; j++) put(k, sums[i * BLOCK_COLS + j], out, rows[i], ns[j], accumulate);
    loop_end_carrying(k, &row0, NULL, NULL);
    FOR(row, blocked_end, last); /* the last count % BLOCK_ROWS rows of this block of weights */
    for (int j = 0; j < BLOCK_COLS; j++) put(k, dot(k, x, w, row.iv, ns[j], K), out, row.iv, ns[j], accumulate);
    END(row);
    weight_blocks_end(k, &n0, parallel);
  }
  for (int64_t n = N_blocked; n < N; n++) { /* the last N % BLOCK_COLS weights, one at a time */
    FOR(row, first, last);
    put(k, dot(k, x, w, row.iv, C(n), K), out, row.iv, C(n), accumulate);
    END(row);
  }
}

void matmul_axpy_rows(Kernel *k, MlirValue x, Weights w, MlirValue first, MlirValue last, MlirValue out,
                      int accumulate) {
  int64_t N = dim(out, 1), K = dim(x, 1);
  int parallel = worth_parallel(k, dim(x, 0), N, K); /* rows are independent: one thread each */
  Loop row = parallel ? parallel_begin(k, first, last, 1) : loop_begin(k, first, last, no_value);
  if (!accumulate) {
    FOR(n, C(0), C(N));
    STORE(k, F(0.0), out, row.iv, n.iv);
    END(n);
  }
  FOR(kk, C(0), C(K));
  MlirValue a = LOAD(k, x, row.iv, kk.iv);
  FOR(n, C(0), C(N));
  STORE(k, ADD(LOAD(k, out, row.iv, n.iv), MUL(a, load_weight(k, w, kk.iv, n.iv))), out, row.iv, n.iv);
  END(n);
  END(kk);
  if (parallel) parallel_end(k, &row);
  else END(row);
}

void matmul_weight_gradient_rows(Kernel *k, MlirValue dy, MlirValue x, Weights dw, MlirValue first,
                                 MlirValue last, int transposed) {
  int64_t N = dim(dy, 1), K = dim(x, 1);
  /* The outer loop runs over the rows of dw, so threads never share an output row. */
  int64_t outer = transposed ? K : N, inner = transposed ? N : K;
  int parallel = worth_parallel(k, dim(x, 0), N, K);
  Loop o = parallel ? parallel_begin(k, C(0), C(outer), 1) : loop_begin(k, C(0), C(outer), no_value);
  FOR(row, first, last);
  /* not transposed: dw[n, :] += dy[row, n] · x[row, :];  transposed: dw[kk, :] += x[row, kk] · dy[row, :] */
  MlirValue scale = transposed ? LOAD(k, x, row.iv, o.iv) : LOAD(k, dy, row.iv, o.iv);
  FOR(i, C(0), C(inner));
  MlirValue v = transposed ? LOAD(k, dy, row.iv, i.iv) : LOAD(k, x, row.iv, i.iv);
  store_weight(k, ADD(load_weight(k, dw, o.iv, i.iv), MUL(scale, v)), dw, o.iv, i.iv);
  END(i);
  END(row);
  if (parallel) parallel_end(k, &o);
  else END(o);
}

int matmul_dense(Kernel *k, MlirValue a, MlirValue b, MlirValue c, int transpose_a, int transpose_b) {
  Weights w = {b, no_value};
  MlirValue M = C(dim(c, 0));
  if (!transpose_a && transpose_b) {
    matmul_dot_rows(k, a, w, C(0), M, c, 1);
  } else if (!transpose_a && !transpose_b) {
    matmul_axpy_rows(k, a, w, C(0), M, c, 1);
  } else if (transpose_a && !transpose_b) { /* c[i, :] += a[kk, i] · b[kk, :]: an outer product per kk */
    FOR(kk, C(0), C(dim(a, 0)));
    FOR(i, C(0), C(dim(c, 0)));
    MlirValue s = LOAD(k, a, kk.iv, i.iv);
    FOR(j, C(0), C(dim(c, 1)));
    STORE(k, ADD(LOAD(k, c, i.iv, j.iv), MUL(s, LOAD(k, b, kk.iv, j.iv))), c, i.iv, j.iv);
    END(j);
    END(i);
    END(kk);
  } else {
    return 0;
  }
  return 1;
}
