/* loop_builder.c — see loop_builder.h. */
#include "loop_builder.h"

#include <stdio.h>
#include <string.h>

const MlirValue no_value = {NULL};

MlirValue index_const(Kernel *k, int64_t v) {
  MlirNamedAttribute a = named_attribute(k->b.context, "value", mlirIntegerAttrGet(k->index, v));
  return build_value(&k->b, "arith.constant", 0, NULL, k->index, 1, &a);
}

MlirValue float_const(Kernel *k, double v) { return build_float_constant(&k->b, k->f, v); }

MlirValue i32_const(Kernel *k, int64_t v) {
  MlirNamedAttribute a = named_attribute(k->b.context, "value", mlirIntegerAttrGet(k->i32, (int32_t)(uint32_t)v));
  return build_value(&k->b, "arith.constant", 0, NULL, k->i32, 1, &a);
}

/* Float arithmetic may be reassociated (and contracted into FMAs): that is what
 * lets LLVM vectorise the reductions of the kernels (dot products, row sums).
 * Results then differ from strict left-to-right order only by rounding. Kernels
 * that fusion may merge set k->strict: their ops then round exactly as written,
 * so fused and unfused code give the same bits. */
MlirValue arith(Kernel *k, const char *name, MlirValue a, MlirValue b) {
  MlirValue operands[2] = {a, b};
  if (!mlirTypeIsAFloat(mlirValueGetType(a)) || k->strict)
    return build_value(&k->b, name, 2, operands, mlirValueGetType(a), 0, NULL);
  MlirNamedAttribute fast = named_attribute(k->b.context, "fastmath",
                                            parse_attribute(k->b.context, "#arith.fastmath<reassoc,contract>"));
  return build_value(&k->b, name, 2, operands, mlirValueGetType(a), 1, &fast);
}

MlirValue unary(Kernel *k, const char *name, MlirValue a) {
  return build_value(&k->b, name, 1, &a, mlirValueGetType(a), 0, NULL);
}

static MlirValue compare(Kernel *k, const char *op, const char *attr_text, MlirValue a, MlirValue b) {
  MlirValue operands[2] = {a, b};
  MlirNamedAttribute p = named_attribute(k->b.context, "predicate", parse_attribute(k->b.context, attr_text));
  return build_value(&k->b, op, 2, operands, k->i1, 1, &p);
}

/* arith.cmpf / arith.cmpi predicates are i64 enum values (see ArithOps.td). */
static int predicate_code(const char *predicate, const char *const *names, int n) {
  for (int i = 0; i < n; i++)
    if (!strcmp(predicate, names[i])) return i;
  IR_CHECK(0, predicate);
  return 0;
}

/* e^x. In f32, a Cephes-style polynomial (range reduction by ln 2, degree-6
 * polynomial, 2^n by exponent bits, within 2 ulp): unlike a call to libm's expf
 * it vectorises. In f64 (gradient checks) math.exp, exact to the last bit. */
/* Float arithmetic without fast-math flags: the exp reduction relies on its exact order. */
static MlirValue strict(Kernel *k, const char *name, MlirValue a, MlirValue b) {
  MlirValue operands[2] = {a, b};
  return build_value(&k->b, name, 2, operands, mlirValueGetType(a), 0, NULL);
}

MlirValue exp_value(Kernel *k, MlirValue x) {
  if (!mlirTypeIsAF32(mlirValueGetType(x))) return unary(k, "math.exp", x);
  x = strict(k, "arith.minimumf", strict(k, "arith.maximumf", x, float_const(k, -87.3365)), float_const(k, 88.7228));
  MlirValue n = unary(k, "math.floor", strict(k, "arith.addf", strict(k, "arith.mulf", x, float_const(k, 1.44269504088896341)),
                                             float_const(k, 0.5)));
  MlirValue r = strict(k, "arith.subf", x, strict(k, "arith.mulf", n, float_const(k, 0.693359375)));
  r = strict(k, "arith.subf", r, strict(k, "arith.mulf", n, float_const(k, -2.12194440e-4)));
  static const double coefficients[] = {1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3,
                                        4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1};
  MlirValue p = float_const(k, coefficients[0]);
  for (int i = 1; i < 6; i++) p = strict(k, "arith.addf", strict(k, "arith.mulf", p, r), float_const(k, coefficients[i]));
  MlirValue e = strict(k, "arith.addf", strict(k, "arith.addf", strict(k, "arith.mulf", p, strict(k, "arith.mulf", r, r)), r),
                      float_const(k, 1.0));
  MlirValue exponent = build_value(&k->b, "arith.fptosi", 1, &n, k->i32, 0, NULL);
  MlirValue bits = strict(k, "arith.shli", strict(k, "arith.addi", exponent, i32_const(k, 127)), i32_const(k, 23));
  MlirValue scale = build_value(&k->b, "arith.bitcast", 1, &bits, k->f, 0, NULL);
  return strict(k, "arith.mulf", e, scale);
}

MlirValue compare_float(Kernel *k, const char *predicate, MlirValue a, MlirValue b) {
  static const char *const names[] = {"false", "oeq", "ogt", "oge", "olt", "ole", "one", "ord",
                                      "ueq",   "ugt", "uge", "ult", "ule", "une", "uno", "true"};
  char text[32];
  snprintf(text, sizeof text, "%d : i64", predicate_code(predicate, names, 16));
  return compare(k, "arith.cmpf", text, a, b);
}

MlirValue compare_index(Kernel *k, const char *predicate, MlirValue a, MlirValue b) {
  static const char *const names[] = {"eq", "ne", "slt", "sle", "sgt", "sge", "ult", "ule", "ugt", "uge"};
  char text[32];
  snprintf(text, sizeof text, "%d : i64", predicate_code(predicate, names, 10));
  return compare(k, "arith.cmpi", text, a, b);
}

MlirValue select_value(Kernel *k, MlirValue cond, MlirValue a, MlirValue b) {
  MlirValue operands[3] = {cond, a, b};
  return build_value(&k->b, "arith.select", 3, operands, mlirValueGetType(a), 0, NULL);
}

MlirValue to_index(Kernel *k, MlirValue v) { return build_value(&k->b, "arith.index_cast", 1, &v, k->index, 0, NULL); }
MlirValue to_i32(Kernel *k, MlirValue v) { return build_value(&k->b, "arith.index_cast", 1, &v, k->i32, 0, NULL); }

MlirValue index_to_float(Kernel *k, MlirValue v) {
  MlirValue i = build_value(&k->b, "arith.index_cast", 1, &v, mlirIntegerTypeGet(k->b.context, 64), 0, NULL);
  return build_value(&k->b, "arith.sitofp", 1, &i, k->f, 0, NULL);
}

/* A bf16 element (a frozen weight, perftc --frozen-dtype=bf16) is widened to the kernel's float type
 * as it is loaded: exactly, every bf16 is an f32. */
MlirValue load(Kernel *k, MlirValue memref, int n, const MlirValue *indices) {
  MlirValue operands[8] = {memref};
  for (int i = 0; i < n; i++) operands[1 + i] = indices[i];
  MlirType element = mlirShapedTypeGetElementType(mlirValueGetType(memref));
  MlirValue value = build_value(&k->b, "memref.load", 1 + n, operands, element, 0, NULL);
  return mlirTypeIsABF16(element) ? build_value(&k->b, "arith.extf", 1, &value, k->f, 0, NULL) : value;
}

void store(Kernel *k, MlirValue value, MlirValue memref, int n, const MlirValue *indices) {
  MlirValue operands[8] = {value, memref};
  for (int i = 0; i < n; i++) operands[2 + i] = indices[i];
  build_op(&k->b, "memref.store", 2 + n, operands, 0, NULL, 0, NULL);
}

static Loop enter(Kernel *k, MlirOperation op, MlirBlock body) {
  Loop loop = {.op = op, .outer_block = k->b.block, .outer_anchor = k->b.anchor};
  k->b.block = body;
  k->b.anchor = null_operation();
  return loop;
}

Loop loop_begin_carrying(Kernel *k, MlirValue lower, MlirValue upper, int64_t step, int n, const MlirValue *inits) {
  IR_CHECK(n <= LOOP_MAX_CARRIED, "too many loop-carried values");
  MlirValue operands[3 + LOOP_MAX_CARRIED] = {lower, upper, index_const(k, step)};
  MlirType types[1 + LOOP_MAX_CARRIED] = {k->index};
  MlirLocation locs[1 + LOOP_MAX_CARRIED];
  for (int i = 0; i <= n; i++) locs[i] = k->b.location;
  for (int i = 0; i < n; i++) {
    operands[3 + i] = inits[i];
    types[1 + i] = mlirValueGetType(inits[i]);
  }
  MlirBlock body = mlirBlockCreate(1 + n, types, locs);
  MlirRegion region = mlirRegionCreate();
  mlirRegionAppendOwnedBlock(region, body);
  MlirOperationState state = mlirOperationStateGet(str("scf.for"), k->b.location);
  mlirOperationStateAddOperands(&state, 3 + n, operands);
  if (n) mlirOperationStateAddResults(&state, n, types + 1);
  mlirOperationStateAddOwnedRegions(&state, 1, &region);
  MlirOperation op = mlirOperationCreate(&state);
  IR_CHECK(!mlirOperationIsNull(op), "scf.for");
  builder_insert(&k->b, op);
  Loop loop = enter(k, op, body);
  loop.iv = mlirBlockGetArgument(body, 0);
  loop.num_carried = n;
  for (int i = 0; i < n; i++) loop.carried[i] = mlirBlockGetArgument(body, 1 + i);
  loop.acc = n ? loop.carried[0] : no_value;
  return loop;
}

void loop_end_carrying(Kernel *k, Loop *loop, const MlirValue *nexts, MlirValue *results) {
  build_op(&k->b, "scf.yield", loop->num_carried, nexts, 0, NULL, 0, NULL);
  k->b.block = loop->outer_block;
  k->b.anchor = loop->outer_anchor;
  for (int i = 0; i < loop->num_carried; i++) results[i] = mlirOperationGetResult(loop->op, i);
}

Loop loop_begin(Kernel *k, MlirValue lower, MlirValue upper, MlirValue init) {
  return loop_begin_carrying(k, lower, upper, 1, mlirValueIsNull(init) ? 0 : 1, &init);
}

MlirValue loop_end(Kernel *k, Loop *loop, MlirValue next) {
  MlirValue result = no_value;
  loop_end_carrying(k, loop, &next, &result);
  return result;
}

Loop parallel_begin(Kernel *k, MlirValue lower, MlirValue upper, int64_t step) {
  MlirValue operands[3] = {lower, upper, index_const(k, step)};
  MlirLocation loc = k->b.location;
  MlirBlock body = mlirBlockCreate(1, &k->index, &loc);
  MlirRegion region = mlirRegionCreate();
  mlirRegionAppendOwnedBlock(region, body);
  MlirOperationState state = mlirOperationStateGet(str("scf.parallel"), k->b.location);
  mlirOperationStateAddOperands(&state, 3, operands);
  MlirNamedAttribute segments = named_attribute(k->b.context, "operandSegmentSizes",
                                                parse_attribute(k->b.context, "array<i32: 1, 1, 1, 0>"));
  mlirOperationStateAddAttributes(&state, 1, &segments);
  mlirOperationStateAddOwnedRegions(&state, 1, &region);
  MlirOperation op = mlirOperationCreate(&state);
  IR_CHECK(!mlirOperationIsNull(op), "scf.parallel");
  builder_insert(&k->b, op);
  Loop loop = enter(k, op, body);
  loop.iv = mlirBlockGetArgument(body, 0);
  return loop;
}

void parallel_end(Kernel *k, Loop *loop) {
  build_op(&k->b, "scf.reduce", 0, NULL, 0, NULL, 0, NULL);
  k->b.block = loop->outer_block;
  k->b.anchor = loop->outer_anchor;
}

Loop parallel_or_serial_begin(Kernel *k, MlirValue lower, MlirValue upper, int64_t step, int parallel) {
  return parallel ? parallel_begin(k, lower, upper, step) : loop_begin_carrying(k, lower, upper, step, 0, NULL);
}

void parallel_or_serial_end(Kernel *k, Loop *loop) {
  if (op_is(loop->op, "scf.parallel")) parallel_end(k, loop);
  else loop_end_carrying(k, loop, NULL, NULL);
}

Loop if_begin(Kernel *k, MlirValue condition) {
  MlirBlock then_block = mlirBlockCreate(0, NULL, NULL);
  MlirRegion regions[2] = {mlirRegionCreate(), mlirRegionCreate()};
  mlirRegionAppendOwnedBlock(regions[0], then_block);
  MlirOperationState state = mlirOperationStateGet(str("scf.if"), k->b.location);
  mlirOperationStateAddOperands(&state, 1, &condition);
  mlirOperationStateAddOwnedRegions(&state, 2, regions);
  MlirOperation op = mlirOperationCreate(&state);
  IR_CHECK(!mlirOperationIsNull(op), "scf.if");
  builder_insert(&k->b, op);
  return enter(k, op, then_block);
}

MlirValue scope_begin(Kernel *k) {
  return build_value(&k->b, "llvm.intr.stacksave", 0, NULL, parse_type(k->b.context, "!llvm.ptr"), 0, NULL);
}

void scope_end(Kernel *k, MlirValue saved) { build_op(&k->b, "llvm.intr.stackrestore", 1, &saved, 0, NULL, 0, NULL); }

MlirValue stack_buffer(Kernel *k, int64_t rows, int64_t columns) {
  int64_t shape[2] = {rows, columns};
  MlirType type = mlirMemRefTypeContiguousGet(k->f, 2, shape, mlirAttributeGetNull());
  MlirNamedAttribute attributes[2] = {
      named_attribute(k->b.context, "operandSegmentSizes", parse_attribute(k->b.context, "array<i32: 0, 0>")),
      named_attribute(k->b.context, "alignment", mlirIntegerAttrGet(mlirIntegerTypeGet(k->b.context, 64), 64))};
  return build_value(&k->b, "memref.alloca", 0, NULL, type, 2, attributes);
}

void if_end(Kernel *k, Loop *branch) {
  build_op(&k->b, "scf.yield", 0, NULL, 0, NULL, 0, NULL);
  k->b.block = branch->outer_block;
  k->b.anchor = branch->outer_anchor;
}

MlirValue flatten(Kernel *k, MlirValue memref) {
  MlirType type = mlirValueGetType(memref);
  intptr_t rank = mlirShapedTypeGetRank(type);
  if (rank == 1) return memref;
  IR_CHECK(rank > 1, "flatten of a scalar");
  char text[64] = "[[0";
  for (intptr_t i = 1; i < rank; i++) snprintf(text + strlen(text), sizeof text - strlen(text), ", %ld", (long)i);
  strcat(text, "]]");
  int64_t n = shaped_num_elements(type);
  MlirType flat = mlirMemRefTypeContiguousGet(mlirShapedTypeGetElementType(type), 1, &n, mlirAttributeGetNull());
  MlirNamedAttribute reassociation = named_attribute(k->b.context, "reassociation", parse_attribute(k->b.context, text));
  return build_value(&k->b, "memref.collapse_shape", 1, &memref, flat, 1, &reassociation);
}

void fill(Kernel *k, MlirValue memref, double value) {
  MlirType type = mlirValueGetType(memref);
  MlirType element = mlirShapedTypeGetElementType(type);
  MlirValue scalar;
  if (mlirTypeIsAFloat(element)) {
    scalar = build_float_constant(&k->b, element, value);
  } else {
    MlirNamedAttribute a = named_attribute(k->b.context, "value", mlirIntegerAttrGet(element, (int64_t)value));
    scalar = build_value(&k->b, "arith.constant", 0, NULL, element, 1, &a);
  }
  if (mlirShapedTypeGetRank(type) == 0) {
    store(k, scalar, memref, 0, NULL);
    return;
  }
  MlirValue flat = flatten(k, memref);
  /* on a GPU an element a thread */
  Loop i = parallel_or_serial_begin(k, index_const(k, 0), index_const(k, shaped_num_elements(type)), 1, k->gpu);
  STORE(k, scalar, flat, i.iv);
  parallel_or_serial_end(k, &i);
}
