/* elaborate_expr.c — expressions: numbers, names, arithmetic, @, the
 * builtins, bank application and route, each checked for shape and turned
 * into Graph nodes.
 *
 *   number op number             -> number (compile time)
 *   number * t, t * number, t / number -> SCALE(t)
 *   t op t (same shape)          -> ADD / SUB / MUL / DIV
 *   a @ b, a^T @ b, a @ b^T      -> MATMUL (2-D, inner sizes equal)
 *   rows @ P^T, rows @ P         -> GROUPED_MATMUL (P a bank param, inside a route)
 *   route(x, idx, w) { body }    -> DISPATCH, body on the rows, COMBINE
 *   rows @ bank[e].P^T           -> GROUPED_MATMUL (a bank's param named directly, inside a route)
 *   rmsnorm embedding cross_entropy dropout -> RMSNORM EMBEDDING CROSS_ENTROPY DROPOUT
 *   n < m, n >= m, ...           -> 1 or 0 (compile time; for `when`)
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "dsl_limits.h"
#include "elaborate.h"
#include "sema.h"

static int add_node(Elaborator *e, NodeKind kind, SourceLocation loc) {
  return graph_add_node(e->graph, kind, loc);
}

/* A two-operand node with one scalar f32 result (the losses); the node's id in *node. */
static Value scalar_node(Elaborator *e, NodeKind kind, SourceLocation loc, Value a, Value b, int *node) {
  TensorType scalar = tensor_type(DTYPE_F32, 0, NULL);
  *node = add_node(e, kind, loc);
  graph_add_operand(e->graph, *node, a.ref);
  graph_add_operand(e->graph, *node, b.ref);
  graph_add_result(e->graph, *node, scalar);
  return value_tensor((ValueRef){*node, 0}, scalar);
}

/* A one-operand, one-result node whose result has `type`. */
static Value unary_node(Elaborator *e, NodeKind kind, SourceLocation loc, Value operand, TensorType type) {
  int node = add_node(e, kind, loc);
  graph_add_operand(e->graph, node, operand.ref);
  graph_add_result(e->graph, node, type);
  Value result = value_tensor((ValueRef){node, 0}, type);
  result.dispatched = operand.dispatched;
  return result;
}

static Value scale(Elaborator *e, SourceLocation loc, Value tensor, double factor) {
  Value result = unary_node(e, NODE_SCALE, loc, tensor, tensor.type);
  graph_node(e->graph, result.ref.node)->value = factor;
  return result;
}

int expect_tensor(Elaborator *e, Value value, SourceLocation loc, const char *what) {
  switch (value.kind) {
  case VALUE_ERROR: return 0;
  case VALUE_TENSOR:
    if (value.transposed) {
      diag_error(e->diagnostics, loc, "'^T' is allowed only on an operand of '@'");
      return 0;
    }
    return 1;
  case VALUE_NUMBER: diag_error(e->diagnostics, loc, "%s must be a tensor, not a number", what); return 0;
  case VALUE_PAIR:
    diag_error(e->diagnostics, loc, "%s must be a tensor; top_k gives two values, bind them with (w, i) = top_k(...)",
               what);
    return 0;
  case VALUE_BANK: diag_error(e->diagnostics, loc, "%s must be a tensor; a bank is applied as bank[e](rows)", what); return 0;
  case VALUE_BANK_PARAM:
    diag_error(e->diagnostics, loc,
               "an expert's parameter is the right operand of '@', or a vector or scalar in an elementwise "
               "operation of a route body");
    return 0;
  }
  return 0;
}

static int expect_f32(Elaborator *e, Value value, SourceLocation loc, const char *what) {
  if (!expect_tensor(e, value, loc, what)) return 0;
  if (value.type.dtype != DTYPE_F32) {
    diag_error(e->diagnostics, loc,
               "%s must be an f32 tensor; i32 values (indices, token ids, labels) can only feed route, load_balance, "
               "embedding and cross_entropy",
               what);
    return 0;
  }
  return 1;
}

/* When `expr` is a name that, where it stands, is a tensor (an input or a param) while a top-level
 * dim has the same name: 1 after saying so (the tensor hides the dim there). */
int explain_shadowed_dim(Elaborator *e, const AstExpr *expr, Value value) {
  if (expr->kind != EXPR_NAME || value.kind != VALUE_TENSOR) return 0;
  const AstDecl *decl = sema_find_decl(e->program, expr->name);
  if (!decl || decl->kind != DECL_DIM) return 0;
  char type[96];
  format_type(&value.type, type, sizeof type);
  const Binding *dim = scope_lookup(&e->globals, expr->name);
  diag_error(e->diagnostics, expr->loc,
             "'%s' here is a tensor (%s), not the dim %s = %lld: a name declared in this body (an input or a param) "
             "hides the top-level dim; rename one of them, or write the number",
             expr->name, type, expr->name, dim ? (long long)dim->value.number : decl->dim_value);
  return 1;
}

static int expect_number(Elaborator *e, Value value, SourceLocation loc, const char *what) {
  if (value.kind == VALUE_ERROR) return 0;
  if (value.kind != VALUE_NUMBER) {
    diag_error(e->diagnostics, loc, "%s must be a compile-time number", what);
    return 0;
  }
  return 1;
}

static int expect_rank(Elaborator *e, Value value, SourceLocation loc, int rank, const char *what) {
  if (value.type.rank == rank) return 1;
  char text[96];
  format_type(&value.type, text, sizeof text);
  diag_error(e->diagnostics, loc, "%s must be %d-D, but it is %s", what, rank, text);
  return 0;
}

/* ---- a @ b ---- */
static Value matmul(Elaborator *e, const AstExpr *expr, Value a, Value b) {
  SourceLocation loc = expr->loc;
  if (a.kind == VALUE_ERROR || b.kind == VALUE_ERROR) return value_error();
  if (a.kind == VALUE_BANK_PARAM) {
    diag_error(e->diagnostics, expr->lhs->loc, "an expert's parameter can only be the right operand of '@'");
    return value_error();
  }
  Value plain_a = a;
  plain_a.transposed = 0;
  if (!expect_f32(e, plain_a, expr->lhs->loc, "the left operand of '@'")) return value_error();
  if (!expect_rank(e, a, expr->lhs->loc, 2, "the left operand of '@'")) return value_error();
  char left[96], right[96];
  if (b.kind == VALUE_BANK_PARAM) {
    if (a.transposed || !e->route || a.dispatched != e->route->depth) {
      diag_error(e->diagnostics, expr->lhs->loc, "an expert's parameter multiplies the dispatched rows: write rows @ P^T or rows @ P");
      return value_error();
    }
    int64_t inner = b.transposed ? b.type.dims[1] : b.type.dims[0];
    int64_t outer = b.transposed ? b.type.dims[0] : b.type.dims[1];
    if (b.type.rank != 2 || a.type.dims[1] != inner) {
      TensorType shown = b.type;
      format_type(&a.type, left, sizeof left);
      format_type(&shown, right, sizeof right);
      diag_error(e->diagnostics, loc, "inner sizes of '@' differ: rows %s and expert parameter %s%s", left, right,
                 b.transposed ? "^T" : "");
      return value_error();
    }
    int node = add_node(e, NODE_GROUPED_MATMUL, loc);
    graph_add_operand(e->graph, node, a.ref);
    graph_add_operand(e->graph, node, b.ref);
    graph_add_operand(e->graph, node, e->route->offsets);
    int64_t dims[2] = {a.type.dims[0], outer};
    graph_add_result(e->graph, node, tensor_type(DTYPE_F32, 2, dims));
    graph_node(e->graph, node)->transpose_w = b.transposed;
    Value result = value_tensor((ValueRef){node, 0}, tensor_type(DTYPE_F32, 2, dims));
    result.dispatched = e->route->depth;
    return result;
  }
  Value plain_b = b;
  plain_b.transposed = 0;
  if (!expect_f32(e, plain_b, expr->rhs->loc, "the right operand of '@'")) return value_error();
  if (!expect_rank(e, b, expr->rhs->loc, 2, "the right operand of '@'")) return value_error();
  if (b.dispatched) {
    diag_error(e->diagnostics, expr->rhs->loc, "the dispatched rows can only be the left operand of '@'");
    return value_error();
  }
  int64_t m = a.transposed ? a.type.dims[1] : a.type.dims[0];
  int64_t k_a = a.transposed ? a.type.dims[0] : a.type.dims[1];
  int64_t k_b = b.transposed ? b.type.dims[1] : b.type.dims[0];
  int64_t n = b.transposed ? b.type.dims[0] : b.type.dims[1];
  if (k_a != k_b) {
    format_type(&a.type, left, sizeof left);
    format_type(&b.type, right, sizeof right);
    diag_error(e->diagnostics, loc, "inner sizes of '@' differ: %s%s @ %s%s", left, a.transposed ? "^T" : "", right,
               b.transposed ? "^T" : "");
    return value_error();
  }
  int node = add_node(e, NODE_MATMUL, loc);
  graph_add_operand(e->graph, node, a.ref);
  graph_add_operand(e->graph, node, b.ref);
  int64_t dims[2] = {m, n};
  graph_add_result(e->graph, node, tensor_type(DTYPE_F32, 2, dims));
  graph_node(e->graph, node)->transpose_a = a.transposed;
  graph_node(e->graph, node)->transpose_b = b.transposed;
  Value result = value_tensor((ValueRef){node, 0}, tensor_type(DTYPE_F32, 2, dims));
  result.dispatched = a.dispatched;
  return result;
}

/* ---- numpy broadcasting (docs/LANGUAGE.md): elementwise operands of different shapes stretch to
 * one; numbers become f32 scalars ---- */

/* The shape a and b stretch to: dims aligned from the right, each pair equal or one of them 1;
 * 0 and a diagnostic at loc where they do not. */
static int broadcast_shape(Elaborator *e, SourceLocation loc, const char *what, const TensorType *a,
                           const TensorType *b, TensorType *out) {
  const TensorType *longer = a->rank >= b->rank ? a : b, *shorter = longer == a ? b : a;
  *out = *longer;
  for (int d = 0; d < shorter->rank; d++) {
    int64_t s = shorter->dims[d], *l = &out->dims[d + longer->rank - shorter->rank];
    if (s == *l || s == 1) continue;
    if (*l == 1) {
      *l = s;
      continue;
    }
    char left[96], right[96];
    format_type(a, left, sizeof left);
    format_type(b, right, sizeof right);
    diag_error(e->diagnostics, loc,
               "shapes %s and %s do not broadcast for %s: aligned from the right, each pair of sizes must be "
               "equal or one of them 1",
               left, right, what);
    return 0;
  }
  return 1;
}

static Value broadcast_to(Elaborator *e, SourceLocation loc, Value v, const TensorType *type) {
  if (same_type(&v.type, type)) return v;
  return unary_node(e, NODE_BROADCAST, loc, v, *type);
}

/* An expert's parameter in an elementwise position of a route body (`h * ia3[e].v`): each
 * dispatched row gets its expert's slice, [R, slice] ([R, 1] for a scalar slice). Other values
 * pass through. */
static Value per_row(Elaborator *e, SourceLocation loc, Value v) {
  if (v.kind != VALUE_BANK_PARAM || !e->route) return v;
  if (v.transposed) {
    diag_error(e->diagnostics, loc, "'^T' is allowed only on an operand of '@'");
    return value_error();
  }
  if (v.type.rank > 1) {
    diag_error(e->diagnostics, loc,
               "an expert's parameter in an elementwise position must be a vector or a scalar per expert (it meets "
               "each dispatched row); a matrix is used with '@'");
    return value_error();
  }
  TensorType type = {.dtype = DTYPE_F32, .rank = 2, .dims = {e->route->rows, v.type.rank ? v.type.dims[0] : 1}};
  int node = add_node(e, NODE_EXPERT_ROWS, loc);
  graph_add_operand(e->graph, node, v.ref);
  graph_add_operand(e->graph, node, e->route->offsets);
  graph_add_result(e->graph, node, type);
  Value rows = value_tensor((ValueRef){node, 0}, type);
  rows.dispatched = e->route->depth;
  return rows;
}

static Value scalar_constant(Elaborator *e, SourceLocation loc, double number) {
  int node = add_node(e, NODE_CONST, loc);
  TensorType scalar = {.dtype = DTYPE_F32, .rank = 0};
  graph_add_result(e->graph, node, scalar);
  graph_node(e->graph, node)->value = number;
  return value_tensor((ValueRef){node, 0}, scalar);
}

/* a and b (tensors, or one a number) as two f32 tensors of one shape for an elementwise op. Inside
 * a route body a value of the dispatched rows combines with another only where that one does not
 * span the rows (a vector or a scalar, stretched to every row). 0 after a diagnostic. */
static int elementwise_operands(Elaborator *e, SourceLocation loc, const char *what, const AstExpr *a_expr,
                                const AstExpr *b_expr, Value *a, Value *b) {
  if (a->kind == VALUE_NUMBER) *a = scalar_constant(e, a_expr->loc, a->number);
  if (b->kind == VALUE_NUMBER) *b = scalar_constant(e, b_expr->loc, b->number);
  *a = per_row(e, a_expr->loc, *a);
  *b = per_row(e, b_expr->loc, *b);
  if ((a->kind == VALUE_TENSOR && a->type.dtype == DTYPE_I32 && explain_shadowed_dim(e, a_expr, *a)) ||
      (b->kind == VALUE_TENSOR && b->type.dtype == DTYPE_I32 && explain_shadowed_dim(e, b_expr, *b)))
    return 0;
  int ok_a = expect_f32(e, *a, a_expr->loc, "the left operand");
  int ok_b = expect_f32(e, *b, b_expr->loc, "the right operand");
  if (!ok_a || !ok_b) return 0;
  TensorType shape;
  if (!broadcast_shape(e, loc, what, &a->type, &b->type, &shape)) return 0;
  if (a->dispatched != b->dispatched) {
    const Value *plain = a->dispatched < b->dispatched ? a : b;
    int spans_rows = plain->type.rank == shape.rank && shape.rank > 0 && plain->type.dims[0] != 1;
    if (spans_rows) {
      diag_error(e->diagnostics, loc,
                 "inside a route body, values computed from the dispatched rows can only be combined with each other "
                 "(or with a vector or a number, which every row then uses)");
      return 0;
    }
  }
  int dispatched = a->dispatched > b->dispatched ? a->dispatched : b->dispatched;
  *a = broadcast_to(e, loc, *a, &shape);
  *b = broadcast_to(e, loc, *b, &shape);
  a->dispatched = b->dispatched = dispatched;
  return 1;
}

/* An elementwise node over operands of one shape (elementwise_operands made them so); dispatched
 * when the first is. */
static Value elementwise_node(Elaborator *e, NodeKind kind, SourceLocation loc, int n, const Value *operands) {
  int node = add_node(e, kind, loc);
  for (int i = 0; i < n; i++) graph_add_operand(e->graph, node, operands[i].ref);
  graph_add_result(e->graph, node, operands[0].type);
  Value result = value_tensor((ValueRef){node, 0}, operands[0].type);
  result.dispatched = operands[0].dispatched;
  return result;
}

/* ---- + - * / ---- */

/* n op m, computed now. An infinite result (an overflow), and a product or quotient of nonzero
 * numbers that rounds to 0 or to a denormal (an underflow), are errors. */
static Value fold_arithmetic(Elaborator *e, SourceLocation loc, char op, double a, double b) {
  if (op == '/' && b == 0) {
    diag_error(e->diagnostics, loc, "division by zero");
    return value_error();
  }
  double result = op == '+' ? a + b : op == '-' ? a - b : op == '*' ? a * b : a / b;
  if (!isfinite(result)) {
    diag_error(e->diagnostics, loc, "%g %c %g overflows: the result is too large for a number", a, op, b);
    return value_error();
  }
  if ((op == '*' || op == '/') && a != 0 && fabs(result) < DBL_MIN) {
    diag_error(e->diagnostics, loc, "%g %c %g underflows: the result rounds to 0", a, op, b);
    return value_error();
  }
  return value_number(result);
}

static Value arithmetic(Elaborator *e, const AstExpr *expr, Value a, Value b) {
  SourceLocation loc = expr->loc;
  char op = expr->op;
  if (a.kind == VALUE_ERROR || b.kind == VALUE_ERROR) return value_error();
  if (a.kind == VALUE_NUMBER && b.kind == VALUE_NUMBER) return fold_arithmetic(e, loc, op, a.number, b.number);
  if ((a.kind == VALUE_NUMBER && op == '*') || (b.kind == VALUE_NUMBER && (op == '*' || op == '/'))) {
    Value tensor = a.kind == VALUE_NUMBER ? b : a;
    const AstExpr *tensor_expr = a.kind == VALUE_NUMBER ? expr->rhs : expr->lhs;
    if (tensor.type.dtype == DTYPE_I32 && explain_shadowed_dim(e, tensor_expr, tensor)) return value_error();
    if (!expect_f32(e, tensor, tensor_expr->loc, "the operand")) return value_error();
    if (op == '*') return scale(e, loc, tensor, a.kind == VALUE_NUMBER ? a.number : b.number);
    if (b.number == 0) {
      diag_error(e->diagnostics, loc, "division by zero");
      return value_error();
    }
    return scale(e, loc, tensor, 1.0 / b.number);
  }
  char what[4] = {'\'', op, '\'', 0};
  if (!elementwise_operands(e, loc, what, expr->lhs, expr->rhs, &a, &b)) return value_error();
  NodeKind kind = op == '+' ? NODE_ADD : op == '-' ? NODE_SUB : op == '*' ? NODE_MUL : NODE_DIV;
  return elementwise_node(e, kind, loc, 2, (Value[]){a, b});
}

/* ---- builtins ---- */
static int expect_arity(Elaborator *e, const AstExpr *call, const char *name, int low, int high) {
  for (int i = 0; i < call->args.count; i++) {
    const AstArg *arg = call->args.items[i];
    if (arg->name) {
      diag_error(e->diagnostics, arg->loc, "'%s' takes no named arguments", name);
      return 0;
    }
  }
  int count = call->args.count;
  if (count >= low && count <= high) return 1;
  if (low == high)
    diag_error(e->diagnostics, call->loc, "'%s' takes %d argument%s, but %d %s given", name, low, low == 1 ? "" : "s",
               count, count == 1 ? "is" : "are");
  else
    diag_error(e->diagnostics, call->loc, "'%s' takes %d or %d arguments, but %d %s given", name, low, high, count,
               count == 1 ? "is" : "are");
  return 0;
}

static const AstExpr *arg_expr(const AstExpr *call, int i) { return ((const AstArg *)call->args.items[i])->value; }

static Value builtin_top_k(Elaborator *e, Body *body, const AstExpr *call) {
  Value p = elaborate_expr(e, body, arg_expr(call, 0));
  Value k = elaborate_expr(e, body, arg_expr(call, 1));
  int renormalize = 0;
  if (call->args.count == 3) {
    /* `renorm`, or a compile-time 0/1 (a size parameter such as the moe block's `renorm`) */
    const AstExpr *flag = arg_expr(call, 2);
    if (flag->kind == EXPR_NAME && strcmp(flag->name, "renorm") == 0 && !scope_lookup(body->scope, "renorm")) {
      renormalize = 1;
    } else {
      Value number = flag->kind == EXPR_NAME && !scope_lookup(body->scope, flag->name) ? value_error()
                                                                                        : elaborate_expr(e, body, flag);
      if (number.kind != VALUE_NUMBER || (number.number != 0 && number.number != 1)) {
        diag_error(e->diagnostics, flag->loc, "the third argument of top_k can only be 'renorm' (or a number 0 or 1)");
        return value_error();
      }
      renormalize = number.number == 1;
    }
  }
  int ok_p = expect_f32(e, p, arg_expr(call, 0)->loc, "the probabilities of top_k") &&
             expect_rank(e, p, arg_expr(call, 0)->loc, 2, "the probabilities of top_k");
  int64_t count = 0;
  int ok_k = value_to_dim(e, k, arg_expr(call, 1)->loc, &count);
  if (!ok_p || !ok_k) return value_error();
  if (count > p.type.dims[1]) {
    diag_error(e->diagnostics, arg_expr(call, 1)->loc, "top_k picks %lld of %lld experts: k must not exceed the width",
               (long long)count, (long long)p.type.dims[1]);
    return value_error();
  }
  int node = add_node(e, NODE_TOP_K, call->loc);
  graph_add_operand(e->graph, node, p.ref);
  int64_t dims[2] = {p.type.dims[0], count};
  graph_add_result(e->graph, node, tensor_type(DTYPE_F32, 2, dims));
  graph_add_result(e->graph, node, tensor_type(DTYPE_I32, 2, dims));
  graph_node(e->graph, node)->k = (int)count;
  graph_node(e->graph, node)->renormalize = renormalize;
  Value pair = value_tensor((ValueRef){node, 0}, tensor_type(DTYPE_F32, 2, dims));
  pair.kind = VALUE_PAIR;
  pair.num_experts = (int)p.type.dims[1];
  pair.dispatched = p.dispatched;
  return pair;
}

/* i32 [T,k] indices chosen among `num_experts` experts, for T rows. */
static int expect_indices(Elaborator *e, Value indices, SourceLocation loc, int64_t rows, const char *what) {
  if (!expect_tensor(e, indices, loc, what)) return 0;
  if (indices.type.dtype != DTYPE_I32 || indices.num_experts <= 0 || indices.type.rank != 2) {
    diag_error(e->diagnostics, loc, "%s must be the indices given by top_k", what);
    return 0;
  }
  if (indices.type.dims[0] != rows) {
    diag_error(e->diagnostics, loc, "%s have %lld rows, but %lld are expected", what,
               (long long)indices.type.dims[0], (long long)rows);
    return 0;
  }
  return 1;
}

/* expert_choice(s, C): each of the N experts (the columns of the scores s[T, N]) takes its C
 * highest-scoring tokens (C a number, rounded up: `tokens * Kt / N` is capacity factor 1): the pair (weights f32[N, C], token ids i32[N, C]) for route, which then
 * sends expert e the rows of its tokens (a token may go to several experts, or to none). */
static Value builtin_expert_choice(Elaborator *e, Body *body, const AstExpr *call) {
  if (!expect_arity(e, call, "expert_choice", 2, 2)) return value_error();
  Value s = elaborate_expr(e, body, arg_expr(call, 0));
  Value capacity = elaborate_expr(e, body, arg_expr(call, 1));
  int ok_s = expect_f32(e, s, arg_expr(call, 0)->loc, "the scores of expert_choice") &&
             expect_rank(e, s, arg_expr(call, 0)->loc, 2, "the scores of expert_choice (tokens x experts)");
  int64_t C = 0;
  if (capacity.kind == VALUE_NUMBER) capacity.number = ceil(capacity.number); /* a capacity rounds up */
  int ok_c = value_to_dim(e, capacity, arg_expr(call, 1)->loc, &C);
  if (!ok_s || !ok_c) return value_error();
  int64_t T = s.type.dims[0], N = s.type.dims[1];
  if (C > T) {
    diag_error(e->diagnostics, arg_expr(call, 1)->loc, "each expert picks %lld of %lld tokens: the capacity must not exceed the tokens",
               (long long)C, (long long)T);
    return value_error();
  }
  if (s.dispatched) {
    diag_error(e->diagnostics, call->loc, "expert_choice cannot run inside a route body (" ROUTE_BODY_ALLOWS ")");
    return value_error();
  }
  Value columns = unary_node(e, NODE_TRANSPOSE, call->loc, s, tensor_type(DTYPE_F32, 2, (int64_t[]){N, T}));
  int node = add_node(e, NODE_TOP_K, call->loc);
  graph_add_operand(e->graph, node, columns.ref);
  int64_t dims[2] = {N, C};
  graph_add_result(e->graph, node, tensor_type(DTYPE_F32, 2, dims));
  graph_add_result(e->graph, node, tensor_type(DTYPE_I32, 2, dims));
  graph_node(e->graph, node)->k = (int)C;
  Value pair = value_tensor((ValueRef){node, 0}, tensor_type(DTYPE_F32, 2, dims));
  pair.kind = VALUE_PAIR;
  pair.num_experts = (int)N;
  pair.chooses_tokens = T;
  return pair;
}

/* gather(p, i): p f32[T, E] at the columns top_k chose, f32[T, k] (choose by one score, weight by
 * another: DeepSeek-V3's selection-only bias) */
static Value builtin_gather(Elaborator *e, Body *body, const AstExpr *call) {
  if (!expect_arity(e, call, "gather", 2, 2)) return value_error();
  Value p = elaborate_expr(e, body, arg_expr(call, 0));
  Value indices = elaborate_expr(e, body, arg_expr(call, 1));
  if (!expect_f32(e, p, arg_expr(call, 0)->loc, "the scores of gather") ||
      !expect_rank(e, p, arg_expr(call, 0)->loc, 2, "the scores of gather"))
    return value_error();
  if (indices.kind == VALUE_TENSOR && indices.chooses_tokens) {
    diag_error(e->diagnostics, arg_expr(call, 1)->loc, "gather takes the indices of top_k (each token's experts), not those of expert_choice");
    return value_error();
  }
  if (!expect_indices(e, indices, arg_expr(call, 1)->loc, p.type.dims[0], "the indices of gather")) return value_error();
  if (indices.num_experts != p.type.dims[1]) {
    diag_error(e->diagnostics, arg_expr(call, 1)->loc, "the indices choose among %d experts, but the scores have %lld columns",
               indices.num_experts, (long long)p.type.dims[1]);
    return value_error();
  }
  int node = add_node(e, NODE_GATHER, call->loc);
  graph_add_operand(e->graph, node, p.ref);
  graph_add_operand(e->graph, node, indices.ref);
  TensorType type = tensor_type(DTYPE_F32, 2, indices.type.dims);
  graph_add_result(e->graph, node, type);
  Value result = value_tensor((ValueRef){node, 0}, type);
  result.dispatched = p.dispatched;
  return result;
}

static Value builtin_load_balance(Elaborator *e, Body *body, const AstExpr *call) {
  Value p = elaborate_expr(e, body, arg_expr(call, 0));
  Value indices = elaborate_expr(e, body, arg_expr(call, 1));
  if (!expect_f32(e, p, arg_expr(call, 0)->loc, "the probabilities of load_balance") ||
      !expect_rank(e, p, arg_expr(call, 0)->loc, 2, "the probabilities of load_balance"))
    return value_error();
  if (!expect_indices(e, indices, arg_expr(call, 1)->loc, p.type.dims[0], "the indices of load_balance"))
    return value_error();
  if (indices.num_experts != p.type.dims[1]) {
    diag_error(e->diagnostics, arg_expr(call, 1)->loc,
               "the indices choose among %d experts, but the probabilities have %lld columns", indices.num_experts,
               (long long)p.type.dims[1]);
    return value_error();
  }
  if (e->pooling) return pool_load_balance(e, p, indices, call->loc);
  int node;
  Value loss = scalar_node(e, NODE_LOAD_BALANCE, call->loc, p, indices, &node);
  graph_node(e->graph, node)->num_experts = indices.num_experts;
  return loss;
}

static Value builtin_mse(Elaborator *e, Body *body, const AstExpr *call) {
  Value a = elaborate_expr(e, body, arg_expr(call, 0));
  Value b = elaborate_expr(e, body, arg_expr(call, 1));
  int ok_a = expect_f32(e, a, arg_expr(call, 0)->loc, "the first argument of mse");
  int ok_b = expect_f32(e, b, arg_expr(call, 1)->loc, "the second argument of mse");
  if (!ok_a || !ok_b) return value_error();
  if (!same_type(&a.type, &b.type)) {
    char left[96], right[96];
    format_type(&a.type, left, sizeof left);
    format_type(&b.type, right, sizeof right);
    diag_error(e->diagnostics, call->loc, "mse compares tensors of one shape, but got %s and %s", left, right);
    return value_error();
  }
  int node;
  return scalar_node(e, NODE_MSE, call->loc, a, b, &node);
}

/* rmsnorm(x, weight) | rmsnorm(x, weight, eps: NUMBER): x[T, D], weight[D] */
static Value builtin_rmsnorm(Elaborator *e, Body *body, const AstExpr *call) {
  double eps = 1e-6;
  int positional = 0;
  for (int i = 0; i < call->args.count; i++) {
    const AstArg *arg = call->args.items[i];
    if (!arg->name) {
      if (i != positional) {
        diag_error(e->diagnostics, arg->loc, "a positional argument cannot follow a named one");
        return value_error();
      }
      positional++;
      continue;
    }
    if (strcmp(arg->name, "eps") != 0) {
      diag_error(e->diagnostics, arg->loc, "rmsnorm has no argument '%s' (only eps)", arg->name);
      return value_error();
    }
    Value value = elaborate_expr(e, body, arg->value);
    if (!expect_number(e, value, arg->value->loc, "eps")) return value_error();
    if (!(value.number > 0 && value.number < 1)) {
      diag_error(e->diagnostics, arg->value->loc, "eps must be between 0 and 1, but this is %g", value.number);
      return value_error();
    }
    eps = value.number;
  }
  if (positional != 2) {
    diag_error(e->diagnostics, call->loc, "'rmsnorm' takes 2 arguments (x, weight) and eps: NUMBER, but %d %s given",
               positional, positional == 1 ? "is" : "are");
    return value_error();
  }
  Value x = elaborate_expr(e, body, arg_expr(call, 0));
  Value weight = elaborate_expr(e, body, arg_expr(call, 1));
  int ok_x = expect_f32(e, x, arg_expr(call, 0)->loc, "the input of rmsnorm") &&
             expect_rank(e, x, arg_expr(call, 0)->loc, 2, "the input of rmsnorm");
  int ok_w = expect_f32(e, weight, arg_expr(call, 1)->loc, "the weight of rmsnorm") &&
             expect_rank(e, weight, arg_expr(call, 1)->loc, 1, "the weight of rmsnorm");
  if (!ok_x || !ok_w) return value_error();
  if (weight.type.dims[0] != x.type.dims[1] || weight.dispatched) {
    diag_error(e->diagnostics, arg_expr(call, 1)->loc, "the weight of rmsnorm must be f32[%lld], one per column of the input",
               (long long)x.type.dims[1]);
    return value_error();
  }
  int node = add_node(e, NODE_RMSNORM, call->loc);
  graph_add_operand(e->graph, node, x.ref);
  graph_add_operand(e->graph, node, weight.ref);
  graph_add_result(e->graph, node, x.type);
  graph_node(e->graph, node)->value = eps;
  Value result = value_tensor((ValueRef){node, 0}, x.type);
  result.dispatched = x.dispatched;
  return result;
}

/* i32[T] ids or labels (an i32 input, not top_k's indices). */
/* ids or labels: i32[T], or i32[B, S] (B sequences of S tokens, one row each); *count gets T = B·S. */
static int expect_ids(Elaborator *e, Value ids, SourceLocation loc, const char *what, int64_t *count) {
  if (!expect_tensor(e, ids, loc, what)) return 0;
  if (ids.type.dtype != DTYPE_I32 || ids.type.rank < 1 || ids.type.rank > 2) {
    char text[96];
    format_type(&ids.type, text, sizeof text);
    diag_error(e->diagnostics, loc, "%s must be i32[T] or i32[B, S] (an i32 input), but is %s", what, text);
    return 0;
  }
  *count = ids.type.dims[0] * (ids.type.rank == 2 ? ids.type.dims[1] : 1);
  return 1;
}

/* embedding(table, ids): table f32[V, D], ids i32[T] or i32[B, S] -> f32[T, D] (T = B·S) */
static Value builtin_embedding(Elaborator *e, Body *body, const AstExpr *call) {
  Value table = elaborate_expr(e, body, arg_expr(call, 0));
  Value ids = elaborate_expr(e, body, arg_expr(call, 1));
  int ok_table = expect_f32(e, table, arg_expr(call, 0)->loc, "the table of embedding") &&
                 expect_rank(e, table, arg_expr(call, 0)->loc, 2, "the table of embedding");
  int64_t count = 0;
  int ok_ids = expect_ids(e, ids, arg_expr(call, 1)->loc, "the ids of embedding", &count);
  if (!ok_table || !ok_ids) return value_error();
  if (table.dispatched || ids.dispatched) {
    diag_error(e->diagnostics, call->loc, "embedding cannot be used on the dispatched rows of a route (" ROUTE_BODY_ALLOWS ")");
    return value_error();
  }
  int node = add_node(e, NODE_EMBEDDING, call->loc);
  graph_add_operand(e->graph, node, table.ref);
  graph_add_operand(e->graph, node, ids.ref);
  int64_t dims[2] = {count, table.type.dims[1]};
  graph_add_result(e->graph, node, tensor_type(DTYPE_F32, 2, dims));
  return value_tensor((ValueRef){node, 0}, tensor_type(DTYPE_F32, 2, dims));
}

/* cross_entropy(logits, labels): logits f32[T, V], labels i32[T] or i32[B, S] (T = B·S) -> scalar */
static Value builtin_cross_entropy(Elaborator *e, Body *body, const AstExpr *call) {
  Value logits = elaborate_expr(e, body, arg_expr(call, 0));
  Value labels = elaborate_expr(e, body, arg_expr(call, 1));
  int ok_logits = expect_f32(e, logits, arg_expr(call, 0)->loc, "the logits of cross_entropy") &&
                  expect_rank(e, logits, arg_expr(call, 0)->loc, 2, "the logits of cross_entropy");
  int64_t count = 0;
  int ok_labels = expect_ids(e, labels, arg_expr(call, 1)->loc, "the labels of cross_entropy", &count);
  if (!ok_logits || !ok_labels) return value_error();
  if (count != logits.type.dims[0] || logits.dispatched) {
    diag_error(e->diagnostics, call->loc, "cross_entropy needs one label per row of the logits (%lld), but has %lld",
               (long long)logits.type.dims[0], (long long)count);
    return value_error();
  }
  int node;
  return scalar_node(e, NODE_CROSS_ENTROPY, call->loc, logits, labels, &node);
}

/* dropout(x, p): 0 <= p < 1 a compile-time number; p = 0 gives x itself. The first dropout makes
 * the program's one seed input, i32[1] "dropout.seed" (Graph.dropout_seed_node). */
static Value builtin_dropout(Elaborator *e, Body *body, const AstExpr *call) {
  Value x = elaborate_expr(e, body, arg_expr(call, 0));
  Value p = elaborate_expr(e, body, arg_expr(call, 1));
  int ok_x = expect_f32(e, x, arg_expr(call, 0)->loc, "the input of dropout");
  int ok_p = expect_number(e, p, arg_expr(call, 1)->loc, "the rate of dropout");
  if (!ok_x || !ok_p) return value_error();
  if (!(p.number >= 0 && p.number < 1)) {
    diag_error(e->diagnostics, arg_expr(call, 1)->loc, "the rate of dropout must be at least 0 and below 1, but is %g",
               p.number);
    return value_error();
  }
  if (p.number == 0) return x;
  if (e->dropout_seed < 0) {
    SourceLocation nowhere = {e->program->path, 0, 0};
    e->dropout_seed = add_node(e, NODE_INPUT, nowhere);
    int64_t one = 1;
    graph_add_result(e->graph, e->dropout_seed, tensor_type(DTYPE_I32, 1, &one));
    graph_node(e->graph, e->dropout_seed)->name = graph_string(e->graph, "dropout.seed");
    e->graph->graph.dropout_seed_node = e->dropout_seed;
  }
  int node = add_node(e, NODE_DROPOUT, call->loc);
  graph_add_operand(e->graph, node, x.ref);
  graph_add_operand(e->graph, node, (ValueRef){e->dropout_seed, 0});
  graph_add_result(e->graph, node, x.type);
  graph_node(e->graph, node)->value = p.number;
  Value result = value_tensor((ValueRef){node, 0}, x.type);
  result.dispatched = x.dispatched;
  return result;
}

/* ---- the language's functions: sigmoid tanh relu gelu exp log sqrt abs (numbers fold), maximum
 * minimum, log_softmax, and sum mean max along an axis ---- */
static int unary_function(const char *name) {
  for (int f = 0; f < NUM_UNARY_FUNCTIONS; f++)
    if (strcmp(dsl_unary_names[f], name) == 0) return f;
  return -1;
}
static int reduce_function(const char *name) {
  for (int f = 0; f < NUM_REDUCE_FUNCTIONS; f++)
    if (strcmp(dsl_reduce_names[f], name) == 0) return f;
  return -1;
}

/* f(number), or 0 and a diagnostic where f is not defined there */
static int fold_unary(Elaborator *e, int f, double x, SourceLocation loc, double *y) {
  static const double gelu_c = 0.7978845608028654, gelu_a = 0.044715;
  if ((f == UNARY_LOG && x <= 0) || (f == UNARY_SQRT && x < 0)) {
    diag_error(e->diagnostics, loc, "%s of %g is not a real number", dsl_unary_names[f], x);
    return 0;
  }
  *y = 0;
  switch ((UnaryFunction)f) {
  case UNARY_SIGMOID: *y = 1 / (1 + exp(-x)); break;
  case UNARY_TANH: *y = tanh(x); break;
  case UNARY_RELU: *y = x > 0 ? x : 0; break;
  case UNARY_GELU: *y = 0.5 * x * (1 + tanh(gelu_c * (x + gelu_a * x * x * x))); break;
  case UNARY_EXP: *y = exp(x); break;
  case UNARY_LOG: *y = log(x); break;
  case UNARY_SQRT: *y = sqrt(x); break;
  case UNARY_ABS: *y = fabs(x); break;
  }
  if (!isfinite(*y) || (f == UNARY_EXP && *y < DBL_MIN)) {
    diag_error(e->diagnostics, loc, "%s of %g %s", dsl_unary_names[f], x,
               isfinite(*y) ? "underflows: the result rounds to 0" : "overflows: the result is too large for a number");
    return 0;
  }
  return 1;
}

static Value builtin_unary(Elaborator *e, Body *body, const AstExpr *call, int f) {
  const char *name = dsl_unary_names[f];
  if (!expect_arity(e, call, name, 1, 1)) return value_error();
  Value x = per_row(e, arg_expr(call, 0)->loc, elaborate_expr(e, body, arg_expr(call, 0)));
  if (x.kind == VALUE_NUMBER) {
    double y;
    return fold_unary(e, f, x.number, arg_expr(call, 0)->loc, &y) ? value_number(y) : value_error();
  }
  if (!expect_f32(e, x, arg_expr(call, 0)->loc, "the argument")) return value_error();
  Value result = unary_node(e, NODE_UNARY, call->loc, x, x.type);
  graph_node(e->graph, result.ref.node)->function = f;
  return result;
}

/* maximum(a, b), minimum(a, b): two numbers, or two tensors of one shape */
static Value builtin_extremum(Elaborator *e, Body *body, const AstExpr *call, const char *name) {
  if (!expect_arity(e, call, name, 2, 2)) return value_error();
  int is_max = name[1] == 'a';
  Value a = elaborate_expr(e, body, arg_expr(call, 0)), b = elaborate_expr(e, body, arg_expr(call, 1));
  if (a.kind == VALUE_ERROR || b.kind == VALUE_ERROR) return value_error();
  if (a.kind == VALUE_NUMBER && b.kind == VALUE_NUMBER)
    return value_number(is_max ? (a.number > b.number ? a.number : b.number) : (a.number < b.number ? a.number : b.number));
  if (!elementwise_operands(e, call->loc, name, arg_expr(call, 0), arg_expr(call, 1), &a, &b)) return value_error();
  return elementwise_node(e, is_max ? NODE_MAXIMUM : NODE_MINIMUM, call->loc, 2, (Value[]){a, b});
}

static Value builtin_log_softmax(Elaborator *e, Body *body, const AstExpr *call) {
  if (!expect_arity(e, call, "log_softmax", 1, 1)) return value_error();
  Value x = elaborate_expr(e, body, arg_expr(call, 0));
  if (!expect_f32(e, x, arg_expr(call, 0)->loc, "the argument") ||
      !expect_rank(e, x, arg_expr(call, 0)->loc, 2, "the argument of log_softmax (rows of scores)"))
    return value_error();
  return unary_node(e, NODE_LOG_SOFTMAX, call->loc, x, x.type);
}

/* where(c, a, b): a where c != 0, else b (c a mask: a comparison, or any f32); the three broadcast */
static Value builtin_where(Elaborator *e, Body *body, const AstExpr *call) {
  if (!expect_arity(e, call, "where", 3, 3)) return value_error();
  Value c = elaborate_expr(e, body, arg_expr(call, 0)), a = elaborate_expr(e, body, arg_expr(call, 1));
  Value b = elaborate_expr(e, body, arg_expr(call, 2));
  if (c.kind == VALUE_ERROR || a.kind == VALUE_ERROR || b.kind == VALUE_ERROR) return value_error();
  /* a with b, then c with their shape, then a and b again with c's (which may be larger) */
  if (!elementwise_operands(e, call->loc, "where", arg_expr(call, 1), arg_expr(call, 2), &a, &b) ||
      !elementwise_operands(e, call->loc, "where", arg_expr(call, 0), arg_expr(call, 1), &c, &a) ||
      !elementwise_operands(e, call->loc, "where", arg_expr(call, 1), arg_expr(call, 2), &a, &b))
    return value_error();
  c.dispatched = a.dispatched;
  return elementwise_node(e, NODE_WHERE, call->loc, 3, (Value[]){c, a, b});
}

/* sum(x, axis), mean(x, axis), max(x, axis): axis a number in [-rank, rank), negative from the end;
 * a third argument keepdims: 1 keeps the axis as a size of 1 (so the result broadcasts against x) */
static Value builtin_reduce(Elaborator *e, Body *body, const AstExpr *call, int f) {
  const char *name = dsl_reduce_names[f];
  int count = call->args.count;
  if (count < 2 || count > 3 || ((const AstArg *)call->args.items[0])->name || ((const AstArg *)call->args.items[1])->name) {
    diag_error(e->diagnostics, call->loc, "'%s' takes (x, axis) or (x, axis, keepdims: 1)", name);
    return value_error();
  }
  int keep = 0;
  if (call->args.count == 3) {
    const AstArg *arg = call->args.items[2];
    if (arg->name && strcmp(arg->name, "keepdims") != 0) {
      diag_error(e->diagnostics, arg->loc, "%s has no argument '%s' (only keepdims: 0 or 1)", name, arg->name);
      return value_error();
    }
    Value k = elaborate_expr(e, body, arg->value);
    if (!expect_number(e, k, arg->value->loc, "keepdims")) return value_error();
    if (k.number != 0 && k.number != 1) {
      diag_error(e->diagnostics, arg->value->loc, "keepdims is 0 or 1, not %g", k.number);
      return value_error();
    }
    keep = k.number == 1;
  }
  Value x = elaborate_expr(e, body, arg_expr(call, 0));
  Value axis = elaborate_expr(e, body, arg_expr(call, 1));
  int ok_x = expect_f32(e, x, arg_expr(call, 0)->loc, "the first argument");
  if (!expect_number(e, axis, arg_expr(call, 1)->loc, "the axis") || !ok_x) return value_error();
  int rank = x.type.rank;
  if (rank == 0 || axis.number != floor(axis.number) || axis.number < -rank || axis.number >= rank) {
    diag_error(e->diagnostics, arg_expr(call, 1)->loc, "%s along axis %g of a %d-D tensor; the axes are 0 to %d (or -1 for the last)",
               name, axis.number, rank, rank - 1);
    return value_error();
  }
  int a = axis.number < 0 ? rank + (int)axis.number : (int)axis.number;
  if (x.dispatched && a == 0) {
    diag_error(e->diagnostics, arg_expr(call, 1)->loc,
               "inside a route body, %s cannot run along axis 0: each dispatched row is computed on its own", name);
    return value_error();
  }
  TensorType type = {.dtype = DTYPE_F32, .rank = keep ? rank : rank - 1};
  for (int d = 0, j = 0; d < rank; d++)
    if (d != a) type.dims[j++] = x.type.dims[d];
    else if (keep) type.dims[j++] = 1;
  Value result = unary_node(e, NODE_REDUCE, call->loc, x, type);
  Node *node = graph_node(e->graph, result.ref.node);
  node->function = f;
  node->axis = a;
  return result;
}

/* ---- attention: rope(x, heads: H, theta: N, seq: S), causal_attention(q, k, v, heads: H, kv_heads: G, seq: S) ---- */

/* The `positional` arguments of a builtin (`usage` names them), then its named compile-time numbers
 * (each required, once); 0 after a diagnostic. */
static int named_numbers(Elaborator *e, Body *body, const AstExpr *call, const char *builtin_name, int expected,
                         const char *usage, int count, const char *const *names, double *values) {
  int positional = 0, seen[4] = {0};
  for (int i = 0; i < call->args.count; i++) {
    const AstArg *arg = call->args.items[i];
    if (!arg->name) {
      if (i != positional) {
        diag_error(e->diagnostics, arg->loc, "a positional argument cannot follow a named one");
        return 0;
      }
      positional++;
      continue;
    }
    int n = 0;
    while (n < count && strcmp(arg->name, names[n]) != 0) n++;
    if (n == count) {
      diag_error(e->diagnostics, arg->loc, "%s has no argument '%s'", builtin_name, arg->name);
      return 0;
    }
    if (seen[n]++) {
      diag_error(e->diagnostics, arg->loc, "%s: '%s' is given twice", builtin_name, arg->name);
      return 0;
    }
    Value value = elaborate_expr(e, body, arg->value);
    if (!expect_number(e, value, arg->value->loc, arg->name)) return 0;
    values[n] = value.number;
  }
  for (int n = 0; n < count; n++)
    if (!seen[n]) {
      diag_error(e->diagnostics, call->loc, "%s needs %s: N (a number)", builtin_name, names[n]);
      return 0;
    }
  if (positional != expected) {
    diag_error(e->diagnostics, call->loc, "'%s' takes %s, but %d %s given", builtin_name, usage, positional,
               positional == 1 ? "is" : "are");
    return 0;
  }
  return 1;
}

/* `value` of argument `name` must be a whole number from 1 to what divides `total` */
static int expect_divisor(Elaborator *e, const AstExpr *call, const char *name, double value, int64_t total,
                          const char *what) {
  if (value >= 1 && value == floor(value) && value <= (double)total && total % (int64_t)value == 0) return 1;
  diag_error(e->diagnostics, call->loc, "%s: %g must be a whole number that divides %s (%lld)", name, value, what,
             (long long)total);
  return 0;
}

/* rope(x, heads: H, theta: N, seq: S): x f32[T, H*hd], hd even, T a multiple of S */
static Value builtin_rope(Elaborator *e, Body *body, const AstExpr *call) {
  static const char *const names[] = {"heads", "theta", "seq"};
  double values[3];
  if (!named_numbers(e, body, call, "rope", 1, "1 argument (x) and heads:, theta:, seq:", 3, names, values))
    return value_error();
  Value x = elaborate_expr(e, body, arg_expr(call, 0));
  if (!expect_f32(e, x, arg_expr(call, 0)->loc, "the input of rope") ||
      !expect_rank(e, x, arg_expr(call, 0)->loc, 2, "the input of rope"))
    return value_error();
  if (!expect_divisor(e, call, "heads", values[0], x.type.dims[1], "the columns of x") ||
      !expect_divisor(e, call, "seq", values[2], x.type.dims[0], "the rows of x"))
    return value_error();
  if ((x.type.dims[1] / (int64_t)values[0]) % 2 != 0) {
    diag_error(e->diagnostics, call->loc, "rope turns pairs of columns: the head size %lld must be even",
               (long long)(x.type.dims[1] / (int64_t)values[0]));
    return value_error();
  }
  if (!(values[1] > 1)) {
    diag_error(e->diagnostics, call->loc, "rope's theta must be above 1, but is %g", values[1]);
    return value_error();
  }
  Value result = unary_node(e, NODE_ROPE, call->loc, x, x.type);
  Node *node = graph_node(e->graph, result.ref.node);
  node->heads = (int)values[0];
  node->value = values[1];
  node->seq = (int)values[2];
  return result;
}

/* causal_attention(q, k, v, heads: H, kv_heads: G, seq: S): q f32[T, H*hd], k and v f32[T, G*hd] */
static Value builtin_causal_attention(Elaborator *e, Body *body, const AstExpr *call) {
  static const char *const names[] = {"heads", "kv_heads", "seq"};
  double values[3];
  if (!named_numbers(e, body, call, "causal_attention", 3, "3 arguments (q, k, v) and heads:, kv_heads:, seq:", 3,
                     names, values))
    return value_error();
  Value q = elaborate_expr(e, body, arg_expr(call, 0)), k = elaborate_expr(e, body, arg_expr(call, 1)),
        v = elaborate_expr(e, body, arg_expr(call, 2));
  const char *what[3] = {"the queries of causal_attention", "the keys of causal_attention",
                         "the values of causal_attention"};
  Value all[3] = {q, k, v};
  for (int i = 0; i < 3; i++)
    if (!expect_f32(e, all[i], arg_expr(call, i)->loc, what[i]) ||
        !expect_rank(e, all[i], arg_expr(call, i)->loc, 2, what[i]))
      return value_error();
  if (!expect_divisor(e, call, "heads", values[0], q.type.dims[1], "the columns of q") ||
      !expect_divisor(e, call, "kv_heads", values[1], (int64_t)values[0], "heads") ||
      !expect_divisor(e, call, "seq", values[2], q.type.dims[0], "the rows of q"))
    return value_error();
  int64_t head_dim = q.type.dims[1] / (int64_t)values[0], kv_columns = head_dim * (int64_t)values[1];
  for (int i = 1; i < 3; i++)
    if (all[i].type.dims[0] != q.type.dims[0] || all[i].type.dims[1] != kv_columns) {
      diag_error(e->diagnostics, arg_expr(call, i)->loc, "%s must be f32[%lld, %lld] (kv_heads x the head size %lld)",
                 what[i], (long long)q.type.dims[0], (long long)kv_columns, (long long)head_dim);
      return value_error();
    }
  int node = add_node(e, NODE_CAUSAL_ATTENTION, call->loc);
  for (int i = 0; i < 3; i++) graph_add_operand(e->graph, node, all[i].ref);
  graph_add_result(e->graph, node, q.type);
  Node *n = graph_node(e->graph, node);
  n->heads = (int)values[0];
  n->kv_heads = (int)values[1];
  n->seq = (int)values[2];
  return value_tensor((ValueRef){node, 0}, q.type);
}

static Value builtin(Elaborator *e, Body *body, const AstExpr *call, const char *name) {
  int unary = unary_function(name), reduction = reduce_function(name);
  if (unary >= 0) return builtin_unary(e, body, call, unary);
  if (reduction >= 0) return builtin_reduce(e, body, call, reduction);
  if (strcmp(name, "maximum") == 0 || strcmp(name, "minimum") == 0) return builtin_extremum(e, body, call, name);
  if (strcmp(name, "log_softmax") == 0) return builtin_log_softmax(e, body, call);
  if (strcmp(name, "where") == 0) return builtin_where(e, body, call);
  if (strcmp(name, "expert_choice") == 0) return builtin_expert_choice(e, body, call);
  if (strcmp(name, "gather") == 0) return builtin_gather(e, body, call);
  if (strcmp(name, "rmsnorm") == 0) return builtin_rmsnorm(e, body, call);
  if (strcmp(name, "rope") == 0) return builtin_rope(e, body, call);
  if (strcmp(name, "causal_attention") == 0) return builtin_causal_attention(e, body, call);
  if (strcmp(name, "embedding") == 0)
    return expect_arity(e, call, name, 2, 2) ? builtin_embedding(e, body, call) : value_error();
  if (strcmp(name, "cross_entropy") == 0)
    return expect_arity(e, call, name, 2, 2) ? builtin_cross_entropy(e, body, call) : value_error();
  if (strcmp(name, "dropout") == 0)
    return expect_arity(e, call, name, 2, 2) ? builtin_dropout(e, body, call) : value_error();
  if (strcmp(name, "silu") == 0 || strcmp(name, "softmax") == 0) {
    if (!expect_arity(e, call, name, 1, 1)) return value_error();
    Value x = elaborate_expr(e, body, arg_expr(call, 0));
    if (!expect_f32(e, x, arg_expr(call, 0)->loc, "the argument")) return value_error();
    if (name[1] == 'o' && x.type.rank == 0) {
      diag_error(e->diagnostics, arg_expr(call, 0)->loc, "softmax needs at least one axis");
      return value_error();
    }
    return unary_node(e, name[1] == 'i' ? NODE_SILU : NODE_SOFTMAX, call->loc, x, x.type);
  }
  if (strcmp(name, "top_k") == 0)
    return expect_arity(e, call, name, 2, 3) ? builtin_top_k(e, body, call) : value_error();
  if (strcmp(name, "load_balance") == 0)
    return expect_arity(e, call, name, 2, 2) ? builtin_load_balance(e, body, call) : value_error();
  return expect_arity(e, call, name, 2, 2) ? builtin_mse(e, body, call) : value_error();
}

/* ---- bank[e]: the bank named by `index` (its lhs a name), indexed by `e`; NULL after a diagnostic ---- */
static Bank *indexed_bank(Elaborator *e, Body *body, const AstExpr *index) {
  const Binding *binding = scope_lookup(body->scope, index->lhs->name);
  if (!binding) {
    diag_error(e->diagnostics, index->lhs->loc, "undefined name '%s'", index->lhs->name);
    return NULL;
  }
  if (binding->value.kind != VALUE_BANK) {
    if (binding->value.kind != VALUE_ERROR)
      diag_error(e->diagnostics, index->lhs->loc, "'%s' is not a bank; only a bank can be indexed", index->lhs->name);
    return NULL;
  }
  if (index->rhs->kind != EXPR_NAME || strcmp(index->rhs->name, "e") != 0) {
    diag_error(e->diagnostics, index->rhs->loc, "a bank is indexed by 'e', the expert each row was dispatched to");
    return NULL;
  }
  return binding->value.bank;
}

/* The bank has one expert per expert of the enclosing route. */
static int bank_fits_route(Elaborator *e, const Bank *bank, SourceLocation loc) {
  if (bank->count == e->route->num_experts) return 1;
  diag_error(e->diagnostics, loc, "bank '%s' has %d experts, but the route dispatches among %d", bank->name,
             bank->count, e->route->num_experts);
  return 0;
}

/* ---- bank[e](rows) ---- */
static Value bank_application(Elaborator *e, Body *body, const AstExpr *call) {
  const AstExpr *index = call->lhs;
  if (index->lhs->kind != EXPR_NAME) {
    diag_error(e->diagnostics, index->loc, "only a bank can be indexed");
    return value_error();
  }
  Bank *bank = indexed_bank(e, body, index);
  if (!bank) return value_error();
  if (!e->route) {
    diag_error(e->diagnostics, call->loc, "bank '%s' can only be applied inside a route body", bank->name);
    return value_error();
  }
  if (!bank_fits_route(e, bank, call->loc)) return value_error();
  if (call->args.count != 1 || ((const AstArg *)call->args.items[0])->name) {
    diag_error(e->diagnostics, call->loc, "an expert is applied to one argument, the rows: %s[e](rows)", bank->name);
    return value_error();
  }
  Value rows = elaborate_expr(e, body, arg_expr(call, 0));
  if (!expect_f32(e, rows, arg_expr(call, 0)->loc, "the argument of an expert")) return value_error();
  if (rows.dispatched != e->route->depth || rows.type.rank != 2) {
    diag_error(e->diagnostics, arg_expr(call, 0)->loc, "an expert is applied to the dispatched rows of the route");
    return value_error();
  }
  return elaborate_expert_fn(e, bank, rows, call->loc);
}

/* ---- route(x, indices, weights) { body } ---- */
/* Evaluates a route's body on `rows` (bound to the routed input's name, and its `a = ...` lets)
 * under `context`: the body's value, one row for each routed row, or an error. */
static Value route_body(Elaborator *e, Body *body, const AstExpr *expr, const AstExpr *rows_expr, Value rows,
                        RouteContext *context) {
  Scope *scope = scope_create(e, body->scope);
  rows.dispatched = context->depth;
  scope_bind(e, scope, rows_expr->name, rows, rows_expr->loc);
  Body inner = *body;
  inner.scope = scope;
  inner.outer = NULL;
  inner.output_name = NULL;
  e->route = context;
  for (int i = 0; i < expr->lets.count; i++) {
    const AstStmt *let = expr->lets.items[i];
    Value value = elaborate_expr(e, &inner, let->value);
    if (let->kind == STMT_PAIR_ASSIGN) { /* (w, i) = top_k(...) */
      Value first, second;
      split_pair(e, value, let->value->loc, &first, &second);
      const char *names[2] = {let->name, let->second_name};
      SourceLocation locs[2] = {let->name_loc, let->second_loc};
      Value values[2] = {first, second};
      for (int n = 0; n < 2; n++) {
        const Binding *existing = scope_lookup_local(scope, names[n]);
        if (existing)
          diag_error(e->diagnostics, locs[n], "'%s' is already defined (at line %d)", names[n], existing->loc.line);
        else
          scope_bind(e, scope, names[n], check_local_hides_nothing(e, scope, names[n], locs[n]) ? values[n] : value_error(),
                     locs[n]);
      }
      continue;
    }
    if (value.kind == VALUE_PAIR || (value.kind == VALUE_TENSOR && value.transposed) || value.kind == VALUE_BANK_PARAM) {
      expect_tensor(e, value, let->value->loc, "a local name");
      value = value_error();
    }
    const Binding *existing = scope_lookup_local(scope, let->name);
    if (existing)
      diag_error(e->diagnostics, let->name_loc, "'%s' is already defined (at line %d)", let->name, existing->loc.line);
    else
      scope_bind(e, scope, let->name, check_local_hides_nothing(e, scope, let->name, let->name_loc) ? value : value_error(),
                 let->name_loc);
  }
  Value result = elaborate_expr(e, &inner, expr->rhs);
  e->route = context->outer;
  if (!expect_f32(e, result, expr->rhs->loc, "the route body")) return value_error();
  if (result.dispatched != context->depth || result.type.rank != 2 || result.type.dims[0] != context->rows) {
    diag_error(e->diagnostics, expr->rhs->loc, "the route body must give one row for each dispatched row (%lld rows)",
               (long long)context->rows);
    return value_error();
  }
  return result;
}

/* route(x, tok, w) { body } with (w, tok) from expert_choice: expert e gets the rows of its C tokens
 * (rows e·C ... e·C + C − 1), and each row goes back to its token weighted by w[e, c]. */
static Value route_by_expert(Elaborator *e, Body *body, const AstExpr *expr, const AstExpr *rows_expr, Value x,
                             Value tok, Value weights) {
  int64_t T = x.type.dims[0], D = x.type.dims[1], N = tok.type.dims[0], C = tok.type.dims[1];
  if (tok.chooses_tokens != T) {
    diag_error(e->diagnostics, arg_expr(expr, 1)->loc,
               "these experts chose among %lld tokens, but the routed input has %lld rows", (long long)tok.chooses_tokens,
               (long long)T);
    return value_error();
  }
  if (!expect_f32(e, weights, arg_expr(expr, 2)->loc, "the weights of route")) return value_error();
  if (!(weights.type.rank == 2 && weights.type.dims[0] == N && weights.type.dims[1] == C)) {
    diag_error(e->diagnostics, arg_expr(expr, 2)->loc, "the weights of route must be f32[%lld,%lld], like the chosen tokens",
               (long long)N, (long long)C);
    return value_error();
  }
  int dispatch = add_node(e, NODE_EC_DISPATCH, expr->loc);
  graph_add_operand(e->graph, dispatch, x.ref);
  graph_add_operand(e->graph, dispatch, tok.ref);
  TensorType rows_type = tensor_type(DTYPE_F32, 2, (int64_t[]){N * C, D});
  graph_add_result(e->graph, dispatch, rows_type);
  graph_add_result(e->graph, dispatch, tensor_type(DTYPE_I32, 1, (int64_t[]){N + 1}));
  RouteContext context = {{dispatch, 1}, (int)N, N * C, 1, NULL};
  Value result = route_body(e, body, expr, rows_expr, value_tensor((ValueRef){dispatch, 0}, rows_type), &context);
  if (result.kind == VALUE_ERROR) return result;
  int combine = add_node(e, NODE_EC_COMBINE, expr->loc);
  graph_add_operand(e->graph, combine, result.ref);
  graph_add_operand(e->graph, combine, tok.ref);
  graph_add_operand(e->graph, combine, weights.ref);
  TensorType out = tensor_type(DTYPE_F32, 2, (int64_t[]){T, result.type.dims[1]});
  graph_add_result(e->graph, combine, out);
  return value_tensor((ValueRef){combine, 0}, out);
}

static Value route(Elaborator *e, Body *body, const AstExpr *expr) {
  if (e->route && e->route->depth >= MAX_ROUTE_DEPTH) {
    diag_error(e->diagnostics, expr->loc, "routes are nested at most %d deep", MAX_ROUTE_DEPTH);
    return value_error();
  }
  if (expr->args.count != 3) {
    diag_error(e->diagnostics, expr->loc, "route takes 3 arguments (rows, indices, weights), but %d %s given",
               expr->args.count, expr->args.count == 1 ? "is" : "are");
    return value_error();
  }
  for (int i = 0; i < 3; i++) {
    const AstArg *arg = expr->args.items[i];
    if (arg->name) {
      diag_error(e->diagnostics, arg->loc, "route takes no named arguments");
      return value_error();
    }
  }
  const AstExpr *rows_expr = arg_expr(expr, 0);
  if (rows_expr->kind != EXPR_NAME) {
    diag_error(e->diagnostics, rows_expr->loc, "the first argument of route must be a name; inside the body it denotes the dispatched rows");
    return value_error();
  }
  Value x = elaborate_expr(e, body, rows_expr);
  Value indices = elaborate_expr(e, body, arg_expr(expr, 1));
  Value weights = elaborate_expr(e, body, arg_expr(expr, 2));
  if (!expect_f32(e, x, rows_expr->loc, "the routed input") ||
      !expect_rank(e, x, rows_expr->loc, 2, "the routed input"))
    return value_error();
  if (indices.kind == VALUE_TENSOR && indices.chooses_tokens)
    return route_by_expert(e, body, expr, rows_expr, x, indices, weights);
  if (!expect_indices(e, indices, arg_expr(expr, 1)->loc, x.type.dims[0], "the indices of route")) return value_error();
  if (e->route) { /* nested: each outer expert e has its own `num_experts` sub-experts, e·M + j */
    int depth = e->route->depth;
    if (x.dispatched != depth || indices.dispatched != depth || weights.dispatched != depth) {
      diag_error(e->diagnostics, expr->loc,
                 "a route inside a route body routes that body's rows: its input, indices and weights must all be "
                 "computed from them");
      return value_error();
    }
    int node = add_node(e, NODE_NEST_INDICES, expr->loc);
    graph_add_operand(e->graph, node, indices.ref);
    graph_add_operand(e->graph, node, e->route->offsets);
    graph_add_result(e->graph, node, indices.type);
    graph_node(e->graph, node)->num_experts = indices.num_experts;
    int64_t experts = (int64_t)e->route->num_experts * indices.num_experts;
    if (experts > LIMIT_DIM) {
      diag_error(e->diagnostics, expr->loc, "a nested route among %d x %d = %lld experts; at most 2^31-1",
                 e->route->num_experts, indices.num_experts, (long long)experts);
      return value_error();
    }
    indices = value_tensor((ValueRef){node, 0}, indices.type);
    indices.num_experts = (int)experts;
  }
  if (!expect_f32(e, weights, arg_expr(expr, 2)->loc, "the weights of route")) return value_error();
  if (!same_type(&weights.type, &(TensorType){DTYPE_F32, 2, {indices.type.dims[0], indices.type.dims[1]}})) {
    char text[96];
    format_type(&weights.type, text, sizeof text);
    diag_error(e->diagnostics, arg_expr(expr, 2)->loc, "the weights of route must be f32[%lld,%lld], like the indices, but are %s",
               (long long)indices.type.dims[0], (long long)indices.type.dims[1], text);
    return value_error();
  }
  int64_t tokens = x.type.dims[0], width = x.type.dims[1], k = indices.type.dims[1];
  int dispatch = add_node(e, NODE_DISPATCH, expr->loc);
  graph_add_operand(e->graph, dispatch, x.ref);
  graph_add_operand(e->graph, dispatch, indices.ref);
  int64_t row_dims[2] = {tokens * k, width};
  int64_t perm_dims[1] = {tokens * k};
  int64_t offset_dims[1] = {(int64_t)indices.num_experts + 1};
  graph_add_result(e->graph, dispatch, tensor_type(DTYPE_F32, 2, row_dims));
  graph_add_result(e->graph, dispatch, tensor_type(DTYPE_I32, 1, perm_dims));
  graph_add_result(e->graph, dispatch, tensor_type(DTYPE_I32, 1, offset_dims));
  graph_node(e->graph, dispatch)->num_experts = indices.num_experts;

  RouteContext context = {{dispatch, 2}, indices.num_experts, tokens * k, e->route ? e->route->depth + 1 : 1, e->route};
  Value rows = value_tensor((ValueRef){dispatch, 0}, tensor_type(DTYPE_F32, 2, row_dims));
  Value result = route_body(e, body, expr, rows_expr, rows, &context);
  if (result.kind == VALUE_ERROR) return result;
  int combine = add_node(e, NODE_COMBINE, expr->loc);
  graph_add_operand(e->graph, combine, result.ref);
  graph_add_operand(e->graph, combine, (ValueRef){dispatch, 1});
  graph_add_operand(e->graph, combine, weights.ref);
  int64_t out_dims[2] = {tokens, result.type.dims[1]};
  graph_add_result(e->graph, combine, tensor_type(DTYPE_F32, 2, out_dims));
  Value combined = value_tensor((ValueRef){combine, 0}, tensor_type(DTYPE_F32, 2, out_dims));
  combined.dispatched = e->route ? e->route->depth : 0; /* nested: rows of the outer route */
  return combined;
}

/* ---- bank[e].PARAM: the routed expert's slice of a bank param ---- */
static Value bank_member(Elaborator *e, Body *body, const AstExpr *expr) {
  const AstExpr *index = expr->lhs;
  if (index->kind != EXPR_INDEX || index->lhs->kind != EXPR_NAME) {
    diag_error(e->diagnostics, expr->loc, "only a bank's expert has members: bank[e].PARAM");
    return value_error();
  }
  const Bank *bank = indexed_bank(e, body, index);
  if (!bank) return value_error();
  if (!e->route) {
    diag_error(e->diagnostics, expr->loc, "'%s[e].%s' can only be used inside a route body", bank->name, expr->name);
    return value_error();
  }
  if (!bank_fits_route(e, bank, expr->loc)) return value_error();
  int i = name_table_find(&bank->param_index, expr->name);
  if (i >= 0) return (Value){.kind = VALUE_BANK_PARAM, .ref = bank->params[i], .type = bank->param_types[i]};
  diag_error(e->diagnostics, expr->loc, "expert '%s' (bank '%s') has no param '%s'", bank->expert->name, bank->name,
             expr->name);
  return value_error();
}

static Value compare(Elaborator *e, Body *body, const AstExpr *expr) {
  Value a = elaborate_expr(e, body, expr->lhs);
  Value b = elaborate_expr(e, body, expr->rhs);
  if (a.kind == VALUE_ERROR || b.kind == VALUE_ERROR) return value_error();
  if (a.kind != VALUE_NUMBER || b.kind != VALUE_NUMBER) { /* tensors: an f32 mask of 1 and 0 */
    static const char predicates[] = "<>lgen";
    if (!elementwise_operands(e, expr->loc, ast_compare_text(expr->op), expr->lhs, expr->rhs, &a, &b))
      return value_error();
    Value mask = elementwise_node(e, NODE_COMPARE, expr->loc, 2, (Value[]){a, b});
    graph_node(e->graph, mask.ref.node)->function = (int)(strchr(predicates, expr->op) - predicates);
    return mask;
  }
  int result = 0;
  switch (expr->op) {
  case '<': result = a.number < b.number; break;
  case '>': result = a.number > b.number; break;
  case 'l': result = a.number <= b.number; break;
  case 'g': result = a.number >= b.number; break;
  case 'e': result = a.number == b.number; break;
  default: result = a.number != b.number; break;
  }
  return value_number(result);
}

/* ---- calls ---- */
static Value call(Elaborator *e, Body *body, const AstExpr *expr) {
  const AstExpr *callee = expr->lhs;
  if (callee->kind == EXPR_INDEX) return bank_application(e, body, expr);
  if (callee->kind == EXPR_CALL) {
    const AstList *strategies = e->with_call == expr ? e->with_strategies : NULL;
    if (strategies) e->with_call = NULL, e->with_strategies = NULL; /* not for blocks inside it */
    return elaborate_block_application(e, body, expr, strategies);
  }
  if (callee->kind != EXPR_NAME) {
    diag_error(e->diagnostics, expr->loc, "this cannot be called");
    return value_error();
  }
  if (scope_lookup(body->scope, callee->name)) {
    diag_error(e->diagnostics, callee->loc, "'%s' is a value, not a function", callee->name);
    return value_error();
  }
  if (sema_is_builtin(callee->name)) return builtin(e, body, expr, callee->name);
  const AstDecl *decl = sema_find_decl(e->program, callee->name);
  if (!decl) {
    const char *near = sema_closest_builtin(callee->name);
    if (near)
      diag_error(e->diagnostics, callee->loc, "undefined function '%s'; did you mean '%s'?", callee->name, near);
    else
      diag_error(e->diagnostics, callee->loc, "undefined function '%s' (the builtins: %s; or a block declared in the program)",
                 callee->name, sema_builtin_list());
    return value_error();
  }
  switch (decl->kind) {
  case DECL_BLOCK:
    diag_error(e->diagnostics, expr->loc, "block '%s' is applied as %s(sizes)(input)", decl->name, decl->name);
    break;
  case DECL_EXPERT:
    diag_error(e->diagnostics, expr->loc, "expert '%s' is used through a bank: bank b[count] = %s(...)", decl->name,
               decl->name);
    break;
  case DECL_STRATEGY:
    diag_error(e->diagnostics, expr->loc, "strategy '%s' is attached with 'with' after a block application",
               decl->name);
    break;
  default:
    diag_error(e->diagnostics, callee->loc, "'%s' is not a function", callee->name);
    break;
  }
  return value_error();
}

static Value name(Elaborator *e, Body *body, const AstExpr *expr) {
  const Binding *binding = scope_lookup(body->scope, expr->name);
  /* In a type's dims only sizes count: `input tokens : i32[tokens]` and later `i32[tokens]` see
   * the dim, not the input. */
  for (const Scope *scope = body->scope; e->sizes_only && binding && binding->value.kind != VALUE_NUMBER &&
                                         binding->value.kind != VALUE_ERROR && scope;
       scope = scope->parent) {
    const Binding *local = scope_lookup_local((Scope *)scope, expr->name);
    if (local && (local->value.kind == VALUE_NUMBER || local->value.kind == VALUE_ERROR)) binding = local;
  }
  if (binding) {
    if (binding->value.kind == VALUE_BANK) {
      diag_error(e->diagnostics, expr->loc, "bank '%s' is applied as %s[e](rows) inside a route", expr->name,
                 expr->name);
      return value_error();
    }
    return binding->value;
  }
  if (sema_is_builtin(expr->name))
    diag_error(e->diagnostics, expr->loc, "'%s' is a function; call it", expr->name);
  else if (sema_find_decl(e->program, expr->name))
    diag_error(e->diagnostics, expr->loc, "'%s' is not a value here", expr->name);
  else
    diag_error(e->diagnostics, expr->loc, "undefined name '%s'", expr->name);
  return value_error();
}

static Value evaluate(Elaborator *e, Body *body, const AstExpr *expr);

/* evaluate(), counting how deeply expressions are nested, through the blocks they apply too: past
 * LIMIT_EXPRESSION_DEPTH it is an error (reported once) rather than a stack overflow. */
Value elaborate_expr(Elaborator *e, Body *body, const AstExpr *expr) {
  if (e->expression_depth >= LIMIT_EXPRESSION_DEPTH) {
    if (!e->reported_too_deep)
      diag_error(e->diagnostics, expr->loc,
                 "expressions are nested more than %d levels deep here, counting those of the blocks they apply; "
                 "split them with local names",
                 LIMIT_EXPRESSION_DEPTH);
    e->reported_too_deep = 1;
    return value_error();
  }
  e->expression_depth++;
  e->steps++;
  Value value = evaluate(e, body, expr);
  e->expression_depth--;
  return value;
}

static Value evaluate(Elaborator *e, Body *body, const AstExpr *expr) {
  switch (expr->kind) {
  case EXPR_NUMBER: return value_number(expr->number);
  case EXPR_NAME: return name(e, body, expr);
  case EXPR_BINARY: {
    Value a = elaborate_expr(e, body, expr->lhs);
    Value b = elaborate_expr(e, body, expr->rhs);
    return expr->op == '@' ? matmul(e, expr, a, b) : arithmetic(e, expr, a, b);
  }
  case EXPR_NEGATE: {
    Value a = elaborate_expr(e, body, expr->lhs);
    if (a.kind == VALUE_NUMBER) return value_number(-a.number);
    if (!expect_f32(e, a, expr->lhs->loc, "the operand of '-'")) return value_error();
    return scale(e, expr->loc, a, -1.0);
  }
  case EXPR_TRANSPOSE: {
    Value a = elaborate_expr(e, body, expr->lhs);
    if (a.kind == VALUE_ERROR) return a;
    if (a.kind != VALUE_TENSOR && a.kind != VALUE_BANK_PARAM) {
      diag_error(e->diagnostics, expr->loc, "only a tensor can be transposed");
      return value_error();
    }
    if (a.transposed || a.type.rank != 2) {
      diag_error(e->diagnostics, expr->loc, "'^T' applies to a 2-D tensor, once");
      return value_error();
    }
    a.transposed = 1;
    return a;
  }
  case EXPR_CALL: return call(e, body, expr);
  case EXPR_INDEX:
    diag_error(e->diagnostics, expr->loc, "an indexed bank must be applied to rows: bank[e](rows)");
    return value_error();
  case EXPR_ROUTE: return route(e, body, expr);
  case EXPR_MEMBER: return bank_member(e, body, expr);
  case EXPR_COMPARE: return compare(e, body, expr);
  case EXPR_SLICE:
  case EXPR_RANGE:
    diag_error(e->diagnostics, expr->loc, "a slice P[a:b, :] is only read by init copy(P[a:b, :])");
    return value_error();
  }
  return value_error();
}
