/* autodiff.c — reverse-mode automatic differentiation, toward trainable parameters only.
 *
 * Before:
 *   func.func @forward(%w: tensor<4x3xf32> {perft.trainable = true, ...},
 *                      %x: tensor<5x4xf32> {perft.input = "x"}) -> (tensor<f32>, ...) {
 *     %y = linalg.matmul ins(%x, %w) ...
 *     %l = "perft.mse"(%y, %t)
 *     return %l, ...
 *   }
 * After: @forward unchanged, plus
 *   func.func @train_step(same arguments) -> (tensor<f32>, ..., tensor<4x3xf32> {perft.grad = "w"}) {
 *     ... the forward ops ...
 *     %one = arith.constant dense<1.0> : tensor<f32>
 *     %dy  = "perft.mse_grad"(%y, %t, %one)
 *     %dw  = linalg.matmul_transpose_a ins(%x, %dy) ...      (dW = Xᵀ·dY)
 *     return %l, ..., %dw
 *   }
 *
 * Activity: a value is active when it depends on a trainable parameter. Only
 * active values get adjoints, so frozen weights never get a weight gradient,
 * while gradients still flow through frozen ops toward trainable ones. Rules
 * are applied to the forward ops in reverse order; adjoints that meet are summed.
 * Integer results (top-k indices, permutations, offsets) carry no gradient.
 */
#include "passes.h"

#include "external_pass.h"
#include "value_index.h"

#include "ir_builder.h"

#include <mlir-c/BuiltinAttributes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- adjoints and activity of the forward values, indexed by value_index.c ---- */
typedef struct {
  ValueIndex index;
  MlirValue *adjoints;   /* [index.capacity] */
  unsigned char *active; /* [index.capacity] */
} ValueMap;

static size_t slot_of(ValueMap *map, MlirValue v) { return value_index_slot(&map->index, v); }

static void map_init(ValueMap *map, size_t max_values) {
  value_index_init(&map->index, max_values);
  map->adjoints = calloc(map->index.capacity, sizeof(MlirValue));
  map->active = calloc(map->index.capacity, 1);
  IR_CHECK(map->adjoints && map->active, "out of memory");
}

static void map_free(ValueMap *map) {
  value_index_free(&map->index); free(map->adjoints); free(map->active);
}

typedef struct {
  Builder builder;
  ValueMap map;
  const char *wrong_rule; /* test-only: corrupt this op's rule */
  MlirOperation current;  /* the op whose rule is being applied */
} Autodiff;

static int is_active(Autodiff *ad, MlirValue v) { return ad->map.active[slot_of(&ad->map, v)]; }

static MlirValue adjoint_of(Autodiff *ad, MlirValue v) { return ad->map.adjoints[slot_of(&ad->map, v)]; }

static int is_float_tensor(MlirValue v) {
  MlirType t = mlirValueGetType(v);
  return mlirTypeIsARankedTensor(t) && mlirTypeIsAFloat(mlirShapedTypeGetElementType(t));
}

static MlirValue scale(Autodiff *ad, MlirValue x, double factor) {
  MlirNamedAttribute attr = named_attribute(
      ad->builder.context, "factor",
      mlirFloatAttrDoubleGet(ad->builder.context, mlirF64TypeGet(ad->builder.context), factor));
  return build_value(&ad->builder, "perft.scale", 1, &x, mlirValueGetType(x), 1, &attr);
}

/* adjoint(v) += contribution, for active v only. */
static void accumulate(Autodiff *ad, MlirValue v, MlirValue contribution) {
  if (!is_active(ad, v)) return;
  if (ad->wrong_rule) { /* the planted bug of the gradient-check test */
    MlirStringRef name = mlirIdentifierStr(mlirOperationGetName(ad->current));
    const char *dot = memchr(name.data, '.', name.length);
    size_t len = name.length - (size_t)(dot + 1 - name.data);
    if (dot && strlen(ad->wrong_rule) == len && !memcmp(dot + 1, ad->wrong_rule, len))
      contribution = scale(ad, contribution, 1.5);
  }
  size_t i = slot_of(&ad->map, v);
  if (mlirValueIsNull(ad->map.adjoints[i])) {
    ad->map.adjoints[i] = contribution;
  } else {
    MlirValue both[2] = {ad->map.adjoints[i], contribution};
    ad->map.adjoints[i] = build_linalg(&ad->builder, "linalg.add", 2, both, build_empty(&ad->builder, mlirValueGetType(v)));
  }
}

static MlirValue perft_op(Autodiff *ad, const char *name, int n, const MlirValue *operands,
                          MlirType result, int num_attrs, const MlirNamedAttribute *attrs) {
  return build_value(&ad->builder, name, n, operands, result, num_attrs, attrs);
}

static MlirValue matmul(Autodiff *ad, const char *name, MlirValue a, MlirValue b, MlirType result) {
  MlirValue ins[2] = {a, b};
  return build_linalg(&ad->builder, name, 2, ins, build_zeros(&ad->builder, result));
}

static MlirValue binary(Autodiff *ad, const char *name, MlirValue a, MlirValue b) {
  MlirValue ins[2] = {a, b};
  return build_linalg(&ad->builder, name, 2, ins, build_empty(&ad->builder, mlirValueGetType(a)));
}

static MlirNamedAttribute copy_attribute(MlirOperation op, const char *name) {
  return named_attribute(mlirOperationGetContext(op), name,
                         mlirOperationGetAttributeByName(op, str(name)));
}

/* Applies the backward rule of `op` given the adjoint `dy` of its result 0
 * (or of the result that carries gradient). Returns 0 for an unknown op. */
static int apply_rule(Autodiff *ad, MlirOperation op) {
  MlirValue x[4];
  intptr_t n = mlirOperationGetNumOperands(op);
  for (intptr_t i = 0; i < n && i < 4; i++) x[i] = mlirOperationGetOperand(op, i);
  MlirValue y = mlirOperationGetResult(op, 0);
  MlirValue dy = adjoint_of(ad, y);
  MlirType tx0 = n > 0 ? mlirValueGetType(x[0]) : null_type();
  MlirType tx1 = n > 1 ? mlirValueGetType(x[1]) : null_type();

  if (op_is(op, "linalg.matmul")) { /* C = A·B:  dA = dC·Bᵀ, dB = Aᵀ·dC */
    if (is_active(ad, x[0])) accumulate(ad, x[0], matmul(ad, "linalg.matmul_transpose_b", dy, x[1], tx0));
    if (is_active(ad, x[1])) accumulate(ad, x[1], matmul(ad, "linalg.matmul_transpose_a", x[0], dy, tx1));
  } else if (op_is(op, "linalg.matmul_transpose_b")) { /* C = A·Bᵀ: dA = dC·B, dB = dCᵀ·A */
    if (is_active(ad, x[0])) accumulate(ad, x[0], matmul(ad, "linalg.matmul", dy, x[1], tx0));
    if (is_active(ad, x[1])) accumulate(ad, x[1], matmul(ad, "linalg.matmul_transpose_a", dy, x[0], tx1));
  } else if (op_is(op, "linalg.matmul_transpose_a")) { /* C = Aᵀ·B: dA = B·dCᵀ, dB = A·dC */
    if (is_active(ad, x[0])) accumulate(ad, x[0], matmul(ad, "linalg.matmul_transpose_b", x[1], dy, tx0));
    if (is_active(ad, x[1])) accumulate(ad, x[1], matmul(ad, "linalg.matmul", x[0], dy, tx1));
  } else if (op_is(op, "linalg.add")) {
    accumulate(ad, x[0], dy);
    accumulate(ad, x[1], dy);
  } else if (op_is(op, "linalg.sub")) {
    accumulate(ad, x[0], dy);
    if (is_active(ad, x[1])) accumulate(ad, x[1], scale(ad, dy, -1.0));
  } else if (op_is(op, "linalg.mul")) {
    if (is_active(ad, x[0])) accumulate(ad, x[0], binary(ad, "linalg.mul", dy, x[1]));
    if (is_active(ad, x[1])) accumulate(ad, x[1], binary(ad, "linalg.mul", dy, x[0]));
  } else if (op_is(op, "linalg.div")) { /* c = a/b: da = dc/b, db = -dc·c/b */
    if (is_active(ad, x[0])) accumulate(ad, x[0], binary(ad, "linalg.div", dy, x[1]));
    if (is_active(ad, x[1]))
      accumulate(ad, x[1], scale(ad, binary(ad, "linalg.div", binary(ad, "linalg.mul", dy, y), x[1]), -1.0));
  } else if (op_is(op, "perft.scale")) {
    accumulate(ad, x[0], scale(ad, dy, op_float_attribute(op, "factor", 1.0)));
  } else if (op_is(op, "perft.silu")) {
    MlirValue in[2] = {x[0], dy};
    accumulate(ad, x[0], perft_op(ad, "perft.silu_grad", 2, in, tx0, 0, NULL));
  } else if (op_is(op, "perft.softmax")) {
    MlirValue in[2] = {y, dy};
    accumulate(ad, x[0], perft_op(ad, "perft.softmax_grad", 2, in, tx0, 0, NULL));
  } else if (op_is(op, "perft.top_k")) { /* only the weights (result 0) carry gradient */
    MlirValue in[4] = {x[0], mlirOperationGetResult(op, 1), y, dy};
    MlirNamedAttribute renorm = copy_attribute(op, "renormalize");
    accumulate(ad, x[0], perft_op(ad, "perft.top_k_grad", 4, in, tx0, 1, &renorm));
  } else if (op_is(op, "perft.dispatch")) { /* rows (result 0) carry gradient */
    MlirValue in[2] = {dy, mlirOperationGetResult(op, 1)};
    accumulate(ad, x[0], perft_op(ad, "perft.dispatch_grad", 2, in, tx0, 0, NULL));
  } else if (op_is(op, "perft.grouped_matmul")) {
    int transpose_w = (int)op_int_attribute(op, "transpose_w", 0);
    MlirNamedAttribute flipped = named_attribute(ad->builder.context, "transpose_w",
                                                 mlirBoolAttrGet(ad->builder.context, !transpose_w));
    MlirNamedAttribute same = copy_attribute(op, "transpose_w");
    if (is_active(ad, x[0])) { /* drows = dy · W_e (or W_eᵀ) */
      MlirValue in[3] = {dy, x[1], x[2]};
      accumulate(ad, x[0], perft_op(ad, "perft.grouped_matmul", 3, in, tx0, 1, &flipped));
    }
    if (is_active(ad, x[1])) {
      MlirValue in[3] = {dy, x[0], x[2]};
      accumulate(ad, x[1], perft_op(ad, "perft.grouped_matmul_grad_weight", 3, in, tx1, 1, &same));
    }
  } else if (op_is(op, "perft.combine")) { /* y[t] = Σ w[t,s] rows[perm⁻¹(t,s)] */
    if (is_active(ad, x[0])) {
      MlirValue in[3] = {dy, x[1], x[2]};
      accumulate(ad, x[0], perft_op(ad, "perft.combine_grad_rows", 3, in, tx0, 0, NULL));
    }
    if (is_active(ad, x[2])) {
      MlirValue in[3] = {dy, x[0], x[1]};
      accumulate(ad, x[2], perft_op(ad, "perft.combine_grad_weights", 3, in, mlirValueGetType(x[2]), 0, NULL));
    }
  } else if (op_is(op, "perft.load_balance")) {
    MlirValue in[2] = {x[1], dy};
    accumulate(ad, x[0], perft_op(ad, "perft.load_balance_grad", 2, in, tx0, 0, NULL));
  } else if (op_is(op, "perft.mse")) {
    MlirValue in[3] = {x[0], x[1], dy};
    MlirValue d = perft_op(ad, "perft.mse_grad", 3, in, tx0, 0, NULL);
    accumulate(ad, x[0], d);
    if (is_active(ad, x[1])) accumulate(ad, x[1], scale(ad, d, -1.0));
  } else if (op_is(op, "perft.rmsnorm")) {
    MlirNamedAttribute eps = copy_attribute(op, "eps");
    if (is_active(ad, x[0])) {
      MlirValue in[3] = {x[0], x[1], dy};
      accumulate(ad, x[0], perft_op(ad, "perft.rmsnorm_grad_input", 3, in, tx0, 1, &eps));
    }
    if (is_active(ad, x[1])) {
      MlirValue in[2] = {x[0], dy};
      accumulate(ad, x[1], perft_op(ad, "perft.rmsnorm_grad_weight", 2, in, tx1, 1, &eps));
    }
  } else if (op_is(op, "perft.embedding")) { /* the ids carry no gradient */
    MlirValue in[2] = {x[1], dy};
    accumulate(ad, x[0], perft_op(ad, "perft.embedding_grad", 2, in, tx0, 0, NULL));
  } else if (op_is(op, "perft.cross_entropy")) {
    MlirValue in[3] = {x[0], x[1], dy};
    accumulate(ad, x[0], perft_op(ad, "perft.cross_entropy_grad", 3, in, tx0, 0, NULL));
  } else if (op_is(op, "perft.dropout")) { /* the same mask, from the same seed */
    MlirNamedAttribute p = copy_attribute(op, "p");
    MlirValue in[2] = {dy, x[1]};
    accumulate(ad, x[0], perft_op(ad, "perft.dropout_grad", 2, in, tx0, 1, &p));
  } else {
    return 0;
  }
  return 1;
}

static MlirAttribute dictionary_entry(MlirAttribute array, intptr_t i, const char *key) {
  if (mlirAttributeIsNull(array) || i >= mlirArrayAttrGetNumElements(array)) return mlirAttributeGetNull();
  return mlirDictionaryAttrGetElementByName(mlirArrayAttrGetElement(array, i), str(key));
}

MlirOperation perft_find_function(MlirOperation module, const char *name) {
  MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(module, 0));
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op);
       op = mlirOperationGetNextInBlock(op)) {
    if (!op_is(op, "func.func")) continue;
    MlirAttribute sym = mlirOperationGetAttributeByName(op, str("sym_name"));
    MlirStringRef s = mlirStringAttrGetValue(sym);
    if (s.length == strlen(name) && !memcmp(s.data, name, s.length)) return op;
  }
  return null_operation();
}

/* Differentiates @forward into a new @train_step; 0 on failure (diagnosed). */
static int differentiate(MlirOperation module, const char *wrong_rule) {
  if (!mlirOperationIsNull(perft_find_function(module, "train_step"))) return 1; /* done before */
  MlirOperation forward = perft_find_function(module, "forward");
  if (mlirOperationIsNull(forward)) return 1; /* nothing to differentiate */
  MlirContext context = mlirOperationGetContext(module);

  MlirOperation step = mlirOperationClone(forward);
  mlirOperationSetAttributeByName(step, str("sym_name"), mlirStringAttrGet(context, str("train_step")));
  mlirBlockInsertOwnedOperationAfter(mlirOperationGetBlock(forward), forward, step);

  MlirBlock entry = mlirRegionGetFirstBlock(mlirOperationGetRegion(step, 0));
  MlirOperation ret = mlirBlockGetTerminator(entry);
  size_t num_ops = 0;
  for (MlirOperation op = mlirBlockGetFirstOperation(entry); !mlirOperationIsNull(op);
       op = mlirOperationGetNextInBlock(op))
    num_ops++;
  MlirOperation *ops = calloc(num_ops, sizeof(MlirOperation));
  size_t k = 0;
  for (MlirOperation op = mlirBlockGetFirstOperation(entry); !mlirOperationIsNull(op);
       op = mlirOperationGetNextInBlock(op))
    ops[k++] = op;

  Autodiff ad = {.builder = {.context = context, .block = entry, .anchor = ret,
                             .location = mlirOperationGetLocation(ret)},
                 .wrong_rule = (wrong_rule && *wrong_rule) ? wrong_rule : NULL};
  size_t num_values = (size_t)mlirBlockGetNumArguments(entry);
  for (size_t i = 0; i < num_ops; i++) num_values += (size_t)mlirOperationGetNumResults(ops[i]);
  map_init(&ad.map, num_values);

  /* Activity, forward: trainable arguments, then anything computed from them. */
  MlirAttribute arg_attrs = mlirOperationGetAttributeByName(step, str("arg_attrs"));
  intptr_t num_args = mlirBlockGetNumArguments(entry);
  int num_trainable = 0;
  for (intptr_t i = 0; i < num_args; i++) {
    MlirAttribute t = dictionary_entry(arg_attrs, i, "perft.trainable");
    if (!mlirAttributeIsNull(t) && mlirBoolAttrGetValue(t)) {
      ad.map.active[slot_of(&ad.map, mlirBlockGetArgument(entry, i))] = 1;
      num_trainable++;
    }
  }
  for (size_t i = 0; i + 1 < num_ops; i++) {
    int any = 0;
    for (intptr_t j = 0; j < mlirOperationGetNumOperands(ops[i]); j++)
      any |= is_active(&ad, mlirOperationGetOperand(ops[i], j));
    for (intptr_t j = 0; any && j < mlirOperationGetNumResults(ops[i]); j++) {
      MlirValue r = mlirOperationGetResult(ops[i], j);
      if (is_float_tensor(r)) ad.map.active[slot_of(&ad.map, r)] = 1;
    }
  }

  int ok = 1;
  MlirValue loss = mlirOperationGetOperand(ret, 0);
  if (num_trainable == 0 || !is_active(&ad, loss)) {
    mlirEmitError(mlirOperationGetLocation(forward),
                  "the loss does not depend on any trainable parameter: nothing to train");
    ok = 0;
  }
  if (ok) {
    MlirType loss_type = mlirValueGetType(loss);
    MlirAttribute one = mlirDenseElementsAttrDoubleSplatGet(loss_type, 1.0);
    if (mlirTypeIsAF32(mlirShapedTypeGetElementType(loss_type)))
      one = mlirDenseElementsAttrFloatSplatGet(loss_type, 1.0f);
    MlirNamedAttribute value = named_attribute(context, "value", one);
    ad.map.adjoints[slot_of(&ad.map, loss)] =
        build_value(&ad.builder, "arith.constant", 0, NULL, loss_type, 1, &value);
  }
  for (size_t i = num_ops - 1; ok && i-- > 0;) {
    MlirOperation op = ops[i];
    int needed = 0;
    for (intptr_t j = 0; j < mlirOperationGetNumResults(op); j++)
      needed |= !mlirValueIsNull(adjoint_of(&ad, mlirOperationGetResult(op, j)));
    if (!needed) continue;
    ad.current = op;
    ad.builder.location = mlirOperationGetLocation(op);
    if (!apply_rule(&ad, op)) {
      MlirStringRef name = mlirIdentifierStr(mlirOperationGetName(op));
      char message[160];
      snprintf(message, sizeof message, "autodiff: no backward rule for '%.*s'", (int)name.length, name.data);
      mlirEmitError(mlirOperationGetLocation(op), message);
      ok = 0;
    }
  }

  if (ok) { /* return loss, outputs..., then one gradient per trainable parameter */
    ad.builder.location = mlirOperationGetLocation(ret);
    intptr_t num_results = mlirOperationGetNumOperands(ret);
    size_t total = (size_t)num_results + (size_t)num_trainable;
    MlirValue *values = calloc(total, sizeof(MlirValue));
    MlirType *types = calloc(total, sizeof(MlirType));
    MlirAttribute *res_attrs = calloc(total, sizeof(MlirAttribute));
    MlirAttribute old_res_attrs = mlirOperationGetAttributeByName(step, str("res_attrs"));
    for (intptr_t i = 0; i < num_results; i++) {
      values[i] = mlirOperationGetOperand(ret, i);
      res_attrs[i] = mlirAttributeIsNull(old_res_attrs) ? mlirDictionaryAttrGet(context, 0, NULL)
                                                        : mlirArrayAttrGetElement(old_res_attrs, i);
    }
    size_t g = (size_t)num_results;
    for (intptr_t i = 0; i < num_args; i++) {
      MlirValue arg = mlirBlockGetArgument(entry, i);
      if (!is_active(&ad, arg)) continue;
      MlirValue grad = adjoint_of(&ad, arg);
      if (mlirValueIsNull(grad)) grad = build_zeros(&ad.builder, mlirValueGetType(arg));
      values[g] = grad;
      MlirNamedAttribute name = named_attribute(context, "perft.grad", dictionary_entry(arg_attrs, i, "perft.param"));
      res_attrs[g++] = mlirDictionaryAttrGet(context, 1, &name);
    }
    for (size_t i = 0; i < total; i++) types[i] = mlirValueGetType(values[i]);
    build_op(&ad.builder, "func.return", (int)total, values, 0, NULL, 0, NULL);
    mlirOperationDestroy(ret);
    MlirType arg_types[num_args > 0 ? num_args : 1];
    for (intptr_t i = 0; i < num_args; i++) arg_types[i] = mlirValueGetType(mlirBlockGetArgument(entry, i));
    mlirOperationSetAttributeByName(
        step, str("function_type"),
        mlirTypeAttrGet(mlirFunctionTypeGet(context, num_args, arg_types, (intptr_t)total, types)));
    mlirOperationSetAttributeByName(step, str("res_attrs"), mlirArrayAttrGet(context, (intptr_t)total, res_attrs));
    free(values); free(types); free(res_attrs);
  }
  map_free(&ad.map);
  free(ops);
  return ok;
}

/* ---- the external pass ---- */
typedef struct { char wrong_rule[64]; } AutodiffOptions;

static void autodiff_run(MlirOperation module, MlirExternalPass pass, void *options) {
  if (!differentiate(module, ((AutodiffOptions *)options)->wrong_rule)) mlirExternalPassSignalFailure(pass);
}

MlirPass perft_create_autodiff_pass(const char *wrong_rule) {
  AutodiffOptions options = {{0}};
  if (wrong_rule) snprintf(options.wrong_rule, sizeof options.wrong_rule, "%s", wrong_rule);
  return perft_module_pass("PerftAutodiff", "perft-autodiff", "reverse-mode autodiff of @forward into @train_step",
                           autodiff_run, &options, sizeof options);
}
