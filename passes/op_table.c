/* op_table.c — the op table (see op_table.h) and what is derived from it.
 *
 * Shape legend: T tokens, E experts, k slots per token, R = T*k dispatched rows, D width,
 * K/N the inner/outer widths of a (grouped) matmul, V vocabulary. Index tensors are i32.
 */
#include "op_table.h"

#include "autodiff.h"
#include "cpu_kernels.h"
#include "op_verify.h"

#include <stdlib.h>
#include <string.h>

const char *const target_names[TARGET_COUNT] = {[TARGET_CPU] = "cpu", [TARGET_CUDA] = "cuda"};

#define FLOAT(name, var, rank) {name, var, ELEMENT_FLOAT, rank}
#define I32(name, var, rank) {name, var, ELEMENT_I32, rank}
#define WEIGHT(name, var, rank) {name, var, ELEMENT_WEIGHT, rank}
#define ATTRIBUTES(...) .num_attributes = sizeof((AttributeSpec[]){__VA_ARGS__}) / sizeof(AttributeSpec), \
                        .attributes = {__VA_ARGS__}
#define OPERANDS(...) .num_operands = sizeof((ValueSpec[]){__VA_ARGS__}) / sizeof(ValueSpec), .operands = {__VA_ARGS__}
#define RESULTS(...) .num_results = sizeof((ValueSpec[]){__VA_ARGS__}) / sizeof(ValueSpec), .results = {__VA_ARGS__}
/* One loop-nest builder serves both columns: on cuda it runs with Kernel.gpu set, which
 * makes every independent loop a GPU-grained scf.parallel (passes/loop_builder.h). */
#define KERNELS(fn) .kernel = {[TARGET_CPU] = fn, [TARGET_CUDA] = fn}
#define GRADIENT_OP .no_backward = "a gradient op (perft differentiates once)"
#define FUSED_OP(pass) .no_backward = "made by " pass ", after autodiff"

/* ---- GEMM FLOPs: 2·M·N·K ---- */
static int64_t dim_of(MlirType shaped, int i) { return mlirShapedTypeGetDimSize(shaped, i); }

/* linalg.matmul*: c[M,N] from ins a, b (K from a: [M,K], or [K,M] when transposed) */
static double matmul_flops(MlirOperation op) {
  const OpInfo *info = op_info_of(op);
  MlirType a = op_input_type(op, 0), c = op_input_type(op, 2);
  int64_t k = info == &op_table[OP_MATMUL_TRANSPOSE_A] ? dim_of(a, 0) : dim_of(a, 1);
  return 2.0 * (double)dim_of(c, 0) * (double)dim_of(c, 1) * (double)k;
}
/* perft-attention-gemms' GEMMs: every element of the [B·H, S, S] square meets a head of d */
static double attention_gemm_flops(MlirOperation op) {
  const OpInfo *info = op_info_of(op);
  int scores = info == &op_table[OP_ATTENTION_SCORES], apply_t = info == &op_table[OP_ATTENTION_APPLY_T];
  MlirType square = scores ? op_output_type(op, info, 0) : op_input_type(op, 0);
  MlirType wide = scores ? op_input_type(op, 0) : apply_t ? op_input_type(op, 1) : op_output_type(op, info, 0);
  double d = (double)dim_of(wide, 1) / (double)op_int_attribute(op, "heads", 1);
  return 2.0 * (double)shaped_num_elements(square) * d;
}
/* rows[R,K] -> y[R,N]: each row meets one expert */
static double grouped_matmul_flops(MlirOperation op) {
  MlirType rows = op_input_type(op, 0), y = op_output_type(op, op_info_of(op), 0);
  return 2.0 * (double)dim_of(rows, 0) * (double)dim_of(y, 1) * (double)dim_of(rows, 1);
}
/* x[T,K], perm[R], ... -> y[R,N] */
static double gathered_matmul_flops(MlirOperation op) {
  MlirType x = op_input_type(op, 0), perm = op_input_type(op, 1), y = op_output_type(op, op_info_of(op), 0);
  return 2.0 * (double)dim_of(perm, 0) * (double)dim_of(y, 1) * (double)dim_of(x, 1);
}
/* dy[R,N], x[T,K], perm[R] -> dbank */
static double gathered_matmul_grad_weight_flops(MlirOperation op) {
  MlirType dy = op_input_type(op, 0), x = op_input_type(op, 1);
  return 2.0 * (double)dim_of(dy, 0) * (double)dim_of(dy, 1) * (double)dim_of(x, 1);
}
/* x[M,K], w[N,K], addend[M,N] -> y[M,N] */
static double matmul_scale_add_flops(MlirOperation op) {
  MlirType x = op_input_type(op, 0), w = op_input_type(op, 1);
  return 2.0 * (double)dim_of(x, 0) * (double)dim_of(w, 0) * (double)dim_of(x, 1);
}
/* ... -> xd[M,D], z[M,r], y[M,N]: both GEMMs of a LoRA chain */
static double lora_chain_flops(MlirOperation op) {
  const OpInfo *info = op_info_of(op);
  MlirType xd = op_output_type(op, info, 0), z = op_output_type(op, info, 1), y = op_output_type(op, info, 2);
  return 2.0 * (double)dim_of(xd, 0) * (double)dim_of(z, 1) * ((double)dim_of(xd, 1) + (double)dim_of(y, 1));
}
/* a[R,K], bank, z[R,r], ... -> y: both dot products of each row */
static double grouped_matmul_join_flops(MlirOperation op) {
  MlirType a = op_input_type(op, 0), bank = op_input_type(op, 1), z = op_input_type(op, 2);
  return 2.0 * (double)dim_of(a, 0) * (double)dim_of(bank, 1) * ((double)dim_of(a, 1) + (double)dim_of(z, 1));
}
/* dy[R,N], rows[R,K] -> dbank */
static double grouped_matmul_grad_weight_flops(MlirOperation op) {
  MlirType dy = op_input_type(op, 0), rows = op_input_type(op, 1);
  return 2.0 * (double)dim_of(dy, 0) * (double)dim_of(dy, 1) * (double)dim_of(rows, 1);
}

/* ---- scratch buffers ---- */
static MlirType memref_type(MlirType element, int64_t n) {
  return mlirMemRefTypeContiguousGet(element, 1, &n, mlirAttributeGetNull());
}
static MlirType float_element(MlirOperation op) { return mlirShapedTypeGetElementType(op_input_type(op, 0)); }
/* the GPU form's size on a GPU target; none on the CPU (an empty memref) */
static int64_t gpu_only(TargetKind target, int64_t n) { return target == TARGET_CUDA ? n : 0; }
/* dispatch and route: i32 [E + 1] on the CPU, the next free row of each expert; on a GPU
 * [max(E + 1, 2 · E · lanes)], each lane's count and first row (sort_lanes of the T·k pairs) */
static int dispatch_scratch(MlirOperation op, TargetKind target, MlirType *types) {
  const OpInfo *info = op_info_of(op);
  MlirType offsets = op_output_type(op, info, info->num_results - 1), idx = op_input_type(op, op_is_kind(op, OP_ROUTE) ? 0 : 1);
  int64_t E = dim_of(offsets, 0) - 1, lanes = sort_lanes(dim_of(idx, 0) * dim_of(idx, 1));
  int64_t n = target == TARGET_CUDA && 2 * E * lanes > E + 1 ? 2 * E * lanes : E + 1;
  types[0] = memref_type(mlirShapedTypeGetElementType(offsets), n);
  return 1;
}
/* combine and dispatch_grad: on a GPU, i32 [R], perm's inverse (the dispatched row of each (token,
 * slot) pair), so each token gathers its rows instead of the rows scattering into tokens */
static int inverse_perm_scratch(MlirOperation op, TargetKind target, MlirType *types) {
  MlirType perm = op_input_type(op, 1);
  types[0] = memref_type(mlirShapedTypeGetElementType(perm), gpu_only(target, dim_of(perm, 0)));
  return 1;
}
/* ec_combine and ec_dispatch_grad: on a GPU, i32 [N·T], the slot at which expert e took token t (−1:
 * not taken), so each token gathers its rows instead of the rows scattering into tokens */
static int ec_inverse_scratch(MlirOperation op, TargetKind target, MlirType *types) {
  const OpInfo *info = op_info_of(op);
  MlirType tok = op_input_type(op, 1), tokens = op_output_type(op, info, 0);
  types[0] = memref_type(mlirShapedTypeGetElementType(tok), gpu_only(target, dim_of(tok, 0) * dim_of(tokens, 0)));
  return 1;
}
/* top_k: on a GPU, over rows of n > TOP_K_THREAD_MOST, a partial rank a lane: rows · n · top_k_lanes(n) */
static int top_k_scratch(MlirOperation op, TargetKind target, MlirType *types) {
  MlirType p = op_input_type(op, 0);
  int64_t n = dim_of(p, 1), lanes = top_k_lanes(n);
  types[0] = memref_type(float_element(op), gpu_only(target, lanes > 1 ? dim_of(p, 0) * n * lanes : 0));
  return 1;
}
/* rmsnorm_grad_weight: on a GPU each row's 1/rms [T] */
static int rmsnorm_grad_weight_scratch(MlirOperation op, TargetKind target, MlirType *types) {
  types[0] = memref_type(float_element(op), gpu_only(target, dim_of(op_input_type(op, 0), 0)));
  return 1;
}
/* sum_to: on a GPU a scalar's chunk and lane sums (as mse's), else reduce_lanes(count) partial sums
 * an element of dx (count: the elements of dy broadcast from each; none when that is 1) */
static int sum_to_scratch(MlirOperation op, TargetKind target, MlirType *types) {
  MlirType dy = op_input_type(op, 0), dx = op_output_type(op, op_info_of(op), 0);
  int64_t n = shaped_num_elements(dy), outputs = shaped_num_elements(dx);
  int64_t lanes = outputs > 0 ? reduce_lanes(n / outputs) : 1;
  int64_t size = mlirShapedTypeGetRank(dx) == 0 ? mse_chunks(n) * mse_lanes(n) + mse_lanes(n) : lanes > 1 ? outputs * lanes : 0;
  types[0] = memref_type(float_element(op), gpu_only(target, size));
  return 1;
}
/* combine_grad_weights: on a GPU R · combine_weight_lanes(D) partial dot products */
static int combine_grad_weights_scratch(MlirOperation op, TargetKind target, MlirType *types) {
  MlirType rows = op_input_type(op, 1);
  types[0] = memref_type(float_element(op), gpu_only(target, dim_of(rows, 0) * combine_weight_lanes(dim_of(rows, 1))));
  return 1;
}
/* reduce_sum/mean/max: on a GPU a partial result a lane, reduce_lanes(n) an element of y (n the
 * axis's length; none when reduce_lanes is 1) */
static int reduce_scratch(MlirOperation op, TargetKind target, MlirType *types) {
  MlirType x = op_input_type(op, 0);
  int64_t n = dim_of(x, (int)op_int_attribute(op, "axis", 0)), lanes = reduce_lanes(n);
  types[0] = memref_type(float_element(op), gpu_only(target, n > 0 && lanes > 1 ? shaped_num_elements(x) / n * lanes : 0));
  return 1;
}
/* gathered_matmul: a panel[T, K] for one expert's rows (each token meets an expert at most once
 * under top-k; more rows are taken a panel at a time) */
static int gathered_matmul_scratch(MlirOperation op, TargetKind target, MlirType *types) {
  MlirType x = op_input_type(op, 0);
  int64_t shape[2] = {dim_of(x, 0), dim_of(x, 1)};
  types[0] = mlirMemRefTypeContiguousGet(mlirShapedTypeGetElementType(x), 2, shape, mlirAttributeGetNull());
  return 1;
}
/* mse: a GPU kernel's partial sums, chunks · lanes + lanes */
static int mse_scratch(MlirOperation op, TargetKind target, MlirType *types) {
  int64_t n = shaped_num_elements(op_input_type(op, 0));
  types[0] = memref_type(float_element(op), gpu_only(target, mse_chunks(n) * mse_lanes(n) + mse_lanes(n)));
  return 1;
}
/* load_balance, load_balance_grad, expert_fraction: counts[E] (the CPU's expert_fraction counts in its
 * output: none), then on a GPU the partial counts and column sums, 2 · lanes an expert; idx the
 * op's [T, k] pairs */
static MlirType expert_count_scratch(TargetKind target, MlirType element, int64_t E, MlirType idx, int cpu_counts) {
  if (target != TARGET_CUDA) return memref_type(element, cpu_counts ? E : 0);
  return memref_type(element, E + E * 2 * expert_count_lanes(dim_of(idx, 0) * dim_of(idx, 1)));
}
static int load_balance_scratch(MlirOperation op, TargetKind target, MlirType *types) {
  types[0] = expert_count_scratch(target, float_element(op), dim_of(op_input_type(op, 0), 1), op_input_type(op, 1), 1);
  return 1;
}
static int load_balance_grad_scratch(MlirOperation op, TargetKind target, MlirType *types) {
  MlirType dp = op_output_type(op, op_info_of(op), 0);
  types[0] = expert_count_scratch(target, mlirShapedTypeGetElementType(dp), dim_of(dp, 1), op_input_type(op, 0), 1);
  return 1;
}
static int expert_fraction_scratch(MlirOperation op, TargetKind target, MlirType *types) {
  MlirType f = op_output_type(op, op_info_of(op), 0);
  types[0] = expert_count_scratch(target, mlirShapedTypeGetElementType(f), dim_of(f, 0), op_input_type(op, 0), 0);
  return 1;
}
/* cross_entropy: terms[T], each row's term (the rows in parallel, then summed in order), then on a
 * GPU the partial maxima and sums [T · 2 · CROSS_ENTROPY_LANES] */
static int cross_entropy_scratch(MlirOperation op, TargetKind target, MlirType *types) {
  int64_t T = dim_of(op_input_type(op, 0), 0);
  types[0] = memref_type(float_element(op), T + (target == TARGET_CUDA ? T * 2 * CROSS_ENTROPY_LANES : 0));
  return 1;
}
/* cross_entropy_grad: on a GPU partial[T · 2 · CROSS_ENTROPY_LANES + 1] and the scale */
static int cross_entropy_grad_scratch(MlirOperation op, TargetKind target, MlirType *types) {
  types[0] = memref_type(float_element(op), gpu_only(target, dim_of(op_input_type(op, 0), 0) * 2 * CROSS_ENTROPY_LANES + 1));
  return 1;
}
/* causal_attention_grad: on a GPU per (query row, head) its scores' maximum, 1/Σ exp and dy·y
 * [T · H · 3] (computed once there) */
static int causal_attention_grad_scratch(MlirOperation op, TargetKind target, MlirType *types) {
  types[0] = memref_type(float_element(op), gpu_only(target, dim_of(op_input_type(op, 0), 0) * op_int_attribute(op, "heads", 1) * 3));
  return 1;
}
/* rmsnorm: on a GPU partial[T · RMSNORM_LANES], each row's partial sums of squares (the CPU sums each
 * row on one thread) */
static int rmsnorm_scratch(MlirOperation op, TargetKind target, MlirType *types) {
  types[0] = memref_type(float_element(op), gpu_only(target, dim_of(op_input_type(op, 0), 0) * RMSNORM_LANES));
  return 1;
}
/* rmsnorm_grad_input: on a GPU partial[T · 2 · RMSNORM_LANES], a row's partial sums of squares and
 * of dy·w·x */
static int rmsnorm_grad_input_scratch(MlirOperation op, TargetKind target, MlirType *types) {
  types[0] = memref_type(float_element(op), gpu_only(target, dim_of(op_input_type(op, 0), 0) * 2 * RMSNORM_LANES));
  return 1;
}
/* causal_softmax: on a GPU partial[N · S · 2 · lanes] (the lanes' maxima and sums of exp);
 * causal_softmax_grad: partial[N · S · lanes] (the lanes' Σ p·dp) */
static int causal_softmax_scratch(MlirOperation op, TargetKind target, MlirType *types) {
  MlirType s = op_input_type(op, 0);
  int64_t rows = dim_of(s, 0) * dim_of(s, 1), lanes = lanes_over(dim_of(s, 2), CAUSAL_SOFTMAX_LANES);
  types[0] = memref_type(float_element(op), gpu_only(target, rows * lanes * (op_is_kind(op, OP_CAUSAL_SOFTMAX) ? 2 : 1)));
  return 1;
}

/* An elementwise function of the language and its gradient op, dx = dy · f'(x) (cpu_unary,
 * cpu_unary_grad pick the formula by op). */
#define UNARY_OP(ID, name)                                                                                      \
  [OP_##ID] = {"perft." name, OPERANDS(FLOAT("x", "T", ANY_RANK)), RESULTS(FLOAT("y", "T", ANY_RANK)),            \
               .backward = backward_unary, KERNELS(cpu_unary)},                                                      \
  [OP_##ID##_GRAD] = {"perft." name "_grad", OPERANDS(FLOAT("x", "T", ANY_RANK), FLOAT("dy", "T", ANY_RANK)),     \
                      RESULTS(FLOAT("dx", "T", ANY_RANK)), GRADIENT_OP, KERNELS(cpu_unary_grad)}
/* maximum/minimum(a, b) and a's gradient (a, b, dy) -> da (b's: the same op with a and b swapped);
 * where a = b each takes half, as PyTorch does */
#define EXTREMUM_OP(ID, name)                                                                                   \
  [OP_##ID] = {"perft." name, OPERANDS(FLOAT("a", "T", ANY_RANK), FLOAT("b", "T", ANY_RANK)),                    \
               RESULTS(FLOAT("y", "T", ANY_RANK)), .backward = backward_extremum, KERNELS(cpu_extremum)},            \
  [OP_##ID##_GRAD] = {"perft." name "_grad",                                                                    \
                      OPERANDS(FLOAT("a", "T", ANY_RANK), FLOAT("b", "T", ANY_RANK), FLOAT("dy", "T", ANY_RANK)), \
                      RESULTS(FLOAT("da", "T", ANY_RANK)), GRADIENT_OP, KERNELS(cpu_extremum_grad)}
/* sum, mean or max of x along `axis`: y has x's dims without that one */
#define REDUCE_OP(ID, name, rule)                                                                               \
  [OP_##ID] = {"perft." name, OPERANDS(FLOAT("x", "X", ANY_RANK)), RESULTS(FLOAT("y", "Y", ANY_RANK)),            \
               ATTRIBUTES({"axis", ATTRIBUTE_INT}), .verify = verify_reduce, .backward = rule, .scratch = reduce_scratch, \
               KERNELS(cpu_reduce)}

const OpInfo op_table[OP_COUNT] = {
    /* upstream: linalg in destination-passing style, ins(a, b) outs(c) -> c */
    [OP_MATMUL] = {"linalg.matmul", .upstream = 1, .backward = backward_matmul, .flops = matmul_flops,
                   KERNELS(cpu_matmul)},
    [OP_MATMUL_TRANSPOSE_A] = {"linalg.matmul_transpose_a", .upstream = 1, .backward = backward_matmul_transpose_a,
                               .flops = matmul_flops, KERNELS(cpu_matmul)},
    [OP_MATMUL_TRANSPOSE_B] = {"linalg.matmul_transpose_b", .upstream = 1, .backward = backward_matmul_transpose_b,
                               .flops = matmul_flops, KERNELS(cpu_matmul)},
    [OP_ADD] = {"linalg.add", .upstream = 1, .backward = backward_add, KERNELS(cpu_linalg_elementwise)},
    [OP_SUB] = {"linalg.sub", .upstream = 1, .backward = backward_sub, KERNELS(cpu_linalg_elementwise)},
    [OP_MUL] = {"linalg.mul", .upstream = 1, .backward = backward_mul, KERNELS(cpu_linalg_elementwise)},
    [OP_DIV] = {"linalg.div", .upstream = 1, .backward = backward_div, KERNELS(cpu_linalg_elementwise)},

    /* elementwise and row-wise */
    [OP_SCALE] = {"perft.scale", OPERANDS(FLOAT("x", "T", ANY_RANK)), RESULTS(FLOAT("y", "T", ANY_RANK)),
                  ATTRIBUTES({"factor", ATTRIBUTE_FLOAT}), .backward = backward_scale, KERNELS(cpu_scale)},
    [OP_SILU] = {"perft.silu", OPERANDS(FLOAT("x", "T", ANY_RANK)), RESULTS(FLOAT("y", "T", ANY_RANK)),
                 .backward = backward_silu, KERNELS(cpu_silu)},
    [OP_SILU_GRAD] = {"perft.silu_grad", OPERANDS(FLOAT("x", "T", ANY_RANK), FLOAT("dy", "T", ANY_RANK)),
                      RESULTS(FLOAT("dx", "T", ANY_RANK)), GRADIENT_OP, KERNELS(cpu_silu_grad)},
    [OP_SWIGLU] = {"perft.swiglu", OPERANDS(FLOAT("a", "T", ANY_RANK), FLOAT("b", "T", ANY_RANK)),
                   RESULTS(FLOAT("y", "T", ANY_RANK)), FUSED_OP("perft-fuse-swiglu"),
                   KERNELS(cpu_swiglu)},
    [OP_SWIGLU_GRAD] = {"perft.swiglu_grad", OPERANDS(FLOAT("a", "T", 2), FLOAT("b", "T", 2), FLOAT("dy", "T", 2)),
                        RESULTS(FLOAT("da", "T", 2), FLOAT("db", "T", 2)), GRADIENT_OP, KERNELS(cpu_swiglu_grad)},
    [OP_SOFTMAX] = {"perft.softmax", OPERANDS(FLOAT("x", "T", 2)), RESULTS(FLOAT("y", "T", 2)),
                    .backward = backward_softmax, KERNELS(cpu_softmax)},
    [OP_SOFTMAX_GRAD] = {"perft.softmax_grad", OPERANDS(FLOAT("y", "T", 2), FLOAT("dy", "T", 2)),
                         RESULTS(FLOAT("dx", "T", 2)), GRADIENT_OP, KERNELS(cpu_softmax_grad)},

    /* routing */
    [OP_TOP_K] = {"perft.top_k", OPERANDS(FLOAT("p", "P", 2)), RESULTS(FLOAT("w", "W", 2), I32("idx", "I", 2)),
                  ATTRIBUTES({"k", ATTRIBUTE_INT}, {"renormalize", ATTRIBUTE_BOOL}), .verify = verify_top_k,
                  .backward = backward_top_k, .scratch = top_k_scratch, KERNELS(cpu_top_k)},
    [OP_TOP_K_GRAD] = {"perft.top_k_grad",
                       OPERANDS(FLOAT("p", "P", 2), I32("idx", "I", 2), FLOAT("w", "W", 2), FLOAT("dw", "W", 2)),
                       RESULTS(FLOAT("dp", "P", 2)), ATTRIBUTES({"renormalize", ATTRIBUTE_BOOL}),
                       .verify = verify_top_k_grad, GRADIENT_OP, KERNELS(cpu_top_k_grad)},
    [OP_DISPATCH] = {"perft.dispatch", OPERANDS(FLOAT("x", "X", 2), I32("idx", "I", 2)),
                     RESULTS(FLOAT("rows", "R", 2), I32("perm", "M", 1), I32("offsets", "O", 1)),
                     ATTRIBUTES({"num_experts", ATTRIBUTE_INT}), .verify = verify_dispatch,
                     .backward = backward_dispatch, .scratch = dispatch_scratch, KERNELS(cpu_dispatch)},
    [OP_DISPATCH_GRAD] = {"perft.dispatch_grad", OPERANDS(FLOAT("drows", "R", 2), I32("perm", "M", 1)),
                          RESULTS(FLOAT("dx", "X", 2)), .verify = verify_dispatch_grad, GRADIENT_OP,
                          .scratch = inverse_perm_scratch, KERNELS(cpu_dispatch_grad)},
    [OP_GROUPED_MATMUL] = {"perft.grouped_matmul",
                           OPERANDS(WEIGHT("rows", "R", 2), WEIGHT("bank", "B", 3), I32("offsets", "O", 1)),
                           RESULTS(FLOAT("y", "Y", 2)), ATTRIBUTES({"transpose_w", ATTRIBUTE_BOOL}),
                           .verify = verify_grouped_matmul, .backward = backward_grouped_matmul,
                           .flops = grouped_matmul_flops, KERNELS(cpu_grouped_matmul)},
    [OP_GROUPED_MATMUL_GRAD_WEIGHT] = {"perft.grouped_matmul_grad_weight",
                                       OPERANDS(FLOAT("dy", "Y", 2), FLOAT("rows", "R", 2), I32("offsets", "O", 1)),
                                       RESULTS(FLOAT("dbank", "B", 3)), ATTRIBUTES({"transpose_w", ATTRIBUTE_BOOL}),
                                       .verify = verify_grouped_matmul_grad_weight, GRADIENT_OP,
                                       .flops = grouped_matmul_grad_weight_flops,
                                       KERNELS(cpu_grouped_matmul_grad_weight)},
    /* made by perft-fuse-route (after autodiff): no R×D copy of the routed rows, no R×N expert output */
    [OP_ROUTE] = {"perft.route", OPERANDS(I32("idx", "I", 2)), RESULTS(I32("perm", "M", 1), I32("offsets", "O", 1)),
                  ATTRIBUTES({"num_experts", ATTRIBUTE_INT}), .verify = verify_route, FUSED_OP("perft-fuse-route"),
                  .scratch = dispatch_scratch, KERNELS(cpu_route)},
    [OP_GATHERED_MATMUL] = {"perft.gathered_matmul",
                            OPERANDS(FLOAT("x", "X", 2), I32("perm", "M", 1), WEIGHT("bank", "B", 3), I32("offsets", "O", 1)),
                            RESULTS(FLOAT("y", "Y", 2)), ATTRIBUTES({"transpose_w", ATTRIBUTE_BOOL}),
                            .verify = verify_gathered_matmul, FUSED_OP("perft-fuse-route"),
                            .flops = gathered_matmul_flops, .scratch = gathered_matmul_scratch,
                            KERNELS(cpu_gathered_matmul)},
    [OP_GATHERED_MATMUL_GRAD_WEIGHT] = {"perft.gathered_matmul_grad_weight",
                                        OPERANDS(FLOAT("dy", "Y", 2), FLOAT("x", "X", 2), I32("perm", "M", 1),
                                                 I32("offsets", "O", 1)),
                                        RESULTS(FLOAT("dbank", "B", 3)), ATTRIBUTES({"transpose_w", ATTRIBUTE_BOOL}),
                                        .verify = verify_gathered_matmul_grad_weight, FUSED_OP("perft-fuse-route"),
                                        .flops = gathered_matmul_grad_weight_flops,
                                        KERNELS(cpu_gathered_matmul_grad_weight)},
    [OP_GROUPED_MATMUL_COMBINE] = {"perft.grouped_matmul_combine",
                                   OPERANDS(FLOAT("rows", "R", 2), WEIGHT("bank", "B", 3), I32("offsets", "O", 1),
                                            I32("perm", "M", 1), FLOAT("w", "W", 2)),
                                   RESULTS(FLOAT("y", "Y", 2)), ATTRIBUTES({"scale", ATTRIBUTE_FLOAT}),
                                   .verify = verify_grouped_matmul_combine,
                                   FUSED_OP("perft-fuse-route"), .flops = grouped_matmul_flops,
                                   KERNELS(cpu_grouped_matmul_combine)},
    /* made by perft-fuse-softmax-top-k (after autodiff): a router's softmax and top-k as one kernel */
    [OP_SOFTMAX_TOP_K] = {"perft.softmax_top_k", OPERANDS(FLOAT("x", "P", 2)),
                          RESULTS(FLOAT("p", "P", 2), FLOAT("w", "W", 2), I32("idx", "I", 2)),
                          ATTRIBUTES({"k", ATTRIBUTE_INT}, {"renormalize", ATTRIBUTE_BOOL}),
                          .verify = verify_softmax_top_k, FUSED_OP("perft-fuse-softmax-top-k"),
                          KERNELS(cpu_softmax_top_k)},
    /* made by perft-fuse-shared-input (after autodiff): GEMMs that read one input as one GEMM */
    [OP_CONCAT] = {"perft.concat", OPERANDS(FLOAT("a", "A", 2), FLOAT("b", "B", 2)), RESULTS(FLOAT("y", "Y", 2)),
                   ATTRIBUTES({"axis", ATTRIBUTE_INT}), .verify = verify_concat,
                   FUSED_OP("perft-fuse-shared-input"), KERNELS(cpu_concat)},
    [OP_SLICE] = {"perft.slice", OPERANDS(FLOAT("x", "X", 2)), RESULTS(FLOAT("y", "Y", 2)),
                  ATTRIBUTES({"axis", ATTRIBUTE_INT}, {"start", ATTRIBUTE_INT}), .verify = verify_slice,
                  FUSED_OP("perft-fuse-shared-input"), KERNELS(cpu_slice)},
    /* made by perft-fuse-epilogue (after autodiff): y = addend + scale · (x·wᵀ), the scale and the
     * add in the GEMM's epilogue */
    [OP_MATMUL_SCALE_ADD] = {"perft.matmul_scale_add",
                             OPERANDS(FLOAT("x", "X", 2), WEIGHT("w", "W", 2), FLOAT("addend", "Y", 2)),
                             RESULTS(FLOAT("y", "Y", 2)), ATTRIBUTES({"scale", ATTRIBUTE_FLOAT}),
                             .verify = verify_matmul_scale_add, FUSED_OP("perft-fuse-epilogue"),
                             .flops = matmul_scale_add_flops, KERNELS(cpu_matmul_scale_add)},
    [OP_GROUPED_MATMUL_SCALE_ADD] = {"perft.grouped_matmul_scale_add",
                                     OPERANDS(FLOAT("rows", "R", 2), WEIGHT("bank", "B", 3), I32("offsets", "O", 1),
                                              FLOAT("addend", "Y", 2)),
                                     RESULTS(FLOAT("y", "Y", 2)), ATTRIBUTES({"scale", ATTRIBUTE_FLOAT}),
                                     .verify = verify_grouped_matmul_scale_add, FUSED_OP("perft-fuse-epilogue"),
                                     .flops = grouped_matmul_flops, KERNELS(cpu_grouped_matmul_scale_add)},
    /* made by perft-fuse-lora-chain (after autodiff): dropout, down- and up-projection as one kernel */
    [OP_LORA_CHAIN] = {"perft.lora_chain",
                       OPERANDS(FLOAT("x", "X", 2), I32("seed", "SEED", 1), FLOAT("A", "A", 2), FLOAT("B", "B", 2),
                                FLOAT("addend", "Y", 2)),
                       RESULTS(FLOAT("xd", "X", 2), FLOAT("z", "Z", 2), FLOAT("y", "Y", 2)),
                       ATTRIBUTES({"p", ATTRIBUTE_FLOAT}, {"scale", ATTRIBUTE_FLOAT}), .verify = verify_lora_chain,
                       FUSED_OP("perft-fuse-lora-chain"), .flops = lora_chain_flops, KERNELS(cpu_lora_chain)},
    [OP_GROUPED_LORA_CHAIN] = {"perft.grouped_lora_chain",
                               OPERANDS(FLOAT("x", "X", 2), I32("perm", "M", 1), I32("seed", "SEED", 1),
                                        FLOAT("A", "A", 3), FLOAT("B", "B", 3), I32("offsets", "O", 1)),
                               RESULTS(FLOAT("xd", "XD", 2), FLOAT("z", "Z", 2), FLOAT("y", "Y", 2)),
                               ATTRIBUTES({"p", ATTRIBUTE_FLOAT}), .verify = verify_grouped_lora_chain,
                               FUSED_OP("perft-fuse-lora-chain"), .flops = lora_chain_flops,
                               KERNELS(cpu_grouped_lora_chain)},
    /* made by perft-fuse-route: the dropout of routed rows, read from their tokens' rows */
    [OP_GATHERED_DROPOUT] = {"perft.gathered_dropout",
                             OPERANDS(FLOAT("x", "X", 2), I32("perm", "M", 1), I32("seed", "SEED", 1)),
                             RESULTS(FLOAT("xd", "XD", 2)), ATTRIBUTES({"p", ATTRIBUTE_FLOAT}),
                             .verify = verify_gathered_dropout, FUSED_OP("perft-fuse-route"),
                             KERNELS(cpu_gathered_dropout)},
    /* made by perft-fuse-join (after autodiff): PERFT-E's up-projection in its expert's W2 GEMM */
    [OP_GROUPED_MATMUL_JOIN] = {"perft.grouped_matmul_join",
                                OPERANDS(FLOAT("a", "R", 2), WEIGHT("bank", "B", 3), FLOAT("z", "Z", 2),
                                         WEIGHT("bank2", "B2", 3), I32("offsets", "O", 1)),
                                RESULTS(FLOAT("y", "Y", 2)), ATTRIBUTES({"scale", ATTRIBUTE_FLOAT}),
                                .verify = verify_grouped_matmul_join, FUSED_OP("perft-fuse-join"),
                                .flops = grouped_matmul_join_flops, KERNELS(cpu_grouped_matmul_join)},
    [OP_GROUPED_MATMUL_JOIN_COMBINE] = {"perft.grouped_matmul_join_combine",
                                        OPERANDS(FLOAT("a", "R", 2), WEIGHT("bank", "B", 3), FLOAT("z", "Z", 2),
                                                 WEIGHT("bank2", "B2", 3), I32("offsets", "O", 1), I32("perm", "M", 1),
                                                 FLOAT("w", "W", 2)),
                                        RESULTS(FLOAT("y", "Y", 2)), ATTRIBUTES({"scale", ATTRIBUTE_FLOAT}),
                                        .verify = verify_grouped_matmul_join_combine, FUSED_OP("perft-fuse-join"),
                                        .flops = grouped_matmul_join_flops, KERNELS(cpu_grouped_matmul_join_combine)},
    [OP_COMBINE] = {"perft.combine", OPERANDS(FLOAT("rows", "R", 2), I32("perm", "M", 1), FLOAT("w", "W", 2)),
                    RESULTS(FLOAT("y", "Y", 2)), .verify = verify_combine, .backward = backward_combine,
                    .scratch = inverse_perm_scratch, KERNELS(cpu_combine)},
    [OP_COMBINE_GRAD_ROWS] = {"perft.combine_grad_rows",
                              OPERANDS(FLOAT("dy", "Y", 2), I32("perm", "M", 1), FLOAT("w", "W", 2)),
                              RESULTS(FLOAT("drows", "R", 2)), .verify = verify_combine_grad_rows, GRADIENT_OP,
                              KERNELS(cpu_combine_grad_rows)},
    [OP_COMBINE_GRAD_WEIGHTS] = {"perft.combine_grad_weights",
                                 OPERANDS(FLOAT("dy", "Y", 2), FLOAT("rows", "R", 2), I32("perm", "M", 1)),
                                 RESULTS(FLOAT("dw", "W", 2)), .verify = verify_combine_grad_weights, GRADIENT_OP,
                                 .scratch = combine_grad_weights_scratch, KERNELS(cpu_combine_grad_weights)},
    [OP_LOAD_BALANCE] = {"perft.load_balance", OPERANDS(FLOAT("p", "P", 2), I32("idx", "I", 2)),
                         RESULTS(FLOAT("loss", "S", 0)), ATTRIBUTES({"num_experts", ATTRIBUTE_INT}),
                         .verify = verify_load_balance, .backward = backward_load_balance,
                         .scratch = load_balance_scratch, KERNELS(cpu_load_balance)},
    [OP_LOAD_BALANCE_GRAD] = {"perft.load_balance_grad", OPERANDS(I32("idx", "I", 2), FLOAT("dl", "S", 0)),
                              RESULTS(FLOAT("dp", "P", 2)), .verify = verify_load_balance_grad, GRADIENT_OP,
                              .scratch = load_balance_grad_scratch, KERNELS(cpu_load_balance_grad)},

    /* f[e] = #{(t, s) : idx[t, s] = e} / T: the routed fraction per expert (sums to k), for the load
     * balance pooled over layers (`pool load_balance`, transformers' load_balancing_loss_func) */
    [OP_EXPERT_FRACTION] = {"perft.expert_fraction", OPERANDS(I32("idx", "I", 2)), RESULTS(FLOAT("f", "F", 1)),
                            ATTRIBUTES({"num_experts", ATTRIBUTE_INT}), .verify = verify_expert_fraction,
                            .no_backward = "integer indices: no gradient", .scratch = expert_fraction_scratch,
                            KERNELS(cpu_expert_fraction)},

    /* losses */
    [OP_MSE] = {"perft.mse", OPERANDS(FLOAT("y", "T", ANY_RANK), FLOAT("target", "T", ANY_RANK)),
                RESULTS(FLOAT("loss", "S", 0)), .backward = backward_mse, .scratch = mse_scratch, KERNELS(cpu_mse)},
    [OP_MSE_GRAD] = {"perft.mse_grad",
                     OPERANDS(FLOAT("y", "T", ANY_RANK), FLOAT("target", "T", ANY_RANK), FLOAT("dl", "S", 0)),
                     RESULTS(FLOAT("dy", "T", ANY_RANK)), GRADIENT_OP, KERNELS(cpu_mse_grad)},

    /* token models */
    [OP_RMSNORM] = {"perft.rmsnorm", OPERANDS(FLOAT("x", "X", 2), FLOAT("w", "W", 1)), RESULTS(FLOAT("y", "X", 2)),
                    ATTRIBUTES({"eps", ATTRIBUTE_FLOAT}), .verify = verify_rmsnorm, .backward = backward_rmsnorm,
                    .scratch = rmsnorm_scratch, KERNELS(cpu_rmsnorm)},
    [OP_RMSNORM_GRAD_INPUT] = {"perft.rmsnorm_grad_input",
                               OPERANDS(FLOAT("x", "X", 2), FLOAT("w", "W", 1), FLOAT("dy", "X", 2)),
                               RESULTS(FLOAT("dx", "X", 2)), ATTRIBUTES({"eps", ATTRIBUTE_FLOAT}),
                               .verify = verify_rmsnorm, GRADIENT_OP, .scratch = rmsnorm_grad_input_scratch,
                               KERNELS(cpu_rmsnorm_grad_input)},
    [OP_RMSNORM_GRAD_WEIGHT] = {"perft.rmsnorm_grad_weight", OPERANDS(FLOAT("x", "X", 2), FLOAT("dy", "X", 2)),
                                RESULTS(FLOAT("dw", "W", 1)), ATTRIBUTES({"eps", ATTRIBUTE_FLOAT}),
                                .verify = verify_rmsnorm_grad_weight, GRADIENT_OP, .scratch = rmsnorm_grad_weight_scratch,
                                KERNELS(cpu_rmsnorm_grad_weight)},
#define ROPE_ATTRIBUTES ATTRIBUTES({"heads", ATTRIBUTE_INT}, {"seq", ATTRIBUTE_INT}, {"theta", ATTRIBUTE_FLOAT})
    [OP_ROPE] = {"perft.rope", OPERANDS(FLOAT("x", "X", 2)), RESULTS(FLOAT("y", "X", 2)), ROPE_ATTRIBUTES,
                 .verify = verify_rope, .backward = backward_rope, KERNELS(cpu_rope)},
    [OP_ROPE_GRAD] = {"perft.rope_grad", OPERANDS(FLOAT("dy", "X", 2)), RESULTS(FLOAT("dx", "X", 2)), ROPE_ATTRIBUTES,
                      .verify = verify_rope, GRADIENT_OP, KERNELS(cpu_rope_grad)},
#undef ROPE_ATTRIBUTES
#define ATTENTION_ATTRIBUTES \
  ATTRIBUTES({"heads", ATTRIBUTE_INT}, {"kv_heads", ATTRIBUTE_INT}, {"seq", ATTRIBUTE_INT})
    [OP_CAUSAL_ATTENTION] = {"perft.causal_attention",
                             OPERANDS(FLOAT("q", "Q", 2), FLOAT("k", "K", 2), FLOAT("v", "K", 2)),
                             RESULTS(FLOAT("y", "Q", 2)), ATTENTION_ATTRIBUTES, .verify = verify_causal_attention,
                             .backward = backward_causal_attention, KERNELS(cpu_causal_attention)},
    [OP_CAUSAL_ATTENTION_GRAD] = {"perft.causal_attention_grad",
                                  OPERANDS(FLOAT("q", "Q", 2), FLOAT("k", "K", 2), FLOAT("v", "K", 2),
                                           FLOAT("y", "Q", 2), FLOAT("dy", "Q", 2)),
                                  RESULTS(FLOAT("dq", "Q", 2), FLOAT("dk", "K", 2), FLOAT("dv", "K", 2)),
                                  ATTENTION_ATTRIBUTES, .verify = verify_causal_attention, GRADIENT_OP,
                                  .scratch = causal_attention_grad_scratch, KERNELS(cpu_causal_attention_grad)},
    /* causal attention as GEMMs over [B·H, S, S] squares (perft-attention-gemms, library targets) */
    [OP_ATTENTION_SCORES] = {"perft.attention_scores", OPERANDS(FLOAT("a", "A", 2), FLOAT("b", "B", 2)),
                             RESULTS(FLOAT("s", "S", 3)), ATTENTION_ATTRIBUTES, .verify = verify_attention_gemm,
                             FUSED_OP("perft-attention-gemms"), .flops = attention_gemm_flops,
                             KERNELS(cpu_attention_scores)},
    [OP_ATTENTION_APPLY] = {"perft.attention_apply", OPERANDS(FLOAT("p", "P", 3), FLOAT("v", "V", 2)),
                            RESULTS(FLOAT("y", "Y", 2)), ATTENTION_ATTRIBUTES, .verify = verify_attention_gemm,
                            FUSED_OP("perft-attention-gemms"), .flops = attention_gemm_flops,
                            KERNELS(cpu_attention_apply)},
    [OP_ATTENTION_APPLY_T] = {"perft.attention_apply_t", OPERANDS(FLOAT("p", "P", 3), FLOAT("a", "A", 2)),
                              RESULTS(FLOAT("y", "Y", 2)), ATTENTION_ATTRIBUTES, .verify = verify_attention_gemm,
                              FUSED_OP("perft-attention-gemms"), .flops = attention_gemm_flops,
                              KERNELS(cpu_attention_apply_t)},
    [OP_CAUSAL_SOFTMAX] = {"perft.causal_softmax", OPERANDS(FLOAT("s", "S", 3)), RESULTS(FLOAT("p", "S", 3)),
                           ATTRIBUTES({"scale", ATTRIBUTE_FLOAT}), .verify = verify_causal_softmax,
                           FUSED_OP("perft-attention-gemms"), .scratch = causal_softmax_scratch,
                           KERNELS(cpu_causal_softmax)},
    [OP_CAUSAL_SOFTMAX_GRAD] = {"perft.causal_softmax_grad", OPERANDS(FLOAT("p", "S", 3), FLOAT("dp", "S", 3)),
                                RESULTS(FLOAT("ds", "S", 3)), ATTRIBUTES({"scale", ATTRIBUTE_FLOAT}),
                                .verify = verify_causal_softmax, FUSED_OP("perft-attention-gemms"),
                                .scratch = causal_softmax_scratch, KERNELS(cpu_causal_softmax_grad)},
#undef ATTENTION_ATTRIBUTES
    [OP_EMBEDDING] = {"perft.embedding", OPERANDS(WEIGHT("table", "B", 2), I32("ids", "I", ANY_RANK)),
                      RESULTS(FLOAT("y", "Y", 2)), .verify = verify_embedding, .backward = backward_embedding,
                      KERNELS(cpu_embedding)},
    [OP_EMBEDDING_GRAD] = {"perft.embedding_grad", OPERANDS(I32("ids", "I", ANY_RANK), FLOAT("dy", "Y", 2)),
                           RESULTS(FLOAT("dtable", "B", 2)), .verify = verify_embedding_grad, GRADIENT_OP,
                           KERNELS(cpu_embedding_grad)},
    [OP_CROSS_ENTROPY] = {"perft.cross_entropy", OPERANDS(FLOAT("logits", "L", 2), I32("labels", "I", ANY_RANK)),
                          RESULTS(FLOAT("loss", "S", 0)), .verify = verify_cross_entropy,
                          .backward = backward_cross_entropy, .scratch = cross_entropy_scratch,
                          KERNELS(cpu_cross_entropy)},
    [OP_CROSS_ENTROPY_GRAD] = {"perft.cross_entropy_grad",
                               OPERANDS(FLOAT("logits", "L", 2), I32("labels", "I", ANY_RANK), FLOAT("dl", "S", 0)),
                               RESULTS(FLOAT("dlogits", "L", 2)), .verify = verify_cross_entropy, GRADIENT_OP,
                               .scratch = cross_entropy_grad_scratch, KERNELS(cpu_cross_entropy_grad)},
    [OP_DROPOUT] = {"perft.dropout", OPERANDS(FLOAT("x", "T", ANY_RANK), I32("seed", "SEED", 1)),
                    RESULTS(FLOAT("y", "T", ANY_RANK)), ATTRIBUTES({"p", ATTRIBUTE_FLOAT}),
                    .verify = verify_dropout, .backward = backward_dropout, KERNELS(cpu_dropout)},
    [OP_DROPOUT_GRAD] = {"perft.dropout_grad", OPERANDS(FLOAT("dy", "T", ANY_RANK), I32("seed", "SEED", 1)),
                         RESULTS(FLOAT("dx", "T", ANY_RANK)), ATTRIBUTES({"p", ATTRIBUTE_FLOAT}),
                         .verify = verify_dropout, GRADIENT_OP, KERNELS(cpu_dropout)},
    /* the language's elementwise functions (docs/LANGUAGE.md) */
    UNARY_OP(SIGMOID, "sigmoid"), UNARY_OP(TANH, "tanh"), UNARY_OP(RELU, "relu"), UNARY_OP(GELU, "gelu"),
    UNARY_OP(EXP, "exp"), UNARY_OP(LOG, "log"), UNARY_OP(SQRT, "sqrt"), UNARY_OP(ABS, "abs"),
    EXTREMUM_OP(MAXIMUM, "maximum"), EXTREMUM_OP(MINIMUM, "minimum"),
    [OP_LOG_SOFTMAX] = {"perft.log_softmax", OPERANDS(FLOAT("x", "T", 2)), RESULTS(FLOAT("y", "T", 2)),
                        .backward = backward_log_softmax, KERNELS(cpu_log_softmax)},
    [OP_LOG_SOFTMAX_GRAD] = {"perft.log_softmax_grad", OPERANDS(FLOAT("y", "T", 2), FLOAT("dy", "T", 2)),
                             RESULTS(FLOAT("dx", "T", 2)), GRADIENT_OP, KERNELS(cpu_log_softmax_grad)},
    /* reductions along one axis; mean's gradient is sum's, scaled */
    REDUCE_OP(REDUCE_SUM, "reduce_sum", backward_reduce_sum), REDUCE_OP(REDUCE_MEAN, "reduce_mean", backward_reduce_mean),
    REDUCE_OP(REDUCE_MAX, "reduce_max", backward_reduce_max),
    [OP_REDUCE_SUM_GRAD] = {"perft.reduce_sum_grad", OPERANDS(FLOAT("x", "X", ANY_RANK), FLOAT("dy", "Y", ANY_RANK)),
                            RESULTS(FLOAT("dx", "X", ANY_RANK)), ATTRIBUTES({"axis", ATTRIBUTE_INT}),
                            .verify = verify_reduce, GRADIENT_OP, KERNELS(cpu_reduce_sum_grad)},
    /* numpy broadcasting (docs/LANGUAGE.md): x stretched to y's shape, and its gradient summed back */
    [OP_BROADCAST] = {"perft.broadcast", OPERANDS(FLOAT("x", "X", ANY_RANK)), RESULTS(FLOAT("y", "Y", ANY_RANK)),
                      .verify = verify_broadcast, .backward = backward_broadcast, KERNELS(cpu_broadcast)},
    [OP_SUM_TO] = {"perft.sum_to", OPERANDS(FLOAT("dy", "Y", ANY_RANK)), RESULTS(FLOAT("dx", "X", ANY_RANK)),
                   .verify = verify_broadcast, GRADIENT_OP, .scratch = sum_to_scratch, KERNELS(cpu_sum_to)},
    /* an expert's parameter in an elementwise position of a route body: each dispatched row gets its
     * expert's slice (a scalar slice as [R, 1]); the gradient sums each expert's rows */
    [OP_EXPERT_ROWS] = {"perft.expert_rows", OPERANDS(FLOAT("bank", "B", ANY_RANK), I32("offsets", "O", 1)),
                        RESULTS(FLOAT("rows", "R", ANY_RANK)), .verify = verify_expert_rows,
                        .backward = backward_expert_rows, KERNELS(cpu_expert_rows)},
    [OP_EXPERT_ROWS_GRAD] = {"perft.expert_rows_grad", OPERANDS(FLOAT("drows", "R", ANY_RANK), I32("offsets", "O", 1)),
                             RESULTS(FLOAT("dbank", "B", ANY_RANK)), .verify = verify_expert_rows, GRADIENT_OP,
                             KERNELS(cpu_expert_rows_grad)},
    /* comparisons give f32 masks (1 or 0; no gradient flows through them), where(c, a, b) selects */
    [OP_COMPARE] = {"perft.compare", OPERANDS(FLOAT("a", "T", ANY_RANK), FLOAT("b", "T", ANY_RANK)),
                    RESULTS(FLOAT("mask", "T", ANY_RANK)), ATTRIBUTES({"predicate", ATTRIBUTE_INT}),
                    .verify = verify_compare, .backward = backward_compare, KERNELS(cpu_compare)},
    [OP_WHERE] = {"perft.where", OPERANDS(FLOAT("c", "T", ANY_RANK), FLOAT("a", "T", ANY_RANK), FLOAT("b", "T", ANY_RANK)),
                  RESULTS(FLOAT("y", "T", ANY_RANK)), .backward = backward_where, KERNELS(cpu_where)},
    [OP_WHERE_GRAD] = {"perft.where_grad", OPERANDS(FLOAT("c", "T", ANY_RANK), FLOAT("dy", "T", ANY_RANK)),
                       RESULTS(FLOAT("d", "T", ANY_RANK)), ATTRIBUTES({"branch", ATTRIBUTE_BOOL}), GRADIENT_OP,
                       KERNELS(cpu_where_grad)},
    /* the chosen entries of each row: y[t, s] = p[t, idx[t, s]] (a selection-only bias: choose by
     * p + b, weight by p); its gradient is top_k_grad's without renormalisation */
    [OP_GATHER] = {"perft.gather", OPERANDS(FLOAT("p", "P", 2), I32("idx", "I", 2)), RESULTS(FLOAT("y", "W", 2)),
                   .verify = verify_gather, .backward = backward_gather, KERNELS(cpu_gather)},
    /* a route in a route body: sub-expert j of the row's expert e is e·width + j */
    [OP_NEST_INDICES] = {"perft.nest_indices", OPERANDS(I32("idx", "I", 2), I32("offsets", "O", 1)),
                         RESULTS(I32("nested", "I", 2)), ATTRIBUTES({"width", ATTRIBUTE_INT}),
                         .no_backward = "integer indices: no gradient", KERNELS(cpu_nest_indices)},
    [OP_TRANSPOSE] = {"perft.transpose", OPERANDS(FLOAT("x", "X", 2)), RESULTS(FLOAT("y", "Y", 2)),
                      .verify = verify_transpose, .backward = backward_transpose, KERNELS(cpu_transpose)},
    /* expert-choice routing: expert e takes the tokens tok[e, :] (a top-C over the tokens' column of
     * scores); row e·C + c is token tok[e, c], and its output goes back weighted by w[e, c] */
    [OP_EC_DISPATCH] = {"perft.ec_dispatch", OPERANDS(FLOAT("x", "X", 2), I32("tok", "I", 2)),
                        RESULTS(FLOAT("rows", "R", 2), I32("offsets", "O", 1)), .verify = verify_ec,
                        .backward = backward_ec_dispatch, KERNELS(cpu_ec_dispatch)},
    [OP_EC_DISPATCH_GRAD] = {"perft.ec_dispatch_grad", OPERANDS(FLOAT("drows", "R", 2), I32("tok", "I", 2)),
                             RESULTS(FLOAT("dx", "X", 2)), .verify = verify_ec, GRADIENT_OP,
                             .scratch = ec_inverse_scratch, KERNELS(cpu_ec_dispatch_grad)},
    [OP_EC_COMBINE] = {"perft.ec_combine", OPERANDS(FLOAT("rows", "R", 2), I32("tok", "I", 2), FLOAT("w", "W", 2)),
                       RESULTS(FLOAT("y", "Y", 2)), .verify = verify_ec, .backward = backward_ec_combine,
                       .scratch = ec_inverse_scratch, KERNELS(cpu_ec_combine)},
    [OP_EC_COMBINE_GRAD_ROWS] = {"perft.ec_combine_grad_rows",
                                 OPERANDS(FLOAT("dy", "Y", 2), I32("tok", "I", 2), FLOAT("w", "W", 2)),
                                 RESULTS(FLOAT("drows", "R", 2)), .verify = verify_ec, GRADIENT_OP,
                                 KERNELS(cpu_ec_combine_grad_rows)},
    [OP_EC_COMBINE_GRAD_WEIGHTS] = {"perft.ec_combine_grad_weights",
                                    OPERANDS(FLOAT("dy", "Y", 2), FLOAT("rows", "R", 2), I32("tok", "I", 2)),
                                    RESULTS(FLOAT("dw", "W", 2)), .verify = verify_ec, GRADIENT_OP,
                                    .scratch = combine_grad_weights_scratch, KERNELS(cpu_ec_combine_grad_weights)},
    [OP_REDUCE_MAX_GRAD] = {"perft.reduce_max_grad",
                            OPERANDS(FLOAT("x", "X", ANY_RANK), FLOAT("y", "Y", ANY_RANK), FLOAT("dy", "Y", ANY_RANK)),
                            RESULTS(FLOAT("dx", "X", ANY_RANK)), ATTRIBUTES({"axis", ATTRIBUTE_INT}),
                            .verify = verify_reduce, GRADIENT_OP, KERNELS(cpu_reduce_max_grad)},
};

/* ---- lookup ---- */
static const char buffer_dialect[] = "perft_buffer.";

static int name_equals(MlirStringRef n, const char *prefix, size_t prefix_length, const char *rest) {
  size_t rest_length = strlen(rest);
  return n.length == prefix_length + rest_length && !memcmp(n.data, prefix, prefix_length) &&
         !memcmp(n.data + prefix_length, rest, rest_length);
}

const OpInfo *op_info_of(MlirOperation op) {
  MlirStringRef n = mlirIdentifierStr(mlirOperationGetName(op));
  for (int i = 0; i < OP_COUNT; i++) {
    const OpInfo *info = &op_table[i];
    if (name_equals(n, "", 0, info->name)) return info;
    if (!info->upstream && name_equals(n, buffer_dialect, sizeof buffer_dialect - 1, strchr(info->name, '.') + 1))
      return info;
  }
  return NULL;
}

const char *op_buffer_name(const OpInfo *info, char *buffer, size_t size) {
  if (info->upstream) snprintf(buffer, size, "%s", info->name);
  else snprintf(buffer, size, "%s%s", buffer_dialect, strchr(info->name, '.') + 1);
  return buffer;
}

int op_is_buffer_form(MlirOperation op, const OpInfo *info) {
  if (info->upstream) return mlirOperationGetNumResults(op) == 0;
  MlirStringRef n = mlirIdentifierStr(mlirOperationGetName(op));
  return n.length > sizeof buffer_dialect - 1 && !memcmp(n.data, buffer_dialect, sizeof buffer_dialect - 1);
}

MlirType op_input_type(MlirOperation op, int i) { return mlirValueGetType(mlirOperationGetOperand(op, i)); }

MlirType op_output_type(MlirOperation op, const OpInfo *info, int i) {
  if (op_is_buffer_form(op, info)) return mlirValueGetType(mlirOperationGetOperand(op, info->num_operands + i));
  return mlirValueGetType(mlirOperationGetResult(op, i));
}

/* ---- collecting ---- */
MlirOperation *op_collect(MlirOperation module, OpId id, size_t *count) {
  size_t n = 0, capacity = 16;
  MlirOperation *ops = malloc(capacity * sizeof *ops);
  IR_CHECK(ops != NULL, "out of memory");
  MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(module, 0));
  for (MlirOperation func = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(func);
       func = mlirOperationGetNextInBlock(func)) {
    if (!op_is(func, "func.func") || mlirOperationGetNumRegions(func) != 1) continue;
    MlirBlock fbody = mlirRegionGetFirstBlock(mlirOperationGetRegion(func, 0));
    if (mlirBlockIsNull(fbody)) continue;
    for (MlirOperation op = mlirBlockGetFirstOperation(fbody); !mlirOperationIsNull(op); op = mlirOperationGetNextInBlock(op)) {
      if (op_info_of(op) != &op_table[id] || op_is_buffer_form(op, &op_table[id])) continue;
      if (n == capacity) ops = realloc(ops, (capacity *= 2) * sizeof *ops);
      IR_CHECK(ops != NULL, "out of memory");
      ops[n++] = op;
    }
  }
  *count = n;
  return ops;
}

int op_fuse_each(MlirOperation module, OpId id, int (*fuse)(MlirOperation op)) {
  size_t n;
  int fused = 0;
  MlirOperation *ops = op_collect(module, id, &n);
  for (size_t i = 0; i < n; i++) fused += fuse(ops[i]);
  free(ops);
  return fused;
}

int op_is_kind(MlirOperation op, OpId id) { return !mlirOperationIsNull(op) && op_info_of(op) == &op_table[id]; }

/* ---- building ---- */
static MlirAttribute attribute_value(MlirContext context, AttributeKind kind, AttributeValue v) {
  if (kind == ATTRIBUTE_BOOL) return mlirBoolAttrGet(context, v.i != 0);
  if (kind == ATTRIBUTE_INT) return mlirIntegerAttrGet(mlirIntegerTypeGet(context, 64), v.i);
  return mlirFloatAttrDoubleGet(context, mlirF64TypeGet(context), v.f);
}

static MlirOperation build_with(Builder *b, OpId id, const MlirValue *operands, const MlirType *result_types,
                                const MlirAttribute *values) {
  const OpInfo *info = &op_table[id];
  MlirNamedAttribute attributes[OP_MAX_ATTRIBUTES];
  for (int i = 0; i < info->num_attributes; i++)
    attributes[i] = named_attribute(b->context, info->attributes[i].name, values[i]);
  return build_op(b, info->name, info->num_operands, operands, info->num_results, result_types,
                  info->num_attributes, attributes);
}

MlirOperation op_build(Builder *b, OpId id, const MlirValue *operands, const MlirType *result_types,
                       const AttributeValue *attributes) {
  const OpInfo *info = &op_table[id];
  MlirAttribute values[OP_MAX_ATTRIBUTES];
  for (int i = 0; i < info->num_attributes; i++)
    values[i] = attribute_value(b->context, info->attributes[i].kind, attributes[i]);
  return build_with(b, id, operands, result_types, values);
}

MlirOperation op_build_like(Builder *b, OpId id, const MlirValue *operands, const MlirType *result_types,
                            MlirOperation from) {
  const OpInfo *info = &op_table[id];
  MlirAttribute values[OP_MAX_ATTRIBUTES];
  for (int i = 0; i < info->num_attributes; i++) {
    values[i] = mlirOperationGetAttributeByName(from, str(info->attributes[i].name));
    IR_CHECK(!mlirAttributeIsNull(values[i]), info->attributes[i].name);
  }
  return build_with(b, id, operands, result_types, values);
}

/* ---- the start-up check ---- */
static int check_values(const OpInfo *info, const char *what, int n, int max, const ValueSpec *specs, FILE *err) {
  if (n < 0 || n > max) {
    fprintf(err, "perft: internal error: op table: '%s' has %d %s (at most %d)\n", info->name, n, what, max);
    return 0;
  }
  for (int i = 0; i < n; i++)
    if (!specs[i].name || !specs[i].type_var || specs[i].rank < ANY_RANK || specs[i].rank > 3) {
      fprintf(err, "perft: internal error: op table: '%s' %s %d has no name, type variable or valid rank\n",
              info->name, what, i);
      return 0;
    }
  return 1;
}

int op_table_check(const OpInfo *table, int count, FILE *err) {
  int ok = 1;
  for (int i = 0; i < count; i++) {
    const OpInfo *info = &table[i];
    if (!info->name) {
      fprintf(err, "perft: internal error: op table: op number %d has no entry\n", i);
      ok = 0;
      continue;
    }
    if (!info->backward && !info->no_backward) {
      fprintf(err, "perft: internal error: op table: '%s' has no backward rule and does not say why\n", info->name);
      ok = 0;
    }
    for (int t = 0; t < TARGET_COUNT; t++)
      if (!info->kernel[t]) {
        fprintf(err, "perft: internal error: op table: '%s' has no kernel for the %s target\n", info->name,
                target_names[t]);
        ok = 0;
      }
    if (info->upstream) continue;
    if (info->num_results < 1) {
      fprintf(err, "perft: internal error: op table: '%s' has no results\n", info->name);
      ok = 0;
    }
    ok &= check_values(info, "operands", info->num_operands, OP_MAX_OPERANDS, info->operands, err);
    ok &= check_values(info, "results", info->num_results, OP_MAX_RESULTS, info->results, err);
    if (info->num_attributes < 0 || info->num_attributes > OP_MAX_ATTRIBUTES) {
      fprintf(err, "perft: internal error: op table: '%s' has too many attributes\n", info->name);
      ok = 0;
    }
  }
  return ok;
}

/* ---- IRDL ---- */

/* One irdl constraint variable per distinct type variable: "%T = irdl.base ...". */
static void declare_type_variable(FILE *t, const char **declared, int *count, const char *var, const char *base) {
  for (int i = 0; i < *count; i++)
    if (!strcmp(declared[i], var)) return;
  declared[(*count)++] = var;
  fprintf(t, "    %%%s = irdl.base \"%s\"\n", var, base);
}

static void print_value_list(FILE *t, const char *keyword, int n, const ValueSpec *specs, int scratch) {
  fprintf(t, "    irdl.%s(", keyword);
  for (int i = 0; i < n + scratch; i++) fprintf(t, "%s%%%s", i ? ", " : "", i < n ? specs[i].type_var : "scratch");
  fprintf(t, ")\n");
}

/* One op in one form: tensor (operands -> results) or buffer (inputs, outputs, scratch -> ()). */
static void print_operation(FILE *t, const OpInfo *info, int buffer_form) {
  static const char *attribute_bases[] = {"#builtin.integer", "#builtin.integer", "#builtin.float"};
  const char *base = buffer_form ? "!builtin.memref" : "!builtin.tensor";
  const char *declared[OP_MAX_OPERANDS + OP_MAX_RESULTS + 1];
  int count = 0;
  fprintf(t, "  irdl.operation @%s {\n", strchr(info->name, '.') + 1);
  for (int i = 0; i < info->num_operands; i++) declare_type_variable(t, declared, &count, info->operands[i].type_var, base);
  for (int i = 0; i < info->num_results; i++) declare_type_variable(t, declared, &count, info->results[i].type_var, base);
  if (buffer_form && info->scratch) declare_type_variable(t, declared, &count, "scratch", base); /* any memref */
  for (int i = 0; i < info->num_attributes; i++)
    fprintf(t, "    %%attribute%d = irdl.base \"%s\"\n", i, attribute_bases[info->attributes[i].kind]);
  if (buffer_form) {
    ValueSpec all[OP_MAX_OPERANDS + OP_MAX_RESULTS];
    memcpy(all, info->operands, (size_t)info->num_operands * sizeof(ValueSpec));
    memcpy(all + info->num_operands, info->results, (size_t)info->num_results * sizeof(ValueSpec));
    print_value_list(t, "operands", info->num_operands + info->num_results, all, info->scratch ? OP_MAX_SCRATCH : 0);
    fprintf(t, "    irdl.results()\n");
  } else {
    print_value_list(t, "operands", info->num_operands, info->operands, 0);
    print_value_list(t, "results", info->num_results, info->results, 0);
  }
  if (info->num_attributes > 0) {
    fprintf(t, "    irdl.attributes {");
    for (int i = 0; i < info->num_attributes; i++)
      fprintf(t, "%s\"%s\" = %%attribute%d", i ? ", " : "", info->attributes[i].name, i);
    fprintf(t, "}\n");
  }
  fprintf(t, "  }\n");
}

char *op_table_irdl(void) {
  char *text = NULL;
  size_t length = 0;
  FILE *t = open_memstream(&text, &length);
  IR_CHECK(t != NULL, "out of memory");
  for (int form = 0; form < 2; form++) {
    fprintf(t, "irdl.dialect @%s {\n", form ? "perft_buffer" : "perft");
    for (int i = 0; i < OP_COUNT; i++)
      if (!op_table[i].upstream) print_operation(t, &op_table[i], form);
    fprintf(t, "}\n");
  }
  fclose(t);
  return text;
}
