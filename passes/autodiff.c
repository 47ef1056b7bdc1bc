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
 * Each op's rule comes from its op-table entry (autodiff_rules.c); an op without one
 * is an error at its location: "autodiff: no backward rule for 'linalg.transpose'".
 */
#include "autodiff.h"
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

struct Autodiff {
  Builder builder;
  ValueMap map;
  const char *wrong_rule; /* test-only: corrupt this op's rule */
  MlirOperation current;  /* the op whose rule is being applied */
};

int ad_is_active(Autodiff *ad, MlirValue v) { return ad->map.active[slot_of(&ad->map, v)]; }

MlirValue ad_adjoint(Autodiff *ad, MlirValue v) { return ad->map.adjoints[slot_of(&ad->map, v)]; }

Builder *ad_builder(Autodiff *ad) { return &ad->builder; }

static int is_float_tensor(MlirValue v) {
  MlirType t = mlirValueGetType(v);
  return mlirTypeIsARankedTensor(t) && mlirTypeIsAFloat(mlirShapedTypeGetElementType(t));
}

MlirValue ad_scale(Autodiff *ad, MlirValue x, double factor) {
  MlirType type = mlirValueGetType(x);
  AttributeValue value = {.f = factor};
  return mlirOperationGetResult(op_build(&ad->builder, OP_SCALE, &x, &type, &value), 0);
}

MlirValue ad_op(Autodiff *ad, OpId id, const MlirValue *operands, MlirType type, MlirOperation from) {
  return mlirOperationGetResult(op_build_like(&ad->builder, id, operands, &type, from), 0);
}

MlirValue ad_matmul(Autodiff *ad, OpId id, MlirValue a, MlirValue b, MlirType result) {
  MlirValue ins[2] = {a, b};
  return build_linalg(&ad->builder, op_table[id].name, 2, ins, build_zeros(&ad->builder, result));
}

MlirValue ad_binary(Autodiff *ad, OpId id, MlirValue a, MlirValue b) {
  MlirValue ins[2] = {a, b};
  return build_linalg(&ad->builder, op_table[id].name, 2, ins, build_empty(&ad->builder, mlirValueGetType(a)));
}

/* The planted bug of the gradient-check test: is the current op the one named? */
static int is_wrong_rule(Autodiff *ad) {
  if (!ad->wrong_rule) return 0;
  MlirStringRef name = mlirIdentifierStr(mlirOperationGetName(ad->current));
  const char *dot = memchr(name.data, '.', name.length);
  size_t len = name.length - (size_t)(dot + 1 - name.data);
  return dot && strlen(ad->wrong_rule) == len && !memcmp(dot + 1, ad->wrong_rule, len);
}

/* adjoint(v) += contribution, for active v only. */
void ad_accumulate(Autodiff *ad, MlirValue v, MlirValue contribution) {
  if (!ad_is_active(ad, v)) return;
  if (is_wrong_rule(ad)) contribution = ad_scale(ad, contribution, 1.5);
  size_t i = slot_of(&ad->map, v);
  if (mlirValueIsNull(ad->map.adjoints[i])) {
    ad->map.adjoints[i] = contribution;
  } else {
    MlirValue both[2] = {ad->map.adjoints[i], contribution};
    ad->map.adjoints[i] = build_linalg(&ad->builder, op_table[OP_ADD].name, 2, both, build_empty(&ad->builder, mlirValueGetType(v)));
  }
}

/* Applies the table's backward rule of `op`; 0 when it has none. */
static int apply_rule(Autodiff *ad, MlirOperation op) {
  const OpInfo *info = op_info_of(op);
  if (!info || !info->backward) return 0;
  info->backward(ad, op);
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

  Autodiff ad = (Autodiff){.builder = {.context = context, .block = entry, .anchor = ret,
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
      any |= ad_is_active(&ad, mlirOperationGetOperand(ops[i], j));
    for (intptr_t j = 0; any && j < mlirOperationGetNumResults(ops[i]); j++) {
      MlirValue r = mlirOperationGetResult(ops[i], j);
      if (is_float_tensor(r)) ad.map.active[slot_of(&ad.map, r)] = 1;
    }
  }

  int ok = 1;
  MlirValue loss = mlirOperationGetOperand(ret, 0);
  if (num_trainable == 0 || !ad_is_active(&ad, loss)) {
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
      needed |= !mlirValueIsNull(ad_adjoint(&ad, mlirOperationGetResult(op, j)));
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
      if (!ad_is_active(&ad, arg)) continue;
      MlirValue grad = ad_adjoint(&ad, arg);
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
