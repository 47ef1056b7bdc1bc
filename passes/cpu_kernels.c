/* cpu_kernels.c — the CPU column of the op table: each op as loops over memrefs
 * (scf + arith + memref), lowered to LLVM by the upstream passes (compiler/target_cpu.c).
 *
 * Shape legend: T tokens, E experts, k slots per token, R = T*k dispatched rows,
 * D width, K/N the inner/outer widths of a grouped matmul. Index tensors are i32.
 * Every kernel writes all of its output (zero-filling first where it accumulates).
 * The entry points (cpu_*, at the end) take the op's buffer-form operands: inputs,
 * then outputs, then scratch, in the order of the op's table entry.
 */
#include "cpu_kernels.h"

#include "library_gemm.h"
#include "matmul_kernels.h"

#include <math.h>
#include <string.h>

static int64_t dim(MlirValue memref, int i) { return mlirShapedTypeGetDimSize(mlirValueGetType(memref), i); }
static int64_t numel(MlirValue memref) { return shaped_num_elements(mlirValueGetType(memref)); }
static int rank(MlirValue memref) { return (int)mlirShapedTypeGetRank(mlirValueGetType(memref)); }

#define ADD(a, b) arith(k, "arith.addf", a, b)
#define SUB(a, b) arith(k, "arith.subf", a, b)
#define MUL(a, b) arith(k, "arith.mulf", a, b)
#define DIV(a, b) arith(k, "arith.divf", a, b)
#define IADD(a, b) arith(k, "arith.addi", a, b)
#define IMUL(a, b) arith(k, "arith.muli", a, b)
#define C(v) index_const(k, v)
#define F(v) float_const(k, v)
#define FOR(var, lo, hi) Loop var = loop_begin(k, lo, hi, no_value)
#define END(var) loop_end(k, &var, no_value)

/* ---- threads for the row-wise and elementwise kernels ----
 * A loop over independent rows (or blocks of elements) runs on threads (scf.parallel, OpenMP after
 * lowering) when the kernel may use them (k->parallel) and touches at least THREAD_MIN_ELEMENTS
 * elements: below that a fork costs more than it saves. Each row or element is computed as on
 * one thread, so the numbers do not depend on the thread count. */
enum { THREAD_MIN_ELEMENTS = 1 << 15, ELEMENT_BLOCK = 4096 };

static int use_threads(Kernel *k, int64_t elements) {
  return k->gpu || (k->parallel && elements >= THREAD_MIN_ELEMENTS);
}

/* for (row = 0; row < rows; row++) over rows of `per_row` elements each */
#define ROWS(var, rows, per_row) \
  Loop var = parallel_or_serial_begin(k, C(0), C(rows), 1, use_threads(k, (rows) * (per_row)))
#define END_ROWS(var) parallel_or_serial_end(k, &var)

/* for (c0 = 0; c0 < columns; c0 += COLUMN_BLOCK): for the scatter-adds (several rows into one
 * token's row), whose rows cannot go to threads, each thread owns blocks of columns instead
 * (on a GPU, one column each) */
enum { COLUMN_BLOCK = 256 };
static int64_t column_block(Kernel *k) { return k->gpu ? 1 : COLUMN_BLOCK; }
static Loop column_blocks_begin(Kernel *k, int64_t rows, int64_t columns) {
  return parallel_or_serial_begin(k, C(0), C(columns), column_block(k),
                                  k->gpu || (use_threads(k, rows * columns) && columns > COLUMN_BLOCK));
}
/* the end of the column block that starts at c0 */
static MlirValue column_block_end(Kernel *k, MlirValue c0, int64_t columns) {
  return arith(k, "arith.minsi", IADD(c0, C(column_block(k))), C(columns));
}

/* for (i = 0; i < rows; i++) { per-row values; for (j = 0; j < columns; j++) ... } where each (i, j)
 * is independent of the others:
 *   Grid g = grid_rows_begin(k, rows, columns);   g.i
 *   ... per-row values ...
 *   grid_columns_begin(k, &g);                    g.j
 *   ... the element (g.i, g.j) ...
 *   grid_end(k, &g);
 * On a GPU a thread an element, neighbouring threads on neighbouring columns (a thread a row would
 * walk its columns alone, its loads uncoalesced, with few threads in all), the per-row values made
 * by each; elsewhere the rows on threads when worth it (ROWS), the columns in order. */
typedef struct {
  Loop outer, inner;
  MlirValue i, j;
  int flat;
  int64_t columns;
} Grid;
static Grid grid_rows_begin(Kernel *k, int64_t rows, int64_t columns) {
  Grid g = {.flat = k->gpu, .columns = columns};
  if (g.flat) {
    g.outer = parallel_begin(k, C(0), C(rows * columns), 1);
    g.i = arith(k, "arith.divui", g.outer.iv, C(columns));
    g.j = arith(k, "arith.remui", g.outer.iv, C(columns));
    return g;
  }
  g.outer = parallel_or_serial_begin(k, C(0), C(rows), 1, use_threads(k, rows * columns));
  g.i = g.outer.iv;
  return g;
}
static void grid_columns_begin(Kernel *k, Grid *g) {
  if (g->flat) return;
  g->inner = loop_begin(k, C(0), C(g->columns), no_value);
  g->j = g->inner.iv;
}
static void grid_end(Kernel *k, Grid *g) {
  if (!g->flat) loop_end(k, &g->inner, no_value);
  parallel_or_serial_end(k, &g->outer);
}

/* for (i = 0; i < n; i++), in blocks of ELEMENT_BLOCK across threads when worth it */
typedef struct {
  Loop block, i;
  int threaded;
} Elements;
static Elements elements_begin(Kernel *k, int64_t n) {
  Elements e = {.threaded = use_threads(k, n)};
  if (!e.threaded) {
    e.i = loop_begin(k, C(0), C(n), no_value);
    return e;
  }
  int64_t block = k->gpu ? 1 : ELEMENT_BLOCK; /* on a GPU, one element a thread */
  e.block = parallel_begin(k, C(0), C(n), block);
  e.i = loop_begin(k, e.block.iv, arith(k, "arith.minsi", IADD(e.block.iv, C(block)), C(n)), no_value);
  return e;
}
static void elements_end(Kernel *k, Elements *e) {
  loop_end(k, &e->i, no_value);
  if (e->threaded) parallel_end(k, &e->block);
}

/* ---- elementwise: out[i] = f(in_0[i], in_1[i], ...) over all elements ---- */
typedef MlirValue (*ElementFn)(Kernel *k, const MlirValue *x, const void *data);

static void elementwise(Kernel *k, int n, const MlirValue *in, MlirValue out, ElementFn f, const void *data) {
  MlirValue x[4];
  if (rank(out) == 0) {
    for (int j = 0; j < n; j++) x[j] = load(k, in[j], 0, NULL);
    store(k, f(k, x, data), out, 0, NULL);
    return;
  }
  MlirValue flat_in[4], flat_out = flatten(k, out);
  for (int j = 0; j < n; j++) flat_in[j] = rank(in[j]) == 0 ? in[j] : flatten(k, in[j]);
  Elements e = elements_begin(k, numel(out));
  MlirValue i = e.i.iv;
  for (int j = 0; j < n; j++) x[j] = rank(in[j]) == 0 ? load(k, in[j], 0, NULL) : LOAD(k, flat_in[j], i);
  STORE(k, f(k, x, data), flat_out, i);
  elements_end(k, &e);
}

static MlirValue sigmoid(Kernel *k, MlirValue v) {
  return DIV(F(1.0), ADD(F(1.0), exp_value(k, unary(k, "arith.negf", v))));
}

static MlirValue scale_element(Kernel *k, const MlirValue *x, const void *factor) {
  return MUL(x[0], F(*(const double *)factor));
}
static MlirValue silu_element(Kernel *k, const MlirValue *x, const void *unused) {
  return MUL(x[0], sigmoid(k, x[0]));
}
/* d silu(x) = s (1 + x (1 - s)),  s = sigmoid(x) */
static MlirValue silu_grad_element(Kernel *k, const MlirValue *x, const void *unused) {
  MlirValue s = sigmoid(k, x[0]);
  return MUL(x[1], MUL(s, ADD(F(1.0), MUL(x[0], SUB(F(1.0), s)))));
}
/* silu(a) · b: silu as silu_element, then the product (as linalg.mul) */
static MlirValue swiglu_element(Kernel *k, const MlirValue *x, const void *unused) {
  return MUL(silu_element(k, x, NULL), x[1]);
}
/* d mse / dy = 2 (y - t) / n · dl;  x = {y, t, dl} */
static MlirValue mse_grad_element(Kernel *k, const MlirValue *x, const void *two_over_n) {
  return MUL(MUL(SUB(x[0], x[1]), F(*(const double *)two_over_n)), x[2]);
}

/* The backward of swiglu, as the unfused ops compute it: ds = dy·b, da = silu_grad(a, ds),
 * db = dy·silu(a); silu(a) is recomputed, never stored. a, b, dy, da, db: [R, F]. */
static void swiglu_grad(Kernel *k, MlirValue a, MlirValue b, MlirValue dy, MlirValue da, MlirValue db) {
  MlirValue fa = flatten(k, a), fb = flatten(k, b), fdy = flatten(k, dy), fda = flatten(k, da), fdb = flatten(k, db);
  Elements e = elements_begin(k, numel(a));
  MlirValue i = e.i.iv;
  MlirValue x = LOAD(k, fa, i), d = LOAD(k, fdy, i);
  MlirValue ds = MUL(d, LOAD(k, fb, i));
  STORE(k, silu_grad_element(k, (MlirValue[]){x, ds}, NULL), fda, i);
  STORE(k, MUL(d, silu_element(k, &x, NULL)), fdb, i);
  elements_end(k, &e);
}

/* ---- softmax over the last axis of x[rows, C] ---- */
static void softmax_row(Kernel *k, MlirValue x, MlirValue y, Loop r) {
  Loop m = loop_begin(k, C(0), C(dim(x, 1)), F(-1e30));
  MlirValue max = loop_end(k, &m, arith(k, "arith.maximumf", m.acc, LOAD(k, x, r.iv, m.iv)));
  Loop s = loop_begin(k, C(0), C(dim(x, 1)), F(0.0));
  MlirValue e = exp_value(k, SUB(LOAD(k, x, r.iv, s.iv), max));
  STORE(k, e, y, r.iv, s.iv);
  MlirValue sum = loop_end(k, &s, ADD(s.acc, e));
  MlirValue inverse = DIV(F(1.0), sum);
  FOR(c, C(0), C(dim(x, 1)));
  STORE(k, MUL(LOAD(k, y, r.iv, c.iv), inverse), y, r.iv, c.iv);
  END(c);
}

static void softmax(Kernel *k, MlirValue x, MlirValue y) {
  ROWS(r, dim(x, 0), dim(x, 1));
  softmax_row(k, x, y, r);
  END_ROWS(r);
}

/* dx = y ⊙ (dy − Σ_c y·dy) per row */
static void softmax_grad(Kernel *k, MlirValue y, MlirValue dy, MlirValue dx) {
  ROWS(r, dim(y, 0), dim(y, 1));
  Loop s = loop_begin(k, C(0), C(dim(y, 1)), F(0.0));
  MlirValue dot = loop_end(k, &s, ADD(s.acc, MUL(LOAD(k, y, r.iv, s.iv), LOAD(k, dy, r.iv, s.iv))));
  FOR(c, C(0), C(dim(y, 1)));
  STORE(k, MUL(LOAD(k, y, r.iv, c.iv), SUB(LOAD(k, dy, r.iv, c.iv), dot)), dx, r.iv, c.iv);
  END(c);
  END_ROWS(r);
}

/* Per output o < outputs on a GPU: a block o whose `lanes` threads each add (or, with `max`, take
 * the maximum of) every lanes-th term a < n, term(k, o, a, data), into partial[o · lanes + lane];
 * a barrier; then the block's first thread combines the lanes' in order. lane_sum_begin leaves the
 * builder in that first thread's code, with .o and .total; lane_sum_end closes it. (A thread an
 * output would walk all n terms alone.) */
typedef MlirValue (*LaneTerm)(Kernel *k, MlirValue o, MlirValue a, const void *data);
typedef struct {
  Loop block, first;
  MlirValue o, total;
} LaneSum;
static LaneSum lane_sum_begin(Kernel *k, int64_t outputs, int64_t n, int64_t lanes, LaneTerm term, const void *data,
                              int max, MlirValue partial) {
  MlirValue init = F(max ? -INFINITY : 0.0);
#define COMBINE(a, b) (max ? arith(k, "arith.maximumf", a, b) : ADD(a, b))
  LaneSum sum;
  sum.block = parallel_begin(k, C(0), C(outputs), 1);
  sum.o = sum.block.iv;
  MlirValue base = IMUL(sum.o, C(lanes)), part;
  Loop lane = parallel_begin(k, C(0), C(lanes), 1);
  Loop a = loop_begin_carrying(k, lane.iv, C(n), lanes, 1, &init);
  loop_end_carrying(k, &a, (MlirValue[]){COMBINE(a.carried[0], term(k, sum.o, a.iv, data))}, &part);
  STORE(k, part, partial, IADD(base, lane.iv));
  parallel_end(k, &lane);
  sum.first = parallel_begin(k, C(0), C(1), 1);
  Loop j = loop_begin(k, C(0), C(lanes), init);
  sum.total = loop_end(k, &j, COMBINE(j.acc, LOAD(k, partial, IADD(base, j.iv))));
#undef COMBINE
  return sum;
}
static void lane_sum_end(Kernel *k, LaneSum *sum) {
  parallel_end(k, &sum->first);
  parallel_end(k, &sum->block);
}

/* ---- top_k: p[T,E] -> w[T,k], idx[T,k]
 * For each j: rank_j = #{j' : p_j' > p_j or (p_j' == p_j and j' < j)}; if rank_j < k the
 * entry goes to slot rank_j. Slots are in descending order, lower index first on ties.
 * With renormalisation the k weights are divided by their sum. */
/* Entry o of row t comes before entry j (value pj): larger, or equal and earlier; a NaN counts as
 * smaller than any number (and NaNs by index), so the ranks are a permutation and every slot gets
 * one valid index (issue 9: a NaN score must not leave slots unwritten) */
static MlirValue ranks_before(Kernel *k, MlirValue p, MlirValue t, MlirValue o, MlirValue j, MlirValue pj) {
  MlirValue po = LOAD(k, p, t, o);
  MlirValue earlier = compare_index(k, "slt", o, j);
  MlirValue before = arith(k, "arith.ori", compare_float(k, "ogt", po, pj),
                           arith(k, "arith.andi", compare_float(k, "oeq", po, pj), earlier));
  MlirValue j_is_nan = compare_float(k, "uno", pj, pj), o_is_number = compare_float(k, "ord", po, po);
  return arith(k, "arith.ori", before, arith(k, "arith.andi", j_is_nan, arith(k, "arith.ori", o_is_number, earlier)));
}
/* entry j (value pj) of row t goes to slot rank_j if that is below k */
static void top_k_place(Kernel *k, MlirValue w, MlirValue idx, MlirValue t, MlirValue j, MlirValue pj, MlirValue rank_j) {
  Loop chosen = if_begin(k, compare_index(k, "slt", rank_j, C(dim(w, 1))));
  STORE(k, pj, w, t, rank_j);
  STORE(k, to_i32(k, j), idx, t, rank_j);
  if_end(k, &chosen);
}
/* Entry j of row t: its rank among the row's entries, and if that is below k, its slot */
static void top_k_entry(Kernel *k, MlirValue p, MlirValue w, MlirValue idx, MlirValue t, MlirValue j) {
  MlirValue pj = LOAD(k, p, t, j);
  Loop o = loop_begin(k, C(0), C(dim(p, 1)), C(0));
  MlirValue before = ranks_before(k, p, t, o.iv, j, pj);
  top_k_place(k, w, idx, t, j, pj, loop_end(k, &o, select_value(k, before, IADD(o.acc, C(1)), o.acc)));
}

/* row t's k weights divided by their sum (in slot order) */
static void renormalize_row(Kernel *k, MlirValue w, MlirValue t) {
  int64_t slots = dim(w, 1);
  Loop s = loop_begin(k, C(0), C(slots), F(0.0));
  MlirValue sum = loop_end(k, &s, ADD(s.acc, LOAD(k, w, t, s.iv)));
  FOR(c, C(0), C(slots));
  STORE(k, DIV(LOAD(k, w, t, c.iv), sum), w, t, c.iv);
  END(c);
}

static void top_k_row(Kernel *k, MlirValue p, MlirValue w, MlirValue idx, int renormalize, Loop t) {
  FOR(j, C(0), C(dim(p, 1)));
  top_k_entry(k, p, w, idx, t.iv, j.iv);
  END(j);
  if (renormalize) renormalize_row(k, w, t.iv);
}

/* top_k on a GPU: each entry's rank is its own, so a thread an entry (row, j) counts the entries
 * before it (E steps, not a thread a row's E²); then, renormalising, a thread a row divides its k
 * weights by their sum. The same ops as top_k_row: the same bits. */
/* lane_sum's term for entry e = t·n + j: 1 when rival o comes before it */
static MlirValue rival_before_term(Kernel *k, MlirValue entry, MlirValue o, const void *data) {
  MlirValue p = *(const MlirValue *)data;
  int64_t n = dim(p, 1);
  MlirValue t = arith(k, "arith.divui", entry, C(n)), j = arith(k, "arith.remui", entry, C(n));
  return select_value(k, ranks_before(k, p, t, o, j, LOAD(k, p, t, j)), F(1.0), F(0.0));
}
static void top_k_gpu(Kernel *k, MlirValue p, MlirValue w, MlirValue idx, int renormalize, MlirValue partial) {
  int64_t rows = dim(p, 0), n = dim(p, 1), lanes = top_k_lanes(n);
  if (lanes > 1 && !mlirValueIsNull(partial)) { /* long rows: a warp an entry; counts exact in floats */
    IR_CHECK(n < (1 << 24), "top_k: a row too long to rank in float counts");
    LaneSum rank = lane_sum_begin(k, rows * n, n, lanes, rival_before_term, &p, 0, partial);
    MlirValue t = arith(k, "arith.divui", rank.o, C(n)), j = arith(k, "arith.remui", rank.o, C(n));
    MlirValue rank_j = to_index(k, build_value(&k->b, "arith.fptosi", 1, &rank.total, k->i32, 0, NULL));
    top_k_place(k, w, idx, t, j, LOAD(k, p, t, j), rank_j);
    lane_sum_end(k, &rank);
  } else {
    Grid g = grid_rows_begin(k, rows, n);
    grid_columns_begin(k, &g);
    top_k_entry(k, p, w, idx, g.i, g.j);
    grid_end(k, &g);
  }
  if (!renormalize) return;
  Loop t = parallel_begin(k, C(0), C(dim(w, 0)), 1);
  renormalize_row(k, w, t.iv);
  parallel_end(k, &t);
}

static void top_k(Kernel *k, MlirValue p, MlirValue w, MlirValue idx, int renormalize, MlirValue partial) {
  if (k->gpu) {
    top_k_gpu(k, p, w, idx, renormalize, partial);
    return;
  }
  ROWS(t, dim(p, 0), dim(p, 1) * dim(p, 1));
  top_k_row(k, p, w, idx, renormalize, t);
  END_ROWS(t);
}

/* perft-fuse-softmax-top-k's kernel: a router's softmax and its top-k in one pass over the rows,
 * each row's probabilities chosen from while in cache; per row the same ops as the two kernels
 * (on a GPU the softmax a thread a row, then top_k_gpu). */
static void softmax_top_k(Kernel *k, MlirValue x, MlirValue p, MlirValue w, MlirValue idx, int renormalize) {
  if (k->gpu) {
    softmax(k, x, p);
    top_k_gpu(k, p, w, idx, renormalize, no_value); /* a router's rows: a thread an entry */
    return;
  }
  ROWS(t, dim(x, 0), dim(x, 1) * dim(x, 1));
  softmax_row(k, x, p, t);
  top_k_row(k, p, w, idx, renormalize, t);
  END_ROWS(t);
}

/* dp = 0; dp[t, idx[t,s]] = dw[t,s]  (renormalised: (dw[t,s] − Σ_s' dw·w) / Σ_s' p[t, idx[t,s']]);
 * on a GPU a thread an entry (t, s), each with its row's sums, taken in the same order */
static void top_k_grad(Kernel *k, MlirValue p, MlirValue idx, MlirValue w, MlirValue dw, MlirValue dp,
                       int renormalize) {
  int64_t slots = dim(w, 1);
  fill(k, dp, 0.0);
  Grid g = grid_rows_begin(k, dim(p, 0), slots);
  MlirValue dot = F(0.0), inverse_sum = F(1.0);
  if (renormalize) {
    Loop s = loop_begin(k, C(0), C(slots), F(0.0));
    MlirValue sum = loop_end(k, &s, ADD(s.acc, LOAD(k, p, g.i, to_index(k, LOAD(k, idx, g.i, s.iv)))));
    inverse_sum = DIV(F(1.0), sum);
    Loop d = loop_begin(k, C(0), C(slots), F(0.0));
    dot = loop_end(k, &d, ADD(d.acc, MUL(LOAD(k, dw, g.i, d.iv), LOAD(k, w, g.i, d.iv))));
  }
  grid_columns_begin(k, &g);
  MlirValue gradient = LOAD(k, dw, g.i, g.j);
  if (renormalize) gradient = MUL(SUB(gradient, dot), inverse_sum);
  STORE(k, gradient, dp, g.i, to_index(k, LOAD(k, idx, g.i, g.j)));
  grid_end(k, &g);
}

/* ---- dispatch: a counting sort of the T*k (token, slot) pairs by expert ----
 * offsets[e] = first row of expert e; perm[row] = t*k + slot; rows[row] = x[t] (dispatch
 * copies the rows; route, perft-fuse-route's form, only sorts: its GEMMs read x[t] directly). */

/* On a GPU (one thread walking T·k pairs twice would take milliseconds): the n = T·k pairs in
 * SORT_LANES segments, each expert's lanes in parallel —
 *   1. a block an expert, its threads the lanes: count[e, lane] = the segment's pairs routed to e;
 *      a barrier; first[e, lane] = Σ of the lanes before it (scratch: counts, then firsts);
 *   2. one thread: offsets[e + 1] = offsets[e] + expert e's total (E steps);
 *   3. a thread an (expert, lane): its segment's pairs of e, in order, from row offsets[e] + first;
 *   4. dispatch: a thread a (row, column) of the copy rows[row] = x[token of row].
 * Rows come out in the CPU's order (by expert, then by pair): the same perm and offsets. */
static void sort_by_expert_gpu(Kernel *k, MlirValue idx, MlirValue x, MlirValue rows, MlirValue perm,
                               MlirValue offsets, MlirValue scratch) {
  int64_t T = dim(idx, 0), slots = dim(idx, 1), E = dim(offsets, 0) - 1, n = T * slots;
  int64_t lanes = sort_lanes(n), segment = (n + lanes - 1) / lanes;
  MlirValue zero = to_i32(k, C(0)), one = to_i32(k, C(1)), firsts = C(E * lanes);
  /* the pair i's expert, as an index */
#define EXPERT_OF(i) to_index(k, LOAD(k, idx, arith(k, "arith.divui", i, C(slots)), arith(k, "arith.remui", i, C(slots))))
  Loop e = parallel_begin(k, C(0), C(E), 1);
  MlirValue counts_of_e = IMUL(e.iv, C(lanes));
  Loop lane = parallel_begin(k, C(0), C(lanes), 1);
  MlirValue first = IMUL(lane.iv, C(segment)), last = arith(k, "arith.minsi", IADD(first, C(segment)), C(n));
  Loop i = loop_begin_carrying(k, first, last, 1, 1, &zero);
  MlirValue hit = compare_index(k, "eq", EXPERT_OF(i.iv), e.iv), count;
  loop_end_carrying(k, &i, (MlirValue[]){IADD(i.carried[0], select_value(k, hit, one, zero))}, &count);
  STORE(k, count, scratch, IADD(counts_of_e, lane.iv));
  parallel_end(k, &lane);
  Loop lane2 = parallel_begin(k, C(0), C(lanes), 1);
  Loop j = loop_begin_carrying(k, C(0), lane2.iv, 1, 1, &zero);
  MlirValue before;
  loop_end_carrying(k, &j, (MlirValue[]){IADD(j.carried[0], LOAD(k, scratch, IADD(counts_of_e, j.iv)))}, &before);
  STORE(k, before, scratch, IADD(firsts, IADD(counts_of_e, lane2.iv)));
  parallel_end(k, &lane2);
  parallel_end(k, &e);
  /* 2. offsets: the experts' totals (the last lane's first row + its count), summed in order */
  STORE(k, zero, offsets, C(0));
  FOR(e2, C(0), C(E));
  MlirValue last_lane = IADD(IMUL(e2.iv, C(lanes)), C(lanes - 1));
  MlirValue total = IADD(LOAD(k, scratch, IADD(firsts, last_lane)), LOAD(k, scratch, last_lane));
  STORE(k, IADD(LOAD(k, offsets, e2.iv), total), offsets, IADD(e2.iv, C(1)));
  END(e2);
  /* 3. each (expert, lane) puts its segment's pairs */
  Loop p = parallel_begin(k, C(0), C(E * lanes), 1);
  MlirValue e3 = arith(k, "arith.divui", p.iv, C(lanes)), lane3 = arith(k, "arith.remui", p.iv, C(lanes));
  MlirValue row0 = IADD(LOAD(k, offsets, e3), LOAD(k, scratch, IADD(firsts, IADD(IMUL(e3, C(lanes)), lane3))));
  MlirValue first3 = IMUL(lane3, C(segment)), last3 = arith(k, "arith.minsi", IADD(first3, C(segment)), C(n));
  Loop i3 = loop_begin_carrying(k, first3, last3, 1, 1, &row0);
  MlirValue hit3 = compare_index(k, "eq", EXPERT_OF(i3.iv), e3);
  Loop put = if_begin(k, hit3);
  STORE(k, to_i32(k, i3.iv), perm, to_index(k, i3.carried[0]));
  if_end(k, &put);
  MlirValue next_row;
  loop_end_carrying(k, &i3, (MlirValue[]){IADD(i3.carried[0], select_value(k, hit3, one, zero))}, &next_row);
  parallel_end(k, &p);
#undef EXPERT_OF
  if (mlirValueIsNull(rows)) return;
  /* 4. dispatch's copy */
  int64_t D = dim(x, 1);
  Loop q = parallel_begin(k, C(0), C(n * D), 1);
  MlirValue row = arith(k, "arith.divui", q.iv, C(D)), d = arith(k, "arith.remui", q.iv, C(D));
  MlirValue t = arith(k, "arith.divui", to_index(k, LOAD(k, perm, row)), C(slots));
  STORE(k, LOAD(k, x, t, d), rows, row, d);
  parallel_end(k, &q);
}

static void sort_by_expert(Kernel *k, MlirValue idx, MlirValue x, MlirValue rows, MlirValue perm, MlirValue offsets,
                           MlirValue cursor) {
  if (k->gpu) {
    sort_by_expert_gpu(k, idx, x, rows, perm, offsets, cursor);
    return;
  }
  int64_t T = dim(idx, 0), slots = dim(idx, 1), E = dim(offsets, 0) - 1;
  MlirValue one = to_i32(k, C(1));
  fill(k, offsets, 0);
  FOR(t, C(0), C(T));
  FOR(s, C(0), C(slots));
  MlirValue e1 = IADD(to_index(k, LOAD(k, idx, t.iv, s.iv)), C(1));
  STORE(k, IADD(LOAD(k, offsets, e1), one), offsets, e1);
  END(s);
  END(t);
  FOR(e, C(1), C(E + 1));
  MlirValue previous = arith(k, "arith.subi", e.iv, C(1));
  STORE(k, IADD(LOAD(k, offsets, e.iv), LOAD(k, offsets, previous)), offsets, e.iv);
  END(e);
  /* cursor[e]: the next free row of expert e */
  FOR(c, C(0), C(E + 1));
  STORE(k, LOAD(k, offsets, c.iv), cursor, c.iv);
  END(c);
  FOR(t2, C(0), C(T));
  FOR(s2, C(0), C(slots));
  MlirValue expert = to_index(k, LOAD(k, idx, t2.iv, s2.iv));
  MlirValue row_i32 = LOAD(k, cursor, expert);
  STORE(k, IADD(row_i32, one), cursor, expert);
  MlirValue row = to_index(k, row_i32);
  STORE(k, to_i32(k, IADD(IMUL(t2.iv, C(slots)), s2.iv)), perm, row);
  if (!mlirValueIsNull(rows)) {
    FOR(d, C(0), C(dim(x, 1)));
    STORE(k, LOAD(k, x, t2.iv, d.iv), rows, row, d.iv);
    END(d);
  }
  END(s2);
  END(t2);
}

/* On a GPU the scatter-adds into tokens (combine, dispatch_grad) are gathers (threads owning
 * columns would leave a GPU with D threads each walking all R rows): first perm's inverse,
 * inverse[perm[row]] = row (perm numbers the T·slots pairs once each; a thread a row), then a
 * thread an element of tokens[T,D], neighbours on neighbouring columns, adding its token's rows in
 * slot order: tokens[t,d] = Σ_s w[t,s] · rows[inverse[t·slots + s], d] (weight 1 without w). */
static void tokens_from_rows_gpu(Kernel *k, MlirValue rows, MlirValue perm, MlirValue w, MlirValue tokens,
                                 MlirValue inverse) {
  int64_t R = dim(rows, 0), T = dim(tokens, 0), D = dim(tokens, 1), slots = R / T;
  Loop row = parallel_begin(k, C(0), C(R), 1);
  STORE(k, to_i32(k, row.iv), inverse, to_index(k, LOAD(k, perm, row.iv)));
  parallel_end(k, &row);
  Loop i = parallel_begin(k, C(0), C(T * D), 1);
  MlirValue t = arith(k, "arith.divui", i.iv, C(D)), d = arith(k, "arith.remui", i.iv, C(D));
  Loop s = loop_begin(k, C(0), C(slots), F(0.0));
  MlirValue v = LOAD(k, rows, to_index(k, LOAD(k, inverse, IADD(IMUL(t, C(slots)), s.iv))), d);
  if (!mlirValueIsNull(w)) v = MUL(LOAD(k, w, t, s.iv), v);
  STORE(k, loop_end(k, &s, ADD(s.acc, v)), tokens, t, d);
  parallel_end(k, &i);
}

/* dx[t] = Σ over the rows of token t of drows[row]; inverse: the GPU form's scratch */
static void dispatch_grad(Kernel *k, MlirValue drows, MlirValue perm, MlirValue dx, MlirValue inverse) {
  int64_t R = dim(drows, 0), D = dim(drows, 1), slots = R / dim(dx, 0);
  if (k->gpu) {
    tokens_from_rows_gpu(k, drows, perm, no_value, dx, inverse);
    return;
  }
  fill(k, dx, 0.0);
  Loop c0 = column_blocks_begin(k, R, D);
  FOR(row, C(0), C(R));
  MlirValue t;
  matmul_row_origin(k, perm, row.iv, slots, &t, NULL);
  FOR(d, c0.iv, column_block_end(k, c0.iv, D));
  STORE(k, ADD(LOAD(k, dx, t, d.iv), LOAD(k, drows, row.iv, d.iv)), dx, t, d.iv);
  END(d);
  END(row);
  parallel_or_serial_end(k, &c0);
}

/* y[row] = rows[row] · W_eᵀ (bank[E,N,K], transpose_w) or rows[row] · W_e (bank[E,K,N]),
 * for the rows of each expert e: [offsets[e], offsets[e+1]) (matmul_kernels.c). Gathered
 * rows read their token's row of x; a combined output is y[T,N] (fill, then scatter-adds). */
static void grouped_matmul(Kernel *k, RowSource rows, MlirValue bank, MlirValue offsets, Output y, int transpose_w,
                           MlirValue panel) {
  if (k->gpu) { /* experts side by side; gathered rows read through perm, no panel */
    matmul_grouped_gpu(k, rows, bank, offsets, y, transpose_w);
    return;
  }
  if (!mlirValueIsNull(y.perm)) fill(k, y.memref, 0.0);
  FOR(e, C(0), C(dim(bank, 0)));
  MlirValue first = to_index(k, LOAD(k, offsets, e.iv));
  MlirValue last = to_index(k, LOAD(k, offsets, IADD(e.iv, C(1))));
  Weights w = {bank, e.iv, no_value, 0, no_value, no_value};
  y.second_w.expert = e.iv; /* joined: the same expert's slice of the second bank */
  if (mlirValueIsNull(panel)) {
    if (transpose_w) matmul_dot_rows(k, rows, w, first, last, y, 0);
    else matmul_axpy_rows(k, rows, w, first, last, y.memref, 0);
  } else { /* gathered: the expert's rows in panels of at most `capacity`, each packed, then multiplied */
    int64_t capacity = dim(panel, 0);
    Loop p0 = loop_begin_carrying(k, first, last, capacity, 0, NULL);
    MlirValue p1 = arith(k, "arith.minsi", IADD(p0.iv, C(capacity)), last);
    matmul_pack_rows(k, rows, p0.iv, p1, panel);
    RowSource packed = {panel, 0, rows.perm, rows.slots, p0.iv};
    if (transpose_w) matmul_dot_rows(k, packed, w, p0.iv, p1, y, 0);
    else matmul_axpy_rows(k, packed, w, p0.iv, p1, y.memref, 0);
    loop_end_carrying(k, &p0, NULL, NULL);
  }
  END(e);
}

/* dW_e = Σ_rows of e dy[row]ᵀ rows[row]  (as [N,K] when transpose_w, else [K,N]) */
static void grouped_matmul_grad_weight(Kernel *k, MlirValue dy, RowSource rows, MlirValue offsets,
                                       MlirValue dbank, int transpose_w) {
  if (k->gpu) {
    matmul_grouped_grad_weight_gpu(k, dy, rows, offsets, dbank, transpose_w);
    return;
  }
  fill(k, dbank, 0.0);
  FOR(e, C(0), C(dim(dbank, 0)));
  MlirValue first = to_index(k, LOAD(k, offsets, e.iv));
  MlirValue last = to_index(k, LOAD(k, offsets, IADD(e.iv, C(1))));
  Weights dw = {dbank, e.iv, no_value, 0, no_value, no_value};
  matmul_weight_gradient_rows(k, dy, rows, dw, first, last, !transpose_w);
  END(e);
}

/* ---- concat and slice: to[to_row + i, to_col + j] = from[from_row + i, from_col + j] over rows × cols ---- */
static void copy_window(Kernel *k, MlirValue from, int64_t from_row, int64_t from_col, MlirValue to, int64_t to_row,
                        int64_t to_col, int64_t rows, int64_t cols) {
  Grid g = grid_rows_begin(k, rows, cols);
  grid_columns_begin(k, &g);
  MlirValue v = LOAD(k, from, IADD(g.i, C(from_row)), IADD(g.j, C(from_col)));
  STORE(k, v, to, IADD(g.i, C(to_row)), IADD(g.j, C(to_col)));
  grid_end(k, &g);
}

/* y = [a | b] along axis */
static void concat(Kernel *k, MlirValue a, MlirValue b, MlirValue y, int axis) {
  copy_window(k, a, 0, 0, y, 0, 0, dim(a, 0), dim(a, 1));
  copy_window(k, b, 0, 0, y, axis == 0 ? dim(a, 0) : 0, axis == 1 ? dim(a, 1) : 0, dim(b, 0), dim(b, 1));
}

/* y = the window of x from `start` along axis */
static void slice(Kernel *k, MlirValue x, MlirValue y, int axis, int64_t start) {
  copy_window(k, x, axis == 0 ? start : 0, axis == 1 ? start : 0, y, 0, 0, dim(y, 0), dim(y, 1));
}

/* The routed rows of x[T,K]: row r is x[perm[r] / k], k = R / T. */
static RowSource gathered(MlirValue x, MlirValue perm) {
  return (RowSource){x, 0, perm, dim(perm, 0) / dim(x, 0), no_value};
}


/* Each dispatched row with its token's weight: combine scatters w[t,s] · rows[row] into
 * tokens[t] (to_tokens; on a GPU tokens_from_rows_gpu, with `inverse` its scratch); its gradient
 * gathers rows[row] = w[t,s] · tokens[t]. rows[R,D], tokens[T,D]. */
static void weighted_rows(Kernel *k, MlirValue rows, MlirValue perm, MlirValue w, MlirValue tokens, int to_tokens,
                          MlirValue inverse) {
  int64_t R = dim(rows, 0), D = dim(rows, 1), slots = dim(w, 1);
  if (to_tokens && k->gpu) {
    tokens_from_rows_gpu(k, rows, perm, w, tokens, inverse);
    return;
  }
  if (!to_tokens) { /* each row written once: a row's elements on threads (a GPU: each element) */
    Grid g = grid_rows_begin(k, R, D);
    MlirValue t, s;
    matmul_row_origin(k, perm, g.i, slots, &t, &s);
    MlirValue weight = LOAD(k, w, t, s);
    grid_columns_begin(k, &g);
    STORE(k, MUL(weight, LOAD(k, tokens, t, g.j)), rows, g.i, g.j);
    grid_end(k, &g);
    return;
  }
  /* combine adds several rows into one token's row: threads own columns */
  fill(k, tokens, 0.0);
  Loop c0 = column_blocks_begin(k, R, D);
  FOR(row, C(0), C(R));
  MlirValue t, s;
  matmul_row_origin(k, perm, row.iv, slots, &t, &s);
  MlirValue weight = LOAD(k, w, t, s);
  FOR(d, c0.iv, column_block_end(k, c0.iv, D));
  STORE(k, ADD(LOAD(k, tokens, t, d.iv), MUL(weight, LOAD(k, rows, row.iv, d.iv))), tokens, t, d.iv);
  END(d);
  END(row);
  parallel_or_serial_end(k, &c0);
}

/* combine_grad_weights on a GPU: a block (a warp) a row, its lanes each taking every lanes-th column
 * of the dot product (coalesced): lane_sum_begin */
typedef struct {
  MlirValue dy, rows, perm;
  int64_t slots;
} RowDot;
static MlirValue row_dot_term(Kernel *k, MlirValue row, MlirValue d, const void *data) {
  const RowDot *r = data;
  MlirValue t;
  matmul_row_origin(k, r->perm, row, r->slots, &t, NULL);
  return MUL(LOAD(k, r->dy, t, d), LOAD(k, r->rows, row, d));
}
static void combine_grad_weights_gpu(Kernel *k, MlirValue dy, MlirValue rows, MlirValue perm, MlirValue dw,
                                     MlirValue partial) {
  int64_t R = dim(rows, 0), D = dim(rows, 1), slots = dim(dw, 1);
  RowDot dot = {dy, rows, perm, slots};
  LaneSum sum = lane_sum_begin(k, R, D, combine_weight_lanes(D), row_dot_term, &dot, 0, partial);
  MlirValue t, s;
  matmul_row_origin(k, perm, sum.o, slots, &t, &s);
  STORE(k, sum.total, dw, t, s);
  lane_sum_end(k, &sum);
}

/* dw[t,s] = dy[t] · rows[row(t,s)]; partial: the GPU form's scratch */
static void combine_grad_weights(Kernel *k, MlirValue dy, MlirValue rows, MlirValue perm, MlirValue dw,
                                 MlirValue partial) {
  int64_t R = dim(rows, 0), D = dim(rows, 1), slots = dim(dw, 1);
  if (k->gpu) {
    combine_grad_weights_gpu(k, dy, rows, perm, dw, partial);
    return;
  }
  ROWS(row, R, D);
  MlirValue t, s;
  matmul_row_origin(k, perm, row.iv, slots, &t, &s);
  Loop d = loop_begin(k, C(0), C(D), F(0.0));
  MlirValue dot = loop_end(k, &d, ADD(d.acc, MUL(LOAD(k, dy, t, d.iv), LOAD(k, rows, row.iv, d.iv))));
  STORE(k, dot, dw, t, s);
  END_ROWS(row);
}

/* counts[e] (scratch[e]) on a GPU: a block an expert, its lanes each counting every lanes-th pair
 * into scratch[E + e·2·lanes + lane] and, with p, summing every lanes-th row of p's column e into
 * [... + lanes + lane]; a barrier; then its first thread adds them in order: counts[e], or
 * counts[e] · Σ_t p[t, e] with p (the load balance's products). */
static void expert_counts_gpu(Kernel *k, MlirValue idx, MlirValue p, MlirValue scratch, int64_t E) {
  int64_t T = dim(idx, 0), slots = dim(idx, 1), pairs = T * slots, lanes = expert_count_lanes(pairs);
  Loop e = parallel_begin(k, C(0), C(E), 1);
  MlirValue base = IADD(C(E), IMUL(e.iv, C(2 * lanes)));
  Loop lane = parallel_begin(k, C(0), C(lanes), 1);
  Loop i = loop_begin_carrying(k, lane.iv, C(pairs), lanes, 1, (MlirValue[]){F(0.0)});
  MlirValue expert = to_index(k, LOAD(k, idx, arith(k, "arith.divui", i.iv, C(slots)), arith(k, "arith.remui", i.iv, C(slots))));
  MlirValue hit = select_value(k, compare_index(k, "eq", expert, e.iv), F(1.0), F(0.0)), count;
  loop_end_carrying(k, &i, (MlirValue[]){ADD(i.carried[0], hit)}, &count);
  STORE(k, count, scratch, IADD(base, lane.iv));
  if (!mlirValueIsNull(p)) {
    Loop t = loop_begin_carrying(k, lane.iv, C(T), lanes, 1, (MlirValue[]){F(0.0)});
    MlirValue column;
    loop_end_carrying(k, &t, (MlirValue[]){ADD(t.carried[0], LOAD(k, p, t.iv, e.iv))}, &column);
    STORE(k, column, scratch, IADD(IADD(base, C(lanes)), lane.iv));
  }
  parallel_end(k, &lane);
  Loop first = parallel_begin(k, C(0), C(1), 1);
  Loop j = loop_begin(k, C(0), C(lanes), F(0.0));
  MlirValue total = loop_end(k, &j, ADD(j.acc, LOAD(k, scratch, IADD(base, j.iv))));
  if (!mlirValueIsNull(p)) {
    Loop c = loop_begin(k, C(0), C(lanes), F(0.0));
    MlirValue column = loop_end(k, &c, ADD(c.acc, LOAD(k, scratch, IADD(IADD(base, C(lanes)), c.iv))));
    total = MUL(total, column);
  }
  STORE(k, total, scratch, e.iv);
  parallel_end(k, &first);
  parallel_end(k, &e);
}

/* counts[e] = #{(t,s) : idx[t,s] = e}, as floats (exact: whole numbers below 2²⁴), into counts[0, E).
 * On a GPU expert_counts_gpu (one thread adding up every pair would take milliseconds), which
 * needs the scratch after the counts. */
static MlirValue expert_counts(Kernel *k, MlirValue idx, MlirValue counts, int64_t E) {
  if (k->gpu) {
    expert_counts_gpu(k, idx, no_value, counts, E);
    return counts;
  }
  FOR(zero, C(0), C(E));
  STORE(k, F(0.0), counts, zero.iv);
  END(zero);
  FOR(t, C(0), C(dim(idx, 0)));
  FOR(s, C(0), C(dim(idx, 1)));
  MlirValue e = to_index(k, LOAD(k, idx, t.iv, s.iv));
  STORE(k, ADD(LOAD(k, counts, e), F(1.0)), counts, e);
  END(s);
  END(t);
  return counts;
}

/* LB = E Σ_e f_e P_e,  f_e = counts_e / (T k),  P_e = Σ_t p[t,e] / T */
static void load_balance(Kernel *k, MlirValue p, MlirValue idx, MlirValue out, MlirValue counts) {
  int64_t T = dim(p, 0), E = dim(p, 1), slots = dim(idx, 1);
  if (k->gpu) { /* a block an expert: counts[e] · Σ_t p[t, e] into counts, then their sum in order */
    expert_counts_gpu(k, idx, p, counts, E);
    Loop s = loop_begin(k, C(0), C(E), F(0.0));
    MlirValue total = loop_end(k, &s, ADD(s.acc, LOAD(k, counts, s.iv)));
    store(k, MUL(total, F((double)E / ((double)T * (double)slots * (double)T))), out, 0, NULL);
    return;
  }
  expert_counts(k, idx, counts, E);
  Loop e = loop_begin(k, C(0), C(E), F(0.0));
  Loop t = loop_begin(k, C(0), C(T), F(0.0));
  MlirValue column = loop_end(k, &t, ADD(t.acc, LOAD(k, p, t.iv, e.iv)));
  MlirValue total = loop_end(k, &e, ADD(e.acc, MUL(LOAD(k, counts, e.iv), column)));
  store(k, MUL(total, F((double)E / ((double)T * (double)slots * (double)T))), out, 0, NULL);
}

/* dp[t,e] = dl · E · f_e / T */
static void load_balance_grad(Kernel *k, MlirValue idx, MlirValue dl, MlirValue dp, MlirValue counts) {
  int64_t T = dim(dp, 0), E = dim(dp, 1), slots = dim(idx, 1);
  expert_counts(k, idx, counts, E);
  MlirValue factor = MUL(load(k, dl, 0, NULL), F((double)E / ((double)T * (double)slots * (double)T)));
  Loop t = parallel_or_serial_begin(k, C(0), C(T), 1, k->gpu); /* on a GPU, a thread a row */
  FOR(e, C(0), C(E));
  STORE(k, MUL(LOAD(k, counts, e.iv), factor), dp, t.iv, e.iv);
  END(e);
  parallel_or_serial_end(k, &t);
}

/* f[e] = counts_e / T (the counts in f itself on the CPU, in the scratch on a GPU) */
static void expert_fraction(Kernel *k, MlirValue idx, MlirValue f, MlirValue scratch) {
  int64_t E = dim(f, 0);
  MlirValue counts = expert_counts(k, idx, k->gpu ? scratch : f, E);
  MlirValue scale = F(1.0 / (double)dim(idx, 0));
  Loop e = parallel_or_serial_begin(k, C(0), C(E), 1, k->gpu);
  STORE(k, MUL(LOAD(k, counts, e.iv), scale), f, e.iv);
  parallel_or_serial_end(k, &e);
}

/* Σ_i f(inputs[i]) over n elements, divided by `divisor` (0: not), into out (rank 0) on a GPU (one
 * thread walking the [T, D] of an MoE layer's output would take tens of milliseconds): chunks of
 * ⌈n / chunks⌉ elements, a block a chunk, its lanes each summing every lanes-th f of it into
 * partial[c · lanes + lane]; then lane l adds partial[c · lanes + l] over the chunks into
 * partial[chunks · lanes + l]; then one thread adds those (mse_lanes, mse_chunks). */
static void sum_gpu(Kernel *k, ElementFn f, int num_inputs, const MlirValue *inputs, int64_t n, double divisor,
                    MlirValue out, MlirValue partial) {
  int64_t lanes = mse_lanes(n), chunks = mse_chunks(n), chunk = (n + chunks - 1) / chunks;
  Loop c = parallel_begin(k, C(0), C(chunks), 1);
  MlirValue first = IMUL(c.iv, C(chunk));
  MlirValue end = arith(k, "arith.minsi", IADD(first, C(chunk)), C(n));
  Loop lane = parallel_begin(k, C(0), C(lanes), 1);
  Loop i = loop_begin_carrying(k, IADD(first, lane.iv), end, lanes, 1, (MlirValue[]){F(0.0)});
  MlirValue x[4], lane_sum;
  for (int j = 0; j < num_inputs; j++) x[j] = LOAD(k, inputs[j], i.iv);
  loop_end_carrying(k, &i, (MlirValue[]){ADD(i.carried[0], f(k, x, NULL))}, &lane_sum);
  STORE(k, lane_sum, partial, IADD(IMUL(c.iv, C(lanes)), lane.iv));
  parallel_end(k, &lane);
  parallel_end(k, &c);
  Loop l = parallel_begin(k, C(0), C(lanes), 1);
  Loop over = loop_begin(k, C(0), C(chunks), F(0.0));
  MlirValue column = loop_end(k, &over, ADD(over.acc, LOAD(k, partial, IADD(IMUL(over.iv, C(lanes)), l.iv))));
  STORE(k, column, partial, IADD(C(chunks * lanes), l.iv));
  parallel_end(k, &l);
  Loop s = loop_begin(k, C(0), C(lanes), F(0.0));
  MlirValue sum = loop_end(k, &s, ADD(s.acc, LOAD(k, partial, IADD(C(chunks * lanes), s.iv))));
  store(k, divisor > 0 ? DIV(sum, F(divisor)) : sum, out, 0, NULL);
}

static MlirValue squared_difference(Kernel *k, const MlirValue *x, const void *unused) {
  MlirValue diff = SUB(x[0], x[1]);
  return MUL(diff, diff);
}

/* mean((y - t)²); partial: the GPU form's scratch */
static void mse(Kernel *k, MlirValue y, MlirValue target, MlirValue out, MlirValue partial) {
  int64_t n = numel(y);
  MlirValue fy = flatten(k, y), ft = flatten(k, target);
  if (k->gpu) {
    sum_gpu(k, squared_difference, 2, (MlirValue[]){fy, ft}, n, (double)n, out, partial);
    return;
  }
  Loop i = loop_begin(k, C(0), C(n), F(0.0));
  MlirValue diff = SUB(LOAD(k, fy, i.iv), LOAD(k, ft, i.iv));
  MlirValue sum = loop_end(k, &i, ADD(i.acc, MUL(diff, diff)));
  store(k, DIV(sum, F((double)n)), out, 0, NULL);
}

/* ---- token models ---- */

/* 1 / sqrt(mean_d x[t,d]² + eps) */
static MlirValue rms_inverse(Kernel *k, MlirValue x, MlirValue t, double eps) {
  int64_t D = dim(x, 1);
  Loop d = loop_begin(k, C(0), C(D), F(0.0));
  MlirValue v = LOAD(k, x, t, d.iv);
  MlirValue sum = loop_end(k, &d, ADD(d.acc, MUL(v, v)));
  return unary(k, "math.rsqrt", ADD(DIV(sum, F((double)D)), F(eps)));
}

/* y[t,d] = x[t,d] · inv_t · w[d] */
/* On a GPU: a block a row (t), its threads the lanes (RMSNORM_LANES, or D when fewer). Each lane
 * sums the squares of its columns (lane, lane + lanes, ...) into partial[t, lane]; then (after a barrier) each lane
 * adds the row's partial sums in order and writes its columns — coalesced, and in parallel:
 *   scf.parallel t { scf.parallel lane { partial } ; scf.parallel lane { sum, scale its columns } } */
static void rmsnorm_gpu(Kernel *k, MlirValue x, MlirValue w, MlirValue y, double eps, MlirValue partial) {
  int64_t T = dim(x, 0), D = dim(x, 1), lanes = lanes_over(D, RMSNORM_LANES);
  int strict = k->strict;
  k->strict = 1; /* every sum in its order */
  Loop t = parallel_begin(k, C(0), C(T), 1);
  MlirValue base = arith(k, "arith.muli", t.iv, C(RMSNORM_LANES));
  Loop lane = parallel_begin(k, C(0), C(lanes), 1);
  Loop d = loop_begin_carrying(k, lane.iv, C(D), lanes, 1, (MlirValue[]){F(0.0)});
  MlirValue v = LOAD(k, x, t.iv, d.iv), sum;
  loop_end_carrying(k, &d, (MlirValue[]){ADD(d.carried[0], MUL(v, v))}, &sum);
  STORE(k, sum, partial, IADD(base, lane.iv));
  parallel_end(k, &lane);
  Loop lane2 = parallel_begin(k, C(0), C(lanes), 1);
  Loop p = loop_begin(k, C(0), C(lanes), F(0.0));
  MlirValue total = loop_end(k, &p, ADD(p.acc, LOAD(k, partial, IADD(base, p.iv))));
  MlirValue inverse = unary(k, "math.rsqrt", ADD(DIV(total, F((double)D)), F(eps)));
  Loop c = loop_begin_carrying(k, lane2.iv, C(D), lanes, 0, NULL);
  STORE(k, MUL(MUL(LOAD(k, x, t.iv, c.iv), inverse), LOAD(k, w, c.iv)), y, t.iv, c.iv);
  loop_end_carrying(k, &c, NULL, NULL);
  parallel_end(k, &lane2);
  parallel_end(k, &t);
  k->strict = strict;
}

static void rmsnorm(Kernel *k, MlirValue x, MlirValue w, MlirValue y, double eps, MlirValue partial) {
  if (k->gpu) {
    rmsnorm_gpu(k, x, w, y, eps, partial);
    return;
  }
  ROWS(t, dim(x, 0), dim(x, 1));
  MlirValue inverse = rms_inverse(k, x, t.iv, eps);
  FOR(d, C(0), C(dim(x, 1)));
  STORE(k, MUL(MUL(LOAD(k, x, t.iv, d.iv), inverse), LOAD(k, w, d.iv)), y, t.iv, d.iv);
  END(d);
  END_ROWS(t);
}

/* g = dy ⊙ w;  dx = inv · g − x · inv³ · (Σ_d g·x) / D */
/* On a GPU, as rmsnorm_gpu: each lane's partial sums of x² and of dy·w·x into partial[t, 0, lane]
 * and partial[t, 1, lane], a barrier, then each lane adds them in order and writes its columns. */
static void rmsnorm_grad_input_gpu(Kernel *k, MlirValue x, MlirValue w, MlirValue dy, MlirValue dx, double eps,
                                   MlirValue partial) {
  int64_t T = dim(x, 0), D = dim(x, 1), lanes = lanes_over(D, RMSNORM_LANES);
  int strict = k->strict;
  k->strict = 1;
  Loop t = parallel_begin(k, C(0), C(T), 1);
  MlirValue squares = arith(k, "arith.muli", t.iv, C(2 * RMSNORM_LANES)), dots = IADD(squares, C(RMSNORM_LANES));
  Loop lane = parallel_begin(k, C(0), C(lanes), 1);
  Loop d = loop_begin_carrying(k, lane.iv, C(D), lanes, 2, (MlirValue[]){F(0.0), F(0.0)});
  MlirValue v = LOAD(k, x, t.iv, d.iv), sums[2];
  MlirValue gx = MUL(MUL(LOAD(k, dy, t.iv, d.iv), LOAD(k, w, d.iv)), v);
  loop_end_carrying(k, &d, (MlirValue[]){ADD(d.carried[0], MUL(v, v)), ADD(d.carried[1], gx)}, sums);
  STORE(k, sums[0], partial, IADD(squares, lane.iv));
  STORE(k, sums[1], partial, IADD(dots, lane.iv));
  parallel_end(k, &lane);
  Loop lane2 = parallel_begin(k, C(0), C(lanes), 1);
  Loop p = loop_begin_carrying(k, C(0), C(lanes), 1, 2, (MlirValue[]){F(0.0), F(0.0)});
  MlirValue totals[2];
  loop_end_carrying(k, &p,
                    (MlirValue[]){ADD(p.carried[0], LOAD(k, partial, IADD(squares, p.iv))),
                                  ADD(p.carried[1], LOAD(k, partial, IADD(dots, p.iv)))},
                    totals);
  MlirValue inverse = unary(k, "math.rsqrt", ADD(DIV(totals[0], F((double)D)), F(eps)));
  MlirValue correction = DIV(MUL(MUL(inverse, MUL(inverse, inverse)), totals[1]), F((double)D));
  Loop c = loop_begin_carrying(k, lane2.iv, C(D), lanes, 0, NULL);
  MlirValue g = MUL(LOAD(k, dy, t.iv, c.iv), LOAD(k, w, c.iv));
  STORE(k, SUB(MUL(inverse, g), MUL(LOAD(k, x, t.iv, c.iv), correction)), dx, t.iv, c.iv);
  loop_end_carrying(k, &c, NULL, NULL);
  parallel_end(k, &lane2);
  parallel_end(k, &t);
  k->strict = strict;
}

static void rmsnorm_grad_input(Kernel *k, MlirValue x, MlirValue w, MlirValue dy, MlirValue dx, double eps,
                               MlirValue partial) {
  if (k->gpu) {
    rmsnorm_grad_input_gpu(k, x, w, dy, dx, eps, partial);
    return;
  }
  int64_t D = dim(x, 1);
  ROWS(t, dim(x, 0), D);
  MlirValue inverse = rms_inverse(k, x, t.iv, eps);
  Loop s = loop_begin(k, C(0), C(D), F(0.0));
  MlirValue gx = MUL(MUL(LOAD(k, dy, t.iv, s.iv), LOAD(k, w, s.iv)), LOAD(k, x, t.iv, s.iv));
  MlirValue dot = loop_end(k, &s, ADD(s.acc, gx));
  MlirValue correction = DIV(MUL(MUL(inverse, MUL(inverse, inverse)), dot), F((double)D));
  FOR(d, C(0), C(D));
  MlirValue g = MUL(LOAD(k, dy, t.iv, d.iv), LOAD(k, w, d.iv));
  STORE(k, SUB(MUL(inverse, g), MUL(LOAD(k, x, t.iv, d.iv), correction)), dx, t.iv, d.iv);
  END(d);
  END_ROWS(t);
}

/* dw[d] = Σ_t dy[t,d] · x[t,d] · inv_t; inverses: the GPU form's scratch [T]. On a GPU (one thread
 * walking every row would be the whole [T, D] twice on one thread) first a thread a row its inv_t,
 * then a thread a column its sum over the rows in order (the CPU's order: the same bits) */
static void rmsnorm_grad_weight(Kernel *k, MlirValue x, MlirValue dy, MlirValue dw, double eps, MlirValue inverses) {
  if (k->gpu) {
    Loop t = parallel_begin(k, C(0), C(dim(x, 0)), 1);
    STORE(k, rms_inverse(k, x, t.iv, eps), inverses, t.iv);
    parallel_end(k, &t);
    Loop d = parallel_begin(k, C(0), C(dim(x, 1)), 1);
    Loop r = loop_begin(k, C(0), C(dim(x, 0)), F(0.0));
    MlirValue term = MUL(MUL(LOAD(k, dy, r.iv, d.iv), LOAD(k, x, r.iv, d.iv)), LOAD(k, inverses, r.iv));
    STORE(k, loop_end(k, &r, ADD(r.acc, term)), dw, d.iv);
    parallel_end(k, &d);
    return;
  }
  fill(k, dw, 0.0);
  FOR(t, C(0), C(dim(x, 0)));
  MlirValue inverse = rms_inverse(k, x, t.iv, eps);
  FOR(d, C(0), C(dim(x, 1)));
  MlirValue term = MUL(MUL(LOAD(k, dy, t.iv, d.iv), LOAD(k, x, t.iv, d.iv)), inverse);
  STORE(k, ADD(LOAD(k, dw, d.iv), term), dw, d.iv);
  END(d);
  END(t);
}

/* ---- attention: rows are sequences of `seq` tokens, row r at position r mod seq ---- */

/* y = rope(x): for row r at position p and each head, the columns i and i + hd/2 of the head turn
 * by the angle p·θ^(−2i/hd) (Hugging Face's rotate_half): y_i = x_i cos − x_{i+hd/2} sin,
 * y_{i+hd/2} = x_{i+hd/2} cos + x_i sin. rope_grad turns dy back (sign −1). */
static void rope(Kernel *k, MlirValue x, MlirValue y, int64_t heads, int64_t seq, double theta, double sign) {
  int64_t head_dim = dim(x, 1) / heads, half = head_dim / 2;
  Grid g = grid_rows_begin(k, dim(x, 0), half); /* (row, i): column i of every head, and i + half */
  MlirValue position = index_to_float(k, arith(k, "arith.remsi", g.i, C(seq)));
  grid_columns_begin(k, &g);
  MlirValue inverse_frequency = exp_value(k, MUL(index_to_float(k, g.j), F(-2.0 * log(theta) / (double)head_dim)));
  MlirValue angle = MUL(position, inverse_frequency);
  MlirValue cosine = unary(k, "math.cos", angle), sine = MUL(unary(k, "math.sin", angle), F(sign));
  FOR(h, C(0), C(heads));
  MlirValue first = IADD(IMUL(h.iv, C(head_dim)), g.j), second = IADD(first, C(half));
  MlirValue a = LOAD(k, x, g.i, first), b = LOAD(k, x, g.i, second);
  STORE(k, SUB(MUL(a, cosine), MUL(b, sine)), y, g.i, first);
  STORE(k, ADD(MUL(b, cosine), MUL(a, sine)), y, g.i, second);
  END(h);
  grid_end(k, &g);
}

/* The rows of one query's keys and its columns in q and in k (or v). */
typedef struct {
  MlirValue row, first_key, keys;   /* query row i; keys are rows first_key .. first_key + keys − 1 */
  MlirValue q_column, kv_column;    /* the head's first column in q, and its kv head's in k and v */
  int64_t head_dim;
  double scale;                     /* 1/√hd */
} AttentionRow;

/* scores[j] = exp(q_i·k_j/√hd − max) for the row's keys; returns 1/Σ_j scores[j]: then
 * p_j = scores[j] · that, the softmax the forward and the backward both use. */
static MlirValue attention_probabilities(Kernel *k, MlirValue q, MlirValue key, MlirValue scores, const AttentionRow *a) {
  Loop j = loop_begin(k, C(0), a->keys, F(-INFINITY));
  Loop d = loop_begin(k, C(0), C(a->head_dim), F(0.0));
  MlirValue product = MUL(LOAD(k, q, a->row, IADD(a->q_column, d.iv)),
                          LOAD(k, key, IADD(a->first_key, j.iv), IADD(a->kv_column, d.iv)));
  MlirValue dot = loop_end(k, &d, ADD(d.acc, product));
  MlirValue score = MUL(dot, F(a->scale));
  STORE(k, score, scores, C(0), j.iv);
  MlirValue maximum = loop_end(k, &j, arith(k, "arith.maximumf", j.acc, score));
  Loop e = loop_begin(k, C(0), a->keys, F(0.0));
  MlirValue exponential = exp_value(k, SUB(LOAD(k, scores, C(0), e.iv), maximum));
  STORE(k, exponential, scores, C(0), e.iv);
  MlirValue sum = loop_end(k, &e, ADD(e.acc, exponential));
  return DIV(F(1.0), sum);
}

/* The query row's keys: the rows of its sequence up to itself. */
static AttentionRow attention_row(Kernel *k, MlirValue row, MlirValue head, int64_t head_dim, int64_t group,
                                  int64_t seq) {
  AttentionRow a = {.row = row, .head_dim = head_dim, .scale = 1.0 / sqrt((double)head_dim)};
  a.first_key = IMUL(arith(k, "arith.divsi", row, C(seq)), C(seq));
  a.keys = IADD(arith(k, "arith.subi", row, a.first_key), C(1));
  a.q_column = IMUL(head, C(head_dim));
  a.kv_column = IMUL(arith(k, "arith.divsi", head, C(group)), C(head_dim));
  return a;
}

/* y = causal_attention(q, k, v): per query row i and head h (kv head h / (H/G)), p = softmax_j of
 * q_i·k_j/√hd over the keys j ≤ i of its sequence, y_i = Σ_j p_j v_j. One row of scores at a time
 * (seq floats on the stack of the thread that owns the row). */
static void causal_attention(Kernel *k, MlirValue q, MlirValue key, MlirValue value, MlirValue y, int64_t heads,
                             int64_t kv_heads, int64_t seq) {
  int64_t head_dim = dim(q, 1) / heads;
  if (k->gpu) { /* a thread a (query row, head) */
    Loop p = parallel_begin(k, C(0), C(dim(q, 0) * heads), 1);
    MlirValue row = arith(k, "arith.divui", p.iv, C(heads)), head = arith(k, "arith.remui", p.iv, C(heads));
    MlirValue saved = scope_begin(k);
    MlirValue scores = stack_buffer(k, 1, seq);
    AttentionRow a = attention_row(k, row, head, head_dim, heads / kv_heads, seq);
    MlirValue inverse_sum = attention_probabilities(k, q, key, scores, &a);
    FOR(d, C(0), C(head_dim));
    Loop j = loop_begin(k, C(0), a.keys, F(0.0));
    MlirValue term = MUL(LOAD(k, scores, C(0), j.iv), LOAD(k, value, IADD(a.first_key, j.iv), IADD(a.kv_column, d.iv)));
    MlirValue sum = loop_end(k, &j, ADD(j.acc, term));
    STORE(k, MUL(sum, inverse_sum), y, row, IADD(a.q_column, d.iv));
    END(d);
    scope_end(k, saved);
    parallel_end(k, &p);
    return;
  }
  ROWS(i, dim(q, 0), dim(q, 1) * seq);
  MlirValue saved = scope_begin(k);
  MlirValue scores = stack_buffer(k, 1, seq);
  FOR(h, C(0), C(heads));
  AttentionRow a = attention_row(k, i.iv, h.iv, head_dim, heads / kv_heads, seq);
  MlirValue inverse_sum = attention_probabilities(k, q, key, scores, &a);
  FOR(d, C(0), C(head_dim));
  Loop j = loop_begin(k, C(0), a.keys, F(0.0));
  MlirValue term = MUL(LOAD(k, scores, C(0), j.iv), LOAD(k, value, IADD(a.first_key, j.iv), IADD(a.kv_column, d.iv)));
  MlirValue sum = loop_end(k, &j, ADD(j.acc, term));
  STORE(k, MUL(sum, inverse_sum), y, i.iv, IADD(a.q_column, d.iv));
  END(d);
  END(h);
  scope_end(k, saved);
  END_ROWS(i);
}

/* ---- causal_attention_grad on a GPU, where the CPU's one walk (a key row gathers from every later
 * query) would be one thread: three kernels over the softmax statistics kept in the op's scratch,
 * stats[(i·H + h)·3 + 0, 1, 2] = the maximum of row i's scores for head h, 1/Σ exp(s − max), dy_i·y_i:
 *   1. a thread a (query row, head): its statistics;
 *   2. a thread a (query row, head): dq_i = Σ_j ds_ij k_j over its keys;
 *   3. a thread a (key row, kv head): dk_j = Σ ds_ij q_i and dv_j = Σ p_ij dy_i over the heads that
 *      share the kv head and the later queries of its sequence.
 * p_ij = exp(s_ij − max_i)/Σ and ds_ij = p_ij (dy_i·v_j − dy_i·y_i)/√hd, recomputed where needed. */

/* q_i·k_j/√hd for the row's head (a.q_column) and kv head (a.kv_column) */
static MlirValue attention_score(Kernel *k, MlirValue q, MlirValue key, const AttentionRow *a, MlirValue key_row) {
  Loop d = loop_begin(k, C(0), C(a->head_dim), F(0.0));
  MlirValue product = MUL(LOAD(k, q, a->row, IADD(a->q_column, d.iv)), LOAD(k, key, key_row, IADD(a->kv_column, d.iv)));
  MlirValue dot = loop_end(k, &d, ADD(d.acc, product)); /* before F(): the constant after the loop */
  return MUL(dot, F(a->scale));
}

/* Σ_d a[row_a, column_a + d] · b[row_b, column_b + d] over the head */
static MlirValue head_dot(Kernel *k, int64_t head_dim, MlirValue a, MlirValue row_a, MlirValue column_a, MlirValue b,
                          MlirValue row_b, MlirValue column_b) {
  Loop d = loop_begin(k, C(0), C(head_dim), F(0.0));
  MlirValue product = MUL(LOAD(k, a, row_a, IADD(column_a, d.iv)), LOAD(k, b, row_b, IADD(column_b, d.iv)));
  return loop_end(k, &d, ADD(d.acc, product));
}

/* p_ij and ds_ij of query row a->row (statistics at stats_at) and key row key_row */
static void attention_p_ds(Kernel *k, const MlirValue *b, MlirValue stats, MlirValue stats_at, const AttentionRow *a,
                           MlirValue key_row, MlirValue *p, MlirValue *ds) {
  MlirValue q = b[0], key = b[1], value = b[2], dy = b[4];
  MlirValue score = attention_score(k, q, key, a, key_row);
  *p = MUL(exp_value(k, SUB(score, LOAD(k, stats, stats_at))), LOAD(k, stats, IADD(stats_at, C(1))));
  MlirValue dy_dot_v = head_dot(k, a->head_dim, dy, a->row, a->q_column, value, key_row, a->kv_column);
  *ds = MUL(MUL(*p, SUB(dy_dot_v, LOAD(k, stats, IADD(stats_at, C(2))))), F(a->scale));
}

/* 1. a thread a (query row, head): its statistics */
static void attention_stats_gpu(Kernel *k, const MlirValue *b, int64_t heads, int64_t group, int64_t seq) {
  MlirValue q = b[0], key = b[1], y = b[3], dy = b[4], stats = b[8];
  int64_t head_dim = dim(q, 1) / heads;
  Loop p = parallel_begin(k, C(0), C(dim(q, 0) * heads), 1);
  AttentionRow a = attention_row(k, arith(k, "arith.divui", p.iv, C(heads)), arith(k, "arith.remui", p.iv, C(heads)),
                                 head_dim, group, seq);
  Loop m = loop_begin(k, C(0), a.keys, F(-INFINITY));
  MlirValue maximum = loop_end(k, &m, arith(k, "arith.maximumf", m.acc, attention_score(k, q, key, &a, IADD(a.first_key, m.iv))));
  Loop e = loop_begin(k, C(0), a.keys, F(0.0));
  MlirValue sum = loop_end(k, &e, ADD(e.acc, exp_value(k, SUB(attention_score(k, q, key, &a, IADD(a.first_key, e.iv)), maximum))));
  MlirValue at = IMUL(p.iv, C(3));
  STORE(k, maximum, stats, at);
  STORE(k, DIV(F(1.0), sum), stats, IADD(at, C(1)));
  STORE(k, head_dot(k, head_dim, dy, a.row, a.q_column, y, a.row, a.q_column), stats, IADD(at, C(2)));
  parallel_end(k, &p);
}

/* 2. a thread a (query row, head): dq_i = Σ_j ds_ij k_j */
static void attention_dq_gpu(Kernel *k, const MlirValue *b, int64_t heads, int64_t group, int64_t seq) {
  MlirValue q = b[0], key = b[1], dq = b[5], stats = b[8];
  int64_t head_dim = dim(q, 1) / heads;
  Loop p = parallel_begin(k, C(0), C(dim(q, 0) * heads), 1);
  AttentionRow a = attention_row(k, arith(k, "arith.divui", p.iv, C(heads)), arith(k, "arith.remui", p.iv, C(heads)),
                                 head_dim, group, seq);
  FOR(j, C(0), a.keys);
  MlirValue key_row = IADD(a.first_key, j.iv), probability, ds;
  attention_p_ds(k, b, stats, IMUL(p.iv, C(3)), &a, key_row, &probability, &ds);
  FOR(d, C(0), C(head_dim));
  MlirValue q_column = IADD(a.q_column, d.iv);
  STORE(k, ADD(LOAD(k, dq, a.row, q_column), MUL(ds, LOAD(k, key, key_row, IADD(a.kv_column, d.iv)))), dq, a.row, q_column);
  END(d);
  END(j);
  parallel_end(k, &p);
}

/* 3. a thread a (key row, kv head): dk_j = Σ ds_ij q_i, dv_j = Σ p_ij dy_i over the heads sharing the
 * kv head and the queries i ≥ j of the key's sequence */
static void attention_dk_dv_gpu(Kernel *k, const MlirValue *b, int64_t heads, int64_t kv_heads, int64_t seq) {
  MlirValue q = b[0], dy = b[4], dk = b[6], dv = b[7], stats = b[8];
  int64_t head_dim = dim(q, 1) / heads, group = heads / kv_heads;
  Loop p = parallel_begin(k, C(0), C(dim(q, 0) * kv_heads), 1);
  MlirValue key_row = arith(k, "arith.divui", p.iv, C(kv_heads)), kv_head = arith(k, "arith.remui", p.iv, C(kv_heads));
  MlirValue sequence_end = IMUL(IADD(arith(k, "arith.divsi", key_row, C(seq)), C(1)), C(seq));
  FOR(member, C(0), C(group));
  MlirValue head = IADD(IMUL(kv_head, C(group)), member.iv);
  FOR(i, key_row, sequence_end);
  AttentionRow a = attention_row(k, i.iv, head, head_dim, group, seq);
  MlirValue probability, ds;
  attention_p_ds(k, b, stats, IMUL(IADD(IMUL(i.iv, C(heads)), head), C(3)), &a, key_row, &probability, &ds);
  FOR(d, C(0), C(head_dim));
  MlirValue q_column = IADD(a.q_column, d.iv), kv_column = IADD(a.kv_column, d.iv);
  STORE(k, ADD(LOAD(k, dv, key_row, kv_column), MUL(probability, LOAD(k, dy, i.iv, q_column))), dv, key_row, kv_column);
  STORE(k, ADD(LOAD(k, dk, key_row, kv_column), MUL(ds, LOAD(k, q, i.iv, q_column))), dk, key_row, kv_column);
  END(d);
  END(i);
  END(member);
  parallel_end(k, &p);
}

static void causal_attention_grad_gpu(Kernel *k, const MlirValue *b, int64_t heads, int64_t kv_heads, int64_t seq) {
  fill(k, b[5], 0.0);
  fill(k, b[6], 0.0);
  fill(k, b[7], 0.0);
  attention_stats_gpu(k, b, heads, heads / kv_heads, seq);
  attention_dq_gpu(k, b, heads, heads / kv_heads, seq);
  attention_dk_dv_gpu(k, b, heads, kv_heads, seq);
}

/* dq, dk, dv of y = causal_attention(q, k, v), given y and dy. Per query row i and head: p again,
 * D = dy_i·y_i, then for each key j: dv_j += p_j dy_i, ds = p_j (dy_i·v_j − D)/√hd,
 * dq_i += ds k_j, dk_j += ds q_i. Serial: a key row gathers from every later query. */
static void causal_attention_grad(Kernel *k, const MlirValue *b, int64_t heads, int64_t kv_heads, int64_t seq) {
  if (k->gpu) {
    causal_attention_grad_gpu(k, b, heads, kv_heads, seq);
    return;
  }
  MlirValue q = b[0], key = b[1], value = b[2], y = b[3], dy = b[4], dq = b[5], dk = b[6], dv = b[7];
  int64_t head_dim = dim(q, 1) / heads;
  fill(k, dq, 0.0);
  fill(k, dk, 0.0);
  fill(k, dv, 0.0);
  MlirValue scores = stack_buffer(k, 1, seq);
  FOR(i, C(0), C(dim(q, 0)));
  FOR(h, C(0), C(heads));
  AttentionRow a = attention_row(k, i.iv, h.iv, head_dim, heads / kv_heads, seq);
  MlirValue inverse_sum = attention_probabilities(k, q, key, scores, &a);
  Loop d0 = loop_begin(k, C(0), C(head_dim), F(0.0));
  MlirValue column = IADD(a.q_column, d0.iv);
  MlirValue dy_dot_y = loop_end(k, &d0, ADD(d0.acc, MUL(LOAD(k, dy, i.iv, column), LOAD(k, y, i.iv, column))));
  FOR(j, C(0), a.keys);
  MlirValue key_row = IADD(a.first_key, j.iv);
  MlirValue p = MUL(LOAD(k, scores, C(0), j.iv), inverse_sum);
  Loop d1 = loop_begin(k, C(0), C(head_dim), F(0.0));
  MlirValue term = MUL(LOAD(k, dy, i.iv, IADD(a.q_column, d1.iv)), LOAD(k, value, key_row, IADD(a.kv_column, d1.iv)));
  MlirValue dy_dot_v = loop_end(k, &d1, ADD(d1.acc, term));
  MlirValue ds = MUL(MUL(p, SUB(dy_dot_v, dy_dot_y)), F(a.scale));
  FOR(d, C(0), C(head_dim));
  MlirValue q_column = IADD(a.q_column, d.iv), kv_column = IADD(a.kv_column, d.iv);
  STORE(k, ADD(LOAD(k, dv, key_row, kv_column), MUL(p, LOAD(k, dy, i.iv, q_column))), dv, key_row, kv_column);
  STORE(k, ADD(LOAD(k, dq, i.iv, q_column), MUL(ds, LOAD(k, key, key_row, kv_column))), dq, i.iv, q_column);
  STORE(k, ADD(LOAD(k, dk, key_row, kv_column), MUL(ds, LOAD(k, q, i.iv, q_column))), dk, key_row, kv_column);
  END(d);
  END(j);
  END(h);
  END(i);
}

/* y[t] = table[ids[t]] */
static void embedding(Kernel *k, MlirValue table, MlirValue ids, MlirValue y) {
  Grid g = grid_rows_begin(k, dim(y, 0), dim(y, 1));
  MlirValue row = to_index(k, LOAD(k, ids, g.i));
  grid_columns_begin(k, &g);
  STORE(k, LOAD(k, table, row, g.j), y, g.i, g.j);
  grid_end(k, &g);
}

/* dtable = 0; dtable[ids[t]] += dy[t] (tokens repeat, so rows cannot go to threads: on a GPU a
 * thread a column walks the tokens in order, as column_blocks_begin) */
static void embedding_grad(Kernel *k, MlirValue ids, MlirValue dy, MlirValue dtable) {
  int64_t T = dim(dy, 0), D = dim(dy, 1);
  fill(k, dtable, 0.0);
  Loop c0 = column_blocks_begin(k, T, D);
  FOR(t, C(0), C(T));
  MlirValue row = to_index(k, LOAD(k, ids, t.iv));
  FOR(d, c0.iv, column_block_end(k, c0.iv, D));
  STORE(k, ADD(LOAD(k, dtable, row, d.iv), LOAD(k, dy, t.iv, d.iv)), dtable, row, d.iv);
  END(d);
  END(t);
  parallel_or_serial_end(k, &c0);
}

/* max_v logits[t,v] and log Σ_v exp(logits[t,v] − max) */
static void log_sum_exp(Kernel *k, MlirValue logits, MlirValue t, MlirValue *max, MlirValue *log_sum) {
  int64_t V = dim(logits, 1);
  Loop m = loop_begin(k, C(0), C(V), F(-1e30));
  *max = loop_end(k, &m, arith(k, "arith.maximumf", m.acc, LOAD(k, logits, t, m.iv)));
  Loop s = loop_begin(k, C(0), C(V), F(0.0));
  MlirValue sum = loop_end(k, &s, ADD(s.acc, exp_value(k, SUB(LOAD(k, logits, t, s.iv), *max))));
  *log_sum = unary(k, "math.log", sum);
}

/* mean_t (max + log Σ exp(l − max) − l[label]) */
/* A negative label (Hugging Face's −100) marks a position outside the loss: a prompt or padding
 * token. The loss is the mean over the others, and 0 when there are none. */
static MlirValue label_in_loss(Kernel *k, MlirValue label) { return compare_index(k, "sge", label, i32_const(k, 0)); }

/* max(1, the number of labels ≥ 0) as a float */
static MlirValue labels_in_loss(Kernel *k, MlirValue labels) {
  Loop t = loop_begin(k, C(0), C(dim(labels, 0)), F(0.0));
  MlirValue count = loop_end(k, &t, ADD(t.acc, select_value(k, label_in_loss(k, LOAD(k, labels, t.iv)), F(1.0), F(0.0))));
  return arith(k, "arith.maximumf", count, F(1.0));
}

/* ---- on a GPU: a row of logits a block (one thread walking 50,000 logits of a vocabulary per row
 * would read them uncoalesced, and three times): lanes of the block take every lanes-th logit.
 * scratch[at + t·2·CROSS_ENTROPY_LANES + lane]: the lane's maximum, then (+ lanes) its
 * Σ exp(l − row max). */

/* The first two passes over row t, each an inner parallel loop (a barrier between them and after):
 * each lane's maximum; then each lane's sum of exp(l − the row's maximum). */
static void row_partials_gpu(Kernel *k, MlirValue logits, MlirValue t, MlirValue partial, int64_t at, int64_t lanes) {
  int64_t V = dim(logits, 1);
  MlirValue base = IADD(C(at), IMUL(t, C(2 * CROSS_ENTROPY_LANES)));
  Loop lane = parallel_begin(k, C(0), C(lanes), 1);
  Loop m = loop_begin_carrying(k, lane.iv, C(V), lanes, 1, (MlirValue[]){F(-1e30)});
  MlirValue max;
  loop_end_carrying(k, &m, (MlirValue[]){arith(k, "arith.maximumf", m.carried[0], LOAD(k, logits, t, m.iv))}, &max);
  STORE(k, max, partial, IADD(base, lane.iv));
  parallel_end(k, &lane);
  Loop lane2 = parallel_begin(k, C(0), C(lanes), 1);
  Loop j = loop_begin(k, C(0), C(lanes), F(-1e30));
  MlirValue row_max = loop_end(k, &j, arith(k, "arith.maximumf", j.acc, LOAD(k, partial, IADD(base, j.iv))));
  Loop s = loop_begin_carrying(k, lane2.iv, C(V), lanes, 1, (MlirValue[]){F(0.0)});
  MlirValue sum;
  loop_end_carrying(k, &s, (MlirValue[]){ADD(s.carried[0], exp_value(k, SUB(LOAD(k, logits, t, s.iv), row_max)))}, &sum);
  STORE(k, sum, partial, IADD(IADD(base, C(lanes)), lane2.iv));
  parallel_end(k, &lane2);
}

/* Row t's maximum and log Σ exp(l − max) from its lanes' partials (after the barrier), in order. */
static void row_log_sum_exp_gpu(Kernel *k, MlirValue t, MlirValue partial, int64_t at, int64_t lanes, MlirValue *max,
                                MlirValue *log_sum) {
  MlirValue base = IADD(C(at), IMUL(t, C(2 * CROSS_ENTROPY_LANES)));
  Loop j = loop_begin(k, C(0), C(lanes), F(-1e30));
  *max = loop_end(k, &j, arith(k, "arith.maximumf", j.acc, LOAD(k, partial, IADD(base, j.iv))));
  Loop s = loop_begin(k, C(0), C(lanes), F(0.0));
  MlirValue sum = loop_end(k, &s, ADD(s.acc, LOAD(k, partial, IADD(IADD(base, C(lanes)), s.iv))));
  *log_sum = unary(k, "math.log", sum);
}

static int64_t logit_lanes(MlirValue logits) { return lanes_over(dim(logits, 1), CROSS_ENTROPY_LANES); }

/* Σ_t terms[t] (without terms: 0) and max(1, the labels ≥ 0) on a GPU, by one block: lane l takes
 * every lanes-th t into partial[at + l] and partial[at + lanes + l]; a barrier; then its first thread adds
 * them in order. label_totals_gpu_begin leaves the builder in that first thread's code with
 * *sum and *count; label_totals_gpu_end closes it. */
typedef struct {
  Loop block, first;
} LabelTotals;
static LabelTotals label_totals_gpu_begin(Kernel *k, MlirValue terms, MlirValue labels, MlirValue partial,
                                          int64_t at, MlirValue *sum, MlirValue *count) {
  int64_t T = dim(labels, 0), lanes = lanes_over(T, CROSS_ENTROPY_LANES);
  LabelTotals totals;
  totals.block = parallel_begin(k, C(0), C(1), 1);
  Loop lane = parallel_begin(k, C(0), C(lanes), 1);
  Loop t = loop_begin_carrying(k, lane.iv, C(T), lanes, 2, (MlirValue[]){F(0.0), F(0.0)});
  MlirValue term = mlirValueIsNull(terms) ? F(0.0) : LOAD(k, terms, t.iv);
  MlirValue in_loss = select_value(k, label_in_loss(k, LOAD(k, labels, t.iv)), F(1.0), F(0.0)), lane_totals[2];
  loop_end_carrying(k, &t, (MlirValue[]){ADD(t.carried[0], term), ADD(t.carried[1], in_loss)}, lane_totals);
  STORE(k, lane_totals[0], partial, IADD(lane.iv, C(at)));
  STORE(k, lane_totals[1], partial, IADD(lane.iv, C(at + lanes)));
  parallel_end(k, &lane);
  totals.first = parallel_begin(k, C(0), C(1), 1);
  Loop j = loop_begin_carrying(k, C(0), C(lanes), 1, 2, (MlirValue[]){F(0.0), F(0.0)});
  MlirValue results[2];
  loop_end_carrying(k, &j, (MlirValue[]){ADD(j.carried[0], LOAD(k, partial, IADD(j.iv, C(at)))),
                                        ADD(j.carried[1], LOAD(k, partial, IADD(j.iv, C(at + lanes))))}, results);
  *sum = results[0];
  *count = arith(k, "arith.maximumf", results[1], F(1.0));
  return totals;
}
static void label_totals_gpu_end(Kernel *k, LabelTotals *totals) {
  parallel_end(k, &totals->first);
  parallel_end(k, &totals->block);
}

/* terms[t] (scratch[t]) as cross_entropy's, a block a row (partials after the terms) */
static void cross_entropy_terms_gpu(Kernel *k, MlirValue logits, MlirValue labels, MlirValue terms) {
  int64_t T = dim(logits, 0), lanes = logit_lanes(logits);
  Loop t = parallel_begin(k, C(0), C(T), 1);
  row_partials_gpu(k, logits, t.iv, terms, T, lanes);
  Loop lane0 = parallel_begin(k, C(0), C(1), 1); /* the row's term, on its first thread */
  MlirValue max, log_sum;
  row_log_sum_exp_gpu(k, t.iv, terms, T, lanes, &max, &log_sum);
  MlirValue label = LOAD(k, labels, t.iv), in_loss = label_in_loss(k, label);
  MlirValue picked = LOAD(k, logits, t.iv, to_index(k, select_value(k, in_loss, label, i32_const(k, 0))));
  STORE(k, select_value(k, in_loss, SUB(ADD(max, log_sum), picked), F(0.0)), terms, t.iv);
  parallel_end(k, &lane0);
  parallel_end(k, &t);
}

/* dlogits as cross_entropy_grad's, a block a row, each lane writing every lanes-th column; the
 * scale dl / labels_in_loss first, on one thread, into scratch[T · 2 · CROSS_ENTROPY_LANES] */
static void cross_entropy_grad_gpu(Kernel *k, MlirValue logits, MlirValue labels, MlirValue dl, MlirValue d,
                                   MlirValue partial) {
  int64_t T = dim(logits, 0), V = dim(logits, 1), lanes = logit_lanes(logits);
  MlirValue scale_at = C(T * 2 * CROSS_ENTROPY_LANES), unused, count;
  LabelTotals totals = label_totals_gpu_begin(k, no_value, labels, partial, 0, &unused, &count);
  STORE(k, DIV(load(k, dl, 0, NULL), count), partial, scale_at);
  label_totals_gpu_end(k, &totals);
  Loop t = parallel_begin(k, C(0), C(T), 1);
  row_partials_gpu(k, logits, t.iv, partial, 0, lanes);
  Loop lane = parallel_begin(k, C(0), C(lanes), 1);
  MlirValue max, log_sum;
  row_log_sum_exp_gpu(k, t.iv, partial, 0, lanes, &max, &log_sum);
  MlirValue scale = LOAD(k, partial, scale_at), label_value = LOAD(k, labels, t.iv);
  MlirValue row_scale = select_value(k, label_in_loss(k, label_value), scale, F(0.0));
  MlirValue label = to_index(k, label_value);
  Loop v = loop_begin_carrying(k, lane.iv, C(V), lanes, 0, NULL);
  MlirValue p = exp_value(k, SUB(SUB(LOAD(k, logits, t.iv, v.iv), max), log_sum));
  MlirValue target = select_value(k, compare_index(k, "eq", v.iv, label), F(1.0), F(0.0));
  STORE(k, MUL(SUB(p, target), row_scale), d, t.iv, v.iv);
  loop_end_carrying(k, &v, NULL, NULL);
  parallel_end(k, &lane);
  parallel_end(k, &t);
}

/* loss = Σ_{t: label ≥ 0} (logsumexp(l[t]) − l[t, label]) / labels_in_loss: each row's term (rows in
 * parallel) into terms[T], then their sum in order (on a GPU by a block of lanes, label_totals_gpu).
 * terms: [T], then (a GPU's) partials [T · 2 · CROSS_ENTROPY_LANES] */
static void cross_entropy(Kernel *k, MlirValue logits, MlirValue labels, MlirValue out, MlirValue terms) {
  int64_t T = dim(logits, 0), V = dim(logits, 1);
  if (k->gpu) {
    cross_entropy_terms_gpu(k, logits, labels, terms);
    MlirValue total, count; /* the lanes' partials after the terms, where the rows' were */
    LabelTotals totals = label_totals_gpu_begin(k, terms, labels, terms, T, &total, &count);
    store(k, DIV(total, count), out, 0, NULL);
    label_totals_gpu_end(k, &totals);
    return;
  }
  ROWS(t, T, V);
  MlirValue max, log_sum;
  log_sum_exp(k, logits, t.iv, &max, &log_sum);
  MlirValue label = LOAD(k, labels, t.iv), in_loss = label_in_loss(k, label);
  MlirValue picked = LOAD(k, logits, t.iv, to_index(k, select_value(k, in_loss, label, i32_const(k, 0))));
  STORE(k, select_value(k, in_loss, SUB(ADD(max, log_sum), picked), F(0.0)), terms, t.iv);
  END_ROWS(t);
  int strict = k->strict;
  k->strict = 1;
  Loop s = loop_begin(k, C(0), C(T), F(0.0));
  MlirValue total = loop_end(k, &s, ADD(s.acc, LOAD(k, terms, s.iv)));
  k->strict = strict;
  store(k, DIV(total, labels_in_loss(k, labels)), out, 0, NULL);
}

/* d[t,v] = (softmax(l[t])[v] − [v = label]) · dl / labels_in_loss, and 0 for a label < 0 */
static void cross_entropy_grad(Kernel *k, MlirValue logits, MlirValue labels, MlirValue dl, MlirValue d,
                               MlirValue partial) {
  int64_t T = dim(logits, 0), V = dim(logits, 1);
  if (k->gpu) {
    cross_entropy_grad_gpu(k, logits, labels, dl, d, partial);
    return;
  }
  MlirValue scale = DIV(load(k, dl, 0, NULL), labels_in_loss(k, labels));
  ROWS(t, T, V);
  MlirValue max, log_sum;
  log_sum_exp(k, logits, t.iv, &max, &log_sum);
  MlirValue label_value = LOAD(k, labels, t.iv);
  MlirValue row_scale = select_value(k, label_in_loss(k, label_value), scale, F(0.0));
  MlirValue label = to_index(k, label_value);
  FOR(v, C(0), C(V));
  MlirValue p = exp_value(k, SUB(SUB(LOAD(k, logits, t.iv, v.iv), max), log_sum));
  MlirValue target = select_value(k, compare_index(k, "eq", v.iv, label), F(1.0), F(0.0));
  STORE(k, MUL(SUB(p, target), row_scale), d, t.iv, v.iv);
  END(v);
  END_ROWS(t);
}

/* out[i] = in[i] · factor(i): factor = 1 when seed = 0, else 1/(1−p) if
 * hash(seed, i) ≥ p·2³² (unsigned) and 0 otherwise. The hash is a murmur-style
 * finaliser of (seed·φ + i·c), so forward and backward draw the same mask. */
static MlirValue dropout_factor(Kernel *k, MlirValue seed, double p, MlirValue i) {
  MlirValue off = compare_index(k, "eq", seed, i32_const(k, 0));
  MlirValue threshold = i32_const(k, (int64_t)(p * 4294967296.0));
  MlirValue base = arith(k, "arith.muli", seed, i32_const(k, 0x9E3779B1));
  MlirValue h = IADD(base, arith(k, "arith.muli", to_i32(k, i), i32_const(k, 0x85EBCA77)));
  h = arith(k, "arith.xori", h, arith(k, "arith.shrui", h, i32_const(k, 15)));
  h = arith(k, "arith.muli", h, i32_const(k, 0x2C1B3C6D));
  h = arith(k, "arith.xori", h, arith(k, "arith.shrui", h, i32_const(k, 12)));
  h = arith(k, "arith.muli", h, i32_const(k, 0x297A2D39));
  h = arith(k, "arith.xori", h, arith(k, "arith.shrui", h, i32_const(k, 15)));
  MlirValue keep = compare_index(k, "uge", h, threshold);
  return select_value(k, off, F(1.0), select_value(k, keep, F(1.0 / (1.0 - p)), F(0.0)));
}

static void dropout(Kernel *k, MlirValue in, MlirValue seed_buffer, MlirValue out, double p) {
  MlirValue seed = LOAD(k, seed_buffer, C(0));
  MlirValue flat_in = rank(in) == 1 ? in : flatten(k, in), flat_out = rank(out) == 1 ? out : flatten(k, out);
  Elements e = elements_begin(k, numel(out));
  MlirValue i = e.i.iv;
  STORE(k, MUL(LOAD(k, flat_in, i), dropout_factor(k, seed, p, i)), flat_out, i);
  elements_end(k, &e);
}

/* ---- the LoRA chain (perft-fuse-lora-chain): CHAIN_ROWS rows at a time,
 *   xd = dropout(x)     the rows, still in L1/L2 for
 *   z  = xd · Aᵀ        the r-wide intermediate (r ≤ 64: CHAIN_ROWS·r floats, in L1) for
 *   y  = z · Bᵀ         plain, or addend + scale · (z·Bᵀ) (Output)
 * Every element is computed by the same code as the separate kernels (the dropout mask of the
 * element's flat index, the GEMMs' blocks: matmul_kernels.c), so the numbers do not change. */
enum { CHAIN_ROWS = 32 };

/* xd[r, :] = dropout(x[r, :]) for r in [first, last); gathered (perm not null): the routed row r
 * reads its token's row x[perm[r] / slots, :]. The mask is that of row r of xd. */
static void dropout_rows(Kernel *k, MlirValue x, MlirValue perm, MlirValue seed, double p, MlirValue xd,
                         MlirValue first, MlirValue last) {
  int64_t D = dim(x, 1);
  FOR(r, first, last);
  MlirValue from = r.iv;
  if (!mlirValueIsNull(perm)) matmul_row_origin(k, perm, r.iv, dim(xd, 0) / dim(x, 0), &from, NULL);
  FOR(c, C(0), C(D));
  MlirValue i = IADD(arith(k, "arith.muli", r.iv, C(D)), c.iv);
  STORE(k, MUL(LOAD(k, x, from, c.iv), dropout_factor(k, seed, p, i)), xd, r.iv, c.iv);
  END(c);
  END(r);
}

static void chain_rows(Kernel *k, MlirValue x, MlirValue perm, MlirValue seed, double p, MlirValue xd, Weights A,
                       MlirValue z, Weights B, Output y, MlirValue first, MlirValue last, int z_accumulates) {
  dropout_rows(k, x, perm, seed, p, xd, first, last);
  matmul_dot_rows(k, rows_of(xd), A, first, last, output_of(z), z_accumulates);
  matmul_dot_rows(k, rows_of(z), B, first, last, y, 0);
}

static Weights weights_of(MlirValue w, MlirValue expert) { return (Weights){w, expert, no_value, 0, no_value, no_value}; }

/* lora_chain(x[M,D], seed, A[r,D], B[N,r], addend[M,N]) {p, scale} -> xd, z, y: blocks of rows on threads */
static void lora_chain(Kernel *k, const MlirValue *b, double p, double scale) {
  MlirValue x = b[0], A = b[2], B = b[3], addend = b[4], xd = b[5], z = b[6], y = b[7];
  int64_t M = dim(x, 0);
  MlirValue seed = LOAD(k, b[1], C(0));
  fill(k, z, 0.0); /* as the unfused GEMM's init: its sums add to zeros */
  int parallel = k->parallel;
  Loop block = parallel_or_serial_begin(k, C(0), C(M), CHAIN_ROWS, use_threads(k, M * dim(x, 1)));
  k->parallel = 0; /* the GEMMs of one block stay on its thread */
  MlirValue last = arith(k, "arith.minsi", IADD(block.iv, C(CHAIN_ROWS)), C(M));
  chain_rows(k, x, no_value, seed, p, xd, weights_of(A, no_value), z, weights_of(B, no_value),
             (Output){.memref = y, .scale = scale, .addend = addend}, block.iv, last, 1);
  k->parallel = parallel;
  parallel_or_serial_end(k, &block);
}

/* grouped_lora_chain(x[T,D], perm[R], seed, A[E,r,D], B[E,N,r], offsets[E+1]) {p} -> xd[R,D], z, y:
 * the routed rows read from their tokens' rows; experts on threads, each expert's rows a block
 * at a time */
static void grouped_lora_chain(Kernel *k, const MlirValue *b, double p) {
  MlirValue x = b[0], perm = b[1], A = b[3], B = b[4], offsets = b[5], xd = b[6], z = b[7], y = b[8];
  MlirValue seed = LOAD(k, b[2], C(0));
  int parallel = k->parallel;
  Loop e = parallel_or_serial_begin(k, C(0), C(dim(A, 0)), 1, use_threads(k, numel(xd)));
  k->parallel = 0;
  MlirValue first = to_index(k, LOAD(k, offsets, e.iv)), end = to_index(k, LOAD(k, offsets, IADD(e.iv, C(1))));
  Loop block = loop_begin_carrying(k, first, end, CHAIN_ROWS, 0, NULL);
  MlirValue last = arith(k, "arith.minsi", IADD(block.iv, C(CHAIN_ROWS)), end);
  chain_rows(k, x, perm, seed, p, xd, weights_of(A, e.iv), z, weights_of(B, e.iv), output_of(y), block.iv, last, 0);
  loop_end_carrying(k, &block, NULL, NULL);
  k->parallel = parallel;
  parallel_or_serial_end(k, &e);
}

/* ---- the language's elementwise functions: y = f(x), and f'(x) for dx = dy · f'(x) ---- */
/* tanh x = 1 − 2/(e^{2x} + 1): ±1 where e^{2x} overflows or underflows */
static MlirValue tanh_value(Kernel *k, MlirValue x) {
  return SUB(F(1.0), DIV(F(2.0), ADD(exp_value(k, MUL(x, F(2.0))), F(1.0))));
}
/* GELU in its tanh form (PyTorch's approximate='tanh'): 0.5 x (1 + tanh(c (x + 0.044715 x³))), c = √(2/π) */
static const double gelu_c = 0.7978845608028654, gelu_a = 0.044715;
static MlirValue gelu_tanh(Kernel *k, MlirValue x) {
  return tanh_value(k, MUL(F(gelu_c), ADD(x, MUL(F(gelu_a), MUL(x, MUL(x, x))))));
}
static MlirValue sign_value(Kernel *k, MlirValue x) {
  return select_value(k, compare_float(k, "ogt", x, F(0.0)), F(1.0),
                      select_value(k, compare_float(k, "olt", x, F(0.0)), F(-1.0), F(0.0)));
}

static MlirValue function_value(Kernel *k, OpId id, MlirValue x) {
  switch (id) {
  case OP_SIGMOID: return sigmoid(k, x);
  case OP_TANH: return tanh_value(k, x);
  case OP_RELU: return arith(k, "arith.maximumf", x, F(0.0)); /* NaN stays NaN */
  case OP_GELU: return MUL(MUL(F(0.5), x), ADD(F(1.0), gelu_tanh(k, x)));
  case OP_EXP: return exp_value(k, x);
  case OP_LOG: return unary(k, "math.log", x);
  case OP_SQRT: return unary(k, "math.sqrt", x);
  case OP_ABS: return unary(k, "math.absf", x);
  default: IR_CHECK(0, "cpu_kernels: not an elementwise function"); return x;
  }
}

static MlirValue function_derivative(Kernel *k, OpId id, MlirValue x) {
  switch (id) {
  case OP_SIGMOID: {
    MlirValue s = sigmoid(k, x);
    return MUL(s, SUB(F(1.0), s));
  }
  case OP_TANH: {
    MlirValue t = tanh_value(k, x);
    return SUB(F(1.0), MUL(t, t));
  }
  case OP_RELU: return select_value(k, compare_float(k, "ogt", x, F(0.0)), F(1.0), F(0.0));
  case OP_GELU: { /* 0.5 (1 + t) + 0.5 x (1 − t²) c (1 + 3a x²) */
    MlirValue t = gelu_tanh(k, x);
    MlirValue inner = MUL(F(gelu_c), ADD(F(1.0), MUL(F(3.0 * gelu_a), MUL(x, x))));
    return ADD(MUL(F(0.5), ADD(F(1.0), t)), MUL(MUL(F(0.5), x), MUL(SUB(F(1.0), MUL(t, t)), inner)));
  }
  case OP_EXP: return exp_value(k, x);
  case OP_LOG: return DIV(F(1.0), x);
  case OP_SQRT: return DIV(F(0.5), unary(k, "math.sqrt", x));
  case OP_ABS: return sign_value(k, x);
  default: IR_CHECK(0, "cpu_kernels: not an elementwise function"); return x;
  }
}

static OpId op_id(MlirOperation op) { return (OpId)(op_info_of(op) - op_table); }
static MlirValue function_element(Kernel *k, const MlirValue *x, const void *id) {
  return function_value(k, *(const OpId *)id, x[0]);
}
/* x = {x, dy} */
static MlirValue function_grad_element(Kernel *k, const MlirValue *x, const void *id) {
  return MUL(x[1], function_derivative(k, *(const OpId *)id, x[0]));
}
/* maximum/minimum and a's gradient: dy where a wins, dy/2 where a = b; x = {a, b, dy} */
static MlirValue extremum_element(Kernel *k, const MlirValue *x, const void *id) {
  return arith(k, *(const OpId *)id == OP_MAXIMUM ? "arith.maximumf" : "arith.minimumf", x[0], x[1]);
}
static MlirValue extremum_grad_element(Kernel *k, const MlirValue *x, const void *id) {
  MlirValue wins = compare_float(k, *(const OpId *)id == OP_MAXIMUM_GRAD ? "ogt" : "olt", x[0], x[1]);
  MlirValue tie = compare_float(k, "oeq", x[0], x[1]);
  return select_value(k, wins, x[2], select_value(k, tie, MUL(x[2], F(0.5)), F(0.0)));
}

/* y = x − max − log Σ exp(x − max) per row; dx = dy − exp(y) · Σ dy */
static void log_softmax(Kernel *k, MlirValue x, MlirValue y) {
  ROWS(r, dim(x, 0), dim(x, 1));
  MlirValue max, log_sum;
  log_sum_exp(k, x, r.iv, &max, &log_sum);
  FOR(c, C(0), C(dim(x, 1)));
  STORE(k, SUB(SUB(LOAD(k, x, r.iv, c.iv), max), log_sum), y, r.iv, c.iv);
  END(c);
  END_ROWS(r);
}
static void log_softmax_grad(Kernel *k, MlirValue y, MlirValue dy, MlirValue dx) {
  ROWS(r, dim(y, 0), dim(y, 1));
  Loop s = loop_begin(k, C(0), C(dim(y, 1)), F(0.0));
  MlirValue sum = loop_end(k, &s, ADD(s.acc, LOAD(k, dy, r.iv, s.iv)));
  FOR(c, C(0), C(dim(y, 1)));
  STORE(k, SUB(LOAD(k, dy, r.iv, c.iv), MUL(exp_value(k, LOAD(k, y, r.iv, c.iv)), sum)), dx, r.iv, c.iv);
  END(c);
  END_ROWS(r);
}

/* ---- reductions along one axis of x (rank 1-3): the loops over y's indices, outermost on threads
 * when x is large; x's index is y's with the axis's inserted ---- */
typedef struct {
  Loop loops[3];
  int count;
  MlirValue index[3]; /* y's index */
} Outer;

static Outer outer_begin(Kernel *k, MlirValue x, int axis) {
  Outer o = {.count = 0};
  for (int d = 0; d < rank(x); d++) {
    if (d == axis) continue;
    if (o.count == 0) {
      o.loops[0] = parallel_or_serial_begin(k, C(0), C(dim(x, d)), 1, use_threads(k, numel(x)));
    } else {
      o.loops[o.count] = loop_begin(k, C(0), C(dim(x, d)), no_value);
    }
    o.index[o.count] = o.loops[o.count].iv;
    o.count++;
  }
  return o;
}
static void outer_end(Kernel *k, Outer *o) {
  for (int i = o->count - 1; i > 0; i--) loop_end(k, &o->loops[i], no_value);
  if (o->count > 0) parallel_or_serial_end(k, &o->loops[0]);
}
/* x's index: y's index with `along` at the axis */
static int x_index(const Outer *o, int axis, int x_rank, MlirValue along, MlirValue *index) {
  for (int d = 0, j = 0; d < x_rank; d++) index[d] = d == axis ? along : o->index[j++];
  return x_rank;
}
/* y's index (y the reduced value): the outer loops', or with 0 at the axis when y keeps it as 1 */
static int y_index(Kernel *k, const Outer *o, int axis, MlirValue y, MlirValue *index) {
  if (rank(y) == o->count) {
    for (int d = 0; d < o->count; d++) index[d] = o->index[d];
    return o->count;
  }
  return x_index(o, axis, rank(y), C(0), index);
}

/* x's elements after the axis: x flattened, y's element o and position a along the axis are
 * element (o / inner) · n · inner + a · inner + o mod inner */
static int64_t inner_elements(MlirValue x, int axis) {
  int64_t inner = 1;
  for (int d = axis + 1; d < rank(x); d++) inner *= dim(x, d);
  return inner;
}
static MlirValue flat_x_index(Kernel *k, MlirValue o, MlirValue a, int64_t n, int64_t inner) {
  MlirValue outer = arith(k, "arith.divui", o, C(inner)), within = arith(k, "arith.remui", o, C(inner));
  return IADD(IADD(IMUL(outer, C(n * inner)), IMUL(a, C(inner))), within);
}
static void store_flat(Kernel *k, MlirValue v, MlirValue memref, MlirValue i) {
  if (rank(memref) == 0) store(k, v, memref, 0, NULL);
  else STORE(k, v, flatten(k, memref), i);
}

/* reduce on a GPU, when the axis is long enough to share (reduce_lanes): a block an element of y
 * whose lanes share the axis (lane_sum_begin; a thread an element of y would walk the axis alone:
 * the mean over 4096 tokens of 64 experts' probabilities would be 64 threads). */
typedef struct {
  MlirValue flat_x;
  int64_t n, inner;
} AxisTerms;
static MlirValue axis_term(Kernel *k, MlirValue o, MlirValue a, const void *data) {
  const AxisTerms *x = data;
  return LOAD(k, x->flat_x, flat_x_index(k, o, a, x->n, x->inner));
}
static void reduce_gpu(Kernel *k, MlirValue x, MlirValue y, int axis, OpId id, MlirValue partial) {
  int64_t n = dim(x, axis);
  AxisTerms terms = {flatten(k, x), n, inner_elements(x, axis)};
  LaneSum sum = lane_sum_begin(k, numel(x) / n, n, reduce_lanes(n), axis_term, &terms, id == OP_REDUCE_MAX, partial);
  store_flat(k, id == OP_REDUCE_MEAN ? DIV(sum.total, F((double)n)) : sum.total, y, sum.o);
  lane_sum_end(k, &sum);
}

/* id: OP_REDUCE_SUM, _MEAN or _MAX; partial: the GPU form's scratch */
static void reduce(Kernel *k, MlirValue x, MlirValue y, int axis, OpId id, MlirValue partial) {
  int64_t n = dim(x, axis);
  if (k->gpu && reduce_lanes(n) > 1) {
    reduce_gpu(k, x, y, axis, id, partial);
    return;
  }
  Outer o = outer_begin(k, x, axis);
  MlirValue index[3];
  Loop a = loop_begin(k, C(0), C(n), F(id == OP_REDUCE_MAX ? -INFINITY : 0.0));
  MlirValue v = load(k, x, x_index(&o, axis, rank(x), a.iv, index), index);
  MlirValue total = loop_end(k, &a, id == OP_REDUCE_MAX ? arith(k, "arith.maximumf", a.acc, v) : ADD(a.acc, v));
  if (id == OP_REDUCE_MEAN) total = DIV(total, F((double)n));
  MlirValue at[3];
  store(k, total, y, y_index(k, &o, axis, y, at), at);
  outer_end(k, &o);
}
/* dx = dy repeated along the axis (on a GPU a thread an element of dx) */
static void reduce_sum_grad(Kernel *k, MlirValue dy, MlirValue dx, int axis) {
  if (k->gpu) {
    int64_t n = dim(dx, axis), inner = inner_elements(dx, axis);
    Elements e = elements_begin(k, numel(dx));
    MlirValue i = e.i.iv, o = IADD(IMUL(arith(k, "arith.divui", i, C(n * inner)), C(inner)), arith(k, "arith.remui", i, C(inner)));
    MlirValue g = rank(dy) == 0 ? load(k, dy, 0, NULL) : LOAD(k, flatten(k, dy), o);
    STORE(k, g, flatten(k, dx), i);
    elements_end(k, &e);
    return;
  }
  Outer o = outer_begin(k, dx, axis);
  MlirValue at[3];
  MlirValue g = load(k, dy, y_index(k, &o, axis, dy, at), at), index[3];
  FOR(a, C(0), C(dim(dx, axis)));
  store(k, g, dx, x_index(&o, axis, rank(dx), a.iv, index), index);
  END(a);
  outer_end(k, &o);
}
/* dx = dy at the first index along the axis where x equals the max y, 0 elsewhere */
static void reduce_max_grad(Kernel *k, MlirValue x, MlirValue y, MlirValue dy, MlirValue dx, int axis) {
  int64_t n = dim(x, axis);
  Outer o = outer_begin(k, x, axis);
  MlirValue at[3];
  int n_at = y_index(k, &o, axis, y, at);
  MlirValue max = load(k, y, n_at, at), g = load(k, dy, n_at, at), index[3];
  Loop f = loop_begin(k, C(0), C(n), C(n));
  MlirValue hit = arith(k, "arith.andi", compare_index(k, "eq", f.acc, C(n)),
                        compare_float(k, "oeq", load(k, x, x_index(&o, axis, rank(x), f.iv, index), index), max));
  MlirValue first = loop_end(k, &f, select_value(k, hit, f.iv, f.acc));
  FOR(a, C(0), C(n));
  store(k, select_value(k, compare_index(k, "eq", a.iv, first), g, F(0.0)), dx,
        x_index(&o, axis, rank(x), a.iv, index), index);
  END(a);
  outer_end(k, &o);
}

/* ---- numpy broadcasting: element i of the large value reads element small_index(i) of the small
 * one (dims aligned from the right; a dim of 1, or a missing one, is read at 0) ---- */
static MlirValue small_index(Kernel *k, MlirValue i, MlirValue large, MlirValue small) {
  int rank_large = rank(large), rank_small = rank(small);
  MlirValue j = C(0), rest = i;
  int64_t stride = 1;
  for (int d = rank_large - 1; d >= 0; d--) {
    int64_t n = dim(large, d);
    MlirValue coordinate = arith(k, "arith.remui", rest, C(n));
    rest = arith(k, "arith.divui", rest, C(n));
    int ds = d - (rank_large - rank_small);
    if (ds < 0) continue;
    if (dim(small, ds) == n && n > 1) j = IADD(j, arith(k, "arith.muli", coordinate, C(stride)));
    stride *= dim(small, ds);
  }
  return j;
}
static MlirValue flat(Kernel *k, MlirValue m) { return rank(m) == 1 ? m : flatten(k, m); }
static void broadcast(Kernel *k, MlirValue x, MlirValue y) {
  MlirValue flat_y = flat(k, y);
  if (rank(x) == 0) {
    MlirValue v = load(k, x, 0, NULL);
    Elements e = elements_begin(k, numel(y));
    STORE(k, v, flat_y, e.i.iv);
    elements_end(k, &e);
    return;
  }
  MlirValue flat_x = flat(k, x);
  Elements e = elements_begin(k, numel(y));
  STORE(k, LOAD(k, flat_x, small_index(k, e.i.iv, y, x)), flat_y, e.i.iv);
  elements_end(k, &e);
}
static MlirValue identity_element(Kernel *k, const MlirValue *x, const void *unused) { return x[0]; }

/* The element of dy that is the s-th (in order) of those broadcast from element j of dx: j's
 * coordinates along dx's dims of more than 1, s's along dy's dims that dx broadcasts (row-major,
 * so the i grow with s). */
static MlirValue broadcast_source(Kernel *k, MlirValue j, MlirValue s, MlirValue dy, MlirValue dx) {
  int rank_large = rank(dy), offset = rank(dy) - rank(dx);
  MlirValue i = C(0), j_rest = j, s_rest = s;
  int64_t stride = 1;
  for (int d = rank_large - 1; d >= 0; d--) {
    int64_t n = dim(dy, d);
    int kept = d >= offset && dim(dx, d - offset) == n && n > 1;
    MlirValue *rest = kept ? &j_rest : &s_rest;
    MlirValue coordinate = arith(k, "arith.remui", *rest, C(n));
    *rest = arith(k, "arith.divui", *rest, C(n));
    i = IADD(i, IMUL(coordinate, C(stride)));
    stride *= n;
  }
  return i;
}

/* sum_to on a GPU: dx[j] = Σ over the `count` elements of dy broadcast from j. A scalar dx: sum_gpu's
 * chunks and lanes; else a thread an element of dx adding its elements in order (count below
 * REDUCE_MIN_LANES), or a block one whose lanes share them (lane_sum_begin). */
typedef struct {
  MlirValue flat_dy, dy, dx;
} BroadcastTerms;
static MlirValue broadcast_term(Kernel *k, MlirValue j, MlirValue s, const void *data) {
  const BroadcastTerms *b = data;
  return LOAD(k, b->flat_dy, broadcast_source(k, j, s, b->dy, b->dx));
}
static void sum_to_gpu(Kernel *k, MlirValue dy, MlirValue dx, MlirValue partial) {
  BroadcastTerms terms = {flat(k, dy), dy, dx};
  if (rank(dx) == 0) {
    sum_gpu(k, identity_element, 1, &terms.flat_dy, numel(dy), 0, dx, partial);
    return;
  }
  MlirValue flat_dx = flat(k, dx);
  int64_t outputs = numel(dx), count = numel(dy) / outputs, lanes = reduce_lanes(count);
  if (lanes > 1) {
    LaneSum sum = lane_sum_begin(k, outputs, count, lanes, broadcast_term, &terms, 0, partial);
    STORE(k, sum.total, flat_dx, sum.o);
    lane_sum_end(k, &sum);
    return;
  }
  Loop j = parallel_begin(k, C(0), C(outputs), 1);
  Loop s = loop_begin(k, C(0), C(count), F(0.0));
  STORE(k, loop_end(k, &s, ADD(s.acc, broadcast_term(k, j.iv, s.iv, &terms))), flat_dx, j.iv);
  parallel_end(k, &j);
}

/* dx[j] = Σ dy[i] over the i that read j, in order of i (one thread: the sums are scattered; on a
 * GPU sum_to_gpu, with `partial` its scratch) */
static void sum_to(Kernel *k, MlirValue dy, MlirValue dx, MlirValue partial) {
  if (k->gpu) {
    sum_to_gpu(k, dy, dx, partial);
    return;
  }
  fill(k, dx, 0.0);
  MlirValue flat_dy = flat(k, dy);
  if (rank(dx) == 0) {
    Loop i = loop_begin(k, C(0), C(numel(dy)), F(0.0));
    store(k, loop_end(k, &i, ADD(i.acc, LOAD(k, flat_dy, i.iv))), dx, 0, NULL);
    return;
  }
  MlirValue flat_dx = flat(k, dx);
  FOR(i, C(0), C(numel(dy)));
  MlirValue j = small_index(k, i.iv, dy, dx);
  STORE(k, ADD(LOAD(k, flat_dx, j), LOAD(k, flat_dy, i.iv)), flat_dx, j);
  END(i);
}

/* ---- comparisons (f32 masks) and where ---- */
static const char *const compare_predicates[] = {"olt", "ogt", "ole", "oge", "oeq", "une"};
static MlirValue compare_element(Kernel *k, const MlirValue *x, const void *predicate) {
  return select_value(k, compare_float(k, compare_predicates[*(const int *)predicate], x[0], x[1]), F(1.0), F(0.0));
}
/* x = {c, a, b} */
static MlirValue where_element(Kernel *k, const MlirValue *x, const void *unused) {
  return select_value(k, compare_float(k, "une", x[0], F(0.0)), x[1], x[2]);
}
/* x = {c, dy}: dy where c (branch 1) or where not c (branch 0), else 0 */
static MlirValue where_grad_element(Kernel *k, const MlirValue *x, const void *branch) {
  MlirValue taken = compare_float(k, *(const int *)branch ? "une" : "oeq", x[0], F(0.0));
  return select_value(k, taken, x[1], F(0.0));
}

/* ---- transpose, and expert-choice routing: row r = e·C + c of the routed rows is token tok[e, c] ---- */
static void transpose(Kernel *k, MlirValue x, MlirValue y) {
  Grid g = grid_rows_begin(k, dim(x, 0), dim(x, 1));
  grid_columns_begin(k, &g);
  STORE(k, LOAD(k, x, g.i, g.j), y, g.j, g.i);
  grid_end(k, &g);
}
/* the token of routed row r */
static MlirValue chosen_token(Kernel *k, MlirValue tok, MlirValue r) {
  int64_t C_ = dim(tok, 1);
  return to_index(k, LOAD(k, tok, arith(k, "arith.divui", r, C(C_)), arith(k, "arith.remui", r, C(C_))));
}
static MlirValue chosen_weight(Kernel *k, MlirValue w, MlirValue r) {
  int64_t C_ = dim(w, 1);
  return LOAD(k, w, arith(k, "arith.divui", r, C(C_)), arith(k, "arith.remui", r, C(C_)));
}
/* rows[r] = x[token of r]; offsets[e] = e·C */
static void ec_dispatch(Kernel *k, MlirValue x, MlirValue tok, MlirValue rows, MlirValue offsets) {
  int64_t N = dim(tok, 0), C_ = dim(tok, 1);
  FOR(e, C(0), C(N + 1));
  STORE(k, to_i32(k, arith(k, "arith.muli", e.iv, C(C_))), offsets, e.iv);
  END(e);
  Grid g = grid_rows_begin(k, N * C_, dim(x, 1));
  MlirValue t = chosen_token(k, tok, g.i);
  grid_columns_begin(k, &g);
  STORE(k, LOAD(k, x, t, g.j), rows, g.i, g.j);
  grid_end(k, &g);
}
/* ec_scatter on a GPU (threads owning columns would leave D threads each walking all N·C rows):
 * first slot[e, t] = the c at which expert e took token t, or −1 (a thread an (expert, token), then
 * a thread an (expert, c)); then a thread an element of tokens[T,D] adds its token's rows in expert
 * order — the CPU's row order — a row not taken adding +0.0, which changes no sum (a sum that starts
 * at +0.0 is never −0.0): the same bits. */
static void ec_scatter_gpu(Kernel *k, MlirValue rows, MlirValue tok, MlirValue w, MlirValue tokens, MlirValue slot) {
  int64_t N = dim(tok, 0), C_ = dim(tok, 1), T = dim(tokens, 0), D = dim(tokens, 1);
  Loop et = parallel_begin(k, C(0), C(N * T), 1);
  STORE(k, to_i32(k, C(-1)), slot, et.iv);
  parallel_end(k, &et);
  Loop ec = parallel_begin(k, C(0), C(N * C_), 1);
  MlirValue e = arith(k, "arith.divui", ec.iv, C(C_)), c = arith(k, "arith.remui", ec.iv, C(C_));
  STORE(k, to_i32(k, c), slot, IADD(IMUL(e, C(T)), to_index(k, LOAD(k, tok, e, c))));
  parallel_end(k, &ec);
  Loop i = parallel_begin(k, C(0), C(T * D), 1);
  MlirValue t = arith(k, "arith.divui", i.iv, C(D)), d = arith(k, "arith.remui", i.iv, C(D));
  Loop x = loop_begin(k, C(0), C(N), F(0.0));
  MlirValue taken_at = to_index(k, LOAD(k, slot, IADD(IMUL(x.iv, C(T)), t)));
  MlirValue is_taken = compare_index(k, "sge", taken_at, C(0));
  MlirValue c_at = arith(k, "arith.maxsi", taken_at, C(0)); /* a row to read when not taken, then dropped */
  MlirValue row = IADD(IMUL(x.iv, C(C_)), c_at);
  MlirValue v = LOAD(k, rows, row, d);
  if (!mlirValueIsNull(w)) v = MUL(LOAD(k, w, x.iv, c_at), v);
  STORE(k, loop_end(k, &x, ADD(x.acc, select_value(k, is_taken, v, F(0.0)))), tokens, t, d);
  parallel_end(k, &i);
}

/* tokens[t] = Σ over the rows of t (weighted by w when given), in row order; threads own columns
 * (a GPU: ec_scatter_gpu, `slot` its scratch) */
static void ec_scatter(Kernel *k, MlirValue rows, MlirValue tok, MlirValue w, MlirValue tokens, MlirValue slot) {
  int64_t R = dim(rows, 0), D = dim(rows, 1);
  if (k->gpu) {
    ec_scatter_gpu(k, rows, tok, w, tokens, slot);
    return;
  }
  fill(k, tokens, 0.0);
  Loop c0 = column_blocks_begin(k, R, D);
  FOR(r, C(0), C(R));
  MlirValue t = chosen_token(k, tok, r.iv);
  MlirValue weight = mlirValueIsNull(w) ? no_value : chosen_weight(k, w, r.iv);
  FOR(d, c0.iv, column_block_end(k, c0.iv, D));
  MlirValue v = LOAD(k, rows, r.iv, d.iv);
  STORE(k, ADD(LOAD(k, tokens, t, d.iv), mlirValueIsNull(weight) ? v : MUL(weight, v)), tokens, t, d.iv);
  END(d);
  END(r);
  parallel_or_serial_end(k, &c0);
}
/* drows[r] = w[r] · dy[token of r] */
static void ec_combine_grad_rows(Kernel *k, MlirValue dy, MlirValue tok, MlirValue w, MlirValue drows) {
  Grid g = grid_rows_begin(k, dim(drows, 0), dim(drows, 1));
  MlirValue t = chosen_token(k, tok, g.i), weight = chosen_weight(k, w, g.i);
  grid_columns_begin(k, &g);
  STORE(k, MUL(weight, LOAD(k, dy, t, g.j)), drows, g.i, g.j);
  grid_end(k, &g);
}
/* the GPU form's term: dy[token of row] · rows[row], column d */
typedef struct {
  MlirValue dy, rows, tok;
} ChosenRowDot;
static MlirValue chosen_row_dot_term(Kernel *k, MlirValue row, MlirValue d, const void *data) {
  const ChosenRowDot *r = data;
  return MUL(LOAD(k, r->dy, chosen_token(k, r->tok, row), d), LOAD(k, r->rows, row, d));
}
/* dw[e, c] = dy[tok[e, c]] · rows[e·C + c] (a GPU: a warp a row, lane_sum_begin; partial its scratch) */
static void ec_combine_grad_weights(Kernel *k, MlirValue dy, MlirValue rows, MlirValue tok, MlirValue dw,
                                    MlirValue partial) {
  int64_t C_ = dim(tok, 1);
  if (k->gpu) {
    ChosenRowDot dot = {dy, rows, tok};
    LaneSum sum = lane_sum_begin(k, dim(rows, 0), dim(rows, 1), combine_weight_lanes(dim(rows, 1)),
                                 chosen_row_dot_term, &dot, 0, partial);
    STORE(k, sum.total, dw, arith(k, "arith.divui", sum.o, C(C_)), arith(k, "arith.remui", sum.o, C(C_)));
    lane_sum_end(k, &sum);
    return;
  }
  ROWS(r, dim(rows, 0), dim(rows, 1));
  MlirValue t = chosen_token(k, tok, r.iv);
  Loop d = loop_begin(k, C(0), C(dim(rows, 1)), F(0.0));
  MlirValue dot = loop_end(k, &d, ADD(d.acc, MUL(LOAD(k, dy, t, d.iv), LOAD(k, rows, r.iv, d.iv))));
  STORE(k, dot, dw, arith(k, "arith.divui", r.iv, C(C_)), arith(k, "arith.remui", r.iv, C(C_)));
  END_ROWS(r);
}

/* ---- an expert's parameter per dispatched row: rows[r, :] = bank[e, :] for e's rows (offsets), the
 * slice flattened; the gradient sums each expert's rows in order ---- */
/* On a GPU (E threads walking their experts' rows would leave a GPU nearly idle): the forward a
 * thread an element of rows, its expert found by a binary search of the offsets (the last e with
 * offsets[e] ≤ r: empty experts skipped); the gradient a thread an element of the bank, adding its
 * expert's rows in order from 0 (the CPU's fill and sums: the same bits). */
static MlirValue expert_of_row(Kernel *k, MlirValue offsets, int64_t E, MlirValue r) {
  int steps = 1;
  while ((int64_t)1 << (steps - 1) < E) steps++;
  Loop search = loop_begin_carrying(k, C(0), C(steps), 1, 2, (MlirValue[]){C(0), C(E)});
  MlirValue lo = search.carried[0], hi = search.carried[1];
  MlirValue mid = arith(k, "arith.divui", IADD(lo, hi), C(2));
  MlirValue at_or_after = compare_index(k, "sle", to_index(k, LOAD(k, offsets, mid)), r);
  MlirValue found[2];
  loop_end_carrying(k, &search, (MlirValue[]){select_value(k, at_or_after, mid, lo), select_value(k, at_or_after, hi, mid)},
                    found);
  return found[0];
}
static void expert_rows_gpu(Kernel *k, MlirValue flat_bank, MlirValue offsets, MlirValue flat_rows, int64_t E,
                            int64_t width, int gradient) {
  if (gradient) {
    Loop i = parallel_begin(k, C(0), C(E * width), 1);
    MlirValue e = arith(k, "arith.divui", i.iv, C(width)), c = arith(k, "arith.remui", i.iv, C(width));
    Loop r = loop_begin(k, to_index(k, LOAD(k, offsets, e)), to_index(k, LOAD(k, offsets, IADD(e, C(1)))), F(0.0));
    MlirValue sum = loop_end(k, &r, ADD(r.acc, LOAD(k, flat_rows, IADD(IMUL(r.iv, C(width)), c))));
    STORE(k, sum, flat_bank, i.iv);
    parallel_end(k, &i);
    return;
  }
  int64_t R = numel(flat_rows) / width;
  Loop i = parallel_begin(k, C(0), C(R * width), 1);
  MlirValue r = arith(k, "arith.divui", i.iv, C(width)), c = arith(k, "arith.remui", i.iv, C(width));
  Loop routed = if_begin(k, compare_index(k, "slt", r, to_index(k, LOAD(k, offsets, C(E))))); /* rows past the experts' stay */
  MlirValue e = expert_of_row(k, offsets, E, r);
  STORE(k, LOAD(k, flat_bank, IADD(IMUL(e, C(width)), c)), flat_rows, i.iv);
  if_end(k, &routed);
  parallel_end(k, &i);
}
static void expert_rows(Kernel *k, MlirValue bank, MlirValue offsets, MlirValue rows, int gradient) {
  int64_t E = dim(bank, 0), width = numel(bank) / E;
  MlirValue flat_bank = flat(k, bank), flat_rows = flat(k, rows);
  if (k->gpu) {
    expert_rows_gpu(k, flat_bank, offsets, flat_rows, E, width, gradient);
    return;
  }
  if (gradient) fill(k, bank, 0.0);
  Loop e = parallel_or_serial_begin(k, C(0), C(E), 1, use_threads(k, numel(rows)));
  MlirValue first = to_index(k, LOAD(k, offsets, e.iv)), last = to_index(k, LOAD(k, offsets, IADD(e.iv, C(1))));
  FOR(r, first, last);
  FOR(c, C(0), C(width));
  MlirValue at_bank = IADD(arith(k, "arith.muli", e.iv, C(width)), c.iv);
  MlirValue at_rows = IADD(arith(k, "arith.muli", r.iv, C(width)), c.iv);
  if (gradient)
    STORE(k, ADD(LOAD(k, flat_bank, at_bank), LOAD(k, flat_rows, at_rows)), flat_bank, at_bank);
  else
    STORE(k, LOAD(k, flat_bank, at_bank), flat_rows, at_rows);
  END(c);
  END(r);
  parallel_or_serial_end(k, &e);
}

/* ---- the entry points of the table: b = inputs, outputs, scratch ---- */
#define KERNEL(name) int cpu_##name(Kernel *k, MlirOperation op, const MlirValue *b)

KERNEL(scale) {
  double factor = op_float_attribute(op, "factor", 1.0);
  elementwise(k, 1, b, b[1], scale_element, &factor);
  return 1;
}
/* silu, silu_grad and their fused forms swiglu, swiglu_grad round every op as written
 * (k->strict), so perft-fuse-swiglu changes no bit of the results; so do combine and the
 * combining epilogue of grouped_matmul_combine (matmul_kernels.c), for perft-fuse-route. */
#define STRICT(...) (k->strict = 1, __VA_ARGS__, k->strict = 0, 1)
KERNEL(silu) { return STRICT(elementwise(k, 1, b, b[1], silu_element, NULL)); }
KERNEL(silu_grad) { return STRICT(elementwise(k, 2, b, b[2], silu_grad_element, NULL)); }
KERNEL(swiglu) { return STRICT(elementwise(k, 2, b, b[2], swiglu_element, NULL)); }
KERNEL(swiglu_grad) { return STRICT(swiglu_grad(k, b[0], b[1], b[2], b[3], b[4])); }
KERNEL(softmax) { softmax(k, b[0], b[1]); return 1; }
KERNEL(softmax_grad) { softmax_grad(k, b[0], b[1], b[2]); return 1; }
KERNEL(top_k) { top_k(k, b[0], b[1], b[2], (int)op_int_attribute(op, "renormalize", 0), b[3]); return 1; }
KERNEL(softmax_top_k) {
  softmax_top_k(k, b[0], b[1], b[2], b[3], (int)op_int_attribute(op, "renormalize", 0));
  return 1;
}
/* strict: a GPU thread an entry sums its row's terms itself, and every entry must get the same sums
 * (fast-math would let the compiler reassociate them differently where the code around differs) */
KERNEL(top_k_grad) { return STRICT(top_k_grad(k, b[0], b[1], b[2], b[3], b[4], (int)op_int_attribute(op, "renormalize", 0))); }
KERNEL(dispatch) { sort_by_expert(k, b[1], b[0], b[2], b[3], b[4], b[5]); return 1; }
KERNEL(route) { sort_by_expert(k, b[0], no_value, no_value, b[1], b[2], b[3]); return 1; }
KERNEL(dispatch_grad) { dispatch_grad(k, b[0], b[1], b[2], b[3]); return 1; }
KERNEL(grouped_matmul) {
  if (k->library && library_gemm_grouped(k, b[0], b[1], b[2], b[3], (int)op_int_attribute(op, "transpose_w", 0)))
    return 1;
  grouped_matmul(k, rows_of(b[0]), b[1], b[2], output_of(b[3]), (int)op_int_attribute(op, "transpose_w", 0), no_value);
  return 1;
}
KERNEL(grouped_matmul_grad_weight) {
  if (k->library &&
      library_gemm_grouped_grad_weight(k, b[0], b[1], b[2], b[3], (int)op_int_attribute(op, "transpose_w", 0)))
    return 1;
  grouped_matmul_grad_weight(k, b[0], rows_of(b[1]), b[2], b[3], (int)op_int_attribute(op, "transpose_w", 0));
  return 1;
}
/* gathered_matmul(x, perm, bank, offsets) -> y, scratch panel[T, K];
 * gathered_matmul_grad_weight(dy, x, perm, offsets) -> dbank (reads x through perm) */
KERNEL(gathered_matmul) {
  grouped_matmul(k, gathered(b[0], b[1]), b[2], b[3], output_of(b[4]), (int)op_int_attribute(op, "transpose_w", 0), b[5]);
  return 1;
}
KERNEL(gathered_matmul_grad_weight) {
  grouped_matmul_grad_weight(k, b[0], gathered(b[1], b[2]), b[3], b[4], (int)op_int_attribute(op, "transpose_w", 0));
  return 1;
}
/* grouped_matmul_combine(rows, bank[E,N,K], offsets, perm, w) {scale} -> y[T,N] */
KERNEL(grouped_matmul_combine) {
  grouped_matmul(k, rows_of(b[0]), b[1], b[2], (Output){.memref = b[5], .perm = b[3], .w = b[4], .scale = op_float_attribute(op, "scale", 1.0)},
                 1,
                 no_value);
  return 1;
}
/* matmul_scale_add(x[M,K], w[N,K], addend[M,N]) {scale} -> y[M,N];
 * grouped_matmul_scale_add(rows[R,K], bank[E,N,K], offsets, addend[R,N]) {scale} -> y[R,N] */
KERNEL(matmul_scale_add) {
  Output y = {.memref = b[3], .scale = op_float_attribute(op, "scale", 1.0), .addend = b[2]};
  matmul_dot_rows(k, rows_of(b[0]), (Weights){b[1], no_value, no_value, 0, no_value, no_value}, C(0), C(dim(b[0], 0)),
                  y, 0);
  return 1;
}
/* scale · u + addend, as perft.scale and linalg.add round it (strict: no contraction) */
static MlirValue scale_add_element(Kernel *k, const MlirValue *x, const void *scale) {
  return ADD(MUL(x[0], F(*(const double *)scale)), x[1]);
}
KERNEL(grouped_matmul_scale_add) {
  double scale = op_float_attribute(op, "scale", 1.0);
  /* with a GEMM library (a GPU's, where this kernel's threads would own columns over every
   * expert's rows): the grouped GEMM into y, then y = addend + scale · y a thread an element, the
   * numbers of the unfused GEMM, scale and add */
  if (k->library && library_gemm_grouped(k, b[0], b[1], b[2], b[4], 1))
    return STRICT(elementwise(k, 2, (MlirValue[]){b[4], b[3]}, b[4], scale_add_element, &scale));
  grouped_matmul(k, rows_of(b[0]), b[1], b[2], (Output){.memref = b[4], .scale = scale, .addend = b[3]}, 1, no_value);
  return 1;
}
KERNEL(lora_chain) { lora_chain(k, b, op_float_attribute(op, "p", 0.0), op_float_attribute(op, "scale", 1.0)); return 1; }
KERNEL(grouped_lora_chain) { grouped_lora_chain(k, b, op_float_attribute(op, "p", 0.0)); return 1; }
/* gathered_dropout(x[T,D], perm[R], seed) {p} -> xd[R,D]: the routed rows' dropout, read from their tokens */
KERNEL(gathered_dropout) {
  MlirValue seed = LOAD(k, b[2], C(0));
  int64_t R = dim(b[3], 0);
  Loop block = parallel_or_serial_begin(k, C(0), C(R), CHAIN_ROWS, use_threads(k, numel(b[3])));
  dropout_rows(k, b[0], b[1], seed, op_float_attribute(op, "p", 0.0), b[3], block.iv,
               arith(k, "arith.minsi", IADD(block.iv, C(CHAIN_ROWS)), C(R)));
  parallel_or_serial_end(k, &block);
  return 1;
}
/* grouped_matmul_join(a[R,K], bank[E,N,K], z[R,r], bank2[E,N,r], offsets) {scale} -> y[R,N];
 * grouped_matmul_join_combine(..., perm, w) {scale} -> y[T,N]: y = a·bankᵀ + scale · z·bank2ᵀ per expert */
static Output joined(MlirValue out, MlirValue z, MlirValue bank2, double scale) {
  return (Output){.memref = out, .scale = 1.0, .second_x = z, .second_w = weights_of(bank2, no_value), .second_scale = scale};
}
KERNEL(grouped_matmul_join) {
  grouped_matmul(k, rows_of(b[0]), b[1], b[4], joined(b[5], b[2], b[3], op_float_attribute(op, "scale", 1.0)), 1,
                 no_value);
  return 1;
}
KERNEL(grouped_matmul_join_combine) {
  Output y = joined(b[7], b[2], b[3], op_float_attribute(op, "scale", 1.0));
  y.perm = b[5];
  y.w = b[6];
  grouped_matmul(k, rows_of(b[0]), b[1], b[4], y, 1, no_value);
  return 1;
}
KERNEL(concat) { concat(k, b[0], b[1], b[2], (int)op_int_attribute(op, "axis", 0)); return 1; }
KERNEL(slice) {
  slice(k, b[0], b[1], (int)op_int_attribute(op, "axis", 0), op_int_attribute(op, "start", 0));
  return 1;
}
/* combine(rows, perm, w) -> y;  combine_grad_rows(dy, perm, w) -> drows */
KERNEL(combine) { return STRICT(weighted_rows(k, b[0], b[1], b[2], b[3], 1, b[4])); }
KERNEL(combine_grad_rows) { weighted_rows(k, b[3], b[1], b[2], b[0], 0, no_value); return 1; }
KERNEL(combine_grad_weights) { combine_grad_weights(k, b[0], b[1], b[2], b[3], b[4]); return 1; }
KERNEL(load_balance) { load_balance(k, b[0], b[1], b[2], b[3]); return 1; }
KERNEL(load_balance_grad) { load_balance_grad(k, b[0], b[1], b[2], b[3]); return 1; }
KERNEL(expert_fraction) { expert_fraction(k, b[0], b[1], b[2]); return 1; }
KERNEL(mse) { mse(k, b[0], b[1], b[2], b[3]); return 1; }
KERNEL(mse_grad) {
  double two_over_n = 2.0 / (double)numel(b[0]);
  elementwise(k, 3, b, b[3], mse_grad_element, &two_over_n);
  return 1;
}
KERNEL(rmsnorm) { rmsnorm(k, b[0], b[1], b[2], op_float_attribute(op, "eps", 1e-6), b[3]); return 1; }
KERNEL(rmsnorm_grad_input) {
  rmsnorm_grad_input(k, b[0], b[1], b[2], b[3], op_float_attribute(op, "eps", 1e-6), b[4]);
  return 1;
}
KERNEL(rmsnorm_grad_weight) {
  rmsnorm_grad_weight(k, b[0], b[1], b[2], op_float_attribute(op, "eps", 1e-6), b[3]);
  return 1;
}
KERNEL(embedding) { embedding(k, b[0], flat(k, b[1]), b[2]); return 1; } /* ids [T] or [B, S] */
KERNEL(rope) {
  rope(k, b[0], b[1], op_int_attribute(op, "heads", 1), op_int_attribute(op, "seq", 1),
       op_float_attribute(op, "theta", 10000.0), 1.0);
  return 1;
}
KERNEL(rope_grad) {
  rope(k, b[0], b[1], op_int_attribute(op, "heads", 1), op_int_attribute(op, "seq", 1),
       op_float_attribute(op, "theta", 10000.0), -1.0);
  return 1;
}
KERNEL(causal_attention) {
  causal_attention(k, b[0], b[1], b[2], b[3], op_int_attribute(op, "heads", 1), op_int_attribute(op, "kv_heads", 1),
                   op_int_attribute(op, "seq", 1));
  return 1;
}
KERNEL(causal_attention_grad) {
  causal_attention_grad(k, b, op_int_attribute(op, "heads", 1), op_int_attribute(op, "kv_heads", 1),
                        op_int_attribute(op, "seq", 1));
  return 1;
}
KERNEL(embedding_grad) { embedding_grad(k, flat(k, b[0]), b[1], b[2]); return 1; }
KERNEL(cross_entropy) { cross_entropy(k, b[0], flat(k, b[1]), b[2], b[3]); return 1; } /* labels [T] or [B, S] */
KERNEL(cross_entropy_grad) { cross_entropy_grad(k, b[0], flat(k, b[1]), b[2], b[3], b[4]); return 1; }
/* dropout and dropout_grad draw the same mask: (x or dy, seed) -> out */
KERNEL(dropout) { dropout(k, b[0], b[1], b[2], op_float_attribute(op, "p", 0.0)); return 1; }
/* the language's functions: (x) -> y; (x, dy) -> dx; maximum/minimum (a, b) -> y, (a, b, dy) -> da */
KERNEL(unary) {
  OpId id = op_id(op);
  return STRICT(elementwise(k, 1, b, b[1], function_element, &id));
}
KERNEL(unary_grad) {
  OpId id = (OpId)(op_id(op) - 1); /* the function's entry precedes its gradient's */
  return STRICT(elementwise(k, 2, b, b[2], function_grad_element, &id));
}
KERNEL(extremum) {
  OpId id = op_id(op);
  return STRICT(elementwise(k, 2, b, b[2], extremum_element, &id));
}
KERNEL(extremum_grad) {
  OpId id = op_id(op);
  return STRICT(elementwise(k, 3, b, b[3], extremum_grad_element, &id));
}
KERNEL(log_softmax) { log_softmax(k, b[0], b[1]); return 1; }
KERNEL(broadcast) { broadcast(k, b[0], b[1]); return 1; }
KERNEL(transpose) { transpose(k, b[0], b[1]); return 1; }
/* nest_indices(idx, offsets) {width} -> nested: nested[r, s] = e·width + idx[r, s], e the expert of row r */
KERNEL(nest_indices) {
  int64_t width = op_int_attribute(op, "width", 1), E = dim(b[1], 0) - 1;
  if (k->gpu) { /* a thread an entry (r, s): its row's expert, the experts whose rows end at or before r */
    Grid g = grid_rows_begin(k, dim(b[0], 0), dim(b[0], 1));
    grid_columns_begin(k, &g);
    Loop e = loop_begin(k, C(0), C(E), C(0));
    MlirValue before = compare_index(k, "sle", to_index(k, LOAD(k, b[1], IADD(e.iv, C(1)))), g.i);
    MlirValue expert = loop_end(k, &e, select_value(k, before, IADD(e.acc, C(1)), e.acc));
    MlirValue base = to_i32(k, arith(k, "arith.muli", expert, C(width)));
    STORE(k, arith(k, "arith.addi", LOAD(k, b[0], g.i, g.j), base), b[2], g.i, g.j);
    grid_end(k, &g);
    return 1;
  }
  FOR(e, C(0), C(E));
  MlirValue first = to_index(k, LOAD(k, b[1], e.iv)), last = to_index(k, LOAD(k, b[1], IADD(e.iv, C(1))));
  MlirValue base = to_i32(k, arith(k, "arith.muli", e.iv, C(width)));
  FOR(r, first, last);
  FOR(s, C(0), C(dim(b[0], 1)));
  STORE(k, arith(k, "arith.addi", LOAD(k, b[0], r.iv, s.iv), base), b[2], r.iv, s.iv);
  END(s);
  END(r);
  END(e);
  return 1;
}
/* gather(p, idx) -> y: y[t, s] = p[t, idx[t, s]] */
KERNEL(gather) {
  Grid g = grid_rows_begin(k, dim(b[1], 0), dim(b[1], 1));
  grid_columns_begin(k, &g);
  STORE(k, LOAD(k, b[0], g.i, to_index(k, LOAD(k, b[1], g.i, g.j))), b[2], g.i, g.j);
  grid_end(k, &g);
  return 1;
}
KERNEL(ec_dispatch) { ec_dispatch(k, b[0], b[1], b[2], b[3]); return 1; }
KERNEL(ec_dispatch_grad) { return STRICT(ec_scatter(k, b[0], b[1], no_value, b[2], b[3])); }
KERNEL(ec_combine) { return STRICT(ec_scatter(k, b[0], b[1], b[2], b[3], b[4])); }
KERNEL(ec_combine_grad_rows) { ec_combine_grad_rows(k, b[0], b[1], b[2], b[3]); return 1; }
KERNEL(ec_combine_grad_weights) { ec_combine_grad_weights(k, b[0], b[1], b[2], b[3], b[4]); return 1; }
KERNEL(compare) {
  int predicate = (int)op_int_attribute(op, "predicate", 0);
  return STRICT(elementwise(k, 2, b, b[2], compare_element, &predicate));
}
KERNEL(where) { return STRICT(elementwise(k, 3, b, b[3], where_element, NULL)); }
KERNEL(where_grad) {
  int branch = (int)op_int_attribute(op, "branch", 0);
  return STRICT(elementwise(k, 2, b, b[2], where_grad_element, &branch));
}
KERNEL(expert_rows) { expert_rows(k, b[0], b[1], b[2], 0); return 1; }
KERNEL(expert_rows_grad) { return STRICT(expert_rows(k, b[2], b[1], b[0], 1)); }
KERNEL(sum_to) { return STRICT(sum_to(k, b[0], b[1], b[2])); }
KERNEL(log_softmax_grad) { log_softmax_grad(k, b[0], b[1], b[2]); return 1; }
/* reduce_sum/mean/max(x) {axis} -> y; reduce_sum_grad(x, dy) -> dx; reduce_max_grad(x, y, dy) -> dx */
KERNEL(reduce) {
  reduce(k, b[0], b[1], (int)op_int_attribute(op, "axis", 0), op_id(op), b[2]);
  return 1;
}
KERNEL(reduce_sum_grad) { reduce_sum_grad(k, b[1], b[2], (int)op_int_attribute(op, "axis", 0)); return 1; }
KERNEL(reduce_max_grad) { reduce_max_grad(k, b[0], b[1], b[2], b[3], (int)op_int_attribute(op, "axis", 0)); return 1; }

/* linalg.matmul, _transpose_a, _transpose_b: ins(a, b) outs(c), c += op(a)·op(b), as
 * perft's blocked loop nests (matmul_kernels.c); 0 leaves the op to upstream lowering. */
KERNEL(matmul) {
  const OpInfo *info = op_info_of(op);
  int transpose_a = info == &op_table[OP_MATMUL_TRANSPOSE_A], transpose_b = info == &op_table[OP_MATMUL_TRANSPOSE_B];
  int overwrite = !mlirAttributeIsNull(mlirOperationGetAttributeByName(op, str("perft.overwrite")));
  if (k->library && library_gemm_dense(k, b[0], b[1], b[2], transpose_a, transpose_b, overwrite)) return 1;
  IR_CHECK(!overwrite, "a GEMM marked perft.overwrite that the library does not take");
  return matmul_dense(k, b[0], b[1], b[2], transpose_a, transpose_b);
}

/* linalg.add, sub, mul, div: ins(a, b) outs(c), one rounding each as upstream lowering would
 * give (strict), here so that large ones run on threads. */
static MlirValue add_element(Kernel *k, const MlirValue *x, const void *unused) { return ADD(x[0], x[1]); }
static MlirValue sub_element(Kernel *k, const MlirValue *x, const void *unused) { return SUB(x[0], x[1]); }
static MlirValue mul_element(Kernel *k, const MlirValue *x, const void *unused) { return MUL(x[0], x[1]); }
static MlirValue div_element(Kernel *k, const MlirValue *x, const void *unused) { return DIV(x[0], x[1]); }
KERNEL(linalg_elementwise) {
  const OpInfo *info = op_info_of(op);
  ElementFn f = info == &op_table[OP_ADD]   ? add_element
                : info == &op_table[OP_SUB] ? sub_element
                : info == &op_table[OP_MUL] ? mul_element
                                            : div_element;
  return STRICT(elementwise(k, 2, b, b[2], f, NULL));
}
