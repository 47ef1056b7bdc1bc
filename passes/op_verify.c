/* op_verify.c — shape relations of the perft ops (see op_verify.h), read off each op's
 * table entry: values are numbered inputs first, then outputs, as the entry lists them.
 *
 * Shape legend: T tokens, E experts, k slots per token, R = T*k rows, D width, V vocabulary.
 */
#include "op_verify.h"

#include <string.h>

#include "op_table.h"

#include <stdarg.h>
#include <stdio.h>

/* the type of value i of op (inputs first, then outputs), either form */
static MlirType verify_value_type(MlirOperation op, int i) {
  const OpInfo *info = op_info_of(op);
  return i < info->num_operands ? op_input_type(op, i) : op_output_type(op, info, i - info->num_operands);
}

int verify_fail(MlirOperation op, const char *format, ...) {
  char message[400];
  MlirStringRef name = mlirIdentifierStr(mlirOperationGetName(op));
  int n = snprintf(message, sizeof message, "'%.*s' op ", (int)name.length, name.data);
  va_list args;
  va_start(args, format);
  vsnprintf(message + n, sizeof message - (size_t)n, format, args);
  va_end(args);
  mlirEmitError(mlirOperationGetLocation(op), message);
  return 0;
}

/* dim d of value i */
static int64_t dim(MlirOperation op, int i, int d) { return mlirShapedTypeGetDimSize(verify_value_type(op, i), d); }

static const char *value_name(MlirOperation op, int i) {
  const OpInfo *info = op_info_of(op);
  return i < info->num_operands ? info->operands[i].name : info->results[i - info->num_operands].name;
}

/* dim (i, d) must equal `expected`, described by `what` */
static int expect(MlirOperation op, int i, int d, int64_t expected, const char *what) {
  int64_t found = dim(op, i, d);
  if (found == expected) return 1;
  return verify_fail(op, "%s dimension %d must be %s (%lld), found %lld", value_name(op, i), d, what,
                     (long long)expected, (long long)found);
}

static int64_t int_attribute(MlirOperation op, const char *name) {
  return mlirIntegerAttrGetValueInt(mlirOperationGetAttributeByName(op, mlirStringRefCreateFromCString(name)));
}
static int bool_attribute(MlirOperation op, const char *name) {
  MlirAttribute a = mlirOperationGetAttributeByName(op, mlirStringRefCreateFromCString(name));
  return mlirAttributeIsABool(a) ? mlirBoolAttrGetValue(a) : mlirIntegerAttrGetValueInt(a) != 0;
}

/* value 0 (p or x) [T,E] -> values w, w + 1 (w[T,k], idx[T,k]) {k} */
static int top_k_shapes(MlirOperation op, int w, const char *p_name) {
  int64_t k = int_attribute(op, "k");
  char rows[32];
  snprintf(rows, sizeof rows, "the rows of %s", p_name);
  if (k < 1 || k > dim(op, 0, 1))
    return verify_fail(op, "k = %lld must be between 1 and the %lld columns of %s", (long long)k,
                       (long long)dim(op, 0, 1), p_name);
  return expect(op, w, 0, dim(op, 0, 0), rows) && expect(op, w, 1, k, "k") && expect(op, w + 1, 0, dim(op, 0, 0), rows) &&
         expect(op, w + 1, 1, k, "k");
}

/* p[T,E] -> w[T,k], idx[T,k] {k} */
int verify_top_k(MlirOperation op) { return top_k_shapes(op, 1, "p"); }

/* x[T,E] -> p[T,E] (the type of x), w[T,k], idx[T,k] {k} */
int verify_softmax_top_k(MlirOperation op) { return top_k_shapes(op, 2, "x"); }

/* p[T,E], idx[T,k], w[T,k], dw[T,k] -> dp[T,E] */
int verify_top_k_grad(MlirOperation op) {
  return expect(op, 1, 0, dim(op, 0, 0), "the rows of p") && expect(op, 2, 0, dim(op, 0, 0), "the rows of p") &&
         expect(op, 2, 1, dim(op, 1, 1), "the slots of idx");
}

/* x[T,D], idx[T,k] -> rows[T*k,D], perm[T*k], offsets[E+1] {num_experts = E} */
int verify_dispatch(MlirOperation op) {
  int64_t rows = dim(op, 0, 0) * dim(op, 1, 1);
  return expect(op, 1, 0, dim(op, 0, 0), "the rows of x") && expect(op, 2, 0, rows, "tokens x slots") &&
         expect(op, 2, 1, dim(op, 0, 1), "the columns of x") && expect(op, 3, 0, rows, "tokens x slots") &&
         expect(op, 4, 0, int_attribute(op, "num_experts") + 1, "num_experts + 1");
}

/* drows[R,D], perm[R] -> dx[T,D], R a multiple of T */
int verify_dispatch_grad(MlirOperation op) {
  if (!expect(op, 1, 0, dim(op, 0, 0), "the rows of drows") || !expect(op, 2, 1, dim(op, 0, 1), "the columns of drows"))
    return 0;
  if (dim(op, 2, 0) < 1 || dim(op, 0, 0) % dim(op, 2, 0))
    return verify_fail(op, "the %lld rows of drows must be a multiple of the %lld tokens of dx", (long long)dim(op, 0, 0),
                       (long long)dim(op, 2, 0));
  return 1;
}

/* bank[E,N,K] with transpose_w, else [E,K,N]: value `bank`'s K and N dims */
static void bank_dims(MlirOperation op, int *k_dim, int *n_dim) {
  int transposed = bool_attribute(op, "transpose_w");
  *k_dim = transposed ? 2 : 1;
  *n_dim = transposed ? 1 : 2;
}

/* rows[R,K], bank, offsets[E+1] -> y[R,N] */
int verify_grouped_matmul(MlirOperation op) {
  int k_dim, n_dim;
  bank_dims(op, &k_dim, &n_dim);
  return expect(op, 1, k_dim, dim(op, 0, 1), "the columns of rows") &&
         expect(op, 2, 0, dim(op, 1, 0) + 1, "the experts of bank + 1") && expect(op, 3, 0, dim(op, 0, 0), "the rows of rows") &&
         expect(op, 3, 1, dim(op, 1, n_dim), "the output width of bank");
}

/* dy[R,N], rows[R,K], offsets[E+1] -> dbank */
int verify_grouped_matmul_grad_weight(MlirOperation op) {
  int k_dim, n_dim;
  bank_dims(op, &k_dim, &n_dim);
  return expect(op, 1, 0, dim(op, 0, 0), "the rows of dy") && expect(op, 2, 0, dim(op, 3, 0) + 1, "the experts of dbank + 1") &&
         expect(op, 3, k_dim, dim(op, 1, 1), "the columns of rows") && expect(op, 3, n_dim, dim(op, 0, 1), "the columns of dy");
}

/* idx[T,k] -> perm[T*k], offsets[E+1] {num_experts = E} */
int verify_route(MlirOperation op) {
  return expect(op, 1, 0, dim(op, 0, 0) * dim(op, 0, 1), "tokens x slots of idx") &&
         expect(op, 2, 0, int_attribute(op, "num_experts") + 1, "num_experts + 1");
}

/* perm[R] routes R rows from the T rows of value x: R a multiple of T */
static int gathered_rows(MlirOperation op, int x, int perm) {
  if (dim(op, x, 0) < 1 || dim(op, perm, 0) % dim(op, x, 0))
    return verify_fail(op, "the %lld routed rows of perm must be a multiple of the %lld rows of x",
                       (long long)dim(op, perm, 0), (long long)dim(op, x, 0));
  return 1;
}

/* x[T,K], perm[R], bank, offsets[E+1] -> y[R,N] */
int verify_gathered_matmul(MlirOperation op) {
  int k_dim, n_dim;
  bank_dims(op, &k_dim, &n_dim);
  return gathered_rows(op, 0, 1) && expect(op, 2, k_dim, dim(op, 0, 1), "the columns of x") &&
         expect(op, 3, 0, dim(op, 2, 0) + 1, "the experts of bank + 1") && expect(op, 4, 0, dim(op, 1, 0), "the rows of perm") &&
         expect(op, 4, 1, dim(op, 2, n_dim), "the output width of bank");
}

/* dy[R,N], x[T,K], perm[R], offsets[E+1] -> dbank */
int verify_gathered_matmul_grad_weight(MlirOperation op) {
  int k_dim, n_dim;
  bank_dims(op, &k_dim, &n_dim);
  return gathered_rows(op, 1, 2) && expect(op, 2, 0, dim(op, 0, 0), "the rows of dy") &&
         expect(op, 3, 0, dim(op, 4, 0) + 1, "the experts of dbank + 1") &&
         expect(op, 4, k_dim, dim(op, 1, 1), "the columns of x") && expect(op, 4, n_dim, dim(op, 0, 1), "the columns of dy");
}

/* rows[R,K], bank[E,N,K], offsets[E+1], perm[R], w[T,k] -> y[T,N] */
int verify_grouped_matmul_combine(MlirOperation op) {
  return expect(op, 1, 2, dim(op, 0, 1), "the columns of rows") &&
         expect(op, 2, 0, dim(op, 1, 0) + 1, "the experts of bank + 1") && expect(op, 3, 0, dim(op, 0, 0), "the rows of rows") &&
         expect(op, 0, 0, dim(op, 4, 0) * dim(op, 4, 1), "tokens x slots of w") &&
         expect(op, 5, 0, dim(op, 4, 0), "the tokens of w") && expect(op, 5, 1, dim(op, 1, 1), "the output width of bank");
}

/* x[M,K], w[N,K], addend[M,N] -> y[M,N] (addend and y: one type) */
int verify_matmul_scale_add(MlirOperation op) {
  return expect(op, 1, 1, dim(op, 0, 1), "the columns of x") && expect(op, 2, 0, dim(op, 0, 0), "the rows of x") &&
         expect(op, 2, 1, dim(op, 1, 0), "the rows of w");
}

/* rows[R,K], bank[E,N,K], offsets[E+1], addend[R,N] -> y[R,N] */
int verify_grouped_matmul_scale_add(MlirOperation op) {
  return expect(op, 1, 2, dim(op, 0, 1), "the columns of rows") &&
         expect(op, 2, 0, dim(op, 1, 0) + 1, "the experts of bank + 1") && expect(op, 3, 0, dim(op, 0, 0), "the rows of rows") &&
         expect(op, 3, 1, dim(op, 1, 1), "the output width of bank");
}

/* x[M,D], seed[1], A[r,D], B[N,r], addend[M,N] -> xd[M,D], z[M,r], y[M,N] */
int verify_lora_chain(MlirOperation op) {
  return expect(op, 2, 1, dim(op, 0, 1), "the columns of x") && expect(op, 3, 1, dim(op, 2, 0), "the rows of A") &&
         expect(op, 4, 0, dim(op, 0, 0), "the rows of x") && expect(op, 4, 1, dim(op, 3, 0), "the rows of B") &&
         expect(op, 6, 0, dim(op, 0, 0), "the rows of x") && expect(op, 6, 1, dim(op, 2, 0), "the rows of A");
}

/* x[T,D], perm[R], seed[1], A[E,r,D], B[E,N,r], offsets[E+1] -> xd[R,D], z[R,r], y[R,N] */
int verify_grouped_lora_chain(MlirOperation op) {
  return gathered_rows(op, 0, 1) && expect(op, 3, 2, dim(op, 0, 1), "the columns of x") &&
         expect(op, 4, 0, dim(op, 3, 0), "the experts of A") && expect(op, 4, 2, dim(op, 3, 1), "the rank of A") &&
         expect(op, 5, 0, dim(op, 3, 0) + 1, "the experts of A + 1") && expect(op, 6, 0, dim(op, 1, 0), "the rows of perm") &&
         expect(op, 6, 1, dim(op, 0, 1), "the columns of x") && expect(op, 7, 0, dim(op, 1, 0), "the rows of perm") &&
         expect(op, 7, 1, dim(op, 3, 1), "the rank of A") && expect(op, 8, 0, dim(op, 1, 0), "the rows of perm") &&
         expect(op, 8, 1, dim(op, 4, 1), "the output width of B");
}

/* x[T,D], perm[R], seed[1] -> xd[R,D] */
int verify_gathered_dropout(MlirOperation op) {
  return gathered_rows(op, 0, 1) && expect(op, 3, 0, dim(op, 1, 0), "the rows of perm") &&
         expect(op, 3, 1, dim(op, 0, 1), "the columns of x");
}

/* a[R,K], bank[E,N,K], z[R,r], bank2[E,N,r], offsets[E+1] (then perm[R], w[T,k]) -> y */
static int join_shapes(MlirOperation op) {
  return expect(op, 1, 2, dim(op, 0, 1), "the columns of a") && expect(op, 2, 0, dim(op, 0, 0), "the rows of a") &&
         expect(op, 3, 0, dim(op, 1, 0), "the experts of bank") && expect(op, 3, 1, dim(op, 1, 1), "the output width of bank") &&
         expect(op, 3, 2, dim(op, 2, 1), "the columns of z") && expect(op, 4, 0, dim(op, 1, 0) + 1, "the experts of bank + 1");
}
int verify_grouped_matmul_join(MlirOperation op) {
  return join_shapes(op) && expect(op, 5, 0, dim(op, 0, 0), "the rows of a") &&
         expect(op, 5, 1, dim(op, 1, 1), "the output width of bank");
}
int verify_grouped_matmul_join_combine(MlirOperation op) {
  return join_shapes(op) && expect(op, 5, 0, dim(op, 0, 0), "the rows of a") &&
         expect(op, 0, 0, dim(op, 6, 0) * dim(op, 6, 1), "tokens x slots of w") &&
         expect(op, 7, 0, dim(op, 6, 0), "the tokens of w") && expect(op, 7, 1, dim(op, 1, 1), "the output width of bank");
}

/* the routing triple of combine and its gradients: rows value r [R,D], perm p [R], w [T,k], y [T,D] */
static int combine_shapes(MlirOperation op, int r, int p, int w, int y) {
  return expect(op, p, 0, dim(op, r, 0), "the rows of the dispatched rows") &&
         expect(op, r, 0, dim(op, w, 0) * dim(op, w, 1), "tokens x slots of w") &&
         expect(op, y, 0, dim(op, w, 0), "the tokens of w") && expect(op, y, 1, dim(op, r, 1), "the width of the rows");
}

/* values i and j have one element type */
static int same_element(MlirOperation op, int i, int j) {
  if (mlirTypeEqual(mlirShapedTypeGetElementType(verify_value_type(op, i)),
                    mlirShapedTypeGetElementType(verify_value_type(op, j))))
    return 1;
  return verify_fail(op, "%s and %s must have one element type", value_name(op, i), value_name(op, j));
}

static int axis_attribute(MlirOperation op) {
  int64_t axis = int_attribute(op, "axis");
  if (axis == 0 || axis == 1) return (int)axis;
  verify_fail(op, "axis = %lld must be 0 or 1", (long long)axis);
  return -1;
}

/* a, b -> y = [a | b] along axis: a[M,N], b[M2,N] -> y[M+M2,N] (axis 0); a[M,N], b[M,N2] -> y[M,N+N2] (axis 1) */
int verify_concat(MlirOperation op) {
  int axis = axis_attribute(op), other = 1 - axis;
  if (axis < 0 || !same_element(op, 0, 1) || !same_element(op, 0, 2)) return 0;
  return expect(op, 1, other, dim(op, 0, other), "that of a") && expect(op, 2, other, dim(op, 0, other), "that of a") &&
         expect(op, 2, axis, dim(op, 0, axis) + dim(op, 1, axis), "the sum of a's and b's");
}

/* x -> y = x[start : start + size(y), :] (axis 0) or x[:, start : start + size(y)] (axis 1) */
int verify_slice(MlirOperation op) {
  int axis = axis_attribute(op), other = 1 - axis;
  if (axis < 0 || !same_element(op, 0, 1)) return 0;
  int64_t start = int_attribute(op, "start");
  if (start < 0 || start + dim(op, 1, axis) > dim(op, 0, axis))
    return verify_fail(op, "start = %lld with %lld elements of y runs past the %lld of x along axis %d",
                       (long long)start, (long long)dim(op, 1, axis), (long long)dim(op, 0, axis), axis);
  return expect(op, 1, other, dim(op, 0, other), "that of x");
}

int verify_combine(MlirOperation op) { return combine_shapes(op, 0, 1, 2, 3); }            /* rows, perm, w -> y */
int verify_combine_grad_rows(MlirOperation op) { return combine_shapes(op, 3, 1, 2, 0); }  /* dy, perm, w -> drows */
int verify_combine_grad_weights(MlirOperation op) { return combine_shapes(op, 1, 2, 3, 0); } /* dy, rows, perm -> dw */

/* p[T,E], idx[T,k] -> scalar {num_experts = E} */
int verify_load_balance(MlirOperation op) {
  return expect(op, 1, 0, dim(op, 0, 0), "the rows of p") &&
         expect(op, 0, 1, int_attribute(op, "num_experts"), "num_experts");
}

/* idx[T,k] -> f[E] */
int verify_expert_fraction(MlirOperation op) {
  return expect(op, 1, 0, int_attribute(op, "num_experts"), "num_experts");
}

/* idx[T,k], dl -> dp[T,E] */
int verify_load_balance_grad(MlirOperation op) { return expect(op, 0, 0, dim(op, 2, 0), "the rows of dp"); }

/* x[T,D], w[D] (, dy[T,D]) -> [T,D] */
/* x[T, H·hd] {heads = H, seq = S}: the head size hd even, T a multiple of S */
int verify_rope(MlirOperation op) {
  int64_t heads = int_attribute(op, "heads"), seq = int_attribute(op, "seq"), rows = dim(op, 0, 0),
          columns = dim(op, 0, 1);
  if (heads < 1 || columns % heads != 0 || (columns / heads) % 2 != 0)
    return verify_fail(op, "x has %lld columns: not heads (%lld) times an even head size", (long long)columns,
                       (long long)heads);
  if (seq < 1 || rows % seq != 0)
    return verify_fail(op, "x has %lld rows: not a multiple of seq (%lld)", (long long)rows, (long long)seq);
  return 1;
}

/* q[T, H·hd], k[T, G·hd] (v, dk, dv alike), the q-shaped rest {heads = H, kv_heads = G, seq = S} */
int verify_causal_attention(MlirOperation op) {
  int64_t heads = int_attribute(op, "heads"), kv_heads = int_attribute(op, "kv_heads"), seq = int_attribute(op, "seq");
  int64_t rows = dim(op, 0, 0), columns = dim(op, 0, 1);
  if (heads < 1 || kv_heads < 1 || heads % kv_heads != 0 || columns % heads != 0)
    return verify_fail(op, "heads (%lld) must divide the %lld columns of q, and kv_heads (%lld) must divide heads",
                       (long long)heads, (long long)columns, (long long)kv_heads);
  if (seq < 1 || rows % seq != 0)
    return verify_fail(op, "q has %lld rows: not a multiple of seq (%lld)", (long long)rows, (long long)seq);
  return expect(op, 1, 0, rows, "the rows of q") && expect(op, 1, 1, columns / heads * kv_heads, "kv_heads x the head size");
}

/* perft-attention-gemms' ops over B sequences of S rows, d the head size, H heads, G kv heads:
 *   attention_scores  a [B·S, H·d], b [B·S, G·d] -> s [B·H, S, S]
 *   attention_apply   p [B·H, S, S], v [B·S, G·d] -> y [B·S, H·d]
 *   attention_apply_t p [B·H, S, S], a [B·S, H·d] -> y [B·S, G·d] */
int verify_attention_gemm(MlirOperation op) {
  int64_t H = int_attribute(op, "heads"), G = int_attribute(op, "kv_heads"), S = int_attribute(op, "seq");
  if (H < 1 || G < 1 || H % G != 0 || S < 1)
    return verify_fail(op, "kv_heads (%lld) must divide heads (%lld), and seq (%lld) be positive", (long long)G,
                       (long long)H, (long long)S);
  int scores = op_is_kind(op, OP_ATTENTION_SCORES), apply_t = op_is_kind(op, OP_ATTENTION_APPLY_T);
  int rows_value = scores ? 0 : 1;            /* the [B·S, ·] operand */
  int square = scores ? 2 : 0;                /* the [B·H, S, S] value */
  int wide = scores ? 0 : apply_t ? 1 : 2;    /* the [B·S, H·d] value */
  int narrow = scores ? 1 : apply_t ? 2 : 1;  /* the [B·S, G·d] value */
  int64_t T = dim(op, rows_value, 0), columns = dim(op, wide, 1);
  if (T % S != 0 || columns % H != 0)
    return verify_fail(op, "%lld rows must be a multiple of seq (%lld) and %lld columns of heads (%lld)", (long long)T,
                       (long long)S, (long long)columns, (long long)H);
  int64_t B = T / S, d = columns / H;
  return expect(op, wide, 0, T, "the rows of the other operand") && expect(op, narrow, 0, T, "the rows of the other operand") &&
         expect(op, narrow, 1, G * d, "kv_heads x the head size") && expect(op, square, 0, B * H, "sequences x heads") &&
         expect(op, square, 1, S, "seq") && expect(op, square, 2, S, "seq");
}

/* causal_softmax s[N,S,S] -> p, causal_softmax_grad p, dp -> ds: square rows */
int verify_causal_softmax(MlirOperation op) { return expect(op, 0, 2, dim(op, 0, 1), "the rows of each square"); }

int verify_rmsnorm(MlirOperation op) { return expect(op, 1, 0, dim(op, 0, 1), "the columns of x"); }

/* x[T,D], dy[T,D] -> dw[D] */
int verify_rmsnorm_grad_weight(MlirOperation op) { return expect(op, 2, 0, dim(op, 0, 1), "the columns of x"); }

/* table[V,D], ids[T] -> y[T,D] */
/* The elements of value i (ids and labels may be [T] or [B, S]: one row each). */
static int64_t elements(MlirOperation op, int i) {
  MlirType type = verify_value_type(op, i);
  int64_t n = 1;
  for (intptr_t d = 0; d < mlirShapedTypeGetRank(type); d++) n *= mlirShapedTypeGetDimSize(type, d);
  return n;
}

int verify_embedding(MlirOperation op) {
  return expect(op, 2, 0, elements(op, 1), "the ids") && expect(op, 2, 1, dim(op, 0, 1), "the columns of table");
}

/* ids[T], dy[T,D] -> dtable[V,D] */
int verify_embedding_grad(MlirOperation op) {
  return expect(op, 1, 0, elements(op, 0), "the ids") && expect(op, 2, 1, dim(op, 1, 1), "the columns of dy");
}

/* logits[T,V], labels[T] (, dl) -> ... */
int verify_cross_entropy(MlirOperation op) {
  return elements(op, 1) == dim(op, 0, 0) ? 1
                                          : verify_fail(op, "labels have %lld elements, but logits %lld rows (one label a row)",
                                                        (long long)elements(op, 1), (long long)dim(op, 0, 0));
}

/* x, seed[1] -> y {0 <= p < 1} */
int verify_dropout(MlirOperation op) {
  MlirAttribute p = mlirOperationGetAttributeByName(op, mlirStringRefCreateFromCString("p"));
  double rate = mlirFloatAttrGetValueDouble(p);
  if (!(rate >= 0.0 && rate < 1.0)) return verify_fail(op, "p = %g must be in [0, 1)", rate);
  return expect(op, 1, 0, 1, "one seed");
}

/* x, then the reduced value (y or dy; value 1) {axis}: 0 <= axis < rank(x), and value 1 has x's dims
 * without the axis */
int verify_reduce(MlirOperation op) {
  int64_t axis = int_attribute(op, "axis");
  int64_t rank = mlirShapedTypeGetRank(verify_value_type(op, 0));
  if (axis < 0 || axis >= rank) return verify_fail(op, "axis %lld is not an axis of x (rank %lld)", (long long)axis, (long long)rank);
  int64_t reduced = mlirShapedTypeGetRank(verify_value_type(op, 1));
  if (reduced == rank) { /* kept: the axis as a dim of 1 */
    if (!expect(op, 1, (int)axis, 1, "1 (the reduced axis, kept)")) return 0;
    for (int d = 0; d < rank; d++)
      if (d != axis && !expect(op, 1, d, dim(op, 0, d), "that of x")) return 0;
    return 1;
  }
  if (reduced != rank - 1)
    return verify_fail(op, "%s must have rank %lld (x's without axis %lld) or %lld (the axis kept as 1), found %lld",
                       value_name(op, 1), (long long)(rank - 1), (long long)axis, (long long)rank, (long long)reduced);
  for (int d = 0, j = 0; d < rank; d++)
    if (d != axis && !expect(op, 1, j++, dim(op, 0, d), "that of x")) return 0;
  return 1;
}

/* broadcast x -> y, or sum_to dy -> dx: the smaller value (fewer elements) stretches to the larger
 * by numpy's rule: dims aligned from the right, each equal or 1 */
int verify_broadcast(MlirOperation op) {
  int small = op_is_kind(op, OP_BROADCAST) ? 0 : 1, large = 1 - small;
  int64_t rank_small = mlirShapedTypeGetRank(verify_value_type(op, small));
  int64_t rank_large = mlirShapedTypeGetRank(verify_value_type(op, large));
  if (rank_small > rank_large)
    return verify_fail(op, "%s (rank %lld) cannot broadcast to %s (rank %lld)", value_name(op, small),
                       (long long)rank_small, value_name(op, large), (long long)rank_large);
  for (int64_t d = 0; d < rank_small; d++) {
    int64_t s = dim(op, small, (int)d), l = dim(op, large, (int)(d + rank_large - rank_small));
    if (s != l && s != 1)
      return verify_fail(op, "%s dimension %lld (%lld) must be 1 or that of %s (%lld)", value_name(op, small),
                         (long long)d, (long long)s, value_name(op, large), (long long)l);
  }
  return 1;
}

/* expert_rows: bank[E, s...], offsets[E+1] -> rows[R, s...] ([R, 1] for a scalar slice);
 * expert_rows_grad: drows, offsets -> dbank (the same shapes) */
int verify_expert_rows(MlirOperation op) {
  int gradient = op_is_kind(op, OP_EXPERT_ROWS_GRAD);
  int bank = gradient ? 2 : 0, rows = gradient ? 0 : 2;
  int64_t bank_rank = mlirShapedTypeGetRank(verify_value_type(op, bank));
  int64_t rows_rank = mlirShapedTypeGetRank(verify_value_type(op, rows));
  if (bank_rank < 1 || rows_rank != (bank_rank == 1 ? 2 : bank_rank))
    return verify_fail(op, "%s (rank %lld) and %s (rank %lld): rows are [R, the bank's slice] ([R, 1] for a scalar slice)",
                       value_name(op, bank), (long long)bank_rank, value_name(op, rows), (long long)rows_rank);
  if (!expect(op, 1, 0, dim(op, bank, 0) + 1, "the experts of the bank + 1")) return 0;
  if (bank_rank == 1) return expect(op, rows, 1, 1, "1 (a scalar slice)");
  for (int d = 1; d < bank_rank; d++)
    if (!expect(op, rows, d, dim(op, bank, d), "that of the bank's slice")) return 0;
  return 1;
}

/* compare {predicate}: 0 <, 1 >, 2 <=, 3 >=, 4 ==, 5 != */
int verify_compare(MlirOperation op) {
  int64_t predicate = int_attribute(op, "predicate");
  if (predicate < 0 || predicate > 5) return verify_fail(op, "predicate %lld is not one of 0-5 (< > <= >= == !=)", (long long)predicate);
  return 1;
}

/* x[A,B] -> y[B,A] */
int verify_transpose(MlirOperation op) {
  return expect(op, 1, 0, dim(op, 0, 1), "the columns of x") && expect(op, 1, 1, dim(op, 0, 0), "the rows of x");
}

/* the expert-choice ops: tok[N,C] (the value named "tok"), the routed rows [N·C, D] ("rows", "drows"),
 * offsets [N+1], weights [N,C] ("w", "dw") */
int verify_ec(MlirOperation op) {
  const OpInfo *info = op_info_of(op);
  int tok = -1, rows = -1, offsets = -1, weights = -1;
  for (int i = 0; i < info->num_operands + info->num_results; i++) {
    const char *name = i < info->num_operands ? info->operands[i].name : info->results[i - info->num_operands].name;
    if (!strcmp(name, "tok")) tok = i;
    else if (!strcmp(name, "rows") || !strcmp(name, "drows")) rows = i;
    else if (!strcmp(name, "offsets")) offsets = i;
    else if (!strcmp(name, "w") || !strcmp(name, "dw")) weights = i;
  }
  int64_t chosen = dim(op, tok, 0) * dim(op, tok, 1);
  return (rows < 0 || expect(op, rows, 0, chosen, "experts x tokens each of tok")) &&
         (offsets < 0 || expect(op, offsets, 0, dim(op, tok, 0) + 1, "the experts of tok + 1")) &&
         (weights < 0 || (expect(op, weights, 0, dim(op, tok, 0), "the experts of tok") &&
                          expect(op, weights, 1, dim(op, tok, 1), "the tokens each of tok")));
}

/* p[T,E], idx[T,k] -> y[T,k] */
int verify_gather(MlirOperation op) {
  return expect(op, 1, 0, dim(op, 0, 0), "the rows of p") && expect(op, 2, 0, dim(op, 1, 0), "the rows of idx") &&
         expect(op, 2, 1, dim(op, 1, 1), "the columns of idx");
}
