/* autodiff_rules.c — the backward rule of every differentiable op (named by op_table.c).
 *
 * Each rule: given dy, the adjoint of the op's result (of result 0 where others are
 * integer), add the contribution to each active operand's adjoint. Forward beside backward:
 * the math of each rule's ops is in cpu_kernels.c under the same names.
 */
#include "autodiff.h"

/* The operands of op, its result 0 and that result's adjoint. */
typedef struct {
  MlirValue x[OP_MAX_OPERANDS + 1]; /* linalg ops: ins, then outs */
  MlirValue y, dy;
} Rule;

static Rule rule_of(Autodiff *ad, MlirOperation op) {
  Rule r = {.y = mlirOperationGetResult(op, 0)};
  for (intptr_t i = 0; i < mlirOperationGetNumOperands(op) && i <= OP_MAX_OPERANDS; i++)
    r.x[i] = mlirOperationGetOperand(op, i);
  r.dy = ad_adjoint(ad, r.y);
  return r;
}

static MlirType type_of(MlirValue v) { return mlirValueGetType(v); }

/* C = A·B:  dA = dC·Bᵀ, dB = Aᵀ·dC */
void backward_matmul(Autodiff *ad, MlirOperation op) {
  Rule r = rule_of(ad, op);
  if (ad_is_active(ad, r.x[0])) ad_accumulate(ad, r.x[0], ad_matmul(ad, OP_MATMUL_TRANSPOSE_B, r.dy, r.x[1], type_of(r.x[0])));
  if (ad_is_active(ad, r.x[1])) ad_accumulate(ad, r.x[1], ad_matmul(ad, OP_MATMUL_TRANSPOSE_A, r.x[0], r.dy, type_of(r.x[1])));
}

/* C = Aᵀ·B: dA = B·dCᵀ, dB = A·dC */
void backward_matmul_transpose_a(Autodiff *ad, MlirOperation op) {
  Rule r = rule_of(ad, op);
  if (ad_is_active(ad, r.x[0])) ad_accumulate(ad, r.x[0], ad_matmul(ad, OP_MATMUL_TRANSPOSE_B, r.x[1], r.dy, type_of(r.x[0])));
  if (ad_is_active(ad, r.x[1])) ad_accumulate(ad, r.x[1], ad_matmul(ad, OP_MATMUL, r.x[0], r.dy, type_of(r.x[1])));
}

/* C = A·Bᵀ: dA = dC·B, dB = dCᵀ·A */
void backward_matmul_transpose_b(Autodiff *ad, MlirOperation op) {
  Rule r = rule_of(ad, op);
  if (ad_is_active(ad, r.x[0])) ad_accumulate(ad, r.x[0], ad_matmul(ad, OP_MATMUL, r.dy, r.x[1], type_of(r.x[0])));
  if (ad_is_active(ad, r.x[1])) ad_accumulate(ad, r.x[1], ad_matmul(ad, OP_MATMUL_TRANSPOSE_A, r.dy, r.x[0], type_of(r.x[1])));
}

void backward_add(Autodiff *ad, MlirOperation op) {
  Rule r = rule_of(ad, op);
  ad_accumulate(ad, r.x[0], r.dy);
  ad_accumulate(ad, r.x[1], r.dy);
}

void backward_sub(Autodiff *ad, MlirOperation op) {
  Rule r = rule_of(ad, op);
  ad_accumulate(ad, r.x[0], r.dy);
  if (ad_is_active(ad, r.x[1])) ad_accumulate(ad, r.x[1], ad_scale(ad, r.dy, -1.0));
}

void backward_mul(Autodiff *ad, MlirOperation op) {
  Rule r = rule_of(ad, op);
  if (ad_is_active(ad, r.x[0])) ad_accumulate(ad, r.x[0], ad_binary(ad, OP_MUL, r.dy, r.x[1]));
  if (ad_is_active(ad, r.x[1])) ad_accumulate(ad, r.x[1], ad_binary(ad, OP_MUL, r.dy, r.x[0]));
}

/* c = a/b: da = dc/b, db = -dc·c/b */
void backward_div(Autodiff *ad, MlirOperation op) {
  Rule r = rule_of(ad, op);
  if (ad_is_active(ad, r.x[0])) ad_accumulate(ad, r.x[0], ad_binary(ad, OP_DIV, r.dy, r.x[1]));
  if (ad_is_active(ad, r.x[1]))
    ad_accumulate(ad, r.x[1], ad_scale(ad, ad_binary(ad, OP_DIV, ad_binary(ad, OP_MUL, r.dy, r.y), r.x[1]), -1.0));
}

void backward_scale(Autodiff *ad, MlirOperation op) {
  Rule r = rule_of(ad, op);
  ad_accumulate(ad, r.x[0], ad_scale(ad, r.dy, op_float_attribute(op, "factor", 1.0)));
}

void backward_silu(Autodiff *ad, MlirOperation op) {
  Rule r = rule_of(ad, op);
  ad_accumulate(ad, r.x[0], ad_op(ad, OP_SILU_GRAD, (MlirValue[]){r.x[0], r.dy}, type_of(r.x[0]), op));
}

void backward_softmax(Autodiff *ad, MlirOperation op) {
  Rule r = rule_of(ad, op);
  ad_accumulate(ad, r.x[0], ad_op(ad, OP_SOFTMAX_GRAD, (MlirValue[]){r.y, r.dy}, type_of(r.x[0]), op));
}

/* only the weights (result 0) carry gradient */
void backward_top_k(Autodiff *ad, MlirOperation op) {
  Rule r = rule_of(ad, op);
  MlirValue in[4] = {r.x[0], mlirOperationGetResult(op, 1), r.y, r.dy};
  ad_accumulate(ad, r.x[0], ad_op(ad, OP_TOP_K_GRAD, in, type_of(r.x[0]), op));
}

/* rows (result 0) carry gradient: dx[t] = Σ over t's rows of drows */
void backward_dispatch(Autodiff *ad, MlirOperation op) {
  Rule r = rule_of(ad, op);
  MlirValue in[2] = {r.dy, mlirOperationGetResult(op, 1)};
  ad_accumulate(ad, r.x[0], ad_op(ad, OP_DISPATCH_GRAD, in, type_of(r.x[0]), op));
}

/* drows = dy · W_e (or W_eᵀ): a grouped matmul with transpose_w flipped; dW_e = dy_eᵀ · rows_e */
void backward_grouped_matmul(Autodiff *ad, MlirOperation op) {
  Rule r = rule_of(ad, op);
  if (ad_is_active(ad, r.x[0])) {
    AttributeValue flipped = {.i = !op_int_attribute(op, "transpose_w", 0)};
    MlirType t = type_of(r.x[0]);
    MlirOperation g = op_build(ad_builder(ad), OP_GROUPED_MATMUL, (MlirValue[]){r.dy, r.x[1], r.x[2]}, &t, &flipped);
    ad_accumulate(ad, r.x[0], mlirOperationGetResult(g, 0));
  }
  if (ad_is_active(ad, r.x[1]))
    ad_accumulate(ad, r.x[1], ad_op(ad, OP_GROUPED_MATMUL_GRAD_WEIGHT, (MlirValue[]){r.dy, r.x[0], r.x[2]},
                                    type_of(r.x[1]), op));
}

/* y[t] = Σ_s w[t,s] rows[row(t,s)] */
void backward_combine(Autodiff *ad, MlirOperation op) {
  Rule r = rule_of(ad, op);
  if (ad_is_active(ad, r.x[0]))
    ad_accumulate(ad, r.x[0], ad_op(ad, OP_COMBINE_GRAD_ROWS, (MlirValue[]){r.dy, r.x[1], r.x[2]}, type_of(r.x[0]), op));
  if (ad_is_active(ad, r.x[2]))
    ad_accumulate(ad, r.x[2], ad_op(ad, OP_COMBINE_GRAD_WEIGHTS, (MlirValue[]){r.dy, r.x[0], r.x[1]}, type_of(r.x[2]), op));
}

void backward_load_balance(Autodiff *ad, MlirOperation op) {
  Rule r = rule_of(ad, op);
  ad_accumulate(ad, r.x[0], ad_op(ad, OP_LOAD_BALANCE_GRAD, (MlirValue[]){r.x[1], r.dy}, type_of(r.x[0]), op));
}

void backward_mse(Autodiff *ad, MlirOperation op) {
  Rule r = rule_of(ad, op);
  MlirValue d = ad_op(ad, OP_MSE_GRAD, (MlirValue[]){r.x[0], r.x[1], r.dy}, type_of(r.x[0]), op);
  ad_accumulate(ad, r.x[0], d);
  if (ad_is_active(ad, r.x[1])) ad_accumulate(ad, r.x[1], ad_scale(ad, d, -1.0));
}

void backward_rmsnorm(Autodiff *ad, MlirOperation op) {
  Rule r = rule_of(ad, op);
  if (ad_is_active(ad, r.x[0]))
    ad_accumulate(ad, r.x[0], ad_op(ad, OP_RMSNORM_GRAD_INPUT, (MlirValue[]){r.x[0], r.x[1], r.dy}, type_of(r.x[0]), op));
  if (ad_is_active(ad, r.x[1]))
    ad_accumulate(ad, r.x[1], ad_op(ad, OP_RMSNORM_GRAD_WEIGHT, (MlirValue[]){r.x[0], r.dy}, type_of(r.x[1]), op));
}

/* the ids carry no gradient */
void backward_embedding(Autodiff *ad, MlirOperation op) {
  Rule r = rule_of(ad, op);
  ad_accumulate(ad, r.x[0], ad_op(ad, OP_EMBEDDING_GRAD, (MlirValue[]){r.x[1], r.dy}, type_of(r.x[0]), op));
}

void backward_cross_entropy(Autodiff *ad, MlirOperation op) {
  Rule r = rule_of(ad, op);
  ad_accumulate(ad, r.x[0], ad_op(ad, OP_CROSS_ENTROPY_GRAD, (MlirValue[]){r.x[0], r.x[1], r.dy}, type_of(r.x[0]), op));
}

/* the same mask, from the same seed */
void backward_dropout(Autodiff *ad, MlirOperation op) {
  Rule r = rule_of(ad, op);
  ad_accumulate(ad, r.x[0], ad_op(ad, OP_DROPOUT_GRAD, (MlirValue[]){r.dy, r.x[1]}, type_of(r.x[0]), op));
}

/* y = f(x) elementwise (sigmoid, tanh, relu, gelu, exp, log, sqrt, abs): dx = f_grad(x, dy),
 * f_grad the entry after f's in the table */
void backward_unary(Autodiff *ad, MlirOperation op) {
  Rule r = rule_of(ad, op);
  OpId grad = (OpId)(op_info_of(op) - op_table + 1);
  ad_accumulate(ad, r.x[0], ad_op(ad, grad, (MlirValue[]){r.x[0], r.dy}, type_of(r.x[0]), op));
}

/* y = maximum(a, b) (or minimum): da = grad(a, b, dy), db = grad(b, a, dy) */
void backward_extremum(Autodiff *ad, MlirOperation op) {
  Rule r = rule_of(ad, op);
  OpId grad = (OpId)(op_info_of(op) - op_table + 1);
  if (ad_is_active(ad, r.x[0]))
    ad_accumulate(ad, r.x[0], ad_op(ad, grad, (MlirValue[]){r.x[0], r.x[1], r.dy}, type_of(r.x[0]), op));
  if (ad_is_active(ad, r.x[1]))
    ad_accumulate(ad, r.x[1], ad_op(ad, grad, (MlirValue[]){r.x[1], r.x[0], r.dy}, type_of(r.x[1]), op));
}

/* y = log_softmax(x) per row: dx = dy − exp(y) · Σ dy */
void backward_log_softmax(Autodiff *ad, MlirOperation op) {
  Rule r = rule_of(ad, op);
  ad_accumulate(ad, r.x[0], ad_op(ad, OP_LOG_SOFTMAX_GRAD, (MlirValue[]){r.y, r.dy}, type_of(r.x[0]), op));
}

/* y = Σ_axis x: dx = dy, repeated along the axis */
void backward_reduce_sum(Autodiff *ad, MlirOperation op) {
  Rule r = rule_of(ad, op);
  ad_accumulate(ad, r.x[0], ad_op(ad, OP_REDUCE_SUM_GRAD, (MlirValue[]){r.x[0], r.dy}, type_of(r.x[0]), op));
}

/* y = mean_axis x: dx = dy / n, repeated along the axis */
void backward_reduce_mean(Autodiff *ad, MlirOperation op) {
  Rule r = rule_of(ad, op);
  int64_t n = mlirShapedTypeGetDimSize(type_of(r.x[0]), op_int_attribute(op, "axis", 0));
  MlirValue spread = ad_op(ad, OP_REDUCE_SUM_GRAD, (MlirValue[]){r.x[0], r.dy}, type_of(r.x[0]), op);
  ad_accumulate(ad, r.x[0], ad_scale(ad, spread, 1.0 / (double)n));
}

/* y = max_axis x: dx = dy at the first maximum along the axis, 0 elsewhere */
void backward_reduce_max(Autodiff *ad, MlirOperation op) {
  Rule r = rule_of(ad, op);
  ad_accumulate(ad, r.x[0], ad_op(ad, OP_REDUCE_MAX_GRAD, (MlirValue[]){r.x[0], r.y, r.dy}, type_of(r.x[0]), op));
}

/* y = x stretched (numpy broadcasting): dx = dy summed over the stretched dims */
void backward_broadcast(Autodiff *ad, MlirOperation op) {
  Rule r = rule_of(ad, op);
  ad_accumulate(ad, r.x[0], ad_op(ad, OP_SUM_TO, &r.dy, type_of(r.x[0]), op));
}

/* rows[r] = bank[expert of r]: dbank[e] = Σ of e's rows of drows */
void backward_expert_rows(Autodiff *ad, MlirOperation op) {
  Rule r = rule_of(ad, op);
  ad_accumulate(ad, r.x[0], ad_op(ad, OP_EXPERT_ROWS_GRAD, (MlirValue[]){r.dy, r.x[1]}, type_of(r.x[0]), op));
}

/* a comparison is piecewise constant: no gradient flows through it */
void backward_compare(Autodiff *ad, MlirOperation op) {}

/* y = c ? a : b: da = dy where c (where_grad, branch 1), db = dy elsewhere (branch 0); c gets none */
void backward_where(Autodiff *ad, MlirOperation op) {
  Rule r = rule_of(ad, op);
  for (int branch = 1; branch >= 0; branch--) {
    MlirValue x = r.x[branch ? 1 : 2];
    if (!ad_is_active(ad, x)) continue;
    MlirType type = type_of(x);
    AttributeValue which = {.i = branch};
    MlirOperation d = op_build(ad_builder(ad), OP_WHERE_GRAD, (MlirValue[]){r.x[0], r.dy}, &type, &which);
    ad_accumulate(ad, x, mlirOperationGetResult(d, 0));
  }
}

/* y = xᵀ: dx = dyᵀ */
void backward_transpose(Autodiff *ad, MlirOperation op) {
  Rule r = rule_of(ad, op);
  ad_accumulate(ad, r.x[0], ad_op(ad, OP_TRANSPOSE, &r.dy, type_of(r.x[0]), op));
}

/* rows[e·C + c] = x[tok[e, c]]: dx[t] = Σ of the rows that read t (offsets: no gradient) */
void backward_ec_dispatch(Autodiff *ad, MlirOperation op) {
  Rule r = rule_of(ad, op);
  ad_accumulate(ad, r.x[0], ad_op(ad, OP_EC_DISPATCH_GRAD, (MlirValue[]){r.dy, r.x[1]}, type_of(r.x[0]), op));
}

/* y[t] = Σ_{tok[e,c] = t} w[e,c] · rows[e·C + c]: drows = w · dy[tok], dw[e,c] = dy[tok[e,c]] · rows[e·C + c] */
void backward_ec_combine(Autodiff *ad, MlirOperation op) {
  Rule r = rule_of(ad, op);
  if (ad_is_active(ad, r.x[0]))
    ad_accumulate(ad, r.x[0], ad_op(ad, OP_EC_COMBINE_GRAD_ROWS, (MlirValue[]){r.dy, r.x[1], r.x[2]}, type_of(r.x[0]), op));
  if (ad_is_active(ad, r.x[2]))
    ad_accumulate(ad, r.x[2], ad_op(ad, OP_EC_COMBINE_GRAD_WEIGHTS, (MlirValue[]){r.dy, r.x[0], r.x[1]}, type_of(r.x[2]), op));
}

/* y[t, s] = p[t, idx[t, s]]: dp[t, idx[t, s]] = dy[t, s] (top_k_grad without renormalisation) */
void backward_gather(Autodiff *ad, MlirOperation op) {
  Rule r = rule_of(ad, op);
  MlirType type = type_of(r.x[0]);
  AttributeValue no_renormalize = {.i = 0};
  MlirOperation dp = op_build(ad_builder(ad), OP_TOP_K_GRAD, (MlirValue[]){r.x[0], r.x[1], r.y, r.dy}, &type,
                              &no_renormalize);
  ad_accumulate(ad, r.x[0], mlirOperationGetResult(dp, 0));
}

/* y = rope(x), a rotation of each pair of columns: dx = the rotation back applied to dy */
void backward_rope(Autodiff *ad, MlirOperation op) {
  Rule r = rule_of(ad, op);
  ad_accumulate(ad, r.x[0], ad_op(ad, OP_ROPE_GRAD, &r.dy, type_of(r.x[0]), op));
}

/* y = causal_attention(q, k, v): one op gives dq, dk and dv (it recomputes the probabilities) */
void backward_causal_attention(Autodiff *ad, MlirOperation op) {
  Rule r = rule_of(ad, op);
  MlirType types[3] = {type_of(r.x[0]), type_of(r.x[1]), type_of(r.x[2])};
  MlirOperation grad = op_build_like(ad_builder(ad), OP_CAUSAL_ATTENTION_GRAD,
                                     (MlirValue[]){r.x[0], r.x[1], r.x[2], r.y, r.dy}, types, op);
  for (int i = 0; i < 3; i++) ad_accumulate(ad, r.x[i], mlirOperationGetResult(grad, i));
}
