/* matmul_kernels.c — see matmul_kernels.h. */
#include "matmul_kernels.h"

#include <stdio.h>

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

/* A vector of `vector`'s type from memref; a bf16 memref (a frozen weight) is loaded as bf16 lanes
 * and widened (widening as it is read: no f32 copy of the weight is kept). */
static MlirValue vector_load(Kernel *k, MlirType vector, MlirValue memref, int n, const MlirValue *indices) {
  MlirValue operands[8] = {memref};
  for (int i = 0; i < n; i++) operands[1 + i] = indices[i];
  MlirType element = mlirShapedTypeGetElementType(mlirValueGetType(memref));
  if (!mlirTypeIsABF16(element)) return build_value(&k->b, "vector.load", 1 + n, operands, vector, 0, NULL);
  int64_t lanes = mlirShapedTypeGetDimSize(vector, 0);
  MlirValue narrow = build_value(&k->b, "vector.load", 1 + n, operands, mlirVectorTypeGet(1, &lanes, element), 0, NULL);
  return build_value(&k->b, "arith.extf", 1, &narrow, vector, 0, NULL);
}

static void vector_store(Kernel *k, MlirValue value, MlirValue memref, int n, const MlirValue *indices) {
  MlirValue operands[8] = {value, memref};
  for (int i = 0; i < n; i++) operands[2 + i] = indices[i];
  build_op(&k->b, "vector.store", 2 + n, operands, 0, NULL, 0, NULL);
}

static MlirValue weight_vector(Kernel *k, MlirType vector, Weights w, MlirValue i, MlirValue j) {
  if (!mlirValueIsNull(w.row0)) i = arith(k, "arith.subi", i, w.row0);
  if (!mlirValueIsNull(w.column0)) j = arith(k, "arith.subi", j, w.column0);
  if (mlirValueIsNull(w.expert)) return vector_load(k, vector, w.memref, 2, (MlirValue[]){i, j});
  return vector_load(k, vector, w.memref, 3, (MlirValue[]){w.expert, i, j});
}

void matmul_row_origin(Kernel *k, MlirValue perm, MlirValue row, int64_t slots, MlirValue *t, MlirValue *s) {
  MlirValue flat = to_index(k, LOAD(k, perm, row));
  *t = arith(k, "arith.divui", flat, C(slots));
  if (s) *s = arith(k, "arith.remui", flat, C(slots));
}

/* Row kk of a gathered operand is its token's row; otherwise kk. */
static MlirValue gathered_row(Kernel *k, MlirValue perm, int64_t slots, MlirValue kk) {
  if (mlirValueIsNull(perm)) return kk;
  MlirValue t;
  matmul_row_origin(k, perm, kk, slots, &t, NULL);
  return t;
}

/* The row of x.memref that row r reads: r - offset in a packed panel, else r or, gathered, its token's. */
static MlirValue source_row(Kernel *k, RowSource x, MlirValue r) {
  if (!mlirValueIsNull(x.offset)) return arith(k, "arith.subi", r, x.offset);
  return gathered_row(k, x.perm, x.slots, r);
}

/* How many rows the GEMM reads (the routed rows when gathered). */
static int64_t source_rows(RowSource x) {
  return mlirValueIsNull(x.perm) ? dim(x.memref, x.transposed ? 1 : 0) : dim(x.perm, 0);
}

void matmul_pack_rows(Kernel *k, RowSource x, MlirValue first, MlirValue last, MlirValue panel) {
  Loop row = loop_begin(k, first, last, no_value);
  MlirValue from = source_row(k, x, row.iv), to = arith(k, "arith.subi", row.iv, first);
  Loop kk = loop_begin(k, C(0), C(dim(x.memref, 1)), no_value);
  STORE(k, LOAD(k, x.memref, from, kk.iv), panel, to, kk.iv);
  loop_end(k, &kk, no_value);
  loop_end(k, &row, no_value);
}

static int is_combined(Output out) { return !mlirValueIsNull(out.perm); }
/* combined or with an addend: each sum is needed whole before it is put */
static int is_joined(Output out) { return !mlirValueIsNull(out.second_x); }
static int puts_whole_sums(Output out) { return is_combined(out) || !mlirValueIsNull(out.addend) || is_joined(out); }

/* One row's sums (of the weights ns) to out[row, n] (or += when accumulating); combined:
 * out[t, n] += w[t, s] · sum, in the order and rounding of the unfused combine
 * (cpu_kernels.c weighted_rows), the row's token and weight read once. */
static void put_row(Kernel *k, const MlirValue *sums, int columns, Output out, MlirValue row, const MlirValue *ns,
                    int accumulate) {
  if (is_combined(out)) {
    MlirValue t, s;
    matmul_row_origin(k, out.perm, row, dim(out.w, 1), &t, &s);
    MlirValue weight = LOAD(k, out.w, t, s);
    k->strict = 1; /* rounded as the unfused scale and combine round it: no contraction into an FMA */
    for (int j = 0; j < columns; j++) {
      MlirValue value = out.scale == 1.0 ? sums[j] : MUL(sums[j], F(out.scale));
      STORE(k, ADD(LOAD(k, out.memref, t, ns[j]), MUL(weight, value)), out.memref, t, ns[j]);
    }
    k->strict = 0;
    return;
  }
  if (!mlirValueIsNull(out.addend)) {
    k->strict = 1; /* rounded as the unfused scale and add round it */
    for (int j = 0; j < columns; j++) {
      MlirValue value = out.scale == 1.0 ? sums[j] : MUL(sums[j], F(out.scale));
      STORE(k, ADD(LOAD(k, out.addend, row, ns[j]), value), out.memref, row, ns[j]);
    }
    k->strict = 0;
    return;
  }
  for (int j = 0; j < columns; j++)
    STORE(k, accumulate ? ADD(LOAD(k, out.memref, row, ns[j]), sums[j]) : sums[j], out.memref, row, ns[j]);
}

/* A GEMM goes parallel only when it can hold at least k->parallel_min_work multiply-adds (all
 * rows of x times N times K): below it, starting and joining threads costs more than it saves. */
static int worth_parallel(Kernel *k, int64_t rows, int64_t N, int64_t K) {
  return k->gpu || (k->parallel && rows * N * K >= k->parallel_min_work);
}


enum { SUMS = BLOCK_ROWS * BLOCK_COLS };

/* ---- the dot form's register block in explicit vectors ----
 * SUMS vector accumulators (row i × weight j: lanes partial sums each) take one vector.fma per
 * pair per `lanes` steps of K; then a transposing tree folds every `lanes` accumulators into one
 * vector of their totals (log2(lanes) levels of shuffle + add: 15 adds for 16 accumulators of 16
 * lanes, where reducing each alone takes 60). No reassociation is left to LLVM: the numbers are
 * the same wherever the block is emitted. */
static MlirValue shuffle(Kernel *k, MlirValue a, MlirValue b, const int64_t *mask, int64_t n) {
  char text[1024];
  int used = snprintf(text, sizeof text, "["); /* MLIR 19: an array of i64, not array<i64: ...> */
  for (int64_t i = 0; i < n; i++) used += snprintf(text + used, sizeof text - (size_t)used, "%s%lld", i ? ", " : "", (long long)mask[i]);
  snprintf(text + used, sizeof text - (size_t)used, "]");
  MlirNamedAttribute attribute = named_attribute(k->b.context, "mask", parse_attribute(k->b.context, text));
  MlirValue operands[2] = {a, b};
  return build_value(&k->b, "vector.shuffle", 2, operands, mlirValueGetType(a), 1, &attribute);
}

/* u, v: vectors of `lanes` lanes in segments of 2h partial sums, one segment per accumulator;
 * returns segments of h: u's accumulators, then v's. */
static MlirValue fold_pair(Kernel *k, MlirValue u, MlirValue v, int64_t lanes, int64_t h) {
  int64_t lo[64], hi[64], n = 0;
  for (int side = 0; side < 2; side++)
    for (int64_t segment = 0; segment < lanes / (2 * h); segment++)
      for (int64_t i = 0; i < h; i++, n++) {
        lo[n] = side * lanes + segment * 2 * h + i;
        hi[n] = lo[n] + h;
      }
  return arith(k, "arith.addf", shuffle(k, u, v, lo, n), shuffle(k, u, v, hi, n));
}

static void vector_block_sums(Kernel *k, int64_t lanes, MlirValue x, Weights w, const MlirValue *x_rows,
                              const MlirValue *ns, MlirValue k_begin, MlirValue k_end, MlirValue *sums,
                              MlirValue *vector_end) {
  MlirType vector = mlirVectorTypeGet(1, &lanes, k->f);
  MlirNamedAttribute zero_value = named_attribute(k->b.context, "value", mlirTypeIsAF32(k->f)
      ? mlirDenseElementsAttrFloatSplatGet(vector, 0.0f) : mlirDenseElementsAttrDoubleSplatGet(vector, 0.0));
  MlirValue zero = build_value(&k->b, "arith.constant", 0, NULL, vector, 1, &zero_value), zeros[SUMS], next[SUMS];
  for (int m = 0; m < SUMS; m++) zeros[m] = zero;
  MlirValue count = arith(k, "arith.subi", k_end, k_begin);
  *vector_end = arith(k, "arith.addi", k_begin, arith(k, "arith.muli", arith(k, "arith.divui", count, C(lanes)), C(lanes)));
  Loop kk = loop_begin_carrying(k, k_begin, *vector_end, lanes, SUMS, zeros);
  MlirValue xs[BLOCK_ROWS], ws[BLOCK_COLS];
  for (int i = 0; i < BLOCK_ROWS; i++) xs[i] = vector_load(k, vector, x, 2, (MlirValue[]){x_rows[i], kk.iv});
  for (int j = 0; j < BLOCK_COLS; j++) ws[j] = weight_vector(k, vector, w, ns[j], kk.iv);
  for (int i = 0; i < BLOCK_ROWS; i++)
    for (int j = 0; j < BLOCK_COLS; j++) {
      MlirValue fma[3] = {xs[i], ws[j], kk.carried[i * BLOCK_COLS + j]};
      next[i * BLOCK_COLS + j] = build_value(&k->b, "vector.fma", 3, fma, vector, 0, NULL);
    }
  MlirValue acc[SUMS];
  loop_end_carrying(k, &kk, next, acc);
  int strict = k->strict;
  k->strict = 1;
  for (int group = 0; group < SUMS / lanes; group++) { /* lanes accumulators -> one vector of totals */
    MlirValue level[64];
    for (int64_t m = 0; m < lanes; m++) level[m] = acc[group * lanes + m];
    int64_t n = lanes;
    for (int64_t h = lanes / 2; h >= 1; h /= 2, n /= 2)
      for (int64_t p = 0; p < n / 2; p++) level[p] = fold_pair(k, level[2 * p], level[2 * p + 1], lanes, h);
    for (int64_t m = 0; m < lanes; m++) {
      char text[32];
      snprintf(text, sizeof text, "array<i64: %lld>", (long long)m);
      MlirNamedAttribute position = named_attribute(k->b.context, "static_position", parse_attribute(k->b.context, text));
      sums[group * lanes + m] = build_value(&k->b, "vector.extract", 1, &level[0], k->f, 1, &position);
    }
  }
  k->strict = strict;
}

/* The SUMS sums of one register block (rows × ns) over kk in [k_begin, k_end), from zero. */
static void block_sums(Kernel *k, MlirValue x, Weights w, const MlirValue *x_rows, const MlirValue *ns,
                       MlirValue k_begin, MlirValue k_end, MlirValue *sums) {
  int64_t lanes = k->vector_bytes / (mlirTypeIsAF64(k->f) ? 8 : 4);
  while (lanes > 2 && lanes > dim(x, 1)) lanes /= 2; /* a short K (a LoRA's rank) in narrower vectors */
  MlirValue start = k_begin;
  if (lanes >= 2 && SUMS % lanes == 0) {
    vector_block_sums(k, lanes, x, w, x_rows, ns, k_begin, k_end, sums, &start);
  } else {
    MlirValue zero = F(0.0);
    for (int i = 0; i < SUMS; i++) sums[i] = zero;
  }
  /* what the vectors left (or everything, without vectors): one step of K at a time, exactly */
  MlirValue next[SUMS];
  int strict = k->strict;
  k->strict = 1;
  Loop kk = loop_begin_carrying(k, start, k_end, 1, SUMS, sums);
  MlirValue xs[BLOCK_ROWS], ws[BLOCK_COLS];
  for (int i = 0; i < BLOCK_ROWS; i++) xs[i] = LOAD(k, x, x_rows[i], kk.iv);
  for (int j = 0; j < BLOCK_COLS; j++) ws[j] = load_weight(k, w, ns[j], kk.iv);
  for (int i = 0; i < BLOCK_ROWS; i++)
    for (int j = 0; j < BLOCK_COLS; j++) next[i * BLOCK_COLS + j] = ADD(kk.carried[i * BLOCK_COLS + j], MUL(xs[i], ws[j]));
  loop_end_carrying(k, &kk, next, sums);
  k->strict = strict;
}

/* Steps of K per pass over the rows in the dot form: a block's BLOCK_COLS weight rows (16 KiB
 * at 1024 fp32) stay in L1 while the row blocks stream past. Each chunk adds its sums to out. */
#ifndef DOT_CHUNK
#define DOT_CHUNK 1024
#endif

/* The sums of one register block over all of K, chunk by chunk: the first chunk's sums, then
 * each later chunk's added to them, as the chunked passes of dot_columns add them to out.
 * A combined output needs a row's whole sum before weighting it. */
static void whole_sums(Kernel *k, MlirValue x, Weights w, const MlirValue *x_rows, const MlirValue *ns, int64_t K,
                       MlirValue *sums) {
  int64_t first_chunk = K < DOT_CHUNK ? K : DOT_CHUNK;
  block_sums(k, x, w, x_rows, ns, C(0), C(first_chunk), sums);
  if (first_chunk == K) return;
  Loop kc = loop_begin_carrying(k, C(first_chunk), C(K), DOT_CHUNK, SUMS, sums);
  MlirValue k_end = arith(k, "arith.minsi", arith(k, "arith.addi", kc.iv, C(DOT_CHUNK)), C(K)), chunk[SUMS], next[SUMS];
  block_sums(k, x, w, x_rows, ns, kc.iv, k_end, chunk);
  for (int j = 0; j < SUMS; j++) next[j] = ADD(kc.carried[j], chunk[j]);
  loop_end_carrying(k, &kc, next, sums);
}

/* One register block: rows row0 + i × the first `columns` weights of ns. In the last block
 * of a range (guarded) rows past `last` read row last - 1 and put nothing, so every sum of
 * every row comes from the same loop, whatever the row count (fusion must not change a bit).
 * whole: over all of K (combined outputs); else over [k_begin, k_end). */
static void dot_block(Kernel *k, RowSource x, Weights w, MlirValue row0, MlirValue last, int guarded, const MlirValue *ns,
                      int columns, int whole, MlirValue k_begin, MlirValue k_end, Output out, int accumulate) {
  MlirValue rows[BLOCK_ROWS], x_rows[BLOCK_ROWS], sums[SUMS], last_row = arith(k, "arith.subi", last, C(1));
  for (int i = 0; i < BLOCK_ROWS; i++) {
    rows[i] = arith(k, "arith.addi", row0, C(i));
    x_rows[i] = source_row(k, x, guarded ? arith(k, "arith.minsi", rows[i], last_row) : rows[i]);
  }
  if (whole) whole_sums(k, x.memref, w, x_rows, ns, dim(x.memref, 1), sums);
  else block_sums(k, x.memref, w, x_rows, ns, k_begin, k_end, sums);
  if (is_joined(out)) { /* the second dot product of the same rows and weights, scaled and added */
    MlirValue second_rows[BLOCK_ROWS], second[SUMS];
    for (int i = 0; i < BLOCK_ROWS; i++)
      second_rows[i] = guarded ? arith(k, "arith.minsi", rows[i], last_row) : rows[i];
    whole_sums(k, out.second_x, out.second_w, second_rows, ns, dim(out.second_x, 1), second);
    int strict = k->strict;
    k->strict = 1; /* rounded as the unfused scale and add round it */
    for (int j = 0; j < SUMS; j++)
      sums[j] = ADD(sums[j], out.second_scale == 1.0 ? second[j] : MUL(second[j], F(out.second_scale)));
    k->strict = strict;
  }
  for (int i = 0; i < BLOCK_ROWS; i++) {
    Loop inside = {0};
    if (guarded && i > 0) inside = if_begin(k, compare_index(k, "slt", rows[i], last));
    put_row(k, sums + i * BLOCK_COLS, columns, out, rows[i], ns, accumulate);
    if (guarded && i > 0) if_end(k, &inside);
  }
}

/* Every row of [first, last) against one block of weights, over kk in [k_begin, k_end). */
static void dot_rows_pass(Kernel *k, RowSource x, Weights w, const MlirValue *ns, int columns, MlirValue first,
                          MlirValue blocked_end, MlirValue last, int whole, MlirValue k_begin, MlirValue k_end,
                          Output out, int accumulate) {
  Loop row0 = loop_begin_carrying(k, first, blocked_end, BLOCK_ROWS, 0, NULL);
  dot_block(k, x, w, row0.iv, last, 0, ns, columns, whole, k_begin, k_end, out, accumulate);
  loop_end_carrying(k, &row0, NULL, NULL);
  Loop tail = if_begin(k, compare_index(k, "slt", blocked_end, last)); /* the last count % BLOCK_ROWS rows */
  dot_block(k, x, w, blocked_end, last, 1, ns, columns, whole, k_begin, k_end, out, accumulate);
  if_end(k, &tail);
}

/* Weights per panel in the dot form: a thread takes whole panels; within one, each chunk of K
 * passes every block of the panel over the rows, so the rows' chunk (rows × DOT_CHUNK floats)
 * stays in L2 for all of the panel's blocks instead of streaming in again for each block. */
#ifndef DOT_PANEL
#define DOT_PANEL 64
#endif

/* The blocks of weights [n_begin, n_end) (step BLOCK_COLS; `columns` real weights in each, the
 * others repeat the last) against every row: a combined output block by block over all of K;
 * else chunk by chunk of K, every block within a chunk. */
static void dot_columns(Kernel *k, RowSource x, Weights w, MlirValue n_begin, MlirValue n_end, int columns,
                        MlirValue first, MlirValue blocked_end, MlirValue last, Output out, int accumulate) {
  int64_t K = dim(x.memref, 1), first_chunk = K < DOT_CHUNK ? K : DOT_CHUNK;
  int whole = puts_whole_sums(out);
  MlirValue ns[BLOCK_COLS];
  for (int chunk = 0; chunk < 2; chunk++) { /* the first chunk (or all of K), then the others */
    if (chunk == 1 && (whole || first_chunk == K)) return;
    Loop kc = {0};
    MlirValue k_begin = C(0), k_end = C(first_chunk);
    if (chunk == 1) {
      kc = loop_begin_carrying(k, C(first_chunk), C(K), DOT_CHUNK, 0, NULL);
      k_begin = kc.iv;
      k_end = arith(k, "arith.minsi", arith(k, "arith.addi", kc.iv, C(DOT_CHUNK)), C(K));
    }
    Loop n0 = loop_begin_carrying(k, n_begin, n_end, BLOCK_COLS, 0, NULL);
    for (int j = 0; j < BLOCK_COLS; j++) ns[j] = arith(k, "arith.addi", n0.iv, C(j < columns ? j : columns - 1));
    if (whole)
      dot_rows_pass(k, x, w, ns, columns, first, blocked_end, last, 1, no_value, no_value, out, 0);
    else
      dot_rows_pass(k, x, w, ns, columns, first, blocked_end, last, 0, k_begin, k_end, out, chunk ? 1 : accumulate);
    loop_end_carrying(k, &n0, NULL, NULL);
    if (chunk == 1) loop_end_carrying(k, &kc, NULL, NULL);
  }
}

/* On a GPU: a block of BLOCK_COLS weights a GPU block, its register blocks of BLOCK_ROWS rows the
 * block's threads (perft-gpu-launch maps the nested scf.parallel so); each register block over
 * all of K (whole sums, as a combined output needs). A combined output adds several routed rows
 * into one token's row, so there the rows stay on one thread. */
static void dot_rows_gpu(Kernel *k, RowSource x, Weights w, MlirValue first, MlirValue last, Output out,
                         int accumulate) {
  int64_t N = dim(out.memref, 1), N_blocked = N / BLOCK_COLS * BLOCK_COLS;
  MlirValue ns[BLOCK_COLS];
  for (int part = 0; part < 2; part++) { /* the blocks of BLOCK_COLS weights, then the last N % BLOCK_COLS */
    int columns = part == 0 ? BLOCK_COLS : (int)(N - N_blocked);
    if (part == 0 ? N_blocked == 0 : columns == 0) continue;
    Loop n0 = part == 0 ? parallel_begin(k, C(0), C(N_blocked), BLOCK_COLS) : parallel_begin(k, C(N_blocked), C(N_blocked + 1), 1);
    for (int j = 0; j < BLOCK_COLS; j++) ns[j] = arith(k, "arith.addi", n0.iv, C(j < columns ? j : columns - 1));
    if (is_combined(out)) {
      MlirValue count = arith(k, "arith.subi", last, first);
      MlirValue blocked_end =
          arith(k, "arith.addi", first, arith(k, "arith.muli", arith(k, "arith.divui", count, C(BLOCK_ROWS)), C(BLOCK_ROWS)));
      dot_rows_pass(k, x, w, ns, columns, first, blocked_end, last, 1, no_value, no_value, out, accumulate);
    } else {
      Loop row0 = parallel_begin(k, first, last, BLOCK_ROWS); /* every block guarded: the same loop for each row */
      dot_block(k, x, w, row0.iv, last, 1, ns, columns, 1, no_value, no_value, out, accumulate);
      parallel_end(k, &row0);
    }
    parallel_end(k, &n0);
  }
}

void matmul_dot_rows(Kernel *k, RowSource x, Weights w, MlirValue first, MlirValue last, Output out, int accumulate) {
  if (k->gpu) {
    dot_rows_gpu(k, x, w, first, last, out, accumulate);
    return;
  }
  int64_t N = dim(out.memref, 1), K = dim(x.memref, 1), N_blocked = N / BLOCK_COLS * BLOCK_COLS;
  MlirValue count = arith(k, "arith.subi", last, first);
  MlirValue blocked_end = arith(k, "arith.addi", first, arith(k, "arith.muli", arith(k, "arith.divui", count, C(BLOCK_ROWS)), C(BLOCK_ROWS)));
  /* Panels of weights are independent (each thread owns its output columns, also when
   * combined: a token's column n is written by the thread that owns n). */
  if (N_blocked > 0) {
    int parallel = worth_parallel(k, source_rows(x), N, K);
    int64_t panel = k->gpu ? BLOCK_COLS : DOT_PANEL; /* a GPU thread: one register block's columns */
    if (!k->gpu && parallel && N_blocked < 2 * DOT_PANEL) /* at least two panels for two threads */
      panel = (N_blocked / 2 + BLOCK_COLS - 1) / BLOCK_COLS * BLOCK_COLS;
    if (panel < BLOCK_COLS) panel = BLOCK_COLS;
    Loop p = parallel_or_serial_begin(k, C(0), C(N_blocked), panel, parallel);
    MlirValue p_end = arith(k, "arith.minsi", arith(k, "arith.addi", p.iv, C(panel)), C(N_blocked));
    dot_columns(k, x, w, p.iv, p_end, BLOCK_COLS, first, blocked_end, last, out, accumulate);
    parallel_or_serial_end(k, &p);
  }
  if (N_blocked < N) /* the last N % BLOCK_COLS weights */
    dot_columns(k, x, w, C(N_blocked), C(N_blocked + 1), (int)(N - N_blocked), first, blocked_end, last, out, accumulate);
}

/* ---- the axpy form: out[row, :] (+)= Σ_kk x[row, kk] · w[kk, :] ----
 * A register block is AXPY_ROWS rows × `vectors` (up to AXPY_VECTORS) vectors of output
 * columns: per step of K it loads `vectors` vectors of one weight row and broadcasts AXPY_ROWS
 * scalars of x, for AXPY_ROWS × vectors fused multiply-adds. A vector is k->vector_bytes wide
 * (the target's). Each output sums over kk in order, one FMA per step. The same blocks compute
 * weight gradients, dW = Σ_rows dyᵀ·x, with the rows of one expert as K. */
enum { AXPY_ROWS = 4, AXPY_VECTORS = 4 };

/* x[x_row, kk], or x[kk', x_row] when transposed (kk' the gathered row of kk). */
static MlirValue row_element(Kernel *k, RowSource x, MlirValue x_row, MlirValue kk) {
  return x.transposed ? LOAD(k, x.memref, gathered_row(k, x.perm, x.slots, kk), x_row) : LOAD(k, x.memref, x_row, kk);
}

static void store_vector_at(Kernel *k, MlirValue value, Weights m, MlirValue i, MlirValue j) {
  if (mlirValueIsNull(m.expert)) vector_store(k, value, m.memref, 2, (MlirValue[]){i, j});
  else vector_store(k, value, m.memref, 3, (MlirValue[]){m.expert, i, j});
}

/* One register block: rows [row0, row0 + rows) × columns [n0, n0 + vectors · lanes),
 * summing kk over [k_begin, k_end). */
static void axpy_block(Kernel *k, MlirType vector, int64_t lanes, int vectors, RowSource x, MlirValue k_begin,
                       MlirValue k_end, Weights w, MlirValue row0, int rows, MlirValue n0, Weights out, int accumulate) {
  MlirValue r[AXPY_ROWS], n[AXPY_VECTORS], inits[AXPY_ROWS * AXPY_VECTORS], sums[AXPY_ROWS * AXPY_VECTORS];
  MlirValue x_rows[AXPY_ROWS];
  for (int i = 0; i < rows; i++) {
    r[i] = arith(k, "arith.addi", row0, C(i));
    x_rows[i] = x.transposed ? r[i] : source_row(k, x, r[i]);
  }
  for (int j = 0; j < vectors; j++) n[j] = arith(k, "arith.addi", n0, C(j * lanes));
  MlirNamedAttribute zero_value =
      named_attribute(k->b.context, "value", mlirDenseElementsAttrDoubleSplatGet(vector, 0.0));
  if (mlirTypeIsAF32(k->f)) zero_value.attribute = mlirDenseElementsAttrFloatSplatGet(vector, 0.0f);
  MlirValue zero = accumulate ? no_value : build_value(&k->b, "arith.constant", 0, NULL, vector, 1, &zero_value);
  for (int i = 0; i < rows; i++)
    for (int j = 0; j < vectors; j++)
      inits[i * vectors + j] = accumulate ? weight_vector(k, vector, out, r[i], n[j]) : zero;
  Loop kk = loop_begin_carrying(k, k_begin, k_end, 1, rows * vectors, inits);
  MlirValue ws[AXPY_VECTORS], next[AXPY_ROWS * AXPY_VECTORS];
  MlirValue w_row = gathered_row(k, w.perm, w.slots, kk.iv);
  MlirValue x_kk = x.transposed ? gathered_row(k, x.perm, x.slots, kk.iv) : kk.iv;
  for (int j = 0; j < vectors; j++) ws[j] = weight_vector(k, vector, w, w_row, n[j]);
  for (int i = 0; i < rows; i++) {
    MlirValue scalar = x.transposed ? LOAD(k, x.memref, x_kk, x_rows[i]) : LOAD(k, x.memref, x_rows[i], x_kk);
    MlirValue a = build_value(&k->b, "vector.broadcast", 1, &scalar, vector, 0, NULL);
    for (int j = 0; j < vectors; j++) {
      MlirValue fma[3] = {a, ws[j], kk.carried[i * vectors + j]};
      next[i * vectors + j] = build_value(&k->b, "vector.fma", 3, fma, vector, 0, NULL);
    }
  }
  loop_end_carrying(k, &kk, next, sums);
  for (int i = 0; i < rows; i++)
    for (int j = 0; j < vectors; j++) store_vector_at(k, sums[i * vectors + j], out, r[i], n[j]);
}

/* Whether consecutive rows of w lie a multiple of 4 KiB apart (widths of 1024, 2048, 3072 fp32):
 * then one strip's rows all fall on the same few L1 sets (the L1s of Zen 4/5 and recent Xeons
 * repeat every 4 KiB), and the strip does not stay cached while the row blocks pass over it
 * (bench/gemm.sh, Zen 5, 128 rows, K 1024: 88% of the peak at N = 768, 65% at 1024, 84% at 1536,
 * 61% at 3072). Such strips are packed, chunk by chunk, into a contiguous stack buffer. */
static int rows_alias(Kernel *k, Weights w) {
  MlirType type = mlirValueGetType(w.memref);
  int64_t row_bytes = mlirShapedTypeGetDimSize(type, mlirShapedTypeGetRank(type) - 1) * (mlirTypeIsAF64(k->f) ? 8 : 4);
  return row_bytes % 4096 == 0;
}

/* buffer[kk - k_begin, :] = the strip w[kk, n0 : n0 + vectors · lanes] for kk in [k_begin, k_end)
 * (gathered rows through perm); returns the buffer as the strip's weights. */
static Weights pack_strip(Kernel *k, MlirType vector, int64_t lanes, int vectors, Weights w, MlirValue k_begin,
                          MlirValue k_end, MlirValue n0, MlirValue buffer) {
  FOR(kk, k_begin, k_end);
  MlirValue row = gathered_row(k, w.perm, w.slots, kk.iv), local = arith(k, "arith.subi", kk.iv, k_begin);
  for (int j = 0; j < vectors; j++) {
    MlirValue v = weight_vector(k, vector, w, row, arith(k, "arith.addi", n0, C(j * lanes)));
    vector_store(k, v, buffer, 2, (MlirValue[]){local, C(j * lanes)});
  }
  END(kk);
  return (Weights){buffer, no_value, no_value, 0, k_begin, n0};
}

/* The register blocks of one strip of columns for kk in [k_begin, k_end): every row block. */
static void axpy_chunk(Kernel *k, MlirType vector, int64_t lanes, int vectors, RowSource x, MlirValue k_begin,
                       MlirValue k_end, Weights w, MlirValue first, MlirValue blocked_end, MlirValue last, MlirValue n0,
                       Weights out, int accumulate) {
  Loop row0 = loop_begin_carrying(k, first, blocked_end, AXPY_ROWS, 0, NULL);
  axpy_block(k, vector, lanes, vectors, x, k_begin, k_end, w, row0.iv, AXPY_ROWS, n0, out, accumulate);
  loop_end_carrying(k, &row0, NULL, NULL);
  FOR(row, blocked_end, last); /* the last count % AXPY_ROWS rows */
  axpy_block(k, vector, lanes, vectors, x, k_begin, k_end, w, row.iv, 1, n0, out, accumulate);
  END(row);
}

/* Steps of K per pass over the rows. A strip's weights for one chunk (AXPY_CHUNK rows of w ×
 * one strip: 128 KiB at 4 vectors of 16 fp32 lanes) stay in L2 and within the TLB's reach while
 * every row block passes over them; a whole long-K strip (3584 weight rows on 3584 pages) would
 * not. Each output still sums kk in order: a chunk stores its sums and the next reloads them. */
#ifndef AXPY_CHUNK
#define AXPY_CHUNK 512
#endif

/* out[row, n] (+)= Σ_{kk in [k_begin, k_end)} X(row, kk) · W(kk, n) for row in [first, last);
 * `work` (multiply-adds in all) decides whether strips of columns go to threads. */
static void axpy_range(Kernel *k, RowSource x, Weights w, MlirValue first, MlirValue last, MlirValue k_begin,
                       MlirValue k_end, Weights out, int accumulate, int64_t work) {
  int64_t N = dim(out.memref, mlirValueIsNull(out.expert) ? 1 : 2);
  int64_t lanes = k->vector_bytes / (mlirTypeIsAF64(k->f) ? 8 : 4);
  int vectors = lanes > 0 ? (int)(N / lanes < AXPY_VECTORS ? N / lanes : AXPY_VECTORS) : 0;
  int64_t strip = lanes * vectors, N_strips = vectors > 0 ? N / strip * strip : 0;
  int parallel = k->gpu || (k->parallel && work >= k->parallel_min_work); /* strips of columns are independent */
  MlirValue count = arith(k, "arith.subi", last, first);
  MlirValue blocked_end =
      arith(k, "arith.addi", first, arith(k, "arith.muli", arith(k, "arith.divui", count, C(AXPY_ROWS)), C(AXPY_ROWS)));
  if (N_strips > 0) {
    MlirType vector = mlirVectorTypeGet(1, &lanes, k->f);
    int pack = rows_alias(k, w);
    Loop n0 = parallel_or_serial_begin(k, C(0), C(N_strips), strip, parallel);
    MlirValue buffer = no_value, stack = no_value;
    if (pack) {
      stack = scope_begin(k);
      buffer = stack_buffer(k, AXPY_CHUNK, strip);
    }
    MlirValue first_end = arith(k, "arith.minsi", arith(k, "arith.addi", k_begin, C(AXPY_CHUNK)), k_end);
    Weights strip_w = pack ? pack_strip(k, vector, lanes, vectors, w, k_begin, first_end, n0.iv, buffer) : w;
    axpy_chunk(k, vector, lanes, vectors, x, k_begin, first_end, strip_w, first, blocked_end, last, n0.iv, out, accumulate);
    /* the other chunks add to what the first stored */
    Loop kc = loop_begin_carrying(k, first_end, k_end, AXPY_CHUNK, 0, NULL);
    MlirValue chunk_end = arith(k, "arith.minsi", arith(k, "arith.addi", kc.iv, C(AXPY_CHUNK)), k_end);
    strip_w = pack ? pack_strip(k, vector, lanes, vectors, w, kc.iv, chunk_end, n0.iv, buffer) : w;
    axpy_chunk(k, vector, lanes, vectors, x, kc.iv, chunk_end, strip_w, first, blocked_end, last, n0.iv, out, 1);
    loop_end_carrying(k, &kc, NULL, NULL);
    if (pack) scope_end(k, stack);
    parallel_or_serial_end(k, &n0);
  }
  if (N_strips == N) return;
  if (lanes > 0) {
    /* the last N % strip columns in narrower vectors (down to one lane), one FMA per step of K
     * as in the strips, so a column's sums do not depend on where it sits; row blocks on threads */
    int64_t n_done = N_strips;
    for (int64_t width = lanes; n_done < N; width = width > 1 ? width / 2 : 1) {
      int64_t pieces = (N - n_done) / width;
      if (pieces == 0) continue;
      if (pieces > AXPY_VECTORS) pieces = AXPY_VECTORS;
      MlirType vector = mlirVectorTypeGet(1, &width, k->f);
      Loop row0 = parallel_or_serial_begin(k, first, blocked_end, AXPY_ROWS, parallel);
      axpy_block(k, vector, width, (int)pieces, x, k_begin, k_end, w, row0.iv, AXPY_ROWS, C(n_done), out, accumulate);
      parallel_or_serial_end(k, &row0);
      FOR(row, blocked_end, last);
      axpy_block(k, vector, width, (int)pieces, x, k_begin, k_end, w, row.iv, 1, C(n_done), out, accumulate);
      END(row);
      n_done += pieces * width;
    }
    return;
  }
  if (k->gpu) { /* a GPU block a row, its threads the columns: out[row, n] summed over kk in order */
    Loop row = parallel_begin(k, first, last, 1);
    Loop n = parallel_begin(k, C(N_strips), C(N), 1);
    MlirValue x_row = x.transposed ? row.iv : source_row(k, x, row.iv);
    MlirValue init = accumulate ? load_weight(k, out, row.iv, n.iv) : F(0.0);
    int strict = k->strict;
    k->strict = 1; /* the sum in order, however LLVM would vectorise a reassociable reduction */
    Loop kk = loop_begin(k, k_begin, k_end, init);
    MlirValue a = row_element(k, x, x_row, kk.iv), w_row = gathered_row(k, w.perm, w.slots, kk.iv);
    MlirValue sum = loop_end(k, &kk, ADD(kk.acc, MUL(a, load_weight(k, w, w_row, n.iv))));
    k->strict = strict;
    store_weight(k, sum, out, row.iv, n.iv);
    parallel_end(k, &n);
    parallel_end(k, &row);
    return;
  }
  /* without vectors: one row at a time, vectorised by LLVM along n */
  Loop row = parallel_or_serial_begin(k, first, last, 1, parallel);
  if (!accumulate) {
    FOR(n, C(N_strips), C(N));
    store_weight(k, F(0.0), out, row.iv, n.iv);
    END(n);
  }
  MlirValue x_row = x.transposed ? row.iv : source_row(k, x, row.iv);
  FOR(kk, k_begin, k_end);
  MlirValue a = row_element(k, x, x_row, kk.iv), w_row = gathered_row(k, w.perm, w.slots, kk.iv);
  FOR(n, C(N_strips), C(N));
  store_weight(k, ADD(load_weight(k, out, row.iv, n.iv), MUL(a, load_weight(k, w, w_row, n.iv))), out, row.iv, n.iv);
  END(n);
  END(kk);
  parallel_or_serial_end(k, &row);
}

void matmul_axpy_rows(Kernel *k, RowSource x, Weights w, MlirValue first, MlirValue last, MlirValue out,
                      int accumulate) {
  int64_t K = dim(x.memref, x.transposed ? 0 : 1);
  int64_t N = dim(out, 1);
  axpy_range(k, x, w, first, last, C(0), C(K), (Weights){out, no_value, no_value, 0, no_value, no_value}, accumulate,
             source_rows(x) * N * K);
}

/* Weight gradients as axpy blocks over one expert's rows [first, last) (dw accumulates):
 *   not transposed: dw[n, kk] += Σ_row dy[row, n] · x[row, kk]   (X = dyᵀ, W = the rows of x)
 *   transposed:     dw[kk, n] += Σ_row x[row, kk] · dy[row, n]   (X = xᵀ, W = dy)
 * Gathered rows of x are read from their tokens. */
void matmul_weight_gradient_rows(Kernel *k, MlirValue dy, RowSource source, Weights dw, MlirValue first,
                                 MlirValue last, int transposed) {
  int64_t N = dim(dy, 1), K = dim(source.memref, 1), work = dim(dy, 0) * N * K;
  if (transposed) {
    RowSource xt = {source.memref, 1, source.perm, source.slots, no_value};
    axpy_range(k, xt, (Weights){dy, no_value, no_value, 0, no_value, no_value}, C(0), C(K), first, last, dw, 1, work);
  } else {
    RowSource dyt = {dy, 1, no_value, 0, no_value};
    axpy_range(k, dyt, (Weights){source.memref, no_value, source.perm, source.slots, no_value, no_value}, C(0), C(N), first, last, dw, 1,
               work);
  }
}

int matmul_dense(Kernel *k, MlirValue a, MlirValue b, MlirValue c, int transpose_a, int transpose_b) {
  Weights w = {b, no_value, no_value, 0, no_value, no_value};
  MlirValue M = C(dim(c, 0));
  if (!transpose_a && transpose_b) {
    matmul_dot_rows(k, rows_of(a), w, C(0), M, output_of(c), 1);
  } else if (!transpose_a && !transpose_b) {
    matmul_axpy_rows(k, rows_of(a), w, C(0), M, c, 1);
  } else if (transpose_a && !transpose_b) { /* c[i, :] += Σ_kk a[kk, i] · b[kk, :] */
    matmul_axpy_rows(k, (RowSource){a, 1, no_value, 0, no_value}, w, C(0), M, c, 1);
  } else {
    return 0;
  }
  return 1;
}

/* ---- grouped GEMMs on a GPU (Kernel.gpu) ----
 * The CPU walks the experts one after another (a combine scatter-adds several experts' rows into one
 * token's row; the gathered rows share one packing panel). On a GPU:
 *   a plain output (each routed row its own): a GPU block an (expert, output column), its threads
 *     the expert's rows, one dot product each — nested parallel loops, which perft-gpu-launch maps
 *     onto blocks and threads; the rows are read through perm where gathered (no panel);
 *   any other output (combined, with an addend, joined): a thread a block of BLOCK_COLS columns,
 *     over the experts and their rows in order, as the CPU does it (the same order of additions
 *     into a token's row).
 * Every sum is taken in the CPU's order: the dot form in chunks of DOT_CHUNK, each from zero, added
 * (whole_sums), the axpy form running through K. */

/* Σ_kk x(row, kk) · w(e, n, kk) over K in chunks of DOT_CHUNK (as whole_sums adds them). */
static MlirValue chunked_dot(Kernel *k, RowSource x, MlirValue x_row, Weights w, MlirValue n, int64_t K) {
  MlirValue total = no_value;
  for (int64_t c0 = 0; c0 < K; c0 += DOT_CHUNK) {
    int64_t c1 = c0 + DOT_CHUNK < K ? c0 + DOT_CHUNK : K;
    Loop kk = loop_begin(k, C(c0), C(c1), F(0.0));
    MlirValue s = loop_end(k, &kk, ADD(kk.acc, MUL(LOAD(k, x.memref, x_row, kk.iv), load_weight(k, w, n, kk.iv))));
    total = mlirValueIsNull(total) ? s : ADD(total, s);
  }
  return mlirValueIsNull(total) ? F(0.0) : total;
}

static void grouped_plain_gpu(Kernel *k, RowSource rows, MlirValue bank, MlirValue offsets, MlirValue y,
                              int transpose_w) {
  int64_t E = dim(bank, 0), N = dim(y, 1), K = dim(rows.memref, 1);
  int strict = k->strict;
  k->strict = 1; /* every sum in order */
  Loop p = parallel_begin(k, C(0), C(E * N), 1);
  MlirValue e = arith(k, "arith.divui", p.iv, C(N)), n = arith(k, "arith.remui", p.iv, C(N));
  MlirValue first = to_index(k, LOAD(k, offsets, e)), last = to_index(k, LOAD(k, offsets, arith(k, "arith.addi", e, C(1))));
  Loop r = parallel_begin(k, first, last, 1);
  MlirValue x_row = source_row(k, rows, r.iv);
  Weights w = {bank, e, no_value, 0, no_value, no_value};
  MlirValue sum;
  if (transpose_w) {
    sum = chunked_dot(k, rows, x_row, w, n, K);
  } else { /* y[r, n] = Σ_kk x[r, kk] · bank[e, kk, n], running */
    Loop kk = loop_begin(k, C(0), C(K), F(0.0));
    sum = loop_end(k, &kk, ADD(kk.acc, MUL(LOAD(k, rows.memref, x_row, kk.iv), load_weight(k, w, kk.iv, n))));
  }
  STORE(k, sum, y, r.iv, n);
  parallel_end(k, &r);
  parallel_end(k, &p);
  k->strict = strict;
}

static void grouped_columns_gpu(Kernel *k, RowSource rows, MlirValue bank, MlirValue offsets, Output y) {
  int64_t E = dim(bank, 0), N = dim(y.memref, 1), N_blocked = N / BLOCK_COLS * BLOCK_COLS;
  MlirValue ns[BLOCK_COLS];
  for (int part = 0; part < 2; part++) { /* the blocks of BLOCK_COLS columns, then the last N % BLOCK_COLS */
    int columns = part == 0 ? BLOCK_COLS : (int)(N - N_blocked);
    if (part == 0 ? N_blocked == 0 : columns == 0) continue;
    Loop n0 = part == 0 ? parallel_begin(k, C(0), C(N_blocked), BLOCK_COLS)
                        : parallel_begin(k, C(N_blocked), C(N_blocked + 1), 1);
    for (int j = 0; j < BLOCK_COLS; j++) ns[j] = arith(k, "arith.addi", n0.iv, C(j < columns ? j : columns - 1));
    FOR(e, C(0), C(E));
    MlirValue first = to_index(k, LOAD(k, offsets, e.iv));
    MlirValue last = to_index(k, LOAD(k, offsets, arith(k, "arith.addi", e.iv, C(1))));
    Weights w = {bank, e.iv, no_value, 0, no_value, no_value};
    Output out = y;
    out.second_w.expert = e.iv;
    MlirValue count = arith(k, "arith.subi", last, first);
    MlirValue blocked_end =
        arith(k, "arith.addi", first, arith(k, "arith.muli", arith(k, "arith.divui", count, C(BLOCK_ROWS)), C(BLOCK_ROWS)));
    dot_rows_pass(k, rows, w, ns, columns, first, blocked_end, last, 1, no_value, no_value, out, 0);
    END(e);
    parallel_end(k, &n0);
  }
}

void matmul_grouped_gpu(Kernel *k, RowSource rows, MlirValue bank, MlirValue offsets, Output y, int transpose_w) {
  int plain = mlirValueIsNull(y.perm) && mlirValueIsNull(y.addend) && mlirValueIsNull(y.second_x) && y.scale == 1.0;
  if (plain) {
    grouped_plain_gpu(k, rows, bank, offsets, y.memref, transpose_w);
    return;
  }
  IR_CHECK(transpose_w, "matmul_grouped_gpu: a combined, scaled or joined output of the axpy form");
  if (!mlirValueIsNull(y.perm)) fill(k, y.memref, 0.0);
  grouped_columns_gpu(k, rows, bank, offsets, y);
}

/* dbank[e] = Σ over e's rows of dyᵀ · rows ([N, K] when transpose_w, else [K, N]): a GPU block an
 * (expert, row of dbank[e]), its threads the columns, each summing the expert's rows in order (as
 * the CPU's axpy form does, from the zeros it fills in first). */
void matmul_grouped_grad_weight_gpu(Kernel *k, MlirValue dy, RowSource rows, MlirValue offsets, MlirValue dbank,
                                    int transpose_w) {
  int64_t E = dim(dbank, 0), A = dim(dbank, 1), B = dim(dbank, 2);
  fill(k, dbank, 0.0);
  int strict = k->strict;
  k->strict = 1;
  Loop p = parallel_begin(k, C(0), C(E * A), 1);
  MlirValue e = arith(k, "arith.divui", p.iv, C(A)), a = arith(k, "arith.remui", p.iv, C(A));
  MlirValue first = to_index(k, LOAD(k, offsets, e)), last = to_index(k, LOAD(k, offsets, arith(k, "arith.addi", e, C(1))));
  Loop b = parallel_begin(k, C(0), C(B), 1);
  Loop row = loop_begin(k, first, last, LOAD(k, dbank, e, a, b.iv));
  MlirValue x_row = source_row(k, rows, row.iv);
  MlirValue product = transpose_w ? MUL(LOAD(k, dy, row.iv, a), LOAD(k, rows.memref, x_row, b.iv))  /* dw[n, kk] */
                                  : MUL(LOAD(k, rows.memref, x_row, a), LOAD(k, dy, row.iv, b.iv)); /* dw[kk, n] */
  MlirValue sum = loop_end(k, &row, ADD(row.acc, product));
  STORE(k, sum, dbank, e, a, b.iv);
  parallel_end(k, &b);
  parallel_end(k, &p);
  k->strict = strict;
}
