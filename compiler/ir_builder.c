/* ir_builder.c — see ir_builder.h. */
#include "ir_builder.h"

#include <mlir-c/Dialect/Linalg.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ir_check(int ok, const char *what, const char *file, int line) {
  if (ok) return;
  fprintf(stderr, "%s:%d: internal compiler error: %s\n", file, line, what);
  abort();
}

MlirStringRef str(const char *s) { return mlirStringRefCreateFromCString(s); }

MlirNamedAttribute named_attribute(MlirContext context, const char *name, MlirAttribute value) {
  IR_CHECK(!mlirAttributeIsNull(value), name);
  return mlirNamedAttributeGet(mlirIdentifierGet(context, str(name)), value);
}

MlirAttribute parse_attribute(MlirContext context, const char *text) {
  MlirAttribute attribute = mlirAttributeParseGet(context, str(text));
  IR_CHECK(!mlirAttributeIsNull(attribute), text);
  return attribute;
}

MlirType parse_type(MlirContext context, const char *text) {
  MlirType type = mlirTypeParseGet(context, str(text));
  IR_CHECK(!mlirTypeIsNull(type), text);
  return type;
}

void builder_insert(Builder *b, MlirOperation op) {
  if (mlirOperationIsNull(b->anchor))
    mlirBlockAppendOwnedOperation(b->block, op);
  else
    mlirBlockInsertOwnedOperationBefore(b->block, b->anchor, op);
}

MlirOperation build_op(Builder *b, const char *name, int num_operands, const MlirValue *operands,
                       int num_results, const MlirType *result_types, int num_attributes,
                       const MlirNamedAttribute *attributes) {
  MlirOperationState state = mlirOperationStateGet(str(name), b->location);
  if (num_operands) mlirOperationStateAddOperands(&state, num_operands, operands);
  if (num_results) mlirOperationStateAddResults(&state, num_results, result_types);
  if (num_attributes) mlirOperationStateAddAttributes(&state, num_attributes, attributes);
  MlirOperation op = mlirOperationCreate(&state);
  IR_CHECK(!mlirOperationIsNull(op), name);
  builder_insert(b, op);
  return op;
}

MlirValue build_value(Builder *b, const char *name, int num_operands, const MlirValue *operands,
                      MlirType result_type, int num_attributes, const MlirNamedAttribute *attributes) {
  MlirOperation op =
      build_op(b, name, num_operands, operands, 1, &result_type, num_attributes, attributes);
  return mlirOperationGetResult(op, 0);
}

int64_t op_int_attribute(MlirOperation op, const char *name, int64_t fallback) {
  MlirAttribute a = mlirOperationGetAttributeByName(op, str(name));
  if (mlirAttributeIsNull(a)) return fallback;
  if (mlirAttributeIsAInteger(a)) return mlirIntegerAttrGetValueInt(a);
  if (mlirAttributeIsABool(a)) return mlirBoolAttrGetValue(a);
  return fallback;
}

double op_float_attribute(MlirOperation op, const char *name, double fallback) {
  MlirAttribute a = mlirOperationGetAttributeByName(op, str(name));
  if (mlirAttributeIsNull(a) || !mlirAttributeIsAFloat(a)) return fallback;
  return mlirFloatAttrGetValueDouble(a);
}

Builder builder_before(MlirOperation anchor, MlirLocation location) {
  return (Builder){.context = mlirOperationGetContext(anchor), .block = mlirOperationGetBlock(anchor),
                   .anchor = anchor, .location = location};
}

MlirOperation defining_op(MlirValue v) {
  return mlirValueIsAOpResult(v) ? mlirOpResultGetOwner(v) : null_operation();
}

int op_is_before(MlirOperation a, MlirOperation b) {
  for (MlirOperation op = mlirOperationGetNextInBlock(a); !mlirOperationIsNull(op); op = mlirOperationGetNextInBlock(op))
    if (mlirOperationEqual(op, b)) return 1;
  return 0;
}

int has_one_reader(MlirValue v) {
  MlirOpOperand use = mlirValueGetFirstUse(v);
  return !mlirOpOperandIsNull(use) && mlirOpOperandIsNull(mlirOpOperandGetNextUse(use));
}

MlirAttribute fill_constant(MlirValue init) {
  MlirOperation fill = defining_op(init);
  if (mlirOperationIsNull(fill) || !op_is(fill, "linalg.fill") || mlirOperationGetNumResults(fill) != 1)
    return (MlirAttribute){NULL};
  MlirOperation constant = defining_op(mlirOperationGetOperand(fill, 0));
  if (mlirOperationIsNull(constant) || !op_is(constant, "arith.constant")) return (MlirAttribute){NULL};
  return mlirOperationGetAttributeByName(constant, mlirStringRefCreateFromCString("value"));
}

int fills_zero(MlirValue init) {
  MlirAttribute constant = fill_constant(init);
  return !mlirAttributeIsNull(constant) && mlirAttributeIsAFloat(constant) && mlirFloatAttrGetValueDouble(constant) == 0.0;
}

void erase_if_dead(MlirOperation op) {
  if (mlirOperationIsNull(op)) return;
  if (!op_is(op, "linalg.fill") && !op_is(op, "tensor.empty") && !op_is(op, "arith.constant")) return;
  for (intptr_t i = 0; i < mlirOperationGetNumResults(op); i++)
    if (!mlirOpOperandIsNull(mlirValueGetFirstUse(mlirOperationGetResult(op, i)))) return;
  intptr_t n = mlirOperationGetNumOperands(op);
  MlirOperation inputs[4] = {{NULL}, {NULL}, {NULL}, {NULL}};
  for (intptr_t i = 0; i < n && i < 4; i++) inputs[i] = defining_op(mlirOperationGetOperand(op, i));
  mlirOperationDestroy(op);
  for (intptr_t i = 0; i < n && i < 4; i++) erase_if_dead(inputs[i]);
}

int op_is(MlirOperation op, const char *name) {
  MlirStringRef n = mlirIdentifierStr(mlirOperationGetName(op));
  return n.length == strlen(name) && memcmp(n.data, name, n.length) == 0;
}

MlirType ranked_tensor(int rank, const int64_t *dims, MlirType element) {
  MlirType type = mlirRankedTensorTypeGet(rank, dims, element, mlirAttributeGetNull());
  IR_CHECK(!mlirTypeIsNull(type), "ranked tensor type");
  return type;
}

int64_t shaped_num_elements(MlirType type) {
  int64_t n = 1;
  for (intptr_t i = 0; i < mlirShapedTypeGetRank(type); i++) n *= mlirShapedTypeGetDimSize(type, i);
  return n;
}

MlirValue build_linalg(Builder *b, const char *name, int num_inputs, const MlirValue *inputs,
                       MlirValue init) {
  MlirValue operands[8];
  IR_CHECK(num_inputs < 8, "too many linalg inputs");
  for (int i = 0; i < num_inputs; i++) operands[i] = inputs[i];
  operands[num_inputs] = init;
  char segments[64];
  snprintf(segments, sizeof segments, "array<i32: %d, 1>", num_inputs);
  MlirNamedAttribute segment_sizes =
      named_attribute(b->context, "operandSegmentSizes", parse_attribute(b->context, segments));
  MlirOperationState state = mlirOperationStateGet(str(name), b->location);
  mlirOperationStateAddOperands(&state, num_inputs + 1, operands);
  MlirType init_type = mlirValueGetType(init);
  int on_tensors = mlirTypeIsARankedTensor(init_type);
  if (on_tensors) mlirOperationStateAddResults(&state, 1, &init_type);
  mlirOperationStateAddAttributes(&state, 1, &segment_sizes);
  MlirRegion region = mlirRegionCreate();
  mlirOperationStateAddOwnedRegions(&state, 1, &region);
  MlirOperation op = mlirOperationCreate(&state);
  IR_CHECK(!mlirOperationIsNull(op), name);
  mlirLinalgFillBuiltinNamedOpRegion(op);
  builder_insert(b, op);
  return on_tensors ? mlirOperationGetResult(op, 0) : (MlirValue){NULL};
}

MlirValue build_empty(Builder *b, MlirType tensor_type) {
  return build_value(b, "tensor.empty", 0, NULL, tensor_type, 0, NULL);
}

MlirValue build_float_constant(Builder *b, MlirType float_type, double value) {
  MlirNamedAttribute attr =
      named_attribute(b->context, "value", mlirFloatAttrDoubleGet(b->context, float_type, value));
  return build_value(b, "arith.constant", 0, NULL, float_type, 1, &attr);
}

MlirValue build_index_constant(Builder *b, int64_t value) {
  MlirType index = mlirIndexTypeGet(b->context);
  MlirNamedAttribute attr = named_attribute(b->context, "value", mlirIntegerAttrGet(index, value));
  return build_value(b, "arith.constant", 0, NULL, index, 1, &attr);
}

MlirOperation build_region_op(Builder *b, const char *name, int num_operands, const MlirValue *operands,
                              int num_attributes, const MlirNamedAttribute *attributes, int num_arguments,
                              const MlirType *argument_types, MlirBlock *body) {
  MlirLocation locations[16];
  IR_CHECK(num_arguments <= 16, "build_region_op: more than 16 block arguments");
  for (int i = 0; i < num_arguments; i++) locations[i] = b->location;
  *body = mlirBlockCreate(num_arguments, argument_types, locations);
  MlirRegion region = mlirRegionCreate();
  mlirRegionAppendOwnedBlock(region, *body);
  MlirOperationState state = mlirOperationStateGet(str(name), b->location);
  mlirOperationStateAddOperands(&state, num_operands, operands);
  mlirOperationStateAddAttributes(&state, num_attributes, attributes);
  mlirOperationStateAddOwnedRegions(&state, 1, &region);
  MlirOperation op = mlirOperationCreate(&state);
  IR_CHECK(!mlirOperationIsNull(op), name);
  builder_insert(b, op);
  return op;
}

MlirValue build_zeros(Builder *b, MlirType tensor_type) {
  MlirValue zero = build_float_constant(b, mlirShapedTypeGetElementType(tensor_type), 0.0);
  return build_linalg(b, "linalg.fill", 1, &zero, build_empty(b, tensor_type));
}

typedef struct {
  const char *const *names;
  MlirOperation *ops;
  size_t count, capacity;
} NamedOps;

static MlirWalkResult collect_named(MlirOperation op, void *data) {
  NamedOps *found = data;
  for (const char *const *name = found->names; *name; name++)
    if (op_is(op, *name)) {
      if (found->count == found->capacity) {
        found->capacity = 2 * found->capacity + 16;
        found->ops = realloc(found->ops, found->capacity * sizeof *found->ops);
        IR_CHECK(found->ops != NULL, "ops_named: out of memory");
      }
      found->ops[found->count++] = op;
      break;
    }
  return MlirWalkResultAdvance;
}

MlirOperation *ops_named(MlirOperation root, const char *const *names, size_t *count) {
  NamedOps found = {.names = names, .ops = NULL, .count = 0, .capacity = 0};
  mlirOperationWalk(root, collect_named, &found, MlirWalkPostOrder);
  *count = found.count;
  return found.ops;
}

MlirOperation build_function(MlirOperation before, const char *name, intptr_t num_arguments, const MlirType *types,
                             int internal, MlirLocation location, MlirOperation *terminator) {
  MlirContext context = mlirOperationGetContext(before);
  MlirLocation *locations = calloc((size_t)num_arguments + 1, sizeof(MlirLocation));
  IR_CHECK(locations != NULL, "out of memory");
  for (intptr_t i = 0; i < num_arguments; i++) locations[i] = location;
  MlirBlock body = mlirBlockCreate(num_arguments, types, locations);
  free(locations);
  MlirRegion region = mlirRegionCreate();
  mlirRegionAppendOwnedBlock(region, body);
  MlirNamedAttribute attributes[] = {
      named_attribute(context, "sym_name", mlirStringAttrGet(context, str(name))),
      named_attribute(context, "function_type",
                      mlirTypeAttrGet(mlirFunctionTypeGet(context, num_arguments, types, 0, NULL))),
      named_attribute(context, "sym_visibility", mlirStringAttrGet(context, str("private"))),
      named_attribute(context, "passthrough", parse_attribute(context, "[\"noinline\"]")),
      named_attribute(context, "llvm.linkage", parse_attribute(context, "#llvm.linkage<internal>")),
  };
  MlirOperationState state = mlirOperationStateGet(str("func.func"), location);
  mlirOperationStateAddAttributes(&state, internal ? 5 : 2, attributes);
  mlirOperationStateAddOwnedRegions(&state, 1, &region);
  MlirOperation function = mlirOperationCreate(&state);
  IR_CHECK(!mlirOperationIsNull(function), "cannot create a function");
  mlirBlockInsertOwnedOperationBefore(mlirOperationGetBlock(before), before, function);
  Builder b = {.context = context, .block = body, .anchor = null_operation(), .location = location};
  *terminator = build_op(&b, "func.return", 0, NULL, 0, NULL, 0, NULL);
  return function;
}
