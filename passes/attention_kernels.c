/* attention_kernels.c — the kernels of perft-attention-gemms' ops (passes/attention_gemms.c):
 * causal attention as GEMMs over one [S, S] square of scores per (sequence, head).
 *
 * B sequences of S rows, H heads of d columns, G kv heads (head h reads kv head h / (H/G)); X_bh is
 * rows b·S .. b·S+S−1, columns h·d .. h·d+d−1 of X:
 *   attention_scores(a, b)    s[b·H+h] = a_bh · b_bgᵀ                    [B·H, S, S]
 *   causal_softmax(s){scale}  p[n, i, j] = exp(scale·s_ij − m_i) / Σ_{j' ≤ i} ... for j ≤ i, else 0
 *   causal_softmax_grad(p, dp){scale}  ds_ij = p_ij (dp_ij − Σ_j' p_ij' dp_ij') · scale
 *   attention_apply(p, v)     y_bh = p[b·H+h] · v_bg                       [B·S, H·d]
 *   attention_apply_t(p, a)   y_bg = Σ over g's heads of p[b·H+h]ᵀ · a_bh   [B·S, G·d]
 * With a GEMM library (k->library) the three GEMMs are one call each into it (perft_attention_gemm:
 * a GEMM per (sequence, head), on tensor cores on a GPU); otherwise loops, a thread a row of the
 * output. The two softmaxes are loops: a thread a row on the CPU; on a GPU a block a row, a warp
 * of lanes each taking every 32nd score (coalesced), their partial maxima and sums in the op's
 * scratch, barriers between the passes.
 */
#include "cpu_kernels.h"
#include "library_gemm.h"

#include <math.h>

static int64_t dim(MlirValue memref, int i) { return mlirShapedTypeGetDimSize(mlirValueGetType(memref), i); }

#define ADD(a, b) arith(k, "arith.addf", a, b)
#define SUB(a, b) arith(k, "arith.subf", a, b)
#define MUL(a, b) arith(k, "arith.mulf", a, b)
#define IADD(a, b) arith(k, "arith.addi", a, b)
#define IMUL(a, b) arith(k, "arith.muli", a, b)
#define IDIV(a, b) arith(k, "arith.divui", a, b)
#define IREM(a, b) arith(k, "arith.remui", a, b)
#define C(v) index_const(k, v)
#define F(v) float_const(k, v)

typedef struct {
  int64_t B, S, d, H, G;
} Heads;

/* the sizes, from the op's attributes and its [B·S, H·d] value `wide` */
static Heads heads_of(MlirOperation op, MlirValue wide) {
  Heads h = {.H = op_int_attribute(op, "heads", 1), .G = op_int_attribute(op, "kv_heads", 1),
             .S = op_int_attribute(op, "seq", 1)};
  h.B = dim(wide, 0) / h.S;
  h.d = dim(wide, 1) / h.H;
  return h;
}

#define KERNEL_FUNCTION(name) int cpu_##name(Kernel *k, MlirOperation op, const MlirValue *b)

/* The query-side row `row` of the squares (n·S + i, n = b·H + h): its square n, its row i there, its
 * sequence's first row b·S, its head's first column h·d and its kv head's g·d. */
typedef struct {
  MlirValue n, i, first_row, column, kv_column;
} HeadRow;

static HeadRow head_row(Kernel *k, MlirValue row, const Heads *h) {
  HeadRow r = {.n = IDIV(row, C(h->S)), .i = IREM(row, C(h->S))};
  MlirValue head = IREM(r.n, C(h->H));
  r.first_row = IMUL(IDIV(r.n, C(h->H)), C(h->S));
  r.column = IMUL(head, C(h->d));
  r.kv_column = IMUL(IDIV(head, C(h->H / h->G)), C(h->d));
  return r;
}

/* s[n, i, j] = Σ_x a[b·S+i, h·d+x] · b[b·S+j, g·d+x], n = b·H + h: a thread a (n, i) */
KERNEL_FUNCTION(attention_scores) {
  MlirValue a = b[0], kv = b[1], s = b[2];
  Heads h = heads_of(op, a);
  if (k->library && library_gemm_attention(k, ATTENTION_SCORES, a, kv, s, h.B, h.S, h.d, h.H, h.G)) return 1;
  Loop row = parallel_or_serial_begin(k, C(0), C(h.B * h.H * h.S), 1, 1);
  HeadRow r = head_row(k, row.iv, &h);
  MlirValue q_row = IADD(r.first_row, r.i);
  Loop j = loop_begin(k, C(0), C(h.S), no_value);
  MlirValue key_row = IADD(r.first_row, j.iv);
  Loop x = loop_begin(k, C(0), C(h.d), F(0.0));
  MlirValue product = MUL(LOAD(k, a, q_row, IADD(r.column, x.iv)), LOAD(k, kv, key_row, IADD(r.kv_column, x.iv)));
  MlirValue dot = loop_end(k, &x, ADD(x.acc, product));
  STORE(k, dot, s, r.n, r.i, j.iv);
  loop_end(k, &j, no_value);
  parallel_or_serial_end(k, &row);
  return 1;
}

/* y[b·S+i, h·d+x] = Σ_j p[n, i, j] · v[b·S+j, g·d+x]: a thread a (n, i) */
KERNEL_FUNCTION(attention_apply) {
  MlirValue p = b[0], v = b[1], y = b[2];
  Heads h = heads_of(op, y);
  if (k->library && library_gemm_attention(k, ATTENTION_APPLY, p, v, y, h.B, h.S, h.d, h.H, h.G)) return 1;
  Loop row = parallel_or_serial_begin(k, C(0), C(h.B * h.H * h.S), 1, 1);
  HeadRow r = head_row(k, row.iv, &h);
  MlirValue y_row = IADD(r.first_row, r.i);
  Loop x = loop_begin(k, C(0), C(h.d), no_value);
  Loop j = loop_begin(k, C(0), C(h.S), F(0.0));
  MlirValue value = LOAD(k, v, IADD(r.first_row, j.iv), IADD(r.kv_column, x.iv));
  MlirValue sum = loop_end(k, &j, ADD(j.acc, MUL(LOAD(k, p, r.n, r.i, j.iv), value)));
  STORE(k, sum, y, y_row, IADD(r.column, x.iv));
  loop_end(k, &x, no_value);
  parallel_or_serial_end(k, &row);
  return 1;
}

/* y[b·S+j, g·d+x] = Σ over g's heads h, Σ_i p[b·H+h, i, j] · a[b·S+i, h·d+x]: a thread a (b, g, j) */
KERNEL_FUNCTION(attention_apply_t) {
  MlirValue p = b[0], a = b[1], y = b[2];
  Heads h = heads_of(op, a);
  if (k->library && library_gemm_attention(k, ATTENTION_APPLY_T, p, a, y, h.B, h.S, h.d, h.H, h.G)) return 1;
  int64_t group = h.H / h.G;
  Loop row = parallel_or_serial_begin(k, C(0), C(h.B * h.G * h.S), 1, 1);
  MlirValue bg = IDIV(row.iv, C(h.S)), j = IREM(row.iv, C(h.S));
  MlirValue batch = IDIV(bg, C(h.G)), kv_head = IREM(bg, C(h.G));
  MlirValue y_row = IADD(IMUL(batch, C(h.S)), j), y_column = IMUL(kv_head, C(h.d));
  Loop x = loop_begin(k, C(0), C(h.d), no_value);
  Loop r = loop_begin(k, C(0), C(group), F(0.0));
  MlirValue head = IADD(IMUL(kv_head, C(group)), r.iv), n = IADD(IMUL(batch, C(h.H)), head);
  Loop i = loop_begin(k, C(0), C(h.S), r.acc);
  MlirValue term = LOAD(k, a, IADD(IMUL(batch, C(h.S)), i.iv), IADD(IMUL(head, C(h.d)), x.iv));
  MlirValue head_sum = loop_end(k, &i, ADD(i.acc, MUL(LOAD(k, p, n, i.iv, j), term)));
  MlirValue sum = loop_end(k, &r, head_sum);
  STORE(k, sum, y, y_row, IADD(y_column, x.iv));
  loop_end(k, &x, no_value);
  parallel_or_serial_end(k, &row);
  return 1;
}

/* ---- the softmaxes: a thread a row (CPU); on a GPU a block a row, CAUSAL_SOFTMAX_LANES lanes each
 * taking every lanes-th score of it, their partial results in the op's scratch at row · 2 · lanes */

/* p[n, i, j] = exp(scale·s_ij − m) / Σ_{j' ≤ i} exp(scale·s_ij' − m) for j ≤ i (m their maximum), else 0 */
static void causal_softmax_gpu(Kernel *k, MlirValue s, MlirValue p, MlirValue partial, MlirValue scale) {
  int64_t N = dim(s, 0), S = dim(s, 1), lanes = lanes_over(S, CAUSAL_SOFTMAX_LANES);
  Loop row = parallel_begin(k, C(0), C(N * S), 1);
  MlirValue n = IDIV(row.iv, C(S)), i = IREM(row.iv, C(S)), keys = IADD(i, C(1));
  MlirValue maxima = IMUL(row.iv, C(2 * lanes)), sums = IADD(maxima, C(lanes));
  Loop lane = parallel_begin(k, C(0), C(lanes), 1); /* each lane's maximum */
  Loop m = loop_begin_carrying(k, lane.iv, keys, lanes, 1, (MlirValue[]){F(-INFINITY)});
  MlirValue lane_max;
  loop_end_carrying(k, &m, (MlirValue[]){arith(k, "arith.maximumf", m.carried[0], MUL(LOAD(k, s, n, i, m.iv), scale))},
                    &lane_max);
  STORE(k, lane_max, partial, IADD(maxima, lane.iv));
  parallel_end(k, &lane);
  Loop lane2 = parallel_begin(k, C(0), C(lanes), 1); /* the row's maximum; each lane's exps and their sum */
  Loop j = loop_begin(k, C(0), C(lanes), F(-INFINITY));
  MlirValue row_max = loop_end(k, &j, arith(k, "arith.maximumf", j.acc, LOAD(k, partial, IADD(maxima, j.iv))));
  Loop e = loop_begin_carrying(k, lane2.iv, keys, lanes, 1, (MlirValue[]){F(0.0)});
  MlirValue exponential = exp_value(k, SUB(MUL(LOAD(k, s, n, i, e.iv), scale), row_max)), lane_sum;
  STORE(k, exponential, p, n, i, e.iv);
  loop_end_carrying(k, &e, (MlirValue[]){ADD(e.carried[0], exponential)}, &lane_sum);
  STORE(k, lane_sum, partial, IADD(sums, lane2.iv));
  parallel_end(k, &lane2);
  Loop lane3 = parallel_begin(k, C(0), C(lanes), 1); /* 1/Σ; each lane's columns of p */
  Loop t = loop_begin(k, C(0), C(lanes), F(0.0));
  MlirValue sum = loop_end(k, &t, ADD(t.acc, LOAD(k, partial, IADD(sums, t.iv))));
  MlirValue inverse = arith(k, "arith.divf", F(1.0), sum);
  Loop w = loop_begin_carrying(k, lane3.iv, C(S), lanes, 0, NULL);
  MlirValue kept = compare_index(k, "ule", w.iv, i);
  STORE(k, select_value(k, kept, MUL(LOAD(k, p, n, i, w.iv), inverse), F(0.0)), p, n, i, w.iv);
  loop_end_carrying(k, &w, NULL, NULL);
  parallel_end(k, &lane3);
  parallel_end(k, &row);
}

KERNEL_FUNCTION(causal_softmax) {
  MlirValue s = b[0], p = b[1];
  int64_t N = dim(s, 0), S = dim(s, 1);
  MlirValue scale = F(op_float_attribute(op, "scale", 1.0));
  if (k->gpu) {
    causal_softmax_gpu(k, s, p, b[2], scale);
    return 1;
  }
  Loop row = parallel_or_serial_begin(k, C(0), C(N * S), 1, 1);
  MlirValue n = IDIV(row.iv, C(S)), i = IREM(row.iv, C(S)), keys = IADD(i, C(1));
  Loop j = loop_begin(k, C(0), keys, F(-INFINITY));
  MlirValue maximum = loop_end(k, &j, arith(k, "arith.maximumf", j.acc, MUL(LOAD(k, s, n, i, j.iv), scale)));
  Loop e = loop_begin(k, C(0), keys, F(0.0));
  MlirValue exponential = exp_value(k, SUB(MUL(LOAD(k, s, n, i, e.iv), scale), maximum));
  STORE(k, exponential, p, n, i, e.iv);
  MlirValue sum = loop_end(k, &e, ADD(e.acc, exponential));
  MlirValue inverse = arith(k, "arith.divf", F(1.0), sum);
  Loop w = loop_begin(k, C(0), C(S), no_value);
  MlirValue kept = compare_index(k, "ule", w.iv, i);
  STORE(k, select_value(k, kept, MUL(LOAD(k, p, n, i, w.iv), inverse), F(0.0)), p, n, i, w.iv);
  loop_end(k, &w, no_value);
  parallel_or_serial_end(k, &row);
  return 1;
}

/* ds_ij = p_ij (dp_ij − Σ_j' p_ij' dp_ij') · scale */
static void causal_softmax_grad_gpu(Kernel *k, MlirValue p, MlirValue dp, MlirValue ds, MlirValue partial,
                                    MlirValue scale) {
  int64_t N = dim(p, 0), S = dim(p, 1), lanes = lanes_over(S, CAUSAL_SOFTMAX_LANES);
  Loop row = parallel_begin(k, C(0), C(N * S), 1);
  MlirValue n = IDIV(row.iv, C(S)), i = IREM(row.iv, C(S)), dots = IMUL(row.iv, C(lanes));
  Loop lane = parallel_begin(k, C(0), C(lanes), 1); /* each lane's Σ p·dp */
  Loop j = loop_begin_carrying(k, lane.iv, C(S), lanes, 1, (MlirValue[]){F(0.0)});
  MlirValue lane_dot;
  loop_end_carrying(k, &j, (MlirValue[]){ADD(j.carried[0], MUL(LOAD(k, p, n, i, j.iv), LOAD(k, dp, n, i, j.iv)))},
                    &lane_dot);
  STORE(k, lane_dot, partial, IADD(dots, lane.iv));
  parallel_end(k, &lane);
  Loop lane2 = parallel_begin(k, C(0), C(lanes), 1); /* the row's Σ; each lane's columns of ds */
  Loop t = loop_begin(k, C(0), C(lanes), F(0.0));
  MlirValue dot = loop_end(k, &t, ADD(t.acc, LOAD(k, partial, IADD(dots, t.iv))));
  Loop w = loop_begin_carrying(k, lane2.iv, C(S), lanes, 0, NULL);
  STORE(k, MUL(MUL(LOAD(k, p, n, i, w.iv), SUB(LOAD(k, dp, n, i, w.iv), dot)), scale), ds, n, i, w.iv);
  loop_end_carrying(k, &w, NULL, NULL);
  parallel_end(k, &lane2);
  parallel_end(k, &row);
}

KERNEL_FUNCTION(causal_softmax_grad) {
  MlirValue p = b[0], dp = b[1], ds = b[2];
  int64_t N = dim(p, 0), S = dim(p, 1);
  MlirValue scale = F(op_float_attribute(op, "scale", 1.0));
  if (k->gpu) {
    causal_softmax_grad_gpu(k, p, dp, ds, b[3], scale);
    return 1;
  }
  Loop row = parallel_or_serial_begin(k, C(0), C(N * S), 1, 1);
  MlirValue n = IDIV(row.iv, C(S)), i = IREM(row.iv, C(S));
  Loop j = loop_begin(k, C(0), C(S), F(0.0));
  MlirValue dot = loop_end(k, &j, ADD(j.acc, MUL(LOAD(k, p, n, i, j.iv), LOAD(k, dp, n, i, j.iv))));
  Loop w = loop_begin(k, C(0), C(S), no_value);
  STORE(k, MUL(MUL(LOAD(k, p, n, i, w.iv), SUB(LOAD(k, dp, n, i, w.iv), dot)), scale), ds, n, i, w.iv);
  loop_end(k, &w, no_value);
  parallel_or_serial_end(k, &row);
  return 1;
}
